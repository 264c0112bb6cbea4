"""Reductions, scans and selections against torch: values, index conventions at ties, result dtypes,
gradients (VJP with random cotangents and double backward), kinks (zeros in prod/cumprod, norms at 0,
std of a constant), empty inputs and bad arguments."""
import math
import warnings

import hypothesis.extra.numpy as hnp
import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import refgrad
from refgrad.ops.reduction import matrix_norm, vector_norm

from .helpers import assert_same, check_op, rg, th, to_np

FLOATS = [np.float32, np.float64]
# hypothesis with the function-scoped `device` fixture: each example builds its own tensors
HYP = settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                      HealthCheck.data_too_large])
shapes = hnp.array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=4)
seeds = st.integers(0, 2 ** 32 - 1)


def vnorm(lib):
    """linalg.vector_norm of either library (refgrad.linalg re-exports refgrad.ops.reduction's)."""
    return vector_norm if lib is refgrad else torch.linalg.vector_norm


def mnorm(lib):
    return matrix_norm if lib is refgrad else torch.linalg.matrix_norm


def _randn(seed, shape, dtype, shift=0.0, scale=1.0):
    """Standard normal data (ties-free with probability 1), always an ndarray (also 0-d)."""
    return np.asarray(np.random.default_rng(seed).standard_normal(shape) * scale + shift).astype(dtype)


def _dim(data, shape, allow_none=True):
    n = max(len(shape), 1)
    choices = st.integers(-n, n - 1)
    return data.draw(st.none() | choices if allow_none else choices)


def _grads(fn, lib, arr, cot, device="cpu"):
    """Gradient of <fn(x), cot> w.r.t. x in refgrad or torch."""
    x = (rg if lib is refgrad else th)(arr, device, True)
    out = fn(x)
    out = out[0] if isinstance(out, tuple) else out
    c = (rg if lib is refgrad else th)(np.asarray(cot, dtype=arr.dtype), device)
    return lib.autograd.grad(out, x, c)[0]


def _check_double_backward(rg_fn, th_fn, arr, device, rtol=1e-6, atol=1e-6):
    """Double backward vs torch for ops whose torch double grad is a ZeroTensor (sign's derivative), which
    helpers.to_np cannot read: torch's side is read with numpy(force=True)."""
    rng = np.random.default_rng(1)
    x_t = th(arr, device, True)
    y_t = th_fn(x_t)
    c1 = rng.standard_normal(tuple(y_t.shape)).astype(arr.dtype)
    c2 = rng.standard_normal(arr.shape).astype(arr.dtype)
    g_t, = torch.autograd.grad(y_t, x_t, th(c1, device), create_graph=True)
    x_o = rg(arr, device, True)
    g_o, = refgrad.autograd.grad(rg_fn(x_o), x_o, rg(c1, device), create_graph=True)
    gg_t = torch.autograd.grad(g_t, x_t, th(c2, device), allow_unused=True)[0] if g_t.requires_grad else None
    gg_o = refgrad.autograd.grad(g_o, x_o, rg(c2, device), allow_unused=True)[0] if g_o.requires_grad else None
    theirs = np.zeros(arr.shape) if gg_t is None else gg_t.detach().cpu().numpy(force=True)
    ours = np.zeros(arr.shape) if gg_o is None else to_np(gg_o)
    np.testing.assert_allclose(ours, theirs, rtol=rtol, atol=atol, equal_nan=True)


def _check_tie_convention(rg_fn, th_fn, arr, device):
    """Tie conventions are torch's on CPU (its CUDA kernels may pick another tied index): check_op against
    CPU torch, then the device's refgrad against CPU refgrad (values, indices and gradient)."""
    check_op(rg_fn, th_fn, [arr])
    if device == "cpu":
        return
    for ours, cpu in zip(rg_fn(rg(arr, device)), rg_fn(rg(arr))):
        np.testing.assert_allclose(to_np(ours), to_np(cpu), rtol=1e-7, equal_nan=True)
    cot = np.random.default_rng(2).standard_normal(tuple(rg_fn(rg(arr))[0].shape))
    np.testing.assert_allclose(to_np(_grads(rg_fn, refgrad, arr, cot, device)), to_np(_grads(rg_fn, refgrad, arr, cot)),
                               rtol=1e-7)


def _raises_like_torch(rg_fn, th_fn, same_message=True):
    """refgrad raises the same exception type as torch; with ``same_message`` its message starts like torch's
    (torch's argument-parser TypeErrors list overloads; refgrad names the bad argument instead)."""
    with pytest.raises(Exception) as theirs:
        th_fn()
    with pytest.raises(type(theirs.value)) as ours:
        rg_fn()
    head = str(theirs.value).split("\n")[0][:30]
    if same_message:
        assert str(ours.value).startswith(head), (str(ours.value), str(theirs.value))
    assert str(ours.value)
    return str(ours.value), str(theirs.value)


# -- dtypes of results ------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["sum", "prod", "cumsum", "cumprod", "max", "amax", "median", "mode",
                                  "count_nonzero", "all", "any", "argmax", "logsumexp", "sort", "cummax"])
@pytest.mark.parametrize("dtype", [np.int32, np.int64, np.uint8, np.bool_, np.float32, np.float64])
def test_result_dtypes_match_torch(name, dtype):
    arr = np.array([[3, 0, 2], [1, 1, 0]]).astype(dtype)
    calls = {"sum": lambda L, x: L.sum(x), "prod": lambda L, x: L.prod(x, 1), "cumsum": lambda L, x: L.cumsum(x, 0),
             "cumprod": lambda L, x: L.cumprod(x, 1), "max": lambda L, x: L.max(x, 1), "amax": lambda L, x: L.amax(x),
             "median": lambda L, x: L.median(x), "mode": lambda L, x: L.mode(x, 1),
             "count_nonzero": lambda L, x: L.count_nonzero(x, 0), "all": lambda L, x: L.all(x, 1),
             "any": lambda L, x: L.any(x), "argmax": lambda L, x: L.argmax(x, 1),
             "logsumexp": lambda L, x: L.logsumexp(x, 1), "sort": lambda L, x: L.sort(x, dim=1, stable=True),
             "cummax": lambda L, x: L.cummax(x, 1)}
    fn = calls[name]
    try:
        theirs = fn(torch, th(arr))
    except (RuntimeError, NotImplementedError) as e:
        with pytest.raises(type(e)):
            fn(refgrad, rg(arr))
        return
    assert_same(fn(refgrad, rg(arr)), theirs)


@pytest.mark.parametrize("dtype,out", [(refgrad.float64, torch.float64), (refgrad.float32, torch.float32),
                                       (refgrad.int32, torch.int32)])
def test_dtype_argument_of_sum_prod_and_scans(dtype, out):
    arr = np.array([[1.5, 2.0, -3.0], [0.5, 4.0, 1.0]], dtype=np.float32)
    for name in ("sum", "prod"):
        assert_same(getattr(refgrad, name)(rg(arr), dtype=dtype), getattr(torch, name)(th(arr), dtype=out))
    assert_same(refgrad.prod(rg(arr), 1, dtype=dtype), torch.prod(th(arr), 1, dtype=out))
    for name in ("cumsum", "cumprod"):
        assert_same(getattr(refgrad, name)(rg(arr), 1, dtype=dtype), getattr(torch, name)(th(arr), 1, dtype=out))


# -- prod -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", FLOATS)
@HYP
@given(shape=shapes, seed=seeds, data=st.data())
def test_prod_matches_torch(device, dtype, shape, seed, data):
    x = _randn(seed, shape, dtype, shift=0.5)
    dim = _dim(data, shape)
    keepdim = data.draw(st.booleans())
    if dim is None:
        check_op(lambda t: t.prod(), lambda t: t.prod(), [x], device=device)
    else:
        check_op(lambda t: refgrad.prod(t, dim, keepdim), lambda t: torch.prod(t, dim, keepdim), [x], device=device)


@pytest.mark.parametrize("zeros", [[1], [0, 3], [1, 2, 4]])
@pytest.mark.parametrize("dtype", FLOATS)
def test_prod_gradient_is_exact_with_zeros(device, dtype, zeros):
    x = np.array([1.5, -2.0, 0.7, 3.0, -1.2], dtype=dtype)
    x[zeros] = 0
    check_op(lambda t: t.prod(), lambda t: t.prod(), [x], device=device)
    m = np.stack([x, np.roll(x, 2), np.array([1.0, 2, 3, 4, 5], dtype)])
    check_op(lambda t: t.prod(1), lambda t: t.prod(1), [m], device=device)
    check_op(lambda t: t.prod(0, keepdim=True), lambda t: t.prod(0, keepdim=True), [m], device=device)


def test_prod_gradgrad_with_two_zeros_matches_torch():
    x = refgrad.tensor([2.0, 0.0, 3.0, 0.5, 0.0, 4.0], dtype=refgrad.float64, requires_grad=True)
    tx = torch.tensor(x.detach().numpy(), requires_grad=True)
    g, = refgrad.autograd.grad(x.prod(), x, create_graph=True)
    tg, = torch.autograd.grad(tx.prod(), tx, create_graph=True)
    c = np.arange(6.0) - 2
    assert_same(refgrad.autograd.grad(g, x, rg(c))[0], torch.autograd.grad(tg, tx, th(c))[0])


def test_prod_dim_must_be_int():
    ours, _ = _raises_like_torch(lambda: refgrad.ones(2, 3).prod((0, 1)), lambda: torch.ones(2, 3).prod((0, 1)),
                                 same_message=False)
    assert "dim" in ours and "tuple" in ours


# -- max / min / argmax / argmin / aminmax -----------------------------------------------------------------
@pytest.mark.parametrize("name", ["max", "min"])
@pytest.mark.parametrize("dtype", FLOATS)
@HYP
@given(shape=shapes, seed=seeds, data=st.data())
def test_max_min_match_torch(device, dtype, name, shape, seed, data):
    x = _randn(seed, shape, dtype)
    dim = _dim(data, shape)
    keepdim = data.draw(st.booleans())
    if dim is None:
        check_op(lambda t: getattr(t, name)(), lambda t: getattr(t, name)(), [x], device=device)
    else:
        check_op(lambda t: getattr(refgrad, name)(t, dim, keepdim), lambda t: getattr(torch, name)(t, dim, keepdim),
                 [x], device=device)
        check_op(lambda t: getattr(refgrad, "arg" + name)(t, dim, keepdim),
                 lambda t: getattr(torch, "arg" + name)(t, dim, keepdim), [x], device=device)


@pytest.mark.parametrize("name", ["max", "min", "amax", "amin", "median", "nanmedian"])
def test_full_reductions_share_ties_evenly(device, name):
    x = np.array([[1.0, 3.0, -1.0], [3.0, -1.0, 3.0]])
    if name in ("median", "nanmedian"):
        x = np.array([1.0, 2.0, 2.0, 1.0, 3.0])
    cot = np.float64(-1.7)
    ours = _grads(lambda t: getattr(t, name)(), refgrad, x, cot, device)
    theirs = _grads(lambda t: getattr(t, name)(), torch, x, cot, device)
    assert_same(ours, theirs)
    assert np.count_nonzero(to_np(ours)) >= 2  # really a tie that is shared


@pytest.mark.parametrize("name", ["max", "min"])
def test_max_min_full_with_nan_share_among_nans(name):
    x = np.array([1.0, np.nan, 2.0, np.nan])
    assert_same(_grads(lambda t: getattr(t, name)(), refgrad, x, 2.0),
                _grads(lambda t: getattr(t, name)(), torch, x, 2.0))


@pytest.mark.parametrize("name", ["max", "min", "argmax", "argmin"])
def test_dim_reductions_return_first_index_at_ties(device, name):
    x = np.array([[1.0, 3.0, 3.0, 0.0, 3.0], [2.0, 0.0, 1.0, 0.0, 0.0], [np.nan, 1.0, np.nan, 5.0, 0.0]])
    check_op(lambda t: getattr(refgrad, name)(t, 1), lambda t: getattr(torch, name)(t, 1), [x], device=device,
             gradgrad=False)
    check_op(lambda t: getattr(refgrad, name)(t, 0, True), lambda t: getattr(torch, name)(t, 0, True), [x],
             device=device, gradgrad=False)


def test_max_dim_result_is_named_and_unpacks():
    values, indices = refgrad.max(rg(np.array([[1.0, 5.0], [7.0, 2.0]])), 1)
    r = refgrad.tensor([[1.0, 5.0], [7.0, 2.0]]).min(dim=0, keepdim=True)
    assert r.values.shape == (1, 2) and r.indices.tolist() == [[0, 1]]
    assert values.tolist() == [5.0, 7.0] and indices.tolist() == [1, 0] and indices.dtype == refgrad.int64


def test_max_min_binary_forms_are_maximum_minimum(device):
    a = np.array([1.0, 2.0, 3.0, 2.0], dtype=np.float32)
    b = np.array([2.0, 2.0, 1.0, 2.0])
    check_op(lambda x, y: refgrad.max(x, y), lambda x, y: torch.max(x, y), [a, b], device=device)
    check_op(lambda x, y: refgrad.min(x, other=y), lambda x, y: torch.min(x, other=y), [a, b], device=device)
    check_op(lambda x, y: x.max(y), lambda x, y: x.max(y), [a, b], device=device)


@pytest.mark.parametrize("dim", [None, 0, 1])
def test_argmax_argmin_keepdim_and_flatten(dim):
    x = np.array([[1.0, 9.0, 3.0], [9.0, -4.0, -4.0]])
    for name in ("argmax", "argmin"):
        for keepdim in (False, True):
            assert_same(getattr(refgrad, name)(rg(x), dim, keepdim), getattr(torch, name)(th(x), dim, keepdim))
    assert_same(refgrad.argmax(rg(np.float64(3.0)), 0, True), torch.argmax(th(np.float64(3.0)), 0, True))


@pytest.mark.parametrize("dim", [None, 0, 1])
@pytest.mark.parametrize("keepdim", [False, True])
def test_aminmax_matches_torch(device, dim, keepdim):
    x = np.array([[1.0, 3.0, -2.0], [4.0, 0.5, 4.0]])
    # forward against CPU torch: some torch CUDA builds drop keepdim's dims when dim=None (with a warning)
    check_op(lambda t: refgrad.aminmax(t, dim=dim, keepdim=keepdim),
             lambda t: torch.aminmax(t, dim=dim, keepdim=keepdim), [x], grad=False)
    assert refgrad.aminmax(rg(x, device), dim=dim, keepdim=keepdim).max.device.type == device
    # torch's aminmax backward (missing on some torch builds) is amin's and amax's: ties share evenly
    dims = () if dim is None else dim
    check_op(lambda t: refgrad.aminmax(t, dim=dim, keepdim=keepdim),
             lambda t: (torch.amin(t, dims, keepdim), torch.amax(t, dims, keepdim)), [x], device=device)
    r = refgrad.aminmax(rg(x))
    assert r.min.item() == -2.0 and r.max.item() == 4.0


# -- var / std ------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["var", "std"])
@pytest.mark.parametrize("dtype", FLOATS)
@HYP
@given(shape=hnp.array_shapes(min_dims=1, max_dims=3, min_side=2, max_side=4), seed=seeds, data=st.data())
def test_var_std_match_torch(device, dtype, name, shape, seed, data):
    x = _randn(seed, shape, dtype)
    dim = _dim(data, shape)
    correction = data.draw(st.sampled_from([0, 1]))
    keepdim = data.draw(st.booleans())
    check_op(lambda t: getattr(refgrad, name)(t, dim, correction=correction, keepdim=keepdim),
             lambda t: getattr(torch, name)(t, dim, correction=correction, keepdim=keepdim), [x], device=device,
             grad_rtol=1e-4 if dtype == np.float32 else None)


@pytest.mark.parametrize("name", ["var", "std", "var_mean", "std_mean"])
def test_var_std_argument_forms(device, name):
    x = np.random.default_rng(1).standard_normal((3, 4))
    forms = [lambda L, t: getattr(L, name)(t), lambda L, t: getattr(L, name)(t, 1, False),
             lambda L, t: getattr(L, name)(t, False), lambda L, t: getattr(L, name)(t, unbiased=False),
             lambda L, t: getattr(L, name)(t, (0, 1), keepdim=True, correction=2),
             lambda L, t: getattr(L, name)(t, dim=0, unbiased=True, keepdim=True)]
    for f in forms:
        check_op(lambda t, f=f: f(refgrad, t), lambda t, f=f: f(torch, t), [x], device=device)


def test_std_of_a_constant_has_zero_gradient(device):
    x = np.full((2, 3), 1.5)
    check_op(lambda t: t.std(1), lambda t: t.std(1), [x], device=device)
    check_op(lambda t: t.std(), lambda t: t.std(), [x], device=device)


@pytest.mark.parametrize("case", ["n=1", "dim n=c", "dim n<c", "full n<c"])
def test_var_with_no_degrees_of_freedom_warns_like_torch(case):
    x = np.array([[1.0, 2.0, 4.0], [3.0, 1.0, 2.0]])
    f = {"n=1": lambda L, t: L.var(t[:1, :1]), "dim n=c": lambda L, t: L.var(t, 1, correction=3),
         "dim n<c": lambda L, t: L.var(t, 1, correction=5), "full n<c": lambda L, t: L.var(t, correction=7)}[case]
    with pytest.warns(UserWarning, match="degrees of freedom is <= 0"):
        ours = f(refgrad, rg(x, requires_grad=True))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tx = th(x, requires_grad=True)
        theirs = f(torch, tx)
    assert_same(ours, theirs)
    cot = np.random.default_rng(0).standard_normal(tuple(theirs.shape))
    x_o = rg(x, requires_grad=True)
    with pytest.warns(UserWarning):
        out = f(refgrad, x_o)
    assert_same(refgrad.autograd.grad(out, x_o, rg(cot))[0], torch.autograd.grad(theirs, tx, th(cot))[0])


def test_var_of_empty_input_warns_like_torch():
    with pytest.warns(UserWarning, match="degrees of freedom"):
        ours = refgrad.zeros(0, 3).var(1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert_same(ours, torch.zeros(0, 3).var(1))


def test_var_rejects_integer_input():
    _raises_like_torch(lambda: refgrad.tensor([1, 2]).var(), lambda: torch.tensor([1, 2]).var())


# -- logsumexp -------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", FLOATS)
@HYP
@given(shape=shapes, seed=seeds, data=st.data())
def test_logsumexp_matches_torch(device, dtype, shape, seed, data):
    x = _randn(seed, shape, dtype, scale=30.0)  # large values: the stable form matters
    dim = _dim(data, shape, allow_none=False)
    keepdim = data.draw(st.booleans())
    check_op(lambda t: refgrad.logsumexp(t, dim, keepdim), lambda t: torch.logsumexp(t, dim, keepdim), [x],
             device=device)


@pytest.mark.parametrize("row", [[np.inf, 1.0], [-np.inf, -np.inf], [np.inf, np.inf], [np.inf, -np.inf],
                                 [np.nan, 1.0], [-np.inf, 2.0]])
def test_logsumexp_infinities_like_torch(device, row):
    x = np.array([row, [0.5, -0.5]])
    check_op(lambda t: t.logsumexp(1), lambda t: t.logsumexp(1), [x], device=device)
    check_op(lambda t: t.logsumexp((0, 1), keepdim=True), lambda t: t.logsumexp((0, 1), keepdim=True), [x],
             device=device)


def test_logsumexp_of_integers_and_empty():
    assert_same(refgrad.logsumexp(refgrad.tensor([1, 2]), 0), torch.logsumexp(torch.tensor([1, 2]), 0))
    assert_same(refgrad.zeros(0).logsumexp(0), torch.zeros(0).logsumexp(0))


# -- norms -----------------------------------------------------------------------------------------
ORDS = [2, 1, 3, 1.5, 0.5, -1, math.inf, -math.inf, 0]


@pytest.mark.parametrize("ord", ORDS)
@pytest.mark.parametrize("dtype", FLOATS)
@HYP
@given(shape=shapes, seed=seeds, data=st.data())
def test_vector_norm_matches_torch(device, dtype, ord, shape, seed, data):  # noqa: A002
    x = _randn(seed, shape, dtype)
    dim = _dim(data, shape)
    keepdim = data.draw(st.booleans())
    ours = lambda t: vector_norm(t, ord, dim, keepdim)  # noqa: E731
    theirs = lambda t: torch.linalg.vector_norm(t, ord, dim, keepdim)  # noqa: E731
    sign_grad = ord in (1, math.inf, -math.inf)  # torch's double grad is a ZeroTensor there
    check_op(ours, theirs, [x], device=device, grad_rtol=1e-4 if dtype == np.float32 else None, gradgrad=not sign_grad)
    if sign_grad:
        _check_double_backward(ours, theirs, x, device)


@pytest.mark.parametrize("ord", ORDS)
def test_vector_norm_at_zero_uses_torch_kinks(device, ord):  # noqa: A002
    x = np.array([[0.0, 0.0, 0.0], [0.0, -2.0, 0.0], [1.0, -1.0, 1.0]])
    ours, theirs = (lambda t: vector_norm(t, ord, 1)), (lambda t: torch.linalg.vector_norm(t, ord, 1))
    sign_grad = ord in (1, math.inf, -math.inf)
    check_op(ours, theirs, [x], device=device, gradgrad=not sign_grad)
    if sign_grad:
        _check_double_backward(ours, theirs, x, device)


@pytest.mark.parametrize("p", ["fro", "nuc", 2, 1, math.inf, 0.5, None])
@pytest.mark.parametrize("dim", [None, 1, (0, 1), (-1, 0)])
def test_torch_norm_forms(device, p, dim):
    x = np.random.default_rng(3).standard_normal((3, 4))
    if p == "nuc" and dim == 1:  # a matrix norm needs two dims
        _raises_like_torch(lambda: refgrad.norm(rg(x), p, dim), lambda: torch.norm(th(x), p, dim))
        return
    sign_grad = p in (1, math.inf)
    for keepdim in (False, True):
        check_op(lambda t, k=keepdim: refgrad.norm(t, p, dim, k), lambda t, k=keepdim: torch.norm(t, p, dim, k), [x],
                 device=device, gradgrad=not sign_grad)
    check_op(lambda t: t.norm(p), lambda t: t.norm(p), [x], device=device, gradgrad=not sign_grad)
    if sign_grad:
        _check_double_backward(lambda t: refgrad.norm(t, p, dim), lambda t: torch.norm(t, p, dim), x, device)


def test_norm_of_zero_vector_has_zero_gradient():
    x = rg(np.zeros(3), requires_grad=True)
    x.norm().backward()
    assert x.grad.tolist() == [0.0, 0.0, 0.0]


def test_vector_norm_dtype_argument():
    x = np.array([3.0, -4.0], dtype=np.float32)
    assert_same(vector_norm(rg(x), dtype=refgrad.float64),
                torch.linalg.vector_norm(th(x), dtype=torch.float64))
    assert_same(refgrad.norm(rg(x), dtype=refgrad.float64), torch.norm(th(x), dtype=torch.float64))
    _raises_like_torch(lambda: vector_norm(rg(x.astype(np.float64)), dtype=refgrad.float32),
                       lambda: torch.linalg.vector_norm(th(x.astype(np.float64)), dtype=torch.float32))


@pytest.mark.parametrize("ord", ["fro", "nuc", 2, -2, 1, -1, math.inf, -math.inf])
@pytest.mark.parametrize("dim", [(-2, -1), (0, 2), (2, 0)])
@pytest.mark.parametrize("dtype", FLOATS)
def test_matrix_norm_matches_torch(device, dtype, ord, dim):  # noqa: A002
    x = np.random.default_rng(4).standard_normal((3, 4, 2)).astype(dtype)
    for keepdim in (False, True):
        check_op(lambda t, k=keepdim: matrix_norm(t, ord, dim, k),
                 lambda t, k=keepdim: torch.linalg.matrix_norm(t, ord, dim, k), [x], device=device,
                 gradgrad=ord in ("fro", "nuc", 2, -2), grad_rtol=1e-4 if dtype == np.float32 else None)
    if ord not in ("fro", "nuc", 2, -2):
        _check_double_backward(lambda t: matrix_norm(t, ord, dim), lambda t: torch.linalg.matrix_norm(t, ord, dim),
                               x, device)


@pytest.mark.parametrize("case", ["int input", "ord str", "empty inf", "empty -1", "empty dim", "matrix 1-D",
                                  "matrix ord", "matrix dims", "matrix dims equal", "matrix int", "norm str"])
def test_norm_bad_input_like_torch(case):
    f = {"int input": lambda L: vnorm(L)(L.tensor([1, 2])),
         "ord str": lambda L: vnorm(L)(L.ones(3), ord="fro"),
         "empty inf": lambda L: vnorm(L)(L.zeros(0), math.inf),
         "empty -1": lambda L: L.norm(L.zeros(2, 0), -1),
         "empty dim": lambda L: vnorm(L)(L.zeros(2, 0), math.inf, dim=1),
         "matrix 1-D": lambda L: mnorm(L)(L.ones(3)),
         "matrix ord": lambda L: mnorm(L)(L.ones(3, 3), 3),
         "matrix dims": lambda L: L.norm(L.ones(2, 2, 2), dim=(0, 1, 2)),
         "matrix dims equal": lambda L: mnorm(L)(L.ones(3, 3), dim=(0, 0)),
         "matrix int": lambda L: mnorm(L)(L.ones(3, 3, dtype=L.int64)),
         "norm str": lambda L: L.norm(L.ones(3, 3), "abc")}[case]
    ours, theirs = _raises_like_torch(lambda: f(refgrad), lambda: f(torch))
    assert ours[:40] == theirs[:40]


def test_vector_norm_empty_reductions_with_identity():
    assert_same(vector_norm(refgrad.zeros(0)), torch.linalg.vector_norm(torch.zeros(0)))
    assert_same(vector_norm(refgrad.zeros(2, 0), math.inf, 0),
                torch.linalg.vector_norm(torch.zeros(2, 0), math.inf, 0))


# -- scans ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["cumsum", "cumprod"])
@pytest.mark.parametrize("dtype", FLOATS)
@HYP
@given(shape=shapes, seed=seeds, data=st.data())
def test_cumsum_cumprod_match_torch(device, dtype, name, shape, seed, data):
    x = _randn(seed, shape, dtype, shift=0.5 if name == "cumprod" else 0.0)
    dim = _dim(data, shape, allow_none=False)
    check_op(lambda t: getattr(refgrad, name)(t, dim), lambda t: getattr(torch, name)(t, dim), [x], device=device,
             grad_rtol=1e-4 if dtype == np.float32 else None)


@pytest.mark.parametrize("zeros", [[0], [2], [1, 3], [0, 4], [1, 2, 4]])
@pytest.mark.parametrize("dtype", FLOATS)
def test_cumprod_gradient_is_exact_with_zeros(device, dtype, zeros):
    x = np.array([1.5, -2.0, 0.7, 3.0, -1.2], dtype=dtype)
    x[zeros] = 0
    check_op(lambda t: t.cumprod(0), lambda t: t.cumprod(0), [x], device=device)
    m = np.stack([x, np.roll(x, 1), np.array([1.0, 2, 3, 4, 5], dtype)], 1)
    check_op(lambda t: t.cumprod(0), lambda t: t.cumprod(0), [m], device=device)
    # first order without create_graph takes the O(n) path
    cot = np.random.default_rng(0).standard_normal(m.shape)
    assert_same(_grads(lambda t: t.cumprod(0), refgrad, m, cot, device),
                _grads(lambda t: t.cumprod(0), torch, m, cot, device), 1e-5, 1e-5)


def test_cumprod_triple_backward_with_zeros_matches_torch():
    arr = np.array([2.0, 0.0, 3.0, -0.5, 0.0, 4.0])
    outs = []
    for lib, mk in ((refgrad, rg), (torch, th)):
        x = mk(arr, requires_grad=True)
        g, = lib.autograd.grad(x.cumprod(0), x, mk(np.arange(6.0) - 2), create_graph=True)
        gg, = lib.autograd.grad(g, x, mk(np.linspace(-1, 1, 6)), create_graph=True)
        outs.append(lib.autograd.grad(gg, x, mk(np.cos(np.arange(6.0))))[0])
    assert_same(outs[0], outs[1])


@pytest.mark.parametrize("name", ["cumsum", "cumprod"])
def test_inplace_scans(device, name):
    arr = np.array([[1.0, 2.0, -3.0], [0.5, 0.0, 2.0]])
    check_op(lambda t: getattr(t * 1, name + "_")(1), lambda t: getattr(t * 1, name + "_")(1), [arr],
             device=device)
    ours, theirs = rg(np.array([1, 2, 3], np.int32), device), th(np.array([1, 2, 3], np.int32), device)
    getattr(ours, name + "_")(0)
    getattr(theirs, name + "_")(0)
    assert_same(ours, theirs)


@pytest.mark.parametrize("name", ["cummax", "cummin"])
@pytest.mark.parametrize("dtype", FLOATS)
@HYP
@given(shape=shapes, seed=seeds, data=st.data())
def test_cummax_cummin_match_torch(device, dtype, name, shape, seed, data):
    x = _randn(seed, shape, dtype)
    dim = _dim(data, shape, allow_none=False)
    check_op(lambda t: getattr(refgrad, name)(t, dim), lambda t: getattr(torch, name)(t, dim), [x], device=device)


@pytest.mark.parametrize("name", ["cummax", "cummin"])
def test_cummax_cummin_ties_and_nan_take_the_latest_index(device, name):
    # the gradient of repeated indices accumulates (torch's scatter_add)
    x = np.array([[1.0, 3.0, 1.0, 3.0, 3.0], [np.nan, 1.0, np.nan, 0.0, 2.0], [2.0, 2.0, 2.0, 2.0, 2.0]])
    check_op(lambda t: getattr(t, name)(1), lambda t: getattr(t, name)(1), [x], device=device)
    b = np.array([True, False, True, False])
    assert_same(getattr(refgrad, name)(rg(b), 0), getattr(torch, name)(th(b), 0))


def test_scans_of_zero_dim_and_empty(device):
    for name in ("cumsum", "cumprod", "cummax", "cummin"):
        check_op(lambda t, n=name: getattr(t, n)(0), lambda t, n=name: getattr(t, n)(0), [np.array(2.5)],
                 device=device)
        # forward only: torch's gradient of an empty scan oddly requires grad under create_graph
        check_op(lambda t, n=name: getattr(t, n)(1), lambda t, n=name: getattr(t, n)(1), [np.zeros((2, 0))],
                 device=device, grad=False)
    _raises_like_torch(lambda: refgrad.tensor(1.0).cumsum(1), lambda: torch.tensor(1.0).cumsum(1))


# -- logical reductions ----------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.bool_, np.uint8, np.int64, np.float32])
def test_all_any_count_nonzero(dtype):
    x = np.array([[0, 1, 2], [3, 0, 0]]).astype(dtype)
    for name in ("all", "any"):
        for args in ((), (0,), (1, True), ((0, 1),), (-1,)):
            assert_same(getattr(refgrad, name)(rg(x), *args), getattr(torch, name)(th(x), *args))
    assert_same(refgrad.any(rg(x), ()), torch.any(th(x), ()))
    for dim in (None, 0, (0, 1), -1):
        assert_same(refgrad.count_nonzero(rg(x), dim), torch.count_nonzero(th(x), dim))
    assert_same(rg(x).count_nonzero(), th(x).count_nonzero())


def test_all_any_of_empty_and_nan():
    assert_same(refgrad.zeros(0).all(), torch.zeros(0).all())
    assert_same(refgrad.zeros(0).any(), torch.zeros(0).any())
    assert_same(rg(np.array([np.nan, 0.0])).any(), th(np.array([np.nan, 0.0])).any())


# -- order statistics ------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["median", "nanmedian"])
@pytest.mark.parametrize("dtype", FLOATS)
@HYP
@given(shape=shapes, seed=seeds, data=st.data())
def test_median_matches_torch(device, dtype, name, shape, seed, data):
    x = _randn(seed, shape, dtype)
    dim = _dim(data, shape)
    keepdim = data.draw(st.booleans())
    if dim is None:
        check_op(lambda t: getattr(t, name)(), lambda t: getattr(t, name)(), [x], device=device)
    else:
        check_op(lambda t: getattr(refgrad, name)(t, dim, keepdim), lambda t: getattr(torch, name)(t, dim, keepdim),
                 [x], device=device)


@pytest.mark.parametrize("name", ["median", "nanmedian"])
def test_median_ties_and_nan_like_torch(device, name):
    # (an all-NaN row of nanmedian is left out: torch's nth_element picks an arbitrary one of its NaNs)
    x = np.array([[1.0, 2.0, 2.0, 1.0], [3.0, np.nan, 0.0, 1.0], [np.nan, 1.0, np.nan, 0.0],
                  [np.nan, 0.0, np.nan, np.nan], [5.0, 5.0, 5.0, 2.0]])
    _check_tie_convention(lambda t: getattr(t, name)(1), lambda t: getattr(t, name)(1), x, device)
    _check_tie_convention(lambda t: getattr(t, name)(0, True), lambda t: getattr(t, name)(0, True), x[[0, 4]],
                          device)
    check_op(lambda t: getattr(t, name)(), lambda t: getattr(t, name)(), [x[1]], device=device)
    ints = np.array([[4, 1, 1, 3], [2, 2, 9, 9]])
    assert_same(getattr(refgrad, name)(rg(ints), 1), getattr(torch, name)(th(ints), 1))
    assert_same(getattr(refgrad, name)(rg(ints)), getattr(torch, name)(th(ints)))


@pytest.mark.parametrize("dtype", FLOATS)
def test_mode_matches_torch_on_short_rows(device, dtype):
    # torch's CPU mode returns the last occurrence on rows shorter than 16 (its insertion sort is stable there)
    rng = np.random.default_rng(5)
    x = rng.integers(0, 4, size=(6, 7)).astype(dtype)
    for dim, keepdim in ((1, False), (0, True), (-1, True)):
        _check_tie_convention(lambda t, d=dim, k=keepdim: refgrad.mode(t, d, k),
                              lambda t, d=dim, k=keepdim: torch.mode(t, d, k), x, device)
    check_op(lambda t: t.mode(), lambda t: t.mode(), [np.array(2.0, dtype)], device=device)
    assert_same(refgrad.mode(rg(x.astype(np.int64)), 1), torch.mode(th(x.astype(np.int64)), 1))


@pytest.mark.parametrize("descending", [False, True])
@pytest.mark.parametrize("dtype", FLOATS)
@HYP
@given(shape=shapes, seed=seeds, data=st.data())
def test_sort_argsort_match_torch(device, dtype, descending, shape, seed, data):
    x = _randn(seed, shape, dtype)  # ties-free: the gradient goes through the permutation
    dim = _dim(data, shape, allow_none=False)
    check_op(lambda t: refgrad.sort(t, dim, descending), lambda t: torch.sort(t, dim, descending), [x],
             device=device)
    check_op(lambda t: refgrad.argsort(t, dim, descending), lambda t: torch.argsort(t, dim, descending), [x],
             device=device)


@pytest.mark.parametrize("descending", [False, True])
def test_sort_is_stable_at_ties_and_orders_nan_last(device, descending):
    x = np.random.default_rng(6).integers(0, 3, size=(3, 40)).astype(np.float64)
    x[0, [3, 17]] = np.nan
    for dim in (1, 0):
        check_op(lambda t, d=dim: refgrad.sort(t, dim=d, descending=descending, stable=True),
                 lambda t, d=dim: torch.sort(t, dim=d, descending=descending, stable=True), [x], device=device)
        assert_same(refgrad.argsort(rg(x, device), dim=dim, descending=descending, stable=True),
                    torch.argsort(th(x, device), dim=dim, descending=descending, stable=True))
    assert_same(refgrad.msort(rg(x.T.copy(), device)), torch.msort(th(x.T.copy(), device)))  # values only: ties
    check_op(refgrad.msort, torch.msort, [_randn(0, (5, 3), np.float64)], device=device)
    b = np.array([True, False, True])
    assert_same(refgrad.sort(rg(b), stable=True), torch.sort(th(b), stable=True))


@pytest.mark.parametrize("largest", [True, False])
@pytest.mark.parametrize("dtype", FLOATS)
@HYP
@given(shape=shapes, seed=seeds, data=st.data())
def test_topk_kthvalue_match_torch(device, dtype, largest, shape, seed, data):
    x = _randn(seed, shape, dtype)
    dim = _dim(data, shape, allow_none=False)
    size = shape[dim] if shape else 1
    k = data.draw(st.integers(1, size))
    keepdim = data.draw(st.booleans())
    check_op(lambda t: refgrad.topk(t, k, dim, largest), lambda t: torch.topk(t, k, dim, largest), [x],
             device=device)
    check_op(lambda t: refgrad.kthvalue(t, k, dim, keepdim), lambda t: torch.kthvalue(t, k, dim, keepdim), [x],
             device=device)


def test_topk_unsorted_holds_the_same_elements():
    x = np.array([1.0, 5.0, 3.0, 2.0, np.nan])
    ours, theirs = refgrad.topk(rg(x), 3, sorted=False), torch.topk(th(x), 3, sorted=False)
    assert_same(refgrad.sort(ours.values).values, torch.sort(theirs.values).values)
    assert sorted(ours.indices.tolist()) == sorted(theirs.indices.tolist())
    assert_same(refgrad.topk(rg(x), 2, largest=False), torch.topk(th(x), 2, largest=False))
    assert_same(refgrad.topk(rg(x), 0), torch.topk(th(x), 0))


def test_tie_indices_are_the_stable_ones_and_receive_the_gradient():
    """Among ties refgrad's topk/kthvalue return the stable-sort index (torch may pick another tied index on
    long rows); the value matches and the gradient lands on the returned index."""
    x = rg(np.array([1.0, 3.0, 3.0, 3.0, 0.0]), requires_grad=True)
    v, i = x.topk(2)
    assert i.tolist() == [1, 2] and v.tolist() == [3.0, 3.0]
    assert_same(v, torch.topk(th(np.array([1.0, 3.0, 3.0, 3.0, 0.0])), 2).values)
    (v * refgrad.tensor([2.0, -1.0], dtype=refgrad.float64)).sum().backward()
    assert x.grad.tolist() == [0.0, 2.0, -1.0, 0.0, 0.0]
    k = rg(np.array([2.0, 1.0, 1.0]), requires_grad=True)
    kv = k.kthvalue(1)
    kv.values.backward()
    assert kv.indices.item() == 1 and k.grad.tolist() == [0.0, 1.0, 0.0]


# -- unique ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.int64, np.float32, np.bool_])
def test_unique_matches_torch(dtype):
    x = np.array([[3, 1, 1], [2, 3, 0]]).astype(dtype)
    for ri in (False, True):
        for rc in (False, True):
            assert_same(refgrad.unique(rg(x), return_inverse=ri, return_counts=rc),
                        torch.unique(th(x), return_inverse=ri, return_counts=rc))
            for dim in (0, 1, -1):
                assert_same(refgrad.unique(rg(x), return_inverse=ri, return_counts=rc, dim=dim),
                            torch.unique(th(x), return_inverse=ri, return_counts=rc, dim=dim))
    assert_same(rg(x).unique(sorted=False), th(x).unique(sorted=False))


def test_nanmedian_of_all_nan_rows():
    x = np.full((2, 4), np.nan)
    r = refgrad.nanmedian(rg(x), 1)
    assert np.isnan(to_np(r.values)).all() and all(0 <= i < 4 for i in r.indices.tolist())
    assert_same(refgrad.nanmedian(rg(x[:, :2]), 1), torch.nanmedian(th(x[:, :2]), 1))
    assert_same(refgrad.nanmedian(rg(x)), torch.nanmedian(th(x)))


def test_unique_keeps_nans_distinct_and_has_no_gradient():
    x = np.array([np.nan, 1.0, np.nan, 0.0])
    assert_same(refgrad.unique(rg(x), return_counts=True), torch.unique(th(x), return_counts=True))
    assert_same(refgrad.unique(rg(np.float64(2.0)), return_inverse=True, return_counts=True),
                torch.unique(th(np.float64(2.0)), return_inverse=True, return_counts=True))
    u = refgrad.unique(rg(x, requires_grad=True))
    assert u.requires_grad == torch.unique(th(x, requires_grad=True)).requires_grad
    with pytest.raises(NotImplementedError, match="derivative for '_unique2' is not implemented"):
        u.sum().backward()


# -- 0-d inputs and empty inputs ------------------------------------------------------------------
@pytest.mark.parametrize("fn", [
    lambda L, t: L.max(t, 0), lambda L, t: L.min(t, -1, True), lambda L, t: L.sort(t), lambda L, t: L.topk(t, 1),
    lambda L, t: L.kthvalue(t, 1), lambda L, t: L.median(t, 0), lambda L, t: L.mode(t), lambda L, t: L.prod(t, 0),
    lambda L, t: L.logsumexp(t, 0), lambda L, t: vnorm(L)(t, 3, 0), lambda L, t: L.max(t),
    lambda L, t: L.median(t), lambda L, t: L.argmax(t), lambda L, t: L.argsort(t), lambda L, t: L.prod(t)])
def test_zero_dim_inputs(device, fn):
    check_op(lambda t: fn(refgrad, t), lambda t: fn(torch, t), [np.array(-1.5)], device=device)


@pytest.mark.parametrize("fn", [
    lambda L: L.max(L.zeros(2, 0), 0), lambda L: L.argmax(L.zeros(2, 0), 0), lambda L: L.median(L.zeros(2, 0), 0),
    lambda L: L.mode(L.zeros(2, 0), 0), lambda L: L.prod(L.zeros(2, 0), 1), lambda L: L.prod(L.zeros(0)),
    lambda L: L.sort(L.zeros(2, 0), 1), lambda L: L.cummax(L.zeros(2, 0), 1), lambda L: L.median(L.zeros(0)),
    lambda L: L.sum(L.zeros(0, 2), 0), lambda L: L.topk(L.zeros(2, 0), 0),
    lambda L: L.count_nonzero(L.zeros(0, 3), 1), lambda L: L.logsumexp(L.zeros(2, 0), 1)])
def test_empty_inputs_where_torch_allows_them(fn):
    assert_same(fn(refgrad), fn(torch))


@pytest.mark.parametrize("fn", [
    lambda L: L.zeros(0).max(), lambda L: L.zeros(0).min(), lambda L: L.zeros(0).max(0),
    lambda L: L.zeros(2, 0).min(1), lambda L: L.zeros(0).argmax(), lambda L: L.zeros(2, 0).argmin(1),
    lambda L: L.zeros(0).median(0), lambda L: L.zeros(0).mode(), lambda L: L.zeros(0).kthvalue(1),
    lambda L: L.ones(3).kthvalue(4), lambda L: L.ones(3).kthvalue(0), lambda L: L.ones(3).topk(4),
    lambda L: L.ones(3).topk(-1), lambda L: L.zeros(0).aminmax(), lambda L: L.zeros(0).amax(),
    lambda L: L.tensor([True, False]).argmax(), lambda L: L.tensor([True]).topk(1),
    lambda L: L.tensor([True]).kthvalue(1), lambda L: L.tensor([True]).median(),
    lambda L: L.ones(2, 3).argmax((0, 1)), lambda L: L.tensor(1.0).max(1), lambda L: L.ones(3).max(-2),
    lambda L: L.ones(2, 3).sort(2), lambda L: L.ones(2).max(L.ones(3))])
def test_bad_inputs_raise_like_torch(fn):
    ours, theirs = _raises_like_torch(lambda: fn(refgrad), lambda: fn(torch))
    assert ours
