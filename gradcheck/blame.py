"""Three-way blame: when refgrad disagrees, which of refgrad, finite differences and torch is wrong.

Each argument says whether two of the three agree (None: that comparison was not available).
"""
from __future__ import annotations

REFGRAD_BUG = "refgrad differs from FD and torch: refgrad bug"
FD_UNRELIABLE = "refgrad and torch agree, FD differs: FD unreliable here"
TORCH_KINK = "torch differs from FD at a kink: convention"
REFGRAD_KINK = "refgrad differs from torch at a kink: refgrad must follow torch's convention"
ORACLE_SUSPECT = "torch differs from refgrad and FD: oracle or the spec's torch counterpart is suspect"
ALL_DIFFER = "refgrad, torch and FD all disagree: check the spec (sample domain, torch counterpart)"
NO_ORACLE = "refgrad differs from FD (no torch oracle to break the tie): likely refgrad bug"
FORWARD = "refgrad's forward differs from torch's"
NO_FD = "refgrad differs from torch (FD could not judge this sample)"


def blame(rg_fd: bool | None, rg_torch: bool | None, torch_fd: bool | None, at_kink: bool = False) -> str | None:
    """The verdict for one comparison; None when nobody is to blame (everything available agrees)."""
    if at_kink:
        # FD means nothing on a kink; torch's convention is the spec there
        if rg_torch is False:
            return REFGRAD_KINK
        if rg_torch and torch_fd is False:
            return TORCH_KINK
        return None
    if rg_torch is None:
        return NO_ORACLE if rg_fd is False else None
    if rg_fd is None:
        return NO_FD if rg_torch is False else None
    if rg_fd and rg_torch:
        return None
    if not rg_fd and not rg_torch:
        return REFGRAD_BUG if torch_fd else ALL_DIFFER
    if rg_torch and not rg_fd:
        return FD_UNRELIABLE
    return ORACLE_SUSPECT  # rg agrees with FD, not with torch
