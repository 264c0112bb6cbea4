"""The backward engine: iterative, dependency-counted, torch's ready order (highest sequence number
first). The ONE place that reduces broadcast gradients, casts dtype and checks device."""
from __future__ import annotations

import heapq

from .. import _backend
from .graph import AccumulateGrad, Node
from .grad_mode import state as _grad_state


def _edge_of(t):
    fn = t._grad_fn
    if fn is not None:
        if t._base is not None:
            fn = t._refresh_view()
        return (fn, t._output_nr)
    if t._requires_grad:
        return (t._accumulator(), 0)
    return None


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
    if g.device != dev:
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
    """Dependency counts of every node reachable from ``roots`` (iterative DFS)."""
    deps = {}
    stack = [n for n in roots]
    seen = set(id(n) for n in roots)
    while stack:
        n = stack.pop()
        for e in n.next_functions:
            if e is None:
                continue
            nxt = e[0]
            deps[nxt] = deps.get(nxt, 0) + 1
            if id(nxt) not in seen:
                seen.add(id(nxt))
                stack.append(nxt)
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
        for e in n.next_functions:
            if e is None:
                continue
            indeg[e[0]] -= 1
            if indeg[e[0]] == 0:
                ready.append(e[0])
    need = {}
    for n in reversed(order):
        need[n] = n in targets or any(e is not None and need.get(e[0], False) for e in n.next_functions)
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

    capture = None
    targets = None
    if inputs is not None:
        capture = {}
        targets = {}
        for k, t in enumerate(inputs):
            if not isinstance(t, Tensor):
                raise TypeError("inputs to autograd.grad/backward must be Tensors")
            e = _edge_of(t)
            if e is None:
                raise RuntimeError("One of the differentiated Tensors does not require grad")
            targets.setdefault(e[0], []).append((e[1], k))
        need = _needed([graph_root], deps, targets)
    else:
        need = None

    prev = _grad_state.enabled
    _grad_state.enabled = bool(create_graph)
    try:
        buffers = {graph_root: [None]}
        # feed the roots
        heap = []
        results = [None] * (len(inputs) if inputs is not None else 0)
        _dispatch(graph_root, tuple(root_grads), deps, buffers, heap, create_graph)
        while heap:
            _, node = heapq.heappop(heap)
            grads = buffers.pop(node)
            if need is not None and not need.get(node, False):
                continue
            grads = _run_pre_hooks(node, grads)
            if targets is not None and node in targets:
                for slot, k in targets[node]:
                    g = grads[slot]
                    if g is not None and not create_graph:
                        g = g.detach()
                    results[k] = g if results[k] is None else results[k] + g
            if isinstance(node, AccumulateGrad):
                if accumulate and (targets is None or node in targets):
                    _accumulate(node, grads[0], create_graph)
                continue
            if need is not None and not any(
                    e is not None and need.get(e[0], False) for e in node.next_functions):
                continue  # a captured input's producer with nothing wanted beyond it
            out = _call_backward(node, grads, create_graph)
            if node._post_hooks:
                for h in node._post_hooks:
                    r = h(out, grads)
                    if r is not None:
                        out = tuple(r)
            if not retain_graph:
                node._release()
            _dispatch(node, out, deps, buffers, heap, create_graph, need)
    finally:
        _grad_state.enabled = prev

    if inputs is not None:
        for k, r in enumerate(results):
            if r is None and not allow_unused and not accumulate:
                raise RuntimeError(
                    "One of the differentiated Tensors appears to not have been used in the graph. "
                    "Set allow_unused=True if this is the desired behavior.")
        return tuple(results)
    return None


class _GraphRoot:
    node_name = "GraphRoot"

    @staticmethod
    def backward(ctx, *grads):
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


def _materialize(node, grads):
    from .._tensor import Tensor  # noqa: PLC0415

    out = list(grads)
    for i, g in enumerate(out):
        if g is None:
            shape, dt, dev = node._meta[i]
            out[i] = Tensor._wrap(_backend.xp_for(dev).zeros(shape, dtype=dt))
    return out


def _call_backward(node, grads, create_graph):
    if any(g is None for g in grads) and node._materialize:
        grads = _materialize(node, grads)
    out = node._op.backward(node, *grads)
    if type(out) is not tuple:
        out = (out,)
    n = len(node.next_functions)
    if len(out) != n:
        if len(out) > n and all(g is None for g in out[n:]):
            out = out[:n]
        else:
            raise RuntimeError(
                f"function {node.name()} returned an incorrect number of gradients (expected {n}, "
                f"got {len(out)})")
    if _grad_state.anomaly and _grad_state.anomaly_check_nan:
        for i, g in enumerate(out):
            if g is not None and bool(_backend.get_xp(g._data).isnan(g._data).any()):
                msg = f"Function '{node.name()}' returned nan values in its {i}th output."
                if node._trace:
                    msg += "\nTraceback of forward call that caused the error:\n" + "".join(node._trace)
                raise RuntimeError(msg)
    return out


def _dispatch(node, out, deps, buffers, heap, create_graph, need=None):
    from .._tensor import Tensor  # noqa: PLC0415

    for i, e in enumerate(node.next_functions):
        if e is None:
            continue
        nxt, slot = e
        g = out[i] if i < len(out) else None
        if g is not None:
            if not isinstance(g, Tensor):
                raise TypeError(f"Function {node.name()} returned a gradient of type "
                                f"{type(g).__name__} at index {i}; expected a Tensor or None")
            g = _validate(node, i, g, nxt._meta[slot])
        buf = buffers.get(nxt)
        if buf is None:
            buf = buffers[nxt] = [None] * len(nxt._meta)
        if g is not None:
            buf[slot] = g if buf[slot] is None else buf[slot] + g
        d = deps[nxt] - 1
        deps[nxt] = d
        if d == 0:
            heapq.heappush(heap, (-nxt._seq, nxt))


def _accumulate(node, g, create_graph):
    var = node.variable
    if var is None or g is None:
        return
    if var._grad is None:
        if create_graph:
            var._grad = g
        else:
            var._grad = g.detach()._own()
    elif create_graph or var._grad.requires_grad:
        var._grad = var._grad + g
    else:
        gd = var._grad._data
        if gd.shape == g._data.shape:
            gd += g._data
        else:
            var._grad = var._grad + g.detach()
    if node._post_hooks:
        for h in node._post_hooks:
            h(var)
