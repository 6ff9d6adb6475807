"""NEAR/n and SENTENCE(...) (issue 18), on constructed articles whose answers are known."""

import itertools
import json
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from archsearch.analysis import normalise, word_spans, words
from archsearch.errors import ArchsearchError
from archsearch.proximity import (
    DEFAULT_DISTANCE, _sentence_starts_among, are_near, near_windows, phrase_occurrences, sentence_numbers, sentence_starts,
    sentence_windows,
)
from archsearch.querying import InSentence, Near, QuerySyntaxError, parse_query
from archsearch.schema import build_schema
from archsearch.searching import search
from conftest import build_index, web, wire

LEAD = "Officials met on Monday."  # a wire title is its lead sentence: keep the tested words out of it


def apart(first: str, second: str, distance: int) -> str:
    """`first` and `second` `distance` words apart (1: side by side), filler between them."""
    return " ".join([first, *["filler"] * (distance - 1), second])


def article(number: int, text: str) -> str:
    return wire(f"2021-01-{number:02d}", f"KABUL, January {number}. /TASS/.", f"{LEAD} {text} The end.")


ARTICLES = {
    "ab3.txt": article(1, "Then " + apart("alpha", "beta", 3) + " came."),
    "ba3.txt": article(2, "Then " + apart("beta", "alpha", 3) + " came."),
    "ab4.txt": article(3, "Then " + apart("alpha", "beta", 4) + " came."),
    "ab10.txt": article(4, "Then " + apart("alpha", "beta", 10) + " came."),
    "ab11.txt": article(5, "Then " + apart("alpha", "beta", 11) + " came."),
    "phrase.txt": article(6, "Crowds of refugees waited at the border crossing for days."),
    "abc.txt": article(7, "Then alpha gamma beta delta left."),
    "gamma.txt": article(8, "Then alpha far far far far far far far far far far far far gamma. Beta there."),
    "title.txt": web("World", "Kappa meets lambda", "Kabul Chronicle", "KABUL: Kappa arrived. " + "Filler words. " * 20 + "Then lambda."),
    "capitals.txt": article(9, "The US sent troops home. Critics in the us-style press."),
    "lower.txt": article(10, "Send us troops now."),
    "forms.txt": article(11, "Afghans returned as the refugees went home."),
}
SENTENCES = {
    "full-stop.txt": article(12, "Epsilon was calm. Zeta was not."),
    "question.txt": article(13, "Was epsilon calm? Zeta was not."),
    "exclamation.txt": article(14, "Epsilon was calm! Zeta was not."),
    "same.txt": article(15, "Epsilon and zeta were calm."),
    "abbreviation.txt": article(16, "Epsilon said the U.S. zeta plan worked."),
    "title-word.txt": article(17, "Epsilon met Mr. Zeta at noon."),
    "lowercase.txt": article(18, "Epsilon weighed approx. zeta tonnes."),
    "paragraph.txt": article(19, "Epsilon was calm\n\nZeta was not"),
}


@pytest.fixture(scope="module")
def proximity_index(tmp_path_factory):
    return build_index(tmp_path_factory.mktemp("proximity"), {**ARTICLES, **SENTENCES})


def ids(index, text, **options):
    return sorted(hit.id for hit in search(index, text, limit=0, collapse_copies=False, **options).hits)


@pytest.mark.parametrize(
    "text, expected",
    [
        # Within n words: n apart matches, n + 1 does not, in either order.
        ("alpha NEAR/3 beta", ["ab3.txt", "abc.txt", "ba3.txt"]),
        ("beta NEAR/3 alpha", ["ab3.txt", "abc.txt", "ba3.txt"]),
        ("alpha NEAR/4 beta", ["ab3.txt", "ab4.txt", "abc.txt", "ba3.txt"]),
        ("alpha NEAR/2 beta", ["abc.txt"]),
        ("alpha NEAR/1 beta", []),
        ("alpha NEAR/10 beta", ["ab10.txt", "ab3.txt", "ab4.txt", "abc.txt", "ba3.txt"]),
        # NEAR alone: within DEFAULT_DISTANCE (10) words.
        ("alpha NEAR beta", ["ab10.txt", "ab3.txt", "ab4.txt", "abc.txt", "ba3.txt"]),
        ("alpha NEAR/11 beta", ["ab10.txt", "ab11.txt", "ab3.txt", "ab4.txt", "abc.txt", "ba3.txt"]),
        # Three operands: each within n of every other.
        ("alpha NEAR/2 gamma NEAR/2 beta", ["abc.txt"]),
        ("alpha NEAR/13 gamma NEAR/13 beta", ["abc.txt"]),  # gamma.txt: beta is 14 words from alpha
        # A phrase counts from its ends: refugees is 5 words before "border crossing" starts.
        ('"border crossing" NEAR/4 refugees', ["phrase.txt"]),
        ('"border crossing" NEAR/3 refugees', []),
        ('refugees NEAR/4 "border crossing"', ["phrase.txt"]),
        # Other forms of the words, as everywhere.
        ("refugee NEAR/5 cross", ["phrase.txt"]),  # "crossing" ends the phrase: 5 words on
        # Composed with AND, OR, NOT, parentheses, fields and dates.
        ("alpha NEAR/3 beta OR crowds", ["ab3.txt", "abc.txt", "ba3.txt", "phrase.txt"]),
        ("alpha NEAR/3 beta -filler", ["abc.txt"]),
        ("alpha NEAR/4 beta NOT date:2021-01-02", ["ab3.txt", "ab4.txt", "abc.txt"]),
        ("alpha NEAR/4 beta date:2021-01-02", ["ba3.txt"]),
        ("(alpha OR delta) NEAR/1 beta", ["abc.txt"]),
        ("NOT alpha NEAR/3 beta alpha", ["ab10.txt", "ab11.txt", "ab4.txt", "gamma.txt"]),
        # Words near each other in the title, far apart in the body; a field keeps to its field.
        ("kappa NEAR/2 lambda", ["title.txt"]),
        ("body:kappa NEAR/2 body:lambda", []),
        ("title:kappa NEAR/2 lambda", ["title.txt"]),
        # Smart case: US in capitals near troops; "us" in lower case does not count.
        ("US NEAR/2 troops", ["capitals.txt"]),
        ("us NEAR/2 troops", ["capitals.txt", "lower.txt"]),
        # Prefix and exact forms: words as written, whose positions run on from title to body.
        ("afghan* NEAR/4 refugees", ["forms.txt"]),
        ("afghan* NEAR/3 refugees", []),
        ("=Afghans NEAR/4 =refugees", ["forms.txt"]),
    ],
)
def test_near(proximity_index, text, expected):
    assert ids(proximity_index, text) == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("SENTENCE(epsilon zeta)", ["abbreviation.txt", "lowercase.txt", "same.txt", "title-word.txt"]),
        ("SENTENCE(zeta epsilon)", ["abbreviation.txt", "lowercase.txt", "same.txt", "title-word.txt"]),
        ("epsilon zeta", sorted(SENTENCES)),
        ("SENTENCE(epsilon zeta) -approx", ["abbreviation.txt", "same.txt", "title-word.txt"]),
        ("SENTENCE(epsilon (zeta OR calm))", sorted(["abbreviation.txt", "lowercase.txt", "same.txt", "title-word.txt",
                                                     "full-stop.txt", "question.txt", "exclamation.txt", "paragraph.txt"])),
        ("SENTENCE(epsilon zeta calm)", ["same.txt"]),
        ('SENTENCE("epsilon and" zeta)', ["same.txt"]),
        ("SENTENCE(alpha beta)", ["ab10.txt", "ab11.txt", "ab3.txt", "ab4.txt", "abc.txt", "ba3.txt"]),  # not gamma.txt
    ],
)
def test_sentence(proximity_index, text, expected):
    assert ids(proximity_index, text) == expected


def test_the_title_is_a_sentence_of_its_own(proximity_index):
    assert ids(proximity_index, "SENTENCE(kappa lambda)") == ["title.txt"]
    assert ids(proximity_index, "SENTENCE(body:kappa body:lambda)") == []


@pytest.mark.parametrize(
    "text, expected",
    [
        ("One. Two", [0, 1]),
        ("One? Two! Three", [0, 1, 2]),
        ("One. two", [0, 0]),  # a full stop before a lower-case word ends nothing ("approx. five")
        ("The U.S. Army", [0, 0, 0]),  # "U.S" is one word; the dot after it ends nothing
        ("in the U.S. The", [0, 0, 0, 0]),  # the price of that rule
        ("Mr. Smith and Gen. Miller met J. Doe.", [0] * 8),
        ("It rose 3.5 percent. Then", [0, 0, 0, 0, 1]),
        ('He said "Yes." Then', [0, 0, 0, 1]),
        ("A headline\n\nThe lead", [0, 0, 1, 1]),
        ("a line\nwrapped on", [0, 0, 0, 0]),
        ("Well... Then", [0, 1]),
        ("北京。上海", [0, 1]),
        ("هل هو؟ نعم", [0, 0, 1]),
    ],
)
def test_sentence_numbers(text, expected):
    assert sentence_numbers(text) == expected


SENTENCE_PIECES = ["word", "Word", "U.S", "3.5", "Mr", "a", "é", "北京", "بّ", ".", ". ", "? ", "! ", "…", '"', "\n\n", "\n", " ", " ", "-"]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(SENTENCE_PIECES), max_size=30).map("".join))
def test_sentence_starts_counted_in_c_are_those_found_gap_by_gap(text):
    assert sentence_starts(text) == _sentence_starts_among(text, word_spans(text))


def test_sentence_numbers_follow_the_index_words():
    text = normalise("Zürich's 3.5% rise... U.S.-led talks; 北京大学 said: no? Yes.")
    assert len(sentence_numbers(text)) == len(words(text))


def brute_near(operands, distance) -> bool:
    return any(
        max(first for first, _ in chosen) - min(last for _, last in chosen) <= distance
        for chosen in itertools.product(*operands)
    )


occurrences = st.lists(
    st.tuples(st.integers(0, 40), st.integers(0, 2)).map(lambda pair: (pair[0], pair[0] + pair[1])),
    min_size=0, max_size=6,
).map(sorted)


@settings(max_examples=300, deadline=None)
@given(st.lists(occurrences, min_size=1, max_size=4), st.integers(1, 12))
def test_near_windows_find_a_group_exactly_when_one_exists(operands, distance):
    windows = near_windows(operands, distance)
    assert bool(windows) == are_near(operands, distance) == brute_near(operands, distance)
    for first, last in windows:  # each window holds an occurrence of every operand, within distance
        inside = [[o for o in found if first <= o[0] and o[1] <= last] for found in operands]
        assert brute_near(inside, distance)


def test_phrase_occurrences_and_sentence_windows():
    assert phrase_occurrences([[1, 5, 9], [2, 7, 10], [3, 11]]) == [(1, 3), (9, 11)]
    assert sentence_windows([[(0, 0), (5, 5)], [(6, 6)]], [4]) == [(5, 6)]
    assert sentence_windows([[(3, 4)], [(2, 2)]], [4]) == []  # the phrase crosses a boundary


@pytest.mark.parametrize(
    "text, message",
    [
        ("alpha NEAR", "'NEAR' needs a query after it"),
        ("NEAR/3 alpha", "'NEAR/3' needs a query before it"),
        ("alpha NEAR/0 beta", "NEAR takes a distance of 1 word or more"),
        ("alpha NEAR/x beta", "NEAR takes a distance of 1 word or more"),
        ("alpha AND NEAR beta", "'AND' needs a query after it"),
        ("alpha NEAR source:TASS", "NEAR joins words, phrases and (a OR b) groups"),
        ("(alpha beta) NEAR gamma", "NEAR joins words, phrases and (a OR b) groups"),
        ("SENTENCE(alpha beta) NEAR/3 came", "NEAR joins words"),
        ("SENTENCE(alpha)", "SENTENCE() needs two words or more"),
        ("SENTENCE()", "SENTENCE() needs two words or more"),
        ("SENTENCE(alpha NOT beta)", "SENTENCE() joins words"),
    ],
)
def test_errors(text, message):
    with pytest.raises(QuerySyntaxError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_query(text, build_schema())


def test_plain_near_and_sentence_are_words():
    schema = build_schema()
    assert "near" in str(parse_query("near Kabul", schema).query)
    assert "sentenc" in str(parse_query("SENTENCE Kabul", schema).query)
    assert isinstance(parse_query("a NEAR b", schema).query, Near)
    assert parse_query("a NEAR b", schema).query.distance == DEFAULT_DISTANCE
    assert isinstance(parse_query("SENTENCE(a b)", schema).query, InSentence)


OPERATOR_PIECES = ["alpha", "beta", "gamma", " NEAR ", " NEAR/2 ", " NEAR/0 ", "SENTENCE(", "(", ")", " OR ", " NOT ",
                   '"', "mentions>=2:", "title:", " "]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(OPERATOR_PIECES), max_size=12).map("".join))
def test_any_proximity_text_parses_or_fails_with_a_one_line_user_error(text):
    try:
        parse_query(text, build_schema())
    except ArchsearchError as exc:
        assert "\n" not in str(exc)


def test_the_passage_shown_first_is_where_near_holds(tmp_path):
    body = (
        "Kappa and lambda were both named early, far apart: kappa first. "
        + "Nothing else to report here today at all. " * 12
        + "Late in the day kappa lambda met. "
        + "More filler words here. " * 10
    )
    index = build_index(tmp_path, {"one.txt": article(1, body)})
    (near_hit,) = search(index, "kappa NEAR/1 lambda").hits
    first = near_hit.snippets[0]
    assert "kappa lambda met" in first.text
    assert [first.text[a:b] for a, b in first.matches] == ["kappa", "lambda"]
    (plain_hit,) = search(index, "kappa lambda").hits
    assert "kappa lambda met" not in plain_hit.snippets[0].text
    (sentence_hit,) = search(index, "SENTENCE(kappa lambda) OR nothing").hits
    assert sentence_hit.snippets[0].text.startswith("KABUL") and "Kappa and lambda" in sentence_hit.snippets[0].text


def test_the_sentence_passage_is_the_sentence_that_holds(tmp_path):
    body = "Kappa came first. " + "Nothing else to report here today. " * 12 + "At last lambda and kappa met."
    index = build_index(tmp_path, {"one.txt": article(1, body)})
    (hit,) = search(index, "SENTENCE(kappa lambda)").hits
    assert "lambda and kappa met" in hit.snippets[0].text


def test_count_equals_listed_and_json_total(proximity_index, run_cli, monkeypatch):
    monkeypatch.setenv("ARCHSEARCH_INDEX", str(proximity_index))
    for text in ["alpha NEAR/4 beta", "SENTENCE(epsilon zeta)", "alpha NEAR beta OR SENTENCE(epsilon zeta)"]:
        counted = int(run_cli("query", "-c", text).output)
        listed = run_cli("query", "-l", "--all-copies", text).output.splitlines()
        lines = [json.loads(line) for line in run_cli("query", "--json", "-n", "0", "--all-copies", text).output.splitlines()]
        assert counted == len(listed) == len(lines) - 1 == lines[-1]["total"] > 0


def test_timeline_and_sources_count_what_query_counts(proximity_index, run_cli, monkeypatch):
    monkeypatch.setenv("ARCHSEARCH_INDEX", str(proximity_index))
    assert run_cli("timeline", "--by", "day", "alpha NEAR/3 beta -gamma").output.split() == [
        "2021-01-01", "1", "2021-01-02", "1"
    ]


def test_a_bad_operator_is_a_one_line_error_on_the_command_line(proximity_index, run_cli, monkeypatch):
    monkeypatch.setenv("ARCHSEARCH_INDEX", str(proximity_index))
    result = run_cli("query", "alpha NEAR/0 beta")
    assert result.exit_code == 2 and "NEAR takes a distance" in result.output and "Traceback" not in result.output


# Counted exactly: random articles of a few words, random NEAR/n queries, compared with a count
# of the words' positions in each text.

VOCABULARY = ["red", "green", "blue", "black", "white"]


def random_corpus(seed: int) -> dict[str, str]:
    rng = random.Random(seed)
    return {
        f"{number:02d}.txt": article(number % 28 + 1, " ".join(rng.choice(VOCABULARY) for _ in range(rng.randint(3, 30))))
        for number in range(40)
    }


@pytest.fixture(scope="module")
def random_index(tmp_path_factory):
    articles = random_corpus(7)
    return build_index(tmp_path_factory.mktemp("random"), articles), articles


def expected_near(articles, first, second, distance) -> list[str]:
    found = []
    for name, text in articles.items():
        body = words(text.split(LEAD, 1)[1].lower())
        one = [i for i, word in enumerate(body) if word == first]
        two = [i for i, word in enumerate(body) if word == second]
        if any(abs(i - j) <= distance for i in one for j in two):  # `red NEAR red`: any red
            found.append(name)
    return sorted(found)


@settings(max_examples=40, deadline=None)
@given(st.sampled_from(VOCABULARY), st.sampled_from(VOCABULARY), st.integers(1, 8))
def test_near_counts_exactly(random_index, first, second, distance):
    index, articles = random_index
    assert ids(index, f"{first} NEAR/{distance} {second}") == expected_near(articles, first, second, distance)


def test_did_you_mean_never_respells_the_operators(tmp_path):
    common = {f"{number}.txt": article(number, "The next year, sentences were read, and the Taliban mentioned Kabul.")
              for number in range(1, 12)}
    index = build_index(tmp_path, common)
    for typed, meant in [
        ("talibn NEAR/3 kabul", "taliban NEAR/3 kabul"),
        ("SENTENCE(talibn kabul)", "SENTENCE(taliban kabul)"),
        ("mentions>=1:kabul talibn", "mentions>=1:kabul taliban"),
    ]:
        assert search(index, typed).suggestion == meant


# The proximity bonus in ranking (issue 14).


def test_shortest_cover_and_closeness():
    from archsearch.proximity import closeness, shortest_cover

    assert shortest_cover([[(3, 3), (20, 20)], [(9, 9), (21, 21)], [(15, 15), (30, 30)]]) == 6  # 15..21
    assert shortest_cover([[(1, 1)], []]) is None
    assert closeness([[(4, 4)], [(5, 5)], [(6, 6)]], 3) == 1.0  # side by side
    assert closeness([[(4, 4)], [(8, 8)]], 2) == 0.25  # 4 words apart
    assert closeness([[(4, 4)], [(5, 5)], []], 3) == pytest.approx(2 / 3)  # two of three, side by side
    assert closeness([[(4, 4)], [], []], 3) == 0.0


def test_articles_whose_words_stand_close_rank_higher(tmp_path):
    # Both bodies hold each word once and are as long; the spread one comes first among equals.
    spread = article(1, "Omicron spread fast. " + "Nothing else to say here. " * 6 + "Vaccines arrived late.")
    close = article(2, "Nothing else to say here. " * 6 + "Omicron vaccines arrived fast. Spread late.")
    index = build_index(tmp_path, {"a-spread.txt": spread, "b-close.txt": close})
    ranked = search(index, "omicron vaccines").hits
    assert [hit.id for hit in ranked] == ["b-close.txt", "a-spread.txt"]
    assert ranked[0].score > ranked[1].score
    # One word, --any and date order are left as they were: equal scores, the first article first.
    assert [hit.id for hit in search(index, "omicron").hits] == ["a-spread.txt", "b-close.txt"]
    assert [hit.id for hit in search(index, "omicron vaccines", any_words=True).hits] == ["a-spread.txt", "b-close.txt"]


def test_the_bonus_multiplies_the_score_by_closeness(tmp_path, monkeypatch):
    import archsearch.searching as searching

    index = build_index(tmp_path, {"one.txt": article(1, "Then omicron and vaccines came.")})
    monkeypatch.setattr(searching, "PROXIMITY_WEIGHT", 0.0)
    (plain,) = search(index, "omicron vaccines").hits
    monkeypatch.setattr(searching, "PROXIMITY_WEIGHT", 1.0)
    (raised,) = search(index, "omicron vaccines").hits
    assert raised.score == pytest.approx(plain.score * (1 + 1.0 * 0.5))  # 2 words apart: closeness 1/2
