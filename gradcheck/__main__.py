"""``python -m gradcheck`` = ``refgrad-gradcheck``."""
from .cli import main

if __name__ == "__main__":  # spawned --jobs workers import this module as __mp_main__: do not rerun
    raise SystemExit(main())
