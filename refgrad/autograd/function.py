"""User-defined autograd Functions on the same graph node type as the primitives."""
from __future__ import annotations

import functools

from . import graph
from .grad_mode import no_grad
from .grad_mode import state as _grad_state


class _FunctionMeta(type):
    def __init__(cls, name, bases, attrs):
        super().__init__(name, bases, attrs)
        cls.node_name = name + "Backward"


class Function(metaclass=_FunctionMeta):
    """Matches `torch.autograd.Function`: subclass with static forward(ctx, ...) and backward(ctx, ...),
    call through ``apply``. ctx supports save_for_backward, saved_tensors, needs_input_grad,
    mark_dirty, mark_non_differentiable and set_materialize_grads."""

    def __init__(self, *args, **kwargs):
        raise RuntimeError("Legacy autograd function with non-static forward method is deprecated. "
                           "Please use new-style autograd function with static forward method.")

    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotImplementedError("You must implement the forward function for custom autograd.Function.")

    @staticmethod
    def backward(ctx, *grad_outputs):
        raise NotImplementedError("You must implement either the backward or vjp method for your custom "
                                  "autograd.Function to use it with backward mode AD.")

    vjp = backward

    @staticmethod
    def setup_context(ctx, inputs, output):
        return None

    @classmethod
    def apply(cls, *args, **kwargs):
        edges = []  # one per Tensor argument (torch's next_functions skip the others)
        needs = []  # one per argument
        enabled = _grad_state.enabled
        for a in args:
            if not isinstance(a, graph.Tensor):
                needs.append(False)
                continue
            e = graph.NO_EDGE
            if enabled:
                fn = a._refresh_view() if a._base is not None else a._grad_fn
                if fn is not None:
                    e = (fn, a._output_nr)
                elif a._requires_grad:
                    e = (a._accumulator(), 0)
            edges.append(e)
            needs.append(e is not graph.NO_EDGE)
        any_grad = any(needs)
        ctx = graph.Node(cls)
        ctx.next_functions = tuple(edges)
        ctx.needs_input_grad = tuple(needs)
        if len(edges) != len(args):
            ctx._arg_map = tuple(i for i, a in enumerate(args) if isinstance(a, graph.Tensor))
            ctx._n_args = len(args)
        custom_setup = cls.setup_context is not Function.setup_context
        with no_grad():
            if custom_setup:
                out = cls.forward(*args, **kwargs)
                cls.setup_context(ctx, args, out)
            else:
                out = cls.forward(ctx, *args, **kwargs)
        is_tuple = isinstance(out, tuple)
        outs = out if is_tuple else (out,)
        if not any_grad:
            for t in ctx._dirty or ():
                t._vc[0] += 1  # torch bumps the version of dirty tensors even when not recording
            return out
        return _wrap(ctx, args, outs, is_tuple)


def _wrap(ctx, args, outs, is_tuple):
    dirty = ctx._dirty or ()
    nondiff = ctx._non_diff or ()
    result = []
    meta = []
    for i, o in enumerate(outs):
        if not isinstance(o, graph.Tensor):
            result.append(o)
            meta.append(((), None, None))  # a non-tensor output: no gradient slot to materialize
            continue
        is_dirty = any(o is d for d in dirty)
        if is_dirty:
            # an input modified in place: it takes this node as its history
            if o._grad_fn is None and o._requires_grad:
                raise RuntimeError("a leaf Variable that requires grad has been used in an in-place operation.")
            base = o._base
            if base is not None and base._grad_fn is None and base._requires_grad:
                raise RuntimeError(
                    "a view of a leaf Variable that requires grad is being used in an in-place operation.")
            o._vc[0] += 1
            t = o
        elif any(o is a for a in args) or o._grad_fn is not None or o._requires_grad:
            # an input returned as is (torch returns a new alias) or a tensor with its own history
            t = graph.Tensor._wrap(o._data)
            t._vc = o._vc
        else:
            t = o
        if o._data.dtype.kind == "f" and not any(o is n for n in nondiff):
            if is_dirty and t._base is not None:
                from ..ops._core import rebase  # noqa: PLC0415
                tmp = graph.Tensor._wrap(t._data)
                tmp._grad_fn, tmp._output_nr = ctx, i
                rebase(t, tmp)
            else:
                # a view of an input made inside forward keeps its _base, with this node as history
                t._grad_fn, t._output_nr = ctx, i
                if t._base is not None:
                    t._view_ver = t._vc[0]
        result.append(t)
        meta.append((o._data.shape, o._data.dtype, o.device))
    ctx._meta = tuple(meta)
    if ctx._to_save is not None:
        _resolve(ctx, outs, result)
    return tuple(result) if is_tuple else result[0]


def _resolve(ctx, outs, result):
    saved = []
    for k, s in enumerate(ctx._to_save):
        if s is None:
            saved.append((graph._CONST, None, 0))
            continue
        if not isinstance(s, graph.Tensor):
            raise TypeError(f"save_for_backward can only save variables, but argument {k} is of type "
                            f"{type(s).__name__}")
        for i, o in enumerate(outs):
            if s is o and result[i]._grad_fn is ctx:
                # an output: held by array + version counter, never by the tensor (no cycle)
                saved.append((graph._OUTPUT, (result[i]._data, result[i]._vc, i), result[i]._vc[0]))
                break
        else:
            saved.append((graph._INPUT, s, s._vc[0]))
    ctx._saved = tuple(saved)
    ctx._to_save = None


def once_differentiable(fn):
    """Matches `torch.autograd.function.once_differentiable`: backward runs without grad; asking for a
    second derivative through it raises."""

    @functools.wraps(fn)
    def wrapper(ctx, *args):
        with no_grad():
            outputs = fn(ctx, *args)
        if not _grad_state.enabled:
            return outputs
        requires = any(isinstance(a, graph.Tensor) and a.requires_grad for a in args)
        if not requires:
            return outputs
        is_tuple = isinstance(outputs, tuple)
        outs = outputs if is_tuple else (outputs,)
        wrapped = tuple(_delayed_error(o) if isinstance(o, graph.Tensor) else o for o in outs)
        return wrapped if is_tuple else wrapped[0]

    return wrapper


class _DelayedError:
    node_name = "Error"  # torch's DelayedError node is named "Error"

    @staticmethod
    def forward(ctx, x):
        return x

    @staticmethod
    def backward(ctx, g):
        raise RuntimeError("trying to differentiate twice a function that was marked with @once_differentiable")


def _delayed_error(t):
    r = graph.Tensor._wrap(t._data)
    node = graph.Node(_DelayedError)
    node.next_functions = (graph.NO_EDGE,)
    node.needs_input_grad = (False,)
    node._meta = ((t._data.shape, t._data.dtype, t.device),)
    r._grad_fn = node
    return r
