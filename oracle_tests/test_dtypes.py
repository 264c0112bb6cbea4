"""torch's type promotion: the dtype matrix of every pair of dtypes through add/mul/div/comparisons, for
dimensioned tensors, 0-d tensors and Python scalars on either side, against torch.result_type and the
dtypes torch's own ops return; and set_default_dtype."""
import numpy as np
import pytest
import torch

import refgrad

from .helpers import to_np

DTYPES = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "float32", "float64"]
SCALARS = [True, 3, -2, 2.5]


def _make(lib, name, zero_dim):
    values = np.array([1, 0, 1]) if name == "bool" else np.array([3, 1, 2])
    arr = values.astype(name)
    return lib.tensor(arr[:1].reshape(()) if zero_dim else arr)


def _operand(lib, spec):
    return _make(lib, *spec) if isinstance(spec, tuple) else spec


OPS = {
    "add": lambda a, b: a + b, "mul": lambda a, b: a * b, "div": lambda a, b: a / b, "lt": lambda a, b: a < b,
    "maximum": lambda a, b: a.maximum(b),
}
_DIMS = ((False, False), (False, True), (True, False))  # (a is 0-d, b is 0-d)
PAIRS = [((a, za), (b, zb)) for a in DTYPES for b in DTYPES for za, zb in _DIMS]
PAIRS += [((a, z), s) for a in DTYPES for s in SCALARS for z in (False, True)]
PAIRS += [(s, (a, False)) for a in DTYPES for s in SCALARS]


def _id(p):
    return "-".join(f"{x[0]}{'0d' if x[1] else ''}" if isinstance(x, tuple) else repr(x) for x in p)


@pytest.mark.parametrize("pair", PAIRS, ids=[_id(p) for p in PAIRS])
def test_result_type_and_op_dtypes_match_torch(pair):
    a, b = pair
    ra, rb = _operand(refgrad, a), _operand(refgrad, b)
    ta, tb = _operand(torch, a), _operand(torch, b)
    if isinstance(ta, torch.Tensor):
        assert str(refgrad.result_type(ra, rb)) == str(torch.result_type(ta, tb))
    for name, f in OPS.items():
        if name == "maximum" and not (isinstance(ta, torch.Tensor) and isinstance(tb, torch.Tensor)):
            continue
        try:
            expected = f(ta, tb)
        except (RuntimeError, NotImplementedError) as e:
            with pytest.raises(type(e)):
                f(ra, rb)
            continue
        ours = f(ra, rb)
        assert str(ours.dtype) == str(expected.dtype), name
        np.testing.assert_allclose(to_np(ours).astype(np.float64), to_np(expected).astype(np.float64), rtol=1e-3,
                                   err_msg=name)


def test_promote_types_table_matches_torch():
    for a in DTYPES:
        for b in DTYPES:
            ours = refgrad.promote_types(getattr(refgrad, a), getattr(refgrad, b))
            assert str(ours) == str(torch.promote_types(getattr(torch, a), getattr(torch, b))), (a, b)


def test_three_operand_promotion_through_where_clamp_addcmul():
    i = np.array([1, 2, 3])
    c = np.array([True, False, True])

    def dtypes(L):
        return [str(r.dtype) for r in (
            L.where(L.tensor(c), L.tensor(i), 2.5), L.clamp(L.tensor(i), 0.5), L.where(L.tensor(c), 1, 2),
            L.addcmul(L.tensor(i), L.tensor(i), L.tensor(2.0)), L.where(L.tensor(c), 1.0, L.tensor(i).double()),
            L.clamp(L.tensor(i), L.tensor(0.5), L.tensor(2.5)), L.lerp(L.ones(2), L.ones(2), L.tensor(0.5).double()))]
    assert dtypes(refgrad) == dtypes(torch)


@pytest.mark.parametrize("default", ["float64", "float16"])
def test_set_default_dtype_changes_scalar_and_integer_promotion(default):
    prev = refgrad.get_default_dtype()
    refgrad.set_default_dtype(getattr(refgrad, default))
    torch.set_default_dtype(getattr(torch, default))
    try:
        for f in (lambda L: L.tensor([1, 2]) / 2, lambda L: L.tensor([1, 2]) * 1.5, lambda L: L.tensor([1, 2]).sin(),
                  lambda L: L.tensor([True]) + 0.5, lambda L: L.tensor([1.0], dtype=L.float32) * 2.5,
                  lambda L: L.tensor(1) + 0.5, lambda L: L.tensor([1, 2]) / L.tensor(2)):
            assert str(f(refgrad).dtype) == str(f(torch).dtype)
        assert str(refgrad.result_type(refgrad.tensor([1]), 1.0)) == str(torch.result_type(torch.tensor([1]), 1.0))
    finally:
        refgrad.set_default_dtype(prev)
        torch.set_default_dtype(torch.float32)
    with pytest.raises(TypeError):
        refgrad.set_default_dtype(refgrad.int64)
