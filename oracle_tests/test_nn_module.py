"""nn.Module, Parameter, containers, Linear-family layers and nn.utils against torch: the same model built
in both engines, state_dicts exchanged both ways, outputs and parameter gradients compared, and
torch's key order, error messages, hook order and reprs reproduced."""
import copy
from collections import OrderedDict

import numpy as np
import pytest
import torch

import refgrad
import refgrad.nn as nn

from .helpers import assert_same, rg, th, to_np


def _sd_numpy(sd):
    return OrderedDict((k, v.detach().cpu().numpy()) for k, v in sd.items())


def _net(lib):
    """A nested model with persistent and non-persistent buffers and a tied weight, in either engine."""
    L = lib.nn

    class Block(L.Module):
        def __init__(self):
            super().__init__()
            self.fc = L.Linear(4, 4)
            self.register_buffer("running", lib.zeros(4))
            self.register_buffer("scratch", lib.ones(2), persistent=False)
            self.act = L.Tanh()

        def forward(self, x):
            return self.act(self.fc(x)) + self.running

    class Net(L.Module):
        def __init__(self):
            super().__init__()
            self.scale = L.Parameter(lib.ones(4))
            self.blocks = L.ModuleList([Block(), Block()])
            self.head = L.Sequential(OrderedDict([("proj", L.Linear(4, 3)), ("act", L.GELU()),
                                                  ("out", L.Linear(3, 4, bias=False))]))
            self.tied = self.head.proj  # the same Linear under two names
            self.emb = L.Linear(4, 4, bias=False)
            self.emb.weight = self.blocks[1].fc.weight  # a parameter tied across modules
            self.register_buffer("steps", lib.tensor(0))

        def forward(self, x):
            x = x * self.scale
            for b in self.blocks:
                x = b(x)
            return self.head(x) + self.tied(x).sum(-1, keepdim=True) + self.emb(x)

    return Net()


def _twins(device="cpu"):
    t = _net(torch).to(device)
    r = _net(refgrad)
    r.load_state_dict(_sd_numpy(t.state_dict()))
    return r.to(device), t


# -- Parameter --------------------------------------------------------------------------------------
def test_parameter_is_a_tensor_sharing_storage_and_version():
    x = refgrad.tensor([1.0, -2.0, 3.0])
    p = nn.Parameter(x)
    assert isinstance(p, refgrad.Tensor) and isinstance(p, nn.Parameter)
    assert p.requires_grad and p.is_leaf
    with refgrad.no_grad():
        x.add_(1.0)
    assert p._version == x._version == 1
    np.testing.assert_array_equal(to_np(p), [2.0, -1.0, 4.0])
    y = p * 2  # ops on a Parameter give plain Tensors, connected to it
    assert type(y) is refgrad.Tensor and y.requires_grad
    y.backward(refgrad.tensor([1.0, 2.0, 3.0]))
    np.testing.assert_array_equal(to_np(p.grad), [2.0, 4.0, 6.0])
    assert type(p.detach()) is refgrad.Tensor and type(p.data) is refgrad.Tensor
    assert not nn.Parameter(refgrad.ones(2), requires_grad=False).requires_grad
    with refgrad.no_grad():
        assert nn.Parameter(refgrad.ones(2)).requires_grad  # torch: no_grad does not affect Parameter creation


def test_parameter_repr_deepcopy_and_int_error():
    a = np.array([[0.5, -1.25], [3.0, 0.125]], dtype=np.float32)
    assert repr(nn.Parameter(rg(a))) == repr(torch.nn.Parameter(th(a)))
    assert repr(nn.Parameter(rg(a), requires_grad=False)) == repr(torch.nn.Parameter(th(a), requires_grad=False))
    p = nn.Parameter(rg(a))
    q = copy.deepcopy(p)
    assert type(q) is nn.Parameter and q.requires_grad and q.data_ptr() != p.data_ptr()
    np.testing.assert_array_equal(to_np(q), a)
    with pytest.raises(RuntimeError, match="floating point"):
        nn.Parameter(refgrad.arange(3))
    assert nn.Parameter().shape == (0,)


def test_buffer_marks_a_tensor_for_registration():
    m = nn.Module()
    m.b = nn.Buffer(refgrad.ones(2), persistent=False)
    m.c = nn.Buffer(refgrad.zeros(1))
    assert list(m._buffers) == ["b", "c"] and list(m.state_dict()) == ["c"]
    assert type(m.b) is refgrad.Tensor and isinstance(m.b, nn.Buffer)
    assert not isinstance(refgrad.ones(1), nn.Buffer)


# -- registration ---------------------------------------------------------------------------------
def _registration_errors(lib):
    L = lib.nn
    m = L.Linear(2, 2)
    out = []
    for fn in (lambda: setattr(m, "weight", lib.ones(2, 2)),
               lambda: m.register_parameter("a.b", None),
               lambda: m.register_parameter("", None),
               lambda: m.register_parameter("training", None),
               lambda: m.register_parameter("w2", lib.ones(2)),
               lambda: m.register_buffer("x.y", None),
               lambda: m.register_buffer("buf", 3),
               lambda: m.add_module("a.b", L.ReLU()),
               lambda: m.add_module("r", 5),
               lambda: m.register_parameter("w3", L.Parameter(lib.ones(2)) * 2),
               lambda: m.get_submodule("nope"),
               lambda: m.get_parameter("bias.x"),
               lambda: L.Module(3),
               lambda: L.Module().forward(1)):
        with pytest.raises(Exception) as e:  # noqa: PT011 - the type is compared with torch's below
            fn()
        out.append((type(e.value), str(e.value)))
    return out


def test_registration_errors_match_torch():
    for (to, mo), (tt, mt) in zip(_registration_errors(refgrad), _registration_errors(torch)):
        assert to is tt, (mo, mt)
        assert mo == mt


def test_setattr_moves_names_between_kinds_like_torch():
    for lib in (refgrad, torch):
        m = lib.nn.Module()
        m.a = lib.nn.Parameter(lib.ones(1))
        m.register_buffer("b", lib.ones(1))
        m.c = lib.nn.ReLU()
        m.b = lib.nn.Tanh()  # a buffer name reassigned to a module
        m.c = lib.nn.Parameter(lib.ones(2))  # a module name reassigned to a parameter
        m.register_buffer("e", lib.ones(1))
        m.e = lib.zeros(2)  # assigning a Tensor to a buffer name keeps it a buffer
        m.d = lib.ones(1)  # a plain Tensor attribute is not registered
        m.a = None
        with pytest.raises(TypeError, match="cannot assign '.*Tanh' as parameter 'c'"):
            m.c = lib.nn.Tanh()
        assert list(m._parameters) == ["a", "c"] and list(m._buffers) == ["e"] and list(m._modules) == ["b"]
        assert m.a is None and tuple(m.e.shape) == (2,) and "d" in m.__dict__
        del m.b
        assert "e" in dir(m) and "c" in dir(m) and "b" not in dir(m)


def test_traversal_order_and_dedup_match_torch():
    r, t = _twins()
    assert [n for n, _ in r.named_parameters()] == [n for n, _ in t.named_parameters()]
    assert [n for n, _ in r.named_parameters(remove_duplicate=False)] == [
        n for n, _ in t.named_parameters(remove_duplicate=False)]
    assert [n for n, _ in r.named_buffers(prefix="m")] == [n for n, _ in t.named_buffers(prefix="m")]
    assert [n for n, _ in r.named_modules()] == [n for n, _ in t.named_modules()]
    assert [n for n, _ in r.named_modules(remove_duplicate=False)] == [
        n for n, _ in t.named_modules(remove_duplicate=False)]
    assert [n for n, _ in r.named_children()] == [n for n, _ in t.named_children()]
    assert [n for n, _ in r.named_parameters(recurse=False)] == ["scale"]
    assert len(list(r.parameters())) == len(list(t.parameters()))
    assert len(list(r.modules())) == len(list(t.modules()))
    assert len(list(r.children())) == len(list(t.children())) == 4
    assert r.get_submodule("blocks.1.fc") is r.blocks[1].fc
    assert r.get_parameter("head.proj.bias") is r.tied.bias
    assert r.get_buffer("blocks.0.scratch") is r.blocks[0].scratch
    with pytest.raises(AttributeError, match="`fc` is not an nn.Parameter"):
        r.get_parameter("blocks.0.fc")
    with pytest.raises(AttributeError, match="`scale` is not a buffer"):
        r.get_buffer("scale")


# -- state_dict -------------------------------------------------------------------------------------
def test_state_dict_keys_order_and_values_match_torch(device):
    r, t = _twins(device)
    rs, ts = r.state_dict(), t.state_dict()
    assert isinstance(rs, OrderedDict) and list(rs) == list(ts)
    assert list(rs._metadata) == list(ts._metadata)
    for k in ts:
        assert_same(rs[k], ts[k].detach(), what=k)
        assert not rs[k].requires_grad
    assert rs["head.proj.weight"].data_ptr() == rs["tied.weight"].data_ptr()  # tied: one tensor, two names
    kv = r.state_dict(keep_vars=True)
    assert kv["scale"] is r.scale and kv["scale"].requires_grad


def test_twin_models_forward_and_parameter_grads_match_torch(device, rng):
    r, t = _twins(device)
    x = rng.standard_normal((5, 4)).astype(np.float32)
    cot = rng.standard_normal((5, 4)).astype(np.float32)
    xr, xt = rg(x, device, True), th(x, device, True)
    yr, yt = r(xr), t(xt)
    assert_same(yr, yt, what="forward")
    yr.backward(rg(cot, device))
    yt.backward(th(cot, device))
    assert_same(xr.grad, xt.grad, 1e-5, 1e-5, what="input grad")
    for (n, pr), (_, pt) in zip(r.named_parameters(), t.named_parameters()):
        assert_same(pr.grad, pt.grad, 1e-5, 1e-5, what=n)


def test_refgrad_state_dict_loads_into_torch(rng):
    r = _net(refgrad)
    t = _net(torch)
    with refgrad.no_grad():
        r.blocks[1].running.add_(0.5)
        r.steps.add_(3)
    res = t.load_state_dict({k: torch.tensor(to_np(v)) for k, v in r.state_dict().items()})
    assert str(res) == "<All keys matched successfully>"
    assert t.steps.item() == 3 and t.steps.dtype == torch.int64
    x = rng.standard_normal((2, 4)).astype(np.float32)
    assert_same(r(rg(x)), t(th(x)), what="forward after refgrad -> torch")


def test_load_state_dict_copies_in_place_and_accepts_arrays():
    r = _net(refgrad)
    w = r.head.proj.weight
    sd = {k: to_np(v) + 1 for k, v in r.state_dict().items()}
    v0 = w._version
    r.load_state_dict(sd)
    # copied in place (not replaced), once per key: the tied weight is written under both of its names
    assert r.head.proj.weight is w and w._version == v0 + 2 and w.requires_grad
    np.testing.assert_array_equal(to_np(w), sd["head.proj.weight"])
    assert r.tied.weight is w
    m = nn.Linear(2, 2).double()
    m.load_state_dict({"weight": np.ones((2, 2), np.float32), "bias": refgrad.zeros(2)})  # cast like copy_
    assert m.weight.dtype == refgrad.float64 and float(m.weight.sum()) == 4.0


def _load_errors(lib):
    m = lib.nn.Sequential(lib.nn.Linear(3, 2), lib.nn.ReLU(), lib.nn.Linear(2, 1))
    sd = {k: v.detach().clone() for k, v in m.state_dict().items()}
    del sd["2.bias"]
    sd["0.weight"] = lib.zeros(4, 3)
    sd["extra"] = lib.zeros(1)
    sd["1.ghost"] = lib.zeros(1)
    with pytest.raises(RuntimeError) as e:
        m.load_state_dict(sd)
    res = m.load_state_dict({k: v for k, v in sd.items() if k != "0.weight"}, strict=False)
    return str(e.value), res.missing_keys, res.unexpected_keys, repr(res)


def test_load_state_dict_errors_match_torch():
    ours, theirs = _load_errors(refgrad), _load_errors(torch)
    assert ours == theirs
    assert ours[0].startswith("Error(s) in loading state_dict for Sequential:\n\tMissing key(s) in state_dict: "
                              '"2.bias". \n\tUnexpected key(s) in state_dict: "extra", "1.ghost". \n\tsize mismatch')
    with pytest.raises(TypeError, match="Expected state_dict to be dict-like"):
        nn.Linear(1, 1).load_state_dict([1])


def test_load_state_dict_assign_and_scalar_compat():
    m = nn.Linear(2, 1)
    new_w = refgrad.ones(1, 2)
    m.load_state_dict({"weight": new_w, "bias": refgrad.zeros(1)}, assign=True)
    assert isinstance(m.weight, nn.Parameter) and m.weight.requires_grad
    assert m.weight.data_ptr() == new_w.data_ptr()
    s = nn.Module()
    s.register_buffer("x", refgrad.tensor(0.0))
    s.load_state_dict({"x": refgrad.tensor([2.5])})  # torch's 0.3 compatibility: [1] into a 0-d tensor
    assert s.x.item() == 2.5


# -- modes, grads, conversion -------------------------------------------------------------------------
def test_train_eval_requires_grad_zero_grad():
    r = _net(refgrad)
    assert r.training and all(m.training for m in r.modules())
    r.eval()
    assert not any(m.training for m in r.modules())
    with pytest.raises(ValueError, match="training mode is expected to be boolean"):
        r.train("yes")
    r.train()
    r(refgrad.randn(2, 4)).sum().backward()
    assert all(p.grad is not None for p in r.parameters())
    r.zero_grad(set_to_none=False)
    assert all(float(p.grad.abs().sum()) == 0.0 and p.grad is not None for p in r.parameters())
    r.zero_grad()
    assert all(p.grad is None for p in r.parameters())
    r.requires_grad_(False)
    assert not any(p.requires_grad for p in r.parameters())
    seen = []
    assert r.apply(lambda m: seen.append(type(m).__name__)) is r
    assert seen[-1] == "Net" and seen[0] == "Linear"  # children first, as torch


def test_to_keeps_parameter_identity_and_casts_floats_only():
    r = _net(refgrad)
    p = r.scale
    r(refgrad.randn(2, 4)).sum().backward()
    assert r.double() is r
    assert r.scale is p and p.dtype == refgrad.float64 and p.grad.dtype == refgrad.float64
    assert r.steps.dtype == refgrad.int64  # integral buffers keep their dtype
    assert r.blocks[0].running.dtype == refgrad.float64
    r.to(refgrad.float32)
    assert p.dtype == refgrad.float32 and r.half().scale.dtype == refgrad.float16
    r.float().to("cpu")
    assert r.to(dtype=refgrad.float64).scale.dtype == refgrad.float64
    with pytest.raises(TypeError, match="only accepts floating point"):
        r.to(refgrad.int32)
    y = r(refgrad.randn(2, 4, dtype=refgrad.float64))
    assert y.dtype == refgrad.float64


# -- hooks ----------------------------------------------------------------------------------------------
def _hook_trace(lib):
    L = lib.nn
    log = []
    m = L.Linear(3, 2)
    h1 = m.register_forward_pre_hook(lambda mod, args: log.append("pre1"))
    m.register_forward_pre_hook(lambda mod, args: (args[0] * 2,))
    m.register_forward_pre_hook(lambda mod, args: log.append("pre0"), prepend=True)
    m.register_forward_pre_hook(lambda mod, args, kw: log.append(("prekw", sorted(kw))) or None, with_kwargs=True)
    m.register_forward_hook(lambda mod, args, out: log.append(("fwd", tuple(out.shape))))
    m.register_forward_hook(lambda mod, args, out: out + 1)
    m.register_forward_hook(lambda mod, args, kw, out: log.append("fwdkw"), with_kwargs=True, prepend=True)
    with torch.no_grad():
        m.weight.copy_(torch.ones(2, 3)) if lib is torch else m.weight.data.fill_(1.0)
        m.bias.zero_() if lib is torch else m.bias.data.fill_(0.0)
    y = m(lib.ones(1, 3))
    h1.remove()
    m(lib.ones(1, 3))
    return log, y.tolist()


def test_forward_hooks_order_and_effects_match_torch():
    assert _hook_trace(refgrad) == _hook_trace(torch)
    log, y = _hook_trace(refgrad)
    assert y == [[7.0, 7.0]]  # input doubled by the pre-hook, output + 1 by the forward hook


def _always_call(lib):
    class Boom(lib.nn.Module):
        def forward(self, x):
            raise ValueError("boom")
    m = Boom()
    log = []
    m.register_forward_hook(lambda mod, args, out: log.append("always"), always_call=True)
    m.register_forward_hook(lambda mod, args, out: log.append("normal"))
    with pytest.raises(ValueError, match="boom"):
        m(lib.ones(1))
    return log


def test_always_call_forward_hook_runs_when_forward_raises():
    assert _always_call(refgrad) == _always_call(torch) == ["always"]


def _backward_hooks(lib, x, w, cot):
    class Mul(lib.nn.Module):
        def forward(self, a, k, b):
            return a * b * k, a - b
    m = Mul()
    log = []

    def pre(mod, gout):
        log.append(("pre", [None if g is None else g.tolist() for g in gout]))
        return (gout[0] * 2, gout[1])

    def full(mod, gin, gout):
        log.append(("full", [None if g is None else g.tolist() for g in gin],
                    [None if g is None else g.tolist() for g in gout]))
        return (gin[0] + 1, None, gin[2])

    m.register_full_backward_pre_hook(pre)
    m.register_full_backward_hook(full)
    a = lib.tensor(x, requires_grad=True)
    b = lib.tensor(w, requires_grad=True)
    y1, y2 = m(a, 3.0, b)
    (y1 * lib.tensor(cot)).sum().add((y2 * 2).sum()).backward()
    return log, a.grad.tolist(), b.grad.tolist(), y1.grad_fn.name()


def test_full_backward_hooks_match_torch(rng):
    x, w, c = (rng.standard_normal(3).round(2) for _ in range(3))
    ours, theirs = _backward_hooks(refgrad, x, w, c), _backward_hooks(torch, x, w, c)
    assert ours[3] == theirs[3] == "BackwardHookFunctionBackward"
    assert ours[0][0][0] == "pre" and ours[0][1][0] == "full"
    np.testing.assert_allclose(np.array(ours[0][0][1]), np.array(theirs[0][0][1]))
    np.testing.assert_allclose(np.array(ours[0][1][1][0]), np.array(theirs[0][1][1][0]))
    assert ours[0][1][1][1] is None and theirs[0][1][1][1] is None  # the non-Tensor argument
    np.testing.assert_allclose(ours[1], theirs[1], rtol=1e-12)
    np.testing.assert_allclose(ours[2], theirs[2], rtol=1e-12)


def test_full_backward_hook_fires_on_outputs_when_no_input_requires_grad():
    m = nn.Linear(2, 2)
    seen = []
    m.register_full_backward_hook(lambda mod, gin, gout: seen.append((gin, gout[0].shape)))
    with pytest.warns(UserWarning, match="Full backward hook is firing"):
        m(refgrad.ones(1, 2)).sum().backward()
    assert seen == [((None,), (1, 2))]


# -- containers -----------------------------------------------------------------------------------------
def _sequential_ops(lib):
    L = lib.nn
    s = L.Sequential(L.Linear(2, 3), L.ReLU(), L.Linear(3, 3), L.Tanh())
    out = [len(s), type(s[1]).__name__, type(s[-1]).__name__, repr(s[1:3]), type(s[1:3]).__name__]
    del s[1]
    out.append(list(s._modules))
    s.append(L.Sigmoid()).insert(1, L.GELU()).extend([L.Identity()])
    out.append([type(m).__name__ for m in s])
    out.append(type(s.pop(0)).__name__)
    out.append(list(s._modules))
    s[0] = L.ReLU6()
    out.append(repr(s))
    out.append(repr(s + L.Sequential(L.ReLU())))
    with pytest.raises(IndexError) as e:
        s[10]
    out.append(str(e.value))
    return out


def test_sequential_operations_match_torch():
    assert _sequential_ops(refgrad) == _sequential_ops(torch)


def _containers(lib):
    L = lib.nn
    ml = L.ModuleList([L.Linear(2, 2) for _ in range(3)] + [L.ReLU(), L.ReLU(), L.Tanh()])
    md = L.ModuleDict({"b": L.ReLU(), "a": L.Linear(1, 2)})
    md["c"] = L.Tanh()
    del ml[0]
    pl = L.ParameterList([L.Parameter(lib.ones(2, 3)), lib.zeros(4)])
    pd = L.ParameterDict({"z": lib.ones(1), "y": L.Parameter(lib.zeros(2, 2))})
    pd["x"] = lib.ones(3)
    outer = L.Module()
    outer.ml, outer.md, outer.pl, outer.pd = ml, md, pl, pd
    return [repr(ml), repr(md), repr(pl), repr(pd), list(md.keys()), list(pd.keys()), len(ml), len(pl),
            list(outer.state_dict()), repr(ml[1:3]), isinstance(pl[1], L.Parameter), "b" in md]


def test_containers_match_torch():
    ours, theirs = _containers(refgrad), _containers(torch)
    for o, t in zip(ours, theirs):
        assert o == t, f"\n{o}\n!=\n{t}"


# -- layers ---------------------------------------------------------------------------------------------
def _copy_params(r, t):
    r.load_state_dict(_sd_numpy(t.state_dict()))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_linear_and_bilinear_match_torch(device, dtype, rng):
    tdt = torch.float32 if dtype == np.float32 else torch.float64
    for make, shapes in [(lambda L: L.Linear(4, 3), [(5, 4)]), (lambda L: L.Linear(4, 3, bias=False), [(2, 6, 4)]),
                         (lambda L: L.Linear(4, 2), [(4,)]), (lambda L: L.Bilinear(3, 2, 4), [(5, 3), (5, 2)])]:
        t = make(torch.nn).to(device, tdt)
        r = make(nn)
        _copy_params(r, t)
        r.to(device, refgrad.float32 if dtype == np.float32 else refgrad.float64)
        xs = [rng.standard_normal(s).astype(dtype) for s in shapes]
        xr, xt = [rg(x, device, True) for x in xs], [th(x, device, True) for x in xs]
        yr, yt = r(*xr), t(*xt)
        assert_same(yr, yt, what=repr(t))
        cot = rng.standard_normal(tuple(yt.shape)).astype(dtype)
        gr = refgrad.autograd.grad(yr, xr + list(r.parameters()), rg(cot, device))
        gt = torch.autograd.grad(yt, xt + list(t.parameters()), th(cot, device))
        assert_same(list(gr), list(gt), 1e-5, 1e-5, what=f"grads {t!r}")
        assert repr(r) == repr(t)


def test_linear_default_init_follows_torch_bounds():
    refgrad.manual_seed(0)
    m = nn.Linear(400, 300)
    bound = 1 / np.sqrt(400)  # kaiming_uniform(a=sqrt(5)) gives U(-1/sqrt(fan_in), 1/sqrt(fan_in))
    w, b = to_np(m.weight), to_np(m.bias)
    assert w.dtype == np.float32 and np.abs(w).max() <= bound and np.abs(w).max() > 0.99 * bound
    np.testing.assert_allclose(w.std(), bound / np.sqrt(3), rtol=0.02)
    assert np.abs(b).max() <= bound and abs(w.mean()) < 0.01 * bound * 10
    assert nn.Linear(3, 2, dtype=refgrad.float64).weight.dtype == refgrad.float64
    assert nn.Linear(3, 2, bias=False).bias is None


def test_flatten_unflatten_identity_match_torch(rng):
    x = rng.standard_normal((2, 3, 4, 5)).astype(np.float32)
    for make in (lambda L: L.Flatten(), lambda L: L.Flatten(0, 2), lambda L: L.Unflatten(2, (2, 2)),
                 lambda L: L.Identity(54, unused=True)):
        r, t = make(nn), make(torch.nn)
        assert repr(r) == repr(t)
        assert_same(r(rg(x)), t(th(x)))
    with pytest.raises(TypeError, match="tuple of ints"):
        nn.Unflatten(1, [2, 2])


def test_model_reprs_match_torch():
    assert repr(_net(refgrad)) == repr(_net(torch))


# -- nn.utils -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("norm_type", [2.0, 1, float("inf"), 3.0])
def test_clip_grad_norm_matches_torch(norm_type, rng):
    gs = [rng.standard_normal(s).astype(np.float32) for s in [(3, 4), (5,), ()]]
    ps_r = [nn.Parameter(rg(np.zeros_like(g))) for g in gs]
    ps_t = [torch.nn.Parameter(th(np.zeros_like(g))) for g in gs]
    for p, g in zip(ps_r, gs):
        p.grad = rg(g)
    for p, g in zip(ps_t, gs):
        p.grad = th(g)
    nr = nn.utils.clip_grad_norm_(ps_r, 0.5, norm_type=norm_type, foreach=None)
    nt = torch.nn.utils.clip_grad_norm_(ps_t, 0.5, norm_type=norm_type)
    assert_same(nr, nt)
    for a, b in zip(ps_r, ps_t):
        assert_same(a.grad, b.grad)
    p = nn.Parameter(refgrad.ones(2))
    p.grad = refgrad.tensor([float("inf"), 1.0])
    with pytest.raises(RuntimeError, match="is non-finite, so it cannot be clipped"):
        nn.utils.clip_grad_norm_(p, 1.0, error_if_nonfinite=True)
    assert float(nn.utils.clip_grad_norm_([], 1.0)) == 0.0


def test_clip_grad_value_and_vector_conversion_match_torch(rng):
    g = rng.standard_normal((4, 3)).astype(np.float32)
    pr, pt = nn.Parameter(rg(g)), torch.nn.Parameter(th(g))
    pr.grad, pt.grad = rg(g * 3), th(g * 3)
    nn.utils.clip_grad_value_([pr], 1.5)
    torch.nn.utils.clip_grad_value_([pt], 1.5)
    assert_same(pr.grad, pt.grad)
    r, t = nn.Linear(3, 2), torch.nn.Linear(3, 2)
    _copy_params(r, t)
    vr, vt = nn.utils.parameters_to_vector(r.parameters()), torch.nn.utils.parameters_to_vector(t.parameters())
    assert_same(vr, vt)
    assert vr.requires_grad
    new = rng.standard_normal(8).astype(np.float32)
    w = r.weight
    nn.utils.vector_to_parameters(rg(new), r.parameters())
    torch.nn.utils.vector_to_parameters(th(new), t.parameters())
    assert r.weight is w
    for a, b in zip(r.parameters(), t.parameters()):
        assert_same(a.detach(), b.detach())
    with pytest.raises(TypeError, match="expected torch.Tensor, but got"):
        nn.utils.vector_to_parameters(new, r.parameters())
