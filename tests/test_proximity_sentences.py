"""SENTENCE() read around the occurrences only: the same verdicts as splitting the whole text."""

import bisect
from unittest import mock

from hypothesis import given, settings
from hypothesis import strategies as st

import archsearch.proximity as proximity
from archsearch.analysis import word_spans, words
from archsearch.proximity import WordPlaces, in_one_sentence, sentence_starts, sentence_windows
from archsearch.analysis.tokens import PLAIN_WORD

# Words, abbreviations, dotted words and numbers, and what may end a sentence or not.
PIECES = st.sampled_from(
    ["the", "Taliban", "北京大学", "北", "abc北京", "talks", "said", "Mr", "U.S", "3.5", "e.g", "J", "x", "Kabul", "Zu\u0308rich",
     " ", " ", " ", ". ", ".", "? ", "! ", "… ", ", ", "\n\n", "\n", " . ", "...", "'"]
)


def whole_text_verdict(text, operands):
    return bool(sentence_windows(operands, sentence_starts(text)))


@settings(max_examples=500, deadline=None)
@given(st.lists(PIECES, max_size=80).map("".join), st.data(), st.sampled_from([1, 8, 4096]))
def test_the_verdict_is_that_of_the_whole_texts_sentences(text, data, stretch):
    count = len(words(text))
    occurrence = st.integers(0, max(count - 1, 0)).flatmap(
        lambda first: st.tuples(st.just(first), st.integers(first, min(first + 2, max(count - 1, 0))))
    )
    operands = data.draw(st.lists(st.lists(occurrence, max_size=4).map(sorted), min_size=1, max_size=3)) if count else []
    with mock.patch.object(proximity, "_STRETCH_CHARS", stretch), mock.patch.object(proximity, "LOCAL_SENTENCES_CHARS", 0):
        assert in_one_sentence(text, operands) == whole_text_verdict(text, operands)


@settings(max_examples=500, deadline=None)
@given(st.lists(PIECES, max_size=80).map("".join), st.data(), st.sampled_from([1, 8, 4096]))
def test_word_places_find_the_words_around_any_character_as_the_whole_texts_words(text, data, stretch):
    spans = word_spans(text)
    starts, ends = [start for start, _, _ in spans], [end for _, end, _ in spans]
    positions = data.draw(st.lists(st.integers(0, len(text) + 2), max_size=6))
    with mock.patch.object(proximity, "_STRETCH_CHARS", stretch):
        places = WordPlaces(text)
        for position in positions:  # mid-word, in unspaced pairs, past the text: counted or located
            assert places.first_starting_from(position) == bisect.bisect_left(starts, position)
            assert places.first_ending_after(position) == bisect.bisect_right(ends, position)
        assert not places.holds(len(spans)) and (not spans or places.holds(len(spans) - 1))


def test_word_places_are_the_words_of_the_text():
    text = "U.S. troops, 3.5 km away. " * 400 + "Last words."
    places = WordPlaces(text)
    spans = [match.span() for match in PLAIN_WORD.finditer(text)]
    assert [places.span(index) for index in (len(spans) - 1, 0, 1777, 5)] == [spans[-1], spans[0], spans[1777], spans[5]]


def test_positions_past_the_text_are_judged_as_the_whole_text_judges_them():
    text = "Kabul fell. The Taliban said so. " * 1000  # the file was shortened since it was indexed
    operands = [[(1, 1)], [(40_000, 40_000)]]
    assert in_one_sentence(text, operands) == whole_text_verdict(text, operands)


def test_only_the_stretch_between_close_occurrences_is_split_into_sentences():
    text = "Kabul fell and the Taliban said so. " + "Other news followed. " * 5000
    read = []
    original = proximity.sentence_starts

    def recording(part):
        read.append(part)
        return original(part)

    with mock.patch.object(proximity, "sentence_starts", recording):
        assert in_one_sentence(text, [[(0, 0)], [(4, 4)]])
    assert read == []  # no full stop between them: no sentence end to look for
    with mock.patch.object(proximity, "sentence_starts", recording):
        assert not in_one_sentence(text, [[(0, 0)], [(7, 7)]])
    assert read == ["Kabul fell and the Taliban said so. Other"]


def test_word_places_count_the_pairs_of_unspaced_scripts():
    text = "Fans of 北京大学 said 粉丝. " * 300
    places = WordPlaces(text)
    spans = [(start, end) for start, end, _ in word_spans(text)]
    assert [places.span(index) for index in (len(spans) - 1, 0, 1234)] == [spans[-1], spans[0], spans[1234]]


def contexts_by_every_word(body, spans, width):
    """concordance.contexts() as it was, from every word of the body."""
    import bisect

    from archsearch.concordance import _collapsed

    words_found = word_spans(body)
    starts = [start for start, _, _ in words_found]
    ends = [end for _, end, _ in words_found]
    found = []
    for start, end in spans:
        first = bisect.bisect_left(ends, start + 1)
        after = bisect.bisect_left(starts, end)
        left_start = starts[max(first - width, 0)] if width else start
        right_end = ends[min(after + width, len(words_found)) - 1] if width and after < len(words_found) else end
        found.append(
            (first, start, _collapsed(body[left_start:start]).lstrip(), _collapsed(body[start:end]),
             _collapsed(body[end:right_end]).rstrip())
        )
    return found


@settings(max_examples=300, deadline=None)
@given(st.lists(PIECES, min_size=1, max_size=80).map("".join), st.data(), st.sampled_from([1, 8, 4096]))
def test_kwic_contexts_are_those_read_from_every_word(body, data, stretch):
    from archsearch.concordance import contexts

    found = word_spans(body)
    if not found:
        return
    chosen = sorted(set(data.draw(st.lists(st.integers(0, len(found) - 1), min_size=1, max_size=5))))
    spans = [(found[index][0], found[index][1]) for index in chosen]
    width = data.draw(st.integers(0, 4))
    with mock.patch.object(proximity, "_STRETCH_CHARS", stretch):
        assert contexts(body, spans, width) == contexts_by_every_word(body, spans, width)


def test_kwic_reads_word_by_word_only_the_stretches_around_its_matches():
    from archsearch.concordance import contexts

    body = "Quiet news of the day. " * 10_000 + "Refugees crossed. " + "Quiet news of the day. " * 10_000
    start = body.index("Refugees")
    with mock.patch.object(WordPlaces, "_spans", autospec=True, side_effect=WordPlaces._spans) as read:
        ((word, char, left, match, right),) = contexts(body, [(start, start + 8)], 3)
    assert (word, char, left, match, right) == (50_000, start, "of the day. ", "Refugees", " crossed. Quiet news")
    assert len({call.args[1] for call in read.call_args_list}) <= 2


OCCURRENCES = st.lists(st.integers(0, 60).flatmap(lambda first: st.tuples(st.just(first), st.integers(first, first + 2))),
                       max_size=12).map(sorted)


@settings(max_examples=300, deadline=None)
@given(st.lists(OCCURRENCES, min_size=1, max_size=4))
def test_closeness_stops_at_the_first_span_that_makes_it_one_and_is_unchanged(operands):
    from archsearch.proximity import closeness, shortest_cover

    present = [found for found in operands if found]
    if len(present) >= 2:
        span = shortest_cover(present)  # every group looked at
        expected = len(present) / len(operands) * min(1.0, (len(present) - 1) / max(span, 1))
        assert closeness(operands, len(operands)) == expected
        early = shortest_cover(present, enough=len(present) - 1)
        assert early == span or (span <= early <= len(present) - 1)
