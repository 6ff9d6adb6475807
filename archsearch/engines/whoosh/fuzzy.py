"""Fuzzy and prefix words (`talibn~`, `talibn~2`, `talib*`) expanded against word lists made for it,
not the term dictionary.

Whoosh expands a fuzzy word over several segments by reading every term of the field through its
term cursor and computing each one's edit distance in Python: a query with three fuzzy words took
4.7 s at 3.7k articles, and grows with the index.  Here each segment carries, beside its own
files, the words of the fields a fuzzy word can look in, sorted and grouped by length (written
with the segment by segments.py's writer, merged segments included).  A word within k edits of
one of n letters has n-k to n+k letters, so only those groups are read, the part of each that
shares the required prefix is found by binary search, and rapidfuzz's C edit distance picks the
words within k from it.  Each word found is checked again with Whoosh's own distance, so the
words are exactly those Whoosh's expansion gives: Damerau-Levenshtein distance as Whoosh computes
it (a letter added, dropped or changed, or two neighbours swapped, is one edit), and the prefix
length the query asks for (`talibn~2/3`, none by default).

A prefix word takes, in each group of words at least as long as the prefix, the run of words that
start with it, found by binary search: the same words as Whoosh's term cursor gives.  A short prefix
stands for thousands of words (`s*`: 4,587 at 20k articles), and scoring each one cost a query a
second: as Lucene and tantivy do, not every word is weighed.  Every article with any of the words
matches, so counts stay exact, but only the SCORED_EXPANSIONS most frequent words add to the ranking
(the rarer ones match at no score): an article found through a rare word such as `sxyz` no longer
outranks those with the words the typist most likely means.

A short prefix (`s*`, `sy*`, `syr*`) needs neither its words nor their term information: each
segment lists, for such a prefix shared by many words, the documents holding one and its most
frequent words (prefix_postings.py).  prefix_expansion chooses the scored words from those lists,
exactly the words the walk would choose, or says it cannot prove it (then the words are walked).

A segment without word lists (written before they existed, or by Whoosh's own writer) is expanded
by Whoosh's way, one term at a time: slower, never different.

A process that has not loaded a segment's word lists (a query without the server) searches them
where they lie in the segment's file, mapped, and reads only the runs of words it finds
(mapped_word_groups): unpickling them whole took a live-search keystroke 5.5-6 ms of CPU and 2,600
page faults at 100k articles (8.4 MB of lists for a prefix's words in one field).  A prefix of few
words (WALKED_WORDS in every segment) it reads from the segments' term files instead, whose cursor
finds them with one search where the lists take one per length.
"""

import os
import pickle
import struct
from collections import Counter, OrderedDict
from itertools import islice

from whoosh import query as wq
from whoosh.reading import IndexReader
from whoosh.support.levenshtein import distance

from archsearch.engines.whoosh import prefix_postings
from archsearch.engines.whoosh.postings_arrays import segment_folder
from archsearch.engines.whoosh.prefix_postings import PrefixEntry, segment_prefixes
from archsearch.records import Record

# The fields a fuzzy word can be asked of: the words of title and body as written (where an
# unfielded fuzzy word looks), and the fields a query may name (`lead:` looks in lead and title).
WORD_LIST_FIELDS = frozenset({"exact", "title", "lead", "body", "source", "place", "section", "path", "url", "author"})

# Beside a segment's files, named after it, so that Whoosh removes it with the segment and a
# compound segment takes it in.
WORD_LIST_EXTENSION = ".words"

# Segments whose word lists a process keeps (the server answers many queries): a segment never
# changes, so they stay right as long as it exists.  Kept by folder and name: segment names are
# random, but drawn from the `random` module, which a program (or a test) may have seeded alike
# for two indexes.
KEPT_SEGMENTS = 64
_kept: OrderedDict[tuple, dict] = OrderedDict()

# What separates the words of a group; no analyzer keeps a line break in a term.
SEPARATOR = b"\n"

# A prefix word that expands to more words than this is ranked by its most frequent words only:
# Lucene's threshold for scoring a multi-term query's words one by one.  Scoring a word costs
# about 0.2 ms (its statistics, its postings weighed), matching it alone a third of that.
SCORED_EXPANSIONS = 16


class WordLists:
    """The words of a segment being written, field by field, grouped by length in letters."""

    def __init__(self, fieldnames):
        # field name -> length in letters -> the words so far, joined by SEPARATOR as written: a
        # bytes object per word would take 60 bytes for a path's 17 (two per file of an archive)
        self._groups: dict[str, dict[int, bytearray]] = {
            name: {} for name in fieldnames if name in WORD_LIST_FIELDS
        }
        self._unlisted: set[str] = set()  # fields with a word holding SEPARATOR: written without lists

    def add(self, fieldname: str, term: bytes) -> None:
        """Add a term of the field; terms come in sorted order, as a segment writes them."""
        self.add_terms(fieldname, (term,))

    def add_terms(self, fieldname: str, terms) -> None:
        """Add terms of the field (a sequence), in sorted order, as add() adds each."""
        groups = self._groups.get(fieldname)
        if groups is None:
            return
        if SEPARATOR in b"".join(terms):  # a separator inside one of them
            self._unlisted.add(fieldname)
        for term, length in zip(terms, map(len, map(bytes.decode, terms))):
            words = groups.get(length)
            if words is None:
                groups[length] = bytearray(term)
            else:
                words += SEPARATOR
                words += term

    def write(self, storage, segment) -> None:
        lists = {
            name: {length: bytes(words) for length, words in groups.items()}
            for name, groups in self._groups.items()
            if name not in self._unlisted
        }
        with segment.create_file(storage, WORD_LIST_EXTENSION) as out:
            out.write(pickle.dumps(lists, protocol=pickle.HIGHEST_PROTOCOL))


class ListedFuzzyTerm(wq.FuzzyTerm):
    """A FuzzyTerm expanded against the segments' word lists."""

    @classmethod
    def like(cls, node: wq.FuzzyTerm) -> "ListedFuzzyTerm":
        return cls(
            node.fieldname, node.text, boost=node.boost, maxdist=node.maxdist,
            prefixlength=node.prefixlength, constantscore=node.constantscore,
        )

    def _btexts(self, ixreader):
        return fuzzy_words(ixreader, self.fieldname, self.text, self.maxdist, self.prefixlength)


class ListedPrefix(wq.Prefix):
    """A Prefix expanded against the segments' word lists."""

    @classmethod
    def like(cls, node: wq.Prefix) -> "ListedPrefix":
        return cls(node.fieldname, node.text, boost=node.boost, constantscore=node.constantscore)

    def _btexts(self, ixreader):
        return prefix_words(ixreader, self.fieldname, self.text)

    def __deepcopy__(self, memo) -> "ListedPrefix":
        # Without what an evaluation keeps with the node for its reader (expansion_terms,
        # prefix_term_infos, prefix_expansion), which cannot be copied: Whoosh copies a query
        # to change its boost (--expand).
        return ListedPrefix.like(self)


_LISTED = {wq.FuzzyTerm: ListedFuzzyTerm, wq.Prefix: ListedPrefix}


def listed_fuzzy_terms(query: wq.Query) -> wq.Query:
    """The query with each of its FuzzyTerms and Prefixes expanded against the word lists."""
    return query.accept(lambda node: _LISTED[type(node)].like(node) if type(node) in _LISTED else node)


def expansion_terms(node: wq.MultiTerm, reader) -> list[wq.Term]:
    """The words a prefix, wildcard or fuzzy word stands for, as the Terms it is the OR of; a
    ListedPrefix of more than SCORED_EXPANSIONS words weighs only the most frequent of them, the
    others a boost of 0: they match, and add nothing to the score."""
    fieldname = node.field()
    expanded = getattr(node, "_expanded", (None, None))
    if expanded[0] is reader:  # the same query node evaluated again (counts, ranking, proximity)
        return expanded[1]
    words = [word for word in node._btexts(reader) if word]
    if not isinstance(node, ListedPrefix) or len(words) <= SCORED_EXPANSIONS:
        return [wq.Term(fieldname, word) for word in words]
    frequency = Counter()
    for infos in prefix_term_infos(node, reader):
        for word, info in infos.items():
            frequency[word] += info.doc_frequency()
    scored = set(sorted(words, key=lambda word: -frequency[word])[:SCORED_EXPANSIONS])
    terms = [wq.Term(fieldname, word, boost=1.0 if word in scored else 0.0) for word in words]
    node._expanded = reader, terms
    return terms


def prefix_term_infos(node: wq.Prefix, reader) -> list[dict]:
    """Per segment of `reader`, in its order, the words starting with the prefix and their term
    information, read from the term file in key order: a read, where a lookup per word and segment
    probes Whoosh's hash table (at 100,000 articles `s*`'s 5,100 words in 10 segments: 0.19 s of
    CPU against 0.63 s).  The frequencies that choose the scored words come from it, and the
    evaluator finds the words' postings with it (evaluation.py)."""
    kept = getattr(node, "_term_infos", (None, None))
    if kept[0] is reader:
        return kept[1]
    infos = [dict(leaf.iter_prefix(node.field(), node.text)) for leaf, _ in reader.leaf_readers()]
    node._term_infos = reader, infos
    return infos


class PrefixExpansion(Record):
    """A prefix of more than SCORED_EXPANSIONS words, as the segments' prefix entries give it."""

    fieldname: str
    # The words that weigh in the ranking, in word order.
    scored: list[bytes]
    # Their postings, all segments together, deleted documents included (what scoring them reads).
    scored_postings: int
    # Per segment of the reader, in its order: its entry for the prefix, or (where it has none:
    # few words, or no prefix file) its words' term information, walked.
    parts: list[PrefixEntry | dict]


def prefix_expansion(node: wq.Query, reader) -> PrefixExpansion | None:
    """A ListedPrefix of more than SCORED_EXPANSIONS words through its segments' prefix entries,
    with the scored words expansion_terms would choose; None if no segment has an entry for it,
    it has that few words, or the entries cannot show which words are the most frequent."""
    if type(node) is not ListedPrefix or node.field() not in prefix_postings.PREFIX_FIELDS:
        return None
    if not 0 < len(node.text) <= prefix_postings.PREFIX_LETTERS:
        return None
    kept = getattr(node, "_prefix_expansion", (None, None))
    if kept[0] is reader:
        return kept[1]
    fieldname, text = node.field(), node.text
    leaves = [leaf for leaf, _ in reader.leaf_readers()]
    expansion = None
    if _few_words(reader, leaves, fieldname, text):
        node._prefix_expansion = reader, expansion
        return expansion
    entries = []
    for leaf in leaves:
        prefixes = segment_prefixes(leaf)
        entries.append(prefixes.entry(fieldname, text) if prefixes is not None else None)
    if max((entry.word_count for entry in entries if entry is not None), default=0) > SCORED_EXPANSIONS:
        parts = [entry if entry is not None else dict(leaf.iter_prefix(fieldname, text)) for leaf, entry in zip(leaves, entries)]
        counts = _most_frequent(fieldname, leaves, parts)
        if counts is not None:
            expansion = PrefixExpansion(fieldname, sorted(counts), sum(counts.values()), parts)
    node._prefix_expansion = reader, expansion
    return expansion


def _few_words(reader, leaves, fieldname: str, text: str) -> bool:
    """Whether the prefix has SCORED_EXPANSIONS words or fewer in all the segments, shown without
    their prefix files (mapped for nothing: 0.4 ms for `syr*` at 100k articles, 10 segments), where
    a process has not loaded the first segment's word lists (a query without the server) and the
    first segment's term file holds that few: then its words are read (prefix_words, as the query
    reads them next)."""
    if not leaves or _kept_key(leaves[0]) in _kept or reader.__dict__.get(_MERGED_WORDS, {}).get(fieldname) is not None:
        return False
    if len(list(islice(leaves[0].expand_prefix(fieldname, text), SCORED_EXPANSIONS + 1))) > SCORED_EXPANSIONS:
        return False
    return len(prefix_words(reader, fieldname, text)) <= SCORED_EXPANSIONS


def _most_frequent(fieldname: str, leaves, parts) -> dict[bytes, int] | None:
    """The SCORED_EXPANSIONS words of most documents over all segments (ties: the first in word
    order), as expansion_terms ranks them, with their counts; None where the entries cannot show
    which they are.

    Each entry lists its segment's most frequent words and bounds the count of any other there;
    a walked segment gives all of its words.  The words listed or walked are the candidates; their
    counts in a segment whose entry does not list them are looked up where that could bring them
    among the first; a word no segment lists has at most the sum of the bounds, which must stay
    below the last one chosen."""
    known = Counter()
    for part in parts:
        if isinstance(part, PrefixEntry):
            known.update(part.top)
        else:
            known.update({word: info.doc_frequency() for word, info in part.items()})
    if len(known) < SCORED_EXPANSIONS:
        return None
    unlisted = {
        word: [number for number, part in enumerate(parts)
               if isinstance(part, PrefixEntry) and part.bound and word not in part.top]
        for word in known
    }
    cut = sorted(known.values(), reverse=True)[SCORED_EXPANSIONS - 1]
    for word, numbers in unlisted.items():
        if numbers and known[word] + sum(parts[number].bound for number in numbers) >= cut:
            known[word] += sum(leaves[number].doc_frequency(fieldname, word) for number in numbers)
    # A word whose count was left a lower bound stays below `cut`, and so below every word chosen.
    chosen = sorted(known, key=lambda word: (-known[word], word))[:SCORED_EXPANSIONS]
    if sum(part.bound for part in parts if isinstance(part, PrefixEntry)) >= known[chosen[-1]]:
        return None
    return {word: known[word] for word in chosen}


def weighed_part(node: wq.Query, reader) -> wq.Query:
    """What of a query word weighs in the ranking: a prefix of more than SCORED_EXPANSIONS words
    as the OR of its most frequent words (where proximity looks for it too), anything else as is."""
    if not isinstance(node, ListedPrefix):
        return node
    expansion = prefix_expansion(node, reader)
    if expansion is not None:
        return wq.Or([wq.Term(node.field(), word, boost=1.0) for word in expansion.scored])
    terms = expansion_terms(node, reader)
    scored = [term for term in terms if term.boost]
    return wq.Or(scored) if len(scored) < len(terms) else node


def prefix_words(reader, fieldname: str, text: str) -> list[bytes]:
    """The words of the field that start with `text`, sorted: what Whoosh's expand_prefix gives,
    from the word lists.  Kept with the reader, whose segments never change, and not to be
    changed: a query asks for its prefix's words three times (to evaluate it, to weigh it for
    proximity, to find where it stands), 4-5 ms each for a short prefix at 100k articles."""
    kept = reader.__dict__.setdefault(_PREFIX_WORDS, {})
    words = kept.get((fieldname, text))
    if words is None:
        if len(kept) >= KEPT_PREFIXES:
            kept.clear()  # a server's reader lives long: its requests' prefixes die with their processes, not its own
        words = kept[fieldname, text] = _words_starting(reader, fieldname, text)
    return words


# The reader's attribute holding its prefixes' words (prefix_words), and how many it holds at most.
_PREFIX_WORDS = "archsearch_prefix_words"
KEPT_PREFIXES = 64


def merge_word_lists(reader, fieldname: str) -> None:
    """Merges the word lists of the field of every segment of the reader into one sorted run of
    distinct words, kept with the reader, where prefix_words finds a prefix's words by one binary
    search instead of two per segment and length (11 segments and about 25 lengths for `cease` at
    100k: 2.5-3.8 ms of a live search's keystroke, forked).  The server does so when it warms a
    generation (53 ms and 430 KB for `exact` at 100k), for the requests it forks; nothing where a
    segment has no word lists (then prefix_words walks the segments as before)."""
    found = set()
    for leaf, _ in reader.leaf_readers():
        groups = segment_word_lists(leaf).get(fieldname)
        if groups is None:
            return
        for words in groups.values():
            found.update(words.split(SEPARATOR))
    found.discard(b"")
    reader.__dict__.setdefault(_MERGED_WORDS, {})[fieldname] = SEPARATOR.join(sorted(found))


# A prefix's words are read from a segment's term file rather than its word lists (_words_starting)
# while no segment has more than this many: a term costs ~2 µs there, a search of the lists ~0.3 ms a
# segment, whatever the prefix.
WALKED_WORDS = 64

# The reader's attribute holding its fields' merged word lists (merge_word_lists).
_MERGED_WORDS = "archsearch_merged_words"


def _words_starting(reader, fieldname: str, text: str) -> list[bytes]:
    start = text.encode("utf-8")
    merged = reader.__dict__.get(_MERGED_WORDS, {}).get(fieldname)
    if merged is not None:
        words = _lines_starting(merged, start)
        return words.split(SEPARATOR) if words else []
    length = len(text)
    found = set()
    walk = True  # until a segment shows the prefix has many words
    for leaf, _ in reader.leaf_readers():
        if walk and _kept_key(leaf) not in _kept:
            # Where this process has not loaded the segment's lists (a query without the server),
            # a prefix of few words is read from the term file, whose cursor finds it with one
            # search: its lists' groups would be located (mapped_word_groups) and searched, one
            # search per length (`syria cease*` at 100k: 2.8 ms, the term file 0.9).
            words = list(islice(leaf.expand_prefix(fieldname, text), WALKED_WORDS + 1))
            if len(words) <= WALKED_WORDS:
                found.update(words)
                continue
            walk = False
        groups = _word_groups(leaf, fieldname)
        if groups is None:
            found.update(leaf.expand_prefix(fieldname, text))
            continue
        for letters, (lines, low, high) in groups.items():
            if letters < length:
                continue
            words = _lines_starting(lines, start, low, high)
            if words:
                found.update(words.split(SEPARATOR))
    return sorted(found)


def fuzzy_words(reader, fieldname: str, text: str, maxdist: int, prefix: int) -> list[str]:
    """The words of the field within `maxdist` edits of `text` that start with its first `prefix`
    letters, sorted: what Whoosh's IndexReader.terms_within gives, from the word lists."""
    from rapidfuzz import process
    from rapidfuzz.distance import OSA

    found = set()
    start = text[:prefix].encode("utf-8")
    for leaf, _ in reader.leaf_readers():
        groups = _word_groups(leaf, fieldname)
        if groups is None:
            found.update(IndexReader.terms_within(leaf, fieldname, text, maxdist, prefix))
            continue
        for length in range(max(len(text) - maxdist, 1), len(text) + maxdist + 1):
            group = groups.get(length)
            if group is None:
                continue
            lines, low, high = group
            words = _lines_starting(lines, start, low, high) if start else lines[low:high]
            if not words:
                continue
            candidates = words.decode("utf-8").split("\n")
            for word, _, _ in process.extract_iter(text, candidates, scorer=OSA.distance, score_cutoff=maxdist):
                # Whoosh's distance decides, so the words are exactly those of Whoosh's expansion.
                if distance(word, text, limit=maxdist) <= maxdist:
                    found.add(word)
    return sorted(found)


def _lines_starting(lines, start: bytes, low: int = 0, high: int | None = None) -> bytes:
    """The run of sorted lines that start with `start`, by binary search (the lines: `lines` from
    `low` to `high`, bytes or a mapped file)."""
    if high is None:
        high = len(lines)
    # UTF-8 has no byte 0xff: every line with the prefix sorts before prefix + 0xff.
    first = _first_line_from(lines, start, low, high)
    found = lines[first : _first_line_from(lines, start + b"\xff", first, high)]
    return found.rstrip(SEPARATOR)  # the slice ends where the next line starts


def _first_line_from(lines, key: bytes, low: int = 0, high: int | None = None) -> int:
    """Where the first line not below `key` starts in sorted lines separated by SEPARATOR (`lines`
    from `low` to `high`; `high` when there is none), by binary search over the bytes."""
    end_of_lines = len(lines) if high is None else high
    high = end_of_lines  # low is the start of a line; the lines from high on are not below key
    while low < high:
        middle = (low + high) // 2
        start = lines.rfind(SEPARATOR, low, middle) + 1 or low
        end = lines.find(SEPARATOR, start, end_of_lines)
        if end < 0:
            end = end_of_lines
        if lines[start:end] < key:
            low = min(end + 1, end_of_lines)
        else:
            high = start
    return low


def _word_groups(leaf, fieldname: str) -> dict[int, tuple] | None:
    """The groups of a field's words in a segment, by length in letters, each as (lines, start,
    end): the words are lines[start:end]; None when the segment lists none of the field's.  From
    the lists this process keeps (the server loads them for the requests it forks), else from the
    segment's file where they lie (mapped_word_groups), else loaded."""
    kept = _kept.get(_kept_key(leaf))
    if kept is None:
        mapped = mapped_word_groups(leaf)
        if mapped is not None:
            lines, fields = mapped
            groups = fields.get(fieldname)
            return None if groups is None else {letters: (lines, *span) for letters, span in groups.items()}
        kept = segment_word_lists(leaf)
    groups = kept.get(fieldname)
    return None if groups is None else {letters: (words, 0, len(words)) for letters, words in groups.items()}


def _kept_key(leaf) -> tuple | None:
    """Where a segment's word lists are kept in this process (_kept, _mapped): by folder and name,
    as segment names are random, but drawn from the `random` module, which a program (or a test)
    may have seeded alike for two indexes; None for an EmptyReader."""
    segment = getattr(leaf, "_segment", None)
    if segment is None:
        return None
    storage = leaf._storage
    return (segment_folder(storage) or id(storage), segment.make_filename(WORD_LIST_EXTENSION))


def mapped_word_groups(leaf) -> tuple | None:
    """(the file holding a segment's word lists, mapped; field -> length in letters -> (start, end)
    of that group of words in it), read from the pickle's opcodes without unpickling a word; ({},
    {}) for a segment without word lists; None where the lists are not in a file of the segment's
    folder, or not pickled as WordLists.write pickles them (then they are loaded whole)."""
    segment = getattr(leaf, "_segment", None)
    if segment is None:  # an EmptyReader: an index with no committed segment
        return {}, {}
    key = _kept_key(leaf)
    found = _mapped.get(key)
    if found is not None:
        _mapped.move_to_end(key)
        return found
    storage = leaf._storage
    name = key[1]
    folder = segment_folder(storage)
    if folder is None:
        return None
    if not storage.file_exists(name):
        return {}, {}
    compound = getattr(storage, "a", None)  # a compound segment's storage is an overlay on the folder
    try:
        if compound is not None and hasattr(compound, "range") and compound.file_exists(name):
            path = os.path.join(folder, segment.make_filename(segment.COMPOUND_EXT))
            start, length = compound.range(name)
        else:
            path, start = os.path.join(folder, name), 0
            length = os.path.getsize(path)
        import mmap  # here: lean_imports defers it, and a served request never gets this far

        with open(path, "rb") as stream:
            lines = mmap.mmap(stream.fileno(), 0, access=mmap.ACCESS_READ)
    except (OSError, ValueError, AttributeError):
        return None
    fields = _pickled_word_groups(lines, start, start + length)
    if fields is None:
        lines.close()
        return None
    found = _mapped[key] = (lines, fields)
    if len(_mapped) > KEPT_SEGMENTS:
        _mapped.popitem(last=False)
    return found


# The segments whose word lists a process searches mapped (mapped_word_groups), at most
# KEPT_SEGMENTS: each map holds a descriptor of its file (mmap keeps a copy of it).
_mapped: OrderedDict[tuple, tuple] = OrderedDict()

_U16, _U32, _I32, _U64 = struct.Struct("<H"), struct.Struct("<I"), struct.Struct("<i"), struct.Struct("<Q")


def _pickled_word_groups(data, position: int, end: int) -> dict | None:
    """What WordLists.write pickled in data[position:end] (a dict of field names, each a dict of
    lengths, each the bytes of a group of words), with (start, end) in data for each bytes: the
    opcodes of such a pickle stepped through, each group's bytes skipped (pickle.loads would copy
    every word).  None for a pickle with any other opcode or shape."""
    stack: list = []
    marks: list[int] = []
    memo: list = []
    try:
        while position < end:
            op = data[position]
            position += 1
            if op == 0x94:  # MEMOIZE
                memo.append(stack[-1])
            elif op == 0x4B:  # BININT1
                stack.append(data[position])
                position += 1
            elif op in (0x43, 0x42, 0x8E):  # SHORT_BINBYTES, BINBYTES, BINBYTES8
                if op == 0x43:
                    size = data[position]
                    position += 1
                elif op == 0x42:
                    size = _U32.unpack_from(data, position)[0]
                    position += 4
                else:
                    size = _U64.unpack_from(data, position)[0]
                    position += 8
                stack.append((position, position + size))
                position += size
            elif op == 0x8C or op == 0x58:  # SHORT_BINUNICODE, BINUNICODE
                if op == 0x8C:
                    size = data[position]
                    position += 1
                else:
                    size = _U32.unpack_from(data, position)[0]
                    position += 4
                stack.append(data[position : position + size].decode("utf-8"))
                position += size
            elif op == 0x7D:  # EMPTY_DICT
                stack.append({})
            elif op == 0x28:  # MARK
                marks.append(len(stack))
            elif op == 0x75:  # SETITEMS
                mark = marks.pop()
                items = stack[mark:]
                del stack[mark:]
                stack[-1].update(zip(items[::2], items[1::2]))
            elif op == 0x73:  # SETITEM
                value = stack.pop()
                item = stack.pop()
                stack[-1][item] = value
            elif op == 0x4D:  # BININT2
                stack.append(_U16.unpack_from(data, position)[0])
                position += 2
            elif op == 0x4A:  # BININT
                stack.append(_I32.unpack_from(data, position)[0])
                position += 4
            elif op == 0x68:  # BINGET: an object pickled before (a one-byte group of two fields is one object)
                stack.append(memo[data[position]])
                position += 1
            elif op == 0x6A:  # LONG_BINGET
                stack.append(memo[_U32.unpack_from(data, position)[0]])
                position += 4
            elif op == 0x95:  # FRAME
                position += 8
            elif op == 0x80:  # PROTO
                position += 1
            elif op == 0x2E:  # STOP
                break
            else:
                return None
        else:
            return None  # no STOP
    except (IndexError, TypeError, AttributeError, ValueError, struct.error):
        return None
    if position != end or marks or len(stack) != 1 or not isinstance(stack[0], dict):
        return None
    fields = stack[0]
    for fieldname, groups in fields.items():
        if not isinstance(fieldname, str) or not isinstance(groups, dict):
            return None
        for letters, span in groups.items():
            if type(letters) is not int or not isinstance(span, tuple) or span[1] > end:
                return None
    return fields


def segment_word_lists(leaf) -> dict:
    """The word lists of a segment reader's segment, by field then length; {} when it has none."""
    key = _kept_key(leaf)
    if key is None:  # an EmptyReader: an index with no committed segment
        return {}
    storage, name = leaf._storage, key[1]
    lists = _kept.get(key)
    if lists is not None:
        _kept.move_to_end(key)
        return lists
    if not storage.file_exists(name):
        return {}
    with storage.open_file(name) as stream:
        lists = pickle.loads(stream.read())
    _kept[key] = lists
    if len(_kept) > KEPT_SEGMENTS:
        _kept.popitem(last=False)
    return lists
