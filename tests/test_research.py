"""timeline, sources, similar, stats, did-you-mean and copies, on corpora whose answers are known."""

import datetime
import json
import os
import random

import pytest

from archsearch.coverage import every_period, facets, timeline
from archsearch.indexing import update_index
from archsearch.nearduplicates import NEAR_DUPLICATE, band_keys, resemblance, sketch
from archsearch.related import similar
from archsearch.searching import search
from archsearch.stats import index_stats
from conftest import build_index, web, wire

TODAY = datetime.date(2026, 11, 22)
WORDS = (
    "minister parliament budget harvest station council railway festival hospital factory harbour museum "
    "bridge election treaty border drought vaccine tariff pipeline strike court senate army police school"
).split()


def prose(seed: int, length: int = 120) -> str:
    generator = random.Random(seed)
    return " ".join(generator.choice(WORDS) for _ in range(length)) + "."


WIRE_STORY = (
    "Heavy flooding along the Kabul river destroyed hundreds of homes and forced thousands of families to leave "
    "their villages, officials of the provincial disaster agency said on Tuesday, adding that relief convoys "
    "carrying food, blankets and medicine had been sent to the worst affected districts overnight.\n\n"
    "The water rose after three days of unusually heavy rain in the mountains north of the capital, and several "
    "bridges on the main road to the east were swept away, cutting off communities that depend on the road for "
    "supplies and for access to the regional hospital.\n\n"
    "Aid organisations warned that stagnant water could spread disease in the coming weeks and appealed for "
    "donations to pay for clean drinking water, tents and vaccines. The agency said at least twelve people had "
    "died and dozens were missing, and that rescue teams were searching the banks downstream with boats lent by "
    "the army.\n\n"
    "Farmers said the flood had ruined the wheat harvest across much of the valley, raising fears of food "
    "shortages in a region where prices had already climbed sharply this year."
)

CORPUS = {
    "a/2021-01-05.txt": wire("2021-01-05", "KABUL, January 5. /TASS/.", "Taliban envoys met in Doha. " + prose(1)),
    "a/2021-01-20.txt": wire("2021-01-20", "KABUL, January 20. /TASS/.", "Taliban fighters entered a town. " + prose(2)),
    "a/2021-03-02.txt": wire("2021-03-02", "HERAT, March 2. /Reuters/.", "Taliban leaders spoke to the press. " + prose(3)),
    "b/undated.txt": web("Afghanistan", "Taliban and the economy", "Pashtun Times", "KABUL: Taliban officials " + prose(4)),
    "b/other.txt": wire("2021-02-11", "PARIS, February 11. /AFP/.", "French farmers protested. " + prose(5)),
    # One wire story republished by two sites with small edits, and an unrelated flood story.
    "wire/tass.txt": wire("2021-04-06", "KABUL, April 6. /TASS/.", WIRE_STORY),
    "wire/site1.txt": web("Asia", "Floods hit Kabul", "Kabul Daily", "KABUL: " + WIRE_STORY.replace("Tuesday", "Wednesday")),
    "wire/site2.txt": web("World", "Kabul river floods", "Asia News", "KABUL: " + WIRE_STORY.replace("hundreds", "scores")),
    "wire/other_flood.txt": wire(
        "2021-04-07",
        "DHAKA, April 7. /AFP/.",
        "Monsoon flooding in Bangladesh cut roads to the river delta, where aid workers said families lacked food "
        "and clean water after the embankments failed during the night.",
    ),
}


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory):
    return build_index(tmp_path_factory.mktemp("research"), CORPUS)


def test_timeline_counts_per_month_with_empty_months_and_undated_apart(index_dir):
    result = timeline(index_dir, "Taliban", by="month", today=TODAY)
    assert result.periods == [("2021-01", 2), ("2021-02", 0), ("2021-03", 1)]
    assert (result.undated, result.total) == (1, 4)


def test_timeline_window_spans_the_whole_since_until_range(index_dir):
    result = timeline(index_dir, "Taliban", by="month", since="2020-12", until="2021-04", today=TODAY)
    assert [period for period, _ in result.periods] == ["2020-12", "2021-01", "2021-02", "2021-03", "2021-04"]
    assert sum(count for _, count in result.periods) == 3
    assert result.undated == 1


@pytest.mark.parametrize(
    "by, expected",
    [
        ("year", [("2021", 3)]),
        ("week", [("2021-W01", 1), ("2021-W02", 0), ("2021-W03", 1)]),
        ("day", [("2021-01-05", 1)]),
    ],
)
def test_timeline_periods(index_dir, by, expected):
    result = timeline(index_dir, "Taliban", by=by, since="2021-01-05" if by == "day" else None,
                      until="2021-01-05" if by == "day" else "2021-01-20" if by == "week" else None, today=TODAY)
    assert result.periods == expected


def test_every_period_crosses_years_and_iso_weeks():
    assert every_period(datetime.date(2020, 12, 30), datetime.date(2021, 1, 4), "week") == ["2020-W53", "2021-W01"]
    assert every_period(datetime.date(2021, 11, 15), datetime.date(2022, 2, 1), "month") == [
        "2021-11", "2021-12", "2022-01", "2022-02"
    ]


def test_sources_and_places_are_counted_most_first(index_dir):
    result = facets(index_dir, "Taliban", today=TODAY)
    assert result.total == 4
    assert result.sources == [("TASS", 2), ("Pashtun Times", 1), ("Reuters", 1)]
    assert result.places == [("Kabul", 3), ("Herat", 1)]


def test_sources_respect_the_date_window(index_dir):
    assert facets(index_dir, "Taliban", since="2021-02", today=TODAY).sources == [("Reuters", 1)]


def test_stats(index_dir):
    stats = index_stats(index_dir)
    assert (stats.articles, stats.dated) == (9, 6 + 0 + 1 - 1)
    assert (stats.first_date, stats.last_date) == (datetime.date(2021, 1, 5), datetime.date(2021, 4, 7))
    assert stats.sources == 6  # TASS, Reuters, AFP, Pashtun Times, Kabul Daily, Asia News
    assert stats.size_bytes > 0 and stats.last_indexed is not None
    assert len(stats.folders) == 1


def test_stats_last_indexed_is_the_last_commit_not_a_later_read(tmp_path):
    index_dir = build_index(tmp_path, {"a.txt": wire("2021-01-05", "KABUL, January 5. /TASS/.", "Talks resumed.")})
    committed = datetime.datetime(2021, 6, 1, 12, 0).timestamp()
    for path in index_dir.iterdir():
        os.utime(path, (committed, committed))
    search(index_dir, "talks")  # reading may touch SQLite's shared-memory file: that is not indexing
    for path in index_dir.glob("*.sqlite*"):
        os.utime(path)
    assert index_stats(index_dir).last_indexed == datetime.datetime.fromtimestamp(committed)
    (tmp_path / "corpus" / "b.txt").write_text(wire("2021-01-06", "KABUL, January 6. /TASS/.", "Talks ended."))
    update_index(index_dir, [str(tmp_path / "corpus")])
    assert index_stats(index_dir).last_indexed > datetime.datetime.fromtimestamp(committed)


def test_stats_size_is_the_same_whoever_has_the_record_open(tmp_path):
    import sqlite3

    index_dir = build_index(tmp_path, {"a.txt": wire("2021-01-05", "KABUL, January 5. /TASS/.", "Talks resumed.")})
    alone = index_stats(index_dir).size_bytes
    (record,) = [path for path in index_dir.glob("*.sqlite") if path.is_file()]
    reader = sqlite3.connect(record)  # as a server's request or another query holds it
    try:
        reader.execute("SELECT count(*) FROM sqlite_master").fetchone()
        assert (index_dir / f"{record.name}-shm").exists()
        assert index_stats(index_dir).size_bytes == alone
    finally:
        reader.close()


def test_copies_of_a_wire_story_make_one_hit(index_dir):
    result = search(index_dir, "flooding Kabul river", today=TODAY)
    assert len(result.hits) == 1
    assert result.total == 3
    leader = result.hits[0]
    assert sorted([leader.id, *leader.copies]) == ["wire/site1.txt", "wire/site2.txt", "wire/tass.txt"]


def test_all_copies_shows_them_apart(index_dir):
    result = search(index_dir, "flooding Kabul river", collapse_copies=False, today=TODAY)
    assert sorted(hit.id for hit in result.hits) == ["wire/site1.txt", "wire/site2.txt", "wire/tass.txt"]
    assert all(hit.copies == () for hit in result.hits)


def test_unrelated_articles_are_not_copies(index_dir):
    result = search(index_dir, "flooding river families", today=TODAY)
    assert sorted(hit.id for hit in result.hits) in (
        ["wire/other_flood.txt", "wire/site1.txt"], ["wire/other_flood.txt", "wire/site2.txt"],
        ["wire/other_flood.txt", "wire/tass.txt"],
    )


def test_similar_finds_the_related_story_and_leaves_out_copies(index_dir):
    result = similar(index_dir, "wire/tass.txt")
    ids = [hit.id for hit in result.hits]
    assert ids[0] == "wire/other_flood.txt"
    assert not {"wire/tass.txt", "wire/site1.txt", "wire/site2.txt"} & set(ids)


def test_did_you_mean_offers_a_common_spelling_and_fix_runs_it(index_dir):
    result = search(index_dir, "Talibn", today=TODAY)
    assert result.total == 0
    assert (result.suggestion, result.suggestion_total) == ("Taliban", 4)
    fixed = search(index_dir, "Talibn", fix=True, today=TODAY)
    assert (fixed.query, fixed.corrected_from, fixed.total) == ("Taliban", "Talibn", 4)


def test_no_suggestion_when_the_query_has_many_hits_or_nothing_is_close(index_dir):
    assert search(index_dir, "Taliban", today=TODAY).suggestion is None
    assert search(index_dir, "xylophone", today=TODAY).suggestion is None


def test_sketches_estimate_resemblance():
    original = WIRE_STORY
    assert resemblance(sketch(original), sketch(original.replace("Tuesday", "Wednesday"))) >= NEAR_DUPLICATE
    assert resemblance(sketch(original), sketch(prose(7, 150))) < 0.3
    assert band_keys(sketch("")) == []
    assert len(band_keys(sketch(WIRE_STORY))) == 8


def test_sketch_is_the_same_in_every_process():
    import subprocess
    import sys

    code = "from archsearch.nearduplicates import sketch; print(sketch('the same words in the same order here'))"
    outputs = {
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env={"PYTHONHASHSEED": seed}).stdout
        for seed in ("1", "2")
    }
    assert len(outputs) == 1


def test_commands_through_the_cli(index_dir, monkeypatch):
    from click.testing import CliRunner

    from archsearch.cli import cli

    monkeypatch.setenv("ARCHSEARCH_INDEX", str(index_dir))
    runner = CliRunner()
    plain = runner.invoke(cli, ["timeline", "Taliban"])
    assert plain.exit_code == 0
    assert plain.stdout == "2021-01\t2\n2021-02\t0\n2021-03\t1\nundated\t1\n"
    records = [json.loads(line) for line in runner.invoke(cli, ["timeline", "--json", "Taliban"]).stdout.splitlines()]
    assert records[-1] == {"type": "summary", "query": "Taliban", "by": "month", "total": 4, "undated": 1}
    sources = runner.invoke(cli, ["sources", "--format", "tsv", "Taliban"]).stdout.splitlines()
    assert sources[0] == "kind\tname\tcount" and "source\tTASS\t2" in sources and "place\tKabul\t3" in sources
    stats = json.loads(runner.invoke(cli, ["stats", "--json"]).stdout)
    assert stats["articles"] == 9
    similar_hits = runner.invoke(cli, ["similar", "--json", "wire/tass.txt"]).stdout.splitlines()
    assert json.loads(similar_hits[0])["id"] == "wire/other_flood.txt"
    nothing = runner.invoke(cli, ["timeline", "xylophone"])
    assert nothing.exit_code == 1
    suggestion = runner.invoke(cli, ["query", "Talibn"])
    assert suggestion.exit_code == 1
    assert "did you mean 'Taliban'?" in suggestion.stderr
    copies = runner.invoke(cli, ["query", "flooding Kabul river"])
    assert "+2 copies" in copies.stdout


def test_shell_completion_through_clicks_mechanism(monkeypatch):
    from click.testing import CliRunner

    from archsearch.cli import cli

    result = CliRunner().invoke(cli, [], env={"_CLI_COMPLETE": "bash_complete", "COMP_WORDS": "cli ti", "COMP_CWORD": "1"},
                                prog_name="cli")
    assert "timeline" in result.stdout


def test_did_you_mean_analyses_only_the_words_like_the_suggestion(tmp_path, monkeypatch):
    from archsearch import passages

    filler = " ".join(f"word{number}" for number in range(3000))
    index = build_index(tmp_path, {
        f"long{number}.txt": wire("2021-12-10", "KABUL, December 10. /TASS/.", f"The Taliban spoke. {filler}")
        for number in range(3)
    })
    analysed = []
    indexed_form = passages.indexed_form
    monkeypatch.setattr(
        passages, "indexed_form", lambda word, language="": analysed.append(word) or indexed_form(word, language)
    )
    assert search(index, "Talibn", today=TODAY).suggestion == "Taliban"
    # Reading how the articles write the suggested word no longer analyses each of their words.
    assert len(analysed) < 10
