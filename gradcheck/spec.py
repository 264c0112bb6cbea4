"""Specs (PyTorch's OpInfo, generalised to modules, losses, optimizers and schedulers) and the registry.

A spec says what to run (``fn``), what to compare it with (``torch``: resolved lazily, so the
harness imports without torch), which inputs to feed it (hand-written ``regression`` samples plus a
seeded ``sampler``), where the function is not differentiable (``avoid``/``domain``, kept away from
by the samplers), which dtypes each device supports, whether double backward is checked, and any
tolerance override, each with its written reason.
"""
from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

KINDS = ("op", "module", "loss", "optimizer", "scheduler", "target")
DEFAULT_DTYPES = {"cpu": ("float32", "float64"), "cuda": ("float32", "float64")}


@dataclass(frozen=True)
class Tol:
    """A tolerance override. ``reason`` is mandatory: a widened tolerance without a reason hides bugs.

    For the comparisons with torch (forward, vjp, gradgrad_oracle, parity, invariants) rtol/atol
    replace torch.testing's defaults; for the finite-difference checks they are added to the
    tolerance derived from the FD error estimate (rtol relative to the magnitude of the derivative).
    """

    rtol: float
    atol: float
    reason: str

    def __post_init__(self):
        if not isinstance(self.reason, str) or not self.reason.strip():
            raise ValueError("a tolerance override needs a written reason (Tol(rtol, atol, reason='...'))")


@dataclass
class Sample:
    """One input set. ``args`` are numpy arrays (floating ones are cast to the dtype under test and,
    unless ``diff`` says otherwise, differentiated) or constants passed through unchanged (dims,
    exponents, index tuples). Integer/bool arrays become non-differentiable tensors."""

    args: tuple
    kwargs: dict = field(default_factory=dict)
    diff: Sequence[int] | None = None
    label: str = ""

    def __post_init__(self):
        self.args = tuple(self.args)

    def diff_indices(self) -> list[int]:
        if self.diff is not None:
            return list(self.diff)
        return [i for i, a in enumerate(self.args) if isinstance(a, np.ndarray) and a.dtype.kind == "f"]

    def describe(self) -> str:
        if self.label:
            return self.label
        parts = []
        for a in self.args:
            if isinstance(a, np.ndarray):
                parts.append("(" + ",".join(map(str, a.shape)) + ("," if a.ndim == 1 else "") + ")")
            else:
                parts.append(repr(a))
        text = "x".join(parts)
        if self.kwargs:
            text += " " + ",".join(f"{k}={v!r}" for k, v in self.kwargs.items())
        return text


Sampler = Callable[[np.random.Generator, int], Sample]


@dataclass
class Spec:
    """What the harness needs to check one op / module / loss / optimizer / scheduler.

    name: registry key (unique per kind); the CLI's -k matches it.
    kind: one of KINDS; it selects the checks that run (see ``gradcheck.checks.register_check``).
    fn: the refgrad callable; it receives refgrad tensors in place of the sample's arrays.
    torch: the torch counterpart, either a dotted name resolved lazily ("torch.exp",
        "torch.nn.functional.softmax") or a callable taking the torch module and returning the
        function (``lambda torch: lambda x, i: x[i]``); None when there is no oracle.
    sampler: ``sampler(rng, i) -> Sample``, the i-th random sample drawn from ``rng`` (the harness
        seeds rng from the run seed, spec name, sample index and retry number, so every sample is
        reproducible alone). Cycle shape patterns by ``i`` (0-d, size-1 dims, broadcasting both
        ways, empty) so that the first few samples already cover them.
    regression: hand-written samples, checked before the random ones (sample indices 0..k-1).
    avoid: ``avoid(sample) -> float``: distance from the nearest kink / tie / pole; random samples
        closer than ``margin`` are redrawn (see ``gradcheck.sampling.kinks_at``, ``ties``).
    domain: ``domain(sample) -> bool``: random samples outside it are redrawn (log: x > 0).
    dtypes: dtypes per device type.
    supports_grad / supports_gradgrad: whether first / double backward are checked.
    tolerances: {(check, dtype): Tol}, "*" as a wildcard for either.
    fd_step: the base finite-difference step (scaled by the inputs' RMS magnitude).
    meta: kind-specific data for the checks of other kinds (module constructors, optimizer
        hyper-parameters, ...).
    """

    name: str
    kind: str = "op"
    fn: Callable | None = None
    torch: str | Callable | None = None
    sampler: Sampler | None = None
    regression: Sequence[Sample] = ()
    avoid: Callable[[Sample], float] | None = None
    margin: float = 0.05
    domain: Callable[[Sample], bool] | None = None
    dtypes: dict = field(default_factory=lambda: dict(DEFAULT_DTYPES))
    supports_grad: bool = True
    supports_gradgrad: bool = True
    tolerances: dict = field(default_factory=dict)
    fd_step: float = 1e-3
    meta: dict = field(default_factory=dict)

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"spec {self.name!r}: kind must be one of {KINDS}, got {self.kind!r}")
        if not self.name or not isinstance(self.name, str):
            raise ValueError("a spec needs a non-empty string name")
        for key, tol in self.tolerances.items():
            if not (isinstance(key, tuple) and len(key) == 2):
                raise ValueError(f"spec {self.name!r}: tolerance keys are (check, dtype) pairs, got {key!r}")
            if not isinstance(tol, Tol):
                raise TypeError(f"spec {self.name!r}: tolerance {key!r} must be a Tol(rtol, atol, reason)")
        self.regression = tuple(self.regression)

    def tolerance(self, check: str, dtype: str) -> Tol | None:
        for key in ((check, dtype), (check, "*"), ("*", dtype), ("*", "*")):
            if key in self.tolerances:
                return self.tolerances[key]
        return None

    def dtypes_for(self, device: str) -> tuple[str, ...]:
        return tuple(self.dtypes.get(device.split(":")[0], ()))

    def torch_fn(self, torch_module=None):
        """The torch counterpart, resolved now (imports torch when given a dotted name)."""
        if self.torch is None:
            return None
        if isinstance(self.torch, str):
            return resolve_dotted(self.torch)
        if torch_module is None:
            import torch as torch_module  # noqa: PLC0415 - the oracle is optional: import on use
        return self.torch(torch_module)


def resolve_dotted(name: str) -> Any:
    """'torch.nn.functional.softmax' -> the object, importing the longest importable module prefix."""
    parts = name.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            if cut == 1:
                raise
            continue
        for attr in parts[cut:]:
            obj = getattr(obj, attr)
        return obj
    raise ImportError(name)


# -- the registry -------------------------------------------------------------------------------

REGISTRY: dict[str, dict[str, Spec]] = {k: {} for k in KINDS}


def register(spec: Spec | None = None, /, **fields):
    """Register a spec: ``register(Spec(...))``, or as a decorator that makes the decorated function
    the spec's sampler::

        @register(name="exp", fn=refgrad.exp, torch="torch.exp")
        def _(rng, i):
            return Sample((rng.uniform(-2, 2, (3, 4)),))

    Names are unique per kind: registering a name twice raises ValueError.
    """
    if spec is not None:
        if fields:
            raise TypeError("register(spec) takes no keyword fields")
        return _add(spec)

    def deco(sampler):
        _add(Spec(sampler=sampler, **fields))
        return sampler
    return deco


def _add(spec: Spec) -> Spec:
    if not isinstance(spec, Spec):
        raise TypeError(f"register() expects a Spec, got {type(spec).__name__}")
    table = REGISTRY[spec.kind]
    if spec.name in table:
        raise ValueError(f"a {spec.kind} spec named {spec.name!r} is already registered")
    table[spec.name] = spec
    return spec


def unregister(kind: str, name: str) -> None:
    REGISTRY[kind].pop(name, None)


def all_specs(kinds: Sequence[str] | None = None) -> list[Spec]:
    """Every registered spec (loading the spec modules first), in kind then registration order."""
    from .specs import load_all  # noqa: PLC0415 - specs import the registry: avoid the cycle

    load_all()
    kinds = kinds or KINDS
    return [s for k in kinds for s in REGISTRY.get(k, {}).values()]


def get(name: str, kind: str = "op") -> Spec:
    from .specs import load_all  # noqa: PLC0415

    load_all()
    try:
        return REGISTRY[kind][name]
    except KeyError:
        raise KeyError(f"no {kind} spec named {name!r}") from None
