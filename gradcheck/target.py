"""--target: check a user's own function or autograd.Function with finite differences."""
from __future__ import annotations

import importlib
import importlib.util
import os
import shlex
import sys

import refgrad

from .sampling import with_shapes
from .spec import Spec


class TargetError(Exception):
    """A target that cannot be loaded or run as asked (a usage error: exit code 2)."""


def parse_shapes(text: str) -> list[tuple[int, ...]]:
    """'3x4,4,scalar' -> [(3, 4), (4,), ()]."""
    shapes = []
    for part in text.split(","):
        part = part.strip().lower()
        if part in ("scalar", "()", ""):
            if part == "":
                raise TargetError(f"empty shape in --shapes {text!r}")
            shapes.append(())
            continue
        try:
            dims = tuple(int(d) for d in part.split("x"))
        except ValueError:
            raise TargetError(f"bad shape {part!r} in --shapes {text!r}: write e.g. 3x4,4,scalar") from None
        if any(d < 0 for d in dims):
            raise TargetError(f"negative size in shape {part!r}")
        shapes.append(dims)
    return shapes


def load(ref: str):
    """'path/file.py:NAME' or 'package.module:NAME' -> (callable, NAME). An autograd.Function subclass
    gives its ``apply``."""
    where, sep, name = ref.rpartition(":")
    if not sep or not where or not name:
        raise TargetError(f"--target {ref!r}: expected FILE.py:NAME or package.module:NAME")
    if where.endswith(".py") or os.sep in where or "/" in where:
        if not os.path.isfile(where):
            raise TargetError(f"--target: no such file {where!r}")
        mod_name = "_gradcheck_target_" + os.path.splitext(os.path.basename(where))[0]
        spec = importlib.util.spec_from_file_location(mod_name, where)
        module = importlib.util.module_from_spec(spec)
        sys.modules[mod_name] = module
        try:
            spec.loader.exec_module(module)
        except Exception as e:
            raise TargetError(f"--target: importing {where} failed: {type(e).__name__}: {e}") from e
    else:
        try:
            module = importlib.import_module(where)
        except Exception as e:
            raise TargetError(f"--target: cannot import {where!r}: {type(e).__name__}: {e}") from e
    obj = module
    for attr in name.split("."):
        try:
            obj = getattr(obj, attr)
        except AttributeError:
            raise TargetError(f"--target: {where!r} has no attribute {name!r}") from None
    if isinstance(obj, type) and issubclass(obj, refgrad.autograd.Function):
        return obj.apply, name
    if not callable(obj):
        raise TargetError(f"--target: {name!r} is not callable (a function of tensors or an autograd.Function)")
    return obj, name


def spec_for(ref: str, shapes: str, order: int = 1, dtype: str = "float64", low: float = -2.0,
             high: float = 2.0) -> Spec:
    """A kind="target" spec for the CLI: samples of the given shapes, FD + invariants (+ double
    backward with order 2)."""
    fn, name = load(ref)
    parsed = parse_shapes(shapes)
    if order not in (1, 2):
        raise TargetError(f"--order must be 1 or 2, got {order}")
    if not low < high:
        raise TargetError(f"--low {low} must be below --high {high}")
    dts = tuple(dict.fromkeys((dtype, "float64")))  # FD always runs in float64
    repro = f"refgrad-gradcheck --target {shlex.quote(ref)} --shapes {shlex.quote(shapes)}"
    if order != 1:
        repro += f" --order {order}"
    if (low, high) != (-2.0, 2.0):
        repro += f" --low {low} --high {high}"
    return Spec(name, kind="target", fn=fn, torch=None, sampler=with_shapes(parsed, low, high),
                supports_gradgrad=order >= 2, dtypes={"cpu": dts, "cuda": dts}, meta={"repro": repro})
