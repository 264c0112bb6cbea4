"""gradcheck: the harness that proves refgrad's gradients, against finite differences and, when it is
importable, against PyTorch as an oracle. Importing it never imports torch.

Programmatic use::

    from gradcheck import get, run_spec
    results = run_spec(get("exp"), devices=["cpu"], dtypes=["float64"], seed=0, checks=["fd"])

Adding a spec: put ``register(Spec(...))`` in the family's module under gradcheck/specs/.
Adding a check (or the check set of a new kind): ``@register_check(kind, name, group=...)``.
"""
from .checks import CHECKS, Check, Ctx, register_check
from .result import SCHEMA, Result, validate
from .runner import available_devices, run_spec, sweep
from .sampling import all_of, distinct, elementwise, kinks_at, ties, with_shapes
from .spec import KINDS, REGISTRY, Sample, Spec, Tol, all_specs, get, register, unregister

__all__ = ["CHECKS", "Check", "Ctx", "KINDS", "REGISTRY", "Result", "SCHEMA", "Sample", "Spec", "Tol", "all_of",
           "all_specs", "available_devices", "distinct", "elementwise", "get", "kinks_at", "register",
           "register_check", "run_spec", "sweep", "ties", "unregister", "validate", "with_shapes"]
