"""Parser libraries log their complaints; archsearch reports problems itself, one line per file."""

import logging


def silence(*logger_names: str) -> None:
    """Keep these libraries' log records off stderr (where logging's last resort would print them)."""
    for name in logger_names:
        logger = logging.getLogger(name)
        logger.addHandler(logging.NullHandler())
        logger.propagate = False
