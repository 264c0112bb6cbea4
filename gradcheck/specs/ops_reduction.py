"""Specs for reductions and softmax (refgrad/ops/reduction.py)."""
from __future__ import annotations

import numpy as np

import refgrad

from ..sampling import uniform
from ..spec import Sample, Spec, register


def reduction_sampler(cases):
    """A sampler cycling through (shape, kwargs) cases, values uniform in [-2, 2)."""
    def sampler(rng, i):
        shape, kw = cases[i % len(cases)]
        return Sample((uniform(rng, shape),), dict(kw))
    return sampler


_DIM_CASES = [((3, 4), {}), ((2, 3, 4), {"dim": 1, "keepdim": True}), ((), {}), ((0, 3), {"dim": 1}),
              ((2, 3, 4), {"dim": (0, 2)}), ((1, 5), {"dim": -1})]
_SOFTMAX_CASES = [((3, 4), {"dim": 1}), ((2, 3, 4), {"dim": 0}), ((), {"dim": 0}), ((0, 3), {"dim": 1}),
                  ((1, 5), {"dim": -1})]

for _name in ("sum", "mean"):
    register(Spec(_name, fn=getattr(refgrad, _name), torch=f"torch.{_name}", sampler=reduction_sampler(_DIM_CASES),
                  regression=[Sample((np.array([[1.0, -2.0, 3.0], [0.5, 0.25, -1.0]]),), {"dim": 0}, label="hand")]))

for _name in ("softmax", "log_softmax"):
    register(Spec(_name, fn=getattr(refgrad, _name), torch=f"torch.{_name}",
                  sampler=reduction_sampler(_SOFTMAX_CASES),
                  regression=[Sample((np.array([[1.0, 1.0, 1.0], [10.0, -10.0, 0.0]]),), {"dim": 1},
                                     label="equal and spread logits")]))
