"""Matches `torch.linalg`."""
from .ops.linalg import *  # noqa: F403
