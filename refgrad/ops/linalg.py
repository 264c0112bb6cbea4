"""Linear algebra. matmul is one batched primitive; 1-D operands are unsqueezed around it exactly
as torch's composite matmul does, and the engine reduces broadcast batch dims of the gradients."""
from __future__ import annotations

import numpy as np

from .._backend import get_xp
from .._tensor import Tensor, register_methods
from ..autograd.graph import apply
from ._core import same_device


class _MatMul:
    node_name = "MmBackward0"

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return get_xp(a).matmul(a, b)

    @staticmethod
    def backward(ctx, g):
        # mm_mat1_backward: grad.mm(mat2.t()); mm_mat2_backward: mat1.t().mm(grad)
        a, b = ctx.saved_tensors
        nig = ctx.needs_input_grad
        return (g.matmul(b.mT) if nig[0] else None), (a.mT.matmul(g) if nig[1] else None)


def _check_float_match(a, b, name):
    same_device(a, b)
    if a._data.dtype != b._data.dtype:
        raise RuntimeError(f"expected m1 and m2 to have the same dtype, but got: {a.dtype} != {b.dtype}"
                           if name != "dot" else
                           f"dot : expected both vectors to have same dtype, but found {a.dtype} and {b.dtype}")


def matmul(input, other, *, out=None):  # noqa: A002
    """Matches `torch.matmul` for every rank combination, with batch broadcasting."""
    a, b = input, other
    if not isinstance(a, Tensor) or not isinstance(b, Tensor):
        raise TypeError("matmul(): argument 'other' must be Tensor")
    _check_float_match(a, b, "matmul")
    na, nb = a._data.ndim, b._data.ndim
    if na == 0 or nb == 0:
        raise RuntimeError(f"both arguments to matmul need to be at least 1D, but they are {na}D and {nb}D")
    if na == 1 and nb == 1:
        return dot(a, b)
    sa, sb = a._data.shape, b._data.shape
    k_a = sa[-1]
    k_b = sb[0] if nb == 1 else sb[-2]
    if k_a != k_b:
        raise RuntimeError(_mismatch(sa, sb))
    if na == 1:
        return apply(_MatMul, a.unsqueeze(0), b).squeeze(-2)
    if nb == 1:
        return apply(_MatMul, a, b.unsqueeze(-1)).squeeze(-1)
    try:
        np.broadcast_shapes(sa[:-2], sb[:-2])
    except ValueError:
        raise RuntimeError(f"The size of tensor a ({sa[-3]}) must match the size of tensor b ({sb[-3]}) at "
                           "non-singleton dimension 0") from None
    return apply(_MatMul, a, b)


def _mismatch(sa, sb):
    """torch's wording for the rank combination at hand."""
    x = "x".join
    if len(sb) == 1:
        return f"size mismatch, got input ({sa[-2]}), mat ({x(map(str, sa))}), vec ({sb[0]})"
    if len(sa) <= 2 or len(sb) == 2:
        rows = 1
        for n in sa[:-1]:
            rows *= n
        return f"mat1 and mat2 shapes cannot be multiplied ({rows}x{sa[-1]} and {x(map(str, sb[-2:]))})"
    return (f"Expected size for first two dimensions of batch2 tensor to be: [{sb[0]}, {sa[-1]}] but got: "
            f"[{sb[0]}, {sb[-2]}].")


def mm(input, mat2, *, out=None):  # noqa: A002
    """Matches `torch.mm` (2-D only)."""
    if input._data.ndim != 2:
        raise RuntimeError("self must be a matrix")
    if mat2._data.ndim != 2:
        raise RuntimeError("mat2 must be a matrix")
    return matmul(input, mat2)


def bmm(input, mat2, *, out=None):  # noqa: A002
    """Matches `torch.bmm` (3-D, equal batch)."""
    if input._data.ndim != 3:
        raise RuntimeError("batch1 must be a 3D tensor")
    if mat2._data.ndim != 3:
        raise RuntimeError("batch2 must be a 3D tensor")
    if input._data.shape[0] != mat2._data.shape[0] or input._data.shape[2] != mat2._data.shape[1]:
        s1, s2 = input._data.shape, mat2._data.shape
        raise RuntimeError(f"Expected size for first two dimensions of batch2 tensor to be: [{s1[0]}, {s1[2]}] "
                           f"but got: [{s2[0]}, {s2[1]}].")
    return matmul(input, mat2)


def mv(input, vec, *, out=None):  # noqa: A002
    """Matches `torch.mv`."""
    if input._data.ndim != 2 or vec._data.ndim != 1:
        raise RuntimeError(f"vector + matrix @ vector expected, got 1, {input._data.ndim}, {vec._data.ndim}")
    return matmul(input, vec)


class _Dot:
    node_name = "DotBackward0"

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return get_xp(a).asarray(get_xp(a).dot(a, b))

    @staticmethod
    def backward(ctx, g):  # grad * other.conj(), grad * self.conj()
        a, b = ctx.saved_tensors
        return g * b, g * a


def dot(input, other, *, out=None):  # noqa: A002
    """Matches `torch.dot` (1-D, same dtype, same length)."""
    if input._data.ndim != 1 or other._data.ndim != 1:
        raise RuntimeError(f"1D tensors expected, but got {input._data.ndim}D and {other._data.ndim}D tensors")
    _check_float_match(input, other, "dot")
    if input._data.shape[0] != other._data.shape[0]:
        n, m = input._data.shape[0], other._data.shape[0]
        raise RuntimeError(f"inconsistent tensor size, expected tensor [{n}] and src [{m}] to have the same number "
                           f"of elements, but got {n} and {m} elements respectively")
    return apply(_Dot, input, other)


inner_dot = dot


def _rmatmul(self, other):
    return matmul(other, self)


register_methods({"matmul": matmul, "__matmul__": matmul, "__rmatmul__": _rmatmul, "mm": mm, "bmm": bmm,
                  "mv": mv, "dot": dot})

__all__ = ["matmul", "mm", "bmm", "mv", "dot"]
