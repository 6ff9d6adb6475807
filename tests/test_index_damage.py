"""A damaged index folder: every command names the damage and `archsearch index --rebuild` in one
line (exit status 2), and --rebuild makes the index anew whatever the damage.  A full disk leaves
nothing behind that would fill it again."""

import errno
import os
import random
import sqlite3

import pytest

from archsearch import indexing
from archsearch.errors import ArchsearchError
from archsearch.indexing import update_index
from archsearch.engines.whoosh.store import MANIFEST_FILE
from conftest import write_corpus
from test_index_rebuild import file_kinds
from test_indexing import index_state, numbered_articles

READ_COMMANDS = [("query", "harbour3"), ("stats",), ("timeline", "harbour3"), ("sources", "harbour3")]


def segment_file(index_dir):
    return next(index_dir / name for name in sorted(os.listdir(index_dir)) if name.endswith(".seg"))


def truncate_segment(index_dir):
    path = segment_file(index_dir)
    path.write_bytes(path.read_bytes()[:1000])


def remove_segment(index_dir):
    segment_file(index_dir).unlink()


def garbage_toc(index_dir):
    toc = next(index_dir / name for name in os.listdir(index_dir) if name.endswith(".toc"))
    toc.write_bytes(b"\x00garbage" * 50)


def overwrite_segment_middle(index_dir, seed):
    path = segment_file(index_dir)
    data = bytearray(path.read_bytes())
    data[200:4000] = random.Random(seed).randbytes(3800)
    path.write_bytes(bytes(data))


DAMAGE = {
    "truncated segment": truncate_segment,
    "missing segment": remove_segment,
    "garbage table of contents": garbage_toc,
}


@pytest.mark.parametrize("leftover", ["garbage staged index", "a file in its place"])
def test_rebuild_recovers_from_a_damaged_staging_folder(corpus, index_dir, leftover):
    update_index(index_dir, [str(corpus)])
    if leftover == "a file in its place":
        (index_dir / "rebuild").write_bytes(b"garbage")
    else:
        (index_dir / "rebuild").mkdir()
        (index_dir / "rebuild" / "_MAIN_3.toc").write_bytes(b"garbage")
        (index_dir / "rebuild" / "MAIN_abc.seg").write_bytes(b"garbage")
    assert update_index(index_dir, [], rebuild=True).total == 30
    assert len(index_state(index_dir)) == 30 and not (index_dir / "rebuild").exists()


@pytest.fixture
def corpus(tmp_path):
    return write_corpus(tmp_path / "corpus", numbered_articles(30))


@pytest.mark.parametrize("damage", DAMAGE, ids=list(DAMAGE))
def test_damage_is_named_with_rebuild_by_every_command_and_rebuild_repairs_it(corpus, run_cli, index_dir, damage):
    assert run_cli("index", str(corpus)).exit_code == 0
    DAMAGE[damage](index_dir)
    for command in READ_COMMANDS + [("index",)]:
        result = run_cli(*command)
        assert result.exit_code == 2, (command, result.output)
        lines = result.stderr.splitlines()
        assert len(lines) == 1 and "'archsearch index --rebuild'" in lines[0], (command, lines)
        assert "internal error" not in lines[0] and "interrupted" not in lines[0]
    result = run_cli("index", "--rebuild")
    assert result.exit_code == 0, result.output
    assert len(index_state(index_dir)) == 30
    assert run_cli("query", "harbour3").exit_code == 0


@pytest.mark.parametrize("seed", range(4))
def test_bytes_overwritten_inside_a_segment_never_read_as_an_interruption(corpus, index_dir, seed, run_cli, capfd):
    """Whoosh keeps no checksums: overwritten bytes show only when read, in whatever way the
    garbage makes them fail.  When Whoosh's own reading fails, that is named as damage."""
    from archsearch.cli import run

    assert run_cli("index", str(corpus)).exit_code == 0
    overwrite_segment_middle(index_dir, seed)
    capfd.readouterr()
    for command in READ_COMMANDS + [("show", "000/article00003.txt")]:
        status = run([*command, "--json"])
        stderr = capfd.readouterr().err
        assert status in (0, 1, 2), (command, stderr)
        assert "interrupted" not in stderr and "Traceback" not in stderr, stderr
        if status == 2 and "internal error" not in stderr:
            assert "is damaged" in stderr and "'archsearch index --rebuild'" in stderr, stderr
    assert run_cli("index", "--rebuild").exit_code == 0
    assert run_cli("query", "harbour3").exit_code == 0


def test_a_garbage_list_of_folders_is_named_and_rebuild_recovers_it(corpus, run_cli, index_dir):
    assert run_cli("index", str(corpus)).exit_code == 0
    (index_dir / "archsearch.json").write_text('{"roots": 17', encoding="utf-8")
    result = run_cli("index")
    assert result.exit_code == 2
    assert result.stderr.startswith(f"archsearch: error: cannot read the list of indexed folders {index_dir / 'archsearch.json'}")
    assert "'archsearch index --rebuild'" in result.stderr
    result = run_cli("index", "--rebuild")  # the folders come from the record of indexed files
    assert result.exit_code == 0, result.output
    assert len(index_state(index_dir)) == 30
    assert run_cli("index").exit_code == 0


@pytest.mark.parametrize("damage", ["garbage file", "garbage rows"])
def test_a_damaged_record_of_files_is_made_anew_from_the_index(corpus, index_dir, damage, monkeypatch):
    update_index(index_dir, [str(corpus)])
    record = index_dir / MANIFEST_FILE
    if damage == "garbage file":
        record.write_bytes(b"SQLite format 3\x00" + os.urandom(5000))
    else:
        with sqlite3.connect(record) as db:
            db.execute("UPDATE folder_files SET sizes = ?", (b"garbage",))
    monkeypatch.setattr(indexing, "read_file", lambda path, *args: pytest.fail(f"{path} read again"))
    report = update_index(index_dir, [])
    assert (report.unchanged, report.total) == (30, 30)
    assert report.warnings == [(str(record), "the record of indexed files was damaged: made anew from the index")]
    assert len(index_state(index_dir)) == 30


class FullDisk:
    """Files of the index that fail with ENOSPC once `room` bytes were written to them in all."""

    def __init__(self, room):
        self.room = room

    def wrap(self, stream):
        disk = self

        class Wrapped:
            def __getattr__(self, name):
                return getattr(stream, name)

            def write(self, data):
                if len(data) > disk.room:
                    raise OSError(errno.ENOSPC, "No space left on device")
                disk.room -= len(data)
                return stream.write(data)

        return Wrapped()


@pytest.fixture
def full_disk(monkeypatch):
    from whoosh.filedb.filestore import FileStorage

    disks = []
    create_file = FileStorage.create_file

    def limited(self, name, excl=False, mode="wb", **kwargs):
        created = create_file(self, name, excl=excl, mode=mode, **kwargs)  # a StructFile
        if disks:
            created.file = disks[-1].wrap(created.file)
        return created

    monkeypatch.setattr(FileStorage, "create_file", limited)
    return disks


@pytest.mark.parametrize("room", [5_000, 60_000, 150_000])
@pytest.mark.parametrize("rebuild", [False, True], ids=["update", "rebuild"])
def test_a_full_disk_leaves_no_partial_files_and_the_next_run_works(tmp_path, corpus, index_dir, full_disk, room, rebuild):
    update_index(index_dir, [str(write_corpus(tmp_path / "first", numbered_articles(5, start=100)))])
    before = index_state(index_dir)
    full_disk.append(FullDisk(room))
    with pytest.raises(ArchsearchError, match="no space left on device"):
        update_index(index_dir, [str(corpus)], rebuild=rebuild, commit_every=10)
    full_disk.clear()
    # Nothing but the files of the last commit (and of a staged rebuild's last commit).
    assert file_kinds(index_dir) <= {"MAIN_WRITELOCK", "MAIN_*.seg", "MAIN_*.postings", "MAIN_*.prefixes", "_MAIN_*.toc", "archsearch-files.sqlite",
                                     "archsearch.json", "archsearch.lock", "rebuild"}
    assert set(index_state(index_dir, recorded=False)) >= set(before)
    if (index_dir / "rebuild").exists():
        assert file_kinds(index_dir / "rebuild") <= {"MAIN_WRITELOCK", "MAIN_*.seg", "MAIN_*.postings", "MAIN_*.prefixes", "_MAIN_*.toc",
                                                      "archsearch-files.sqlite"}
    update_index(index_dir, [], rebuild=rebuild)
    assert len(index_state(index_dir)) == 35


def test_a_bug_reading_a_sound_index_is_not_called_damage(corpus, index_dir):
    from archsearch.engines.whoosh.store import DamagedIndex, index_searcher

    update_index(index_dir, [str(corpus)])
    with pytest.raises(KeyError):
        with index_searcher(index_dir):
            {}["missing"]
    with pytest.raises(AttributeError):  # how code reaching into Whoosh fails on its empty readers
        with index_searcher(index_dir) as searcher:
            searcher.reader()._no_such_part
    truncate_segment(index_dir)
    with pytest.raises(DamagedIndex, match=r"damaged \(segment file MAIN_\w+\.seg is truncated"):
        with index_searcher(index_dir) as searcher:
            {}["missing"]
