"""The whole query language, read by Whoosh's plugin parser with our plugins.

querying.parse_query reads the common shapes of a query itself (see querying._read_plainly) and
comes here for the rest: Whoosh's parser tokenises with some twenty regular expressions and runs a
dozen filters over its syntax tree, for each plugin, which costs a process 2.5 ms to import and 2 ms
to compile on its first query.
"""

from __future__ import annotations  # DateWindow is named, archsearch.dates loaded only for dates

import copy
import datetime
from typing import TYPE_CHECKING

from whoosh import query as wq
from whoosh.qparser import (
    AndGroup, FieldAliasPlugin, FuzzyTermPlugin, MultifieldPlugin, OrGroup, QueryParser, SingleQuotePlugin, syntax,
)
from whoosh.qparser.plugins import Plugin, PrefixPlugin, TaggingPlugin, WildcardPlugin

from archsearch import querying
from archsearch.proximity import DEFAULT_DISTANCE
from archsearch.querying import (
    ALSO_IN, CAPITALS_FIELD, CASED_FIELDS, FIELD_ALIASES, LEAD_FIELD, WORD_FORM_FIELD, DateFilter, InSentence, Mentions,
    Near, QuerySyntaxError, capitals_of, checked_operand, default_fields, exact_form_query, fold_for,
)

if TYPE_CHECKING:
    from archsearch.dates import DateWindow


def parse_with_plugins(checked: str, schema, today, any_words: bool, ignore_case: bool) -> wq.Query:
    """Whoosh's query for `checked` (querying.check_syntax's text)."""
    parser = _Parser(None, schema, group=OrGroup if any_words else AndGroup)
    parser.add_plugin(MultifieldPlugin(default_fields(), fieldboosts=querying.FIELD_BOOSTS))  # as MultifieldParser
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
    return parser.parse(checked)


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


class _Parser(QueryParser):
    """Prefix and wildcard words are folded as the field folds its words, never stemmed: Whoosh
    runs them through the field's analyzer, which made `title:pres*` `pre*` and `organi?ations`
    `organi?`.  (A fuzzy word is analysed: on a stemmed field it is compared with the stems of
    each language, see analysis.alternatives.)"""

    def term_query(self, fieldname, text, termclass, boost=1.0, tokenize=True, removestops=True):
        if issubclass(termclass, (wq.Prefix, wq.Wildcard)) and fieldname in self.schema:
            return termclass(fieldname, fold_for(self.schema[fieldname])(text), boost=boost)
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
            return exact_form_query(self.text)


class LeadPlugin(Plugin):
    """Reads `lead:word` (a phrase, a prefix, a group: anything a field takes) as the word in the
    title OR in the lead, and `title:word` as the word in the title, given or made from the lead;
    each part scored in its own field."""

    def filters(self, parser):
        return [(self.also_in, 103)]  # after explicit fields (100), before smart case (104)

    def also_in(self, parser, group):
        for index, node in enumerate(group):
            if isinstance(node, syntax.GroupNode):
                self.also_in(parser, node)
            elif getattr(node, "fieldname", None) in ALSO_IN:
                other = copy.deepcopy(node)
                other.set_fieldname(ALSO_IN[node.fieldname], override=True)
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
            elif type(node) is syntax.WordNode and node.fieldname in CASED_FIELDS and capitals_of(node.text):
                capitals = self.CapitalsNode(capitals_of(node.text))
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


def _named_fields(node) -> set:
    """The fields a parsed node and the nodes in it name (None: no field named)."""
    if isinstance(node, syntax.GroupNode):
        return set().union(*(_named_fields(child) for child in node.nodes)) if node.nodes else set()
    return {getattr(node, "fieldname", None)}


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
            operands = [checked_operand(node.query(parser), "NEAR") for node in self.nodes]
            return Near(operands, self.distance, self.boost)

    class SentenceGroup(syntax.GroupNode):
        merging = False

        def query(self, parser):
            operands = [checked_operand(node.query(parser), "SENTENCE()") for node in self.nodes]
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
            return Mentions([checked_operand(node.query(parser), "mentions>=N:")], self.count, self.boost)

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


# Whoosh's parser compiles the regular expressions of its taggers as a parse makes them (the re
# module keeps them): one parse here has them ready for a process's first query, and for every
# request of the server, which preloads this module (server.PRELOADED).
parse_with_plugins("word", None, datetime.date.today(), any_words=False, ignore_case=False)
