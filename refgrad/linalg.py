"""Matches `torch.linalg`: exactly the names of torch.linalg that refgrad implements.

vector_norm and matrix_norm live with the reductions (refgrad/ops/reduction.py); they are looked up
there on first use, so this module imports whether or not that family provides them yet.
"""
from __future__ import annotations

from .ops import linalg as _ops
from .ops.linalg import (
    LinAlgError,
    cholesky,
    det,
    eigh,
    eigvalsh,
    inv,
    linalg_slogdet,
    matmul,
    matrix_power,
    multi_dot,
    pinv,
    qr,
    solve,
    svd,
    svdvals,
    vecdot,
)
from .ops.linalg import linalg_cross as cross

# vector_norm/matrix_norm resolve through __getattr__ below (hence the noqa)
__all__ = ["LinAlgError", "cholesky", "cross", "det", "eigh", "eigvalsh", "inv", "matmul", "matrix_power",
           "multi_dot", "norm", "pinv", "qr", "slogdet", "solve", "svd", "svdvals", "vecdot"]
__all__ += ["matrix_norm", "vector_norm"]  # noqa: F822

_REDUCTION_NAMES = ("vector_norm", "matrix_norm")


def __getattr__(name):
    if name in _REDUCTION_NAMES:
        from .ops import reduction  # noqa: PLC0415 - resolved lazily, see the module docstring
        try:
            return getattr(reduction, name)
        except AttributeError:
            raise AttributeError(f"refgrad.linalg.{name} is not available: refgrad.ops.reduction does not define "
                                 "it") from None
    raise AttributeError(f"module 'refgrad.linalg' has no attribute '{name}'")


def slogdet(A, *, out=None):
    """Matches `torch.linalg.slogdet`: (sign, logabsdet); the sign gets no gradient."""
    return linalg_slogdet(*_ops.slogdet(A))


def norm(A, ord=None, dim=None, keepdim=False, *, out=None, dtype=None):  # noqa: A002
    """Matches `torch.linalg.norm`: a matrix norm when ``ord`` is given and the reduced dims are two
    (``dim`` of length 2, or a 2-D input without ``dim``) or ``ord`` is 'fro'/'nuc'; otherwise a
    vector norm (ord=None: the 2-norm of the flattened input, or over ``dim``)."""
    if isinstance(dim, int):
        dim = (dim,)
    if dim is not None and len(dim) not in (1, 2):
        raise RuntimeError(f"linalg.norm: If dim is specified, it must be of length 1 or 2. Got {list(dim)}")
    if dim is None and (ord is not None) and A.ndim not in (1, 2):
        raise RuntimeError(f"linalg.norm: If dim is not specified but ord is, the input must be 1D or 2D. "
                           f"Got {A.ndim}D.")
    if isinstance(ord, str) or (ord is not None and (len(dim) == 2 if dim is not None else A.ndim == 2)):
        return __getattr__("matrix_norm")(A, ord, dim if dim is not None else (0, 1), keepdim, dtype=dtype)
    return __getattr__("vector_norm")(A, 2 if ord is None else ord, dim, keepdim, dtype=dtype)
