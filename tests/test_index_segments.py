"""The fast segment writer writes what Whoosh's own writer writes, posting for posting."""

import itertools
import random
from pathlib import Path

import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st
from whoosh import index as whoosh_index

from archsearch.engines.whoosh import postings_arrays, segments
from archsearch.analysis import TextAnalyzer
from archsearch.analysis.chain import text_words
from archsearch.indexing import Entry, article_document
from archsearch.formats import read_article
from archsearch.schema import build_schema, exact_text
from conftest import SEEDS, write_corpus
from test_indexing import numbered_articles


@pytest.fixture(scope="module", autouse=True)
def with_blocks():
    """Whoosh's postings blocks written for every field, as Whoosh's writer writes them, which the
    tests compare block for block (the fields of segments.FILE_ONLY_FIELDS have none by default:
    test_without_blocks_the_terms_and_postings_are_whoosh_s)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(segments, "FILE_ONLY_FIELDS", frozenset())
        yield


def documents(folder):
    return [
        article_document(str(path), str(folder), read_article(path), Entry(str(folder), 1, 2, "0" * 64))
        for path in sorted(folder.rglob("*.txt"))
    ]


def build(folder, docs, writer_class):
    folder.mkdir()
    ix = whoosh_index.create_in(str(folder), build_schema())
    if writer_class is segments.FastSegmentWriter:
        writer = writer_class(ix)
        for doc in docs:
            writer.add_document(**doc)
        writer._commit_toc([writer.finish_segment()])
        writer._finish()
    else:
        writer = whoosh_writer(ix, docs)
        for doc in docs:
            writer.add_document(**doc)
        writer.commit()
    return whoosh_index.open_dir(str(folder))


def whoosh_writer(ix, docs):
    """Whoosh's own writer, its analyzers given the documents' language (it hands them none)."""
    languages = {doc.get("language", "") for doc in docs}
    assert len(languages) <= 1, languages
    for _, field in ix.schema.items():
        if isinstance(getattr(field, "analyzer", None), TextAnalyzer):
            field.analyzer = TextAnalyzer(next(iter(languages), ""))
    return ix.writer()


def blocks(matcher):
    """Each block's statistics and contents, as a reader sees them."""
    found = []
    if not hasattr(matcher, "_read_data"):  # postings kept in the term information
        return [list(matcher.all_items())]
    while True:
        matcher._read_data()
        found.append((matcher._blocklength, matcher._maxid, matcher._maxweight, matcher._minlength,
                      matcher._maxlength, matcher._data))
        if matcher._lastblock:
            return found
        matcher._next_block()


def decoded(matcher):
    """A term's postings decoded, as a reader sees them: (document, weight, positions or value) each."""
    found = []
    while matcher.is_active():
        found.append((matcher.id(), matcher.weight(),
                      matcher.value_as("positions") if matcher.supports("positions") else matcher.value()))
        matcher.next()
    return found


def contents(ix, postings=blocks):
    reader = ix.reader()
    terms = []
    for fieldname, text in reader.all_terms():
        info = reader.term_info(fieldname, text)
        terms.append((fieldname, text, info.weight(), info.doc_frequency(), info.min_length(), info.max_length(),
                      info.max_weight(), info.min_id(), info.max_id(), postings(reader.postings(fieldname, text))))
    fields = [name for name, field in ix.schema.items() if field.scorable]
    lengths = [[reader.doc_field_length(docnum, name) for name in fields] for docnum in range(reader.doc_count_all())]
    columns = {name: list(reader.column_reader(name)) for name, field in ix.schema.items() if field.column_type}
    return terms, list(reader.all_stored_fields()), lengths, [reader.field_length(name) for name in fields], columns


def assert_same_index(tmp_path, docs):
    plain = contents(build(tmp_path / "plain", docs, None))
    fast = contents(build(tmp_path / "fast", docs, segments.FastSegmentWriter))
    assert fast[0] == plain[0]  # terms, term information and every block of postings
    assert fast[1:] == plain[1:]  # stored fields, field lengths, columns


def test_same_index_for_real_articles(tmp_path):
    corpus = write_corpus(tmp_path / "corpus", numbered_articles(150))
    for seed in SEEDS.iterdir():
        (corpus / seed.name).write_bytes(seed.read_bytes())
    docs = documents(corpus)
    # Some words in 200 articles make posting lists of more than one block of 128.
    random.Random(1).shuffle(docs)
    assert_same_index(tmp_path, docs)


def test_same_index_when_postings_spill_to_disk(tmp_path, monkeypatch):
    monkeypatch.setattr(segments, "POSTINGS_MEMORY_BYTES", 20_000)
    docs = documents(write_corpus(tmp_path / "corpus", numbered_articles(60)))
    assert_same_index(tmp_path, docs)


def test_same_index_when_terms_are_written_one_at_a_time(tmp_path, monkeypatch):
    monkeypatch.setattr(segments, "WRITE_BYTES", 1)
    docs = documents(write_corpus(tmp_path / "corpus", numbered_articles(30)))
    assert_same_index(tmp_path, docs)


def test_writing_a_field_s_terms_lets_each_term_s_postings_go_once_encoded(tmp_path):
    """write_terms holds no more than the term it encodes and the next: a merge's frequent terms
    each hold hundreds of thousands of postings."""
    import weakref

    class Postings(list):
        pass

    ix = whoosh_index.create_in(str(tmp_path), build_schema())
    writer = segments.FastSegmentWriter(ix)
    given = []
    most_held = 0

    def terms():
        nonlocal most_held
        for number in range(50):
            postings = Postings()
            for docnum in range(10):
                postings += (docnum, 1.0, segments.encode_positions([number]), 5)
            given.append(weakref.ref(postings))
            most_held = max(most_held, sum(ref() is not None for ref in given))
            yield b"term%02d" % number, postings
            del postings

    try:
        writer.fieldwriter.start_field("body", ix.schema["body"])
        segments.write_terms(writer.fieldwriter, terms(), writer.codec._compression)
        writer.fieldwriter.finish_field()
    finally:
        writer.cancel()
    assert len(given) == 50 and most_held <= 2


def test_the_term_index_keeps_few_bytes_a_term_until_it_is_written(tmp_path):
    """Whoosh's term index writer keeps a (hash, position) pair of every term until the end (a
    million articles' segment has three million terms): about 130 bytes a term as tuples."""
    import tracemalloc

    ix = whoosh_index.create_in(str(tmp_path), build_schema())
    writer = segments.FastSegmentWriter(ix)
    count = 20_000
    terms = ((b"%08d" % number, [number, 1.0, b"", 0]) for number in range(count))
    tracemalloc.start()
    try:
        writer.fieldwriter.start_field("key", ix.schema["key"])
        segments.write_terms(writer.fieldwriter, terms, writer.codec._compression)
        held = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
        writer.cancel()
    assert held < 40 * count


@pytest.mark.parametrize("sorted_tokens", [1, 97])
def test_same_index_when_terms_are_inverted_a_slice_at_a_time(tmp_path, monkeypatch, sorted_tokens):
    monkeypatch.setattr(segments, "SORTED_TOKENS", sorted_tokens)
    docs = documents(write_corpus(tmp_path / "corpus", numbered_articles(30)))
    assert_same_index(tmp_path, docs)


def test_the_postings_file_is_the_same_from_the_writers_arrays_as_from_the_segment(tmp_path, monkeypatch):
    """The writer hands the frequent terms' positions to the postings file (postings_arrays.py) as
    arrays; the same file written from the segment's postings, decoded, is the same to the byte."""
    from archsearch.engines.whoosh import postings_arrays

    monkeypatch.setattr(postings_arrays, "SIDECAR_POSTINGS", 3)
    ix = build(tmp_path / "fast", documents(write_corpus(tmp_path / "corpus", numbered_articles(30))),
               segments.FastSegmentWriter)
    segment = ix._segments()[0]
    sidecar = tmp_path / "fast" / postings_arrays.sidecar_name(segment)
    written = sidecar.read_bytes()
    sidecar.unlink()
    segments.add_missing_sidecars(ix, [segment])
    assert sidecar.read_bytes() == written


def inverted_one_by_one(documents: list, boost: float) -> dict:
    """A posting per distinct term per document, in flat lists, as the writer made them one
    document at a time before FieldTokens."""
    inverted = {}
    for docnum, terms, length in documents:
        places = {}
        for position, term in enumerate(terms):
            places.setdefault(term, []).append(position)
        for term, found in places.items():
            inverted.setdefault(term, []).extend(
                (docnum, len(found) * boost, segments.encode_positions(found), length)
            )
    return inverted


field_documents = st.lists(
    st.tuples(st.lists(st.sampled_from([b"a", b"b", b"c", b"zz", b"ete", "\u00e9t\u00e9".encode()]), max_size=12),
              st.integers(0, 300)),
    max_size=8,
)


def folded(word: str, language: str) -> bytes:
    """A term function where a word's term depends on the language: in French `été` is `ete`."""
    return (word.replace("é", "e") if language == "fr" else word).encode()


def folded_words(words: list[str], language: str) -> list[bytes]:
    return [folded(word, language) for word in words]


@settings(max_examples=200, deadline=None)
@given(documents=field_documents, boost=st.sampled_from([1.0, 2.5]), sorted_tokens=st.integers(1, 20))
def test_field_tokens_invert_as_one_document_at_a_time(documents, boost, sorted_tokens):
    vocabulary = segments.Vocabulary()
    tokens = segments.FieldTokens(folded_words, boost, vocabulary)
    expected = []
    for number, (terms, length) in enumerate(documents):
        docnum, language = number * 3 + 1, ("fr" if number % 2 else "")
        words = [term.decode() for term in terms]
        tokens.add(docnum, vocabulary.ids(words, language), length)
        expected.append((docnum, [folded(word, language) for word in words], length))
    original = segments.SORTED_TOKENS
    segments.SORTED_TOKENS = sorted_tokens
    try:
        inverted = list(tokens.postings())
    finally:
        segments.SORTED_TOKENS = original
    assert inverted == sorted(inverted_one_by_one(expected, boost).items())




def blocks_and_infos(data: bytes, entries) -> list[tuple[bytes, bytes]]:
    """Each term's postings and term information (what encode_postings gives) from what
    encode_term_blocks gives: the terms' postings joined and their term-index values."""
    from whoosh.codec.whoosh3 import W3TermInfo

    ends = itertools.accumulate(entries["size"].tolist())
    return [
        (data[end - size:end], entry.tobytes()[:W3TermInfo._struct.size])
        for end, size, entry in zip(ends, entries["size"].tolist(), entries)
    ]


@settings(max_examples=200, deadline=None)
@given(documents=field_documents, boost=st.sampled_from([1.0, 2.5, 0.1]), sorted_tokens=st.integers(1, 20),
       limit=st.sampled_from([1, 2, 3, 128]), compression=st.sampled_from([0, 3]))
def test_field_tokens_encode_as_encode_postings_encodes_their_flat_lists(documents, boost, sorted_tokens, limit,
                                                                          compression):
    """FieldTokens.postings with an encoding gives each term the blocks and term information that
    encode_postings makes of the flat list it gives without, and the same documents, weights and
    laid-out data for the sidecars."""
    vocabulary = segments.Vocabulary()
    flat_tokens, encoded_tokens = (segments.FieldTokens(folded_words, boost, vocabulary, listed_postings=3) for _ in range(2))
    scorable = documents and documents[0][1] % 2  # a field's lengths are its documents' words, or all 0
    for number, (terms, length) in enumerate(documents):
        ids = vocabulary.ids([term.decode() for term in terms], "fr" if number % 2 else "")
        for tokens in (flat_tokens, encoded_tokens):
            tokens.add(number * 3 + 1, ids, length + 1 if scorable else 0)
    original = segments.SORTED_TOKENS
    segments.SORTED_TOKENS = sorted_tokens
    try:
        flat = list(flat_tokens.postings())
        slices = list(encoded_tokens.postings((limit, compression)))
    finally:
        segments.SORTED_TOKENS = original
    encoded = [
        (term, data, term_info, docnums, encoded.weights[first:first + count].tolist(),
         dict(zip(encoded.listed, encoded.laid_out)).get(term))
        for encoded in slices
        for term, (data, term_info), docnums, first, count in zip(
            encoded.terms, blocks_and_infos(encoded.data, encoded.entries),
            [encoded.docnums[first:first + count].tolist() for first, count in zip(encoded.firsts, encoded.counts)],
            encoded.firsts.tolist(), encoded.counts.tolist(),
        )
    ]
    assert [term for term, *_ in encoded] == [term for term, _ in flat]
    for (_, postings), (_, data, term_info, docnums, weights, each_laid_out) in zip(flat, encoded):
        assert (data, term_info) == segments.encode_postings(postings, limit, None, compression)
        assert docnums == postings[0::segments.POSTING_SLOTS]
        assert weights == postings[1::segments.POSTING_SLOTS]
        laid_out = getattr(postings, "laid_out", None)
        assert (each_laid_out is None) == (laid_out is None)
        if laid_out is not None:
            fields = ("data", "postings", "positions", "flags")
            assert [getattr(each_laid_out, field) for field in fields] == [getattr(laid_out, field) for field in fields]


# Terms' postings: (gap to the document before, weight, which of a few values, field length) each.
term_postings = st.lists(
    st.lists(st.tuples(st.integers(1, 2**20), st.sampled_from([1.0, 2.0, 3.0, 0.1, 1e-3, 7.25, 0.0]),
                       st.integers(0, 3), st.sampled_from([0, 1, 9, 300, 70_000, 2**31 - 1])),
             min_size=1, max_size=12),
    min_size=1, max_size=6,
)


@settings(max_examples=300, deadline=None)
@given(terms=term_postings, limit=st.sampled_from([1, 2, 3, 5, 128]), compression=st.sampled_from([0, 3]),
       first_docnum=st.sampled_from([0, 2**31]))
def test_terms_encoded_at_once_are_encoded_as_one_at_a_time(terms, limit, compression, first_docnum):
    """encode_term_blocks gives each term what encode_postings gives its flat list: weights not
    counts (summed block by block), none above 0 (a block's maximum the int 0), values shared
    between postings, lengths beyond a byte's, document numbers in each size pickle gives an int
    (from one byte to beyond BININT's four, where the blocks' information is pickled one by one)."""
    import numpy as np

    shared = [segments.encode_positions([place]) for place in range(3)]
    flat_lists = []
    for postings in terms:
        flat, docnum = [], first_docnum - 1
        for gap, weight, value, length in postings:
            docnum += gap
            flat += (docnum, weight, shared[value] if value < 3 else segments.encode_positions([5, 9]), length)
        flat_lists.append(flat)
    joined = [value for flat in flat_lists for value in flat]
    sizes = [len(flat) // segments.POSTING_SLOTS for flat in flat_lists]
    encoded = blocks_and_infos(*segments.encode_term_blocks(
        np.array(joined[0::4], np.int64), np.array(joined[1::4]), joined[2::4], np.array(joined[3::4], np.int64),
        np.cumsum(sizes) - sizes, limit, compression,
    ))
    try:
        expected = [segments.encode_postings(flat, limit, None, compression) for flat in flat_lists]
    except TypeError:  # a block of lengths all 0 beside one with lengths (as no field is)
        assume(False)
    assert encoded == expected


def test_every_term_of_the_searched_fields_comes_with_its_positions_as_arrays(tmp_path):
    """The terms the postings file holds (postings_arrays.sidecar_postings: every one of
    EVERY_TERM_FIELDS) are handed to it with their positions as arrays; the others as Whoosh's
    postings."""
    ix = whoosh_index.create_in(str(tmp_path), build_schema())
    writer = segments.FastSegmentWriter(ix)
    for number in range(20):
        writer.add_document(key=f"/c/{number}.txt", path=f"{number}.txt", root="/c", title=f"zebra {number}",
                            body=f"zebra grazing {number}", lead=f"zebra grazing {number}",
                            exact=exact_text(f"zebra {number}", f"zebra grazing {number}"),
                            source="", place="", section="", sketch=())
    assert {"title", "derived_title", "body", "exact", "lead"} == postings_arrays.EVERY_TERM_FIELDS
    for fieldname in ("title", "body", "exact", "lead"):
        tokens = writer._tokens[fieldname]
        assert tokens.listed_postings == postings_arrays.sidecar_postings(fieldname) == 1
        handed = dict(tokens.postings())
        assert isinstance(handed[b"zebra"], segments.PositionedPostings)
        assert isinstance(handed[b"7"], segments.PositionedPostings)  # in one document
    assert not any(isinstance(postings, segments.PositionedPostings) for _, postings in writer._tokens["path"].postings())
    writer.cancel()


position_runs = st.lists(
    st.lists(st.integers(0, 2**31 - 1), min_size=2, max_size=8, unique=True).map(sorted)
    | st.lists(st.integers(0, 300), min_size=2, max_size=300, unique=True).map(sorted)
    | st.tuples(st.integers(0, 70_000), st.integers(999, 1_002)).map(lambda start_count: list(
        range(start_count[0], start_count[0] + 90 * start_count[1], 90))),
    max_size=6,
)


@settings(max_examples=200, deadline=None)
@given(runs=position_runs)
@example(runs=[[0, 255, 511, 66046, 131582]])  # gaps of 255, 256, 65535 and 65536: each width's bound
def test_position_runs_are_encoded_as_each_alone(runs):
    """Gaps of one, two and four bytes, runs of 1,000 (pickle's batch) and more: the same bytes."""
    import numpy as np

    positions = np.array([place for run in runs for place in run], np.int64)
    counts = np.array([len(run) for run in runs], np.int64)
    assert segments.encode_position_runs(positions, counts) == [segments.encode_positions(run) for run in runs]

words = st.text(
    alphabet=st.characters(codec="utf-8", categories=("L", "N", "P", "Zs", "Mn", "Sk")), min_size=0, max_size=40
)


@settings(max_examples=60, deadline=None)
@given(texts=st.lists(st.lists(words, min_size=1, max_size=30).map(" ".join), min_size=1, max_size=6))
@example(texts=["\u0300"])  # an empty word in `exact`
def test_same_terms_for_any_text(tmp_path_factory, texts):
    tmp_path = tmp_path_factory.mktemp("any")
    docs = [
        {"key": f"/corpus/{number}.txt", "path": f"{number}.txt", "root": "/corpus", "title": text[:50],
         "body": text, "source": text[-20:], "place": "", "section": "", "sketch": ()}
        for number, text in enumerate(texts)
    ]
    for doc, other in zip(docs, texts[1:] + texts[:1]):
        # exact joins the title's words and the body's (found once by the writer); a title of
        # another text, or none, and now and then an exact that is not the two joined
        doc["title"] = other[::-1][:40] if len(doc["key"]) % 2 else ""
        doc["exact"] = exact_text(doc["title"], doc["body"]) if len(other) % 3 else other
    assert_same_index(tmp_path, docs)


def test_terms_are_those_of_the_fields_analyzers():
    field = build_schema()["body"]
    list_terms = segments.compile_term_lister(field)
    text = "İstanbul's ZÜRICH-based banks, U.S. banking 3.141 fighting* naïve Ærø Германии 北京大学"
    for language in ("en", "de", "ru", ""):
        expected = [token.text.encode() for token in field.analyzer(text, language=language)]
        assert list_terms(text, language) == expected


def _value_fields():
    from whoosh import fields
    from whoosh.analysis import CharsetFilter, LowercaseFilter, RegexTokenizer, StopFilter
    from archsearch.analysis._tables import ACCENT_MAP

    schema = build_schema()
    return [
        *(field for name, field in schema.items() if field.indexed and segments.compile_word_lister(field) is None),
        fields.KEYWORD(lowercase=True, commas=True, scorable=True, field_boost=2.5),
        fields.KEYWORD(analyzer=RegexTokenizer(r"[^ ]+") | LowercaseFilter() | CharsetFilter(ACCENT_MAP)),
        fields.ID(field_boost=0.5),
        fields.KEYWORD(analyzer=RegexTokenizer() | StopFilter()),  # no exact indexer: Whoosh's own
        fields.NUMERIC(int),
    ]


@settings(max_examples=300, deadline=None)
@given(text=st.text(st.sampled_from("ab AB É,. \t\n"), max_size=12), number=st.integers(0, 6))
def test_text_indexers_give_what_whoosh_s_fields_index(text, number):
    field = _value_fields()[number]
    index_text = segments.compile_text_indexer(field)
    if index_text is None:
        return
    assert sorted(index_text(text)) == sorted(field.index(text))


def test_text_indexers_are_made_for_ids_and_keywords_alone():
    made = {name for name, field in build_schema().items() if segments.compile_text_indexer(field)}
    assert made == {"key", "record", "root", "capitals", "undated", "language", "format"}
    assert [segments.compile_text_indexer(field) for field in _value_fields()[-2:]] == [None, None]


@pytest.mark.parametrize("expression", [r"\w+", r"[\w\*]+(\.?[\w\*]+)*", r"(\w)(\w*)", r"(\w)\1?"])
def test_whole_matches_are_the_tokenizers_tokens(expression):
    import re

    from whoosh.analysis import RegexTokenizer

    text = "aa bb.cc d*e ffff g.h.i  jj"
    assert segments.whole_matches(re.compile(expression))(text) == [
        token.text for token in RegexTokenizer(expression)(text)
    ]


def merged_in_three(folder: Path, docs: list[dict], deleted, writer_class):
    """An index of `docs` written as three segments as indexing writes them (words in every article
    make postings of more than one block, 128), `deleted` deleted, then merged into one by
    Whoosh's writer (writer_class None) or writer_class."""
    from whoosh.reading import SegmentReader

    folder.mkdir()
    ix = whoosh_index.create_in(str(folder), build_schema())
    parts = []
    for start in range(0, len(docs), 100):
        writer = segments.new_segment_writer(ix)
        for doc in docs[start:start + 100]:
            writer.add_document(**doc)
        parts.append(writer.finish_segment())
    for docnum in deleted:
        parts[docnum // 100].delete_document(docnum % 100)
    writer = ix.writer() if writer_class is None else writer_class(ix)
    for part in parts:
        reader = SegmentReader(ix.storage, ix.schema, part)
        writer.add_reader(reader)
        reader.close()
    writer._commit_toc([writer._finalize_segment()])
    writer._finish()
    return whoosh_index.open_dir(str(folder))


@pytest.mark.parametrize("deleted", [(), (0, 5, 17, 18, 140, 299)])
def test_merging_writes_what_whoosh_merging_writes(tmp_path, deleted):
    docs = documents(write_corpus(tmp_path / "corpus", numbered_articles(300)))
    merged = [contents(merged_in_three(tmp_path / name, docs, deleted, writer_class))
              for name, writer_class in (("plain", None), ("fast", segments.FastSegmentWriter))]
    plain, fast = merged
    assert len(fast[1]) == 300 - len(deleted)
    assert fast[0] == plain[0]  # terms, term information and every block of postings
    assert (fast[1], fast[2], fast[4]) == (plain[1], plain[2], plain[4])  # stored fields, field lengths, columns
    # Each field's total length: the segments' own (exact) totals, less the deleted documents' lengths as
    # kept (rounded), where Whoosh adds up the rounded lengths of the documents kept.
    _, _, lengths, totals, _ = contents(build(tmp_path / "whole", docs, segments.FastSegmentWriter))
    assert fast[3] == [total - sum(lengths[docnum][field] for docnum in deleted) for field, total in enumerate(totals)]


@pytest.mark.parametrize("deleted", [(), (0, 5, 150, 299)], ids=["none deleted", "some deleted"])
def test_without_blocks_the_terms_and_postings_are_whoosh_s(tmp_path, deleted):
    """Segments without Whoosh's blocks of FILE_ONLY_FIELDS, written from memory and merged, have
    Whoosh's writer's terms, term information and postings (read from their postings files)."""
    postings_arrays.read_file_only_postings()
    docs = documents(write_corpus(tmp_path / "corpus", numbered_articles(300)))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(segments, "FILE_ONLY_FIELDS", postings_arrays.EVERY_TERM_FIELDS)
        fast = build(tmp_path / "fast", docs, segments.FastSegmentWriter)
        assert postings_arrays.file_only_fields(fast._segments()[0]) == postings_arrays.EVERY_TERM_FIELDS
        assert contents(fast, decoded) == contents(build(tmp_path / "plain", docs, None), decoded)
        # Whoosh's writer reads the segments through its reader's postings()
        merged = [contents(merged_in_three(tmp_path / name, docs, deleted, writer_class), decoded)
                  for name, writer_class in (("plain merged", None), ("fast merged", segments.FastSegmentWriter))]
        assert merged[1][0] == merged[0][0]  # terms, term information and postings
        assert (merged[1][1], merged[1][2], merged[1][4]) == (merged[0][1], merged[0][2], merged[0][4])


def test_documents_added_after_a_merge_keep_the_merged_ones_words(tmp_path):
    """A writer that merges a segment and then adds documents writes what Whoosh's does (the
    merged documents' words were dropped where the added ones had a field of the same name)."""
    from whoosh.reading import SegmentReader

    docs = documents(write_corpus(tmp_path / "corpus", numbered_articles(6)))
    written = []
    for name, writer_class in (("plain", None), ("fast", segments.FastSegmentWriter)):
        folder = tmp_path / name
        folder.mkdir()
        ix = whoosh_index.create_in(str(folder), build_schema())
        writer = segments.new_segment_writer(ix)
        for doc in docs[:3]:
            writer.add_document(**doc)
        part = writer.finish_segment()
        writer = whoosh_writer(ix, docs) if writer_class is None else writer_class(ix)
        reader = SegmentReader(ix.storage, ix.schema, part)
        writer.add_reader(reader)
        reader.close()
        for doc in docs[3:]:
            writer.add_document(**doc)
        writer._commit_toc([writer._finalize_segment()])
        writer._finish()
        written.append(contents(whoosh_index.open_dir(str(folder))))
    plain, fast = written
    assert fast[0] == plain[0]  # terms, term information and every block of postings
    assert (fast[1], fast[2], fast[4]) == (plain[1], plain[2], plain[4])
    # field totals: the merged segment's own, exact (Whoosh adds up its documents' rounded lengths)
    assert fast[3] == contents(build(tmp_path / "whole", docs, segments.FastSegmentWriter))[3]


def test_merging_segments_holds_no_segment_s_postings_in_memory(tmp_path):
    """A merge reads the merged segments' postings term by term as it writes them: adding a segment
    takes far less memory than its postings would (about 150 bytes each as Python objects, by RSS)."""
    import tracemalloc

    from whoosh.reading import SegmentReader

    docs = documents(write_corpus(tmp_path / "corpus", numbered_articles(200)))
    (tmp_path / "ix").mkdir()
    ix = whoosh_index.create_in(str(tmp_path / "ix"), build_schema())
    parts = []
    for start in (0, 100):
        writer = segments.new_segment_writer(ix)
        for doc in docs[start:start + 100]:
            writer.add_document(**doc)
        parts.append(writer.finish_segment())
    readers = [SegmentReader(ix.storage, ix.schema, part) for part in parts]
    postings = sum(info.doc_frequency() for reader in readers for _, info in reader._terms.items())
    writer = segments.FastSegmentWriter(ix)
    tracemalloc.start()
    try:
        for reader in readers:
            writer.add_reader(reader)
        added = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    for reader in readers:
        reader.close()
    writer._commit_toc([writer._finalize_segment()])
    writer._finish()
    assert postings > 20_000
    assert added < 30 * postings  # 90 bytes a posting when they were gathered; about 500 KB of buffers now
    merged = whoosh_index.open_dir(str(tmp_path / "ix")).reader()
    assert merged.doc_count() == 200
    assert sum(info.doc_frequency() for _, info in merged._terms.items()) == postings


class FakeSegment:
    """A segment of `live` documents holding `long_bytes` of long bodies, and its own reader."""

    def __init__(self, live, long_bytes=0, deleted=False):
        self.live = live
        self.long_bytes = long_bytes
        self.deleted = deleted

    def doc_count(self):
        return self.live

    def has_deletions(self):
        return self.deleted

    def close(self):
        pass


@pytest.fixture
def fake_segments(monkeypatch):
    """Merge policies run on FakeSegments: each its own reader, its long bodies as it says."""
    monkeypatch.setattr(segments, "SegmentReader", lambda storage, schema, segment: segment)
    monkeypatch.setattr(segments, "column_bytes", lambda storage, given, bound: [(each.long_bytes, 0) for each in given])


class MergingWriter:
    storage = schema = None

    def __init__(self):
        self.merged = []

    def add_reader(self, reader):
        self.merged.append(reader.live)


@pytest.mark.parametrize("sizes, merged", [
    ([10_000] * 10 + [1_200] * 3, []),  # three of a tier: left alone
    ([10_000] * 10 + [1_200] * 4, [1_200] * 4),  # four small updates at 100k: merged into one
    ([10_000] * 10 + [1_200, 1_900, 1_600, 1_050, 400], [1_200, 1_900, 1_600, 1_050]),
    ([300, 10, 499, 200, 4_999, 5_000, 0], [300, 10, 499, 200, 0]),  # empty ones always go
    ([4_000, 4_900, 2_500, 3_000, 20_000], [4_000, 4_900, 2_500, 3_000]),
])
def test_the_merge_policy_merges_a_tier_once_it_holds_four_segments(fake_segments, sizes, merged):
    given = [FakeSegment(size) for size in sizes]
    writer = MergingWriter()
    kept, after = segments.merge_by_tiers(writer, given)
    assert after == []
    assert sorted(segment.live for segment in given if segment not in kept) == sorted(merged)
    assert sorted(writer.merged) == sorted(size for size in merged if size)  # an empty one is just dropped


def test_the_merge_policy_merges_at_most_merge_bound_segments_at_a_commit(monkeypatch, fake_segments):
    """A large deletion can bring hundreds of segments into a tier at once: a merge opens every
    segment it merges (a file each), so a commit merges MERGE_BOUND of them, and merge_overdue the rest."""
    monkeypatch.setattr(segments, "MERGE_BOUND", 5)
    given = [FakeSegment(size) for size in [10_000, 0, 100, 200, 10_000, 300, 400, 450, 0, 120, 130, 20_000]]
    writer = MergingWriter()
    kept, after = segments.merge_by_tiers(writer, given)
    assert writer.merged == [100, 200, 300, 400, 450]
    assert [segment.live for segment in kept] == [10_000, 10_000, 120, 130, 20_000]  # the empty ones dropped
    assert after == []


def test_a_merge_takes_no_more_long_bodies_than_a_segment_holds(monkeypatch, fake_segments):
    """Whoosh's column of long bodies keeps its offsets as uint32 (long_bodies.SEGMENT_BYTES): a
    merge of a tier whose long bodies passed it raised OverflowError.  A segment with more than
    half of it merges with no other, and is left out of the tiers."""
    monkeypatch.setattr(segments.long_bodies, "SEGMENT_BYTES", 100)
    given = [FakeSegment(100, 40), FakeSegment(200, 30), FakeSegment(300, 51), FakeSegment(10, 40),
             FakeSegment(20, 20), FakeSegment(30, 60), FakeSegment(0, 0)]
    writer = MergingWriter()
    kept, after = segments.merge_by_tiers(writer, given)
    assert writer.merged == [100, 200, 20]  # 40 + 30 + 20: the segment of 40 more does not fit
    assert [segment.live for segment in kept] == [300, 10, 30]
    assert after == []


@pytest.mark.parametrize("long_bytes, deleted, run", [
    ([10, 20, 30, 40], [], (0, 4)),  # all fit in one: all merged at once
    ([60, 50, 30, 20, 45], [], (1, 4)),  # [60], [50 30 20], [45]: the first group of more than one
    ([60, 50, 70, 40], [], None),  # each with no neighbour it fits with: done
    ([60, 50, 70, 40], [2], (2, 3)),  # ...but one with deleted documents is written again
    ([100, 0, 0, 100, 0], [], (0, 3)),  # columns with nothing go with a full one
    ([], [], None),
])
def test_a_compaction_merges_groups_of_neighbours_whose_long_bodies_fit_in_one_segment(
        monkeypatch, fake_segments, long_bytes, deleted, run):
    monkeypatch.setattr(segments.long_bodies, "SEGMENT_BYTES", 100)
    given = [FakeSegment(10, size, number in deleted) for number, size in enumerate(long_bytes)]
    assert segments.compaction_run(None, given) == run


def test_a_recurring_value_of_a_field_whoosh_analyses_is_analysed_once(tmp_path, monkeypatch):
    """A day, a language or the segment's stamp recurs from article to article: Whoosh's analysis
    of it (a number's four encodings) runs once per writer, and the postings are the same."""
    docs = documents(write_corpus(tmp_path / "corpus", numbered_articles(12)))
    for doc in docs:
        doc["date"] = 20160102
    expected = contents(build(tmp_path / "plain", docs, None))
    schema = build_schema()
    analysed = []
    date_field = schema["date"]
    original = type(date_field).index

    def counted(field, value, **kwargs):
        analysed.append(value)
        return original(field, value, **kwargs)

    monkeypatch.setattr(type(date_field), "index", counted)
    (tmp_path / "fast").mkdir()
    ix = whoosh_index.create_in(str(tmp_path / "fast"), schema)
    writer = segments.FastSegmentWriter(ix)
    for doc in docs:
        writer.add_document(**doc)
    writer._commit_toc([writer.finish_segment()])
    writer._finish()
    assert analysed.count(20160102) == 1
    monkeypatch.undo()
    assert contents(whoosh_index.open_dir(str(tmp_path / "fast"))) == expected


def test_the_words_of_exact_and_body_are_found_once_in_title_lead_and_body(tmp_path, monkeypatch):
    """exact's words are the title's then the body's, and the body's its lead's then the rest's
    (segments.JOINED_FIELDS, LEADING_FIELDS): no text is split into words twice."""
    from archsearch.analysis import chain

    docs = documents(write_corpus(tmp_path / "corpus", numbered_articles(5)))
    assert all(doc["lead"] and doc["body"] != doc["lead"] for doc in docs)
    read = []
    original = chain.words
    monkeypatch.setattr(chain, "words", lambda text: read.append(text) or original(text))
    writer = segments.FastSegmentWriter(whoosh_index.create_in(str(tmp_path), build_schema()))
    for doc in docs:
        writer.add_document(**doc)
    writer.cancel()
    assert {doc["body"][len(doc["lead"]):] for doc in docs} <= set(read)
    assert [text for text in read if any(text == doc["lead"] for doc in docs)] == [doc["lead"] for doc in docs]
    assert not {doc["exact"] for doc in docs} & set(read)
    assert not {doc["body"] for doc in docs} & set(read)


@pytest.mark.parametrize("lead, body", [
    ("Zu", "Zu\u0308rich is here"),  # NFC composes across the lead's end: not at whitespace
    ("Report on U", "Report on U.S. trade"),  # a word runs on past the lead's end
    ("The lead", "The lead\n\nthe rest"),
    ("The lead", "The lead"),
    ("Марка\u0301", "Марка\u0301 and 北京大学 \n\n 北京"),
])
def test_a_body_has_the_words_of_its_lead_then_the_rest(tmp_path, lead, body):
    writer = segments.FastSegmentWriter(whoosh_index.create_in(str(tmp_path), build_schema()))
    ids = writer._word_ids("body", body, {"lead": lead, "body": body}, "en", {})
    assert ids == writer._vocabulary.ids(text_words(body), "en")
    writer.cancel()


@settings(max_examples=300, deadline=None)
@given(body=st.lists(st.sampled_from(["a", "\u0301", "e\u0301", "北京", "U.S", ".", "3.5", "\n", " ", "\t", "\u00a0",
                                      "\U0001d400", "\u0915\u093c", "Ω", "\u200d"]), max_size=14).map("".join),
       cut=st.integers(0, 30))
def test_a_body_cut_anywhere_has_the_words_of_its_lead_then_the_rest(tmp_path_factory, body, cut):
    writer = segments.FastSegmentWriter(whoosh_index.create_in(str(tmp_path_factory.mktemp("index")), build_schema()))
    values = {"lead": body[:cut], "body": body}
    assert writer._word_ids("body", body, values, "en", {}) == writer._vocabulary.ids(text_words(body), "en")
    writer.cancel()


# A field's terms as the writer hands them to the postings file: each term's postings, each posting
# a gap to its document number and its positions (increasing).
laid_out_terms_strategy = st.lists(
    st.lists(st.tuples(st.integers(1, 40), st.lists(st.integers(0, 60), min_size=1, max_size=6, unique=True).map(sorted)),
             min_size=1, max_size=7),
    min_size=1, max_size=6,
)


@settings(max_examples=300, deadline=None)
@given(terms=laid_out_terms_strategy, boost=st.sampled_from([1.0, 2.5]), narrow_max=st.sampled_from([0xFFFF, 3, 20]))
def test_terms_laid_out_at_once_are_laid_out_as_one_at_a_time(tmp_path_factory, terms, boost, narrow_max):
    """postings_arrays.laid_out_terms gives each term the bytes, counts and flags that SidecarWriter.add
    gives it from its flat lists, for narrow and wide arrays (the narrow bound lowered to reach both),
    weights stored or not, odd and even lengths (padding)."""
    import numpy as np

    original = postings_arrays._NARROW_MAX
    postings_arrays._NARROW_MAX = narrow_max
    try:
        writer = postings_arrays.SidecarWriter(str(tmp_path_factory.mktemp("sidecar")), NamedSegment(), build_schema())
        expected = []
        writer._append_data = lambda key, data, postings, positions, flags: expected.append(
            (data, postings, positions, flags))
        docnums, weights, counts, positions, term_starts = [], [], [], [], []
        for postings in terms:
            term_starts.append(len(docnums))
            term_docnums = list(itertools.accumulate(gap for gap, _ in postings))
            writer.add("body", b"term", term_docnums, [len(places) * boost for _, places in postings],
                       [segments.encode_positions(places) for _, places in postings])
            docnums += term_docnums
            weights += [len(places) * boost for _, places in postings]
            counts += [len(places) for _, places in postings]
            positions += [place for _, places in postings for place in places]
        laid_out = postings_arrays.laid_out_terms(
            np.array(docnums, np.int64), np.array(weights), np.array(counts, np.int64),
            np.array(positions, np.int64), np.array(term_starts, np.int64),
        )
    finally:
        postings_arrays._NARROW_MAX = original
    assert [(each.data, each.postings, each.positions, each.flags) for each in laid_out] == expected


class NamedSegment:
    """What a SidecarWriter asks of its segment."""

    def segment_id(self):
        return "MAIN_fake"

    def make_filename(self, extension):
        return self.segment_id() + extension


def test_blocks_and_stored_fields_are_compressed_by_isa_l_and_read_back_by_whoosh(tmp_path, monkeypatch):
    """The writer compresses blocks of postings and stored fields with ISA-L's deflate
    (segments.DEFLATE_LEVEL), not zlib, into what Whoosh's reader decompresses with zlib: the index
    holds what Whoosh's own writer makes."""
    import zlib

    docs = documents(write_corpus(tmp_path / "corpus", numbered_articles(30)))
    plain = contents(build(tmp_path / "plain", docs, None))
    levels = []
    isal_compress = segments.isal_zlib.compress

    def counted(data: bytes, level: int) -> bytes:
        levels.append(level)
        return isal_compress(data, level)

    def refused(data: bytes, level: int = -1) -> bytes:
        raise AssertionError("compressed by zlib")

    with monkeypatch.context() as patched:
        patched.setattr(segments.isal_zlib, "compress", counted)
        patched.setattr(zlib, "compress", refused)
        fast = build(tmp_path / "fast", docs, segments.FastSegmentWriter)
    assert len(levels) > len(docs) and set(levels) == {segments.DEFLATE_LEVEL}  # a document's stored fields, and blocks
    assert contents(fast) == plain


@given(st.lists(st.binary(max_size=40), min_size=1))
def test_the_term_hashes_are_whoosh_s(keys):
    from whoosh.filedb.filetables import md5_hash

    assert segments.term_hashes(keys).tolist() == list(map(md5_hash, keys))


@settings(max_examples=30, deadline=None)
@given(count=st.integers(0, 1_500), seed=st.integers(0, 2**32 - 1))
def test_the_term_index_s_hash_tables_are_whoosh_s(count, seed):
    """write_hash_tables lays out each bucket (HashBuckets, filled by add_ordered_entries) as
    Whoosh's HashWriter does its lists, colliding slots probed alike."""
    from io import BytesIO

    from whoosh.filedb.filetables import OrderedHashWriter
    from whoosh.filedb.structfile import StructFile

    generator = random.Random(seed)
    keys = sorted({generator.randbytes(generator.randint(1, 8)) for _ in range(count)})
    entries = [(key, b"v" * generator.randint(0, 3)) for key in keys]
    written = []
    for ours in (False, True):
        out = BytesIO()
        table = OrderedHashWriter(StructFile(out))
        out.close = lambda: None  # keep what was written readable
        if ours:
            table.buckets = [segments.HashBucket() for _ in table.buckets]
            table._write_hashes = lambda: segments.write_hash_tables(table)
            for low in range(0, len(entries), 100):
                segments.add_ordered_entries(table, keys[low:low + 100], [value for _, value in entries[low:low + 100]])
        else:
            for key, value in entries:
                table.add(key, value)
        table.close()
        written.append(out.getvalue())
    assert written[0] == written[1]


def test_a_field_without_terms_in_the_segment_has_no_place_in_its_term_index(tmp_path):
    """Fields are numbered in the term index as they are written: one whose documents all hold no
    words (an empty author) is not written, as Whoosh's writer writes none."""
    ix = whoosh_index.create_in(str(tmp_path), build_schema())
    writer = segments.FastSegmentWriter(ix)
    for number in range(3):
        writer.add_document(key=f"/c/{number}.txt", path=f"{number}.txt", root="/c", title=f"zebra {number}",
                            body="zebra grazing", author="", source="", place="", section="", sketch=())
    assert "author" in writer._tokens
    started = []
    start_field = writer.fieldwriter.start_field
    writer.fieldwriter.start_field = lambda name, field: started.append(name) or start_field(name, field)
    writer.finish_segment()
    assert "author" not in started and started == sorted(started) and {"title", "body", "key"} <= set(started)


@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 255)), max_size=20), st.integers(0, 5))
def test_lengths_column_writer_writes_what_whoosh_s_writes(gaps_values, trailing):
    """LengthsColumnWriter's bytes are those of Whoosh's writer of LENGTHS_COLUMN: 0 left out (the
    default), missing documents filled before a value, none after the last."""
    from io import BytesIO

    from whoosh.codec.whoosh3 import LENGTHS_COLUMN
    from whoosh.filedb.structfile import StructFile

    whoosh_file, our_file = StructFile(BytesIO()), StructFile(BytesIO())
    whoosh_writer, our_writer = LENGTHS_COLUMN.writer(whoosh_file), segments.LengthsColumnWriter(our_file)
    docnum = 0
    for gap, value in gaps_values:
        docnum += gap
        for writer in (whoosh_writer, our_writer):
            writer.add(docnum, value)
        docnum += 1
    for writer in (whoosh_writer, our_writer):
        writer.finish(docnum + trailing)
    assert our_file.file.getvalue() == whoosh_file.file.getvalue()
