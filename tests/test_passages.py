from archsearch.passages import PASSAGE_CHARS, indexed_form, lead_passage, match_spans, passages
from archsearch.schema import TEXT_ANALYZER


def terms(*words, language="en"):
    return frozenset(indexed_form(word, language) for word in words)


def marked(snippet):
    return [snippet.text[a:b] for a, b in snippet.matches]


def test_indexed_form_is_what_the_index_analyzer_gives():
    for word in ["Fighting", "Zürich", "ÜBER", "refugees", "COVID", "ties", "ay", "Ça", "naïve"]:
        for language in ("en", "de", ""):
            assert indexed_form(word, language) == [token.text for token in TEXT_ANALYZER(word, language=language)][0]


def test_other_forms_and_accents_are_marked():
    text = "Fighting in Zürich; the fighters fight. Zurich is calm."
    spans = match_spans(text, terms("fight", "zurich"), "en")
    assert [text[a:b] for a, b in spans] == ["Fighting", "Zürich", "fight", "Zurich"]


def test_passages_prefer_the_most_distinct_words_and_keep_text_order():
    filler = "Nothing of note happened on this quiet day in the valley. " * 8
    text = filler + "Taliban fighters entered Kabul at dawn. " + filler + "Taliban again. " + filler + "Kabul residents fled."
    chosen = passages(text, terms("taliban", "kabul"), top=1, language="en")
    assert len(chosen) == 1 and marked(chosen[0]) == ["Taliban", "Kabul"]
    both = passages(text, terms("taliban", "kabul"), top=2, language="en")
    assert [s.start for s in both] == sorted(s.start for s in both)


def test_passages_are_cut_at_whitespace_and_bounded():
    text = "word " * 200 + "needle " + "word " * 200
    (snippet,) = passages(text, terms("needle"), language="en")
    assert marked(snippet) == ["needle"]
    assert len(snippet.text) <= PASSAGE_CHARS + 20
    assert text[snippet.start - 1] == " " and text[snippet.end] == " "


def test_no_terms_no_passages_and_a_lead_instead():
    assert passages("some text", frozenset()) == []
    lead = lead_passage("First words of the body. " * 30)
    assert lead.start == 0 and lead.text.startswith("First words") and lead.matches == ()


def test_passages_never_repeat_text():
    from archsearch.formats import read_article
    from conftest import SEEDS, WIRE_SEED

    body = read_article(SEEDS / WIRE_SEED).body
    chosen = passages(body, terms("taliban"), top=2, language="en")  # its first two mentions are 100 characters apart
    assert len(chosen) == 2
    assert chosen[0].end <= chosen[1].start
