"""What an index may hold and who may read it: index folders are private, links out of the
indexed folders are not followed, and a file is hashed only as far as it is read."""

import hashlib
import os
import stat
import tempfile
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from archsearch import indexing
from archsearch.indexing import update_index
from conftest import write_corpus
from test_indexing import index_state, numbered_articles


def test_a_new_index_folder_is_readable_by_its_owner_only(tmp_path, run_cli, index_dir):
    corpus = write_corpus(tmp_path / "corpus", numbered_articles(2))
    old_umask = os.umask(0o022)
    try:
        result = run_cli("index", str(corpus))
    finally:
        os.umask(old_umask)
    assert result.exit_code == 0
    assert stat.S_IMODE(index_dir.stat().st_mode) == 0o700
    assert f"archsearch: new index at {index_dir}\n" in result.stderr


def test_links_out_of_the_indexed_folders_are_skipped_naming_their_target(tmp_path, index_dir):
    secret = write_corpus(tmp_path / "secret", {"shadow.txt": " date 2021-01-01 OSLO, May 1. /NTB/. Secret words."})
    corpus = write_corpus(tmp_path / "corpus", numbered_articles(2))
    (corpus / "etc").symlink_to(secret)
    (corpus / "shadow.txt").symlink_to(secret / "shadow.txt")
    (corpus / "pagemap.txt").symlink_to("/proc/self/pagemap")
    inside = write_corpus(tmp_path / "corpus" / "real", {"a.txt": " date 2021-01-01 OSLO, May 1. /NTB/. Inside."})
    (corpus / "alias").symlink_to(inside)  # a link within the folder is followed (each folder once)
    report = update_index(index_dir, [str(corpus)])
    assert sorted(report.skipped) == [
        (str(corpus / "etc"), f"link to {secret.resolve()}, outside the indexed folders (not followed)"),
        (str(corpus / "pagemap.txt"), f"link to {os.path.realpath('/proc/self/pagemap')}, outside the indexed folders (not followed)"),
        (str(corpus / "shadow.txt"), f"link to {secret.resolve() / 'shadow.txt'}, outside the indexed folders (not followed)"),
    ]
    assert report.total == 3
    assert all("secret" not in key for key in index_state(index_dir))
    # Indexed as a folder of its own, the same files are found.
    assert update_index(index_dir, [str(secret)]).total == 4


def test_a_file_is_hashed_only_as_far_as_it_claims_to_hold(tmp_path, monkeypatch):
    monkeypatch.setattr(indexing, "READ_ONCE_BYTES", 100)
    path = tmp_path / "big.txt"
    path.write_bytes(b"a" * 1001 + b"b" * 5000)
    same_start = tmp_path / "other.txt"
    same_start.write_bytes(b"a" * 1001 + b"c" * 9000)
    # Claimed 1,000 bytes: the hash covers 1,001 (one more tells the file grew).
    assert indexing.file_sha256(str(path), 1000) == indexing.file_sha256(str(same_start), 1000)
    assert indexing.file_sha256(str(path), 6001)[0] == hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_file_without_end_is_hashed_in_bounded_time():
    # /proc/self/pagemap claims to be an empty regular file and never ends.
    sha256, data = indexing.file_sha256("/proc/self/pagemap", os.stat("/proc/self/pagemap").st_size)
    assert len(sha256) == 64
    assert len(data) <= indexing.READ_ONCE_BYTES + 1


def test_a_small_file_is_hashed_whole_and_kept_for_reading(tmp_path):
    path = tmp_path / "a.txt"
    path.write_bytes(b"words " * 100_000)
    sha256, data = indexing.file_sha256(str(path), path.stat().st_size)
    assert sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert data == path.read_bytes()


def test_a_small_file_that_grew_since_it_was_statted_is_read_as_far_as_any_small_file(tmp_path, monkeypatch):
    monkeypatch.setattr(indexing, "READ_ONCE_BYTES", 100)
    path = tmp_path / "grew.txt"
    path.write_bytes(bytes(range(250)))
    sha256, data = indexing.file_sha256(str(path), 10)
    assert data == bytes(range(101))
    assert sha256 == hashlib.sha256(data).hexdigest()


@given(length=st.integers(0, 40_000), claimed=st.integers(0, 40_000))
def test_a_file_is_hashed_as_far_as_its_claim_and_the_limit_say(length, claimed):
    """The bytes hashed (and kept) are the file's first claimed + 1 bytes when it claims more than
    READ_ONCE_BYTES, else its first READ_ONCE_BYTES + 1, whatever blocks they are read in."""
    content = bytes(range(256)) * (length // 256) + bytes(length % 256)
    once = 10_000
    with tempfile.NamedTemporaryFile() as file, pytest.MonkeyPatch.context() as patch:
        patch.setattr(indexing, "READ_ONCE_BYTES", once)
        file.write(content)
        file.flush()
        sha256, data = indexing.file_sha256(file.name, claimed)
    hashed = content[: claimed + 1] if claimed > once else content[: once + 1]
    assert sha256 == hashlib.sha256(hashed).hexdigest()
    assert data == (None if claimed > once else hashed)


@pytest.mark.parametrize("key, root", [
    ("/a/b/c.txt", "/a"), ("/a/b/c.txt", "/a/b"), ("/a//b/c.txt", "/a"), ("/a/./b", "/a"), ("/a/b/../c", "/a"),
    ("//a/b", "//a"), ("/a/b", "/"), ("/a/b/", "/a"), ("/a/b", "/a/"), ("/a/\udcff/x", "/a"), ("/a/b/c", "/a//"),
])
def test_a_relative_path_is_the_one_path_gives(key, root):
    assert indexing.relative_path(key, root) == Path(key).relative_to(root).as_posix()


def test_a_path_outside_the_root_is_refused_as_path_refuses_it():
    with pytest.raises(ValueError):
        indexing.relative_path("/ab/c", "/a")
