"""A first end-to-end check of the engine against torch: an MLP forward/backward and autograd basics."""
import numpy as np

import refgrad

from .helpers import check_op


def test_mlp_chain_matches_torch(device, rng):
    x = rng.standard_normal((4, 3))
    w = rng.standard_normal((3, 5))
    b = rng.standard_normal(5)
    check_op(lambda x, w, b: (x @ w + b).tanh().log_softmax(1),
             lambda x, w, b: (x @ w + b).tanh().log_softmax(1), [x, w, b], device=device)


def test_hundred_thousand_op_chain_backpropagates():
    x = refgrad.ones(1, requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y * 1.0
    y.backward()
    np.testing.assert_array_equal(x.grad.numpy(), [1.0])
