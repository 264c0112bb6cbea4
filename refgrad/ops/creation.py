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


_FACTORY_GRAD_ERR = "Only Tensors of floating point and complex dtype can require gradients"


def _finish(arr, device, requires_grad):
    dev = _backend.as_device(device)
    if dev.type != "cpu" or not isinstance(arr, np.ndarray):
        arr = _backend.to_device(arr, dev)
    t = Tensor._wrap(arr)
    if requires_grad:
        if arr.dtype.kind != "f":
            raise RuntimeError(_FACTORY_GRAD_ERR)
        t._requires_grad = True
    return t


def _scan(data):
    """torch.tensor's inference over nested sequences: the shape (checked at every level, with torch's
    messages) and the dtype (any float -> the default dtype, else any int -> int64, else bool;
    numpy arrays/scalars and 0-d tensors inside keep their dtype category)."""
    shape = []
    x = data
    while isinstance(x, (list, tuple)):
        shape.append(len(x))
        if not x:
            break
        x = x[0]
    best = None
    level = [data]
    for dim in range(len(shape) + 1):
        nxt = []
        for x in level:
            if dim < len(shape):
                if not isinstance(x, (list, tuple)):
                    raise TypeError(f"not a sequence: expected a sequence at dim {dim}, got {type(x).__name__}")
                if len(x) != shape[dim]:
                    raise ValueError(f"expected sequence of length {shape[dim]} at dim {dim} (got {len(x)})")
                nxt.extend(x)
                continue
            if isinstance(x, (list, tuple)):
                raise TypeError(f"'{type(x).__name__}' object cannot be interpreted as a number: expected a "
                                f"number at dim {dim}, got a sequence of length {len(x)}")
            d = _scalar_kind(x)
            best = d if best is None else _dtypes.promote_types(best, d)
        level = nxt
    return tuple(shape), best or _dtypes.get_default_dtype()


def _scalar_kind(x):
    if isinstance(x, Tensor):
        if x._data.size != 1:
            raise TypeError(f"a Tensor with {x._data.size} elements cannot be an element of a nested list passed to "
                            "torch.tensor(): only one-element tensors can (use torch.stack to join tensors)")
        return _dtypes._NP2DT[x._data.dtype]
    if isinstance(x, (bool, np.bool_)):
        return _dtypes.bool_
    if isinstance(x, (np.integer, np.floating, np.ndarray)):
        return _dtypes.from_numpy_dtype(x.dtype)
    if isinstance(x, numbers.Integral):
        return _dtypes.int64
    if isinstance(x, numbers.Real):
        return _dtypes.get_default_dtype()
    if isinstance(x, str):
        raise TypeError(f"new(): invalid data type '{type(x).__name__}'")
    raise RuntimeError(f"Could not infer dtype of {type(x).__name__}")


def _flatten_values(data, ndim):
    """Python numbers of a nested list in C order (0-d tensors read with item())."""
    level = [data]
    for _ in range(ndim):
        level = [y for x in level for y in x]
    return [x.item() if isinstance(x, (Tensor, np.generic)) else x for x in level]


def _checked_cast(arr, npdt):
    """Cast with torch's overflow check for integral targets (torch raises where numpy would wrap
    or produce garbage; like torch, unsigned targets accept values down to the signed minimum)."""
    if npdt.kind in "iu" and arr.dtype != npdt and arr.size:
        info = np.iinfo(npdt)
        lo = -(1 << (8 * npdt.itemsize - 1)) if npdt.kind == "u" else info.min
        a = arr if arr.dtype.kind != "f" else arr[np.isfinite(arr)] if not np.all(np.isfinite(arr)) else arr
        if a.size != arr.size or (a.size and (a.min() < lo or a.max() > info.max)):
            raise RuntimeError(f"value cannot be converted to type {_dtypes._NP2DT[npdt].name} without overflow")
    with np.errstate(invalid="ignore", over="ignore"):
        return arr.astype(npdt)


def _from_python(data, dtype):
    shape, inferred = _scan(data)
    vals = _flatten_values(data, len(shape))
    npdt = _npdt(dtype) if dtype is not None else inferred.np
    kind = inferred.np.kind
    try:
        # Python floats are read as doubles and rounded once to the target dtype
        src = np.array(vals, dtype=object if kind in "iu" else np.float64 if kind == "f" else np.bool_)
    except OverflowError:
        raise ValueError("Overflow when unpacking long long") from None
    if src.dtype == object:  # Python ints: check the int64 range before casting
        if src.size and (min(vals) < -(1 << 63) or max(vals) >= 1 << 63):
            raise ValueError("Overflow when unpacking long long")
        src = src.astype(np.int64)
    return _checked_cast(src, npdt).reshape(shape)


def tensor(data, *, dtype=None, device=None, requires_grad=False, pin_memory=False):
    """Matches `torch.tensor`: always copies; infers torch's dtype from Python data (numpy arrays and
    tensors keep theirs). A tensor's device is kept unless ``device`` is given."""
    if isinstance(data, Tensor):
        arr = data._data.copy()
        if dtype is not None:
            arr = _checked_cast(arr, _npdt(dtype)) if _backend.get_xp(arr) is np else arr.astype(_npdt(dtype))
        return _finish(arr, data.device if device is None else device, requires_grad)
    if isinstance(data, np.ndarray) or _is_array_like(data):
        arr = np.array(_backend.asnumpy(data) if not isinstance(data, np.ndarray) else data, copy=True)
        _dtypes.from_numpy_dtype(arr.dtype)  # raises torch's TypeError on unsupported dtypes
        if dtype is not None:
            arr = _checked_cast(arr, _npdt(dtype))
    else:
        arr = _from_python(data, dtype)
    return _finish(arr, device, requires_grad)


def _is_array_like(x):
    return hasattr(x, "__cuda_array_interface__") or (
        hasattr(x, "__array__") and not isinstance(x, (list, tuple, numbers.Number)))


def as_tensor(data, dtype=None, device=None):
    """Matches `torch.as_tensor`: shares memory with numpy arrays and tensors when no conversion is needed."""
    if isinstance(data, Tensor):
        return data.to(device=device, dtype=dtype)
    if isinstance(data, np.ndarray):
        _dtypes.from_numpy_dtype(data.dtype)
        arr = data if dtype is None else data.astype(_npdt(dtype), copy=False)
        return _finish(arr, device, False)
    return tensor(data, dtype=dtype, device=device)


def asarray(obj, *, dtype=None, device=None, copy=None, requires_grad=False):
    """Matches `torch.asarray`: a tensor comes back as itself, a numpy array as a tensor over the same
    memory, unless a dtype/device conversion (differentiable) or ``copy=True`` asks for new storage;
    ``copy=False`` raises instead. ``requires_grad=True`` marks the result (in place for a tensor)."""
    if isinstance(obj, (Tensor, np.ndarray)):
        t = obj if isinstance(obj, Tensor) else from_numpy(obj)
        r = t.to(device=device, dtype=dtype)
        if r is not t and copy is False:
            raise ValueError(f"can't alias tensor with dtype '{t.dtype}' on '{t.device}' into dtype '{r.dtype}' on "
                             f"'{r.device}' (copy=False).")
        if r is t and copy:
            r = t.clone()
    elif copy is False:
        raise ValueError("can't alias arbitrary sequence into a tensor.")
    else:
        r = tensor(obj, dtype=dtype, device=device)
    if requires_grad:
        if r._data.dtype.kind != "f":
            raise RuntimeError(_FACTORY_GRAD_ERR)
        r.requires_grad_(True)
    return r


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


def _size(size, name=None):
    if name is not None and not size:
        raise TypeError(f'{name}() missing 1 required positional arguments: "size"')
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
    return _finish(arr, device, requires_grad)


def _out(t, out):
    """torch's ``out=``: the result is written into ``out`` (resized to the result's shape, in
    ``out``'s dtype), which is returned."""
    if out is None:
        return t
    from ._core import check_inplace  # noqa: PLC0415
    check_inplace(out)
    out._data = _backend.to_device(t._data.astype(out._data.dtype, copy=False), out.device)
    out._vc[0] += 1
    return out


def zeros(*size, out=None, dtype=None, layout=None, device=None, requires_grad=False):
    """Matches `torch.zeros`."""
    return _out(_filled(0, _size(size, "zeros"), dtype, device, requires_grad), out)


def ones(*size, out=None, dtype=None, layout=None, device=None, requires_grad=False):
    """Matches `torch.ones`."""
    return _out(_filled(1, _size(size, "ones"), dtype, device, requires_grad), out)


def empty(*size, out=None, dtype=None, layout=None, device=None, requires_grad=False,
          pin_memory=False, memory_format=None):
    """Matches `torch.empty` (refgrad zero-fills: uninitialised memory is never handed out)."""
    return _out(_filled(0, _size(size, "empty"), dtype, device, requires_grad), out)


def full(size, fill_value, *, out=None, dtype=None, layout=None, device=None, requires_grad=False):
    """Matches `torch.full`: dtype inferred from fill_value when not given (bool, int64 or the
    default float dtype)."""
    if not isinstance(size, (tuple, list)):
        raise TypeError(f"full(): argument 'size' (position 1) must be tuple of ints, not {type(size).__name__}")
    if isinstance(fill_value, Tensor):
        fill_value = fill_value.item()
    if dtype is None:
        dtype = _dtypes.scalar_dtype(fill_value)
    return _out(_filled(fill_value, _size(tuple(size)), dtype, device, requires_grad), out)


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
    """Matches `torch.arange`: integer arguments give int64, any float gives the default dtype.
    Floating results: length ceil((end - start) / step), element i = start + i * step in double.
    Integral results: like torch, the arguments are first truncated to integers."""
    if end is None:
        start, end = 0, start
    start, end, step = vals = [v.item() if isinstance(v, Tensor) else v for v in (start, end, step)]
    integral = all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in vals)
    if not all(math.isfinite(v) for v in vals):
        raise RuntimeError(f"unsupported range: {start} -> {end}")
    if dtype is None:
        dtype = _dtypes.int64 if integral else _dtypes.get_default_dtype()
    npdt = _npdt(dtype)
    if npdt.kind in "iu":
        if any(abs(v) >= 2 ** 63 for v in vals):
            raise RuntimeError("value cannot be converted to type int64_t without overflow")
        xs, xe, xt = (int(v) for v in vals)  # C++ truncation toward zero
        if xt == 0:
            # a float step that truncates to 0 is rejected by torch's Python layer (ValueError)
            raise (ValueError if step != 0 else RuntimeError)("step must be nonzero")
        _check_range(xs, xe, xt)
        if npdt == np.int64:
            sgn = 1 if xt > 0 else -1
            num = xe - xs + xt - sgn
            n = abs(num) // abs(xt) * (1 if (num >= 0) == (xt > 0) else -1)
        else:
            n = math.ceil((end - start) / step)
        arr = xs + np.arange(max(n, 0), dtype=np.int64) * xt
    else:
        if step == 0:
            raise RuntimeError("step must be nonzero")
        _check_range(start, end, step)
        n = math.ceil((end - start) / step)
        arr = start + np.arange(n, dtype=np.float64) * step
    return _out(_finish(arr.astype(npdt), device, requires_grad), out)


def _check_range(start, end, step):
    if (step > 0 and end < start) or (step < 0 and end > start):
        raise RuntimeError("upper bound and lower bound inconsistent with step sign")


def linspace(start, end, steps, *, out=None, dtype=None, layout=None, device=None, requires_grad=False):
    """Matches `torch.linspace`."""
    dtype = dtype if dtype is not None else _dtypes.get_default_dtype()
    start = start.item() if isinstance(start, Tensor) else start
    end = end.item() if isinstance(end, Tensor) else end
    if not isinstance(steps, (int, np.integer)):
        raise TypeError(f"linspace(): argument 'steps' must be int, not {type(steps).__name__}")
    if steps < 0:
        raise RuntimeError("number of steps must be non-negative")
    if _npdt(dtype).kind in "iu":
        start, end = int(start), int(end)  # torch converts the bounds to the integral type first
    # torch: first half from start, second half from end (symmetric rounding)
    step = (end - start) / (steps - 1) if steps > 1 else 0.0
    i = np.arange(steps, dtype=np.float64)
    half = steps // 2
    arr = np.where(i < half, start + step * i, end - step * (steps - 1 - i))
    if steps == 1:
        arr = np.array([start], dtype=np.float64)
    return _out(_finish(arr.astype(_npdt(dtype)), device, requires_grad), out)


def logspace(start, end, steps, base=10.0, *, out=None, dtype=None, layout=None, device=None,
             requires_grad=False):
    """Matches `torch.logspace`."""
    dtype = dtype if dtype is not None else _dtypes.get_default_dtype()
    lin = linspace(start, end, steps, dtype=_dtypes.float64)._data
    return _out(_finish(np.power(float(base), lin).astype(_npdt(dtype)), device, requires_grad), out)


def eye(n, m=None, *, out=None, dtype=None, layout=None, device=None, requires_grad=False):
    """Matches `torch.eye`."""
    dt = _npdt(dtype) if dtype is not None else _dtypes.get_default_dtype().np
    m = n if m is None else m
    if n < 0 or m < 0:
        raise RuntimeError(f"n must be greater or equal to 0, got {min(n, m)}")
    return _out(_finish(np.eye(n, m, dtype=dt), device, requires_grad), out)


def scalar_tensor(s, *, dtype=None, device=None, requires_grad=False):
    dt = _npdt(dtype) if dtype is not None else _dtypes.get_default_dtype().np
    return _finish(np.asarray(s, dtype=dt), device, requires_grad)


def _legacy_ctor(*args, **kwargs):
    # torch.Tensor(data) copies data in the default dtype; torch.Tensor(*sizes) allocates (we zero-fill)
    if len(args) == 1 and not isinstance(args[0], (int, np.integer)):
        return tensor(args[0], dtype=_dtypes.get_default_dtype())
    return zeros(*(args or (0,)), **kwargs)


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


def _float_dt(dtype, kernel):
    dt = _npdt(dtype) if dtype is not None else _dtypes.get_default_dtype().np
    if dt.kind != "f":
        # torch has no integral kernel for continuous distributions
        raise NotImplementedError(f'"{kernel}" not implemented for \'{_dtypes._NP2DT[dt].name}\'')
    return dt


def rand(*size, generator=None, out=None, dtype=None, layout=None, device=None, requires_grad=False):
    """Matches `torch.rand`: uniform on [0, 1)."""
    dt = _float_dt(dtype, "check_uniform_bounds")
    return _out(_finish(_rng(generator).random(_size(size, "rand")).astype(dt), device, requires_grad), out)


def randn(*size, generator=None, out=None, dtype=None, layout=None, device=None, requires_grad=False):
    """Matches `torch.randn`: standard normal."""
    dt = _float_dt(dtype, "normal_kernel_cpu")
    return _out(_finish(_rng(generator).standard_normal(_size(size, "randn")).astype(dt), device, requires_grad), out)


def randint(low=0, high=None, size=None, *, generator=None, out=None, dtype=None, layout=None, device=None,
            requires_grad=False):
    """Matches `torch.randint`: integers in [low, high), int64 by default; ``randint(high, size)``."""
    if size is None and isinstance(high, (tuple, list)):
        low, high, size = 0, low, high
    if high is None:
        low, high = 0, low
    if size is None:
        raise TypeError("randint() missing required argument 'size'")
    if low >= high:
        raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got from={low} >= to={high}")
    dt = _npdt(dtype) if dtype is not None else np.dtype(np.int64)
    arr = _rng(generator).integers(low, high, size=_size((size,))).astype(dt)
    return _out(_finish(arr, device, requires_grad), out)


def randperm(n, *, generator=None, out=None, dtype=None, layout=None, device=None, requires_grad=False):
    """Matches `torch.randperm`."""
    if n < 0:
        raise RuntimeError(f"n must be non-negative, got{n}")
    dt = _npdt(dtype) if dtype is not None else np.dtype(np.int64)
    return _out(_finish(_rng(generator).permutation(n).astype(dt), device, requires_grad), out)


def rand_like(input, *, dtype=None, layout=None, device=None, requires_grad=False, memory_format=None):  # noqa: A002
    dt, dev = _like(input, dtype, device)
    return rand(tuple(input.shape), dtype=dt, device=dev, requires_grad=requires_grad)


def randn_like(input, *, dtype=None, layout=None, device=None, requires_grad=False, memory_format=None):  # noqa: A002
    dt, dev = _like(input, dtype, device)
    return randn(tuple(input.shape), dtype=dt, device=dev, requires_grad=requires_grad)


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
    if size is None:
        raise TypeError("normal() with float mean and std needs a size")
    dt = _float_dt(dtype, "normal_kernel_cpu")
    arr = (mean + std * rng.standard_normal(_size((size,)))).astype(dt)
    return _out(_finish(arr, device, requires_grad), out)


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
        if r.sum() <= 0:
            raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")
        if replacement:
            out_rows.append(rng.choice(len(r), size=num_samples, replace=True, p=r / r.sum()))
        else:
            # torch's sampler without replacement: the top num_samples of w / Exp(1) keys, so that
            # zero-weight categories come last (in index order) once the others are used up
            keys = r / rng.exponential(size=len(r))
            out_rows.append(np.argsort(-keys, kind="stable")[:num_samples])
    arr = np.stack(out_rows).astype(np.int64)
    if w.ndim == 1:
        arr = arr[0]
    return _finish(arr, input.device, False)


def poisson(input, generator=None):  # noqa: A002
    arr = _rng(generator).poisson(_backend.asnumpy(input._data)).astype(input._data.dtype)
    return _finish(arr, input.device, False)


# -- in-place random fills (used by nn.init and dropout) ------------------------------------------
def _fill(self, arr):
    """Overwrite ``self`` with host values ``arr`` (torch's in-place fills: uniform_, normal_, ...)."""
    from ._core import inplace  # noqa: PLC0415 - _core imports this module's Tensor plumbing
    value = Tensor._wrap(_backend.to_device(arr, self.device).astype(self._data.dtype, copy=False))
    return inplace(self, lambda s: value)


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
    if isinstance(value, Tensor):
        if value._data.ndim:
            raise RuntimeError(f"fill_ only supports 0-dimension value tensor but got tensor with "
                               f"{value._data.ndim} dimensions.")
        value = value.item()
    xp = _backend.get_xp(self._data)
    return _fill(self, xp.full(self._data.shape, value, dtype=self._data.dtype))


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
    "multinomial": lambda self, n, replacement=False, *, generator=None: multinomial(
        self, n, replacement, generator=generator),
})

__all__ = ["tensor", "as_tensor", "asarray", "from_numpy", "from_dlpack", "zeros", "ones", "empty", "full",
           "zeros_like", "ones_like", "empty_like", "full_like", "arange", "linspace", "logspace", "eye",
           "scalar_tensor", "Generator", "default_generator", "manual_seed", "seed", "initial_seed",
           "get_rng_state", "set_rng_state", "rand", "randn", "randint", "randperm", "rand_like",
           "randn_like", "randint_like", "normal", "bernoulli", "multinomial", "poisson"]
