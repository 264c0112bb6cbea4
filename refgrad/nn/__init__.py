"""Matches `torch.nn`: Module and its containers, layers and activations, Parameter/Buffer, plus the
``functional``, ``init`` and ``utils`` namespaces."""
from . import functional, init, utils
from .modules import *  # noqa: F403
from .modules import __all__ as _modules_all
from .parameter import Buffer, Parameter

__all__ = ["Parameter", "Buffer", "functional", "init", "utils", *_modules_all]
