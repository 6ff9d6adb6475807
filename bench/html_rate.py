#!/usr/bin/env python3
"""How many HTML pages archsearch reads per second on one core (issue 12's goal: at least 100).

    python bench/html_rate.py [--pages N] [--keep DIR]

Writes N news pages (default 300) as a site would serve them: head with meta tags, scripts
and JSON-LD, a cookie banner, a navigation of 80 links, the article (real text from
bench/data/newsarticles.jsonl when bench/fetch_newsarticles.py has run, else the seed
corpus's text repeated), ads, 10 related links, comments and a footer of 40 links; about
45-90 KB each, the size of a saved news page without its images.  Then reads every page
with archsearch's reader (formats.read_file: sniffing, reading, trafilatura, htmldate) in
this one process, after one warm-up page, and prints pages per CPU second (the rate of one
core, whatever else the machine runs), the median CPU time per page and the wall-clock rate.
"""

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from html import escape
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from archsearch.formats import read_file  # noqa: E402

NEWS = ROOT / "bench" / "data" / "newsarticles.jsonl"


def articles() -> list[dict]:
    if NEWS.exists():
        with open(NEWS, encoding="utf-8") as lines:
            return [json.loads(line) for line in lines]
    text = "\n\n".join(path.read_text(encoding="utf-8") for path in sorted((ROOT / "seeds").glob("*.txt")))
    return [{"title": f"Seed story {n}", "text": text, "source": "Seed Times", "date": "2021-12-10"} for n in range(50)]


def page(article: dict, number: int, rng: random.Random) -> str:
    links = "".join(f'<li><a href="/section/{n}">Section {n}</a></li>' for n in range(150))
    related = "".join(f'<li><a href="/story/{rng.randrange(10**6)}">Related story {n}</a></li>' for n in range(10))
    comments = "".join(
        f'<div class="comment"><span class="user">reader{n}</span><p>Comment {n} on this story.</p></div>'
        for n in range(5)
    )
    footer = "".join(f'<a href="/about/{n}">About page {n}</a> ' for n in range(40))
    paragraphs = "".join(f"<p>{escape(p)}</p>\n" for p in article["text"].split("\n\n"))
    script = "function track(){var d=window.dataLayer||[];d.push(arguments)}" * 250
    title = escape(article.get("title") or "Untitled")
    json_ld = json.dumps({"@type": "NewsArticle", "headline": article.get("title"), "datePublished": article.get("date"),
                          "author": {"@type": "Person", "name": "Staff Writer"}})
    return f"""<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{title} | {escape(article.get("source", ""))}</title>
<meta property="og:site_name" content="{escape(article.get("source", ""))}">
<link rel="canonical" href="https://news.example.com/story/{number}">
<script>{script}</script><script>{script}</script><script type="application/ld+json">{json_ld}</script>
<style>{".c{color:red}" * 1500}</style></head><body>
<div class="cookie-banner">We use cookies. <button>Accept</button></div>
<header><nav><ul>{links}</ul></nav></header>
<main><article><h1>{title}</h1><p class="byline">By Staff Writer</p>{paragraphs}</article>
<aside class="ad">Advertisement: cheap flights</aside><aside class="related"><h2>Related</h2><ul>{related}</ul></aside>
<section class="comments">{comments}</section></main><footer>{footer}</footer></body></html>"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=300)
    parser.add_argument("--keep", type=Path, help="write the pages here and keep them")
    options = parser.parse_args()
    rng = random.Random(42)
    source = articles()
    folder = options.keep or Path(tempfile.mkdtemp(prefix="archsearch-html-"))
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for number in range(options.pages):
        path = folder / f"page{number:05}.html"
        path.write_text(page(rng.choice(source), number, rng), encoding="utf-8")
        paths.append(path)
    list(read_file(paths[0]))  # imports trafilatura and warms its caches
    times = []
    started, cpu_started = time.perf_counter(), time.process_time()
    for path in paths:
        before = time.process_time()
        list(read_file(path))
        times.append(time.process_time() - before)
    cpu, elapsed = time.process_time() - cpu_started, time.perf_counter() - started
    size = statistics.mean(path.stat().st_size for path in paths) / 1024
    print(f"{options.pages} pages of {size:.0f} KiB on average: {options.pages / cpu:.0f} pages per CPU second "
          f"(median {statistics.median(times) * 1000:.1f} ms CPU per page); {options.pages / elapsed:.0f} pages/s "
          f"of wall time, which other processes on the machine slow down")
    if not options.keep:
        for path in paths:
            path.unlink()
        folder.rmdir()


if __name__ == "__main__":
    main()
