import os
from pathlib import Path

import pytest

from archsearch.errors import ArchsearchError
from archsearch.indexing import open_index, read_roots, update_index
from conftest import WEB_SEED, WIRE_SEED


def stored_documents(index_dir):
    with open_index(index_dir).searcher() as searcher:
        return {fields["path"]: fields for fields in searcher.all_stored_fields()}


def test_seed_corpus_is_indexed_with_clean_metadata(seeds_copy, index_dir):
    report = update_index(index_dir, [str(seeds_copy)])
    assert (report.added, report.total, report.skipped) == (2, 2, [])
    documents = stored_documents(index_dir)
    assert set(documents) == {WIRE_SEED, WEB_SEED}
    wire, web = documents[WIRE_SEED], documents[WEB_SEED]
    assert (wire["date"], wire["source"], wire["place"]) == (20211210, "TASS", "Kabul")
    assert wire["title"].startswith("The Taliban radical militant group")
    assert web["title"] == "ISIS loyalists as active as ever in Afghanistan: Russian Foreign Ministry"
    assert (web["source"], web["place"], web["section"]) == ("Pashtun Times", "Kabul", "Afghanistan")
    assert "date" not in web  # undated, never invented
    assert web["key"] == str(seeds_copy.resolve() / WEB_SEED)


def test_second_run_reads_nothing_again(seeded_index, seeds_copy):
    report = update_index(seeded_index, [])
    assert (report.added, report.updated, report.removed, report.unchanged) == (0, 0, 0, 2)


def test_changed_file_is_updated_not_duplicated(seeded_index, seeds_copy):
    wire = seeds_copy / WIRE_SEED
    wire.write_text(wire.read_text(encoding="utf-8") + "\n\nA new paragraph about zebras.", encoding="utf-8")
    report = update_index(seeded_index, [])
    assert (report.added, report.updated, report.total) == (0, 1, 2)


def test_touched_but_identical_file_counts_as_unchanged(seeded_index, seeds_copy):
    wire = seeds_copy / WIRE_SEED
    stat = wire.stat()
    os.utime(wire, ns=(stat.st_atime_ns, stat.st_mtime_ns + 5_000_000_000))
    report = update_index(seeded_index, [])
    assert (report.updated, report.unchanged) == (0, 2)


def test_deleted_file_is_removed(seeded_index, seeds_copy):
    (seeds_copy / WEB_SEED).unlink()
    report = update_index(seeded_index, [])
    assert (report.removed, report.total) == (1, 1)
    assert set(stored_documents(seeded_index)) == {WIRE_SEED}


def test_unreadable_files_are_skipped_and_the_rest_indexed(seeds_copy, index_dir):
    (seeds_copy / "empty.txt").write_bytes(b"")
    (seeds_copy / "image.jpg").write_bytes(b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" * 50)
    report = update_index(index_dir, [str(seeds_copy)])
    assert report.added == 2
    assert sorted(Path(path).name for path, _ in report.skipped) == ["empty.txt", "image.jpg"]
    assert all(reason for _, reason in report.skipped)


def test_files_in_subfolders_are_found_and_hidden_ones_ignored(tmp_path, index_dir, seeds_copy):
    nested = seeds_copy / "2021" / "december"
    nested.mkdir(parents=True)
    (seeds_copy / WIRE_SEED).rename(nested / WIRE_SEED)
    (seeds_copy / ".hidden").mkdir()
    (seeds_copy / ".hidden" / "x.txt").write_text("date 2021-01-01 hidden article", encoding="utf-8")
    update_index(index_dir, [str(seeds_copy)])
    assert set(stored_documents(index_dir)) == {f"2021/december/{WIRE_SEED}", WEB_SEED}


def test_index_remembers_its_folders(tmp_path, index_dir, seeds_copy):
    other = tmp_path / "other"
    other.mkdir()
    (other / "a.txt").write_text(" date 2020-05-01 PARIS, May 1. /AFP/. Paris news.", encoding="utf-8")
    update_index(index_dir, [str(seeds_copy)])
    update_index(index_dir, [str(other)])
    assert read_roots(index_dir) == sorted([str(seeds_copy.resolve()), str(other.resolve())])
    report = update_index(index_dir, [])
    assert (report.unchanged, report.total) == (3, 3)


def test_new_index_without_folder_uses_seeds_in_current_folder(tmp_path, index_dir, seeds_copy):
    report = update_index(index_dir, [], cwd=seeds_copy.parent)
    assert report.roots == [str(seeds_copy.resolve())]
    assert report.total == 2


def test_new_index_without_folder_or_seeds_is_a_clear_error(tmp_path, index_dir):
    with pytest.raises(ArchsearchError, match="no folder to index"):
        update_index(index_dir, [], cwd=tmp_path)


def test_missing_folder_is_a_clear_error(tmp_path, index_dir):
    with pytest.raises(ArchsearchError, match="no such folder"):
        update_index(index_dir, [str(tmp_path / "nope")])


def test_refuses_to_create_an_index_in_a_folder_of_other_files(tmp_path, seeds_copy):
    with pytest.raises(ArchsearchError, match="not empty"):
        update_index(seeds_copy, [str(seeds_copy)])
    assert sorted(p.name for p in seeds_copy.iterdir()) == [WIRE_SEED, WEB_SEED]


def test_searching_without_an_index_is_a_clear_error(tmp_path):
    with pytest.raises(ArchsearchError, match="no index at"):
        open_index(tmp_path / "missing")
