"""Spec modules, one per family (ops_elementwise, ops_reduction, ops_shape, ops_indexing,
ops_linalg, and later nn/optim/...). Every module in this package is imported by ``load_all``, so
adding a family is adding a file; each module registers its specs at import time."""
from __future__ import annotations

import importlib
import pkgutil

_loaded = False


def load_all() -> None:
    """Import every spec module of this package (once)."""
    global _loaded
    if _loaded:
        return
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        importlib.import_module(f"{__name__}.{info.name}")
    _loaded = True
