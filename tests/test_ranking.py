"""Ranking: what BM25F and the title boost must do, on small corpora built for each property.

Every corpus is laid out so that without the feature under test the article that must lose
would tie or win: it has more of something else going for it, or is the mirror image of the
winner, and it comes first in file order (which Whoosh uses to break ties). Where a ranking
knob can switch the feature off, the test also checks that the scores then tie or the order
flips, so each test is known to be able to fail.

Bodies are padded with seeded word salad of a fixed number of words, so two articles can have
exactly the same length without being near-identical copies (which search would fold together).
"""

import random

import pytest

import archsearch.querying as querying
import archsearch.searching as searching
from archsearch.indexing import update_index
from archsearch.searching import search

# Neutral padding words: none of them is a query word (or a stand-in for one) below.
VOCABULARY = """
officials residents council review months announcements regional figures week community groups
details plans spokesperson comment evening newspapers story january meeting budget schools roads
weather market bakery library garden committee tuesday thursday report survey teachers parents
district mayor office letter volunteers charity concert theatre festival summer autumn bridge
river valley farmers prices bread shops visitors tourists hotel restaurant street square corner
""".split()


def filler(words: int, seed: str) -> str:
    """`words` words of padding in sentences of seven, different for every seed."""
    rng = random.Random(seed)
    picked = [rng.choice(VOCABULARY) for _ in range(words)]
    sentences = [" ".join(picked[i : i + 7]) for i in range(0, words, 7)]
    return " ".join(sentence.capitalize() + "." for sentence in sentences)


def wire(lead: str, *paragraphs: str, day: int = 7) -> str:
    """Wire copy as in seeds/: date header, dateline, lead; no title line (the title is the lead)."""
    return "\n\n".join([f" date 2022-03-{day:02d} OSLO, March {day}. /NTB/. {lead}", *paragraphs])


def web(title: str, *paragraphs: str, section: str = "Europe") -> str:
    """A saved web page as in seeds/: breadcrumb, title, body with a dateline, site furniture."""
    body = "\n\n".join(paragraphs)
    return (
        f"Home / {section} / {title}\n\n{title}\n\n\nBERGEN: {body}\n\n\n"
        "About The Fjord Post\n\nLeave a Reply\n\n"
        "Your email address will not be published. Required fields are marked *\n\n\n\n"
        "Check Also\n\nMarkets close higher after a quiet week\n\nShares rose across the region on Friday as ..."
    )


def build(tmp_path, files: dict[str, str]):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name, text in files.items():
        (corpus / name).write_text(text, encoding="utf-8")
    index_dir = tmp_path / "index"
    report = update_index(index_dir, [str(corpus)])
    assert report.total == len(files) and not report.skipped
    return index_dir


def ranked(index_dir, text: str, **options) -> list[str]:
    return [hit.id for hit in search(index_dir, text, limit=0, **options).hits]


def scores(index_dir, text: str, **options) -> dict[str, float]:
    return {hit.id: hit.score for hit in search(index_dir, text, limit=0, **options).hits}


@pytest.fixture
def knobs(monkeypatch):
    """Change the ranking constants for one test, the way bench/rank_eval.py does."""

    def set_knobs(title=None, derived_title=None, **bm25f):
        boosts = {name: value for name, value in (("title", title), ("derived_title", derived_title)) if value is not None}
        if boosts:
            monkeypatch.setattr(querying, "FIELD_BOOSTS", {**querying.FIELD_BOOSTS, **boosts})
        if bm25f:
            monkeypatch.setattr(searching, "BM25F_PARAMETERS", {**searching.BM25F_PARAMETERS, **bm25f})

    return set_knobs


@pytest.mark.parametrize("shape", ["web", "wire"])
def test_title_match_outranks_more_mentions_in_the_body(tmp_path, knobs, shape):
    # Same body length; the body-only article says "glacier" twice in its body, the other
    # once, but has it in its title too (for wire copy: in the lead sentence, which is its
    # title and also the start of its body).
    mention = "Scientists measured the glacier again this week."
    other = "Scientists measured the snowfield again this week."
    if shape == "web":
        body_only = web("Alpine village evacuated as the mountain slope gives way",
                        filler(28, "a1"), mention, filler(21, "a2"), mention)
        in_title = web("Glacier collapse forces evacuation of an alpine village",
                       filler(28, "b1"), mention, filler(21, "b2"), other)
    else:
        body_only = wire("An alpine village was evacuated as the mountain slope gave way.",
                         filler(28, "a1"), mention, filler(21, "a2"), mention)
        in_title = wire("A glacier collapse forced the evacuation of an alpine village.",
                        filler(28, "b1"), other, filler(21, "b2"), other)
    index_dir = build(tmp_path, {"a_body_only.txt": body_only, "b_in_title.txt": in_title})

    assert ranked(index_dir, "glacier") == ["b_in_title.txt", "a_body_only.txt"]

    # Titles no longer count (for wire copy, the title made from the lead, which has a weight of
    # its own, issue 14): the two body mentions win.
    knobs(**{"derived_title" if shape == "wire" else "title": 0.0})
    assert ranked(index_dir, "glacier") == ["a_body_only.txt", "b_in_title.txt"]


def test_more_mentions_outrank_a_single_mention(tmp_path, knobs):
    # Same body and title lengths; only the number of mentions of "desalination" differs.
    def article(lead, *words):
        sentences = (f"The {word} project was discussed at length." for word in words)
        return wire(lead, filler(21, lead + "1"), *sentences, filler(21, lead + "2"))

    index_dir = build(
        tmp_path,
        {
            "a_once.txt": article("Coastal towns met to plan their water supply.",
                                  "desalination", "irrigation", "irrigation", "irrigation"),
            "b_often.txt": article("Island towns met to plan their water supply.",
                                   "desalination", "desalination", "desalination", "desalination"),
        },
    )

    assert ranked(index_dir, "desalination") == ["b_often.txt", "a_once.txt"]

    knobs(K1=0.0)  # term frequency switched off: the two tie
    tied = scores(index_dir, "desalination")
    assert tied["a_once.txt"] == pytest.approx(tied["b_often.txt"])


def storm_article(lead: str, *words: str) -> str:
    sentences = (f"Crews at the {word} worked through the night." for word in words)
    return wire(lead, filler(14, lead + "1"), *sentences, filler(14, lead + "2"))


def test_rare_words_count_more_than_common_ones(tmp_path):
    # "harbour" is in every article, "tanker" in two. The two candidates are mirror images:
    # one says harbour twice and tanker once, the other tanker twice and harbour once, so
    # only the words' rarity (IDF) can separate them; without it they would tie.
    files = {
        "a_common_twice.txt": storm_article("Storm damage was reported along the coast.",
                                            "harbour", "harbour", "tanker"),
        "b_rare_twice.txt": storm_article("Storm damage was reported along the shore.",
                                          "tanker", "tanker", "harbour"),
    }
    for number in range(6):
        files[f"c_other_{number}.txt"] = storm_article(
            f"Storm report number {number} came in late.", "harbour", "station", "station"
        )
    index_dir = build(tmp_path, files)

    assert ranked(index_dir, "harbour tanker")[:2] == ["b_rare_twice.txt", "a_common_twice.txt"]
    assert ranked(index_dir, "tanker harbour", any_words=True)[:2] == ["b_rare_twice.txt", "a_common_twice.txt"]
    # Control: on the common word alone, the article that says it twice does come first.
    assert ranked(index_dir, "harbour")[0] == "a_common_twice.txt"


def test_a_rare_word_once_beats_a_common_word_twice(tmp_path):
    # With --any: one article has only the rare word, once; the other only the common word,
    # twice. Rarity must outweigh the extra mention.
    files = {
        "a_common.txt": storm_article("Storm damage was reported along the coast.", "harbour", "harbour"),
        "b_rare.txt": storm_article("Storm damage was reported along the shore.", "tanker", "station"),
    }
    for number in range(6):
        files[f"c_other_{number}.txt"] = storm_article(
            f"Storm report number {number} came in late.", "harbour", "station"
        )
    index_dir = build(tmp_path, files)

    assert ranked(index_dir, "harbour tanker", any_words=True)[:2] == ["b_rare.txt", "a_common.txt"]
    # Control: without the rare word, the article saying the common word twice leads.
    assert ranked(index_dir, "harbour")[0] == "a_common.txt"


def test_short_focused_article_outranks_long_one_with_the_same_mention(tmp_path, knobs):
    mention = "Rescuers reached the avalanche site before noon."
    files = {
        "a_long.txt": wire("Mountain towns reviewed their winter safety plans.",
                           filler(210, "long1"), mention, filler(210, "long2")),
        "b_short.txt": wire("Mountain towns reviewed their winter safety rules.",
                            filler(14, "short1"), mention, filler(7, "short2")),
    }
    index_dir = build(tmp_path, files)

    assert ranked(index_dir, "avalanche") == ["b_short.txt", "a_long.txt"]

    knobs(B=0.0)  # no length normalisation: the two tie
    tied = scores(index_dir, "avalanche")
    assert tied["a_long.txt"] == pytest.approx(tied["b_short.txt"])


def test_all_words_by_default_any_word_with_the_flag(tmp_path):
    def article(lead, *words):
        sentences = (f"Travellers asked about the {word} timetable." for word in words)
        return wire(lead, filler(21, lead + "1"), *sentences, filler(21, lead + "2"))

    files = {
        "a_lighthouse_only.txt": article("The coast guard issued new guidance.", "lighthouse", "lighthouse"),
        "b_both.txt": article("The coast guard issued new advice.", "lighthouse", "ferry"),
        "c_ferry_only.txt": article("The coast guard issued new orders.", "ferry", "museum"),
        "d_neither.txt": article("The coast guard issued new rules.", "museum", "museum"),
    }
    index_dir = build(tmp_path, files)

    result = search(index_dir, "lighthouse ferry")
    assert [hit.id for hit in result.hits] == ["b_both.txt"]
    assert result.total == 1

    result = search(index_dir, "lighthouse ferry", any_words=True)
    assert result.total == 3
    ids = [hit.id for hit in result.hits]
    # The article with both words first, though the one before it in file order repeats one of them.
    assert ids[0] == "b_both.txt"
    assert set(ids) == {"a_lighthouse_only.txt", "b_both.txt", "c_ferry_only.txt"}
