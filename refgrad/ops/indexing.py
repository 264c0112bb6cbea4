"""Indexing: __getitem__/__setitem__ with ints, slices, None, Ellipsis, integer-tensor and boolean
indexing. Repeated indices accumulate gradient (scatter-add), as in torch."""
from __future__ import annotations

import numpy as np

from .._backend import get_xp
from .._tensor import Tensor, register_methods
from ..autograd.graph import apply
from ._core import inplace, make_view


def index_add_at(z, idx, g):
    """z[idx] += g with repeated indices accumulating (numpy add.at / cupyx.scatter_add)."""
    if isinstance(z, np.ndarray):
        np.add.at(z, idx, g)
    else:
        import cupyx  # noqa: PLC0415 - only reached with cupy arrays
        cupyx.scatter_add(z, idx, g)
    return z


def _convert_index(idx, x):
    """Tensors -> backend arrays; check bounds like torch (IndexError)."""
    if not isinstance(idx, tuple):
        idx = (idx,)
    out = []
    advanced = False
    xp = get_xp(x)
    for i in idx:
        if isinstance(i, Tensor):
            a = i._data
            if a.dtype.kind not in "iub":
                raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
            if type(a) is not type(x):
                a = xp.asarray(a) if a.ndim else a.item()
            if not isinstance(a, (int, bool)):
                advanced = True
            out.append(a if a.dtype.kind == "b" or isinstance(a, int) else a.astype(np.int64, copy=False))
        elif isinstance(i, (list, np.ndarray)) or (hasattr(i, "__cuda_array_interface__")):
            a = xp.asarray(i)
            if a.dtype.kind not in "iub":
                raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
            advanced = True
            out.append(a)
        elif isinstance(i, bool):
            advanced = True
            out.append(i)
        elif i is None or i is Ellipsis or isinstance(i, (int, slice, np.integer)):
            if isinstance(i, slice) and i.step is not None and i.step <= 0:
                raise ValueError("step must be greater than zero")
            out.append(i)
        else:
            raise IndexError(f"only integers, slices (`:`), ellipsis (`...`), None and long or byte Variables are "
                             f"valid indices (got {type(i).__name__})")
    return tuple(out), advanced


def _index_error(e, x):
    msg = str(e)
    if "out of bounds" in msg:
        return IndexError(msg.replace("axis", "dimension"))
    return IndexError(msg)


class _Index:
    node_name = "IndexBackward0"

    @staticmethod
    def forward(ctx, x, idx, advanced):
        ctx.idx, ctx.in_shape, ctx.advanced = idx, x.shape, advanced
        try:
            r = x[idx]
        except IndexError as e:
            raise _index_error(e, x) from None
        return r if isinstance(r, type(x)) else get_xp(x).asarray(r)

    @staticmethod
    def backward(ctx, g):
        return apply(_IndexBackward, g, idx=ctx.idx, in_shape=ctx.in_shape, advanced=ctx.advanced)


class _IndexBackward:
    """zeros(in_shape).index_put_(idx, grad, accumulate=True); its own backward is indexing again."""

    node_name = "IndexPutBackward0"

    @staticmethod
    def forward(ctx, g, idx, in_shape, advanced):
        ctx.idx, ctx.advanced = idx, advanced
        xp = get_xp(g)
        z = xp.zeros(in_shape, dtype=g.dtype)
        if advanced:
            index_add_at(z, idx, g)
        else:
            z[idx] = g
        return z

    @staticmethod
    def backward(ctx, gg):
        return apply(_Index, gg, idx=ctx.idx, advanced=ctx.advanced)


def getitem(self, idx):
    """Matches `torch.Tensor.__getitem__`: basic indexing gives a view, advanced a copy."""
    if isinstance(idx, Tensor) and idx._data.ndim == 0 and idx._data.dtype.kind in "iu":
        idx = int(idx.item())
    if self._data.ndim == 0 and isinstance(idx, (int, np.integer)):
        raise IndexError("invalid index of a 0-dim tensor. Use `tensor.item()` in Python or `tensor.item<T>()` "
                         "in C++ to convert a 0-dim tensor to a number")
    cidx, advanced = _convert_index(idx, self._data)
    if not advanced and not any(i is Ellipsis for i in cidx):
        cidx = cidx + (Ellipsis,)  # numpy then always returns an array view, never a scalar copy
    out = apply(_Index, self, idx=cidx, advanced=advanced)
    if not advanced:
        make_view(out, self, lambda b, i=idx: getitem(b, i))
    return out


class _IndexPut:
    node_name = "IndexPutBackward0"

    @staticmethod
    def forward(ctx, x, v, idx, accumulate):
        ctx.idx = idx
        r = x.copy()
        if accumulate:
            index_add_at(r, idx, v)
        else:
            try:
                r[idx] = v
            except ValueError as e:
                raise RuntimeError(f"shape mismatch: value tensor of shape {list(v.shape)} cannot be broadcast to "
                                   f"indexing result of shape {list(x[idx].shape)}") from e
        ctx.accumulate = accumulate
        return r

    @staticmethod
    def backward(ctx, g):
        # self: accumulate ? grad : grad.index_put(indices, zeros); values: grad.index(indices)
        nig = ctx.needs_input_grad
        gx = None
        if nig[0]:
            gx = g if ctx.accumulate else apply(_IndexPut, g, Tensor._wrap(get_xp(g._data).zeros((), g._data.dtype)),
                                                idx=ctx.idx, accumulate=False)
        gv = apply(_Index, g, idx=ctx.idx, advanced=True) if nig[1] else None
        return gx, gv


def _index_put(self, idx_converted, values, accumulate):
    if not isinstance(values, Tensor):
        values = Tensor._wrap(get_xp(self._data).asarray(values, dtype=self._data.dtype))
    elif values._data.dtype != self._data.dtype:
        values = values.to(self.dtype)
    if type(values._data) is not type(self._data):
        if values._data.ndim == 0:
            values = values.to(self.device)
        else:
            from ._core import _device_error  # noqa: PLC0415
            raise _device_error(self, values)
    return apply(_IndexPut, self, values, idx=idx_converted, accumulate=accumulate)


def setitem(self, idx, value):
    """Matches `torch.Tensor.__setitem__` (an in-place index_put_/copy_ with torch's autograd rules)."""
    if isinstance(idx, Tensor) and idx._data.ndim == 0 and idx._data.dtype.kind in "iu":
        idx = int(idx.item())
    cidx, _ = _convert_index(idx, self._data)
    inplace(self, lambda s, v: _index_put(s, cidx, v, False), value)


def index_put(input, indices, values, accumulate=False):  # noqa: A002
    """Matches `torch.index_put` (indices: a tuple of index tensors)."""
    cidx, _ = _convert_index(tuple(indices), input._data)
    return _index_put(input, cidx, values, accumulate)


def index_put_(input, indices, values, accumulate=False):  # noqa: A002
    return inplace(input, lambda s, v: index_put(s, indices, v, accumulate), values)


register_methods({"__getitem__": getitem, "__setitem__": setitem, "index_put": index_put,
                  "index_put_": index_put_})

__all__ = ["index_put", "index_put_"]
