"""nn.init against torch: gains, fans and error messages exactly; distributions statistically (mean, std
and bounds of a large seeded tensor: the random streams differ); deterministic initializers exactly."""
import math

import numpy as np
import pytest
import torch

import refgrad
import refgrad.nn as nn

from .helpers import to_np

init = nn.init


def _param(*shape, dtype=refgrad.float32):
    return nn.Parameter(refgrad.empty(*shape, dtype=dtype))


@pytest.mark.parametrize("args", [("linear",), ("conv2d",), ("sigmoid",), ("tanh",), ("relu",), ("selu",),
                                  ("leaky_relu",), ("leaky_relu", 0.2), ("leaky_relu", 3), ("conv_transpose3d",)])
def test_calculate_gain_matches_torch(args):
    assert init.calculate_gain(*args) == torch.nn.init.calculate_gain(*args)


def _errors(lib):
    I = lib.nn.init
    out = []
    for fn in (lambda: I.calculate_gain("swish"), lambda: I.calculate_gain("leaky_relu", True),
               lambda: I.xavier_uniform_(lib.empty(5)), lambda: I.kaiming_normal_(lib.empty(3, 4), mode="fan_avg"),
               lambda: I.eye_(lib.empty(2, 2, 2)), lambda: I.dirac_(lib.empty(2, 2)),
               lambda: I.dirac_(lib.empty(3, 2, 3), groups=2), lambda: I.orthogonal_(lib.empty(3)),
               lambda: I.sparse_(lib.empty(3), 0.1)):
        with pytest.raises(Exception) as e:  # noqa: PT011 - compared with torch's type below
            fn()
        out.append((type(e.value), str(e.value)))
    return out


def test_errors_match_torch():
    assert _errors(refgrad) == _errors(torch)


def _tol(x):
    # five standard errors of the sample mean (in units of std) and of the sample std (relative)
    return 5 / math.sqrt(x.size), 5 / math.sqrt(2 * x.size)


def _check_uniform(x, lo, hi):
    sd = (hi - lo) / math.sqrt(12)
    m_tol, s_tol = _tol(x)
    assert x.min() >= lo and x.max() <= hi
    assert x.min() < lo + 0.01 * (hi - lo) and x.max() > hi - 0.01 * (hi - lo)
    np.testing.assert_allclose(x.mean(), (lo + hi) / 2, atol=m_tol * sd)
    np.testing.assert_allclose(x.std(), sd, rtol=s_tol)


def _check_normal(x, mean, std):
    m_tol, s_tol = _tol(x)
    np.testing.assert_allclose(x.mean(), mean, atol=m_tol * std)
    np.testing.assert_allclose(x.std(), std, rtol=s_tol)


def test_uniform_normal_constant_under_no_grad():
    refgrad.manual_seed(0)
    p = _param(200, 300)
    assert init.uniform_(p, -2.0, 3.0) is p
    assert p.grad_fn is None and p.requires_grad  # in place on a leaf that requires grad: no_grad inside
    _check_uniform(to_np(p), -2.0, 3.0)
    init.normal_(p, 1.5, 0.5)
    _check_normal(to_np(p), 1.5, 0.5)
    assert init.constant_(p, 0.25) is p and np.all(to_np(p) == 0.25)
    init.ones_(p)
    assert np.all(to_np(p) == 1)
    init.zeros_(p)
    assert np.all(to_np(p) == 0) and p.dtype == refgrad.float32


@pytest.mark.parametrize("shape", [(120, 300), (64, 16, 3, 3)])
def test_xavier_and_kaiming_follow_torch_fans(shape):
    refgrad.manual_seed(1)
    p = _param(*shape)
    receptive = int(np.prod(shape[2:]))
    fan_in, fan_out = shape[1] * receptive, shape[0] * receptive
    std = math.sqrt(2.0 / (fan_in + fan_out))
    _check_uniform(to_np(init.xavier_uniform_(p, gain=2.0)), -2 * std * math.sqrt(3), 2 * std * math.sqrt(3))
    _check_normal(to_np(init.xavier_normal_(p, gain=0.5)), 0.0, 0.5 * std)
    gain = math.sqrt(2.0 / (1 + 0.1 ** 2))
    b = gain * math.sqrt(3.0 / fan_out)
    _check_uniform(to_np(init.kaiming_uniform_(p, a=0.1, mode="fan_out")), -b, b)
    _check_normal(to_np(init.kaiming_normal_(p, nonlinearity="relu")), 0.0, math.sqrt(2.0 / fan_in))
    _check_normal(to_np(init.kaiming_normal_(p, mode="FAN_IN", nonlinearity="tanh")), 0.0, 5 / 3 / math.sqrt(fan_in))


def test_kaiming_on_empty_tensor_warns_and_does_nothing():
    t = refgrad.empty(0, 3)
    with pytest.warns(UserWarning, match="Initializing zero-element tensors is a no-op"):
        assert init.kaiming_uniform_(t) is t
    with pytest.warns(UserWarning, match="Initializing zero-element tensors is a no-op"):
        init.kaiming_normal_(t)


def _truncnorm_moments(mean, std, a, b):
    al, be = (a - mean) / std, (b - mean) / std
    pdf = lambda z: math.exp(-z * z / 2) / math.sqrt(2 * math.pi)  # noqa: E731
    cdf = lambda z: (1 + math.erf(z / math.sqrt(2))) / 2  # noqa: E731
    z = cdf(be) - cdf(al)
    m = mean + std * (pdf(al) - pdf(be)) / z
    var = std ** 2 * (1 + (al * pdf(al) - be * pdf(be)) / z - ((pdf(al) - pdf(be)) / z) ** 2)
    return m, math.sqrt(var)


@pytest.mark.parametrize("mean,std,a,b", [(0.0, 1.0, -2.0, 2.0), (0.5, 2.0, -1.0, 1.0), (0.0, 1.0, 3.0, 5.0)])
def test_trunc_normal_bounds_and_moments(mean, std, a, b):
    refgrad.manual_seed(2)
    t = refgrad.empty(300, 200, dtype=refgrad.float64)
    if mean < a - 2 * std:
        with pytest.warns(UserWarning, match="mean is more than 2 std"):
            init.trunc_normal_(t, mean, std, a, b)
    else:
        init.trunc_normal_(t, mean, std, a, b)
    x = to_np(t)
    m, s = _truncnorm_moments(mean, std, a, b)
    assert x.min() >= a and x.max() <= b
    m_tol, s_tol = _tol(x)
    np.testing.assert_allclose(x.mean(), m, atol=m_tol * s)
    np.testing.assert_allclose(x.std(), s, rtol=2 * s_tol)


def test_generator_makes_draws_reproducible():
    g = refgrad.Generator().manual_seed(7)
    a = to_np(init.normal_(refgrad.empty(5, 5), generator=g)).copy()
    b = to_np(init.trunc_normal_(refgrad.empty(5, 5), generator=g)).copy()
    g.manual_seed(7)
    np.testing.assert_array_equal(to_np(init.normal_(refgrad.empty(5, 5), generator=g)), a)
    np.testing.assert_array_equal(to_np(init.trunc_normal_(refgrad.empty(5, 5), generator=g)), b)
    assert not np.array_equal(to_np(init.kaiming_uniform_(refgrad.empty(5, 5), generator=g)),
                              to_np(init.kaiming_uniform_(refgrad.empty(5, 5), generator=g)))


@pytest.mark.parametrize("shape,groups", [((3, 5), None), ((5, 3), None), ((4, 2, 3), 1), ((6, 2, 3, 3), 2),
                                          ((2, 3, 3, 4, 5), 1)])
def test_eye_and_dirac_equal_torch(shape, groups):
    if groups is None:
        ours, theirs = init.eye_(_param(*shape)), torch.nn.init.eye_(torch.empty(*shape))
    else:
        ours, theirs = init.dirac_(_param(*shape), groups), torch.nn.init.dirac_(torch.empty(*shape), groups)
    np.testing.assert_array_equal(to_np(ours), theirs.numpy())
    assert ours.dtype == refgrad.float32 and ours.requires_grad


@pytest.mark.parametrize("shape", [(6, 10), (10, 6), (4, 3, 2, 2)])
def test_orthogonal_gives_orthonormal_rows_or_columns(shape):
    refgrad.manual_seed(3)
    q = to_np(init.orthogonal_(_param(*shape, dtype=refgrad.float64), gain=2.0)).reshape(shape[0], -1)
    rows, cols = q.shape
    gram = q @ q.T if rows <= cols else q.T @ q
    np.testing.assert_allclose(gram, 4.0 * np.eye(min(rows, cols)), atol=1e-10)


def test_sparse_zeroes_a_fraction_of_each_column():
    refgrad.manual_seed(4)
    x = to_np(init.sparse_(_param(50, 400), sparsity=0.3, std=0.2))
    assert np.all((x == 0).sum(0) == math.ceil(0.3 * 50))
    nz = x[x != 0]
    _check_normal(nz, 0.0, 0.2)


def test_deprecated_aliases_warn():
    with pytest.warns(FutureWarning, match="`nn.init.uniform` is now deprecated in favor of `nn.init.uniform_`"):
        init.uniform(refgrad.empty(2))
    with pytest.warns(FutureWarning, match="nn.init.xavier_normal_"):
        init.xavier_normal(refgrad.empty(2, 2))
