#!/usr/bin/env python3
"""The cluster engine (Xapian shards) next to the embedded engine (Whoosh), on one corpus.

    python bench/cluster.py CORPUS_DIR [--shards 4] [--repeat N] [--json OUT]

On this machine it starts SHARDS `xapian-tcpsrv --writable` processes on loopback (each on a
folder of its own under a temporary folder, stopped at the end), makes a cluster file, and
measures for both engines, with the installed `archsearch` command:

  build   `archsearch index` of CORPUS_DIR into a fresh index (wall time, articles/s, peak RSS
          of the indexer, and for the cluster the shard servers' peak RSS and size on disk);
  query   bench/run.py's query set: p50/p95 of `archsearch query ... > /dev/null`, a process
          per query ("per process"), and of the engine's search() in one long-lived Python
          process ("served": what `archsearch serve` pays beyond start-up), after a warm-up.

Needs xapian-tcpsrv (Debian xapian-tools) and the cluster extra.  See bench/README.md.
"""
import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

BENCH = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, BENCH)

from run import QUERIES, dir_size, fmt_mib, fmt_n, fmt_s, iter_files, percentile, repeat, run, tree_rss  # noqa: E402


def query_args(query):
    words = list(query.get("words", []))
    if "phrase" in query:
        words.append(f'"{query["phrase"]}"')
    options = []
    if "since" in query:
        options += ["--since", query["since"], "--until", query["until"]]
    return options, words


def start_shards(folder, count):
    servers = []
    for number in range(count):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        process = subprocess.Popen(
            ["xapian-tcpsrv", "--writable", "--quiet", "--interface", "127.0.0.1", "--port", str(port),
             os.path.join(folder, f"shard{number}")],
            start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", port), 0.5).close()
                break
            except OSError:
                time.sleep(0.05)
        servers.append((process, port))
    return servers


def served_times(location, repeat_count):
    """Per query, the engine's search() timed in this process, the engine opened once."""
    from archsearch.engines import open_engine

    engine = open_engine(location)
    times = {}
    for query in QUERIES:
        options, words = query_args(query)
        since = options[1] if options else None
        until = options[3] if options else None
        engine.search(" ".join(words), since=since, until=until)  # warm-up
        runs = []
        for _ in range(repeat_count):
            started = time.perf_counter()
            engine.search(" ".join(words), since=since, until=until)
            runs.append(time.perf_counter() - started)
        times[query["name"]] = runs
    return times


def measure(name, location, corpus, command, repeat_count, servers=()):
    print(f"{name}: indexing {corpus} ...", flush=True)
    peak_servers = [0]
    built = run([command, "index", "--quiet", "--index", location, corpus], sample_rss=True)
    if not built.ok():
        sys.exit(f"bench/cluster.py: {name}: indexing failed: {built.why()}")
    for process, _ in servers:
        peak_servers[0] += tree_rss(process.pid)
    count = sum(1 for _ in iter_files(corpus))  # one article a file in bench/make_corpus.py's corpora
    result = {
        "build_s": built.wall, "articles": count, "indexer_maxrss_bytes": built.maxrss,
        "servers_rss_bytes": peak_servers[0] or None, "queries": {},
    }
    served = served_times(location, repeat_count)
    for query in QUERIES:
        options, words = query_args(query)
        times, failed, _ = repeat([command, "query", "--index", location, *options, *words], repeat_count, allowed=(0, 1))
        if failed:
            sys.exit(f"bench/cluster.py: {name}: query failed: {failed.why()}")
        result["queries"][query["name"]] = {
            "process_p50_s": percentile(times, 50), "process_p95_s": percentile(times, 95),
            "served_p50_s": percentile(served[query["name"]], 50), "served_p95_s": percentile(served[query["name"]], 95),
        }
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("corpus")
    parser.add_argument("--shards", type=int, default=4)
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--json", dest="json_out")
    args = parser.parse_args()
    if shutil.which("xapian-tcpsrv") is None:
        sys.exit("bench/cluster.py: xapian-tcpsrv is not installed (Debian: apt-get install xapian-tools)")
    command = os.path.join(os.path.dirname(sys.executable), "archsearch")
    corpus = os.path.abspath(args.corpus)
    with tempfile.TemporaryDirectory(prefix="archsearch-cluster-bench-") as folder:
        servers = start_shards(folder, args.shards)
        try:
            location = os.path.join(folder, "cluster.toml")
            shard_args = [arg for _, port in servers for arg in ("--shard", f"127.0.0.1:{port}")]
            made = run([command, "cluster", "init", location, *shard_args])
            if not made.ok():
                sys.exit(f"bench/cluster.py: cluster init failed: {made.why()}")
            results = {
                "embedded": measure("embedded", os.path.join(folder, "embedded"), corpus, command, args.repeat),
                "cluster": measure(f"cluster of {args.shards}", location, corpus, command, args.repeat, servers),
            }
            results["embedded"]["disk_bytes"] = dir_size(os.path.join(folder, "embedded"))
            results["cluster"]["disk_bytes"] = sum(dir_size(os.path.join(folder, f"shard{n}")) for n in range(args.shards))
        finally:
            for process, _ in servers:
                try:
                    os.killpg(process.pid, 9)
                except OSError:
                    pass
                process.wait()
    report(results, args.shards)
    if args.json_out:
        with open(args.json_out, "w") as out:
            json.dump({"corpus": corpus, "shards": args.shards, **results}, out, indent=2)


def report(results, shards):
    embedded, cluster = results["embedded"], results["cluster"]
    print(f"\n{'':28} {'embedded':>14} {f'{shards} shards':>14}")
    for label, key, show in (
        ("articles", "articles", fmt_n), ("build", "build_s", fmt_s), ("indexer peak RSS", "indexer_maxrss_bytes", fmt_mib),
        ("shard servers RSS, built", "servers_rss_bytes", fmt_mib), ("on disk", "disk_bytes", fmt_mib),
    ):
        print(f"{label:28} {show(embedded.get(key)):>14} {show(cluster.get(key)):>14}")
    print(f"\n{'query p50 (per process / served)':40} {'embedded':>20} {f'{shards} shards':>20}")
    for name in embedded["queries"]:
        cells = [
            f"{fmt_s(engine['queries'][name]['process_p50_s'])} / {fmt_s(engine['queries'][name]['served_p50_s'])}"
            for engine in (embedded, cluster)
        ]
        print(f"{name:40} {cells[0]:>20} {cells[1]:>20}")


if __name__ == "__main__":
    main()
