#!/usr/bin/env python3
"""What a configuration file costs a query, served and not: CPU with no file, with `[query]`
defaults, with a top-level `index`, and for a saved query (`@name`).

    python bench/config_cost.py INDEX [--against REV] [--rounds N] [--words WORD...]

Each version (the work tree's archsearch/, and with --against a git revision's) is a byte-compiled
copy on PYTHONPATH, run by the console script as users run it (bench/no_server.py's snapshot).
For each version and each of four settings:

    none     no configuration file             archsearch query --index INDEX WORDS
    query    [query] limit = 20, sort = newest archsearch query --index INDEX WORDS
    index    index = "INDEX"                   archsearch query WORDS
    saved    [queries] saved = "WORDS"         archsearch query --index INDEX @saved

it runs the query with ARCHSEARCH_SERVER=off (CPU of the process, from wait4), and served by an
`archsearch serve` of that version's own: the client's CPU (wait4) and the CPU of the request's
process from its answer on, which the server (its _answer wrapped) writes to a log with the
process's id, so that a process reused is seen. The order of settings and versions rotates from
round to round; the first round is a warm-up. Printed: medians, and how many of the served
requests a process answered that had answered one before. With --instructions, each query without
the server is instead run under valgrind's callgrind, twice, and the second run's instructions
printed: a count the machine's load does not change.
"""
import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import no_server  # bench/no_server.py: the byte-compiled copies and the timed process
import run as harness

# The server of a version, its answer timed in the request's process (CPU from the answer on).
SERVE = """
import json, os, resource, sys
from archsearch import server
answer, log_path = server._answer, os.environ["ANSWER_LOG"]  # the request's environment replaces the server's
def answer_logged(*args):
    def cpu():
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return usage.ru_utime + usage.ru_stime
    started = cpu()
    try:
        return answer(*args)
    finally:
        with open(log_path, "a") as log:
            log.write(json.dumps({"pid": os.getpid(), "cpu": cpu() - started, "argv": sys.argv}) + "\\n")
server._answer = answer_logged
server.preload()
listener = server.listen(sys.argv[1])
print("listening", flush=True)
server.serve(listener, 0)
"""

SPARE_NAME = b"archsearch-next"  # archsearch.server's

SETTINGS = ("none", "query", "index", "saved")


def config_files(work: str, index: str, words: list[str]) -> dict:
    """Each setting's configuration file (None: no file) and the query's arguments after `query`."""
    files = {
        "query": '[query]\nlimit = 20\nsort = "newest"\n',
        "index": f"index = {json.dumps(index)}\n",
        "saved": f"[queries]\nsaved = {json.dumps(' '.join(words))}\n",
    }
    paths = {"none": None}
    for setting, text in files.items():
        paths[setting] = os.path.join(work, f"{setting}.toml")
        with open(paths[setting], "w") as file:
            file.write(text)
    arguments = {
        "none": ["--index", index, *words],
        "query": ["--index", index, *words],
        "index": words,
        "saved": ["--index", index, "@saved"],
    }
    return {setting: (paths[setting], arguments[setting]) for setting in SETTINGS}


def spare_waits(server_pid: int, bound: float = 10.0) -> None:
    """Waits until the server has a spare asleep, waiting for the next request (tests/test_server.py's
    spare_waits), as a request sent meanwhile may be run by the client itself."""
    deadline = time.monotonic() + bound
    while time.monotonic() < deadline:
        with open(f"/proc/{server_pid}/task/{server_pid}/children") as children:
            for pid in children.read().split():
                try:
                    with open(f"/proc/{pid}/comm", "rb") as comm, open(f"/proc/{pid}/stat") as stat:
                        if comm.read().rstrip(b"\n") == SPARE_NAME and stat.read().rpartition(")")[2].split()[0] == "S":
                            return
                except OSError:  # ended meanwhile
                    pass
        time.sleep(0.005)
    sys.exit(f"no spare of server {server_pid} waits")


def answers_logged(log: str, offset: int, bound: float = 10.0) -> list[dict]:
    """The answers the server logged after offset: its process logs one after the client has its
    exit status, so the last may come after the client has ended."""
    deadline = time.monotonic() + bound
    while True:
        size = os.path.getsize(log) if os.path.exists(log) else 0
        if size > offset or time.monotonic() > deadline:
            time.sleep(0.01)  # the line written whole
            with open(log) as file:
                file.seek(offset)
                return [json.loads(line) for line in file]
        time.sleep(0.002)


def instructions(argv, env) -> int:
    """The instructions a process runs, as callgrind counts them."""
    done = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", *argv], env=env,
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, check=True)
    return int(re.search(r"Collected : (\d+)", done.stderr).group(1))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("index")
    ap.add_argument("--against", metavar="REV", help="also time this git revision's archsearch/")
    ap.add_argument("--rounds", type=int, default=10)
    ap.add_argument("--words", nargs="+", default=harness.KINDS[0]["words"], help="the query (default: the rare word)")
    ap.add_argument("--instructions", action="store_true",
                    help="count the instructions of each query without the server (valgrind's callgrind) instead")
    args = ap.parse_args()
    index = os.path.abspath(args.index)
    script = os.path.join(os.path.dirname(sys.executable), "archsearch")
    python = harness.script_python(script) or sys.executable
    work = tempfile.mkdtemp(prefix="archsearch-config-cost-")
    servers = []
    try:
        versions = {"tree": no_server.snapshot(work, "tree", None)}
        if args.against:
            versions[args.against] = no_server.snapshot(work, "against", args.against)
        settings = config_files(work, index, args.words)
        os.makedirs(os.path.join(work, "no-config"))
        base = {**os.environ, "XDG_CONFIG_HOME": os.path.join(work, "no-config"), "XDG_STATE_HOME": work}
        for variable in ("PYTHONPATH", "ARCHSEARCH_CONFIG", "ARCHSEARCH_INDEX", "ARCHSEARCH_SOCKET"):
            base.pop(variable, None)
        sockets = {version: os.path.join(work, f"{version}.sock") for version in versions}

        def environment(version, setting, served):
            config, _ = settings[setting]
            env = {**base, "PYTHONPATH": versions[version], "XDG_CACHE_HOME": versions[version] + "-cache"}
            if config:
                env["ARCHSEARCH_CONFIG"] = config
            if served:
                env["ARCHSEARCH_SOCKET"] = sockets[version]
            else:
                env["ARCHSEARCH_SERVER"] = "off"
            return env

        if args.instructions:
            print(f"{index}, words {args.words}: instructions (millions) of a query without the server, "
                  "the second of two runs under callgrind")
            for version in versions:
                for setting in SETTINGS:
                    argv = [python, script, "query", *settings[setting][1]]
                    counts = [instructions(argv, environment(version, setting, False)) for _ in range(2)]
                    print(f"{version:<10}{setting:<8}{counts[1] / 1e6:>10.1f}")
            return
        for version, path in versions.items():
            env = {**base, "PYTHONPATH": path, "XDG_CACHE_HOME": path + "-cache", "ANSWER_LOG": path + ".log"}
            server = subprocess.Popen([python, "-c", SERVE, sockets[version]], stdout=subprocess.PIPE, env=env)
            servers.append(server)
            assert server.stdout.readline() == b"listening\n"

        runs = [(version, setting, served) for version in versions for setting in SETTINGS for served in (False, True)]
        cpu, answered, reused, seen = {}, {}, {}, {}
        out_path = os.path.join(work, "out")
        for round_number in range(args.rounds + 1):  # the first is a warm-up, not counted
            shift = round_number % len(runs)
            for run in runs[shift:] + runs[:shift]:
                version, setting, served = run
                log = versions[version] + ".log"
                logged = os.path.getsize(log) if os.path.exists(log) else 0
                if served:
                    spare_waits(servers[list(versions).index(version)].pid)
                process_cpu, _, _ = no_server.measure([script, "query", *settings[setting][1]],
                                                      environment(*run), out_path)
                if served:
                    lines = answers_logged(log, logged)
                    if len(lines) != 1:
                        sys.exit(f"{run}: {len(lines)} answers logged (was it served?)")
                    pid = lines[0]["pid"]
                if round_number:
                    cpu.setdefault(run, []).append(process_cpu)
                    if served:
                        answered.setdefault(run, []).append(lines[0]["cpu"])
                        reused[run] = reused.get(run, 0) + (pid in seen)
                if served:
                    seen[pid] = True
        load = os.getloadavg()
        print(f"{index}, words {args.words}: CPU ms, medians of {args.rounds} rounds; load {load[0]:.1f} {load[1]:.1f}")
        print(f"{'version':<10}{'setting':<8}{'no server':>11}{'served: client':>16}{'request':>9}{'reused':>8}")
        for version in versions:
            for setting in SETTINGS:
                alone, client = (statistics.median(cpu[(version, setting, s)]) * 1000 for s in (False, True))
                request = statistics.median(answered[(version, setting, True)]) * 1000
                print(f"{version:<10}{setting:<8}{alone:>11.1f}{client:>16.1f}{request:>9.1f}"
                      f"{reused.get((version, setting, True), 0):>5}/{args.rounds}")
    finally:
        for server in servers:
            server.terminate()
            server.wait()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
