"""Specs for indexing (refgrad/ops/indexing.py, Tensor.__getitem__ and Tensor.__setitem__).

Integer index arrays are numpy int64 arrays in the samples' args (they become index tensors in both
engines). Hand samples repeat indices where the gradient must accumulate (gather, take, index_select,
getitem, index_add, scatter_add, accumulating index_put/put); ops that write without accumulating
(scatter, index_copy, index_put/put/setitem without accumulate) never get duplicate destinations
(torch leaves the winner unspecified). amax/amin scatter_reduce samples keep their values on a
spaced grid (no ties) except in the one hand-written tie case, which checks torch's even split.
"""
from __future__ import annotations

import os
import warnings

import numpy as np

import refgrad

from ..sampling import stable_hash, uniform
from ..spec import Sample, Spec, register

# refgrad bugs found by these specs (refgrad/ is not ours to edit): the failing samples are kept out of the
# default run (set GRADCHECK_KNOWN_BUGS=1 to add them back) and the spec carries meta["known_bug"].
KNOWN_BUGS: dict[str, str] = {}
RUN_KNOWN_BUGS = os.environ.get("GRADCHECK_KNOWN_BUGS") == "1"

N_RANDOM = 4  # the harness's default number of random samples per spec


# -- helpers ------------------------------------------------------------------------------------

def I(*values):  # noqa: E743 - short for "index array"
    return np.array(values, dtype=np.int64)


def ar(*shape):
    """Deterministic distinct values of ``shape`` (hand samples)."""
    n = int(np.prod(shape)) if shape else 1
    return (np.arange(n, dtype=np.float64) * 0.37 - 1.3).reshape(shape)


def hand(*args, label="hand", diff=None, **kwargs):
    return Sample(tuple(args), dict(kwargs), diff=diff, label=label)


def spec(name, fn, torch, makers, regression=(), **fields):
    """Register a spec whose sampler cycles through ``makers`` (``rng -> Sample``); makers past the
    first N_RANDOM (never drawn by the default run) also become regression samples from a fixed seed."""
    def sampler(rng, i):
        return makers[i % len(makers)](rng)
    extra = [make(np.random.default_rng([stable_hash(name), k])) for k, make in enumerate(makers[N_RANDOM:])]
    if name in KNOWN_BUGS:
        fields["meta"] = {**fields.get("meta", {}), "known_bug": KNOWN_BUGS[name]}
        if RUN_KNOWN_BUGS:
            extra += list(_KNOWN_BUG_SAMPLES[name])
    return register(Spec(name, fn=fn, torch=torch, sampler=sampler, regression=list(regression) + extra, **fields))


def rand_index(rng, shape, high):
    """Random indices in [0, high) (repeats allowed: gradients accumulate)."""
    return rng.integers(0, high, size=shape).astype(np.int64)


def unique_along(rng, shape, dim, high):
    """Indices of ``shape`` in [0, high), distinct along ``dim`` (scatter without duplicate targets)."""
    dim = dim % len(shape)
    full = list(shape)
    full[dim] = high
    perm = np.argsort(rng.random(full), axis=dim)
    return np.take(perm, np.arange(shape[dim]), axis=dim).astype(np.int64)


def unique_flat(rng, n, high, negative=False):
    """n distinct flat indices in [0, high), some written as negative indices when asked."""
    a = rng.permutation(high)[:n].astype(np.int64)
    if negative and n:
        a[::2] -= high
    return a


def spaced(rng, *shapes, gap=0.15):
    """Arrays whose values are all distinct by at least ``gap`` jointly (no ties for amax/amin)."""
    sizes = [int(np.prod(s)) if s else 1 for s in shapes]
    vals = (rng.permutation(sum(sizes)) - sum(sizes) / 2) * gap + rng.uniform(-0.02, 0.02, sum(sizes))
    out, k = [], 0
    for s, n in zip(shapes, sizes):
        out.append(vals[k:k + n].reshape(s))
        k += n
    return out


def _describe(index):
    if isinstance(index, np.ndarray):
        return f"{index.dtype.name}{list(index.shape)}"
    if isinstance(index, tuple):
        return ",".join(_describe(i) for i in index)
    if isinstance(index, slice):
        return ":".join("" if v is None else str(v) for v in (index.start, index.stop, index.step))
    return "..." if index is Ellipsis else repr(index)


# the samples that fail because of KNOWN_BUGS (added only with GRADCHECK_KNOWN_BUGS=1)
_KNOWN_BUG_SAMPLES: dict[str, list] = {}


# -- __getitem__ -------------------------------------------------------------------------------------
# (input shape, index): basic slicing, integers, None/Ellipsis, integer arrays with repeats (the
# gradient must accumulate), boolean masks, empty results, advanced indices split by a slice
# (the advanced dims go first), lists, 0-d index tensors, negative integers.
_GETITEM = [
    ((3, 4), (slice(None), 1)),
    ((4, 3), np.array([0, 2, 0, 3])),
    ((2, 3, 4), (Ellipsis, slice(1, None, 2))),
    ((3, 4), np.array([[True, False, True, False]] * 3)),
    ((5,), (None, slice(1, 4))),
    ((3, 4), (slice(2, 2),)),
    ((2, 3, 4), (1, slice(None, None, 2), -1)),
    ((3, 4), (np.array([0, 2, 2]), np.array([1, 3, 1]))),
    ((2, 3, 4), (np.array([1, 0]), slice(None), np.array([3, 3]))),
    ((2, 3, 4), (slice(None), np.array([[0, 1], [2, 2]]))),
    ((3, 4), [2, 0, 2]),
    ((3, 4), np.array(1)),
    ((), ()),
    ((), None),
    ((3, 4), (-1, slice(-3, None))),
    ((3, 4), np.array([], dtype=np.int64)),
    ((2, 3, 4), (Ellipsis, None, np.array([0, 3]))),
    ((3, 4), (np.array([True, False, True]), slice(1, 3))),
    ((3,), True),
    ((2, 3, 4), (np.array([0, 1]), 1, np.array([2, 0]))),
    ((2, 3, 4), (np.array([[True, False, True], [False, True, True]]), slice(1, None))),
    ((3, 4), (np.array([-1, -3, -1]),)),
    ((7, 2), slice(None, None, 3)),
    ((3, 4), (slice(1, 100), slice(-100, 2))),
]


def _getitem_maker(shape, index):
    return lambda rng: Sample((uniform(rng, shape), index), label=f"{shape}[{_describe(index)}]")


spec("getitem", lambda x, index: x[index], "operator.getitem", [_getitem_maker(s, i) for s, i in _GETITEM])


# -- __setitem__ (on a clone, differentiable w.r.t. the original and the value) ------------------------------

def _setitem(x, value, index):
    y = x.clone()
    y[index] = value
    return y


# (input shape, value shape or a Python number, index): destinations never repeat
_SETITEM = [
    ((3, 4), (4,), 1),
    ((3, 4), (3, 2), (slice(None), slice(1, 3))),
    ((4, 3), (2, 3), np.array([0, 2])),
    ((3, 4), 1.5, np.array([[True, False, True, False]] * 3)),
    ((3, 4), (), (np.array([0, 2]), np.array([1, 3]))),
    ((2, 3, 4), (1, 3, 4), 0),
    ((3, 4), (3, 4), Ellipsis),
    ((5,), (0,), slice(2, 2)),
    ((), (), ()),
    ((3, 4), (), np.array([True, False, True])),
    ((2, 3, 4), (2, 2), (slice(None), np.array([2, 0]), -1)),
    ((3, 4), (1, 4), np.array([-1, 0])),
    ((5,), (3,), slice(None, None, 2)),
    ((2, 3, 2), (2, 3), (np.array([0, 1]), slice(None), np.array([1, 0]))),
    ((3, 4), (1, 4), (None, 1)),
    ((3, 4), (4,), [0, 2]),
]


def _setitem_maker(xshape, vshape, index):
    def make(rng):
        value = vshape if isinstance(vshape, float) else uniform(rng, vshape)
        return Sample((uniform(rng, xshape), value, index), label=f"{xshape}[{_describe(index)}] = "
                      f"{vshape if isinstance(vshape, float) else vshape}")
    return make


def _setitem_view(x, value, index, view):
    """Write through a view of a clone (slice or transpose): the clone's history is rebased."""
    y = x.clone()
    v = y[1:] if view == "slice" else y.transpose(0, -1)
    v[index] = value
    return y


spec("setitem", _setitem, lambda torch: _setitem, [_setitem_maker(*c) for c in _SETITEM])
register(Spec("setitem(view)", fn=_setitem_view, torch=lambda torch: _setitem_view,
              regression=[hand(ar(3, 2), ar(2) + 5, 0, "slice", label="y[1:][0] = v"),
                          hand(ar(3, 2), ar(3) + 5, 1, "transpose", label="y.t()[1] = v"),
                          hand(ar(4, 3), ar(2, 1) + 5, (np.array([2, 0]), slice(1, 3)), "slice",
                               label="y[1:][[2, 0], 1:3] = v (advanced through a view)"),
                          hand(ar(2, 3), 0.5, np.array([True, False, True]), "transpose",
                               label="y.t()[mask] = 0.5")]))


# -- index_put / index_put_ -----------------------------------------------------------------------------

def _index_put_maker(xshape, vshape, index_fn, accumulate):
    def make(rng):
        idx = index_fn(rng)
        return Sample((uniform(rng, xshape), uniform(rng, vshape), *idx), {"accumulate": accumulate},
                      label=f"{xshape}[{_describe(tuple(idx))}] <- {vshape} accumulate={accumulate}")
    return make


_INDEX_PUT = [
    ((5,), (3,), lambda r: (unique_flat(r, 3, 5),), False),
    ((5,), (4,), lambda r: (rand_index(r, 4, 3),), True),                     # repeats add up
    ((3, 4), (2,), lambda r: (unique_flat(r, 2, 3), rand_index(r, 2, 4)), False),
    ((3, 4), (), lambda r: (I(0, 0, 2), I(1, 1, 0)), True),                  # broadcast value, repeats
    ((3, 4), (2, 4), lambda r: (unique_flat(r, 2, 3, negative=True),), False),  # partial index: rows
    ((3, 4), (1,), lambda r: (r.random((3, 4)) > 0.5,), False),               # boolean mask
    ((0, 3), (0, 3), lambda r: (I(),), True),                                 # empty
    ((2, 3, 4), (3,), lambda r: (I(1, 0, 1), I(2, 2, 0), I(-1, 0, 3)), True),
    ((3, 2), (2, 3), lambda r: (I([0], [2]), I(1, 0, 1)), True),             # indices broadcast together
    ((3, 2), (2, 2), lambda r: (np.array([True, False, True]),), True),       # boolean mask, accumulate
]


def _index_put(x, v, *indices, accumulate=False):
    return refgrad.index_put(x, indices, v, accumulate=accumulate)


def _index_put_(x, v, *indices, accumulate=False):
    return refgrad.index_put_(x.clone(), indices, v, accumulate=accumulate)


spec("index_put", _index_put,
     lambda torch: lambda x, v, *indices, accumulate=False: torch.index_put(x, indices, v, accumulate=accumulate),
     [_index_put_maker(*c) for c in _INDEX_PUT],
     [hand(ar(5), ar(4) + 3.0, I(1, 1, 3, 1), accumulate=True, label="repeated index 1 (three times)")])

spec("index_put_", _index_put_,
     lambda torch: lambda x, v, *indices, accumulate=False: torch.index_put_(x.clone(), indices, v,
                                                                              accumulate=accumulate),
     [_index_put_maker(*c) for c in _INDEX_PUT[:4]])


# -- gather / scatter family -----------------------------------------------------------------------------

def _gather_maker(xshape, dim, ishape):
    def make(rng):
        return Sample((uniform(rng, xshape), dim, rand_index(rng, ishape, xshape[dim] if xshape else 1)),
                      label=f"{xshape} dim={dim} index{ishape}")
    return make


spec("gather", refgrad.gather, "torch.gather",
     [_gather_maker((3, 4), 0, (5, 4)), _gather_maker((3, 4), 1, (2, 3)), _gather_maker((), 0, ()),
      _gather_maker((3, 4), -1, (0, 4)), _gather_maker((2, 3, 4), 1, (2, 2, 3)), _gather_maker((5,), -1, (7,))],
     [hand(ar(2, 3), 1, I([0, 0, 2], [1, 1, 1]), label="repeated indices accumulate"),
      hand(ar(3, 2), -2, I([2, 1]), sparse_grad=False, label="sparse_grad=False (dense gradient)")])


def _src_diff(ishape, sshape):
    """torch's scatter backwards return src's gradient in the index's shape and raise when src is
    larger than the index (which the forward allows): then only the input is differentiated."""
    return None if sshape is None or tuple(ishape) == tuple(sshape) else (0,)


def _scatter_maker(xshape, dim, ishape, sshape, value=None):
    def make(rng):
        d = dim % len(xshape) if xshape else 0
        idx = unique_along(rng, ishape, d, xshape[d]) if ishape else np.array(0, dtype=np.int64)
        src = value if value is not None else uniform(rng, sshape)
        return Sample((uniform(rng, xshape), dim, idx, src), diff=_src_diff(ishape, sshape),
                      label=f"{xshape} dim={dim} index{ishape} src={src if value is not None else sshape}")
    return make


spec("scatter", refgrad.scatter, "torch.scatter",
     [_scatter_maker((3, 4), 0, (2, 4), (2, 5)), _scatter_maker((3, 4), -1, (3, 2), None, value=1.5),
      _scatter_maker((), 0, (), ()), _scatter_maker((3, 4), 1, (0, 2), (1, 2)),
      _scatter_maker((2, 3, 4), 1, (2, 3, 3), (2, 3, 3)), _scatter_maker((4,), 0, (3,), (5,))],
     [hand(ar(3, 4), 0, I([0, 2, 1, 0]), value=-2.5, label="value= keyword")])


def _scatter_legacy(x, dim, index, src, reduce):
    with warnings.catch_warnings():  # the deprecation warning of reduce= with a Tensor src (both engines)
        warnings.simplefilter("ignore")
        return refgrad.scatter(x, dim, index, src, reduce=reduce)


def _scatter_legacy_torch(torch):
    def fn(x, dim, index, src, reduce):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return torch.scatter(x, dim, index, src, reduce=reduce)
    return fn


# scatter's reduce= argument has no derivative in torch (nor in refgrad): forward only, and the
# samples mark nothing differentiable (the vjp check would otherwise call the missing backward)
register(Spec("scatter(reduce=)", fn=_scatter_legacy, torch=_scatter_legacy_torch, supports_grad=False,
              regression=[hand(ar(3, 4), 0, I([0, 1, 2, 0], [0, 0, 1, 2]), ar(2, 4) * 0.5, "add", diff=(),
                               label="add, repeated targets"),
                          hand(ar(3, 4), -1, I([0, 0], [3, 1], [2, 2]), ar(3, 2) + 2.0, "multiply", diff=(),
                               label="multiply, repeated targets"),
                          hand(ar(3, 4), 1, I([1, 3]), 1.5, "add", diff=(), label="scalar value, add"),
                          hand(ar(3, 4), 0, I([2, 1]), 3.0, "multiply", diff=(), label="scalar value, multiply")]))


def _scatter_add_maker(xshape, dim, ishape, sshape):
    def make(rng):
        d = dim % len(xshape) if xshape else 0
        return Sample((uniform(rng, xshape), dim, rand_index(rng, ishape, xshape[d] if xshape else 1),
                       uniform(rng, sshape)), diff=_src_diff(ishape, sshape),
                      label=f"{xshape} dim={dim} index{ishape} src{sshape}")
    return make


spec("scatter_add", refgrad.scatter_add, "torch.scatter_add",
     [_scatter_add_maker((3, 4), 0, (5, 4), (5, 4)), _scatter_add_maker((3, 4), -1, (3, 6), (3, 7)),
      _scatter_add_maker((), 0, (), ()), _scatter_add_maker((3, 4), 1, (0, 2), (1, 2)),
      _scatter_add_maker((2, 3, 4), 1, (2, 5, 3), (2, 5, 4))],
     [hand(ar(2, 3), 1, I([0, 0, 0], [2, 1, 2]), ar(2, 3) * 2, label="repeated targets add up")])

_REDUCES = ("sum", "prod", "mean", "amax", "amin")


def _scatter_reduce_maker(reduce, include_self, xshape, dim, ishape, sshape):
    if reduce == "prod":  # torch's prod backward (even the input's) raises for a src larger than the index
        sshape = ishape

    def make(rng):
        d = dim % len(xshape) if xshape else 0
        idx = rand_index(rng, ishape, xshape[d] if xshape else 1)
        if reduce in ("amax", "amin"):
            x, src = spaced(rng, xshape, sshape)
        else:  # prod: away from 0 so that a factor is never tiny (smooth, well-scaled)
            x, src = uniform(rng, xshape), uniform(rng, sshape)
            if reduce == "prod":
                x, src = np.sign(x) * (0.5 + np.abs(x) / 2), np.sign(src) * (0.5 + np.abs(src) / 2)
        return Sample((x, dim, idx, src, reduce), {"include_self": include_self}, diff=_src_diff(ishape, sshape),
                      label=f"{reduce} include_self={include_self} {xshape} dim={dim} index{ishape} src{sshape}")
    return make


_SR_SHAPES = [((3, 4), 0, (5, 4), (5, 4)), ((3, 4), -1, (3, 6), (3, 7)), ((2, 3), 1, (2, 2), (2, 3)),
              ((), 0, (), ()), ((4,), 0, (6,), (6,))]
spec("scatter_reduce", refgrad.scatter_reduce, "torch.scatter_reduce",
     [_scatter_reduce_maker(r, inc, *_SR_SHAPES[(k + inc) % len(_SR_SHAPES)])
      for k, r in enumerate(_REDUCES) for inc in (True, False)],
     [hand(np.array([[1.0, 2.0], [0.5, -1.0]]), 0, I([0, 0], [0, 1]), np.array([[2.0, 2.0], [2.0, 0.3]]), "amax",
           label="amax ties (self and two src) share the gradient evenly"),
      hand(np.array([[1.0, 2.0], [0.5, -1.0]]), 0, I([0, 0], [0, 1]), np.array([[0.5, 2.0], [0.5, -3.0]]), "amin",
           include_self=False, label="amin ties among src only (include_self=False)"),
      hand(np.array([0.0, 2.0, 1.5, 0.0]), 0, I(0, 1, 1, 2, 3, 3), np.array([1.5, 0.0, 2.0, 0.0, 0.0, 1.2]), "prod",
           label="prod with zeros: one zero, two zeros, zero in self"),
      hand(np.array([0.0, 2.0, 0.5]), 0, I(0, 0, 1, 2, 2), np.array([0.0, 1.5, 0.0, 0.7, -2.0]), "prod",
           include_self=False, label="prod with one zero per position, include_self=False"),
      hand(np.array([1.0, -2.0, 3.0]), 0, I(0, 0, 2), np.array([0.5, 1.5, -1.0]), "mean", include_self=False,
           label="mean, untouched position keeps self"),
      hand(ar(2, 3), 1, I([0, 0, 2], [1, 1, 1]), ar(2, 3) * 0.5 + 0.11, "max", diff=(),
           label="'max' alias of amax (torch's forward takes it, its backward does not: forward only)")])

spec("take_along_dim", refgrad.take_along_dim, "torch.take_along_dim",
     [lambda r: Sample((uniform(r, (3, 4)), rand_index(r, (2, 4), 3)), {"dim": 0}),
      lambda r: Sample((uniform(r, (3, 4)), rand_index(r, (5,), 12)), label="dim=None (flattened)"),
      lambda r: Sample((uniform(r, (3, 1)), rand_index(r, (1, 4), 3)), {"dim": 0}, label="broadcast both ways"),
      lambda r: Sample((uniform(r, (2, 3, 4)), rand_index(r, (2, 3, 0), 4)), {"dim": -1}, label="empty"),
      lambda r: Sample((uniform(r, (2, 3, 4)), rand_index(r, (1, 6, 4), 3), 1), label="positional dim"),
      lambda r: Sample((uniform(r, ()), np.zeros((3,), np.int64)), label="0-d input, dim=None")])

spec("index_select", refgrad.index_select, "torch.index_select",
     [lambda r: Sample((uniform(r, (3, 4)), 0, rand_index(r, (5,), 3))),
      lambda r: Sample((uniform(r, (3, 4)), -1, rand_index(r, (2,), 4))),
      lambda r: Sample((uniform(r, ()), 0, I(0))),
      lambda r: Sample((uniform(r, (3, 4)), 1, I())),
      lambda r: Sample((uniform(r, (2, 3, 4)), 1, np.array(2, dtype=np.int64)), label="0-d index"),
      lambda r: Sample((uniform(r, (0, 3)), 1, rand_index(r, (4,), 3)))],
     [hand(ar(3, 2), 0, I(2, 0, 2, 2), label="repeated rows accumulate")])


def _index_add_maker(xshape, dim, n, alpha=None, unique=False):
    def make(rng):
        d = dim % len(xshape) if xshape else 0
        size = xshape[d] if xshape else 1
        idx = unique_flat(rng, n, size) if unique else rand_index(rng, (n,), size)
        sshape = list(xshape) or []
        if xshape:
            sshape[d] = n
        kw = {} if alpha is None else {"alpha": alpha}
        return Sample((uniform(rng, xshape), dim, idx, uniform(rng, tuple(sshape))), kw,
                      label=f"{xshape} dim={dim} n={n}" + (f" alpha={alpha}" if alpha is not None else ""))
    return make


spec("index_add", refgrad.index_add, "torch.index_add",
     [_index_add_maker((3, 4), 0, 5), _index_add_maker((3, 4), -1, 3, alpha=-1.5), _index_add_maker((), 0, 1),
      _index_add_maker((3, 4), 1, 0), _index_add_maker((2, 3, 4), 1, 4, alpha=2.0)],
     [hand(ar(3, 2), 0, I(1, 1, 1), ar(3, 2) * 2, alpha=0.5, label="one row three times, alpha")])

spec("index_copy", refgrad.index_copy, "torch.index_copy",
     [_index_add_maker((3, 4), 0, 2, unique=True), _index_add_maker((3, 4), -1, 4, unique=True),
      _index_add_maker((), 0, 1, unique=True), _index_add_maker((3, 4), 1, 0, unique=True),
      _index_add_maker((2, 3, 4), 1, 3, unique=True)])

spec("index_fill", refgrad.index_fill, "torch.index_fill",
     [lambda r: Sample((uniform(r, (3, 4)), 0, rand_index(r, (2,), 3), 1.5)),
      lambda r: Sample((uniform(r, (3, 4)), -1, rand_index(r, (3,), 4), uniform(r, ())), label="0-d tensor value"),
      lambda r: Sample((uniform(r, ()), 0, I(0), -0.5)),
      lambda r: Sample((uniform(r, (3, 4)), 1, I(), uniform(r, ())), label="empty index, tensor value"),
      # (a tensor value with a negative index makes torch's backward raise: a number here)
      lambda r: Sample((uniform(r, (2, 3, 4)), 1, I(-1, 0), 0.75), label="negative index")],
     [hand(ar(3, 4), 0, I(0, 2, 0), np.array(1.5), label="repeated index: the value counts each row once")])

# -- masks ------------------------------------------------------------------------------------------


def _mask(rng, shape):
    return rng.random(shape) > 0.5


spec("masked_fill", refgrad.masked_fill, "torch.masked_fill",
     [lambda r: Sample((uniform(r, (3, 4)), _mask(r, (3, 4)), 1.5)),
      lambda r: Sample((uniform(r, (3, 4)), _mask(r, (4,)), uniform(r, ())), label="broadcast mask, tensor value"),
      lambda r: Sample((uniform(r, ()), np.array(True), -2.0)),
      lambda r: Sample((uniform(r, (0, 3)), _mask(r, (1, 3)), uniform(r, ()))),
      lambda r: Sample((uniform(r, (4,)), _mask(r, (3, 4)), uniform(r, ())), label="mask broadcasts the input")],
     [hand(ar(2, 3), np.array([[True, False, True], [True, True, False]]), np.array(0.25),
           label="0-d tensor value gets the sum of the filled cotangents")])

spec("masked_select", refgrad.masked_select, "torch.masked_select",
     [lambda r: Sample((uniform(r, (3, 4)), _mask(r, (3, 4)))),
      lambda r: Sample((uniform(r, (3, 1)), _mask(r, (1, 4))), label="broadcast both ways"),
      lambda r: Sample((uniform(r, ()), np.array(True))),
      lambda r: Sample((uniform(r, (3, 4)), np.zeros((3, 4), bool)), label="nothing selected"),
      lambda r: Sample((uniform(r, (0, 3)), _mask(r, (3,))))])

spec("masked_scatter", refgrad.masked_scatter, "torch.masked_scatter",
     [lambda r: Sample((uniform(r, (3, 4)), _mask(r, (3, 4)), uniform(r, (3, 4)))),
      lambda r: Sample((uniform(r, (3, 4)), _mask(r, (4,)), uniform(r, (15,))), label="broadcast mask, longer source"),
      lambda r: Sample((uniform(r, ()), np.array(True), uniform(r, (2,)))),
      lambda r: Sample((uniform(r, (4,)), _mask(r, (3, 4)), uniform(r, (2, 6))), label="mask broadcasts the input"),
      lambda r: Sample((uniform(r, (0, 3)), _mask(r, (0, 3)), uniform(r, (2,))))])

# -- flat indices -------------------------------------------------------------------------------------

spec("take", refgrad.take, "torch.take",
     [lambda r: Sample((uniform(r, (3, 4)), rand_index(r, (2, 3), 12))),
      lambda r: Sample((uniform(r, (3, 4)), rand_index(r, (5,), 24) - 12), label="negative indices"),
      lambda r: Sample((uniform(r, ()), I(0, -1, 0))),
      lambda r: Sample((uniform(r, (3, 4)), I())),
      lambda r: Sample((uniform(r, (2, 3)), np.array(4, dtype=np.int64)), label="0-d index")],
     [hand(ar(2, 3), I([5, 5], [0, -1]), label="repeated flat index accumulates")])


def _put_maker(xshape, ishape, accumulate):
    def make(rng):
        n = int(np.prod(xshape)) if xshape else 1
        k = int(np.prod(ishape)) if ishape else 1
        idx = rand_index(rng, ishape, n) - n * (rng.random(ishape) > 0.5) if accumulate else \
            unique_flat(rng, k, n, negative=True).reshape(ishape)
        return Sample((uniform(rng, xshape), idx, uniform(rng, ishape)), {"accumulate": accumulate},
                      label=f"{xshape} index{ishape} accumulate={accumulate}")
    return make


spec("put", refgrad.put, "torch.put",
     [_put_maker((3, 4), (5,), False), _put_maker((3, 4), (2, 3), True), _put_maker((), (), False),
      _put_maker((3, 4), (0,), True), _put_maker((2, 3), (4,), True), _put_maker((5,), (2, 2), False)],
     [hand(ar(2, 3), I(1, 1, -5, 0), ar(4) * 2, accumulate=True, label="index 1 three times (1 == -5)")])


# -- forward only: integer outputs -----------------------------------------------------------------------

def _sparse(rng, shape):
    return uniform(rng, shape) * (rng.random(shape) > 0.5)


_NONZERO = [
    lambda r: Sample((_sparse(r, (3, 4)),)),
    lambda r: Sample((_sparse(r, (2, 3, 2)),), {"as_tuple": True}),
    lambda r: Sample((uniform(r, ()),)),
    lambda r: Sample((_sparse(r, (0, 3)),)),
    lambda r: Sample((r.random((5,)) > 0.5,), label="bool input"),
    lambda r: Sample((np.zeros(()),), {"as_tuple": True}, label="0-d zero, as_tuple"),
    lambda r: Sample((rng_int(r, (2, 4)),), {"as_tuple": True}, label="int input"),
]


def rng_int(rng, shape):
    return rng.integers(-1, 2, size=shape).astype(np.int64)


spec("nonzero", refgrad.nonzero, "torch.nonzero", _NONZERO, supports_grad=False)
spec("argwhere", refgrad.argwhere, "torch.argwhere",
     [lambda r: Sample((_sparse(r, (3, 4)),)), lambda r: Sample((_sparse(r, (2, 3, 2)),)),
      lambda r: Sample((uniform(r, ()),)), lambda r: Sample((_sparse(r, (0, 3)),)),
      lambda r: Sample((r.random((5,)) > 0.5,), label="bool input"),
      lambda r: Sample((np.zeros(()),), label="0-d zero"),
      lambda r: Sample((rng_int(r, (2, 4)),), label="int input")],
     supports_grad=False)


# -- out= (forward only: torch refuses out= when an input requires grad) ---------------------------------
# each entry calls the op of engine E with a 0-element out tensor of the result's dtype, which the op
# resizes and fills; the sample's first arg names the op.
_OUT_OPS = {
    "cat": lambda E, out, *xs: E.cat(xs, -1, out=out),
    "stack": lambda E, out, *xs: E.stack(xs, 1, out=out),
    "hstack": lambda E, out, *xs: E.hstack(xs, out=out),
    "vstack": lambda E, out, *xs: E.vstack(xs, out=out),
    "dstack": lambda E, out, *xs: E.dstack(xs, out=out),
    "tril": lambda E, out, x: E.tril(x, -1, out=out),
    "triu": lambda E, out, x: E.triu(x, 1, out=out),
    "gather": lambda E, out, x, i: E.gather(x, 1, i, out=out),
    "index_select": lambda E, out, x, i: E.index_select(x, 0, i, out=out),
    "take_along_dim": lambda E, out, x, i: E.take_along_dim(x, i, dim=1, out=out),
    "nonzero": lambda E, out, x: E.nonzero(x, out=out),
}


def _out_form(E):
    def fn(name, *args):
        out = E.empty(0, dtype=E.int64 if name == "nonzero" else args[0].dtype, device=args[0].device)
        r = _OUT_OPS[name](E, out, *args)
        return out, r  # the result is out itself, and out holds it
    return fn


register(Spec("out=", fn=_out_form(refgrad), torch=_out_form, supports_grad=False,
              regression=[hand("cat", ar(2, 3), ar(2, 1), diff=(), label="cat"),
                          hand("stack", ar(2, 3), ar(2, 3), diff=(), label="stack"),
                          hand("hstack", ar(3), ar(2), diff=(), label="hstack"),
                          hand("vstack", ar(3), ar(2, 3), diff=(), label="vstack"),
                          hand("dstack", ar(2, 3), ar(2, 3), diff=(), label="dstack"),
                          hand("tril", ar(3, 4), diff=(), label="tril"),
                          hand("triu", ar(2, 3, 3), diff=(), label="triu"),
                          hand("gather", ar(3, 4), I([0, 0], [3, 1], [2, 2]), diff=(), label="gather"),
                          hand("index_select", ar(3, 4), I(2, 0, 2), diff=(), label="index_select"),
                          hand("take_along_dim", ar(3, 4), I([0, 3], [1, 1], [2, 0]), diff=(), label="take_along_dim"),
                          hand("nonzero", ar(3, 4) * (ar(3, 4) > 0), diff=(), label="nonzero")]))
