"""Indexing into a cluster: the embedded engine's run (indexing.Run: scanning, reading files with
the same readers, deciding what changed), with Xapian shards where it keeps Whoosh segments.

Where the record of indexed files lives: in the cluster, as metadata (one entry per folder,
on the shard its path hashes to, holding its files' size, modification time and hash), so any
machine that sees the corpus under the same paths updates the same cluster consistently.

A batch is written to every shard in a Xapian transaction, committed shard by shard, then
recorded; a failure while writing cancels the transactions.  A killed run cannot cancel:
Xapian's server commits what a writer sent when its connection drops (the remote backend
keeps transactions in the client), so part of the last batch can be in a shard.  Each shard is
always whole (a commit is atomic), and the next run reads the unrecorded files again and
replaces their articles (every write replaces the articles of the file first), so nothing is
counted twice or lost.
"""

import json
import time
from contextlib import contextmanager, suppress
from pathlib import Path

from archsearch.engines.xapian import import_xapian
from archsearch.engines.xapian.clusterfile import ANALYSIS_VERSION, SCHEMA_VERSION, Cluster, load_cluster, shard_of
from archsearch.engines.xapian.documents import (
    COPIES_SLOT, field_term, identity, identity_term, make_document, newest_stamp, stored_fields,
)
from archsearch.engines.xapian.shards import describe, _reason
from archsearch.errors import ArchsearchError
from archsearch.indexing import (
    FileIndexer, InProcess, IndexReport, Run, _ignore, _never, check_not_nested, choose_roots, forgotten_roots,
)
from archsearch.manifest import Entry
from archsearch.nearduplicates import NEAR_DUPLICATE, band_keys, resemblance
from archsearch.schema import build_schema

CLUSTER_KEY = "archsearch:cluster"  # on every shard: its place in the cluster and the versions
ROOTS_KEY = "archsearch:roots"  # on the first shard: the folders the cluster covers
GENERATION_KEY = "archsearch:generation"  # on the first shard: batches committed so far
FOLDER_PREFIX = "archsearch:folder:"  # + the folder's hash: its files
FILES_PER_BATCH = 2_000


def folder_key(folder: str) -> str:
    import hashlib

    return FOLDER_PREFIX + hashlib.sha1(folder.encode("utf-8", "surrogateescape")).hexdigest()


@contextmanager
def writers(cluster: Cluster):
    """The shards open for writing, checked to be those the cluster file says, in its order."""
    xapian = import_xapian()
    opened = []
    timeout = int(cluster.timeout * 1000)
    try:
        for number, shard in enumerate(cluster.shards):
            try:
                writer = xapian.remote_open_writable(shard.write.host, shard.write.port, timeout, timeout)
            except xapian.DatabaseLockError:
                raise ArchsearchError(
                    f"{describe(cluster, shard, shard.write)} is being written by another 'archsearch index' run"
                ) from None
            except xapian.Error as exc:
                raise ArchsearchError(
                    f"cluster {cluster.path}: {describe(cluster, shard, shard.write)} is down or not answering: {_reason(exc)}"
                ) from None
            _check_place(cluster, shard, writer, number)
            opened.append(writer)
        yield opened
    finally:
        for writer in opened:
            try:
                writer.close()
            except xapian.Error:
                pass


def _check_place(cluster, shard, writer, number) -> None:
    expected = {"shard": number + 1, "shards": len(cluster.shards), "schema": SCHEMA_VERSION, "analysis": ANALYSIS_VERSION}
    recorded = writer.get_metadata(CLUSTER_KEY)
    where = describe(cluster, shard, shard.write)
    if not recorded:
        if writer.get_doccount():
            raise ArchsearchError(f"{where} holds documents archsearch did not write: give archsearch empty shards")
        writer.set_metadata(CLUSTER_KEY, json.dumps(expected))
        writer.commit()
        return
    found = json.loads(recorded)
    if (found["shard"], found["shards"]) != (expected["shard"], expected["shards"]):
        raise ArchsearchError(
            f"{where} was written as shard {found['shard']} of {found['shards']}: the shards' order and number "
            "decide where each article lives, so they must stay as they were (or rebuild on empty shards)"
        )
    if (found["schema"], found["analysis"]) != (SCHEMA_VERSION, ANALYSIS_VERSION):
        raise ArchsearchError(
            f"{where} was written by another version of archsearch (schema {found['schema']}, analysis "
            f"{found['analysis']}): rebuild the cluster on empty shards"
        )


class ClusterRecord:
    """What indexing.Manifest is to the embedded index, kept in the shards' metadata."""

    def __init__(self, shards: list):
        self._shards = shards
        self._folders: dict[str, tuple[str, dict]] = {}  # folder -> (root, {name: (size, mtime_ns, sha256, skipped)})
        for shard in shards:
            for key in shard.metadata_keys(FOLDER_PREFIX):
                folder, root, files = json.loads(shard.get_metadata(key))
                self._folders[folder] = root, {name: tuple(record) for name, record in files.items()}
        generation = shards[0].get_metadata(GENERATION_KEY)
        self.generation = int(generation) if generation else 0

    def roots(self) -> set[str]:
        return {root for root, _ in self._folders.values()}

    def folders(self, root: str) -> dict:
        return {folder: dict(files) for folder, (owner, files) in self._folders.items() if owner == root}

    def entries(self, root: str) -> dict[str, Entry]:
        return {
            f"{folder}/{name}": Entry(root, *record)
            for folder, files in self.folders(root).items()
            for name, record in files.items()
        }

    def forget_all(self) -> None:
        for folder in list(self._folders):
            self._write(folder, None, {})
        self._folders.clear()
        for shard in self._shards:
            shard.commit()

    def record(self, generation: int, changed: dict[str, Entry], removed, articles=None) -> None:
        """As manifest.Manifest.record; `articles` (the copies' sketches) is not kept: a cluster
        keeps each article's copy group as a value (_ClusterWriter._copy_group)."""
        touched = set()
        for key in removed:
            folder, name = key.rsplit("/", 1)
            if folder in self._folders:
                self._folders[folder][1].pop(name, None)
                touched.add(folder)
        for key, entry in changed.items():
            folder, name = key.rsplit("/", 1)
            self._folders.setdefault(folder, (entry.root, {}))[1][name] = (
                entry.size, entry.mtime_ns, entry.sha256, entry.skipped,
            )
            touched.add(folder)
        for folder in touched:
            root, files = self._folders[folder]
            self._write(folder, root, files)
            if not files:
                del self._folders[folder]
        self.generation = generation
        self._shards[0].set_metadata(GENERATION_KEY, str(generation))
        for shard in self._shards:
            shard.commit()

    def _write(self, folder: str, root: str | None, files: dict) -> None:
        shard = self._shards[shard_of(folder, len(self._shards))]
        value = json.dumps([folder, root, files], ensure_ascii=False) if files else ""
        shard.set_metadata(folder_key(folder), value)  # "" deletes the entry


class _ClusterIndex:
    """The little of a Whoosh index that indexing.Run asks of the index it updates."""

    def __init__(self, database):
        self._database = database

    @contextmanager
    def searcher(self):
        yield self

    def document_numbers(self, root: str):
        return (posting.docid for posting in self._database.postlist(field_term("root", root)))

    def doc_count(self) -> int:
        return self._database.get_doccount()


class _Documents:
    """Collects a batch's articles as Xapian documents, each with its shard and near-duplicate group
    (stands in for indexing's segment writer)."""

    def __init__(self, xapian, database, shard_count: int, groups: dict):
        self.xapian, self.database, self.shard_count = xapian, database, shard_count
        self.schema = build_schema()
        self.groups = groups  # band term -> [(sketch, group)] of this run's articles not yet committed
        self.documents = []  # (shard, identity term, file key term, document)

    def add_document(self, **fields) -> None:
        article = identity(fields["_stored_key"], fields.get("record"))
        signature = tuple(fields.get("sketch") or ())
        bands = band_terms(signature)
        group = self._copy_group(article, signature, bands)
        document = make_document(self.xapian, self.schema, fields, group)
        for band in bands:  # what later articles look their copies up by (_copy_group)
            document.add_boolean_term(field_term("dupbands", band))
        term = identity_term(fields["_stored_key"], fields.get("record"))
        self.documents.append((shard_of(article, self.shard_count), term, fields["key"], document))

    def _copy_group(self, article: str, signature: tuple, bands: list[str]) -> str:
        """The group of a near-identical article already indexed (nearduplicates.resemblance over the
        articles sharing a band term), else the article's own identity."""
        if not bands:
            return article
        for band in bands:
            for other, group in self.groups.get(band, ()):
                if resemblance(signature, other) >= NEAR_DUPLICATE:
                    return self._remember(bands, signature, group)
        Query = self.xapian.Query
        query = Query(Query.OP_OR, [Query(field_term("dupbands", band)) for band in bands])
        enquire = self.xapian.Enquire(self.database)
        enquire.set_query(query)
        enquire.set_docid_order(self.xapian.Enquire.ASCENDING)
        enquire.set_weighting_scheme(self.xapian.BoolWeight())
        for item in enquire.get_mset(0, 50):
            if resemblance(signature, stored_fields(item.document)["sketch"]) >= NEAR_DUPLICATE:
                return self._remember(bands, signature, item.document.get_value(COPIES_SLOT).decode("utf-8", "surrogateescape"))
        return self._remember(bands, signature, article)

    def _remember(self, bands, signature, group: str) -> str:
        for band in bands:
            self.groups.setdefault(band, []).append((signature, group))
        return group

    def finish_segment(self) -> list:
        return self.documents

    def discard(self) -> None:
        self.documents = []


def band_terms(signature: tuple) -> list[str]:
    """The sketch's bands (nearduplicates.band_keys) as terms: none for a body too short to compare."""
    return [f"{key & 0xFFFFFFFFFFFFFFFF:x}" for key in band_keys(signature)]


class _ClusterFileIndexer(FileIndexer):
    """indexing.FileIndexer's reading of files, its articles collected for the cluster."""

    def __init__(self, xapian, database, shard_count: int):
        self._ix = None
        self._database = database
        groups = {}
        self._new_writer = lambda _ix: _Documents(xapian, database, shard_count, groups)
        self._writer = None

    def _segment_stamp(self) -> int:
        """As alerts.next_stamp: now, and after every stamp the cluster holds."""
        return max(time.time_ns(), newest_stamp(self._database) + 1)


class _ClusterRunner(InProcess):
    def __init__(self, indexer):
        self._indexer = indexer


class ClusterRun(Run):
    def __init__(self, cluster: Cluster, shards: list, record: ClusterRecord, report, progress, should_stop):
        xapian = import_xapian()
        self.xapian = xapian
        self.shards = shards
        self.reader = xapian.Database()
        for shard in shards:
            self.reader.add_database(shard)
        super().__init__(cluster.path, cluster.path, _ClusterIndex(self.reader), record, report, progress, should_stop)

    def runner(self, workers: int):
        return _ClusterRunner(_ClusterFileIndexer(self.xapian, self.reader, len(self.shards)))

    def commit(self, segments: list, deleted_keys: list[str]) -> int:
        """Every shard drops the articles of the files deleted or read again, then takes its new ones."""
        documents = [document for segment in segments for document in segment]
        replaced = set(deleted_keys) | {key for _, _, key, _ in documents}
        for shard in self.shards:
            shard.begin_transaction()
        try:
            for shard in self.shards:
                for key in sorted(replaced):
                    shard.delete_document(field_term("key", key))
            for number, term, _, document in documents:
                self.shards[number].replace_document(term, document)
        except BaseException:
            # A failure (a shard going down, Ctrl-C twice) drops what the other shards were sent.
            for shard in self.shards:
                with suppress(self.xapian.Error):
                    shard.cancel_transaction()
            raise
        for shard in self.shards:
            shard.commit_transaction()
        return self.manifest.generation + 1


def update_cluster(
    cluster_file: Path,
    folders: list[str],
    cwd: Path | None = None,
    *,
    forget: list[str] = (),
    rebuild: bool = False,
    commit_every: int | None = None,
    progress=_ignore,
    should_stop=_never,
) -> IndexReport:
    """indexing.update_index for a cluster: one process reads the files (the shards' servers do the
    writing); `rebuild` empties the shards first, so queries see a partial index until it ends."""
    cluster = load_cluster(Path(cluster_file))
    xapian = import_xapian()
    with writers(cluster) as shards:
        try:
            return _update(cluster, shards, folders, cwd, forget, rebuild, commit_every, progress, should_stop)
        except xapian.Error as exc:
            raise ArchsearchError(f"cluster {cluster.path}: writing failed: {_reason(exc)}") from None


def _update(cluster, shards, folders, cwd, forget, rebuild, commit_every, progress, should_stop):
    record = ClusterRecord(shards)
    stored_roots = shards[0].get_metadata(ROOTS_KEY)
    remembered = json.loads(stored_roots) if stored_roots else []
    forgotten = forgotten_roots(list(forget), remembered, record.roots())
    kept = [root for root in remembered if root not in forgotten]
    given = choose_roots(folders, kept, cwd or Path.cwd()) if folders or not forget else []
    roots = sorted(set(kept) | set(given))
    check_not_nested(roots)
    shards[0].set_metadata(ROOTS_KEY, json.dumps(roots))
    shards[0].commit()
    if rebuild:
        for shard in shards:
            for item in list(shard.allterms(field_term("root", ""))):
                shard.delete_document(item.term)
            shard.commit()
        record.forget_all()
    report = IndexReport(roots=roots)
    report.created = not stored_roots
    run = ClusterRun(cluster, shards, record, report, progress, should_stop)
    run.drop_outside(roots)
    work = run.scan(roots if rebuild else given or kept)
    if work:
        run.index(work, 1, commit_every or FILES_PER_BATCH)
    return run.finish()
