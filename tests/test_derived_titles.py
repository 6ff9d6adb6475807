"""A title made from the article's own lead (wire copy, a page or mail without one) is shown as the
title and found by `title:`, but its words count once in ranking, as the lead's (issue 14)."""

import datetime
import json

import pytest

from archsearch import querying
from archsearch.formats import read_article, read_file
from archsearch.indexing import update_index
from archsearch.searching import search
from format_files import write_pdf

TODAY = datetime.date(2024, 1, 1)
PARAGRAPHS = (
    "The council of the northern city met on Friday to agree the budget for next year.\n\n"
    "Members argued for hours about the cost of new roads and the repair of old bridges there."
)


@pytest.mark.parametrize(
    "name, content, derived",
    [
        ("wire.txt", " date 2021-12-10 KABUL, December 10. /TASS/. " + PARAGRAPHS, True),
        ("web.txt", "Council agrees the budget\n\n" + PARAGRAPHS, False),
        ("plain.md", "---\ndate: 2021-12-10\n---\n" + PARAGRAPHS, True),
        ("titled.md", "---\ntitle: Council agrees the budget\n---\n" + PARAGRAPHS, False),
        ("heading.md", "---\ndate: 2021-12-10\n---\n# Council agrees the budget\n\n" + PARAGRAPHS, False),
        ("page.html", "<html><head><title>Council agrees</title></head><body><article><p>"
         + PARAGRAPHS.replace("\n\n", "</p><p>") + "</p></article></body></html>", False),
        ("untitled.html", "<html><body><article><p>"
         + PARAGRAPHS.replace("\n\n", "</p><p>") + "</p></article></body></html>", True),
        ("subject.eml", "From: a@example.org\nTo: b@example.org\nSubject: Budget\nMessage-ID: <1@x>\n\n" + PARAGRAPHS, False),
        ("nosubject.eml", "From: a@example.org\nTo: b@example.org\nMessage-ID: <2@x>\n\n" + PARAGRAPHS, True),
        ("titled.jsonl", json.dumps({"title": "Council agrees", "text": PARAGRAPHS}), False),
        ("untitled.jsonl", json.dumps({"text": PARAGRAPHS, "date": "2021-12-10"}), True),
    ],
)
def test_every_reader_says_whether_it_made_the_title(tmp_path, name, content, derived):
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    (article,) = read_file(path)
    assert article.title and article.title_derived is derived


def test_a_pdf_without_a_title_in_its_metadata_has_a_derived_title(tmp_path):
    lines = ["The council of the northern city met on Friday.", "Members argued for hours."]
    assert read_article(write_pdf(tmp_path / "untitled.pdf", lines)).title_derived
    assert not read_article(write_pdf(tmp_path / "titled.pdf", lines, title="Budget")).title_derived


def wire(lead: str, *paragraphs: str) -> str:
    return " date 2017-02-07 MOSCOW, February 7. /TASS/. " + "\n\n".join((lead, *paragraphs))


FILLER = "Officials gave no further details about the meeting or about its outcome on the day."


@pytest.fixture
def wire_index(tmp_path):
    articles = tmp_path / "articles"
    articles.mkdir()
    # The same words in the same places but for "glacier": in the lead sentence (the title made
    # from it), or in the lead's second sentence (in no title).
    (articles / "a_title.txt").write_text(
        wire("A glacier collapse forced an evacuation. Villagers left their homes at night.", FILLER), encoding="utf-8"
    )
    (articles / "b_lead.txt").write_text(
        wire("A mountain collapse forced an evacuation. Villagers left glacier homes at night.", FILLER), encoding="utf-8"
    )
    update_index(tmp_path / "index", [str(articles)])
    return tmp_path / "index"


def scores(index_dir, text: str) -> dict[str, float]:
    return {hit.id: hit.score for hit in search(index_dir, text, limit=0, today=TODAY, collapse_copies=False).hits}


def test_a_word_of_a_derived_title_counts_with_its_own_weight(wire_index, monkeypatch):
    # Before, the lead sentence was indexed a second time as a title, weighed as a headline.  Now
    # the title made from it has a weight of its own, apart from a headline's.
    weight = querying.FIELD_BOOSTS["derived_title"]

    def excess(boost):
        monkeypatch.setattr(querying, "FIELD_BOOSTS", {**querying.FIELD_BOOSTS, "derived_title": boost})
        found = scores(wire_index, "glacier")
        return found["a_title.txt"] - found["b_lead.txt"]

    assert excess(0.0) == pytest.approx(0.0)  # the same word in the lead sentence or the next
    assert 0 < weight < querying.FIELD_BOOSTS["title"]
    assert excess(1.0) > excess(weight) > 0


def test_title_still_finds_the_title_shown(wire_index):
    assert list(scores(wire_index, "title:glacier")) == ["a_title.txt"]
    assert list(scores(wire_index, 'title:"glacier collapse"')) == ["a_title.txt"]
    (hit,) = search(wire_index, "title:glacier", today=TODAY).hits
    assert hit.title == "A glacier collapse forced an evacuation"
    assert [hit.title[a:b] for a, b in hit.title_matches] == ["glacier"]
    # A plain word marks the derived title too, though it matched in the body only.
    hits = {hit.id: hit for hit in search(wire_index, "glacier", today=TODAY, collapse_copies=False).hits}
    assert [hits["a_title.txt"].title[a:b] for a, b in hits["a_title.txt"].title_matches] == ["glacier"]


def test_a_real_headline_still_counts_on_top_of_the_body(tmp_path):
    articles = tmp_path / "articles"
    articles.mkdir()
    body = "\n\n".join(("The council met on Friday to agree the budget for next year.", FILLER, "The glacier was named."))
    (articles / "titled.txt").write_text("Glacier named after the mayor\n\n" + body, encoding="utf-8")
    (articles / "untitled.txt").write_text(wire("The council met on Friday to agree the budget for next year.",
                                                FILLER, "The glacier was named."), encoding="utf-8")
    update_index(tmp_path / "index", [str(articles)])
    found = scores(tmp_path / "index", "glacier")
    assert found["titled.txt"] > found["untitled.txt"]


def test_an_index_from_before_lead_fields_asks_for_a_rebuild(tmp_path, run_cli, monkeypatch):
    from whoosh import index as whoosh_index

    from archsearch.schema import build_schema

    articles = tmp_path / "articles"
    articles.mkdir()
    (articles / "a.txt").write_text(wire("The glacier collapsed on Friday morning, officials said.", FILLER), encoding="utf-8")
    old = tmp_path / "old"
    old.mkdir()
    schema = build_schema()
    schema.remove("lead")
    schema.remove("derived_title")
    whoosh_index.create_in(str(old), schema)
    monkeypatch.setenv("ARCHSEARCH_INDEX", str(old))
    for command in (("query", "glacier"), ("index", str(articles))):
        result = run_cli(*command)
        assert result.exit_code == 2 and "archsearch index --rebuild" in result.output, (command, result.output)
    assert run_cli("index", "--rebuild", str(articles)).exit_code == 0
    result = run_cli("query", "--json", "lead:glacier")
    assert result.exit_code == 0 and '"id": "a.txt"' in result.output


def test_plain_words_look_in_lead_and_derived_title_only_when_they_weigh(monkeypatch):
    from archsearch.schema import build_schema

    def parsed(**boosts):
        monkeypatch.setattr(querying, "FIELD_BOOSTS", {**querying.FIELD_BOOSTS, **boosts})
        return str(querying.parse_query("glacier", build_schema()).query)

    assert parsed(lead=0.0, derived_title=0.0) == "(title:glacier OR body:glacier)"
    assert parsed(lead=0.5, derived_title=0.25) == (
        "(title:glacier OR body:glacier OR lead:glacier^0.5 OR derived_title:glacier^0.25)"
    )
