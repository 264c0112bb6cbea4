"""Reductions. Backward rules restore the reduced dims and expand; ties follow torch
(amax/amin and full max/min share evenly; max/min(dim) send the gradient to the returned index)."""
from __future__ import annotations

import numpy as np

from .. import _dtypes
from .._backend import get_xp
from .._tensor import Tensor, _wrap_dim, register_methods
from ..autograd.graph import apply


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


def sum(input, dim=None, keepdim=False, *, dtype=None):  # noqa: A001,A002
    """Matches `torch.sum` (integral/bool inputs sum to int64)."""
    d = input._data
    dims = norm_dims(dim, d.ndim) if d.ndim else ()
    out_dt = dtype.np if dtype is not None else _acc_dtype(d.dtype)
    if dtype is not None and d.dtype != out_dt:
        input = input.to(dtype)
    return apply(_Sum, input, dims=dims, keepdim=keepdim, out_dt=out_dt)


def nansum(input, dim=None, keepdim=False, *, dtype=None):  # noqa: A002
    """Matches `torch.nansum`: NaNs count as zero (and get zero gradient)."""
    from .elementwise import where  # noqa: PLC0415
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
    n = 1
    for k in dims:
        n *= d.shape[k]
    s = apply(_Sum, input, dims=dims, keepdim=keepdim, out_dt=d.dtype)
    return s / n if n else s * float("nan")


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
        if x.size == 0 and any(x.shape[d] == 0 for d in dims):
            raise IndexError(f"{'amax' if is_max else 'amin'}(): Expected reduction dim {dims[0]} to have non-zero size.")
        ctx.dims, ctx.keepdim = dims, keepdim
        y = (xp.max if is_max else xp.min)(x, axis=dims, keepdims=keepdim)
        y = xp.asarray(y)
        ctx.save_for_backward(x, y)
        return y

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        return _evenly(g, x, y, ctx.dims, ctx.keepdim)


def amax(input, dim=(), keepdim=False):  # noqa: A002
    """Matches `torch.amax`: ties share the gradient evenly."""
    d = input._data
    dims = norm_dims(dim if dim != () else None, d.ndim) if d.ndim else ()
    return apply(_AMax, input, dims=dims, keepdim=keepdim, is_max=True)


def amin(input, dim=(), keepdim=False):  # noqa: A002
    """Matches `torch.amin`: ties share the gradient evenly."""
    d = input._data
    dims = norm_dims(dim if dim != () else None, d.ndim) if d.ndim else ()
    return apply(_AMax, input, dims=dims, keepdim=keepdim, is_max=False)


class _Softmax:
    node_name = "SoftmaxBackward0"

    @staticmethod
    def forward(ctx, x, dim, log):
        xp = get_xp(x)
        ctx.dim, ctx.log = dim, log
        if x.size == 0:
            return x.copy()
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


def _softmax_dim(ndim):
    # torch's legacy implicit-dim rule (with a warning): 0 for 0/1/3-D, else 1
    return 0 if ndim in (0, 1, 3) else 1


def softmax(input, dim=None, dtype=None, *, _stacklevel=3):  # noqa: A002
    """Matches `torch.softmax` / `F.softmax`."""
    if dtype is not None:
        input = input.to(dtype)
    if input._data.dtype.kind != "f":
        raise RuntimeError('"softmax_lastdim_kernel_impl" not implemented for \'Long\'')
    n = input._data.ndim
    dim = _softmax_dim(n) if dim is None else _wrap_dim(dim, n)
    return apply(_Softmax, input, dim=dim if n else None, log=False)


def log_softmax(input, dim=None, dtype=None, *, _stacklevel=3):  # noqa: A002
    """Matches `torch.log_softmax` / `F.log_softmax`."""
    if dtype is not None:
        input = input.to(dtype)
    if input._data.dtype.kind != "f":
        raise RuntimeError('"log_softmax_lastdim_kernel_impl" not implemented for \'Long\'')
    n = input._data.ndim
    dim = _softmax_dim(n) if dim is None else _wrap_dim(dim, n)
    return apply(_Softmax, input, dim=dim if n else None, log=True)


register_methods({"sum": sum, "nansum": nansum, "mean": mean, "amax": amax, "amin": amin,
                  "softmax": softmax, "log_softmax": log_softmax})

__all__ = ["sum", "nansum", "mean", "amax", "amin", "softmax", "log_softmax"]
