#!/usr/bin/env python3
"""What a served query spends on the hits it shows: copy groups and hits, taken apart, per query.

    python bench/hits_parts.py INDEX [--rounds N] [--kinds LIST] [--profile QUERY --part NAME]

Does in one process what `archsearch serve` does before its requests come (preloads, keeps its
searchers, warms the index), then, N rounds after a first that is not counted, forks for each
query (bench/query_profile.py's kinds) a process that does what the server's spare does (opens
the record of copies: nearduplicates.prepare_copy_groups) and runs search() as a request does,
with the functions below wrapped to time them (CPU, inclusive, summed over the request's calls).
The bodies of the hits the first round read are kept as the server keeps them
(searching.keep_bodies).  It prints the median of each part per query.  To compare two versions,
run it with PYTHONPATH set to each version's byte-compiled archsearch/ in turn (bench/README.md,
branch `wt-hits`).

With --profile QUERY --part NAME the last request of QUERY runs the part NAME (a label below)
under cProfile, whose statistics are printed.
"""
import argparse
import cProfile
import importlib
import io
import json
import os
import pstats
import statistics
import sys
import time
from pathlib import Path

BENCH = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, BENCH)
from query_profile import FORKED_KINDS  # noqa: E402  (bench/run.py's kinds, and two keystrokes of its live search)

# Those, and a usual keystroke of the live search; named by their words.
KINDS = [(text, options) for _, text, options in FORKED_KINDS] + [("syria cease*", {})]

# (module, attribute, label), in the order printed; an attribute a version lacks is left out.
PARTS = [
    ("archsearch.searching", "search", "search()"),
    ("archsearch.searching", "_group_copies", "copy groups"),
    ("archsearch.searching", "copies_of", "copies_of"),
    ("archsearch.searching", "_EvaluatedHit.fields", "stored fields"),
    ("archsearch.searching", "make_hit", "hits"),
    ("archsearch.searching", "_current_body", "bodies"),
    ("archsearch.searching", "matched_words", "matched words"),
    ("archsearch.engines.whoosh.evaluation", "_holds", "prefix: _holds"),
    ("archsearch.engines.whoosh.evaluation", "_forms_starting", "prefix: forms"),
    ("archsearch.searching", "passages", "passages"),
    ("archsearch.passages", "_beginning_pattern", "patterns"),
]


def wrap(spent, profiled, part):
    module_name, attribute, label = part
    owner = importlib.import_module(module_name)
    *path, name = attribute.split(".")
    for step in path:
        owner = getattr(owner, step)
    original = getattr(owner, name, None)
    if original is None:
        return
    profile = profiled.get(label)

    def wrapper(*args, **kwargs):
        started = time.process_time()
        if profile:
            profile.enable()
        try:
            return original(*args, **kwargs)
        finally:
            if profile:
                profile.disable()
            spent[label] = spent.get(label, 0.0) + time.process_time() - started

    setattr(owner, name, wrapper)


def request(index: Path, text: str, options: dict, part: str | None) -> dict:
    """What a forked request spent on each part, and the paths of its hits."""
    from archsearch import nearduplicates, searching

    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(read)
            nearduplicates.prepare_copy_groups(index)
            spent, profiled = {}, ({part: cProfile.Profile(time.process_time)} if part else {})
            for each in PARTS:
                wrap(spent, profiled, each)
            result = searching.search(index, text, **options)
            found = {"spent": spent, "paths": [hit.path for hit in result.hits]}
            if part:
                stream = io.StringIO()
                pstats.Stats(profiled[part], stream=stream).sort_stats("tottime").print_stats(30)
                found["profile"] = stream.getvalue()
            os.write(write, json.dumps(found).encode())
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read) as stream:
        found = json.loads(stream.read() or "null")
    _, status = os.waitpid(pid, 0)
    if status or found is None:
        sys.exit(f"the request for {text!r} failed (status {status})")
    return found


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("index")
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--kinds", help="comma-separated queries, as KINDS writes them (default: all)")
    ap.add_argument("--profile", metavar="QUERY", help="profile one part of QUERY's last request")
    ap.add_argument("--part", metavar="NAME", help="with --profile: the part's label (default: hits)")
    args = ap.parse_args()
    index = Path(args.index).absolute()
    kinds = [kind for kind in KINDS if not args.kinds or kind[0] in args.kinds.split(",")]

    from archsearch import searching, server
    from archsearch.engines.whoosh.store import keep_searchers_open

    for module in server.PRELOADED:
        importlib.import_module(module)
    keep_searchers_open()
    server.warm(index)
    found = {text: [] for text, _ in kinds}
    for round_number in range(args.rounds + 1):
        shift = round_number % len(kinds)
        for text, options in kinds[shift:] + kinds[:shift]:
            last = round_number == args.rounds and text == args.profile
            result = request(index, text, options, (args.part or "hits") if last else None)
            if round_number == 0:
                searching.keep_bodies(result["paths"])  # as the server keeps those its requests read
            else:
                found[text].append(result)
    labels = [label for _, _, label in PARTS]
    print(f"{index} ({searching.__file__}): CPU ms, medians of {args.rounds} rounds")
    print(f"{'':<24}" + "".join(f"{label[:14]:>15}" for label in labels))
    for text, results in found.items():
        print(f"{text[:24]:<24}" + "".join(
            f"{statistics.median(result['spent'].get(label, 0.0) for result in results) * 1000:>15.2f}"
            for label in labels
        ))
    if args.profile:
        print(found[args.profile][-1].get("profile", ""))


if __name__ == "__main__":
    main()
