"""dtype objects and torch's type-promotion rules (not numpy's).

Matches `torch.result_type` / `torch.promote_types`: dimensioned tensors dominate zero-dim tensors,
which dominate Python scalars, unless the lower group is of a higher category
(bool < integral < floating).
"""
from __future__ import annotations

import numpy as np


class dtype:
    __slots__ = ("name", "np", "itemsize", "is_floating_point", "is_signed", "_rank", "_cat")

    def __init__(self, name, npdtype, rank, cat):
        self.name = name
        self.np = np.dtype(npdtype)
        self.itemsize = self.np.itemsize
        self.is_floating_point = cat == 2
        self.is_signed = name not in ("uint8", "bool")
        self._rank = rank
        self._cat = cat  # 0 bool, 1 integral, 2 floating

    @property
    def is_complex(self):
        return False

    def __repr__(self):
        return f"torch.{self.name}"

    def __reduce__(self):
        return (_by_name, (self.name,))

    def to_real(self):
        return self


bool_ = dtype("bool", np.bool_, 0, 0)
uint8 = dtype("uint8", np.uint8, 1, 1)
int8 = dtype("int8", np.int8, 2, 1)
int16 = dtype("int16", np.int16, 3, 1)
int32 = dtype("int32", np.int32, 4, 1)
int64 = dtype("int64", np.int64, 5, 1)
float16 = dtype("float16", np.float16, 6, 2)
float32 = dtype("float32", np.float32, 7, 2)
float64 = dtype("float64", np.float64, 8, 2)

ALL = (bool_, uint8, int8, int16, int32, int64, float16, float32, float64)
_NP2DT = {d.np: d for d in ALL}
_NAMES = {d.name: d for d in ALL}


def _by_name(name):
    return _NAMES[name]


def from_numpy_dtype(npdt) -> dtype:
    try:
        return _NP2DT[np.dtype(npdt)]
    except KeyError:
        raise TypeError(f"can't convert np.ndarray of type {np.dtype(npdt)}. The only supported types are: "
                        "float64, float32, float16, int64, int32, int16, int8, uint8, and bool.") from None


def _build_promotion_table():
    # torch's promoteTypes table restricted to the dtypes refgrad has.
    t = {}
    for a in ALL:
        for b in ALL:
            if a is b:
                r = a
            elif a._cat != b._cat:
                hi, lo = (a, b) if a._cat > b._cat else (b, a)
                r = hi
            elif a._cat == 1:
                if {a, b} == {uint8, int8}:
                    r = int16
                elif uint8 in (a, b):
                    other = b if a is uint8 else a
                    r = other
                else:
                    r = a if a._rank > b._rank else b
            else:
                r = a if a._rank > b._rank else b
            t[a, b] = r
    return t


_PROMOTE = _build_promotion_table()


def promote_types(a: dtype, b: dtype) -> dtype:
    return _PROMOTE[a, b]


# torch's default dtype is process-global, so this is too.
_default = [float32]


def get_default_dtype() -> dtype:
    return _default[0]


def set_default_dtype(d: dtype) -> None:
    if d not in (float16, float32, float64):
        raise TypeError(f"only floating-point types are supported as the default type, got {d}")
    _default[0] = d


def scalar_dtype(x) -> dtype:
    """The dtype torch gives a wrapped Python number (bool, int64, the default float)."""
    if isinstance(x, bool):
        return bool_
    if isinstance(x, int):
        return int64
    if isinstance(x, float):
        return _default[0]
    if isinstance(x, (np.bool_,)):
        return bool_
    if isinstance(x, np.integer):
        return int64
    if isinstance(x, np.floating):
        return _default[0]
    raise TypeError(f"unsupported scalar type {type(x).__name__}")


def _combine(higher, lower):
    # torch's combine_categories
    if higher is None:
        return lower
    if lower is None:
        return higher
    if higher._cat == 2:
        return higher
    if higher is bool_ or lower._cat == 2:
        return _PROMOTE[higher, lower]
    return higher


def result_type_of(dim_dtypes, zero_dtypes, scalar_dtypes) -> dtype:
    """torch's ResultTypeState: three buckets combined by category."""
    d = z = s = None
    for t in dim_dtypes:
        d = t if d is None else _PROMOTE[d, t]
    for t in zero_dtypes:
        z = t if z is None else _PROMOTE[z, t]
    for t in scalar_dtypes:
        s = t if s is None else _PROMOTE[s, t]
    return _combine(d, _combine(z, s))
