"""`archsearch index --compact`: the index merged into one segment answers exactly as before."""

import errno
import os
import shutil

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import rule
from whoosh.index import TOC

from archsearch import indexing
from archsearch.engines.whoosh import segments
from archsearch.engines.whoosh.store import INDEX_NAME, open_index
from archsearch.errors import ArchsearchError
from archsearch.indexing import update_index
from archsearch.records import replace
from archsearch.searching import search
from conftest import wire, write_corpus
from test_copy_groups import copy_partition
from test_index_states import IndexRuns
from test_indexing import index_state, numbered_articles

QUERIES = ["harbour3", "zebra7 OR fjord2", '"report number"', "topic3 fjord5", "harbour1*"]
CLI_QUERIES = [["query", "harbour3"], ["query", "-n", "30", "zebra7 OR fjord2 OR topic1"],
               ["query", "--sort", "newest", "fjord4"], ["query", '"talks about"'], ["timeline", "topic2"],
               ["sources", "harbour2"], ["kwic", "zebra11"]]


def index_segments(index_dir) -> list:
    return TOC.read(open_index(index_dir).storage, INDEX_NAME).segments


def segment_count(index_dir) -> int:
    return len(index_segments(index_dir))


def generation(index_dir) -> int:
    return open_index(index_dir).latest_generation()


def library_answers(index_dir) -> list:
    return [
        replace(search(index_dir, query, limit=50, collapse_copies=collapse), elapsed=0)
        for query in QUERIES
        for collapse in (True, False)
    ]


def engine_files(index_dir) -> list[str]:
    """The index's own files (not the record's, which SQLite may open and close)."""
    return sorted(name for name in os.listdir(index_dir) if name.startswith((INDEX_NAME, f"_{INDEX_NAME}")))


def scores(index_dir) -> list:
    """Each query's articles and their scores, all of them (a page's ties depend on the order)."""
    return [sorted((hit.id, hit.score) for hit in search(index_dir, query, limit=500, collapse_copies=False).hits)
            for query in QUERIES]


def cli_answers(run_cli) -> list[str]:
    outputs = []
    for command in CLI_QUERIES:
        result = run_cli(*command)
        assert result.exit_code == 0, result.output
        outputs.append(result.output)
    return outputs


class Workplace:
    """Where each test of the module finds its corpus and builds its index: the same folder for
    every test of a process, emptied before each, so that an index built there by one test, kept
    aside and copied back for another (build_in_segments), is the index that test would build (an
    index records its folders' absolute paths, and each file's size and modification time, which
    copies keep)."""

    def __init__(self, base):
        self.folder = base / "work"
        self.kept = base / "kept"
        self.kept.mkdir()

    def prepare(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)
        kept_corpus = self.kept / "corpus"
        if not kept_corpus.exists():
            articles = numbered_articles(60)
            write_corpus(kept_corpus / "main", articles)
            write_corpus(kept_corpus / "copies", {name: text for name, text in list(articles.items())[::7]})
            write_corpus(kept_corpus / "long", long_articles())
        shutil.copytree(kept_corpus, self.folder / "corpus")


@pytest.fixture(scope="module")
def workplace(tmp_path_factory):
    return Workplace(tmp_path_factory.mktemp("compact"))


@pytest.fixture
def corpus(workplace):
    """Articles, and copies of some of them in a second folder (groups of copies); the test's own."""
    workplace.prepare()
    return workplace.folder / "corpus"


@pytest.fixture
def index_dir(workplace, corpus):
    return workplace.folder / "index"


def long_articles() -> dict[str, str]:
    """Articles of 300 to 1,000 words: a segment keeps such lengths rounded (length_to_byte)."""
    return {
        f"long{number}.txt": wire("2021-05-05", "OSLO, March 1. /NTB/.",
                                  f"Long report {number} on harbour3 and fjord2. " + " ".join(f"filler{n % 50}" for n in range(300 + 77 * number)))
        for number in range(10)
    }


def build_in_segments(corpus, index_dir) -> None:
    """The corpus indexed with a commit every 5 files: built once a process for each setting of the
    merges (as tests set it), and copied for the tests after (see Workplace, whose index_dir this is)."""
    kept = index_dir.parent.parent / "kept" / f"index-{segments.MERGE_FACTOR}-{segments.MERGE_BOUND}"
    if kept.exists():
        shutil.copytree(kept, index_dir)
    else:
        update_index(index_dir, [str(corpus)], commit_every=5)
        shutil.copytree(index_dir, kept)
    assert segment_count(index_dir) > 1


def test_compaction_makes_one_segment_that_answers_exactly_as_before(corpus, index_dir, run_cli):
    build_in_segments(corpus, index_dir)
    before_library, before_cli = library_answers(index_dir), cli_answers(run_cli)
    segments_before = segment_count(index_dir)
    assert any(result.hits and any(hit.copies for hit in result.hits) for result in before_library)

    report = update_index(index_dir, [], compact=True)

    assert report.compacted == (segments_before, 1, True)
    assert (report.scanned, report.total) == (False, 60 + 9 + 10)
    assert segment_count(index_dir) == 1
    assert library_answers(index_dir) == before_library
    assert cli_answers(run_cli) == before_cli
    # the record of indexed files followed the new generation: the next run has nothing to do
    assert update_index(index_dir, []).unchanged == 79
    index_state(index_dir)


def test_compacting_an_index_with_deletions_leaves_what_a_fresh_build_makes(corpus, index_dir, tmp_path, run_cli,
                                                                           monkeypatch):
    monkeypatch.setattr(segments, "MERGE_FACTOR", 100)  # no tier merge drops the deleted articles first
    build_in_segments(corpus, index_dir)
    for name in ["main/000/article00003.txt", "main/001/article00041.txt", "copies/000/article00014.txt"]:
        os.remove(corpus / name)
    update_index(index_dir, [], commit_every=5)
    assert any(segment.has_deletions() for segment in index_segments(index_dir))

    update_index(index_dir, [], compact=True)

    fresh = tmp_path / "fresh"
    update_index(fresh, [str(corpus)])
    assert segment_count(index_dir) == segment_count(fresh) == 1
    assert library_answers(index_dir) == library_answers(fresh)
    compacted_cli = cli_answers(run_cli)
    os.environ["ARCHSEARCH_INDEX"] = str(fresh)  # run_cli's monkeypatch restores it
    assert cli_answers(run_cli) == compacted_cli
    assert copy_partition(index_dir) == copy_partition(fresh)


def test_compacting_one_segment_again_does_nothing(corpus, index_dir, run_cli):
    build_in_segments(corpus, index_dir)
    update_index(index_dir, [], compact=True)
    files = engine_files(index_dir)
    kept = generation(index_dir)

    report = update_index(index_dir, [], compact=True)

    assert report.compacted == (1, 1, False)
    assert (generation(index_dir), engine_files(index_dir)) == (kept, files)
    result = run_cli("index", "--compact")
    assert (result.exit_code, result.output) == (0, "compacted: nothing to do (1 segment); 79 articles in the index\n")


def test_articles_added_after_a_compaction_are_compacted_by_the_next(corpus, index_dir, tmp_path):
    build_in_segments(corpus, index_dir)
    update_index(index_dir, [], compact=True)
    write_corpus(corpus / "later", numbered_articles(20, start=100))

    report = update_index(index_dir, [str(corpus)], commit_every=5, compact=True)

    assert (report.added, report.scanned, report.compacted[1:]) == (20, True, (1, True))
    assert report.compacted[0] > 1
    fresh = tmp_path / "fresh"
    update_index(fresh, [str(corpus)])
    # the same articles, scores to the bit, but numbered in another order (ties fall otherwise)
    assert scores(index_dir) == scores(fresh)
    assert index_state(index_dir) == index_state(fresh)


class Failure(OSError):
    pass


@pytest.mark.parametrize("stop", [False, True])
def test_a_failed_or_stopped_compaction_leaves_the_old_index_answering(corpus, index_dir, run_cli, monkeypatch, stop):
    build_in_segments(corpus, index_dir)
    before_library, before_cli = library_answers(index_dir), cli_answers(run_cli)
    files, kept = engine_files(index_dir), generation(index_dir)
    real = segments.FastSegmentWriter.add_reader
    merged = []
    stop_requested = lambda: len(merged) >= 1  # noqa: E731

    def failing(writer, reader):
        real(writer, reader)
        merged.append(reader)
        if len(merged) == 1 and not stop:
            raise Failure(28, "No space left on device")

    monkeypatch.setattr(segments.FastSegmentWriter, "add_reader", failing)
    if stop:
        report = update_index(index_dir, [], compact=True, should_stop=stop_requested)
        assert report.interrupted and report.compacted is None
    else:
        with pytest.raises(ArchsearchError, match="no space left on device"):
            update_index(index_dir, [], compact=True)
    assert len(merged) == 1
    assert generation(index_dir) == kept
    assert engine_files(index_dir) == files  # nothing left behind
    assert library_answers(index_dir) == before_library
    assert cli_answers(run_cli) == before_cli
    monkeypatch.undo()
    assert update_index(index_dir, [], compact=True).compacted[1:] == (1, True)


def test_a_stop_requested_while_the_merged_postings_are_read_stops_the_compaction(corpus, index_dir, monkeypatch):
    """Merging reads the postings as the merged segment is written, most of its time: a Ctrl-C
    asked only between segments waited for the whole compaction, then exited 0 (the review of
    wt-compactmem: 18 s after the Ctrl-C on a 4k index)."""
    build_in_segments(corpus, index_dir)
    files, kept = engine_files(index_dir), generation(index_dir)
    reading = []
    real = segments.decode_term_postings

    def noted(*args):
        reading.append(True)
        return real(*args)

    monkeypatch.setattr(segments, "decode_term_postings", noted)
    report = update_index(index_dir, [], compact=True, should_stop=lambda: bool(reading))
    assert reading and report.interrupted and report.compacted is None
    assert generation(index_dir) == kept and engine_files(index_dir) == files


class OpenSegments:
    """The most segments open at once (each holds its file open), through segments.SegmentReader."""

    def __init__(self, monkeypatch):
        self.open = self.most = 0
        counter = self

        class Counted(segments.SegmentReader):
            def __init__(self, *args, **kwargs):
                super().__init__(*args, **kwargs)
                self.counted = True
                counter.open += 1
                counter.most = max(counter.most, counter.open)

            def close(self):
                if self.counted:
                    self.counted = False
                    counter.open -= 1
                super().close()

        monkeypatch.setattr(segments, "SegmentReader", Counted)


class Commits:
    """The generations committed (segments.commit_segments), one per pass of a compaction."""

    def __init__(self, monkeypatch):
        self.generations = []
        real = segments.commit_segments

        def counted(*args, **kwargs):
            self.generations.append(real(*args, **kwargs))
            return self.generations[-1]

        monkeypatch.setattr(segments, "commit_segments", counted)


def remove_and_replace(corpus) -> None:
    """Articles deleted, and one replaced by another text (deleted, and added anew)."""
    for name in ["main/000/article00003.txt", "main/001/article00041.txt", "copies/000/article00014.txt"]:
        os.remove(corpus / name)
    replaced = corpus / "main/001/article00052.txt"
    replaced.write_text(replaced.read_text(encoding="utf-8") + " Walruses near harbour3.", encoding="utf-8")


def test_a_compaction_of_more_segments_than_the_bound_merges_in_passes_into_what_a_fresh_build_makes(
        corpus, index_dir, tmp_path, run_cli, monkeypatch):
    """Merging opens every segment it merges (a file each): about 750 of them ran out of file
    handles at the default limit of 1,024.  Past MERGE_BOUND, a compaction merges in passes."""
    monkeypatch.setattr(segments, "MERGE_FACTOR", 100)  # no tier merge
    build_in_segments(corpus, index_dir)
    for name in ["main/000/article00003.txt", "main/001/article00041.txt", "copies/000/article00014.txt"]:
        os.remove(corpus / name)
    update_index(index_dir, [], commit_every=5)
    before, kept = segment_count(index_dir), generation(index_dir)
    assert before > 12 and any(segment.has_deletions() for segment in index_segments(index_dir))
    monkeypatch.setattr(segments, "MERGE_BOUND", 3)
    opened, commits = OpenSegments(monkeypatch), Commits(monkeypatch)

    report = update_index(index_dir, [], compact=True)

    assert report.compacted == (before, 1, True) and not report.interrupted
    assert opened.most == 3
    # 3 into 1 at each pass: two segments fewer each, and the last pass
    assert commits.generations == list(range(kept + 1, kept + 1 + (before - 3 + 1) // 2 + 1))
    fresh = tmp_path / "fresh"
    update_index(fresh, [str(corpus)])
    assert library_answers(index_dir) == library_answers(fresh)
    assert copy_partition(index_dir) == copy_partition(fresh)
    compacted_cli = cli_answers(run_cli)
    os.environ["ARCHSEARCH_INDEX"] = str(fresh)  # run_cli's monkeypatch restores it
    assert cli_answers(run_cli) == compacted_cli
    # the record followed every pass: the next run reads nothing
    assert update_index(index_dir, []).unchanged == 76


def test_a_compaction_stopped_between_passes_keeps_them_and_the_next_finishes_it(corpus, index_dir, tmp_path,
                                                                                  run_cli, monkeypatch):
    monkeypatch.setattr(segments, "MERGE_FACTOR", 100)
    build_in_segments(corpus, index_dir)
    before_library, before_cli = library_answers(index_dir), cli_answers(run_cli)
    before = segment_count(index_dir)
    monkeypatch.setattr(segments, "MERGE_BOUND", 3)
    commits = Commits(monkeypatch)

    report = update_index(index_dir, [], compact=True, should_stop=lambda: len(commits.generations) == 2)

    assert report.interrupted and report.compacted == (before, before - 4, True)
    assert segment_count(index_dir) == before - 4
    assert library_answers(index_dir) == before_library and cli_answers(run_cli) == before_cli
    assert update_index(index_dir, []).unchanged == 79  # the record followed both passes
    # articles deleted and replaced between the passes, in segments merged and not
    remove_and_replace(corpus)
    update_index(index_dir, [], commit_every=5)
    assert any(segment.has_deletions() for segment in index_segments(index_dir))

    report = update_index(index_dir, [], compact=True)

    assert report.compacted[1:] == (1, True) and not report.interrupted
    fresh = tmp_path / "fresh"
    update_index(fresh, [str(corpus)])
    # the same articles, scores to the bit, but the replaced one numbered last
    assert scores(index_dir) == scores(fresh)
    assert index_state(index_dir) == index_state(fresh)
    assert copy_partition(index_dir) == copy_partition(fresh)


def test_a_compaction_stopped_in_a_later_pass_keeps_the_passes_before(corpus, index_dir, monkeypatch):
    monkeypatch.setattr(segments, "MERGE_FACTOR", 100)
    build_in_segments(corpus, index_dir)
    before = segment_count(index_dir)
    monkeypatch.setattr(segments, "MERGE_BOUND", 3)
    monkeypatch.setattr(segments, "STOP_CHECK_TERMS", 1)
    commits = Commits(monkeypatch)
    reading = []  # the passes committed when each term's postings were read
    real = segments.decode_term_postings

    def noted(*args):
        reading.append(len(commits.generations))
        return real(*args)

    monkeypatch.setattr(segments, "decode_term_postings", noted)
    report = update_index(index_dir, [], compact=True, should_stop=lambda: 1 in reading)

    assert report.interrupted and report.compacted == (before, before - 2, True)
    assert len(commits.generations) == 1 and segment_count(index_dir) == before - 2
    files = engine_files(index_dir)
    indexing.remove_unreferenced_files(str(index_dir))
    assert engine_files(index_dir) == files  # the stopped pass left nothing behind
    assert update_index(index_dir, [], compact=True).compacted == (before - 2, 1, True)


@pytest.mark.parametrize("kill_at", ["the second pass's segment", "the first pass's record"])
def test_a_compaction_killed_in_a_later_pass_leaves_the_index_whole_and_the_next_finishes_it(
        corpus, index_dir, tmp_path, monkeypatch, kill_at):
    from archsearch import manifest

    monkeypatch.setattr(segments, "MERGE_FACTOR", 100)
    build_in_segments(corpus, index_dir)
    before_library = library_answers(index_dir)
    monkeypatch.setattr(segments, "MERGE_BOUND", 3)
    with pytest.MonkeyPatch.context() as patch:
        if kill_at == "the second pass's segment":
            owner, name, calls = segments.FastSegmentWriter, "_finalize_segment", 2
        else:
            owner, name, calls = manifest.Manifest, "record", 1
        real = getattr(owner, name)
        seen = []

        def killing(*args, **kwargs):
            seen.append(1)
            if len(seen) == calls:
                raise Killed
            return real(*args, **kwargs)

        patch.setattr(owner, name, killing)
        with pytest.raises(Killed):
            update_index(index_dir, [], compact=True)
    assert library_answers(index_dir) == before_library

    assert update_index(index_dir, [], compact=True).compacted[1:] == (1, True)
    assert library_answers(index_dir) == before_library
    fresh = tmp_path / "fresh"
    update_index(fresh, [str(corpus)])
    assert library_answers(index_dir) == library_answers(fresh)
    assert update_index(index_dir, []).unchanged == 79  # the record is in step again (made anew if it was not)
    assert index_state(index_dir) == index_state(fresh)


def test_more_segments_due_for_a_tier_merge_than_the_bound_merge_in_commits_of_the_bound(corpus, index_dir, tmp_path,
                                                                                         monkeypatch):
    """A deletion in many small segments at once (here they were never merged) brings them all
    into a tier: they are merged MERGE_BOUND at a commit, in commits that follow the run's own."""
    monkeypatch.setattr(segments, "MERGE_FACTOR", 100)
    build_in_segments(corpus, index_dir)
    before = segment_count(index_dir)
    monkeypatch.setattr(segments, "MERGE_FACTOR", 4)
    monkeypatch.setattr(segments, "MERGE_BOUND", 3)
    opened, commits = OpenSegments(monkeypatch), Commits(monkeypatch)
    remove_and_replace(corpus)

    report = update_index(index_dir, [])

    assert (report.removed, report.updated) == (3, 1)
    assert opened.most == 3
    # the run's commit and the merges that followed it, each of 3 segments into one, until at most
    # 3 were due, then those at the next commit
    due = before + 1  # and the replaced article's new segment
    assert len(commits.generations) == (due - 3 + 1) // 2
    assert segment_count(index_dir) == due - 2 * len(commits.generations)
    fresh = tmp_path / "fresh"
    update_index(fresh, [str(corpus)])
    assert scores(index_dir) == scores(fresh)
    assert index_state(index_dir) == index_state(fresh)
    assert copy_partition(index_dir) == copy_partition(fresh)
    assert update_index(index_dir, []).unchanged == 76  # the record followed every commit


@pytest.mark.parametrize("number", [errno.ENOSPC, errno.EMFILE])
def test_a_compaction_out_of_room_or_file_handles_is_not_called_damage(corpus, index_dir, monkeypatch, number):
    """A disk full or too many open files (a merge holds each merged segment's file open) inside Whoosh's
    code was reported as damage naming --rebuild, though the index was whole (the review of wt-compactmem)."""
    from archsearch.engines.whoosh import store

    build_in_segments(corpus, index_dir)
    files = engine_files(index_dir)

    def out_of(writer, reader):
        raise OSError(number, os.strerror(number))

    monkeypatch.setattr(segments.FastSegmentWriter, "add_reader", out_of)
    monkeypatch.setattr(store, "_raised_by_whoosh", lambda exc: True)  # as from Whoosh's own files
    with pytest.raises(ArchsearchError) as raised:
        update_index(index_dir, [], compact=True)
    assert "damaged" not in str(raised.value) and os.strerror(number).lower() in str(raised.value).lower()
    assert engine_files(index_dir) == files


def test_compaction_waits_for_the_index_lock_like_any_run(corpus, index_dir, run_cli):
    build_in_segments(corpus, index_dir)
    with indexing.run_lock(index_dir, 0, lambda progress: None):
        result = run_cli("index", "--compact", "--wait", "0")
    assert result.exit_code == 2
    assert "is still updating" in result.output and "Traceback" not in result.output
    assert segment_count(index_dir) > 1


def test_compact_cli_says_what_it_did_and_nothing_with_quiet(corpus, index_dir, run_cli, tmp_path):
    build_in_segments(corpus, index_dir)
    shutil.copytree(index_dir, tmp_path / "copy")
    before = segment_count(index_dir)
    result = run_cli("index", "--compact")
    assert (result.exit_code, result.output) == (0, f"compacted: {before} segments -> 1; 79 articles in the index\n")
    result = run_cli("index", "--compact", "-q", "--index", str(tmp_path / "copy"))
    assert (result.exit_code, result.output, segment_count(tmp_path / "copy")) == (0, "", 1)


def test_compact_alone_needs_an_index_and_reads_no_default_folder(tmp_path, run_cli, monkeypatch):
    (tmp_path / "seeds").mkdir()
    monkeypatch.chdir(tmp_path)
    result = run_cli("index", "--compact", "--index", str(tmp_path / "none"))
    assert result.exit_code == 2
    assert result.output == f"archsearch: error: no index at {tmp_path / 'none'} to compact\n"
    assert not (tmp_path / "none").exists()


class IndexRunsWithCompactions(IndexRuns):
    """The runs of test_index_states, with compactions among them (killed at times), merging at
    most two segments at once: compactions and tier merges of several passes (killed in any)."""

    def __init__(self):
        super().__init__()
        self.patch = pytest.MonkeyPatch()
        self.patch.setattr(segments, "MERGE_BOUND", 2)

    def teardown(self):
        self.patch.undo()
        super().teardown()

    @rule(kill_in_pass=st.sampled_from([None, 1, 2, 3]))
    def compact(self, kill_in_pass):
        if not indexing.has_index(self.index_dir):  # --compact alone never makes one
            return
        with pytest.MonkeyPatch.context() as patch:
            if kill_in_pass:
                real = segments.FastSegmentWriter._finalize_segment
                passes = []

                def killing(writer):
                    passes.append(writer)
                    if len(passes) == kill_in_pass:
                        raise Killed
                    return real(writer)

                patch.setattr(segments.FastSegmentWriter, "_finalize_segment", killing)
            try:
                update_index(self.index_dir, [], compact=True)
            except Killed:
                return
        assert segment_count(self.index_dir) <= 1


class Killed(BaseException):
    pass


IndexRunsWithCompactions.TestCase.settings = settings(
    max_examples=10, stateful_step_count=12, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
test_index_runs_with_compactions = IndexRunsWithCompactions.TestCase
