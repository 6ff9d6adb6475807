"""query --expand: the key terms of the best hits join the query, within its filters."""

import datetime
import random

import pytest
from click.testing import CliRunner

from archsearch.searching import search
from conftest import build_index, web, wire

TODAY = datetime.date(2026, 11, 22)
# Many filler words, each in few articles, as most words of an archive are.
FILLER = [f"filler{number}" for number in range(300)]


def story(seed: int, date: str, text: str) -> str:
    words = " ".join(random.Random(seed).choices(FILLER, k=30))
    return wire(date, "DHAKA, January 5. /AFP/.", f"Officials spoke on Tuesday. {text} {words}.")


FLOOD = "The flood broke the levee and volunteers filled sandbags; the levee held where sandbags were stacked."
LEVEE = "Volunteers stacked sandbags along the levee all night, and the levee held."
CORPUS = {
    **{f"flood{n}.txt": story(n, "2021-01-0{}".format(n + 1), FLOOD) for n in range(3)},
    # About the same thing without the word "flood": in the window, and outside it.
    "levee-january.txt": story(10, "2021-01-20", LEVEE),
    "levee-may.txt": story(11, "2021-05-20", LEVEE),
    "levee-undated.txt": web("World", "Sandbags on the levee", "Delta Times", LEVEE),
    **{f"other{n}.txt": story(20 + n, "2021-01-15", "The council met about the budget.") for n in range(4)},
}


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory):
    return build_index(tmp_path_factory.mktemp("expand"), CORPUS)


def test_expand_adds_the_key_terms_of_the_best_hits_and_keeps_the_date_window(index_dir):
    window = dict(since="2021-01", until="2021-01", today=TODAY)
    plain = search(index_dir, "flood", **window)
    assert sorted(hit.id for hit in plain.hits) == ["flood0.txt", "flood1.txt", "flood2.txt"] and not plain.expansion
    expanded = search(index_dir, "flood", expand=True, **window)
    added = [term for term, _ in expanded.expansion]
    assert {"leve", "sandbag"} <= set(added) and "flood" not in added
    assert sum(weight for _, weight in expanded.expansion) == pytest.approx(0.5)
    ids = [hit.id for hit in expanded.hits]
    assert set(ids[:3]) == {"flood0.txt", "flood1.txt", "flood2.txt"}
    # The January article without "flood" is found; May's and the undated one stay outside the window.
    assert "levee-january.txt" in ids and "levee-may.txt" not in ids and "levee-undated.txt" not in ids


def test_expand_keeps_not_words_and_fields(index_dir):
    expanded = search(index_dir, "flood -night source:AFP", expand=True, today=TODAY)
    ids = {hit.id for hit in expanded.hits}
    assert ids >= {"flood0.txt", "flood1.txt", "flood2.txt"}
    # Both levee stories say "night"; the undated one is not from AFP.
    assert not ids & {"levee-january.txt", "levee-may.txt", "levee-undated.txt"}


def test_explain_lists_the_added_terms(index_dir, monkeypatch):
    from archsearch.cli import cli

    monkeypatch.setenv("ARCHSEARCH_INDEX", str(index_dir))
    result = CliRunner().invoke(cli, ["query", "--expand", "--explain", "flood"])
    assert result.exit_code == 0
    assert "expanded (--expand) with the key terms of the best hits: " in result.stderr
    assert "sandbag" in result.stderr.split("best hits: ")[1].splitlines()[0]


def test_expand_keeps_a_language_filter(index_dir):
    expanded = search(index_dir, "flood lang:en", expand=True, today=TODAY)
    assert expanded.expansion and "levee-january.txt" in {hit.id for hit in expanded.hits}
    (widened,) = [line for line in expanded.explanation if line.startswith("expanded: ")]
    assert widened.endswith("AND language:en)")
    assert not search(index_dir, "flood lang:de", expand=True, today=TODAY).hits
