"""Tensor creation and random sampling. Random numbers are drawn on the host from a seeded
numpy PCG64 stream and then moved to the device, so one seed gives the same numbers on cpu and
cuda (torch's streams differ per device; refgrad prefers reproducibility)."""
from __future__ import annotations

import math
import numbers

import numpy as np

from .. import _backend, _dtypes
from .._tensor import Tensor, register_methods


def _npdt(dtype):
    if dtype is None:
        return None
    if isinstance(dtype, _dtypes.dtype):
        return dtype.np
    if dtype in (float, "float"):
        return _dtypes.float64.np
    if dtype in (int, "int"):
        return _dtypes.int64.np
    if dtype is bool:
        return _dtypes.bool_.np
    return _dtypes.from_numpy_dtype(dtype).np


def _finish(arr, device, requires_grad):
    dev = _backend.as_device(device)
    if dev.type != "cpu" or not isinstance(arr, np.ndarray):
        arr = _backend.to_device(arr, dev)
    t = Tensor._wrap(arr)
    if requires_grad:
        t.requires_grad_(True)
    return t


def _infer_dtype(data):
    """torch.tensor's inference: any float -> default dtype, else any int -> int64, else bool."""
    kinds = set()
    stack = [data]
    while stack:
        x = stack.pop()
        if isinstance(x, Tensor):
            kinds.add(("t", x.dtype))
        elif isinstance(x, np.ndarray):
            kinds.add(("t", _dtypes.from_numpy_dtype(x.dtype)))
        elif isinstance(x, (bool, np.bool_)):
            kinds.add(("s", _dtypes.bool_))
        elif isinstance(x, numbers.Integral):
            kinds.add(("s", _dtypes.int64))
        elif isinstance(x, numbers.Real):
            kinds.add(("s", _dtypes.get_default_dtype() if not isinstance(x, np.floating)
                       else _dtypes.from_numpy_dtype(np.asarray(x).dtype)))
        elif isinstance(x, (list, tuple)):
            stack.extend(x)
        else:
            raise TypeError(f"Could not infer dtype of {type(x).__name__}")
    if not kinds:
        return _dtypes.get_default_dtype()
    best = None
    for _, d in kinds:
        best = d if best is None else _dtypes.promote_types(best, d)
    return best


def _to_host(data):
    if isinstance(data, Tensor):
        return _backend.asnumpy(data._data)
    if isinstance(data, (list, tuple)):
        return [_to_host(x) for x in data]
    return data


def tensor(data, *, dtype=None, device=None, requires_grad=False, pin_memory=False):
    """Matches `torch.tensor`: always copies; infers torch's dtype from Python data."""
    if isinstance(data, Tensor):
        arr = data._data.copy()
        if dtype is not None:
            arr = arr.astype(_npdt(dtype))
        if device is None:
            device = data.device
        return _finish(arr, device, requires_grad)
    if not isinstance(data, np.ndarray) and not _is_array_like(data):
        dt = _npdt(dtype) if dtype is not None else _infer_dtype(data).np
        arr = np.array(_to_host(data), dtype=dt)
    else:
        arr = np.array(_backend.asnumpy(data) if not isinstance(data, np.ndarray) else data, copy=True)
        if dtype is not None:
            arr = arr.astype(_npdt(dtype))
        else:
            _dtypes.from_numpy_dtype(arr.dtype)  # raises torch's TypeError on unsupported dtypes
    if arr.dtype == object:
        raise ValueError("too many dimensions or ragged nested sequence")
    return _finish(arr, device, requires_grad)


def _is_array_like(x):
    return hasattr(x, "__cuda_array_interface__") or (
        hasattr(x, "__array__") and not isinstance(x, (list, tuple, numbers.Number)))


def as_tensor(data, dtype=None, device=None):
    """Matches `torch.as_tensor`: shares memory with numpy arrays and tensors when it can."""
    if isinstance(data, Tensor):
        t = data
        if dtype is not None:
            t = t.to(dtype)
        if device is not None:
            t = t.to(device)
        return t
    if isinstance(data, np.ndarray):
        arr = data if dtype is None else data.astype(_npdt(dtype), copy=False)
        _dtypes.from_numpy_dtype(arr.dtype)
        return _finish(arr, device, False)
    return tensor(data, dtype=dtype, device=device)


asarray = as_tensor


def from_numpy(ndarray):
    """Matches `torch.from_numpy` (shares memory)."""
    if not isinstance(ndarray, np.ndarray):
        raise TypeError(f"expected np.ndarray (got {type(ndarray).__name__})")
    _dtypes.from_numpy_dtype(ndarray.dtype)
    return Tensor._wrap(ndarray)


def from_dlpack(ext_tensor):
    """Matches `torch.from_dlpack` (numpy for cpu capsules, cupy for cuda ones)."""
    dev_type, dev_id = ext_tensor.__dlpack_device__() if hasattr(ext_tensor, "__dlpack_device__") else (1, 0)
    if int(dev_type) == 1:
        arr = np.from_dlpack(ext_tensor)
    else:
        cp = _backend._import_cupy()
        arr = cp.from_dlpack(ext_tensor)
    _dtypes.from_numpy_dtype(arr.dtype)
    return Tensor._wrap(arr)


def _size(size):
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    out = []
    for s in size:
        if isinstance(s, Tensor):
            s = int(s.item())
        if not isinstance(s, (int, np.integer)):
            raise TypeError(f"size must be a sequence of ints, got {type(s).__name__}")
        if s < 0:
            raise RuntimeError(f"Trying to create tensor with negative dimension {s}: {list(size)}")
        out.append(int(s))
    return tuple(out)


def _filled(fill, size, dtype, device, requires_grad):
    dt = _npdt(dtype) if dtype is not None else _dtypes.get_default_dtype().np
    xp = _backend.xp_for(_backend.as_device(device))
    if fill is None:
        arr = xp.empty(size, dtype=dt)
    elif fill == 0:
        arr = xp.zeros(size, dtype=dt)
    elif fill == 1:
        arr = xp.ones(size, dtype=dt)
    else:
        arr = xp.full(size, fill, dtype=dt)
    t = Tensor._wrap(arr)
    if requires_grad:
        t.requires_grad_(True)
    return t


def zeros(*size, out=None, dtype=None, layout=None, device=None, requires_grad=False):
    """Matches `torch.zeros`."""
    return _filled(0, _size(size), dtype, device, requires_grad)


def ones(*size, out=None, dtype=None, layout=None, device=None, requires_grad=False):
    """Matches `torch.ones`."""
    return _filled(1, _size(size), dtype, device, requires_grad)


def empty(*size, out=None, dtype=None, layout=None, device=None, requires_grad=False,
          pin_memory=False, memory_format=None):
    """Matches `torch.empty` (refgrad zero-fills: uninitialised memory is never handed out)."""
    return _filled(0, _size(size), dtype, device, requires_grad)


def full(size, fill_value, *, out=None, dtype=None, layout=None, device=None, requires_grad=False):
    """Matches `torch.full`: dtype inferred from fill_value when not given."""
    if dtype is None:
        dtype = _dtypes.scalar_dtype(fill_value)
    return _filled(fill_value, _size((size,) if not isinstance(size, int) else (size,)), dtype, device,
                   requires_grad)


def _like(t, dtype, device):
    return (dtype if dtype is not None else t.dtype), (device if device is not None else t.device)


def zeros_like(input, *, dtype=None, layout=None, device=None, requires_grad=False, memory_format=None):  # noqa: A002
    dt, dev = _like(input, dtype, device)
    return _filled(0, input._data.shape, dt, dev, requires_grad)


def ones_like(input, *, dtype=None, layout=None, device=None, requires_grad=False, memory_format=None):  # noqa: A002
    dt, dev = _like(input, dtype, device)
    return _filled(1, input._data.shape, dt, dev, requires_grad)


def empty_like(input, *, dtype=None, layout=None, device=None, requires_grad=False, memory_format=None):  # noqa: A002
    dt, dev = _like(input, dtype, device)
    return _filled(0, input._data.shape, dt, dev, requires_grad)


def full_like(input, fill_value, *, dtype=None, layout=None, device=None, requires_grad=False,  # noqa: A002
              memory_format=None):
    dt, dev = _like(input, dtype, device)
    return _filled(fill_value, input._data.shape, dt, dev, requires_grad)


def arange(start=0, end=None, step=1, *, out=None, dtype=None, layout=None, device=None, requires_grad=False):
    """Matches `torch.arange`: integer arguments give int64, any float gives the default dtype."""
    if end is None:
        start, end = 0, start
    vals = [v.item() if isinstance(v, Tensor) else v for v in (start, end, step)]
    start, end, step = vals
    if step == 0:
        raise RuntimeError("step must be nonzero")
    if (end - start) / step < 0:
        raise RuntimeError("upper bound and larger bound inconsistent with step sign")
    if dtype is None:
        dtype = _dtypes.int64 if all(isinstance(v, (int, np.integer)) for v in vals) \
            else _dtypes.get_default_dtype()
    n = math.ceil((end - start) / step)
    # torch computes start + i * step in double precision then casts
    arr = (start + np.arange(n, dtype=np.float64) * step) if _npdt(dtype).kind == "f" or \
        not all(isinstance(v, (int, np.integer)) for v in vals) else np.arange(start, end, step, dtype=np.int64)
    return _finish(np.asarray(arr).astype(_npdt(dtype)), device, requires_grad)


def linspace(start, end, steps, *, out=None, dtype=None, layout=None, device=None, requires_grad=False):
    """Matches `torch.linspace`."""
    dtype = dtype if dtype is not None else _dtypes.get_default_dtype()
    start = start.item() if isinstance(start, Tensor) else start
    end = end.item() if isinstance(end, Tensor) else end
    if steps < 0:
        raise RuntimeError("number of steps must be non-negative")
    # torch: first half from start, second half from end (symmetric rounding)
    step = (end - start) / (steps - 1) if steps > 1 else 0.0
    i = np.arange(steps, dtype=np.float64)
    half = steps // 2
    arr = np.where(i < half, start + step * i, end - step * (steps - 1 - i))
    if steps == 1:
        arr = np.array([start], dtype=np.float64)
    return _finish(arr.astype(_npdt(dtype)), device, requires_grad)


def logspace(start, end, steps, base=10.0, *, out=None, dtype=None, layout=None, device=None,
             requires_grad=False):
    """Matches `torch.logspace`."""
    dtype = dtype if dtype is not None else _dtypes.get_default_dtype()
    lin = linspace(start, end, steps, dtype=_dtypes.float64)._data
    return _finish(np.power(float(base), lin).astype(_npdt(dtype)), device, requires_grad)


def eye(n, m=None, *, out=None, dtype=None, layout=None, device=None, requires_grad=False):
    """Matches `torch.eye`."""
    dt = _npdt(dtype) if dtype is not None else _dtypes.get_default_dtype().np
    return _finish(np.eye(n, n if m is None else m, dtype=dt), device, requires_grad)


def scalar_tensor(s, *, dtype=None, device=None, requires_grad=False):
    dt = _npdt(dtype) if dtype is not None else _dtypes.get_default_dtype().np
    return _finish(np.asarray(s, dtype=dt), device, requires_grad)


def _legacy_ctor(*args, **kwargs):
    if len(args) == 1 and not isinstance(args[0], int):
        return tensor(args[0], dtype=_dtypes.get_default_dtype())
    return zeros(*args, **kwargs)


# -- random ---------------------------------------------------------------------------------------
class Generator:
    """Matches `torch.Generator` (manual_seed, seed, initial_seed, get_state, set_state)."""

    def __init__(self, device="cpu"):
        self.device = _backend.as_device(device) if device != "cuda" else _backend.device("cuda")
        self._seed = 67280421310721  # torch's default seed
        self._rng = np.random.Generator(np.random.PCG64(self._seed))

    def manual_seed(self, seed):
        seed = int(seed)
        if seed < 0:
            seed += 1 << 64
        self._seed = seed
        self._rng = np.random.Generator(np.random.PCG64(seed))
        return self

    def seed(self):
        s = int(np.random.SeedSequence().entropy) % (1 << 63)
        self.manual_seed(s)
        return s

    def initial_seed(self):
        return self._seed

    def get_state(self):
        import json  # noqa: PLC0415
        st = self._rng.bit_generator.state
        raw = json.dumps({"seed": self._seed, "state": st}).encode()
        return Tensor._wrap(np.frombuffer(raw, dtype=np.uint8).copy())

    def set_state(self, new_state):
        import json  # noqa: PLC0415
        d = json.loads(bytes(_backend.asnumpy(new_state._data).astype(np.uint8)).decode())
        self._seed = d["seed"]
        self._rng = np.random.Generator(np.random.PCG64())
        self._rng.bit_generator.state = d["state"]
        return self


default_generator = Generator()


def manual_seed(seed):
    """Matches `torch.manual_seed`."""
    default_generator.manual_seed(seed)
    return default_generator


def seed():
    return default_generator.seed()


def initial_seed():
    return default_generator.initial_seed()


def get_rng_state():
    return default_generator.get_state()


def set_rng_state(new_state):
    default_generator.set_state(new_state)


def _rng(generator):
    return (generator or default_generator)._rng


def _float_dt(dtype):
    dt = _npdt(dtype) if dtype is not None else _dtypes.get_default_dtype().np
    if dt.kind != "f":
        raise RuntimeError(f"expected a floating-point dtype, got {dt}")
    return dt


def rand(*size, generator=None, out=None, dtype=None, layout=None, device=None, requires_grad=False):
    """Matches `torch.rand`: uniform on [0, 1)."""
    dt = _float_dt(dtype)
    return _finish(_rng(generator).random(_size(size)).astype(dt), device, requires_grad)


def randn(*size, generator=None, out=None, dtype=None, layout=None, device=None, requires_grad=False):
    """Matches `torch.randn`: standard normal."""
    dt = _float_dt(dtype)
    return _finish(_rng(generator).standard_normal(_size(size)).astype(dt), device, requires_grad)


def randint(low=0, high=None, size=None, *, generator=None, out=None, dtype=None, layout=None, device=None,
            requires_grad=False):
    """Matches `torch.randint`: integers in [low, high), int64 by default."""
    if high is None:
        low, high = 0, low
    if size is None:
        raise TypeError("randint() missing required argument 'size'")
    if low >= high:
        raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got from={low} >= to={high}")
    dt = _npdt(dtype) if dtype is not None else np.dtype(np.int64)
    return _finish(_rng(generator).integers(low, high, size=_size((size,))).astype(dt), device, requires_grad)


def randperm(n, *, generator=None, out=None, dtype=None, layout=None, device=None, requires_grad=False):
    """Matches `torch.randperm`."""
    dt = _npdt(dtype) if dtype is not None else np.dtype(np.int64)
    return _finish(_rng(generator).permutation(n).astype(dt), device, requires_grad)


def rand_like(input, *, dtype=None, layout=None, device=None, requires_grad=False, memory_format=None):  # noqa: A002
    dt, dev = _like(input, dtype, device)
    return rand(*input.shape, dtype=dt, device=dev, requires_grad=requires_grad)


def randn_like(input, *, dtype=None, layout=None, device=None, requires_grad=False, memory_format=None):  # noqa: A002
    dt, dev = _like(input, dtype, device)
    return randn(*input.shape, dtype=dt, device=dev, requires_grad=requires_grad)


def randint_like(input, low=0, high=None, *, dtype=None, layout=None, device=None, requires_grad=False,  # noqa: A002
                 memory_format=None):
    dt, dev = _like(input, dtype, device)
    return randint(low, high, tuple(input.shape), dtype=dt, device=dev)


def normal(mean=0.0, std=1.0, size=None, *, generator=None, out=None, dtype=None, layout=None, device=None,
           requires_grad=False):
    """Matches `torch.normal` (tensor or float mean/std, or a size)."""
    rng = _rng(generator)
    if isinstance(mean, Tensor) or isinstance(std, Tensor):
        ref = mean if isinstance(mean, Tensor) else std
        m = _backend.asnumpy(mean._data) if isinstance(mean, Tensor) else mean
        s = _backend.asnumpy(std._data) if isinstance(std, Tensor) else std
        if np.any(np.asarray(s) < 0):
            raise RuntimeError("normal expects all elements of std >= 0.0")
        shape = np.broadcast_shapes(np.shape(m), np.shape(s))
        arr = (m + s * rng.standard_normal(shape)).astype(ref._data.dtype)
        return _finish(arr, ref.device, False)
    if std < 0:
        raise RuntimeError(f"normal expects std >= 0.0, but found std {std}")
    dt = _float_dt(dtype)
    return _finish((mean + std * rng.standard_normal(_size((size,) if isinstance(size, int) else (size,)))
                    ).astype(dt), device, requires_grad)


def bernoulli(input, p=None, *, generator=None, out=None):  # noqa: A002
    """Matches `torch.bernoulli`: 1 with probability ``input`` (or ``p``)."""
    probs = _backend.asnumpy(input._data) if p is None else np.full(input._data.shape, p)
    if np.any((probs < 0) | (probs > 1)):
        raise RuntimeError("Expected p_in >= 0 && p_in <= 1 to be true, but got false.")
    arr = (_rng(generator).random(input._data.shape) < probs).astype(input._data.dtype)
    return _finish(arr, input.device, False)


def multinomial(input, num_samples, replacement=False, *, generator=None, out=None):  # noqa: A002
    """Matches `torch.multinomial` (rows of non-negative weights, with or without replacement)."""
    w = _backend.asnumpy(input._data).astype(np.float64)
    if w.ndim not in (1, 2):
        raise RuntimeError("prob_dist must be 1 or 2 dim")
    if np.any(w < 0) or not np.all(np.isfinite(w)):
        raise RuntimeError("probability tensor contains either `inf`, `nan` or element < 0")
    rows = w.reshape(-1, w.shape[-1])
    if not replacement and num_samples > rows.shape[1]:
        raise RuntimeError("cannot sample n_sample > prob_dist.size(-1) samples without replacement")
    rng = _rng(generator)
    out_rows = []
    for r in rows:
        tot = r.sum()
        if tot <= 0:
            raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")
        if not replacement and np.count_nonzero(r) < num_samples:
            raise RuntimeError("invalid multinomial distribution (with replacement=False, not enough non-negative category to sample)")
        out_rows.append(rng.choice(len(r), size=num_samples, replace=replacement, p=r / tot))
    arr = np.stack(out_rows).astype(np.int64)
    if w.ndim == 1:
        arr = arr[0]
    return _finish(arr, input.device, False)


def poisson(input, generator=None):  # noqa: A002
    arr = _rng(generator).poisson(_backend.asnumpy(input._data)).astype(input._data.dtype)
    return _finish(arr, input.device, False)


# -- in-place random fills (used by nn.init and dropout) ------------------------------------------
def _fill(self, arr):
    from ._core import write_into  # noqa: PLC0415
    write_into(self, Tensor._wrap(_backend.to_device(arr.astype(self._data.dtype), self.device)))
    return self


def _uniform_(self, a=0.0, b=1.0, *, generator=None):
    return _fill(self, _rng(generator).uniform(a, b, self._data.shape))


def _normal_(self, mean=0.0, std=1.0, *, generator=None):
    return _fill(self, mean + std * _rng(generator).standard_normal(self._data.shape))


def _bernoulli_(self, p=0.5, *, generator=None):
    return _fill(self, (_rng(generator).random(self._data.shape) < p))


def _random_(self, from_=0, to=None, *, generator=None):
    if to is None:
        from_, to = 0, from_ if from_ else 2 ** 24
    return _fill(self, _rng(generator).integers(from_, to, self._data.shape))


def _exponential_(self, lambd=1.0, *, generator=None):
    return _fill(self, _rng(generator).exponential(1.0 / lambd, self._data.shape))


def _fill_(self, value):
    from ._core import check_inplace  # noqa: PLC0415
    check_inplace(self)
    v = value.item() if isinstance(value, Tensor) else value
    self._data[...] = v
    self._version[0] += 1
    return self


def _zero_(self):
    return _fill_(self, 0)


def _new_filled(fill):
    def method(self, *size, dtype=None, device=None, requires_grad=False):
        dt = dtype if dtype is not None else self.dtype
        dev = device if device is not None else self.device
        if fill == "tensor":
            return tensor(size[0], dtype=dt, device=dev, requires_grad=requires_grad)
        if fill == "full":
            return _filled(size[1], _size((size[0],)), dt, dev, requires_grad)
        return _filled(fill, _size(size), dt, dev, requires_grad)
    return method


register_methods({
    "uniform_": _uniform_, "normal_": _normal_, "bernoulli_": _bernoulli_, "random_": _random_,
    "exponential_": _exponential_, "fill_": _fill_, "zero_": _zero_,
    "new_zeros": _new_filled(0), "new_ones": _new_filled(1), "new_empty": _new_filled(0),
    "new_full": _new_filled("full"), "new_tensor": _new_filled("tensor"),
    "bernoulli": lambda self, p=None, *, generator=None: bernoulli(self, p, generator=generator),
    "multinomial": lambda self, n, replacement=False, *, generator=None: multinomial(self, n, replacement, generator=generator),
})

__all__ = ["tensor", "as_tensor", "asarray", "from_numpy", "from_dlpack", "zeros", "ones", "empty", "full",
           "zeros_like", "ones_like", "empty_like", "full_like", "arange", "linspace", "logspace", "eye",
           "scalar_tensor", "Generator", "default_generator", "manual_seed", "seed", "initial_seed",
           "get_rng_state", "set_rng_state", "rand", "randn", "randint", "randperm", "rand_like",
           "randn_like", "randint_like", "normal", "bernoulli", "multinomial", "poisson"]
