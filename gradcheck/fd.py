"""Finite differences along a direction, with an error estimate and Chainer-style kink detection.

The harness never differentiates element by element: it compares directional derivatives. For a
random direction u and a random cotangent v, phi(t) = <v, f(x + t u)> has phi'(0) = <J^T v, u>,
which refgrad's VJP gives as <vjp(v), u>. One direction costs 7 evaluations of f whatever the
input size, and a random u sees an error in any element of the gradient.

phi'(0) is estimated by central differences at steps h, h/2, h/4, extrapolated twice (Richardson),
so the truncation error is O(h^6) and the gap between the two once-extrapolated values estimates it.
Rounding is estimated from the magnitude of the terms summed into phi. The tolerance of the check is
derived from these estimates, not fixed: a backward that is 1e-4 relative off is caught while smooth
functions stay far below their tolerance.

Kinks: the 7 points hold two 5-point stencils (spacing h/2 and h/4). A least-squares quadratic fits
a smooth phi to O(s^3) on each, so its residual shrinks ~8x from the wide to the narrow stencil; at a
kink or jump it shrinks ~2x (or not at all). A non-finite value, a residual that does not shrink, or
an error estimate too large to judge a 1e-4 relative error, marks the probe as "kink" (unreliable).
"""
from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

EPS64 = float(np.finfo(np.float64).eps)
SAFETY = 10.0            # tolerance = SAFETY * (estimated truncation + rounding error) + floor
REL_FLOOR = 1e-10        # relative to the derivative's magnitude: below float64 noise of composite ops
ROUND_ULPS = 32          # rounding error of one evaluation, in ulps of sum |v_i f_i| (composite ops)
MAX_REL_TOL = 1e-5       # an estimate worse than this cannot judge a 1e-4 relative error: unreliable
_OFFSETS = np.array([-1.0, -0.5, -0.25, 0.0, 0.25, 0.5, 1.0])


def _quad_fit_residual(y: np.ndarray) -> float:
    """RMS residual of the least-squares quadratic through 5 equispaced values (k = -2..2)."""
    k = np.arange(-2.0, 3.0)
    basis = np.stack([np.ones(5), k, k * k], axis=1)
    coef, *_ = np.linalg.lstsq(basis, y, rcond=None)
    return float(np.sqrt(np.mean((y - basis @ coef) ** 2)))


@dataclass
class Estimate:
    value: float          # phi'(0), Richardson-extrapolated
    error: float          # estimated absolute error of ``value`` (truncation + rounding)
    kink: str | None      # why the probe cannot be trusted, or None
    evals: int = 7


def derivative(phi: Callable[[float], tuple[float, float]], h: float, ulps: float = ROUND_ULPS) -> Estimate:
    """Estimate phi'(0). ``phi(t)`` returns (value, magnitude) where magnitude = sum |terms| of value
    (it sizes the rounding error)."""
    vals, mags = [], []
    # probes may leave the domain (log at a tiny negative step): that is a NaN for the kink test to
    # see, not a warning to raise
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for o in _OFFSETS:
            v, m = phi(float(o * h))
            vals.append(v)
            mags.append(m)
    y = np.asarray(vals, dtype=np.float64)
    if not np.all(np.isfinite(y)):
        return Estimate(math.nan, math.inf, "non-finite value within the FD stencil (pole or domain edge)")
    noise = ulps * EPS64 * max(max(mags), 1e-300)
    d1 = (y[6] - y[0]) / (2 * h)
    d2 = (y[5] - y[1]) / h
    d3 = (y[4] - y[2]) / (h / 2)
    r1 = (4 * d2 - d1) / 3
    r2 = (4 * d3 - d2) / 3
    value = (16 * r2 - r1) / 15
    # |r2 - r1| / 15 estimates r2's truncation error, an upper estimate for the extrapolated value;
    # each difference quotient carries ~noise/step of rounding, amplified ~1.5x by the extrapolation.
    error = abs(r2 - r1) / 15 + 6 * noise / h
    wide = _quad_fit_residual(y[[0, 1, 3, 5, 6]])
    narrow = _quad_fit_residual(y[[1, 2, 3, 4, 5]])
    if narrow > 100 * noise and wide < 4 * narrow:
        return Estimate(value, error, f"not smooth within {h:.2g} of the sample: the quadratic-fit residual "
                                      f"shrinks {wide / narrow:.2g}x when the stencil halves (smooth: ~8x)")
    return Estimate(value, error, None)


def tolerance(est: Estimate, magnitude: float, rtol: float = 0.0, atol: float = 0.0) -> float:
    """The absolute tolerance on |analytic - FD| derived from the estimate (plus any override)."""
    return SAFETY * est.error + REL_FLOOR * magnitude + atol + rtol * magnitude


def unreliable(est: Estimate, magnitude: float) -> str | None:
    """Why the estimate cannot judge a 1e-4 relative error, or None."""
    if est.kink:
        return est.kink
    if magnitude > 0 and SAFETY * est.error > MAX_REL_TOL * magnitude:
        return (f"FD error estimate {SAFETY * est.error:.2g} is too large for the derivative's magnitude "
                f"{magnitude:.2g} (a kink or pole near the sample)")
    return None
