"""Elementwise ops. One table per arity: (name, forward on arrays, backward in Tensor ops, what
it saves). Each row's backward cites the torch formula (tools/autograd/derivatives.yaml) it matches.
Broadcast reduction and dtype casting of the gradients happen in the engine, never here."""
from __future__ import annotations

import math

import numpy as np

from .. import _dtypes
from .._backend import get_xp
from .._tensor import Tensor, register_methods
from ..autograd.graph import apply
from ._core import inplace, is_tensor, promote_pair, result_dtype, same_device, to_float

_LN2 = math.log(2.0)
_LN10 = math.log(10.0)
_2_SQRTPI = 2.0 / math.sqrt(math.pi)
_SQRTPI_2 = math.sqrt(math.pi) / 2.0


def _sp():
    from . import _special  # noqa: PLC0415 - numpy-only special functions, loaded on first use
    return _special


def _zeros(g):
    return g * 0


# --------------------------------------------------------------------------------------------
# Unary table: name, forward(xp, x), backward(g, x, y) in Tensor ops, saves ("x", "y", "xy", ""),
# integral inputs: "float" (computed in the default float dtype) or "keep".
# --------------------------------------------------------------------------------------------
UNARY = [
    # abs: grad * self.sgn()  (0 at 0)
    ("abs", lambda xp, x: xp.abs(x), lambda g, x, y: g * x.sign(), "x", "keep"),
    # neg: grad.neg()
    ("neg", lambda xp, x: xp.negative(x), lambda g, x, y: -g, "", "keep"),
    # sign: zeros_like(grad)
    ("sign", lambda xp, x: xp.sign(x), lambda g, x, y: _zeros(g), "", "keep"),
    # exp: grad * result
    ("exp", lambda xp, x: xp.exp(x), lambda g, x, y: g * y, "y", "float"),
    # exp2: grad * result * M_LN2
    ("exp2", lambda xp, x: xp.exp2(x), lambda g, x, y: g * y * _LN2, "y", "float"),
    # expm1: grad * (result + 1)
    ("expm1", lambda xp, x: xp.expm1(x), lambda g, x, y: g * (y + 1), "y", "float"),
    # log: grad.div(self)
    ("log", lambda xp, x: xp.log(x), lambda g, x, y: g / x, "x", "float"),
    # log2: grad / (self * M_LN2)
    ("log2", lambda xp, x: xp.log2(x), lambda g, x, y: g / (x * _LN2), "x", "float"),
    # log10: grad / (self * M_LN10)
    ("log10", lambda xp, x: xp.log10(x), lambda g, x, y: g / (x * _LN10), "x", "float"),
    # log1p: log1p_backward = grad / (self + 1)
    ("log1p", lambda xp, x: xp.log1p(x), lambda g, x, y: g / (x + 1), "x", "float"),
    # sqrt: grad / (2 * result)   (inf at 0, as torch)
    ("sqrt", lambda xp, x: xp.sqrt(x), lambda g, x, y: g / (2 * y), "y", "float"),
    # rsqrt: -0.5 * grad * result.pow(3)
    ("rsqrt", lambda xp, x: _rsqrt(xp, x), lambda g, x, y: -0.5 * g * y.pow(3), "y", "float"),
    # square (= pow(self, 2)): grad * 2 * self
    ("square", lambda xp, x: xp.square(x), lambda g, x, y: g * (2 * x), "x", "keep"),
    # reciprocal: -grad * (result * result)
    ("reciprocal", lambda xp, x: _reciprocal(xp, x), lambda g, x, y: -g * (y * y), "y", "float"),
    # sin: grad * self.cos()
    ("sin", lambda xp, x: xp.sin(x), lambda g, x, y: g * x.cos(), "x", "float"),
    # cos: grad * -self.sin()
    ("cos", lambda xp, x: xp.cos(x), lambda g, x, y: g * -x.sin(), "x", "float"),
    # tan: grad * (1 + result.pow(2))
    ("tan", lambda xp, x: xp.tan(x), lambda g, x, y: g * (1 + y.pow(2)), "y", "float"),
    # asin: grad * (-self * self + 1).rsqrt()
    ("asin", lambda xp, x: xp.arcsin(x), lambda g, x, y: g * (-x * x + 1).rsqrt(), "x", "float"),
    # acos: grad * -((-self * self + 1).rsqrt())
    ("acos", lambda xp, x: xp.arccos(x), lambda g, x, y: g * -((-x * x + 1).rsqrt()), "x", "float"),
    # atan: grad / (self * self + 1)
    ("atan", lambda xp, x: xp.arctan(x), lambda g, x, y: g / (x * x + 1), "x", "float"),
    # sinh: grad * self.cosh()
    ("sinh", lambda xp, x: xp.sinh(x), lambda g, x, y: g * x.cosh(), "x", "float"),
    # cosh: grad * self.sinh()
    ("cosh", lambda xp, x: xp.cosh(x), lambda g, x, y: g * x.sinh(), "x", "float"),
    # tanh: tanh_backward(grad, result) = grad * (1 - result^2)
    ("tanh", lambda xp, x: xp.tanh(x), lambda g, x, y: g * (1 - y * y), "y", "float"),
    # asinh: grad * (self.pow(2) + 1).rsqrt()
    ("asinh", lambda xp, x: xp.arcsinh(x), lambda g, x, y: g * (x.pow(2) + 1).rsqrt(), "x", "float"),
    # acosh: grad * (self.pow(2) - 1).rsqrt()
    ("acosh", lambda xp, x: xp.arccosh(x), lambda g, x, y: g * (x.pow(2) - 1).rsqrt(), "x", "float"),
    # atanh: grad * 1 / (1 - self.pow(2))
    ("atanh", lambda xp, x: xp.arctanh(x), lambda g, x, y: g / (1 - x.pow(2)), "x", "float"),
    # sigmoid: sigmoid_backward(grad, result) = grad * result * (1 - result)
    ("sigmoid", lambda xp, x: _sigmoid(xp, x), lambda g, x, y: g * (y * (1 - y)), "y", "float"),
    # erf: 2.0 / sqrt(M_PI) * exp(-(self.pow(2))) * grad
    ("erf", lambda xp, x: _sp().erf(x), lambda g, x, y: _2_SQRTPI * (-(x.pow(2))).exp() * g, "x", "float"),
    # erfc: -2.0 / sqrt(M_PI) * exp(-(self.pow(2))) * grad
    ("erfc", lambda xp, x: _sp().erfc(x), lambda g, x, y: -_2_SQRTPI * (-(x.pow(2))).exp() * g, "x", "float"),
    # erfinv: 0.5 * sqrt(M_PI) * exp(self.erfinv().pow(2)) * grad
    ("erfinv", lambda xp, x: _sp().erfinv(x), lambda g, x, y: _SQRTPI_2 * y.pow(2).exp() * g, "y", "float"),
    # lgamma: grad * digamma(self)
    ("lgamma", lambda xp, x: _sp().lgamma(x), lambda g, x, y: g * x.digamma(), "x", "float"),
    # digamma: grad * polygamma(1, self)
    ("digamma", lambda xp, x: _sp().digamma(x), lambda g, x, y: g * polygamma(1, x), "x", "float"),
    # relu: threshold_backward(grad, result, 0): gradient 0 at 0
    ("relu", lambda xp, x: xp.maximum(x, 0).astype(x.dtype, copy=False), lambda g, x, y: g * (y > 0), "y", "keep"),
    # floor / ceil / round / trunc: zeros_like(grad)
    ("floor", lambda xp, x: xp.floor(x) if x.dtype.kind == "f" else x.copy(), lambda g, x, y: _zeros(g), "", "keep"),
    ("ceil", lambda xp, x: xp.ceil(x) if x.dtype.kind == "f" else x.copy(), lambda g, x, y: _zeros(g), "", "keep"),
    ("trunc", lambda xp, x: xp.trunc(x) if x.dtype.kind == "f" else x.copy(), lambda g, x, y: _zeros(g), "", "keep"),
    # frac: grad
    ("frac", lambda xp, x: x - xp.trunc(x), lambda g, x, y: g, "", "keep"),
    # bitwise/logical not and friends have no gradient and return non-float
]


def _rsqrt(xp, x):
    with np.errstate(divide="ignore"):
        return (1 / xp.sqrt(x)).astype(x.dtype, copy=False)


def _reciprocal(xp, x):
    with np.errstate(divide="ignore"):
        return (1 / x).astype(x.dtype, copy=False)


def _sigmoid(xp, x):
    # stable in both tails: exp(-|x|) never overflows
    e = xp.exp(-xp.abs(x))
    return xp.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype, copy=False)


def _make_unary(name, fwd, bwd, saves, kind):
    save_x = "x" in saves
    save_y = "y" in saves

    def forward(ctx, x):
        with np.errstate(all="ignore"):
            y = fwd(get_xp(x), x)
        if save_x and save_y:
            ctx.save_for_backward(x, y)
        elif save_x:
            ctx.save_for_backward(x)
        elif save_y:
            ctx.save_for_backward(y)
        return y

    if save_x and save_y:
        def backward(ctx, g):
            x, y = ctx.saved_tensors
            return bwd(g, x, y)
    elif save_x:
        def backward(ctx, g):
            return bwd(g, ctx.saved_tensors[0], None)
    elif save_y:
        def backward(ctx, g):
            return bwd(g, None, ctx.saved_tensors[0])
    else:
        def backward(ctx, g):
            return bwd(g, None, None)

    op = type(name.capitalize(), (), {"forward": staticmethod(forward), "backward": staticmethod(backward),
                                      "node_name": _node_name(name)})

    if kind == "float":
        def fn(input, *, out=None):  # noqa: A002 - torch's argument name
            return _out(apply(op, to_float(_as_tensor(input))), out)
    else:
        def fn(input, *, out=None):  # noqa: A002
            return _out(apply(op, _as_tensor(input)), out)
    fn.__name__ = name
    fn.__doc__ = f"Matches `torch.{name}`."
    return op, fn


def _node_name(name):
    special = {"abs": "AbsBackward0", "neg": "NegBackward0", "relu": "ReluBackward0",
               "sigmoid": "SigmoidBackward0", "tanh": "TanhBackward0"}
    return special.get(name, "".join(p.capitalize() for p in name.split("_")) + "Backward0")


def _as_tensor(x):
    if isinstance(x, Tensor):
        return x
    raise TypeError(f"expected Tensor as element 0 in argument 0, but got {type(x).__name__}")


def _out(r, out):
    if out is None:
        return r
    from ._core import write_into  # noqa: PLC0415
    if out.shape != r.shape:
        out._data = get_xp(out._data).empty(r._data.shape, dtype=out._data.dtype)
    write_into(out, r)
    return out


_fns = {}
_ops = {}
for _row in UNARY:
    _ops[_row[0]], _fns[_row[0]] = _make_unary(*_row)
globals().update(_fns)

absolute = _fns["abs"]
negative = _fns["neg"]
arcsin, arccos, arctan = _fns["asin"], _fns["acos"], _fns["atan"]
arcsinh, arccosh, arctanh = _fns["asinh"], _fns["acosh"], _fns["atanh"]
fix = _fns["trunc"]


def round(input, *, decimals=0, out=None):  # noqa: A001,A002 - torch's name
    """Matches `torch.round` (half to even; ``decimals``)."""
    if decimals == 0:
        return _out(apply(_Round, input), out)
    scale = 10.0 ** decimals
    return _out(apply(_Round, input * scale) / scale, out)


class _Round:
    node_name = "RoundBackward0"

    @staticmethod
    def forward(ctx, x):
        return get_xp(x).round(x) if x.dtype.kind == "f" else x.copy()

    @staticmethod
    def backward(ctx, g):
        return g * 0


def logit(input, eps=None, *, out=None):  # noqa: A002
    """Matches `torch.logit` (with eps: clamps into [eps, 1 - eps], zero gradient outside)."""
    return _out(apply(_Logit, to_float(input), eps=eps), out)


class _Logit:
    node_name = "LogitBackward0"

    @staticmethod
    def forward(ctx, x, eps):
        xp = get_xp(x)
        z = x if eps is None else xp.clip(x, eps, 1 - eps)
        ctx.eps = eps
        ctx.save_for_backward(x)
        with np.errstate(all="ignore"):
            return xp.log(z / (1 - z)).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        eps = ctx.eps
        if eps is None:
            # torch: (self < 0 || self > 1) ? NaN : grad / (self * (1 - self))
            bad = (x < 0) | (x > 1)
            return where(bad, float("nan"), g / (x * (1 - x)))
        out = (x < eps) | (x > 1 - eps)
        return where(out, 0.0, g / (x * (1 - x)))


def polygamma(n, input, *, out=None):  # noqa: A002
    """Matches `torch.polygamma`."""
    return _out(apply(_Polygamma, to_float(input), n=int(n)), out)


class _Polygamma:
    node_name = "PolygammaBackward0"

    @staticmethod
    def forward(ctx, x, n):
        ctx.n = n
        ctx.save_for_backward(x)
        return _sp().polygamma(n, x)

    @staticmethod
    def backward(ctx, g):
        # grad * polygamma(n + 1, self)
        return g * polygamma(ctx.n + 1, ctx.saved_tensors[0])


def mvlgamma(input, p):  # noqa: A002
    """Matches `torch.mvlgamma` (composite of lgamma)."""
    c = p * (p - 1) / 4 * math.log(math.pi)
    s = None
    for j in range(p):
        t = lgamma(input - j / 2)
        s = t if s is None else s + t
    return s + c


def sigmoid_(self):
    return inplace(self, sigmoid)


def nan_to_num(input, nan=0.0, posinf=None, neginf=None, *, out=None):  # noqa: A002
    """Matches `torch.nan_to_num`: the gradient passes where the input was finite, 0 where replaced."""
    return _out(apply(_NanToNum, input, nan=nan, posinf=posinf, neginf=neginf), out)


class _NanToNum:
    node_name = "NanToNumBackward0"

    @staticmethod
    def forward(ctx, x, nan, posinf, neginf):
        if x.dtype.kind != "f":
            return x.copy()
        xp = get_xp(x)
        ctx.save_for_backward(x)
        return xp.nan_to_num(x, nan=nan, posinf=posinf, neginf=neginf)

    @staticmethod
    def backward(ctx, g):
        # torch: grad * at::isfinite(self)
        return g * ctx.saved_tensors[0].isfinite()


# --------------------------------------------------------------------------------------------
# Binary ops. Operands are promoted (torch's rules) before the primitive sees them; the engine
# reduces the broadcast gradients and casts them back to each input's dtype.
# --------------------------------------------------------------------------------------------
class _Add:
    node_name = "AddBackward0"

    @staticmethod
    def forward(ctx, a, b):
        return a + b

    @staticmethod
    def backward(ctx, g):  # self: grad, other: grad (times alpha, applied outside)
        return g, g


class _Sub:
    node_name = "SubBackward0"

    @staticmethod
    def forward(ctx, a, b):
        return a - b

    @staticmethod
    def backward(ctx, g):  # self: grad, other: -grad
        return g, -g if ctx.needs_input_grad[1] else None


class _Mul:
    node_name = "MulBackward0"

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a * b

    @staticmethod
    def backward(ctx, g):  # self: grad * other, other: grad * self
        a, b = ctx.saved_tensors
        nig = ctx.needs_input_grad
        return (g * b if nig[0] else None), (g * a if nig[1] else None)


class _Div:
    node_name = "DivBackward0"

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        with np.errstate(divide="ignore", invalid="ignore"):
            return a / b

    @staticmethod
    def backward(ctx, g):  # self: grad / other, other: -grad * self / (other * other)
        a, b = ctx.saved_tensors
        nig = ctx.needs_input_grad
        return (g / b if nig[0] else None), (-g * a / (b * b) if nig[1] else None)


class _DivRounded:
    node_name = "DivBackward0"

    @staticmethod
    def forward(ctx, a, b, mode):
        xp = get_xp(a)
        with np.errstate(divide="ignore", invalid="ignore"):
            if a.dtype.kind == "f":
                q = a / b
                return (xp.trunc(q) if mode == "trunc" else xp.floor(q)).astype(a.dtype, copy=False)
            if (b == 0).any():
                raise RuntimeError("ZeroDivisionError")
            if mode == "floor":
                return xp.floor_divide(a, b)
            q = xp.abs(a) // xp.abs(b)
            return (q * xp.sign(a) * xp.sign(b)).astype(a.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):  # rounding modes: zeros
        return g * 0, g * 0


class _Pow:
    node_name = "PowBackward1"

    @staticmethod
    def forward(ctx, a, b):
        xp = get_xp(a)
        if a.dtype.kind in "iu" and (b < 0).any():
            raise RuntimeError("Integers to negative integer powers are not allowed.")
        with np.errstate(all="ignore"):
            y = xp.power(a, b)
        ctx.save_for_backward(a, b, y)
        return y

    @staticmethod
    def backward(ctx, g):
        a, b, y = ctx.saved_tensors
        nig = ctx.needs_input_grad
        ga = gb = None
        if nig[0]:
            # pow_backward_self: where(exponent == 0, 0, grad * exponent * pow(self, exponent - 1))
            ga = where(b == 0, 0.0, g * b * a.pow(b - 1))
        if nig[1]:
            # pow_backward_exponent: where(self == 0 & exponent >= 0, 0, grad * result * log(self))
            gb = where((a == 0) & (b >= 0), 0.0, g * y * a.log())
        return ga, gb


class _PowScalar:
    node_name = "PowBackward0"

    @staticmethod
    def forward(ctx, a, exponent):
        xp = get_xp(a)
        ctx.exponent = exponent
        ctx.save_for_backward(a)
        if a.dtype.kind in "iu" and exponent < 0:
            raise RuntimeError("Integers to negative integer powers are not allowed.")
        with np.errstate(all="ignore"):
            if exponent == 2:
                return a * a
            if exponent == 0.5:
                return xp.sqrt(a)
            return xp.power(a, a.dtype.type(exponent)).astype(a.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        # pow_backward: exponent == 0 ? zeros : grad * exponent * self.pow(exponent - 1)
        e = ctx.exponent
        (a,) = ctx.saved_tensors
        if e == 0:
            return g * 0
        if e == 2:
            return g * (2 * a)
        return g * (e * a.pow(e - 1))


class _RPowScalar:
    """scalar ** tensor."""
    node_name = "PowBackward2"

    @staticmethod
    def forward(ctx, b, base):
        xp = get_xp(b)
        with np.errstate(all="ignore"):
            y = xp.power(b.dtype.type(base), b).astype(b.dtype, copy=False)
        ctx.base = base
        ctx.save_for_backward(b, y)
        return y

    @staticmethod
    def backward(ctx, g):
        # pow_backward_exponent with a scalar base: base == 0 & exponent >= 0 -> 0
        b, y = ctx.saved_tensors
        if ctx.base == 0:
            return where(b >= 0, 0.0, g * y * float("-inf"))
        return g * y * math.log(ctx.base)


def _ext_maxmin(is_max):
    class _MaxMin:
        node_name = "MaximumBackward0" if is_max else "MinimumBackward0"

        @staticmethod
        def forward(ctx, a, b):
            ctx.save_for_backward(a, b)
            xp = get_xp(a)
            return xp.maximum(a, b) if is_max else xp.minimum(a, b)

        @staticmethod
        def backward(ctx, g):
            # torch: at::where(self == other, grad / 2, grad).masked_fill_(self < other, 0)
            a, b = ctx.saved_tensors
            half = g / 2
            lose_a = (a < b) if is_max else (a > b)
            ga = where(a == b, half, where(lose_a, 0.0, g))
            gb = where(a == b, half, where(lose_a, g, 0.0))
            return ga, gb
    return _MaxMin


_Maximum = _ext_maxmin(True)
_Minimum = _ext_maxmin(False)


def _ext_fmaxmin(is_max):
    class _FMaxMin:
        node_name = "FmaxBackward0" if is_max else "FminBackward0"

        @staticmethod
        def forward(ctx, a, b):
            ctx.save_for_backward(a, b)
            xp = get_xp(a)
            return xp.fmax(a, b) if is_max else xp.fmin(a, b)

        @staticmethod
        def backward(ctx, g):
            # torch: self gets grad where (self >= other) | other.isnan() (<= for fmin)
            a, b = ctx.saved_tensors
            take_a = ((a >= b) if is_max else (a <= b)) | b.isnan()
            return where(take_a, g, 0.0), where(take_a, 0.0, g)
    return _FMaxMin


_Fmax = _ext_fmaxmin(True)
_Fmin = _ext_fmaxmin(False)


class _Atan2:
    node_name = "Atan2Backward0"

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return get_xp(a).arctan2(a, b)

    @staticmethod
    def backward(ctx, g):
        # atan2_backward: recip = (self^2 + other^2).reciprocal(); (grad*other*recip, grad*-self*recip)
        a, b = ctx.saved_tensors
        r = (a * a + b * b).reciprocal()
        return g * b * r, g * -a * r


class _Hypot:
    node_name = "HypotBackward0"

    @staticmethod
    def forward(ctx, a, b):
        y = get_xp(a).hypot(a, b)
        ctx.save_for_backward(a, b, y)
        return y

    @staticmethod
    def backward(ctx, g):  # grad * self / result, grad * other / result
        a, b, y = ctx.saved_tensors
        return g * a / y, g * b / y


class _Copysign:
    node_name = "CopysignBackward0"

    @staticmethod
    def forward(ctx, a, b):
        y = get_xp(a).copysign(a, b)
        ctx.save_for_backward(a, y)
        return y

    @staticmethod
    def backward(ctx, g):
        # copysign_tensor_self_backward: where(self == 0, 0, grad * result / self); other: zeros
        a, y = ctx.saved_tensors
        return where(a == 0, 0.0, g * y / a), g * 0


class _Xlogy:
    node_name = "XlogyBackward0"

    @staticmethod
    def forward(ctx, a, b):
        xp = get_xp(a)
        ctx.save_for_backward(a, b)
        with np.errstate(all="ignore"):
            y = xp.where(a == 0, xp.zeros((), a.dtype), a * xp.log(b))
            return xp.where(xp.isnan(b), b, y).astype(a.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        # self: at::xlogy(grad, other).masked_fill((self == 0.) & (other <= 0.), 0.)
        # other: grad * self / other
        a, b = ctx.saved_tensors
        ga = where((a == 0) & (b <= 0), 0.0, xlogy(g, b))
        return ga, g * a / b


class _Fmod:
    node_name = "FmodBackward1"

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        xp = get_xp(a)
        if a.dtype.kind in "iu" and (b == 0).any():
            raise RuntimeError("ZeroDivisionError")
        with np.errstate(all="ignore"):
            return xp.fmod(a, b)

    @staticmethod
    def backward(ctx, g):  # self: grad, other: -grad * self.div(other, rounding_mode="trunc")
        a, b = ctx.saved_tensors
        return g, -g * div(a, b, rounding_mode="trunc")


class _Remainder:
    node_name = "RemainderBackward1"

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        xp = get_xp(a)
        if a.dtype.kind in "iu" and (b == 0).any():
            raise RuntimeError("ZeroDivisionError")
        with np.errstate(all="ignore"):
            return xp.remainder(a, b)

    @staticmethod
    def backward(ctx, g):  # self: grad, other: -grad * self.div(other, rounding_mode="floor")
        a, b = ctx.saved_tensors
        return g, -g * div(a, b, rounding_mode="floor")


def _binary(op, a, b):
    x, y = promote_pair(a, b)
    return apply(op, x, y)


def add(input, other, *, alpha=1, out=None):  # noqa: A002
    """Matches `torch.add` (input + alpha * other)."""
    if alpha != 1:
        other = other * alpha
    return _out(_binary(_Add, input, other), out)


def sub(input, other, *, alpha=1, out=None):  # noqa: A002
    """Matches `torch.sub`."""
    if _is_bool(input) or _is_bool(other):
        raise RuntimeError("Subtraction, the `-` operator, with a bool tensor is not supported. "
                           "If you are trying to invert a mask, use the `~` or `logical_not()` operator instead.")
    if alpha != 1:
        other = other * alpha
    return _out(_binary(_Sub, input, other), out)


def _is_bool(x):
    return isinstance(x, Tensor) and x._data.dtype.kind == "b"


subtract = sub


def rsub(input, other, *, alpha=1):  # noqa: A002
    return sub(other, input, alpha=alpha)


def mul(input, other, *, out=None):  # noqa: A002
    """Matches `torch.mul`."""
    return _out(_binary(_Mul, input, other), out)


multiply = mul


def div(input, other, *, rounding_mode=None, out=None):  # noqa: A002
    """Matches `torch.div`: true division promotes integers to the default float; rounding modes
    'trunc' and 'floor' keep the promoted dtype and have zero gradient."""
    x, y = promote_pair(input, other)
    if rounding_mode is None:
        if _kind(x) != "f":
            x = to_float(x) if isinstance(x, Tensor) else x
            y = to_float(y) if isinstance(y, Tensor) else y
            x, y = promote_pair(x if isinstance(x, Tensor) else float(x), y if isinstance(y, Tensor) else float(y))
        return _out(apply(_Div, x, y), out)
    if rounding_mode not in ("trunc", "floor"):
        raise RuntimeError(f"div expected rounding_mode to be one of None, 'trunc', or 'floor' but found '{rounding_mode}'")
    return _out(apply(_DivRounded, x, y, mode=rounding_mode), out)


def _kind(x):
    return x._data.dtype.kind if isinstance(x, Tensor) else np.asarray(x).dtype.kind


divide = div
true_divide = div


def floor_divide(input, other, *, out=None):  # noqa: A002
    """Matches `torch.floor_divide` (floor rounding, as torch >= 1.13)."""
    return div(input, other, rounding_mode="floor", out=out)


def remainder(input, other, *, out=None):  # noqa: A002
    """Matches `torch.remainder` (sign of the divisor, like Python's %)."""
    return _out(_binary(_Remainder, input, other), out)


def fmod(input, other, *, out=None):  # noqa: A002
    """Matches `torch.fmod` (sign of the dividend, like C's fmod)."""
    return _out(_binary(_Fmod, input, other), out)


def pow(input, exponent, *, out=None):  # noqa: A001,A002
    """Matches `torch.pow` (tensor or scalar on either side)."""
    if isinstance(input, Tensor) and not isinstance(exponent, Tensor):
        x, _ = promote_pair(input, exponent)
        return _out(apply(_PowScalar, x, exponent=exponent), out)
    if not isinstance(input, Tensor):
        _, y = promote_pair(input, exponent)
        return _out(apply(_RPowScalar, y, base=input), out)
    return _out(_binary(_Pow, input, exponent), out)


def float_power(input, exponent, *, out=None):  # noqa: A002
    """Matches `torch.float_power` (computed in float64)."""
    x = input.double() if isinstance(input, Tensor) else float(input)
    e = exponent.double() if isinstance(exponent, Tensor) else float(exponent)
    return _out(pow(x, e), out)


def maximum(input, other, *, out=None):  # noqa: A002
    """Matches `torch.maximum`: ties split the gradient in half."""
    _need_tensor(other, "maximum")
    return _out(_binary(_Maximum, input, other), out)


def minimum(input, other, *, out=None):  # noqa: A002
    """Matches `torch.minimum`: ties split the gradient in half."""
    _need_tensor(other, "minimum")
    return _out(_binary(_Minimum, input, other), out)


def _need_tensor(x, name):
    if not isinstance(x, Tensor):
        raise TypeError(f"{name}(): argument 'other' (position 2) must be Tensor, not {type(x).__name__}")


def fmax(input, other, *, out=None):  # noqa: A002
    """Matches `torch.fmax` (NaN-ignoring maximum)."""
    return _out(_binary(_Fmax, input, other), out)


def fmin(input, other, *, out=None):  # noqa: A002
    """Matches `torch.fmin`."""
    return _out(_binary(_Fmin, input, other), out)


def atan2(input, other, *, out=None):  # noqa: A002
    """Matches `torch.atan2`."""
    return _out(_binary(_Atan2, to_float(input), to_float(other)), out)


arctan2 = atan2


def hypot(input, other, *, out=None):  # noqa: A002
    """Matches `torch.hypot`."""
    return _out(_binary(_Hypot, input, other), out)


def copysign(input, other, *, out=None):  # noqa: A002
    """Matches `torch.copysign`."""
    a = to_float(input) if isinstance(input, Tensor) else float(input)
    return _out(_binary(_Copysign, a, other if not isinstance(other, Tensor) else to_float(other)), out)


def xlogy(input, other, *, out=None):  # noqa: A002
    """Matches `torch.xlogy` (0 where input == 0, NaN where other is NaN)."""
    a = to_float(input) if isinstance(input, Tensor) else float(input)
    b = to_float(other) if isinstance(other, Tensor) else float(other)
    return _out(_binary(_Xlogy, a, b), out)


def lerp(input, end, weight, *, out=None):  # noqa: A002
    """Matches `torch.lerp`: start + weight * (end - start)."""
    # torch: grads (1 - weight) * grad, weight * grad, (end - start) * grad
    return _out(input + weight * (end - input), out)


def addcmul(input, tensor1, tensor2, *, value=1, out=None):  # noqa: A002
    """Matches `torch.addcmul`."""
    p = tensor1 * tensor2
    return _out(input + (p * value if value != 1 else p), out)


def addcdiv(input, tensor1, tensor2, *, value=1, out=None):  # noqa: A002
    """Matches `torch.addcdiv`."""
    if tensor1._data.dtype.kind in "iub" and tensor2._data.dtype.kind in "iub":
        raise RuntimeError("Integer division with addcdiv is no longer supported, and in a future "
                           "release addcdiv will perform a true division of tensor1 and tensor2.")
    q = tensor1 / tensor2
    return _out(input + (q * value if value != 1 else q), out)


# -- where / clamp ------------------------------------------------------------------------------
class _Where:
    node_name = "WhereBackward0"

    @staticmethod
    def forward(ctx, cond, a, b):
        ctx.save_for_backward(cond)
        return get_xp(a).where(cond, a, b)

    @staticmethod
    def backward(ctx, g):
        # self: where(condition, grad, 0), other: where(condition, 0, grad)
        (c,) = ctx.saved_tensors
        nig = ctx.needs_input_grad
        z = g * 0 if (nig[1] or nig[2]) else None
        return None, (where(c, g, z) if nig[1] else None), (where(c, z, g) if nig[2] else None)


def where(condition, input=None, other=None, *, out=None):  # noqa: A002
    """Matches `torch.where` (one-argument form is nonzero(as_tuple=True))."""
    if input is None and other is None:
        from .indexing import nonzero  # noqa: PLC0415
        return nonzero(condition, as_tuple=True)
    if not isinstance(condition, Tensor):
        raise TypeError("where(): argument 'condition' must be Tensor")
    if condition._data.dtype.kind != "b":
        raise RuntimeError(f"where expected condition to be a boolean tensor, but got a tensor with dtype {_dtypes._NP2DT[condition._data.dtype].name.capitalize()}")
    if isinstance(input, Tensor) or isinstance(other, Tensor):
        x, y = promote_pair(input, other)
    else:
        dt = result_dtype(input, other).np
        xp = get_xp(condition._data)
        x, y = Tensor._wrap(xp.asarray(input, dtype=dt)), Tensor._wrap(xp.asarray(other, dtype=dt))
    if not isinstance(x, Tensor):
        x = Tensor._wrap(get_xp(y._data).asarray(x))
    if not isinstance(y, Tensor):
        y = Tensor._wrap(get_xp(x._data).asarray(y))
    same_device(condition, x, y)
    return _out(apply(_Where, condition, x, y), out)


class _ClampScalar:
    node_name = "ClampBackward1"

    @staticmethod
    def forward(ctx, x, lo, hi):
        xp = get_xp(x)
        ctx.lo, ctx.hi = lo, hi
        ctx.save_for_backward(x)
        y = x
        if lo is not None:
            y = xp.maximum(y, x.dtype.type(lo))
        if hi is not None:
            y = xp.minimum(y, x.dtype.type(hi))
        if xp.isnan(x).any() if x.dtype.kind == "f" else False:
            y = xp.where(xp.isnan(x), x, y)
        return y.astype(x.dtype, copy=False) if y is not x else x.copy()

    @staticmethod
    def backward(ctx, g):
        # clamp_backward: grad * ((self >= min) & (self <= max)); gradient passes at the bounds
        (x,) = ctx.saved_tensors
        m = None
        if ctx.lo is not None:
            m = x >= ctx.lo
        if ctx.hi is not None:
            m2 = x <= ctx.hi
            m = m2 if m is None else m & m2
        return g * m


class _ClampTensor:
    node_name = "ClampBackward0"

    @staticmethod
    def forward(ctx, x, lo, hi):
        xp = get_xp(x)
        ctx.save_for_backward(x, lo, hi)
        ctx.has = (lo is not None, hi is not None)
        y = x
        if lo is not None:
            y = xp.maximum(y, lo)
        if hi is not None:
            y = xp.minimum(y, hi)
        return y.astype(x.dtype, copy=False) if y is not x else x.copy()

    @staticmethod
    def backward(ctx, g):
        # clamp_backward_min_max (FunctionsManual.cpp), including its choices where min >= max
        x, lo, hi = ctx.saved_tensors
        has_lo, has_hi = ctx.has
        if has_lo and has_hi:
            return (where((x >= lo) & (x <= hi), g, 0.0), where((x < lo) & (lo < hi), g, 0.0),
                    where((x > hi) | (hi < lo), g, 0.0))
        if has_lo:
            return where(x >= lo, g, 0.0), where(x < lo, g, 0.0), None
        return where(x <= hi, g, 0.0), None, where(x > hi, g, 0.0)


def clamp(input, min=None, max=None, *, out=None):  # noqa: A001,A002
    """Matches `torch.clamp` (scalar or tensor bounds; gradient passes at the bounds)."""
    if min is None and max is None:
        raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
    if isinstance(min, Tensor) or isinstance(max, Tensor):
        ops = [input] + [b for b in (min, max) if b is not None]
        dt = result_dtype(*ops)
        x = input if input.dtype == dt else input.to(dt)
        lo = None if min is None else (min.to(dt) if isinstance(min, Tensor) else _full_like_scalar(x, min))
        hi = None if max is None else (max.to(dt) if isinstance(max, Tensor) else _full_like_scalar(x, max))
        same_device(x, lo, hi)
        return _out(apply(_ClampTensor, x, lo, hi), out)
    dt = result_dtype(input, *(b for b in (min, max) if b is not None))
    x = input if input.dtype == dt else input.to(dt)
    return _out(apply(_ClampScalar, x, lo=min, hi=max), out)


def _full_like_scalar(x, v):
    return Tensor._wrap(get_xp(x._data).asarray(v, dtype=x._data.dtype))


clip = clamp


def clamp_min(input, min):  # noqa: A002
    return clamp(input, min=min)


def clamp_max(input, max):  # noqa: A002
    return clamp(input, max=max)


# -- comparisons, predicates, logical and bitwise (no gradient) -----------------------------------
def _cmp(npname):
    def fn(input, other, *, out=None):  # noqa: A002
        x, y = promote_pair(input, other)
        xa = x._data if isinstance(x, Tensor) else x
        ya = y._data if isinstance(y, Tensor) else y
        xp = get_xp(xa if isinstance(x, Tensor) else ya)
        return _out(Tensor._wrap(xp.asarray(getattr(xp, npname)(xa, ya))), out)
    fn.__name__ = npname
    return fn


eq, ne, lt, le, gt, ge = (_cmp(n) for n in ("equal", "not_equal", "less", "less_equal", "greater", "greater_equal"))
greater, greater_equal, less, less_equal, not_equal = gt, ge, lt, le, ne


def _pred(fn_name, float_only=True):
    def fn(input):  # noqa: A002
        d = input._data
        xp = get_xp(d)
        if d.dtype.kind != "f" and float_only:
            res = xp.zeros(d.shape, dtype=bool) if fn_name != "isfinite" else xp.ones(d.shape, dtype=bool)
            return Tensor._wrap(res)
        return Tensor._wrap(xp.asarray(getattr(xp, fn_name)(d)))
    fn.__name__ = fn_name
    return fn


isnan, isinf, isfinite, signbit = (_pred(n) for n in ("isnan", "isinf", "isfinite", "signbit"))
isposinf = _pred("isposinf")
isneginf = _pred("isneginf")


def isreal(input):  # noqa: A002
    return Tensor._wrap(get_xp(input._data).ones(input._data.shape, dtype=bool))


def isclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):  # noqa: A002
    """Matches `torch.isclose`."""
    x, y = promote_pair(input, other)
    xp = get_xp(x._data)
    return Tensor._wrap(xp.asarray(xp.isclose(x._data, y._data, rtol=rtol, atol=atol, equal_nan=equal_nan)))


def allclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):  # noqa: A002
    """Matches `torch.allclose`."""
    return bool(isclose(input, other, rtol, atol, equal_nan)._data.all())


def equal(input, other):  # noqa: A002
    """Matches `torch.equal`: same shape and same values."""
    same_device(input, other)
    if input.shape != other.shape:
        return False
    return bool((input._data == other._data).all())


def _logical(npname):
    def fn(input, other=None, *, out=None):  # noqa: A002
        if npname == "logical_not":
            return _out(Tensor._wrap(get_xp(input._data).logical_not(input._data)), out)
        same_device(input, other)
        xa = input._data
        ya = other._data if isinstance(other, Tensor) else other
        return _out(Tensor._wrap(getattr(get_xp(xa), npname)(xa, ya)), out)
    fn.__name__ = npname
    return fn


logical_and, logical_or, logical_xor, logical_not = (
    _logical(n) for n in ("logical_and", "logical_or", "logical_xor", "logical_not"))


def _bitwise(npname):
    def fn(input, other=None, *, out=None):  # noqa: A002
        if npname == "invert":
            d = input._data
            if d.dtype.kind == "f":
                raise RuntimeError("\"bitwise_not_cpu\" not implemented for 'Float'")
            return _out(Tensor._wrap(get_xp(d).invert(d)), out)
        x, y = promote_pair(input, other)
        xa = x._data if isinstance(x, Tensor) else x
        ya = y._data if isinstance(y, Tensor) else y
        if (isinstance(x, Tensor) and xa.dtype.kind == "f") or (isinstance(y, Tensor) and ya.dtype.kind == "f"):
            raise RuntimeError(f"\"{npname}_cpu\" not implemented for 'Float'")
        xp = get_xp(xa if isinstance(x, Tensor) else ya)
        return _out(Tensor._wrap(xp.asarray(getattr(xp, npname)(xa, ya))), out)
    fn.__name__ = npname
    return fn


bitwise_and, bitwise_or, bitwise_xor, bitwise_not = (
    _bitwise(n) for n in ("bitwise_and", "bitwise_or", "bitwise_xor", "invert"))
bitwise_left_shift = _bitwise("left_shift")
bitwise_right_shift = _bitwise("right_shift")


# -- operators and methods ------------------------------------------------------------------------
def _rdiv(self, other):
    return div(other, self)


def _rpow(self, other):
    return pow(other, self)


def _neg_op(self):
    if self._data.dtype.kind == "b":
        raise RuntimeError("Negation, the `-` operator, on a bool tensor is not supported. If you are "
                           "trying to invert a mask, use the `~` or `logical_not()` operator instead.")
    return neg(self)


def _ip(fn):
    def method(self, *args, **kwargs):
        return inplace(self, fn, *args, **kwargs)
    method.__name__ = fn.__name__ + "_"
    return method


_methods = {
    "__add__": add, "__radd__": lambda s, o: add(o, s), "__iadd__": lambda s, o: inplace(s, add, o),
    "__sub__": sub, "__rsub__": lambda s, o: sub(o, s), "__isub__": lambda s, o: inplace(s, sub, o),
    "__mul__": mul, "__rmul__": lambda s, o: mul(o, s), "__imul__": lambda s, o: inplace(s, mul, o),
    "__truediv__": div, "__rtruediv__": _rdiv, "__itruediv__": lambda s, o: inplace(s, div, o),
    "__floordiv__": floor_divide, "__rfloordiv__": lambda s, o: floor_divide(o, s),
    "__ifloordiv__": lambda s, o: inplace(s, floor_divide, o),
    "__mod__": remainder, "__rmod__": lambda s, o: remainder(o, s),
    "__imod__": lambda s, o: inplace(s, remainder, o),
    "__pow__": pow, "__rpow__": _rpow, "__ipow__": lambda s, o: inplace(s, pow, o),
    "__neg__": _neg_op, "__pos__": lambda s: s, "__abs__": lambda s: abs(s),
    "__eq__": eq, "__ne__": ne, "__lt__": lt, "__le__": le, "__gt__": gt, "__ge__": ge,
    "__and__": lambda s, o: _andor(s, o, "and"), "__rand__": lambda s, o: _andor(s, o, "and"),
    "__or__": lambda s, o: _andor(s, o, "or"), "__ror__": lambda s, o: _andor(s, o, "or"),
    "__xor__": lambda s, o: _andor(s, o, "xor"), "__rxor__": lambda s, o: _andor(s, o, "xor"),
    "__iand__": lambda s, o: inplace(s, lambda a, b: _andor(a, b, "and"), o),
    "__ior__": lambda s, o: inplace(s, lambda a, b: _andor(a, b, "or"), o),
    "__ixor__": lambda s, o: inplace(s, lambda a, b: _andor(a, b, "xor"), o),
    "__invert__": lambda s: bitwise_not(s) if s._data.dtype.kind != "b" else logical_not(s),
    "__lshift__": bitwise_left_shift, "__rshift__": bitwise_right_shift,
}
_methods["__hash__"] = object.__hash__


def _andor(a, b, which):
    return {"and": bitwise_and, "or": bitwise_or, "xor": bitwise_xor}[which](a, b)


_PLAIN = ["add", "sub", "subtract", "mul", "multiply", "div", "divide", "true_divide", "floor_divide",
          "remainder", "fmod", "pow", "float_power", "maximum", "minimum", "fmax", "fmin", "atan2",
          "arctan2", "hypot", "copysign", "xlogy", "lerp", "addcmul", "addcdiv", "clamp", "clip",
          "clamp_min", "clamp_max", "eq", "ne", "lt", "le", "gt", "ge", "greater", "greater_equal",
          "less", "less_equal", "not_equal", "logical_and", "logical_or", "logical_xor", "logical_not",
          "bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_not", "bitwise_left_shift",
          "bitwise_right_shift", "round", "logit", "nan_to_num", "isnan", "isinf", "isfinite",
          "signbit", "isposinf", "isneginf", "isreal", "isclose", "allclose", "equal", "absolute",
          "negative", "arcsin", "arccos", "arctan", "arcsinh", "arccosh", "arctanh", "fix", "rsub", "mvlgamma"]
_INPLACE = ["add", "sub", "subtract", "mul", "multiply", "div", "divide", "true_divide", "floor_divide",
            "remainder", "fmod", "pow", "float_power", "atan2", "arctan2", "hypot", "copysign", "xlogy",
            "lerp", "addcmul", "addcdiv", "clamp", "clip", "clamp_min", "clamp_max", "round", "logit",
            "nan_to_num", "eq", "ne", "lt", "le", "gt", "ge", "logical_and", "logical_or", "logical_xor",
            "logical_not", "bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_not", "absolute",
            "negative", "arcsin", "arccos", "arctan", "arcsinh", "arccosh", "arctanh", "fix", "mvlgamma"]

_g = globals()
for _n in _PLAIN:
    _methods[_n] = _g[_n]
for _n in _INPLACE:
    _methods[_n + "_"] = _ip(_g[_n])
for _n, _f in _fns.items():
    _methods[_n] = _f
    _methods[_n + "_"] = _ip(_f)
_methods["polygamma"] = lambda self, n: polygamma(n, self)
_methods["polygamma_"] = lambda self, n: inplace(self, lambda s: polygamma(n, s))
_methods["where"] = lambda self, condition, other: where(condition, self, other)
register_methods(_methods)

__all__ = list(_fns) + _PLAIN + ["where", "polygamma", "sigmoid_"]
__all__ = [n for n in __all__ if n not in ("abs", "round", "pow")] + ["abs", "round", "pow"]
