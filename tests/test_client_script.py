"""The installed `archsearch` command (scripts/archsearch): a served command's client imports no
more than it needs to hand the command over; pip's console-script wrapper imported `re` first."""

import subprocess
import sys

from conftest import installed_command
from test_server import (  # noqa: F401 (fixtures)
    BOUND,
    corpus,
    environment,
    no_click,
    running_server,
    socket_folder,
)


def imported(stderr: bytes) -> list[str]:
    """The modules PYTHONPROFILEIMPORTTIME says the process imported."""
    lines = [line for line in stderr.decode().splitlines() if line.startswith("import time:")]
    return [line.rpartition("|")[2].strip() for line in lines[1:]]  # after the header


def test_a_served_command_s_client_imports_neither_re_nor_click(socket_folder, corpus, no_click):
    # Without site (-S): an editable install's finder, which site loads, imports re itself.  The
    # archsearch the server runs, as installed (-P), not the checkout the tests may run in: a
    # client refuses a server of another installation and runs its command itself.
    source = subprocess.run(
        [sys.executable, "-P", "-c", "import archsearch, os; print(os.path.dirname(os.path.dirname(archsearch.__file__)))"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()
    env = environment(socket_folder / "s.sock", corpus / "index", PYTHONPROFILEIMPORTTIME="1")
    env["PYTHONPATH"] = f"{no_click}:{source}"
    with running_server(socket_folder / "s.sock"):
        served = subprocess.run(
            [sys.executable, "-S", installed_command(), "query", "Taliban"],
            capture_output=True, env=env, cwd=corpus, timeout=BOUND,
        )
    assert served.returncode == 0 and b"Taliban" in served.stdout  # no_click: the server ran it
    modules = imported(served.stderr)
    assert "archsearch.client" in modules
    assert "re" not in modules and "click" not in modules
