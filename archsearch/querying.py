"""Turning what the user typed into a Whoosh query."""

from whoosh.qparser import AndGroup, MultifieldParser, OrGroup

# Plain words are looked for in these fields; title matches weigh more through the schema's field boost.
DEFAULT_FIELDS = ("title", "body")


def parse_query(text: str, schema, any_words: bool = False):
    parser = MultifieldParser(list(DEFAULT_FIELDS), schema, group=OrGroup if any_words else AndGroup)
    return parser.parse(text)
