"""A repr like torch's: tensor([...], dtype=..., device=..., requires_grad=True / grad_fn=<...>)."""
from __future__ import annotations

import numpy as np

from . import _backend, _dtypes


def _float_formatter(arr):
    finite = arr[np.isfinite(arr)]
    if finite.size == 0:
        return lambda v: _nonfinite(v) or f"{v:.4f}"
    absf = np.abs(finite.astype(np.float64))
    nz = absf[absf > 0]
    if np.all(finite == np.round(finite)) and (absf.max() < 1e8 if absf.size else True):
        # torch prints integral floats as "1."
        width = max(len(f"{v:.0f}") for v in finite) + 1
        return lambda v: (_nonfinite(v) or f"{v:.0f}.").rjust(width)
    sci = nz.size and (nz.max() / nz.min() > 1000.0 or nz.max() > 1e8 or nz.min() < 1e-4)
    if sci:
        return lambda v: _nonfinite(v) or f"{v:.4e}"
    width = max(len(f"{v:.4f}") for v in finite)
    return lambda v: (_nonfinite(v) or f"{v:.4f}").rjust(width)


def _nonfinite(v):
    if np.isnan(v):
        return "nan"
    if np.isinf(v):
        return "inf" if v > 0 else "-inf"
    return None


def tensor_repr(t, prefix="tensor("):
    arr = _backend.asnumpy(t._data)
    suffix = []
    if t.device.type != "cpu":
        suffix.append(f"device='{t.device}'")
    if arr.size == 0:
        body = "[]"
        if arr.ndim != 1:
            suffix.insert(0, f"size={tuple(arr.shape)}")
    else:
        if arr.dtype.kind == "f":
            fmt = {"float_kind": _float_formatter(arr)}
        elif arr.dtype.kind == "b":
            fmt = {"bool": lambda v: "True" if v else "False"}
        else:
            fmt = None
        body = np.array2string(arr, separator=", ", prefix=prefix, formatter=fmt, threshold=1000, edgeitems=3,
                               max_line_width=80)
    dt = _dtypes._NP2DT[arr.dtype]
    if dt not in (_dtypes.get_default_dtype(), _dtypes.int64, _dtypes.bool_) or \
            (arr.size == 0 and dt is not _dtypes.get_default_dtype()):
        suffix.append(f"dtype={dt!r}")
    fn = t.grad_fn
    if fn is not None:
        suffix.append(f"grad_fn=<{fn.name()}>")
    elif t.requires_grad:
        suffix.append("requires_grad=True")
    return prefix + body + "".join(", " + s for s in suffix) + ")"
