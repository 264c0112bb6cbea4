"""The numpy/cupy seam. Only this module knows that cupy exists.

Matches torch's device model: ``cpu`` is numpy, ``cuda[:N]`` is cupy, imported lazily the first
time a cuda device is asked for.
"""
from __future__ import annotations

import numpy as np

_cupy = None


def _import_cupy():
    global _cupy
    if _cupy is None:
        try:
            import cupy  # noqa: PLC0415 - lazy by design: cpu users never pay for cupy
        except ImportError as e:  # pragma: no cover - depends on the machine
            raise RuntimeError(
                "Torch not compiled with CUDA enabled: refgrad needs CuPy for cuda tensors "
                "(pip install 'refgrad[cuda]')") from e
        _cupy = cupy
    return _cupy


class device:
    """Matches `torch.device`: ``device('cpu')``, ``device('cuda')``, ``device('cuda', 1)``."""

    __slots__ = ("type", "index")

    def __init__(self, type, index=None):  # noqa: A002 - torch's argument name
        if isinstance(type, device):
            self.type, self.index = type.type, type.index
            return
        if not isinstance(type, str):
            raise TypeError(f"device() received an invalid combination of arguments: {type!r}")
        if ":" in type:
            if index is not None:
                raise RuntimeError(
                    f"type (string) must not include an index because index was passed explicitly: {type}")
            type, _, idx = type.partition(":")
            try:
                index = int(idx)
            except ValueError:
                raise RuntimeError(f"Invalid device string: '{type}:{idx}'") from None
        if type not in ("cpu", "cuda"):
            raise RuntimeError(
                f"Expected one of cpu, cuda device type at start of device string: {type}")
        if index is not None and index < 0:
            raise RuntimeError(f"Device index must not be negative, got {index}")
        self.type, self.index = type, index

    def __eq__(self, other):
        if isinstance(other, str):
            other = device(other)
        return isinstance(other, device) and self.type == other.type and self.index == other.index

    def __hash__(self):
        return hash((self.type, self.index))

    def __repr__(self):
        return f"device(type='{self.type}')" if self.index is None else \
            f"device(type='{self.type}', index={self.index})"

    def __str__(self):
        return self.type if self.index is None else f"{self.type}:{self.index}"


CPU = device("cpu")
_CUDA0 = device("cuda", 0)


def as_device(dev) -> device:
    """Parse whatever torch accepts as a device (str, int, device) into a concrete device."""
    if dev is None:
        return CPU
    if isinstance(dev, device):
        d = dev
    elif isinstance(dev, int):
        d = device("cuda", dev)
    else:
        d = device(dev)
    if d.type == "cuda" and d.index is None:
        return device("cuda", _import_cupy().cuda.Device().id)
    if d.type == "cpu":
        return CPU
    return d


def get_xp(arr):
    """numpy for numpy arrays, cupy for cupy arrays; the only place that asks."""
    if type(arr) is np.ndarray or isinstance(arr, (np.ndarray, np.generic)):
        return np
    return _import_cupy().get_array_module(arr)


def device_of(arr) -> device:
    if isinstance(arr, (np.ndarray, np.generic)):
        return CPU
    return device("cuda", arr.device.id)


def xp_for(dev: device):
    return np if dev.type == "cpu" else _import_cupy()


def to_device(arr, dev: device):
    """Copy ``arr`` to ``dev`` (no copy when it is already there)."""
    if dev.type == "cpu":
        return arr if isinstance(arr, np.ndarray) else arr.get()
    cp = _import_cupy()
    with cp.cuda.Device(dev.index or 0):
        if isinstance(arr, np.ndarray):
            return cp.asarray(arr)
        if arr.device.id == (dev.index or 0):
            return arr
        return cp.asarray(arr)


def asnumpy(arr):
    return arr if isinstance(arr, np.ndarray) else arr.get()


def is_cuda_available() -> bool:
    try:
        cp = _import_cupy()
        return cp.cuda.runtime.getDeviceCount() > 0
    except Exception:  # noqa: BLE001 - any failure means "no usable GPU"
        return False


def device_count() -> int:
    return _import_cupy().cuda.runtime.getDeviceCount() if is_cuda_available() else 0
