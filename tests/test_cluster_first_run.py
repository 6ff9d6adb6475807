"""A first `archsearch index` of a cluster that indexes no article (a folder that is not there or
cannot be read, a shard down, nothing it can index, stopped at once, a write that fails) says so
in one line and leaves the shards as they were: later commands find the cluster as before, and a
later run does not go on reading the folders given to it. A later run that fails keeps what the
cluster holds."""

import json
import os
import subprocess

import pytest

from archsearch.cli import index as index_command
from conftest import installed_command
from test_cluster import cluster_ids, fresh_cluster  # noqa: F401 (a fixture)
from test_index_junk import AS_ORDINARY_USER

# What a run writes in the shards beyond each shard's place in the cluster (written as they are opened).
RUN_KEYS = ("archsearch:roots", "archsearch:generation", "archsearch:folder:")


def run_keys(cluster) -> list[str]:
    import xapian

    found = []
    for shard in cluster["shards"]:
        host, port = shard.endpoint.rsplit(":", 1)
        database = xapian.remote_open(host, int(port))
        found += [key.decode() for key in database.metadata_keys() if key.decode().startswith(RUN_KEYS)]
    return found


def archsearch(cluster, *args, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(
        [installed_command(), *args], capture_output=True, text=True, timeout=120,
        env={**os.environ, "ARCHSEARCH_INDEX": str(cluster["file"]), "XDG_DATA_HOME": str(cluster["tmp"] / "xdg"),
             "ARCHSEARCH_SERVER": "off"},
        **kwargs,
    )


def junk_folder(cluster):
    junk = cluster["tmp"] / "junk"
    junk.mkdir()
    (junk / "image.jpg").write_bytes(b"\x00" * 100)
    return junk


def assert_one_line_error(result, exit_code: int = 2) -> None:
    assert result.returncode == exit_code
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("archsearch: error: "), result.stderr


def assert_left_as_it_was(cluster) -> None:
    assert run_keys(cluster) == [] and cluster_ids(cluster["file"]) == []
    # Nor does a later run go on reading the folders the failed one was given.
    done = archsearch(cluster, "index", str(cluster["corpus"]))
    assert done.returncode == 0, done.stderr
    assert json.loads(archsearch(cluster, "stats", "--json").stdout)["folders"] == [str(cluster["corpus"])]


def test_a_first_run_that_can_index_nothing_leaves_the_shards_as_they_were(fresh_cluster):
    result = archsearch(fresh_cluster, "index", str(junk_folder(fresh_cluster)))
    assert result.returncode == 2
    assert result.stderr.splitlines()[-2:] == [
        "added 0, updated 0, removed 0, unchanged 0, skipped 1",
        f"archsearch: error: none of the 1 files found could be indexed; no index was made at {fresh_cluster['file']}",
    ]
    assert "new index" not in result.stderr
    assert_left_as_it_was(fresh_cluster)


def test_a_first_run_stopped_at_once_leaves_the_shards_as_they_were(fresh_cluster, run_cli, monkeypatch):
    monkeypatch.setattr(index_command.Interruption, "requested", lambda self: True)  # Ctrl-C at once
    result = run_cli("index", "--index", str(fresh_cluster["file"]), str(fresh_cluster["corpus"]))
    assert result.exit_code == 130
    assert result.stderr.splitlines()[-1] == (
        f"archsearch: interrupted before any article was indexed; no index was made at {fresh_cluster['file']}"
    )
    monkeypatch.undo()
    assert_left_as_it_was(fresh_cluster)


def index_with_a_failing_write(cluster, monkeypatch) -> None:
    """update_cluster on the corpus, each batch's write failing as when a shard goes away."""
    import xapian

    from archsearch.engines.xapian import indexer
    from archsearch.errors import ArchsearchError

    def failing(self, articles, deleted_keys):
        raise xapian.NetworkError("the shard went away")

    with monkeypatch.context() as patched:
        patched.setattr(indexer.ClusterRun, "_write", failing)
        with pytest.raises(ArchsearchError, match="writing failed: the shard went away"):
            indexer.update_cluster(cluster["file"], [str(cluster["corpus"])])


def test_a_first_run_whose_write_fails_leaves_the_shards_as_they_were(fresh_cluster, monkeypatch):
    index_with_a_failing_write(fresh_cluster, monkeypatch)
    assert_left_as_it_was(fresh_cluster)


@pytest.mark.parametrize("case", ["no-such-folder", "unreadable-folder", "shard-down"])
def test_a_first_run_that_fails_at_once_is_one_line_and_leaves_the_shards_as_they_were(fresh_cluster, case):
    folder, extra = fresh_cluster["corpus"], {}
    if case == "no-such-folder":
        folder = fresh_cluster["tmp"] / "nowhere"
    elif case == "unreadable-folder":
        folder.chmod(0)
        extra = AS_ORDINARY_USER  # (root reads any folder)
    else:
        fresh_cluster["shards"][1].stop()
    try:
        result = archsearch(fresh_cluster, "index", str(folder), **extra)
    finally:
        fresh_cluster["corpus"].chmod(0o755)
        if case == "shard-down":
            fresh_cluster["shards"][1].start()
    assert_one_line_error(result)
    assert_left_as_it_was(fresh_cluster)


@pytest.mark.parametrize("case", ["nothing-indexable", "no-such-folder", "shard-down", "write-fails"])
def test_a_later_run_that_fails_keeps_what_the_cluster_holds(fresh_cluster, case, monkeypatch):
    assert archsearch(fresh_cluster, "index", str(fresh_cluster["corpus"])).returncode == 0
    held = cluster_ids(fresh_cluster["file"])
    if case == "nothing-indexable":
        result = archsearch(fresh_cluster, "index", str(junk_folder(fresh_cluster)))
        assert result.returncode == 2
        assert result.stderr.splitlines()[-1] == "archsearch: error: none of the 1 files found could be indexed"
    elif case == "no-such-folder":
        assert_one_line_error(archsearch(fresh_cluster, "index", str(fresh_cluster["tmp"] / "nowhere")))
    elif case == "shard-down":
        fresh_cluster["shards"][1].stop()
        try:
            assert_one_line_error(archsearch(fresh_cluster, "index", str(fresh_cluster["corpus"])))
        finally:
            fresh_cluster["shards"][1].start()
    else:
        (fresh_cluster["corpus"] / "new.txt").write_text((fresh_cluster["corpus"] / "copies" / "000.txt").read_text())
        index_with_a_failing_write(fresh_cluster, monkeypatch)
    assert cluster_ids(fresh_cluster["file"]) == held
    assert "archsearch:roots" in run_keys(fresh_cluster)
