"""Op specs for refgrad.nn.init (names "nn.init.NAME", torch.nn.init as the oracle): the deterministic
initializers (constant_, ones_, zeros_, eye_, dirac_ and their deprecated non-underscore aliases) and
calculate_gain, forward only (supports_grad=False: an initializer overwrites its argument in place, there is
no derivative to check). The random initializers draw from refgrad's own stream, which cannot reproduce
torch's value for value: they are exempted in oracle_tests/test_coverage_nn.py (EXEMPT) and
their distributions are tested in oracle_tests/test_nn_init.py."""
from __future__ import annotations

import warnings

import numpy as np

import refgrad.nn.init as I

from ..spec import Sample, Spec, register


def _quiet(f):
    """Call ``f`` with the deprecated aliases' FutureWarning silenced."""
    def call(*a, **k):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return f(*a, **k)
    return call


def init(name, samples, *, deprecated=False):
    fn = getattr(I, name)
    torch = f"torch.nn.init.{name}"
    if deprecated:
        fn, torch = _quiet(fn), (lambda t: _quiet(getattr(t.nn.init, name)))
    samples = list(samples)
    register(Spec(name=f"nn.init.{name}", fn=fn, torch=torch, regression=samples, supports_grad=False))


def z(*shape):
    return np.full(shape, 7.0)  # any start value: the initializers overwrite it


init("constant_", [Sample((z(3, 4), 2.5)), Sample((z(), -1.0)), Sample((z(2, 0), 3.0)), Sample((z(2, 1, 3), 0))])
init("constant", [Sample((z(3, 4), 2.5)), Sample((z(2, 1, 3), -0.5))], deprecated=True)
init("ones_", [Sample((z(3, 4),)), Sample((z(),)), Sample((z(2, 1, 3),))])
init("zeros_", [Sample((z(3, 4),)), Sample((z(),)), Sample((z(2, 1, 3),))])
init("eye_", [Sample((z(3, 4),)), Sample((z(4, 2),)), Sample((z(3, 3),)), Sample((z(1, 5),))])
init("eye", [Sample((z(3, 4),)), Sample((z(4, 2),))], deprecated=True)
init("dirac_", [Sample((z(3, 2, 3),)), Sample((z(2, 4, 3, 3),)), Sample((z(4, 2, 3),), {"groups": 2}),
                Sample((z(2, 2, 1, 2, 3),)), Sample((z(6, 2, 3, 3),), {"groups": 3})])
init("dirac", [Sample((z(3, 2, 3),)), Sample((z(4, 2, 3),), {"groups": 2})], deprecated=True)
init("calculate_gain", [Sample((nl,)) for nl in ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d",
                                                  "conv_transpose2d", "conv_transpose3d", "sigmoid", "tanh",
                                                  "relu", "selu", "leaky_relu")]
     + [Sample(("leaky_relu", 0.2)), Sample(("leaky_relu", 3)), Sample(("tanh", None))])
