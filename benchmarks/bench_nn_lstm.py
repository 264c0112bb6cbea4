"""LSTM forward + backward (input, h0/c0 and all parameter gradients): seq 32, batch 16, input 64, hidden 128,
one layer, float32. refgrad vs torch in the same run (see conftest.py)."""
from collections import OrderedDict

import numpy as np
import pytest

import refgrad
from refgrad.nn.modules.rnn import LSTM

torch = pytest.importorskip("torch")
ENGINES = {"refgrad": refgrad, "torch": torch}
SEQ, BATCH, INPUT, HIDDEN = 32, 16, 64, 128


@pytest.mark.parametrize("engine", ["refgrad", "torch"])
def test_lstm_fwd_bwd(twin, make, bench_device, engine):
    lib = ENGINES[engine]
    torch.manual_seed(0)
    ref = torch.nn.LSTM(INPUT, HIDDEN)
    if engine == "torch":
        model = ref
    else:  # the same weights in both engines
        model = LSTM(INPUT, HIDDEN)
        model.load_state_dict(OrderedDict((k, v.detach().numpy()) for k, v in ref.state_dict().items()))
    model.to(bench_device)
    rng = np.random.default_rng(0)
    x = make(lib, rng.standard_normal((SEQ, BATCH, INPUT)).astype(np.float32), requires_grad=True)
    h0 = make(lib, rng.standard_normal((1, BATCH, HIDDEN)).astype(np.float32), requires_grad=True)
    c0 = make(lib, rng.standard_normal((1, BATCH, HIDDEN)).astype(np.float32), requires_grad=True)
    cot = make(lib, rng.standard_normal((SEQ, BATCH, HIDDEN)).astype(np.float32))
    params = list(model.parameters())

    def step():
        x.grad = h0.grad = c0.grad = None
        for p in params:
            p.grad = None
        out, (h_n, c_n) = model(x, (h0, c0))
        out.backward(cot)

    twin(f"lstm_s{SEQ}_b{BATCH}_i{INPUT}_h{HIDDEN}_fwd+bwd", engine, step)
