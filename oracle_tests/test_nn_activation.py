"""Activations (refgrad.nn.functional and their modules) against torch: forward, VJP and double backward
on random shapes away from the kinks, torch's gradient conventions at the kinks by hand, in-place
variants, module reprs and bad inputs."""
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

# name -> (refgrad fn, torch fn, kinks to keep away from, gradgrad checked)
ACTS = {
    "relu": (F.relu, TF.relu, [0.0], True),
    "relu6": (F.relu6, TF.relu6, [0.0, 6.0], True),
    "hardtanh": (lambda x: F.hardtanh(x, -0.5, 1.5), lambda x: TF.hardtanh(x, -0.5, 1.5), [-0.5, 1.5], True),
    "leaky_relu": (lambda x: F.leaky_relu(x, 0.2), lambda x: TF.leaky_relu(x, 0.2), [0.0], True),
    "elu": (lambda x: F.elu(x, 1.3), lambda x: TF.elu(x, 1.3), [0.0], True),
    "selu": (F.selu, TF.selu, [0.0], True),
    "celu": (lambda x: F.celu(x, 0.7), lambda x: TF.celu(x, 0.7), [0.0], True),
    "gelu": (F.gelu, TF.gelu, [], True),
    "gelu_tanh": (lambda x: F.gelu(x, approximate="tanh"), lambda x: TF.gelu(x, approximate="tanh"), [], True),
    "silu": (F.silu, TF.silu, [], True),
    "mish": (F.mish, TF.mish, [], True),
    "softplus": (lambda x: F.softplus(x, 2.0, 3.0), lambda x: TF.softplus(x, 2.0, 3.0), [1.5], True),
    "softsign": (F.softsign, TF.softsign, [0.0], True),
    # torch has no double backward for hardsigmoid
    "hardsigmoid": (F.hardsigmoid, TF.hardsigmoid, [-3.0, 3.0], False),
    "hardswish": (F.hardswish, TF.hardswish, [-3.0, 3.0], True),
    "logsigmoid": (F.logsigmoid, TF.logsigmoid, [], True),
    "tanh": (F.tanh, torch.tanh, [], True),
    "sigmoid": (F.sigmoid, torch.sigmoid, [], True),
    "tanhshrink": (F.tanhshrink, TF.tanhshrink, [], True),
    "softshrink": (lambda x: F.softshrink(x, 0.7), lambda x: TF.softshrink(x, 0.7), [-0.7, 0.7], True),
    "hardshrink": (lambda x: F.hardshrink(x, 0.7), lambda x: TF.hardshrink(x, 0.7), [-0.7, 0.7], True),
    "threshold": (lambda x: F.threshold(x, 0.3, -2.0), lambda x: TF.threshold(x, 0.3, -2.0), [0.3], True),
    "softmax": (lambda x: F.softmax(x, -1), lambda x: TF.softmax(x, -1), [], True),
    "log_softmax": (lambda x: F.log_softmax(x, 0), lambda x: TF.log_softmax(x, 0), [], True),
    "softmin": (lambda x: F.softmin(x, -1), lambda x: TF.softmin(x, -1), [], True),
}

shapes = st.lists(st.integers(0, 4), min_size=0, max_size=3).map(tuple)


def _away_from(x, kinks):
    x = np.asarray(x)
    for k in kinks:
        near = np.abs(x - k) < 1e-2
        x = np.where(near, k + 0.05, x)
    return x


@pytest.mark.parametrize("name", list(ACTS))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@given(shape=shapes, seed=st.integers(0, 2**16))
def test_activation_matches_torch(name, dtype, shape, seed):
    fr, ft, kinks, gradgrad = ACTS[name]
    if name in ("softmax", "log_softmax", "softmin") and len(shape) == 0:
        shape = (3,)
    x = _away_from(np.random.default_rng(seed).standard_normal(shape) * 3, kinks).astype(dtype)
    check_op(fr, ft, [x], gradgrad=gradgrad, seed=seed)


@pytest.mark.parametrize("name", ["relu", "gelu", "hardswish", "elu", "softplus"])
def test_activation_on_device(name, device, rng):
    fr, ft, kinks, gradgrad = ACTS[name]
    x = _away_from(rng.standard_normal((3, 5)) * 4, kinks).astype(np.float32)
    check_op(fr, ft, [x], device=device, gradgrad=gradgrad)


# the exact kinks: torch's first derivative there (and its second where it is defined the same way)
KINKS = {
    "relu": [0.0], "relu6": [0.0, 6.0, float("nan")], "hardtanh": [-0.5, 1.5, float("nan")],
    "leaky_relu": [0.0, float("nan")], "elu": [0.0, float("nan")], "selu": [0.0], "celu": [0.0],
    "softplus": [1.5, 40.0, -40.0], "softsign": [0.0], "hardsigmoid": [-3.0, 3.0, float("nan")],
    "hardswish": [-3.0, 3.0, 0.0, float("nan")], "logsigmoid": [0.0, -30.0, 30.0],
    "softshrink": [-0.7, 0.7, float("nan")], "hardshrink": [-0.7, 0.7, float("nan")],
    "threshold": [0.3, float("nan")], "gelu": [0.0], "mish": [0.0, 100.0], "silu": [0.0],
}
# documented divergences of the second derivative exactly at a kink: torch's double backward masks x < 0
# for the elu family and x * beta < threshold for softplus, the composites take the branch their first
# derivative takes; torch has no double backward for hardsigmoid
_NO_GRADGRAD_AT_KINK = {"elu", "selu", "celu", "softplus", "hardsigmoid"}


@pytest.mark.parametrize("name", list(KINKS))
def test_kink_conventions_match_torch(name):
    fr, ft, _, _ = ACTS[name]
    x = np.array(KINKS[name], dtype=np.float64)
    check_op(fr, ft, [x], gradgrad=name not in _NO_GRADGRAD_AT_KINK)


def test_elu_second_derivative_at_zero_is_the_documented_divergence():
    x = refgrad.zeros(1, dtype=refgrad.float64, requires_grad=True)
    (g,) = refgrad.autograd.grad(F.elu(x, 1.5).sum(), x, create_graph=True)
    assert g.item() == 1.5  # torch's slope at 0
    (gg,) = refgrad.autograd.grad(g.sum(), x)
    assert gg.item() == 1.5  # torch gives 0 here (its double backward masks x < 0)


def test_prelu_matches_torch(rng):
    x = _away_from(rng.standard_normal((2, 3, 4)), [0.0])
    w = rng.uniform(0.1, 0.5, 3)
    check_op(F.prelu, TF.prelu, [x, w])
    check_op(F.prelu, TF.prelu, [x[0, 0], w[:1]])
    # at 0: slope w, weight gradient x * g = 0 (the mixed second derivative there is a documented divergence)
    check_op(F.prelu, TF.prelu, [np.array([0.0, -1.0, 2.0]), w[:1]], gradgrad=False)
    with pytest.raises(RuntimeError, match="Mismatch of parameter numbers and input channel size"):
        F.prelu(rg(x), rg(np.ones(4)))
    with pytest.raises(RuntimeError, match="Not allow zero-dim input tensor"):
        F.prelu(rg(np.array(1.0)), rg(w))
    with pytest.raises(RuntimeError, match="prelu: Type promoting not supported. Got Double and Float"):
        F.prelu(rg(x), rg(w.astype(np.float32)))


@pytest.mark.parametrize("dim", [0, -1, 1])
def test_glu_matches_torch(dim, rng):
    x = rng.standard_normal((4, 2, 6))
    check_op(lambda t: F.glu(t, dim), lambda t: TF.glu(t, dim), [x])


def test_bad_arguments_raise_like_torch():
    with pytest.raises(RuntimeError, match="Halving dimension must be even, but dimension 0 is size 3"):
        F.glu(refgrad.ones(3))
    with pytest.raises(RuntimeError, match="glu does not support scalars"):
        F.glu(refgrad.tensor(1.0))
    with pytest.raises(RuntimeError, match="approximate argument must be either none or tanh"):
        F.gelu(refgrad.ones(2), approximate="fast")
    with pytest.raises(ValueError, match="min_val cannot be greater than max_val"):
        F.hardtanh(refgrad.ones(2), 2.0, 1.0)
    with pytest.raises(AssertionError, match="must be greater than min_val"):
        nn.Hardtanh(1.0, 1.0)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        F.relu(refgrad.ones(2, requires_grad=True), inplace=True)


def test_implicit_softmax_dim_warns_like_torch(rng):
    x = rng.standard_normal((2, 3)).astype(np.float32)
    for fr, ft in [(F.softmax, TF.softmax), (F.log_softmax, TF.log_softmax), (F.softmin, TF.softmin)]:
        with pytest.warns(UserWarning, match="Implicit dimension choice"):
            ours = fr(rg(x))
        with pytest.warns(UserWarning, match="Implicit dimension choice"):
            theirs = ft(th(x))
        assert_same(ours, theirs)
    assert_same(F.softmax(rg(x), 1, dtype=refgrad.float64), TF.softmax(th(x), 1, dtype=torch.float64))


INPLACE = [
    ("relu", lambda m, x: m.relu(x, inplace=True)),
    ("relu6", lambda m, x: m.relu6(x, inplace=True)),
    ("hardtanh", lambda m, x: m.hardtanh(x, -0.5, 0.5, True)),
    ("leaky_relu", lambda m, x: m.leaky_relu(x, 0.1, True)),
    ("elu", lambda m, x: m.elu(x, 1.0, True)),
    ("selu", lambda m, x: m.selu(x, True)),
    ("celu", lambda m, x: m.celu(x, 2.0, True)),
    ("silu", lambda m, x: m.silu(x, inplace=True)),
    ("mish", lambda m, x: m.mish(x, inplace=True)),
    ("hardsigmoid", lambda m, x: m.hardsigmoid(x, True)),
    ("hardswish", lambda m, x: m.hardswish(x, True)),
    ("threshold", lambda m, x: m.threshold(x, 0.1, 20.0, True)),
]


@pytest.mark.parametrize("name,fn", INPLACE, ids=[n for n, _ in INPLACE])
def test_inplace_variants_write_into_input_and_backprop_like_torch(name, fn, rng):
    x = _away_from(rng.standard_normal((3, 4)) * 3, [0.0, 0.1, -0.5, 0.5, -3.0, 3.0])
    cot = rng.standard_normal((3, 4))
    outs, grads = [], []
    for lib, mod in ((refgrad, F), (torch, TF)):
        leaf = lib.tensor(x, requires_grad=True)
        y = leaf * 1.0  # a non-leaf may be modified in place
        r = fn(mod, y)
        assert r is y
        r.backward(lib.tensor(cot))
        outs.append(y.detach())
        grads.append(leaf.grad)
    assert_same(outs[0], outs[1], what="value")
    assert_same(grads[0], grads[1], what="grad")
    plain = refgrad.tensor(x)
    fn(F, plain)
    assert plain._version == 1


MODULES = [
    lambda L: L.ReLU(), lambda L: L.ReLU(inplace=True), lambda L: L.ReLU6(), lambda L: L.ReLU6(True),
    lambda L: L.Hardtanh(), lambda L: L.Hardtanh(-2.0, 3.0, True), lambda L: L.LeakyReLU(),
    lambda L: L.LeakyReLU(0.2, True), lambda L: L.ELU(), lambda L: L.ELU(0.5, True), lambda L: L.SELU(),
    lambda L: L.SELU(True), lambda L: L.CELU(2.0), lambda L: L.GELU(), lambda L: L.GELU("tanh"), lambda L: L.SiLU(),
    lambda L: L.Mish(), lambda L: L.Softplus(), lambda L: L.Softplus(2, 10), lambda L: L.Softsign(),
    lambda L: L.Hardsigmoid(), lambda L: L.Hardswish(), lambda L: L.LogSigmoid(), lambda L: L.Tanh(),
    lambda L: L.Sigmoid(), lambda L: L.Tanhshrink(), lambda L: L.Softshrink(), lambda L: L.Hardshrink(0.3),
    lambda L: L.Threshold(0.1, 20.0), lambda L: L.Threshold(0.1, 20.0, True), lambda L: L.GLU(),
    lambda L: L.GLU(0), lambda L: L.Softmax(1), lambda L: L.LogSoftmax(dim=-1), lambda L: L.Softmin(0),
    lambda L: L.PReLU(), lambda L: L.PReLU(4, 0.1),
]


@pytest.mark.parametrize("i", range(len(MODULES)))
def test_activation_modules_match_torch(i, rng):
    r, t = MODULES[i](nn), MODULES[i](torch.nn)
    assert repr(r) == repr(t)
    assert [n for n, _ in r.named_parameters()] == [n for n, _ in t.named_parameters()]
    x = _away_from(rng.standard_normal((2, 4, 2)) * 2, [0.0, 0.1, -0.5, 0.5, 0.3, -0.3, 6.0, -3.0, 3.0, 1.0, -1.0])
    x = x.astype(np.float32)
    xr, xt = rg(x, requires_grad=True), th(x, requires_grad=True)
    yr, yt = r(xr * 1.0), t(xt * 1.0)
    assert_same(yr, yt)
    cot = rng.standard_normal(tuple(yt.shape))
    yr.backward(rg(cot))
    yt.backward(th(cot))
    assert_same(xr.grad, xt.grad, 1e-6, 1e-6)
    for pr, pt in zip(r.parameters(), t.parameters()):
        assert_same(pr.grad, pt.grad, 1e-6, 1e-6)


def test_activation_grad_fn_names_follow_torch():
    x = refgrad.ones(2, requires_grad=True)
    assert F.hardtanh(x).grad_fn.name() == TF.hardtanh(torch.ones(2, requires_grad=True)).grad_fn.name()
    assert F.hardswish(x).grad_fn.name() == "HardswishBackward0"
    assert F.hardsigmoid(x).grad_fn.name() == "HardsigmoidBackward0"
    assert to_np(F.relu6(refgrad.tensor([-1.0, 3.0, 7.0]))).tolist() == [0.0, 3.0, 6.0]
