"""`archsearch browse`: the Textual app. It draws what session.py computes and maps keys to it.

Searching runs in a worker thread, a moment after the last key typed, so typing never waits
for the index; a result that a newer query has overtaken is dropped.
"""

import subprocess
from pathlib import Path

from rich.text import Text
from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import DataTable, Footer, Input, OptionList, Static
from textual.widgets.option_list import Option
from textual.worker import get_current_worker

from archsearch.browser.session import FACET_KINDS, UNKNOWN, Filter, Preview, Results, Session, facet_choices
from archsearch.errors import ArchsearchError
from archsearch.opening import editor_command, opener_command, run_editor, start_detached
from archsearch.searching import Hit

# Seconds after the last key before the query runs: long enough not to search every prefix of a
# word typed at speed, short enough to feel immediate.
TYPING_PAUSE = 0.3

MATCH_STYLE = "bold black on yellow"
PARTIAL_BLOCKS = " ▏▎▍▌▋▊▉█"


class FacetScreen(ModalScreen):
    """The sources, places and years of the current results; Enter narrows the results to one."""

    BINDINGS = [Binding("escape", "dismiss", "Back")]

    def __init__(self, results: Results, active: list[Filter]):
        super().__init__()
        self._results = results
        self._active = set(active)

    def compose(self) -> ComposeResult:
        options = []
        choices = facet_choices(self._results)
        for kind in FACET_KINDS:
            of_kind = [choice for choice in choices if choice[0] == kind]
            options.append(Option(Text(f"{kind}s", style="bold underline"), disabled=True))
            if not of_kind:
                options.append(Option(Text("  none", style="dim"), disabled=True))
            for _, value, count in of_kind:
                chosen = Filter(kind, value) in self._active
                unusable = value == UNKNOWN or chosen
                label = Text(f"  {value}  ", style="dim" if unusable else "")
                label.append(f"{count:,}" + ("  (applied)" if chosen else ""), style="dim")
                options.append(Option(label, id=f"{kind}\t{value}", disabled=unusable))
        yield OptionList(*options, id="facet-list")

    def on_mount(self) -> None:
        self.query_one(OptionList).border_title = "Narrow to (Enter), Esc to go back"

    @on(OptionList.OptionSelected)
    def choose(self, event: OptionList.OptionSelected) -> None:
        kind, value = event.option_id.split("\t", 1)
        self.dismiss(Filter(kind, value))


class TimelineChart(Static):
    """Matches per period as bars, drawn again whenever its width changes."""

    def show(self, periods: list[tuple[str, int]], undated: int, empty: str) -> None:
        self._periods, self._undated, self._empty = periods, undated, empty
        self.update(self._chart())

    def on_resize(self) -> None:
        if hasattr(self, "_periods"):
            self.update(self._chart())

    def _chart(self) -> Text:
        if not self._periods:
            return Text(self._empty + (f"; undated: {self._undated:,}" if self._undated else ""), style="dim")
        largest = max(count for _, count in self._periods) or 1
        label_width = max(len(period) for period, _ in self._periods)
        count_width = len(f"{largest:,}")
        bar_width = max(4, (self.size.width or 34) - label_width - count_width - 3)
        text = Text()
        for period, count in self._periods:
            text.append(f"{period:<{label_width}} ", style="dim")
            text.append(bar(count, largest, bar_width), style="cyan")
            text.append(f" {count:>{count_width},}\n")
        if self._undated:
            text.append(f"undated: {self._undated:,} (not drawn)", style="dim")
        return text


class BrowseApp(App):
    """Search as you type, the hits, a highlighted preview, facets and the timeline."""

    TITLE = "archsearch browse"
    CSS = """
    #search { height: 3; }
    #status { height: 1; padding: 0 1; color: $text-muted; }
    #hits { height: 2fr; }
    #lower { height: 3fr; }
    #preview-pane { width: 1fr; border: round $primary-darken-2; padding: 0 1; }
    #preview-pane:focus { border: round $accent; }
    #timeline-pane { width: 32%; max-width: 40; min-width: 26; border: round $primary-darken-2; padding: 0 1; }
    FacetScreen { align: center middle; }
    #facet-list { width: 60; height: 80%; border: round $accent; }
    """
    BINDINGS = [
        Binding("slash", "focus_search", "Search"),
        Binding("f", "facets", "Facets"),
        Binding("x", "clear_filters", "Clear filters"),
        Binding("o", "open", "Open"),
        Binding("e", "edit", "Edit"),
        Binding("n", "next_match", "Next match"),
        Binding("p", "previous_match", "Previous match", show=False),
        Binding("c", "copy_path", "Copy path"),
        Binding("s", "export", "Save CSV"),
        Binding("escape", "back", "Back", show=False),
        Binding("down", "to_hits", "Hits", show=False),
        Binding("q", "quit", "Quit"),
        Binding("ctrl+c", "quit", "Quit", show=False, priority=True),  # Textual's own is ctrl+q
    ]

    def __init__(self, session: Session, text: str = "", export_folder: Path | None = None):
        super().__init__()
        self.session = session
        self.initial_text = text
        self.export_folder = export_folder or Path.cwd()
        self.results: Results | None = None
        self.filters: list[Filter] = []
        self._title_width = 40  # set to fit the screen when it is laid out
        self._pending_search = None
        self._preview_text = Text()
        self._match_offsets: list[int] = []  # where the body's matches start in the preview's text
        self._match_index: int | None = None  # the match last scrolled to

    def compose(self) -> ComposeResult:
        hint = 'Search: words, "phrases", OR, -word, source:, date:2021..'
        yield Input(value=self.initial_text, placeholder=hint, id="search")
        yield Static("", id="status")
        yield DataTable(id="hits", cursor_type="row", zebra_stripes=True)
        with Horizontal(id="lower"):
            with VerticalScroll(id="preview-pane"):
                yield Static("", id="preview")
            with VerticalScroll(id="timeline-pane"):
                yield TimelineChart(id="timeline")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#preview-pane").border_title = "Article"
        self.query_one("#timeline-pane").border_title = "Timeline"
        self._set_columns()
        if self.initial_text.strip():
            self.start_search()
        else:
            self._show_status("Type a query. Enter or ↓ goes to the hits; / comes back here.")

    # Searching ---------------------------------------------------------------------------------

    @on(Input.Changed, "#search")
    def typed(self) -> None:
        if self._pending_search is not None:
            self._pending_search.stop()
        self._pending_search = self.set_timer(TYPING_PAUSE, self.start_search)

    @on(Input.Submitted, "#search")
    def submitted(self) -> None:
        self.query_one("#hits", DataTable).focus()

    def start_search(self) -> None:
        self._pending_search = None
        text = self.query_one("#search", Input).value
        if not text.strip():
            self._show_results(None)
            return
        self._show_status("searching…")
        self.run_search(text, list(self.filters))

    @work(thread=True, exclusive=True, group="search")
    def run_search(self, text: str, filters: list[Filter]) -> None:
        try:
            results = self.session.run(text, filters)
        except ArchsearchError as exc:
            if not get_current_worker().is_cancelled:
                self.call_from_thread(self._show_status, f"{exc}", True)
            return
        if not get_current_worker().is_cancelled:
            self.call_from_thread(self._show_results, results)

    def _show_results(self, results: Results | None) -> None:
        self.results = results
        table = self._fill_table()
        self._show_status(self._summary())
        self._show_timeline()
        if results and results.search.hits:
            table.move_cursor(row=0)
            self.show_preview(results.search.hits[0])
        else:
            self.query_one("#preview", Static).update("")

    def _summary(self) -> str:
        if self.results is None:
            return "Type a query."
        found = self.results.search
        parts = [f"{found.total:,} article{'s' if found.total != 1 else ''}"]
        if len(found.hits) < found.total:
            parts.append(f"{len(found.hits):,} listed")
        if self.filters:
            parts.append("narrowed to " + ", ".join(item.label() for item in self.filters) + " (x clears)")
        if found.suggestion:
            parts.append(f"did you mean: {found.suggestion} ({found.suggestion_total:,})")
        parts += [f"warning: {warning}" for warning in self.results.warnings]
        return " · ".join(parts)

    def _show_status(self, message: str, error: bool = False) -> None:
        self.query_one("#status", Static).update(Text(message, style="bold red" if error else ""))

    # The hit list ------------------------------------------------------------------------------

    FIXED_COLUMNS = (("#", 4), ("Date", 10), ("Source", 18), ("Copies", 6))

    def _set_columns(self) -> None:
        table = self.query_one("#hits", DataTable)
        table.clear(columns=True)
        # every column takes 2 cells of padding, and the scroll bar 2 more
        title_width = max(20, self.size.width - sum(width + 2 for _, width in self.FIXED_COLUMNS) - 4)
        table.add_column("#", width=4, key="rank")
        table.add_column("Title", width=title_width, key="title")
        for label, width in self.FIXED_COLUMNS[1:]:
            table.add_column(label, width=width, key=label.lower())
        self._title_width = title_width

    def on_resize(self) -> None:
        if self.is_mounted:
            row = self.query_one("#hits", DataTable).cursor_row
            self._set_columns()
            self._fill_table().move_cursor(row=row)

    def _fill_table(self) -> DataTable:
        table = self.query_one("#hits", DataTable)
        table.clear()
        for hit in self.results.search.hits if self.results else []:
            table.add_row(*self._row(hit), key=hit.id)
        return table

    def _row(self, hit: Hit) -> list:
        return [
            Text(str(hit.rank), style="dim", justify="right"),
            shorten(hit.title or hit.id, self._title_width),
            hit.date.isoformat() if hit.date else Text("undated", style="dim"),
            shorten(hit.source, 18),
            Text(f"+{len(hit.copies)}" if hit.copies else "", justify="right"),
        ]

    def current_hit(self) -> Hit | None:
        table = self.query_one("#hits", DataTable)
        if self.results is None or not self.results.search.hits or table.row_count == 0:
            return None
        return self.results.search.hits[table.cursor_row]

    @on(DataTable.RowHighlighted, "#hits")
    def highlighted(self, event: DataTable.RowHighlighted) -> None:
        hit = self.current_hit()
        if hit is not None:
            self.show_preview(hit)

    @on(DataTable.RowSelected, "#hits")
    def selected(self) -> None:
        self.query_one("#preview-pane").focus()

    # The preview -------------------------------------------------------------------------------

    def show_preview(self, hit: Hit) -> None:
        self.load_preview(hit, self.results.terms if self.results else {})

    @work(thread=True, exclusive=True, group="preview")
    def load_preview(self, hit: Hit, terms) -> None:
        try:
            preview = self.session.preview(hit, terms)
        except ArchsearchError as exc:
            self.call_from_thread(self.query_one("#preview", Static).update, Text(str(exc), style="red"))
            return
        if not get_current_worker().is_cancelled:
            self.call_from_thread(self._draw_preview, hit, preview)

    def _draw_preview(self, hit: Hit, preview: Preview) -> None:
        article = preview.article
        text = highlighted(article.title or article.id, preview.title_matches, "bold")
        day = article.date.isoformat() if article.date else "undated"
        details = [day, article.source, article.place, article.section]
        text.append("\n" + " · ".join(part for part in details if part) + "\n", style="dim")
        text.append(article.id + ("  (+" + ", ".join(hit.copies) + ")" if hit.copies else "") + "\n\n", style="dim")
        self._match_offsets = [len(text) + start for start, _ in preview.body_matches]
        text.append_text(highlighted(article.body, preview.body_matches, ""))
        self._preview_text = text
        self.query_one("#preview", Static).update(text)
        pane = self.query_one("#preview-pane", VerticalScroll)
        pane.border_title = f"Article {hit.rank}"
        matches = len(preview.body_matches)
        pane.border_subtitle = f"{matches} match{'es' if matches > 1 else ''} (n next)" if matches else ""
        pane.scroll_home(animate=False)
        self._match_index = None
        if self._match_offsets:
            # once laid out, the pane's width says where the lines wrap
            self.call_after_refresh(self._show_match, 0, only_if_hidden=True)

    def _show_match(self, index: int, only_if_hidden: bool = False) -> None:
        """Scrolls the article to its index-th match, two lines below the top of the pane."""
        pane = self.query_one("#preview-pane", VerticalScroll)
        width = self.query_one("#preview", Static).size.width
        if not width:
            return
        line = line_of(self._preview_text, self._match_offsets[index], width)
        if only_if_hidden and line < pane.size.height - 1:
            return
        self._match_index = index
        pane.scroll_to(y=max(0, line - 2), animate=False)
        pane.border_subtitle = f"match {index + 1} of {len(self._match_offsets)} (n next, p previous)"

    # The timeline ------------------------------------------------------------------------------

    def _show_timeline(self) -> None:
        chart = self.query_one("#timeline", TimelineChart)
        if self.results is None:
            chart.show([], 0, "")
        else:
            chart.show(self.results.timeline, self.results.undated, "no dated matches")

    # Keys --------------------------------------------------------------------------------------

    def action_focus_search(self) -> None:
        self.query_one("#search", Input).focus()

    def action_next_match(self) -> None:
        self._step_match(+1)

    def action_previous_match(self) -> None:
        self._step_match(-1)

    def _step_match(self, step: int) -> None:
        if not self._match_offsets:
            return
        current = self._match_index if self._match_index is not None else (-1 if step > 0 else 0)
        self._show_match((current + step) % len(self._match_offsets))

    def action_to_hits(self) -> None:
        """↓ in the search box goes down to the hits (the hits and the panes use ↓ themselves)."""
        if self.focused is self.query_one("#search", Input):
            self.query_one("#hits", DataTable).focus()

    def action_back(self) -> None:
        if self.focused is self.query_one("#preview-pane"):
            self.query_one("#hits", DataTable).focus()

    def action_facets(self) -> None:
        if self.results is None:
            self.notify("Search first: facets narrow the results of a query.", severity="warning")
            return
        self.push_screen(FacetScreen(self.results, self.filters), self._narrow)

    def _narrow(self, chosen: Filter | None) -> None:
        if chosen is not None and chosen not in self.filters:
            self.filters.append(chosen)
            self.start_search()

    def action_clear_filters(self) -> None:
        if self.filters:
            self.filters.clear()
            self.start_search()

    def action_open(self) -> None:
        hit = self.current_hit()
        if hit is None:
            return
        try:
            start_detached(opener_command(hit.details.url or hit.path))
        except ArchsearchError as exc:
            self.notify(f"{exc}; or press e for $EDITOR.", severity="error")
            return
        self.notify(f"Opened {hit.id}")

    def action_edit(self) -> None:
        from textual.app import SuspendNotSupported

        hit = self.current_hit()
        if hit is None:
            return
        try:
            command = editor_command(hit.path)
            try:
                with self.suspend():
                    run_editor(command)
            except SuspendNotSupported:  # no terminal to hand over (a test, a web driver)
                run_editor(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        except ArchsearchError as exc:
            self.notify(str(exc), severity="error")

    def action_copy_path(self) -> None:
        hit = self.current_hit()
        if hit is not None:
            self.copy_to_clipboard(hit.path)
            self.notify(f"Copied {hit.path}")

    def action_export(self) -> None:
        if self.results is None:
            self.notify("Nothing to save yet: search first.", severity="warning")
            return
        try:
            path = self.session.export_csv(self.results, self.export_folder)
        except (ArchsearchError, OSError) as exc:
            self.notify(f"Cannot save the CSV: {exc}", severity="error")
            return
        self.notify(f"Saved {self.results.search.total:,} articles to {path.name}", title="CSV")


def highlighted(text: str, matches, style: str) -> Text:
    rich_text = Text(text, style=style)
    for start, end in matches:
        rich_text.stylize(MATCH_STYLE, start, end)
    return rich_text


def line_of(text: Text, offset: int, width: int) -> int:
    """The line, counting from 0, on which `offset` of `text` falls when wrapped to `width` cells
    as Textual wraps it."""
    from textual.content import Content

    return max(0, len(Content.from_rich_text(text[:offset]).wrap(width)) - 1)


def shorten(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def bar(count: int, largest: int, width: int) -> str:
    """A bar of `count` out of `largest` in `width` cells, in eighths of a cell."""
    eighths = round(count / largest * width * 8)
    whole, part = divmod(eighths, 8)
    return "█" * whole + (PARTIAL_BLOCKS[part] if part else "")
