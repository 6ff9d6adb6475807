"""Long stored bodies kept in compressed pieces (engines/whoosh/bodies.py): the same body, the
same passages and `show`, and an index made before (bodies stored whole) answers the same."""

import json
from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import archsearch.engines.whoosh.bodies as bodies_module
from archsearch.engines.whoosh.bodies import stored_body, stored_openings, stored_text
from archsearch.engines.whoosh.store import index_searcher
from archsearch.searching import find_article, search

from conftest import build_index

# Any characters, lone surrogates among them (a body decoded with surrogateescape keeps them).
BODIES = st.text(st.characters(blacklist_categories=()), max_size=60)


@settings(max_examples=400, deadline=None)
@given(BODIES, st.integers(0, 20), st.integers(1, 8))
def test_a_body_stored_in_pieces_is_read_back_and_opened_as_it_was(body, long_chars, piece_chars):
    with mock.patch.object(bodies_module, "LONG_BODY_CHARS", long_chars), \
            mock.patch.object(bodies_module, "BODY_PIECE_CHARS", piece_chars):
        value = stored_text(body)
    assert (value == body) if len(body) <= long_chars else isinstance(value, tuple)
    assert stored_body(value) == body
    openings = list(stored_openings(value))
    assert openings[-1] == (body, True)
    for opening, whole in openings[:-1]:
        assert not whole and body.startswith(opening) and body[len(opening) :].strip()


FILLER = "Nothing of note happened on this quiet day in the valley, the farmers said. " * 12 + "\n\n"


def export_line(title: str, body: str, date: str) -> str:
    return json.dumps({"title": title, "date": date, "body": body}, ensure_ascii=False)


@pytest.fixture(scope="module")
def indexes(tmp_path_factory):
    """The same export of long and short articles indexed twice: long bodies in pieces, and whole
    (as every index made before pieces holds them)."""
    long = FILLER * 1_700  # 1.6 M characters
    lines = [
        export_line("Envoy", "Taliban envoy in Kabul.\n\n" + long, "2021-12-10"),
        export_line("Later", "Quiet.\n\n" + long[:700_000] + "Taliban envoy near Kabul.\n\n" + long[700_000:], "2021-12-11"),
        export_line("Taliban at the end", "Quiet.\n\n" + long + "Last Taliban word", "2021-12-12"),
        export_line("Short", "A Taliban envoy in Kabul, the farmers said.", "2021-12-13"),
    ]
    articles = {"feed.jsonl": "\n".join(lines) + "\n"}
    pieces = build_index(tmp_path_factory.mktemp("pieces"), articles)
    with mock.patch.object(bodies_module, "LONG_BODY_CHARS", 1 << 30):
        whole = build_index(tmp_path_factory.mktemp("whole"), articles)
    return pieces, whole


def test_long_bodies_are_stored_in_pieces_and_short_ones_whole(indexes):
    pieces, whole = indexes
    with index_searcher(pieces) as searcher:
        texts = {stored["title"]: stored["text"] for stored in searcher.all_stored_fields()}
    assert {title for title, text in texts.items() if isinstance(text, tuple)} == {"Envoy", "Later", "Taliban at the end"}
    assert isinstance(texts["Short"], str)
    with index_searcher(whole) as searcher:
        assert all(isinstance(stored["text"], str) for stored in searcher.all_stored_fields())


@pytest.mark.parametrize("query", ["taliban", "taliban kabul", "taliban NEAR/3 envoy", "farmers", "title:taliban"])
def test_an_index_with_pieces_answers_as_one_with_whole_bodies(indexes, query):
    pieces, whole = indexes
    with_pieces, with_whole = search(pieces, query), search(whole, query)
    assert [(hit.id, hit.title, hit.snippets) for hit in with_pieces.hits] == [
        (hit.id, hit.title, hit.snippets) for hit in with_whole.hits
    ]
    assert with_pieces.total == with_whole.total and all(hit.snippets for hit in with_pieces.hits)


def test_show_reads_every_piece(indexes):
    pieces, whole = indexes
    hit = search(pieces, "title:later").hits[0]
    assert find_article(pieces, hit.id).body == find_article(whole, hit.id).body
    assert len(find_article(pieces, hit.id).body) > 1_500_000


def test_a_hit_decompresses_the_pieces_its_passages_read(indexes, monkeypatch):
    read = []
    real_piece_text = bodies_module._piece_text
    monkeypatch.setattr(bodies_module, "_piece_text", lambda piece: read.append(piece) or real_piece_text(piece))
    (hit,) = search(indexes[0], "title:envoy").hits
    assert "Taliban envoy in Kabul" in hit.snippets[0].text
    assert len(read) == 1
