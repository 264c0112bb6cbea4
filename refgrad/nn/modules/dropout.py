"""Matches `torch.nn` Dropout, Dropout1d/2d/3d, AlphaDropout and FeatureAlphaDropout (active in training mode
only; masks come from refgrad's generator)."""
from __future__ import annotations

from .. import functional as F
from .module import Module

__all__ = ["Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout", "FeatureAlphaDropout"]


class _DropoutNd(Module):
    _fn = None

    def __init__(self, p=0.5, inplace=False):
        super().__init__()
        if p < 0 or p > 1:
            raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
        self.p = p
        self.inplace = inplace

    def forward(self, input):  # noqa: A002
        return type(self)._fn(input, self.p, self.training, self.inplace)

    def extra_repr(self):
        return f"p={self.p}, inplace={self.inplace}"


class Dropout(_DropoutNd):
    """Matches `torch.nn.Dropout`."""

    _fn = staticmethod(F.dropout)


class Dropout1d(_DropoutNd):
    """Matches `torch.nn.Dropout1d` (whole channels)."""

    _fn = staticmethod(F.dropout1d)


class Dropout2d(_DropoutNd):
    """Matches `torch.nn.Dropout2d` (whole channels)."""

    _fn = staticmethod(F.dropout2d)


class Dropout3d(_DropoutNd):
    """Matches `torch.nn.Dropout3d` (whole channels)."""

    _fn = staticmethod(F.dropout3d)


class AlphaDropout(_DropoutNd):
    """Matches `torch.nn.AlphaDropout` (keeps SELU's self-normalization)."""

    _fn = staticmethod(F.alpha_dropout)


class FeatureAlphaDropout(_DropoutNd):
    """Matches `torch.nn.FeatureAlphaDropout` (alpha dropout of whole channels)."""

    _fn = staticmethod(F.feature_alpha_dropout)
