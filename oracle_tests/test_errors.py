"""Bad input raises what torch raises (same exception type) with a message at least as clear:
autograd misuse, gradient shape/dtype/device mismatches, in-place misuse, conversions."""
import numpy as np
import pytest
import torch

import refgrad

from .test_autograd import leaf, twin


def test_grad_of_integer_tensor():
    err = twin(lambda m: m.tensor([1, 2]).requires_grad_())
    assert "floating point" in str(err)
    twin(lambda m: m.ones(2, dtype=m.int32, requires_grad=True))
    twin(lambda m: m.tensor([True], requires_grad=True))


def test_backward_non_scalar_without_gradient():
    err = twin(lambda m: (leaf(m, [1.0, 2.0]) * 2).backward())
    assert "scalar outputs" in str(err)


def test_backward_gradient_of_wrong_shape():
    err = twin(lambda m: (leaf(m, [1.0, 2.0]) * 2).backward(m.ones(3, dtype=m.float64)))
    assert "Mismatch in shape" in str(err) and "[3]" in str(err) and "[2]" in str(err)
    twin(lambda m: (leaf(m, 2.0) * 2).backward(m.ones(1, dtype=m.float64)))
    twin(lambda m: m.autograd.grad(leaf(m, [1.0]) * 2, leaf(m, [1.0]), m.ones(2, 2)))


def test_gradient_of_wrong_type():
    twin(lambda m: (leaf(m, [1.0]) * 2).backward([1.0]), message=False)


def test_backward_on_tensor_without_grad():
    err = twin(lambda m: m.ones(2).sum().backward())
    assert "does not require grad" in str(err)
    twin(lambda m: m.autograd.backward([(leaf(m, [1.0]) * 2).sum(), m.ones(2).sum()]))
    twin(lambda m: m.ones(2, dtype=m.int64).sum().backward())


def test_grad_wrt_tensor_not_requiring_grad():
    twin(lambda m: m.autograd.grad((leaf(m, [1.0]) * 2).sum(), m.ones(1)))


def test_grad_wrt_non_tensor():
    twin(lambda m: m.autograd.grad((leaf(m, [1.0]) * 2).sum(), [1.0]))


def test_empty_inputs():
    twin(lambda m: m.autograd.grad((leaf(m, [1.0]) * 2).sum(), []))
    twin(lambda m: (leaf(m, [1.0]) * 2).sum().backward(inputs=[]))


def test_grad_outputs_count_mismatch():
    for m in (torch, refgrad):
        x = leaf(m, [1.0])
        with pytest.raises(RuntimeError):
            m.autograd.grad([x * 2, x * 3], x, [m.ones(1, dtype=m.float64)])


def test_materialize_with_allow_unused_false():
    twin(lambda m: m.autograd.grad(leaf(m, [1.0]).sum(), leaf(m, [1.0]), materialize_grads=True,
                                   allow_unused=False))


def test_requires_grad_false_on_non_leaf():
    err = twin(lambda m: (leaf(m, [1.0]) * 2).requires_grad_(False))
    assert "detach" in str(err)


def test_retain_grad_on_tensor_without_grad():
    twin(lambda m: m.ones(2).retain_grad())


def test_numpy_of_tensor_requiring_grad():
    err = twin(lambda m: leaf(m, [1.0]).numpy())
    assert "detach" in str(err)


def test_item_of_many_elements():
    twin(lambda m: m.ones(3).item())


def test_inplace_errors():
    twin(lambda m: leaf(m, [1.0]).mul_(2))
    twin(lambda m: leaf(m, [[1.0, 2.0]])[0].zero_())
    twin(lambda m: m.ones(2, dtype=m.int64).add_(1.5))  # result type can't be cast
    twin(lambda m: m.ones(2).add_(m.ones(3, 2)))  # output shape doesn't match the broadcast shape


def test_modified_saved_tensor_message_names_version():
    def f(m):
        x = leaf(m, [1.0, 2.0])
        y = x.clone()
        z = y.sin()
        y.add_(1)
        z.sum().backward()
    err = twin(f)
    assert "modified by an inplace operation" in str(err) and "SinBackward0" in str(err)


def test_custom_function_bad_gradients():
    def wrong_shape(m):
        class F(m.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                return x * 2

            @staticmethod
            def backward(ctx, g):
                return m.ones(3, 3, dtype=g.dtype)

        F.apply(leaf(m, [1.0, 2.0])).sum().backward()
    twin(wrong_shape, message=False)

    def grad_for_non_tensor(m):
        class F(m.autograd.Function):
            @staticmethod
            def forward(ctx, x, k):
                return x * k

            @staticmethod
            def backward(ctx, g):
                return g, g

        F.apply(leaf(m, [1.0]), 2.0).sum().backward()
    twin(grad_for_non_tensor)


def test_save_for_backward_non_tensor():
    def f(m):
        class F(m.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                ctx.save_for_backward(x, 3)
                return x * 2

            @staticmethod
            def backward(ctx, g):
                return g

        F.apply(leaf(m, [1.0]))
    twin(f, message=False)


@pytest.mark.filterwarnings("ignore:.*should not be instantiated:DeprecationWarning")
def test_legacy_function_instantiation():
    def f(m):
        class F(m.autograd.Function):
            def forward(self, x):
                return x

        F()(m.ones(1))
    twin(f, message=False)


def test_grad_setter_errors():
    for value in ("size", "dtype", "type"):
        def f(m, value=value):
            x = m.ones(2, requires_grad=True)
            x.grad = {"size": m.ones(3), "dtype": m.ones(2, dtype=m.float64), "type": np.ones(2)}[value]
        twin(f, message=False)


def test_conversion_errors():
    twin(lambda m: m.ones(2).to("cpux"), message=False)
    twin(lambda m: m.tensor([1, 2]).mean())


def test_device_mismatch(device):
    if device == "cpu":
        pytest.skip("needs a second device")
    twin(lambda m: m.ones(2, device="cuda") + m.ones(2), message=False)
    err = twin(lambda m: (leaf(m, [1.0]).to("cuda") * 2).backward(m.ones(1)), message=False)
    assert "device" in str(err)


@pytest.mark.parametrize("name, call", [
    ("cat", lambda L, x, out: L.cat([x, x], out=out)),
    ("tril", lambda L, x, out: L.tril(x, out=out)),
    ("gather", lambda L, x, out: L.gather(x, 1, L.zeros(2, 1, dtype=L.int64), out=out)),
    ("index_select", lambda L, x, out: L.index_select(x, 0, L.zeros(1, dtype=L.int64), out=out)),
    ("exp", lambda L, x, out: L.exp(x, out=out)),
])
def test_out_refuses_inputs_that_require_grad(name, call):
    """Every op's out= goes through one contract: torch's RuntimeError naming the op when an input requires grad
    (the result would silently lose its history), and out= works once nothing requires grad."""
    msgs = []
    for lib in (refgrad, torch):
        x = lib.ones(2, 2, requires_grad=True)
        with pytest.raises(RuntimeError) as e:
            call(lib, x, lib.empty(0))
        msgs.append(str(e.value))
        out = lib.empty(0)
        assert call(lib, x.detach(), out) is out and out.numel() > 0
    assert msgs[0] == msgs[1] and msgs[0].startswith(f"{name}(): functions with out=")
