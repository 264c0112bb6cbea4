"""Matches `torch.nn` activation modules: thin wrappers over refgrad.nn.functional with torch's
constructor arguments and extra_repr strings."""
from __future__ import annotations

from ...ops.creation import empty
from .. import functional as F
from .. import init
from ..parameter import Parameter
from .module import Module

__all__ = ["Threshold", "ReLU", "Hardtanh", "ReLU6", "Sigmoid", "Hardsigmoid", "Tanh", "SiLU", "Mish", "Hardswish",
           "ELU", "CELU", "SELU", "GLU", "GELU", "Hardshrink", "LeakyReLU", "LogSigmoid", "Softplus", "Softshrink",
           "PReLU", "Softsign", "Tanhshrink", "Softmin", "Softmax", "LogSoftmax"]


def _inplace_str(inplace, lead=", "):
    return f"{lead}inplace=True" if inplace else ""


class _Inplace(Module):
    """An activation whose only argument is ``inplace`` (repr ``inplace=True`` when set)."""

    _fn = None
    _show_inplace = True

    def __init__(self, inplace=False):
        super().__init__()
        self.inplace = inplace

    def forward(self, input):  # noqa: A002
        return type(self)._fn(input, inplace=self.inplace)

    def extra_repr(self):
        return _inplace_str(self.inplace, "") if self._show_inplace else ""


class _Plain(Module):
    """An activation without arguments."""

    _fn = None

    def forward(self, input):  # noqa: A002
        return type(self)._fn(input)


class Threshold(Module):
    """Matches `torch.nn.Threshold`: ``x if x > threshold else value``."""

    def __init__(self, threshold, value, inplace=False):
        super().__init__()
        self.threshold, self.value, self.inplace = threshold, value, inplace

    def forward(self, input):  # noqa: A002
        return F.threshold(input, self.threshold, self.value, self.inplace)

    def extra_repr(self):
        return f"threshold={self.threshold}, value={self.value}{_inplace_str(self.inplace)}"


class ReLU(_Inplace):
    """Matches `torch.nn.ReLU`."""
    _fn = staticmethod(F.relu)


class SiLU(_Inplace):
    """Matches `torch.nn.SiLU`."""
    _fn = staticmethod(F.silu)


class Mish(_Inplace):
    """Matches `torch.nn.Mish`."""
    _fn = staticmethod(F.mish)


class SELU(_Inplace):
    """Matches `torch.nn.SELU`."""
    _fn = staticmethod(F.selu)


class Hardsigmoid(_Inplace):
    """Matches `torch.nn.Hardsigmoid` (no extra_repr, as torch)."""
    _fn = staticmethod(F.hardsigmoid)
    _show_inplace = False


class Hardswish(_Inplace):
    """Matches `torch.nn.Hardswish` (no extra_repr, as torch)."""
    _fn = staticmethod(F.hardswish)
    _show_inplace = False


class Hardtanh(Module):
    """Matches `torch.nn.Hardtanh`."""

    def __init__(self, min_val=-1.0, max_val=1.0, inplace=False):
        super().__init__()
        self.min_val, self.max_val, self.inplace = min_val, max_val, inplace
        if self.max_val <= self.min_val:
            raise AssertionError(f"max_val ({self.max_val}) must be greater than min_val ({self.min_val})")

    def forward(self, input):  # noqa: A002
        return F.hardtanh(input, self.min_val, self.max_val, self.inplace)

    def extra_repr(self):
        return f"min_val={self.min_val}, max_val={self.max_val}{_inplace_str(self.inplace)}"


class ReLU6(Hardtanh):
    """Matches `torch.nn.ReLU6`: Hardtanh(0, 6)."""

    def __init__(self, inplace=False):
        super().__init__(0.0, 6.0, inplace)

    def extra_repr(self):
        return _inplace_str(self.inplace, "")


class Sigmoid(_Plain):
    """Matches `torch.nn.Sigmoid`."""
    _fn = staticmethod(F.sigmoid)


class Tanh(_Plain):
    """Matches `torch.nn.Tanh`."""
    _fn = staticmethod(F.tanh)


class LogSigmoid(_Plain):
    """Matches `torch.nn.LogSigmoid`."""
    _fn = staticmethod(F.logsigmoid)


class Softsign(_Plain):
    """Matches `torch.nn.Softsign`."""
    _fn = staticmethod(F.softsign)


class Tanhshrink(_Plain):
    """Matches `torch.nn.Tanhshrink`."""
    _fn = staticmethod(F.tanhshrink)


class ELU(Module):
    """Matches `torch.nn.ELU`."""

    def __init__(self, alpha=1.0, inplace=False):
        super().__init__()
        self.alpha, self.inplace = alpha, inplace

    def forward(self, input):  # noqa: A002
        return F.elu(input, self.alpha, self.inplace)

    def extra_repr(self):
        return f"alpha={self.alpha}{_inplace_str(self.inplace)}"


class CELU(ELU):
    """Matches `torch.nn.CELU`."""

    def forward(self, input):  # noqa: A002
        return F.celu(input, self.alpha, self.inplace)


class GLU(Module):
    """Matches `torch.nn.GLU`."""

    def __init__(self, dim=-1):
        super().__init__()
        self.dim = dim

    def forward(self, input):  # noqa: A002
        return F.glu(input, self.dim)

    def extra_repr(self):
        return f"dim={self.dim}"


class GELU(Module):
    """Matches `torch.nn.GELU` (approximate 'none' or 'tanh')."""

    def __init__(self, approximate="none"):
        super().__init__()
        self.approximate = approximate

    def forward(self, input):  # noqa: A002
        return F.gelu(input, approximate=self.approximate)

    def extra_repr(self):
        return f"approximate={self.approximate!r}"


class Hardshrink(Module):
    """Matches `torch.nn.Hardshrink`."""

    def __init__(self, lambd=0.5):
        super().__init__()
        self.lambd = lambd

    def forward(self, input):  # noqa: A002
        return F.hardshrink(input, self.lambd)

    def extra_repr(self):
        return f"{self.lambd}"


class Softshrink(Hardshrink):
    """Matches `torch.nn.Softshrink`."""

    def forward(self, input):  # noqa: A002
        return F.softshrink(input, self.lambd)


class LeakyReLU(Module):
    """Matches `torch.nn.LeakyReLU`."""

    def __init__(self, negative_slope=0.01, inplace=False):
        super().__init__()
        self.negative_slope, self.inplace = negative_slope, inplace

    def forward(self, input):  # noqa: A002
        return F.leaky_relu(input, self.negative_slope, self.inplace)

    def extra_repr(self):
        return f"negative_slope={self.negative_slope}{_inplace_str(self.inplace)}"


class Softplus(Module):
    """Matches `torch.nn.Softplus`."""

    def __init__(self, beta=1.0, threshold=20.0):
        super().__init__()
        self.beta, self.threshold = beta, threshold

    def forward(self, input):  # noqa: A002
        return F.softplus(input, self.beta, self.threshold)

    def extra_repr(self):
        return f"beta={self.beta}, threshold={self.threshold}"


class PReLU(Module):
    """Matches `torch.nn.PReLU`: a learnable slope (one, or one per channel), initialized to ``init``."""

    def __init__(self, num_parameters=1, init=0.25, device=None, dtype=None):  # noqa: A002
        self.num_parameters = num_parameters
        super().__init__()
        self.init = init
        self.weight = Parameter(empty(num_parameters, device=device, dtype=dtype))
        self.reset_parameters()

    def reset_parameters(self):
        init.constant_(self.weight, self.init)

    def forward(self, input):  # noqa: A002
        return F.prelu(input, self.weight)

    def extra_repr(self):
        return f"num_parameters={self.num_parameters}"


class _SoftmaxBase(Module):
    _fn = None

    def __init__(self, dim=None):
        super().__init__()
        self.dim = dim

    def forward(self, input):  # noqa: A002
        return type(self)._fn(input, self.dim, _stacklevel=5)

    def extra_repr(self):
        return f"dim={self.dim}"


class Softmax(_SoftmaxBase):
    """Matches `torch.nn.Softmax`."""
    _fn = staticmethod(F.softmax)


class LogSoftmax(_SoftmaxBase):
    """Matches `torch.nn.LogSoftmax`."""
    _fn = staticmethod(F.log_softmax)


class Softmin(_SoftmaxBase):
    """Matches `torch.nn.Softmin`."""
    _fn = staticmethod(F.softmin)
