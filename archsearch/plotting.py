"""Charts to publish: a coverage.Timeline drawn with matplotlib (the `plot` extra) as SVG or PNG.

matplotlib is imported only here, and only when a chart is drawn: it takes most of a second to
load, and `timeline --plot` is the only thing that needs it.
"""

import os
import secrets
import textwrap
import warnings
from pathlib import Path

from archsearch.coverage import Timeline, period_label
from archsearch.errors import ArchsearchError

FORMATS = {".svg": "svg", ".png": "png"}

EXTRA_MISSING = "charts need matplotlib, which is not installed: pip install 'archsearch[plot]'"

# Fonts tried after matplotlib's own DejaVu Sans (Latin, Greek, Cyrillic, Arabic, Hebrew) for the
# characters it lacks, those installed only: a family that is not installed would be a warning.
FALLBACK_FONTS = (
    "Noto Sans",
    "Noto Sans CJK JP",
    "Noto Sans CJK SC",
    "Noto Sans Arabic",
    "Noto Sans Devanagari",
    "Noto Sans Thai",
    "WenQuanYi Zen Hei",
    "Droid Sans Fallback",
)

# Tick labels on the x axis at most, so that they never overlap; every bar is drawn all the same.
MOST_TICKS = 16

# Bars have this id in an SVG (`bar-2017-03`), for whoever edits the chart after us.
BAR_ID = "bar-{period}"
NOTE_ID = "undated-note"


def chart_format(path: str | os.PathLike) -> str:
    """The chart format a file name asks for, by its extension (any case)."""
    extension = Path(path).suffix.lower()
    if extension not in FORMATS:
        raise ArchsearchError(
            f"cannot tell the chart format of '{os.fspath(path)}': name the file .svg or .png"
        )
    return FORMATS[extension]


def check_plotting(path: str | os.PathLike) -> None:
    """Fails, before any search is run, if the chart could not be written: a file name of no known
    format, or matplotlib missing."""
    chart_format(path)
    _matplotlib()


def _matplotlib():
    try:
        import matplotlib
    except ImportError as exc:
        if exc.name and exc.name.split(".")[0] == "matplotlib":
            raise ArchsearchError(EXTRA_MISSING) from None
        raise
    return matplotlib


def chart_title(timeline: Timeline) -> str:
    if not timeline.periods:
        window = "no dated match"
    else:
        first, last = timeline.periods[0][0], timeline.periods[-1][0]
        labels = [period_label(first, timeline.by), period_label(last, timeline.by)]
        window = labels[0] if first == last else f"{labels[0]} to {labels[1]}"
    query = textwrap.shorten(" ".join(timeline.query.split()), width=70, placeholder=" …")
    return f"“{query}”\nmatching articles per {timeline.by}, {window}"


def undated_note(timeline: Timeline) -> str:
    dated = timeline.total - timeline.undated
    return (
        f"{_articles(timeline.total, 'matching article')}, {dated} dated; "
        f"{_articles(timeline.undated, 'undated article')}, which no {timeline.by} holds, not drawn"
    )


def _articles(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def write_timeline_chart(timeline: Timeline, path: str | os.PathLike) -> None:
    """Writes the chart to path, as a whole: a file already there is replaced only once the new
    chart is complete."""
    fmt = chart_format(path)
    matplotlib = _matplotlib()
    settings = {
        "svg.fonttype": "none",  # text stays text in an SVG: searchable, editable, in the reader's fonts
        "svg.hashsalt": "archsearch",  # the same chart gives the same file
        "text.parse_math": False,  # a query's `$` is a dollar, not mathematics
        "font.family": ["sans-serif"],
        "font.sans-serif": ["DejaVu Sans", *_installed(FALLBACK_FONTS)],
    }
    with warnings.catch_warnings(), matplotlib.rc_context(settings):
        # A character no installed font has is drawn as a box; matplotlib's warning about it says
        # nothing the user could act on.
        warnings.filterwarnings("ignore", message=r"Glyph .* missing from", category=UserWarning)
        _save(_figure(timeline), Path(path), fmt, chart_title(timeline))


def _installed(families) -> list[str]:
    from matplotlib import font_manager

    present = {font.name for font in font_manager.fontManager.ttflist}
    return [family for family in families if family in present]


def _figure(timeline: Timeline):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    figure = Figure(figsize=(10, 5.2), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)  # Agg: no display is needed, or looked for
    axes = figure.add_subplot()
    axes.set_title(chart_title(timeline), loc="left")
    axes.set_xlabel("week (its Monday and ISO number)" if timeline.by == "week" else timeline.by)
    axes.set_ylabel("matching articles")
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    axes.spines[["top", "right"]].set_visible(False)
    # Empty periods keep their place on the axis with no bar, so the gaps in coverage show.
    drawn = [(position, period, count) for position, (period, count) in enumerate(timeline.periods) if count]
    bars = axes.bar([position for position, _, _ in drawn], [count for _, _, count in drawn], width=0.8, color="#2a6f97")
    for bar, (_, period, _) in zip(bars, drawn):
        bar.set_gid(BAR_ID.format(period=period))
    if timeline.periods:
        step = -(-len(timeline.periods) // MOST_TICKS)
        positions = range(0, len(timeline.periods), step)
        labels = [period_label(timeline.periods[position][0], timeline.by) for position in positions]
        long_labels = max(map(len, labels)) > 7
        axes.set_xticks(positions, labels, rotation=35 if long_labels else 0, ha="right" if long_labels else "center")
        axes.set_xlim(-0.6, len(timeline.periods) - 0.4)
        axes.set_ylim(0, max(1, max(count for _, count in timeline.periods)) * 1.05)
    else:
        axes.set_xticks([])
        axes.set_ylim(0, 1)
    if not drawn:  # an empty chart must not look like a broken one
        axes.text(0.5, 0.5, "no dated article matches", transform=axes.transAxes, ha="center", va="center",
                  color="0.4")
    note = figure.supxlabel(undated_note(timeline), fontsize="small", color="0.3")
    note.set_gid(NOTE_ID)
    return figure


def _save(figure, path: Path, fmt: str, title: str) -> None:
    metadata = {"Title": title, "Date": None} if fmt == "svg" else {"Title": title}
    # Beside the file, so that the finished chart replaces it in one step.
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.part")
    try:
        stream = open(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666), "wb")
    except OSError as exc:
        raise ArchsearchError(f"cannot write the chart '{path}': {exc.strerror}") from None
    try:
        with stream:
            figure.savefig(stream, format=fmt, metadata=metadata)
        os.replace(temporary, path)
    except BaseException as exc:
        temporary.unlink()
        if isinstance(exc, OSError):
            raise ArchsearchError(f"cannot write the chart '{path}': {exc.strerror}") from None
        raise
