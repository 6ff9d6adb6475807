import datetime

import pytest

from archsearch.passages import collapse_whitespace
from archsearch.searching import search
from conftest import WEB_SEED, WIRE_SEED, web, write_corpus


def matched_words(snippet):
    return [snippet.text[start:end] for start, end in snippet.matches]


def test_isis_central_asia_ranks_the_pashtun_times_article_first(seeded_index):
    result = search(seeded_index, "ISIS Central Asia")
    assert [hit.id for hit in result.hits] == [WEB_SEED]
    hit = result.hits[0]
    assert hit.title == "ISIS loyalists as active as ever in Afghanistan: Russian Foreign Ministry"
    assert hit.source == "Pashtun Times"
    assert hit.date is None
    assert [hit.title[s:e] for s, e in hit.title_matches] == ["ISIS"]
    words = {word for snippet in hit.snippets for word in matched_words(snippet)}
    assert {"ISIS", "Central", "Asia"} <= words


def test_all_words_must_match_by_default(seeded_index):
    assert search(seeded_index, "Taliban coronavirus").total == 1
    assert search(seeded_index, "Taliban").total == 2


def test_any_words_matches_articles_with_some_of_them(seeded_index):
    result = search(seeded_index, "coronavirus Zakharova", any_words=True)
    assert {hit.id for hit in result.hits} == {WEB_SEED, WIRE_SEED}


def test_no_full_match_reports_partial_matches(seeded_index):
    result = search(seeded_index, "coronavirus Zakharova")
    assert (result.total, result.partial_matches) == (0, 2)


def test_stemmed_forms_are_highlighted(seeded_index):
    result = search(seeded_index, "fight coronavirus")
    words = {word.lower() for snippet in result.hits[0].snippets for word in matched_words(snippet)}
    assert "fighting" in words


def test_boilerplate_teaser_does_not_match_the_article(seeded_index):
    assert search(seeded_index, "biggest American screwed").total == 0
    assert search(seeded_index, "Leave Reply email published").total == 0


def test_accents_never_matter(seeded_index, seeds_copy):
    (seeds_copy / "zurich.txt").write_text(
        " date 2022-03-01 ZÜRICH, March 1. /SDA/. Banks in Zürich reported record deposits.", encoding="utf-8"
    )
    from archsearch.indexing import update_index

    update_index(seeded_index, [])
    assert [hit.id for hit in search(seeded_index, "Zurich deposits").hits] == ["zurich.txt"]
    assert [hit.id for hit in search(seeded_index, "ZÜRICH deposits").hits] == ["zurich.txt"]


def test_hit_carries_wire_metadata(seeded_index):
    hit = search(seeded_index, "Khazhir").hits[0]
    assert (hit.id, hit.source, hit.place, hit.date.isoformat()) == (WIRE_SEED, "TASS", "Kabul", "2021-12-10")
    assert hit.path.endswith(WIRE_SEED) and hit.path.startswith("/")


def test_limit_caps_hits_but_not_total(seeded_index):
    result = search(seeded_index, "Afghanistan", limit=1)
    assert (len(result.hits), result.total) == (1, 2)


def test_collapse_whitespace_keeps_matches_aligned():
    text = "one\n\ntwo  three\tfour"
    snippet = collapse_whitespace("body", text, 0, len(text), [(5, 8), (16, 20)])
    assert snippet.text == "one two three four"
    assert matched_words(snippet) == ["two", "four"]


def test_a_date_window_that_leaves_nothing_says_so_and_gives_the_dates_held(seeded_index, run_cli):
    result = search(seeded_index, "Taliban", since="2030")
    assert (result.total, result.outside_window, result.partial_matches) == (0, 2, 0)
    assert result.date_span == (datetime.date(2021, 12, 10), datetime.date(2021, 12, 10))
    shown = run_cli("query", "Taliban", "date:..1990", "--index", str(seeded_index))
    assert shown.exit_code == 1
    assert (
        "archsearch: 2 article(s) match the words, none in the date window;"
        " the index's dates span 2021-12-10..2021-12-10\n"
    ) in shown.stderr
    assert "--any" not in shown.stderr


def test_words_that_match_nothing_still_get_the_any_hint_inside_a_window(seeded_index):
    result = search(seeded_index, "Taliban zzzqqq", since="2019")
    assert (result.total, result.outside_window, result.partial_matches) == (0, 0, 2)


def test_an_id_two_folders_hold_is_an_error_naming_both_paths(tmp_path, run_cli, monkeypatch):
    from archsearch.errors import ArchsearchError
    from archsearch.indexing import update_index
    from archsearch.searching import find_article

    first = write_corpus(tmp_path / "a", {"same/n.txt": web("World", "First copy", "Site", "First words.")})
    second = write_corpus(tmp_path / "b", {"same/n.txt": web("World", "Second copy", "Site", "Second words.")})
    index_dir = tmp_path / "index"
    update_index(index_dir, [str(first), str(second)])
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ArchsearchError) as raised:
        find_article(index_dir, "same/n.txt")
    assert str(first / "same/n.txt") in str(raised.value) and str(second / "same/n.txt") in str(raised.value)
    shown = run_cli("show", "same/n.txt", "--index", str(index_dir))
    assert shown.exit_code == 2
    assert shown.stderr.startswith("archsearch: error: 'same/n.txt' is the id of 2 articles; name one by its path: ")
    assert find_article(index_dir, str(second / "same/n.txt")).title == "Second copy"
    assert find_article(index_dir, "b/same/n.txt").title == "Second copy"  # a path from the working folder
    assert run_cli("similar", "same/n.txt", "--index", str(index_dir)).exit_code == 2


def test_a_plain_word_matches_the_datelines_words_but_not_the_sites_name(tmp_path):
    from conftest import build_index, wire

    index_dir = build_index(tmp_path, {
        # The city is named only in the dateline, and the site's name is the city too.
        "page.txt": web("Afghanistan", "Envoys meet", "Kandahar Chronicle", "KABUL: Envoys met on Monday."),
        "wire.txt": wire("2021-12-10", "KANDAHAR, December 10. /TASS/.", "Envoys met on Monday."),
        "other.txt": web("World", "Markets fall", "Kabul Chronicle", "PARIS: Markets fell on Monday."),
    })
    assert {hit.id for hit in search(index_dir, "Kabul").hits} == {"page.txt"}
    assert {hit.id for hit in search(index_dir, "Kabul OR Kandahar", collapse_copies=False).hits} == {
        "page.txt", "wire.txt"
    }
    # The site's name is in the boilerplate, which is not indexed as text: source: finds it.
    assert {hit.id for hit in search(index_dir, 'source:"Kabul Chronicle"').hits} == {"other.txt"}
