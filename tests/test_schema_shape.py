"""schema.is_current compares the index's schema with a shape written out (CURRENT_SHAPE), not with
a Schema built for each query: the two must be the same."""

import pytest
from whoosh.analysis import StandardAnalyzer
from whoosh.columns import VarBytesColumn
from whoosh.fields import ID, KEYWORD, STORED, TEXT

from archsearch.schema import CURRENT_SHAPE, LONG_BODY_FIELD, build_schema, is_current, schema_shape


def test_the_written_shape_is_the_built_schemas():
    assert CURRENT_SHAPE == schema_shape(build_schema())


def compared_with_a_built_schema(schema) -> bool:
    """is_current as it was: the shape of a Schema built anew, without LONG_BODY_FIELD where the
    index has none."""
    expected = build_schema()
    if LONG_BODY_FIELD not in schema:
        expected.remove(LONG_BODY_FIELD)
    return schema_shape(schema) == schema_shape(expected)


def _removed(name):
    def change(schema):
        schema.remove(name)

    return change


def _replaced(name, field):
    def change(schema):
        schema.remove(name)
        schema.add(name, field)

    return change


CHANGES = {
    "none": lambda schema: None,
    "no long bodies (the schema before them)": _removed(LONG_BODY_FIELD),
    "a field less": _removed("capitals"),
    "a field more": lambda schema: schema.add("extra", STORED()),
    "a field of another kind": _replaced("format", KEYWORD(stored=True)),
    "another analyzer": _replaced("title", TEXT(analyzer=StandardAnalyzer(), stored=True)),
    "a column more": _replaced("section", TEXT(stored=True, sortable=True)),
    "a column less": _replaced("source", TEXT(stored=True)),
    "another column": _replaced(LONG_BODY_FIELD, build_schema()["source"].__class__(sortable=VarBytesColumn())),
    "no long bodies, another field changed": lambda schema: (schema.remove(LONG_BODY_FIELD), schema.remove("key"), schema.add("key", STORED())),
    "an id stored elsewhere": _replaced("root", ID()),
}


@pytest.mark.parametrize("change", CHANGES, ids=list(CHANGES))
def test_is_current_says_what_comparing_with_a_built_schema_said(change):
    schema = build_schema()
    CHANGES[change](schema)
    assert is_current(schema) == compared_with_a_built_schema(schema)
    assert is_current(schema) == (change in ("none", "no long bodies (the schema before them)", "an id stored elsewhere"))
