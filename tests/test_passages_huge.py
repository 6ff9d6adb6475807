"""Passages, proximity windows and sentences over long bodies: the work follows the matches, and
what is found is what reading every word finds."""

import bisect
import re
from unittest import mock

from hypothesis import given, settings
from hypothesis import strategies as st

import archsearch.passages as passages_module
from archsearch.analysis import word_spans
from archsearch.passages import WordMatcher, folded_form, indexed_form

# Text that is not NFC in several ways: a decomposed accent, Hangul jamo that compose, a
# singleton (the Ångström sign), two marks out of canonical order; and text that is.
UNNORMALISED = ["e\u0301", "\u1100\u1161", "\u212b", "a\u0301\u0323"]
CHARACTERS = st.sampled_from([*"aeinrstuzüé .,\n", "ing", "refugee", "Zürich", "the ", *UNNORMALISED])


def scanned(text, stems, forms, language="en"):
    return WordMatcher(stems, forms, language).spans_word_by_word(text)


@settings(max_examples=300, deadline=None)
@given(st.lists(CHARACTERS, max_size=80).map("".join), st.data(), st.sampled_from([4, 16, 8192]))
def test_text_that_is_not_nfc_is_searched_but_where_it_is_not(text, data, stretch):
    tokens = [word for _, _, word in word_spans(text)]
    chosen = data.draw(st.lists(st.sampled_from(tokens), max_size=3)) if tokens else []
    stems = frozenset(indexed_form(word, "en") for word in chosen) - {""}
    forms = frozenset(folded_form(word) for word in chosen[:1]) - {""}
    with mock.patch.object(passages_module, "_NORMALISED_CHECK_CHARS", stretch):
        assert WordMatcher(stems, forms, "en").spans(text) == scanned(text, stems, forms)


def test_one_decomposed_accent_leaves_the_rest_of_a_long_text_searched():
    text = "The refugees crossed the river. " * 20_000 + "Hornopire\u0301n refugees. " + "Quiet days. " * 1000
    matcher = WordMatcher(frozenset({indexed_form("refugees", "en"), indexed_form("hornopirén", "en")}), language="en")
    original = WordMatcher.spans_word_by_word
    with mock.patch.object(WordMatcher, "spans_word_by_word", autospec=True, side_effect=original) as read:
        spans = matcher.spans(text)
    assert [part for _, part in (call.args for call in read.call_args_list)] == ["Hornopire\u0301n"]
    assert spans == scanned(text, matcher.stems, frozenset())


def test_a_long_text_has_the_passages_of_its_first_stretch_holding_a_match():
    filler = "Nothing of note happened on this quiet day in the valley. " * 3000  # 174,000 characters
    text = filler + "Taliban fighters entered Kabul at dawn. " + filler + "Kabul again, the end"
    matcher = WordMatcher(frozenset({indexed_form("taliban", "en"), indexed_form("kabul", "en")}), language="en")
    chosen = passages_module.passages(text, matcher)
    assert [snippet.text[a:b] for snippet in chosen for a, b in snippet.matches] == ["Taliban", "Kabul"]
    (snippet,) = chosen
    assert " ".join(text[snippet.start : snippet.end].split()) == snippet.text and not snippet.reaches_end
    assert snippet.start > len(filler) - passages_module.PASSAGE_CHARS


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(["Kabul ", "Taliban ", "quiet ", "day ", "in ", "the ", ". ", "\n\n"]), max_size=120).map("".join),
       st.sampled_from([40, 100, 400]))
def test_passages_of_a_stretch_stand_where_they_are_in_the_whole_text(text, stretch):
    matcher = WordMatcher(frozenset({indexed_form("taliban", "en"), indexed_form("kabul", "en")}), language="en")
    with mock.patch.object(passages_module, "PASSAGE_SEARCH_CHARS", stretch):
        chosen = passages_module.passages(text, matcher)
    for snippet in chosen:
        assert " ".join(text[snippet.start : snippet.end].split()) == snippet.text
        assert snippet.reaches_end == (text[snippet.end :].strip() == "")
    if len(text) <= stretch:
        assert chosen == passages_module.passages(text, matcher)
    assert bool(chosen) == bool(matcher.spans(text))


def test_the_huge_article_bench_runs_every_kind(tmp_path):
    """bench/huge_article.py on a small corpus and a 30 kB "huge" article: a smoke test, not a timing."""
    import subprocess
    import sys

    from conftest import REPO

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    paragraph = "The president said the election talks on Syria ceasefire went on, and refugees and migrants waited."
    quiet = "Farmers brought the harvest in early this year, and the markets of the valley were full of apples and pears."
    for number in range(4):
        (corpus / f"{number}.txt").write_text(
            f" date 2017-01-1{number} MOSCOW, January 1{number}. /TASS/. Zakharova spoke.\n\n{paragraph}\n\n{quiet}",
            encoding="utf-8",
        )
    done = subprocess.run(
        [sys.executable, str(REPO / "bench" / "huge_article.py"), str(corpus), "--sizes", "0.03", "--repeat", "1",
         "--workdir", str(tmp_path / "work")],
        capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 0, done.stderr
    assert "0.03 MB text matching" in done.stdout and "0.03 MB text not matching" in done.stdout
    for kind in ("rare word", "SENTENCE", "NEAR", "lead:", "prefix", "kwic", "show", "show whole", "show screen"):
        # plain, matching, not matching
        assert len(re.findall(rf"^  {re.escape(kind)} +\d", done.stdout, re.MULTILINE)) == 3, kind


@settings(max_examples=500, deadline=None)
@given(st.text(st.characters(blacklist_categories=()), max_size=40))
def test_the_characters_that_are_not_ascii_are_those_of_the_text(text):
    assert passages_module.non_ascii_characters(text) == {char for char in text if not char.isascii()}


# Characters that fold to more or less than one letter, match an ASCII letter case-blind without
# being one (the Kelvin sign, the long s, a dotted capital I), whitespace that is not ASCII, marks,
# Chinese, a lone surrogate, curly quotes, text that is not NFC, and words that match.
TRICKY = st.sampled_from(
    [*"aeiknrsuzüé .,\n", "\u212a", "\u017f", "\u0130", "\u0131", "ß", "\u0640", "\u3000", "\xa0", "\u2000", "\u0301",
     "北京", "\ud800", "’", "«", "Refugees", "REFUGEE", "réfugiés", "Zürich", "ZU\u0308RICH", "kiss", "KISS", "İstanbul",
     "the ", *UNNORMALISED]
)


@settings(max_examples=500, deadline=None)
@given(st.lists(TRICKY, max_size=100).map("".join), st.data(), st.sampled_from([1, 2, 3, 5, 1024]), st.booleans())
def test_a_long_text_searched_in_its_utf8_finds_what_searching_the_text_finds(text, data, block, runs_apart):
    """A text longer than BYTES_SCAN_CHARS is searched in its UTF-8 (passages._scanned_in_bytes):
    the same places where words may begin, the same runs read word by word, the same spans, its
    blocks of ASCII alone passed over (small blocks cut its characters), the runs checked for NFC
    one by one or the text a stretch at a time."""
    tokens = [word for _, _, word in word_spans(text)] + ["refugees", "zurich", "kiss", "istanbul", "s", "k"]
    chosen = data.draw(st.lists(st.sampled_from(tokens), min_size=1, max_size=3))
    stems = frozenset(indexed_form(word, "en") for word in chosen) - {""}
    forms = frozenset(folded_form(word) for word in chosen[:1]) - {""}
    matcher = WordMatcher(stems, forms, "en")
    if matcher.finds_nothing:
        return
    with mock.patch.multiple(passages_module, _NON_ASCII_SHARE=1, _ASCII_BLOCK_BYTES=block,
                             _RUNS_CHECKED_APART=1 if runs_apart else 10**9):
        in_bytes = passages_module._scanned_in_bytes(text, matcher._beginnings)
    assert in_bytes is not None
    assert in_bytes == matcher._scanned(text)
    with mock.patch.object(passages_module, "BYTES_SCAN_CHARS", 0), mock.patch.object(passages_module, "_NON_ASCII_SHARE", 1):
        assert matcher.spans(text) == scanned(text, stems, forms)


def test_a_long_page_is_searched_in_its_utf8_once_a_beginning():
    """A 1.4 MB text holding here and there accented, decomposed and Chinese words is searched in
    its UTF-8, not case-blind in the text, character by character; its spans are the same."""
    from test_kwic import long_article

    text = ("The refugees crossed the river at dawn. " * 16_000 + long_article()) * 2
    matcher = WordMatcher(frozenset({indexed_form("refugees", "en"), indexed_form("Zürich", "en")}), language="en")
    expected = matcher._spans_from(text, *matcher._scanned(text))
    with mock.patch.object(passages_module, "_beginning_pattern", side_effect=AssertionError("searched in the text")):
        assert matcher.spans(text) == expected
    assert len(expected) > 30_000


def test_a_beginning_with_accented_forms_is_searched_as_a_literal_unless_it_can_overlap_itself():
    """Where the page holds `é` and `ü`, `refu` matches `réfu` too: its alternatives would be
    searched a step per byte, so its ASCII form is searched as a literal and the rest around each
    character that is not ASCII; not where two matches could overlap (`sas` in `sasas`)."""
    accented = frozenset("éüſ\u212a")
    pattern, literal, letters_of = passages_module._beginning_bytes_pattern("refu", accented, accented)
    assert literal == b"refu" and pattern.match("RÉFU".encode().lower()) is None  # É is not in the text
    assert pattern.match("RéFü".encode().lower()) and pattern.match("REFU".encode().lower())
    assert letters_of == {"é": (1,), "ü": (3,), "ſ": (), "\u212a": ()}  # where each can stand in a match
    assert passages_module._beginning_bytes_pattern("kiss", accented, accented)[1] == b"kiss"
    assert passages_module._beginning_bytes_pattern("sas", accented, accented)[1] is None


def test_a_long_page_of_many_accented_characters_is_searched_in_the_text_at_once():
    """Over one character in _NON_ASCII_SHARE not ASCII (a French page), each would be a Python
    step in the UTF-8's search: they are counted in C first, and the text searched as it is."""
    text = "Les réfugiés arrivés à la frontière. " * 3_000
    matcher = WordMatcher(frozenset({indexed_form("réfugiés", "fr")}), language="fr")
    with mock.patch.object(passages_module, "_non_ascii_characters_in", side_effect=AssertionError("one by one")):
        assert len(matcher.spans(text)) == 3_000


# Words the rules look for among others, in every shape the tokenizer has: dotted words, numbers,
# unspaced runs cut into pairs (one holding a matched pair), marks, sentence ends.
RULE_PIECES = st.sampled_from(
    ["Kabul", "Taliban", "talks", "said", "the", "U.S", "3.5", "北京大学", "北京", "abc北京", "Zu\u0308rich", "kabul.",
     " ", " ", " ", ". ", ", ", "\n\n", "? ", " . ", "'"]
)


def windows_from_every_word(rule, text):
    """ProximityRule.windows() as it was written first: every word of the text tokenised."""
    from archsearch.proximity import near_windows, sentence_starts, sentence_windows

    tokens = word_spans(text)
    starts = [start for start, _, _ in tokens]

    def runs(run):
        first_words = [bisect.bisect_left(starts, start) for start, _ in run[0].spans(text)]
        return [
            (index, index + len(run) - 1)
            for index in first_words
            if index + len(run) <= len(tokens)
            and all(matcher.matches(tokens[index + offset][2]) for offset, matcher in enumerate(run[1:], start=1))
        ]

    operands = [sorted({found for run in alternatives for found in runs(run)}) for alternatives in rule.operands]
    found = (sentence_windows(operands, sentence_starts(text)) if rule.distance is None
             else near_windows(operands, rule.distance))
    windows = [(tokens[first][0], tokens[last][1]) for first, last in found]
    return sorted(windows, key=lambda window: (window[1] - window[0], window[0]))


def _word(text):
    return (WordMatcher(frozenset({indexed_form(text, "en")}), language="en"),)


RULE_OPERANDS = st.sampled_from(
    [(_word("kabul"),), (_word("taliban"), _word("talks")), (_word("talks") + _word("said"),),
     ((WordMatcher(forms=frozenset({"北京"}), language="en"),),), (_word("zürich"),), (_word("u.s"),)]
)


@settings(max_examples=400, deadline=None)
@given(st.lists(RULE_PIECES, max_size=120).map("".join), st.lists(RULE_OPERANDS, min_size=1, max_size=3),
       st.sampled_from([None, 1, 2, 5]), st.sampled_from([1, 16, 1024]))
def test_proximity_windows_are_those_found_from_every_word(text, operands, distance, stretch):
    import archsearch.proximity as proximity

    rule = passages_module.ProximityRule(tuple(operands), distance)
    with mock.patch.object(proximity, "_STRETCH_CHARS", stretch):
        assert rule.windows(text) == windows_from_every_word(rule, text)


def test_near_windows_in_a_long_text_tokenise_only_the_stretches_of_their_matches():
    import archsearch.proximity as proximity

    filler = "Nothing of note happened on this quiet day in the valley. " * 2000
    text = filler + "Taliban fighters entered 北京 and Kabul at dawn. " + filler
    rule = passages_module.ProximityRule(((_word("taliban"),), (_word("kabul"),)), 5)
    tokenised = []

    def recording(part):
        tokenised.append(len(part))
        return word_spans(part)

    with mock.patch.object(proximity, "word_spans", recording), mock.patch.object(passages_module, "word_spans", recording):
        windows = rule.windows(text)
    assert [text[start:end] for start, end in windows] == ["Taliban fighters entered 北京 and Kabul"]
    assert tokenised and max(tokenised) < 2 * proximity._STRETCH_CHARS  # the stretch holding 北京 alone
