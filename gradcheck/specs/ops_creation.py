"""Specs for tensor creation (refgrad/ops/creation.py) and dtype conversion (refgrad/ops/conversion.py).

The deterministic factories are forward-only specs (supports_grad=False): each sample's constants
(sizes, fill values, ranges) go to both engines unchanged, and the forward check compares values,
shapes and dtypes exactly as torch makes them (default dtype inference: Python floats give float32,
ints int64, bools bool). A dtype is written ``DT("float64")`` in a sample and becomes
``refgrad.float64`` or ``torch.float64`` for each engine. The ``*_like`` factories take a template
tensor, which follows the dtype under test. ``empty``/``empty_like`` are zero-filled in place
(``zero_()``) before the comparison: torch hands out uninitialised memory, so only shape and dtype
are comparable.

The random samplers (rand, randn, normal, bernoulli, ...) draw from refgrad's own PCG64 stream and
cannot match torch's values: they are exempt from coverage (oracle_tests/test_coverage.py, EXEMPT).

Conversion (Tensor.to / .double / .float / .half / type_as / integer casts) is differentiable: the
gradient comes back in the source dtype. Casts to float64 are checked with gradients (every check);
casts to float32/float16 are forward-only (see the comment above ``_SHAPES``).
"""
from __future__ import annotations

import numpy as np

import refgrad

from ..sampling import uniform
from ..spec import Sample, Spec
from .ops_linalg import cases, reg

KNOWN_BUGS: dict[str, str] = {}


class DT:
    """A dtype by name in a sample, translated to each engine's dtype object at call time."""

    def __init__(self, name: str):
        self.name = name

    def __repr__(self):
        return self.name

    def __eq__(self, other):
        return isinstance(other, DT) and other.name == self.name

    def __hash__(self):
        return hash(self.name)


class NP:
    """A numpy array passed as data (a plain ndarray in a sample would become a tensor)."""

    def __init__(self, arr):
        self.arr = np.asarray(arr)

    def __repr__(self):
        return f"ndarray{self.arr.shape}:{self.arr.dtype}"


def _tr(lib, v):
    if isinstance(v, NP):
        return v.arr.copy()
    if isinstance(v, DT):
        return getattr(lib, v.name)
    if isinstance(v, tuple):
        return tuple(_tr(lib, x) for x in v)
    return v


def _call(path: str, post=None):
    """``make(lib) -> fn`` calling ``lib.<path>`` with DT markers translated; ``post`` maps the result."""
    def make(lib):
        f = lib
        for part in path.split("."):
            f = getattr(f, part)

        def fn(*args, **kw):
            out = f(*(_tr(lib, a) for a in args), **{k: _tr(lib, v) for k, v in kw.items()})
            return post(out) if post is not None else out
        return fn
    return make


def _with_grad_flag(t):
    # requires_grad=True on a factory: the flag is part of the result
    return t, t.requires_grad


def _zero(t):
    return t.zero_()  # torch's empty is uninitialised: compare shape and dtype only


def fwd(*args, label: str = "", **kw) -> Sample:
    """A forward-only sample: nothing is differentiated (arrays are templates)."""
    return Sample(args, kw, diff=(), label=label)


def factory(name, samples, sampler=None, post=None, target=None):
    """A forward-only spec of ``lib.<target or name>``."""
    make = _call(target or name, post)
    reg(Spec(name, fn=make(refgrad), torch=make, regression=samples, sampler=sampler, supports_grad=False))


# -- from data ---------------------------------------------------------------------------------------

_DATA = [
    fwd([[1.0, 2.5], [-3.0, 4.0]], label="floats: default float32"),
    fwd([[1, 2], [3, -4]], label="ints: int64"),
    fwd([True, False], label="bools: bool"),
    fwd([1, 2.5, True], label="mixed int/float/bool: float32"),
    fwd(3.5, label="0-d float"),
    fwd(7, label="0-d int"),
    fwd([], label="empty list: float32 (0,)"),
    fwd([[], []], label="nested empty: (2, 0)"),
    fwd([1, 2, 3], dtype=DT("float64"), label="ints as float64"),
    fwd([1.7, -2.7], dtype=DT("int32"), label="floats truncated to int32"),
    fwd([0.0, 1.5], dtype=DT("bool")),
    fwd(NP(np.array([[1.0, 2.0]], dtype=np.float64)), label="numpy float64 keeps its dtype"),
    fwd(NP(np.array([1, 2], dtype=np.int32)), label="numpy int32 keeps its dtype"),
    fwd(NP(np.array([1.5, 2.5], dtype=np.float32)), dtype=DT("float64"), label="numpy float32 to float64"),
]
# a tensor as data: as_tensor/asarray return it (or a converted copy); the template follows the dtype
# under test (torch.tensor(tensor) warns, so not for tensor())
_TENSOR_DATA = [Sample((np.array([[1.0, -2.0], [0.5, 3.0]]),), diff=(), label="tensor data"),
                Sample((np.array([1.0, -2.0]),), {"dtype": DT("float64")}, diff=(), label="tensor data to float64"),
                Sample((np.array([1, 2], dtype=np.int64),), {"dtype": DT("float32")}, diff=(),
                       label="int64 tensor data to float32")]
factory("tensor", _DATA)
factory("as_tensor", _DATA + _TENSOR_DATA)
factory("asarray", _DATA + _TENSOR_DATA + [fwd([1.0, 2.0], copy=True, label="copy=True"),
                                          fwd(NP(np.arange(3.0)), copy=True, label="ndarray, copy=True")])
factory("tensor_requires_grad", [fwd([1.0, 2.0], requires_grad=True), fwd(2.5, dtype=DT("float64"),
                                                                          requires_grad=True)],
        post=_with_grad_flag, target="tensor")
factory("scalar_tensor", [fwd(2.5), fwd(3), fwd(True), fwd(-1.25, dtype=DT("float64")), fwd(4, dtype=DT("int64"))])


def _from_tensor(path):
    """fn(template) for from_numpy (the template's host array goes in: numpy is cpu-only) and from_dlpack (the
    engine's tensor itself goes in, through its DLPack capsule, on whichever device it lives)."""
    def make(lib):
        f = getattr(lib, path)
        return (lambda x: f(x.cpu().numpy())) if path == "from_numpy" else f
    return make


_TEMPLATES = [Sample((np.array([[1.0, -2.0], [3.5, 0.0]]),), diff=(), label="float (dtype under test)"),
              Sample((np.array([1, 2, 3], dtype=np.int64),), diff=(), label="int64"),
              Sample((np.array(2.5),), diff=(), label="0-d"),
              Sample((np.zeros((0, 3)),), diff=(), label="empty"),
              Sample((np.array([True, False]),), diff=(), label="bool")]
for _name in ("from_numpy", "from_dlpack"):
    reg(Spec(_name, fn=_from_tensor(_name)(refgrad), torch=_from_tensor(_name), regression=_TEMPLATES,
             supports_grad=False))


# -- filled ---------------------------------------------------------------------------------------------

_SIZES = [fwd(2, 3, label="varargs"), fwd((2, 3), label="tuple"), fwd([4], label="list"), fwd(0, 3, label="empty"),
          fwd((), label="0-d tuple"), fwd(2, 1, dtype=DT("float64")),
          fwd(3, dtype=DT("int64")), fwd((2, 2), dtype=DT("bool")), fwd(2, dtype=DT("int32"))]
factory("zeros", _SIZES)
factory("ones", _SIZES)
factory("empty", _SIZES, post=_zero)
factory("zeros_requires_grad", [fwd(2, 3, requires_grad=True)], post=_with_grad_flag, target="zeros")
factory("full", [fwd((2, 3), 1.5, label="float fill: float32"), fwd((2,), 7, label="int fill: int64"),
                 fwd((), True, label="bool fill: bool"), fwd((0, 3), 2.0), fwd([3], -1, dtype=DT("float64")),
                 fwd((2, 2), 2.7, dtype=DT("int64"), label="float fill truncated"),
                 fwd((2,), float("nan"), label="nan fill"), fwd((1, 2), -1e30, label="huge fill")])


def _like_case(shape, *args, **kw):
    return lambda rng: Sample((uniform(rng, shape),) + args, kw, diff=())


def like(name, args_cases, post=None):
    make = _call(name, post)
    reg(Spec(name, fn=make(refgrad), torch=_call(name, post), sampler=cases(*args_cases),
             regression=[Sample((np.array([1, 2], dtype=np.int64),), diff=(), label="int64 template"),
                         Sample((np.array([True]),), diff=(), label="bool template")]
             if name != "full_like" else
             [Sample((np.array([1, 2], dtype=np.int64), 2.5), diff=(), label="int64 template: fill truncated"),
              Sample((np.array([True, False]), 1), diff=(), label="bool template")],
             supports_grad=False))


_LIKE = [_like_case((3, 4)), _like_case(()), _like_case((2, 1, 3), dtype=DT("float64")), _like_case((0, 3)),
         _like_case((2, 2), dtype=DT("int64")), _like_case((1,), dtype=DT("bool"))]
like("zeros_like", _LIKE)
like("ones_like", _LIKE)
like("empty_like", _LIKE, post=_zero)
like("full_like", [_like_case((3, 4), 1.5), _like_case((), -2), _like_case((2, 1, 3), 0.25, dtype=DT("float64")),
                   _like_case((0, 3), 1.0), _like_case((2, 2), 3, dtype=DT("int64")),
                   _like_case((2,), float("nan"))])


# -- ranges --------------------------------------------------------------------------------------------

factory("arange", [fwd(5, label="int end: int64"), fwd(1, 4), fwd(0, 1, 0.25, label="float step: float32"),
                   fwd(0, 1, 0.1, label="0.1 step: length by ceil in double"), fwd(-3, 3, 2), fwd(5, 0, -1),
                   fwd(3, 3, label="empty"), fwd(1, 2.5, 0.5), fwd(0.5, 4, dtype=DT("int64"), label="truncated to int"),
                   fwd(0, 5, 2, dtype=DT("float64")), fwd(2.0, label="float end"), fwd(-1.5, 1.5, 0.75),
                   fwd(10, 0, -3, dtype=DT("int32"))])
factory("linspace", [fwd(0, 1, 5), fwd(-1, 1, 1, label="steps=1"), fwd(2, 3, 0, label="steps=0"), fwd(1, 0, 4),
                     fwd(0, 10, 7, dtype=DT("int64"), label="int dtype"), fwd(-2.5, 2.5, 6, dtype=DT("float64")),
                     fwd(0.1, 0.9, 9), fwd(3, 3, 3, label="constant")])
factory("logspace", [fwd(0, 2, 3), fwd(0, 1, 4, base=2.0), fwd(-1, 1, 5, dtype=DT("float64")), fwd(0, 1, 0),
                     fwd(1, 1, 1), fwd(0, 3, 4, 2, label="base positional"), fwd(-2.0, 0.5, 6, base=3.0)])
factory("eye", [fwd(3), fwd(2, 4), fwd(4, 2), fwd(0), fwd(1, 0), fwd(3, dtype=DT("int64")), fwd(2, dtype=DT("bool")),
                fwd(2, 3, dtype=DT("float64"))])


# -- conversion ------------------------------------------------------------------------------------

def _method(name):
    """make(lib) -> fn(x, *args) = x.<name>(*args) with DT markers translated."""
    def make(lib):
        return lambda x, *args, **kw: getattr(x, name)(*(_tr(lib, a) for a in args),
                                                      **{k: _tr(lib, v) for k, v in kw.items()})
    return make


# FD always runs in float64, and a cast *to float32* puts the float32 rounding grid (eps32 ~ 6e-8)
# under its step: the stencil sees steps, not a line, and rightly reports a kink. So the casts to
# float64 (and no-op casts) get every check, and the casts to float32/float16 are forward-only.
# The backward of a cast (ToCopyBackward0: the gradient cast back to the source dtype) is the same
# whichever way it goes; "to" covers it both ways: float32 -> float64 in its float32 runs (gradient
# back to float32), float64 -> float64 in its float64 runs.
_SHAPES = [(3, 4), (), (2, 1, 3), (0, 3), (5,)]


def _to_case(shape, *args, **kw):
    return lambda rng: Sample((uniform(rng, shape),) + args, kw)


reg(Spec("to", fn=_method("to")(refgrad), torch=_method("to"),
         sampler=cases(_to_case((3, 4), DT("float64")), _to_case((), DT("float64")),
                       _to_case((2, 1, 3), dtype=DT("float64")), _to_case((0, 3), DT("float64")),
                       _to_case((5,), "cpu", DT("float64")), _to_case((2, 3), "cpu")),
         regression=[Sample((np.array([[1.0, -2.0], [0.5, 3.0]]), DT("float64")), label="to(float64)"),
                     Sample((np.array([1.5, -2.5]),), {"dtype": DT("float64"), "copy": True},
                            label="dtype= and copy=True"),
                     Sample((np.array([0.25, 4.0]), "cpu", DT("float64"), False, True),
                            label="to(device, dtype, non_blocking, copy)"),
                     Sample((np.array([0.25, 4.0]), np.array([1.0])), diff=[0],
                            label="to(other): other's dtype and device"),
                     Sample((np.array([0.25, 4.0]), np.array([1], dtype=np.int64)), diff=(),
                            label="to(int64 other)"),
                     Sample((np.array([1.7, -2.7, 0.2]), DT("int64")), diff=(), label="to(int64): truncation"),
                     Sample((np.array([0.0, -2.0]), DT("bool")), diff=(), label="to(bool)")]))
reg(Spec("to_float32", fn=_method("to")(refgrad), torch=_method("to"), supports_grad=False,
         sampler=cases(_to_case((3, 4), DT("float32")), _to_case((), DT("float32")),
                       _to_case((2, 1, 3), dtype=DT("float32")), _to_case((0, 3), DT("float32"))),
         regression=[Sample((np.array([1.5, -2.5, 1e-8]), DT("float16")), label="to(float16)")],
         meta={"note": "casts to float32/float16: forward only (FD sees the float32 grid); see _SHAPES"}))


def _cast_sampler(rng, i):
    return Sample((uniform(rng, _SHAPES[i % len(_SHAPES)]),))


reg(Spec("Tensor.double", fn=_method("double")(refgrad), torch=_method("double"), sampler=_cast_sampler))
for _name in ("float", "half"):
    reg(Spec(f"Tensor.{_name}", fn=_method(_name)(refgrad), torch=_method(_name), sampler=_cast_sampler,
             supports_grad=False, meta={"note": "forward only: FD sees the float32/float16 rounding grid"}))
reg(Spec("type_as", fn=_method("type_as")(refgrad), torch=_method("type_as"),
         regression=[Sample((np.array([1.5, -2.5]), np.array([1, 2], dtype=np.int64)), diff=(),
                       label="to an int64 template"),
                Sample((np.array([1.5, -2.5]), np.array([1.0])), diff=[0], label="same dtype: no-op")],
         sampler=lambda rng, i: Sample((uniform(rng, _SHAPES[i % len(_SHAPES)]), uniform(rng, (1,))), diff=[0])))


def _int_sampler(low):
    def sampler(rng, i):
        return Sample((uniform(rng, [(3, 4), (), (0, 2), (5,)][i % 4], low, 5.0),), diff=())
    return sampler


for _name in ("long", "int", "short", "char", "byte", "bool"):
    # the cast truncates toward zero (bool: non-zero); byte: non-negative values only (a negative float
    # to uint8 is undefined behaviour in C, and torch and numpy disagree on it)
    _low = 0.0 if _name == "byte" else -5.0
    reg(Spec(f"Tensor.{_name}", fn=_method(_name)(refgrad), torch=_method(_name), supports_grad=False,
             sampler=_int_sampler(_low),
             regression=[Sample((np.array([0.0, 0.5, 1.5, 2.999, 250.7] if _name == "byte" else
                                          [-1.5, -0.5, 0.0, 0.5, 1.5, 2.999]),),
                                diff=(), label="truncation toward zero")]))
