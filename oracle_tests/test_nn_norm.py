"""Normalization (refgrad.nn.functional batch/instance/layer/group norm, local_response_norm, and their
modules) against torch: outputs, input/weight/bias gradients with random cotangents, double backward, running
statistics after several training steps (momentum and momentum=None), eval mode, state_dict keys, reprs and
bad inputs."""
from collections import OrderedDict

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from hypothesis import given
from hypothesis import strategies as st

import refgrad
import refgrad.nn as nn
import refgrad.nn.functional as F

from .helpers import assert_same, check_op, rg, th, to_np

DTYPES = [np.float32, np.float64]
# float32 statistics are summed in different orders (torch's kernels vs numpy's pairwise sums)
F32_TOL = {"rtol": 1e-5, "atol": 1e-5, "grad_rtol": 1e-4, "grad_atol": 1e-4}


def _tol(dtype):
    return F32_TOL if dtype == np.float32 else {}


def _check_affine(fr, ft, inputs, **kw):
    """check_op over (x, weight, bias). torch's fused backward node makes its bias gradient (the cotangent's
    sum) require grad with a zero second derivative; refgrad's bias gradient is the cotangent itself, with no
    graph. So double backward is compared on (x, weight) and the bias gradient to first order."""
    check_op(fr, ft, inputs, gradgrad=False, **kw)
    check_op(fr, ft, inputs, diff=[0, 1], **kw)


def _affine(rng, c, dtype, shape=None):
    shape = (c,) if shape is None else shape
    return rng.uniform(0.5, 1.5, shape).astype(dtype), rng.standard_normal(shape).astype(dtype)


bn_shapes = st.tuples(st.integers(2, 4), st.integers(1, 3), st.lists(st.integers(1, 3), max_size=2)).map(
    lambda t: (t[0], t[1], *t[2]))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("affine", [True, False])
@given(shape=bn_shapes, seed=st.integers(0, 2**16))
def test_batch_norm_training_matches_torch_with_double_backward(dtype, affine, shape, seed):
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal(shape) * 2 + 1).astype(dtype)
    if affine:
        w, b = _affine(rng, shape[1], dtype)
        _check_affine(lambda x, w, b: F.batch_norm(x, None, None, w, b, True),
                      lambda x, w, b: TF.batch_norm(x, None, None, w, b, True), [x, w, b], seed=seed, **_tol(dtype))
    else:
        check_op(lambda x: F.batch_norm(x, None, None, training=True, eps=1e-3),
                 lambda x: TF.batch_norm(x, None, None, training=True, eps=1e-3), [x], seed=seed, **_tol(dtype))


@pytest.mark.parametrize("dtype", DTYPES)
def test_batch_norm_eval_uses_running_stats(dtype, rng):
    x = rng.standard_normal((3, 4, 5)).astype(dtype)
    rm, rv = rng.standard_normal(4).astype(dtype), rng.uniform(0.5, 2, 4).astype(dtype)
    w, b = _affine(rng, 4, dtype)
    _check_affine(lambda x, w, b: F.batch_norm(x, rg(rm), rg(rv), w, b, False, eps=1e-4),
                  lambda x, w, b: TF.batch_norm(x, th(rm), th(rv), w, b, False, eps=1e-4), [x, w, b], **_tol(dtype))


def test_batch_norm_grad_fn_is_torchs_primitive_and_gradgradcheck_passes(rng):
    x = rg(rng.standard_normal((4, 3, 2)), requires_grad=True)
    w = rg(rng.uniform(0.5, 1.5, 3), requires_grad=True)
    b = rg(rng.standard_normal(3), requires_grad=True)
    assert F.batch_norm(x, None, None, w, b, True).grad_fn.name() == "NativeBatchNormBackward0"
    assert F.layer_norm(x, (2,)).grad_fn.name() == "NativeLayerNormBackward0"
    assert F.group_norm(x, 3).grad_fn.name() == "NativeGroupNormBackward0"
    fn = lambda x, w, b: F.batch_norm(x, None, None, w, b, True)  # noqa: E731
    assert refgrad.autograd.gradcheck(fn, (x, w, b))
    assert refgrad.autograd.gradgradcheck(fn, (x, w, b))
    # the composite of mean/var ops differentiates to the same first and second derivatives
    comp = lambda x, w, b: ((x - x.mean((0, 2), keepdim=True))  # noqa: E731
                            / (x.var((0, 2), unbiased=False, keepdim=True) + 1e-5).sqrt() * w.reshape(3, 1)
                            + b.reshape(3, 1))
    cot = rg(rng.standard_normal((4, 3, 2)))
    g1 = refgrad.autograd.grad(fn(x, w, b), (x, w, b), cot, create_graph=True)
    g2 = refgrad.autograd.grad(comp(x, w, b), (x, w, b), cot, create_graph=True)
    for a, c in zip(g1, g2):
        np.testing.assert_allclose(to_np(a), to_np(c), rtol=1e-10, atol=1e-12)
    # (the bias gradient is the cotangent itself: no second derivative)
    cot2 = [rg(rng.standard_normal(tuple(t.shape))) for t in g1[:2]]
    h1 = refgrad.autograd.grad(g1[:2], (x, w), cot2)
    h2 = refgrad.autograd.grad(g2[:2], (x, w), cot2)
    for a, c in zip(h1, h2):
        np.testing.assert_allclose(to_np(a), to_np(c), rtol=1e-9, atol=1e-11)


@pytest.mark.parametrize("momentum", [0.1, 0.7])
def test_batch_norm_functional_updates_running_stats_like_torch(momentum, rng):
    rm_r, rv_r = refgrad.zeros(3), refgrad.ones(3)
    rm_t, rv_t = torch.zeros(3), torch.ones(3)
    for _ in range(3):
        x = rng.standard_normal((5, 3, 2)).astype(np.float32) * 3 + 2
        assert_same(F.batch_norm(rg(x), rm_r, rv_r, training=True, momentum=momentum),
                    TF.batch_norm(th(x), rm_t, rv_t, training=True, momentum=momentum), 1e-5, 1e-5)
        assert_same(rm_r, rm_t, 1e-6, 1e-6)
        assert_same(rv_r, rv_t, 1e-6, 1e-6)  # the unbiased variance, as torch
    v = rm_r._version
    F.batch_norm(rg(x), rm_r, rv_r, training=True)
    assert rm_r._version > v


ln_cases = st.sampled_from([((4,), 1), ((2, 5), 1), ((2, 3, 4), 2), ((3, 2, 2), 3), ((0, 3), 1)])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("affine", ["both", "weight", "none"])
@given(case=ln_cases, seed=st.integers(0, 2**16))
def test_layer_norm_matches_torch(dtype, affine, case, seed):
    shape, k = case
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal(shape) * 2 - 1).astype(dtype)
    ns = shape[len(shape) - k:]
    w, b = _affine(rng, None, dtype, ns)
    if affine == "both":
        _check_affine(lambda x, w, b: F.layer_norm(x, ns, w, b), lambda x, w, b: TF.layer_norm(x, ns, w, b),
                      [x, w, b], seed=seed, **_tol(dtype))
    elif affine == "weight":
        check_op(lambda x, w: F.layer_norm(x, ns, w), lambda x, w: TF.layer_norm(x, ns, w), [x, w], seed=seed,
                 **_tol(dtype))
    else:
        check_op(lambda x: F.layer_norm(x, list(ns), eps=1e-2), lambda x: TF.layer_norm(x, list(ns), eps=1e-2), [x],
                 seed=seed, **_tol(dtype))


gn_cases = st.sampled_from([((2, 4), 2), ((3, 6, 2), 3), ((2, 4, 2, 3), 1), ((1, 4, 3), 4), ((2, 6, 5), 2)])


@pytest.mark.parametrize("dtype", DTYPES)
@given(case=gn_cases, seed=st.integers(0, 2**16), affine=st.booleans())
def test_group_norm_matches_torch(dtype, case, seed, affine):
    shape, g = case
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal(shape) * 2 + 0.5).astype(dtype)
    w, b = _affine(rng, shape[1], dtype)
    if affine:
        _check_affine(lambda x, w, b: F.group_norm(x, g, w, b), lambda x, w, b: TF.group_norm(x, g, w, b),
                      [x, w, b], seed=seed, **_tol(dtype))
    else:
        check_op(lambda x: F.group_norm(x, g), lambda x: TF.group_norm(x, g), [x], seed=seed, **_tol(dtype))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(2, 3, 4), (3, 2, 2, 3), (1, 2, 5)])
def test_instance_norm_matches_torch_and_updates_running_stats(dtype, shape, rng):
    x = (rng.standard_normal(shape) * 2 + 1).astype(dtype)
    w, b = _affine(rng, shape[1], dtype)
    _check_affine(lambda x, w, b: F.instance_norm(x, weight=w, bias=b),
                  lambda x, w, b: TF.instance_norm(x, weight=w, bias=b), [x, w, b], **_tol(dtype))
    rs = [refgrad.zeros(shape[1], dtype=refgrad.float64), refgrad.ones(shape[1], dtype=refgrad.float64)]
    ts = [torch.zeros(shape[1], dtype=torch.float64), torch.ones(shape[1], dtype=torch.float64)]
    x64 = x.astype(np.float64)
    assert_same(F.instance_norm(rg(x64), *rs, momentum=0.3), TF.instance_norm(th(x64), *ts, momentum=0.3))
    assert_same(rs, ts)
    assert_same(F.instance_norm(rg(x64), *rs, use_input_stats=False), TF.instance_norm(th(x64), *ts,
                                                                                       use_input_stats=False))


@pytest.mark.parametrize("size", [1, 2, 3, 4])
@pytest.mark.parametrize("shape", [(2, 5, 3), (2, 4, 3, 2)])
def test_local_response_norm_matches_torch(size, shape, rng):
    x = rng.standard_normal(shape)
    check_op(lambda x: F.local_response_norm(x, size, 0.5, 0.8, 1.5),
             lambda x: TF.local_response_norm(x, size, 0.5, 0.8, 1.5), [x])


def test_norms_on_device(device, rng):
    x = rng.standard_normal((4, 3, 5)).astype(np.float32)
    w, b = _affine(rng, 3, np.float32)
    _check_affine(lambda x, w, b: F.batch_norm(x, None, None, w, b, True),
                  lambda x, w, b: TF.batch_norm(x, None, None, w, b, True), [x, w, b], device=device, **F32_TOL)
    check_op(lambda x: F.layer_norm(x, (5,)), lambda x: TF.layer_norm(x, (5,)), [x], device=device, **F32_TOL)
    _check_affine(lambda x, w, b: F.group_norm(x, 3, w, b), lambda x, w, b: TF.group_norm(x, 3, w, b), [x, w, b],
                  device=device, **F32_TOL)


# -- modules ------------------------------------------------------------------------------------------
def _sd_numpy(sd):
    return OrderedDict((k, v.detach().cpu().numpy()) for k, v in sd.items())


MODULES = {
    "bn1d": (lambda L: L.BatchNorm1d(3), (4, 3)),
    "bn1d_3d": (lambda L: L.BatchNorm1d(3, momentum=None), (4, 3, 5)),
    "bn2d": (lambda L: L.BatchNorm2d(3, eps=1e-3, momentum=0.3), (2, 3, 4, 2)),
    "bn2d_noaffine": (lambda L: L.BatchNorm2d(3, affine=False), (2, 3, 2, 2)),
    "bn2d_nobias": (lambda L: L.BatchNorm2d(3, bias=False), (2, 3, 2, 2)),
    "bn2d_notrack": (lambda L: L.BatchNorm2d(3, track_running_stats=False), (2, 3, 2, 2)),
    "bn3d": (lambda L: L.BatchNorm3d(2, momentum=None), (2, 2, 2, 2, 3)),
    "in1d": (lambda L: L.InstanceNorm1d(3), (2, 3, 5)),
    "in1d_unbatched": (lambda L: L.InstanceNorm1d(3, affine=True), (3, 5)),
    "in2d_track": (lambda L: L.InstanceNorm2d(3, affine=True, track_running_stats=True), (2, 3, 4, 2)),
    "in2d_track_cum": (lambda L: L.InstanceNorm2d(3, momentum=None, track_running_stats=True), (2, 3, 2, 2)),
    "in3d": (lambda L: L.InstanceNorm3d(2, affine=True), (2, 2, 2, 2, 2)),
    "ln": (lambda L: L.LayerNorm(5), (2, 3, 5)),
    "ln_2d": (lambda L: L.LayerNorm([3, 5], eps=1e-3, bias=False), (2, 3, 5)),
    "ln_noaffine": (lambda L: L.LayerNorm((5,), elementwise_affine=False), (4, 5)),
    "gn": (lambda L: L.GroupNorm(2, 4), (3, 4, 5)),
    "gn_noaffine": (lambda L: L.GroupNorm(4, 4, affine=False), (3, 4, 2, 2)),
    "lrn": (lambda L: L.LocalResponseNorm(3, 0.1), (2, 4, 3)),
}


@pytest.mark.parametrize("name", list(MODULES))
def test_norm_modules_match_torch_over_training_steps_and_eval(name, rng):
    make, shape = MODULES[name]
    r, t = make(nn), make(torch.nn)
    assert repr(r) == repr(t)
    assert list(r.state_dict()) == list(t.state_dict())
    assert [n for n, _ in r.named_buffers()] == [n for n, _ in t.named_buffers()]
    with torch.no_grad():  # non-trivial affine parameters, shared through the state_dict
        for p in t.parameters():
            p.copy_(torch.tensor(rng.uniform(0.5, 1.5, tuple(p.shape)), dtype=p.dtype))
    r.load_state_dict(_sd_numpy(t.state_dict()))
    for step in range(4):
        if step == 3:
            r.eval()
            t.eval()
        x = (rng.standard_normal(shape) * 2 + step).astype(np.float32)
        xr, xt = rg(x, requires_grad=True), th(x, requires_grad=True)
        yr, yt = r(xr), t(xt)
        assert_same(yr, yt, 1e-5, 1e-5)
        cot = rng.standard_normal(shape).astype(np.float32)
        yr.backward(rg(cot))
        yt.backward(th(cot))
        assert_same(xr.grad, xt.grad, 1e-4, 1e-4, what="input grad")
        for (n, pr), pt in zip(r.named_parameters(), t.parameters()):
            assert_same(pr.grad, pt.grad, 1e-4, 1e-4, what=f"{n}.grad")
        for (n, br), bt in zip(r.named_buffers(), t.buffers()):
            assert_same(br, bt, 1e-5, 1e-5, what=n)


def test_batchnorm_state_dict_loads_both_ways_and_without_num_batches_tracked(rng):
    t = torch.nn.BatchNorm2d(3)
    t(torch.randn(4, 3, 2, 2))
    r = nn.BatchNorm2d(3)
    r.load_state_dict(_sd_numpy(t.state_dict()))
    assert r.num_batches_tracked.item() == 1 and r.num_batches_tracked.dtype == refgrad.int64
    t2 = torch.nn.BatchNorm2d(3)
    t2.load_state_dict({k: torch.tensor(to_np(v)) for k, v in r.state_dict().items()})
    assert_same(r.running_var, t2.running_var)
    old = {k: v for k, v in r.state_dict().items() if k != "num_batches_tracked"}  # a pre-version-2 checkpoint
    fresh = nn.BatchNorm2d(3)
    fresh.load_state_dict(old)
    assert fresh.num_batches_tracked.item() == 0
    r.reset_running_stats()
    assert to_np(r.running_var).tolist() == [1.0, 1.0, 1.0] and r.num_batches_tracked.item() == 0


def test_norm_modules_cast_and_double_dtype(rng):
    r, t = nn.BatchNorm1d(2, dtype=refgrad.float64), torch.nn.BatchNorm1d(2, dtype=torch.float64)
    x = rng.standard_normal((5, 2))
    assert_same(r(rg(x)), t(th(x)))
    assert_same(r.running_var, t.running_var)
    assert r.running_mean.dtype == refgrad.float64


def test_bad_inputs_raise_like_torch():
    x = refgrad.ones(1, 3)
    with pytest.raises(ValueError, match=r"Expected more than 1 value per channel when training, got input size "
                                         r"\[1, 3\]"):
        F.batch_norm(x, None, None, training=True)
    with pytest.raises(ValueError, match="batch_norm eps must be positive during training"):
        F.batch_norm(refgrad.ones(2, 3), None, None, training=True, eps=0.0)
    with pytest.raises(RuntimeError, match="running_mean should contain 3 elements not 4"):
        F.batch_norm(refgrad.ones(2, 3), refgrad.zeros(4), refgrad.ones(4))
    with pytest.raises(ValueError, match=r"expected 4D input \(got 3D input\)"):
        nn.BatchNorm2d(3)(refgrad.ones(2, 3, 4))
    with pytest.raises(ValueError, match=r"expected 2D or 3D input \(got 4D input\)"):
        nn.BatchNorm1d(3)(refgrad.ones(2, 3, 4, 4))
    with pytest.raises(ValueError, match="Expected more than 1 spatial element when training"):
        F.instance_norm(refgrad.ones(2, 3, 1))
    with pytest.raises(ValueError, match="expected input's size at dim=1 to match num_features"):
        nn.InstanceNorm1d(4, affine=True)(refgrad.ones(2, 3, 5))
    with pytest.warns(UserWarning, match="does not match num_features"):
        nn.InstanceNorm1d(4)(refgrad.ones(2, 3, 5))
    with pytest.raises(RuntimeError, match=r"Given normalized_shape=\[4\], expected input with shape \[\*, 4\], but "
                                           r"got input of size\[2, 3\]"):
        F.layer_norm(refgrad.ones(2, 3), (4,))
    with pytest.raises(RuntimeError, match="Expected weight to be of same shape as normalized_shape"):
        F.layer_norm(refgrad.ones(2, 3), (3,), refgrad.ones(2))
    with pytest.raises(RuntimeError, match="Expected number of channels in input to be divisible by num_groups"):
        F.group_norm(refgrad.ones(2, 5, 2), 2)
    with pytest.raises(ValueError, match="num_channels must be divisible by num_groups"):
        nn.GroupNorm(2, 5)
    with pytest.raises(ValueError, match="Expected 3D or higher dimensionality"):
        F.local_response_norm(refgrad.ones(2, 3), 2)
    # torch raises the same types and messages
    with pytest.raises(RuntimeError, match="running_mean should contain 3 elements not 4"):
        TF.batch_norm(torch.ones(2, 3), torch.zeros(4), torch.ones(4))
    with pytest.raises(RuntimeError, match="Expected number of channels in input to be divisible by num_groups"):
        TF.group_norm(torch.ones(2, 5, 2), 2)
    with pytest.raises(RuntimeError, match=r"Given normalized_shape=\[4\], expected input with shape \[\*, 4\]"):
        TF.layer_norm(torch.ones(2, 3), (4,))
