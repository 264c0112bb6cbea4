"""The one graph node type (also the ``ctx`` of every op) and the per-op dispatch (``apply``).

A primitive op is a class with ``forward(ctx, *arrays, **params)`` on raw backend arrays and
``backward(ctx, *grads)`` on refgrad Tensors (so every backward is itself differentiable).
``apply`` is the hot path: it runs the forward on arrays and, only when grad mode is on and an
input requires grad, records one Node whose edges point at the inputs' producers.
"""
from __future__ import annotations

import itertools
import traceback
import weakref

import numpy as np

from .grad_mode import state as _grad_state

_seq = itertools.count()
Tensor = None  # bound by refgrad._tensor (import cycle: the tensor type wraps outputs)


def _freed_error():
    return RuntimeError(
        "Trying to backward through the graph a second time (or directly access saved tensors after "
        "they have already been freed). Saved intermediate values of the graph are freed when you call "
        ".backward() or autograd.grad(). Specify retain_graph=True if you need to backward through the "
        "graph a second time or if you need to access saved tensors after calling backward.")


class Node:
    """A backward node. It is also the ``ctx`` passed to forward/backward (torch's ctx API)."""

    __slots__ = ("next_functions", "_op", "_seq", "_meta", "_to_save", "_saved", "_pre_hooks",
                 "_post_hooks", "_materialize", "_non_diff", "_dirty", "_trace", "_released",
                 "needs_input_grad", "__weakref__", "__dict__")

    def __init__(self, op):
        self._op = op
        self._seq = next(_seq)
        self._to_save = None
        self._saved = None
        self._pre_hooks = None
        self._post_hooks = None
        self._materialize = True
        self._non_diff = None
        self._dirty = None
        self._released = False
        self._trace = traceback.format_stack()[:-2] if _grad_state.anomaly else None

    # -- the ctx API ----------------------------------------------------------------------------
    def save_for_backward(self, *xs):
        self._to_save = xs

    @property
    def saved_tensors(self):
        if self._released:
            raise _freed_error()
        saved = self._saved
        if saved is None:
            return ()
        return tuple(_unpack(self, s) for s in saved)

    def mark_non_differentiable(self, *xs):
        self._non_diff = xs

    def mark_dirty(self, *xs):
        self._dirty = xs

    def set_materialize_grads(self, value: bool):
        self._materialize = bool(value)

    # -- node API (torch.autograd.graph.Node) ---------------------------------------------------
    def name(self) -> str:
        return getattr(self._op, "node_name", None) or self._op.__name__ + "Backward"

    def __repr__(self):
        return f"<{self.name()} object at {hex(id(self))}>"

    @property
    def metadata(self):
        return self.__dict__

    def register_hook(self, fn):
        """Post-hook: fn(grad_inputs, grad_outputs) may return replacement grad_inputs."""
        if self._post_hooks is None:
            self._post_hooks = []
        self._post_hooks.append(fn)
        return _RemovableHandle(self._post_hooks, fn)

    def register_prehook(self, fn):
        return self._add_pre_hook(None, fn)

    def _add_pre_hook(self, slot, fn):
        if self._pre_hooks is None:
            self._pre_hooks = []
        entry = (slot, fn)
        self._pre_hooks.append(entry)
        return _RemovableHandle(self._pre_hooks, entry)

    def _release(self):
        self._saved = None
        self._released = True

    def _out_meta(self, i):
        return self._meta[i]


class AccumulateGrad(Node):
    """Sink node of a leaf that requires grad. Holds the leaf weakly (the leaf holds the node)."""

    __slots__ = ("variable_ref",)

    def __init__(self, var):
        Node.__init__(self, AccumulateGrad)
        self.variable_ref = weakref.ref(var)
        self.next_functions = ()
        self._meta = ((var._data.shape, var._data.dtype, var.device),)

    def name(self):
        return "AccumulateGrad"

    @property
    def variable(self):
        return self.variable_ref()


class _RemovableHandle:
    __slots__ = ("_lst", "_item")

    def __init__(self, lst, item):
        self._lst, self._item = lst, item

    def remove(self):
        try:
            self._lst.remove(self._item)
        except ValueError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()


class _NoGradCtx:
    """ctx used when no graph is recorded: ops may still stash attributes; saving is a no-op."""

    needs_input_grad = ()

    def save_for_backward(self, *xs):
        pass

    def mark_non_differentiable(self, *xs):
        pass

    def mark_dirty(self, *xs):
        pass

    def set_materialize_grads(self, value):
        pass


# Saved-tensor entries: (kind, payload, version)
_INPUT, _OUTPUT, _CONST = 0, 1, 2


def _version_error(node, t_desc, version, expected, which):
    return RuntimeError(
        "one of the variables needed for gradient computation has been modified by an inplace "
        f"operation: [{t_desc}], which is {which} of {node.name()}, is at version {version}; expected "
        f"version {expected} instead. Hint: enable anomaly detection to find the operation that failed "
        "to compute its gradient, with torch.autograd.set_detect_anomaly(True).")


def _unpack(node, s):
    kind, obj, ver = s
    if kind == _INPUT:
        if obj._version[0] != ver:
            raise _version_error(node, obj.type_desc(), obj._version[0], ver, "an input")
        return obj
    if kind == _OUTPUT:
        arr, vc, idx = obj
        if vc[0] != ver:
            t = Tensor._wrap(arr)
            raise _version_error(node, t.type_desc(), vc[0], ver, f"output {idx}")
        t = Tensor._wrap(arr)
        t._grad_fn, t._output_nr, t._version = node, idx, vc
        return t
    if isinstance(obj, np.generic) or not hasattr(obj, "shape"):
        obj = np.asarray(obj)  # a scalar constant (e.g. the 2 in x * 2)
    return Tensor._wrap(obj)


def _resolve_saved(node, to_save, inputs, arrays, outs, out_arrays):
    saved = []
    for a in to_save:
        if a is None:
            saved.append((_CONST, None, 0))
            continue
        for i, x in enumerate(arrays):
            if a is x:
                t = inputs[i]
                if isinstance(t, Tensor):
                    saved.append((_INPUT, t, t._version[0]))
                else:
                    saved.append((_CONST, a, 0))
                break
        else:
            for i, x in enumerate(out_arrays):
                if a is x:
                    o = outs[i]
                    saved.append((_OUTPUT, (x, o._version, i), o._version[0]))
                    break
            else:
                if isinstance(a, Tensor):  # a refgrad Tensor built by the op itself: a constant
                    saved.append((_CONST, a._data, 0))
                else:
                    saved.append((_CONST, a, 0))
    node._saved = tuple(saved)
    node._to_save = None


def apply(op, *inputs, **params):
    """Run primitive ``op`` on ``inputs`` (Tensors or raw arrays/constants) and record the graph.

    The op's forward gets raw arrays; what it returns (an array or a tuple of arrays) is wrapped in
    Tensors. Integer/bool outputs and outputs the op marks non-differentiable never require grad.
    """
    T = Tensor
    arrays = [x._data if isinstance(x, T) else x for x in inputs]
    if _grad_state.enabled:
        edges = None
        for i, x in enumerate(inputs):
            if isinstance(x, T):
                fn = x._grad_fn
                if fn is not None:
                    if x._base is not None:
                        fn = x._refresh_view()
                    if edges is None:
                        edges = [None] * len(inputs)
                    edges[i] = (fn, x._output_nr)
                elif x._requires_grad:
                    if edges is None:
                        edges = [None] * len(inputs)
                    edges[i] = (x._accumulator(), 0)
        if edges is not None:
            node = Node(op)
            node.next_functions = tuple(edges)
            node.needs_input_grad = tuple(e is not None for e in edges)
            out = op.forward(node, *arrays, **params)
            return _wrap_outputs(node, out, inputs, arrays)
    out = op.forward(_NoGradCtx(), *arrays, **params)
    if type(out) is tuple:
        return tuple(T._wrap(o) for o in out)
    return T._wrap(out)


def _wrap_outputs(node, out, inputs, arrays):
    T = Tensor
    nd = node._non_diff
    if type(out) is tuple:
        outs = []
        meta = []
        for i, o in enumerate(out):
            t = T._wrap(o)
            if o.dtype.kind == "f" and (nd is None or not any(o is x for x in nd)):
                t._grad_fn, t._output_nr = node, i
            outs.append(t)
            meta.append((o.shape, o.dtype, t.device))
        node._meta = tuple(meta)
        if node._to_save is not None:
            _resolve_saved(node, node._to_save, inputs, arrays, outs, out)
        return tuple(outs)
    t = T._wrap(out)
    node._meta = ((out.shape, out.dtype, t.device),)
    if out.dtype.kind == "f" and nd is None:
        t._grad_fn = node
    if node._to_save is not None:
        _resolve_saved(node, node._to_save, inputs, arrays, (t,), (out,))
    return t
