"""Realistic files of every format archsearch reads, written by the tests themselves."""

import io
from pathlib import Path

# Words that appear only in the page's furniture: none may match the article.
FURNITURE_WORDS = (
    "gtag", "cookies", "cheap flights", "Dubai", "Earthquake", "Wheat", "Zealously",
    "Copyright", "Newsletter", "Weather", "Sport",
)

NEWS_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Taliban reopen girls' schools in Herat | Daily Ledger</title>
<link rel="canonical" href="https://ledger.example.com/world/2021/12/taliban-schools-herat">
<meta property="og:site_name" content="Daily Ledger">
<meta name="viewport" content="width=device-width">
<script>window.dataLayer=[];function gtag(){dataLayer.push(arguments)}gtag('js',new Date());</script>
<script type="application/ld+json">
{"@context": "https://schema.org", "@type": "NewsArticle",
 "headline": "Taliban reopen girls' schools in Herat",
 "datePublished": "2021-12-10T08:30:00+04:30",
 "author": {"@type": "Person", "name": "Amina Rahimi"},
 "publisher": {"@type": "Organization", "name": "Daily Ledger"}}
</script>
</head>
<body>
<div id="cookie-banner" class="cookie-consent">We use cookies to improve your experience.
<button>Accept all cookies</button></div>
<header><nav><ul>
<li><a href="/">Home</a></li><li><a href="/world">World</a></li>
<li><a href="/sport">Sport</a></li><li><a href="/weather">Weather</a></li>
</ul></nav></header>
<main>
<article>
<h1>Taliban reopen girls' schools in Herat</h1>
<p class="byline">By Amina Rahimi</p>
<p>HERAT, Afghanistan (AP) — Hundreds of girls returned to secondary schools in the western
city of Herat on Friday, four months after the Taliban takeover closed most classrooms for
teenage girls across the country.</p>
<p>Teachers said attendance was high on the first morning, although many families remained
cautious about sending their daughters back while the rules on uniforms and transport were
still unclear.</p>
<p>The provincial education director told reporters that the reopening covered all grades
from seven to twelve, and that female teachers would be paid their outstanding salaries by
the end of the month.</p>
<p>Aid agencies welcomed the decision but warned that schools in many other provinces
remained shut, leaving more than a million girls without access to secondary education this
winter.</p>
</article>
<aside class="ad advertisement"><a href="https://ads.example.net">Cheap flights to Dubai from
99 dollars, book now</a></aside>
<aside class="related"><h2>Related articles</h2><ul>
<li><a href="/a">Earthquake hits Kandahar province overnight</a></li>
<li><a href="/b">Wheat prices soar in Kabul markets</a></li></ul></aside>
<section id="comments" class="comments"><h3>Comments</h3>
<div class="comment"><p>Zealously commented by a reader: this is wonderful news for everybody
in the region.</p></div></section>
</main>
<footer class="site-footer"><p>Copyright 2021 Daily Ledger Media Group. Privacy policy.
Terms of use. Newsletter signup.</p></footer>
</body>
</html>
"""


def news_page(city: str = "Herat") -> str:
    return NEWS_PAGE.replace("Herat", city).replace("HERAT", city.upper())


def write_warc(path: Path, gzip: bool = True) -> Path:
    """A crawl: robots.txt, a redirect, two news pages (each with its request record)."""
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    with open(path, "wb") as file:
        writer = WARCWriter(file, gzip=gzip)

        def exchange(url: str, status: str, content_type: str, body: bytes, headers=()) -> None:
            request = StatusAndHeaders(f"GET {url} HTTP/1.1", [("Host", "ledger.example.com")], is_http_request=True)
            writer.write_record(writer.create_warc_record(url, "request", http_headers=request))
            http = StatusAndHeaders(status, [("Content-Type", content_type), *headers], protocol="HTTP/1.1")
            record = writer.create_warc_record(
                url, "response", payload=io.BytesIO(body), http_headers=http,
                warc_headers_dict={"WARC-Date": "2023-05-01T12:00:00Z"},
            )
            writer.write_record(record)

        exchange("https://ledger.example.com/robots.txt", "200 OK", "text/plain",
                 b"User-agent: *\nDisallow: /private\n")
        exchange("https://ledger.example.com/old-herat", "301 Moved Permanently", "text/html",
                 b"<html><body>Moved to the new address</body></html>",
                 [("Location", "https://ledger.example.com/world/herat")])
        exchange("https://ledger.example.com/world/herat", "200 OK", "text/html; charset=utf-8",
                 news_page("Herat").encode())
        exchange("https://ledger.example.com/world/mazar", "200 OK", "text/html; charset=utf-8",
                 news_page("Mazar").encode())
    return path


MULTIPART_MAIL = b"""Return-Path: <tips@example.org>
Received: from mx.example.org by mail.example.com; Fri, 10 Dec 2021 09:00:00 +0000
DKIM-Signature: v=1; a=rsa-sha256; d=example.org; s=sel;
 b=AbCdEfGhIjKlMnOpQrStUvWxYzDkimWordOnly0123456789
From: =?utf-8?q?J=C3=BCrgen_M=C3=BCller?= <juergen@example.org>
To: desk@example.com
Subject: =?utf-8?b?VGlwOiBaw7xyaWNoIGNvdW5jaWwgdm90ZSByaWdnZWQ/?=
Date: Fri, 10 Dec 2021 09:00:00 +0100
Message-ID: <tip-1@example.org>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="OUTER"

--OUTER
Content-Type: multipart/alternative; boundary="INNER"

--INNER
Content-Type: text/plain; charset="utf-8"
Content-Transfer-Encoding: quoted-printable

The council vote in Z=C3=BCrich on Thursday was decided before the meeting, a=
ccording to two members who asked not to be named.

They say the minutes were written in advance.
--INNER
Content-Type: text/html; charset="utf-8"

<html><body><p>The council vote in Zurich (HTML copy).</p></body></html>
--INNER--
--OUTER
Content-Type: application/pdf; name="minutes.pdf"
Content-Disposition: attachment; filename="minutes.pdf"
Content-Transfer-Encoding: base64

JVBERi0xLjQKYXR0YWNobWVudHdvcmQK
--OUTER--
"""


def write_pdf(path: Path, lines: list[str], title: str = "", created: str = "") -> Path:
    """A one-page PDF; its lines are drawn in Helvetica, so they make a text layer."""
    from pypdf import PdfWriter
    from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

    writer = PdfWriter()
    page = writer.add_blank_page(width=612, height=792)
    font = DictionaryObject({
        NameObject("/Type"): NameObject("/Font"),
        NameObject("/Subtype"): NameObject("/Type1"),
        NameObject("/BaseFont"): NameObject("/Helvetica"),
    })
    page[NameObject("/Resources")] = DictionaryObject(
        {NameObject("/Font"): DictionaryObject({NameObject("/F1"): writer._add_object(font)})}
    )
    operators = ["BT /F1 12 Tf 72 720 Td 14 TL", *(f"({line}) Tj T*" for line in lines), "ET"]
    content = DecodedStreamObject()
    content.set_data("\n".join(operators).encode("latin-1"))
    page[NameObject("/Contents")] = writer._add_object(content)
    metadata = {}
    if title:
        metadata["/Title"] = title
    if created:
        metadata["/CreationDate"] = created
    if metadata:
        writer.add_metadata(metadata)
    with open(path, "wb") as file:
        writer.write(file)
    return path
