"""The optional torch oracle, imported lazily (the harness and the engine import without torch).

Also the glue that turns a sample's numpy arrays into tensors of either engine and back.
"""
from __future__ import annotations

import numpy as np

import refgrad

from .spec import Sample

_state: dict = {"loaded": False, "torch": None, "error": None, "enabled": True}


def get_torch():
    """The torch module, or None when it cannot be imported or the oracle is switched off."""
    if not _state["enabled"]:
        return None
    if not _state["loaded"]:
        _state["loaded"] = True
        try:
            import torch  # noqa: PLC0415 - optional oracle: never a module-level import
        except Exception as e:  # noqa: BLE001 - any import failure means "no oracle"
            _state["error"] = f"{type(e).__name__}: {e}"
        else:
            # full-precision float32 on cuda: TF32 matmuls/convolutions (torch's default for cudnn) round
            # inputs to 10 mantissa bits, which would make the oracle, not refgrad, the inexact side
            torch.backends.cuda.matmul.allow_tf32 = False
            torch.backends.cudnn.allow_tf32 = False
            _state["torch"] = torch
    return _state["torch"]


def set_enabled(flag: bool) -> None:
    """Switch the oracle off (FD-only runs) or back on."""
    _state["enabled"] = bool(flag)


def describe() -> str | None:
    """'torch <version>' for the report's summary.oracle, or None when there is no oracle."""
    torch = get_torch()
    return None if torch is None else f"torch {torch.__version__}"


def unavailable_reason() -> str:
    if not _state["enabled"]:
        return "the oracle was switched off"
    get_torch()
    return f"torch is not importable ({_state['error']})"


# -- tensors of either engine --------------------------------------------------------------------

def cast(arr: np.ndarray, dtype: str) -> np.ndarray:
    """Floating arrays take the dtype under test; integer/bool arrays keep theirs."""
    return arr.astype(dtype) if arr.dtype.kind == "f" else arr


def rg_tensor(arr: np.ndarray, device: str, requires_grad: bool = False):
    t = refgrad.tensor(arr, device=device)
    return t.requires_grad_(True) if requires_grad else t


def th_tensor(torch, arr: np.ndarray, device: str, requires_grad: bool = False):
    t = torch.from_numpy(np.array(arr, order="C")).to(device)  # (ascontiguousarray makes 0-d 1-d)
    return t.requires_grad_(True) if requires_grad else t


def materialize(sample: Sample, dtype: str, device: str, torch=None, grad: bool = True):
    """(args, kwargs, differentiable inputs) in refgrad, or in torch when ``torch`` is given."""
    diff = set(sample.diff_indices()) if grad else set()
    args, inputs = [], []
    for i, a in enumerate(sample.args):
        if isinstance(a, np.ndarray):
            arr = cast(a, dtype)
            req = i in diff
            t = th_tensor(torch, arr, device, req) if torch is not None else rg_tensor(arr, device, req)
            if req:
                inputs.append(t)
            args.append(t)
        else:
            args.append(a)
    return args, dict(sample.kwargs), inputs


def flatten(out) -> list:
    if isinstance(out, (tuple, list)):
        return [y for x in out for y in flatten(x)]
    return [out]


def to_numpy(t) -> np.ndarray | None:
    """Host numpy copy of a refgrad or torch tensor (None stays None)."""
    if t is None:
        return None
    if isinstance(t, refgrad.Tensor):
        return np.array(refgrad._backend.asnumpy(t.detach()._data))
    if hasattr(t, "detach") and hasattr(t, "cpu"):
        return t.detach().cpu().numpy(force=True).copy()  # force: torch's ZeroTensor gradients
    return np.asarray(t)


def is_tensor(t) -> bool:
    return isinstance(t, refgrad.Tensor) or (hasattr(t, "detach") and hasattr(t, "requires_grad"))


def differentiable(outs: list) -> list:
    """The outputs a VJP flows through: floating tensors that require grad."""
    return [o for o in outs if is_tensor(o) and o.requires_grad and o.is_floating_point()]
