"""Specs for linear algebra (refgrad/ops/linalg.py, refgrad/linalg.py)."""
from __future__ import annotations

import refgrad

from ..sampling import elementwise
from ..spec import Spec, register

# every matmul case: matrix-matrix, vector-vector, batched with broadcasting both ways,
# vector-matrix, empty inner result
_MATMUL_SHAPES = [((3, 4), (4, 5)), ((4,), (4,)), ((2, 3, 4), (4, 2)), ((3,), (3, 2)), ((2, 1, 3, 4), (3, 4, 2)),
                  ((0, 3), (3, 2)), ((3, 4), (4,))]

register(Spec("matmul", fn=refgrad.matmul, torch="torch.matmul", sampler=elementwise(2, shapes=_MATMUL_SHAPES)))
