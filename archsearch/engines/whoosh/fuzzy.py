"""Fuzzy words (`talibn~`, `talibn~2`) expanded against word lists made for it, not the term dictionary.

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

A segment without word lists (written before they existed, or by Whoosh's own writer) is expanded
by Whoosh's way, one term at a time: slower, never different.
"""

import pickle
from collections import OrderedDict

from whoosh import query as wq
from whoosh.reading import IndexReader
from whoosh.support.levenshtein import distance

# The fields a fuzzy word can be asked of: the words of title and body as written (where an
# unfielded fuzzy word looks), and the fields a query may name.
WORD_LIST_FIELDS = frozenset({"exact", "title", "body", "source", "place", "section", "path", "url", "author"})

# Beside a segment's files, named after it, so that Whoosh removes it with the segment and a
# compound segment takes it in.
WORD_LIST_EXTENSION = ".words"

# Segments whose word lists a process keeps (the server answers many queries): a segment never
# changes, so they stay right as long as it exists.
KEPT_SEGMENTS = 64
_kept: OrderedDict[str, dict] = OrderedDict()

# What separates the words of a group; no analyzer keeps a line break in a term.
SEPARATOR = b"\n"


class WordLists:
    """The words of a segment being written, field by field, grouped by length in letters."""

    def __init__(self, fieldnames):
        self._groups: dict[str, dict[int, list[bytes]]] = {
            name: {} for name in fieldnames if name in WORD_LIST_FIELDS
        }

    def add(self, fieldname: str, term: bytes) -> None:
        """Add a term of the field; terms come in sorted order, as a segment writes them."""
        groups = self._groups.get(fieldname)
        if groups is not None:
            groups.setdefault(len(term.decode("utf-8")), []).append(term)

    def write(self, storage, segment) -> None:
        lists = {
            name: {length: SEPARATOR.join(words) for length, words in groups.items()}
            for name, groups in self._groups.items()
            if not any(SEPARATOR in word for words in groups.values() for word in words)
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


def listed_fuzzy_terms(query: wq.Query) -> wq.Query:
    """The query with each of its FuzzyTerms expanded against the word lists."""
    return query.accept(lambda node: ListedFuzzyTerm.like(node) if type(node) is wq.FuzzyTerm else node)


def fuzzy_words(reader, fieldname: str, text: str, maxdist: int, prefix: int) -> list[str]:
    """The words of the field within `maxdist` edits of `text` that start with its first `prefix`
    letters, sorted: what Whoosh's IndexReader.terms_within gives, from the word lists."""
    from rapidfuzz import process
    from rapidfuzz.distance import OSA

    found = set()
    start = text[:prefix].encode("utf-8")
    for leaf, _ in reader.leaf_readers():
        groups = segment_word_lists(leaf).get(fieldname)
        if groups is None:
            found.update(IndexReader.terms_within(leaf, fieldname, text, maxdist, prefix))
            continue
        for length in range(max(len(text) - maxdist, 1), len(text) + maxdist + 1):
            words = groups.get(length)
            if not words:
                continue
            if start:
                # UTF-8 has no byte 0xff: every word with the prefix sorts before prefix + 0xff
                words = words[_first_line_from(words, start) : _first_line_from(words, start + b"\xff")]
                words = words.rstrip(SEPARATOR)  # the slice ends where the next word starts
            if not words:
                continue
            candidates = words.decode("utf-8").split("\n")
            for word, _, _ in process.extract_iter(text, candidates, scorer=OSA.distance, score_cutoff=maxdist):
                # Whoosh's distance decides, so the words are exactly those of Whoosh's expansion.
                if distance(word, text, limit=maxdist) <= maxdist:
                    found.add(word)
    return sorted(found)


def _first_line_from(lines: bytes, key: bytes) -> int:
    """Where the first line not below `key` starts in sorted lines separated by SEPARATOR (their
    length when there is none), by binary search over the bytes."""
    low, high = 0, len(lines)  # low is the start of a line; the lines from high on are not below key
    while low < high:
        middle = (low + high) // 2
        start = lines.rfind(SEPARATOR, low, middle) + 1 or low
        end = lines.find(SEPARATOR, start)
        if end < 0:
            end = len(lines)
        if lines[start:end] < key:
            low = min(end + 1, len(lines))
        else:
            high = start
    return low


def segment_word_lists(leaf) -> dict:
    """The word lists of a segment reader's segment, by field then length; {} when it has none."""
    segment = getattr(leaf, "_segment", None)
    if segment is None:  # an EmptyReader: an index with no committed segment
        return {}
    name = segment.make_filename(WORD_LIST_EXTENSION)
    lists = _kept.get(name)
    if lists is not None:
        _kept.move_to_end(name)
        return lists
    storage = leaf._storage
    if not storage.file_exists(name):
        return {}
    with storage.open_file(name) as stream:
        lists = pickle.loads(stream.read())
    _kept[name] = lists
    if len(_kept) > KEPT_SEGMENTS:
        _kept.popitem(last=False)
    return lists
