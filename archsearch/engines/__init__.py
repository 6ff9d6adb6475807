"""The engines behind archsearch's commands, one interface for both.

- the embedded engine (the default): a Whoosh index in a folder on this machine;
- the cluster engine: Xapian shards served by `xapian-tcpsrv`, named by a cluster file
  (`*.toml`, see engines/xapian/clusterfile.py).

`open_engine` chooses by what names the index: a path ending in `.toml` that is not a folder is a
cluster file; anything else is an embedded index's folder.  The interface is at the level of
what commands ask (a query's ranked hits, counts, facets, a timeline, one article, the words to
highlight), each answered with the dataclasses the output layer prints, so rendering and the
commands do not know which engine answered.
"""

from pathlib import Path

from archsearch.errors import ArchsearchError

TYPE_CHECKING = False  # typing's constant, by its name (as type checkers read it)
if TYPE_CHECKING:
    from typing import Protocol
else:  # Engine is for type checkers; a query without the server loads no typing (2 ms)
    Protocol = object


class Engine(Protocol):
    location: Path
    warnings: list[str]  # what a command should say on stderr after its output (a shard left out)

    def search(self, text: str, **options):
        """Ranked hits (searching.SearchResult): options as searching.search takes them (any_words,
        limit, offset, sort, since, until, include_undated, with_snippets, collapse_copies, fix,
        ignore_case, relax_when_empty).  Counts are exact; `limit` 0 means every hit."""

    def timeline(self, text: str, **options):
        """Matches per period (coverage.Timeline), as coverage.timeline."""

    def facets(self, text: str, **options):
        """Matches per source, place and language (coverage.Facets), as coverage.facets."""

    def find_article(self, reference: str):
        """One article whole (searching.ArticleRecord), named by its id or path."""

    def find_article_parts(self, reference: str):
        """find_article, and more of its body to follow its record's, in parts read as they are
        asked for (searching.find_article_parts): a long body is shown as it is read."""

    def similar(self, reference: str, *, limit: int = 10):
        """The articles most like the one named (searching.SearchResult), its copies left out."""

    def stats(self):
        """What the index holds (stats.IndexStats): articles, dates, sources, places, languages."""

    def query_words(self, text: str, **parse_options) -> dict[str, frozenset[str]]:
        """The words a query's articles are highlighted with (see searching.query_words)."""

    def bodies(self, references: list[str]) -> list[str]:
        """The bodies of the articles named by id or path (Hit.reference), in order (for kwic)."""

    def read_result_set(self, text: str, reading, **parse_options):
        """reading(result set), the result set open while it reads (for terms): `doc_count()`,
        `matching()` (how many articles match `text` and an iterator of their stored fields), and
        the whole archive's `doc_frequency(body term)` and `phrase_frequency(body terms)`."""


# What a cluster file's name ends in.
CLUSTER_SUFFIX = ".toml"


def is_cluster(location) -> bool:
    """A cluster is named by its file, `*.toml`; anything else is an embedded index's folder."""
    return str(location).endswith(CLUSTER_SUFFIX) and not Path(location).is_dir()


def open_engine(location: Path, *, allow_partial: bool = False) -> Engine:
    """The engine of the index at `location`; `allow_partial` lets a cluster answer without the
    shards that are down (a warning says which)."""
    if is_cluster(location):
        from archsearch.engines.xapian.engine import XapianEngine

        return XapianEngine(location, allow_partial)
    from archsearch.engines.whoosh import WhooshEngine

    return WhooshEngine(location)


def as_engine(index) -> Engine:
    """`index` as an engine: an engine already open, or the engine of the index it names."""
    return open_engine(index) if isinstance(index, (str, Path)) else index


def refuse_cluster(location, what: str) -> None:
    """For the embedded engine's own functions, handed a cluster file: one clear line (the commands
    reach a cluster through open_engine)."""
    if is_cluster(location):
        raise ArchsearchError(f"{what} does not work on a cluster index ({location}): it reads an embedded index's folder")


def print_warnings(engine: Engine, err) -> None:
    for warning in engine.warnings:
        err.write(f"archsearch: warning: {warning}\n")
