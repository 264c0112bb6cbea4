"""Linear algebra against torch: the matmul family (every rank combination, batch broadcasting, shape
errors), the fused BLAS-style ops, and refgrad.linalg's decompositions (forward, VJP, double backward).

Inputs are well-conditioned by construction (A = U diag(s) V^T with separated s), so gradients that
divide by spectral gaps are stable. Eigen/singular vectors are defined up to a sign per vector and
numpy's LAPACK and torch need not pick the same one: those are compared through gauge-invariant
quantities (V * V, U * U, reconstructions), which still carry every gradient path.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import refgrad

from .helpers import assert_same, check_op, rg, th, to_np

DTYPES = [np.float32, np.float64]
# hypothesis with the (constant per test item) device fixture
fixture_ok = settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                             HealthCheck.data_too_large])
batch_shapes = st.lists(st.integers(1, 3), max_size=2).map(tuple)

# float32 tolerances for ops whose backward chains several solves / divides by spectral gaps: the
# float32 rounding of each factor (~1e-7 relative) is amplified by cond(A) ~ 3 and by 1/(s_j^2 - s_k^2)
# (up to ~5 here) across ~6 chained products, so 1e-4 is the honest float32 bound.
F32_DECOMP = dict(rtol=1e-4, atol=1e-4, grad_rtol=1e-4, grad_atol=1e-4)


def tol(dtype, **over):
    return dict(F32_DECOMP, **over) if dtype == np.float32 else {}


def _orth(rng, batch, n):
    q, r = np.linalg.qr(rng.standard_normal(batch + (n, n)))
    return q * np.sign(np.diagonal(r, axis1=-2, axis2=-1))[..., None, :]


def _spread(rng, k, lo, hi):
    """k values in [lo, hi], pairwise gaps at least (hi - lo) / (2k)."""
    base = np.linspace(lo, hi, k) if k > 1 else np.array([(lo + hi) / 2])
    return base + rng.uniform(-0.2, 0.2, k) * (hi - lo) / (2 * max(k, 1))


def general(rng, batch, m, n, dtype, lo=1.0, hi=3.0):
    """A well-conditioned m x n matrix with separated singular values in [lo, hi]."""
    k = min(m, n)
    U, V = _orth(rng, batch, m)[..., :k], _orth(rng, batch, n)[..., :k]
    s = _spread(rng, k, lo, hi)
    return ((U * s) @ np.swapaxes(V, -1, -2)).astype(dtype)


def symmetric(rng, batch, n, dtype, lo=-2.0, hi=2.0):
    Q = _orth(rng, batch, n)
    return ((Q * _spread(rng, n, lo, hi)) @ np.swapaxes(Q, -1, -2)).astype(dtype)


def spd(rng, batch, n, dtype):
    return symmetric(rng, batch, n, dtype, 1.0, 3.0)


def raises_like_torch(rg_call, th_call, exc=RuntimeError):
    """Both raise ``exc`` with the same message."""
    with pytest.raises(exc) as theirs:
        th_call()
    with pytest.raises(exc) as ours:
        rg_call()
    assert str(ours.value) == str(theirs.value)


# -- matmul family -----------------------------------------------------------------------------------
MATMUL_SHAPES = [((3,), (3,)), ((3,), (3, 4)), ((2, 3), (3,)), ((2, 3), (3, 4)), ((3,), (5, 3, 4)),
                 ((5, 2, 3), (3,)), ((5, 2, 3), (3, 4)), ((2, 3), (5, 3, 4)), ((5, 2, 3), (5, 3, 4)),
                 ((1, 2, 3), (5, 3, 4)), ((4, 1, 2, 3), (5, 3, 2)), ((2,), (4, 1, 2, 3)), ((0, 3), (3, 2)),
                 ((2, 0), (0, 3)), ((3, 0, 2), (2, 4))]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("sa,sb", MATMUL_SHAPES, ids=lambda s: "x".join(map(str, s)))
def test_matmul_rank_combinations(sa, sb, dtype, device, rng):
    a, b = rng.standard_normal(sa).astype(dtype), rng.standard_normal(sb).astype(dtype)
    check_op(refgrad.matmul, torch.matmul, [a, b], device=device)
    check_op(lambda x, y: x @ y, lambda x, y: x @ y, [a, b], device=device)


@fixture_ok
@given(ba=batch_shapes, bb=batch_shapes, m=st.integers(1, 3), k=st.integers(1, 3), n=st.integers(1, 3),
       seed=st.integers(0, 2 ** 16))
def test_matmul_batch_broadcasting(ba, bb, m, k, n, seed, device):
    rng = np.random.default_rng(seed)
    try:
        np.broadcast_shapes(ba, bb)
    except ValueError:
        ba = bb
    check_op(refgrad.matmul, torch.matmul, [rng.standard_normal(ba + (m, k)), rng.standard_normal(bb + (k, n))],
             device=device)


BAD_MATMUL = [((2, 3), (2, 3)), ((3,), (2, 3)), ((2, 3), (2,)), ((4, 2, 3), (5, 3, 2)), ((4, 2, 3), (4, 2, 2)),
              ((4, 2, 3), (2,)), ((4, 2, 3), (2, 2)), ((2,), (3,)), ((7, 4, 2, 3), (5, 3, 2)),
              ((2,), (7, 4, 3, 2)), ((), (3,)), ((2, 3), (5, 2, 2))]


@pytest.mark.parametrize("sa,sb", BAD_MATMUL, ids=str)
def test_matmul_shape_errors_match_torch(sa, sb):
    a, b = np.ones(sa), np.ones(sb)
    raises_like_torch(lambda: refgrad.matmul(rg(a), rg(b)), lambda: torch.matmul(th(a), th(b)))


def test_matmul_dtype_errors_match_torch():
    a, b = np.ones((2, 3), np.float32), np.ones((3, 2))
    raises_like_torch(lambda: rg(a) @ rg(b), lambda: th(a) @ th(b))
    raises_like_torch(lambda: refgrad.dot(rg(a[0]), rg(b[:, 0])), lambda: torch.dot(th(a[0]), th(b[:, 0])))


@pytest.mark.parametrize("dtype", DTYPES)
def test_mm_bmm_mv_dot(dtype, device, rng):
    r = lambda *s: rng.standard_normal(s).astype(dtype)
    check_op(refgrad.mm, torch.mm, [r(2, 3), r(3, 4)], device=device)
    check_op(refgrad.bmm, torch.bmm, [r(2, 2, 3), r(2, 3, 4)], device=device)
    check_op(refgrad.mv, torch.mv, [r(2, 3), r(3)], device=device)
    check_op(refgrad.dot, torch.dot, [r(5), r(5)], device=device)
    check_op(refgrad.vdot, torch.vdot, [r(5), r(5)], device=device)
    check_op(lambda a, b: a.mm(b), lambda a, b: a.mm(b), [r(2, 3), r(3, 1)], device=device)


@pytest.mark.parametrize("call", [lambda m: m.mm(m.ones(2, 3, 1), m.ones(1, 2)),
                                  lambda m: m.bmm(m.ones(2, 3), m.ones(2, 3, 2)),
                                  lambda m: m.bmm(m.ones(2, 2, 3), m.ones(3, 3, 2)),
                                  lambda m: m.mv(m.ones(2, 3), m.ones(3, 1)),
                                  lambda m: m.dot(m.ones(2), m.ones(3))])
def test_mm_family_errors_match_torch(call):
    raises_like_torch(lambda: call(refgrad), lambda: call(torch))


@pytest.mark.parametrize("dtype", DTYPES)
def test_outer_inner_kron_tensordot(dtype, device, rng):
    r = lambda *s: rng.standard_normal(s).astype(dtype)
    check_op(refgrad.outer, torch.outer, [r(3), r(4)], device=device)
    check_op(lambda a, b: a.ger(b), lambda a, b: a.ger(b), [r(3), r(2)], device=device)
    check_op(refgrad.inner, torch.inner, [r(2, 3), r(4, 3)], device=device)
    check_op(refgrad.inner, torch.inner, [r(3), r(2, 2, 3)], device=device)
    check_op(refgrad.inner, torch.inner, [r(), r(2, 3)], device=device)
    check_op(refgrad.kron, torch.kron, [r(2, 3), r(4)], device=device)
    check_op(refgrad.kron, torch.kron, [r(2, 1, 3), r(2, 2)], device=device)
    check_op(lambda a, b: a.kron(b), lambda a, b: a.kron(b), [r(), r(3)], device=device)
    check_op(refgrad.tensordot, torch.tensordot, [r(2, 3, 4), r(3, 4, 5)], device=device)
    check_op(lambda a, b: refgrad.tensordot(a, b, 1), lambda a, b: torch.tensordot(a, b, 1), [r(2, 3), r(3, 4)],
             device=device)
    check_op(lambda a, b: refgrad.tensordot(a, b, ([0, 2], [1, 0])),
             lambda a, b: torch.tensordot(a, b, ([0, 2], [1, 0])), [r(2, 3, 4), r(4, 2, 5)], device=device)
    check_op(lambda a, b: refgrad.tensordot(a, b, 0), lambda a, b: torch.tensordot(a, b, 0), [r(2), r(3)],
             device=device)


def test_outer_promotes_and_errors_match_torch():
    a, b = np.ones(3, np.float32), np.ones(2)
    assert_same(refgrad.outer(rg(a), rg(b)), torch.outer(th(a), th(b)))
    assert_same(refgrad.kron(rg(a), rg(b)), torch.kron(th(a), th(b)))
    m = np.ones((2, 3))
    raises_like_torch(lambda: refgrad.outer(rg(m), rg(b)), lambda: torch.outer(th(m), th(b)))
    raises_like_torch(lambda: refgrad.inner(rg(m), rg(b)), lambda: torch.inner(th(m), th(b)))


@pytest.mark.parametrize("dtype", DTYPES)
def test_cross(dtype, device, rng):
    r = lambda *s: rng.standard_normal(s).astype(dtype)
    check_op(refgrad.linalg.cross, torch.linalg.cross, [r(4, 3), r(1, 3)], device=device)
    check_op(lambda a, b: refgrad.cross(a, b, dim=0), lambda a, b: torch.cross(a, b, dim=0), [r(3, 2), r(3, 2)],
             device=device)
    raises_like_torch(lambda: refgrad.linalg.cross(rg(r(2)), rg(r(2))), lambda: torch.linalg.cross(th(r(2)), th(r(2))))
    raises_like_torch(lambda: refgrad.linalg.cross(rg(r(4, 3)), rg(r(2, 1, 3))),
                      lambda: torch.linalg.cross(th(r(4, 3)), th(r(2, 1, 3))))


FUSED = {
    "addmm": ((2, 4), [(2, 3), (3, 4)]),
    "addmv": ((2,), [(2, 3), (3,)]),
    "addr": ((2, 3), [(2,), (3,)]),
    "addbmm": ((2, 4), [(5, 2, 3), (5, 3, 4)]),
    "baddbmm": ((5, 2, 4), [(5, 2, 3), (5, 3, 4)]),
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("beta,alpha", [(1, 1), (0.5, -2.0), (0, 3)])
@pytest.mark.parametrize("name", list(FUSED))
def test_fused_blas_ops(name, beta, alpha, dtype, device, rng):
    out_shape, shapes = FUSED[name]
    ins = [rng.standard_normal(s).astype(dtype) for s in [out_shape] + shapes]
    check_op(lambda *x: getattr(refgrad, name)(*x, beta=beta, alpha=alpha),
             lambda *x: getattr(torch, name)(*x, beta=beta, alpha=alpha), ins, device=device)
    # the input broadcasts to the product's shape
    ins[0] = ins[0][..., :1]
    check_op(lambda *x: getattr(refgrad, name)(*x, beta=beta, alpha=alpha),
             lambda *x: getattr(torch, name)(*x, beta=beta, alpha=alpha), ins, device=device)


@pytest.mark.parametrize("name", list(FUSED))
def test_fused_beta_zero_ignores_nan_and_inplace(name, rng):
    out_shape, shapes = FUSED[name]
    ins = [rng.standard_normal(s) for s in [out_shape] + shapes]
    ins[0][...] = np.nan
    check_op(lambda *x: getattr(refgrad, name)(*x, beta=0), lambda *x: getattr(torch, name)(*x, beta=0), ins)
    # in-place method on a non-leaf
    inplace = lambda a, *x: getattr(a * 1, name + "_")(*x, alpha=2)
    check_op(inplace, inplace, [rng.standard_normal(out_shape)] + ins[1:])


@pytest.mark.parametrize("call", [
    lambda m: m.addmm(m.ones(4), m.ones(2, 2), m.ones(2, 3)),
    lambda m: m.addmm(m.ones(2, 2), m.ones(2, 3), m.ones(2, 3)),
    lambda m: m.addmm(m.ones(2, 2), m.ones(2, 3, 1), m.ones(2, 3)),
    lambda m: m.addmm(m.ones(3, dtype=m.float64), m.ones(2, 2), m.ones(2, 3)),
    lambda m: m.addmv(m.ones(2), m.ones(2, 3), m.ones(3, 1)),
    lambda m: m.addr(m.ones(2, 3), m.ones(2, 1), m.ones(2)),
    lambda m: m.addbmm(m.ones(2, 3), m.ones(4, 2, 5), m.ones(3, 5, 3)),
    lambda m: m.addbmm(m.ones(2, 3), m.ones(4, 2, 5), m.ones(4, 4, 3)),
], ids=range(8))
def test_fused_errors_match_torch(call):
    raises_like_torch(lambda: call(refgrad), lambda: call(torch))


# -- inverse, determinants, solve --------------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES)
@fixture_ok
@given(batch=batch_shapes, n=st.integers(1, 4), seed=st.integers(0, 2 ** 16))
def test_inv_det_slogdet(batch, n, seed, dtype, device):
    A = general(np.random.default_rng(seed), batch, n, n, dtype)
    A = A * np.where(np.random.default_rng(seed).random(batch + (1, 1)) < 0.5, -1, 1).astype(dtype)  # both signs
    t = tol(dtype)
    check_op(refgrad.linalg.inv, torch.linalg.inv, [A], device=device, **t)
    check_op(refgrad.inverse, torch.inverse, [A], device=device, **t)
    check_op(refgrad.linalg.det, torch.linalg.det, [A], device=device, **t)
    check_op(lambda a: a.det(), lambda a: a.det(), [A], device=device, **t)
    check_op(refgrad.linalg.slogdet, torch.linalg.slogdet, [A], device=device, **t)
    check_op(refgrad.logdet, torch.logdet, [A], device=device, **t)


def test_slogdet_result_types():
    A = general(np.random.default_rng(0), (), 3, 3, np.float64)
    ours, theirs = refgrad.linalg.slogdet(rg(A)), torch.linalg.slogdet(th(A))
    assert type(ours).__name__ == type(theirs).__name__ == "linalg_slogdet"
    assert ours._fields == ("sign", "logabsdet")
    assert type(refgrad.slogdet(rg(A))).__name__ == type(torch.slogdet(th(A))).__name__ == "slogdet"
    # like torch, the sign requires grad yet carries none back
    a = rg(A, requires_grad=True)
    sign = refgrad.linalg.slogdet(a).sign
    assert sign.requires_grad
    assert refgrad.autograd.grad(sign * 2, a, rg(np.ones(())), allow_unused=True) == (None,)


SINGULAR = {"rank2": [[1.0, 2.0, 3.0], [2.0, 4.0, 6.0], [1.0, 0.0, 1.0]],
            "rank1": np.outer([1.0, 2.0, 2.0], [1.0, -1.0, 3.0])}


@pytest.mark.parametrize("create_graph", [False, True])
@pytest.mark.parametrize("name", list(SINGULAR))
def test_det_gradient_at_singular_matrices(name, create_graph, device):
    """torch's two rules at an exactly singular matrix: building a graph, the adjugate (through the
    SVD, for |det| < 100 eps); otherwise its LU path scales by det == 0 and gives 0. A batch mixing
    singular and invertible matrices takes both branches."""
    A = np.array(SINGULAR[name])
    for X, c in ((A, np.array(0.7)), (np.stack([A, np.diag([2.0, -1.0, 3.0])]), np.array([0.7, -1.3]))):
        a, t = rg(X, device, True), th(X, device, True)
        (go,) = refgrad.autograd.grad(refgrad.linalg.det(a), a, rg(c, device), create_graph=create_graph)
        (gt,) = torch.autograd.grad(torch.linalg.det(t), t, th(c, device), create_graph=create_graph)
        assert_same(go, gt)
        # the adjugate of a rank n-2 matrix is 0 too; on cpu LU gives det == 0 exactly (on cuda its roundoff
        # leaves |det| ~ 1e-16, and both engines take the adjugate: the comparison above covers that)
        if device == "cpu":
            assert np.any(to_np(go).reshape((-1, 3, 3))[0]) == (create_graph and name == "rank2")
    check_op(refgrad.linalg.det, torch.linalg.det, [A], device=device, gradgrad=name == "rank2")


def test_logdet_of_negative_and_singular_determinants():
    for A in (np.diag([-1.0, 2.0]), np.array([[1.0, 2.0], [2.0, 4.0]])):
        assert_same(refgrad.logdet(rg(A)), torch.logdet(th(A)))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("ba,bb,k", [((), (), None), ((), (), 2), ((3,), (3,), None), ((3,), (), 2), ((), (2,), 3),
                                     ((2, 1), (3,), 1), ((3,), (3,), 1)],
                         ids=lambda v: str(v))
def test_solve(ba, bb, k, dtype, device, rng):
    n = 3
    A = general(rng, ba, n, n, dtype)
    B = rng.standard_normal(bb + (n,) + (() if k is None else (k,))).astype(dtype)
    check_op(refgrad.linalg.solve, torch.linalg.solve, [A, B], device=device, **tol(dtype))
    if k is not None:
        Bl = np.swapaxes(B, -1, -2).copy()
        check_op(lambda a, b: refgrad.linalg.solve(a, b, left=False), lambda a, b: torch.linalg.solve(a, b, left=False),
                 [A, Bl], device=device, **tol(dtype))


def test_solve_vector_rule_matches_torch(rng):
    """B of shape A.shape[:-1] is a batch of vectors; (n, n) rows of an (n, n) batch are matrices."""
    A, B = general(rng, (4,), 2, 2, np.float64), rng.standard_normal((4, 2))
    assert_same(refgrad.linalg.solve(rg(A), rg(B)), torch.linalg.solve(th(A), th(B)))
    A, B = general(rng, (2,), 2, 2, np.float64), rng.standard_normal((2, 2))
    assert_same(refgrad.linalg.solve(rg(A), rg(B)), torch.linalg.solve(th(A), th(B)))


@pytest.mark.parametrize("call", [
    lambda m: m.linalg.solve(m.eye(2), m.ones(3)),
    lambda m: m.linalg.solve(m.eye(2).expand(4, 2, 2), m.ones(3, 2)),
    lambda m: m.linalg.solve(m.eye(2), m.ones(2, dtype=m.float64)),
    lambda m: m.linalg.solve(m.eye(2), m.ones(2), left=False),
    lambda m: m.linalg.solve(m.eye(1), m.ones(1), left=False),
    lambda m: m.linalg.solve(m.eye(2), m.ones(2, 3), left=False),
    lambda m: m.linalg.inv(m.zeros(3)),
    lambda m: m.linalg.inv(m.zeros(2, 3)),
    lambda m: m.linalg.inv(m.zeros(2, 2, dtype=m.long)),
    lambda m: m.linalg.inv(m.zeros(2, 2, dtype=m.half)),
    lambda m: m.linalg.det(m.zeros(2, 3)),
    lambda m: m.linalg.eigh(m.zeros(2, 3)),
    lambda m: m.linalg.eigh(m.eye(2), UPLO="X"),
    lambda m: m.linalg.qr(m.zeros(3)),
    lambda m: m.linalg.qr(m.zeros(3, 2), mode="x"),
    lambda m: m.linalg.svd(m.zeros(3)),
    lambda m: m.linalg.svd(m.ones(2, 3, dtype=m.long)),
    lambda m: m.linalg.pinv(m.ones(2, 3, dtype=m.long)),
    lambda m: m.linalg.matrix_power(m.ones(2, 3), 2),
    lambda m: m.linalg.multi_dot([m.ones(2)]),
    lambda m: m.linalg.multi_dot([m.ones(2, 2), m.ones(2, 2, 2), m.ones(2)]),
    lambda m: m.linalg.vecdot(m.ones(2), m.ones(2, dtype=m.float64)),
], ids=range(22))
def test_linalg_argument_errors_match_torch(call):
    raises_like_torch(lambda: call(refgrad), lambda: call(torch))


@pytest.mark.parametrize("call", [
    lambda m, S, B: m.linalg.inv(S),
    lambda m, S, B: m.linalg.inv(B),
    lambda m, S, B: m.linalg.solve(S, m.ones(2, dtype=m.float64)),
    lambda m, S, B: m.linalg.solve(B, m.ones(2, 2, dtype=m.float64)),
    lambda m, S, B: m.linalg.matrix_power(S, -1),
    lambda m, S, B: m.linalg.cholesky(m.tensor([[1.0, 2.0], [2.0, 1.0]])),
    lambda m, S, B: m.linalg.cholesky(m.tensor([[-1.0, 2.0], [2.0, 1.0]])),
    lambda m, S, B: m.linalg.cholesky(m.stack([m.eye(2), m.tensor([[1.0, 2.0], [2.0, 1.0]])])
                                      if hasattr(m, "stack") else m.tensor([[[1.0, 0], [0, 1]], [[1, 2], [2, 1]]])),
    lambda m, S, B: m.linalg.cholesky(m.tensor([[1.0, 2.0], [0.0, 1.0]]), upper=True),
], ids=range(9))
def test_singular_inputs_raise_linalg_error_like_torch(call):
    S = np.array([[1.0, 2.0], [2.0, 4.0]])
    B = np.stack([np.eye(2), S])
    with pytest.raises(torch.linalg.LinAlgError) as theirs:
        call(torch, th(S), th(B))
    with pytest.raises(refgrad.linalg.LinAlgError) as ours:
        call(refgrad, rg(S), rg(B))
    assert issubclass(refgrad.linalg.LinAlgError, RuntimeError)
    assert str(ours.value) == str(theirs.value)


# -- factorizations ----------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("upper", [False, True])
@fixture_ok
@given(batch=batch_shapes, n=st.integers(1, 4), seed=st.integers(0, 2 ** 16))
def test_cholesky(batch, n, seed, upper, dtype, device):
    rng = np.random.default_rng(seed)
    A = spd(rng, batch, n, dtype)
    # garbage in the triangle that is not read: both engines ignore it in the forward
    noise = np.triu(rng.standard_normal(A.shape), 1).astype(dtype)
    A = A + (np.swapaxes(noise, -1, -2) if upper else noise)
    check_op(lambda a: refgrad.linalg.cholesky(a, upper=upper), lambda a: torch.linalg.cholesky(a, upper=upper), [A],
             device=device, **tol(dtype))


def _qr_invariants(lib, mode):
    """(Q * Q, R * R, Q @ R): invariant under the sign flips Q -> QD, R -> DR."""
    def f(a):
        Q, R = lib.linalg.qr(a, mode=mode)
        return Q * Q, R * R, Q @ R
    return f


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("mode", ["reduced", "complete"])
@pytest.mark.parametrize("m,n", [(3, 3), (4, 2), (2, 4), (1, 3), (3, 1)])
def test_qr(m, n, mode, dtype, device, rng):
    A = general(rng, (2,), m, n, dtype)
    grad = not (mode == "complete" and m > n)
    check_op(_qr_invariants(refgrad, mode), _qr_invariants(torch, mode), [A], device=device, grad=grad,
             **tol(dtype))


def test_qr_matches_torch_directly_on_cpu(rng):
    """numpy and torch both run LAPACK's Householder geqrf/orgqr: same signs, no normalisation."""
    A = rng.standard_normal((2, 4, 3))
    check_op(refgrad.linalg.qr, torch.linalg.qr, [A])


def test_qr_mode_r_and_complete_tall_are_not_differentiable():
    A = np.random.default_rng(0).standard_normal((4, 2))
    Q, R = refgrad.linalg.qr(rg(A, requires_grad=True), mode="r")
    assert_same(Q, torch.linalg.qr(th(A), mode="r").Q)
    assert_same(R * R, torch.linalg.qr(th(A), mode="r").R ** 2)
    for mode, make in (("r", lambda Q, R: R.sum()), ("complete", lambda Q, R: (Q * Q).sum() + (R * R).sum())):
        a, t = rg(A, requires_grad=True), th(A, requires_grad=True)
        with pytest.raises(RuntimeError) as theirs:
            make(*torch.linalg.qr(t, mode=mode)).backward()
        with pytest.raises(RuntimeError) as ours:
            make(*refgrad.linalg.qr(a, mode=mode)).backward()
        assert str(ours.value) == str(theirs.value)


def _eigh_invariants(lib, uplo):
    def f(a):
        L, V = lib.linalg.eigh(a, UPLO=uplo)
        return L, V * V
    return f


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("uplo", ["L", "U", "u"])
@fixture_ok
@given(batch=batch_shapes, n=st.integers(1, 4), seed=st.integers(0, 2 ** 16))
def test_eigh_and_eigvalsh(batch, n, seed, uplo, dtype, device):
    rng = np.random.default_rng(seed)
    A = symmetric(rng, batch, n, dtype)
    noise = np.triu(rng.standard_normal(A.shape), 1).astype(dtype)  # in the triangle that is not read
    A = A + (noise if uplo == "L" else np.swapaxes(noise, -1, -2))
    check_op(_eigh_invariants(refgrad, uplo), _eigh_invariants(torch, uplo), [A], device=device, **tol(dtype))
    check_op(lambda a: refgrad.linalg.eigvalsh(a, UPLO=uplo), lambda a: torch.linalg.eigvalsh(a, UPLO=uplo), [A],
             device=device, **tol(dtype))


def test_eigh_reconstructs_and_sorts(rng):
    A = symmetric(rng, (3,), 4, np.float64)
    L, V = refgrad.linalg.eigh(rg(A))
    L, V = to_np(L), to_np(V)
    assert np.all(np.diff(L, axis=-1) > 0)
    np.testing.assert_allclose((V * L[..., None, :]) @ np.swapaxes(V, -1, -2), A, atol=1e-12)
    assert type(refgrad.linalg.eigh(rg(A))).__name__ == "linalg_eigh"


def test_eigvalsh_gradient_with_repeated_eigenvalues(rng):
    """A loss symmetric in the eigenvalues: V diag(gL) V^T does not depend on the basis chosen inside
    the repeated eigenspace. (The second derivative divides by the zero gap, in torch too.)"""
    Q = _orth(rng, (), 3)
    A = (Q * np.array([1.0, 1.0, 2.0])) @ Q.T
    check_op(lambda a: (refgrad.linalg.eigvalsh(a) ** 3).sum(-1), lambda a: (torch.linalg.eigvalsh(a) ** 3).sum(-1),
             [A], gradgrad=False)


def _svd_invariants(lib, full):
    """(U_k * U_k, S, Vh_k * Vh_k, U_k diag(S) Vh_k) over the k = min(m, n) determined vectors."""
    def f(a):
        U, S, Vh = lib.linalg.svd(a, full_matrices=full)
        k = S.shape[-1]
        Uk = U @ lib.eye(U.shape[-1], k, dtype=a.dtype, device=a.device)
        Vk = lib.eye(k, Vh.shape[-2], dtype=a.dtype, device=a.device) @ Vh
        return Uk * Uk, S, Vk * Vk, (Uk * S.unsqueeze(-2)) @ Vk
    return f


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("full", [False, True])
@pytest.mark.parametrize("m,n", [(3, 3), (4, 2), (2, 4), (1, 3)])
def test_svd(m, n, full, dtype, device, rng):
    A = general(rng, (2,), m, n, dtype)
    check_op(_svd_invariants(refgrad, full), _svd_invariants(torch, full), [A], device=device, **tol(dtype))
    check_op(refgrad.linalg.svdvals, torch.linalg.svdvals, [A], device=device, **tol(dtype))


@fixture_ok
@given(batch=batch_shapes, m=st.integers(1, 4), n=st.integers(1, 4), seed=st.integers(0, 2 ** 16))
def test_svd_hypothesis_shapes(batch, m, n, seed, device):
    A = general(np.random.default_rng(seed), batch, m, n, np.float64)
    check_op(_svd_invariants(refgrad, False), _svd_invariants(torch, False), [A], device=device)


def test_svd_full_matrices_are_orthogonal(rng):
    A = general(rng, (), 4, 2, np.float64)
    U, S, Vh = refgrad.linalg.svd(rg(A))
    assert tuple(U.shape) == (4, 4) and tuple(Vh.shape) == (2, 2)
    np.testing.assert_allclose(to_np(U).T @ to_np(U), np.eye(4), atol=1e-12)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("m,n", [(3, 3), (4, 2), (2, 4)])
def test_pinv(m, n, dtype, device, rng):
    A = general(rng, (2,), m, n, dtype)
    check_op(refgrad.linalg.pinv, torch.linalg.pinv, [A], device=device, **tol(dtype))
    check_op(refgrad.pinverse, torch.pinverse, [A], device=device, **tol(dtype))
    Q = _orth(rng, (2,), 3)
    S = ((Q * np.array([-2.5, 1.2, 2.0])) @ np.swapaxes(Q, -1, -2)).astype(dtype)  # eigenvalues away from 0
    check_op(lambda a: refgrad.linalg.pinv(a, hermitian=True), lambda a: torch.linalg.pinv(a, hermitian=True), [S],
             device=device, **tol(dtype))


def test_pinv_drops_small_singular_values(rng):
    U, V = _orth(rng, (), 3), _orth(rng, (), 3)
    A = (U * np.array([2.0, 1.0, 1e-20])) @ V.T
    assert_same(refgrad.linalg.pinv(rg(A)), torch.linalg.pinv(th(A)))
    assert_same(refgrad.linalg.pinv(rg(A), atol=1.5), torch.linalg.pinv(th(A), atol=1.5))
    assert_same(refgrad.linalg.pinv(rg(A), rtol=0.6), torch.linalg.pinv(th(A), rtol=0.6))


@pytest.mark.parametrize("p", [-2, -1, 0, 1, 2, 3, 6])
def test_matrix_power(p, device, rng):
    A = general(rng, (2,), 3, 3, np.float64, 0.8, 1.2)
    check_op(lambda a: refgrad.linalg.matrix_power(a, p), lambda a: torch.linalg.matrix_power(a, p), [A],
             device=device)
    check_op(lambda a: a.matrix_power(p), lambda a: a.matrix_power(p), [A], device=device)


@pytest.mark.parametrize("shapes", [[(3,), (3, 4), (4,)], [(2, 5), (5, 1), (1, 4), (4, 3)], [(5, 2), (2,)],
                                    [(4,), (4, 6), (6, 2), (2, 3)]], ids=str)
def test_multi_dot(shapes, device, rng):
    check_op(lambda *x: refgrad.linalg.multi_dot(list(x)), lambda *x: torch.linalg.multi_dot(list(x)),
             [rng.standard_normal(s) for s in shapes], device=device)


def test_vecdot_and_linalg_matmul(device, rng):
    check_op(refgrad.linalg.vecdot, torch.linalg.vecdot, [rng.standard_normal((2, 3)), rng.standard_normal(3)],
             device=device)
    check_op(lambda a, b: refgrad.linalg.vecdot(a, b, dim=0), lambda a, b: torch.linalg.vecdot(a, b, dim=0),
             [rng.standard_normal((3, 2)), rng.standard_normal((3, 1))], device=device)
    check_op(refgrad.linalg.matmul, torch.linalg.matmul, [rng.standard_normal((2, 3)), rng.standard_normal(3)],
             device=device)


EMPTY = {
    "inv": (lambda m: m.linalg.inv, [(2, 0, 0)]),
    "det": (lambda m: m.linalg.det, [(0, 0)]),
    "det_batch0": (lambda m: m.linalg.det, [(0, 2, 2)]),
    "slogdet": (lambda m: m.linalg.slogdet, [(0, 0)]),
    "eigh": (lambda m: m.linalg.eigh, [(2, 0, 0)]),
    "svd": (lambda m: lambda a: m.linalg.svd(a, full_matrices=False), [(2, 0, 3)]),
    "svdvals": (lambda m: m.linalg.svdvals, [(0, 3)]),
    "qr": (lambda m: m.linalg.qr, [(3, 0)]),
    "cholesky": (lambda m: m.linalg.cholesky, [(0, 0)]),
    "solve": (lambda m: m.linalg.solve, [(0, 0), (0, 2)]),
    "pinv": (lambda m: m.linalg.pinv, [(0, 3)]),
    "matrix_power": (lambda m: lambda a: m.linalg.matrix_power(a, 3), [(0, 0)]),
}


@pytest.mark.parametrize("name", list(EMPTY))
def test_empty_matrices(name, device):
    """0 x 0 matrices and empty batches: torch's values (det of 0 x 0 is 1) and empty gradients."""
    fn, shapes = EMPTY[name]
    check_op(fn(refgrad), fn(torch), [np.zeros(s) for s in shapes], device=device)


# -- the namespace -------------------------------------------------------------------------------
def test_linalg_namespace_is_a_subset_of_torch_linalg():
    names = set(refgrad.linalg.__all__)
    assert names <= set(dir(torch.linalg)), names - set(dir(torch.linalg))
    assert {"inv", "det", "slogdet", "solve", "cholesky", "qr", "eigh", "eigvalsh", "svd", "svdvals", "pinv",
            "norm", "vector_norm", "matrix_norm", "LinAlgError"} <= names
    assert not {"mm", "bmm", "addmm", "outer"} & set(dir(refgrad.linalg))  # torch.linalg has no such names
    for name in ("det", "logdet", "slogdet", "inverse", "pinverse", "matrix_power", "outer", "ger", "inner",
                 "addmm", "addbmm", "baddbmm", "addmv", "addr", "kron", "tensordot", "cross", "vdot"):
        assert callable(getattr(refgrad, name)) and hasattr(torch, name)


def _has_norms():
    from refgrad.ops import reduction
    return hasattr(reduction, "vector_norm") and hasattr(reduction, "matrix_norm")


@pytest.mark.skipif(not _has_norms(), reason="vector_norm/matrix_norm not yet in refgrad.ops.reduction")
@pytest.mark.parametrize("args", [dict(), dict(ord=1), dict(ord=np.inf), dict(ord="fro"), dict(ord=1, dim=0),
                                  dict(dim=(0, 1)), dict(ord=-np.inf, dim=(1, 0)), dict(ord=3, dim=1, keepdim=True)],
                         ids=str)
def test_linalg_norm_dispatch(args, rng):
    A = rng.standard_normal((3, 4))
    # 1- and inf-norms are piecewise linear: torch's second derivative is a ZeroTensor
    smooth = args.get("ord") in (None, "fro", 3)
    check_op(lambda a: refgrad.linalg.norm(a, **args), lambda a: torch.linalg.norm(a, **args), [A], gradgrad=smooth)


def test_linalg_norm_errors_match_torch():
    A = np.ones((2, 2, 2))
    with pytest.raises(RuntimeError) as theirs:
        torch.linalg.norm(th(A), ord=2)
    with pytest.raises(RuntimeError) as ours:
        refgrad.linalg.norm(rg(A), ord=2)
    assert str(ours.value) == str(theirs.value)


def test_linalg_attribute_is_the_linalg_module():
    import subprocess
    import sys
    code = "import refgrad; print(refgrad.linalg.__name__)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "refgrad.linalg"
