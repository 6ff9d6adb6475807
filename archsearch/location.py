"""Where the index lives: an explicit folder, else $ARCHSEARCH_INDEX, else the per-user data folder."""

import os
from pathlib import Path

from archsearch.errors import ArchsearchError

ENV_INDEX = "ARCHSEARCH_INDEX"


def default_index_dir(environ=os.environ) -> Path:
    """The per-user data folder, following the XDG base directory specification."""
    data_home = environ.get("XDG_DATA_HOME") or ""
    # The spec says relative values are invalid and must be ignored.
    base = Path(data_home) if os.path.isabs(data_home) else Path.home() / ".local" / "share"
    return base / "archsearch"


def resolve_index_dir(explicit: str | os.PathLike | None, environ=os.environ) -> Path:
    if explicit:
        return absolute_path(explicit)
    if environ.get(ENV_INDEX):
        return absolute_path(environ[ENV_INDEX])
    return default_index_dir(environ)


def absolute_path(path: str | os.PathLike) -> Path:
    """path (`~` expanded) from the folder the command runs in, when it is relative: an
    ArchsearchError when that folder was removed, where the path names nothing any more."""
    try:
        return Path(path).expanduser().absolute()
    except FileNotFoundError:  # os.getcwd() of a removed folder
        raise ArchsearchError(
            f"cannot find {path}: the folder this command runs in was removed (cd to another, or give a full path)"
        ) from None
