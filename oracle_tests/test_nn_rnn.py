"""Recurrent layers and nn.utils.rnn against torch: the same RNN/LSTM/GRU (and cells) built in both engines,
torch's state_dict loaded into refgrad, outputs, final states, input/state gradients and every parameter gradient
compared with random cotangents; packed sequences of different lengths; the pad/pack utilities."""
from collections import OrderedDict

import numpy as np
import pytest
import torch

import refgrad
from refgrad.nn.modules.rnn import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNCell
from refgrad.nn.utils.rnn import (
    PackedSequence,
    pack_padded_sequence,
    pack_sequence,
    pad_packed_sequence,
    pad_sequence,
)

from .helpers import assert_same, rg, th, to_np

DTYPES = [np.float32, np.float64]
TDT = {np.float32: torch.float32, np.float64: torch.float64}
RG = {"RNN": RNN, "LSTM": LSTM, "GRU": GRU, "RNNCell": RNNCell, "LSTMCell": LSTMCell, "GRUCell": GRUCell}
# a recurrence compounds rounding over the steps: a documented widening of torch's tolerances
TOL = {np.float32: dict(rtol=1e-4, atol=1e-5), np.float64: dict(rtol=1e-9, atol=1e-10)}


def _twins(kind, dtype, *args, **kwargs):
    t = getattr(torch.nn, kind)(*args, **kwargs).to(TDT[dtype])
    r = RG[kind](*args, **kwargs)
    r.load_state_dict(OrderedDict((k, v.detach().numpy()) for k, v in t.state_dict().items()))
    r = r.to(refgrad.float64 if dtype == np.float64 else refgrad.float32)
    return r, t


def _flat(out):
    """(output, h) or (output, (h, c)) or a cell's h / (h, c) -> list of tensors."""
    if isinstance(out, (tuple, list)):
        return [x for o in out for x in _flat(o)]
    if isinstance(out, (PackedSequence, torch.nn.utils.rnn.PackedSequence)):
        return [out.data]
    return [out]


def _compare(r, t, r_in, t_in, r_leaves, t_leaves, dtype, seed=0):
    """Forward outputs equal; then one backward with random cotangents on every output; input and parameter
    gradients equal."""
    r_out, t_out = _flat(r(*r_in)), _flat(t(*t_in))
    assert len(r_out) == len(t_out)
    for i, (a, b) in enumerate(zip(r_out, t_out)):
        assert_same(a, b, what=f"output {i}", **TOL[dtype])
    rng = np.random.default_rng(seed)
    cots = [rng.standard_normal(tuple(b.shape)).astype(dtype) for b in t_out]
    torch.autograd.backward(t_out, [th(c) for c in cots])
    refgrad.autograd.backward(r_out, [rg(c) for c in cots])
    for i, (a, b) in enumerate(zip(r_leaves, t_leaves)):
        assert_same(a.grad, b.grad, what=f"input grad {i}", **TOL[dtype])
    rp, tp = dict(r.named_parameters()), dict(t.named_parameters())
    assert list(rp) == list(tp)
    for k in tp:
        assert_same(rp[k].grad, tp[k].grad, what=f"grad {k}", **TOL[dtype])


def _leaf(arr):
    return rg(arr, requires_grad=True), th(arr, requires_grad=True)


CONFIGS = [
    ("RNN", dict()), ("RNN", dict(nonlinearity="relu", num_layers=2)), ("LSTM", dict()),
    ("LSTM", dict(num_layers=2, bidirectional=True)), ("LSTM", dict(proj_size=3, bidirectional=True)),
    ("GRU", dict(num_layers=2, batch_first=True)), ("GRU", dict(bidirectional=True, bias=False)),
    ("RNN", dict(bidirectional=True, batch_first=True, num_layers=2)),
    ("LSTM", dict(num_layers=2, dropout=0.5, batch_first=True)),  # eval mode below: dropout is off
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind,kw", CONFIGS)
@pytest.mark.parametrize("with_h0", [False, True])
def test_rnn_layers_match_torch(kind, kw, dtype, with_h0):
    torch.manual_seed(0)
    r, t = _twins(kind, dtype, 4, 5, **kw)
    if kw.get("dropout"):
        r.eval(), t.eval()
    rng = np.random.default_rng(1)
    T, B = 6, 3
    shape = (B, T, 4) if kw.get("batch_first") else (T, B, 4)
    rx, tx = _leaf(rng.standard_normal(shape).astype(dtype))
    r_in, t_in, rl, tl = [rx], [tx], [rx], [tx]
    if with_h0:
        n = kw.get("num_layers", 1) * (2 if kw.get("bidirectional") else 1)
        rh, thh = _leaf(rng.standard_normal((n, B, kw.get("proj_size") or 5)).astype(dtype))
        rl.append(rh), tl.append(thh)
        if kind == "LSTM":
            rc, tc = _leaf(rng.standard_normal((n, B, 5)).astype(dtype))
            rl.append(rc), tl.append(tc)
            r_in.append((rh, rc)), t_in.append((thh, tc))
        else:
            r_in.append(rh), t_in.append(thh)
    _compare(r, t, r_in, t_in, rl, tl, dtype)


@pytest.mark.parametrize("kind,kw", [("LSTM", dict(bidirectional=True, num_layers=2)), ("GRU", dict()),
                                     ("RNN", dict(batch_first=True, bidirectional=True)),
                                     ("LSTM", dict(proj_size=2))])
@pytest.mark.parametrize("enforce_sorted", [True, False])
def test_packed_sequences_match_torch(kind, kw, enforce_sorted):
    dtype = np.float64
    torch.manual_seed(0)
    r, t = _twins(kind, dtype, 3, 4, **kw)
    rng = np.random.default_rng(2)
    lengths = [5, 3, 2, 1] if enforce_sorted else [2, 5, 1, 3]
    bf = kw.get("batch_first", False)
    shape = (4, 5, 3) if bf else (5, 4, 3)
    rx, tx = _leaf(rng.standard_normal(shape).astype(dtype))
    rp = pack_padded_sequence(rx, lengths, batch_first=bf, enforce_sorted=enforce_sorted)
    tp = torch.nn.utils.rnn.pack_padded_sequence(tx, lengths, batch_first=bf, enforce_sorted=enforce_sorted)
    assert_same(rp.batch_sizes, tp.batch_sizes)
    n = kw.get("num_layers", 1) * (2 if kw.get("bidirectional") else 1)
    rh, thh = _leaf(rng.standard_normal((n, 4, kw.get("proj_size") or 4)).astype(dtype))
    leaves_r, leaves_t = [rx, rh], [tx, thh]
    if kind == "LSTM":
        rc, tc = _leaf(rng.standard_normal((n, 4, 4)).astype(dtype))
        leaves_r.append(rc), leaves_t.append(tc)
        hr, ht = (rh, rc), (thh, tc)
    else:
        hr, ht = rh, thh
    r_out, t_out = r(rp, hr), t(tp, ht)
    assert isinstance(r_out[0], PackedSequence)
    assert_same(r_out[0].batch_sizes, t_out[0].batch_sizes)
    # padded outputs, in the caller's order, through pad_packed_sequence in both engines
    r_pad, r_len = pad_packed_sequence(r_out[0], batch_first=bf, padding_value=-1.0)
    t_pad, t_len = torch.nn.utils.rnn.pad_packed_sequence(t_out[0], batch_first=bf, padding_value=-1.0)
    assert_same(r_len, t_len)
    r_all, t_all = [r_pad, *_flat(r_out[1])], [t_pad, *_flat(t_out[1])]
    for i, (a, b) in enumerate(zip(r_all, t_all)):
        assert_same(a, b, what=f"out {i}", **TOL[dtype])
    cots = [rng.standard_normal(tuple(b.shape)) for b in t_all]
    torch.autograd.backward(t_all, [th(c) for c in cots])
    refgrad.autograd.backward(r_all, [rg(c) for c in cots])
    for i, (a, b) in enumerate(zip(leaves_r, leaves_t)):
        assert_same(a.grad, b.grad, what=f"input grad {i}", **TOL[dtype])
    for k, p in t.named_parameters():
        assert_same(r.get_parameter(k).grad, p.grad, what=f"grad {k}", **TOL[dtype])


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize("batch_first", [False, True])
def test_unbatched_input(kind, batch_first):
    torch.manual_seed(0)
    r, t = _twins(kind, np.float64, 3, 4, batch_first=batch_first, bidirectional=True)
    rng = np.random.default_rng(3)
    rx, tx = _leaf(rng.standard_normal((5, 3)))
    _compare(r, t, [rx], [tx], [rx], [tx], np.float64)
    h = rng.standard_normal((2, 4))
    hx_r = (rg(h), rg(h)) if kind == "LSTM" else rg(h)
    hx_t = (th(h), th(h)) if kind == "LSTM" else th(h)
    for a, b in zip(_flat(r(rx, hx_r)), _flat(t(tx, hx_t))):
        assert_same(a, b, **TOL[np.float64])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind,kw", [("RNNCell", {}), ("RNNCell", dict(nonlinearity="relu", bias=False)),
                                     ("LSTMCell", {}), ("GRUCell", {}), ("GRUCell", dict(bias=False))])
@pytest.mark.parametrize("batched", [True, False])
def test_cells_match_torch(kind, kw, dtype, batched):
    torch.manual_seed(0)
    r, t = _twins(kind, dtype, 3, 5, **kw)
    rng = np.random.default_rng(4)
    lead = (2,) if batched else ()
    rx, tx = _leaf(rng.standard_normal((*lead, 3)).astype(dtype))
    rh, thh = _leaf(rng.standard_normal((*lead, 5)).astype(dtype))
    if kind == "LSTMCell":
        rc, tc = _leaf(rng.standard_normal((*lead, 5)).astype(dtype))
        _compare(r, t, [rx, (rh, rc)], [tx, (thh, tc)], [rx, rh, rc], [tx, thh, tc], dtype)
    else:
        _compare(r, t, [rx, rh], [tx, thh], [rx, rh], [tx, thh], dtype)
    # no hx: zeros
    for a, b in zip(_flat(r(rx)), _flat(t(tx))):
        assert_same(a, b, **TOL[dtype])


def test_double_backward_through_lstm():
    torch.manual_seed(0)
    r, t = _twins("LSTM", np.float64, 2, 3)
    rng = np.random.default_rng(5)
    rx, tx = _leaf(rng.standard_normal((3, 2, 2)))
    cot = rng.standard_normal((3, 2, 3))
    (gr,) = refgrad.autograd.grad(r(rx)[0], rx, rg(cot), create_graph=True)
    (gt,) = torch.autograd.grad(t(tx)[0], tx, th(cot), create_graph=True)
    assert_same(gr, gt, **TOL[np.float64])
    c2 = rng.standard_normal(gt.shape)
    (ggr,) = refgrad.autograd.grad(gr, rx, rg(c2))
    (ggt,) = torch.autograd.grad(gt, tx, th(c2))
    assert_same(ggr, ggt, **TOL[np.float64])


def test_state_dict_round_trip_names_shapes_and_init():
    torch.manual_seed(0)
    t = torch.nn.LSTM(3, 6, num_layers=2, bidirectional=True, proj_size=2)
    r = LSTM(3, 6, num_layers=2, bidirectional=True, proj_size=2)
    rsd, tsd = r.state_dict(), t.state_dict()
    assert list(rsd) == list(tsd)
    assert [tuple(v.shape) for v in rsd.values()] == [tuple(v.shape) for v in tsd.values()]
    bound = 1 / np.sqrt(6)
    for k, v in rsd.items():
        a = to_np(v)
        assert np.all(np.abs(a) <= bound) and a.std() > bound / 4, k  # U(-1/sqrt(h), 1/sqrt(h)), not constant
    t.load_state_dict({k: torch.tensor(to_np(v)) for k, v in rsd.items()})  # refgrad -> torch
    for k, v in t.state_dict().items():
        np.testing.assert_array_equal(v.numpy(), to_np(rsd[k]))
    assert len(r.all_weights) == 4 and [p.shape for p in r.all_weights[1]] == [p.shape for p in t.all_weights[1]]


def test_reprs_match_torch():
    for kind, args, kw in [("RNN", (3, 4), dict(nonlinearity="relu", num_layers=2)),
                           ("LSTM", (3, 4), dict(proj_size=2, bias=False, batch_first=True, bidirectional=True)),
                           ("GRU", (3, 4), dict(num_layers=2, dropout=0.25)),
                           ("RNNCell", (3, 4), dict(bias=False, nonlinearity="relu")), ("LSTMCell", (3, 4), {}),
                           ("GRUCell", (3, 4), {})]:
        assert repr(RG[kind](*args, **kw)) == repr(getattr(torch.nn, kind)(*args, **kw))


def test_dropout_between_layers_in_training():
    refgrad.manual_seed(0)
    r = LSTM(4, 8, num_layers=2, dropout=0.5).double()
    x = rg(np.random.default_rng(6).standard_normal((5, 3, 4)))
    r.eval()
    ev = to_np(r(x)[0])
    np.testing.assert_array_equal(ev, to_np(r(x)[0]))  # eval: deterministic
    r.train()
    a, b = to_np(r(x)[0]), to_np(r(x)[0])
    assert not np.allclose(a, ev) and not np.allclose(a, b)  # training: masks drawn between the layers
    refgrad.manual_seed(7)
    a = to_np(r(x)[0])
    refgrad.manual_seed(7)
    np.testing.assert_array_equal(a, to_np(r(x)[0]))  # the generator's seed reproduces them
    one = LSTM(4, 8, num_layers=2, dropout=1.0).double().train()
    z = LSTM(8, 8).double()
    with refgrad.no_grad():  # p=1: layer 1 sees zeros, so its output is layer-1-alone on zero input
        for n in ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"):
            getattr(z, n).copy_(getattr(one, n.replace("l0", "l1")))
    np.testing.assert_allclose(to_np(one(x)[0]), to_np(z(refgrad.zeros(5, 3, 8, dtype=refgrad.float64))[0]))


def test_bad_arguments_raise_like_torch():
    with pytest.raises(ValueError, match="nonlinearity"):
        RNN(3, 4, nonlinearity="foo")
    with pytest.raises(ValueError, match="dropout should be a number"):
        GRU(3, 4, dropout=2)
    with pytest.raises(ValueError, match="proj_size has to be smaller"):
        LSTM(3, 4, proj_size=4)
    with pytest.raises(UserWarning, match="non-zero dropout expects num_layers greater than 1"):
        LSTM(3, 4, dropout=0.5)
    m = LSTM(3, 4)
    with pytest.raises(ValueError, match="Expected input to be 2D or 3D, got 4D"):
        m(refgrad.zeros(2, 3, 4, 3))
    with pytest.raises(RuntimeError, match="input.size\\(-1\\) must be equal to input_size. Expected 3, got 5"):
        m(refgrad.zeros(2, 3, 5))
    with pytest.raises(RuntimeError, match=r"Expected hidden\[1\] size \(1, 3, 4\), got \[2, 3, 4\]"):
        m(refgrad.zeros(2, 3, 3), (refgrad.zeros(1, 3, 4), refgrad.zeros(2, 3, 4)))
    with pytest.raises(RuntimeError, match="hx should also be 2-D but got 3-D"):
        GRU(3, 4)(refgrad.zeros(2, 3), refgrad.zeros(1, 1, 4))
    with pytest.raises(ValueError, match="GRUCell: Expected input to be 1D or 2D, got 3D"):
        GRUCell(3, 4)(refgrad.zeros(2, 3, 3))
    with pytest.raises(RuntimeError, match="Input batch size 2 doesn't match hidden0 batch size 3"):
        GRUCell(3, 4)(refgrad.zeros(2, 3), refgrad.zeros(3, 4))


# -- nn.utils.rnn ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("padding_side", ["right", "left"])
def test_pad_sequence_matches_torch(batch_first, padding_side):
    rng = np.random.default_rng(7)
    seqs = [rng.standard_normal((n, 2, 3)) for n in (3, 1, 4)]
    rs, ts = [_leaf(s) for s in seqs], None
    ts = [b for _, b in rs]
    r = pad_sequence([a for a, _ in rs], batch_first, -2.5, padding_side)
    t = torch.nn.utils.rnn.pad_sequence(ts, batch_first, -2.5, padding_side)
    assert_same(r, t)
    cot = rng.standard_normal(t.shape)
    r.backward(rg(cot)), t.backward(th(cot))
    for (a, b) in rs:
        assert_same(a.grad, b.grad)


def test_pack_pad_round_trip_and_pack_sequence():
    rng = np.random.default_rng(8)
    seqs = [rng.standard_normal((n, 2)) for n in (2, 4, 4, 1)]  # ties: the stable sort keeps 4, 4 in order
    r = pack_sequence([rg(s) for s in seqs], enforce_sorted=False)
    t = torch.nn.utils.rnn.pack_sequence([th(s) for s in seqs], enforce_sorted=False)
    assert_same(r.batch_sizes, t.batch_sizes)
    assert_same(r.unsorted_indices[r.sorted_indices], t.unsorted_indices[t.sorted_indices])
    rp, rl = pad_packed_sequence(r, batch_first=True, total_length=6)
    tp, tl = torch.nn.utils.rnn.pad_packed_sequence(t, batch_first=True, total_length=6)
    assert_same(rp, tp), assert_same(rl, tl)
    s = pack_sequence([rg(x) for x in sorted(seqs, key=len, reverse=True)])
    u = torch.nn.utils.rnn.pack_sequence([th(x) for x in sorted(seqs, key=len, reverse=True)])
    assert_same(s.data, u.data), assert_same(s.batch_sizes, u.batch_sizes)
    assert s.sorted_indices is None and s.unsorted_indices is None
    with pytest.raises(RuntimeError, match="must be sorted in decreasing order"):
        pack_sequence([rg(x) for x in seqs])
    with pytest.raises(ValueError, match="Expected total_length to be at least"):
        pad_packed_sequence(r, total_length=3)
    with pytest.raises(RuntimeError, match="greater than 0"):
        pack_padded_sequence(rg(np.zeros((3, 2))), [3, 0])


@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
def test_on_device_packed_bidirectional(device, kind):
    """The layer and the pack/pad utilities on the device under test (torch stays the CPU oracle)."""
    torch.manual_seed(0)
    r, t = _twins(kind, np.float32, 3, 4, bidirectional=True, num_layers=2)
    r = r.to(device)
    rng = np.random.default_rng(9)
    x = rng.standard_normal((5, 3, 3)).astype(np.float32)
    rx, tx = rg(x, device, True), th(x, requires_grad=True)
    lengths = [3, 5, 2]
    ro, rh = r(pack_padded_sequence(rx, lengths, enforce_sorted=False))
    to, thh = t(torch.nn.utils.rnn.pack_padded_sequence(tx, lengths, enforce_sorted=False))
    r_all = [pad_packed_sequence(ro)[0], *_flat(rh)]
    t_all = [torch.nn.utils.rnn.pad_packed_sequence(to)[0], *_flat(thh)]
    cots = [rng.standard_normal(tuple(b.shape)).astype(np.float32) for b in t_all]
    for i, (a, b) in enumerate(zip(r_all, t_all)):
        assert a.device.type == device
        assert_same(a, b, what=f"out {i}", **TOL[np.float32])
    refgrad.autograd.backward(r_all, [rg(c, device) for c in cots])
    torch.autograd.backward(t_all, [th(c) for c in cots])
    assert_same(rx.grad, tx.grad, **TOL[np.float32])
    for k, p in t.named_parameters():
        assert_same(r.get_parameter(k).grad, p.grad, what=f"grad {k}", **TOL[np.float32])


@pytest.mark.parametrize("use", ["both", "h", "c"])
def test_fused_lstm_pointwise_gradients(use):
    """The fused LSTM cell primitive against finite differences, first and second order, when both outputs are
    used and when either alone is (the other's incoming gradient is then None)."""
    from refgrad.autograd.graph import apply
    from refgrad.nn.modules.rnn import _LSTMPointwise
    rng = np.random.default_rng(3)
    gates = refgrad.tensor(rng.standard_normal((2, 12)), requires_grad=True)
    c = refgrad.tensor(rng.standard_normal((2, 3)), requires_grad=True)

    def f(a, b):
        h, c2 = apply(_LSTMPointwise, a, b)
        return {"both": (h, c2), "h": h, "c": c2}[use]
    assert refgrad.autograd.gradcheck(f, (gates, c), rtol=1e-6)
    assert refgrad.autograd.gradgradcheck(f, (gates, c), rtol=1e-5)
