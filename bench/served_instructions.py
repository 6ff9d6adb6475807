#!/usr/bin/env python3
"""A served query's request process, in instructions: what CPU times on a shared machine cannot tell.

    PYTHONHASHSEED=0 valgrind --tool=callgrind --zero-before=os_getpriority --dump-before=os_getpgid \\
        --callgrind-out-file=OUT/cg.%p python bench/served_instructions.py INDEX QUERY...

Does in one process what `archsearch serve` does (preload, warm the index), then for each QUERY (its
words as one argument: 'syria ceasefire talks', '--since 2017-01 --until 2017-02 election') forks a
process that does what the server's spare does before its request comes (its rehearsal, and its
watcher thread started ahead where the code has one), calls os.getpriority (callgrind zeroes its
counts there: the request starts), runs the command as a request process does (output to
/dev/null, hits remembered after the answer where the code defers them), and calls os.getpgid
(callgrind dumps there: the answer goes); then does what comes after the answer.  OUT/cg.PID.1
holds a request's instructions until its answer, OUT/cg.PID those after it.  Run it with
PYTHONPATH set to another version's archsearch/ to compare (both with the same PYTHONHASHSEED: dict
and set orders change instruction counts; and each with a cache folder of its own, XDG_CACHE_HOME,
warmed by a first run: lean_imports keeps compiled code there).  Callgrind counts instructions in
user space only: page faults and system calls, a large part of a request's CPU, are not in them.
"""
import os
import socket
import sys
import threading
from pathlib import Path

from archsearch import lasthits, server


def main():
    index = Path(sys.argv[1]).absolute()
    server.preload()
    server.warm(index)
    for words in sys.argv[2:]:
        pid = os.fork()
        if pid == 0:
            request(index, words.split())
        os.waitpid(pid, 0)


def request(index: Path, words: list[str]) -> None:
    connection, _client_end = socket.socketpair()
    server.rehearse()
    ahead = hasattr(server, "_start_watcher_ahead")  # versions before it start the thread per request
    if ahead:
        server._start_watcher_ahead()
    output = open(os.devnull, "w")
    streams = sys.stdout, sys.stderr
    os.getpriority(os.PRIO_PROCESS, 0)  # callgrind zeroes here
    deferring = hasattr(lasthits, "deferred")
    if deferring:
        lasthits.deferred = []
    if ahead:
        server._start_watcher(connection)
    else:
        threading.Thread(target=server._watch, args=(connection, threading.get_ident()), daemon=True).start()
    sys.stdout = sys.stderr = output
    server.run(["query", "--index", str(index), *words], "archsearch")
    sys.stdout, sys.stderr = streams
    os.getpgid(0)  # callgrind dumps here
    if deferring:
        lasthits.write_deferred()
    os._exit(0)


if __name__ == "__main__":
    main()
