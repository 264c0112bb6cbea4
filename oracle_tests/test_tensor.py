"""The Tensor object against torch: attributes, conversions (.to, .numpy, .item, .tolist, dlpack,
__array__), .data semantics and the printed form (str(refgrad t) == str(torch t))."""
import numpy as np
import pytest
import torch

import refgrad

from .helpers import assert_same, rg, th
from .test_autograd import twin


def both(values, dtype=None, requires_grad=False):
    """The same tensor in torch and refgrad (made from one numpy array)."""
    a = np.asarray(values) if dtype is None else np.asarray(values, dtype=dtype)
    return rg(a, requires_grad=requires_grad), th(a, requires_grad=requires_grad)


# -- attributes ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(), (0,), (3,), (2, 3), (2, 1, 4), (2, 0, 3)])
def test_shape_attributes(shape):
    a = np.arange(int(np.prod(shape)), dtype=np.float32).reshape(shape)
    r, t = rg(a), th(a)
    assert r.shape == t.shape and isinstance(r.shape, tuple)
    assert repr(r.shape) == repr(t.shape) and repr(r.size()) == repr(t.size())
    assert r.dim() == t.dim() and r.ndim == t.ndim and r.numel() == t.numel()
    assert r.shape.numel() == t.shape.numel()
    for d in range(-len(shape), len(shape)):
        assert r.size(d) == t.size(d)
    assert str(r.dtype) == str(t.dtype) and str(r.device) == str(t.device)
    assert r.is_leaf and not r.requires_grad and r.grad is None and r.grad_fn is None
    if len(shape) >= 2:
        assert r.mT.shape == t.mT.shape
        assert_same(r.mT, t.mT)


@pytest.mark.filterwarnings("ignore:.*Tensor.T is deprecated:UserWarning", "ignore:The use of `x.T`:UserWarning")
@pytest.mark.parametrize("shape", [(), (3,), (2, 3)])
def test_T(shape):
    a = np.arange(int(np.prod(shape)), dtype=np.float64).reshape(shape)
    assert_same(rg(a).T, th(a).T)


def test_mT_of_vector_raises():
    twin(lambda m: m.ones(3).mT)


def test_size_out_of_range():
    twin(lambda m: m.ones(2, 3).size(2))


def test_data_is_a_detached_tensor_sharing_storage():
    r = refgrad.tensor([1.0, 2.0], requires_grad=True)
    d = r.data
    assert isinstance(d, refgrad.Tensor) and not d.requires_grad and d.is_leaf
    d[0] = 7.0
    assert r.detach().numpy()[0] == 7.0
    assert r._version == 0  # writes through .data are not tracked (torch)


def test_data_setter():
    def f(m):
        x = m.ones(2, requires_grad=True)
        x.data = m.zeros(3)
        (x * 2).sum().backward()  # the gradient follows the new shape
        return x.detach(), x.requires_grad, x.grad
    twin(f)
    twin(lambda m: setattr(m.ones(2, requires_grad=True), "data", m.zeros(3, dtype=m.int64)))


def test_grad_setter_checks():
    twin(lambda m: setattr(m.ones(2, requires_grad=True), "grad", m.ones(3)), message=False)
    twin(lambda m: setattr(m.ones(2, requires_grad=True), "grad", m.ones(2, dtype=m.float64)), message=False)
    twin(lambda m: setattr(m.ones(2, requires_grad=True), "grad", [1.0, 2.0]))

    def ok(m):
        x = m.ones(2, requires_grad=True)
        x.grad = m.tensor([1.0, 2.0])
        (x * 3).sum().backward()
        return x.grad
    twin(ok)


def test_requires_grad_flag_rules():
    def f(m):
        x = m.ones(2)
        x.requires_grad = True
        y = x * 2
        return x.requires_grad, x.is_leaf, y.requires_grad, y.is_leaf, x.requires_grad_(False).requires_grad
    twin(f)
    twin(lambda m: (m.ones(2, requires_grad=True) * 2).requires_grad_(False))


# -- conversions ---------------------------------------------------------------------------------------
def test_numpy_shares_memory_and_refuses_requires_grad():
    r = refgrad.tensor([1.0, 2.0])
    a = r.numpy()
    a[0] = 5.0
    assert r[0].item() == 5.0
    twin(lambda m: m.tensor([1.0], requires_grad=True).numpy())
    np.testing.assert_array_equal(refgrad.tensor([1.5], requires_grad=True).numpy(force=True), [1.5])


def test_array_protocol():
    r, t = both([1.0, 2.5], np.float32)
    for dtype in (None, np.float64):
        a, b = np.asarray(r, dtype=dtype), np.asarray(t, dtype=dtype)
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)
    twin(lambda m: np.asarray(m.tensor([1.0], requires_grad=True)))


@pytest.mark.parametrize("values,dtype", [([2.5], np.float32), (3, np.int64), (True, np.bool_), ([[7]], np.int32),
                                          (1.5, np.float16), (2.0, np.float64)])
def test_item(values, dtype):
    r, t = both(values, dtype)
    assert r.item() == t.item() and type(r.item()) is type(t.item())


def test_item_and_scalar_conversions_of_many_elements():
    twin(lambda m: m.tensor([1.0, 2.0]).item())
    twin(lambda m: int(m.tensor([1.0, 2.0])))
    twin(lambda m: float(m.tensor([1.0, 2.0])))
    twin(lambda m: bool(m.tensor([1.0, 2.0])))
    twin(lambda m: (int(m.tensor([2.7])), float(m.tensor(3)), bool(m.tensor([0.0])), [1, 2, 3][m.tensor(1)]))
    twin(lambda m: [1, 2, 3][m.tensor(1.0)])
    twin(lambda m: len(m.tensor(1.0)), message=False)
    twin(lambda m: (len(m.ones(3, 2)), [x.shape for x in m.ones(2, 3)]))


@pytest.mark.parametrize("values,dtype", [([[1.5, 2.0]], np.float32), ([1, 2], np.uint8), (3, np.int64),
                                          ([True], np.bool_), ([], np.float32)])
def test_tolist(values, dtype):
    r, t = both(values, dtype)
    assert r.tolist() == t.tolist()
    assert type(r.tolist()) is type(t.tolist())


def test_format():
    r, t = both(1.5, np.float32)
    assert f"{r:.2f}" == f"{t:.2f}" and f"{r}" == f"{t}"
    r, t = both([1.5], np.float32)
    assert f"{r}" == f"{t}"


@pytest.mark.parametrize("args,kwargs", [
    (("float64",), {}), (("cpu",), {}), (("cpu", "float16"), {}), (("int32",), {}), ((), {"dtype": "float64"}),
    ((), {"device": "cpu", "dtype": "float16"}), (("other",), {}), (("float32",), {"copy": True}),
    (("cpu", "float64", False, True), {}),
])
def test_to(args, kwargs):
    def conv(m, v):
        if v == "other":
            return m.zeros(1, dtype=m.int32)
        return getattr(m, v) if v in ("float64", "float16", "int32", "float32") else v

    def f(m):
        x = m.tensor([1.5, -2.5], requires_grad=True)
        y = x.to(*[conv(m, a) for a in args], **{k: conv(m, v) for k, v in kwargs.items()})
        name = y.grad_fn.name() if y.grad_fn is not None else None
        return y, y is x, name
    twin(f)


def test_to_gradient_flows_back_in_source_dtype():
    def f(m):
        x = m.tensor([1.5, -2.5], requires_grad=True)
        (x.double() * m.tensor([3.0, 4.0], dtype=m.float64)).sum().backward()
        return x.grad
    twin(f)


def test_to_bad_arguments():
    twin(lambda m: m.ones(2).to(m.int64, m.float32), message=False)
    twin(lambda m: m.ones(2).to("meta2"), message=False)


@pytest.mark.parametrize("method", ["float", "double", "half", "long", "int", "bool", "short", "byte", "char", "cpu"])
def test_dtype_methods(method):
    def f(m):
        x = m.tensor([1.7, -2.5, 0.0])
        y = getattr(x, method)()
        return y, y is x
    twin(f)


def test_type_strings():
    twin(lambda m: (m.ones(1).type(), m.ones(1, dtype=m.int64).type(), m.ones(1, dtype=m.bool).type()))


def test_dlpack_round_trips():
    r = refgrad.tensor([1.0, 2.0, 3.0])
    a = np.from_dlpack(r)
    a[0] = 9.0
    assert r[0].item() == 9.0  # shares memory
    t = torch.from_dlpack(r)
    t[1] = 8.0
    assert r[1].item() == 8.0
    back = refgrad.from_dlpack(torch.tensor([4.0, 5.0], dtype=torch.float64))
    assert back.dtype == refgrad.float64 and back.tolist() == [4.0, 5.0]
    n = refgrad.from_dlpack(np.arange(3, dtype=np.int32))
    assert n.dtype == refgrad.int32 and n.tolist() == [0, 1, 2]
    twin(lambda m: m.ones(2, requires_grad=True).__dlpack__(), message=False)


# -- printing ------------------------------------------------------------------------------------------
REPR_CASES = [
    lambda m: m.tensor([1, 2, 3]), lambda m: m.tensor([1.0, 2.5, 3.0]), lambda m: m.tensor([1.0, 2.0, 3.0]),
    lambda m: m.tensor(3.5), lambda m: m.tensor(3), lambda m: m.tensor([]), lambda m: m.tensor([True, False]),
    lambda m: m.tensor([1e-5, 1.0]), lambda m: m.tensor([1e10, 1.0]), lambda m: m.tensor(1e-8),
    lambda m: m.tensor(123456789.0), lambda m: m.tensor([-0.0, 1.0]), lambda m: m.tensor(-0.0),
    lambda m: m.tensor([float("nan"), float("inf"), 1.5]), lambda m: m.tensor([float("nan"), 1.0]),
    lambda m: m.tensor([float("-inf"), float("nan")]), lambda m: m.tensor([-1.5, 2.25, 100.125]),
    lambda m: m.tensor([1.5, 2.0], requires_grad=True), lambda m: m.tensor([1.5, 2.0], requires_grad=True) * 2,
    lambda m: m.tensor(2.0, requires_grad=True) + 1, lambda m: m.tensor([1.5, 2.0], dtype=m.float64),
    lambda m: m.tensor([1, 2], dtype=m.int32), lambda m: m.tensor([1, 2], dtype=m.uint8),
    lambda m: m.tensor([1.5, 2.0], dtype=m.float16), lambda m: m.tensor([1, -2], dtype=m.int8),
    lambda m: m.zeros(2, 0), lambda m: m.zeros(2, 0, dtype=m.int64), lambda m: m.zeros(0, dtype=m.int64),
    lambda m: m.zeros(0, dtype=m.bool), lambda m: m.zeros(3, 4), lambda m: m.arange(12.0).reshape(3, 4) / 7,
    lambda m: m.arange(2000.0), lambda m: m.arange(24.0).reshape(2, 3, 4), lambda m: m.arange(1500),
    lambda m: m.arange(3000.0).reshape(30, 100) / 7, lambda m: m.arange(40.0) * 1.1,
    lambda m: m.arange(100) * 1000, lambda m: m.tensor([1, 2 ** 40]), lambda m: m.ones(2, 2, 2, 2),
    lambda m: m.tensor([[1e-10, 1.0], [2.0, 3.0]], dtype=m.float64),
    lambda m: m.tensor([0.1, 0.2, 0.3], requires_grad=True).sum(0),
    lambda m: m.arange(60.0).reshape(2, 30) * 1234.5678, lambda m: m.tensor([[True, False], [False, True]]),
    lambda m: m.tensor(float("nan")), lambda m: m.tensor([0.0, 0.0]), lambda m: m.tensor(1e300, dtype=m.float64),
    lambda m: m.arange(10.0, dtype=m.float64).reshape(1, 10) * 1e-5,
]


@pytest.mark.parametrize("case", REPR_CASES, ids=[f"repr{i}" for i in range(len(REPR_CASES))])
def test_str_matches_torch(case):
    assert str(case(refgrad)) == str(case(torch))


def test_str_with_default_dtype_float64():
    prev = refgrad.get_default_dtype()
    try:
        refgrad.set_default_dtype(refgrad.float64)
        torch.set_default_dtype(torch.float64)
        for case in (lambda m: m.tensor([1.5]), lambda m: m.tensor([1.5], dtype=m.float32), lambda m: m.zeros(0),
                     lambda m: m.zeros(0, dtype=m.float32)):
            assert str(case(refgrad)) == str(case(torch))
    finally:
        refgrad.set_default_dtype(prev)
        torch.set_default_dtype(torch.float32)


def test_custom_function_grad_fn_in_repr():
    class Twice(refgrad.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g * 2

    y = Twice.apply(refgrad.tensor([1.0], requires_grad=True))
    assert str(y) == "tensor([2.], grad_fn=<TwiceBackward>)"
    x = refgrad.tensor([[1.0, 2.0]], requires_grad=True).clone()
    x[0].mul_(2)
    assert str(x) == "tensor([[2., 4.]], grad_fn=<CopySlices>)"
