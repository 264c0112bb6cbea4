"""Matches `torch.nn.functional` convolution, pooling, padding and resampling.

Everything is vectorized over strided windows: ``_windows`` views an (already padded) input as
``(..., *out, *kernel)`` with ``as_strided`` (numpy and cupy alike), so a convolution is one batched
matmul over the im2col columns and a pool is one reduction over the window axes. Loops run only over
kernel offsets (col2im, as torch's own col2im does), never over pixels or batch elements.

Primitives and their backwards (all written in refgrad ops, so double backward works):

- convolution: input grad = transposed convolution of the cotangent, weight grad = a correlation of
  the im2col columns with the cotangent (einsum); transposed convolution mirrors it. Both are named
  ``ConvolutionBackward0`` like torch's.
- im2col / col2im: linear maps that are each other's adjoint (F.unfold / F.fold are built on them).
- constant pad: its adjoint is the pad by the negated amounts (a crop).
- max pools gather at the argmax index (torch's tie rule: the first max of the window) and scatter the
  gradient back to it; avg pool spreads ``grad / divisor`` over each window with col2im.

Composites of refgrad ops (their gradients follow from index_select / einsum): reflect, replicate and
circular padding, adaptive average pooling (separable averaging matrices), interpolate (nearest,
nearest-exact, linear, bilinear, trilinear, area; the linear modes one dim at a time), pixel_shuffle /
pixel_unshuffle. Their grad_fn names differ from torch's dedicated nodes (e.g. ``IndexSelectBackward0``
instead of ``ReflectionPad2DBackward0``).

The 1d, 2d and 3d convolutions and pools share one N-d implementation (the 3d nodes carry torch's 3D
names, e.g. ``MaxPool3DWithIndicesBackward0``). The 1d pools run through the 2d ones on an unsqueezed
input, as torch's do (their grad_fn is torch's ``SqueezeBackward1``).
"""
from __future__ import annotations

import itertools
import math

import numpy as np

from .. import ops as _ops
from .._backend import get_xp
from .._tensor import Tensor
from ..autograd.graph import apply

__all__ = ["conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d", "max_pool1d",
           "max_pool2d", "max_pool3d", "max_pool1d_with_indices", "max_pool2d_with_indices", "max_pool3d_with_indices",
           "avg_pool1d", "avg_pool2d", "avg_pool3d", "adaptive_avg_pool1d", "adaptive_avg_pool2d",
           "adaptive_avg_pool3d", "adaptive_max_pool1d", "adaptive_max_pool2d", "adaptive_max_pool3d",
           "adaptive_max_pool1d_with_indices", "adaptive_max_pool2d_with_indices", "adaptive_max_pool3d_with_indices",
           "pad", "interpolate",
           "upsample", "upsample_nearest", "upsample_bilinear", "unfold", "fold", "pixel_shuffle",
           "pixel_unshuffle"]


# -- argument plumbing ----------------------------------------------------------------------------
def _ntuple(v, n, name="argument"):
    """An int or a sequence of n ints as an n-tuple (torch's _single/_pair)."""
    if isinstance(v, (tuple, list)):
        if len(v) == 1:
            return (int(v[0]),) * n
        if len(v) != n:
            raise RuntimeError(f"expected {name} to be a single integer value or a list of {n} values to match "
                               f"the convolution dimensions, but got {name}={list(v)}")
        return tuple(int(e) for e in v)
    return (int(v),) * n


def _prod(xs):
    return math.prod(xs)


def _const(arr, like: Tensor) -> Tensor:
    """A graph-free Tensor on ``like``'s backend (index arrays, interpolation weights, divisors)."""
    return Tensor._wrap(get_xp(like._data).asarray(arr))


def _windows(xp, x, kernel, stride, dilation, out):
    """The read-only view ``(..., *out, *kernel)`` of the sliding windows of the last ``len(kernel)``
    dims of ``x`` (already padded)."""
    nd = len(kernel)
    st = x.strides[-nd:]
    shape = x.shape[:-nd] + tuple(out) + tuple(kernel)
    strides = x.strides[:-nd] + tuple(a * s for a, s in zip(st, stride)) + tuple(a * d for a, d in zip(st, dilation))
    if xp is np:
        return np.lib.stride_tricks.as_strided(x, shape, strides, writeable=False)
    return xp.lib.stride_tricks.as_strided(x, shape, strides)


def _col2im(xp, cols, size, kernel, stride, dilation, out):
    """Adjoint of ``_windows``: sum the columns ``(..., *out, *kernel)`` into an array of spatial
    ``size`` (one strided add per kernel offset)."""
    nd = len(kernel)
    res = xp.zeros(cols.shape[:-2 * nd] + tuple(size), dtype=cols.dtype)
    for off in itertools.product(*(range(k) for k in kernel)):
        sl = tuple(slice(o * d, o * d + s * (n - 1) + 1, s) for o, d, s, n in zip(off, dilation, stride, out))
        res[(Ellipsis,) + sl] += cols[(Ellipsis,) + off]
    return res


def _np_pad(xp, x, lo, hi, value=0):
    """Pad the last len(lo) dims of array ``x`` (non-negative amounts)."""
    if not any(lo) and not any(hi):
        return x
    widths = [(0, 0)] * (x.ndim - len(lo)) + list(zip(lo, hi))
    return xp.pad(x, widths, constant_values=value)


class _Im2Col:
    node_name = "Im2ColBackward0"

    @staticmethod
    def forward(ctx, x, kernel, stride, dilation, out):
        ctx.kw = dict(size=x.shape[-len(kernel):], kernel=kernel, stride=stride, dilation=dilation, out=out)
        # a copy: the columns must not alias (and silently follow) the input's storage
        return get_xp(x).ascontiguousarray(_windows(get_xp(x), x, kernel, stride, dilation, out))

    @staticmethod
    def backward(ctx, g):
        return apply(_Col2Im, g, **ctx.kw)


class _Col2Im:
    node_name = "Col2ImBackward0"

    @staticmethod
    def forward(ctx, cols, size, kernel, stride, dilation, out):
        ctx.kw = dict(kernel=kernel, stride=stride, dilation=dilation, out=out)
        return _col2im(get_xp(cols), cols, size, kernel, stride, dilation, out)

    @staticmethod
    def backward(ctx, g):
        return apply(_Im2Col, g, **ctx.kw)


# -- constant padding (a primitive: its adjoint is the negated pad) --------------------------------
class _ConstantPad:
    node_name = "ConstantPadNdBackward0"

    @staticmethod
    def forward(ctx, x, pads, value):
        ctx.pads = pads
        xp = get_xp(x)
        crop = tuple(slice(max(-lo, 0), n - max(-hi, 0)) for (lo, hi), n in zip(pads, x.shape))
        x = x[crop]
        lo = [max(p, 0) for p, _ in pads]
        hi = [max(p, 0) for _, p in pads]
        return xp.pad(x, list(zip(lo, hi)), constant_values=value) if any(lo) or any(hi) else x.copy()

    @staticmethod
    def backward(ctx, g):
        return apply(_ConstantPad, g, pads=tuple((-lo, -hi) for lo, hi in ctx.pads), value=0)


def _zero_pad(x: Tensor, lo, hi) -> Tensor:
    """Zero-pad the last len(lo) dims of Tensor ``x`` (differentiable)."""
    if not any(lo) and not any(hi):
        return x
    lead = ((0, 0),) * (x.ndim - len(lo))
    return apply(_ConstantPad, x, pads=lead + tuple(zip(lo, hi)), value=0)


def _crop(x: Tensor, start, size) -> Tensor:
    """``x[..., start_i : start_i + size_i]`` over the last len(start) dims."""
    if all(s == 0 for s in start) and tuple(x.shape[-len(start):]) == tuple(size):
        return x
    return x[(Ellipsis,) + tuple(slice(a, a + n) for a, n in zip(start, size))]


# -- convolution ----------------------------------------------------------------------------------
def _conv_out(size, kernel, stride, padding, dilation):
    return tuple((n + 2 * p - d * (k - 1) - 1) // s + 1
                 for n, k, s, p, d in zip(size, kernel, stride, padding, dilation))


def _conv_forward(xp, x, w, stride, padding, dilation, groups):
    """Cross-correlation of x (N, C, *S) with w (Cout, C/groups, *K): one batched matmul over im2col."""
    nd = w.ndim - 2
    kernel = w.shape[2:]
    out = _conv_out(x.shape[2:], kernel, stride, padding, dilation)
    n, c = x.shape[:2]
    cout = w.shape[0]
    win = _windows(xp, _np_pad(xp, x, padding, padding), kernel, stride, dilation, out)  # (N, C, *O, *K)
    # (N, C, *K, *O) -> (N, G, Cg*Kp, L): the one copy im2col needs
    perm = (0, 1) + tuple(range(2 + nd, 2 + 2 * nd)) + tuple(range(2, 2 + nd))
    cols = win.transpose(perm).reshape(n, groups, (c // groups) * _prod(kernel), _prod(out))
    wm = w.reshape(groups, cout // groups, (c // groups) * _prod(kernel))
    return xp.matmul(wm, cols).reshape((n, cout) + out)


def _conv_transpose_forward(xp, x, w, stride, padding, output_padding, dilation, groups):
    """Transposed convolution of x (N, Cin, *I) with w (Cin, Cout/groups, *K): matmul then col2im."""
    nd = w.ndim - 2
    kernel = w.shape[2:]
    n, cin = x.shape[:2]
    inp = x.shape[2:]
    cout = w.shape[1] * groups
    wm = w.reshape(groups, cin // groups, w.shape[1] * _prod(kernel)).transpose(0, 2, 1)  # (G, Cog*Kp, Cig)
    cols = xp.matmul(wm, x.reshape(n, groups, cin // groups, _prod(inp)))  # (N, G, Cog*Kp, L)
    cols = cols.reshape((n, cout) + kernel + inp)
    cols = xp.moveaxis(cols, tuple(range(2, 2 + nd)), tuple(range(2 + nd, 2 + 2 * nd)))  # (N, Cout, *I, *K)
    full = tuple((i - 1) * s + d * (k - 1) + 1 + op for i, s, d, k, op in zip(inp, stride, dilation, kernel,
                                                                               output_padding))
    res = _col2im(xp, cols, full, kernel, stride, dilation, inp)
    return res[(Ellipsis,) + tuple(slice(p, f - p) for p, f in zip(padding, full))]


def _add_bias(xp, y, b):
    if b is None:
        return y
    return y + b.reshape((-1,) + (1,) * (y.ndim - 2))


def _weight_grad(x: Tensor, g: Tensor, groups, kernel, stride, padding, dilation, transposed):
    """Correlation of the im2col columns of ``x`` (padded) with the cotangent ``g`` (refgrad ops).

    Convolution: columns of x against g gives (Cout, Cg, *K). Transposed convolution: columns of g
    against x gives (Cin, Cog, *K)."""
    src, other = (g, x) if transposed else (x, g)
    n, c = src.shape[:2]
    out = tuple(other.shape[2:])
    cols = apply(_Im2Col, _zero_pad(src, padding, padding), kernel=tuple(kernel), stride=stride,
                 dilation=dilation, out=out)  # (N, C, *O, *K)
    cg, og, L, K = c // groups, other.shape[1] // groups, _prod(out), _prod(kernel)
    # one GEMM per group over the batch and the output positions: (G, og, N*L) @ (G, N*L, cg*K)
    cols = cols.reshape(n, groups, cg, L, K).permute(1, 0, 3, 2, 4).reshape(groups, n * L, cg * K)
    o = other.reshape(n, groups, og, L).permute(1, 2, 0, 3).reshape(groups, og, n * L)
    return o.matmul(cols).reshape((other.shape[1], cg) + tuple(kernel))


class _Conv:
    node_name = "ConvolutionBackward0"

    @staticmethod
    def forward(ctx, x, w, b, stride, padding, dilation, groups):
        xp = get_xp(x)
        ctx.save_for_backward(x, w)
        ctx.args = (stride, padding, dilation, groups)
        return _add_bias(xp, _conv_forward(xp, x, w, stride, padding, dilation, groups), b)

    @staticmethod
    def backward(ctx, g):
        x, w = ctx.saved_tensors
        stride, padding, dilation, groups = ctx.args
        need = ctx.needs_input_grad
        kernel = tuple(w.shape[2:])
        gx = gw = gb = None
        if need[0]:
            # the transposed convolution reproduces the input size up to the rows the stride skipped
            full = tuple((o - 1) * s + d * (k - 1) + 1 for o, s, d, k in zip(g.shape[2:], stride, dilation, kernel))
            opad = tuple(n + 2 * p - f for n, p, f in zip(x.shape[2:], padding, full))
            gx = apply(_ConvTranspose, g, w, None, stride=stride, padding=padding, output_padding=opad,
                       dilation=dilation, groups=groups)
        if need[1]:
            gw = _weight_grad(x, g, groups, kernel, stride, padding, dilation, transposed=False)
        if len(need) > 2 and need[2]:
            gb = g.sum((0,) + tuple(range(2, g.ndim)))
        return gx, gw, gb


class _ConvTranspose:
    node_name = "ConvolutionBackward0"

    @staticmethod
    def forward(ctx, x, w, b, stride, padding, output_padding, dilation, groups):
        xp = get_xp(x)
        ctx.save_for_backward(x, w)
        ctx.args = (stride, padding, dilation, groups)
        y = _conv_transpose_forward(xp, x, w, stride, padding, output_padding, dilation, groups)
        return _add_bias(xp, y, b)

    @staticmethod
    def backward(ctx, g):
        x, w = ctx.saved_tensors
        stride, padding, dilation, groups = ctx.args
        need = ctx.needs_input_grad
        kernel = tuple(w.shape[2:])
        gx = gw = gb = None
        if need[0]:
            gx = apply(_Conv, g, w, None, stride=stride, padding=padding, dilation=dilation, groups=groups)
            # an output_padding of at least the stride (allowed when dilation is larger) adds a row
            gx = _crop(gx, (0,) * len(kernel), tuple(x.shape[2:]))
        if need[1]:
            gw = _weight_grad(x, g, groups, kernel, stride, padding, dilation, transposed=True)
        if len(need) > 2 and need[2]:
            gb = g.sum((0,) + tuple(range(2, g.ndim)))
        return gx, gw, gb


_TYPE = {"float32": "float", "float64": "double", "float16": "c10::Half", "int64": "long", "int32": "int"}


def _check_conv(name, nd, input, weight, bias, groups, transposed):  # noqa: A002
    if input.ndim not in (nd + 1, nd + 2):
        raise RuntimeError(f"Expected {nd + 1}D (unbatched) or {nd + 2}D (batched) input to {name}, but got input "
                           f"of size: {list(input.shape)}")
    if weight.ndim != nd + 2:
        raise RuntimeError(f"weight should have at least three dimensions and match {name}'s {nd + 2}D layout, "
                           f"but got weight of size {list(weight.shape)}")
    if input.dtype != weight.dtype:
        raise RuntimeError(f"expected scalar type {_type_name(input.dtype)} but found {_type_name(weight.dtype)}")
    if input._data.dtype.kind != "f":
        raise RuntimeError(f"\"{name}\" not implemented for '{_type_name(input.dtype)}'")
    if bias is not None and bias.dtype != input.dtype:
        raise RuntimeError(f"Input type ({_TYPE.get(input._data.dtype.name, input._data.dtype.name)}) and bias type "
                           f"({_TYPE.get(bias._data.dtype.name, bias._data.dtype.name)}) should be the same")
    if groups <= 0:
        raise RuntimeError("non-positive groups is not supported")
    cin = input.shape[-nd - 1]
    if transposed:
        if weight.shape[0] != cin:
            raise RuntimeError(f"Given transposed=1, weight of size {list(weight.shape)}, expected input"
                               f"{list(input.shape)} to have {weight.shape[0]} channels, but got {cin} channels "
                               "instead")
        if cin % groups:
            raise RuntimeError(f"Given groups={groups}, expected weight to be divisible by {groups} at dimension 0, "
                               f"but got weight of size {list(weight.shape)} instead")
        cout = weight.shape[1] * groups
    else:
        if weight.shape[0] % groups:
            raise RuntimeError(f"Given groups={groups}, expected weight to be divisible by {groups} at dimension 0, "
                               f"but got weight of size {list(weight.shape)} instead")
        if weight.shape[1] * groups != cin:
            raise RuntimeError(f"Given groups={groups}, weight of size {list(weight.shape)}, expected input"
                               f"{list(input.shape)} to have {weight.shape[1] * groups} channels, but got {cin} "
                               "channels instead")
        cout = weight.shape[0]
    if bias is not None and (bias.ndim != 1 or bias.shape[0] != cout):
        raise RuntimeError(f"Given weight of size {list(weight.shape)}, expected bias to be 1-dimensional with {cout} "
                           f"elements, but got bias of size {list(bias.shape)} instead")


def _type_name(dt):
    return {"float32": "Float", "float64": "Double", "float16": "Half", "int64": "Long", "int32": "Int",
            "bool": "Bool", "uint8": "Byte"}.get(str(dt).rpartition(".")[2], str(dt))


def _batched(fn, x, nd):
    """Run ``fn`` on a batched input, adding and removing the batch dim of an unbatched one."""
    if x.ndim == nd + 1:
        return fn(x.unsqueeze(0)).squeeze(0)
    return fn(x)


def _convnd(name, nd, input, weight, bias, stride, padding, dilation, groups):  # noqa: A002
    _check_conv(name, nd, input, weight, bias, groups, transposed=False)
    stride = _ntuple(stride, nd, "stride")
    dilation = _ntuple(dilation, nd, "dilation")
    kernel = tuple(weight.shape[2:])
    lo = hi = None
    if isinstance(padding, str):
        if padding == "valid":
            padding = (0,) * nd
        elif padding == "same":
            if any(s != 1 for s in stride):
                raise RuntimeError("padding='same' is not supported for strided convolutions")
            total = [d * (k - 1) for d, k in zip(dilation, kernel)]
            padding = tuple(t // 2 for t in total)
            # torch pads the odd remainder on the right side, with an explicit pad of the input
            lo, hi = (0,) * nd, tuple(t - 2 * (t // 2) for t in total)
        else:
            raise RuntimeError(f"Invalid padding string: '{padding}'")
    else:
        padding = _ntuple(padding, nd, "padding")
    if any(s <= 0 for s in stride):
        raise RuntimeError("non-positive stride is not supported")
    if any(p < 0 for p in padding):
        raise RuntimeError("negative padding is not supported")
    if any(d <= 0 for d in dilation):
        raise RuntimeError("dilation should be greater than zero")

    def run(x):
        if hi is not None and any(hi):
            x = _zero_pad(x, lo, hi)
        padded = [n + 2 * p for n, p in zip(x.shape[2:], padding)]
        eff = [d * (k - 1) + 1 for d, k in zip(dilation, kernel)]
        if any(e > n for e, n in zip(eff, padded)):
            raise RuntimeError(f"Calculated padded input size per channel: ({' x '.join(map(str, padded))}). Kernel "
                               f"size: ({' x '.join(map(str, eff))}). Kernel size can't be greater than actual input "
                               "size")
        return apply(_Conv, x, weight, bias, stride=stride, padding=padding, dilation=dilation, groups=groups)

    return _batched(run, input, nd)


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):  # noqa: A002
    """Matches `torch.nn.functional.conv1d` (padding int, tuple, 'same' or 'valid')."""
    return _convnd("conv1d", 1, input, weight, bias, stride, padding, dilation, groups)


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):  # noqa: A002
    """Matches `torch.nn.functional.conv2d` (padding int, tuple, 'same' or 'valid')."""
    return _convnd("conv2d", 2, input, weight, bias, stride, padding, dilation, groups)


def conv3d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):  # noqa: A002
    """Matches `torch.nn.functional.conv3d` (padding int, tuple, 'same' or 'valid')."""
    return _convnd("conv3d", 3, input, weight, bias, stride, padding, dilation, groups)


def _conv_transposend(name, nd, input, weight, bias, stride, padding, output_padding, groups, dilation):  # noqa: A002
    _check_conv(name, nd, input, weight, bias, groups, transposed=True)
    stride = _ntuple(stride, nd, "stride")
    padding = _ntuple(padding, nd, "padding")
    output_padding = _ntuple(output_padding, nd, "output_padding")
    dilation = _ntuple(dilation, nd, "dilation")
    if any(s <= 0 for s in stride):
        raise RuntimeError("non-positive stride is not supported")
    if any(p < 0 for p in padding):
        raise RuntimeError("negative padding is not supported")
    if any(op >= s and op >= d for op, s, d in zip(output_padding, stride, dilation)):
        raise RuntimeError(f"output padding must be smaller than either stride or dilation, but got "
                           f"output_padding={list(output_padding)} stride={list(stride)} dilation={list(dilation)}")
    kernel = weight.shape[2:]

    def run(x):
        out = [(i - 1) * s - 2 * p + d * (k - 1) + op + 1
               for i, s, p, d, k, op in zip(x.shape[2:], stride, padding, dilation, kernel, output_padding)]
        if any(o <= 0 for o in out):
            raise RuntimeError(f"Given input size per channel: ({' x '.join(map(str, x.shape[2:]))}). Calculated "
                               f"output size per channel: ({' x '.join(map(str, out))}). Output size is too small")
        return apply(_ConvTranspose, x, weight, bias, stride=stride, padding=padding, output_padding=output_padding,
                     dilation=dilation, groups=groups)

    return _batched(run, input, nd)


def conv_transpose1d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,  # noqa: A002
                     dilation=1):
    """Matches `torch.nn.functional.conv_transpose1d`."""
    return _conv_transposend("conv_transpose1d", 1, input, weight, bias, stride, padding, output_padding, groups,
                             dilation)


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,  # noqa: A002
                     dilation=1):
    """Matches `torch.nn.functional.conv_transpose2d`."""
    return _conv_transposend("conv_transpose2d", 2, input, weight, bias, stride, padding, output_padding, groups,
                             dilation)


def conv_transpose3d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,  # noqa: A002
                     dilation=1):
    """Matches `torch.nn.functional.conv_transpose3d`."""
    return _conv_transposend("conv_transpose3d", 3, input, weight, bias, stride, padding, output_padding, groups,
                             dilation)


# -- pooling --------------------------------------------------------------------------------------
def _pool_out(n, k, s, p, d, ceil_mode):
    """torch's pooling_output_shape: in ceil mode the last window must start inside the input or the
    left padding."""
    out = (n + 2 * p - d * (k - 1) - 1 + (s - 1 if ceil_mode else 0)) // s + 1
    if ceil_mode and (out - 1) * s >= n + p:
        out -= 1
    return out


def _pool_args(name, nd, input, kernel_size, stride, padding, dilation, ceil_mode, check_input_size=False):  # noqa: A002
    if input.ndim not in (nd + 1, nd + 2):
        raise RuntimeError(f"{name}: Expected {nd + 1}D or {nd + 2}D (batch mode) tensor for input, but got: "
                           f"{list(input.shape)}")
    k = _ntuple(kernel_size, nd, "kernel_size")
    s = k if stride is None or (isinstance(stride, (tuple, list)) and len(stride) == 0) else \
        _ntuple(stride, nd, "stride")
    p = _ntuple(padding, nd, "padding")
    d = _ntuple(dilation, nd, "dilation")
    if any(v <= 0 for v in k):
        raise RuntimeError(f"kernel size should be greater than zero, but got kernel_size={list(k)}")
    if any(v <= 0 for v in s):
        raise RuntimeError(f"stride should be greater than zero, but got stride={list(s)}")
    if any(v <= 0 for v in d):
        raise RuntimeError(f"dilation should be greater than zero, but got dilation={list(d)}")
    size = tuple(input.shape[-nd:])
    if check_input_size and any(n < k_ for n, k_ in zip(size, k)):
        # torch's pool3d_shape_check(check_input_size=True) of avg_pool3d: the unpadded input holds a window
        raise RuntimeError(f"input image (T: {size[0]} H: {size[1]} W: {size[2]}) smaller than kernel size "
                           f"(kT: {k[0]} kH: {k[1]} kW: {k[2]})")
    out = tuple(_pool_out(n, *a, ceil_mode) for n, a in zip(size, zip(k, s, p, d)))
    if any(o < 1 for o in out):
        lead = input.shape[-nd - 1]
        raise RuntimeError(f"Given input size: ({'x'.join(map(str, (lead,) + size))}). Calculated output size: "
                           f"({'x'.join(map(str, (lead,) + out))}). Output size is too small")
    return k, s, p, d, out


def _pool_pad(size, k, s, p, d, out):
    """Left and right padding that makes every window (ceil mode included) lie inside the array."""
    hi = tuple(max(0, (o - 1) * s_ + d_ * (k_ - 1) + 1 - n - p_) for n, k_, s_, p_, d_, o in zip(size, k, s, p, d, out))
    return p, hi


class _PoolGather:
    """Gather the pooled values at precomputed flat spatial indices; the gradient goes back to them."""

    node_name = "MaxPool2DWithIndicesBackward0"

    @staticmethod
    def forward(ctx, x, idx, nd):
        xp = get_xp(x)
        lead = x.shape[:-nd]
        ctx.shape, ctx.idx, ctx.nd = x.shape, idx, nd
        flat_x = x.reshape(lead + (_prod(x.shape[-nd:]),))
        return xp.take_along_axis(flat_x, idx.reshape(lead + (_prod(idx.shape[-nd:]),)), -1).reshape(idx.shape)

    @staticmethod
    def backward(ctx, g):
        shape, nd = ctx.shape, ctx.nd
        lead = tuple(shape[:-nd])
        z = _ops.zeros(lead + (_prod(shape[-nd:]),), dtype=g.dtype, device=g.device)
        flat = lead + (_prod(g.shape[-nd:]),)
        return z.scatter_add(-1, _const(ctx.idx.reshape(flat), g), g.reshape(flat)).reshape(shape)


class _PoolGather3d(_PoolGather):
    node_name = "MaxPool3DWithIndicesBackward0"


class _AdaptiveMaxGather(_PoolGather):
    node_name = "AdaptiveMaxPool2DBackward0"


class _AdaptiveMaxGather3d(_PoolGather):
    node_name = "AdaptiveMaxPool3DBackward0"


def _check_pool_pad(p, k, d, avg):
    for p_, k_, d_ in zip(p, k, d):
        limit = k_ // 2 if avg else (d_ * (k_ - 1) + 1) // 2
        if p_ < 0 or p_ > limit:
            raise RuntimeError(f"pad should be at most half of effective kernel size, but got pad={p_}, "
                               f"kernel_size={k_} and dilation={d_}")


def _max_pool_indices(xp, x, k, s, p, d, out):
    """Flat spatial index of each window's max: the first max in window order (torch's tie rule); a
    window of -inf (of the integer minimum) only points at its first position inside the input, as torch's
    does."""
    nd = len(k)
    size = x.shape[-nd:]
    lo, hi = _pool_pad(size, k, s, p, d, out)
    low = np.iinfo(x.dtype).min if x.dtype.kind in "iu" else -xp.inf  # the padding never wins a window
    win = _windows(xp, _np_pad(xp, x, lo, hi, low), k, s, d, out)
    win = win.reshape(win.shape[:-nd] + (_prod(k),))
    am = win.argmax(-1)
    koff = xp.unravel_index(am, k)
    flat = first = 0
    for i in range(nd):
        start = (xp.arange(out[i]) * s[i] - p[i]).reshape((-1,) + (1,) * (nd - 1 - i))
        flat = flat * size[i] + start + koff[i] * d[i]
        first = first * size[i] + start + (xp.maximum(-start, 0) + d[i] - 1) // d[i] * d[i]
    mx = xp.take_along_axis(win, am[..., None], -1)[..., 0]
    return xp.where(mx == low, first, flat).astype(np.int64)


def _max_poolnd_with_indices(name, nd, node, input, kernel_size, stride, padding, dilation, ceil_mode):  # noqa: A002
    k, s, p, d, out = _pool_args(name, nd, input, kernel_size, stride, padding, dilation, ceil_mode)
    _check_pool_pad(p, k, d, avg=False)
    idx = _max_pool_indices(get_xp(input._data), input._data, k, s, p, d, out)
    return apply(node, input, idx=idx, nd=nd), Tensor._wrap(idx)


def max_pool2d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,  # noqa: A002
                            return_indices=False):
    """Matches `torch.nn.functional.max_pool2d_with_indices`: (values, flat h*W+w indices)."""
    return _max_poolnd_with_indices("max_pool2d", 2, _PoolGather, input, kernel_size, stride, padding, dilation,
                                    ceil_mode)


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,  # noqa: A002
               return_indices=False):
    """Matches `torch.nn.functional.max_pool2d` (the gradient goes to the first max of each window)."""
    r = max_pool2d_with_indices(input, kernel_size, stride, padding, dilation, ceil_mode)
    return r if return_indices else r[0]


def max_pool3d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,  # noqa: A002
                            return_indices=False):
    """Matches `torch.nn.functional.max_pool3d_with_indices`: (values, flat (d*H+h)*W+w indices)."""
    return _max_poolnd_with_indices("max_pool3d", 3, _PoolGather3d, input, kernel_size, stride, padding, dilation,
                                    ceil_mode)


def max_pool3d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,  # noqa: A002
               return_indices=False):
    """Matches `torch.nn.functional.max_pool3d` (the gradient goes to the first max of each window)."""
    r = max_pool3d_with_indices(input, kernel_size, stride, padding, dilation, ceil_mode)
    return r if return_indices else r[0]


def _as2d(v, fill):
    """A 1d pooling argument as the 2d one of the unsqueezed input (height 1)."""
    if v is None:
        return None
    (v,) = _ntuple(v, 1)
    return (fill, v)


def _check_1d(name, input):  # noqa: A002
    if input.ndim not in (2, 3):
        raise RuntimeError(f"{name}() Expected 2D or 3D input tensor, but got {list(input.shape)}")


def max_pool1d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,  # noqa: A002
                            return_indices=False):
    """Matches `torch.nn.functional.max_pool1d_with_indices`."""
    _check_1d("max_pool1d", input)
    v, i = max_pool2d_with_indices(input.unsqueeze(-2), _as2d(kernel_size, 1), _as2d(stride, 1),
                                   _as2d(padding, 0), _as2d(dilation, 1), ceil_mode)
    return v.squeeze(-2), i.squeeze(-2)


def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,  # noqa: A002
               return_indices=False):
    """Matches `torch.nn.functional.max_pool1d`."""
    r = max_pool1d_with_indices(input, kernel_size, stride, padding, dilation, ceil_mode)
    return r if return_indices else r[0]


class _AvgPool:
    node_name = "AvgPool2DBackward0"

    @staticmethod
    def forward(ctx, x, kernel, stride, padding, hi, out, div):
        xp = get_xp(x)
        nd = len(kernel)
        ctx.args = (x.shape[-nd:], kernel, stride, padding, hi, out, div)
        win = _windows(xp, _np_pad(xp, x, padding, hi), kernel, stride, (1,) * nd, out)
        return (win.sum(axis=tuple(range(-nd, 0))) / div).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        size, kernel, stride, padding, hi, out, div = ctx.args
        nd = len(kernel)
        gd = g / _const(div, g)
        cols = gd.reshape(tuple(g.shape) + (1,) * nd).expand(tuple(g.shape) + kernel)
        full = tuple(n + p + h for n, p, h in zip(size, padding, hi))
        gx = apply(_Col2Im, cols, size=full, kernel=kernel, stride=stride, dilation=(1,) * nd, out=out)
        return _crop(gx, padding, size)


class _AvgPool3d(_AvgPool):
    node_name = "AvgPool3DBackward0"


def _avg_divisor(size, k, s, p, out, count_include_pad, divisor_override, dtype):
    """torch's per-window divisor: the window clipped to the padded input (count_include_pad) or to the
    input itself, as an array over the output positions."""
    if divisor_override is not None:
        return np.array(divisor_override, dtype=dtype)
    div = np.ones((), dtype=np.int64)
    for n, k_, s_, p_, o in zip(size, k, s, p, out):
        start = np.arange(o) * s_ - p_
        end = np.minimum(start + k_, n + p_)
        cnt = end - start if count_include_pad else np.minimum(end, n) - np.maximum(start, 0)
        div = np.multiply.outer(div, cnt)
    return div.astype(dtype)


def _avg_poolnd(name, nd, node, input, kernel_size, stride, padding, ceil_mode, count_include_pad,  # noqa: A002
                divisor_override):
    k, s, p, _, out = _pool_args(name, nd, input, kernel_size, stride, padding, 1, ceil_mode, check_input_size=nd == 3)
    _check_pool_pad(p, k, (1,) * nd, avg=True)
    if divisor_override is not None and divisor_override == 0:
        raise RuntimeError("divisor must be not zero")
    size = tuple(input.shape[-nd:])
    _, hi = _pool_pad(size, k, s, p, (1,) * nd, out)
    div = _avg_divisor(size, k, s, p, out, count_include_pad, divisor_override, input._data.dtype)
    return apply(node, input, kernel=k, stride=s, padding=p, hi=hi, out=out, div=get_xp(input._data).asarray(div))


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,  # noqa: A002
               divisor_override=None):
    """Matches `torch.nn.functional.avg_pool2d`."""
    return _avg_poolnd("avg_pool2d", 2, _AvgPool, input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                       divisor_override)


def avg_pool3d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,  # noqa: A002
               divisor_override=None):
    """Matches `torch.nn.functional.avg_pool3d`."""
    return _avg_poolnd("avg_pool3d", 3, _AvgPool3d, input, kernel_size, stride, padding, ceil_mode,
                       count_include_pad, divisor_override)


def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):  # noqa: A002
    """Matches `torch.nn.functional.avg_pool1d`."""
    _check_1d("avg_pool1d", input)
    return avg_pool2d(input.unsqueeze(-2), _as2d(kernel_size, 1), _as2d(stride, 1), _as2d(padding, 0), ceil_mode,
                      count_include_pad).squeeze(-2)


def _adaptive_bounds(n, o):
    """torch's adaptive windows: [floor(i*n/o), ceil((i+1)*n/o))."""
    i = np.arange(o)
    return (i * n) // o, -((-(i + 1) * n) // o)


def _adaptive_size(name, nd, input, output_size):  # noqa: A002
    if input.ndim not in (nd + 1, nd + 2) or any(n == 0 for n in input.shape[-nd:]):
        raise RuntimeError(f"{name}(): Expected {nd + 1}D or {nd + 2}D tensor with non-zero spatial dims, but got "
                           f"{list(input.shape)}")
    if isinstance(output_size, (tuple, list)):
        if len(output_size) != nd:
            raise RuntimeError(f"{name}: internal error: output_size.size() must be {nd}")
        out = tuple(n if o is None else int(o) for n, o in zip(input.shape[-nd:], output_size))
    else:
        out = (int(output_size),) * nd
    if any(o < 0 for o in out):
        raise RuntimeError(f"{name}: elements of output_size must be greater than or equal to 0 but received "
                           f"{list(out)}")
    return out


def adaptive_avg_pool2d(input, output_size):  # noqa: A002
    """Matches `torch.nn.functional.adaptive_avg_pool2d` (a separable average: einsum with one averaging
    matrix per spatial dim)."""
    out = _adaptive_size("adaptive_avg_pool2d", 2, input, output_size)
    return _adaptive_avg(input, out)


def adaptive_avg_pool3d(input, output_size):  # noqa: A002
    """Matches `torch.nn.functional.adaptive_avg_pool3d` (separable, as adaptive_avg_pool2d)."""
    out = _adaptive_size("adaptive_avg_pool3d", 3, input, output_size)
    return _adaptive_avg(input, out)


def _adaptive_avg(input, out):  # noqa: A002
    """One einsum of the input with an averaging matrix (out_i, in_i) per spatial dim."""
    mats = []
    for n, o in zip(input.shape[-len(out):], out):
        start, end = _adaptive_bounds(n, o)
        j = np.arange(n)
        m = ((j >= start[:, None]) & (j < end[:, None])) / (end - start)[:, None]
        mats.append(_const(m.astype(input._data.dtype), input))
    src, dst = "ijk"[:len(out)], "opq"[:len(out)]
    return _ops.einsum(f"...{src}," + ",".join(f"{a}{b}" for a, b in zip(dst, src)) + f"->...{dst}", input, *mats)


def adaptive_avg_pool1d(input, output_size):  # noqa: A002
    """Matches `torch.nn.functional.adaptive_avg_pool1d`."""
    _check_1d("adaptive_avg_pool1d", input)
    (o,) = _ntuple(output_size, 1)
    return adaptive_avg_pool2d(input.unsqueeze(-2), (1, o)).squeeze(-2)


def _adaptive_max_indices(xp, x, out):
    """Flat spatial index of each adaptive window's max (first max in window order)."""
    nd = len(out)
    size = x.shape[-nd:]
    starts, index, valid, ks = [], [], True, []
    for i, (n, o) in enumerate(zip(size, out)):
        start, end = _adaptive_bounds(n, o)
        k = int((end - start).max())
        pos = start[:, None] + np.arange(k)
        shape = [1] * (2 * nd)
        shape[i], shape[nd + i] = o, k
        index.append(xp.asarray(np.minimum(pos, n - 1).reshape(shape)))
        valid = valid & (pos < end[:, None]).reshape(shape)
        starts.append(start)
        ks.append(k)
    win = xp.where(xp.asarray(valid), x[(Ellipsis,) + tuple(index)], -xp.inf)  # (..., *O, *K)
    koff = xp.unravel_index(win.reshape(win.shape[:-nd] + (_prod(ks),)).argmax(-1), tuple(ks))
    flat = 0
    for i in range(nd):
        flat = flat * size[i] + xp.asarray(starts[i]).reshape((-1,) + (1,) * (nd - 1 - i)) + koff[i]
    return flat.astype(np.int64)


def _adaptive_max_poolnd_with_indices(name, nd, node, input, output_size):  # noqa: A002
    out = _adaptive_size(name, nd, input, output_size)
    idx = _adaptive_max_indices(get_xp(input._data), input._data, out)
    return apply(node, input, idx=idx, nd=nd), Tensor._wrap(idx)


def adaptive_max_pool2d_with_indices(input, output_size, return_indices=False):  # noqa: A002
    """Matches `torch.nn.functional.adaptive_max_pool2d_with_indices`."""
    return _adaptive_max_poolnd_with_indices("adaptive_max_pool2d", 2, _AdaptiveMaxGather, input, output_size)


def adaptive_max_pool2d(input, output_size, return_indices=False):  # noqa: A002
    """Matches `torch.nn.functional.adaptive_max_pool2d`."""
    r = adaptive_max_pool2d_with_indices(input, output_size)
    return r if return_indices else r[0]


def adaptive_max_pool3d_with_indices(input, output_size, return_indices=False):  # noqa: A002
    """Matches `torch.nn.functional.adaptive_max_pool3d_with_indices`."""
    return _adaptive_max_poolnd_with_indices("adaptive_max_pool3d", 3, _AdaptiveMaxGather3d, input, output_size)


def adaptive_max_pool3d(input, output_size, return_indices=False):  # noqa: A002
    """Matches `torch.nn.functional.adaptive_max_pool3d`."""
    r = adaptive_max_pool3d_with_indices(input, output_size)
    return r if return_indices else r[0]


def adaptive_max_pool1d_with_indices(input, output_size, return_indices=False):  # noqa: A002
    """Matches `torch.nn.functional.adaptive_max_pool1d_with_indices`."""
    _check_1d("adaptive_max_pool1d", input)
    (o,) = _ntuple(output_size, 1)
    v, i = adaptive_max_pool2d_with_indices(input.unsqueeze(-2), (1, o))
    return v.squeeze(-2), i.squeeze(-2)


def adaptive_max_pool1d(input, output_size, return_indices=False):  # noqa: A002
    """Matches `torch.nn.functional.adaptive_max_pool1d`."""
    r = adaptive_max_pool1d_with_indices(input, output_size)
    return r if return_indices else r[0]


# -- padding --------------------------------------------------------------------------------------
_NONCONST = ("reflect", "replicate", "circular")


def _pad_index(mode, n, lo, hi):
    j = np.arange(-lo, n + hi)
    if mode == "replicate":
        return np.clip(j, 0, n - 1)
    if mode == "circular":
        # torch crops a negative side first and wraps around what remains
        a, b = max(-lo, 0), n - max(-hi, 0)
        return a + (np.arange(-max(lo, 0), b - a + max(hi, 0)) % (b - a))
    j = np.abs(j)  # reflect: mirror about the first and the last element (edges not repeated)
    return np.where(j > n - 1, 2 * (n - 1) - j, j)


def pad(input, pad, mode="constant", value=None):  # noqa: A002
    """Matches `torch.nn.functional.pad`: ``pad`` lists (left, right) amounts from the last dim backwards;
    constant mode allows negative amounts (cropping)."""
    pad = tuple(int(p) for p in pad)
    if len(pad) % 2:
        raise RuntimeError("Padding length must be divisible by 2")
    npairs = len(pad) // 2
    if npairs > input.ndim:
        raise RuntimeError(f"Padding length should be less than or equal to two times the input dimension but got "
                           f"padding length {len(pad)} and input of dimension {input.ndim}")
    pairs = [(0, 0)] * input.ndim
    for i in range(npairs):
        pairs[input.ndim - 1 - i] = (pad[2 * i], pad[2 * i + 1])
    if mode == "constant":
        for d, ((lo, hi), n) in enumerate(zip(pairs, input.shape)):
            if n + lo + hi < 0:
                raise RuntimeError(f"The input size {n}, plus negative padding {lo} and {hi} resulted in a negative "
                                   f"output size, which is invalid. Check dimension {d} of your input.")
        return apply(_ConstantPad, input, pads=tuple(pairs), value=0 if value is None else value)
    if mode not in _NONCONST:
        raise NotImplementedError(f"Unrecognised padding mode {mode}")
    if value is not None and value != 0:
        raise ValueError(f'Padding mode "{mode}" doesn\'t take in value argument')
    if npairs not in (1, 2, 3) or input.ndim not in (npairs + 1, npairs + 2):
        raise NotImplementedError(
            f"Padding size {len(pad)} is not supported for {input.ndim}D input tensor.\n"
            "Supported combinations for non-constant padding:\n"
            "  - 2D or 3D input: padding size = 2 (pads last dimension)\n"
            "  - 3D or 4D input: padding size = 4 (pads last 2 dimensions)\n"
            "  - 4D or 5D input: padding size = 6 (pads last 3 dimensions)")
    x = input
    for d in range(input.ndim - npairs, input.ndim):
        lo, hi = pairs[d]
        n = x.shape[d]
        if mode == "reflect" and (lo >= n or hi >= n):
            # torch numbers the (left, right) pair of the i-th dim from the last as argument 4 + 2i
            raise RuntimeError(f"Argument #{4 + 2 * (input.ndim - 1 - d)}: Padding size should be less than the "
                               f"corresponding input dimension, but got: padding ({lo}, {hi}) at dimension {d} of "
                               f"input {list(input.shape)}")
        if mode == "circular" and (lo > n or hi > n):
            raise RuntimeError("Padding value causes wrapping around more than once.")
        if mode == "replicate" and n == 0 and (lo > 0 or hi > 0):
            raise RuntimeError(f"padding: input tensor has a zero-size dimension {d}, which replicate padding "
                               "cannot fill")
        if lo or hi:
            x = x.index_select(d, _const(_pad_index(mode, n, lo, hi), x))
    return x


# -- resampling -----------------------------------------------------------------------------------
def _nearest_index(n, o, scale, exact):
    """torch's nearest_idx / nearest_neighbor_exact_compute_source_index (float32 arithmetic)."""
    if not exact and o == n:
        return np.arange(o)
    if not exact and o == 2 * n:
        return np.arange(o) >> 1
    sc = np.float32(1.0 / scale) if scale else np.float32(n) / np.float32(o)
    dst = np.arange(o, dtype=np.float32) + (np.float32(0.5) if exact else np.float32(0))
    return np.minimum(np.floor(dst * sc).astype(np.int64), n - 1)


def _linear_weights(n, o, scale, align_corners, dtype):
    """torch's compute_source_index_and_lambda in the op's math type: (i0, i1, lambda0, lambda1)."""
    t = np.dtype(dtype).type
    if o == n:
        i = np.arange(o)
        return i, i, np.ones(o, dtype), np.zeros(o, dtype)
    if align_corners:
        ratio = t(n - 1) / t(o - 1) if o > 1 else t(0)
        src = ratio * np.arange(o, dtype=dtype)
    else:
        ratio = t(1.0 / scale) if scale else t(n) / t(o)
        src = np.maximum(ratio * (np.arange(o, dtype=dtype) + t(0.5)) - t(0.5), t(0))
    i0 = src.astype(np.int64)
    i1 = i0 + (i0 < n - 1)
    l1 = np.clip(src - i0, 0, 1).astype(dtype)
    return i0, i1, (t(1) - l1).astype(dtype), l1


def _bshape(ndim, d):
    s = [1] * ndim
    s[d] = -1
    return tuple(s)


def interpolate(input, size=None, scale_factor=None, mode="nearest", align_corners=None,  # noqa: A002
                recompute_scale_factor=None, antialias=False):
    """Matches `torch.nn.functional.interpolate` for modes nearest, nearest-exact, linear, bilinear, trilinear
    and area (bicubic and antialias raise NotImplementedError)."""
    nd = input.ndim - 2
    if mode in ("nearest", "area", "nearest-exact"):
        if align_corners is not None:
            raise ValueError("align_corners option can only be set with the interpolating modes: "
                             "linear | bilinear | bicubic | trilinear")
    elif align_corners is None:
        align_corners = False
    if antialias:
        raise NotImplementedError("interpolate(antialias=True) is not implemented in refgrad")
    spatial = list(input.shape[2:])
    if size is not None and scale_factor is not None:
        raise ValueError("only one of size or scale_factor should be defined")
    if size is not None:
        if isinstance(size, (list, tuple)) and len(size) != nd:
            raise ValueError(f"Input and output must have the same number of spatial dimensions, but got input with "
                             f"spatial dimensions of {spatial} and output size of {size}. Please provide input tensor "
                             "in (N, C, d1, d2, ...,dK) format and output size in (o1, o2, ...,oK) format.")
        out = tuple(int(v) for v in size) if isinstance(size, (list, tuple)) else (int(size),) * nd
        scales = (None,) * nd
    elif scale_factor is not None:
        if isinstance(scale_factor, (list, tuple)):
            if len(scale_factor) != nd:
                raise ValueError(f"Input and scale_factor must have the same number of spatial dimensions, but got "
                                 f"input with spatial dimensions of {spatial} and scale_factor of shape "
                                 f"{scale_factor}. Please provide input tensor in (N, C, d1, d2, ...,dK) format and "
                                 "scale_factor in (s1, s2, ...,sK) format.")
            scales = tuple(float(v) for v in scale_factor)
        else:
            scales = (float(scale_factor),) * nd
        out = tuple(math.floor(float(n * s)) for n, s in zip(spatial, scales))
        if recompute_scale_factor:
            scales = (None,) * nd
    else:
        raise ValueError("either size or scale_factor should be defined")
    if recompute_scale_factor and size is not None:
        raise ValueError("recompute_scale_factor is not meaningful with an explicit size.")
    if mode == "area":
        return _adaptive_avg(input, out)
    want = {"linear": 1, "bilinear": 2, "trilinear": 3, "bicubic": 2}
    if mode in want and nd != want[mode]:
        raise NotImplementedError(f"Got {input.ndim}D input, but {mode} mode needs {want[mode] + 2}D input")
    if mode not in ("nearest", "nearest-exact", "linear", "bilinear", "trilinear"):
        raise NotImplementedError(f"interpolate mode {mode!r} is not implemented in refgrad (supported: nearest, "
                                  "nearest-exact, linear, bilinear, trilinear, area)")
    if nd < 1:
        raise NotImplementedError(f"Input Error: Only 3D, 4D and 5D input Tensors supported (got {input.ndim}D) for "
                                  f"the modes: nearest | linear | bilinear | bicubic | trilinear | area | "
                                  f"nearest-exact (got {mode})")
    x = input
    for i, (n, o, sc) in enumerate(zip(spatial, out, scales)):
        d = 2 + i
        if mode.startswith("nearest"):
            x = x.index_select(d, _const(_nearest_index(n, o, sc, mode == "nearest-exact"), x))
            continue
        i0, i1, l0, l1 = _linear_weights(n, o, sc, align_corners, input._data.dtype)
        bs = _bshape(x.ndim, d)
        x = (x.index_select(d, _const(i0, x)) * _const(l0.reshape(bs), x)
             + x.index_select(d, _const(i1, x)) * _const(l1.reshape(bs), x))
    return x


def upsample(input, size=None, scale_factor=None, mode="nearest", align_corners=None):  # noqa: A002
    """Matches `torch.nn.functional.upsample` (deprecated alias of interpolate)."""
    return interpolate(input, size, scale_factor, mode, align_corners)


def upsample_nearest(input, size=None, scale_factor=None):  # noqa: A002
    """Matches `torch.nn.functional.upsample_nearest`."""
    return interpolate(input, size, scale_factor, mode="nearest")


def upsample_bilinear(input, size=None, scale_factor=None):  # noqa: A002
    """Matches `torch.nn.functional.upsample_bilinear` (align_corners=True, as torch's)."""
    return interpolate(input, size, scale_factor, mode="bilinear", align_corners=True)


# -- im2col / col2im ------------------------------------------------------------------------------
def unfold(input, kernel_size, dilation=1, padding=0, stride=1):  # noqa: A002
    """Matches `torch.nn.functional.unfold`: (N, C, H, W) -> (N, C*kh*kw, L) sliding blocks."""
    if input.ndim not in (3, 4):
        raise NotImplementedError(f"Input Error: Only 3D or 4D input Tensors are supported (got {input.ndim}D)")
    k, d, p, s = (_ntuple(v, 2, nm) for v, nm in ((kernel_size, "kernel_size"), (dilation, "dilation"),
                                                    (padding, "padding"), (stride, "stride")))

    def run(x):
        n, c = x.shape[:2]
        out = _conv_out(x.shape[2:], k, s, p, d)
        if any(o <= 0 for o in out):
            raise RuntimeError(f"Given input with spatial size ({x.shape[2]}, {x.shape[3]}), kernel_size={k}, "
                               f"dilation={d}, padding={p}, calculated shape of the array of sliding blocks as "
                               f"({out[0]}, {out[1]}), but its components must be at least one.")
        cols = apply(_Im2Col, _zero_pad(x, p, p), kernel=k, stride=s, dilation=d, out=out)  # (N, C, *O, *K)
        return cols.permute(0, 1, 4, 5, 2, 3).reshape(n, c * k[0] * k[1], out[0] * out[1])

    return _batched(run, input, 2)


def fold(input, output_size, kernel_size, dilation=1, padding=0, stride=1):  # noqa: A002
    """Matches `torch.nn.functional.fold`: sums the (N, C*kh*kw, L) blocks into (N, C, *output_size)."""
    if input.ndim not in (2, 3):
        raise NotImplementedError(f"Input Error: Only unbatched (2D) or batched (3D) input Tensors are supported "
                                  f"(got {input.ndim}D)")
    size, k, d, p, s = (_ntuple(v, 2, nm) for v, nm in ((output_size, "output_size"), (kernel_size, "kernel_size"),
                                                          (dilation, "dilation"), (padding, "padding"),
                                                          (stride, "stride")))
    out = _conv_out(size, k, s, p, d)

    def run(x):
        n, ck, nblocks = x.shape
        if ck % (k[0] * k[1]):
            raise RuntimeError(f"Expected size of input's dimension 1 to be divisible by the product of kernel_size, "
                               f"but got input.size(1)={ck} and kernel_size={k}")
        if out[0] * out[1] != nblocks:
            raise RuntimeError(f"Given output_size={size}, kernel_size={k}, dilation={d}, padding={p}, stride={s}, "
                               f"expected size of input's dimension 2 to match the calculated number of sliding "
                               f"blocks {out[0]} * {out[1]} = {out[0] * out[1]}, but got input.size(2)={nblocks}.")
        c = ck // (k[0] * k[1])
        cols = x.reshape(n, c, k[0], k[1], out[0], out[1]).permute(0, 1, 4, 5, 2, 3)
        full = tuple(n_ + 2 * p_ for n_, p_ in zip(size, p))
        res = apply(_Col2Im, cols, size=full, kernel=k, stride=s, dilation=d, out=out)
        return _crop(res, p, size)

    return run(input.unsqueeze(0)).squeeze(0) if input.ndim == 2 else run(input)


# -- pixel shuffle --------------------------------------------------------------------------------
def pixel_shuffle(input, upscale_factor):  # noqa: A002
    """Matches `torch.nn.functional.pixel_shuffle`: (*, C*r^2, H, W) -> (*, C, H*r, W*r)."""
    r = int(upscale_factor)
    if input.ndim < 3:
        raise RuntimeError(f"pixel_shuffle expects input to have at least 3 dimensions, but got input with "
                           f"{input.ndim} dimension(s)")
    if r <= 0:
        raise RuntimeError(f"pixel_shuffle expects a positive upscale_factor, but got {r}")
    *lead, c, h, w = input.shape
    if c % (r * r):
        raise RuntimeError(f"pixel_shuffle expects its input's 'channel' dimension to be divisible by the square of "
                           f"upscale_factor, but input.size(-3)={c} is not divisible by {r * r}")
    n = len(lead)
    x = input.reshape(*lead, c // (r * r), r, r, h, w)
    x = x.permute(*range(n), n, n + 3, n + 1, n + 4, n + 2)
    return x.reshape(*lead, c // (r * r), h * r, w * r)


def pixel_unshuffle(input, downscale_factor):  # noqa: A002
    """Matches `torch.nn.functional.pixel_unshuffle`: (*, C, H*r, W*r) -> (*, C*r^2, H, W)."""
    r = int(downscale_factor)
    if input.ndim < 3:
        raise RuntimeError(f"pixel_unshuffle expects input to have at least 3 dimensions, but got input with "
                           f"{input.ndim} dimension(s)")
    if r <= 0:
        raise RuntimeError(f"pixel_unshuffle expects a positive downscale_factor, but got {r}")
    *lead, c, h, w = input.shape
    if h % r:
        raise RuntimeError(f"pixel_unshuffle expects height to be divisible by downscale_factor, but "
                           f"input.size(-2)={h} is not divisible by {r}")
    if w % r:
        raise RuntimeError(f"pixel_unshuffle expects width to be divisible by downscale_factor, but "
                           f"input.size(-1)={w} is not divisible by {r}")
    n = len(lead)
    x = input.reshape(*lead, c, h // r, r, w // r, r)
    x = x.permute(*range(n), n, n + 2, n + 4, n + 1, n + 3)
    return x.reshape(*lead, c * r * r, h // r, w // r)
