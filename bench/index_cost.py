#!/usr/bin/env python3
"""What building an index costs: wall time, CPU time (this process and its workers) and peak RSS.

    python bench/index_cost.py CORPUS [--jobs N] [--repeat K] [--code DIR ...] [--profile profile.html | --stages N]

Each repetition builds a new index of CORPUS in a temporary folder with `archsearch index`, in a
process of its own, so that CPU and peak RSS are that build's alone (peak RSS is the largest of
the indexing process and its workers; the tree's peak, their sum, is sampled every 0.25 s, more often in the first half second, as RSS and as PSS, which counts a page they share once).  On a shared machine compare CPU times, and interleave
the builds being compared: wall times follow the load.  `--code DIR` (repeatable) builds with the
`archsearch` package found in DIR as well (e.g. `git archive <commit> archsearch | tar -x -C DIR`),
each repetition building once with each code, in turn: before and after, measured under the same
load.  With --profile, one build runs under pyinstrument (`pip install pyinstrument`) and its
report is written as HTML or text by extension.

`--stages N` times the stages of indexing instead, in one process per code (in turn, as builds
are), over the first N files of CORPUS: CPU per file reading them (hash, format, parse), making
their documents (language, sketch, capitals; the sketches LANGUAGES_AT_ONCE at a time where the
code makes them so), adding them to a segment writer, and writing the segment (one segment of N
articles; the language model loaded beforehand, not timed).

A corpus whose folders are links (bench corpora of 20k are links into the 1m one) is indexed
through the folders the links lead to: `archsearch index` follows no link out of a folder it indexes.
"""

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# The code of the installed archsearch (this checkout's, with `pip install -e`).
INSTALLED = "installed"
# How often the process tree's memory is summed during a build.
TREE_SAMPLE_SECONDS = 0.25
FIRST_TREE_SAMPLE_SECONDS = 0.005


def corpus_folders(corpus: str) -> list[str]:
    """The folders to index for CORPUS: itself, or the folders its links to folders lead to."""
    entries = sorted(Path(corpus).iterdir())
    linked = [entry for entry in entries if entry.is_symlink() and entry.is_dir()]
    if linked and len(linked) == len(entries):
        return [os.path.realpath(entry) for entry in linked]
    return [os.path.abspath(corpus)]  # each build runs in its index's temporary folder


def count_files(folders: list[str]) -> int:
    return sum(len(files) for folder in folders for _, _, files in os.walk(folder, followlinks=True))


def build(folders: list[str], jobs: int, code: str, profile: str | None) -> dict:
    index = Path(tempfile.mkdtemp(prefix="archsearch-cost-")) / "index"
    command = [sys.executable, "-m", "archsearch", "index", "-q", "-j", str(jobs), "--index", str(index), *folders]
    if profile:
        renderer = "html" if profile.endswith(".html") else "text"
        command = [sys.executable, "-m", "pyinstrument", "-r", renderer, "-o", profile, *command[1:]]
    environment = dict(os.environ)
    if code != INSTALLED:
        environment["PYTHONPATH"] = os.path.abspath(code)
    # Run by a process of its own, whose children are this build's only: their peak RSS is its own;
    # in the index's folder, where no archsearch package comes before PYTHONPATH's.
    measured = subprocess.run([sys.executable, os.path.abspath(__file__), "--measure", json.dumps(command)],
                              check=True, capture_output=True, text=True, env=environment, cwd=index.parent)
    size = sum(path.stat().st_size for path in index.rglob("*") if path.is_file())
    shutil.rmtree(index.parent)
    return {"code": code, **json.loads(measured.stdout), "index_mib": round(size / 2**20, 1)}


def stages(folders: list[str], files: int, code: str) -> dict:
    environment = dict(os.environ)
    if code != INSTALLED:
        environment["PYTHONPATH"] = os.path.abspath(code)
    work = Path(tempfile.mkdtemp(prefix="archsearch-stages-"))
    try:
        measured = subprocess.run(
            [sys.executable, os.path.abspath(__file__), "--time-stages", json.dumps([folders, files, str(work)])],
            check=True, capture_output=True, text=True, env=environment, cwd=work,
        )
    finally:
        shutil.rmtree(work)
    return {"code": code, **json.loads(measured.stdout)}


def time_stages(folders: list[str], count: int, work: str) -> None:
    from archsearch.analysis import identify_language
    from archsearch.engines.whoosh.segments import new_segment_writer
    from archsearch.engines.whoosh.store import unmapped_storage
    from archsearch.formats import read_file
    from archsearch.indexing import LANGUAGES_AT_ONCE, Entry, article_document, create_index, file_sha256

    try:  # sketched many at once, as FileIndexer sketches the articles it has waiting (session 20)
        from archsearch.nearduplicates import sketches
    except ImportError:  # code before: each as its document is made
        sketches = None

    paths = sorted(os.path.join(top, name) for folder in folders for top, _, names in os.walk(folder) for name in names)
    paths = paths[:count]
    identify_language("the model is loaded before the stages are timed, once per process")
    index_dir = Path(work) / "index"
    index_dir.mkdir()
    create_index(index_dir)
    writer = new_segment_writer(unmapped_storage(index_dir).open_index())
    spent = {}
    started = time.process_time()
    read = []
    for path in paths:
        sha256, data = file_sha256(path, os.stat(path).st_size)
        read += [(path, article, sha256) for article in read_file(path, data)]
    spent["read"] = time.process_time() - started
    started = time.process_time()
    if sketches is None:
        documents = [article_document(path, os.path.dirname(path), article, Entry(os.path.dirname(path), 1, 2, sha256))
                     for path, article, sha256 in read]
    else:
        documents = [article_document(path, os.path.dirname(path), article, Entry(os.path.dirname(path), 1, 2, sha256),
                                      signature=()) for path, article, sha256 in read]
        for start in range(0, len(documents), LANGUAGES_AT_ONCE):
            batch = documents[start : start + LANGUAGES_AT_ONCE]
            for document, signature in zip(batch, sketches([document["body"] for document in batch])):
                document["sketch"] = signature
    spent["document"] = time.process_time() - started
    started = time.process_time()
    for document in documents:
        writer.add_document(**document, indexed=1)
    spent["add"] = time.process_time() - started
    started = time.process_time()
    writer.finish_segment()
    spent["write"] = time.process_time() - started
    spent["total"] = sum(spent.values())
    print(json.dumps({"files": len(paths), **{f"{stage}_ms_per_file": round(1000 * seconds / len(paths), 3)
                                              for stage, seconds in spent.items()}}))


def measure(command: list[str]) -> None:
    from run import tree_pss, tree_rss  # bench/run.py, beside this file

    started = time.perf_counter()
    process = subprocess.Popen(command)
    tree_peak = tree_pss_peak = 0
    interval = FIRST_TREE_SAMPLE_SECONDS
    while process.poll() is None:
        tree_peak = max(tree_peak, tree_rss(process.pid))
        tree_pss_peak = max(tree_pss_peak, tree_pss(process.pid))
        time.sleep(interval)
        # short at first, so that a build of a few files, over before a long interval, is still seen grown
        interval = min(2 * interval, TREE_SAMPLE_SECONDS)
    wall = time.perf_counter() - started
    if process.returncode:
        raise subprocess.CalledProcessError(process.returncode, command)
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    peak = usage.ru_maxrss * 1024
    # The tree held at least its largest process at that one's peak, which samples can miss.
    tree_peak = max(tree_peak, peak)
    print(json.dumps({
        "wall_s": round(wall, 2),
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 2),
        "peak_rss_mib": round(peak / 2**20),  # the largest of the indexing process and its workers
        "tree_peak_rss_mib": round(tree_peak / 2**20),  # all of them at once, sampled
        # the same, a page they share (the language model's mapped copy) counted once
        "tree_peak_pss_mib": round(tree_pss_peak / 2**20),
    }))


def main() -> None:
    if sys.argv[1:2] == ["--measure"]:
        measure(json.loads(sys.argv[2]))
        return
    if sys.argv[1:2] == ["--time-stages"]:
        time_stages(*json.loads(sys.argv[2]))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus")
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--code", action="append", default=[],
                        help="also build with the archsearch package in this folder, in turn with the installed one")
    parser.add_argument("--profile", help="write a pyinstrument report of one build here")
    parser.add_argument("--stages", type=int, metavar="N",
                        help="time the stages of indexing the first N files in one process, instead of builds")
    options = parser.parse_args()
    folders = corpus_folders(options.corpus)
    if options.stages:
        for _ in range(options.repeat):
            for code in [*options.code, INSTALLED]:
                print(json.dumps(stages(folders, options.stages, code)), flush=True)
        return
    if options.profile:
        print(json.dumps(build(folders, options.jobs, INSTALLED, options.profile)))
        return
    codes = [*options.code, INSTALLED]
    runs = []
    for _ in range(options.repeat):
        for code in codes:
            runs.append(build(folders, options.jobs, code, None))
            print(json.dumps(runs[-1]), flush=True)
    files = count_files(folders)
    for code in codes:
        own = [run for run in runs if run["code"] == code]
        cpu = statistics.median(run["cpu_s"] for run in own)
        print(json.dumps({"code": code, "jobs": options.jobs, "files": files, "median_cpu_s": cpu,
                          "median_wall_s": statistics.median(run["wall_s"] for run in own),
                          "max_peak_rss_mib": max(run["peak_rss_mib"] for run in own),
                          "max_tree_peak_rss_mib": max(run["tree_peak_rss_mib"] for run in own),
                          "max_tree_peak_pss_mib": max(run["tree_peak_pss_mib"] for run in own),
                          "cpu_ms_per_file": round(1000 * cpu / files, 2)}))


if __name__ == "__main__":
    main()
