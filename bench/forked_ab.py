#!/usr/bin/env python3
"""Versions of the code side by side on a served request's search: CPU of search() and of its ranking.

    python bench/forked_ab.py INDEX VERSION [VERSION...] [--rounds N]

A VERSION is a git revision, a folder holding an archsearch/ folder, or `.` (the work tree); with
`@INDEX` after it, that version searches that index instead (the same code on a compacted copy,
say: `. .@/tmp/ix-compacted`).  For each version a process of its own imports it, does what
`archsearch serve` does before its requests come (server.preload, server.warm) and, for each
query of bench/run.py's kinds, forks a process that does what the server's spare does before a
request (server.rehearse) and then runs searching.search() as the request does.  The versions
take turns on each query (the order reversed every other round, after a first round not
counted), so that the machine's load falls on all alike.  Printed per query and version: the
medians of the forked process's CPU for search() (time.process_time), for its ranking inside it
(searching._Ranking: evaluation, proximity), the ranking's minor page faults, and the ranking's
CPU quartiles.  The client, the request's reading and writing and the spare's fork are not in
it: see served_profile.py for those.
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

BENCH = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, BENCH)
from run import KINDS  # noqa: E402  (the queries bench/run.py times)

# The process of one version: prepared as the server, it forks a request for each query it reads.
PARENT = r'''
import json, os, resource, sys, time
from pathlib import Path
from archsearch import searching, server
index = Path(sys.argv[1])
server.preload()
server.warm(index)
ranking = searching._Ranking.__init__
print("ready", flush=True)
for line in sys.stdin:
    text, options = json.loads(line)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        server.rehearse()
        spent = [0.0, 0]
        def timed(self, *args, **kwargs):
            cpu, faults = time.process_time(), resource.getrusage(resource.RUSAGE_SELF).ru_minflt
            try:
                return ranking(self, *args, **kwargs)
            finally:
                spent[0] += time.process_time() - cpu
                spent[1] += resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults
        searching._Ranking.__init__ = timed
        cpu = time.process_time()
        searching.search(index, text, **options)
        os.write(write, json.dumps([time.process_time() - cpu, *spent]).encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read) as stream:
        found = stream.read()
    os.waitpid(pid, 0)
    print(found, flush=True)
'''


def search_options(kind: dict) -> tuple[str, dict]:
    """The query text and search() options of one of bench/run.py's kinds."""
    if "phrase" in kind:
        return f'"{kind["phrase"]}"', {}
    if "either" in kind:
        return " OR ".join(kind["either"]), {}
    if "since" in kind:
        return " ".join(kind["words"]), {"since": kind["since"], "until": kind["until"]}
    return " ".join(kind["words"]), {}


def code_folder(version: str, work: str) -> str:
    """A folder holding the version's archsearch/, first on its process's path."""
    repo = os.path.dirname(BENCH)
    if version == ".":
        return repo
    if os.path.isdir(os.path.join(version, "archsearch")):
        return version
    folder = tempfile.mkdtemp(prefix="code-", dir=work)
    archive = subprocess.run(["git", "-C", repo, "archive", version, "archsearch"], check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", folder], input=archive, check=True)
    return folder


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("index")
    parser.add_argument("versions", nargs="+", metavar="VERSION")
    parser.add_argument("--rounds", type=int, default=11)
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="forked-ab-")
    parents = []
    try:
        for version in args.versions:
            code, _, index = version.partition("@")
            env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [code_folder(code, work), os.environ.get("PYTHONPATH")])))
            # Started in the work folder: `python -c` looks for modules in its current folder first.
            parent = subprocess.Popen([sys.executable, "-c", PARENT, os.path.abspath(index or args.index)],
                                      stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env, cwd=work)
            if parent.stdout.readline() != "ready\n":
                sys.exit(f"{version}: its process did not start")
            parents.append(parent)
        queries = [search_options(kind) for kind in KINDS]
        found = {}
        for round_number in range(args.rounds + 1):
            for text, options in queries:
                order = list(range(len(parents)))
                if round_number % 2:
                    order.reverse()
                for number in order:
                    parents[number].stdin.write(json.dumps([text, options]) + "\n")
                    parents[number].stdin.flush()
                    measured = json.loads(parents[number].stdout.readline())
                    if round_number:
                        found.setdefault((text, number), []).append(measured)
    finally:
        for parent in parents:
            parent.stdin.close()
            parent.wait()
        shutil.rmtree(work, ignore_errors=True)
    print(f"load {os.getloadavg()[0]:.1f}; medians of {args.rounds} rounds: search() CPU ms / ranking CPU ms / "
          f"ranking faults [ranking's quartiles]; versions: {', '.join(args.versions)}")
    for text, _ in queries:
        cells = []
        for number in range(len(parents)):
            rows = found[(text, number)]
            search_cpu, ranking_cpu, faults = (statistics.median(row[column] for row in rows) for column in range(3))
            quartiles = statistics.quantiles([row[1] for row in rows], n=4) if len(rows) > 1 else [ranking_cpu] * 3
            cells.append(f"{search_cpu * 1000:6.2f} / {ranking_cpu * 1000:5.2f} / {faults:5.0f} "
                         f"[{quartiles[0] * 1000:.2f}-{quartiles[2] * 1000:.2f}]")
        print(f"{text[:24]:<24} " + "  |  ".join(cells))


if __name__ == "__main__":
    main()
