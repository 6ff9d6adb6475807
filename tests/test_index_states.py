"""Property: whatever happens to the files and however runs of `index` end (killed at any commit,
or rebuilding), every completed run leaves the index a fresh build of the same files would
make, and read commands answer at every moment in between."""

import os
import shutil
import tempfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from archsearch import indexing, manifest
from archsearch.engines.whoosh import segments
from archsearch.cli import cli
from archsearch.indexing import update_index
from conftest import wire
from test_copy_groups import copy_partition
from test_indexing import index_state

NAMES = ["a.txt", "b.txt", "c.txt", "sub/d.txt", "sub/e.txt", "sub/deeper/f.txt"]
WORDS = ["walrus", "harbour", "fjord", "ferry", "glacier"]
READ_COMMANDS = [["query", "harbour"], ["query", "--sort", "newest", "walrus OR fjord"], ["stats"],
                 ["timeline", "harbour"], ["sources", "fjord"]]


class Killed(BaseException):
    """A kill: not an Exception, so that nothing handles it as a failure (a kill runs no cleanup)."""


# Where a run can be killed: (owner, attribute, whether the call itself happens first).
KILL_POINTS = [
    (segments, "commit_segments", False),
    (segments, "commit_segments", True),
    (segments.FastSegmentWriter, "finish_segment", True),
    (manifest.Manifest, "record", False),
    (indexing, "write_roots", True),
    (segments, "publish_segments", True),
    (manifest, "install", False),
    (manifest, "install", True),
]


def article(number: int, word: str) -> str:
    # Articles about the same word are near-identical copies: the groups of copies must follow too.
    story = " ".join(f"{word}{n} news{n % 7}" for n in range(30))
    return wire(f"2021-0{number % 9 + 1}-1{number % 9}", "OSLO, March 1. /NTB/.",
                f"Article {number} about the {word}, with harbour news and more words. {story}")


class IndexRuns(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.base = Path(tempfile.mkdtemp(prefix="archsearch-states-"))
        self.corpus = self.base / "corpus"
        self.corpus.mkdir()
        self.index_dir = self.base / "index"
        self.files: dict[str, str] = {}
        self.counter = 0
        self.up_to_date = False  # the last step was a run that completed
        self.ran = False

    def teardown(self):
        shutil.rmtree(self.base, ignore_errors=True)

    def write(self, name: str, word: str) -> None:
        self.counter += 1
        path = self.corpus / name
        path.parent.mkdir(parents=True, exist_ok=True)
        text = article(self.counter, word)
        path.write_text(text, encoding="utf-8")
        self.files[name] = text
        self.up_to_date = False

    @rule(name=st.sampled_from(NAMES), word=st.sampled_from(WORDS))
    def add_or_change(self, name, word):
        self.write(name, word)

    @precondition(lambda self: self.files)
    @rule(data=st.data())
    def delete(self, data):
        name = data.draw(st.sampled_from(sorted(self.files)))
        (self.corpus / name).unlink()
        del self.files[name]
        self.up_to_date = False

    @precondition(lambda self: self.files)
    @rule(data=st.data(), change=st.booleans())
    def rewrite_in_the_same_second(self, data, change):
        """A file touched, or changed to as many bytes, with a modification time in the same second
        as before: only its content (or the nanoseconds) tells."""
        name = data.draw(st.sampled_from(sorted(self.files)))
        path = self.corpus / name
        before = path.stat()
        if change:
            text = self.files[name]
            text = text.replace("more words", "more wards") if "more words" in text else text.replace("more wards", "more words")
            path.write_text(text, encoding="utf-8")
            self.files[name] = text
        second, nanoseconds = divmod(before.st_mtime_ns, 10**9)
        os.utime(path, ns=(before.st_atime_ns, second * 10**9 + (nanoseconds + 1) % 10**9))
        self.up_to_date = False

    @precondition(lambda self: self.files and len(self.files) < len(NAMES))
    @rule(data=st.data())
    def rename(self, data):
        old = data.draw(st.sampled_from(sorted(self.files)))
        new = data.draw(st.sampled_from(sorted(set(NAMES) - set(self.files))))
        (self.corpus / new).parent.mkdir(parents=True, exist_ok=True)
        (self.corpus / old).rename(self.corpus / new)
        self.files[new] = self.files.pop(old)
        self.up_to_date = False

    @rule(rebuild=st.booleans(), commit_every=st.integers(1, 4),
          kill=st.sampled_from([None, None] + KILL_POINTS), calls=st.integers(1, 2))
    def run_index(self, rebuild, commit_every, kill, calls):
        folders = [] if self.ran else [str(self.corpus)]
        if kill is None:
            update_index(self.index_dir, folders, rebuild=rebuild, commit_every=commit_every)
            self.up_to_date = self.ran = True
            return
        owner, attribute, after = kill
        real = getattr(owner, attribute)
        seen = []

        def killing(*args, **kwargs):
            seen.append(1)
            if len(seen) < calls:
                return real(*args, **kwargs)
            if after:
                real(*args, **kwargs)
            raise Killed

        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(owner, attribute, killing)
            try:
                update_index(self.index_dir, folders, rebuild=rebuild, commit_every=commit_every)
                self.up_to_date = True
            except Killed:
                self.up_to_date = False
        self.ran = self.ran or (self.index_dir / "archsearch.json").exists()

    @invariant()
    def a_completed_run_leaves_what_a_fresh_build_makes(self):
        if not self.up_to_date:
            return
        fresh = self.base / "fresh"
        shutil.rmtree(fresh, ignore_errors=True)
        update_index(fresh, [str(self.corpus)])
        assert index_state(self.index_dir) == index_state(fresh)
        assert copy_partition(self.index_dir) == copy_partition(fresh)
        assert {Path(key).relative_to(self.corpus).as_posix() for key in index_state(self.index_dir)} == set(self.files)

    @invariant()
    def every_state_holds_each_file_once_and_read_commands_answer(self):
        if not indexing.has_index(self.index_dir):
            return
        state = index_state(self.index_dir, recorded=False)  # checks that no file is indexed twice
        assert {Path(key).relative_to(self.corpus).as_posix() for key in state} <= set(NAMES)
        assert_read_commands_answer(self.index_dir)


def assert_read_commands_answer(index_dir):
    for command in READ_COMMANDS:
        result = CliRunner().invoke(cli, [*command, "--index", str(index_dir)])
        failure = result.exception if not isinstance(result.exception, SystemExit) else None
        assert result.exit_code in (0, 1) and failure is None, (command, result.output, repr(failure))


IndexRuns.TestCase.settings = settings(
    max_examples=10, stateful_step_count=12, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
test_index_runs = IndexRuns.TestCase


def test_reads_of_an_index_with_no_segment_answer(tmp_path):
    (tmp_path / "corpus").mkdir()
    update_index(tmp_path / "index", [str(tmp_path / "corpus")])
    assert_read_commands_answer(tmp_path / "index")
