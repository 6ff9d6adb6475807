"""The memory a spare makes its own ahead (server.prepare_heap), so that its request's large arrays
take no page faults; and none of it in a process that is no spare."""

import platform
import subprocess
import sys

import pytest

from test_server import (  # noqa: F401 (fixtures)
    archsearch,
    corpus,
    environment,
    no_click,
    running_server,
    socket_folder,
    spare_waits,
    until,
)

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc", reason="glibc's malloc and Linux's madvise"
)

ARRAY_BYTES = 2 << 20  # a large array, over glibc's mmap threshold: 512 pages to fault in unprepared
FEW_FAULTS = 128

# Prints the minor page faults of a fresh array of ARRAY_BYTES filled, in a process forked from a
# clean one (a test process's glibc has seen other allocations), prepared first or not.
ARRAY_FAULTS = f"""
import os, resource, sys
import numpy
from archsearch import server

def faults_of_array():
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    numpy.ones({ARRAY_BYTES} // 8)
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before

for articles in (0, 10**9, None):  # the smallest heap prepared, the largest, none
    pid = os.fork()
    if pid == 0:
        prepared = server.prepare_heap(server.heap_bytes(articles)) if articles is not None else None
        print(prepared, faults_of_array(), flush=True)
        os._exit(0)
    os.waitpid(pid, 0)
print("parent", faults_of_array())
"""


def test_an_array_in_a_prepared_process_takes_no_page_faults_and_elsewhere_it_does():
    lines = subprocess.run([sys.executable, "-c", ARRAY_FAULTS], capture_output=True, text=True, check=True).stdout
    smallest, largest, unprepared, parent = (line.split() for line in lines.splitlines())
    # the largest too: a block at glibc's mmap threshold would be mapped apart and unmapped when freed
    for prepared in (smallest, largest):
        assert prepared[0] == "True" and int(prepared[1]) < FEW_FAULTS
    # glibc's defaults, in a process that did not prepare, nor in the one it was forked from
    assert unprepared[0] == "None" and int(unprepared[1]) >= ARRAY_BYTES // 4096 // 2
    assert int(parent[1]) >= ARRAY_BYTES // 4096 // 2


def test_the_heap_prepared_grows_with_the_index_within_bounds():
    from archsearch import server

    low, high = server.HEAP_BYTES_RANGE
    assert server.heap_bytes(0) == low
    assert server.heap_bytes(100_000) == 100_000 * server.HEAP_BYTES_PER_ARTICLE
    assert server.heap_bytes(10**9) == high


# In the server: the request's command first fills an array of ARRAY_BYTES and says how many page
# faults that took; a rehearsal on a warmed index leaves a file behind, once it is over.
COUNTING_SERVER = f"""
import os, resource
import numpy
real_run, real_rehearse = server.query_line.run_loaded, server.rehearse

def run(args):  # where a request runs a plain query
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    numpy.ones({ARRAY_BYTES} // 8)
    sys.stderr.write(f"array faults {{resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before}}\\n")
    return real_run(args)

def rehearse():
    real_rehearse()
    if server._warming_words:
        open(os.environ["REHEARSED"], "w").close()

server.query_line.run_loaded, server.rehearse = run, rehearse
"""


def test_a_request_s_arrays_use_the_memory_its_spare_prepared(socket_folder, corpus, no_click):
    rehearsed = socket_folder / "rehearsed"
    env = environment(socket_folder / "s.sock", corpus / "index", no_click)
    with running_server(socket_folder / "s.sock", COUNTING_SERVER, REHEARSED=str(rehearsed)) as server:
        assert archsearch("query", "Taliban", env=env, cwd=corpus).returncode == 0  # the index opened, warmed
        until(lambda: rehearsed.exists() and spare_waits(server), "no spare has rehearsed on the index")
        answered = archsearch("query", "Taliban", env=env, cwd=corpus)
    assert answered.returncode == 0
    faults = int(answered.stderr.decode().split("array faults ")[1].split()[0])
    assert faults < FEW_FAULTS
