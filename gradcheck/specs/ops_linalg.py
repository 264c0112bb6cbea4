"""Specs for linear algebra (refgrad/ops/linalg.py and the torch.linalg namespace, refgrad/linalg.py).

Inputs of the decompositions are well-conditioned by construction: A = U diag(s) V^T with Haar
orthogonal U, V and singular values s spread over [1, 3] with gaps of at least ~0.3 (cond(A) <= 3),
so the gradients that divide by s_j^2 - s_k^2 or by eigenvalue gaps stay tame; symmetric inputs are
Q diag(w) Q^T with separated w (SPD: w in [1, 3]). The functions that read one triangle only (eigh,
eigvalsh, cholesky, pinv(hermitian=True)) are checked on the symmetric part (A + A^T) / 2 of their
input: torch's (and refgrad's) gradient is the symmetric one, which is the derivative of the
function only along symmetric directions, and FD probes random (non-symmetric) directions.

Eigenvectors, singular vectors and QR factors are unique only up to a sign per vector (LAPACK's
choice; numpy's and torch's builds need not agree), so those specs return gauge-invariant
quantities computed from them (V * V, U * U, Q * Q, R * R, reconstructions), which still carry
every gradient path of the decomposition.
"""
from __future__ import annotations

import numpy as np

import refgrad

from ..sampling import MAX_TRIES, distinct, kinks_at, rng_for, uniform
from ..spec import Sample, Spec, register

KNOWN_BUGS: dict[str, str] = {}

# No tolerance overrides: with cond(A) <= 3 and spectral gaps >= ~0.3, numpy's LAPACK and torch's
# agree within torch.testing's float32 defaults on forward and VJP (checked over seeds 0-9 with 8
# random samples each). Widen only with a reason if a device/BLAS combination proves otherwise.
# LAPACK-backed ops refuse half precision and integers, as torch's do ("Low precision dtypes not
# supported", "Expected a floating point or complex tensor"); the coverage test holds them to it
NO_LOWP = {"unsupported_dtypes": {"cpu": ("float16", "int64"), "cuda": ("float16", "int64")}}
# the specs that check the symmetric part (A + A^T) / 2 turn an integer input into float (true
# division) before the op sees it: only float16 stays refused there
NO_HALF = {"unsupported_dtypes": {"cpu": ("float16",), "cuda": ("float16",)}}


# -- samplers ----------------------------------------------------------------------------------------

DEFAULT_RANDOM = 4  # the harness's default number of random samples per spec


def cases(*makers):
    """A sampler cycling through ``makers[i % len(makers)](rng) -> Sample``. The cases past the first
    DEFAULT_RANDOM are also added as fixed regression samples by ``reg`` below, so a default run
    (4 random samples) still covers every case."""
    def sampler(rng, i):
        return makers[i % len(makers)](rng)
    sampler.makers = makers
    return sampler


def reg(spec: Spec) -> Spec:
    """register(spec), first appending one fixed draw of each case the default random samples miss
    (seeded by the spec name; redrawn away from ``avoid``/outside ``domain`` like random samples)."""
    makers = getattr(spec.sampler, "makers", ())
    extra = []
    for k, maker in enumerate(makers[DEFAULT_RANDOM:]):
        for attempt in range(MAX_TRIES):
            smp = maker(rng_for(0, spec.name, "fixed", k, attempt))
            if (spec.domain is None or spec.domain(smp)) and (spec.avoid is None or spec.avoid(smp) >= spec.margin):
                break
        extra.append(smp)
    spec.regression = tuple(spec.regression) + tuple(extra)
    return register(spec)


def shaped(shapes, low=-2.0, high=2.0, kw=None):
    """``cases`` over shape patterns (one shape tuple per input), values uniform in [low, high)."""
    def maker(shp):
        return lambda rng: Sample(tuple(uniform(rng, s, low, high) for s in shp), dict(kw or {}))
    return cases(*[maker(shp) for shp in shapes])


def _orth(rng, batch, n):
    """Haar-distributed orthogonal matrices of shape batch + (n, n) (determinant +-1 at random)."""
    if n == 0:
        return np.zeros(tuple(batch) + (0, 0))
    q, r = np.linalg.qr(rng.standard_normal(tuple(batch) + (n, n)))
    return q * np.sign(np.diagonal(r, axis1=-2, axis2=-1))[..., None, :]


def _spread(rng, batch, k, low, high):
    """k values in [low, high], evenly spread with a +-20% jitter (gaps >= 60% of the even step)."""
    if k == 0:
        return np.zeros(tuple(batch) + (0,))
    step = (high - low) / max(k - 1, 1)
    base = np.linspace(low, high, k) if k > 1 else np.array([(low + high) / 2])
    vals = base + rng.uniform(-0.2, 0.2, tuple(batch) + (k,)) * step
    return rng.permuted(vals, axis=-1)


def mat(rng, shape, low=1.0, high=3.0):
    """A (batch of) m x n matrices with singular values spread over [low, high]."""
    *batch, m, n = shape
    k = min(m, n)
    u, v = _orth(rng, batch, m)[..., :k], _orth(rng, batch, n)[..., :k]
    s = _spread(rng, batch, k, low, high)
    return (u * s[..., None, :]) @ np.swapaxes(v, -1, -2)


def sym(rng, shape, low=-2.5, high=2.5):
    """Symmetric matrices Q diag(w) Q^T with eigenvalues w spread over [low, high]."""
    *batch, n, _ = shape
    q = _orth(rng, batch, n)
    w = _spread(rng, batch, n, low, high)
    a = (q * w[..., None, :]) @ np.swapaxes(q, -1, -2)
    return (a + np.swapaxes(a, -1, -2)) / 2


def spd(rng, shape):
    return sym(rng, shape, 1.0, 3.0)


def sym_indefinite(rng, shape):
    """Symmetric, eigenvalues of random signs with |w| spread over [1, 3] (invertible, cond <= 3)."""
    a = spd(rng, shape)
    *batch, n, _ = shape
    w, q = np.linalg.eigh(a) if n else (np.zeros(tuple(batch) + (0,)), a)
    w = w * rng.choice([-1.0, 1.0], size=w.shape)
    a = (q * w[..., None, :]) @ np.swapaxes(q, -1, -2)
    return (a + np.swapaxes(a, -1, -2)) / 2


def _sym_part(A):
    return (A + A.mT) / 2


def _gauge_cols(X, k=None):
    """X * X on the first k columns: invariant under a sign flip of any column."""
    if k is not None and X.shape[-1] != k:
        X = X[..., :, :k]
    return X * X


def _gauge_rows(X, k=None):
    if k is not None and X.shape[-2] != k:
        X = X[..., :k, :]
    return X * X


# -- the matmul family ----------------------------------------------------------------------------

# every matmul case: matrix-matrix, vector-vector, batched with broadcasting both ways,
# vector-matrix, empty inner result
_MATMUL_SHAPES = [((3, 4), (4, 5)), ((4,), (4,)), ((2, 3, 4), (4, 2)), ((3,), (3, 2)), ((2, 1, 3, 4), (3, 4, 2)),
                  ((0, 3), (3, 2)), ((3, 4), (4,))]

reg(Spec("matmul", fn=refgrad.matmul, torch="torch.matmul", sampler=shaped(_MATMUL_SHAPES),
         regression=[Sample((np.arange(6.0).reshape(2, 3) - 2, np.arange(12.0).reshape(3, 4) / 4),
                            label="hand 2x3 @ 3x4"),
                     Sample((uniform(np.random.default_rng(1), (3, 0)), uniform(np.random.default_rng(2), (0, 2))),
                            label="empty inner dim: zeros")]))

reg(Spec("mm", fn=refgrad.mm, torch="torch.mm",
         sampler=shaped([((3, 4), (4, 5)), ((1, 3), (3, 1)), ((0, 3), (3, 2)), ((3, 0), (0, 2)),
                                        ((2, 2), (2, 2))])))
reg(Spec("bmm", fn=refgrad.bmm, torch="torch.bmm",
         sampler=shaped([((2, 3, 4), (2, 4, 5)), ((1, 2, 3), (1, 3, 1)), ((0, 2, 3), (0, 3, 2)),
                                        ((3, 1, 2), (3, 2, 2))])))
reg(Spec("mv", fn=refgrad.mv, torch="torch.mv",
         sampler=shaped([((3, 4), (4,)), ((1, 1), (1,)), ((0, 3), (3,)), ((2, 0), (0,))])))
_VEC_PAIRS = [((4,), (4,)), ((1,), (1,)), ((0,), (0,)), ((6,), (6,))]
reg(Spec("dot", fn=refgrad.dot, torch="torch.dot", sampler=shaped(_VEC_PAIRS)))
reg(Spec("vdot", fn=refgrad.vdot, torch="torch.vdot", sampler=shaped(_VEC_PAIRS)))
_OUTER = [((3,), (4,)), ((1,), (2,)), ((0,), (3,)), ((2,), (1,))]
reg(Spec("outer", fn=refgrad.outer, torch="torch.outer", sampler=shaped(_OUTER)))
reg(Spec("ger", fn=refgrad.ger, torch="torch.ger", sampler=shaped(_OUTER[:2])))
reg(Spec("inner", fn=refgrad.inner, torch="torch.inner",
         sampler=shaped([((3, 4), (2, 4)), ((4,), (4,)), ((), (2, 3)), ((2, 3, 4), (4,)),
                                        ((2, 3), ()), ((0, 2), (3, 2))])))


def _two(shapes, kw):
    return lambda rng: Sample((uniform(rng, shapes[0]), uniform(rng, shapes[1])), dict(kw))


reg(Spec("tensordot", fn=refgrad.tensordot, torch="torch.tensordot",
         sampler=cases(_two(((2, 3, 4), (3, 4, 2)), {"dims": 2}), _two(((3, 4), (4, 2)), {"dims": 1}),
                       _two(((2,), (3,)), {"dims": 0}),
                       _two(((2, 3, 4), (4, 3, 2)), {"dims": ([1, 2], [1, 0])}),
                       _two(((2, 3), (3, 2)), {"dims": ([0], [1])}))))
reg(Spec("kron", fn=refgrad.kron, torch="torch.kron",
         sampler=shaped([((2, 3), (3, 2)), ((2,), (3,)), ((2, 1, 2), (3, 2)), ((), (2,)),
                                        ((0, 2), (2, 2))])))


def _fused(shapes, kw):
    return lambda rng: Sample(tuple(uniform(rng, s) for s in shapes), dict(kw))


_BA = [{}, {"beta": 0.5, "alpha": -2.0}, {"beta": 0.0}, {"alpha": 0.0, "beta": 3}]
reg(Spec("addmm", fn=refgrad.addmm, torch="torch.addmm",
         sampler=cases(_fused(((3, 5), (3, 4), (4, 5)), _BA[0]), _fused(((5,), (3, 4), (4, 5)), _BA[1]),
                       _fused(((), (2, 3), (3, 2)), _BA[2]), _fused(((1, 5), (3, 4), (4, 5)), _BA[3]),
                       _fused(((3, 1), (3, 0), (0, 2)), _BA[1]))))
reg(Spec("addmv", fn=refgrad.addmv, torch="torch.addmv",
         sampler=cases(_fused(((3,), (3, 4), (4,)), _BA[0]), _fused(((1,), (3, 4), (4,)), _BA[1]),
                       _fused(((), (2, 3), (3,)), _BA[2]), _fused(((3,), (3, 4), (4,)), _BA[3]))))
reg(Spec("addr", fn=refgrad.addr, torch="torch.addr",
         sampler=cases(_fused(((3, 4), (3,), (4,)), _BA[0]), _fused(((4,), (3,), (4,)), _BA[1]),
                       _fused(((), (2,), (3,)), _BA[2]), _fused(((3, 1), (3,), (4,)), _BA[3]))))
reg(Spec("addbmm", fn=refgrad.addbmm, torch="torch.addbmm",
         sampler=cases(_fused(((3, 5), (2, 3, 4), (2, 4, 5)), _BA[0]),
                       _fused(((5,), (2, 3, 4), (2, 4, 5)), _BA[1]),
                       _fused(((), (1, 2, 3), (1, 3, 2)), _BA[2]),
                       _fused(((3, 2), (0, 3, 2), (0, 2, 2)), _BA[3]))))
reg(Spec("baddbmm", fn=refgrad.baddbmm, torch="torch.baddbmm",
         sampler=cases(_fused(((2, 3, 5), (2, 3, 4), (2, 4, 5)), _BA[0]),
                       _fused(((3, 5), (2, 3, 4), (2, 4, 5)), _BA[1]),
                       _fused(((), (1, 2, 3), (1, 3, 2)), _BA[2]),
                       _fused(((1, 3, 1), (2, 3, 4), (2, 4, 2)), _BA[3]))))


def _torch_cross(torch):
    # torch.cross without dim warns (deprecated) and takes the first dim of size 3: spell it out
    def fn(a, b, dim=None):
        if dim is None:
            dim = next(i for i, s in enumerate(torch.broadcast_shapes(a.shape, b.shape)) if s == 3)
        return torch.cross(a, b, dim=dim)
    return fn


reg(Spec("cross", fn=refgrad.cross, torch=_torch_cross,
         sampler=cases(_two(((3,), (3,)), {"dim": 0}), _two(((4, 3), (4, 3)), {"dim": 1}),
                       _two(((3, 4), (3, 1)), {"dim": 0}), _two(((2, 3, 2), (1, 3, 2)), {"dim": -2}),
                       _two(((0, 3), (0, 3)), {"dim": -1})),
         regression=[Sample((np.array([[1.0, 0, 0], [0, 2, 1], [1, 1, 1]]),
                             np.array([[0.0, 1, 0], [1, 0, 3], [2, -1, 0.5]])),
                            label="dim=None: first dim of size 3 (dim 0 here)")]))
reg(Spec("linalg.cross", fn=refgrad.linalg.cross, torch="torch.linalg.cross",
         sampler=cases(_two(((3,), (3,)), {}), _two(((4, 3), (1, 3)), {}), _two(((3, 4), (3, 4)), {"dim": 0}),
                       _two(((2, 3, 2), (2, 3, 1)), {"dim": 1}), _two(((0, 3), (0, 3)), {}))))
reg(Spec("linalg.vecdot", fn=refgrad.linalg.vecdot, torch="torch.linalg.vecdot",
         sampler=cases(_two(((3, 4), (3, 4)), {}), _two(((2, 3, 4), (4,)), {}), _two(((3, 1), (1, 4)), {"dim": 0}),
                       _two(((2, 3), (2, 3)), {"dim": -2}), _two(((0, 3), (1, 3)), {}), _two(((5,), (5,)), {}))))


def _multi_dot(lib):
    return lambda *ms: lib.linalg.multi_dot(list(ms))


def _many(*shapes):
    return lambda rng: Sample(tuple(uniform(rng, s) for s in shapes))


reg(Spec("linalg.multi_dot", fn=_multi_dot(refgrad), torch=_multi_dot,
         sampler=cases(_many((2, 3), (3, 4), (4, 2)), _many((3,), (3, 4), (4,)), _many((5, 1), (1, 4)),
                       _many((2, 3), (3, 5), (5, 1), (1, 4)), _many((4,), (4, 2)), _many((0, 3), (3, 2), (2, 2)))))


# -- inverse, determinants, solve --------------------------------------------------------------------

def _sq(shape, low=1.0, high=3.0, kw=None):
    return lambda rng: Sample((mat(rng, shape, low, high),), dict(kw or {}))


_SQUARE = [(3, 3), (2, 3, 3), (1, 1), (0, 3, 3), (2, 1, 2, 2), (4, 4), (0, 0)]
# near-singular (det ~ 1e-2, cond ~ 1e3): the gradient is (close to) the adjugate, through a solve.
# (Much closer to singular, det's own rounding ~1e-15 swamps FD's smoothness test at det ~ 1e-6.)
_NEAR_SINGULAR = [Sample((np.array([[1.0, 2.0], [2.0, 4.01]]),), label="near-singular 2x2 (det 0.01)"),
                  Sample((np.array([[[2.0, 1.0, 0.0], [4.0, 2.01, 0.0], [0.0, 0.0, 1.0]],
                                    [[1.0, 0.5, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 2.0]]]),),
                         label="batch: one near-singular (det 0.02), one regular")]
# exactly singular: torch's first-order det gradient (no create_graph) solves with the zero LU pivot
# nudged, which gives 0 at det == 0, not the adjugate that FD measures; refgrad matches torch on
# purpose (refgrad/ops/linalg.py _Det.backward). With create_graph torch switches to the adjugate via
# the SVD. FD cannot judge that convention, so these samples are forward-only here; the gradient
# rules at singular matrices (both branches) are tested against torch in
# oracle_tests/test_ops_linalg.py::test_det_gradient_at_singular_matrices.
_SINGULAR = [Sample((np.array([[1.0, 2.0], [2.0, 4.0]]),), label="exactly singular 2x2 (rank 1)"),
             Sample((np.array([[[2.0, 1.0, 0.0], [4.0, 2.0, 0.0], [0.0, 0.0, 1.0]],
                               [[1.0, 0.5, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 2.0]]]),),
                    label="batch: one exactly singular, one regular"),
             Sample((np.zeros((3, 3)),), label="zero matrix")]

for _name, _fn, _torch in (("inverse", refgrad.inverse, "torch.inverse"), ("linalg.inv", refgrad.linalg.inv,
                                                                            "torch.linalg.inv")):
    reg(Spec(_name, fn=_fn, torch=_torch, sampler=cases(*[_sq(s) for s in _SQUARE]),
             regression=[Sample((np.array([[2.0, 1.0], [-1.0, 3.0]]),), label="hand 2x2")], meta=NO_LOWP))

reg(Spec("det", fn=refgrad.det, torch="torch.det", sampler=cases(*[_sq(s) for s in _SQUARE]),
         regression=_NEAR_SINGULAR,
         meta=NO_LOWP))
reg(Spec("det_singular", fn=refgrad.det, torch="torch.det", regression=_SINGULAR, supports_grad=False,
         meta={"note": "exactly singular inputs, forward only: torch's gradient convention there (0 without "
                       "create_graph) is not FD's adjugate; see _SINGULAR"}))
reg(Spec("logdet", fn=refgrad.logdet, torch="torch.logdet",
         # positive determinant: SPD inputs (a negative one gives NaN; covered by the hand sample)
         sampler=cases(*[lambda rng, s=s: Sample((spd(rng, s),)) for s in _SQUARE]),
         regression=[Sample((np.array([[0.0, 1.0], [1.0, 0.0]]),),
                            label="negative det: NaN (kink: FD meets the domain edge)"),
                     Sample((np.array([[2.0, 1.0], [0.5, 3.0]]),), label="hand positive det")], meta=NO_LOWP))
reg(Spec("slogdet", fn=refgrad.slogdet, torch="torch.slogdet", sampler=cases(*[_sq(s) for s in _SQUARE]),
         regression=[Sample((np.array([[0.0, 1.0], [1.0, 0.0]]),), label="negative det")],
         meta=NO_LOWP))
reg(Spec("linalg.slogdet", fn=refgrad.linalg.slogdet, torch="torch.linalg.slogdet",
         sampler=cases(*[_sq(s) for s in _SQUARE]), meta=NO_LOWP))


def _solve_case(sa, sb, kw=None):
    return lambda rng: Sample((mat(rng, sa), uniform(rng, sb)), dict(kw or {}))


reg(Spec("linalg.solve", fn=refgrad.linalg.solve, torch="torch.linalg.solve",
         sampler=cases(_solve_case((3, 3), (3,)), _solve_case((3, 3), (3, 2)), _solve_case((2, 3, 3), (3, 2)),
                       _solve_case((3, 3), (2, 3, 1)), _solve_case((3, 3), (2, 3), {"left": False}),
                       _solve_case((2, 3, 3), (2, 3)), _solve_case((1, 1), (1, 4)),
                       _solve_case((0, 2, 2), (2, 1)), _solve_case((2, 2, 2), (1, 4, 2), {"left": False})),
         meta=NO_LOWP))


def _mpow(shape, n):
    # spectrum in [0.6, 1.6]: powers up to 5 stay O(10) and inverses stay well-conditioned
    return lambda rng: Sample((mat(rng, shape, 0.6, 1.6), n))


reg(Spec("matrix_power", fn=refgrad.matrix_power, torch="torch.matrix_power",
         sampler=cases(_mpow((3, 3), 2), _mpow((2, 3, 3), 3), _mpow((2, 2), 5), _mpow((3, 3), -1),
                       _mpow((2, 2, 2), -2), _mpow((1, 1), 4), _mpow((3, 3), 0), _mpow((0, 2, 2), 2),
                       _mpow((3, 3), 1), _mpow((2, 2), 6))))
reg(Spec("linalg.matrix_power", fn=refgrad.linalg.matrix_power, torch="torch.linalg.matrix_power",
         sampler=cases(_mpow((2, 3, 3), 7), _mpow((2, 2), -3), _mpow((3, 3), 0))))


# -- factorizations ---------------------------------------------------------------------------------

def _chol(lib):
    return lambda A, **kw: lib.linalg.cholesky(_sym_part(A), **kw)


def _spd_case(shape, kw=None):
    return lambda rng: Sample((spd(rng, shape),), dict(kw or {}))


reg(Spec("linalg.cholesky", fn=_chol(refgrad), torch=_chol,
         sampler=cases(_spd_case((3, 3)), _spd_case((2, 3, 3), {"upper": True}), _spd_case((1, 1)),
                       _spd_case((0, 2, 2)), _spd_case((4, 4), {"upper": False}), _spd_case((2, 1, 2, 2))),
         regression=[Sample((np.array([[4.0, 2.0], [2.0, 3.0]]),), label="hand SPD")], meta=NO_HALF))


def _one_triangle(rng, shape, read_upper):
    """SPD matrix plus noise in the triangle the op must NOT read (strictly upper for UPLO='L' /
    upper=False, strictly lower otherwise)."""
    a = spd(rng, shape)
    noise = uniform(rng, shape, 5.0, 9.0)
    return a + (np.tril(noise, -1) if read_upper else np.triu(noise, 1))


def _tri_case(shape, read_upper, kw):
    return lambda rng: Sample((_one_triangle(rng, shape, read_upper),), dict(kw))


# which triangle is read: the other one holds large noise. Forward only: the gradient is the
# symmetric one (torch's convention), not the derivative along the unread triangle (the gradients
# are checked on symmetric inputs by linalg.cholesky / linalg.eigvalsh).
_TRI_NOTE = {"note": "non-symmetric inputs: checks which triangle is read; forward only"}
reg(Spec("linalg.cholesky_triangle", fn=refgrad.linalg.cholesky, torch="torch.linalg.cholesky",
         supports_grad=False, meta=_TRI_NOTE,
         sampler=cases(_tri_case((3, 3), False, {}), _tri_case((2, 3, 3), True, {"upper": True}))))
reg(Spec("linalg.eigvalsh_triangle", fn=refgrad.linalg.eigvalsh, torch="torch.linalg.eigvalsh",
         supports_grad=False, meta=_TRI_NOTE,
         sampler=cases(_tri_case((3, 3), False, {}), _tri_case((2, 3, 3), True, {"UPLO": "U"}))))


def _qr(lib):
    def fn(A, **kw):
        Q, R = lib.linalg.qr(A, **kw)
        k = min(A.shape[-2], A.shape[-1])
        # Householder signs are LAPACK's choice: Q[:, j] and R[j, :] flip together
        return _gauge_cols(Q, k), _gauge_rows(R, k), Q @ R
    return fn


def _gen(shape, kw=None):
    return lambda rng: Sample((mat(rng, shape),), dict(kw or {}))


reg(Spec("linalg.qr", fn=_qr(refgrad), torch=_qr,
         sampler=cases(_gen((3, 3)), _gen((4, 2)), _gen((2, 4)), _gen((2, 3, 2)), _gen((3, 3), {"mode": "complete"}),
                       _gen((2, 3), {"mode": "complete"}), _gen((1, 1)), _gen((0, 3, 2)),
                       _gen((2, 2, 3), {"mode": "reduced"})), meta=NO_LOWP))


def _qr_r(lib):
    def fn(A):
        R = lib.linalg.qr(A, mode="r")[1]
        return R * R  # the row signs of R are LAPACK's choice
    return fn


reg(Spec("linalg.qr_mode_r", fn=_qr_r(refgrad), torch=_qr_r, supports_grad=False,
         sampler=cases(*[lambda rng, s=s: Sample((mat(rng, s),), diff=()) for s in ((3, 2), (2, 3), (2, 3, 3))]),
         meta={"note": "mode='r' computes no Q: torch refuses its gradient, so forward only"}))


def _eigh(lib):
    def fn(A, **kw):
        L, V = lib.linalg.eigh(_sym_part(A), **kw)
        return L, V * V  # each eigenvector's sign is LAPACK's choice: V * V is invariant
    return fn


def _eigvalsh(lib):
    return lambda A, **kw: lib.linalg.eigvalsh(_sym_part(A), **kw)


def _sym_case(shape, kw=None, low=-2.5, high=2.5):
    return lambda rng: Sample((sym(rng, shape, low, high),), dict(kw or {}))


_SYM = [_sym_case((3, 3)), _sym_case((2, 3, 3), {"UPLO": "U"}), _sym_case((1, 1)), _sym_case((0, 2, 2)),
        _sym_case((4, 4), {"UPLO": "L"}), _sym_case((2, 1, 2, 2), {"UPLO": "u"})]
reg(Spec("linalg.eigh", fn=_eigh(refgrad), torch=_eigh, sampler=cases(*_SYM),
         regression=[Sample((np.array([[2.0, 1.0, 0.0], [1.0, 2.0, 0.0], [0.0, 0.0, -1.0]]),),
                            label="hand, eigenvalues -1, 1, 3")], meta=NO_HALF))
reg(Spec("linalg.eigvalsh", fn=_eigvalsh(refgrad), torch=_eigvalsh, sampler=cases(*_SYM),
         regression=[Sample((np.diag([-1.0, 0.5, 2.0]),), label="diagonal: unit eigenvectors")], meta=NO_HALF))


def _svd(lib):
    def fn(A, **kw):
        U, S, Vh = lib.linalg.svd(A, **kw)
        k = S.shape[-1]
        # (u_j, v_j) flip sign together; full_matrices' extra columns are any basis of the complement
        return S, _gauge_cols(U, k), _gauge_rows(Vh, k), (U[..., :, :k] * S.unsqueeze(-2)) @ Vh[..., :k, :]
    return fn


_RECT = [_gen((3, 3)), _gen((4, 2), {"full_matrices": False}), _gen((2, 4)), _gen((2, 3, 2)),
         _gen((3, 2), {"full_matrices": True}), _gen((1, 1)), _gen((0, 3, 2)),
         _gen((2, 2, 3), {"full_matrices": False})]
reg(Spec("linalg.svd", fn=_svd(refgrad), torch=_svd, sampler=cases(*_RECT), meta=NO_LOWP))
reg(Spec("linalg.svdvals", fn=refgrad.linalg.svdvals, torch="torch.linalg.svdvals",
         sampler=cases(_gen((3, 3)), _gen((4, 2)), _gen((2, 4)), _gen((2, 3, 2)), _gen((1, 1)), _gen((0, 3, 2))),
         meta=NO_LOWP))


def _herm_case(shape, kw):
    # |eigenvalues| in [1, 3]: pinv(hermitian) inverts them, so none may come near 0
    return lambda rng: Sample((sym_indefinite(rng, shape),), dict(kw))


def _pinv(lib):
    def fn(A, hermitian=False, **kw):
        return lib.linalg.pinv(_sym_part(A) if hermitian else A, hermitian=hermitian, **kw)
    return fn


reg(Spec("linalg.pinv", fn=_pinv(refgrad), torch=_pinv,
         sampler=cases(_gen((3, 3)), _gen((4, 2)), _gen((2, 4), {"rtol": 1e-3}), _gen((2, 3, 2), {"atol": 0.1}),
                       _herm_case((3, 3), {"hermitian": True}), _gen((1, 1)), _gen((0, 3, 2)),
                       _herm_case((2, 2, 2), {"hermitian": True, "atol": 0.2, "rtol": 0.01})),
         meta={**NO_HALF, "note": "full rank inputs (s in [1, 3]): pinv is discontinuous where the rank changes"}))
reg(Spec("pinverse", fn=refgrad.pinverse, torch="torch.pinverse",
         sampler=cases(_gen((3, 3)), _gen((4, 2), {"rcond": 1e-5}), _gen((2, 4)), _gen((2, 3, 2)),
                       _gen((0, 2, 3))), meta=NO_LOWP))


# -- norms ---------------------------------------------------------------------------------------------

def _vec_case(shape, kw):
    return lambda rng: Sample((uniform(rng, shape),), dict(kw))


def _vnorm_avoid(sample):
    """vector norms: ord 1 / odd / fractional have kinks at 0, ord +-inf ties between the largest
    |x|; every ord is singular at x = 0 overall (kept away from by the values' spread)."""
    ordv = sample.kwargs.get("ord", 2)
    x = np.abs(np.asarray(sample.args[0], dtype=np.float64))
    if x.size == 0:
        return np.inf
    d = kinks_at(0.0)(sample)
    if ordv in (np.inf, -np.inf, float("inf"), float("-inf")):
        d = min(d, distinct()(Sample((x,))))
    return d


reg(Spec("linalg.vector_norm", fn=refgrad.linalg.vector_norm, torch="torch.linalg.vector_norm",
         avoid=_vnorm_avoid, margin=0.1,
         sampler=cases(_vec_case((3, 4), {}), _vec_case((), {"ord": 1}), _vec_case((2, 3), {"ord": np.inf, "dim": 1}),
                       _vec_case((0, 3), {"dim": 1}), _vec_case((2, 1, 3), {"ord": 3, "dim": (0, 2), "keepdim": True}),
                       _vec_case((4,), {"ord": -np.inf}), _vec_case((2, 3), {"ord": 0.5, "dim": -1}),
                       _vec_case((3, 2), {"ord": -1, "dim": 0, "keepdim": True}),
                       _vec_case((5,), {"ord": 0})),
         regression=[Sample((np.array([3.0, -4.0, 0.0]),), {"ord": 0},
                            label="ord=0 with a zero entry (kink): counts non-zeros, zero grad"),
                     Sample((np.array([[1.0, -2.0], [2.0, 0.5]]),), {"ord": np.inf},
                            label="inf-norm tie between |-2| and |2|: torch splits evenly")]))


def _mnorm_avoid(sample):
    """matrix_norm ord +-1 / +-inf: kinks where an entry is 0 and ties between the column (row)
    sums that the max/min picks from; the other ords are smooth on these full-rank inputs."""
    ordv = sample.kwargs.get("ord", "fro")
    if ordv not in (1, -1, np.inf, -np.inf):
        return np.inf
    A = np.abs(np.asarray(sample.args[0], dtype=np.float64))
    if A.size == 0:
        return np.inf
    B = np.moveaxis(A, tuple(sample.kwargs.get("dim", (-2, -1))), (-2, -1))
    sums = B.sum(-2) if ordv in (1, -1) else B.sum(-1)  # column sums for +-1, row sums for +-inf
    gaps = np.diff(np.sort(sums, axis=-1), axis=-1)
    return min(float(A.min()), float(gaps.min()) if gaps.size else np.inf)


def _mat_case(shape, kw):
    return lambda rng: Sample((mat(rng, shape),), dict(kw))


_MNORM = [_mat_case((3, 3), {}), _mat_case((2, 3, 2), {"ord": "nuc"}), _mat_case((3, 2), {"ord": 2}),
          _mat_case((2, 2, 3), {"ord": -2, "keepdim": True}), _mat_case((3, 4), {"ord": 1}),
          _mat_case((2, 3, 3), {"ord": np.inf, "dim": (-1, -2)}), _mat_case((3, 2, 2), {"ord": -1, "dim": (0, 2)}),
          _mat_case((4, 3), {"ord": -np.inf, "keepdim": True}), _mat_case((0, 2, 2), {"ord": "fro"}),
          _mat_case((1, 1), {"ord": "nuc"})]
reg(Spec("linalg.matrix_norm", fn=refgrad.linalg.matrix_norm, torch="torch.linalg.matrix_norm",
         avoid=_mnorm_avoid, margin=0.1, sampler=cases(*_MNORM)))

def _is_matrix_norm(sample):
    """linalg.norm's own rule: a matrix norm when ord is given and two dims are reduced."""
    kw, nd = sample.kwargs, np.ndim(sample.args[0])
    dim = kw.get("dim")
    if isinstance(kw.get("ord"), str):
        return True
    return kw.get("ord") is not None and (len(dim) == 2 if isinstance(dim, tuple) else dim is None and nd == 2)


_NORM = [_vec_case((3, 4), {}), _vec_case((5,), {"ord": 1}), _mat_case((3, 3), {"ord": "fro"}),
         _mat_case((2, 3, 2), {"ord": "nuc", "dim": (1, 2)}), _vec_case((2, 3), {"ord": np.inf, "dim": 1}),
         _mat_case((3, 2), {"ord": 2}), _vec_case((2, 3, 4), {"dim": (0, 2), "keepdim": True}),
         _mat_case((3, 4), {"ord": -1}), _vec_case((), {}), _vec_case((0, 3), {"dim": 1})]
reg(Spec("linalg.norm", fn=refgrad.linalg.norm, torch="torch.linalg.norm",
         avoid=lambda s: _mnorm_avoid(s) if _is_matrix_norm(s) else _vnorm_avoid(s),
         margin=0.1, sampler=cases(*_NORM)))
