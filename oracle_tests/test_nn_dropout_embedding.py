"""Dropout (functional and modules), embedding, one_hot, distances and scaled_dot_product_attention against
torch. Dropout masks come from refgrad's generator (torch's differ): the deterministic cases (p = 0, p = 1,
eval) are compared with torch, the random ones by their statistics, their exact structure (kept values scaled,
whole channels) and a gradient that uses the forward's mask."""
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

from .helpers import assert_same, check_op, rg, th, to_np

DTYPES = [np.float32, np.float64]
_ALPHA = 1.7580993408473766


# -- dropout ----------------------------------------------------------------------------------------
def _positive(rng, shape, dtype=np.float32):
    return rng.uniform(0.5, 2.0, shape).astype(dtype)


@pytest.mark.parametrize("p", [0.2, 0.5, 0.9])
@pytest.mark.parametrize("dtype", DTYPES)
def test_dropout_scales_kept_values_and_backprops_through_the_same_mask(p, dtype, rng):
    x = _positive(rng, (200, 50), dtype)
    xr = rg(x, requires_grad=True)
    y = F.dropout(xr, p)
    assert y.grad_fn.name() == "MulBackward0" and y.dtype == xr.dtype
    yv = to_np(y)
    kept = yv != 0
    np.testing.assert_allclose(yv[kept], x[kept] / (1 - p), rtol=1e-6)
    assert abs(kept.mean() - (1 - p)) < 0.02  # 10000 Bernoulli draws: 5 sigma is < 0.025
    cot = rng.standard_normal(x.shape).astype(dtype)
    (g,) = refgrad.autograd.grad(y, xr, rg(cot))
    np.testing.assert_allclose(to_np(g), np.where(kept, cot / (1 - p), 0), rtol=1e-6)


def test_dropout_deterministic_cases_match_torch(rng):
    x = rng.standard_normal((3, 4)).astype(np.float32)
    for fr, ft in [(F.dropout, TF.dropout), (F.alpha_dropout, TF.alpha_dropout),
                   (F.feature_alpha_dropout, TF.feature_alpha_dropout), (F.dropout1d, TF.dropout1d)]:
        xr = rg(x, requires_grad=True)
        if fr is not F.dropout1d:  # (dropout1d of an unbatched input returns a view)
            assert fr(xr, 0.5, training=False) is xr  # torch returns the input itself
            assert fr(xr, 0.0, training=True) is xr
        assert_same(fr(xr, 0.5, training=False), ft(th(x), 0.5, training=False))
        check_op(lambda t, fr=fr: fr(t, 1.0, training=True), lambda t, ft=ft: ft(t, 1.0, training=True), [x])
    with pytest.warns(UserWarning, match="Received a 3D input to dropout2d"):
        check_op(lambda t: F.dropout2d(t, 1.0), lambda t: TF.dropout2d(t, 1.0), [x[None]])


def test_dropout_is_reproducible_under_manual_seed(rng):
    x = rg(_positive(rng, (10, 10)))
    refgrad.manual_seed(123)
    a = to_np(F.dropout(x, 0.5))
    refgrad.manual_seed(123)
    b = to_np(F.dropout(x, 0.5))
    c = to_np(F.dropout(x, 0.5))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(b, c)


@pytest.mark.parametrize("fn,shape,chan", [(F.dropout1d, (30, 20, 5), 2), (F.dropout1d, (400, 5), 1),
                                           (F.dropout2d, (30, 20, 2, 3), 2), (F.dropout3d, (30, 20, 2, 2, 2), 2),
                                           (F.dropout3d, (400, 2, 2, 2), 1)])
def test_feature_dropout_drops_whole_channels(fn, shape, chan, rng):
    x = _positive(rng, shape)
    xr = rg(x, requires_grad=True)
    y = to_np(fn(xr, 0.4))
    kept = (y != 0).reshape(y.shape[:chan] + (-1,))
    assert (kept.all(-1) | ~kept.any(-1)).all()  # a channel is kept or dropped as a whole
    assert abs(kept[..., 0].mean() - 0.6) < 0.1  # >= 400 channels: 0.1 is 4 sigma
    np.testing.assert_allclose(y[y != 0], x[y != 0] / 0.6, rtol=1e-6)


def test_alpha_dropout_keeps_selu_statistics_and_uses_torchs_affine_maps(rng):
    p = 0.3
    x = rng.standard_normal((400, 250))
    xr = rg(x, requires_grad=True)
    y = F.alpha_dropout(xr, p, training=True)
    a = 1.0 / math.sqrt((_ALPHA ** 2 * p + 1) * (1 - p))
    yv = to_np(y)
    dropped_value = -_ALPHA * a + _ALPHA * a * p
    dropped = np.isclose(yv, dropped_value, rtol=0, atol=1e-12)
    np.testing.assert_allclose(yv[~dropped], a * x[~dropped] + _ALPHA * a * p, rtol=1e-12)
    assert abs(dropped.mean() - p) < 0.01
    assert abs(yv.mean()) < 0.02 and abs(yv.std() - 1) < 0.02
    cot = rng.standard_normal(x.shape)
    (g,) = refgrad.autograd.grad(y, xr, rg(cot))
    np.testing.assert_allclose(to_np(g), np.where(dropped, 0, a * cot), rtol=1e-12)
    yf = to_np(F.feature_alpha_dropout(rg(x.reshape(400, 250, 1) + 5), p, True))
    assert ((yf == dropped_value).all(-1) | (yf != dropped_value).all(-1)).all()


def test_dropout_inplace_writes_into_input(rng):
    x = _positive(rng, (50, 20))
    leaf = rg(x, requires_grad=True)
    y = leaf * 1.0
    r = F.dropout(y, 0.5, inplace=True)
    assert r is y and y._version == 1
    cot = rng.standard_normal(x.shape).astype(np.float32)
    r.backward(rg(cot))
    kept = to_np(y) != 0
    np.testing.assert_allclose(to_np(leaf.grad), np.where(kept, cot * 2, 0), rtol=1e-6)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        F.dropout(leaf, 0.5, inplace=True)


DROPOUT_MODULES = {"Dropout": 5, "Dropout1d": 3, "Dropout2d": 4, "Dropout3d": 5, "AlphaDropout": 2,
                   "FeatureAlphaDropout": 5}


@pytest.mark.parametrize("name", list(DROPOUT_MODULES))
def test_dropout_modules_repr_train_and_eval(name, rng):
    r, t = getattr(nn, name)(0.3, True), getattr(torch.nn, name)(0.3, True)
    assert repr(r) == repr(t) and repr(getattr(nn, name)()) == repr(getattr(torch.nn, name)())
    r.eval()
    x = rg(rng.standard_normal((4, 3, 2, 2, 2)[:DROPOUT_MODULES[name]]).astype(np.float32))
    assert r(x) is x
    r.train()
    y = r(x * 1.0)
    assert not np.array_equal(to_np(y), to_np(x))
    with pytest.raises(ValueError, match="dropout probability has to be between 0 and 1, but got 1.5"):
        getattr(nn, name)(1.5)


def test_dropout_bad_inputs_raise_like_torch():
    with pytest.raises(ValueError, match="dropout probability has to be between 0 and 1, but got -0.1"):
        F.dropout(refgrad.ones(2), -0.1)
    with pytest.raises(RuntimeError, match="dropout1d: Expected 2D or 3D input, but received a 4D input"):
        F.dropout1d(refgrad.ones(2, 2, 2, 2))
    with pytest.raises(RuntimeError, match="dropout1d: Expected 2D or 3D input, but received a 4D input"):
        TF.dropout1d(torch.ones(2, 2, 2, 2))
    with pytest.warns(UserWarning, match="Received a 2-D input to dropout2d"):
        F.dropout2d(refgrad.ones(2, 2))


# -- embedding --------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("padding_idx", [None, 2, -1])
@pytest.mark.parametrize("freq", [False, True])
@given(idx_shape=st.lists(st.integers(0, 4), max_size=2).map(tuple), seed=st.integers(0, 2**16))
def test_embedding_matches_torch(dtype, padding_idx, freq, idx_shape, seed):
    rng = np.random.default_rng(seed)
    w = rng.standard_normal((6, 3)).astype(dtype)
    idx = rng.integers(0, 6, idx_shape)
    check_op(lambda w: F.embedding(rg(idx), w, padding_idx, scale_grad_by_freq=freq),
             lambda w: TF.embedding(th(idx), w, padding_idx, scale_grad_by_freq=freq), [w], seed=seed)


@pytest.mark.parametrize("freq", [False, True])
def test_embedding_padding_row_gets_no_gradient_and_double_backward(freq, rng):
    w = rng.standard_normal((5, 4))
    idx = np.array([[0, 2, 2], [4, 0, 1]])
    wr, wt = rg(w, requires_grad=True), th(w, requires_grad=True)
    yr, yt = F.embedding(rg(idx), wr, 2, scale_grad_by_freq=freq), TF.embedding(th(idx), wt, 2,
                                                                                 scale_grad_by_freq=freq)
    assert yr.grad_fn.name() == yt.grad_fn.name() == "EmbeddingBackward0"
    cot = rng.standard_normal((2, 3, 4))
    cr, ct = rg(cot, requires_grad=True), th(cot, requires_grad=True)
    (gr,), (gt,) = refgrad.autograd.grad(yr, wr, cr, create_graph=True), torch.autograd.grad(yt, wt, ct,
                                                                                                create_graph=True)
    assert_same(gr, gt)
    assert not to_np(gr)[2].any()
    cot2 = rng.standard_normal((5, 4))
    (ggr,) = refgrad.autograd.grad(gr, cr, rg(cot2))
    if not freq:
        assert_same(ggr, torch.autograd.grad(gt, ct, th(cot2))[0])
    else:
        # the weight gradient is linear in the cotangent with coefficient 1/count (0 at padding_idx): its
        # derivative keeps that factor. torch's embedding_dense_double_backward drops it (a documented divergence)
        counts = np.bincount(idx.reshape(-1), minlength=5)
        expect = cot2[idx] * np.where(idx == 2, 0, 1 / counts[idx])[..., None]
        np.testing.assert_allclose(to_np(ggr), expect, rtol=1e-12)


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, math.inf])
def test_embedding_max_norm_renormalizes_weight_in_place_like_torch(norm_type, rng):
    w = rng.standard_normal((6, 4)) * 2
    idx = np.array([[0, 3, 3], [5, 1, 0]])
    wr, wt = rg(w, requires_grad=True), th(w, requires_grad=True)
    v = wr._version
    yr = F.embedding(rg(idx), wr, max_norm=1.5, norm_type=norm_type)
    yt = TF.embedding(th(idx), wt, max_norm=1.5, norm_type=norm_type)
    assert_same(yr, yt)
    assert_same(wr.detach(), wt.detach())  # rows 0, 1, 3, 5 renormalized, rows 2, 4 untouched
    assert wr._version > v
    np.testing.assert_array_equal(to_np(wr)[[2, 4]], w[[2, 4]])
    cot = rng.standard_normal(yt.shape)
    yr.backward(rg(cot))
    yt.backward(th(cot))
    assert_same(wr.grad, wt.grad)


def test_embedding_module_matches_torch(rng):
    r, t = nn.Embedding(7, 3, padding_idx=-2), torch.nn.Embedding(7, 3, padding_idx=-2)
    assert repr(r) == repr(t) == "Embedding(7, 3, padding_idx=5)"
    assert not to_np(r.weight)[5].any() and to_np(r.weight).std() > 0.3  # N(0, 1) with the padding row zeroed
    for kw in [{"max_norm": 1.0, "norm_type": 1.0, "scale_grad_by_freq": True}, {}]:
        assert repr(nn.Embedding(4, 2, **kw)) == repr(torch.nn.Embedding(4, 2, **kw))
    assert list(r.state_dict()) == list(t.state_dict()) == ["weight"]
    r.load_state_dict({"weight": t.weight.detach().numpy()})
    idx = rng.integers(0, 7, (3, 4))
    yr, yt = r(rg(idx)), t(th(idx))
    assert_same(yr, yt)
    cot = rng.standard_normal((3, 4, 3)).astype(np.float32)
    yr.backward(rg(cot))
    yt.backward(th(cot))
    assert_same(r.weight.grad, t.weight.grad)


def test_embedding_from_pretrained_freeze_and_padding(rng):
    w = rng.standard_normal((4, 2)).astype(np.float32)
    r = nn.Embedding.from_pretrained(rg(w))
    t = torch.nn.Embedding.from_pretrained(th(w))
    assert not r.weight.requires_grad and repr(r) == repr(t)
    r2 = nn.Embedding.from_pretrained(rg(w), freeze=False, padding_idx=1)
    assert r2.weight.requires_grad and r2.padding_idx == 1
    np.testing.assert_array_equal(to_np(r2.weight), w)  # the given padding row is kept, as torch
    y = r2(rg(np.array([1, 1, 3])))
    y.backward(rg(np.ones((3, 2), np.float32) * [1.0, -2.0]))
    assert not to_np(r2.weight.grad)[1].any()


def test_embedding_bad_inputs_raise_like_torch():
    w = refgrad.ones(4, 2)
    with pytest.raises(AssertionError, match="Padding_idx must be within num_embeddings"):
        F.embedding(refgrad.tensor([0]), w, padding_idx=4)
    with pytest.raises(AssertionError, match="Padding_idx must be within num_embeddings"):
        nn.Embedding(4, 2, padding_idx=-5)
    with pytest.raises(IndexError, match="index out of range in self"):
        F.embedding(refgrad.tensor([4]), w)
    with pytest.raises(IndexError, match="index out of range in self"):
        TF.embedding(torch.tensor([4]), torch.ones(4, 2))
    with pytest.raises(RuntimeError, match="Expected tensor for argument #1 'indices' to have one of the following"):
        F.embedding(refgrad.tensor([0.0]), w)
    with pytest.raises(AssertionError, match="Embeddings parameter is expected to be 2-dimensional"):
        nn.Embedding.from_pretrained(refgrad.ones(3))


@pytest.mark.parametrize("mode,layout", [(m, lay) for m in ("sum", "mean", "max")
                                         for lay in ("2d", "offsets", "last_offset")] + [("sum", "psw")])
@pytest.mark.parametrize("padding_idx", [None, 3])
def test_embedding_bag_matches_torch(mode, layout, padding_idx, rng):
    w = rng.standard_normal((6, 3))
    if layout == "2d":
        idx, off = rng.integers(0, 6, (4, 3)), None
        idx[1] = 3  # a bag of padding only
    else:
        idx, off = rng.integers(0, 6, 9), np.array([0, 2, 2, 5])  # bag 1 is empty
        if layout == "last_offset":
            off = np.append(off, 8)
    psw = rng.standard_normal(idx.shape) if layout == "psw" else None

    def run(lib, fn, w, *psw):
        t = rg if lib is refgrad else th
        return fn(t(idx), w, None if off is None else t(off), mode=mode, padding_idx=padding_idx,
                  include_last_offset=layout == "last_offset", per_sample_weights=psw[0] if psw else None)

    inputs = [w] if psw is None else [w, psw]
    check_op(lambda *a: run(refgrad, F.embedding_bag, *a), lambda *a: run(torch, TF.embedding_bag, *a), inputs,
             gradgrad=False)


def test_embedding_bag_module_and_errors(rng):
    r, t = nn.EmbeddingBag(5, 2, mode="max", padding_idx=-1), torch.nn.EmbeddingBag(5, 2, mode="max", padding_idx=-1)
    assert repr(r) == repr(t)
    assert list(r.state_dict()) == list(t.state_dict())
    r.load_state_dict({"weight": t.weight.detach().numpy()})
    idx = rng.integers(0, 5, (3, 4))
    assert_same(r(rg(idx)), t(th(idx)))
    w = rg(rng.standard_normal((4, 2)).astype(np.float32))
    bag = nn.EmbeddingBag.from_pretrained(w, mode="sum")
    assert not bag.weight.requires_grad and repr(bag) == "EmbeddingBag(4, 2, mode='sum')"
    with pytest.raises(ValueError, match="offsets has to be a 1D Tensor but got None"):
        F.embedding_bag(refgrad.tensor([0, 1]), w)
    with pytest.raises(ValueError, match="if input is 2D, then offsets has to be None"):
        F.embedding_bag(refgrad.tensor([[0, 1]]), w, refgrad.tensor([0]))
    with pytest.raises(NotImplementedError, match="per_sample_weights is only supported for mode='sum'"):
        F.embedding_bag(refgrad.tensor([[0, 1]]), w, per_sample_weights=refgrad.ones(1, 2))
    with pytest.raises(RuntimeError, match="offsets\\[0\\] has to be 0"):
        F.embedding_bag(refgrad.tensor([0, 1]), w, refgrad.tensor([1]))


# -- one_hot ----------------------------------------------------------------------------------------
def test_one_hot_matches_torch(rng):
    a = rng.integers(0, 5, (3, 4))
    assert_same(F.one_hot(rg(a)), TF.one_hot(th(a)))
    assert_same(F.one_hot(rg(a), 7), TF.one_hot(th(a), 7))
    assert_same(F.one_hot(rg(np.array(2)), 3), TF.one_hot(th(np.array(2)), 3))
    assert_same(F.one_hot(rg(np.zeros(0, np.int64)), 3), TF.one_hot(th(np.zeros(0, np.int64)), 3))
    for bad, msg in [((np.array([-1]), -1), "Class values must be non-negative"),
                     ((np.array([3]), 3), "Class values must be smaller than num_classes"),
                     ((np.zeros(0, np.int64), -1), "Can not infer total number of classes from empty tensor"),
                     ((np.array([1.0]), -1), "one_hot is only applicable to index tensor")]:
        with pytest.raises(RuntimeError, match=msg):
            F.one_hot(rg(bad[0]), bad[1])
        with pytest.raises(RuntimeError, match=msg):
            TF.one_hot(th(bad[0]), bad[1])


# -- distances ------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("p,dim", [(2.0, 1), (1.0, -1), (3.0, 0)])
def test_normalize_matches_torch(dtype, p, dim, rng):
    x = rng.standard_normal((3, 4, 2)).astype(dtype)
    x[0, :, 0] = 0.0 if dim == 1 else x[0, :, 0]  # a zero vector: the eps clamp
    check_op(lambda x: F.normalize(x, p, dim), lambda x: TF.normalize(x, p, dim), [x])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shapes,dim", [(((4, 3), (4, 3)), 1), (((2, 3, 5), (3, 5)), -1), (((5, 1), (5, 4)), 0)])
def test_cosine_similarity_matches_torch(dtype, shapes, dim, rng):
    a, b = (rng.standard_normal(s).astype(dtype) for s in shapes)
    check_op(lambda a, b: F.cosine_similarity(a, b, dim), lambda a, b: TF.cosine_similarity(a, b, dim), [a, b])
    a[0] = 1e-10  # a norm below eps: clamped in value, the gradient flows as if unclamped (torch's no_grad clamp)
    check_op(lambda a, b: F.cosine_similarity(a, b, dim, 1e-3), lambda a, b: TF.cosine_similarity(a, b, dim, 1e-3),
             [a, b])


@pytest.mark.parametrize("p", [2.0, 1.0, 3.0, math.inf])
@pytest.mark.parametrize("shapes", [((4, 3), (4, 3)), ((2, 4, 3), (4, 3)), ((5,), (5,))])
def test_pairwise_distance_matches_torch(p, shapes, rng):
    a, b = (rng.standard_normal(s) for s in shapes)
    for keepdim in (False, True):
        check_op(lambda a, b, k=keepdim: F.pairwise_distance(a, b, p, keepdim=k),
                 lambda a, b, k=keepdim: TF.pairwise_distance(a, b, p, keepdim=k), [a, b])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("p", [2.0, 1.0, 0.5, 3.0, math.inf, 0.0])
@given(seed=st.integers(0, 2**16), p_rows=st.integers(1, 4), r_rows=st.integers(1, 4),
       batch=st.sampled_from([(), (2,), (2, 1)]))
def test_cdist_matches_torch(dtype, p, seed, p_rows, r_rows, batch):
    rng = np.random.default_rng(seed)
    a = rng.standard_normal(batch + (p_rows, 3)).astype(dtype)
    b = rng.standard_normal((r_rows, 3)).astype(dtype)
    b = np.broadcast_to(b, batch[:-1] + (r_rows, 3)).copy() if batch else b
    # torch's cdist has no double backward (_cdist_backward is not differentiable): checked against FD below
    check_op(lambda a, b: F.cdist(a, b, p), lambda a, b: torch.cdist(a, b, p), [a, b], seed=seed, gradgrad=False,
             **({"rtol": 1e-5, "atol": 1e-5, "grad_rtol": 1e-4, "grad_atol": 1e-4} if dtype == np.float32 else {}))


@pytest.mark.parametrize("p", [2.0, 1.5, 3.0])
def test_cdist_double_backward_matches_finite_differences(p, rng):
    a = rg(rng.standard_normal((2, 3, 4)), requires_grad=True)
    b = rg(rng.standard_normal((2, 5, 4)), requires_grad=True)
    assert refgrad.autograd.gradgradcheck(lambda a, b: F.cdist(a, b, p), (a, b))


@pytest.mark.parametrize("mode", ["use_mm_for_euclid_dist_if_necessary", "use_mm_for_euclid_dist",
                                  "donot_use_mm_for_euclid_dist"])
def test_cdist_matmul_path_matches_torch(mode, rng):
    a, b = rng.standard_normal((2, 30, 4)), rng.standard_normal((2, 27, 4))
    check_op(lambda a, b: F.cdist(a, b, compute_mode=mode), lambda a, b: torch.cdist(a, b, compute_mode=mode),
             [a, b], gradgrad=False)
    with pytest.raises(ValueError, match="is not a valid value for compute_mode"):
        F.cdist(rg(a), rg(b), compute_mode="fast")
    with pytest.raises(RuntimeError, match="X1 and X2 must have the same number of columns. X1: 4 X2: 3"):
        F.cdist(rg(a), rg(b[..., :3]))
    with pytest.raises(RuntimeError, match="cdist only supports at least 2D tensors, X1 got: 1D"):
        F.cdist(rg(a[0, 0]), rg(b))


# -- attention ------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", ["plain", "causal", "bool_mask", "float_mask", "scale", "dead_row", "gqa",
                                  "causal_rect"])
def test_scaled_dot_product_attention_matches_torch(dtype, case, rng):
    q = rng.standard_normal((2, 4, 5, 8)).astype(dtype)
    k = rng.standard_normal((2, 4, 6 if case == "causal_rect" else 5, 8)).astype(dtype)
    v = rng.standard_normal(k.shape[:-1] + (3,)).astype(dtype)
    kw = {}
    if case in ("causal", "causal_rect"):
        kw["is_causal"] = True
    elif case in ("bool_mask", "dead_row"):
        m = rng.random((5, 5)) < 0.7
        m[:, 0] = True
        if case == "dead_row":
            m[2] = False
        kw["attn_mask"] = m
    elif case == "float_mask":
        kw["attn_mask"] = rng.standard_normal((4, 5, 5)).astype(dtype)
    elif case == "scale":
        kw["scale"] = 0.7
    elif case == "gqa":
        k, v = k[:, :2], v[:, :2]
        kw["enable_gqa"] = True
    mask = kw.pop("attn_mask", None)

    def run(lib, fn, q, k, v):
        m = None if mask is None else (rg if lib is refgrad else th)(mask)
        return fn(q, k, v, attn_mask=m, **kw)

    check_op(lambda q, k, v: run(refgrad, F.scaled_dot_product_attention, q, k, v),
             lambda q, k, v: run(torch, TF.scaled_dot_product_attention, q, k, v), [q, k, v],
             rtol=1e-5 if dtype == np.float32 else None, atol=1e-5 if dtype == np.float32 else None,
             grad_rtol=1e-4 if dtype == np.float32 else None, grad_atol=1e-4 if dtype == np.float32 else None)


def test_sdpa_dropout_and_errors(rng):
    q = rg(rng.standard_normal((2, 3, 4)))
    refgrad.manual_seed(0)
    a = F.scaled_dot_product_attention(q, q, q, dropout_p=0.5)
    refgrad.manual_seed(0)
    b = F.scaled_dot_product_attention(q, q, q, dropout_p=0.5)
    np.testing.assert_array_equal(to_np(a), to_np(b))
    assert not np.allclose(to_np(a), to_np(F.scaled_dot_product_attention(q, q, q)))
    with pytest.raises(RuntimeError, match="Explicit attn_mask should not be set when is_causal=True"):
        F.scaled_dot_product_attention(q, q, q, attn_mask=refgrad.ones(3, 3, dtype=refgrad.bool), is_causal=True)


def test_distances_on_device(device, rng):
    a, b = rng.standard_normal((3, 4)).astype(np.float32), rng.standard_normal((5, 4)).astype(np.float32)
    check_op(lambda a, b: F.cdist(a, b), lambda a, b: torch.cdist(a, b), [a, b], device=device, gradgrad=False)
    check_op(lambda a: F.normalize(a), lambda a: TF.normalize(a), [a], device=device)
    w = rng.standard_normal((6, 3)).astype(np.float32)
    idx = np.array([[0, 5], [2, 2]])
    check_op(lambda w: F.embedding(rg(idx, device), w, 2), lambda w: TF.embedding(th(idx, device), w, 2), [w],
             device=device)
