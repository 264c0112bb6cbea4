"""Autograd semantics against torch: backward/grad arguments, accumulation, retain_graph, custom
Functions (the whole ctx API), hooks, grad modes, version counters and in-place rebasing, graph
structure and names, deep graphs and memory (no reference cycles, saved tensors freed)."""
import gc
import threading
import weakref

import numpy as np
import pytest
import torch

import refgrad
from refgrad.autograd.function import once_differentiable as rg_once_differentiable

from .helpers import assert_same

MODS = [torch, refgrad]


def _outcome(fn, m):
    try:
        return "ok", fn(m)
    except Exception as e:  # noqa: BLE001 - the exception is the result under test
        return "raise", e


def _compare(a, b, what="result"):
    if isinstance(b, (tuple, list)):
        assert isinstance(a, (tuple, list)) and len(a) == len(b), f"{what}: {a!r} vs torch {b!r}"
        for i, (x, y) in enumerate(zip(a, b)):
            _compare(x, y, f"{what}[{i}]")
    elif isinstance(b, torch.Tensor):
        assert isinstance(a, refgrad.Tensor), f"{what}: {a!r} vs torch {b!r}"
        assert a.requires_grad == b.requires_grad, f"{what}: requires_grad {a.requires_grad} vs {b.requires_grad}"
        assert_same(a, b, what=what)
    elif isinstance(b, (torch.dtype, torch.device)):
        assert repr(a) == repr(b), f"{what}: {a!r} vs torch {b!r}"
    else:
        assert a == b, f"{what}: {a!r} vs torch {b!r}"


def twin(fn, message=True):
    """Run ``fn(torch)`` and ``fn(refgrad)``: same results, or the same exception type (and message)."""
    kt, rt = _outcome(fn, torch)
    kr, rr = _outcome(fn, refgrad)
    if kt == "raise":
        assert kr == "raise", f"torch raised {type(rt).__name__}: {rt}; refgrad returned {rr!r}"
        assert type(rr) is type(rt), f"torch raised {type(rt).__name__}: {rt}; refgrad {type(rr).__name__}: {rr}"
        if message:
            assert str(rt) in str(rr), f"message differs:\n torch:   {rt}\n refgrad: {rr}"
        return rr
    if kr == "raise":
        raise AssertionError(f"torch returned {rt!r}; refgrad raised {type(rr).__name__}: {rr}") from rr
    _compare(rr, rt)
    return rr


def leaf(m, values, dtype=None):
    return m.tensor(values, dtype=dtype or m.float64, requires_grad=True)


# -- backward / grad arguments --------------------------------------------------------------------------
def test_backward_with_gradient_argument():
    def f(m):
        x = leaf(m, [1.0, -2.0, 3.0])
        (x * x).backward(m.tensor([0.5, -1.0, 2.0], dtype=m.float64))
        return x.grad
    twin(f)


def test_gradient_of_other_float_dtype_is_cast():
    def f(m):
        x = leaf(m, [1.0, 2.0], m.float32)
        (x * 3).backward(m.tensor([1.0, -1.0], dtype=m.float64))
        return x.grad
    twin(f)


def test_gradients_accumulate_across_backward_calls():
    def f(m):
        x = leaf(m, [1.0, 2.0])
        (x * x).sum().backward()
        (x * 3).sum().backward()
        return x.grad
    twin(f)


def test_retain_graph_allows_second_backward():
    def f(m):
        x = leaf(m, [1.0, 2.0])
        y = (x * x).sum()
        y.backward(retain_graph=True)
        y.backward()
        return x.grad
    twin(f)


def test_second_backward_without_retain_graph_raises():
    def f(m):
        x = leaf(m, [1.0, 2.0])
        y = (x * x).sum()
        y.backward()
        y.backward()
    err = twin(f)
    assert "retain_graph=True" in str(err)


def test_graph_without_saved_tensors_can_run_twice():
    # torch frees saved tensors, not the graph: a graph that saved nothing runs again
    def f(m):
        x = leaf(m, [1.0, 2.0])
        y = (x + 1).sum()
        y.backward()
        y.backward()
        return x.grad
    twin(f)


def test_saved_tensors_are_freed_after_backward():
    x = refgrad.tensor([1.0, 2.0], requires_grad=True)
    y = x.exp()
    node = y.grad_fn
    y.sum().backward()
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        node.saved_tensors  # noqa: B018 - the access is what is tested


def test_backward_inputs_restricts_accumulation():
    def f(m):
        x, w = leaf(m, [1.0, 2.0]), leaf(m, [3.0, -4.0])
        (x * w).sum().backward(inputs=[x])
        return x.grad, w.grad
    twin(f)


def test_backward_inputs_non_leaf_gets_grad():
    def f(m):
        x = leaf(m, [1.0, 2.0])
        y = x * 2
        (y * y).sum().backward(inputs=[y])
        return x.grad, y.grad
    twin(f)


def test_create_graph_backward_gives_differentiable_grad():
    def f(m):
        x = leaf(m, [1.0, -2.0])
        (x ** 3).sum().backward(create_graph=True)
        g = x.grad
        (gg,) = m.autograd.grad((g * m.tensor([1.0, 3.0], dtype=m.float64)).sum(), x)
        return g.detach(), g.requires_grad, gg
    twin(f)


def test_autograd_backward_multiple_roots():
    def f(m):
        x = leaf(m, [1.0, 2.0])
        m.autograd.backward([(x * 2).sum(), x * x], [None, m.tensor([1.0, -1.0], dtype=m.float64)])
        return x.grad
    twin(f)


def test_grad_returns_without_touching_dot_grad():
    def f(m):
        x, w = leaf(m, [1.0, 2.0]), leaf(m, [0.5, -1.5])
        gs = m.autograd.grad((x * w).sum(), [x, w])
        return gs, x.grad, w.grad
    twin(f)


def test_grad_with_grad_outputs_and_multiple_outputs():
    def f(m):
        x = leaf(m, [1.0, 2.0, 3.0])
        a, b = x.exp(), x * x
        return m.autograd.grad([a, b], x, [m.tensor([1.0, 0.0, -1.0], dtype=m.float64),
                                           m.tensor([2.0, 2.0, 0.5], dtype=m.float64)])
    twin(f)


def test_grad_unused_input_raises_names_index():
    def f(m):
        x, z = leaf(m, [1.0, 2.0]), leaf(m, [1.0])
        m.autograd.grad((x * 3).sum(), [x, z])
    err = twin(f)
    assert "index 1" in str(err)


def test_grad_allow_unused_and_materialize():
    def f(m):
        x, z = leaf(m, [1.0, 2.0]), leaf(m, [1.0, 1.0, 1.0])
        a = m.autograd.grad((x * 3).sum(), [x, z], allow_unused=True, retain_graph=True)
        return a
    twin(f)

    def g(m):
        x, z = leaf(m, [1.0, 2.0]), leaf(m, [1.0, 1.0, 1.0])
        return m.autograd.grad((x * 3).sum(), [x, z], materialize_grads=True)
    twin(g)

    def h(m):
        x = leaf(m, [1.0, 2.0])
        m.autograd.grad(x.sum(), [x], materialize_grads=True, allow_unused=False)
    twin(h)


def test_grad_prunes_to_inputs():
    # the branch that does not lead to x must not run: its backward would raise
    class Boom(refgrad.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            return a * 1

        @staticmethod
        def backward(ctx, g):
            raise AssertionError("pruned branch ran")

    x = refgrad.tensor([1.0, 2.0], requires_grad=True)
    w = refgrad.tensor([3.0, 4.0], requires_grad=True)
    y = (x * 2).sum() + Boom.apply(w).sum()
    (gx,) = refgrad.autograd.grad(y, x)
    np.testing.assert_array_equal(gx.numpy(), [2.0, 2.0])


def test_grad_of_input_wrt_itself_and_double_backward():
    def f(m):
        x = leaf(m, [0.5, -1.5])
        (g,) = m.autograd.grad((x.sin() * x).sum(), x, create_graph=True)
        (gg,) = m.autograd.grad(g, x, m.tensor([1.0, -2.0], dtype=m.float64))
        return g.detach(), gg, m.autograd.grad(x, x, m.ones(2, dtype=m.float64))
    twin(f)


# -- custom Function -----------------------------------------------------------------------------------
def _cube(m, once=False):
    class Cube(m.autograd.Function):
        @staticmethod
        def forward(ctx, x, k):
            ctx.save_for_backward(x)
            ctx.k = k
            return x ** 3 * k

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return 3 * x * x * g * ctx.k, None

    if once:
        deco = torch.autograd.function.once_differentiable if m is torch else rg_once_differentiable
        Cube.backward = staticmethod(deco(Cube.backward.__func__ if hasattr(Cube.backward, "__func__")
                                          else Cube.backward))
    return Cube


def test_custom_function_forward_backward_and_double_backward():
    def f(m):
        x = leaf(m, [1.0, -2.0])
        y = _cube(m).apply(x, 2.0)
        (g,) = m.autograd.grad(y, x, m.tensor([1.0, 0.5], dtype=m.float64), create_graph=True)
        (gg,) = m.autograd.grad(g.sum(), x)
        return y.detach(), g.detach(), gg, y.grad_fn.name()
    twin(f)


def test_custom_function_grad_fn_structure():
    def f(m):
        x = leaf(m, [1.0])
        y = _cube(m).apply(x * 2, 1.0)
        fn = y.grad_fn
        return fn.name(), [(n.name() if n is not None else None, k) for n, k in fn.next_functions]
    twin(f)


def test_needs_input_grad():
    def f(m):
        seen = []

        class F(m.autograd.Function):
            @staticmethod
            def forward(ctx, x, y, k):
                return x * y * k

            @staticmethod
            def backward(ctx, g):
                seen.append(ctx.needs_input_grad)
                return g, None, None

        F.apply(leaf(m, [3.0]), m.tensor([2.0], dtype=m.float64), 2).sum().backward()
        return seen
    twin(f)


def test_once_differentiable_raises_on_double_backward():
    def f(m):
        x = leaf(m, [1.0, 2.0])
        y = _cube(m, once=True).apply(x, 1.0)
        (g,) = m.autograd.grad((y * y).sum(), x, create_graph=True)
        g.sum().backward()
    err = twin(f)
    assert "once_differentiable" in str(err)


def test_once_differentiable_first_order_is_right():
    def f(m):
        x = leaf(m, [1.0, 2.0])
        _cube(m, once=True).apply(x, 2.0).sum().backward()
        return x.grad
    twin(f)


def test_set_materialize_grads_false_gives_none():
    def f(m):
        seen = []

        class Two(m.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                ctx.set_materialize_grads(False)
                return x * 2, x * 3

            @staticmethod
            def backward(ctx, g1, g2):
                seen.append((g1 is None, g2 is None))
                return g1 * 2 if g1 is not None else g2 * 3

        x = leaf(m, [1.0, 2.0])
        a, _ = Two.apply(x)
        a.sum().backward()
        return seen, x.grad
    twin(f)


def test_materialized_grads_are_zeros_by_default():
    def f(m):
        seen = []

        class Two(m.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                return x * 2, x * 3

            @staticmethod
            def backward(ctx, g1, g2):
                seen.append(g2.detach().clone())
                return g1 * 2 + g2 * 3

        x = leaf(m, [1.0, 2.0])
        Two.apply(x)[0].sum().backward()
        return seen, x.grad
    twin(f)


def test_mark_dirty_inplace_custom_function():
    def f(m):
        class Double(m.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                x.mul_(2)
                ctx.mark_dirty(x)
                return x

            @staticmethod
            def backward(ctx, g):
                return g * 2

        x = leaf(m, [1.0, 2.0])
        y = x.clone()
        v0 = y._version
        z = Double.apply(y)
        (g,) = m.autograd.grad((z * m.tensor([1.0, 3.0], dtype=m.float64)).sum(), x)
        return z is y, y._version - v0, y.grad_fn.name(), g, y.detach()
    twin(f)


def test_mark_dirty_on_leaf_raises():
    def f(m):
        class Double(m.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                x.mul_(2)
                ctx.mark_dirty(x)
                return x

            @staticmethod
            def backward(ctx, g):
                return g * 2

        Double.apply(leaf(m, [1.0]))
    twin(f)


def test_mark_non_differentiable():
    def f(m):
        seen = []

        class SortIdx(m.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                v, i = x.sort()
                ctx.mark_non_differentiable(i)
                ctx.save_for_backward(i)
                return v, i

            @staticmethod
            def backward(ctx, gv, gi):
                seen.append(gi)
                (i,) = ctx.saved_tensors
                g = m.zeros_like(gv)
                g[i] = gv
                return g

        x = leaf(m, [3.0, 1.0, 2.0])
        v, i = SortIdx.apply(x)
        (v * m.tensor([1.0, 10.0, 100.0], dtype=m.float64)).sum().backward()
        return v.requires_grad, i.requires_grad, x.grad, seen
    twin(f)


def test_mark_non_differentiable_float_output():
    def f(m):
        class F(m.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                z = x * 3
                ctx.mark_non_differentiable(z)
                return x * 2, z

            @staticmethod
            def backward(ctx, gy, gz):
                return gy * 2 + gz

        x = leaf(m, [1.0, 2.0])
        y, z = F.apply(x)
        y.sum().backward()
        return y.requires_grad, z.requires_grad, z.grad_fn is None, x.grad
    twin(f)


def test_setup_context_style():
    def f(m):
        class Scale(m.autograd.Function):
            @staticmethod
            def forward(x, k):
                return x * k

            @staticmethod
            def setup_context(ctx, inputs, output):
                ctx.k = inputs[1]
                ctx.save_for_backward(inputs[0], output)

            @staticmethod
            def backward(ctx, g):
                x, out = ctx.saved_tensors
                return g * ctx.k + 0 * out, None

        x = leaf(m, [3.0, 4.0])
        y = Scale.apply(x, 5.0)
        y.sum().backward()
        return x.grad, y.grad_fn.name()
    twin(f)


def test_custom_function_returning_input_and_view():
    def f(m):
        class Same(m.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                return x

            @staticmethod
            def backward(ctx, g):
                return g * 5

        class Flat(m.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                return x.view(-1)

            @staticmethod
            def backward(ctx, g):
                return g.view(1, 2) * 7

        x = leaf(m, [3.0])
        y = Same.apply(x)
        y.sum().backward()
        w = leaf(m, [[3.0, 4.0]])
        v = Flat.apply(w)
        v.sum().backward()
        return y is x, x.grad, w.grad, v._base is w, w.is_leaf
    twin(f)


def test_custom_function_wrong_number_of_grads():
    def f(m):
        class Bad(m.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                return x * 2

            @staticmethod
            def backward(ctx, g):
                return g, g

        Bad.apply(leaf(m, [3.0])).sum().backward()
    twin(f)


def test_custom_function_saved_output_modified_in_place_raises():
    def f(m):
        class F(m.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                y = x * 2
                ctx.save_for_backward(y)
                return y

            @staticmethod
            def backward(ctx, g):
                (y,) = ctx.saved_tensors
                return g * 2

        y = F.apply(leaf(m, [1.0, 2.0]))
        y.add_(1)
        y.sum().backward()
    twin(f)


# -- hooks ------------------------------------------------------------------------------------------------
def test_leaf_hook_modifies_grad_and_handle_removes_it():
    def f(m):
        x = leaf(m, [1.0, 2.0])
        h = x.register_hook(lambda g: g * 10)
        (x * x).sum().backward()
        first = x.grad.clone()
        h.remove()
        x.grad = None
        (x * x).sum().backward()
        return first, x.grad
    twin(f)


def test_non_leaf_hook_modifies_upstream_grad():
    def f(m):
        x = leaf(m, [1.0, 2.0])
        y = x * x
        y.register_hook(lambda g: g * 10)
        y.sum().backward()
        return x.grad
    twin(f)


def test_hook_applies_to_autograd_grad_results():
    def f(m):
        x = leaf(m, [1.0, 2.0])
        x.register_hook(lambda g: g * 10)
        y = x * 2
        y.register_hook(lambda g: g + 1)
        return m.autograd.grad((y * y).sum(), [x, y])
    twin(f)


def test_hook_returning_none_observes():
    def f(m):
        seen = []
        x = leaf(m, [1.0, 2.0])
        y = x * 2
        y.register_hook(lambda g: seen.append(g.clone()))
        (y * y).sum().backward()
        return seen, x.grad
    twin(f)


def test_retain_grad_runs_after_other_hooks():
    def f(m):
        x = leaf(m, [1.0, 2.0])
        y = x * 2
        y.retain_grad()
        y.register_hook(lambda g: g * 10)
        (y * y).sum().backward()
        return y.grad, x.grad, y.retains_grad, x.retains_grad
    twin(f)


def test_retain_grad_accumulates_and_follows_inplace():
    def f(m):
        x = leaf(m, [1.0, 2.0])
        y = x.clone()
        y.retain_grad()
        z = y.exp()
        y.add_(1)
        (z + y * 3).sum().backward()
        return y.grad, x.grad
    twin(f)

    def g(m):
        x = leaf(m, [1.0, 2.0])
        y = x * 2
        y.retain_grad()
        (y * y).sum().backward(retain_graph=True)
        (y * 3).sum().backward()
        return y.grad
    twin(g)


def test_post_accumulate_grad_hook():
    def f(m):
        seen = []
        x = leaf(m, [1.0, 2.0])
        x.register_post_accumulate_grad_hook(lambda t: seen.append(t.grad.clone()))
        (x * x).sum().backward()
        (x * 3).sum().backward()
        return seen
    twin(f)

    def g(m):
        (leaf(m, [1.0]) * 2).register_post_accumulate_grad_hook(lambda t: None)
    twin(g)


def test_hook_on_tensor_without_grad_raises():
    twin(lambda m: m.tensor([1.0]).register_hook(lambda g: g))


# -- anomaly detection ------------------------------------------------------------------------------------
@pytest.mark.filterwarnings("ignore::UserWarning")
def test_detect_anomaly_names_the_nan_producing_op():
    def f(m):
        x = leaf(m, [0.0, 2.0])
        with m.autograd.detect_anomaly():
            y = (x.sqrt() * 0).sum()
            y.backward()
    err = twin(f)
    assert "SqrtBackward0" in str(err)
    assert "test_autograd.py" in str(err)  # the forward traceback points at the user's line


def test_anomaly_mode_off_gives_nan_silently():
    x = refgrad.tensor([0.0, 2.0], requires_grad=True)
    (x.sqrt() * 0).sum().backward()
    assert np.isnan(x.grad.numpy()[0])
    assert not refgrad.autograd.is_anomaly_enabled()


# -- grad modes ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["no_grad", "inference_mode", "set_grad_enabled"])
def test_grad_mode_context_managers(mode):
    def f(m):
        x = leaf(m, [1.0])
        ctx = {"no_grad": m.no_grad, "inference_mode": m.inference_mode,
               "set_grad_enabled": lambda: m.set_grad_enabled(False)}[mode]()
        with ctx:
            y = x * 2
            inner = m.is_grad_enabled()
            with m.enable_grad():
                z = x * 2
        return y.requires_grad, y.grad_fn is None, inner, z.requires_grad, m.is_grad_enabled()
    twin(f)


def test_grad_mode_decorators():
    def f(m):
        x = leaf(m, [1.0])

        @m.no_grad()
        def a(t):
            return t * 2, m.is_grad_enabled()

        @m.no_grad
        def b(t):
            return t * 2

        @m.inference_mode()
        def c(t):
            return m.is_inference_mode_enabled()

        @m.set_grad_enabled(False)
        def d(t):
            return t * 2

        def gen():
            yield m.is_grad_enabled()
        return (a(x)[0].requires_grad, a(x)[1], b(x).requires_grad, c(x), d(x).requires_grad,
                m.is_grad_enabled(), m.is_inference_mode_enabled(), next(gen()))
    twin(f)


def test_set_grad_enabled_as_function():
    def f(m):
        m.set_grad_enabled(False)
        off = m.is_grad_enabled()
        m.set_grad_enabled(True)
        return off, m.is_grad_enabled()
    twin(f)


def test_grad_mode_is_thread_local():
    def f(m):
        x = leaf(m, [1.0])
        out = []

        def worker():
            out.append(m.is_grad_enabled())
            out.append((x * 2).requires_grad)

        with m.no_grad():
            t = threading.Thread(target=worker)
            t.start()
            t.join()
            out.append(m.is_grad_enabled())
        return out
    twin(f)


def test_grad_mode_restored_after_exception():
    for m in MODS:
        with pytest.raises(ValueError):
            with m.no_grad():
                raise ValueError
        assert m.is_grad_enabled()


# -- version counters and in-place ----------------------------------------------------------------------
def test_inplace_on_leaf_requiring_grad_raises():
    twin(lambda m: leaf(m, [1.0]).add_(1))


def test_inplace_on_view_of_leaf_raises():
    twin(lambda m: leaf(m, [1.0, 2.0])[0].mul_(2))


def test_inplace_on_leaf_under_no_grad_is_allowed_and_bumps_version():
    def f(m):
        x = leaf(m, [1.0, 2.0])
        with m.no_grad():
            x.mul_(2)
        return x.detach(), x._version, x.requires_grad, x.is_leaf
    twin(f)


@pytest.mark.parametrize("case", ["saved_input", "saved_output", "saved_leaf_input"])
def test_modifying_saved_tensor_raises_at_backward(case):
    def f(m):
        x = leaf(m, [1.0, 2.0])
        if case == "saved_input":
            y = x.clone()
            z = y.sin()
            y.add_(1)
            z.sum().backward()
        elif case == "saved_output":
            y = x.tanh()
            z = y.sum()
            y.mul_(2)
            z.backward()
        else:
            y = x.sin()
            x.detach().zero_()
            y.sum().backward()
    err = twin(f)
    assert "is at version 1; expected version 0" in str(err)


def test_inplace_on_non_leaf_tracks_gradient():
    def f(m):
        x = leaf(m, [1.0, 2.0])
        y = x.exp()
        y.add_(1)
        y.mul_(m.tensor([2.0, 3.0], dtype=m.float64))
        y.sum().backward()
        return x.grad, y._version, y.grad_fn.name()
    twin(f)


def test_inplace_through_view_rebases_base():
    def f(m):
        a = leaf(m, [[1.0, 2.0], [3.0, 4.0]])
        x = a.clone()
        v = x[0]
        v.mul_(2)
        (x * m.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=m.float64)).sum().backward()
        return a.grad, x.grad_fn.name(), x._version, v._version
    twin(f)


def test_view_created_before_inplace_on_base_sees_new_history():
    def f(m):
        a = leaf(m, [[1.0, 2.0], [3.0, 4.0]])
        x = a * 1
        v = x[:, 0]
        x.mul_(m.tensor([[2.0, 3.0], [5.0, 7.0]], dtype=m.float64))
        (v * m.tensor([1.0, 10.0], dtype=m.float64)).sum().backward()
        return a.grad
    twin(f)


def test_sibling_view_after_inplace_through_other_view():
    def f(m):
        a = leaf(m, [[1.0, 2.0], [3.0, 4.0]])
        x = a.clone()
        row, col = x[0], x[:, 1]
        row.exp_()
        (col * m.tensor([5.0, 7.0], dtype=m.float64)).sum().backward()
        return a.grad
    twin(f)


def test_inplace_with_grad_value_into_base_without_grad():
    def f(m):
        a = m.tensor([1.0, 2.0], dtype=m.float64)
        early = a[:]  # a view made before the base gains history
        b = leaf(m, [3.0])
        a[0:1].mul_(b)
        (a * m.tensor([5.0, 7.0], dtype=m.float64)).sum().backward()
        (early * m.tensor([2.0, 1.0], dtype=m.float64)).sum().backward()
        return b.grad, a.requires_grad, a.is_leaf, early.requires_grad
    twin(f)


def test_fill_and_zero_on_non_leaf_keep_it_in_the_graph():
    def f(m):
        x = leaf(m, [1.0, 2.0])
        y = x * 2
        y.zero_()
        z = x * 3
        z[1:].fill_(5.0)
        (y + z).sum().backward()
        return x.grad, y.requires_grad, y.is_leaf
    twin(f)


def test_data_writes_are_not_tracked():
    def f(m):
        x = leaf(m, [1.0, 2.0])
        y = x.sin()
        d = x.data
        d.add_(1)
        y.sum().backward()
        return x.grad, x._version, d.requires_grad, d.is_leaf, x.detach()
    twin(f)


def test_detach_shares_version_counter():
    def f(m):
        x = leaf(m, [1.0, 2.0])
        y = x * 2
        d = y.detach()
        d.add_(1)
        return y._version, d._version, d.requires_grad, y.detach()
    twin(f)


# -- graph structure ------------------------------------------------------------------------------------
def _structure(fn):
    """(name, [(child name or None, input_nr)]) of a node, recursively to depth 2."""
    if fn is None:
        return None
    return (fn.name(), [(n.name() if n is not None else None, k) for n, k in fn.next_functions])


@pytest.mark.parametrize("expr", [
    pytest.param(lambda m, x: x * 2 + 1, id="add-mul"),
    pytest.param(lambda m, x: (x * x).sum(), id="sum"),
    pytest.param(lambda m, x: x.sum(0), id="sum-dim"),
    pytest.param(lambda m, x: x.exp() - x, id="sub-exp"),
    pytest.param(lambda m, x: x.mean(), id="mean"),
    pytest.param(lambda m, x: x.mean(0), id="mean-dim"),
    pytest.param(lambda m, x: x / 3, id="div"),
    pytest.param(lambda m, x: x.double(), id="to-double"),
    pytest.param(lambda m, x: x.t(), id="t"),
    pytest.param(lambda m, x: x.reshape(-1), id="reshape"),
    pytest.param(lambda m, x: x[0], id="select"),
    pytest.param(lambda m, x: -x, id="neg"),
    pytest.param(lambda m, x: x.clone(), id="clone"),
    pytest.param(lambda m, x: x.relu(), id="relu"),
    pytest.param(lambda m, x: x.pow(2), id="pow"),
    pytest.param(lambda m, x: x @ x, id="matmul"),
])
def test_grad_fn_names_and_next_functions(expr):
    def f(m):
        x = m.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
        y = expr(m, x)
        return _structure(y.grad_fn), _structure(y.grad_fn.next_functions[0][0])
    twin(f)


def test_leaf_structure():
    def f(m):
        x = leaf(m, [1.0])
        acc = (x * 2).grad_fn.next_functions[0][0]
        return x.grad_fn, x.is_leaf, acc.name(), acc.variable is x, acc.next_functions, (x * 2).is_leaf
    twin(f)


def test_node_metadata_and_hooks():
    def f(m):
        x = leaf(m, [1.0, 2.0])
        y = x * 3
        y.grad_fn.metadata["tag"] = 1
        seen = []
        y.grad_fn.register_prehook(lambda go: seen.append("pre"))
        y.grad_fn.register_hook(lambda gi, go: seen.append("post"))
        y.sum().backward()
        return y.grad_fn.metadata, seen, x.grad
    twin(f)


# -- scale and memory ---------------------------------------------------------------------------------------
def test_hundred_thousand_op_chain():
    x = refgrad.tensor([1.0], requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y * 1.0 + 0.0
    y.backward(refgrad.tensor([2.0]))
    np.testing.assert_array_equal(x.grad.numpy(), [2.0])


def test_graph_is_freed_without_the_cycle_collector():
    gc.collect()
    gc.disable()
    try:
        x = refgrad.tensor([1.0, 2.0], requires_grad=True)
        a = x.exp()
        b = (a * x).sin()
        v = b[0]
        c = (v * a).sum()
        refs = [weakref.ref(t) for t in (a, b, v, c)] + [weakref.ref(c.grad_fn), weakref.ref(a.grad_fn)]
        del a, b, v, c
        assert all(r() is None for r in refs), "graph kept alive by a reference cycle"
        # after backward too, and with retain_grad / hooks in place
        y = x.exp()
        y.retain_grad()
        y.register_hook(lambda g: g)
        z = (y * y).sum()
        z.backward()
        refs = [weakref.ref(y), weakref.ref(z), weakref.ref(z.grad_fn)]
        del y, z
        assert all(r() is None for r in refs)
        # the leaf dies with its accumulator
        acc = weakref.ref((x * 2).grad_fn.next_functions[0][0])
        rx = weakref.ref(x)
        del x
        assert rx() is None and acc() is None
    finally:
        gc.enable()


def test_saved_tensors_release_memory_after_backward():
    gc.collect()
    gc.disable()
    try:
        x = refgrad.tensor(np.ones(1000), requires_grad=True)
        h = x.exp()  # an intermediate saved by the product below
        y = (h * x).sum()
        ref = weakref.ref(h)
        del h
        assert ref() is not None  # the graph holds it for backward
        y.backward()
        assert ref() is None  # freed with the saved tensors
    finally:
        gc.enable()


def test_custom_function_saved_output_makes_no_cycle():
    class Exp(refgrad.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            y = x.exp()
            ctx.save_for_backward(y)
            return y

        @staticmethod
        def backward(ctx, g):
            (y,) = ctx.saved_tensors
            return g * y

    gc.collect()
    gc.disable()
    try:
        x = refgrad.tensor([1.0], requires_grad=True)
        y = Exp.apply(x)
        refs = [weakref.ref(y), weakref.ref(y.grad_fn)]
        del y
        assert all(r() is None for r in refs)
    finally:
        gc.enable()
