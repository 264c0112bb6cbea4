"""Matches `torch.utils.data._utils` (worker, fetch, ExceptionWrapper): what a DataLoader worker process runs.

Everything here is module-level so that the 'spawn' and 'forkserver' start methods can pickle it by name.
"""
from __future__ import annotations

import os
import pickle
import queue
import random
import sys
import traceback
from dataclasses import dataclass

import numpy as np

from ...ops.creation import manual_seed

# torch's MP_STATUS_CHECK_INTERVAL: how long a shutdown waits for a worker to exit before terminating it
MP_STATUS_CHECK_INTERVAL = 5.0
# how often a blocked queue read wakes up to look around (torch: every MP_STATUS_CHECK_INTERVAL). In the main
# process: is a worker dead (torch learns it at once from SIGCHLD)? In an idle worker: is the done event set, is the
# parent gone? Short, because a shutdown from the cycle collector may find the index queues' feeder threads already
# finalized, so that the None sent to stop a worker never arrives: the worker must see the done event by itself.
POLL_INTERVAL = 0.1


@dataclass(frozen=True, slots=True)
class WorkerInfo:
    """Matches `torch.utils.data.get_worker_info()`'s object: ``id``, ``num_workers``, ``seed`` and ``dataset`` (this
    worker's own copy). Frozen, as torch's."""

    id: int
    num_workers: int
    seed: int
    dataset: object


_worker_info: WorkerInfo | None = None


def get_worker_info() -> WorkerInfo | None:
    """Matches `torch.utils.data.get_worker_info`: the :class:`WorkerInfo` of the current DataLoader worker process,
    None in the main process."""
    return _worker_info


@dataclass(frozen=True)
class _IterableDatasetStopIteration:
    """A worker's reply once its copy of an IterableDataset is exhausted."""

    worker_id: int


@dataclass(frozen=True)
class _ResumeIteration:
    """Asks a persistent worker for a fresh epoch (a new fetcher); the worker echoes it back."""


class _KeyErrorMessage(str):
    # KeyError prints repr(arg), which would show the traceback text as one escaped line (torch's KeyErrorMessage)
    __slots__ = ()

    def __repr__(self):
        return self


class ExceptionWrapper:
    """Matches `torch._utils.ExceptionWrapper`: an exception's type and formatted traceback, to re-raise in another
    process as ``Caught <Type> <where>.\\nOriginal Traceback ...``."""

    def __init__(self, exc_info=None, where="in background"):
        # keep the text, never the traceback object (it holds frames, and cannot be pickled)
        exc_info = exc_info or sys.exc_info()
        self.exc_type = exc_info[0]
        self.exc_msg = "".join(traceback.format_exception(*exc_info))
        self.where = where

    def reraise(self):
        msg = f"Caught {self.exc_type.__name__} {self.where}.\nOriginal {self.exc_msg}"
        if self.exc_type is KeyError:
            msg = _KeyErrorMessage(msg)
        elif getattr(self.exc_type, "message", None):
            raise self.exc_type(message=msg)
        try:
            exception = self.exc_type(msg)
        except Exception:  # noqa: BLE001 - a type that does not take one message: torch falls back the same way
            raise RuntimeError(msg) from None
        try:
            raise exception
        finally:
            # a local holding the exception whose traceback holds this frame is a cycle: it would keep the
            # DataLoader iterator (and its workers) alive until the cycle collector runs
            del exception


class _InfiniteConstantSampler:
    """Matches torch's `_InfiniteConstantSampler`: None forever, the "index" of each item of an IterableDataset."""

    def __iter__(self):
        while True:
            yield None


class _MapDatasetFetcher:
    """Matches torch's `_MapDatasetFetcher`: one index (or a list of indices, collated) -> one (batch) item."""

    def __init__(self, dataset, auto_collation, collate_fn, drop_last):
        self.dataset, self.auto_collation, self.collate_fn = dataset, auto_collation, collate_fn

    def fetch(self, possibly_batched_index):
        if self.auto_collation:
            if getattr(self.dataset, "__getitems__", None):
                data = self.dataset.__getitems__(possibly_batched_index)
            else:
                data = [self.dataset[idx] for idx in possibly_batched_index]
        else:
            data = self.dataset[possibly_batched_index]
        return self.collate_fn(data)


class _IterableDatasetFetcher:
    """Matches torch's `_IterableDatasetFetcher`: the next item, or the next ``len(index)`` items collated; the last
    partial batch is kept unless ``drop_last``; StopIteration once the dataset's iterator ends."""

    def __init__(self, dataset, auto_collation, collate_fn, drop_last):
        self.auto_collation, self.collate_fn, self.drop_last = auto_collation, collate_fn, drop_last
        self.dataset_iter = iter(dataset)
        self.ended = False

    def fetch(self, possibly_batched_index):
        if self.ended:
            raise StopIteration
        if not self.auto_collation:
            return self.collate_fn(next(self.dataset_iter))
        data = []
        for _ in possibly_batched_index:
            try:
                data.append(next(self.dataset_iter))
            except StopIteration:
                self.ended = True
                break
        if not data or (self.drop_last and len(data) < len(possibly_batched_index)):
            raise StopIteration
        return self.collate_fn(data)


def _create_fetcher(iterable, dataset, auto_collation, collate_fn, drop_last):
    kind = _IterableDatasetFetcher if iterable else _MapDatasetFetcher
    return kind(dataset, auto_collation, collate_fn, drop_last)


def _generate_state(base_seed, worker_id):
    """torch's `_generate_state`: the 128-bit numpy seed of a worker, a SeedSequence-style hash of (worker_id,
    base_seed), so that numpy's global RNG differs per worker (NumPy's own SeedSequence, re-implemented by torch to
    avoid importing numpy in the main process)."""
    mask32, xshift = 0xFFFFFFFF, 16
    hash_a = 0x43B0D7E5

    def hash_(value):
        nonlocal hash_a
        value = (value ^ hash_a) & mask32
        hash_a = (hash_a * 0x931E8875) & mask32
        value = (value * hash_a) & mask32
        return (value ^ (value >> xshift)) & mask32

    def mix(x, y):
        result = (((0xCA01F9DD * x) & mask32) - ((0x4973F715 * y) & mask32)) & mask32
        return (result ^ (result >> xshift)) & mask32

    pool = [hash_(e) for e in (worker_id, base_seed & mask32, base_seed >> 32, 0)]
    for i_src in range(4):
        for i_dst in range(4):
            if i_src != i_dst:
                pool[i_dst] = mix(pool[i_dst], hash_(pool[i_src]))
    hash_b, state = 0x8B51F9DD, []
    for value in pool:
        value = (value ^ hash_b) & mask32
        hash_b = (hash_b * 0x58F38DED) & mask32
        value = (value * hash_b) & mask32
        state.append((value ^ (value >> xshift)) & mask32)
    return state


def _send(data_queue, idx, data, worker_id):
    """Put ``(idx, data)`` pickled HERE: multiprocessing.Queue pickles in a feeder thread, where a failure is only
    printed and the batch lost (the main process would wait forever); this way it comes back as the batch's error."""
    try:
        payload = pickle.dumps((idx, data), protocol=pickle.HIGHEST_PROTOCOL)
    except Exception:  # noqa: BLE001 - any pickling failure is reported to the main process
        payload = pickle.dumps((idx, ExceptionWrapper(where=f"in DataLoader worker process {worker_id}")))
    data_queue.put(payload)


def _worker_loop(iterable, dataset, index_queue, data_queue, done_event, auto_collation, collate_fn, drop_last,
                 base_seed, init_fn, worker_id, num_workers):
    """Matches torch's `_worker_loop`: seed, build the WorkerInfo, run ``init_fn(worker_id)``, then answer tasks
    ``(idx, index)`` from ``index_queue`` with ``(idx, batch)`` on ``data_queue`` until told to stop (None) or the
    main process is gone. Errors travel back as :class:`ExceptionWrapper`."""
    global _worker_info
    try:
        # torch's seeding: Python's and the library's generators get base_seed + worker_id, numpy's legacy global
        # generator a 128-bit state hashed from both
        seed = base_seed + worker_id
        random.seed(seed)
        manual_seed(seed)
        np.random.seed(_generate_state(base_seed, worker_id))
        _worker_info = WorkerInfo(id=worker_id, num_workers=num_workers, seed=seed, dataset=dataset)
        where = f"in DataLoader worker process {worker_id}"

        # torch sends a failed init to the first task only and then fails on an unset fetcher; here every task
        # of this worker reports the init error, which is what the user needs to see
        def make_fetcher():
            try:
                return _create_fetcher(iterable, dataset, auto_collation, collate_fn, drop_last), None
            except Exception:  # noqa: BLE001 - reported to the main process
                return None, ExceptionWrapper(where=where)

        init_error = None
        try:
            if init_fn is not None:
                init_fn(worker_id)
        except Exception:  # noqa: BLE001 - reported to the main process
            init_error = ExceptionWrapper(where=where)
        fetcher, error = make_fetcher() if init_error is None else (None, init_error)

        iteration_end = False
        parent = os.getppid()
        while os.getppid() == parent:  # the main process died: the worker is re-parented, stop
            try:
                task = index_queue.get(timeout=POLL_INTERVAL)
            except queue.Empty:
                if done_event.is_set():
                    break
                continue
            if isinstance(task, _ResumeIteration):
                _send(data_queue, task, None, worker_id)
                iteration_end = False
                if init_error is None:
                    fetcher, error = make_fetcher()
                continue
            if task is None:
                break
            if done_event.is_set() or iteration_end:
                continue  # drain: the main process no longer wants results
            idx, index = task
            if error is not None:
                data = error
            else:
                try:
                    data = fetcher.fetch(index)
                except StopIteration:
                    if not iterable:
                        data = ExceptionWrapper(where=where)
                    else:
                        data, iteration_end = _IterableDatasetStopIteration(worker_id), True
                except Exception:  # noqa: BLE001 - reported to the main process
                    data = ExceptionWrapper(where=where)
            _send(data_queue, idx, data, worker_id)
            del data, idx, index, task  # free the batch before blocking on the next task
    except KeyboardInterrupt:
        pass  # Ctrl-C reaches the whole process group; the main process handles it
    if done_event.is_set():
        # the main process stopped reading: do not block exit on flushing results nobody will read
        data_queue.cancel_join_thread()
        data_queue.close()
