"""The harness's mutation self-test (DESIGN.md section 4, "sensitivity is proven"): every wrong backward
rule injected into a real refgrad op must be caught, by the checks that are supposed to see it, on a
probe spec that passes unmutated; patches never outlive their mutation."""
from __future__ import annotations

import functools

import pytest

pytest.importorskip("torch")

import gradcheck.oracle as _oracle  # noqa: E402
from gradcheck import mutations as M  # noqa: E402
from gradcheck.cli import main  # noqa: E402

CATALOGUE = M.CATALOGUE


@functools.cache
def _clean_failures(target: str) -> tuple[str, ...]:
    return tuple(M._failed(M._run(M.probe(target), {"seed": 0})))


def test_catalogue_has_at_least_20_kinds_on_real_ops():
    assert len(CATALOGUE) >= 20
    assert len({m.name for m in CATALOGUE}) == len(CATALOGUE), "mutation names must be unique"
    assert len({m.kind for m in CATALOGUE}) >= 20, "at least 20 distinct kinds of wrong backward rule"
    kinds = {m.kind for m in CATALOGUE}
    for required in ("sign flip", "scale 1e-4 relative", "dropped broadcast reduction", "transposed matmul gradient",
                     "missing correction term", "wrong tie rule", "ignores incoming gradient",
                     "detached second derivative"):
        assert required in kinds
    for m in CATALOGUE:
        assert m.patches and m.description
        for p in m.patches:
            # the patched object belongs to refgrad (an op's primitive class, or the engine)
            module = p.owner.__name__ if not isinstance(p.owner, type) else p.owner.__module__
            assert module.startswith("refgrad."), (m.name, module)
            assert hasattr(p.owner, p.attr), (m.name, p.attr)
        assert M.probe(m.target).torch is not None


@pytest.mark.parametrize("target", sorted({m.target for m in CATALOGUE}))
def test_unmutated_probe_passes(target):
    """A kill only means something if the clean spec passes."""
    assert _clean_failures(target) == ()


@pytest.mark.parametrize("mutation", CATALOGUE, ids=[m.name for m in CATALOGUE])
def test_mutation_is_killed(mutation):
    before = M.snapshot(mutation.patches)
    out = M.run_mutation(mutation, clean=list(_clean_failures(mutation.target)))
    assert out.verdict == "killed", (out.verdict, out.note, out.caught_by)
    assert mutation.expect <= set(out.caught_by), f"must be caught by {sorted(mutation.expect)}, was {out.caught_by}"
    failed = [r for r in out.results if r.status == "failed"]
    assert failed and all(r.repro for r in failed)
    # restored: the very same objects are back, and the probe passes again
    assert all(a is b for a, b in zip(M.snapshot(mutation.patches), before))
    after = M._failed(M._run(M.probe(mutation.target), {"seed": 0}))
    assert after == []


def test_scale_1e4_is_caught_by_fd_on_every_sample():
    """FD's derived tolerance sees a 1e-4 relative error by itself, with a wide margin."""
    m = next(m for m in CATALOGUE if m.name == "tanh-scale-1e-4")
    out = M.run_mutation(m, checks=["fd"])
    fd = [r for r in out.results if r.check == "fd"]
    assert fd and all(r.status == "failed" for r in fd)
    assert all(r.max_abs_err > 100 * r.tolerance for r in fd)
    assert all("refgrad bug" in (r.blame or "") for r in fd)


def test_patches_are_undone_even_when_the_run_raises():
    for m in CATALOGUE:
        before = M.snapshot(m.patches)
        with pytest.raises(KeyboardInterrupt):  # not an Exception: nothing may swallow it
            with M.patched(m.patches):
                inside = M.snapshot(m.patches)
                assert any(a is not b for a, b in zip(inside, before))
                raise KeyboardInterrupt
        assert all(a is b for a, b in zip(M.snapshot(m.patches), before)), m.name


def test_inherited_backward_is_shadowed_then_removed():
    # _MaxDim / _Gather inherit backward: the patch shadows it and undoing removes the shadow
    from refgrad.ops import indexing, reduction

    for owner in (reduction._MaxDim, indexing._Gather):
        assert "backward" not in vars(owner)
        with M.patched([M.Patch(owner, "backward", lambda orig: orig)]):
            assert "backward" in vars(owner)
            assert isinstance(vars(owner)["backward"], staticmethod)
        assert "backward" not in vars(owner)


def test_run_all_reports_kill_rate_and_restores():
    chosen = M.select(["softmax", "maximum", "*broadcast*"])
    assert {m.target for m in chosen} == {"softmax", "maximum", "add"}
    assert M.select(["exp"]) == [m for m in CATALOGUE if m.target == "exp"]  # exact target: the probe's repro
    assert {m.target for m in M.select(["correction"])} == {"softmax", "var"}  # substring of names
    assert {m.target for m in M.select(["*softmax*"])} == {"softmax", "log_softmax"}
    outcomes = M.run_all(chosen)
    assert M.ok(outcomes)
    assert M.kill_rate(outcomes) == (len(chosen), len(chosen))
    text = M.table(outcomes)
    assert f"kill rate: {len(chosen)}/{len(chosen)} (100%)" in text
    for m in chosen:
        assert m.name in text


def test_without_the_oracle_fd_still_kills_everything_it_can_judge():
    chosen = M.select(["tanh-scale-1e-4", "maximum-tie-all-to-first", "log-detached-second-derivative"])
    _oracle.set_enabled(False)
    try:
        outcomes = {o.mutation.name: o for o in M.run_all(chosen)}
    finally:
        _oracle.set_enabled(True)
    assert outcomes["tanh-scale-1e-4"].verdict == "killed"
    assert "fd" in outcomes["tanh-scale-1e-4"].caught_by
    assert outcomes["log-detached-second-derivative"].caught_by == ["gradgrad_fd"]
    assert outcomes["maximum-tie-all-to-first"].verdict == "n/a"  # a tie convention needs torch
    assert M.kill_rate(list(outcomes.values())) == (2, 2)


def test_a_blind_check_set_lets_mutations_survive():
    """The self-test can fail: FD alone cannot see a detached second derivative."""
    out = M.run_mutation(next(m for m in CATALOGUE if m.name == "mul-detached-second-derivative"), checks=["fd"])
    assert out.verdict == "SURVIVED" and not out.caught_by


def test_cli_mutations(capsys):
    assert main(["--mutations", "-k", "tanh-scale-1e-4", "-k", "matmul"]) == 0
    out = capsys.readouterr().out
    assert "tanh-scale-1e-4" in out and "matmul-transposed-gradient" in out
    assert "kill rate: 2/2 (100%)" in out
    assert main(["--mutations", "-k", "detached", "--checks", "fd"]) == 1
    out = capsys.readouterr().out
    assert "SURVIVED" in out and "kill rate: 0/2 (0%)" in out
    assert main(["--mutations", "--list"]) == 0
    out = capsys.readouterr().out
    assert f"{len(CATALOGUE)} mutations" in out
    assert main(["--mutations", "-k", "no-such-mutation"]) == 2
    assert main(["--mutations", "--json", "x.json"]) == 2
    capsys.readouterr()

