"""Shared op plumbing: type promotion of operands, in-place updates with torch's autograd rules,
and view bookkeeping. Every op family builds on these; none re-implements them."""
from __future__ import annotations

import warnings

import numpy as np

from .. import _dtypes
from .._backend import get_xp
from .._tensor import Tensor
from ..autograd.grad_mode import no_grad
from ..autograd.grad_mode import state as _grad_state
from ..autograd.graph import NO_EDGE, Node, apply

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
    # fast path: float tensor op Python float/int keeps the tensor's dtype (torch's wrapped numbers)
    tb = type(b)
    if (tb is float or tb is int) and type(a) is Tensor and a._data.dtype.kind == "f":
        return a, a._data.dtype.type(b)
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
_LEAF_ERR = "a leaf Variable that requires grad is being used in an in-place operation."


def check_inplace(self: Tensor):
    """torch's rule: no in-place change of a leaf that requires grad (or of its views) in grad mode."""
    if _grad_state.enabled:
        if self._grad_fn is None and self._requires_grad:
            raise RuntimeError(_LEAF_ERR)
        base = self._base
        if base is not None and base._grad_fn is None and base._requires_grad:
            raise RuntimeError("a view of a leaf Variable that requires grad is being used in an in-place operation.")


def inplace(self: Tensor, fn, *args, **kwargs) -> Tensor:
    """Run out-of-place ``fn(self, *args)`` and write the result into ``self``: torch's in-place
    semantics (leaf check, dtype check, version bump, history rebase through views)."""
    check_inplace(self)
    track = _grad_state.enabled and (self.requires_grad or any(
        isinstance(a, Tensor) and a.requires_grad for a in args) or any(
        isinstance(a, Tensor) and a.requires_grad for a in kwargs.values()))
    if track:
        # the op may save the old value of self, which the write below overwrites: give it a
        # snapshot carrying self's history (torch saves original_self the same way)
        snap = Tensor._wrap(self._data.copy())
        snap._grad_fn, snap._output_nr = self.grad_fn, self._output_nr
        r = fn(snap, *args, **kwargs)
    else:
        r = fn(self, *args, **kwargs)
    write_into(self, r)
    if track:
        rebase(self, r)
    return self


def write_into(self: Tensor, r: Tensor):
    """Copy ``r``'s values into ``self``'s storage (broadcasting, torch's cast rule) and bump the
    version counter shared with its views."""
    rd = r._data
    sd = self._data
    if type(rd) is not type(sd):  # numpy vs cupy: never an implicit copy across devices
        raise RuntimeError(f"Expected out tensor to have device {r.device}, but got {self.device} instead")
    if rd.dtype != sd.dtype and not can_cast(rd.dtype, sd.dtype):
        raise RuntimeError(
            f"result type {_type_word(rd.dtype)} can't be cast to the desired output type {_type_word(sd.dtype)}")
    if rd.shape != sd.shape:
        try:
            bshape = np.broadcast_shapes(rd.shape, sd.shape)
        except ValueError:
            bshape = rd.shape
        if bshape != sd.shape:
            raise RuntimeError(
                f"output with shape {list(sd.shape)} doesn't match the broadcast shape {list(bshape)}")
    if isinstance(sd, np.ndarray) and not sd.flags.writeable:
        raise RuntimeError(
            "unsupported operation: more than one element of the written-to tensor refers to a single "
            "memory location. Please clone() the tensor before performing the operation.")
    sd[...] = rd
    self._vc[0] += 1


def _type_word(npdt):
    return {"float32": "Float", "float64": "Double", "float16": "Half", "int64": "Long", "int32": "Int",
            "int16": "Short", "int8": "Char", "uint8": "Byte", "bool": "Bool"}[np.dtype(npdt).name]


def rebase(self: Tensor, r: Tensor):
    """Give ``self`` the history of ``r`` (its new value); through a view, rebase the base too."""
    if r._data.dtype != self._data.dtype:
        r = r._to_np_dtype(self._data.dtype)
    old_fn, old_nr = self._grad_fn, self._output_nr
    base = self._base
    if base is None:
        if r._grad_fn is None:
            # a value with no history of its own (fill_, copy_ of a leaf or a constant): torch keeps
            # self in the graph, with a zero gradient to its old value
            old = Tensor._wrap(r._data)
            old._grad_fn, old._output_nr, old._requires_grad = old_fn, old_nr, self._requires_grad
            r = apply(_Overwrite, old, r)
        self._grad_fn, self._output_nr = r._grad_fn, r._output_nr
    else:
        # torch's CopySlices: base_new = base_old with the view's region replaced by r
        node = Node(CopySlices)
        old_edge = _edge(base)
        new_edge = _edge(r)
        node.next_functions = (old_edge, new_edge)
        node.needs_input_grad = (old_edge is not NO_EDGE, new_edge is not NO_EDGE)
        node.view_fn = self._view_fn
        bd = base._data
        node._meta = ((bd.shape, bd.dtype, base.device),)
        base._grad_fn, base._output_nr = node, 0
        nv = self._view_fn(base)
        self._grad_fn, self._output_nr = nv._grad_fn, nv._output_nr
        self._view_ver = self._vc[0]
    if old_fn is not None and old_fn._retains:
        # retain_grad() follows the tensor to its new history (torch moves the hook)
        ref = old_fn._retains.get(old_nr)
        if ref is not None and ref() is self and self._grad_fn is not None:
            del old_fn._retains[old_nr]
            if self._grad_fn._retains is None:
                self._grad_fn._retains = {}
            self._grad_fn._retains[self._output_nr] = ref


def _edge(t):
    if t._grad_fn is not None:
        return (t._grad_fn, t._output_nr)
    if t._requires_grad:
        return (t._accumulator(), 0)
    return NO_EDGE


class _Overwrite:
    node_name = "CopyBackwards"

    @staticmethod
    def forward(ctx, old, new):
        return new

    @staticmethod
    def backward(ctx, g):
        nig = ctx.needs_input_grad
        return (Tensor._wrap(get_xp(g._data).zeros_like(g._data)) if nig[0] else None), (g if nig[1] else None)


class CopySlices:
    """Backward of an in-place write through a view: the base gets the gradient outside the
    view's region, the written value gets the gradient inside it."""

    node_name = "torch::autograd::CopySlices"

    @staticmethod
    def backward(ctx, g):
        xp = get_xp(g._data)
        mask = Tensor._wrap(xp.ones(g._data.shape, dtype=g._data.dtype))
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
    out._vc = base._vc
    out._view_ver = base._vc[0]
    return out


def unary(op, x, **params):
    return apply(op, x, **params)


def nd_dtype(arr) -> _dtypes.dtype:
    return _NP2DT[arr.dtype]


def write_out(r, out, name):
    """torch's out= contract for every op's ``out=`` (None: ``r`` itself): no autograd through it, resize on shape
    mismatch (with torch's warning), cast to out's dtype when torch's canCast allows it."""
    if out is None:
        return r
    if r.requires_grad or (_grad_state.enabled and out.requires_grad):
        raise RuntimeError(f"{name}(): functions with out=... arguments don't support automatic "
                           "differentiation, but one of the arguments requires grad.")
    if out._data.shape != r._data.shape:
        if out._data.size:
            warnings.warn(
                f"An output with one or more elements was resized since it had shape {list(out.shape)}, which "
                f"does not match the required output shape {list(r.shape)}. This behavior is deprecated, and in "
                "a future PyTorch release outputs will not be resized unless they have zero elements. You can "
                "explicitly reuse an out tensor t by resizing it, inplace, to zero elements with t.resize_(0).",
                UserWarning, stacklevel=3)
        out._data = get_xp(out._data).empty(r._data.shape, dtype=out._data.dtype)
    write_into(out, r)
    return out
