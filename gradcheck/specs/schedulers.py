"""Scheduler specs (kind "scheduler"): every refgrad.optim.lr_scheduler scheduler driven side by side
with torch.optim.lr_scheduler (optimizer.step() then scheduler.step()) on identical optimizers.

Checks registered here for kind "scheduler" (cpu only, torch oracle required):

- lr_sequence: >= 100 steps; after construction and every step the lr of every param group (and the
  momentum / betas where the scheduler cycles them) and get_last_lr() must be bit-identical to torch's
  (both engines run the same Python float recurrences); the final state_dict must equal torch's.
- state_dict: checkpoint mid-run (optimizer + scheduler state_dicts), restore into fresh objects built
  with a different lr, continue: the sequence must still equal torch's uninterrupted run.

ReduceLROnPlateau is fed a fixed metric sequence (improvements, plateaus, tiny improvements, noise).
"""
from __future__ import annotations

import copy

import numpy as np

import refgrad
import refgrad.optim.lr_scheduler as RL

from ..checks import Ctx, register_check
from ..spec import Sample, Spec, register

STEPS = 150
BLAME = "refgrad's scheduler differs from torch.optim.lr_scheduler: refgrad bug"


class Decay:
    """A callable object (its __dict__ is what LambdaLR/MultiplicativeLR save; plain functions are not)."""

    def __init__(self, base: float) -> None:
        self.base = base

    def __call__(self, epoch: int) -> float:
        return self.base ** epoch


_r = np.random.default_rng(7)
METRIC = [float(v) for v in np.concatenate([np.linspace(1.0, 0.5, 20), np.full(30, 0.5), 0.5 - 1e-6 * np.arange(20),
                                            np.full(40, 0.49), 0.49 + 0.01 * _r.standard_normal(40)])]

# (spec name, optimizer "sgd"/"adam", param groups, factory(lr_scheduler module, optimizer), steps)
CASES = [
    ("LambdaLR(lambda e: 0.95**e)", "sgd", 1, lambda m, o: m.LambdaLR(o, lambda e: 0.95 ** e), STEPS),
    ("LambdaLR([Decay(0.97), 1/(1+e)])", "sgd", 2,
     lambda m, o: m.LambdaLR(o, [Decay(0.97), lambda e: 1 / (1 + e)]), STEPS),
    ("MultiplicativeLR(lambda e: 0.9 or 1.01)", "sgd", 1,
     lambda m, o: m.MultiplicativeLR(o, lambda e: 0.9 if e % 3 == 0 else 1.01), STEPS),
    ("MultiplicativeLR(Decay(0.999))", "sgd", 2, lambda m, o: m.MultiplicativeLR(o, Decay(0.999)), STEPS),
    ("StepLR(step_size=7,gamma=0.5)", "sgd", 1, lambda m, o: m.StepLR(o, step_size=7, gamma=0.5), STEPS),
    ("MultiStepLR([10,30,30,80],gamma=0.3)", "sgd", 2, lambda m, o: m.MultiStepLR(o, [10, 30, 30, 80], gamma=0.3),
     STEPS),
    ("ConstantLR(factor=0.5,total_iters=40)", "sgd", 2, lambda m, o: m.ConstantLR(o, factor=0.5, total_iters=40),
     STEPS),
    ("LinearLR(start_factor=0.01,total_iters=60)", "sgd", 1,
     lambda m, o: m.LinearLR(o, start_factor=0.01, total_iters=60), STEPS),
    ("LinearLR(1.0,0.0,total_iters=100)", "sgd", 2, lambda m, o: m.LinearLR(o, 1.0, 0.0, total_iters=100), STEPS),
    ("ExponentialLR(gamma=0.97)", "sgd", 2, lambda m, o: m.ExponentialLR(o, gamma=0.97), STEPS),
    ("PolynomialLR(total_iters=50,power=2.0)", "sgd", 1, lambda m, o: m.PolynomialLR(o, total_iters=50, power=2.0),
     STEPS),
    ("CosineAnnealingLR(T_max=30,eta_min=1e-3)", "sgd", 2,
     lambda m, o: m.CosineAnnealingLR(o, T_max=30, eta_min=1e-3), STEPS),
    ("ChainedScheduler([ConstantLR,ExponentialLR])", "sgd", 1,
     lambda m, o: m.ChainedScheduler([m.ConstantLR(o, factor=0.1, total_iters=20), m.ExponentialLR(o, 0.98)]),
     STEPS),
    ("SequentialLR([LinearLR,CosineAnnealingLR],milestones=[10])", "sgd", 1,
     lambda m, o: m.SequentialLR(o, [m.LinearLR(o, start_factor=0.01, total_iters=10),
                                     m.CosineAnnealingLR(o, T_max=140)], milestones=[10]), STEPS),
    ("SequentialLR([ConstantLR,ExponentialLR,StepLR],milestones=[5,40])", "sgd", 2,
     lambda m, o: m.SequentialLR(o, [m.ConstantLR(o, 0.2, 5), m.ExponentialLR(o, 0.95), m.StepLR(o, 9, 0.5)],
                                 milestones=[5, 40]), STEPS),
    ("CyclicLR(mode='triangular2',momentum)", "sgd", 2,
     lambda m, o: m.CyclicLR(o, [0.01, 0.02], [0.1, 0.3], step_size_up=8, step_size_down=5, mode="triangular2",
                             base_momentum=[0.8, 0.7], max_momentum=0.95), STEPS),
    ("CyclicLR(mode='exp_range',gamma=0.99)", "sgd", 1,
     lambda m, o: m.CyclicLR(o, 0.001, 0.1, step_size_up=7, mode="exp_range", gamma=0.99), STEPS),
    ("CyclicLR(scale_fn,scale_mode='iterations')", "sgd", 1,
     lambda m, o: m.CyclicLR(o, 0.01, 0.1, step_size_up=6, scale_fn=Decay(0.995), scale_mode="iterations"), STEPS),
    ("CyclicLR(Adam betas)", "adam", 2,
     lambda m, o: m.CyclicLR(o, 1e-4, [1e-3, 2e-3], step_size_up=12, base_momentum=0.85, max_momentum=0.95),
     STEPS),
    ("OneCycleLR(max_lr=[0.5,0.2],anneal_strategy='linear')", "sgd", 2,
     lambda m, o: m.OneCycleLR(o, max_lr=[0.5, 0.2], total_steps=STEPS, anneal_strategy="linear", pct_start=0.25),
     STEPS),
    ("OneCycleLR(three_phase=True,momentum)", "sgd", 1,
     lambda m, o: m.OneCycleLR(o, 1.0, total_steps=STEPS, three_phase=True, div_factor=10.0,
                               final_div_factor=100.0, base_momentum=0.8, max_momentum=0.9), STEPS),
    ("OneCycleLR(Adam betas)", "adam", 1,
     lambda m, o: m.OneCycleLR(o, 3e-3, total_steps=STEPS, base_momentum=[0.8], max_momentum=0.92), STEPS),
    ("CosineAnnealingWarmRestarts(T_0=5,T_mult=2,eta_min=0.01)", "sgd", 2,
     lambda m, o: m.CosineAnnealingWarmRestarts(o, T_0=5, T_mult=2, eta_min=0.01), STEPS),
    ("ReduceLROnPlateau()", "sgd", 1, lambda m, o: m.ReduceLROnPlateau(o), len(METRIC)),
    ("ReduceLROnPlateau(abs,cooldown=4)", "sgd", 1,
     lambda m, o: m.ReduceLROnPlateau(o, threshold_mode="abs", threshold=1e-3, patience=3, cooldown=4, factor=0.5),
     len(METRIC)),
    ("ReduceLROnPlateau(mode='max',patience=2)", "sgd", 1,
     lambda m, o: m.ReduceLROnPlateau(o, mode="max", patience=2, factor=0.3), len(METRIC)),
    ("ReduceLROnPlateau(min_lr=[1e-3,5e-3])", "sgd", 2,
     lambda m, o: m.ReduceLROnPlateau(o, patience=1, factor=0.2, min_lr=[1e-3, 5e-3]), len(METRIC)),
]

NOT_SPECCED = {"LRScheduler": "the base class: exercised through every scheduler spec"}


def _cls_of(name: str) -> str:
    return name.split("(")[0]


def make_opts(torch, kind: str, groups: int, lr: float | list = 0.1):
    """The same optimizer ("sgd" with momentum, or "adam") in both engines, one float64 parameter per param group;
    ``lr`` one for all groups or a list, one per group."""
    lrs = lr if isinstance(lr, list) else [lr] * groups
    pairs = []
    for lib in (refgrad, torch):
        params = [lib.tensor(np.full(2, 1.0 + i), dtype=lib.float64, requires_grad=True) for i in range(groups)]
        cls = lib.optim.SGD if kind == "sgd" else lib.optim.Adam
        extra = {"momentum": 0.9} if kind == "sgd" else {}
        pairs.append(cls([{"params": [p], "lr": lrs[i]} for i, p in enumerate(params)], lr=lrs[0], **extra))
    return pairs


def opt_step(opt, lib) -> None:
    for g in opt.param_groups:
        for p in g["params"]:
            p.grad = lib.tensor(np.array([0.5, -0.25]), dtype=lib.float64)
    opt.step()


def snapshot(opt) -> list:
    """lr and (where present) momentum / betas of every group, as plain floats."""
    out = []
    for g in opt.param_groups:
        out.append(("lr", float(g["lr"])))
        if "momentum" in g:
            out.append(("momentum", float(g["momentum"])))
        if "betas" in g:
            out.append(("betas", tuple(float(b) for b in g["betas"])))
    return out


def state_diff(ours, theirs, where: str = "state_dict") -> str | None:
    """Where ``ours`` differs from torch's state_dict ``theirs`` (keys and values, recursing into nested
    scheduler states), or None."""
    if isinstance(theirs, dict):
        if not isinstance(ours, dict) or set(ours) != set(theirs):
            return f"{where}: keys {sorted(ours) if isinstance(ours, dict) else ours!r} vs torch {sorted(theirs)}"
        for k in theirs:
            d = state_diff(ours[k], theirs[k], f"{where}[{k!r}]")
            if d:
                return d
        return None
    if isinstance(theirs, list):
        if not isinstance(ours, list) or len(ours) != len(theirs):
            return f"{where}: {ours!r} vs torch {theirs!r}"
        for i, (a, b) in enumerate(zip(ours, theirs)):
            d = state_diff(a, b, f"{where}[{i}]")
            if d:
                return d
        return None
    return None if ours == theirs else f"{where}: {ours!r} vs torch {theirs!r}"


def _drive(rs, ts, ropt, topt, torch, start: int, stop: int, metric) -> tuple[str | None, set]:
    seen = set()
    for i in range(start, stop):
        opt_step(ropt, refgrad)
        opt_step(topt, torch)
        if metric is None:
            rs.step()
            ts.step()
        else:
            rs.step(metric[i])
            ts.step(metric[i])
        a, b = snapshot(ropt), snapshot(topt)
        if a != b:
            return f"step {i}: {a} vs torch {b}", seen
        if rs.get_last_lr() != ts.get_last_lr():
            return f"step {i}: get_last_lr {rs.get_last_lr()} vs torch {ts.get_last_lr()}", seen
        seen.add(a[0][1])
    return None, seen


def _build(ctx: Ctx):
    m = ctx.spec.meta
    ropt, topt = make_opts(ctx.torch, m["opt"], m["groups"])
    import torch.optim.lr_scheduler as TL  # noqa: PLC0415 - the oracle is imported on use only
    return ropt, topt, m["factory"](RL, ropt), m["factory"](TL, topt)


def _res(ctx: Ctx, check: str, msg: str | None):
    return ctx.result(check, "failed" if msg else "passed", max_abs_err=None if msg else 0.0, tolerance=0.0,
                      blame=BLAME if msg else None, message=msg)


def _on_cpu(spec: Spec, device: str) -> bool:
    return device == "cpu"


@register_check("scheduler", "lr_sequence", dtypes="float64", needs_oracle=True, applies=_on_cpu)
def check_lr_sequence(ctx: Ctx):
    ropt, topt, rs, ts = _build(ctx)
    m = ctx.spec.meta
    msg = None
    if snapshot(ropt) != snapshot(topt) or rs.get_last_lr() != ts.get_last_lr():
        msg = f"after construction: {snapshot(ropt)} vs torch {snapshot(topt)}"
    if msg is None:
        msg, seen = _drive(rs, ts, ropt, topt, ctx.torch, 0, m["steps"], m["metric"])
        if msg is None:
            msg = state_diff(rs.state_dict(), ts.state_dict())
        if msg is None and len(seen) < 2:
            msg = "the lr never changed: the spec does not exercise the schedule"
    return _res(ctx, "lr_sequence", msg)


@register_check("scheduler", "state_dict", dtypes="float64", needs_oracle=True, applies=_on_cpu)
def check_state_dict(ctx: Ctx):
    ropt, topt, rs, ts = _build(ctx)
    m = ctx.spec.meta
    n, half = m["steps"], m["steps"] // 2
    msg, _ = _drive(rs, ts, ropt, topt, ctx.torch, 0, half, m["metric"])
    if msg is None:
        msg = state_diff(rs.state_dict(), ts.state_dict(), "mid-run state_dict")
    if msg is None:
        checkpoint = copy.deepcopy({"opt": ropt.state_dict(), "sched": rs.state_dict()})
        ropt2, _ = make_opts(ctx.torch, m["opt"], m["groups"], lr=0.7)  # the checkpoint must restore the lr
        rs2 = m["factory"](RL, ropt2)
        ropt2.load_state_dict(checkpoint["opt"])
        rs2.load_state_dict(checkpoint["sched"])
        msg, _ = _drive(rs2, ts, ropt2, topt, ctx.torch, half, n, m["metric"])
        if msg is None:
            msg = state_diff(rs2.state_dict(), ts.state_dict(), "final state_dict")
    return _res(ctx, "state_dict", msg)


for _name, _opt, _groups, _factory, _steps in CASES:
    _cls = _cls_of(_name)
    register(Spec(name=_name, kind="scheduler", fn=getattr(RL, _cls), torch=f"torch.optim.lr_scheduler.{_cls}",
                  regression=(Sample((), {}, label=f"{_steps} steps, {_groups} group(s), {_opt}"),),
                  dtypes={"cpu": ("float64",)}, supports_grad=False, supports_gradgrad=False,
                  meta={"opt": _opt, "groups": _groups, "factory": _factory, "steps": _steps,
                        "metric": METRIC if _cls == "ReduceLROnPlateau" else None}))
