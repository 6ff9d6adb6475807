"""Parser libraries log their complaints; archsearch reports problems itself, one line per file."""

import functools
import logging


@functools.cache
def silence(*logger_names: str) -> None:
    """Keep these libraries' log records off stderr (where logging's last resort would print them).

    Cached: readers call it for every file, and each call would add another handler.
    """
    for name in logger_names:
        logger = logging.getLogger(name)
        logger.addHandler(logging.NullHandler())
        logger.propagate = False
