"""Convolution, pooling, padding and resampling (refgrad.nn.functional and their modules) against torch:
values, input/weight/bias gradients with random signed cotangents and double backward, over the option
combinations, float32/float64 and the device fixture; torch's tie rule for max pools, error types and
messages, module initialization, state_dict exchange and reprs."""
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from hypothesis import given
from hypothesis import strategies as st

import refgrad
import refgrad.nn as nn
import refgrad.nn.functional as F

from .helpers import GRAD_TOL, assert_same, rg, th, to_np

DTYPES = [np.float32, np.float64]


def _twin(rg_fn, th_fn, arrays, device="cpu", gradgrad=True, rtol=None, atol=None, seed=0):
    """Forward, VJP (random signed cotangent) and, with ``gradgrad``, double backward vs torch.

    The second-order check uses the first-order gradients that require grad in refgrad; a gradient
    torch keeps connected to the graph while it depends on no input (e.g. the bias gradient, torch's
    ConvolutionBackwardBackward0 node) must then have a zero second derivative in torch."""
    rng = np.random.default_rng(seed)
    a = [rg(x, device, True) for x in arrays]
    b = [th(x, device, True) for x in arrays]
    ours, theirs = rg_fn(*a), th_fn(*b)
    if isinstance(theirs, tuple):  # (values, indices)
        assert_same(ours[1], theirs[1], what="indices")
        ours, theirs = ours[0], theirs[0]
    assert_same(ours, theirs, rtol, atol, "forward")
    dt = to_np(theirs).dtype
    cot = rng.standard_normal(tuple(theirs.shape)).astype(dt)
    go = refgrad.autograd.grad(ours, a, rg(cot, device), allow_unused=True, create_graph=gradgrad)
    gt = torch.autograd.grad(theirs, b, th(cot, device), allow_unused=True, create_graph=gradgrad)
    gr, ga = GRAD_TOL[dt.type]
    gr, ga = max(gr, rtol or 0), max(ga, atol or 0)
    for i, (x, y) in enumerate(zip(go, gt)):
        assert_same(x, y, gr, ga, f"grad[{i}]")
    if not gradgrad:
        return
    pairs = [(x, y) for x, y in zip(go, gt) if x is not None and x.requires_grad]
    for x, y in zip(go, gt):
        if (x is None or not x.requires_grad) and y is not None and y.requires_grad:
            c = th(rng.standard_normal(tuple(y.shape)).astype(dt), device)
            for z in torch.autograd.grad(y, b, c, allow_unused=True, retain_graph=True):
                assert z is None or not to_np(z).any(), "torch has a second derivative refgrad dropped"
    if not pairs:
        return
    cots = [rng.standard_normal(tuple(y.shape)).astype(dt) for _, y in pairs]
    go2 = refgrad.autograd.grad([x for x, _ in pairs], a, [rg(c, device) for c in cots], allow_unused=True)
    gt2 = torch.autograd.grad([y for _, y in pairs], b, [th(c, device) for c in cots], allow_unused=True)
    for i, (x, y) in enumerate(zip(go2, gt2)):
        if y is None or x is None:
            assert (y is None or not to_np(y).any()) and (x is None or not to_np(x).any()), f"gradgrad[{i}]"
            continue
        assert_same(x, y, gr * 10, ga * 10, f"gradgrad[{i}]")


def _data(rng, *shapes, dtype=np.float64):
    return [rng.standard_normal(s).astype(dtype) for s in shapes]


# -- convolution ----------------------------------------------------------------------------------
CONV2D_CASES = [
    dict(),
    dict(stride=2),
    dict(stride=(2, 1), padding=(1, 2)),
    dict(padding=1, dilation=2),
    dict(padding=(0, 1), dilation=(1, 2), stride=(1, 3)),
    dict(groups=2),
    dict(groups=4, stride=2, padding=1),
    dict(padding="same"),
    dict(padding="same", dilation=(2, 1), groups=2),
    dict(padding="valid"),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kw", CONV2D_CASES, ids=str)
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel")
def test_conv2d(device, dtype, kw, bias, rng):
    groups = kw.get("groups", 1)
    x, w, b = _data(rng, (2, 4, 7, 6), (4, 4 // groups, 3, 2), (4,), dtype=dtype)
    arrays = [x, w, b] if bias else [x, w]
    _twin(lambda *t: F.conv2d(*t, **kw), lambda *t: TF.conv2d(*t, **kw), arrays, device,
          gradgrad=dtype == np.float64)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kw", [dict(), dict(stride=2, padding=2, dilation=2), dict(groups=3, padding="same"),
                                dict(padding=(1,), stride=(3,))], ids=str)
def test_conv1d(device, dtype, kw, rng):
    groups = kw.get("groups", 1)
    x, w, b = _data(rng, (3, 6, 9), (3, 6 // groups, 4), (3,), dtype=dtype)
    _twin(lambda *t: F.conv1d(*t, **kw), lambda *t: TF.conv1d(*t, **kw), [x, w, b], device,
          gradgrad=dtype == np.float64)


CONVT_CASES = [
    dict(),
    dict(stride=2),
    dict(stride=2, padding=1, output_padding=1),
    dict(stride=(2, 3), padding=(1, 0), output_padding=(0, 2)),
    dict(dilation=2, output_padding=1),  # output_padding >= stride is allowed below the dilation
    dict(groups=2, stride=2, dilation=(1, 2)),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kw", CONVT_CASES, ids=str)
def test_conv_transpose2d(device, dtype, kw, rng):
    x, w, b = _data(rng, (2, 4, 5, 4), (4, 3, 3, 2), (3 * kw.get("groups", 1),), dtype=dtype)
    _twin(lambda *t: F.conv_transpose2d(*t, **kw), lambda *t: TF.conv_transpose2d(*t, **kw), [x, w, b], device,
          gradgrad=dtype == np.float64)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kw", [dict(), dict(stride=3, padding=1, output_padding=2), dict(groups=2, dilation=3)],
                         ids=str)
def test_conv_transpose1d(device, dtype, kw, rng):
    x, w, b = _data(rng, (2, 4, 6), (4, 2, 3), (2 * kw.get("groups", 1),), dtype=dtype)
    _twin(lambda *t: F.conv_transpose1d(*t, **kw), lambda *t: TF.conv_transpose1d(*t, **kw), [x, w, b], device,
          gradgrad=dtype == np.float64)


def test_conv_unbatched_and_single_grads(device, rng):
    x, w, b = _data(rng, (3, 6, 5), (2, 3, 2, 2), (2,))
    _twin(lambda *t: F.conv2d(*t, padding=1), lambda *t: TF.conv2d(*t, padding=1), [x, w, b], device)
    _twin(lambda *t: F.conv_transpose2d(*t, stride=2), lambda *t: TF.conv_transpose2d(*t, stride=2),
          [x[:2], w.transpose(1, 0, 2, 3).copy()[:2]], device)
    # only the weight requires grad: the input gradient is not computed, the weight's is right
    xr, wr = rg(x[None]), rg(w, device, True)
    F.conv2d(xr.to(device), wr).sum().backward()
    wt = th(w, requires_grad=True)
    TF.conv2d(th(x[None]), wt).sum().backward()
    assert_same(wr.grad, wt.grad)
    assert F.conv2d(xr, rg(w)).grad_fn is None


@given(st.data())
def test_conv2d_hypothesis(data):
    g = data.draw(st.sampled_from([1, 2]))
    cin, cout = g * data.draw(st.integers(1, 2)), g * data.draw(st.integers(1, 2))
    kh, kw = data.draw(st.integers(1, 3)), data.draw(st.integers(1, 3))
    s, d = data.draw(st.integers(1, 3)), data.draw(st.integers(1, 2))
    p = data.draw(st.integers(0, 2))
    h = data.draw(st.integers(max(1, d * (kh - 1) + 1 - 2 * p), 7))
    w_ = data.draw(st.integers(max(1, d * (kw - 1) + 1 - 2 * p), 7))
    n = data.draw(st.integers(1, 2))
    rng = np.random.default_rng(data.draw(st.integers(0, 2 ** 16)))
    x, w, b = _data(rng, (n, cin, h, w_), (cout, cin // g, kh, kw), (cout,))
    kw_ = dict(stride=s, padding=p, dilation=d, groups=g)
    _twin(lambda *t: F.conv2d(*t, **kw_), lambda *t: TF.conv2d(*t, **kw_), [x, w, b])
    # the transposed convolution of the same shapes (its weight is (cin, cout/g, k))
    wt = rng.standard_normal((cin, cout // g, kh, kw))
    op = data.draw(st.integers(0, max(s, d) - 1))
    kwt = dict(stride=s, padding=0, dilation=d, groups=g, output_padding=op)
    _twin(lambda *t: F.conv_transpose2d(*t, **kwt), lambda *t: TF.conv_transpose2d(*t, **kwt), [x, wt])


def test_conv_grad_fn_name_and_double_backward_through_weight(rng):
    x, w = _data(rng, (1, 2, 5, 5), (3, 2, 3, 3))
    y = F.conv2d(rg(x, requires_grad=True), rg(w, requires_grad=True))
    assert y.grad_fn.name() == "ConvolutionBackward0"
    assert F.conv_transpose2d(rg(x, requires_grad=True), rg(w[:2].copy())).grad_fn.name() == "ConvolutionBackward0"


def _err(fn_r, fn_t, exc):
    with pytest.raises(exc) as er:
        fn_r()
    with pytest.raises(exc) as et:
        fn_t()
    return str(er.value), str(et.value)


def _loose(case):
    """A case whose torch message names torch internals: only the exception type must match."""
    case.loose = True
    return case


@pytest.mark.parametrize("case", [
    lambda m, x: m.conv2d(x((2, 4, 5, 5)), x((6, 3, 3, 3))),
    lambda m, x: m.conv2d(x((2, 4, 5, 5)), x((6, 2, 3, 3)), groups=3),
    lambda m, x: m.conv2d(x((2, 4, 5, 5)), x((6, 4, 3, 3)), x((5,))),
    lambda m, x: m.conv2d(x((2, 4, 5, 5)), x((6, 4, 3, 3)), stride=2, padding="same"),
    lambda m, x: m.conv2d(x((2, 4, 5, 5)), x((6, 4, 3, 3)), padding="foo"),
    lambda m, x: m.conv2d(x((5, 5)), x((6, 4, 3, 3))),
    lambda m, x: m.conv2d(x((1, 4, 2, 2)), x((6, 4, 3, 3))),
    lambda m, x: m.conv2d(x((1, 4, 5, 5)), x((6, 4, 3, 3)).double()),
    lambda m, x: m.conv_transpose2d(x((2, 4, 5, 5)), x((4, 3, 3, 3)), stride=2, output_padding=2),
    lambda m, x: m.max_pool2d(x((1, 1, 5, 5)), 3, padding=2),
    lambda m, x: m.max_pool2d(x((1, 1, 5, 5)), 7),
    lambda m, x: m.avg_pool2d(x((1, 1, 5, 5)), 3, padding=2),
    lambda m, x: m.pad(x((1, 1, 5, 5)), (1, 1, 1)),
    lambda m, x: m.pad(x((1, 5)), (1, 1, 1, 1, 1, 1)),
    lambda m, x: m.pad(x((1, 1, 5, 5)), (5, 5, 0, 0), mode="reflect"),
    lambda m, x: m.pad(x((1, 1, 5, 5)), (1, 1), mode="reflect"),
    lambda m, x: m.pad(x((1, 1, 5, 5)), (6, 0, 0, 0), mode="circular"),
    lambda m, x: m.pad(x((1, 1, 5, 5)), (1, 1), mode="foo"),
    _loose(lambda m, x: m.pad(x((1, 5)), (-3, -3))),  # torch's message names narrow()
    lambda m, x: m.interpolate(x((1, 1, 5, 5)), scale_factor=2, align_corners=True),
    lambda m, x: m.interpolate(x((1, 1, 5, 5))),
    lambda m, x: m.interpolate(x((1, 1, 5, 5)), size=3, scale_factor=2),
    lambda m, x: m.interpolate(x((1, 1, 5, 5)), size=3, mode="linear"),
    lambda m, x: m.interpolate(x((1, 1, 5)), size=3, mode="bilinear"),
    lambda m, x: m.fold(x((2, 8, 10)), (4, 5), 2),
    lambda m, x: m.pixel_shuffle(x((1, 4, 2, 2)), 3),
    lambda m, x: m.pixel_unshuffle(x((1, 4, 5, 4)), 2),
    lambda m, x: m.avg_pool2d(x((1, 1, 5, 5)), 2, divisor_override=0),
])
def test_errors_match_torch_type_and_message(case):
    def mk(lib):
        return lambda s: lib.zeros(s)
    try:
        case(TF, mk(torch))
    except Exception as e:  # noqa: BLE001 - the oracle decides the type
        exc, msg = type(e), str(e)
    else:
        pytest.fail("torch accepted the case")
    with pytest.raises(exc) as info:
        case(F, mk(refgrad))
    ours = str(info.value)
    # the same message, or (for messages naming torch internals) the same leading words
    assert getattr(case, "loose", False) or ours == msg or ours.split(" ")[:3] == msg.split(" ")[:3], (ours, msg)


# -- pooling --------------------------------------------------------------------------------------
MAXPOOL_CASES = [
    dict(kernel_size=2),
    dict(kernel_size=3, stride=2, padding=1),
    dict(kernel_size=3, stride=2, padding=1, ceil_mode=True),
    dict(kernel_size=(2, 3), stride=(1, 2), padding=(1, 1), dilation=(2, 1)),
    dict(kernel_size=(3, 2), stride=(2, 3), dilation=2, ceil_mode=True),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kw", MAXPOOL_CASES, ids=str)
def test_max_pool2d(device, dtype, kw, rng):
    (x,) = _data(rng, (2, 3, 7, 8), dtype=dtype)
    _twin(lambda t: F.max_pool2d(t, return_indices=True, **kw), lambda t: TF.max_pool2d(t, return_indices=True, **kw),
          [x], device)
    _twin(lambda t: F.max_pool2d(t, **kw), lambda t: TF.max_pool2d(t, **kw), [x[0]], device)  # unbatched


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kw", [dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True),
                                dict(kernel_size=2, dilation=3, padding=1)], ids=str)
def test_max_pool1d(device, dtype, kw, rng):
    (x,) = _data(rng, (2, 3, 11), dtype=dtype)
    _twin(lambda t: F.max_pool1d(t, return_indices=True, **kw), lambda t: TF.max_pool1d(t, return_indices=True, **kw),
          [x], device)
    _twin(lambda t: F.max_pool1d(t, **kw), lambda t: TF.max_pool1d(t, **kw), [x[0]], device)


def test_max_pool_ties_go_to_the_first_max_and_neg_inf_windows(device):
    # overlapping windows over a plateau: torch sends each window's gradient to its first max
    x = np.array([[[[1.0, 1.0, 1.0, 0.0], [1.0, 1.0, 2.0, 2.0], [0.0, 2.0, 2.0, 1.0]]]])
    _twin(lambda t: F.max_pool2d(t, 2, 1, return_indices=True), lambda t: TF.max_pool2d(t, 2, 1, return_indices=True),
          [x], device)
    # all -inf windows (with padding): the index is the first position inside the input
    y = np.full((1, 1, 4, 5), -np.inf)
    y[0, 0, 3, 4] = 1.0
    for kw in [dict(kernel_size=3, stride=2, padding=1), dict(kernel_size=2, dilation=2, padding=1, ceil_mode=True)]:
        r = F.max_pool2d(rg(y, device), return_indices=True, **kw)
        t = TF.max_pool2d(th(y), return_indices=True, **kw)
        assert_same(r[1], t[1], what="indices")
        assert_same(r[0], t[0])
    # adaptive: ties and -inf
    _twin(lambda t: F.adaptive_max_pool2d(t, (2, 3), True), lambda t: TF.adaptive_max_pool2d(t, (2, 3), True),
          [x], device)
    assert_same(F.adaptive_max_pool2d(rg(y, device), 2, True)[1], TF.adaptive_max_pool2d(th(y), 2, True)[1])


AVGPOOL_CASES = [
    dict(kernel_size=2),
    dict(kernel_size=3, stride=2, padding=1),
    dict(kernel_size=3, stride=2, padding=1, count_include_pad=False),
    dict(kernel_size=3, stride=2, padding=1, ceil_mode=True),
    dict(kernel_size=3, stride=2, padding=1, ceil_mode=True, count_include_pad=False),
    dict(kernel_size=(2, 3), stride=(3, 1), padding=(1, 0), divisor_override=5),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kw", AVGPOOL_CASES, ids=str)
def test_avg_pool2d(device, dtype, kw, rng):
    (x,) = _data(rng, (2, 3, 7, 8), dtype=dtype)
    _twin(lambda t: F.avg_pool2d(t, **kw), lambda t: TF.avg_pool2d(t, **kw), [x], device)
    _twin(lambda t: F.avg_pool2d(t, **kw), lambda t: TF.avg_pool2d(t, **kw), [x[1]], device)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kw", [dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True),
                                dict(kernel_size=4, stride=3, padding=2, count_include_pad=False, ceil_mode=True)],
                         ids=str)
def test_avg_pool1d(device, dtype, kw, rng):
    (x,) = _data(rng, (2, 3, 11), dtype=dtype)
    _twin(lambda t: F.avg_pool1d(t, **kw), lambda t: TF.avg_pool1d(t, **kw), [x], device)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("out", [1, 3, (4, 5), (None, 2), (7, 8), (10, 3)], ids=str)
def test_adaptive_pool2d(device, dtype, out, rng):
    (x,) = _data(rng, (2, 3, 7, 8), dtype=dtype)
    _twin(lambda t: F.adaptive_avg_pool2d(t, out), lambda t: TF.adaptive_avg_pool2d(t, out), [x], device)
    if out != (None, 2):  # torch's adaptive_max_pool2d takes no None
        _twin(lambda t: F.adaptive_max_pool2d(t, out, True), lambda t: TF.adaptive_max_pool2d(t, out, True), [x],
              device)
    _twin(lambda t: F.adaptive_avg_pool2d(t, out), lambda t: TF.adaptive_avg_pool2d(t, out), [x[0]], device)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("out", [1, 4, 9, 13])
def test_adaptive_pool1d(device, dtype, out, rng):
    (x,) = _data(rng, (2, 3, 9), dtype=dtype)
    _twin(lambda t: F.adaptive_avg_pool1d(t, out), lambda t: TF.adaptive_avg_pool1d(t, out), [x], device)
    _twin(lambda t: F.adaptive_max_pool1d(t, out, True), lambda t: TF.adaptive_max_pool1d(t, out, True), [x], device)


# -- padding --------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("mode", ["constant", "reflect", "replicate", "circular"])
@pytest.mark.parametrize("pads", [(1, 2), (2, 0, 1, 3), (-1, 2, 0, 1), (3, 3, 2, 2)], ids=str)
def test_pad(device, dtype, mode, pads, rng):
    for shape in [(2, 3, 4, 5), (3, 4, 5)] if len(pads) == 4 else [(2, 3, 5), (3, 5)]:
        (x,) = _data(rng, shape, dtype=dtype)
        kw = dict(value=1.5) if mode == "constant" else {}
        _twin(lambda t, kw=kw: F.pad(t, pads, mode=mode, **kw), lambda t, kw=kw: TF.pad(t, pads, mode=mode, **kw), [x],
              device)


def test_constant_pad_any_rank_and_crop(device, rng):
    (x,) = _data(rng, (2, 3, 4))
    for pads in [(1, 1, 1, 1, 1, 1), (-1, -2, 0, 2), (0, 0), (2, -3)]:
        _twin(lambda t, p=pads: F.pad(t, p), lambda t, p=pads: TF.pad(t, p), [x], device)


# -- resampling -----------------------------------------------------------------------------------
INTERP_CASES = [dict(size=(5, 13)), dict(size=(7, 6)), dict(size=4), dict(scale_factor=2),
                dict(scale_factor=(1.7, 0.6)), dict(scale_factor=0.5),
                dict(scale_factor=2.3, recompute_scale_factor=True)]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("mode", ["nearest", "nearest-exact", "bilinear", "area"])
@pytest.mark.parametrize("kw", INTERP_CASES, ids=str)
def test_interpolate_2d(device, dtype, mode, kw, rng):
    (x,) = _data(rng, (2, 3, 7, 6), dtype=dtype)
    _twin(lambda t: F.interpolate(t, mode=mode, **kw), lambda t: TF.interpolate(t, mode=mode, **kw), [x], device)
    if mode == "bilinear":
        _twin(lambda t: F.interpolate(t, mode=mode, align_corners=True, **kw),
              lambda t: TF.interpolate(t, mode=mode, align_corners=True, **kw), [x], device)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("mode", ["nearest", "linear", "nearest-exact", "area"])
@pytest.mark.parametrize("kw", [dict(size=11), dict(size=1), dict(scale_factor=1.5), dict(scale_factor=0.4)], ids=str)
def test_interpolate_1d(device, dtype, mode, kw, rng):
    (x,) = _data(rng, (2, 3, 7), dtype=dtype)
    for ac in ([None, True, False] if mode == "linear" else [None]):
        _twin(lambda t, ac=ac: F.interpolate(t, mode=mode, align_corners=ac, **kw),
              lambda t, ac=ac: TF.interpolate(t, mode=mode, align_corners=ac, **kw), [x], device)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kw", [dict(kernel_size=2), dict(kernel_size=(2, 3), dilation=(1, 2), padding=1, stride=2),
                                dict(kernel_size=3, padding=(0, 1), stride=(1, 2))], ids=str)
def test_unfold_fold(device, dtype, kw, rng):
    (x,) = _data(rng, (2, 3, 7, 6), dtype=dtype)
    _twin(lambda t: F.unfold(t, **kw), lambda t: TF.unfold(t, **kw), [x], device)
    _twin(lambda t: F.unfold(t, **kw), lambda t: TF.unfold(t, **kw), [x[0]], device)
    blocks = TF.unfold(torch.tensor(x), **kw)
    (b,) = _data(rng, tuple(blocks.shape), dtype=dtype)
    _twin(lambda t: F.fold(t, (7, 6), **kw), lambda t: TF.fold(t, (7, 6), **kw), [b], device)
    _twin(lambda t: F.fold(t, (7, 6), **kw), lambda t: TF.fold(t, (7, 6), **kw), [b[0]], device)


@pytest.mark.parametrize("dtype", DTYPES)
def test_pixel_shuffle(device, dtype, rng):
    (x,) = _data(rng, (2, 8, 3, 4), dtype=dtype)
    _twin(lambda t: F.pixel_shuffle(t, 2), lambda t: TF.pixel_shuffle(t, 2), [x], device)
    _twin(lambda t: F.pixel_unshuffle(t, 2), lambda t: TF.pixel_unshuffle(t, 2), [x[:, :, :2]], device)
    (y,) = _data(rng, (2, 1, 18, 2, 3), dtype=dtype)  # extra leading dims
    _twin(lambda t: F.pixel_shuffle(t, 3), lambda t: TF.pixel_shuffle(t, 3), [y], device)


# -- modules --------------------------------------------------------------------------------------
def _load(r, t, device):
    r.load_state_dict({k: v.detach().cpu().numpy() for k, v in t.state_dict().items()})
    return r.to(device), t.to(device)


def _module_twin(r, t, x, device, dtype=np.float64, **call):
    r, t = _load(r, t, device)
    if dtype == np.float64:
        r, t = r.double(), t.double()
    xr, xt = rg(x.astype(dtype), device, True), th(x.astype(dtype), device, True)
    yr, yt = r(xr, **call), t(xt, **call)
    if isinstance(yt, tuple):
        assert_same(yr[1], yt[1], what="indices")
        yr, yt = yr[0], yt[0]
    assert_same(yr, yt)
    cot = np.random.default_rng(1).standard_normal(tuple(yt.shape)).astype(dtype)
    yr.backward(rg(cot, device))
    yt.backward(th(cot, device))
    assert_same(xr.grad, xt.grad, *GRAD_TOL[np.dtype(dtype).type], what="input grad")
    for (name, p), (_, q) in zip(r.named_parameters(), t.named_parameters()):
        assert_same(p.grad, q.grad, *GRAD_TOL[np.dtype(dtype).type], what=f"{name}.grad")
    assert repr(r) == repr(t)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("padding_mode", ["zeros", "reflect", "replicate", "circular"])
@pytest.mark.parametrize("kw", [dict(padding=1), dict(padding=(2, 1), stride=2, dilation=(1, 2), groups=2),
                                dict(padding="same", bias=False), dict(padding="valid")], ids=str)
@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel")
def test_conv2d_module(device, dtype, padding_mode, kw, rng):
    args = (4, 6, (3, 2))
    (x,) = _data(rng, (2, 4, 7, 6))
    _module_twin(nn.Conv2d(*args, padding_mode=padding_mode, **kw), torch.nn.Conv2d(*args, padding_mode=padding_mode,
                                                                                     **kw), x, device, dtype)


@pytest.mark.parametrize("padding_mode", ["zeros", "circular"])
def test_conv1d_module(device, padding_mode, rng):
    (x,) = _data(rng, (2, 3, 9))
    kw = dict(stride=2, padding=2, padding_mode=padding_mode)
    _module_twin(nn.Conv1d(3, 4, 3, **kw), torch.nn.Conv1d(3, 4, 3, **kw), x, device)
    _module_twin(nn.Conv1d(3, 4, 3, **kw), torch.nn.Conv1d(3, 4, 3, **kw), x[0], device)  # unbatched


def test_conv_transpose_modules(device, rng):
    (x,) = _data(rng, (2, 4, 5, 6))
    kw = dict(stride=2, padding=1, output_padding=1, groups=2, dilation=(1, 2))
    _module_twin(nn.ConvTranspose2d(4, 6, 3, **kw), torch.nn.ConvTranspose2d(4, 6, 3, **kw), x, device)
    # output_size picks the output_padding (torch's _output_padding rule)
    _module_twin(nn.ConvTranspose2d(4, 2, 3, stride=3), torch.nn.ConvTranspose2d(4, 2, 3, stride=3), x, device,
                 output_size=[16, 19])
    _module_twin(nn.ConvTranspose1d(4, 3, 2, stride=2, bias=False), torch.nn.ConvTranspose1d(4, 3, 2, stride=2,
                                                                                              bias=False),
                 x[:, :, 0], device)
    with pytest.raises(ValueError, match="valid sizes range from"):
        nn.ConvTranspose2d(4, 2, 3, stride=3)(rg(x), output_size=[20, 20])


@pytest.mark.parametrize("cls,args", [("Conv1d", (4, 6, 3)), ("Conv2d", (4, 6, (3, 2))), ("ConvTranspose1d", (4, 6, 3)),
                                      ("ConvTranspose2d", (4, 6, (2, 3)))])
def test_conv_init_follows_torch_formulas(cls, args):
    refgrad.manual_seed(0)
    m = getattr(nn, cls)(*args, groups=2)
    t = getattr(torch.nn, cls)(*args, groups=2)
    assert m.weight.shape == t.weight.shape and m.bias.shape == t.bias.shape
    fan_in = t.weight.shape[1] * math.prod(t.weight.shape[2:])
    bound = 1 / math.sqrt(fan_in)  # kaiming_uniform(a=sqrt(5)) gives the same bound as the bias
    for p in (m.weight, m.bias):
        v = to_np(p)
        assert np.abs(v).max() <= bound and np.abs(v).max() > 0.5 * bound
    assert [k for k, _ in m.named_parameters()] == [k for k, _ in t.named_parameters()]
    assert repr(m) == repr(t)


def test_conv_module_argument_errors():
    for kw, msg in [(dict(groups=0), "groups must be a positive integer"),
                    (dict(groups=3), "in_channels must be divisible by groups"),
                    (dict(padding="full"), "Invalid padding string"),
                    (dict(padding="same", stride=2), "not supported for strided convolutions"),
                    (dict(padding_mode="mirror"), "padding_mode must be one of")]:
        with pytest.raises(ValueError, match=msg):
            nn.Conv2d(4, 6, 3, **kw)
        with pytest.raises(ValueError, match=msg):
            torch.nn.Conv2d(4, 6, 3, **kw)
    with pytest.raises(ValueError, match="Only \"zeros\" padding mode"):
        nn.ConvTranspose2d(4, 6, 3, padding_mode="reflect")


def _pool_modules(lib):
    L = lib.nn
    return [
        (L.MaxPool2d(3, 2, 1, ceil_mode=True), (2, 3, 7, 8)),
        (L.MaxPool2d((2, 3), return_indices=True), (2, 3, 7, 8)),
        (L.MaxPool1d(3, dilation=2), (2, 3, 11)),
        (L.AvgPool2d(3, 2, 1, count_include_pad=False, divisor_override=None), (2, 3, 7, 8)),
        (L.AvgPool2d(2, divisor_override=3), (3, 7, 8)),
        (L.AvgPool1d(3, 2, 1, ceil_mode=True), (2, 3, 11)),
        (L.AdaptiveAvgPool2d((3, None)), (2, 3, 7, 8)),
        (L.AdaptiveAvgPool1d(4), (2, 3, 11)),
        (L.AdaptiveMaxPool2d(3, return_indices=True), (2, 3, 7, 8)),
        (L.AdaptiveMaxPool1d(5), (2, 3, 11)),
        (L.ZeroPad2d((1, 2, 0, 3)), (2, 3, 4, 5)),
        (L.ZeroPad1d(2), (2, 3, 4)),
        (L.ConstantPad1d((1, 2), 3.5), (2, 3, 4)),
        (L.ConstantPad2d(1, -1.0), (2, 3, 4, 5)),
        (L.ReflectionPad1d(2), (2, 3, 4)),
        (L.ReflectionPad2d((1, 2, 3, 0)), (2, 3, 4, 5)),
        (L.ReplicationPad1d((3, 1)), (2, 3, 4)),
        (L.ReplicationPad2d(2), (3, 4, 5)),
        (L.CircularPad1d(2), (2, 3, 4)),
        (L.CircularPad2d((1, 0, 2, 1)), (2, 3, 4, 5)),
        (L.PixelShuffle(2), (2, 8, 3, 4)),
        (L.PixelUnshuffle(2), (2, 2, 4, 6)),
        (L.Upsample(scale_factor=2), (2, 3, 4, 5)),
        (L.Upsample(size=(5, 9), mode="bilinear", align_corners=True), (2, 3, 4, 5)),
        (L.Upsample(scale_factor=(1.5, 2), mode="bilinear"), (2, 3, 4, 5)),
        (L.UpsamplingNearest2d(scale_factor=3), (2, 3, 4, 5)),
        (L.UpsamplingBilinear2d(size=7), (2, 3, 4, 5)),
        (L.Unfold((2, 3), dilation=(1, 2), padding=1, stride=2), (2, 3, 7, 6)),
        (L.Fold((4, 5), 2, stride=1), (2, 12, 12)),
    ]


@pytest.mark.parametrize("i", range(len(_pool_modules(torch))))
def test_pool_pad_resample_modules(device, i, rng):
    r, shape = _pool_modules(refgrad)[i]
    t, _ = _pool_modules(torch)[i]
    (x,) = _data(rng, shape)
    _module_twin(r, t, x, device)


@pytest.mark.parametrize("name,fn", [
    ("max_pool2d", lambda m, t: m.max_pool2d(t, 3, 2, 1, ceil_mode=True)),
    ("avg_pool2d", lambda m, t: m.avg_pool2d(t, 3, 2, 1, count_include_pad=False)),
    ("adaptive_max_pool2d", lambda m, t: m.adaptive_max_pool2d(t, (3, 4))),
    ("conv2d", lambda m, t: m.conv2d(t, t[:, :2, :3, :3].flip(0), stride=2)),
    ("conv_transpose2d", lambda m, t: m.conv_transpose2d(t, t[:, :, :2, :3], stride=2, output_padding=1)),
    ("unfold", lambda m, t: m.unfold(t, 2, padding=1)),
    ("interpolate", lambda m, t: m.interpolate(t, scale_factor=1.5, mode="bilinear")),
])
def test_double_backward_through_the_cotangent(device, name, fn, rng):
    """grad(y, x, v, create_graph=True) is linear in v: its derivative in v (and, for conv, in x) vs torch."""
    (x,) = _data(rng, (2, 2, 7, 6))

    def run(lib, m, mk):
        xt = mk(x, device, True)
        y = fn(m, xt)
        v = mk(rng_v.standard_normal(tuple(y.shape)), device, True)
        (gx,) = lib.autograd.grad(y, xt, v, create_graph=True)
        c = mk(rng_v.standard_normal(tuple(gx.shape)), device)
        return lib.autograd.grad(gx, [xt, v], c, allow_unused=True)

    rng_v = np.random.default_rng(3)
    ours = run(refgrad, F, rg)
    rng_v = np.random.default_rng(3)
    theirs = run(torch, TF, th)
    for i, (a, b) in enumerate(zip(ours, theirs)):
        if b is None or a is None:
            assert (a is None or not to_np(a).any()) and (b is None or not to_np(b).any()), name
        else:
            assert_same(a, b, 1e-6, 1e-6, f"{name} gradgrad[{i}]")


def test_empty_batch(device):
    x = np.zeros((0, 2, 5, 5))
    w = np.ones((3, 2, 3, 3))
    _twin(lambda a, b: F.conv2d(a, b, padding=1), lambda a, b: TF.conv2d(a, b, padding=1), [x, w], device)
    _twin(lambda a: F.max_pool2d(a, 2), lambda a: TF.max_pool2d(a, 2), [x], device)
    _twin(lambda a: F.avg_pool2d(a, 2), lambda a: TF.avg_pool2d(a, 2), [x], device)
