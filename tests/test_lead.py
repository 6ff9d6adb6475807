"""`lead:WORDS` (Nexis's "At the Start"): a word in the title or in the first paragraph, in every
format, composable with the rest of the query language, and marked where it matched."""

import datetime
import io
import json

import pytest

from archsearch.formats import read_article
from archsearch.formats.article import LEAD_MAX_CHARS, lead_end
from archsearch.indexing import update_index
from archsearch.searching import search
from format_files import write_pdf

TODAY = datetime.date(2024, 1, 1)

# Three paragraphs of an article; `{first}`, `{later}` take the word looked for (or a filler).
FIRST = "The council of the northern city met on Friday to agree the {first} budget for next year."
SECOND = "Members argued for hours about the cost of new roads and the repair of old bridges there."
LATER = "A spokesman said later that the {later} plan would be published in full next month."


def paragraphs(first="water", later="housing") -> list[str]:
    return [FIRST.format(first=first), SECOND, LATER.format(later=later)]


# The three articles of every format: the word in the first paragraph, only in a later one, only
# in the title.  (Wire copy has no title of its own: its title is its lead sentence.)
CASES = {
    "first": ("Council meets on the budget", paragraphs(first="zebra")),
    "later": ("Council meets on the budget", paragraphs(later="zebra")),
    "title": ("Zebra crossings on the council agenda", paragraphs()),
}


def text_web(title, paras):
    return f"Home / News / {title}\n\n{title}\n\n" + "\n\n".join(paras)


def text_wire(title, paras):
    return " date 2021-12-10 KABUL, December 10. /TASS/. " + "\n\n".join(paras)


def front_matter(title, paras):
    return f"---\ntitle: {title}\ndate: 2021-12-10\n---\n" + "\n\n".join(paras)


def html_page(title, paras):
    body = "".join(f"<p>{p}</p>\n" for p in paras)
    return (
        f"<!DOCTYPE html><html lang='en'><head><title>{title}</title></head><body><main><article>"
        f"<h1>{title}</h1>\n<p class='byline'>By Amina Rahimi</p>\n{body}</article></main></body></html>"
    )


def mail(title, paras):
    return (
        "From: Reporter <reporter@example.org>\nTo: desk@example.com\n"
        f"Subject: {title}\nDate: Fri, 10 Dec 2021 09:00:00 +0000\nMessage-ID: <m@example.org>\n\n"
        "Hello desk,\n\n" + "\n\n".join(paras) + "\n"
    )


def write_files(folder, fmt: str) -> None:
    """The three articles in `fmt`, named after their case."""
    folder.mkdir()
    if fmt == "warc":
        from warcio.statusandheaders import StatusAndHeaders
        from warcio.warcwriter import WARCWriter

        with open(folder / "crawl.warc.gz", "wb") as file:
            writer = WARCWriter(file, gzip=True)
            for name, (title, paras) in CASES.items():
                http = StatusAndHeaders("200 OK", [("Content-Type", "text/html")], protocol="HTTP/1.1")
                writer.write_record(writer.create_warc_record(
                    f"https://example.com/{name}", "response", payload=io.BytesIO(html_page(title, paras).encode()),
                    http_headers=http, warc_headers_dict={"WARC-Record-ID": f"<urn:{name}>"},
                ))
        return
    if fmt == "jsonl":
        lines = [json.dumps({"id": name, "headline": title, "text": "\n\n".join(paras)}) for name, (title, paras) in CASES.items()]
        (folder / "export.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
        return
    for name, (title, paras) in CASES.items():
        if fmt == "pdf":
            # Lines as a text layer draws them: a paragraph's last line is short.
            lines = []
            for para in paras:
                words = para.split()
                lines += [" ".join(words[:12]), " ".join(words[12:])]
            write_pdf(folder / f"{name}.pdf", lines, title=title)
            continue
        writer, extension = {
            "text": (text_web, "txt"), "wire": (text_wire, "txt"), "frontmatter": (front_matter, "md"),
            "html": (html_page, "html"), "email": (mail, "eml"),
        }[fmt]
        (folder / f"{name}.{extension}").write_text(writer(title, paras), encoding="utf-8")


def found(index_dir, query: str) -> set[str]:
    """The articles found, by case: "first.txt", "crawl.warc.gz#urn:first", "export.jsonl#1" -> "first"."""
    names = set()
    for hit in search(index_dir, query, limit=0, today=TODAY, with_snippets=False, collapse_copies=False).hits:
        file, _, record = hit.id.partition("#")
        names.add({"1": "first", "2": "later", "3": "title"}.get(record, record.removeprefix("urn:")) if record else file.split(".")[0])
    return names


FORMATS = ("text", "wire", "frontmatter", "html", "warc", "email", "pdf", "jsonl")


@pytest.fixture(scope="module")
def indexes(tmp_path_factory):
    built = {}
    for fmt in FORMATS:
        root = tmp_path_factory.mktemp(fmt)
        write_files(root / "articles", fmt)
        report = update_index(root / "index", [str(root / "articles")])
        assert not report.skipped, report.skipped
        built[fmt] = root / "index"
    return built


@pytest.mark.parametrize("fmt", FORMATS)
def test_lead_finds_the_first_paragraph_and_the_title_not_later_paragraphs(indexes, fmt):
    names, index_dir = found, indexes[fmt]
    assert names(index_dir, "zebra") == ({"first", "later"} if fmt == "wire" else {"first", "later", "title"})
    expected = {"first"} if fmt == "wire" else {"first", "title"}
    assert names(index_dir, "lead:zebra") == expected
    assert names(index_dir, "zebra NOT lead:zebra") == {"later"}
    # The first paragraph's other words are in the lead too; the second paragraph's are not.
    assert names(index_dir, "lead:northern") == {"first", "later", "title"}
    assert names(index_dir, "lead:bridges") == set()


def test_each_format_reads_its_first_paragraph_as_the_lead(indexes, tmp_path):
    write_files(tmp_path / "html", "html")
    article = read_article(tmp_path / "html" / "first.html")
    # The page's heading is its title, not its lead (trafilatura leaves the byline out).
    assert article.lead == FIRST.format(first="zebra") and not article.title_derived
    write_files(tmp_path / "pdf", "pdf")
    assert " ".join(read_article(tmp_path / "pdf" / "first.pdf").lead.split()) == FIRST.format(first="zebra")
    write_files(tmp_path / "wire", "wire")
    wire = read_article(tmp_path / "wire" / "first.txt")
    assert wire.lead == "KABUL, December 10. /TASS/. " + FIRST.format(first="zebra")
    assert wire.title_derived and wire.title in wire.lead


def test_the_lead_of_a_body_without_paragraphs_stops_within_a_limit():
    words = " ".join(f"word{n}" for n in range(400))
    end = lead_end(words)
    assert end <= LEAD_MAX_CHARS and words[end] == " "
    # A short paragraph (a byline, a dateline on its own line) is read with the one after it.
    assert lead_end("Short line\n\nA paragraph with enough words to be the lead.\n\nMore.") == len(
        "Short line\n\nA paragraph with enough words to be the lead."
    )
    assert lead_end("One paragraph only, with six words or more.") == len("One paragraph only, with six words or more.")
    # Scripts written without spaces count by characters.
    chinese = "北京" * 40
    assert lead_end(f"{chinese}\n\n第二段") == len(chinese)


@pytest.fixture(scope="module")
def lead_index(tmp_path_factory):
    root = tmp_path_factory.mktemp("lead")
    articles = root / "articles"
    articles.mkdir()
    files = {
        # Kabul in the first paragraph and again further on.
        "both.txt": text_web("Talks resume in the capital", [
            "KABUL — Negotiators from both sides met in Kabul on Monday, the prime minister said in a statement.",
            SECOND, "Officials in Kabul said the talks would go on for a second week at least.",
        ]),
        "later.txt": text_web("Talks resume in the region", [
            "Negotiators from both sides met again on Monday, officials said after the first session ended.",
            SECOND, "The prime minister of the country, speaking in Kabul, said the talks were useful.",
        ]),
        "wire.txt": " date 2017-02-07 MOSCOW, February 7. /TASS/. The prime minister arrived in Kabul for talks "
        "with the government on Tuesday.\n\n" + SECOND,
    }
    for name, text in files.items():
        (articles / name).write_text(text, encoding="utf-8")
    update_index(root / "index", [str(articles)])
    return root / "index"


def ids(index_dir, query, **options) -> list[str]:
    return sorted(hit.id for hit in search(index_dir, query, limit=0, today=TODAY, **options).hits)


def test_lead_composes_with_phrases_operators_dates_and_fields(lead_index):
    assert ids(lead_index, "kabul") == ["both.txt", "later.txt", "wire.txt"]
    assert ids(lead_index, "lead:kabul") == ["both.txt", "wire.txt"]
    assert ids(lead_index, 'lead:"prime minister"') == ["both.txt", "wire.txt"]
    assert ids(lead_index, '"prime minister" NOT lead:"prime minister"') == ["later.txt"]
    assert ids(lead_index, "lead:kabul date:2017-02") == ["wire.txt"]
    assert ids(lead_index, "lead:kabul", since="2017-01", until="2017-03") == ["wire.txt"]
    assert ids(lead_index, "lead:(moscow OR negotiators)") == ["both.txt", "later.txt", "wire.txt"]
    assert ids(lead_index, "lead:kabul OR title:region") == ["both.txt", "later.txt", "wire.txt"]
    assert ids(lead_index, "lead:kab*") == ["both.txt", "wire.txt"]
    # The title counts as the start: the word only in a web page's headline is found.
    assert ids(lead_index, "lead:resume") == ["both.txt", "later.txt"]


def test_lead_marks_the_first_paragraph_only(lead_index):
    (hit,) = [hit for hit in search(lead_index, "lead:kabul", today=TODAY).hits if hit.id == "both.txt"]
    marked = [(snippet.start, snippet.text[a:b]) for snippet in hit.snippets for a, b in snippet.matches]
    # The dateline's and the lead sentence's, not the third paragraph's; the passage is the lead's.
    assert marked == [(0, "KABUL"), (0, "Kabul")]
    # A plain word is marked wherever it is.
    (hit,) = [hit for hit in search(lead_index, "kabul", today=TODAY).hits if hit.id == "both.txt"]
    assert [snippet.text[a:b] for snippet in hit.snippets for a, b in snippet.matches] == ["KABUL", "Kabul", "Kabul"]


def test_lead_marks_a_title_made_from_the_lead(lead_index):
    (hit,) = search(lead_index, "lead:kabul date:2017", today=TODAY).hits
    assert hit.title.startswith("The prime minister arrived in Kabul")
    assert [hit.title[a:b] for a, b in hit.title_matches] == ["Kabul"]


def test_lead_in_the_command_line(lead_index, run_cli, monkeypatch):
    monkeypatch.setenv("ARCHSEARCH_INDEX", str(lead_index))
    result = run_cli("query", "--json", "lead:kabul")
    assert result.exit_code == 0, result.output
    hits = [json.loads(line) for line in result.output.splitlines() if json.loads(line).get("type") == "hit"]
    assert sorted(hit["id"] for hit in hits) == ["both.txt", "wire.txt"]
    result = run_cli("query", "lead:")
    assert result.exit_code == 2 and "'lead:' needs a value" in result.output


def test_kwic_of_lead_lists_the_lead_occurrences_only(lead_index):
    from archsearch.concordance import concordance

    found = concordance(lead_index, "lead:kabul", width=2, today=TODAY)
    assert sorted((occurrence.id, occurrence.match) for occurrence in found.occurrences) == [
        ("both.txt", "KABUL"), ("both.txt", "Kabul"), ("wire.txt", "Kabul"),
    ]
