"""The op surface, one module per family. Each family module registers its Tensor methods and lists
its functions in ``__all__``; this package re-exports exactly those (never the submodules
themselves, so ``refgrad.linalg`` stays the torch.linalg namespace)."""
from . import conversion, creation, elementwise, indexing, linalg, reduction, shape
from .conversion import *  # noqa: F403
from .creation import *  # noqa: F403
from .elementwise import *  # noqa: F403
from .indexing import *  # noqa: F403
from .linalg import *  # noqa: F403
from .reduction import *  # noqa: F403
from .shape import *  # noqa: F403

FAMILIES = (conversion, creation, elementwise, indexing, linalg, reduction, shape)
__all__ = [name for fam in FAMILIES for name in getattr(fam, "__all__", ())]
