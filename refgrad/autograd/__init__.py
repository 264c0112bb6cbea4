"""Matches `torch.autograd`: backward, grad, Function, grad modes, anomaly detection, gradcheck."""
from __future__ import annotations

from . import graph
from .engine import run_backward
from .function import Function, once_differentiable
from .grad_mode import (
    enable_grad,
    inference_mode,
    is_grad_enabled,
    is_inference_mode_enabled,
    no_grad,
    set_grad_enabled,
)
from .grad_mode import state as _state
from .gradcheck import GradcheckError, gradcheck, gradgradcheck


def _tensor_cls():
    from .._tensor import Tensor  # noqa: PLC0415
    return Tensor


def _as_tuple(x):
    if x is None:
        return None
    if isinstance(x, (list, tuple)):
        return tuple(x)
    return (x,)


def _make_grads(outputs, grads):
    """torch's _make_grads: implicit ones for scalar outputs, shape and device checks otherwise (the
    engine casts a gradient of another dtype, as torch does)."""
    Tensor = _tensor_cls()
    out = []
    for i, (o, g) in enumerate(zip(outputs, grads)):
        if g is None:
            if o.requires_grad:
                if o._data.size != 1:
                    raise RuntimeError("grad can be implicitly created only for scalar outputs")
                g = Tensor._wrap(_ones_like(o._data))
            out.append(g)
            continue
        if not isinstance(g, Tensor):
            raise TypeError(f"gradients can be either Tensors or None, but got {type(g).__name__}")
        if g.shape != o.shape:
            raise RuntimeError(f"Mismatch in shape: grad_output[{i}] has a shape of {g.shape} and output[{i}] has a "
                               f"shape of {o.shape}.")
        if g.device != o.device:
            raise RuntimeError(f"invalid gradient at index {i} - expected device {o.device} but got {g.device}")
        out.append(g)
    return out


def _ones_like(arr):
    from .._backend import get_xp  # noqa: PLC0415
    return get_xp(arr).ones(arr.shape, dtype=arr.dtype)


def _check_outputs(tensors):
    Tensor = _tensor_cls()
    for i, t in enumerate(tensors):
        if not isinstance(t, Tensor):
            raise TypeError(f"expected a Tensor at element {i} of tensors, got {type(t).__name__}")
        if not t.requires_grad:
            raise RuntimeError(f"element {i} of tensors does not require grad and does not have a grad_fn")


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False, grad_variables=None,
             inputs=None):
    """Matches `torch.autograd.backward`: accumulates into the leaves' .grad (or only ``inputs``')."""
    tensors = _as_tuple(tensors)
    if grad_tensors is None:
        grad_tensors = grad_variables
    grads = _as_tuple(grad_tensors) or (None,) * len(tensors)
    if len(grads) != len(tensors):
        raise RuntimeError(f"grad_tensors has {len(grads)} entries but tensors has {len(tensors)}: "
                           "give one gradient (or None) per tensor")
    if inputs is not None:
        inputs = _as_tuple(inputs)
        if len(inputs) == 0:
            raise RuntimeError("`inputs` argument to `backward()` cannot be empty.")
    _check_outputs(tensors)
    grads = _make_grads(tensors, grads)
    if retain_graph is None:
        retain_graph = create_graph
    res = run_backward(tensors, grads, retain_graph, create_graph, inputs=inputs, allow_unused=True,
                       accumulate=True)
    if inputs is not None:
        # non-leaf inputs get their .grad here (leaves were accumulated by their AccumulateGrad node)
        for t, g in zip(inputs, res):
            if t.grad_fn is not None and g is not None:
                t._grad = g if t._grad is None else t._grad + g


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False, only_inputs=True,
         allow_unused=None, is_grads_batched=False, materialize_grads=False):
    """Matches `torch.autograd.grad`: returns the gradients of ``outputs`` w.r.t. ``inputs`` without
    touching any .grad; runs only the part of the graph that reaches ``inputs``.
    ``is_grads_batched`` (vmap over grad_outputs) is not supported."""
    if is_grads_batched:
        raise NotImplementedError("refgrad does not support is_grads_batched=True (it needs vmap)")
    if materialize_grads and allow_unused is False:
        raise ValueError("Expected allow_unused to be True or not passed when materialize_grads=True, "
                         "but got: allow_unused=False.")
    if allow_unused is None:
        allow_unused = materialize_grads
    outputs = _as_tuple(outputs)
    inputs = _as_tuple(inputs)
    if not inputs:
        raise RuntimeError("`inputs` argument to `grad()` cannot be empty.")
    grads = _as_tuple(grad_outputs) or (None,) * len(outputs)
    if len(grads) != len(outputs):
        raise RuntimeError(f"grad requires one grad_output per output: got {len(grads)} grad_outputs and "
                           f"{len(outputs)} outputs")
    _check_outputs(outputs)
    grads = _make_grads(outputs, grads)
    if retain_graph is None:
        retain_graph = create_graph
    res = run_backward(outputs, grads, retain_graph, create_graph, inputs=inputs, allow_unused=allow_unused,
                       accumulate=False)
    if materialize_grads:
        from ..ops.creation import zeros_like  # noqa: PLC0415
        res = tuple(zeros_like(i) if r is None else r for r, i in zip(res, inputs))
    return res


class detect_anomaly:
    """Matches `torch.autograd.detect_anomaly`: records forward stacks and names the op whose backward
    returned NaN."""

    def __init__(self, check_nan=True):
        self.check_nan = check_nan

    def __enter__(self):
        self.prev = (_state.anomaly, _state.anomaly_check_nan)
        _state.anomaly, _state.anomaly_check_nan = True, self.check_nan
        return self

    def __exit__(self, *exc):
        _state.anomaly, _state.anomaly_check_nan = self.prev

    def __call__(self, fn):
        import functools  # noqa: PLC0415

        @functools.wraps(fn)
        def wrapper(*a, **k):
            with type(self)(self.check_nan):
                return fn(*a, **k)
        return wrapper


class set_detect_anomaly:
    def __init__(self, mode: bool, check_nan: bool = True):
        self.prev = (_state.anomaly, _state.anomaly_check_nan)
        _state.anomaly, _state.anomaly_check_nan = bool(mode), check_nan

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        _state.anomaly, _state.anomaly_check_nan = self.prev


def is_anomaly_enabled():
    return _state.anomaly


__all__ = ["backward", "grad", "Function", "once_differentiable", "no_grad", "enable_grad", "set_grad_enabled",
           "inference_mode", "is_grad_enabled", "is_inference_mode_enabled", "detect_anomaly",
           "set_detect_anomaly", "is_anomaly_enabled", "graph", "gradcheck", "gradgradcheck", "GradcheckError"]
