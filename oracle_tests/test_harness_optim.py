"""Optimizer and scheduler specs in the gradcheck harness: the CLI sweeps them (--kind optimizer /
scheduler) with 0 failures, a broken optimizer is caught, and every public class has a spec."""
from __future__ import annotations

import inspect

import pytest

import gradcheck
import refgrad
import refgrad.optim.lr_scheduler as RL
from gradcheck import run_spec
from gradcheck.cli import main
from gradcheck.specs import optim as optim_specs
from gradcheck.specs import schedulers as sched_specs

pytest.importorskip("torch")


@pytest.mark.parametrize("kind", ["optimizer", "scheduler"])
def test_cli_sweep_passes(kind):
    assert main(["--kind", kind, "--device", "cpu", "--no-progress"]) == 0


def test_broken_sgd_momentum_is_caught(monkeypatch):
    import refgrad.optim.sgd as sgd_mod

    real = sgd_mod.sgd

    def broken(*args, **kw):
        kw["momentum"] = kw["momentum"] * 0.99  # a slightly wrong momentum update
        return real(*args, **kw)

    spec = gradcheck.get("SGD(lr=0.1,momentum=0.9)", "optimizer")
    assert all(r.status == "passed" for r in run_spec(spec, devices=["cpu"]))
    monkeypatch.setattr(sgd_mod, "sgd", broken)
    results = run_spec(spec, devices=["cpu"])
    failed = {r.check for r in results if r.status == "failed"}
    assert failed == {"trajectory", "state_dict"}, results


def test_broken_scheduler_is_caught(monkeypatch):
    spec = gradcheck.get("StepLR(step_size=7,gamma=0.5)", "scheduler")
    monkeypatch.setattr(RL.StepLR, "get_lr", lambda self: [g["lr"] * 0.999 for g in self.optimizer.param_groups])
    failed = {r.check for r in run_spec(spec, devices=["cpu"]) if r.status == "failed"}
    assert "lr_sequence" in failed


def _public_classes(module, excluded):
    return {n for n in module.__all__ if inspect.isclass(getattr(module, n)) and n not in excluded}


def test_every_optimizer_has_a_spec():
    names = {s.meta["cls"] for s in gradcheck.all_specs(["optimizer"])}
    excluded = set(optim_specs.NOT_SPECCED)
    assert set(refgrad.optim.__all__) - excluded <= names
    assert excluded <= set(refgrad.optim.__all__)


def test_every_scheduler_has_a_spec():
    names = {s.name.split("(")[0] for s in gradcheck.all_specs(["scheduler"])}
    assert _public_classes(RL, sched_specs.NOT_SPECCED) <= names
    assert set(sched_specs.NOT_SPECCED) <= set(RL.__all__)


def test_cuda_is_skipped_for_these_kinds():
    for kind in ("optimizer", "scheduler"):
        spec = gradcheck.all_specs([kind])[0]
        assert spec.dtypes_for("cuda") == ()
