"""Showing results: rich and coloured for a person at a terminal, plain and stable in a pipe."""

import sys

from archsearch.indexing import IndexReport
from archsearch.searching import Hit, SearchResult

# How matched words are marked in plain output, where there is no colour.
PLAIN_MATCH_OPEN = "**"
PLAIN_MATCH_CLOSE = "**"


def metadata_line(hit: Hit, explain: bool = False) -> str:
    parts = [hit.date.isoformat() if hit.date else "undated"]
    parts += [value for value in (hit.source, hit.place, hit.id) if value]
    if explain:
        parts.append(score_text(hit))
    return " · ".join(parts)


def mark_matches(text: str, matches, open_mark: str, close_mark: str) -> str:
    pieces = []
    cursor = 0
    for start, end in matches:
        pieces += [text[cursor:start], open_mark, text[start:end], close_mark]
        cursor = end
    pieces.append(text[cursor:])
    return "".join(pieces)


def snippet_display(snippet) -> tuple[str, str]:
    """Ellipses that tell whether the passage starts and ends inside the text."""
    return ("…" if snippet.start > 0 else ""), "…"


def score_text(hit: Hit) -> str:
    return f"score {hit.score:.3f}" if hit.score is not None else "score not computed (sorted by date)"


def plain_hit_lines(hit: Hit, explain: bool = False) -> list[str]:
    lines = [
        f"{hit.rank}. {mark_matches(hit.title, hit.title_matches, PLAIN_MATCH_OPEN, PLAIN_MATCH_CLOSE)}",
        f"   {metadata_line(hit, explain)}",
    ]
    for snippet in hit.snippets:
        before, after = snippet_display(snippet)
        marked = mark_matches(snippet.text, snippet.matches, PLAIN_MATCH_OPEN, PLAIN_MATCH_CLOSE)
        lines.append(f"   {before}{marked}{after}")
    return lines


def print_search_result(result: SearchResult, out=None, err=None, explain: bool = False) -> None:
    out = out or sys.stdout
    err = err or sys.stderr
    if explain:
        err.write("".join(f"archsearch: {line}\n" for line in result.explanation))
    if out.isatty():
        print_human(result, out, err, explain)
    else:
        for index, hit in enumerate(result.hits):
            if index:
                out.write("\n")
            out.write("\n".join(plain_hit_lines(hit, explain)) + "\n")
    print_result_notes(result, err)


def print_result_notes(result: SearchResult, err) -> None:
    if result.total == 0 and result.partial_matches:
        err.write(
            f"archsearch: no article matches all words; {result.partial_matches} match some of them"
            " (try --any)\n"
        )
    if result.undated_left_out:
        err.write(
            f"archsearch: {result.undated_left_out} undated article(s) matched but were left out by the date"
            " filter (add --undated to include them)\n"
        )


def print_human(result: SearchResult, out, err, explain: bool = False) -> None:
    from rich.console import Console
    from rich.padding import Padding
    from rich.text import Text

    console = Console(file=out, highlight=False)
    for hit in result.hits:
        title = Text.assemble((f"{hit.rank:>2}  ", "bold cyan"))
        title.append_text(highlighted(Text, hit.title, hit.title_matches, "bold"))
        console.print(title)
        meta = Text(hit.date.isoformat() if hit.date else "undated", style="green" if hit.date else "dim")
        for value, style in ((hit.source, "yellow"), (hit.place, "yellow"), (hit.id, "magenta")):
            if value:
                meta.append(" · ", style="dim")
                meta.append(value, style=style)
        if explain:
            meta.append(f" · {score_text(hit)}", style="dim")
        console.print(Padding(meta, (0, 0, 0, 4)))
        for snippet in hit.snippets:
            before, after = snippet_display(snippet)
            line = Text(before)
            line.append_text(highlighted(Text, snippet.text, snippet.matches, ""))
            line.append(after)
            console.print(Padding(line, (0, 0, 0, 4)))
        console.print()
    shown = len(result.hits)
    summary = f"{shown} of {result.total} matching articles" if shown < result.total else f"{shown} matching articles"
    Console(file=err, highlight=False).print(Text(summary, style="dim"))


def highlighted(text_class, text: str, matches, base_style: str):
    rich_text = text_class(text, style=base_style)
    for start, end in matches:
        rich_text.stylize("bold red", start, end)
    return rich_text


def print_index_report(report: IndexReport, err=None) -> None:
    err = err or sys.stderr
    for path, reason in report.skipped:
        err.write(f"archsearch: skipped {path}: {reason}\n")
    for path, message in report.warnings:
        err.write(f"archsearch: warning: {path}: {message}\n")
    err.write(
        f"added {report.added:,}, updated {report.updated:,}, removed {report.removed:,}, "
        f"unchanged {report.unchanged:,}, skipped {len(report.skipped):,}; "
        f"{report.total:,} articles in the index\n"
    )
