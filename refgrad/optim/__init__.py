"""Matches `torch.optim` (placeholder until the optimizers land)."""
from . import lr_scheduler

__all__ = ["lr_scheduler"]
