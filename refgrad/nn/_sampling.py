"""Matches `torch.nn.functional.grid_sample` and `torch.nn.functional.affine_grid` (spatial transformers).

Both are composites of refgrad ops, so the gradients w.r.t. the input and the grid (and double backward) come
from autograd:

- the grid is unnormalized to pixel coordinates, then padded (``border``: clipped; ``reflection``: mirrored,
  then clipped) as torch's ``grid_sampler_compute_source_index`` does. torch's clip counts the bounds as
  outside (gradient 0 there, where ``clamp`` would give 1), so the clip is a ``where`` that selects a
  constant at and beyond the bounds;
- the sample is a weighted sum over the 2**d neighbours (4 in 2d, 8 in 3d) gathered from the flattened input,
  out-of-range neighbours reading zero. Bilinear weights are torch's ``(x1 - x) * (y1 - y)``...; nearest
  reads the one pixel at torch's nearbyint (half to even), linked to the grid with torch's zero gradient;
- bicubic (4d only) pads the 4x4 tap indices rather than the coordinate, as torch does, with torch's cubic
  convolution coefficients (A = -0.75).

The grad_fn names are the composites' (e.g. ``AddBackward0``), not torch's ``GridSampler2DBackward0``.
"""
from __future__ import annotations

import itertools
import math
import warnings

from .. import ops as _ops
from .._backend import get_xp
from .._tensor import Tensor
from ..autograd.graph import apply

__all__ = ["affine_grid", "grid_sample"]

_ALIGN_WARNING = ("Default grid_sample and affine_grid behavior has changed to align_corners=False since 1.3.0. "
                  "Please specify align_corners=True if the old behavior is desired. See the documentation of "
                  "grid_sample for details.")
_CUBIC_A = -0.75  # torch's cubic convolution constant (aten/src/ATen/native/UpSample.h)


def _const(arr, like: Tensor) -> Tensor:
    """A graph-free Tensor on ``like``'s backend (indices, masks, floors)."""
    return Tensor._wrap(get_xp(like._data).asarray(arr))


# -- coordinates ----------------------------------------------------------------------------------
def _unnormalize(coord: Tensor, size: int, align_corners: bool) -> Tensor:
    """torch's grid_sampler_unnormalize: -1 and 1 are the centers (align_corners) or the outer edges of the
    corner pixels."""
    if align_corners:
        return (coord + 1) * ((size - 1) / 2)
    return (coord + 1) * (size / 2) - 0.5


def _clip(coord: Tensor, size: int) -> Tensor:
    """torch's clip_coordinates to [0, size - 1]; its gradient is 0 at and beyond the bounds
    (clip_coordinates_set_grad), unlike clamp's 1 at the bounds."""
    data = coord.detach()
    inside = (data > 0) & (data < size - 1)
    return _ops.where(inside, coord, data.clamp(0, size - 1))


def _reflect(coord: Tensor, twice_low: int, twice_high: int) -> Tensor:
    """torch's reflect_coordinates: mirror ``coord`` into [low, high] (gradient +-1 by the parity of the flips;
    its kinks all fall on the clip bounds, where the gradient is 0)."""
    if twice_low == twice_high:  # a unit dim with align_corners: the coordinate is already 0 (grad 0)
        return coord
    low, span = twice_low / 2, (twice_high - twice_low) / 2
    dist = (coord - low).abs()
    extra = _ops.fmod(dist, span)
    even = _ops.remainder(_ops.floor(dist.detach() / span), 2) == 0
    return _ops.where(even, extra + low, span - extra + low)


def _pad(coord: Tensor, size: int, padding_mode: str, align_corners: bool) -> Tensor:
    """torch's compute_coordinates: where a pixel coordinate reads from under each padding mode."""
    if padding_mode == "border":
        return _clip(coord, size)
    if padding_mode == "reflection":
        bounds = (0, 2 * (size - 1)) if align_corners else (-1, 2 * size - 1)
        return _clip(_reflect(coord, *bounds), size)
    return coord


# -- gathering ------------------------------------------------------------------------------------
def _gather(flat: Tensor, idx: list, spatial: tuple) -> Tensor:
    """``flat`` (N, C, prod(spatial)) read at the float index arrays ``idx`` (one (N, P) array per spatial dim):
    (N, C, P), zero where an index is out of range (torch's zeros padding; NaN coordinates read zero)."""
    xp = get_xp(flat._data)
    inside = xp.ones(idx[0].shape, dtype=bool)
    for i, size in zip(idx, spatial):
        inside &= (i >= 0) & (i <= size - 1)
    strides = [math.prod(spatial[k + 1:]) for k in range(len(spatial))]
    lin = sum(xp.where(inside, i, 0).astype(xp.int64) * s for i, s in zip(idx, strides))
    n, c, _ = flat.shape
    index = xp.ascontiguousarray(xp.broadcast_to(lin[:, None, :], (n, c, lin.shape[1])))
    values = flat.gather(2, _const(index, flat))
    return _ops.where(_const(inside[:, None, :], flat), values, 0)


def _cubic_coefficients(t: Tensor) -> list:
    """torch's get_cubic_upsample_coefficients: the weights of the taps at -1, 0, 1, 2 for offset ``t``."""
    a = _CUBIC_A

    def near(x):  # |x| <= 1
        return ((a + 2) * x - (a + 3)) * x * x + 1

    def far(x):  # 1 < |x| < 2
        return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a
    return [far(t + 1), near(t), near(1 - t), far((1 - t) + 1)]


class _NearestLink:
    """(sample, grid) -> sample: ties nearest mode's output to the grid with torch's zero grid gradient, without
    arithmetic on the grid (0 * inf would put nan into the output)."""
    node_name = "GridSamplerNearestBackward0"

    @staticmethod
    def forward(ctx, out, grid):
        ctx.grid_shape = grid.shape
        return out[...]  # a view: a new array object over the gathered values

    @staticmethod
    def backward(ctx, g):
        return g, (_ops.zeros(ctx.grid_shape, dtype=g.dtype, device=g.device) if ctx.needs_input_grad[1] else None)


def _interpolate(flat, coords, spatial, mode, padding_mode, align_corners):
    """The (N, C, P) samples at the unnormalized pixel coordinates ``coords`` (one (N, P) Tensor per dim)."""
    xp = get_xp(flat._data)
    if mode == "bicubic":
        floors = [xp.floor(c.detach()._data) for c in coords]
        ty, tx = (c - _const(f, c) for c, f in zip(coords, floors))
        # the taps, not the coordinate, are padded (torch's get_value_bounded): integer-valued, graph-free
        taps = [[_pad(_const(f + k, flat), size, padding_mode, align_corners)._data for k in (-1, 0, 1, 2)]
                for f, size in zip(floors, spatial)]
        cy, cx = _cubic_coefficients(ty), _cubic_coefficients(tx)
        out = None
        for i in range(4):  # torch interpolates each row along x, then the rows along y
            row = None
            for j in range(4):
                term = _gather(flat, [taps[0][i], taps[1][j]], spatial) * cx[j].unsqueeze(1)
                row = term if row is None else row + term
            term = row * cy[i].unsqueeze(1)
            out = term if out is None else out + term
        return out
    coords = [_pad(c, size, padding_mode, align_corners) for c, size in zip(coords, spatial)]
    if mode == "nearest":  # the one pixel at nearbyint (half to even), so an inf or nan next to it stays out
        return _gather(flat, [xp.round(c.detach()._data) for c in coords], spatial)
    floors = [xp.floor(c.detach()._data) for c in coords]
    # torch's bilinear weights (x0 + 1 - x, x - x0)
    weights = [((low + 1) - c, c - low) for c, low in ((c, _const(f, c)) for c, f in zip(coords, floors))]
    out = None
    # torch's corner order (nw, ne, sw, se; then the far z plane in 3d): the last dim varies fastest
    for corner in itertools.product((0, 1), repeat=len(coords)):
        weight = math.prod((w[k] for w, k in zip(weights[1:], corner[1:])), start=weights[0][corner[0]])
        term = _gather(flat, [f + k for f, k in zip(floors, corner)], spatial) * weight.unsqueeze(1)
        out = term if out is None else out + term
    return out


# -- public ---------------------------------------------------------------------------------------
def _check_grid_sampler(input, grid, mode):  # noqa: A002
    """torch's check_grid_sampler_common / _2d / _3d, in torch's order."""
    if input.device != grid.device:
        raise RuntimeError(f"grid_sampler(): expected input and grid to be on same device, but input is on "
                           f"{input.device} and grid is on {grid.device}")
    if input.ndim < 1 or grid.ndim < 1 or input.shape[0] != grid.shape[0]:
        raise RuntimeError(f"grid_sampler(): expected grid and input to have same batch size, but got input with "
                           f"sizes {list(input.shape)} and grid with sizes {list(grid.shape)}")
    if grid.shape[-1] != input.ndim - 2:
        raise RuntimeError(f"grid_sampler(): expected grid to have size {input.ndim - 2} in last dimension, but got "
                           f"grid with sizes {list(grid.shape)}")
    for d in range(2, input.ndim):
        if input.shape[d] <= 0:
            raise RuntimeError(f"grid_sampler(): expected input to have non-empty spatial dimensions, but input has "
                               f"sizes {list(input.shape)} with dimension {d} being empty")
    nd = 4 if input.ndim == 4 else 5
    if input.ndim != nd or grid.ndim != nd:
        raise RuntimeError(f"grid_sampler(): expected {nd}D input and grid with same number of dimensions, but got "
                           f"input with sizes {list(input.shape)} and grid with sizes {list(grid.shape)}")
    if nd == 5 and mode == "bicubic":
        raise RuntimeError("grid_sampler(): bicubic interpolation only supports 4D input")
    if input.dtype != grid.dtype:
        raise RuntimeError(f"grid_sampler(): expected input and grid to have the same dtype, but got input "
                           f"{input.dtype} and grid {grid.dtype}")
    if not input.is_floating_point():
        raise NotImplementedError(f"grid_sampler(): not implemented for {input.dtype} (floating-point input only)")


def grid_sample(input: Tensor, grid: Tensor, mode: str = "bilinear", padding_mode: str = "zeros",  # noqa: A002
                align_corners: bool | None = None) -> Tensor:
    """Matches `torch.nn.functional.grid_sample` for 4-d input (N, C, H, W) with a grid (N, Ho, Wo, 2) and
    5-d input (N, C, D, H, W) with a grid (N, Do, Ho, Wo, 3); modes bilinear, nearest and bicubic (4-d only),
    padding modes zeros, border and reflection. ``grid[..., 0]`` indexes the last input dim (x).
    ``align_corners=None`` warns and means False, as torch's does."""
    if mode not in ("bilinear", "nearest", "bicubic"):
        raise ValueError(f"nn.functional.grid_sample(): expected mode to be 'bilinear', 'nearest' or 'bicubic', "
                         f"but got: '{mode}'")
    if padding_mode not in ("zeros", "border", "reflection"):
        raise ValueError(f"nn.functional.grid_sample(): expected padding_mode to be 'zeros', 'border', or "
                         f"'reflection', but got: '{padding_mode}'")
    if align_corners is None:
        warnings.warn(_ALIGN_WARNING, stacklevel=2)
        align_corners = False
    _check_grid_sampler(input, grid, mode)
    n, c, *spatial = input.shape
    out_spatial = tuple(grid.shape[1:-1])
    flat_grid = grid.reshape(n, math.prod(out_spatial), len(spatial))
    # the grid's components are (x, y[, z]): the last one indexes the first spatial dim
    coords = [_unnormalize(flat_grid.select(-1, len(spatial) - 1 - d), size, align_corners)
              for d, size in enumerate(spatial)]
    flat = input.reshape(n, c, math.prod(spatial))
    out = _interpolate(flat, coords, tuple(spatial), mode, padding_mode, align_corners)
    if mode == "nearest" and grid.requires_grad:
        out = apply(_NearestLink, out, grid)
    return out.reshape(n, c, *out_spatial)


def _base_coords(steps: int, align_corners: bool, like: Tensor) -> Tensor:
    """torch's linspace_from_neg_one: the normalized pixel positions of one output dim."""
    if steps <= 1:
        return _ops.zeros(steps, dtype=like.dtype, device=like.device)
    line = _ops.linspace(-1, 1, steps, dtype=like.dtype, device=like.device)
    return line if align_corners else line * (steps - 1) / steps


def affine_grid(theta: Tensor, size, align_corners: bool | None = None) -> Tensor:
    """Matches `torch.nn.functional.affine_grid`: the (N, H, W, 2) grid (or (N, D, H, W, 3) for a 5-d
    ``size``) of ``theta @ [x, y, (z,) 1]`` over the output's normalized pixel positions.
    ``align_corners=None`` warns and means False, as torch's does."""
    if align_corners is None:
        warnings.warn(_ALIGN_WARNING, stacklevel=2)
        align_corners = False
    if not theta.is_floating_point():
        raise ValueError(f"Expected theta to have floating point type, but got {theta.dtype}")
    if len(size) not in (4, 5):
        raise NotImplementedError(f"affine_grid only supports 4D and 5D sizes, for 2D and 3D affine transforms, "
                                  f"respectively. Got size {size}.")
    d = len(size) - 2
    if theta.ndim != 3 or theta.shape[-2] != d or theta.shape[-1] != d + 1:
        raise ValueError(f"Expected a batch of {d}D affine matrices of shape Nx{d}x{d + 1} for size {size}. "
                         f"Got {theta.shape}.")
    spatial = [int(s) for s in size[2:]]
    if align_corners and min(spatial) == 1:
        warnings.warn("Since version 1.3.0, affine_grid behavior has changed for unit-size grids when "
                      "align_corners=True. This is not an intended use case of affine_grid. See the documentation "
                      "of affine_grid for details.", stacklevel=2)
    elif min(size) <= 0:
        raise ValueError(f"Expected non-zero, positive output size. Got {size}")
    if theta.shape[0] != size[0]:
        raise RuntimeError(f"affine_grid(): expected theta to have batch size {size[0]} (size[0]), but got theta of "
                           f"shape {list(theta.shape)}")
    # the base grid (*spatial, d + 1) holds (x, y[, z], 1): x runs along the last dim
    axes = [_base_coords(s, align_corners, theta) for s in spatial]
    grids = _ops.meshgrid(*axes, indexing="ij")
    base = _ops.stack([*grids[::-1], _ops.ones(spatial, dtype=theta.dtype, device=theta.device)], -1)
    grid = _ops.matmul(base.reshape(1, -1, d + 1), theta.transpose(1, 2))
    return grid.reshape(int(size[0]), *spatial, d)
