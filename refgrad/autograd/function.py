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
        edges = []
        any_grad = False
        for a in args:
            e = None
            if isinstance(a, graph.Tensor) and _grad_state.enabled:
                if a._base is not None:
                    a._refresh_view()
                if a._grad_fn is not None:
                    e = (a._grad_fn, a._output_nr)
                elif a._requires_grad:
                    e = (a._accumulator(), 0)
            any_grad = any_grad or e is not None
            edges.append(e)
        ctx = graph.Node(cls)
        ctx.next_functions = tuple(edges)
        ctx.needs_input_grad = tuple(e is not None for e in edges)
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
            _dirty_bump(ctx, outs)
            return out
        return _wrap(ctx, args, outs, is_tuple)


def _dirty_bump(ctx, outs):
    dirty = ctx._dirty or ()
    for t in dirty:
        t._version[0] += 1


def _wrap(ctx, args, outs, is_tuple):
    dirty = ctx._dirty or ()
    nondiff = ctx._non_diff or ()
    result = []
    meta = []
    for i, o in enumerate(outs):
        if not isinstance(o, graph.Tensor):
            result.append(o)
            meta.append(((), None, None))
            continue
        if any(o is d for d in dirty):
            # an input modified in place: it takes this node as its history
            from ..ops._core import check_inplace  # noqa: PLC0415
            prev = _grad_state.enabled
            check_inplace(o)
            _grad_state.enabled = prev
            o._version[0] += 1
            t = o
        elif any(o is a for a in args):
            t = graph.Tensor._wrap(o._data)  # torch returns a new alias of an input returned as is
            t._version = o._version
        elif o._grad_fn is not None or o._requires_grad:
            t = graph.Tensor._wrap(o._data)  # created with grad on inside forward: detach it
            t._version = o._version
        else:
            t = o
        if o._data.dtype.kind == "f" and not any(o is n for n in nondiff):
            if t._base is not None and t is o:
                from ..ops._core import rebase  # noqa: PLC0415
                tmp = graph.Tensor._wrap(t._data)
                tmp._grad_fn, tmp._output_nr = ctx, i
                rebase(t, tmp)
            else:
                t._grad_fn, t._output_nr = ctx, i
        result.append(t)
        meta.append((o._data.shape, o._data.dtype, o.device))
    ctx._meta = tuple(meta)
    if ctx._to_save is not None:
        _resolve(ctx, args, outs, result)
    return tuple(result) if is_tuple else result[0]


def _resolve(ctx, args, outs, result):
    saved = []
    for s in ctx._to_save:
        if s is None:
            saved.append((graph._CONST, None, 0))
            continue
        if not isinstance(s, graph.Tensor):
            raise TypeError("save_for_backward can only save variables, but argument 0 is of type "
                            f"{type(s).__name__}")
        for i, o in enumerate(outs):
            if s is o and result[i]._grad_fn is ctx:
                saved.append((graph._OUTPUT, (result[i]._data, result[i]._version, i), result[i]._version[0]))
                break
        else:
            saved.append((graph._INPUT, s, s._version[0]))
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
    node_name = "DelayedError"

    @staticmethod
    def forward(ctx, x):
        return x

    @staticmethod
    def backward(ctx, g):
        raise RuntimeError("trying to differentiate twice a function that was marked with @once_differentiable")


def _delayed_error(t):
    r = graph.Tensor._wrap(t._data)
    node = graph.Node(_DelayedError)
    node.next_functions = (None,)
    node.needs_input_grad = (False,)
    node._meta = ((t._data.shape, t._data.dtype, t.device),)
    r._grad_fn = node
    return r
