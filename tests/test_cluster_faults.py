"""A cluster with a shard down or slow, an indexer killed half-way, a cluster file that is wrong,
and the commands that do not work on a cluster yet: one clear line each, never a traceback."""

import os
import signal
import time

import pytest

from archsearch.errors import ArchsearchError
from test_cluster import cluster_ids, corpus_ids, engine, fresh_cluster  # noqa: F401 (a fixture)


def indexed(fresh_cluster):
    from archsearch.engines.xapian.indexer import update_cluster

    update_cluster(fresh_cluster["file"], [str(fresh_cluster["corpus"])])
    return fresh_cluster


def test_a_shard_down_is_named_and_allow_partial_answers_from_the_others(fresh_cluster, run_cli):
    cluster = indexed(fresh_cluster)
    everything = engine(cluster["file"]).search("refugees OR border", limit=0, collapse_copies=False)
    down = cluster["shards"][1]
    down.stop()
    result = run_cli("query", "--index", str(cluster["file"]), "refugees OR border")
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1
    assert f"shard {down.endpoint} (2 of 3)" in result.stderr and "--allow-partial" in result.stderr

    partial = run_cli("query", "--index", str(cluster["file"]), "-c", "--allow-partial", "refugees OR border")
    assert partial.exit_code == 0
    assert 0 < int(partial.stdout) < everything.total
    assert f"warning: answering without shard {down.endpoint} (2 of 3)" in partial.stderr
    for command in (["timeline"], ["sources"]):
        assert run_cli(*command, "--index", str(cluster["file"]), "refugees").exit_code == 2
        assert run_cli(*command, "--index", str(cluster["file"]), "--allow-partial", "refugees").exit_code == 0


def test_similar_and_open_name_a_shard_down_and_allow_partial_answers_from_the_others(
    fresh_cluster, run_cli, tmp_path, monkeypatch
):
    from archsearch.engines import open_engine

    cluster = indexed(fresh_cluster)
    down = cluster["shards"][1]
    down.stop()
    # An article on a shard that still answers, found with the others down.
    reference = open_engine(cluster["file"], allow_partial=True).search("refugees OR border", limit=1).hits[0].id
    opener = tmp_path / "opener"
    opener.write_text("#!/bin/sh\n")
    opener.chmod(0o755)
    monkeypatch.setenv("BROWSER", str(opener))
    for command in (["similar", reference], ["open", reference]):
        refused = run_cli(*command, "--index", str(cluster["file"]))
        assert refused.exit_code == 2 and f"shard {down.endpoint} (2 of 3)" in refused.stderr
        answered = run_cli(*command, "--index", str(cluster["file"]), "--allow-partial")
        assert answered.exit_code in (0, 1)  # similar: 1 when nothing is like it
        assert f"warning: answering without shard {down.endpoint} (2 of 3)" in answered.stderr


def test_a_shard_killed_between_opening_and_searching(fresh_cluster):
    cluster = indexed(fresh_cluster)
    whole = engine(cluster["file"]).search("refugees OR border", limit=0, collapse_copies=False)
    strict = engine(cluster["file"])
    from archsearch.engines import open_engine

    partial = open_engine(cluster["file"], allow_partial=True)
    cluster["shards"][2].stop()  # its connections die with it
    with pytest.raises(ArchsearchError, match=rf"shard {cluster['shards'][2].endpoint} \(3 of 3\)"):
        strict.search("refugees OR border", limit=0)
    answered = partial.search("refugees OR border", limit=0, collapse_copies=False)
    assert 0 < answered.total < whole.total
    assert {hit.id for hit in answered.hits} < {hit.id for hit in whole.hits}
    assert partial.warnings and "3 of 3" in partial.warnings[0]


def test_a_slow_shard_is_named_after_the_timeout(fresh_cluster):
    cluster = indexed(fresh_cluster)
    location = cluster["file"]
    location.write_text(location.read_text().replace("timeout = 10.0", "timeout = 0.5"))
    slow = cluster["shards"][0]
    slow.signal(signal.SIGSTOP)
    try:
        with pytest.raises(ArchsearchError, match=rf"shard {slow.endpoint} \(1 of 3\).*down or not answering"):
            engine(location).search("refugees")
    finally:
        slow.signal(signal.SIGCONT)


def test_an_indexer_killed_half_way_leaves_whole_shards_and_the_next_run_finishes(fresh_cluster):
    from archsearch.engines.xapian.indexer import update_cluster

    location, corpus = fresh_cluster["file"], fresh_cluster["corpus"]
    child = os.fork()
    if child == 0:  # killed in the middle of its fourth batch of 8 files, two committed (the third may be)
        def progress(report):
            if report.stage == "indexing" and report.done == 28:
                os.kill(os.getpid(), signal.SIGKILL)

        try:
            update_cluster(location, [str(corpus)], commit_every=8, progress=progress)
        finally:
            os._exit(3)
    _, status = os.waitpid(child, 0)
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
    half = cluster_ids(location)
    assert 16 <= len(half) < len(corpus_ids(corpus))
    assert len(half) == len(set(half))  # each shard opens, and no article is there twice
    report = update_cluster(location, [])
    assert cluster_ids(location) == corpus_ids(corpus)
    assert report.total == len(corpus_ids(corpus))


@pytest.mark.parametrize("keep_alive", [0.2, None], ids=["kept-alive", "without"])
def test_shard_servers_that_drop_idle_connections_do_not_end_a_slow_run(tmp_path, monkeypatch, keep_alive):
    """xapian-tcpsrv drops a connection idle for its --idle-timeout (60 s by default): an indexing
    run reading its first batch for longer keeps its connections alive (here 2 s against reading
    that takes 3 s); without the keep-alives the same run fails."""
    from archsearch.analysis import identify_language
    from archsearch.engines.xapian import indexer
    from test_cluster import cluster_file, generated_articles, require_xapian, start_shards
    from conftest import write_corpus

    require_xapian()
    # Loading the language model (over a second on a slow machine, when no earlier test of this
    # process loaded it) would come between two keep-alives: the first file's reading, not the
    # gaps between files, would then outlast the idle timeout.
    identify_language("the model is loaded before the run")
    shards = start_shards(tmp_path / "shards", 2, ("--idle-timeout", "2000"))
    try:
        location = cluster_file(tmp_path, shards)
        corpus = write_corpus(tmp_path / "corpus", generated_articles(15))
        monkeypatch.setattr(indexer, "KEEP_ALIVE_SECONDS", keep_alive or 10**6)

        def slow_reading(report):
            if report.stage == "indexing" and report.path:
                time.sleep(0.2)

        if keep_alive is None:
            with pytest.raises(ArchsearchError, match="writing failed"):
                indexer.update_cluster(location, [str(corpus)], progress=slow_reading)
            return
        indexer.update_cluster(location, [str(corpus)], progress=slow_reading)
        assert cluster_ids(location) == corpus_ids(corpus)
    finally:
        for shard in shards:
            shard.stop()


def test_two_indexers_at_once_the_second_waits_or_gives_up_clearly(fresh_cluster, run_cli):
    from archsearch.engines.xapian.indexer import update_cluster, writers
    from archsearch.engines.xapian.clusterfile import load_cluster

    location, corpus = fresh_cluster["file"], fresh_cluster["corpus"]
    first = f"shard {fresh_cluster['shards'][0].endpoint} (1 of 3)"
    with writers(load_cluster(location)):
        refused = run_cli("index", "--index", str(location), "--wait", "0.5", str(corpus))
        waits = []
        with pytest.raises(KeyboardInterrupt):  # Ctrl-C while waiting, with nothing done
            update_cluster(location, [str(corpus)], lock_wait=30, progress=waits.append, should_stop=lambda: True)
    assert refused.exit_code == 2
    assert refused.stderr.splitlines() == [
        f"archsearch: waiting for another 'archsearch index' ({first}) to finish",
        f"archsearch: error: {first} is still being written by another 'archsearch index' run after 0.5 s; "
        "try again later, or wait longer with --wait SECONDS",
    ]
    assert [(event.stage, event.holder) for event in waits] == [("waiting", first)]
    assert cluster_ids(location) == []


def test_a_run_waiting_for_another_starts_when_that_one_lets_go(fresh_cluster):
    import threading

    from archsearch.engines.xapian.indexer import update_cluster, writers
    from archsearch.engines.xapian.clusterfile import load_cluster

    location, corpus = fresh_cluster["file"], fresh_cluster["corpus"]
    holding, let_go = threading.Event(), threading.Event()

    def other_run():
        with writers(load_cluster(location)):
            holding.set()
            let_go.wait(30)

    other = threading.Thread(target=other_run)
    other.start()
    holding.wait(30)
    waits = []

    def waiting(event):
        waits.append(event.stage)
        if event.stage == "waiting":
            threading.Timer(1.0, let_go.set).start()

    report = update_cluster(location, [str(corpus)], lock_wait=30, progress=waiting)
    other.join()
    assert waits.count("waiting") == 1 and waits[0] == "waiting"
    assert report.total == len(corpus_ids(corpus)) and cluster_ids(location) == corpus_ids(corpus)


# --------------------------------------------------------------------------- the cluster file


def test_cluster_init_writes_a_file_every_command_takes(fresh_cluster, run_cli, tmp_path):
    shards = fresh_cluster["shards"]
    location = tmp_path / "new.toml"
    made = run_cli("cluster", "init", str(location), *(arg for shard in shards for arg in ("--shard", shard.endpoint)))
    assert made.exit_code == 0, made.stderr
    assert "cluster of 3 shards" in made.stderr
    indexed_run = run_cli("index", "--index", str(location), str(fresh_cluster["corpus"]))
    assert indexed_run.exit_code == 0, indexed_run.stderr
    listed = run_cli("query", "--index", str(location), "-l", "refugees")
    assert listed.exit_code == 0 and listed.stdout.count("\n") == engine(location).search("refugees", limit=0).total
    explained = run_cli("query", "--index", str(location), "--explain", "refugees")
    assert "archsearch: xapian: Query(" in explained.stderr
    name = corpus_ids(fresh_cluster["corpus"])[0]
    shown = run_cli("show", "--index", str(location), "--no-pager", "--json", name)
    assert shown.exit_code == 0 and f'"id": "{name}"' in shown.stdout
    again = run_cli("cluster", "init", str(location), "--shard", shards[0].endpoint)
    assert again.exit_code == 2 and "exists" in again.stderr


@pytest.mark.parametrize(
    "text, message",
    [
        ("schema = 1\nanalysis = 1\n", "no shards"),
        ("schema = 1\nanalysis = 1\n[[shards]]\nread = 'localhost'\n", "a shard is HOST:PORT"),
        ("schema = 1\nanalysis = 1\n[[shards]]\nread = 'localhost:99999'\n", "port from 1 to 65535"),
        ("schema = 2\nanalysis = 1\n[[shards]]\nread = 'localhost:7001'\n", "schema = 2, but this archsearch writes schema 1"),
        ("schema = 1\nanalysis = 1\nshard = 3\n", "unknown setting 'shard'"),
        ("schema = 1\nanalysis = 1\ntimeout = 0\n[[shards]]\nread = 'localhost:7001'\n", "timeout must be"),
        ("schema = 1\nanalysis = 1\n[[shards]]\nread = 'h:7001'\n[[shards]]\nread = 'h:7001'\n", "listed twice"),
        ("schema = [", "not a valid cluster file"),
    ],
)
def test_a_wrong_cluster_file_is_one_line(run_cli, tmp_path, text, message):
    location = tmp_path / "cluster.toml"
    location.write_text(text)
    result = run_cli("query", "--index", str(location), "refugees")
    assert result.exit_code == 2
    assert message in result.stderr and result.stderr.count("\n") == 1
    assert "Traceback" not in result.stderr


def test_the_embedded_index_s_own_functions_refuse_a_cluster_in_one_line(tmp_path):
    """Every command works on a cluster through the engine interface; a function of the embedded
    engine handed a cluster file says what it is."""
    from archsearch.stats import index_stats

    location = tmp_path / "cluster.toml"
    location.write_text("schema = 1\nanalysis = 1\n[[shards]]\nread = '127.0.0.1:7001'\n")
    with pytest.raises(ArchsearchError, match=r"does not work on a cluster index \(.*cluster.toml\): it reads an embedded"):
        index_stats(location)


def test_without_the_bindings_the_message_says_what_to_install(monkeypatch):
    import sys

    from archsearch.engines.xapian import import_xapian

    monkeypatch.setitem(sys.modules, "xapian", None)
    with pytest.raises(ArchsearchError, match=r"pip install 'archsearch\[cluster\]'"):
        import_xapian()


def test_a_batch_that_fails_while_written_is_cancelled_on_every_shard(fresh_cluster, monkeypatch):
    from archsearch.engines.xapian import indexer

    written = indexer.ClusterRun.shard_documents

    def with_a_broken_document(self, articles):
        writes = written(self, articles)
        writes[-1].append(("Qbroken", None))  # replace_document(None) raises
        return writes

    monkeypatch.setattr(indexer.ClusterRun, "shard_documents", with_a_broken_document)
    with pytest.raises(ValueError, match="null reference"):
        indexer.update_cluster(fresh_cluster["file"], [str(fresh_cluster["corpus"])])
    assert cluster_ids(fresh_cluster["file"]) == []


def test_a_shard_going_down_while_a_run_writes_is_named(tmp_path):
    """The network error of a write (a broken pipe, a closed connection) does not say which shard's
    connection it came from: the message names the shard found not answering, and only that one."""
    from archsearch.engines.xapian import indexer
    from test_cluster import cluster_file, generated_articles, require_xapian, start_shards
    from conftest import write_corpus

    require_xapian()
    shards = start_shards(tmp_path / "shards", 2)
    try:
        location = cluster_file(tmp_path, shards)
        corpus = write_corpus(tmp_path / "corpus", generated_articles(12))
        indexer.update_cluster(location, [str(corpus)])

        def second_shard_goes_down(report):
            if report.stage == "indexing" and report.path:
                shards[1].stop()

        (corpus / "later.txt").write_text("KABUL, March 3 (TASS) - Talks on the border resumed today.\n")
        with pytest.raises(ArchsearchError) as raised:
            indexer.update_cluster(location, [str(corpus)], progress=second_shard_goes_down)
        message = str(raised.value)
        assert message.startswith(f"cluster {location}: writing failed: ")
        assert message.endswith(f"; shard {shards[1].endpoint} (2 of 2) is down or not answering")
        assert shards[0].endpoint not in message
    finally:
        for shard in shards:
            shard.stop()
