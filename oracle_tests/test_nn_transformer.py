"""MultiheadAttention, Transformer encoder/decoder layers and stacks, and the MLP block against torch twins: the
torch module's (randomized) state_dict is loaded into the refgrad one, then outputs, attention weights (averaged
and per head), input and parameter gradients with random cotangents are compared, in eval mode (dropout off) and
in train mode with dropout=0; float32/float64, bool and float masks, key padding masks, is_causal, batch_first and
norm_first both ways. torch's fused fast path is switched off (torch.backends.mha.set_fastpath_enabled(False)):
refgrad always computes the reference path, and the fast path's numerics/nested tensors differ slightly."""
import types

import numpy as np
import pytest
import torch
from torch.nn.attention import SDPBackend, sdpa_kernel

import refgrad
import refgrad.nn as rnn
import refgrad.nn.functional as F
from refgrad.nn.modules import transformer as rtf
from refgrad.nn.modules.mlp import MLP

from .helpers import assert_same, check_op, to_np

TOL = {np.float32: (2e-4, 2e-5), np.float64: (1e-9, 1e-10)}

# the refgrad classes under torch.nn's names, so one builder makes both twins
RNN = types.SimpleNamespace(MultiheadAttention=rtf.MultiheadAttention,
                            TransformerEncoderLayer=rtf.TransformerEncoderLayer,
                            TransformerEncoder=rtf.TransformerEncoder,
                            TransformerDecoderLayer=rtf.TransformerDecoderLayer,
                            TransformerDecoder=rtf.TransformerDecoder, LayerNorm=rnn.LayerNorm, Linear=rnn.Linear,
                            ReLU=rnn.ReLU, SiLU=rnn.SiLU, Dropout=rnn.Dropout, Sequential=rnn.Sequential,
                            functional=F)
TNN = torch.nn


@pytest.fixture(autouse=True)
def _no_fastpath():
    before = torch.backends.mha.get_fastpath_enabled()
    torch.backends.mha.set_fastpath_enabled(False)
    yield
    torch.backends.mha.set_fastpath_enabled(before)


def _twin(build, dtype, rng, train=False):
    """build(nn, dtype) for torch and refgrad; torch's parameters randomized, then loaded into refgrad."""
    name = np.dtype(dtype).name
    t = build(TNN, getattr(torch, name))
    with torch.no_grad():
        for p in t.parameters():
            p.copy_(torch.tensor(rng.standard_normal(tuple(p.shape)) * 0.4))
    r = build(RNN, getattr(refgrad, name))
    assert list(r.state_dict()) == list(t.state_dict())
    r.load_state_dict({k: refgrad.tensor(to_np(v)) for k, v in t.state_dict().items()})
    r.train(train)
    t.train(train)
    return r, t


def _compare(r, t, call, inputs, dtype, rng):
    """call(module, input_tensors, lib) -> tuple of outputs (None allowed); compares values and gradients."""
    rtol, atol = TOL[dtype]
    rin = [refgrad.tensor(x).requires_grad_(True) for x in inputs]
    tin = [torch.tensor(x).requires_grad_(True) for x in inputs]
    ro, to = call(r, rin, refgrad), call(t, tin, torch)
    assert_same(ro, to, rtol, atol, "forward")
    cots = [None if o is None else rng.standard_normal(tuple(o.shape)).astype(dtype) for o in to]
    sum(((o * refgrad.tensor(c)).sum() for o, c in zip(ro, cots) if c is not None)).backward()
    sum(((o * torch.tensor(c)).sum() for o, c in zip(to, cots) if c is not None)).backward()
    for i, (a, b) in enumerate(zip(rin, tin)):
        assert_same(a.grad, b.grad, rtol, atol, f"input grad {i}")
    tp = dict(t.named_parameters())
    for n, p in r.named_parameters():
        assert_same(p.grad, tp[n].grad, rtol, atol, f"grad of {n}")
    return ro, to


def _bool_mask(rng, shape, p=0.3):
    m = rng.random(shape) < p
    m[..., 0] = False  # never mask a whole row (torch's weights would be NaN there)
    return m


E, H, L, S, B = 8, 2, 4, 5, 3


# -- MultiheadAttention ---------------------------------------------------------------------------------------
MASKS = ["none", "bool_attn_kpm", "float_attn3d", "kpm", "float_attn_bool_kpm"]


def _masks(kind, rng, dtype):
    am = kpm = None
    if kind == "bool_attn_kpm":
        am, kpm = _bool_mask(rng, (L, S)), _bool_mask(rng, (B, S))
    elif kind == "float_attn3d":
        am = rng.standard_normal((B * H, L, S)).astype(dtype)
    elif kind == "kpm":
        kpm = _bool_mask(rng, (B, S))
    elif kind == "float_attn_bool_kpm":
        am = rng.standard_normal((L, S)).astype(dtype)
        kpm = np.where(_bool_mask(rng, (B, S)), -np.inf, 0.0).astype(dtype)  # float kpm: same type as attn_mask
    return am, kpm


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("weights", ["none", "avg", "per_head"])
@pytest.mark.parametrize("masks", MASKS)
def test_mha_matches_torch(dtype, batch_first, weights, masks, rng):
    train = masks in ("none", "kpm")  # train mode with dropout=0 must equal eval mode
    r, t = _twin(lambda nn, dt: nn.MultiheadAttention(E, H, dropout=0.0, batch_first=batch_first, dtype=dt),
                 dtype, rng, train=train)
    am, kpm = _masks(masks, rng, dtype)
    q, k, v = (rng.standard_normal((L, B, E) if i == 0 else (S, B, E)).astype(dtype) for i in range(3))
    if batch_first:
        q, k, v = (x.transpose(1, 0, 2).copy() for x in (q, k, v))

    def call(m, ins, lib):
        return m(*ins, key_padding_mask=None if kpm is None else lib.tensor(kpm),
                 attn_mask=None if am is None else lib.tensor(am), need_weights=weights != "none",
                 average_attn_weights=weights == "avg")

    ro, _ = _compare(r, t, call, [q, k, v], dtype, rng)
    if weights == "per_head":
        assert tuple(ro[1].shape) == (B, H, L, S)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("need_weights", [False, True])
def test_mha_self_attention_shared_tensor_and_unbatched(dtype, need_weights, rng):
    r, t = _twin(lambda nn, dt: nn.MultiheadAttention(E, H, batch_first=True, dtype=dt), dtype, rng)
    x = rng.standard_normal((B, L, E)).astype(dtype)
    _compare(r, t, lambda m, ins, lib: m(ins[0], ins[0], ins[0], need_weights=need_weights), [x], dtype, rng)
    # unbatched (L, E) input: batch_first is ignored, masks lose their batch dim
    kpm = _bool_mask(rng, (L,))
    am = _bool_mask(rng, (H, L, L))  # bool, like the key padding mask
    _compare(r, t, lambda m, ins, lib: m(ins[0], ins[0], ins[0], key_padding_mask=lib.tensor(kpm),
                                         attn_mask=lib.tensor(am), need_weights=need_weights),
             [x[0]], dtype, rng)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("need_weights", [False, True])
@pytest.mark.parametrize("with_kpm", [False, True])
def test_mha_is_causal(dtype, need_weights, with_kpm, rng):
    r, t = _twin(lambda nn, dt: nn.MultiheadAttention(E, H, dtype=dt), dtype, rng)
    x = rng.standard_normal((L, B, E)).astype(dtype)
    causal = np.triu(np.full((L, L), -np.inf), 1).astype(dtype)
    kpm = np.where(_bool_mask(rng, (B, L)), -np.inf, 0.0).astype(dtype) if with_kpm else None

    def call(m, ins, lib):
        return m(ins[0], ins[0], ins[0], attn_mask=lib.tensor(causal), is_causal=True, need_weights=need_weights,
                 key_padding_mask=None if kpm is None else lib.tensor(kpm))

    ro, _ = _compare(r, t, call, [x], dtype, rng)
    if need_weights:  # causal: nothing attends to the future
        assert np.all(np.triu(to_np(ro[1]), 1) == 0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("bias", [False, True])
def test_mha_kdim_vdim_bias_kv_zero_attn(dtype, bias, rng):
    def build(nn, dt):
        return nn.MultiheadAttention(E, H, bias=bias, add_bias_kv=True, add_zero_attn=True, kdim=6, vdim=3,
                                     dtype=dt)

    r, t = _twin(build, dtype, rng)
    assert r.in_proj_weight is None and tuple(r.k_proj_weight.shape) == (E, 6)
    q = rng.standard_normal((L, B, E)).astype(dtype)
    k = rng.standard_normal((S, B, 6)).astype(dtype)
    v = rng.standard_normal((S, B, 3)).astype(dtype)
    am, kpm = _bool_mask(rng, (L, S)), _bool_mask(rng, (B, S))
    for need_weights in (True, False):
        for p in list(r.parameters()) + list(t.parameters()):
            p.grad = None

        def call(m, ins, lib, nw=need_weights):
            return m(*ins, attn_mask=lib.tensor(am), key_padding_mask=lib.tensor(kpm), need_weights=nw)

        ro, _ = _compare(r, t, call, [q, k, v], dtype, rng)
        if need_weights:
            assert tuple(ro[1].shape) == (B, L, S + 2)  # bias_kv and the zero attention add a key each


def test_mha_state_dict_init_and_loading_both_ways(rng):
    for kw in ({}, {"bias": False}, {"kdim": 4, "vdim": 6, "add_bias_kv": True}):
        r, t = rtf.MultiheadAttention(E, H, **kw), torch.nn.MultiheadAttention(E, H, **kw)
        assert list(r.state_dict()) == list(t.state_dict())
        assert [n for n, _ in r.named_parameters()] == [n for n, _ in t.named_parameters()]
        assert {k: tuple(v.shape) for k, v in r.state_dict().items()} == {
            k: tuple(v.shape) for k, v in t.state_dict().items()}
        t2 = torch.nn.MultiheadAttention(E, H, **kw)
        t2.load_state_dict({k: torch.tensor(to_np(v)) for k, v in r.state_dict().items()})
        for k, v in t2.state_dict().items():
            np.testing.assert_array_equal(to_np(v), to_np(r.state_dict()[k]))
    # torch's init: xavier_uniform_ on the packed (3E, E) projection, zero biases
    big = rtf.MultiheadAttention(64, 4)
    w = to_np(big.in_proj_weight)
    bound = np.sqrt(6.0 / (64 + 3 * 64))
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.9 * bound
    assert abs(w.std() - bound / np.sqrt(3)) < 0.05 * bound
    assert not to_np(big.in_proj_bias).any() and not to_np(big.out_proj.bias).any()
    assert big.head_dim == 16 and big._qkv_same_embed_dim


def test_mha_dropout_on_weights_uses_refgrad_generator(rng):
    m = rtf.MultiheadAttention(E, H, dropout=0.5)
    x = refgrad.tensor(rng.standard_normal((L, B, E)).astype(np.float32))
    m.eval()
    _, w_eval = m(x, x, x, average_attn_weights=False)
    m.train()
    refgrad.manual_seed(3)
    o1, w1 = m(x, x, x, average_attn_weights=False)
    refgrad.manual_seed(3)
    o2, w2 = m(x, x, x, average_attn_weights=False)
    np.testing.assert_array_equal(to_np(o1), to_np(o2))
    w1, w_eval = to_np(w1), to_np(w_eval)
    kept = w1 != 0
    assert 0.3 < kept.mean() < 0.7
    np.testing.assert_allclose(w1[kept], 2 * w_eval[kept], rtol=1e-5)  # survivors scaled by 1 / (1 - p)


# -- encoder / decoder ----------------------------------------------------------------------------------------
ACTS = {"relu": "relu", "gelu": "gelu", "callable": None}


def _act(nn, name):
    return nn.functional.silu if name == "callable" else name


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("act", list(ACTS))
def test_encoder_layer_matches_torch(dtype, batch_first, norm_first, act, rng):
    train = act == "relu"  # dropout=0 in train mode, else eval mode with the default dropout=0.1

    def build(nn, dt):
        kw = {"dropout": 0.0} if train else {}
        return nn.TransformerEncoderLayer(E, H, dim_feedforward=16, activation=_act(nn, act), batch_first=batch_first,
                                          norm_first=norm_first, layer_norm_eps=1e-4, dtype=dt, **kw)

    r, t = _twin(build, dtype, rng, train=train)
    x = rng.standard_normal((B, L, E) if batch_first else (L, B, E)).astype(dtype)
    am, kpm = _bool_mask(rng, (L, L)), _bool_mask(rng, (B, L))
    _compare(r, t, lambda m, ins, lib: (m(ins[0], src_mask=lib.tensor(am), src_key_padding_mask=lib.tensor(kpm)),),
             [x], dtype, rng)
    for p in list(r.parameters()) + list(t.parameters()):
        p.grad = None
    causal = np.triu(np.full((L, L), -np.inf), 1).astype(dtype)
    _compare(r, t, lambda m, ins, lib: (m(ins[0], src_mask=lib.tensor(causal), is_causal=True),), [x], dtype, rng)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("batch_first", [False, True])
def test_encoder_stack_matches_torch(dtype, batch_first, rng):
    def build(nn, dt):
        layer = nn.TransformerEncoderLayer(E, H, dim_feedforward=12, dropout=0.0, batch_first=batch_first, dtype=dt)
        return nn.TransformerEncoder(layer, 2, norm=nn.LayerNorm(E, dtype=dt), enable_nested_tensor=False)

    r, t = _twin(build, dtype, rng, train=True)
    assert r.layers[0].linear1.weight is not r.layers[1].linear1.weight  # deep copies, like torch's _get_clones
    x = rng.standard_normal((B, L, E) if batch_first else (L, B, E)).astype(dtype)
    causal = np.triu(np.full((L, L), -np.inf), 1).astype(dtype)
    kpm = _bool_mask(rng, (B, L))
    # is_causal=None: the causal mask is detected
    assert rtf._detect_is_causal_mask(refgrad.tensor(causal), None, L)
    assert not rtf._detect_is_causal_mask(refgrad.tensor(causal.T.copy()), None, L)
    _compare(r, t, lambda m, ins, lib: (m(ins[0], mask=lib.tensor(causal)),), [x], dtype, rng)
    for p in list(r.parameters()) + list(t.parameters()):
        p.grad = None
    _compare(r, t, lambda m, ins, lib: (m(ins[0], src_key_padding_mask=lib.tensor(kpm)),), [x], dtype, rng)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("norm_first", [False, True])
def test_decoder_layer_and_stack_match_torch(dtype, batch_first, norm_first, rng):
    def build(nn, dt):
        layer = nn.TransformerDecoderLayer(E, H, dim_feedforward=12, activation="gelu", batch_first=batch_first,
                                           norm_first=norm_first, dtype=dt)
        return nn.TransformerDecoder(layer, 2, norm=nn.LayerNorm(E, dtype=dt))

    r, t = _twin(build, dtype, rng, train=False)
    shape = (lambda n: (B, n, E)) if batch_first else (lambda n: (n, B, E))
    tgt, mem = rng.standard_normal(shape(L)).astype(dtype), rng.standard_normal(shape(S)).astype(dtype)
    causal = np.triu(np.ones((L, L), bool), 1)  # a bool causal mask is detected too
    mem_mask = rng.standard_normal((L, S)).astype(dtype)
    tkpm = _bool_mask(rng, (B, L))
    mkpm = np.where(_bool_mask(rng, (B, S)), -np.inf, 0.0).astype(dtype)  # float, like memory_mask

    def call(m, ins, lib):
        return (m(ins[0], ins[1], tgt_mask=lib.tensor(causal), memory_mask=lib.tensor(mem_mask),
                  tgt_key_padding_mask=lib.tensor(tkpm), memory_key_padding_mask=lib.tensor(mkpm)),)

    _compare(r, t, call, [tgt, mem], dtype, rng)
    for p in list(r.parameters()) + list(t.parameters()):
        p.grad = None
    single_r, single_t = r.layers[0], t.layers[0]
    _compare(single_r, single_t, lambda m, ins, lib: (m(ins[0], ins[1]),), [tgt, mem], dtype, rng)


def test_layers_constructor_state_dict_and_errors():
    for rcls, tcls in ((rtf.TransformerEncoderLayer, torch.nn.TransformerEncoderLayer),
                       (rtf.TransformerDecoderLayer, torch.nn.TransformerDecoderLayer)):
        for kw in ({}, {"bias": False}):
            r, t = rcls(E, H, 16, **kw), tcls(E, H, 16, **kw)
            assert list(r.state_dict()) == list(t.state_dict())
        assert rcls(E, H, activation="gelu").activation is F.gelu
        with pytest.raises(RuntimeError, match="activation should be relu/gelu, not tanh"):
            rcls(E, H, activation="tanh")
    r = rtf.TransformerEncoder(rtf.TransformerEncoderLayer(E, H, 16), 3)
    t = torch.nn.TransformerEncoder(torch.nn.TransformerEncoderLayer(E, H, 16), 3, enable_nested_tensor=False)
    assert list(r.state_dict()) == list(t.state_dict()) and len(r.layers) == 3
    r = rtf.TransformerDecoder(rtf.TransformerDecoderLayer(E, H, 16), 2, norm=rnn.LayerNorm(E))
    t = torch.nn.TransformerDecoder(torch.nn.TransformerDecoderLayer(E, H, 16), 2, norm=torch.nn.LayerNorm(E))
    assert list(r.state_dict()) == list(t.state_dict())


def test_mha_bad_inputs():
    m = rtf.MultiheadAttention(E, H)
    x = refgrad.zeros(L, B, E)
    with pytest.raises(AssertionError, match="divisible by num_heads"):
        rtf.MultiheadAttention(E, 3)
    with pytest.raises(ValueError, match="must be greater than 0"):
        rtf.MultiheadAttention(0, 2)
    with pytest.raises(RuntimeError, match="shape of the 2D attn_mask"):
        m(x, x, x, attn_mask=refgrad.zeros(L, L + 1))
    with pytest.raises(AssertionError, match="only bool and floating types of attn_mask"):
        m(x, x, x, attn_mask=refgrad.zeros(L, L, dtype=refgrad.int64))
    with pytest.raises(RuntimeError, match="Need attn_mask if specifying the is_causal hint"):
        m(x, x, x, is_causal=True)
    with pytest.raises(AssertionError, match="expected `key` and `value` to be 3-D"):
        m(x, x[0], x[0])
    with pytest.raises(AssertionError, match="was expecting embedding dimension of 8"):
        m(refgrad.zeros(L, B, 4), refgrad.zeros(L, B, 4), refgrad.zeros(L, B, 4))
    with pytest.warns(UserWarning, match="mismatched key_padding_mask and attn_mask"):
        m(x, x, x, attn_mask=refgrad.zeros(L, L), key_padding_mask=refgrad.zeros(B, L, dtype=refgrad.bool))


# -- MLP ------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("variant", ["plain", "norm_silu_inplace", "no_bias"])
def test_mlp_matches_torchvision_layout(dtype, variant, rng):
    kw = {"plain": {}, "norm_silu_inplace": {"norm_layer": "LayerNorm", "activation_layer": "SiLU", "inplace": False},
          "no_bias": {"bias": False, "dropout": 0.2}}[variant]

    def build(nn, dt):
        # torchvision.ops.MLP's layout, built by hand on the torch side (torchvision is not installed)
        norm = getattr(nn, kw["norm_layer"]) if "norm_layer" in kw else None
        act = getattr(nn, kw.get("activation_layer", "ReLU"))
        params = {"inplace": kw["inplace"]} if "inplace" in kw else {}
        if nn is RNN:
            m = MLP(5, [7, 6, 3], norm_layer=norm, activation_layer=act, inplace=kw.get("inplace"),
                    bias=kw.get("bias", True), dropout=kw.get("dropout", 0.0))
            return m.to(dt)
        layers, d = [], 5
        for h in (7, 6):
            layers += [nn.Linear(d, h, bias=kw.get("bias", True))] + ([norm(h)] if norm else [])
            layers += [act(**params), nn.Dropout(kw.get("dropout", 0.0), **params)]
            d = h
        layers += [nn.Linear(d, 3, bias=kw.get("bias", True)), nn.Dropout(kw.get("dropout", 0.0), **params)]
        return nn.Sequential(*layers).to(dt)

    r, t = _twin(build, dtype, rng)
    assert isinstance(r, rnn.Sequential)
    assert [type(m).__name__ for m in r] == [type(m).__name__ for m in t]
    assert repr(r).replace("MLP(", "Sequential(", 1) == repr(t)
    x = rng.standard_normal((4, 5)).astype(dtype)
    _compare(r, t, lambda m, ins, lib: (m(ins[0]),), [x], dtype, rng)


@pytest.mark.parametrize("need_weights", [False, True])
def test_mha_double_backward(need_weights, rng):
    r, t = _twin(lambda nn, dt: nn.MultiheadAttention(E, H, dtype=dt), np.float64, rng)
    x = rng.standard_normal((L, B, E))
    am = rng.standard_normal((L, L))
    c1, c2 = rng.standard_normal((L, B, E)), rng.standard_normal((L, B, E))
    grads = []
    for lib, m in ((refgrad, r), (torch, t)):
        xi = lib.tensor(x).requires_grad_(True)
        # torch's fused CPU attention kernels have no double backward: its math kernel does
        with sdpa_kernel(SDPBackend.MATH):
            out = m(xi, xi, xi, attn_mask=lib.tensor(am), need_weights=need_weights)[0]
        (gx,) = lib.autograd.grad((out * lib.tensor(c1)).sum(), [xi], create_graph=True)
        (gx * lib.tensor(c2)).sum().backward()
        grads.append([xi.grad] + [p.grad for p in m.parameters()])
    assert_same(grads[0], grads[1], 1e-9, 1e-10, "double backward")


def test_sdpa_fully_masked_row_gradient(rng):
    q = rng.standard_normal((1, 2, 3, 4))
    m = np.array([[-np.inf] * 3, [0, 0, -np.inf], [0, -np.inf, 0]])
    c = rng.standard_normal((1, 2, 3, 4))
    grads = []
    tf = torch.nn.functional.scaled_dot_product_attention
    for lib, f in ((refgrad, F.scaled_dot_product_attention), (torch, tf)):
        x = lib.tensor(q).requires_grad_(True)
        (f(x, x, x, attn_mask=lib.tensor(m)) * lib.tensor(c)).sum().backward()
        grads.append(x.grad)
    assert_same(grads[0], grads[1], what="grad")


@pytest.mark.parametrize("batch_first", [False, True])
def test_transformer_matches_torch(batch_first, device):
    """nn.Transformer: torch's parameter names and xavier init shapes, its values and gradients with a causal
    target mask and source padding (weights copied from torch), and its input checks."""
    from collections import OrderedDict
    torch.manual_seed(0)
    ref = torch.nn.Transformer(8, 2, 1, 2, 12, dropout=0.0, batch_first=batch_first).double().to(device)
    ours = refgrad.nn.Transformer(8, 2, 1, 2, 12, dropout=0.0, batch_first=batch_first)
    assert list(ours.state_dict()) == list(ref.state_dict())
    ours.load_state_dict(OrderedDict((k, v.detach().cpu().numpy()) for k, v in ref.state_dict().items()))
    ours = ours.double().to(device)
    rng = np.random.default_rng(1)
    src, tgt = rng.standard_normal((5, 3, 8)), rng.standard_normal((4, 3, 8))
    if batch_first:
        src, tgt = src.swapaxes(0, 1).copy(), tgt.swapaxes(0, 1).copy()
    pad = np.zeros((3, 5), dtype=bool)
    pad[0, -2:] = True
    mask_o = refgrad.nn.Transformer.generate_square_subsequent_mask(4, device=device, dtype=refgrad.float64)
    mask_t = torch.nn.Transformer.generate_square_subsequent_mask(4, device=device, dtype=torch.float64)
    assert_same(mask_o, mask_t)

    def run(lib, model, mask):
        def f(s, t, p):
            return model(s, t, tgt_mask=mask, src_key_padding_mask=p, memory_key_padding_mask=p)
        return f
    # training mode (dropout 0): torch's fused fast path only serves eval, so both take the reference path
    check_op(run(refgrad, ours, mask_o), run(torch, ref, mask_t), [src, tgt, pad], device=device, diff=[0, 1],
             gradgrad=False)
    with pytest.raises(RuntimeError, match="feature number of src and tgt must be equal to d_model"):
        ours(refgrad.zeros(5, 5, 6, device=device), refgrad.zeros(5, 5, 8, device=device))
    bad_src, bad_tgt = ((3, 5, 8), (2, 4, 8)) if batch_first else ((5, 3, 8), (4, 2, 8))
    with pytest.raises(RuntimeError, match="the batch number of src and tgt must be equal"):
        ours(refgrad.zeros(bad_src, device=device), refgrad.zeros(bad_tgt, device=device))


def test_transformer_reinitializes_matrices_with_xavier():
    refgrad.manual_seed(0)
    m = refgrad.nn.Transformer(16, 4, 1, 1, 32)
    w = m.encoder.layers[0].linear1.weight  # (32, 16): xavier bound sqrt(6 / 48)
    bound = (6 / (16 + 32)) ** 0.5
    assert float(w.abs().max()) <= bound and float(w.abs().max()) > 0.8 * bound
    assert m.encoder.norm is not None and m.decoder.norm is not None and m.d_model == 16 and m.nhead == 4
