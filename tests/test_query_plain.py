"""The common shapes of a query read without Whoosh's parser (querying._read_plainly): the very
tree Whoosh's parser builds with our plugins, or a refusal that sends the text to that parser."""

import datetime
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from whoosh import query as wq

from archsearch import querying
from archsearch.errors import ArchsearchError
from archsearch.query_plugins import parse_with_plugins
from archsearch.schema import build_schema

SCHEMA = build_schema()
TODAY = datetime.date(2026, 11, 22)
README = Path(__file__).resolve().parent.parent / "README.md"


def state(node):
    """Everything a query tree holds, down to the characters each part was read from: == on
    Whoosh's queries leaves out some attributes (a phrase's char_ranges, a term's startchar)."""
    if isinstance(node, wq.Query):
        return type(node).__name__, tuple(sorted((name, state(value)) for name, value in vars(node).items()))
    if isinstance(node, (list, tuple)):
        return tuple(state(item) for item in node)
    return node


def read_both_ways(text, any_words=False, ignore_case=False):
    """(the plain reading or None where it declines, Whoosh's parser's) of `text`, checked first
    as parse_query does: "refused" for those check_syntax refuses or finds empty, which reach
    neither; the error, as a string, where one fails."""
    try:
        checked = querying.check_syntax(text)
    except querying.QuerySyntaxError:
        return "refused", "refused"
    if not checked.strip():
        return "refused", "refused"
    try:
        plain = querying._read_plainly(checked, SCHEMA, TODAY, any_words, ignore_case)
    except querying._NotPlain:
        plain = None
    except ArchsearchError as error:  # a bad date
        plain = f"{type(error).__name__}: {error}"
    try:
        whoosh = parse_with_plugins(checked, SCHEMA, TODAY, any_words, ignore_case)
    except Exception as error:  # parse_query turns it into a QuerySyntaxError
        whoosh = f"{type(error).__name__}: {error}"
    return plain, whoosh


def assert_same_or_declined(text, any_words=False, ignore_case=False):
    """The plain reading is Whoosh's parser's, or it declines; where that parser fails, it declines
    or fails alike (a bad date)."""
    plain, whoosh = read_both_ways(text, any_words, ignore_case)
    if isinstance(plain, str):
        assert plain == whoosh, text
    elif plain is not None:
        assert isinstance(whoosh, wq.Query), (text, whoosh)
        assert plain == whoosh and repr(plain) == repr(whoosh) and state(plain) == state(whoosh), text
    return plain, whoosh


# The plain shapes' grammar: words (of letters of several scripts, digits, apostrophes and the
# punctuation a plain word may hold; capitals for smart case, stop words), prefix* words, fuzzy~
# words, phrases and groups in parentheses, each perhaps after a field, dates and =exact forms,
# between them spaces, AND, OR, NOT and -.
VOCABULARY = [
    "Taliban", "taliban", "US", "WHO", "IT", "ISIS", "США", "ΗΠΑ", "Us", "G7", "the", "and", "or", "not",
    "don't", "Zakharova's", "U.S.", "U.S.-led", "9/11", "C++", "e-mail", "Zürich", "ZÜRICH", "straße",
    "北京", "القاهرة", "नई", "refugees", "ceasefire", "a", "I", "ﬁnance", "İstanbul", "x’s", "AND",
    "NEARBY",
]
WORD_CHARACTERS = st.sampled_from(list("abcxyzABCXYZ0189'-.,&/_#@$%;!+`|éßÜжЖΣσ北ـ’") + ["\u0301", "\u200b"])
WORDS = st.one_of(st.sampled_from(VOCABULARY), st.text(WORD_CHARACTERS, min_size=1, max_size=8)).filter(
    lambda word: word not in ("NEAR", "REQUIRE", "ANDNOT", "ANDMAYBE") and not word.startswith("NEAR/")
    and word.strip("+-")
)
PHRASES = st.lists(WORDS, max_size=4).map(lambda words: '"' + " ".join(words) + '"')
FUZZINESS = st.sampled_from(["~", "~1", "~2", "~0", "~/3", "~2/3", "~1/1"])
VALUES = st.one_of(WORDS, WORDS.map(lambda word: word + "*"), st.tuples(WORDS, FUZZINESS).map("".join), PHRASES)
FIELDS = [name for name in querying.QUERY_FIELDS if name != "date"]
SIGNS = st.sampled_from(["", "", "-", "NOT ", "+"])
JOINS = st.sampled_from([" ", "  ", " AND ", " OR ", " AND NOT ", " OR NOT "])
FIELD_PREFIXES = st.one_of(st.just(""), st.sampled_from(FIELDS).map(lambda name: name + ":"))


def joined(items):
    """Items joined by spaces and operators."""
    return st.tuples(st.lists(JOINS, min_size=len(items), max_size=len(items))).map(
        lambda joins: items[0] + "".join(join + item for join, item in zip(joins[0], items[1:]))
    )


DATES = st.sampled_from(
    ["2021", "2021-12", "2021-12-10", "2021..2022-06", "2021-12..", "..2021", "7d..", "today", "2w..yesterday",
     "2021-13", "someday", "2021..2020"]
).map(lambda value: "date:" + value)
QUERIES = st.recursive(
    st.one_of(
        st.tuples(SIGNS, FIELD_PREFIXES, VALUES).map("".join),
        st.tuples(SIGNS, DATES).map("".join),
        st.tuples(SIGNS, WORDS).map(lambda parts: f"{parts[0]}={parts[1]}"),
    ),
    lambda inner: st.one_of(
        st.lists(inner, min_size=1, max_size=4).flatmap(joined),
        st.tuples(SIGNS, FIELD_PREFIXES, st.lists(inner, max_size=3).flatmap(
            lambda items: joined(items) if items else st.just("")
        ), st.sampled_from(["", " "])).map(lambda parts: f"{parts[0]}{parts[1]}({parts[2]}{parts[3]})"),
    ),
    max_leaves=8,
)


@st.composite
def plain_queries(draw):
    return draw(st.sampled_from(["", " "])) + draw(QUERIES) + draw(st.sampled_from(["", " "]))


@given(plain_queries(), st.booleans(), st.booleans())
@settings(max_examples=400, deadline=None)
@example('"prime minister"', False, False)
@example('lead:"a b" OR title:US', False, False)
@example("US AND b OR c", True, False)
@example("x AND NOT US", False, False)
@example("Taliban AND NOT -Taliban", False, False)  # NOT NOT: Whoosh's parser fails
@example("(Kabul OR Kandahar) Taliban", True, False)
@example("lead:(Kabul OR Kandahar) -lead:Taliban", False, False)
@example("title:(a body:(b c) US)", False, False)
@example("(a OR b) AND c OR d", False, False)
@example("(date:2021-12 OR date:2022) Kabul -date:2021-12-10", False, False)
@example("date:2021(Kabul)", False, False)
@example("(IT OR ICT) =jobs =U.S.-led =a(b)", False, False)
@example("talibn~ title:tailban~2/3 lead:WHO~ don't~", False, False)
@example('source:"Pashtun Times" OR "x"', False, False)
def test_the_plain_shapes_are_read_as_whooshs_parser_reads_them(text, any_words, ignore_case):
    plain, whoosh = assert_same_or_declined(text, any_words, ignore_case)
    assert plain is not None or not isinstance(whoosh, wq.Query), f"{text!r} declined"


def test_a_bad_date_is_the_same_error_either_way():
    plain, whoosh = read_both_ways("Kabul date:2021-13")
    assert plain == whoosh == "DateSyntaxError: invalid date '2021-13': month 13 is not 1-12"


# Near misses: any character, above all those that mean something to Whoosh's parser or ours,
# whitespace of every kind, operators at the ends, case, unicode look-alikes.
NEAR_MISS_CHARACTERS = st.sampled_from(
    list(" \t\n\r\x0b\x0c\x1c\x85\xa0\u2003\u3000") + [chr(code) for code in range(33, 127)]
    + list("\u055e\u061f\u1367＊？：＂（）～＝éÉßİı’‘“”«»")
)
NEAR_MISS_WORDS = st.sampled_from(
    ["AND", "OR", "NOT", "ANDNOT", "ANDMAYBE", "REQUIRE", "NEAR", "NEAR/3", "NEAR/x", "SENTENCE(", "mentions>=2:",
     "date:", "date:2021", "title:", "lang:", "language:", "x:", "*:*", "=", "~", "~2", "^2", "[a TO b]", "*", "?",
     "(", ")", '"', "-", "+", "and", "or", "not", "US", "title2:", "über:", "T:"]
)


@st.composite
def near_misses(draw):
    pieces = draw(st.lists(st.one_of(QUERIES, NEAR_MISS_WORDS, st.text(NEAR_MISS_CHARACTERS, max_size=4)), max_size=6))
    return "".join(draw(st.sampled_from(["", " ", "  "])) + piece for piece in pieces)


@given(near_misses(), st.booleans(), st.booleans())
@settings(max_examples=600, deadline=None)
@example("a.b:c", False, False)
@example("title2:x", False, False)
@example("cease*\tx", False, False)
@example('"a b"~2', False, False)
@example('"a"b', False, False)
@example("+ AND x", False, False)
@example("- AND x", False, False)
@example("x ＊", False, False)
def test_anything_else_is_declined_or_read_alike(text, any_words, ignore_case):
    assert_same_or_declined(text, any_words, ignore_case)


@pytest.mark.parametrize(
    "text",
    [
        'date:"2021"', "date:(2021)", "x.date:2021", "title:date:2021", "talibn~12", "talibn~x", "~talibn", "a=b",
        "=a=b", "a~2~", "a*~", "a~*",
        '=a"b c"', "Taliban NEAR/5 talks", "Taliban NEAR talks", "SENTENCE(Taliban talks Doha)",
        "mentions>=3:Taliban", "organi?ation", "(Kabul OR Kandahar) SENTENCE(a b)", "a ANDNOT b", "a ANDMAYBE b",
        "a REQUIRE b", "x^2", '"a b"~3', "title:(a OR b~^2)", "cease*\tfire", "(a)b", "(a)NOT b", "a(b)",
    ],
)
def test_the_rest_of_the_language_goes_to_whooshs_parser(text):
    for any_words in (False, True):
        plain, whoosh = read_both_ways(text, any_words)
        assert plain is None, text


def readme_queries():
    """The queries the README shows: the first column of the query syntax table, and the words of
    its `archsearch query` command lines, their options left out."""
    readme = README.read_text(encoding="utf-8")
    table = readme.split("#### Query syntax", 1)[1].strip().split("\n\n", 1)[0]
    queries = [
        example for row in table.splitlines()[2:] for example in re.findall(r"`([^`]+)`", row.split(" | ")[0])
    ]
    with_values = {"--since", "--until", "--sort", "-n", "--limit", "--format", "--index"}
    for line in readme.splitlines():
        if not re.match(r"\s+archsearch query ", line):
            continue
        arguments = shlex.split(re.split(r" [|#>] ", line)[0])[2:]
        words = []
        while arguments:
            argument = arguments.pop(0)
            if argument in with_values:
                arguments.pop(0)
            elif not re.fullmatch(r"--[a-z-]+|-[a-z0-9]", argument) and not argument.startswith("@"):
                words.append(argument)
        queries.append(" ".join(words))
    return sorted(set(queries))


def test_the_readme_shows_queries_of_both_kinds():
    queries = readme_queries()
    read = [read_both_ways(text) for text in queries]
    assert len(queries) > 30
    assert sum(plain is not None for plain, _ in read) >= 3 and sum(plain is None for plain, _ in read) >= 3


def declined(*args):
    """_read_plainly declining every query: parse_query as it was, Whoosh's parser for all."""
    raise querying._NotPlain


@pytest.mark.parametrize("text", readme_queries())
@pytest.mark.parametrize("options", [{}, {"any_words": True}, {"ignore_case": True}, {"since": "2021"}])
def test_the_readmes_queries_parse_alike_either_way(monkeypatch, text, options):
    """parse_query whole, the plain reading on and off: the same ParsedQuery, in every language."""

    def parsed():
        try:
            result = querying.parse_query(text, SCHEMA, today=TODAY, languages=("en", "ru", ""), **options)
        except querying.QuerySyntaxError as error:
            return str(error)
        return state(result.query), repr(result.query), str(result.query), state(result.words), result.explain()

    either = parsed()
    monkeypatch.setattr(querying, "_read_plainly", declined)
    assert parsed() == either


@pytest.mark.parametrize(
    "text",
    ['"Taliban', "(Kabul", "Kabul)", "Taliban AND", "OR Kabul", "byline:Smith", "date:2021-13", "title:", "=", "NEAR/0",
     "SENTENCE(a)", "mentions>=0:x", "a NOT", "title:=news"],
)
def test_errors_are_those_of_before(monkeypatch, text):
    with pytest.raises(ArchsearchError) as plain:
        querying.parse_query(text, SCHEMA, today=TODAY)
    monkeypatch.setattr(querying, "_read_plainly", declined)
    with pytest.raises(ArchsearchError) as whoosh:
        querying.parse_query(text, SCHEMA, today=TODAY)
    assert (type(plain.value), str(plain.value)) == (type(whoosh.value), str(whoosh.value))


def test_a_plain_query_loads_no_part_of_whooshs_parser():
    code = (
        "import sys; from archsearch.querying import parse_query; from archsearch.schema import build_schema; "
        "schema = build_schema(); "
        "parse_query('syria \"prime minister\" OR title:US -source:TASS cease* (a OR b~) date:2021 =news', schema); "
        "print([name for name in sys.modules if name.startswith('whoosh.qparser')]); "
        "parse_query('Taliban NEAR/5 talks', schema); print('whoosh.qparser' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert result == ["[]", "True"]


@pytest.mark.parametrize("operator", [" AND ", " OR "])
def test_a_long_chain_of_operators_is_one_group_as_in_whooshs_parser(operator):
    """Each operator adds its right-hand side to the group on its left, as Whoosh's InfixOperator
    does: nested two by two, a thousand words would pass Python's recursion limit."""
    plain, whoosh = assert_same_or_declined(operator.join(f"word{number}" for number in range(1000)))
    assert len(plain.subqueries) == (3000 if operator == " OR " else 1000)  # OR: each word's three fields


def test_the_server_has_whooshs_parser_ready_for_the_rest_of_the_language():
    """The server preloads query_plugins, whose import compiles the parser's regular expressions, and
    fuzzy.py, which a prefix or fuzzy word loads: its requests' first query of the other shapes
    compiles none (2 ms of each)."""
    code = (
        "import re, sys; import archsearch.server as server; "
        "[__import__(name) for name in server.PRELOADED if name.startswith(('archsearch.query', 'archsearch.engines.whoosh.fuzzy'))]; "
        "from archsearch.querying import parse_query; from archsearch.schema import build_schema; "
        "schema = build_schema(); compiled = []; real = re._compiler.compile; "
        "re._compiler.compile = lambda *args: compiled.append(args[0]) or real(*args); "
        "parse_query('talibn~2 (Kabul OR source:TASS) =news a NEAR/3 b SENTENCE(c d) mentions>=2:x organi?ation', "
        "schema); "
        "print(len(compiled))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert result == "0"
