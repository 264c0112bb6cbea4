"""refgrad.utils.data vs torch.utils.data: collate structure and dtypes, sequential loading, samplers,
argument errors; seeded shuffles reproduce; weighted sampling follows its weights."""
import collections

import numpy as np
import pytest
import torch
import torch.utils.data as tdata

import refgrad
import refgrad.utils.data as data

from .helpers import to_np

Point = collections.namedtuple("Point", "x y")


def same(a, b):
    """a (refgrad) has b's (torch) structure, container types, tensor dtypes and values."""
    if isinstance(b, torch.Tensor):
        assert isinstance(a, refgrad.Tensor), type(a)
        assert str(a.dtype) == str(b.dtype)
        assert tuple(a.shape) == tuple(b.shape)
        np.testing.assert_array_equal(to_np(a), to_np(b))
    elif isinstance(b, dict):
        assert type(a) is type(b) and list(a) == list(b)
        for k in b:
            same(a[k], b[k])
    elif isinstance(b, list | tuple):
        assert type(a) is type(b) and len(a) == len(b)
        for x, y in zip(a, b, strict=True):
            same(x, y)
    else:
        assert type(a) is type(b) and a == b



def samples(lib):
    t = lib.tensor
    return {
        "tensors": [t([1.0, 2.0]), t([3.0, 4.0])],
        "int_tensors": [t([[1, 2]]), t([[3, 4]])],
        "floats": [1.5, 2.0, -3.25],
        "ints": [1, 2, 3],
        "bools": [True, False],
        "strings": ["a", "bc"],
        "numpy": [np.arange(3, dtype=np.float32), np.ones(3, dtype=np.float32)],
        "numpy_int": [np.arange(2), np.arange(2) + 5],
        "numpy_scalars": [np.float32(1.5), np.float32(2.5)],
        "numpy_i64_scalars": [np.int64(1), np.int64(7)],
        "tuples": [(t([1.0]), 2, "x"), (t([3.0]), 4, "y")],
        "lists": [[1.0, 2], [3.0, 4]],
        "dicts": [{"a": t([1, 2]), "b": {"c": 1.5, "d": ["s", 1]}}, {"a": t([3, 4]), "b": {"c": 2.5, "d": ["t", 2]}}],
        "namedtuples": [Point(t([1.0]), 2), Point(t([3.0]), 4)],
        "ordered": [collections.OrderedDict(z=1, a=2.0), collections.OrderedDict(z=3, a=4.0)],
    }


@pytest.mark.parametrize("case", list(samples(torch)))
def test_default_collate_matches_torch(case):
    same(data.default_collate(samples(refgrad)[case]), tdata.default_collate(samples(torch)[case]))


@pytest.mark.parametrize("case", list(samples(torch)))
def test_default_convert_matches_torch(case):
    for r, t in zip(samples(refgrad)[case], samples(torch)[case], strict=True):
        same(data.default_convert(r), tdata.default_convert(t))


def test_collate_size_mismatch_errors():
    with pytest.raises(RuntimeError) as t_err:
        tdata.default_collate([torch.zeros(2), torch.zeros(3)])
    with pytest.raises(RuntimeError) as r_err:
        data.default_collate([refgrad.zeros(2), refgrad.zeros(3)])
    assert str(r_err.value) == str(t_err.value)
    with pytest.raises(RuntimeError, match="each element in list of batch should be of equal size"):
        tdata.default_collate([[1, 2], [3]])
    with pytest.raises(RuntimeError, match="each element in list of batch should be of equal size"):
        data.default_collate([[1, 2], [3]])
    for lib in (tdata, data):
        with pytest.raises(TypeError, match="batch must contain tensors"):
            lib.default_collate([object(), object()])
        with pytest.raises(TypeError, match="batch must contain tensors"):
            lib.default_collate([np.array(["a"]), np.array(["b"])])


def _pair(n=10):
    x = np.arange(n * 3, dtype=np.float32).reshape(n, 3)
    y = np.arange(n) % 3
    return (data.TensorDataset(refgrad.tensor(x), refgrad.tensor(y)),
            tdata.TensorDataset(torch.tensor(x), torch.tensor(y)))


@pytest.mark.parametrize("batch_size,drop_last", [(1, False), (3, False), (3, True), (5, True), (None, False),
                                                   (20, False), (20, True)])
def test_sequential_loading_matches_torch(batch_size, drop_last):
    rds, tds = _pair()
    rl = data.DataLoader(rds, batch_size=batch_size, drop_last=drop_last)
    tl = tdata.DataLoader(tds, batch_size=batch_size, drop_last=drop_last)
    assert len(rl) == len(tl)
    rb, tb = list(rl), list(tl)
    assert len(rb) == len(tb)
    for a, b in zip(rb, tb, strict=True):
        same(a, b)


def test_batch_sampler_and_custom_collate():
    rds, tds = _pair(7)
    batches = [[6, 0], [1, 2, 3], [5]]
    rl = data.DataLoader(rds, batch_sampler=batches)
    tl = tdata.DataLoader(tds, batch_sampler=batches)
    assert len(rl) == len(tl) == 3
    for a, b in zip(rl, tl, strict=True):
        same(a, b)

    def collate(items):
        return [int(i[1]) for i in items]
    assert list(data.DataLoader(rds, batch_size=3, collate_fn=collate)) == \
        list(tdata.DataLoader(tds, batch_size=3, collate_fn=collate))
    bs = [3, 1, 4, 1, 5]
    assert list(data.BatchSampler(bs, 2, False)) == list(tdata.BatchSampler(bs, 2, False))
    assert list(data.BatchSampler(bs, 2, True)) == list(tdata.BatchSampler(bs, 2, True))
    assert len(data.BatchSampler(bs, 2, True)) == len(tdata.BatchSampler(bs, 2, True)) == 2
    assert len(data.BatchSampler(bs, 2, False)) == 3


class Stream(data.IterableDataset):
    def __init__(self, n, sized=True):
        self.n, self.sized = n, sized

    def __iter__(self):
        return iter(range(self.n))

    def __len__(self):
        return self.n


class TStream(tdata.IterableDataset):
    def __init__(self, n):
        self.n = n

    def __iter__(self):
        return iter(range(self.n))

    def __len__(self):
        return self.n


@pytest.mark.parametrize("batch_size,drop_last", [(None, False), (1, False), (3, False), (3, True), (4, True)])
def test_iterable_dataset_matches_torch(batch_size, drop_last):
    rl = data.DataLoader(Stream(10), batch_size=batch_size, drop_last=drop_last)
    tl = tdata.DataLoader(TStream(10), batch_size=batch_size, drop_last=drop_last)
    assert len(rl) == len(tl)
    rb, tb = list(rl), list(tl)
    assert len(rb) == len(tb)
    for a, b in zip(rb, tb, strict=True):
        same(a, b)


def _errors(lib, ds, stream):
    cases = [
        lambda: lib.DataLoader(ds, sampler=[0, 1], shuffle=True),
        lambda: lib.DataLoader(ds, batch_sampler=[[0]], batch_size=2),
        lambda: lib.DataLoader(ds, batch_sampler=[[0]], shuffle=True),
        lambda: lib.DataLoader(ds, batch_sampler=[[0]], sampler=[0]),
        lambda: lib.DataLoader(ds, batch_sampler=[[0]], drop_last=True),
        lambda: lib.DataLoader(ds, batch_size=None, drop_last=True),
        lambda: lib.DataLoader(ds, num_workers=-1),
        lambda: lib.DataLoader(ds, timeout=-1),
        lambda: lib.DataLoader(ds, prefetch_factor=2),
        lambda: lib.DataLoader(ds, persistent_workers=True),
        lambda: lib.DataLoader(stream, shuffle=True),
        lambda: lib.DataLoader(stream, batch_sampler=[[0]]),
        lambda: lib.BatchSampler([1], 0, False),
        lambda: lib.BatchSampler([1], 2, 1),
        lambda: lib.RandomSampler([1], num_samples=0),
        lambda: lib.WeightedRandomSampler([[1.0]], 2),
        lambda: lib.WeightedRandomSampler([1.0], -1),
        lambda: lib.random_split(range(5), [2, 2]),
        lambda: lib.TensorDataset(*((torch if lib is tdata else refgrad).zeros(n) for n in (2, 3))),
        lambda: lib.ConcatDataset([]),
    ]
    out = []
    for c in cases:
        try:
            c()
            out.append(None)
        except Exception as e:  # noqa: BLE001 - the exception itself is the result compared
            out.append((type(e), str(e)))
    return out


def test_argument_errors_match_torch():
    rds, tds = _pair(4)
    got, want = _errors(data, rds, Stream(3)), _errors(tdata, tds, TStream(3))
    for i, (g, w) in enumerate(zip(got, want, strict=True)):
        assert w is not None and g is not None, i
        assert g[0] is w[0], (i, g, w)
        # the sampler's repr differs between the libraries; everything else is torch's text
        assert g[1].split("but got")[0] == w[1].split("but got")[0], (i, g, w)
    dl = data.DataLoader(rds)
    with pytest.raises(ValueError, match="batch_size attribute should not be set after DataLoader is initialized"):
        dl.batch_size = 3


def test_concat_subset_match_torch():
    r = data.ConcatDataset([list(range(3)), list(range(10, 14))])
    t = tdata.ConcatDataset([list(range(3)), list(range(10, 14))])
    assert len(r) == len(t) == 7
    assert [r[i] for i in range(-7, 7)] == [t[i] for i in range(-7, 7)]
    assert r.cumulative_sizes == t.cumulative_sizes
    with pytest.raises(ValueError, match="absolute value of index"):
        r[-8]
    s = data.Subset(list("abcdef"), [5, 0, 2])
    assert [s[i] for i in range(len(s))] == ["f", "a", "c"]
    rds, _ = _pair(4)
    assert len(rds + rds) == 8


@pytest.mark.parametrize("n,lengths", [(10, [3, 7]), (30, [0.3, 0.3, 0.4]), (11, [0.5, 0.5]), (7, [0.2, 0.3, 0.5]),
                                       (5, [0.1, 0.9]), (3, [1.0])])
def test_random_split_lengths_match_torch(n, lengths):
    r = data.random_split(range(n), lengths, generator=refgrad.Generator().manual_seed(0))
    t = tdata.random_split(range(n), lengths, generator=torch.Generator().manual_seed(0))
    assert [len(s) for s in r] == [len(s) for s in t]
    assert sorted(i for s in r for i in s) == list(range(n))


def test_random_split_errors_and_zero_warning():
    for lib in (tdata, data):
        with pytest.raises(ValueError, match="Fraction at index 0 is not between 0 and 1"):
            lib.random_split(range(4), [-0.5, 1.5])
        with pytest.warns(UserWarning, match="Length of split at index 1 is 0"):
            lib.random_split(range(2), [0.9, 0.1])


def test_random_split_reproducible():
    def split(seed):
        return [s.indices for s in data.random_split(range(20), [0.5, 0.5],
                                                     generator=refgrad.Generator().manual_seed(seed))]
    assert split(3) == split(3)
    assert split(3) != split(4)


def _epoch(seed, n=50, **kw):
    ds = data.TensorDataset(refgrad.arange(n))
    g = refgrad.Generator().manual_seed(seed)
    return [int(v) for (b,) in data.DataLoader(ds, shuffle=True, generator=g, **kw) for v in b.tolist()]


def test_seeded_shuffle_reproducible_and_complete():
    a = _epoch(1, batch_size=7)
    assert a == _epoch(1, batch_size=7)
    assert a != _epoch(2, batch_size=7)
    assert sorted(a) == list(range(50)) and a != list(range(50))
    # successive epochs of one loader differ, each a full permutation
    g = refgrad.Generator().manual_seed(5)
    dl = data.DataLoader(data.TensorDataset(refgrad.arange(20)), batch_size=6, shuffle=True, generator=g)
    e1, e2 = ([v for (b,) in dl for v in b.tolist()] for _ in range(2))
    assert sorted(e1) == sorted(e2) == list(range(20)) and e1 != e2
    # without a generator the global seed decides
    refgrad.manual_seed(9)
    a = list(data.RandomSampler(range(30)))
    refgrad.manual_seed(9)
    assert list(data.RandomSampler(range(30))) == a and sorted(a) == list(range(30))


def test_random_sampler_variants():
    g = refgrad.Generator().manual_seed(0)
    s = data.RandomSampler(range(10), num_samples=25, generator=g)
    out = list(s)
    assert len(s) == len(out) == 25
    assert sorted(out[:10]) == sorted(out[10:20]) == list(range(10)) and len(set(out[20:])) == 5
    s = data.RandomSampler(range(4), replacement=True, num_samples=400, generator=g)
    out = np.array(list(s))
    assert len(out) == 400 and set(out.tolist()) == {0, 1, 2, 3}
    assert np.all(np.abs(np.bincount(out) / 400 - 0.25) < 0.1)
    sub = data.SubsetRandomSampler([10, 20, 30, 40], generator=refgrad.Generator().manual_seed(1))
    assert sorted(sub) == [10, 20, 30, 40] and len(sub) == 4
    assert list(data.SequentialSampler(range(4))) == list(tdata.SequentialSampler(range(4)))
    with pytest.raises(TypeError, match="replacement should be a boolean value"):
        data.RandomSampler(range(3), replacement=1)


def test_weighted_sampler_statistics():
    w = [0.1, 0.0, 0.6, 0.3]
    s = data.WeightedRandomSampler(w, 6000, generator=refgrad.Generator().manual_seed(0))
    out = np.array(list(s))
    assert len(s) == len(out) == 6000
    freq = np.bincount(out, minlength=4) / 6000
    np.testing.assert_allclose(freq, w, atol=0.03)
    assert freq[1] == 0
    s = data.WeightedRandomSampler(refgrad.tensor([1.0, 5.0, 0.0, 2.0]), 3, replacement=False,
                                   generator=refgrad.Generator().manual_seed(0))
    out = list(s)
    assert sorted(out) == [0, 1, 3]
    assert str(s.weights.dtype) == "torch.float64"
