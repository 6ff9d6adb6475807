"""Which language an article is in: declared by its format, or identified from its text.

Identification uses py3langid (a maintained fork of langid.py: a naive Bayes model over byte
n-grams for 140 languages, shipped inside its wheel, so nothing is downloaded).  It is loaded on
first use only (numpy and 0.7 s), which indexing pays once per worker and queries never.
Languages are kept as ISO 639-1 codes (``ru``, ``fa``); the few the identifier names by a
regional code are folded into their language (Egyptian and Moroccan Arabic -> ``ar``, Southern
Uzbek -> ``uz``, Cantonese and Wu -> ``zh``), and those with no two-letter code keep their
three letters.
"""

import contextlib
import functools
import re

# The opening of an article decides: the identifier's accuracy no longer grows past a few
# sentences, and its cost grows with the length.
IDENTIFY_CHARS = 600
# Too few letters to say anything: a table of figures, a caption, a one-word file.
MIN_LETTERS = 12

_REGIONAL = {"ary": "ar", "arz": "ar", "uzs": "uz", "yue": "zh", "wuu": "zh"}
# Three-letter (ISO 639-2/3) codes and names that exports and feeds declare for the languages of
# the region, with Dari (prs) and Farsi as Persian, and Norwegian Bokmål as Norwegian.
_DECLARED = {
    "ara": "ar", "arb": "ar", "deu": "de", "ger": "de", "eng": "en", "fas": "fa", "per": "fa",
    "prs": "fa", "pes": "fa", "fra": "fr", "fre": "fr", "pus": "ps", "pbu": "ps", "pst": "ps",
    "rus": "ru", "spa": "es", "tur": "tr", "ukr": "uk", "uzb": "uz", "uzn": "uz", "zho": "zh",
    "chi": "zh", "cmn": "zh", "urd": "ur", "hin": "hi", "tgk": "tg", "tuk": "tk", "kaz": "kk",
    "kir": "ky", "por": "pt", "ita": "it", "nob": "no", "nb": "no", "nno": "nn",
    "english": "en", "russian": "ru", "persian": "fa", "farsi": "fa", "dari": "fa", "pashto": "ps",
    "uzbek": "uz", "arabic": "ar", "turkish": "tr", "german": "de", "french": "fr",
    "spanish": "es", "ukrainian": "uk", "chinese": "zh", "urdu": "ur", "tajik": "tg",
}
_TWO_LETTERS = re.compile(r"[a-z]{2}")


@functools.cache
def _enough_letters() -> re.Pattern:
    """A text with MIN_LETTERS letters ([^\\W\\d_]) or more, matched from its start: what is no
    letter ([\\W\\d_]) taken possessively, so a text with fewer fails in one pass.  One match in C,
    where counting the letters a match at a time took 2-3 µs a text; compiled on first use (0.1
    ms), by indexing alone."""
    return re.compile(rf"[\W\d_]*+(?:[^\W\d_][\W\d_]*+){{{MIN_LETTERS}}}")


def language_code(declared: str) -> str:
    """An ISO 639-1 code from a declared language (``en-US``, ``fa_AF``, ``prs``, ``Russian``);
    "" when it names none (three-letter codes are known for the languages of the region only)."""
    declared = declared.strip().lower()
    if declared in _DECLARED:
        return _DECLARED[declared]
    primary = re.split(r"[-_\s]", declared, maxsplit=1)[0]
    if primary in _DECLARED:
        return _DECLARED[primary]
    if primary in _REGIONAL:
        return _REGIONAL[primary]
    return primary if _TWO_LETTERS.fullmatch(primary) else ""


# The identifier's automaton over bytes is an Aho-Corasick one: its state after a byte is the
# longest string just read that begins one of its byte n-grams, at most this many bytes long (the
# model's deepest state; tests check it), so it is the state reached from the start by the last
# AUTOMATON_DEPTH bytes alone.
AUTOMATON_DEPTH = 6
# A byte that UTF-8 never holds, so that no n-gram of the model does: it leads every state back to
# the start (tests check it).  Put before the text, it lets the bytes of its opening be stepped
# over as all the others are (AUTOMATON_DEPTH bytes back), with no step of their own.
RESET_BYTE = 0xFF
# Every weight of the model is a negative normal float16 number (a logarithm of a probability far
# from 0 and 1; tests check it), whose float32 bits are its bits shifted by 13 plus this (modulo
# 2**32): the difference of the exponents' biases (112 << 23) and of the sign's places.
NEGATIVE_NORMAL_FLOAT32_OFFSET = (1 << 31) - (1 << 28) + (112 << 23)


class ArrayIdentifier:
    """py3langid's LanguageIdentifier.classify (its own model, raw scores), with the same result,
    scores equal to the bit: its automaton is run at every byte at once by numpy (AUTOMATON_DEPTH
    steps over the text, not a step of Python per byte).

    An article's opening is ~600 bytes, so that numpy's cost per call (µs) counts, as does its
    conversion of float16 (~4 ns a number, with no SIMD here; 40,000 numbers an article): the
    first two steps of the automaton are one look-up in a table of every pair of bytes, and the
    weights of the features met are made float32 by integer arithmetic.  An article's opening
    takes 1.9x less CPU so than with each step sliced, two argsorts and numpy's conversion
    (bench/README.md).

    The weights stay the float16 rows the model holds, converted as they are scored: a float32
    copy took 28 MiB more, and freeing the float16 table (a block of 28 MiB) raised glibc's
    threshold for mapping large blocks apart, which left an indexing process's heap fragmented: it
    grew by 113 MiB in 3,000 articles instead of 43."""

    def __init__(self):
        import numpy as np
        from py3langid.langid import RAW_FLOOR, LanguageIdentifier

        model = model_arrays()
        self._np = np
        self._encode = LanguageIdentifier._encode
        self._next = model["nextmove"]
        self._row_starts = model["nextmove_row"].astype(np.int32) << 8
        # The row of the state reached from the start by each pair of bytes.  Every look-up of a
        # state read from the moves is bounded (mode="clip"): the copy's moves are not checked
        # (UNCHECKED_ARRAYS), and a damaged one must not fail.
        pairs = np.arange(1 << 16)
        after_first = self._next[self._row_starts[0] + (pairs >> 8)]
        after_pair = self._next[self._row_starts.take(after_first, mode="clip") + (pairs & 0xFF)]
        self._row_after_pair = self._row_starts.take(after_pair, mode="clip")
        # A view of the copy's mapping where the model's features are int32 (py3langid's are).
        self._output = model["out_feat"].astype(np.int32, copy=False)
        self._weight_bits = model["ptc"].view(np.uint16)
        self._priors = model["pc"]
        self._classes = model["classes"].tolist()
        # LanguageIdentifier._set_alias_pairs: (first, later) columns of a label met twice
        first: dict[str, int] = {}
        self._aliases = [(first[label], index) for index, label in enumerate(self._classes)
                         if first.setdefault(label, index) != index]
        self._floor = RAW_FLOOR

    def states(self, data: bytes):
        """The automaton's state after each byte of `data`."""
        np = self._np
        count = len(data)
        read = bytes([RESET_BYTE]) * (AUTOMATON_DEPTH - 1) + data
        letters = np.frombuffer(read, np.uint8)
        # Each byte with the one after it, as a big-endian 16-bit number: a view of `read` (its
        # items overlap), not a copy.
        pairs = np.ndarray((count,), ">u2", read, strides=(1,))
        rows = self._row_after_pair.take(pairs)
        # mode="clip": with `out`, take's default mode copies through a buffer (the rows are all
        # in the table anyway).
        for ahead in range(2, AUTOMATON_DEPTH - 1):
            rows += letters[ahead : ahead + count]
            self._row_starts.take(self._next.take(rows, mode="clip"), out=rows, mode="clip")
        rows += letters[AUTOMATON_DEPTH - 1 :]
        return self._next.take(rows, mode="clip")

    def features(self, data: bytes):
        """The features met in `data` in the order first met, and how often each, as py3langid's
        visit_counts counts them."""
        return self.features_of([data])[0]

    def features_of(self, datas: list[bytes]) -> list:
        """features() of each of `datas`, found for them all at once (_features_together)."""
        features, counts, ends = self._features_together(datas)
        return [(features[start:end], counts[start:end]) for start, end in zip([0, *ends], ends)]

    def _features_together(self, datas: list[bytes]):
        """The features of each of `datas` as features() finds them, and their counts, one text's
        after the other's, and where each text's end: the automaton runs over the texts joined,
        each after AUTOMATON_DEPTH - 1 reset bytes as states() puts before one, and the features
        are sorted as one.  numpy's cost per call (µs) is paid once for them all, not once an
        article."""
        np = self._np
        separator = bytes([RESET_BYTE]) * (AUTOMATON_DEPTH - 1)
        found = self._output.take(self.states(separator.join(datas)), mode="clip")
        met = found >= 0
        found = found[met]
        count = len(found)
        if not count:
            return found, found, [0] * len(datas)
        # Each feature, labelled with its text, with its place below it, in one number: sorted
        # (numpy's SIMD sort), by text and feature, then place, in a third of the time of an
        # argsort(kind="stable").
        keys = found.astype(np.int64)
        if len(datas) > 1:
            # The text each place is in (a reset byte's state is the start, which has no feature).
            owners = np.repeat(np.arange(len(datas)), [len(data) + len(separator) for data in datas])[: len(met)][met]
            keys += owners * len(self._weight_bits)
        shift = count.bit_length()
        keys <<= shift
        keys |= np.arange(count)
        keys.sort()
        labelled = keys >> shift
        starts = np.flatnonzero(np.concatenate(([True], labelled[1:] != labelled[:-1])))
        # Each feature's count at its first place; not np.diff(starts, append=...), whose Python
        # costs ~15 µs a call.
        at_first_place = np.zeros(count, np.int64)
        at_first_place[keys[starts] & ((1 << shift) - 1)] = np.concatenate((starts[1:], [count])) - starts
        first_places = at_first_place > 0
        features, counts = found[first_places], at_first_place[first_places]
        if len(datas) == 1:
            return features, counts, [len(features)]
        return features, counts, np.cumsum(np.bincount(owners[first_places], minlength=len(datas))).tolist()

    def raw_scores(self, data: bytes):
        """py3langid's raw scores of `data` (LanguageIdentifier._raw_score)."""
        return self.raw_scores_of([data])[0]

    def raw_scores_of(self, datas: list[bytes]):
        """raw_scores() of each of `datas`, a row each: each text's weights are summed by a product
        of its own, as py3langid's (a product of many texts' might add in another order); the
        rest (the counts' logarithms, the priors) is done for all the texts at once."""
        np = self._np
        features, counts, ends = self._features_together(datas)
        logs = np.log1p(counts.astype(np.float32))
        scores = np.zeros((len(datas), len(self._classes)), np.float32)
        featureless = []
        for number, start, end in zip(range(len(datas)), [0, *ends], ends):
            if start == end:
                featureless.append(number)
                continue
            # Cast, then shifted in place: 0.9x the time of a left_shift that casts.
            weights = self._weight_bits.take(features[start:end], axis=0).astype(np.uint32)
            weights <<= 13
            weights += NEGATIVE_NORMAL_FLOAT32_OFFSET
            np.matmul(logs[start:end], weights.view(np.float32), out=scores[number])
        scores += self._priors
        if featureless:  # scores the floor everywhere, the priors left out (py3langid's)
            scores[featureless] = self._floor
        return scores

    def classify(self, text: str) -> str:
        return self.classify_all([text])[0]

    def classify_all(self, texts: list[str]) -> list[str]:
        """classify() of each of `texts`."""
        np = self._np
        scores = self.raw_scores_of([self._encode(text) for text in texts])
        for first, alias in self._aliases:
            np.maximum(scores[:, first], scores[:, alias], out=scores[:, first])
            scores[:, alias] = self._floor
        return [self._classes[best] for best in scores.argmax(axis=1).tolist()]


# py3langid's model ships compressed with xz: decompressing it costs each process that identifies a
# language 0.4-0.5 s of CPU (each indexing worker, every run that reads a changed file).  The arrays
# are kept uncompressed in the user's cache folder, named after the model's SHA-256, written by
# the first process that decompresses them and mapped by the next (mmap), not read: every process
# identifying languages shares the page cache's one copy, where a copy read from an .npz was 80 MiB
# of each indexing worker's memory and 0.14 s of its CPU.
MODEL_ARRAYS = ("ptc", "pc", "classes", "nextmove", "nextmove_row", "out_feat")
# The copy's name: the format of its arrays (raised when archsearch keeps them otherwise), then the
# model's digest.
MODEL_CACHE_PREFIX = "langid-model-2-"
MODEL_CACHE_SUFFIX = ".arrays"
# Copies of every format (format 1 was an .npz), and partial copies.
MODEL_CACHE_FAMILY = re.compile(r"^langid-model-.*\.(npz|arrays|tmp)$")
# A copy is this, its header's length and CRC-32 (4 bytes each, little-endian), its header (JSON: the
# size of its arrays' part, and each array's name, dtype, shape, offset in that part and CRC-32),
# then that part, from the first multiple of ARRAY_ALIGNMENT after the header, each array at a
# multiple of it (a view of a mapping needs its items aligned).
MODEL_COPY_MAGIC = b"archsearch langid arrays\n"
ARRAY_ALIGNMENT = 64
# Arrays whose CRC-32 is neither kept nor checked: the weights and the automaton's moves, 64 MiB of
# the model's 65.  Checking them would cost each process that maps the copy 24 ms of CPU (3x what
# mapping and checking the rest costs, a quarter of what reading the .npz did) and bring all their
# pages into it, against a rare damage: the copy is written whole or not at all (write_cache_file),
# so only the disk or another program changes it afterwards.  The identifier's look-ups into them
# are bounded (mode="clip") and the small arrays that say where they lead are checked, so that a
# damaged byte there can change a language, never fail; deleting the copy is always safe.
UNCHECKED_ARRAYS = frozenset({"ptc", "nextmove"})
# A copy no other installation has made anew for this long is taken to be left by an upgrade (68 MB
# each); an installation still using it only decompresses the model once more.
STALE_COPY_SECONDS = 30 * 24 * 3600


def model_arrays() -> dict:
    """py3langid's model as its arrays (MODEL_ARRAYS, as its model file holds them), mapped from
    the uncompressed copy in the cache folder, else from the model, then kept there; a missing,
    damaged, foreign or unwritable copy only means decompressing the model."""
    import hashlib
    import os

    from py3langid.langid import MODEL_DIR, MODEL_FILE

    from archsearch.lean_imports import cache_folder, write_cache_file

    source = MODEL_DIR / MODEL_FILE
    folder = cache_folder()
    if folder is None:
        return _decompressed_model(source)
    digest = hashlib.sha256(source.read_bytes()).hexdigest()[:32]
    path = os.path.join(folder, f"{MODEL_CACHE_PREFIX}{digest}{MODEL_CACHE_SUFFIX}")
    kept = _kept_model(path)
    if kept is not None:
        return kept
    arrays = _decompressed_model(source)
    if write_cache_file(path, lambda out: write_model_copy(out, arrays)):
        _remove_stale_copies(folder, keep=path)
    return arrays


def _remove_stale_copies(folder: str, keep: str) -> None:
    """Removes copies of other models or formats, and partial copies of killed processes, that have
    not been written for STALE_COPY_SECONDS."""
    import os
    import time

    stale = time.time() - STALE_COPY_SECONDS
    with contextlib.suppress(OSError), os.scandir(folder) as entries:
        for entry in entries:
            if entry.path == keep or not MODEL_CACHE_FAMILY.match(entry.name):
                continue
            with contextlib.suppress(OSError):
                if entry.is_file(follow_symlinks=False) and entry.stat(follow_symlinks=False).st_mtime < stale:
                    os.unlink(entry.path)


def _aligned(offset: int) -> int:
    return -(-offset // ARRAY_ALIGNMENT) * ARRAY_ALIGNMENT


def write_model_copy(out, arrays: dict) -> None:
    """Writes `arrays` to the stream `out` as a copy of the model is laid out (MODEL_COPY_MAGIC)."""
    import json
    import zlib

    import numpy as np

    arrays = {name: np.ascontiguousarray(array) for name, array in arrays.items()}
    layout, end = [], 0
    for name, array in arrays.items():
        offset = _aligned(end)
        layout.append([name, array.dtype.str, list(array.shape), offset,
                       None if name in UNCHECKED_ARRAYS else zlib.crc32(array)])
        end = offset + array.nbytes
    header = json.dumps({"size": end, "arrays": layout}).encode()
    opening = MODEL_COPY_MAGIC + len(header).to_bytes(4, "little") + zlib.crc32(header).to_bytes(4, "little") + header
    out.write(opening)
    arrays_start, position = _aligned(len(opening)), len(opening)
    for (_, _, _, offset, _), array in zip(layout, arrays.values()):
        out.write(bytes(arrays_start + offset - position))
        out.write(array.reshape(-1).view(np.uint8))
        position = arrays_start + offset + array.nbytes


def _kept_model(path: str) -> dict | None:
    """The arrays of the copy at path, mapped, or None where there is none, or it is not a regular
    file (a FIFO would block), or one that another user could write, or it is not laid out as a
    copy (_mapped_arrays), or shaped otherwise than py3langid's model (another program's file)."""
    import mmap
    import os
    import stat

    from archsearch.lean_imports import written_by_us_alone

    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        info = os.fstat(descriptor)
        # Reading a mapping past the end of a file cut shorter kills the process (SIGBUS): no copy
        # is mapped that another user could cut, nor one shorter than its header says
        # (_mapped_arrays).  archsearch never cuts one (a new copy is renamed into place, leaving
        # the old one whole to those mapping it); its owner could, as they could kill the process.
        if not stat.S_ISREG(info.st_mode) or not written_by_us_alone(info) or not info.st_size:
            return None
        mapping = mmap.mmap(descriptor, info.st_size, access=mmap.ACCESS_READ)
    except (OSError, ValueError):
        return None
    finally:
        os.close(descriptor)
    arrays = _mapped_arrays(mapping)
    return arrays if arrays is not None and _shaped_as_the_model(arrays) else None


def _mapped_arrays(mapping) -> dict | None:
    """MODEL_ARRAYS as views of `mapping`, a copy of the model, or None where it is no copy: another
    opening, a header damaged (its CRC-32), a size other than its header says, an array of another
    name or kind or outside the mapping or misaligned, a checked array damaged (its CRC-32)."""
    import json
    import math
    import zlib

    import numpy as np

    magic_end = len(MODEL_COPY_MAGIC)
    if mapping[:magic_end] != MODEL_COPY_MAGIC:
        return None
    header_start = magic_end + 8
    header = mapping[header_start : header_start + int.from_bytes(mapping[magic_end : magic_end + 4], "little")]
    if zlib.crc32(header) != int.from_bytes(mapping[magic_end + 4 : header_start], "little"):
        return None
    arrays_start = _aligned(header_start + len(header))
    arrays = {}
    try:
        layout = json.loads(header)
        size = layout["size"]
        if arrays_start + size != len(mapping):
            return None
        for name, dtype, shape, offset, crc in layout["arrays"]:
            dtype = np.dtype(dtype)
            if (name not in MODEL_ARRAYS or dtype.kind not in "fiuU" or offset % ARRAY_ALIGNMENT
                    or not all(type(length) is int and length >= 0 for length in shape)
                    or not 0 <= offset <= offset + math.prod(shape) * dtype.itemsize <= size):
                return None
            array = np.frombuffer(mapping, dtype, math.prod(shape), arrays_start + offset).reshape(shape)
            if name not in UNCHECKED_ARRAYS and zlib.crc32(array) != crc:
                return None
            arrays[name] = array
    except (ValueError, TypeError, KeyError, OverflowError):
        return None
    return arrays if arrays.keys() == set(MODEL_ARRAYS) else None


def _shaped_as_the_model(arrays: dict) -> bool:
    """Whether `arrays` are shaped as py3langid's model, every state's row of moves inside the
    moves and every feature a row of the weights: no look-up of the identifier's goes outside them."""
    import numpy as np

    ptc, pc, classes = arrays["ptc"], arrays["pc"], arrays["classes"]
    moves, rows, output = arrays["nextmove"], arrays["nextmove_row"], arrays["out_feat"]
    return (
        ptc.dtype == np.float16 and ptc.ndim == 2 and pc.dtype == np.float32 and classes.dtype.kind == "U"
        and pc.shape == classes.shape == ptc.shape[1:]
        and moves.dtype.kind == "u" and moves.ndim == 1 and rows.dtype.kind == "u" and output.dtype.kind == "i"
        and rows.shape == output.shape == (rows.size,) and rows.size > 0
        and (int(rows.max()) + 1) << 8 <= moves.size and int(output.max()) < len(ptc)
    )


def _decompressed_model(source) -> dict:
    """MODEL_ARRAYS of py3langid's model file, read as py3langid reads it."""
    import numpy as np
    from py3langid.modelio import load_model

    ptc, pc, classes, nextmove, row, output = load_model(source)
    return {
        "ptc": np.asarray(ptc), "pc": np.asarray(pc), "classes": np.array(classes),
        "nextmove": np.frombuffer(nextmove, np.dtype(nextmove.typecode)),
        "nextmove_row": np.frombuffer(row, np.dtype(row.typecode)),
        "out_feat": np.asarray(output, np.int32),
    }


_identifier = None


def _get_identifier() -> ArrayIdentifier:
    global _identifier
    if _identifier is None:
        _identifier = ArrayIdentifier()
    return _identifier


def identify_language(text: str) -> str:
    """The ISO 639-1 code of the language ``text`` is written in; "" when it is too short to tell."""
    return identify_languages([text])[0]


def identify_languages(texts: list[str]) -> list[str]:
    """identify_language() of each of `texts`, identified together (ArrayIdentifier.features_of)."""
    openings = [text[:IDENTIFY_CHARS] for text in texts]
    enough_letters = _enough_letters()
    told = [index for index, text in enumerate(openings) if enough_letters.match(text)]
    codes = [""] * len(texts)
    if told:
        for index, code in zip(told, _get_identifier().classify_all([openings[index] for index in told])):
            if code != "zxx":  # "no linguistic content"
                codes[index] = _REGIONAL.get(code, code)
    return codes


def article_language(declared: str, title: str, body: str) -> str:
    """The declared language when it names one, else the one identified from the title and body."""
    return article_languages([(declared, title, body)])[0]


def article_languages(articles: list[tuple[str, str, str]]) -> list[str]:
    """article_language() of each of `articles` (declared, title, body), those that declare none
    identified together."""
    codes = [language_code(declared) for declared, _, _ in articles]
    undeclared = [index for index, code in enumerate(codes) if not code]
    # Only the opening is read (IDENTIFY_CHARS): not a copy of a body of megabytes first.
    texts = [f"{articles[index][1]}\n{articles[index][2][:IDENTIFY_CHARS]}" for index in undeclared]
    for index, code in zip(undeclared, identify_languages(texts)):
        codes[index] = code
    return codes
