"""Opening the index to search (engines/whoosh/store.py): Whoosh's tables read whole, as Whoosh reads them."""

import os
from itertools import accumulate

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from whoosh.columns import VarBytesColumn
from whoosh.filedb.filestore import RamStorage
from whoosh.filedb.filetables import HashReader
from whoosh.filedb.structfile import StructFile

from archsearch.engines.whoosh import store
from conftest import build_index


def test_a_segment_opens_with_a_few_reads_not_one_per_hash_table(seeded_index, monkeypatch):
    store.open_index(seeded_index)  # Whoosh's methods replaced
    reads = []
    real_read = StructFile.read
    monkeypatch.setattr(StructFile, "read", lambda self, *args: reads.append(args) or real_read(self, *args))
    with store.index_searcher(seeded_index) as searcher:
        segments = len(searcher.reader().leaf_readers()) if not searcher.reader().is_atomic() else 1
    # Whoosh read the directory of 256 hash tables of each segment's term file entry by entry.
    assert len(reads) < 100 * segments


def test_the_hash_tables_read_are_whoosh_s(seeded_index):
    ix = store.open_index(seeded_index)
    whoosh_init = store._whoosh_methods["HashReader.__init__"]

    def attributes(reader):
        return {name: value for name, value in vars(reader).items() if name != "dbfile"}

    with ix.reader() as reader:
        leaves = [reader] if reader.is_atomic() else [leaf for leaf, _ in reader.leaf_readers()]
        for leaf in leaves:
            opened = leaf._terms._tindex
            theirs, ours = (type(opened).__new__(type(opened)) for _ in range(2))
            whoosh_init(theirs, opened.dbfile)
            HashReader.__init__(ours, opened.dbfile)
            assert attributes(ours) == attributes(theirs) == attributes(opened)
            assert len(ours.tables) == 256


def test_a_truncated_hash_directory_fails_as_damage():
    storage = RamStorage()
    with storage.create_file("t") as f:
        f.write(b"HSH3" + bytes([1]) + bytes(8) + bytes(40))
    store.read_tables_whole()
    with pytest.raises(store.DAMAGE_ERRORS):
        HashReader(storage.open_file("t"), 53)


def column_reader(values: list[bytes], cutoff: int, method, before: bytes = b""):
    """A reader of a VarBytesColumn written with `values` after `before` (what precedes the column
    in its file), its offsets read by `method`."""
    storage = RamStorage()
    column = VarBytesColumn(write_offsets_cutoff=cutoff)
    with storage.create_file("c") as f:
        f.write(before)
        writer = column.writer(f)
        for docnum, value in enumerate(values):
            writer.add(docnum, value)
        writer.finish(len(values))
        length = f.tell() - len(before)
    reader = VarBytesColumn.Reader.__new__(VarBytesColumn.Reader)
    reader._dbfile, reader._basepos, reader._length, reader._doccount = storage.open_file("c"), len(before), length, len(values)
    reader.had_stored_offsets = False
    method(reader)
    return reader


@settings(max_examples=60, deadline=None)
@given(
    values=st.lists(st.binary(max_size=300), min_size=1, max_size=60),
    cutoff=st.sampled_from([0, 5, 2**15]),
    asked=st.lists(st.integers(min_value=0), max_size=8),
)
def test_stored_fields_offsets_are_whoosh_s(values, cutoff, asked):
    """With offsets stored (more documents than the cutoff) and without, asked for one by one
    and, after SummedOffsets.SUMMED_ONE_AT_A_TIME, all at once."""
    store.read_tables_whole()
    asked = [docnum % len(values) for docnum in asked]
    readers = [
        column_reader(values, cutoff, method)
        for method in (store._read_offsets_and_lengths, store._whoosh_methods["VarBytesColumn.Reader._read_offsets_and_lengths"])
    ]
    ours, theirs = (
        ([reader._offsets[docnum] for docnum in asked], [reader[docnum] for docnum in range(len(values))])
        for reader in readers
    )
    assert ours == theirs
    starts = [0, *accumulate(len(value) for value in values[:-1])]
    assert ours == ([starts[docnum] for docnum in asked], values)


@settings(max_examples=80, deadline=None)
@given(
    lengths=st.lists(st.sampled_from([0, 1, 255, 256, 3000, 65535, 65536, 70_000]), min_size=1, max_size=40),
    before=st.binary(max_size=9),
    asked=st.lists(st.integers(min_value=0), min_size=1, max_size=3),
)
def test_stored_fields_offsets_from_either_end_are_whoosh_s(lengths, before, asked):
    """A document in the second half of a segment is placed from the column's end: lengths of
    every width Whoosh writes (bytes, shorts, ints), the column anywhere in its file."""
    store.read_tables_whole()
    values = [bytes([number % 251]) * length for number, length in enumerate(lengths)]
    asked = [docnum % len(values) for docnum in asked]
    reader = column_reader(values, 2**15, store._read_offsets_and_lengths, before)
    starts = [0, *accumulate(lengths[:-1])]
    assert [reader._offsets[docnum] for docnum in asked] == [starts[docnum] for docnum in asked]
    assert [reader[docnum] for docnum in asked] == [values[docnum] for docnum in asked]


@given(st.sampled_from("BHiIlLqQ"), st.lists(st.integers(0, 2**31 - 1), max_size=50))
def test_lengths_summed_byte_lane_by_lane_are_their_sum(typecode, numbers):
    from array import array

    numbers = [number % 2 ** (8 * array(typecode).itemsize - (typecode in "ilq")) for number in numbers]
    assert store.summed_bytewise(array(typecode, numbers)) == sum(numbers)


@given(st.binary(max_size=2000) | st.integers(0, 2000).map(lambda size: b"\xff" * size))
def test_bytes_summed_by_adler32_are_their_sum(data):
    assert store.byte_sum(data) == sum(data)


def test_a_real_segment_s_stored_fields_are_placed_from_either_end(tmp_path):
    """Each document of an index read alone by a fresh searcher, as a query reads its hits (the
    second half's from the column's end), is the one read in order (offsets summed from the
    start, then all at once)."""
    articles = {f"{number}.txt": f"Story {number}\n\nThe council met on day {number}." + " More." * number for number in range(12)}
    index_dir = build_index(tmp_path, articles)
    store.read_tables_whole()
    with store.index_searcher(index_dir) as searcher:
        in_order = [searcher.stored_fields(docnum) for docnum in range(searcher.doc_count_all())]
    assert len(in_order) > 2 * store.SummedOffsets.SUMMED_ONE_AT_A_TIME
    for docnum in range(len(in_order)):
        with store.index_searcher(index_dir) as searcher:
            assert searcher.stored_fields(docnum) == in_order[docnum]


def test_a_few_documents_stored_fields_sum_only_the_lengths_before_them(monkeypatch):
    """A query reads a few documents' stored fields in each segment, each twice: their offsets are
    summed one at a time, and all of them at once only when a reader is asked for more documents
    (a server's)."""
    import itertools

    summed_all = []
    real_accumulate = itertools.accumulate
    monkeypatch.setattr(itertools, "accumulate", lambda *args, **kwargs: summed_all.append(args) or real_accumulate(*args, **kwargs))
    values = [bytes([number]) * (number % 7) for number in range(50)]
    store.read_tables_whole()
    reader = column_reader(values, 2**15, store._read_offsets_and_lengths)
    for docnum in range(40, 40 - store.SummedOffsets.SUMMED_ONE_AT_A_TIME, -1):
        assert reader[docnum] == reader[docnum] == values[docnum]  # each asked for twice, as a query does
    assert not summed_all
    assert [reader[docnum] for docnum in range(len(values))] == values
    assert len(summed_all) == 1


def test_a_process_keeping_its_searchers_sums_every_offset_on_the_first_read(monkeypatch):
    """The server's readers: the requests it forks inherit the offsets summed."""
    import itertools

    summed_all = []
    real_accumulate = itertools.accumulate
    monkeypatch.setattr(itertools, "accumulate", lambda *args, **kwargs: summed_all.append(args) or real_accumulate(*args, **kwargs))
    monkeypatch.setattr(store, "_open_searchers", {})
    values = [bytes([number]) * (number % 7) for number in range(50)]
    store.read_tables_whole()
    reader = column_reader(values, 2**15, store._read_offsets_and_lengths)
    assert reader[40] == values[40]
    assert len(summed_all) == 1
    assert [reader[docnum] for docnum in range(len(values))] == values
    assert len(summed_all) == 1


def test_a_server_forked_into_the_background_after_keeping_its_searchers_sums_at_once(monkeypatch):
    """`archsearch serve --detach`, and a server a command starts, keep their searchers and then
    fork: the process that serves is the child."""
    import itertools

    monkeypatch.setattr(store, "_open_searchers", {})  # as server.preload does
    store.read_tables_whole()
    values = [bytes([number]) * (number % 7) for number in range(50)]
    pid = os.fork()
    if pid == 0:
        status = 1
        try:
            summed_all = []
            real_accumulate = itertools.accumulate
            itertools.accumulate = lambda *args, **kwargs: summed_all.append(args) or real_accumulate(*args, **kwargs)
            reader = column_reader(values, 2**15, store._read_offsets_and_lengths)
            status = 0 if reader[40] == values[40] and len(summed_all) == 1 else 2
        finally:
            os._exit(status)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0


def test_a_warmed_index_s_requests_sum_no_stored_fields_offsets(tmp_path, monkeypatch):
    """server.warm reads a document's stored fields in each segment: every offset is summed then,
    not again by each request for its hits."""
    import itertools

    from archsearch import server

    articles = {f"{number}.txt": f"Story {number}\n\nThe council met on day {number}." for number in range(12)}
    articles["5.txt"] += " An aardvark came."  # the word warm() searches: one article's
    index_dir = build_index(tmp_path, articles)
    monkeypatch.setattr(store, "_open_searchers", {})
    try:
        server.warm(index_dir)
        summed = []
        real_accumulate = itertools.accumulate
        monkeypatch.setattr(itertools, "accumulate", lambda *args, **kwargs: summed.append(args) or real_accumulate(*args, **kwargs))
        with store.index_searcher(index_dir) as searcher:
            leaves = [leaf for leaf, _ in searcher.reader().leaf_readers()]
            assert max(leaf.doc_count_all() for leaf in leaves) > store.SummedOffsets.SUMMED_ONE_AT_A_TIME + 1
            for leaf in leaves:
                assert all(leaf.stored_fields(docnum)["key"] for docnum in range(leaf.doc_count_all()))
        assert not summed
    finally:
        store.close_kept_searchers()


def toc_reads(monkeypatch) -> list:
    """The generations whose table of contents Whoosh reads from now on."""
    from whoosh.index import TOC

    reads = []
    real_read = TOC.read.__func__
    monkeypatch.setattr(TOC, "read", classmethod(lambda cls, *args, **kwargs: reads.append(kwargs.get("gen")) or real_read(cls, *args, **kwargs)))
    return reads


def test_a_searcher_opens_reading_the_table_of_contents_once(seeded_index, monkeypatch):
    """Whoosh read and unpickled it three times: for the index's existence, its schema, its reader."""
    reads = toc_reads(monkeypatch)
    with store.index_searcher(seeded_index) as searcher:
        assert searcher.doc_count() > 0
    assert len(reads) == 1


def test_an_index_reading_its_contents_once_reads_a_newer_generation(tmp_path, monkeypatch):
    from archsearch.indexing import update_index
    from conftest import wire

    index = build_index(tmp_path, {"1.txt": wire("2021-12-10", "KABUL, December 10. /TASS/.", "The Taliban said one thing.")})
    ix = store.open_index(index, searching_only=True)
    with ix.searcher() as searcher:
        before = searcher.doc_count(), searcher.reader().generation()
    (tmp_path / "corpus" / "2.txt").write_text(wire("2021-12-11", "KABUL, December 11. /TASS/.", "The Taliban said another."))
    update_index(index, [str(tmp_path / "corpus")])
    reads = toc_reads(monkeypatch)
    with ix.searcher() as searcher:
        after = searcher.doc_count(), searcher.reader().generation()
    assert after[0] == before[0] + 1 and after[1] > before[1]
    assert ix.schema is ix._read_toc().schema and len(reads) == 1  # the newer one read once, then kept
