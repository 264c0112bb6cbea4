"""The backward engine: iterative, dependency-counted, torch's ready order (highest sequence number
first). The ONE place that reduces broadcast gradients, casts dtype and checks device."""
from __future__ import annotations

import heapq
import sys

import numpy as np

from .. import _backend
from . import graph as _graph
from .grad_mode import state as _grad_state
from .graph import AccumulateGrad, Node


def _edge_of(t):
    fn = t._refresh_view() if t._base is not None else t._grad_fn
    if fn is not None:
        return (fn, t._output_nr)
    if t._requires_grad:
        return (t._accumulator(), 0)
    return None


_CPU = _backend.CPU


def _validate(node, i, g, meta):
    """Shape (sum_to for broadcasts), dtype and device of gradient ``i`` returned by ``node``."""
    shape, dt, dev = meta
    if g._data.shape != shape:
        gs = g._data.shape
        if not _broadcastable_to(shape, gs):
            raise RuntimeError(
                f"Function {node.name()} returned an invalid gradient at index {i} - got "
                f"{list(gs)} but expected shape compatible with {list(shape)}")
        g = g.sum_to_size(shape)
    if g._data.dtype != dt:
        g = g._to_np_dtype(dt)
    if (dev is not _backend.CPU or type(g._data) is not np.ndarray) and g.device != dev:
        raise RuntimeError(
            f"Function {node.name()} returned an invalid gradient at index {i} - expected device "
            f"{dev} but got {g.device}")
    return g


def _broadcastable_to(shape, gshape):
    if len(gshape) < len(shape):
        return False
    for s, g in zip(reversed(shape), reversed(gshape)):
        if s != g and s != 1:
            return False
    return True


def _collect(roots):
    """Dependency counts of every node reachable from ``roots`` (iterative DFS; a node's first count
    also marks it seen). The roots themselves are entered by the virtual graph root only."""
    deps = {}
    get = deps.get
    stack = list(roots)
    pop, push = stack.pop, stack.append
    while stack:
        for nxt, _ in pop().next_functions:
            if nxt is not None:
                c = get(nxt)
                if c is None:
                    deps[nxt] = 1
                    push(nxt)
                else:
                    deps[nxt] = c + 1
    return deps


def _needed(roots, deps, targets):
    """Nodes from which some target node is reachable (pruning for autograd.grad)."""
    # Kahn order from the roots, then a reverse sweep.
    indeg = dict(deps)
    order = []
    ready = [n for n in roots if indeg.get(n, 0) == 0]
    seen_roots = set()
    ready = [n for n in ready if not (id(n) in seen_roots or seen_roots.add(id(n)))]
    while ready:
        n = ready.pop()
        order.append(n)
        for nxt, _ in n.next_functions:
            if nxt is None:
                continue
            indeg[nxt] -= 1
            if indeg[nxt] == 0:
                ready.append(nxt)
    need = {}
    for n in reversed(order):
        need[n] = n in targets or any(nxt is not None and need.get(nxt, False) for nxt, _ in n.next_functions)
    return need


def run_backward(tensors, grad_tensors, retain_graph, create_graph, inputs=None,
                 allow_unused=False, accumulate=True):
    """Shared core of Tensor.backward, autograd.backward and autograd.grad.

    With ``accumulate`` the leaves' .grad are updated (restricted to ``inputs`` when given);
    otherwise the gradients reaching ``inputs`` are returned (autograd.grad).
    """
    from .._tensor import Tensor  # noqa: PLC0415 - import cycle

    roots = []
    root_grads = []
    for i, (t, g) in enumerate(zip(tensors, grad_tensors)):
        e = _edge_of(t)
        if e is None:
            raise RuntimeError(f"element {i} of tensors does not require grad and does not have a grad_fn")
        roots.append(e)
        root_grads.append(g)

    # a virtual root feeding every output, so the walk below has one entry
    graph_root = Node(_GraphRoot)
    graph_root.next_functions = tuple(roots)
    deps = _collect([graph_root])

    targets = None
    if inputs is not None:
        targets = {}
        for k, t in enumerate(inputs):
            if not isinstance(t, Tensor):
                raise RuntimeError(f"all inputs have to be Tensors or GradientEdges, but got {type(t).__name__}")
            e = _edge_of(t)
            if e is None:
                raise RuntimeError("One of the differentiated Tensors does not require grad")
            targets.setdefault(e[0], []).append((e[1], k))
        need = _needed([graph_root], deps, targets)
    else:
        need = None

    prev = _grad_state.enabled, _grad_state.grad_mode
    # backward runs in grad mode exactly when it builds a graph of the gradients (create_graph)
    _grad_state.enabled = _grad_state.grad_mode = bool(create_graph)
    try:
        buffers = {graph_root: [None]}
        # feed the roots
        heap = []
        results = [None] * (len(inputs) if inputs is not None else 0)
        _dispatch(graph_root, tuple(root_grads), deps, buffers, heap, create_graph)
        pop, take = heapq.heappop, buffers.pop
        anomaly = _grad_state.anomaly and _grad_state.anomaly_check_nan
        while heap:
            node = pop(heap)[1]
            grads = take(node)
            if need is None:
                if not (node._pre_hooks or node._retains or type(node) is AccumulateGrad):
                    # the common case, kept short: no pruning, no hooks, not a leaf
                    out = _call_backward(node, grads, anomaly)
                    if node._post_hooks:
                        out = _run_post_hooks(node, out, grads)
                    if not retain_graph:
                        node._release()
                    _dispatch(node, out, deps, buffers, heap, create_graph, need)
                    out = None  # AccumulateGrad steals a gradient's buffer only when nothing else holds it
                    continue
                execute = True
            elif not need.get(node, False):
                continue
            elif isinstance(node, AccumulateGrad):
                execute = accumulate
            else:  # a captured input's producer runs only when something wanted lies beyond it
                execute = any(nxt is not None and need.get(nxt, False) for nxt, _ in node.next_functions)
            hooked = node._pre_hooks or node._retains
            if not execute and hooked:
                # torch runs the tensor hooks before capturing only when the node will not run
                # (engine.cpp evaluate_function); otherwise the capture sees the raw gradient
                grads = _run_tensor_hooks(node, grads)
            if targets is not None and node in targets:
                for slot, k in targets[node]:
                    g = grads[slot]
                    if g is not None and not create_graph:
                        g = g.detach()
                    results[k] = g if results[k] is None else results[k] + g
            if not execute:
                continue
            if hooked:
                grads = _run_tensor_hooks(node, grads)
            if isinstance(node, AccumulateGrad):
                _accumulate(node, grads[0], create_graph)
                continue
            out = _call_backward(node, grads, anomaly)
            if node._post_hooks:
                out = _run_post_hooks(node, out, grads)
            if not retain_graph:
                node._release()
            _dispatch(node, out, deps, buffers, heap, create_graph, need)
            out = None
    finally:
        _grad_state.enabled, _grad_state.grad_mode = prev

    if inputs is not None:
        for k, r in enumerate(results):
            if r is None and not allow_unused and not accumulate:
                raise RuntimeError(
                    f"The differentiated Tensor at index {k} appears to not have been used in the graph. "
                    "Set allow_unused=True if this is the desired behavior.")
        return tuple(results)
    return None


class _GraphRoot:
    node_name = "GraphRoot"

    @staticmethod
    def backward(ctx, *grads):
        return grads


def _run_tensor_hooks(node, grads):
    grads = _run_pre_hooks(node, grads)
    if node._retains:
        _retain_grads(node, grads)
    return grads


def _run_pre_hooks(node, grads):
    hooks = node._pre_hooks
    if not hooks:
        return grads
    grads = list(grads)
    for slot, fn in list(hooks):
        if slot is None:  # node pre-hook: fn(grad_outputs) -> grad_outputs
            r = fn(tuple(grads))
            if r is not None:
                grads = list(r)
        elif grads[slot] is not None:  # tensor hook: fn(grad) -> grad
            r = fn(grads[slot])
            if r is not None:
                grads[slot] = r
    return grads


def _retain_grads(node, grads):
    # torch runs retain_grad's hook after the tensor's other hooks; it clones (grad mode is
    # create_graph here, so the stored .grad is differentiable exactly when torch's is)
    for slot, ref in node._retains.items():
        t = ref()
        g = grads[slot]
        if t is not None and g is not None:
            t._grad = g.clone() if t._grad is None else t._grad + g


def _materialize(node, grads):
    from .._tensor import Tensor  # noqa: PLC0415

    out = list(grads)
    for i, g in enumerate(out):
        shape, dt, dev = node._meta[i]
        if g is None and dt is not None:  # dt None: a non-tensor output of a custom Function
            out[i] = Tensor._wrap(_backend.xp_for(dev).zeros(shape, dtype=dt))
    return out


def _run_post_hooks(node, out, grads):
    for h in node._post_hooks:
        r = h(out, grads)
        if r is not None:
            out = tuple(r)
    return out


def _call_backward(node, grads, anomaly):
    if node._materialize:
        for g in grads:  # (not ``None in grads``: that would call Tensor.__eq__)
            if g is None:
                grads = _materialize(node, grads)
                break
    out = node._op.backward(node, *grads)
    if type(out) is not tuple:
        out = (out,)
    if node._arg_map is not None:
        out = _tensor_arg_grads(node, out)
    n = len(node.next_functions)
    if len(out) != n:
        if len(out) > n and all(g is None for g in out[n:]):
            out = out[:n]
        else:
            raise RuntimeError(
                f"function {node.name()} returned an incorrect number of gradients (expected {n}, "
                f"got {len(out)})")
    if anomaly:
        for i, g in enumerate(out):
            if g is not None and bool(_backend.get_xp(g._data).isnan(g._data).any()):
                msg = f"Function '{node.name()}' returned nan values in its {i}th output."
                if node._trace:
                    msg += "\nTraceback of forward call that caused the error:\n" + "".join(node._trace)
                raise RuntimeError(msg)
    return out


def _tensor_arg_grads(node, out):
    """A custom Function returns one gradient per forward argument; keep the Tensor arguments' ones."""
    if len(out) != node._n_args:
        raise RuntimeError(f"function {node.name()} returned an incorrect number of gradients (expected "
                           f"{node._n_args}, got {len(out)})")
    keep = set(node._arg_map)
    for i, g in enumerate(out):
        if i not in keep and g is not None:
            raise RuntimeError(f"function {node.name()} returned a gradient different than None at position {i + 1}, "
                               "but the corresponding forward input was not a Variable")
    return tuple(out[i] for i in node._arg_map)


def _dispatch(node, out, deps, buffers, heap, create_graph, need=None):
    for i, (nxt, slot) in enumerate(node.next_functions):
        if nxt is None:
            continue
        g = out[i] if i < len(out) else None
        if g is not None:
            if not isinstance(g, _graph.Tensor):
                raise TypeError(f"Function {node.name()} returned a gradient of type "
                                f"{type(g).__name__} at index {i}; expected a Tensor or None")
            meta = nxt._meta[slot]
            d = g._data
            # fast path (the common case): a cpu gradient already of the input's shape and dtype
            if not (type(d) is np.ndarray and meta[2] is _CPU and d.shape == meta[0] and d.dtype == meta[1]):
                g = _validate(node, i, g, meta)
        buf = buffers.get(nxt)
        if buf is None:
            buf = buffers[nxt] = [None] * len(nxt._meta)
        if g is not None:
            buf[slot] = g if buf[slot] is None else buf[slot] + g
        d = deps[nxt] - 1
        deps[nxt] = d
        if d == 0:
            heapq.heappush(heap, (-nxt._seq, nxt))


def _exclusively_owned(g):
    """True when nothing but the engine can see ``g`` or its memory, so .grad may take the array
    without a copy (torch steals the buffer on the same use-count condition). CPython reference
    counts on this call path: the tensor is held by the buffer list, _accumulate's and this
    function's arguments and getrefcount's own (4); the array by g._data, ``arr`` and getrefcount's
    (3); a base array only by the view above it. Anything more (a hook that kept the gradient, a
    gradient returned for two inputs, a user tensor) means a copy."""
    if sys.getrefcount(g) > 4:
        return False
    arr = g._data
    if sys.getrefcount(arr) > 3:
        return False
    base = arr.base
    while base is not None:  # e.g. matmul writes a transposed result into a fresh buffer
        if sys.getrefcount(base) > 3:  # arr.base (or the view above), ``base``, getrefcount
            return False
        base = getattr(base, "base", None)
    return not isinstance(arr, np.ndarray) or arr.flags.writeable


def _accumulate(node, g, create_graph):
    """torch's AccumulateGrad: the first gradient is stored (a copy unless create_graph), later ones
    are added in place, or out of place when the stored gradient is part of a graph."""
    var = node.variable
    if var is None or g is None:
        return
    if var._grad is None:
        # never alias the incoming gradient (a later backward adds into .grad in place) unless nothing
        # else can see it: torch steals the buffer on the same use-count condition
        if create_graph:
            var._grad = g.clone()
        elif _exclusively_owned(g):
            var._grad = _graph.Tensor._wrap(g._data)
        else:
            var._grad = g.detach()._own()
    elif create_graph or var._grad.requires_grad:
        var._grad = var._grad + g
    else:
        var._grad._data += g._data
        var._grad._vc[0] += 1
    if node._post_acc:
        for h in node._post_acc:
            h(var)
