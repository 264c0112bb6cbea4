"""The checks, pluggable per spec kind.

A check is a function ``check(ctx) -> Result | list[Result]`` registered for one or more kinds with
``@register_check(kinds, name, group=...)``; a spec's kind decides which checks run on it, so specs
for modules, optimizers or schedulers bring their own check set by registering checks for their
kind. ``--checks`` selects by name or by group.

Checks for kind "op" (and "target", the CLI's --target), per sample and device:

- forward (group oracle): refgrad vs torch in the sample's dtype, torch.testing's tolerances.
- vjp (oracle): VJP with a random signed cotangent vs torch (an all-ones cotangent hides a
  backward that ignores its input); on failure FD breaks the tie (three-way blame).
- fd (fd): directional finite differences in float64 vs refgrad's VJP, tolerance derived from the FD
  error estimate; kinks detected and redrawn away from (see gradcheck.fd).
- gradgrad_fd / gradgrad_oracle (gradgrad): double backward (w.r.t. inputs and cotangent) vs FD
  of refgrad's own first derivative, and vs torch (float64).
- parity (parity): cuda vs cpu, forward and VJP, on non-cpu devices.
- invariants (invariants): inputs and cotangents not mutated, gradient shape/dtype/device,
  zero cotangent -> zero gradient, linearity in the cotangent, backward deterministic.
"""
from __future__ import annotations

import shlex
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

import refgrad

from . import blame as _blame
from . import fd as _fd
from .oracle import differentiable, flatten, is_tensor, materialize, rg_tensor, th_tensor, to_numpy
from .result import Result
from .sampling import rng_for
from .spec import Sample, Spec

# torch.testing.assert_close's defaults per dtype: the floor for comparisons with torch
TOL = {"float16": (1e-3, 1e-5), "bfloat16": (1.6e-2, 1e-5), "float32": (1.3e-6, 1e-5), "float64": (1e-7, 1e-7)}
# gradients go through more ops (other summation orders than torch's): a documented widening
GRAD_TOL = {"float16": (1e-2, 1e-3), "bfloat16": (5e-2, 1e-3), "float32": (1e-5, 1e-5), "float64": (1e-7, 1e-7)}
GRADGRAD_WIDEN = 10   # double backward: two chained backward passes
KINK_RETRIES = 3      # fresh draws of a random sample the FD probe found on a kink


@dataclass
class Check:
    name: str
    group: str
    fn: Callable
    dtypes: str = "each"           # "each": every dtype under test; "float64": once, in float64
    needs_oracle: bool = False
    applies: Callable[[Spec, str], bool] | None = None


CHECKS: dict[str, dict[str, Check]] = {}


def register_check(kinds: str | Sequence[str], name: str, group: str | None = None, dtypes: str = "each",
                   needs_oracle: bool = False, applies: Callable[[Spec, str], bool] | None = None):
    """Decorator: make ``fn(ctx)`` a check named ``name`` for spec kind(s) ``kinds``.

    group: the --checks selector it belongs to (defaults to its name). dtypes: "each" or "float64".
    needs_oracle: run only when torch is importable and the spec names a torch counterpart.
    applies(spec, device): further condition (e.g. parity only on non-cpu devices).
    """
    kinds = (kinds,) if isinstance(kinds, str) else tuple(kinds)

    def deco(fn):
        for k in kinds:
            CHECKS.setdefault(k, {})[name] = Check(name, group or name, fn, dtypes, needs_oracle, applies)
        return fn
    return deco


def checks_for(kind: str, selected: Sequence[str] | None = None) -> list[Check]:
    """The checks of ``kind``, filtered by names or groups (None: all)."""
    table = CHECKS.get(kind, {})
    if not selected:
        return list(table.values())
    return [c for c in table.values() if c.name in selected or c.group in selected]


def all_check_selectors() -> set[str]:
    return {s for table in CHECKS.values() for c in table.values() for s in (c.name, c.group)}


@dataclass
class Ctx:
    """Everything a check needs about the sample under test."""

    spec: Spec
    sample: Sample
    index: int
    device: str
    dtype: str
    seed: int
    torch: object = None
    fd_directions: int = 2
    redraw: Callable[[int], Sample] | None = None

    def rng(self, *keys) -> np.random.Generator:
        return rng_for(self.seed, self.spec.name, self.index, self.device, self.dtype, *keys)

    def repro(self, check: str) -> str:
        base = self.spec.meta.get("repro")
        if base is None:
            base = "refgrad-gradcheck -k " + shlex.quote(self.spec.name)
            if self.spec.kind != "op":
                base += f" --kind {self.spec.kind}"
        return f"{base} --sample {self.index} --seed {self.seed} --device {self.device} --dtype {self.dtype} " \
               f"--checks {check}"

    def result(self, check: str, status: str, *, dtype: str | None = None, **fields) -> Result:
        return Result(kind=self.spec.kind, name=self.spec.name, check=check, device=self.device,
                      dtype=dtype or self.dtype, sample=f"{self.index}:{self.sample.describe()}", status=status,
                      repro=self.repro(check), **fields)

    def tol(self, check: str, table: dict, widen: float = 1.0) -> tuple[float, float]:
        """(rtol, atol): torch.testing's per-dtype defaults are the floor; a spec override widens them."""
        r, a = table.get(self.dtype, (1e-7, 1e-7))
        r, a = r * widen, a * widen
        over = self.spec.tolerance(check, self.dtype)
        if over is not None:
            r, a = max(r, over.rtol), max(a, over.atol)
        return r, a


# -- comparisons --------------------------------------------------------------------------------

@dataclass
class Cmp:
    ok: bool
    max_abs: float = 0.0
    max_rel: float = 0.0
    tol: float = 0.0
    msg: str | None = None

    def worse(self, other: Cmp) -> Cmp:
        """The worse of two comparisons (failed first, then the larger error/tolerance ratio)."""
        if self.ok != other.ok:
            return other if self.ok else self
        ra = self.max_abs / self.tol if self.tol else (np.inf if self.max_abs else 0.0)
        rb = other.max_abs / other.tol if other.tol else (np.inf if other.max_abs else 0.0)
        return other if rb > ra else self


def compare(actual, expected, rtol: float, atol: float, what: str) -> Cmp:
    """assert_close-like comparison of two arrays (shape, dtype and values; NaNs must match)."""
    a, e = np.asarray(actual), np.asarray(expected)
    if a.shape != e.shape:
        return Cmp(False, np.inf, np.inf, 0.0, f"{what}: shape {a.shape} != expected {e.shape}")
    if a.dtype != e.dtype:
        return Cmp(False, np.inf, np.inf, 0.0, f"{what}: dtype {a.dtype} != expected {e.dtype}")
    if a.size == 0:
        return Cmp(True)
    if a.dtype.kind in "iub":
        bad = int(np.count_nonzero(a != e))
        return Cmp(bad == 0, float(bad > 0), float(bad > 0), 0.0, f"{what}: {bad} elements differ" if bad else None)
    # as torch.testing.assert_close, the arrays' own dtype sets the floor: a float32 output of a float64
    # sample (an int input promoted to the default dtype) gets float32's tolerance
    r0, a0 = TOL.get(a.dtype.name, (0.0, 0.0))
    rtol, atol = max(rtol, r0), max(atol, a0)
    a64, e64 = a.astype(np.float64), e.astype(np.float64)
    nan_a, nan_e = np.isnan(a64), np.isnan(e64)
    if np.any(nan_a != nan_e):
        return Cmp(False, np.inf, np.inf, 0.0, f"{what}: NaN at {np.argwhere(nan_a != nan_e)[0].tolist()} "
                                               f"in one side only")
    same = (a64 == e64) | nan_a  # equal infinities and NaN pairs
    with np.errstate(invalid="ignore"):  # inf - inf where both sides agree (masked by ``same``)
        diff = np.where(same, 0.0, np.abs(a64 - e64))
    allowed = atol + rtol * np.abs(e64)
    allowed = np.where(np.isfinite(allowed), allowed, np.inf)
    worst = np.unravel_index(np.argmax(np.where(allowed > 0, diff / np.maximum(allowed, 1e-300), diff)), a.shape)
    rel = np.where(same, 0.0, diff / np.maximum(np.abs(e64), np.finfo(np.float64).tiny))
    bad = diff > allowed
    ok = not np.any(bad)
    msg = None
    if not ok:
        idx = tuple(int(i) for i in worst)
        msg = (f"{what}: {int(bad.sum())}/{a.size} elements off; worst at {list(idx)}: {a64[idx]!r} vs expected "
               f"{e64[idx]!r}")
    return Cmp(ok, float(diff.max()), float(rel.max()), float(allowed[worst]), msg)


def compare_all(pairs, rtol, atol, what) -> Cmp:
    out = Cmp(True)
    for i, (a, e) in enumerate(pairs):
        out = out.worse(compare(a, e, rtol, atol, f"{what}[{i}]"))
    return out


def from_cmp(ctx: Ctx, check: str, c: Cmp, blame: str | None = None, dtype: str | None = None) -> Result:
    return ctx.result(check, "passed" if c.ok else "failed", dtype=dtype, max_abs_err=c.max_abs,
                      max_rel_err=c.max_rel, tolerance=c.tol, blame=None if c.ok else blame,
                      message=c.msg)


# -- running the function and its VJP ------------------------------------------------------------

def _torch_fn(ctx: Ctx):
    return ctx.spec.torch_fn(ctx.torch)


def forward(ctx: Ctx, dtype: str, device: str, engine=None, grad=True, sample: Sample | None = None):
    """Run refgrad (engine None) or torch; returns (all outputs, diff inputs, diff-output positions)."""
    sample = sample or ctx.sample
    args, kw, ins = materialize(sample, dtype, device, torch=engine, grad=grad)
    fn = ctx.spec.fn if engine is None else _torch_fn(ctx)
    outs = flatten(fn(*args, **kw))
    diff_ids = {id(o) for o in differentiable(outs)}
    pos = [i for i, o in enumerate(outs) if id(o) in diff_ids]
    return outs, ins, pos


def vjp(outs, ins, cots, engine=None, create_graph=False, retain_graph=None, extra_inputs=()):
    """Gradients of ``outs`` w.r.t. ``ins`` (+ extra_inputs) for cotangent arrays/tensors ``cots``."""
    ad = refgrad.autograd if engine is None else engine.autograd
    # a cotangent lives on its output's device (an op like ``to`` moves its output off the device under test)
    cots = [c if c.device == o.device else c.to(o.device) for c, o in zip(cots, outs)]
    grads = ad.grad(outs, list(ins) + list(extra_inputs), cots, allow_unused=True, create_graph=create_graph,
                    retain_graph=retain_graph)
    return list(grads)


def _np_grads(grads, like) -> list[np.ndarray]:
    """Gradients as float64 numpy arrays, None replaced by zeros of the input's shape."""
    return [np.zeros(np.shape(to_numpy(x))) if g is None else to_numpy(g).astype(np.float64)
            for g, x in zip(grads, like)]


def _cotangents(rng, outs) -> list[np.ndarray]:
    return [rng.standard_normal(tuple(o.shape)).astype(to_numpy(o).dtype) for o in outs]


def _wrap(arrs, device, engine=None, requires_grad=False):
    if engine is None:
        return [rg_tensor(a, device, requires_grad) for a in arrs]
    return [th_tensor(engine, a, "cpu", requires_grad) for a in arrs]


def _directions(rng, shapes) -> list[np.ndarray]:
    """Random signed directions, jointly scaled so the largest step in any element is the FD step."""
    u = [rng.standard_normal(s) for s in shapes]
    peak = max((float(np.abs(x).max()) for x in u if x.size), default=0.0)
    return [x / peak for x in u] if peak > 0 else u


def _step(ctx: Ctx, arrays) -> float:
    sq = [float(np.mean(a.astype(np.float64) ** 2)) for a in arrays if a.size]
    return ctx.spec.fd_step * max(1.0, float(np.sqrt(max(sq, default=0.0))))


def _dot(gs, us) -> tuple[float, float]:
    """<g, u> and sum |g u| (the magnitude the relative tolerances scale with)."""
    return (float(sum(np.sum(g * u) for g, u in zip(gs, us))),
            float(sum(np.sum(np.abs(g * u)) for g, u in zip(gs, us))))


def _fd_tol(ctx: Ctx, check: str, est, magnitude: float) -> float:
    over = ctx.spec.tolerance(check, "float64")
    return _fd.tolerance(est, magnitude, *((over.rtol, over.atol) if over else (0.0, 0.0)))


def _lost_graph(ins, outs, pos) -> str | None:
    """Floating outputs of differentiable inputs that do not require grad: refgrad dropped the graph
    (torch marks every floating output of a differentiable op as requiring grad)."""
    floats = [o for o in outs if is_tensor(o) and o.is_floating_point()]
    if ins and floats and not pos:
        return "refgrad returned floating outputs that do not require grad although inputs do"
    return None


# -- forward and VJP vs torch ----------------------------------------------------------------------

@register_check("op", "forward", group="oracle", needs_oracle=True)
def check_forward(ctx: Ctx) -> Result:
    ours, _, _ = forward(ctx, ctx.dtype, ctx.device, grad=False)
    theirs, _, _ = forward(ctx, ctx.dtype, "cpu", engine=ctx.torch, grad=False)
    if len(ours) != len(theirs):
        return ctx.result("forward", "failed", blame=_blame.FORWARD,
                          message=f"refgrad returns {len(ours)} outputs, torch {len(theirs)}")
    rtol, atol = ctx.tol("forward", TOL)
    return from_cmp(ctx, "forward", compare_all([(to_numpy(o), to_numpy(t)) for o, t in zip(ours, theirs)],
                                                rtol, atol, "output"), blame=_blame.FORWARD)


def _fd_directional(ctx: Ctx, sample: Sample, pos, cots64, us, h, ulps=_fd.ROUND_ULPS):
    """FD estimate of d/dt <v, f(x + t u)> at t = 0, f evaluated by refgrad in float64 (no graph)."""
    diff = sample.diff_indices()
    base = [sample.args[i].astype(np.float64) for i in diff]

    def phi(t):
        moved = list(sample.args)
        for i, x, u in zip(diff, base, us):
            moved[i] = np.asarray(x + t * u)
        with refgrad.no_grad():
            args, kw, _ = materialize(Sample(tuple(moved), sample.kwargs, sample.diff), "float64", ctx.device,
                                      grad=False)
            outs = flatten(ctx.spec.fn(*args, **kw))
        ys = [to_numpy(outs[p]).astype(np.float64) for p in pos]
        return (float(sum(np.sum(v * y) for v, y in zip(cots64, ys))),
                float(sum(np.sum(np.abs(v * y)) for v, y in zip(cots64, ys))))
    return _fd.derivative(phi, h, ulps)


@register_check("op", "vjp", group="oracle", needs_oracle=True, applies=lambda s, d: s.supports_grad)
def check_vjp(ctx: Ctx) -> Result:
    outs, ins, pos = forward(ctx, ctx.dtype, ctx.device)
    outs_t, ins_t, pos_t = forward(ctx, ctx.dtype, "cpu", engine=ctx.torch)
    d, d_t = [outs[p] for p in pos], [outs_t[p] for p in pos_t]
    if pos != pos_t:
        return ctx.result("vjp", "failed", blame=_blame.NO_FD,
                          message=f"differentiable outputs differ: refgrad {pos}, torch {pos_t}")
    if not ins or not d:
        return ctx.result("vjp", "skipped", message="no differentiable inputs or outputs")
    cots = _cotangents(ctx.rng("vjp"), d_t)
    shapes, shapes_t = [tuple(o.shape) for o in d], [tuple(o.shape) for o in d_t]
    if shapes != shapes_t:
        return ctx.result("vjp", "failed", blame=_blame.NO_FD,
                          message=f"output shapes differ: refgrad {shapes}, torch {shapes_t}")
    raw = vjp(d, ins, _wrap(cots, ctx.device))
    g = _np_grads(raw, ins)
    g_t = _np_grads(vjp(d_t, ins_t, _wrap(cots, "cpu", ctx.torch), engine=ctx.torch), ins_t)
    rtol, atol = ctx.tol("vjp", GRAD_TOL)
    c = compare_all(list(zip(g, g_t)), rtol, atol, "grad")
    # the comparison above is in float64: check the gradients' own dtype here
    for i, (gi, x) in enumerate(zip(raw, ins)):
        if gi is not None and gi.dtype != x.dtype:
            c = Cmp(False, np.inf, np.inf, 0.0, f"grad[{i}]: dtype {gi.dtype} != input dtype {x.dtype}")
    verdict = None
    if not c.ok:
        verdict = _vjp_blame(ctx, pos, cots, g, g_t, rtol)
    return from_cmp(ctx, "vjp", c, blame=verdict)


def _vjp_blame(ctx: Ctx, pos, cots, g, g_t, rtol) -> str | None:
    """refgrad and torch disagree on a VJP: ask FD (float64, one direction) which one is right."""
    us = _directions(ctx.rng("blame"), [x.shape for x in g])
    sample = ctx.sample
    est = _fd_directional(ctx, sample, pos, [c.astype(np.float64) for c in cots], us,
                          _step(ctx, [sample.args[i] for i in sample.diff_indices()]))
    an, mag = _dot(g, us)
    an_t, mag_t = _dot(g_t, us)
    magnitude = max(mag, mag_t, abs(est.value))
    tol = _fd.tolerance(est, magnitude) + rtol * magnitude
    kink = _fd.unreliable(est, magnitude) is not None
    rg_fd, rg_t, t_fd = abs(an - est.value) <= tol, abs(an - an_t) <= tol, abs(an_t - est.value) <= tol
    verdict = _blame.blame(None if kink else rg_fd, rg_t, None if kink else t_fd, at_kink=kink)
    return verdict or "refgrad differs from torch by less than FD can resolve (dtype rounding?)"


# -- finite differences ----------------------------------------------------------------------------

def _with_redraws(ctx: Ctx, once: Callable[[Sample], tuple]) -> Result:
    """Run an FD probe; on a kink, redraw a random sample (bounded); report 'kink' skips honestly."""
    sample, outcome = ctx.sample, None
    for retry in range(KINK_RETRIES + 1):
        outcome = once(sample)
        if outcome[0] != "kink" or ctx.redraw is None or retry == KINK_RETRIES:
            break
        sample = ctx.redraw(retry + 1)
    status, fields = outcome
    if status == "kink":
        tries = f" (still after {KINK_RETRIES} redraws)" if ctx.redraw is not None else ""
        fields["message"] = f"kink: {fields['message']}{tries}; FD cannot judge this sample"
        status = "skipped"
    return ctx.result(fields.pop("check"), status, dtype="float64", **fields)


def _oracle_directional(ctx: Ctx, sample: Sample, cots64, us) -> float | None:
    """torch's <vjp(v), u> in float64 for the blame, or None without an oracle."""
    if ctx.torch is None or ctx.spec.torch is None:
        return None
    try:
        outs_t, ins_t, pos_t = forward(ctx, "float64", "cpu", engine=ctx.torch, sample=sample)
        g_t = _np_grads(vjp([outs_t[p] for p in pos_t], ins_t, _wrap(cots64, "cpu", ctx.torch), engine=ctx.torch),
                       ins_t)
    except Exception:  # noqa: BLE001 - the oracle only advises the blame here
        return None
    return _dot(g_t, us)[0]


@register_check(("op", "target"), "fd", dtypes="float64", applies=lambda s, d: s.supports_grad)
def check_fd(ctx: Ctx) -> Result:
    def once(sample: Sample):
        outs, ins, pos = forward(ctx, "float64", ctx.device, sample=sample)
        lost = _lost_graph(ins, outs, pos)
        if lost:
            return "failed", {"check": "fd", "message": lost, "blame": "refgrad lost the graph"}
        if not ins or not pos:
            return "skipped", {"check": "fd", "message": "nothing to differentiate: no differentiable inputs or "
                                                         "outputs"}
        rng = ctx.rng("fd")
        cots = _cotangents(rng, [outs[p] for p in pos])
        g = _np_grads(vjp([outs[p] for p in pos], ins, _wrap(cots, ctx.device)), ins)
        h = _step(ctx, [sample.args[i] for i in sample.diff_indices()])
        worst = None
        for _ in range(ctx.fd_directions):
            us = _directions(rng, [x.shape for x in g])
            an, mag = _dot(g, us)
            est = _fd_directional(ctx, sample, pos, cots, us, h)
            magnitude = max(mag, abs(est.value))
            reason = _fd.unreliable(est, magnitude)
            if reason:
                an_t = _oracle_directional(ctx, sample, cots, us)
                tol = _fd.tolerance(est, magnitude) + 1e-6 * magnitude
                verdict = None if an_t is None else _blame.blame(None, abs(an - an_t) <= tol,
                                                                 abs(an_t - est.value) <= tol, at_kink=True)
                return "kink", {"check": "fd", "message": reason, "blame": verdict}
            tol = _fd_tol(ctx, "fd", est, magnitude)
            err = abs(an - est.value)
            rec = {"check": "fd", "max_abs_err": err, "max_rel_err": err / magnitude if magnitude else 0.0,
                   "tolerance": tol, "ok": err <= tol, "an": an, "fd": est.value, "us": us}
            if worst is None or (not rec["ok"] and worst["ok"]) or \
                    (rec["ok"] == worst["ok"] and err / tol > worst["max_abs_err"] / worst["tolerance"]):
                worst = rec
        ok, an, fdv, us = worst.pop("ok"), worst.pop("an"), worst.pop("fd"), worst.pop("us")
        if ok:
            return "passed", worst
        an_t = _oracle_directional(ctx, sample, cots, us)
        tol = worst["tolerance"]
        worst["blame"] = _blame.blame(False, None if an_t is None else abs(an - an_t) <= tol,
                                      None if an_t is None else abs(an_t - fdv) <= tol)
        worst["message"] = (f"directional derivative <vjp(v), u>: refgrad {an:.17g}, FD {fdv:.17g}"
                            + ("" if an_t is None else f", torch {an_t:.17g}"))
        return "failed", worst
    return _with_redraws(ctx, once)


# -- double backward -------------------------------------------------------------------------------

def _gradgrad(ctx: Ctx, sample: Sample, cots, ws, engine=None):
    """Second-order VJP: grad of <w, vjp(x, v)> w.r.t. (x, v), float64; numpy arrays per input."""
    device = "cpu" if engine is not None else ctx.device
    outs, ins, pos = forward(ctx, "float64", device, engine=engine, sample=sample)
    d = [outs[p] for p in pos]
    vs = _wrap(cots, device, engine, requires_grad=True)
    g1 = vjp(d, ins, vs, engine=engine, create_graph=True)
    pairs = [(g, w) for g, w in zip(g1, ws) if g is not None and g.requires_grad]
    like = list(ins) + vs
    if not pairs:
        return [np.zeros(tuple(x.shape)) for x in like]
    g2 = vjp([g for g, _ in pairs], ins, _wrap([w for _, w in pairs], device, engine), engine=engine,
             extra_inputs=vs)
    return _np_grads(g2, like)


def _gradgrad_setup(ctx: Ctx, sample: Sample):
    outs, ins, pos = forward(ctx, "float64", ctx.device, sample=sample)
    if not ins or not pos:
        return None
    rng = ctx.rng("gradgrad")
    cots = _cotangents(rng, [outs[p] for p in pos])
    ws = [rng.standard_normal(tuple(x.shape)) for x in ins]
    return pos, cots, ws


def _gg_applies(spec: Spec, device: str) -> bool:
    return spec.supports_grad and spec.supports_gradgrad


@register_check(("op", "target"), "gradgrad_fd", group="gradgrad", dtypes="float64", applies=_gg_applies)
def check_gradgrad_fd(ctx: Ctx) -> Result:
    def once(sample: Sample):
        setup = _gradgrad_setup(ctx, sample)
        if setup is None:
            return "passed", {"check": "gradgrad_fd", "message": "no differentiable inputs or outputs"}
        pos, cots, ws = setup
        g2 = _gradgrad(ctx, sample, cots, ws)
        diff = sample.diff_indices()
        xs = [sample.args[i].astype(np.float64) for i in diff]
        us = _directions(ctx.rng("gradgrad", "u"), [x.shape for x in xs] + [c.shape for c in cots])
        ux, uv = us[:len(xs)], us[len(xs):]
        an, mag = _dot(g2, us)

        def phi(t):
            # <w, vjp(x + t ux, v + t uv)> through refgrad's first-order backward
            moved = list(sample.args)
            for i, x, u in zip(diff, xs, ux):
                moved[i] = np.asarray(x + t * u)
            s = Sample(tuple(moved), sample.kwargs, sample.diff)
            outs, ins, p = forward(ctx, "float64", ctx.device, sample=s)
            g = _np_grads(vjp([outs[q] for q in p], ins, _wrap([np.asarray(c + t * u) for c, u in zip(cots, uv)],
                                                              ctx.device)), ins)
            return _dot(g, ws)
        est = _fd.derivative(phi, _step(ctx, xs + list(cots)), ulps=4 * _fd.ROUND_ULPS)
        magnitude = max(mag, abs(est.value))
        reason = _fd.unreliable(est, magnitude)
        if reason:
            return "kink", {"check": "gradgrad_fd", "message": reason}
        tol = _fd_tol(ctx, "gradgrad_fd", est, magnitude)
        err = abs(an - est.value)
        fields = {"check": "gradgrad_fd", "max_abs_err": err, "max_rel_err": err / magnitude if magnitude else 0.0,
                  "tolerance": tol}
        if err <= tol:
            return "passed", fields
        fields["blame"] = "refgrad's double backward differs from FD of its own first backward: refgrad bug"
        fields["message"] = f"directional second derivative: refgrad double backward {an:.17g}, FD {est.value:.17g}"
        return "failed", fields
    return _with_redraws(ctx, once)


@register_check("op", "gradgrad_oracle", group="gradgrad", dtypes="float64", needs_oracle=True,
                applies=_gg_applies)
def check_gradgrad_oracle(ctx: Ctx) -> Result:
    setup = _gradgrad_setup(ctx, ctx.sample)
    if setup is None:
        return ctx.result("gradgrad_oracle", "skipped", message="no differentiable inputs or outputs")
    _, cots, ws = setup
    ours = _gradgrad(ctx, ctx.sample, cots, ws)
    theirs = _gradgrad(ctx, ctx.sample, cots, ws, engine=ctx.torch)
    rtol, atol = ctx.tol("gradgrad_oracle", GRAD_TOL, widen=GRADGRAD_WIDEN)
    c = compare_all(list(zip(ours, theirs)), rtol, atol, "gradgrad")
    return from_cmp(ctx, "gradgrad_oracle", c, blame="refgrad's double backward differs from torch's")


# -- cpu vs cuda --------------------------------------------------------------------------------

@register_check("op", "parity", applies=lambda s, d: d != "cpu")
def check_parity(ctx: Ctx) -> Result:
    res = {}
    for dev in ("cpu", ctx.device):
        outs, ins, pos = forward(ctx, ctx.dtype, dev)
        d = [outs[p] for p in pos]
        grads = []
        if ins and d:
            cots = _cotangents(ctx.rng("parity"), d)
            grads = [to_numpy(g) for g in vjp(d, ins, _wrap(cots, dev)) if g is not None]
        res[dev] = ([to_numpy(o) for o in outs], grads)
    rtol, atol = ctx.tol("parity", TOL)
    grtol, gatol = ctx.tol("parity", GRAD_TOL)
    (fo_c, g_c), (fo_d, g_d) = res["cpu"], res[ctx.device]
    c = compare_all(list(zip(fo_d, fo_c)), rtol, atol, "output")
    if len(g_c) != len(g_d):
        c = Cmp(False, np.inf, np.inf, 0.0, f"{len(g_d)} gradients on {ctx.device}, {len(g_c)} on cpu")
    else:
        c = c.worse(compare_all(list(zip(g_d, g_c)), grtol, gatol, "grad"))
    return from_cmp(ctx, "parity", c, blame=f"refgrad on {ctx.device} differs from refgrad on cpu")


# -- invariants ------------------------------------------------------------------------------------

@register_check(("op", "target"), "invariants", applies=lambda s, d: s.supports_grad)
def check_invariants(ctx: Ctx) -> Result:
    outs, ins, pos = forward(ctx, ctx.dtype, ctx.device)
    d = [outs[p] for p in pos]
    if not ins or not d:
        return ctx.result("invariants", "passed", message="no differentiable inputs or outputs")
    before = [to_numpy(x) for x in ins]
    versions = [x._version for x in ins]  # torch's API: an int bumped by in-place ops
    rng = ctx.rng("invariants")
    v1, v2 = _cotangents(rng, d), _cotangents(rng, d)
    a, b = float(rng.uniform(0.5, 2.0)), float(-rng.uniform(0.5, 2.0))
    t1 = _wrap(v1, ctx.device)
    t1_before = [to_numpy(t) for t in t1]
    problems = []
    g1 = vjp(d, ins, t1, retain_graph=True)
    g1_again = vjp(d, ins, t1, retain_graph=True)
    g0 = vjp(d, ins, _wrap([np.zeros_like(v) for v in v1], ctx.device), retain_graph=True)
    g2 = vjp(d, ins, _wrap(v2, ctx.device), retain_graph=True)
    g12 = vjp(d, ins, _wrap([(a * x.astype(np.float64) + b * y).astype(x.dtype) for x, y in zip(v1, v2)],
                            ctx.device))
    for i, (g, x) in enumerate(zip(g1, ins)):
        if g is None:
            continue
        if tuple(g.shape) != tuple(x.shape):
            problems.append(f"grad[{i}] shape {tuple(g.shape)} != input shape {tuple(x.shape)}")
        if g.dtype != x.dtype:
            problems.append(f"grad[{i}] dtype {g.dtype} != input dtype {x.dtype}")
        if g.device != x.device:
            problems.append(f"grad[{i}] device {g.device} != input device {x.device}")
    for i, (x, arr, ver) in enumerate(zip(ins, before, versions)):
        if not np.array_equal(to_numpy(x), arr, equal_nan=True) or x._version != ver:
            problems.append(f"input {i} was modified")
    for i, (t, arr) in enumerate(zip(t1, t1_before)):
        if not np.array_equal(to_numpy(t), arr, equal_nan=True):
            problems.append(f"cotangent {i} was modified")
    rtol, atol = ctx.tol("invariants", GRAD_TOL)
    # bit-identical on cpu; on cuda, accumulations through atomics (scatter_add, index_add: torch documents them
    # as nondeterministic there) may round differently, so the rerun must agree to the gradient tolerance
    exact = ctx.device == "cpu"
    for i, (g, h) in enumerate(zip(g1, g1_again)):
        if (g is None) != (h is None):
            same = False
        elif g is None:
            same = True
        elif exact:
            same = np.array_equal(to_numpy(g), to_numpy(h), equal_nan=True)
        else:
            same = compare(to_numpy(g), to_numpy(h), rtol, atol, "grad").ok
        if not same:
            problems.append(f"grad[{i}] differs between two identical backward passes (not deterministic)")
    for i, g in enumerate(g0):
        if g is not None and np.any(to_numpy(g) != 0):
            problems.append(f"grad[{i}] is nonzero for a zero cotangent")
    lin = Cmp(True)
    for i, (x, y, z) in enumerate(zip(_np_grads(g1, ins), _np_grads(g2, ins), _np_grads(g12, ins))):
        expected = a * x + b * y
        scale = np.abs(a * x) + np.abs(b * y)
        diff = np.abs(z - expected)
        allowed = atol + rtol * scale
        c = Cmp(bool(np.all(diff <= allowed)), float(diff.max(initial=0.0)),
                float((diff / np.maximum(scale, 1e-300)).max(initial=0.0)),
                float(allowed.max(initial=atol)))
        if not c.ok:
            c.msg = f"grad[{i}] is not linear in the cotangent: vjp(a v1 + b v2) != a vjp(v1) + b vjp(v2)"
            problems.append(c.msg)
        lin = lin.worse(c)
    return ctx.result("invariants", "failed" if problems else "passed", max_abs_err=lin.max_abs,
                      max_rel_err=lin.max_rel, tolerance=lin.tol,
                      blame="refgrad violates a gradient invariant" if problems else None,
                      message="; ".join(problems) or None)
