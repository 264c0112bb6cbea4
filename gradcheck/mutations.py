"""The harness's mutation self-test: sensitivity is proven, not assumed.

Each mutation injects one wrong backward rule into a real refgrad op (by monkeypatching the
primitive's ``backward``, or the forward of a backward primitive, or the engine's broadcast
reduction), runs the harness on that op under the patch, and records which checks fail. A mutation
is *killed* when at least one check fails; the harness must kill every one. The kinds of bug are
the ones a hand-written backward really has: a sign flip, a scale 1e-4 off, a dropped broadcast
reduction, a transposed matmul gradient, softmax without its correction term, a wrong tie or kink
rule, a backward that ignores its incoming gradient, a detached second derivative, ...

Every mutation runs on a small *probe* spec of its target op (unregistered: the sweep never sees
it), made like the family specs (hand-written regression samples for ties, kinks and bounds, plus
2 seeded random samples), on cpu, float32 and float64 (FD and double backward in float64). The
unmutated probe must pass, so a kill means the mutation was seen. Patches are undone in ``finally``
and the restoration is verified by identity, so mutations run one after the other in one process.

``expect`` names the checks that must be among the killers (the FD check must see a 1e-4 relative
error; only the double-backward checks can see a detached second derivative; only the oracle can
judge a tie or kink convention, where FD is undefined: those are ``needs_oracle``).

Programmatic use::

    from gradcheck.mutations import CATALOGUE, run_all, kill_rate
    outcomes = run_all()
    print(kill_rate(outcomes))

CLI: ``refgrad-gradcheck --mutations`` (``-k`` selects mutations by name or target op; ``--checks``
and ``--no-oracle`` measure the kill rate of a subset of the checks).
"""
from __future__ import annotations

import contextlib
import fnmatch
import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

import refgrad
from refgrad.autograd import engine as _engine
from refgrad.autograd.graph import apply
from refgrad.ops import elementwise as _E
from refgrad.ops import indexing as _I
from refgrad.ops import linalg as _L
from refgrad.ops import reduction as _R
from refgrad.ops import shape as _S

from . import oracle as _oracle
from .checks import checks_for
from .result import Result
from .runner import run_spec
from .sampling import distinct, elementwise, kinks_at, ties, uniform
from .spec import Sample, Spec

PROBE_SAMPLES = 2            # random samples per probe (on top of its regression samples)
ORACLE_CHECKS = frozenset({"forward", "vjp", "gradgrad_oracle"})


# -- patches ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Patch:
    """Replace ``owner.attr`` (a class or a module) by ``make(original)``. A staticmethod stays a
    staticmethod; an attribute the class inherits is shadowed and the shadow removed afterwards."""

    owner: object
    attr: str
    make: Callable


_MISSING = object()


def _static(owner, attr) -> bool:
    for klass in (owner.__mro__ if isinstance(owner, type) else ()):
        if attr in vars(klass):
            return isinstance(vars(klass)[attr], staticmethod)
    return False


@contextlib.contextmanager
def patched(patches: Sequence[Patch]):
    """Apply ``patches`` for the duration of the block; always undo them, in reverse order, and verify
    that every attribute is back to the very object it was (RuntimeError otherwise)."""
    saved = []
    try:
        for p in patches:
            raw = vars(p.owner).get(p.attr, _MISSING)
            static = _static(p.owner, p.attr)
            new = p.make(getattr(p.owner, p.attr))
            saved.append((p.owner, p.attr, raw))
            setattr(p.owner, p.attr, staticmethod(new) if static else new)
        yield
    finally:
        for owner, attr, raw in reversed(saved):
            if raw is _MISSING:
                delattr(owner, attr)
            else:
                setattr(owner, attr, raw)
        for owner, attr, raw in saved:
            if vars(owner).get(attr, _MISSING) is not raw:
                raise RuntimeError(f"mutation patch of {getattr(owner, '__name__', owner)}.{attr} was not undone")


def snapshot(patches: Sequence[Patch]) -> list:
    """The objects the patches replace (to check restoration from outside)."""
    return [vars(p.owner).get(p.attr, _MISSING) for p in patches]


# -- the catalogue ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Mutation:
    name: str
    target: str                    # the probe spec (named after the op) it runs on
    kind: str                      # the class of bug
    description: str
    patches: tuple
    expect: frozenset = frozenset()   # checks that must be among the killers
    needs_oracle: bool = False        # only torch's convention can judge it (tie / kink / bound rules)


def _where(c, a, b):
    return _E.where(c, a, b)


def _const(arr, like):
    t = refgrad.tensor(np.asarray(arr))
    return t.to(like.dtype) if t.dtype != like.dtype else t


def _first_true(mask: np.ndarray, dims: Sequence[int]) -> np.ndarray:
    """mask with only the first True (row-major over ``dims``) kept in each reduced slice."""
    if not dims or mask.ndim == 0 or mask.size == 0:
        return mask
    k = len(dims)
    moved = np.moveaxis(mask, list(dims), list(range(mask.ndim - k, mask.ndim)))
    flat = moved.reshape(moved.shape[:mask.ndim - k] + (math.prod(moved.shape[mask.ndim - k:]),))
    first = flat & (np.cumsum(flat, axis=-1) == 1)
    return np.moveaxis(first.reshape(moved.shape), list(range(mask.ndim - k, mask.ndim)), list(dims))


# the wrong backward rules, one factory per mutation: make(original) -> replacement

def _scaled(factor):
    def make(orig):
        return lambda ctx, g: orig(ctx, g) * factor
    return make


def _negated(orig):
    return lambda ctx, g: -orig(ctx, g)


def _sin_ignores_grad(orig):
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return x.cos()  # the local derivative, never multiplied by the incoming gradient
    return backward


def _log_detached(orig):
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g / x.detach()  # right value, but d(grad)/dx is lost: the second derivative is 0
    return backward


def _sigmoid_off_by_constant(orig):
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        return g * ((1 - y) * y + 1e-3)
    return backward


def _sqrt_missing_half(orig):
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        return g / y  # 1/y instead of 1/(2y)
    return backward


def _abs_sign_at_zero(orig):
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return _where(x >= 0, g, -g)  # sign(0) taken as +1: gradient 1 at the kink, torch gives 0
    return backward


def _exp_float32(orig):
    def backward(ctx, g):
        return orig(ctx, g).float()  # computed (or stored) in float32, cast back by the engine
    return backward


def _relu_threshold_ge(orig):
    def forward(ctx, g, y):
        ctx.save_for_backward(y)
        return np.asarray(g * (y >= 0))  # >= instead of >: every clipped element passes the gradient
    return forward


def _dropped_broadcast_reduction(orig):
    def _validate(node, i, g, meta):
        shape, gs = meta[0], g._data.shape
        if gs != shape and _engine._broadcastable_to(shape, gs):
            lead = len(gs) - len(shape)
            # one copy of the broadcast gradient instead of the sum over the broadcast dims
            idx = (0,) * lead + tuple(slice(0, 1) if s == 1 and n != 1 else slice(None)
                                      for s, n in zip(shape, gs[lead:]))
            g = g[idx]
        return orig(node, i, g, meta)
    return _validate


def _record_shapes(orig):
    def forward(ctx, a, b):
        ctx.mut_shapes = (np.shape(a), np.shape(b))
        return orig(ctx, a, b)
    return forward


def _add_broadcast_mean(orig):
    def backward(ctx, g):
        sa, sb = ctx.mut_shapes
        n = ctx.needs_input_grad

        def reduce(shape):
            r = g.sum_to_size(shape) if tuple(g.shape) != tuple(shape) else g
            count = math.prod(g.shape) // max(math.prod(shape), 1)
            return r / count if count > 1 else r  # averaged instead of summed over the broadcast dims
        return (reduce(sa) if n[0] else None), (reduce(sb) if n[1] else None)
    return backward


def _mul_swapped(orig):
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        if a is None or b is None:  # mul saves only the operands a gradient needs
            return orig(ctx, g)
        n = ctx.needs_input_grad
        return (g * a if n[0] else None), (g * b if n[1] else None)  # each operand's own value
    return backward


def _mul_detached(orig):
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        n = ctx.needs_input_grad
        return (g * b.detach() if n[0] else None), (g * a.detach() if n[1] else None)
    return backward


def _sub_other_sign(orig):
    def backward(ctx, g):
        return g, (g if ctx.needs_input_grad[1] else None)  # +grad for the subtrahend
    return backward


def _div_divisor_sign(orig):
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        n = ctx.needs_input_grad
        return (g / b if n[0] else None), (g * ((a / b) / b) if n[1] else None)  # missing minus sign
    return backward


def _pow_dropped_minus_one(orig):
    def backward(ctx, g):
        a, b, y = ctx.saved_tensors
        n = ctx.needs_input_grad
        ga = _where(b == 0, 0.0, g * (b * a.pow(b))) if n[0] else None  # a**b instead of a**(b-1)
        gb = g * _where((a == 0) & (b >= 0), 0.0, y * a.log()) if n[1] else None
        return ga, gb
    return backward


def _maximum_tie_to_first(orig):
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        n = ctx.needs_input_grad
        take = a >= b  # ties: everything to the first operand (torch splits it in half)
        return (_where(take, g, 0.0) if n[0] else None), (_where(take, 0.0, g) if n[1] else None)
    return backward


def _matmul_transposed(orig):
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        n = ctx.needs_input_grad
        return (g.matmul(b) if n[0] else None), (a.matmul(g) if n[1] else None)  # b, a not transposed
    return backward


def _softmax_missing_correction(orig):
    def backward(ctx, g):
        if ctx.log:
            return orig(ctx, g)
        (y,) = ctx.saved_tensors
        return y * g  # the - sum(g * y) correction term is missing
    return backward


def _softmax_correction_all_dims(orig):
    def backward(ctx, g):
        if ctx.log or ctx.dim is None:
            return orig(ctx, g)
        (y,) = ctx.saved_tensors
        every = tuple(range(y.ndim))
        return y * (g - (g * y).sum(every, keepdim=True))  # correction summed over every dim, not dim
    return backward


def _log_softmax_missing_exp(orig):
    def backward(ctx, g):
        if not ctx.log:
            return orig(ctx, g)
        (y,) = ctx.saved_tensors
        return g - y * g.sum(ctx.dim, keepdim=True)  # log-probabilities where probabilities belong
    return backward


def _amax_ties_to_first(orig):
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        shape = x._data.shape
        yr = _R.restore_dims(y, shape, ctx.dims, ctx.keepdim)
        gr = _R.restore_dims(g, shape, ctx.dims, ctx.keepdim)
        first = _first_true(np.asarray((x == yr)._data), ctx.dims)  # ties: all to the first one
        return gr * _const(first, g)
    return backward


def _max_all_ties_full(orig):
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        return (x == y) * g  # every tied element gets the whole gradient (torch shares it evenly)
    return backward


def _max_dim_wrong_index(orig):
    def backward(ctx, g):
        if not ctx.in_shape:
            return orig(ctx, g)
        n = ctx.in_shape[ctx.dim]
        if not ctx.keepdim:
            g = g.unsqueeze(ctx.dim)
        # off by one: the gradient goes to the element after the maximum
        return apply(_R._ScatterAlong, g, idx=(ctx.idx + 1) % n, dim=ctx.dim, shape=ctx.in_shape)
    return backward


def _sum_no_restore(orig):
    def backward(ctx, g):
        try:
            return g.expand(*ctx.in_shape)  # reduced dims not restored: g broadcast into the wrong dims
        except (RuntimeError, ValueError):
            return orig(ctx, g)  # (where that is not even shape-valid, the right rule)
    return backward


def _var_wrong_correction(orig):
    def backward(ctx, g):
        if ctx.sqrt:
            return orig(ctx, g)
        x, y = ctx.saved_tensors
        shape = x._data.shape
        n = math.prod(shape[d] for d in ctx.dims)
        g = _R.restore_dims(g, shape, ctx.dims, ctx.keepdim)
        return (2.0 / n) * g * (x - _R.mean(x, ctx.dims, keepdim=True))  # 2/n, not 2/(n - correction)
    return backward


def _cumsum_forward(orig):
    def backward(ctx, g):
        if g.ndim == 0:
            return g
        return apply(_R._Cumsum, g, dim=ctx.dim, out_dt=g._data.dtype)  # cumsum, not the reversed cumsum
    return backward


def _index_overwrites(orig):
    def forward(ctx, g, idx, in_shape):
        ctx.idx = idx
        z = np.zeros(in_shape, dtype=g.dtype)
        z[idx] = g  # assignment: repeated indices keep one gradient instead of accumulating
        return z
    return forward


def _gather_wrong_dim(orig):
    def backward(ctx, g):
        idx = ctx.idx
        swapped = (idx[1], idx[0]) + tuple(idx[2:])  # the index scattered along the other dim
        return apply(_I._IndexBackward, g, idx=swapped, in_shape=ctx.in_shape)
    return backward


def _clamp_blocked_at_bounds(orig):
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        lo, hi = ctx.lo, ctx.hi
        # strict: blocked at the bounds, where torch passes the gradient
        if hi is None:
            return g * (x > lo)
        if lo is None:
            return g * (x < hi)
        return g * ((x > lo) & (x < hi))
    return backward


def _prod_divides_by_zero(orig):
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        if x.ndim == 0:
            return g
        shape = x._data.shape
        g = _R.restore_dims(g, shape, ctx.dims, ctx.keepdim)
        return g * (_R.restore_dims(y, shape, ctx.dims, ctx.keepdim) / x)  # result / x even where x == 0
    return backward


def _inv_missing_transposes(orig):
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return -x.matmul(g.matmul(x))  # -A^-1 G A^-1 instead of -A^-T G A^-T
    return backward


def _permute_not_inverted(orig):
    def backward(ctx, g):
        return g.permute(*ctx.dims)  # the permutation again, not its inverse
    return backward


def _where_branches_swapped(orig):
    def backward(ctx, g):
        (c,) = ctx.saved_tensors
        n = ctx.needs_input_grad
        return None, (_where(c, 0.0, g) if n[1] else None), (_where(c, g, 0.0) if n[2] else None)
    return backward


def _logsumexp_missing_exp(orig):
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        shape = x._data.shape
        g = _R.restore_dims(g, shape, ctx.dims, ctx.keepdim)
        y = _R.restore_dims(y, shape, ctx.dims, ctx.keepdim)
        return g * (x - y)  # log-softmax where softmax belongs
    return backward


def _m(name, target, kind, description, patches, expect=("fd", "vjp"), needs_oracle=False):
    return Mutation(name, target, kind, description, tuple(patches), frozenset(expect), needs_oracle)


_ops, _bin = _E._ops, _E._BIN
_VALUE = ("fd", "vjp")

CATALOGUE: tuple[Mutation, ...] = (
    _m("exp-sign-flip", "exp", "sign flip", "exp backward returns -grad * exp(x)",
       [Patch(_ops["exp"], "backward", _negated)]),
    _m("tanh-scale-1e-4", "tanh", "scale 1e-4 relative", "tanh backward multiplied by 1 + 1e-4",
       [Patch(_ops["tanh"], "backward", _scaled(1 + 1e-4))]),
    _m("exp-float32-precision", "exp", "precision loss",
       "exp backward computed in float32 for float64 inputs (the engine casts it back)",
       [Patch(_ops["exp"], "backward", _exp_float32)], expect=("fd",)),
    _m("sin-ignores-grad", "sin", "ignores incoming gradient", "sin backward returns cos(x), not grad * cos(x)",
       [Patch(_ops["sin"], "backward", _sin_ignores_grad)], expect=("fd", "vjp", "invariants")),
    _m("log-detached-second-derivative", "log", "detached second derivative",
       "log backward divides by x.detach(): first derivative right, second derivative zero",
       [Patch(_ops["log"], "backward", _log_detached)], expect=("gradgrad_fd", "gradgrad_oracle")),
    _m("sigmoid-off-by-constant", "sigmoid", "off by a constant", "sigmoid backward grad * (y (1 - y) + 1e-3)",
       [Patch(_ops["sigmoid"], "backward", _sigmoid_off_by_constant)]),
    _m("sqrt-missing-half", "sqrt", "wrong factor", "sqrt backward grad / y instead of grad / (2 y)",
       [Patch(_ops["sqrt"], "backward", _sqrt_missing_half)]),
    _m("abs-gradient-1-at-zero", "abs", "wrong kink rule", "abs backward takes sign(0) = +1 (torch: 0)",
       [Patch(_ops["abs"], "backward", _abs_sign_at_zero)], expect=("vjp",), needs_oracle=True),
    _m("relu-threshold-ge", "relu", "wrong mask", "relu backward passes the gradient where result >= 0 "
       "(every element) instead of result > 0",
       [Patch(_E._ThresholdBackward, "forward", _relu_threshold_ge)]),
    _m("add-dropped-broadcast-reduction", "add", "dropped broadcast reduction",
       "the engine keeps one copy of a broadcast gradient instead of summing over the broadcast dims",
       [Patch(_engine, "_validate", _dropped_broadcast_reduction)]),
    _m("add-broadcast-mean", "add", "wrong broadcast reduction",
       "add backward averages the gradient over the broadcast dims instead of summing",
       [Patch(_bin["add"], "forward", _record_shapes), Patch(_bin["add"], "backward", _add_broadcast_mean)]),
    _m("sub-other-sign", "sub", "sign flip", "sub backward gives +grad to the subtrahend",
       [Patch(_bin["sub"], "backward", _sub_other_sign)]),
    _m("mul-swapped-operands", "mul", "swapped operands", "mul backward grad * self for self (not grad * other)",
       [Patch(_bin["mul"], "backward", _mul_swapped)]),
    _m("mul-detached-second-derivative", "mul", "detached second derivative",
       "mul backward multiplies by the detached other operand: no d2/(da db)",
       [Patch(_bin["mul"], "backward", _mul_detached)], expect=("gradgrad_fd", "gradgrad_oracle")),
    _m("div-divisor-sign", "div", "sign flip", "div backward for the divisor misses the minus sign",
       [Patch(_bin["div"], "backward", _div_divisor_sign)]),
    _m("pow-exponent-minus-one-dropped", "pow", "wrong exponent",
       "pow backward b * a**b instead of b * a**(b - 1)",
       [Patch(_bin["pow"], "backward", _pow_dropped_minus_one)]),
    _m("maximum-tie-all-to-first", "maximum", "wrong tie rule",
       "maximum backward gives a tie's whole gradient to the first input (torch: half each)",
       [Patch(_bin["maximum"], "backward", _maximum_tie_to_first)], expect=("vjp",), needs_oracle=True),
    _m("matmul-transposed-gradient", "matmul", "transposed matmul gradient",
       "matmul backward grad @ b and a @ grad instead of grad @ b^T and a^T @ grad",
       [Patch(_L._MatMul, "backward", _matmul_transposed)]),
    _m("softmax-missing-correction", "softmax", "missing correction term",
       "softmax backward y * grad instead of y * (grad - sum(grad * y))",
       [Patch(_R._Softmax, "backward", _softmax_missing_correction)]),
    _m("softmax-correction-wrong-dim", "softmax", "reduction over the wrong dim",
       "softmax backward sums its correction term over every dim instead of dim",
       [Patch(_R._Softmax, "backward", _softmax_correction_all_dims)]),
    _m("log-softmax-missing-exp", "log_softmax", "off by one function",
       "log_softmax backward grad - y * sum(grad) with y = log-probabilities (missing exp)",
       [Patch(_R._Softmax, "backward", _log_softmax_missing_exp)]),
    _m("logsumexp-missing-exp", "logsumexp", "off by one function",
       "logsumexp backward grad * (x - result) instead of grad * exp(x - result)",
       [Patch(_R._LogSumExp, "backward", _logsumexp_missing_exp)]),
    _m("amax-ties-all-to-first", "amax", "wrong tie rule",
       "amax backward gives a tie's gradient to the first maximal element (torch: shared evenly)",
       [Patch(_R._AMax, "backward", _amax_ties_to_first)], expect=("vjp",), needs_oracle=True),
    _m("max-all-ties-full-gradient", "max", "wrong tie rule",
       "max() backward gives every tied element the whole gradient (torch: shared evenly)",
       [Patch(_R._EvenAll, "backward", _max_all_ties_full)], expect=("vjp",), needs_oracle=True),
    _m("max-dim-wrong-index", "max_dim", "wrong index",
       "max(dim) backward scatters the gradient to the element after the maximum",
       [Patch(_R._MaxDim, "backward", _max_dim_wrong_index)]),
    _m("sum-reduced-dims-not-restored", "sum", "wrong dim restore",
       "sum(dim, keepdim=False) backward expands the gradient without restoring the reduced dims",
       [Patch(_R._Sum, "backward", _sum_no_restore)]),
    _m("var-wrong-correction", "var", "wrong normalizer", "var backward 2 / n instead of 2 / (n - correction)",
       [Patch(_R._VarStd, "backward", _var_wrong_correction)]),
    _m("prod-divides-by-zero", "prod", "unsafe formula",
       "prod backward result / x also where x == 0 (NaN; torch multiplies the other factors)",
       [Patch(_R._Prod, "backward", _prod_divides_by_zero)]),
    _m("cumsum-not-reversed", "cumsum", "wrong scan direction",
       "cumsum backward cumsum(grad) instead of the reversed cumsum",
       [Patch(_R._Cumsum, "backward", _cumsum_forward)]),
    _m("getitem-repeats-not-accumulated", "getitem", "lost accumulation",
       "indexing backward assigns grad at the indices: repeated indices keep one contribution",
       [Patch(_I._IndexBackward, "forward", _index_overwrites)]),
    _m("gather-wrong-dim", "gather", "wrong dim", "gather backward scatters the gradient along the other dim",
       [Patch(_I._Gather, "backward", _gather_wrong_dim)]),
    _m("clamp-blocked-at-bounds", "clamp", "wrong bound rule",
       "clamp backward blocks the gradient at min/max (torch passes it at the bounds)",
       [Patch(_E._ClampScalar, "backward", _clamp_blocked_at_bounds)], expect=("vjp",), needs_oracle=True),
    _m("where-branches-swapped", "where", "swapped branches",
       "where backward routes the gradient to the branch not taken",
       [Patch(_E._Where, "backward", _where_branches_swapped)]),
    _m("inv-missing-transposes", "inv", "transposed gradient", "linalg.inv backward -A^-1 G A^-1 (no transposes)",
       [Patch(_L._Inv, "backward", _inv_missing_transposes)]),
    _m("permute-not-inverted", "permute", "inverse permutation", "permute backward applies the permutation again",
       [Patch(_S._Permute, "backward", _permute_not_inverted)]),
)


# -- probe specs: small, self-contained samples of each target op ----------------------------------

def _cases(cases, low=-2.0, high=2.0):
    """A sampler cycling (shape, kwargs) cases, values uniform in [low, high)."""
    def sampler(rng, i):
        shape, kw = cases[i % len(cases)]
        return Sample((uniform(rng, shape, low, high),), dict(kw))
    return sampler


def _unary(name, low, high, hand, kinks=None):
    reg = [Sample((np.array(hand, dtype=np.float64),), label="hand")]
    if kinks:
        reg.append(Sample((np.array([-1.0, *kinks, 1.5]),), label="at the kink"))
    return Spec(name, fn=getattr(refgrad, name), torch=f"torch.{name}",
                sampler=elementwise(1, low, high, shapes=[(3, 4), (2, 1, 3)]), regression=reg,
                avoid=kinks_at(*kinks) if kinks else None)


def _binary(name, low=-2.0, high=2.0, avoid=None, regression=()):
    shapes = [((3, 1), (1, 4)), ((2, 3), (3,))]  # broadcasting both ways, and a leading broadcast dim
    return Spec(name, fn=getattr(refgrad, name), torch=f"torch.{name}", sampler=elementwise(2, low, high, shapes),
                avoid=avoid, regression=list(regression))


def _where_sampler(rng, i):
    shape = [(3, 4), (2, 3)][i % 2]
    return Sample((rng.random(shape) < 0.5, uniform(rng, shape), uniform(rng, shape)))


def _gather_sampler(rng, i):
    x = uniform(rng, (3, 3))
    dim = i % 2
    return Sample((x, dim, rng.integers(0, 3, size=(3, 2) if dim else (2, 3))))


def _inv_sampler(rng, i):
    n = 3 if i % 2 == 0 else 2
    return Sample((uniform(rng, (n, n), -1.0, 1.0) + 3.0 * np.eye(n),))  # well conditioned, not symmetric


def _probes() -> dict[str, Spec]:
    e, s = np.array, Sample
    specs = [
        _unary("exp", -2.0, 2.0, [-1.5, 0.3, 1.7]),
        _unary("tanh", -2.0, 2.0, [-1.5, 0.3, 1.7]),
        _unary("sin", -3.0, 3.0, [-2.5, 0.3, 1.7]),
        _unary("log", 0.2, 3.0, [0.3, 1.0, 2.5]),
        _unary("sigmoid", -4.0, 4.0, [-3.0, 0.3, 2.5]),
        _unary("sqrt", 0.2, 3.0, [0.3, 1.0, 2.5]),
        _unary("abs", -2.0, 2.0, [-1.5, 0.3, 1.7], kinks=[0.0]),
        _unary("relu", -2.0, 2.0, [-1.5, 0.3, 1.7], kinks=[0.0]),
        _binary("add"),
        _binary("sub"),
        _binary("mul"),
        _binary("div", low=(-2.0, 0.5), high=(2.0, 2.0),
                regression=[s((e([1.0, -2.0]), e([0.5, -4.0])), label="negative divisor")]),
        _binary("pow", low=(0.3, -2.0), high=(2.0, 2.0)),
        _binary("maximum", avoid=ties(0, 1),
                regression=[s((e([1.0, 2.0, -1.0]), e([1.0, 0.5, 3.0])), label="tie at 0")]),
        Spec("matmul", fn=refgrad.matmul, torch="torch.matmul",  # square: a transposed gradient is shape-valid
             sampler=elementwise(2, shapes=[((3, 3), (3, 3)), ((2, 3, 3), (3, 3))])),
        Spec("softmax", fn=refgrad.softmax, torch="torch.softmax",
             sampler=_cases([((3, 4), {"dim": 1}), ((2, 3, 4), {"dim": 0})]),
             regression=[s((e([[1.0, 1.0, 1.0], [10.0, -10.0, 0.0]]),), {"dim": 1}, label="equal and spread")]),
        Spec("log_softmax", fn=refgrad.log_softmax, torch="torch.log_softmax",
             sampler=_cases([((3, 4), {"dim": 1}), ((2, 3, 4), {"dim": 0})])),
        Spec("logsumexp", fn=refgrad.logsumexp, torch="torch.logsumexp",
             sampler=_cases([((3, 4), {"dim": 1}), ((2, 3, 4), {"dim": (0, 2), "keepdim": True})])),
        Spec("amax", fn=refgrad.amax, torch="torch.amax", avoid=distinct(),
             sampler=_cases([((3, 4), {"dim": 1}), ((2, 3, 4), {"dim": (0, 2)})]),
             regression=[s((e([[1.0, 3.0, 3.0], [2.0, 2.0, 0.0]]),), {"dim": 1}, label="ties")]),
        Spec("max", fn=refgrad.max, torch="torch.max", avoid=distinct(), sampler=_cases([((3, 4), {}), ((5,), {})]),
             regression=[s((e([1.0, 3.0, 2.0, 3.0]),), label="tie")]),
        Spec("max_dim", fn=refgrad.max, torch="torch.max", avoid=distinct(),
             sampler=_cases([((3, 4), {"dim": 1}), ((2, 3, 4), {"dim": 0, "keepdim": True})]),
             meta={"repro": "refgrad-gradcheck --mutations -k max_dim"}),
        Spec("sum", fn=refgrad.sum, torch="torch.sum",  # cubes: a wrong restore is shape-valid
             sampler=_cases([((3, 3, 3), {"dim": 2}), ((3, 3, 3), {"dim": (0, 2)})]),
             regression=[s((e([[1.0, -2.0, 3.0], [0.5, 0.25, -1.0]]),), {"dim": 0}, label="hand")]),
        Spec("var", fn=refgrad.var, torch="torch.var",
             sampler=_cases([((3, 4), {"dim": 1}), ((2, 3, 4), {"dim": (0, 2), "correction": 2})])),
        Spec("prod", fn=refgrad.prod, torch="torch.prod", sampler=_cases([((3, 4), {"dim": 1}), ((5,), {})]),
             regression=[s((e([[1.0, 0.0, 2.0], [3.0, -1.5, 0.5]]),), {"dim": 1}, label="a zero")]),
        Spec("cumsum", fn=refgrad.cumsum, torch="torch.cumsum",
             sampler=_cases([((3, 4), {"dim": 1}), ((5,), {"dim": 0})])),
        Spec("getitem", fn=lambda x, index: x[index], torch="operator.getitem",
             sampler=lambda rng, i: Sample((uniform(rng, (4, 3)), np.array([0, 2, 0, 3, 0]))),
             regression=[s((e([1.0, -2.0, 3.0]), e([1, 1, 2])), label="repeated index")]),
        Spec("gather", fn=refgrad.gather, torch="torch.gather", sampler=_gather_sampler),
        Spec("clamp", fn=lambda x: refgrad.clamp(x, -0.5, 0.5), torch=lambda torch: lambda x: torch.clamp(x, -0.5, 0.5),
             sampler=elementwise(1, shapes=[(3, 4), (5,)]), avoid=kinks_at(-0.5, 0.5),
             regression=[s((e([-0.5, 0.5, 0.0, 1.0, -1.0]),), label="at the bounds")]),
        Spec("where", fn=refgrad.where, torch="torch.where", sampler=_where_sampler),
        Spec("inv", fn=refgrad.linalg.inv, torch="torch.linalg.inv", sampler=_inv_sampler),
        Spec("permute", fn=refgrad.permute, torch="torch.permute",  # a cube: a wrong inverse is shape-valid
             sampler=lambda rng, i: Sample((uniform(rng, (2, 2, 2)), (1, 2, 0)))),
    ]
    out = {}
    for spec in specs:
        spec.meta.setdefault("repro", f"refgrad-gradcheck --mutations -k {spec.name}")
        out[spec.name] = spec
    return out


_PROBES: dict[str, Spec] = {}


def probe(target: str) -> Spec:
    """The probe spec of a target op."""
    if not _PROBES:
        _PROBES.update(_probes())
    return _PROBES[target]


# -- running -----------------------------------------------------------------------------------------

@dataclass
class Outcome:
    mutation: Mutation
    verdict: str                      # killed | SURVIVED | WEAK | INVALID | n/a
    caught_by: list[str] = field(default_factory=list)
    missed_expected: list[str] = field(default_factory=list)
    clean_failures: list[str] = field(default_factory=list)
    note: str = ""
    results: list[Result] = field(default_factory=list)

    @property
    def killed(self) -> bool:
        return self.verdict in ("killed", "WEAK")

    @property
    def counted(self) -> bool:
        return self.verdict != "n/a"


def select(patterns: Sequence[str] | None, catalogue: Sequence[Mutation] = CATALOGUE) -> list[Mutation]:
    """Filter as the CLI's -k does for specs: a pattern equal to a mutation's name or target op selects
    exactly those; one with * ? [ is a glob over names and targets; anything else matches as a substring
    of the name."""
    if not patterns:
        return list(catalogue)
    exact = {m.name for m in catalogue} | {m.target for m in catalogue}
    out = []
    for m in catalogue:
        for p in patterns:
            if p in exact:
                hit = p in (m.name, m.target)
            elif any(ch in p for ch in "*?["):
                hit = fnmatch.fnmatchcase(m.name, p) or fnmatch.fnmatchcase(m.target, p)
            else:
                hit = p in m.name
            if hit:
                out.append(m)
                break
    return out


def target_spec(m: Mutation, registered: bool = False) -> Spec:
    """The spec a mutation runs on: its probe, or (``registered``) the sweep's registered spec of the
    same name where there is one."""
    if registered:
        from .spec import get  # noqa: PLC0415 - loads every spec module

        try:
            return get(m.target)
        except KeyError:
            pass
    return probe(m.target)


def _run(spec: Spec, opts: dict) -> list[Result]:
    n = opts.get("n_samples")
    return run_spec(spec, devices=["cpu"], dtypes=opts.get("dtypes"), seed=opts.get("seed", 0),
                    checks=opts.get("checks"), n_samples=PROBE_SAMPLES if n is None else n,
                    sample=opts.get("sample"))


def _failed(results: list[Result]) -> list[str]:
    order = [c.name for c in checks_for("op")]
    names = {r.check for r in results if r.status == "failed"}
    return sorted(names, key=lambda n: order.index(n) if n in order else len(order))


def run_mutation(m: Mutation, seed: int = 0, checks: Sequence[str] | None = None,
                 dtypes: Sequence[str] | None = None, *, sample: int | None = None, n_samples: int | None = None,
                 registered: bool = False, clean: list[str] | None = None) -> Outcome:
    """Run the target spec under mutation ``m`` (cpu; every check unless ``checks``), after checking
    that it passes unmutated (skipped when the clean run's failures are given as ``clean``)."""
    opts = {"seed": seed, "checks": checks, "dtypes": dtypes, "sample": sample, "n_samples": n_samples}
    spec = target_spec(m, registered)
    have_oracle = _oracle.get_torch() is not None
    selected = {c.name for c in checks_for("op", checks)}
    runnable = selected if have_oracle else selected - ORACLE_CHECKS
    if m.needs_oracle and not (runnable & ORACLE_CHECKS):
        return Outcome(m, "n/a", note="needs the oracle: FD is undefined at a tie/kink/bound")
    if clean is None:
        clean = _failed(_run(spec, opts))
    if clean:
        return Outcome(m, "INVALID", clean_failures=clean, note="unmutated spec fails " + ",".join(clean))
    with patched(m.patches), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a mutated backward may compute NaN/inf on purpose
        results = _run(spec, opts)
    caught = _failed(results)
    missed = sorted((m.expect & runnable) - set(caught))
    if not caught:
        verdict = "SURVIVED"
    elif missed:
        verdict = "WEAK"
    else:
        verdict = "killed"
    note = f"missed by {','.join(missed)}" if missed else ""
    return Outcome(m, verdict, caught, missed, [], note, results)


def run_all(mutations: Sequence[Mutation] | None = None, seed: int = 0, checks: Sequence[str] | None = None,
            dtypes: Sequence[str] | None = None, *, sample: int | None = None, n_samples: int | None = None,
            registered: bool = False) -> list[Outcome]:
    """Every mutation in turn, sequentially in this process (each target's clean run once), then a
    final clean run of every target: RuntimeError if any result changed (a patch left behind)."""
    mutations = list(CATALOGUE if mutations is None else mutations)
    opts = {"seed": seed, "checks": checks, "dtypes": dtypes, "sample": sample, "n_samples": n_samples}
    clean: dict[str, list[str]] = {}
    specs: dict[str, Spec] = {}
    outcomes = []
    for m in mutations:
        if m.target not in clean:
            specs[m.target] = target_spec(m, registered)
            clean[m.target] = _failed(_run(specs[m.target], opts))
        outcomes.append(run_mutation(m, seed, checks, dtypes, sample=sample, n_samples=n_samples,
                                     registered=registered, clean=clean[m.target]))
    for target, before in clean.items():
        after = _failed(_run(specs[target], opts))
        if after != before:
            raise RuntimeError(f"spec {target!r} fails {after} after the mutations (before: {before}): "
                               f"a patch was not undone")
    return outcomes


def kill_rate(outcomes: Sequence[Outcome]) -> tuple[int, int]:
    counted = [o for o in outcomes if o.counted]
    return sum(o.killed for o in counted), len(counted)


def table(outcomes: Sequence[Outcome]) -> str:
    from .report import _table  # noqa: PLC0415

    rows = [[o.mutation.name, o.mutation.target, o.mutation.kind, ",".join(o.caught_by) or "-",
             o.verdict + (f" ({o.note})" if o.note and o.verdict != "killed" else "")] for o in outcomes]
    k, n = kill_rate(outcomes)
    pct = f"{100.0 * k / n:.0f}%" if n else "-"
    lines = _table(["mutation", "target", "kind", "caught by", "verdict"], rows)
    lines.append(f"kill rate: {k}/{n} ({pct})")
    skipped = sum(not o.counted for o in outcomes)
    if skipped:
        lines.append(f"{skipped} not applicable without the oracle checks (tie/kink/bound conventions: n/a)")
    return "\n".join(lines)


def ok(outcomes: Sequence[Outcome]) -> bool:
    """Every applicable mutation killed, by the checks it must be killed by, on a passing probe."""
    return all(o.verdict in ("killed", "n/a") for o in outcomes)
