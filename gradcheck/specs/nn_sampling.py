"""Op specs for refgrad.nn.functional.grid_sample and affine_grid (torch.nn.functional as the oracle).

grid_sample is piecewise smooth in the grid: bilinear (and bicubic's second derivative) kinks where a pixel
coordinate is an integer, nearest jumps at half-integers, and the border / reflection / zeros paddings fold
or cut at the bounds, which are integers or half-integers too. So the grids are built in pixel coordinates
as ``integer + fraction`` with the fraction in [0.15, 0.35] or [0.65, 0.85] (reflection maps that set to
itself), then normalized; the coordinates run past the borders so that every padding mode is exercised.
Every mode x padding_mode x align_corners combination is a regression sample (plus 5-d bilinear and nearest);
the random samples draw a combination each. Shapes are tiny: input (2, 2, 3, 4), grid (2, 2, 3, 2).
"""
from __future__ import annotations

import itertools

import numpy as np

import refgrad.nn.functional as F

from ..spec import Sample, Spec, Tol, register

_MODES = ("bilinear", "nearest", "bicubic")
_PADDINGS = ("zeros", "border", "reflection")
_COMBOS_2D = list(itertools.product(_MODES, _PADDINGS, (True, False)))
_COMBOS_3D = [("bilinear", "zeros", False), ("bilinear", "reflection", True), ("nearest", "border", False),
              ("bilinear", "border", True)]


def _coords(rng, shape, size):
    """Pixel coordinates (``shape``) over [-2, size + 1], a fraction away from integers and half-integers."""
    frac = rng.uniform(0.15, 0.35, shape) + 0.5 * rng.integers(0, 2, shape)
    return rng.integers(-2, size + 1, shape) + frac


def _normalize(pixels, size, align_corners):
    """The inverse of torch's grid_sampler_unnormalize."""
    return 2 * pixels / (size - 1) - 1 if align_corners else (2 * pixels + 1) / size - 1


def _grid_sample_sample(rng, mode, padding_mode, align_corners, spatial=(3, 4), out=(2, 3)):
    x = rng.standard_normal((2, 2, *spatial))
    # the grid's last dim is (x, y[, z]): component k indexes the input's spatial dim -1 - k
    comps = [_normalize(_coords(rng, (2, *out), size), size, align_corners) for size in spatial[::-1]]
    return Sample((x, np.stack(comps, -1)), {"mode": mode, "padding_mode": padding_mode,
                                             "align_corners": align_corners})


def _regression():
    rng = np.random.default_rng(20240613)
    cases = [_grid_sample_sample(rng, *combo) for combo in _COMBOS_2D]
    return cases + [_grid_sample_sample(rng, *combo, spatial=(2, 3, 4), out=(2, 1, 2)) for combo in _COMBOS_3D]


def _grid_sampler(rng, i):
    combo = _COMBOS_2D[rng.integers(len(_COMBOS_2D))]
    return _grid_sample_sample(rng, *combo)


register(Spec(name="nn.functional.grid_sample", fn=F.grid_sample, torch="torch.nn.functional.grid_sample",
              sampler=_grid_sampler, regression=_regression(),
              # bicubic's float32 grid gradient sums 16 taps x channels of value x cubic-slope products (pixel
              # coordinates up to ~6, slopes scaled by size / 2): torch's kernel (analytic coefficient slopes)
              # and the composite's autograd round differently; both stay ~5e-6 off the float64 value
              tolerances={("*", "float32"): Tol(2e-5, 1e-4, "float32 rounding of bicubic's 16-tap grid gradient "
                                                             "in another order than torch's kernel")}))


def _affine_sampler(rng, i):
    sizes = [((2, 2, 3, 4), True), ((2, 1, 3, 4), False), ((2, 3, 1, 5), False), ((2, 1, 2, 3, 4), True),
             ((2, 2, 3, 1, 2), False)]
    size, align_corners = sizes[i % len(sizes)]
    d = len(size) - 2
    return Sample((rng.standard_normal((2, d, d + 1)), size), {"align_corners": align_corners})


register(Spec(name="nn.functional.affine_grid", fn=F.affine_grid, torch="torch.nn.functional.affine_grid",
              sampler=_affine_sampler))
