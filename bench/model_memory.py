#!/usr/bin/env python3
"""What loading the language model costs a process that identifies languages (an indexing worker):
CPU and memory, alone and two at once.

    python bench/model_memory.py [--repeat K] [--code DIR ...]

Each repetition starts, with each code in turn (`--code DIR`: the archsearch package in DIR, as
for index_cost.py; then the installed one), one process that identifies the language of a
sentence, then two such processes at once.  Each reports its CPU (getrusage: the whole process,
and the identification alone, which imports numpy and py3langid and loads the model) and its
peak RSS, then waits while this one reads its /proc/PID/smaps_rollup: Rss, Pss (a page that n
processes share counted 1/n in each: the memory they really take) and Private (its pages alone).
The model's copy in the cache folder is made beforehand, once per code (not timed), as an
indexing run finds it after the first.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys

INSTALLED = "installed"
IDENTIFY = """
import json, resource, sys, time
from archsearch.analysis.language import identify_language
started = time.process_time()
identify_language("The president said on Tuesday that the talks would resume in Geneva next week.")
identified = time.process_time() - started
usage = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({"cpu_s": usage.ru_utime + usage.ru_stime, "identify_cpu_s": identified,
                  "peak_rss_mib": usage.ru_maxrss / 1024}), flush=True)
sys.stdin.read()
"""


def smaps_rollup(pid: int) -> dict:
    """Rss, Pss and Private (clean and dirty) of a process, in MiB."""
    fields = {}
    with open(f"/proc/{pid}/smaps_rollup") as rollup:
        for line in rollup:
            name, _, value = line.partition(":")
            if value.strip().endswith("kB"):
                fields[name] = int(value.split()[0]) / 1024
    return {"rss_mib": fields["Rss"], "pss_mib": fields["Pss"],
            "private_mib": fields["Private_Clean"] + fields["Private_Dirty"]}


def identifying(code: str, count: int) -> list[dict]:
    """What each of `count` processes identifying a language at once reports, with its memory read
    while they all live."""
    environment = dict(os.environ)
    if code != INSTALLED:
        environment["PYTHONPATH"] = os.path.abspath(code)
    processes = [subprocess.Popen([sys.executable, "-c", IDENTIFY], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  text=True, env=environment, cwd="/") for _ in range(count)]
    try:
        reports = [json.loads(process.stdout.readline()) for process in processes]
        return [{**report, **smaps_rollup(process.pid)} for report, process in zip(reports, processes)]
    finally:
        for process in processes:
            process.stdin.close()
            process.wait()
            process.stdout.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--code", action="append", default=[],
                        help="also measure the archsearch package in this folder, in turn with the installed one")
    options = parser.parse_args()
    codes = [*options.code, INSTALLED]
    for code in codes:  # the copy in the cache folder, made if missing
        identifying(code, 1)
    runs = []
    for _ in range(options.repeat):
        for code in codes:
            for count in (1, 2):
                measured = identifying(code, count)
                runs.append({"code": code, "processes": count, **{key: round(sum(each[key] for each in measured) / count, 3)
                                                                  for key in measured[0]}})
                print(json.dumps(runs[-1]), flush=True)
    for code in codes:
        for count in (1, 2):
            own = [run for run in runs if run["code"] == code and run["processes"] == count]
            print(json.dumps({"code": code, "processes": count, "median_of": len(own),
                              **{key: round(statistics.median(run[key] for run in own), 3)
                                 for key in own[0] if key not in ("code", "processes")}}))


if __name__ == "__main__":
    main()
