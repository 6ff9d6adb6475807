"""Long stored bodies kept in a column of their own (engines/whoosh/long_bodies.py): what users see
is what the same articles show with their bodies in the stored fields, through merges,
compactions and deletions, and in an index written before the column."""

import json
import os
import shutil
import zlib
from array import array

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from whoosh.columns import VarBytesColumn

from archsearch import passages as passages_module
from archsearch import searching
from archsearch.concordance import concordance
from archsearch.engines.whoosh import fuzzy, long_bodies, prefix_postings, segments
from archsearch.engines.whoosh.store import index_searcher, open_index, unmapped_storage
from archsearch.indexing import update_index
from archsearch.records import replace
from archsearch.schema import LONG_BODY_FIELD, FilledBytesColumn, build_schema
from archsearch.searching import find_article, search

CHARACTERS = st.sampled_from([*"ab \n\t.", "refugees ", "\u00e9", "\U0001f600", "\ud800", "\u3000", "\n\n"])


@settings(max_examples=300, deadline=None)
@given(st.lists(CHARACTERS, min_size=1, max_size=60).map("".join), st.integers(1, 12), st.integers(1, 40))
def test_a_body_reads_back_whole_and_by_openings(body, piece_chars, first_chars):
    """(A body kept apart is never empty: one of no pieces is damage.)"""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(long_bodies, "PIECE_CHARS", piece_chars)
        value = long_bodies.encode(body)
        assert long_bodies.decode(value) == body
        found = list(long_bodies.openings(long_bodies.Value(lambda at, size: value[at : at + size], len(value)), first_chars))
    *openings, last = found
    assert last == (body, True)
    # one opening at most before the whole: passages search each from its start (a word far into a
    # 10 MB page cost 1.5-1.7x with openings growing fourfold)
    assert len(openings) <= 1
    lengths = [len(text) for text, _ in openings]
    assert lengths == sorted(set(lengths)) and all(length >= first_chars for length in lengths)
    for text, whole in openings:
        assert not whole and body.startswith(text) and body[len(text) :].strip()


WORDY = st.sampled_from([*"ab \n.", "refugees ", "U.S. ", "e\u0301", "\u0301", "北京", "\u3000", "\ud800", "\n\n", "x" * 9])


@settings(max_examples=300, deadline=None)
@given(st.lists(WORDY, min_size=1, max_size=60).map("".join), st.integers(1, 12), st.integers(0, 3))
def test_a_body_read_back_with_its_words_counted_gives_the_same_concordance(body, stretch_chars, width):
    """The count of words kept with a body (proximity.CountedText) gives the word numbers and
    contexts that counting the body as it is read gives."""
    from archsearch import proximity
    from archsearch.analysis import word_spans
    from archsearch.concordance import contexts

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(proximity, "_STRETCH_CHARS", stretch_chars)
        patch.setattr(long_bodies, "PIECE_CHARS", 7)
        counted = long_bodies.decode(long_bodies.encode(body))
    assert isinstance(counted, proximity.CountedText) and counted == body
    assert counted.utf8 == body.encode("utf-8", "surrogatepass")  # passages search long texts in it
    spans = [(start, end) for start, end, _ in word_spans(body)]
    assert contexts(counted, spans, width) == contexts(body, spans, width)
    places, recounted = proximity.WordPlaces(counted), proximity.WordPlaces(body)
    assert places.count() == recounted.count()
    assert [places.span(number) for number in range(places.count())] == [recounted.span(n) for n in range(recounted.count())]
    for position in range(len(body) + 1):
        assert places.first_ending_after(position) == recounted.first_ending_after(position)
        assert places.first_starting_from(position) == recounted.first_starting_from(position)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.integers(0, 40), st.sampled_from([b"", b"x", b"y" * 300, b"z" * 70_000]), max_size=6),
       st.integers(0, 20), st.sampled_from([0, 2, 2**15]))
def test_the_column_reads_back_every_document_however_many_lack_a_value(values, more, offsets_cutoff):
    """Whoosh's VarBytesColumn reads all of a segment's values wrong when filling the documents
    without a value at its end makes its offsets wider (read [70025, 0, 70025, 0, 0] for
    {1: 70,000 bytes} of 5 documents, offsets written)."""
    from io import BytesIO

    from whoosh.filedb.structfile import BufferFile, StructFile

    column = FilledBytesColumn(write_offsets_cutoff=offsets_cutoff)
    doccount = max(values, default=-1) + 1 + more
    written = BytesIO()
    writer = column.writer(StructFile(written))
    for docnum in sorted(values):
        writer.add(docnum, values[docnum])
    writer.finish(doccount)
    data = written.getvalue()
    reader = column.reader(BufferFile(memoryview(data)), 0, len(data), doccount)
    assert [reader[docnum] for docnum in range(doccount)] == [values.get(docnum, b"") for docnum in range(doccount)]


def test_a_value_cut_short_in_its_pieces_is_damage():
    value = long_bodies.encode("word " * 100_000)
    with pytest.raises(EOFError):
        long_bodies.decode(value[: words_table_start(value) - 1])


def html_page(title: str, paragraphs: list[str]) -> str:
    body = "\n".join(f"<p>{paragraph}</p>" for paragraph in paragraphs)
    return (f"<html><head><title>{title}</title><meta name='date' content='2017-02-15'></head>"
            f"<body><article><h1>{title}</h1>\n{body}\n</article></body></html>")


def filler(number: int, count: int) -> list[str]:
    return [f"Paragraph {n} of page {number}: the farmers of the valley brought the harvest in early, "
            f"and the markets were full of apples." for n in range(count)]


def pages() -> dict[str, str]:
    """HTML pages, some long enough to be kept apart under the limits of `small_limits`, with the
    queries' words early, deep, at the end, and nowhere; and a plain-text article."""
    found = {}
    for number, (depth, count) in enumerate([(0, 40), (30, 60), (59, 60), (None, 60), (3, 8), (200, 240)]):
        paragraphs = filler(number, count)
        if depth is not None:
            paragraphs[depth] += (" The president said the Syria ceasefire talks went on; refugees and migrants waited."
                                  " Presidential elections follow.")
        found[f"pages/page{number}.html"] = html_page(f"Page {number} on the president", paragraphs)
    found["notes/plain.txt"] = " date 2017-02-15 OSLO, February 15. /NTB/. The president said refugees waited.\n\nMore."
    return found


QUERIES = ["president", "refugees OR migrants", '"ceasefire talks"', "president NEAR/5 refugees",
           "SENTENCE(president said)", "presid*", "lead:president", "apples", "page3"]


@pytest.fixture
def small_limits(monkeypatch):
    """Bodies of over 3,000 characters are kept apart, in pieces of 700, and passages look through
    stretches of 400: the pages above are read by openings, as a 12 MB page is."""
    monkeypatch.setattr(long_bodies, "LONG_BODY_CHARS", 3_000)
    monkeypatch.setattr(long_bodies, "PIECE_CHARS", 700)
    monkeypatch.setattr(searching, "PASSAGE_SEARCH_CHARS", 400)
    monkeypatch.setattr(passages_module, "PASSAGE_SEARCH_CHARS", 400)


def write_pages(folder, articles) -> None:
    for name, text in articles.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def create_old_index(index_dir) -> None:
    """An empty index as written before the column of long bodies: its schema has no such field."""
    schema = build_schema()
    schema.remove(LONG_BODY_FIELD)
    index_dir.mkdir()
    unmapped_storage(index_dir).create_index(schema)


def answers(index_dir, scored: bool = True) -> list:
    """What searches, concordances and `show` give; `scored`: with the hits' scores and ranks (a
    merge of a segment with deletions keeps their field lengths only rounded, which moves scores a
    little, and may reorder equal ones)."""
    found = []
    for query in QUERIES:
        result = search(index_dir, query, limit=20)
        hits = result.hits if scored else sorted(
            (replace(hit, score=None, rank=0) for hit in result.hits), key=lambda hit: hit.id
        )
        found.append(replace(result, elapsed=0, hits=hits))
        found.append(sorted(concordance(index_dir, query).occurrences, key=lambda each: each.id if not scored else 0))
        for hit in hits:
            found.append(find_article(index_dir, hit.id))
    return found


def cli_answers(run_cli, index_dir) -> list[str]:
    outputs = []
    for command in [["query", "president", "--json"], ["query", "refugees OR migrants"], ["kwic", "refugees"],
                    ["show", "pages/page0.html"], ["show", "pages/page5.html"], ["query", "presid*", "--json"]]:
        result = run_cli(*command, "--index", str(index_dir))
        assert result.exit_code == 0, result.output
        outputs.append(result.output if "--json" not in command else
                       [{k: v for k, v in json.loads(line).items() if k != "elapsed_ms"} for line in result.output.splitlines()])
    return outputs


def bodies_kept_apart(index_dir) -> list[str]:
    """The ids of the articles whose bodies the index keeps in the column."""
    with index_searcher(index_dir) as searcher:
        return sorted(stored["path"] for stored in searcher.all_stored_fields() if long_bodies.kept_apart(stored))


def column_values(index_dir) -> list[bytes]:
    """Every value of the column of long bodies in the index's segments, deleted documents' too."""
    ix = open_index(index_dir)
    values = []
    with ix.reader() as reader:
        for leaf, _ in reader.leaf_readers():
            if leaf.has_column(LONG_BODY_FIELD):
                values += [value for value in leaf.column_reader(LONG_BODY_FIELD, VarBytesColumn(), translate=False) if value]
    return values


def test_long_bodies_kept_apart_answer_as_bodies_in_the_stored_fields(tmp_path, small_limits, run_cli):
    corpus = tmp_path / "corpus"
    write_pages(corpus, pages())
    apart, stored = tmp_path / "apart", tmp_path / "stored"
    create_old_index(stored)
    update_index(apart, [str(corpus)])
    update_index(stored, [str(corpus)])

    assert bodies_kept_apart(apart) == [f"pages/page{n}.html" for n in (0, 1, 2, 3, 5)]
    assert bodies_kept_apart(stored) == []
    assert answers(apart) == answers(stored)
    assert cli_answers(run_cli, apart) == cli_answers(run_cli, stored)


def test_a_long_hit_is_read_by_openings(tmp_path, small_limits, monkeypatch):
    corpus = tmp_path / "corpus"
    write_pages(corpus, pages())
    update_index(tmp_path / "index", [str(corpus)])
    read = []
    original = long_bodies.Value.text
    monkeypatch.setattr(long_bodies.Value, "text", lambda self, pieces=None: read.append(pieces) or original(self, pieces))

    hits = search(tmp_path / "index", '"ceasefire talks"', limit=20).hits

    assert {hit.id for hit in hits} >= {"pages/page0.html", "pages/page5.html"}
    # page 0 and page 5 have their match in their first stretch: the first opening tells
    assert None not in read[:2] and read.count(None) <= len(hits) - 2


@pytest.mark.parametrize("query", ["pr*", "ta* OR pr*"])
def test_a_prefix_query_reads_a_long_hit_by_openings(tmp_path, small_limits, monkeypatch, query):
    """A listed prefix's words are found in the opening that the passages come from, not in the
    whole body read again (a 12 MB page: its whole body decompressed and searched per query)."""
    # The prefixes are listed, their words found in the hits' text (evaluation._PrefixWords).
    monkeypatch.setattr(prefix_postings, "WORDS_LISTED", 1)
    monkeypatch.setattr(fuzzy, "SCORED_EXPANSIONS", 1)
    corpus = tmp_path / "corpus"
    write_pages(corpus, pages())
    update_index(tmp_path / "index", [str(corpus)])
    create_old_index(tmp_path / "stored")  # its bodies whole in the stored fields
    update_index(tmp_path / "stored", [str(corpus)])
    expected = search(tmp_path / "stored", query, limit=20)
    read = []
    original = long_bodies.Value.text
    monkeypatch.setattr(long_bodies.Value, "text", lambda self, pieces=None: read.append(pieces) or original(self, pieces))

    found = search(tmp_path / "index", query, limit=20)

    assert found.hits == expected.hits
    # Of the pages kept apart, page 0 has its match in its first stretch: its first opening tells.
    # Pages 1, 2, 3 and 5 have theirs further on, or none: their passages read them whole, once.
    assert {hit.id for hit in found.hits} >= {f"pages/page{n}.html" for n in (0, 1, 2, 3, 5)}
    assert read.count(None) == 4


def test_a_body_past_what_a_segment_can_hold_skips_its_file_and_names_it(tmp_path, small_limits, monkeypatch, capfd):
    """Whoosh's column keeps its offsets as uint32: past 4 GiB of long bodies in a segment it
    raised OverflowError, after writing the value (patched here to a limit that any page passes).
    A body that no segment can hold is left out, its file recorded as skipped."""
    from archsearch.cli import run

    monkeypatch.setattr(long_bodies, "SEGMENT_BYTES", 100)
    corpus = tmp_path / "corpus"
    write_pages(corpus, pages())
    index_dir = tmp_path / "index"
    capfd.readouterr()

    status = run(["index", str(corpus), "--index", str(index_dir)])

    stderr = capfd.readouterr().err
    assert status == 0 and "Traceback" not in stderr and "internal error" not in stderr, stderr
    for page in [f"pages/page{n}.html" for n in (0, 1, 2, 3, 5)]:
        (line,) = [line for line in stderr.splitlines() if page in line]
        assert "larger than an index segment can hold" in line, line
    assert {hit.id for hit in search(index_dir, "president", limit=20).hits} == {"pages/page4.html", "notes/plain.txt"}


def long_articles(count: int) -> list[dict]:
    """JSON Lines records whose bodies are kept apart under `small_limits`, each with a word of its own."""
    return [{"title": f"Harvest report {number}", "date": "2017-02-15",
             "text": " ".join(filler(number, 40)) + f" The word of this report is marker{number}."}
            for number in range(count)]


def test_a_container_file_goes_on_in_a_new_segment_when_one_is_full(tmp_path, small_limits, monkeypatch):
    """A JSON Lines file's later long bodies that did not fit in the segment being written were
    left out with a warning, the file recorded as indexed: they were never indexed."""
    records = long_articles(7)
    value_bytes = len(long_bodies.encode(records[0]["text"]))
    monkeypatch.setattr(long_bodies, "SEGMENT_BYTES", 2 * value_bytes + value_bytes // 2)  # two a segment
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "feed.jsonl").write_text("".join(json.dumps(record) + "\n" for record in records), encoding="utf-8")
    (corpus / "note.txt").write_text(" date 2017-02-15 OSLO, February 15. /NTB/. A short note.", encoding="utf-8")
    index_dir = tmp_path / "index"

    report = update_index(index_dir, [str(corpus)])

    assert report.warnings == [] and report.added == 2
    for number in range(7):
        (hit,) = search(index_dir, f"marker{number}").hits
        assert hit.id == f"feed.jsonl#{number + 1}"
    with open_index(index_dir).reader() as reader:
        for leaf, _ in reader.leaf_readers():
            assert sum(map(len, leaf.column_reader(LONG_BODY_FIELD, VarBytesColumn(), translate=False))) <= long_bodies.SEGMENT_BYTES
    assert len(open_index(index_dir)._segments()) >= 4
    monkeypatch.setattr(long_bodies, "SEGMENT_BYTES", (1 << 32) - 1)
    fresh = tmp_path / "fresh"
    update_index(fresh, [str(corpus)])
    assert answers(index_dir, scored=False) == answers(fresh, scored=False)


def test_merges_compaction_and_deletions_carry_the_bodies_and_drop_the_deleted(tmp_path, small_limits, monkeypatch):
    monkeypatch.setattr(segments, "MERGE_FACTOR", 2)  # tier merges at each second small segment
    corpus = tmp_path / "corpus"
    articles = pages()
    write_pages(corpus, articles)
    index_dir = tmp_path / "index"
    update_index(index_dir, [str(corpus)], commit_every=2)
    fresh = tmp_path / "fresh"
    update_index(fresh, [str(corpus)])
    assert answers(index_dir) == answers(fresh)

    os.remove(corpus / "pages/page1.html")
    (corpus / "pages/page2.html").write_text(articles["pages/page2.html"].replace("harvest", "wheat"), encoding="utf-8")
    update_index(index_dir, [str(corpus)], commit_every=2)
    update_index(index_dir, [], compact=True)

    shutil.rmtree(fresh)
    update_index(fresh, [str(corpus)])
    assert answers(index_dir, scored=False) == answers(fresh, scored=False)
    assert sorted(column_values(index_dir)) == sorted(column_values(fresh))
    assert len(column_values(index_dir)) == 4  # pages 0, 2 (changed), 3 and 5


def test_an_index_written_before_the_column_answers_and_takes_it_at_its_next_commit(tmp_path, small_limits, run_cli):
    corpus = tmp_path / "corpus"
    articles = pages()
    write_pages(corpus, {name: text for name, text in articles.items() if name != "pages/page5.html"})
    old = tmp_path / "old"
    create_old_index(old)
    update_index(old, [str(corpus)])
    assert LONG_BODY_FIELD in open_index(old).schema  # its first commit added the column
    assert bodies_kept_apart(old) == []  # the run that added it wrote its bodies as before

    write_pages(corpus, {"pages/page5.html": articles["pages/page5.html"]})
    update_index(old, [str(corpus)])

    assert bodies_kept_apart(old) == ["pages/page5.html"]
    fresh = tmp_path / "fresh"
    update_index(fresh, [str(corpus)])
    assert answers(old) == answers(fresh)
    assert cli_answers(run_cli, old) == cli_answers(run_cli, fresh)


def test_a_page_of_over_a_million_characters_is_kept_apart(tmp_path):
    corpus = tmp_path / "corpus"
    paragraphs = filler(0, 9_000)
    paragraphs[4_000] += " The president said the Syria ceasefire talks went on."
    write_pages(corpus, {"huge.html": html_page("A long page", paragraphs)})
    update_index(tmp_path / "index", [str(corpus)])

    assert bodies_kept_apart(tmp_path / "index") == ["huge.html"]
    (hit,) = search(tmp_path / "index", "ceasefire").hits
    assert [hit.snippets[0].text[a:b] for a, b in hit.snippets[0].matches] == ["ceasefire"]
    body = find_article(tmp_path / "index", "huge.html").body
    assert len(body) > long_bodies.LONG_BODY_CHARS and body.count("ceasefire") == 1


@pytest.mark.parametrize("where", ["table", "piece", "no pieces"])
def test_a_damaged_long_body_is_named_as_damage(tmp_path, small_limits, where, capfd, monkeypatch):
    from archsearch.cli import run

    corpus = tmp_path / "corpus"
    articles = pages()
    write_pages(corpus, articles)
    index_dir = tmp_path / "index"
    update_index(index_dir, [str(corpus)])
    (value,) = [value for value in column_values(index_dir) if "page 5:" in long_bodies.decode(value)]
    (segment,) = [path for path in index_dir.iterdir() if path.suffix == ".seg" and value in path.read_bytes()]
    data = bytearray(segment.read_bytes())
    pieces = long_bodies.Value(lambda at, size: value[at : at + size], len(value)).pieces
    first_piece = 8 + 8 * len(pieces)
    at = data.index(value) + {"piece": first_piece + pieces[0][0] // 2}.get(where, 0)
    # A count of pieces past the column's end, garbage inside a piece, or a count of 0 (which read
    # as an empty body, without a word of damage)
    data[at : at + 4 if where == "no pieces" else at + 8] = b"\0" * 4 if where == "no pieces" else b"\xff" * 8
    segment.write_bytes(bytes(data))
    monkeypatch.setenv("ARCHSEARCH_INDEX", str(index_dir))
    capfd.readouterr()

    for command in [["show", "pages/page5.html"], ["kwic", "ceasefire"], ["query", "ceasefire", "-n", "20"]]:
        status = run(command)
        stderr = capfd.readouterr().err
        assert status == 2 and "Traceback" not in stderr and "internal error" not in stderr, (command, stderr)
        assert "is damaged" in stderr and "'archsearch index --rebuild'" in stderr, stderr


def words_table_start(value: bytes) -> int:
    """Where a value's count of words (after its pieces) starts."""
    pieces = long_bodies.Value(lambda at, size: value[at : at + size], len(value)).pieces
    return 8 + 8 * len(pieces) + sum(length for length, _ in pieces)


@pytest.mark.parametrize("damage", ["cut", "missing", "garbage", "out of order"])
def test_a_damaged_count_of_words_reads_as_no_count(damage):
    """The count of words kept after a long body's pieces is only kwic's shortcut: cut short,
    missing or overwritten, the body reads whole and its words are counted as it is read (it raised
    EOFError on every read of the body, `similar` and `show` too)."""
    from archsearch.proximity import CountedText, WordPlaces

    body = "refugees waited at the border. " * 40_000
    value = long_bodies.encode(body)
    start = words_table_start(value)
    if damage == "out of order":
        ends, words_before = WordPlaces(body).counted()
        table = zlib.compress(array("I", [*ends, *words_before[::-1]]).tobytes())
        damaged = value[:start] + table
    else:
        damaged = {"cut": value[: len(value) - 5], "missing": value[:start],
                   "garbage": value[:start] + bytes(len(value) - start)}[damage]

    read = long_bodies.decode(damaged)

    assert read == body
    assert not isinstance(read, CountedText) or read.stretches is None
    places = WordPlaces(read)
    assert places.count() == WordPlaces(body).count() == 200_000
    assert places.span(199_999) == (len(body) - 8, len(body) - 2)


def test_similar_show_query_and_kwic_read_a_body_whose_count_of_words_is_damaged(tmp_path, small_limits, capfd, monkeypatch):
    from archsearch.cli import run

    corpus = tmp_path / "corpus"
    write_pages(corpus, pages())
    index_dir = tmp_path / "index"
    update_index(index_dir, [str(corpus)])
    intact = tmp_path / "intact"
    shutil.copytree(index_dir, intact)
    (value,) = [value for value in column_values(index_dir) if "page 5:" in long_bodies.decode(value)]
    (segment,) = [path for path in index_dir.iterdir() if path.suffix == ".seg" and value in path.read_bytes()]
    data = bytearray(segment.read_bytes())
    at = data.index(value) + len(value) - 8
    data[at : at + 8] = b"\xff" * 8
    segment.write_bytes(bytes(data))
    capfd.readouterr()

    commands = [["similar", "pages/page5.html"], ["show", "pages/page5.html"], ["kwic", "ceasefire"],
                ["kwic", "apples", "-n", "20"], ["query", "ceasefire", "-n", "20"], ["query", "apples", "-n", "20"]]
    for command in commands:
        outputs = []
        for index in (index_dir, intact):
            status = run([*command, "--index", str(index)])
            captured = capfd.readouterr()
            assert status == 0 and captured.err == "", (command, captured.err)
            outputs.append(captured.out.replace(str(index), "INDEX"))
        assert outputs[0] == outputs[1], command


@pytest.fixture
def column_limit(monkeypatch):
    """Whoosh's columns of long bodies and of stored fields raising OverflowError as they do past
    4 GiB (their offsets are uint32), past long_bodies.SEGMENT_BYTES instead, as tests set it."""
    add = VarBytesColumn.Writer.add

    def add_within_limit(self, docnum, value):
        add(self, docnum, value)
        if self._offset_base > long_bodies.SEGMENT_BYTES:
            raise OverflowError(f"{self._offset_base} is too big to fit in an array")

    monkeypatch.setattr(VarBytesColumn.Writer, "add", add_within_limit)


def segments_column_bytes(index_dir, name=LONG_BODY_FIELD) -> list[int]:
    """The bytes in a column (long bodies, or `_stored`: the stored fields) of each segment, deleted
    documents' too."""
    with open_index(index_dir).reader() as reader:
        return [sum(leaf._perdoc.column_reader(name, VarBytesColumn())._lengths) for leaf, _ in reader.leaf_readers()]


def test_tier_merges_and_compaction_put_no_more_long_bodies_in_a_segment_than_it_holds(
        tmp_path, small_limits, column_limit, monkeypatch, run_cli):
    """A tier merge or --compact of segments whose long bodies sum past what one segment holds
    raised OverflowError ('internal error'), at every run after it too."""
    monkeypatch.setattr(segments, "MERGE_FACTOR", 2)  # tier merges at each second small segment
    corpus = tmp_path / "corpus"
    write_pages(corpus, {f"pages/report{n}.html": html_page(f"Harvest report {n}", [*filler(n, 40), f"The word is marker{n}."])
                         for n in range(8)})
    write_pages(corpus, {"notes/plain.txt": " date 2017-02-15 OSLO, February 15. /NTB/. The harvest was early."})
    fresh = tmp_path / "fresh"
    update_index(fresh, [str(corpus)])
    sizes = column_values(fresh)
    assert len(sizes) == 8 and 3 * min(map(len, sizes)) > 2.5 * max(map(len, sizes))
    monkeypatch.setattr(long_bodies, "SEGMENT_BYTES", 2 * max(map(len, sizes)) + max(map(len, sizes)) // 2)  # two a segment
    index_dir = tmp_path / "index"

    result = run_cli("index", str(corpus), "--commit-every", "1", "--index", str(index_dir))

    assert result.exit_code == 0 and "internal error" not in result.output, result.output
    assert all(size <= long_bodies.SEGMENT_BYTES for size in segments_column_bytes(index_dir))
    assert [hit.id for n in range(8) for hit in search(index_dir, f"marker{n}").hits] == [f"pages/report{n}.html" for n in range(8)]
    assert answers(index_dir, scored=False) == answers(fresh, scored=False)

    # Two deleted: six live long bodies, in the three segments that hold them.
    for n in (1, 4):
        os.remove(corpus / f"pages/report{n}.html")
    update_index(index_dir, [str(corpus)], commit_every=1)
    result = run_cli("index", "--compact", "--index", str(index_dir))

    assert result.exit_code == 0, result.output
    assert "-> 3 (the fewest that hold its long bodies and stored fields:" in result.output, result.output
    live = [len(value) for value in column_values(fresh) if not {"marker1.", "marker4."} & set(long_bodies.decode(value).split())]
    assert len(live) == 6 and len(segments_column_bytes(index_dir)) == 3
    assert sum(segments_column_bytes(index_dir)) == sum(live)
    assert "nothing to do (3 segments) (the fewest" in run_cli("index", "--compact", "--index", str(index_dir)).output
    shutil.rmtree(fresh)
    monkeypatch.setattr(long_bodies, "SEGMENT_BYTES", (1 << 32) - 1)
    update_index(fresh, [str(corpus)])
    assert answers(index_dir, scored=False) == answers(fresh, scored=False)


def test_stored_fields_past_what_a_segment_holds_go_on_in_a_new_one_and_merge_within_it(
        tmp_path, column_limit, monkeypatch, run_cli):
    """Whoosh keeps the stored fields (compressed pickles) in a column placed by uint32 offsets too:
    4 GiB of them, about 2.5 million articles of a reader that stores bodies, in one JSON Lines
    export or one compacted index, raised OverflowError."""
    monkeypatch.setattr(segments, "MERGE_FACTOR", 2)
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    records = [{"title": f"Market day {n}", "date": "2017-02-15",
                "text": f"The farmers brought the harvest in early, and the markets were full of apples {n}. "
                        f"The word of this report is marker{n}."} for n in range(40)]
    (corpus / "feed.jsonl").write_text("".join(json.dumps(record) + "\n" for record in records), encoding="utf-8")
    fresh = tmp_path / "fresh"
    update_index(fresh, [str(corpus)])
    (stored_bytes,) = segments_column_bytes(fresh, "_stored")
    monkeypatch.setattr(long_bodies, "SEGMENT_BYTES", stored_bytes // 3)
    index_dir = tmp_path / "index"

    result = run_cli("index", str(corpus), "--index", str(index_dir))

    assert result.exit_code == 0 and "internal error" not in result.output, result.output
    assert len(segments_column_bytes(index_dir, "_stored")) > 3
    assert all(size <= long_bodies.SEGMENT_BYTES for size in segments_column_bytes(index_dir, "_stored"))
    for n in range(40):
        assert [hit.id for hit in search(index_dir, f"marker{n}").hits] == [f"feed.jsonl#{n + 1}"]
    result = run_cli("index", "--compact", "--index", str(index_dir))
    assert result.exit_code == 0 and "(the fewest that hold" in result.output, result.output
    sizes = segments_column_bytes(index_dir, "_stored")
    assert len(sizes) in (3, 4) and all(size <= long_bodies.SEGMENT_BYTES for size in sizes)
    assert all(first + second > long_bodies.SEGMENT_BYTES for first, second in zip(sizes, sizes[1:]))
    assert [hit.id for n in range(40) for hit in search(index_dir, f"marker{n}").hits] == [f"feed.jsonl#{n + 1}" for n in range(40)]
