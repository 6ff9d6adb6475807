import os
import pickle
import re
import subprocess
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st


# What archsearch's command line (archsearch.client.main) does before anything else: lean_imports
# comes with the first module beyond the client's.
AS_THE_COMMAND_LINE = "from archsearch import client; client.lean_imports_on_first_use()\n"


def run(code: str, as_the_command_line=True) -> str:
    code = AS_THE_COMMAND_LINE + code if as_the_command_line else code
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()


def test_a_program_that_imports_archsearch_as_a_library_gets_the_real_modules(seeded_index):
    """The stand-ins are the command line's alone: a program that searches with archsearch's
    modules has Python's threading, hashlib, inspect, random (all of each module), and its collector."""
    result = run(
        "import gc, sys, importlib.util; threshold = gc.get_threshold(); "
        "from archsearch.engines import open_engine; "
        f"found = open_engine({str(seeded_index)!r}).search('Taliban', limit=3).total; "
        "import archsearch.cli; from threading import *; import threading, hashlib, inspect, random; "
        "print(found > 0, 'Thread' in dir(), importlib.util.find_spec('threading') is not None, "
        "callable(threading.Event), hashlib.sha256(b'').hexdigest()[:8], callable(inspect.signature), "
        "random.Random(1).random() < 1, gc.get_threshold() == threshold, "
        "sorted({type(sys.modules[name]).__name__ for name in ('threading', 'hashlib', 'inspect', 'random', 'uuid', 'copy', "
        "'pickle', 'whoosh.query', 'whoosh.matching', 'whoosh.classify')}), hasattr(sys.modules['cached_property'], '__file__'))",
        as_the_command_line=False,
    )
    assert result == "True True True True e3b0c442 True True True ['module'] True"


def test_a_query_loads_neither_urllib_request_nor_asyncio():
    loaded = run(
        "import sys, archsearch.searching, archsearch.engines.whoosh.store; "
        "print(type(sys.modules['urllib.request']).__name__, 'asyncio' in sys.modules)"
    )
    assert loaded == "_DeferredModule False"


def test_urllib_request_still_works_for_anyone_who_uses_it():
    result = run(
        "import archsearch.searching, urllib.request, sys; "
        "print(urllib.request.Request('http://example.com').host, type(sys.modules['urllib.request']).__name__)"
    )
    assert result == "example.com module"


def test_whoosh_cached_properties_work():
    result = run(
        "import tempfile; from whoosh import fields, index; "
        "import archsearch; "
        "d = tempfile.mkdtemp(); ix = index.create_in(d, fields.Schema(a=fields.ID(stored=True))); "
        "w = ix.writer(); w.add_document(a='x'); w.add_document(a='y'); w.commit(); "
        "w = ix.writer(); w.delete_by_term('a', 'x'); w.commit(merge=False); "
        "r = ix.reader(); print(sorted(r.deleted_docs_set) if hasattr(r, 'deleted_docs_set') else 'multi', r.doc_count())"
    )
    assert result.endswith(" 1")


# Real modules a query run without the server must not load, its output going to a pipe: what it
# never uses, what only other commands or formats use, and what only a terminal needs (rich).
# sqlite3's C core is allowed: the near-duplicate groups a query shows live in the index's record of
# files (the package, with its date adapters, is not: sqlite3.dbapi2).  mmap is allowed: the body's and titles'
# postings are in the segments' postings files alone (segments.FILE_ONLY_FIELDS), which a query maps
# (postings_arrays.ListedPostings); its import is under a millisecond.
NOT_ON_THE_QUERY_PATH = (
    "asyncio", "urllib.request", "html", "html.entities", "tokenize", "linecache", "tempfile", "shutil",
    "subprocess", "socket", "email", "http", "ssl", "difflib", "tomllib", "rich", "textual", "whoosh.lang.morph_en",
    "matplotlib", "numpy", "lxml", "trafilatura", "pypdf", "dateparser", "warcio",
    "calendar", "random", "queue", "whoosh.highlight", "whoosh.automata.lev", "csv", "base64",
    "hashlib", "_hashlib", "uuid", "platform", "whoosh.support.charset", "archsearch.dates", "inspect", "ast", "dis",
    "whoosh.lang.dmetaphone", "pickle", "urllib.parse", "copy", "whoosh.util.times", "whoosh.util.filelock",
    "whoosh.query.spans", "whoosh.query.nested", "whoosh.query.qcolumns", "threading", "decimal", "_decimal", "numbers",
    "binascii", "ntpath",
    # Whoosh's Porter stemmer and stem caches (StemFilter's defaults), and its readers of old tables of contents
    "whoosh.lang", "whoosh.lang.porter", "whoosh.util.cache", "whoosh.legacy", "whoosh.util.loading",
    # language identification, indexing's
    "archsearch.analysis.language",
    # the remembered hits and the record of the index's languages are marshalled; JSON is --json's
    "json",
    # Whoosh's matchers, which archsearch's evaluation does not run, and its query expansion
    "whoosh.matching.binary", "whoosh.matching.combo", "whoosh.classify",
    # a plain-text article is decoded as UTF-8 without its byte order mark, not by this codec
    "encodings.utf_8_sig",
    "sqlite3.dbapi2",
    # where a hit's copies are found in the index, for hits in a group of copies alone
    "archsearch.engines.whoosh.keys",
    # a query's classes are archsearch.records' (dataclasses for other commands' own)
    "dataclasses",
    # prefix and fuzzy words' modules, for queries with such a word alone
    "archsearch.engines.whoosh.fuzzy", "archsearch.engines.whoosh.prefix_postings",
    # the client's, to reach a server; tests run with ARCHSEARCH_SERVER=off (conftest.py)
    "_socket",
    # a plain query's command line is read without click (archsearch.query_line), and click's gettext with it;
    # typing only click and type checkers need
    "click", "gettext", "locale", "typing",
)

# A reading command ends with os._exit (archsearch.cli.end), the help at the interpreter's exit.
# Modules the interpreter loads before any code of ours (linecache from Python 3.13 on) are not counted.
COMMAND_THEN_LOADED = """
import atexit, os, sys
loaded_by_python = set(sys.modules)
def report_loaded():
    from archsearch.lean_imports import loaded  # None for its placeholders, of any class

    print(sorted(
        name for name in {names!r} if name not in loaded_by_python and loaded(name) is not None
    ), file=sys.stderr, flush=True)
exit_now = os._exit
os._exit = lambda status: (report_loaded(), exit_now(status))
atexit.register(report_loaded)
sys.argv = ["archsearch", *{args!r}]
from archsearch.client import main
main()
"""


def run_command(script: str, index) -> subprocess.CompletedProcess:
    """A command run by `script` (COMMAND_THEN_LOADED, COMMAND_THEN_SEARCHED) on `index`."""
    return subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env={**os.environ, "ARCHSEARCH_INDEX": str(index)},
    )


@pytest.mark.parametrize(
    "args, needed",
    [
        (["query", "Taliban"], ()),
        (["query", "Taliban", "--json"], ("json",)),
        # a date window parses its dates, without calendar (and the locale it imports)
        (["query", "Taliban", "--since", "2021-02", "--until", "2021-12"], ("archsearch.dates",)),
        # click wraps the help to shutil.get_terminal_size(), and cleans the commands' long help with inspect's cleandoc;
        # its contexts are kept per thread (threading.local).
        (["--help"], ("shutil", "inspect", "ast", "dis", "click", "gettext", "locale", "typing", "threading", "json")),
    ],
)
def test_a_query_or_the_help_loads_no_heavy_module(seeded_index, args, needed):
    names = tuple(name for name in NOT_ON_THE_QUERY_PATH if name not in needed)
    result = run_command(COMMAND_THEN_LOADED.format(names=names, args=args), seeded_index)
    assert result.returncode == 0 and result.stdout, result.stderr
    assert result.stderr.splitlines()[-1] == "[]"


def test_a_query_finds_the_copies_of_its_hits_with_sqlite3_s_core_alone(tmp_path):
    """nearduplicates takes sqlite3's connect and Error from _sqlite3 (lean_imports): the copy groups
    are read as before, without the package's date adapters."""
    from conftest import build_index, wire

    lead = "KABUL, December 10. /TASS/."
    text = "The Taliban expect help in fighting terrorism and drug trafficking, the spokesman said on Friday."
    index = build_index(tmp_path, {
        **{f"copy{number}.txt": wire("2021-12-10", lead, text) for number in (1, 2, 3)},
        "other.txt": wire("2021-12-11", "HERAT, December 11. /TASS/.", "Markets reopened."),
    })
    result = run_command(COMMAND_THEN_LOADED.format(names=("sqlite3", "sqlite3.dbapi2"), args=["query", "taliban"]), index)
    assert result.returncode == 0, result.stderr
    assert " · +2 copies" in result.stdout
    assert result.stderr.splitlines()[-1] == "[]"


def test_a_query_with_enough_hits_loads_no_spelling_suggestions(tmp_path):
    """Did-you-mean (archsearch.spelling) is for a query with fewer than searching.FEW_HITS hits."""
    from conftest import build_index, wire

    index = build_index(tmp_path, {
        f"{number}.txt": wire(f"2021-12-1{number}", "KABUL, December 10. /TASS/.", f"The Taliban said {number} things.")
        for number in range(6)
    })
    # and Whoosh's edit distance, which whoosh.reading takes for its own fuzzy matching
    names = NOT_ON_THE_QUERY_PATH + ("archsearch.spelling", "whoosh.support.levenshtein")
    result = run_command(COMMAND_THEN_LOADED.format(names=names, args=["query", "Taliban"]), index)
    assert result.returncode == 0 and result.stdout.count("Taliban") >= 6, result.stderr
    assert result.stderr.splitlines()[-1] == "[]"


def test_the_modules_stood_in_for_still_work():
    result = run(
        "import archsearch, io, sys, traceback; "
        "from whoosh.compat import htmlescape; from whoosh.filedb.compound import copyfileobj; "
        "from whoosh.query import Variations; from whoosh.lang import morph_en; "
        "import html.parser, shutil, tempfile, tokenize; from html import entities; "
        "out = io.BytesIO(); copyfileobj(io.BytesIO(b'abc'), out); "
        "tokens = [token.string for token in tokenize.tokenize(io.BytesIO(b'a = 1').readline)][1:4]; "
        "lines = traceback.format_stack(limit=1); "
        "print(htmlescape('<b>'), html.unescape('&eacute;'), len(entities.html5) > 2000, html.parser.HTMLParser.__name__, "
        "out.getvalue(), bool(shutil.which('sh')), bool(tempfile.gettempdir()), tokens, len(lines), "
        "'rendered' in Variations('body', 'render')._btexts.__globals__['variations']('render'), len(morph_en.rules) > 50, "
        "sorted({type(sys.modules[name]).__name__ for name in ('html', 'shutil', 'tempfile', 'tokenize', 'linecache', "
        "'whoosh.lang.morph_en')}))"
    )
    assert result == "&lt;b&gt; é True HTMLParser b'abc' True True ['a', '=', '1'] 1 True True ['module']"


def test_the_command_line_installs_nothing_until_a_module_beyond_the_client_s():
    result = run(
        "import gc, sys, archsearch, archsearch.client; archsearch.client.lean_imports_on_first_use(); "
        "young = gc.get_threshold()[0]; "
        "before = [name in sys.modules for name in ('archsearch.lean_imports', 'urllib.request', 'cached_property')]; "
        "import whoosh.index; "
        "print(young < 100_000, before, type(sys.modules['urllib.request']).__name__, gc.get_threshold()[0] >= 100_000)",
        as_the_command_line=False,
    )
    assert result == "True [False, False, False] _DeferredModule True"


def test_the_modules_stood_in_for_whoosh_still_work():
    result = run(
        "import archsearch, sys; "
        "import calendar, random, queue, mmap, ipaddress; from whoosh import highlight; from whoosh.automata import lev; "
        "from urllib.parse import urlsplit; from whoosh.util import random_name; "
        "from whoosh.analysis import DoubleMetaphoneFilter, RegexTokenizer; "
        "print(calendar.monthrange(2024, 2)[1], len(random_name(5)), queue.Queue().empty(), mmap.ACCESS_READ, "
        "ipaddress.ip_address('::1').version, urlsplit('http://[::1]:80/a').hostname, "
        "type(highlight.Highlighter()).__name__, lev.levenshtein_automaton('ab', 1).to_dfa().accept('abc'), "
        "[token.text for token in DoubleMetaphoneFilter()(RegexTokenizer()('Thompson'))], "
        "sorted({type(sys.modules[name]).__name__ for name in ('calendar', 'random', 'queue', 'mmap', 'ipaddress', "
        "'whoosh.highlight', 'whoosh.automata.lev', 'whoosh.lang.dmetaphone')}))"
    )
    assert result == "29 5 True 1 6 ::1 Highlighter True ['TMPSN'] ['module']"


def test_whoosh_s_stemmer_caches_and_old_tables_of_contents_stood_in_for_still_work(tmp_path):
    """whoosh.analysis takes the Porter stemmer and its caches, and whoosh.index the readers of old
    tables of contents, as stand-ins (a query loads none of them): a StemFilter and a
    StemmingAnalyzer made with the defaults stem as the real ones, with a cache or without, and an
    index of ours is opened without the old readers, which are there for a version that needs them."""
    result = run(
        "import sys; import archsearch.searching; from whoosh import fields, index; "
        "from whoosh.analysis import RegexTokenizer, StemFilter, StemmingAnalyzer\n"
        "before = sorted({type(sys.modules[name]).__name__ for name in ('whoosh.lang.porter', 'whoosh.util.cache', 'whoosh.legacy')})\n"
        f"ix = index.create_in({str(tmp_path)!r}, fields.Schema(a=fields.TEXT)); ix.writer().commit()\n"
        "opened = index.open_dir(ix.storage.folder).doc_count(); legacy = type(sys.modules['whoosh.legacy']).__name__\n"
        "stems = [[token.text for token in analyzer('running ponies caresses')] for analyzer in "
        "(RegexTokenizer() | StemFilter(), RegexTokenizer() | StemFilter(cachesize=-1), RegexTokenizer() | StemFilter(cachesize=0), "
        "StemmingAnalyzer())]\n"
        "from whoosh.index import toc_loaders\n"
        "print(before, opened, legacy, stems, -110 in toc_loaders, toc_loaders[-110].__name__, "
        "sorted({type(sys.modules[name]).__name__ for name in ('whoosh.lang.porter', 'whoosh.util.cache', 'whoosh.legacy')}))"
    )
    stems = "['runn', 'poni', 'caress']"  # Whoosh's Porter stemmer's, as a program without the stand-ins gets
    assert result == f"['_DeferredModule'] 0 _DeferredModule [{', '.join([stems] * 4)}] True load_110_toc ['module']"


def test_a_name_of_a_c_module_stood_in_for_is_looked_up_once_it_is_loaded():
    """mmap's placeholder stays in the modules that imported it (postings_arrays maps each segment's
    file through it): once the real module is loaded, its names are the placeholder's own."""
    result = run(
        "import sys; import archsearch.searching; from archsearch.engines.whoosh import postings_arrays\n"
        "placeholder = postings_arrays.mmap; before = 'ACCESS_READ' in vars(placeholder)\n"
        "import mmap\n"
        "print(type(placeholder).__name__, before, placeholder.ACCESS_READ == mmap.ACCESS_READ, "
        "vars(placeholder)['ACCESS_READ'] is mmap.ACCESS_READ, placeholder.mmap is mmap.mmap is sys.modules['mmap'].mmap)"
    )
    assert result == "_DeferredModule False True True True"


def test_the_collector_runs_less_often_but_still_collects_cycles():
    result = run(
        # archsearch alone is the client's: lean_imports comes with the first import beyond it.
        "import gc, weakref, archsearch.searching\n"
        "class Node: pass\n"
        "node = Node(); node.itself = node; alive = weakref.ref(node); del node\n"
        "before = alive() is not None\n"
        "gc.collect()\n"
        "print(gc.get_threshold()[0] >= 100_000, before, alive() is None)"
    )
    assert result == "True True True"


def test_md5_and_uuid_stood_in_for_give_what_the_real_modules_give():
    """Whoosh's hash tables take MD5 from Python's own _md5; click's UUID type still converts to
    the real uuid.UUID, loaded when first used."""
    result = run(
        "import sys, archsearch.cli, click; from whoosh.filedb.filetables import md5_hash; "
        "before = sorted(type(sys.modules[name]).__name__ for name in ('hashlib', 'uuid')); "
        "import hashlib, uuid; "
        "same = md5_hash(b'kabul') == int(hashlib.new('md5', b'kabul').hexdigest(), 16) & 0xFFFFFFFF; "
        "value = click.UUID.convert('12345678-1234-5678-1234-567812345678', None, None); "
        "print(before, same, hashlib.md5(b'').hexdigest(), type(value).__module__, value == uuid.UUID(int=value.int), "
        "isinstance(value, uuid.UUID), sorted(type(sys.modules[name]).__name__ for name in ('hashlib', 'uuid')))"
    )
    assert result == (
        "['_DeferredModule', '_DeferredModule'] True d41d8cd98f00b204e9800998ecf8427e uuid True True ['module', 'module']"
    )


# Character classes compiled on first use, for text that is not ASCII (analysis/tokens.py)

def test_ascii_text_compiles_neither_large_character_class():
    result = run(
        "from archsearch.analysis import tokens; "
        "print(tokens.words('The U.S. said 3.5 things'), tokens.word_spans('Kabul today')[1], "
        "tokens.word_expression('Kabul') is tokens.PLAIN_WORD, tokens.plain_word_character('\u00e9'), "
        "tokens._has_mark_pattern.cache_info().currsize, tokens._unspaced_pattern.cache_info().currsize, "
        "tokens.words('\u5317\u4eac\u5927\u5b66 Z\u00fcrcher'), "
        "tokens._has_mark_pattern.cache_info().currsize, tokens._unspaced_pattern.cache_info().currsize)"
    )
    assert result == (
        "['The', 'U.S', 'said', '3.5', 'things'] (6, 11, 'today') True True 0 0 "
        "['\u5317\u4eac', '\u4eac\u5927', '\u5927\u5b66', 'Z\u00fcrcher'] 1 1"
    )


def test_the_server_compiles_both_classes_before_it_forks_a_command():
    result = run(
        "from archsearch import server; from archsearch.analysis import tokens; server.preload(); "
        "print(tokens._has_mark_pattern.cache_info().currsize, tokens._unspaced_pattern.cache_info().currsize)"
    )
    assert result == "1 1"


def test_plain_word_characters_are_those_neither_class_holds():
    """plain_word_character looks code points up in the ranges the two classes are made of, and
    no ASCII character is in either class (what lets ASCII text skip them)."""
    from archsearch.analysis import tokens

    marks, unspaced = tokens._has_mark_pattern(), tokens._unspaced_pattern()
    disagree = [
        code for code in range(0x110000)
        if tokens.plain_word_character(chr(code)) != (not (marks.match(chr(code)) or unspaced.match(chr(code))))
    ]
    assert disagree == []
    assert not any(marks.match(chr(code)) or unspaced.match(chr(code)) for code in range(128))


def test_commands_are_defined_and_parsed_without_inspect():
    """click's cleandoc of each option's help is the stand-in's, and a dataclass with a docstring
    needs no signature from inspect: neither defining the commands nor the modules of a query
    load it (ast and dis with it)."""
    result = run(
        "import sys; from archsearch import cli; "
        "[cli.cli.get_command(None, name) for name in cli.COMMANDS if name not in ('browse', 'cluster')]; "
        "from archsearch.cli.query import command; command.make_context('query', ['Kabul', '-n', '3']); "
        "import archsearch.querying, archsearch.passages, archsearch.rendering, archsearch.lasthits, "
        "archsearch.formats.text, archsearch.dates, archsearch.formats.registry, archsearch.searching, "
        "archsearch.engines.whoosh.evaluation; "
        "print(type(sys.modules['inspect']).__name__, [name for name in ('ast', 'dis') if name in sys.modules])"
    )
    assert result == "_DeferredModule []"


@given(st.text(alphabet=st.sampled_from(" \t\nab\u00e9\r\x0b"), max_size=30))
def test_the_stand_in_cleandoc_is_inspects(doc):
    import inspect

    from archsearch import lean_imports

    assert lean_imports._cleandoc(doc) == inspect.cleandoc(doc)


class Annotated:
    name: str
    population: "int"


class AnnotatedMore(Annotated):
    aliases: tuple = ()


class NotAnnotated(Annotated):
    pass


@pytest.mark.parametrize("obj", [Annotated, AnnotatedMore, NotAnnotated, int, type])
def test_the_stand_in_get_annotations_is_inspects(obj):
    """A class's own annotations, a new dict each time, as inspect.get_annotations gives them (which
    dataclasses calls for every class from Python 3.12 on: the real inspect would load)."""
    import inspect

    from archsearch import lean_imports

    given = lean_imports._get_annotations(obj)
    assert given == inspect.get_annotations(obj) and given is not lean_imports._get_annotations(obj)
    assert lean_imports._get_annotations(Annotated, eval_str=True) == {"name": str, "population": int}


def test_the_accent_table_is_whooshs():
    """analysis/_tables.py's copy of Whoosh's accent_map (regenerate it with `python -m
    archsearch.analysis.charclasses` when this fails), in its order, so schemas pickle the same."""
    import pickle

    from whoosh.support.charset import accent_map

    from archsearch.analysis._tables import ACCENT_MAP

    assert pickle.dumps(ACCENT_MAP) == pickle.dumps(accent_map)


# Generated source compiled once per user, not in every process (lean_imports._CompiledSources)

COMPILES_OF_A_COMMAND_LINE_PROCESS = """
import builtins, sys
compiled = []
real_compile = builtins.compile
# A module's own file is compiled where its cached bytecode is stale and cannot be rewritten
# (PYTHONDONTWRITEBYTECODE): not generated source.
def counting_compile(*args, **kwargs):
    if not str(args[1]).endswith(".py"):
        compiled.append(args[0])
    return real_compile(*args, **kwargs)
builtins.compile = counting_compile
from archsearch import client
client.lean_imports_on_first_use()
import archsearch.cli, dataclasses, typing
from collections import namedtuple
from archsearch.records import Record

class Spot(Record, frozen=True):
    name: str
    rank: int = 0

@dataclasses.dataclass(frozen=True, order=True)
class Place:
    \"\"\"A dataclass like archsearch's.\"\"\"
    name: str
    population: int = 0
    aliases: tuple = dataclasses.field(default_factory=tuple)

Pair = namedtuple("Pair", "left right")
hints = typing.get_type_hints(typing.NamedTuple("Hinted", [("place", "Place")]), globals())
kabul = Place("Kabul", 4_000_000)
print(repr(kabul), kabul == Place("Kabul", 4_000_000), kabul < Place("Oslo"), hash(kabul) == hash(Place("Kabul", 4_000_000)),
      Pair(1, 2), hints["place"] is Place, Spot("Herat") == Spot("Herat", 0), len(compiled) > 0, file=sys.stderr)
try:
    kabul.name = "Herat"
except dataclasses.FrozenInstanceError:
    print("frozen", file=sys.stderr)
"""


def compiles_and_answers(environ) -> tuple[int, str]:
    """(texts compiled, what the dataclass and its kin did) in a new process of the command line."""
    script = COMPILES_OF_A_COMMAND_LINE_PROCESS.replace("len(compiled) > 0", "len(compiled)")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=environ, check=True)
    *answer, compiled, frozen = result.stderr.split()
    return int(compiled), " ".join([*answer, frozen])


EXPECTED_ANSWER = (
    "Place(name='Kabul', population=4000000, aliases=()) True True True Pair(left=1, right=2) True True frozen"
)


def test_a_second_process_compiles_no_generated_source_and_behaves_the_same(tmp_path):
    environ = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")}
    first_compiled, first = compiles_and_answers(environ)
    second_compiled, second = compiles_and_answers(environ)
    assert first == second == EXPECTED_ANSWER
    assert first_compiled >= 9  # the dataclass's methods, the record's __init__, the namedtuple's __new__, the forward reference
    assert second_compiled == 0
    saved = tmp_path / "cache" / "archsearch"
    assert [path.name for path in saved.iterdir()] == [lean_imports_module().COMPILED_SOURCES_FILE]
    assert oct(next(saved.iterdir()).stat().st_mode & 0o777) == "0o600"


def lean_imports_module():
    from archsearch import lean_imports

    return lean_imports


@pytest.mark.parametrize("damage", [b"", b"garbage", b"truncated"])
def test_a_damaged_or_unwritable_cache_only_means_compiling_again(tmp_path, damage):
    saved = tmp_path / "cache" / "archsearch" / lean_imports_module().COMPILED_SOURCES_FILE
    environ = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")}
    compiles_and_answers(environ)
    whole = saved.read_bytes()
    assert whole
    saved.write_bytes(whole[: len(whole) // 2] if damage == b"truncated" else damage)
    compiled, answer = compiles_and_answers(environ)
    assert answer == EXPECTED_ANSWER and compiled >= 8
    assert compiles_and_answers(environ) == (0, EXPECTED_ANSWER)  # written anew
    (tmp_path / "not a folder").write_text("")
    compiled, answer = compiles_and_answers({**environ, "XDG_CACHE_HOME": str(tmp_path / "not a folder")})
    assert answer == EXPECTED_ANSWER and compiled >= 8


def test_compiled_sources_another_user_could_have_written_are_not_run(tmp_path):
    """The file's code is run: one writable by others (a cache folder in a shared place) is not read."""
    saved = tmp_path / "cache" / "archsearch" / lean_imports_module().COMPILED_SOURCES_FILE
    environ = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")}
    compiles_and_answers(environ)
    assert compiles_and_answers(environ) == (0, EXPECTED_ANSWER)
    os.chmod(saved, 0o666)
    compiled, answer = compiles_and_answers(environ)
    assert answer == EXPECTED_ANSWER and compiled >= 8


def test_each_text_s_code_is_unmarshalled_only_when_run(tmp_path):
    """The file keeps each code marshalled apart, so that a process unmarshals only the codes it
    runs; an entry damaged is compiled again, and the others are still reused."""
    import marshal

    lean_imports = lean_imports_module()
    saved = tmp_path / "cache" / "archsearch" / lean_imports.COMPILED_SOURCES_FILE
    environ = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")}
    compiles_and_answers(environ)
    codes = compiled_sources_in(tmp_path / "cache")
    assert len(codes) >= 8 and all(type(code) is bytes for code in codes.values())
    codes[next(key for key in codes if key[0] in ("exec", "eval"))] = b"garbage"
    write_compiled_sources(tmp_path / "cache", codes)
    assert compiles_and_answers(environ) == (1, EXPECTED_ANSWER)
    assert compiles_and_answers(environ) == (0, EXPECTED_ANSWER)  # written anew


def test_code_kept_for_a_text_is_that_of_the_same_future_flags():
    """The same text compiled where `from __future__ import annotations` holds, and where it does
    not, is two codes (its annotations a string, or evaluated)."""
    from archsearch import lean_imports

    text = "def f(x: int): pass"
    plain_namespace, future_namespace = {}, {}
    lean_imports._kept_exec(text, plain_namespace)
    exec(compile(
        "from __future__ import annotations\nkept_exec(text, namespace)", "<test>", "exec", dont_inherit=True
    ), {"kept_exec": lean_imports._kept_exec, "text": text, "namespace": future_namespace})
    assert plain_namespace["f"].__annotations__ == {"x": int}
    assert future_namespace["f"].__annotations__ == {"x": "int"}


# Regular expressions of module and class bodies, compiled once per user (lean_imports._kept_pattern)

PATTERNS_OF_A_COMMAND_LINE_PROCESS = """
import re, sys
from re import _parser
from archsearch import lean_imports
lean_imports.reuse_compiled_sources()
parsed = []
real_parse = _parser.parse
_parser.parse = lambda *args, **kwargs: (parsed.append(args[0]), real_parse(*args, **kwargs))[1]
MODULE_PATTERNS = [
    re.compile(r"(?P<place>[^\\W\\d_]+),\\s*(?P<when>\\d{1,2})\\.?", re.I),
    re.compile(rb"[\\x00-\\x08]+"),
    re.compile(r'''
        (?P<word> \\w+ )    # a word
        (?: \\s+ (?P=word) )?  # the same again
    ''', re.X | re.UNICODE),
    re.compile(r"(?i:caf[eé])\\b|(a)(b)?"),
]
class Body:
    PATTERN = re.compile(r"[.!?…]+[\\"')\\]]*(?=\\s|$)")
def in_a_function(text):
    return re.compile(text)
def literal_in_a_function(text):
    return re.split(r"\\s+/\\s+", text)
in_a_function("made at run time " + sys.argv[1])
split = literal_in_a_function("Home / World / Asia")
parsed_count = len(parsed)
patterns = [*MODULE_PATTERNS, Body.PATTERN, re.compile(r"\\s+/\\s+")]
answers = [[pattern.pattern, pattern.flags, pattern.groups, dict(pattern.groupindex)] for pattern in patterns] + [
    MODULE_PATTERNS[0].match("KABUL, 10. Dec").groupdict(), MODULE_PATTERNS[1].sub(b"-", b"a\\x01\\x02b"),
    MODULE_PATTERNS[2].match("news news today").group("word"), MODULE_PATTERNS[3].findall("Café ab a"),
    Body.PATTERN.findall("Done. Really?! Yes…"), split,
    # re compares patterns by their code: each as re's own compile makes it
    [pattern == lean_imports._compile_pattern(pattern.pattern, pattern.flags) for pattern in patterns],
]
print(parsed_count, repr(answers))
lean_imports.save_compiled_sources()
"""


def patterns_parsed_and_answers(environ, run_time_text="a") -> tuple[int, str]:
    result = subprocess.run(
        [sys.executable, "-c", PATTERNS_OF_A_COMMAND_LINE_PROCESS, run_time_text],
        capture_output=True, text=True, env=environ, check=True,
    )
    parsed, answers = result.stdout.split(" ", 1)
    return int(parsed), answers


def test_a_second_process_parses_no_module_pattern_and_matches_the_same(tmp_path):
    """The patterns of module and class bodies, and a function's literal ones, are made from what
    their first compile gave _sre.compile: equal patterns (re compares their code), the same
    matches; one a function makes is compiled each time, and not kept."""
    environ = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")}
    first_parsed, first = patterns_parsed_and_answers(environ, "first")
    second_parsed, second = patterns_parsed_and_answers(environ, "second")
    assert first == second
    assert "'KABUL'" in first and "b'a-b'" in first and "'news'" in first and "['Home', 'World', 'Asia']" in first
    assert "[True, True, True, True, True, True]" in first
    assert first_parsed == 7  # the six patterns, and the one the function makes
    assert second_parsed == 1  # the function's alone
    kept = compiled_sources_in(tmp_path / "cache")
    assert not any("made at run time" in str(key[2]) for key in kept if key[0] == "re")


LIBRARY_PATTERNS_AT_RUN_TIME = """
import pickle, re, sys
from re import _parser
from archsearch import lean_imports
lean_imports.reuse_compiled_sources()
parsed = []
real_parse = _parser.parse
_parser.parse = lambda *args, **kwargs: (parsed.append(args[0]), real_parse(*args, **kwargs))[1]
def table_of_contents_pattern(indexname):  # as whoosh.index.TOC._pattern makes it
    return re.compile("^_%s_([0-9]+).toc$" % indexname)
def made_from_a_query(text):
    return re.compile(text)
unpickled = pickle.loads(bytes.fromhex(sys.argv[1]))  # as the index's schema unpickles its tokenizer
names = table_of_contents_pattern("MAIN").match("_MAIN_12.toc").group(1)
made_from_a_query("zakharo" + sys.argv[2])
print(parsed, unpickled.findall("a b\\tc"), names)
lean_imports.save_compiled_sources()
"""


def test_the_patterns_libraries_make_on_a_query_s_path_are_kept(tmp_path):
    """Whoosh's table of contents' name and the keyword fields' tokenizer, made at run time by
    Whoosh and by unpickling the schema, are kept as a module's patterns are; a pattern made from a
    query is not."""
    environ = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")}
    pickled = pickle.dumps(re.compile(r"[^ \t\r\n]+")).hex()

    def run(query_word):
        return subprocess.run(
            [sys.executable, "-c", LIBRARY_PATTERNS_AT_RUN_TIME, pickled, query_word],
            capture_output=True, text=True, env=environ, check=True,
        ).stdout

    assert run("va") == "['[^ \\\\t\\\\r\\\\n]+', '^_MAIN_([0-9]+).toc$', 'zakharova'] ['a', 'b', 'c'] 12\n"
    assert run("ff") == "['zakharoff'] ['a', 'b', 'c'] 12\n"


def compiled_sources_in(cache_home) -> dict:
    import marshal

    lean_imports = lean_imports_module()
    data = (cache_home / "archsearch" / lean_imports.COMPILED_SOURCES_FILE).read_bytes()
    return marshal.loads(data[len(lean_imports._COMPILED_SOURCES_HEADER) + 4:])


def write_compiled_sources(cache_home, codes: dict) -> None:
    """The file as lean_imports writes it: the header, the checksum, the codes."""
    import marshal
    import zlib

    lean_imports = lean_imports_module()
    payload = marshal.dumps(codes)
    (cache_home / "archsearch" / lean_imports.COMPILED_SOURCES_FILE).write_bytes(
        lean_imports._COMPILED_SOURCES_HEADER + zlib.crc32(payload).to_bytes(4, "big") + payload
    )


def test_a_damaged_pattern_kept_is_compiled_again(tmp_path):
    import marshal

    environ = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")}
    _, answers = patterns_parsed_and_answers(environ)
    kept = compiled_sources_in(tmp_path / "cache")
    for key in kept:
        if key[0] == "re":
            text, flags, code, groups, groupindex, indexgroup = marshal.loads(kept[key])
            kept[key] = marshal.dumps((text, flags, [99999] * len(code), groups, groupindex, indexgroup))
    write_compiled_sources(tmp_path / "cache", kept)
    assert patterns_parsed_and_answers(environ) == (7, answers)


def test_a_pattern_s_code_changed_but_valid_is_not_run(tmp_path):
    """A changed word of a kept pattern's code that _sre.compile accepts (one here crashes the
    process) is caught by the file's checksum: the file is read as none."""
    environ = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")}
    _, answers = patterns_parsed_and_answers(environ)
    path = tmp_path / "cache" / "archsearch" / lean_imports_module().COMPILED_SOURCES_FILE
    data = bytearray(path.read_bytes())
    data[-40] ^= 1
    path.write_bytes(bytes(data))
    assert patterns_parsed_and_answers(environ) == (7, answers)


def test_a_special_file_in_the_cache_s_place_is_not_read(tmp_path):
    folder = tmp_path / "cache" / "archsearch"
    folder.mkdir(parents=True)
    os.mkfifo(folder / lean_imports_module().COMPILED_SOURCES_FILE)
    environ = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")}
    assert patterns_parsed_and_answers(environ)[0] == 7  # and no hang


def test_one_text_with_two_flags_is_two_patterns(tmp_path):
    script = (
        "import re, sys; from archsearch import lean_imports; lean_imports.reuse_compiled_sources(); "
        "A = re.compile('kabul', re.I); B = re.compile('kabul'); "
        "print(bool(A.match('KABUL')), bool(B.match('KABUL'))); lean_imports.save_compiled_sources()"
    )
    environ = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")}
    for _ in range(2):
        result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=environ, check=True)
        assert result.stdout.split() == ["True", "False"]


# A query as the console script runs it, reporting which modules the import system was asked to find.
COMMAND_THEN_SEARCHED = """
import os, sys
class Spy:
    asked = []
    @classmethod
    def find_spec(cls, name, path=None, target=None):
        cls.asked.append(name)
sys.meta_path.insert(0, Spy)
exit_now = os._exit
os._exit = lambda status: (print(sorted(set(Spy.asked) & {names!r}), file=sys.stderr, flush=True), exit_now(status))
sys.argv = ["archsearch", *{args!r}]
from archsearch.client import main
main()
"""


@pytest.mark.skipif(sys.version_info[:2] != (3, 11), reason="3.12 on import _datetime before anything else")
@pytest.mark.parametrize("args", [["query", "Taliban"], ["query", "Taliban", "--since", "2021-02", "--until", "2021-12"]])
def test_a_query_never_runs_datetime_py(seeded_index, args):
    result = run_command(COMMAND_THEN_SEARCHED.format(names={"datetime", "_datetime"}, args=args), seeded_index)
    asked = result.stderr.splitlines()[-1:]
    assert (result.returncode, "Taliban" in result.stdout, asked) == (0, True, ["['_datetime']"]), result.stderr


# As a regular installation starts: an editable one's finder (site-packages' __editable__ files) loads
# pathlib, with ntpath, before any code of archsearch's.
AS_INSTALLED = "import sys\nfor name in ('pathlib', 'ntpath'):\n    sys.modules.pop(name, None)\n"


def test_a_query_never_searches_for_windows_modules(seeded_index):
    """pathlib's ntpath, loaded when a Windows path is used, asks for nt and _winapi (0.25 ms)."""
    script = AS_INSTALLED + COMMAND_THEN_SEARCHED.format(names={"ntpath", "nt", "_winapi"}, args=["query", "Taliban"])
    result = run_command(script, seeded_index)
    assert (result.returncode, "Taliban" in result.stdout, result.stderr.splitlines()[-1:]) == (0, True, ["[]"]), result.stderr


def test_windows_paths_still_work_after_ntpath_stood_in_for():
    result = run(
        AS_INSTALLED + "import archsearch.searching, pathlib\nbefore = type(sys.modules['ntpath']).__name__\n"
        "import ntpath\n"
        "print(before, pathlib.PureWindowsPath('C:/news/a.txt').name, str(pathlib.PureWindowsPath('C:/news') / 'b'), "
        "ntpath.splitdrive('C:/news'), type(sys.modules['ntpath']).__name__)"
    )
    assert result == "_DeferredModule a.txt C:\\news\\b ('C:', '/news') module"


def test_datetime_made_from_its_core_is_what_datetime_py_makes():
    result = run(
        "import sys, importlib.util, archsearch, whoosh.index, datetime; "
        "spec = importlib.util.spec_from_file_location('datetime', datetime.__file__); "
        "real = importlib.util.module_from_spec(spec); spec.loader.exec_module(real); "
        "lean, real = vars(datetime), vars(real); "
        "print(sorted(set(lean) ^ set(real)), "
        "[name for name in real if lean[name] != real[name] and name not in ('__spec__', '__loader__')], "
        "datetime.__spec__.origin == datetime.__file__ == real['__file__'], type(datetime.__loader__).__name__)"
    )
    assert result == "[] [] True SourceFileLoader"


def test_pickle_stood_in_for_is_its_core_then_the_real_module():
    result = run(
        "import sys, _pickle, archsearch, whoosh.index, pickle; "
        "from pickle import loads, dumps; "
        "core = [loads is _pickle.loads, dumps is _pickle.dumps, type(sys.modules['pickle']).__name__]; "
        "value = loads(dumps({'a': (1, 2.5, None)}, 2)); "
        "print(core, value, pickle.HIGHEST_PROTOCOL >= 5, pickle.loads is _pickle.loads, type(sys.modules['pickle']).__name__, "
        "pickle.PicklingError is _pickle.PicklingError)"
    )
    assert result == "[True, True, '_DeferredModule'] {'a': (1, 2.5, None)} True True module True"


@pytest.mark.parametrize("first", ["import _md5, _pickle", "from archsearch import lean_imports"])
def test_a_module_that_installing_imports_imported_first_is_loaded_once(first):
    """Installing imports lean_imports, _md5 and _pickle (and on 3.12 contextlib, functools...): one
    of them imported first, before anything installed, is the one module every importer gets."""
    result = run(
        f"import sys; {first}; import whoosh.index, hashlib, pickle, _md5, _pickle; from archsearch import lean_imports; "
        "print(lean_imports.installed, lean_imports is sys.modules['archsearch.lean_imports'], "
        "hashlib.md5 is _md5.md5 is sys.modules['_md5'].md5, pickle.loads is _pickle.loads is sys.modules['_pickle'].loads)"
    )
    assert result == "True True True True"


def test_copy_stood_in_for_copies_as_the_real_module():
    result = run(
        "import sys, archsearch, whoosh.index, dataclasses; from whoosh.filedb.structfile import copy as taken; "
        "import copy; before = type(sys.modules['copy']).__name__; "
        "nested = {'a': [1, {'b': 2}]}; shallow, deep = taken(nested), copy.deepcopy(nested); "
        "Point = dataclasses.make_dataclass('Point', [('xs', list)]); point = Point([nested]); "
        "print(before, shallow == deep == nested, shallow['a'] is nested['a'], deep['a'] is nested['a'], "
        "dataclasses.asdict(point)['xs'][0]['a'] is not nested['a'], type(sys.modules['copy']).__name__)"
    )
    assert result == "_DeferredModule True True False True module"


def test_whoosh_s_times_and_file_lock_stood_in_for_still_work(tmp_path):
    result = run(
        "import archsearch, datetime, sys; from whoosh import fields, index; "
        "from whoosh.fields import datetime_to_long, long_to_datetime; "
        "from whoosh.filedb.filestore import FileLock, FileStorage; "
        "moment = datetime.datetime(2017, 2, 7, 12, 30); "
        f"lock = FileStorage({str(tmp_path)!r}).lock('x'); acquired = lock.acquire(); lock.release(); "
        "print(long_to_datetime(datetime_to_long(moment)) == moment, acquired, type(lock).__name__, "
        "sorted({type(sys.modules[name]).__name__ for name in ('whoosh.util.times', 'whoosh.util.filelock')}))"
    )
    assert result == "True True FcntlLock ['module']"


def test_whoosh_query_gathered_on_use_gives_what_the_real_package_gives():
    result = run(
        "import sys, types, archsearch, whoosh.index; from archsearch import lean_imports; import whoosh.query as query; "
        "kind = type(sys.modules['whoosh.query']).__name__; "
        "taken = {name: getattr(query, name) for name in lean_imports.WHOOSH_QUERY_NAMES}; "
        "loaded = sorted(name.rpartition('.')[2] for name in sys.modules if name.startswith('whoosh.query.')); "
        "real = lean_imports.load_now('whoosh.query'); import whoosh; "
        "public = [name for name in dir(real) if not name.startswith('_') and not isinstance(getattr(real, name), types.ModuleType)]; "
        "print(kind, loaded, [name for name, value in taken.items() if value is not getattr(real, name)], "
        "[name for name in public if getattr(query, name) is not getattr(real, name)], len(public) > 70, "
        "whoosh.query is real, all(getattr(real, part) is sys.modules['whoosh.query.' + part] "
        "for part in ('qcore', 'terms', 'compound', 'positional', 'qcolumns', 'nested', 'spans')))"
    )
    assert result == (
        "_GatheringPackage ['compound', 'positional', 'qcore', 'ranges', 'terms', 'wrappers'] [] [] True True True"
    )


def test_whoosh_matching_gathered_on_use_gives_what_the_real_package_gives():
    result = run(
        "import sys, types, archsearch.searching; from archsearch import lean_imports; import whoosh.matching as matching; "
        "kind = type(sys.modules['whoosh.matching']).__name__; "
        "loaded = sorted(name.rpartition('.')[2] for name in sys.modules if name.startswith('whoosh.matching.')); "
        "taken = {name: getattr(matching, name) for name in lean_imports.WHOOSH_MATCHING_NAMES}; "
        "real = lean_imports.load_now('whoosh.matching'); import whoosh; "
        "public = [name for name in dir(real) if not name.startswith('_') and not isinstance(getattr(real, name), types.ModuleType)]; "
        "print(kind, loaded, [name for name, value in taken.items() if value is not getattr(real, name)], "
        "[name for name in public if getattr(matching, name) is not getattr(real, name)], len(public) > 25, "
        "whoosh.matching is real, all(getattr(real, part) is sys.modules['whoosh.matching.' + part] "
        "for part in lean_imports.WHOOSH_MATCHING_PARTS))"
    )
    assert result == "_GatheringPackage ['mcore', 'wrappers'] [] [] True True True"


def test_whoosh_s_defaults_stood_in_for_make_what_the_real_classes_make(tmp_path):
    """whoosh.searching takes classify.Bo1Model, and whoosh.query.compound matching.AndMaybeMatcher,
    as stand-ins as they load (neither module is loaded by a query): what Whoosh makes with them is
    what it makes with the real classes (as in a program that imports archsearch as a library),
    and anyone else gets the real ones."""
    code = (
        "import sys; import archsearch.searching; from whoosh import fields, index, query\n"
        "real = sorted(name for name in ('whoosh.classify', 'whoosh.matching.binary', 'whoosh.matching.combo') "
        "if type(sys.modules.get(name)).__name__ == 'module')\n"
        "ix = index.create_in(sys.argv[1], fields.Schema(a=fields.TEXT(stored=True)))\n"
        "writer = ix.writer()\n"
        "for text in ('kabul talks', 'kabul herat talks ceasefire', 'herat markets', 'kabul markets'):\n"
        "    writer.add_document(a=text)\n"
        "writer.commit()\n"
        "searcher = ix.searcher()\n"
        "maybe = [hit['a'] for hit in searcher.search(query.AndMaybe(query.Term('a', 'kabul'), query.Term('a', 'ceasefire')))]\n"
        "terms = searcher.key_terms([1, 2], 'a', numterms=3)\n"
        "from whoosh.classify import Bo1Model\n"
        "from whoosh.matching import AndMaybeMatcher\n"
        "print(real, maybe, terms, terms == searcher.key_terms([1, 2], 'a', numterms=3, model=Bo1Model), "
        "Bo1Model.__module__, AndMaybeMatcher.__module__, type(sys.modules['whoosh.classify']).__name__)"
    )
    outputs = []
    for as_the_command_line, folder in ((True, "command"), (False, "library")):
        code_run = AS_THE_COMMAND_LINE + code if as_the_command_line else code
        (tmp_path / folder).mkdir()
        outputs.append(subprocess.run(
            [sys.executable, "-c", code_run, str(tmp_path / folder)], capture_output=True, text=True, check=True,
        ).stdout.strip())
    command, library = outputs
    assert command.startswith("[] ['kabul herat talks ceasefire', ") and command.endswith(
        " True whoosh.classify whoosh.matching.binary module"
    )
    assert command.partition(" ")[2] == library.partition("] ")[2]


def test_whoosh_s_edit_distance_stood_in_for_whoosh_reading_finds_its_words_and_fuzzy_py_gets_the_real_one(tmp_path):
    """whoosh.reading takes levenshtein.distance as a stand-in (a query loads no edit distance):
    its terms_within still finds the words within the distance, and fuzzy.py the real function."""
    result = run(
        "import sys; import archsearch.searching; from whoosh import fields, index\n"
        "loaded_before = type(sys.modules['whoosh.support.levenshtein']).__name__\n"
        f"ix = index.create_in({str(tmp_path)!r}, fields.Schema(a=fields.TEXT))\n"
        "writer = ix.writer(); writer.add_document(a='kabul kaboul herat'); writer.commit()\n"
        "within = sorted(ix.reader().terms_within('a', 'kabul', 1))\n"
        "from archsearch.engines.whoosh import fuzzy\n"
        "print(loaded_before, within, fuzzy.distance.__module__, type(sys.modules['whoosh.support.levenshtein']).__name__)"
    )
    assert result == "_DeferredModule ['kaboul', 'kabul'] whoosh.support.levenshtein module"


def test_whoosh_s_query_parser_works_after_whoosh_query_gathered_on_use():
    result = run(
        "import archsearch, whoosh.index, whoosh.query; from whoosh import fields; from whoosh.qparser import QueryParser; "
        "print(QueryParser('a', fields.Schema(a=fields.TEXT)).parse('hello world \"big apple\" OR spans'))"
    )
    assert result == '(a:hello AND a:world AND (a:"big apple" OR a:spans))'


def test_threading_stood_in_for_gives_the_real_lock_then_the_real_module():
    result = run(
        "import sys, archsearch, whoosh.index; from whoosh.filedb.filestore import Lock; "
        "import threading; before = type(sys.modules['threading']).__name__; lock = Lock(); "
        "thread = threading.Thread(target=lock.acquire); thread.start(); thread.join(); "
        "print(before, Lock is threading.Lock is sys.modules['threading'].Lock, lock.locked(), "
        "type(sys.modules['threading']).__name__, threading.main_thread().name)"
    )
    assert result == "_DeferredModule True True module MainThread"


def test_decimal_stood_in_for_in_whoosh_fields_answers_as_the_real_class():
    """whoosh.fields alone takes a stand-in Decimal (decimal with _decimal and numbers: 0.9 ms of a
    query); a NUMERIC field still tells a Decimal from other numbers, anyone else gets the real
    module, and whoosh.filedb.filetables' CRC-32 is binascii's."""
    result = run(
        "import sys, whoosh.index, whoosh.fields as fields\n"
        "from whoosh.filedb.filetables import crc_hash\n"
        "before = sorted(type(sys.modules[name]).__name__ for name in ('decimal', 'binascii'))\n"
        "number = fields.NUMERIC(int, bits=32)\n"
        "plain = number.prepare_number(7)\n"
        "loaded_by_numbers = [name for name in ('_decimal', 'numbers') if name in sys.modules]\n"
        "from decimal import Decimal\n"
        "import binascii\n"
        "half = Decimal('0.5')\n"
        "try:\n"
        "    number.prepare_number(half)\n"
        "except TypeError as error:\n"
        "    refused = 'decimal_places' in str(error)\n"
        "print(before, plain, loaded_by_numbers, type(half).__module__, isinstance(half, fields.Decimal), "
        "issubclass(Decimal, fields.Decimal), isinstance(7, fields.Decimal), fields.Decimal('1.5') + half == 2, refused, "
        "crc_hash(b'kabul') == binascii.crc32(b'kabul') & 0xFFFFFFFF, type(sys.modules['decimal']).__name__)"
    )
    assert result == "['_DeferredModule', '_DeferredModule'] 7 [] decimal True True False True True True module"


def test_a_star_import_of_a_module_stood_in_for_gives_all_of_it():
    result = run(
        "import sys, archsearch.searching\n"
        "before = sorted({type(sys.modules[name]).__name__ for name in ('threading', 'tempfile', 'random')})\n"
        "from threading import *\nfrom tempfile import *\nfrom random import *\n"
        "print(before, callable(Thread), callable(Event), callable(mkdtemp), callable(shuffle))"
    )
    assert result == "['_DeferredModule'] True True True True"


def test_a_star_import_of_a_module_stood_in_for_without_all_gives_its_public_names():
    """Python takes the names of a module without __all__ from the module itself: the
    placeholder's, none of the real module's."""
    result = run(
        "import sys, archsearch.searching\n"
        "names = ('mmap', 'whoosh.highlight')\n"
        "before = sorted({type(sys.modules[name]).__name__ for name in names})\n"
        "found = {}\n"
        "for name in names:\n"
        "    space = {}\n"
        "    exec(f'from {name} import *', space)\n"
        "    public = {key for key in vars(sys.modules[name]) if not key.startswith('_')}\n"
        "    found[name] = public <= set(space) and len(public) > 5\n"
        "print(before, found)"
    )
    assert result == "['_DeferredModule'] {'mmap': True, 'whoosh.highlight': True}"


# Stand-ins that are modules of their own rather than placeholders (which hand any name they lack
# on to the real module): they have only what lean_imports gives them.
WHOLE_STAND_INS = ("cached_property", "datetime")
# Names a stand-in gives as another object than the real module's, on purpose (lean_imports says why).
OTHER_ON_PURPOSE = {"cached_property.cached_property"}


def names_taken_from(module: str) -> list[str]:
    """The names that archsearch and the installed packages take from `module` (`from module import
    a, b` or `module.a`), read from their source: what a stand-in must have."""
    import importlib.util
    import re
    import sysconfig
    from pathlib import Path

    import archsearch

    spec = importlib.util.find_spec(module)
    own = Path(spec.origin).resolve() if spec and spec.origin else None
    name = re.escape(module)
    pattern = re.compile(rf"^\s*from {name} import \(?([\w\s,]+)|\b{name}\.(\w+)", re.MULTILINE)
    folders = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"], os.path.dirname(archsearch.__path__[0])}
    taken = set()
    for folder in folders:
        for path in Path(folder).rglob("*.py"):
            text = path.read_bytes()
            if module.encode() not in text or path.resolve() == own:
                continue
            for imported, attribute in pattern.findall(text.decode("utf-8", "replace")):
                taken.update(re.findall(r"\w+", re.sub(r"\bas\s+\w+", "", imported)) if imported else [attribute])
    return sorted(taken)


def test_every_stand_in_has_what_the_real_module_of_this_python_has():
    """A guard for each version of Python (stdlib modules gain and lose names, and change what they
    are): a name a stand-in gives itself is in the real module, and is the real module's object
    unless both are functions, or the stand-in's loads the real module when called (_stand_in), or
    is a part of a package gathered on use (the import system binds it; Whoosh's star imports bind
    whoosh.query.wrappers to whoosh.matching.wrappers); a whole stand-in (WHOLE_STAND_INS) has every
    name of the real module that archsearch or a package installed beside it takes."""
    taken = {module: names_taken_from(module) for module in WHOLE_STAND_INS}
    problems = run(
        "import importlib, sys, types; import whoosh.index, whoosh.query  # what installing gives, nothing loaded yet\n"
        "from archsearch import lean_imports\n"
        "placeholders = [name for name, module in sys.modules.items() if isinstance(module, lean_imports._DeferredModule)]\n"
        f"taken, on_purpose = {taken!r}, {OTHER_ON_PURPOSE!r}\n"
        "loads_the_real_one = lean_imports._stand_in('module', 'name').__code__\n"
        "plain = lambda thing: callable(thing) and not isinstance(thing, type)\n"
        "problems = []\n"
        "for name in placeholders + list(taken):\n"
        "    stand_in = sys.modules[name]\n"
        "    given = {key: value for key, value in vars(stand_in).items() if not key.startswith('_')}\n"
        "    if name in taken:\n"
        "        del sys.modules[name]\n"
        "        real = importlib.import_module(name)\n"
        "        problems += [f'{name}.{key}: missing' for key in taken[name] if hasattr(real, key) and not hasattr(stand_in, key)]\n"
        "    else:\n"
        "        real = lean_imports.load_now(name)\n"
        "    for key, value in given.items():\n"
        "        if not hasattr(real, key):\n"
        "            problems.append(f'{name}.{key}: not in the real module')\n"
        "            continue\n"
        "        actual = getattr(real, key)\n"
        "        if not (value is actual or plain(value) and plain(actual) or getattr(value, '__code__', None) is loads_the_real_one\n"
        "                or isinstance(value, types.ModuleType) or f'{name}.{key}' in on_purpose):\n"
        "            problems.append(f'{name}.{key}: {value!r}, where the real module has {actual!r}')\n"
        "print(len(placeholders) > 20, problems)"
    )
    assert problems == "True []"
