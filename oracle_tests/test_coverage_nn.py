"""Coverage of the harness for refgrad.nn.functional and refgrad.nn.init (like test_coverage.py for the ops).

- Every name of ``refgrad.nn.functional.__all__`` and ``refgrad.nn.init.__all__`` (the public callables
  when a module has no ``__all__``) is covered by a spec -- an op or loss spec named
  ``"nn.functional.NAME"`` / ``"nn.init.NAME"``, or one whose ``fn`` is the very same function object --
  or it is in ``EXEMPT`` with a reason.
- ``EXEMPT`` cannot rot: every entry has a written reason, names a public name that still exists, and has
  no spec as well.
"""
from __future__ import annotations

import inspect

import gradcheck
import refgrad.nn.functional
import refgrad.nn.init

_RANDOM = "random stream differs; distribution tested in oracle_tests/test_nn_init.py"

# "nn.init.NAME" / "nn.functional.NAME" -> why it has no spec
EXEMPT: dict[str, str] = {
    f"nn.init.{name}": _RANDOM
    for name in ("uniform_", "normal_", "trunc_normal_", "xavier_uniform_", "xavier_normal_", "kaiming_uniform_",
                 "kaiming_normal_", "orthogonal_", "sparse_",
                 # deprecated aliases of the above (they warn, then call them)
                 "uniform", "normal", "xavier_uniform", "xavier_normal", "kaiming_uniform", "kaiming_normal",
                 "orthogonal", "sparse")
}

_MODULES = {"nn.functional": refgrad.nn.functional, "nn.init": refgrad.nn.init}


class _Missing:
    def __repr__(self):
        return "<missing>"


_MISSING = _Missing()


def _public(module) -> list[str]:
    names = getattr(module, "__all__", None)
    if names is not None:
        return list(names)
    return [n for n, obj in vars(module).items()
            if not n.startswith("_") and callable(obj) and not inspect.ismodule(obj)
            and getattr(obj, "__module__", None) == module.__name__]


def public_names() -> list[tuple[str, object]]:
    """[("nn.functional.NAME" / "nn.init.NAME", object or _MISSING)]."""
    return [(f"{prefix}.{name}", getattr(module, name, _MISSING))
            for prefix, module in _MODULES.items() for name in _public(module)]


def _specs():
    return gradcheck.all_specs(["op", "loss"])


def uncovered() -> list[str]:
    specs = _specs()
    names = {s.name for s in specs}
    fn_ids = {id(s.fn) for s in specs if s.fn is not None}
    gaps = []
    for name, obj in public_names():
        if name in EXEMPT or name in names or (obj is not _MISSING and id(obj) in fn_ids):
            continue
        gaps.append(name + (" (listed in __all__ but does not resolve)" if obj is _MISSING else ""))
    return gaps


def test_every_public_nn_function_has_a_spec():
    gaps = uncovered()
    assert not gaps, (f"{len(gaps)} public nn name(s) have no spec (add one in gradcheck/specs/nn_functional_more.py "
                      f"or gradcheck/specs/nn_init.py, or an EXEMPT entry with a reason in {__name__}): "
                      + ", ".join(gaps))


def test_exemptions_have_reasons_and_exist():
    existing = {name for name, obj in public_names() if obj is not _MISSING}
    problems = []
    for name, reason in EXEMPT.items():
        if not isinstance(reason, str) or not reason.strip():
            problems.append(f"{name}: empty reason")
        if name not in existing:
            problems.append(f"{name}: not a public name any more (remove the exemption)")
        elif not callable(getattr(_MODULES[name.rsplit(".", 1)[0]], name.rsplit(".", 1)[1])):
            problems.append(f"{name}: not a function")
    assert not problems, "EXEMPT is stale:\n  " + "\n  ".join(problems)


def test_exempt_names_have_no_spec_too():
    names = {s.name for s in _specs()}
    both = sorted(set(EXEMPT) & names)
    assert not both, f"these names have a spec and an exemption (remove the exemption): {both}"


def test_public_names_resolve():
    missing = [name for name, obj in public_names() if obj is _MISSING]
    assert not missing, f"listed in __all__ but not defined: {missing}"


def test_the_coverage_check_sees_a_gap(monkeypatch):
    # the check itself is not vacuous: a public name with no spec and no exemption is reported
    monkeypatch.setattr(refgrad.nn.functional, "__all__", [*refgrad.nn.functional.__all__, "_coverage_probe"])
    monkeypatch.setattr(refgrad.nn.functional, "_coverage_probe", lambda x: x, raising=False)
    assert uncovered() == ["nn.functional._coverage_probe"]
