#!/usr/bin/env python3
"""A query without the server, as a process of its own: CPU per kind against a tantivy process,
two versions of archsearch side by side, and where each version's time goes.

    python bench/no_server.py INDEX [--tantivy DIR] [--against REV] [--rounds N] [--live] [--phases] [--parts]

For each of bench/run.py's six query kinds, runs `archsearch query --index INDEX ...` with
ARCHSEARCH_SERVER=off and its output to a file, as a script would, and with --tantivy DIR the
same query in a Python process that opens that tantivy index (bench/run.py's TANTIVY_QUERY), and
`python -c pass`. The work tree's archsearch/ is copied and byte-compiled first, as pip compiles
an installed package (the copy is what runs, so editing the tree meanwhile changes nothing); with
--against REV, that git revision's archsearch/ too. Each version has a cache folder of its own
(XDG_CACHE_HOME: the code lean_imports keeps), as one installation has. One warm-up round, then N rounds (default
10), each running every kind on every version and tool in turn, the order rotating from round
to round, so that the load of other work falls on all alike. It prints the median CPU time (user
+ system, from wait4) and wall time of each, and the CPU ratio to the tantivy process: on a
shared machine CPU holds far better than wall time.

With --live, also bench/run.py's live search: its 20 keystrokes (`s*`, `sy*`, ... `syria ceasefire
talk*`), a process each, typed in turn by each version and tool within a round; the row is the
median over every keystroke of every round, as bench/run.py's p50 per keystroke is.

With --phases it then splits each version's process, for three kinds, into the interpreter's
start-up (with site), the imports of the query path, the command (parsing, opening the index,
evaluation, copy groups, snippets, output) and the end (the interpreter's clean-up, or
os._exit), from time.process_time() inside the process and the total from wait4.

With --parts it splits each version's command, for the same kinds, into its parts: opening the
index, its languages, parsing, evaluation, copy groups, the hits' files and snippets, output,
remembering the hits (CPU, inclusive, by wrapping the functions that do them).

bench/README.md, "The no-server path", reports its runs.
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import run as harness  # bench/run.py: the query kinds and the tantivy query process

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)

# Inside the measured process with --phases: CPU at start, after importing what a query imports,
# after the command; the command runs and ends as the console script's would (RUN_AS_THE_SCRIPT).
PHASES = """
import os, sys, time
started = time.process_time()
sys.argv = ["archsearch", *sys.argv[1:]]
%s
import archsearch.searching, archsearch.rendering, archsearch.lasthits, archsearch.engines.whoosh, whoosh.searching, sqlite3
imported = time.process_time()
status = run()
ran = time.process_time()
os.write(2, f"phases {started} {imported - started} {ran - imported} {ran}\\n".encode())
end(status)
"""
PHASE_KINDS = ("rare word", "3-word AND", "phrase", "date-ranged")
LIVE_KIND = "live search"

# How the measured process runs the command and ends, as the script does in each version: since
# the command line of a plain query is read without click (archsearch.query_line), through
# archsearch.client.run_here; before, through archsearch.cli.  The imports of the query path are
# each version's own: query_line with the configuration, or the click group and its query command.
RUN_AS_THE_SCRIPT = """
sys.path[0] = os.path.dirname(sys.executable)  # the script's folder, not -c's '' (archsearch.kept_modules)
import archsearch.client as client
if hasattr(client, "lean_imports_on_first_use"):  # what main() does first: lean_imports comes with the next import
    client.lean_imports_on_first_use()
if hasattr(client, "run_here"):
    try:
        from archsearch import kept_modules
    except ImportError:  # a version before it
        pass
    else:
        kept_modules.serve()
    from archsearch import lean_imports, query_line, config
    lean_imports.reuse_compiled_sources()
    run, end = client.run_here, client.end
else:
    import archsearch.cli as cli, archsearch.cli.query
    run, end = cli.run, getattr(cli, "end", sys.exit)
"""

# Inside the measured process with --parts: the CPU of each part of the command, inclusive, by
# wrapping the functions that do it (those a version lacks are left out).
PARTS = """
import contextlib, json, os, sys, time
sys.argv = ["archsearch", *sys.argv[1:]]
clock = time.process_time
%s
import archsearch.searching as searching, archsearch.rendering as rendering
import archsearch.lasthits as lasthits
parts = {}

def timed(module, name, part, context=False):
    function = getattr(module, name, None)
    if function is None:
        return
    def add(started):
        parts[part] = parts.get(part, 0.0) + clock() - started
    if context:
        @contextlib.contextmanager
        def wrapper(*args, **kwargs):
            started = clock()
            with function(*args, **kwargs) as value:
                add(started)
                yield value
    else:
        def wrapper(*args, **kwargs):
            started = clock()
            try:
                return function(*args, **kwargs)
            finally:
                add(started)
    setattr(module, name, wrapper)

timed(searching, "index_searcher", "opening the index", context=True)
timed(searching, "index_languages", "the index's languages")
timed(searching, "parse_query", "parsing")
timed(searching, "_Ranking", "evaluation")
timed(searching, "_group_copies", "copy groups (and the hits' stored fields)")
timed(searching, "make_hit", "the hits (their files, snippets)")
timed(searching, "_suggest_spelling", "spelling suggestions")
timed(rendering, "print_search_result", "output")
timed(lasthits, "remember", "remembering the hits")
timed(searching, "search", "search(), all of it")
started = clock()
status = run()
parts["the command, all of it"] = clock() - started
os.write(2, ("parts " + json.dumps(parts) + "\\n").encode())
end(status)
"""


def snapshot(work: str, name: str, revision: str | None) -> str:
    """A byte-compiled copy of archsearch/ (the work tree's, or a revision's) to put on PYTHONPATH."""
    target = os.path.join(work, name)
    os.makedirs(target)
    if revision:
        archive = subprocess.run(["git", "-C", REPO, "archive", revision, "archsearch"], check=True, capture_output=True)
        subprocess.run(["tar", "-x", "-C", target], input=archive.stdout, check=True)
    else:
        shutil.copytree(os.path.join(REPO, "archsearch"), os.path.join(target, "archsearch"),
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    subprocess.run([sys.executable, "-m", "compileall", "-q", target], check=True, stdout=subprocess.DEVNULL)
    return target


def measure(argv, env, out_path):
    """CPU (user + system) and wall seconds of one process, its stdout to a file, its stderr kept."""
    with open(out_path, "w") as out:
        started = time.perf_counter()
        child = subprocess.Popen(argv, stdout=out, stderr=subprocess.PIPE, env=env, cwd="/")
        err = child.stderr.read()
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) not in (0, 1):
        sys.exit(f"error: {' '.join(argv)} failed: {err.decode(errors='replace').strip()[-300:]}")
    return usage.ru_utime + usage.ru_stime, wall, err.decode(errors="replace")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("index", help="an archsearch index folder")
    ap.add_argument("--tantivy", metavar="DIR", help="a tantivy index of the same files (bench/run.py builds one)")
    ap.add_argument("--against", metavar="REV", help="also time this git revision's archsearch/")
    ap.add_argument("--rounds", type=int, default=10, help="interleaved rounds after a warm-up (default 10)")
    ap.add_argument("--live", action="store_true", help="also time bench/run.py's live search, a process a keystroke")
    ap.add_argument("--phases", action="store_true", help="also split each version's process into phases")
    ap.add_argument("--parts", action="store_true", help="also split each version's command into its parts")
    args = ap.parse_args()

    script = os.path.join(os.path.dirname(sys.executable), "archsearch")  # the console script, as users run it
    python = harness.script_python(script) or sys.executable
    work = tempfile.mkdtemp(prefix="archsearch-no-server-")
    try:
        versions = {"archsearch": snapshot(work, "tree", None)}
        if args.against:
            versions[f"archsearch@{args.against}"] = snapshot(work, "against", args.against)
        tantivy_script = os.path.join(work, "tantivy_query.py")
        with open(tantivy_script, "w") as f:
            f.write(harness.TANTIVY_QUERY)
        base_env = {**os.environ, "ARCHSEARCH_SERVER": "off"}
        base_env.pop("PYTHONPATH", None)
        fields = argparse.Namespace(archsearch=script, python=python, tantivy_query=tantivy_script,
                                    indexes={"archsearch": args.index, "tantivy": args.tantivy})

        def command(tool, kind, script=None):
            if tool == "python -c pass":
                return [python, "-c", "pass"], base_env
            if tool == "tantivy":
                if "typed" in kind:
                    return harness.Bench.live_argv(fields, "tantivy", kind["typed"]), base_env
                return harness.Bench.query_argv(fields, "tantivy", kind), base_env
            if "typed" in kind:
                argv = harness.Bench.live_argv(fields, "archsearch", kind["typed"])
            else:
                argv = harness.Bench.query_argv(fields, "archsearch", kind)
            # Each version its own cache folder, as one installation has: the code lean_imports
            # keeps there is in one layout of the file per version, and two versions whose
            # layouts share a file name would each replace the other's (~8 ms a process).
            env = {**base_env, "PYTHONPATH": versions[tool], "XDG_CACHE_HOME": versions[tool] + "-cache"}
            return ([python, "-c", script, *argv[1:]] if script else argv), env

        tools = [*versions, *(["tantivy"] if args.tantivy else []), "python -c pass"]
        # The live search is one kind whose run is every keystroke in turn, as a user types them.
        keystrokes = [{"kind": LIVE_KIND, "typed": harness.LIVE_TEXT[:k]} for k in range(1, len(harness.LIVE_TEXT) + 1)]
        kinds = [*harness.KINDS, *([{"kind": LIVE_KIND, "keystrokes": keystrokes}] if args.live else [])]
        times = {}
        out_path = os.path.join(work, "out")
        for round_number in range(args.rounds + 1):  # the first is a warm-up: page cache, not counted
            for kind in kinds:
                shift = round_number % len(tools)
                for tool in tools[shift:] + tools[:shift]:
                    for each in kind.get("keystrokes", [kind]):
                        cpu, wall, _ = measure(*command(tool, each), out_path)
                        if round_number:
                            times.setdefault((kind["kind"], tool), []).append((cpu, wall))
        print(f"{args.index}: CPU / wall ms, medians of {args.rounds} interleaved rounds; x: CPU over the tantivy process's")
        print(f"{'kind':<12}" + "".join(f"{tool:>30}" for tool in tools))
        for kind in kinds:
            cells = []
            for tool in tools:
                cpu = statistics.median(c for c, _ in times[(kind["kind"], tool)]) * 1000
                wall = statistics.median(w for _, w in times[(kind["kind"], tool)]) * 1000
                ratio = ""
                if args.tantivy and tool not in ("tantivy", "python -c pass"):
                    ratio = f" ({cpu / (statistics.median(c for c, _ in times[(kind['kind'], 'tantivy')]) * 1000):.1f}x)"
                cells.append(f"{cpu:.0f} / {wall:.0f}{ratio}")
            print(f"{kind['kind']:<12}" + "".join(f"{cell:>30}" for cell in cells))

        def runs_reporting(script, marker):
            """(kind, version, CPU, what the script wrote after `marker`) of each run of `script`
            for PHASE_KINDS after a warm-up round, every version in turn."""
            for round_number in range(args.rounds + 1):
                for kind in [k for k in harness.KINDS if k["kind"] in PHASE_KINDS]:
                    for tool in versions:
                        cpu, _, err = measure(*command(tool, kind, script), out_path)
                        line = next(line for line in err.splitlines() if line.startswith(marker))
                        if round_number:
                            yield kind["kind"], tool, cpu, line[len(marker):]

        if args.phases:
            phases = {}
            for kind, tool, cpu, reported in runs_reporting(PHASES % RUN_AS_THE_SCRIPT, "phases "):
                start, imports, ran, end_mark = map(float, reported.split())
                phases.setdefault((kind, tool), []).append((start, imports, ran, cpu - end_mark, cpu))
            print("\nCPU ms, medians: start-up (interpreter, site) | imports of the query path | the command | the end | total")
            for (kind, tool), rows in phases.items():
                medians = [statistics.median(row[i] for row in rows) * 1000 for i in range(5)]
                print(f"{kind:<12} {tool:<28}" + " | ".join(f"{m:6.1f}" for m in medians))

        if args.parts:
            parts = {}
            for kind, tool, _, reported in runs_reporting(PARTS % RUN_AS_THE_SCRIPT, "parts "):
                parts.setdefault((kind, tool), []).append(json.loads(reported))
            names = list(dict.fromkeys(name for rows in parts.values() for row in rows for name in row))
            columns = [(kind, tool) for kind in PHASE_KINDS for tool in versions]
            print("\nThe command's parts, CPU ms (inclusive), medians:")
            print(f"{'':<42}" + "".join(f"{kind[:11] + ' ' + str(number):>14}" for kind, number in (
                (kind, number) for kind in PHASE_KINDS for number in range(len(versions)))))
            for name in names:
                cells = [
                    statistics.median(row.get(name, 0.0) for row in parts[column]) * 1000 for column in columns
                ]
                print(f"{name:<42}" + "".join(f"{cell:14.1f}" for cell in cells))
            print("(versions: " + ", ".join(f"{number} {tool}" for number, tool in enumerate(versions)) + ")")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
