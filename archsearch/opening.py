"""Handing an article to the user's own programs: a browser or opener for its URL or file, an editor for its file.

`archsearch open` and the browser's o and e keys both come here.
"""

import os
import shlex
import shutil
import subprocess
import sys

from archsearch.errors import ArchsearchError


def opener_command(target: str, environ=os.environ) -> list[str]:
    """The command that opens `target` (a URL or a file) as the user would: $BROWSER (the first of
    a colon-separated list that is installed), else xdg-open on Linux and open on macOS."""
    search_path = environ.get("PATH")
    for candidate in (environ.get("BROWSER") or "").split(":"):
        words = shlex.split(candidate)
        if words and shutil.which(words[0], path=search_path):
            return [*words, target]
    system_opener = "open" if sys.platform == "darwin" else "xdg-open"
    if shutil.which(system_opener, path=search_path):
        return [system_opener, target]
    raise ArchsearchError(f"no program to open {target} with: set $BROWSER, or install {system_opener}")


def editor_command(path: str, environ=os.environ) -> list[str]:
    """$VISUAL, else $EDITOR, else vi, as git chooses, on `path`."""
    editor = environ.get("VISUAL") or environ.get("EDITOR") or "vi"
    words = shlex.split(editor)
    if not words or not shutil.which(words[0], path=environ.get("PATH")):
        raise ArchsearchError(f"no editor '{editor}' to open {path} with: set $VISUAL or $EDITOR")
    return [*words, path]


def start_detached(command: list[str]) -> None:
    """Starts an opener that outlives us and keeps off our terminal (xdg-open may stay for the browser's life)."""
    try:
        subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
    except OSError as exc:
        raise ArchsearchError(f"cannot run {command[0]}: {exc.strerror or exc}") from None


def run_editor(command: list[str], **streams) -> int:
    """Runs the editor to its end, on our terminal unless `streams` say otherwise; its exit status."""
    try:
        return subprocess.run(command, **streams).returncode
    except OSError as exc:
        raise ArchsearchError(f"cannot run {command[0]}: {exc.strerror or exc}") from None
