"""mentions>=N:word (issue 18): articles that use a word at least N times in the body."""

import json

import pytest

from archsearch.querying import QuerySyntaxError, parse_query
from archsearch.schema import build_schema
from archsearch.searching import search
from conftest import build_index, web, wire


def article(number: int, text: str) -> str:
    return wire(f"2021-02-{number:02d}", f"KABUL, February {number}. /TASS/.", f"Officials met on Monday. {text}")


ARTICLES = {
    "two.txt": article(1, "The convoy left. Another convoy followed."),
    "three.txt": article(2, "The convoy left. Another convoy followed. A third convoy waited."),
    "forms.txt": article(3, "One convoy, two convoys and the convoying of a third."),
    "phrase.txt": article(4, "Peace talks began. The peace talks stalled, and peace returned to the talks."),
    # The headline is not counted: two mentions in the body, one more in the title.
    "headline.txt": web("World", "Convoy attacked", "Kabul Chronicle", "KABUL: The convoy was hit. A convoy again."),
    "capitals.txt": article(5, "The US said US troops and US planes would leave us."),
}


@pytest.fixture(scope="module")
def mentions_index(tmp_path_factory):
    return build_index(tmp_path_factory.mktemp("mentions"), ARTICLES)


def ids(index, text):
    return sorted(hit.id for hit in search(index, text, limit=0, collapse_copies=False).hits)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("mentions>=2:convoy", ["forms.txt", "headline.txt", "three.txt", "two.txt"]),
        ("mentions>=3:convoy", ["forms.txt", "three.txt"]),  # forms.txt: convoy, convoys, convoying
        ("mentions>=4:convoy", []),
        ("mentions>=1:convoy", ["forms.txt", "headline.txt", "three.txt", "two.txt"]),
        ("mentions>=3:=convoy", ["three.txt"]),  # the form as written: not "convoys"
        ("mentions>=3:convoy*", ["forms.txt", "three.txt"]),
        ('mentions>=2:"peace talks"', ["phrase.txt"]),
        ('mentions>=3:"peace talks"', []),
        ("mentions>=3:peace", ["phrase.txt"]),
        ("mentions>=2:(convoy OR peace)", ["forms.txt", "headline.txt", "phrase.txt", "three.txt", "two.txt"]),
        # Composed with everything else.
        ("mentions>=3:convoy -third", []),
        ("mentions>=2:convoy date:2021-02-01", ["two.txt"]),
        ("mentions>=3:convoy OR mentions>=2:talks", ["forms.txt", "phrase.txt", "three.txt"]),
        ("NOT mentions>=2:convoy convoy", []),
        ("mentions>=2:body:convoy", ["forms.txt", "headline.txt", "three.txt", "two.txt"]),
        # Smart case is a test on the article: written in capitals somewhere, every mention counts.
        ("mentions>=3:US", ["capitals.txt"]),
        ("mentions>=4:US", ["capitals.txt"]),
        ("mentions>=5:US", []),
    ],
)
def test_mentions(mentions_index, text, expected):
    assert ids(mentions_index, text) == expected


@pytest.mark.parametrize(
    "text, message",
    [
        ("mentions>3:convoy", "write mentions>=N:word"),
        ("mentions>=0:convoy", "write mentions>=N:word"),
        ("mentions>=x:convoy", "write mentions>=N:word"),
        ("mentions=3:convoy", "write mentions>=N:word"),
        ("mentions>=3:", "needs a word after it"),
        ("mentions>=3:title:convoy", "counts in the body"),
        ("mentions>=3:source:TASS", "counts in the body"),
        ("mentions>=2:convoy NEAR/3 left", "NEAR joins words"),
        ("mentions>=2:(convoy peace)", "mentions>=N: joins words"),
    ],
)
def test_errors(text, message):
    with pytest.raises(QuerySyntaxError, match=message):
        parse_query(text, build_schema())


def test_mentions_is_a_word_elsewhere():
    assert "mention" in str(parse_query("mentions Taliban", build_schema()).query)


def test_count_equals_listed(mentions_index, run_cli, monkeypatch):
    monkeypatch.setenv("ARCHSEARCH_INDEX", str(mentions_index))
    for text in ["mentions>=2:convoy", "mentions>=3:convoy", "mentions>=2:convoy -third"]:
        counted = int(run_cli("query", "-c", text).output)
        lines = [json.loads(line) for line in run_cli("query", "--json", "-n", "0", "--all-copies", text).output.splitlines()]
        assert counted == len(lines) - 1 == lines[-1]["total"]
