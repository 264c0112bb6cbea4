"""Twin-check machinery shared by the oracle tests: data is made in numpy and copied into both
engines; forward, VJP with a random signed cotangent and double backward are compared with torch."""
from __future__ import annotations

import numpy as np
import pytest
import torch

import refgrad

# the oracle computes float32 on cuda in full precision: TF32 (torch's default for cudnn convolutions)
# keeps 10 mantissa bits and would put torch, not refgrad, off by 1e-3
torch.backends.cuda.matmul.allow_tf32 = False
torch.backends.cudnn.allow_tf32 = False

# torch.testing.assert_close's default tolerances per dtype
TOL = {np.float16: (1e-3, 1e-5), np.float32: (1.3e-6, 1e-5), np.float64: (1e-7, 1e-7)}
# gradients go through more ops (different summation orders): a documented widening
GRAD_TOL = {np.float16: (1e-2, 1e-3), np.float32: (1e-5, 1e-5), np.float64: (1e-7, 1e-7)}


def rg(arr, device="cpu", requires_grad=False):
    """numpy array -> refgrad tensor on device."""
    t = refgrad.tensor(arr, device=device)
    if requires_grad:
        t.requires_grad_(True)
    return t


def th(arr, device="cpu", requires_grad=False):
    """numpy array -> torch tensor on device."""
    t = torch.tensor(np.asarray(arr), device=device)
    if requires_grad:
        t.requires_grad_(True)
    return t


def to_np(x):
    if isinstance(x, torch.Tensor):
        # force=True also materializes torch's ZeroTensor (double-backward zero gradients)
        return x.detach().cpu().numpy(force=True)
    if isinstance(x, refgrad.Tensor):
        return refgrad._backend.asnumpy(x.detach()._data)
    return np.asarray(x)


def assert_same(ours, theirs, rtol=None, atol=None, what="value", check_dtype=True):
    """Values (and dtype, shape) of a refgrad result equal torch's within torch's tolerances."""
    if isinstance(theirs, (tuple, list)):
        assert isinstance(ours, (tuple, list)) and len(ours) == len(theirs), f"{what}: structure differs"
        for i, (o, t) in enumerate(zip(ours, theirs)):
            assert_same(o, t, rtol, atol, f"{what}[{i}]", check_dtype)
        return
    if theirs is None:
        assert ours is None, f"{what}: torch gives None, refgrad gives {ours!r}"
        return
    assert ours is not None, f"{what}: refgrad gives None, torch does not"
    if not isinstance(theirs, torch.Tensor):
        assert ours == theirs, f"{what}: {ours!r} != {theirs!r}"
        return
    o, t = to_np(ours), to_np(theirs)
    assert o.shape == t.shape, f"{what}: shape {o.shape} != torch {t.shape}"
    if check_dtype:
        assert o.dtype == t.dtype, f"{what}: dtype {o.dtype} != torch {t.dtype}"
    if o.dtype.kind in "iub":
        np.testing.assert_array_equal(o, t, err_msg=what)
        return
    r, a = TOL.get(t.dtype.type, (1e-7, 1e-7))
    np.testing.assert_allclose(o.astype(np.float64), t.astype(np.float64), rtol=rtol if rtol is not None else r,
                               atol=atol if atol is not None else a, equal_nan=True, err_msg=what)


def _flat(x):
    return list(x) if isinstance(x, (tuple, list)) else [x]


def torch_double_backward(*args, **kwargs):
    """torch.autograd.grad through a first-order graph; skips the rest of the test (the forward and first order
    were checked) when the oracle cannot differentiate it, as an older torch than the pinned one may not."""
    try:
        return torch.autograd.grad(*args, **kwargs)
    except RuntimeError as e:
        if "derivative for aten::" in str(e) and "not implemented" in str(e):
            pytest.skip(f"forward and first order checked; torch {torch.__version__} has no double backward here: {e}")
        raise


def check_op(rg_fn, th_fn, inputs, *, device="cpu", grad=True, gradgrad=True, rtol=None, atol=None,
             grad_rtol=None, grad_atol=None, seed=0, diff=None, oracle_device=None):
    """Compare ``rg_fn(*rg_inputs)`` with ``th_fn(*th_inputs)``.

    inputs: numpy arrays (floating ones are differentiated unless ``diff`` lists the indices) or
    non-array constants passed through unchanged. ``oracle_device`` runs torch elsewhere (default: ``device``),
    for the few cases where torch itself fails on cuda.
    """
    tdev = oracle_device or device
    rng = np.random.default_rng(seed)
    is_arr = [isinstance(x, np.ndarray) for x in inputs]
    if diff is None:
        diff = [i for i, x in enumerate(inputs) if is_arr[i] and x.dtype.kind == "f"]
    do_grad = grad and bool(diff)
    a = [rg(x, device, do_grad and i in diff) if is_arr[i] else x for i, x in enumerate(inputs)]
    b = [th(x, tdev, do_grad and i in diff) if is_arr[i] else x for i, x in enumerate(inputs)]
    ours, theirs = rg_fn(*a), th_fn(*b)
    assert_same(ours, theirs, rtol, atol, "forward")
    if not do_grad:
        return
    outs_o = [o for o in _flat(ours) if isinstance(o, refgrad.Tensor) and o.requires_grad]
    outs_t = [t for t in _flat(theirs) if isinstance(t, torch.Tensor) and t.requires_grad]
    assert len(outs_o) == len(outs_t), "differentiable outputs differ in number"
    if not outs_t:
        return
    # random signed cotangents: an all-ones cotangent hides a backward that ignores its input
    cots = [rng.standard_normal(t.shape).astype(to_np(t).dtype) for t in outs_t]
    gr, ga = GRAD_TOL.get(to_np(outs_t[0]).dtype.type, (1e-7, 1e-7))
    gr = grad_rtol if grad_rtol is not None else gr
    ga = grad_atol if grad_atol is not None else ga
    ins_o = [a[i] for i in diff]
    ins_t = [b[i] for i in diff]
    go = refgrad.autograd.grad(outs_o, ins_o, [rg(c, device) for c in cots], allow_unused=True,
                               create_graph=gradgrad)
    gt = torch.autograd.grad(outs_t, ins_t, [th(c, tdev) for c in cots], allow_unused=True,
                             create_graph=gradgrad)
    for i, (x, y) in enumerate(zip(go, gt)):
        if y is None:
            assert x is None or not np.any(to_np(x)), f"grad[{i}]: torch gives None, refgrad nonzero"
            continue
        assert x is not None, f"grad[{i}]: refgrad gives None, torch does not"
        assert_same(x, y, gr, ga, f"grad[{i}]")
    if not gradgrad:
        return
    pairs = [(x, y) for x, y in zip(go, gt) if y is not None and y.requires_grad]
    if not pairs:
        return
    cots2 = [rng.standard_normal(tuple(y.shape)).astype(to_np(y).dtype) for _, y in pairs]
    go2 = refgrad.autograd.grad([x for x, _ in pairs], ins_o, [rg(c, device) for c in cots2], allow_unused=True)
    gt2 = torch_double_backward([y for _, y in pairs], ins_t, [th(c, tdev) for c in cots2], allow_unused=True)
    for i, (x, y) in enumerate(zip(go2, gt2)):
        if y is None:
            assert x is None or not np.any(to_np(x)), f"gradgrad[{i}]: torch gives None, refgrad nonzero"
            continue
        if x is None:
            assert not np.any(to_np(y)), f"gradgrad[{i}]: refgrad gives None, torch nonzero"
            continue
        assert_same(x, y, gr * 10, ga * 10, f"gradgrad[{i}]")
