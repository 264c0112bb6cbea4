"""refgrad.testing against torch.testing: assert_close passes and fails on the same inputs with the same
exception type and report; make_tensor's ranges and options; the hypothesis strategies' guarantees."""
import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

import refgrad
from refgrad.testing import arrays, assert_close, broadcastable_shapes, make_tensor, shapes

A = np.array
F32 = np.float32


def _conv(x, lib):
    if isinstance(x, np.ndarray):
        return lib.tensor(x)
    if isinstance(x, list):
        return [_conv(v, lib) for v in x]
    if isinstance(x, dict):
        return {k: _conv(v, lib) for k, v in x.items()}
    return x


CASES = [
    (A([1., 2., 3., 4.], F32), A([1., 2.5, 3., 4.1], F32), {}),
    (A([[1, 2], [3, 4]]), A([[1, 2], [3, 5]]), {}),
    (A(1., F32), A(2., F32), {}),
    (A([1.], F32), A([1.]), {}),
    (A([1.], F32), A([1.], F32), {}),
    (A([1.], F32), A([1., 2.], F32), {}),
    (1.0, 1.1, {}), (1.0, 1.0 + 1e-9, {}), (3, 3, {}), (3, 4, {}), (True, False, {}), (1, 1.0, {}),
    ([A(1., F32), A(2., F32)], [A(1., F32), A(2.5, F32)], {}),
    ({"a": A(1., F32)}, {"a": A(1.5, F32)}, {}),
    ([[A([1.])], {"k": A([2.])}], [[A([1.])], {"k": A([2.5])}], {}),
    (A([np.nan], F32), A([np.nan], F32), {}), (A([np.nan], F32), A([np.nan], F32), {"equal_nan": True}),
    (A([1.], F32), A([1.1], F32), {"rtol": 0.2}), (A([1.], F32), A([1.1], F32), {"rtol": 0.2, "atol": 0}),
    (A([1.], F32), A([1.2], F32), {"msg": "custom"}),
    (A([1., 2.], F32), A([1., 3.], F32), {"msg": lambda m: "X" + m}),
    (A([True, False]), A([True, True]), {}),
    (A([1.], F32), A([1.]), {"check_dtype": False}), (A([1., 2.], F32), A([1., 2.1]), {"check_dtype": False}),
    (A([1, 2], np.int8), A([1, 2]), {"check_dtype": False}),
    ([1, 2], (1, 2), {}), ([1, 2], [1, 2, 3], {}), ({"a": 1}, {"b": 1}, {}),
    (A([np.inf], F32), A([-np.inf], F32), {}), (A([np.inf], F32), A([np.inf], F32), {}),
    (A([1., np.inf], F32), A([1., 5.], F32), {}),
    (A([0., 1.], F32), A([1e-3, 1.], F32), {}), (A([0., 1.], F32), A([1., 0.], F32), {}),
    (np.zeros((2, 2, 2), F32), np.ones((2, 2, 2), F32), {}),
    (A([1., 2.], np.float16), A([1.001, 2.], np.float16), {}), (A([1., 2.], np.float16), A([1.01, 2.], np.float16), {}),
    (A([1., 2.]), A([1. + 1e-7, 2.]), {}), (A([1., 2.]), A([1. + 1e-6, 2.]), {}),
    (A([5], np.uint8), A([3], np.uint8), {}), (A(3), A(4), {}), (A([3]), A([4]), {"atol": 1, "rtol": 0}),
    (None, None, {}), (1.0, None, {}), ("a", "a", {}), (A([1.], F32), 1.0, {}), (A([1.], F32), [1.0], {}),
]


@pytest.mark.parametrize("case", CASES, ids=[f"case{i}" for i in range(len(CASES))])
def test_assert_close_matches_torch(case):
    actual, expected, kw = case

    def outcome(fn, lib):
        try:
            fn(_conv(actual, lib), _conv(expected, lib), **kw)
        except Exception as e:  # noqa: BLE001 - the outcome itself is compared
            return type(e), str(e).replace("refgrad._tensor.Tensor", "torch.Tensor")
        return None

    assert outcome(assert_close, refgrad) == outcome(torch.testing.assert_close, torch)


def test_assert_close_report_names_worst_elements():
    a = refgrad.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    b = refgrad.tensor([[1.0, 2.0, 3.5], [4.0, 5.0, 60.0]])
    with pytest.raises(AssertionError) as e:
        assert_close(a, b)
    text = str(e.value)
    assert "Mismatched elements: 2 / 6 (33.3%)" in text
    assert "Greatest absolute difference: 54.0 at index (1, 2) (up to 1e-05 allowed)" in text
    assert "Greatest relative difference: 0.8999999761581421 at index (1, 2) (up to 1.3e-06 allowed)" in text


def test_assert_close_checks_device_and_stride():
    a = refgrad.ones(2, 3).t()
    with pytest.raises(AssertionError, match="stride"):
        assert_close(a, refgrad.ones(3, 2), check_stride=True)
    assert_close(a, refgrad.ones(3, 2))
    with pytest.raises(TypeError, match="type equality is required"):
        assert_close(refgrad.ones(2), np.ones(2, F32), allow_subclasses=False)
    assert_close(refgrad.ones(2), np.ones(2, F32))


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64", "int64", "int8", "uint8", "bool"])
def test_make_tensor_ranges_and_options(dtype):
    refgrad.manual_seed(0)
    dt = getattr(refgrad, dtype)
    t = make_tensor(4, 50, dtype=dt, device="cpu")
    assert t.shape == (4, 50) and t.dtype == dt and not t.requires_grad
    v = t.numpy().astype(np.float64)
    if dtype == "bool":
        assert set(np.unique(v)) == {0.0, 1.0}
    else:
        assert v.min() >= (0 if dtype == "uint8" else -9) and v.max() <= 9
    t = make_tensor((3, 2), dtype=dt, device="cpu", low=1, high=4, exclude_zero=True)
    assert t.shape == (3, 2) and (dtype == "bool" or ((t.numpy() >= 1) & (t.numpy() <= 4)).all())
    assert (t.numpy() != 0).all()
    if dt.is_floating_point:
        t = make_tensor(5, dtype=dt, device="cpu", requires_grad=True, low=-1, high=1)
        assert t.requires_grad and t.is_leaf and (np.abs(t.detach().numpy()) <= 1).all()
        assert not make_tensor(3, 4, dtype=dt, device="cpu", noncontiguous=True).is_contiguous()
    else:
        with pytest.raises(ValueError, match="requires_grad must be False"):
            make_tensor(5, dtype=dt, device="cpu", requires_grad=True)
    with pytest.raises(ValueError, match="`low` must be less than `high`, but got 5 >= 1"):
        make_tensor(2, dtype=dt, device="cpu", low=5, high=1)


def test_make_tensor_on_device(device):
    t = make_tensor(2, 3, dtype=refgrad.float32, device=device)
    assert t.device.type == device


@given(st.data())
def test_strategies_keep_their_promises(data):
    s = data.draw(shapes(min_dims=1, max_dims=3, max_side=4))
    assert 1 <= len(s) <= 3 and all(1 <= d <= 4 for d in s)
    sa, sb, sc = data.draw(broadcastable_shapes(3))
    np.broadcast_shapes(sa, sb, sc)  # raises if not mutually broadcastable
    x = data.draw(arrays(np.float32, (5,), -1.0, 1.0, avoid=(0.0,), margin=0.1))
    assert x.dtype == np.float32 and (np.abs(x) >= 0.1 - 1e-6).all() and (np.abs(x) <= 1).all()
    i = data.draw(arrays(refgrad.int64, (4,), -3, 3, avoid=(0,)))
    assert (i != 0).all() and i.dtype == np.int64
