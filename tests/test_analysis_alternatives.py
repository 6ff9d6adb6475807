"""A query's words as their terms in each language of the index."""

from whoosh import query as wq

from archsearch.analysis.alternatives import in_every_language
from archsearch.schema import build_schema

SCHEMA = build_schema()
IN_FRENCH = wq.Term("language", "fr", boost=0.0)


def expand(query, languages):
    return in_every_language(query, SCHEMA, languages)


def test_one_term_when_every_language_agrees():
    assert expand(wq.Term("body", "kabul"), ["en", "ru"]) == wq.Term("body", "kabul")


def test_other_languages_terms_are_kept_to_their_articles():
    # French takes the s off "news"; English, the main language here, does not.
    expanded = expand(wq.Term("body", "news"), ["en", "fr"])
    assert expanded == wq.Or([wq.Term("body", "news"), wq.And([wq.Term("body", "new"), IN_FRENCH])])


def test_languages_with_the_same_term_share_one_restriction():
    expanded = expand(wq.Term("body", "news"), ["ru", "fr", "nl"])
    restriction = wq.Or([IN_FRENCH, wq.Term("language", "nl", boost=0.0)])
    assert expanded == wq.Or([wq.Term("body", "news"), wq.And([wq.Term("body", "new"), restriction])])


def test_unstemmed_form_is_not_restricted():
    expanded = expand(wq.Term("body", "refugees"), ["fr", ""])
    assert expanded == wq.Or([wq.Term("body", "refuge"), wq.Term("body", "refugees")])


def test_phrase_words_take_one_language_at_a_time():
    expanded = expand(wq.Phrase("body", ["refugees", "news"], boost=2.0), ["en", "fr"])
    assert expanded == wq.Or([
        wq.Phrase("body", ["refuge", "news"], boost=2.0),
        wq.And([wq.Phrase("body", ["refuge", "new"], boost=2.0), IN_FRENCH]),
    ])


def test_names_and_other_fields_are_left_alone():
    for query in (wq.Term("source", "refugees"), wq.Term("language", "fr"), wq.Prefix("body", "refug")):
        assert expand(query, ["en", "fr"]) == query
