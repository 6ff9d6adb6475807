import datetime

from archsearch.formats import read_file
from archsearch.formats.frontmatter import parse_front_matter

NOTE = """---
title: "Flooding closes Kabul river crossings"
date: 2022-03-04T10:00:00+04:30
source: Field Notes
url: https://notes.example.org/kabul-floods
author: [Sara Ahmadi, Tom Lee]
lang: en
tags:
  - floods
  - kabul
---
# Flooding closes Kabul river crossings

KABUL — The Kabul river burst its banks on Thursday, closing three crossings.

Residents waded through water to reach markets.
"""


def test_front_matter_fields(tmp_path):
    path = tmp_path / "note.md"
    path.write_text(NOTE)
    [article] = read_file(path)
    assert article.title == "Flooding closes Kabul river crossings"
    assert article.date == datetime.date(2022, 3, 4)
    assert (article.source, article.url, article.author, article.language) == (
        "Field Notes", "https://notes.example.org/kabul-floods", "Sara Ahmadi, Tom Lee", "en"
    )
    assert article.place == "Kabul"
    assert article.body.startswith("KABUL — The Kabul river")  # no front matter, no repeated heading
    assert "floods" not in article.body and "---" not in article.body
    assert article.format == "frontmatter"


def test_markdown_heading_is_the_title_without_one_in_the_front_matter(tmp_path):
    path = tmp_path / "note.txt"
    path.write_text("---\ndate: 2022/03/04\n---\n## River crossings closed\n\nText of the note.\n")
    [article] = read_file(path)
    assert (article.title, article.date, article.body) == (
        "River crossings closed", datetime.date(2022, 3, 4), "Text of the note."
    )


def test_unreadable_front_matter_date_is_a_warning(tmp_path):
    path = tmp_path / "note.md"
    path.write_text("---\ntitle: T\ndate: soon\n---\nText.\n")
    [article] = read_file(path)
    assert article.date is None
    assert article.warnings == ("front matter: unreadable date 'soon'",)


def test_parse_front_matter_scalars():
    assert parse_front_matter("Title: 'Quoted: yes'\nsummary: >\n  folded\nsource: Site # a comment\nlist: [a, 'b']") == {
        "title": "Quoted: yes", "summary": "", "source": "Site", "list": "a, b"
    }
