"""archsearch.records: records behave as the dataclasses they replace (made, compared, hashed,
printed, copied with changes), and a query makes them without loading dataclasses."""

import dataclasses
import datetime
import pickle

import pytest
from hypothesis import given
from hypothesis import strategies as st

from archsearch.records import Factory, FrozenRecordError, Record, as_dict, replace
from archsearch.searching import ArticleDetails, Hit, SearchResult


class Point(Record, frozen=True):
    """A frozen record with a default."""

    x: int
    y: int = 0


class Tally(Record):
    """A record that can change, with a default made for each one."""

    name: str
    counts: list[int] = Factory(list)


class One(Record, frozen=True):
    """A record of one field."""

    value: object


@dataclasses.dataclass(frozen=True)
class DataPoint:
    """Point as a dataclass, the reference."""

    x: int
    y: int = 0


@dataclasses.dataclass
class DataTally:
    """Tally as a dataclass."""

    name: str
    counts: list[int] = dataclasses.field(default_factory=list)


@dataclasses.dataclass(frozen=True)
class DataOne:
    """One as a dataclass."""

    value: object


values = st.one_of(st.integers(), st.text(max_size=5), st.none(), st.tuples(st.integers()))


@given(values, values, values, values)
def test_a_frozen_record_is_made_compared_hashed_and_printed_as_a_dataclass(x, y, other_x, other_y):
    point, data = Point(x, y), DataPoint(x, y)
    assert (point.x, point.y) == (data.x, data.y)
    assert hash(point) == hash(data)
    assert repr(point) == repr(data).replace("DataPoint", "Point")
    assert (point == Point(other_x, other_y)) == (data == DataPoint(other_x, other_y))
    assert (point != Point(other_x, other_y)) == (data != DataPoint(other_x, other_y))
    assert Point(x=x) == Point(x, 0) and Point(y=y, x=x) == point
    assert hash(One(x)) == hash(DataOne(x)) and One(x) == One(x) and repr(One(x)) == repr(DataOne(x)).replace("DataOne", "One")


@given(values, values, st.dictionaries(st.sampled_from(["x", "y"]), values))
def test_replace_and_as_dict_give_what_dataclasses_replace_and_asdict_give(x, y, changes):
    point, data = Point(x, y), DataPoint(x, y)
    assert as_dict(point) == dataclasses.asdict(data)
    assert as_dict(replace(point, **changes)) == dataclasses.asdict(dataclasses.replace(data, **changes))
    assert type(replace(point, **changes)) is Point


def test_a_copy_holds_the_fields_alone_in_their_order_whatever_else_a_record_holds():
    """replace copies a record's attributes where they are its fields: an attribute set beyond
    them (a record not frozen) does not come along, and changes stay apart."""
    tally = Tally("a", [1])
    tally.note = "not a field"
    copy = replace(tally, name="b")
    assert vars(copy) == {"name": "b", "counts": [1]} and list(vars(copy)) == list(Tally._fields)
    assert vars(tally) == {"name": "a", "counts": [1], "note": "not a field"}
    point = Point(1, 2)
    moved = replace(point, y=3)
    assert (point, moved) == (Point(1, 2), Point(1, 3)) and vars(moved) is not vars(point)


def test_records_of_another_class_are_not_equal_even_with_the_same_fields():
    assert Point(1, 2) != DataPoint(1, 2) and Point(1, 2) != (1, 2)
    assert One(1) != Point(1)


def test_a_frozen_record_cannot_change_and_one_that_can_cannot_be_hashed():
    point = Point(1)
    with pytest.raises(FrozenRecordError, match="cannot assign to field 'x'"):
        point.x = 2
    with pytest.raises(AttributeError):
        del point.y
    tally = Tally("a")
    tally.name = "b"
    assert tally == Tally("b")
    with pytest.raises(TypeError):
        hash(tally)


def test_a_factory_makes_a_new_default_for_each_record():
    first, second = Tally("a"), Tally("a")
    first.counts.append(1)
    assert second.counts == [] and first.counts == [1]
    assert Tally("a", [2]).counts == [2]
    assert repr(Tally("a")) == repr(DataTally("a")).replace("DataTally", "Tally")


def test_wrong_arguments_fail_as_they_do_for_a_dataclass():
    with pytest.raises(TypeError):
        Point()
    with pytest.raises(TypeError):
        Point(1, 2, 3)
    with pytest.raises(TypeError):
        Point(1, z=3)
    with pytest.raises(TypeError):
        replace(Point(1), z=3)


def test_the_query_path_s_records_survive_pickling_as_the_server_sends_them():
    details = ArticleDetails(url="https://example.com/a", author="A. Writer")
    hit = Hit(1, "a.txt", "/corpus/a.txt", "Title", datetime.date(2021, 12, 10), "TASS", "Kabul", "", 1.5, ((0, 5),), (), details=details)
    result = SearchResult("kabul", [hit], 1, 0.01)
    assert pickle.loads(pickle.dumps(result)) == result
    assert pickle.loads(pickle.dumps(hit)) == hit and hash(pickle.loads(pickle.dumps(hit))) == hash(hit)
    assert as_dict(details) == {"url": "https://example.com/a", "author": "A. Writer", "language": "", "format": "", "fetched": ""}
    assert result.explanation == [] and result.explanation is not SearchResult("x", [], 0, 0.0).explanation
