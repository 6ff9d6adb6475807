"""A first `archsearch index` that makes no index (it fails, finds nothing it can index, or is
stopped before it commits an article) leaves nothing behind that later commands take for an
index: they say there is no index yet."""

from archsearch.cli import index as index_command
from archsearch.indexing import update_index
from conftest import write_corpus
from test_indexing import numbered_articles

NO_INDEX_YET = "run 'archsearch index FOLDER' first"


def test_a_first_run_given_a_folder_that_does_not_exist_leaves_no_folder(run_cli, index_dir, tmp_path):
    result = run_cli("index", str(tmp_path / "nowhere"))
    assert result.exit_code == 2
    assert not index_dir.exists()
    later = run_cli("query", "harbour")
    assert later.exit_code == 2 and NO_INDEX_YET in later.stderr


def test_a_first_run_that_can_index_nothing_leaves_no_index(run_cli, index_dir, tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "image.jpg").write_bytes(b"\x00" * 100)
    result = run_cli("index", str(corpus))
    assert result.exit_code == 2
    assert result.stderr.splitlines()[-2:] == [
        "added 0, updated 0, removed 0, unchanged 0, skipped 1",
        f"archsearch: error: none of the 1 files found could be indexed; no index was made at {index_dir}",
    ]
    assert not index_dir.exists()
    for command in (["stats"], ["query", "harbour"]):
        later = run_cli(*command)
        assert later.exit_code == 2 and NO_INDEX_YET in later.stderr
    # Nor does a later run go on reading the folder it was given first.
    (corpus / "image.jpg").unlink()
    write_corpus(tmp_path / "other", numbered_articles(2))
    assert run_cli("index", str(tmp_path / "other")).exit_code == 0
    assert run_cli("stats").stdout.count(str(corpus)) == 0


def test_an_empty_folder_made_for_the_index_is_left_as_it_was(run_cli, index_dir, tmp_path):
    index_dir.mkdir()
    (tmp_path / "corpus").mkdir()
    (tmp_path / "corpus" / "empty.txt").write_bytes(b"")
    assert run_cli("index", str(tmp_path / "corpus")).exit_code == 2
    assert index_dir.is_dir() and list(index_dir.iterdir()) == []


def test_a_first_run_stopped_before_it_indexed_an_article_leaves_no_index(tmp_path):
    corpus = write_corpus(tmp_path / "corpus", numbered_articles(3))
    report = update_index(tmp_path / "index", [str(corpus)], should_stop=lambda: True)
    assert report.interrupted and report.discarded and not report.created
    assert not (tmp_path / "index").exists()


def test_the_command_says_a_first_run_stopped_at_once_made_no_index(run_cli, index_dir, tmp_path, monkeypatch):
    monkeypatch.setattr(index_command.Interruption, "requested", lambda self: True)  # Ctrl-C at once
    result = run_cli("index", str(write_corpus(tmp_path / "corpus", numbered_articles(3))))
    assert result.exit_code == 130
    assert result.stderr.splitlines()[-1] == (
        f"archsearch: interrupted before any article was indexed; no index was made at {index_dir}"
    )
    assert not index_dir.exists()


def test_a_later_run_that_fails_keeps_the_index(run_cli, index_dir, tmp_path):
    corpus = write_corpus(tmp_path / "corpus", numbered_articles(3))
    assert run_cli("index", str(corpus)).exit_code == 0
    assert run_cli("index", str(tmp_path / "nowhere")).exit_code == 2
    junk = tmp_path / "junk"
    junk.mkdir()
    (junk / "image.jpg").write_bytes(b"\x00" * 100)
    result = run_cli("index", str(junk))
    assert result.exit_code == 2
    assert result.stderr.splitlines()[-1] == "archsearch: error: none of the 1 files found could be indexed"
    assert run_cli("stats").stdout.startswith("articles\t3\n")


def test_a_first_run_that_fails_as_it_commits_leaves_nothing_either(run_cli, index_dir, tmp_path, monkeypatch):
    """Failing there, it leaves Whoosh's folder for the segment it was writing (MAIN.tmp) too."""
    from archsearch.engines.whoosh import segments

    def full_disk(*args, **kwargs):
        assert any(path.is_dir() for path in index_dir.iterdir())  # the segment's folder
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(segments, "commit_segments", full_disk)
    result = run_cli("index", str(write_corpus(tmp_path / "corpus", numbered_articles(3))))
    assert result.exit_code == 2
    assert result.stderr == f"archsearch: error: cannot update the index at {index_dir}: no space left on device\n"
    assert not index_dir.exists()
