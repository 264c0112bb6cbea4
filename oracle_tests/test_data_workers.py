"""refgrad.utils.data.DataLoader with worker processes vs num_workers=0 and vs torch's DataLoader: batch values and
order, seeding, worker_init_fn / get_worker_info, IterableDataset replicas and sharding, error propagation, timeouts,
persistent workers, prefetch_factor and multiprocessing_context checks, and clean worker shutdown. Tensors pickle.

Every dataset, collate_fn and worker_init_fn is module-level so that 'spawn' can pickle it."""
import gc
import math
import multiprocessing
import os
import pickle
import random
import time

import numpy as np
import pytest
import torch
import torch.utils.data as tdata
from torch.utils.data._utils.worker import _generate_state as torch_generate_state

import refgrad
import refgrad.utils.data as data

from .helpers import to_np

N = 11


@pytest.fixture(autouse=True)
def no_leftover_workers():
    """Every test must leave no worker behind: not alive, not a zombie (active_children() reaps finished ones)."""
    yield
    gc.collect()
    assert multiprocessing.active_children() == []


def flat(batches):
    """Loader output as nested Python values, for comparisons across libraries and processes."""
    def conv(x):
        if isinstance(x, refgrad.Tensor | torch.Tensor):
            return (str(x.dtype), to_np(x).tolist())
        if isinstance(x, dict):
            return {k: conv(v) for k, v in x.items()}
        if isinstance(x, list | tuple):
            return type(x)(conv(v) for v in x)
        return x
    return [conv(b) for b in batches]


class Pairs:
    """Map-style dataset built from numpy: sample i is {"x": float32 row, "y": int}; one class for both libraries."""

    def __init__(self, lib, n=N):
        self.x = lib.tensor(np.arange(n * 2, dtype=np.float32).reshape(n, 2))
        self.n = n

    def __getitem__(self, i):
        return {"x": self.x[i], "y": i * 10}

    def __len__(self):
        return self.n


PERM = [7, 2, 9, 0, 4, 10, 1, 8, 3, 6, 5]


@pytest.mark.parametrize("kw", [dict(batch_size=3), dict(batch_size=3, drop_last=True), dict(batch_size=None),
                                dict(batch_size=4, sampler=PERM), dict(batch_sampler=[[3, 1], [0], [10, 2, 5, 7]]),
                                dict(batch_size=2, sampler=PERM, prefetch_factor=1),
                                dict(batch_size=2, prefetch_factor=5, pin_memory=True)])
def test_batches_and_order_match_single_process_and_torch(kw):
    single = {k: v for k, v in kw.items() if k not in ("prefetch_factor", "pin_memory")}
    want = flat(tdata.DataLoader(Pairs(torch), **single))
    assert flat(data.DataLoader(Pairs(refgrad), **single)) == want
    assert flat(data.DataLoader(Pairs(refgrad), num_workers=2, **kw)) == want
    if single == kw:  # torch warns about pin_memory without an accelerator
        assert flat(tdata.DataLoader(Pairs(torch), num_workers=2, **kw)) == want


def test_out_of_order_gives_every_batch():
    want = flat(data.DataLoader(Pairs(refgrad), batch_size=2, sampler=PERM))
    got = flat(data.DataLoader(Pairs(refgrad), batch_size=2, sampler=PERM, num_workers=2, in_order=False))
    assert sorted(map(repr, got)) == sorted(map(repr, want))


def test_spawn_context_matches():
    ds = data.TensorDataset(refgrad.arange(10), refgrad.arange(10) * 0.5)  # refgrad's own classes: cheap to import
    want = flat(data.DataLoader(ds, batch_size=3, shuffle=True, generator=refgrad.Generator().manual_seed(3)))
    got = flat(data.DataLoader(ds, batch_size=3, shuffle=True, generator=refgrad.Generator().manual_seed(3),
                               num_workers=2, multiprocessing_context="spawn"))
    assert got == want


def _shuffled_epochs(seed, num_workers, epochs=2, **kw):
    loader = data.DataLoader(data.TensorDataset(refgrad.arange(20)), batch_size=6, shuffle=True,
                             generator=refgrad.Generator().manual_seed(seed), num_workers=num_workers, **kw)
    return [[v for (b,) in loader for v in b.tolist()] for _ in range(epochs)]


def test_seeded_shuffle_reproduces_per_epoch():
    e1, e2 = _shuffled_epochs(0, 2)
    assert sorted(e1) == sorted(e2) == list(range(20)) and e1 != e2
    assert _shuffled_epochs(0, 2) == [e1, e2]
    # torch draws the workers' base seed in every mode, so the sampler sees the same generator state either way
    assert _shuffled_epochs(0, 0) == [e1, e2]
    assert _shuffled_epochs(1, 2) != [e1, e2]


class Probe(data.Dataset):
    """Reports, per sample, what the worker serving it sees."""

    def __init__(self, n=8):
        self.n = n
        self.init_calls = []

    def __getitem__(self, i):
        info = data.get_worker_info()
        return {"i": i, "id": info.id, "num_workers": info.num_workers, "seed": info.seed,
                "own": info.dataset is self,
                "init_calls": list(info.dataset.init_calls), "pid": os.getpid(),
                "py": random.random(), "np": float(np.random.rand()), "rg": refgrad.rand(1).item()}

    def __len__(self):
        return self.n


def record_init(worker_id):
    data.get_worker_info().dataset.init_calls.append(worker_id)


def _probe(seed, **kw):
    loader = data.DataLoader(Probe(), batch_size=None, num_workers=2, worker_init_fn=record_init,
                             generator=refgrad.Generator().manual_seed(seed), **kw)
    return list(loader)


def test_worker_info_init_fn_and_seeding():
    assert data.get_worker_info() is None  # main process
    ds = Probe()
    items = list(data.DataLoader(ds, batch_size=None, num_workers=2, worker_init_fn=record_init,
                                 generator=refgrad.Generator().manual_seed(0)))
    assert ds.init_calls == []  # the workers ran it on their own copies
    assert [it["i"] for it in items] == list(range(8))
    by_worker = {w: [it for it in items if it["id"] == w] for w in (0, 1)}
    assert all(by_worker.values())
    base = by_worker[0][0]["seed"]
    for w, its in by_worker.items():
        first = its[0]
        assert first["num_workers"] == 2 and first["seed"] == base + w and first["own"]
        assert all(it["init_calls"] == [w] for it in its)  # worker_init_fn ran once, in this worker, with its id
        assert len({it["pid"] for it in its}) == 1 and first["pid"] != os.getpid()
        # torch's recipe: random and refgrad get base_seed + id, numpy's legacy RNG _generate_state(base_seed, id)
        assert first["py"] == random.Random(base + w).random()
        assert first["np"] == np.random.RandomState(torch_generate_state(base, w)).rand()
        assert first["rg"] == refgrad.rand(1, generator=refgrad.Generator().manual_seed(base + w)).item()
    # augmentations differ between workers, and reproduce with the loader's generator seed
    assert by_worker[0][0]["np"] != by_worker[1][0]["np"] and by_worker[0][0]["py"] != by_worker[1][0]["py"]
    strip = [{k: v for k, v in it.items() if k != "pid"} for it in items]
    assert [{k: v for k, v in it.items() if k != "pid"} for it in _probe(0)] == strip
    assert [it["np"] for it in _probe(1)] != [it["np"] for it in items]


def test_worker_seed_drawn_from_global_generator():
    refgrad.manual_seed(123)
    a = [it["seed"] for it in data.DataLoader(Probe(2), batch_size=None, num_workers=2)]
    refgrad.manual_seed(123)
    assert [it["seed"] for it in data.DataLoader(Probe(2), batch_size=None, num_workers=2)] == a


class _StreamBody:
    def __init__(self, n, shard=False):
        self.n, self.shard = n, shard

    def __iter__(self):
        start, end = 0, self.n
        info = self.info()
        if self.shard and info is not None:  # torch's documented recipe: split the range between workers
            per_worker = math.ceil(self.n / info.num_workers)
            start = info.id * per_worker
            end = min(start + per_worker, self.n)
        return iter(range(start, end))

    def __len__(self):
        return self.n


class RStream(_StreamBody, data.IterableDataset):
    info = staticmethod(data.get_worker_info)


class TStream(_StreamBody, tdata.IterableDataset):
    info = staticmethod(tdata.get_worker_info)


@pytest.mark.parametrize("shard", [False, True])
@pytest.mark.parametrize("kw", [dict(batch_size=3), dict(batch_size=3, drop_last=True), dict(batch_size=None)])
def test_iterable_dataset_replicas_and_sharding_match_torch(shard, kw):
    want = flat(tdata.DataLoader(TStream(7, shard), num_workers=2, **kw))
    got = flat(data.DataLoader(RStream(7, shard), num_workers=2, **kw))
    assert got == want
    values = [v for b in got for v in (b[1] if isinstance(b, tuple) else [b])]
    if shard:  # each sample once (drop_last drops each worker's own last partial batch)
        assert len(values) == len(set(values))
    elif kw.get("batch_size") is None:  # without sharding every worker yields the whole dataset
        assert sorted(values) == sorted(list(range(7)) * 2)


def test_iterable_len_warning_matches_torch():
    for lib, ds in ((tdata, TStream(4)), (data, RStream(4))):
        loader = lib.DataLoader(ds, batch_size=None, num_workers=2)
        assert len(loader) == 4
        with pytest.warns(UserWarning, match=r"Length of IterableDataset .* was reported to be 4.*[5-8] samples "
                                             "have been fetched. For multiprocessing data-loading"):
            assert len(list(loader)) == 8


class Failing:
    """Raises at index ``bad``; other samples are their index."""

    def __init__(self, bad, exc=ValueError, extra=(), n=8):
        self.bad, self.exc, self.extra, self.n = bad, exc, extra, n

    def __getitem__(self, i):
        if i == self.bad:
            raise self.exc(f"bad index {i}", *self.extra)
        return i

    def __len__(self):
        return self.n


def _error_of(fn):
    """fn()'s exception as (type, text), its traceback dropped at once. A traceback holds the frames of the loader
    iterator; when a cycle holds the traceback (pytest.raises' ExceptionInfo bound in a frame of that traceback;
    torch's ExceptionWrapper.reraise, which keeps the exception in a local), the iterator and its workers live on
    until the cycle collector runs, and torch's shutdown from there waits 5 s per worker."""
    try:
        fn()
    except Exception as e:  # noqa: BLE001 - the exception is the result, compared by the caller
        e.__traceback__ = None
        return type(e), str(e)
    raise AssertionError("no exception raised")


def _run_until_error(lib, ds, **kw):
    it = iter(lib.DataLoader(ds, batch_size=2, num_workers=2, **kw))
    got = []
    etype, msg = _error_of(lambda: [got.append(b.tolist()) for b in it])
    rest = [b.tolist() for b in it]  # torch's iterator stays usable after a worker error
    return got, etype, msg, rest


def test_worker_error_propagates_with_worker_id_and_traceback():
    # batches [0,1] -> worker 0, [2,3] -> worker 1, [4,5] -> worker 0
    got, etype, msg, rest = _run_until_error(data, Failing(5))
    t_got, t_etype, t_msg, t_rest = _run_until_error(tdata, Failing(5))
    assert (got, etype, rest) == (t_got, t_etype, t_rest) == ([[0, 1], [2, 3]], ValueError, [[6, 7]])
    for m in (msg, t_msg):
        assert m.startswith("Caught ValueError in DataLoader worker process 0.\nOriginal Traceback")
        assert "in __getitem__" in m and m.rstrip().endswith("ValueError: bad index 5")


class TwoArgError(Exception):
    def __init__(self, msg, code):
        super().__init__(msg, code)


@pytest.mark.parametrize("exc,extra,want", [(KeyError, (), KeyError), (TwoArgError, (7,), RuntimeError)])
def test_worker_error_types_match_torch(exc, extra, want):
    for lib in (data, tdata):
        etype, msg = _error_of(lambda lib=lib: list(lib.DataLoader(Failing(2, exc, extra), batch_size=None,
                                                                   num_workers=2)))
        assert etype is want
        assert "Caught " + exc.__name__ + " in DataLoader worker process 0" in msg
        if exc is KeyError:  # readable: the message is not repr-escaped onto one line
            assert "\nOriginal Traceback" in msg


def failing_init(worker_id):
    if worker_id == 1:
        raise OSError("no shard for worker 1")


def unpicklable_collate(batch):
    return lambda: batch


def test_init_fn_and_unpicklable_batch_errors():
    with pytest.raises(OSError, match=r"(?s)Caught OSError in DataLoader worker process 1.*no shard for worker 1"):
        list(data.DataLoader(Pairs(refgrad), batch_size=2, num_workers=2, worker_init_fn=failing_init))
    # multiprocessing.Queue would drop it in its feeder thread and hang the loader; it comes back as the error
    with pytest.raises((pickle.PicklingError, AttributeError), match="DataLoader worker process 0"):
        list(data.DataLoader(Pairs(refgrad), batch_size=2, num_workers=2, collate_fn=unpicklable_collate,
                             timeout=30))


class Slow:
    def __init__(self, delay):
        self.delay = delay

    def __getitem__(self, i):
        time.sleep(self.delay)
        return i

    def __len__(self):
        return 4


def test_timeout_raises_like_torch():
    for lib in (data, tdata):
        it = iter(lib.DataLoader(Slow(1.0), num_workers=2, timeout=0.2))
        with pytest.raises(RuntimeError, match=r"^DataLoader timed out after 0.2 seconds$"):
            next(it)
        del it
    assert list(data.DataLoader(Slow(0.01), num_workers=2, timeout=5)) == list(range(4))
    for lib in (data, tdata):  # without workers nothing can time out: torch asserts at iter()
        with pytest.raises(AssertionError, match="requires timeout == 0"):
            iter(lib.DataLoader(range(3), timeout=1))


class Dying:
    def __getitem__(self, i):
        if i == 3:
            os._exit(3)
        return i

    def __len__(self):
        return 6


def test_dead_worker_is_reported():
    it = iter(data.DataLoader(Dying(), num_workers=2, timeout=60))  # reported at once, long before the timeout
    with pytest.raises(RuntimeError, match=r"DataLoader worker \(pid\(s\) \d+\) exited unexpectedly"):
        list(it)
    del it


def test_workers_stop_on_exhaustion_break_and_gc():
    loader = data.DataLoader(Pairs(refgrad), batch_size=2, num_workers=2)
    it = iter(loader)
    workers = list(it._workers)
    assert len(multiprocessing.active_children()) == 2
    assert len(list(it)) == 6
    assert not any(w.is_alive() for w in workers)  # exhaustion
    for _ in loader:
        break
    assert multiprocessing.active_children() == []  # early break: the dropped iterator stops its workers
    it = iter(loader)
    next(it)
    del it
    assert multiprocessing.active_children() == []  # garbage collection mid-epoch
    with pytest.raises(ValueError, match="bad index"):
        for _ in data.DataLoader(Failing(1), batch_size=2, num_workers=2):
            pass
    gc.collect()
    assert multiprocessing.active_children() == []  # after an error, once the exception is gone


class Pid:
    def __getitem__(self, i):
        return os.getpid(), i

    def __len__(self):
        return 6


def test_persistent_workers_are_reused():
    loader = data.DataLoader(Pid(), batch_size=2, num_workers=2, persistent_workers=True)
    epochs = [[(pids.tolist(), idx.tolist()) for pids, idx in loader] for _ in range(2)]
    assert [[i for _, i in e] for e in epochs] == [[[0, 1], [2, 3], [4, 5]]] * 2
    pids = [{p for ps, _ in e for p in ps} for e in epochs]
    assert pids[0] == pids[1] and len(pids[0]) == 2
    assert len(multiprocessing.active_children()) == 2  # still there between epochs
    for _ in loader:  # an abandoned epoch: its results in flight must not leak into the next
        break
    assert [i.tolist() for _, i in loader] == [[0, 1], [2, 3], [4, 5]]
    del loader
    gc.collect()
    assert multiprocessing.active_children() == []
    fresh = data.DataLoader(Pid(), batch_size=2, num_workers=2)
    assert {p for ps, _ in fresh for p in ps.tolist()} != {p for ps, _ in fresh for p in ps.tolist()}


def test_persistent_iterable_dataset_restarts_each_epoch():
    loader = data.DataLoader(RStream(5, shard=True), batch_size=2, num_workers=2, persistent_workers=True)
    want = flat(tdata.DataLoader(TStream(5, shard=True), batch_size=2, num_workers=2))
    assert flat(loader) == flat(loader) == want


def test_prefetch_factor_and_context_checks_match_torch():
    def errors(lib, ds):
        out = []
        for kw in (dict(prefetch_factor=2), dict(num_workers=2, prefetch_factor=-1),
                   dict(multiprocessing_context="spawn"), dict(num_workers=2, multiprocessing_context="nope"),
                   dict(num_workers=2, multiprocessing_context=3)):
            with pytest.raises((ValueError, TypeError)) as err:
                lib.DataLoader(ds, **kw)
            out.append((err.type, str(err.value)))
        return out
    assert errors(data, Pairs(refgrad)) == errors(tdata, Pairs(torch))
    assert data.DataLoader(Pairs(refgrad), num_workers=2).prefetch_factor == 2
    assert data.DataLoader(Pairs(refgrad)).prefetch_factor is None
    ctx = multiprocessing.get_context("spawn")
    assert data.DataLoader(Pairs(refgrad), num_workers=1, multiprocessing_context="spawn").multiprocessing_context \
        is ctx
    # accepted by the constructor, refused when the workers would start: torch's AssertionError (not run on torch,
    # whose half-built iterator then fails in __del__ with an AttributeError)
    with pytest.raises(AssertionError, match="prefetch_factor must be greater than 0"):
        iter(data.DataLoader(range(3), num_workers=2, prefetch_factor=0))


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "int64", "int32", "uint8", "bool"])
def test_tensor_pickles(dtype, device):
    arr = (np.arange(12) % 5).reshape(3, 4).astype(dtype)
    t = refgrad.tensor(arr, device=device)
    for x in (t, t[:, 1], t.t(), t[0, 0]):  # views, non-contiguous, 0-d
        y = pickle.loads(pickle.dumps(x))
        assert y.dtype == x.dtype and y.shape == x.shape and y.device == x.device
        np.testing.assert_array_equal(to_np(y), to_np(x))
    if dtype.startswith("float"):
        leaf = refgrad.tensor(arr, device=device, requires_grad=True)
        for x in (leaf, leaf * 2):  # as torch: values and requires_grad travel, the graph does not
            y = pickle.loads(pickle.dumps(x))
            assert y.requires_grad and y.is_leaf and y.device == x.device
            np.testing.assert_array_equal(to_np(y), to_np(x))
