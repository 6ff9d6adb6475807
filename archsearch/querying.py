"""Turning what the user typed into a Whoosh query, with errors that name the bad part.

Whoosh's parser never fails: it reads an unknown field, a lone quote or a dangling AND as
plain words. Researchers must be able to trust that the query that ran is the one they
wrote, so the text is checked first (`check_syntax`), and dates are parsed by our own
`date:` plugin instead of Whoosh's, which fails silently.  The common shapes of a query are
read here (_read_plainly), the rest by Whoosh's parser with our plugins (query_plugins.py).
"""

from __future__ import annotations  # DateWindow is named before archsearch.dates loads

import datetime
import re
from collections.abc import Sequence

from whoosh import query as wq

from archsearch.analysis import ChainAnalyzer, fold, normalise, word_term
from archsearch.analysis import words as split_words
from archsearch.analysis.alternatives import in_every_language
from archsearch.analysis.capitals import capital_form, is_capital_word
from archsearch.errors import ArchsearchError
from archsearch.proximity import DEFAULT_DISTANCE
from archsearch.records import Record
from archsearch.schema import (
    FIRST_DAY, INDEXED_FIELD, LAST_DAY, NAME_ANALYZER, UNDATED_MARK, day_number, word_analyzer,
)

# archsearch.dates loads where a query has dates (--since, --until, date:): the others do without
# its module and regular expressions.
TYPE_CHECKING = False  # typing's constant, by its name (as type checkers read it): a query loads no typing
if TYPE_CHECKING:
    from archsearch.dates import DateWindow

# The largest `indexed` stamp (nanoseconds since 1970 fit in the signed 64 bits): the upper end of
# IndexedAfter, since Whoosh mishandles open numeric ranges.
LAST_STAMP = 2**63 - 1

# Plain words are looked for in these fields (those FIELD_BOOSTS weighs above 0).
DEFAULT_FIELDS = ("title", "body", "lead", "derived_title")
# Prefix, wildcard and fuzzy words are looked for in the words of title and body as written:
# expanded against stems, `organizat*` would find nothing ("organization" is indexed as `organ`).
WORD_FORM_FIELD = "exact"
# A title match already counts twice (title and body field, the title with its own higher IDF), so no
# extra boost: x2 over-weighted wire leads (a wire title is its lead sentence). Known-item test on
# bench/corpora/4k, held-out MRR@10 (mean of shapes): x1 0.784 vs x2 0.769; wire 0.588 vs 0.553, web
# 0.980 vs 0.984 (bench/rank_eval.py --grid). Applied when querying, so it is tuned without re-indexing.
FIELD_BOOSTS = {"title": 1.0, "body": 1.0}
# A title made from the lead (wire copy's) counts a quarter of a headline on top of the body, where
# its words are too; the lead (first paragraph) gets no weight of its own.  Tuned with the title boost
# on questions of every kind (bench/rank_eval.py --kinds, tune half, mean MRR@10 over the kinds):
# derived_title x0 0.7020, x0.25 0.7078, x0.5 0.7030; lead x0.25 0.7009, x0.5 0.6902, x1 0.6812;
# before, derived titles weighed as headlines: 0.6946 (issue 14).
FIELD_BOOSTS["lead"] = 0.0
FIELD_BOOSTS["derived_title"] = 0.25
# `lead:` (Nexis's "At the Start") finds a word in the title or in the lead.
LEAD_FIELD = "lead"
# `title:` finds a word in the title as shown, which is indexed apart when it was made from the lead.
DERIVED_TITLE_FIELD = "derived_title"
# An explicit field -> the other field its words are also looked for in (`lead:` in the title too,
# `title:` in the title made from the lead too), each part scored in its own field.
ALSO_IN = {LEAD_FIELD: "title", "title": DERIVED_TITLE_FIELD}
# Smart case: a plain word typed in capitals (`US`) must also be written in capitals here.
CAPITALS_FIELD = "capitals"
# `=word` exact forms and smart case are about the words of title and body.
CASED_FIELDS = (None, "title", "body", LEAD_FIELD, DERIVED_TITLE_FIELD)
# What `field:` may name in a query; the index's bookkeeping fields stay out of reach.
QUERY_FIELDS = ("title", "body", LEAD_FIELD, "source", "place", "section", "path", "url", "author", "date", "lang")
# `lang:ru` names the `language` field, as JSON and TSV output call it.
FIELD_ALIASES = {"language": ["lang"]}



class QuerySyntaxError(ArchsearchError):
    pass


class DateFilter(wq.NumericRange):
    """A date window on the `date` field; a class of its own so `--undated` can find it in the tree."""

    def __init__(self, window: DateWindow):
        self.window = window
        # Open ends get the calendar's own bounds: Whoosh mishandles open numeric ranges.
        start = day_number(window.start) if window.start else FIRST_DAY
        end = day_number(window.end) if window.end else LAST_DAY
        super().__init__("date", start, end)

    def __str__(self):
        from archsearch.dates import describe

        return f"date:{describe(self.window)}"

    def __repr__(self):
        from archsearch.dates import describe

        return f"DateFilter({describe(self.window)})"


class IndexedAfter(wq.NumericRange):
    """The articles indexed after a stamp (alerts.py), for `query @name --new`: a filter, which
    scores nothing, so it leaves the ranking as it is."""

    def __init__(self, stamp: int):
        self.stamp = stamp
        super().__init__(INDEXED_FIELD, stamp + 1, LAST_STAMP, boost=0.0)

    def __str__(self):
        return f"indexed after {datetime.datetime.fromtimestamp(self.stamp / 1e9, datetime.UTC):%Y-%m-%d %H:%M:%S} UTC"


UNDATED = wq.Term("undated", UNDATED_MARK)


class ParsedQuery(Record):
    """A query as archsearch read it: Whoosh's query to run, and what went into it."""

    text: str
    query: wq.Query  # what runs: the words, fields and dates, with the --since/--until window
    words: wq.Query  # the same with every date filter dropped, to count undated articles left out
    window: DateWindow | None  # from --since/--until
    has_date_filter: bool
    capitals: tuple[str, ...] = ()  # words found only where written in capitals (smart case)
    exact_forms: tuple[str, ...] = ()  # `=word`s, as the `exact` field holds them

    def explain(self) -> list[str]:
        lines = [f"query: {self.text}", f"parsed: {self.query}"]
        if self.window:
            from archsearch.dates import describe

            lines.append(f"date window: {describe(self.window)}")
        if self.capitals:
            lines.append(f"in capitals only (smart case; --ignore-case turns it off): {', '.join(self.capitals)}")
        if self.exact_forms:
            lines.append(f"exact forms, unstemmed, any case: {', '.join(self.exact_forms)}")
        return lines


_OPERATORS = ("AND", "OR", "NOT", "ANDNOT", "ANDMAYBE")
_BINARY_OPERATORS = ("AND", "OR", "ANDNOT", "ANDMAYBE")
_FIELD_PREFIX = re.compile(r"([A-Za-z_]+):")


def check_syntax(text: str) -> str:
    """Refuse what Whoosh would silently misread; rewrite `-word` to `NOT word` and drop a leading `+`."""
    pieces = []  # (kind, value, start): kind is "word", "quote", "(" or ")"; quoted text is one piece
    depth = 0
    position = 0
    opened_at = []
    while position < len(text):
        char = text[position]
        if char == '"':
            closing = text.find('"', position + 1)
            if closing < 0:
                raise QuerySyntaxError(f"unbalanced quote: {shorten(text[position:])}")
            pieces.append(("quote", text[position : closing + 1], position))
            position = closing + 1
        elif char == "(":
            depth += 1
            opened_at.append(position)
            pieces.append(("(", "(", position))
            position += 1
        elif char == ")":
            depth -= 1
            if depth < 0:
                raise QuerySyntaxError(f"unbalanced ')' in {shorten(text[: position + 1], tail=True)}")
            opened_at.pop()
            pieces.append((")", ")", position))
            position += 1
        elif char.isspace():
            position += 1
        else:
            end = position
            while end < len(text) and not text[end].isspace() and text[end] not in '()"':
                end += 1
            pieces.append(("word", text[position:end], position))
            position = end
    if depth > 0:
        raise QuerySyntaxError(f"unclosed '(' in {shorten(text[opened_at[-1]:])}")
    rebuilt = []
    cursor = 0
    for start, original, replacement in _checked_words(pieces):
        rebuilt += [text[cursor:start], replacement]
        cursor = start + len(original)
    rebuilt.append(text[cursor:])
    return "".join(rebuilt)


def _checked_words(pieces):
    """Yield (start, word, replacement) for every word piece, after checking it in its context."""
    for index, (kind, value, start) in enumerate(pieces):
        if kind != "word":
            continue
        previous = pieces[index - 1] if index else None
        following = pieces[index + 1] if index + 1 < len(pieces) else None
        if _is_operator(value):
            _check_operator(value, previous, following)
            yield start, value, value
        else:
            yield start, value, _check_word(value, following)


def _is_operator(word: str) -> bool:
    return word in _OPERATORS or _is_proximity_operator(word)


def _check_operator(operator, previous, following):
    following_operator = following and following[0] == "word" and _is_operator(following[1])
    if (
        following is None
        or following[0] == ")"
        or (following_operator and (operator == "NOT" or following[1] != "NOT"))
    ):
        raise QuerySyntaxError(f"'{operator}' needs a query after it")
    if (operator in _BINARY_OPERATORS or _is_proximity_operator(operator)) and (
        previous is None or previous[0] == "(" or (previous[0] == "word" and _is_operator(previous[1]))
    ):
        raise QuerySyntaxError(f"'{operator}' needs a query before it")


def _check_word(word, following):
    prefix = ""
    if word in ("+", "-"):
        if following is None:
            raise QuerySyntaxError(f"'{word}' needs a word after it")
        return "NOT " if word == "-" else ""
    if word[0] in "+-":
        # A sign at the start of a word: -word excludes it; +word is required, as all words are by default.
        prefix = "NOT " if word[0] == "-" else ""
        word = word[1:]
    _check_mentions(word, following)
    field = _FIELD_PREFIX.match(word)
    if field:
        name = field.group(1)
        if name not in QUERY_FIELDS:
            raise QuerySyntaxError(f"unknown field '{name}:' (fields: {', '.join(QUERY_FIELDS)})")
        if len(word) == field.end() and (following is None or following[0] not in ("quote", "(")):
            raise QuerySyntaxError(f"'{name}:' needs a value")
        if word[field.end() :].startswith("="):
            raise QuerySyntaxError(f"'{word}': =word looks in title and body together and takes no field")
    if word.startswith("=") and (not split_words(normalise(word[1:])) or any(char in word for char in "*?~")):
        raise QuerySyntaxError(f"'{word}': '=' needs a plain word after it, as in =news")
    return prefix + word


def shorten(text: str, limit: int = 40, tail: bool = False) -> str:
    if len(text) <= limit:
        return text
    return "…" + text[-limit:] if tail else text[:limit] + "…"


# Folds a word as the index folds the words of names (source, place, path...): lowercased, accents folded.
_fold_name = word_analyzer(NAME_ANALYZER)


def fold_for(field):
    """How the field folds its words: the analysis chain's folding for title, body and their
    words as written (`ß` = `ss`, Arabic letter variants), Whoosh's lowercasing and accent map
    for the other text fields."""
    if isinstance(getattr(field, "analyzer", None), ChainAnalyzer):
        return lambda text: fold(normalise(text))
    return _fold_name


def exact_form_query(text: str) -> wq.Query:
    """`=text`: the word as written, a Term on the words of title and body as written (a Phrase
    there when it holds several words, as `=U.S.-led` may)."""
    forms = [word_term(word, "") for word in split_words(normalise(text))]
    return wq.Term(WORD_FORM_FIELD, forms[0]) if len(forms) == 1 else wq.Phrase(WORD_FORM_FIELD, forms)


def capitals_of(word: str) -> str | None:
    """Smart case: the `capitals` term of a plain word typed in capitals of 2-5 letters (`US`,
    `WHO`, `США`), None for other words."""
    normalised = normalise(word)
    return capital_form(normalised) if is_capital_word(normalised) else None


def _replace_date_filters(query, replacement):
    return query.accept(lambda node: replacement(node) if isinstance(node, DateFilter) else node)


def _contains_date_filter(query) -> bool:
    return any(isinstance(node, DateFilter) for node in query.leaves()) or isinstance(query, DateFilter)


def parse_query(
    text: str,
    schema,
    *,
    any_words: bool = False,
    since: str | None = None,
    until: str | None = None,
    include_undated: bool = False,
    today: datetime.date | None = None,
    languages: Sequence[str] = ("en",),
    ignore_case: bool = False,
    indexed_after: int | None = None,
) -> ParsedQuery:
    """`languages` are those of the index (analysis.alternatives.index_languages): each word is
    looked for as its term in each of them.  Every command passes them; English is the default
    for code that parses without an index at hand.  `ignore_case` turns smart case off.
    `indexed_after` keeps only the articles indexed after that stamp (alerts.py)."""
    today = today or datetime.date.today()
    window = _flag_window(since, until, today)
    checked = check_syntax(text)
    try:
        parsed = _parsed(checked, schema, today, any_words, ignore_case)
    except ArchsearchError:
        raise
    except Exception as exc:  # Whoosh's parser has corners check_syntax does not foresee
        raise QuerySyntaxError(f"cannot read the query {shorten(text)!r} ({type(exc).__name__})") from None
    if any_words:
        parsed = _only_words_optional(parsed)
    parsed = _listed_fuzzy_terms(in_every_language(parsed, schema, languages))
    if window:
        parsed = wq.And([parsed, DateFilter(window)])
    if indexed_after is not None:
        parsed = wq.And([parsed, IndexedAfter(indexed_after)])
    has_date_filter = _contains_date_filter(parsed)
    words = _replace_date_filters(parsed, lambda node: wq.Every())
    if include_undated:
        parsed = _replace_date_filters(parsed, lambda node: wq.Or([node, UNDATED]))
    leaves = list(parsed.leaves()) or [parsed]
    return ParsedQuery(
        text, parsed, words, window, has_date_filter,
        capitals=_texts_in(leaves, CAPITALS_FIELD), exact_forms=_texts_in(leaves, WORD_FORM_FIELD, wq.Term),
    )


def default_fields() -> list[str]:
    """The fields plain words are looked for in: DEFAULT_FIELDS that FIELD_BOOSTS weighs above 0."""
    return [name for name in DEFAULT_FIELDS if FIELD_BOOSTS.get(name, 1.0) > 0]


def _listed_fuzzy_terms(query: wq.Query) -> wq.Query:
    """fuzzy.listed_fuzzy_terms, where the query has a prefix or fuzzy word: fuzzy.py and the modules
    it imports (0.5 ms) load for those alone."""
    if not any(type(leaf) in (wq.FuzzyTerm, wq.Prefix) for leaf in query.leaves()):
        return query
    from archsearch.engines.whoosh.fuzzy import listed_fuzzy_terms

    return listed_fuzzy_terms(query)


def _only_words_optional(parsed):
    """--any makes the plain words optional, not the date terms and NOT words beside them: in
    Whoosh's OR group `flood rain date:2020-01` would match every article of the month, and
    `flood -rain` every article without rain."""
    if not isinstance(parsed, wq.Or):
        return parsed
    required = [sub for sub in parsed.subqueries if isinstance(sub, (DateFilter, wq.Not))]
    optional = [sub for sub in parsed.subqueries if not isinstance(sub, (DateFilter, wq.Not))]
    if not required or not optional:
        return parsed
    words = optional[0] if len(optional) == 1 else wq.Or(optional)
    return wq.And([words, *required], boost=parsed.boost)


def _texts_in(leaves, fieldname, kind=wq.Term) -> tuple[str, ...]:
    return tuple(dict.fromkeys(leaf.text for leaf in leaves if type(leaf) is kind and leaf.field() == fieldname))


def _flag_window(since, until, today) -> DateWindow | None:
    if not since and not until:
        return None
    from archsearch.dates import DateWindow, intersect, parse_since, parse_until

    start = _flag_date(parse_since, "--since", since, today) if since else None
    end = _flag_date(parse_until, "--until", until, today) if until else None
    if start and end and start > end:
        raise ArchsearchError(f"--since {since} is after --until {until}")
    return intersect(DateWindow(start, None), DateWindow(None, end))


def _flag_date(parse, flag, value, today):
    try:
        return parse(value, today)
    except ArchsearchError as exc:
        raise ArchsearchError(f"{flag}: {exc}") from None


def _parsed(checked: str, schema, today: datetime.date, any_words: bool, ignore_case: bool) -> wq.Query:
    """Whoosh's query for `checked` (check_syntax's text): read here when it is of the common shapes
    (see _read_plainly), by Whoosh's plugin parser otherwise."""
    if not checked.strip():
        return wq.Every()
    try:
        return _read_plainly(checked, schema, today, any_words, ignore_case)
    except _NotPlain:
        from archsearch.query_plugins import parse_with_plugins

        return parse_with_plugins(checked, schema, today, any_words, ignore_case)


# The common shapes of a query, read without Whoosh's parser: words, "phrases", prefix* words,
# fuzzy~ words and (groups), each perhaps after a field (`title:`, `source:`...), `date:` ranges and
# `=exact` forms, joined by spaces, AND, OR and NOT.
# That is nearly every query typed, and every keystroke of a search as you type; Whoosh's parser
# costs them 0.25-0.5 ms each, 2 ms more for the first in a process (its twenty regular expressions
# compiled), and 2.5 ms to import.  _read_plainly builds the very tree that parser builds with our
# plugins (tests/test_query_plain.py compares them), in the same steps, each named after the plugin
# or the Whoosh class it stands for, and declines (_NotPlain) whatever else a query holds.


class _NotPlain(Exception):
    """The query holds something only Whoosh's parser with our plugins reads."""


# The ASCII characters a plain word may hold: none of them starts anything in Whoosh's parser or
# in our plugins.  Any other character but spaces, quotes, parentheses, a word's final `*` or `~`
# and what follows it, a field's `:` and an exact form's first `=` is declined, and outside ASCII only spaces and the
# question marks of Whoosh's wildcards.
_PLAIN_ASCII = frozenset("!#$%&'+,-./0123456789;@ABCDEFGHIJKLMNOPQRSTUVWXYZ_`abcdefghijklmnopqrstuvwxyz|")
_WILDCARD_MARKS = frozenset("\u055e\u061f\u1367")  # WildcardPlugin.qmarks but `?`
# Operators of Whoosh's that the plain reading leaves to it, and ours (NEAR, NEAR/n).
_NOT_PLAIN_WORDS = frozenset({"ANDNOT", "ANDMAYBE", "REQUIRE", "NEAR"})
_FUZZINESS = re.compile(r"([0-9])?(?:/([1-9][0-9]*))?")  # FuzzyTermPlugin.expr, after its `~`
_ALIASED_FIELDS = {alias: name for name, aliases in FIELD_ALIASES.items() for alias in aliases}


def _is_plain(text: str) -> bool:
    return all(
        char in _PLAIN_ASCII or (char > "\x7f" and not char.isspace() and char not in _WILDCARD_MARKS) for char in text
    )


class _Leaf:
    """A word, prefix, fuzzy word or phrase, or a word's smart-case test (capitals): Whoosh's
    WordNode, PrefixNode, FuzzyTermNode, PhraseNode and SmartCasePlugin.CapitalsNode, with the
    characters they span.  The parser's nodes are plain classes, not dataclasses: making the four
    took 0.2 ms of every query's imports."""

    __slots__ = ("kind", "fieldname", "text", "startchar", "endchar", "textstart", "boost", "fuzziness")

    def __init__(
        self, kind: str, fieldname: str | None, text: str, startchar: int, endchar: int,
        textstart: int = 0,  # where a phrase's words start
        boost: float = 1.0,
        fuzziness: tuple[int, int] = (1, 0),  # a fuzzy word's edits and prefix length
    ):
        self.kind, self.fieldname, self.text, self.startchar, self.endchar = kind, fieldname, text, startchar, endchar
        self.textstart, self.boost, self.fuzziness = textstart, boost, fuzziness

    def query(self, schema, group_class):
        if self.kind == "capitals":  # CapitalsNode.query
            return wq.Term(CAPITALS_FIELD, self.text, boost=0.0)
        field = schema[self.fieldname]
        if self.kind == "prefix":  # query_plugins._Parser.term_query
            return _attached(wq.Prefix(self.fieldname, fold_for(field)(self.text), boost=self.boost), self)
        if self.kind == "phrase":  # PhrasePlugin.PhraseNode.query
            if field.analyzer:
                words, char_ranges = [], []
                for token in field.tokenize(self.text, mode="query", chars=True):  # one Token, reused
                    words.append(token.text)
                    char_ranges.append((self.textstart + token.startchar, self.textstart + token.endchar))
            else:
                words = list(field.process_text(self.text, mode="query"))
                char_ranges = [(None, None)] * len(words)
            phrase = wq.Phrase(self.fieldname, words, slop=1, boost=self.boost, char_ranges=char_ranges)
            return _attached(phrase, self)
        if self.kind == "fuzzy":  # FuzzyTermPlugin.FuzzyTermNode.query
            fuzzy = self.term_query(field, wq.FuzzyTerm, group_class, analysed=False)
            if fuzzy is None:  # Whoosh's parser fails (AttributeError)
                raise _NotPlain
            fuzzy.maxdist, fuzzy.prefixlength = self.fuzziness  # on a group of them, as Whoosh's parser does
            return fuzzy
        return self.term_query(field, wq.Term, group_class, analysed=True)

    def term_query(self, field, term_class, group_class, analysed: bool):
        """QueryParser.term_query (TextNode.query), the field's multitoken_query being "default" (_plain_field)."""
        texts = list(field.process_text(self.text, mode="query", tokenize=analysed, removestops=analysed))
        if not texts:
            return None
        if len(texts) > 1:
            return _attached(group_class([term_class(self.fieldname, text, boost=self.boost) for text in texts]), self)
        return _attached(term_class(self.fieldname, texts[0], boost=self.boost), self)

    def copy(self, fieldname, boost=1.0):
        return _Leaf(
            self.kind, fieldname, self.text, self.startchar, self.endchar, self.textstart, boost, self.fuzziness
        )


class _Group:
    """Whoosh's AndGroup, OrGroup (`kind` And, Or) and NotGroup (Not)."""

    __slots__ = ("kind", "nodes")

    def __init__(self, kind: type, nodes: list):
        self.kind, self.nodes = kind, nodes

    @property
    def startchar(self):
        return self.nodes[0].startchar if self.nodes else None

    @property
    def endchar(self):
        return self.nodes[-1].endchar if self.nodes else None

    def query(self, schema, group_class):
        if self.kind is wq.Not and not self.nodes:  # `NOT NOT a`: Whoosh's parser fails (IndexError)
            raise _NotPlain
        subqueries = []
        for node in self.nodes:
            if isinstance(node, str):  # an operator left where Whoosh's parser would fail
                raise _NotPlain
            sub = node.query(schema, group_class)
            if sub is not None:
                subqueries.append(sub)
        if self.kind is wq.Not:  # syntax.Wrapper.query
            return _attached(wq.Not(subqueries[0]), self) if subqueries and subqueries[0] else None
        return _attached(self.kind(subqueries, boost=1.0), self)


class _ExactForm:
    """query_plugins.ExactFormPlugin.ExactFormNode: `=word`, which no field, plugin or operator changes."""

    __slots__ = ("text", "startchar", "endchar")

    def __init__(self, text: str, startchar: int, endchar: int):
        self.text, self.startchar, self.endchar = text, startchar, endchar

    def query(self, schema, group_class):
        return exact_form_query(self.text)


class _Dates:
    """query_plugins.DatePlugin.DateNode: `date:A..B`, which no field, plugin or operator changes."""

    __slots__ = ("window", "startchar", "endchar")

    def __init__(self, window: DateWindow, startchar: int, endchar: int):
        self.window, self.startchar, self.endchar = window, startchar, endchar

    def query(self, schema, group_class):
        return DateFilter(self.window)


def _attached(query, node):
    """whoosh.qparser.common.attach: the query knows the characters it was read from."""
    if query:
        query.startchar, query.endchar = node.startchar, node.endchar
    return query


def _read_plainly(checked: str, schema, today: datetime.date, any_words: bool, ignore_case: bool) -> wq.Query:
    """The query Whoosh's parser with our plugins makes of `checked`, if it is of the plain shapes."""
    group_class = wq.Or if any_words else wq.And
    top = _plain_items(checked, schema, today, group_class)
    _expand_all(top, schema, ignore_case)
    query = _with_operators(top).query(schema, group_class)
    return (query or wq.NullQuery).normalize()  # QueryParser.parse


def _plain_items(text: str, schema, today: datetime.date, group_class) -> _Group:
    """The words, prefixes and phrases of `text` (_Leaf), its dates and exact forms (_Dates,
    _ExactForm) and its parentheses (_Group of `group_class`, as GroupPlugin makes them), with the
    operators between them ("AND", "OR", "NOT"); _NotPlain if it holds anything else."""
    stack = [(None, [])]  # the groups open: the field before each, and what it holds so far
    position, end = 0, len(text)
    while position < end:
        char = text[position]
        if char == " ":
            position += 1
            continue
        if char == ")":  # check_syntax has seen the parentheses balanced
            fieldname, nodes = stack.pop()
            group = _Group(group_class, nodes)
            if fieldname:  # FieldsPlugin: the group's field goes to what names none (inner fields first)
                _set_fieldname(group, fieldname)
            stack[-1][1].append(group)
            position += 1
            if position < end and text[position] not in " )":  # `)NOT`, `)AND` and `)x` read otherwise
                raise _NotPlain
            continue
        if char == "(":
            stack.append((None, []))
            position += 1
            continue
        stop = position
        while stop < end and text[stop] not in " ()":
            stop += 1
        token = text[position:stop]
        nodes = stack[-1][1]
        # OperatorsPlugin: AND and OR between spaces, NOT at the start or after a space or a
        # parenthesis, before a space
        if (
            (token in ("AND", "OR") and position > 0 and text[position - 1] == " " or token == "NOT")
            and stop < end and text[stop] == " "
        ):
            nodes.append(token)
            position = stop
            continue
        fieldname = None
        field = _FIELD_PREFIX.match(text, position, stop)
        if char == "=":  # query_plugins.ExactFormPlugin, at the start of a word (check_syntax has read it)
            form = text[position + 1 : stop]
            if not _is_plain(form):
                raise _NotPlain
            nodes.append(_ExactForm(form, position, stop))
            position = stop
            continue
        if field and field.group(1) == "date":  # query_plugins.DatePlugin, its value up to a space or parenthesis
            value = text[field.end() : stop]
            if not value or not _is_plain(value):
                raise _NotPlain
            from archsearch.dates import parse_date_range

            nodes.append(_Dates(parse_date_range(value, today), position, stop))
            position = stop
            continue
        if field:  # FieldsPlugin, FieldAliasPlugin
            fieldname = _ALIASED_FIELDS.get(field.group(1), field.group(1))
            if field.group(1) not in QUERY_FIELDS or not _plain_field(schema, fieldname):
                raise _NotPlain
            position = field.end()
            if text.startswith("(", position):
                stack.append((fieldname, []))
                position += 1
                continue
        if text.startswith('"', position):  # PhrasePlugin, without a ~slop
            closing = text.find('"', position + 1)
            if closing < 0 or closing + 1 < end and text[closing + 1] not in " )":
                raise _NotPlain
            words = text[position + 1 : closing]
            if not _is_plain(words.replace(" ", "")):
                raise _NotPlain
            nodes.append(_Leaf("phrase", fieldname, words, position, closing + 1, textstart=position + 1))
            position = closing + 1
            continue
        if text.startswith("(", stop):  # `SENTENCE(`, `a(b`
            raise _NotPlain
        word = text[position:stop]
        fuzziness = (1, 0)
        if word.endswith("*"):  # WildcardPlugin: a word and a final `*` make a PrefixNode, spanning the `*`
            word = word[:-1]
            kind, startchar, endchar = "prefix", stop - 1, stop
        elif "~" in word:  # FuzzyTermPlugin: `word~`, `word~2`, `word~/3`, `word~2/3`
            word, _, suffix = word.partition("~")
            found = _FUZZINESS.fullmatch(suffix)
            if not found:
                raise _NotPlain
            fuzziness = (int(found.group(1) or 1), int(found.group(2) or 0))
            kind, startchar, endchar = "fuzzy", position, position + len(word)  # the word's span, without `~`
        else:
            kind, startchar, endchar = "word", position, stop
        if not word or not _is_plain(word) or token in _NOT_PLAIN_WORDS or token.startswith("NEAR/"):
            raise _NotPlain
        nodes.append(_Leaf(kind, fieldname, word, startchar, endchar, fuzziness=fuzziness))
        position = stop
    return _Group(group_class, stack[0][1])


def _set_fieldname(node, fieldname: str) -> None:
    """syntax.GroupNode.set_fieldname, not overriding: the words in the group that name no field."""
    if isinstance(node, _Group):
        for child in node.nodes:
            _set_fieldname(child, fieldname)
    elif isinstance(node, _Leaf) and node.fieldname is None:
        node.fieldname = fieldname


def _expand_all(group, schema, ignore_case: bool) -> None:
    for index, node in enumerate(group.nodes):
        if isinstance(node, _Group):
            _expand_all(node, schema, ignore_case)
        elif isinstance(node, _Leaf):
            group.nodes[index] = _expanded(node, schema, ignore_case)


def _with_operators(group):
    """OperatorsPlugin.do_operators: the group's operators in order, then those in the groups it holds."""
    nodes = group.nodes
    for operator in ("NOT", "AND", "OR"):
        index = 0
        while index < len(nodes):
            if nodes[index] != operator:
                index += 1
            elif operator == "NOT":  # syntax.PrefixOperator.replace_self
                del nodes[index]
                if index < len(nodes):
                    nodes[index] = _Group(wq.Not, [nodes[index]])
                index += 1
            else:  # syntax.InfixOperator.replace_self, left-associative, merging
                kind = wq.And if operator == "AND" else wq.Or
                if 0 < index < len(nodes) - 1:
                    left, right = nodes[index - 1], nodes[index + 1]
                    if isinstance(left, _Group) and left.kind is kind:
                        left.nodes.append(right)
                        del nodes[index : index + 2]
                    else:
                        nodes[index - 1 : index + 2] = [_Group(kind, [left, right])]
                else:
                    del nodes[index]
    for index, node in enumerate(nodes):
        if isinstance(node, _Group):
            nodes[index] = _with_operators(node)
    return group


def _plain_field(schema, fieldname: str) -> bool:
    """Whether Whoosh's parser reads a word of the field as _Leaf.query does."""
    field = schema[fieldname] if fieldname in schema else None
    return field is not None and not field.self_parsing() and field.multitoken_query == "default"


def _expanded(leaf: _Leaf, schema, ignore_case: bool):
    """The leaf with what our plugins make of it, in their order: LeadPlugin (103), SmartCasePlugin
    (104), WordFormPlugin (105: prefix and fuzzy words to the words as written), MultifieldPlugin (110)."""
    node = leaf
    if leaf.fieldname in ALSO_IN:  # LeadPlugin
        other = leaf.copy(ALSO_IN[leaf.fieldname])
        node = _Group(wq.Or, [other, leaf] if leaf.fieldname == LEAD_FIELD else [leaf, other])
    if not ignore_case:
        node = _in_capitals(node)
    if leaf.kind in ("prefix", "fuzzy") and leaf.fieldname is None:
        leaf.fieldname = WORD_FORM_FIELD
    if leaf.fieldname is None:
        fields = default_fields()
        if not all(_plain_field(schema, name) for name in fields):
            raise _NotPlain
        words = _Group(wq.Or, [leaf.copy(name, FIELD_BOOSTS.get(name, 1.0)) for name in fields])
        if node is leaf:
            return words
        node.nodes[0] = words  # the smart-case group's word
    return node


def _in_capitals(node):
    """SmartCasePlugin.in_capitals."""
    if isinstance(node, _Group):
        node.nodes = [_in_capitals(child) for child in node.nodes]
        return node
    capitals = node.kind == "word" and node.fieldname in CASED_FIELDS and capitals_of(node.text)
    if capitals:
        return _Group(wq.And, [node, _Leaf("capitals", None, capitals, node.startchar, node.endchar)])
    return node


# Proximity and mentions: `a NEAR/5 b`, `SENTENCE(a b c)`, `mentions>=3:word`.  Each is a query
# node of its own, which evaluation.py evaluates from word positions (see proximity.py).

_NEAR = re.compile(r"NEAR(?:/(?P<distance>\S*))?")
_MENTIONS = re.compile(r"mentions(?P<comparison>[<>=!]*)(?P<count>[^:]*):")
# Fields whose words have positions that proximity reads: title and body, and the words of both
# as written (prefix, wildcard, fuzzy and `=` words), whose positions run on from title to body.
PROXIMITY_FIELDS = ("title", DERIVED_TITLE_FIELD, "body", WORD_FORM_FIELD)


def _is_proximity_operator(word: str) -> bool:
    """`NEAR` or `NEAR/n`: a binary operator, as AND is."""
    found = _NEAR.fullmatch(word)
    if not found:
        return False
    distance = found.group("distance")
    if distance is not None and (not distance.isdigit() or int(distance) < 1):
        raise QuerySyntaxError(f"'{word}': NEAR takes a distance of 1 word or more, as in NEAR/5")
    return True


def _check_mentions(word: str, following) -> None:
    found = _MENTIONS.match(word)
    if not found:
        return
    if found.group("comparison") != ">=" or not found.group("count").isdigit() or int(found.group("count")) < 1:
        raise QuerySyntaxError(f"'{word}': write mentions>=N:word, with N a number of 1 or more")
    if len(word) == found.end() and (following is None or following[0] not in ("quote", "(")):
        raise QuerySyntaxError(f"'{word}' needs a word after it, as in mentions>=3:Taliban")


class _PositionalQuery(wq.CompoundQuery):
    """A query on where its operands' words stand; Whoosh cannot run it (evaluation.py does)."""

    def __init__(self, subqueries, boost=1.0):
        super().__init__(list(subqueries), boost=boost)

    def _with(self, subqueries):
        raise NotImplementedError

    def apply(self, fn):
        return self._with([fn(sub) for sub in self.subqueries])

    def normalize(self):
        # Never merged nor deduplicated as AND and OR are: each operand keeps its place and its distance.
        subqueries = [sub.normalize() for sub in self.subqueries]
        if any(sub is wq.NullQuery for sub in subqueries):
            return wq.NullQuery
        return self._with(subqueries)

    def __eq__(self, other):
        return super().__eq__(other) and self.__dict__ == other.__dict__

    __hash__ = wq.CompoundQuery.__hash__

    def matcher(self, searcher, context=None):
        raise ArchsearchError(f"'{self}' cannot be combined with the rest of this query")


class Near(_PositionalQuery):
    """Every operand within `distance` words of each other, in one field, in any order."""

    def __init__(self, subqueries, distance: int = DEFAULT_DISTANCE, boost=1.0):
        super().__init__(subqueries, boost)
        self.distance = distance

    def _with(self, subqueries):
        return Near(subqueries, self.distance, self.boost)

    def __str__(self):
        return "(" + f" NEAR/{self.distance} ".join(str(sub) for sub in self.subqueries) + ")"

    def __repr__(self):
        return f"Near({self.subqueries!r}, {self.distance})"


class InSentence(_PositionalQuery):
    """Every operand in one sentence of the title or the body (see proximity.sentence_starts)."""

    def _with(self, subqueries):
        return InSentence(subqueries, self.boost)

    def __str__(self):
        return "SENTENCE(" + " ".join(str(sub) for sub in self.subqueries) + ")"


class Mentions(_PositionalQuery):
    """The operand at least `minimum` times in the body."""

    def __init__(self, subqueries, minimum: int, boost=1.0):
        super().__init__(subqueries, boost)
        self.minimum = minimum

    def _with(self, subqueries):
        return Mentions(subqueries, self.minimum, self.boost)

    def __str__(self):
        return f"mentions>={self.minimum}:{self.subqueries[0]}"

    def __repr__(self):
        return f"Mentions({self.subqueries!r}, {self.minimum})"


def checked_operand(query, operator: str):
    """An operand of a proximity operator: words, phrases and their alternatives (OR) in title
    and body, whose positions are known; a word's smart-case test may stand beside it."""
    if isinstance(query, (wq.Term, wq.Phrase, wq.MultiTerm)) and query.field() in PROXIMITY_FIELDS:
        return query
    if isinstance(query, wq.Or) and all(checked_operand(sub, operator) for sub in query.subqueries):
        return query
    if isinstance(query, wq.And):
        tests = [sub for sub in query.subqueries if isinstance(sub, wq.Term) and sub.field() == CAPITALS_FIELD]
        words = [sub for sub in query.subqueries if sub not in tests]
        if len(words) == 1 and checked_operand(words[0], operator):
            return query
    raise QuerySyntaxError(
        f"{operator} joins words, phrases and (a OR b) groups of title and body words, not {shorten(str(query))!r}"
    )


def is_proximity_operand(query) -> bool:
    """Whether `query` is something whose word positions are known (see checked_operand)."""
    try:
        checked_operand(query, "")
    except QuerySyntaxError:
        return False
    return True


