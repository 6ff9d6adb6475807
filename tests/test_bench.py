"""bench/run.py --quick on a three-file corpus: every tool present gets the raw files and each query kind.

A smoke test of the harness, not a timing: it checks that the runs happened and that the peers
found what the files hold.  Peers that are not installed (tantivy, rg, sqlite3, recoll) are
skipped by the harness itself, and so here.
"""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO, installed_command
from test_server import short_folder

FILES = {
    # wire copy, dated inside the range of the date-ranged query
    "a/wire.txt": " date 2017-01-15 MOSCOW, January 15. /TASS/. Maria Zakharova said the president "
                  "spoke of the election.\n\nThe prime minister backed Syria ceasefire talks on refugees.",
    # wire copy, dated outside it
    "a/later.txt": " date 2019-06-02 LONDON, June 2. /BBC/. The president named a new prime minister "
                   "after the election.\n\nMigrants waited at the border for days.",
    # a web page, undated
    "b/page.txt": "Home / World / Leaders meet\n\nLeaders meet\n\n\nPARIS: The president met "
                  "the minister, who is prime among equals, to discuss trade.",
}


@pytest.fixture
def workdir():
    """bench/run.py's --workdir: its server's socket is made there, and a socket's path may not be
    longer than 107 bytes, which tmp_path's is under pytest-xdist (the server then never starts)."""
    folder = short_folder()
    yield folder
    shutil.rmtree(folder)


def test_quick_run_times_every_kind_on_every_tool_it_finds(tmp_path, workdir):
    corpus = tmp_path / "corpus"
    for name, text in FILES.items():
        (corpus / name).parent.mkdir(parents=True, exist_ok=True)
        (corpus / name).write_text(text, encoding="utf-8")
    out = tmp_path / "results.json"
    env = dict(os.environ, PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""))
    done = subprocess.run(
        [sys.executable, str(REPO / "bench" / "run.py"), str(corpus), "--quick", "--skip", "startup",
         "--archsearch", installed_command(), "--workdir", str(workdir), "--json", str(out)],
        capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stderr
    results = json.loads(out.read_text())
    assert not [n for n in results["notes"] if "failed" in n], results["notes"]

    build = results["build"]
    assert build["archsearch -j 1"]["cpu_s"] > 0 and build["fts5"]["wall_ratio_to_fts5"] == 1
    tools = {"archsearch", "archsearch served"}
    if results["tools"]["tantivy_version"]:
        tools.add("tantivy")
    if results["tools"]["sqlite3"]:
        tools.add("sqlite3")
    if results["tools"]["rg"]:
        tools.add("rg")
    if results["tools"]["recollq"]:
        tools.add("recollq")

    queries = results["queries"]
    assert set(queries) == {"rare word", "common word", "3-word AND", "phrase", "OR", "date-ranged"}
    for kind, entry in queries.items():
        expected = tools - {"recollq"} if kind == "date-ranged" else tools  # recoll has no file dates
        assert set(entry["tools"]) == expected, kind
        for tool in entry["tools"].values():
            assert len(tool["times_s"]) == 1 and tool["p50_s"] > 0
    matches = {kind: {tool: e["matches"] for tool, e in entry["tools"].items()} for kind, entry in queries.items()}
    assert set(matches["rare word"].values()) == {1}
    assert set(matches["common word"].values()) == {3}
    assert set(matches["3-word AND"].values()) == {1}
    assert set(matches["phrase"].values()) == {2}  # "prime among" and "minister, who" are no phrase
    assert set(matches["OR"].values()) == {2}
    assert set(matches["date-ranged"].values()) == {1}  # the 2019 copy and the undated page are out

    live = results["live"]
    assert live["typed"] == ["s", "sy", "syr", "syri"]
    assert {"archsearch", "archsearch served"} <= set(live["tools"])
    for tool in live["tools"].values():
        assert [len(keystrokes) for keystrokes in tool["times_s"]] == [4]


def test_an_index_given_is_queried_instead_of_built_and_linked_folders_are_followed(tmp_path, workdir):
    from archsearch.indexing import update_index

    files = tmp_path / "files"
    for name, text in FILES.items():
        (files / name).parent.mkdir(parents=True, exist_ok=True)
        (files / name).write_text(text, encoding="utf-8")
    corpus = tmp_path / "corpus"  # as the generated 20k corpus: folders that are links elsewhere
    corpus.mkdir()
    for folder in ("a", "b"):
        (corpus / folder).symlink_to(files / folder)
    update_index(tmp_path / "ix", [str(files)])
    out = tmp_path / "results.json"
    done = subprocess.run(
        [sys.executable, str(REPO / "bench" / "run.py"), str(corpus), "--quick", "--archsearch", installed_command(),
         "--skip", "fts5,tantivy,recoll,rg,reindex,live,startup", "--use-index", f"archsearch={tmp_path / 'ix'}",
         "--workdir", str(workdir), "--json", str(out)],
        capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    results = json.loads(out.read_text())
    assert results["corpus"]["files"] == len(FILES) and results["build"] == {}
    assert results["queries"]["common word"]["tools"]["archsearch served"]["matches"] == 3


@pytest.mark.parametrize("skip_served", [False, True])
def test_a_server_that_does_not_start_fails_the_run_saying_why_unless_skipped(tmp_path, workdir, skip_served):
    """A work dir whose socket path is over 107 bytes: the server never starts.  The run said so
    in a note among the others and exited 0, the served runs missing from its tables."""
    from archsearch.indexing import update_index

    corpus = tmp_path / "corpus"
    for name, text in FILES.items():
        (corpus / name).parent.mkdir(parents=True, exist_ok=True)
        (corpus / name).write_text(text, encoding="utf-8")
    update_index(tmp_path / "ix", [str(corpus)])
    long_workdir = workdir / ("w" * 100)
    long_workdir.mkdir()
    skip = "fts5,tantivy,recoll,rg,reindex,live,startup" + (",served" if skip_served else "")
    out = tmp_path / "results.json"
    done = subprocess.run(
        [sys.executable, str(REPO / "bench" / "run.py"), str(corpus), "--quick", "--archsearch", installed_command(),
         "--skip", skip, "--use-index", f"archsearch={tmp_path / 'ix'}", "--workdir", str(long_workdir),
         "--json", str(out)],
        capture_output=True, text=True, timeout=600)
    results = json.loads(out.read_text())
    assert set(results["queries"]["common word"]["tools"]) == {"archsearch"}  # the rest was measured
    if skip_served:
        assert done.returncode == 0, done.stderr
        assert "serve" not in done.stderr
    else:
        assert done.returncode == 1
        assert "error: `archsearch serve` did not start (it exited with status 2: archsearch: error: cannot listen" \
            in done.stderr
        assert "over the 107 a Unix socket's may have: pass a shorter --workdir" in done.stderr
        assert done.stderr.rstrip().splitlines()[-1].startswith("error: the served runs were not measured: ")


def test_an_editable_install_s_finder_is_found_in_the_measured_python(tmp_path):
    # An editable install adds its finder's imports to every process of that Python, the peers'
    # too: the harness must say so, since users run a regular install.
    sys.path.insert(0, str(REPO / "bench"))
    try:
        import run as harness
    finally:
        sys.path.remove(str(REPO / "bench"))
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = str(venv / "bin" / "python")
    assert harness.editable_finders(python) == []
    site_packages = subprocess.run([python, "-c", "import site; print(site.getsitepackages()[0])"],
                                   capture_output=True, text=True, check=True).stdout.strip()
    (Path(site_packages) / "__editable__.somepackage-1.0.pth").write_text("\n")
    assert harness.editable_finders(python) == ["__editable__.somepackage-1.0.pth"]
