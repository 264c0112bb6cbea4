"""3-d convolution, pooling, padding, resampling and their modules against torch: values, input/weight/bias
gradients with random signed cotangents and double backward (through the twin checks of test_nn_conv.py), over
stride/padding/dilation/groups/ceil_mode combinations, float32/float64 and the device fixture; torch's tie rule
for max_pool3d, grad_fn names, error types for bad inputs, module initialization and reprs."""
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import refgrad
import refgrad.nn as nn
import refgrad.nn.functional as F

from .helpers import assert_same, rg, th, to_np
from .test_nn_conv import _data, _module_twin, _twin

DTYPES = [np.float32, np.float64]
X = (2, 4, 4, 5, 4)  # (N, C, D, H, W)


# -- convolution ----------------------------------------------------------------------------------
CONV3D_CASES = [
    dict(),
    dict(stride=2),
    dict(stride=(1, 2, 1), padding=(1, 0, 2)),
    dict(padding=1, dilation=2),
    dict(groups=2, stride=(2, 1, 1), dilation=(1, 1, 2)),
    dict(padding="same", dilation=(2, 1, 1)),
    dict(padding="valid", groups=2, stride=(1, 1, 2)),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kw", CONV3D_CASES, ids=str)
def test_conv3d(device, dtype, kw, rng):
    g = kw.get("groups", 1)
    x, w, b = _data(rng, X, (6, 4 // g, 2, 3, 2), (6,), dtype=dtype)
    _twin(lambda *t: F.conv3d(*t, **kw), lambda *t: TF.conv3d(*t, **kw), [x, w, b], device)
    _twin(lambda *t: F.conv3d(*t, **kw), lambda *t: TF.conv3d(*t, **kw), [x[0], w], device)  # unbatched, no bias


CONVT3D_CASES = [
    dict(stride=2, output_padding=1),
    dict(groups=2, dilation=(1, 2, 1)),
    dict(stride=(2, 1, 2), padding=1, output_padding=(1, 0, 0)),
    dict(stride=2, dilation=3, output_padding=2),  # output_padding >= stride: allowed as dilation is larger
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kw", CONVT3D_CASES, ids=str)
def test_conv_transpose3d(device, dtype, kw, rng):
    g = kw.get("groups", 1)
    x, w, b = _data(rng, (2, 4, 3, 2, 3), (4, 6 // g, 2, 2, 3), (6,), dtype=dtype)
    _twin(lambda *t: F.conv_transpose3d(*t, **kw), lambda *t: TF.conv_transpose3d(*t, **kw), [x, w, b], device)
    _twin(lambda *t: F.conv_transpose3d(*t, **kw), lambda *t: TF.conv_transpose3d(*t, **kw), [x[1], w], device)


# -- pooling --------------------------------------------------------------------------------------
MAXPOOL3D_CASES = [
    dict(kernel_size=2),
    dict(kernel_size=3, stride=2, padding=1),
    dict(kernel_size=2, stride=2, padding=1, ceil_mode=True),
    dict(kernel_size=(2, 3, 2), stride=(1, 2, 1), dilation=(2, 1, 1)),
    dict(kernel_size=(1, 2, 3), stride=(2, 1, 2), padding=(0, 1, 1), dilation=(1, 2, 1), ceil_mode=True),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kw", MAXPOOL3D_CASES, ids=str)
def test_max_pool3d(device, dtype, kw, rng):
    (x,) = _data(rng, X, dtype=dtype)
    _twin(lambda t: F.max_pool3d(t, return_indices=True, **kw), lambda t: TF.max_pool3d(t, return_indices=True, **kw),
          [x], device)
    _twin(lambda t: F.max_pool3d_with_indices(t, **kw), lambda t: TF.max_pool3d_with_indices(t, **kw),
          [x[0]], device)  # unbatched


def test_max_pool3d_ties_go_to_the_first_max(device):
    x = np.zeros((1, 1, 3, 4, 4))
    x[0, 0, 1, 1:3, 1:3] = 1.0  # a plateau spanning several windows
    _twin(lambda t: F.max_pool3d(t, 2, 1, return_indices=True), lambda t: TF.max_pool3d(t, 2, 1, return_indices=True),
          [x], device)
    _twin(lambda t: F.adaptive_max_pool3d(t, (2, 3, 2), return_indices=True),
          lambda t: TF.adaptive_max_pool3d(t, (2, 3, 2), return_indices=True), [x], device)


def test_max_pool3d_integer_input_with_padding(device):
    """torch pools integer tensors too: the padding must never win a window (no -inf for integers)."""
    x = (np.arange(60).reshape(1, 3, 4, 5) * 7 % 11 - 6).astype(np.int64)
    for kw in (dict(kernel_size=2, padding=1), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True)):
        ours, theirs = F.max_pool3d(rg(x, device), return_indices=True, **kw), TF.max_pool3d(th(x), return_indices=True,
                                                                                             **kw)
        assert_same(ours[0], theirs[0], what="values")
        assert_same(ours[1], theirs[1], what="indices")


AVGPOOL3D_CASES = [
    dict(kernel_size=2),
    dict(kernel_size=3, stride=2, padding=1),
    dict(kernel_size=3, stride=2, padding=1, count_include_pad=False),
    dict(kernel_size=(2, 3, 2), stride=(2, 2, 1), padding=(1, 1, 0), ceil_mode=True),
    dict(kernel_size=3, stride=2, padding=1, ceil_mode=True, count_include_pad=False),
    dict(kernel_size=2, stride=1, padding=1, divisor_override=3),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kw", AVGPOOL3D_CASES, ids=str)
def test_avg_pool3d(device, dtype, kw, rng):
    (x,) = _data(rng, X, dtype=dtype)
    _twin(lambda t: F.avg_pool3d(t, **kw), lambda t: TF.avg_pool3d(t, **kw), [x], device)
    _twin(lambda t: F.avg_pool3d(t, **kw), lambda t: TF.avg_pool3d(t, **kw), [x[1]], device)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("out", [2, (3, 2, 4), (None, 3, 1), (5, 7, 3), 1], ids=str)
def test_adaptive_pool3d(device, dtype, out, rng):
    (x,) = _data(rng, X, dtype=dtype)
    _twin(lambda t: F.adaptive_avg_pool3d(t, out), lambda t: TF.adaptive_avg_pool3d(t, out), [x], device)
    _twin(lambda t: F.adaptive_avg_pool3d(t, out), lambda t: TF.adaptive_avg_pool3d(t, out), [x[0]], device)
    _twin(lambda t: F.adaptive_max_pool3d(t, out, return_indices=True),
          lambda t: TF.adaptive_max_pool3d(t, out, return_indices=True), [x], device)
    _twin(lambda t: F.adaptive_max_pool3d_with_indices(t, out),
          lambda t: TF.adaptive_max_pool3d_with_indices(t, out), [x[1]], device)


# -- padding and resampling -----------------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("mode,pads", [("constant", (1, 2, 0, 1, 2, 1)), ("constant", (-1, 2, 1, -2, 0, 1)),
                                       ("reflect", (1, 3, 2, 0, 3, 1)), ("replicate", (2, 1, 0, 3, 1, 4)),
                                       ("circular", (1, 4, 2, 0, 4, 1)), ("circular", (-1, 2, 0, 1, 1, -2))], ids=str)
def test_pad_6_elements(device, dtype, mode, pads, rng):
    (x,) = _data(rng, X, dtype=dtype)
    kw = {"value": 0.5} if mode == "constant" else {}
    _twin(lambda t: F.pad(t, pads, mode, **kw), lambda t: TF.pad(t, pads, mode, **kw), [x], device)
    _twin(lambda t: F.pad(t, pads, mode, **kw), lambda t: TF.pad(t, pads, mode, **kw), [x[0]], device)  # 4-d


_SIZES = [dict(size=(3, 7, 5)), dict(scale_factor=2), dict(scale_factor=(1.5, 0.6, 2.3)),
          dict(scale_factor=1.7, recompute_scale_factor=True)]
INTERP3D_CASES = ([(mode, kw) for mode in ("nearest", "nearest-exact", "trilinear", "area") for kw in _SIZES]
                  + [("trilinear", dict(size=(6, 2, 4), align_corners=True)),
                     ("trilinear", dict(scale_factor=(2, 0.5, 1.5), align_corners=True))])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("mode,kw", INTERP3D_CASES, ids=str)
def test_interpolate_3d(device, dtype, mode, kw, rng):
    (x,) = _data(rng, (1, 2, 4, 3, 5), dtype=dtype)
    _twin(lambda t: F.interpolate(t, mode=mode, **kw), lambda t: TF.interpolate(t, mode=mode, **kw), [x], device)


def test_grad_fn_names_are_torchs(rng):
    x = rg(_data(rng, X)[0], requires_grad=True)
    w = rg(_data(rng, (2, 4, 2, 2, 2))[0], requires_grad=True)
    names = {"conv3d": F.conv3d(x, w), "conv_transpose3d": F.conv_transpose3d(x, w.transpose(0, 1)),
             "max_pool3d": F.max_pool3d(x, 2), "avg_pool3d": F.avg_pool3d(x, 2),
             "adaptive_max_pool3d": F.adaptive_max_pool3d(x, 2)}
    got = {k: v.grad_fn.name() for k, v in names.items()}
    assert got == {"conv3d": "ConvolutionBackward0", "conv_transpose3d": "ConvolutionBackward0",
                   "max_pool3d": "MaxPool3DWithIndicesBackward0", "avg_pool3d": "AvgPool3DBackward0",
                   "adaptive_max_pool3d": "AdaptiveMaxPool3DBackward0"}


@pytest.mark.parametrize("name,fn", [
    ("max_pool3d", lambda m, t: m.max_pool3d(t, 2, 1, 1, ceil_mode=True)),
    ("avg_pool3d", lambda m, t: m.avg_pool3d(t, 3, 2, 1, count_include_pad=False)),
    ("adaptive_max_pool3d", lambda m, t: m.adaptive_max_pool3d(t, (2, 3, 2))),
    ("conv3d", lambda m, t: m.conv3d(t, t[:, :2, :2, :3, :2].flip(0), stride=2)),
    ("conv_transpose3d", lambda m, t: m.conv_transpose3d(t, t[:, :, :2, :2, :3], stride=2, output_padding=1)),
    ("trilinear", lambda m, t: m.interpolate(t, scale_factor=1.5, mode="trilinear")),
])
def test_double_backward_through_the_cotangent(device, name, fn):
    """grad(y, x, v, create_graph=True) is linear in v: its derivative in v (and, for conv, in x) vs torch."""
    (x,) = _data(np.random.default_rng(5), (2, 2, 4, 5, 4))

    def run(lib, m, mk):
        rng_v = np.random.default_rng(3)
        xt = mk(x, device, True)
        y = fn(m, xt)
        v = mk(rng_v.standard_normal(tuple(y.shape)), device, True)
        (gx,) = lib.autograd.grad(y, xt, v, create_graph=True)
        c = mk(rng_v.standard_normal(tuple(gx.shape)), device)
        return lib.autograd.grad(gx, [xt, v], c, allow_unused=True)

    for i, (a, b) in enumerate(zip(run(refgrad, F, rg), run(torch, TF, th))):
        if b is None or a is None:
            assert (a is None or not to_np(a).any()) and (b is None or not to_np(b).any()), name
        else:
            assert_same(a, b, 1e-6, 1e-6, f"{name} gradgrad[{i}]")


def test_empty_batch(device):
    x = np.zeros((0, 2, 3, 4, 4))
    w = np.ones((3, 2, 2, 2, 2))
    _twin(lambda a, b: F.conv3d(a, b, padding=1), lambda a, b: TF.conv3d(a, b, padding=1), [x, w], device)
    _twin(lambda a: F.max_pool3d(a, 2), lambda a: TF.max_pool3d(a, 2), [x], device)
    _twin(lambda a: F.avg_pool3d(a, 2), lambda a: TF.avg_pool3d(a, 2), [x], device)


# -- bad inputs: torch's exception types (and messages where refgrad's text is torch's) ---------------
def _loose(case):
    case.loose = True
    return case


@pytest.mark.parametrize("case", [
    lambda m, x: m.conv3d(x((2, 3, 4)), x((2, 3, 2, 2, 2))),
    lambda m, x: m.conv3d(x((1, 2, 3, 4, 4, 4)), x((2, 2, 2, 2, 2))),
    _loose(lambda m, x: m.conv3d(x((1, 3, 4, 4, 4)), x((2, 3, 2, 2)))),
    lambda m, x: m.conv3d(x((1, 3, 4, 4, 4)), x((2, 3, 2, 2, 2)), stride=(1, 2)),
    lambda m, x: m.conv3d(x((1, 4, 4, 4, 4)), x((2, 3, 2, 2, 2))),
    lambda m, x: m.conv3d(x((1, 3, 2, 4, 4)), x((2, 3, 3, 2, 2))),
    lambda m, x: m.conv_transpose3d(x((2, 3, 4)), x((3, 2, 2, 2, 2))),
    _loose(lambda m, x: m.conv_transpose3d(x((1, 3, 4, 4, 4)), x((3, 2, 2, 2, 2)), output_padding=1)),
    _loose(lambda m, x: m.max_pool3d(x((2, 3, 4)), 2)),
    _loose(lambda m, x: m.max_pool3d(x((1, 2, 3, 4, 4, 4)), 2)),
    lambda m, x: m.max_pool3d(x((1, 1, 4, 4, 4)), 2, padding=2),
    lambda m, x: m.max_pool3d(x((1, 1, 1, 4, 4)), 2),
    _loose(lambda m, x: m.max_pool3d_with_indices(x((4, 4)), 2)),
    _loose(lambda m, x: m.avg_pool3d(x((2, 3)), 2)),
    lambda m, x: m.avg_pool3d(x((1, 1, 4, 4, 4)), 2, padding=2),
    lambda m, x: m.avg_pool3d(x((1, 1, 4, 4, 4)), 2, divisor_override=0),
    lambda m, x: m.avg_pool3d(x((1, 1, 1, 4, 4)), 2, padding=1),  # the unpadded input must hold a window
    lambda m, x: m.avg_pool3d(x((1, 1, 4, 4)), (2, 1, 1)),
    _loose(lambda m, x: m.adaptive_avg_pool3d(x((2, 3)), 2)),
    _loose(lambda m, x: m.adaptive_avg_pool3d(x((1, 2, 0, 3, 3)), 2)),
    _loose(lambda m, x: m.adaptive_avg_pool3d(x((1, 2, 3, 3, 3)), (2, 2))),
    _loose(lambda m, x: m.adaptive_max_pool3d(x((2, 3)), 2)),
    _loose(lambda m, x: m.adaptive_max_pool3d(x((1, 2, 3, 3, 3)), (2, 2))),
    lambda m, x: m.pad(x((3, 3, 3)), (1,) * 6, mode="reflect"),
    lambda m, x: m.pad(x((1, 1, 3, 3, 3)), (1, 1, 1, 1, 3, 0), mode="reflect"),
    lambda m, x: m.pad(x((1, 3, 3, 3)), (1, 1, 0, 3, 0, 0), mode="reflect"),
    lambda m, x: m.pad(x((1, 1, 3, 3, 3)), (4, 0, 0, 0, 0, 0), mode="circular"),
    lambda m, x: m.interpolate(x((1, 1, 3, 3)), size=(3, 3), mode="trilinear"),
    lambda m, x: m.interpolate(x((1, 1, 2, 2, 2)), size=(3, 3, 3), mode="bilinear"),
    lambda m, x: m.interpolate(x((1, 1, 2, 2, 2)), size=(3, 3), mode="nearest"),
])
def test_errors_match_torch_type_and_message(case):
    try:
        case(TF, torch.zeros)
    except Exception as e:  # noqa: BLE001 - the oracle decides the type
        exc, msg = type(e), str(e)
    else:
        pytest.fail("torch accepted the case")
    with pytest.raises(exc) as info:
        case(F, refgrad.zeros)
    ours = str(info.value)
    # the same message, or the same leading words; loose cases (torch's text names its kernels) need the type only
    assert getattr(case, "loose", False) or ours == msg or ours.split(" ")[:3] == msg.split(" ")[:3], (ours, msg)


# -- modules --------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("padding_mode", ["zeros", "reflect", "replicate", "circular"])
@pytest.mark.parametrize("kw", [dict(padding=1), dict(padding=(1, 0, 1), stride=(2, 1, 1), dilation=(1, 2, 1),
                                                      groups=2), dict(padding="same", bias=False)], ids=str)
@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel")
def test_conv3d_module(device, dtype, padding_mode, kw, rng):
    args = (4, 6, (2, 3, 2))
    (x,) = _data(rng, X)
    _module_twin(nn.Conv3d(*args, padding_mode=padding_mode, **kw),
                 torch.nn.Conv3d(*args, padding_mode=padding_mode, **kw), x, device, dtype)


def test_conv_transpose3d_module(device, rng):
    (x,) = _data(rng, (2, 4, 3, 2, 3))
    kw = dict(stride=2, padding=1, output_padding=1, groups=2, dilation=(1, 2, 1))
    _module_twin(nn.ConvTranspose3d(4, 6, 3, **kw), torch.nn.ConvTranspose3d(4, 6, 3, **kw), x, device)
    _module_twin(nn.ConvTranspose3d(4, 2, 2, stride=3, bias=False), torch.nn.ConvTranspose3d(4, 2, 2, stride=3,
                                                                                              bias=False),
                 x[0], device, output_size=[9, 5, 10])  # output_size picks the output_padding (unbatched)
    with pytest.raises(ValueError, match="valid sizes range from"):
        nn.ConvTranspose3d(4, 2, 2, stride=3)(rg(x), output_size=[9, 9, 9])
    with pytest.raises(ValueError, match="Only \"zeros\" padding mode"):
        nn.ConvTranspose3d(4, 6, 3, padding_mode="reflect")


@pytest.mark.parametrize("cls,args", [("Conv3d", (4, 6, 3)), ("Conv3d", (4, 6, (1, 3, 2))),
                                      ("ConvTranspose3d", (4, 6, (2, 3, 1)))])
def test_conv3d_init_follows_torch_formulas(cls, args):
    refgrad.manual_seed(0)
    m = getattr(nn, cls)(*args, groups=2)
    t = getattr(torch.nn, cls)(*args, groups=2)
    assert m.weight.shape == t.weight.shape and m.bias.shape == t.bias.shape
    fan_in = t.weight.shape[1] * math.prod(t.weight.shape[2:])
    bound = 1 / math.sqrt(fan_in)  # kaiming_uniform(a=sqrt(5)) gives the same bound as the bias
    for p in (m.weight, m.bias):
        v = to_np(p)
        assert np.abs(v).max() <= bound and np.abs(v).max() > 0.5 * bound
    assert list(m.state_dict()) == list(t.state_dict())
    assert repr(m) == repr(t)


def _modules(lib):
    L = lib.nn
    return [
        (L.MaxPool3d(2, 1, 1, ceil_mode=True), X),
        (L.MaxPool3d((2, 3, 2), return_indices=True, dilation=(1, 1, 2)), X),
        (L.AvgPool3d(3, 2, 1, count_include_pad=False), X),
        (L.AvgPool3d(2, divisor_override=3, ceil_mode=True), X[1:]),
        (L.AdaptiveAvgPool3d((3, None, 2)), X),
        (L.AdaptiveMaxPool3d(2, return_indices=True), X),
        (L.AdaptiveMaxPool3d((1, 4, 3)), X[1:]),
        (L.ZeroPad3d((1, 2, 0, 3, 1, 0)), X),
        (L.ConstantPad3d(1, -1.5), X[1:]),
        (L.ConstantPad3d((1, 0, 2, 1, 0, 2), 3.5), X),
        (L.ReflectionPad3d((1, 2, 3, 0, 2, 1)), X),
        (L.ReplicationPad3d(2), X[1:]),
        (L.CircularPad3d((1, 0, 2, 1, 3, 2)), X),
        (L.Upsample(scale_factor=(1.5, 2, 1), mode="trilinear"), X),
        (L.Upsample(size=(5, 3, 6), mode="trilinear", align_corners=True), X),
        (L.Upsample(scale_factor=2, mode="nearest"), X),
    ]


@pytest.mark.parametrize("i", range(len(_modules(torch))))
def test_pool_pad_resample_modules(device, i, rng):
    r, shape = _modules(refgrad)[i]
    t, _ = _modules(torch)[i]
    (x,) = _data(rng, shape)
    _module_twin(r, t, x, device)


@pytest.mark.parametrize("cls,args,ndim", [("CircularPad1d", (1,), 1), ("CircularPad2d", (1,), 2),
                                           ("CircularPad3d", (1,), 3), ("CircularPad3d", (1,), 6)])
def test_circular_pad_modules_check_the_rank(cls, args, ndim):
    with pytest.raises(ValueError) as theirs:
        getattr(torch.nn, cls)(*args)(torch.zeros((2,) * ndim))
    with pytest.raises(ValueError) as ours:
        getattr(nn, cls)(*args)(refgrad.zeros((2,) * ndim))
    assert str(ours.value) == str(theirs.value)


@pytest.mark.parametrize("make,shape", [(lambda L: L.BatchNorm3d(4), X), (lambda L: L.InstanceNorm3d(4, affine=True),
                                                                          X[1:])])
def test_norm3d_modules_twin_and_rank_errors(device, make, shape, rng):
    (x,) = _data(rng, shape)
    _module_twin(make(refgrad.nn), make(torch.nn), x, device)
    with pytest.raises(ValueError) as theirs:
        make(torch.nn)(torch.zeros(2, 4, 3))
    with pytest.raises(ValueError) as ours:
        make(refgrad.nn)(refgrad.zeros(2, 4, 3))
    assert str(ours.value) == str(theirs.value)
