"""Issue targets: (a) 200-op elementwise chain on 16 float32 elements, forward + backward, <= 1.5x
torch; (b) MLP 784-512-512-10 training step, batch 256, float32, <= 1.2x torch."""
import numpy as np
import pytest

import refgrad

torch = pytest.importorskip("torch")
ENGINES = {"refgrad": refgrad, "torch": torch}


def _chain(lib, x0):
    x = x0
    for _ in range(50):  # 4 ops a round -> 200 ops
        x = x * 0.99
        x = x.sin()
        x = x + 0.1
        x = x.tanh()
    return x


@pytest.mark.parametrize("engine", ["refgrad", "torch"])
def test_elementwise_chain_200(twin, make, engine):
    lib = ENGINES[engine]
    data = np.random.default_rng(0).standard_normal(16).astype(np.float32)
    x = make(lib, data, requires_grad=True)
    cot = make(lib, np.random.default_rng(1).standard_normal(16).astype(np.float32))

    def step():
        x.grad = None
        _chain(lib, x).backward(cot)

    twin("chain200_16xf32_fwd+bwd", engine, step)


def _mlp_params(lib, rng, make):
    def lin(i, o):
        bound = 1 / np.sqrt(i)
        w = make(lib, rng.uniform(-bound, bound, (i, o)).astype(np.float32), requires_grad=True)
        b = make(lib, rng.uniform(-bound, bound, o).astype(np.float32), requires_grad=True)
        return w, b
    return [*lin(784, 512), *lin(512, 512), *lin(512, 10)]


@pytest.mark.parametrize("engine", ["refgrad", "torch"])
def test_mlp_train_step(twin, make, engine):
    lib = ENGINES[engine]
    rng = np.random.default_rng(0)
    params = _mlp_params(lib, rng, make)
    x = make(lib, rng.standard_normal((256, 784)).astype(np.float32))
    y = make(lib, rng.integers(0, 10, 256).astype(np.int64))
    lr = 0.01

    def step():
        w1, b1, w2, b2, w3, b3 = params
        h = (x.matmul(w1) + b1).relu()
        h = (h.matmul(w2) + b2).relu()
        logp = (h.matmul(w3) + b3).log_softmax(dim=1)
        loss = -logp.gather(1, y.unsqueeze(1)).mean()
        for p in params:
            p.grad = None
        loss.backward()
        with lib.no_grad():
            for p in params:
                p.sub_(p.grad, alpha=lr)

    twin("mlp_784-512-512-10_b256_step", engine, step)
