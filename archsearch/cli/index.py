"""`archsearch index`: build or update the index from folders of articles."""

import os
import signal
import sys

import click

from archsearch.cli.options import index_option


@click.command("index")
@click.argument("folders", nargs=-1, type=click.Path(file_okay=False))
@click.option(
    "--rebuild",
    is_flag=True,
    help="Make the index anew, reading every file again (queries use the old one until it is done).",
)
@click.option(
    "--forget",
    multiple=True,
    metavar="FOLDER",
    help="Stop covering FOLDER and remove its articles from the index (repeatable).",
)
@click.option(
    "-j",
    "--jobs",
    type=click.IntRange(min=1),
    metavar="N",
    help="Processes reading and analysing files (default: one per CPU core).",
)
@click.option(
    "--wait",
    "lock_wait",
    type=click.FloatRange(min=0),
    default=60,
    show_default=True,
    metavar="SECONDS",
    help="How long to wait for another 'archsearch index' run on the same index (or a shard of the same cluster) to finish.",
)
@click.option(
    "--commit-every",
    type=click.IntRange(min=1),
    metavar="N",
    help="Commit after every N files read (default 10,000 per process); a crash loses at most that much work.",
)
@click.option(
    "--compact",
    is_flag=True,
    help="Then merge the index into one segment, for the fastest queries (alone: only that, no folder read).",
)
@click.option("-q", "--quiet", is_flag=True, help="No progress bar, warnings or summary: errors only.")
@click.option("-v", "--verbose", is_flag=True, help="Name every file added, updated, removed or skipped.")
@index_option
@click.pass_context
def command(ctx, folders, rebuild, forget, jobs, lock_wait, commit_every, compact, quiet, verbose, index_dir):
    """Index the articles in FOLDERS (every file, recursively).

    With no FOLDERS, re-index the folders the index already covers, or
    ./seeds for a new index. Only new and changed files are read again;
    articles whose files were deleted are removed. Ctrl-C stops after
    saving what was indexed (a second Ctrl-C quits at once).
    """
    from archsearch.engines import is_cluster
    from archsearch.errors import ArchsearchError
    from archsearch.indexing import update_index
    from archsearch.location import resolve_index_dir
    from archsearch.rendering import IndexProgressDisplay, print_index_report

    if quiet and verbose:
        raise click.UsageError("--quiet and --verbose cannot be used together")
    display = IndexProgressDisplay(bar=sys.stderr.isatty(), verbose=verbose, quiet=quiet)
    index_dir = resolve_index_dir(index_dir)
    with display, Interruption(quiet) as interruption:
        if is_cluster(index_dir):
            if compact:
                raise ArchsearchError("--compact is for a single index, not a cluster (see 'xapian-compact')")
            from archsearch.engines.xapian.indexer import update_cluster

            report = update_cluster(
                index_dir, list(folders), forget=list(forget), rebuild=rebuild, jobs=jobs or available_cores(),
                commit_every=commit_every, lock_wait=lock_wait, progress=display, should_stop=interruption.requested,
            )
        else:
            report = update_index(
                index_dir,
                list(folders),
                forget=list(forget),
                rebuild=rebuild,
                jobs=jobs or available_cores(),
                commit_every=commit_every,
                lock_wait=lock_wait,
                progress=display,
                should_stop=interruption.requested,
                compact=compact,
            )
    if not quiet:
        if report.created:
            click.echo(f"archsearch: new index at {index_dir}", err=True)
        if report.scanned:
            print_index_report(report, verbose=verbose)
        if report.compacted:
            before, after, merged = report.compacted
            done = f"{before:,} segment{'s' * (before != 1)} -> {after:,}" if merged else f"nothing to do ({before:,} segment{'s' * (before != 1)})"
            if after > 1 and not report.interrupted:
                from archsearch.engines.whoosh.long_bodies import segment_limit

                done += f" (the fewest that hold its long bodies and stored fields: {segment_limit()} of each a segment)"
            click.echo(f"compacted: {done}; {report.total:,} articles in the index", err=True)
    if report.interrupted:
        if report.discarded:
            click.echo(f"archsearch: interrupted before any article was indexed; no index was made at {index_dir}", err=True)
        elif rebuild:
            click.echo(
                "archsearch: interrupted; queries still use the old index, and "
                "'archsearch index --rebuild' finishes the new one from where it stopped",
                err=True,
            )
        else:
            click.echo("archsearch: interrupted; what was indexed is saved, run again to finish", err=True)
        ctx.exit(130)
    if report.nothing_indexable:
        made = f"; no index was made at {index_dir}" if report.discarded else ""
        raise ArchsearchError(f"none of the {len(report.skipped):,} files found could be indexed{made}")


class Interruption:
    """Ctrl-C during a run: the first asks it to save its work and stop, the second quits at once."""

    def __init__(self, quiet: bool):
        self.quiet = quiet
        self._count = 0

    def requested(self) -> bool:
        return self._count > 0

    def __enter__(self):
        self._previous = signal.signal(signal.SIGINT, self._interrupt)
        return self

    def __exit__(self, *exc_info):
        signal.signal(signal.SIGINT, self._previous)

    def _interrupt(self, signum, frame):
        self._count += 1
        # os.write, not print: this runs between any two steps, maybe in the middle of a print.
        if self._count > 1:
            os.write(2, b"\x1b[?25h\narchsearch: interrupted\n" if sys.stderr.isatty() else b"archsearch: interrupted\n")
            os._exit(130)
        if not self.quiet:
            os.write(2, b"\narchsearch: stopping: saving what was indexed (Ctrl-C again to quit at once)\n")


def available_cores() -> int:
    if hasattr(os, "sched_getaffinity"):  # the cores this process may run on (Linux)
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1
