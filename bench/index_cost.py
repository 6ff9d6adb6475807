#!/usr/bin/env python3
"""What building an index costs: wall time, CPU time (this process and its workers) and peak RSS.

    python bench/index_cost.py CORPUS [--jobs N] [--repeat K] [--code DIR ...] [--profile profile.html]

Each repetition builds a new index of CORPUS in a temporary folder with `archsearch index`, in a
process of its own, so that CPU and peak RSS are that build's alone (peak RSS is the largest of
the indexing process and its workers).  On a shared machine compare CPU times, and interleave
the builds being compared: wall times follow the load.  `--code DIR` (repeatable) builds with the
`archsearch` package found in DIR as well (e.g. `git archive <commit> archsearch | tar -x -C DIR`),
each repetition building once with each code, in turn: before and after, measured under the same
load.  With --profile, one build runs under pyinstrument (`pip install pyinstrument`) and its
report is written as HTML or text by extension.

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


def corpus_folders(corpus: str) -> list[str]:
    """The folders to index for CORPUS: itself, or the folders its links to folders lead to."""
    entries = sorted(Path(corpus).iterdir())
    linked = [entry for entry in entries if entry.is_symlink() and entry.is_dir()]
    if linked and len(linked) == len(entries):
        return [os.path.realpath(entry) for entry in linked]
    return [corpus]


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


def measure(command: list[str]) -> None:
    started = time.perf_counter()
    subprocess.run(command, check=True)
    wall = time.perf_counter() - started
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    print(json.dumps({
        "wall_s": round(wall, 2),
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 2),
        "peak_rss_mib": round(usage.ru_maxrss / 1024),  # the largest of the indexing process and its workers
    }))


def main() -> None:
    if sys.argv[1:2] == ["--measure"]:
        measure(json.loads(sys.argv[2]))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus")
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--code", action="append", default=[],
                        help="also build with the archsearch package in this folder, in turn with the installed one")
    parser.add_argument("--profile", help="write a pyinstrument report of one build here")
    options = parser.parse_args()
    folders = corpus_folders(options.corpus)
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
                          "cpu_ms_per_file": round(1000 * cpu / files, 2)}))


if __name__ == "__main__":
    main()
