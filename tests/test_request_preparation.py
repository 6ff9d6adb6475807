"""What a server's spare prepares before its request comes (server.rehearse): prepared work is
used only while what it was prepared from is unchanged, and the request's answer is the one an
unprepared process gives."""

import pytest

from archsearch import nearduplicates, server
from archsearch.indexing import update_index
from archsearch.searching import search
from conftest import build_index
from test_copy_groups import story_text
from test_server_spare import warmed  # noqa: F401 (a fixture)


@pytest.fixture
def prepared(monkeypatch):
    """Connections prepared here are let go after the test (a spare's die with it)."""
    monkeypatch.setattr(nearduplicates, "_prepared", {})
    yield nearduplicates._prepared
    for _, db in nearduplicates._prepared.values():
        db.close()


def test_a_prepared_copy_groups_connection_is_used_and_kept_open(tmp_path, prepared):
    index = build_index(tmp_path, {"one.txt": story_text(0, frozenset(), False)})
    nearduplicates.prepare_copy_groups(index)
    [(_, connection)] = prepared.values()
    for _ in range(2):  # the first use must not close it
        with nearduplicates.copy_groups(index) as groups:
            assert groups is connection
            assert groups.execute("SELECT count(*) FROM sketches").fetchone() == (1,)


@pytest.mark.parametrize("rebuild", [False, True], ids=["updated", "rebuilt"])
def test_copies_grouped_after_the_index_changed_are_the_new_record_s(tmp_path, prepared, rebuild):
    """A rebuild renames a new record over the one the connection was prepared on: the prepared
    connection still reads the old file, and must not answer."""
    index = build_index(tmp_path, {"one.txt": story_text(0, frozenset(), False), "other.txt": story_text(1, frozenset(), False)})
    nearduplicates.prepare_copy_groups(index)
    (tmp_path / "corpus" / "two.txt").write_text(story_text(0, frozenset({1}), False), encoding="utf-8")
    update_index(index, [str(tmp_path / "corpus")], rebuild=rebuild)
    [hit] = search(index, "river0").hits
    assert sorted([hit.id, *hit.copies]) == ["one.txt", "two.txt"]


def test_an_index_without_a_record_of_copies_prepares_nothing(tmp_path, prepared):
    index = build_index(tmp_path, {"one.txt": story_text(0, frozenset(), False)})
    (index / "archsearch-files.sqlite").unlink()
    nearduplicates.prepare_copy_groups(index)
    assert prepared == {}
    with nearduplicates.copy_groups(index) as groups:
        assert groups is None


def test_a_rehearsal_prepares_the_warmed_index_s_copy_groups(warmed, prepared):
    server.rehearse()
    [path] = prepared
    assert path == str(warmed.resolve() / "archsearch-files.sqlite")
