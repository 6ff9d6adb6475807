#!/usr/bin/env python3
"""What the spare's preparations save its request: CPU and page faults of a served command's run.

    python bench/spare_profile.py INDEX [--runs N] [--kinds LIST]

Prepares this process as `archsearch serve` does (server.preload, the index kept open and
warmed), then, N rounds, the order rotating, for each query kind of bench/run.py and each
variant: forks a process as the server forks its spare, which rehearses (server.rehearse, the
request's checks, and the heap unless the variant leaves it out), then runs the command as a
request does (`server.run`, its output to a string, its hits remembered in a list and never
written), timing only that run: its CPU (user + system) and minor page faults.  Variants:

  rehearsed     server.rehearse() with server.prepare_heap a no-op (the spare before the heap)
  + heap        server.rehearse() as it is (the heap prepared)

Prints the medians per kind and variant, and what the preparations cost the spare.
"""
import argparse
import os
import resource
import statistics
import sys
import time
from pathlib import Path

BENCH = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, BENCH)
from run import KINDS  # noqa: E402  (bench/run.py: the same queries)
from served_profile import query_argv  # noqa: E402  (the command line of a kind)

VARIANTS = ("rehearsed", "+ heap")


def usage():
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime, ru.ru_minflt


def measured(index, kind, variant, fingerprint):
    """(CPU s, minor faults) of the command's run, and (CPU s) of the spare's preparations."""
    import io

    from archsearch import lasthits, server

    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(read)
            if variant == "rehearsed":
                server.prepare_heap = lambda size: False
            started = usage()
            server.rehearse()
            server._rehearse_checks(fingerprint)
            prepared = usage()
            lasthits.deferred = []
            streams = sys.stdout, sys.stderr
            sys.stdout = sys.stderr = io.StringIO()
            start = usage()
            try:
                server.run(query_argv("archsearch", index, kind)[1:], "archsearch")
            finally:
                end = usage()
                sys.stdout, sys.stderr = streams
            for temporary, descriptor, _, _ in lasthits.deferred:
                os.close(descriptor)
                os.unlink(temporary)
            os.write(write, repr((end[0] - start[0], end[1] - start[1], prepared[0] - started[0])).encode())
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read) as stream:
        found = stream.read()
    os.waitpid(pid, 0)
    if not found:
        sys.exit(f"the run of {kind['kind']} ({variant}) failed")
    return eval(found)  # a tuple of numbers written just above


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("index")
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--kinds", help="comma-separated kinds (default: all of bench/run.py)")
    args = parser.parse_args()
    from archsearch import server
    from archsearch.engines.whoosh.store import index_searcher

    kinds = [k for k in KINDS if not args.kinds or k["kind"] in args.kinds.split(",")]
    index = str(Path(args.index).resolve())
    server.preload()
    with index_searcher(Path(index)):
        pass
    server.warm(Path(index))
    fingerprint = server.code_fingerprint()
    jobs = [(kind, variant) for kind in kinds for variant in VARIANTS]
    results = {(kind["kind"], variant): [] for kind, variant in jobs}
    for run in range(args.runs + 1):  # the first round warms the page cache up
        shift = run % len(jobs)
        for kind, variant in jobs[shift:] + jobs[:shift]:
            found = measured(index, kind, variant, fingerprint)
            if run:
                results[(kind["kind"], variant)].append(found)
    print(f"load {os.getloadavg()[0]:.1f}; {server.__file__}; medians of {args.runs} rounds")
    print(f"{'kind':<14} {'variant':<10} {'CPU ms':>7} {'faults':>7} {'spare prep ms':>14}")
    for kind in kinds:
        for variant in VARIANTS:
            rows = results[(kind["kind"], variant)]
            cpu, faults, prep = (statistics.median(row[column] for row in rows) for column in range(3))
            print(f"{kind['kind']:<14} {variant:<10} {cpu * 1000:>7.1f} {faults:>7.0f} {prep * 1000:>14.1f}")


if __name__ == "__main__":
    main()
