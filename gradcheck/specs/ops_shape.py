"""Specs for shape ops (refgrad/ops/shape.py)."""
from __future__ import annotations

import refgrad

from ..sampling import uniform
from ..spec import Sample, Spec, register


def shape_sampler(cases):
    """A sampler cycling through (input shape, extra positional args) cases."""
    def sampler(rng, i):
        shape, extra = cases[i % len(cases)]
        return Sample((uniform(rng, shape), *extra))
    return sampler


register(Spec("reshape", fn=refgrad.reshape, torch="torch.reshape",
              sampler=shape_sampler([((3, 4), ((4, 3),)), ((2, 3, 4), ((-1, 4),)), ((), ((1,),)),
                                     ((0, 3), ((3, 0),)), ((6,), ((2, 1, 3),))])))
register(Spec("transpose", fn=refgrad.transpose, torch="torch.transpose",
              sampler=shape_sampler([((3, 4), (0, 1)), ((2, 3, 4), (0, 2)), ((2, 1, 3), (-1, 1)), ((0, 3), (0, 1)),
                                     ((5,), (0, 0))])))
