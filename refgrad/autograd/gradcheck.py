"""Matches `torch.autograd.gradcheck` / `torch.autograd.gradgradcheck`: analytical gradients (reverse
mode, through ``autograd.grad``) checked against central finite differences.

Same signatures, defaults and verdict rule as torch (``|analytical - numerical| <= atol + rtol *
|numerical|`` element-wise), but a failure says where and how much: per failing (output, input)
pair the max absolute and relative error, the Jacobian element and the output/input indices where
they occur, how many entries exceed the tolerance, the values there, and eps.

Divergences from torch, all deliberate:

- Output and input numbers in messages are positions in ``func``'s returned tuple and in
  ``inputs`` (torch counts only the differentiable ones).
- Fast mode draws *signed* unit vectors u (per input) and v (per output), from
  ``numpy.random.default_rng(seed)`` with ``seed = refgrad.initial_seed()`` (named in the message;
  ``refgrad.manual_seed`` changes it, nothing consumes the global stream), where torch draws
  non-negative ones (whose v^T E u cannot see an error E of mixed signs that cancels). The tolerance
  is torch's, ``atol * |u|_1 * |v|_1 + rtol * |v^T J_num u|``: a backward off by a constant factor
  fails whatever the signs. Where v^T J_num u itself cancels this is stricter than element-wise
  closeness; a fast-mode failure is therefore rechecked on the full Jacobians of the failing pair,
  and the message says which elements are wrong, or that none is.
- refgrad has no forward-mode AD: ``check_forward_ad``, ``check_batched_forward_grad`` and
  gradgradcheck's ``check_fwd_over_rev`` raise NotImplementedError instead of passing unchecked.
- refgrad has no vmap: ``check_batched_grad`` is accepted and not performed. It has no sparse
  tensors: ``masked`` is accepted and has no effect.

Tolerances: torch's defaults (rtol=1e-3) let a backward that is 0.01% off pass. Pass a smaller
``rtol`` (and ``atol``) for a stricter check, within what central differences resolve at that eps
(error ~ eps**2 * f''' plus roundoff ~ 1e-16 / eps for float64); the harness in gradcheck/ uses
Richardson-extrapolated differences with an error estimate for that.
"""
from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np

from .. import _backend
from .function import Function

__all__ = ["GradcheckError", "gradcheck", "gradgradcheck"]


class GradcheckError(RuntimeError):
    """Matches `torch.autograd.gradcheck.GradcheckError`: raised by gradcheck/gradgradcheck when a
    check fails (``raise_exception=True``)."""


def _tensor_cls():
    from .._tensor import Tensor  # noqa: PLC0415 - import cycle: autograd loads before Tensor
    return Tensor


def _grad(*args, **kwargs):
    from . import grad  # noqa: PLC0415 - the autograd package imports this module
    return grad(*args, **kwargs)


def _seed() -> int:
    from ..ops.creation import initial_seed  # noqa: PLC0415 - import cycle
    return int(initial_seed())


def _as_tuple(x) -> tuple:
    if isinstance(x, tuple):
        return x
    if isinstance(x, list):
        return tuple(x)
    return (x,)


def _is_tensor(x) -> bool:
    return isinstance(x, _tensor_cls())


def _host64(arr) -> np.ndarray:
    """A float64 host copy (outputs may alias an input that is about to be perturbed)."""
    return np.array(_backend.asnumpy(arr), dtype=np.float64)


def _idx(flat: int, shape) -> tuple:
    return tuple(int(i) for i in np.unravel_index(flat, shape))


# -- inputs and outputs -----------------------------------------------------------------------------
def _diff_inputs(inputs) -> list:
    """(position, tensor) of every input that is differentiated."""
    return [(i, x) for i, x in enumerate(inputs) if _is_tensor(x) and x.requires_grad]


def _check_inputs(inputs) -> None:
    any_grad = False
    for i, x in enumerate(inputs):
        if not (_is_tensor(x) and x.requires_grad):
            continue
        any_grad = True
        if x._data.dtype != np.float64:
            # torch's warning, word for word
            warnings.warn(f"Input #{i} requires gradient and is not a double precision floating point or complex. "
                          "This check will likely fail if all the inputs are not of double precision floating "
                          "point or complex. ", UserWarning, stacklevel=4)
        if x._data.size and any(st == 0 and sz > 1 for st, sz in zip(x._data.strides, x._data.shape)):
            raise RuntimeError(f"The {i}th input has a dimension with stride 0. gradcheck only supports inputs that "
                               "are non-overlapping to be able to compute the numerical gradients correctly. You "
                               "should call .contiguous on the input before passing it to gradcheck.")
    if not any_grad:
        raise ValueError("gradcheck expects at least one input tensor to require gradient, but none of them have "
                         "requires_grad=True.")


def _eval(func, inputs, ref, eps) -> list:
    """Host float64 copies of ``func``'s tensor outputs (None for the rest); ``ref`` is the unperturbed
    evaluation, whose shapes and dtypes a perturbed one must keep."""
    outs = _as_tuple(func(*inputs))
    for k, (o, r) in enumerate(zip(outs, ref)):
        if r is not None and (o._data.shape != r[0] or o._data.dtype != r[1]):
            # torch raises AssertionError here too
            raise AssertionError(f"Expected `func` to return outputs with the same shape and dtype when inputs are "
                                 f"perturbed by {eps}, but output {k} went from {r[0]}, {r[1]} to {o._data.shape}, "
                                 f"{o._data.dtype}.")
    return [_host64(o._data) if _is_tensor(o) else None for o in outs]


# -- numerical side: central differences, perturbing the input's storage in place -----------------
def _numerical_jacobians(func, inputs, in_pos, ref, eps) -> list:
    """Per tensor output of func, its (out_numel, in_numel) Jacobian with respect to input ``in_pos``
    (None for non-tensor outputs)."""
    arr = inputs[in_pos]._data
    orig = arr.copy()
    jac = [None if r is None else np.zeros((int(np.prod(r[0])), arr.size)) for r in ref]
    try:
        for col, idx in enumerate(np.ndindex(arr.shape)):
            # raw storage writes: no autograd op, no version bump (torch writes through .data)
            arr[idx] = orig[idx] - eps
            lo = _eval(func, inputs, ref, eps)
            arr[idx] = orig[idx] + eps
            hi = _eval(func, inputs, ref, eps)
            arr[idx] = orig[idx]
            for j, a, b in zip(jac, lo, hi):
                if j is not None:
                    j[:, col] = ((b - a) / (2 * eps)).reshape(-1)
    finally:
        arr[...] = orig
    return jac


def _numerical_jvp(func, inputs, in_pos, u, ref, eps) -> list:
    """Per tensor output, the directional derivative J u (flat, float64) for a unit vector u."""
    arr = inputs[in_pos]._data
    orig = arr.copy()
    step = _backend.get_xp(arr).asarray(_backend.to_device(u.reshape(arr.shape), _backend.device_of(arr)),
                                        dtype=arr.dtype) * eps
    try:
        arr[...] = orig - step
        lo = _eval(func, inputs, ref, eps)
        arr[...] = orig + step
        hi = _eval(func, inputs, ref, eps)
    finally:
        arr[...] = orig
    return [None if a is None else ((b - a) / (2 * eps)).reshape(-1) for a, b in zip(lo, hi)]


# -- analytical side: reverse mode -----------------------------------------------------------------
def _vjp(out, diff, cot_arr) -> tuple:
    """The gradients of ``out`` with cotangent ``cot_arr`` for each differentiated input, as they come
    and as flat float64 host arrays (zeros where the input is unused)."""
    cot = _tensor_cls()._wrap(_backend.get_xp(out._data).asarray(cot_arr, dtype=out._data.dtype))
    grads = _grad(out, [t for _, t in diff], cot, retain_graph=True, allow_unused=True)
    flat = [np.zeros(t._data.size) if g is None else _host64(g._data).reshape(-1) for g, (_, t) in zip(grads, diff)]
    return flat, grads


def _check_grad_attributes(grads, diff, out_pos, check_grad_dtypes) -> None:
    for g, (i, t) in zip(grads, diff):
        if g is None:
            continue
        if g._data.shape != t._data.shape:
            raise GradcheckError(f"Analytical gradient has incorrect size: the gradient of output {out_pos} with "
                                 f"respect to input {i} has shape {tuple(g._data.shape)}, the input "
                                 f"{tuple(t._data.shape)}")
        if check_grad_dtypes and g._data.dtype != t._data.dtype:
            raise GradcheckError(f"Gradient has dtype mismatch: the gradient of output {out_pos} with respect to "
                                 f"input {i} has dtype {g.dtype}, the input {t.dtype}")


def _analytical_jacobians(out, out_pos, diff, nondet_tol, check_grad_dtypes) -> list:
    """Per differentiated input, the (out_numel, in_numel) Jacobian of ``out`` row by row (unit
    cotangents), computed twice to check that backward is reentrant (deterministic)."""
    xp = _backend.get_xp(out._data)
    runs = []
    for _ in range(2):
        rows = [np.zeros((out._data.size, t._data.size)) for _, t in diff]
        for r in range(out._data.size):
            e = xp.zeros(out._data.size, dtype=out._data.dtype)
            e[r] = 1
            flat, grads = _vjp(out, diff, e.reshape(out._data.shape))
            _check_grad_attributes(grads, diff, out_pos, check_grad_dtypes)
            for jac, g in zip(rows, flat):
                jac[r] = g
        runs.append(rows)
    for (i, t), a1, a2 in zip(diff, *runs):
        _check_reentrant(a1, a2, out_pos, i, out._data.shape, t._data.shape, nondet_tol)
    return runs[0]


def _check_reentrant(a1, a2, out_pos, in_pos, out_shape, in_shape, nondet_tol) -> None:
    d = np.abs(a1 - a2)
    if d.size == 0 or not (np.isnan(d).any() or d.max() > nondet_tol):
        return
    k = int(np.argmax(np.where(np.isnan(d), np.inf, d)))
    if a1.ndim == 2:  # full Jacobians (slow mode)
        r, c = np.unravel_index(k, d.shape)
        where = f" at element ({r}, {c}) [output index {_idx(r, out_shape)}, input index {_idx(c, in_shape)}]"
    else:  # one vector-Jacobian product (fast mode)
        where = f" at input index {_idx(k, in_shape)}"
    raise GradcheckError(
        f"Backward is not reentrant for output {out_pos} with respect to input {in_pos}, i.e., running backward "
        f"with the same input and grad_output twice gives different values: max difference {np.nanmax(d):.2e}"
        f"{where}, above nondet_tol={nondet_tol}. If the op is nondeterministic by design, pass a nondet_tol.")


# -- verdict and message ---------------------------------------------------------------------------
def _mismatch(a, n, out_pos, in_pos, out_shape, in_shape, atol, rtol, eps) -> str | None:
    """None when ``a`` (analytical) and ``n`` (numerical) Jacobians agree; otherwise the message."""
    err = np.abs(a - n)
    bad = ~(err <= atol + rtol * np.abs(n))  # NaN counts as a mismatch, as in torch.allclose
    if not bad.any():
        return None
    err_key = np.where(np.isnan(err), np.inf, err)

    def at(flat):
        r, c = np.unravel_index(flat, a.shape)
        return (f"element ({r}, {c}) [output index {_idx(r, out_shape)}, input index {_idx(c, in_shape)}]: "
                f"numerical {n[r, c]:.10g}, analytical {a[r, c]:.10g}")

    k_abs = int(np.argmax(err_key))
    lines = [f"Jacobian mismatch for output {out_pos} with respect to input {in_pos}:",
             f"  max abs err {err.flat[k_abs]:.2e} at {at(k_abs)}"]
    nz = n != 0
    if nz.any():
        rel = np.where(nz, err_key / np.where(nz, np.abs(n), 1), -1.0)
        k_rel = int(np.argmax(rel))
        lines.append(f"  max rel err {rel.flat[k_rel]:.2e} at {at(k_rel)}")
    else:
        lines.append("  max rel err: undefined (the numerical Jacobian is all zeros)")
    lines.append(f"  {int(bad.sum())} of {bad.size} entries exceed atol={atol:g} + rtol={rtol:g}*|numerical|; "
                 f"eps={eps:g}")
    hint = _hint(a, n, atol, rtol)
    if hint:
        lines.append("  " + hint)
    return "\n".join(lines)


def _hint(a, n, atol, rtol) -> str | None:
    """A diagnosis for the common shapes of wrong backward: disconnected, or off by a constant factor."""
    if not np.isfinite(a).all():
        return "the analytical Jacobian has non-finite entries"
    if not a.any():
        return ("the analytical Jacobian is all zeros: the output does not reach this input through autograd "
                "(a detach(), .data, no_grad, or a once_differentiable backward?)")
    big = np.abs(n) > 1e-3 * np.abs(n).max() if n.any() else np.zeros(n.shape, bool)
    if not big.any():
        return None
    c = float(np.median(a[big] / n[big]))
    if abs(c - 1) > rtol and np.all(np.abs(a - c * n) <= atol + rtol * np.abs(c * n)):
        return f"analytical ~= {c:.6g} * numerical everywhere (a sign flip or a wrong constant factor?)"
    return None


# -- the two modes ---------------------------------------------------------------------------------
def _slow_check(func, inputs, outputs, ref, diff, eps, atol, rtol, nondet_tol, check_grad_dtypes) -> None:
    numerical = {i: _numerical_jacobians(func, inputs, i, ref, eps) for i, _ in diff}
    if not outputs:
        _check_zero(numerical, diff, tol=0.0)
        return
    for out_pos, out in outputs:
        analytical = _analytical_jacobians(out, out_pos, diff, nondet_tol, check_grad_dtypes)
        for (i, t), a in zip(diff, analytical):
            msg = _mismatch(a, numerical[i][out_pos], out_pos, i, out._data.shape, t._data.shape, atol, rtol, eps)
            if msg:
                raise GradcheckError(msg)


def _check_zero(numerical, diff, tol) -> None:
    """With no output requiring grad, the numerical derivatives (Jacobians or J u) must vanish."""
    for i, _ in diff:
        for k, j in enumerate(numerical[i]):
            if j is not None and j.size and not np.abs(j).max() <= tol:
                raise GradcheckError(f"Numerical gradient for function expected to be zero: no output requires grad, "
                                     f"but output {k} changes with input {i} (max |numerical derivative| "
                                     f"{np.abs(j).max():.2e}); is a differentiable path detached?")


def _unit(rng, n) -> np.ndarray:
    v = rng.standard_normal(n)
    nrm = np.linalg.norm(v)
    return v / nrm if nrm > 0 else v


def _fast_check(func, inputs, outputs, ref, diff, eps, atol, rtol, nondet_tol, check_grad_dtypes) -> None:
    seed = _seed()
    rng = np.random.default_rng(seed)
    us = {i: _unit(rng, t._data.size) for i, t in diff}
    jvps = {i: _numerical_jvp(func, inputs, i, us[i], ref, eps) for i, _ in diff}
    if not outputs:
        _check_zero(jvps, diff, tol=nondet_tol)
        return
    for out_pos, out in outputs:
        v = _unit(rng, out._data.size)
        v_arr = _backend.to_device(v.reshape(out._data.shape), out.device)
        runs = []
        for _ in range(2):
            flat, grads = _vjp(out, diff, v_arr)
            _check_grad_attributes(grads, diff, out_pos, check_grad_dtypes)
            runs.append(flat)
        for (i, t), g1, g2 in zip(diff, *runs):
            _check_reentrant(g1, g2, out_pos, i, out._data.shape, t._data.shape, nondet_tol)
            u, ju = us[i], jvps[i][out_pos]
            an, nu = float(g1 @ u), float(v @ ju)
            tol = atol * np.abs(u).sum() * np.abs(v).sum() + rtol * abs(nu)
            if abs(an - nu) <= tol:
                continue
            raise GradcheckError(
                f"Jacobian mismatch for output {out_pos} with respect to input {i} (fast mode: v^T J u with signed "
                f"unit vectors u, v from numpy.random.default_rng({seed}), seed = refgrad.initial_seed()):\n"
                f"  numerical {nu:.10g}, analytical {an:.10g}, abs err {abs(an - nu):.2e} > tolerance {tol:.2e} "
                f"(atol={atol:g} * |u|_1 * |v|_1 + rtol={rtol:g} * |numerical|); eps={eps:g}\n"
                + _slow_recheck(func, inputs, ref, out, out_pos, i, t, eps, atol, rtol))


def _slow_recheck(func, inputs, ref, out, out_pos, i, t, eps, atol, rtol) -> str:
    """Locate a fast-mode failure with the full Jacobians of that one pair."""
    n = _numerical_jacobians(func, inputs, i, ref, eps)[out_pos]
    a = _analytical_jacobians(out, out_pos, [(i, t)], float("inf"), False)[0]
    msg = _mismatch(a, n, out_pos, i, out._data.shape, t._data.shape, atol, rtol, eps)
    if msg:
        return "Slow-mode recheck of this pair:\n" + msg
    return ("Slow-mode recheck of this pair finds every element within atol + rtol*|numerical|: the fast-mode "
            "tolerance is stricter where v^T J u cancels; pass fast_mode=False to check element-wise.")


# -- extra backward checks (torch's _test_backward_mul_by_grad_output / _test_undefined_backward_mode) ---
def _check_zero_grad_output(outputs, diff) -> None:
    Tensor = _tensor_cls()
    cots = [Tensor._wrap(_backend.get_xp(o._data).zeros(o._data.shape, dtype=o._data.dtype)) for _, o in outputs]
    grads = _grad([o for _, o in outputs], [t for _, t in diff], cots, allow_unused=True)
    for g, (i, t) in zip(grads, diff):
        if g is None:
            continue
        h = _backend.asnumpy(g._data)
        if h.any():
            k = int(np.argmax(np.abs(h).reshape(-1) != 0))
            raise GradcheckError(f"backward not multiplied by grad_output: with all-zero grad_outputs the gradient "
                                 f"with respect to input {i} is nonzero, e.g. {h.reshape(-1)[k]:.10g} at index "
                                 f"{_idx(k, h.shape)}")
        if g._data.dtype != t._data.dtype:
            raise GradcheckError(f"grad is incorrect type: {g.dtype} for input {i} of dtype {t.dtype}")
        if g.device != t.device:
            raise GradcheckError(f"grad is incorrect device: {g.device} for input {i} on {t.device}")
        if g._data.shape != t._data.shape:
            raise GradcheckError(f"grad is incorrect size: {tuple(g._data.shape)} for input {i} of shape "
                                 f"{tuple(t._data.shape)}")


class _UndefinedGrad(Function):
    """torch._C._functions.UndefinedGrad: the identity, whose backward hands an undefined (None)
    grad to the function that produced its input."""

    @staticmethod
    def forward(ctx, x):
        return x

    @staticmethod
    def backward(ctx, g):
        return None


def _check_undefined_grad(func, inputs, diff) -> None:
    """Backward must accept undefined (None) output grads, all at once and one at a time, and give
    zero (or no) input grads for them."""

    def diff_outputs():
        return [o for o in _as_tuple(func(*inputs)) if _is_tensor(o) and o.requires_grad]

    n = len(diff_outputs())
    cases = [(set(range(n)), "all output grads")]
    if n > 1:
        cases += [({k}, f"the grad of differentiable output {k}") for k in range(n)]
    for undefined, what in cases:
        outs = [_UndefinedGrad.apply(o) if k in undefined else o for k, o in enumerate(diff_outputs())]
        zeros = [_tensor_cls()._wrap(_backend.get_xp(o._data).zeros(o._data.shape, o._data.dtype)) for o in outs]
        try:
            res = _grad(outs, [t for _, t in diff], zeros, allow_unused=True)
        except RuntimeError as e:
            raise GradcheckError(f"Expected backward function to handle undefined output grads: it raised when "
                                 f"{what} were undefined (None). Undefined grads stand for zeros; a custom "
                                 f"Function with set_materialize_grads(False) must handle None.") from e
        except Exception as e:  # torch lets other types through; say where they came from
            e.add_note(f"gradcheck: raised by backward when {what} were undefined (None) "
                       "(check_undefined_grad=True)")
            raise
        for g, (i, _) in zip(res, diff):
            if g is not None and _backend.asnumpy(g._data).any():
                raise GradcheckError(f"Expected all input grads to be undefined or zero when all output grads are "
                                     f"undefined or zero: the gradient with respect to input {i} is nonzero when "
                                     f"{what} were undefined.")


# -- public API ------------------------------------------------------------------------------------
def gradcheck(func: Callable, inputs, *, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
              raise_exception: bool = True, nondet_tol: float = 0.0, check_undefined_grad: bool = True,
              check_grad_dtypes: bool = False, check_batched_grad: bool = False,
              check_batched_forward_grad: bool = False, check_forward_ad: bool = False,
              check_backward_ad: bool = True, fast_mode: bool = False, masked: bool | None = None) -> bool:
    """Matches `torch.autograd.gradcheck`: checks the gradients of ``func`` with respect to the
    floating tensors in ``inputs`` that require grad (float64 expected: others warn) against central
    finite differences, element-wise ``|analytical - numerical| <= atol + rtol * |numerical|``.

    Slow mode compares full Jacobians; ``fast_mode`` compares ``v^T J u`` per (output, input) pair
    with signed random unit vectors from a logged seed (``refgrad.initial_seed()``), and locates a
    failure with the full Jacobians of the failing pair; one random projection can miss an error
    (rarely), slow mode cannot. Backward also runs twice (equal within
    ``nondet_tol``), with all-zero grad_outputs (must give zero grads) and, with
    ``check_undefined_grad``, with undefined (None) grad_outputs (must not fail).

    Returns True, or raises GradcheckError (a RuntimeError) saying where and how much; with
    ``raise_exception=False`` returns False instead. ``check_batched_grad`` is accepted and not
    performed (no vmap), ``masked`` has no effect (no sparse tensors), and forward-mode checks raise
    NotImplementedError (no forward-mode AD). torch's default rtol=1e-3 lets a 0.01% error pass: pass
    a smaller rtol for a stricter check.
    """
    if not (check_forward_ad or check_backward_ad):
        raise AssertionError("Expected at least one of check_forward_ad or check_backward_ad to be True")
    if check_batched_grad and not check_backward_ad:
        raise AssertionError("Setting check_batched_grad=True requires check_backward_ad to be True")
    if check_batched_forward_grad and not check_forward_ad:
        raise AssertionError("Setting check_batched_forward_grad=True requires check_forward_ad to be True")
    if check_forward_ad:
        raise NotImplementedError("gradcheck(check_forward_ad=True): refgrad has no forward-mode AD, so forward "
                                  "gradients cannot be checked; pass check_forward_ad=False (the default).")
    try:
        _gradcheck(func, _as_tuple(inputs), eps, atol, rtol, nondet_tol, check_undefined_grad, check_grad_dtypes,
                   fast_mode)
    except GradcheckError:
        if raise_exception:
            raise
        return False
    return True


def _gradcheck(func, inputs, eps, atol, rtol, nondet_tol, check_undefined_grad, check_grad_dtypes, fast_mode):
    _check_inputs(inputs)
    diff = _diff_inputs(inputs)
    func_out = _as_tuple(func(*inputs))
    ref = [(o._data.shape, o._data.dtype) if _is_tensor(o) else None for o in func_out]
    outputs = [(k, o) for k, o in enumerate(func_out) if _is_tensor(o) and o.requires_grad]
    check = _fast_check if fast_mode else _slow_check
    check(func, inputs, outputs, ref, diff, eps, atol, rtol, nondet_tol, check_grad_dtypes)
    if outputs:
        _check_zero_grad_output(outputs, diff)
        if check_undefined_grad:
            _check_undefined_grad(func, inputs, diff)


def gradgradcheck(func: Callable, inputs, grad_outputs=None, *, eps: float = 1e-6, atol: float = 1e-5,
                  rtol: float = 1e-3, gen_non_contig_grad_outputs: bool = False, raise_exception: bool = True,
                  nondet_tol: float = 0.0, check_undefined_grad: bool = True, check_grad_dtypes: bool = False,
                  check_batched_grad: bool = False, check_fwd_over_rev: bool = False,
                  check_rev_over_rev: bool = True, fast_mode: bool = False, masked: bool = False) -> bool:
    """Matches `torch.autograd.gradgradcheck`: gradchecks the function (inputs, grad_outputs) ->
    first-order gradients of ``func`` (computed with create_graph=True), so second derivatives are
    checked against finite differences of the first.

    ``grad_outputs`` default to uniform(-1, 1) tensors like the differentiable outputs (drawn from
    ``numpy.random.default_rng(refgrad.initial_seed() + 1)``; non-contiguous with
    ``gen_non_contig_grad_outputs``). A failure message says which first-order gradient and which
    input (or grad_output) it concerns. ``check_fwd_over_rev`` raises NotImplementedError (no
    forward-mode AD); the rest is as in `gradcheck`.
    """
    if not (check_fwd_over_rev or check_rev_over_rev):
        raise AssertionError("Expected at least one of check_fwd_over_rev or check_rev_over_rev to be True")
    if check_undefined_grad and not check_rev_over_rev:
        raise AssertionError("Setting check_undefined_grad=True requires check_rev_over_rev to be True")
    if check_batched_grad and not check_rev_over_rev:
        raise AssertionError("Setting check_batched_grad=True requires check_rev_over_rev to be True")
    if check_fwd_over_rev:
        raise NotImplementedError("gradgradcheck(check_fwd_over_rev=True): refgrad has no forward-mode AD; pass "
                                  "check_fwd_over_rev=False (the default).")
    inputs = _as_tuple(inputs)
    if grad_outputs is None:
        outs = [o for o in _as_tuple(func(*inputs)) if _is_tensor(o) and o.requires_grad]
        rng = np.random.default_rng(_seed() + 1)
        grad_outputs = tuple(_random_like(o, rng, gen_non_contig_grad_outputs) for o in outs)
    else:
        grad_outputs = _as_tuple(grad_outputs)
    n_in = len(inputs)
    diff_pos = [i for i, _ in _diff_inputs(inputs)]
    grad_of = []  # output m of the checked function is the gradient w.r.t. input grad_of[m]

    def first_order(*args):
        ins = args[:n_in]
        outs = [o for o in _as_tuple(func(*ins)) if _is_tensor(o) and o.requires_grad]
        grads = _grad(outs, [ins[i] for i in diff_pos], list(args[n_in:]), create_graph=True, allow_unused=True)
        grad_of[:] = [i for i, g in zip(diff_pos, grads) if g is not None]
        return tuple(g for g in grads if g is not None)

    try:
        return gradcheck(first_order, inputs + grad_outputs, eps=eps, atol=atol, rtol=rtol, nondet_tol=nondet_tol,
                         check_undefined_grad=check_undefined_grad, check_grad_dtypes=check_grad_dtypes,
                         check_batched_grad=check_batched_grad, fast_mode=fast_mode, masked=masked)
    except GradcheckError as e:
        legend = ", ".join(f"output {m} = grad w.r.t. input {i}" for m, i in enumerate(grad_of))
        last = n_in + len(grad_outputs) - 1
        err = GradcheckError(f"gradgradcheck: second-order check failed. The checked function takes func's inputs "
                             f"(inputs 0..{n_in - 1}) then the grad_outputs (inputs {n_in}..{last}) and returns "
                             f"func's first-order gradients ({legend}).\n{e}")
        if raise_exception:
            raise err from e
        return False


def _random_like(o, rng, non_contiguous):
    """uniform(-1, 1) like torch.testing.make_tensor(low=-1, high=1), requiring grad."""
    arr = _backend.to_device(rng.uniform(-1.0, 1.0, o._data.shape).astype(o._data.dtype), o.device)
    if non_contiguous and arr.size > 1:
        # every other element of a doubled last dim: the same values in non-contiguous storage
        wide = _backend.get_xp(arr).zeros(arr.shape[:-1] + (2 * arr.shape[-1],), dtype=arr.dtype)
        wide[..., ::2] = arr
        arr = wide[..., ::2]
    return _tensor_cls()._wrap(arr).requires_grad_(True)
