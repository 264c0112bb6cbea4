"""Reductions, scans and selections. Backward rules restore the reduced dims and expand; ties follow
torch (amax/amin and the full max/min/median share evenly; max/min(dim), sort, topk, kthvalue, median(dim),
mode and cummax/cummin send the gradient to the returned index).

Which index is returned among ties (torch on CPU): max/min(dim) and argmax/argmin the first occurrence
(the first NaN when there is one); sort, argsort, topk, kthvalue, median(dim) and nanmedian(dim) the
position a stable sort gives (NaN sorts as the largest value); mode the last occurrence of the most
frequent value (the smallest such value); cummax/cummin the latest occurrence. torch guarantees the
stable order only for sort(stable=True) and median(dim): its sort, topk and kthvalue on longer rows,
and mode on rows of 16 or more, may pick another of the tied indices; the values always agree.
"""
from __future__ import annotations

import builtins
import math
import warnings
from collections import namedtuple

import numpy as np

from .. import _dtypes
from .._backend import get_xp
from .._tensor import Tensor, _wrap_dim, register_methods
from ..autograd.grad_mode import state as _grad_state
from ..autograd.graph import apply
from ._core import inplace, to_float
from .elementwise import maximum, minimum, where
from .indexing import index_add_at
from .linalg import svdvals


def norm_dims(dim, ndim):
    """None -> all dims; int or sequence -> sorted tuple of wrapped dims (torch's rules)."""
    if dim is None:
        return tuple(range(ndim))
    if isinstance(dim, (int, np.integer)):
        return (_wrap_dim(int(dim), ndim),)
    dims = tuple(_wrap_dim(int(d), ndim) for d in dim)
    if len(set(dims)) != len(dims):
        raise RuntimeError(f"dim {dims[0]} appears multiple times in the list of dims")
    if not dims:
        return tuple(range(ndim))
    return tuple(sorted(dims))


def restore_dims(g, in_shape, dims, keepdim):
    """Unsqueeze the reduced dims of ``g`` back (torch's restore_reduced_dims)."""
    if keepdim or not dims:
        return g
    shape = list(in_shape)
    for d in dims:
        shape[d] = 1
    return g.reshape(tuple(shape))


def _acc_dtype(npdt):
    # torch: integral sums accumulate in int64; float16 accumulates in float32
    if npdt.kind in "iub":
        return np.dtype(np.int64)
    return npdt


class _Sum:
    node_name = "SumBackward1"

    @staticmethod
    def forward(ctx, x, dims, keepdim, out_dt):
        ctx.in_shape, ctx.dims, ctx.keepdim = x.shape, dims, keepdim
        acc = np.float32 if x.dtype == np.float16 else out_dt
        r = get_xp(x).sum(x, axis=dims, keepdims=keepdim, dtype=acc)
        return get_xp(x).asarray(r, dtype=out_dt)

    @staticmethod
    def backward(ctx, g):  # grad.expand(self.sizes()) after restoring the reduced dims
        return restore_dims(g, ctx.in_shape, ctx.dims, ctx.keepdim).expand(*ctx.in_shape)


class _SumAll(_Sum):
    node_name = "SumBackward0"  # torch names the dim-less overload apart


class _Mean(_Sum):
    """sum / n as one node (torch's MeanBackward1; MeanBackward0 without dim): grad.expand / n."""

    node_name = "MeanBackward1"

    @staticmethod
    def forward(ctx, x, dims, keepdim, out_dt):
        s = _Sum.forward(ctx, x, dims, keepdim, out_dt)
        n = 1
        for k in dims:
            n *= x.shape[k]
        ctx.n = n
        with np.errstate(invalid="ignore", divide="ignore"):  # torch: the mean of nothing is nan
            return get_xp(x).asarray(s / s.dtype.type(n), dtype=out_dt)

    @staticmethod
    def backward(ctx, g):  # mean_backward: grad.expand(sizes) / numel
        return _Sum.backward(ctx, g) / ctx.n


class _MeanAll(_Mean):
    node_name = "MeanBackward0"


def sum(input, dim=None, keepdim=False, *, dtype=None):  # noqa: A001,A002
    """Matches `torch.sum` (integral/bool inputs sum to int64)."""
    d = input._data
    dims = norm_dims(dim, d.ndim) if d.ndim else ()
    out_dt = dtype.np if dtype is not None else _acc_dtype(d.dtype)
    if dtype is not None and d.dtype != out_dt:
        input = input.to(dtype)
    return apply(_SumAll if dim is None else _Sum, input, dims=dims, keepdim=keepdim, out_dt=out_dt)


def nansum(input, dim=None, keepdim=False, *, dtype=None):  # noqa: A002
    """Matches `torch.nansum`: NaNs count as zero (and get zero gradient)."""
    if input._data.dtype.kind != "f":
        return sum(input, dim, keepdim, dtype=dtype)
    return sum(where(input.isnan(), 0.0, input), dim, keepdim, dtype=dtype)


def mean(input, dim=None, keepdim=False, *, dtype=None):  # noqa: A002
    """Matches `torch.mean` (floating inputs only, unless dtype is given)."""
    if dtype is not None:
        input = input.to(dtype)
    if input._data.dtype.kind != "f":
        raise RuntimeError(
            "mean(): could not infer output dtype. Input dtype must be either a floating point or complex "
            f"dtype. Got: {_dtypes._NP2DT[input._data.dtype].name.capitalize().replace('Int64', 'Long')}")
    d = input._data
    dims = norm_dims(dim, d.ndim) if d.ndim else ()
    return apply(_MeanAll if dim is None else _Mean, input, dims=dims, keepdim=keepdim, out_dt=d.dtype)


def _sum_to(self, shape):
    """Sum ``self`` down to ``shape`` (trailing-aligned broadcast), the engine's unbroadcast."""
    s = self._data.shape
    if s == shape:
        return self
    lead = len(s) - len(shape)
    dims = tuple(range(lead)) + tuple(i + lead for i, n in enumerate(shape) if n == 1 and s[i + lead] != 1)
    r = apply(_Sum, self, dims=dims, keepdim=True, out_dt=self._data.dtype)
    return r.reshape(shape) if r._data.shape != shape else r


def _evenly(g, x, y, dims, keepdim):
    """torch's evenly_distribute / amax backward: ties share the gradient equally."""
    in_shape = x._data.shape
    y = restore_dims(y, in_shape, dims, keepdim)
    g = restore_dims(g, in_shape, dims, keepdim)
    mask = (x == y)
    count = mask.sum(dims if dims else None, keepdim=True)
    return mask * (g / count)


class _AMax:
    node_name = "AmaxBackward0"

    @staticmethod
    def forward(ctx, x, dims, keepdim, is_max):
        xp = get_xp(x)
        for d in dims:
            if x.shape[d] == 0:
                raise IndexError(f"{'amax' if is_max else 'amin'}(): Expected reduction dim {d} to have non-zero size.")
        ctx.dims, ctx.keepdim = dims, keepdim
        y = (xp.max if is_max else xp.min)(x, axis=dims, keepdims=keepdim)
        y = xp.asarray(y)
        ctx.save_for_backward(x, y)
        return y

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        return _evenly(g, x, y, ctx.dims, ctx.keepdim)


def _amax_amin(name, input, dim, keepdim, is_max):
    d = input._data
    if d.size == 0 and (dim == () or dim is None):
        raise RuntimeError(f"{name}(): Expected reduction dim to be specified for input.numel() == 0. Specify the "
                           "reduction dim with the 'dim' argument.")
    dims = norm_dims(dim if dim != () else None, d.ndim) if d.ndim else ()
    return apply(_AMax, input, dims=dims, keepdim=keepdim, is_max=is_max)


def amax(input, dim=(), keepdim=False):  # noqa: A002
    """Matches `torch.amax`: ties share the gradient evenly."""
    return _amax_amin("amax", input, dim, keepdim, True)


def amin(input, dim=(), keepdim=False):  # noqa: A002
    """Matches `torch.amin`: ties share the gradient evenly."""
    return _amax_amin("amin", input, dim, keepdim, False)


class _Softmax:
    node_name = "SoftmaxBackward0"

    @staticmethod
    def forward(ctx, x, dim, log):
        xp = get_xp(x)
        ctx.dim, ctx.log = dim, log
        if x.size == 0:
            y = x.copy()
            ctx.save_for_backward(y)  # the backward still unpacks its output (empty too)
            return y
        m = xp.max(x, axis=dim, keepdims=True)
        m = xp.where(xp.isfinite(m), m, 0)
        z = x - m
        with np.errstate(divide="ignore", invalid="ignore"):
            if log:
                y = z - xp.log(xp.sum(xp.exp(z), axis=dim, keepdims=True))
            else:
                e = xp.exp(z)
                y = e / xp.sum(e, axis=dim, keepdims=True)
        y = y.astype(x.dtype, copy=False)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        d = ctx.dim
        if ctx.log:
            # _log_softmax_backward_data: grad - exp(output) * grad.sum(dim, keepdim=True)
            return g - y.exp() * g.sum(d, keepdim=True)
        # _softmax_backward_data: output * (grad - (grad * output).sum(dim, keepdim=True))
        return y * (g - (g * y).sum(d, keepdim=True))


def _softmax(input, dim, dtype, log):  # noqa: A002
    name = "log_softmax" if log else "softmax"
    if dim is None:
        # torch.softmax / Tensor.softmax require dim; only F.softmax infers it (refgrad.nn.functional)
        raise TypeError(f"{name}() missing required argument 'dim' (use torch.nn.functional.{name} for the "
                        "legacy implicit dim)")
    if dtype is not None:
        input = input.to(dtype)  # noqa: A001
    if input._data.dtype.kind != "f":
        raise RuntimeError(f'"{name}_lastdim_kernel_impl" not implemented for '
                           f"'{_TYPE_WORDS[input._data.dtype.name]}'")
    n = input._data.ndim
    return apply(_Softmax, input, dim=_wrap_dim(dim, n) if n else None, log=log)


_TYPE_WORDS = {"int64": "Long", "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte", "bool": "Bool"}


def softmax(input, dim=None, dtype=None):  # noqa: A002
    """Matches `torch.softmax` (dim required, as in torch; F.softmax infers a legacy default)."""
    return _softmax(input, dim, dtype, log=False)


def log_softmax(input, dim=None, dtype=None):  # noqa: A002
    """Matches `torch.log_softmax` (dim required, as in torch)."""
    return _softmax(input, dim, dtype, log=True)


# -- helpers shared by the ops below -------------------------------------------------------------
def _reduce_dims(x, dim):
    """Dims reduced by a sum-like op: 0-d tensors reduce over nothing."""
    return norm_dims(dim, x._data.ndim) if x._data.ndim else ()


def _numel(shape, dims):
    return math.prod(shape[d] for d in dims)


def _type_name(npdt):
    return {"float32": "Float", "float64": "Double", "float16": "Half", "int64": "Long", "int32": "Int",
            "int16": "Short", "int8": "Char", "uint8": "Byte", "bool": "Bool"}[np.dtype(npdt).name]


def _along(xp, n, dim, shape_len):
    """arange(n) shaped to broadcast along ``dim`` of a ``shape_len``-D array."""
    shape = [1] * shape_len
    shape[dim] = n
    return xp.arange(n).reshape(shape)


def _index_along(xp, idx, dim):
    """The full advanced index that addresses ``x[..., idx, ...]`` elementwise along ``dim`` (gather's pattern)."""
    n = idx.ndim
    return tuple(idx if a == dim else _along(xp, s, a, n) for a, s in enumerate(idx.shape))


def _argsort(x, dim, descending):
    """Stable argsort along ``dim`` (NaN last ascending, first descending, as torch orders it)."""
    xp = get_xp(x)
    kw = {"kind": "stable"} if xp is np else {}  # cupy's sort is always stable
    if not descending:
        return xp.argsort(x, axis=dim, **kw)
    # reverse, sort stably, reverse back: descending order with ties kept in their original order
    order = xp.argsort(xp.flip(x, dim), axis=dim, **kw)
    return (x.shape[dim] - 1) - xp.flip(order, dim)


def _running(name, x, axis):
    """np.maximum/np.minimum.accumulate along ``axis``. CuPy has no ufunc.accumulate: there a log-step
    (Hillis-Steele) scan, each step combining every element with the one 2^k places before it."""
    xp = get_xp(x)
    fn = getattr(xp, name)
    if xp is np:
        return fn.accumulate(x, axis=axis)
    y, n, k = x.copy(), x.shape[axis], 1
    head = [slice(None)] * x.ndim
    while k < n:
        dst, src = list(head), list(head)
        dst[axis], src[axis] = slice(k, None), slice(0, n - k)
        y[tuple(dst)] = fn(y[tuple(dst)], y[tuple(src)])
        k *= 2
    return y


def _check_nonempty(name, x, dim):
    if x.ndim and x.shape[dim] == 0:
        raise IndexError(f"{name}(): Expected reduction dim {dim} to have non-zero size.")


# -- selections: the value comes from one input element, the gradient goes back to it ------------
class _TakeAlong:
    """values = x.gather(dim, idx), squeezing ``dim`` unless keepdim. Backward scatters the gradient to the
    selected elements (torch's value_selecting_reduction_backward, sort/topk/cummax backward)."""

    node_name = "GatherBackward0"

    @staticmethod
    def forward(ctx, x, idx, dim, keepdim):
        ctx.idx, ctx.dim, ctx.keepdim, ctx.in_shape = idx, dim, keepdim, x.shape
        if x.ndim == 0:
            return x.copy()
        y = get_xp(x).take_along_axis(x, idx, axis=dim)
        return y if keepdim else y.squeeze(dim)

    @staticmethod
    def backward(ctx, g):
        if ctx.in_shape and not ctx.keepdim:
            g = g.unsqueeze(ctx.dim)
        return apply(_ScatterAlong, g, idx=ctx.idx, dim=ctx.dim, shape=ctx.in_shape)


class _ScatterAlong:
    """zeros(shape).scatter_add_(dim, idx, g); its backward gathers again."""

    node_name = "ScatterAddBackward0"

    @staticmethod
    def forward(ctx, g, idx, dim, shape):
        ctx.idx, ctx.dim = idx, dim
        if g.ndim == 0:
            return g.copy()
        xp = get_xp(g)
        return index_add_at(xp.zeros(shape, dtype=g.dtype), _index_along(xp, idx, dim), g)

    @staticmethod
    def backward(ctx, gg):
        return apply(_TakeAlong, gg, idx=ctx.idx, dim=ctx.dim, keepdim=True)


def _selector(node_name):
    return type(node_name, (_TakeAlong,), {"node_name": node_name})


_MaxDim, _MinDim, _Sort, _Topk = map(_selector, ("MaxBackward0", "MinBackward0", "SortBackward0", "TopkBackward0"))
_Kthvalue, _MedianDim, _NanmedianDim, _Mode = map(_selector, ("KthvalueBackward0", "MedianBackward1",
                                                            "NanmedianBackward1", "ModeBackward0"))
_Cummax, _Cummin = map(_selector, ("CummaxBackward0", "CumminBackward0"))


def _values_indices(rtype, op, input, idx, dim, keepdim):
    """(values, indices) from indices ``idx`` computed along ``dim`` with that dim kept."""
    values = apply(op, input, idx=idx, dim=dim, keepdim=keepdim)
    if input._data.ndim and not keepdim:
        idx = idx.squeeze(dim)
    return rtype(values, Tensor._wrap(idx.astype(np.int64, copy=False)))


def _zero_index(x):
    return get_xp(x).zeros((), dtype=np.int64)


max_t = namedtuple("max", ["values", "indices"])
min_t = namedtuple("min", ["values", "indices"])
sort_t = namedtuple("sort", ["values", "indices"])
topk_t = namedtuple("topk", ["values", "indices"])
kthvalue_t = namedtuple("kthvalue", ["values", "indices"])
median_t = namedtuple("median", ["values", "indices"])
nanmedian_t = namedtuple("nanmedian", ["values", "indices"])
mode_t = namedtuple("mode", ["values", "indices"])
cummax_t = namedtuple("cummax", ["values", "indices"])
cummin_t = namedtuple("cummin", ["values", "indices"])
aminmax_t = namedtuple("aminmax", ["min", "max"])


class _EvenAll:
    """A full reduction that picks one value of x (max, min, median, nanmedian). The gradient is shared
    evenly by the elements equal to it, NaN matching NaN (torch's evenly_distribute_backward)."""

    node_name = "MaxBackward1"

    @staticmethod
    def forward(ctx, x, pick):
        y = get_xp(x).asarray(pick(x), dtype=x.dtype)
        ctx.save_for_backward(x, y)
        return y

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        mask = (x == y) | (x.isnan() & y.isnan()) if x._data.dtype.kind == "f" else x == y
        return mask * (g / mask.sum())


_MaxAll = _EvenAll
_MinAll, _MedianAll, _NanmedianAll = (type(n, (_EvenAll,), {"node_name": n}) for n in (
    "MinBackward1", "MedianBackward0", "NanmedianBackward0"))


def _max_min(name, input, dim, keepdim, other, is_max):
    if isinstance(dim, Tensor) or other is not None:
        return (maximum if is_max else minimum)(input, dim if other is None else other)
    x = input._data
    xp = get_xp(x)
    if dim is None:
        if keepdim:
            raise TypeError(f"{name}() received an invalid combination of arguments: keepdim needs dim")
        if x.size == 0:
            raise RuntimeError(f"{name}(): Expected reduction dim to be specified for input.numel() == 0. "
                               "Specify the reduction dim with the 'dim' argument.")
        return apply(_MaxAll if is_max else _MinAll, input, pick=xp.max if is_max else xp.min)
    d = _wrap_dim(dim, x.ndim)
    _check_nonempty(name, x, d)
    idx = (xp.argmax if is_max else xp.argmin)(x, axis=d, keepdims=True) if x.ndim else _zero_index(x)
    return _values_indices(max_t if is_max else min_t, _MaxDim if is_max else _MinDim, input, idx, d, keepdim)


def max(input, dim=None, keepdim=False, *, other=None):  # noqa: A001,A002
    """Matches `torch.max`: max(input) (ties share the gradient evenly), max(input, dim, keepdim) ->
    (values, indices) with the first maximal index (the gradient goes to it), max(input, other) = maximum."""
    return _max_min("max", input, dim, keepdim, other, True)


def min(input, dim=None, keepdim=False, *, other=None):  # noqa: A001,A002
    """Matches `torch.min` (see `max`)."""
    return _max_min("min", input, dim, keepdim, other, False)


def _arg_extreme(name, input, dim, keepdim, is_max):
    x = input._data
    if x.dtype.kind == "b":
        raise RuntimeError(f"{name}(): does not support bool input")
    xp = get_xp(x)
    fn = xp.argmax if is_max else xp.argmin
    if dim is None:
        if x.size == 0:
            raise IndexError(f"{name}(): Expected reduction dim to be specified for input.numel() == 0.")
        r = xp.asarray(fn(x.reshape(-1)), dtype=np.int64)
        return Tensor._wrap(r.reshape((1,) * x.ndim) if keepdim else r)
    if not isinstance(dim, (int, np.integer)):
        raise TypeError(f"{name}(): argument 'dim' (position 1) must be int, not {type(dim).__name__}")
    d = _wrap_dim(int(dim), x.ndim)
    _check_nonempty(name, x, d)
    if x.ndim == 0:
        return Tensor._wrap(_zero_index(x))
    return Tensor._wrap(xp.asarray(fn(x, axis=d, keepdims=keepdim), dtype=np.int64))


def argmax(input, dim=None, keepdim=False):  # noqa: A002
    """Matches `torch.argmax`: the first maximal index (the first NaN if any); dim=None flattens."""
    return _arg_extreme("argmax", input, dim, keepdim, True)


def argmin(input, dim=None, keepdim=False):  # noqa: A002
    """Matches `torch.argmin`: the first minimal index (the first NaN if any); dim=None flattens."""
    return _arg_extreme("argmin", input, dim, keepdim, False)


def aminmax(input, *, dim=None, keepdim=False):  # noqa: A002
    """Matches `torch.aminmax` -> (min, max); ties share the gradient evenly, as in amin/amax."""
    x = input._data
    if x.size == 0 and (dim is None or x.ndim and x.shape[_wrap_dim(dim, x.ndim)] == 0):
        raise RuntimeError("aminmax(): cannot compute aminmax over an empty dimension as the operation has no "
                           "identity.")
    dims = () if dim is None else dim
    return aminmax_t(amin(input, dims, keepdim), amax(input, dims, keepdim))


# -- sort and order statistics -------------------------------------------------------------------
def _sort_dim(input, dim):
    x = input._data
    return x, get_xp(x), _wrap_dim(dim, x.ndim)


def sort(input, dim=-1, descending=False, *, stable=False):  # noqa: A002
    """Matches `torch.sort` -> (values, indices); the gradient goes to the indices. Always stable (torch's
    unstable CPU sort may order ties differently)."""
    x, xp, d = _sort_dim(input, dim)
    idx = _argsort(x, d, descending) if x.ndim else _zero_index(x)
    return _values_indices(sort_t, _Sort, input, idx, d, True)


def argsort(input, dim=-1, descending=False, *, stable=False):  # noqa: A002
    """Matches `torch.argsort` (always stable)."""
    x, xp, d = _sort_dim(input, dim)
    return Tensor._wrap(_argsort(x, d, descending).astype(np.int64, copy=False) if x.ndim else _zero_index(x))


def msort(input):  # noqa: A002
    """Matches `torch.msort`: sort along dim 0."""
    return sort(input, 0).values


def topk(input, k, dim=-1, largest=True, sorted=True):  # noqa: A002
    """Matches `torch.topk` -> (values, indices); always sorted, ties in stable-sort order."""
    x, xp, d = _sort_dim(input, dim)
    if x.dtype.kind == "b":
        raise RuntimeError("topk does not support bool dtypes on CPU")
    size = x.shape[d] if x.ndim else 1
    if not 0 <= k <= size:
        raise RuntimeError("selected index k out of range")
    idx = xp.take(_argsort(x, d, largest), xp.arange(k), axis=d) if x.ndim else _zero_index(x)
    return _values_indices(topk_t, _Topk, input, idx, d, True)


def kthvalue(input, k, dim=-1, keepdim=False):  # noqa: A002
    """Matches `torch.kthvalue` -> (values, indices) of the k-th smallest (1-based)."""
    x, xp, d = _sort_dim(input, dim)
    if x.dtype.kind == "b":
        raise NotImplementedError('"kthvalue_cpu" not implemented for \'Bool\'')
    _check_nonempty("kthvalue", x, d)
    if not 1 <= k <= (x.shape[d] if x.ndim else 1):
        raise RuntimeError(f"kthvalue(): selected number k out of range for dimension {d}")
    idx = xp.take(_argsort(x, d, False), xp.arange(k - 1, k), axis=d) if x.ndim else _zero_index(x)
    return _values_indices(kthvalue_t, _Kthvalue, input, idx, d, keepdim)


def _lower_median(x, ignore_nan):
    """Index (dim kept, last axis) of the lower median of each row of 2-D+ ``x``; NaN rows give their first NaN
    (median) or are skipped (nanmedian)."""
    xp = get_xp(x)
    order = _argsort(x, -1, False)
    n = x.shape[-1]
    if x.dtype.kind != "f":
        return order[..., (n - 1) // 2:(n - 1) // 2 + 1]
    nan = xp.isnan(x)
    if ignore_nan:
        m = n - nan.sum(-1, keepdims=True)
        return xp.take_along_axis(order, xp.maximum(m - 1, 0) // 2, axis=-1)
    idx = order[..., (n - 1) // 2:(n - 1) // 2 + 1]
    return xp.where(nan.any(-1, keepdims=True), xp.argmax(nan, -1, keepdims=True), idx)


def _median(name, input, dim, keepdim, ignore_nan):
    x = input._data
    xp = get_xp(x)
    if x.dtype.kind == "b":
        raise NotImplementedError(f'"{name}_cpu" not implemented for \'Bool\'')
    if dim is None:
        def pick(a):
            if a.size == 0:
                return xp.asarray(np.nan, dtype=a.dtype)
            flat = a.reshape(1, -1)
            return flat[0, _lower_median(flat, ignore_nan)[0, 0]]
        return apply(_NanmedianAll if ignore_nan else _MedianAll, input, pick=pick)
    d = _wrap_dim(dim, x.ndim)
    _check_nonempty(name, x, d)
    if x.ndim == 0:
        idx = _zero_index(x)
    else:
        idx = xp.moveaxis(_lower_median(xp.moveaxis(x, d, -1), ignore_nan), -1, d)
    rtype, op = (nanmedian_t, _NanmedianDim) if ignore_nan else (median_t, _MedianDim)
    return _values_indices(rtype, op, input, idx, d, keepdim)


def median(input, dim=None, keepdim=False):  # noqa: A002
    """Matches `torch.median`: the lower median. Without dim: a value (NaN if any; ties share the gradient
    evenly); with dim: (values, indices), the gradient going to the index."""
    return _median("median", input, dim, keepdim, False)


def nanmedian(input, dim=None, keepdim=False):  # noqa: A002
    """Matches `torch.nanmedian`: the lower median of the non-NaN values (NaN for all-NaN rows)."""
    return _median("nanmedian", input, dim, keepdim, True)


def mode(input, dim=-1, keepdim=False):  # noqa: A002
    """Matches `torch.mode` -> (values, indices): the most frequent value (the smallest among equally
    frequent ones) and its last occurrence."""
    x, xp, d = _sort_dim(input, dim)
    _check_nonempty("mode", x, d)
    if x.ndim == 0:
        return _values_indices(mode_t, _Mode, input, _zero_index(x), d, keepdim)
    xm = xp.moveaxis(x, d, -1)
    order = _argsort(xm, -1, False)
    s = xp.take_along_axis(xm, order, axis=-1)
    n = s.shape[-1]
    pos = xp.arange(n)
    # run lengths in the sorted row, read at the last element of each run
    starts = xp.ones(s.shape, dtype=bool)
    starts[..., 1:] = s[..., 1:] != s[..., :-1]
    ends = xp.ones(s.shape, dtype=bool)
    ends[..., :-1] = starts[..., 1:]
    start_pos = _running("maximum", xp.where(starts, pos, 0), -1)
    length = xp.where(ends, pos - start_pos + 1, 0)
    best = xp.argmax(length, axis=-1, keepdims=True)  # the first longest run holds the smallest value
    idx = xp.moveaxis(xp.take_along_axis(order, best, axis=-1), -1, d)
    return _values_indices(mode_t, _Mode, input, idx, d, keepdim)


def unique(input, sorted=True, return_inverse=False, return_counts=False, dim=None):  # noqa: A002
    """Matches `torch.unique` (always sorted; NaNs stay distinct). Like torch, the values are not
    differentiable: backward through them raises."""
    x = input._data
    d = None if dim is None else _wrap_dim(dim, x.ndim)
    vals, inv, counts = apply(_Unique, input, dim=d)
    out = (vals,) + ((inv,) if return_inverse else ()) + ((counts,) if return_counts else ())
    return out[0] if len(out) == 1 else out


class _Unique:
    node_name = "Unique2Backward0"

    @staticmethod
    def forward(ctx, x, dim):
        ctx.dim = dim
        xp = get_xp(x)
        kw = {"equal_nan": False} if dim is None else {"axis": dim}
        vals, inv, counts = xp.unique(x, return_inverse=True, return_counts=True, **kw)
        inv = inv.reshape(x.shape if dim is None else (-1,)).astype(np.int64, copy=False)
        return vals, inv, counts.astype(np.int64, copy=False)

    @staticmethod
    def backward(ctx, *grads):
        raise NotImplementedError(f"the derivative for '{'_unique2' if ctx.dim is None else 'unique_dim'}' is not "
                                  "implemented.")


# -- scans --------------------------------------------------------------------------------------
class _Flip:
    node_name = "FlipBackward0"

    @staticmethod
    def forward(ctx, x, dim):
        ctx.dim = dim
        return get_xp(x).flip(x, dim).copy()

    @staticmethod
    def backward(ctx, g):
        return apply(_Flip, g, dim=ctx.dim)


def _rcumsum(t, dim):
    """Reversed cumulative sum along dim: flip, cumsum, flip (torch's cumsum_backward)."""
    return apply(_Flip, apply(_Cumsum, apply(_Flip, t, dim=dim), dim=dim, out_dt=t._data.dtype), dim=dim)


class _Cumsum:
    node_name = "CumsumBackward0"

    @staticmethod
    def forward(ctx, x, dim, out_dt):
        ctx.dim = dim
        if x.ndim == 0:
            return x.astype(out_dt)
        return get_xp(x).cumsum(x, axis=dim, dtype=out_dt)

    @staticmethod
    def backward(ctx, g):
        return g if g.ndim == 0 else _rcumsum(g, ctx.dim)


class _Cumprod:
    node_name = "CumprodBackward0"

    @staticmethod
    def forward(ctx, x, dim, out_dt):
        ctx.dim = dim
        y = x.astype(out_dt) if x.ndim == 0 else get_xp(x).cumprod(x, axis=dim, dtype=out_dt)
        ctx.save_for_backward(x, y)
        return y

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        d = ctx.dim
        if x.ndim == 0 or x.shape[d] <= 1:
            return g
        if not bool((x == 0).any()):
            # torch's cumprod_backward without zeros: reversed_cumsum(grad * output) / input
            return _rcumsum(g * y, d) / x
        if _grad_state.enabled:
            return _cumprod_grad_exact(g, x, d)
        return _cumprod_grad_zeros(g, x, y, d)


def _cumprod_grad_zeros(g, x, y, d):
    """First-order cumprod gradient with zeros, O(n) (torch's algorithm): before the first zero of a row the
    no-zero formula holds; at the first zero the gradient is the reversed cumsum of grad times the cumprod
    with that zero replaced by 1; after it the gradient is 0."""
    is_zero = x == 0
    seen = cumsum(is_zero, d)
    before = seen == 0
    first = is_zero & (seen == 1)
    at_first = _rcumsum(g * cumprod(where(first, 1.0, x), d), d)
    return where(before, _rcumsum(g * y, d) / where(before, x, 1.0), where(first, at_first, 0.0))


def _cumprod_grad_exact(g, x, d):
    """cumprod gradient with zeros as a polynomial in x (no division, no branch on the zero pattern), so it
    differentiates exactly again: grad_k = sum_{j >= k} g_j prod_{i <= j, i != k} x_i. O(n^2) along dim;
    used only under create_graph."""
    xp = get_xp(x._data)
    xm, gm = x.movedim(d, -1), g.movedim(d, -1)
    n = xm._data.shape[-1]
    others = where(Tensor._wrap(xp.eye(n, dtype=bool)), 1.0, xm.unsqueeze(-2))  # row k: x with x_k -> 1
    upper = Tensor._wrap(xp.triu(xp.ones((n, n), dtype=bool)))  # j >= k
    return (where(upper, cumprod(others, -1), 0.0) * gm.unsqueeze(-2)).sum(-1).movedim(-1, d)


def _scan_dtype(input, dtype):
    if dtype is not None:
        return input.to(dtype), dtype.np
    return input, _acc_dtype(input._data.dtype)


def cumsum(input, dim, *, dtype=None):  # noqa: A002
    """Matches `torch.cumsum` (integral/bool inputs give int64)."""
    input, out_dt = _scan_dtype(input, dtype)
    return apply(_Cumsum, input, dim=_wrap_dim(dim, input._data.ndim), out_dt=out_dt)


def cumprod(input, dim, *, dtype=None):  # noqa: A002
    """Matches `torch.cumprod`, gradient exact with zeros in the input (also under double backward)."""
    input, out_dt = _scan_dtype(input, dtype)
    return apply(_Cumprod, input, dim=_wrap_dim(dim, input._data.ndim), out_dt=out_dt)


def _cum_extreme(input, dim, is_max):
    x, xp, d = _sort_dim(input, dim)
    rtype, op = (cummax_t, _Cummax) if is_max else (cummin_t, _Cummin)
    if x.ndim == 0:
        return _values_indices(rtype, op, input, _zero_index(x), d, True)
    acc = _running("maximum" if is_max else "minimum", x, d)
    # torch moves the index whenever an element equals the running extreme (ties: the latest) or is NaN
    hit = x == acc
    if x.dtype.kind == "f":
        hit |= xp.isnan(x)
    idx = _running("maximum", xp.where(hit, _along(xp, x.shape[d], d, x.ndim), 0), d)
    return _values_indices(rtype, op, input, idx, d, True)


def cummax(input, dim):  # noqa: A002
    """Matches `torch.cummax` -> (values, indices); the gradient goes to the indices (scatter_add)."""
    return _cum_extreme(input, dim, True)


def cummin(input, dim):  # noqa: A002
    """Matches `torch.cummin` -> (values, indices); the gradient goes to the indices (scatter_add)."""
    return _cum_extreme(input, dim, False)


# -- prod -------------------------------------------------------------------------------------------
class _Prod:
    node_name = "ProdBackward1"

    @staticmethod
    def forward(ctx, x, dims, keepdim, out_dt):
        ctx.dims, ctx.keepdim = dims, keepdim
        y = get_xp(x).asarray(get_xp(x).prod(x, axis=dims, keepdims=keepdim, dtype=out_dt))
        ctx.save_for_backward(x, y)
        return y

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        if x.ndim == 0:
            return g
        shape = x._data.shape
        g = restore_dims(g, shape, ctx.dims, ctx.keepdim)
        if not bool((x == 0).any()):  # torch: grad * (result / input) when no input is 0
            return g * (restore_dims(y, shape, ctx.dims, ctx.keepdim) / x)
        if len(ctx.dims) == 1:
            return g * _prod_others(x, ctx.dims[0])
        return g * _prod_others(x.reshape(-1), 0).reshape(shape)


class _ProdAll(_Prod):
    node_name = "ProdBackward0"


def _shift(t, d, step):
    """t[..., clamp(k + step), ...] along dim d (a differentiable gather)."""
    xp = get_xp(t._data)
    n = t._data.shape[d]
    return t[(slice(None),) * d + (xp.clip(xp.arange(n) + step, 0, n - 1),)]


def _prod_others(x, d):
    """prod_{j != k} x_j along d, exact with zeros: exclusive cumprods from both ends (torch's
    prod_safe_zeros_backward), a polynomial in x so double backward is exact too."""
    n = x._data.shape[d]
    if n == 0:
        return x
    pos = Tensor._wrap(_along(get_xp(x._data), n, d, x._data.ndim))
    before = where(pos == 0, 1.0, _shift(cumprod(x, d), d, -1))
    after = where(pos == n - 1, 1.0, _shift(apply(_Flip, cumprod(apply(_Flip, x, dim=d), d), dim=d), d, 1))
    return before * after


def prod(input, dim=None, keepdim=False, *, dtype=None):  # noqa: A002
    """Matches `torch.prod` (integral/bool inputs give int64); the gradient is exact with zeros in the input."""
    if dim is not None and not isinstance(dim, (int, np.integer)):
        raise TypeError(f"prod(): argument 'dim' must be int, not {type(dim).__name__}")
    input, out_dt = _scan_dtype(input, dtype)
    x = input._data
    if dim is None:
        return apply(_ProdAll, input, dims=tuple(range(x.ndim)), keepdim=False, out_dt=out_dt)
    return apply(_Prod, input, dims=(_wrap_dim(int(dim), x.ndim),) if x.ndim else (), keepdim=keepdim,
                 out_dt=out_dt)


# -- moments and logsumexp ------------------------------------------------------------------------
def _correction(name, dim, unbiased, correction):
    if isinstance(dim, bool):  # legacy var(input, unbiased)
        dim, unbiased = None, dim
    if unbiased is not None and correction is not None:
        raise TypeError(f"{name}() received an invalid combination of arguments: unbiased and correction "
                        "cannot both be given")
    if correction is None:
        correction = 1 if unbiased is None or unbiased else 0
    return dim, correction


class _VarStd:
    node_name = "VarBackward0"

    @staticmethod
    def forward(ctx, x, dims, correction, keepdim, sqrt, full):
        xp = get_xp(x)
        n = _numel(x.shape, dims)
        ctx.dims, ctx.keepdim, ctx.sqrt, ctx.full = dims, keepdim, sqrt, full
        ctx.dof = n - correction
        with np.errstate(all="ignore"):
            mu = xp.sum(x, axis=dims, keepdims=True) / x.dtype.type(n)
            y = xp.sum((x - mu) ** 2, axis=dims, keepdims=keepdim) / x.dtype.type(builtins.max(n - correction, 0))
            y = xp.asarray(xp.sqrt(y) if sqrt else y, dtype=x.dtype)
        ctx.save_for_backward(x, y)
        return y

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        shape = x._data.shape
        g = restore_dims(g, shape, ctx.dims, ctx.keepdim)
        if ctx.sqrt:  # std_backward: (grad / (2 * result)).masked_fill_(result == 0, 0), then var_backward
            y = restore_dims(y, shape, ctx.dims, ctx.keepdim)
            g = where(y == 0, 0.0, g / (y * 2))
        centered = x - mean(x, ctx.dims, keepdim=True)
        # torch's var_backward: 2 / dof, except that a full reduction with dof <= 0 gives inf (NaN at the mean)
        if ctx.full and ctx.dof <= 0:
            return g * where(centered == 0, math.nan, math.inf)
        return (2.0 / ctx.dof if ctx.dof else math.inf) * g * centered


class _Std(_VarStd):
    node_name = "StdBackward0"


def _var_std(name, input, dim, unbiased, keepdim, correction, sqrt):
    dim, correction = _correction(name, dim, unbiased, correction)
    if input._data.dtype.kind != "f":
        raise RuntimeError("std and var only support floating point and complex dtypes")
    dims = _reduce_dims(input, dim)
    # torch's dof is input numel / output numel - correction, so an empty input has none either
    if _numel(input._data.shape, dims) - correction <= 0 or input._data.size == 0:
        warnings.warn(f"{name}(): degrees of freedom is <= 0. Correction should be strictly less than the "
                      "reduction factor (input numel divided by output numel).", UserWarning, stacklevel=3)
    return apply(_Std if sqrt else _VarStd, input, dims=dims, correction=correction, keepdim=keepdim, sqrt=sqrt,
                 full=dim is None or not input._data.ndim)


def var(input, dim=None, unbiased=None, keepdim=False, *, correction=None):  # noqa: A002
    """Matches `torch.var` (correction=1 by default; legacy ``unbiased`` accepted)."""
    return _var_std("var", input, dim, unbiased, keepdim, correction, False)


def std(input, dim=None, unbiased=None, keepdim=False, *, correction=None):  # noqa: A002
    """Matches `torch.std`; the gradient is 0 where the std is 0 (torch's std_backward)."""
    return _var_std("std", input, dim, unbiased, keepdim, correction, True)


def var_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None):  # noqa: A002
    """Matches `torch.var_mean` -> (var, mean)."""
    v = var(input, dim, unbiased, keepdim, correction=correction)
    return v, mean(input, _correction("var_mean", dim, unbiased, correction)[0], keepdim)


def std_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None):  # noqa: A002
    """Matches `torch.std_mean` -> (std, mean)."""
    s = std(input, dim, unbiased, keepdim, correction=correction)
    return s, mean(input, _correction("std_mean", dim, unbiased, correction)[0], keepdim)


class _LogSumExp:
    node_name = "LogsumexpBackward0"

    @staticmethod
    def forward(ctx, x, dims, keepdim):
        xp = get_xp(x)
        ctx.dims, ctx.keepdim = dims, keepdim
        with np.errstate(all="ignore"):
            if x.size == 0:
                y = xp.log(xp.sum(xp.exp(x), axis=dims, keepdims=keepdim))
            else:
                # torch: subtract the max, but a +-inf max is replaced by 0 (inf - inf would be NaN)
                m = xp.max(x, axis=dims, keepdims=True)
                m = xp.where(xp.isinf(m), xp.zeros((), x.dtype), m)
                y = xp.log(xp.sum(xp.exp(x - m), axis=dims, keepdims=True)) + m
                if not keepdim:
                    y = y.reshape(tuple(s for i, s in enumerate(x.shape) if i not in dims))
        y = xp.asarray(y, dtype=x.dtype)
        ctx.save_for_backward(x, y)
        return y

    @staticmethod
    def backward(ctx, g):  # logsumexp_backward: grad * (self - result).exp()
        x, y = ctx.saved_tensors
        shape = x._data.shape
        return restore_dims(g, shape, ctx.dims, ctx.keepdim) * (x - restore_dims(y, shape, ctx.dims, ctx.keepdim)).exp()


def logsumexp(input, dim, keepdim=False):  # noqa: A002
    """Matches `torch.logsumexp` (stable; integral inputs compute in the default float dtype)."""
    input = to_float(input)
    return apply(_LogSumExp, input, dims=_reduce_dims(input, dim), keepdim=keepdim)


# -- norms --------------------------------------------------------------------------------------
class _VectorNorm:
    node_name = "LinalgVectorNormBackward0"

    @staticmethod
    def forward(ctx, x, ord, dims, keepdim):  # noqa: A002
        xp = get_xp(x)
        ctx.ord, ctx.dims, ctx.keepdim = ord, dims, keepdim
        a = xp.abs(x)
        with np.errstate(all="ignore"):
            if ord == 0:
                y = xp.sum(x != 0, axis=dims, keepdims=keepdim)
            elif ord == math.inf:
                y = xp.max(a, axis=dims, keepdims=keepdim)
            elif ord == -math.inf:
                y = xp.min(a, axis=dims, keepdims=keepdim)
            elif ord == 1:
                y = xp.sum(a, axis=dims, keepdims=keepdim)
            elif ord == 2:
                y = xp.sqrt(xp.sum(a * a, axis=dims, keepdims=keepdim))
            else:
                y = xp.sum(a ** ord, axis=dims, keepdims=keepdim) ** (1.0 / ord)
        y = xp.asarray(y, dtype=x.dtype)
        ctx.save_for_backward(x, y)
        return y

    @staticmethod
    def backward(ctx, g):
        """torch's norm_backward, kinks included: 0 where the norm is 0, sgn(0) = 0 for p = 1, ties share
        evenly for p = +-inf."""
        p = ctx.ord
        if p == 0:
            return None
        x, y = ctx.saved_tensors
        shape = x._data.shape
        g = restore_dims(g, shape, ctx.dims, ctx.keepdim)
        y = restore_dims(y, shape, ctx.dims, ctx.keepdim)
        if p == 1:
            return x.sign() * g
        if p == 2:
            return g * where(y == 0, 0.0, x / y)
        if math.isinf(p):
            a = x.abs()
            mask = (a == y) | a.isnan()
            return x.sign() * ((g / mask.sum(ctx.dims, keepdim=True)) * mask)
        if p < 1:
            return x.sign() * where(x == 0, 0.0, x.abs().pow(p - 1)) * g * y.pow(1 - p)
        scaled = x.sign() * x.abs().pow(p - 1) if p < 2 else x * x.abs().pow(p - 2)
        return scaled * where(y == 0, 0.0, g / y.pow(p - 1))


def _ord_str(o):
    return f"{o:g}" if isinstance(o, float) else str(o)


def vector_norm(x, ord=2, dim=None, keepdim=False, *, dtype=None):  # noqa: A002
    """Matches `torch.linalg.vector_norm` (ord any number incl. 0 and +-inf; dtype computes in that dtype)."""
    if isinstance(ord, str) or not isinstance(ord, (int, float, np.number)):
        raise TypeError(f"linalg_vector_norm(): argument 'ord' must be Number, not {type(ord).__name__}")
    if x._data.dtype.kind != "f":
        raise RuntimeError("linalg.vector_norm: Expected a floating point or complex tensor as input. Got "
                           f"{_type_name(x._data.dtype)}")
    if dtype is not None:
        if _dtypes.promote_types(x.dtype, dtype) != dtype:
            raise RuntimeError(f"linalg.vector_norm: the dtype of the input ({_type_name(x._data.dtype)}) should "
                               f"be convertible without narrowing to the specified dtype ({_type_name(dtype.np)})")
        x = x.to(dtype)
    dims = _reduce_dims(x, dim)
    if x._data.size == 0 and (ord < 0 or ord == math.inf):
        msg = f"linalg.vector_norm cannot compute the {_ord_str(ord)} norm on "
        if dim is None:
            raise RuntimeError(msg + "an empty tensor because the operation does not have an identity")
        for d in dims:
            if x._data.shape[d] == 0:
                raise RuntimeError(msg + f"the dimension {d} because this dimension is empty and the operation "
                                   "does not have an identity")
    return apply(_VectorNorm, x, ord=float(ord), dims=dims, keepdim=keepdim)


def matrix_norm(A, ord="fro", dim=(-2, -1), keepdim=False, *, dtype=None):  # noqa: A002
    """Matches `torch.linalg.matrix_norm`: ord 'fro', 'nuc', 2, -2 (through svdvals, so the gradient assumes
    distinct singular values, as torch's) and 1, -1, inf, -inf (ties of the max/min column or row sum share
    the gradient evenly, as torch's amax/amin)."""
    n = A._data.ndim
    if n < 2:
        raise RuntimeError("linalg.matrix_norm: The input tensor A must have at least 2 dimensions.")
    if A._data.dtype.kind != "f":
        raise RuntimeError("linalg.matrix_norm: Expected a floating point or complex tensor as input. Got "
                           f"{_type_name(A._data.dtype)}")
    dim = tuple(dim)
    if len(dim) != 2:
        raise RuntimeError(f"linalg.matrix_norm: dim must be a 2-tuple. Got {' '.join(map(str, dim))}")
    d0, d1 = (_wrap_dim(d, n) for d in dim)
    if d0 == d1:
        raise RuntimeError(f"linalg.matrix_norm: dims must be different. Got ({dim[0]}, {dim[1]})")
    if ord == "fro":
        return vector_norm(A, 2, (d0, d1), keepdim, dtype=dtype)
    if ord == "nuc" or not isinstance(ord, str) and builtins.abs(ord) == 2:
        if dtype is not None:
            A = A.to(dtype)
        sv = svdvals(A.permute(*[i for i in range(n) if i not in (d0, d1)], d0, d1))
        r = sv.sum(-1) if ord == "nuc" else (amax if ord > 0 else amin)(sv, -1)
        return r.unsqueeze(builtins.min(d0, d1)).unsqueeze(builtins.max(d0, d1)) if keepdim else r
    if isinstance(ord, str) or builtins.abs(ord) not in (1, math.inf):
        raise RuntimeError(f"linalg.matrix_norm: Order {ord} not supported.")
    if builtins.abs(ord) == math.inf:  # the inf norm is the 1 norm of the transpose
        d0, d1 = d1, d0
    if not keepdim and d0 < d1:
        d1 -= 1
    colsum = vector_norm(A, 1, d0, keepdim, dtype=dtype)
    return (amax if ord > 0 else amin)(colsum, d1, keepdim)


def norm(input, p="fro", dim=None, keepdim=False, out=None, dtype=None):  # noqa: A002
    """Matches `torch.norm`: numbers and 'fro' are vector norms (over all dims, or ``dim``), other strings
    matrix norms. The p = 2 gradient is 0 where the norm is 0."""
    if isinstance(p, str):
        if p == "fro" and (dim is None or isinstance(dim, int) or len(dim) <= 2):
            return vector_norm(input, 2, dim, keepdim, dtype=dtype)
        dim = tuple(range(input.ndim)) if dim is None else (dim,) if isinstance(dim, int) else dim
        return matrix_norm(input, p, dim, keepdim, dtype=dtype)
    return vector_norm(input, 2.0 if p is None else p, dim, keepdim, dtype=dtype)


# -- logical reductions -------------------------------------------------------------------------
def _logical(input, dim, keepdim, is_all):
    x = input._data
    xp = get_xp(x)
    if dim is None:
        dims = None
    elif isinstance(dim, (int, np.integer)):
        dims = _wrap_dim(int(dim), x.ndim)
    else:  # an explicit tuple; () reduces nothing, as in torch
        dims = tuple(_wrap_dim(int(d), x.ndim) for d in dim)
    r = (xp.all if is_all else xp.any)(x, axis=dims, keepdims=keepdim)
    return Tensor._wrap(xp.asarray(r, dtype=np.uint8 if x.dtype == np.uint8 else bool))


def all(input, dim=None, keepdim=False):  # noqa: A001,A002
    """Matches `torch.all` (uint8 inputs give uint8, others bool)."""
    return _logical(input, dim, keepdim, True)


def any(input, dim=None, keepdim=False):  # noqa: A001,A002
    """Matches `torch.any` (uint8 inputs give uint8, others bool)."""
    return _logical(input, dim, keepdim, False)


def count_nonzero(input, dim=None):  # noqa: A002
    """Matches `torch.count_nonzero` (int64)."""
    x = input._data
    xp = get_xp(x)
    dims = norm_dims(dim, x.ndim) if x.ndim and dim is not None else None
    return Tensor._wrap(xp.asarray(xp.count_nonzero(x, axis=dims), dtype=np.int64))


def _cumsum_(self, dim, dtype=None):
    return inplace(self, lambda s: cumsum(s, dim, dtype=dtype))


def _cumprod_(self, dim, dtype=None):
    return inplace(self, lambda s: cumprod(s, dim, dtype=dtype))


register_methods({"sum": sum, "nansum": nansum, "mean": mean, "amax": amax, "amin": amin,
                  "softmax": softmax, "log_softmax": log_softmax, "prod": prod, "max": max, "min": min,
                  "argmax": argmax, "argmin": argmin, "aminmax": aminmax, "sort": sort, "argsort": argsort,
                  "msort": msort, "topk": topk, "kthvalue": kthvalue, "median": median, "nanmedian": nanmedian,
                  "mode": mode, "unique": unique, "cumsum": cumsum, "cumprod": cumprod, "cumsum_": _cumsum_,
                  "cumprod_": _cumprod_, "cummax": cummax, "cummin": cummin, "var": var, "std": std,
                  "logsumexp": logsumexp, "norm": norm, "all": all, "any": any, "count_nonzero": count_nonzero})

__all__ = ["sum", "nansum", "mean", "amax", "amin", "softmax", "log_softmax", "prod", "max", "min", "argmax",
           "argmin", "aminmax", "sort", "argsort", "msort", "topk", "kthvalue", "median", "nanmedian", "mode",
           "unique", "cumsum", "cumprod", "cummax", "cummin", "var", "std", "var_mean", "std_mean", "logsumexp",
           "norm", "all", "any", "count_nonzero"]
