#!/usr/bin/env python3
"""What building an index costs: wall time, CPU time (this process and its workers) and peak RSS.

    python bench/index_cost.py CORPUS [--jobs N] [--repeat K] [--profile profile.html]

Each repetition builds a new index of CORPUS in a temporary folder with `archsearch index`, in a
process of its own, so that CPU and peak RSS are that build's alone (peak RSS is the largest of
the indexing process and its workers).  On a shared machine compare CPU times, and interleave
the builds being compared: wall times follow the load.  With --profile, one build runs under
pyinstrument (`pip install pyinstrument`) and its report is written as HTML or text by extension.
"""

import argparse
import json
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def build(corpus: str, jobs: int, profile: str | None) -> dict:
    index = Path(tempfile.mkdtemp(prefix="archsearch-cost-")) / "index"
    command = [str(Path(sys.executable).parent / "archsearch"), "index", "-q", "-j", str(jobs), "--index", str(index), corpus]
    if profile:
        renderer = "html" if profile.endswith(".html") else "text"
        command = [sys.executable, "-m", "pyinstrument", "-r", renderer, "-o", profile, *command]
    # Run by a process of its own, whose children are this build's only: their peak RSS is its own.
    measured = subprocess.run([sys.executable, __file__, "--measure", json.dumps(command)],
                              check=True, capture_output=True, text=True)
    size = sum(path.stat().st_size for path in index.rglob("*") if path.is_file())
    shutil.rmtree(index.parent)
    return {**json.loads(measured.stdout), "index_mib": round(size / 2**20, 1)}


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
    parser.add_argument("--profile", help="write a pyinstrument report of one build here")
    options = parser.parse_args()
    if options.profile:
        print(json.dumps(build(options.corpus, options.jobs, options.profile)))
        return
    runs = [build(options.corpus, options.jobs, None) for _ in range(options.repeat)]
    for run in runs:
        print(json.dumps(run))
    files = sum(1 for path in Path(options.corpus).rglob("*") if path.is_file())
    cpu = statistics.median(run["cpu_s"] for run in runs)
    print(json.dumps({"jobs": options.jobs, "files": files, "median_cpu_s": cpu,
                      "median_wall_s": statistics.median(run["wall_s"] for run in runs),
                      "cpu_ms_per_file": round(1000 * cpu / files, 2)}))


if __name__ == "__main__":
    main()
