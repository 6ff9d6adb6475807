"""Reading article files: one reader per file format, each turning a file into articles.

`Article` and `UnreadableFile` (article.py) are what every reader produces; text.py reads
the plain-text shapes (wire copy, web pages saved as text).
"""

from archsearch.formats.article import Article, UnreadableFile
from archsearch.formats.text import read_article

__all__ = ["Article", "UnreadableFile", "read_article"]
