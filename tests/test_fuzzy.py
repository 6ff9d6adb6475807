"""Fuzzy and prefix words expanded against the segments' word lists: the same words, and so the same
articles, as Whoosh's own expansion, over new, merged, rebuilt and list-less segments; a prefix of
many words ranks by its most frequent ones."""

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from whoosh import query as wq
from whoosh.reading import IndexReader

from archsearch.analysis.alternatives import index_languages
from archsearch.engines.whoosh.evaluation import Evaluator
from archsearch.engines.whoosh import fuzzy
from archsearch.engines.whoosh.fuzzy import (
    ListedFuzzyTerm, ListedPrefix, _first_line_from, expansion_terms, fuzzy_words, prefix_words, segment_word_lists,
    weighed_part,
)
from archsearch.indexing import update_index
from archsearch.querying import parse_query
from archsearch.searching import search
from archsearch.engines.whoosh.store import index_searcher
from conftest import wire, write_corpus

# Words that sit one or two edits apart, in several scripts, with accents folded by the index.
VOCABULARY = (
    "taliban talibans taliaban tailban kabul kabal cabul kandahar afghanistan afganistan afghanstan "
    "refugee refugees refuge refuges refused germany germane german merkel markel merkle "
    "president presidents precedent goverment government governments minister ministry ministers "
    "беженцы беженцев беженец москва москве zürich zurich zurück café cafe caffè ab abc abd ba"
).split()


def articles(count: int, seed: int = 7) -> dict[str, str]:
    chooser = random.Random(seed)
    return {
        f"{number:03}.txt": wire(
            f"2021-08-{number % 28 + 1:02}", "KABUL, August 1. /TASS/.", " ".join(chooser.sample(VOCABULARY, 6)) + "."
        )
        for number in range(count)
    }


@pytest.fixture(scope="module")
def segmented_index(tmp_path_factory):
    """An index of three segments (three commits, too few to merge)."""
    folder = tmp_path_factory.mktemp("fuzzy")
    index_dir = folder / "index"
    update_index(index_dir, [str(write_corpus(folder / "corpus", articles(45)))], commit_every=15)
    with index_searcher(index_dir) as searcher:
        assert len(list(searcher.reader().leaf_readers())) == 3
    return index_dir


def whoosh_words(reader, fieldname, text, maxdist, prefix) -> list[str]:
    """Whoosh's expansion over several segments: every term of the field, one distance at a time."""
    return sorted(IndexReader.terms_within(reader, fieldname, text, maxdist, prefix))


FIELDS = ("exact", "title", "lead", "body", "place")


@settings(max_examples=150, deadline=None)
@given(
    text=st.one_of(st.sampled_from(VOCABULARY), st.text("abgiklnrtuäüöбежнц", min_size=1, max_size=10)),
    maxdist=st.integers(0, 2),
    prefix=st.integers(0, 3),
    fieldname=st.sampled_from(FIELDS),
)
def test_word_lists_give_the_words_whoosh_gives(segmented_index, text, maxdist, prefix, fieldname):
    with index_searcher(segmented_index) as searcher:
        reader = searcher.reader()
        assert fuzzy_words(reader, fieldname, text, maxdist, prefix) == whoosh_words(
            reader, fieldname, text, maxdist, prefix
        )


FUZZY_QUERIES = (
    "talibn~", "tailban~", "kabul~ refugee~", "afganistan~2", "goverment~ minister~", "merkle~ -germany",
    "presidnt~2/3", "беженц~", "zurich~", "cafe~ OR kabal~", "title:refuge~", "lead:refuge~", "place:kabol~", "ab~2",
)


@pytest.mark.parametrize("arrays", [False, True])
@pytest.mark.parametrize("text", FUZZY_QUERIES)
def test_fuzzy_queries_match_the_articles_whoosh_s_expansion_matches(segmented_index, text, arrays):
    with index_searcher(segmented_index) as searcher:
        parsed = parse_query(text, searcher.schema, languages=index_languages(searcher)).query
        assert any(isinstance(leaf, ListedFuzzyTerm) for leaf in parsed.leaves())
        as_whoosh = parsed.accept(
            lambda node: wq.FuzzyTerm(
                node.fieldname, node.text, boost=node.boost, maxdist=node.maxdist,
                prefixlength=node.prefixlength, constantscore=node.constantscore,
            ) if isinstance(node, ListedFuzzyTerm) else node
        )
        evaluator = Evaluator(searcher, arrays=arrays)
        old = dict(evaluator.evaluate(as_whoosh).scores.items())
        new = dict(evaluator.evaluate(parsed).scores.items())
        assert set(new) == set(old)
        assert new == pytest.approx(old)
        assert set(new) == evaluator.documents_whoosh_matches(parsed)
    result = search(segmented_index, text, limit=0, collapse_copies=False)
    assert result.total == len(new)


@settings(max_examples=150, deadline=None)
@given(
    text=st.one_of(st.sampled_from(VOCABULARY).map(lambda word: word[: len(word) // 2]), st.text("abgiklnrtuäбе", max_size=3)),
    fieldname=st.sampled_from(FIELDS),
)
def test_prefix_word_lists_give_the_words_whoosh_gives(segmented_index, text, fieldname):
    with index_searcher(segmented_index) as searcher:
        reader = searcher.reader()
        assert prefix_words(reader, fieldname, text) == sorted(set(reader.expand_prefix(fieldname, text)))


PREFIX_QUERIES = ("tal*", "k*", "a*", "r* OR g*", "m* -germany", "бе*", "title:pre*", "kabul ref*", "z*")


@pytest.mark.parametrize("arrays", [False, True])
@pytest.mark.parametrize("scored", [1, 16])  # 1: most prefixes' postings found from term information read in key order
@pytest.mark.parametrize("text", PREFIX_QUERIES)
def test_prefix_queries_match_the_articles_whoosh_s_expansion_matches(segmented_index, text, scored, arrays, monkeypatch):
    monkeypatch.setattr(fuzzy, "SCORED_EXPANSIONS", scored)
    with index_searcher(segmented_index) as searcher:
        parsed = parse_query(text, searcher.schema, languages=index_languages(searcher)).query
        assert any(isinstance(leaf, ListedPrefix) for leaf in parsed.leaves())
        as_whoosh = parsed.accept(
            lambda node: wq.Prefix(node.fieldname, node.text, boost=node.boost) if isinstance(node, ListedPrefix) else node
        )
        evaluator = Evaluator(searcher, arrays=arrays)
        old = dict(evaluator.evaluate(as_whoosh).scores.items())
        new = dict(evaluator.evaluate(parsed).scores.items())
        assert set(new) == set(old) == evaluator.documents_whoosh_matches(as_whoosh)
        expanded = [node for node in parsed.leaves() if isinstance(node, ListedPrefix)]
        if all(len(expansion_terms(node, searcher.reader())) <= scored for node in expanded):
            assert new == pytest.approx(old)  # every word weighed: Whoosh's scores
    result = search(segmented_index, text, limit=0, collapse_copies=False)
    assert result.total == len(new)


def test_a_prefix_of_many_words_ranks_by_its_most_frequent_words(tmp_path, monkeypatch):
    monkeypatch.setattr(fuzzy, "SCORED_EXPANSIONS", 2)
    bodies = ["Talks went on."] * 3 + ["Tallinn waited."] * 2 + ["Talc was found.", "Talon seen.", "Nothing here."]
    corpus = {f"{n}.txt": wire("2021-08-15", "KABUL, August 15. /TASS/.", body) for n, body in enumerate(bodies)}
    index_dir = tmp_path / "index"
    update_index(index_dir, [str(write_corpus(tmp_path / "corpus", corpus))])
    with index_searcher(index_dir) as searcher:
        (node,) = [leaf for leaf in parse_query("tal*", searcher.schema).query.leaves()]
        weights = {term.text: term.boost for term in expansion_terms(node, searcher.reader())}
        assert weights == {b"talc": 0.0, b"talks": 1.0, b"tallinn": 1.0, b"talon": 0.0}
        # Proximity ranking looks for the words that weigh, not for every word of the prefix.
        assert weighed_part(node, searcher.reader()) == wq.Or([wq.Term("exact", b"talks"), wq.Term("exact", b"tallinn")])
        (few,) = [leaf for leaf in parse_query("tall*", searcher.schema).query.leaves()]
        assert weighed_part(few, searcher.reader()) is few
    result = search(index_dir, "tal*", limit=0, collapse_copies=False)
    assert result.total == 7  # every article with a word starting so: the rarer words match too
    assert {hit.path.rsplit("/", 1)[-1] for hit in result.hits[-2:]} == {"5.txt", "6.txt"}  # scored nothing: last


def test_an_edit_is_a_letter_added_dropped_changed_or_two_neighbours_swapped(tmp_path):
    index_dir = tmp_path / "index"
    update_index(index_dir, [str(write_corpus(tmp_path / "corpus", {"a.txt": wire("2021-08-15", "KABUL, August 15. /TASS/.", "The Taliban took Kabul.")}))])

    def found(text):
        return search(index_dir, text, relax_when_empty=False).total

    assert [found(word) for word in ("talibn~", "tailban~", "talibans~", "talibam~", "talbn~")] == [1, 1, 1, 1, 0]
    assert [found(word) for word in ("talbn~2", "tlbn~2", "tailbn~2")] == [1, 0, 1]
    assert [found(word) for word in ("xaliban~", "xaliban~/1", "talibn~/3", "tlaiban~/2")] == [1, 0, 1, 0]


def test_merged_and_rebuilt_segments_carry_word_lists(tmp_path):
    index_dir = tmp_path / "index"
    corpus = write_corpus(tmp_path / "corpus", articles(20))
    update_index(index_dir, [str(corpus)], commit_every=4)  # five small commits: a tier of four merged
    with index_searcher(index_dir) as searcher:
        leaves = [leaf for leaf, _ in searcher.reader().leaf_readers()]
        assert len(leaves) < 5
        assert all(segment_word_lists(leaf).get("exact") for leaf in leaves)
        reader = searcher.reader()
        assert fuzzy_words(reader, "exact", "talibn", 1, 0) == whoosh_words(reader, "exact", "talibn", 1, 0)
    update_index(index_dir, [], rebuild=True)
    with index_searcher(index_dir) as searcher:
        assert all(segment_word_lists(leaf).get("exact") for leaf, _ in searcher.reader().leaf_readers())


def test_a_segment_without_word_lists_is_expanded_by_whoosh(tmp_path):
    from whoosh.index import create_in

    from archsearch.schema import build_schema

    ix = create_in(str(tmp_path), build_schema())
    with ix.writer() as writer:  # Whoosh's own writer: no word lists
        writer.add_document(key="/a.txt", path="a.txt", exact="The Taliban took Kabul", title="", body="")
    with ix.searcher() as searcher:
        (leaf, _), = searcher.reader().leaf_readers()
        assert segment_word_lists(leaf) == {}
        assert fuzzy_words(searcher.reader(), "exact", "talibn", 1, 0) == ["taliban"]



def test_lead_s_fuzzy_words_come_from_new_segments_lists_and_from_whoosh_in_older_ones(tmp_path, monkeypatch):
    """`lead:word~` was expanded by Whoosh's scan of every term (1.35 s a query at 100k): new segments
    list lead's words; a segment written before lists none of them and is still expanded by Whoosh."""
    index_dir = tmp_path / "index"
    corpus = write_corpus(tmp_path / "corpus", articles(10))
    monkeypatch.setattr(fuzzy, "WORD_LIST_FIELDS", fuzzy.WORD_LIST_FIELDS - {"lead"})
    update_index(index_dir, [str(corpus)])
    monkeypatch.undo()
    write_corpus(tmp_path / "more", articles(10, seed=8))
    update_index(index_dir, [str(corpus), str(tmp_path / "more")])
    with index_searcher(index_dir) as searcher:
        reader = searcher.reader()
        older, newer = [leaf for leaf, _ in reader.leaf_readers()]
        assert "lead" not in segment_word_lists(older) and segment_word_lists(newer)["lead"]
        assert fuzzy_words(reader, "lead", "refuge", 1, 0) == whoosh_words(reader, "lead", "refuge", 1, 0) != []
        expected = whoosh_words(newer, "lead", "refuge", 1, 0)
        monkeypatch.setattr(IndexReader, "terms_within", lambda *args: pytest.fail("Whoosh's scan of a listed field"))
        assert fuzzy_words(newer, "lead", "refuge", 1, 0) == expected != []


@settings(max_examples=200, deadline=None)
@given(words=st.lists(st.text("abcé\xff", min_size=0, max_size=4), unique=True), key=st.text("abcé", max_size=3))
def test_binary_search_over_lines_finds_the_first_line_not_below_the_key(words, key):
    lines = sorted(word.encode("utf-8") for word in words)
    blob = b"\n".join(lines)
    position = _first_line_from(blob, key.encode("utf-8"))
    expected = [line for line in lines if line >= key.encode("utf-8")]
    if not lines or (len(lines) == 1 and lines[0] == b""):
        return  # no line, or a single empty one: nothing to find
    assert blob[position:].split(b"\n") == expected if expected else position == len(blob)


def test_word_lists_are_kept_per_index_whatever_the_segments_names(tmp_path):
    # Segment names come from the `random` module: seeded alike, two indexes name theirs alike.
    found = []
    for number, words in enumerate(["talks tallinn talon", "tapir tarot taxes"]):
        random.seed(20261130)
        index_dir = tmp_path / f"index{number}"
        corpus = {"a.txt": wire("2021-08-15", "KABUL, August 15. /TASS/.", words.capitalize() + ".")}
        update_index(index_dir, [str(write_corpus(tmp_path / f"corpus{number}", corpus))])
        with index_searcher(index_dir) as searcher:
            found.append(prefix_words(searcher.reader(), "exact", "ta"))
    assert found == [[b"talks", b"tallinn", b"talon", b"tass"], [b"tapir", b"tarot", b"tass", b"taxes"]]


@settings(max_examples=150, deadline=None)
@given(
    text=st.one_of(st.sampled_from(VOCABULARY).map(lambda word: word[: len(word) // 2 + 1]), st.text("abgiklnrtuäбе\xff", min_size=1, max_size=3)),
    fieldname=st.sampled_from(FIELDS),
)
def test_merged_word_lists_give_the_words_each_segments_give(segmented_index, text, fieldname):
    """The server merges the segments' word lists of a field once (merge_word_lists); a prefix's
    words from them are those walked segment by segment, and Whoosh's."""
    with index_searcher(segmented_index) as walked, index_searcher(segmented_index) as merged:
        fuzzy.merge_word_lists(merged.reader(), fieldname)
        assert fuzzy._MERGED_WORDS not in walked.reader().__dict__
        expected = fuzzy._words_starting(walked.reader(), fieldname, text)
        assert fuzzy._words_starting(merged.reader(), fieldname, text) == expected
        assert expected == sorted(set(walked.reader().expand_prefix(fieldname, text)))


def test_merged_word_lists_are_searched_once_not_per_segment(segmented_index, monkeypatch):
    with index_searcher(segmented_index) as searcher:
        reader = searcher.reader()
        fuzzy.merge_word_lists(reader, "exact")
        searched = []
        whole = fuzzy._lines_starting
        monkeypatch.setattr(fuzzy, "_lines_starting", lambda lines, start: searched.append(start) or whole(lines, start))
        assert fuzzy._words_starting(reader, "exact", "ta") == sorted(set(reader.expand_prefix("exact", "ta")))
        assert searched == [b"ta"]


def test_a_segment_without_word_lists_leaves_the_field_unmerged(tmp_path):
    from whoosh.index import create_in

    from archsearch.schema import build_schema

    ix = create_in(str(tmp_path), build_schema())
    with ix.writer() as writer:  # Whoosh's own writer: no word lists
        writer.add_document(key="/a.txt", path="a.txt", exact="The Taliban took Kabul", title="", body="")
    with ix.searcher() as searcher:
        fuzzy.merge_word_lists(searcher.reader(), "exact")
        assert fuzzy._MERGED_WORDS not in searcher.reader().__dict__
        assert prefix_words(searcher.reader(), "exact", "t") == [b"taliban", b"the", b"took"]


def test_the_server_merges_the_prefix_fields_word_lists_of_each_generation(segmented_index, tmp_path, monkeypatch, searchers_kept):
    """server.warm merges them for the generation it opens (fails where a keystroke's prefix walks
    every segment's lists); a new generation's reader has none until it is warmed."""
    import shutil

    from archsearch import server

    copy = tmp_path / "index"
    shutil.copytree(segmented_index, copy)
    server.warm(copy.resolve())
    with index_searcher(copy.resolve()) as searcher, monkeypatch.context() as patch:
        patch.setattr(fuzzy, "segment_word_lists", refused_lists)
        assert fuzzy._words_starting(searcher.reader(), "exact", "kab") == [b"kabal", b"kabul"]
    update_index(copy, [str(write_corpus(tmp_path / "more", {"new.txt": wire("2021-08-02", "KABUL, August 2. /TASS/.", "Kabuli kabob.")}))])
    with index_searcher(copy.resolve()) as searcher:
        assert fuzzy._MERGED_WORDS not in searcher.reader().__dict__
        assert fuzzy._words_starting(searcher.reader(), "exact", "kab") == [b"kabal", b"kabob", b"kabul", b"kabuli"]
    server.warm(copy.resolve())
    with index_searcher(copy.resolve()) as searcher, monkeypatch.context() as patch:
        patch.setattr(fuzzy, "segment_word_lists", refused_lists)
        assert fuzzy._words_starting(searcher.reader(), "exact", "kab") == [b"kabal", b"kabob", b"kabul", b"kabuli"]


def refused_lists(leaf):
    raise AssertionError("a segment's word lists walked")


class FakeSegment:
    def create_file(self, storage, extension):
        return open(storage / f"segment{extension}", "wb")


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["path", "exact", "key"]), st.binary(max_size=6)), max_size=40))
def test_word_lists_hold_each_field_s_words_by_length_joined(tmp_path_factory, added):
    import pickle

    folder = tmp_path_factory.mktemp("words")
    lists = fuzzy.WordLists(["path", "exact", "key"])
    expected: dict[str, dict[int, list[bytes]]] = {"exact": {}, "path": {}}
    for name, term in sorted(set((name, term.decode("utf-8", "replace").encode()) for name, term in added)):
        lists.add(name, term)
        if name in expected:
            expected[name].setdefault(len(term.decode()), []).append(term)
    lists.write(folder, FakeSegment())
    written = pickle.loads((folder / f"segment{fuzzy.WORD_LIST_EXTENSION}").read_bytes())
    assert written == {
        name: {length: fuzzy.SEPARATOR.join(words) for length, words in groups.items()}
        for name, groups in expected.items()
        if not any(fuzzy.SEPARATOR in word for words in groups.values() for word in words)
    }


def test_word_lists_keep_few_bytes_a_word():
    """A segment of a million files has two million words of their paths (a bytes object each: 50 bytes)."""
    import tracemalloc

    lists = fuzzy.WordLists(["path"])
    tracemalloc.start()
    try:
        for number in range(20_000):
            lists.add("path", b"%016x" % number)
        held = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert held < 25 * 20_000


@settings(max_examples=150, deadline=None)
@given(
    text=st.one_of(st.sampled_from(VOCABULARY).map(lambda word: word[: len(word) // 2 + 1]), st.text("abgiklnrtuäбе\xff", min_size=1, max_size=3)),
    fieldname=st.sampled_from(FIELDS),
    walked=st.sampled_from([0, 2, fuzzy.WALKED_WORDS]),
)
def test_a_process_finds_a_prefix_s_words_where_the_lists_lie_without_loading_them(segmented_index, text, fieldname, walked):
    """A query without the server found a prefix's words by unpickling each segment's word lists whole
    (5.5-6 ms and 2,600 page faults of a keystroke at 100k articles); now it searches them in the
    segments' files, mapped (or the term file, for a prefix of few words: `walked`), with the same
    words as Whoosh's."""
    with index_searcher(segmented_index) as searcher, pytest.MonkeyPatch.context() as patch:
        patch.setattr(fuzzy, "_kept", fuzzy.OrderedDict())
        patch.setattr(fuzzy, "_mapped", fuzzy.OrderedDict())
        patch.setattr(fuzzy, "segment_word_lists", refused_lists)
        patch.setattr(fuzzy, "WALKED_WORDS", walked)
        reader = searcher.reader()
        assert fuzzy._words_starting(reader, fieldname, text) == sorted(set(reader.expand_prefix(fieldname, text)))
        word = text.rstrip("\xff") + "x"
        assert fuzzy_words(reader, fieldname, word, 1, 0) == whoosh_words(reader, fieldname, word, 1, 0)
        assert fuzzy_words(reader, fieldname, word, 2, 1) == whoosh_words(reader, fieldname, word, 2, 1)
        assert len(fuzzy._mapped) == 3


def test_a_process_reads_a_prefix_of_few_words_from_the_term_file_and_of_many_from_the_lists(segmented_index, monkeypatch):
    """Locating a segment's groups of words in its lists and searching each length cost a keystroke
    of live search 2.4-3 ms at 100k articles, the term file's cursor ~1: it reads a prefix while no
    segment holds more than WALKED_WORDS of its words, and the lists the rest once one does."""
    monkeypatch.setattr(fuzzy, "_kept", fuzzy.OrderedDict())
    monkeypatch.setattr(fuzzy, "_mapped", fuzzy.OrderedDict())
    located = []
    original = fuzzy.mapped_word_groups
    monkeypatch.setattr(fuzzy, "mapped_word_groups", lambda leaf: located.append(leaf) or original(leaf))
    with index_searcher(segmented_index) as searcher:
        reader = searcher.reader()
        assert fuzzy._words_starting(reader, "exact", "kab") == [b"kabal", b"kabul"]
        assert located == []
        monkeypatch.setattr(fuzzy, "WALKED_WORDS", 1)
        assert fuzzy._words_starting(reader, "exact", "kab") == [b"kabal", b"kabul"]
        segments = len(reader.leaf_readers())
        many = [leaf for leaf, _ in reader.leaf_readers() if len(list(leaf.expand_prefix("exact", "kab"))) > 1]
        first = [leaf for leaf, _ in reader.leaf_readers()].index(many[0])
        assert len(located) == segments - first  # the first segment to hold many words and those after it


def test_word_lists_a_process_keeps_are_searched_as_they_are(segmented_index, monkeypatch):
    """The server loads every segment's lists for the requests it forks: those are searched, not mapped."""
    with index_searcher(segmented_index) as searcher:
        reader = searcher.reader()
        for leaf, _ in reader.leaf_readers():
            segment_word_lists(leaf)
        monkeypatch.setattr(fuzzy, "mapped_word_groups", lambda leaf: pytest.fail("the lists mapped again"))
        assert prefix_words(reader, "exact", "kab") == [b"kabal", b"kabul"]


def test_word_lists_not_stepped_through_are_loaded_whole(segmented_index, monkeypatch):
    """Lists in a pickle _pickled_word_groups does not know (another protocol, another shape) are
    loaded as before, with the same words."""
    monkeypatch.setattr(fuzzy, "_kept", fuzzy.OrderedDict())
    monkeypatch.setattr(fuzzy, "_mapped", fuzzy.OrderedDict())
    monkeypatch.setattr(fuzzy, "_pickled_word_groups", lambda data, start, end: None)
    with index_searcher(segmented_index) as searcher:
        reader = searcher.reader()
        assert prefix_words(reader, "exact", "kab") == [b"kabal", b"kabul"]
        assert fuzzy_words(reader, "exact", "kabol", 1, 0) == ["kabal", "kabul"]
        assert len(fuzzy._kept) == 3 and not fuzzy._mapped


@settings(max_examples=300, deadline=None)
@given(
    lists=st.dictionaries(
        st.text(min_size=1, max_size=8),
        st.dictionaries(st.integers(min_value=0, max_value=70_000), st.binary(max_size=300), max_size=12),
        max_size=6,
    ),
    protocol=st.integers(min_value=0, max_value=5),
    before=st.binary(max_size=5),
)
def test_pickled_word_groups_are_where_the_pickle_holds_them(lists, protocol, before):
    import pickle

    pickled = pickle.dumps(lists, protocol=protocol)
    data = before + pickled + b"after"
    found = fuzzy._pickled_word_groups(data, len(before), len(before) + len(pickled))
    if protocol == pickle.HIGHEST_PROTOCOL:
        assert found is not None
    if found is not None:
        assert {name: {length: data[start:end] for length, (start, end) in groups.items()} for name, groups in found.items()} == lists
    assert fuzzy._pickled_word_groups(data, len(before), len(before) + len(pickled) - 1) is None
    assert fuzzy._pickled_word_groups(pickle.dumps([lists], protocol=5) + b"", 0, len(pickle.dumps([lists], protocol=5))) is None
