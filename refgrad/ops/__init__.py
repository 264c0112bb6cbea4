"""The op surface, one module per family. Each family module registers its Tensor methods and lists
its functions in ``__all__``; this package re-exports them."""
from .conversion import *  # noqa: F403

from .creation import *  # noqa: F403
from .elementwise import *  # noqa: F403
from .indexing import *  # noqa: F403
from .linalg import *  # noqa: F403
from .reduction import *  # noqa: F403
from .shape import *  # noqa: F403
