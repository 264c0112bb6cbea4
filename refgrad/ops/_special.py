"""Special functions on raw backend arrays: erf, erfc, erfinv, lgamma, digamma, polygamma.

Every function takes a numpy or cupy array and returns an array of the same shape and dtype. The
value is computed in float64 and rounded once to the input dtype, so float16/float32 results are
(nearly always) correctly rounded, and float64 results are within a few ulp of the true value.

* CPU: numpy only (refgrad must not depend on scipy), vectorized. erf/erfc port fdlibm's rational
  approximations (FreeBSD's s_erf.c, the C library's algorithm: 1-2 ulp); lgamma, digamma,
  polygamma and erfinv are implemented here.
* GPU: ``cupyx.scipy.special`` evaluated in float64. cupy is imported only when a cupy array
  arrives, so CPU users never pay for it.

Poles, infinities and nan follow torch on both devices (including a few torch quirks, noted where
they are applied), so results can be compared to torch element for element.
"""
from __future__ import annotations

import math
from fractions import Fraction

import numpy as np

_EULER_GAMMA = 0.5772156649015329
_HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)


# --------------------------------------------------------------------------------------------
# Backend plumbing
# --------------------------------------------------------------------------------------------

def _prepare(x, to_float64=True):
    """Return ``(xp, x (as float64 if to_float64), result dtype)``; cupy arrays stay on their device."""
    if type(x).__module__.split(".")[0] == "cupy":
        import cupy as xp  # noqa: PLC0415 - lazy: a cupy array means cupy is already loaded
    else:
        xp = np
        x = np.asarray(x)
    if x.dtype.kind == "c":
        raise TypeError(f"special functions are not implemented for complex dtype {x.dtype}")
    # Type promotion of integer/bool inputs is the caller's job; a bare array gets float64.
    dtype = x.dtype if x.dtype.kind == "f" else np.dtype(np.float64)
    return xp, x.astype(np.float64, copy=False) if to_float64 else x, dtype


def _finish(xp, out, shape, dtype):
    # numpy ufuncs on 0-d arrays hand back scalars; always return a real array.
    return xp.asarray(out, dtype=dtype).reshape(shape)


def _cupyx(name):
    import cupyx.scipy.special  # noqa: PLC0415 - GPU path only
    return getattr(cupyx.scipy.special, name)


def _as_float(i):
    """A Python int as a float, saturating to +-inf: n! and the coefficients of the cot
    polynomial outgrow float64 for n > 170, where float() would raise."""
    return float(i) if abs(i) < 2 ** 1023 else (math.inf if i > 0 else -math.inf)


def _is_pole(xp, x):
    """Non-positive integers (including -0.0 and -inf): the poles of the gamma function."""
    return (x <= 0) & (x == xp.floor(x))


def _cot_pi(x):
    """cot(pi * x) for float64 ``x``, reducing the argument exactly first.

    ``x - round(x)`` is exact, and pi * r then only carries one rounding, whereas pi * x loses
    the fractional part of a large x entirely.
    """
    r = x - np.round(x)
    return np.cos(np.pi * r) / np.sin(np.pi * r)


# --------------------------------------------------------------------------------------------
# Hurwitz zeta: the engine behind polygamma and the series coefficients below
# --------------------------------------------------------------------------------------------

def _bernoulli_even(count):
    """B_2, B_4, ..., B_{2*count} as floats, from the exact recurrence on fractions."""
    b = [Fraction(1)]
    for m in range(1, 2 * count + 1):
        b.append(-sum(math.comb(m + 1, k) * b[k] for k in range(m)) / (m + 1))
    return [float(b[2 * j]) for j in range(1, count + 1)]


_BERNOULLI = _bernoulli_even(12)


def _hurwitz_zeta(s, q):
    """zeta(s, q) = sum_{k>=0} (q + k)^-s for an integer s >= 2 and float64 ``q > 0``.

    The first terms are summed directly until q + k >= a_min, the rest by Euler-Maclaurin:
        zeta(s, a) = a^(1-s) [1/(s-1) + 1/(2a) + sum_j B_2j/(2j)! s(s+1)..(s+2j-2) a^-2j].
    With a_min = max(10, 2s) the 13th Euler-Maclaurin term is below 1e-17 relative for every s.
    """
    a_min = max(10.0, 2.0 * s)
    n_direct = np.where(q < a_min, np.ceil(a_min - q), 0.0)
    a = q + n_direct
    inv_a = 1.0 / a
    inv_a2 = inv_a * inv_a
    poly = np.zeros_like(q)
    for j in range(len(_BERNOULLI), 0, -1):
        rising = math.prod(range(s, s + 2 * j - 1))  # s (s+1) ... (s+2j-2)
        poly = poly * inv_a2 + _BERNOULLI[j - 1] / math.factorial(2 * j) * rising
    total = a ** (1 - s) * (1.0 / (s - 1) + 0.5 * inv_a + inv_a2 * poly)
    # Add the direct terms smallest first, which keeps the rounding error of the sum minimal.
    for k in range(int(n_direct.max(initial=0)) - 1, -1, -1):
        total += np.where(k < n_direct, (q + k) ** -float(s), 0.0)
    return total


# --------------------------------------------------------------------------------------------
# lgamma
# --------------------------------------------------------------------------------------------

# lgamma(2 + z) = (1 - gamma) z + sum_{k>=2} (-1)^k (zeta(k) - 1)/k z^k, converging for |z| < 2.
# Used for |z| <= 0.5, where 30 terms reach 1e-18; zeta(k) - 1 = zeta(k, 2) exactly.
_LGAMMA2_SERIES = [1.0 - _EULER_GAMMA] + [
    (-1) ** k * float(_hurwitz_zeta(k, np.array(2.0))) / k for k in range(2, 31)]


def _lgamma_near_2(z):
    """lgamma(2 + z) for |z| <= 0.5; accurate relative to the result even as z -> 0 (root)."""
    acc = np.zeros_like(z)
    for c in reversed(_LGAMMA2_SERIES):
        acc = (acc + c) * z
    return acc


def _lgamma_positive(x):
    """lgamma for finite or infinite float64 ``x > 0``."""
    out = np.empty_like(x)

    # x >= 10: Stirling's series; the 9th correction term is below 1e-18 relative.
    big = x >= 10
    xb = x[big]
    inv = 1.0 / xb
    inv2 = inv * inv
    series = np.zeros_like(xb)
    for k in range(8, 0, -1):
        series = series * inv2 + _BERNOULLI[k - 1] / (2 * k * (2 * k - 1))
    # (x - 1/2)(log x - 1) rather than (x - 1/2) log x - x, which is inf - inf at x = inf.
    out[big] = (xb - 0.5) * (np.log(xb) - 1.0) + (_HALF_LOG_2PI - 0.5) + series * inv

    # 2.5 <= x < 10: lgamma(x) = lgamma(x - m) + log((x-1)...(x-m)) with x - m in [1.5, 2.5).
    # Both terms are >= -0.13 and the sum is >= 0.28, so nothing cancels; x - i is exact.
    mid = (x >= 2.5) & (x < 10)
    xm = x[mid]
    m = np.floor(xm - 1.5)
    prod = np.ones_like(xm)
    for i in range(1, 9):
        prod *= np.where(i <= m, xm - i, 1.0)
    out[mid] = _lgamma_near_2(xm - m - 2.0) + np.log(prod)

    # 1.5 <= x < 2.5: the series directly (x - 2 is exact).
    near2 = (x >= 1.5) & (x < 2.5)
    out[near2] = _lgamma_near_2(x[near2] - 2.0)

    # 0.5 <= x < 1.5: lgamma(x) = lgamma(x + 1) - log(x); x - 1 is exact, so the root at 1 keeps
    # its relative accuracy.
    near1 = (x >= 0.5) & (x < 1.5)
    x1 = x[near1]
    out[near1] = _lgamma_near_2(x1 - 1.0) - np.log(x1)

    # 0 < x < 0.5: lgamma(x) = lgamma(x + 2) - log(x) - log(x + 1); all terms add up (no roots).
    small = x < 0.5
    xs = x[small]
    out[small] = _lgamma_near_2(xs) - np.log(xs) - np.log1p(xs)
    return out


def _lgamma_np(x):
    out = np.full_like(x, np.nan)
    pos = x > 0
    out[pos] = _lgamma_positive(x[pos])

    # -0.5 < x < 0: lgamma(x) = lgamma(x + 1) - log(-x). The reflection formula would need
    # sin(pi x), which goes subnormal (and inaccurate) for tiny x.
    near0 = (x < 0) & (x > -0.5)
    xn = x[near0]
    out[near0] = _lgamma_positive(1.0 + xn) - np.log(-xn)

    # x <= -0.5, non-integer: reflection, lgamma(x) = log(pi / |sin(pi x)|) - lgamma(1 - x).
    neg = (x <= -0.5) & (x != np.floor(x))
    xr = x[neg]
    r = xr - np.round(xr)  # exact; |sin(pi x)| = |sin(pi r)|
    out[neg] = np.log(np.pi / np.abs(np.sin(np.pi * r))) - _lgamma_positive(1.0 - xr)
    return out


# --------------------------------------------------------------------------------------------
# digamma and polygamma
# --------------------------------------------------------------------------------------------

# Positive root of digamma, x0 = 1.46163214496836234126..., as a double-double: x - _PSI_ROOT_HI
# is exact near the root, so subtracting _PSI_ROOT_LO gives x - x0 to full relative precision.
_PSI_ROOT_HI = 1.4616321449683622
_PSI_ROOT_LO = 9.549995429965697e-17
# Taylor series psi(x) = sum_{k>=1} (-1)^(k+1) zeta(k+1, x0) (x - x0)^k (psi(x0) = 0), used on
# [1, 2]. Its radius is x0 (the pole at 0), so terms shrink at least like (0.54 / x0)^k and 40
# of them reach 1e-17 relative, root included.
_PSI_ROOT_SERIES = [
    (-1) ** (k + 1) * float(_hurwitz_zeta(k + 1, np.array(_PSI_ROOT_HI))) for k in range(1, 41)]


def _digamma_positive(x):
    """digamma for finite or infinite float64 ``x > 0``."""
    out = np.empty_like(x)

    # x >= 10: asymptotic series psi(x) = log x - 1/(2x) - sum_k B_2k / (2k x^2k); its 9th term
    # is below 1e-18.
    big = x >= 10
    xb = x[big]
    inv2 = 1.0 / (xb * xb)
    series = np.zeros_like(xb)
    for k in range(8, 0, -1):
        series = series * inv2 + _BERNOULLI[k - 1] / (2 * k)
    out[big] = np.log(xb) - 0.5 / xb - series * inv2

    # 0 < x < 10: move x to r in [1, 2] with psi(x + 1) = psi(x) + 1/x, then the Taylor series
    # about the root. Going down from x >= 2 (x - i is exact) adds positive terms to
    # psi(r) >= -0.58; going up from x < 1 adds -1/x to psi(r) <= -0.42: neither cancels.
    xs = x[~big]
    correction = np.where(xs < 1, -1.0 / xs, 0.0)
    m = np.where(xs >= 2, np.floor(xs) - 1.0, 0.0)
    for i in range(1, 9):
        correction += np.where(i <= m, 1.0 / (xs - i), 0.0)
    r = np.where(xs < 1, xs + 1.0, xs - m)
    d = (r - _PSI_ROOT_HI) - _PSI_ROOT_LO
    acc = np.zeros_like(d)
    for c in reversed(_PSI_ROOT_SERIES):
        acc = (acc + c) * d
    out[~big] = acc + correction
    return out


def _cot_derivative_poly(n):
    """Coefficients P_n of d^n/dx^n cot(pi x) = pi^n P_n(cot(pi x)), lowest power first.

    P_0(c) = c and P_{k+1}(c) = -(1 + c^2) P_k'(c). Every P_n has coefficients of one sign on
    powers of one parity, so evaluating it never cancels.
    """
    p = [0, 1]
    for _ in range(n):
        dp = [i * p[i] for i in range(1, len(p))]
        p = [0] * (len(dp) + 2)
        for i, c in enumerate(dp):
            p[i] -= c
            p[i + 2] -= c
    return [_as_float(c) for c in p]


def _polygamma_positive(n, x):
    """psi^(n)(x) for float64 ``x > 0`` (finite or infinite)."""
    if n == 0:
        return _digamma_positive(x)
    # psi^(n)(x) = (-1)^(n+1) n! zeta(n + 1, x)
    return (-1) ** (n + 1) * _as_float(math.factorial(n)) * _hurwitz_zeta(n + 1, x)


def _polygamma_np(n, x):
    """psi^(n)(x) for n >= 0 on float64 ``x``; poles and -inf are left for the caller to fix."""
    out = np.full_like(x, np.nan)
    pos = x > 0
    out[pos] = _polygamma_positive(n, x[pos])

    # Negative non-integers: differentiate the reflection formula psi(1-x) - psi(x) = pi cot(pi x)
    # n times: psi^(n)(x) = (-1)^n psi^(n)(1 - x) - pi^(n+1) P_n(cot(pi x)).
    neg = (x < 0) & (x != np.floor(x))
    xn = x[neg]
    c = _cot_pi(xn)
    # Horner from the leading coefficient: starting from 0 would give 0 * inf = nan when cot
    # overflows (x within a subnormal of an integer), where the true result is infinite.
    poly = _cot_derivative_poly(n)
    cot_term = np.full_like(xn, poly[-1])
    for coef in reversed(poly[:-1]):
        cot_term = cot_term * c + coef
    out[neg] = (-1) ** n * _polygamma_positive(n, 1.0 - xn) - np.pi ** (n + 1) * cot_term
    return out


# --------------------------------------------------------------------------------------------
# erf, erfc, erfinv
# --------------------------------------------------------------------------------------------

# erf/erfc port W. J. Cody's rational Chebyshev approximations as refined by Sun's fdlibm, in
# FreeBSD's lib/msun/src/s_erf.c (Copyright (C) 1993 by Sun Microsystems, Inc.: "Permission to use,
# copy, modify, and distribute this software is freely granted, provided that this notice is
# preserved"), from which glibc's erf/erfc derive too. Coefficients are copied verbatim, lowest power
# first, and evaluated in fdlibm's order: against exact values the error is at most about 1 ulp for
# erf and 2 for erfc (the C library's is as large, with different roundings). The ranges of |x|:
#   [0, 0.84375)      erf(x) = x + x R(x^2): the series part, no cancellation near 0;
#   [0.84375, 1.25)   erf(x) = erx + P(s) / Q(s), s = |x| - 1, erx = erf(1) rounded to 24 bits;
#   [1.25, 28)        erfc(x) = exp(-x^2 - 0.5625 + R(1/x^2) / S(1/x^2)) / x, two fits split at
#                     1/0.35; erf = 1 - erfc (rounds to 1 from 6 on), erfc underflows to 0 at 28.
_ERX = 8.45062911510467529297e-01
_EFX8 = 1.02703333676410069053e+00  # 8 * (2 / sqrt(pi) - 1): erf(x) = x + efx x below 2^-28
_PP = (1.28379167095512558561e-01, -3.25042107247001499370e-01, -2.84817495755985104766e-02,
       -5.77027029648944159157e-03, -2.37630166566501626084e-05)
_QQ = (1.0, 3.97917223959155352819e-01, 6.50222499887672944485e-02, 5.08130628187576562776e-03,
       1.32494738004321644526e-04, -3.96022827877536812320e-06)
_PA = (-2.36211856075265944077e-03, 4.14856118683748331666e-01, -3.72207876035701323847e-01,
       3.18346619901161753674e-01, -1.10894694282396677476e-01, 3.54783043256182359371e-02,
       -2.16637559486879084300e-03)
_QA = (1.0, 1.06420880400844228286e-01, 5.40397917702171048937e-01, 7.18286544141962662868e-02,
       1.26171219808761642112e-01, 1.36370839120290507362e-02, 1.19844998467991074170e-02)
_RA = (-9.86494403484714822705e-03, -6.93858572707181764372e-01, -1.05586262253232909814e+01,
       -6.23753324503260060396e+01, -1.62396669462573470355e+02, -1.84605092906711035994e+02,
       -8.12874355063065934246e+01, -9.81432934416914548592e+00)
_SA = (1.0, 1.96512716674392571292e+01, 1.37657754143519042600e+02, 4.34565877475229228821e+02,
       6.45387271733267880336e+02, 4.29008140027567833386e+02, 1.08635005541779435134e+02,
       6.57024977031928170135e+00, -6.04244152148580987438e-02)
_RB = (-9.86494292470009928597e-03, -7.99283237680523006574e-01, -1.77579549177547519889e+01,
       -1.60636384855821916062e+02, -6.37566443368389627722e+02, -1.02509513161107724954e+03,
       -4.83519191608651397019e+02)
_SB = (1.0, 3.03380607434824582924e+01, 3.25792512996573918826e+02, 1.53672958608443695994e+03,
       3.19985821950859553908e+03, 2.55305040643316442583e+03, 4.74528541206955367215e+02,
       -2.24409524465858183362e+01)
_ERF_TINY, _ERF_SMALL, _ERF_MID, _ERFC_SPLIT, _ERF_ONE, _ERFC_ZERO = 2.0 ** -28, 0.84375, 1.25, 1 / 0.35, 6.0, 28.0
_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)
# Elements per block. Whole-array temporaries are fresh allocations whose page faults cost more than
# the arithmetic; a block's temporaries (256 KiB each) are recycled by malloc and stay in cache.
_BLOCK = 32768


def _poly(t, coeffs):
    """sum_k coeffs[k] t^k by Horner's rule, highest power first (fdlibm's order of operations)."""
    acc = coeffs[-1] * t
    acc += coeffs[-2]
    for c in reversed(coeffs[:-2]):
        acc *= t
        acc += c
    return acc


def _blockwise(block_fn, x, dtype):
    """``block_fn`` (1-d float64 -> 1-d float64, elementwise) applied to ``x`` in blocks, each
    converted to float64 on the way in and rounded to ``dtype`` on the way out."""
    flat = x.reshape(-1)
    out = np.empty(flat.shape, dtype=dtype)
    for start in range(0, flat.size, _BLOCK):
        out[start:start + _BLOCK] = block_fn(flat[start:start + _BLOCK].astype(np.float64))
    return out.reshape(x.shape)


def _grouped_by_abs(x, edges):
    """``(order, groups)``: ``x[order][groups[i]]`` are the elements with edges[i-1] <= |x| < edges[i]
    (nan in the first group). Contiguous slices are much cheaper to work on than boolean masks."""
    ax = np.abs(x)
    key = np.zeros(x.shape, dtype=np.int8)
    for edge in edges:
        key += ax >= edge
    order = np.argsort(key, kind="stable")  # a radix sort on int8: linear time
    bounds = np.searchsorted(key[order], np.arange(len(edges) + 2))
    return order, [slice(lo, hi) for lo, hi in zip(bounds[:-1], bounds[1:])]


def _erf_small_xr(x):
    """x R(x^2), with erf(x) = x + x R(x^2) for |x| < 0.84375 (evaluated for any x)."""
    z = x * x
    xr = _poly(z, _PP)
    xr /= _poly(z, _QQ)
    xr *= x
    return xr


def _erf_mid_offset(ax):
    """erf(ax) - erx for 0.84375 <= ax < 1.25 (ax - 1 is exact)."""
    s = ax - 1.0
    return _poly(s, _PA) / _poly(s, _QA)


def _erfc_tail(ax, num, den):
    """erfc(ax) for 1.25 <= ax < 28, with the fit (num, den): (_RA, _SA) below 1/0.35, else (_RB, _SB).

    exp(-ax^2) is split as exp(-z^2) exp((z - ax)(z + ax)) with z = ax cut to its top 21 bits:
    z^2 is exact, and the rounding of ax^2 (an absolute error up to 2^-43 in the exponent, i.e.
    many ulp of the result) never happens.
    """
    s = 1.0 / (ax * ax)
    z = (ax.view(np.uint64) & np.uint64(0xFFFFFFFF00000000)).view(np.float64)
    return np.exp(-z * z - 0.5625) * np.exp((z - ax) * (z + ax) + _poly(s, num) / _poly(s, den)) / ax


def _erf_other(x):
    """erf outside 2^-28 <= |x| < 0.84375."""
    order, (tiny, mid, near, far, one) = _grouped_by_abs(x, (_ERF_SMALL, _ERF_MID, _ERFC_SPLIT, _ERF_ONE))
    xs = x[order]
    ax = np.abs(xs)
    erf = np.empty_like(xs)
    erf[tiny] = 0.125 * (8.0 * xs[tiny] + _EFX8 * xs[tiny])  # 8x first: subnormal x keep their bits
    erf[mid] = _ERX + _erf_mid_offset(ax[mid])
    erf[near] = 1.0 - _erfc_tail(ax[near], _RA, _SA)
    erf[far] = 1.0 - _erfc_tail(ax[far], _RB, _SB)
    erf[one] = 1.0  # from 6 on (and at inf) erf rounds to 1
    signed = slice(mid.start, None)
    erf[signed] = np.copysign(erf[signed], xs[signed])
    out = np.empty_like(x)
    out[order] = erf
    return out


def _erfc_other(x):
    """erfc for |x| >= 0.84375."""
    order, (nan, mid, near, far, zero) = _grouped_by_abs(x, (_ERF_SMALL, _ERF_MID, _ERFC_SPLIT, _ERFC_ZERO))
    xs = x[order]
    ax = np.abs(xs)
    erfc = np.empty_like(xs)
    erfc[nan] = xs[nan]
    erfc[mid] = _erf_mid_offset(ax[mid])
    erfc[mid] = np.where(xs[mid] > 0, (1.0 - _ERX) - erfc[mid], 1.0 + (_ERX + erfc[mid]))
    erfc[near] = _erfc_tail(ax[near], _RA, _SA)
    erfc[far] = _erfc_tail(ax[far], _RB, _SB)
    erfc[zero] = 0.0  # underflow from 28 on (and at inf)
    tail = slice(near.start, None)
    erfc[tail] = np.where(xs[tail] > 0, erfc[tail], 2.0 - erfc[tail])  # erfc(-x) = 2 - erfc(x)
    out = np.empty_like(x)
    out[order] = erfc
    return out


def _erf_block(x):
    erf = _erf_small_xr(x)
    erf += x
    ax = np.abs(x)
    other = np.flatnonzero(~((ax >= _ERF_TINY) & (ax < _ERF_SMALL)))  # nan included
    if other.size:
        erf[other] = _erf_other(x[other])
    return erf


def _erfc_block(x):
    # 1 - (x + x R) up to x = 1/4; from there on 1 - erf(x) cancels and 0.5 - (x R + (x - 0.5))
    # keeps the error below 1 ulp. h selects the form without a branch.
    xr = _erf_small_xr(x)
    h = (x >= 0.25) * 0.5
    erfc = 1.0 - h
    xr += x - h
    erfc -= xr
    other = np.flatnonzero(~(np.abs(x) < _ERF_SMALL))  # nan included
    if other.size:
        erfc[other] = _erfc_other(x[other])
    return erfc


def _erf_np(x):
    return _blockwise(_erf_block, x, np.float64)


def _erfc_np(x):
    return _blockwise(_erfc_block, x, np.float64)


def _erfinv_np(x):
    """erfinv on float64 ``x``; values outside (-1, 1) are left for the caller to fix."""
    t = np.abs(x)
    # Winitzki's closed form (relative error < 2e-3) as the starting point:
    #     y0^2 = sqrt(b^2 - l/a) - b,  b = 2/(pi a) + l/2,  l = log(1 - t^2),  a = 0.147,
    # with l = log1p(-t) + log1p(t) to stay accurate next to 1. While b > 0 the difference is
    # rationalised, (-l/a) / (sqrt(b^2 - l/a) + b), so it does not cancel for small t.
    a = 0.147
    log_1mt2 = np.log1p(-t) + np.log1p(t)
    b = 2.0 / (np.pi * a) + 0.5 * log_1mt2
    root = np.sqrt(b * b - log_1mt2 / a)
    y = np.sqrt(np.where(b > 0, (-log_1mt2 / a) / (root + b), root - b))
    # Halley steps on f(y) = erf(y) - t. Convergence is cubic, but the start is poorer in the far
    # tail (t > 1 - 1e-8), which needs the third step to get below 1 ulp. For t >= 0.5,
    # f = (1 - t) - erfc(y): 1 - t is exact and erfc keeps its relative accuracy, so y stays
    # accurate as t -> 1.
    upper = t >= 0.5
    f = np.empty_like(y)
    for _ in range(3):
        f[upper] = (1.0 - t[upper]) - _erfc_np(y[upper])
        f[~upper] = _erf_np(y[~upper]) - t[~upper]
        u = f / (_TWO_OVER_SQRT_PI * np.exp(-y * y))
        y = y - u / (1.0 + y * u)
    return np.copysign(y, x)


# --------------------------------------------------------------------------------------------
# Public functions
# --------------------------------------------------------------------------------------------

@np.errstate(all="ignore")
def erf(x):
    """Error function, like ``torch.erf``."""
    xp, x, dtype = _prepare(x, to_float64=False)
    if xp is np:  # converted block by block: a float64 copy of x would cost more than the arithmetic
        return _blockwise(_erf_block, x, dtype)
    x64 = x.astype(np.float64, copy=False)
    return _finish(xp, _cupyx("erf")(x64), x64.shape, dtype)


@np.errstate(all="ignore")
def erfc(x):
    """Complementary error function 1 - erf(x), accurate where erf(x) is close to 1."""
    xp, x, dtype = _prepare(x, to_float64=False)
    if xp is np:
        return _blockwise(_erfc_block, x, dtype)
    x64 = x.astype(np.float64, copy=False)
    return _finish(xp, _cupyx("erfc")(x64), x64.shape, dtype)


@np.errstate(all="ignore")
def erfinv(x):
    """Inverse error function, like ``torch.erfinv``: +-inf at +-1, nan outside [-1, 1]."""
    xp, x64, dtype = _prepare(x)
    out = _erfinv_np(x64) if xp is np else _cupyx("erfinv")(x64)
    out = xp.where(xp.abs(x64) == 1, xp.copysign(xp.inf, x64), out)
    out = xp.where(xp.abs(x64) > 1, xp.nan, out)
    return _finish(xp, out, x64.shape, dtype)


@np.errstate(all="ignore")
def lgamma(x):
    """log|Gamma(x)|, like ``torch.lgamma``: +inf at the poles (0, -1, -2, ...) and at +-inf."""
    xp, x64, dtype = _prepare(x)
    out = _lgamma_np(x64) if xp is np else _cupyx("gammaln")(x64)
    out = xp.where(_is_pole(xp, x64), xp.inf, out)
    return _finish(xp, out, x64.shape, dtype)


@np.errstate(all="ignore")
def digamma(x):
    """psi(x) = d/dx lgamma(x), like ``torch.digamma``.

    torch's conventions: psi(+0) = -inf, psi(-0) = +inf, nan at negative integers and -inf.
    """
    xp, x64, dtype = _prepare(x)
    out = _polygamma_np(0, x64) if xp is np else _cupyx("digamma")(x64)
    out = xp.where(x64 == 0, xp.copysign(xp.inf, -x64), out)
    out = xp.where((x64 < 0) & (x64 == xp.floor(x64)), xp.nan, out)
    return _finish(xp, out, x64.shape, dtype)


@np.errstate(all="ignore")
def polygamma(n, x):
    """n-th derivative of digamma, like ``torch.polygamma(n, x)`` for an integer n >= 0.

    At the poles (0, -0, -1, -2, ...) the result is (-1)^(n+1) inf, the sign torch gives (the
    n = 1 branch of torch returns large finite garbage at negative integers instead). torch's
    values at infinity are kept: psi^(n)(+inf) is 0 for n = 1 but nan for n >= 2, and
    psi^(n)(-inf) is nan for n = 1 but (-1)^(n+1) inf for n >= 2.
    """
    if n != int(n):
        raise TypeError(f"polygamma(n, x): n must be an integer, got {n!r}")
    n = int(n)
    if n < 0:
        raise RuntimeError("polygamma(n, x) does not support negative n.")
    if n == 0:
        return digamma(x)
    xp, x64, dtype = _prepare(x)
    out = _polygamma_np(n, x64) if xp is np else _cupyx("polygamma")(xp.asarray(float(n)), x64)
    pole_value = (-1) ** (n + 1) * xp.inf
    out = xp.where(_is_pole(xp, x64), pole_value, out)
    out = xp.where(xp.isneginf(x64), xp.nan if n == 1 else pole_value, out)
    if n >= 2:
        out = xp.where(xp.isposinf(x64), xp.nan, out)
    return _finish(xp, out, x64.shape, dtype)
