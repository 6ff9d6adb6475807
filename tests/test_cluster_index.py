"""The cluster indexer's fast path: cached term lists, worker processes, copy groups looked up a
batch at a time, shards written at once.  Each gives what the plain way gives."""

import hashlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from test_cluster import cluster_file, engine, fresh_cluster, generated_articles, require_xapian, start_shards  # noqa: F401
from conftest import SEEDS, write_corpus


def reference_terms(schema, fields: dict) -> dict[bytes, list[int] | int]:
    """The plain way: every indexed field through its Whoosh analyzer, one token object at a time
    (title and body in the article's language), positions from 1."""
    from archsearch.analysis.chain import TextAnalyzer
    from archsearch.engines.xapian.documents import field_prefix, indexed_fields, make_term

    found = {}
    for name, field in indexed_fields(schema).items():
        value = fields.get(name)
        if not value:
            continue
        options = {"language": fields.get("language") or ""} if isinstance(field.analyzer, TextAnalyzer) else {}
        with_positions = field.format.supports("positions")
        for token in field.analyzer(value, positions=True, mode="index", **options):
            if token.text:
                term = make_term(field_prefix(name), token.text)
                if with_positions:
                    found.setdefault(term, []).append(token.pos + 1)
                else:
                    found[term] = found.get(term, 0) + 1
    return found


def article_fields(paths) -> list[dict]:
    """indexing.article_document of every article of the files."""
    from archsearch.formats import Article, read_file
    from archsearch.indexing import article_document
    from archsearch.manifest import Entry

    documents = []
    for path in paths:
        for item in read_file(str(path), path.read_bytes()):
            if isinstance(item, Article):
                documents.append(article_document(str(path), str(path.parent), item, Entry(str(path.parent), 1, 1, "x")))
    return documents


def contents(document) -> list[tuple]:
    return [(item.term, item.wdf, list(item.positer)) for item in document.termlist()]


def test_term_lists_give_the_analyzers_terms_positions_and_frequencies(tmp_path):
    require_xapian()
    import xapian

    from archsearch.engines.xapian.documents import ArticleTerms
    from archsearch.schema import build_schema

    long_word = "Zakharova" * 40  # past Xapian's term length: kept as a hash
    corpus = write_corpus(tmp_path / "corpus", {
        **generated_articles(20), "long.txt": f" date 2020-01-01 KABUL, Jan 1. /TASS/. {long_word} spoke, {long_word}."
    })
    schema = build_schema()
    terms = ArticleTerms(schema)
    documents = article_fields(sorted(corpus.rglob("*.txt")) + sorted(SEEDS.iterdir()))
    assert len(documents) > 20
    for fields in documents:
        listed, expected = xapian.Document(), xapian.Document()
        terms.add_to(listed, fields)
        for term, places in reference_terms(schema, fields).items():
            if isinstance(places, int):
                expected.add_term(term, places)
            else:
                for position in places:
                    expected.add_posting(term, position)
        assert contents(listed) == contents(expected), fields["_stored_key"]
    long = xapian.Document()
    terms.add_to(long, next(fields for fields in documents if fields["_stored_key"].endswith("long.txt")))
    hashed = b"XEXACT:#" + hashlib.sha1(long_word.lower().encode()).hexdigest().encode()
    assert (hashed, 2, [5, 7]) in [(term, wdf, positions) for term, wdf, positions in contents(long)]


def cluster_contents(location) -> dict[str, tuple]:
    """Per article identity: its terms (with frequency and positions), values but the `indexed`
    stamp, and stored data."""
    from archsearch.engines.xapian.documents import IDENTITY_SLOT, INDEXED_SLOT

    database = engine(location).shards.database
    contents = {}
    for posting in database.postlist(""):
        document = database.get_document(posting.docid)
        terms = tuple((item.term, item.wdf, tuple(item.positer)) for item in document.termlist())
        values = tuple((item.num, item.value) for item in document.values() if item.num != INDEXED_SLOT)
        contents[document.get_value(IDENTITY_SLOT).decode()] = (terms, values, document.get_data())
    return contents


@pytest.fixture
def two_clusters(tmp_path):
    require_xapian()
    started = start_shards(tmp_path / "shards", 6)
    # Copies that come before their originals (copies/ sorts first), and copies of copies.
    articles = generated_articles(60)
    articles["zz/again.txt"] = articles["copies/000.txt"]
    corpus = write_corpus(tmp_path / "corpus", articles)
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    yield cluster_file(first, started[:3]), cluster_file(second, started[3:]), corpus
    for shard in started:
        shard.stop()


def test_worker_processes_and_small_batches_index_what_one_process_and_one_batch_do(two_clusters, monkeypatch):
    from archsearch import indexing
    from archsearch.engines.xapian import indexer
    from archsearch.engines.xapian.documents import COPIES_SLOT

    one_batch, in_workers, corpus = two_clusters
    indexer.update_cluster(one_batch, [str(corpus)], jobs=1)
    pools = []
    monkeypatch.setattr(indexing, "MIN_FILES_PER_WORKER", 1)
    monkeypatch.setattr(indexer, "WorkerPool", lambda *args: pools.append(args) or indexing.WorkerPool(*args))
    report = indexer.update_cluster(in_workers, [str(corpus)], jobs=2, commit_every=7)
    assert [count for _, count in pools] == [2] and report.added == len(list(corpus.rglob("*.txt")))
    expected = cluster_contents(one_batch)
    assert cluster_contents(in_workers) == expected
    # zz/again.txt, in the last batch, joins the group of the file it copies, in the first.
    first = str(corpus / "copies/000.txt")
    assert dict(expected[str(corpus / "zz/again.txt")][1])[COPIES_SLOT] == first.encode()
    groups = {}
    for identity, (_, values, _) in expected.items():
        groups.setdefault(dict(values)[COPIES_SLOT], set()).add(identity)
    assert len(groups[first.encode()]) == 3 and sum(len(members) > 1 for members in groups.values()) >= 2


def copy_groups_of(location) -> dict[str, str]:
    """Per article identity, its copy group."""
    from archsearch.engines.xapian.documents import COPIES_SLOT

    return {article: dict(values)[COPIES_SLOT].decode() for article, (_, values, _) in cluster_contents(location).items()}


@pytest.fixture
def documents_read(monkeypatch):
    """The documents read from the shards while a batch's copies are looked up (ClusterRun.copy_groups),
    counted through the bindings: a match item's document, and Database.get_document."""
    import xapian

    from archsearch.engines.xapian import indexer

    read = []
    looking_up = []
    item_document, database_document = xapian.MSetItem.document.fget, xapian.Database.get_document

    def counted(document):
        if looking_up:
            read.append(document.get_value(6))
        return document

    def first_read(item):  # an item keeps its document once read
        return item_document(item) if item._document is not None else counted(item_document(item))

    monkeypatch.setattr(xapian.MSetItem, "document", property(first_read))
    monkeypatch.setattr(xapian.Database, "get_document", lambda database, *args: counted(database_document(database, *args)))
    copy_groups = indexer.ClusterRun.copy_groups

    def looked_up(run, articles):
        looking_up.append(True)
        try:
            return copy_groups(run, articles)
        finally:
            looking_up.pop()

    monkeypatch.setattr(indexer.ClusterRun, "copy_groups", looked_up)
    return read


def add_copies_of_committed_articles(corpus) -> dict[str, str]:
    """Files sorting after the corpus's: copies of articles it holds (a copy, and the article a copy
    was made from), and two copies of a new story, in the same batch or not."""
    articles = {
        "zz/copy-again.txt": (corpus / "copies/000.txt").read_text(),
        "zz/original-again.txt": next((corpus / "wire").rglob("004.txt")).read_text(),
        "zz/new-a.txt": next(text for name, text in generated_articles(12, seed=99).items() if name.startswith("wire/")),
    }
    articles["zz/new-b.txt"] = articles["zz/new-a.txt"].replace("The ", "Again: the ", 1)
    write_corpus(corpus, articles)
    return {name: str(corpus / name) for name in articles}


def test_an_update_adding_copies_groups_them_as_a_fresh_build_without_reading_documents(two_clusters, documents_read):
    """Copies of articles the cluster holds join their groups, read from the COPY_SLOT values by a
    match spy: no document is read for the lookup, and the groups are those of a fresh build."""
    from archsearch.engines.xapian import indexer

    updated, fresh, corpus = two_clusters
    indexer.update_cluster(updated, [str(corpus)], commit_every=20)
    added = add_copies_of_committed_articles(corpus)
    report = indexer.update_cluster(updated, [], commit_every=2)
    assert report.added == 4 and documents_read == []
    indexer.update_cluster(fresh, [str(corpus)])
    groups = copy_groups_of(updated)
    assert groups == copy_groups_of(fresh)
    assert groups[added["zz/copy-again.txt"]] == str(corpus / "copies/000.txt")
    original = next(path for path in groups if "/wire/" in path and path.endswith("/004.txt"))
    assert groups[added["zz/original-again.txt"]] == groups[original]
    assert groups[added["zz/new-a.txt"]] == groups[added["zz/new-b.txt"]] == added["zz/new-a.txt"]


def test_a_cluster_written_before_the_copy_values_still_groups_copies_from_its_documents(
        two_clusters, documents_read, monkeypatch):
    """Articles written without COPY_SLOT (by an earlier archsearch) are read from their documents,
    and only they: the groups are still those of a fresh build."""
    from archsearch.engines.xapian import indexer
    from archsearch.engines.xapian.documents import COPY_SLOT

    updated, fresh, corpus = two_clusters
    finish_document = indexer.finish_document

    def as_before(document, *args):
        finish_document(document, *args)
        document.remove_value(COPY_SLOT)

    monkeypatch.setattr(indexer, "finish_document", as_before)
    indexer.update_cluster(updated, [str(corpus)])
    monkeypatch.setattr(indexer, "finish_document", finish_document)
    added = add_copies_of_committed_articles(corpus)
    indexer.update_cluster(updated, [], commit_every=2)
    # The legacy articles sharing a band with the new ones, and not the new ones of the first batch.
    assert documents_read and not set(documents_read) & {path.encode() for path in added.values()}
    indexer.update_cluster(fresh, [str(corpus)])
    assert copy_groups_of(updated) == copy_groups_of(fresh)
    assert copy_groups_of(updated)[added["zz/copy-again.txt"]] == str(corpus / "copies/000.txt")


def test_a_copy_sharing_most_bands_is_found_among_many_articles_sharing_one():
    """The candidates are taken sharing most bands first, then by identity: a copy whose identity
    sorts after 60 articles sharing one band by chance is still found."""
    from archsearch.engines.xapian.indexer import COPY_CANDIDATES, Copy, _first_copy, band_terms
    from archsearch.nearduplicates import SKETCH_SIZE

    article = tuple(range(1000, 1000 + SKETCH_SIZE))
    copy = article[:-1] + (7,)
    by_chance = [article[:4] + tuple(range(number * 100, number * 100 + SKETCH_SIZE - 4)) for number in range(60)]
    assert len(by_chance) > COPY_CANDIDATES
    earlier = {}
    for identity, sketch, group in [*((f"a{number:02}", sketch, f"a{number:02}") for number, sketch in enumerate(by_chance)),
                                    ("zz-copy", copy, "the group")]:
        for band in band_terms(sketch):
            earlier.setdefault(band, {})[identity] = Copy(identity, sketch, group)
    assert len(earlier[band_terms(article)[0]]) == 61
    assert _first_copy(article, band_terms(article), earlier) == "the group"


@settings(suppress_health_check=[HealthCheck.too_slow], deadline=None)  # a loaded machine: no timing
@given(
    article=st.text(min_size=1),
    group=st.text(min_size=1) | st.none(),
    sketch=st.lists(st.integers(0, 2**32 - 1), min_size=32, max_size=32).map(tuple),
)
def test_a_copy_value_gives_back_its_identity_sketch_and_group(article, group, sketch):
    from archsearch.engines.xapian.documents import copy_value, read_copy_value

    assert read_copy_value(copy_value(article, sketch, group or article)) == (article, sketch, group or article)


def test_after_a_batch_fails_while_written_nothing_later_is_written_nor_recorded(fresh_cluster, monkeypatch):
    """Batches are written while the next is read: one that fails stops the run, and neither its
    record nor any later batch reaches the shards, so the next run reads those files again."""
    from archsearch.engines.xapian import indexer
    from test_cluster import cluster_ids, corpus_ids

    location, corpus = fresh_cluster["file"], fresh_cluster["corpus"]
    written = indexer.ClusterRun.shard_documents
    calls = []

    def failing_second(self, articles):
        calls.append(len(articles))
        if len(calls) == 2:
            raise OSError("the second batch fails")
        return written(self, articles)

    monkeypatch.setattr(indexer.ClusterRun, "shard_documents", failing_second)
    with pytest.raises(OSError, match="second batch"):
        indexer.update_cluster(location, [str(corpus)], commit_every=8)
    assert len(calls) == 2 and len(cluster_ids(location)) == 8
    monkeypatch.setattr(indexer.ClusterRun, "shard_documents", written)
    report = indexer.update_cluster(location, [])
    assert (report.unchanged, report.added) == (8, len(corpus_ids(corpus)) - 8)
    assert cluster_ids(location) == corpus_ids(corpus)


def test_the_cluster_benchmark_measures_both_engines_on_an_index_built_before(tmp_path):
    """bench/cluster.py --embedded-index-file (the file naming the index, read once the cluster is
    built): a smoke test of the harness, not a timing."""
    import json
    import subprocess
    import sys

    from archsearch.indexing import update_index
    from conftest import REPO

    require_xapian()
    corpus = write_corpus(tmp_path / "corpus", generated_articles(30))
    embedded = tmp_path / "embedded"
    update_index(embedded, [str(corpus)])
    (tmp_path / "INDEX_PATH").write_text(f"{embedded}\n")
    out = tmp_path / "results.json"
    done = subprocess.run(
        [sys.executable, str(REPO / "bench" / "cluster.py"), str(corpus), "--shards", "2", "--repeat", "1",
         "--embedded-index-file", str(tmp_path / "INDEX_PATH"), "--work-dir", str(tmp_path), "--json", str(out)],
        capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    results = json.loads(out.read_text())
    files = len(list(corpus.rglob("*.txt")))
    assert results["embedded_index_built_before"] == str(embedded)
    assert results["embedded"]["build_s"] is None and results["embedded"]["disk_bytes"] > 0
    assert results["cluster"]["build_s"] > 0 and results["cluster"]["articles_held"] == files
    for engine in ("embedded", "cluster"):
        assert len(results[engine]["queries"]) == 6
        assert all(times["process_p50_s"] > 0 and times["served_p50_s"] > 0 for times in results[engine]["queries"].values())
    assert "articles/s" in done.stdout


def test_the_cluster_benchmark_continues_a_build_kept_in_its_folder(tmp_path):
    """bench/cluster.py --folder keeps the shards and the embedded index; run again on the same
    folder (as after a session that ended mid-build), it serves the shards on the ports its
    cluster file names and each index goes on from its record, so only the new files are read."""
    import json
    import subprocess
    import sys

    from conftest import REPO

    require_xapian()
    articles = generated_articles(30)
    corpus = write_corpus(tmp_path / "corpus", dict(list(articles.items())[:12]))
    folder, out = tmp_path / "kept", tmp_path / "results.json"

    def bench():
        done = subprocess.run(
            [sys.executable, str(REPO / "bench" / "cluster.py"), str(corpus), "--shards", "2", "--repeat", "1",
             "--folder", str(folder), "--json", str(out), "--progress-every", "0"],
            capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stderr
        return done.stdout, json.loads(out.read_text())

    first_output, first = bench()
    ports = (folder / "cluster.toml").read_text()
    assert not first["continued"] and first["cluster"]["articles_held"] == 12
    write_corpus(corpus, dict(list(articles.items())[12:]))
    output, continued = bench()
    assert continued["continued"] and "continuing the build" in output
    assert (folder / "cluster.toml").read_text() == ports
    assert continued["cluster"]["articles_held"] == len(list(corpus.rglob("*.txt")))
    for engine in ("embedded", "cluster"):
        assert continued[engine]["indexer_cpu_s"] > 0
    assert continued["cluster"]["servers_cpu_s"] >= 0  # too little work on 18 articles for a clock tick
    assert sorted(path.name for path in folder.iterdir()) == ["cluster.toml", "embedded", "shard0", "shard1"]


def test_the_cluster_benchmark_rates_a_continued_build_by_the_articles_it_added(monkeypatch, capsys):
    """bench/cluster.py's progress lines: the shards of a continued build held articles before it."""
    import sys
    import threading

    from conftest import REPO

    monkeypatch.syspath_prepend(str(REPO / "bench"))
    import cluster as bench_cluster

    held = iter([500_000, 500_600])
    monkeypatch.setattr(bench_cluster, "shard_articles", lambda ports: next(held))

    class OneTick(threading.Event):
        def wait(self, timeout=None):
            ticks.append(timeout)
            return len(ticks) > 1

    ticks = []
    monkeypatch.setattr(bench_cluster.time, "perf_counter", lambda: 10.0)
    bench_cluster.report_progress([1], 5, 4.0, OneTick())
    line = capsys.readouterr().out
    for name in ("cluster", "run"):  # bench's modules, by names too common to leave imported
        sys.modules.pop(name, None)
    assert "500,600 articles" in line and "100.0 articles/s" in line, line


def test_the_copy_lookup_benchmark_compares_both_lookups_on_the_same_cluster(tmp_path):
    """bench/copy_lookup.py --compare-reading: a smoke test of the harness, not a timing."""
    import json
    import subprocess
    import sys

    from conftest import REPO

    require_xapian()
    articles = generated_articles(40)
    corpus = write_corpus(tmp_path / "corpus", articles)
    out = tmp_path / "results.json"
    done = subprocess.run(
        [sys.executable, str(REPO / "bench" / "copy_lookup.py"), str(corpus), "--shards", "2", "--jobs", "1",
         "--commit-every", "15", "--compare-reading", "--work-dir", str(tmp_path), "--json", str(out)],
        capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    results = json.loads(out.read_text())
    lookups = results["lookups"]
    assert results["articles"] == len(articles) and [lookup["held"] for lookup in lookups][:2] == [0, 15]
    assert all(lookup["same_candidates"] and lookup["documents_read"] == 0 for lookup in lookups)
    # The copies of the first batch's articles are matched in a later one, both ways.
    assert sum(lookup["reading"]["documents"] for lookup in lookups) > 0
    assert sum(lookup["spy"]["spy_bytes"] for lookup in lookups) > 0
    assert sorted(path.name for path in tmp_path.iterdir()) == ["corpus", "results.json"]  # shards removed
