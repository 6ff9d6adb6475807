"""Saved searches as alerts: `query @name --new` across index runs, its state, and its errors."""

import errno
import json
import os
import shutil
import stat
import tempfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, precondition, rule

from archsearch import alerts
from archsearch.cli import cli
from archsearch.engines.whoosh.evaluation import Evaluator
from archsearch.indexing import update_index
from archsearch.querying import IndexedAfter
from archsearch.searching import search
from archsearch.engines.whoosh.store import index_searcher
from conftest import wire, write_corpus

FIRST = {
    "a.txt": wire("2021-08-15", "KABUL, August 15. /TASS/.", "Kabul security collapsed as the Taliban entered."),
    "b.txt": wire("2021-08-16", "KABUL, August 16. /TASS/.", "Security at Kabul airport was the concern of all."),
    "c.txt": wire("2021-08-16", "MOSCOW, August 16. /TASS/.", "The Kremlin spoke of grain exports to Egypt."),
}
LATER = {
    "d.txt": wire("2021-08-20", "KABUL, August 20. /TASS/.", "Kabul security forces searched houses at night."),
    "e.txt": wire("2021-08-20", "MOSCOW, August 20. /TASS/.", "Grain prices rose in Moscow markets."),
}


@pytest.fixture
def corpus(tmp_path):
    return write_corpus(tmp_path / "corpus", FIRST)


@pytest.fixture
def saved(tmp_path):
    """The user's config.toml with the saved search `kabul`."""
    path = tmp_path / "config" / "archsearch" / "config.toml"
    path.parent.mkdir(parents=True)
    path.write_text('[queries]\nkabul = "Kabul security"\ngrain = "grain --since 2021"\n', encoding="utf-8")
    return path


def run(*args):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def new_ids(index_dir, *options, name="kabul"):
    result = run("query", "--index", str(index_dir), "--json", f"@{name}", "--new", *options)
    assert result.exit_code in (0, 1), result.output
    return sorted(json.loads(line)["id"] for line in result.stdout.splitlines() if '"type": "hit"' in line)


def test_new_shows_each_matching_article_once_across_index_runs(corpus, index_dir, saved):
    update_index(index_dir, [str(corpus)])
    assert new_ids(index_dir) == ["a.txt", "b.txt"]  # never run: every match is new
    assert new_ids(index_dir) == []
    write_corpus(corpus, LATER)
    update_index(index_dir, [str(corpus)])
    assert new_ids(index_dir) == ["d.txt"]
    assert new_ids(index_dir) == []


def test_dry_run_shows_the_new_articles_without_marking_them_seen(corpus, index_dir, saved):
    update_index(index_dir, [str(corpus)])
    assert new_ids(index_dir, "--dry-run") == ["a.txt", "b.txt"]
    assert new_ids(index_dir, "--dry-run") == ["a.txt", "b.txt"]
    assert new_ids(index_dir) == ["a.txt", "b.txt"]
    write_corpus(corpus, LATER)
    update_index(index_dir, [str(corpus)])
    assert new_ids(index_dir, "--dry-run") == ["d.txt"]
    assert new_ids(index_dir) == ["d.txt"]


def test_a_changed_file_is_new_again_and_a_deleted_one_is_gone(corpus, index_dir, saved):
    update_index(index_dir, [str(corpus)])
    new_ids(index_dir)
    (corpus / "b.txt").write_text(FIRST["b.txt"] + " Checkpoints were added.", encoding="utf-8")
    (corpus / "a.txt").unlink()
    os.utime(corpus / "c.txt")  # touched, same content: not indexed again, so not new
    update_index(index_dir, [str(corpus)])
    assert new_ids(index_dir) == ["b.txt"]
    assert run("query", "--index", str(index_dir), "-c", "@kabul").stdout == "1\n"


def test_each_index_and_each_saved_search_keeps_its_own_state(corpus, tmp_path, saved):
    first, second = tmp_path / "first", tmp_path / "second"
    update_index(first, [str(corpus)])
    update_index(second, [str(corpus)])
    assert new_ids(first) == ["a.txt", "b.txt"]
    assert new_ids(second) == ["a.txt", "b.txt"]
    assert new_ids(first, name="grain") == ["c.txt"]
    write_corpus(corpus, LATER)
    update_index(first, [str(corpus)])
    assert new_ids(second) == []
    assert new_ids(first) == ["d.txt"]
    assert new_ids(first, name="grain") == ["e.txt"]


def test_new_works_with_count_paths_and_csv(corpus, index_dir, saved):
    update_index(index_dir, [str(corpus)])
    base = ("query", "--index", str(index_dir), "@kabul", "--new")
    assert run(*base, "-c", "--dry-run").stdout == "2\n"
    assert sorted(run(*base, "-l", "--dry-run").stdout.split()) == [str(corpus / "a.txt"), str(corpus / "b.txt")]
    csv = run(*base, "--format", "csv")
    assert csv.exit_code == 0 and len(csv.stdout.splitlines()) == 3  # header and two hits
    counted = run(*base, "-c")
    assert (counted.stdout, counted.exit_code) == ("0\n", 1)  # seen by the csv run


def test_new_shows_every_new_article_unless_a_limit_is_typed(corpus, index_dir, saved):
    update_index(index_dir, [str(corpus)])
    (saved.parent / "config.toml").write_text(
        saved.read_text(encoding="utf-8") + "\n[query]\nlimit = 1\n", encoding="utf-8"
    )
    assert new_ids(index_dir, "--dry-run") == ["a.txt", "b.txt"]  # the config's limit is a default
    assert len(new_ids(index_dir, "-n", "1")) == 1


def test_state_is_private_and_names_the_index_and_the_search(corpus, index_dir, saved, tmp_path):
    update_index(index_dir, [str(corpus)])
    new_ids(index_dir)
    path = alerts.state_file(index_dir, "kabul")
    assert path.parent == tmp_path / "state" / "archsearch"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    record = json.loads(path.read_text(encoding="utf-8"))
    assert (record["index"], record["search"]) == (str(index_dir.absolute()), "kabul")
    with index_searcher(index_dir) as searcher:
        assert record["seen"] == alerts.newest_stamp(searcher) > 0


def test_a_damaged_state_file_is_a_clear_error(corpus, index_dir, saved):
    update_index(index_dir, [str(corpus)])
    path = alerts.state_file(index_dir, "kabul")
    path.parent.mkdir(parents=True)
    path.write_text("{not json", encoding="utf-8")
    result = run("query", "--index", str(index_dir), "@kabul", "--new")
    assert result.exit_code == 2
    assert "cannot read what @kabul has seen" in result.stderr and str(path) in result.stderr


def test_state_that_cannot_be_written_is_an_error_after_the_output(corpus, index_dir, saved, monkeypatch):
    update_index(index_dir, [str(corpus)])

    def full_disk(path, record):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(alerts, "write_state", full_disk)
    result = run("query", "--index", str(index_dir), "@kabul", "--new", "-l")
    assert result.exit_code == 2
    assert "a.txt" in result.stdout
    assert "could not record this run of @kabul --new" in result.stderr
    assert "No space left on device" in result.stderr


def test_a_state_folder_that_cannot_be_read_is_a_clear_error(corpus, index_dir, saved, tmp_path):
    update_index(index_dir, [str(corpus)])
    (tmp_path / "state").write_text("a file where the state folder would be", encoding="utf-8")
    result = run("query", "--index", str(index_dir), "@kabul", "--new")
    assert result.exit_code == 2
    assert "cannot read what @kabul has seen" in result.stderr


@pytest.mark.parametrize(
    "args, message",
    [
        (["Kabul", "--new"], "--new runs one saved search and no other words"),
        (["@kabul", "Taliban", "--new"], "--new runs one saved search and no other words"),
        (["@kabul", "-Taliban", "--new"], "--new runs one saved search and no other words"),
        (["@kabul", "@grain", "--new"], "--new runs one saved search and no other words"),
        (["@kabul", "--dry-run"], "--dry-run only goes with --new"),
        (["@kabul", "--new", "--offset", "2"], "--offset does not go with --new"),
        (["@nope", "--new"], "no saved query 'nope'"),
    ],
)
def test_new_refuses_what_it_cannot_keep_state_for(corpus, index_dir, saved, args, message):
    update_index(index_dir, [str(corpus)])
    result = run("query", "--index", str(index_dir), *args)
    assert result.exit_code == 2
    assert message in result.stderr
    assert not alerts.state_file(index_dir, "kabul").exists()


def test_stamps_grow_with_the_commits_even_when_the_clock_goes_back(corpus, index_dir, monkeypatch):
    update_index(index_dir, [str(corpus)])
    with index_searcher(index_dir) as searcher:
        first = alerts.newest_stamp(searcher)
    monkeypatch.setattr(alerts.time, "time_ns", lambda: 1)
    write_corpus(corpus, LATER)
    update_index(index_dir, [str(corpus)])
    with index_searcher(index_dir) as searcher:
        assert alerts.newest_stamp(searcher) == first + 1
        documents = Evaluator(searcher).matching_documents(IndexedAfter(first))
        assert sorted(searcher.stored_fields(docnum)["path"] for docnum in documents) == ["d.txt", "e.txt"]


def test_the_new_filter_matches_as_whoosh_reads_it(corpus, index_dir):
    update_index(index_dir, [str(corpus)])
    with index_searcher(index_dir) as searcher:
        first = alerts.newest_stamp(searcher)
    write_corpus(corpus, LATER)
    update_index(index_dir, [str(corpus)], jobs=2, commit_every=1)
    with index_searcher(index_dir) as searcher:
        evaluator = Evaluator(searcher)
        for stamp in (0, first, alerts.newest_stamp(searcher)):
            ours = evaluator.matching_documents(IndexedAfter(stamp))
            assert set(ours) == evaluator.documents_whoosh_matches(IndexedAfter(stamp))
        assert len(evaluator.matching_documents(IndexedAfter(first))) == 2


def test_timeline_and_sources_take_the_saved_search(corpus, index_dir, saved):
    update_index(index_dir, [str(corpus)])
    timeline = run("timeline", "--index", str(index_dir), "--json", "@kabul")
    assert sum(json.loads(line).get("count", 0) for line in timeline.stdout.splitlines()) == 2
    sources = run("sources", "--index", str(index_dir), "--json", "@kabul")
    assert sources.exit_code == 0 and "TASS" in sources.stdout


def test_daily_pipeline_through_the_installed_command(corpus, index_dir, saved, run_installed):
    """`archsearch index && archsearch query @kabul --new --json`, as cron would run it each day."""
    quiet = {"ARCHSEARCH_SERVER": "off"}

    def day() -> tuple[int, list[dict]]:
        assert run_installed("index", str(corpus), env=quiet).returncode == 0
        result = run_installed("query", "@kabul", "--new", "--json", env=quiet)
        return result.returncode, [json.loads(line) for line in result.stdout.splitlines()]

    status, records = day()
    assert status == 0
    assert sorted(record["id"] for record in records if record["type"] == "hit") == ["a.txt", "b.txt"]
    assert records[-1]["type"] == "summary" and records[-1]["total"] == 2
    status, records = day()
    assert status == 1 and [record["type"] for record in records] == ["summary"]
    write_corpus(corpus, LATER)
    status, records = day()
    assert status == 0 and [record["id"] for record in records if record["type"] == "hit"] == ["d.txt"]


class AlertFeed(RuleBasedStateMachine):
    """Files come, change and go, the index runs, and the feed runs with and without --dry-run: each
    run shows exactly the matching articles indexed (added, or changed) since the last real run."""

    def __init__(self):
        super().__init__()
        self.folder = Path(tempfile.mkdtemp(prefix="alert-feed-"))
        self.corpus = self.folder / "corpus"
        self.corpus.mkdir()
        self.index_dir = self.folder / "index"
        self.environ = {"XDG_STATE_HOME": str(self.folder / "state")}
        self.files: dict[str, str] = {}  # what the folder holds
        self.indexed: dict[str, tuple[str, int]] = {}  # name -> (content, index run that indexed it)
        self.runs = 0
        self.seen = 0  # the index run the feed last saw (0: never ran)
        self.edits = 0

    def teardown(self):
        shutil.rmtree(self.folder, ignore_errors=True)

    def text(self, matching: bool) -> str:
        self.edits += 1
        words = "Kabul security patrols" if matching else "Grain exports from Odesa"
        return wire("2021-08-15", "KABUL, August 15. /TASS/.", f"{words}, edition {self.edits}.")

    @rule(name=st.sampled_from("abcdef"), matching=st.booleans())
    def write(self, name, matching):
        self.files[name] = self.text(matching)
        (self.corpus / f"{name}.txt").write_text(self.files[name], encoding="utf-8")

    @rule(name=st.sampled_from("abcdef"))
    def delete(self, name):
        if self.files.pop(name, None) is not None:
            (self.corpus / f"{name}.txt").unlink()

    @rule()
    def index(self):
        update_index(self.index_dir, [str(self.corpus)])
        self.runs += 1
        self.indexed = {
            name: self.indexed[name] if self.indexed.get(name, ("", 0))[0] == text else (text, self.runs)
            for name, text in self.files.items()
        }

    @precondition(lambda self: self.runs)
    @rule(dry_run=st.booleans())
    def feed(self, dry_run):
        result = search(
            self.index_dir, "Kabul security", limit=0, collapse_copies=False,
            indexed_after=alerts.last_seen(self.index_dir, "kabul", self.environ),
        )
        expected = {
            f"{name}.txt" for name, (text, run) in self.indexed.items() if "Kabul security" in text and run > self.seen
        }
        assert {hit.id for hit in result.hits} == expected
        if not dry_run:
            alerts.record_seen(self.index_dir, "kabul", result.newest_indexed, self.environ)
            self.seen = self.runs


TestAlertFeed = AlertFeed.TestCase
TestAlertFeed.settings = settings(max_examples=15, stateful_step_count=12, deadline=None)


def test_an_index_built_before_the_stamps_asks_for_a_rebuild(corpus, index_dir, saved):
    from whoosh.filedb.filestore import FileStorage
    from whoosh.index import TOC

    update_index(index_dir, [str(corpus)])
    storage = FileStorage(str(index_dir))
    toc = TOC.read(storage, "MAIN")
    toc.schema.remove(alerts.INDEXED_FIELD)  # the schema of an index built before `indexed`
    TOC(toc.schema, toc.segments, toc.generation + 1).write(storage, "MAIN")
    result = run("query", "--index", str(index_dir), "@kabul", "--new")
    assert result.exit_code == 2 and "run 'archsearch index --rebuild'" in result.stderr
    update_index(index_dir, [], rebuild=True)
    assert new_ids(index_dir) == ["a.txt", "b.txt"]
