"""`archsearch browse`, driven headless by Textual's own pilot: type, move, read, narrow, export."""

import asyncio
import csv
import os
import pty
import stat
import subprocess
import sys

import pytest
from click.testing import CliRunner

# Textual is in the test extra: these tests run wherever the README's test command ran.
from archsearch.browser.app import MATCH_STYLE, BrowseApp, FacetScreen, bar
from archsearch.browser.session import Filter, Session, export_name, facet_choices
from archsearch.cli import cli
from conftest import build_index, installed_command, read_terminal, web, wire

ARTICLES = {
    "tass1.txt": wire("2016-06-01", "MOSCOW, June 1. /TASS/.", "Refugees from Syria reach Europe by sea."),
    "tass2.txt": wire("2017-01-10", "MOSCOW, January 10. /TASS/.", "Refugees in Germany wait for asylum decisions."),
    "tass3.txt": wire("2017-02-02", "MOSCOW, February 2. /TASS/.", "The refugee camps near Aleppo are full."),
    "ap1.txt": wire("2017-03-03", "ROME, March 3. /AP/.", "Italy rescues refugees at sea near Lampedusa."),
    "ap2.txt": wire("2018-04-04", "ROME, April 4. /AP/.", "Refugees protest in Rome over housing."),
    "web.txt": web("World", "Refugees return home", "Pashtun Times", "Many refugees return to Kabul this spring."),
    "other.txt": wire("2017-05-05", "KABUL, May 5. /TASS/.", "The Taliban attacked a checkpoint."),
}


@pytest.fixture
def index(tmp_path):
    return build_index(tmp_path, ARTICLES)


@pytest.fixture
def app(index, tmp_path):
    browse_app = BrowseApp(Session(index), export_folder=tmp_path)
    browse_app.notices = []
    original_notify = browse_app.notify

    def notify(message, **options):
        browse_app.notices.append(message)
        return original_notify(message, **options)

    browse_app.notify = notify
    return browse_app


def drive(app, script):
    """Runs `script(pilot)` against the app headless, on a 120x35 screen."""

    async def run():
        async with app.run_test(size=(120, 35)) as pilot:
            await script(pilot)

    asyncio.run(run())


async def settle(pilot):
    """Waits for the typing pause, the search and preview workers, and the screen updates they post."""
    app = pilot.app
    for _ in range(400):
        await pilot.pause(0.05)
        if app._pending_search is None and not any(worker.is_running for worker in app.workers):
            break
    await app.workers.wait_for_complete()
    await pilot.pause()


def table(app):
    return app.query_one("#hits")


def row_ids(app) -> list[str]:
    return [row.value for row in table(app).rows]


def shown(app, widget_id: str) -> str:
    return str(app.query_one(widget_id).content)


async def choose_facet(pilot, option_id: str) -> None:
    """Opens the facets with `f` and narrows the results to one of them (`kind<TAB>value`)."""
    await pilot.press("f")
    await pilot.pause()
    assert isinstance(pilot.app.screen, FacetScreen)
    options = pilot.app.screen.query_one("#facet-list")
    options.highlighted = options.get_option_index(option_id)
    await pilot.press("enter")
    await settle(pilot)


def preview_matches(app) -> list[str]:
    content = app.query_one("#preview").content
    return [str(content)[span.start : span.end] for span in content.spans if span.style == MATCH_STYLE]


# The headless walk through -------------------------------------------------------------------------


def test_type_move_read_narrow_export(app, tmp_path):
    async def script(pilot):
        await pilot.press(*"refugees")
        await settle(pilot)
        assert shown(pilot.app, "#status") == "6 articles"
        assert set(row_ids(pilot.app)) == {"tass1.txt", "tass2.txt", "tass3.txt", "ap1.txt", "ap2.txt", "web.txt"}
        first = pilot.app.results.search.hits[0]
        assert shown(pilot.app, "#preview").startswith(f"{first.title}\n")
        assert f"\n{first.id}\n" in shown(pilot.app, "#preview")
        assert {word.lower() for word in preview_matches(pilot.app)} <= {"refugees", "refugee"}
        assert preview_matches(pilot.app)

        await pilot.press("enter")  # from the search box to the hits
        assert pilot.app.focused is table(pilot.app)
        await pilot.press("slash")
        assert pilot.app.focused is pilot.app.query_one("#search")
        await pilot.press("down")  # down to the hits too
        assert pilot.app.focused is table(pilot.app)
        assert table(pilot.app).cursor_row == 0
        await pilot.press("down")
        await settle(pilot)
        second = row_ids(pilot.app)[1]
        assert table(pilot.app).cursor_row == 1
        assert pilot.app.current_hit().id == second
        assert pilot.app.query_one("#preview-pane").border_title == "Article 2"
        await pilot.press("enter")  # read it
        assert pilot.app.focused is pilot.app.query_one("#preview-pane")
        await pilot.press("escape")
        assert pilot.app.focused is table(pilot.app)

        assert "2016" in shown(pilot.app, "#timeline") and "2018" in shown(pilot.app, "#timeline")
        assert "undated: 1 (not drawn)" in shown(pilot.app, "#timeline")

        await choose_facet(pilot, "source\tTASS")
        assert sorted(row_ids(pilot.app)) == ["tass1.txt", "tass2.txt", "tass3.txt"]
        assert shown(pilot.app, "#status") == "3 articles · narrowed to source TASS (x clears)"

        await pilot.press("s")
        await pilot.pause()
        saved = list(tmp_path.glob("archsearch-refugees-*.csv"))
        assert len(saved) == 1
        assert f"Saved 3 articles to {saved[0].name}" in pilot.app.notices
        with saved[0].open(encoding="utf-8", newline="") as csv_file:
            rows = list(csv.DictReader(csv_file))
        assert sorted(row["id"] for row in rows) == ["tass1.txt", "tass2.txt", "tass3.txt"]
        assert {row["source"] for row in rows} == {"TASS"}
        assert rows[0]["date"] and rows[0]["path"].endswith(rows[0]["id"])

        await pilot.press("x")
        await settle(pilot)
        assert len(row_ids(pilot.app)) == 6

    drive(app, script)


def test_years_narrow_too_and_stack_with_sources(app):
    async def script(pilot):
        await pilot.press(*"refugees", "enter")
        await settle(pilot)
        for option_id in ("year\t2017", "source\tTASS"):
            await pilot.press("f")
            await pilot.pause()
            options = pilot.app.screen.query_one("#facet-list")
            options.highlighted = options.get_option_index(option_id)
            await pilot.press("enter")
            await settle(pilot)
        assert sorted(row_ids(pilot.app)) == ["tass2.txt", "tass3.txt"]
        await pilot.press("f")
        await pilot.pause()
        options = pilot.app.screen.query_one("#facet-list")
        assert options.get_option(f"source\tTASS").disabled  # applied already
        await pilot.press("escape")
        assert not isinstance(pilot.app.screen, FacetScreen)

    drive(app, script)


def test_copy_open_and_edit_the_article(app, tmp_path, monkeypatch):
    calls = tmp_path / "calls"
    opener = tmp_path / "opener"
    opener.write_text(f'#!/bin/sh\necho "$0 $@" >> {calls}\n')
    opener.chmod(opener.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("BROWSER", str(opener))
    monkeypatch.setenv("EDITOR", f"{opener} --edit")
    monkeypatch.delenv("VISUAL", raising=False)

    async def script(pilot):
        await pilot.press(*"taliban", "enter")
        await settle(pilot)
        hit = pilot.app.current_hit()
        assert hit.id == "other.txt"
        await pilot.press("c")
        assert pilot.app.clipboard == hit.path
        await pilot.press("e")
        await pilot.press("o")
        for _ in range(100):
            if calls.exists() and len(calls.read_text().splitlines()) == 2:
                break
            await pilot.pause(0.05)
        assert calls.read_text().splitlines() == [f"{opener} --edit {hit.path}", f"{opener} {hit.path}"]

    drive(app, script)


def test_a_query_not_finished_yet_says_why_and_keeps_running(app):
    async def script(pilot):
        await pilot.press(*'"refugees')
        await settle(pilot)
        assert "unbalanced quote" in shown(pilot.app, "#status")
        await pilot.press('"')
        await settle(pilot)
        assert shown(pilot.app, "#status") == "6 articles"

    drive(app, script)


def test_the_first_query_comes_from_the_command_line(index, tmp_path):
    async def script(pilot):
        await settle(pilot)
        assert row_ids(pilot.app) == ["other.txt"]

    drive(BrowseApp(Session(index), "taliban", export_folder=tmp_path), script)


# The session, without a screen ----------------------------------------------------------------------


def test_saved_queries_and_options_apply_to_what_is_typed(index):
    session = Session(index, since="2017", sort="oldest", expand=lambda text: text.replace("query:sea", "(sea)"))
    results = session.run("refugees query:sea")
    assert [hit.id for hit in results.search.hits] == ["ap1.txt"]
    assert session.query_text("refugees", [Filter("source", "Pashtun Times"), Filter("year", "2017")]) == (
        '(refugees) source:"Pashtun Times" date:2017'
    )


def test_facets_offer_sources_places_and_years(index):
    choices = facet_choices(Session(index).run("refugees"))
    assert ("source", "TASS", 3) in choices and ("place", "Rome", 2) in choices and ("year", "2017", 3) in choices


def test_export_writes_every_match_not_only_those_listed(index, tmp_path):
    session = Session(index)
    results = session.run("refugees", limit=2)
    path = session.export_csv(results, tmp_path)
    with path.open(encoding="utf-8", newline="") as csv_file:
        assert len(list(csv.reader(csv_file))) == 1 + 6
    assert session.export_csv(results, tmp_path) != path  # a second export never overwrites the first


def test_export_names_and_bars():
    import datetime

    assert export_name('"Peace talks" -Doha', datetime.datetime(2021, 8, 1, 9, 5, 3)) == (
        "archsearch-peace-talks-doha-20210801-090503.csv"
    )
    assert bar(10, 10, 4) == "████" and bar(5, 10, 3) == "█▌" and bar(0, 10, 4) == ""


# The command ------------------------------------------------------------------------------------------


def test_without_textual_the_command_names_the_extra(index, monkeypatch):
    monkeypatch.setitem(sys.modules, "textual", None)  # `import textual` now raises ImportError
    monkeypatch.delitem(sys.modules, "archsearch.browser.app", raising=False)
    result = CliRunner().invoke(cli, ["browse", "--index", str(index)])
    assert result.exit_code == 2
    assert result.stderr == (
        "archsearch: error: archsearch browse needs Textual, which is not installed: "
        "pip install 'archsearch[browse]'\n"
    )


def test_without_a_terminal_the_command_says_so(index):
    result = CliRunner().invoke(cli, ["browse", "--index", str(index)])
    assert result.exit_code == 2
    assert "needs a terminal" in result.stderr


def test_no_index_is_an_error_before_the_screen_opens(tmp_path):
    """At a real terminal, as a user runs it: one line and status 2, not a screen that fails."""
    controller, terminal = pty.openpty()
    process = subprocess.Popen(
        [installed_command(), "browse", "--index", str(tmp_path / "none")],
        stdin=terminal, stdout=terminal, stderr=subprocess.PIPE, env={**os.environ, "ARCHSEARCH_SERVER": "off"},
    )
    os.close(terminal)
    _, errors = process.communicate(timeout=60)
    read_terminal(controller)
    assert process.returncode == 2
    assert errors.decode() == (
        f"archsearch: error: no index at {tmp_path / 'none'}: run 'archsearch index FOLDER' first (or pass --index DIR)\n"
    )


def test_the_article_opens_at_its_first_match_and_n_goes_to_the_next(tmp_path):
    filler = "\n\n".join(f"Paragraph {number} says nothing of interest here." for number in range(60))
    body = f"{filler}\n\nThe ferry sank.\n\n{filler}\n\nA second ferry."
    index = build_index(tmp_path, {"long.txt": wire("2017-01-01", "ROME. /AP/.", body)})

    async def script(pilot):
        await settle(pilot)
        pane = pilot.app.query_one("#preview-pane")
        await pilot.pause()
        assert pane.scroll_y > 100  # the first match is below the first screen: the pane went there
        assert pane.border_subtitle == "match 1 of 2 (n next, p previous)"
        first = pane.scroll_y
        await pilot.press("enter", "n")
        await pilot.pause()
        assert pane.border_subtitle == "match 2 of 2 (n next, p previous)" and pane.scroll_y > first
        await pilot.press("p")
        await pilot.pause()
        assert pane.scroll_y == first

    drive(BrowseApp(Session(index), "ferry", export_folder=tmp_path), script)


def test_ctrl_c_quits_even_from_the_search_box(app):
    async def script(pilot):
        assert pilot.app.focused is pilot.app.query_one("#search")
        await pilot.press("ctrl+c")
        await pilot.pause()
        assert not pilot.app.is_running

    drive(app, script)


def test_the_command_hands_its_options_and_saved_queries_to_the_browser(index, tmp_path, monkeypatch):
    import types

    import archsearch.cli.browse as browse_command

    config = tmp_path / "config" / "archsearch" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text('[queries]\nsea = "refugees sea --since 2016"\n[browse]\nsort = "newest"\n')
    terminal = types.SimpleNamespace(isatty=lambda: True)
    monkeypatch.setattr(browse_command, "sys", types.SimpleNamespace(stdin=terminal, stdout=terminal))
    started = []
    monkeypatch.setattr(BrowseApp, "run", lambda app: started.append(app))

    result = CliRunner().invoke(cli, ["browse", "--index", str(index), "@sea", "--until", "2017"])
    assert result.exit_code == 0, result.stderr
    session = started[0].session
    assert started[0].initial_text == "refugees sea"
    assert (session.since, session.until, session.sort, session.index_dir) == ("2016", "2017", "newest", index)
    assert session.query_text("query:sea Italy") == "(refugees sea date:2016..) Italy"


def test_the_preview_marks_the_words_of_the_articles_own_language(tmp_path):
    index = build_index(tmp_path, {
        "ru.txt": wire("2022-02-10", "МОСКВА, 10 февраля. /ТАСС/.", "Россия готова принять беженцев из Германии."),
        "en.txt": wire("2022-02-11", "KABUL, February 11. /TASS/.", "The refugees reached Germany and its ministers."),
    })
    session = Session(index)
    for query, marked in [("беженец", {"ru.txt": ["беженцев"]}), ("Германия", {"ru.txt": ["Германии"]})]:
        results = session.run(query)
        assert [hit.id for hit in results.search.hits] == list(marked)
        for hit in results.search.hits:
            preview = session.preview(hit, results.terms)
            assert [preview.article.body[a:b] for a, b in preview.body_matches] == marked[hit.id]
