"""refgrad: a reference autograd engine with PyTorch's API on NumPy (CPU) and CuPy (GPU).

``import refgrad as torch`` runs research code unchanged. refgrad never imports torch; cupy is
imported only when a cuda device is asked for.
"""
from __future__ import annotations

import warnings as _warnings

from . import _backend, _dtypes
from ._backend import device
from ._dtypes import (bool_ as bool, dtype, float16, float32, float64, get_default_dtype, int8, int16,  # noqa: A004
                      int32, int64, promote_types, set_default_dtype, uint8)
from ._tensor import Size, Tensor
from .autograd.grad_mode import (enable_grad, inference_mode, is_grad_enabled, is_inference_mode_enabled,
                                 no_grad, set_grad_enabled)
from .ops import *  # noqa: F403 - the op surface, family by family
from .ops import _core
from . import autograd, linalg, nn, optim, testing, training, utils  # noqa: E402
from .nn._norm import cdist, cosine_similarity, pairwise_distance  # noqa: E402 - torch has them at top level
from .serialization import load, load_checkpoint, save, save_checkpoint  # noqa: E402

# torch computes inf/nan silently; numpy warns from inside refgrad's kernels. Silence exactly those
# (the filter matches refgrad's own modules only, so the user's numpy code keeps its warnings).
_warnings.filterwarnings("ignore", category=RuntimeWarning, module=r"refgrad\.ops\.")

half, float, double = float16, float32, float64  # noqa: A001
short, int, long = int16, int32, int64  # noqa: A001
long = int64
FloatTensor = DoubleTensor = LongTensor = Tensor

__version__ = "0.1.0"


def is_tensor(obj) -> bool:
    """Matches `torch.is_tensor`."""
    return isinstance(obj, Tensor)


def is_floating_point(input) -> bool:  # noqa: A002
    return input.is_floating_point()


def numel(input) -> int:  # noqa: A002
    return input.numel()


def result_type(tensor1, tensor2):
    """Matches `torch.result_type`."""
    return _core.result_dtype(tensor1, tensor2)


def can_cast(from_, to) -> bool:
    return _core.can_cast(from_.np, to.np)


def get_device(t) -> int:
    return t.get_device()


class cuda:  # noqa: N801 - torch's module name, kept as a namespace
    """Matches the parts of `torch.cuda` refgrad needs: availability and device count."""

    @staticmethod
    def is_available() -> bool:
        return _backend.is_cuda_available()

    @staticmethod
    def device_count() -> int:
        return _backend.device_count()

    @staticmethod
    def manual_seed(seed):
        manual_seed(seed)  # noqa: F405 - one host stream serves every device

    manual_seed_all = manual_seed

    @staticmethod
    def synchronize(device=None):  # noqa: F811 - torch's argument name shadows refgrad.device here
        if _backend.is_cuda_available():
            _backend._import_cupy().cuda.Device().synchronize()
