"""dtype and device conversion (differentiable, like torch's _to_copy)."""
from __future__ import annotations

import numpy as np

from .. import _backend, _dtypes
from .._tensor import Tensor, register_methods
from ..autograd.graph import apply


class _ToCopy:
    node_name = "ToCopyBackward0"

    @staticmethod
    def forward(ctx, x, npdt, dev):
        ctx.src = (x.dtype, _backend.device_of(x))
        y = x
        if npdt is not None and x.dtype != npdt:
            y = y.astype(npdt)
        if dev is not None:
            y = _backend.to_device(y, dev)
        return y if y is not x else x.copy()

    @staticmethod
    def backward(ctx, g):
        # grad converted back to the source dtype and device (engine casts dtype; device here)
        src_dt, src_dev = ctx.src
        return g._to(src_dt, src_dev)


def _to(self, npdt, dev, copy=False):
    """Internal: the differentiable conversion. ``npdt`` numpy dtype or None, ``dev`` device or None.
    Returns ``self`` when nothing changes and no copy is asked for (torch's rule)."""
    d = self._data
    if (npdt is None or d.dtype == npdt) and (dev is None or _backend.device_of(d) == dev) and not copy:
        return self
    if npdt is not None and np.dtype(npdt).kind != "f":
        # integral results carry no graph
        y = d.astype(npdt) if d.dtype != npdt else d.copy()
        return Tensor._wrap(_backend.to_device(y, dev) if dev is not None else y)
    return apply(_ToCopy, self, npdt=npdt, dev=dev)


def _to_np_dtype(self, npdt):
    return _to(self, np.dtype(npdt), None)


def _parse_to(args, kwargs):
    """torch's overloads: to(dtype), to(device[, dtype]), to(tensor), each then non_blocking, copy."""
    dtype = kwargs.pop("dtype", None)
    device = kwargs.pop("device", None)
    copy = kwargs.pop("copy", False)
    kwargs.pop("non_blocking", None)
    kwargs.pop("memory_format", None)
    if kwargs:
        raise TypeError(f"to() got unexpected keyword arguments {list(kwargs)}")
    args = list(args)
    if args and isinstance(args[0], Tensor):
        other = args.pop(0)
        dtype, device = other.dtype, other.device
    elif args and isinstance(args[0], (str, _backend.device)) or args and type(args[0]) is int:
        device = args.pop(0)
        if args and isinstance(args[0], _dtypes.dtype):
            dtype = args.pop(0)
    elif args and (isinstance(args[0], _dtypes.dtype) or args[0] is None):
        dtype = args.pop(0)
    # what remains: non_blocking, copy
    if len(args) > 2 or not all(isinstance(a, bool) for a in args):
        raise TypeError(f"to() received an invalid combination of arguments - got {tuple(args)} after the "
                        "dtype/device/tensor argument; expected (non_blocking: bool, copy: bool)")
    if len(args) == 2:
        copy = args[1]
    return dtype, device, copy


def to(self, *args, **kwargs):
    """Matches `torch.Tensor.to(dtype)`, `.to(device)`, `.to(other)`, `.to(device, dtype)`."""
    dtype, device, copy = _parse_to(args, dict(kwargs))
    npdt = dtype.np if dtype is not None else None
    dev = _backend.as_device(device) if device is not None else None
    return _to(self, npdt, dev, copy)


def _dtype_method(d):
    def method(self, memory_format=None):
        return _to(self, d.np, None)
    return method


def cpu(self, memory_format=None):
    return _to(self, None, _backend.CPU)


def cuda(self, device=None, non_blocking=False, memory_format=None):
    return _to(self, None, _backend.as_device("cuda" if device is None else device))


def type_as(self, other):
    return _to(self, other._data.dtype, None)


def copy_(self, src, non_blocking=False):
    """Matches `torch.Tensor.copy_`: src is cast to self's dtype and device and broadcast to its shape;
    the gradient flows to src (the overwritten value gets none)."""
    from ._core import inplace  # noqa: PLC0415

    def copied(old, src):
        if not isinstance(src, Tensor):
            raise TypeError(f"copy_(): argument 'src' must be Tensor, not {type(src).__name__}")
        return _to(src, old._data.dtype, old.device).expand(*old.shape).clone()
    return inplace(self, copied, src)


register_methods({
    "copy_": copy_,
    "to": to, "_to": lambda self, dt, dev: _to(self, dt.np if isinstance(dt, _dtypes.dtype) else dt, dev),
    "_to_np_dtype": _to_np_dtype, "cpu": cpu, "cuda": cuda, "type_as": type_as,
    "float": _dtype_method(_dtypes.float32), "double": _dtype_method(_dtypes.float64),
    "half": _dtype_method(_dtypes.float16), "long": _dtype_method(_dtypes.int64),
    "int": _dtype_method(_dtypes.int32), "short": _dtype_method(_dtypes.int16),
    "char": _dtype_method(_dtypes.int8), "byte": _dtype_method(_dtypes.uint8),
    "bool": _dtype_method(_dtypes.bool_),
})
