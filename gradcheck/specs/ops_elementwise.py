"""Specs for elementwise ops (refgrad/ops/elementwise.py)."""
from __future__ import annotations

import numpy as np

import refgrad

from ..sampling import elementwise, kinks_at, ties
from ..spec import Sample, Spec, register

# -- unary --------------------------------------------------------------------------------------
# (name, value range keeping to the domain and away from poles, kink points or None)
_UNARY = [
    ("exp", (-2.0, 2.0), None),
    ("log", (0.1, 3.0), None),        # log: x > 0 (and away from the pole at 0)
    ("sin", (-3.0, 3.0), None),
    ("tanh", (-3.0, 3.0), None),
    ("sigmoid", (-4.0, 4.0), None),
    ("relu", (-2.0, 2.0), (0.0,)),
    ("abs", (-2.0, 2.0), (0.0,)),
    ("sqrt", (0.1, 3.0), None),       # sqrt: x > 0 (infinite slope at 0)
]

for _name, (_lo, _hi), _kinks in _UNARY:
    _regression = [Sample((np.array([_lo + 0.1, _lo + 0.37 * (_hi - _lo), _hi - 0.1]),), label="hand")]
    if _kinks:
        # torch's convention at the kink (0 for relu and abs): FD reports a kink, the oracle checks it
        _regression.append(Sample((np.array([-1.0, 0.0, 1.5]),), label="at kink 0"))
    register(Spec(_name, fn=getattr(refgrad, _name), torch=f"torch.{_name}", sampler=elementwise(1, _lo, _hi),
                  regression=_regression, avoid=kinks_at(*_kinks) if _kinks else None))

# -- binary -------------------------------------------------------------------------------------
register(Spec("add", fn=refgrad.add, torch="torch.add", sampler=elementwise(2),
              regression=[Sample((np.array([[1.0, -2.0]]), np.array([0.5])), kwargs={"alpha": 2.0},
                                 label="alpha=2")]))
register(Spec("mul", fn=refgrad.mul, torch="torch.mul", sampler=elementwise(2),
              regression=[Sample((np.array([1.0, -2.0, 3.0]), 2.5), label="tensor*scalar")]))
register(Spec("div", fn=refgrad.div, torch="torch.div", sampler=elementwise(2), avoid=kinks_at(0.0, arg=1),
              margin=0.25,  # keep the divisor away from the pole at 0
              regression=[Sample((np.array([1.0, -2.0]), np.array([0.5, -4.0])), label="hand")]))
register(Spec("pow", fn=refgrad.pow, torch="torch.pow", sampler=elementwise(2, low=(0.2, -2.0), high=(2.0, 2.0)),
              regression=[Sample((np.array([0.5, 1.5, 2.0]), 2.0), label="x**2"),
                          Sample((np.array([0.5, 1.5, 2.0]), 0.5), label="x**0.5")]))
register(Spec("maximum", fn=refgrad.maximum, torch="torch.maximum", sampler=elementwise(2), avoid=ties(0, 1),
              regression=[Sample((np.array([1.0, 2.0, -1.0]), np.array([1.0, 0.5, 3.0])),
                                 label="tie (torch splits the gradient in half)")]))
