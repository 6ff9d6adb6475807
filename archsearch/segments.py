"""Writing the index as Whoosh segments built side by side, each in its own process.

Everything here leans on Whoosh internals (the segment writer's steps, the table of contents),
which is safe because whoosh-reloaded is pinned exactly; tests compare the result with what
Whoosh's own writer produces.

Whoosh's writer analyses each field as it adds a document, one token object at a time through
a chain of generators, and that is most of the time indexing takes.  FastSegmentWriter does the
same analysis on plain lists: the tokenizer's regular expression over the whole text, then
lowercasing, accent folding and stemming once per distinct word.  The postings are exactly
Whoosh's; a field whose analyzer is not a tokenizer followed by those filters goes through
Whoosh's own code, so a schema change can make indexing slower but never different.

Several FastSegmentWriters (one per worker process) each write a segment without taking the
index's lock; commit_segments() then adds the finished segments, and the deletions, to the
index in one new generation, which is the only step readers can see.
"""

import heapq
import itertools
import pickle
import re
from collections.abc import Callable, Iterable
from operator import itemgetter
from typing import Any

from whoosh.analysis import CharsetFilter, CompositeAnalyzer, LowercaseFilter, RegexTokenizer, StemFilter
from whoosh.codec.base import Segment
from whoosh.formats import Positions
from whoosh.filedb.filestore import FileStorage
from whoosh.index import _DEF_INDEX_NAME as INDEX_NAME
from whoosh.index import TOC, LockError, clean_files
from whoosh.reading import SegmentReader
from whoosh.util import random_name
from whoosh.util.numeric import byte_to_length, length_to_byte
from whoosh.writing import SegmentWriter

from archsearch.errors import ArchsearchError

# Postings a writer keeps in memory before writing them out, sorted, to a temporary run.
POSTINGS_MEMORY_BYTES = 96 * 1024 * 1024
# Rough sizes of one posting and of one term in memory, to know when to write a run.
POSTING_BYTES = 110
TERM_BYTES = 200
# Terms per pickle in a run: one pickle per term would cost more than the postings themselves.
RUN_CHUNK_TERMS = 2_000
# Segments this small are merged once there are this many, so that many small runs do not
# leave queries searching hundreds of segments.  Larger segments are left alone: Whoosh merges
# at about twice the cost of indexing afresh.
SMALL_SEGMENT_DOCS = 1_000
SMALL_SEGMENTS_TO_MERGE = 8
# Distinct words whose analysis a writer remembers, per field; past this it starts afresh,
# which keeps a worker small on a corpus with millions of one-off words.
KNOWN_WORDS_LIMIT = 200_000


class FastSegmentWriter(SegmentWriter):
    """A SegmentWriter for new documents only, with fast analysis and an inverted-list pool.

    SegmentWriter puts every posting, as a tuple, in a pool that it sorts at the end (writing
    sorted runs to disk one pickle per posting), then looks up each posting's field length.
    Here postings go to a list per term, carrying the field length; only the terms are
    sorted, and runs are pickled in chunks of terms.  What is written is the same.
    """

    def __init__(self, ix, **kwargs):
        super().__init__(ix, **kwargs)
        self._word_listers = {name: compile_word_lister(field) for name, field in self.schema.items()}
        # (field name, term) -> [(docnum, weight, encoded value, field length), ...] in docnum order
        self._inverted: dict[tuple[str, bytes], list] = {}
        self._inverted_bytes = 0
        self._runs: list[str] = []

    def add_document(self, **values: Any) -> None:
        # The steps of SegmentWriter.add_document for what this schema uses (no boosts, vectors
        # or spelling fields), with the analysis done by _postings().
        self._check_state()
        docnum = self.docnum
        inverted = self._inverted
        perdocwriter = self.perdocwriter
        perdocwriter.start_doc(docnum)
        try:
            for name in sorted(name for name in values if not name.startswith("_")):
                value = values[name]
                if value is None:
                    continue
                field = self.schema[name]
                length = 0
                if field.indexed:
                    items = self._postings(name, field, value)
                    if field.scorable:
                        length = sum(item[1] for item in items)
                    # What the per-document reader gives back, which is what Whoosh writes.
                    stored_length = byte_to_length(length_to_byte(length)) if length else 0
                    for term, _, weight, encoded in items:
                        posting = (docnum, weight, encoded or b"", stored_length)
                        postings = inverted.get((name, term))
                        if postings is None:
                            inverted[name, term] = [posting]
                            self._inverted_bytes += TERM_BYTES
                        else:
                            postings.append(posting)
                    self._inverted_bytes += POSTING_BYTES * len(items)
                stored = values.get(f"_stored_{name}", value)
                perdocwriter.add_field(name, field, stored if field.stored else None, length)
                if field.column_type:
                    perdocwriter.add_column_value(name, field.column_type, field.to_column_value(stored))
        except Exception:
            perdocwriter.cancel_doc()
            raise
        perdocwriter.finish_doc()
        self._added = True
        self.docnum += 1
        if self._inverted_bytes > POSTINGS_MEMORY_BYTES:
            self._write_run()

    def _postings(self, name, field, value) -> list:
        list_words = self._word_listers[name]
        if list_words is None:
            return list(field.index(value))
        return positions_postings(field.format, list_words(value))

    def _write_run(self) -> None:
        name = f"{random_name()}.run"
        terms = sorted(self._inverted.items())
        with self._tempstorage.create_file(name).raw_file() as run:
            for start in range(0, len(terms), RUN_CHUNK_TERMS):
                pickle.dump(terms[start : start + RUN_CHUNK_TERMS], run, pickle.HIGHEST_PROTOCOL)
        self._runs.append(name)
        self._inverted = {}
        self._inverted_bytes = 0

    def _read_run(self, name: str):
        with self._tempstorage.open_file(name).raw_file() as run:
            while True:
                try:
                    yield from pickle.load(run)
                except EOFError:
                    return

    def _sorted_terms(self):
        """((field name, term), postings) in term order, a term's postings in docnum order."""
        in_memory = sorted(self._inverted.items())
        if not self._runs:
            yield from in_memory
            return
        # Runs hold ever later documents; merge() keeps equal terms in the order of its inputs.
        merged = heapq.merge(*map(self._read_run, self._runs), in_memory, key=itemgetter(0))
        for term, parts in itertools.groupby(merged, key=itemgetter(0)):
            yield term, [posting for _, postings in parts for posting in postings]

    def _flush_segment(self) -> None:
        # SegmentWriter._flush_segment and FieldWriter.add_postings, from the inverted lists.
        self.perdocwriter.close()
        fieldwriter = self.fieldwriter
        current = None
        for (name, term), postings in self._sorted_terms():
            if name != current:
                if current is not None:
                    fieldwriter.finish_field()
                fieldwriter.start_field(name, self.schema[name])
                current = name
            fieldwriter.start_term(term)
            add = fieldwriter.add
            for docnum, weight, encoded, length in postings:
                add(docnum, weight, encoded, length)
            fieldwriter.finish_term()
        if current is not None:
            fieldwriter.finish_field()
        fieldwriter.close()

    def _close_segment(self) -> None:
        super()._close_segment()
        for name in self._runs:
            self._tempstorage.delete_file(name)
        self._runs = []
        self._inverted = {}

    def finish_segment(self) -> Segment | None:
        """Write out the segment and return it, to be committed by commit_segments(); None if empty."""
        if not self._added:
            self._close_segment()
            return None
        return self._finalize_segment()

    def discard(self) -> None:
        """Give up the segment; its files are removed by the next commit."""
        self._close_segment()


def new_segment_writer(ix) -> FastSegmentWriter:
    # No lock: the process committing the segments holds it, and each writer's files have
    # their own random names.
    return FastSegmentWriter(ix, _lk=False)


def positions_postings(format_, words: list[str]) -> list:
    """(term, frequency, weight, encoded positions) per distinct word, as Positions.word_values gives."""
    positions: dict[str, list[int]] = {}
    for position, word in enumerate(words):
        if word in positions:
            positions[word].append(position)
        else:
            positions[word] = [position]
    encode = format_.encode
    boost = format_.field_boost
    return [
        (
            word.encode("utf-8"),
            len(places),
            len(places) * boost,
            _encoded_position(encode, places[0]) if len(places) == 1 else encode(places),
        )
        for word, places in positions.items()
    ]


_single_positions: dict[tuple[Callable, int], bytes] = {}


def _encoded_position(encode, position: int) -> bytes:
    # Most words occur once in an article, at one of a few thousand positions.
    key = (encode, position)
    encoded = _single_positions.get(key)
    if encoded is None:
        encoded = _single_positions[key] = encode([position])
    return encoded


def compile_word_lister(field) -> Callable[[str], list[str]] | None:
    """A function from text to the field's terms in token order, or None if there is no exact one.

    Only for fields that record positions and whose analyzer is a RegexTokenizer followed by
    any of LowercaseFilter, CharsetFilter and StemFilter (without an ignore list): each of those
    maps one token to one token, so the chain can run once per distinct word.
    """
    analyzer = getattr(field, "analyzer", None)
    if type(field.format) is not Positions or not isinstance(analyzer, CompositeAnalyzer):
        return None
    tokenizer, *filters = analyzer.items
    if type(tokenizer) is not RegexTokenizer or tokenizer.gaps:
        return None
    steps = []
    for item in filters:
        if type(item) is LowercaseFilter:
            steps.append(str.lower)
        elif type(item) is CharsetFilter:
            steps.append(lambda word, charmap=item.charmap: word.translate(charmap))
        elif type(item) is StemFilter and not item.ignore:
            steps.append(item._stem)
        else:
            return None

    def normalise(word: str) -> str:
        for step in steps:
            word = step(word)
        return word

    tokens = whole_matches(tokenizer.expression)
    known: dict[str, str] = {}

    def list_words(text: str) -> list[str]:
        words = tokens(text)
        if len(known) > KNOWN_WORDS_LIMIT:
            known.clear()
        for word in set(words).difference(known):
            known[word] = normalise(word)
        return list(map(known.__getitem__, words))

    return list_words


def whole_matches(expression) -> Callable[[str], list[str]]:
    """A function giving every match of the expression, whole, like RegexTokenizer's tokens."""
    if expression.groups == 0:
        return expression.findall
    if re.search(r"\\[1-9]|\(\?P=", expression.pattern):  # back-references: no wrapping
        return lambda text: [match.group() for match in expression.finditer(text)]
    # findall() gives the groups rather than the whole match; in one more, outer group the
    # whole match comes first.
    outer = re.compile(f"({expression.pattern})", expression.flags)
    return lambda text: [groups[0] for groups in outer.findall(text)]


def merge_small_segments(writer, segments):
    """Merge policy for commits: the small segments into one, once there are enough of them."""
    small = [segment for segment in segments if segment.doc_count_all() < SMALL_SEGMENT_DOCS]
    if len(small) < SMALL_SEGMENTS_TO_MERGE:
        return list(segments)
    for segment in small:
        reader = SegmentReader(writer.storage, writer.schema, segment)
        writer.add_reader(reader)
        reader.close()
    return [segment for segment in segments if segment not in small]


def commit_segments(ix, segments: Iterable[Segment], deleted_keys: Iterable[str]) -> int:
    """Add finished segments to the index and delete documents by key, as one new generation.

    Returns the new generation's number.
    """
    try:
        writer = ix.writer()
    except LockError:
        raise ArchsearchError(
            f"the index at {ix.storage.folder} is locked by another program writing to it"
        ) from None
    try:
        for key in deleted_keys:
            writer.delete_by_term("key", key)
        kept = merge_small_segments(writer, writer.segments)
        if writer._added:
            merged = [writer._finalize_segment()]
        else:
            merged = []
            writer._close_segment()
        writer._commit_toc(kept + merged + list(segments))
    except BaseException:
        # Releases the lock now: Whoosh keeps an index locked after a failed commit until the
        # process ends.
        writer.cancel()
        raise
    writer._finish()
    return writer.generation


def latest_generation(index_dir: str) -> int:
    """The number of the index's latest generation, -1 if there is none, without reading it."""
    return TOC._latest_generation(FileStorage(index_dir), INDEX_NAME)


def clear_index(index_dir: str, schema) -> int:
    """Make the index empty, with the given schema, in one new generation; returns its number.

    The current generation is not read, so this works on a damaged index too.
    """
    storage = FileStorage(index_dir)
    generation = latest_generation(index_dir) + 1
    TOC(schema, [], generation).write(storage, INDEX_NAME)
    clean_files(storage, INDEX_NAME, generation, [])
    return generation
