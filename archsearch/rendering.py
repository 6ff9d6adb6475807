"""Showing results: rich and coloured for a person at a terminal, plain and stable in a pipe.

Formats: `human` (rich, coloured; the default when colour is on), `plain` (the same
information with no escape codes; matched words marked **like this**), `json` (JSON Lines:
one object per hit, then a summary object), `tsv` (a header line, then one line per hit) and
`csv` (the same table as RFC 4180 CSV, for spreadsheets).
"""

from __future__ import annotations

import contextlib
import errno
import functools
import io
import itertools
import os
import re
import sys

from archsearch.records import as_dict

TYPE_CHECKING = False  # typing's constant, by its name (as type checkers read it): a query loads no typing
if TYPE_CHECKING:  # only for annotations: rendering loads nothing that finds or indexes articles
    from archsearch.indexing import IndexReport
    from archsearch.searching import ArticleRecord, Hit, SearchResult

# How matched words are marked in plain output, where there is no colour.
PLAIN_MATCH_OPEN = "**"
PLAIN_MATCH_CLOSE = "**"

TSV_COLUMNS = ("rank", "score", "date", "source", "place", "section", "title", "id", "path", "snippet")
# After the columns above, so scripts that cut by position keep working.
DETAIL_COLUMNS = ("url", "author", "language", "format", "fetched")

# Tabs stay: they are common in articles and harmless on a terminal (TSV escapes them itself).
# Bidi embeddings, overrides and isolates go too: on a terminal that reorders text they change
# how what follows them reads, up to the end of the line ("Trojan Source").
_CONTROL_CHARACTERS = {
    code: "\ufffd"
    for code in [*range(0x00, 0x20), *range(0x7F, 0xA0), *range(0x202A, 0x202F), *range(0x2066, 0x206A)]
    if code != 0x09
}
# Names (paths, ids, sources, places) also lose the bidi marks, which right-to-left text uses
# with reason but a name can only use to hide what it is.
_NAME_CONTROL_CHARACTERS = {**_CONTROL_CHARACTERS, **{code: "\ufffd" for code in (0x200E, 0x200F, 0x061C)}}


def colour_wanted(choice: str, stream, environ=os.environ) -> bool:
    """ripgrep's rule: colour on a terminal unless NO_COLOR (any value) or TERM=dumb say otherwise."""
    if choice == "always":
        return True
    if choice == "never" or "NO_COLOR" in environ or environ.get("TERM") == "dumb":
        return False
    return stream.isatty()


def output_format(requested: str | None, colour: bool) -> str:
    if requested:
        return requested
    return "human" if colour else "plain"


def printable(text: str, table: dict = _CONTROL_CHARACTERS) -> str:
    """One character for one: control characters, bidi controls and undecodable bytes become
    U+FFFD, so match offsets stay right and no escape sequence from an article reaches the terminal."""
    text = text.translate(table)
    if _has_surrogates(text):
        text = _SURROGATES.sub("\ufffd", text)
    return text


def printable_name(name: str) -> str:
    """A file name, folder, id, source or place as it may be shown: printable() and no bidi marks."""
    return printable(name, _NAME_CONTROL_CHARACTERS)


def path_fields(path: str) -> dict:
    """A path for JSON; one whose bytes are not UTF-8 also comes whole, base64-encoded (as ripgrep does)."""
    fields = {"path": printable(path) if _has_surrogates(path) else path}
    if _has_surrogates(path):
        import base64  # for these paths alone: a query's output without them never loads it

        fields["path_bytes"] = base64.b64encode(os.fsencode(path)).decode("ascii")
    return fields


# Undecodable bytes, as os.fsdecode and the article readers leave them.
_SURROGATES = re.compile("[\ud800-\udfff]")


def _has_surrogates(text: str) -> bool:
    # Not a Python step per character: that was 0.5 ms of a page of ten plain hits.
    return not text.isascii() and _SURROGATES.search(text) is not None


def hit_record(hit: Hit) -> dict:
    return {
        "type": "hit",
        "rank": hit.rank,
        "id": hit.id,
        **path_fields(hit.path),
        "title": hit.title,
        "date": hit.date.isoformat() if hit.date else None,
        "source": hit.source,
        "place": hit.place,
        "section": hit.section,
        **details_record(hit.details),
        "score": hit.score,
        "copies": list(hit.copies),
        "title_matches": [list(span) for span in hit.title_matches],
        "snippets": [
            {
                "field": snippet.field,
                "text": snippet.text,
                "start": snippet.start,
                "end": snippet.end,
                "matches": [list(span) for span in snippet.matches],
            }
            for snippet in hit.snippets
        ],
    }


def details_record(details) -> dict:
    """url, author, language, format ("" when unknown) and fetched (null, like an unknown date)."""
    return {**as_dict(details), "fetched": details.fetched or None}


def summary_record(result: SearchResult) -> dict:
    return {
        "type": "summary",
        "query": result.query,
        "total": result.total,
        "relaxed": result.relaxed,
        "shown": len(result.hits),
        "offset": result.offset,
        "elapsed_ms": round(result.elapsed * 1000, 3),
    }


def article_record(article: ArticleRecord) -> dict:
    return {
        "type": "article",
        "id": article.id,
        **path_fields(article.path),
        "title": article.title,
        "date": article.date.isoformat() if article.date else None,
        "source": article.source,
        "place": article.place,
        "section": article.section,
        **details_record(article.details),
        "body": article.body,
    }


def json_line(record: dict) -> str:
    import json  # here: other formats never load it (1 ms of a query)

    # ensure_ascii keeps every line valid UTF-8 whatever the text holds.
    return json.dumps(record, ensure_ascii=True) + "\n"


def tsv_field(value) -> str:
    if value is None:
        return ""
    text = str(value).replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    return printable(text)


def tsv_line(values) -> str:
    return "\t".join(tsv_field(value) for value in values) + "\n"


# CSV: what a spreadsheet opens. The formats `csv` and `csv+bom` (--bom) differ only in the byte
# order mark that makes Excel read the file as UTF-8.
CSV_FORMATS = ("csv", "csv+bom")

# Line breaks stay, inside quotes, where TSV escapes them; every other character that printable()
# replaces still goes, so a CSV shown with `cat` cannot steer the terminal either.
_CSV_CONTROL_CHARACTERS = {code: char for code, char in _CONTROL_CHARACTERS.items() if code not in (0x0A, 0x0D)}

# A spreadsheet runs a cell that starts so as a formula (CWE-1236); OWASP's list, tab and
# carriage return included.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value) -> str:
    """A value as a CSV cell: text that a spreadsheet would run as a formula gets a leading `'`."""
    if value is None:
        return ""
    text = printable(str(value), _CSV_CONTROL_CHARACTERS)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def write_csv(out, fmt: str, columns, rows) -> None:
    """A header line and the rows as RFC 4180 CSV: UTF-8 whatever the locale, CRLF line ends, a field
    quoted when it holds a comma, a quote or a line break; with a byte order mark for `csv+bom`."""
    import csv  # for CSV output alone: a query's usual output never loads it

    stream = _Utf8Writer(out)
    if fmt == "csv+bom":
        stream.write("\ufeff")
    writer = csv.writer(stream, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([csv_cell(value) for value in row])


class _Utf8Writer:
    """Text to a stream as UTF-8 bytes, through its binary buffer when it has one (a Windows
    console's or pipe's text encoding need not be UTF-8)."""

    def __init__(self, out):
        out.flush()
        self.out = out
        self.buffer = getattr(out, "buffer", None)

    def write(self, text: str) -> None:
        if self.buffer is None:
            self.out.write(text)
        else:
            self.buffer.write(text.encode("utf-8"))


HIT_COLUMNS = TSV_COLUMNS + DETAIL_COLUMNS


def hit_fields(hit: Hit) -> dict:
    """A hit's table cells by column name: HIT_COLUMNS, and `copies` (the ids it stands for)."""
    return {
        "rank": hit.rank,
        "score": f"{hit.score:.4f}" if hit.score is not None else None,
        "date": hit.date.isoformat() if hit.date else None,
        "source": hit.source,
        "place": hit.place,
        "section": hit.section,
        "title": hit.title,
        "id": hit.id,
        "path": hit.path,
        "snippet": hit.snippets[0].text if hit.snippets else "",
        **as_dict(hit.details),
        "copies": " ".join(hit.copies),
    }


def hit_row(hit: Hit, columns=HIT_COLUMNS) -> list:
    fields = hit_fields(hit)
    return [fields[column] for column in columns]


def write_hits_csv(hits, out, fmt: str = "csv", columns=HIT_COLUMNS) -> None:
    """The one place hits become CSV rows: `query`, `similar` and the browser's export."""
    write_csv(out, fmt, columns, (hit_row(hit, columns) for hit in hits))


def write_rows(out, fmt: str, columns, rows) -> None:
    """A table in a pipe: CSV, TSV with a header line, or plain TSV lines without one."""
    if fmt in CSV_FORMATS:
        write_csv(out, fmt, columns, rows)
        return
    if fmt == "tsv":
        out.write(tsv_line(columns))
    out.write("".join(tsv_line(row) for row in rows))


def metadata_parts(date, source: str, place: str, article_id: str) -> list[str]:
    parts = [date.isoformat() if date else "undated"]
    return parts + [printable_name(value) for value in (source, place, article_id) if value]


def mark_matches(text: str, matches, open_mark: str, close_mark: str) -> str:
    pieces = []
    cursor = 0
    for start, end in matches:
        pieces += [text[cursor:start], open_mark, text[start:end], close_mark]
        cursor = end
    pieces.append(text[cursor:])
    return "".join(pieces)


def snippet_ellipses(snippet) -> tuple[str, str]:
    """Ellipses that tell whether the passage starts and ends inside the text."""
    return ("…" if snippet.start > 0 else ""), ("" if snippet.reaches_end else "…")


def copies_parts(hit: Hit) -> list[str]:
    if not hit.copies:
        return []
    return [f"+{len(hit.copies)} cop{'y' if len(hit.copies) == 1 else 'ies'}"]


def score_text(hit: Hit) -> str:
    return f"score {hit.score:.3f}" if hit.score is not None else "score not computed (sorted by date)"


def plain_hit_lines(hit: Hit, explain: bool = False) -> list[str]:
    title = mark_matches(printable(hit.title), hit.title_matches, PLAIN_MATCH_OPEN, PLAIN_MATCH_CLOSE)
    metadata = metadata_parts(hit.date, hit.source, hit.place, hit.id) + copies_parts(hit)
    metadata += [score_text(hit)] if explain else []
    lines = [f"{hit.rank}. {title}", "   " + " · ".join(metadata)]
    for snippet in hit.snippets:
        before, after = snippet_ellipses(snippet)
        marked = mark_matches(printable(snippet.text), snippet.matches, PLAIN_MATCH_OPEN, PLAIN_MATCH_CLOSE)
        lines.append(f"   {before}{marked}{after}")
    return lines


def print_search_result(result: SearchResult, out, err, fmt: str, explain: bool = False) -> None:
    if explain:
        err.write("".join(f"archsearch: {line}\n" for line in result.explanation))
    if fmt == "json":
        for hit in result.hits:
            out.write(json_line(hit_record(hit)))
        out.write(json_line(summary_record(result)))
    elif fmt == "tsv":
        out.write(tsv_line(HIT_COLUMNS))
        out.write("".join(tsv_line(hit_row(hit)) for hit in result.hits))
    elif fmt in CSV_FORMATS:
        write_hits_csv(result.hits, out, fmt)
    elif fmt == "human":
        print_human(result, out, err, explain)
    else:
        out.write("\n".join("\n".join(plain_hit_lines(hit, explain)) for hit in result.hits))
        if result.hits:
            out.write("\n")
    print_result_notes(result, err)


def print_paths(result: SearchResult, out, null: bool) -> None:
    """Raw path bytes, as the file system has them, so `xargs -0` gets every file right; on a
    terminal, which would run the escape sequences a name can hold, names made printable.

    Each file once, as grep -l does, however many of a container's records matched.
    """
    paths = dict.fromkeys(hit.path for hit in result.hits)
    if out.isatty():
        terminator = "\0" if null else "\n"
        out.write("".join(printable_name(path) + terminator for path in paths))
        return
    terminator = b"\0" if null else b"\n"
    out.flush()
    out.buffer.write(b"".join(os.fsencode(path) + terminator for path in paths))
    out.buffer.flush()


def print_empty_index_note(err) -> None:
    err.write("archsearch: the index holds no articles: it is empty, or still being built\n")


def print_result_notes(result: SearchResult, err) -> None:
    if result.index_empty:
        print_empty_index_note(err)
    if result.corrected_from:
        err.write(f"archsearch: showing results for '{result.query}' instead of '{result.corrected_from}'\n")
    if result.suggestion:
        found = "articles with some of its words" if result.suggestion_relaxed else "matching articles"
        err.write(
            f"archsearch: did you mean '{result.suggestion}'? ({result.suggestion_total} {found};"
            " --fix runs it)\n"
        )
    if result.total == 0 and result.outside_window:
        span = (
            f"the index's dates span {result.date_span[0]}..{result.date_span[1]}"
            if result.date_span else "no article in the index has a date"
        )
        err.write(f"archsearch: {result.outside_window} article(s) match the words, none in the date window; {span}\n")
    if result.any_case_matches:
        words = " and ".join(printable(word) for word in result.capitals)
        err.write(
            f"archsearch: no article has all the words with {words} written in capitals;"
            f" {result.any_case_matches} match in any case (-i/--ignore-case)\n"
        )
    if result.relaxed:
        err.write(
            "archsearch: no article has all the words; showing articles with some of them, most words first"
            " (--strict to turn this off)\n"
        )
    elif result.words_first:
        err.write(
            "archsearch: showing articles with all the words first, then those with some of them"
            " (--strict to turn this off)\n"
        )
    elif result.total == 0 and result.partial_matches:
        err.write(
            f"archsearch: no article matches all words; {result.partial_matches} match some of them"
            " (try --any)\n"
        )
    if result.undated_left_out:
        err.write(
            f"archsearch: {result.undated_left_out} undated article(s) matched but were left out by the date"
            " filter (add --undated to include them)\n"
        )


def _rich_console(out):
    # Colour was decided already (see colour_wanted); rich must not second-guess it from the stream.
    return _console_class()(file=out, highlight=False, force_terminal=True, no_color=False)


@functools.cache
def _console_class():
    from rich.console import Console

    class PipeFriendlyConsole(Console):
        def on_broken_pipe(self) -> None:
            # Rich's own exits with status 1; the command line ends a closed pipe with status 0.
            self.quiet = True
            raise BrokenPipeError(errno.EPIPE, os.strerror(errno.EPIPE))

    return PipeFriendlyConsole


def print_human(result: SearchResult, out, err, explain: bool = False) -> None:
    from rich.padding import Padding
    from rich.text import Text

    console = _rich_console(out)
    for hit in result.hits:
        title = Text.assemble((f"{hit.rank:>2}  ", "bold cyan"))
        title.append_text(highlighted(printable(hit.title), hit.title_matches, "bold"))
        console.print(title)
        extra = " · ".join(copies_parts(hit) + ([score_text(hit)] if explain else []))
        console.print(Padding(metadata_text(hit.date, hit.source, hit.place, hit.id, extra), (0, 0, 0, 4)))
        for snippet in hit.snippets:
            before, after = snippet_ellipses(snippet)
            line = Text(before)
            line.append_text(highlighted(printable(snippet.text), snippet.matches, ""))
            line.append(after)
            console.print(Padding(line, (0, 0, 0, 4)))
        console.print()
    shown = len(result.hits)
    if result.hits:
        first, last = result.hits[0].rank, result.hits[-1].rank
        summary = (
            f"hits {first}-{last} of {result.total}"
            if shown < result.total
            else f"{shown} matching article{'' if shown == 1 else 's'}"
        )
        _rich_console(err).print(Text(f"{summary} ({result.elapsed * 1000:.0f} ms)", style="dim"))


def metadata_text(date, source, place, article_id, extra: str = ""):
    from rich.text import Text

    meta = Text(date.isoformat() if date else "undated", style="green" if date else "dim")
    for value, style in ((source, "yellow"), (place, "yellow"), (article_id, "magenta"), (extra, "dim")):
        if value:
            meta.append(" · ", style="dim")
            meta.append(printable_name(value), style=style)
    return meta


def highlighted(text: str, matches, base_style: str):
    from rich.text import Text

    rich_text = Text(text, style=base_style)
    for start, end in matches:
        rich_text.stylize("bold red", start, end)
    return rich_text


def print_article(article: ArticleRecord, out, fmt: str, title_matches=(), body_matches=(), rest=()) -> None:
    """The article's metadata, then its body; the matches, (start, end) spans of its title and
    body, are marked in the human and plain formats.  There, `rest`: more of the body, after
    article.body, as (text, its matches) chunks, written as they come (no match reaching from one
    into the next: see searching.article_matches_by_chunks)."""
    if fmt == "json":
        out.write(json_line(article_record(article)))
    elif fmt == "tsv" or fmt in CSV_FORMATS:
        columns = ("id", "path", "title", "date", "source", "place", "section", *DETAIL_COLUMNS, "body")
        record = article_record(article)
        if fmt == "tsv":
            out.write(tsv_line(columns))
            out.write(tsv_line([record[column] for column in columns]))
        else:
            write_csv(out, fmt, columns, [[record[column] for column in columns]])
    elif fmt == "human":
        from rich.padding import Padding
        from rich.text import Text

        console = _rich_console(out)
        console.print(highlighted(printable(article.title), title_matches, "bold"))
        console.print(metadata_text(article.date, article.source, article.place, article.id))
        if article.section:
            console.print(Text(f"section: {printable_name(article.section)}", style="dim"))
        for name, value in _known_details(article):
            console.print(Text(f"{name}: {printable(value)}", style="dim"))
        console.print()
        for paragraph, within in _paragraphs(itertools.chain([(article.body, body_matches)], rest)):
            console.print(Padding(highlighted(printable(paragraph), within, ""), (0, 0, 1, 0)))
    else:
        lines = [
            f"title: {printable(mark_matches(article.title, title_matches, PLAIN_MATCH_OPEN, PLAIN_MATCH_CLOSE))}",
            f"date: {article.date.isoformat() if article.date else 'undated'}",
            f"source: {printable_name(article.source)}",
            f"place: {printable_name(article.place)}",
            f"section: {printable_name(article.section)}",
            *(f"{name}: {printable(value)}" for name, value in _known_details(article)),
            f"id: {printable_name(article.id)}",
            f"path: {printable_name(article.path)}",
            "",
        ]
        out.write("\n".join(lines) + "\n")
        for text, matches in itertools.chain([(article.body, body_matches)], rest):
            body = mark_matches(text, matches, PLAIN_MATCH_OPEN, PLAIN_MATCH_CLOSE)
            out.write("\n".join(printable(line) for line in body.split("\n")))
        out.write("\n")


def _paragraphs(chunks):
    """(paragraph, its matches) of a body given as (text, matches) chunks, as body.split("\n\n")
    cuts it, each given once the break after it is read: the last of a chunk waits for the next,
    which may go on with it (not after a chunk that ends with a break: it continues an empty one)."""
    held = None  # the last paragraph of the chunks read, and its matches
    for text, matches in chunks:
        found = _chunk_paragraphs(text, matches)
        if held is not None:
            (first, first_matches), shift = found[0], len(held[0])
            found[0] = held[0] + first, [*held[1], *((start + shift, end + shift) for start, end in first_matches)]
        yield from found[:-1]
        held = found[-1]
    yield held


def _chunk_paragraphs(text: str, matches) -> list:
    found = []
    start = 0
    for paragraph in text.split("\n\n"):
        end = start + len(paragraph)
        within = [(max(first, start), min(last, end)) for first, last in matches if first < end and last > start]
        found.append((paragraph, [(first - start, last - start) for first, last in within]))
        start = end + 2
    return found


@contextlib.contextmanager
def paged(out, wanted: bool = True, environ=os.environ):
    """Where to write a long text: the input of a pager when `wanted` and `out` is a terminal, as
    git does ($PAGER, else `less -R`; LESS=FRX unless set, so that a text shorter than the screen
    ends at once and colour passes through); `out` itself otherwise."""
    command = _pager_command(environ) if wanted and out.isatty() else None
    if command is None:
        yield out
        return
    import signal
    import subprocess

    out.flush()
    pager = subprocess.Popen(command, shell=True, stdin=subprocess.PIPE, stdout=out, env={"LESS": "FRX", **environ})
    pipe = io.TextIOWrapper(pager.stdin, encoding=out.encoding, errors=getattr(out, "errors", None) or "strict")
    try:
        yield pipe
        pipe.close()
    except BrokenPipeError:
        pass  # the reader quit the pager before the end
    finally:
        with contextlib.suppress(OSError):
            pipe.close()
        # The pager has the terminal until the reader quits it; Ctrl-C there is the pager's, as in git.
        import threading

        in_main_thread = threading.current_thread() is threading.main_thread()
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN) if in_main_thread else None
        try:
            pager.wait()
        finally:
            if in_main_thread:
                signal.signal(signal.SIGINT, previous)


def _pager_command(environ) -> str | None:
    """The pager's shell command; None for none: $PAGER empty or cat, or its program (less by
    default) not installed, where the text is better printed than lost."""
    import shlex
    import shutil

    pager = environ.get("PAGER", "less -R").strip()
    try:
        program = shlex.split(pager)[0] if pager else "cat"
    except ValueError:  # quotes only a shell reads: let it
        return pager
    if program == "cat" or not shutil.which(program, path=environ.get("PATH")):
        return None
    return pager


def _known_details(article: ArticleRecord) -> list[tuple[str, str]]:
    """The url, author, language, format and fetched time that are known, for `show`."""
    return [(name, value) for name, value in as_dict(article.details).items() if value]


# A cell's eighths, for bars drawn to an eighth of a character.
_PARTIAL_BLOCKS = " ▏▎▍▌▋▊▉"


def _bar(count: int, largest: int, width: int) -> str:
    """count's share of width cells, largest filling them all; any count gets at least an eighth."""
    if not count:
        return ""
    eighths = max(1, round(width * 8 * count / largest))
    full, rest = divmod(eighths, 8)
    return "█" * full + (_PARTIAL_BLOCKS[rest] if rest else "")


def print_timeline(timeline, out, fmt: str) -> None:
    """Counts per period; undated matches are a row of their own, labelled `undated`. With the
    volumes of a share, each row also has all articles of its period and the percentage."""
    rows = list(timeline.periods) + ([("undated", timeline.undated)] if timeline.undated else [])
    columns = ("period", "count")
    if timeline.volumes is not None:
        volumes = timeline.volumes + ([timeline.undated_volume] if timeline.undated else [])
        rows = [(period, count, volume, share_cell(count, volume)) for (period, count), volume in zip(rows, volumes)]
        columns += SHARE_COLUMNS
    if fmt == "json":
        for row in rows[: len(timeline.periods)]:
            out.write(json_line({"type": "period", **dict(zip(columns, row))}))
        summary = {"type": "summary", "query": timeline.query, "by": timeline.by, "total": timeline.total,
                   "undated": timeline.undated}
        if timeline.volumes is not None:
            summary.update(zip(SHARE_COLUMNS, timeline_share_totals(timeline)))
        out.write(json_line(summary))
    elif fmt == "human":
        print_timeline_chart(timeline, rows, _rich_console(out))
    else:
        write_rows(out, fmt, columns, rows)


# With --share: all articles of the period or the source, and the matches' percentage of them.
SHARE_COLUMNS = ("all", "share")


def share_cell(count: int, volume: int) -> float | None:
    """The percentage, to four decimals, as the machine formats carry it; None (empty) for no volume."""
    from archsearch.coverage import share

    percentage = share(count, volume)
    return None if percentage is None else round(percentage, 4)


def share_text(count: int, volume: int) -> str:
    percentage = share_cell(count, volume)
    return "-" if percentage is None else f"{percentage:.1f}%"


def timeline_share_totals(timeline) -> tuple[int, float | None]:
    volume = sum(timeline.volumes) + timeline.undated_volume
    return volume, share_cell(timeline.total, volume)


def print_timeline_chart(timeline, rows, console) -> None:
    """A row per period: its name, its count and a bar as wide as the terminal allows. The undated
    count is shown apart, without a bar: it is no period, and often dwarfs them all. Weeks read as
    their Monday and ISO number. With a share, the row reads `12.5% 3/24` and the bar is the share."""
    from rich.text import Text

    from archsearch.coverage import period_label

    with_share = timeline.volumes is not None
    period_rows = rows[: len(timeline.periods)]
    if with_share:
        figures = [f"{share_text(count, volume)} {count}/{volume}" for _, count, volume, _ in rows]
        sizes = [percentage or 0 for _, _, _, percentage in period_rows]
    else:
        figures = [str(count) for _, count in rows]
        sizes = [count for _, count in period_rows]
    periods = [(period_label(row[0], timeline.by), figure) for row, figure in zip(period_rows, figures)]
    label_width = max((len(period) for period, _ in periods + [("undated", "")] * bool(timeline.undated)), default=0)
    figure_width = max((len(figure) for figure in figures), default=0)
    bar_width = max(10, console.width - label_width - figure_width - 2)
    largest = max(sizes, default=0)
    lines = [
        Text.assemble(f"{period:<{label_width}} {figure:>{figure_width}} ", (_bar(size, largest, bar_width), "cyan"))
        for (period, figure), size in zip(periods, sizes)
    ]
    if timeline.undated:
        lines.append(Text(f"{'undated':<{label_width}} {figures[-1]:>{figure_width}}", style="dim"))
    if lines:
        console.print(Text("\n").join(lines), no_wrap=True, overflow="crop")
    summary = f"{timeline.total} matching articles, {timeline.undated} undated, by {timeline.by}"
    if with_share:
        volume, _ = timeline_share_totals(timeline)
        summary += f"; {share_text(timeline.total, volume)} of {volume} articles"
    console.print(Text(summary, style="dim"))


def print_facets(facets, out, fmt: str) -> None:
    """Counts per source, place and language; with the volumes of a share, each row also has all
    articles of that name in the date window and the percentage."""
    groups = (("source", facets.sources), ("place", facets.places), ("language", facets.languages))
    columns = ("kind", "name", "count")
    rows = [(kind, name, count) for kind, counts in groups for name, count in counts]
    if facets.volumes is not None:
        columns += SHARE_COLUMNS
        rows = [
            (kind, name, count, volume, share_cell(count, volume))
            for kind, name, count in rows for volume in [facets.volumes[kind][name]]
        ]
    if fmt == "json":
        for kind, *row in rows:
            out.write(json_line({"type": kind, **dict(zip(columns[1:], row))}))
        summary = {"type": "summary", "query": facets.query, "total": facets.total}
        if facets.volumes is not None:
            summary.update(zip(SHARE_COLUMNS, (facets.volume, share_cell(facets.total, facets.volume))))
        out.write(json_line(summary))
    elif fmt == "human":
        from rich.columns import Columns
        from rich.table import Table
        from rich.text import Text

        tables = []
        for kind, _ in groups:
            kind_rows = [row for row in rows if row[0] == kind]
            table = Table(title=f"{kind}s", title_justify="left", box=None, padding=(0, 1))
            table.add_column(kind, style="yellow")
            table.add_column("articles", justify="right")
            if facets.volumes is not None:
                table.add_column("share", justify="right")
                table.add_column("of all", justify="right")
            table.add_column("")
            # With a share the bars compare the shares, which the counts would hide.
            sizes = [share_cell(row[2], row[3]) or 0 if facets.volumes is not None else row[2] for row in kind_rows]
            largest = max(sizes, default=0)
            for row, size in zip(kind_rows, sizes):
                # Text, never a str: rich would read `[red]` or `[/]` in a name as markup.
                cells = [Text(printable_name(row[1])), Text(str(row[2]))]
                if facets.volumes is not None:
                    cells += [Text(share_text(row[2], row[3])), Text(str(row[3]))]
                table.add_row(*cells, Text(_bar(size, largest, 20), style="cyan"))
            tables.append(table)
        console = _rich_console(out)
        console.print(Columns(tables, padding=(0, 4)))
        summary = f"{facets.total} matching articles"
        if facets.volumes is not None:
            summary += f", {share_text(facets.total, facets.volume)} of {facets.volume} in the window"
        console.print(Text(summary, style="dim"))
    else:
        write_rows(out, fmt, columns, rows)


OCCURRENCE_COLUMNS = ("id", "path", "date", "source", "word", "char", "left", "match", "right")


def occurrence_row(occurrence) -> list:
    date = occurrence.date.isoformat() if occurrence.date else None
    return [occurrence.id, occurrence.path, date, occurrence.source, occurrence.word, occurrence.char,
            occurrence.left, occurrence.match, occurrence.right]


def print_concordance(concordance, out, err, fmt: str) -> None:
    """One occurrence per line or record; the human and plain formats head each article's lines with
    its date, source and id and line the matches up in one column."""
    if fmt == "json":
        for occurrence in concordance.occurrences:
            record = dict(zip(OCCURRENCE_COLUMNS, occurrence_row(occurrence)))
            out.write(json_line({"type": "occurrence", **record, **path_fields(occurrence.path)}))
        out.write(json_line({
            "type": "summary", "query": concordance.query, "width": concordance.width,
            "occurrences": len(concordance.occurrences), "articles": concordance.articles,
            "total": concordance.total, "elapsed_ms": round(concordance.elapsed * 1000, 3),
        }))
    elif fmt == "tsv":
        out.write(tsv_line(OCCURRENCE_COLUMNS))
        out.write("".join(tsv_line(occurrence_row(occurrence)) for occurrence in concordance.occurrences))
    elif fmt in CSV_FORMATS:
        write_csv(out, fmt, OCCURRENCE_COLUMNS, map(occurrence_row, concordance.occurrences))
    else:
        _print_concordance_lines(concordance, out, err, fmt == "human")


def _print_concordance_lines(concordance, out, err, colour: bool) -> None:
    occurrences = [(o, printable(o.left), printable(o.match), printable(o.right)) for o in concordance.occurrences]
    # A match at a word's start after no space (a quote, a bracket) stays one column right of its
    # left context, as after a space, so the matches line up.
    occurrences = [(o, left if left[-1:].isspace() else left + " ", match, right) for o, left, match, right in occurrences]
    left_width = max((len(left) for _, left, _, _ in occurrences), default=0)
    console = _rich_console(out) if colour else None
    if console:
        # A terminal shows the matches in its middle column: longer left contexts lose their start.
        longest_match = max((len(match) for _, _, match, _ in occurrences), default=0)
        left_width = min(left_width, max(10, (console.width - longest_match) // 2 - 1))
    rows, article = [], None  # an article's metadata, or an occurrence's (left, match, right)
    for occurrence, left, match, right in occurrences:
        if occurrence.path != article:
            article = occurrence.path
            rows += [None] * bool(rows) + [occurrence]
        if len(left) > left_width:
            left = "…" + left[len(left) - left_width + 1:]
        rows.append((f"{left:>{left_width}}", match, right))
    if not console:
        out.write("".join(_plain_concordance_row(row) for row in rows))
        return
    from rich.text import Text

    lines = [
        Text("") if row is None
        else Text.assemble(row[0], (row[1], "bold red"), row[2]) if isinstance(row, tuple)
        else metadata_text(row.date, row.source, "", row.id)
        for row in rows
    ]
    if lines:
        console.print(Text("\n").join(lines), no_wrap=True, overflow="crop")
    _rich_console(err).print(Text(_concordance_summary(concordance), style="dim"))


def _plain_concordance_row(row) -> str:
    if row is None:
        return "\n"
    if isinstance(row, tuple):
        return f"{row[0]}{PLAIN_MATCH_OPEN}{row[1]}{PLAIN_MATCH_CLOSE}{row[2]}".rstrip() + "\n"
    return " · ".join(metadata_parts(row.date, row.source, "", row.id)) + "\n"


def _concordance_summary(concordance) -> str:
    return (
        f"{len(concordance.occurrences)} occurrences in {concordance.articles} of {concordance.total}"
        f" matching articles ({concordance.elapsed * 1000:.0f} ms)"
    )


TERM_COLUMNS = ("rank", "term", "score", "matching", "all", "index_term")


def term_rows(key_terms) -> list[tuple]:
    return [
        (rank, term.term, round(term.score, 3), term.matching, term.all, term.index_term)
        for rank, term in enumerate(key_terms.terms, start=1)
    ]


def print_key_terms(key_terms, out, err, fmt: str) -> None:
    """The key terms best first: score (G²), matching articles holding it, all articles holding it."""
    rows = term_rows(key_terms)
    if fmt == "json":
        for row in rows:
            out.write(json_line({"type": "term", **dict(zip(TERM_COLUMNS, row))}))
        out.write(json_line({
            "type": "summary", "query": key_terms.query, "statistic": "G2", "matching": key_terms.matching,
            "all": key_terms.all, "shown": len(rows), "elapsed_ms": round(key_terms.elapsed * 1000, 3),
        }))
    elif fmt in CSV_FORMATS:
        write_csv(out, fmt, TERM_COLUMNS, rows)
    elif fmt == "human":
        from rich.table import Table
        from rich.text import Text

        table = Table(box=None, padding=(0, 1))
        for heading in ("", "term", "G²", "matching", "all"):
            table.add_column(heading, justify="left" if heading == "term" else "right")
        for rank, term, score, matching, every, _ in rows:
            table.add_row(Text(str(rank), style="cyan"), Text(printable(term), style="bold"), Text(f"{score:.1f}"),
                          Text(str(matching)), Text(str(every), style="dim"))
        _rich_console(out).print(table)
        _rich_console(err).print(Text(
            f"key terms of {key_terms.matching} matching articles against all {key_terms.all}"
            f" (Dunning's log-likelihood G²; {key_terms.elapsed * 1000:.0f} ms)", style="dim",
        ))
    else:
        if fmt == "tsv":
            out.write(tsv_line(TERM_COLUMNS))
        out.write("".join(tsv_line(row) for row in rows))


def stats_rows(stats) -> list[tuple[str, str]]:
    return [
        ("articles", f"{stats.articles}"),
        ("dated", f"{stats.dated}"),
        ("undated", f"{stats.articles - stats.dated}"),
        ("first date", stats.first_date.isoformat() if stats.first_date else ""),
        ("last date", stats.last_date.isoformat() if stats.last_date else ""),
        ("sources", f"{stats.sources}"),
        ("places", f"{stats.places}"),
        ("languages", ", ".join(f"{language} {count}" for language, count in stats.languages)),
        ("index", stats.location),
        ("index size", "" if stats.size_bytes is None else f"{stats.size_bytes}"),
        ("last indexed", stats.last_indexed.isoformat(timespec="seconds") if stats.last_indexed else ""),
        *(("folder", folder) for folder in stats.folders),
        *(
            ("shard", f"{address} ({'left out: down' if articles is None else f'{articles} articles'})")
            for address, articles in stats.shards
        ),
    ]


def print_stats(stats, out, fmt: str) -> None:
    if fmt == "json":
        out.write(json_line({
            "type": "stats",
            "articles": stats.articles,
            "dated": stats.dated,
            "undated": stats.articles - stats.dated,
            "first_date": stats.first_date.isoformat() if stats.first_date else None,
            "last_date": stats.last_date.isoformat() if stats.last_date else None,
            "sources": stats.sources,
            "places": stats.places,
            "languages": dict(stats.languages),
            "index": stats.location,
            "index_size_bytes": stats.size_bytes,
            "last_indexed": stats.last_indexed.isoformat(timespec="seconds") if stats.last_indexed else None,
            "folders": stats.folders,
            **({"shards": [{"address": address, "articles": articles} for address, articles in stats.shards]}
               if stats.shards else {}),
        }))
    elif fmt == "human":
        from rich.table import Table
        from rich.text import Text

        table = Table(box=None, show_header=False, padding=(0, 2))
        for name, value in stats_rows(stats):
            if name == "index size":
                value = "unknown" if stats.size_bytes is None else f"{stats.size_bytes / 1024 ** 2:.1f} MiB"
            table.add_row(Text(name, style="bold"), Text(printable_name(value)))
        _rich_console(out).print(table)
    else:
        write_rows(out, fmt, ("name", "value"), stats_rows(stats))


# Without --verbose, an index run lists at most this many skipped files and warnings.
INDEX_PROBLEMS_SHOWN = 10


def print_index_report(report: IndexReport, err=None, verbose: bool = False) -> None:
    err = err or sys.stderr
    problems = [f"archsearch: skipped {printable_name(path)}: {printable(reason)}" for path, reason in report.skipped]
    problems += [
        f"archsearch: warning: {printable_name(path)}: {printable(message)}" for path, message in report.warnings
    ]
    shown = problems if verbose else problems[:INDEX_PROBLEMS_SHOWN]
    for line in shown:
        err.write(line + "\n")
    hidden = len(problems) - len(shown)
    if hidden:
        err.write(f"archsearch: {hidden:,} more skipped files and warnings not shown\n")
    err.write(
        f"added {report.added:,}, updated {report.updated:,}, removed {report.removed:,}, "
        f"unchanged {report.unchanged:,}, skipped {len(report.skipped):,}{' (see --verbose)' if hidden else ''}"
        # A first run that made no index has none to count (the command says so next).
        + ("\n" if report.discarded else f"; {report.total:,} articles in the index\n")
    )


class IndexProgressDisplay:
    """update_index's progress callback: a bar on a terminal, a line per changed file if verbose.

    Use as a context manager: the bar is taken down on exit.
    """

    def __init__(self, err=None, *, bar: bool, verbose: bool, quiet: bool):
        self.err = err or sys.stderr
        self.bar = bar and not quiet
        self.verbose = verbose
        self.quiet = quiet
        self._progress = None
        self._task = None

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        if self._progress:
            self._progress.stop()

    def __call__(self, event) -> None:
        if event.stage == "waiting" and not self.quiet:
            self._say(f"archsearch: waiting for another 'archsearch index' ({event.holder}) to finish")
        if self.verbose and event.outcome in ("added", "updated", "removed"):
            self._say(f"{event.outcome} {printable_name(event.path)}")
        if self.bar and event.stage in ("scanning", "indexing", "committing"):
            self._show(event)

    def _say(self, line: str) -> None:
        if self._progress:
            self._progress.console.print(line, markup=False, highlight=False)
        else:
            self.err.write(line + "\n")
            self.err.flush()

    def _show(self, event) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        if self._progress is None:
            self._progress = Progress(
                TextColumn("{task.description:<10}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[rate]}"),
                TimeRemainingColumn(),
                console=Console(file=self.err),
                transient=True,
            )
            self._progress.start()
            self._task = self._progress.add_task("", total=None, rate="")
        task = self._progress.tasks[0]
        if event.stage == "scanning":
            self._progress.update(self._task, description="scanning", completed=event.done, total=None)
        elif task.total is None:  # scanning is over: counting starts again, for files read
            self._progress.reset(self._task, description=event.stage, completed=event.done, total=event.total)
        else:
            rate = f"{task.speed:,.0f} files/s" if task.speed else ""
            self._progress.update(self._task, description=event.stage, completed=event.done, rate=rate)
