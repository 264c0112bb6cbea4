"""Specs for reductions, scans, selections and softmax (refgrad/ops/reduction.py).

One spec per name in ``refgrad.ops.reduction.__all__``. Conventions used below:

- Random samples cycle ``(shape, args, kwargs)`` cases; the first four (the default run) cover a plain
  shape, 0-d, size-1 dims / keepdim, and an empty tensor where torch allows it; further keyword options
  are exercised by the regression samples (hand-written, or drawn once from a fixed seed).
- Selections (max/min with dim, sort, topk, kthvalue, median, mode, cummax/cummin) send the gradient to
  the returned index; their random samples hold distinct values (``spread``) so that the index is
  unambiguous and FD sees no kink. Ties appear only in hand samples labelled "tie" (FD reports a kink
  there and skips; forward and VJP are still compared with torch's convention).
- Multi-output ops return torch's namedtuple; the harness flattens tuples and compares every output
  (integer indices exactly), differentiating only the floating ones.
- Forward-only ops (argmax, argsort, all, any, count_nonzero, unique) say ``supports_grad=False``.
"""
from __future__ import annotations

import functools
import math

import numpy as np

import refgrad

from ..sampling import all_of, distinct, kinks_at, uniform
from ..spec import Sample, Spec, register

INF, NAN = math.inf, math.nan

# refgrad bugs found by these specs (refgrad/ops/reduction.py is owned elsewhere). The affected samples
# are kept out of the default run while an entry is here; the spec carries meta["known_bug"].
KNOWN_BUGS: dict[str, str] = {}


# -- value generators ---------------------------------------------------------------------------

def spread(rng, shape, low=-2.0, high=2.0):
    """Distinct values: a shuffled even grid over [low, high] jittered by a quarter spacing, so any two
    elements are at least half a spacing apart (no ties for selections, no kinks for FD)."""
    n = int(np.prod(shape, dtype=np.int64))
    if n <= 1:
        return np.asarray(rng.uniform(low, high, size=shape), dtype=np.float64)
    grid = np.linspace(low, high, n)
    step = grid[1] - grid[0]
    vals = rng.permutation(grid) + rng.uniform(-0.25 * step, 0.25 * step, n)
    return vals.reshape(shape)


def spread_abs(rng, shape, low=0.3, high=2.0):
    """Distinct magnitudes in [low, high] with random signs (norms: away from 0, no |x| ties)."""
    mag = spread(rng, shape, low, high)
    return np.asarray(mag * rng.choice([-1.0, 1.0], size=np.shape(mag)))


def signed(rng, shape, low=0.5, high=1.5):
    """Magnitudes in [low, high], random signs (prod/cumprod: products stay moderate)."""
    mag = np.asarray(rng.uniform(low, high, size=shape), dtype=np.float64)
    return np.asarray(mag * rng.choice([-1.0, 1.0], size=np.shape(mag)))


def integers(rng, shape, low=0, high=4):
    """Small integer-valued floats: repeats on purpose (unique)."""
    return np.asarray(rng.integers(low, high, size=shape), dtype=np.float64)


def with_zeros(rng, shape):
    """Floats of which about a third are exactly 0 (all/any/count_nonzero)."""
    x = np.asarray(rng.uniform(-2.0, 2.0, size=shape), dtype=np.float64)
    return np.asarray(np.where(rng.random(size=np.shape(x)) < 0.35, 0.0, x))


def booleans(rng, shape):
    return np.asarray(rng.random(size=shape) < 0.6)


def fixed(values, shape, seed, **kw):
    """A regression input drawn once from a fixed seed (deterministic whatever the run seed)."""
    return values(np.random.default_rng(seed), shape, **kw)


# -- samplers and helpers -----------------------------------------------------------------------

def C(shape, *args, **kwargs):
    """One case: input shape, extra positional args, keyword args."""
    return shape, args, kwargs


def cases(case_list, values=uniform, **vkw):
    """A sampler cycling through C(...) cases; the input drawn by ``values(rng, shape, **vkw)``."""
    def sampler(rng, i):
        shape, args, kw = case_list[i % len(case_list)]
        return Sample((values(rng, shape, **vkw), *args), dict(kw))
    return sampler


def S(x, *args, label="", diff=None, **kwargs):
    """A regression sample from a literal (nested lists become float64 arrays unless already arrays)."""
    arr = x if isinstance(x, np.ndarray) else np.asarray(x, dtype=np.float64)
    return Sample((arr, *args), kwargs, diff=diff, label=label)


def not_empty(case_list):
    return [c for c in case_list if 0 not in c[0]]


def dtyped(fn, module):
    """Wrap ``fn`` so that a ``dtype="float64"`` keyword names the engine's own dtype object (samples are
    shared by refgrad and torch, whose dtype objects differ)."""
    @functools.wraps(fn)
    def call(*args, **kw):
        if isinstance(kw.get("dtype"), str):
            kw = {**kw, "dtype": getattr(module, kw["dtype"])}
        return fn(*args, **kw)
    return call


def abs_distinct(arg=0):
    """avoid: the smallest gap between two |x| (p = +-inf norms share the gradient between ties)."""
    def avoid(sample):
        a = np.sort(np.abs(np.asarray(sample.args[arg], dtype=np.float64)).ravel())
        return float(np.diff(a).min()) if a.size > 1 else np.inf
    return avoid


def _torch_dtyped(name):
    return lambda torch: dtyped(getattr(torch, name), torch)


_H = np.array([[1.0, -2.0, 3.0], [0.5, 0.25, -1.0]])  # a small hand input

# -- sum, nansum, mean ---------------------------------------------------------------------------
_DIM_CASES = [C((3, 4)), C((), dim=0), C((2, 1, 3), dim=1, keepdim=True), C((0, 3), dim=1),
              C((2, 3, 4), dim=(0, 2)), C((1, 5), dim=-1, keepdim=True)]
_DIM_REGRESSION = [
    S(_H, label="hand dim=0", dim=0),
    S(fixed(uniform, (2, 3, 4), 1), label="dim=(0,2) keepdim", dim=(0, 2), keepdim=True),
    S(fixed(uniform, (2, 3, 4), 2), label="dim=(-1,0)", dim=(-1, 0)),
    S(_H, label="dtype=float64", dim=1, dtype="float64"),
]

register(Spec("sum", fn=dtyped(refgrad.sum, refgrad), torch=_torch_dtyped("sum"), sampler=cases(_DIM_CASES),
              regression=_DIM_REGRESSION + [
                  S(np.array([[1, 2, 3], [4, 5, 6]]), label="int64 -> int64", dim=1),
                  S(np.array([[True, False], [True, True]]), label="bool -> int64"),
              ]))


def _nan_inject(rng, shape):
    """uniform values with about a quarter NaN (nansum ignores them; their gradient is 0)."""
    x = uniform(rng, shape)
    return np.asarray(np.where(rng.random(size=np.shape(x)) < 0.25, NAN, x))


register(Spec("nansum", fn=dtyped(refgrad.nansum, refgrad), torch=_torch_dtyped("nansum"),
              sampler=cases(_DIM_CASES, values=_nan_inject),
              regression=[S([[1.0, NAN, 2.0], [NAN, NAN, -1.0]], label="NaN entries dim=1", dim=1),
                          S([[NAN, NAN], [NAN, NAN]], label="all NaN -> 0"),
                          S(fixed(_nan_inject, (2, 3, 4), 3), label="dim=(0,2) keepdim", dim=(0, 2), keepdim=True),
                          S([[1.0, NAN, 2.0]], label="dtype=float64", dtype="float64")]))

register(Spec("mean", fn=dtyped(refgrad.mean, refgrad), torch=_torch_dtyped("mean"), sampler=cases(_DIM_CASES),
              regression=_DIM_REGRESSION))

# -- prod ------------------------------------------------------------------------------------------
# torch.prod takes a single int dim. Zeros: the gradient is the product of the others (torch's
# prod_safe_zeros_backward); prod is a polynomial, so FD holds at zeros too.
register(Spec("prod", fn=dtyped(refgrad.prod, refgrad), torch=_torch_dtyped("prod"),
              sampler=cases([C((3, 4)), C((), 0), C((2, 1, 3), 1, keepdim=True), C((0, 3), 1), C((2, 3, 4), -1),
                             C((5,), 0)], values=signed),
              regression=[S([[1.5, 0.0, -2.0], [0.5, 2.0, 3.0]], 1, label="one zero, dim=1"),
                          S([[0.0, 0.0, 2.0], [1.5, -2.0, 3.0]], 1, label="two zeros in a row, dim=1"),
                          S([[0.0, 1.5], [-2.0, 0.0]], 0, label="zero per column, dim=0, keepdim", keepdim=True),
                          S([[1.5, 0.0, -2.0], [0.5, 2.0, 3.0]], label="one zero, full"),
                          S([[0.0, 0.0, 0.0], [1.5, -2.0, 3.0]], 1, label="three zeros in a row, dim=1"),
                          # the first derivative is 0 everywhere; the second is not (double backward checked)
                          S([[0.0, 0.0, 2.0], [1.5, -2.0, 3.0]],
                            label="two zeros, full: gradient 0 (kink: FD has no magnitude to resolve)"),
                          S([[1.5, -0.5], [0.5, 2.0]], label="dtype=float64", dtype="float64"),
                          S(np.array([[1, 2, 3], [4, 5, 6]]), 1, label="int64 -> int64")]))

# -- amax, amin, aminmax -------------------------------------------------------------------------
_AMAX_CASES = [C((3, 4)), C(()), C((2, 1, 3), dim=1, keepdim=True), C((0, 3), dim=1), C((2, 3, 4), dim=(0, 2)),
               C((1, 5), dim=-1)]
_TIES = np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 0.0]])
for _name in ("amax", "amin"):
    register(Spec(_name, fn=getattr(refgrad, _name), torch=f"torch.{_name}", sampler=cases(_AMAX_CASES, spread),
                  avoid=distinct(), regression=[
                      S(_TIES, label="tie in rows (shared evenly), dim=1", dim=1),
                      S(_TIES, label="tie full (shared evenly)"),
                      S(fixed(spread, (2, 3, 4), 4), label="dim=(0,-1) keepdim", dim=(0, -1), keepdim=True)]))

register(Spec("aminmax", fn=refgrad.aminmax, torch="torch.aminmax", avoid=distinct(),
              sampler=cases([C((3, 4)), C(()), C((2, 1, 3), dim=1, keepdim=True), C((0, 3), dim=1),
                             C((2, 3, 4), dim=-1)], spread),
              regression=[S(_TIES, label="tie (shared evenly), dim=1", dim=1),
                          S(_TIES, label="tie full (shared evenly)"),
                          S(fixed(spread, (2, 3, 4), 5), label="dim=0 keepdim", dim=0, keepdim=True)]))

# -- max, min ------------------------------------------------------------------------------------
# max(x): the value, ties share the gradient evenly; max(x, dim, keepdim) -> (values, indices), the
# first maximal index gets the gradient; max(x, other) is maximum.
_MAX_CASES = [C((3, 4)), C((), 0), C((2, 1, 3), 1, keepdim=True), C((0, 3), 1), C((2, 3, 4), -1), C(())]
for _name in ("max", "min"):
    register(Spec(_name, fn=getattr(refgrad, _name), torch=f"torch.{_name}", sampler=cases(_MAX_CASES, spread),
                  avoid=distinct(), regression=[
                      S(_TIES, label="tie full (shared evenly)"),
                      S(_TIES, 1, label="tie with dim=1 (first index gets it)"),
                      S(fixed(spread, (2, 3, 4), 6), 0, label="dim=0 keepdim", keepdim=True),
                      Sample((np.array([[1.0, -2.0, 3.0]]), np.array([[0.5], [2.5]])),
                             label="other tensor (maximum/minimum, broadcast)")]))

# -- argmax, argmin (forward only) ----------------------------------------------------------------
_ARG_CASES = [C((3, 4)), C(()), C((2, 1, 3), dim=1, keepdim=True), C((0, 3), dim=1), C((2, 3, 4), dim=-1)]
for _name in ("argmax", "argmin"):
    register(Spec(_name, fn=getattr(refgrad, _name), torch=f"torch.{_name}", sampler=cases(_ARG_CASES, spread),
                  supports_grad=False, regression=[
                      S(_TIES, label="tie: first index, dim=1", dim=1),
                      S(_TIES, label="tie: first index, flattened"),
                      S([[1.0, NAN, 3.0, NAN]], label="NaN: first NaN", dim=1),
                      S(_H, label="dim=None keepdim", keepdim=True),
                      S(np.array([[3, 1, 4], [1, 5, 9]]), label="int64 input", dim=0)]))

# -- sort, argsort, msort --------------------------------------------------------------------------
_TIE_ROW = np.array([[3.0, 1.0, 3.0, 1.0, 2.0], [0.5, 0.5, 0.5, -1.0, 2.0]])
_SORT_CASES = [C((3, 4)), C(()), C((2, 3, 4), dim=1, descending=True), C((0, 3), dim=1), C((1, 5), dim=0),
               C((5,), descending=True)]
register(Spec("sort", fn=refgrad.sort, torch="torch.sort", sampler=cases(_SORT_CASES, spread), avoid=distinct(),
              regression=[S(_TIE_ROW, label="tie, stable ascending", stable=True),
                          S(_TIE_ROW, label="tie, stable descending", stable=True, descending=True),
                          S(fixed(spread, (3, 4), 7), 0, True, label="dim=0 descending (positional)")]))
register(Spec("argsort", fn=refgrad.argsort, torch="torch.argsort", sampler=cases(_SORT_CASES, spread),
              supports_grad=False,
              regression=[S(_TIE_ROW, label="tie, stable ascending", stable=True),
                          S(_TIE_ROW, label="tie, stable descending", stable=True, descending=True),
                          S(np.array([[3, 1, 2], [0, 9, 4]]), label="int64 input", dim=0)]))
register(Spec("msort", fn=refgrad.msort, torch="torch.msort", avoid=distinct(),
              sampler=cases([C((4, 3)), C(()), C((1, 3)), C((0, 3)), C((2, 3, 2)), C((5,))], spread),
              regression=[S(_TIE_ROW.T.copy(), label="tie (stable order)")]))

# -- topk ------------------------------------------------------------------------------------------
# refgrad's topk is always sorted; torch's sorted=False leaves the order unspecified, so the oracle is
# asked for sorted=True (the same set of values and indices, in a valid order). No tie samples for topk
# and kthvalue: which of the tied indices torch returns is unspecified (not the stable-sort one), and FD
# cannot judge an order statistic among ties (it follows the direction's middle slope, without a kink).
def _topk_sorted(torch):
    def call(x, k, *args, **kw):
        if kw.get("sorted") is False:
            kw = {**kw, "sorted": True}
        return torch.topk(x, k, *args, **kw)
    return call


register(Spec("topk", fn=refgrad.topk, torch=_topk_sorted,
              sampler=cases([C((3, 4), 2), C((), 1), C((2, 3, 4), 2, dim=1, largest=False), C((0, 3), 2, dim=1),
                             C((1, 5), 3), C((5,), 5, largest=False)], spread),
              avoid=distinct(),
              regression=[S(fixed(spread, (3, 4), 8), 2, 0, False, label="dim=0 smallest (positional)"),
                          S(fixed(spread, (2, 5), 9), 3, label="sorted=False", sorted=False),
                          S(fixed(spread, (2, 5), 10), 0, label="k=0 (empty)"),
                          S(fixed(spread, (2, 5), 11), 5, label="k=n (full sort)")]))

# -- kthvalue, median, nanmedian, mode -------------------------------------------------------------
register(Spec("kthvalue", fn=refgrad.kthvalue, torch="torch.kthvalue", avoid=distinct(),
              sampler=cases([C((3, 4), 2), C((), 1), C((2, 3, 4), 3, dim=1, keepdim=True), C((0, 3), 2, dim=1),
                             C((1, 5), 1, dim=0)], spread),
              regression=[S(fixed(spread, (3, 4), 12), 1, 0, True, label="k=1 dim=0 keepdim (positional)"),
                          S(fixed(spread, (2, 5), 13), 5, label="k=n (the max)")]))

register(Spec("median", fn=refgrad.median, torch="torch.median", avoid=distinct(),
              sampler=cases([C((3, 4)), C(()), C((2, 1, 3), dim=1, keepdim=True), C((0, 3), dim=1), C((2, 3, 4), 1),
                             C((5,), 0)], spread),
              regression=[S(fixed(spread, (2, 4), 14), 1, label="even rows: lower median, dim=1"),
                          S(fixed(spread, (4, 3), 15), 0, True, label="dim=0 keepdim (positional)"),
                          S([[1.0, 2.0], [2.0, 5.0]], label="tie full (shared evenly)"),
                          S([[2.0, 1.0, 2.0, 3.0], [0.5, 0.5, 0.5, 4.0]], 1, label="tie with dim=1 (stable index)"),
                          S([[1.0, NAN, 3.0], [0.0, 2.0, 1.0]], 1, label="NaN propagates, dim=1 (kink: FD sees NaN)"),
                          S([[1.0, NAN], [NAN, 2.0]], label="NaN full: evenly to the NaNs (kink: FD sees NaN)")]))

register(Spec("nanmedian", fn=refgrad.nanmedian, torch="torch.nanmedian", avoid=distinct(),
              sampler=cases([C((3, 4)), C(()), C((2, 1, 3), dim=1, keepdim=True), C((0, 3), dim=1), C((2, 3, 4), 1)],
                            spread),
              regression=[S([[1.0, NAN, 3.0, 2.0], [NAN, NAN, 0.5, -1.0]], 1, label="NaNs ignored, dim=1"),
                          S([[1.0, NAN, 3.0], [NAN, 2.0, 0.5]], label="NaNs ignored, full"),
                          S([[NAN, NAN], [1.0, 2.0]], 1, label="all-NaN row -> NaN (kink: FD sees NaN)"),
                          S(fixed(spread, (4, 3), 16), 0, True, label="dim=0 keepdim (positional)"),
                          S([[1.0, 2.0], [2.0, 5.0]], label="tie full (shared evenly)")]))

# mode: distinct values make every value equally frequent, so mode is the smallest (its only index);
# rows are shorter than 16 (torch's mode picks the last occurrence deterministically there).
register(Spec("mode", fn=refgrad.mode, torch="torch.mode", avoid=distinct(),
              sampler=cases([C((3, 4)), C(()), C((2, 3, 4), 1, keepdim=True), C((0, 3), 1), C((1, 5), 0)], spread),
              regression=[S([[1.0, 2.0, 2.0, 3.0, 1.0], [0.0, 0.0, 5.0, 5.0, 5.0]], 1,
                            label="tie: repeats, last occurrence of the smallest most frequent"),
                          S([[4.0, 4.0], [1.0, 4.0], [1.0, 2.0]], 0, True, label="tie: repeats, dim=0 keepdim")]))

# -- unique (forward only: torch and refgrad both refuse its backward) ---------------------------
# diff=(): the inputs do not require grad (torch's Unique2Backward0 raises on any VJP).
def _unique_sampler(rng, i):
    shape, kw = [((3, 4), {}), ((), {"return_counts": True}), ((2, 1, 3), {"return_inverse": True}),
                 ((0, 3), {"return_inverse": True, "return_counts": True}), ((6,), {"sorted": True}),
                 ((4, 3), {"dim": 0, "return_inverse": True, "return_counts": True})][i % 6]
    x = integers(rng, shape, 0, 4)
    if "dim" in kw:
        x = integers(rng, (2, shape[1]), 0, 3)[rng.integers(0, 2, size=shape[0])]  # repeated rows
    return Sample((x,), kw, diff=())


register(Spec("unique", fn=refgrad.unique, torch="torch.unique", sampler=_unique_sampler, supports_grad=False,
              regression=[S([[2.0, 1.0, 2.0], [3.0, 1.0, 0.0]], label="repeats, inverse+counts", diff=(),
                            return_inverse=True, return_counts=True),
                          S([[1.0, 2.0], [0.0, 5.0], [1.0, 2.0]], label="dim=0 rows", diff=(), dim=0,
                            return_inverse=True, return_counts=True),
                          S([[1.0, 1.0, 0.0], [1.0, 1.0, 2.0]], label="dim=1 columns", diff=(), dim=1,
                            return_counts=True),
                          S(np.array([3, 1, 3, 2]), label="int64 input", return_counts=True)]))

# -- scans -----------------------------------------------------------------------------------------
_SCAN_CASES = [C((3, 4), 1), C((), 0), C((2, 1, 3), 1), C((0, 3), 1), C((2, 3, 4), 0), C((5,), -1)]
register(Spec("cumsum", fn=dtyped(refgrad.cumsum, refgrad), torch=_torch_dtyped("cumsum"),
              sampler=cases(_SCAN_CASES),
              regression=[S(_H, 0, label="dim=0"),
                          S(_H, -1, label="dtype=float64", dtype="float64"),
                          S(np.array([[1, 2, 3], [4, 5, 6]]), 1, label="int64 -> int64"),
                          S(np.array([True, False, True]), 0, label="bool -> int64")]))

# cumprod with zeros: the gradient before the first zero, at it and after it (torch's cumprod_backward);
# cumprod is a polynomial, so FD holds at zeros too. Double backward is exact in both engines (torch
# switches to its O(n^2) differentiable formula under create_graph).
register(Spec("cumprod", fn=dtyped(refgrad.cumprod, refgrad), torch=_torch_dtyped("cumprod"),
              sampler=cases(_SCAN_CASES, values=signed),
              regression=[S([[1.5, 0.0, -2.0, 0.5], [0.5, 2.0, 3.0, -1.5]], 1, label="one zero, dim=1"),
                          S([[1.5, 0.0, 0.0, 0.5], [0.0, 2.0, 0.0, -1.5]], 1, label="two zeros per row, dim=1"),
                          S([[0.0, 1.5], [-2.0, 0.0], [1.5, 1.5]], 0, label="zero first and last, dim=0"),
                          S([[1.5, -0.5], [0.5, 2.0]], 0, label="dtype=float64", dtype="float64"),
                          S(np.array([[1, 2, 3], [4, 5, 6]]), 1, label="int64 -> int64")]))

for _name in ("cummax", "cummin"):
    register(Spec(_name, fn=getattr(refgrad, _name), torch=f"torch.{_name}", sampler=cases(_SCAN_CASES, spread),
                  avoid=distinct(),
                  regression=[S([[1.0, 3.0, 3.0, 2.0, 3.0], [2.0, 2.0, -1.0, -1.0, 0.0]], 1,
                                label="tie: the latest occurrence"),
                              S(fixed(spread, (3, 4), 17), 0, label="dim=0")]))

# -- var, std, var_mean, std_mean ------------------------------------------------------------------
# correction 0/1/2, dim tuples, keepdim, the legacy unbiased flag. Samples keep dof = n - correction > 0
# (torch and refgrad warn otherwise). std at 0 (a constant row): torch's gradient is 0 there (a kink).
# No empty case: torch (and refgrad) warn that the degrees of freedom are <= 0 on any empty input.
_VAR_CASES = [C((3, 4)), C((), correction=0), C((2, 1, 3), dim=(0, 2), keepdim=True, correction=2),
              C((2, 3, 4), dim=1, correction=0), C((1, 5), dim=-1, keepdim=True)]
_VAR_REGRESSION = [
    S(fixed(uniform, (3, 4), 18), label="dim=1 correction=0", dim=1, correction=0),
    S(fixed(uniform, (2, 3, 4), 19), label="dim=(0,2) correction=2 keepdim", dim=(0, 2), correction=2, keepdim=True),
    S(fixed(uniform, (2, 3, 4), 20), label="dim=(-1,) unbiased=False", dim=(-1,), unbiased=False),
    S(fixed(uniform, (3, 4), 21), 0, True, True, label="dim=0 unbiased keepdim (positional)"),
]
_STD_ZERO = S([[1.0, 1.0, 1.0], [0.0, 1.0, 2.5]], label="kink: constant row (std 0, gradient 0)", dim=1)
# std of a 0-d tensor (correction 0, the only one with dof > 0) is identically 0: a degenerate kink where
# torch's and refgrad's double backward are both NaN (where/masked_fill over g / (2 std)); FD says 0. So the
# std pair replaces the 0-d case with a vector.
_STD_CASES = [C((4,), correction=0) if c[0] == () else c for c in _VAR_CASES]
for _name in ("var", "std", "var_mean", "std_mean"):
    register(Spec(_name, fn=getattr(refgrad, _name), torch=f"torch.{_name}",
                  sampler=cases(_STD_CASES if _name.startswith("std") else _VAR_CASES),
                  regression=_VAR_REGRESSION + ([_STD_ZERO] if _name.startswith("std") else [])))

# -- logsumexp ------------------------------------------------------------------------------------
register(Spec("logsumexp", fn=refgrad.logsumexp, torch="torch.logsumexp",
              sampler=cases([C((3, 4), 1), C((), 0), C((2, 1, 3), (0, 2), keepdim=True), C((0, 3), 1),
                             C((2, 3, 4), -1)]),
              regression=[S([[100.0, 100.5, 99.0], [-100.0, -99.5, -101.0]], 1,
                            label="large magnitudes (exp overflows float32)"),
                          S([[-INF, 0.0, 1.0], [2.0, -INF, -1.0]], 1,
                            label="-inf entries, gradient 0 there (kink: FD cannot step from an infinite input)"),
                          S(fixed(uniform, (2, 3, 4), 22), (0, -1), label="dim=(0,-1)"),
                          S(_H, 0, True, label="dim=0 keepdim (positional)")]))

# -- norm --------------------------------------------------------------------------------------------
# p = 'fro', 2, 1, inf, -inf, 0, 0.5, 3 and 'nuc'; dims and keepdim. Random inputs keep |x| away from 0
# (the p = 1 and p < 1 kinks) and the |x| distinct (p = +-inf ties). At exact zeros torch's norm_backward
# gives 0 (p = 2 zero vector, p = 1 sgn(0) = 0, p < 1 masked), ties share evenly for p = inf.
_NORM_CASES = [C((3, 4)), C((), p=1), C((2, 1, 3), p=3, dim=1, keepdim=True), C((0, 3), p=2, dim=1),
               C((5,), p=INF), C((2, 3), p=0.5, dim=(0, 1))]
register(Spec("norm", fn=dtyped(refgrad.norm, refgrad), torch=_torch_dtyped("norm"),
              sampler=cases(_NORM_CASES, spread_abs), avoid=all_of(kinks_at(0.0), abs_distinct()),
              regression=[S(fixed(spread_abs, (3, 4), 23), 2, 1, label="p=2 dim=1 (positional)"),
                          S(fixed(spread_abs, (3, 4), 24), label="p=1 dim=(0,1) keepdim", p=1, dim=(0, 1),
                            keepdim=True),
                          S(fixed(spread_abs, (3, 4), 25), label="p=inf dim=0", p=INF, dim=0),
                          S(fixed(spread_abs, (3, 4), 26), label="p=-inf", p=-INF),
                          S(fixed(spread_abs, (3, 4), 27), label="p=0 (gradient 0)", p=0, dim=1),
                          S(fixed(spread_abs, (2, 3, 4), 28), label="p=0.5 dim=-1", p=0.5, dim=-1),
                          S(fixed(spread_abs, (2, 3, 4), 29), label="fro dim=(1,2) keepdim", p="fro", dim=(1, 2),
                            keepdim=True),
                          S(fixed(spread_abs, (3, 4), 30), label="nuc", p="nuc"),
                          S(fixed(spread_abs, (3, 4), 31), label="dtype=float64", dtype="float64"),
                          S([[0.0, 0.0], [0.0, 0.0]], label="kink: zero input, p=2 (gradient 0)"),
                          S([[0.0, 1.5, -2.0]], label="kink: a zero element, p=1 (sgn(0) = 0)", p=1),
                          S([[0.0, 1.5, -2.0]], label="kink: a zero element, p=0.5 (gradient 0 there)", p=0.5),
                          S([[-2.0, 1.5, 2.0]], label="tie |x|, p=inf (shared evenly)", p=INF)]))

# -- all, any, count_nonzero (forward only) --------------------------------------------------------
_LOGICAL_CASES = [C((3, 4)), C(()), C((2, 1, 3), dim=1, keepdim=True), C((0, 3), dim=1), C((2, 3, 4), dim=(0, 2))]
for _name in ("all", "any"):
    register(Spec(_name, fn=getattr(refgrad, _name), torch=f"torch.{_name}", supports_grad=False,
                  sampler=cases(_LOGICAL_CASES, booleans),
                  regression=[S(with_zeros(np.random.default_rng(32), (3, 4)), label="float with zeros, dim=1",
                                dim=1),
                              S(np.array([[0, 2, 1], [3, 4, 5]], dtype=np.uint8), label="uint8 -> uint8", dim=0),
                              S(np.zeros((0, 3), dtype=bool), label="empty, full"),
                              S(np.array([[True, True], [False, True]]), label="dim=(0,1) keepdim", dim=(0, 1),
                                keepdim=True),
                              S(np.array([[1, 0], [2, 3]]), label="int64 input")]))

register(Spec("count_nonzero", fn=refgrad.count_nonzero, torch="torch.count_nonzero", supports_grad=False,
              sampler=cases([C((3, 4)), C(()), C((2, 1, 3), dim=1), C((0, 3), dim=1), C((2, 3, 4), dim=(0, 2))],
                            with_zeros),
              regression=[S(np.array([[True, False], [True, True]]), label="bool input", dim=0),
                          S(np.array([[0, 2, 0], [3, 0, 5]]), label="int64 input, dim=(0,1)", dim=(0, 1)),
                          S(np.zeros((0, 3)), label="empty, full")]))

# -- softmax, log_softmax ------------------------------------------------------------------------------
_SOFTMAX_CASES = [C((3, 4), dim=1), C((2, 3, 4), dim=0), C((), dim=0), C((0, 3), dim=1), C((1, 5), dim=-1),
                  C((2, 1, 3), dim=1)]
# The empty sample is regression sample 4 of both (oracle_tests/test_harness.py's
# test_softmax_empty_backward runs sample 4: keep it there).
for _name in ("softmax", "log_softmax"):
    _cases = _SOFTMAX_CASES if _name not in KNOWN_BUGS else not_empty(_SOFTMAX_CASES)
    register(Spec(_name, fn=dtyped(getattr(refgrad, _name), refgrad), torch=_torch_dtyped(_name),
                  sampler=cases(_cases),
                  meta={"known_bug": KNOWN_BUGS[_name]} if _name in KNOWN_BUGS else {},
                  regression=[S([[1.0, 1.0, 1.0], [10.0, -10.0, 0.0]], label="equal and spread logits", dim=1),
                              S([[100.0, 100.5, 99.0], [-100.0, -99.5, -101.0]], dim=1,
                                label="large logits (exp overflows float32)"),
                              S(_H, label="dtype=float64, dim=0", dim=0, dtype="float64"),
                              S(fixed(uniform, (2, 3), 33), 1, label="dim positional")]
                  + ([] if _name in KNOWN_BUGS else [S(np.zeros((0, 3)), label="empty (0,3) dim=1", dim=1)])
                  # -inf logits: log_softmax's -inf outputs make the harness's compare() compute inf - inf
                  # (a RuntimeWarning, an error under pytest's warnings-as-errors), so only softmax has them
                  + ([S([[-INF, 0.0, 1.0], [2.0, -INF, -1.0]], dim=-1,
                        label="-inf logits (kink: FD cannot step from an infinite input)")] if _name == "softmax"
                     else [])))
