"""archsearch: full-text search for archives of news articles."""

__version__ = "0.1.0"
