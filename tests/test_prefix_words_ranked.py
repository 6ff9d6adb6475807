"""A prefix, wildcard or fuzzy word evaluated as the words it stands for (Evaluator._as_words):
in an AND its words scored only where the other parts match, alone ranked by MaxScore
(top_ranked.py, its terms scored a batch at a time).  Against the evaluation as it was (the
word's whole OR scored everywhere): the same documents and, to the bit, the same scores, best
documents, totals and matched words, over segments with deletions, for generated queries of
words, prefixes of 1-5 letters (with prefix entries and without: a prefix of more words than
are scored has unscored ones), fuzzy words and date windows, and any MaxScore budget; the same
hits, totals and snippets through search().  A short prefix of few words maps no prefix file."""

import copy
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from whoosh import query as wq

from archsearch import searching
from archsearch.engines.whoosh import evaluation, fuzzy, prefix_postings, top_ranked
from archsearch.engines.whoosh.evaluation import DictOperations, Evaluator
from archsearch.engines.whoosh.store import open_index
from archsearch.indexing import update_index
from archsearch.querying import QuerySyntaxError, parse_query
from archsearch.searching import weighting
from test_prefix_postings import vocabulary
from test_top_ranked import ranked_differently

WORDS = vocabulary(random.Random(20261202), 300)
FREQUENT = WORDS[:6]  # article() draws the first words of the vocabulary most often


def article(rng: random.Random, number: int) -> str:
    """Zipf-like: the first words of the vocabulary in most articles, a long tail in a few; every
    seventh article undated."""
    weights = [1 / (rank + 1) for rank in range(len(WORDS))]
    title = " ".join(rng.choices(WORDS, weights, k=3))
    body = " ".join(rng.choices(WORDS, weights, k=rng.randint(5, 40))).capitalize() + "."
    if number % 7 == 0:
        return f"{title.capitalize()}\n\n{body}\n"
    day = number % 28 + 1
    return f" date 2022-03-{day:02d} OSLO, March {day}. /NTB/. {title}. {body}\n"


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory):
    """Three segments, with deletions in two; short prefixes with entries in some."""
    rng = random.Random(20261202)
    corpus, index_dir = tmp_path_factory.mktemp("corpus"), tmp_path_factory.mktemp("index")
    commits = [(range(0, 200), ()), (range(200, 260), range(5, 200, 13)), (range(260, 300), range(203, 260, 11))]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(prefix_postings, "WORDS_LISTED", 3)
        patch.setattr(prefix_postings, "TOP_WORDS", 4)
        for added, removed in commits:
            texts = {corpus / f"{number:04d}.txt": article(rng, number) for number in added}
            for path, text in texts.items():
                path.write_text(text, encoding="utf-8")
            for number in removed:
                (corpus / f"{number:04d}.txt").unlink()
            update_index(index_dir, [str(corpus)])
    return index_dir


@pytest.fixture(scope="module")
def searcher(index_dir):
    searcher = open_index(index_dir).searcher(weighting=weighting())
    leaves = [leaf for leaf, _ in searcher.reader().leaf_readers()]
    assert len(leaves) >= 3 and sum(leaf.has_deletions() for leaf in leaves) >= 2
    yield searcher
    searcher.close()


def as_before(patch) -> None:
    """A prefix, wildcard or fuzzy word evaluated as a node of its own: its whole OR scored."""
    patch.setattr(Evaluator, "_as_words", lambda self, node: node)


def evaluations(searcher, query):
    """The evaluation with dicts, and the one as before."""
    found = Evaluator(searcher, arrays=False).evaluate(query)
    with pytest.MonkeyPatch.context() as patch:
        as_before(patch)
        return found, Evaluator(searcher, arrays=False).evaluate(query)


def differences(searcher, query) -> list[str]:
    """How the evaluation of `query` differs from the one as before (nothing, as it should)."""
    found, before = evaluations(searcher, query)
    if (found is None) != (before is None):
        return ["evaluated by one only"]
    if found is None:
        return []
    problems = ranked_differently(searcher, found, before)
    if not isinstance(found.scores, top_ranked.TopRankedScores) and dict(found.scores.items()) != dict(before.scores.items()):
        problems.append("scores")
    documents = range(searcher.doc_count_all())
    if [found.matched_terms(docnum) for docnum in documents] != [before.matched_terms(docnum) for docnum in documents]:
        problems.append("matched terms")
    return problems


words = st.sampled_from(FREQUENT + WORDS[6::7])
prefixes = st.tuples(words, st.integers(1, 5)).map(lambda pair: pair[0][:pair[1]] + "*")
parts = st.one_of(words, prefixes, prefixes, words.map(lambda word: word + "~"),
                  st.sampled_from(["date:2022-03-01..2022-03-14", "-" + FREQUENT[3]]))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(drawn=st.lists(parts, min_size=1, max_size=3), scored=st.sampled_from([1, 3, 16]),
       share=st.sampled_from([1, 1 / 6, 1 / 50]), ranked_from=st.sampled_from([0, 4096]))
def test_the_same_documents_floats_best_and_matched_words_as_before(searcher, drawn, scored, share, ranked_from, monkeypatch):
    # A prefix of more words than `scored` ranks by its most frequent ones; MaxScore taken for
    # every word and prefix alone (0) or for frequent ones, never giving up (1) or sooner.
    monkeypatch.setattr(fuzzy, "SCORED_EXPANSIONS", scored)
    monkeypatch.setattr(evaluation, "TOP_RANKED_POSTINGS", ranked_from)
    monkeypatch.setattr(top_ranked, "FIRST_TERM_SHARE", share)
    monkeypatch.setattr(top_ranked, "SCORED_SHARE", share)
    text = " ".join(drawn)
    try:
        query = parse_query(text, searcher.schema).query
    except QuerySyntaxError:
        return
    assert differences(searcher, query) == [], text


def test_a_prefix_in_an_and_scores_its_words_only_where_all_match(searcher, monkeypatch):
    scored = []
    original = DictOperations.scored
    monkeypatch.setattr(DictOperations, "scored", lambda self, fieldname, word, ids, weights:
                        scored.append(len(ids)) or original(self, fieldname, word, ids, weights))
    query = parse_query(f"{FREQUENT[0]} {FREQUENT[1][:4]}*", searcher.schema).query
    found = Evaluator(searcher, arrays=False).evaluate(query).scores
    assert found and scored and max(scored) <= len(found)
    assert type(query.subqueries[-1]) is fuzzy.ListedPrefix


def test_a_prefix_alone_is_ranked_from_its_rarer_words(searcher, monkeypatch):
    """Its best documents found by MaxScore, its most frequent word's documents not all scored."""
    monkeypatch.setattr(evaluation, "TOP_RANKED_POSTINGS", 0)
    monkeypatch.setattr(top_ranked, "FIRST_TERM_SHARE", 1)
    monkeypatch.setattr(top_ranked, "SCORED_SHARE", 1)
    batches = []
    made = top_ranked.TopRankedScores.__init__

    def counted(self, terms, boost, bases, whole, scored_within):
        made(self, terms, boost, bases, whole, lambda docnums: batches.append(len(docnums)) or scored_within(docnums))

    monkeypatch.setattr(top_ranked.TopRankedScores, "__init__", counted)
    query = parse_query(FREQUENT[3][:3] + "*", searcher.schema).query  # 8 words, the most frequent among them
    evaluator = Evaluator(searcher, arrays=False)
    found = evaluator.evaluate(query).scores
    assert isinstance(found, top_ranked.TopRankedScores) and len(found._terms) > 1
    assert len(found.best(3)) == 3 and batches
    assert sum(batches) < len(found)


@pytest.mark.parametrize("text", [f"{FREQUENT[0][:3]}*", f"{FREQUENT[0]} {FREQUENT[2][:3]}*",
                                  f"{FREQUENT[1][:4]}* {FREQUENT[3]}~", f"{FREQUENT[0][:2]}* {FREQUENT[1][:5]}*"])
@pytest.mark.parametrize("options", [{}, {"sort": "newest"}, {"since": "2022-03-10"}, {"limit": 3, "offset": 2}])
def test_search_shows_the_same_hits_totals_and_snippets(index_dir, text, options, monkeypatch):
    monkeypatch.setattr(evaluation, "TOP_RANKED_POSTINGS", 0)

    def shown():
        result = searching.search(index_dir, text, **options)
        return result.total, result.undated_left_out, [
            (hit.id, hit.score, hit.copies, hit.title_matches, hit.snippets) for hit in result.hits
        ]

    now = shown()
    with monkeypatch.context() as patch:
        as_before(patch)
        assert now == shown()
    assert now[0] or now[1]


def test_a_prefix_read_from_its_entries_stays_a_prefix(searcher, monkeypatch):
    """Its unscored documents come from the entries, not from its words: not made words."""
    monkeypatch.setattr(fuzzy, "SCORED_EXPANSIONS", 1)
    reader = searcher.reader()
    evaluator = Evaluator(searcher, arrays=False)
    for letter in sorted({word[0] for word in WORDS}):
        (node,) = [leaf for leaf in parse_query(letter + "*", searcher.schema).query.leaves()]
        if fuzzy.prefix_expansion(node, reader) is not None:
            assert evaluator._as_words(node) is node
            return
    pytest.fail("no prefix read from its entries")


def test_a_word_and_other_nodes_are_left_as_they_are(searcher):
    evaluator = Evaluator(searcher, arrays=False)
    for node in [wq.Term("body", FREQUENT[0]), wq.Or([wq.Term("body", FREQUENT[0])]), wq.NumericRange("date", 1, 5)]:
        assert evaluator._as_words(node) is node
    expanded = evaluator._as_words(wq.Wildcard("exact", FREQUENT[0][:2] + "?" + "*"))
    assert isinstance(expanded, (wq.Or, wq.Term))


def test_a_short_prefix_of_few_words_maps_no_prefix_file(index_dir, monkeypatch):
    """Its words, read from the term files, show that no segment has an entry worth reading."""
    mapped = []
    original = fuzzy.segment_prefixes
    monkeypatch.setattr(fuzzy, "segment_prefixes", lambda leaf: mapped.append(leaf) or original(leaf))
    few = next(word[:3] for word in WORDS[6:] if len(word) >= 3 and sum(other.startswith(word[:3]) for other in WORDS) >= 2)
    many = FREQUENT[0][:2]  # `ka`: more words than are scored, with entries
    with open_index(index_dir).searcher(weighting=weighting()) as searcher:
        reader = searcher.reader()
        for text, scored, maps in [(few, 16, False), (many, 3, True)]:
            monkeypatch.setattr(fuzzy, "SCORED_EXPANSIONS", scored)
            mapped.clear()
            (node,) = parse_query(text + "*", searcher.schema).query.leaves()
            found = fuzzy.prefix_expansion(node, reader)
            assert bool(mapped) == maps and (found is not None) == maps, text


@pytest.mark.parametrize("text", [f"{FREQUENT[0][:2]}*", f"{FREQUENT[3][:3]}*", f"{FREQUENT[0]} {FREQUENT[1][:4]}*"])
def test_a_prefix_widened_by_its_best_hits_keys_is_searched(index_dir, text, monkeypatch):
    """--expand copies the query's words once they are evaluated: a prefix node keeps what it
    was evaluated with (its reader among it), and is copied without it."""
    monkeypatch.setattr(fuzzy, "SCORED_EXPANSIONS", 3)
    result = searching.search(index_dir, text, expand=True)
    assert result.total and result.hits
    with open_index(index_dir).searcher(weighting=weighting()) as searcher:
        (node,) = [leaf for leaf in parse_query(text, searcher.schema).query.leaves() if isinstance(leaf, fuzzy.ListedPrefix)]
        Evaluator(searcher, arrays=False).evaluate(node)
        copied = copy.deepcopy(node)
        assert copied == node and copied.__dict__.keys() == {"fieldname", "text", "boost", "constantscore"}
