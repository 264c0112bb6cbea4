"""refgrad.optim.lr_scheduler against torch.optim.lr_scheduler: every scheduler and option set is driven
side by side (optimizer.step() then scheduler.step(), the order that must warn nothing) for >= 100 steps,
and the learning rates (and cycled momentum / betas) must be bit-identical: both engines run the same
Python float recurrences. state_dicts must equal torch's and round-trip mid-run."""
from __future__ import annotations

import copy
import gc
import math
import warnings
import weakref

import numpy as np
import pytest
import torch
import torch.optim.lr_scheduler as TL

import refgrad
import refgrad.optim.lr_scheduler as RL
from gradcheck.specs import schedulers as _specs
from gradcheck.specs.schedulers import Decay, opt_step, snapshot, state_diff
from refgrad.optim.optimizer import Optimizer
from refgrad.optim.sgd import SGD

STEPS = 150


def make_opts(kind: str = "sgd", groups: int = 1, lr=0.1):
    return _specs.make_opts(torch, kind, groups, lr)


def assert_state_equal(ours, theirs, where: str = "state_dict") -> None:
    diff = state_diff(ours, theirs, where)
    assert diff is None, diff


def drive(rs, ts, ropt, topt, n: int, start: int = 0, metric=None) -> set:
    """n steps of optimizer.step(); scheduler.step() in both engines, compared after every step.
    Returns the set of first-group lrs seen."""
    seen = set()
    for i in range(start, start + n):
        opt_step(ropt, refgrad)
        opt_step(topt, torch)
        if metric is None:
            rs.step()
            ts.step()
        else:
            rs.step(metric[i])
            ts.step(metric[i])
        assert snapshot(ropt) == snapshot(topt), f"step {i}"
        assert rs.get_last_lr() == ts.get_last_lr(), f"get_last_lr at step {i}"
        seen.add(float(ropt.param_groups[0]["lr"]))
    return seen


# (id, optimizer kind, param groups, factory(lr_scheduler module, optimizer) -> scheduler, steps)
CASES = [
    ("LambdaLR-fn", "sgd", 1, lambda m, o: m.LambdaLR(o, lambda e: 0.95 ** e), STEPS),
    ("LambdaLR-list-callable", "sgd", 2, lambda m, o: m.LambdaLR(o, [Decay(0.97), lambda e: 1 / (1 + e)]), STEPS),
    ("MultiplicativeLR", "sgd", 1, lambda m, o: m.MultiplicativeLR(o, lambda e: 0.9 if e % 3 == 0 else 1.01), STEPS),
    ("MultiplicativeLR-callable", "sgd", 2, lambda m, o: m.MultiplicativeLR(o, Decay(0.999)), STEPS),
    ("StepLR", "sgd", 1, lambda m, o: m.StepLR(o, step_size=7, gamma=0.5), STEPS),
    ("StepLR-1", "sgd", 2, lambda m, o: m.StepLR(o, step_size=1), STEPS),
    ("MultiStepLR-dup", "sgd", 1, lambda m, o: m.MultiStepLR(o, [10, 30, 30, 80], gamma=0.3), STEPS),
    ("ConstantLR", "sgd", 1, lambda m, o: m.ConstantLR(o), STEPS),
    ("ConstantLR-half", "sgd", 2, lambda m, o: m.ConstantLR(o, factor=0.5, total_iters=40), STEPS),
    ("LinearLR", "sgd", 1, lambda m, o: m.LinearLR(o), STEPS),
    ("LinearLR-warmup", "sgd", 1, lambda m, o: m.LinearLR(o, start_factor=0.01, total_iters=60), STEPS),
    ("LinearLR-decay-to-0", "sgd", 2, lambda m, o: m.LinearLR(o, 1.0, 0.0, total_iters=100), STEPS),
    ("LinearLR-down", "sgd", 1, lambda m, o: m.LinearLR(o, 0.9, 0.2, total_iters=33), STEPS),
    ("ExponentialLR", "sgd", 2, lambda m, o: m.ExponentialLR(o, gamma=0.97), STEPS),
    ("PolynomialLR", "sgd", 1, lambda m, o: m.PolynomialLR(o, total_iters=120), STEPS),
    ("PolynomialLR-pow2", "sgd", 1, lambda m, o: m.PolynomialLR(o, total_iters=50, power=2.0), STEPS),
    ("PolynomialLR-pow0.5", "sgd", 1, lambda m, o: m.PolynomialLR(o, total_iters=90, power=0.5), STEPS),
    ("CosineAnnealingLR", "sgd", 1, lambda m, o: m.CosineAnnealingLR(o, T_max=100), STEPS),
    # past T_max the chainable form climbs back up; the trough step takes torch's additive branch
    ("CosineAnnealingLR-periods", "sgd", 2, lambda m, o: m.CosineAnnealingLR(o, T_max=30, eta_min=1e-3), STEPS),
    ("ChainedScheduler", "sgd", 1,
     lambda m, o: m.ChainedScheduler([m.ConstantLR(o, factor=0.1, total_iters=20), m.ExponentialLR(o, 0.98)]), STEPS),
    ("ChainedScheduler-opt", "sgd", 2,
     lambda m, o: m.ChainedScheduler([m.StepLR(o, 10), m.CosineAnnealingLR(o, 40)], optimizer=o), STEPS),
    # the module docstring's warmup recipe (the seeds' WarmupCosineLR)
    ("SequentialLR-warmup-cosine", "sgd", 1,
     lambda m, o: m.SequentialLR(o, [m.LinearLR(o, start_factor=0.01, total_iters=10),
                                     m.CosineAnnealingLR(o, T_max=140)], milestones=[10]), STEPS),
    ("SequentialLR-three", "sgd", 2,
     lambda m, o: m.SequentialLR(o, [m.ConstantLR(o, 0.2, 5), m.ExponentialLR(o, 0.95), m.StepLR(o, 9, 0.5)],
                                 milestones=[5, 40]), STEPS),
    ("ChainedScheduler-of-SequentialLR", "sgd", 1,
     lambda m, o: m.ChainedScheduler([m.SequentialLR(o, [m.LinearLR(o, 0.1, total_iters=20), m.StepLR(o, 15)],
                                                     milestones=[20]), m.ExponentialLR(o, 0.99)]), STEPS),
    ("CyclicLR-triangular", "sgd", 1, lambda m, o: m.CyclicLR(o, 0.01, 0.1, step_size_up=10), STEPS),
    ("CyclicLR-triangular2", "sgd", 2,
     lambda m, o: m.CyclicLR(o, [0.01, 0.02], [0.1, 0.3], step_size_up=8, step_size_down=5, mode="triangular2",
                             base_momentum=[0.8, 0.7], max_momentum=0.95), STEPS),
    ("CyclicLR-exp_range", "sgd", 1,
     lambda m, o: m.CyclicLR(o, 0.001, 0.1, step_size_up=7, mode="exp_range", gamma=0.99), STEPS),
    ("CyclicLR-scale_fn-cycle", "sgd", 1,
     lambda m, o: m.CyclicLR(o, 0.01, 0.1, step_size_up=6, scale_fn=lambda x: 1 / x), STEPS),
    ("CyclicLR-scale_fn-iterations", "sgd", 1,
     lambda m, o: m.CyclicLR(o, 0.01, 0.1, step_size_up=6, scale_fn=Decay(0.995), scale_mode="iterations"), STEPS),
    ("CyclicLR-no-momentum", "sgd", 1,
     lambda m, o: m.CyclicLR(o, 0.01, 0.1, step_size_up=9, cycle_momentum=False), STEPS),
    ("CyclicLR-adam-betas", "adam", 2,
     lambda m, o: m.CyclicLR(o, 1e-4, [1e-3, 2e-3], step_size_up=12, base_momentum=0.85, max_momentum=0.95),
     STEPS),
    ("OneCycleLR-cos", "sgd", 1, lambda m, o: m.OneCycleLR(o, max_lr=0.5, total_steps=STEPS), STEPS),
    ("OneCycleLR-linear", "sgd", 2,
     lambda m, o: m.OneCycleLR(o, max_lr=[0.5, 0.2], total_steps=STEPS, anneal_strategy="linear", pct_start=0.25),
     STEPS),
    ("OneCycleLR-three_phase", "sgd", 1,
     lambda m, o: m.OneCycleLR(o, 1.0, total_steps=STEPS, three_phase=True, div_factor=10.0,
                               final_div_factor=100.0, base_momentum=0.8, max_momentum=0.9), STEPS),
    ("OneCycleLR-epochs", "sgd", 1,
     lambda m, o: m.OneCycleLR(o, 0.3, epochs=10, steps_per_epoch=12, cycle_momentum=False), 120),
    ("OneCycleLR-adam-betas", "adam", 1,
     lambda m, o: m.OneCycleLR(o, 3e-3, total_steps=STEPS, base_momentum=[0.8], max_momentum=0.92,
                               three_phase=True), STEPS),
    ("CosineAnnealingWarmRestarts", "sgd", 1, lambda m, o: m.CosineAnnealingWarmRestarts(o, T_0=10), STEPS),
    ("CosineAnnealingWarmRestarts-mult", "sgd", 2,
     lambda m, o: m.CosineAnnealingWarmRestarts(o, T_0=5, T_mult=2, eta_min=0.01), STEPS),
]
CASE_IDS = [c[0] for c in CASES]


def build(kind, groups, factory):
    ropt, topt = make_opts(kind, groups)
    return ropt, topt, factory(RL, ropt), factory(TL, topt)


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_sequence_matches_torch(case):
    _, kind, groups, factory, n = case
    ropt, topt, rs, ts = build(kind, groups, factory)
    assert snapshot(ropt) == snapshot(topt), "after construction"
    assert rs.get_last_lr() == ts.get_last_lr()
    seen = drive(rs, ts, ropt, topt, n)
    assert_state_equal(rs.state_dict(), ts.state_dict())
    # the schedule did move: a constant sequence would make the comparison vacuous
    assert len(seen) > 1
    if isinstance(rs, RL.OneCycleLR):
        # one step past total_steps is torch's ValueError
        with pytest.raises(ValueError, match="Tried to step") as ours:
            opt_step(ropt, refgrad)
            rs.step()
        with pytest.raises(ValueError) as theirs:
            opt_step(topt, torch)
            ts.step()
        assert str(ours.value) == str(theirs.value)


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_state_dict_round_trip(case):
    """Checkpoint mid-run (optimizer + scheduler), restore into fresh objects, continue: same as torch's run."""
    _, kind, groups, factory, n = case
    ropt, topt, rs, ts = build(kind, groups, factory)
    half = n // 2
    drive(rs, ts, ropt, topt, half)
    rsd, tsd = rs.state_dict(), ts.state_dict()
    assert_state_equal(rsd, tsd, "mid-run state_dict")
    checkpoint = copy.deepcopy({"opt": ropt.state_dict(), "sched": rsd})
    ropt2, _ = make_opts(kind, groups, lr=0.7)  # different lr: the checkpoint must restore it
    rs2 = factory(RL, ropt2)
    ropt2.load_state_dict(checkpoint["opt"])
    sched_sd = checkpoint["sched"]
    keys_before = set(sched_sd)
    rs2.load_state_dict(sched_sd)
    assert set(sched_sd) == keys_before, "load_state_dict must not consume the caller's dict"
    assert rs2.state_dict().keys() == rsd.keys()
    drive(rs2, ts, ropt2, topt, n - half, start=half)


def test_lambda_state_saves_callable_objects_only():
    ropt, topt, rs, ts = build("sgd", 2, lambda m, o: m.LambdaLR(o, [Decay(0.9), lambda e: 1.0]))
    sd = rs.state_dict()
    assert sd["lr_lambdas"] == [{"base": 0.9}, None] == ts.state_dict()["lr_lambdas"]
    ropt2, _ = make_opts("sgd", 2)
    rs2 = RL.LambdaLR(ropt2, [Decay(0.5), lambda e: 1.0])
    rs2.load_state_dict(sd)
    assert rs2.lr_lambdas[0].base == 0.9


# ReduceLROnPlateau: a fixed metric sequence with improvements, plateaus and noise
_rng = np.random.default_rng(7)
METRIC = list(np.concatenate([np.linspace(1.0, 0.5, 20), np.full(30, 0.5), 0.5 - 1e-6 * np.arange(20),
                              np.full(40, 0.49), 0.49 + 0.01 * _rng.standard_normal(40)]).astype(float))
PLATEAU = [
    ("min-rel", 1, {}),
    ("min-abs-cooldown", 1, {"threshold_mode": "abs", "threshold": 1e-3, "patience": 3, "cooldown": 4,
                             "factor": 0.5}),
    ("max-rel", 1, {"mode": "max", "patience": 2, "factor": 0.3}),
    ("max-abs", 1, {"mode": "max", "threshold_mode": "abs", "threshold": 0.01, "patience": 0}),
    ("min_lr-list", 2, {"patience": 1, "factor": 0.2, "min_lr": [1e-3, 5e-3]}),
    ("min_lr-eps", 1, {"patience": 1, "factor": 0.9, "min_lr": 0.05, "eps": 1e-3}),
]


@pytest.mark.parametrize("metric_sign", [1.0, -1.0], ids=["metric", "neg-metric"])
@pytest.mark.parametrize("groups, kwargs", [p[1:] for p in PLATEAU], ids=[p[0] for p in PLATEAU])
def test_reduce_lr_on_plateau(groups, kwargs, metric_sign):
    metric = [metric_sign * v for v in METRIC]
    ropt, topt, rs, ts = build("sgd", groups, lambda m, o: m.ReduceLROnPlateau(o, **kwargs))
    assert_state_equal(rs.state_dict(), ts.state_dict(), "fresh")
    drive(rs, ts, ropt, topt, 75, metric=metric)
    # round trip mid-run, then continue against torch
    sd = copy.deepcopy(rs.state_dict())
    assert_state_equal(sd, ts.state_dict(), "mid-run")
    ropt2, _ = make_opts("sgd", groups)
    rs2 = RL.ReduceLROnPlateau(ropt2)
    ropt2.load_state_dict(copy.deepcopy(ropt.state_dict()))
    rs2.load_state_dict(sd)
    drive(rs2, ts, ropt2, topt, len(metric) - 75, start=75, metric=metric)
    assert_state_equal(rs2.state_dict(), ts.state_dict(), "end")


def test_reduce_lr_on_plateau_reduces():
    # a constant metric: patience 2 -> the lr drops every 3rd epoch, down to min_lr
    (ropt, _), lrs = make_opts("sgd"), []
    s = RL.ReduceLROnPlateau(ropt, patience=2, factor=0.5, min_lr=0.02)
    for _ in range(12):
        s.step(refgrad.tensor(1.0))  # a 0-d tensor metric goes through float()
        lrs.append(s.get_last_lr()[0])
    assert lrs == [0.1] * 3 + [0.05] * 3 + [0.025] * 3 + [0.02] * 3


# step(epoch): the deprecated path uses the closed form where torch has one
CLOSED = [
    lambda m, o: m.StepLR(o, 3, 0.5),
    lambda m, o: m.MultiStepLR(o, [2, 5, 5, 9], 0.5),
    lambda m, o: m.ConstantLR(o, 0.25, 4),
    lambda m, o: m.LinearLR(o, 0.2, 0.9, 6),
    lambda m, o: m.ExponentialLR(o, 0.9),
    lambda m, o: m.PolynomialLR(o, 8, 1.5),
    lambda m, o: m.CosineAnnealingLR(o, 7, 0.01),
    lambda m, o: m.LambdaLR(o, lambda e: 1 / (e + 1)),  # no closed form: get_lr at the given epoch
]
EPOCHS = [1, 2, 5, 3, 3, 10, 0, 7, 12, 6, 20]


@pytest.mark.parametrize("factory", CLOSED, ids=["StepLR", "MultiStepLR", "ConstantLR", "LinearLR", "ExponentialLR",
                                                 "PolynomialLR", "CosineAnnealingLR", "LambdaLR"])
def test_step_with_epoch_closed_form(factory):
    ropt, topt, rs, ts = build("sgd", 1, factory)
    for e in EPOCHS:
        opt_step(ropt, refgrad)
        opt_step(topt, torch)
        with pytest.warns(UserWarning, match="epoch parameter"):
            rs.step(e)
        with pytest.warns(UserWarning, match="epoch parameter"):
            ts.step(e)
        assert rs.get_last_lr() == ts.get_last_lr(), f"epoch {e}"
        assert rs.last_epoch == ts.last_epoch == e


@pytest.mark.parametrize("t_mult", [1, 3])
def test_warm_restarts_fractional_epoch(t_mult):
    """torch's documented pattern: scheduler.step(epoch + i / iters); no deprecation warning."""
    ropt, topt, rs, ts = build("sgd", 1, lambda m, o: m.CosineAnnealingWarmRestarts(o, 4, t_mult, eta_min=1e-3))
    iters = 7
    for epoch in range(16):
        for i in range(iters):
            opt_step(ropt, refgrad)
            opt_step(topt, torch)
            rs.step(epoch + i / iters)
            ts.step(epoch + i / iters)
            assert rs.get_last_lr() == ts.get_last_lr(), (epoch, i)
            assert (rs.T_cur, rs.T_i, rs.last_epoch) == (ts.T_cur, ts.T_i, ts.last_epoch)
    assert_state_equal(rs.state_dict(), ts.state_dict())


RESUMABLE = [
    ("ExponentialLR", lambda m, o, le: m.ExponentialLR(o, 0.95, last_epoch=le)),
    ("CosineAnnealingLR", lambda m, o, le: m.CosineAnnealingLR(o, 25, 0.001, last_epoch=le)),
    ("LinearLR", lambda m, o, le: m.LinearLR(o, 0.1, total_iters=40, last_epoch=le)),
    ("PolynomialLR", lambda m, o, le: m.PolynomialLR(o, 90, 2.0, last_epoch=le)),
    ("MultiplicativeLR", lambda m, o, le: m.MultiplicativeLR(o, lambda e: 0.99, last_epoch=le)),
    ("CyclicLR", lambda m, o, le: m.CyclicLR(o, 0.01, 0.1, 6, last_epoch=le)),
    ("OneCycleLR", lambda m, o, le: m.OneCycleLR(o, 0.4, total_steps=130, last_epoch=le)),
    ("CosineAnnealingWarmRestarts", lambda m, o, le: m.CosineAnnealingWarmRestarts(o, 6, 2, last_epoch=le)),
]


@pytest.mark.parametrize("factory", [r[1] for r in RESUMABLE], ids=[r[0] for r in RESUMABLE])
def test_resume_with_last_epoch(factory):
    """A second scheduler built with last_epoch=k on the same optimizer (torch's resume path)."""
    ropt, topt, rs, ts = build("sgd", 1, lambda m, o: factory(m, o, -1))
    drive(rs, ts, ropt, topt, 20)
    rs2, ts2 = factory(RL, ropt, 20), factory(TL, topt, 20)
    assert snapshot(ropt) == snapshot(topt)
    drive(rs2, ts2, ropt, topt, 100, start=20)


def test_resume_without_initial_lr_is_key_error():
    ropt, topt = make_opts()
    with pytest.raises(KeyError) as ours:
        RL.StepLR(ropt, 3, last_epoch=4)
    with pytest.raises(KeyError) as theirs:
        TL.StepLR(topt, 3, last_epoch=4)
    assert str(ours.value) == str(theirs.value)


def test_tensor_lr_is_filled_in_place():
    ropt, topt = (opt_cls([lib.zeros(2, dtype=lib.float64, requires_grad=True)],
                          lr=lib.tensor(0.1, dtype=lib.float64))
                  for opt_cls, lib in ((SGD, refgrad), (torch.optim.SGD, torch)))
    rlr = ropt.param_groups[0]["lr"]
    rs, ts = RL.ExponentialLR(ropt, 0.9), TL.ExponentialLR(topt, 0.9)
    assert isinstance(rs.base_lrs[0], refgrad.Tensor) and rs.base_lrs[0] is not rlr
    for _ in range(5):
        opt_step(ropt, refgrad)
        opt_step(topt, torch)
        rs.step()
        ts.step()
    assert ropt.param_groups[0]["lr"] is rlr, "a tensor lr is updated in place (torch's fill_)"
    last = rs.get_last_lr()[0]
    assert isinstance(last, refgrad.Tensor) and last is not rlr
    assert float(last) == float(ts.get_last_lr()[0]) == float(rlr)


def test_tensor_lr_through_compositions():
    """Tensor lrs through SequentialLR (reset to initial_lr), OneCycleLR (tensor max_lr) and ReduceLROnPlateau."""
    runs = []
    for lib, opt_cls, m in ((refgrad, SGD, RL), (torch, torch.optim.SGD, TL)):
        opt = opt_cls([lib.zeros(2, dtype=lib.float64, requires_grad=True)], lr=lib.tensor(0.1, dtype=lib.float64),
                      momentum=0.9)
        lrs = []

        def run(sched, n, *metric):
            for _ in range(n):
                opt_step(opt, lib)  # noqa: B023 - called within this iteration
                sched.step(*metric)
                lrs.append(float(opt.param_groups[0]["lr"]))  # noqa: B023

        run(m.SequentialLR(opt, [m.LinearLR(opt, 0.1, total_iters=5), m.CosineAnnealingLR(opt, 20)], [5]), 30)
        run(m.OneCycleLR(opt, lib.tensor(0.5, dtype=lib.float64), total_steps=30), 29)
        run(m.ReduceLROnPlateau(opt, patience=0), 5, 1.0)
        assert isinstance(opt.param_groups[0]["lr"], (refgrad.Tensor, torch.Tensor))
        runs.append(lrs)
    assert runs[0] == runs[1]


# ---------------------------------------------------------------------------- warnings


def test_normal_order_warns_nothing():
    ropt, _ = make_opts()
    s = RL.StepLR(ropt, 2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for _ in range(5):
            opt_step(ropt, refgrad)
            s.step()
    assert s.get_last_lr() == [pytest.approx(0.001)]  # decayed at epochs 2 and 4


@pytest.mark.parametrize("lib, mod", [(refgrad, RL), (torch, TL)], ids=["refgrad", "torch"])
def test_scheduler_before_optimizer_warns(lib, mod):
    ropt = make_opts()[0 if lib is refgrad else 1]
    s = mod.ExponentialLR(ropt, 0.5)
    with pytest.warns(UserWarning, match=r"Detected call of `lr_scheduler.step\(\)` before `optimizer.step\(\)`"):
        s.step()
    opt_step(ropt, lib)
    s.step()  # only the first step is checked


@pytest.mark.parametrize("lib, mod", [(refgrad, RL), (torch, TL)], ids=["refgrad", "torch"])
def test_overridden_optimizer_step_warns(lib, mod):
    ropt = make_opts()[0 if lib is refgrad else 1]
    s = mod.ExponentialLR(ropt, 0.5)
    ropt.step = lambda closure=None: None
    with pytest.warns(UserWarning, match=r"`optimizer.step\(\)` has been overridden"):
        s.step()


@pytest.mark.parametrize("lib, mod", [(refgrad, RL), (torch, TL)], ids=["refgrad", "torch"])
def test_get_lr_outside_step_warns(lib, mod):
    ropt = make_opts()[0 if lib is refgrad else 1]
    s = mod.StepLR(ropt, 2)
    with pytest.warns(UserWarning, match=r"please use `get_last_lr\(\)`"):
        s.get_lr()


def test_chained_inside_sequential_warns_like_torch():
    """SequentialLR's constructor re-runs the initial step of a ChainedScheduler, which steps its inner
    schedulers for real: before any optimizer.step() that is torch's 'Detected call' warning, once per scheduler."""
    counts = []
    for mod, opt in ((RL, make_opts()[0]), (TL, make_opts()[1])):
        with warnings.catch_warnings(record=True) as rec:
            warnings.simplefilter("always")
            mod.SequentialLR(opt, [mod.ChainedScheduler([mod.LinearLR(opt, 0.1), mod.ExponentialLR(opt, 0.9)]),
                                   mod.StepLR(opt, 3)], milestones=[5])
        counts.append(sum("Detected call of `lr_scheduler.step()`" in str(w.message) for w in rec))
    assert counts == [2, 2]


def test_optimizer_step_wrapped_once_and_no_cycle():
    ropt, _ = make_opts()
    RL.StepLR(ropt, 2)
    wrapped = ropt.step
    RL.ExponentialLR(ropt, 0.9)
    assert ropt.step is wrapped and wrapped._wrapped_by_lr_sched
    opt_step(ropt, refgrad)
    assert ropt._opt_called is True
    # the wrapper holds the optimizer weakly: optimizer and scheduler die by refcount, no cycle collector
    gc.disable()
    try:
        opt = SGD([refgrad.zeros(2, requires_grad=True)], lr=0.1)
        sched = RL.StepLR(opt, 2)
        alive = weakref.ref(opt)
        del opt, sched
        assert alive() is None
    finally:
        gc.enable()


# ---------------------------------------------------------------------------- errors


def _plain(lib_opt, lib):
    """An optimizer without momentum or betas (its step does nothing)."""
    cls = type("Plain", (lib_opt,), {"step": lambda self, closure=None: None})
    return cls([lib.zeros(1, requires_grad=True)], {"lr": 0.1})


ERRORS = [
    ("ConstantLR-factor", lambda m, o: m.ConstantLR(o, factor=1.5)),
    ("ConstantLR-neg", lambda m, o: m.ConstantLR(o, factor=-0.1)),
    ("LinearLR-start0", lambda m, o: m.LinearLR(o, start_factor=0.0)),
    ("LinearLR-end", lambda m, o: m.LinearLR(o, end_factor=1.5)),
    ("LambdaLR-len", lambda m, o: m.LambdaLR(o, [lambda e: 1.0] * 2)),
    ("MultiplicativeLR-len", lambda m, o: m.MultiplicativeLR(o, (lambda e: 1.0,) * 3)),
    ("MultiplicativeLR-not-callable", lambda m, o: m.MultiplicativeLR(o, 0.5)),
    ("not-an-optimizer", lambda m, o: m.StepLR(o.param_groups, 3)),
    ("plateau-factor", lambda m, o: m.ReduceLROnPlateau(o, factor=1.0)),
    ("plateau-mode", lambda m, o: m.ReduceLROnPlateau(o, mode="middle")),
    ("plateau-threshold_mode", lambda m, o: m.ReduceLROnPlateau(o, threshold_mode="both")),
    ("plateau-min_lr-len", lambda m, o: m.ReduceLROnPlateau(o, min_lr=[0.1, 0.2])),
    ("plateau-not-an-optimizer", lambda m, o: m.ReduceLROnPlateau(None)),
    ("cyclic-mode", lambda m, o: m.CyclicLR(o, 0.01, 0.1, mode="square")),
    ("cyclic-base_lr-len", lambda m, o: m.CyclicLR(o, [0.01, 0.02], 0.1)),
    ("cyclic-max_momentum-len", lambda m, o: m.CyclicLR(o, 0.01, 0.1, max_momentum=[0.9, 0.9])),
    ("onecycle-no-steps", lambda m, o: m.OneCycleLR(o, 0.1)),
    ("onecycle-epochs-only", lambda m, o: m.OneCycleLR(o, 0.1, epochs=3)),
    ("onecycle-total0", lambda m, o: m.OneCycleLR(o, 0.1, total_steps=0)),
    ("onecycle-total-float", lambda m, o: m.OneCycleLR(o, 0.1, total_steps=10.0)),
    ("onecycle-epochs", lambda m, o: m.OneCycleLR(o, 0.1, epochs=-1, steps_per_epoch=3)),
    ("onecycle-steps_per_epoch", lambda m, o: m.OneCycleLR(o, 0.1, epochs=2, steps_per_epoch=0)),
    ("onecycle-pct", lambda m, o: m.OneCycleLR(o, 0.1, total_steps=10, pct_start=1.5)),
    ("onecycle-pct-int", lambda m, o: m.OneCycleLR(o, 0.1, total_steps=10, pct_start=1)),
    ("onecycle-anneal", lambda m, o: m.OneCycleLR(o, 0.1, total_steps=10, anneal_strategy="exp")),
    ("onecycle-max_lr-len", lambda m, o: m.OneCycleLR(o, [0.1, 0.2], total_steps=10)),
    ("warm-T_0", lambda m, o: m.CosineAnnealingWarmRestarts(o, 0)),
    ("warm-T_0-float", lambda m, o: m.CosineAnnealingWarmRestarts(o, 2.5)),
    ("warm-T_mult", lambda m, o: m.CosineAnnealingWarmRestarts(o, 3, T_mult=0)),
    ("warm-T_mult-float", lambda m, o: m.CosineAnnealingWarmRestarts(o, 3, T_mult=1.5)),
    ("warm-eta_min", lambda m, o: m.CosineAnnealingWarmRestarts(o, 3, eta_min="0")),
    ("warm-neg-epoch", lambda m, o: m.CosineAnnealingWarmRestarts(o, 3).step(-1)),
    ("sequential-empty", lambda m, o: m.SequentialLR(o, [], [])),
    ("sequential-milestones", lambda m, o: m.SequentialLR(o, [m.StepLR(o, 2), m.StepLR(o, 3)], [1, 2])),
    ("sequential-plateau", lambda m, o: m.SequentialLR(o, [m.StepLR(o, 2), m.ReduceLROnPlateau(o)], [1])),
    ("sequential-no-optimizer", lambda m, o: m.SequentialLR(o, [m.StepLR(o, 2), object()], [1])),
    # torch restarts the next scheduler with _update_lr(0), which a ChainedScheduler (no get_lr) cannot do
    ("sequential-chained-after-milestone",
     lambda m, o: [o.step(), m.SequentialLR(o, [m.StepLR(o, 2), m.ChainedScheduler([m.StepLR(o, 3)])], [1]).step()]),
    ("chained-empty", lambda m, o: m.ChainedScheduler([])),
    ("chained-plateau", lambda m, o: m.ChainedScheduler([m.ReduceLROnPlateau(o)], o)),
]


def _raised(fn):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # warm-neg-epoch's constructor is fine; only the exception matters
        try:
            fn()
        except Exception as e:  # noqa: BLE001 - the point is to compare whatever each engine raises
            return e
    raise AssertionError("no exception raised")


@pytest.mark.parametrize("factory", [e[1] for e in ERRORS], ids=[e[0] for e in ERRORS])
def test_errors_match_torch(factory):
    ropt, topt = make_opts()
    ours, theirs = _raised(lambda: factory(RL, ropt)), _raised(lambda: factory(TL, topt))
    assert type(ours) is type(theirs), f"refgrad raised {ours!r}, torch {theirs!r}"
    assert str(ours) == str(theirs)


@pytest.mark.parametrize("which", ["CyclicLR", "OneCycleLR"])
def test_cycle_momentum_needs_momentum_or_betas(which):
    msgs = []
    for lib, base, mod in ((refgrad, Optimizer, RL), (torch, torch.optim.Optimizer, TL)):
        opt = _plain(base, lib)
        kwargs = {"base_lr": 0.01, "max_lr": 0.1} if which == "CyclicLR" else {"max_lr": 0.1, "total_steps": 10}
        with pytest.raises(ValueError, match="momentum or beta1") as e:
            getattr(mod, which)(opt, **kwargs)
        msgs.append(str(e.value))
        getattr(mod, which)(opt, cycle_momentum=False, **kwargs)  # fine without cycling
    assert msgs[0] == msgs[1]


@pytest.mark.parametrize("which", ["SequentialLR", "ChainedScheduler"])
@pytest.mark.parametrize("side", [0, 1], ids=["refgrad", "torch"])
def test_composed_schedulers_need_one_optimizer(which, side):
    mod = (RL, TL)[side]
    opt, other_opt = make_opts()[side], make_opts()[side]
    scheds = [mod.StepLR(opt, 2), mod.StepLR(other_opt, 2)]
    with pytest.raises(ValueError, match="expects all schedulers to belong to the same optimizer"):
        if which == "SequentialLR":
            mod.SequentialLR(opt, scheds, [3])
        else:
            mod.ChainedScheduler(scheds)


def test_plateau_new_param_group():
    """min_lr given as a list and a group added later: torch's RuntimeError; a scalar min_lr adapts."""
    for lib, mod, opt in ((refgrad, RL, make_opts()[0]), (torch, TL, make_opts()[1])):
        s = mod.ReduceLROnPlateau(opt, patience=0, min_lr=[0.0])
        s.step(1.0)
        opt.add_param_group({"params": [lib.zeros(1, dtype=lib.float64, requires_grad=True)]})
        with pytest.raises(RuntimeError, match="differs from when `ReduceLROnPlateau` was initialized"):
            s.step(2.0)
    ropt, topt = make_opts()
    rs, ts = RL.ReduceLROnPlateau(ropt, patience=0, min_lr=0.001), TL.ReduceLROnPlateau(topt, patience=0, min_lr=0.001)
    for opt, s, lib in ((ropt, rs, refgrad), (topt, ts, torch)):
        s.step(1.0)
        opt.add_param_group({"params": [lib.zeros(1, dtype=lib.float64, requires_grad=True)], "lr": 0.5})
        s.step(2.0)
    assert rs.min_lrs == ts.min_lrs == [0.001, 0.001]
    assert snapshot(ropt) == snapshot(topt)


def test_public_names():
    assert set(RL.__all__) == set(TL.__all__)
    for name in TL.__all__:
        assert issubclass(getattr(RL, name), RL.LRScheduler)
    assert math.isclose(RL.OneCycleLR._annealing_cos(1.0, 0.0, 0.5), 0.5)
