#!/usr/bin/env python3
"""bench/run.py's live search, two installs of archsearch alternating keystroke by keystroke.

    python bench/live_pair.py INDEX ARCHSEARCH_A ARCHSEARCH_B [--rounds N]

Each ARCHSEARCH is an installed `archsearch` command (a regular, non-editable install: see
bench/README.md).  Starts `archsearch serve` of each on a socket of its own, types bench/run.py's
LIVE_TEXT once to warm both, then N rounds (default 7): for each keystroke, the query of the text
so far (its last word a prefix) through each server and without one (ARCHSEARCH_SERVER=off), the
installs' order alternating.  Run one after the other, two versions meet the machine's load at
different times, and on a shared machine that difference is larger than the one measured.
Prints, per install, the p50 and p90 over all keystrokes of the served wall time, the p50 of the
unserved process's wall and CPU time, and the served p50 of each keystroke.
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

import run as harness  # bench/run.py: LIVE_TEXT, run(), percentile()


def start_server(command: str, socket_path: str) -> subprocess.Popen:
    env = dict(os.environ, ARCHSEARCH_SOCKET=socket_path)
    env.pop("ARCHSEARCH_SERVER", None)
    server = subprocess.Popen([command, "serve"], env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 30
    while not os.path.exists(socket_path):
        if server.poll() is not None or time.monotonic() > deadline:
            sys.exit(f"`{command} serve` did not start")
        time.sleep(0.05)
    return server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("index")
    parser.add_argument("installs", nargs=2, metavar="ARCHSEARCH")
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    typed = [harness.LIVE_TEXT[:length] for length in range(1, len(harness.LIVE_TEXT) + 1)]
    work = tempfile.mkdtemp(prefix="live-pair-")
    servers = []
    try:
        environments = []
        for number, command in enumerate(args.installs):
            socket_path = os.path.join(work, f"server{number}.sock")
            servers.append(start_server(command, socket_path))
            environments.append((dict(os.environ, ARCHSEARCH_SOCKET=socket_path),
                                 dict(os.environ, ARCHSEARCH_SERVER="off")))
        served = {(number, text): [] for number in range(2) for text in typed}
        unserved = {number: [] for number in range(2)}
        for round_number in range(args.rounds + 1):  # round 0 warms up
            for position, text in enumerate(typed):
                words = text.split()
                query = words[:-1] + [words[-1] + "*"] if not text.endswith(" ") else words
                order = (0, 1) if (round_number + position) % 2 == 0 else (1, 0)
                for number in order:
                    command = [args.installs[number], "query", "--index", args.index, *query]
                    with_server, without = environments[number]
                    answered, alone = harness.run(command, env=with_server), harness.run(command, env=without)
                    if not (answered.ok() and alone.ok()):
                        sys.exit(f"{command} failed: {answered.stderr or alone.stderr}")
                    if round_number:
                        served[number, text].append(answered.wall)
                        unserved[number].append((alone.wall, alone.cpu))
        for number, command in enumerate(args.installs):
            walls = [wall for text in typed for wall in served[number, text]]
            alone = unserved[number]
            print(f"{command}: served p50 {harness.percentile(walls, 50) * 1000:.1f} ms, "
                  f"p90 {harness.percentile(walls, 90) * 1000:.1f} ms; no server p50 wall "
                  f"{harness.percentile([wall for wall, _ in alone], 50) * 1000:.1f} ms, CPU "
                  f"{harness.percentile([cpu for _, cpu in alone], 50) * 1000:.1f} ms")
            print("  served p50 per keystroke: " + ", ".join(
                f"{text!r} {harness.percentile(served[number, text], 50) * 1000:.0f}" for text in typed))
    finally:
        for server in servers:
            server.terminate()
            server.wait(10)
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
