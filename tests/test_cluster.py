"""Real Xapian shards for the cluster tests: `xapian-tcpsrv --writable` processes on loopback.

When xapian-tcpsrv or the Python bindings are missing, the cluster tests are skipped with the
reason, unless ARCHSEARCH_REQUIRE_CLUSTER_TESTS=1 (set by .ci/run), which makes that a failure.
"""

import os
import shutil
import sys
import time
import warnings
from pathlib import Path

import pytest

from conftest import REPO

sys.path.insert(0, str(REPO / "bench"))
from cluster import start_shard, stop_shard  # noqa: E402  (bench/cluster.py: the tests' shards start as its do)

REQUIRE = os.environ.get("ARCHSEARCH_REQUIRE_CLUSTER_TESTS") == "1"


def missing() -> str | None:
    if shutil.which("xapian-tcpsrv") is None:
        return "xapian-tcpsrv is not installed (Debian: apt-get install xapian-tools)"
    try:
        import xapian  # noqa: F401
    except ImportError:
        return "the Xapian bindings are not installed (pip install 'archsearch[cluster]')"
    return None


def require_xapian() -> None:
    reason = missing()
    if reason is None:
        return
    if REQUIRE:
        pytest.fail(f"cluster tests required (ARCHSEARCH_REQUIRE_CLUSTER_TESTS=1) but {reason}")
    # A warning, so that pytest's summary shows the reason without -rs.
    warnings.warn(f"cluster tests skipped: {reason}", stacklevel=2)
    pytest.skip(reason)


class Shard:
    """One xapian-tcpsrv in a process group of its own (it forks a process per connection, and a
    shard going down means all of them)."""

    def __init__(self, folder: Path, options: tuple[str, ...] = ()):
        self.folder = folder
        self.options = options
        self.port = 0
        self.process = None

    @property
    def endpoint(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> None:
        """On its port (a port found free the first time): bench/cluster.py's start_shard."""
        self.process, self.port = start_shard(self.folder, self.port, self.options)

    def signal(self, number: int) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, number)

    def stop(self) -> None:
        if self.process is not None:
            stop_shard(self.process)
            self.process = None


def start_shards(folder: Path, count: int, options: tuple[str, ...] = ()) -> list[Shard]:
    folder.mkdir(parents=True, exist_ok=True)
    shards = [Shard(folder / f"shard{number}", options) for number in range(count)]
    for shard in shards:
        shard.start()
    return shards


# --------------------------------------------------------------------------- the corpus and clusters

import datetime  # noqa: E402
import random  # noqa: E402
import re  # noqa: E402

from conftest import web, wire, write_corpus  # noqa: E402

WORDS = (
    "refugees border talks ceasefire election minister parliament flood drought harvest wheat gas pipeline "
    "sanctions embassy protest court verdict airport railway bridge vaccine hospital school teachers strike "
    "journalists militants convoy aid mission summit treaty organization organisations organizing"
).split()
PLACES = ("KABUL", "MOSCOW", "TASHKENT", "DUSHANBE", "HERAT")
SOURCES = ("TASS", "AKIpress", "Xinhua", "Interfax")


def generated_articles(count: int = 90, seed: int = 17) -> dict[str, str]:
    """Wire stories (dated) and web pages (undated) from a small vocabulary, so that words meet
    often, with a few republished copies."""
    chooser = random.Random(seed)
    articles = {}
    for number in range(count):
        words = " ".join(chooser.choice(WORDS) for _ in range(chooser.randint(25, 60)))
        place = chooser.choice(PLACES)
        if number % 4 == 3:
            articles[f"web/{number:03}.txt"] = web("World", f"Story {number} {words[:30]}", "Kabul Chronicle", f"{place}: {words}.")
        else:
            day = datetime.date(2019, 1, 1) + datetime.timedelta(days=chooser.randint(0, 1000))
            dateline = f"{place}, {day:%B} {day.day}. /{chooser.choice(SOURCES)}/."
            articles[f"wire/{day.year}/{number:03}.txt"] = wire(day.isoformat(), dateline, f"The {words}.")
    for number in range(0, 12, 4):  # the same story sent again by another agency
        name = next(name for name in articles if name.endswith(f"/{number:03}.txt"))
        articles[f"copies/{number:03}.txt"] = articles[name].replace("/TASS/", "/Interfax/").replace("/AKIpress/", "/Xinhua/")
    return articles


@pytest.fixture(scope="module")
def shards(tmp_path_factory):
    """Four shards on loopback: three make the cluster, the fourth is a cluster of one database."""
    require_xapian()
    started = start_shards(tmp_path_factory.mktemp("shards"), 4)
    yield started
    for shard in started:
        shard.stop()


def cluster_file(folder: Path, shards: list[Shard]) -> Path:
    from archsearch.engines.xapian.clusterfile import init_cluster

    path = folder / "cluster.toml"
    init_cluster(path, [shard.endpoint for shard in shards])
    return path


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return write_corpus(tmp_path_factory.mktemp("cluster-corpus") / "corpus", generated_articles())


@pytest.fixture(scope="module")
def built(tmp_path_factory, shards, corpus):
    """The corpus in the 3-shard cluster, in the one-shard cluster, and in an embedded index."""
    from archsearch.engines.xapian.indexer import update_cluster
    from archsearch.indexing import update_index

    three = cluster_file(tmp_path_factory.mktemp("three"), shards[:3])
    one = cluster_file(tmp_path_factory.mktemp("one"), shards[3:])
    update_cluster(three, [str(corpus)])
    update_cluster(one, [str(corpus)])
    embedded = tmp_path_factory.mktemp("embedded") / "index"
    update_index(embedded, [str(corpus)])
    return {"three": three, "one": one, "embedded": embedded, "corpus": corpus, "shards": shards}


def engine(location):
    from archsearch.engines import open_engine

    return open_engine(location)


def local_engine(built):
    """The one-shard cluster's database opened from its folder, as one local Xapian database."""
    import xapian

    one = engine(built["one"])
    one.shards.database = xapian.Database(str(built["shards"][3].folder))
    return one


RANKED_QUERIES = [
    "refugees", "refugees border", "ceasefire OR drought", '"border talks"', "minister -parliament",
    "title:story", "source:tass wheat", "organi*", "date:2020 flood", "vaccin~", "place:herat aid",
]
MATCHING_QUERIES = [
    "refugees border", "ceasefire OR drought", "minister -parliament", "(flood OR drought) NOT strike",
    '"border talks"', '"peace talks"', "title:story", "source:tass", "place:kabul wheat", "organiz*",
    "organi?ations", "date:2020", "date:2019-06..2020-03 court", "lang:en summit", "path:copies",
]


def assert_same_matches(cluster_location, embedded_location, text: str) -> None:
    """The cluster matches the same articles as the embedded index, as many of them."""
    options = dict(limit=0, collapse_copies=False, relax_when_empty=False)
    cluster = engine(cluster_location).search(text, **options)
    embedded = engine(embedded_location).search(text, **options)
    assert {hit.id for hit in cluster.hits} == {hit.id for hit in embedded.hits}
    assert cluster.total == embedded.total == len(cluster.hits)


def ranked(result):
    return [(hit.id, round(hit.score, 9)) for hit in result.hits], result.total


@pytest.mark.parametrize("text", RANKED_QUERIES)
def test_three_shards_rank_as_one_database(built, text):
    options = dict(limit=0, collapse_copies=False)
    cluster = engine(built["three"]).search(text, **options)
    single = local_engine(built).search(text, **options)
    assert cluster.total > 0
    assert ranked(cluster) == ranked(single)


@pytest.mark.parametrize("text", MATCHING_QUERIES)
def test_the_same_articles_match_as_in_the_embedded_index(built, text):
    assert_same_matches(built["three"], built["embedded"], text)


PROXIMITY_QUERIES = [
    "refugees NEAR/1 border", "border NEAR/1 refugees", "refugees NEAR/2 border", "refugees NEAR/3 border",
    "wheat NEAR/1 harvest", "refugees NEAR border", '"harvest wheat" NEAR/8 (refugees OR border)', "organi* NEAR/2 aid",
    "refugees NEAR/3 border NEAR/3 talks", "SENTENCE(refugees border)", "SENTENCE(kabul wheat)",
    'SENTENCE("border talks" flood)', "mentions>=2:refugees", "mentions>=3:wheat", "mentions>=4:(flood OR drought)",
    'mentions>=1:"harvest wheat"', "mentions>=2:refugees -wheat", "story NEAR/4 refugees", "SENTENCE(story refugees)", "lead:refugees",
    "lead:kabul wheat", 'lead:"border talks"',
]


@pytest.mark.parametrize("text", PROXIMITY_QUERIES)
def test_proximity_mentions_and_lead_match_as_in_the_embedded_index(built, text):
    assert_same_matches(built["three"], built["embedded"], text)


def placed_articles() -> dict[str, str]:
    """Articles whose distances, sentences, titles made from the lead and mention counts are known:
    alpha and beta 1 to 6 words apart in either order, sentences ended or not by full stops,
    abbreviations, question marks and blank lines, omega mentioned 1 to 4 times in the body."""
    articles = {}
    for apart in range(1, 7):
        between = " ".join(["filler"] * (apart - 1))
        articles[f"near/ab{apart}.txt"] = wire("2020-01-01", "KABUL, January 1. /TASS/.", f"The alpha {between} beta met.")
        articles[f"near/ba{apart}.txt"] = wire("2020-01-02", "KABUL, January 2. /TASS/.", f"The beta {between} alpha met.")
        articles[f"omega/{apart}.txt"] = web("World", "Omega omega report", "Kabul Chronicle", "The omega word. " * apart)
    sentences = [
        "Alpha came. Gamma left.", "Alpha met Mr. Gamma there.", "Alpha went home. gamma stayed.",
        "Alpha went? Gamma stayed.", "Alpha went\n\nGamma stayed", "Alpha and the U.S. Gamma stayed.",
    ]
    for number, text in enumerate(sentences):
        articles[f"sentence/{number}.txt"] = wire("2020-02-01", "HERAT, February 1. /Xinhua/.", text)
    articles["titles/alpha.txt"] = web("World", "Alpha news", "Kabul Chronicle", "Beta came first, then gamma.")
    # "alph" is alpha's stem in another language of the index only: not alpha here, however near beta.
    articles["near/stem.txt"] = wire("2020-01-03", "KABUL, January 3. /TASS/.", f"The alpha {'filler ' * 8}alph beta met.")
    articles["titles/lead.txt"] = "Alpha and beta stood side by side.\n\nLater gamma and omega arrived, omega twice."
    return articles


def indexed_in_both(folder: Path, articles: dict[str, str]):
    """The articles in a cluster of 3 shards of their own and in an embedded index, while in use."""
    from archsearch.engines.xapian.indexer import update_cluster
    from archsearch.indexing import update_index

    require_xapian()
    started = start_shards(folder / "shards", 3)
    corpus = write_corpus(folder / "corpus", articles)
    update_cluster(cluster_file(folder, started), [str(corpus)])
    update_index(folder / "index", [str(corpus)])
    yield {"cluster": folder / "cluster.toml", "embedded": folder / "index"}
    for shard in started:
        shard.stop()


@pytest.fixture(scope="module")
def placed(tmp_path_factory):
    yield from indexed_in_both(tmp_path_factory.mktemp("placed"), placed_articles())


PLACED_QUERIES = [
    *(f"alpha NEAR/{distance} beta" for distance in range(1, 8)), "beta NEAR/3 alpha", "alpha NEAR/2 (beta OR gamma)",
    '"the alpha" NEAR/2 beta', "=alpha NEAR/1 beta", "alpha NEAR/3 beta NEAR/3 filler", "alpha NEAR/1 news",
    "news NEAR/2 beta", "SENTENCE(alpha gamma)", "SENTENCE(alpha beta)", "SENTENCE(=alpha gamma)",
    "SENTENCE(alpha side)", *(f"mentions>={count}:omega" for count in range(1, 6)), "mentions>=2:=omega",
    "lead:alpha", "lead:gamma", 'lead:"alpha and beta"', "Alpha NEAR/2 beta",
]


@pytest.mark.parametrize("text", PLACED_QUERIES)
def test_known_distances_sentences_and_counts_match_as_in_the_embedded_index(placed, text):
    assert_same_matches(placed["cluster"], placed["embedded"], text)


@pytest.mark.parametrize("text, options", [
    ("date:2030 refugees", {}), ("date:2020 refugees", {}), ("refugees", {"since": "2020"}),
    ("refugees", {"since": "2020", "include_undated": True}),
])
def test_the_notes_on_dates_are_those_of_the_embedded_engine(built, text, options):
    cluster = engine(built["three"]).search(text, **options)
    embedded = engine(built["embedded"]).search(text, **options)
    notes = ("total", "outside_window", "date_span", "undated_left_out")
    assert [getattr(cluster, note) for note in notes] == [getattr(embedded, note) for note in notes]

@pytest.mark.parametrize("text", ["refugees zucchini", "border zucchini saffron", "wheat zucchini source:tass"])
def test_when_no_article_has_every_word_those_with_most_of_them_come_first(built, text):
    cluster = engine(built["three"]).search(text, limit=0, relax_when_empty=True)
    embedded = engine(built["embedded"]).search(text, limit=0, relax_when_empty=True)
    assert cluster.relaxed and embedded.relaxed
    assert (cluster.total, cluster.partial_matches) == (embedded.total, embedded.partial_matches)
    assert {hit.id for hit in cluster.hits} | {copy for hit in cluster.hits for copy in hit.copies} == (
        {hit.id for hit in embedded.hits} | {copy for hit in embedded.hits for copy in hit.copies}
    )
    assert not engine(built["three"]).search(text, relax_when_empty=False).hits


def test_relaxed_hits_with_more_of_the_words_rank_first(built):
    cluster = engine(built["three"])
    both = {hit.id for hit in cluster.search("refugees border", limit=0, collapse_copies=False).hits}
    relaxed = cluster.search("refugees border zucchini", limit=0, collapse_copies=False, relax_when_empty=True)
    has_both = [hit.id in both for hit in relaxed.hits]
    assert relaxed.relaxed and any(has_both) and not all(has_both)
    assert has_both == sorted(has_both, reverse=True)

@pytest.mark.parametrize("text", ["refugess", "minster border", "vacine hospital", "Herrat"])
def test_did_you_mean_as_the_embedded_engine(built, text):
    cluster = engine(built["three"]).search(text)
    embedded = engine(built["embedded"]).search(text)
    assert (cluster.suggestion, cluster.suggestion_total) == (embedded.suggestion, embedded.suggestion_total)
    fixed = engine(built["three"]).search(text, fix=True, limit=0, collapse_copies=False)
    if cluster.suggestion:
        assert fixed.corrected_from == text and fixed.total == cluster.suggestion_total


def test_did_you_mean_offers_a_spelling(built):
    assert engine(built["three"]).search("refugess").suggestion == "refugees"

def test_every_article_is_on_exactly_one_shard(built):
    import xapian

    from archsearch.engines.xapian.clusterfile import shard_of
    from archsearch.engines.xapian.documents import stored_fields

    articles = generated_articles()
    counts = []
    for number, shard in enumerate(built["shards"][:3]):
        database = xapian.Database(str(shard.folder))
        counts.append(database.get_doccount())
        for posting in database.postlist(""):
            stored = stored_fields(database.get_document(posting.docid))
            assert shard_of(stored["key"], 3) == number
    assert sum(counts) == len(articles)
    assert all(counts)


@pytest.mark.parametrize("sort", ["newest", "oldest"])
def test_sorting_by_date_puts_undated_articles_last(built, sort):
    cluster = engine(built["three"]).search("refugees OR border", limit=0, sort=sort, collapse_copies=False)
    embedded = engine(built["embedded"]).search("refugees OR border", limit=0, sort=sort, collapse_copies=False)
    dates = [hit.date for hit in cluster.hits]
    dated = [date for date in dates if date]
    assert dates == dated + [None] * (len(dates) - len(dated))
    assert dated == sorted(dated, reverse=sort == "newest")
    assert dates == [hit.date for hit in embedded.hits]


def test_copies_collapse_into_their_leader(built):
    collapsed = engine(built["three"]).search("refugees OR border OR wheat", limit=0)
    every = engine(built["three"]).search("refugees OR border OR wheat", limit=0, collapse_copies=False)
    with_copies = [hit for hit in collapsed.hits if hit.copies]
    assert with_copies
    assert collapsed.total == every.total
    assert len(collapsed.hits) + sum(len(hit.copies) for hit in collapsed.hits) == len(every.hits)
    for hit in with_copies:
        assert {hit.id, *hit.copies} & {f"copies/{name}" for name in ("000.txt", "004.txt", "008.txt")}


def test_copies_on_different_shards_collapse_into_one_hit(fresh_cluster):
    from archsearch.engines.xapian.clusterfile import shard_of
    from archsearch.engines.xapian.indexer import update_cluster

    story = wire("2020-01-01", "KABUL, Jan 1. /TASS/.", "The " + " ".join(WORDS) + " zucchini story, republished.")
    corpus = write_corpus(fresh_cluster["tmp"] / "copies", {f"copy{number}.txt": story for number in range(6)})
    assert len({shard_of(str(path), 3) for path in corpus.iterdir()}) > 1
    update_cluster(fresh_cluster["file"], [str(corpus)])
    found = engine(fresh_cluster["file"]).search("zucchini", limit=0)
    assert found.total == 6 and len(found.hits) == 1
    assert sorted([found.hits[0].id, *found.hits[0].copies]) == [f"copy{number}.txt" for number in range(6)]

def test_lone_surrogates_and_file_names_not_utf8_are_kept_as_the_embedded_engine_keeps_them(fresh_cluster):
    """A JSON string's lone surrogate ("\\ud800") in a title, a body, a source and a place, and a file
    name whose bytes are not UTF-8 (surrogate escapes): Xapian's bindings refuse a str holding either."""
    from archsearch.engines.xapian.indexer import update_cluster
    from archsearch.indexing import update_index

    corpus = fresh_cluster["tmp"] / "odd"
    corpus.mkdir()
    (corpus / "lone.jsonl").write_text(
        '{"title": "Lone \\ud800 zucchini", "text": "Zucchini crossed the border \\ud800 at Herat.", "date": "2020-01-01", '
        '"source": "Ag\\ud800ency", "place": "Her\\udcf6at"}\n'
    )
    with open(os.path.join(os.fsencode(corpus), b"caf\xe9.txt"), "w") as out:
        out.write(wire("2021-12-10", "KABUL, December 10. /TASS/.", "Zucchini refugees crossed the border."))
    report = update_cluster(fresh_cluster["file"], [str(corpus)])
    assert (report.added, report.skipped, report.total) == (2, [], 2)
    assert update_cluster(fresh_cluster["file"], [str(corpus)]).unchanged == 2  # its record of the files read back
    embedded = fresh_cluster["tmp"] / "embedded"
    update_index(embedded, [str(corpus)])

    def shown(location):
        found = engine(location).search("zucchini", limit=0).hits
        return sorted((hit.id, hit.path, hit.title, hit.snippets[0].text, hit.source, hit.place) for hit in found)

    assert shown(fresh_cluster["file"]) == shown(embedded)
    assert [(id, "\ud800" in title, source) for id, _, title, _, source, _ in shown(embedded)] == [
        ("caf\udce9.txt", False, "TASS"), ("lone.jsonl#1", True, "Ag\ufffdency"),
    ]


@pytest.mark.parametrize("text", ["refugees border", "s*", "t*", "organi?ations", "vaccin~"])
def test_snippets_mark_the_same_words_as_the_embedded_engine(built, text):
    cluster = engine(built["three"]).search(text, limit=0, collapse_copies=False)
    embedded = {hit.id: hit for hit in engine(built["embedded"]).search(text, limit=0, collapse_copies=False).hits}
    assert cluster.hits and cluster.hits[0].snippets[0].matches
    for hit in cluster.hits:
        assert hit.snippets == embedded[hit.id].snippets
        assert hit.title_matches == embedded[hit.id].title_matches


@pytest.mark.parametrize("by", ["month", "year"])
def test_timeline_counts_as_the_embedded_engine(built, by):
    for text in ("refugees", "wheat OR gas", "date:2020 court"):
        cluster = engine(built["three"]).timeline(text, by=by, with_share=True)
        embedded = engine(built["embedded"]).timeline(text, by=by, with_share=True)
        assert cluster == embedded


def test_sources_count_as_the_embedded_engine(built):
    for text in ("refugees", "wheat OR gas", "source:tass"):
        cluster = engine(built["three"]).facets(text, with_share=True)
        embedded = engine(built["embedded"]).facets(text, with_share=True)
        assert cluster == embedded


def test_show_gives_the_article_and_the_words_to_mark(built):
    name = next(iter(generated_articles()))
    cluster, embedded = engine(built["three"]), engine(built["embedded"])
    assert cluster.find_article(name) == embedded.find_article(name)
    assert cluster.find_article(str(built["corpus"] / name)) == embedded.find_article(name)
    for text in ("refugees organiz*", '"border talks" -wheat', "US aid", "organi?ations vaccin~"):
        words = cluster.query_words(text)
        assert words == {field: words for field, words in embedded.query_words(text).items()}
    assert {"organization", "organizing"} <= cluster.query_words("organiz*")["exact"]


def test_open_hands_the_cluster_s_article_file_to_the_opener(built, run_cli, tmp_path, monkeypatch):
    opener = tmp_path / "opener"
    opener.write_text(f'#!/bin/sh\necho "$*" > {tmp_path}/opened\n')
    opener.chmod(0o755)
    monkeypatch.setenv("BROWSER", str(opener))
    name = next(iter(generated_articles()))
    result = run_cli("open", name, "--index", str(built["three"]))
    assert (result.exit_code, result.stderr) == (0, "")
    opened = tmp_path / "opened"
    for _ in range(500):  # the opener runs detached
        if opened.exists() and opened.read_text():
            break
        time.sleep(0.01)
    assert opened.read_text().strip() == str(built["corpus"] / name)


def test_similar_finds_articles_sharing_distinctive_words_and_leaves_out_copies(built, run_cli):
    cluster = engine(built["three"])
    result = cluster.similar("wire/2019/000.txt", limit=5)
    ids = [hit.id for hit in result.hits]
    assert len(ids) == 5 and result.total >= 5
    assert not {"wire/2019/000.txt", "copies/000.txt"} & set(ids)
    assert "left out as copies: 1" in result.explanation
    shown = run_cli("similar", "--index", str(built["three"]), "--json", "wire/2019/000.txt")
    assert shown.exit_code == 0 and shown.stdout.count('"id"') == 10



KWIC_QUERIES = ["refugees", "refugees border", '"border talks"', "organiz*", "wheat NEAR/2 harvest", "date:2020 flood"]


@pytest.mark.parametrize("text", KWIC_QUERIES)
def test_kwic_lists_the_occurrences_of_the_embedded_engine(built, text):
    from archsearch.concordance import concordance

    # Every article: the engines rank differently (BM25 against BM25F), so the first N may differ.
    cluster = concordance(built["three"], text, limit=0, width=5)
    embedded = concordance(built["embedded"], text, limit=0, width=5)
    assert cluster.occurrences
    assert sorted(cluster.occurrences, key=repr) == sorted(embedded.occurrences, key=repr)
    assert (cluster.articles, cluster.total) == (embedded.articles, embedded.total)


def test_kwic_sorted_by_date_prints_as_the_embedded_engine(built, run_cli):
    def printed(location):
        return run_cli("kwic", "--index", str(location), "--sort", "oldest", "-n", "5", "--format", "tsv", "date:2020", "wheat")

    cluster, embedded = printed(built["three"]), printed(built["embedded"])
    assert cluster.exit_code == embedded.exit_code == 0
    assert cluster.stdout == embedded.stdout and cluster.stdout.count("\n") > 5


def assert_same_key_terms(cluster_location, embedded_location, text: str, phrases: bool) -> None:
    from archsearch.keyterms import key_terms

    cluster = key_terms(cluster_location, text, limit=0, phrases=phrases)
    embedded = key_terms(embedded_location, text, limit=0, phrases=phrases)
    assert cluster.terms and (cluster.matching, cluster.all) == (embedded.matching, embedded.all)
    assert cluster.terms == embedded.terms


@pytest.mark.parametrize("text", ["refugees", "wheat OR gas", "source:tass", "date:2020 court"])
def test_terms_scores_and_frequencies_are_those_of_the_embedded_engine(built, text):
    assert_same_key_terms(built["three"], built["embedded"], text, phrases=False)


def planted_articles() -> dict[str, str]:
    """Wire stories of 300 made-up words, each word in a few of them, and a topic planted in 12:
    avalanches, with the phrases "rescue team" and "mountain pass" (the generated corpus's words
    are each in over a quarter of its articles, which makes no phrase key)."""
    chooser = random.Random(5)
    vocabulary = [f"w{number}" for number in range(300)]
    articles = {}
    for number in range(48):
        words = " ".join(chooser.choice(vocabulary) for _ in range(30))
        if number % 4 == 0:
            words += " avalanche rescue team reached the mountain pass " + chooser.choice(("snow", "ice", "storm"))
        day = datetime.date(2021, 1, 1) + datetime.timedelta(days=number)
        dateline = f"{chooser.choice(PLACES)}, {day:%B} {day.day}. /{chooser.choice(SOURCES)}/."
        articles[f"planted/{number:02}.txt"] = wire(day.isoformat(), dateline, f"The {words}.")
    return articles


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    yield from indexed_in_both(tmp_path_factory.mktemp("planted"), planted_articles())


@pytest.mark.parametrize("text", ["avalanche", "snow OR ice", "mountain -storm", "rescue date:2021-01"])
@pytest.mark.parametrize("phrases", [False, True])
def test_terms_of_a_planted_topic_are_those_of_the_embedded_engine(planted, text, phrases):
    assert_same_key_terms(planted["cluster"], planted["embedded"], text, phrases)


def test_key_phrases_of_a_planted_topic(planted):
    from archsearch.keyterms import key_terms

    found = key_terms(planted["cluster"], "avalanche", limit=2, phrases=True).terms
    assert [(term.term, term.matching, term.all) for term in found] == [("mountain pass", 12, 12), ("rescue team", 12, 12)]


@pytest.mark.parametrize("options", [[], ["--phrases", "-n", "5"]])
def test_terms_prints_as_the_embedded_engine(planted, run_cli, options):
    def printed(location):
        return run_cli("terms", "--index", str(location), "--json", *options, "avalanche")

    cluster, embedded = printed(planted["cluster"]), printed(planted["embedded"])
    assert cluster.exit_code == embedded.exit_code == 0
    without_time = lambda output: re.sub(r'"elapsed_ms": [0-9.]+', "", output)  # noqa: E731
    assert without_time(cluster.stdout) == without_time(embedded.stdout) and '"term"' in cluster.stdout


@pytest.mark.parametrize("command", [["timeline", "--by", "year"], ["sources"]])
def test_share_prints_as_the_embedded_engine(built, run_cli, command):
    def printed(location):
        return run_cli(*command, "--index", str(location), "--share", "--format", "csv", "refugees")

    cluster, embedded = printed(built["three"]), printed(built["embedded"])
    assert cluster.exit_code == embedded.exit_code == 0
    assert cluster.stdout == embedded.stdout and "share" in cluster.stdout


# --------------------------------------------------------------------------- updates


@pytest.fixture
def fresh_cluster(tmp_path):
    """Three new shards, a cluster file naming them and a corpus of its own, for tests that change them."""
    require_xapian()
    started = start_shards(tmp_path / "shards", 3)
    corpus = write_corpus(tmp_path / "corpus", generated_articles(40))
    yield {"file": cluster_file(tmp_path, started), "corpus": corpus, "shards": started, "tmp": tmp_path}
    for shard in started:
        shard.stop()


@pytest.mark.parametrize("command", [["kwic"], ["terms"], ["terms", "--phrases"]])
def test_kwic_and_terms_name_a_shard_down_and_allow_partial_answers(fresh_cluster, run_cli, command):
    from archsearch.engines.xapian.indexer import update_cluster

    update_cluster(fresh_cluster["file"], [str(fresh_cluster["corpus"])])
    down = fresh_cluster["shards"][1]
    down.stop()
    strict = run_cli(*command, "--index", str(fresh_cluster["file"]), "refugees")
    assert strict.exit_code == 2 and f"shard {down.endpoint} (2 of 3)" in strict.stderr
    partial = run_cli(*command, "--index", str(fresh_cluster["file"]), "--allow-partial", "refugees")
    assert partial.exit_code in (0, 1) and "Traceback" not in partial.stderr
    assert f"warning: answering without shard {down.endpoint} (2 of 3)" in partial.stderr


def cluster_ids(location) -> list[str]:
    """Every article id in the cluster, once per article it holds (so duplicates show)."""
    from archsearch.engines.xapian.documents import stored_fields

    database = engine(location).shards.database
    return sorted(stored_fields(database.get_document(posting.docid))["path"] for posting in database.postlist(""))


def corpus_ids(corpus: Path) -> list[str]:
    return sorted(path.relative_to(corpus).as_posix() for path in corpus.rglob("*.txt"))


def test_updates_deletions_renames_and_forgetting(fresh_cluster):
    from archsearch.engines.xapian.indexer import update_cluster

    location, corpus = fresh_cluster["file"], fresh_cluster["corpus"]
    first = update_cluster(location, [str(corpus)])
    assert first.added == len(corpus_ids(corpus)) and first.total == first.added
    changed = next(corpus.rglob("*.txt"))
    changed.write_text(wire("2022-02-02", "HERAT, February 2. /TASS/.", "Saffron growers report a record zucchini crop."))
    deleted = sorted(corpus.rglob("*.txt"))[5]
    deleted.unlink()
    renamed = sorted(corpus.rglob("*.txt"))[7]
    renamed.rename(renamed.with_name("renamed.txt"))
    (corpus / "new.txt").write_text(wire("2023-03-03", "KABUL, March 3. /TASS/.", "A zucchini festival opens."))
    second = update_cluster(location, [])  # the folders the cluster remembers
    assert (second.added, second.updated, second.removed) == (2, 1, 2)
    assert cluster_ids(location) == corpus_ids(corpus)
    found = engine(location).search("zucchini", limit=0)
    assert sorted(hit.id for hit in found.hits) == sorted([changed.relative_to(corpus).as_posix(), "new.txt"])
    assert engine(location).search("saffron", limit=0).total == 1

    other = write_corpus(fresh_cluster["tmp"] / "other", {"far.txt": wire("2020-01-01", "HERAT, Jan 1. /TASS/.", "Zucchini abroad.")})
    update_cluster(location, [str(other)])
    assert engine(location).search("zucchini", limit=0).total == 3
    forgetting = update_cluster(location, [], forget=[str(other)])
    assert forgetting.removed == 1
    assert cluster_ids(location) == corpus_ids(corpus)


def test_the_record_of_files_lives_in_the_cluster(fresh_cluster, monkeypatch):
    """A second machine (here: another working folder, nothing kept beside the cluster file) sees
    what the first indexed, and reads nothing again."""
    from archsearch.engines.xapian.indexer import update_cluster

    location, corpus = fresh_cluster["file"], fresh_cluster["corpus"]
    update_cluster(location, [str(corpus)])
    elsewhere = fresh_cluster["tmp"] / "elsewhere"
    elsewhere.mkdir()
    copy = elsewhere / "cluster.toml"
    copy.write_text(location.read_text())
    report = update_cluster(copy, [], cwd=elsewhere)
    assert (report.added, report.updated, report.removed, report.unchanged) == (0, 0, 0, len(corpus_ids(corpus)))
    assert sorted(path.name for path in location.parent.iterdir() if path.is_file()) == ["cluster.toml"]


def test_rebuild_reads_every_file_again(fresh_cluster):
    from archsearch.engines.xapian.indexer import update_cluster

    location, corpus = fresh_cluster["file"], fresh_cluster["corpus"]
    update_cluster(location, [str(corpus)])
    report = update_cluster(location, [], rebuild=True)
    assert report.added == len(corpus_ids(corpus)) and report.unchanged == 0
    assert cluster_ids(location) == corpus_ids(corpus)


def test_shards_in_another_order_are_refused(fresh_cluster):
    from archsearch.engines.xapian.clusterfile import init_cluster
    from archsearch.engines.xapian.indexer import update_cluster
    from archsearch.errors import ArchsearchError

    update_cluster(fresh_cluster["file"], [str(fresh_cluster["corpus"])])
    reordered = fresh_cluster["tmp"] / "reordered.toml"
    init_cluster(reordered, [shard.endpoint for shard in reversed(fresh_cluster["shards"])])
    with pytest.raises(ArchsearchError, match=r"was written as shard 3 of 3: the shards' order"):
        update_cluster(reordered, [])


def test_saved_search_new_shows_what_the_embedded_engine_shows(fresh_cluster, tmp_path):
    """`query @name --new` across index runs: a cluster's feed is the embedded index's."""
    import json

    from click.testing import CliRunner

    from archsearch.cli import cli
    from archsearch.engines.xapian.indexer import update_cluster
    from archsearch.indexing import update_index

    config = tmp_path / "config" / "archsearch" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text('[queries]\nborder = "refugees border"\n', encoding="utf-8")
    articles = generated_articles(40)
    later = {name: articles.pop(name) for name in list(articles)[::3]}
    corpus = write_corpus(tmp_path / "alerts", articles)
    cluster, embedded = fresh_cluster["file"], tmp_path / "alerts-index"

    def new_ids(index) -> list[str]:
        result = CliRunner().invoke(cli, ["query", "--index", str(index), "--json", "@border", "--new"], catch_exceptions=False)
        assert result.exit_code in (0, 1), result.output
        return sorted(json.loads(line)["id"] for line in result.stdout.splitlines() if '"type": "hit"' in line)

    def index_both() -> None:
        update_cluster(cluster, [str(corpus)])
        update_index(embedded, [str(corpus)])

    index_both()
    first = new_ids(cluster)
    assert first and first == new_ids(embedded)
    assert new_ids(cluster) == new_ids(embedded) == []
    write_corpus(corpus, later)
    name = next(iter(articles))
    (corpus / name).write_text(articles[name] + " More refugees at the border.", encoding="utf-8")
    index_both()
    second = new_ids(cluster)
    assert second and name in second and not set(second) & set(first) - {name}
    assert second == new_ids(embedded)
    assert new_ids(cluster) == new_ids(embedded) == []


def test_explain_counts_the_articles_a_positional_operator_keeps(placed):
    result = engine(placed["cluster"]).search("alpha NEAR/2 beta", limit=0)
    (xapian_line,) = [line for line in result.explanation if line.startswith("xapian:")]
    assert " FILTER <the 5 articles (" in xapian_line and " NEAR/2 " in xapian_line
    assert "Qnear/" not in xapian_line  # the identity terms of the articles kept are not listed


@pytest.mark.parametrize("text", ["alpha NEAR/3 beta", "SENTENCE(alpha gamma)", "mentions>=3:omega"])
def test_timeline_of_positional_operators_counts_as_the_embedded_engine(placed, text):
    assert engine(placed["cluster"]).timeline(text, by="day") == engine(placed["embedded"]).timeline(text, by="day")


def test_a_shard_whose_port_is_taken_before_its_server_binds_it_starts_on_another(tmp_path, monkeypatch):
    """bench/cluster.py found ports free, then started the shards on them and waited for a
    connection to succeed: a port taken meanwhile by another process answered in the shard's place."""
    import socket

    import cluster as bench_cluster

    require_xapian()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        real = bench_cluster.free_port
        found = iter([port])
        monkeypatch.setattr(bench_cluster, "free_port", lambda: next(found, None) or real())
        process, chosen = bench_cluster.start_shard(tmp_path / "shard", 0)
        try:
            assert chosen != port
            assert bench_cluster.listening_socket(chosen) in bench_cluster.sockets_of(process.pid)
        finally:
            bench_cluster.stop_shard(process)
