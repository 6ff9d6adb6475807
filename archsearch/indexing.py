"""Building the index and keeping it in step with the article files."""

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from whoosh import index as whoosh_index
from whoosh.query import Term

from archsearch.errors import ArchsearchError
from archsearch.reading import Article, UnreadableFile, read_article
from archsearch.nearduplicates import band_terms, sketch
from archsearch.schema import build_schema, day_number, is_current

# The folders an index covers, kept beside Whoosh's own files.
SETTINGS_FILE = "archsearch.json"
DEFAULT_CORPUS = Path("seeds")


@dataclass(frozen=True)
class Fingerprint:
    """What tells whether a file changed since it was indexed."""

    mtime_ns: int
    size: int
    sha256: str


@dataclass
class IndexReport:
    roots: list[str]
    added: int = 0
    updated: int = 0
    removed: int = 0
    unchanged: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)
    warnings: list[tuple[str, str]] = field(default_factory=list)  # (path, message)
    total: int = 0  # articles in the index afterwards


def read_roots(index_dir: Path) -> list[str]:
    try:
        settings = json.loads((index_dir / SETTINGS_FILE).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return []
    except (OSError, ValueError) as exc:
        raise ArchsearchError(f"cannot read {index_dir / SETTINGS_FILE}: {exc}") from None
    return list(settings.get("roots", []))


def write_roots(index_dir: Path, roots: list[str]) -> None:
    # Written to a temporary file and renamed so a crash never leaves half a file.
    target = index_dir / SETTINGS_FILE
    temporary = target.with_suffix(".tmp")
    temporary.write_text(json.dumps({"roots": sorted(roots)}, indent=2) + "\n", encoding="utf-8")
    os.replace(temporary, target)


def open_index(index_dir: Path):
    """Open an existing index for searching."""
    if not whoosh_index.exists_in(str(index_dir)):
        raise ArchsearchError(
            f"no index at {index_dir}: run 'archsearch index FOLDER' first (or pass --index DIR)"
        )
    try:
        ix = whoosh_index.open_dir(str(index_dir))
    except Exception as exc:  # Whoosh raises many kinds of errors on a damaged index
        raise ArchsearchError(f"cannot open the index at {index_dir}: {exc}") from None
    if not is_current(ix.schema):
        raise ArchsearchError(
            f"the index at {index_dir} was built by another version of archsearch: run 'archsearch index --rebuild'"
        )
    return ix


def open_or_create_index(index_dir: Path):
    if whoosh_index.exists_in(str(index_dir)):
        return open_index(index_dir)
    if index_dir.exists() and not index_dir.is_dir():
        raise ArchsearchError(f"index location {index_dir} exists and is not a folder")
    if index_dir.is_dir() and any(index_dir.iterdir()):
        # Never write an index into a folder of the user's own files.
        raise ArchsearchError(f"index location {index_dir} is a folder that is not empty and holds no index")
    index_dir.mkdir(parents=True, exist_ok=True)
    return whoosh_index.create_in(str(index_dir), build_schema())


def choose_roots(folders: list[str], remembered: list[str], cwd: Path) -> list[str]:
    """The folders to index: those given, else those the index covers, else ./seeds for a new index."""
    if folders:
        chosen = []
        for folder in folders:
            path = Path(folder).expanduser()
            if not path.exists():
                raise ArchsearchError(f"no such folder: {folder}")
            if not path.is_dir():
                raise ArchsearchError(f"not a folder: {folder}")
            chosen.append(str(path.resolve()))
        return chosen
    if remembered:
        return remembered
    default = cwd / DEFAULT_CORPUS
    if default.is_dir():
        return [str(default.resolve())]
    raise ArchsearchError("no folder to index: pass one, as in 'archsearch index ~/articles'")


def iter_article_files(root: Path, skip: Path | None = None):
    """Every file under root, recursively, in a stable order; hidden files and folders are left out."""
    for folder, subfolders, files in os.walk(root):
        subfolders[:] = sorted(
            name for name in subfolders if not name.startswith(".") and Path(folder, name) != skip
        )
        for name in sorted(files):
            if not name.startswith("."):
                yield Path(folder, name)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def indexed_fingerprints(searcher) -> dict[str, Fingerprint]:
    return {
        stored["key"]: Fingerprint(stored["mtime_ns"], stored["size"], stored["sha256"])
        for stored in searcher.all_stored_fields()
    }


def article_document(key: str, root: Path, article: Article, fingerprint: Fingerprint) -> dict:
    signature = sketch(article.body)
    document = {
        "key": key,
        "path": Path(key).relative_to(root).as_posix(),
        "root": str(root),
        "title": article.title,
        "body": article.body,
        "source": article.source,
        "place": article.place,
        "section": article.section,
        "sketch": signature,
        "dupbands": " ".join(band_terms(signature)),
        "mtime_ns": fingerprint.mtime_ns,
        "size": fingerprint.size,
        "sha256": fingerprint.sha256,
    }
    if article.date is not None:
        document["date"] = day_number(article.date)
    return document


def update_index(index_dir: Path, folders: list[str], cwd: Path | None = None) -> IndexReport:
    """Index new and changed files under the folders, and drop the articles whose files are gone."""
    index_dir = Path(index_dir)
    roots = choose_roots(folders, read_roots(index_dir), cwd or Path.cwd())
    ix = open_or_create_index(index_dir)
    report = IndexReport(roots=sorted(set(read_roots(index_dir)) | set(roots)))

    with ix.searcher() as searcher:
        known = indexed_fingerprints(searcher)

    writer = ix.writer()
    try:
        seen: set[str] = set()
        for root_name in roots:
            root = Path(root_name)
            for path in iter_article_files(root, skip=index_dir):
                key = str(path)
                seen.add(key)
                index_file(writer, root, path, known.get(key), report)
        for key in known:
            if key not in seen and any(Path(key).is_relative_to(root) for root in roots):
                writer.delete_by_term("key", key)
                report.removed += 1
        writer.commit()
    except BaseException:
        writer.cancel()
        raise
    write_roots(index_dir, report.roots)
    report.total = ix.doc_count()
    return report


def index_file(writer, root: Path, path: Path, previous: Fingerprint | None, report: IndexReport) -> None:
    relative = path.relative_to(root).as_posix()
    try:
        stat = path.stat()
        if previous and (previous.mtime_ns, previous.size) == (stat.st_mtime_ns, stat.st_size):
            report.unchanged += 1
            return
        fingerprint = Fingerprint(stat.st_mtime_ns, stat.st_size, file_sha256(path))
        if previous and previous.sha256 == fingerprint.sha256:
            report.unchanged += 1
            return
        article = read_article(path)
    except UnreadableFile as exc:
        report.skipped.append((relative, str(exc)))
        return
    except OSError as exc:
        report.skipped.append((relative, exc.strerror or str(exc)))
        return
    report.warnings.extend((relative, warning) for warning in article.warnings)
    writer.update_document(**article_document(str(path), root, article, fingerprint))
    if previous:
        report.updated += 1
    else:
        report.added += 1
