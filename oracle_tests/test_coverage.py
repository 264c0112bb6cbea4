"""Coverage of the harness: every public op has a spec, and the specs' claims are true.

- Every name of ``refgrad.ops.__all__`` (all families) and of ``refgrad.linalg.__all__`` (as
  ``"linalg.NAME"``) is covered by an op spec: one with that name, or one whose ``fn`` is the very
  same function object (aliases such as ``clip is clamp``), or it is in ``EXEMPT`` with a reason.
- ``EXEMPT`` cannot rot: every entry has a written reason and names something that still exists.
- Every spec refers to an existing callable, and its torch counterpart resolves.
- "Unsupported" claims are checked: a spec with ``supports_gradgrad=False`` must really fail at a
  double backward (raise, or return a first derivative that is not differentiable), and every dtype
  listed in a spec's ``meta["unsupported_dtypes"]`` must raise when the op is called in it.
"""
from __future__ import annotations

import numpy as np
import pytest

import gradcheck
import refgrad
import refgrad.ops
from gradcheck.oracle import differentiable, flatten, materialize
from gradcheck.sampling import draw

# Public names that cannot be checked against torch value for value, each with the reason.
_RANDOM = ("draws from refgrad's own seeded PCG64 stream (refgrad/ops/creation.py), which by design "
           "cannot reproduce torch's Philox/MT19937 stream value for value; the harness compares values, "
           "so there is nothing to compare (shapes, dtypes, seeding and distributions are tested in "
           "oracle_tests/test_creation.py)")
_RNG_STATE = ("RNG state utility: it returns/sets refgrad's generator state, whose format is numpy's, not "
              "torch's; nothing to compare value for value")
EXEMPT: dict[str, str] = {
    # random sampling (refgrad.ops.creation)
    "rand": _RANDOM, "randn": _RANDOM, "randint": _RANDOM, "randperm": _RANDOM, "rand_like": _RANDOM,
    "randn_like": _RANDOM, "randint_like": _RANDOM, "normal": _RANDOM, "bernoulli": _RANDOM,
    "multinomial": _RANDOM, "poisson": _RANDOM,
    # generators and seed utilities
    "Generator": "a class (the RNG object), not an op: " + _RANDOM,
    "default_generator": "an object (the global Generator instance), not an op",
    "manual_seed": "seed utility: seeds refgrad's own stream, returns the Generator; " + _RNG_STATE,
    "seed": "seed utility: draws a non-deterministic seed from the OS by definition",
    "initial_seed": "seed utility: " + _RNG_STATE,
    "get_rng_state": _RNG_STATE,
    "set_rng_state": _RNG_STATE,
    # not ops
    "linalg.LinAlgError": "an exception class (RuntimeError subclass), not an op; raised like torch's in "
                          "oracle_tests/test_ops_linalg.py::test_singular_inputs_raise_linalg_error_like_torch",
}


# -- the public surface ----------------------------------------------------------------------------

def public_names() -> dict[str, list[tuple[str, object]]]:
    """{family module: [(public name, object)]}: refgrad.ops families, then the torch.linalg namespace.
    An object is ``_MISSING`` when the name is listed in ``__all__`` but does not resolve."""
    out: dict[str, list[tuple[str, object]]] = {}
    for fam in refgrad.ops.FAMILIES:
        out[fam.__name__] = [(n, getattr(fam, n, _MISSING)) for n in getattr(fam, "__all__", ())]
    out["refgrad.linalg"] = [("linalg." + n, _resolve_linalg(n)) for n in refgrad.linalg.__all__]
    return out


class _Missing:
    def __repr__(self):
        return "<missing>"


_MISSING = _Missing()


def _resolve_linalg(name):
    try:
        return getattr(refgrad.linalg, name)
    except AttributeError:
        return _MISSING


def _op_specs():
    return gradcheck.all_specs(["op"])


def uncovered() -> dict[str, list[str]]:
    """{family: [names with no spec and no exemption]}."""
    specs = _op_specs()
    names = {s.name for s in specs}
    fn_ids = {id(s.fn) for s in specs if s.fn is not None}
    gaps: dict[str, list[str]] = {}
    for family, entries in public_names().items():
        for name, obj in entries:
            if name in EXEMPT or name in names:
                continue
            if obj is not _MISSING and id(obj) in fn_ids:
                continue
            gaps.setdefault(family, []).append(name + (" (listed in __all__ but does not resolve)"
                                                       if obj is _MISSING else ""))
    return gaps


# -- coverage -------------------------------------------------------------------------------------

def test_every_public_op_has_a_spec():
    gaps = uncovered()
    total = sum(len(v) for v in gaps.values())
    lines = [f"{total} public op(s) have no spec (add a Spec named after the op in gradcheck/specs/, or an "
             f"EXEMPT entry with a reason in {__name__}):"]
    for family, missing in gaps.items():
        lines.append(f"  {family} ({len(missing)}): {', '.join(missing)}")
    assert not gaps, "\n".join(lines)


def test_exemptions_have_reasons_and_exist():
    existing = {name for entries in public_names().values() for name, obj in entries if obj is not _MISSING}
    problems = []
    for name, reason in EXEMPT.items():
        if not isinstance(reason, str) or not reason.strip():
            problems.append(f"{name}: empty reason")
        if name not in existing:
            problems.append(f"{name}: not a public name any more (remove the exemption)")
    assert not problems, "EXEMPT is stale:\n  " + "\n  ".join(problems)


def test_exempt_names_have_no_spec_too():
    # an exemption for a name that has a spec is dead weight (and hides that the spec exists)
    names = {s.name for s in _op_specs()}
    both = sorted(set(EXEMPT) & names)
    assert not both, f"these names have a spec and an exemption (remove the exemption): {both}"


def test_public_names_resolve():
    missing = [name for entries in public_names().values() for name, obj in entries if obj is _MISSING]
    assert not missing, f"listed in __all__ but not defined: {missing}"


# -- the specs refer to real things ------------------------------------------------------------------

_ALL_SPECS = gradcheck.all_specs()


@pytest.mark.parametrize("spec", _ALL_SPECS, ids=lambda s: f"{s.kind}:{s.name}")
def test_spec_refers_to_existing_callables(spec):
    if spec.kind in ("op", "target"):
        assert spec.fn is not None, f"{spec.name}: op spec without fn"
    if spec.fn is not None:
        assert callable(spec.fn), f"{spec.name}: fn {spec.fn!r} is not callable"
    assert spec.regression or spec.sampler is not None, f"{spec.name}: no samples at all"
    if spec.torch is not None:
        torch = pytest.importorskip("torch")
        fn = spec.torch_fn(torch)
        assert callable(fn), f"{spec.name}: torch counterpart {spec.torch!r} resolves to non-callable {fn!r}"


def _first_sample(spec, differentiable_only=False):
    """The first regression sample, else random sample 0 (seed 0); with ``differentiable_only`` the
    first of those (regression, then 4 random) that has an input to differentiate."""
    candidates = list(spec.regression)
    if spec.sampler is not None:
        candidates += [draw(spec, seed=0, index=i) for i in range(4)]
    if differentiable_only:
        candidates = [s for s in candidates if s.diff_indices()]
    return candidates[0] if candidates else None


# -- unsupported claims must be true -------------------------------------------------------------------

_NO_GRADGRAD = [s for s in _ALL_SPECS if s.kind == "op" and s.supports_grad and not s.supports_gradgrad]


def _double_backward(spec, sample, device):
    """Attempt a double backward as the harness would (float64, cotangent requiring grad).
    Returns None when it works, or a description of why it does not."""
    args, kw, ins = materialize(sample, "float64", device)
    if not ins:
        return "no differentiable inputs"
    outs = [o for o in differentiable(flatten(spec.fn(*args, **kw)))]
    if not outs:
        return "no differentiable outputs"
    rng = np.random.default_rng(0)
    vs = [refgrad.tensor(rng.standard_normal(tuple(o.shape)), device=device).requires_grad_(True) for o in outs]
    g1 = refgrad.autograd.grad(outs, ins, vs, allow_unused=True, create_graph=True)
    g1 = [g for g in g1 if g is not None and g.requires_grad]
    if not g1:
        return "the first derivative does not require grad"
    ws = [refgrad.tensor(rng.standard_normal(tuple(g.shape)), device=device) for g in g1]
    g2 = refgrad.autograd.grad(g1, ins + vs, ws, allow_unused=True)
    if all(g is None for g in g2):
        # e.g. once_differentiable: its error node has no path to the inputs, so grad() prunes it
        return "the first derivative has no path back to the inputs or the cotangent"
    return None


@pytest.mark.parametrize("spec", _NO_GRADGRAD, ids=lambda s: s.name)
def test_gradgrad_unsupported_claim_is_true(spec, device):
    if "float64" not in spec.dtypes_for(device):
        pytest.skip(f"{spec.name} does not run float64 on {device}")
    sample = _first_sample(spec, differentiable_only=True)
    if sample is None:
        pytest.skip(f"{spec.name} has no sample with a differentiable input")
    try:
        why = _double_backward(spec, sample, device)
    except Exception:  # noqa: BLE001 - raising is exactly what the claim says
        return
    assert why is not None, (f"{spec.name} says supports_gradgrad=False, but double backward works on sample "
                             f"{sample.describe()!r}: drop the claim so that double backward is checked")


def _unsupported(spec, device) -> list[str]:
    un = spec.meta.get("unsupported_dtypes", ())
    if isinstance(un, dict):
        un = un.get(device.split(":")[0], ())
    return list(un)


_UNSUPPORTED = [(s, d) for s in _ALL_SPECS if s.kind == "op"
                for d in sorted({x for dev in ("cpu", "cuda") for x in _unsupported(s, dev)})]


@pytest.mark.parametrize("spec,dtype", _UNSUPPORTED, ids=lambda x: getattr(x, "name", x))
def test_unsupported_dtype_claim_raises(spec, dtype, device):
    if dtype not in _unsupported(spec, device):
        pytest.skip(f"{dtype} is not claimed unsupported on {device}")
    assert dtype not in spec.dtypes_for(device), f"{spec.name}: {dtype} is both claimed unsupported and listed"
    sample = _first_sample(spec)
    args, kw, _ = materialize(sample, dtype, device, grad=False)
    try:
        spec.fn(*args, **kw)
    except Exception:  # noqa: BLE001 - any error: the claim is "it does not run in this dtype"
        return
    pytest.fail(f"{spec.name} claims {dtype} unsupported on {device}, but calling it in {dtype} works on sample "
                f"{sample.describe()!r}")
