"""`archsearch terms`: the key terms of a result set, on a corpus with a planted topic."""

import csv
import io
import json
import math

import pytest

from archsearch.keyterms import key_terms, log_likelihood
from conftest import build_index, wire

# Twenty articles on everyday matters, all using the common words; five of them are about
# floods, and those also speak of levees and sandbags (planted), which no other article does.
COMMON = "The council met on Monday and the mayor spoke about the city budget and schools."
PLANTED = "Floods rose along the river; crews stacked sandbags on the levees."


def articles():
    found = {}
    for number in range(20):
        text = COMMON + (" " + PLANTED if number < 5 else " Traffic was heavy downtown.")
        found[f"a{number:02}.txt"] = wire(f"2020-01-{number + 1:02}", "ROME, Jan 1. /ANSA/.", text)
    # One more article speaks of sandbags without floods: sandbags are not the topic's alone.
    found["gym.txt"] = wire("2020-02-01", "ROME, Feb 1. /ANSA/.", COMMON + " The gym bought sandbags.")
    return found


@pytest.fixture(scope="module")
def index(tmp_path_factory):
    return build_index(tmp_path_factory.mktemp("terms"), articles())


def test_log_likelihood_of_a_known_table():
    # a=5 of n=5 matching, b=5 of N=20: the cells 5, 0, 0, 15 against 1.25, 3.75, 3.75, 11.25.
    expected = 2 * (5 * math.log(5 / 1.25) + 15 * math.log(15 / 11.25))
    assert log_likelihood(5, 5, 5, 20) == pytest.approx(expected)
    assert log_likelihood(1, 10, 10, 100) == pytest.approx(0)  # as common inside as outside


def test_planted_topic_comes_first_and_common_words_not_at_all(index):
    result = key_terms(index, "flood")
    assert (result.matching, result.all) == (5, 21)
    found = {term.index_term: term for term in result.terms}
    # The planted words only the five use tie for first, in alphabetical order.
    assert [term.index_term for term in result.terms[:6]] == ["along", "crew", "leve", "river", "rose", "stack"]
    # sandbags are in one article outside the result set too: less characteristic, still in.
    assert (found["sandbag"].matching, found["sandbag"].all) == (5, 6)
    assert found["sandbag"].score < found["leve"].score
    assert found["leve"].term == "levees" and found["leve"].score == pytest.approx(log_likelihood(5, 5, 5, 21))
    for common in ("council", "the", "mayor", "budget"):
        assert common not in found
    assert "flood" not in found  # the query's own word


def test_two_word_phrases_leave_out_those_of_common_words(index):
    result = key_terms(index, "flood", phrases=True)
    # "along the", "the river" and "stacked sandbags" hold words used by more than a quarter of
    # all articles (the: 21, sandbags: 6 of 21); "river; crews" is no phrase across its semicolon;
    # "Floods rose" holds the query's word.
    assert [(term.term, term.index_term, term.matching, term.all) for term in result.terms] == [
        ("crews stacked", "crew stack", 5, 5), ("rose along", "rose along", 5, 5),
    ]
    assert result.terms[0].score == pytest.approx(log_likelihood(5, 5, 5, 21))


def test_limit_and_filters(index):
    assert len(key_terms(index, "flood", limit=2).terms) == 2
    assert key_terms(index, "flood", since="2020-02").matching == 0


def test_every_format(run_cli, index, monkeypatch):
    monkeypatch.setenv("ARCHSEARCH_INDEX", str(index))
    records = [json.loads(line) for line in run_cli("terms", "flood", "--json").stdout.splitlines()]
    levee = next(record for record in records if record.get("index_term") == "leve")
    assert levee == {
        "type": "term", "rank": levee["rank"], "term": "levees", "score": round(log_likelihood(5, 5, 5, 21), 3),
        "matching": 5, "all": 5, "index_term": "leve",
    }
    assert records[-1]["type"] == "summary" and (records[-1]["matching"], records[-1]["all"]) == (5, 21)
    rows = list(csv.reader(io.StringIO(run_cli("terms", "flood", "--format", "csv").stdout)))
    assert rows[0] == ["rank", "term", "score", "matching", "all", "index_term"]
    assert [row[1:] for row in rows[1:]][6] == ["sandbags", "17.646", "5", "6", "sandbag"]  # 2(5 ln 3.5 - ln 4.571 + 15 ln 1.3125)
    phrases = run_cli("terms", "flood", "--phrases", "--format", "tsv").stdout.splitlines()
    assert [line.split("\t")[1] for line in phrases[1:]] == ["crews stacked", "rose along"]
    human = run_cli("terms", "flood", "-n", "3", "--color", "always")
    assert human.exit_code == 0 and "levees" in human.stdout


def test_nothing_matching_exits_1(run_cli, index, monkeypatch):
    monkeypatch.setenv("ARCHSEARCH_INDEX", str(index))
    result = run_cli("terms", "volcano")
    assert result.exit_code == 1 and result.stdout == ""
