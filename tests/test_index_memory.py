"""What indexing keeps in memory (issue 15: peak memory at 1M under 1 GiB): measured in bench/
(index_memory.py), checked here by what the code holds and when, never by timing or RSS."""

import multiprocessing

import pytest

from archsearch.engines.whoosh import postings_arrays
from archsearch.engines.whoosh.segments import encode_positions
from archsearch import indexing
from archsearch.indexing import Run, update_index
from archsearch.schema import build_schema
from conftest import wire, write_corpus


class FakeSegment:
    def segment_id(self):
        return "MAIN_fake"

    def make_filename(self, extension):
        return self.segment_id() + extension


def test_a_sidecar_writer_remembers_only_single_positions(tmp_path):
    # A segment's frequent terms hold millions of distinct positions: kept, they were 70 MiB of
    # a worker's memory at 10,000 articles, while the single positions are what recurs.
    writer = postings_arrays.SidecarWriter(str(tmp_path), FakeSegment(), build_schema())
    positions = [[3], [1, 4, 8], [2], [0, 7], [3]]
    writer.add("body", b"word", [0, 1, 2, 3, 4], [1.0, 3.0, 1.0, 2.0, 1.0], list(map(encode_positions, positions)))
    writer.add("body", b"other", [5, 6], [2.0, 1.0], [encode_positions([1, 4, 8]), encode_positions([2])])
    assert sorted(map(postings_arrays.decode_positions, writer._decoded)) == [[2], [3]]
    writer.finish(10)


def articles(count: int) -> dict[str, str]:
    return {
        f"{number // 40:03d}/article{number:05d}.txt": wire(
            "2021-03-01", "OSLO, March 1. /NTB/.", f"Report {number} mentions zebra{number} and the harbour."
        )
        for number in range(count)
    }


@pytest.mark.parametrize("fresh_from, peak, fresh_workers, overlapped", [
    (100, 2**62, True, True),
    (100, 0, True, False),
    (101, 2**62, False, False),
], ids=["large batches", "large batches, commits taking much memory", "small batches"])
def test_the_workers_of_large_batches_end_before_each_commit(tmp_path, index_dir, monkeypatch, fresh_from, peak,
                                                             fresh_workers, overlapped):
    # A commit (its copy groups) is the run's largest need for memory: the workers, which keep
    # what they took once they have written their segment, are not left holding it beside it;
    # the next batch's start meanwhile, holding no segment yet, unless this process's commits
    # took so much memory that theirs beside it would matter; batches too small for a worker's
    # start to be worth it keep their workers for the run.
    corpus = write_corpus(tmp_path / "corpus", articles(600))
    batch_workers = []  # the workers' pids of each batch
    alive_at_commit = []
    run_batch, whole_commit = indexing.WorkerPool.run_batch, Run._commit

    def run(pool, *args):
        batch_workers.append({process.pid for process in pool._processes})
        return run_batch(pool, *args)

    def commit(self, *args, **options):
        alive_at_commit.append({process.pid for process in multiprocessing.active_children()})
        return whole_commit(self, *args, **options)

    monkeypatch.setattr(indexing.WorkerPool, "run_batch", run)
    monkeypatch.setattr(Run, "_commit", commit)
    monkeypatch.setattr(indexing, "MIN_FILES_PER_FRESH_WORKER", fresh_from)
    monkeypatch.setattr(indexing, "OVERLAPPED_COMMITS_BELOW_PEAK", peak)
    report = update_index(index_dir, [str(corpus)], jobs=2, commit_every=200)  # 100 files a worker
    assert report.added == 600
    assert len(batch_workers) == 3 and all(len(pids) == 2 for pids in batch_workers)
    if overlapped:
        assert len(set.union(*batch_workers)) == 6
        # At each commit, the next batch's workers alone (none after the last).
        assert alive_at_commit == [batch_workers[1], batch_workers[2], set()]
    elif fresh_workers:
        assert len(set.union(*batch_workers)) == 6
        assert alive_at_commit == [set()] * 3
    else:
        assert batch_workers[0] == batch_workers[1] == batch_workers[2]
        assert alive_at_commit == [batch_workers[0]] * 3


def test_the_memory_bench_adds_to_a_copy_of_an_index_and_leaves_it_whole(tmp_path, index_dir):
    """bench/index_memory.py on a small index: a smoke test of the harness, not a measurement."""
    import json
    import subprocess
    import sys

    from conftest import REPO

    first, extra = tmp_path / "first", tmp_path / "extra"
    write_corpus(first, articles(3))
    write_corpus(extra, {"new.txt": wire("2021-03-02", "OSLO, March 2. /NTB/.", "A report on zebra999 alone.")})
    update_index(index_dir, [str(first)])
    work = tmp_path / "work"
    work.mkdir()
    finished = subprocess.run(
        [sys.executable, str(REPO / "bench" / "index_memory.py"), str(first), str(extra), "--code", "installed",
         "--source-index", str(index_dir), "--prepare", str(first), "--work", str(work), "--jobs", "1"],
        capture_output=True, text=True, check=True, timeout=300,
    )
    result = json.loads(finished.stdout)
    assert result["status"] == 0 and result["segments"] >= 1 and len(result["groups_sha256"]) == 64
    assert result["tree_peak_rss_mib"] > 0 and result["tree_cpu_s"] > 0
    assert list(work.iterdir()) == []  # the copy is removed
    assert update_index(index_dir, [str(first)]).unchanged == 3  # the source index is untouched


def test_the_memory_bench_compacts_a_copy_of_an_index_and_leaves_it_whole(tmp_path, index_dir):
    """bench/index_memory.py --compact: a smoke test of the harness, not a measurement."""
    import json
    import subprocess
    import sys

    from conftest import REPO

    first, second = tmp_path / "first", tmp_path / "second"
    write_corpus(first, articles(3))
    write_corpus(second, {"new.txt": wire("2021-03-02", "OSLO, March 2. /NTB/.", "A report on zebra999 alone.")})
    update_index(index_dir, [str(first)])
    update_index(index_dir, [str(first), str(second)])  # a second segment
    work = tmp_path / "work"
    work.mkdir()
    finished = subprocess.run(
        [sys.executable, str(REPO / "bench" / "index_memory.py"), "--compact", "--code", "installed",
         "--source-index", str(index_dir), "--work", str(work)],
        capture_output=True, text=True, check=True, timeout=300,
    )
    result = json.loads(finished.stdout)
    # the measured run is the one that compacts (an unmeasured first run compacted, leaving it nothing)
    assert result["status"] == 0 and (result["segments_before"], result["segments"]) == (2, 1)
    assert result["tree_peak_rss_mib"] > 0 and result["tree_cpu_s"] > 0
    assert list(work.iterdir()) == []  # the copy is removed
    assert update_index(index_dir, [str(first), str(second)]).unchanged == 4  # the source index is untouched
