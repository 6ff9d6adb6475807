"""Turning what the user typed into a Whoosh query, with errors that name the bad part.

Whoosh's parser never fails: it reads an unknown field, a lone quote or a dangling AND as
plain words. Researchers must be able to trust that the query that ran is the one they
wrote, so the text is checked first (`check_syntax`), and dates are parsed by our own
`date:` plugin instead of Whoosh's, which fails silently.
"""

from __future__ import annotations  # DateWindow is named before archsearch.dates loads

import copy
import datetime
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from whoosh import query as wq
from whoosh.qparser import (
    AndGroup, FieldAliasPlugin, FuzzyTermPlugin, MultifieldPlugin, OrGroup, QueryParser, SingleQuotePlugin, syntax,
)
from whoosh.qparser.plugins import Plugin, PrefixPlugin, TaggingPlugin, WildcardPlugin

from archsearch.analysis import ChainAnalyzer, fold, normalise, word_term
from archsearch.analysis import words as split_words
from archsearch.analysis.alternatives import in_every_language
from archsearch.analysis.capitals import capital_form, is_capital_word
from archsearch.errors import ArchsearchError
from archsearch.engines.whoosh.fuzzy import listed_fuzzy_terms
from archsearch.proximity import DEFAULT_DISTANCE
from archsearch.schema import (
    FIRST_DAY, INDEXED_FIELD, LAST_DAY, NAME_ANALYZER, UNDATED_MARK, day_number, word_analyzer,
)

# archsearch.dates loads where a query has dates (--since, --until, date:): the others do without
# its module, regular expressions and dataclass (2 ms of a process).
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


@dataclass
class ParsedQuery:
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


class DatePlugin(TaggingPlugin):
    """Reads `date:A..B` into a DateFilter before Whoosh's field plugin can see it."""

    expr = r"date:(?P<value>[^\s()]*)"
    priority = -1  # before FieldsPlugin (0)

    def __init__(self, today: datetime.date):
        super().__init__()
        self.today = today

    def create(self, parser, match):
        value = match.group("value")
        if not value:
            raise QuerySyntaxError("'date:' needs a value, as in date:2021-12 or date:2021..2022-06")
        from archsearch.dates import parse_date_range

        return self.DateNode(parse_date_range(value, self.today))

    class DateNode(syntax.SyntaxNode):
        def __init__(self, window: DateWindow):
            self.window = window

        def r(self):
            from archsearch.dates import describe

            return f"date:{describe(self.window)}"

        def query(self, parser):
            return DateFilter(self.window)


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


def _fold_for(field):
    """How the field folds its words: the analysis chain's folding for title, body and their
    words as written (`ß` = `ss`, Arabic letter variants), Whoosh's lowercasing and accent map
    for the other text fields."""
    if isinstance(getattr(field, "analyzer", None), ChainAnalyzer):
        return lambda text: fold(normalise(text))
    return _fold_name


class _Parser(QueryParser):
    """Prefix and wildcard words are folded as the field folds its words, never stemmed: Whoosh
    runs them through the field's analyzer, which made `title:pres*` `pre*` and `organi?ations`
    `organi?`.  (A fuzzy word is analysed: on a stemmed field it is compared with the stems of
    each language, see analysis.alternatives.)"""

    def term_query(self, fieldname, text, termclass, boost=1.0, tokenize=True, removestops=True):
        if issubclass(termclass, (wq.Prefix, wq.Wildcard)) and fieldname in self.schema:
            return termclass(fieldname, _fold_for(self.schema[fieldname])(text), boost=boost)
        return super().term_query(fieldname, text, termclass, boost, tokenize, removestops)


class WordFormPlugin(Plugin):
    """Sends prefix, wildcard and fuzzy words without a field to the unstemmed words of title and
    body, where they expand to words as written; plain words go on to title and body."""

    _EXPANDED = (PrefixPlugin.PrefixNode, WildcardPlugin.WildcardNode, FuzzyTermPlugin.FuzzyTermNode)

    def filters(self, parser):
        return [(self.to_word_forms, 105)]  # after explicit fields (100), before MultifieldPlugin (110)

    def to_word_forms(self, parser, group):
        for node in group:
            if isinstance(node, syntax.GroupNode):
                self.to_word_forms(parser, node)
            elif isinstance(node, self._EXPANDED) and node.fieldname is None:
                node.set_fieldname(WORD_FORM_FIELD)
        return group


class ExactFormPlugin(TaggingPlugin):
    """Reads `=word` as that word as written, unstemmed, in any case: a Term on the words of title
    and body as written (a Phrase there when it holds several words, as `=U.S.-led` may)."""

    expr = r"=(?P<text>[^\s()\"]+)"
    priority = -1  # before the word tagger

    def create(self, parser, match):
        return self.ExactFormNode(match.group("text"))

    class ExactFormNode(syntax.SyntaxNode):
        def __init__(self, text: str):
            self.text = text

        def r(self):
            return f"={self.text}"

        def query(self, parser):
            forms = [word_term(word, "") for word in split_words(normalise(self.text))]
            if len(forms) == 1:
                return wq.Term(WORD_FORM_FIELD, forms[0])
            return wq.Phrase(WORD_FORM_FIELD, forms)


class LeadPlugin(Plugin):
    """Reads `lead:word` (a phrase, a prefix, a group: anything a field takes) as the word in the
    title OR in the lead, and `title:word` as the word in the title, given or made from the lead;
    each part scored in its own field."""

    # An explicit field -> the other field its words are also looked for in.
    ALSO_IN = {LEAD_FIELD: "title", "title": DERIVED_TITLE_FIELD}

    def filters(self, parser):
        return [(self.also_in, 103)]  # after explicit fields (100), before smart case (104)

    def also_in(self, parser, group):
        for index, node in enumerate(group):
            if isinstance(node, syntax.GroupNode):
                self.also_in(parser, node)
            elif getattr(node, "fieldname", None) in self.ALSO_IN:
                other = copy.deepcopy(node)
                other.set_fieldname(self.ALSO_IN[node.fieldname], override=True)
                group[index] = syntax.OrGroup([other, node] if node.fieldname == LEAD_FIELD else [node, other])
        return group


class SmartCasePlugin(Plugin):
    """A plain word typed in capitals of 2-5 letters (`US`, `WHO`, `США`) finds the word only where
    title or body write it in capitals: the word as usual (which ranks), AND its Term on the
    `capitals` field (which scores nothing).  Not in phrases, prefixes or other fields."""

    def filters(self, parser):
        return [(self.in_capitals, 104)]  # after explicit fields (100), before MultifieldPlugin (110)

    def in_capitals(self, parser, group):
        for index, node in enumerate(group):
            if isinstance(node, syntax.GroupNode):
                self.in_capitals(parser, node)
            elif (
                type(node) is syntax.WordNode
                and node.fieldname in CASED_FIELDS
                and is_capital_word(normalise(node.text))
            ):
                capitals = self.CapitalsNode(capital_form(normalise(node.text)))
                capitals.startchar, capitals.endchar = node.startchar, node.endchar  # the group's span ends here
                group[index] = syntax.AndGroup([node, capitals])
        return group

    class CapitalsNode(syntax.SyntaxNode):
        def __init__(self, text: str):
            self.text = text

        def r(self):
            return f"capitals:{self.text}"

        def query(self, parser):
            return wq.Term(CAPITALS_FIELD, self.text, boost=0.0)


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
    parser = _Parser(None, schema, group=OrGroup if any_words else AndGroup)
    parser.add_plugin(MultifieldPlugin(default_fields(), fieldboosts=FIELD_BOOSTS))  # as MultifieldParser
    parser.remove_plugin_class(SingleQuotePlugin)  # apostrophes are part of words in news text
    parser.add_plugin(FuzzyTermPlugin())
    parser.add_plugin(WordFormPlugin())
    parser.add_plugin(DatePlugin(today))
    parser.add_plugin(ExactFormPlugin())
    parser.add_plugin(LeadPlugin())
    if not ignore_case:
        parser.add_plugin(SmartCasePlugin())
    parser.add_plugin(FieldAliasPlugin(FIELD_ALIASES))
    parser.add_plugin(ProximityPlugin())
    try:
        parsed = parser.parse(checked) if checked.strip() else wq.Every()
    except ArchsearchError:
        raise
    except Exception as exc:  # Whoosh's parser has corners check_syntax does not foresee
        raise QuerySyntaxError(f"cannot read the query {shorten(text)!r} ({type(exc).__name__})") from None
    if any_words:
        parsed = _only_words_optional(parsed)
    parsed = listed_fuzzy_terms(in_every_language(parsed, schema, languages))
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


def _named_fields(node) -> set:
    """The fields a parsed node and the nodes in it name (None: no field named)."""
    if isinstance(node, syntax.GroupNode):
        return set().union(*(_named_fields(child) for child in node.nodes)) if node.nodes else set()
    return {getattr(node, "fieldname", None)}


def _checked_operand(query, operator: str):
    """An operand of a proximity operator: words, phrases and their alternatives (OR) in title
    and body, whose positions are known; a word's smart-case test may stand beside it."""
    if isinstance(query, (wq.Term, wq.Phrase, wq.MultiTerm)) and query.field() in PROXIMITY_FIELDS:
        return query
    if isinstance(query, wq.Or) and all(_checked_operand(sub, operator) for sub in query.subqueries):
        return query
    if isinstance(query, wq.And):
        tests = [sub for sub in query.subqueries if isinstance(sub, wq.Term) and sub.field() == CAPITALS_FIELD]
        words = [sub for sub in query.subqueries if sub not in tests]
        if len(words) == 1 and _checked_operand(words[0], operator):
            return query
    raise QuerySyntaxError(
        f"{operator} joins words, phrases and (a OR b) groups of title and body words, not {shorten(str(query))!r}"
    )


def is_proximity_operand(query) -> bool:
    """Whether `query` is something whose word positions are known (see _checked_operand)."""
    try:
        _checked_operand(query, "")
    except QuerySyntaxError:
        return False
    return True


class ProximityPlugin(Plugin):
    """Reads `NEAR/n`, `SENTENCE(...)` and `mentions>=N:` into Near, InSentence and Mentions:
    after fields, smart case and the title-and-body expansion have made each operand's query,
    before AND, OR and NOT (600) group them, so `a NEAR b OR c` is `(a NEAR b) OR c`."""

    def taggers(self, parser):
        return [
            (self.Tagger(r"(?<![^\s()])NEAR(?:/(?P<distance>\d+))?(?![^\s()])", self.NearOperator), -1),
            (self.Tagger(r"SENTENCE(?=\()", self.SentenceMarker), -1),
            (self.Tagger(r"mentions>=(?P<count>\d+):(?=\S)", self.MentionsMarker), -1),
        ]

    def filters(self, parser):
        return [(self.combine, 560)]  # after phrases (550), before operators (600)

    class Tagger(TaggingPlugin):
        def __init__(self, expr, nodetype):
            super().__init__(expr)
            self.nodetype = nodetype

    class NearOperator(syntax.SyntaxNode):
        def __init__(self, distance=None):
            self.distance = int(distance) if distance else DEFAULT_DISTANCE

        def r(self):
            return f"NEAR/{self.distance}"

    class SentenceMarker(syntax.SyntaxNode):
        def r(self):
            return "SENTENCE"

    class MentionsMarker(syntax.SyntaxNode):
        def __init__(self, count):
            self.count = int(count)

        def r(self):
            return f"mentions>={self.count}:"

    class NearGroup(syntax.GroupNode):
        merging = False

        def __init__(self, nodes=None, distance=DEFAULT_DISTANCE, **kwargs):
            super().__init__(nodes, **kwargs)
            self.distance = distance

        def query(self, parser):
            operands = [_checked_operand(node.query(parser), "NEAR") for node in self.nodes]
            return Near(operands, self.distance, self.boost)

    class SentenceGroup(syntax.GroupNode):
        merging = False

        def query(self, parser):
            operands = [_checked_operand(node.query(parser), "SENTENCE()") for node in self.nodes]
            if len(operands) < 2:
                raise QuerySyntaxError("SENTENCE() needs two words or more, as in SENTENCE(Taliban talks)")
            return InSentence(operands, self.boost)

    class MentionsGroup(syntax.GroupNode):
        merging = False

        def __init__(self, nodes=None, count=1, **kwargs):
            super().__init__(nodes, **kwargs)
            self.count = count

        def query(self, parser):
            (node,) = self.nodes
            # A plain word names title, body and derived_title (multifield); `title:`, `lead:` or
            # another field alone names no body.
            if not _named_fields(node) & {None, "body", WORD_FORM_FIELD}:
                raise QuerySyntaxError("mentions>=N: counts in the body and takes no other field")
            return Mentions([_checked_operand(node.query(parser), "mentions>=N:")], self.count, self.boost)

    def combine(self, parser, group):
        for index, node in enumerate(group):
            if isinstance(node, syntax.GroupNode):
                group[index] = self.combine(parser, node)
        index = 0
        while index < len(group):
            node = group[index]
            following = group[index + 1] if index + 1 < len(group) else None
            if isinstance(node, self.SentenceMarker):
                if not isinstance(following, syntax.GroupNode):
                    raise QuerySyntaxError("SENTENCE needs its words in parentheses, as in SENTENCE(Taliban talks)")
                group[index : index + 2] = [self.SentenceGroup(list(following.nodes))]
            elif isinstance(node, self.MentionsMarker):
                if following is None or isinstance(following, (self.NearOperator, self.MentionsMarker)):
                    raise QuerySyntaxError(f"'mentions>={node.count}:' needs a word after it")
                group[index : index + 2] = [self.MentionsGroup([following], count=node.count)]
            index += 1
        index = 0
        while index < len(group):
            node = group[index]
            if not isinstance(node, self.NearOperator):
                index += 1
                continue
            if index == 0 or index == len(group) - 1:
                raise QuerySyntaxError(f"'{node.r()}' needs a word on each side")
            left, right = group[index - 1], group[index + 1]
            if isinstance(left, self.NearGroup) and left.distance == node.distance:
                left.append(right)
                del group[index : index + 2]
            else:
                group[index - 1 : index + 2] = [self.NearGroup([left, right], distance=node.distance)]
        return group
