"""Module specs (kind "module") for the sequence layers: RNN/LSTM/GRU and their cells, MultiheadAttention,
the Transformer encoder/decoder (layers and stacks) and refgrad's MLP extra.

They reuse the checks nn_modules.py registers for kind "module" (twin, fd, state_dict_keys). Those build
the pair as ``engine.nn.<cls>(*args, **kwargs)``, which cannot express these modules (a stack built from a
layer instance, torch's MLP twin being a hand-built ``torch.nn.Sequential`` since torchvision is not
installed, LSTM's ``(h0, c0)`` tuple argument, MHA's keyword-only options), so a spec here carries
``meta["build"] = build(engine) -> module``, which ``nn_modules._build`` calls when present.

Multi-output forwards: the twin/fd checks flatten nested tuples (RNN's ``(output, h_n)``, LSTM's
``(output, (h_n, c_n))``, MHA's ``(out, weights)``) and compare every tensor, each with its own random
cotangent. A ``None`` in the result (MHA with ``need_weights=False``) is dropped by the forward adapter
(same on both sides). Arguments the harness cannot pass as such (LSTM's ``(h0, c0)`` tuple, MHA's and the
transformers' masks as keywords, need_weights...) are given positionally and regrouped by a per-spec
adapter installed as the instance's ``forward`` on both twins (state_dict keys are unaffected).

torch's fused MHA / transformer fast path is disabled around every torch forward
(``torch.backends.mha.set_fastpath_enabled(False)``, restored afterwards). Dropout is 0 everywhere, so
train and eval modes are both deterministic and both checked.
"""
from __future__ import annotations

import numpy as np

import refgrad

from ..spec import Sample, Spec, Tol, register
from . import nn_modules as _nm
from .nn_modules import CPU_ONLY

# float32: a recurrence / attention chain compounds rounding over the steps and torch's kernels sum in
# other orders (fused gates, bmm), so float32 differences reach ~1e-5 relative
F32_SEQ = Tol(2e-5, 2e-5, "float32 recurrences and attention: rounding compounds over time steps/layers and "
                          "torch's fused gate/bmm kernels sum in other orders")

KNOWN_BUGS: dict[str, str] = {}


# -- building the pair ------------------------------------------------------------------------------

def _is_torch(engine) -> bool:
    return engine is not refgrad


def _drop_none(out):
    if isinstance(out, tuple):
        return tuple(_drop_none(o) for o in out if o is not None)
    return out


def _adapted(engine, mod, adapter=None):
    """Install ``forward(*args) = adapter(original forward, *args)`` (None outputs dropped; torch's fast
    path off during the call)."""
    orig = mod.forward

    def forward(*args, **kwargs):
        call = (lambda: adapter(orig, *args, **kwargs)) if adapter else (lambda: orig(*args, **kwargs))
        if _is_torch(engine):
            fp = engine.backends.mha
            before = fp.get_fastpath_enabled()
            fp.set_fastpath_enabled(False)
            try:
                return _drop_none(call())
            finally:
                fp.set_fastpath_enabled(before)
        return _drop_none(call())
    mod.forward = forward
    return mod


def _simple(cls, *args, adapter=None, **kwargs):
    def build(engine):
        return _adapted(engine, getattr(engine.nn, cls)(*args, **kwargs), adapter)
    return build


# -- samplers ------------------------------------------------------------------------------------

def _n(*shape):
    return lambda rng: rng.standard_normal(shape)


def _keypad(n, s):
    """Boolean key padding mask (True = ignored); key 0 is always kept so no row is fully masked."""
    def f(rng):
        m = rng.integers(0, 2, (n, s)).astype(bool)
        m[:, 0] = False
        return m
    return f


def _float_mask(*shape):
    """An additive float mask (not differentiated)."""
    return lambda rng: 0.5 * rng.standard_normal(shape)


def _bool_mask(*shape):
    """Boolean attention mask (True = not attended); key 0 is always attended so no row is fully masked."""
    def f(rng):
        m = rng.integers(0, 2, shape).astype(bool)
        m[..., 0] = False
        return m
    return f


def _causal(L):
    return lambda rng: np.triu(np.ones((L, L), dtype=bool), 1)


def _const(v):
    return lambda rng: v


def _sampler(makers, diff):
    def sampler(rng, i):
        return Sample(tuple(m(rng) for m in makers), diff=diff)
    return sampler


SPECS: list = []


def spec(name, cls, build, inputs, diff, tol=F32_SEQ, modes=None):
    meta = {"cls": cls, "args": (), "kwargs": {}, "build": build}
    if modes:
        meta["modes"] = modes
    SPECS.append(name)
    # torch has no MLP: its twin is the equivalent torch.nn.Sequential (as torchvision.ops.MLP builds it)
    twin = "torch.nn.Sequential" if cls == "MLP" else f"torch.nn.{cls}"
    register(Spec(name=name, kind="module", fn=getattr(refgrad.nn, cls), torch=twin,
                  sampler=_sampler(inputs, diff), dtypes=dict(CPU_ONLY), meta=meta,
                  tolerances={("twin", "float32"): tol} if tol else {}))


# -- recurrent layers -----------------------------------------------------------------------------
L, N, I, H = 3, 2, 3, 4


def _lstm_hc(f, x, h0=None, c0=None):
    return f(x, None if h0 is None else (h0, c0))


spec("RNN", "RNN", _simple("RNN", I, H), [_n(L, N, I)], [0])
spec("RNN(relu,num_layers=2,h0)", "RNN", _simple("RNN", I, H, num_layers=2, nonlinearity="relu"),
     [_n(L, N, I), _n(2, N, H)], [0, 1])
spec("RNN(bidirectional,batch_first)", "RNN", _simple("RNN", I, H, bidirectional=True, batch_first=True),
     [_n(N, L, I), _n(2, N, H)], [0, 1])
spec("RNN(unbatched,bias=False)", "RNN", _simple("RNN", I, H, bias=False), [_n(L, I)], [0])
spec("LSTM", "LSTM", _simple("LSTM", I, H, adapter=_lstm_hc), [_n(L, N, I)], [0])
spec("LSTM(num_layers=2,bidirectional,h0c0)", "LSTM",
     _simple("LSTM", I, H, num_layers=2, bidirectional=True, adapter=_lstm_hc),
     [_n(L, N, I), _n(4, N, H), _n(4, N, H)], [0, 1, 2])
spec("LSTM(proj_size,batch_first,h0c0)", "LSTM",
     _simple("LSTM", I, H, proj_size=2, batch_first=True, adapter=_lstm_hc),
     [_n(N, L, I), _n(1, N, 2), _n(1, N, H)], [0, 1, 2])
spec("LSTM(num_layers=2,bidirectional,proj_size)", "LSTM",
     _simple("LSTM", I, H, num_layers=2, bidirectional=True, proj_size=2, adapter=_lstm_hc),
     [_n(L, N, I)], [0])
spec("GRU", "GRU", _simple("GRU", I, H), [_n(L, N, I)], [0])
spec("GRU(num_layers=2,bidirectional,batch_first,h0)", "GRU",
     _simple("GRU", I, H, num_layers=2, bidirectional=True, batch_first=True),
     [_n(N, L, I), _n(4, N, H)], [0, 1])
spec("GRU(unbatched,h0)", "GRU", _simple("GRU", I, H), [_n(L, I), _n(1, H)], [0, 1])
# -- cells ---------------------------------------------------------------------------------------
spec("RNNCell", "RNNCell", _simple("RNNCell", I, H), [_n(N, I), _n(N, H)], [0, 1])
spec("RNNCell(relu,no hx)", "RNNCell", _simple("RNNCell", I, H, nonlinearity="relu"), [_n(N, I)], [0])
spec("LSTMCell", "LSTMCell", _simple("LSTMCell", I, H, adapter=_lstm_hc), [_n(N, I), _n(N, H), _n(N, H)],
     [0, 1, 2])
spec("LSTMCell(unbatched,no hx,bias=False)", "LSTMCell", _simple("LSTMCell", I, H, bias=False, adapter=_lstm_hc),
     [_n(I)], [0])
spec("GRUCell", "GRUCell", _simple("GRUCell", I, H), [_n(N, I), _n(N, H)], [0, 1])
spec("GRUCell(unbatched)", "GRUCell", _simple("GRUCell", I, H), [_n(I), _n(H)], [0, 1])

# -- attention -------------------------------------------------------------------------------------
E, NH, S = 4, 2, 3


def _mha(need_weights=True, average=True):
    def adapter(f, q, k, v, kpm=None, am=None):
        return f(q, k, v, key_padding_mask=kpm, need_weights=need_weights, attn_mask=am,
                 average_attn_weights=average)
    return adapter


spec("MultiheadAttention", "MultiheadAttention", _simple("MultiheadAttention", E, NH, adapter=_mha()),
     [_n(L, N, E), _n(S, N, E), _n(S, N, E)], [0, 1, 2])
spec("MultiheadAttention(masks,per-head weights,batch_first)", "MultiheadAttention",
     _simple("MultiheadAttention", E, NH, batch_first=True, adapter=_mha(average=False)),
     [_n(N, L, E), _n(N, S, E), _n(N, S, E), _keypad(N, S), _bool_mask(L, S)], [0, 1, 2])
spec("MultiheadAttention(need_weights=False,float mask)", "MultiheadAttention",
     _simple("MultiheadAttention", E, NH, adapter=_mha(need_weights=False)),
     [_n(L, N, E), _n(S, N, E), _n(S, N, E), _const(None), _float_mask(L, S)], [0, 1, 2])
spec("MultiheadAttention(self-attention,3d causal mask)", "MultiheadAttention",
     _simple("MultiheadAttention", E, NH, adapter=_mha()),
     [_n(L, N, E), _n(L, N, E), _n(L, N, E), _const(None), lambda rng: np.broadcast_to(
         np.triu(np.ones((L, L), dtype=bool), 1), (N * NH, L, L)).copy()], [0, 1, 2])
spec("MultiheadAttention(kdim,vdim,add_bias_kv,add_zero_attn)", "MultiheadAttention",
     _simple("MultiheadAttention", E, NH, kdim=3, vdim=5, add_bias_kv=True, add_zero_attn=True, adapter=_mha()),
     [_n(L, N, E), _n(S, N, 3), _n(S, N, 5), _keypad(N, S)], [0, 1, 2])
spec("MultiheadAttention(unbatched,bias=False)", "MultiheadAttention",
     _simple("MultiheadAttention", E, NH, bias=False, adapter=_mha()), [_n(L, E), _n(S, E), _n(S, E)], [0, 1, 2])

# -- transformer --------------------------------------------------------------------------------------
FF = 6
# dropout=0: train and eval run the same computation; the stacks (slow: every parameter of 2 layers in the FD
# directions) and one layer variant run one mode to keep the sweep short (the other specs run both)
ONE_MODE = ("train",)


def _layer(engine, kind, **kw):
    return getattr(engine.nn, kind)(E, NH, dim_feedforward=FF, dropout=0.0, **kw)


def _enc_adapter(f, src, mask=None, kpm=None):
    return f(src, mask, kpm)


def _dec_adapter(f, tgt, mem, tgt_mask=None, mem_mask=None, tkpm=None, mkpm=None):
    return f(tgt, mem, tgt_mask=tgt_mask, memory_mask=mem_mask, tgt_key_padding_mask=tkpm,
             memory_key_padding_mask=mkpm)


def _enc_layer(**kw):
    return lambda engine: _adapted(engine, _layer(engine, "TransformerEncoderLayer", **kw), _enc_adapter)


def _dec_layer(**kw):
    return lambda engine: _adapted(engine, _layer(engine, "TransformerDecoderLayer", **kw), _dec_adapter)


spec("TransformerEncoderLayer", "TransformerEncoderLayer", _enc_layer(), [_n(L, N, E)], [0])
spec("TransformerEncoderLayer(norm_first,gelu,masks)", "TransformerEncoderLayer",
     _enc_layer(norm_first=True, activation="gelu"), [_n(L, N, E), _bool_mask(L, L), _keypad(N, L)], [0])
spec("TransformerEncoderLayer(float mask)", "TransformerEncoderLayer", _enc_layer(), [_n(L, N, E), _float_mask(L, L)],
     [0])
spec("TransformerEncoderLayer(batch_first,bias=False,causal)", "TransformerEncoderLayer",
     _enc_layer(batch_first=True, bias=False), [_n(N, L, E), _causal(L)], [0])
spec("TransformerDecoderLayer", "TransformerDecoderLayer", _dec_layer(), [_n(L, N, E), _n(S, N, E)], [0, 1])
spec("TransformerDecoderLayer(norm_first,masks)", "TransformerDecoderLayer", _dec_layer(norm_first=True),
     [_n(L, N, E), _n(S, N, E), _causal(L), _bool_mask(L, S), _keypad(N, L), _keypad(N, S)], [0, 1])
spec("TransformerDecoderLayer(batch_first,gelu)", "TransformerDecoderLayer",
     _dec_layer(batch_first=True, activation="gelu"), [_n(N, L, E), _n(N, S, E)], [0, 1], modes=ONE_MODE)


def _encoder(norm, **kw):
    def build(engine):
        extra = {"enable_nested_tensor": False}
        enc = engine.nn.TransformerEncoder(_layer(engine, "TransformerEncoderLayer", **kw), 2,
                                           norm=engine.nn.LayerNorm(E) if norm else None, **extra)
        return _adapted(engine, enc, _enc_adapter)
    return build


def _decoder(norm, **kw):
    def build(engine):
        dec = engine.nn.TransformerDecoder(_layer(engine, "TransformerDecoderLayer", **kw), 2,
                                           norm=engine.nn.LayerNorm(E) if norm else None)
        return _adapted(engine, dec, _dec_adapter)
    return build


spec("TransformerEncoder", "TransformerEncoder", _encoder(False), [_n(L, N, E)], [0], modes=ONE_MODE)
spec("TransformerEncoder(norm,norm_first,masks)", "TransformerEncoder", _encoder(True, norm_first=True),
     [_n(L, N, E), _causal(L), _keypad(N, L)], [0], modes=ONE_MODE)
spec("TransformerDecoder", "TransformerDecoder", _decoder(False), [_n(L, N, E), _n(S, N, E)], [0, 1], modes=ONE_MODE)
spec("TransformerDecoder(norm,norm_first,causal)", "TransformerDecoder", _decoder(True, norm_first=True),
     [_n(L, N, E), _n(S, N, E), _causal(L)], [0, 1], modes=ONE_MODE)


def _transformer(**kw):
    def build(engine):
        tr = engine.nn.Transformer(E, NH, num_encoder_layers=1, num_decoder_layers=1, dim_feedforward=FF, dropout=0.0,
                                   **kw)

        def adapter(f, src, tgt, tgt_mask=None, src_kpm=None):
            return f(src, tgt, tgt_mask=tgt_mask, src_key_padding_mask=src_kpm, memory_key_padding_mask=src_kpm)
        return _adapted(engine, tr, adapter)
    return build


spec("Transformer", "Transformer", _transformer(), [_n(S, N, E), _n(L, N, E)], [0, 1], modes=ONE_MODE)
spec("Transformer(batch_first,norm_first,causal,padding)", "Transformer", _transformer(batch_first=True,
                                                                                        norm_first=True),
     [_n(N, S, E), _n(N, L, E), _causal(L), _keypad(N, S)], [0, 1], modes=ONE_MODE)


# -- MLP (torch twin: the equivalent torch.nn.Sequential, as torchvision.ops.MLP builds it) ---------------

def _mlp(in_ch, hidden, norm=None, act="ReLU", bias=True):
    def build(engine):
        if not _is_torch(engine):
            return refgrad.nn.MLP(in_ch, hidden, norm_layer=getattr(refgrad.nn, norm) if norm else None,
                                  activation_layer=getattr(refgrad.nn, act), bias=bias, dropout=0.0)
        nn, layers, d = engine.nn, [], in_ch
        for h in hidden[:-1]:
            layers.append(nn.Linear(d, h, bias=bias))
            if norm:
                layers.append(getattr(nn, norm)(h))
            layers += [getattr(nn, act)(), nn.Dropout(0.0)]
            d = h
        layers += [nn.Linear(d, hidden[-1], bias=bias), nn.Dropout(0.0)]
        return nn.Sequential(*layers)
    return build


spec("MLP", "MLP", _mlp(3, [5, 2]), [_n(2, 3)], [0], tol=None)
spec("MLP(LayerNorm,GELU,bias=False)", "MLP", _mlp(3, [4, 5, 2], norm="LayerNorm", act="GELU", bias=False),
     [_n(2, 2, 3)], [0], tol=_nm.F32_SUMS)
spec("MLP(BatchNorm1d)", "MLP", _mlp(3, [4, 2], norm="BatchNorm1d"), [_n(4, 3)], [0], tol=_nm.F32_SUMS)

# the classes specced here are no longer "spec pending" (pending_exemptions reads nn_modules.CASES)
_nm.CASES.extend((n, c, (), {}, (), {}) for n, c in
                 sorted({(s, s) for s in ("RNN", "LSTM", "GRU", "RNNCell", "LSTMCell", "GRUCell", "MultiheadAttention",
                                          "TransformerEncoderLayer", "TransformerEncoder",
                                          "TransformerDecoderLayer", "TransformerDecoder", "Transformer", "MLP")}
                        - {(c[0], c[1]) for c in _nm.CASES}))
