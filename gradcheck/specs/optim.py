"""Optimizer specs (kind "optimizer"): every refgrad.optim optimizer x representative option sets,
driven side by side with torch.optim on identical float64 parameters and gradient sequences.

Checks registered here for kind "optimizer" (cpu only, float64, torch oracle required):

- trajectory: 20 steps on a matrix, a 0-d scalar, a vector and a parameter that never gets a gradient,
  in two param groups (the second with half the lr); every other step goes through ``step(closure)``
  (the closure sets the gradients and returns a loss, which must come back). After every step the
  parameters, every state entry (keys, tensors' shape/dtype/values, plain values) and the param groups'
  options are compared with torch.
- state_dict: 10 steps, then refgrad's state_dict is loaded into a fresh torch optimizer and torch's
  into a fresh refgrad one (the layouts must be identical: integer ids, same options, same entries);
  all four continue to step 20, compared after every step.

LBFGS (one param group only, like torch) is driven by a closure on a Rosenbrock-like function; the
SparseAdam spec checks torch's behaviour for dense gradients (refgrad has no sparse tensors: both raise
the same RuntimeError) and its state_dict round trip.
"""
from __future__ import annotations

import inspect
import math

import numpy as np

import refgrad

from ..checks import Cmp, Ctx, compare, register_check
from ..oracle import to_numpy
from ..spec import Sample, Spec, Tol, register

STEPS = 20
HALF = 10
SHAPES = [(3, 4), (), (5,), (2,)]   # a matrix, a 0-d scalar, a vector, one that never gets a gradient
NO_GRAD = 3
# both engines run the same float64 recurrences; summation order inside a few ops may differ
OPT_TOL = {"float64": (1e-10, 1e-12)}
BLAME = "refgrad's optimizer differs from torch.optim: refgrad bug"

# (class name, options); the spec name is "Class(k=v,...)" ("Class()" for the defaults)
CASES: list[tuple[str, dict]] = [
    ("SGD", {"lr": 0.1}),
    ("SGD", {"lr": 0.1, "momentum": 0.9}),
    ("SGD", {"lr": 0.05, "momentum": 0.8, "dampening": 0.3, "weight_decay": 0.1}),
    ("SGD", {"lr": 0.05, "momentum": 0.9, "nesterov": True, "weight_decay": 0.01}),
    ("SGD", {"lr": 0.05, "momentum": 0.5, "maximize": True}),
    ("Adam", {}),
    ("Adam", {"lr": 0.01, "amsgrad": True}),
    ("Adam", {"lr": 0.02, "weight_decay": 0.1, "amsgrad": True, "maximize": True}),
    ("Adam", {"lr": 0.02, "betas": (0.8, 0.9), "eps": 1e-6, "weight_decay": 0.05, "decoupled_weight_decay": True}),
    ("AdamW", {"lr": 0.01}),
    ("AdamW", {"lr": 0.01, "weight_decay": 0.1, "amsgrad": True, "maximize": True}),
    ("Adamax", {}),
    ("Adamax", {"lr": 0.01, "weight_decay": 0.1, "maximize": True, "betas": (0.8, 0.95)}),
    ("NAdam", {}),
    ("NAdam", {"lr": 0.01, "weight_decay": 0.1, "momentum_decay": 0.01}),
    ("NAdam", {"lr": 0.01, "weight_decay": 0.1, "decoupled_weight_decay": True, "maximize": True}),
    ("RAdam", {}),
    ("RAdam", {"lr": 0.01, "weight_decay": 0.1, "betas": (0.9, 0.9)}),
    ("RAdam", {"lr": 0.01, "weight_decay": 0.1, "decoupled_weight_decay": True, "maximize": True}),
    ("Adagrad", {}),
    ("Adagrad", {"lr": 0.1, "lr_decay": 0.01, "weight_decay": 0.1, "initial_accumulator_value": 0.5}),
    ("Adagrad", {"lr": 0.1, "maximize": True, "eps": 1e-6}),
    ("Adadelta", {}),
    ("Adadelta", {"lr": 0.5, "rho": 0.8, "weight_decay": 0.1, "maximize": True}),
    ("RMSprop", {}),
    ("RMSprop", {"lr": 0.01, "centered": True}),
    ("RMSprop", {"lr": 0.01, "momentum": 0.9}),
    ("RMSprop", {"lr": 0.01, "alpha": 0.9, "centered": True, "momentum": 0.5, "weight_decay": 0.1,
                 "maximize": True}),
    ("Rprop", {}),
    ("Rprop", {"lr": 0.05, "etas": (0.3, 1.5), "step_sizes": (1e-3, 0.2), "maximize": True}),
    ("ASGD", {}),
    ("ASGD", {"lr": 0.05, "lambd": 1e-2, "alpha": 0.5, "t0": 5, "weight_decay": 0.1}),
    ("LBFGS", {"line_search_fn": "strong_wolfe", "max_iter": 4}),
    ("LBFGS", {"lr": 0.5, "history_size": 3, "max_iter": 2}),
    ("LBFGS", {"line_search_fn": "strong_wolfe", "history_size": 4, "tolerance_change": 1e-6, "max_iter": 3}),
    ("SparseAdam", {}),
    ("SparseAdam", {"lr": 0.01, "betas": (0.8, 0.9), "maximize": True}),
]

# public names of refgrad.optim with no spec of their own, and why
NOT_SPECCED = {
    "Optimizer": "the abstract base class: exercised through every optimizer spec (step/state/state_dict)",
    "lr_scheduler": "a module: its schedulers have kind='scheduler' specs (gradcheck/specs/schedulers.py)",
}


def spec_name(cls: str, kw: dict) -> str:
    return f"{cls}(" + ",".join(f"{k}={v!r}".replace(" ", "") for k, v in kw.items()) + ")"


def _torch_optim(engine, cls):
    return getattr(engine.optim, cls)


# -- comparisons --------------------------------------------------------------------------------

def _is_torch_tensor(x) -> bool:
    return type(x).__module__.startswith("torch") and hasattr(x, "detach") and not isinstance(x, refgrad.Tensor)


def cmp_value(ours, theirs, what: str, rtol: float, atol: float) -> Cmp:
    """refgrad value vs torch value: tensors (shape, dtype, values), sequences, floats, anything else by ==."""
    if _is_torch_tensor(theirs):
        if not isinstance(ours, refgrad.Tensor):
            return Cmp(False, math.inf, math.inf, 0.0, f"{what}: torch has a tensor, refgrad {type(ours).__name__}")
        return compare(to_numpy(ours), to_numpy(theirs), rtol, atol, what)
    if isinstance(theirs, (list, tuple)):
        if type(ours) is not type(theirs) or len(ours) != len(theirs):
            return Cmp(False, math.inf, math.inf, 0.0, f"{what}: {ours!r} vs torch {theirs!r}")
        out = Cmp(True)
        for i, (o, t) in enumerate(zip(ours, theirs)):
            out = out.worse(cmp_value(o, t, f"{what}[{i}]", rtol, atol))
        return out
    if isinstance(theirs, float) and not isinstance(ours, bool) and isinstance(ours, (float, int)):
        err = abs(float(ours) - theirs) if not (math.isnan(ours) and math.isnan(theirs)) else 0.0
        allowed = atol + rtol * abs(theirs)
        ok = err <= allowed or ours == theirs
        return Cmp(ok, 0.0 if ok else err, 0.0, allowed, None if ok else f"{what}: {ours!r} vs torch {theirs!r}")
    try:
        ok = bool(ours == theirs)
    except Exception:  # noqa: BLE001 - incomparable types are a mismatch
        ok = False
    return Cmp(ok, 0.0 if ok else math.inf, 0.0, 0.0, None if ok else f"{what}: {ours!r} vs torch {theirs!r}")


def _fail(msg: str) -> Cmp:
    return Cmp(False, math.inf, math.inf, 0.0, msg)


def cmp_optimizers(rg_opt, th_opt, rg_params, th_params, what: str, rtol: float, atol: float) -> Cmp:
    """Parameters, every state entry and the param groups' options."""
    out = Cmp(True)
    for i, (r, t) in enumerate(zip(rg_params, th_params)):
        out = out.worse(cmp_value(r.detach(), t.detach(), f"{what}: param {i}", rtol, atol))
        rs, ts = rg_opt.state.get(r, {}), th_opt.state.get(t, {})
        if set(rs) != set(ts):
            return out.worse(_fail(f"{what}: state keys of param {i}: {sorted(rs)} vs torch {sorted(ts)}"))
        for k in ts:
            out = out.worse(cmp_value(rs[k], ts[k], f"{what}: state[{i}][{k!r}]", rtol, atol))
    if len(rg_opt.param_groups) != len(th_opt.param_groups):
        return out.worse(_fail(f"{what}: {len(rg_opt.param_groups)} param groups vs torch "
                               f"{len(th_opt.param_groups)}"))
    for g, (rgroup, tgroup) in enumerate(zip(rg_opt.param_groups, th_opt.param_groups)):
        if set(rgroup) != set(tgroup):
            return out.worse(_fail(f"{what}: group {g} keys {sorted(rgroup)} vs torch {sorted(tgroup)}"))
        for k in tgroup:
            if k != "params":
                out = out.worse(cmp_value(rgroup[k], tgroup[k], f"{what}: group {g}[{k!r}]", rtol, atol))
    return out


def convert(value, engine):
    """A state_dict from one engine rewritten for the other: tensors through numpy, the rest copied."""
    if isinstance(value, refgrad.Tensor) or _is_torch_tensor(value):
        arr = to_numpy(value).copy()
        return engine.from_numpy(arr) if engine is not refgrad else refgrad.tensor(arr)
    if isinstance(value, dict):
        return {k: convert(v, engine) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(convert(v, engine) for v in value)
    return value


# -- driving both engines -----------------------------------------------------------------------

def _default_lr(cls: str) -> float:
    return float(inspect.signature(getattr(refgrad.optim, cls)).parameters["lr"].default)


def _groups(cls: str, kw: dict, ps: list) -> list:
    """Two param groups: the matrix and the scalar, then the vector and the no-grad one with half the lr."""
    lr = kw.get("lr", _default_lr(cls))
    return [{"params": ps[:2]}, {"params": ps[2:], "lr": lr * 0.5}]


class _Run:
    """One optimizer per engine on copies of the same float64 arrays."""

    def __init__(self, ctx: Ctx, arrays: list[np.ndarray]):
        self.ctx, self.torch = ctx, ctx.torch
        self.cls, self.kw = ctx.spec.meta["cls"], dict(ctx.spec.meta["kwargs"])
        self.lbfgs = self.cls == "LBFGS"
        self.th = [self.torch.tensor(a, dtype=self.torch.float64, requires_grad=True) for a in arrays]
        self.rg = [refgrad.tensor(a, dtype=refgrad.float64, requires_grad=True) for a in arrays]
        if self.lbfgs:  # torch's LBFGS takes one param group
            self.th_opt = _torch_optim(self.torch, self.cls)(self.th, **self.kw)
            self.rg_opt = getattr(refgrad.optim, self.cls)(self.rg, **self.kw)
        else:
            self.th_opt = _torch_optim(self.torch, self.cls)(_groups(self.cls, self.kw, self.th), **self.kw)
            self.rg_opt = getattr(refgrad.optim, self.cls)(_groups(self.cls, self.kw, self.rg), **self.kw)

    @classmethod
    def fresh_copy(cls, ctx: Ctx, rg_arrays, th_arrays) -> _Run:
        """A second pair whose torch side starts from refgrad's params and vice versa."""
        run = cls(ctx, [to_numpy(p).copy() for p in rg_arrays])
        # torch side: refgrad's values (above); refgrad side: torch's
        run.rg = [refgrad.tensor(to_numpy(t).copy(), dtype=refgrad.float64, requires_grad=True) for t in th_arrays]
        if run.lbfgs:
            run.rg_opt = getattr(refgrad.optim, run.cls)(run.rg, **run.kw)
        else:
            run.rg_opt = getattr(refgrad.optim, run.cls)(_groups(run.cls, run.kw, run.rg), **run.kw)
        return run


def _feed(engine, params, noise):
    """Gradient = noise + 0.5 * param (from each engine's own params: the gradient follows the trajectory)."""
    for i, p in enumerate(params):
        if i == NO_GRAD:
            p.grad = None
            continue
        g = noise[i] + 0.5 * to_numpy(p)
        p.grad = refgrad.tensor(g) if engine is refgrad else engine.tensor(g)


def _lbfgs_loss(engine, ps, consts):
    """A Rosenbrock-like valley (a=1, b=5) in ps[0], quadratics in the scalar and the matrix;
    ps[3] gets no gradient."""
    x = ps[0]
    c1, c2 = consts
    return ((1 - x[0]) ** 2 + 5 * (x[1] - x[0] ** 2) ** 2 + 2 * (ps[1] - c1) ** 2
            + ((ps[2] - engine.tensor(c2)) ** 2).sum())


def _do_step(engine, run_params, opt, k, noise, consts, lbfgs):
    """Step k: LBFGS always through its closure; the others alternate plain step() and step(closure)."""
    if lbfgs:
        def closure():
            opt.zero_grad()
            loss = _lbfgs_loss(engine, run_params, consts)
            loss.backward()
            return loss
        return opt.step(closure)
    if k % 2 == 0:
        _feed(engine, run_params, noise)
        return opt.step()

    def closure():
        _feed(engine, run_params, noise)
        return engine.tensor(float(k) + 0.25)
    return opt.step(closure)


def _arrays(ctx: Ctx, lbfgs: bool) -> tuple[list[np.ndarray], list, tuple]:
    rng = ctx.rng("optimizer")
    if lbfgs:
        arrays = [np.array([-1.5, 2.0]), np.asarray(rng.standard_normal()), rng.standard_normal((2, 2)),
                  rng.standard_normal(2)]
        consts = (0.3, rng.standard_normal((2, 2)))
        return arrays, [None] * STEPS, consts
    arrays = [rng.standard_normal(s) for s in SHAPES]
    noises = [[rng.standard_normal(s) for s in SHAPES] for _ in range(STEPS)]
    return arrays, noises, None


def _step_pair(ctx, run: _Run, k, noise, consts, what, rtol, atol) -> Cmp:
    t_loss = _do_step(ctx.torch, run.th, run.th_opt, k, noise, consts, run.lbfgs)
    r_loss = _do_step(refgrad, run.rg, run.rg_opt, k, noise, consts, run.lbfgs)
    c = Cmp(True)
    if (t_loss is None) != (r_loss is None):
        return _fail(f"{what}: step() returned {r_loss!r}, torch {t_loss!r}")
    if t_loss is not None:
        c = cmp_value(r_loss.detach(), t_loss.detach(), f"{what}: loss returned by step(closure)", rtol, atol)
    return c.worse(cmp_optimizers(run.rg_opt, run.th_opt, run.rg, run.th, what, rtol, atol))


def _result(ctx: Ctx, check: str, c: Cmp, extra: str | None = None):
    msg = c.msg if not c.ok else extra
    return ctx.result(check, "passed" if c.ok else "failed", max_abs_err=c.max_abs, max_rel_err=c.max_rel,
                      tolerance=c.tol, blame=None if c.ok else BLAME, message=msg)


def _dense_raises(ctx: Ctx, run: _Run) -> Cmp:
    """SparseAdam: a step with no gradient is a no-op; with a dense gradient both engines raise alike."""
    rtol, atol = ctx.tol("trajectory", OPT_TOL)
    for ps in (run.th, run.rg):
        for p in ps:
            p.grad = None
    run.th_opt.step()
    run.rg_opt.step()
    c = cmp_optimizers(run.rg_opt, run.th_opt, run.rg, run.th, "no-grad step", rtol, atol)
    errors = []
    for engine, ps, opt in ((ctx.torch, run.th, run.th_opt), (refgrad, run.rg, run.rg_opt)):
        _feed(engine, ps, [np.ones(s) for s in SHAPES])
        try:
            opt.step()
            errors.append(None)
        except Exception as e:  # noqa: BLE001 - the error itself is what is compared
            errors.append((type(e).__name__, str(e)))
    if errors[0] != errors[1]:
        c = c.worse(_fail(f"dense-gradient step: refgrad {errors[1]!r} vs torch {errors[0]!r}"))
    return c.worse(cmp_optimizers(run.rg_opt, run.th_opt, run.rg, run.th, "after the dense step", rtol, atol))


def _on_cpu(spec: Spec, device: str) -> bool:
    return device == "cpu"


@register_check("optimizer", "trajectory", dtypes="float64", needs_oracle=True, applies=_on_cpu)
def check_trajectory(ctx: Ctx):
    lbfgs = ctx.spec.meta["cls"] == "LBFGS"
    arrays, noises, consts = _arrays(ctx, lbfgs)
    run = _Run(ctx, arrays)
    rtol, atol = ctx.tol("trajectory", OPT_TOL)
    if ctx.spec.meta.get("dense_raises"):
        return _result(ctx, "trajectory", _dense_raises(ctx, run))
    c = cmp_optimizers(run.rg_opt, run.th_opt, run.rg, run.th, "after construction", rtol, atol)
    for k in range(STEPS):
        c = c.worse(_step_pair(ctx, run, k, noises[k], consts, f"step {k}", rtol, atol))
        if not c.ok:
            break
    if c.ok and not np.array_equal(to_numpy(run.rg[NO_GRAD]), arrays[NO_GRAD]):
        c = _fail("the parameter without a gradient moved")
    return _result(ctx, "trajectory", c)


def _cmp_state_dicts(rg_sd, th_sd, rtol, atol, what) -> Cmp:
    c = cmp_value(rg_sd["param_groups"], th_sd["param_groups"], f"{what}: param_groups", rtol, atol)
    if list(rg_sd["state"]) != list(th_sd["state"]):
        return c.worse(_fail(f"{what}: state ids {list(rg_sd['state'])} vs torch {list(th_sd['state'])}"))
    for i in th_sd["state"]:
        rs, ts = rg_sd["state"][i], th_sd["state"][i]
        if set(rs) != set(ts):
            return c.worse(_fail(f"{what}: state[{i}] keys {sorted(rs)} vs torch {sorted(ts)}"))
        for k in ts:
            c = c.worse(cmp_value(rs[k], ts[k], f"{what}: state[{i}][{k!r}]", rtol, atol))
    return c


@register_check("optimizer", "state_dict", dtypes="float64", needs_oracle=True, applies=_on_cpu)
def check_state_dict(ctx: Ctx):
    lbfgs = ctx.spec.meta["cls"] == "LBFGS"
    arrays, noises, consts = _arrays(ctx, lbfgs)
    run = _Run(ctx, arrays)
    rtol, atol = ctx.tol("state_dict", OPT_TOL)
    c = Cmp(True)
    if ctx.spec.meta.get("dense_raises"):
        for ps in (run.th, run.rg):
            for p in ps:
                p.grad = None
        run.th_opt.step()
        run.rg_opt.step()
    else:
        for k in range(HALF):
            c = c.worse(_step_pair(ctx, run, k, noises[k], consts, f"step {k}", rtol, atol))
            if not c.ok:
                return _result(ctx, "state_dict", c)
    rg_sd, th_sd = run.rg_opt.state_dict(), run.th_opt.state_dict()
    c = c.worse(_cmp_state_dicts(rg_sd, th_sd, rtol, atol, f"state_dict at step {HALF}"))
    if not c.ok:
        return _result(ctx, "state_dict", c)
    # each engine continues from the other's state_dict, on fresh parameter copies
    run2 = _Run.fresh_copy(ctx, run.rg, run.th)
    run2.th_opt.load_state_dict(convert(rg_sd, ctx.torch))
    run2.rg_opt.load_state_dict(convert(th_sd, refgrad))
    c = c.worse(cmp_optimizers(run2.rg_opt, run2.th_opt, run2.rg, run2.th, "after cross-loading", rtol, atol))
    if ctx.spec.meta.get("dense_raises") or not c.ok:
        return _result(ctx, "state_dict", c)
    for k in range(HALF, STEPS):
        c = c.worse(_step_pair(ctx, run, k, noises[k], consts, f"step {k}", rtol, atol))
        c = c.worse(_step_pair(ctx, run2, k, noises[k], consts, f"step {k} (after cross-loading)", rtol, atol))
        if not c.ok:
            break
    return _result(ctx, "state_dict", c)


# LBFGS: its flat dot products / norms (summation order differs from torch's) feed the curvature pairs and
# the line search, and a converging quasi-Newton run amplifies last-bit differences: torch against itself
# with the start perturbed by 1 ulp differs by up to ~3e-10 relative over these 20 steps (measured on this
# function; the classic a=100 Rosenbrock is chaotic here, 1 ulp grows to O(1), so a=5 is used).
LBFGS_TOL = Tol(1e-8, 1e-10, "LBFGS amplifies last-bit summation-order differences: torch vs torch with a "
                             "1-ulp perturbed start differs by ~3e-10 relative after 20 steps")

for _cls, _kw in CASES:
    register(Spec(name=spec_name(_cls, _kw), kind="optimizer", fn=getattr(refgrad.optim, _cls),
                  torch=f"torch.optim.{_cls}", regression=(Sample((), dict(_kw), label=spec_name(_cls, _kw)),),
                  dtypes={"cpu": ("float64",)}, supports_grad=False, supports_gradgrad=False,
                  tolerances={("*", "float64"): LBFGS_TOL} if _cls == "LBFGS" else {},
                  meta={"cls": _cls, "kwargs": dict(_kw), "dense_raises": _cls == "SparseAdam"}))
