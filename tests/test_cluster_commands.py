"""The commands that once refused a cluster (stats, query --expand, browse, and serving them), on a
3-shard cluster of real `xapian-tcpsrv` shards (tests/test_cluster.py's fixtures), compared with
the embedded engine on the same corpus wherever their outputs should agree."""

import csv
import json
import re

import pytest

from conftest import wire, write_corpus
from test_cluster import engine, fresh_cluster, generated_articles, indexed_in_both  # noqa: F401 (a fixture)
from test_server import no_click  # noqa: F401 (a fixture)


def mixed_articles() -> dict[str, str]:
    """The generated corpus, with articles in other languages and one too short to tell its language."""
    articles = generated_articles()
    articles["ru/1.txt"] = wire("2018-05-05", "МОСКВА, 5 мая. /ТАСС/.", "Беженцы из Сирии прибыли в Германию, сообщили власти.")
    articles["ru/2.txt"] = wire("2018-06-06", "МОСКВА, 6 июня. /ТАСС/.", "Власти Германии приняли новых беженцев из Сирии.")
    articles["de/1.txt"] = wire("2022-07-07", "BERLIN, 7. Juli. /DPA/.", "Die Flüchtlinge an der Grenze warten auf Hilfe.")
    articles["short.txt"] = "Ok."
    return articles


@pytest.fixture(scope="module")
def both(tmp_path_factory):
    """The mixed corpus in a cluster of 3 shards and in an embedded index."""
    yield from indexed_in_both(tmp_path_factory.mktemp("commands"), mixed_articles())


# --------------------------------------------------------------------------- stats


def test_stats_count_what_the_embedded_index_counts(both):
    cluster, embedded = engine(both["cluster"]).stats(), engine(both["embedded"]).stats()
    same = ("articles", "dated", "first_date", "last_date", "sources", "places", "languages", "folders")
    assert [getattr(cluster, name) for name in same] == [getattr(embedded, name) for name in same]
    assert cluster.articles == len(mixed_articles())
    assert {"ru", "de", "unknown"} <= dict(cluster.languages).keys()
    assert cluster.location == str(both["cluster"]) and cluster.size_bytes is None
    assert len(cluster.shards) == 3 and sum(articles for _, articles in cluster.shards) == cluster.articles
    assert cluster.last_indexed is not None and abs((cluster.last_indexed - embedded.last_indexed).total_seconds()) < 600


def test_stats_print_as_the_embedded_index_with_the_shards(both, run_cli):
    def printed(location, *options):
        result = run_cli("stats", "--index", str(location), *options)
        assert (result.exit_code, result.stderr) == (0, "")
        return result.stdout

    def rows(output):
        return [line.split("\t", 1) for line in output.splitlines()]

    cluster, embedded = rows(printed(both["cluster"], "--format", "tsv")), rows(printed(both["embedded"], "--format", "tsv"))
    index_rows = {"index", "index size", "last indexed", "shard"}
    assert [row for row in cluster if row[0] not in index_rows] == [row for row in embedded if row[0] not in index_rows]
    assert ["index size", ""] in cluster
    shards = [value for name, value in cluster if name == "shard"]
    assert len(shards) == 3 and all(value.startswith("127.0.0.1:") and value.endswith(" articles)") for value in shards)

    shown = json.loads(printed(both["cluster"], "--json"))
    assert shown["index_size_bytes"] is None and shown["articles"] == sum(shard["articles"] for shard in shown["shards"])
    assert "shards" not in json.loads(printed(both["embedded"], "--json"))
    on_terminal = re.sub(r"\x1b\[[0-9;]*m", "", printed(both["cluster"], "--color", "always"))
    assert re.search(r"\n *index size +unknown *\n", on_terminal)


@pytest.mark.parametrize("number", [0, 1])
def test_stats_name_a_shard_down_and_allow_partial_counts_the_others(fresh_cluster, run_cli, number):  # noqa: F811
    from archsearch.engines.xapian.indexer import update_cluster

    update_cluster(fresh_cluster["file"], [str(fresh_cluster["corpus"])])
    whole = engine(fresh_cluster["file"]).stats()
    down = fresh_cluster["shards"][number]
    down.stop()
    strict = run_cli("stats", "--index", str(fresh_cluster["file"]))
    named = f"shard {down.endpoint} ({number + 1} of 3)"
    assert strict.exit_code == 2 and named in strict.stderr and "Traceback" not in strict.stderr
    partial = run_cli("stats", "--index", str(fresh_cluster["file"]), "--allow-partial", "--json")
    assert partial.exit_code == 0 and f"warning: answering without {named}" in partial.stderr
    shown = json.loads(partial.stdout)
    assert shown["shards"][number] == {"address": down.endpoint, "articles": None}
    assert shown["articles"] == whole.articles - whole.shards[number][1]
    # The folders are recorded on the first shard.
    assert shown["folders"] == ([] if number == 0 else whole.folders) and whole.folders


def test_stats_of_an_empty_cluster(fresh_cluster, run_cli):  # noqa: F811
    result = run_cli("stats", "--index", str(fresh_cluster["file"]))
    assert result.exit_code == 1 and "the index holds no articles" in result.stderr
    assert result.stdout.startswith("articles\t0\n")


# --------------------------------------------------------------------------- query --expand


def rounded(expansion):
    return [(term, round(weight, 9)) for term, weight in expansion]


@pytest.mark.parametrize("text", ["place:herat wheat", "source:tass refugees", "title:story refugees border", "беженцы"])
def test_expand_over_the_same_best_hits_adds_the_embedded_engine_s_terms_and_matches(both, text):
    """Queries of 10 matches at most: the best hits are all of them on both engines."""
    options = dict(limit=0, collapse_copies=False, expand=True)
    cluster, embedded = engine(both["cluster"]).search(text, **options), engine(both["embedded"]).search(text, **options)
    assert 2 <= engine(both["cluster"]).search(text, limit=0).total <= 10
    assert cluster.expansion and rounded(cluster.expansion) == rounded(embedded.expansion)
    assert cluster.total == embedded.total >= engine(both["cluster"]).search(text, limit=0).total
    assert sorted(hit.id for hit in cluster.hits) == sorted(hit.id for hit in embedded.hits)


@pytest.mark.parametrize("text, relax", [("refugees border", False), ("wheat OR gas", False), ("refugees zucchini", True)])
def test_expand_chooses_the_terms_the_embedded_engine_chooses_from_the_cluster_s_best_hits(both, text, relax):
    """More than 10 matches: the cluster's 10 best (by its BM25) are the feedback; the embedded
    engine's Bo1 over those same articles chooses the same terms, with the same weights."""
    from archsearch.analysis.alternatives import index_languages
    from archsearch.engines.whoosh.store import index_searcher
    from archsearch.expansion import widened
    from archsearch.querying import parse_query

    cluster = engine(both["cluster"])
    best = [hit.id for hit in cluster.search(text, limit=10, collapse_copies=False, relax_when_empty=relax).hits]
    expanded = cluster.search(text, expand=True, relax_when_empty=relax)
    assert len(best) == 10 and expanded.relaxed == relax and expanded.expansion
    with index_searcher(both["embedded"]) as searcher:
        docnums = {searcher.stored_fields(docnum)["path"]: docnum for docnum in range(searcher.doc_count_all())}
        parsed = parse_query(text, searcher.schema, languages=index_languages(searcher))
        _, terms = widened(searcher, [docnums[name] for name in best], parsed.query)
    assert rounded(expanded.expansion) == rounded((found.term, found.weight) for found in terms)


def test_expand_sorted_by_date_takes_the_terms_of_the_most_relevant_hits(both):
    cluster = engine(both["cluster"])
    newest = cluster.search("refugees border", expand=True, sort="newest", limit=0, collapse_copies=False)
    assert newest.expansion == cluster.search("refugees border", expand=True).expansion
    dates = [hit.date for hit in newest.hits if hit.date]
    assert dates and dates == sorted(dates, reverse=True)


def test_query_expand_prints_as_the_embedded_engine(both, run_cli):
    def printed(location):
        result = run_cli("query", "--index", str(location), "--expand", "--explain", "-n", "0", "--json", "place:herat wheat")
        assert result.exit_code == 0
        return result

    cluster, embedded = printed(both["cluster"]), printed(both["embedded"])
    hits = [[(line["id"], line["copies"]) for line in map(json.loads, result.stdout.splitlines()) if line["type"] == "hit"]
            for result in (cluster, embedded)]
    assert sorted(hits[0]) == sorted(hits[1]) and len(hits[0]) > 5
    expanded = [line for line in cluster.stderr.splitlines() if "expanded (--expand)" in line]
    assert expanded and expanded == [line for line in embedded.stderr.splitlines() if "expanded (--expand)" in line]
    assert "xapian (expanded): " in cluster.stderr


# --------------------------------------------------------------------------- browse


def saved_ids(path) -> list[str]:
    """The ids of the articles a CSV saved by the browser lists, their copies included."""
    with path.open(encoding="utf-8", newline="") as saved:
        return sorted(name for row in csv.DictReader(saved) for name in (row["id"], *row["copies"].split()))


def every_article(hits) -> list[str]:
    """The articles hits stand for, their copies included: which copy leads a group follows the ranking."""
    return sorted(name for hit in hits for name in (hit.id, *hit.copies))


@pytest.mark.parametrize("text, filters", [
    ("refugees", []), ("wheat OR gas", [("source", "TASS")]), ("border", [("year", "2020"), ("place", "Herat")]),
    ("беженцы", []), ('"border talks"', []),
])
def test_the_browser_s_session_shows_on_a_cluster_what_it_shows_on_the_embedded_index(both, tmp_path, text, filters):
    from archsearch.browser.session import Filter, Session

    chosen = [Filter(kind, value) for kind, value in filters]
    sessions = Session(both["cluster"]), Session(both["embedded"])
    cluster, embedded = (session.run(text, chosen) for session in sessions)
    assert cluster.search.total == embedded.search.total > 0
    assert every_article(cluster.search.hits) == every_article(embedded.search.hits)
    same = ("query", "facets", "timeline", "years", "undated", "terms", "warnings")
    assert [getattr(cluster, name) for name in same] == [getattr(embedded, name) for name in same]
    for hit in cluster.search.hits:
        assert sessions[0].preview(hit, cluster.terms) == sessions[1].preview(hit, embedded.terms)
    assert saved_ids(sessions[0].export_csv(cluster, tmp_path)) == saved_ids(sessions[1].export_csv(embedded, tmp_path))


def test_a_cluster_engine_answers_threads_one_at_a_time(both):
    """The browser searches and reads articles in threads of their own, on one engine: Xapian's
    remote connections, used by two threads at once, read each other's replies."""
    import threading

    cluster = engine(both["cluster"])
    texts = ["refugees border", "wheat OR gas", "беженцы", "date:2020 court"]
    expected = {text: every_article(cluster.search(text, limit=0).hits) for text in texts}
    answers, errors = [], []

    def work(text):
        try:
            for _ in range(10):
                found = cluster.search(text, limit=0)
                cluster.find_article(found.hits[0].reference)
                answers.append((text, every_article(found.hits)))
        except Exception as exc:  # noqa: BLE001 (any failure in a thread is the test's)
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(text,)) for text in texts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert len(answers) == 40 and all(articles == expected[text] for text, articles in answers)


def walk(location, export_folder):
    """Drives the browser on the index at `location`: a query, the first hit read, a source facet
    chosen, the results saved; what it showed on the way."""
    from archsearch.browser.app import BrowseApp
    from archsearch.browser.session import Session
    from test_browse import choose_facet, drive, preview_matches, row_ids, settle, shown

    app = BrowseApp(Session(location), export_folder=export_folder)
    seen = {}

    async def script(pilot):
        await pilot.press(*"refugees")
        await settle(pilot)
        seen["status"], seen["timeline"] = shown(pilot.app, "#status"), shown(pilot.app, "#timeline")
        seen["articles"] = every_article(pilot.app.results.search.hits)
        seen["rows"] = sorted(row_ids(pilot.app))
        await pilot.press("enter", "down")
        await settle(pilot)
        hit = pilot.app.current_hit()
        seen["preview"] = hit.id, shown(pilot.app, "#preview"), preview_matches(pilot.app)
        await choose_facet(pilot, "source\tTASS")
        seen["narrowed"] = shown(pilot.app, "#status"), every_article(pilot.app.results.search.hits)
        await pilot.press("s")
        await pilot.pause()
        (saved,) = export_folder.glob("archsearch-refugees-*.csv")
        seen["saved"] = saved_ids(saved)

    drive(app, script)
    return seen


def test_browsing_a_cluster_shows_what_browsing_the_embedded_index_shows(both, tmp_path):
    (tmp_path / "c").mkdir(), (tmp_path / "e").mkdir()
    cluster = walk(both["cluster"], tmp_path / "c")
    embedded = walk(both["embedded"], tmp_path / "e")
    assert re.match(r"\d+ articles", cluster["status"]) and cluster["preview"][2] and cluster["saved"]
    for seen in ("status", "timeline", "articles", "narrowed", "saved"):
        assert cluster[seen] == embedded[seen], seen
    name, text, matches = cluster["preview"]
    assert name in cluster["rows"] and f"\n{name}" in text and {match.lower() for match in matches} == {"refugees"}


def test_browse_names_a_shard_down_before_the_screen_opens_and_allow_partial_browses_the_others(fresh_cluster, tmp_path):  # noqa: F811
    import os
    import pty
    import subprocess

    from archsearch.browser.app import BrowseApp
    from archsearch.browser.session import Session
    from archsearch.engines.xapian.indexer import update_cluster
    from conftest import installed_command, read_terminal
    from test_browse import drive, settle, shown

    update_cluster(fresh_cluster["file"], [str(fresh_cluster["corpus"])])
    down = fresh_cluster["shards"][2]
    down.stop()
    controller, terminal = pty.openpty()
    process = subprocess.Popen(
        [installed_command(), "browse", "--index", str(fresh_cluster["file"]), "refugees"],
        stdin=terminal, stdout=terminal, stderr=subprocess.PIPE, env={**os.environ, "ARCHSEARCH_SERVER": "off"},
    )
    os.close(terminal)
    _, errors = process.communicate(timeout=60)
    read_terminal(controller)
    assert process.returncode == 2
    assert errors.decode().count("\n") == 1 and f"shard {down.endpoint} (3 of 3) is down" in errors.decode()

    app = BrowseApp(Session(fresh_cluster["file"], allow_partial=True), "refugees", export_folder=tmp_path)

    async def script(pilot):
        await settle(pilot)
        assert pilot.app.results.search.hits
        assert f"warning: answering without shard {down.endpoint} (3 of 3)" in shown(pilot.app, "#status")

    drive(app, script)


# --------------------------------------------------------------------------- serve

SERVED_COMMANDS = [
    ["query", "refugees border"], ["query", "--json", "--expand", "place:herat wheat"], ["query", "-c", "wheat"],
    ["stats"], ["show", "wire/2019/000.txt"], ["similar", "-n", "3", "wire/2019/000.txt"], ["sources", "refugees"],
    ["timeline", "--by", "year", "refugees"], ["kwic", "-n", "3", "border talks"], ["terms", "-n", "5", "refugees"],
    ["query", "zucchini"],
]


def test_serve_runs_the_commands_on_a_cluster_as_they_run_without_it(both, no_click):  # noqa: F811
    """The server runs each command in a process of its own, which opens the cluster as the command would."""
    import shutil

    from test_server import archsearch, environment, outcome, running_server, short_folder

    folder = short_folder()
    try:
        with running_server(folder / "s.sock") as server:
            for args in SERVED_COMMANDS:
                served = archsearch(*args, env=environment(server.socket, both["cluster"], no_click))
                alone = archsearch(*args, env=environment(server.socket, both["cluster"], ARCHSEARCH_SERVER="off"))
                assert outcome(served) == outcome(alone), args
                assert served.returncode == (1 if "zucchini" in args else 0), served.stderr
    finally:
        shutil.rmtree(folder)


# --------------------------------------------------------------------------- query --sort


@pytest.mark.parametrize("sort", ["newest", "oldest"])
def test_hits_sorted_by_date_keep_their_scores_as_on_the_embedded_index(both, sort):
    options = dict(limit=0, collapse_copies=False)
    cluster = engine(both["cluster"])
    by_relevance = {hit.id: round(hit.score, 9) for hit in cluster.search("refugees border", **options).hits}
    by_date = cluster.search("refugees border", sort=sort, **options).hits
    assert {hit.id: round(hit.score, 9) for hit in by_date} == by_relevance
    embedded = engine(both["embedded"]).search("refugees border", sort=sort, **options).hits
    assert all(hit.score is not None for hit in embedded) and [hit.id for hit in by_date] != []
