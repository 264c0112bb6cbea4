"""Matches `torch.nn.functional` for linear layers and activations.

Smooth activations are composites of refgrad ops (``where`` sends the whole gradient to the branch it
selects, so ``where(x <= 0, neg, x)`` gives the negative branch's slope at 0, as torch's ``self <= 0``
tests do). Piecewise-linear ones (hardtanh/relu6, leaky_relu, threshold, hard/softshrink, hardsigmoid)
are primitives with torch's kink rules whose gradient node stays connected to the input, as torch's
<Name>BackwardBackward0 (a composite's gradient would not require grad); hardswish is a primitive with
a Tensor-op backward (0 at -3, 1 at 3), so double backward works everywhere.
"""
from __future__ import annotations

import math
import warnings

from .. import ops as _ops
from .._backend import get_xp
from .._tensor import _TYPE_NAMES, Tensor
from ..autograd.graph import apply
from ..ops._core import inplace

__all__ = ["linear", "bilinear", "threshold", "threshold_", "relu", "relu_", "relu6", "hardtanh", "hardtanh_",
           "leaky_relu", "leaky_relu_", "prelu", "elu", "elu_", "selu", "selu_", "celu", "celu_", "gelu", "silu",
           "mish", "softplus", "softsign", "hardsigmoid", "hardswish", "logsigmoid", "tanh", "sigmoid",
           "tanhshrink", "softshrink", "hardshrink", "glu", "softmax", "log_softmax", "softmin"]

# torch's SELU constants (aten/src/ATen/native/Activation.cpp)
_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946
_SQRT1_2 = 1.0 / math.sqrt(2.0)
_SQRT_2_PI = math.sqrt(2.0 / math.pi)


def _maybe_inplace(fn, input, flag, *args):  # noqa: A002
    """torch's ``inplace=True``: the same function written into ``input`` (history rebased on it)."""
    return inplace(input, fn, *args) if flag else fn(input, *args)


# -- linear layers ------------------------------------------------------------------------------
def linear(input, weight, bias=None):  # noqa: A002
    """Matches `torch.nn.functional.linear`: ``input @ weight.T + bias``."""
    out = _ops.matmul(input, weight.t()) if weight.ndim == 2 else _ops.matmul(input, weight)
    return out if bias is None else out + bias


def bilinear(input1, input2, weight, bias=None):
    """Matches `torch.nn.functional.bilinear`: ``y_o = x1 @ W_o @ x2 + b_o`` over the last dims."""
    if input1.shape[:-1] != input2.shape[:-1]:
        raise RuntimeError(f"bilinear(): input batch dimensions do not match: got {list(input1.shape[:-1])} and "
                           f"{list(input2.shape[:-1])}")
    if weight.ndim != 3 or input1.shape[-1] != weight.shape[1] or input2.shape[-1] != weight.shape[2]:
        raise RuntimeError(f"bilinear(): input sizes {list(input1.shape)}, {list(input2.shape)} do not match the "
                           f"weight's {list(weight.shape)}")
    out = _ops.einsum("...i,oij,...j->...o", input1, weight, input2)
    return out if bias is None else out + bias


# -- primitives (torch's conventions a composite cannot express) ---------------------------------
def _piecewise(node_name, value, slope):
    """A piecewise-linear activation with torch's kink rule ``slope(xp, x, **params)`` (an array of x's
    dtype). Its gradient ``g * slope(x)`` is itself a node of (g, x), like torch's <Name>BackwardBackward0:
    its derivative in g is the same slope and in x is zero, so a second derivative exists (zero) and stays
    connected to x, as in torch."""

    class Backward:
        @staticmethod
        def forward(ctx, g, x, **params):
            ctx.save_for_backward(x)
            ctx.params = params
            s = slope(get_xp(x), x, **params)
            # a select, not g * 0, where the slope is 0: torch never turns an inf gradient into NaN there
            return get_xp(x).where(s != 0, g, 0) * s

        @staticmethod
        def backward(ctx, gg):
            (x,) = ctx.saved_tensors
            gx = _zeros(x) if ctx.needs_input_grad[1] else None
            return apply(Backward, gg, x, **ctx.params), gx

    class Op:
        @staticmethod
        def forward(ctx, x, **params):
            ctx.save_for_backward(x)
            ctx.params = params
            return value(get_xp(x), x, **params)

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return apply(Backward, g, x, **ctx.params)

    Op.node_name = node_name
    Backward.node_name = node_name.replace("Backward0", "BackwardBackward0")
    return Op


def _zeros(t):
    return Tensor._wrap(get_xp(t._data).zeros_like(t._data))


def _mask(x, keep):
    return keep.astype(x.dtype)


# hardtanh_backward: (x <= min || x >= max) ? 0 : grad (0 at both bounds, NaN passes)
_Hardtanh = _piecewise("HardtanhBackward0", lambda xp, x, lo, hi: xp.clip(x, lo, hi),
                       lambda xp, x, lo, hi: _mask(x, ~((x <= lo) | (x >= hi))))
# leaky_relu_backward: x > 0 ? grad : grad * slope (slope at 0 and for NaN)
_LeakyRelu = _piecewise("LeakyReluBackward0", lambda xp, x, neg: xp.where(x > 0, x, x * neg),
                        lambda xp, x, neg: xp.where(x > 0, x.dtype.type(1), x.dtype.type(neg)))
# threshold_backward: x <= threshold ? 0 : grad (torch's forward: x <= threshold ? value : x)
_Threshold = _piecewise("ThresholdBackward0", lambda xp, x, th, value: xp.where(x <= th, x.dtype.type(value), x),
                        lambda xp, x, th, value: _mask(x, ~(x <= th)))
# hardshrink / softshrink: 0 on [-lambd, lambd] with gradient 0 at its ends; NaN passes through
_Hardshrink = _piecewise("HardshrinkBackward0",
                         lambda xp, x, lambd: xp.where((x >= -lambd) & (x <= lambd), x.dtype.type(0), x),
                         lambda xp, x, lambd: _mask(x, ~((x >= -lambd) & (x <= lambd))))
_Softshrink = _piecewise("SoftshrinkBackward0",
                         lambda xp, x, lambd: xp.where((x >= -lambd) & (x <= lambd), x.dtype.type(0),
                                                       x - xp.sign(x) * x.dtype.type(lambd)),
                         lambda xp, x, lambd: _mask(x, ~((x >= -lambd) & (x <= lambd))))
# hardsigmoid_backward: (x > -3 && x < 3) ? grad / 6 : 0 (torch has no double backward; here it is zero)
_Hardsigmoid = _piecewise("HardsigmoidBackward0", lambda xp, x: xp.clip(x + 3, 0, 6) / 6,
                          lambda xp, x: _mask(x, (x > -3) & (x < 3)) / 6)


class _Hardswish:
    """hardswish_backward: ``x <= -3 ? 0 : x < 3 ? grad * (x / 3 + 0.5) : grad`` (0 at -3, 1 at 3); the
    Tensor-op backward differentiates to torch's double backward (1/3 strictly inside (-3, 3))."""
    node_name = "HardswishBackward0"

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * get_xp(x).clip(x + 3, 0, 6) / 6

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * _ops.where(x <= -3.0, 0.0, _ops.where(x < 3.0, x / 3 + 0.5, 1.0))


# -- activations ----------------------------------------------------------------------------------
def _threshold(x, th, value):
    return apply(_Threshold, x, th=th, value=value)


def threshold(input, threshold, value, inplace=False):  # noqa: A002
    """Matches `torch.nn.functional.threshold`."""
    return _maybe_inplace(_threshold, input, inplace, threshold, value)


def threshold_(input, threshold, value):  # noqa: A002
    return inplace(input, _threshold, threshold, value)


def relu(input, inplace=False):  # noqa: A002
    """Matches `torch.nn.functional.relu` (gradient 0 at 0)."""
    return input.relu_() if inplace else _ops.relu(input)


def relu_(input):  # noqa: A002
    return input.relu_()


def _hardtanh(x, lo, hi):
    return apply(_Hardtanh, x, lo=lo, hi=hi)


def hardtanh(input, min_val=-1.0, max_val=1.0, inplace=False):  # noqa: A002
    """Matches `torch.nn.functional.hardtanh` (gradient 0 at both bounds)."""
    if min_val > max_val:
        raise ValueError("min_val cannot be greater than max_val")
    return _maybe_inplace(_hardtanh, input, inplace, min_val, max_val)


def hardtanh_(input, min_val=-1.0, max_val=1.0):  # noqa: A002
    return hardtanh(input, min_val, max_val, True)


def relu6(input, inplace=False):  # noqa: A002
    """Matches `torch.nn.functional.relu6`: torch computes it as hardtanh(x, 0, 6)."""
    return hardtanh(input, 0.0, 6.0, inplace)


def _leaky_relu(x, slope):
    return apply(_LeakyRelu, x, neg=slope)


def leaky_relu(input, negative_slope=0.01, inplace=False):  # noqa: A002
    """Matches `torch.nn.functional.leaky_relu`."""
    return _maybe_inplace(_leaky_relu, input, inplace, negative_slope)


def leaky_relu_(input, negative_slope=0.01):  # noqa: A002
    return inplace(input, _leaky_relu, negative_slope)


def prelu(input, weight):  # noqa: A002
    """Matches `torch.nn.functional.prelu`: one slope, or one per channel (dim 1). At exactly x = 0 the
    mixed second derivative (of the weight gradient by x) is g here and 0 in torch."""
    if input.dtype != weight.dtype:
        raise RuntimeError(f"prelu: Type promoting not supported. Got {_TYPE_NAMES[input.dtype.name]} and "
                           f"{_TYPE_NAMES[weight.dtype.name]}")
    n = weight.numel()
    if n != 1:
        if input.ndim == 0:
            raise RuntimeError("Not allow zero-dim input tensor.")
        channels = input.shape[1] if input.ndim >= 2 else 1
        if n != channels:
            raise RuntimeError("Mismatch of parameter numbers and input channel size. Found parameter numbers = "
                               f"{n} and channel size = {channels}.")
        weight = weight.reshape((n,) + (1,) * (input.ndim - 2)) if input.ndim >= 2 else weight
    else:
        weight = weight.reshape(())
    return _ops.where(input > 0, input, weight * input)


def _elu(x, alpha, scale, input_scale):
    # torch's elu_backward tests x <= 0: the negative branch's slope alpha * scale * input_scale at 0,
    # and NaN goes to the linear branch; the inner where keeps the branch ``where`` drops finite (no
    # overflow for large x, no NaN for NaN x), so its zero gradient stays zero
    neg = (_ops.where(x <= 0, x, 0.0) * input_scale).expm1() * (alpha * scale)
    return _ops.where(x <= 0, neg, x * scale if scale != 1.0 else x)


def elu(input, alpha=1.0, inplace=False):  # noqa: A002
    """Matches `torch.nn.functional.elu` (slope alpha at 0). The second derivative at exactly 0 is alpha
    here and 0 in torch (its double backward masks x < 0)."""
    return _maybe_inplace(_elu, input, inplace, alpha, 1.0, 1.0)


def elu_(input, alpha=1.0):  # noqa: A002
    return elu(input, alpha, True)


def selu(input, inplace=False):  # noqa: A002
    """Matches `torch.nn.functional.selu`: elu with torch's alpha and scale."""
    return _maybe_inplace(_elu, input, inplace, _SELU_ALPHA, _SELU_SCALE, 1.0)


def selu_(input):  # noqa: A002
    return selu(input, True)


def celu(input, alpha=1.0, inplace=False):  # noqa: A002
    """Matches `torch.nn.functional.celu`: elu with input_scale 1/alpha (slope 1 at 0)."""
    return _maybe_inplace(_elu, input, inplace, alpha, 1.0, 1.0 / alpha)


def celu_(input, alpha=1.0):  # noqa: A002
    return celu(input, alpha, True)


def gelu(input, approximate="none"):  # noqa: A002
    """Matches `torch.nn.functional.gelu`: ``x * Phi(x)`` with erf, or torch's tanh approximation."""
    if approximate == "none":
        return input * 0.5 * (1.0 + _ops.erf(input * _SQRT1_2))
    if approximate == "tanh":
        return 0.5 * input * (1.0 + (_SQRT_2_PI * (input + 0.044715 * input * input * input)).tanh())
    raise RuntimeError("approximate argument must be either none or tanh.")


def silu(input, inplace=False):  # noqa: A002
    """Matches `torch.nn.functional.silu`: ``x * sigmoid(x)``."""
    return _maybe_inplace(lambda x: x * _ops.sigmoid(x), input, inplace)


def mish(input, inplace=False):  # noqa: A002
    """Matches `torch.nn.functional.mish`: ``x * tanh(softplus(x))``."""
    return _maybe_inplace(lambda x: x * softplus(x).tanh(), input, inplace)


def softplus(input, beta=1.0, threshold=20.0):  # noqa: A002
    """Matches `torch.nn.functional.softplus`: linear where ``x * beta > threshold`` (the soft branch at
    equality); the clamp keeps exp finite in the branch ``where`` drops. At exactly ``x * beta ==
    threshold`` the second derivative is the soft branch's here and 0 in torch."""
    z = input * beta
    soft = z.clamp_max(threshold).exp().log1p() / beta
    return _ops.where(z > threshold, input, soft)


def softsign(input):  # noqa: A002
    """Matches `torch.nn.functional.softsign`: ``x / (1 + |x|)``."""
    return input / (input.abs() + 1)


def hardsigmoid(input, inplace=False):  # noqa: A002
    """Matches `torch.nn.functional.hardsigmoid`: ``relu6(x + 3) / 6`` (gradient 0 at +-3)."""
    return _maybe_inplace(lambda x: apply(_Hardsigmoid, x), input, inplace)


def hardswish(input, inplace=False):  # noqa: A002
    """Matches `torch.nn.functional.hardswish`: ``x * relu6(x + 3) / 6``."""
    return _maybe_inplace(lambda x: apply(_Hardswish, x), input, inplace)


def logsigmoid(input):  # noqa: A002
    """Matches `torch.nn.functional.logsigmoid`: ``-softplus(-x)`` (gradient 1/2 at 0)."""
    return -softplus(-input)


def tanh(input):  # noqa: A002
    return _ops.tanh(input)


def sigmoid(input):  # noqa: A002
    return _ops.sigmoid(input)


def tanhshrink(input):  # noqa: A002
    """Matches `torch.nn.functional.tanhshrink`: ``x - tanh(x)``."""
    return input - input.tanh()


def softshrink(input, lambd=0.5):  # noqa: A002
    """Matches `torch.nn.functional.softshrink`: 0 on [-lambd, lambd] (gradient 0 at the ends, NaN passes)."""
    if lambd < 0:
        raise RuntimeError(f"lambda must be greater or equal to 0, but found to be {lambd}.")
    return apply(_Softshrink, input, lambd=lambd)


def hardshrink(input, lambd=0.5):  # noqa: A002
    """Matches `torch.nn.functional.hardshrink`: 0 on [-lambd, lambd] (gradient 0 at the ends)."""
    return apply(_Hardshrink, input, lambd=lambd)


def glu(input, dim=-1):  # noqa: A002
    """Matches `torch.nn.functional.glu`: ``a * sigmoid(b)`` for the two halves along ``dim``."""
    if input.ndim == 0:
        raise RuntimeError("glu does not support scalars because halving size must be even")
    d = dim % input.ndim
    n = input.shape[d]
    if n % 2:
        raise RuntimeError(f"Halving dimension must be even, but dimension {d} is size {n}")
    a, b = input.split(n // 2, d)
    return a * _ops.sigmoid(b)


def _softmax_dim(name, ndim, stacklevel):
    warnings.warn(f"Implicit dimension choice for {name} has been deprecated. Change the call to include dim=X "
                  "as an argument.", UserWarning, stacklevel=stacklevel)
    return 0 if ndim in (0, 1, 3) else 1


def softmax(input, dim=None, _stacklevel=3, dtype=None):  # noqa: A002
    """Matches `torch.nn.functional.softmax`."""
    if dim is None:
        dim = _softmax_dim("softmax", input.ndim, _stacklevel)
    return _ops.softmax(input, dim, dtype=dtype)


def log_softmax(input, dim=None, _stacklevel=3, dtype=None):  # noqa: A002
    """Matches `torch.nn.functional.log_softmax`."""
    if dim is None:
        dim = _softmax_dim("log_softmax", input.ndim, _stacklevel)
    return _ops.log_softmax(input, dim, dtype=dtype)


def softmin(input, dim=None, _stacklevel=3, dtype=None):  # noqa: A002
    """Matches `torch.nn.functional.softmin`: ``softmax(-x)``."""
    if dim is None:
        dim = _softmax_dim("softmin", input.ndim, _stacklevel)
    if dtype is not None:
        input = input.to(dtype)  # noqa: A001 - torch casts before negating
    return _ops.softmax(-input, dim)


# the other families of torch.nn.functional, one private module each (losses; convolution, pooling,
# padding and resampling; normalization, dropout, embedding and distances; grid sampling)
from . import _conv, _loss, _norm, _sampling  # noqa: E402
from ._conv import *  # noqa: E402,F403
from ._loss import *  # noqa: E402,F403
from ._norm import *  # noqa: E402,F403
from ._sampling import *  # noqa: E402,F403

__all__ += _conv.__all__ + _loss.__all__ + _norm.__all__ + _sampling.__all__
