"""Linear algebra: the matmul family, the fused BLAS-style ops (addmm, baddbmm, ...) and the
decompositions behind ``refgrad.linalg``.

matmul is one batched primitive; 1-D operands are unsqueezed around it exactly as torch's composite
matmul does, and the engine reduces broadcast batch dims of the gradients. Decompositions are
primitives on ``xp.linalg`` (numpy and cupy both have them) whose backwards are torch's formulas
(FunctionsManual.cpp) written in refgrad ops, so every backward is differentiable again. Small
structural helpers (tril, diagonal, column slices) are written as products with constant masks or
selection matrices, so they are differentiable without any extra primitive.
"""
from __future__ import annotations

from collections import namedtuple

import numpy as np

from .._backend import asnumpy, get_xp
from .._tensor import Tensor, register_methods
from ..autograd.grad_mode import is_grad_enabled
from ..autograd.graph import apply
from ._core import _type_word, inplace, result_dtype, same_device

# torch.return_types
slogdet_result = namedtuple("slogdet", ["sign", "logabsdet"])
linalg_slogdet = namedtuple("linalg_slogdet", ["sign", "logabsdet"])
linalg_qr = namedtuple("linalg_qr", ["Q", "R"])
linalg_eigh = namedtuple("linalg_eigh", ["eigenvalues", "eigenvectors"])
linalg_svd = namedtuple("linalg_svd", ["U", "S", "Vh"])


class LinAlgError(RuntimeError):
    """Matches `torch.linalg.LinAlgError` (torch._C._LinAlgError): a RuntimeError subclass raised
    when a factorization meets a singular or non positive-definite input."""


# -- structural helpers (differentiable, no extra primitives) -----------------------------------
def _const(x: Tensor, arr) -> Tensor:
    """A constant (no graph edge) on ``x``'s backend in ``x``'s dtype."""
    return Tensor._wrap(get_xp(x._data).asarray(arr, dtype=x._data.dtype))


def _eye(x: Tensor, n: int, m: int | None = None) -> Tensor:
    return _const(x, get_xp(x._data).eye(n, m if m is not None else n, dtype=x._data.dtype))


def _tri_mask(x: Tensor, k: int, lower: bool) -> Tensor:
    xp = get_xp(x._data)
    m, n = x._data.shape[-2:]
    mask = xp.tri(m, n, k, dtype=x._data.dtype)
    return _const(x, mask if lower else 1 - xp.tri(m, n, k - 1, dtype=x._data.dtype))


def _tril(x: Tensor, k: int = 0) -> Tensor:
    return x * _tri_mask(x, k, True)


def _triu(x: Tensor, k: int = 0) -> Tensor:
    return x * _tri_mask(x, k, False)


def _diagonal(x: Tensor) -> Tensor:
    """The main diagonal of square matrices (..., n, n) -> (..., n)."""
    return (x * _eye(x, x._data.shape[-1])).sum(-1)


def _diag_embed(v: Tensor) -> Tensor:
    """(..., n) -> diagonal matrices (..., n, n)."""
    return v.unsqueeze(-1) * _eye(v, v._data.shape[-1])


def _cols(x: Tensor, k: int) -> Tensor:
    """x[..., :, :k] when k <= ncols, or x zero-padded to k columns when k > ncols."""
    n = x._data.shape[-1]
    return x if n == k else x.matmul(_eye(x, n, k))


def _rows(x: Tensor, k: int) -> Tensor:
    """x[..., :k, :] (or zero-padded to k rows)."""
    m = x._data.shape[-2]
    return x if m == k else _eye(x, k, m).matmul(x)


def _ignore(x: Tensor) -> Tensor:
    """Zeros shaped like ``x`` that still route a zero gradient to ``x`` (torch's beta=0 rule: the
    input is ignored, NaNs included, yet its gradient is a defined zero)."""
    return x.where(Tensor._wrap(get_xp(x._data).zeros(x._data.shape, dtype=bool)), 0.0)


# -- argument checks ----------------------------------------------------------------------------
def _check_matrix(A, name: str, square: bool = True, arg: str = "A"):
    if not isinstance(A, Tensor):
        raise TypeError(f"{name}(): argument '{arg}' (position 1) must be Tensor, not {type(A).__name__}")
    d = A._data
    if d.ndim < 2:
        raise RuntimeError(f"{name}: The input tensor {arg} must have at least 2 dimensions.")
    if d.dtype.kind != "f":
        raise RuntimeError(f"{name}: Expected a floating point or complex tensor as input. Got {_type_word(d.dtype)}")
    if d.dtype == np.float16:
        raise RuntimeError(f"{name}: Low precision dtypes not supported. Got Half")
    if square and d.shape[-1] != d.shape[-2]:
        raise RuntimeError(f"{name}: {arg} must be batches of square matrices, but they are "
                           f"{d.shape[-2]} by {d.shape[-1]} matrices")


def _zero_pivot(a) -> int:
    """1-based position of the first zero pivot of partial-pivoting LU (LAPACK getrf's info), 0 if none."""
    a = np.array(a, dtype=np.float64)
    n = a.shape[0]
    for j in range(n):
        p = j + int(np.argmax(np.abs(a[j:, j])))
        if a[p, j] == 0:
            return j + 1
        a[[j, p]] = a[[p, j]]
        a[j + 1:, j + 1:] -= np.outer(a[j + 1:, j] / a[j, j], a[j, j + 1:])
    return 0


def _not_pd_order(a) -> int:
    """Order of the first leading minor that is not positive-definite (potrf's info), 0 if none."""
    for k in range(1, a.shape[0] + 1):
        try:
            np.linalg.cholesky(a[:k, :k])
        except np.linalg.LinAlgError:
            return k
    return 0


_SINGULAR = {
    "inv": (_zero_pivot, "The diagonal element {k} is zero, the inversion could not be completed because the "
                         "input matrix is singular."),
    "solve": (_zero_pivot, "The solver failed because the input matrix is singular."),
    "cholesky": (_not_pd_order, "The factorization could not be completed because the input is not "
                                "positive-definite (the leading minor of order {k} is not positive-definite)."),
}


def _linalg_error(a, name: str, kind: str) -> LinAlgError:
    """torch's message for the first failing matrix of the batch ``a`` (backend array)."""
    find, msg = _SINGULAR[kind]
    arr = asnumpy(a)
    mats = arr.reshape((-1,) + arr.shape[-2:])
    for b, m in enumerate(mats):
        k = find(m)
        if k:
            where = f"(Batch element {b}): " if arr.ndim > 2 else ""
            return LinAlgError(f"{name}: {where}{msg.format(k=k)}")
    # LAPACK met an exact zero pivot that our float64 re-elimination rounded away
    return LinAlgError(f"{name}: {msg.format(k='?')}")


def _checked(fn, a, name: str, kind: str):
    """Run ``fn(a)``; numpy raises on singular input, cupy returns non-finite values: both become
    torch's LinAlgError."""
    xp = get_xp(a)
    try:
        r = fn(a)
    except np.linalg.LinAlgError:
        raise _linalg_error(a, name, kind) from None
    if xp is not np:
        first = r[0] if isinstance(r, tuple) else r
        if not bool(xp.isfinite(first).all()) and bool(xp.isfinite(a).all()):
            raise _linalg_error(a, name, kind)
    return r


# -- matmul family ------------------------------------------------------------------------------
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


def _same_dtype(a, b, msg):
    same_device(a, b)
    if a._data.dtype != b._data.dtype:
        raise RuntimeError(msg.format(a=_type_word(a._data.dtype), b=_type_word(b._data.dtype),
                                      ca=_C_NAMES[a._data.dtype.name], cb=_C_NAMES[b._data.dtype.name]))


# the C++ scalar names some torch kernels print
_C_NAMES = {"float32": "float", "float64": "double", "float16": "c10::Half", "int64": "long int", "int32": "int",
            "int16": "short int", "int8": "signed char", "uint8": "unsigned char", "bool": "bool"}


def _prod(shape) -> int:
    n = 1
    for s in shape:
        n *= s
    return n


def _x(shape) -> str:
    return "x".join(map(str, shape))


def _broadcast_batch(sa, sb):
    """torch's infer_size over batch shapes, with its message (the last mismatch from the right)."""
    try:
        return np.broadcast_shapes(sa, sb)
    except ValueError:
        nd = max(len(sa), len(sb))
        pa, pb = (1,) * (nd - len(sa)) + tuple(sa), (1,) * (nd - len(sb)) + tuple(sb)
        i = max(i for i in range(nd) if pa[i] != pb[i] and pa[i] != 1 and pb[i] != 1)
        raise RuntimeError(f"The size of tensor a ({pa[i]}) must match the size of tensor b ({pb[i]}) at "
                           f"non-singleton dimension {i}") from None


def matmul(input, other, *, out=None):  # noqa: A002
    """Matches `torch.matmul` for every rank combination, with batch broadcasting. Shape errors use
    the wording of the kernel torch dispatches to (mv / mm / folded mm / bmm) for contiguous inputs."""
    a, b = input, other
    if not isinstance(a, Tensor) or not isinstance(b, Tensor):
        raise TypeError(f"matmul(): argument 'other' (position 2) must be Tensor, not "
                        f"{type(b if isinstance(a, Tensor) else a).__name__}")
    na, nb = a._data.ndim, b._data.ndim
    if na == 0 or nb == 0:
        raise RuntimeError(f"both arguments to matmul need to be at least 1D, but they are {na}D and {nb}D")
    if na == 1 and nb == 1:
        return dot(a, b)
    _same_dtype(a, b, "expected m1 and m2 to have the same dtype, but got: {ca} != {cb}")
    sa, sb = a._data.shape, b._data.shape
    ka, kb = sa[-1], (sb[0] if nb == 1 else sb[-2])
    batch = _broadcast_batch(sa[:-2], sb[:-2] if nb > 1 else ())
    if ka != kb:
        raise RuntimeError(_mismatch(sa, sb, batch))
    if na == 1:
        return apply(_MatMul, a.unsqueeze(0), b).squeeze(-2)
    if nb == 1:
        return apply(_MatMul, a, b.unsqueeze(-1)).squeeze(-1)
    return apply(_MatMul, a, b)


def _mismatch(sa, sb, batch):
    if len(sb) == 1:  # mv, or a folded N-D @ 1-D
        rows = _prod(sa[:-1])
        return f"size mismatch, got input ({rows}), mat ({rows}x{sa[-1]}), vec ({sb[0]})"
    if len(sb) == 2 and len(sa) >= 2:  # mm, or a folded N-D @ 2-D
        return f"mat1 and mat2 shapes cannot be multiplied ({_prod(sa[:-1])}x{sa[-1]} and {_x(sb)})"
    if len(sa) == 1 and len(sb) == 2:
        return f"mat1 and mat2 shapes cannot be multiplied (1x{sa[0]} and {_x(sb)})"
    nb = _prod(batch)
    return f"Expected size for first two dimensions of batch2 tensor to be: [{nb}, {sa[-1]}] but got: [{nb}, {sb[-2]}]."


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
    s1, s2 = input._data.shape, mat2._data.shape
    if s1[0] != s2[0] or s1[2] != s2[1]:
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
        nig = ctx.needs_input_grad
        return (g * b if nig[0] else None), (g * a if nig[1] else None)


def dot(input, other, *, out=None):  # noqa: A002
    """Matches `torch.dot` (1-D, same dtype, same length)."""
    if input._data.ndim != 1 or other._data.ndim != 1:
        raise RuntimeError(f"1D tensors expected, but got {input._data.ndim}D and {other._data.ndim}D tensors")
    _same_dtype(input, other, "dot : expected both vectors to have same dtype, but found {a} and {b}")
    if input._data.shape[0] != other._data.shape[0]:
        n, m = input._data.shape[0], other._data.shape[0]
        raise RuntimeError(f"inconsistent tensor size, expected tensor [{n}] and src [{m}] to have the same number "
                           f"of elements, but got {n} and {m} elements respectively")
    return apply(_Dot, input, other)


vdot = dot  # real tensors: conj is the identity


def outer(input, vec2, *, out=None):  # noqa: A002
    """Matches `torch.outer` (promotes dtypes like mul)."""
    for t, arg in ((input, "self"), (vec2, "vec2")):
        if t._data.ndim != 1:
            raise RuntimeError(f"outer: Expected 1-D argument {arg}, but got {t._data.ndim}-D")
    return input.unsqueeze(-1) * vec2


ger = outer


def inner(input, other, *, out=None):  # noqa: A002
    """Matches `torch.inner`: contraction over the last dims; a 0-d operand multiplies."""
    if input._data.ndim == 0 or other._data.ndim == 0:
        return input * other
    sa, sb = input._data.shape, other._data.shape
    if sa[-1] != sb[-1]:
        raise RuntimeError(f"inner() the last dimension must match on both input tensors but got shapes "
                           f"{list(sa)} and {list(sb)}")
    _same_dtype(input, other, "both inputs should have same dtype")
    k = sa[-1]
    r = input.reshape(-1, k).matmul(other.reshape(-1, k).mT)
    return r.reshape(sa[:-1] + sb[:-1])


def tensordot(a, b, dims=2, out=None):
    """Matches `torch.tensordot`: ``dims`` is an int (last dims of a with first of b) or a pair of
    dim lists."""
    _same_dtype(a, b, "both inputs should have same dtype")
    na, nb = a._data.ndim, b._data.ndim
    if isinstance(dims, int):
        if dims < 0:
            raise RuntimeError(f"tensordot expects dims >= 0, but got dims={dims}")
        if dims > min(na, nb):
            raise RuntimeError(f"tensordot expects dims < ndim_a or ndim_b, but got dims={dims}")
        da, db = list(range(na - dims, na)), list(range(dims))
    else:
        da, db = ([d] if isinstance(d, int) else list(d) for d in dims)
        if len(da) != len(db):
            raise RuntimeError(f"both dimension lists should have same length, but got {len(da)} and {len(db)}")
        da, db = [d % max(na, 1) for d in da], [d % max(nb, 1) for d in db]
    sa, sb = a._data.shape, b._data.shape
    for i, j in zip(da, db):
        if sa[i] != sb[j]:
            raise RuntimeError(f"contracted dimensions need to match, but first has size {sa[i]} in dim {i} and "
                               f"second has size {sb[j]} in dim {j}")
    fa = [i for i in range(na) if i not in da]
    fb = [j for j in range(nb) if j not in db]
    k = _prod(sa[i] for i in da)
    left = a.permute(*fa, *da).reshape(_prod(sa[i] for i in fa), k)
    right = b.permute(*db, *fb).reshape(k, _prod(sb[j] for j in fb))
    return left.matmul(right).reshape(tuple(sa[i] for i in fa) + tuple(sb[j] for j in fb))


def kron(input, other, *, out=None):  # noqa: A002
    """Matches `torch.kron`: interleave the (left-padded) dims and multiply."""
    sa, sb = input._data.shape, other._data.shape
    nd = max(len(sa), len(sb))
    sa, sb = (1,) * (nd - len(sa)) + sa, (1,) * (nd - len(sb)) + sb
    a = input.reshape(tuple(x for s in sa for x in (s, 1)))
    b = other.reshape(tuple(x for s in sb for x in (1, s)))
    return (a * b).reshape(tuple(p * q for p, q in zip(sa, sb)))


# -- fused BLAS-style ops: beta * input + alpha * product ----------------------------------------
def _fused(input, prod, beta, alpha):
    """beta * input + alpha * prod with torch's rules: input broadcasts to prod's shape (never the
    other way), beta == 0 ignores input (NaNs included), mixed dtypes are refused."""
    so, sp = input._data.shape, prod._data.shape
    try:
        ok = np.broadcast_shapes(so, sp) == sp
    except ValueError:
        ok = False
    if not ok:
        nd = len(sp)
        pad = (1,) * (nd - len(so)) + tuple(so) if len(so) <= nd else so
        i = next((i for i in range(nd - 1, -1, -1) if len(pad) == nd and pad[i] not in (1, sp[i])), 0)
        raise RuntimeError(f"The expanded size of the tensor ({sp[i]}) must match the existing size "
                           f"({pad[i] if len(pad) == nd else so[0]}) at non-singleton dimension {i}.  Target "
                           f"sizes: {list(sp)}.  Tensor sizes: {list(so)}")
    if input._data.dtype != prod._data.dtype:
        raise RuntimeError(f"self and mat2 must have the same dtype, but got {_type_word(input._data.dtype)} "
                           f"and {_type_word(prod._data.dtype)}")
    scaled = prod if alpha == 1 else prod * alpha
    if beta == 0:
        return scaled + _ignore(input)
    return scaled + (input if beta == 1 else input * beta)


def _mat(t, arg):
    if t._data.ndim != 2:
        raise RuntimeError(f"{arg} must be a matrix, got {t._data.ndim}-D tensor")


def addmm(input, mat1, mat2, *, beta=1, alpha=1, out=None):  # noqa: A002
    """Matches `torch.addmm`: beta * input + alpha * (mat1 @ mat2)."""
    _mat(mat1, "mat1")
    _mat(mat2, "mat2")
    _same_dtype(mat1, mat2, "self and mat2 must have the same dtype, but got {a} and {b}")
    return _fused(input, matmul(mat1, mat2), beta, alpha)


def addmv(input, mat, vec, *, beta=1, alpha=1, out=None):  # noqa: A002
    """Matches `torch.addmv`: beta * input + alpha * (mat @ vec)."""
    if mat._data.ndim != 2 or vec._data.ndim != 1:
        raise RuntimeError(f"vector + matrix @ vector expected, got {input._data.ndim}, {mat._data.ndim}, "
                           f"{vec._data.ndim}")
    return _fused(input, mv(mat, vec), beta, alpha)


def addr(input, vec1, vec2, *, beta=1, alpha=1, out=None):  # noqa: A002
    """Matches `torch.addr`: beta * input + alpha * outer(vec1, vec2)."""
    for t, arg in ((vec1, "vec1"), (vec2, "vec2")):
        if t._data.ndim != 1:
            raise RuntimeError(f"addr: Expected 1-D argument {arg}, but got {t._data.ndim}-D")
    return _fused(input, outer(vec1, vec2), beta, alpha)


def _check_batches(b1, b2):
    for t, arg in ((b1, "batch1"), (b2, "batch2")):
        if t._data.ndim != 3:
            raise RuntimeError(f"{arg} must be a 3D tensor")
    s1, s2 = b1._data.shape, b2._data.shape
    if s1[0] != s2[0]:
        raise RuntimeError(f"batch1 and batch2 must have same number of batches, got {s1[0]} and {s2[0]}")
    if s1[2] != s2[1]:
        raise RuntimeError(f"Incompatible matrix sizes for bmm ({s1[1]}x{s1[2]} and {s2[1]}x{s2[2]})")


def addbmm(input, batch1, batch2, *, beta=1, alpha=1, out=None):  # noqa: A002
    """Matches `torch.addbmm`: beta * input + alpha * sum_b(batch1[b] @ batch2[b])."""
    _check_batches(batch1, batch2)
    return _fused(input, matmul(batch1, batch2).sum(0), beta, alpha)


def baddbmm(input, batch1, batch2, *, beta=1, alpha=1, out=None):  # noqa: A002
    """Matches `torch.baddbmm`: beta * input + alpha * bmm(batch1, batch2)."""
    _check_batches(batch1, batch2)
    return _fused(input, matmul(batch1, batch2), beta, alpha)


def _inplace_of(fn):
    def method(self, *args, **kwargs):
        return inplace(self, fn, *args, **kwargs)
    method.__name__ = fn.__name__ + "_"
    method.__doc__ = f"Matches `torch.Tensor.{fn.__name__}_`."
    return method


def cross(input, other, dim=None, *, out=None):  # noqa: A002
    """Matches `torch.cross` with an explicit ``dim``; ``dim=None`` takes the first dim of size 3
    (torch's deprecated default, without its deprecation warning)."""
    if dim is None:
        dim = next((i for i, s in enumerate(np.broadcast_shapes(input._data.shape, other._data.shape)) if s == 3),
                   None)
        if dim is None:
            raise RuntimeError("no dimension of size 3 in input")
    return linalg_cross(input, other, dim=dim)


def linalg_cross(input, other, *, dim=-1, out=None):  # noqa: A002
    """Matches `torch.linalg.cross` (same-rank inputs that broadcast; size 3 along ``dim``)."""
    a, b, name = input, other, "linalg.cross"
    if a._data.ndim != b._data.ndim:
        raise RuntimeError(f"{name}: inputs must have the same number of dimensions.")
    na = a._data.ndim
    if not -na <= dim < na:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-na}, {na - 1}], but got {dim})")
    if a._data.shape[dim] != 3 or b._data.shape[dim] != 3:
        raise RuntimeError(f"{name}: inputs dimension {dim} must have length 3. Got {a._data.shape[dim]} and "
                           f"{b._data.shape[dim]}")
    dt = result_dtype(a, b)
    a, b = a.to(dt).movedim(dim, -1), b.to(dt).movedim(dim, -1)
    e = [_const(a, np.eye(3)[i]) for i in range(3)]
    x = [a.matmul(v) for v in e]  # the three components, differentiable
    y = [b.matmul(v) for v in e]
    parts = (x[1] * y[2] - x[2] * y[1], x[2] * y[0] - x[0] * y[2], x[0] * y[1] - x[1] * y[0])
    r = sum(p.unsqueeze(-1) * v for p, v in zip(parts, e))
    return r.movedim(-1, dim)


def vecdot(x, y, *, dim=-1, out=None):
    """Matches `torch.linalg.vecdot` for real tensors: sum(x * y, dim)."""
    _same_dtype(x, y, "linalg.vecdot: Expected x and y to have the same dtype, but found x of type {a} and y of "
                      "type {b} instead")
    return (x * y).sum(dim)


def multi_dot(tensors, *, out=None):
    """Matches `torch.linalg.multi_dot`: a 1-D first/last operand is a row/column vector; the
    product is evaluated in the cheapest order (torch's matrix-chain dynamic program)."""
    n = len(tensors)
    if n < 2:
        raise RuntimeError(f"multi_dot(): expected at least 2 tensors but got {n}")
    first, last = tensors[0], tensors[-1]
    if first._data.ndim not in (1, 2):
        raise RuntimeError(f"multi_dot(): the first tensor must be 1D or 2D but got {first._data.ndim}D")
    if last._data.ndim not in (1, 2):
        raise RuntimeError(f"multi_dot(): the last tensor must be 1D or 2D but got {last._data.ndim}D")
    for i, t in enumerate(tensors[1:-1], 1):
        if t._data.ndim != 2:
            raise RuntimeError(f"multi_dot(): tensor {i} must be 2D but got {t._data.ndim}D")
    mats = list(tensors)
    if first._data.ndim == 1:
        mats[0] = first.unsqueeze(0)
    if last._data.ndim == 1:
        mats[-1] = last.unsqueeze(-1)
    for i in range(n - 1):
        if mats[i]._data.shape[1] != mats[i + 1]._data.shape[0]:
            sa, sb = mats[i]._data.shape, mats[i + 1]._data.shape
            raise RuntimeError(f"multi_dot(): tensors {i} and {i + 1} with shapes {list(sa)} and {list(sb)} "
                               "cannot be multiplied")
    p = [m._data.shape[0] for m in mats] + [mats[-1]._data.shape[1]]
    cost = [[0] * n for _ in range(n)]
    split = [[0] * n for _ in range(n)]
    for length in range(1, n):
        for i in range(n - length):
            j = i + length
            cost[i][j] = None
            for k in range(i, j):
                c = cost[i][k] + cost[k + 1][j] + p[i] * p[k + 1] * p[j + 1]
                if cost[i][j] is None or c < cost[i][j]:
                    cost[i][j], split[i][j] = c, k

    def chain(i, j):
        if i == j:
            return mats[i]
        k = split[i][j]
        return matmul(chain(i, k), chain(k + 1, j))

    r = chain(0, n - 1)
    if first._data.ndim == 1:
        r = r.squeeze(0)
    if last._data.ndim == 1:
        r = r.squeeze(-1)
    return r


# -- inverse, determinants, solve ----------------------------------------------------------------
class _Inv:
    node_name = "LinalgInvExBackward0"

    @staticmethod
    def forward(ctx, a):
        x = _checked(get_xp(a).linalg.inv, a, "linalg.inv", "inv")
        ctx.save_for_backward(x)
        return x

    @staticmethod
    def backward(ctx, g):  # -A^{-H} G A^{-H}
        (x,) = ctx.saved_tensors
        xt = x.mT
        return -xt.matmul(g.matmul(xt))


def inv(A, *, out=None):
    """Matches `torch.linalg.inv`; a singular matrix raises LinAlgError with torch's message."""
    _check_matrix(A, "linalg.inv")
    return apply(_Inv, A)


def inverse(input, *, out=None):  # noqa: A002
    """Matches `torch.inverse` (an alias of linalg.inv)."""
    return inv(input)


def _det_singular(A, g):
    """Gradient of det at (near-)singular A: the adjugate through the SVD (torch's
    linalg_det_backward, singular branch, after Higham's 'What is the adjugate of a matrix?')."""
    U, S, Vh = svd(A)
    alpha = det(U) * det(Vh) * g
    n = S._data.shape[-1]
    # prod_{j != i} S_j, by multiplying the columns of S with its i-th entry replaced by 1
    eye = _eye(S, n)
    M = S.unsqueeze(-2) * (1 - eye) + eye
    others = M.matmul(_eye(S, n, 1))
    for j in range(1, n):
        others = others * M.matmul(_const(S, np.eye(n)[:, j:j + 1]))
    D = alpha.unsqueeze(-1) * others.squeeze(-1)
    return (U * D.unsqueeze(-2)).matmul(Vh)


class _Det:
    node_name = "LinalgDetBackward0"

    @staticmethod
    def forward(ctx, a):
        xp = get_xp(a)
        d = xp.asarray(xp.linalg.det(a), dtype=a.dtype)
        ctx.save_for_backward(a, d)
        return d

    @staticmethod
    def backward(ctx, g):
        # linalg_det_backward: solve(A^H, det * grad * I). Building a graph (create_graph), torch
        # takes the adjugate via the SVD where |det| < 100 eps, per matrix of the batch. Without one,
        # it solves with zero LU pivots nudged to eps, so an exactly singular matrix (det == 0) gets
        # a zero gradient: the singular matrices are swapped for I below, where the rhs is 0 too.
        A, d = ctx.saved_tensors
        if A._data.size == 0:
            return g.unsqueeze(-1).unsqueeze(-1) * A
        xp = get_xp(A._data)
        n = A._data.shape[-1]
        rhs = (g * d).unsqueeze(-1).unsqueeze(-1) * _eye(A, n)
        if not is_grad_enabled():
            zero = Tensor._wrap(d._data[..., None, None] == 0)
            return solve(A.where(~zero, _eye(A, n)).mT, rhs)
        singular = xp.abs(d._data) < 100 * np.finfo(A._data.dtype).eps
        if not bool(singular.any()):
            return solve(A.mT, rhs)
        if bool(singular.all()):
            return _det_singular(A, g)
        mask = Tensor._wrap(singular[..., None, None])
        safe = A.where(~mask, _eye(A, n))  # keep the solve away from the singular ones
        return _det_singular(A, g).where(mask, solve(safe.mT, rhs))


def det(A, *, out=None):
    """Matches `torch.linalg.det` / `torch.det`, including torch's gradient at singular matrices:
    the adjugate (via the SVD) when the backward builds a graph, and 0 at an exactly singular matrix
    when it does not."""
    _check_matrix(A, "linalg.det")
    return apply(_Det, A)


class _Slogdet:
    node_name = "LinalgSlogdetBackward0"

    @staticmethod
    def forward(ctx, a):
        xp = get_xp(a)
        sign, logabs = xp.linalg.slogdet(a)
        sign, logabs = xp.asarray(sign, dtype=a.dtype), xp.asarray(logabs, dtype=a.dtype)
        ctx.set_materialize_grads(False)
        ctx.save_for_backward(a)
        return sign, logabs

    @staticmethod
    def backward(ctx, gsign, glogabs):
        # slogdet_backward, real case: the sign is locally constant (torch still marks it as requiring
        # grad, and gives it no gradient); d logabsdet = A^{-H} g
        if glogabs is None:
            return None
        (A,) = ctx.saved_tensors
        return solve(A.mT, glogabs.unsqueeze(-1).unsqueeze(-1) * _eye(A, A._data.shape[-1]))


def slogdet(input, *, out=None):  # noqa: A002
    """Matches `torch.slogdet`: (sign, logabsdet); the sign gets no gradient. refgrad.linalg.slogdet
    is the same with torch.linalg's result type."""
    _check_matrix(input, "linalg.slogdet")
    return slogdet_result(*apply(_Slogdet, input))


def logdet(input):  # noqa: A002
    """Matches `torch.logdet`: log(det), NaN for a negative determinant, -inf for a singular one."""
    _check_matrix(input, "linalg.slogdet")
    sign, logabs = apply(_Slogdet, input)
    return logabs.where(sign != -1, float("nan"))


class _Solve:
    node_name = "LinalgSolveExBackward0"

    @staticmethod
    def forward(ctx, a, b):
        xp = get_xp(a)
        batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
        aa, bb = xp.broadcast_to(a, batch + a.shape[-2:]), xp.broadcast_to(b, batch + b.shape[-2:])
        x = _checked(lambda m: xp.linalg.solve(m, bb), aa, "torch.linalg.solve", "solve")
        x = xp.asarray(x, dtype=a.dtype)
        ctx.save_for_backward(a, x)
        return x

    @staticmethod
    def backward(ctx, g):
        # linalg_solve_backward: gB = A^{-H} gX; gA = -gB X^H
        A, X = ctx.saved_tensors
        gB = _solve(A.mT, g)
        return (-gB.matmul(X.mT) if ctx.needs_input_grad[0] else None), gB


def _solve(A, B):
    return apply(_Solve, A, B)


def solve(A, B, *, left=True, out=None):
    """Matches `torch.linalg.solve`: AX = B (or XA = B with left=False), batched with broadcasting;
    B is a (batch of) vector(s) when it is 1-D or has shape A.shape[:-1]."""
    _check_matrix(A, "linalg.solve")
    if not isinstance(B, Tensor):
        raise TypeError(f"linalg_solve(): argument 'B' (position 2) must be Tensor, not {type(B).__name__}")
    _same_dtype(A, B, "linalg.solve: Expected A and B to have the same dtype, but found A of type {a} and B of type "
                      "{b} instead")
    sa, sb = A._data.shape, B._data.shape
    vector = B._data.ndim == 1 or (B._data.ndim == A._data.ndim - 1 and sb == sa[:-1])
    Bm = B.unsqueeze(-1) if vector else B
    if Bm._data.ndim < 2:
        raise RuntimeError("linalg.solve: The input tensor B must have at least 2 dimensions.")
    k = Bm._data.shape[-2] if left else Bm._data.shape[-1]
    if k != sa[-1]:
        rows, cols = Bm._data.shape[-2:]
        eq = "AX" if left else "XA"
        raise RuntimeError(f"linalg.solve: Incompatible shapes of A and B for the equation {eq} = B "
                           f"({sa[-2]}x{sa[-1]} and {rows}x{cols})")
    if vector and not left:
        raise RuntimeError("linalg.solve: Vector broadcasting of the left hand side is not supported for left=False. "
                           "In this case linalg.solve is equivalent to B / A.squeeze(-1)")
    _broadcast_batch(sa[:-2], Bm._data.shape[:-2])
    if left:
        X = _solve(A, Bm)
        return X.squeeze(-1) if vector else X
    return _solve(A.mT, Bm.mT).mT


# -- factorizations -------------------------------------------------------------------------------
class _Cholesky:
    node_name = "LinalgCholeskyExBackward0"

    @staticmethod
    def forward(ctx, a, upper):
        xp = get_xp(a)
        # potrf reads one triangle: the upper one of A is the lower one of A^T
        L = _checked(xp.linalg.cholesky, xp.swapaxes(a, -1, -2) if upper else a, "linalg.cholesky", "cholesky")
        out = xp.ascontiguousarray(xp.swapaxes(L, -1, -2)) if upper else L
        ctx.upper = upper
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, gL):
        # cholesky_backward (Murray 2016): gA = L^{-H} Phi L^{-1},
        # Phi = 0.5 * (tril(L^H gL) + tril(L^H gL, -1)^H)
        (L,) = ctx.saved_tensors
        if ctx.upper:
            L, gL = L.mT, gL.mT
        phi = _tril(L.mT.matmul(gL))
        phi = 0.5 * (phi + _tril(phi, -1).mT)
        gA = _solve(L.mT, phi)
        return _solve(L.mT, gA.mT).mT


def cholesky(A, *, upper=False, out=None):
    """Matches `torch.linalg.cholesky` (reads the lower triangle, or the upper one with upper=True)."""
    _check_matrix(A, "linalg.cholesky")
    return apply(_Cholesky, A, upper=bool(upper))


class _QR:
    node_name = "LinalgQrBackward0"

    @staticmethod
    def forward(ctx, a, mode):
        xp = get_xp(a)
        ctx.mode = mode
        ctx.set_materialize_grads(False)
        if mode == "r":
            R = xp.linalg.qr(a, mode="r")
            ctx.save_for_backward(R)
            return xp.zeros((0,), dtype=a.dtype), R
        Q, R = xp.linalg.qr(a, mode=mode)
        ctx.save_for_backward(Q, R)
        return Q, R

    @staticmethod
    def backward(ctx, gQ, gR):
        if ctx.mode == "r":
            raise RuntimeError("The derivative of linalg.qr depends on Q, which is not computed when mode='r'. "
                               "Please use linalg.qr(A, mode='reduced') if you are going to differentiate through "
                               "linalg.qr.")
        Q, R = ctx.saved_tensors
        m, n = Q._data.shape[-2], R._data.shape[-1]
        if ctx.mode == "complete" and m > n:
            raise RuntimeError("The QR decomposition is not differentiable when mode='complete' and nrows > ncols.")
        if gQ is None and gR is None:
            return None
        # linalg_qr_backward
        if gQ is None:
            gA = gR.matmul(R.mT)
        elif gR is None:
            gA = -Q.mT.matmul(gQ)
        else:
            gA = gR.matmul(R.mT) - Q.mT.matmul(gQ)
        if m >= n:
            X = _triu(gA)  # syminvadj(triu(gA)): X + X^H with the diagonal halved
            gA = Q.matmul(X + X.mT - _diag_embed(_diagonal(X)))
            if gQ is not None:
                gA = gA + gQ
            return _solve(R, gA.mT).mT  # gA R^{-H}
        # m < n: gA = QgR + pi*(Q trilImInvAdjSkew(-gA) R_1^{-H})
        gA = Q.matmul(_tril(-gA + gA.mT))
        gA = _solve(_cols(R, m), gA.mT).mT
        gA = _cols(gA, n)
        if gR is not None:
            gA = gA + Q.matmul(gR)
        return gA


def qr(A, mode="reduced", *, out=None):
    """Matches `torch.linalg.qr` (Householder QR; like torch, R's diagonal is not sign-normalised).
    mode='r' returns an empty Q, as torch does."""
    if mode not in ("reduced", "complete", "r"):
        raise RuntimeError(f"qr received unrecognized mode '{mode}' but expected one of 'reduced' (default), 'r', "
                           "or 'complete'")
    _check_matrix(A, "linalg.qr", square=False)
    return linalg_qr(*apply(_QR, A, mode=mode))


class _Eigh:
    node_name = "LinalgEighBackward0"

    @staticmethod
    def forward(ctx, a, uplo):
        L, V = get_xp(a).linalg.eigh(a, UPLO=uplo)
        ctx.set_materialize_grads(False)
        ctx.save_for_backward(L, V)
        return L, V

    @staticmethod
    def backward(ctx, gL, gV):
        # linalg_eig_backward, Hermitian case: gA = V (skew(V^H gV) / E + diag(gL)) V^H, E_ij = L_j - L_i
        L, V = ctx.saved_tensors
        if gV is None:
            if gL is None:
                return None
            return (V * gL.unsqueeze(-2)).matmul(V.mT)
        VhgV = V.mT.matmul(gV)
        VhgV = 0.5 * (VhgV - VhgV.mT)
        eye = _eye(L, L._data.shape[-1])
        E = L.unsqueeze(-2) - L.unsqueeze(-1) + eye
        ret = VhgV / E
        if gL is not None:  # the skew part has a zero diagonal
            ret = ret + _diag_embed(gL)
        return V.matmul(ret.matmul(V.mT))


def _uplo(UPLO):
    if not isinstance(UPLO, str) or UPLO.upper() not in ("L", "U"):
        raise RuntimeError(f"Expected UPLO argument to be 'L' or 'U', but got {UPLO}")
    return UPLO.upper()


def eigh(A, UPLO="L", *, out=None):  # noqa: N803
    """Matches `torch.linalg.eigh`: ascending eigenvalues, orthonormal eigenvectors. Each
    eigenvector's sign is whatever LAPACK returns (torch's may differ); the gradient assumes
    distinct eigenvalues, as torch's does."""
    _check_matrix(A, "linalg.eigh")
    return linalg_eigh(*apply(_Eigh, A, uplo=_uplo(UPLO)))


def eigvalsh(A, UPLO="L", *, out=None):  # noqa: N803
    """Matches `torch.linalg.eigvalsh`. The gradient V diag(gL) V^H stays well defined at repeated
    eigenvalues when the loss treats them alike (e.g. a symmetric function of the spectrum)."""
    _check_matrix(A, "linalg.eigvalsh")
    return apply(_Eigh, A, uplo=_uplo(UPLO))[0]


class _SVD:
    node_name = "LinalgSvdBackward0"

    @staticmethod
    def forward(ctx, a, full_matrices):
        U, S, Vh = get_xp(a).linalg.svd(a, full_matrices=full_matrices)
        ctx.full = full_matrices
        ctx.set_materialize_grads(False)
        ctx.save_for_backward(U, S, Vh)
        return U, S, Vh

    @staticmethod
    def backward(ctx, gU, gS, gVh):
        U, S, Vh = ctx.saved_tensors
        k = S._data.shape[-1]
        if ctx.full:  # only the first k singular vectors are determined by A
            U, Vh = _cols(U, k), _rows(Vh, k)
            gU = None if gU is None else _cols(gU, k)
            gVh = None if gVh is None else _rows(gVh, k)
        return _svd_backward(gU, gS, gVh, U, S, Vh)


def _svd_backward(gU, gS, gVh, U, S, Vh):
    """torch's svd_backward (real case), for distinct nonzero singular values:
    gA = U [(skew(U^T gU) / E) S + S (skew(V^T gV) / E) + diag(gS)] V^T
         + (I - UU^T) gU S^{-1} V^T   (m > n)   or   + U S^{-1} gVh (I - VV^T)   (m < n),
    with E_jk = S_k^2 - S_j^2 off the diagonal."""
    if gU is None and gS is None and gVh is None:
        return None
    m, n = U._data.shape[-2], Vh._data.shape[-1]
    if gU is None and gVh is None:  # svdvals: gA = U diag(gS) Vh
        return U.matmul(gS.unsqueeze(-1) * Vh) if m >= n else (U * gS.unsqueeze(-2)).matmul(Vh)
    skew = lambda X: X - X.mT
    eye = _eye(S, S._data.shape[-1])
    S2 = S * S
    E = S2.unsqueeze(-2) - S2.unsqueeze(-1) + eye
    UhgU = None if gU is None else skew(U.mT.matmul(gU))
    VhgV = None if gVh is None else skew(Vh.matmul(gVh.mT))
    if UhgU is not None and VhgV is not None:
        gA = (UhgU * S.unsqueeze(-2) + S.unsqueeze(-1) * VhgV) / E
    elif UhgU is not None:
        gA = (UhgU / E) * S.unsqueeze(-2)
    else:
        gA = S.unsqueeze(-1) * (VhgV / E)
    if gS is not None:
        gA = gA + _diag_embed(gS)
    if m > n and gU is not None:
        gA = U.matmul(gA)
        gUSinv = gU / S.unsqueeze(-2)
        gA = gA + gUSinv - U.matmul(U.mT.matmul(gUSinv))
        return gA.matmul(Vh)
    if m < n and gVh is not None:
        gA = gA.matmul(Vh)
        SinvgVh = gVh / S.unsqueeze(-1)
        gA = gA + SinvgVh - SinvgVh.matmul(Vh.mT).matmul(Vh)
        return U.matmul(gA)
    return U.matmul(gA.matmul(Vh)) if m >= n else U.matmul(gA).matmul(Vh)


def svd(A, full_matrices=True, *, driver=None, out=None):
    """Matches `torch.linalg.svd` (U, S, Vh). Singular vectors are fixed up to a joint sign per
    pair (LAPACK's choice; torch's may differ). The gradient assumes distinct singular values (and
    full rank when A is rectangular), as torch's does; with full_matrices=True the extra columns of U
    (rows of Vh) do not carry gradient."""
    _check_matrix(A, "linalg.svd", square=False)
    return linalg_svd(*apply(_SVD, A, full_matrices=bool(full_matrices)))


def svdvals(A, *, driver=None, out=None):
    """Matches `torch.linalg.svdvals` (descending; gradient U diag(gS) Vh)."""
    _check_matrix(A, "linalg.svdvals", square=False)
    return apply(_SVD, A, full_matrices=False)[1]


class _Pinv:
    node_name = "LinalgPinvBackward0"

    @staticmethod
    def forward(ctx, a, atol, rtol, hermitian):
        xp = get_xp(a)
        m, n = a.shape[-2:]
        if rtol is None:  # torch: eps * max(m, n) unless atol is given (then 0)
            rtol = np.finfo(a.dtype).eps * max(m, n) if atol is None else 0.0
        atol = 0.0 if atol is None else atol
        if hermitian:
            L, V = xp.linalg.eigh(a)
            absL = xp.abs(L)
            smax = absL.max(axis=-1, keepdims=True) if L.shape[-1] else absL
            keep = absL > xp.maximum(atol, rtol * smax)
            inv_l = xp.where(keep, 1 / xp.where(keep, L, 1), 0).astype(a.dtype)
            p = xp.matmul(V * inv_l[..., None, :], xp.swapaxes(V, -1, -2))
        else:
            U, S, Vh = xp.linalg.svd(a, full_matrices=False)
            smax = S[..., :1] if S.shape[-1] else S
            keep = S > xp.maximum(atol, rtol * smax)
            inv_s = xp.where(keep, 1 / xp.where(keep, S, 1), 0).astype(a.dtype)
            p = xp.matmul(xp.swapaxes(Vh, -1, -2) * inv_s[..., None, :], xp.swapaxes(U, -1, -2))
        p = xp.asarray(p, dtype=a.dtype)
        ctx.save_for_backward(a, p)
        return p

    @staticmethod
    def backward(ctx, g):
        # pinv_backward (Golub & Pereyra), arranged as torch does to keep the products small
        A, P = ctx.saved_tensors
        m, n = A._data.shape[-2:]
        Ph, gh = P.mT, g.mT
        if m <= n:
            K = gh.matmul(P)
            KPh = K.matmul(Ph)
            return -(P.matmul(K)).mT + KPh - A.matmul(P).matmul(KPh) + Ph.matmul(P).matmul(gh - K.matmul(A))
        K = P.matmul(gh)
        PhK = Ph.matmul(K)
        return -(K.matmul(P)).mT + (gh - A.matmul(K)).matmul(P).matmul(Ph) + PhK - PhK.matmul(P).matmul(A)


def _tol(x, name):
    if isinstance(x, Tensor):
        raise TypeError(f"linalg.pinv: tensor-valued {name} is not supported by refgrad; pass a float")
    return None if x is None else float(x)


def pinv(A, *, atol=None, rtol=None, hermitian=False, out=None):
    """Matches `torch.linalg.pinv` (float atol/rtol; singular values at or below
    max(atol, rtol * sigma_max) are dropped, rtol defaulting to eps * max(m, n))."""
    if not isinstance(A, Tensor) or A._data.ndim < 2 or A._data.dtype.kind != "f" or A._data.dtype == np.float16:
        desc = f"{_type_word(A._data.dtype)}{{{list(A._data.shape)}}}" if isinstance(A, Tensor) else type(A).__name__
        raise RuntimeError(f"linalg.pinv({desc}): expected a tensor with 2 or more dimensions of float, double, "
                           "cfloat or cdouble types")
    if hermitian:
        _check_matrix(A, "linalg.pinv")
    return apply(_Pinv, A, atol=_tol(atol, "atol"), rtol=_tol(rtol, "rtol"), hermitian=bool(hermitian))


def pinverse(input, rcond=1e-15):  # noqa: A002
    """Matches `torch.pinverse` (linalg.pinv with rtol=rcond)."""
    return pinv(input, rtol=rcond)


def matrix_power(A, n, *, out=None):
    """Matches `torch.linalg.matrix_power`, multiplying in torch's order (binary decomposition of n);
    n = 0 gives the identity with a zero gradient, n < 0 goes through inv."""
    _check_matrix(A, "linalg.matrix_power")
    if not isinstance(n, (int, np.integer)):
        raise TypeError(f"linalg_matrix_power(): argument 'n' (position 2) must be int, not {type(n).__name__}")
    n = int(n)
    if n == 0:
        eye = _eye(A, A._data.shape[-1])
        return eye.where(Tensor._wrap(get_xp(A._data).ones(A._data.shape, dtype=bool)), A)
    if n < 0:
        A, n = inv(A), -n
    if n == 1:
        return A.clone()
    if n == 2:
        return matmul(A, A)
    if n == 3:
        return matmul(matmul(A, A), A)
    z = result = None
    while n > 0:
        bit, n = n % 2, n // 2
        z = A if z is None else matmul(z, z)
        if bit:
            result = z if result is None else matmul(result, z)
    return result


register_methods({
    "matmul": matmul, "__matmul__": matmul, "__rmatmul__": lambda self, other: matmul(other, self),
    "mm": mm, "bmm": bmm, "mv": mv, "dot": dot, "vdot": vdot, "outer": outer, "ger": ger, "inner": inner,
    "kron": kron, "addmm": addmm, "addmv": addmv, "addr": addr, "addbmm": addbmm, "baddbmm": baddbmm,
    "addmm_": _inplace_of(addmm), "addmv_": _inplace_of(addmv), "addr_": _inplace_of(addr),
    "addbmm_": _inplace_of(addbmm), "baddbmm_": _inplace_of(baddbmm),
    "cross": cross, "det": det, "logdet": logdet, "slogdet": slogdet, "inverse": inverse,
    "pinverse": pinverse, "matrix_power": matrix_power,
})

# torch's top-level names; the torch.linalg namespace is assembled in refgrad/linalg.py
__all__ = ["matmul", "mm", "bmm", "mv", "dot", "vdot", "outer", "ger", "inner", "tensordot", "kron", "addmm",
           "addmv", "addr", "addbmm", "baddbmm", "cross", "det", "logdet", "slogdet", "inverse", "pinverse",
           "matrix_power"]
