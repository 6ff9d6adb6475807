"""Keep Whoosh and click from loading standard-library modules they never use here, to start faster.

Every query without the server is a new process, and imports are most of its start-up. Whoosh
imports `urllib.request` (for a download helper archsearch never calls), the `cached_property`
package, which imports `asyncio`, and `html` for the escape() of an HTML highlighter archsearch
does not use (with `html.entities`, a table of 2,000 entities); click imports `inspect`, which
imports `tokenize` and `linecache` for what it does with source code, which click never
asks of it (`ast` it needs, for a class it defines); and Whoosh imports `tempfile` for temporary
storage a search never makes, and `shutil` (with `bz2` and `lzma`) for copying files, and
`whoosh.lang.morph_en`, English word variations for a query class archsearch never builds, which
builds its tables and compiles 6 large regular expressions as it loads (4.6 ms of CPU, every
query), and `whoosh.lang.dmetaphone`, a phonetic code for a filter no schema of archsearch's
holds (0.4 ms). Whoosh also imports at start-up, for what a query never does, `whoosh.util.times`
(DATETIME fields) and `whoosh.util.filelock` (writing; 0.25 ms for both), `random` (names of new
segments), `calendar` (its date fields), `queue`, `mmap` (a query reads segments without it:
store.unmapped_storage), `whoosh.automata.lev` (Levenshtein automata; archsearch finds fuzzy words
with its own word lists) and `whoosh.highlight` (archsearch makes its own snippets); and `urllib.parse`
imports `ipaddress` for URLs with a bracketed host, which pathlib never makes (all in all ~4 ms
of a query). Whoosh's hash tables find terms by MD5 (`from hashlib import md5`), and hashlib loads
OpenSSL's library (2.5 ms of a query), where Python's own `_md5` gives the same digests; and click
names `uuid.UUID` in the class statement of a parameter type archsearch never uses, and uuid
imports `platform` (2.5 ms together). click imports `inspect` (with `ast` and `dis`, ~4 ms) for
the `cleandoc` of each option's help as a command is defined, and dataclasses for the signature
it makes the docstring of a class that has none. This module stands in for them, without changing
what any other code sees:

- `cached_property` becomes the standard library's functools.cached_property, which does
  the same for the synchronous methods Whoosh decorates;
- `urllib.request`, `html`, `tokenize`, `linecache`, `tempfile`, `shutil`, `whoosh.lang.morph_en`,
  `whoosh.lang.dmetaphone`, `ntpath` (pathlib's, for Windows paths: Windows' `nt` and `_winapi`
  searched for in vain, 0.25 ms)
  and the modules of the paragraph above become placeholders that turn into the real module on first use of anything in them (importing
  a submodule, `html.parser`, included); `urllib.request.urlretrieve`, `html.escape`,
  `shutil.copyfileobj`, `whoosh.lang.morph_en.variations` and `whoosh.lang.dmetaphone.double_metaphone`
  load the real module when called;
- `hashlib` becomes such a placeholder too, whose `md5` is `_md5.md5` (when Python has it);
- `inspect` too, whose `cleandoc` strips a line of help itself and hands anything longer to the
  real one (so a dataclass without a docstring loads inspect: give each a docstring), and whose
  `get_annotations` gives a class's own annotations (dataclasses asks for them from Python 3.12 on);
- `uuid`, while click loads (`deferred_uuid_for_click`), a placeholder whose `UUID` is a stand-in
  class for click's class statement alone (it stays in the type's generic alias, which only type
  checkers read); afterwards `uuid.UUID` is the real class, loaded on first use;
- `threading` a placeholder whose `Lock` is _thread's, as threading's is (what Whoosh's files take
  from it; 0.45 ms);
- `copy` a placeholder whose `copy` and `deepcopy` load the real module when called (which would
  look for Jython's `org.python.core` along sys.path: 0.35 ms);
- `urllib.parse` a placeholder whose `quote_from_bytes` (pathlib's, for `Path.as_uri`) loads the
  real module when called (0.8 ms);
- `whoosh.query` a package of its own (`_GatheringPackage`) that takes the names a query uses from
  the parts that define them, and loads the rest of the real package (its span, nested and column
  queries: 0.6 ms) on first use of any other name; `whoosh.matching` such a package too (its
  `binary` and `combo` matchers, which archsearch's own evaluation never runs: 0.35 ms), whose
  AndMaybeMatcher whoosh.query.compound takes as a stand-in class for a query class's default
  (`_class_on_use`: calling it makes the real matcher);
- `whoosh.classify` (query expansion, 0.15 ms) a placeholder whose Bo1Model whoosh.searching takes
  as such a stand-in, for the default model of Searcher methods no query calls;
- `whoosh.lang.porter` and `whoosh.util.cache` placeholders whose `stem`, `lfu_cache` and
  `unbound_cache` (the defaults of Whoosh's StemFilter and StemmingAnalyzer, which no schema of
  archsearch's holds) load the real module when called, so `whoosh.lang` does not load either;
  `whoosh.legacy` one whose `toc_loaders`, for whoosh.index alone (the readers of older versions'
  tables of contents), loads the real module when looked in (and `whoosh.util.loading` with it: the
  five modules 2.8 M of a rare word's 230 M instructions at 100k, with mmap's names below);
- `whoosh.support.levenshtein` a placeholder whose `distance`, for whoosh.reading alone (its
  terms_within, Whoosh's fuzzy matching), loads the real module when called (0.05 ms);
- `sqlite3` a placeholder whose `connect` and `Error`, for archsearch.nearduplicates alone, are
  those of its C core, `_sqlite3` (the package's are the same objects), which it loads on use: the
  package's date adapters (sqlite3.dbapi2) are made only for code that may pass dates (0.25 ms);
- `pickle` a placeholder whose functions, classes and errors are those of its C core, `_pickle`
  (pickle.py's own are the same objects): all Whoosh and a query use (0.5 ms);
- `decimal` a placeholder whose `Decimal`, for whoosh.fields alone (which only compares a numeric
  field's numbers with it), is a stand-in class that answers isinstance and issubclass as the real
  one and makes real numbers when called (`_decimal` with `numbers`: 0.9 ms); `binascii` one whose
  `crc32` (a hash of Whoosh's hash tables of another type than ours) loads the real module when called;
- on Python 3.11, `datetime` the module datetime.py leaves, made from `_datetime` without running
  the file (which defines the whole module in Python and then replaces it: 0.75 ms).

For the processes of the command line it also keeps the code that archsearch.records, dataclasses,
typing and collections.namedtuple compile from generated text in the user's cache folder, and
reuses it (reuse_compiled_sources: 7-10 ms of a query's CPU), and so the compiled form of the
regular expressions of module and class bodies (5-8 ms).

It also lets the garbage collector run less often (COLLECT_AFTER_OBJECTS): start-up makes tens of
thousands of objects that live as long as the process (modules, classes, functions), and at
Python's default threshold of 700 new objects the collector ran about 55 times in a query, scanning
them again and again (7-12 ms of a query's CPU at 100k articles; 5% of it or more). Reference
counting still frees everything that holds no cycle at once; cycles wait a little longer.

All of it is for archsearch's own command-line processes alone (install, called by
archsearch.client.main's finder as the command's first module beyond the client's loads): a program
that imports archsearch as a library gets the real modules, and Python's collector as it set it.

tests/test_lean_imports.py checks that a query loads none of them, and that they still work.
"""

import contextlib
import functools
import gc
import importlib
import _thread
import importlib.machinery
import marshal
import sys
import types

# Modules whose placeholders are created by name alone: nothing is taken from them at import time.
# New objects between two collections of the youngest generation (Python's default: 700).
COLLECT_AFTER_OBJECTS = 100_000

DEFERRED = (
    "linecache", "tempfile", "tokenize", "calendar", "random", "queue", "mmap", "ipaddress",
    "whoosh.highlight", "whoosh.automata.lev",
    # pathlib's, for Windows paths, which asks for Windows' own modules (nt, _winapi) as it loads,
    # each searched for along sys.path in vain (0.25 ms); os.path itself on Windows, loaded already
    "ntpath",
)


class _DeferredModule(types.ModuleType):
    """A module that imports the real one, and takes its place, the first time it is used.
    `_stand_ins_for` (one module's name, and names -> objects): what that module alone, as it
    loads, takes from this one in place of the real objects (the real module not loaded)."""

    _stand_ins_for: tuple[str | None, dict] = (None, {})

    def __getattr__(self, name):
        # The import system probing (__file__ and the like) is no use; `from module import *` (__all__) is.
        if name.startswith("__") and name != "__all__":
            raise AttributeError(name)
        importer, stand_ins = self._stand_ins_for
        if name in stand_ins and sys._getframe(1).f_globals.get("__name__") == importer:
            return stand_ins[name]
        return self._real_attribute(name)

    def _real_attribute(self, name):
        real = _load_real(self.__name__)
        if name == "__all__":  # a star import of a module without one takes its public names
            return getattr(real, "__all__", None) or [key for key in vars(real) if not key.startswith("_")]
        value = getattr(real, name)
        if _made_in_c(real):
            # Its names are what it made as it loaded: an importer holding the placeholder (mmap's,
            # asked for twice a segment as a query opens the index) finds the name here next time.
            setattr(self, name, value)
        return value


def _made_in_c(module: types.ModuleType) -> bool:
    loader = getattr(getattr(module, "__spec__", None), "loader", None)
    return loader is importlib.machinery.BuiltinImporter or isinstance(loader, importlib.machinery.ExtensionFileLoader)


def loaded(name: str) -> types.ModuleType | None:
    """The module `name` if it is loaded, and not a placeholder of ours; else None."""
    module = sys.modules.get(name)
    return None if isinstance(module, _DeferredModule) else module


def load_now(name: str) -> types.ModuleType:
    """The module `name`, imported, and loaded for real if a placeholder stands in for it: what a
    long-lived process (the server) loads once for all the processes it forks."""
    module = importlib.import_module(name)
    return _load_real(name) if isinstance(module, _DeferredModule) else module


def _load_real(name: str):
    placeholder = sys.modules.get(name)
    if isinstance(placeholder, _DeferredModule):
        del sys.modules[name]
    module = importlib.import_module(name)
    parent, _, child = name.rpartition(".")
    if parent:
        setattr(sys.modules[parent], child, module)
    if hasattr(placeholder, "__path__"):  # submodules imported under the placeholder: the package's too
        for submodule, value in list(sys.modules.items()):
            if submodule.rpartition(".")[0] == name:
                module.__dict__.setdefault(submodule.rpartition(".")[2], value)
    return module


class _GatheringPackage(_DeferredModule):
    """A package whose __init__ only gathers its parts' names (`from package.part import *`, part
    after part), standing in for it: a name of `_taken_from` comes from that one part, loaded alone,
    and a part is imported as usual; any other name loads the real package (and all its parts)."""

    def _real_attribute(self, name):
        part = self._taken_from.get(name)
        if part is not None:
            value = getattr(importlib.import_module(f"{self.__name__}.{part}"), name)
            setattr(self, name, value)
            return value
        if name in self._parts:
            return importlib.import_module(f"{self.__name__}.{name}")
        return super()._real_attribute(name)


# whoosh.query's parts, in the order its __init__ gathers them, and the names a query takes from it
# with the part each comes from: nested, qcolumns and spans (0.6 ms) only other queries need.
WHOOSH_QUERY_PARTS = ("qcore", "terms", "compound", "positional", "ranges", "wrappers", "nested", "qcolumns", "spans")
WHOOSH_QUERY_NAMES = {
    **dict.fromkeys(("Query", "Every", "NullQuery", "QueryError"), "qcore"),
    **dict.fromkeys(("Term", "MultiTerm", "Prefix", "Wildcard", "FuzzyTerm", "Variations", "PatternQuery"), "terms"),
    **dict.fromkeys(("CompoundQuery", "And", "Or", "AndNot", "AndMaybe", "DisjunctionMax"), "compound"),
    **dict.fromkeys(("Phrase", "Ordered", "Sequence"), "positional"),
    **dict.fromkeys(("TermRange", "NumericRange", "DateRange", "RangeMixin"), "ranges"),
    **dict.fromkeys(("Not", "WrappingQuery", "ConstantScoreQuery", "WeightingQuery"), "wrappers"),
}
# whoosh.matching's parts and names (matchers a query does not run: archsearch evaluates queries on
# its own, evaluation.py), and the one name whoosh.query.compound takes from `binary` as it loads,
# for a query class's default matcher (AndMaybe.matcherclass): combo and binary, 0.35 ms.
WHOOSH_MATCHING_PARTS = ("mcore", "binary", "wrappers", "combo")
WHOOSH_MATCHING_NAMES = {
    **dict.fromkeys((
        "ReadTooFar", "NoQualityAvailable", "Matcher", "ConstantScoreMatcher", "NullMatcherClass", "NullMatcher",
        "ListMatcher", "LeafMatcher",
    ), "mcore"),
    **dict.fromkeys((
        "BiMatcher", "AdditiveBiMatcher", "UnionMatcher", "DisjunctionMaxMatcher", "IntersectionMatcher", "AndNotMatcher",
        "AndMaybeMatcher",
    ), "binary"),
    **dict.fromkeys((
        "WrappingMatcher", "MultiMatcher", "ExcludeMatcher", "FilterMatcher", "InverseMatcher", "RequireMatcher",
        "ConstantScoreWrapperMatcher", "SingleTermMatcher", "CoordMatcher",
    ), "wrappers"),
    **dict.fromkeys(("CombinationMatcher", "PreloadedUnionMatcher", "ArrayUnionMatcher"), "combo"),
}


class _GatheringFinder:
    """Finds each package of `gathered` as a _GatheringPackage, once: the real package is found as
    usual afterwards (the placeholder's _load_real). A finder rather than a module put in sys.modules,
    so that the import system binds it to its parent package as it binds any other."""

    gathered: dict = {}  # package -> (its parts, the names taken from them, its _stand_ins_for or None)

    @classmethod
    def find_spec(cls, name, path=None, target=None):
        if name not in cls.gathered or target is not None:
            return None
        parts, taken_from, stand_ins_for = cls.gathered.pop(name)
        real = importlib.machinery.PathFinder.find_spec(name, path)
        if real is None or real.submodule_search_locations is None:
            return None
        spec = importlib.machinery.ModuleSpec(name, cls, is_package=True)
        spec.submodule_search_locations = list(real.submodule_search_locations)
        spec.loader_state = (parts, taken_from, stand_ins_for)
        return spec

    @staticmethod
    def create_module(spec):
        package = _GatheringPackage(spec.name)
        parts, package._taken_from, stand_ins_for = spec.loader_state
        package._parts = frozenset(parts)
        if stand_ins_for is not None:
            package._stand_ins_for = stand_ins_for
        return package

    @staticmethod
    def exec_module(module):
        pass  # the parts load on first use


def _stand_in(module: str, name: str):
    """A function that loads the real module when called, for importers that take it by name."""

    def call(*args, **kwargs):
        return getattr(_load_real(module), name)(*args, **kwargs)

    call.__name__ = call.__qualname__ = name
    return call


# What cleandoc strips from a docstring's first line: any whitespace up to Python 3.12, spaces from 3.13.
_FIRST_LINE_MARGIN = " " if sys.version_info >= (3, 13) else None


def _cleandoc(doc):
    """inspect.cleandoc: for one line, that line with tabs expanded and no leading whitespace."""
    if isinstance(doc, str) and "\n" not in doc:
        return doc.expandtabs().lstrip(_FIRST_LINE_MARGIN)
    return _load_real("inspect").cleandoc(doc)


def _get_annotations(obj, *, globals=None, locals=None, eval_str=False):
    """inspect.get_annotations (which dataclasses calls for every class from Python 3.12 on): for a
    class and no strings to evaluate, a new dict of the class's own annotations, as inspect gives
    it; anything else from the real one."""
    if isinstance(obj, type) and not eval_str:
        annotations = obj.__dict__.get("__annotations__")
        if annotations is None or isinstance(annotations, types.GetSetDescriptorType):
            return {}
        if isinstance(annotations, dict):
            return dict(annotations)
    return _load_real("inspect").get_annotations(obj, globals=globals, locals=locals, eval_str=eval_str)


_real_decimal = None  # decimal.Decimal, once _real_decimal_loaded has found it loaded


def _real_decimal_loaded():
    """decimal.Decimal once a module making Decimal numbers is loaded (one of them may exist), else
    None: two lookups at most, as whoosh.fields asks for every number it indexes."""
    global _real_decimal
    if _real_decimal is None and ("_decimal" in sys.modules or "_pydecimal" in sys.modules):
        _real_decimal = _load_real("decimal").Decimal
    return _real_decimal


class _DecimalOnUse(type):
    """The class of whoosh.fields' Decimal stand-in (_WHOOSH_DECIMAL): calling it makes a real
    Decimal (loading decimal), isinstance and issubclass answer as for the real class (no Decimal
    exists while no decimal module is loaded), and its other attributes are the real class's."""

    def __call__(cls, *args, **kwargs):
        return _load_real("decimal").Decimal(*args, **kwargs)

    def __instancecheck__(cls, instance):
        real = _real_decimal_loaded()
        return real is not None and isinstance(instance, real)

    def __subclasscheck__(cls, subclass):
        real = _real_decimal_loaded()
        return real is not None and issubclass(subclass, real)

    def __getattr__(cls, name):
        return getattr(_load_real("decimal").Decimal, name)


# decimal's Decimal as whoosh.fields alone takes it as it loads: it compares a NUMERIC field's
# numbers with it (isinstance), and numtype (`is`: a NUMERIC made with decimal.Decimal, which no
# schema of archsearch's is, would not be recognised).
_WHOOSH_DECIMAL = _DecimalOnUse("Decimal", (), {"__module__": "decimal"})


def _class_on_use(module: str, name: str) -> type:
    """A stand-in for the class `name` of `module`, for an importer that takes it as a default
    (a signature's, a class attribute): calling it loads the module and makes an instance of the
    real class.  A class itself, so that code asking `type(model) is type` takes it for one."""

    def __new__(cls, *args, **kwargs):
        return getattr(_load_real(module), name)(*args, **kwargs)

    return type(name, (), {"__new__": __new__, "__module__": module, "__doc__": f"{module}.{name}, loaded on use"})


class _MappingOnUse:
    """A stand-in for the mapping `name` of `module`, for an importer that takes it as it loads and
    looks in it only for what a query never reads: looking in it loads the module."""

    def __init__(self, module: str, name: str):
        self.module, self.name = module, name

    def _real(self):
        return getattr(_load_real(self.module), self.name)

    def __contains__(self, key) -> bool:
        return key in self._real()

    def __getitem__(self, key):
        return self._real()[key]


class _CoreNames:
    """Names of a C core module (`core`) that a module of Python re-exports as they are, for
    _DeferredModule._stand_ins_for: the core is imported when one of them is first asked for."""

    def __init__(self, core: str, names: tuple[str, ...]):
        self.core, self.names = core, frozenset(names)

    def __contains__(self, name) -> bool:
        return name in self.names

    def __getitem__(self, name: str):
        return getattr(importlib.import_module(self.core), name)


def _defer(name: str, stand_ins_for: tuple[str, dict] | None = None, **attributes) -> None:
    """A placeholder for the module `name` (see _DeferredModule), with `attributes` of its own."""
    if name not in sys.modules:
        placeholder = _DeferredModule(name)
        placeholder.__dict__.update(attributes)
        if stand_ins_for is not None:
            placeholder._stand_ins_for = stand_ins_for
        sys.modules[name] = placeholder


installed = False  # by install(): in archsearch's own command-line processes alone (archsearch.client.main)


def install() -> None:
    global installed
    installed = True
    young, *older = gc.get_threshold()
    if 0 < young < COLLECT_AFTER_OBJECTS:  # 0: collection turned off by whoever runs us; left so
        gc.set_threshold(COLLECT_AFTER_OBJECTS, *older)
    if "cached_property" not in sys.modules:
        standard = types.ModuleType("cached_property")
        standard.cached_property = functools.cached_property
        sys.modules["cached_property"] = standard
    if "urllib.request" not in sys.modules:
        import urllib  # the package alone is empty and cheap

        _defer("urllib.request", urlretrieve=_stand_in("urllib.request", "urlretrieve"))
        urllib.request = sys.modules["urllib.request"]
    if "urllib.parse" not in sys.modules:
        import urllib

        # pathlib's, for Path.as_uri, which no query calls
        _defer("urllib.parse", quote_from_bytes=_stand_in("urllib.parse", "quote_from_bytes"))
        urllib.parse = sys.modules["urllib.parse"]
    if "html" not in sys.modules:
        # A package still: its submodules (html.parser) import from where the real ones are,
        # and `from html import escape` takes the stand-in without loading anything.
        package = importlib.machinery.PathFinder.find_spec("html")
        _defer("html", escape=_stand_in("html", "escape"), __path__=list(package.submodule_search_locations))
    _defer("shutil", copyfileobj=_stand_in("shutil", "copyfileobj"))  # whoosh.filedb.compound's
    # dataclasses' and Whoosh's (whoosh.filedb.structfile takes copy by name), for what no query does
    _defer("copy", copy=_stand_in("copy", "copy"), deepcopy=_stand_in("copy", "deepcopy"))
    _defer("whoosh.lang.morph_en", variations=_stand_in("whoosh.lang.morph_en", "variations"))  # whoosh.query's
    # whoosh.fields' and whoosh.query.ranges', for DATETIME fields and date ranges no schema or query of ours has
    _defer("whoosh.util.times", **{name: _stand_in("whoosh.util.times", name) for name in ("datetime_to_long", "long_to_datetime")})
    _defer("whoosh.util.filelock", FileLock=_stand_in("whoosh.util.filelock", "FileLock"))  # for writing only
    # whoosh.analysis.morph's, for a phonetic filter no schema of archsearch's holds
    _defer("whoosh.lang.dmetaphone", double_metaphone=_stand_in("whoosh.lang.dmetaphone", "double_metaphone"))
    # whoosh.analysis.morph's and analyzers', for the default stemming function and the stem caches
    # of Whoosh's StemFilter and StemmingAnalyzer, which no schema of archsearch's holds (its analyzers
    # are archsearch.analysis.chain's); whoosh.lang, which nothing else of a query imports, stays unloaded
    _defer("whoosh.lang.porter", stem=_stand_in("whoosh.lang.porter", "stem"))
    _defer("whoosh.util.cache", **{name: _stand_in("whoosh.util.cache", name) for name in ("lfu_cache", "unbound_cache")})
    # whoosh.index's, for the tables of contents of Whoosh versions before the one that writes ours
    # (whoosh.util.loading stays unloaded with it)
    _defer("whoosh.legacy", stand_ins_for=("whoosh.index", {"toc_loaders": _MappingOnUse("whoosh.legacy", "toc_loaders")}))
    try:
        from _md5 import md5
    except ImportError:  # a Python built without its own MD5: hashlib loads as usual
        pass
    else:
        _defer("hashlib", md5=md5)
    _defer("inspect", cleandoc=_cleandoc, get_annotations=_get_annotations)
    _defer("threading", Lock=_THREADING_LOCK)  # Whoosh's files take Lock, which is _thread's
    _defer("decimal", stand_ins_for=("whoosh.fields", {"Decimal": _WHOOSH_DECIMAL}))
    # whoosh.searching's, whose Searcher takes Bo1Model as the default model of methods no query calls
    _defer("whoosh.classify", stand_ins_for=("whoosh.searching", {"Bo1Model": _class_on_use("whoosh.classify", "Bo1Model")}))
    # whoosh.reading's, for IndexReader.terms_within: Whoosh's fuzzy matching, where archsearch's is fuzzy.py's
    _defer("whoosh.support.levenshtein", stand_ins_for=(
        "whoosh.reading", {"distance": _stand_in("whoosh.support.levenshtein", "distance")},
    ))
    # nearduplicates' (the copy groups' record), which takes sqlite3's connect and Error, _sqlite3's
    # own: the package's adapters of dates, for statements that pass none, are not made (0.25 ms)
    _defer("sqlite3", stand_ins_for=("archsearch.nearduplicates", _CoreNames("_sqlite3", ("connect", "Error"))))
    # whoosh.filedb.filetables' CRC-32 hash of keys, for hash tables of a type ours are not (MD5's)
    _defer("binascii", crc32=_stand_in("binascii", "crc32"))
    for name in DEFERRED:
        _defer(name)
    try:
        import _pickle
    except ImportError:  # a Python without pickle's C core: pickle loads as usual
        pass
    else:
        _defer("pickle", **{name: getattr(_pickle, name) for name in _PICKLE_CORE})
    if sys.version_info[:2] == (3, 11) and "datetime" not in sys.modules:
        _datetime_from_its_core()
    if "whoosh.query" not in sys.modules and _GatheringFinder not in sys.meta_path:
        _GatheringFinder.gathered["whoosh.query"] = (WHOOSH_QUERY_PARTS, WHOOSH_QUERY_NAMES, None)
        if "whoosh.matching" not in sys.modules:
            and_maybe = _class_on_use("whoosh.matching.binary", "AndMaybeMatcher")
            _GatheringFinder.gathered["whoosh.matching"] = (
                WHOOSH_MATCHING_PARTS, WHOOSH_MATCHING_NAMES, ("whoosh.query.compound", {"AndMaybeMatcher": and_maybe}),
            )
        sys.meta_path.insert(0, _GatheringFinder)


# threading.Lock as threading.py defines it: _thread's allocate_lock up to Python 3.12, from 3.13 on
# the lock's class (which isinstance takes).
_THREADING_LOCK = _thread.LockType if sys.version_info >= (3, 13) else _thread.allocate_lock
# What pickle.py takes from its C core, _pickle, and which is all Whoosh and a query use of it.
_PICKLE_CORE = (
    "dump", "dumps", "load", "loads", "Pickler", "Unpickler", "PickleError", "PicklingError", "UnpicklingError",
)
# Python 3.11's datetime.__all__ (datetime.py's own, the one name it keeps besides _datetime's and sys).
_DATETIME_ALL = ("date", "datetime", "time", "timedelta", "timezone", "tzinfo", "MINYEAR", "MAXYEAR", "UTC")


def _datetime_from_its_core() -> None:
    """Python 3.11's datetime module as datetime.py leaves it, made from _datetime alone: the file
    defines the whole module in Python (its pure-Python classes, and dates made with them) only to
    replace it all with _datetime's at its end (0.75 ms of a query's CPU). 3.12 on import
    _datetime first, and the Python version only without it."""
    try:
        import _datetime
    except ImportError:
        return
    spec = importlib.machinery.PathFinder.find_spec("datetime")
    if spec is None:
        return
    module = types.ModuleType("datetime")
    module.__dict__.update(
        (name, value) for name, value in vars(_datetime).items()
        if name not in ("__name__", "__spec__", "__loader__", "__file__", "__package__")
    )
    module.__dict__.update(
        __spec__=spec, __loader__=spec.loader, __file__=spec.origin, __cached__=spec.cached, __package__="",
        __all__=_DATETIME_ALL, sys=sys, __builtins__=globals()["__builtins__"],
    )
    sys.modules["datetime"] = module


# Generated source compiled again in every process: dataclasses writes each method of a dataclass
# as text and compiles it (exec), archsearch.records each record's __init__, typing compiles each
# forward reference it meets (a string in an annotation), collections.namedtuple each class's
# __new__ (eval).  A query made ~97 such compiles, Python's parser and compiler each time: 7-10 ms of
# its CPU (69 for 13 dataclasses, most of it), the same text in every process.  The code objects
# are kept by their text in one file of the user's cache folder and loaded from there, as Python
# keeps a module's in __pycache__; a text not seen yet is compiled as before and added.
# The second layout of the file (each code marshalled apart, regular expressions too) has a name of
# its own: versions of archsearch side by side do not rewrite each other's file at every process.
COMPILED_SOURCES_FILE = f"compiled-sources-2-{sys.implementation.cache_tag}.marshal"
# The file's first line: code objects are marshalled for one version of Python only.  The file is a
# marshalled dict of each text's code, marshalled on its own: a process unmarshals the codes it
# runs, not the ~600 a user's commands have compiled (0.9 ms for the whole of them at once).
_COMPILED_SOURCES_HEADER = f"archsearch compiled sources, each apart, checked, {sys.version}\n".encode()
# Larger than any file of MAX_COMPILED_SOURCES texts: anything bigger (or not a regular file: a FIFO,
# /dev/zero) is no file of ours, and is not read.
MAX_FILE_BYTES = 16 << 20
# No more texts than these are kept: dataclasses made at run time with names of their own
# (dataclasses.make_dataclass) must not grow the file without end.
MAX_COMPILED_SOURCES = 2000
# The __future__ flags a compile inherits from the code that calls it (compile()'s dont_inherit):
# CO_FUTURE_DIVISION to CO_FUTURE_ANNOTATIONS.
_FUTURE_FLAGS = 0x1FE0000


class _CompiledSources:
    """Code compiled from text, by (mode, flags, text), read from and saved to COMPILED_SOURCES_FILE;
    and the arguments of _sre.compile for a regular expression, by ("re", flags, pattern)."""

    def __init__(self):
        self._codes: dict | None = None  # read from the file at the first compile: code, or marshalled
        self._added = False

    def code(self, text: str, mode: str, flags: int):
        key = (mode, flags, text)
        code = self.kept(key)
        if type(code) is not types.CodeType:  # not in the file yet, or damaged: compiled again
            code = compile(text, "<string>", mode, flags, dont_inherit=True)
            self.keep(key, code)
        return code

    def kept(self, key: tuple):
        """What the file keeps for key, or None."""
        if self._codes is None:
            self._codes = self._read()
        kept = self._codes.get(key)
        if type(kept) is bytes:
            try:
                kept = self._codes[key] = marshal.loads(kept)
            except (ValueError, EOFError, TypeError):
                return None
        return kept

    def keep(self, key: tuple, value) -> None:
        if len(self._codes) < MAX_COMPILED_SOURCES:
            self._codes[key] = value
            if not self._added:
                self._added = True
                import atexit

                atexit.register(self.save)

    def _read(self) -> dict:
        import os
        import stat
        import zlib

        path = _compiled_sources_path()
        if path is None:
            return {}
        try:
            descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
            with open(descriptor, "rb") as stream:
                info = os.fstat(descriptor)
                if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_FILE_BYTES or not written_by_us_alone(info):
                    return {}
                data = stream.read(MAX_FILE_BYTES)
            start = len(_COMPILED_SOURCES_HEADER) + 4
            # The checksum: code or a pattern's code damaged but still valid marshal would be run as it
            # is (_sre.compile's check does not catch every change, and some crash the process).
            if data.startswith(_COMPILED_SOURCES_HEADER) and data[start - 4:start] == zlib.crc32(
                memoryview(data)[start:]
            ).to_bytes(4, "big"):
                codes = marshal.loads(memoryview(data)[start:])
                if isinstance(codes, dict):
                    return codes
        except (OSError, ValueError, EOFError, TypeError):  # none yet, unreadable, damaged
            pass
        return {}

    def save(self) -> None:
        """Writes the texts compiled so far, if new ones were (once a process), to a new file
        renamed into place; a cache folder that cannot be written only means compiling again."""
        if not self._added:
            return
        self._added = False
        import zlib

        path = _compiled_sources_path()
        if path is None:
            return
        try:
            codes = {key: code if type(code) is bytes else marshal.dumps(code) for key, code in self._codes.items()}
            payload = marshal.dumps(codes)
        except ValueError:
            return
        write_cache_file(path, lambda out: out.write(_COMPILED_SOURCES_HEADER + zlib.crc32(payload).to_bytes(4, "big") + payload))


_compiled_sources = _CompiledSources()


def _compiled_sources_path() -> str | None:
    import os

    folder = cache_folder()
    return folder and os.path.join(folder, COMPILED_SOURCES_FILE)


def write_cache_file(path: str, write) -> bool:
    """Writes a file of the cache folder whole or not at all: write(stream) fills a partial copy
    made by this process alone (O_EXCL: never another's file; O_NOFOLLOW: never through a link),
    renamed into place; True if it was. A folder that cannot be written or a full disk only means
    no file; an interrupt leaves no partial copy behind."""
    import os

    temporary = f"{path}.{os.getpid()}.tmp"
    try:
        os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
        with open(os.open(temporary, flags, 0o600), "wb") as out:
            write(out)
        os.replace(temporary, path)
        return True
    except BaseException as error:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        if not isinstance(error, (OSError, ValueError)):
            raise
        return False


def written_by_us_alone(info) -> bool:
    """Whether a file of the cache folder (its os.stat) is one that no other user could have written:
    code read from it is run, and a cache folder may be in a shared place ($XDG_CACHE_HOME under
    /tmp, HOME kept by sudo). Python trusts a __pycache__ file because whoever can write it can
    write the source beside it; nothing says so of a cache folder."""
    import os

    return info.st_uid == os.geteuid() and not info.st_mode & 0o022


def cache_folder() -> str | None:
    """archsearch's folder in the user's cache: $XDG_CACHE_HOME/archsearch, else ~/.cache/archsearch;
    None without an absolute home (HOME unset and no passwd entry, as in a container run with
    --user), where a cache would land under whatever folder the command runs in."""
    import os

    cache_home = os.environ.get("XDG_CACHE_HOME") or ""
    # As for the state folder: the XDG spec says a relative value is invalid and must be ignored.
    if not os.path.isabs(cache_home):
        home = os.environ.get("HOME") or os.path.expanduser("~")
        if not os.path.isabs(home):
            return None
        cache_home = os.path.join(home, ".cache")
    return os.path.join(cache_home, "archsearch")


def _inherited_flags() -> int:
    return sys._getframe(2).f_code.co_flags & _FUTURE_FLAGS  # of whoever called compile, exec or eval


def _kept_compile(source, filename, mode, flags=0, dont_inherit=False, optimize=-1, **options):
    """compile(), for typing: a text's code reused from the cache folder (_CompiledSources)."""
    if type(source) is not str or filename != "<string>" or optimize != -1 or options or flags & ~_FUTURE_FLAGS:
        return compile(source, filename, mode, flags, dont_inherit, optimize, **options)
    return _compiled_sources.code(source, mode, flags | (0 if dont_inherit else _inherited_flags()))


def _kept_exec(source, globals=None, locals=None, **options):
    """exec(), for records and dataclasses: a text's code reused from the cache folder (_CompiledSources)."""
    if type(source) is not str or globals is None or options:
        caller = sys._getframe(1)  # exec() with no namespace runs in its caller's
        if globals is None:
            globals, locals = caller.f_globals, caller.f_locals
        return exec(source, globals, locals, **options)
    return exec(_compiled_sources.code(source, "exec", _inherited_flags()), globals, locals)


def _kept_eval(source, globals=None, locals=None):
    """eval(), for collections.namedtuple: a text's code reused from the cache folder."""
    if type(source) is not str or globals is None:
        caller = sys._getframe(1)  # eval() with no namespace runs in its caller's
        if globals is None:
            globals, locals = caller.f_globals, caller.f_locals
        return eval(source, globals, locals)
    return eval(_compiled_sources.code(source, "eval", _inherited_flags()), globals, locals)


# Regular expressions compiled again in every process: those of module and class bodies, compiled as
# modules load (the plain-text reader's dateline alone 2.3 ms; 5-6 ms of a query's CPU in all, ~50
# patterns).  re's cache lasts a process; the arguments re._compiler.compile gives _sre.compile (the
# pattern's code, its groups) are kept in the same file, by pattern and flags, and a pattern kept is
# made from them by _sre.compile, which checks the code it is given.  So are a function's own
# literal patterns (`re.split(r"\s+/\s+", line)`); patterns a function makes (from queries, many of
# them) are compiled as before and not kept.
_REGEX = "re"
CO_OPTIMIZED = 0x1  # a function's code; a module's or class body's has not this flag
# Patterns that libraries make at run time from values of their own, never from a query: kept as a
# module's are.  Every query compiled them anew (0.3-0.4 ms of its CPU): Whoosh's name of a table of
# contents (TOC._pattern, for the index name store.INDEX_NAME), and the tokenizer of the keyword
# fields, compiled as the index's schema is unpickled (a Pattern pickles as re._compile's arguments).
_LIBRARY_PATTERNS = frozenset({(r"^_MAIN_([0-9]+).toc$", 0), (r"[^ \t\r\n]+", 32)})  # 32: re.UNICODE, as pickled


class _SreArguments(types.ModuleType):
    """_sre, as re._compiler calls it: what it last gave _sre.compile is kept in `arguments`, with the
    thread that gave it."""

    def __init__(self, sre):
        super().__init__(sre.__name__)
        self.__dict__.update((name, value) for name, value in vars(sre).items() if name != "compile")
        self.arguments = (None, ())
        self._compile = sre.compile

    def compile(self, *arguments):
        self.arguments = (_thread.get_ident(), arguments)
        return self._compile(*arguments)


def _kept_pattern(pattern, flags=0):
    """re._compiler.compile, for the processes of the command line: a module's or class body's
    pattern made from the arguments its first compile gave _sre.compile (see _SreArguments)."""
    from re import _compiler

    caller = sys._getframe(1)
    while caller is not None and caller.f_globals.get("__name__") == "re":
        caller = caller.f_back
    if (
        caller is None or not isinstance(flags, int) or flags & _compiler.SRE_FLAG_DEBUG or type(pattern) not in (str, bytes)
        or (caller.f_code.co_flags & CO_OPTIMIZED and pattern not in caller.f_code.co_consts
            and (pattern, flags) not in _LIBRARY_PATTERNS)
    ):
        return _compile_pattern(pattern, flags)
    key = (_REGEX, int(flags), pattern)  # re.sub's flags are an int subclass on 3.13
    arguments = _compiled_sources.kept(key)
    if type(arguments) is tuple:
        try:
            return _compiler._sre._compile(pattern, *arguments[1:])
        except (TypeError, ValueError, RuntimeError, OverflowError):  # damaged: compiled again
            pass
    compiled = _compile_pattern(pattern, flags)
    thread, arguments = _compiler._sre.arguments
    # Not another thread's compile, and _sre.compile's arguments as 3.11-3.13 give them.
    if thread == _thread.get_ident() and len(arguments) == 6 and arguments[0] is pattern:
        text, final_flags, code, groups, groupindex, indexgroup = arguments
        # The opcodes are ints of a class of re's, which marshal does not write: plain ints.
        _compiled_sources.keep(key, (text, final_flags, [int(word) for word in code], groups, groupindex, indexgroup))
    return compiled


_compile_pattern = None  # re._compiler.compile, once reuse_compiled_sources replaces it


class _ExecKeptOnLoad(_DeferredModule):
    """dataclasses, which a query does not load (its classes are archsearch.records'), until
    something uses it: then the real module, with _kept_exec for its exec."""

    def _real_attribute(self, name):
        real = _load_real(self.__name__)
        real.exec = _kept_exec
        return getattr(real, name)


def reuse_compiled_sources() -> None:
    """Makes archsearch.records, dataclasses, typing and namedtuple take the code of the text they
    compile from the user's cache folder where it is (see _CompiledSources): their module's own name
    for exec, compile and eval, which they find before the built-in one; and re the compiled form of
    the patterns of module and class bodies (_kept_pattern, in re._compiler's place).  For the
    processes of the command line (archsearch.cli, archsearch.query_line).  dataclasses when it loads
    (_ExecKeptOnLoad); typing only if it is loaded: a plain query never loads it (click does, and
    archsearch.cli imports it first)."""
    global _compile_pattern
    import collections
    from re import _compiler

    from archsearch import records

    records.exec = _kept_exec
    if "dataclasses" in sys.modules:
        sys.modules["dataclasses"].exec = _kept_exec
    else:
        sys.modules["dataclasses"] = _ExecKeptOnLoad("dataclasses")
    collections.eval = _kept_eval
    if "typing" in sys.modules:
        sys.modules["typing"].compile = _kept_compile
    # re's internals as 3.11-3.13 have them (_sre.compile's six arguments); another version's patterns
    # are compiled as re compiles them.
    if _compile_pattern is None and (3, 11) <= sys.version_info[:2] <= (3, 13):
        _compile_pattern = _compiler.compile
        _compiler._sre = _SreArguments(_compiler._sre)
        _compiler.compile = _kept_pattern


def save_compiled_sources() -> None:
    """Saves what this process compiled that the cache folder did not hold, and the modules it
    imported that archsearch.kept_modules did not (before os._exit, which skips the atexit call)."""
    _compiled_sources.save()
    kept_modules = sys.modules.get("archsearch.kept_modules")
    if kept_modules is not None:
        kept_modules.save()


@contextlib.contextmanager
def deferred_uuid_for_click():
    """Around the first `import click`: click.types defines its UUID parameter type as
    `ParamType[uuid.UUID]`, with a stand-in here; uuid loads when something uses it. Only where the
    other stand-ins are (install): not in a program that imports archsearch.cli as a library."""
    if not installed or "uuid" in sys.modules or "click" in sys.modules:
        yield
        return
    placeholder = _DeferredModule("uuid")
    placeholder.UUID = type("UUID", (), {"__module__": __name__})
    sys.modules["uuid"] = placeholder
    try:
        yield
    finally:
        del placeholder.UUID  # from now on, the real class
