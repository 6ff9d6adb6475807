import atexit
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from click.testing import CliRunner

# What archsearch keeps in the user's cache folder (the compiled sources of lean_imports, the
# language model's copy), and the server's socket where a command is given none, are kept for
# the tests in folders of this process's own, removed at its end: not those of whoever runs them,
# nor ones that another run or another worker of this run (pytest-xdist) uses at the same time.
# Set before archsearch first compiles any.
_OWN_FOLDER = tempfile.mkdtemp(prefix="archsearch-tests-")
atexit.register(shutil.rmtree, _OWN_FOLDER, ignore_errors=True)
for _variable, _name in (("XDG_CACHE_HOME", "cache"), ("XDG_RUNTIME_DIR", "run")):
    os.environ[_variable] = os.path.join(_OWN_FOLDER, _name)
    os.mkdir(os.environ[_variable], 0o700)

from archsearch.cli import cli  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
SEEDS = REPO / "seeds"
WIRE_SEED = "000_0899ba5db5579e65.txt"
WEB_SEED = "004_bf24a2834e8b1a0a.txt"

# No command a test runs, nor a fixture of any scope, uses or starts `archsearch serve` (which would
# outlive the tests) unless the test asks, with an ARCHSEARCH_SERVER of its own (test_autostart.py).
os.environ["ARCHSEARCH_SERVER"] = "off"


@pytest.fixture(autouse=True)
def no_user_config(monkeypatch, tmp_path):
    """No test reads the configuration file of whoever runs the tests, nor writes to their state folder."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.delenv("ARCHSEARCH_CONFIG", raising=False)


@pytest.fixture
def searchers_kept():
    """Searchers kept open as the server keeps them (store.keep_searchers_open), closed afterwards."""
    from archsearch.engines.whoosh import store

    kept, store._open_searchers = store._open_searchers, None
    store.keep_searchers_open()
    yield
    store.close_kept_searchers()
    store._open_searchers = kept


@pytest.fixture
def seeds_copy(tmp_path) -> Path:
    """A private copy of the seed corpus that a test may change."""
    target = tmp_path / "seeds"
    shutil.copytree(SEEDS, target)
    return target


@pytest.fixture
def index_dir(tmp_path) -> Path:
    return tmp_path / "index"


@pytest.fixture
def seeded_index(seeds_copy, index_dir) -> Path:
    from archsearch.indexing import update_index

    update_index(index_dir, [str(seeds_copy)])
    return index_dir


@pytest.fixture(scope="session", params=["every term", "written before"])
def built(tmp_path_factory, request) -> Path:
    """test_arrays_sidecar's index of several segments, of either kind (see built_index there):
    built once a process for that module and test_segment_terms, whose tests only read it."""
    from test_arrays_sidecar import built_index

    return built_index(tmp_path_factory, request.param)


@pytest.fixture
def run_cli(index_dir, monkeypatch, tmp_path):
    """Run a command in process with CliRunner, against the test's own index."""
    monkeypatch.setenv("ARCHSEARCH_INDEX", str(index_dir))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))

    def run(*args, **kwargs):
        return CliRunner().invoke(cli, list(args), catch_exceptions=False, **kwargs)

    return run


def installed_command() -> str:
    """The archsearch script installed beside the Python running the tests."""
    candidate = Path(sys.executable).parent / "archsearch"
    if candidate.exists():
        return str(candidate)
    found = shutil.which("archsearch")
    if not found:
        pytest.fail("the archsearch command is not installed: run pip install '.[test]' first")
    return found


def command_context(name: str):
    """A click context for archsearch's command name, made as a command line makes it: under the
    CLI's own, whose settings name its help option -h and --help. click (8.2 on) makes a command's
    help option once, with the names of the first context that asks for it, and keeps it for the
    rest of the process: a context of the command alone (click.Context(command)) gave it --help
    only, and a test asking with one failed, or made later tests of its process fail, by order."""
    import click

    root = click.Context(cli, info_name="archsearch", **cli.context_settings)
    return click.Context(cli.get_command(root, name), info_name=name, parent=root)


@pytest.fixture
def run_installed(index_dir, tmp_path):
    """Run the real installed command in a subprocess, as a user's shell would."""
    command = installed_command()

    def run(*args, env=None, **kwargs):
        environment = {
            key: value for key, value in os.environ.items() if key not in ("NO_COLOR", "FORCE_COLOR", "TERM")
        }
        environment.update({"ARCHSEARCH_INDEX": str(index_dir), "XDG_DATA_HOME": str(tmp_path / "xdg")})
        environment.update(env or {})
        return subprocess.run(
            [command, *args], capture_output=True, env=environment, timeout=120, **kwargs
        )

    return run


def wire(date: str, dateline: str, text: str) -> str:
    """An article in the wire-copy shape of seeds/000_*.txt."""
    return f" date {date} {dateline} {text}"


def web(section: str, title: str, site: str, text: str) -> str:
    """An article in the web-page shape of seeds/004_*.txt, boilerplate and teaser included."""
    return (
        f"Home / {section} / {title}\n\n{title}\n\n\n{text}\n\n\nAbout The {site}\n\nLeave a Reply\n\n"
        "Your email address will not be published. Required fields are marked *\n\n\n\nCheck Also\n\n"
        "An unrelated teaser headline\n\nThe teaser words of another story ..."
    )


def write_corpus(folder: Path, articles: dict[str, str]) -> Path:
    for name, text in articles.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return folder


def build_index(tmp_path: Path, articles: dict[str, str]) -> Path:
    from archsearch.indexing import update_index

    index_dir = tmp_path / "index"
    update_index(index_dir, [str(write_corpus(tmp_path / "corpus", articles))])
    return index_dir


def read_terminal(controller: int) -> bytes:
    """Everything written to a pseudo-terminal until the last process holding it ends."""
    shown = b""
    while True:
        try:
            chunk = os.read(controller, 65536)
        except OSError:  # Linux reports the closed terminal as EIO
            break
        if not chunk:
            break
        shown += chunk
    os.close(controller)
    return shown
