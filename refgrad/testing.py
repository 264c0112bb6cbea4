"""Matches `torch.testing`: ``assert_close`` (torch's per-dtype tolerances and failure report) and
``make_tensor``; plus hypothesis strategies for tests (hypothesis is imported only when they are used,
so refgrad never needs it at runtime)."""
from __future__ import annotations

import collections.abc
import math

import numpy as np

from . import _backend, _dtypes
from ._tensor import Tensor

__all__ = ["assert_close", "make_tensor", "shapes", "broadcastable_shapes", "arrays"]

# torch.testing's default (rtol, atol) per dtype; integers and bool compare exactly
_TOLERANCES = {np.dtype(np.float16): (1e-3, 1e-5), np.dtype(np.float32): (1.3e-6, 1e-5),
               np.dtype(np.float64): (1e-7, 1e-7)}
_NUMBER_TYPES = (int, float)


def _tolerances(*npdtypes):
    rtol, atol = zip(*(_TOLERANCES.get(np.dtype(d), (0.0, 0.0)) for d in npdtypes))
    return max(rtol), max(atol)


def _fail(msg, default):
    if msg is None:
        raise AssertionError(default)
    raise AssertionError(msg(default) if callable(msg) else msg)


def _mismatch_msg(kind, extra, abs_diff, abs_idx, rel_diff, rel_idx, rtol, atol):
    """torch.testing._comparison._make_mismatch_msg."""
    equality = rtol == 0 and atol == 0

    def diff_msg(what, diff, idx, tol):
        m = f"Greatest {what} difference: {diff} at index {idx}" if idx is not None else \
            f"{what.title()} difference: {diff}"
        return m + ("" if equality else f" (up to {tol} allowed)") + "\n"

    m = f"{kind} are not {'equal' if equality else 'close'}!\n\n{extra.strip()}\n"
    m += diff_msg("absolute", abs_diff, abs_idx, atol) + diff_msg("relative", rel_diff, rel_idx, rtol)
    return m.strip()


def _as_array(x):
    return _backend.asnumpy(x.detach()._data) if isinstance(x, Tensor) else x


def _tensor_meta(x):
    if isinstance(x, Tensor):
        return x.shape, x.device, x.dtype, x.stride()
    return x.shape, _backend.CPU, _dtypes.from_numpy_dtype(x.dtype), tuple(s // x.itemsize for s in x.strides)


def _compare_tensors(actual, expected, rtol, atol, equal_nan, check_device, check_dtype, check_stride, msg):
    ma, me = _tensor_meta(actual), _tensor_meta(expected)
    checks = [("shape", 0, True), ("device", 1, check_device), ("dtype", 2, check_dtype), ("stride()", 3, check_stride)]
    for name, i, on in checks:
        if on and ma[i] != me[i]:
            _fail(msg, f"The values for attribute '{name}' do not match: {ma[i]} != {me[i]}.")
    a, e = _as_array(actual), _as_array(expected)
    if rtol is None:
        rtol, atol = _tolerances(a.dtype, e.dtype)
    dt = _dtypes.promote_types(ma[2], me[2]).np
    a, e = a.astype(dt, copy=False), e.astype(dt, copy=False)
    with np.errstate(all="ignore"):
        if dt.kind == "f":
            diff = np.abs(a - e)
            matches = (a == e) | (np.isfinite(diff) & (diff <= atol + rtol * np.abs(e)))
            if equal_nan:
                matches |= np.isnan(a) & np.isnan(e)
        else:
            matches = a == e
            if rtol or atol:
                matches |= np.abs(a.astype(np.float64) - e) <= atol + rtol * np.abs(e)
    if matches.all():
        return
    if a.ndim == 0:
        av, ev = a.item(), e.item()
        ad = abs(av - ev)
        rd = float("inf") if ev == 0 else ad / abs(ev)
        _fail(msg, _mismatch_msg("Scalars", f"Expected {ev} but got {av}.", ad, None, rd, None, rtol, atol))
    # torch.testing.make_tensor_mismatch_msg: integers upcast to int64; diffs over the mismatches only
    af, ef, mf = a.reshape(-1), e.reshape(-1), matches.reshape(-1)
    if dt.kind != "f":
        af, ef = af.astype(np.int64), ef.astype(np.int64)
    with np.errstate(all="ignore"):
        absd = np.abs(af - ef)
        absd[mf] = 0
        # true division of integers computes in the default float dtype, as torch's does
        rel = absd / np.abs(ef) if dt.kind == "f" else (absd / np.abs(ef)).astype(_dtypes.get_default_dtype().np)
        rel[mf] = 0
    ia, ir = int(np.argmax(absd)), int(np.argmax(rel))
    n, bad = matches.size, int(matches.size - matches.sum())
    extra = f"Mismatched elements: {bad} / {n} ({bad / n:.1%})"
    ja, jr = (tuple(int(i) for i in np.unravel_index(j, a.shape)) for j in (ia, ir))
    _fail(msg, _mismatch_msg("Tensor-likes", extra, absd[ia].item(), ja, rel[ir].item(), jr, rtol, atol))


def _compare_numbers(actual, expected, rtol, atol, equal_nan, check_dtype, msg):
    if check_dtype and type(actual) is not type(expected):
        _fail(msg, f"The (d)types do not match: {type(actual)} != {type(expected)}.")
    if rtol is None:
        rtol, atol = _tolerances(*(np.float64 if isinstance(v, float) else np.int64 for v in (actual, expected)))
    if actual == expected or (equal_nan and math.isnan(actual) and math.isnan(expected)):
        return
    ad = abs(actual - expected)
    if math.isfinite(ad) and ad <= atol + rtol * abs(expected):
        return
    rd = float("inf") if expected == 0 else ad / abs(expected)
    _fail(msg, _mismatch_msg("Scalars", f"Expected {expected} but got {actual}.", ad, None, rd, None, rtol, atol))


def _tensor_like(x):
    return isinstance(x, (Tensor, np.ndarray))


def _compare(actual, expected, path, opts):
    allow_subclasses, rtol, atol, equal_nan, check_device, check_dtype, check_stride, msg = opts
    try:
        if actual is None or expected is None:
            if actual is not expected:
                _fail(msg, f"None mismatch: {actual} is not {expected}")
            return
        if isinstance(actual, (bool, np.bool_)) and isinstance(expected, (bool, np.bool_)):
            if bool(actual) != bool(expected):
                _fail(msg, f"Booleans mismatch: {actual} is not {expected}")
            return
        if _tensor_like(actual) and _tensor_like(expected):
            if not allow_subclasses and type(actual) is not type(expected):
                raise TypeError(f"Except for Python scalars, type equality is required if allow_subclasses=False, "
                                f"but got {type(actual)} and {type(expected)} instead.")
            _compare_tensors(actual, expected, rtol, atol, equal_nan, check_device, check_dtype, check_stride, msg)
            return
        if isinstance(actual, _NUMBER_TYPES) and isinstance(expected, _NUMBER_TYPES):
            _compare_numbers(actual, expected, rtol, atol, equal_nan, check_dtype, msg)
            return
        if isinstance(actual, collections.abc.Mapping) and isinstance(expected, collections.abc.Mapping):
            ka, ke = set(actual), set(expected)
            if ka != ke:
                _fail(msg, "The keys of the mappings do not match:\n"
                      + (f"Missing keys in the actual mapping: {sorted(ke - ka, key=repr)}\n" if ke - ka else "")
                      + (f"Additional keys in the actual mapping: {sorted(ka - ke, key=repr)}" if ka - ke else "")
                      .rstrip())
            for k in expected:
                _compare(actual[k], expected[k], path + [k], opts)
            return
        seq = collections.abc.Sequence
        if isinstance(actual, seq) and isinstance(expected, seq) and not isinstance(actual, str) \
                and not isinstance(expected, str):
            if len(actual) != len(expected):
                _fail(msg, f"The length of the sequences mismatch: {len(actual)} != {len(expected)}")
            for i, (x, y) in enumerate(zip(actual, expected)):
                _compare(x, y, path + [i], opts)
            return
    except AssertionError as err:
        if path and not getattr(err, "_located", False) and msg is None:
            where = "".join(f"[{p!r}]" for p in path)
            err = AssertionError(f"{err}\n\nThe failure occurred for item {where}")
            err._located = True
            raise err from None
        raise
    raise TypeError(f"No comparison pair was able to handle inputs of type {type(actual)} and {type(expected)}.")


def assert_close(actual, expected, *, allow_subclasses=True, rtol=None, atol=None, equal_nan=False,
                 check_device=True, check_dtype=True, check_layout=True, check_stride=False, msg=None):
    """Matches `torch.testing.assert_close`: tensors (refgrad Tensors or numpy arrays), numbers, and
    sequences/mappings of them. Default tolerances per dtype: float16 (1e-3, 1e-5), float32 (1.3e-6,
    1e-5), float64 (1e-7, 1e-7), integers and bool exact. Raises AssertionError with torch's report.
    ``msg`` replaces the report (a callable gets the report and returns the message)."""
    if (rtol is None) != (atol is None):
        raise ValueError(f"Both 'rtol' and 'atol' must be either specified or omitted, but got no "
                         f"{'rtol' if rtol is None else 'atol'}.")
    opts = (allow_subclasses, rtol, atol, equal_nan, check_device, check_dtype, check_stride, msg)
    _compare(actual, expected, [], opts)


def make_tensor(*shape, dtype, device, low=None, high=None, requires_grad=False, noncontiguous=False,
                exclude_zero=False, memory_format=None):
    """Matches `torch.testing.make_tensor`: floats uniform in [low, high) (default [-9, 9)), integers
    in [low, high) (default [-9, 10), [0, 10) for uint8), bool fair coin; ``exclude_zero`` replaces zeros
    by 1 (integers) or the dtype's smallest normal (floats). Drawn from refgrad's default generator."""
    from .ops.creation import _rng, tensor  # noqa: PLC0415 - creation imports this package's Tensor

    if len(shape) == 1 and isinstance(shape[0], collections.abc.Sequence):
        shape = tuple(shape[0])
    npdt = dtype.np
    if requires_grad and npdt.kind != "f":
        raise ValueError(f"make_tensor: requires_grad must be False for integral dtype, but got {dtype}")
    for v in (low, high):
        if v is not None and isinstance(v, float) and math.isnan(v):
            raise ValueError(f"`low` and `high` cannot be NaN, but got low={low} and high={high}")
    if low is not None and high is not None and low >= high:
        raise ValueError(f"`low` must be less than `high`, but got {low} >= {high}")
    rng = _rng(None)
    if npdt.kind == "b":
        arr = rng.integers(0, 2, size=shape).astype(bool)
    elif npdt.kind in "iu":
        info = np.iinfo(npdt)
        lo = max(info.min, -9 if low is None else math.ceil(low))
        hi = min(info.max + 1, 10 if high is None else math.ceil(high))
        lo = max(lo, 0) if npdt.kind == "u" else lo
        arr = rng.integers(lo, max(hi, lo + 1), size=shape).astype(npdt)
    else:
        info = np.finfo(npdt)
        lo = max(float(info.min), -9.0 if low is None else float(low))
        hi = min(float(info.max), 9.0 if high is None else float(high))
        arr = rng.uniform(lo, hi, size=shape).astype(npdt)
    if exclude_zero:
        arr[arr == 0] = True if npdt.kind == "b" else (1 if npdt.kind in "iu" else np.finfo(npdt).tiny)
    t = tensor(arr, device=device)
    if noncontiguous and t._data.ndim and t._data.size > 1:
        t._data = _backend.get_xp(t._data).repeat(t._data, 2, axis=-1)[..., ::2]  # same values, strided
    return t.requires_grad_(True) if requires_grad else t


# ------------------------------------------------------------------------------------------------
# Hypothesis strategies (for tests and the gradcheck harness). hypothesis is imported lazily.
# ------------------------------------------------------------------------------------------------
def shapes(min_dims=0, max_dims=4, max_side=5, allow_empty=False):
    """Strategy: a shape tuple with ``min_dims..max_dims`` sides in ``[0 or 1, max_side]``."""
    from hypothesis import strategies as st  # noqa: PLC0415 - test-time dependency only

    side = st.integers(0 if allow_empty else 1, max_side)
    return st.lists(side, min_size=min_dims, max_size=max_dims).map(tuple)


def broadcastable_shapes(n=2, min_dims=0, max_dims=4, max_side=5, allow_empty=False):
    """Strategy: a tuple of ``n`` mutually broadcastable shapes. Each drops leading dims and sets
    sides to 1 independently, so broadcasting runs both ways ((3, 1) with (4,), 0-d with anything)."""
    from hypothesis import strategies as st  # noqa: PLC0415

    @st.composite
    def build(draw):
        full = draw(shapes(min_dims, max_dims, max_side, allow_empty))
        out = []
        for _ in range(n):
            keep = draw(st.integers(0, len(full)))
            tail = full[len(full) - keep:]
            ones = draw(st.lists(st.booleans(), min_size=len(tail), max_size=len(tail)))
            out.append(tuple(1 if o else s for s, o in zip(tail, ones)))
        return tuple(out)
    return build()


def arrays(dtype, shape, low=-2.0, high=2.0, avoid=(), margin=1e-2):
    """Strategy: a numpy array of ``dtype`` and ``shape`` (a tuple or a shape strategy) with values in
    ``[low, high]``, kept at least ``margin`` away from each point in ``avoid`` (kinks, poles, ties)."""
    from hypothesis import strategies as st  # noqa: PLC0415
    from hypothesis.extra import numpy as hnp  # noqa: PLC0415

    npdt = np.dtype(getattr(dtype, "np", dtype))
    if npdt.kind == "b":
        elements = st.booleans()
    elif npdt.kind in "iu":
        elements = st.integers(int(math.ceil(low)), int(math.floor(high)))
        if avoid:
            elements = elements.filter(lambda v: all(v != a for a in avoid))
    else:
        width = 16 if npdt == np.float16 else (32 if npdt == np.float32 else 64)
        low, high = _inward(low, npdt, np.inf), _inward(high, npdt, -np.inf)
        elements = st.floats(low, high, allow_nan=False, allow_infinity=False, allow_subnormal=False, width=width)
        if avoid:
            elements = elements.map(lambda v: float(npdt.type(_push_away(v, avoid, margin, low, high))))
    return hnp.arrays(npdt, shape, elements=elements)


def _inward(v, npdt, toward):
    # the nearest value of the dtype inside the interval: hypothesis wants representable bounds
    r = npdt.type(v)
    if (toward > v and r < v) or (toward < v and r > v):
        r = np.nextafter(r, npdt.type(toward))
    return float(r)


def _push_away(v, avoid, margin, low, high):
    for a in avoid:
        if abs(v - a) < margin:
            v = a + margin if (v >= a and a + margin <= high) or a - margin < low else a - margin
    return v
