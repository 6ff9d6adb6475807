"""A run that finds nothing changed trusts the index as the last run left it: it neither opens
it nor loads Whoosh, as long as the index's files are exactly as that run left them."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from archsearch import indexing
from archsearch.engines.whoosh.store import INDEX_NAME, MANIFEST_FILE
from archsearch.indexing import update_index
from archsearch.manifest import Manifest
from conftest import WIRE_SEED

# Prints the engine modules loaded by an `archsearch index` run, after its report.
INDEX_THEN_LOADED = """
import atexit, sys
atexit.register(lambda: print(sorted(name for name in ("whoosh", "archsearch.schema", "archsearch.analysis",
                                                        "archsearch.engines.whoosh.segments") if name in sys.modules)))
sys.argv = ["archsearch", "index", "--index", {index!r}]
from archsearch.client import main
main()
"""


def run_index(index_dir: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", INDEX_THEN_LOADED.format(index=str(index_dir))],
                          capture_output=True, text=True)


def fail(name):
    return lambda *args, **kwargs: pytest.fail(f"{name} called")


def test_a_run_that_finds_nothing_changed_loads_no_whoosh(seeded_index, seeds_copy):
    result = run_index(seeded_index)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
    assert "unchanged 2" in result.stderr
    wire = seeds_copy / WIRE_SEED
    wire.write_text(wire.read_text(encoding="utf-8") + "\n\nMore news.", encoding="utf-8")
    result = run_index(seeded_index)
    assert result.returncode == 0, result.stderr
    assert "whoosh" in result.stdout and "updated 1" in result.stderr


def test_a_run_that_finds_nothing_changed_neither_checks_nor_opens_the_index(seeded_index, seeds_copy, monkeypatch):
    with monkeypatch.context() as patch:
        for name in ("open_index", "find_damage", "remove_unreferenced_files"):
            patch.setattr(indexing, name, fail(name))
        report = update_index(seeded_index, [])
    assert (report.unchanged, report.total) == (2, 2)
    (seeds_copy / WIRE_SEED).unlink()
    opened = []
    real = indexing.open_index
    monkeypatch.setattr(indexing, "open_index", lambda index_dir: opened.append(index_dir) or real(index_dir))
    report = update_index(seeded_index, [])
    assert (report.removed, report.unchanged, report.total) == (1, 1, 1)
    assert opened


@pytest.mark.parametrize("change", ["an index file touched", "a file added to the index", "another version"])
def test_an_index_not_as_the_last_run_left_it_is_checked_again(seeded_index, monkeypatch, change):
    if change == "an index file touched":
        [toc] = Path(seeded_index).glob(f"_{INDEX_NAME}_*.toc")
        status = toc.stat()
        os.utime(toc, ns=(status.st_atime_ns, status.st_mtime_ns + 1))
    elif change == "a file added to the index":
        (Path(seeded_index) / f"{INDEX_NAME}_leftover.seg").write_bytes(b"left by a run that was killed")
    else:
        record = Manifest(Path(seeded_index) / MANIFEST_FILE)
        record.keep_index_state(record.index_state()._replace(version="0.0.1"))
        record.close()
    checked = []
    real = indexing.find_damage
    monkeypatch.setattr(indexing, "find_damage", lambda index_dir: checked.append(index_dir) or real(index_dir))
    report = update_index(seeded_index, [])
    assert (report.unchanged, report.total) == (2, 2) and checked
    assert not (Path(seeded_index) / f"{INDEX_NAME}_leftover.seg").exists()
    # And the run leaves the state it found, so the next one trusts it again.
    monkeypatch.setattr(indexing, "find_damage", fail("find_damage"))
    assert update_index(seeded_index, []).total == 2


def test_the_index_files_are_named_as_whoosh_names_them():
    from whoosh.index import _DEF_INDEX_NAME

    assert INDEX_NAME == _DEF_INDEX_NAME
