"""Turning what the user typed into a Whoosh query."""

from whoosh.qparser import AndGroup, MultifieldParser, OrGroup

# Plain words are looked for in these fields.
DEFAULT_FIELDS = ("title", "body")
# Title words say what an article is about far more than body words do. Applied when querying, not
# baked into the index, so it can be tuned without re-indexing (see bench/rank_eval.py).
FIELD_BOOSTS = {"title": 2.0, "body": 1.0}


def parse_query(text: str, schema, any_words: bool = False):
    parser = MultifieldParser(list(DEFAULT_FIELDS), schema, fieldboosts=FIELD_BOOSTS, group=OrGroup if any_words else AndGroup)
    return parser.parse(text)
