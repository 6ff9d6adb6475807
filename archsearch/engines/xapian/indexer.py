"""Indexing into a cluster: the embedded engine's run (indexing.Run: scanning, reading files with
the same readers, deciding what changed), with Xapian shards where it keeps Whoosh segments.

Where the record of indexed files lives: in the cluster, as metadata (one entry per folder,
on the shard its path hashes to, holding its files' size, modification time and hash), so any
machine that sees the corpus under the same paths updates the same cluster consistently.

Worker processes read and analyse a batch's files into serialised Xapian documents (the
terms of the embedded index's segment writer); this process gives each article its copy group
and writes the batch to every shard in a Xapian transaction (a thread per shard), committed
shard by shard, then recorded, all in a thread of its own (Committer) while the workers read
the next batch; a failure while writing cancels the transactions.  A killed run cannot cancel:
Xapian's server commits what a writer sent when its connection drops (the remote backend
keeps transactions in the client), so part of the last batch can be in a shard.  Each shard is
always whole (a commit is atomic), and the next run reads the unrecorded files again and
replaces their articles (every write replaces the articles of the file first), so nothing is
counted twice or lost.
"""

import json
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from functools import partial
from pathlib import Path
from typing import NamedTuple

from archsearch.engines.xapian import import_xapian
from archsearch.engines.xapian.clusterfile import ANALYSIS_VERSION, SCHEMA_VERSION, Cluster, load_cluster, shard_of
from archsearch.engines.xapian.documents import (
    COPIES_SLOT, COPY_SLOT, DATA_ENCODING, IDENTITY_PREFIX, IDENTITY_SLOT, ArticleTerms, field_term, finish_document, identity,
    make_document, make_term, newest_stamp, read_copy_value, stored_fields,
)
from archsearch.engines.xapian.shards import describe, _reason
from archsearch.errors import ArchsearchError
from archsearch.indexing import (
    DEFAULT_LOCK_WAIT, FileIndexer, InProcess, IndexReport, Progress, Run, Task, WorkerPool, _ignore, _never,
    check_not_nested, choose_roots, forgotten_roots,
)
from archsearch.manifest import Entry, FolderRecord
from archsearch.nearduplicates import NEAR_DUPLICATE, band_keys, resemblance
from archsearch.schema import build_schema

CLUSTER_KEY = "archsearch:cluster"  # on every shard: its place in the cluster and the versions
ROOTS_KEY = "archsearch:roots"  # on the first shard: the folders the cluster covers
GENERATION_KEY = "archsearch:generation"  # on the first shard: batches committed so far
FOLDER_PREFIX = "archsearch:folder:"  # + the folder's hash: its files
FILES_PER_BATCH = 2_000
# Seconds a shard may take to answer a write (a batch's commit above all) before it counts as down.
WRITE_TIMEOUT = 300
# Band terms per query for a batch's copies: Xapian's time for an OR of N terms grows faster than
# N (2,000 terms: 3 s, where 4 queries of 500 take 1 s in all).
BANDS_PER_QUERY = 500
# An article's copy is looked for among this many of the articles sharing a band with it (_first_copy).
COPY_CANDIDATES = 50
# Seconds between keep-alives to the shards while an indexing run is not writing (see
# ClusterRun._keeping_alive): well within xapian-tcpsrv's default idle timeout of 60 s.
KEEP_ALIVE_SECONDS = 20
# Seconds between attempts to open a shard another run is writing.
LOCK_POLL_SECONDS = 0.2


def folder_key(folder: str) -> str:
    import hashlib

    return FOLDER_PREFIX + hashlib.sha1(folder.encode("utf-8", "surrogateescape")).hexdigest()


@contextmanager
def writers(cluster: Cluster, wait: float = 0, progress=_ignore, should_stop=_never):
    """The shards open for writing, checked to be those the cluster file says, in its order,
    waiting at most `wait` seconds for another run to let go of a shard (as indexing.run_lock
    waits for the embedded index; a stop request while waiting is a KeyboardInterrupt).  All
    runs open the shards in the same order, so two of them never hold one each."""
    xapian = import_xapian()
    opened = []
    timeout = int(cluster.timeout * 1000)
    # A shard's server may take longer than the cluster's timeout to take a batch or commit it,
    # on a loaded machine.
    write_timeout = max(timeout, WRITE_TIMEOUT * 1000)
    deadline = None
    try:
        for number, shard in enumerate(cluster.shards):
            where = describe(cluster, shard, shard.write)
            while True:
                try:
                    writer = xapian.remote_open_writable(shard.write.host, shard.write.port, write_timeout, timeout)
                    break
                except xapian.DatabaseLockError:
                    # Also a run that just ended: its shard server's connection process lets go of
                    # the lock only once it sees the connection closed (after a kill -9, say).
                    if deadline is None:
                        deadline = time.monotonic() + wait
                        progress(Progress("waiting", holder=where))
                    if should_stop():
                        raise KeyboardInterrupt from None
                    if time.monotonic() >= deadline:
                        raise ArchsearchError(
                            f"{where} is still being written by another 'archsearch index' run after {wait:g} s; "
                            "try again later, or wait longer with --wait SECONDS"
                        ) from None
                    time.sleep(LOCK_POLL_SECONDS)
                except xapian.Error as exc:
                    raise ArchsearchError(
                        f"cluster {cluster.path}: {where} is down or not answering: {_reason(exc)}"
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
                folder, root, files = json.loads(shard.get_metadata(key).decode(*DATA_ENCODING))
                self._folders[folder] = root, {name: tuple(record) for name, record in files.items()}
        generation = shards[0].get_metadata(GENERATION_KEY)
        self.generation = int(generation) if generation else 0

    def roots(self) -> set[str]:
        return {root for root, _ in self._folders.values()}

    def folders(self, root: str) -> dict[str, FolderRecord]:
        return {folder: FolderRecord.from_files(files) for folder, (owner, files) in self._folders.items() if owner == root}

    def entries(self, root: str) -> dict[str, Entry]:
        return {
            f"{folder}/{name}": Entry(root, *record)
            for folder, (owner, files) in self._folders.items() if owner == root
            for name, record in files.items()
        }

    def forget_all(self) -> None:
        self._store([self._entry(folder, None, {}) for folder in self._folders], self.generation)
        self._folders.clear()

    def record(self, generation: int, changed: dict[str, Entry], removed, articles=None) -> None:
        """As manifest.Manifest.record; `articles` (the copies' sketches) is not kept: a cluster
        keeps each article's copy group as a value (ClusterRun.copy_groups).  The shards are
        written by `self.write`: at once, or after the batch's articles (ClusterRun)."""
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
        entries = []
        for folder in touched:
            root, files = self._folders[folder]
            entries.append(self._entry(folder, root, files))
            if not files:
                del self._folders[folder]
        self.generation = generation
        self.write(partial(self._store, entries, generation))

    @staticmethod
    def write(job) -> None:
        job()

    def _entry(self, folder: str, root: str | None, files: dict) -> tuple[int, str, str]:
        """(shard, key, value) of a folder's entry, made now: `files` changes with the next batch."""
        # Its file names as they are, those that are not UTF-8 too (as the document's data keeps them).
        value = json.dumps([folder, root, files], ensure_ascii=False).encode(*DATA_ENCODING) if files else b""  # b"" deletes it
        return shard_of(folder, len(self._shards)), folder_key(folder), value

    def _store(self, entries: list, generation: int) -> None:
        for number, key, value in entries:
            self._shards[number].set_metadata(key, value)
        self._shards[0].set_metadata(GENERATION_KEY, str(generation))
        for shard in self._shards:
            shard.commit()


class Committer:
    """Runs the writes of a run's batches in order, in a thread of its own, while the next batch is
    read and analysed: a job does not run once one before it failed, and the first failure is raised
    by the next submit() or wait()."""

    def __init__(self):
        self._pool = None
        self._last = None

    def submit(self, job) -> None:
        self.raise_failure()
        previous = self._last

        def after_previous() -> None:
            if previous is not None:
                previous.result()  # raises its failure: this job is not run
            job()

        if self._pool is None:
            self._pool = ThreadPoolExecutor(1, thread_name_prefix="archsearch cluster writes")
        self._last = self._pool.submit(after_previous)

    def raise_failure(self) -> None:
        if self._last is not None and self._last.done():
            self._last.result()

    def idle(self) -> bool:
        return self._last is None or self._last.done()

    def wait(self) -> None:
        if self._last is not None:
            self._last.result()


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


class Analysed(NamedTuple):
    """An article read and analysed (in a worker process with --jobs), what its batch writes."""

    key: str  # its file's path: a batch's articles are written in the order of its files
    key_term: str  # the file's term: what replaces every article of the file
    identity: str
    shard: int
    document: bytes  # the serialised Xapian document, but its copy group and stamp (finish_document)
    signature: tuple[int, ...]


class Copy(NamedTuple):
    """An article as the copy lookup sees it."""

    identity: str
    sketch: tuple[int, ...]
    group: str


class _Analyser:
    """Stands in for indexing's segment writer: the articles of a batch, analysed into documents."""

    def __init__(self, xapian, terms: ArticleTerms, shard_count: int):
        self.xapian, self.terms, self.shard_count = xapian, terms, shard_count
        self.analysed: list[Analysed] = []

    def add_document(self, **fields) -> None:
        article = identity(fields["_stored_key"], fields.get("record"))
        signature = tuple(fields.get("sketch") or ())
        document = make_document(self.xapian, self.terms, fields)
        for band in band_terms(signature):  # what later articles look their copies up by (copy_groups)
            document.add_boolean_term(field_term("dupbands", band))
        self.analysed.append(Analysed(
            fields["_stored_key"], fields["key"], article, shard_of(article, self.shard_count), document.serialise(),
            signature,
        ))

    def finish_segment(self) -> list[Analysed]:
        return self.analysed

    def discard(self) -> None:
        self.analysed = []


def band_terms(signature: tuple) -> list[str]:
    """The sketch's bands (nearduplicates.band_keys) as terms: none for a body too short to compare."""
    return [f"{key & 0xFFFFFFFFFFFFFFFF:x}" for key in band_keys(signature)]


class ClusterFileIndexer(FileIndexer):
    """indexing.FileIndexer's reading of files, its articles analysed for the cluster; made in
    each worker process (picklable as functools.partial(ClusterFileIndexer, shard_count))."""

    def __init__(self, shard_count: int):
        xapian = import_xapian()
        terms = ArticleTerms(build_schema())
        self._ix = None
        self._long_bodies_apart = False  # a cluster's documents hold their whole stored bodies
        self._new_writer = lambda _ix: _Analyser(xapian, terms, shard_count)
        self._writer = None
        self._full_segments = []  # never any: nothing is kept apart (FileIndexer)
        self._stamp = 0
        self._waiting, self._waiting_chars = [], 0  # articles whose languages are identified together (FileIndexer)
        self._pending = []  # outcomes waiting for their articles' sketches (FileIndexer)

    def _segment_stamp(self) -> int:
        return 0  # a batch's `indexed` stamp is given as it is written (ClusterRun.commit)


class _InProcess(InProcess):
    def __init__(self, indexer: FileIndexer):
        self._indexer = indexer


class _ClusterRunner:
    """Reads and analyses a batch's files (in this process, or in worker processes), and gives its
    articles in the order of its files, whichever worker read them."""

    def __init__(self, shard_count: int, workers: int, committer: Committer):
        indexer = partial(ClusterFileIndexer, shard_count)
        self._runner = WorkerPool(indexer, workers) if workers > 1 else _InProcess(indexer())
        self._committer = committer

    def run_batch(self, tasks: list[Task], on_outcome, should_stop) -> tuple[list, list]:
        outcomes, segments = self._runner.run_batch(tasks, on_outcome, should_stop)
        order = {task.key: number for number, task in enumerate(tasks)}
        articles = sorted((article for segment in segments for article in segment), key=lambda a: order[a.key])
        return outcomes, [articles] if articles else []

    def close(self) -> None:
        """Once the last batch is written (the shards are closed after this)."""
        try:
            self._runner.close()
        finally:
            self._committer.wait()


class ClusterRun(Run):
    """indexing.Run on the cluster: a batch's articles are written to the shards (and then its files
    recorded) by a Committer while the next batch is read."""

    RUNNERS_PER_BATCH = False  # the runner's close() waits for the Committer

    def __init__(self, cluster: Cluster, shards: list, record: ClusterRecord, report, progress, should_stop):
        xapian = import_xapian()
        self.xapian = xapian
        self.shards = shards
        self.reader = xapian.Database()
        for shard in shards:
            self.reader.add_database(shard)
        self.committer = Committer()
        record.write = self.committer.submit
        self._spoken_to = time.monotonic()
        super().__init__(
            cluster.path, cluster.path, _ClusterIndex(self.reader), record, report, self._keeping_alive(progress), should_stop
        )

    def _keeping_alive(self, progress):
        """`progress`, and on the way a keep-alive to every shard each KEEP_ALIVE_SECONDS while no
        batch is being written: xapian-tcpsrv drops a connection idle for 60 s (its default
        --idle-timeout), and scanning a large corpus or reading the first batch takes longer.  The
        writes' own thread is idle then, and only this thread could start it again, so the
        shards are not used by two threads at once."""

        def told(event) -> None:
            if time.monotonic() - self._spoken_to >= KEEP_ALIVE_SECONDS and self.committer.idle():
                for shard in self.shards:
                    shard.keep_alive()
                self._spoken_to = time.monotonic()
            progress(event)

        return told

    def runner(self, workers: int):
        return _ClusterRunner(len(self.shards), workers, self.committer)

    def commit(self, segments: list, deleted_keys: list[str]) -> int:
        """The batch is written (and then recorded) once the one before it is: a run is never more
        than one batch behind its reading, in memory or after a kill."""
        articles = [article for segment in segments for article in segment]
        self.committer.wait()
        self.committer.submit(partial(self._write, articles, deleted_keys))
        return self.manifest.generation + 1

    def merge_overdue(self) -> None:
        """Nothing to do: Xapian merges a shard's own files as it commits."""

    def finish(self) -> IndexReport:
        if self.gone:
            self._commit([], [], [])
        self.committer.wait()
        return super().finish()

    def _write(self, articles: list[Analysed], deleted_keys: list[str]) -> None:
        """Every shard drops the articles of the files deleted or read again, then takes its new ones
        (the shards written at once, each by a thread of its own: a write waits for its shard)."""
        replaced = sorted(set(deleted_keys) | {article.key_term for article in articles})
        writes = self.shard_documents(articles)

        def write(shard, documents) -> None:
            for key in replaced:
                shard.delete_document(field_term("key", key))
            for term, document in documents:
                shard.replace_document(term, document)

        for shard in self.shards:
            shard.begin_transaction()
        try:
            self._on_every_shard(write, writes)
        except BaseException:
            # A failure (a shard going down) drops what the other shards were sent.
            for shard in self.shards:
                with suppress(self.xapian.Error):
                    shard.cancel_transaction()
            raise
        self._on_every_shard(lambda shard, _: shard.commit_transaction(), writes)

    def shard_documents(self, articles: list[Analysed]) -> list[list]:
        """Per shard, its articles as (identity term, document), their copy groups and stamp given."""
        stamp = max(time.time_ns(), newest_stamp(self.reader) + 1)  # as alerts.next_stamp
        writes = [[] for _ in self.shards]
        for article, group in zip(articles, self.copy_groups(articles)):
            document = self.xapian.Document.unserialise(article.document)
            finish_document(document, article.signature, group, stamp)
            writes[article.shard].append((make_term(IDENTITY_PREFIX, article.identity), document))
        return writes

    def _on_every_shard(self, operation, arguments: list) -> None:
        """operation(shard, argument) for every shard at once; the first failure is raised once
        every shard is done (a Xapian object is used by one thread at a time)."""
        with ThreadPoolExecutor(len(self.shards)) as pool:
            futures = [pool.submit(operation, shard, argument) for shard, argument in zip(self.shards, arguments)]
        for future in futures:
            future.result()

    def copy_groups(self, articles: list[Analysed]) -> list[str]:
        """Each article's near-duplicate group: that of the first near-identical article among those
        indexed before it (in the cluster, or earlier in the batch) that share a band term with it,
        taken in _first_copy's order; else its own identity.  The same rule for both, so the groups
        do not depend on where the batches end."""
        bands = [band_terms(article.signature) for article in articles]
        earlier = self._committed_copies({band for article_bands in bands for band in article_bands})
        groups = []
        for article, article_bands in zip(articles, bands):
            group = _first_copy(article.signature, article_bands, earlier) or article.identity
            copy = Copy(article.identity, article.signature, group)
            for band in article_bands:
                earlier.setdefault(band, {})[article.identity] = copy  # in place of an older version of it
            groups.append(group)
        return groups

    def _committed_copies(self, bands: set[str]) -> dict[str, dict[str, Copy]]:
        """band term -> {identity: Copy} of the articles the cluster holds with that band, read from
        their COPY_SLOT by a match spy (each shard counts its own matches' values, and sends them
        once): a query per BANDS_PER_QUERY of the batch's band terms, and no document read, but
        for articles written before that slot existed."""
        xapian = self.xapian
        Query = xapian.Query
        enquire = xapian.Enquire(self.reader)
        enquire.set_weighting_scheme(xapian.BoolWeight())
        every = max(1, self.reader.get_doccount())
        ordered = sorted(bands)
        found: dict[str, dict[str, Copy]] = {}

        def add(copy: Copy) -> None:
            for band in bands.intersection(band_terms(copy.sketch)):
                found.setdefault(band, {})[copy.identity] = copy

        for start in range(0, len(ordered), BANDS_PER_QUERY):
            query = Query(Query.OP_OR, [field_term("dupbands", band) for band in ordered[start : start + BANDS_PER_QUERY]])
            spy = xapian.ValueCountMatchSpy(COPY_SLOT)
            enquire.clear_matchspies()
            enquire.add_matchspy(spy)
            enquire.set_query(query)
            matching = enquire.get_mset(0, 0, every).get_matches_estimated()
            with_values = 0
            for item in spy.values():
                with_values += item.termfreq
                add(Copy(*read_copy_value(item.term)))
            if with_values < matching:
                for copy in self._copies_without_value(enquire, query, every):
                    add(copy)
        return found

    def _copies_without_value(self, enquire, query, every: int):
        """The matching articles written before COPY_SLOT existed, read from their documents."""
        Query = self.xapian.Query
        enquire.clear_matchspies()
        enquire.set_query(Query(Query.OP_AND_NOT, query, Query(Query.OP_VALUE_GE, COPY_SLOT, b"\0")))
        matches = enquire.get_mset(0, every)
        matches.fetch()  # the documents in one exchange per shard
        for item in matches:
            document = item.document
            yield Copy(
                document.get_value(IDENTITY_SLOT).decode("utf-8", "surrogateescape"),
                stored_fields(document)["sketch"],
                document.get_value(COPIES_SLOT).decode("utf-8", "surrogateescape"),
            )


def _first_copy(signature: tuple, bands: list[str], earlier: dict[str, dict[str, Copy]]) -> str | None:
    """The group of the first of the candidates (the articles sharing a band with this one) that
    it resembles, the COPY_CANDIDATES sharing most bands with it first, then by identity: an order
    that depends neither on the shards nor on the batches, and puts a copy (which shares most of
    its bands) before the articles that share one band by chance."""
    shared: dict[str, int] = {}
    candidates: dict[str, Copy] = {}
    for band in bands:
        for article, copy in earlier.get(band, {}).items():
            shared[article] = shared.get(article, 0) + 1
            candidates[article] = copy
    for article in sorted(shared, key=lambda each: (-shared[each], each))[:COPY_CANDIDATES]:
        copy = candidates[article]
        if resemblance(signature, copy.sketch) >= NEAR_DUPLICATE:
            return copy.group
    return None


def update_cluster(
    cluster_file: Path,
    folders: list[str],
    cwd: Path | None = None,
    *,
    forget: list[str] = (),
    rebuild: bool = False,
    jobs: int = 1,
    commit_every: int | None = None,
    lock_wait: float = DEFAULT_LOCK_WAIT,
    progress=_ignore,
    should_stop=_never,
) -> IndexReport:
    """indexing.update_index for a cluster: `jobs` processes read and analyse the files, this one
    groups copies and sends each shard its articles (the shards' servers do the writing); `rebuild`
    empties the shards first, so queries see a partial index until it ends."""
    cluster = load_cluster(Path(cluster_file))
    xapian = import_xapian()
    with writers(cluster, lock_wait, progress, should_stop) as shards:
        first = not shards[0].get_metadata(ROOTS_KEY)
        try:
            report = _update(cluster, shards, folders, cwd, forget, rebuild, jobs, commit_every, progress, should_stop)
        except Exception as exc:  # (a kill runs no clean-up)
            down = _not_answering(cluster, shards, xapian) if isinstance(exc, xapian.NetworkError) else []
            if first:
                _discard_first_run(shards, xapian)
            if isinstance(exc, xapian.Error):
                named = f"; {', '.join(down)} {'is' if len(down) == 1 else 'are'} down or not answering" if down else ""
                raise ArchsearchError(f"cluster {cluster.path}: writing failed: {_reason(exc)}{named}") from None
            raise
        if first and (report.nothing_indexable or (report.interrupted and not report.total)):
            report.discarded = _discard_first_run(shards, xapian)
            report.created = not report.discarded
        return report


def _not_answering(cluster: Cluster, shards: list, xapian) -> list[str]:
    """The shards whose connection no longer answers, after a network error while writing: the error
    itself (a broken pipe, a timeout) does not say which of the shards' connections it came from.
    keep_alive is a round trip to the shard's server (a count could be the one cached)."""
    down = []
    for shard, writer in zip(cluster.shards, shards):
        try:
            writer.keep_alive()
        except xapian.Error:
            down.append(describe(cluster, shard, shard.write))
    return down


def _discard_first_run(shards: list, xapian) -> bool:
    """Takes back what a first run (on shards that covered no folder) that indexed no article
    wrote, as indexing.discard_first_index does for the embedded index: the folders it was given,
    the files it recorded (those it skipped), its count of batches. Later commands then find the
    cluster as it was, and a later run does not go on reading those folders. Whether it did: not
    when an article reached a shard, or a shard cannot say (it is down): a run that failed after
    it wrote a batch is finished by the next, as a killed one is. Each shard's place in the
    cluster (CLUSTER_KEY, written as the shards are opened) stays: it is what the cluster file says."""
    try:
        if any(shard.get_doccount() for shard in shards):
            return False
        for shard in shards:
            for key in [ROOTS_KEY, GENERATION_KEY, *shard.metadata_keys(FOLDER_PREFIX)]:
                shard.set_metadata(key, "")  # (an empty value deletes it)
            shard.commit()
    except xapian.Error:
        return False
    return True


def _update(cluster, shards, folders, cwd, forget, rebuild, jobs, commit_every, progress, should_stop):
    record = ClusterRecord(shards)
    stored_roots = shards[0].get_metadata(ROOTS_KEY)
    remembered = json.loads(stored_roots) if stored_roots else []
    forgotten = forgotten_roots(list(forget), remembered, record.roots())
    kept = [root for root in remembered if root not in forgotten]
    given = choose_roots(folders, kept, cwd) if folders or not forget else []
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
        run.index(work, jobs, commit_every or FILES_PER_BATCH)
    return run.finish()
