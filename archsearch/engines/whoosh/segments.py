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

import contextlib
import functools
import heapq
import itertools
import os
import pickle
import re
import shutil
import struct
import zlib
from array import array
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from io import BytesIO
from operator import add, itemgetter, methodcaller, sub
from typing import Any

from isal import isal_zlib
from whoosh.codec.base import Segment
from whoosh.codec.whoosh3 import LENGTHS_COLUMN, WHOOSH3_HEADER_MAGIC, W3Codec, W3PerDocReader, W3TermInfo, _lenfield
from whoosh.columns import ColumnWriter, VarBytesColumn
from whoosh.analysis import IDTokenizer, RegexTokenizer
from whoosh.fields import FieldType
from whoosh.formats import Existence, Frequency, Positions
from whoosh.filedb.filestore import FileStorage
from whoosh.filedb.filetables import _lengths as _ENTRY_LENGTHS
from whoosh.filedb.filetables import md5_hash
from whoosh.index import _DEF_INDEX_NAME as INDEX_NAME
from whoosh.index import TOC, LockError, clean_files
from whoosh.reading import SegmentReader
from whoosh.util import random_name
from whoosh.system import pack_int, pack_uint, pack_ushort
from whoosh.util.numeric import byte_to_length, length_to_byte
from whoosh.writing import SegmentWriter

from archsearch.analysis import ChainAnalyzer
from archsearch.analysis.chain import text_words
from archsearch.errors import ArchsearchError
from archsearch.engines.whoosh import long_bodies
from archsearch.engines.whoosh.fuzzy import WordLists
from archsearch.engines.whoosh.postings_arrays import TEMPORARY as SIDECAR_TEMPORARY
from archsearch.engines.whoosh import postings_arrays
from archsearch.engines.whoosh.postings_arrays import SidecarWriter, encode_positions, file_only_fields, missing_parts
from archsearch.schema import LONG_BODY_FIELD, build_schema, exact_text, word_analyzer
from archsearch.engines.whoosh.store import ROOTS_TEMPORARY

# Postings a writer keeps in memory before writing them out, sorted, to a temporary run.
POSTINGS_MEMORY_BYTES = 96 * 1024 * 1024
# Rough sizes of one posting (four slots of a term's flat list, and a weight that is not shared)
# and of one term in memory, to know when to write a run.
POSTING_BYTES = 60
TERM_BYTES = 200
# A posting's values in a term's list: docnum, weight, encoded value (positions), field length.
POSTING_SLOTS = 4
# What a token of a field with a word lister takes in memory until its postings are made
# (FieldTokens: its word's id), and a document of such a field (its number, length and end).
TOKEN_BYTES = 4
DOCUMENT_BYTES = 24
# A field's tokens are inverted a slice of its terms at a time, about this many tokens: the arrays
# that sort them take about 40 bytes a token, and the postings made from them 60 bytes each.
SORTED_TOKENS = 200_000
# Terms per pickle in a run: one pickle per term would cost more than the postings themselves.
RUN_CHUNK_TERMS = 2_000
BLOCK_PICKLE_PROTOCOL = 5
# Blocks of postings up to this size are not compressed (see write_term).
SMALL_BLOCK_POSTINGS = 4
# Blocks of postings and stored fields are compressed by ISA-L's deflate (python-isal) at this level:
# zlib's format, which readers decompress with zlib as Whoosh does, at half zlib's CPU (3,000
# articles' 31,000 blocks: 9 against 19 us each at Whoosh's level 3, 7% larger; stored fields 13
# against 28 us, as small). Deflating was a sixth of writing a segment.
DEFLATE_LEVEL = 1
# Terms whose postings and term-index entries are written at once (see write_terms), or fewer
# whose postings take this many bytes.
TERMS_PER_WRITE = 1_000
WRITE_BYTES = 1024 * 1024
# The merge policy (merge_by_tiers): segments with fewer live documents than this are merged
# in tiers; larger ones (a worker writes up to 10,000 documents in a batch, indexing.py's
# FILES_PER_SEGMENT) are left alone, since Whoosh merges at about twice the cost of indexing
# afresh.  A segment of those whose documents are mostly deleted falls below it and is merged.
MERGED_SEGMENT_DOCS = 5_000
# Tier k holds the segments of SMALLEST_TIER_DOCS * MERGE_FACTOR**(k-1) to that times MERGE_FACTOR
# live documents (tier 0, fewer than SMALLEST_TIER_DOCS); a tier's segments are merged into one as
# soon as it holds MERGE_FACTOR of them.  So each tier holds fewer than MERGE_FACTOR segments,
# and small updates, however many, add at most (MERGE_FACTOR - 1) * 3 segments to the large ones.
SMALLEST_TIER_DOCS = 500
MERGE_FACTOR = 4
# The most segments a merge reads at once: each holds a file open (its compound file) from when
# its postings are read until the merged segment is written.  More are merged in passes, each a
# commit of its own (compact_segments, merge_overdue), so that no number of segments runs out of
# file handles (1,024 a process by default).
MERGE_BOUND = 100
# Distinct words whose analysis a term lister (compile_term_lister) remembers; past this it starts
# afresh, which keeps a process small on a corpus with millions of one-off words.  The writer's
# own table of words (Vocabulary) lasts one segment or run, and counts in its budget.
KNOWN_WORDS_LIMIT = 200_000
# A field that indexes others' text joined by schema.exact_text, and those fields: exact_text(title,
# body)'s words are the title's then the body's (a line break joins no words, and NFC composes
# nothing across it), so they are found once in a document that has all three.
JOINED_FIELDS = {"exact": ("title", "body")}
# A field whose text mostly starts with another's, and that field: the body with its lead (its first
# paragraph).  Where it does, up to whitespace (which no word holds, and NFC composes nothing across),
# the body's words are the lead's then those of the rest, so the lead's are found once.
LEADING_FIELDS = {"body": "lead"}
# Values of a field without a word lister whose postings a writer remembers (most recur); a field of
# values that do not (a file's key) starts afresh past this: 4,096 took 5 MiB more of a worker.
KNOWN_VALUES_LIMIT = 1_024
# The fields whose postings a segment written with a postings file keeps there only, without Whoosh's
# blocks (postings_arrays.FILE_ONLY_ATTRIBUTE): those whose every term the file holds.
FILE_ONLY_FIELDS = postings_arrays.EVERY_TERM_FIELDS


def _never() -> bool:
    return False


class FastSegmentWriter(SegmentWriter):
    """A SegmentWriter for new documents only, with fast analysis and an inverted-list pool.

    SegmentWriter puts every posting, as a tuple, in a pool that it sorts at the end (writing
    sorted runs to disk one pickle per posting), then looks up each posting's field length.
    Here a field with positions keeps its words as numbers (FieldTokens), inverted with numpy into
    a flat list per term (POSTING_SLOTS values each, no tuple, carrying the field length) when
    written; other fields' postings go to such lists as documents come; runs are pickled in
    chunks of terms.  A merged segment's postings are read term by term as the segment is written
    (MergedSegment).  What is written is the same.
    """

    def __init__(self, ix, **kwargs):
        super().__init__(ix, **kwargs)
        self._word_listers = {name: compile_word_lister(field) for name, field in self.schema.items()}
        # field name -> the fields whose words it holds, joined as exact_text joins them, where all
        # find words alike: their words are found once (JOINED_FIELDS)
        self._joined_fields = {
            name: parts for name, parts in JOINED_FIELDS.items()
            if all(self._word_listers.get(each) and self._word_listers[each][0] is text_words for each in (name, *parts))
        }
        # field name -> the field its text mostly starts with, where both find words alike (LEADING_FIELDS)
        self._leading_fields = {
            name: lead for name, lead in LEADING_FIELDS.items()
            if all(self._word_listers.get(each) and self._word_listers[each][0] is text_words for each in (name, lead))
        }
        self._text_indexers = {name: compile_text_indexer(field) for name, field in self.schema.items()}
        # field name -> the field, its word lister, the name of its value to store, its lengths column
        self._field_steps = {
            name: (field, self._word_listers[name], f"_stored_{name}", _lenfield(name))
            for name, field in self.schema.items()
        }
        # the keys of documents' values (see _field_order) -> the names of the fields in them, in order
        self._field_orders: dict[tuple[str, ...], list[str]] = {}
        # field name -> value -> its postings and length (_field_postings)
        self._known_values: dict[str, dict] = {}
        # field name -> term -> [docnum, weight, encoded value, field length, docnum, ...] in docnum order
        self._inverted: dict[str, dict[bytes, list]] = {}
        # field name -> the term function it shares with the fields of an equal analyzer
        self._term_groups = _term_groups(self.schema, self._word_listers)
        self._forget_words()
        self._inverted_bytes = 0
        self._runs: list[str] = []
        # Where the postings not in memory are, in docnum order: runs (their names) and the segments
        # added by add_reader (MergedSegment), read when the segment is written.
        self._sources: list[str | MergedSegment] = []
        # A compaction's stop request (merge_segments), asked as the merged segments' postings are
        # read: most of a merge's time, since add_reader no longer reads them.
        self.should_stop: Callable[[], bool] = _never
        self._sidecar: SidecarWriter | None = None
        term_index = self.fieldwriter._tindex
        term_index.buckets = [HashBucket() for _ in term_index.buckets]
        # Its hash tables written from the HashBuckets at once (Whoosh packs and writes each slot).
        term_index._write_hashes = functools.partial(write_hash_tables, term_index)
        # Whoosh's stored fields, a pickle a document compressed by its CompressedBytesColumn writer
        # with zlib (the module it names), are compressed as blocks are (DEFLATE_LEVEL).
        self.perdocwriter._colwriters["_stored"]._child._compress = deflate_stored

    def add_document(self, **values: Any) -> None:
        # The steps of SegmentWriter.add_document for what this schema uses (no boosts, vectors
        # or spelling fields), with the analysis done by the term listers, and W3PerDocWriter's
        # add_field and add_column_value for its columns (5% of adding a document's instructions,
        # where each is a chain of calls).
        self._check_state()
        docnum = self.docnum
        inverted = self._inverted
        perdocwriter = self.perdocwriter
        perdocwriter.start_doc(docnum)
        stored_fields = perdocwriter._storedfields
        field_lengths = perdocwriter._fieldlengths
        language = values.get("language") or ""
        found: dict[str, list[int]] = {}  # this document's words of each field found so far, as word ids
        try:
            for name in self._field_order(values):
                value = values[name]
                if value is None:
                    continue
                field, word_lister, stored_name, length_column = self._field_steps[name]
                length = 0
                if field.indexed:
                    if word_lister is None:
                        postings, length = self._field_postings(name, field, value)
                        self._invert(inverted.setdefault(name, {}), docnum, postings, length)
                    else:
                        ids = self._word_ids(name, value, values, language, found)
                        if field.scorable:
                            length = len(ids)
                        tokens = self._tokens.get(name)
                        if tokens is None:
                            term = self._term_groups[name]
                            tokens = self._tokens[name] = FieldTokens(
                                term, field.format.field_boost, self._vocabulary, self._word_terms.setdefault(term, {}),
                                postings_arrays.sidecar_postings(name),
                            )
                        self._inverted_bytes += tokens.add(docnum, ids, length)
                stored = values.get(stored_name, value)
                if field.stored and stored is not None:
                    stored_fields[name] = stored
                if length:
                    self._column(length_column, LENGTHS_COLUMN).add(docnum, length_byte(length))
                    field_lengths[name] += length
                if field.column_type:
                    self._column(name, field.column_type).add(docnum, field.to_column_value(stored))
        except Exception:
            perdocwriter.cancel_doc()
            raise
        perdocwriter.finish_doc()
        self._added = True
        self.docnum += 1
        self._inverted_bytes += TERM_BYTES * self._vocabulary.added()
        if self._inverted_bytes > POSTINGS_MEMORY_BYTES:
            self._write_run()

    def _field_order(self, values: dict) -> list[str]:
        """The names of the fields in `values`, in the order Whoosh adds them (sorted); the same
        for every document made alike (a dict's keys in the same order)."""
        keys = tuple(values)
        order = self._field_orders.get(keys)
        if order is None:
            order = self._field_orders[keys] = sorted(name for name in keys if not name.startswith("_"))
        return order

    def _column(self, name: str, column):
        """The per-document writer's column writer of that name, made when first used, as its
        add_column_value makes it (a field lengths' one kept in memory: LengthsColumnWriter)."""
        writers = self.perdocwriter._colwriters
        writer = writers.get(name)
        if writer is None:
            self.perdocwriter._create_column(name, column)
            writer = writers[name]
            if column is LENGTHS_COLUMN:
                writer = writers[name] = LengthsColumnWriter(writer._dbfile)
        return writer

    def _word_ids(self, name: str, value: str, values: dict, language: str, found: dict[str, list[int]]) -> list[int]:
        """The words of a field with a word lister in this document (`values`), as their ids in the
        vocabulary, from those `found` in other fields where it joins them (JOINED_FIELDS) or starts
        with them (LEADING_FIELDS), remembered in `found`: each of a document's words looked up
        once (the look-ups are a third of adding a document)."""
        known = found.get(name)
        if known is not None:  # a document has one value a field
            return known
        parts = self._joined_fields.get(name)
        lead_name = self._leading_fields.get(name)
        lead = values.get(lead_name) if lead_name else None
        if parts is not None and value == exact_text(*(values.get(part) or "" for part in parts)):
            ids: list[int] = []
            for part in parts:
                ids += self._word_ids(part, values.get(part) or "", values, language, found)
        elif lead and value.startswith(lead) and (len(value) == len(lead) or value[len(lead)].isspace()):
            ids = self._word_ids(lead_name, lead, values, language, found) + self._vocabulary.ids(
                text_words(value[len(lead):]), language
            )
        else:
            ids = self._vocabulary.ids(self._word_listers[name][0](value), language)
        found[name] = ids
        return ids

    def _field_postings(self, name: str, field, value) -> tuple[list, int]:
        """The (term, weight, encoded value) of a field Whoosh analyses (fields without a word lister:
        ids, keywords, numbers), and the field's length, remembered per value: most values recur
        (a day, the segment's stamp, a language, a root, a format), and Whoosh's analysis of each is
        a chain of generators (a number's terms are four encodings of it)."""
        known = self._known_values.get(name)
        if known is None:
            known = self._known_values[name] = {}
        found = known.get(value)
        if found is None:
            index_text = self._text_indexers[name]
            items = index_text(value) if index_text is not None and type(value) is str else list(field.index(value))
            length = sum(frequency for _, frequency, _, _ in items) if field.scorable else 0
            found = [(term, weight, encoded) for term, _, weight, encoded in items], length
            if len(known) >= KNOWN_VALUES_LIMIT:
                known.clear()
            known[value] = found
        return found

    def _invert(self, inverted: dict[bytes, list], docnum: int, postings: list, length: int) -> None:
        # Each posting carries the document's field length, for the statistics written with
        # the postings (Whoosh looks it up again when it writes them).
        new_terms = 0
        for term, weight, encoded in postings:
            existing = inverted.get(term)
            if existing is None:
                inverted[term] = [docnum, weight, encoded, length]
                new_terms += 1
            else:
                existing += (docnum, weight, encoded, length)
        self._inverted_bytes += TERM_BYTES * new_terms + POSTING_BYTES * len(postings)

    def add_reader(self, reader) -> None:
        """Add the live documents of a segment (merging it), as SegmentWriter.add_reader does, but
        with its postings read when the segment is written (MergedSegment), term by term beside
        those of the other segments merged, not gathered in memory: a merge then takes the memory
        of one term's postings, whatever the size of the segments, and costs about what indexing
        the documents afresh does, not four times it."""
        self._check_state()
        if self._tokens or self._inverted:
            # Postings are kept in docnum order, those of the documents added before in a run.
            self._write_run()
        basedoc = self.docnum
        names = set(self.schema.names()) | {name for name in reader.indexed_field_names() if name in self.schema}
        docmap = self.write_per_doc(names, reader)  # stored fields, field lengths and columns, as Whoosh
        every_doc = range(reader.doc_count_all())
        lengths = {
            name: [reader.doc_field_length(docnum, name) for docnum in every_doc]
            for name in names
            if self.schema[name].scorable
        }
        self._keep_exact_field_lengths(reader, lengths)
        self._sources.append(MergedSegment(reader.segment(), basedoc, docmap, lengths))
        self._added = True

    def _keep_exact_field_lengths(self, reader, lengths: dict[str, list[int]]) -> None:
        """Make a field's total length (the average length that scores use comes from it) add the
        segment's own total, not what write_per_doc added: each live document's length as a segment
        keeps it, rounded to a byte (a 380-word body counts 376).  Merged segments then score as
        those they were made of, to the bit when none of their documents was deleted (a deleted
        one's length is known only rounded: the total loses that)."""
        totals = self.perdocwriter._fieldlengths
        for name, field_lengths in lengths.items():
            # None: the document's field is empty (Whoosh's doc_field_length)
            totals[name] += reader.field_length(name) - sum(length or 0 for length in field_lengths)

    def _memory_fields(self, encoding: tuple[int, int] | None = None,
                       file_only: frozenset = frozenset()) -> Iterator[tuple[str, Iterator]]:
        """(field name, its (term, postings) in term order) of the postings in memory, field by
        field in order, of the fields with terms (a field started is written, terms or not): a
        field's flat lists (a field without a word lister) or tokens (one with; encoded already with
        `encoding`, see FieldTokens.postings, without blocks in the fields of `file_only`)."""
        inverted = self._inverted
        tokens = self._tokens
        # Every field's terms numbered first: the vocabulary and its words' terms, which only that
        # needs, are let go before any postings are made.
        for field_tokens in tokens.values():
            field_tokens.number_terms()
        self._vocabulary = self._word_terms = None
        for name in sorted(inverted.keys() | tokens.keys()):
            field_tokens = tokens.pop(name, None)
            if field_tokens is None:
                flat = inverted[name]
                if flat:
                    yield name, ((term, flat[term]) for term in sorted(flat))
            elif field_tokens.tokens:
                yield name, field_tokens.postings(encoding, blocks=name not in file_only)

    def _all_terms(self) -> Iterator[tuple[tuple[str, bytes], list]]:
        """((field name, term), flat list of postings) of the postings in memory, in order."""
        for name, terms in self._memory_fields():
            yield from (((name, term), postings) for term, postings in terms)

    def _write_run(self) -> None:
        name = f"{random_name()}.run"
        terms = self._all_terms()
        with self._tempstorage.create_file(name).raw_file() as run:
            while chunk := list(itertools.islice(terms, RUN_CHUNK_TERMS)):
                # As the flat lists _sorted_fields joins them into: a frequent term's position arrays
                # would be pickled beside them for nothing (4,795 bytes against 3,018 for 200 postings).
                chunk = [(key, postings if type(postings) is list else list(postings)) for key, postings in chunk]
                pickle.dump(chunk, run, pickle.HIGHEST_PROTOCOL)
        self._runs.append(name)
        self._sources.append(name)
        self._inverted = {}
        self._forget_words()
        self._inverted_bytes = 0

    def _read_run(self, name: str):
        with self._tempstorage.open_file(name).raw_file() as run:
            while True:
                try:
                    yield from pickle.load(run)
                except EOFError:
                    return

    def _sorted_fields(self, file_only: frozenset) -> Iterator[tuple[str, Iterator]]:
        """(field name, its (term, postings) in term order, a term's postings in docnum order),
        field by field in order: encoded already, a slice of terms at a time (EncodedTerms), where a
        field's tokens in memory are all of its postings (without blocks in the fields of `file_only`)."""
        if not self._sources:
            yield from self._memory_fields((self.codec._blocklimit, self.codec._compression), file_only)
            return
        streams = [
            self._read_run(source) if isinstance(source, str) else source.postings(self.storage, self.schema, self.should_stop)
            for source in self._sources
        ]
        # Each source holds later documents than the one before it, and memory the latest.
        for name, items in itertools.groupby(_joined(*streams, self._all_terms()), key=_field_name):
            yield name, ((term, postings) for (_, term), postings in items)

    def _flush_segment(self) -> None:
        # SegmentWriter._flush_segment and FieldWriter.add_postings, from the inverted lists.
        self.perdocwriter.close()
        fieldwriter = self.fieldwriter
        compression = self.codec._compression
        words = ListedWords(self.schema.names())  # what fuzzy words expand against (fuzzy.py)
        folder = getattr(self.storage, "folder", None)  # none in memory (tests' RamStorage)
        sidecar = self._sidecar = SidecarWriter(folder, self.newsegment, self.schema) if folder else None
        # Their postings in the postings file only, where there is one holding every term of theirs.
        file_only = FILE_ONLY_FIELDS & postings_arrays.EVERY_TERM_FIELDS & set(self.schema.names()) if sidecar else frozenset()
        if file_only:
            setattr(self.newsegment, postings_arrays.FILE_ONLY_ATTRIBUTE, file_only)
        for name, field_terms in self._sorted_fields(file_only):
            fieldwriter.start_field(name, self.schema[name])
            terms = words.listed(name, field_terms)
            write_terms(fieldwriter, sidecar.listed(name, terms) if sidecar else terms, compression,
                        blocks=name not in file_only)
            fieldwriter.finish_field()
        fieldwriter.close()
        words.write(self.storage, self.newsegment)

    def _finalize_segment(self) -> Segment:
        # The postings' arrays are named after the segment once it is assembled: a compound
        # segment takes in every file named after it that exists when it is.
        segment = super()._finalize_segment()
        if self._sidecar is not None:
            self._sidecar.finish(segment.doc_count_all())
            self._sidecar = None
        return segment

    def _close_segment(self) -> None:
        super()._close_segment()
        for name in self._runs:
            self._tempstorage.delete_file(name)
        self._runs = []
        self._sources = []
        self._inverted = {}
        self._forget_words()

    def _forget_words(self) -> None:
        # Made afresh once their postings are written (a run, the segment): the vocabulary and the
        # terms of its words last as long as the tokens it numbers.
        # field name -> the words of the documents added to a field with a word lister, as word ids
        self._tokens: dict[str, FieldTokens] = {}
        self._vocabulary = Vocabulary()
        # a term function -> the terms of the vocabulary's words, found by the fields sharing it
        self._word_terms: dict[Callable, dict[int, bytes]] = {}

    def finish_segment(self) -> Segment | None:
        """Write out the segment and return it, to be committed by commit_segments(); None if empty."""
        if not self._added:
            self._close_segment()
            return None
        return self._finalize_segment()

    def discard(self) -> None:
        """Give up the segment; its files are removed by the next commit."""
        self._close_segment()


class LengthsColumnWriter(ColumnWriter):
    """The writer of Whoosh's column of a field's length bytes (LENGTHS_COLUMN, NumericColumn("B")
    with the default 0), its bytes the same but kept in memory and written once, when finished:
    Whoosh's writes each through four calls (6% of adding a document)."""

    def __init__(self, dbfile):
        super().__init__(dbfile)
        self._bytes = bytearray()

    def add(self, docnum: int, value: int) -> None:
        if value == 0:  # the default, left out as Whoosh's writer leaves it, or filled before a value
            return
        written = self._bytes
        if docnum > len(written):
            written += bytes(docnum - len(written))
        written.append(value)

    def finish(self, doccount: int) -> None:
        self._dbfile.write(self._bytes)


class Vocabulary:
    """The words of the documents a writer adds (of every field with a word lister), each numbered
    as first seen in a language: a document's words are looked up once, in C, whichever of its
    fields hold them (the body's in `exact` too), and each field's tokens are kept as these ids
    until its postings are made (FieldTokens)."""

    def __init__(self):
        self.words: list[str] = []
        self.languages: list[str] = []  # the language each word was seen in
        self._ids: dict[str, WordIds] = {}  # language -> word -> its id
        self._counted = 0

    def ids(self, words: list[str], language: str) -> list[int]:
        known = self._ids.get(language)
        if known is None:
            known = self._ids[language] = WordIds(self, language)
        return list(map(known.__getitem__, words))

    def added(self) -> int:
        """How many words were added since asked last."""
        added = len(self.words) - self._counted
        self._counted = len(self.words)
        return added


class WordIds(dict):
    """A vocabulary's words of one language -> their ids, a new word numbered as it is first looked up."""

    def __init__(self, vocabulary: Vocabulary, language: str):
        super().__init__()
        self.vocabulary = vocabulary
        self.language = language

    def __missing__(self, word: str) -> int:
        vocabulary = self.vocabulary
        number = self[word] = len(vocabulary.words)
        vocabulary.words.append(word)
        vocabulary.languages.append(self.language)
        return number


class FieldTokens:
    """The terms of a field's words (compile_word_lister) in the documents added, each kept as its
    word's id in a vocabulary (Vocabulary), in the order added: 4 bytes a token where a posting in
    a flat list takes about 60, and no dictionary lookup or list per posting while documents are
    added.  postings() numbers the field's distinct terms, finding the term of each word once
    (in `word_terms`, shared by the fields of one analysis), and inverts the tokens with numpy into
    the flat lists FastSegmentWriter writes, the postings Whoosh makes: a posting per distinct
    term per document, its weight the count of its positions times the field's boost, its
    positions encoded as Positions encodes them."""

    def __init__(self, terms_of: Callable[[list[str], str], list[bytes]], boost: float, vocabulary: Vocabulary,
                 word_terms: dict[int, bytes] | None = None, listed_postings: int | None = None):
        self.terms_of = terms_of  # words and their language -> their terms
        self.boost = boost
        self.vocabulary = vocabulary
        self.word_terms = {} if word_terms is None else word_terms  # word id -> its term
        # From how many documents a term's positions go to the postings file (postings_arrays)
        self.listed_postings = postings_arrays.SIDECAR_POSTINGS if listed_postings is None else listed_postings
        self.terms: list[bytes] = []
        # Unsigned: array("i") converts each number through PyArg_Parse, a twentieth of adding a
        # document; "I" takes it as is, and its bytes are the same int32 ones postings() reads.
        self.tokens = array("I")
        self.docnums = array("q")
        self.ends = array("q")  # where each document's tokens end in `tokens`
        self.lengths = array("q")

    def add(self, docnum: int, ids: list[int], length: int) -> int:
        """Add a document's words, in order, as their ids in the vocabulary; returns about how many
        bytes of memory they take."""
        if not ids:
            return 0
        self.tokens.fromlist(ids)
        self.docnums.append(docnum)
        self.ends.append(len(self.tokens))
        self.lengths.append(length)
        return TOKEN_BYTES * len(ids) + DOCUMENT_BYTES

    def number_terms(self) -> None:
        """Make the tokens their terms' numbers among the field's distinct terms (`terms`); once,
        after the last document (postings() does, if not done before)."""
        import numpy as np

        if self.vocabulary is None:
            return
        ids = np.frombuffer(self.tokens, np.uint32)
        used = np.flatnonzero(np.bincount(ids)).tolist()
        words, languages = self.vocabulary.words, self.vocabulary.languages
        word_terms = self.word_terms
        # The words without a term yet, a language at a time: a few steps for all of them.
        new = list(itertools.filterfalse(word_terms.__contains__, used))
        new_languages = list(map(languages.__getitem__, new))
        for language in dict.fromkeys(new_languages):
            of_language = new if len(new_languages) == new_languages.count(language) else [
                word_id for word_id, its_language in zip(new, new_languages) if its_language == language
            ]
            word_terms.update(zip(of_language, self.terms_of(list(map(words.__getitem__, of_language)), language)))
        used_terms = list(map(word_terms.__getitem__, used))
        # Numbered in the order first used.
        self.terms = list(dict.fromkeys(used_terms))
        numbers = dict(zip(self.terms, range(len(self.terms))))
        numbered = np.zeros(len(words), np.uint32)
        numbered[used] = np.fromiter(map(numbers.__getitem__, used_terms), np.uint32, len(used))
        # In place ("clip" is not buffered, and every id is in range): no second array of the tokens.
        np.take(numbered, ids, out=ids, mode="clip")
        self.vocabulary = self.word_terms = None

    def postings(self, encoding: tuple[int, int] | None = None,
                 blocks: bool = True) -> Iterator["tuple[bytes, list] | EncodedTerms"]:
        """(term, flat list of its postings in docnum order), in term order; once, after the last
        document: what only adding needs is let go first.  With `encoding` (the block limit and
        compression of encode_postings), the terms come encoded instead, a slice of them at a time
        (EncodedTerms), made from the arrays without the flat lists: for a segment written straight
        from memory; without `blocks`, their term information only (no data: FILE_ONLY_FIELDS)."""
        import numpy as np

        if not self.tokens:
            return
        self.number_terms()
        terms = self.terms
        by_term = sorted(range(len(terms)), key=terms.__getitem__)
        ranks = np.empty(len(terms), np.int32)
        ranks[by_term] = np.arange(len(terms), dtype=np.int32)
        token_ranks = ranks[np.frombuffer(self.tokens, np.int32)]
        self.tokens = None
        ends = np.frombuffer(self.ends, np.int64)
        starts = np.concatenate(([0], ends[:-1]))
        document_numbers = self.docnums.tolist()
        document_array = np.frombuffer(self.docnums, np.int64)
        document_lengths = self.lengths.tolist()
        document_length_array = np.frombuffer(self.lengths, np.int64)
        single = np.array(_single_positions(int((ends - starts).max())), object)
        tokens_to_rank = np.cumsum(np.bincount(token_ranks, minlength=len(terms)))
        low = 0
        while low < len(terms):
            before = int(tokens_to_rank[low - 1]) if low else 0
            high = max(low + 1, int(np.searchsorted(tokens_to_rank, before + SORTED_TOKENS, "right")))
            if low == 0 and high == len(terms):
                picked = np.arange(len(token_ranks))
            else:
                picked = np.flatnonzero((token_ranks >= low) & (token_ranks < high))
            # Each token's rank above its index, sorted: a term's tokens in the order added (by document,
            # then position), as a stable sort by rank gives them, for two thirds of its CPU.
            keyed = token_ranks[picked].astype(np.int64)
            keyed <<= 32
            keyed |= picked
            keyed.sort()
            picked = keyed & 0xFFFFFFFF
            keyed >>= 32
            ranked = keyed.astype(np.int32)
            del keyed
            documents = np.searchsorted(ends, picked, "right")
            positions = picked - starts[documents]
            firsts = np.flatnonzero(
                np.concatenate(([True], (ranked[1:] != ranked[:-1]) | (documents[1:] != documents[:-1])))
            )
            counts = np.diff(firsts, append=len(picked))
            # A word once in a document: its positions are one of `single`, objects shared by all
            # such postings (as its weight, the boost, is in a flat list, and docnums and lengths are
            # by a document's), which keeps the postings small in memory and in a block's pickle.
            repeated = counts > 1
            if encoding is None or blocks:
                values = single[positions[firsts]]
                values[repeated] = encode_position_runs(positions[np.repeat(repeated, counts)], counts[repeated])
                values = values.tolist()
            posting_ranks = ranked[firsts]
            term_firsts = np.flatnonzero(np.concatenate(([True], posting_ranks[1:] != posting_ranks[:-1])))
            # The data of the terms the postings file (postings_arrays.py) holds (every term of
            # postings_arrays.EVERY_TERM_FIELDS), made from the slice's arrays for all of them at once.
            term_sizes = np.diff(term_firsts, append=len(firsts))
            listed = term_sizes >= self.listed_postings
            laid_out = []
            if listed.any():
                listed_postings = np.repeat(listed, term_sizes)
                listed_sizes = term_sizes[listed]
                laid_out = postings_arrays.laid_out_terms(
                    document_array[documents[firsts[listed_postings]]],
                    counts[listed_postings] * self.boost,
                    counts[listed_postings],
                    positions[np.repeat(listed_postings, counts)],
                    np.cumsum(listed_sizes) - listed_sizes,
                )
            term_terms = list(map(terms.__getitem__, map(by_term.__getitem__, posting_ranks[term_firsts].tolist())))
            if encoding is not None:
                posting_ids = document_array[documents[firsts]]
                posting_weights = counts * self.boost
                posting_lengths = document_length_array[documents[firsts]]
                if blocks:
                    data, entries = encode_term_blocks(posting_ids, posting_weights, values, posting_lengths, term_firsts,
                                                       *encoding)
                else:
                    data, entries = b"", term_information(posting_ids, posting_weights, posting_lengths, term_firsts,
                                                          encoding[0])
                yield EncodedTerms(term_terms, data, entries, list(itertools.compress(term_terms, listed.tolist())),
                                   laid_out, posting_ids, posting_weights, term_firsts, term_sizes)
            else:
                laid_out = iter(laid_out)
                weights = np.full(len(firsts), self.boost, object)  # one object, as `single`'s values are
                weights[repeated] = (counts[repeated] * self.boost).tolist()
                posting_documents = documents[firsts].tolist()
                flat = [None] * (POSTING_SLOTS * len(firsts))
                flat[0::POSTING_SLOTS] = map(document_numbers.__getitem__, posting_documents)
                flat[1::POSTING_SLOTS] = weights.tolist()
                flat[2::POSTING_SLOTS] = values
                flat[3::POSTING_SLOTS] = map(document_lengths.__getitem__, posting_documents)
                term_ends = [*term_firsts[1:].tolist(), len(firsts)]
                for term, first, end, is_listed in zip(term_terms, term_firsts.tolist(), term_ends, listed.tolist()):
                    postings = flat[first * POSTING_SLOTS : end * POSTING_SLOTS]
                    if is_listed:
                        postings = PositionedPostings(postings)
                        postings.laid_out = next(laid_out)
                    yield term, postings
            low = high


# How often a merge asks whether to stop, in terms read (a term takes microseconds to milliseconds).
STOP_CHECK_TERMS = 1024


class MergedSegment:
    """A segment whose documents a writer added (add_reader): where they start among the writer's,
    the new number of each (None: in order, none deleted), and the length of each in each field
    that has one, kept until the writer writes its postings, which postings() reads from the
    segment one term at a time."""

    def __init__(self, segment: Segment, basedoc: int, docmap: dict[int, int] | None, lengths: dict[str, list]):
        self.segment = segment
        self.basedoc = basedoc
        if docmap is None:
            self.new_numbers = None
        else:  # 4 bytes a document where the dictionary took about 100
            self.new_numbers = array("i", [-1]) * segment.doc_count_all()
            for old, new in docmap.items():
                self.new_numbers[old] = new
        # One byte a document (its length as the segment keeps it, rounded), as the segment's own column
        self.length_bytes = {name: bytes(map(length_byte, field_lengths)) for name, field_lengths in lengths.items()}

    def postings(self, storage, schema, should_stop: Callable[[], bool]) -> Iterator[tuple[tuple[str, bytes], list]]:
        """((field name, term), the term's flat list of postings of the live documents, renumbered)
        of the segment's fields in the schema, in order; CompactionStopped if should_stop() turns
        true (asked every STOP_CHECK_TERMS terms)."""
        reader = SegmentReader(storage, schema, self.segment)
        read = 0
        try:
            terms = reader._terms
            # The term index and postings are read in order, each a chunk at a time.
            entries = ReadAhead(terms._tindex.dbfile)
            postfile = ReadAhead(terms._postfile)
            new_numbers = self.new_numbers
            file_only = file_only_fields(self.segment)
            for name in sorted(name for name in reader.indexed_field_names() if name in schema):
                length_bytes = self.length_bytes.get(name)
                field_lengths = None if length_bytes is None else list(map(_BYTE_LENGTHS.__getitem__, length_bytes))
                field_format = schema[name].format
                for term, info in field_entries(terms, name, entries):
                    read += 1
                    if not read % STOP_CHECK_TERMS and should_stop():
                        raise CompactionStopped
                    if info[0]:  # W3TermInfo's flags: the postings kept in it, as no W3 writer keeps them
                        raise ValueError(f"inlined postings of {name}:{term!r}")
                    if name in file_only:
                        ids, weights, values = file_postings_encoded(reader, name, term)
                    else:
                        ids, weights, values = decode_term_postings(
                            postfile.get(*_PLACE.unpack_from(info, W3TermInfo._struct.size)), field_format.fixed_value_size()
                        )
                    if new_numbers is None:
                        new = list(map(self.basedoc.__add__, ids))
                    else:
                        new = list(map(new_numbers.__getitem__, ids))
                        if min(new) < 0:  # deleted
                            kept = list(map((0).__le__, new))
                            ids, weights, values, new = (list(itertools.compress(part, kept))
                                                         for part in (ids, weights, values, new))
                            if not new:
                                continue
                    postings = [None] * (POSTING_SLOTS * len(new))
                    postings[0::POSTING_SLOTS] = new
                    postings[1::POSTING_SLOTS] = weights
                    postings[2::POSTING_SLOTS] = values
                    postings[3::POSTING_SLOTS] = list(map(field_lengths.__getitem__, ids)) if field_lengths else [0] * len(new)
                    yield (name, term), postings
        finally:
            postings_arrays.let_go(reader)  # its postings file, mapped where file_only_fields are read
            reader.close()


def file_postings_encoded(reader, name: str, term: bytes) -> tuple[list[int], list[float], list[bytes]]:
    """decode_term_postings of a term of the segment reader's file_only_fields, read from its
    postings file (postings_arrays.file_postings), positions encoded as Positions encodes them."""
    ids, weights, runs = postings_arrays.file_postings(reader, name, term)
    return ids, weights, [b""] * len(ids) if runs is None else list(map(encode_positions, runs))


class PositionedPostings(list):
    """A term's flat list of postings, with its data in the postings file laid out already
    (postings_arrays.laid_out_terms, SidecarWriter.add_laid_out)."""

    __slots__ = ("laid_out",)


def _joined(*streams):
    """((field name, term), postings) streams in term order, each term's postings in document order
    within a stream and the streams in document order, joined: a term's postings of all of them in
    one list, the first stream's first (heapq.merge keeps equal terms in the order of its inputs)."""
    merged = heapq.merge(*streams, key=itemgetter(0))
    for term, parts in itertools.groupby(merged, key=itemgetter(0)):
        yield term, list(itertools.chain.from_iterable(postings for _, postings in parts))


def _field_name(item) -> str:
    return item[0][0]


class ListedWords(WordLists):
    """WordLists fed by the terms as they are written."""

    def listed(self, name: str, items: Iterator) -> Iterator:
        """The field's (term, postings), each term added on the way where the field has word lists."""
        if name not in self._groups:
            return items
        return self._adding(name, items)

    def _adding(self, name: str, items: Iterator) -> Iterator:
        pending = []  # the terms passed on, added TERMS_PER_WRITE or more at a time
        for item in items:
            if type(item) is EncodedTerms:
                pending += item.terms
            else:
                pending.append(item[0])
            if len(pending) >= TERMS_PER_WRITE:
                self.add_terms(name, pending)
                pending = []
            yield item
        self.add_terms(name, pending)


class ReadAhead:
    """A file of a segment (Whoosh's StructFile) read READ_AHEAD_BYTES at a time, for reads mostly in
    increasing places (a merge reading a segment's term index and postings): Whoosh's compound file
    makes each read a seek and a read, and its term index reads an entry's lengths, key and value
    apart."""

    def __init__(self, dbfile):
        self._file = dbfile
        self._start = 0
        self._data = b""

    def get(self, position: int, length: int) -> bytes:
        """The `length` bytes at `position` (fewer at the file's end)."""
        at = position - self._start
        if at < 0 or at + length > len(self._data):
            self._data = self._file.get(position, max(length, READ_AHEAD_BYTES))
            self._start = position
            at = 0
        return self._data[at:at + length]


READ_AHEAD_BYTES = 1 << 20


def field_entries(terms, name: str, entries: ReadAhead) -> Iterator[tuple[bytes, bytes]]:
    """(term, term information as bytes) of each term of the field in a segment's term index
    (W3TermsReader, its file read by `entries`), in order, as terms.items_from(name, b"") gives them
    decoded."""
    table = terms._tindex
    prefix = terms._keycoder(name, b"")
    position = table.closest_key_pos(prefix)
    if position is None:
        return
    end = table.endofdata
    while position < end:
        key_size, value_size = _ENTRY_LENGTHS.unpack(entries.get(position, _ENTRY_LENGTHS.size))
        entry = entries.get(position + _ENTRY_LENGTHS.size, key_size + value_size)
        if not entry.startswith(prefix):
            return
        yield entry[len(prefix):key_size], entry[key_size:]
        position += _ENTRY_LENGTHS.size + key_size + value_size


def decode_term_postings(data: bytes, fixed_size: int | None) -> tuple[list[int], list[float], list[bytes]]:
    """A term's document numbers, weights and values in a segment from its postings (`data`, read
    whole), deleted documents included (b"" for a value the format does not keep), as W3LeafMatcher
    gives them block by block, where it reads the file a few times per block."""
    data = BytesIO(data)
    if data.read(len(WHOOSH3_HEADER_MAGIC)) != WHOOSH3_HEADER_MAGIC:
        raise ValueError("postings without Whoosh 3's header")
    ids: list[int] = []
    weights: list[float] = []
    values: list[bytes] = []
    while True:
        (size,) = _BLOCK_SIZE.unpack(data.read(_BLOCK_SIZE.size))
        block_start = data.tell()
        count, _, _, compression, _, _ = pickle.load(data)
        block = data.read(abs(size) - (data.tell() - block_start))
        gaps, block_weights, block_values = pickle.loads(zlib.decompress(block) if compression else block)
        ids += itertools.accumulate(gaps)
        if block_weights is None:
            weights += [1.0] * count
        elif type(block_weights) is float:
            weights += [block_weights] * count
        else:
            weights += block_weights
        if fixed_size is None or fixed_size < 0:
            values += block_values
        elif fixed_size == 0:
            values += [b""] * count
        else:
            values += map(block_values.__getitem__, map(slice, range(0, len(block_values), fixed_size),
                                                        range(fixed_size, len(block_values) + 1, fixed_size)))
        if size < 0:  # the last block's size is written negated
            return ids, weights, values


_BLOCK_SIZE = struct.Struct("!i")  # pack_int


def write_terms(fieldwriter, terms: Iterable, compression: int, blocks: bool = True) -> None:
    """Write a field's terms (in order: (term, postings) pairs, or EncodedTerms) and their postings
    as W3FieldWriter.start_term(), add() and finish_term() do, TERMS_PER_WRITE terms (or WRITE_BYTES)
    or a slice of EncodedTerms at a time: each term's blocks and information are computed by
    encode_postings as it comes (its postings are let go then: a merge's frequent terms hold
    hundreds of thousands), then the postings of them all go to the postings file in one write, and
    their entries to the term index (Whoosh's OrderedHashWriter) in another, where Whoosh makes
    three calls on each file per term.  Without `blocks` (FILE_ONLY_FIELDS), the terms' information
    only, their postings at NO_BLOCKS_START (EncodedTerms come without data then)."""
    import numpy as np

    postfile = fieldwriter._postwriter._postfile
    limit = fieldwriter._postwriter._blocklimit
    fixed_size = fieldwriter._format.fixed_value_size()
    prefix = pack_ushort(fieldwriter._fieldid)
    start = postfile.tell()
    written = []
    keys = []
    values = []  # each key's term information, then its postings' place (_PLACE)
    held = 0
    for item in terms:
        if type(item) is EncodedTerms:
            entries = item.entries
            entries["start"] = np.cumsum(entries["size"]) - entries["size"] + start if blocks else NO_BLOCKS_START
            keys += map(prefix.__add__, item.terms)
            laid_out = entries.tobytes()
            values += [laid_out[low:low + entries.itemsize] for low in range(0, len(laid_out), entries.itemsize)]
            written.append(item.data)
            size = len(item.data)
        else:
            term, postings = item
            if blocks:
                data, info = encode_postings(postings, limit, fixed_size, compression)
            else:
                data, info = b"", postings_information(postings, limit)
            keys.append(prefix + term)
            values.append(info + _PLACE.pack(start if blocks else NO_BLOCKS_START, len(data)))
            written.append(data)
            size = len(data)
        start += size
        held += size
        if len(keys) >= TERMS_PER_WRITE or held >= WRITE_BYTES:
            postfile.write(b"".join(written))
            add_ordered_entries(fieldwriter._tindex, keys, values)
            written = []
            keys = []
            values = []
            held = 0
    if keys:
        postfile.write(b"".join(written))
        add_ordered_entries(fieldwriter._tindex, keys, values)


# A term's place in the postings file, after its information in its term-index entry: pack_long of
# its start, then pack_int of its size.
_PLACE = struct.Struct("!qi")
# The start of a term's postings that are not in Whoosh's file (FILE_ONLY_FIELDS), of size 0: a
# reader of the file that does not know (Whoosh's own, where store.open_index has not made it read
# the postings file) fails there, where a real place would read another term's blocks as its own.
NO_BLOCKS_START = -1


def add_ordered_entries(table, keys: list[bytes], values: list[bytes]) -> None:
    """OrderedHashWriter.add(key, value) for each key and value, keys increasing, in one write; the
    table's buckets are HashBuckets, each given its entries' (hash, position) pairs at once."""
    import numpy as np

    if keys[0] <= table.lastkey:
        raise ValueError(f"Keys must increase: {table.lastkey!r}..{keys[0]!r}")
    dbfile = table.dbfile
    key_sizes = list(map(len, keys))
    value_sizes = list(map(len, values))
    parts = [b""] * (3 * len(keys))
    parts[0::3] = map(_ENTRY_LENGTHS.pack, key_sizes, value_sizes)
    parts[1::3] = keys
    parts[2::3] = values
    sizes = np.add(key_sizes, value_sizes) + _ENTRY_LENGTHS.size
    positions = np.cumsum(sizes) - sizes + dbfile.tell()
    dbfile.write(b"".join(parts))
    pairs = np.empty((len(keys), 2), np.uint64)
    pairs[:, 0] = term_hashes(keys) if table.hashfn is md5_hash else list(map(table.hashfn, keys))
    pairs[:, 1] = positions
    # Each bucket (a hash's low byte) gets its pairs in the order of the entries, as one by one.
    buckets = pairs[:, 0] & 255
    order = np.argsort(buckets, kind="stable")
    bounds = np.searchsorted(buckets[order], np.arange(len(table.buckets) + 1)).tolist()
    pairs = pairs[order].tobytes()
    pair_size = len(pairs) // len(keys)
    for bucket, low, high in zip(table.buckets, bounds, bounds[1:]):
        if high > low:
            bucket.pairs.frombytes(pairs[pair_size * low:pair_size * high])
    index = table.index  # a GrowableArray, which widens its type for a value that does not fit
    positions = positions.tolist()
    if isinstance(index.array, array) and positions[-1] < _ARRAY_LIMITS.get(index.array.typecode, 0):
        index.array.extend(positions)
    else:
        index.extend(positions)
    table.lastkey = keys[-1]


class HashBucket:
    """One of the 256 buckets of (hash, position) pairs that Whoosh's term index writer
    (HashWriter.buckets) keeps of every term until it writes its hash tables, which append,
    count and iterate them: here in an array, 16 bytes a term where a tuple of two ints in a list
    takes about 130 (a segment of a million articles has three million terms, each file's key
    and the parts of its path)."""

    __slots__ = ("pairs",)

    def __init__(self):
        self.pairs = array("Q")

    def append(self, pair: tuple[int, int]) -> None:
        self.pairs.extend(pair)

    def __len__(self) -> int:
        return len(self.pairs) // 2

    def __iter__(self) -> Iterator[tuple[int, int]]:
        return zip(self.pairs[0::2], self.pairs[1::2])


def term_hashes(keys: list[bytes]):
    """md5_hash of each key (the term index's hash: the digest's last 4 bytes), as a numpy array,
    the digests taken in C without going through hex."""
    import numpy as np

    return np.frombuffer(b"".join(map(_DIGEST, map(_MD5, keys))), ">u4")[3::4]


try:
    # CPython's own MD5 (hashlib's fallback): the same digests as OpenSSL's, for a third of the CPU a
    # term, where making OpenSSL's context is most of it (2.1 against 0.6 us a key).
    from _md5 import md5 as _MD5
except ImportError:  # a Python built without it
    from hashlib import md5

    _MD5 = functools.partial(md5, usedforsecurity=False)
_DIGEST = methodcaller("digest")
# A slot of a hash table of the term index (filetables._pointer, "!Iq"): hash and position.
_HASH_SLOT = [("hash", ">u4"), ("position", ">i8")]


def write_hash_tables(table) -> None:
    """HashWriter._write_hashes of the term index, whose buckets are HashBuckets: each bucket's
    table of (hash, position) slots by the same linear probing, written at once where Whoosh packs
    and writes each slot (two a term)."""
    import numpy as np

    dbfile = table.dbfile
    for bucket in table.buckets:
        pairs = bucket.pairs
        slots = len(pairs)  # two a term
        table.directory.append((dbfile.tell(), slots))
        hashes = [0] * slots
        positions = [0] * slots
        for hashed, position in zip(pairs[0::2], pairs[1::2]):
            slot = (hashed >> 8) % slots
            while positions[slot]:  # a term's position is never 0 (the file's header is there)
                slot = (slot + 1) % slots
            hashes[slot] = hashed
            positions[slot] = position
        written = np.empty(slots, _HASH_SLOT)
        written["hash"] = hashes
        written["position"] = positions
        dbfile.write(written.tobytes())


# Upper bounds of the types GrowableArray uses.
_ARRAY_LIMITS = {"H": 2**16, "i": 2**31, "I": 2**32, "q": 2**63}


def encode_postings(postings: list, limit: int, fixed_size: int | None, compression: int) -> tuple[bytes, bytes]:
    """A term's postings as W3PostingsWriter writes them (blocks of `limit`), and the start of its
    term information (W3TermInfo.to_bytes without the postings' place in the file).

    The same blocks and term information, computed a block at a time instead of a posting at
    a time.  One difference: Whoosh compresses every block with zlib, mostly blocks of one or
    two postings, which costs more than all else in writing them and saves nothing.  Readers
    take each block's compression from the block, so here blocks of up to
    SMALL_BLOCK_POSTINGS postings are left uncompressed; the others are compressed by ISA-L
    (DEFLATE_LEVEL), into the same format, their information still naming Whoosh's level.
    """
    count = len(postings) // POSTING_SLOTS
    if count == 1:
        return _encode_posting(postings, fixed_size)
    written = [WHOOSH3_HEADER_MAGIC]
    weight = 0
    min_length = None
    max_length = 0
    max_weight = 0
    for offset in range(0, count, limit):
        block = postings[offset * POSTING_SLOTS : (offset + limit) * POSTING_SLOTS] if count > limit else postings
        ids = block[0::POSTING_SLOTS]
        weights = block[1::POSTING_SLOTS]
        values = block[2::POSTING_SLOTS]
        # W3PostingsWriter keeps weights as 32-bit floats, and values only when not empty.
        stored_weights = array("f", weights)
        if fixed_size is None or fixed_size < 0:
            mini_values = tuple(filter(None, values))
        elif fixed_size == 0:
            mini_values = None
        else:
            mini_values = b"".join(values)
        lengths = list(filter(None, block[3::POSTING_SLOTS]))
        block_min_length = min(lengths) if lengths else None
        block_max_length = max(lengths) if lengths else 0
        block_max_weight = max(0, max(weights))
        weight += sum(stored_weights)
        if min_length is None:
            min_length = block_min_length
        else:
            min_length = min(min_length, block_min_length)
        max_length = max(max_length, block_max_length)
        max_weight = max(max_weight, block_max_weight)
        first_weight = stored_weights[0]
        if stored_weights.count(first_weight) != len(stored_weights):
            mini_weights = tuple(stored_weights)
        elif first_weight == 1.0:
            mini_weights = None
        else:
            mini_weights = first_weight
        gaps = (ids[0], *map(sub, ids[1:], ids))
        # Whoosh pickles blocks with protocol 2, where every bytes value (a posting's positions)
        # unpickles through a codecs call; readers accept any protocol, and with 5 a block of
        # positions loads about 8 times faster and takes 60% less room.
        data = pickle.dumps((gaps, mini_weights, mini_values), BLOCK_PICKLE_PROTOCOL)
        level = compression if len(ids) > SMALL_BLOCK_POSTINGS else 0
        if level:
            data = isal_zlib.compress(data, DEFLATE_LEVEL)
        info = pickle.dumps(
            (len(ids), ids[-1], block_max_weight, level, length_byte(block_min_length), length_byte(block_max_length)),
            2,
        )
        last = offset + limit >= count
        written += [pack_int(-(len(info) + len(data)) if last else len(info) + len(data)), info, data]
    term_info = W3TermInfo._struct.pack(
        False,
        weight,
        count,
        0 if min_length is None else length_byte(min_length),
        length_byte(max_length),
        max_weight,
        postings[0],
        ids[-1],
    )
    return b"".join(written), term_info


def postings_information(postings: list, limit: int) -> bytes:
    """encode_postings' term information of a term's flat list of postings (blocks of `limit`),
    without its blocks: the same statistics, its weight summed block by block as it sums them."""
    ids = postings[0::POSTING_SLOTS]
    weights = postings[1::POSTING_SLOTS]
    lengths = list(filter(None, postings[3::POSTING_SLOTS]))
    stored_weights = array("f", weights)
    weight = functools.reduce(add, (sum(stored_weights[low:low + limit]) for low in range(0, len(ids), limit)), 0)
    min_length = length_byte(min(lengths)) if lengths else 0
    return W3TermInfo._struct.pack(False, weight, len(ids), min_length,
                                   length_byte(max(lengths) if lengths else 0), max(0, max(weights)), ids[0], ids[-1])


def deflate_stored(data: bytes, level: int) -> bytes:
    """What Whoosh's stored-fields column compresses with (zlib.compress's signature), at DEFLATE_LEVEL."""
    return isal_zlib.compress(data, DEFLATE_LEVEL)


def _encode_posting(postings: list, fixed_size: int | None) -> tuple[bytes, bytes]:
    """encode_postings of a term in one document (about 40% of a segment's terms): the same block
    and term information, without the loops over blocks and postings."""
    docnum, weight, value, length = postings
    stored_weight = array("f", (weight,))[0]
    if fixed_size is None or fixed_size < 0:
        mini_values = (value,) if value else ()
    elif fixed_size == 0:
        mini_values = None
    else:
        mini_values = value
    data = pickle.dumps(
        ((docnum,), None if stored_weight == 1.0 else stored_weight, mini_values), BLOCK_PICKLE_PROTOCOL
    )
    max_weight = max(0, weight)
    length_code = length_byte(length or None)
    info = pickle.dumps((1, docnum, max_weight, 0, length_code, length_code), 2)
    term_info = W3TermInfo._struct.pack(False, stored_weight, 1, length_code, length_code, max_weight, docnum, docnum)
    return b"".join((WHOOSH3_HEADER_MAGIC, pack_int(-(len(info) + len(data))), info, data)), term_info


class EncodedTerms:
    """Consecutive terms of a field (a slice of FieldTokens'), in order, their postings encoded at
    once: all of their blocks joined and each term's term-index value but for its postings' start
    (encode_term_blocks); the terms the postings file holds (`listed`) and their data in it laid
    out (postings_arrays.laid_out_terms); and the postings' document numbers and weights (numpy
    arrays, each term's from its first, for its count), which only some fields' sidecars take.  A
    field's stream of terms (_sorted_fields) holds these, or (term, postings) pairs, and whoever
    passes it on handles a slice's terms at once: a step per term and layer was about a tenth of
    writing them."""

    __slots__ = ("terms", "data", "entries", "listed", "laid_out", "docnums", "weights", "firsts", "counts")

    def __init__(self, terms: list[bytes], data: bytes, entries, listed: list[bytes], laid_out: list, docnums, weights,
                 firsts, counts):
        self.terms, self.data, self.entries, self.listed, self.laid_out = terms, data, entries, listed, laid_out
        self.docnums, self.weights, self.firsts, self.counts = docnums, weights, firsts, counts


# W3TermInfo._struct ("!BfIBBfII"), then the place of the term's postings (_PLACE): a term-index value,
# for a slice's terms at once.
_TERM_ENTRY_FIELDS = [("flags", "u1"), ("weight", ">f4"), ("count", ">u4"), ("min_length", "u1"),
                      ("max_length", "u1"), ("max_weight", ">f4"), ("first", ">u4"), ("last", ">u4"),
                      ("start", ">i8"), ("size", ">i4")]


def encode_term_blocks(ids, weights, values: list, lengths, term_firsts, limit: int, compression: int):
    """encode_postings(postings, limit, None, compression) of consecutive terms of a field with
    positions, their postings given as numpy arrays (document numbers, weights as the floats a flat
    list holds, field lengths) and the encoded positions (never empty; the same objects a flat list
    holds: a block's pickle refers again to one it holds already), each term's starting at its
    `term_firsts`.  Returns the terms' postings joined (bytes) and their term-index values, a record
    array of _TERM_ENTRY_FIELDS: each term's information and the size of its postings, their start
    left 0.  Each block's gaps, weights' form, statistics, header and information pickle, and each
    term's information, are laid out by numpy for all of them at once, leaving a block its data
    pickle (and deflating) in Python: encode_postings takes a dozen steps a block, and the flat
    lists it reads took as long to make."""
    import numpy as np

    count = len(ids)
    term_sizes = np.diff(term_firsts, append=count)
    within = np.arange(count) - np.repeat(term_firsts, term_sizes)
    block_firsts = np.flatnonzero(within % limit == 0)
    block_ends = np.append(block_firsts[1:], count)
    block_counts = block_ends - block_firsts
    gaps = np.diff(ids, prepend=0)
    gaps[block_firsts] = ids[block_firsts]
    # W3PostingsWriter keeps weights as 32-bit floats: a block's are one float where all are alike,
    # none where that is 1.0.
    stored = weights.astype(np.float32)
    first_weights = stored[block_firsts]
    alike = np.minimum.reduceat(stored, block_firsts) == np.maximum.reduceat(stored, block_firsts)
    mini_weights = [None if none else weight for weight, none in zip(first_weights.tolist(), (alike & (first_weights == 1.0)).tolist())]
    # Tuples, whose slices are the blocks' tuples (a list's slice would be made a tuple again).
    stored_list = tuple(stored.tolist())
    firsts, ends = block_firsts.tolist(), block_ends.tolist()
    for block in np.flatnonzero(~alike).tolist():
        mini_weights[block] = stored_list[firsts[block]:ends[block]]
    gaps = tuple(gaps.tolist())
    values = tuple(values)
    written = [
        pickle.dumps((gaps[first:end], mini_weight, values[first:end]), BLOCK_PICKLE_PROTOCOL)
        for first, end, mini_weight in zip(firsts, ends, mini_weights)
    ]
    deflated = block_counts > SMALL_BLOCK_POSTINGS if compression else np.zeros(len(firsts), bool)
    for block in np.flatnonzero(deflated).tolist():
        written[block] = isal_zlib.compress(written[block], DEFLATE_LEVEL)
    # A length of 0 (the field is empty) counts for no minimum.
    known_lengths = np.where(lengths > 0, lengths, np.iinfo(np.int64).max)
    opens_term = within[block_firsts] == 0
    heads = _block_heads(
        opens_term, np.append(opens_term[1:], True), np.fromiter(map(len, written), np.int64, len(written)),
        (block_counts, ids[block_ends - 1], np.maximum.reduceat(weights, block_firsts), deflated * compression,
         _length_bytes(np.minimum.reduceat(known_lengths, block_firsts)), _length_bytes(np.maximum.reduceat(lengths, block_firsts))),
    )
    # Each block's header and information before its data.
    blocks = [None] * (2 * len(written))
    blocks[0::2] = heads
    blocks[1::2] = written
    information = term_information(ids, weights, lengths, term_firsts, limit)
    block_sizes = np.fromiter(map(len, blocks), np.int64, len(blocks))
    information["size"] = np.add.reduceat(block_sizes[0::2] + block_sizes[1::2], np.flatnonzero(opens_term))
    return b"".join(blocks), information


def term_information(ids, weights, lengths, term_firsts, limit: int):
    """The term-index values of consecutive terms given as encode_term_blocks takes them (blocks of
    `limit`), a record array of _TERM_ENTRY_FIELDS, their postings' start and size left 0: each
    term's information as encode_postings computes it."""
    import numpy as np

    count = len(ids)
    term_sizes = np.diff(term_firsts, append=count)
    stored = weights.astype(np.float32)
    information = np.zeros(len(term_firsts), _TERM_ENTRY_FIELDS)
    if (stored == np.floor(stored)).all():  # whole numbers (counts): their sum is exact in any order
        information["weight"] = np.add.reduceat(stored.astype(np.float64), term_firsts)
    else:  # summed as encode_postings sums them, block by block
        within = np.arange(count) - np.repeat(term_firsts, term_sizes)
        block_firsts = np.flatnonzero(within % limit == 0)
        stored_list = stored.tolist()
        block_sums = [sum(stored_list[first:end])
                      for first, end in zip(block_firsts.tolist(), np.append(block_firsts[1:], count).tolist())]
        blocks_of_terms = ((term_sizes + limit - 1) // limit).tolist()
        term_blocks = itertools.accumulate(blocks_of_terms, initial=0)
        information["weight"] = [functools.reduce(add, block_sums[low:low + blocks], 0) for low, blocks in zip(term_blocks, blocks_of_terms)]
    # A length of 0 (the field is empty) counts for no minimum.
    known_lengths = np.where(lengths > 0, lengths, np.iinfo(np.int64).max)
    information["count"] = term_sizes
    information["min_length"] = _length_bytes(np.minimum.reduceat(known_lengths, term_firsts))
    information["max_length"] = _length_bytes(np.maximum.reduceat(lengths, term_firsts))
    information["max_weight"] = np.maximum(np.maximum.reduceat(weights, term_firsts), 0)
    information["first"] = ids[term_firsts]
    information["last"] = ids[term_firsts + term_sizes - 1]
    return information


# A block's information, pickle.dumps((postings, last document, max weight, compression level,
# min length byte, max length byte), 2): PROTO 2 and MARK, the items, then TUPLE, BINPUT 0 and STOP.
_INFO_PICKLE_OPEN = b"\x80\x02("
_INFO_PICKLE_CLOSE = b"tq\x00."


def _block_heads(opens, closes, data_sizes, information) -> list[bytes]:
    """Each block's bytes before its data: the term's header where it `opens` one, the size of the
    block's information and data (negated where it `closes` the term), and its information pickled
    as encode_postings pickles it (numpy arrays of `information`'s six items; pickled one by one
    where a number is beyond what BININT holds)."""
    import numpy as np

    counts, last_ids, max_weights, levels, min_bytes, max_bytes = information
    if int(last_ids.max()) >= 2**31:
        infos = [pickle.dumps((count, last_id, max_weight if max_weight > 0 else 0, level, low, high), 2)
                 for count, last_id, max_weight, level, low, high in zip(*(each.tolist() for each in information))]
        sizes = np.fromiter(map(len, infos), np.int64, len(infos)) + data_sizes
        return [b"".join((WHOOSH3_HEADER_MAGIC if first else b"", pack_int(-size if last else size), info))
                for first, last, size, info in zip(opens.tolist(), closes.tolist(), sizes.tolist(), infos)]
    count_sizes = _pickle_int_sizes(counts)
    last_id_sizes = _pickle_int_sizes(last_ids)
    positive = max_weights > 0  # a float (BINFLOAT), otherwise the int 0
    info_sizes = (len(_INFO_PICKLE_OPEN) + count_sizes + last_id_sizes + np.where(positive, 9, 2)
                  + 3 * 2 + len(_INFO_PICKLE_CLOSE))  # level, min and max length bytes: BININT1 each
    head_sizes = len(WHOOSH3_HEADER_MAGIC) * opens + 4 + info_sizes
    head_ends = np.cumsum(head_sizes)
    places = head_ends - head_sizes
    out = np.zeros(int(head_ends[-1]), np.uint8)

    def put(data, width, where=slice(None)):
        """`width` bytes (a row of `data` each, or the same bytes for all) at the blocks' places."""
        out[places[where][:, None] + np.arange(width)] = data

    put(np.frombuffer(WHOOSH3_HEADER_MAGIC, np.uint8), len(WHOOSH3_HEADER_MAGIC), opens)
    places += len(WHOOSH3_HEADER_MAGIC) * opens
    signed = np.where(closes, -(info_sizes + data_sizes), info_sizes + data_sizes)
    put(signed.astype(">i4").view(np.uint8).reshape(-1, 4), 4)
    places += 4
    put(np.frombuffer(_INFO_PICKLE_OPEN, np.uint8), len(_INFO_PICKLE_OPEN))
    places += len(_INFO_PICKLE_OPEN)
    for numbers, sizes in ((counts, count_sizes), (last_ids, last_id_sizes)):
        _put_pickle_ints(out, places, numbers, sizes)
        places += sizes
    out[places[positive]] = ord("G")
    places += positive
    put(max_weights[positive].astype(">f8").view(np.uint8).reshape(-1, 8), 8, positive)
    out[places[~positive]] = ord("K")  # and 0
    places += np.where(positive, 8, 2)
    for numbers in (levels, min_bytes, max_bytes):
        out[places] = ord("K")
        out[places + 1] = numbers
        places += 2
    put(np.frombuffer(_INFO_PICKLE_CLOSE, np.uint8), len(_INFO_PICKLE_CLOSE))
    data = out.tobytes()
    return [data[start:end] for start, end in zip((head_ends - head_sizes).tolist(), head_ends.tolist())]


def _pickle_int_sizes(numbers):
    """The bytes pickle writes for each of an array of numbers from 0 to 2**31 - 1 (BININT1, BININT2 or BININT)."""
    import numpy as np

    return np.where(numbers < 0x100, 2, np.where(numbers < 0x10000, 3, 5))


def _put_pickle_ints(out, places, numbers, sizes) -> None:
    """Write each of `numbers` (0 to 2**31 - 1) as pickle does at its place in `out`, in its size
    (_pickle_int_sizes): BININT1, BININT2 or BININT, little endian."""
    import numpy as np

    out[places] = np.where(sizes == 2, ord("K"), np.where(sizes == 3, ord("M"), ord("J")))
    for byte in range(4):
        wide = sizes > byte + 1
        out[places[wide] + 1 + byte] = (numbers[wide] >> (8 * byte)) & 0xFF


def _length_bytes(lengths):
    """length_byte of each of a numpy array of lengths, 0 for the int64 maximum (no length)."""
    import numpy as np

    table = np.frombuffer(_LENGTH_BYTES, np.uint8)
    found = np.where(lengths < len(table), table[np.minimum(lengths, len(table) - 1)], 255)
    found[lengths == np.iinfo(np.int64).max] = 0
    return found


# length_to_byte (a binary search in Python) of every length below the largest it tells apart.
_LENGTH_BYTES = bytes(map(length_to_byte, range(byte_to_length(255))))
# The length each byte stands for (0: none).
_BYTE_LENGTHS = (0, *map(byte_to_length, range(1, 256)))


def length_byte(length: int | None) -> int:
    """length_to_byte(length), by table."""
    if length is None:
        return 0
    return _LENGTH_BYTES[length] if length < len(_LENGTH_BYTES) else 255


def new_segment_writer(ix) -> FastSegmentWriter:
    # No lock: the process committing the segments holds it, and each writer's files have
    # their own random names.
    return FastSegmentWriter(ix, _lk=False)


# pickle.dumps(gaps, 2) of a list of 2 to _PICKLE_BATCH ints from 0 to 2**31 - 1: this header (PROTO 2,
# EMPTY_LIST, BINPUT 0, MARK), each int as BININT1 (K, 1 byte), BININT2 (M, 2) or BININT (J, 4, little
# endian), then APPENDS and STOP.  A longer list is pickled in batches of _PICKLE_BATCH (pickle's
# _BATCHSIZE), a one-int list with APPEND.
_LIST_PICKLE_HEADER = b"\x80\x02]q\x00("
_LIST_PICKLE_END = b"e."
_PICKLE_BATCH = 1000


def encode_position_runs(positions, counts) -> list[bytes]:
    """[encode_positions(run) for each run of `positions`], the runs of `counts` (numpy arrays; every
    count at least 2): the same bytes, laid out by numpy for all of them at once instead of a pickle
    call and a few list operations each (a third of a million such runs in 3,000 articles)."""
    import numpy as np

    if not len(counts):
        return []
    if int(counts.max()) > _PICKLE_BATCH:
        places = positions.tolist()
        ends = np.cumsum(counts).tolist()
        return [encode_positions(places[end - count : end]) for count, end in zip(counts.tolist(), ends)]
    positions = positions.astype(np.int64)
    run_firsts = np.cumsum(counts) - counts
    gaps = np.diff(positions, prepend=0)
    gaps[run_firsts] = positions[run_firsts]
    item_sizes = _pickle_int_sizes(gaps)
    header = 4 + len(_LIST_PICKLE_HEADER)
    run_sizes = np.add.reduceat(item_sizes, run_firsts) + header + len(_LIST_PICKLE_END)
    run_ends = np.cumsum(run_sizes)
    run_starts = run_ends - run_sizes
    out = np.zeros(int(run_ends[-1]), np.uint8)
    # An item's place: its run's start, the header, and the items before it in the run.
    item_ends = np.cumsum(item_sizes)
    item_places = item_ends - item_sizes
    item_places += np.repeat(run_starts + header - item_places[run_firsts], counts)
    _put_pickle_ints(out, item_places, gaps, item_sizes)
    for byte in range(4):  # pack_uint: the count, big endian
        out[run_starts + byte] = (counts >> (8 * (3 - byte))) & 0xFF
    for offset, value in enumerate(_LIST_PICKLE_HEADER):
        out[run_starts + 4 + offset] = value
    for offset, value in enumerate(_LIST_PICKLE_END):
        out[run_ends - len(_LIST_PICKLE_END) + offset] = value
    data = out.tobytes()
    return [data[start:end] for start, end in zip(run_starts.tolist(), run_ends.tolist())]


# Most words occur once in an article, at one of its first few thousand positions: their
# encoded positions are made once.
_SINGLE_POSITIONS: list[bytes] = []
_SINGLE_POSITIONS_LIMIT = 100_000


def _single_positions(count: int) -> list[bytes]:
    while len(_SINGLE_POSITIONS) < min(count, _SINGLE_POSITIONS_LIMIT):
        _SINGLE_POSITIONS.append(encode_positions([len(_SINGLE_POSITIONS)]))
    if count <= _SINGLE_POSITIONS_LIMIT:
        return _SINGLE_POSITIONS
    return _SINGLE_POSITIONS + [encode_positions([position]) for position in range(_SINGLE_POSITIONS_LIMIT, count)]


def compile_word_lister(field) -> tuple[Callable[[str], list[str]], Callable[[list[str], str], list[bytes]]] | None:
    """For a field that records positions and makes one term of each word: a function from text to
    its words in order, and one from words and the article's language to the words' terms (UTF-8);
    None if there is no exact one (see word_analyzer)."""
    analyzer = getattr(field, "analyzer", None)
    if type(field.format) is not Positions:
        return None
    if isinstance(analyzer, ChainAnalyzer):
        return text_words, lambda words, language: list(map(str.encode, analyzer.word_terms(words, language)))
    term = word_analyzer(analyzer)
    if term is None:
        return None
    return whole_matches(analyzer.items[0].expression), lambda words, language: [term(word).encode("utf-8") for word in words]


def _term_groups(schema, word_listers: dict) -> dict[str, Callable[[list[str], str], list[bytes]]]:
    """Field name -> the terms function of its word lister (compile_word_lister), one function for
    the fields of equal analyzers, whose words' terms are the same: title, lead and body."""
    groups: list[tuple[Any, Callable[[list[str], str], list[bytes]]]] = []
    terms = {}
    for name, word_lister in word_listers.items():
        if word_lister is None:
            continue
        analyzer = schema[name].analyzer
        term = next((term for other, term in groups if other == analyzer), None)
        if term is None:
            term = word_lister[1]
            groups.append((analyzer, term))
        terms[name] = term
    return terms


def compile_term_lister(field) -> Callable[[str, str], list[bytes]] | None:
    """A function from text and the article's language to the field's terms (UTF-8) in token order,
    or None if there is no exact one (see word_analyzer); only for fields that record positions."""
    analyzer = getattr(field, "analyzer", None)
    if type(field.format) is Positions and isinstance(analyzer, ChainAnalyzer):
        return analyzer.term_lister(encoding="utf-8")
    lister = compile_word_lister(field)
    if lister is None:
        return None
    tokens, terms = lister
    known: dict[str, bytes] = {}

    def list_terms(text: str, language: str) -> list[bytes]:  # one analysis whatever the language
        words = tokens(text)
        if len(known) > KNOWN_WORDS_LIMIT:
            known.clear()
        new = list(set(words).difference(known))
        known.update(zip(new, terms(new, language)))
        return list(map(known.__getitem__, words))

    return list_terms


def compile_text_indexer(field) -> Callable[[str], list[tuple[bytes, int, float, bytes]]] | None:
    """For a field without positions whose analyzer makes one term of each token (ids, keywords), a
    function giving what field.index(text) gives, without its chain of generators: a file's key and
    an article's capitals are new values in most documents (2.5% of add_document's instructions
    saved).  None if there is no exact one."""
    analyzer = getattr(field, "analyzer", None)
    kind = type(field.format)
    if type(field).index is not FieldType.index or (kind is not Existence and kind is not Frequency):
        return None  # numbers, dates, booleans: fields of their own index()
    if type(analyzer) is IDTokenizer:
        list_terms = _whole_text
    elif type(analyzer) is RegexTokenizer and not analyzer.gaps:
        list_terms = whole_matches(analyzer.expression)
    elif (term := word_analyzer(analyzer)) is not None:
        list_words = whole_matches(analyzer.items[0].expression)

        def list_terms(text: str) -> list[str]:
            return list(map(term, list_words(text)))
    else:
        return None
    boost = field.format.field_boost

    def index_existence(text: str) -> list[tuple[bytes, int, float, bytes]]:
        return [(term.encode("utf-8"), 1, boost, b"") for term in dict.fromkeys(list_terms(text))]

    def index_frequency(text: str) -> list[tuple[bytes, int, float, bytes]]:
        # A term's weight is its tokens' boosts (1.0 each) added up, times the field's.
        counts = Counter(list_terms(text))
        return [(term.encode("utf-8"), count, float(count) * boost, pack_uint(count)) for term, count in counts.items()]

    return index_existence if kind is Existence else index_frequency


def _whole_text(text: str) -> list[str]:
    return [text]


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


# The columns whose values Whoosh places by uint32 offsets (VarBytesColumn) and that grow with the
# articles, not with their count alone: long bodies, and the stored fields (compressed pickles, a
# few hundred bytes an article, up to a body of 1 Mi characters for the readers that store it).
# A segment holds at most long_bodies.SEGMENT_BYTES in each.
BOUNDED_COLUMNS = (LONG_BODY_FIELD, "_stored")


def column_bytes(storage, segments, bound: int) -> list[tuple[int, ...]]:
    """For each segment, the bytes its live documents hold in each of BOUNDED_COLUMNS (what merging
    it adds to the merged segment's), or the size of its files for each where those of all the
    segments are `bound` bytes or fewer, as any merge of them then fits: a stat a segment, where
    reading the columns' lengths costs an open file and 4 bytes a document each, never a document."""
    sizes = [_files_bytes(storage, segment) for segment in segments]
    if sum(sizes) <= bound:
        return [(size,) * len(BOUNDED_COLUMNS) for size in sizes]
    return [_live_column_bytes(storage, segment) for segment in segments]


def fits(total: tuple[int, ...], size: tuple[int, ...]) -> bool:
    """Whether a segment holds columns of `total` bytes and `size` more (long_bodies.SEGMENT_BYTES)."""
    return all(a + b <= long_bodies.SEGMENT_BYTES for a, b in zip(total, size))


def _files_bytes(storage, segment) -> int:
    """The size of a segment's files, of its columns at least."""
    if segment.is_compound():
        return storage.file_length(segment.make_filename(segment.COMPOUND_EXT))
    names = [W3Codec.column_filename(segment, name) for name in BOUNDED_COLUMNS]
    return sum(storage.file_length(name) for name in names if storage.file_exists(name))


def _live_column_bytes(storage, segment) -> tuple[int, ...]:
    """The bytes a segment's live documents hold in each of BOUNDED_COLUMNS, from their lengths."""
    files = segment.open_compound_file(storage) if segment.is_compound() else storage
    perdoc = W3PerDocReader(files, segment)
    deleted = list(segment.deleted_docs())
    try:
        found = []
        for name in BOUNDED_COLUMNS:
            lengths = perdoc.column_reader(name, VarBytesColumn())._lengths if perdoc.has_column(name) else []
            found.append(sum(lengths) - sum(lengths[docnum] for docnum in deleted) if lengths else 0)
        return tuple(found)
    finally:
        perdoc.close()
        if files is not storage:
            files.close()


def merge_by_tiers(writer, segments) -> tuple[list, list]:
    """Merge policy for commits: a tier of small segments into one, once it holds MERGE_FACTOR of
    them, at most MERGE_BOUND segments at a commit, and no more than one segment holds (fitting;
    merge_overdue, or the next commit, merges the others); segments with no live document are
    dropped.  Returns the segments kept, all before the merged one."""
    due = tier_merges(writer.storage, segments)
    merged = [segment for segment in due if not segment.doc_count()]
    merged += fitting(writer.storage, [segment for segment in due if segment.doc_count()][:MERGE_BOUND])
    merge_segments(writer, merged)
    return [segment for segment in segments if segment not in merged], []


def fitting(storage, segments) -> list:
    """Of the segments, in order, those whose long bodies and stored fields one merged segment
    holds (at most long_bodies.SEGMENT_BYTES in each of BOUNDED_COLUMNS: Whoosh's column raised
    OverflowError past it), each taken where it fits beside those taken before it."""
    taken, total = [], (0,) * len(BOUNDED_COLUMNS)
    for segment, size in zip(segments, column_bytes(storage, segments, long_bodies.SEGMENT_BYTES)):
        if fits(total, size):
            taken.append(segment)
            total = tuple(map(add, total, size))
    return taken


def tier_merges(storage, segments) -> list:
    """The segments the merge policy (merge_by_tiers) would merge, however many, in the order merged:
    those with no live document, then those of each tier that holds MERGE_FACTOR or more.  A segment
    with more than half of what a segment holds in one of BOUNDED_COLUMNS (long bodies, mostly) is
    left alone, as a large one is: no two such fit in one, and a tier of them would be merged again
    at every commit."""
    half = long_bodies.SEGMENT_BYTES // 2
    tiers: dict[int, list] = {}
    for segment in segments:
        live = segment.doc_count()
        if live < MERGED_SEGMENT_DOCS and max(column_bytes(storage, [segment], half)[0]) <= half:
            tiers.setdefault(segment_tier(live), []).append(segment)
    due = [segment for segment in segments if not segment.doc_count()]
    for tier in tiers.values():
        if len(tier) >= MERGE_FACTOR:
            due += tier
    return due


def merge_overdue(ix, should_stop: Callable[[], bool] = _never) -> Iterator[int]:
    """Commit the tier merges a commit left because more than MERGE_BOUND segments were due (a
    large deletion brings many segments down into a tier at once), MERGE_BOUND segments a commit,
    until no more than that are due (the next commit merges those); yields each new generation.
    Stops before a commit once should_stop() is true: the index is whole after each."""
    while not should_stop():
        segments = TOC.read(ix.storage, INDEX_NAME).segments
        if sum(1 for segment in tier_merges(ix.storage, segments) if segment.doc_count()) <= MERGE_BOUND:
            return
        yield commit_segments(ix, [], [])


def merge_segments(writer, segments, should_stop: Callable[[], bool] = _never) -> None:
    """Add the live documents of the segments to the writer, in their order (so documents keep
    their order, which breaks ties between equal scores); CompactionStopped if should_stop()
    turns true between two segments or as their postings are read.  Each segment's file stays
    open from when its postings are read until the merged segment is written: callers merge at
    most MERGE_BOUND segments."""
    writer.should_stop = should_stop
    for segment in segments:
        if should_stop():
            raise CompactionStopped
        if segment.doc_count():
            reader = SegmentReader(writer.storage, writer.schema, segment)
            writer.add_reader(reader)
            reader.close()


class CompactionStopped(Exception):
    """A compaction stopped on request before its commit (or its next pass's): the index is as
    it was (after the passes committed)."""


def compact_segments(ix, should_stop: Callable[[], bool] = _never,
                     committed: Callable[[int], None] = lambda generation: None) -> int:
    """Merge every segment of the index into one, without its deleted documents (what a tier merge
    writes: postings, sidecars, word lists), or into the fewest that hold its long bodies and
    stored fields (compaction_run): in one new generation if it has at most MERGE_BOUND segments, else in passes,
    each merging a run of neighbouring segments (compaction_pass) into one in their place, in a
    generation of its own, until one is left; nothing when there is one segment, or none, with no
    deleted document.  committed(generation) is called after each pass's commit.  Returns the
    number of segments left (0 when no document is).

    Readers see each generation whole; CompactionStopped leaves the index as of the last pass
    committed (the next compaction goes on from there), never part of a pass.
    """
    segments = TOC.read(ix.storage, INDEX_NAME).segments
    while (run := compaction_run(ix.storage, segments)) is not None:
        if should_stop():
            raise CompactionStopped
        start, end = run

        def merge_run(writer, current, start=start, end=end):
            merge_segments(writer, current[start:end], should_stop)
            return current[:start], current[end:]

        generation = commit_segments(ix, [], [], merge=merge_run)
        committed(generation)
        segments = TOC.read(ix.storage, INDEX_NAME, generation).segments
    return len(segments)


def compaction_run(storage, segments) -> tuple[int, int] | None:
    """The run of neighbouring segments (start, end) that the next pass of a compaction merges, None
    when it is done.  The segments go, in order, into groups of neighbours whose long bodies and
    stored fields one segment holds (fits), each group as many as fit (so the fewest groups that
    keep the articles' order); a pass merges a run of the first group that is more than one segment
    or has deleted documents (compaction_pass)."""
    sizes = column_bytes(storage, segments, long_bodies.SEGMENT_BYTES)
    start, total = 0, (0,) * len(BOUNDED_COLUMNS)
    for end, size in enumerate([*sizes, (long_bodies.SEGMENT_BYTES + 1,) * len(BOUNDED_COLUMNS)]):
        if fits(total, size):
            total = tuple(map(add, total, size))
            continue
        group = segments[start:end]
        if len(group) > 1 or (group and group[0].has_deletions()):
            first, last = compaction_pass([segment.doc_count() for segment in group])
            return start + first, start + last
        start, total = end, size
    return None


def compaction_pass(live_docs: list[int]) -> tuple[int, int]:
    """The run of neighbouring segments (start, end) a compaction pass merges, given each segment's
    live documents: all of them, up to MERGE_BOUND; else just enough for the next pass to take
    what is left (MERGE_BOUND segments into one, or more than that if there are too many left for
    a pass), and of such runs the one with the fewest live documents, so that the articles written
    again in later passes are as few as can be."""
    count = len(live_docs)
    if count <= MERGE_BOUND:
        return 0, count
    width = min(MERGE_BOUND, count - MERGE_BOUND + 1)
    totals = list(itertools.accumulate(live_docs, initial=0))
    start = min(range(count - width + 1), key=lambda first: totals[first + width] - totals[first])
    return start, start + width


def segment_tier(live_docs: int) -> int:
    tier = 0
    bound = SMALLEST_TIER_DOCS
    while live_docs >= bound:
        tier += 1
        bound *= MERGE_FACTOR
    return tier


def commit_segments(ix, segments: Iterable[Segment], deleted_keys: Iterable[str], merge=merge_by_tiers) -> int:
    """Add finished segments to the index and delete documents by key, as one new generation,
    merging the index's segments as `merge` (a merge policy: merge_by_tiers) chooses: it adds
    some to the writer, and returns the segments kept before and after the merged one.

    Returns the new generation's number.
    """
    try:
        writer = FastSegmentWriter(ix)
    except LockError:
        raise ArchsearchError(
            f"the index at {ix.storage.folder} is locked by another program writing to it"
        ) from None
    try:
        if LONG_BODY_FIELD not in writer.schema:
            # An index written before the column of long bodies has it from this generation on:
            # the runs after this one keep their long bodies there (long_bodies.py).
            writer.schema.add(LONG_BODY_FIELD, build_schema()[LONG_BODY_FIELD])
        for key in deleted_keys:
            writer.delete_by_term("key", key)
        before, after = merge(writer, writer.segments)
        if writer._added:
            merged = [writer._finalize_segment()]
        else:
            merged = []
            writer._close_segment()
        writer._commit_toc(before + merged + after + list(segments))
    except BaseException:
        # Releases the lock now: Whoosh keeps an index locked after a failed commit until the
        # process ends.
        writer.cancel()
        raise
    writer._finish()
    add_missing_sidecars(ix, before + after)
    return writer.generation


def add_missing_sidecars(ix, segments) -> None:
    """Write the postings arrays (postings_arrays.py) of the segments that have none whole: those
    written before they existed, once, at the first commit that follows.  Each is complete when
    renamed into place, so readers see it whole or not at all.  One that cannot be written (a
    full disk) is left for the next commit: the index is whole without it."""
    folder = getattr(ix.storage, "folder", None)
    if folder is None:
        return
    schema = ix.schema
    for segment in segments:
        parts = missing_parts(folder, segment)
        if not parts or ("postings" in parts and file_only_fields(segment)):
            # The one copy of some of its postings lost: not written from Whoosh's (store.find_damage names it).
            continue
        reader = SegmentReader(ix.storage, schema, segment)
        try:
            write_sidecar(folder, reader, schema, parts)
        except OSError:
            return
        finally:
            postings_arrays.let_go(reader)  # its postings file, read where file_only_fields are
            reader.close()


def write_sidecar(folder: str, reader, schema, parts) -> None:
    """Write the sidecar files `parts` (postings_arrays.missing_parts) of a segment written without
    them, from its reader: each term's postings read whole, as a query reads them, deleted documents
    included, as in its own."""
    from archsearch.engines.whoosh.evaluation import read_postings

    writer = SidecarWriter(folder, reader.segment(), schema, parts)
    file_only = file_only_fields(reader.segment())
    try:
        terms = reader._terms
        for (name, term), info in terms.items():
            if writer.holds(name, info.doc_frequency()):
                if name in file_only:
                    writer.take(name, term, *file_postings_encoded(reader, name, term))
                else:
                    writer.take(name, term, *read_postings(terms._postfile, info, 0))
        writer.finish(reader.doc_count_all())
    except BaseException:
        writer.discard()
        raise


def latest_generation(index_dir: str) -> int:
    """The number of the index's latest generation, -1 if there is none, without reading it."""
    return TOC._latest_generation(FileStorage(index_dir), INDEX_NAME)


def remove_unreferenced_files(index_dir: str) -> None:
    """Delete the files no generation of the index uses: parts of segments never committed (a run
    killed, or a commit that failed on a full disk), older tables of contents, temporary files.

    For the one process allowed to write the index (it holds the run lock).  An index whose table
    of contents cannot be read is left as it is: what it uses is unknown.
    """
    storage = FileStorage(index_dir)
    generation = latest_generation(index_dir)
    try:
        segments = TOC.read(storage, INDEX_NAME, generation).segments if generation >= 0 else []
    except Exception:  # unpickling garbage raises anything at all
        return
    clean_files(storage, INDEX_NAME, generation, segments)
    for name in os.listdir(index_dir):
        if _UNFINISHED_TOC.match(name) or name == ROOTS_TEMPORARY or SIDECAR_TEMPORARY.match(name):
            with contextlib.suppress(OSError):
                os.remove(os.path.join(index_dir, name))
    # Where writers keep their sorted runs of postings (FileStorage.temp_storage).
    shutil.rmtree(os.path.join(index_dir, f"{INDEX_NAME}.tmp"), ignore_errors=True)


# TOC.write's file before it is renamed into place.
_UNFINISHED_TOC = re.compile(rf"^_{INDEX_NAME}_[0-9]+\.toc\.[0-9.]+$")


def publish_segments(staging: str, index_dir: str):
    """Make the index at index_dir hold the staged index's documents, and no other, in one new
    generation; returns that generation's number and its segments.

    The staged segments' files are moved beside the index's own (their names are random, so they
    never clash), where readers do not see them until the new table of contents names them: its
    rename is the one step at which readers go from the old documents to the new.
    """
    staged = FileStorage(staging)
    toc = TOC.read(staged, INDEX_NAME)
    for segment in toc.segments:
        for name in segment.list_files(staged):
            os.replace(os.path.join(staging, name), os.path.join(index_dir, name))
    generation = latest_generation(index_dir) + 1
    TOC(toc.schema, toc.segments, generation).write(FileStorage(index_dir), INDEX_NAME)
    return generation, toc.segments
