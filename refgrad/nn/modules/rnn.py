"""Matches `torch.nn` RNNCell, LSTMCell, GRUCell, RNN, LSTM and GRU: cells are composites of refgrad ops
(linear, sigmoid, tanh, chunk, cat), so gradients, double backward included, come from autograd; the LSTM's
pointwise gate math is one primitive per step (torch's fused LSTM cell) whose backward is written in refgrad ops.
The input-to-hidden projection of a whole layer is one matmul; only the hidden-to-hidden recurrence loops over
time steps. Parameter names, shapes, order and init (U(-1/sqrt(hidden), 1/sqrt(hidden))) are torch's, so
state_dicts load both ways."""
from __future__ import annotations

import math
import numbers
import warnings

from ..._backend import get_xp
from ..._tensor import Tensor
from ...autograd.grad_mode import state as _grad_state
from ...autograd.graph import apply
from ...ops.creation import empty, zeros, zeros_like
from ...ops.elementwise import _sigmoid
from ...ops.shape import cat, stack
from .. import functional as F
from .. import init
from ..parameter import Parameter
from ..utils.rnn import PackedSequence
from .module import Module

__all__ = ["RNNBase", "RNN", "LSTM", "GRU", "RNNCellBase", "RNNCell", "LSTMCell", "GRUCell"]

_GATES = {"LSTM": 4, "GRU": 3, "RNN_TANH": 1, "RNN_RELU": 1}


# -- one time step: ``gi`` is the input projection x @ W_ih^T + b_ih, already computed ---------------------------
def _rnn_step(gi, h, w_hh, b_hh, act):
    return act(gi + F.linear(h, w_hh, b_hh))


class _LSTMPointwise:
    """(gates (B, 4H) before their nonlinearities, c (B, H)) -> (h, c'): i, f, o = sigmoid, g = tanh,
    c' = f c + i g, h = o tanh(c'), as one node a step (torch's fused LSTM cell). Its backward is written in refgrad
    ops (double backward works); first order runs the same formulas on arrays from the saved activations."""
    node_name = "ThnnFusedLstmCellBackward0"

    @staticmethod
    def forward(ctx, gates, c):
        xp = get_xp(gates)
        H = c.shape[-1]
        s = _sigmoid(xp, gates)  # over all four blocks: one pass (the g block of it is unused)
        i, f, o = s[..., :H], s[..., H:2 * H], s[..., 3 * H:]
        g = xp.tanh(gates[..., 2 * H:3 * H])
        c_new = f * c + i * g
        tc = xp.tanh(c_new)
        h = o * tc
        if ctx.needs_input_grad:
            ctx.save_for_backward(gates, c)
            ctx.acts = (i, f, g, o, tc)
        return h, c_new

    @staticmethod
    def backward(ctx, gh, gc):
        gates, c = ctx.saved_tensors  # (checks that neither was modified in place since the forward)
        if not _grad_state.enabled:
            i, f, g, o, tc = ctx.acts
            c = c._data
            xp = get_xp(tc)
            gh_ = 0 if gh is None else gh._data
            dc = gh_ * o * (1 - tc * tc) + (0 if gc is None else gc._data)
            dg = xp.concatenate([dc * g * i * (1 - i), dc * c * f * (1 - f), dc * i * (1 - g * g),
                                 gh_ * tc * o * (1 - o)], axis=-1)
            n = ctx.needs_input_grad
            return (Tensor._wrap(dg) if n[0] else None), (Tensor._wrap(dc * f) if n[1] else None)
        i, f, gg, o = gates.chunk(4, -1)
        i, f, gg, o = i.sigmoid(), f.sigmoid(), gg.tanh(), o.sigmoid()
        tc = (f * c + i * gg).tanh()
        dc = gh * o * (1 - tc * tc) if gh is not None else zeros_like(c)
        if gc is not None:
            dc = dc + gc
        do = gh * tc * o * (1 - o) if gh is not None else zeros_like(o)
        return cat([dc * gg * i * (1 - i), dc * c * f * (1 - f), dc * i * (1 - gg * gg), do], -1), dc * f


def _lstm_step(gi, hc, w_hh, b_hh, w_hr=None):
    h, c = hc
    h, c = apply(_LSTMPointwise, gi + F.linear(h, w_hh, b_hh), c)
    if w_hr is not None:
        h = F.linear(h, w_hr)
    return h, c


def _gru_step(gi, h, w_hh, b_hh):
    i_r, i_z, i_n = gi.chunk(3, 1)
    h_r, h_z, h_n = F.linear(h, w_hh, b_hh).chunk(3, 1)
    r = (i_r + h_r).sigmoid()
    z = (i_z + h_z).sigmoid()
    n = (i_n + r * h_n).tanh()
    return n + z * (h - n)  # (1 - z) * n + z * h


def _check_p(dropout):
    if not isinstance(dropout, numbers.Number) or isinstance(dropout, bool) or not 0 <= dropout <= 1:
        raise ValueError("dropout should be a number in range [0, 1] representing the probability of an element "
                         "being zeroed")


class RNNBase(Module):
    """Matches `torch.nn.RNNBase`: the shared machinery of RNN, LSTM and GRU (``mode`` is 'LSTM', 'GRU',
    'RNN_TANH' or 'RNN_RELU')."""

    def __init__(self, mode, input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
                 bidirectional=False, proj_size=0, device=None, dtype=None):
        super().__init__()
        if mode not in _GATES:
            raise ValueError(f"Unrecognized RNN mode: {mode}")
        _check_p(dropout)
        if dropout > 0 and num_layers == 1:
            warnings.warn("dropout option adds dropout after all but last recurrent layer, so non-zero dropout "
                          f"expects num_layers greater than 1, but got dropout={dropout} and num_layers={num_layers}",
                          UserWarning, stacklevel=2)
        if not isinstance(hidden_size, int) or isinstance(hidden_size, bool):
            raise TypeError(f"hidden_size should be of type int, got: {type(hidden_size).__name__}")
        if hidden_size <= 0:
            raise ValueError("hidden_size must be greater than zero")
        if num_layers <= 0:
            raise ValueError("num_layers must be greater than zero")
        if proj_size < 0:
            raise ValueError("proj_size should be a positive integer or zero to disable projections")
        if proj_size >= hidden_size:
            raise ValueError("proj_size has to be smaller than hidden_size")
        if proj_size and mode != "LSTM":
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        self.mode = mode
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bias = bias
        self.batch_first = batch_first
        self.dropout = float(dropout)
        self.bidirectional = bidirectional
        self.proj_size = proj_size
        num_directions = 2 if bidirectional else 1
        gate_size = _GATES[mode] * hidden_size
        real_hidden = proj_size if proj_size > 0 else hidden_size
        kw = {"device": device, "dtype": dtype}
        self._flat_weights_names = []
        self._all_weights = []
        for layer in range(num_layers):
            layer_input = input_size if layer == 0 else real_hidden * num_directions
            for direction in range(num_directions):
                sfx = f"_l{layer}" + ("_reverse" if direction == 1 else "")
                shapes = {f"weight_ih{sfx}": (gate_size, layer_input), f"weight_hh{sfx}": (gate_size, real_hidden)}
                if bias:
                    shapes.update({f"bias_ih{sfx}": (gate_size,), f"bias_hh{sfx}": (gate_size,)})
                if proj_size > 0:
                    shapes[f"weight_hr{sfx}"] = (proj_size, hidden_size)
                for name, shape in shapes.items():
                    setattr(self, name, Parameter(empty(shape, **kw)))
                self._flat_weights_names.extend(shapes)
                self._all_weights.append(list(shapes))
        self.reset_parameters()

    def reset_parameters(self):
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for weight in self.parameters():
            init.uniform_(weight, -stdv, stdv)

    @property
    def _flat_weights(self):
        return [getattr(self, n) for n in self._flat_weights_names]

    @property
    def all_weights(self):
        return [[getattr(self, n) for n in names] for names in self._all_weights]

    def flatten_parameters(self):
        """A no-op, as torch's on CPU: there is no cuDNN weight buffer to compact."""

    def extra_repr(self):
        s = f"{self.input_size}, {self.hidden_size}"
        if self.proj_size != 0:
            s += f", proj_size={self.proj_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if self.batch_first is not False:
            s += f", batch_first={self.batch_first}"
        if self.dropout != 0:
            s += f", dropout={self.dropout}"
        if self.bidirectional is not False:
            s += f", bidirectional={self.bidirectional}"
        return s

    # -- forward --------------------------------------------------------------------------------------------------
    def _weights(self, layer, direction):
        sfx = f"_l{layer}" + ("_reverse" if direction == 1 else "")
        get = lambda n: getattr(self, n + sfx, None)  # noqa: E731
        return get("weight_ih"), get("weight_hh"), get("bias_ih"), get("bias_hh"), get("weight_hr")

    def _check_hidden(self, hx, expected, what="hidden"):
        if tuple(hx.shape) != expected:
            raise RuntimeError(f"Expected {what} size {expected}, got {list(hx.shape)}")

    def _run_direction(self, x, batch_sizes, state0, weights, reverse):
        """One layer in one direction over ``x`` (packed layout: steps of batch_sizes[t] rows each, the shorter
        sequences last). Returns the outputs in the same layout and the final state of every sequence."""
        w_ih, w_hh, b_ih, b_hh, w_hr = weights
        lstm = self.mode == "LSTM"
        if b_ih is not None and self.mode != "GRU":
            # both biases are added outside any gate nonlinearity: fold them into the one input projection
            # (GRU's b_hn sits inside r * (W_hn h + b_hn), so it stays per step)
            b_ih, b_hh = b_ih + b_hh, None
        steps = F.linear(x, w_ih, b_ih).split(batch_sizes, 0)
        if lstm:
            step = lambda gi, s: _lstm_step(gi, s, w_hh, b_hh, w_hr)  # noqa: E731
        elif self.mode == "GRU":
            step = lambda gi, s: _gru_step(gi, s, w_hh, b_hh)  # noqa: E731
        else:
            act = (lambda v: v.tanh()) if self.mode == "RNN_TANH" else (lambda v: v.relu())
            step = lambda gi, s: _rnn_step(gi, s, w_hh, b_hh, act)  # noqa: E731
        parts = state0 if lstm else (state0,)
        outs = [None] * len(steps)
        if not reverse:
            # sequences that end drop off the bottom of the batch: keep their final state
            state, finished, cur = parts, [], batch_sizes[0]
            for t, gi in enumerate(steps):
                bs = batch_sizes[t]
                if bs < cur:
                    finished.append(tuple(p[bs:cur] for p in state))
                    state, cur = tuple(p[:bs] for p in state), bs
                state = step(gi, state if lstm else state[0])
                state = state if lstm else (state,)
                outs[t] = state[0]
            finished.append(state)
            final = tuple(cat([f[k] for f in reversed(finished)], 0) for k in range(len(parts)))
        else:
            # sequences start at their own last step: their initial state joins the batch there
            state, cur = tuple(p[:0] for p in parts), 0
            for t in range(len(steps) - 1, -1, -1):
                bs = batch_sizes[t]
                if bs > cur:
                    state = tuple(cat([s, p[cur:bs]], 0) for s, p in zip(state, parts))
                    cur = bs
                state = step(steps[t], state if lstm else state[0])
                state = state if lstm else (state,)
                outs[t] = state[0]
            final = state
        return cat(outs, 0), (final if lstm else final[0])

    def forward(self, input, hx=None):  # noqa: A002
        name = "RNN" if self.mode.startswith("RNN") else self.mode
        packed = isinstance(input, PackedSequence)
        lstm = self.mode == "LSTM"
        num_directions = 2 if self.bidirectional else 1
        real_hidden = self.proj_size if self.proj_size > 0 else self.hidden_size
        unbatched = False
        if packed:
            x, batch_sizes = input.data, [int(b) for b in input.batch_sizes.tolist()]
            sorted_indices, unsorted_indices = input.sorted_indices, input.unsorted_indices
            batch = batch_sizes[0]
        else:
            if input.ndim not in (2, 3):
                raise ValueError(f"{name}: Expected input to be 2D or 3D, got {input.ndim}D instead")
            unbatched = input.ndim == 2
            batch_dim = 0 if self.batch_first else 1
            if unbatched:
                input = input.unsqueeze(batch_dim)  # noqa: A001
                if hx is not None:
                    for h in (hx if lstm else (hx,)):
                        if h.ndim != 2:
                            raise RuntimeError(f"For unbatched 2-D input, hx{' and cx' if lstm else ''} should "
                                               f"also be 2-D but got {h.ndim}-D tensor")
                    hx = tuple(h.unsqueeze(1) for h in hx) if lstm else hx.unsqueeze(1)
            elif hx is not None:
                for h in (hx if lstm else (hx,)):
                    if h.ndim != 3:
                        raise RuntimeError(f"For batched 3-D input, hx{' and cx' if lstm else ''} should also be "
                                           f"3-D but got {h.ndim}-D tensor")
            if self.batch_first:
                input = input.transpose(0, 1)  # noqa: A001
            seq_len, batch = input.shape[0], input.shape[1]
            batch_sizes = [batch] * seq_len
            x = input.reshape(seq_len * batch, *input.shape[2:])
            sorted_indices = unsorted_indices = None
        if x.shape[-1] != self.input_size:
            raise RuntimeError(f"input.size(-1) must be equal to input_size. Expected {self.input_size}, "
                               f"got {x.shape[-1]}")
        n_states = self.num_layers * num_directions
        h_shape, c_shape = (n_states, batch, real_hidden), (n_states, batch, self.hidden_size)
        if hx is None:
            h0 = zeros(h_shape, dtype=x.dtype, device=x.device)
            c0 = zeros(c_shape, dtype=x.dtype, device=x.device) if lstm else None
        else:
            h0, c0 = hx if lstm else (hx, None)
            if sorted_indices is not None:  # the caller's batch order -> the packed (sorted) order
                h0 = h0.index_select(1, sorted_indices)
                c0 = c0.index_select(1, sorted_indices) if lstm else None
            if lstm:
                self._check_hidden(h0, h_shape, "hidden[0]")
                self._check_hidden(c0, c_shape, "hidden[1]")
            else:
                self._check_hidden(h0, h_shape)
        h_n, c_n = [], []
        for layer in range(self.num_layers):
            outs = []
            for d in range(num_directions):
                k = layer * num_directions + d
                state0 = (h0[k], c0[k]) if lstm else h0[k]
                out, final = self._run_direction(x, batch_sizes, state0, self._weights(layer, d), d == 1)
                outs.append(out)
                h_n.append(final[0] if lstm else final)
                if lstm:
                    c_n.append(final[1])
            x = cat(outs, -1) if num_directions == 2 else outs[0]
            if self.dropout and self.training and layer < self.num_layers - 1:
                x = F.dropout(x, self.dropout, True)
        h_n = stack(h_n, 0)
        c_n = stack(c_n, 0) if lstm else None
        if packed:
            if unsorted_indices is not None:
                h_n = h_n.index_select(1, unsorted_indices)
                c_n = c_n.index_select(1, unsorted_indices) if lstm else None
            output = PackedSequence(x, input.batch_sizes, sorted_indices, unsorted_indices)
        else:
            output = x.reshape(seq_len, batch, x.shape[-1])
            if self.batch_first:
                output = output.transpose(0, 1)
            if unbatched:
                output = output.squeeze(0 if self.batch_first else 1)
                h_n = h_n.squeeze(1)
                c_n = c_n.squeeze(1) if lstm else None
        return output, ((h_n, c_n) if lstm else h_n)


class RNN(RNNBase):
    """Matches `torch.nn.RNN`: ``h_t = act(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh)``, act tanh or relu."""

    def __init__(self, input_size, hidden_size, num_layers=1, nonlinearity="tanh", bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, device=None, dtype=None):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or 'relu'.")
        super().__init__("RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU", input_size, hidden_size, num_layers,
                         bias, batch_first, dropout, bidirectional, device=device, dtype=dtype)
        self.nonlinearity = nonlinearity


class LSTM(RNNBase):
    """Matches `torch.nn.LSTM` (gates i, f, g, o in that order; ``proj_size > 0`` projects h with weight_hr)."""

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
                 bidirectional=False, proj_size=0, device=None, dtype=None):
        super().__init__("LSTM", input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         proj_size, device=device, dtype=dtype)


class GRU(RNNBase):
    """Matches `torch.nn.GRU` (gates r, z, n; ``n = tanh(W_in x + b_in + r * (W_hn h + b_hn))``)."""

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
                 bidirectional=False, device=None, dtype=None):
        super().__init__("GRU", input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         device=device, dtype=dtype)


# -- cells ---------------------------------------------------------------------------------------------------------
class RNNCellBase(Module):
    """Matches `torch.nn.RNNCellBase`: weight_ih (gates*hidden, input), weight_hh (gates*hidden, hidden) and the
    optional biases, all U(-1/sqrt(hidden), 1/sqrt(hidden))."""

    def __init__(self, input_size, hidden_size, bias, num_chunks, device=None, dtype=None):
        super().__init__()
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.bias = bias
        kw = {"device": device, "dtype": dtype}
        self.weight_ih = Parameter(empty((num_chunks * hidden_size, input_size), **kw))
        self.weight_hh = Parameter(empty((num_chunks * hidden_size, hidden_size), **kw))
        if bias:
            self.bias_ih = Parameter(empty(num_chunks * hidden_size, **kw))
            self.bias_hh = Parameter(empty(num_chunks * hidden_size, **kw))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self):
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for weight in self.parameters():
            init.uniform_(weight, -stdv, stdv)

    def extra_repr(self):
        s = f"{self.input_size}, {self.hidden_size}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if getattr(self, "nonlinearity", "tanh") != "tanh":
            s += f", nonlinearity={self.nonlinearity}"
        return s

    def _prepare(self, input, hx, n_states):  # noqa: A002
        """Checks shapes; returns the batched input, the list of states (zeros when hx is None), unbatched."""
        name = type(self).__name__
        if input.ndim not in (1, 2):
            raise ValueError(f"{name}: Expected input to be 1D or 2D, got {input.ndim}D instead")
        states = [] if hx is None else (list(hx) if n_states == 2 else [hx])
        for h in states:
            if h.ndim not in (1, 2):
                raise ValueError(f"{name}: Expected hidden to be 1D or 2D, got {h.ndim}D instead")
        unbatched = input.ndim == 1
        if unbatched:
            input = input.unsqueeze(0)  # noqa: A001
            states = [h.unsqueeze(0) for h in states]
        if input.shape[1] != self.input_size:
            raise RuntimeError(f"input has inconsistent input_size: got {input.shape[1]} expected {self.input_size}")
        if not states:
            states = [zeros((input.shape[0], self.hidden_size), dtype=input.dtype, device=input.device)] * n_states
        for i, h in enumerate(states):
            if h.shape[0] != input.shape[0]:
                raise RuntimeError(f"Input batch size {input.shape[0]} doesn't match hidden{i} batch size "
                                   f"{h.shape[0]}")
            if h.shape[1] != self.hidden_size:
                raise RuntimeError(f"hidden{i} has inconsistent hidden_size: got {h.shape[1]}, expected "
                                   f"{self.hidden_size}")
        return input, states, unbatched


class RNNCell(RNNCellBase):
    """Matches `torch.nn.RNNCell`: one step of an Elman RNN with tanh or relu."""

    def __init__(self, input_size, hidden_size, bias=True, nonlinearity="tanh", device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, num_chunks=1, device=device, dtype=dtype)
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"Unknown nonlinearity: {nonlinearity}")
        self.nonlinearity = nonlinearity

    def forward(self, input, hx=None):  # noqa: A002
        x, (h,), unbatched = self._prepare(input, hx, 1)
        act = (lambda v: v.tanh()) if self.nonlinearity == "tanh" else (lambda v: v.relu())
        h = _rnn_step(F.linear(x, self.weight_ih, self.bias_ih), h, self.weight_hh, self.bias_hh, act)
        return h.squeeze(0) if unbatched else h


class LSTMCell(RNNCellBase):
    """Matches `torch.nn.LSTMCell`: one LSTM step, returning (h', c')."""

    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, num_chunks=4, device=device, dtype=dtype)

    def forward(self, input, hx=None):  # noqa: A002
        x, (h, c), unbatched = self._prepare(input, hx, 2)
        h, c = _lstm_step(F.linear(x, self.weight_ih, self.bias_ih), (h, c), self.weight_hh, self.bias_hh)
        return (h.squeeze(0), c.squeeze(0)) if unbatched else (h, c)


class GRUCell(RNNCellBase):
    """Matches `torch.nn.GRUCell`: one GRU step."""

    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, num_chunks=3, device=device, dtype=dtype)

    def forward(self, input, hx=None):  # noqa: A002
        x, (h,), unbatched = self._prepare(input, hx, 1)
        h = _gru_step(F.linear(x, self.weight_ih, self.bias_ih), h, self.weight_hh, self.bias_hh)
        return h.squeeze(0) if unbatched else h
