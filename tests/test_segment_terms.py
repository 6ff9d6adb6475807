"""Term lookups with positioned reads, and what the server prepares for them once per generation:
segment_terms.py's term information and postings bytes are Whoosh's, to the bit; the postings
sidecars' keys numbered (arrays.TermDirectory) as the binary search finds them; a listed
prefix's marked words are checked in the arrays where they hold the word; all of it made when the
server warms a generation, and let go with its readers."""

import os
import random

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from whoosh.codec.whoosh3 import W3TermsReader
from whoosh.reading import TermNotFound

from archsearch.engines.whoosh import arrays, evaluation, postings_arrays, segment_terms
from archsearch.engines.whoosh.evaluation import Evaluator, read_postings
from archsearch.engines.whoosh.store import open_index
from archsearch.indexing import update_index
from archsearch.querying import parse_query
from archsearch.searching import search, weighting

from test_arrays_sidecar import damaged_copy, few_postings, lexicon, overwrite_data, searcher  # noqa: F401  (fixtures)
from test_prefix_postings import LISTED, SCORED, TOP, build, vocabulary

FIELDS = ["title", "body", "derived_title", "exact", "key", "no_such_field"]
ABSENT = [b"", b"zz", b"zebraa", "\u00e9t\u00e9".encode(), b"\x00\xff"]


def info_fields(terminfo):
    return None if terminfo is None else (
        terminfo.weight(), terminfo.doc_frequency(), terminfo.min_length(), terminfo.max_length(),
        terminfo.max_weight(), terminfo.min_id(), terminfo.max_id(), terminfo.is_inlined(), terminfo.extent(),
    )


def whoosh_term_info(leaf, fieldname: str, text: bytes):
    try:
        return leaf._terms.term_info(fieldname, text)
    except TermNotFound:
        return None


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_term_information_and_postings_read_directly_are_whooshs(searcher, data):
    fieldname = data.draw(st.sampled_from(FIELDS))
    words = lexicon(searcher, fieldname) if fieldname != "no_such_field" else []
    text = data.draw(st.sampled_from(words + ABSENT) if words else st.sampled_from(ABSENT))
    for leaf, _ in searcher.reader().leaf_readers():
        segment_terms.read_segment_terms(leaf)
        read = segment_terms.segment_terms(leaf)
        assert read is not None
        found, expected = read.term_info(fieldname, text), whoosh_term_info(leaf, fieldname, text)
        assert info_fields(found) == info_fields(expected)
        if expected is not None:
            assert read_postings(read, found, 7) == read_postings(leaf._terms._postfile, expected, 7)
            start, length = expected.extent()
            length = length[0] if isinstance(length, tuple) else length  # as read_postings takes it
            assert read.get(start, length) == leaf._terms._postfile.get(start, length)
            assert read.get(start, 1 << 40) == leaf._terms._postfile.get(start, 1 << 40)  # up to the postings' end


@pytest.mark.parametrize("with_arrays", [True, False], ids=["arrays", "dicts"])
def test_an_evaluation_reads_no_term_through_whooshs_files(built, with_arrays):  # noqa: F811
    """Every term's information and postings come through SegmentTerms (fails where Whoosh's
    seek-and-read lookups are asked); the answers are those read through Whoosh's files."""
    texts = ["zebra", '"prime minister"', "crossing OR zebra", "z*", "prime minister"]
    with open_index(built).searcher(weighting=weighting()) as searcher:
        expected = {text: evaluated(searcher, text, with_arrays) for text in texts}  # through Whoosh's reader
    with open_index(built).searcher(weighting=weighting()) as searcher, pytest.MonkeyPatch.context() as patch:
        for leaf, _ in searcher.reader().leaf_readers():
            segment_terms.read_segment_terms(leaf)
            patch.setattr(leaf._terms, "term_info", refused, raising=False)
            patch.setattr(leaf._terms._postfile, "get", refused, raising=False)
        for text in texts:
            assert evaluated(searcher, text, with_arrays) == expected[text], text


def refused(*args, **kwargs):
    raise AssertionError("a term looked up through Whoosh's files")


def evaluated(searcher, text: str, with_arrays: bool = True):
    query = parse_query(text, searcher.schema).query
    return dict(Evaluator(searcher, arrays=with_arrays).evaluate(query).scores.items())


def test_a_reader_let_go_closes_its_segments_descriptor(built):  # noqa: F811
    with open_index(built).searcher(weighting=weighting()) as searcher:
        leaf = next(leaf for leaf, _ in searcher.reader().leaf_readers())
        assert segment_terms.segment_terms(leaf) is None  # not made unless asked
        read = segment_terms.read_segment_terms(leaf)
        assert read is not None and segment_terms.segment_terms(leaf) is read
        assert segment_terms.read_segment_terms(leaf) is read  # made once, kept with the reader
        descriptor = read._fd
        os.fstat(descriptor)
        postings_arrays.let_go(leaf)
        with pytest.raises(OSError):
            os.fstat(descriptor)  # closed
        assert segment_terms.READER_ATTRIBUTE not in leaf.__dict__


def all_keys(found: arrays.SegmentArrays) -> list[bytes]:
    return [found._key(index) for index in range(len(found._crcs))]


def test_a_files_keys_are_those_the_binary_search_reads(built):  # noqa: F811
    with open_index(built).searcher(weighting=weighting()) as searcher:
        for found in filter(None, numbered_files(searcher)):
            assert found.keys() == all_keys(found)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_a_term_directory_numbers_keys_as_the_binary_search_does(built, tmp_path_factory, data):  # noqa: F811
    """TermDirectory.number of a key in each file is the binary search's (key_number, -1 where the
    file does not hold it), keys written twice in a damaged directory included, and the directory
    is searched with no binary search."""
    index = built if data.draw(st.booleans()) else damaged_copy(built, tmp_path_factory.mktemp("doubled"), repeat_key)
    with open_index(index).searcher(weighting=weighting()) as searcher:
        files = numbered_files(searcher)
        keys = sorted({key for found in filter(None, files) for key in all_keys(found)})
        wanted = data.draw(st.lists(st.one_of(st.sampled_from(keys), st.binary(max_size=12)), max_size=30))
        wanted += [key + b"\0" for key in keys[:3]] + [key[:-1] for key in keys[-3:]] + keys[:3] + keys[-3:]
        expected = [[found.key_number(key) if found is not None else -1 for found in files] for key in wanted]
        directory = arrays.TermDirectory(files)
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(arrays.SegmentArrays, "_key", refused)
            found = [[directory.number(key, column) if its is not None else -1 for column, its in enumerate(files)]
                     for key in wanted]
        assert found == expected


def repeat_key(path) -> None:
    """Writes a postings file's key over the next one of the same length: a key twice in its directory."""
    data = bytearray(path.read_bytes())
    _, _, terms, directory, _ = postings_arrays.HEADER.unpack_from(data)
    bounds = np.frombuffer(bytes(data), "<u8", terms + 1, directory).tolist()
    keys_start = directory + 8 * (terms + 1) + (8 * postings_arrays.RECORD_FIELDS + 4) * terms
    number = next(number for number in range(terms - 1)
                  if bounds[number + 1] - bounds[number] == bounds[number + 2] - bounds[number + 1])
    data[keys_start + bounds[number + 1]:keys_start + bounds[number + 2]] = data[keys_start + bounds[number]:keys_start + bounds[number + 1]]
    path.write_bytes(bytes(data))


def test_the_server_prepares_term_lookups_for_each_generation_when_it_warms_it(built, tmp_path, searchers_kept):  # noqa: F811
    """What a request forked after the warming inherits: the keys numbered and each segment's
    SegmentTerms, for the generation it searches (fails where a term is looked up through Whoosh's
    files or a binary search); an index changed since is searched afresh (a new generation's
    readers, read through Whoosh's files), and the server's next warming prepares those."""
    import shutil

    from archsearch import server
    from archsearch.engines.whoosh import store

    def kept_evaluation(prepared: bool) -> dict:
        with store.index_searcher(copy) as searcher, pytest.MonkeyPatch.context() as patch:
            if prepared:
                patch.setattr(arrays.SegmentArrays, "_key", refused)
                patch.setattr(arrays.SegmentArrays, "find", refused)  # the generation's TermDirectory instead
                patch.setattr(W3TermsReader, "term_info", refused)
            return evaluated(searcher, "zebra crossing")

    copy = tmp_path / "index"
    shutil.copytree(built, copy)
    copy = copy.resolve()
    server.warm(copy)
    before = kept_evaluation(prepared=True)
    corpus = tmp_path / "more"
    corpus.mkdir()
    (corpus / "zebra-new.txt").write_text("Zebra crossing anew\n\nA zebra crossing, new.\n", encoding="utf-8")
    update_index(copy, [str(corpus)])
    after = kept_evaluation(prepared=False)
    assert len(after) == len(before) + 1
    server.warm(copy)
    assert kept_evaluation(prepared=True) == after


def numbered_files(searcher) -> list:
    files = [arrays.segment_arrays(leaf) for leaf, _ in searcher.reader().leaf_readers()]
    for found in files:
        if found is not None:
            found.number_keys()
    return files


def test_numbering_the_keys_copies_the_directory_out_of_the_map(built):  # noqa: F811
    """The records and checksums a request reads for each term are the server's memory, which
    fork() hands on, not the file's map, whose pages each request would fault in again."""
    with open_index(built).searcher(weighting=weighting()) as searcher:
        for found in filter(None, numbered_files(searcher)):
            assert found._records.flags.owndata and found._crcs.flags.owndata
            records = np.frombuffer(found._map, "<i8", found._records.size, found._directory + 8 * (len(found._crcs) + 1))
            assert (found._records.ravel() == records).all()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_a_term_directory_finds_what_each_file_finds(built, tmp_path_factory, data):  # noqa: F811
    """TermDirectory's number of a key in each segment's file, checked there (whole_term), is
    what the file's own find() gives: absent keys, keys some segments lack, damaged terms."""
    index = built if data.draw(st.booleans()) else damaged_copy(built, tmp_path_factory.mktemp("damaged"), overwrite_data)
    with open_index(index).searcher(weighting=weighting()) as first, open_index(index).searcher(weighting=weighting()) as second:
        files, alone = numbered_files(first), numbered_files(second)
        directory = arrays.TermDirectory(files)
        keys = sorted({key for found in filter(None, alone) for key in found.keys()})
        wanted = data.draw(st.lists(st.one_of(st.sampled_from(keys), st.binary(max_size=12)), max_size=30))
        for key in wanted + [keys[0] + b"\0", keys[-1][:-1]]:
            numbers = directory.numbers(key)
            found = [None if its is None or numbers is None else its.whole_term(numbers[number], key)
                     for number, its in enumerate(files)]
            assert found == [its.find(key) if its is not None else None for its in alone], key


QUERIES = ["zebra", '"prime minister"', "crossing OR zebra", "prime minister", "peace -storm", "minister*"]


@pytest.mark.parametrize("file_added_since", [False, True], ids=["same files", "a file added since"])
def test_with_a_term_directory_each_term_is_looked_up_once_and_answers_alike(built, monkeypatch, file_added_since):  # noqa: F811
    """With the generation's TermDirectory kept with the reader (as the server keeps it), an
    evaluation finds each term's number in every file with one lookup in it, not with find() in
    each file, and answers to the bit as without; a file the directory was made without (a
    sidecar `archsearch index` wrote for the segment since) is looked in with its binary search."""
    with open_index(built).searcher(weighting=weighting()) as searcher:
        expected = {text: evaluated(searcher, text) for text in QUERIES}
    with open_index(built).searcher(weighting=weighting()) as searcher:
        files = numbered_files(searcher)
        added = max(number for number, found in enumerate(files) if found is not None)
        arrays.keep_term_directory(searcher, [None if file_added_since and number == added else found
                                              for number, found in enumerate(files)])
        looked_up, asked = [], []
        numbers = arrays.TermDirectory.numbers
        monkeypatch.setattr(arrays.TermDirectory, "numbers", lambda self, key: looked_up.append(key) or numbers(self, key))
        key_number = arrays.SegmentArrays.key_number
        monkeypatch.setattr(arrays.SegmentArrays, "key_number", lambda self, key: asked.append(self) or key_number(self, key))
        for text in QUERIES:
            looked_up.clear()
            asked.clear()
            assert evaluated(searcher, text) == expected[text], text
            assert looked_up and len(looked_up) == len(set(looked_up)), text  # each term once an evaluation
            if file_added_since:
                assert set(map(id, asked)) == {id(files[added])} and len(asked) == len(looked_up), text
            else:
                assert not asked, text


@pytest.fixture(scope="module")
def prefixed(tmp_path_factory):
    """An index whose words share short prefixes (prefix entries), with deletions."""
    from archsearch.engines.whoosh import prefix_postings

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(prefix_postings, "WORDS_LISTED", LISTED)
        patch.setattr(prefix_postings, "TOP_WORDS", TOP)
        patch.setattr(postings_arrays, "SIDECAR_POSTINGS", 3)
        rng = random.Random(20261201)
        words = vocabulary(rng, 300)
        corpus = tmp_path_factory.mktemp("corpus")
        index_dir = tmp_path_factory.mktemp("index")
        build(index_dir, corpus, [range(0, 200), range(200, 400)], rng, words, removed=range(5, 400, 17))
    return index_dir


def marked_words(index_dir, text: str, with_arrays: bool) -> dict:
    with open_index(index_dir).searcher(weighting=weighting()) as searcher:
        found = Evaluator(searcher, arrays=with_arrays).evaluate(parse_query(text, searcher.schema).query)
        return {docnum: found.matched_terms(docnum) for docnum in list(found.scores.keys())[:40]}


def test_a_prefixs_marked_words_are_checked_in_the_arrays_where_they_hold_them(prefixed, monkeypatch):
    from archsearch.engines.whoosh import fuzzy, prefix_postings

    monkeypatch.setattr(prefix_postings, "WORDS_LISTED", LISTED)
    monkeypatch.setattr(prefix_postings, "TOP_WORDS", TOP)
    monkeypatch.setattr(fuzzy, "SCORED_EXPANSIONS", SCORED)
    asked = []
    whole_holds = evaluation._holds
    monkeypatch.setattr(evaluation, "_holds", lambda *args: asked.append(args) or whole_holds(*args))
    for text in ("t*", "se*", "sa k*"):
        by_dicts = marked_words(prefixed, text, with_arrays=False)
        asked_by_dicts = len(asked)
        assert asked_by_dicts and any(by_dicts.values()), text
        asked.clear()
        assert marked_words(prefixed, text, with_arrays=True) == by_dicts, text
        assert len(asked) < asked_by_dicts / 4, text  # only words too rare for a segment's arrays
        asked.clear()


def test_an_evaluation_in_a_process_of_its_own_reads_terms_directly_from_its_first_lookup(built):  # noqa: F811
    """A searcher the server did not warm: each segment's SegmentTerms is made on the evaluation's
    first term lookup there (fails where a term is looked up through Whoosh's files), with the
    answers read through Whoosh's files."""
    texts = ["zebra", '"prime minister"', "crossing OR zebra", "prime minister"]
    with open_index(built).searcher(weighting=weighting()) as searcher, pytest.MonkeyPatch.context() as patch:
        patch.setattr(segment_terms, "read_segment_terms", lambda leaf: None)
        patch.setattr(evaluation, "read_segment_terms", lambda leaf: None)
        expected = {text: evaluated(searcher, text, with_arrays=False) for text in texts}  # through Whoosh's reader
    with open_index(built).searcher(weighting=weighting()) as searcher, pytest.MonkeyPatch.context() as patch:
        for leaf, _ in searcher.reader().leaf_readers():
            assert segment_terms.segment_terms(leaf) is None
            patch.setattr(leaf._terms, "term_info", refused, raising=False)
            patch.setattr(leaf._terms._postfile, "get", refused, raising=False)
        for text in texts:
            assert evaluated(searcher, text, with_arrays=False) == expected[text], text
        assert all(segment_terms.segment_terms(leaf) is not None for leaf, _ in searcher.reader().leaf_readers())


def test_a_reader_collected_without_being_let_go_closes_its_segments_descriptor(built):  # noqa: F811
    import gc

    with open_index(built).searcher(weighting=weighting()) as searcher:
        leaf = next(leaf for leaf, _ in searcher.reader().leaf_readers())
        segment_terms.read_segment_terms(leaf)
        descriptor = segment_terms.segment_terms(leaf)._fd
        os.fstat(descriptor)
        del leaf.__dict__[segment_terms.READER_ATTRIBUTE], leaf
        gc.collect()
        with pytest.raises(OSError):
            os.fstat(descriptor)  # closed


def test_a_segment_that_cannot_be_read_directly_is_asked_once(built, monkeypatch):  # noqa: F811
    made = []

    def not_compound(terms):
        made.append(terms)
        raise ValueError("not a compound segment")

    monkeypatch.setattr(segment_terms, "SegmentTerms", not_compound)
    with open_index(built).searcher(weighting=weighting()) as searcher:
        leaf = next(leaf for leaf, _ in searcher.reader().leaf_readers())
        segment_terms.read_segment_terms(leaf)
        segment_terms.read_segment_terms(leaf)
        assert segment_terms.segment_terms(leaf) is None and len(made) == 1


def test_field_lengths_are_read_directly_as_whooshs_column_holds_them(built, monkeypatch):  # noqa: F811
    """Each segment's length bytes of each field, read with one positioned read of its compound
    file (fails where Whoosh's column reader is made for a column the segment has), are those
    Whoosh's reader gives, and so where the segment cannot be read directly."""
    from whoosh.codec.whoosh3 import LENGTHS_COLUMN, _lenfield

    fields = ["title", "body", "derived_title", "exact", "lead", "no_such_field"]
    with open_index(built).searcher(weighting=weighting()) as searcher:
        leaves = [leaf for leaf, _ in searcher.reader().leaf_readers()]
        expected = []
        for leaf in leaves:
            for fieldname in fields:
                column = leaf._perdoc._cached_reader(_lenfield(fieldname), LENGTHS_COLUMN)
                expected.append(column._dbfile.get(column._basepos, column._count) if column is not None else b"")
        assert any(expected)
        with pytest.MonkeyPatch.context() as patch:
            for leaf in leaves:
                patch.setattr(leaf._perdoc, "column_reader", refused)  # asked where the column exists
            assert [evaluation._length_bytes(leaf, fieldname) for leaf in leaves for fieldname in fields] == expected
    monkeypatch.setattr(segment_terms, "SegmentTerms", lambda terms: (_ for _ in ()).throw(ValueError("not compound")))
    with open_index(built).searcher(weighting=weighting()) as searcher:
        leaves = [leaf for leaf, _ in searcher.reader().leaf_readers()]
        assert [evaluation._length_bytes(leaf, fieldname) for leaf in leaves for fieldname in fields] == expected


def test_a_segment_of_another_kind_is_refused_with_nothing_to_close(monkeypatch):
    import gc
    import sys

    class Terms:  # a term index and postings that are not sub-files of one compound file
        _dbfile = _postfile = type("File", (), {"file": None})()

    unraisable = []
    monkeypatch.setattr(sys, "unraisablehook", unraisable.append)  # an error in __del__ ("Exception ignored in")
    with pytest.raises(ValueError):
        segment_terms.SegmentTerms(Terms())
    gc.collect()
    assert not unraisable
