"""E-mail: single messages (``.eml``) and mailboxes (mbox), one article per message.

Subject -> title, ``Date:`` -> date, sender -> author, and the text part as the body, decoded
(quoted-printable, base64, any charset; RFC 2047 headers).  A message with only an HTML part
is read as an HTML page.  Attachments are not read.
"""

import email
import email.message
import email.policy
import re
from collections.abc import Iterator

from archsearch.formats.article import Article, BadRecord, UnreadableFile
from archsearch.formats.datevalues import parse_date
from archsearch.formats.source import Source
from archsearch.formats.text import Draft, collapse_spaces, derive_title, join_paragraphs, unify_newlines

# A message past this is mostly attachments, which are not read; its start holds the text.
MAX_MESSAGE_BYTES = 32 * 1024 * 1024
_MBOX_FROM = re.compile(rb"From \S")
_ESCAPED_FROM = re.compile(rb">+From ")


def read_email(source: Source) -> Iterator[Article]:
    data = source.read(MAX_MESSAGE_BYTES)
    article = message_article(data[:MAX_MESSAGE_BYTES])
    if article is None:
        raise UnreadableFile("no text part in the message")
    yield article


def read_mbox(source: Source) -> Iterator[Article | BadRecord]:
    """Streamed message by message, so a mailbox of any size is never in memory whole."""
    for number, (line, data) in enumerate(_mbox_messages(source), start=1):
        where = f"message {number} (line {line})"
        article = message_article(data, key=str(number))
        yield article or BadRecord(where, "no text part")


def _mbox_messages(source: Source) -> Iterator[tuple[int, bytes]]:
    """(line the message's From_ line is on, its bytes) for each message of an mbox file."""
    lines: list[bytes] = []
    size = 0
    start = 0
    previous_blank = True
    with source.open() as stream:
        for number, line in enumerate(stream, start=1):
            if previous_blank and _MBOX_FROM.match(line):
                if start:
                    yield start, b"".join(lines)
                lines, size, start = [], 0, number
            elif start and size < MAX_MESSAGE_BYTES:
                if _ESCAPED_FROM.match(line):
                    line = line[1:]  # mboxrd quoting of body lines that start with "From "
                lines.append(line)
                size += len(line)
            previous_blank = not line.strip()
    if start:
        yield start, b"".join(lines)


def message_article(data: bytes, key: str = "") -> Article | None:
    """The article of one message, or None when it has no text part."""
    message = email.message_from_bytes(data, policy=email.policy.default)
    body = _body_text(message)
    if not body:
        return None
    subject = collapse_spaces(_header(message, "subject"))
    return Article(
        title=subject or derive_title(Draft.from_text(body)).title,
        title_derived=not subject,
        body=body,
        date=parse_date(_header(message, "date")),
        source="",
        place="",
        section="",
        author=_sender(message),
        language=_header(message, "content-language").split(",")[0].strip(),
        key=key,
    )


def _header(message: email.message.EmailMessage, name: str) -> str:
    """A header decoded (RFC 2047), or "" when it is missing or cannot be parsed."""
    try:
        return str(message.get(name, "") or "")
    except (ValueError, TypeError, IndexError):  # a malformed header the parser gives up on
        raw = message.get_all(name, failobj=[""])
        return str(raw[0]) if raw else ""


def _sender(message: email.message.EmailMessage) -> str:
    try:
        addresses = message["from"].addresses if message["from"] else ()
    except (AttributeError, ValueError, TypeError, IndexError):
        return collapse_spaces(_header(message, "from"))
    if not addresses:
        return collapse_spaces(_header(message, "from"))
    return collapse_spaces(addresses[0].display_name or addresses[0].addr_spec)


def _body_text(message: email.message.EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    try:
        content = part.get_content()
    except (LookupError, ValueError, AssertionError):  # an unknown charset or a broken encoding
        payload = part.get_payload(decode=True) or b""
        content = payload.decode("utf-8", "replace")
    if not isinstance(content, str):
        return ""
    if part.get_content_subtype() == "html":
        return _html_text(content)
    return join_paragraphs(unify_newlines(content).split("\n"))


def _html_text(html: str) -> str:
    from archsearch.formats.html import extract_page

    try:
        return extract_page(html).body
    except UnreadableFile:
        # Mail markup is often too thin for trafilatura to find an article: all its text, then.
        from lxml import html as lxml_html

        try:
            return join_paragraphs(lxml_html.fromstring(html).text_content().split("\n"))
        except Exception:  # lxml rejects empty or broken documents in several ways
            return ""
