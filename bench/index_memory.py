#!/usr/bin/env python3
"""Peak memory of `archsearch index` as a user meets it: the whole process tree (the indexing
process and its workers), sampled together.

    python bench/index_memory.py FOLDER... --code DIR [--code DIR ...] [--source-index INDEX]
        [--prepare FOLDER ...] [--jobs 2] [--commit-every N] [--work DIR] [--label NAME ...]
    python bench/index_memory.py --compact --source-index INDEX --code DIR [--code DIR ...] [--work DIR]

For each `--code DIR` in turn (the `archsearch` package found in DIR, first on PYTHONPATH, e.g.
`git archive <commit> archsearch | tar -x -C DIR`; `installed` for this checkout's), one run of
`archsearch index --jobs N --index WORK/ix FOLDER...`:

* with `--source-index`, into a copy of that index (`cp -a` into WORK, never written in place),
  after a first run over the `--prepare` folders (the index's own, so that nothing changes) that
  brings the copy's record into the code's format, not measured: e.g. 20,000 new articles added
  to a complete 1M index, one commit;
* without it, into a new index: a build from scratch;
* with `--compact` (and `--source-index`, no FOLDER), `archsearch index --compact` of the copy: every
  segment merged into one.

Measured: the tree's resident memory summed every 0.25 s (its peak; also as PSS, a shared page counted once), the indexing process's own
peak (`VmHWM`), the tree's CPU (wait4, workers included), wall time, the index's size and its
number of segments after the run, and the copy groups (their count, and a SHA-256 of all of them
listed by file, equal for runs that group alike).  One JSON line a run, on stdout.  The copy is
removed after each run (a 1M index takes 6 GiB).  On a shared machine read the memory and CPU;
the wall time follows the load.
"""

import argparse
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import tree_pss, tree_rss  # noqa: E402  (bench/run.py, beside this file)

INSTALLED = "installed"
SAMPLE_SECONDS = 0.25
RECORD_FILE = "archsearch-files.sqlite"


def code_environment(code: str) -> dict:
    environment = dict(os.environ)
    if code != INSTALLED:
        environment["PYTHONPATH"] = os.path.abspath(code)
    return environment


def archsearch_command() -> str:
    return shutil.which("archsearch") or os.path.join(os.path.dirname(sys.executable), "archsearch")


def status_bytes(pid: int, field: str) -> int:
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith(f"{field}:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def measured_run(command: list[str], environment: dict) -> dict:
    """Run the command, sampling its process tree; its wall, CPU and peaks."""
    start = time.perf_counter()
    process = subprocess.Popen(command, env=environment, stdout=subprocess.DEVNULL)
    tree_peak = tree_pss_peak = main_peak = 0
    while True:
        done, status, usage = os.wait4(process.pid, os.WNOHANG)
        if done:
            break
        tree_peak = max(tree_peak, tree_rss(process.pid))
        tree_pss_peak = max(tree_pss_peak, tree_pss(process.pid))
        main_peak = max(main_peak, status_bytes(process.pid, "VmHWM"))
        time.sleep(SAMPLE_SECONDS)
    process.returncode = os.waitstatus_to_exitcode(status)
    return {
        "status": process.returncode,
        "wall_s": round(time.perf_counter() - start, 1),
        "tree_cpu_s": round(usage.ru_utime + usage.ru_stime, 2),
        # a run that ends between two samples is at least as large as its largest process (wait4)
        "tree_peak_rss_mib": round(max(tree_peak, usage.ru_maxrss * 1024) / 2**20),
        # the same with a page the processes share (the language model's mapped copy) counted once
        "tree_peak_pss_mib": round(tree_pss_peak / 2**20),
        "main_vmhwm_mib": round(main_peak / 2**20),
    }


def copy_groups(index: Path) -> tuple[int, str]:
    """How many groups of copies the record holds, and a digest of them all (each a sorted list of files)."""
    database = sqlite3.connect(index / RECORD_FILE)
    try:
        files = dict(database.execute("SELECT id, file FROM sketches"))
        groups: dict = {}
        for row, group in database.execute("SELECT id, grp FROM sketches"):
            groups.setdefault(group, []).append(files[row])
    finally:
        database.close()
    listing = sorted(sorted(group) for group in groups.values())
    return len(groups), hashlib.sha256(repr(listing).encode()).hexdigest()


def index_size(index: Path) -> tuple[int, int]:
    """Bytes of the index folder, and its number of segments (Whoosh's compound .seg files)."""
    total = segments = 0
    for path in index.rglob("*"):
        if path.is_file():
            total += path.stat().st_size
            segments += path.suffix == ".seg"
    return total, segments


def one_run(code: str, label: str, folders: list[str], args) -> dict:
    index = Path(args.work) / "ix"
    shutil.rmtree(index, ignore_errors=True)
    environment = code_environment(code)
    command = [archsearch_command(), "index", "--quiet", "--jobs", str(args.jobs), "--index", str(index)]
    if args.commit_every:
        command += ["--commit-every", str(args.commit_every)]
    # Only the measured run compacts: the first run, compacting too, left it one segment to measure.
    measured = command + ["--compact"] if args.compact else command
    result = {"label": label, "code": code, "jobs": args.jobs}
    try:
        if args.source_index:
            subprocess.run(["cp", "-a", args.source_index, str(index)], check=True)
            if args.prepare or not args.compact:
                start = time.perf_counter()
                subprocess.run(command + args.prepare, env=environment, check=True, stdout=subprocess.DEVNULL)
                result["prepare_s"] = round(time.perf_counter() - start, 1)
        if args.source_index:
            result["segments_before"] = index_size(index)[1]
        result.update(measured_run(measured + folders, environment))
        result["index_bytes"], result["segments"] = index_size(index)
        result["groups"], result["groups_sha256"] = copy_groups(index)
    finally:
        shutil.rmtree(index, ignore_errors=True)
    return result


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folders", nargs="*", help="the folders of the measured run")
    parser.add_argument("--code", action="append", required=True, help=f"a folder holding `archsearch/`, or {INSTALLED}")
    parser.add_argument("--label", action="append", help="a name for each --code, in order")
    parser.add_argument("--source-index", help="add to a copy of this index instead of building one")
    parser.add_argument("--prepare", nargs="*", default=[], help="folders of the unmeasured first run on the copy")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--commit-every", type=int, help="archsearch index's --commit-every (default: its own)")
    parser.add_argument("--work", default=".", help="where the index is made (and removed)")
    parser.add_argument("--compact", action="store_true", help="the measured run compacts the copy (archsearch index --compact)")
    args = parser.parse_args(argv)
    if args.compact and not args.source_index:
        parser.error("--compact compacts a copy of --source-index")
    if not args.folders and not args.compact:
        parser.error("give the folders of the measured run, or --compact")
    labels = args.label or args.code
    if len(labels) != len(args.code):
        parser.error("give one --label for each --code")
    for code, label in zip(args.code, labels):
        print(json.dumps(one_run(code, label, args.folders, args)), flush=True)


if __name__ == "__main__":
    main()
