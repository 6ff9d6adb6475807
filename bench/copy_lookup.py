"""The cluster indexer's copy lookup as the cluster grows (issue 17).

    python bench/copy_lookup.py /work/corpora-bench/1m/00{00..49} --shards 4 --jobs 2 \\
        --json bench/results/copy-lookup-50k.json

builds the folders into SHARDS `xapian-tcpsrv --writable` shards on loopback (in a temporary
folder, or --work-dir, removed at the end) with the archsearch it imports (PYTHONPATH chooses
which), in this process, and reports per batch: the articles the cluster held before it, the
wall and CPU time of the batch's copy lookup (ClusterRun.copy_groups, in the writing thread),
the documents it read from the shards and their bytes (stored data and values), the bytes of
match-spy values it received, and the indexing process's wall and CPU time per 1,000 articles
between batches (the worker processes' CPU is not in it).  --compare-reading also runs each
batch's lookup of committed articles both ways on the same cluster, in turns: by match spy, and
by reading every matching document as before the COPY_SLOT value existed (that fallback, made to
take every match), and checks they give the same candidates.
"""

import argparse
import json
import os
import shutil
import signal
import sys
import tempfile
import time

BENCH = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, BENCH)

from cluster import start_shards  # noqa: E402

IDLE_MS = 3_600_000
UNUSED_SLOT = 99


class Counted:
    """Documents read and match-spy values received, counted through wrappers on the bindings."""

    def __init__(self, xapian):
        self.documents = self.document_bytes = self.spy_bytes = 0
        counted = self
        item_document = xapian.MSetItem.document.fget
        database_document = xapian.Database.get_document

        def read(document):
            counted.documents += 1
            counted.document_bytes += len(document.get_data()) + sum(len(item.value) for item in document.values())
            return document

        def first_read(item):  # an item keeps its document once read
            return item_document(item) if item._document is not None else read(item_document(item))

        xapian.MSetItem.document = property(first_read)
        xapian.Database.get_document = lambda database, *args: read(database_document(database, *args))

        class ValueCountMatchSpy(xapian.ValueCountMatchSpy):
            def values(self):
                for item in super().values():
                    counted.spy_bytes += len(item.term)
                    yield item

        xapian.ValueCountMatchSpy = ValueCountMatchSpy

    def snapshot(self) -> tuple[int, int, int]:
        return self.documents, self.document_bytes, self.spy_bytes


def instrument(indexer, xapian, batches: list, compare_reading: bool) -> None:
    counted = Counted(xapian)
    copy_groups = indexer.ClusterRun.copy_groups
    commit = indexer.ClusterRun.commit
    clock = {"wall": time.perf_counter(), "cpu": time.process_time()}

    def measured(operation) -> tuple:
        before = counted.snapshot()
        wall, cpu = time.perf_counter(), time.thread_time()
        result = operation()
        wall, cpu = time.perf_counter() - wall, time.thread_time() - cpu
        return (result, wall, cpu, *(after - start for after, start in zip(counted.snapshot(), before)))

    def reading_lookup(run, bands):
        """The lookup as it was: every matching document read (a slot no document has makes every
        match one "written before the slot existed"), after a spy pass that finds no value."""
        slot = indexer.COPY_SLOT
        indexer.COPY_SLOT = UNUSED_SLOT
        try:
            return run._committed_copies(bands)
        finally:
            indexer.COPY_SLOT = slot

    def timed_copy_groups(run, articles):
        held = run.reader.get_doccount()
        groups, wall, cpu, documents, document_bytes, spy_bytes = measured(lambda: copy_groups(run, articles))
        batch = {
            "held": held, "articles": len(articles), "lookup_wall_s": wall, "lookup_cpu_s": cpu,
            "documents_read": documents, "document_bytes": document_bytes, "spy_bytes": spy_bytes,
        }
        line = f"{time.strftime('%H:%M:%S')} {held:,} held: lookup {wall:.2f} s ({cpu:.2f} s CPU), {documents:,} documents read"
        if compare_reading:
            bands = {band for article in articles for band in indexer.band_terms(article.signature)}
            ways = {"spy": lambda: run._committed_copies(bands), "reading": lambda: reading_lookup(run, bands)}
            order = sorted(ways, reverse=len(batches) % 2 == 1)  # each first in turn
            found = {}
            for way in order:
                found[way], *measures = measured(ways[way])
                batch[way] = dict(zip(("wall_s", "cpu_s", "documents", "document_bytes", "spy_bytes"), measures))
            batch["same_candidates"] = found["spy"] == found["reading"]
            line += (f"; spy {batch['spy']['wall_s']:.2f} s, reading {batch['reading']['wall_s']:.2f} s "
                     f"({batch['reading']['documents']:,} documents), same: {batch['same_candidates']}")
        batches.append(batch)
        print(line, flush=True)
        return groups

    def timed_commit(run, segments, deleted_keys):
        articles = sum(len(segment) for segment in segments)
        now_wall, now_cpu = time.perf_counter(), time.process_time()
        if articles:
            # The time since the last batch was handed over: reading it, and writing the one before.
            per_thousand = 1000 / articles
            batches_read.append({
                "articles": articles, "wall_per_1000_s": (now_wall - clock["wall"]) * per_thousand,
                "cpu_per_1000_s": (now_cpu - clock["cpu"]) * per_thousand,
            })
        clock.update(wall=now_wall, cpu=now_cpu)
        return commit(run, segments, deleted_keys)

    batches_read = []
    instrument.read = batches_read
    indexer.ClusterRun.copy_groups = timed_copy_groups
    indexer.ClusterRun.commit = timed_commit


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folders", nargs="+")
    parser.add_argument("--shards", type=int, default=4)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--commit-every", type=int, default=2000)
    parser.add_argument("--work-dir")
    parser.add_argument("--json")
    parser.add_argument("--compare-reading", action="store_true",
                        help="also run each batch's lookup both ways, by spy and by reading the documents, in turns")
    args = parser.parse_args()

    import xapian

    from archsearch.engines.xapian import indexer
    from archsearch.engines.xapian.clusterfile import init_cluster

    folder = tempfile.mkdtemp(prefix="copy-lookup-", dir=args.work_dir)
    # xapian-tcpsrv drops a connection idle for 60 s by default, and the indexer's connections
    # wait while it scans the folders and reads the first batch.
    servers = start_shards(folder, [0] * args.shards, ["--idle-timeout", str(IDLE_MS)])
    batches = []
    try:
        cluster_file = os.path.join(folder, "cluster.toml")
        init_cluster(cluster_file, [f"127.0.0.1:{port}" for _, port in servers])
        instrument(indexer, xapian, batches, args.compare_reading)
        started = time.perf_counter()
        report = indexer.update_cluster(cluster_file, [os.path.abspath(name) for name in args.folders], jobs=args.jobs,
                                        commit_every=args.commit_every)
        elapsed = time.perf_counter() - started
    finally:
        for process, _ in servers:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        shutil.rmtree(folder, ignore_errors=True)
    print(f"{report.added:,} articles in {elapsed:.1f} s ({report.added / elapsed:.1f} articles/s), "
          f"code: {os.path.dirname(indexer.__file__)}")
    print(f"{'held':>8} {'batch':>6} {'lookup wall':>12} {'lookup CPU':>11} {'docs read':>10} {'doc MB':>8} "
          f"{'spy MB':>8} {'wall/1000':>10} {'CPU/1000':>9}")
    for batch, read in zip(batches, instrument.read):
        print(f"{batch['held']:>8,} {batch['articles']:>6,} {batch['lookup_wall_s']:>11.2f}s {batch['lookup_cpu_s']:>10.2f}s "
              f"{batch['documents_read']:>10,} {batch['document_bytes'] / 1e6:>8.1f} {batch['spy_bytes'] / 1e6:>8.2f} "
              f"{read['wall_per_1000_s']:>9.1f}s {read['cpu_per_1000_s']:>8.2f}s")
    if args.json:
        with open(args.json, "w") as out:
            json.dump({"articles": report.added, "build_s": elapsed, "shards": args.shards, "jobs": args.jobs,
                       "lookups": batches, "batches": instrument.read}, out, indent=1)


if __name__ == "__main__":
    main()
