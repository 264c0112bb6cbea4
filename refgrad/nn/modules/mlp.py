"""refgrad extra (not in torch.nn): `MLP`, the multi-layer perceptron block of `torchvision.ops.MLP`, with the
same constructor and layer layout, so state_dicts of torchvision's MLP load as they are."""
from __future__ import annotations

from .activation import ReLU
from .container import Sequential
from .dropout import Dropout
from .linear import Linear

__all__ = ["MLP"]


class MLP(Sequential):
    """Matches `torchvision.ops.MLP` (a refgrad extra: torch.nn has no MLP). For each hidden width but the last:
    ``Linear -> [norm_layer] -> activation_layer -> Dropout``; then ``Linear -> Dropout`` to the last width.
    ``inplace=None`` leaves the activation's and Dropout's own default; ``norm_layer`` and ``activation_layer``
    are module classes (called with the width, and with ``inplace`` when given, respectively)."""

    def __init__(self, in_channels, hidden_channels, norm_layer=None, activation_layer=ReLU, inplace=None,
                 bias=True, dropout=0.0):
        params = {} if inplace is None else {"inplace": inplace}
        layers = []
        in_dim = in_channels
        for hidden_dim in hidden_channels[:-1]:
            layers.append(Linear(in_dim, hidden_dim, bias=bias))
            if norm_layer is not None:
                layers.append(norm_layer(hidden_dim))
            layers.append(activation_layer(**params))
            layers.append(Dropout(dropout, **params))
            in_dim = hidden_dim
        layers.append(Linear(in_dim, hidden_channels[-1], bias=bias))
        layers.append(Dropout(dropout, **params))
        super().__init__(*layers)
