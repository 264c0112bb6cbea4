"""Deterministic sample generation: shape patterns, value ranges, kinks/ties to keep away from.

Everything is drawn with numpy from a seed (hypothesis is not needed at run time): sample ``i`` of
spec ``name`` under run seed ``s`` comes from ``default_rng([s, crc32(name), i, retry])``, so a
failure reproduces from (spec, sample, seed) alone.
"""
from __future__ import annotations

import zlib
from collections.abc import Callable, Sequence

import numpy as np

from .spec import Sample, Spec

# Shape patterns, cycled by sample index: the first four already cover a plain shape, 0-d, size-1
# dims and empty (unary), or broadcasting both ways, 0-d on either side and empty (binary).
UNARY_SHAPES: list[tuple] = [(3, 4), (), (2, 1, 3), (0, 3), (5,), (1,)]
BINARY_SHAPES: list[tuple] = [((3, 1), (1, 4)), ((), (2, 3)), ((2, 3, 4), (4,)), ((0, 3), (1, 3)),
                              ((3, 4), (3, 4)), ((2, 3), ())]
MAX_TRIES = 20  # redraws of a random sample that lands too close to a kink or outside the domain


def stable_hash(text: str) -> int:
    """A process-independent hash (Python's hash() is salted per process)."""
    return zlib.crc32(text.encode())


def rng_for(seed: int, *keys) -> np.random.Generator:
    """A generator keyed by the run seed and any mix of ints and strings."""
    return np.random.default_rng([seed] + [stable_hash(k) if isinstance(k, str) else int(k) for k in keys])


def uniform(rng: np.random.Generator, shape, low: float = -2.0, high: float = 2.0) -> np.ndarray:
    return np.asarray(rng.uniform(low, high, size=shape), dtype=np.float64)


def elementwise(nargs: int = 1, low: float | Sequence[float] = -2.0, high: float | Sequence[float] = 2.0,
                shapes: Sequence | None = None, kwargs: dict | None = None) -> Callable:
    """A sampler for an elementwise op of ``nargs`` tensors: shape pattern ``i % len(shapes)``, values
    uniform in [low, high) (per input when sequences are given: pow's base in (0.2, 2))."""
    if shapes is None:
        shapes = UNARY_SHAPES if nargs == 1 else BINARY_SHAPES
    lows = list(low) if isinstance(low, (list, tuple)) else [low] * nargs
    highs = list(high) if isinstance(high, (list, tuple)) else [high] * nargs

    def sampler(rng, i):
        pattern = shapes[i % len(shapes)]
        shp = (pattern,) if nargs == 1 else pattern
        if len(shp) != nargs:
            raise ValueError(f"shape pattern {pattern!r} does not give {nargs} shapes")
        return Sample(tuple(uniform(rng, s, lo, hi) for s, lo, hi in zip(shp, lows, highs)), dict(kwargs or {}))
    return sampler


def with_shapes(shapes: Sequence[tuple], low: float = -2.0, high: float = 2.0, kwargs: dict | None = None):
    """A sampler with fixed shapes (one per input), as the CLI's --target --shapes uses."""
    def sampler(rng, i):
        return Sample(tuple(uniform(rng, s, low, high) for s in shapes), dict(kwargs or {}))
    return sampler


def _arr(sample, i):
    a = sample.args[i]
    return np.asarray(a, dtype=np.float64)


def kinks_at(*points: float, arg: int = 0) -> Callable[[Sample], float]:
    """avoid: distance of input ``arg`` from the kink points (abs and relu: ``kinks_at(0.0)``)."""
    pts = np.asarray(points, dtype=np.float64)

    def avoid(sample):
        x = _arr(sample, arg)
        if x.size == 0:
            return np.inf
        return float(np.min(np.abs(x.reshape(-1, 1) - pts.reshape(1, -1))))
    return avoid


def ties(i: int = 0, j: int = 1) -> Callable[[Sample], float]:
    """avoid: the smallest |a - b| over the broadcast of inputs i and j (maximum, minimum)."""
    def avoid(sample):
        d = np.abs(_arr(sample, i) - _arr(sample, j))
        return float(d.min()) if d.size else np.inf
    return avoid


def distinct(arg: int = 0) -> Callable[[Sample], float]:
    """avoid: the smallest gap between two elements of input ``arg`` (max/amax/sort ties)."""
    def avoid(sample):
        x = np.sort(_arr(sample, arg).ravel())
        return float(np.diff(x).min()) if x.size > 1 else np.inf
    return avoid


def all_of(*avoids: Callable[[Sample], float]) -> Callable[[Sample], float]:
    """avoid: the nearest of several kinds of trouble."""
    return lambda sample: min(a(sample) for a in avoids)


def draw(spec: Spec, seed: int, index: int, retry: int = 0) -> Sample:
    """Random sample ``index`` (counted among the random ones) of ``spec``; ``retry`` > 0 asks for a
    fresh draw of the same shape pattern (used when the FD probe finds the sample on a kink).

    Draws that fall outside ``spec.domain`` or within ``spec.margin`` of ``spec.avoid`` are redrawn
    up to MAX_TRIES times; the last draw is kept (the FD check's kink detection then has the word).
    """
    sample = None
    for attempt in range(MAX_TRIES):
        sample = spec.sampler(rng_for(seed, spec.name, index, retry, attempt), index)
        if spec.domain is not None and not spec.domain(sample):
            continue
        if spec.avoid is not None and spec.avoid(sample) < spec.margin:
            continue
        break
    return sample


def samples(spec: Spec, seed: int, n_random: int) -> list[tuple[int, Sample, bool]]:
    """(index, sample, is_random) for the regression samples then ``n_random`` random ones."""
    out = [(k, s, False) for k, s in enumerate(spec.regression)]
    if spec.sampler is not None:
        base = len(out)
        out += [(base + i, draw(spec, seed, i), True) for i in range(n_random)]
    return out
