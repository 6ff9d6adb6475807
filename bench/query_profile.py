#!/usr/bin/env python3
"""Where a no-server query's time goes: imports, opening the index, evaluation, near-duplicates...

    python bench/query_profile.py INDEX [--runs N] [--importtime] -- QUERY ARGS...

Runs `archsearch query --index INDEX QUERY ARGS` N times (default 5), each in a fresh Python
process without the server (ARCHSEARCH_SERVER=off), under pyinstrument (the `bench` extra),
and sorts every stack sample into one part, the first that matches from the top:

  imports             any frame is a module being executed (`<module>`), wherever it happens
  near-duplicates     nearduplicates.py, or searching's copy grouping
  opening the index   store.open_index, opening.py
  parsing the query   querying.py
  the hits            searching.make_hit (reading each shown article's file, snippets)
  evaluation          evaluation.py, whoosh, the rest of searching.search
  output              rendering.py
  other               click, the command's own code, the interpreter's shutdown

It prints the median share and time of each part, the profiled time (from the first import of
archsearch to the end) and the whole process's wall time (the difference is Python's own
start-up).  With --importtime it also sums `python -X importtime`'s self times per top-level
package (one more process).  pyinstrument samples wall-clock time: on a loaded machine the
shares hold better than the times.  See bench/README.md, "Where the time goes".
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time

PARTS = [
    ("imports", lambda f: f.startswith("<module>\x00")),
    ("near-duplicates", lambda f: "nearduplicates.py" in f or f.startswith("_group_copies\x00")),
    ("opening the index", lambda f: f.startswith("open_index\x00") or "/opening.py" in f),
    ("parsing the query", lambda f: "/querying.py" in f),
    ("the hits", lambda f: f.startswith("make_hit\x00")),
    ("evaluation", lambda f: "/evaluation.py" in f or "/whoosh/" in f or "/searching.py" in f),
    ("output", lambda f: "/rendering.py" in f),
]


def profile_once(argv):
    """Profile one query in this process; print the seconds of each part as JSON."""
    from pyinstrument import Profiler

    sys.argv = ["archsearch"] + argv
    stdout = sys.stdout
    sys.stdout = open(os.devnull, "w")
    profiler = Profiler(interval=0.0005)
    profiler.start()
    try:
        from archsearch.client import main

        main()
    except SystemExit:
        pass
    finally:
        session = profiler.stop()
        sys.stdout.close()
        sys.stdout = stdout
    parts = dict.fromkeys([name for name, _ in PARTS] + ["other"], 0.0)
    for stack, seconds in session.frame_records:
        # the frames below this function's own (this script is a `<module>` too)
        stack = stack[next((i for i, frame in enumerate(stack) if frame.startswith("profile_once\x00")), -1) + 1:]
        name = next((name for name, test in PARTS if any(test(frame) for frame in stack)), "other")
        parts[name] += seconds
    print(json.dumps({"parts": parts, "duration": session.duration}))


def importtime(python, argv, env):
    """Self time of every module `python -X importtime` lists, summed per top-level package."""
    done = subprocess.run([python, "-X", "importtime", "-c", "import sys; from archsearch.client import main; "
                           f"sys.argv = {['archsearch'] + argv!r}; main()"],
                          env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    packages = {}
    for line in done.stderr.splitlines():
        found = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|\s*(\S+)", line)
        if found:
            top = found.group(3).split(".")[0]
            packages[top] = packages.get(top, 0) + int(found.group(1)) / 1e6
    return packages


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("index", help="the index folder")
    ap.add_argument("--runs", type=int, default=5, help="processes to profile (default 5)")
    ap.add_argument("--importtime", action="store_true", help="also sum python -X importtime per package")
    ap.add_argument("query", nargs="+", help="after --: the query's words and options")
    args = ap.parse_args()
    argv = ["query", "--index", args.index] + args.query
    env = dict(os.environ, ARCHSEARCH_SERVER="off")
    runs, walls = [], []
    for _ in range(args.runs + 1):  # the first writes the bytecode caches: not counted
        start = time.perf_counter()
        done = subprocess.run([sys.executable, os.path.abspath(__file__), "--one", json.dumps(argv)],
                              env=env, capture_output=True, text=True)
        walls.append(time.perf_counter() - start)
        if done.returncode:
            sys.exit(f"error: the profiled query failed: {done.stderr.strip().splitlines()[-1:]}")
        runs.append(json.loads(done.stdout.splitlines()[-1]))
    runs, walls = runs[1:], walls[1:]
    duration = statistics.median(r["duration"] for r in runs)
    print(f"archsearch {' '.join(argv)}: {args.runs} runs, median process wall {statistics.median(walls) * 1000:.0f} ms"
          f", profiled {duration * 1000:.0f} ms (the rest: Python's start-up, pyinstrument's import, exit)")
    print(f"{'part':<20} {'share':>6} {'median':>9}")
    for name in runs[0]["parts"]:
        seconds = statistics.median(r["parts"][name] for r in runs)
        share = statistics.median(r["parts"][name] / r["duration"] for r in runs)
        print(f"{name:<20} {share:>6.0%} {seconds * 1000:>6.0f} ms")
    if args.importtime:
        packages = importtime(sys.executable, argv, env)
        total = sum(packages.values())
        print(f"\npython -X importtime: {total * 1000:.0f} ms of imports (self times), by top-level package")
        for name, seconds in sorted(packages.items(), key=lambda item: -item[1])[:12]:
            print(f"  {name:<24} {seconds * 1000:>6.1f} ms")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--one"]:
        profile_once(json.loads(sys.argv[2]))
    else:
        main()
