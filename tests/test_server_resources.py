"""What the resident server holds on to: a bounded number of searchers, none on an index that is
gone, descriptions of its open files that no request shares, what it reads once per generation
of an index for every request to inherit, and a code check that tells a change on disk from a
lack of file descriptors."""

import os
import shutil
import subprocess
import sys

import pytest

from archsearch.engines.whoosh import store
from archsearch.indexing import update_index
from conftest import SEEDS, wire


@pytest.fixture
def searchers_kept_open(monkeypatch):
    monkeypatch.setattr(store, "_open_searchers", None)
    store.keep_searchers_open()
    yield
    store.close_kept_searchers()


@pytest.fixture(scope="module")
def indexes(tmp_path_factory) -> list:
    folder = tmp_path_factory.mktemp("indexes")
    shutil.copytree(SEEDS, folder / "seeds")
    update_index(folder / "index0", [str(folder / "seeds")])
    copies = [folder / "index0"]
    for number in range(1, store.KEPT_SEARCHERS + 2):
        copies.append(folder / f"index{number}")
        shutil.copytree(copies[0], copies[-1])
    return copies


def use(index_dir):
    with store.index_searcher(index_dir) as searcher:
        return searcher


def test_the_least_recently_used_searchers_are_closed_beyond_the_bound(indexes, searchers_kept_open):
    first = use(indexes[0])
    for index_dir in indexes[1:store.KEPT_SEARCHERS]:
        use(index_dir)
    assert use(indexes[0]) is first  # now the most recently used
    use(indexes[store.KEPT_SEARCHERS])
    assert len(store.kept_searchers()) == store.KEPT_SEARCHERS
    assert indexes[1].resolve() not in store.kept_searchers() and not first.is_closed


def test_an_index_whose_folder_is_gone_is_let_go(indexes, tmp_path, searchers_kept_open):
    shutil.copytree(indexes[0], tmp_path / "index")
    searcher = use(tmp_path / "index")
    shutil.rmtree(tmp_path / "index")
    store.drop_gone_indexes()
    assert searcher.is_closed and store.kept_searchers() == {}


def test_an_index_replaced_by_another_is_opened_afresh(indexes, tmp_path, searchers_kept_open):
    # A rebuild that swaps a new folder in may start its generations at the same number.
    shutil.copytree(indexes[0], tmp_path / "index")
    shutil.copytree(indexes[0], tmp_path / "rebuilt")
    searcher = use(tmp_path / "index")
    os.rename(tmp_path / "index", tmp_path / "old")
    os.rename(tmp_path / "rebuilt", tmp_path / "index")
    assert use(tmp_path / "index") is not searcher and searcher.is_closed


def test_open_index_files_get_descriptions_of_their_own(indexes, searchers_kept_open):
    from archsearch import server

    use(indexes[0])
    prefix = str(indexes[0].resolve()) + os.sep
    fds = [
        int(fd) for fd in os.listdir("/proc/self/fd")
        if os.path.exists(f"/proc/self/fd/{fd}") and os.readlink(f"/proc/self/fd/{fd}").startswith(prefix)
    ]
    assert fds
    offsets = {fd: os.lseek(fd, 0, os.SEEK_CUR) for fd in fds}
    inherited = {fd: os.dup(fd) for fd in fds}  # what a forked request keeps: the same descriptions
    try:
        server._unshare_index_files()
        for fd, copy in inherited.items():
            os.lseek(copy, 12345, os.SEEK_SET)
        assert {fd: os.lseek(fd, 0, os.SEEK_CUR) for fd in fds} == offsets
    finally:
        for copy in inherited.values():
            os.close(copy)


class _Reports:
    """The part of the serving loop's state that request processes report opened indexes to."""

    def __init__(self):
        self.reports = os.pipe2(os.O_NONBLOCK)
        self.unread_report = b""

    def report(self, index_dir) -> None:
        from archsearch import server

        os.write(self.reports[1], server.INDEX_OPENED + os.fsencode(str(index_dir.resolve())) + b"\0")


def test_each_generation_an_index_is_opened_in_is_warmed_once(tmp_path, searchers_kept_open, monkeypatch):
    from archsearch import server

    warmed = []
    monkeypatch.setattr(server, "warm", warmed.append)
    shutil.copytree(SEEDS, tmp_path / "seeds")
    update_index(tmp_path / "index", [str(tmp_path / "seeds")])
    loop = _Reports()
    try:
        for _ in range(2):  # reported twice, opened and warmed once
            loop.report(tmp_path / "index")
            server._keep_reported(loop)
        assert warmed == [(tmp_path / "index").resolve()]
        (tmp_path / "seeds" / "new.txt").write_text(wire("2021-03-01", "PARIS, March 1. /AFP/.", "Zebras escaped."))
        update_index(tmp_path / "index", [str(tmp_path / "seeds")])
        loop.report(tmp_path / "index")  # a request found the kept searcher out of date
        server._keep_reported(loop)
        assert warmed == [(tmp_path / "index").resolve()] * 2
    finally:
        for fd in loop.reports:
            os.close(fd)


def test_a_warmed_index_answers_prefix_words_without_reading_word_lists_again(indexes, searchers_kept_open, monkeypatch):
    from archsearch import server
    from archsearch.engines.whoosh import fuzzy
    from archsearch.searching import search

    monkeypatch.setattr(fuzzy, "_kept", type(fuzzy._kept)())
    use(indexes[0])
    server.warm(indexes[0].resolve())

    class NoReading:
        def loads(self, data):
            raise AssertionError("a segment's word lists read again")

    monkeypatch.setattr(fuzzy, "pickle", NoReading())  # what a request forked now inherits: no reading
    assert search(indexes[0], "tal*", limit=0).total == search(indexes[0], "taliban OR talibans", limit=0).total > 0


def test_a_warmed_index_knows_its_languages_without_reading_them_again(indexes, searchers_kept_open, monkeypatch):
    from archsearch import server
    from archsearch.searching import search

    use(indexes[0])
    server.warm(indexes[0].resolve())
    reader_class = type(use(indexes[0]).reader())
    read_terms = reader_class.iter_field

    def iter_field(reader, fieldname, *args):
        assert fieldname != "language", "the index's languages read again"
        return read_terms(reader, fieldname, *args)

    monkeypatch.setattr(reader_class, "iter_field", iter_field)  # what a request forked now inherits
    assert search(indexes[0], "taliban").total > 0


def test_a_warmed_index_shows_hits_of_any_segment_without_reading_where_stored_fields_are(tmp_path, searchers_kept_open, monkeypatch):
    from whoosh import columns

    from archsearch import server
    from archsearch.searching import search

    shutil.copytree(SEEDS, tmp_path / "seeds")
    update_index(tmp_path / "index", [str(tmp_path / "seeds")])
    (tmp_path / "seeds" / "new.txt").write_text(wire("2021-03-01", "PARIS, March 1. /AFP/.", "Zebras escaped."))
    update_index(tmp_path / "index", [str(tmp_path / "seeds")])
    assert len(use(tmp_path / "index").reader().leaf_readers()) == 2
    server.warm((tmp_path / "index").resolve())

    def read_offsets(column_reader):
        raise AssertionError("where a segment's stored fields are read again")

    monkeypatch.setattr(columns.VarBytesColumn.Reader, "_read_offsets_and_lengths", read_offsets)
    assert all(search(tmp_path / "index", word).hits for word in ("zebras", "taliban"))


def test_out_of_file_descriptors_is_no_change_of_code():
    code = """
import os, resource
from archsearch import server
print(server.code_fingerprint() is not None)
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (64, hard))
try:
    while True:
        os.open(os.devnull, os.O_RDONLY)
except OSError:
    pass
try:
    print(server.code_fingerprint())
except OSError as exc:
    print(exc.strerror)
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.stdout.splitlines() == ["True", os.strerror(24)], result.stderr


def test_a_warmed_index_groups_copies_without_reading_the_segments_key_spans(tmp_path, searchers_kept_open, monkeypatch):
    from archsearch import server
    from archsearch.engines.whoosh import keys
    from archsearch.searching import search

    story = wire("2021-03-01", "PARIS, March 1. /AFP/.", "Zebras escaped from the city zoo on Monday morning and ran along the river banks for hours before keepers caught them all.")
    (tmp_path / "corpus").mkdir()
    for name in ("a.txt", "b.txt"):
        (tmp_path / "corpus" / name).write_text(story)
    update_index(tmp_path / "index", [str(tmp_path / "corpus")])
    (tmp_path / "corpus" / "c.txt").write_text(story)
    update_index(tmp_path / "index", [str(tmp_path / "corpus")])
    assert len(use(tmp_path / "index").reader().leaf_readers()) == 2
    server.warm((tmp_path / "index").resolve())

    def read_span(leaf, fieldname):
        raise AssertionError("a segment's span of keys read again")

    monkeypatch.setattr(keys, "_read_span", read_span)  # what a request forked now inherits
    [hit] = search(tmp_path / "index", "zebras").hits
    assert len(hit.copies) == 2
