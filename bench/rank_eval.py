#!/usr/bin/env python3
"""Known-item ranking evaluation of archsearch on a real corpus, and tuning of its ranking knobs.

    python bench/rank_eval.py                # evaluate the current ranking on bench/corpora/4k
    python bench/rank_eval.py --grid         # tune FIELD_BOOSTS["title"] and BM25F_PARAMETERS
    python bench/rank_eval.py --kinds [--per-kind N]  # every kind of question: options, plain BM25F
    python bench/rank_eval.py --kinds [--tune KNOB=V1,V2] [--set KNOB=V] [--no-tune] [--out FILE]
                              [--against OTHER.json]   # tune any knobs; compare with another version
    python bench/rank_eval.py --corpus DIR [--truth FILE] [--rebuild] [--grid-engine library]

The corpus is a folder written by bench/make_corpus.py with its truth file beside it
(DIR.truth.jsonl). The index is built with archsearch's own `update_index` into
bench/results/rank_eval/index-<corpus>-<key>/, where the key hashes the corpus path and the
sources of schema.py, formats/, analysis/ and indexing.py: rebuilt when any of them changes, reused
otherwise.

Known-item test. An article is a known item when its real headline is unique in the corpus
(`title_unique`) and has at least 3 usable words. A usable word is a headline token (as the
index's analyser splits it) of 2+ letters or digits and nothing else ("F**k" and "U.S" are
left out, so no query syntax slips in), not in STOP_WORDS, whose stem occurs in the corpus
(title or body of some article). The query is the k usable words with the highest IDF
(fewest articles containing the stem; ties go to the earlier word), lowercased (so "Or" and
"Not" are never operators) and in headline order:

* "3 words": k = 3, what a reader who remembers a headline would type;
* "2 words": k = 2, the harder variant (less evidence, more ties).

The rarest words are the ones a person remembers and make the query specific. For web pages
the headline is the file's title line, so those words are always in the target. Wire copy
has no headline in the file (its title field is the lead sentence), so its headline words may
be missing from the text: the all-words query then finds nothing or only other articles.
Both are counted: `zero` = the query matched no article, `miss` = it did not match the target.

Each query runs with the default all-words semantics and with --any. The metrics are
success@1, success@10 and MRR@10 (reciprocal rank, 0 beyond rank 10), overall and per shape
(wire / web). Score ties are ordered as Whoosh orders them (by document number). Ranks are
Whoosh's, before search() folds near-identical copies into one hit; a sample of search()
calls checks that they agree.

Tuning (--grid). Items are split in halves by the first byte of blake2b(path): "tune" and
"held-out". The objective is MRR@10 averaged over the four conditions (2 query lengths x 2
semantics), then over the two shapes, so that each shape counts the same: the 80/20 wire/web
split is make_corpus's choice, not a property of archives, and the shapes pull the title
boost in opposite directions (a wire title is its lead sentence, also in the body; a web
title is the real headline). The item-weighted ("micro") average is reported too.

The grid, FIELD_BOOSTS["title"] x K1 x B x title_B (240 settings), is scored on the tune
half. Simpler settings are preferred: for n = 0..4, the best tune setting that changes n
knobs from the baseline (the values before tuning; n = 0 is the baseline) is scored on the
held-out half, and the chosen one is the one with the fewest changes whose held-out objective
is within one paired standard error of the best of these five. It is recommended only if its
held-out gain over the baseline exceeds two paired standard errors. (The held-out half thus
picks among five nested candidates; the grid itself never sees it.)

Speed. The knobs are read at query time: FIELD_BOOSTS becomes term boosts when the query is
parsed, BM25F_PARAMETERS makes the searcher's weighting. The "library" engine monkeypatches
both constants and runs the parsed query on one Whoosh searcher per setting (3-6 ms a query).
For the grid (240 x 7,000 queries) that is too slow, so the "fast" engine re-scores the same
parsed queries from postings gathered once, with Whoosh's BM25F formula and statistics (idf,
quantised field lengths, average lengths) taken from the searcher. It is checked against the
library on a sample (target ranks and top-10 lists must agree), and the final tables come
from the library.

Every kind of question (--kinds). Headline words are one kind of question only; tuning on
them alone hid losses on others (issue 14). --kinds draws, per known item, a question of each
kind (see questions_of_every_kind: headline, passage, topic+date, typo), up to N per kind and
half, and runs them through search() itself, all words required as a user types them, ranks
before copies are folded. The title boost is tuned on the tune half (mean MRR@10 over the
kinds, each kind counting the same), then the chosen setting is run on the held-out half with
the zero-results fallback (relax_when_empty) off and on, with --any, --fix and --expand
(CONFIGURATIONS), and on a plain Whoosh BM25F index of the same articles (PlainIndex); the
tables give MRR@10 and success@10 per kind and shape, and a sign test and a paired
randomisation test for each pair of COMPARISONS.

Results: tables on stdout, and JSON in bench/results/rank_eval-<corpus>[-grid|-kinds].json.
"""

import argparse
import dataclasses
import hashlib
import itertools
import json
import math
import re
import shutil
import statistics
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import archsearch.querying as querying  # noqa: E402
import archsearch.searching as searching  # noqa: E402
from archsearch.indexing import update_index  # noqa: E402
from archsearch.engines.whoosh.store import open_index  # noqa: E402

RESULTS = REPO / "bench" / "results"
DEFAULT_CORPUS = REPO / "bench" / "corpora" / "4k"

# Function words never picked as query words. "us" is left out on purpose: in news it is the US.
STOP_WORDS = frozenset(
    """a about after against all also an and any are as at be been before being but by can could did do
    does for from had has have he her his how i if in into is it its may me might more most my no nor not
    of off on once only or other our out over own she should so some such than that the their them then
    there these they this those through to too under until up very was we were what when where which while
    who whom why will with would yet you your""".split()
)

LENGTHS = (3, 2)  # words per query: the main variant and the harder one
MIN_WORDS = max(LENGTHS)
SEMANTICS = ("all", "any")
CONDITIONS = tuple((k, s) for k in LENGTHS for s in SEMANTICS)
SHAPES = ("wire", "web")
TOP = 10

# The values before tuning: Whoosh's BM25F defaults, titles boosted x2.
BASELINE = {"title": 2.0, "K1": 1.2, "B": 0.75, "title_B": 0.75}
GRID = {
    "title": (1.0, 1.5, 2.0, 3.0, 5.0),
    "K1": (0.9, 1.2, 1.6, 2.0),
    "B": (0.4, 0.6, 0.75, 0.9),
    "title_B": (0.0, 0.3, 0.75),
}
KNOBS = tuple(GRID)


def label(setting: dict) -> str:
    lead = "".join(f", {name} x{setting[name]:g}" for name in WEIGHED_FIELDS if name in setting)
    text = f"title x{setting['title']:g}{lead}, K1 {setting['K1']:g}, B {setting['B']:g}, title_B {setting['title_B']:g}"
    return text + (f", proximity {setting['proximity']:g}" if "proximity" in setting else "")


def current_setting() -> dict:
    params = searching.BM25F_PARAMETERS
    setting = {
        "title": float(querying.FIELD_BOOSTS.get("title", 1.0)),
        "K1": float(params.get("K1", 1.2)),
        "B": float(params.get("B", 0.75)),
        "title_B": float(params.get("title_B", params.get("B", 0.75))),
        "proximity": float(getattr(searching, "PROXIMITY_WEIGHT", 0.0)),
    }
    for name in WEIGHED_FIELDS:  # versions with these fields (issues 14 and 18)
        if name in querying.FIELD_BOOSTS:
            setting[name] = float(querying.FIELD_BOOSTS[name])
    return setting


@contextmanager
def ranking_knobs(setting: dict):
    """Set FIELD_BOOSTS and BM25F_PARAMETERS for the duration, as a user editing them would."""
    saved = querying.FIELD_BOOSTS, searching.BM25F_PARAMETERS, getattr(searching, "PROXIMITY_WEIGHT", None)
    querying.FIELD_BOOSTS = {**saved[0], **{name: setting[name] for name in ("title", *WEIGHED_FIELDS) if name in setting}}
    searching.BM25F_PARAMETERS = {
        **saved[1], "K1": setting["K1"], "B": setting["B"], "title_B": setting["title_B"]
    }
    if saved[2] is not None:
        searching.PROXIMITY_WEIGHT = setting.get("proximity", saved[2])
    try:
        yield
    finally:
        querying.FIELD_BOOSTS, searching.BM25F_PARAMETERS = saved[:2]
        if saved[2] is not None:
            searching.PROXIMITY_WEIGHT = saved[2]


def make_weighting():
    if hasattr(searching, "weighting"):
        return searching.weighting()
    from whoosh.scoring import BM25F

    return BM25F(**searching.BM25F_PARAMETERS)


def whoosh_query(text: str, schema, any_words: bool):
    parsed = querying.parse_query(text, schema, any_words=any_words)
    return getattr(parsed, "query", parsed)  # parse_query returns a ParsedQuery or a bare Whoosh query


# --------------------------------------------------------------------------- index


def index_key(corpus: Path) -> str:
    digest = hashlib.blake2b(str(corpus.resolve()).encode(), digest_size=6)
    sources = [REPO / "archsearch" / name for name in ("schema.py", "indexing.py")]
    sources += sorted((REPO / "archsearch" / "formats").glob("*.py"))
    sources += sorted((REPO / "archsearch" / "analysis").glob("*.py"))
    for source in sources:
        digest.update(source.read_bytes() if source.exists() else b"")
    return digest.hexdigest()


def ensure_index(corpus: Path, rebuild: bool) -> Path:
    cache = RESULTS / "rank_eval"
    index_dir = cache / f"index-{corpus.name}-{index_key(corpus)}"
    for old in cache.glob(f"index-{corpus.name}-*"):
        if old != index_dir or rebuild:
            shutil.rmtree(old)
    cache.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    report = update_index(index_dir, [str(corpus)])
    changed = report.added + report.updated + report.removed
    print(
        f"index {index_dir.relative_to(REPO)}: {report.total} articles"
        + (f" ({changed} (re)indexed in {time.perf_counter() - started:.0f} s)" if changed else " (reused)"),
        file=sys.stderr,
    )
    if report.skipped:
        print(f"  {len(report.skipped)} files skipped, e.g. {report.skipped[0]}", file=sys.stderr)
    return index_dir


# --------------------------------------------------------------------------- known items


@dataclass
class Item:
    path: str
    shape: str
    title: str
    half: str  # "tune" or "held-out"
    docnum: int
    queries: dict = field(default_factory=dict)  # k -> query text
    words: dict = field(default_factory=dict)  # k -> [(word, df)]


def half_of(path: str) -> str:
    return "tune" if hashlib.blake2b(path.encode()).digest()[0] % 2 == 0 else "held-out"


class DocFrequencies:
    """Articles containing a stem in the title or the body, from the index itself."""

    def __init__(self, reader):
        self.reader = reader
        self.cache = {}

    def __call__(self, stem: str) -> int:
        if stem not in self.cache:
            docs = set()
            for fieldname in querying.DEFAULT_FIELDS:
                if (fieldname, stem) in self.reader:
                    docs.update(self.reader.postings(fieldname, stem).all_ids())
            self.cache[stem] = len(docs)
        return self.cache[stem]


# Letters and digits only, 2+ of them: "F**k" would be a wildcard query, "U.S." is left out.
_PLAIN_WORD = re.compile(r"[^\W_]{2,}")


def usable_words(title: str, analyzer, df) -> list[tuple[int, str, int]]:
    """(position, surface word, df) for each distinct usable stem of the headline."""
    found = {}
    # Index mode, in the corpus's language: the terms the index holds (a query's words are
    # only analysed per language later, when the query is parsed).
    for position, token in enumerate(analyzer(title, chars=True, language="en")):
        surface = title[token.startchar : token.endchar]
        if not _PLAIN_WORD.fullmatch(surface) or surface.lower() in STOP_WORDS or token.text in found:
            continue
        frequency = df(token.text)
        if frequency:
            found[token.text] = (position, surface, frequency)
    return list(found.values())


def known_items(truth_file: Path, searcher) -> tuple[list[Item], dict]:
    reader = searcher.reader()
    docnums = {stored["path"]: docnum for docnum, stored in reader.iter_docs()}
    analyzer = searcher.schema["title"].analyzer
    df = DocFrequencies(reader)
    items, excluded = [], {"title not unique or empty": 0, f"fewer than {MIN_WORDS} usable words": 0, "not in index": 0}
    for line in truth_file.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        if not (row.get("title_unique") and row.get("title", "").strip()):
            excluded["title not unique or empty"] += 1
            continue
        if row["path"] not in docnums:
            excluded["not in index"] += 1
            continue
        words = usable_words(row["title"], analyzer, df)
        if len(words) < MIN_WORDS:
            excluded[f"fewer than {MIN_WORDS} usable words"] += 1
            continue
        rarest = sorted(words, key=lambda w: (w[2], w[0]))
        item = Item(row["path"], row["shape"], row["title"], half_of(row["path"]), docnums[row["path"]])
        for k in LENGTHS:
            chosen = sorted(rarest[:k])  # back in headline order
            item.queries[k] = " ".join(word.lower() for _, word, _ in chosen)
            item.words[k] = [(word, frequency) for _, word, frequency in chosen]
        items.append(item)
    return items, excluded


# --------------------------------------------------------------------------- engines


def rank_in(scores: dict, target: int) -> int | None:
    """1-based rank of target among scored docs (ties by document number, as Whoosh), None if unmatched."""
    if target not in scores:
        return None
    mine = scores[target]
    return 1 + sum(1 for doc, score in scores.items() if score > mine or (score == mine and doc < target))


class LibraryEngine:
    """archsearch's own query path: constants monkeypatched, one Whoosh searcher per setting."""

    def __init__(self, ix):
        self.ix = ix

    def run(self, setting: dict, items, conditions=CONDITIONS, top=False):
        """{(path, k, semantics): (rank or None beyond TOP, query matched anything, target matched[, top docnums])}"""
        out = {}
        with ranking_knobs(setting), self.ix.searcher(weighting=make_weighting()) as searcher:
            for item in items:
                for k, semantics in conditions:
                    query = whoosh_query(item.queries[k], self.ix.schema, semantics == "any")
                    results = searcher.search(query, limit=TOP)
                    docs = [hit.docnum for hit in results]
                    rank = docs.index(item.docnum) + 1 if item.docnum in docs else None
                    matched = rank is not None or (
                        bool(docs) and not searcher.search(query, filter={item.docnum}, limit=1).is_empty()
                    )
                    entry = (rank, bool(docs), matched)
                    out[(item.path, k, semantics)] = (*entry, docs) if top else entry
        return out


class FastEngine:
    """The same parsed queries re-scored from postings gathered once (Whoosh's BM25F, exactly)."""

    def __init__(self, ix, searcher, items):
        from whoosh import query as wq

        self.wq = wq
        self.searcher = searcher
        reader = searcher.reader()
        self.fields = list(querying.DEFAULT_FIELDS)
        self.avg = {f: searcher.avg_field_length(f) or 1 for f in self.fields}
        self.lengths = {
            f: [searcher.doc_field_length(doc, f, 1) for doc in range(reader.doc_count_all())] for f in self.fields
        }
        self.postings_cache = {}
        self.prepared = {}
        self.unsupported = 0
        for item in items:
            for k, semantics in CONDITIONS:
                query = whoosh_query(item.queries[k], ix.schema, semantics == "any")
                self.prepared[(item.path, k, semantics)] = self.prepare(query, item.docnum)

    def postings(self, fieldname, text):
        key = (fieldname, text)
        if key not in self.postings_cache:
            reader = self.searcher.reader()
            found = {}
            if key in reader:
                matcher = reader.postings(fieldname, text)
                while matcher.is_active():
                    found[matcher.id()] = matcher.weight()
                    matcher.next()
            self.postings_cache[key] = found
        return self.postings_cache[key]

    def matching(self, node) -> set:
        wq = self.wq
        if isinstance(node, wq.Term):
            return set(self.postings(node.fieldname, node.text))
        if isinstance(node, (wq.And, wq.Or)) and type(node) in (wq.And, wq.Or) and node.boost == 1:
            sets = [self.matching(sub) for sub in node.subqueries]
            if not sets:
                return set()
            return set.intersection(*sets) if isinstance(node, wq.And) else set.union(*sets)
        raise NotImplementedError(repr(node))

    def leaves(self, node):
        if isinstance(node, self.wq.Term):
            yield node
        else:
            for sub in node.subqueries:
                yield from self.leaves(sub)

    def prepare(self, query, target):
        """(target doc, [matched docs], [(slot, field, idf, tf, length)]): all a setting needs to score."""
        try:
            matched = sorted(self.matching(query))
        except NotImplementedError:
            self.unsupported += 1
            return None
        slot_of = {doc: slot for slot, doc in enumerate(matched)}
        entries = []
        for term in self.leaves(query):
            if term.fieldname not in self.avg:
                self.unsupported += 1
                return None
            idf = self.searcher.idf(term.fieldname, term.text)
            lengths = self.lengths[term.fieldname]
            for doc, tf in self.postings(term.fieldname, term.text).items():
                if doc in slot_of:
                    entries.append((slot_of[doc], term.fieldname, idf, tf, lengths[doc]))
        return target, matched, entries

    def run(self, setting: dict, keys, top=False):
        K1 = setting["K1"]
        boost = {**querying.FIELD_BOOSTS, "title": setting["title"]}
        # Whoosh's BM25F: FIELD_B for a field, else B (only title_B is a knob here).
        B = {name: setting["title_B"] if name == "title" else setting["B"] for name in self.fields}
        avg = self.avg
        out = {}
        for key in keys:
            target, matched, entries = self.prepared[key]
            scores = [0.0] * len(matched)
            for slot, fieldname, idf, tf, length in entries:
                b = B[fieldname]
                # whoosh.scoring.bm25, then the term's boost (WrappingMatcher), summed per document
                bm25 = idf * ((tf * (K1 + 1)) / (tf + K1 * ((1 - b) + b * length / avg[fieldname])))
                scores[slot] += bm25 * boost[fieldname]
            scored = dict(zip(matched, scores))
            rank = rank_in(scored, target)
            out[key] = (rank if rank and rank <= TOP else None, bool(matched), target in scored)
            if top:
                out[key] += (sorted(scored, key=lambda doc: (-scored[doc], doc))[:TOP],)
        return out


# --------------------------------------------------------------------------- metrics


def reciprocal(rank) -> float:
    return 1.0 / rank if rank and rank <= TOP else 0.0


def metrics(items, runs, k, semantics) -> dict:
    ranks = [runs[(item.path, k, semantics)] for item in items]
    n = len(ranks)
    if not n:
        return {"n": 0}
    return {
        "n": n,
        "zero_hits": sum(1 for _, any_hit, _ in ranks if not any_hit),
        "target_unmatched": sum(1 for _, _, matched in ranks if not matched),
        "success@1": sum(1 for rank, _, _ in ranks if rank == 1) / n,
        "success@10": sum(1 for rank, _, _ in ranks if rank and rank <= TOP) / n,
        "MRR@10": sum(reciprocal(rank) for rank, _, _ in ranks) / n,
    }


def table(items, runs) -> dict:
    """{"3 words/all": {"all": {...}, "wire": {...}, "web": {...}}, ...}"""
    out = {}
    for k, semantics in CONDITIONS:
        out[f"{k} words/{semantics}"] = {
            shape: metrics([i for i in items if shape == "all" or i.shape == shape], runs, k, semantics)
            for shape in ("all", *SHAPES)
        }
    return out


def per_item_objective(items, runs) -> list[float]:
    return [sum(reciprocal(runs[(i.path, k, s)][0]) for k, s in CONDITIONS) / len(CONDITIONS) for i in items]


def paired(a: list[float], b: list[float]) -> tuple[float, float]:
    """Mean of a - b and its standard error."""
    diffs = [x - y for x, y in zip(a, b)]
    if len(diffs) < 2:
        return 0.0, 0.0
    return statistics.fmean(diffs), statistics.stdev(diffs) / math.sqrt(len(diffs))


class Objective:
    """Mean MRR@10 over the four conditions, per shape; the tuning objective is the mean of the shapes."""

    def __init__(self, items, runs):
        per_item = per_item_objective(items, runs)
        self.by_shape = {shape: [v for i, v in zip(items, per_item) if i.shape == shape] for shape in SHAPES}
        self.shapes = {shape: statistics.fmean(v) for shape, v in self.by_shape.items() if v}
        self.value = statistics.fmean(self.shapes.values())  # each shape counts the same
        self.micro = statistics.fmean(per_item)  # each item counts the same (80% wire in make_corpus)

    def minus(self, other: "Objective") -> tuple[float, float]:
        """Paired difference of the objective and its standard error."""
        parts = [paired(self.by_shape[s], other.by_shape[s]) for s in self.shapes]
        return (
            statistics.fmean(d for d, _ in parts),
            math.sqrt(sum(se * se for _, se in parts)) / len(parts),
        )

    def summary(self) -> dict:
        return {"objective": self.value, "micro": self.micro, **self.shapes}


def print_tables(title: str, columns: list[tuple[str, dict]]) -> None:
    print(f"\n{title}")
    for name, _ in columns:
        print(f"  [{name}]")
    head = f"{'query':<14}{'shape':<6}{'n':>6}{'zero':>6}{'miss':>6}"
    for index in range(len(columns)):
        head += f" | {'s@1':>6}{'s@10':>6}{'MRR@10':>7}" + (f" [{index + 1}]" if len(columns) > 1 else "")
    print(head)
    print("-" * len(head))
    first = columns[0][1]
    for condition, shapes in first.items():
        for shape, cells in shapes.items():
            if not cells.get("n"):
                continue
            line = f"{condition if shape == 'all' else '':<14}{shape:<6}"
            line += f"{cells['n']:>6}{cells['zero_hits']:>6}{cells['target_unmatched']:>6}"
            for _, columns_table in columns:
                m = columns_table[condition][shape]
                line += f" | {m['success@1']:>6.3f}{m['success@10']:>6.3f}{m['MRR@10']:>7.3f}" + (
                    "    " if len(columns) > 1 else ""
                )
            print(line)
    print("zero = the query matched no article; miss = it did not match the target (the same in every column)")


def failures(items, runs, k, semantics, per_shape=10) -> list[dict]:
    """The first few items per shape whose target is not ranked first."""
    out = []
    taken = dict.fromkeys(SHAPES, 0)
    for item in items:
        rank, any_hit, matched = runs[(item.path, k, semantics)][:3]
        if rank == 1 or taken[item.shape] >= per_shape:
            continue
        taken[item.shape] += 1
        out.append(
            {
                "path": item.path,
                "shape": item.shape,
                "title": item.title,
                "query": item.queries[k],
                "df": [frequency for _, frequency in item.words[k]],
                "rank": rank or ("below 10" if matched else "no hits" if not any_hit else "target not matched"),
            }
        )
    return out


def outcome_counts(items, runs, k, semantics) -> dict:
    """Per shape: how the target fared (first, 2-10, below 10, not matched, query matched nothing)."""
    out = {}
    for shape in SHAPES:
        counts = dict.fromkeys(("first", "2-10", "below 10", "target not matched", "no hits"), 0)
        for item in items:
            if item.shape != shape:
                continue
            rank, any_hit, matched = runs[(item.path, k, semantics)][:3]
            outcome = "first" if rank == 1 else "2-10" if rank else "below 10" if matched else "target not matched"
            counts["no hits" if not any_hit else outcome] += 1
        out[shape] = counts
    return out


# --------------------------------------------------------------------------- every kind of question

# The kinds of known-item question (--kinds), each typed as a user would, all words required:
KINDS = ("headline", "passage", "topic+date", "typo")
TOPIC_DF = (5, 300)  # a topic word occurs in this many articles
TITLE_BOOSTS = (1.0, 1.5, 2.0)  # tuned on the tune half with --kinds (x3 was the worst of x1-x3 before)
LEAD_BOOSTS = (0.0, 0.25, 0.5, 1.0)  # and with them, where the index has a lead field
# Fields weighed in ranking besides title and body, in versions that have them.
WEIGHED_FIELDS = ("lead", "derived_title")
PROXIMITY_WEIGHTS = (0.0, 0.25, 0.5, 1.0, 2.0, 4.0)  # tuned on the tune half with --kinds --proximity
RANDOMISATIONS = 10_000


@dataclass
class Question:
    kind: str
    path: str
    shape: str
    half: str
    text: str
    month: str | None = None  # YYYY-MM: --since and --until, for topic+date questions


def questions_of_every_kind(items, truth_file: Path, searcher, per_kind: int) -> list[Question]:
    """Up to `per_kind` questions of each kind per half, drawn with a random.Random seeded by
    the article's path, so the set is the same on every run:

    * headline: the "3 words" query of the known item;
    * passage: 4-6 consecutive words starting 30-60% into the body;
    * topic+date: 2 distinct body words whose stems occur in TOPIC_DF articles, and the
      article's month as a date window (dated articles only: make_corpus's web pages have none);
    * typo: the headline query with one edit (deletion, insertion, substitution or swap of
      neighbours) past the first letter of one word of 4+ letters.
    """
    import random

    from archsearch.engines.whoosh.store import article_body

    reader = searcher.reader()
    stored_by_path = {stored["path"]: stored for _, stored in reader.iter_docs()}
    analyzer = searcher.schema["body"].analyzer
    df = DocFrequencies(reader)
    truth = {row["path"]: row for row in map(json.loads, truth_file.read_text(encoding="utf-8").splitlines())}
    found = []
    for item in items:
        rng = random.Random(item.path)
        body = article_body(stored_by_path[item.path])
        words = _PLAIN_WORD.findall(body)
        common = dict(path=item.path, shape=item.shape, half=item.half)
        found.append(Question("headline", text=item.queries[3], **common))
        if len(words) >= 20:
            length = rng.randint(4, 6)
            start = rng.randint(int(len(words) * 0.3), int(len(words) * 0.6) - length)
            found.append(Question("passage", text=" ".join(words[start : start + length]).lower(), **common))
        date = truth.get(item.path, {}).get("date")
        if date and truth[item.path].get("date_in_file"):
            topical = sorted({
                token.text: body[token.startchar : token.endchar].lower()
                for token in analyzer(body, chars=True, language="en")
                if _PLAIN_WORD.fullmatch(body[token.startchar : token.endchar])
                and body[token.startchar : token.endchar].lower() not in STOP_WORDS
                and TOPIC_DF[0] <= df(token.text) <= TOPIC_DF[1]
            }.values())
            if len(topical) >= 2:
                found.append(Question("topic+date", text=" ".join(rng.sample(topical, 2)), month=date[:7], **common))
        typo = misspelt(item.queries[3], rng)
        if typo:
            found.append(Question("typo", text=typo, **common))
    chosen = []
    for kind in KINDS:
        for half in ("tune", "held-out"):
            group = [q for q in found if q.kind == kind and q.half == half]
            chosen += random.Random(f"{kind}:{half}").sample(group, min(per_kind, len(group)))
    return chosen


def misspelt(query: str, rng) -> str | None:
    words = query.split()
    candidates = [n for n, word in enumerate(words) if len(word) >= 4]
    if not candidates:
        return None
    n = rng.choice(candidates)
    word = words[n]
    at = rng.randint(1, len(word) - 1)
    letter = rng.choice("abcdefghijklmnopqrstuvwxyz".replace(word[at], ""))
    edit = rng.choice(("delete", "insert", "substitute", "swap"))
    if edit == "swap" and at + 1 < len(word) and word[at] != word[at + 1]:
        word = word[:at] + word[at + 1] + word[at] + word[at + 2 :]
    elif edit == "delete":
        word = word[:at] + word[at + 1 :]
    elif edit == "insert":
        word = word[:at] + letter + word[at:]
    else:
        word = word[:at] + letter + word[at + 1 :]
    words[n] = word
    return " ".join(words)


def reciprocal_ranks(index_dir: Path, questions, setting: dict, relax: bool, **options) -> list[float]:
    """MRR@10's terms: 1/rank of each question's article among search()'s first 10 hits (0 beyond),
    copies not folded, through the library as the command line calls it; `options` are more of
    search()'s (any_words, fix...)."""
    out = []
    with ranking_knobs(setting):
        for question in questions:
            hits = searching.search(
                index_dir, question.text, limit=TOP, since=question.month, until=question.month,
                with_snippets=False, collapse_copies=False, relax_when_empty=relax, **options,
            ).hits
            ids = [hit.id for hit in hits]
            out.append(1.0 / (ids.index(question.path) + 1) if question.path in ids else 0.0)
    return out


# The held-out configurations of --kinds: archsearch as `query` runs with these options, and a
# plain Whoosh index of the same articles (see PlainIndex), all words required or any word.
CONFIGURATIONS = {
    "fallback off": dict(relax=False),  # query --strict
    "fallback on": dict(relax=True),  # query, as a user types it
    "--any": dict(relax=True, any_words=True),
    "--fix": dict(relax=True, fix=True),
    "--expand": dict(relax=True, expand=True),
}
PLAIN = {"plain all": False, "plain any": True}  # any_words
# (reference, compared): the second's reciprocal ranks against the first's, question by question.
COMPARISONS = (
    ("fallback off", "fallback on"),
    ("plain all", "fallback on"),
    ("plain any", "fallback on"),
    ("fallback on", "--fix"),
    ("--any", "--fix"),
    ("fallback on", "--expand"),
)


class PlainIndex:
    """A plain Whoosh BM25F index of the same articles, as a user of Whoosh would build it: title
    and body as archsearch reads them from the files, both with Whoosh's StemmingAnalyzer (Porter,
    English stop words), Whoosh's BM25F defaults (K1 1.2, B 0.75, no field boost), queried with
    MultifieldParser over title and body; no exact or capitals field, no languages, no fallback,
    no near-duplicates. The article's month is a field of its own, for topic+date questions.
    Built into bench/results/rank_eval/plain-<archsearch index key>/, reused while that is."""

    def __init__(self, index_dir: Path, searcher):
        from whoosh import index as whoosh_index

        self.folder = index_dir.with_name(index_dir.name.replace("index-", "plain-", 1))
        for old in index_dir.parent.glob("plain-*"):
            if old != self.folder:
                shutil.rmtree(old)
        if whoosh_index.exists_in(str(self.folder)):
            self.ix = whoosh_index.open_dir(str(self.folder))
        else:
            self.ix = self._build(searcher)

    def _build(self, searcher):
        from whoosh import index as whoosh_index
        from whoosh.analysis import StemmingAnalyzer
        from whoosh.fields import ID, TEXT, Schema

        from archsearch.engines.whoosh.store import article_body

        started = time.perf_counter()
        schema = Schema(path=ID(stored=True), title=TEXT(analyzer=StemmingAnalyzer()),
                        body=TEXT(analyzer=StemmingAnalyzer()), month=ID())
        staging = self.folder.with_name(self.folder.name + ".partial")
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        ix = whoosh_index.create_in(str(staging), schema)
        writer = ix.writer(limitmb=256)
        for _, stored in searcher.reader().iter_docs():
            date = stored.get("date")
            month = f"{date // 10000}-{date // 100 % 100:02d}" if date else ""
            writer.add_document(path=stored["path"], title=stored.get("title", ""), body=article_body(stored), month=month)
        writer.commit()
        staging.rename(self.folder)
        print(f"plain Whoosh index {self.folder.relative_to(REPO)} built in {time.perf_counter() - started:.0f} s", file=sys.stderr)
        return whoosh_index.open_dir(str(self.folder))

    def reciprocal_ranks(self, questions, any_words: bool) -> list[float]:
        from whoosh.qparser import AndGroup, MultifieldParser, OrGroup
        from whoosh.query import Term

        parser = MultifieldParser(["title", "body"], self.ix.schema, group=OrGroup if any_words else AndGroup)
        out = []
        with self.ix.searcher() as searcher:
            for question in questions:
                month = Term("month", question.month) if question.month else None
                hits = searcher.search(parser.parse(question.text), limit=TOP, filter=month)
                ids = [hit["path"] for hit in hits]
                out.append(1.0 / (ids.index(question.path) + 1) if question.path in ids else 0.0)
        return out


def kind_objective(questions, ranks: list[float]) -> float:
    """Mean over the kinds of MRR@10: each kind counts the same, whatever its number of questions."""
    return statistics.fmean(
        statistics.fmean(r for q, r in zip(questions, ranks) if q.kind == kind)
        for kind in KINDS if any(q.kind == kind for q in questions)
    )


def sign_test(first: list[float], second: list[float]) -> tuple[int, int, float]:
    """Questions where the first does better, where the second does, and the two-sided exact p."""
    wins = sum(a > b for a, b in zip(first, second))
    losses = sum(a < b for a, b in zip(first, second))
    n, low = wins + losses, min(wins, losses)
    p = min(1.0, 2 * sum(math.comb(n, i) for i in range(low + 1)) / 2**n) if n else 1.0
    return wins, losses, p


def randomisation_test(first: list[float], second: list[float]) -> float:
    """Two-sided p of the paired randomisation test of the mean difference (signs flipped at random)."""
    import random

    diffs = [a - b for a, b in zip(first, second) if a != b]
    if not diffs:
        return 1.0
    observed = abs(sum(diffs))
    rng = random.Random(0)
    extreme = sum(
        abs(sum(d if rng.random() < 0.5 else -d for d in diffs)) >= observed - 1e-12 for _ in range(RANDOMISATIONS)
    )
    return (extreme + 1) / (RANDOMISATIONS + 1)


def kind_rows(questions, configurations: dict[str, list[float]], comparisons=COMPARISONS) -> list[dict]:
    """Per kind and shape: n and each configuration's MRR@10 and success@10, and for each pair of
    `comparisons` (of configurations present) a sign test and a paired randomisation test."""
    rows = []
    for kind in KINDS:
        for shape in ("all", *SHAPES):
            chosen = [n for n, q in enumerate(questions) if q.kind == kind and shape in ("all", q.shape)]
            if not chosen:
                continue
            row = {"kind": kind, "shape": shape, "n": len(chosen), "compared": {}}
            for name, ranks in configurations.items():
                picked = [ranks[n] for n in chosen]
                row[name] = {"MRR@10": statistics.fmean(picked), "success@10": sum(r > 0 for r in picked) / len(picked)}
            for reference, compared in comparisons:
                if reference in configurations and compared in configurations:
                    a = [configurations[reference][n] for n in chosen]
                    b = [configurations[compared][n] for n in chosen]
                    wins, losses, p_sign = sign_test(b, a)
                    row["compared"][f"{compared} vs {reference}"] = {
                        "better": wins, "worse": losses, "sign_p": p_sign, "randomisation_p": randomisation_test(b, a),
                    }
            rows.append(row)
    return rows


def print_kind_rows(title: str, rows: list[dict], names: list[str]) -> None:
    print(f"\n{title}")
    head = "| kind | shape | n | " + " | ".join(f"{name} MRR@10 | s@10" for name in names) + " |"
    print(head)
    print("|" + "---|" * (head.count("|") - 1))
    for row in rows:
        cells = [row["kind"], row["shape"], str(row["n"])]
        for name in names:
            cells += [f"{row[name]['MRR@10']:.3f}", f"{row[name]['success@10']:.3f}"]
        print("| " + " | ".join(cells) + " |")
    print("\n| kind | shape | comparison | better / worse | sign p | randomisation p |")
    print("|---|---|---|---:|---:|---:|")
    for row in rows:
        for comparison, result in row["compared"].items():
            print(
                f"| {row['kind']} | {row['shape']} | {comparison} | {result['better']} / {result['worse']} "
                f"| {result['sign_p']:.3g} | {result['randomisation_p']:.3g} |"
            )


def evaluate_every_kind(
    index_dir: Path, items, truth: Path, searcher, per_kind: int, current: dict, tune: bool = True,
    against: Path | None = None, grid: dict | None = None,
) -> dict:
    """--kinds: the title (and lead) boost tuned on the tune half (fallback on), then on the held-out
    half the chosen setting with the zero-results fallback off and on, compared question by question.
    Without `tune` the current setting is the chosen one.  `against` is the JSON report of another
    version's --kinds run: its held-out ranks (fallback on) are compared with this run's."""
    questions = questions_of_every_kind(items, truth, searcher, per_kind)
    tune_half = [q for q in questions if q.half == "tune"]
    held = [q for q in questions if q.half == "held-out"]
    print(
        f"questions: {len(tune_half)} tune, {len(held)} held-out: "
        + ", ".join(f"{kind} {sum(q.kind == kind for q in held)}" for kind in KINDS) + " held-out",
        file=sys.stderr,
    )
    tuning, chosen = tuned(index_dir, tune_half, tuned_settings(current, grid)) if tune else ([], current)
    configurations = {}
    for name, options in CONFIGURATIONS.items():
        timed = time.perf_counter()
        configurations[name] = reciprocal_ranks(index_dir, held, chosen, **options)
        print(f"  held-out, {name}: {time.perf_counter() - timed:.0f} s", file=sys.stderr)
    plain = PlainIndex(index_dir, searcher)
    for name, any_words in PLAIN.items():
        configurations[name] = plain.reciprocal_ranks(held, any_words)
    if chosen != current:
        configurations["current, fallback on"] = reciprocal_ranks(index_dir, held, current, True)
    result = {
        "kinds": KINDS,
        "questions": {"tune": len(tune_half), "held-out": len(held)},
        "examples": [dataclasses.asdict(q) for kind in KINDS for q in [q for q in held if q.kind == kind][:3]],
        "tuning": tuning,
        "chosen": chosen,
        **held_out_table(held, configurations, chosen, f"held-out half, {label(chosen)}"),
        "held_out_ranks": [
            {"kind": q.kind, "path": q.path, "text": q.text, **{name: r[n] for name, r in configurations.items()}}
            for n, q in enumerate(held)
        ],
    }
    if against:
        result["against"] = compare_versions(held, configurations["fallback on"], against)
    return result


def tuned(index_dir: Path, tune, settings: list[dict], acceptable=lambda ranks: True) -> tuple[list[dict], dict]:
    """Each setting's objective on the tune questions (fallback on), and the best setting of
    those whose reciprocal ranks are `acceptable`."""
    tuning = []
    for setting in settings:
        ranks = reciprocal_ranks(index_dir, tune, setting, True)
        tuning.append({"setting": setting, "tune_objective": kind_objective(tune, ranks), "acceptable": acceptable(ranks)})
        print(f"  tune: {label(setting)}: {tuning[-1]['tune_objective']:.4f}"
              + ("" if tuning[-1]["acceptable"] else " (a kind worse)"), file=sys.stderr)
    return tuning, max((t for t in tuning if t["acceptable"]), key=lambda t: t["tune_objective"])["setting"]


def worse_kinds(questions, before: list[float], after: list[float]) -> list[str]:
    """The kinds whose questions do worse after than before by the sign test at 5%."""
    worse = []
    for kind in KINDS:
        chosen = [n for n, q in enumerate(questions) if q.kind == kind]
        wins, losses, p = sign_test([after[n] for n in chosen], [before[n] for n in chosen])
        if losses > wins and p < 0.05:
            worse.append(kind)
    return worse


def held_out_table(held, configurations: dict[str, list[float]], chosen: dict, title: str, comparisons=COMPARISONS) -> dict:
    """Print and return the held-out objective and per-kind rows of each configuration."""
    rows = kind_rows(held, configurations, comparisons)
    print(f"\ntuned on the tune half (mean MRR@10 over the kinds, fallback on): {label(chosen)}")
    for name, ranks in configurations.items():
        print(f"  held-out objective, {name}: {kind_objective(held, ranks):.4f}")
    print_kind_rows(title, rows, list(configurations))
    return {
        "held_out_objective": {name: kind_objective(held, ranks) for name, ranks in configurations.items()},
        "held_out": rows,
    }


def tuned_settings(current: dict, grid: dict[str, tuple[float, ...]] | None = None) -> list[dict]:
    """The settings tried on the tune half: by default each title boost, and with a lead field each
    lead boost; `grid` (knob -> values) replaces that."""
    if not grid:
        grid = {"title": TITLE_BOOSTS, **({"lead": LEAD_BOOSTS} if "lead" in current else {})}
    return [{**current, **dict(zip(grid, values))} for values in itertools.product(*grid.values())]


def compare_versions(held, ranks: list[float], against: Path) -> dict:
    """This version's held-out ranks (fallback on) against another version's, question by question
    (questions are matched by kind, article and text; those only one version asked are left out)."""
    report = json.loads(against.read_text(encoding="utf-8"))
    before = {(r["kind"], r["path"], r["text"]): r["fallback on"] for r in report["every_kind"]["held_out_ranks"]}
    common = [n for n, q in enumerate(held) if (q.kind, q.path, q.text) in before]
    questions = [held[n] for n in common]
    configurations = {
        "before": [before[(q.kind, q.path, q.text)] for q in questions],
        "after": [ranks[n] for n in common],
    }
    rows = kind_rows(questions, configurations)
    print(f"\n{len(common)} of {len(held)} held-out questions also in {against}")
    for name, values in configurations.items():
        print(f"  held-out objective, {name}: {kind_objective(questions, values):.4f}")
    print_kind_rows(f"held-out half, {against.name} (before) vs this version (after), fallback on", rows, list(configurations))
    return {"report": str(against), "questions": len(common), "rows": rows,
            "objective": {name: kind_objective(questions, values) for name, values in configurations.items()}}


def evaluate_proximity(index_dir: Path, items, truth: Path, searcher, per_kind: int, current: dict) -> dict:
    """--kinds --proximity: the proximity weight tuned on the tune half (fallback on, the other
    knobs as they are): the best mean MRR@10 over the kinds among the weights that make no kind
    worse than no bonus does (sign test, 5%); then on the held-out half without the bonus and
    with the chosen weight, compared question by question."""
    questions = questions_of_every_kind(items, truth, searcher, per_kind)
    tune = [q for q in questions if q.half == "tune"]
    held = [q for q in questions if q.half == "held-out"]
    without = reciprocal_ranks(index_dir, tune, {**current, "proximity": 0.0}, True)
    tuning, chosen = tuned(
        index_dir, tune, [{**current, "proximity": weight} for weight in PROXIMITY_WEIGHTS],
        acceptable=lambda ranks: not worse_kinds(tune, without, ranks),
    )
    configurations = {
        "proximity off": reciprocal_ranks(index_dir, held, {**current, "proximity": 0.0}, True),
        f"proximity {chosen['proximity']:g}": reciprocal_ranks(index_dir, held, chosen, True),
    }
    return {
        "questions": {"tune": len(tune), "held-out": len(held)},
        "tuning": tuning,
        "chosen": chosen,
        **held_out_table(
            held, configurations, chosen, f"held-out half, proximity off vs {label(chosen)}", tuple(itertools.pairwise(configurations))
        ),
    }


# --------------------------------------------------------------------------- main


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--truth", type=Path, help="default: CORPUS.truth.jsonl")
    parser.add_argument("--grid", action="store_true", help="tune the title boost and BM25F parameters")
    parser.add_argument(
        "--grid-engine", choices=("fast", "library"), default="fast", help="how the grid is scored (default fast)"
    )
    parser.add_argument("--check", type=int, default=150, help="tune items used to check the fast engine (default 150)")
    parser.add_argument("--rebuild", action="store_true", help="build the index from scratch")
    parser.add_argument(
        "--kinds", action="store_true",
        help="questions of every kind (headline, passage, topic+date, typo): tune, then compare the fallback off and on",
    )
    parser.add_argument("--per-kind", type=int, default=400, help="with --kinds, questions per kind and half (default 400)")
    parser.add_argument(
        "--proximity", action="store_true",
        help="with --kinds: tune the proximity weight, then compare it with no proximity bonus on the held-out half",
    )
    parser.add_argument("--no-tune", action="store_true", help="with --kinds, run the current setting without tuning")
    parser.add_argument(
        "--set", action="append", default=[], metavar="KNOB=VALUE",
        help="change a knob of the current setting (title, lead, K1, B, title_B), e.g. --set lead=0.25",
    )
    parser.add_argument("--out", type=Path, help="with --kinds, write the JSON report here")
    parser.add_argument(
        "--tune", action="append", default=[], metavar="KNOB=V1,V2,...",
        help="with --kinds, the values to tune a knob over (repeat for a grid; replaces the default grid)",
    )
    parser.add_argument(
        "--against", type=Path, metavar="REPORT",
        help="with --kinds, compare the held-out ranks with another version's --kinds report (JSON)",
    )
    args = parser.parse_args(argv)
    corpus = args.corpus.resolve()
    truth = args.truth or corpus.with_name(corpus.name + ".truth.jsonl")
    if not corpus.is_dir() or not truth.is_file():
        parser.error(f"need the corpus folder {corpus} and its truth file {truth} (see bench/README.md)")

    started = time.perf_counter()
    index_dir = ensure_index(corpus, args.rebuild)
    ix = open_index(index_dir)
    current = current_setting()
    for knob, _, value in (change.partition("=") for change in args.set):
        if knob not in current:
            parser.error(f"--set {knob}: not a knob of this version ({', '.join(current)})")
        current[knob] = float(value)
    with ix.searcher() as searcher:
        items, excluded = known_items(truth, searcher)
    halves = {name: [i for i in items if i.half == name] for name in ("tune", "held-out")}
    print(
        f"{len(items)} known items ({', '.join(f'{s} {sum(i.shape == s for i in items)}' for s in SHAPES)}; "
        f"tune {len(halves['tune'])}, held-out {len(halves['held-out'])}); excluded: "
        + ", ".join(f"{v} {k}" for k, v in excluded.items()),
        file=sys.stderr,
    )
    report = {
        "corpus": str(corpus.relative_to(REPO) if corpus.is_relative_to(REPO) else corpus),
        "articles": ix.doc_count(),
        "known_items": len(items),
        "by_shape": {s: sum(i.shape == s for i in items) for s in SHAPES},
        "halves": {name: len(group) for name, group in halves.items()},
        "excluded": excluded,
        "query_design": "the k headline words with the highest IDF (title or body), headline order, lowercased",
        "current_setting": current,
        "baseline_setting": BASELINE,
        "examples": [
            {"title": i.title, "shape": i.shape, **{f"{k} words": i.queries[k] for k in LENGTHS}} for i in items[:8]
        ],
    }
    if args.kinds and args.proximity:
        with ix.searcher() as searcher:
            report["proximity"] = evaluate_proximity(index_dir, items, truth, searcher, args.per_kind, current)
        write_report(report, corpus.name + "-proximity", grid=False)
        print(f"({time.perf_counter() - started:.0f} s)", file=sys.stderr)
        return 0
    if args.kinds:
        with ix.searcher() as searcher:
            report["every_kind"] = evaluate_every_kind(
                index_dir, items, truth, searcher, args.per_kind, current, tune=not args.no_tune, against=args.against,
                grid={knob: tuple(map(float, values.split(","))) for knob, _, values in (t.partition("=") for t in args.tune)},
            )
        write_report(report, corpus.name + "-kinds", grid=False, path=args.out)
        print(f"({time.perf_counter() - started:.0f} s)", file=sys.stderr)
        return 0
    library = LibraryEngine(ix)
    report["search_function"] = check_search_function(index_dir, library, items, current)

    if not args.grid:
        timed = time.perf_counter()
        runs = library.run(current, items)
        report["library_ms_per_query"] = (time.perf_counter() - timed) / (len(items) * len(CONDITIONS)) * 1000
        report["current"] = {"all": table(items, runs), **{h: table(g, runs) for h, g in halves.items()}}
        report["outcomes"] = {f"{k} words/{s}": outcome_counts(items, runs, k, s) for k, s in CONDITIONS}
        report["failures"] = {f"{k} words/{s}": failures(items, runs, k, s) for k, s in CONDITIONS}
        print_tables(f"all {len(items)} known items, current setting", [(label(current), report["current"]["all"])])
        print_outcomes(report["outcomes"])
        write_report(report, corpus.name, grid=False)
        print(f"({time.perf_counter() - started:.0f} s)", file=sys.stderr)
        return 0

    tune, held = halves["tune"], halves["held-out"]
    settings = [dict(zip(KNOBS, values)) for values in itertools.product(*(GRID[k] for k in KNOBS))]
    timed = time.perf_counter()
    if args.grid_engine == "fast":
        check_boosts_are_term_boosts(ix)
        engine = FastEngine(ix, ix.searcher(), items)
        if engine.unsupported:
            raise SystemExit(f"the fast engine cannot score {engine.unsupported} parsed queries: use --grid-engine library")
        report["fast_engine_check"] = check_fast_engine(engine, library, tune[: args.check], settings)

        def score(setting, group):
            return engine.run(setting, [(i.path, k, s) for i in group for k, s in CONDITIONS])
    else:
        score = library.run

    # Stage 1, tune half: every setting of the grid.
    grid = []
    for number, setting in enumerate(settings, start=1):
        runs = score(setting, tune)
        objective = Objective(tune, runs)
        grid.append(
            {
                "setting": setting,
                "changes": changes(setting),
                **objective.summary(),
                "per_item": objective,
                "MRR@10": {f"{k} words/{s}": metrics(tune, runs, k, s)["MRR@10"] for k, s in CONDITIONS},
            }
        )
        if number % 40 == 0:
            print(f"  grid {number}/{len(settings)} ({time.perf_counter() - timed:.0f} s)", file=sys.stderr)
    grid_seconds = time.perf_counter() - timed
    grid.sort(key=lambda g: -g["objective"])
    best = grid[0]
    baseline_row = next(g for g in grid if g["setting"] == BASELINE)
    by_micro = max(grid, key=lambda g: g["micro"])

    # Stage 2, held-out half: the best setting for each number of knobs changed from the baseline
    # (0 = the baseline itself); the fewest changes within one paired SE of the best of them wins.
    path = [max(rows, key=lambda g: g["objective"]) for n in range(len(KNOBS) + 1)
            if (rows := [g for g in grid if g["changes"] == n])]
    for step in path:
        step["held_out"] = Objective(held, score(step["setting"], held))
    top = max(path, key=lambda g: g["held_out"].value)
    chosen = next(
        g for g in path if g["held_out"].value >= top["held_out"].value - top["held_out"].minus(g["held_out"])[1]
    )

    # The final numbers, through the library: baseline, chosen, and the best of the tune half.
    held_settings = {"baseline": BASELINE, "chosen": chosen["setting"], "best_on_tune": best["setting"],
                     "best_on_tune_micro": by_micro["setting"], "current": current}
    held_runs = {}
    for name, setting in held_settings.items():
        same = next((held_runs[other] for other in held_runs if held_settings[other] == setting), None)
        held_runs[name] = same or library.run(setting, held)
    held_objective = {name: Objective(held, runs) for name, runs in held_runs.items()}
    gain, se = held_objective["chosen"].minus(held_objective["baseline"])
    adopt = gain > 2 * se
    tune_keys = ("objective", "micro", *SHAPES)
    report["grid"] = {
        "knobs": GRID,
        "objective": "mean MRR@10 over " + ", ".join(f"{k} words/{s}" for k, s in CONDITIONS)
        + ", averaged over the two shapes (micro: over items)",
        "engine": args.grid_engine,
        "seconds": grid_seconds,
        "settings": [{k: v for k, v in g.items() if k not in ("per_item", "held_out")} for g in grid],
        "path": [
            {"changes": g["changes"], "setting": g["setting"], "tune": {k: g[k] for k in tune_keys},
             "held_out": g["held_out"].summary()}
            for g in path
        ],
        "held_out": {name: {"setting": held_settings[name], **held_objective[name].summary()} for name in held_settings},
        "chosen": chosen["setting"],
        "held_out_gain": gain,
        "held_out_gain_se": se,
        "recommendation": "adopt the chosen setting" if adopt else "keep the baseline (gain within noise)",
    }
    report["held_out"] = {name: table(held, runs) for name, runs in held_runs.items()}
    report["outcomes_held_out"] = {
        name: {f"{k} words/{s}": outcome_counts(held, held_runs[name], k, s) for k, s in CONDITIONS}
        for name in ("baseline", "chosen")
    }
    report["failures_held_out_chosen"] = {
        f"{k} words/{s}": failures(held, held_runs["chosen"], k, s) for k, s in CONDITIONS
    }

    print("\ngrid on the tune half, top 10 (objective: mean MRR@10 over the 4 conditions, mean of the shapes):")
    print(f"  {'objective':>9} {'wire':>7} {'web':>7} {'micro':>7}")

    def grid_line(g, note=""):
        print(f"  {g['objective']:>9.4f} {g['wire']:>7.4f} {g['web']:>7.4f} {g['micro']:>7.4f}  {label(g['setting'])}{note}")

    for g in grid[:10]:
        grid_line(g)
    grid_line(baseline_row, f"  (baseline, {grid.index(baseline_row) + 1}. of {len(grid)})")
    grid_line(by_micro, "  (best by micro average)")
    print("\nheld-out half: the best setting for each number of knobs changed (objective, wire, web, micro):")
    for g in path:
        h = g["held_out"]
        mark = "  <- chosen" if g is chosen else ""
        print(f"  {g['changes']}: {h.value:.4f} {h.shapes['wire']:.4f} {h.shapes['web']:.4f} {h.micro:.4f}  "
              f"{label(g['setting'])}{mark}")
    print(f"held-out gain of the chosen setting over the baseline: {gain:+.4f} ± {se:.4f} (paired SE) "
          f"-> {report['grid']['recommendation']}")
    columns = [("baseline, " + label(BASELINE), report["held_out"]["baseline"]),
               ("chosen, " + label(chosen["setting"]), report["held_out"]["chosen"])]
    if current not in (BASELINE, chosen["setting"]):
        columns.append(("current, " + label(current), report["held_out"]["current"]))
    print_tables(f"held-out half ({len(held)} items)", columns)
    print_outcomes(report["outcomes_held_out"]["chosen"], "held-out outcomes, chosen setting")
    write_report(report, corpus.name, grid=True)
    print(f"({time.perf_counter() - started:.0f} s)", file=sys.stderr)
    return 0


def changes(setting: dict) -> int:
    """How many knobs differ from the baseline."""
    return sum(setting[k] != BASELINE[k] for k in KNOBS)


def check_search_function(index_dir, library, items, current) -> dict:
    """Call the real search() on a sample: its time, and that it ranks as the in-process path does."""
    sample = items[:: max(1, len(items) // 40)][:40]
    k = LENGTHS[0]
    timed = time.perf_counter()
    ranks = []
    for item in sample:
        ids = [hit.id for hit in searching.search(index_dir, item.queries[k], limit=TOP).hits]
        ranks.append(ids.index(item.path) + 1 if item.path in ids else None)
    search_ms = (time.perf_counter() - timed) / max(1, len(sample)) * 1000
    timed = time.perf_counter()
    runs = library.run(current, sample, conditions=[(k, "all")])
    library_ms = (time.perf_counter() - timed) / max(1, len(sample)) * 1000
    agree = sum(rank == runs[(item.path, k, "all")][0] for item, rank in zip(sample, ranks))
    print(
        f"search(): {agree}/{len(sample)} target ranks agree with the in-process path; "
        f"{search_ms:.1f} ms/query (with snippets) vs {library_ms:.1f} ms in process",
        file=sys.stderr,
    )
    return {"sample": len(sample), "agree": agree, "search_ms": search_ms, "in_process_ms": library_ms}


def print_outcomes(outcomes: dict, title: str = "outcomes") -> None:
    print(f"\n{title} (where the target ended up, per shape):")
    for condition, shapes in outcomes.items():
        print(f"  {condition:<12}" + "   ".join(
            f"{shape}: " + ", ".join(f"{name} {count}" for name, count in counts.items()) for shape, counts in shapes.items()
        ))


def check_boosts_are_term_boosts(ix) -> None:
    """The fast engine assumes FIELD_BOOSTS reach the index as term boosts on title/body terms."""
    probe = {**BASELINE, "title": 3.25}
    with ranking_knobs(probe):
        query = whoosh_query("alpha beta", ix.schema, any_words=False)
    boosts = {(t.fieldname, t.boost) for t in query.leaves()} if hasattr(query, "leaves") else set()
    others = {(name, querying.FIELD_BOOSTS[name]) for name in querying.default_fields() if name != "title"}
    if boosts != {("title", 3.25), *others}:
        raise SystemExit(f"FIELD_BOOSTS no longer become term boosts ({query}): use --grid-engine library")


def check_fast_engine(engine, library, items, settings) -> dict:
    """Top-10 lists of the fast engine and the library must be identical on a sample of settings."""
    probes = [BASELINE, settings[0], settings[-1], settings[len(settings) // 3], settings[2 * len(settings) // 3]]
    compared = differing = lists_differ = 0
    for setting in probes:
        exact = library.run(setting, items, top=True)
        fast = engine.run(setting, list(exact), top=True)
        for key, found in exact.items():
            compared += 1
            differing += fast[key][:3] != found[:3]
            lists_differ += fast[key][3] != found[3]
    result = {"settings": len(probes), "queries": compared, "rank_differs": differing, "top10_differs": lists_differ}
    print(
        f"fast engine vs library: {differing} target ranks and {lists_differ} top-10 lists differ in {compared} queries",
        file=sys.stderr,
    )
    if differing > compared * 0.002:
        raise SystemExit("the fast engine disagrees with the library: use --grid-engine library")
    return result


def write_report(report: dict, corpus_name: str, grid: bool, path: Path | None = None) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = path or RESULTS / f"rank_eval-{corpus_name}{'-grid' if grid else ''}.json"
    path.write_text(json.dumps(report, indent=1, default=str) + "\n", encoding="utf-8")
    print(f"\nwrote {path.relative_to(REPO) if path.is_relative_to(REPO) else path}")


if __name__ == "__main__":
    sys.exit(main())
