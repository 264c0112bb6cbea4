"""Specs for indexing (refgrad/ops/indexing.py and Tensor.__getitem__)."""
from __future__ import annotations

import numpy as np

from ..sampling import uniform
from ..spec import Sample, Spec, register

# (input shape, index): basic slicing, integers, None/Ellipsis, integer arrays with repeats (the
# gradient must accumulate), boolean masks, empty results. Arrays become tensors in both engines.
_GETITEM = [
    ((3, 4), (slice(None), 1)),
    ((4, 3), np.array([0, 2, 0, 3])),
    ((2, 3, 4), (Ellipsis, slice(1, None, 2))),
    ((3, 4), np.array([[True, False, True, False]] * 3)),
    ((5,), (None, slice(1, 4))),
    ((3, 4), (slice(2, 2),)),
    ((2, 3, 4), (1, slice(None, None, 2), -1)),
]


def _getitem_sampler(rng, i):
    shape, index = _GETITEM[i % len(_GETITEM)]
    return Sample((uniform(rng, shape), index), label=f"{shape}[{_describe(index)}]")


def _describe(index):
    if isinstance(index, np.ndarray):
        return f"{index.dtype.name}{list(index.shape)}"
    if isinstance(index, tuple):
        return ",".join(_describe(i) for i in index)
    if isinstance(index, slice):
        return ":".join("" if v is None else str(v) for v in (index.start, index.stop, index.step))
    return "..." if index is Ellipsis else repr(index)


register(Spec("getitem", fn=lambda x, index: x[index], torch="operator.getitem", sampler=_getitem_sampler))
