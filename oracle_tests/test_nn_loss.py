"""Losses (refgrad.nn.functional and their modules) against torch: values, input and target gradients and
double backward for every reduction, torch's kink conventions by hand, cross_entropy/nll_loss with class
weights, ignore_index, label smoothing, probability targets and K-dim inputs, module twins (buffers,
state_dict, repr, legacy size_average/reduce) and bad inputs (torch's exception types)."""
import warnings

import numpy as np
import pytest
import torch
import torch.nn as tnn
import torch.nn.functional as TF
from hypothesis import assume, given
from hypothesis import strategies as st

import refgrad
import refgrad.nn as nn
import refgrad.nn.functional as F

from .helpers import assert_same, check_op, rg, th, to_np

REDUCTIONS = ["none", "mean", "sum"]
DTYPES = [np.float32, np.float64]
shapes = st.lists(st.integers(0, 4), min_size=0, max_size=3).map(tuple)
nonempty = st.lists(st.integers(1, 4), min_size=1, max_size=3).map(tuple)


def _apart(rng, shape, dist=0.05):
    """Two arrays whose difference stays at least ``dist`` away from 0 (the l1/huber kink)."""
    x = rng.standard_normal(shape)
    d = rng.uniform(dist, 2.0, shape) * rng.choice([-1.0, 1.0], shape)
    return x, x - d


def _sign(rng, shape):
    return rng.choice([-1.0, 1.0], shape)


# name -> (function name, kwargs, make(rng, shape) -> (inputs, indices differentiated), gradgrad)
# Inputs are float64 arrays cast to the test dtype (integer arrays are kept).
def _pair(rng, shape):
    return list(_apart(rng, shape)), None


def _smooth_pair(beta):
    def make(rng, shape):
        x, t = _apart(rng, shape)
        z = x - t
        t = np.where(np.abs(np.abs(z) - beta) < 0.05, x - np.sign(z) * (beta + 0.1), t)  # off the |z| = beta seam
        return [x, t], None
    return make


def _bce(weighted):
    def make(rng, shape):
        ins = [rng.uniform(0.05, 0.95, shape), rng.uniform(0, 1, shape)]
        if weighted:
            ins.append(rng.uniform(0.5, 2.0, shape[-1:]))
            return ins, [0, 1]
        return ins, None
    return make


def _bce_logits(weighted, pos):
    def make(rng, shape):
        ins = [rng.standard_normal(shape) * 3, rng.uniform(0, 1, shape)]
        ins.append(rng.uniform(0.5, 2.0, shape[-1:]) if weighted else None)
        ins.append(rng.uniform(0.5, 3.0, shape[-1:]) if pos else None)
        return ins, [0, 1]
    return make


def _kl(log_target):
    def make(rng, shape):
        t = rng.standard_normal(shape) if log_target else rng.uniform(0.05, 1.0, shape)
        return [rng.standard_normal(shape), t], None
    return make


def _poisson(log_input, full):
    def make(rng, shape):
        x = rng.standard_normal(shape) if log_input else rng.uniform(0.2, 3.0, shape)
        t = rng.uniform(0.05, 4.0, shape)
        if full:
            t = np.where(np.abs(t - 1) < 0.05, 1.2, t)  # the Stirling term switches on at t > 1
        return [x, t], None
    return make


def _gaussian(rng, shape):
    return [rng.standard_normal(shape), rng.standard_normal(shape), rng.uniform(0.1, 2.0, shape)], None


def _soft_margin(rng, shape):
    return [rng.standard_normal(shape), _sign(rng, shape)], [0]  # torch refuses a target that requires grad


def _hinge(rng, shape):
    x = rng.standard_normal(shape) * 2
    x = np.where(np.abs(x - 0.7) < 0.05, 0.8, x)  # off the kink margin - x = 0
    return [x, _sign(rng, shape)], [0]


def _ranking(rng, shape):
    x1, x2 = _apart(rng, shape, 0.1)
    t = _sign(rng, shape)
    x2 = np.where(np.abs(-t * (x1 - x2) + 0.3) < 0.05, x2 + 0.2, x2)  # off the hinge
    return [x1, x2, t], None


def _multilabel(weighted):
    def make(rng, shape):
        ins = [rng.standard_normal(shape) * 2, rng.integers(0, 2, shape).astype(np.float64)]
        if weighted:
            ins.append(rng.uniform(0.5, 2.0, shape[-1:]))
            return ins, [0, 1]
        return ins, None
    return make


ELEMENTWISE = {
    "mse": ("mse_loss", {}, _pair, True),
    "l1": ("l1_loss", {}, _pair, True),
    "smooth_l1": ("smooth_l1_loss", {"beta": 0.7}, _smooth_pair(0.7), True),
    "smooth_l1_beta0": ("smooth_l1_loss", {"beta": 0.0}, _pair, True),
    "huber": ("huber_loss", {"delta": 0.8}, _smooth_pair(0.8), True),
    "bce": ("binary_cross_entropy", {}, _bce(False), True),
    "bce_weight": ("binary_cross_entropy", {}, _bce(True), True),
    "bce_logits": ("binary_cross_entropy_with_logits", {}, _bce_logits(False, False), True),
    "bce_logits_weights": ("binary_cross_entropy_with_logits", {}, _bce_logits(True, True), True),
    "kl_div": ("kl_div", {}, _kl(False), True),
    "kl_div_log_target": ("kl_div", {"log_target": True}, _kl(True), True),
    "poisson_log": ("poisson_nll_loss", {}, _poisson(True, False), True),
    "poisson": ("poisson_nll_loss", {"log_input": False, "eps": 1e-3}, _poisson(False, False), True),
    "poisson_full": ("poisson_nll_loss", {"full": True}, _poisson(True, True), True),
    "gaussian": ("gaussian_nll_loss", {}, _gaussian, True),
    "gaussian_full": ("gaussian_nll_loss", {"full": True, "eps": 0.3}, _gaussian, True),
    "soft_margin": ("soft_margin_loss", {}, _soft_margin, True),
    "hinge": ("hinge_embedding_loss", {"margin": 0.7}, _hinge, True),
    "margin_ranking": ("margin_ranking_loss", {"margin": 0.3}, _ranking, True),
}
# at least one dim: a class dim
NEEDS_DIM = {"multilabel", "multilabel_weight"}
ELEMENTWISE.update({
    "multilabel": ("multilabel_soft_margin_loss", {}, _multilabel(False), True),
    "multilabel_weight": ("multilabel_soft_margin_loss", {}, _multilabel(True), True),
})


def _call(mod, fname, kwargs, reduction):
    fn = getattr(mod, fname)

    def run(*args):
        kw = dict(kwargs)
        # bce_with_logits takes weight and pos_weight as keywords; trailing None inputs are dropped
        if fname == "binary_cross_entropy_with_logits":
            x, t, w, pw = args
            return fn(x, t, weight=w, pos_weight=pw, reduction=reduction, **kw)
        if fname == "binary_cross_entropy" and len(args) == 3:
            return fn(args[0], args[1], weight=args[2], reduction=reduction, **kw)
        if fname == "multilabel_soft_margin_loss" and len(args) == 3:
            return fn(args[0], args[1], weight=args[2], reduction=reduction, **kw)
        if fname == "kl_div" and reduction == "mean":
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)  # torch's 'mean' vs 'batchmean' advice (tested below)
                return fn(*args, reduction=reduction, **kw)
        return fn(*args, reduction=reduction, **kw)
    return run


@pytest.mark.parametrize("name", list(ELEMENTWISE))
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("dtype", DTYPES)
@given(shape=shapes, seed=st.integers(0, 2**16))
def test_loss_matches_torch(name, reduction, dtype, shape, seed):
    fname, kwargs, make, gradgrad = ELEMENTWISE[name]
    if name in NEEDS_DIM and not shape:
        shape = (3,)
    rng = np.random.default_rng(seed)
    ins, diff = make(rng, shape)
    ins = [None if x is None else np.asarray(x, dtype) for x in ins]
    check_op(_call(F, fname, kwargs, reduction), _call(TF, fname, kwargs, reduction), ins, diff=diff,
             gradgrad=gradgrad, seed=seed)


def test_kl_div_batchmean_and_mean_warning(rng):
    x, t = rng.standard_normal((3, 4)), rng.uniform(0.1, 1, (3, 4))
    check_op(lambda a, b: F.kl_div(a, b, reduction="batchmean"), lambda a, b: TF.kl_div(a, b, reduction="batchmean"),
             [x, t])
    check_op(lambda a, b: F.kl_div(a, b, reduction="batchmean", log_target=True),
             lambda a, b: TF.kl_div(a, b, reduction="batchmean", log_target=True), [x, np.log(t)])
    with pytest.warns(UserWarning, match="'batchmean' divides only by the batch size"):
        F.kl_div(rg(x), rg(t))
    # xlogy: a zero target contributes 0, not nan
    out = F.kl_div(rg(x), rg(np.zeros((3, 4))), reduction="sum")
    assert out.item() == 0.0


@pytest.mark.parametrize("p", [1.0, 2.0, 3.0])
@pytest.mark.parametrize("swap", [False, True])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@given(n=st.integers(1, 4), d=st.integers(1, 5), seed=st.integers(0, 2**16))
def test_triplet_margin_loss_matches_torch(p, swap, reduction, n, d, seed):
    rng = np.random.default_rng(seed)
    a, pos, neg = (rng.standard_normal((n, d)) for _ in range(3))
    d_pos = to_np(TF.pairwise_distance(th(a), th(pos), p))
    d_neg = to_np(TF.pairwise_distance(th(a), th(neg), p))
    if swap:
        d_neg = np.minimum(d_neg, to_np(TF.pairwise_distance(th(pos), th(neg), p)))
    margins = [m for m in np.linspace(0.1, 2.0, 20) if np.all(np.abs(m + d_pos - d_neg) > 1e-2)]
    assume(margins)  # a margin that keeps every sample off the hinge
    kw = {"margin": float(margins[seed % len(margins)]), "p": p, "swap": swap, "reduction": reduction}
    check_op(lambda *x: F.triplet_margin_loss(*x, **kw), lambda *x: TF.triplet_margin_loss(*x, **kw), [a, pos, neg])
    check_op(lambda *x: F.triplet_margin_loss(*x, **kw), lambda *x: TF.triplet_margin_loss(*x, **kw),
             [a[0], pos[0], neg[0]])


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("dtype", DTYPES)
@given(n=st.integers(1, 4), d=st.integers(1, 5), seed=st.integers(0, 2**16))
def test_cosine_embedding_loss_matches_torch(reduction, dtype, n, d, seed):
    rng = np.random.default_rng(seed)
    x1, x2 = rng.standard_normal((n, d)), rng.standard_normal((n, d))
    t = _sign(rng, n)
    cos = to_np(TF.cosine_similarity(th(x1), th(x2), eps=0))
    assume(np.all(np.abs(cos - 0.2) > 1e-2))
    kw = {"margin": 0.2, "reduction": reduction}
    ins = [x1.astype(dtype), x2.astype(dtype), t.astype(dtype)]
    check_op(lambda *a: F.cosine_embedding_loss(*a, **kw), lambda *a: TF.cosine_embedding_loss(*a, **kw), ins,
             diff=[0, 1])
    # 0-d target with 1-d inputs
    ins = [x1[0].astype(dtype), x2[0].astype(dtype), np.array(t[0], dtype)]
    check_op(lambda *a: F.cosine_embedding_loss(*a, **kw), lambda *a: TF.cosine_embedding_loss(*a, **kw), ins,
             diff=[0, 1])


@pytest.mark.parametrize("p", [1, 2])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@given(n=st.integers(1, 4), c=st.integers(1, 5), seed=st.integers(0, 2**16))
def test_multi_margin_loss_matches_torch(p, weighted, reduction, n, c, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, c))
    y = rng.integers(0, c, n)
    z = 0.8 - x[np.arange(n), y][:, None] + x
    assume(np.all(np.abs(z) > 1e-2) or c == 1)
    w = rng.uniform(0.5, 2.0, c) if weighted else None
    kw = {"p": p, "margin": 0.8, "reduction": reduction}
    check_op(lambda a, t, ww: F.multi_margin_loss(a, t, weight=ww, **kw),
             lambda a, t, ww: TF.multi_margin_loss(a, t, weight=ww, **kw), [x, y, w], diff=[0], gradgrad=False)
    check_op(lambda a, t: F.multi_margin_loss(a, t, **kw), lambda a, t: TF.multi_margin_loss(a, t, **kw),
             [x[0], y[:1]], gradgrad=False)


# -- kinks: torch's conventions at exactly zero difference -------------------------------------------
@pytest.mark.parametrize("fname,kw", [("l1_loss", {}), ("smooth_l1_loss", {"beta": 0.5}),
                                      ("smooth_l1_loss", {"beta": 0.0}), ("huber_loss", {"delta": 0.5}),
                                      ("mse_loss", {})])
def test_kinks_at_zero_difference(fname, kw):
    x = np.array([0.0, 1.0, -2.0, 0.5, -0.5, 3.0])
    t = np.array([0.0, 1.0, -1.5, 0.0, 0.0, 3.0])  # differences 0, 0, -0.5 (= -beta), 0.5, -0.5, 0
    rf = lambda a, b: getattr(F, fname)(a, b, reduction="none", **kw)  # noqa: E731
    tf = lambda a, b: getattr(TF, fname)(a, b, reduction="none", **kw)  # noqa: E731
    check_op(rf, tf, [x, t], gradgrad=fname in ("mse_loss", "l1_loss"))
    a = rg(x, requires_grad=True)
    (g,) = refgrad.autograd.grad(rf(a, rg(t)).sum(), a)
    assert to_np(g)[0] == 0.0 and to_np(g)[1] == 0.0 and to_np(g)[5] == 0.0  # sign(0) = 0


def test_hinge_losses_at_the_kink_match_torch():
    # clamp_min passes the gradient at equality (torch's self >= min), so the kink gives the linear slope
    x = np.array([0.7, 0.7, 0.0])
    t = np.array([-1.0, 1.0, -1.0])
    check_op(lambda a, b: F.hinge_embedding_loss(a, b, 0.7, reduction="none"),
             lambda a, b: TF.hinge_embedding_loss(a, b, 0.7, reduction="none"), [x, t], diff=[0])
    x1, x2, t = np.array([1.0, 0.0]), np.array([0.7, 0.3]), np.array([1.0, -1.0])
    check_op(lambda *a: F.margin_ranking_loss(*a, margin=0.3, reduction="none"),
             lambda *a: TF.margin_ranking_loss(*a, margin=0.3, reduction="none"), [x1, x2, t])
    # multi_margin: gradient 0 where the hinge is exactly 0 (torch's z > 0)
    x, y = np.array([[1.0, 0.0, 2.0]]), np.array([0])
    check_op(lambda a, b: F.multi_margin_loss(a, b), lambda a, b: TF.multi_margin_loss(a, b), [x, y], gradgrad=False)


def test_bce_clamps_like_torch():
    x = np.array([0.0, 1.0, 0.5, 1e-30, 1.0 - 1e-16])
    t = np.array([0.3, 0.6, 0.2, 1.0, 0.0])
    # forward: log clamped at -100; gradient: denominator clamped at 1e-12 (finite at 0 and 1); target: -logit
    check_op(lambda a, b: F.binary_cross_entropy(a, b, reduction="none"),
             lambda a, b: TF.binary_cross_entropy(a, b, reduction="none"), [x, t], gradgrad=False)
    check_op(lambda a, b: F.binary_cross_entropy(a, b), lambda a, b: TF.binary_cross_entropy(a, b),
             [x.astype(np.float32), t.astype(np.float32)], diff=[0], gradgrad=False)


def test_bce_with_logits_is_stable_for_large_logits():
    x = np.array([-200.0, -40.0, 0.0, 40.0, 200.0], dtype=np.float32)
    t = np.array([1.0, 0.3, 0.5, 0.7, 0.0], dtype=np.float32)
    pw = np.array([2.5], dtype=np.float32)
    check_op(lambda a, b, p: F.binary_cross_entropy_with_logits(a, b, pos_weight=p, reduction="none"),
             lambda a, b, p: TF.binary_cross_entropy_with_logits(a, b, pos_weight=p, reduction="none"),
             [x, t, pw], diff=[0, 1])
    out = F.binary_cross_entropy_with_logits(rg(x), rg(t), reduction="none")
    assert np.all(np.isfinite(to_np(out)))


# -- cross_entropy and nll_loss --------------------------------------------------------------------
CE_SHAPES = [(5,), (4, 5), (3, 4, 2), (2, 3, 2, 2), (0, 3)]


def _targets(rng, shape, ignore):
    c = shape[0] if len(shape) == 1 else shape[1]
    tshape = () if len(shape) == 1 else (shape[0],) + shape[2:]
    t = rng.integers(0, c, tshape)
    if ignore and t.size:
        t = np.where(rng.uniform(size=tshape) < 0.3, -1 if ignore == "neg" else 1, t)
    return t, c


@pytest.mark.parametrize("shape", CE_SHAPES, ids=str)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("ignore", [None, "neg", "class"])
@pytest.mark.parametrize("smoothing", [0.0, 0.25])
@pytest.mark.parametrize("dtype", DTYPES)
def test_cross_entropy_matches_torch(shape, reduction, weighted, ignore, smoothing, dtype, rng):
    x = (rng.standard_normal(shape) * 2).astype(dtype)
    t, c = _targets(rng, shape, ignore)
    w = rng.uniform(0.2, 2.0, c).astype(dtype) if weighted else None
    kw = {"reduction": reduction, "label_smoothing": smoothing}
    if ignore:
        kw["ignore_index"] = -1 if ignore == "neg" else 1
    check_op(lambda a, b, ww: F.cross_entropy(a, b, weight=ww, **kw),
             lambda a, b, ww: TF.cross_entropy(a, b, weight=ww, **kw), [x, t, w], diff=[0])


@pytest.mark.parametrize("shape", CE_SHAPES, ids=str)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("ignore", [None, "neg", "class"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_nll_loss_matches_torch(shape, reduction, weighted, ignore, dtype, rng):
    x = rng.standard_normal(shape).astype(dtype)
    t, c = _targets(rng, shape, ignore)
    w = rng.uniform(0.2, 2.0, c).astype(dtype) if weighted else None
    kw = {"reduction": reduction}
    if ignore:
        kw["ignore_index"] = -1 if ignore == "neg" else 1
    check_op(lambda a, b, ww: F.nll_loss(a, b, weight=ww, **kw),
             lambda a, b, ww: TF.nll_loss(a, b, weight=ww, **kw), [x, t, w], diff=[0])


@pytest.mark.parametrize("shape", [(5,), (4, 5), (3, 4, 2), (0, 3)], ids=str)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("smoothing", [0.0, 0.3])
@pytest.mark.parametrize("dtype", DTYPES)
def test_cross_entropy_probability_targets(shape, reduction, weighted, smoothing, dtype, rng):
    cdim = 0 if len(shape) == 1 else 1
    x = rng.standard_normal(shape).astype(dtype)
    t = to_np(torch.softmax(th(rng.standard_normal(shape)), cdim)).astype(dtype)
    w = rng.uniform(0.2, 2.0, shape[cdim]).astype(dtype) if weighted else None
    kw = {"reduction": reduction, "label_smoothing": smoothing}
    # the target is differentiated too (torch's composite)
    check_op(lambda a, b, ww: F.cross_entropy(a, b, weight=ww, **kw),
             lambda a, b, ww: TF.cross_entropy(a, b, weight=ww, **kw), [x, t, w], diff=[0, 1])


def test_cross_entropy_float32_numerics_match_torch(rng):
    # large logits: log_softmax then nll, as torch, so float32 results agree to torch's tolerance
    x = (rng.standard_normal((64, 10)) * 30).astype(np.float32)
    t = rng.integers(0, 10, 64)
    check_op(lambda a, b: F.cross_entropy(a, b), lambda a, b: TF.cross_entropy(a, b), [x, t])
    check_op(lambda a, b: F.cross_entropy(a, b, reduction="none"),
             lambda a, b: TF.cross_entropy(a, b, reduction="none"), [x, t])


def test_all_ignored_batch():
    x = np.random.default_rng(0).standard_normal((3, 4))
    t = np.full(3, -100)
    for red in REDUCTIONS:
        check_op(lambda a, b, r=red: F.nll_loss(a, b, reduction=r),
                 lambda a, b, r=red: TF.nll_loss(a, b, reduction=r), [x, t])
        check_op(lambda a, b, r=red: F.cross_entropy(a, b, reduction=r, label_smoothing=0.1),
                 lambda a, b, r=red: TF.cross_entropy(a, b, reduction=r, label_smoothing=0.1), [x, t])
    out = F.cross_entropy(rg(x), rg(t))
    assert np.isnan(out.item())  # the mean of no targets is 0 / 0, as in torch
    a = rg(x, requires_grad=True)
    F.cross_entropy(a, rg(t)).backward()
    assert not np.any(to_np(a.grad))  # but nothing flows back to the inputs


def test_ignore_index_with_weights_divides_by_kept_weights():
    x = np.log(np.full((3, 2), 0.5))
    t = np.array([0, 1, 1])
    w = np.array([1.0, 3.0])
    out = F.nll_loss(rg(x), rg(t), weight=rg(w), ignore_index=0)
    assert np.isclose(out.item(), -np.log(0.5))  # (3 + 3) * log 2 / (3 + 3)
    out = F.nll_loss(rg(x), rg(t), weight=rg(w))
    assert np.isclose(out.item(), -np.log(0.5))
    out = F.nll_loss(rg(x), rg(t), weight=rg(w), reduction="sum", ignore_index=1)
    assert np.isclose(out.item(), np.log(2))


def test_uint8_targets_are_accepted(rng):
    x = rng.standard_normal((4, 3))
    t = rng.integers(0, 3, 4).astype(np.uint8)
    check_op(lambda a, b: F.cross_entropy(a, b), lambda a, b: TF.cross_entropy(a, b), [x, t])


def test_loss_on_device(device, rng):
    x = rng.standard_normal((4, 5)).astype(np.float32)
    t = rng.integers(0, 5, 4)
    w = rng.uniform(0.5, 2, 5).astype(np.float32)
    check_op(lambda a, b, ww: F.cross_entropy(a, b, weight=ww, label_smoothing=0.1, ignore_index=2),
             lambda a, b, ww: TF.cross_entropy(a, b, weight=ww, label_smoothing=0.1, ignore_index=2), [x, t, w],
             diff=[0], device=device)
    p = rng.uniform(0.05, 0.95, (4, 5)).astype(np.float32)
    y = rng.uniform(0, 1, (4, 5)).astype(np.float32)
    check_op(F.binary_cross_entropy, TF.binary_cross_entropy, [p, y], device=device)
    check_op(lambda a, b, pw: F.binary_cross_entropy_with_logits(a, b, pos_weight=pw),
             lambda a, b, pw: TF.binary_cross_entropy_with_logits(a, b, pos_weight=pw), [x, y, w], diff=[0, 1],
             device=device)
    check_op(F.smooth_l1_loss, TF.smooth_l1_loss, list(_apart(rng, (4, 5))), device=device)


# -- legacy arguments, broadcasting, weighted mse/l1/huber -----------------------------------------
@pytest.mark.parametrize("size_average,reduce", [(None, False), (False, None), (True, True), (False, True),
                                                 (True, False)])
def test_legacy_size_average_and_reduce(size_average, reduce, rng):
    x, t = _apart(rng, (3, 4))
    for fname in ["mse_loss", "l1_loss", "soft_margin_loss"]:
        with pytest.warns(UserWarning, match="size_average and reduce args will be deprecated"):
            ours = getattr(F, fname)(rg(x), rg(t), size_average=size_average, reduce=reduce)
        with pytest.warns(UserWarning):
            theirs = getattr(TF, fname)(th(x), th(t), size_average=size_average, reduce=reduce)
        assert_same(ours, theirs)
    with pytest.warns(UserWarning, match="reduction='"):
        m = nn.CrossEntropyLoss(size_average=size_average, reduce=reduce)
    with pytest.warns(UserWarning):
        tm = tnn.CrossEntropyLoss(size_average=size_average, reduce=reduce)
    assert m.reduction == tm.reduction


def test_legacy_warning_points_at_the_caller_and_elementwise_mean(rng):
    x, t = rng.standard_normal(3), rng.standard_normal(3)
    with pytest.warns(UserWarning, match="please use reduction='sum'") as rec:
        F.l1_loss(rg(x), rg(t), size_average=False)
    assert rec[0].filename == __file__
    with pytest.warns(UserWarning, match="'elementwise_mean' is deprecated"):
        ours = F.mse_loss(rg(x), rg(t), reduction="elementwise_mean")
    assert_same(ours, TF.mse_loss(th(x), th(t)))


def test_loss_module_loads_torch_state_dict(rng):
    w, pw = rng.uniform(0.5, 2, 4), rng.uniform(0.5, 2, 4)
    theirs = tnn.BCEWithLogitsLoss(weight=th(w), pos_weight=th(pw))
    ours = nn.BCEWithLogitsLoss(weight=rg(np.ones(4)), pos_weight=rg(np.ones(4)))
    ours.load_state_dict({k: rg(to_np(v)) for k, v in theirs.state_dict().items()})
    x, y = rng.standard_normal((3, 4)), rng.uniform(0, 1, (3, 4))
    check_op(ours, theirs, [x, y])


def test_broadcast_target_warns_like_torch(rng):
    x, t = rng.standard_normal((3, 4)), rng.standard_normal(4)
    with pytest.warns(UserWarning, match=r"Using a target size \(torch.Size\(\[4\]\)\) that is different"):
        ours = F.mse_loss(rg(x), rg(t))
    with pytest.warns(UserWarning):
        theirs = TF.mse_loss(th(x), th(t))
    assert_same(ours, theirs)


@pytest.mark.parametrize("fname", ["mse_loss", "l1_loss", "huber_loss"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_weighted_regression_losses(fname, reduction, rng):
    x, t = _apart(rng, (3, 4))
    w = rng.uniform(0.1, 2.0, (3, 4))
    check_op(lambda a, b, ww: getattr(F, fname)(a, b, reduction=reduction, weight=ww),
             lambda a, b, ww: getattr(TF, fname)(a, b, reduction=reduction, weight=ww), [x, t, w])
    with pytest.raises(ValueError, match="Weights and input must have the same size"):
        getattr(F, fname)(rg(x), rg(t), weight=rg(w[0]))


def test_gaussian_nll_var_shapes_and_clamp(rng):
    x, t = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    for var in [rng.uniform(0.1, 2, 3), rng.uniform(0.1, 2, (3, 1)), rng.uniform(0.1, 2, (1, 4))]:
        check_op(F.gaussian_nll_loss, TF.gaussian_nll_loss, [x, t, var])
    # var below eps is clamped without autograd: the gradient flows to var as if unclamped
    var = np.array([[1e-9, 0.5, 1.0, 2.0]] * 3)
    check_op(F.gaussian_nll_loss, TF.gaussian_nll_loss, [x, t, var], gradgrad=False)
    check_op(lambda a, b: F.gaussian_nll_loss(a, b, 0.5), lambda a, b: TF.gaussian_nll_loss(a, b, 0.5), [x, t])


# -- modules ---------------------------------------------------------------------------------------
def _w(rng, n):
    return rng.uniform(0.5, 2.0, n)


MODULES = [
    ("L1Loss", {}, "pair"), ("MSELoss", {"reduction": "sum"}, "pair"), ("SmoothL1Loss", {"beta": 0.5}, "pair"),
    ("HuberLoss", {"delta": 0.5, "reduction": "none"}, "pair"), ("CrossEntropyLoss", {"label_smoothing": 0.1},
                                                                 "class"),
    ("CrossEntropyLoss", {"weight": 5, "ignore_index": 1}, "class"), ("NLLLoss", {"weight": 5}, "class"),
    ("BCELoss", {"weight": 5}, "prob"), ("BCEWithLogitsLoss", {"weight": 5, "pos_weight": 5}, "logit"),
    ("KLDivLoss", {"reduction": "batchmean", "log_target": True}, "pair"), ("SoftMarginLoss", {}, "sign"),
    ("MultiLabelSoftMarginLoss", {"weight": 5}, "multilabel"), ("HingeEmbeddingLoss", {"margin": 2.0}, "sign"),
    ("PoissonNLLLoss", {"full": True}, "poisson"), ("GaussianNLLLoss", {"full": True}, "gauss"),
    ("CosineEmbeddingLoss", {"margin": 0.1}, "triple_sign"), ("MarginRankingLoss", {"margin": 0.1}, "rank"),
    ("TripletMarginLoss", {"margin": 0.5, "p": 1.0, "swap": True}, "triple"), ("MultiMarginLoss", {"p": 2}, "class"),
]


def _module_inputs(rng, kind):
    x = rng.standard_normal((4, 5))
    if kind == "pair":
        return list(_apart(rng, (4, 5))), None
    if kind == "class":
        return [x, rng.integers(0, 5, 4)], [0]
    if kind == "prob":
        return [rng.uniform(0.1, 0.9, (4, 5)), rng.uniform(0, 1, (4, 5))], None
    if kind == "logit":
        return [x, rng.uniform(0, 1, (4, 5))], None
    if kind == "sign":
        return [x + 0.05 * np.sign(x), _sign(rng, (4, 5))], [0]
    if kind == "multilabel":
        return [x, rng.integers(0, 2, (4, 5)).astype(np.float64)], None
    if kind == "poisson":
        return [x, rng.uniform(0.05, 4, (4, 5))], None
    if kind == "gauss":
        return [x, rng.standard_normal((4, 5)), rng.uniform(0.1, 2, (4, 5))], None
    if kind == "triple_sign":
        return [x, rng.standard_normal((4, 5)), _sign(rng, 4)], [0, 1]
    if kind == "rank":
        return [x[0], x[0] + rng.uniform(0.3, 1, 5) * _sign(rng, 5), _sign(rng, 5)], None
    return [x, rng.standard_normal((4, 5)), rng.standard_normal((4, 5))], None


@pytest.mark.parametrize("cls,kwargs,kind", MODULES, ids=[f"{m[0]}-{i}" for i, m in enumerate(MODULES)])
def test_loss_module_twins(cls, kwargs, kind, rng):
    tensors = {k: _w(rng, v) for k, v in kwargs.items() if k in ("weight", "pos_weight")}
    kw_ours = {**kwargs, **{k: rg(v) for k, v in tensors.items()}}
    kw_theirs = {**kwargs, **{k: th(v) for k, v in tensors.items()}}
    ours, theirs = getattr(nn, cls)(**kw_ours), getattr(tnn, cls)(**kw_theirs)
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    for k, v in theirs.state_dict().items():
        assert_same(ours.state_dict()[k], v)
    assert [n for n, _ in ours.named_buffers()] == [n for n, _ in theirs.named_buffers()]
    ins, diff = _module_inputs(rng, kind)
    check_op(ours, theirs, ins, diff=diff, gradgrad=cls != "MultiMarginLoss")
    # buffers follow the module's dtype conversion, as in torch
    if tensors:
        ours.float()
        assert all(b.dtype == refgrad.float32 for b in ours.buffers())


def test_loss_module_attributes_match_torch():
    pairs = [(nn.CrossEntropyLoss(ignore_index=3, label_smoothing=0.2), tnn.CrossEntropyLoss(ignore_index=3,
                                                                                          label_smoothing=0.2)),
             (nn.TripletMarginLoss(margin=2.0, p=3, eps=1e-3, swap=True),
              tnn.TripletMarginLoss(margin=2.0, p=3, eps=1e-3, swap=True)),
             (nn.PoissonNLLLoss(False, True, eps=1e-4, reduction="sum"),
              tnn.PoissonNLLLoss(False, True, eps=1e-4, reduction="sum")),
             (nn.GaussianNLLLoss(full=True, eps=1e-3), tnn.GaussianNLLLoss(full=True, eps=1e-3)),
             (nn.HuberLoss("sum", 2.0), tnn.HuberLoss("sum", 2.0)), (nn.BCEWithLogitsLoss(), tnn.BCEWithLogitsLoss())]
    for ours, theirs in pairs:
        for attr in ("reduction", "ignore_index", "label_smoothing", "margin", "p", "eps", "swap", "log_input",
                     "full", "delta", "weight", "pos_weight"):
            if hasattr(theirs, attr):
                assert getattr(ours, attr) == getattr(theirs, attr), attr
    with pytest.raises(ValueError, match="expected margin to be greater than 0"):
        nn.TripletMarginLoss(margin=0.0)
    with pytest.raises(ValueError, match="only p == 1 and p == 2 supported"):
        nn.MultiMarginLoss(p=3)


# -- bad inputs ----------------------------------------------------------------------------------
BAD = [
    ("nll_loss", [np.zeros((3, 4)), np.array([0, 5, 1])], {}, IndexError, "Target 5 is out of bounds"),
    ("cross_entropy", [np.zeros((3, 4)), np.array([0, -1, 1])], {}, IndexError, "Target -1 is out of bounds"),
    ("cross_entropy", [np.zeros((2, 3, 4)), np.array([[0, 7, 1, 1], [0, 0, 0, 0]])], {}, IndexError, "Target 7"),
    ("nll_loss", [np.zeros((3, 4)), np.array([0, 1])], {}, ValueError, r"Expected input batch_size \(3\) to match"),
    ("nll_loss", [np.zeros((3, 4)), np.array([0, 1, 1], np.int32)], {}, RuntimeError, "Long or Byte, but got Int"),
    ("cross_entropy", [np.zeros((3, 4)), np.array([0.0, 1, 1])], {}, RuntimeError, "but got Float|but got Double"),
    ("cross_entropy", [np.zeros((3, 4)), np.zeros((3, 5))], {}, RuntimeError, "multi-target not supported"),
    ("cross_entropy", [np.zeros(()), np.array(0)], {}, RuntimeError, "Expected floating point type for target"),
    ("nll_loss", [np.zeros(()), np.array(0)], {}, ValueError, r"Expected 1 or more dimensions \(got 0\)"),
    ("nll_loss", [np.zeros(3), np.array([0, 1])], {}, ValueError, "For 1D input, 1D target must have size 1"),
    ("nll_loss", [np.zeros((2, 3, 4)), np.zeros((2, 5), np.int64)], {}, RuntimeError, r"Expected target size"),
    ("nll_loss", [np.zeros((3, 4)), np.array([0, 1, 1])], {"weight": np.ones(3)}, RuntimeError,
     "weight tensor should be defined either for all 4 classes"),
    ("cross_entropy", [np.zeros((3, 4)), np.array([0, 1, 1])], {"label_smoothing": 1.5}, RuntimeError,
     "label_smoothing must be between 0.0 and 1.0"),
    ("cross_entropy", [np.zeros((3, 4)), np.zeros((3, 4))], {"ignore_index": 1}, RuntimeError,
     "ignore_index is not supported for floating point target"),
    ("nll_loss", [np.zeros((3, 4)), np.array([0, 1, 1])], {"reduction": "foo"}, ValueError,
     "foo is not a valid value for reduction"),
    ("mse_loss", [np.zeros(3), np.zeros(3)], {"reduction": "avg"}, ValueError, "avg is not a valid value"),
    ("binary_cross_entropy", [np.array([1.5]), np.array([0.5])], {}, RuntimeError, "input should be between 0 and 1"),
    ("binary_cross_entropy", [np.array([0.5]), np.array([-0.5])], {}, RuntimeError, "target should be between 0"),
    ("binary_cross_entropy", [np.zeros((3, 1)) + 0.5, np.zeros(3)], {}, ValueError, "different to the input size"),
    ("binary_cross_entropy", [np.zeros(3) + 0.5, np.zeros(3, np.float32)], {}, RuntimeError,
     "Found dtype Float but expected Double"),
    ("binary_cross_entropy_with_logits", [np.zeros((3, 4)), np.zeros((3, 5))], {}, ValueError,
     "must be the same as input size"),
    # refgrad's broadcast_tensors words this differently from torch (see the report)
    ("mse_loss", [np.zeros(3), np.zeros(4)], {}, RuntimeError, "must match the size of tensor b|cannot be broadcast"),
    ("cross_entropy", [np.zeros((3, 4), np.float32), np.array([0, 1, 2])], {"weight": np.ones(4)}, RuntimeError,
     "expected scalar type Float but found Double"),
    ("nll_loss", [np.zeros((3, 4), np.float32), np.array([0, 1, 2])], {"weight": np.ones(4)}, RuntimeError,
     "expected scalar type Float but found Double"),
    ("smooth_l1_loss", [np.zeros(3), np.zeros(3)], {"beta": -1.0}, RuntimeError, "negative values for beta"),
    ("huber_loss", [np.zeros(3), np.zeros(3)], {"delta": 0.0}, RuntimeError, "non-positive values for delta"),
    ("cosine_embedding_loss", [np.zeros((3, 4)), np.zeros((3, 4)), np.ones((3, 1))], {}, RuntimeError,
     "multi-target not supported"),
    ("cosine_embedding_loss", [np.zeros((3, 4)), np.zeros((3, 4)), np.ones(())], {}, RuntimeError,
     "0D target tensor expects 1D input tensors"),
    ("cosine_embedding_loss", [np.zeros(4), np.zeros(4), np.ones(3)], {}, RuntimeError,
     "1D target tensor expects 2D input tensors"),
    ("margin_ranking_loss", [np.zeros(3), np.zeros(3), np.ones((3, 1))], {}, RuntimeError,
     "All input tensors should have same dimension"),
    ("triplet_margin_loss", [np.zeros((3, 4)), np.zeros((3, 4)), np.zeros(4)], {}, RuntimeError,
     "anchor 2D, positive 2D, and negative 1D inputs"),
    ("triplet_margin_loss", [np.zeros((3, 4))] * 3, {"margin": 0.0}, ValueError, "margin must be greater than 0"),
    ("gaussian_nll_loss", [np.zeros((3, 4)), np.zeros((3, 4)), np.ones((3, 2))], {}, ValueError,
     "var is of incorrect size"),
    ("gaussian_nll_loss", [np.zeros((3, 4)), np.zeros((3, 4)), -np.ones((3, 4))], {}, ValueError,
     "var has negative entry"),
    ("gaussian_nll_loss", [np.zeros(3), np.zeros(3), np.ones(3)], {"reduction": "avg"}, ValueError, "avg is not valid"),
    ("multilabel_soft_margin_loss", [np.zeros((3, 4)), np.zeros((3, 4))], {"reduction": "avg"}, ValueError,
     "avg is not valid"),
    ("multi_margin_loss", [np.zeros((3, 4)), np.array([0, 1, 5])], {}, RuntimeError, "target out of range"),
    ("multi_margin_loss", [np.zeros((3, 4)), np.array([0, 1, 1])], {"p": 3}, ValueError, "only p == 1 and p == 2"),
]


@pytest.mark.parametrize("fn,arrays,kw,exc,msg", BAD, ids=[f"{b[0]}-{i}" for i, b in enumerate(BAD)])
def test_bad_inputs_raise_like_torch(fn, arrays, kw, exc, msg):
    kw_o = {k: rg(v) if isinstance(v, np.ndarray) else v for k, v in kw.items()}
    kw_t = {k: th(v) if isinstance(v, np.ndarray) else v for k, v in kw.items()}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # the broadcast warning before mse's error (tested above)
        with pytest.raises(exc, match=msg):
            getattr(F, fn)(*[rg(a) for a in arrays], **kw_o)
        with pytest.raises(exc):
            getattr(TF, fn)(*[th(a) for a in arrays], **kw_t)


@pytest.mark.parametrize("fn,argname", [("nll_loss", "weight"), ("cross_entropy", "weight"),
                                        ("binary_cross_entropy", "weight"),
                                        ("binary_cross_entropy_with_logits", "weight"),
                                        ("binary_cross_entropy_with_logits", "pos_weight")])
def test_non_differentiable_weights_raise(fn, argname):
    if fn.startswith("binary"):
        x, t = np.full((2, 3), 0.5), np.full((2, 3), 0.5)
    else:
        x, t = np.zeros((2, 3)), np.array([0, 2])
    w = rg(np.ones(3), requires_grad=True)
    with pytest.raises(RuntimeError, match=f"not differentiable with respect to argument '{argname}'"):
        getattr(F, fn)(rg(x), rg(t), **{argname: w})
    with pytest.raises(RuntimeError, match=f"not differentiable with respect to argument '{argname}'"):
        getattr(TF, fn)(th(x), th(t), **{argname: th(np.ones(3), requires_grad=True)})
    with refgrad.no_grad():
        getattr(F, fn)(rg(x), rg(t), **{argname: w})  # fine without a graph
