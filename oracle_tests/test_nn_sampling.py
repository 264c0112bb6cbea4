"""grid_sample and affine_grid (refgrad.nn.functional) against torch: values, gradients w.r.t. the input and
the grid (random signed cotangents) and double backward over every mode x padding_mode x align_corners, 4-d and
5-d, float32/float64 and the device fixture; torch's conventions at the kinks (bounds, nearest's ties), the
align_corners=None warning, an identity round trip, and torch's errors.

Random grids are built in pixel coordinates a fraction away from the integers and half-integers, where the
functions kink or jump (see gradcheck/specs/nn_sampling.py); the kinks themselves get hand cases."""
import itertools
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from hypothesis import given
from hypothesis import strategies as st

import refgrad
import refgrad.nn.functional as F

from .helpers import GRAD_TOL, assert_same, check_op, rg, th, to_np, torch_double_backward

DTYPES = [np.float32, np.float64]
MODES = ["bilinear", "nearest", "bicubic"]
PADDINGS = ["zeros", "border", "reflection"]
# bicubic's float32 grid gradient sums 16 taps x channels in another order than torch's kernel (see the spec)
BICUBIC_F32 = {"grad_rtol": 2e-5, "grad_atol": 1e-4}


def _grid(rng, batch, out, spatial, align_corners, dtype=np.float64):
    """A grid (batch, *out, len(spatial)) whose pixel coordinates lie over [-2, size + 1] with a fraction in
    [0.15, 0.35] or [0.65, 0.85]; component k indexes spatial dim -1 - k, as torch's."""
    comps = []
    for size in spatial[::-1]:
        shape = (batch, *out)
        pix = rng.integers(-2, size + 1, shape) + rng.uniform(0.15, 0.35, shape) + 0.5 * rng.integers(0, 2, shape)
        if align_corners and size == 1:  # every grid value reads the one pixel
            comps.append(rng.uniform(-2, 2, shape))
        else:
            comps.append(2 * pix / (size - 1) - 1 if align_corners else (2 * pix + 1) / size - 1)
    return np.stack(comps, -1).astype(dtype)


# torch's cuda grid sampler has no double backward ("derivative for aten::grid_sampler_2d_backward is not
# implemented"): torch on cpu is the oracle for both devices
ORACLE = "cpu"


def _sampler(mode, padding_mode, align_corners):
    kw = {"mode": mode, "padding_mode": padding_mode, "align_corners": align_corners}
    return (lambda x, g: F.grid_sample(x, g, **kw)), (lambda x, g: TF.grid_sample(x, g, **kw))


def _check_grid_sample(mode, padding_mode, align_corners, x, g, device="cpu", seed=0, **tol):
    """check_op on grid_sample, with torch on cpu as the oracle (its cuda grid sampler has no double backward).
    Nearest's second derivatives are all zero: torch keeps its zero grid gradient on a
    GridSampler2DBackwardBackward0 node, ours is a graph-free zero, so there the double backward is checked as
    "torch's is zero and so is ours"."""
    fn, tfn = _sampler(mode, padding_mode, align_corners)
    check_op(fn, tfn, [x, g], device=device, seed=seed, gradgrad=mode != "nearest", oracle_device=ORACLE, **tol)
    if mode != "nearest":
        return
    rng = np.random.default_rng(seed)
    a, b = [rg(v, device, True) for v in (x, g)], [th(v, ORACLE, True) for v in (x, g)]
    cot = rng.standard_normal(x.shape[:2] + g.shape[1:-1])
    ours = refgrad.autograd.grad(fn(*a), a, rg(cot, device), create_graph=True)
    theirs = torch.autograd.grad(tfn(*b), b, th(cot, ORACLE), create_graph=True)
    assert_same(ours, theirs, *GRAD_TOL[x.dtype.type], what="grad")
    for o, t in zip(ours, theirs):
        c2 = rng.standard_normal(t.shape)
        for z in torch_double_backward(t, b, th(c2, ORACLE), allow_unused=True, retain_graph=True):
            assert z is None or not to_np(z).any(), "torch's nearest has a nonzero second derivative"
        if o.requires_grad:
            for z in refgrad.autograd.grad(o, a, rg(c2, device), allow_unused=True, retain_graph=True):
                assert z is None or not to_np(z).any(), "our nearest has a nonzero second derivative"


# -- values, gradients and double backward vs torch ------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
@pytest.mark.parametrize("align_corners", [True, False])
@pytest.mark.parametrize("padding_mode", PADDINGS)
@pytest.mark.parametrize("mode", MODES)
def test_grid_sample_4d_matches_torch(device, rng, mode, padding_mode, align_corners, dtype):
    x = rng.standard_normal((2, 2, 3, 4)).astype(dtype)
    g = _grid(rng, 2, (2, 3), (3, 4), align_corners, dtype)
    tol = BICUBIC_F32 if mode == "bicubic" and dtype == np.float32 else {}
    _check_grid_sample(mode, padding_mode, align_corners, x, g, device, **tol)


@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
@pytest.mark.parametrize("align_corners", [True, False])
@pytest.mark.parametrize("padding_mode", PADDINGS)
@pytest.mark.parametrize("mode", ["bilinear", "nearest"])
def test_grid_sample_5d_matches_torch(device, rng, mode, padding_mode, align_corners, dtype):
    x = rng.standard_normal((2, 2, 2, 3, 4)).astype(dtype)
    g = _grid(rng, 2, (2, 1, 3), (2, 3, 4), align_corners, dtype)
    _check_grid_sample(mode, padding_mode, align_corners, x, g, device)


@given(n=st.integers(1, 2), c=st.integers(1, 3), h=st.integers(1, 4), w=st.integers(1, 4), ho=st.integers(1, 3),
       wo=st.integers(1, 3), combo=st.sampled_from(list(itertools.product(MODES, PADDINGS, [True, False]))),
       seed=st.integers(0, 2**16))
def test_grid_sample_shapes_match_torch(n, c, h, w, ho, wo, combo, seed):
    # size-1 dims included (with align_corners=True a unit dim maps every grid value to its one pixel)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, c, h, w))
    _check_grid_sample(*combo, x, _grid(rng, n, (ho, wo), (h, w), combo[2]), seed=seed)


@pytest.mark.parametrize("shape,grid_shape", [((0, 2, 3, 4), (0, 2, 3, 2)), ((2, 0, 3, 4), (2, 2, 3, 2)),
                                              ((2, 2, 3, 4), (2, 0, 3, 2)), ((1, 2, 2, 3, 4), (1, 2, 0, 1, 3))])
def test_grid_sample_empty_matches_torch(device, shape, grid_shape):
    rng = np.random.default_rng(0)
    x, g = rng.standard_normal(shape), rng.uniform(-0.9, 0.9, grid_shape)
    _check_grid_sample("bilinear", "zeros", False, x, g, device)


# -- torch's conventions at the kinks ----------------------------------------------------------------
# grid x values at and beyond the bounds, on the reflection fold points, at pixel centers and at the
# half-integers where nearest rounds half to even (W = 4: -1/1 are centers (align_corners) or outer edges)
_KINK_XS = [-5.0, -3.0, -1.5, -1.0, -0.999, -0.75, -0.25, 0.0, 0.25, 1 / 3, 0.75, 0.999, 1.0, 1.2, 2.0, 5.0]


@pytest.mark.parametrize("align_corners", [True, False])
@pytest.mark.parametrize("padding_mode", PADDINGS)
@pytest.mark.parametrize("mode", MODES)
def test_grid_sample_kink_conventions_match_torch(device, mode, padding_mode, align_corners):
    # torch's clip counts the bounds as outside (grid gradient 0 there), its reflection flips the gradient's
    # sign, nearest rounds half to even and has a zero grid gradient
    x = np.random.default_rng(1).standard_normal((1, 2, 3, 4))
    g = np.array([[[[v, w] for v in _KINK_XS] for w in (-1.0, 0.1, 1 / 3, 1.0)]])
    _check_grid_sample(mode, padding_mode, align_corners, x, g, device)


def test_nearest_grid_gradient_is_zero_and_connected():
    # torch's output requires grad through the grid alone, with a zero gradient
    rng = np.random.default_rng(2)
    x, g = rng.standard_normal((2, 2, 3, 4)), _grid(rng, 2, (2, 3), (3, 4), False)
    grid = rg(g, requires_grad=True)
    out = F.grid_sample(rg(x), grid, mode="nearest", align_corners=False)
    assert out.requires_grad
    (gg,) = refgrad.autograd.grad(out, grid, rg(rng.standard_normal(out.shape)))
    assert gg.shape == grid.shape and not to_np(gg).any()


# -- affine_grid -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
@pytest.mark.parametrize("align_corners", [True, False])
@pytest.mark.parametrize("size", [(2, 3, 4, 5), (2, 1, 1, 5), (2, 2, 6, 1), (2, 1, 3, 4, 2), (2, 2, 1, 2, 3)])
def test_affine_grid_matches_torch(device, size, align_corners, dtype):
    d = len(size) - 2
    theta = np.random.default_rng(3).standard_normal((2, d, d + 1)).astype(dtype)
    with warnings.catch_warnings():
        # unit sizes with align_corners=True warn in both (checked in test_affine_grid_unit_size_warns)
        warnings.simplefilter("ignore", UserWarning)
        check_op(lambda t: F.affine_grid(t, size, align_corners=align_corners),
                 lambda t: TF.affine_grid(t, size, align_corners=align_corners), [theta], device=device)


def test_affine_grid_unit_size_warns_like_torch():
    theta = np.eye(2, 3)[None]
    with pytest.warns(UserWarning, match="unit-size grids when align_corners=True"):
        ours = F.affine_grid(rg(theta), (1, 1, 1, 3), align_corners=True)
    with pytest.warns(UserWarning, match="unit-size grids when align_corners=True"):
        theirs = TF.affine_grid(th(theta), (1, 1, 1, 3), align_corners=True)
    assert_same(ours, theirs)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("align_corners", [True, False])
def test_identity_theta_round_trip(device, mode, align_corners):
    # the identity grid hits every pixel center: every mode reproduces the input, and so does its gradient
    x = np.random.default_rng(4).standard_normal((2, 3, 4, 5))
    theta = rg(np.tile(np.eye(2, 3), (2, 1, 1)), device)
    grid = F.affine_grid(theta, x.shape, align_corners=align_corners)
    xr = rg(x, device, requires_grad=True)
    out = F.grid_sample(xr, grid, mode=mode, align_corners=align_corners)
    np.testing.assert_allclose(to_np(out), x, rtol=1e-12, atol=1e-12)
    cot = np.random.default_rng(5).standard_normal(x.shape)
    (gx,) = refgrad.autograd.grad(out, xr, rg(cot, device))
    np.testing.assert_allclose(to_np(gx), cot, rtol=1e-12, atol=1e-12)


def test_identity_theta_round_trip_5d(device):
    x = np.random.default_rng(6).standard_normal((1, 2, 2, 3, 4))
    grid = F.affine_grid(rg(np.eye(3, 4)[None], device), x.shape, align_corners=True)
    out = F.grid_sample(rg(x, device), grid, align_corners=True)
    np.testing.assert_allclose(to_np(out), x, rtol=1e-12, atol=1e-12)


def test_affine_then_grid_sample_gradient_wrt_theta_matches_torch(device):
    # a spatial transformer: the gradient flows to theta through the grid
    rng = np.random.default_rng(8)
    x = rng.standard_normal((2, 2, 4, 5))
    theta = np.tile(np.eye(2, 3), (2, 1, 1)) + 0.2 * rng.standard_normal((2, 2, 3))
    check_op(lambda a, t: F.grid_sample(a, F.affine_grid(t, (2, 2, 3, 3), align_corners=False), align_corners=False),
             lambda a, t: TF.grid_sample(a, TF.affine_grid(t, (2, 2, 3, 3), align_corners=False),
                                         align_corners=False), [x, theta], device=device, oracle_device=ORACLE)


# -- align_corners=None ----------------------------------------------------------------------------------
def test_align_corners_none_warns_and_means_false():
    rng = np.random.default_rng(9)
    x, g, theta = rng.standard_normal((1, 1, 3, 4)), rng.uniform(-1, 1, (1, 2, 2, 2)), rng.standard_normal((1, 2, 3))
    for fn, tfn, args in ((F.grid_sample, TF.grid_sample, (x, g)), (F.affine_grid, TF.affine_grid, (theta,))):
        extra = () if fn is F.grid_sample else ((1, 1, 3, 4),)
        with pytest.warns(UserWarning, match="align_corners=False since 1.3.0") as ours:
            a = fn(*map(rg, args), *extra)
        with pytest.warns(UserWarning) as theirs:
            b = tfn(*map(th, args), *extra)
        assert str(ours[0].message) == str(theirs[0].message)
        assert_same(a, b)
        assert_same(fn(*map(rg, args), *extra, align_corners=False), b)


# -- errors ------------------------------------------------------------------------------------------------
_X = np.zeros((2, 2, 3, 4))
_G = np.zeros((2, 2, 3, 2))
_GRID_ERRORS = [
    ((_X, _G), {"mode": "bicubicc"}, "expected mode to be"),
    ((_X, _G), {"padding_mode": "wrap"}, "expected padding_mode"),
    ((_X, np.zeros((3, 2, 3, 2))), {}, "same batch size"),
    ((_X, np.zeros((2, 2, 3, 3))), {}, "size 2 in last dimension"),
    ((np.zeros((2, 2, 0, 4)), _G), {}, "non-empty spatial dimensions"),
    ((_X, np.zeros((2, 6, 2))), {}, "4D input and grid with same number of dimensions"),
    ((np.zeros((2, 3, 4)), np.zeros((2, 3, 1))), {}, "5D input and grid with same number of dimensions"),
    ((np.zeros((2, 2, 3, 4, 5)), np.zeros((2, 1, 1, 1, 3))), {"mode": "bicubic"}, "bicubic"),
    ((_X, _G.astype(np.float32)), {}, ""),
    ((_X.astype(np.int64), _G.astype(np.int64)), {}, ""),
]


@pytest.mark.parametrize("args,kwargs,match", _GRID_ERRORS)
def test_grid_sample_errors_like_torch(args, kwargs, match):
    kwargs = {"align_corners": False, **kwargs}
    with pytest.raises(Exception) as theirs:
        TF.grid_sample(*map(th, args), **kwargs)
    with pytest.raises(theirs.type, match=match or None) as ours:
        F.grid_sample(*map(rg, args), **kwargs)
    if match:  # torch's own message (its dtype errors are terse: ours names both dtypes instead)
        assert str(ours.value) == str(theirs.value)
    else:
        assert str(ours.value)


@pytest.mark.parametrize("theta,size,exc", [
    (np.zeros((2, 2, 3), np.int64), (2, 1, 4, 5), ValueError),
    (np.zeros((2, 2, 3)), (2, 1, 4), NotImplementedError),
    (np.zeros((2, 2, 3)), (2, 1, 4, 5, 6), ValueError),
    (np.zeros((2, 3, 4)), (2, 1, 4, 5), ValueError),
    (np.zeros((2, 2, 3)), (2, 1, 0, 5), ValueError),
    (np.zeros((2, 2, 3)), (3, 1, 4, 5), RuntimeError),
])
def test_affine_grid_errors_like_torch(theta, size, exc):
    with pytest.raises(exc) as theirs:
        TF.affine_grid(th(theta), size, align_corners=False)
    with pytest.raises(exc) as ours:
        F.affine_grid(rg(theta), size, align_corners=False)
    if exc is not RuntimeError:  # torch's batch mismatch surfaces from bmm; ours names affine_grid
        assert str(ours.value).replace("refgrad.", "torch.") == str(theirs.value)
    assert str(ours.value)



@pytest.mark.parametrize("value", [np.inf, np.nan])
def test_nearest_reads_only_the_nearest_pixel(value, device):
    """A non-finite pixel next to the sampled one stays out of nearest mode's output (torch reads one pixel), and
    the grid still gets torch's zero gradient."""
    x = np.array([[[[1.0, value], [2.0, 3.0]]]])
    g = np.array([[[[-0.6, -0.6], [0.7, 0.6]]]])
    grid = rg(g, device, True)
    ours = F.grid_sample(rg(x, device), grid, mode="nearest", align_corners=False)
    theirs = TF.grid_sample(th(x, device), th(g, device, True), mode="nearest", align_corners=False)
    assert_same(ours, theirs)
    (gg,) = refgrad.autograd.grad(ours, grid, rg(np.ones((1, 1, 1, 2)), device))
    assert gg.shape == grid.shape and not np.any(to_np(gg))
