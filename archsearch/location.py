"""Where the index lives: an explicit folder, else $ARCHSEARCH_INDEX, else the per-user data folder."""

import os
from pathlib import Path

ENV_INDEX = "ARCHSEARCH_INDEX"


def default_index_dir(environ=os.environ) -> Path:
    """The per-user data folder, following the XDG base directory specification."""
    data_home = environ.get("XDG_DATA_HOME") or ""
    # The spec says relative values are invalid and must be ignored.
    base = Path(data_home) if os.path.isabs(data_home) else Path.home() / ".local" / "share"
    return base / "archsearch"


def resolve_index_dir(explicit: str | os.PathLike | None, environ=os.environ) -> Path:
    if explicit:
        return Path(explicit).expanduser().absolute()
    if environ.get(ENV_INDEX):
        return Path(environ[ENV_INDEX]).expanduser().absolute()
    return default_index_dir(environ)
