"""bench/index_cost.py: the folders a corpus of links is indexed through, and builds with other code."""

import importlib.util
import json
import os
import subprocess
import sys

import pytest

from conftest import REPO


def index_cost():
    spec = importlib.util.spec_from_file_location("index_cost", REPO / "bench" / "index_cost.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_corpus_of_links_is_indexed_through_the_folders_they_lead_to(tmp_path):
    cost = index_cost()
    real = tmp_path / "big"
    for name in ("0000", "0001"):
        (real / name).mkdir(parents=True)
        (real / name / "a.txt").write_text("text", encoding="utf-8")
    links = tmp_path / "small"
    links.mkdir()
    for name in ("0000", "0001"):
        os.symlink(f"../big/{name}", links / name)
    folders = cost.corpus_folders(str(links))
    assert folders == [str(real / "0000"), str(real / "0001")]
    assert cost.count_files(folders) == 2
    assert cost.corpus_folders(str(real)) == [str(real)]


def test_builds_with_the_installed_code_and_another_in_turn(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text("A title\n\nSome words about the harbour in Oslo today.\n", encoding="utf-8")
    other = tmp_path / "other"  # another checkout's package: here the same code
    other.mkdir()
    (other / "archsearch").symlink_to(REPO / "archsearch")
    result = subprocess.run(
        [sys.executable, str(REPO / "bench" / "index_cost.py"), str(corpus), "--code", str(other)],
        check=True, capture_output=True, text=True, env={**os.environ, "TMPDIR": str(tmp_path)},
    )
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["code"] for line in lines] == [str(other), "installed", str(other), "installed"]
    assert all(line["peak_rss_mib"] > 0 for line in lines[:2])
    assert all(line["tree_peak_rss_mib"] > 0 for line in lines[:2])  # the process tree, sampled
    assert all(0 < line["tree_peak_pss_mib"] <= line["tree_peak_rss_mib"] for line in lines[:2])
    assert lines[-1]["files"] == 1


def test_the_tree_s_memory_counts_every_descendant(tmp_path):
    spec = importlib.util.spec_from_file_location("bench_run", REPO / "bench" / "run.py")
    bench_run = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench_run)
    # a shell whose child holds 64 MiB: the tree of the shell counts the grandchild's memory
    holder = subprocess.Popen(
        ["sh", "-c", f"{sys.executable} -c 'import sys; b = bytearray(64 << 20); b[::4096] = b\"x\" * len(b[::4096]); "
         "print(1, flush=True); sys.stdin.read()'; :"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE,
    )
    try:
        holder.stdout.readline()
        assert bench_run.tree_rss(holder.pid) >= 64 << 20
    finally:
        holder.stdin.close()
        holder.wait()
        holder.stdout.close()


@pytest.mark.skipif(not os.path.exists("/proc/self/smaps_rollup"), reason="Linux 4.14 and later")
def test_the_tree_s_pss_counts_a_page_its_processes_share_once(tmp_path):
    """Two processes mapping one file of 64 MiB: tree_rss counts its pages in each, tree_pss once
    (the language model's copy, mapped by every indexing worker)."""
    spec = importlib.util.spec_from_file_location("bench_run", REPO / "bench" / "run.py")
    bench_run = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench_run)
    shared = tmp_path / "shared"
    shared.write_bytes(b"x" * (64 << 20))
    mapper = (f"import mmap, sys; f = open({str(shared)!r}, 'rb'); m = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ); "
              "m[::4096]; sys.stdout.write('1\\n'); sys.stdout.flush(); sys.stdin.read()")
    holder = subprocess.Popen(  # two children, which read its input until the test closes it
        [sys.executable, "-c", f"import subprocess, sys; [p.wait() for p in [subprocess.Popen([sys.executable, '-c', {mapper!r}]) for _ in '12']]"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE,
    )
    try:
        holder.stdout.readline()
        holder.stdout.readline()
        rss, pss = bench_run.tree_rss(holder.pid), bench_run.tree_pss(holder.pid)
        assert rss >= 128 << 20
        assert 64 << 20 <= pss <= rss - (60 << 20)
    finally:
        holder.stdin.close()
        holder.wait()
        holder.stdout.close()


def test_times_the_stages_of_indexing_with_each_code_in_turn(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name in ("a", "b"):
        (corpus / f"{name}.txt").write_text(f"A title {name}\n\nSome words about the harbour in Oslo today.\n",
                                            encoding="utf-8")
    other = tmp_path / "other"
    other.mkdir()
    (other / "archsearch").symlink_to(REPO / "archsearch")
    result = subprocess.run(
        [sys.executable, str(REPO / "bench" / "index_cost.py"), str(corpus), "--stages", "1", "--code", str(other)],
        check=True, capture_output=True, text=True, env={**os.environ, "TMPDIR": str(tmp_path)},
    )
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["code"] for line in lines] == [str(other), "installed"]
    for line in lines:
        assert line["files"] == 1
        stages = [line[f"{stage}_ms_per_file"] for stage in ("read", "document", "add", "write")]
        assert all(spent >= 0 for spent in stages)
        assert line["total_ms_per_file"] == pytest.approx(sum(stages), abs=0.01)
    assert not list(tmp_path.glob("archsearch-stages-*"))  # its folder removed


def test_copy_groups_cost_groups_an_index_s_articles_as_its_record_does(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    story = " ".join(f"river{n} flood{n * 7 % 13} valley{n % 5}" for n in range(40))
    for name, body in (("a", story), ("b", story + " again"), ("c", story.replace("river", "summit"))):
        (corpus / f"{name}.txt").write_text(f"Title {name}\n\n{body}\n", encoding="utf-8")
    index = tmp_path / "index"
    subprocess.run([sys.executable, "-m", "archsearch", "index", "-q", "--index", str(index), str(corpus)], check=True)
    result = subprocess.run([sys.executable, str(REPO / "bench" / "copy_groups_cost.py"), str(index), "--batch", "2"],
                            check=True, capture_output=True, text=True)
    measured = json.loads(result.stdout)
    assert measured["articles"] == 3 and len(measured["cpu_s"]) == 2
    assert measured["groups"] == 2  # a and b are copies
    from_second = subprocess.run([sys.executable, str(REPO / "bench" / "copy_groups_cost.py"), str(index), "--batch", "1", "--from", "2"],
                                 check=True, capture_output=True, text=True)
    later = json.loads(from_second.stdout)
    assert len(later["cpu_s"]) == 1 and later["peak_rss_mib"] > 0
    assert (later["groups"], later["leaders_sha256"]) == (measured["groups"], measured["leaders_sha256"])
    first_two = json.loads(subprocess.run([sys.executable, str(REPO / "bench" / "copy_groups_cost.py"), str(index), "--articles", "2"],
                                          check=True, capture_output=True, text=True).stdout)
    assert first_two["articles"] == 2 and first_two["groups"] == 1
    saved = tmp_path / "first-two.sqlite"
    subprocess.run([sys.executable, str(REPO / "bench" / "copy_groups_cost.py"), str(index), "--articles", "2", "--save", str(saved)],
                   check=True, capture_output=True)
    from_saved = json.loads(subprocess.run([sys.executable, str(REPO / "bench" / "copy_groups_cost.py"), str(index), "--record", str(saved)],
                                           check=True, capture_output=True, text=True).stdout)
    assert from_saved["from"] == 2 and len(from_saved["cpu_s"]) == 1
    assert (from_saved["groups"], from_saved["leaders_sha256"]) == (measured["groups"], measured["leaders_sha256"])
