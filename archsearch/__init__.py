"""archsearch: full-text search for archives of news articles."""

from archsearch import lean_imports

__version__ = "0.1.0"

lean_imports.install()
