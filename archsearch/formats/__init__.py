"""Reading article files: one reader per file format, each turning a file into articles.

registry.py sniffs a file's format (content first, extension second) and hands it to its
reader: text.py (wire copy, web pages saved as text), frontmatter.py (Markdown or text with
YAML front matter), html.py (saved pages), warc.py (web crawls), exports.py (JSON Lines, JSON,
CSV, TSV), mail.py (.eml, mbox) and pdf.py.  Each yields `Article`s, and `BadRecord`s for
the records of a container file that give none (article.py); source.py reads the file,
gzip-compressed or not.  Nothing here imports a parser library until a file needs it.
"""

from archsearch.formats.article import Article, BadRecord, UnreadableFile
from archsearch.formats.registry import FORMATS, read_article, read_body, read_file

__all__ = ["FORMATS", "Article", "BadRecord", "UnreadableFile", "read_article", "read_body", "read_file"]
