"""The commands' names, each with its module under archsearch.cli: apart from click, for the
configuration file (archsearch.config), whose tables are named after the commands, and which a
query run without click (archsearch.query_line) reads too."""

COMMANDS = {
    "browse": "browse",
    "cluster": "cluster",
    "config": "config",
    "help": "help",
    "index": "index",
    "kwic": "kwic",
    "open": "open",
    "query": "query",
    "serve": "serve",
    "show": "show",
    "similar": "similar",
    "sources": "sources",
    "stats": "stats",
    "terms": "terms",
    "timeline": "timeline",
}
