"""Every word of a hit that the query's prefix, wildcard or fuzzy words match is marked, wherever
the hit is shown: a passage's context included, and the words of a long prefix that weigh
nothing in the ranking (fuzzy.SCORED_EXPANSIONS) as well as those that do."""

import json
import re

from hypothesis import given, settings
from hypothesis import strategies as st

from archsearch.engines.whoosh.fuzzy import SCORED_EXPANSIONS
from archsearch.passages import WordMatcher, folded_form, passages
from archsearch.searching import search
from conftest import WEB_SEED, build_index, write_corpus

# An article with more t-words than a prefix scores: `tarantula` and `tundra` occur once and are
# among the words `t*` matches without weighing.
COMMON_T_WORDS = ["the", "to", "that", "this", "they", "then", "there", "their", "those", "these",
                  "time", "today", "told", "town", "troops", "talks", "trade", "tax", "team", "test"]
T_ARTICLE = (
    "Tarantula Tundra report\n\n"
    + " ".join(f"{word} " * 3 for word in COMMON_T_WORDS)
    + "A quiet line about nothing much at all in the valley. tarantula found near the tundra station "
    + " ".join(COMMON_T_WORDS) + ". Organisation and organization; Talibn and Taliban met."
)


def marked(text, matches):
    return [text[start:end] for start, end in matches]


def words_of(text, pattern):
    return [word for word in re.findall(r"\w+", text) if re.fullmatch(pattern, word, re.IGNORECASE)]


def test_a_passage_marks_the_matches_in_its_context_too():
    # Matches 100 characters apart fall in different groups; the passage of the denser second
    # group shows the first group's last match in its context.
    text = ("kabul " + "x" * 80 + " kabul " + "y" * 40 + " taliban fighters kabul " + "z" * 300)
    matcher = WordMatcher(frozenset({"kabul", "taliban", "fighter"}), language="en")
    (snippet,) = passages(text, matcher, top=1)
    assert marked(snippet.text, snippet.matches) == ["kabul", "taliban", "fighters", "kabul"]
    assert snippet.text.count("kabul") == 2


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(["kabul", "taliban", "the", "y" * 30, "y" * 60]), max_size=60),
       st.integers(1, 3))
def test_every_match_a_passage_shows_is_marked(words, top):
    text = " ".join(words)
    matcher = WordMatcher(frozenset({"kabul", "taliban"}), language="en")
    for snippet in passages(text, matcher, top=top):
        assert list(snippet.matches) == matcher.spans(snippet.text)


def test_a_long_prefix_marks_every_word_it_matched_in_the_seeds(seeded_index):
    """The bug as found: `t*` left `terrorist` and `towards` unmarked in the web seed's passages."""
    hit = next(hit for hit in search(seeded_index, "t*").hits if hit.id == WEB_SEED)
    shown = [(snippet.text, snippet.matches) for snippet in hit.snippets] + [(hit.title, hit.title_matches)]
    for text, matches in shown:
        assert marked(text, matches) == words_of(text, r"t\w*")
    assert {"terrorist", "towards"} <= {word for text, matches in shown for word in marked(text, matches)}


def test_prefix_wildcard_and_fuzzy_words_are_marked_everywhere(tmp_path):
    index_dir = build_index(tmp_path, {"t.txt": T_ARTICLE})
    assert len({folded_form(word) for word in words_of(T_ARTICLE, r"t\w*")}) > SCORED_EXPANSIONS
    for query, pattern in [("t*", r"t\w*"), ("organi?ation", r"organi.ation"), ("taliban~", r"talib\w*")]:
        (hit,) = search(index_dir, query).hits
        assert marked(hit.title, hit.title_matches) == words_of(hit.title, pattern), query
        assert hit.snippets, query
        for snippet in hit.snippets:
            assert marked(snippet.text, snippet.matches) == words_of(snippet.text, pattern), query
    (hit,) = search(index_dir, "t*").hits
    shown = {word.lower() for snippet in hit.snippets for word in marked(snippet.text, snippet.matches)}
    assert {"tarantula", "tundra"} <= shown


def test_query_show_and_kwic_mark_every_word_of_a_long_prefix(run_cli, tmp_path):
    corpus = write_corpus(tmp_path / "corpus", {"t.txt": T_ARTICLE})
    run_cli("index", str(corpus))
    (line, _summary) = run_cli("query", "--json", "t*").output.splitlines()
    hit = json.loads(line)
    assert marked(hit["title"], hit["title_matches"]) == ["Tarantula", "Tundra"]
    for snippet in hit["snippets"]:
        assert marked(snippet["text"], snippet["matches"]) == words_of(snippet["text"], r"t\w*")
    for command in (["query", "t*"], ["show", "t.txt", "--query", "t*"], ["kwic", "t*"]):
        plain = run_cli(*command).output
        assert "**tarantula**" in plain and "**tundra**" in plain, command
