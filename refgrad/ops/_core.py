"""Shared op plumbing: type promotion of operands, in-place updates with torch's autograd rules,
and view bookkeeping. Every op family builds on these; none re-implements them."""
from __future__ import annotations

import numpy as np

from .. import _dtypes
from .._backend import get_xp
from .._tensor import Tensor
from ..autograd.graph import Node, apply
from ..autograd.grad_mode import state as _grad_state

_NP2DT = _dtypes._NP2DT


def is_tensor(x) -> bool:
    return isinstance(x, Tensor)


def _device_error(a, b):
    return RuntimeError(
        "Expected all tensors to be on the same device, but found at least two devices, "
        f"{a.device} and {b.device}!")


def result_dtype(*operands) -> _dtypes.dtype:
    """Matches `torch.result_type` over tensors and Python scalars."""
    dims, zeros, scalars = [], [], []
    for o in operands:
        if isinstance(o, Tensor):
            (dims if o._data.ndim else zeros).append(_NP2DT[o._data.dtype])
        elif o is not None:
            scalars.append(_dtypes.scalar_dtype(o))
    return _dtypes.result_type_of(dims, zeros, scalars)


def scalar_const(value, npdt, like):
    """A Python number as a constant of dtype ``npdt`` on ``like``'s backend (no graph edge)."""
    try:
        return npdt.type(value)
    except OverflowError:
        # torch wraps out-of-range integer scalars modulo 2**bits
        return np.array(value).astype(npdt)[()]


def promote_pair(a, b):
    """Return (x, y) ready for a binary primitive: Tensors cast to the promoted dtype (through a
    differentiable cast) and Python scalars turned into typed constants."""
    if isinstance(a, Tensor):
        if isinstance(b, Tensor):
            da, db = a._data, b._data
            if type(da) is not type(db):
                a, b = _mixed_device(a, b)
                da, db = a._data, b._data
            if da.dtype is db.dtype or da.dtype == db.dtype:
                return a, b
            dt = result_dtype(a, b).np
            return (a if da.dtype == dt else a._to_np_dtype(dt)), (b if db.dtype == dt else b._to_np_dtype(dt))
        if isinstance(b, (int, float, bool, np.number, np.bool_)):
            dt = _scalar_result(a._data.dtype, b)
            if dt != a._data.dtype:
                a = a._to_np_dtype(dt)
            return a, scalar_const(b, dt, a._data)
        raise TypeError(f"unsupported operand type: Tensor and {type(b).__name__}")
    if isinstance(b, Tensor):
        y, x = promote_pair(b, a)
        return x, y
    raise TypeError(f"expected a Tensor, got {type(a).__name__} and {type(b).__name__}")


def _scalar_result(npdt, s):
    t = _NP2DT[npdt]
    sd = _dtypes.scalar_dtype(s)
    if sd._cat > t._cat:
        return (_dtypes.promote_types(t, sd) if t is _dtypes.bool_ and sd._cat == 1 else sd).np
    return npdt


def _mixed_device(a, b):
    # torch lets a 0-d cpu tensor take part in a cuda op as a scalar
    if a._data.ndim == 0 and a.device.type == "cpu":
        return a.to(b.device), b
    if b._data.ndim == 0 and b.device.type == "cpu":
        return a, b.to(a.device)
    raise _device_error(a, b)


def same_device(*tensors):
    ts = [t for t in tensors if isinstance(t, Tensor)]
    for t in ts[1:]:
        if type(t._data) is not type(ts[0]._data):
            raise _device_error(ts[0], t)


def to_float(x: Tensor) -> Tensor:
    """Integral/bool inputs of float-only ops compute in the default dtype (torch's rule)."""
    if x._data.dtype.kind != "f":
        return x._to_np_dtype(_dtypes.get_default_dtype().np)
    return x


def can_cast(frm: np.dtype, to: np.dtype) -> bool:
    """torch's canCast: no float -> integral, no non-bool -> bool."""
    if frm.kind == "f" and to.kind in "iub":
        return False
    if frm.kind != "b" and to.kind == "b":
        return False
    return True


# -- in-place ----------------------------------------------------------------------------------
_LEAF_ERR = ("a leaf Variable that requires grad is being used in an in-place operation.")


def check_inplace(self: Tensor):
    if _grad_state.enabled and self._grad_fn is None and self._requires_grad:
        raise RuntimeError(_LEAF_ERR)
    if self._base is not None and _grad_state.enabled and self._base._grad_fn is None \
            and self._base._requires_grad:
        raise RuntimeError(
            "a view of a leaf Variable that requires grad is being used in an in-place operation.")


def inplace(self: Tensor, fn, *args, **kwargs) -> Tensor:
    """Run out-of-place ``fn(self, *args)`` and write the result into ``self``: torch's in-place
    semantics (leaf check, dtype check, version bump, history rebase through views)."""
    check_inplace(self)
    track = _grad_state.enabled and (self.requires_grad or any(
        isinstance(a, Tensor) and a.requires_grad for a in args) or any(
        isinstance(a, Tensor) and a.requires_grad for a in kwargs.values()))
    if track:
        # the op may save the old value of self: give it a snapshot (torch saves original_self)
        snap = Tensor._wrap(self._data.copy())
        snap._grad_fn, snap._output_nr = self.grad_fn, self._output_nr
        snap._requires_grad = False
        if snap._grad_fn is None and self._requires_grad:
            snap._requires_grad = True  # unreachable (leaf check above); kept for clarity
        r = fn(snap, *args, **kwargs)
    else:
        r = fn(self, *args, **kwargs)
    write_into(self, r)
    if track:
        rebase(self, r)
    return self


def write_into(self: Tensor, r: Tensor):
    rd = r._data
    sd = self._data
    if rd.dtype != sd.dtype and not can_cast(rd.dtype, sd.dtype):
        raise RuntimeError(
            f"result type {_type_word(rd.dtype)} can't be cast to the desired output type {_type_word(sd.dtype)}")
    if rd.shape != sd.shape:
        try:
            np.broadcast_shapes(rd.shape, sd.shape)
            ok = np.broadcast_shapes(rd.shape, sd.shape) == sd.shape
        except ValueError:
            ok = False
        if not ok:
            raise RuntimeError(
                f"output with shape {list(sd.shape)} doesn't match the broadcast shape {list(rd.shape)}")
    if not sd.flags.writeable:
        raise RuntimeError(
            "unsupported operation: more than one element of the written-to tensor refers to a single "
            "memory location. Please clone() the tensor before performing the operation.")
    if sd.ndim == 0:
        sd[...] = rd
    else:
        sd[...] = rd
    self._version[0] += 1


def _type_word(npdt):
    return {"float32": "Float", "float64": "Double", "float16": "Half", "int64": "Long", "int32": "Int",
            "int16": "Short", "int8": "Char", "uint8": "Byte", "bool": "Bool"}[np.dtype(npdt).name]


def rebase(self: Tensor, r: Tensor):
    """Give ``self`` the history of ``r`` (its new value); through a view, rebase the base too."""
    if r._data.dtype != self._data.dtype:
        r = r._to_np_dtype(self._data.dtype)
    base = self._base
    if base is None:
        self._grad_fn, self._output_nr = r._grad_fn, r._output_nr
        return
    # torch's CopySlices: base_new = base_old with the view's region replaced by r
    node = Node(CopySlices)
    old_edge = _edge(base)
    new_edge = _edge(r)
    node.next_functions = (old_edge, new_edge)
    node.needs_input_grad = (old_edge is not None, new_edge is not None)
    node.view_fn = self._view_fn
    bd = base._data
    node._meta = ((bd.shape, bd.dtype, base.device),)
    base._grad_fn, base._output_nr = node, 0
    nv = self._view_fn(base)
    self._grad_fn, self._output_nr = nv._grad_fn, nv._output_nr
    self._view_ver = self._version[0]


def _edge(t):
    if t._grad_fn is not None:
        return (t._grad_fn, t._output_nr)
    if t._requires_grad:
        return (t._accumulator(), 0)
    return None


class CopySlices:
    """Backward of an in-place write through a view: the base gets the gradient outside the
    view's region, the written value gets the gradient inside it."""

    node_name = "CopySlices"

    @staticmethod
    def backward(ctx, g):
        xp = get_xp(g._data)
        mask = Tensor._wrap(xp.ones(g._data.shape, dtype=g._data.dtype))
        from ..autograd.grad_mode import no_grad  # noqa: PLC0415
        with no_grad():
            region = ctx.view_fn(mask)
            region._data[...] = 0
        return g * mask, ctx.view_fn(g)


# -- views ---------------------------------------------------------------------------------------
def make_view(out: Tensor, base: Tensor, fn) -> Tensor:
    """Mark ``out`` as a view of ``base`` (sharing its version counter); ``fn(base)`` must
    recreate the view differentiably. Views of views point at the root base, as in torch."""
    if base._base is not None:
        root = base._base
        inner = base._view_fn
        out._view_fn = lambda b, inner=inner, fn=fn: fn(inner(b))
        out._base = root
    else:
        out._view_fn = fn
        out._base = base
    out._version = base._version
    out._view_ver = base._version[0]
    return out


def unary(op, x, **params):
    return apply(op, x, **params)


def nd_dtype(arr) -> _dtypes.dtype:
    return _NP2DT[arr.dtype]
