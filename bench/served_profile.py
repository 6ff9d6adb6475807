#!/usr/bin/env python3
"""Where a served query's time goes: client, fork, first-touch faults, and each part of the request.

    python bench/served_profile.py INDEX [--rounds N] [--kinds LIST] [--profile KIND] [--first-sight]

Starts an `archsearch serve` of its own (on a socket in a temporary folder), on a byte-compiled
copy of the work tree's archsearch/ (and one per --against version), whose functions are
wrapped with timers, then runs, N rounds, the order rotating each round: for each query kind of
bench/run.py, the `archsearch` client exactly as a user runs it (`archsearch query --index INDEX
...`, stdout to /dev/null), and beside them `python -c pass`, `python -c 'import
archsearch.client'` (the client's own start-up) and, when the `bench` extra is installed and
--tantivy DIR is given, bench/run.py's tantivy query process.

Each request's process writes, when it ends, what its wrapped parts took (wall, CPU and minor
page faults, inclusive), its whole CPU time and minor faults from the fork on, and the
perf_counter instants of its fork and end; perf_counter is CLOCK_MONOTONIC, the same for every
process, so the client's side splits into its start-up and connection (from the client's spawn
to the fork) and its ending (from the request process's end to the client's exit).  The server
itself reports the time fork() takes in it.  Printed: the median of every part per kind.

A server's process that answered a plain query answers the next request too: the queries repeat
round after round, so with --first-sight every server is started again before each round and
given two other queries (the first opens the index), for each query to be one it has not seen.

With --profile KIND the request processes run under cProfile, timed in CPU time, and the
profile of KIND's last one is printed.
"""
import argparse
import json
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

BENCH = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, BENCH)
from run import KINDS, TANTIVY_QUERY  # noqa: E402  (bench/run.py: the same queries, the same tantivy process)

# (module, attribute, label): the parts of a request, timed inclusive of what they call.
PARTS = [
    ("archsearch.server", "_answer", "answer"),
    ("archsearch.server", "_Server.close_own_files", "close server files"),
    ("archsearch.server", "_peer_is_alike", "peer check"),
    ("archsearch.server", "credentials", "credentials"),
    ("archsearch.server", "_receive", "receive request"),
    ("archsearch.server", "code_fingerprint", "code fingerprint"),
    ("archsearch.server", "code_changed", "code check"),
    ("archsearch.server", "_run_command", "command"),
    ("archsearch.server", "_standard_stream", "standard streams"),
    ("archsearch.server", "_set_environ", "environment"),
    ("threading", "Thread.start", "watcher thread"),
    ("archsearch.server", "run", "cli run"),
    ("archsearch.engines", "open_engine", "open engine"),
    ("archsearch.searching", "search", "search()"),
    ("archsearch.searching", "index_searcher", "searcher"),
    ("archsearch.searching", "index_languages", "index languages"),
    ("archsearch.searching", "parse_query", "parse query"),
    ("archsearch.searching", "_Ranking", "evaluation"),
    ("archsearch.searching", "_group_copies", "copy groups"),
    ("archsearch.searching", "make_hit", "hits and snippets"),
    ("archsearch.searching", "_suggest_spelling", "spelling"),
    ("archsearch.rendering", "print_search_result", "rendering"),
    ("archsearch.lasthits", "remember", "remember hits"),
    ("archsearch.lasthits", "write_deferred", "hits written after"),  # after the answer has gone
    ("archsearch.server", "_report_opened_indexes", "report indexes"),
    ("archsearch.server", "_report", "report indexes, bodies"),
]


# Queried (unmeasured) by --first-sight after each start of a server: words no kind of bench/run.py has.
FIRST_SIGHT_WARMING = ("economy", "police")


# --------------------------------------------------------------------------- the server side


def serve(socket_path: str, log_path: str, profiled: str | None) -> None:
    """`archsearch serve` with PARTS timed in every request's process."""
    import gc
    import importlib
    import resource

    from archsearch import server

    record: dict = {}
    real_fork = os.fork

    def usage():
        ru = resource.getrusage(resource.RUSAGE_SELF)
        return time.perf_counter(), ru.ru_utime + ru.ru_stime, ru.ru_minflt

    def timed(function, label):
        def wrapper(*args, **kwargs):
            start = usage()
            try:
                return function(*args, **kwargs)
            finally:
                end = usage()
                total = record.setdefault("parts", {}).setdefault(label, [0.0, 0.0, 0])
                for i in range(3):
                    total[i] += end[i] - start[i]
        return wrapper

    for module_name, attribute, label in PARTS:
        owner = importlib.import_module(module_name)
        *classes, attribute = attribute.split(".")
        for name in classes:
            owner = getattr(owner, name)
        if hasattr(owner, attribute):  # an older version may not have it
            setattr(owner, attribute, timed(getattr(owner, attribute), label))

    def fork():
        before = time.perf_counter()
        pid = real_fork()
        if pid:
            line = json.dumps({"server_fork_s": time.perf_counter() - before, "pid": pid})
            with open(log_path, "a") as log:
                log.write(line + "\n")
        return pid

    os.fork = fork
    hand_to_spare = getattr(server, "_hand_to_spare", None)

    def handed_to_spare(*args):
        pid = hand_to_spare(*args)
        if pid:
            with open(log_path, "a") as log:
                log.write(json.dumps({"server_fork_s": None, "pid": pid}) + "\n")
        return pid

    if hand_to_spare:
        server._hand_to_spare = handed_to_spare

    def count_collection(phase, info):
        if phase == "start" and "answer_started" in record:
            collections = record.setdefault("collections", [0, 0, 0])
            collections[info["generation"]] += 1

    gc.callbacks.append(count_collection)
    answer = server._answer

    def answer_recorded(*args):
        # From here on: a spare's fork and rehearsal came before the request, and are not its.
        record.clear()
        started = usage()
        record["answer_started"] = started[0]
        profiler = None
        argv = []
        try:
            if profiled is not None:
                import cProfile

                profiler = cProfile.Profile(time.process_time)  # CPU time: the machine's load is not the code's
                profiler.enable()
            status = answer(*args)
            argv = sys.argv
            return status
        finally:
            ended = usage()
            record.update(pid=os.getpid(), argv=argv, ended=ended[0], cpu_s=ended[1] - started[1],
                          minflt=ended[2] - started[2])
            with open(log_path, "a") as log:
                log.write(json.dumps(record) + "\n")
            if profiler is not None:
                profiler.disable()
                if profiled in " ".join(argv):
                    import io
                    import pstats

                    out = io.StringIO()
                    stats = pstats.Stats(profiler, stream=out).strip_dirs()
                    stats.sort_stats("cumulative").print_stats(45)
                    stats.sort_stats("tottime").print_stats(30)
                    with open(log_path + ".profile", "w") as file:
                        file.write(out.getvalue())

    server._answer = answer_recorded
    server.preload()
    listener = server.listen(socket_path)
    print("listening", flush=True)
    server.serve(listener, 0)


# --------------------------------------------------------------------------- the client side


def timed_process(argv, env):
    """(wall s, CPU s of the process, spawn instant, exit instant)."""
    spawned = time.perf_counter()
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            env=env)
    _, status, ru = os.wait4(proc.pid, 0)
    exited = time.perf_counter()
    err = proc.stderr.read()
    proc.stderr.close()
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode not in (0, 1):
        raise SystemExit(f"{shlex.join(argv)} failed ({proc.returncode}): {err.decode(errors='replace')}")
    return exited - spawned, ru.ru_utime + ru.ru_stime, spawned, exited


def query_argv(archsearch, index, kind):
    argv = [archsearch, "query", "--index", index]
    if "phrase" in kind:
        return argv + [f'"{kind["phrase"]}"']
    if "either" in kind:
        return argv + " OR ".join(kind["either"]).split()
    if "since" in kind:
        argv += ["--since", kind["since"], "--until", kind["until"]]
    return argv + kind["words"]


def tantivy_argv(python, script, index, kind):
    text = f'"{kind["phrase"]}"' if "phrase" in kind else " OR ".join(kind["either"]) if "either" in kind else " ".join(kind["words"])
    if "since" in kind:
        text += f" day:[{kind['from'].replace('-', '')} TO {kind['to'].replace('-', '')}]"
    return [python, script, index, text]


def median(values):
    return statistics.median(values) if values else float("nan")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("index")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--kinds", help="comma-separated kinds (default: all of bench/run.py)")
    parser.add_argument("--tantivy", metavar="DIR", help="a tantivy index of the same files, to time beside")
    parser.add_argument("--against", metavar="REV", action="append", default=[],
                        help="also serve archsearch/ as of this git revision (or a folder holding a copy of "
                             "archsearch/), its clients interleaved with the work tree's; repeatable")
    parser.add_argument("--pause", type=float, default=0.0, metavar="S",
                        help="seconds between two runs (as a person types queries; default 0: back to back)")
    parser.add_argument("--profile", metavar="KIND", help="run the request processes under cProfile; print KIND's")
    parser.add_argument("--first-sight", action="store_true",
                        help="start every server again before each round, and give it two other queries first: "
                             "each query is one its server sees for the first time")
    parser.add_argument("--serve", nargs=2, metavar=("SOCKET", "LOG"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(*args.serve, os.environ.get("SERVED_PROFILE_KIND"))
        return
    kinds = [k for k in KINDS if not args.kinds or k["kind"] in args.kinds.split(",")]
    archsearch = os.path.join(os.path.dirname(sys.executable), "archsearch")
    work = tempfile.mkdtemp(prefix="served-profile-")
    os.chmod(work, 0o700)
    versions = {}
    for number, version in enumerate(["work tree", *args.against]):
        # archsearch/ of each version copied, first on the path of its server and of its clients
        tree = os.path.join(work, f"code{number}")
        if version == "work tree" or os.path.isdir(os.path.join(version, "archsearch")):
            source = os.path.dirname(BENCH) if version == "work tree" else version
            shutil.copytree(os.path.join(source, "archsearch"), os.path.join(tree, "archsearch"),
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            os.mkdir(tree)
            archive = subprocess.run(["git", "-C", os.path.dirname(BENCH), "archive", version, "archsearch"],
                                     check=True, capture_output=True).stdout
            subprocess.run(["tar", "-x", "-C", tree], input=archive, check=True)
        # Compiled, as pip compiles an installed package (see run.py's snapshot): with
        # PYTHONDONTWRITEBYTECODE set, each client would compile archsearch/__init__.py,
        # lean_imports.py and client.py from source, 5-8 ms that no installed copy pays.
        subprocess.run([sys.executable, "-m", "compileall", "-q", tree], stdout=subprocess.DEVNULL, check=True)
        versions[version] = tree
    script = os.path.join(work, "tantivy_query.py")
    with open(script, "w") as f:
        f.write(TANTIVY_QUERY)
    servers, jobs, envs = {}, [], {}

    def start_server(version, socket_path, log_path):
        server_env = dict(envs[version])
        if args.profile:
            server_env["SERVED_PROFILE_KIND"] = next(k for k in kinds if k["kind"] == args.profile)["text"].split(",")[0]
        server = subprocess.Popen([sys.executable, __file__, args.index, "--serve", socket_path, log_path],
                                  env=server_env, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)
        assert server.stdout.readline() == b"listening\n"
        servers[version] = server, log_path, socket_path

    for version, tree in versions.items():
        folder = os.path.join(work, str(len(servers)))
        os.mkdir(folder, 0o700)
        socket_path, log_path = os.path.join(folder, "server.sock"), os.path.join(folder, "requests.jsonl")
        env = dict(os.environ, ARCHSEARCH_SOCKET=socket_path, ARCHSEARCH_SERVER="manual")
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [tree, os.environ.get("PYTHONPATH")]))
        envs[version] = env
        start_server(version, socket_path, log_path)
        jobs += [((version, k["kind"]), query_argv(archsearch, args.index, k)) for k in kinds]
        jobs += [((version, "client start-up"), [sys.executable, "-c", "import archsearch.client"])]
    jobs += [(("python -c pass", ""), [sys.executable, "-c", "pass"])]
    if args.tantivy:
        jobs += [(("tantivy", k["kind"]), tantivy_argv(sys.executable, script, args.tantivy, k)) for k in kinds]
    results = {key: [] for key, _ in jobs}

    def first_sights():
        """Every server started again, and given two queries of words no kind has (the first opens
        the index, which the server then keeps), unmeasured."""
        for version, (server, log_path, socket_path) in list(servers.items()):
            server.terminate()
            server.wait()
            start_server(version, socket_path, log_path)
            for word in FIRST_SIGHT_WARMING:
                time.sleep(0.3)  # for the spare to rehearse
                timed_process([archsearch, "query", "--index", args.index, word], envs[version])

    try:
        for round_number in range(args.rounds + 1):  # the first round warms up
            if args.first_sight:
                first_sights()
            shift = round_number % len(jobs)
            for key, argv in jobs[shift:] + jobs[:shift]:
                time.sleep(args.pause)
                measured = timed_process(argv, envs.get(key[0], os.environ))
                if round_number:
                    results[key].append(measured)
    finally:
        for server, _, _ in servers.values():
            server.terminate()
            server.wait()
    print(f"load {os.getloadavg()[0]:.1f}; medians of {args.rounds} rounds, ms (wall / CPU / minor faults)")
    walls, cpus = zip(*[(w, c) for w, c, _, _ in results[("python -c pass", "")]])
    print(f"  python -c pass: wall {median(walls) * 1000:.1f}, CPU {median(cpus) * 1000:.1f}")
    for version, (_, log_path, _) in servers.items():
        requests = [json.loads(line) for line in open(log_path)]
        forks = {r["pid"]: r["server_fork_s"] for r in requests if "server_fork_s" in r}
        answered = [r for r in requests if "ended" in r and r.get("argv")]
        print(f"\n===== {version}")
        report(version, kinds, results, answered, forks)
        if args.profile and os.path.exists(log_path + ".profile"):
            print(open(log_path + ".profile").read())


def report(version, kinds, results, answered, forks):
    def ms(value):
        return f"{value * 1000:.1f}"

    walls, cpus = zip(*[(w, c) for w, c, _, _ in results[(version, "client start-up")]])
    print(f"  client start-up (python -c 'import archsearch.client'): wall {ms(median(walls))}, CPU {ms(median(cpus))}")
    for kind in kinds:
        measured = results[(version, kind["kind"])]
        print(f"\n{kind['kind']}: {kind['text']}")
        walls, cpus = [m[0] for m in measured], [m[1] for m in measured]
        line = f"  client process: wall {ms(median(walls))}, CPU {ms(median(cpus))}"
        if ("tantivy", kind["kind"]) in results:
            t = results[("tantivy", kind["kind"])]
            line += f"; tantivy process: wall {ms(median([m[0] for m in t]))}, CPU {ms(median([m[1] for m in t]))}"
        print(line)
        # The request processes of this kind, matched to the client runs by time.
        mine = []
        for wall, cpu, spawned, exited in measured:
            found = [r for r in answered if spawned <= r["answer_started"] <= exited]
            if found:
                mine.append((spawned, exited, found[0]))
        if not mine:
            continue
        spares = sum(1 for _, _, r in mine if r["pid"] not in forks or forks[r["pid"]] is None)
        print(f"  client spawn -> request answered: {ms(median([r['answer_started'] - s for s, _, r in mine]))}; "
              f"request process from then: wall {ms(median([r['ended'] - r['answer_started'] for _, _, r in mine]))}, "
              f"CPU {ms(median([r['cpu_s'] for _, _, r in mine]))}, "
              f"minor faults {median([r['minflt'] for _, _, r in mine]):.0f}, "
              f"collections by generation {[r.get('collections', [0, 0, 0]) for _, _, r in mine][-1]}; "
              f"its end -> client exit: {ms(median([e - r['ended'] for _, e, r in mine]))}; "
              f"{len(mine) - spares} of {len(mine)} forked for the request "
              f"(fork in the server {ms(median([forks[r['pid']] for _, _, r in mine if forks.get(r['pid'])] or [0]))})")
        for _, _, label in PARTS:
            parts = [r["parts"].get(label) for _, _, r in mine]
            parts = [p for p in parts if p]
            if parts:
                print(f"    {label:<20} {ms(median([p[0] for p in parts])):>7} / {ms(median([p[1] for p in parts])):>7}"
                      f" / {median([p[2] for p in parts]):>6.0f}")


if __name__ == "__main__":
    main()
