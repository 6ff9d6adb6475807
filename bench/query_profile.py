#!/usr/bin/env python3
"""Where a no-server query's time goes: imports, opening the index, evaluation, near-duplicates...

    python bench/query_profile.py INDEX [--runs N] [--importtime] -- QUERY ARGS...
    python bench/query_profile.py INDEX --in-process [--runs N] [--against REV]
    python bench/query_profile.py INDEX --forked [--runs N] [--profile QUERY]

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

With --forked it runs instead, as the server runs a request, each kind of QUERY_KINDS and five
live-search keystrokes (the last word a prefix: short ones read from prefix entries, the middle
ones that are most of live search's keystrokes, and the last) in a process forked from one
prepared as `archsearch serve` prepares (server.preload: its PRELOADED modules, the tokenizer's
scans compiled, searchers kept open; the index warmed):
`searching.search()` whole (ranking, count, hits with snippets, copy groups), the forked
process's CPU (user + system, from wait4) and minor page faults, and those of its evaluation
(Evaluator.evaluate, inside it), medians of N rounds, the order rotating; with --profile QUERY,
cProfile's tables of that one query's search() in a forked request instead.  It runs whichever
archsearch is imported: put another version's archsearch/ (`git archive REV archsearch | tar -x
-C DIR`) first on PYTHONPATH, and alternate the runs, to compare them.

With --in-process it times instead, in this one process, `searching.search()` for each kind of
query of QUERY_KINDS (the ranking and count, without snippets or copy grouping: the query's
evaluation), CPU time by `time.process_time`, median of N runs, searchers kept open and numpy
loaded as the server keeps and loads them.  The working tree's search() is timed twice, evaluating with arrays and with
dicts (evaluation.Evaluator.arrays_pay chooses between them in use).  With --against REV,
archsearch's searching.py, evaluation.py and arrays.py as of the git revision REV are loaded
beside the working tree's and timed too.  Every round times each in turn, the order rotating, so that the
machine's load falls on all alike.
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


# The kinds of query bench/run.py times (issue 15), with the words it uses at 100k.
QUERY_KINDS = [
    ("rare word", "Zakharova", {}),
    ("common word", "president", {}),
    ("3-word AND", "syria ceasefire talks", {}),
    ("phrase", '"prime minister"', {}),
    ("OR", "refugees OR migrants", {}),
    ("date-ranged", "election", {"since": "2017-01-01", "until": "2017-02-28"}),
    ("sort by date", "president", {"sort": "newest"}),
]


# bench/run.py's live search types "syria ceasefire talk": its slowest keystroke, and a usual one.
FORKED_KINDS = QUERY_KINDS[:6] + [
    ("keystroke", "syria c*", {}),
    ("keystroke", "syria cease*", {}),
    ("keystroke", "syria ceasefire*", {}),
    ("keystroke", "syria ceasefire t*", {}),
    ("keystroke", "syria ceasefire talk*", {}),
]


def time_forked(index, runs, profile=None):
    """Median CPU and minor faults of a forked request per kind, and of its evaluation; with
    `profile` (a query's text), cProfile that query's search() in one forked request instead."""
    import resource
    from pathlib import Path

    from archsearch import searching, server
    from archsearch.engines.whoosh import evaluation

    server.preload()  # as `archsearch serve` prepares: modules, the tokenizer's scans, searchers kept
    server.warm(Path(index))
    evaluate = evaluation.Evaluator.evaluate

    def request(text, options):
        spent = [0.0, 0]

        def timed(self, query):
            cpu, faults = time.process_time(), resource.getrusage(resource.RUSAGE_SELF).ru_minflt
            try:
                return evaluate(self, query)
            finally:
                spent[0] += time.process_time() - cpu
                spent[1] += resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults

        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:
            try:
                os.close(read)
                evaluation.Evaluator.evaluate = timed
                if profile is not None:
                    import cProfile
                    import pstats

                    profiler = cProfile.Profile()
                    total = profiler.runcall(searching.search, Path(index), text, **options).total
                    pstats.Stats(profiler, stream=sys.stderr).sort_stats("tottime").print_stats(30)
                    pstats.Stats(profiler, stream=sys.stderr).sort_stats("cumulative").print_stats(40)
                else:
                    total = searching.search(Path(index), text, **options).total
                os.write(write, json.dumps([*spent, total]).encode())
            finally:
                os._exit(0)
        os.close(write)
        with os.fdopen(read) as stream:
            evaluation_cpu, evaluation_faults, total = json.loads(stream.read())
        _, status, usage = os.wait4(pid, 0)
        if status:
            sys.exit(f"the request for {text!r} ended with status {status}")
        return usage.ru_utime + usage.ru_stime, usage.ru_minflt, evaluation_cpu, evaluation_faults, total

    if profile is not None:
        options = next((options for _, text, options in FORKED_KINDS if text == profile), {})
        request(profile, options)
        return
    found = {number: [] for number in range(len(FORKED_KINDS))}
    for run in range(runs):
        numbers = list(range(len(FORKED_KINDS)))
        for number in numbers[run % len(numbers):] + numbers[:run % len(numbers)]:
            _, text, options = FORKED_KINDS[number]
            found[number].append(request(text, options))
    print(f"forked search() at {index} ({searching.__file__}), medians of {runs} rounds")
    print(f"{'query':<40} {'matches':>8} {'CPU ms':>7} {'faults':>7} {'eval ms':>8} {'eval faults':>11}")
    for number, (kind, text, _) in enumerate(FORKED_KINDS):
        rows = found[number]
        cpu, faults, evaluation_cpu, evaluation_faults = (statistics.median(row[column] for row in rows) for column in range(4))
        print(f"{kind + ': ' + text:<40} {rows[0][4]:>8} {cpu * 1000:>7.1f} {faults:>7.0f} {evaluation_cpu * 1000:>8.1f} {evaluation_faults:>11.0f}")


def revision_searching(revision):
    """archsearch.searching as of a git revision, bound to that revision's evaluation.py and
    arrays.py; the other modules they import are the working tree's."""
    import importlib.util

    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

    def load(name, path):
        source = subprocess.run(["git", "-C", here, "show", f"{revision}:{path}"], check=True,
                                capture_output=True, text=True).stdout
        spec = importlib.util.spec_from_loader(name, loader=None)
        module = importlib.util.module_from_spec(spec)
        exec(compile(source, f"{revision}:{path}", "exec"), module.__dict__)
        return module

    evaluation_name = "archsearch.engines.whoosh.evaluation"
    current = sys.modules[evaluation_name]
    old = load(f"{evaluation_name}@{revision}", "archsearch/engines/whoosh/evaluation.py")
    sys.modules[evaluation_name] = old  # what the old searching.py imports
    try:
        searching = load(f"archsearch.searching@{revision}", "archsearch/searching.py")
    finally:
        sys.modules[evaluation_name] = current
    arrays_name = "archsearch.engines.whoosh.arrays"
    old_arrays = load(f"{arrays_name}@{revision}", "archsearch/engines/whoosh/arrays.py")

    class Searching:
        """The revision's search(), its evaluation importing the revision's arrays.py as it runs."""

        @staticmethod
        def search(*args, **kwargs):
            import archsearch.engines.whoosh.arrays  # noqa: F401  loaded, to be put back

            working = sys.modules[arrays_name]
            sys.modules[arrays_name] = old_arrays
            try:
                return searching.search(*args, **kwargs)
            finally:
                sys.modules[arrays_name] = working

    return Searching


def time_in_process(index, runs, against):
    """Median CPU time of search() per query kind, and the revision's beside it."""
    from pathlib import Path

    from archsearch import searching
    from archsearch.engines.whoosh.store import keep_searchers_open

    keep_searchers_open()
    import numpy  # noqa: F401  loaded first, as the server loads it

    # The working tree evaluating with arrays, then with dicts (evaluation.Evaluator.arrays_pay
    # decides between them in use), then the revision's.
    versions = [("arrays", searching, True), ("dicts", searching, False)]
    if against:
        versions.append((against, revision_searching(against), None))
    print(f"search() at {index}, CPU ms, median of {runs} runs, interleaved")
    print(f"{'query':<34} {'matches':>8} " + " ".join(f"{name[:10]:>10}" for name, _, _ in versions)
          + (f"   arrays/{against[:10]}" if against else ""))
    arrays_pay = searching.Evaluator.arrays_pay
    try:
        for kind, text, options in QUERY_KINDS:
            times = {name: [] for name, _, _ in versions}
            totals = set()
            for run in range(runs + 1):  # the first reads the postings' pages from disk: not counted
                for name, module, arrays in versions[run % len(versions):] + versions[:run % len(versions)]:
                    searching.Evaluator.arrays_pay = lambda self, query: arrays
                    started = time.process_time()
                    result = module.search(Path(index), text, with_snippets=False, collapse_copies=False, **options)
                    if run:
                        times[name].append(time.process_time() - started)
                    totals.add(result.total)
            medians = [statistics.median(times[name]) * 1000 for name, _, _ in versions]
            line = f"{kind + ': ' + text:<34} {'/'.join(map(str, sorted(totals))):>8} " + " ".join(f"{m:>10.1f}" for m in medians)
            if against:
                line += f" {medians[0] / medians[-1]:>15.2f}x"
            print(line)
    finally:
        searching.Evaluator.arrays_pay = arrays_pay


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
    ap.add_argument("--in-process", action="store_true", help="time search() per kind of query in this process")
    ap.add_argument("--forked", action="store_true", help="time search() per kind in processes forked as the server's")
    ap.add_argument("--profile", metavar="QUERY", help="with --forked: cProfile QUERY's search() (to stderr)")
    ap.add_argument("--against", metavar="REV", help="with --in-process: also time the git revision REV's search()")
    ap.add_argument("query", nargs="*", help="after --: the query's words and options")
    args = ap.parse_args()
    if args.in_process:
        time_in_process(args.index, args.runs, args.against)
        return
    if args.forked:
        time_forked(args.index, args.runs, args.profile)
        return
    if not args.query:
        ap.error("give a query after --")
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
