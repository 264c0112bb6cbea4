"""nn in the gradcheck harness: the CLI sweeps the module, loss and nn.functional specs with 0 failures,
a broken layer is caught by the twin and FD checks, and every public layer/loss class has a module spec
(or an explicit exemption with its reason)."""
from __future__ import annotations

import inspect

import pytest

import gradcheck
import refgrad
import refgrad.nn.functional as F
import refgrad.nn.modules as M
from gradcheck import run_spec
from gradcheck.cli import main
from gradcheck.specs import nn_functional, nn_losses, nn_modules  # noqa: F401 - registers the specs

pytest.importorskip("torch")


@pytest.mark.parametrize("argv", [["--kind", "module"], ["--kind", "loss"], ["--kind", "op", "-k", "nn.functional."]])
def test_cli_sweep_passes(argv):
    assert main([*argv, "--device", "cpu", "--no-progress"]) == 0


class _ScaleGrad(refgrad.autograd.Function):
    """Identity forward, backward 0.1% too large: a subtly broken backward."""

    @staticmethod
    def forward(ctx, x):
        return x.clone()

    @staticmethod
    def backward(ctx, g):
        return g * 1.001


def _failed(spec):
    return {r.check for r in run_spec(spec, devices=["cpu"], n_samples=1) if r.status == "failed"}


def _break_layer_norm(monkeypatch):
    real = F.layer_norm
    monkeypatch.setattr(F, "layer_norm", lambda *a, **k: _ScaleGrad.apply(real(*a, **k)))


def _break_conv2d(monkeypatch):
    real = M.Conv2d._fn  # the module binds its functional at class creation
    monkeypatch.setattr(M.Conv2d, "_fn", staticmethod(lambda *a, **k: _ScaleGrad.apply(real(*a, **k))))


@pytest.mark.parametrize("name,breaker", [("LayerNorm", _break_layer_norm), ("Conv2d", _break_conv2d)])
def test_broken_backward_fails_twin_and_fd(monkeypatch, name, breaker):
    spec = gradcheck.get(name, "module")
    assert _failed(spec) == set()
    breaker(monkeypatch)
    assert {"twin", "fd"} <= _failed(spec)


def test_wrong_running_stats_fail_twin(monkeypatch):
    spec = gradcheck.get("BatchNorm2d", "module")
    real = F.batch_norm

    def broken(*a, **k):
        out = real(*a, **k)
        running_mean = a[1] if len(a) > 1 else k.get("running_mean")
        if running_mean is not None:
            with refgrad.no_grad():
                running_mean.mul_(1.001)  # a slightly wrong running-statistics update
        return out
    monkeypatch.setattr(F, "batch_norm", broken)
    results = run_spec(spec, devices=["cpu"], n_samples=1)
    bad = [r for r in results if r.status == "failed" and r.check == "twin"]
    # the mutated buffer shows in the buffer comparison (float32) or, saved for backward in eval mode,
    # in the weight gradient (float64)
    assert bad and any("buffer running_mean" in r.message for r in bad), results


def test_broken_loss_backward_is_caught(monkeypatch):
    spec = gradcheck.get("nn.functional.mse_loss", "loss")
    real = F.mse_loss
    monkeypatch.setattr(spec, "fn", lambda x, y, **k: real(_ScaleGrad.apply(x), y, **k))
    assert {"vjp", "fd"} <= _failed(spec)


def _layer_classes():
    return [n for n in M.__all__ if inspect.isclass(getattr(M, n))]


def test_every_layer_and_loss_class_has_a_module_spec():
    covered = {s.meta["cls"] for s in gradcheck.all_specs(["module"]) if "cls" in s.meta}
    exempt = {**nn_modules.EXEMPT, **nn_modules.pending_exemptions()}
    missing = set(_layer_classes()) - covered - set(exempt)
    assert not missing, f"module classes without a spec (add one to gradcheck/specs/nn_modules.py): {sorted(missing)}"
    assert set(nn_modules.EXEMPT) <= set(M.__all__)
    assert all(isinstance(r, str) and r for r in exempt.values())
    assert not covered & set(nn_modules.EXEMPT), "a class is both specced and exempt"


def test_every_loss_functional_has_a_loss_spec():
    import refgrad.nn._loss as L

    names = {s.name.removeprefix("nn.functional.") for s in gradcheck.all_specs(["loss"])}
    assert set(L.__all__) <= names


def test_module_specs_cover_train_and_eval_and_both_dtypes():
    spec = gradcheck.get("BatchNorm1d", "module")
    results = run_spec(spec, devices=["cpu"], n_samples=1)
    assert {(r.check, r.dtype) for r in results} >= {("twin", "float32"), ("twin", "float64"), ("fd", "float64"),
                                                     ("state_dict_keys", "float64")}
    assert {r.message for r in results if r.check == "fd"} == {None} and len([r for r in results
                                                                            if r.check == "fd"]) == 2
