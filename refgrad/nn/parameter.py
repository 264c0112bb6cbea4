"""Matches `torch.nn.parameter`: Parameter (a Tensor subclass a Module registers) and Buffer."""
from __future__ import annotations

from .._tensor import Tensor
from ..ops.creation import empty


class Parameter(Tensor):
    """Matches `torch.nn.Parameter`: shares ``data``'s storage and version counter (torch builds it from
    ``data.detach()``); ``requires_grad`` defaults to True, even under no_grad. Ops on a Parameter
    return plain Tensors, as in torch."""

    def __new__(cls, data=None, requires_grad=True):
        if data is None:
            data = empty(0)
        t = object.__new__(cls)
        Tensor._init_from(t, data._data)
        t._vc = data._vc
        if requires_grad:
            if data._data.dtype.kind != "f":
                raise RuntimeError("Only Tensors of floating point and complex dtype can require gradients")
            t._requires_grad = True
        return t

    def __init__(self, data=None, requires_grad=True):
        pass  # everything is set in __new__ (Tensor.__init__ is torch's legacy constructor)

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()

    def __deepcopy__(self, memo):
        if id(self) in memo:
            return memo[id(self)]
        result = type(self)(Tensor._wrap(self._data.copy()), self.requires_grad)
        memo[id(self)] = result
        return result

    def __reduce_ex__(self, proto):
        # values through Tensor's pickling (host copy, rebuilt on the tensor's device), then the Parameter around them
        return (type(self), (Tensor._wrap(self._data).detach(), self.requires_grad))


class _BufferMeta(type):
    # torch's Buffer(...) returns a plain Tensor flagged ``_is_buffer``; isinstance(t, Buffer) checks the flag
    def __instancecheck__(cls, instance):
        return isinstance(instance, Tensor) and getattr(instance, "_is_buffer", False)


class Buffer(Tensor, metaclass=_BufferMeta):
    """Matches `torch.nn.Buffer`: a Tensor marked to be registered as a buffer (``persistent`` says whether
    it goes into the state_dict) when assigned to a Module attribute."""

    def __new__(cls, data=None, *, persistent=True):
        if data is None:
            data = empty(0)
        t = data.detach()
        t._requires_grad = data.requires_grad
        t.persistent = persistent
        t._is_buffer = True
        return t
