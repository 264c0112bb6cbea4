"""Indexing: __getitem__/__setitem__ (torch's applySlicing rules), index_put, gather/scatter and
scatter_reduce, index_select/add/copy/fill, masked_fill/select/scatter, take/put, nonzero.

Every op here reduces to two primitives over a numpy "advanced index" tuple: ``_Index`` (read
``x[idx]``; backward accumulates into zeros, so repeated indices sum their gradients, as in torch)
and ``_IndexPut`` (write or accumulate ``values`` at ``x[idx]``). Subclasses only carry torch's node
names. scatter_reduce is the one extra primitive (its backward rules depend on the reduction)."""
from __future__ import annotations

import warnings

import numpy as np

from .._backend import asnumpy, get_xp
from .._tensor import Tensor, _wrap_dim, register_methods
from ..autograd.grad_mode import is_grad_enabled
from ..autograd.graph import apply
from ._core import _device_error, _type_word, inplace, write_out
from .shape import _Select, _Slice, basic_view, expand, reshape

_UFUNC = {"sum": np.add, "prod": np.multiply, "amax": np.maximum, "amin": np.minimum}


def _ufunc_at(z, idx, v, how="sum"):
    """z[idx] (op)= v with repeated indices combining (ufunc.at on numpy and cupy)."""
    if isinstance(z, np.ndarray):
        _UFUNC[how].at(z, idx, v)
    elif how == "sum":
        get_xp(z).add.at(z, idx, v)
    else:
        # cupy has no multiply.at, and its maximum/minimum.at round float64 through float32 (the
        # result then equals no input, which breaks the tie rule): a reference engine does these
        # on the host
        h = asnumpy(z)
        _UFUNC[how].at(h, tuple(asnumpy(i) if hasattr(i, "shape") else i for i in idx), asnumpy(v))
        z[...] = get_xp(z).asarray(h)
    return z


def index_add_at(z, idx, g):
    """z[idx] += g with repeated indices accumulating (shared with reduction's max/min backward)."""
    return _ufunc_at(z, idx, g, "sum")


# -- the two primitives ------------------------------------------------------------------------
class _Index:
    """x[idx] for an advanced numpy index (integer arrays and full slices): a copy."""

    node_name = "IndexBackward0"

    @staticmethod
    def forward(ctx, x, idx):
        ctx.idx, ctx.in_shape = idx, x.shape
        return x[idx]

    @staticmethod
    def backward(ctx, g):  # index_backward: zeros(self).index_put_(indices, grad, accumulate=True)
        return apply(_IndexBackward, g, idx=ctx.idx, in_shape=ctx.in_shape)


class _IndexBackward:
    node_name = "IndexBackwardBackward0"

    @staticmethod
    def forward(ctx, g, idx, in_shape):
        ctx.idx = idx
        return _ufunc_at(get_xp(g).zeros(in_shape, dtype=g.dtype), idx, g)

    @staticmethod
    def backward(ctx, gg):  # its own gradient is indexing again
        return apply(_Index, gg, idx=ctx.idx)


class _IndexPut:
    """x with ``v`` written (or accumulated) at ``x[idx]``; ``v`` broadcasts to the indexed shape."""

    node_name = "IndexPutBackward0"

    @staticmethod
    def forward(ctx, x, v, idx, accumulate):
        ctx.idx, ctx.accumulate = idx, accumulate
        r = x.copy()
        try:
            if accumulate:
                _ufunc_at(r, idx, get_xp(x).broadcast_to(v, x[idx].shape))
            else:
                r[idx] = v
        except ValueError:
            raise RuntimeError(f"shape mismatch: value tensor of shape {list(v.shape)} cannot be broadcast to "
                               f"indexing result of shape {list(x[idx].shape)}") from None
        return r

    @staticmethod
    def backward(ctx, g):
        # self: accumulate ? grad : grad.index_put(indices, 0); values: grad.index(indices)
        nig = ctx.needs_input_grad
        gx = gv = None
        if nig[0]:
            gx = g if ctx.accumulate else apply(
                _IndexPut, g, get_xp(g._data).zeros((), g._data.dtype), idx=ctx.idx, accumulate=False)
        if nig[1]:
            gv = apply(_Index, g, idx=ctx.idx)
        return gx, gv


def _named(base, name):
    return type(name.replace("Backward0", ""), (base,), {"node_name": name})


_Gather = _named(_Index, "GatherBackward0")
_IndexSelect = _named(_Index, "IndexSelectBackward0")
_Take = _named(_Index, "TakeBackward0")
_Scatter = _named(_IndexPut, "ScatterBackward0")
_ScatterAdd = _named(_IndexPut, "ScatterAddBackward0")
_IndexAdd = _named(_IndexPut, "IndexAddBackward0")
_IndexCopy = _named(_IndexPut, "IndexCopyBackward0")
_IndexFill = _named(_IndexPut, "IndexFillBackward0")
_Put = _named(_IndexPut, "PutBackward0")


# -- index checks ------------------------------------------------------------------------------
def _arr_on(a, like):
    """An index array on the backend of ``like`` (torch accepts cpu indices for cuda tensors)."""
    xp = get_xp(like)
    if type(a) is not type(like):
        a = xp.asarray(asnumpy(a))
    return a


def _bounds(a, size, dim, exc=IndexError, prefix=""):
    if a.size:
        lo, hi = int(a.min()), int(a.max())
        if hi >= size or lo < -size:
            bad = hi if hi >= size else lo
            raise exc(f"{prefix}index {bad} is out of bounds for dimension {dim} with size {size}")


def _index_arg(index, fn, kinds="iu", what="int32/int64"):
    if not isinstance(index, Tensor):
        raise TypeError(f"{fn}(): argument 'index' must be Tensor, not {type(index).__name__}")
    a = index._data
    if a.dtype.kind not in kinds or a.dtype not in (np.int32, np.int64):
        raise RuntimeError(f"{fn}(): Expected dtype {what} for index")
    return a


def _long_index(index, fn, exc=RuntimeError):
    a = index._data
    if a.dtype != np.int64:
        raise exc(f"{fn}(): Expected a long tensor for index, but got {_type_word(a.dtype)}")
    return a


def _same_dtype(x, src, fn):
    if src._data.dtype != x._data.dtype:
        raise RuntimeError(f"{fn}(): Expected self.dtype to be equal to src.dtype")


def _scalar_value(x, value, fn):
    """A fill value: a Python number cast to x's dtype, or a 0-d tensor (differentiable)."""
    if isinstance(value, Tensor):
        if value._data.ndim:
            raise RuntimeError(f"{fn} only supports a 0-dimensional value tensor, but got tensor with "
                               f"{value._data.ndim} dimension(s).")
        if type(value._data) is not type(x._data):
            value = value.to(x.device)
        return value if value._data.dtype == x._data.dtype else value.to(x.dtype)
    return Tensor._wrap(get_xp(x._data).asarray(value).astype(x._data.dtype))


# -- __getitem__ / __setitem__ -----------------------------------------------------------------
def _seq_as_tuple(seq):
    # torch's treatSequenceAsTuple: a short list holding tensors, slices, None, Ellipsis or
    # sequences is a multi-dim index (deprecated in torch, which warns)
    if len(seq) >= 32:
        return False
    return any(isinstance(i, (Tensor, slice, list, tuple)) or i is None or i is Ellipsis for i in seq)


def _index_items(idx):
    if isinstance(idx, tuple):
        return idx
    if isinstance(idx, list) and _seq_as_tuple(idx):
        warnings.warn("Using a non-tuple sequence for multidimensional indexing is deprecated and will be changed in "
                      "pytorch 2.9; use x[tuple(seq)] instead of x[seq]. In pytorch 2.9 this will be interpreted as "
                      "tensor index, x[torch.tensor(seq)], which will result either in an error or a different "
                      "result", UserWarning, stacklevel=3)
        return tuple(idx)
    return (idx,)


def _as_index_array(i, like):
    """A tensor/list/array index as a backend array; ints and bools only (torch's error otherwise)."""
    if isinstance(i, Tensor):
        a = i._data
        if a.dtype.kind == "b" or a.dtype in (np.int64, np.int32):
            return _arr_on(a, like)
        if a.dtype == np.uint8:
            warnings.warn("indexing with dtype torch.uint8 is now deprecated, please use a dtype torch.bool "
                          "instead.", UserWarning, stacklevel=4)
            return _arr_on(a.astype(bool), like)
        raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
    a = np.asarray(i) if isinstance(i, (list, tuple)) else asnumpy(i)
    if a.size == 0 and a.dtype.kind == "f":
        a = a.astype(np.int64)  # x[[]] selects nothing
    if a.dtype.kind not in "biu":
        raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
    return _arr_on(a, like)


def _parse_index(x, idx):
    """Split a torch index into the basic part (ints select, slices, None: a view) and the advanced
    part (integer arrays placed on the view's dims). Like torch's applySlicing, integers are applied
    first, so they never join the advanced indices (numpy would move x[0, :, [1, 2]]'s dims)."""
    items = []
    for i in _index_items(idx):
        if isinstance(i, Tensor) and i._data.ndim == 0 and i._data.dtype.kind in "iu":
            i = int(i.item())  # torch treats a 0-d integer tensor as an int (a view)
        elif isinstance(i, np.integer):
            i = int(i)
        items.append(i)
    arrs = {}
    used = 0
    for k, i in enumerate(items):
        if isinstance(i, bool) or i is None or i is Ellipsis:
            continue
        if isinstance(i, (int, slice)):
            used += 1
        elif isinstance(i, (Tensor, list, np.ndarray)) or hasattr(i, "__cuda_array_interface__"):
            a = arrs[k] = _as_index_array(i, x)
            used += a.ndim if a.dtype.kind == "b" else 1
        else:
            raise IndexError(f"only integers, slices (`:`), ellipsis (`...`), None and long or byte Variables are "
                             f"valid indices (got {type(i).__name__})")
    shape = x.shape
    if used > len(shape):
        raise IndexError(f"too many indices for tensor of dimension {len(shape)}")
    basic, adv = [], []
    src = dim = 0  # src: the next dim of x; dim: the next dim of the basic view
    ell_done = False
    for k, i in enumerate(items):
        if i is Ellipsis:  # torch: the first Ellipsis takes every spare dim, later ones none
            n = 0 if ell_done else len(shape) - used
            ell_done = True
            basic += [slice(None)] * n
            src += n
            dim += n
        elif i is None:
            basic.append(None)
            dim += 1
        elif isinstance(i, bool):  # torch: unsqueeze, then index the new dim with [0] or []
            basic.append(None)
            adv.append((dim, get_xp(x).arange(1 if i else 0)))
            dim += 1
        elif isinstance(i, int):
            if not -shape[src] <= i < shape[src]:
                raise IndexError(f"index {i} is out of bounds for dimension {src} with size {shape[src]}")
            basic.append(i % shape[src])
            src += 1
        elif isinstance(i, slice):
            if i.step is not None and i.step == 0:
                raise ValueError("slice step cannot be zero")
            if i.step is not None and i.step < 0:
                raise ValueError("step must be greater than zero")
            basic.append(i)
            src += 1
            dim += 1
        else:
            a = arrs[k]
            if a.dtype.kind == "b":
                m = a.ndim
                if a.shape != shape[src:src + m]:
                    bad = next((j for j in range(m) if a.shape[j] != shape[src + j]), 0)
                    raise IndexError(f"The shape of the mask {list(a.shape)} at index {bad} does not match the shape "
                                     f"of the indexed tensor {list(shape)} at index {src + bad}")
                if m == 0:  # a 0-d mask: like a Python bool
                    basic.append(None)
                    adv.append((dim, get_xp(x).arange(1 if bool(a) else 0)))
                    dim += 1
                    continue
                basic += [slice(None)] * m
                for j, nz in enumerate(a.nonzero()):
                    adv.append((dim + j, nz))
                src += m
                dim += m
            else:
                _bounds(a, shape[src], src)
                basic.append(slice(None))
                adv.append((dim, a.astype(np.int64, copy=False)))
                src += 1
                dim += 1
    advanced = None
    if adv:
        advanced = [slice(None)] * dim
        for d, a in adv:
            advanced[d] = a
        advanced = tuple(advanced)
    if all(isinstance(b, slice) and b == slice(None) for b in basic):
        basic = None  # no view needed
    return basic, advanced


def getitem(self, idx):
    """Matches `torch.Tensor.__getitem__`: basic indexing gives a view, advanced indexing a copy; dims
    of advanced indices are placed as torch (and numpy, once integers are applied) place them."""
    if self._data.ndim == 0 and (isinstance(idx, (int, np.integer)) and not isinstance(idx, bool)):
        raise IndexError("invalid index of a 0-dim tensor. Use `tensor.item()` in Python or `tensor.item<T>()` "
                         "in C++ to convert a 0-dim tensor to a number")
    basic, advanced = _parse_index(self._data, idx)
    out = self
    if basic is not None:
        op = _Select if len(basic) == 1 and isinstance(basic[0], int) else _Slice
        out = basic_view(self, tuple(basic), op)
    if advanced is not None:
        out = apply(_Index, out, idx=advanced)
    elif basic is None:
        out = basic_view(self, (), _Slice)  # x[...] / x[:]: an alias view
    return out


def _strip_leading_ones(v):
    # torch's slicePrefix1sDims: setitem drops leading size-1 dims of the value
    s = v._data.shape
    k = 0
    while k < len(s) and s[k] == 1:
        k += 1
    return reshape(v, s[k:]) if k else v


def _value_tensor(self, value):
    if isinstance(value, Tensor):
        if type(value._data) is not type(self._data):
            if value._data.ndim:
                raise _device_error(self, value)
            value = value.to(self.device)
        if value._data.dtype != self._data.dtype:
            value = value.to(self.dtype)
        return _strip_leading_ones(value)
    if not isinstance(value, (int, float, bool, np.number, np.bool_)):
        raise TypeError(f"can't assign a {type(value).__name__} to a {self.type()}")
    return Tensor._wrap(get_xp(self._data).asarray(value).astype(self._data.dtype))


def _assign(s, v):
    """The new value of a basic-indexed region: ``v`` broadcast to it (torch's copy_ rules)."""
    if v._data.shape != s._data.shape and len(v._data.shape) > len(s._data.shape):
        raise RuntimeError(f"expand({v.type()}{{{list(v._data.shape)}}}, size={list(s._data.shape)}): the number "
                           f"of sizes provided ({s._data.ndim}) must be greater or equal to the number of dimensions "
                           f"in the tensor ({v._data.ndim})")
    return v


def setitem(self, idx, value):
    """Matches `torch.Tensor.__setitem__`: copy_ into the basic view, index_put_ for advanced indices,
    both in-place with torch's autograd rules (CopySlices through views)."""
    basic, advanced = _parse_index(self._data, idx)
    target = self
    if basic is not None or advanced is None:  # x[...] = v writes through an alias view too
        op = _Select if basic and len(basic) == 1 and isinstance(basic[0], int) else _Slice
        target = basic_view(self, tuple(basic or ()), op)
    v = _value_tensor(self, value)
    if advanced is None:
        inplace(target, _assign, v)
    else:
        inplace(target, lambda s, w: apply(_IndexPut, s, w, idx=advanced, accumulate=False), v)


def _indices_tuple(x, indices):
    """index_put's tuple of index tensors (None = a full slice) as an advanced numpy index."""
    out = []
    src = 0
    for i in indices:
        if i is None:
            out.append(slice(None))
            src += 1
            continue
        a = _as_index_array(i, x)
        if a.dtype.kind == "b":
            m = a.ndim
            if a.shape != x.shape[src:src + m]:
                raise IndexError(f"The shape of the mask {list(a.shape)} at index 0 does not match the shape of the "
                                 f"indexed tensor {list(x.shape)} at index {src}")
            out.extend(a.nonzero())
            src += m
        else:
            if src >= x.ndim:
                raise IndexError(f"too many indices for tensor of dimension {x.ndim}")
            _bounds(a, x.shape[src], src)
            out.append(a.astype(np.int64, copy=False))
            src += 1
    if src > x.ndim:
        raise IndexError(f"too many indices for tensor of dimension {x.ndim}")
    return tuple(out)


def index_put(input, indices, values, accumulate=False):  # noqa: A002
    """Matches `torch.index_put` (indices: a tuple of index tensors; repeated indices accumulate when
    ``accumulate``)."""
    idx = _indices_tuple(input._data, tuple(indices))
    v = _value_tensor(input, values)
    return apply(_IndexPut, input, v, idx=idx, accumulate=bool(accumulate))


def index_put_(input, indices, values, accumulate=False):  # noqa: A002
    """Matches `torch.Tensor.index_put_`."""
    return inplace(input, lambda s, v: index_put(s, indices, v, accumulate), values)


# -- gather / scatter --------------------------------------------------------------------------
def _positions(index, dim, like):
    """The advanced index that addresses, for every element of ``index``, the position it names along
    ``dim`` and its own position along the other dims (torch's gather/scatter addressing)."""
    xp = get_xp(like)
    a = _arr_on(index, like).astype(np.int64, copy=False)
    n = a.ndim
    return tuple(a if d == dim else xp.arange(a.shape[d]).reshape((-1,) + (1,) * (n - d - 1))
                 for d in range(n))


def _check_gather_like(x, dim, a, fn, src=None):
    """torch's gather/scatter shape rules; returns the wrapped dim."""
    nd = max(x._data.ndim, 1)
    d = _wrap_dim(dim, nd)
    if max(a.ndim, 1) != nd:
        raise RuntimeError("Index tensor must have the same number of dimensions as input tensor")
    xs = x._data.shape or (1,)
    ish = a.shape or (1,)
    if src is None:
        for j in range(nd):
            if j != d and ish[j] > xs[j]:
                raise RuntimeError(f"Size does not match at dimension {j} expected index {list(ish)} to be no larger "
                                   f"than self {list(xs)} apart from dimension {d}")
    else:
        ss = src._data.shape or (1,)
        if max(src._data.ndim, 1) != nd:
            raise RuntimeError("Index tensor must have the same number of dimensions as src tensor")
        if any((j != d and ish[j] > xs[j]) or ish[j] > ss[j] for j in range(nd)):
            raise RuntimeError(f"Expected index {list(ish)} to be no larger than self {list(xs)} apart from "
                               f"dimension {d} and to be no larger size than src {list(ss)}")
    if a.size and (int(a.min()) < 0 or int(a.max()) >= xs[d]):  # gather/scatter take no negative indices
        bad = int(a.min()) if int(a.min()) < 0 else int(a.max())
        raise RuntimeError(f"index {bad} is out of bounds for dimension {d} with size {xs[d]}")
    return d


def _as1d(t):
    return reshape(t, (1,)) if t._data.ndim == 0 else t


def gather(input, dim, index, *, sparse_grad=False, out=None):  # noqa: A002
    """Matches `torch.gather` (repeated indices accumulate gradient)."""
    a = _index_arg(index, "gather")
    d = _check_gather_like(input, dim, a, "gather")
    pos = _positions(a.reshape(a.shape or (1,)), d, input._data)
    r = apply(_Gather, _as1d(input), idx=pos)
    return write_out(reshape(r, a.shape) if not a.ndim else r, out, "gather")


def _src_region(src, shape):
    """src[:i0, :i1, ...]: the part of src a scatter reads (src may be larger than index)."""
    if src._data.shape == shape:
        return src
    return basic_view(src, tuple(slice(0, n) for n in shape))


def scatter(input, dim, index, src=None, value=None, *, reduce=None):  # noqa: A002
    """Matches `torch.scatter` (src tensor or scalar value; ``reduce='add'|'multiply'`` is forward-only,
    as in torch)."""
    if src is None and value is None:
        raise TypeError("scatter() missing required argument 'src' or 'value'")
    src = value if src is None else src
    a = _index_arg(index, "scatter")
    x1 = _as1d(input)
    a1 = a.reshape(a.shape or (1,))
    if isinstance(src, Tensor):
        _same_dtype(input, src, "scatter")
        d = _check_gather_like(input, dim, a, "scatter", src)
        v = _src_region(_as1d(src), a1.shape)
    else:
        d = _check_gather_like(input, dim, a, "scatter")
        v = _scalar_value(input, src, "scatter")
    pos = _positions(a1, d, input._data)
    if reduce is not None:
        if reduce not in ("add", "multiply"):
            raise RuntimeError("reduce argument must be either add or multiply.")
        if isinstance(src, Tensor):
            warnings.warn("The reduce argument of torch.scatter with Tensor src is deprecated and will be removed in "
                          "a future PyTorch release. Use torch.scatter_reduce instead for more reduction options.",
                          UserWarning, stacklevel=2)
        r = apply(_ScatterLegacyReduce, x1, v, idx=pos, how="sum" if reduce == "add" else "prod")
        return reshape(r, input._data.shape)
    return reshape(apply(_Scatter, x1, v, idx=pos, accumulate=False), input._data.shape)


class _ScatterLegacyReduce:
    node_name = "ScatterBackward1"

    @staticmethod
    def forward(ctx, x, v, idx, how):
        r = x.copy()
        _ufunc_at(r, idx, get_xp(x).broadcast_to(v, x[idx].shape), how)
        return r

    @staticmethod
    def backward(ctx, g):  # as in torch: differentiate scatter_reduce instead
        raise NotImplementedError("the derivative for 'scatter' with a reduce argument is not implemented; use "
                                  "scatter_reduce")


def scatter_add(input, dim, index, src):  # noqa: A002
    """Matches `torch.scatter_add` (repeated indices add up)."""
    a = _index_arg(index, "scatter_add")
    _same_dtype(input, src, "scatter_add")
    d = _check_gather_like(input, dim, a, "scatter_add", src)
    a1 = a.reshape(a.shape or (1,))
    v = _src_region(_as1d(src), a1.shape)
    return reshape(apply(_ScatterAdd, _as1d(input), v, idx=_positions(a1, d, input._data), accumulate=True),
                   input._data.shape)


class _ScatterReduce:
    node_name = "ScatterReduceBackward0"

    @staticmethod
    def forward(ctx, x, src, idx, reduce, include_self):
        ctx.idx, ctx.reduce, ctx.include_self = idx, reduce, include_self
        xp = get_xp(x)
        r = x.copy()
        if not include_self:  # scattered-to positions start from the reduction's identity
            r[idx] = _identity(reduce, x.dtype)
        if reduce == "mean":
            _ufunc_at(r, idx, src, "sum")
            n = xp.ones(x.shape, x.dtype) if include_self else xp.zeros(x.shape, x.dtype)
            _ufunc_at(n, idx, xp.ones(src.shape, x.dtype), "sum")
            n[n == 0] = 1
            ctx.count = n
            # torch: integral means round down (floor division)
            return r / n if x.dtype.kind == "f" else xp.floor_divide(r, n)
        _ufunc_at(r, idx, src, reduce)
        if reduce != "sum":
            ctx.save_for_backward(x, src, r)
        return r

    @staticmethod
    def backward(ctx, g):  # scatter_reduce_backward (FunctionsManual.cpp)
        idx, red = ctx.idx, ctx.reduce
        if red == "sum":
            gx, gs = g, apply(_Index, g, idx=idx)
        elif red == "mean":
            n = Tensor._wrap(ctx.count)
            gx = g / n
            gs = apply(_Index, gx, idx=idx)
        elif red == "prod":
            x, s, y = ctx.saved_tensors
            # products excluding one factor, computed without dividing by a zero factor
            mx = x.masked_fill(x == 0, 1)
            gx = g * _scatter_reduce_idx(mx, s, idx, red, ctx.include_self) / mx
            s_zero = s == 0
            zeros = get_xp(x._data).zeros(x._data.shape, x._data.dtype)
            nz = apply(_IndexPut, zeros, s_zero.to(x.dtype), idx=idx, accumulate=True)
            if is_grad_enabled() and bool((nz._data > 1).any()):
                # torch refuses (its formula has no defined second derivative there)
                raise RuntimeError("Double backward is unsupported for src when >1 zeros in src are scattered to "
                                   "the same position. This behavior is undefined, so prefer to not use "
                                   "double backward here.")
            single = s_zero & (apply(_Index, nz, idx=idx) == 1)
            ms = s.masked_fill(single, 1)
            gs = _where(single, apply(_Index, g * _scatter_reduce_idx(x, ms, idx, red, ctx.include_self), idx=idx),
                        apply(_Index, g * y, idx=idx) / s.masked_fill(s_zero, 1))
        else:  # amax / amin: ties share the gradient evenly, self included
            x, s, y = ctx.saved_tensors
            x_is = (x == y).to(x.dtype)
            s_is = (s == apply(_Index, y, idx=idx)).to(x.dtype)
            gd = g / apply(_IndexPut, x_is, s_is, idx=idx, accumulate=True)
            gx = x_is * gd
            gs = s_is * apply(_Index, gd, idx=idx)
        if not ctx.include_self:
            gx = apply(_IndexPut, gx, get_xp(g._data).zeros((), g._data.dtype), idx=idx, accumulate=False)
        return gx, gs


def _identity(reduce, npdt):
    if reduce in ("sum", "mean"):
        return 0
    if reduce == "prod":
        return 1
    if npdt.kind == "f":
        return -np.inf if reduce == "amax" else np.inf
    info = np.iinfo(npdt)
    return info.min if reduce == "amax" else info.max


def _where(c, a, b):
    from .elementwise import where  # noqa: PLC0415 - elementwise is loaded before any backward runs
    return where(c, a, b)


def _scatter_reduce_idx(x, src, idx, reduce, include_self):
    return apply(_ScatterReduce, x, src, idx=idx, reduce=reduce, include_self=include_self)


def scatter_reduce(input, dim, index, src, reduce, *, include_self=True):  # noqa: A002
    """Matches `torch.scatter_reduce` (sum, prod, mean, amax, amin; ``include_self``; torch also takes
    'max'/'min' for amax/amin)."""
    reduce = {"max": "amax", "min": "amin"}.get(reduce, reduce)
    if reduce not in ("sum", "prod", "mean", "amax", "amin"):
        raise RuntimeError(f"reduce argument must be either sum, prod, mean, amax or amin, got {reduce}")
    a = _index_arg(index, "scatter_reduce")
    _same_dtype(input, src, "scatter_reduce")
    d = _check_gather_like(input, dim, a, "scatter_reduce", src)
    a1 = a.reshape(a.shape or (1,))
    v = _src_region(_as1d(src), a1.shape)
    r = _scatter_reduce_idx(_as1d(input), v, _positions(a1, d, input._data), reduce, bool(include_self))
    return reshape(r, input._data.shape)


def take_along_dim(input, indices, dim=None, *, out=None):  # noqa: A002
    """Matches `torch.take_along_dim` (broadcasts input and indices outside ``dim``)."""
    if indices._data.dtype != np.int64:
        raise RuntimeError(f"torch.take_along_dim(): dtype of indices should be Long but got "
                           f"{_type_word(indices._data.dtype)}")
    if dim is None:
        return write_out(gather(reshape(input, (-1,)), 0, reshape(indices, (-1,))), out, "take_along_dim")
    xs, js = input._data.shape, indices._data.shape
    if len(xs) != len(js):
        raise RuntimeError(f"torch.take_along_dim(): input and indices should have the same number of dimensions, "
                           f"but got {len(xs)} dimensions for input, and {len(js)} dimensions for indices")
    d = _wrap_dim(dim, len(xs))
    b = list(np.broadcast_shapes(tuple(1 if j == d else n for j, n in enumerate(xs)),
                                 tuple(1 if j == d else n for j, n in enumerate(js))))
    x = expand(input, *[xs[d] if j == d else n for j, n in enumerate(b)])
    i = expand(indices, *[js[d] if j == d else n for j, n in enumerate(b)])
    return write_out(gather(x, d, i), out, "take_along_dim")


# -- index_select / index_add / index_copy / index_fill ----------------------------------------
def _dim_index(x, dim, index, fn, long_only=False):
    """Validated (dim, 1-D index array) for the index_* family (0-d tensors act as 1-element 1-D)."""
    if long_only:
        a = _long_index(index, fn, IndexError if fn == "index_fill_" else RuntimeError)
    else:
        a = _index_arg(index, fn, what="int32 or int64" if fn == "index_select" else "int32/int64")
    if a.ndim > 1:
        raise IndexError(f"{fn}(): Index is supposed to be a vector")
    d = _wrap_dim(dim, x._data.ndim)
    return d, a.reshape(-1)


def _dim_pos(x, d, a):
    return (slice(None),) * d + (_arr_on(a, x._data).astype(np.int64, copy=False),)


def index_select(input, dim, index, *, out=None):  # noqa: A002
    """Matches `torch.index_select` (repeated indices accumulate gradient)."""
    d, a = _dim_index(input, dim, index, "index_select")
    x = _as1d(input)
    n = x._data.shape[d]
    if input._data.ndim == 0 and a.size != 1:
        raise RuntimeError(f"index_select(): Index to scalar can have only 1 value, got {a.size} value(s)")
    if a.size and (int(a.min()) < 0 or int(a.max()) >= n):
        bad = int(a.max()) if int(a.max()) >= n else int(a.min())
        raise RuntimeError(f"INDICES element is out of DATA bounds, id={bad} axis_dim={n}")
    r = apply(_IndexSelect, x, idx=_dim_pos(x, d, a))
    return write_out(reshape(r, ()) if input._data.ndim == 0 else r, out, "index_select")


def _check_source(x, d, a, source, fn):
    xs, ss = x._data.shape, source._data.shape
    if len(ss) > 0 and (len(ss) != len(xs) or any(p != q for j, (p, q) in enumerate(zip(xs, ss)) if j != d)):
        raise RuntimeError(f"source tensor shape must match self tensor shape, excluding the specified dimension. "
                           f"Got self.shape = {list(xs)} source.shape = {list(ss)}")
    if a.size != (ss[d] if ss else 1):
        raise RuntimeError(f"{fn}(): Number of indices ({a.size}) should be equal to source.size(dim): "
                           f"({ss[d] if ss else 1}), for dim: {d}")


def index_add(input, dim, index, source, *, alpha=1):  # noqa: A002
    """Matches `torch.index_add` (self + alpha * source scattered along ``dim``; repeats add up)."""
    d, a = _dim_index(input, dim, index, "index_add_")
    if source._data.dtype != input._data.dtype:
        raise RuntimeError(f"index_add_(): self ({_type_word(input._data.dtype)}) and source "
                           f"({_type_word(source._data.dtype)}) must have the same scalar type")
    _check_source(input, d, a, source, "index_add_")
    x = _as1d(input)
    _bounds(a, x._data.shape[d], d, RuntimeError)
    v = _as1d(source) if alpha == 1 else _as1d(source) * alpha
    return reshape(apply(_IndexAdd, x, v, idx=_dim_pos(x, d, a), accumulate=True), input._data.shape)


def index_copy(input, dim, index, source):  # noqa: A002
    """Matches `torch.index_copy` (with repeated indices the last write wins, torch leaves it
    unspecified)."""
    d, a = _dim_index(input, dim, index, "index_copy_", long_only=True)
    if source._data.dtype != input._data.dtype:
        raise RuntimeError(f"index_copy_(): self and source expected to have the same dtype, but got (self) "
                           f"{_type_word(input._data.dtype)} and (source) {_type_word(source._data.dtype)}")
    _check_source(input, d, a, source, "index_copy_")
    x = _as1d(input)
    _bounds(a, x._data.shape[d], d, IndexError, "index_copy_(): ")
    return reshape(apply(_IndexCopy, x, _as1d(source), idx=_dim_pos(x, d, a), accumulate=False),
                   input._data.shape)


def index_fill(input, dim, index, value):  # noqa: A002
    """Matches `torch.index_fill` (value: a number or a 0-d tensor, which then gets a gradient)."""
    if index._data.dtype != np.int64:
        raise IndexError("index_fill_(): Expected dtype int64 for index.")
    d, a = _dim_index(input, dim, index, "index_fill_", long_only=True)
    x = _as1d(input)
    _bounds(a, x._data.shape[d], d)
    v = _scalar_value(input, value, "index_fill_")
    # each filled position counts once in the value's gradient (torch: index_select(dim, unique(index)))
    a = get_xp(a).unique(a % max(x._data.shape[d], 1))
    return reshape(apply(_IndexFill, x, v, idx=_dim_pos(x, d, a), accumulate=False), input._data.shape)


# -- masks ---------------------------------------------------------------------------------------
def _bool_mask(mask, fn):
    if not isinstance(mask, Tensor) or mask._data.dtype.kind != "b":
        word = _type_word(mask._data.dtype).lower() if isinstance(mask, Tensor) else type(mask).__name__
        raise RuntimeError(f"{fn} only supports boolean masks, but got mask with dtype {word}")


def masked_fill(input, mask, value):  # noqa: A002
    """Matches `torch.masked_fill` (value: a number or a 0-d tensor, which then gets the gradient of the
    filled positions; mask and input broadcast)."""
    _bool_mask(mask, "masked_fill_")
    v = _scalar_value(input, value, "masked_fill_")
    if type(mask._data) is not type(input._data):
        raise _device_error(input, mask)
    return _where(mask, v, input)


def masked_select(input, mask):  # noqa: A002
    """Matches `torch.masked_select` (a 1-D copy; input and mask broadcast)."""
    if not isinstance(mask, Tensor) or mask._data.dtype.kind != "b":
        raise RuntimeError("masked_select: expected BoolTensor for mask")
    shape = tuple(np.broadcast_shapes(input._data.shape, mask._data.shape))
    x = expand(input, *shape) if input._data.shape != shape else input
    m = _arr_on(mask._data, input._data)
    m = get_xp(m).broadcast_to(m, shape)
    if not shape:
        return apply(_Index, reshape(x, (1,)), idx=(get_xp(m).arange(1 if bool(m) else 0),))
    return apply(_Index, x, idx=tuple(m.nonzero()))


def masked_scatter(input, mask, source):  # noqa: A002
    """Matches `torch.masked_scatter`: masked positions take consecutive elements of ``source``."""
    _bool_mask(mask, "masked_scatter_")
    if source._data.dtype != input._data.dtype:
        raise RuntimeError(f"masked_scatter_: expected self and source to have same dtypes but got "
                           f"{_type_word(input._data.dtype)} and {_type_word(source._data.dtype)}")
    shape = tuple(np.broadcast_shapes(input._data.shape, mask._data.shape))
    x = expand(input, *shape) if input._data.shape != shape else input
    m = _arr_on(mask._data, input._data)
    m = get_xp(m).broadcast_to(m, shape).reshape(-1)
    k = int(m.sum())
    if k > source._data.size:
        raise RuntimeError("Number of elements of source < number of ones in mask")
    vals = basic_view(reshape(source, (-1,)), (slice(0, k),))
    flat = apply(_IndexPut, reshape(x, (-1,)), vals, idx=(m.nonzero()[0],), accumulate=False)
    return reshape(flat, shape)


# -- flat indices: take / put --------------------------------------------------------------------
def _flat_index(input, index, fn):
    a = _long_index(index, fn)
    n = input._data.size
    if a.size and (int(a.max()) >= n or int(a.min()) < -n):
        bad = int(a.max()) if int(a.max()) >= n else int(a.min())
        raise IndexError(f"out of range: tried to access index {bad} on a tensor of {n} elements.")
    return _arr_on(a, input._data)


def take(input, index):  # noqa: A002
    """Matches `torch.take` (flat indices; the result has the shape of ``index``)."""
    a = _flat_index(input, index, "take")
    return apply(_Take, reshape(input, (-1,)), idx=(a,))


def put(input, index, source, accumulate=False):  # noqa: A002
    """Matches `torch.put` (flat indices; ``accumulate`` adds repeated indices up)."""
    a = _flat_index(input, index, "put_")
    if source._data.size != a.size:
        raise RuntimeError(f"put_(): Expected source and index to have the same number of elements, but got "
                           f"source.numel() = {source._data.size}, index.numel() = {a.size}")
    if source._data.dtype != input._data.dtype:
        raise RuntimeError(f"put_(): self and source expected to have the same dtype, but got "
                           f"self.dtype = {_type_word(input._data.dtype)} and source.dtype = "
                           f"{_type_word(source._data.dtype)}")
    flat = apply(_Put, reshape(input, (-1,)), reshape(source, (-1,)), idx=(a.reshape(-1),),
                 accumulate=bool(accumulate))
    return reshape(flat, input._data.shape)


# -- nonzero -------------------------------------------------------------------------------------
def nonzero(input, *, out=None, as_tuple=False):  # noqa: A002
    """Matches `torch.nonzero` (int64 (n, ndim), or a tuple of 1-D index tensors with ``as_tuple``)."""
    d = input._data
    xp = get_xp(d)
    if as_tuple:
        return tuple(Tensor._wrap(a.astype(np.int64)) for a in xp.nonzero(d.reshape(d.shape or (1,))))
    if d.ndim == 0:
        return write_out(Tensor._wrap(xp.zeros((int(bool(d)), 0), dtype=np.int64)), out, "nonzero")
    return write_out(Tensor._wrap(xp.stack(xp.nonzero(d), axis=1).astype(np.int64).reshape(-1, d.ndim)), out, "nonzero")


def argwhere(input):  # noqa: A002
    """Matches `torch.argwhere`."""
    return nonzero(input)


def _ip(fn):
    def method(self, *args, **kwargs):
        return inplace(self, fn, *args, **kwargs)
    method.__name__ = fn.__name__ + "_"
    return method


def _scatter_method(self, dim, index, src=None, value=None, *, reduce=None):
    return scatter(self, dim, index, src, value, reduce=reduce)


def _scatter_inplace(self, dim, index, src=None, value=None, *, reduce=None):
    return inplace(self, lambda s: scatter(s, dim, index, src, value, reduce=reduce))


register_methods({
    "__getitem__": getitem, "__setitem__": setitem, "index_put": index_put, "index_put_": index_put_,
    "gather": gather, "scatter": _scatter_method, "scatter_": _scatter_inplace,
    "scatter_add": scatter_add, "scatter_add_": _ip(scatter_add),
    "scatter_reduce": scatter_reduce, "scatter_reduce_": _ip(scatter_reduce),
    "take_along_dim": take_along_dim, "index_select": index_select, "index_add": index_add,
    "index_add_": _ip(index_add), "index_copy": index_copy, "index_copy_": _ip(index_copy),
    "index_fill": index_fill, "index_fill_": _ip(index_fill), "masked_fill": masked_fill,
    "masked_fill_": _ip(masked_fill), "masked_select": masked_select, "masked_scatter": masked_scatter,
    "masked_scatter_": _ip(masked_scatter), "take": take, "put": put, "put_": _ip(put), "nonzero": nonzero,
    "argwhere": argwhere,
})

__all__ = ["index_put", "index_put_", "gather", "scatter", "scatter_add", "scatter_reduce", "take_along_dim",
           "index_select", "index_add", "index_copy", "index_fill", "masked_fill", "masked_select",
           "masked_scatter", "take", "put", "nonzero", "argwhere"]
