#!/usr/bin/env python3
"""The cluster engine (Xapian shards) next to the embedded engine (Whoosh), on one corpus.

    python bench/cluster.py CORPUS_DIR... [--shards 4] [--jobs 2] [--repeat N]
                            [--embedded-index DIR | --embedded-index-file FILE | --no-embedded] [--json OUT]
                            [--progress-every SECONDS] [--work-dir DIR | --folder DIR]

On this machine it starts SHARDS `xapian-tcpsrv --writable` processes on loopback (each on a
folder of its own under a temporary folder, stopped and removed at the end), makes a cluster
file, and measures for both engines, with the installed `archsearch` command:

  build   `archsearch index --jobs JOBS` of the CORPUS_DIRs into a fresh index (wall time, articles/s,
          peak RSS of the indexer and its workers, and for the cluster the shard servers' RSS
          once built and their size on disk); with --embedded-index DIR the embedded engine's
          index is DIR, built before (its build is not measured here, its size is); with
          --embedded-index-file FILE, the folder FILE names once the cluster is built (for an
          index still being built elsewhere), and if FILE is not there then, the cluster alone;
          with --no-embedded the cluster is measured alone;
  query   bench/run.py's query kinds: p50/p95 of `archsearch query ... > /dev/null`, a process
          per query ("per process", ARCHSEARCH_SERVER=off), and of the engine's search() in one
          long-lived Python process ("served": what `archsearch serve` pays beyond start-up);
          one warm-up round, then REPEAT rounds, each running every kind on both engines in
          turn, so that load from elsewhere falls on both alike.

While the cluster is built, a line every --progress-every seconds gives the articles the shards
hold and the rate so far (for a long build's log).  Several CORPUS_DIRs are indexed together
(/work/corpora-bench/20k is links to folders of 1m, which `archsearch index` does not follow:
name the folders, /work/corpora-bench/1m/00{00..19}).  Needs xapian-tcpsrv (Debian xapian-tools)
and the cluster extra.  See bench/README.md.

A 1M build takes hours: with --folder DIR the shards, the cluster file and the embedded index are
kept in DIR, and a run interrupted there (a session that ended, a reboot) is continued by the same
command: the shards are served again on the ports DIR/cluster.toml names and each index goes on
from where its record of indexed files stops (both are incremental).  The build times are then
this run's only; the CPU times (the indexer's, and the shard servers' beside it) are reported too,
as they do not depend on the load.
"""
import argparse
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

BENCH = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, BENCH)

from run import KINDS, _children_map, dir_size, fmt_mib, fmt_n, fmt_s, iter_files, percentile, run, tree_rss  # noqa: E402


def query_args(kind):
    """The options and words of `archsearch query` for one of run.KINDS."""
    if "phrase" in kind:
        words = [f'"{kind["phrase"]}"']
    elif "either" in kind:
        words = [" OR ".join(kind["either"])]
    else:
        words = list(kind["words"])
    options = ["--since", kind["since"], "--until", kind["until"]] if "since" in kind else []
    return options, words


# How long a shard's server may take to listen on its port.
START_SECONDS = 10
# Ports tried in turn for a shard when a port found free is taken before its server binds it.
PORT_TRIES = 5


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def listening_socket(port):
    """The inode of the socket listening on 127.0.0.1:port, if one is (Linux's /proc/net/tcp)."""
    with open("/proc/net/tcp", encoding="ascii") as table:
        for line in table.read().splitlines()[1:]:
            fields = line.split()
            if fields[1] == f"0100007F:{port:04X}" and fields[3] == "0A":  # 0A: LISTEN
                return fields[9]
    return None


def sockets_of(pid):
    """The inodes of the sockets process pid holds."""
    held = set()
    for descriptor in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{descriptor}")
        except OSError:  # closed since listed
            continue
        if target.startswith("socket:["):
            held.add(target[len("socket:["):-1])
    return held


def start_shard(folder, port=0, options=()):
    """`xapian-tcpsrv --writable` on folder, in a process group of its own (it forks a process per
    connection), on `port` or, if 0, a port found free; (process, port) once that process itself
    listens there.  A port found free may be taken by another process before the server binds it
    (then the server fails, or a client would reach the other process): another is tried, up to
    PORT_TRIES.  RuntimeError if it does not start."""
    for _ in range(1 if port else PORT_TRIES):
        chosen = port or free_port()
        process = subprocess.Popen(
            ["xapian-tcpsrv", "--writable", "--quiet", "--interface", "127.0.0.1", "--port", str(chosen), *options,
             str(folder)],
            start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline and process.poll() is None:
            if listening_socket(chosen) in sockets_of(process.pid):
                return process, chosen
            time.sleep(0.05)
        stop_shard(process)
    raise RuntimeError(f"xapian-tcpsrv did not start on {folder} (port {chosen})")


def stop_shard(process):
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def cluster_ports(cluster_file):
    """The shard ports a cluster file made by this script names, in shard order."""
    import tomllib

    with open(cluster_file, "rb") as described:
        return [int(shard["read"].rsplit(":", 1)[1]) for shard in tomllib.load(described)["shards"]]


def start_shards(folder, ports, options=()):
    """A shard server on each of folder's shard folders (start_shard), on the ports given (0: one
    found free); (process, port) of each."""
    servers = []
    try:
        for number, port in enumerate(ports):
            servers.append(start_shard(os.path.join(folder, f"shard{number}"), port, options))
    except BaseException:
        for process, _ in servers:
            stop_shard(process)
        raise
    return servers


def shard_articles(ports):
    """Articles the shards hold (their servers asked now), or None if one does not answer."""
    import xapian

    total = 0
    for port in ports:
        try:
            total += xapian.remote_open("127.0.0.1", port, 30_000).get_doccount()
        except xapian.Error:
            return None
    return total


def report_progress(ports, every, started, done):
    """A line per `every` seconds while the cluster is built: articles so far, and the rate of
    this run (a continued build's shards held articles before it started)."""
    held_before = shard_articles(ports) or 0
    while not done.wait(every):
        count = shard_articles(ports)
        elapsed = time.perf_counter() - started
        if count is not None:
            print(f"  {time.strftime('%H:%M:%S')}  {elapsed / 60:7.1f} min  {count:>10,} articles  "
                  f"{(count - held_before) / elapsed:7.1f} articles/s", flush=True)


def process_cpu(pid):
    """CPU seconds a live process has used (Linux /proc), or None once it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            utime, stime = f.read().rsplit(b")", 1)[1].split()[11:13]
    except OSError:
        return None
    return (int(utime) + int(stime)) / os.sysconf("SC_CLK_TCK")


def sample_servers_cpu(servers, every, done):
    """CPU seconds the shard servers' processes used until `done`, sampled every `every` seconds:
    xapian-tcpsrv forks a process per connection and does not wait for it, so its CPU never
    reaches the server's own counters; a connection's last moments before a sample are lost."""
    children, seen = _children_map(), {}
    before = {pid: process_cpu(pid) or 0.0 for process, _ in servers for pid in [process.pid, *children.get(process.pid, ())]}
    while True:
        children = _children_map()
        for process, _ in servers:
            for pid in (process.pid, *children.get(process.pid, ())):
                used = process_cpu(pid)
                if used is not None:
                    seen[pid] = used
        if done.wait(every):
            return sum(seen.values()) - sum(before.get(pid, 0.0) for pid in seen)


def build(name, location, corpus, command, jobs, ports=(), progress_every=0, servers=()):
    print(f"{name}: indexing {len(corpus)} folder(s) with --jobs {jobs} ...", flush=True)
    done = threading.Event()
    servers_cpu = []
    if servers:
        sampler = threading.Thread(target=lambda: servers_cpu.append(sample_servers_cpu(servers, 0.5, done)), daemon=True)
        sampler.start()
    if ports and progress_every:
        threading.Thread(
            target=report_progress, args=(ports, progress_every, time.perf_counter(), done), daemon=True
        ).start()
    try:
        built = run([command, "index", "--quiet", "--jobs", str(jobs), "--index", location, *corpus], sample_rss=True)
    finally:
        done.set()
        if servers:
            sampler.join()
    if not built.ok():
        sys.exit(f"bench/cluster.py: {name}: indexing failed: {built.why()}")
    print(f"{name}: built in {fmt_s(built.wall)}", flush=True)
    result = {"build_s": built.wall, "indexer_cpu_s": built.cpu, "indexer_rss_bytes": built.tree_peak or built.maxrss}
    if servers:
        result["servers_cpu_s"] = servers_cpu[0]
    return result


def served_searches(location):
    """Per kind, a function running it through the engine, opened once in this process."""
    from archsearch.engines import open_engine

    engine = open_engine(location)
    searches = {}
    for kind in KINDS:
        options, words = query_args(kind)
        dates = {"since": options[1], "until": options[3]} if options else {}
        searches[kind["kind"]] = lambda text=" ".join(words), dates=dates: engine.search(text, **dates)
    return searches


def measure_queries(locations, command, repeat_count):
    """{engine: {kind: {process_p50_s, ...}}}, every kind on every engine in turn, per round."""
    env = dict(os.environ, ARCHSEARCH_SERVER="off")
    served = {name: served_searches(location) for name, location in locations.items()}
    times = {name: {kind["kind"]: {"process": [], "served": []} for kind in KINDS} for name in locations}
    for round_number in range(repeat_count + 1):  # round 0 warms up
        for kind in KINDS:
            options, words = query_args(kind)
            for name, location in locations.items():
                answered = run([command, "query", "--index", location, *options, *words], env=env)
                if not answered.ok(allowed=(0, 1)):
                    sys.exit(f"bench/cluster.py: {name}: query failed: {answered.why()}")
                started = time.perf_counter()
                served[name][kind["kind"]]()
                in_process = time.perf_counter() - started
                if round_number:
                    times[name][kind["kind"]]["process"].append(answered.wall)
                    times[name][kind["kind"]]["served"].append(in_process)
    return {
        name: {
            kind: {
                f"{way}_{p}_s": percentile(runs[way], int(p[1:]))
                for way in ("process", "served") for p in ("p50", "p95")
            }
            for kind, runs in kinds.items()
        }
        for name, kinds in times.items()
    }


def named_index(path):
    """The folder the file at `path` names, if the file is there."""
    if not path or not os.path.isfile(path):
        return None
    with open(path) as named:
        return named.read().strip() or None


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("corpus", nargs="+")
    parser.add_argument("--shards", type=int, default=4)
    parser.add_argument("--jobs", type=int, default=2, help="`archsearch index --jobs` for both engines")
    parser.add_argument("--repeat", type=int, default=10)
    embedded = parser.add_mutually_exclusive_group()
    embedded.add_argument("--embedded-index", help="an embedded index of the corpus built before: not built again")
    embedded.add_argument("--embedded-index-file", help="a file naming that index, read once the cluster is built")
    embedded.add_argument("--no-embedded", action="store_true", help="measure the cluster alone")
    parser.add_argument("--json", dest="json_out")
    parser.add_argument("--progress-every", type=float, default=60, help="seconds between progress lines (0: none)")
    kept = parser.add_mutually_exclusive_group()
    kept.add_argument("--work-dir", help="where the temporary folder of shards and indexes is made")
    kept.add_argument("--folder", help="a folder of shards and indexes kept afterwards; a run interrupted there is continued")
    args = parser.parse_args()
    if shutil.which("xapian-tcpsrv") is None:
        sys.exit("bench/cluster.py: xapian-tcpsrv is not installed (Debian: apt-get install xapian-tools)")
    if args.embedded_index and not os.path.isdir(args.embedded_index):
        sys.exit(f"bench/cluster.py: --embedded-index {args.embedded_index}: no such folder")
    command = os.path.join(os.path.dirname(sys.executable), "archsearch")
    corpus = [os.path.abspath(folder) for folder in args.corpus]
    articles = sum(1 for folder in corpus for _ in iter_files(folder))  # one article a file in bench/make_corpus.py's corpora
    built_before = None
    if args.folder:
        os.makedirs(args.folder, exist_ok=True)
        kept_folder = contextlib.nullcontext(os.path.abspath(args.folder))
    else:
        kept_folder = tempfile.TemporaryDirectory(prefix="archsearch-cluster-bench-", dir=args.work_dir)
    with kept_folder as folder:
        location = os.path.join(folder, "cluster.toml")
        continued = os.path.isfile(location)
        if continued:
            ports = cluster_ports(location)
            if len(ports) != args.shards:
                sys.exit(f"bench/cluster.py: {location} names {len(ports)} shards, not --shards {args.shards}")
            print(f"continuing the build in {folder} (shards on ports {', '.join(map(str, ports))})", flush=True)
        else:
            ports = [0] * args.shards
        try:
            servers = start_shards(folder, ports)
        except RuntimeError as exc:
            sys.exit(f"bench/cluster.py: {exc}")
        ports = [port for _, port in servers]
        try:
            if not continued:
                made = run([command, "cluster", "init", location, *[arg for port in ports for arg in ("--shard", f"127.0.0.1:{port}")]])
                if not made.ok():
                    sys.exit(f"bench/cluster.py: cluster init failed: {made.why()}")
            locations = {"cluster": location}
            results = {}
            if not (args.no_embedded or args.embedded_index or args.embedded_index_file):
                locations["embedded"] = os.path.join(folder, "embedded")
                results["embedded"] = build("embedded", locations["embedded"], corpus, command, args.jobs)
            results["cluster"] = build(
                f"cluster of {args.shards}", location, corpus, command, args.jobs, ports, args.progress_every, servers
            )
            built_before = args.embedded_index or named_index(args.embedded_index_file)
            if built_before:
                locations["embedded"] = built_before
                results["embedded"] = {"build_s": None, "indexer_rss_bytes": None}
            elif args.embedded_index_file:
                print(f"{args.embedded_index_file} is not there: the cluster is measured alone", flush=True)
            if "embedded" in locations:
                results["embedded"]["disk_bytes"] = dir_size(locations["embedded"])
            results["cluster"]["servers_rss_bytes"] = sum(tree_rss(process.pid) for process, _ in servers)
            results["cluster"]["disk_bytes"] = sum(dir_size(os.path.join(folder, f"shard{n}")) for n in range(args.shards))
            results["cluster"]["articles_held"] = shard_articles(ports)
            print("queries ...", flush=True)
            queries = measure_queries(locations, command, args.repeat)
            for name, kinds in queries.items():
                results[name]["queries"] = kinds
        finally:
            for process, _ in servers:
                stop_shard(process)
    for engine in results.values():
        engine["articles"] = articles
    if continued:
        print("(a continued build: the build times are this run's alone)")
    report(results, args.shards)
    if args.json_out:
        with open(args.json_out, "w") as out:
            json.dump({"corpus": corpus, "shards": args.shards, "jobs": args.jobs, "continued": continued,
                       "embedded_index_built_before": built_before, **results}, out, indent=2)


def report(results, shards):
    cluster = results["cluster"]
    embedded = results.get("embedded", {"queries": {kind["kind"]: {} for kind in KINDS}})
    for engine in (embedded, cluster):
        engine["rate"] = engine["articles"] / engine["build_s"] if engine.get("build_s") else None
    print(f"\n{'':28} {'embedded':>14} {f'{shards} shards':>14}")
    for label, key, show in (
        ("articles", "articles", fmt_n), ("build", "build_s", fmt_s),
        ("articles/s", "rate", lambda rate: "-" if rate is None else f"{rate:.1f}"),
        ("indexer CPU", "indexer_cpu_s", fmt_s), ("shard servers CPU", "servers_cpu_s", fmt_s),
        ("indexer peak RSS", "indexer_rss_bytes", fmt_mib),
        ("shard servers RSS, built", "servers_rss_bytes", fmt_mib), ("on disk", "disk_bytes", fmt_mib),
    ):
        print(f"{label:28} {show(embedded.get(key)):>14} {show(cluster.get(key)):>14}")
    print(f"\n{'query p50 (per process / served)':32} {'embedded':>22} {f'{shards} shards':>22}")
    for kind in KINDS:
        cells = [
            f"{fmt_s(engine['queries'][kind['kind']].get('process_p50_s'))} / "
            f"{fmt_s(engine['queries'][kind['kind']].get('served_p50_s'))}"
            for engine in (embedded, cluster)
        ]
        print(f"{kind['kind'] + ': ' + kind['text']:32} {cells[0]:>22} {cells[1]:>22}")


if __name__ == "__main__":
    main()
