"""Specs for shape ops (refgrad/ops/shape.py) and the shape-only Tensor methods (view, expand, repeat, ...).

Every sampler cycles through a list of cases, each a ``Case`` of input shapes (``A(shape)`` marks a
random float array, anything else is passed through unchanged: dims, sizes, equations, integer index
arrays) and keyword options, so the first few samples already cover negative dims, 0-d inputs,
size-1 dims and empty tensors. Hand-written regression samples use deterministic distinct values.
Shape ops are linear: no kinks to avoid, double backward is always checked.
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


# -- helpers ------------------------------------------------------------------------------------

class A:
    """Placeholder for a random float array of ``shape`` (values uniform in [low, high))."""

    def __init__(self, *shape, low=-2.0, high=2.0):
        self.shape, self.low, self.high = tuple(shape), low, high


def case(*args, label="", diff=None, **kwargs):
    """A maker: ``rng -> Sample`` with each ``A`` replaced by a random array."""
    def make(rng):
        vals = tuple(uniform(rng, a.shape, a.low, a.high) if isinstance(a, A) else a for a in args)
        return Sample(vals, dict(kwargs), diff=diff, label=label)
    return make


def cycle(*makers):
    """A sampler cycling through makers by sample index."""
    def sampler(rng, i):
        return makers[i % len(makers)](rng)
    return sampler


def ar(*shape):
    """Deterministic distinct values of ``shape`` (hand samples): -1.3, -1.0, ... in steps of 0.37."""
    n = int(np.prod(shape)) if shape else 1
    return (np.arange(n, dtype=np.float64) * 0.37 - 1.3).reshape(shape)


def hand(*args, label="hand", diff=None, **kwargs):
    return Sample(tuple(args), dict(kwargs), diff=diff, label=label)


N_RANDOM = 4  # the harness's default number of random samples per spec


def _quiet(fn):
    """fn with warnings silenced (meshgrid without indexing= warns in both engines, by design)."""
    def call(*args, **kwargs):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return fn(*args, **kwargs)
    return call


def spec(name, fn, torch, cases, regression=(), **fields):
    """Register a spec cycling through ``cases``; the cases past the first N_RANDOM (which the default
    run would never draw) are also added as regression samples, drawn from a fixed seed."""
    extra = [make(np.random.default_rng([stable_hash(name), k])) for k, make in enumerate(cases[N_RANDOM:])]
    if name in KNOWN_BUGS:
        fields["meta"] = {**fields.get("meta", {}), "known_bug": KNOWN_BUGS[name]}
        if RUN_KNOWN_BUGS:
            extra += [make(np.random.default_rng([stable_hash(name), 1000 + k]))
                      for k, make in enumerate(_KNOWN_BUG_CASES[name])]
    return register(Spec(name, fn=fn, torch=torch, sampler=cycle(*cases), regression=list(regression) + extra,
                         **fields))


# the samples that fail because of KNOWN_BUGS (added only with GRADCHECK_KNOWN_BUGS=1)
_KNOWN_BUG_CASES: dict[str, list] = {}


# -- reshape / view family ------------------------------------------------------------------------------

spec("reshape", lambda x, *shape, transposed=False: refgrad.reshape(x.mT if transposed else x, *shape),
     lambda torch: lambda x, *shape, transposed=False: (x.mT if transposed else x).reshape(*shape),
     [case(A(3, 4), (4, 3)), case(A(2, 3, 4), (-1, 4)), case(A(), (1,)), case(A(0, 3), (3, 0)),
      case(A(6), (2, 1, 3)), case(A(2, 3, 4), (4, -1), transposed=True)],
     [hand(ar(2, 3), 3, -1, label="varargs shape"), hand(ar(1, 1), (), label="to 0-d"),
      hand(ar(3, 4), (2, 6), transposed=True, label="non-contiguous input (copy)")])

spec("view", lambda x, *shape: x.view(*shape), lambda torch: lambda x, *shape: x.view(*shape),
     [case(A(3, 4), (4, 3)), case(A(2, 3, 4), (-1,)), case(A(), (1, 1)), case(A(0, 3), (3, 0, 1)),
      case(A(6), 2, -1, 3), case(A(2, 1, 3), (3, 2))],
     [hand(ar(2, 3), 3, 2, label="varargs"), hand(ar(1), (), label="to 0-d")])

spec("view_as", lambda x, other: x.view_as(other), lambda torch: lambda x, other: x.view_as(other),
     [case(A(3, 4), A(2, 6), diff=(0,)), case(A(), A(1, 1), diff=(0,)), case(A(0, 3), A(3, 0), diff=(0,)),
      case(A(6), A(2, 1, 3), diff=(0,))])

spec("reshape_as", lambda x, other: x.reshape_as(other), lambda torch: lambda x, other: x.reshape_as(other),
     [case(A(3, 4), A(2, 6), diff=(0,)), case(A(), A(1, 1), diff=(0,)), case(A(0, 3), A(3, 0), diff=(0,)),
      case(A(6), A(2, 1, 3), diff=(0,))],
     [hand(ar(3, 4), ar(12), label="both differentiable (other gets no gradient)")])

spec("flatten", refgrad.flatten, "torch.flatten",
     [case(A(2, 3, 4)), case(A(2, 3, 4), start_dim=1), case(A()), case(A(0, 3)),
      case(A(2, 3, 4), start_dim=-2, end_dim=-1), case(A(2, 1, 3, 2), start_dim=1, end_dim=2), case(A(5))],
     [hand(ar(2, 3, 2), 0, 1, label="positional dims"), hand(ar(2, 3), start_dim=1, end_dim=1, label="no-op")])

spec("unflatten", refgrad.unflatten, "torch.unflatten",
     [case(A(6, 4), 0, (2, 3)), case(A(2, 12), -1, (3, -1)), case(A(0, 4), 1, (2, 2)), case(A(5), 0, (5, 1)),
      case(A(2, 6, 1), 1, (1, -1, 2))])

spec("ravel", refgrad.ravel, "torch.ravel", [case(A(3, 4)), case(A()), case(A(2, 1, 3)), case(A(0, 3))])

spec("squeeze", refgrad.squeeze, "torch.squeeze",
     [case(A(2, 1, 3)), case(A(2, 1, 3), dim=1), case(A()), case(A(1, 0, 1)), case(A(2, 1, 3), dim=-2),
      case(A(1, 3, 1), dim=(0, 2)), case(A(2, 3), dim=0), case(A(), dim=0)],
     [hand(ar(1, 3, 1), -1, label="positional negative dim"), hand(ar(2, 3), 1, label="not size 1: no-op"),
      hand(ar(1, 1, 1), label="all dims -> 0-d"), hand(ar(1, 2, 1), dim=(0, 1, -1), label="tuple incl non-1")])

spec("unsqueeze", refgrad.unsqueeze, "torch.unsqueeze",
     [case(A(3, 4), 0), case(A(3, 4), -1), case(A(), 0), case(A(0, 3), 1), case(A(2, 3), 2), case(A(2, 3), -3),
      case(A(), -1)])

spec("clone", refgrad.clone, "torch.clone", [case(A(3, 4)), case(A()), case(A(2, 1, 3)), case(A(0, 3))])

spec("contiguous", lambda x, transposed=False: (x.transpose(0, -1) if transposed else x).contiguous(),
     lambda torch: lambda x, transposed=False: (x.transpose(0, -1) if transposed else x).contiguous(),
     [case(A(3, 4)), case(A(2, 3, 4), transposed=True), case(A()), case(A(0, 3), transposed=True)])

# -- permutations ---------------------------------------------------------------------------------------

spec("permute", refgrad.permute, lambda torch: lambda x, *dims: x.permute(*dims),
     [case(A(2, 3, 4), (2, 0, 1)), case(A(2, 3, 4), (-1, 0, 1)), case(A(), ()), case(A(0, 3), (1, 0)),
      case(A(5), (0,)), case(A(2, 1, 3), (1, -1, 0))],
     [hand(ar(2, 3, 2), 1, 2, 0, label="varargs dims"), hand(ar(2, 3, 2), [2, 1, 0], label="list dims")])

spec("transpose", refgrad.transpose, "torch.transpose",  # swapaxes and swapdims are the same function
     [case(A(3, 4), 0, 1), case(A(2, 3, 4), 0, 2), case(A(2, 1, 3), -1, 1), case(A(0, 3), 0, 1), case(A(5), 0, 0),
      case(A(), 0, -1)])

spec("t", refgrad.t, "torch.t", [case(A(3, 4)), case(A(5)), case(A()), case(A(0, 3)), case(A(1, 4))])

spec("adjoint", refgrad.adjoint, "torch.adjoint", [case(A(3, 4)), case(A(2, 3, 4)), case(A(2, 0, 3)), case(A(1, 1))])

spec("movedim", refgrad.movedim, "torch.movedim",  # moveaxis is the same function
     [case(A(2, 3, 4), 0, 2), case(A(2, 3, 4), -1, 0), case(A(2, 3, 4), (0, 1), (2, 0)), case(A(1), 0, -1),
      case(A(2, 1, 3), (0,), (-1,)), case(A(0, 3), 0, 1), case(A(2, 3, 4, 1), [3, 0], [0, -1]),
      case(A(), 0, 0, label="0-d"), case(A(), -1, 0, label="0-d, dim -1")])

# -- broadcasting ---------------------------------------------------------------------------------------

spec("broadcast_to", refgrad.broadcast_to, "torch.broadcast_to",
     [case(A(3, 1), (2, 3, 4)), case(A(), (2, 3)), case(A(1), (0,)), case(A(3, 4), (-1, 4)),
      case(A(2, 1, 3), (2, 4, 3)), case(A(4), (2, -1)), case(A(0, 1), (2, 0, 3))])

spec("expand", lambda x, *sizes: x.expand(*sizes), lambda torch: lambda x, *sizes: x.expand(*sizes),
     [case(A(3, 1), (3, 4)), case(A(), (2, 3)), case(A(2, 1, 3), (-1, 4, -1)), case(A(1), (0,)), case(A(3), 2, 3),
      case(A(1, 1), 2, 1, 3)],
     [hand(ar(3, 1), 2, -1, 4, label="varargs with -1 and a new leading dim")])

spec("expand_as", lambda x, other: x.expand_as(other), lambda torch: lambda x, other: x.expand_as(other),
     [case(A(3, 1), A(3, 4), diff=(0,)), case(A(), A(2, 3), diff=(0,)), case(A(2, 1, 3), A(2, 4, 3), diff=(0,)),
      case(A(1), A(0), diff=(0,))])

spec("broadcast_tensors", lambda *xs: refgrad.broadcast_tensors(*xs),
     lambda torch: lambda *xs: torch.broadcast_tensors(*xs),
     [case(A(3, 1), A(1, 4)), case(A(), A(2, 3)), case(A(2, 3, 4), A(4), A(3, 1)), case(A(0, 3), A(1, 3)),
      case(A(5)), case(A(2, 1), A(2, 1))])

register(Spec("broadcast_shapes", fn=refgrad.broadcast_shapes, torch="torch.broadcast_shapes", supports_grad=False,
              regression=[hand((3, 1), (1, 4)), hand((2,), (3, 1), ()), hand(5, (1,), label="int shape"),
                          hand((0, 3), (1, 3), label="empty"), hand((2, 1, 3), label="one shape"),
                          hand((), (), label="0-d")]))

register(Spec("numel", fn=refgrad.ops.shape.numel, torch="torch.numel", supports_grad=False,
              sampler=cycle(case(A(3, 4)), case(A()), case(A(0, 3)), case(A(2, 1, 3)))))

spec("sum_to_size", lambda x, *size: x.sum_to_size(*size), lambda torch: lambda x, *size: x.sum_to_size(*size),
     [case(A(3, 4), (1, 4)), case(A(2, 3, 4), (3, 1)), case(A(), ()), case(A(0, 3), (1, 3)), case(A(2, 3), 2, 1),
      case(A(2, 3), ())])

# -- slicing views --------------------------------------------------------------------------------------

spec("select", refgrad.select, "torch.select",
     [case(A(3, 4), 0, 1), case(A(2, 3, 4), -1, -1), case(A(2, 3, 4), 1, 2), case(A(0, 3), 1, 2), case(A(5), 0, 4)])

spec("narrow", refgrad.narrow, "torch.narrow",
     [case(A(5, 4), 0, 1, 3), case(A(2, 3, 4), -1, -3, 2), case(A(3, 4), 1, 0, 0), case(A(2, 5), 1, 2, 3),
      case(A(0, 3), 1, 1, 2)],
     [hand(ar(4, 3), 0, np.array(1), 2, label="start as 0-d int tensor")])

# tuple outputs: each piece gets its own cotangent
spec("split", refgrad.split, "torch.split",
     [case(A(5, 4), 2), case(A(6), [1, 2, 3]), case(A(2, 6, 1), 3, dim=1), case(A(3, 4), [0, 4], dim=-1),
      case(A(3, 4), 5), case(A(0, 3), 1)],
     [hand(ar(4, 3), (3, 1), 0, label="tuple sizes, positional dim")])

spec("split_with_sizes", refgrad.split_with_sizes, "torch.split_with_sizes",
     [case(A(5, 4), [2, 3]), case(A(3, 6), [1, 0, 5], dim=1), case(A(2, 3, 4), [4], dim=-1), case(A(0, 3), [0])])

spec("chunk", refgrad.chunk, "torch.chunk",
     [case(A(5, 4), 3), case(A(5), 4), case(A(2, 6), 2, dim=-1), case(A(3, 4), 1), case(A(2, 3), 5, dim=0),
      case(A(0, 3), 2)])

spec("unbind", refgrad.unbind, "torch.unbind",
     [case(A(3, 4)), case(A(2, 3, 4), dim=-1), case(A(1, 3)), case(A(3, 0), dim=0), case(A(5)), case(A(2, 3), 1)])

# -- joining -------------------------------------------------------------------------------------------

def _joiner(name, rg, **defaults):
    """fn/torch pairs taking the tensors as varargs and the op's keywords."""
    return (lambda *xs, **kw: rg(xs, **kw),
            lambda torch: lambda *xs, **kw: getattr(torch, name)(xs, **kw))


_fn, _th = _joiner("cat", refgrad.cat)
spec("cat", _fn, _th,  # concat is the same function
     [case(A(2, 3), A(4, 3)), case(A(2, 3), A(2, 1), A(2, 2), dim=-1), case(A(0, 3), A(2, 3)), case(A(3), A(0)),
      case(A(2, 1, 3), A(2, 2, 3), dim=1), case(A(3, 2))],
     [hand(ar(2, 3), ar(0), label="legacy: 1-D empty tensors are skipped"),
      hand(ar(2), ar(3), ar(2), label="three 1-D, repeated shapes")])

# concat and row_stack are the same functions as cat and vstack, but their specs call them through a
# lambda (tensors as varargs): small specs of their own, under their own names
_fn, _th = _joiner("concat", refgrad.concat)
spec("concat", _fn, _th, [case(A(2, 3), A(1, 3)), case(A(2, 3), A(2, 2), dim=-1)])

_fn, _th = _joiner("concatenate", refgrad.concatenate)
spec("concatenate", _fn, _th,
     [case(A(2, 3), A(4, 3)), case(A(2, 3), A(2, 1), axis=-1), case(A(0, 3), A(2, 3), axis=0), case(A(3))])

_fn, _th = _joiner("stack", refgrad.stack)
spec("stack", _fn, _th,
     [case(A(2, 3), A(2, 3)), case(A(2, 3), A(2, 3), A(2, 3), dim=-1), case(A(), A()), case(A(0, 3), A(0, 3), dim=1),
      case(A(2, 3), A(2, 3), dim=2), case(A(4))])

_fn, _th = _joiner("hstack", refgrad.hstack)
spec("hstack", _fn, _th,
     [case(A(2), A(3)), case(A(2, 3), A(2, 1)), case(A(), A()), case(A(2, 0, 3), A(2, 1, 3)), case(A(2, 3))])

_fn, _th = _joiner("vstack", refgrad.vstack)
spec("vstack", _fn, _th,  # row_stack is the same function
     [case(A(3), A(3)), case(A(2, 3), A(1, 3)), case(A(), A()), case(A(2, 3, 4), A(1, 3, 4)), case(A(0, 3), A(2, 3))])

_fn, _th = _joiner("row_stack", refgrad.row_stack)
spec("row_stack", _quiet(_fn), lambda torch, _th=_th: _quiet(_th(torch)), [case(A(3), A(3)), case(A(2, 3), A(1, 3))])

_fn, _th = _joiner("dstack", refgrad.dstack)
spec("dstack", _fn, _th,
     [case(A(3), A(3)), case(A(2, 3), A(2, 3)), case(A(), A()), case(A(2, 3, 1), A(2, 3, 2)), case(A(0, 3), A(0, 3))])

for _name in ("atleast_1d", "atleast_2d", "atleast_3d"):
    spec(_name, getattr(refgrad, _name), f"torch.{_name}",
         [case(A()), case(A(3)), case(A(2, 3)), case(A(2, 3, 4)), case(A(), A(3), A(2, 3)), case(A(0)),
          case(A(1, 2, 1, 2))])

# -- flips, rolls, repeats ---------------------------------------------------------------------------------

spec("flip", refgrad.flip, lambda torch: lambda x, *dims: x.flip(*dims),
     [case(A(3, 4), (0,)), case(A(2, 3, 4), (0, 2)), case(A(2, 3, 4), (-1,)), case(A(), ()), case(A(0, 3), (1,)),
      case(A(2, 1, 3), [0, 1, 2])],
     [hand(ar(2, 3), 0, 1, label="varargs dims")])

spec("fliplr", refgrad.fliplr, "torch.fliplr", [case(A(3, 4)), case(A(2, 3, 4)), case(A(1, 5)), case(A(0, 2))])
spec("flipud", refgrad.flipud, "torch.flipud", [case(A(3)), case(A(3, 4)), case(A(2, 3, 4)), case(A(0, 2))])

spec("roll", refgrad.roll, "torch.roll",
     [case(A(3, 4), 1), case(A(3, 4), -1, 0), case(A(2, 3, 4), (1, -2), (0, 2)), case(A(5), 7), case(A(), 1),
      case(A(0, 3), 1, 1), case(A(2, 3), shifts=(2,), dims=(-1,))])

spec("rot90", refgrad.rot90, "torch.rot90",
     [case(A(3, 4)), case(A(3, 4), 2), case(A(3, 4), 3, (1, 0)), case(A(2, 3, 4), -1, (0, 2)), case(A(3, 4), k=0),
      case(A(2, 3, 4), k=5, dims=(-1, -2)), case(A(0, 3), 1)])

spec("tile", refgrad.tile, "torch.tile",
     [case(A(3), (2,)), case(A(2, 3), (2, 1, 2)), case(A(2, 3, 4), (2,)), case(A(), (3,)), case(A(0, 3), (2, 2)),
      case(A(2, 1), (0, 3)), case(A(2, 3), ())])

spec("repeat", lambda x, *sizes: x.repeat(*sizes), lambda torch: lambda x, *sizes: x.repeat(*sizes),
     [case(A(3), (2,)), case(A(2, 3), (2, 1)), case(A(2, 3), (1, 2, 2)), case(A(), (3, 2)), case(A(0, 3), (2, 1)),
      case(A(2, 1), 0, 3), case(A(2, 3), 2, 2)])

spec("repeat_interleave", refgrad.repeat_interleave, "torch.repeat_interleave",
     [case(A(3), 2), case(A(2, 3), 2, dim=1), case(A(2, 3), np.array([1, 0, 2]), dim=1), case(A(), 3),
      case(A(2, 3), np.array([1, 2]), dim=0, output_size=3), case(A(2, 2), np.array([2]), dim=-1),
      case(A(0, 3), 2, dim=0)],
     [hand(ar(2, 3), np.array([3, 1, 0, 2, 1, 1]), label="tensor repeats, no dim (flattened)"),
      hand(np.array([1, 2, 0, 3]), label="repeats only (int input, forward only)")])

# -- diagonals and triangles --------------------------------------------------------------------------------

spec("diagonal", refgrad.diagonal, "torch.diagonal",
     [case(A(3, 4)), case(A(3, 4), offset=1), case(A(4, 3), -2), case(A(2, 3, 4), dim1=-1, dim2=0),
      case(A(3, 3), offset=5), case(A(2, 3, 3), -1, 1, 2), case(A(0, 3))])

spec("diag_embed", refgrad.diag_embed, "torch.diag_embed",
     [case(A(3)), case(A(2, 3), offset=1), case(A(2, 3), -1, 0, 2), case(A(0)), case(A(2, 2, 3), dim1=-1, dim2=0),
      case(A(1))])

spec("diag", refgrad.diag, "torch.diag",
     [case(A(3)), case(A(3), 1), case(A(3, 4)), case(A(3, 4), diagonal=-2), case(A(4, 3), 3), case(A(0)),
      case(A(2), diagonal=-3)])

for _name in ("tril", "triu"):
    spec(_name, getattr(refgrad, _name), f"torch.{_name}",
         [case(A(3, 4)), case(A(3, 4), 1), case(A(2, 3, 4), diagonal=-1), case(A(0, 3)), case(A(4, 3), -5),
          case(A(1, 5)), case(A(2, 3, 3), diagonal=4)])

spec("trace", refgrad.trace, "torch.trace", [case(A(3, 4)), case(A(4, 3)), case(A(3, 3)), case(A(0, 0)), case(A(1, 1))])

# -- meshgrid and einsum -------------------------------------------------------------------------------------

spec("meshgrid", _quiet(lambda *xs, **kw: refgrad.meshgrid(*xs, **kw)),
     lambda torch: _quiet(lambda *xs, **kw: torch.meshgrid(*xs, **kw)),
     [case(A(3), A(4), indexing="ij"), case(A(3), A(4), indexing="xy"), case(A(), A(2), indexing="ij"),
      case(A(2), A(0), A(3), indexing="xy"), case(A(2), A(3), A(2), indexing="ij"), case(A(4), indexing="xy"),
      case(A(2), A(3), indexing="ij")],
     [hand(ar(2), ar(3), label="default indexing ('ij', with torch's warning)")])

# (equation, operand shapes): matmul, trace, outer, batch, ellipsis broadcasting, repeated index
# (diagonal), implicit output, sums, transposes, three operands, size-1 broadcasting
_EINSUM = [
    ("ij,jk->ik", (3, 4), (4, 2)),
    ("ii->", (3, 3)),
    ("i,j->ij", (3,), (4,)),
    ("bij,bjk->bik", (2, 3, 4), (2, 4, 2)),
    ("...ij,...jk->...ik", (2, 1, 3, 4), (3, 4, 2)),
    ("ii->i", (4, 4)),
    ("ij,jk", (2, 3), (3, 4)),
    ("ij->ji", (2, 3)),
    ("ijk->", (2, 3, 4)),
    ("ij,jk,kl->il", (2, 3), (3, 4), (4, 2)),
    ("i,i->", (5,), (5,)),
    ("bii->bi", (2, 3, 3)),
    ("iij,jk->ik", (3, 3, 2), (2, 4)),
    ("ij,ij->ij", (2, 1), (1, 3)),
    ("...i->...", (2, 3, 4)),
    ("ba,ca->bc", (2, 3), (4, 3)),
    ("i...j,j...->i...", (2, 3, 4), (4, 3)),
    (",i->i", (), (3,)),
    ("iii->i", (3, 3, 3)),
    ("ij,ij->i", (3, 2), (3, 2)),
]
spec("einsum", refgrad.einsum, "torch.einsum",
     [case(eq, *(A(*s) for s in shapes), label=eq) for eq, *shapes in _EINSUM],
     [hand("ij,jk->ik", ar(2, 3), ar(3, 2) * 0.5, label="matmul (hand)"),
      hand("iji->j", ar(3, 2, 3), label="repeated index in one operand (diagonal) with sum"),
      hand(ar(2, 3), [0, 1], ar(3, 4), [1, 2], [0, 2], label="sublist form"),
      hand("i j , j -> i", ar(2, 3), ar(3), label="spaces in the equation"),
      hand("ij", ar(2, 3), label="implicit identity"),
      hand("i,i", np.zeros(0), np.zeros(0), label="i,i on empty"),
      hand("ij,jk->ik", np.zeros((2, 0)), np.zeros((0, 3)), label="empty inner"),
      hand("ij,jk->ik", np.zeros((0, 2)), ar(2, 3), label="empty outer")])
