#!/usr/bin/env python3
"""What parsing a query costs: querying.parse_query per query kind, read plainly and by Whoosh's
parser with our plugins, warm in one process and first in a fresh one.

    python bench/parse_cost.py [--rounds N] [--against REV]

Warm: in this process, for each of bench/run.py's kinds and a few keystrokes of its live search,
parse_query with the plain reading and with it declining (every query to Whoosh's parser, as
before it), alternating, N rounds of 200 calls each; the median CPU per call.

Fresh: a new process per measurement, byte-compiled copies of the work tree's archsearch/ (and
of REV's with --against), importing archsearch.querying and parsing one query: the CPU of the
import and of the first parse, medians over N rounds, versions alternating.
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

import run as harness  # bench/run.py: the query kinds

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
TEXTS = [kind["text"] if kind["kind"] != "date-ranged" else "election" for kind in harness.KINDS] + [
    "syria c*", "syria cease*", "syria ceasefire t*",
]
FRESH = """
import json, sys, time
started = time.process_time()
import archsearch.querying as querying
from archsearch.schema import build_schema
schema = build_schema()
imported = time.process_time()
querying.parse_query(sys.argv[1], schema, languages=("en", ""))
parsed = time.process_time()
print(json.dumps([imported - started, parsed - imported, "whoosh.qparser" in sys.modules]))
"""


def warm(rounds: int) -> None:
    sys.path.insert(0, REPO)
    from archsearch import querying
    from archsearch.schema import build_schema

    schema = build_schema()
    plain_reading = querying._read_plainly

    def declined(*args):
        raise querying._NotPlain

    times = {(text, way): [] for text in TEXTS for way in ("plain", "whoosh")}
    for _ in range(rounds):
        for text in TEXTS:
            for way, reading in (("plain", plain_reading), ("whoosh", declined)):
                querying._read_plainly = reading
                started = time.process_time()
                for _ in range(200):
                    querying.parse_query(text, schema, languages=("en", ""))
                times[text, way].append((time.process_time() - started) / 200)
    querying._read_plainly = plain_reading
    print("warm, ms of CPU per parse_query (median of rounds): plain reading / Whoosh's parser")
    for text in TEXTS:
        plain, whoosh = (statistics.median(times[text, way]) * 1000 for way in ("plain", "whoosh"))
        print(f"  {text!r:28} {plain:6.3f} / {whoosh:6.3f}  ({plain / whoosh:.2f}x)")


def snapshot(version: str, work: str) -> str:
    """A byte-compiled copy of archsearch/ (the work tree's, or a git revision's)."""
    target = os.path.join(work, version.replace("/", "_"))
    os.makedirs(target)
    if version == "work tree":
        shutil.copytree(os.path.join(REPO, "archsearch"), os.path.join(target, "archsearch"))
    else:
        archive = subprocess.run(["git", "-C", REPO, "archive", version, "archsearch"], capture_output=True, check=True)
        subprocess.run(["tar", "-x", "-C", target], input=archive.stdout, check=True)
    subprocess.run([sys.executable, "-m", "compileall", "-q", target], check=True)
    return target


def fresh(rounds: int, against: list[str]) -> None:
    work = tempfile.mkdtemp(prefix="parse-cost-")
    try:
        versions = {version: snapshot(version, work) for version in ["work tree", *against]}
        results = {(version, text): [] for version in versions for text in TEXTS}
        for _ in range(rounds):
            for text in TEXTS:
                for version, path in versions.items():
                    environment = dict(os.environ, PYTHONPATH=path, PYTHONDONTWRITEBYTECODE="1")
                    output = subprocess.run([sys.executable, "-c", FRESH, text], env=environment, capture_output=True,
                                            text=True, check=True).stdout
                    results[version, text].append(json.loads(output))
        print("fresh process, ms of CPU: import of archsearch.querying (and the schema) + first parse_query")
        for text in TEXTS:
            line = []
            for version in versions:
                runs = results[version, text]
                imported, parsed = (statistics.median(run[part] for run in runs) * 1000 for part in (0, 1))
                line.append(f"{version}: {imported:5.1f} + {parsed:5.2f}{' (qparser)' if runs[0][2] else ''}")
            print(f"  {text!r:28} " + "; ".join(line))
    finally:
        shutil.rmtree(work)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--against", metavar="REV", action="append", default=[])
    args = parser.parse_args()
    warm(args.rounds)
    fresh(args.rounds, args.against)


if __name__ == "__main__":
    main()
