"""refgrad.ops._special against torch (the oracle) and mpmath (the exact reference).

Accuracy is judged relative to the conditioning of each function: an error of k ulp is allowed on
|f(x)| + |x f'(x)|, the size of the change that one ulp of rounding of x makes. That is "k ulp"
where f is well conditioned and an absolute error scaled to the input near roots and at large |x|,
where no float64 algorithm can do better.
"""
from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from refgrad.ops import _special as special

EPS64 = float(np.finfo(np.float64).eps)
EPS32 = float(np.finfo(np.float32).eps)
_REPO = Path(__file__).resolve().parents[1]
_PSI_ROOT = 1.4616321449683623  # the positive root of digamma


def _is_pole(x):
    return (x <= 0) & (x == np.floor(x))


def _gamma_grid(dtype=np.float64):
    """lgamma/digamma/polygamma arguments: every magnitude, both signs, roots, next to poles."""
    rng = np.random.default_rng(0)
    top = 300 if dtype == np.float64 else 37
    x = np.concatenate([
        np.logspace(-top, top, 121),
        rng.uniform(0, 12, 300),
        _PSI_ROOT + rng.uniform(-0.3, 0.3, 60),
        1 + np.logspace(-15, -1, 15), 1 - np.logspace(-15, -1, 15),  # lgamma's roots at 1, 2
        2 + np.logspace(-15, -1, 15), 2 - np.logspace(-15, -1, 15),
        -rng.uniform(0, 30, 300),
        -np.logspace(-top, 5, 61),
        -np.repeat(np.arange(1.0, 6.0), 4) + np.tile([1e-9, -1e-9, 1e-3, -1e-3], 5),  # near poles
    ]).astype(dtype)
    return x[~_is_pole(x)]  # the poles have their own test


def _erf_grid(dtype=np.float64):
    rng = np.random.default_rng(1)
    top = 300 if dtype == np.float64 else 37
    x = np.concatenate([rng.uniform(-30, 30, 400), np.logspace(-top, 1.5, 100),
                        -np.logspace(-top, 1.5, 100), [0.0, -0.0]])
    return x.astype(dtype)


def _erfinv_grid(dtype=np.float64):
    rng = np.random.default_rng(2)
    tiny, one_ulp = (1e-300, 2.0 ** -53) if dtype == np.float64 else (1e-37, 2.0 ** -24)
    x = np.concatenate([rng.uniform(-1, 1, 400), np.logspace(np.log10(tiny), -0.01, 100),
                        1 - np.logspace(np.log10(one_ulp), -0.5, 100),
                        -(1 - np.logspace(np.log10(one_ulp), -0.5, 50)), [0.0, -0.0]])
    return x.astype(dtype)


def _erfinv_derivative(x):
    return math.sqrt(math.pi) / 2 * np.exp(special.erfinv(x) ** 2)


def _erf_derivative(x):
    return 2 / math.sqrt(math.pi) * np.exp(-x * x)


# name -> (ours, torch, derivative of ours (for the conditioning), grid)
FUNCTIONS = {
    "erf": (special.erf, torch.erf, _erf_derivative, _erf_grid),
    "erfc": (special.erfc, torch.erfc, lambda x: -_erf_derivative(x), _erf_grid),
    "erfinv": (special.erfinv, torch.erfinv, _erfinv_derivative, _erfinv_grid),
    "lgamma": (special.lgamma, torch.lgamma, special.digamma, _gamma_grid),
    "digamma": (special.digamma, torch.digamma, lambda x: special.polygamma(1, x), _gamma_grid),
}
for _n in (1, 2, 3, 5, 10):
    FUNCTIONS[f"polygamma{_n}"] = (
        lambda x, n=_n: special.polygamma(n, x),
        lambda t, n=_n: torch.polygamma(n, t),
        lambda x, n=_n: special.polygamma(n + 1, x),
        _gamma_grid,
    )


def _oracle_domain(name, x):
    """Where torch itself is accurate enough to be the oracle.

    torch's polygamma for n >= 2 sums Hurwitz zeta from x upward (so it effectively hangs for
    large negative x) and underflows to 0 for large x; both are outside what it can answer.
    """
    if name.startswith("polygamma") and name != "polygamma1":
        return (x > -100) & (x < 1e6)
    return np.ones(x.shape, dtype=bool)


def _ulps_of_conditioning(ours, ref, x, derivative, eps):
    """|ours - ref| in units of eps * (|f(x)| + |x f'(x)|); exact agreement counts as 0."""
    with np.errstate(all="ignore"):
        scale = eps * (np.abs(ref) + np.abs(x * derivative))
        err = np.where(ours == ref, 0.0, np.abs(ours - ref) / scale)
    return err


# ------------------------------------------------------------------------------------------------
# float64 accuracy
# ------------------------------------------------------------------------------------------------

# torch's trigamma truncates its asymptotic series early: it is only good to ~1e-9 relative.
_TORCH_EXTRA_RTOL = {"polygamma1": 2e-9}


@pytest.mark.parametrize("name", list(FUNCTIONS))
def test_float64_matches_torch(name):
    ours_fn, torch_fn, derivative_fn, grid = FUNCTIONS[name]
    x = grid()
    x = x[_oracle_domain(name, x)]
    ours = ours_fn(x)
    theirs = torch_fn(torch.from_numpy(x)).numpy()
    assert ours.dtype == np.float64 and ours.shape == x.shape

    finite = np.isfinite(theirs)
    np.testing.assert_array_equal(ours[~finite], theirs[~finite])  # overflow to the same inf
    x, ours, theirs = x[finite], ours[finite], theirs[finite]
    extra = _TORCH_EXTRA_RTOL.get(name, 0.0) * np.abs(theirs)
    err = _ulps_of_conditioning(np.where(np.abs(ours - theirs) <= extra, theirs, ours), theirs, x,
                                derivative_fn(x), EPS64)
    worst = int(np.argmax(err))
    assert err.max() <= 16, (
        f"{name}({x[worst]!r}) = {ours[worst]!r}, torch gives {theirs[worst]!r} "
        f"({err[worst]:.1f} ulps of conditioning)")


def _mpmath_reference(name, x):
    mpmath = pytest.importorskip("mpmath")
    mpmath.mp.prec = 200
    fns = {"erf": mpmath.erf, "erfc": mpmath.erfc, "erfinv": mpmath.erfinv,
           "lgamma": lambda v: mpmath.re(mpmath.loggamma(v)), "digamma": mpmath.digamma}
    fn = fns.get(name) or (lambda v: mpmath.polygamma(int(name[len("polygamma"):]), v))
    return np.array([float(fn(mpmath.mpf(float(v)))) for v in x])


@pytest.mark.parametrize("name", list(FUNCTIONS))
def test_float64_accuracy_against_mpmath(name):
    """Tighter than torch can be judged by: a few ulps of conditioning against exact values."""
    ours_fn, _, derivative_fn, grid = FUNCTIONS[name]
    x = grid()[::2]  # mpmath is slow; every other point still covers every region
    ref = _mpmath_reference(name, x)
    ours = ours_fn(x)
    normal = np.isfinite(ref) & (np.abs(ref) > np.finfo(np.float64).tiny)  # subnormals: no ulps
    x, ours, ref = x[normal], ours[normal], ref[normal]
    err = _ulps_of_conditioning(ours, ref, x, derivative_fn(x), EPS64)
    worst = int(np.argmax(err))
    assert err.max() <= 6, (
        f"{name}({x[worst]!r}) = {ours[worst]!r}, exact {ref[worst]!r} "
        f"({err[worst]:.1f} ulps of conditioning)")
    # Where the function is well conditioned this is a plain relative error of a few ulp (the
    # bound 12 admits polygamma(10, x) ~ 9! / x^10 at large x, whose condition number is 10).
    with np.errstate(all="ignore"):
        well = np.abs(x * derivative_fn(x)) <= 12 * np.abs(ref)
        rel = np.abs(ours - ref) / np.abs(ref)
    assert well.sum() > 100
    assert rel[well].max() <= 1e-14


# ------------------------------------------------------------------------------------------------
# float32 / float16: computed in float64 and rounded once
# ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", list(FUNCTIONS))
def test_float32_matches_torch(name):
    ours_fn, torch_fn, derivative_fn, grid = FUNCTIONS[name]
    x = grid(np.float32)
    x = x[_oracle_domain(name, x)]
    ours = ours_fn(x)
    assert ours.dtype == np.float32 and ours.shape == x.shape
    # Rounded once from the float64 result (so correctly rounded up to float64's own error).
    with np.errstate(over="ignore"):
        np.testing.assert_array_equal(ours, ours_fn(x.astype(np.float64)).astype(np.float32))

    theirs = torch_fn(torch.from_numpy(x)).numpy()
    x64 = x.astype(np.float64)
    ref64 = ours_fn(x64)
    finite = np.isfinite(theirs) & np.isfinite(ref64)
    np.testing.assert_array_equal(ours[~finite], theirs[~finite])
    x64, ours, theirs, ref64 = x64[finite], ours[finite], theirs[finite], ref64[finite]
    # torch computes in float32 and loses a few ulps; results in float32's subnormal range are
    # compared absolutely.
    extra = _TORCH_EXTRA_RTOL.get(name, 0.0) * np.abs(ref64) + 2 * np.finfo(np.float32).tiny
    close = np.abs(ours.astype(np.float64) - theirs) <= extra
    err = _ulps_of_conditioning(np.where(close, theirs, ours).astype(np.float64), theirs, x64,
                                derivative_fn(x64), EPS32)
    worst = int(np.argmax(err))
    assert err.max() <= 16, (
        f"{name}({x64[worst]!r}) = {ours[worst]!r}, torch gives {theirs[worst]!r} "
        f"({err[worst]:.1f} float32 ulps of conditioning)")


@pytest.mark.parametrize("name", list(FUNCTIONS))
def test_float16_is_the_rounded_float64_result(name):
    ours_fn, _, _, grid = FUNCTIONS[name]
    with np.errstate(over="ignore"):
        x = grid(np.float32).astype(np.float16)  # large values become inf, which is fine
        ours = ours_fn(x)
        assert ours.dtype == np.float16
        np.testing.assert_array_equal(ours, ours_fn(x.astype(np.float64)).astype(np.float16))


# ------------------------------------------------------------------------------------------------
# Special values: poles, infinities, nan, signed zeros, subnormals
# ------------------------------------------------------------------------------------------------

_INF, _NAN = math.inf, math.nan
_SPECIAL_GAMMA = [0.0, -0.0, 1.0, 2.0, -1.0, -2.0, -10.0, -1e308, _INF, -_INF, _NAN, 5e-324,
                  -5e-324, 1e-300, -1e-300, 1e308, 3e305]


def _assert_same_special_values(ours, theirs, x):
    """Same nan positions, same infinities, same signed zeros; finite values close (accuracy
    proper is tested above, and torch's float32 and trigamma are only good to a few digits)."""
    rel_tol = 1e-8 if x.dtype == np.float64 else 1e-5
    for o, t, v in zip(ours.tolist(), theirs.tolist(), x.tolist()):
        if math.isnan(t) or math.isinf(t) or t == 0:
            assert (math.isnan(o) and math.isnan(t)) or (o == t and math.copysign(1, o) ==
                                                         math.copysign(1, t)), (v, o, t)
        else:
            assert math.isclose(o, t, rel_tol=rel_tol), (v, o, t)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", ["erf", "erfc", "lgamma", "digamma", "polygamma2", "polygamma3",
                                  "polygamma5"])
def test_special_values_match_torch(name, dtype):
    ours_fn, torch_fn, _, _ = FUNCTIONS[name]
    with np.errstate(over="ignore"):
        x = np.array(_SPECIAL_GAMMA + [-30.0, 30.0, 6.0, -6.0, 0.5], dtype=dtype)
    _assert_same_special_values(ours_fn(x), torch_fn(torch.from_numpy(x)).numpy(), x)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_trigamma_special_values(dtype):
    """torch's trigamma returns large finite garbage at negative integers; ours gives +inf there
    (the double pole: psi'(x) -> +inf from both sides) and torch's value everywhere else."""
    with np.errstate(over="ignore"):
        x = np.array(_SPECIAL_GAMMA, dtype=dtype)
    ours = special.polygamma(1, x)
    neg_int = (x < 0) & (x == np.floor(x)) & np.isfinite(x)
    assert np.all(ours[neg_int] == np.inf)
    theirs = torch.polygamma(1, torch.from_numpy(x)).numpy()
    _assert_same_special_values(ours[~neg_int], theirs[~neg_int], x[~neg_int])


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.float16])
def test_erfinv_special_values_match_torch(dtype):
    x = np.array([1.0, -1.0, 0.0, -0.0, 1.5, -1.5, _INF, -_INF, _NAN, 0.5, -0.999], dtype=dtype)
    _assert_same_special_values(special.erfinv(x), torch.erfinv(torch.from_numpy(x)).numpy(), x)


def test_digamma_next_to_a_pole_is_accurate():
    """Next to -1 the reflection must use x - round(x): psi(-1 + 2^-53) = -2^53 (1 + O(2^-53))."""
    x = np.array([-1 + 2.0 ** -53, -1 - 2.0 ** -52])
    np.testing.assert_allclose(special.digamma(x), [-(2.0 ** 53), 2.0 ** 52], rtol=1e-15)
    np.testing.assert_allclose(special.polygamma(1, x), [2.0 ** 106, 2.0 ** 104], rtol=1e-15)


# ------------------------------------------------------------------------------------------------
# Shapes, dtypes, arguments, imports
# ------------------------------------------------------------------------------------------------

_ALL = [special.erf, special.erfc, special.erfinv, special.lgamma, special.digamma,
        lambda x: special.polygamma(0, x), lambda x: special.polygamma(2, x)]


@pytest.mark.parametrize("fn", _ALL)
@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
@pytest.mark.parametrize("shape", [(), (0,), (0, 3), (2, 3)])
def test_shape_and_dtype_are_preserved(fn, dtype, shape):
    x = np.full(shape, 0.25, dtype=dtype)
    out = fn(x)
    assert isinstance(out, np.ndarray)
    assert out.shape == shape and out.dtype == dtype


def test_inputs_are_not_modified():
    x = np.array([-2.5, -0.0, 0.5, 3.0, np.inf])
    before = x.copy()
    for fn in _ALL:
        fn(x)
    np.testing.assert_array_equal(x, before)


def test_polygamma_zero_is_digamma():
    x = _gamma_grid()
    np.testing.assert_array_equal(special.polygamma(0, x), special.digamma(x))


def test_polygamma_rejects_bad_orders():
    with pytest.raises(RuntimeError, match="does not support negative n"):
        special.polygamma(-1, np.array([1.0]))
    with pytest.raises(TypeError):
        special.polygamma(1.5, np.array([1.0]))


def test_module_imports_neither_torch_nor_scipy():
    code = ("import sys, refgrad.ops._special; "
            "bad = [m for m in ('torch', 'scipy', 'cupy') if m in sys.modules]; "
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], cwd=_REPO, check=True)


# ------------------------------------------------------------------------------------------------
# GPU: cupyx.scipy.special in float64, with the same torch conventions for special values
# ------------------------------------------------------------------------------------------------

def _cupy_or_skip():
    cp = pytest.importorskip("cupy")
    try:
        if cp.cuda.runtime.getDeviceCount() == 0:
            pytest.skip("no CUDA device")
    except cp.cuda.runtime.CUDARuntimeError:
        pytest.skip("no CUDA device")
    return cp


@pytest.mark.cuda
@pytest.mark.parametrize("name", list(FUNCTIONS))
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_cupy_matches_cpu(name, dtype):
    cp = _cupy_or_skip()
    ours_fn, _, derivative_fn, grid = FUNCTIONS[name]
    x = grid(np.float32).astype(dtype)
    extra = _SPECIAL_GAMMA if name not in ("erf", "erfc", "erfinv") else [1.0, -1.0, 2.0, _NAN]
    with np.errstate(over="ignore"):
        x = np.concatenate([x, np.array(extra, dtype=dtype)])
    gpu = ours_fn(cp.asarray(x))
    assert isinstance(gpu, cp.ndarray) and gpu.dtype == dtype and gpu.shape == x.shape
    gpu, cpu = cp.asnumpy(gpu), ours_fn(x)
    finite = np.isfinite(cpu)
    np.testing.assert_array_equal(gpu[~finite], cpu[~finite])
    eps = EPS64 if dtype == np.float64 else EPS32
    x64 = x[finite].astype(np.float64)
    err = _ulps_of_conditioning(gpu[finite].astype(np.float64), cpu[finite].astype(np.float64),
                                x64, derivative_fn(x64), eps)
    # cupyx's own float64 accuracy is a few ulp of conditioning; subnormal results flush.
    err = np.where(np.abs(cpu[finite]) < np.finfo(dtype).tiny, 0.0, err)
    assert err.max() <= 64


# ------------------------------------------------------------------------------------------------
# The vectorised erf/erfc (fdlibm's algorithm) against the C library's, element by element
# ------------------------------------------------------------------------------------------------

def _erf_libm_grid():
    """Every range of the algorithm, both sides of each boundary, and the special values."""
    rng = np.random.default_rng(3)
    boundaries = [2.0 ** -56, 2.0 ** -28, 0.25, 0.84375, 1.25, 1 / 0.35, 4.0, 6.0, 26.5, 27.3, 28.0]
    near = [np.nextafter(b, d) for b in boundaries for d in (-np.inf, np.inf)] + boundaries
    x = np.concatenate([
        rng.uniform(-30, 30, 4000), rng.uniform(-1.5, 1.5, 4000), rng.uniform(26, 28, 1000),
        np.logspace(-320, 1.5, 500), np.array(near), *(b + rng.uniform(-0.01, 0.01, 100) for b in boundaries),
        [0.0, 5e-324, 2.2250738585072014e-308, 1e-300, 1e308, _INF],
    ])
    x = np.concatenate([x, -x, [_NAN]])
    return x


@pytest.mark.parametrize("name, bound", [("erf", 2), ("erfc", 4)])
def test_erf_erfc_match_libm_within_ulps(name, bound):
    ours_fn, math_fn = {"erf": (special.erf, math.erf), "erfc": (special.erfc, math.erfc)}[name]
    x = _erf_libm_grid()
    ours = ours_fn(x)
    ref = np.array([math_fn(v) for v in x.tolist()])
    np.testing.assert_array_equal(np.isnan(ours), np.isnan(ref))
    np.testing.assert_array_equal(np.signbit(ours), np.signbit(ref))  # erf(-0.0) = -0.0
    with np.errstate(invalid="ignore"):
        ulps = np.where(ours == ref, 0.0, np.abs(ours - ref) / np.spacing(np.abs(ref)))
    worst = int(np.nanargmax(ulps))
    assert np.nanmax(ulps) <= bound, f"{name}({x[worst]!r}) = {ours[worst]!r}, libm {ref[worst]!r}"
    # The same values whatever the neighbours, across blocks (over 32768 elements), in any layout.
    assert 3 * x.size > 32768
    np.testing.assert_array_equal(ours_fn(np.tile(x, 3)[::-1].reshape(3, -1)).ravel()[::-1], np.tile(ours, 3))
    assert ours_fn(np.array(x[worst])).shape == ()
    assert ours_fn(np.array(x[worst])) == ours[worst]


def test_erf_erfc_special_values():
    x = np.array([0.0, -0.0, _INF, -_INF, _NAN, 5e-324, -5e-324, 28.0, -28.0, 6.0, -6.0, 40.0, -40.0])
    erf, erfc = special.erf(x), special.erfc(x)
    np.testing.assert_array_equal(erf, [0.0, -0.0, 1.0, -1.0, _NAN, 5e-324, -5e-324, 1.0, -1.0, 1.0, -1.0,
                                        1.0, -1.0])
    assert np.signbit(erf[1]) and not np.signbit(erf[0])
    np.testing.assert_array_equal(erfc, [1.0, 1.0, 0.0, 2.0, _NAN, 1.0, 1.0, 0.0, 2.0, math.erfc(6.0), 2.0,
                                         0.0, 2.0])
