"""conv2d forward + backward (input, weight and bias gradients), batch 16, 3 -> 16 channels, 32x32, 3x3 kernel,
padding 1, float32; and a 2x2 max pool on its output. refgrad vs torch in the same run (see conftest.py)."""
import numpy as np
import pytest

import refgrad

torch = pytest.importorskip("torch")
ENGINES = {"refgrad": refgrad, "torch": torch}


def _setup(lib, rng, make):
    x = make(lib, rng.standard_normal((16, 3, 32, 32)).astype(np.float32), requires_grad=True)
    w = make(lib, (rng.standard_normal((16, 3, 3, 3)) * 0.2).astype(np.float32), requires_grad=True)
    b = make(lib, rng.standard_normal(16).astype(np.float32), requires_grad=True)
    cot = make(lib, rng.standard_normal((16, 16, 32, 32)).astype(np.float32))
    return x, w, b, cot


@pytest.mark.parametrize("engine", ["refgrad", "torch"])
def test_conv2d_fwd_bwd(twin, make, engine):
    lib = ENGINES[engine]
    x, w, b, cot = _setup(lib, np.random.default_rng(0), make)

    def step():
        x.grad = w.grad = b.grad = None
        lib.nn.functional.conv2d(x, w, b, padding=1).backward(cot)

    twin("conv2d_b16_3to16_32x32_k3_fwd+bwd", engine, step)


@pytest.mark.parametrize("engine", ["refgrad", "torch"])
def test_conv_relu_maxpool_fwd_bwd(twin, make, engine):
    lib = ENGINES[engine]
    x, w, b, _ = _setup(lib, np.random.default_rng(0), make)
    cot = make(lib, np.random.default_rng(1).standard_normal((16, 16, 16, 16)).astype(np.float32))
    F = lib.nn.functional

    def step():
        x.grad = w.grad = b.grad = None
        F.max_pool2d(F.relu(F.conv2d(x, w, b, padding=1)), 2).backward(cot)

    twin("conv2d+relu+maxpool2_b16_fwd+bwd", engine, step)
