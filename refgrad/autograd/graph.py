"""The one graph node type (also the ``ctx`` of every op) and the per-op dispatch (``apply``).

A primitive op is a class with ``forward(ctx, *arrays, **params)`` on raw backend arrays and
``backward(ctx, *grads)`` on refgrad Tensors (so every backward is itself differentiable).
``apply`` is the hot path: it runs the forward on arrays and, only when grad mode is on and an
input requires grad, records one Node whose edges point at the inputs' producers.
"""
from __future__ import annotations

import itertools
import re
import traceback
import weakref

import numpy as np

from .. import _backend
from .grad_mode import state as _grad_state

_seq = itertools.count()
Tensor = None  # bound by refgrad._tensor (import cycle: the tensor type wraps outputs)


def _freed_error():
    return RuntimeError(
        "Trying to backward through the graph a second time (or directly access saved tensors after "
        "they have already been freed). Saved intermediate values of the graph are freed when you call "
        ".backward() or autograd.grad(). Specify retain_graph=True if you need to backward through the "
        "graph a second time or if you need to access saved tensors after calling backward.")


NO_EDGE = (None, 0)  # torch's next_functions entry for an input that needs no gradient


class Node:
    """A backward node. It is also the ``ctx`` passed to forward/backward (torch's ctx API)."""

    # Saved tensors are slots (almost every op saves something: no per-node __dict__ for them);
    # rarely-set state lives at class level and instances override it in __dict__.
    __slots__ = ("next_functions", "_op", "_seq", "_meta", "needs_input_grad", "_to_save", "_saved",
                 "__weakref__", "__dict__")

    _released = False
    _pre_hooks = None   # [(slot or None, fn)]: tensor hooks (slot) and node pre-hooks (None)
    _post_hooks = None  # node post-hooks fn(grad_inputs, grad_outputs)
    _retains = None     # {output slot: weakref to the tensor that called retain_grad()}
    _materialize = True
    _non_diff = None
    _dirty = None
    _trace = None
    _arg_map = None     # custom Function with non-Tensor arguments: positions of the Tensor ones
    _n_args = 0

    def __init__(self, op):
        self._op = op
        self._seq = next(_seq)
        self._to_save = self._saved = None
        if _grad_state.anomaly:
            self._trace = traceback.format_stack()[:-2]

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
        return self._op.node_name

    def __repr__(self):
        return f"<{_type_name(self.name())} object at {hex(id(self))}>"

    @property
    def metadata(self) -> dict:
        md = self.__dict__.get("_metadata")
        if md is None:
            md = self.__dict__["_metadata"] = {}
        return md

    def register_hook(self, fn):
        """Post-hook: fn(grad_inputs, grad_outputs) may return replacement grad_inputs."""
        if self._post_hooks is None:
            self._post_hooks = []
        self._post_hooks.append(fn)
        return _RemovableHandle(self._post_hooks, fn)

    def register_prehook(self, fn):
        """Pre-hook: fn(grad_outputs) may return replacement grad_outputs."""
        return self._add_pre_hook(None, fn)

    def _add_pre_hook(self, slot, fn):
        if self._pre_hooks is None:
            self._pre_hooks = []
        entry = (slot, fn)
        self._pre_hooks.append(entry)
        return _RemovableHandle(self._pre_hooks, entry)

    def _release(self):
        # torch frees the saved variables; a node that saved nothing can run again
        if self._saved:
            self._saved = None
            self._released = True


def _type_name(name):
    # torch's C++ nodes are named "torch::autograd::X" while their Python type is X
    return name.rpartition("::")[2]


class AccumulateGrad(Node):
    """Sink node of a leaf that requires grad. Holds the leaf weakly (the leaf holds the node)."""

    __slots__ = ("variable_ref",)
    node_name = "torch::autograd::AccumulateGrad"
    _post_acc = None  # register_post_accumulate_grad_hook: fn(leaf) after .grad is updated

    def __init__(self, var):
        Node.__init__(self, AccumulateGrad)
        self.variable_ref = weakref.ref(var)
        self.next_functions = ()
        self._meta = ((var._data.shape, var._data.dtype, var.device),)

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


def _short_name(name):
    # torch names the producer in this message without its "Backward<N>" suffix ("output 0 of Exp")
    return re.sub(r"Backward\d*$", "", name)


def _version_error(node, t_desc, version, expected, producer, output_nr):
    which = f", which is output {output_nr} of {_short_name(producer.name())}," if producer is not None else ""
    return RuntimeError(
        "one of the variables needed for gradient computation has been modified by an inplace "
        f"operation: [{t_desc}]{which} is at version {version}; expected version {expected} instead. "
        "Hint: enable anomaly detection to find the operation that failed to compute its gradient, with "
        f"torch.autograd.set_detect_anomaly(True, check_nan=False). (The backward of {node.name()} saved it.)")


def _unpack(node, s):
    kind, obj, ver = s
    if kind == _INPUT:
        if obj._vc[0] != ver:
            # torch names the tensor's current producer (its history after the in-place op)
            raise _version_error(node, obj.type_desc(), obj._vc[0], ver, obj.grad_fn, obj._output_nr)
        return obj
    if kind == _OUTPUT:
        arr, vc, idx = obj
        t = Tensor._wrap(arr)
        if vc[0] != ver:
            raise _version_error(node, t.type_desc(), vc[0], ver, node, idx)
        t._grad_fn, t._output_nr, t._vc = node, idx, vc
        return t
    if obj is None:  # an op saved None in a slot it did not need
        return None
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
                    saved.append((_INPUT, t, t._vc[0]))
                else:
                    saved.append((_CONST, a, 0))
                break
        else:
            for i, x in enumerate(out_arrays):
                if a is x:
                    o = outs[i]
                    saved.append((_OUTPUT, (x, o._vc, i), o._vc[0]))
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
    This is the per-op hot path: one pass over the inputs, no work for graph-free calls.
    """
    T = Tensor
    arrays = []
    edges = None
    if _grad_state.enabled:
        for i, x in enumerate(inputs):
            if isinstance(x, T):
                arrays.append(x._data)
                # a view re-derives its history when its base changed in place (even one that had none)
                fn = x._refresh_view() if x._base is not None else x._grad_fn
                if fn is not None:
                    if edges is None:
                        edges = [NO_EDGE] * len(inputs)
                    edges[i] = (fn, x._output_nr)
                elif x._requires_grad:
                    if edges is None:
                        edges = [NO_EDGE] * len(inputs)
                    edges[i] = (x._accumulator(), 0)
            else:
                arrays.append(x)
    else:
        arrays = [x._data if isinstance(x, T) else x for x in inputs]
    if edges is None:
        out = op.forward(_NoGradCtx(), *arrays, **params)
        if type(out) is tuple:
            return tuple(T._wrap(o) for o in out)
        return T._wrap(out)
    node = Node(op)
    node.next_functions = tuple(edges)
    node.needs_input_grad = tuple([e is not NO_EDGE for e in edges])  # (a list comp beats a genexpr here)
    out = op.forward(node, *arrays, **params)
    return _wrap_outputs(node, out, inputs, arrays)


def _dev(arr):
    """The device of an array, cheaply for the common numpy case (used for graph metadata)."""
    return _backend.CPU if type(arr) is np.ndarray else _backend.device_of(arr)


def _wrap_outputs(node, out, inputs, arrays):
    T = Tensor
    nd = node._non_diff
    if type(out) is tuple:
        outs = []
        meta = []
        for i, o in enumerate(out):
            t = T._wrap(o)
            o = t._data
            if o.dtype.kind == "f" and (nd is None or not any(o is x for x in nd)):
                t._grad_fn, t._output_nr = node, i
            outs.append(t)
            meta.append((o.shape, o.dtype, _dev(o)))
        node._meta = tuple(meta)
        if node._to_save is not None:
            _resolve_saved(node, node._to_save, inputs, arrays, outs, [t._data for t in outs])
        return tuple(outs)
    t = T._wrap(out)
    out = t._data  # a numpy scalar became a 0-d array: saved-output identity must use the array
    node._meta = ((out.shape, out.dtype, _dev(out)),)
    if nd is None and out.dtype.kind == "f":
        t._grad_fn = node
    if node._to_save is not None:
        _resolve_saved(node, node._to_save, inputs, arrays, (t,), (out,))
    return t
