#!/usr/bin/env python3
"""Write a corpus of article files shaped like the project's seed corpus.

    python bench/make_corpus.py SIZE [OUT_DIR] [--seed N] [--force]

SIZE is ``4k`` (the real NewsArticles records, one file each) or a number of
generated articles: ``100k``, ``1m``, ``20000`` ...  OUT_DIR defaults to
bench/corpora/<SIZE>.  Input: bench/data/newsarticles.jsonl, written by
bench/fetch_newsarticles.py.

Each file has one of the two shapes of seeds/*.txt (UTF-8, "\\n", no final
newline):

  wire  " date 2021-12-10 KABUL, December 10. /TASS/. <lead>\\n\\n<para>..."
        (no title)
  web   "Home / <Section> / <Title>\\n\\n<Title>\\n\\n\\n<CITY>: <lead>\\n\\n<para>...
        \\n\\n\\nAbout The <Site>\\n\\nLeave a Reply\\n\\nYour email address will not be
        published. Required fields are marked *\\n\\n\\n\\nCheck Also\\n\\n<other title>
        \\n\\n<its first 12 words> ..."   (no date)

Files go to OUT_DIR/NNNN/IIIIII_<hash>.txt, 1,000 per folder (NNNN = I // 1000;
hash = first 16 hex digits of blake2b over the file's bytes).

Ground truth goes next to OUT_DIR: <OUT_DIR>.truth.jsonl, one JSON line per
file in file order, "path" relative to OUT_DIR (see bench/README.md).

Generated articles (any SIZE but 4k) take the lead and some paragraphs of one
real article and splice in 1-3 paragraphs of other real articles; the date
(2000-2025), city, agency/site, section and title variant are drawn at random.
Article I is drawn from random.Random(f"{seed}:{I}") only, so the same SIZE
and seed always give the same bytes, and a smaller corpus is a prefix of a
larger one.  Memory use does not grow with SIZE.
"""
import argparse
import datetime
import hashlib
import json
import os
import random
import re
import shutil
import sys
import time

BENCH = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(BENCH, "data", "newsarticles.jsonl")
PER_DIR = 1000
WEB_SHARE = 0.2
MONTHS = ["January", "February", "March", "April", "May", "June", "July",
          "August", "September", "October", "November", "December"]

# Real records: the dateline city is known only for TASS/PRNewswire wire copy;
# the rest get their outlet's home city.
HOME_CITY = {
    "TASS": "MOSCOW", "ABC News": "NEW YORK", "CNN": "ATLANTA", "Huffington Post": "NEW YORK",
    "BBC": "LONDON", "RTÉ": "DUBLIN", "DW": "BONN", "China Daily": "BEIJING",
    "Al Jazeera": "DOHA",
}

# Generated records.
AGENCIES = ["TASS", "Reuters", "AFP", "AP", "Xinhua", "dpa", "ANSA", "EFE", "Kyodo",
            "Yonhap", "PTI", "Anadolu", "Interfax", "Bernama", "APA", "Prensa Latina", "IRNA"]
SITES = ["Pashtun Times", "Kabul Chronicle", "Daily Ledger", "Morning Herald",
         "Evening Courier", "Global Observer", "Harbour Gazette", "Northern Star",
         "Capital Tribune", "Continental Post", "Frontier Post", "Valley Times",
         "Coastal Dispatch", "Metro Sentinel", "Citizen Journal"]
CITIES = ["KABUL", "MOSCOW", "WASHINGTON", "NEW YORK", "LONDON", "PARIS", "BERLIN",
          "BEIJING", "TOKYO", "NEW DELHI", "ISLAMABAD", "TEHRAN", "ANKARA", "CAIRO",
          "NAIROBI", "LAGOS", "JOHANNESBURG", "ADDIS ABABA", "DUBAI", "RIYADH", "BEIRUT",
          "DAMASCUS", "BAGHDAD", "TEL AVIV", "KIEV", "WARSAW", "PRAGUE", "VIENNA",
          "ZÜRICH", "GENEVA", "BRUSSELS", "MADRID", "LISBON", "ROME", "ATHENS",
          "ISTANBUL", "SÃO PAULO", "RIO DE JANEIRO", "BUENOS AIRES", "BOGOTÁ",
          "MEXICO CITY", "LOS ANGELES", "OTTAWA", "SYDNEY", "JAKARTA", "KUALA LUMPUR",
          "HONG KONG", "SEOUL", "MANILA", "HANOI", "DÜSSELDORF", "KRAKÓW", "REYKJAVÍK",
          "ST. PETERSBURG"]
SECTIONS = ["World", "Politics", "Business", "Economy", "Europe", "Asia", "Africa",
            "Americas", "Middle East", "Afghanistan", "Health", "Science", "Technology",
            "Sport", "Culture", "Opinion", "Environment", "Security", "Energy", "Education"]
TITLE_SUFFIXES = [": what we know", ": live updates", " - report", ", officials say",
                  " in {city}", " ({year})", ": analysis", ", {source} reports",
                  " as talks resume", ": the latest", " amid protests", " - sources",
                  ", says minister", " after {month} talks", ": Q&A"]
TITLE_PREFIXES = ["Exclusive: ", "Analysis: ", "Update: ", "{city}: ", "Breaking: ",
                  "Opinion: ", "Explainer: ", "In pictures: "]
DATE0 = datetime.date(2000, 1, 1).toordinal()
NDAYS = datetime.date(2025, 12, 31).toordinal() - DATE0 + 1
WEB_TAIL = ("\n\n\nAbout The {site}\n\nLeave a Reply\n\n"
            "Your email address will not be published. Required fields are marked *"
            "\n\n\n\nCheck Also\n\n{other_title}\n\n{snippet} ...")


def wire(date_iso, city, month_day, agency, paras):
    return f" date {date_iso} {city}, {month_day}. /{agency}/. " + "\n\n".join(paras)


def web(section, title, city, paras, site, other_title, snippet):
    return (f"Home / {section} / {title}\n\n{title}\n\n\n{city}: " + "\n\n".join(paras)
            + WEB_TAIL.format(site=site, other_title=other_title, snippet=snippet))


def month_day(iso):
    y, m, d = iso.split("-")
    return f"{MONTHS[int(m) - 1]} {int(d)}"


def snippet_of(text, nwords=12):
    return " ".join(text.split(None, nwords)[:nwords])


def load(path):
    if not os.path.exists(path):
        sys.exit(f"error: {path} missing; run bench/fetch_newsarticles.py first")
    with open(path, encoding="utf-8") as f:
        recs = [json.loads(line) for line in f]
    for r in recs:
        r["paras"] = r["text"].split("\n\n")
    return recs


def parse_size(s):
    m = re.fullmatch(r"(\d+)([km]?)", s.strip().lower())
    if not m:
        raise argparse.ArgumentTypeError(f"bad SIZE {s!r}: use 4k, 100k, 1m or an integer")
    return int(m.group(1)) * {"": 1, "k": 1000, "m": 1000000}[m.group(2)]


def prepare_out(out_dir, force):
    if os.path.isdir(out_dir) and os.listdir(out_dir):
        entries = os.listdir(out_dir)
        if not force:
            sys.exit(f"error: {out_dir} is not empty (use --force to replace it)")
        if not all(re.fullmatch(r"\d{4}", e) and os.path.isdir(os.path.join(out_dir, e))
                   for e in entries):
            sys.exit(f"error: {out_dir} holds files this script did not write; not deleting it")
        shutil.rmtree(out_dir)
    os.makedirs(out_dir, exist_ok=True)


class Writer:
    """Writes files OUT_DIR/NNNN/IIIIII_<hash>.txt and the truth lines."""

    USE_DIR_FD = os.open in os.supports_dir_fd

    def __init__(self, out_dir, total, truth_path):
        self.out_dir = out_dir
        self.total = total
        self.width = max(6, len(str(total - 1)))
        self.truth = open(truth_path + ".tmp", "w", encoding="utf-8", newline="\n")
        self.truth_path = truth_path
        self.bytes = 0
        self.t0 = time.monotonic()
        self.sub = None
        self.dir_fd = None       # fd of the current folder: no path lookup per file
        self.flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_BINARY", 0)

    def _enter(self, sub):
        self._leave()
        path = os.path.join(self.out_dir, sub)
        os.makedirs(path, exist_ok=True)
        self.sub = sub
        if self.USE_DIR_FD:
            self.dir_fd = os.open(path, os.O_RDONLY)

    def _leave(self):
        if self.dir_fd is not None:
            os.close(self.dir_fd)
            self.dir_fd = None

    def write(self, i, text, truth):
        data = text.encode("utf-8")
        sub = f"{i // PER_DIR:04d}"
        if sub != self.sub:
            self._enter(sub)
        name = f"{i:0{self.width}d}_{hashlib.blake2b(data, digest_size=8).hexdigest()}.txt"
        rel = f"{sub}/{name}"
        if self.dir_fd is not None:
            fd = os.open(name, self.flags, 0o644, dir_fd=self.dir_fd)
        else:
            fd = os.open(os.path.join(self.out_dir, sub, name), self.flags, 0o644)
        try:
            os.write(fd, data)
        finally:
            os.close(fd)
        self.bytes += len(data)
        self.truth.write(json.dumps({"path": rel, **truth}, ensure_ascii=False) + "\n")
        n = i + 1
        if n % 10000 == 0:
            dt = time.monotonic() - self.t0
            print(f"  {n:,}/{self.total:,} files, {self.bytes / 1e6:,.0f} MB, "
                  f"{dt:.0f}s, {n / dt:,.0f} files/s", file=sys.stderr, flush=True)

    def close(self, ok=True):
        self._leave()
        self.truth.close()
        if ok:
            os.replace(self.truth_path + ".tmp", self.truth_path)
        else:
            os.remove(self.truth_path + ".tmp")
        return time.monotonic() - self.t0


def make_real(recs, seed, w):
    """One file per real record, with its real date, title and text."""
    titled = [r for r in recs if r["title"]]
    title_count = {}
    for r in recs:
        title_count[r["title"]] = title_count.get(r["title"], 0) + 1
    for i, r in enumerate(recs):
        rnd = random.Random(f"{seed}:real:{r['id']}")
        is_web = rnd.random() < WEB_SHARE and bool(r["title"])
        dl = r["dateline"]
        city = dl["city"] if dl else HOME_CITY.get(r["source"], "NEW YORK")
        if is_web:
            other = rnd.choice(titled)
            while other is r:
                other = rnd.choice(titled)
            text = web(r["section"], r["title"], city.split(" /")[0].split(" (")[0], r["paras"],
                       r["source"], other["title"], snippet_of(other["paras"][0]))
        else:
            text = wire(r["date"], city, dl["month_day"] if dl else month_day(r["date"]),
                        dl["agency"] if dl else r["source"], r["paras"])
        w.write(i, text, {
            "shape": "web" if is_web else "wire", "id": r["id"], "title": r["title"],
            "title_in_file": is_web, "title_unique": title_count[r["title"]] == 1,
            "date": r["date"], "date_in_file": not is_web, "source": r["source"],
            "url": r["url"]})


def make_title(rnd, recs, titled, base, city, source, date):
    title = base["title"] or rnd.choice(titled)["title"]
    x = rnd.random()
    if x < 0.35:
        return title
    if x < 0.6:                                   # head of one title + tail of another
        a, b = title.split(), rnd.choice(titled)["title"].split()
        if len(a) >= 3 and len(b) >= 3:
            ka = rnd.randrange(1, len(a) - 1) + 1
            kb = rnd.randrange(1, len(b) - 1)
            return " ".join(a[:ka] + b[kb:])
        return title
    if x < 0.85:
        tpl = rnd.choice(TITLE_SUFFIXES)
    else:
        tpl = rnd.choice(TITLE_PREFIXES)
    fill = tpl.format(city=city.title(), year=date.year, source=source,
                      month=MONTHS[date.month - 1])
    return title.rstrip(" .") + fill if tpl in TITLE_SUFFIXES else fill + title


def make_generated(recs, total, seed, w):
    titled = [r for r in recs if r["title"]]
    nrec = len(recs)
    for i in range(total):
        rnd = random.Random(f"{seed}:{i}")
        base = recs[rnd.randrange(nrec)]
        is_web = rnd.random() < WEB_SHARE
        date = datetime.date.fromordinal(DATE0 + rnd.randrange(NDAYS))
        city = rnd.choice(CITIES)
        # lead + up to 6 more paragraphs of the base article, 1-3 foreign ones spliced in
        paras = base["paras"][:1 + rnd.randrange(min(len(base["paras"]), 6))]
        ids = [base["id"]]
        for _ in range(1 + rnd.randrange(3)):
            other = recs[rnd.randrange(nrec)]
            paras.insert(1 + rnd.randrange(len(paras)), rnd.choice(other["paras"]))
            ids.append(other["id"])
        if is_web:
            source = rnd.choice(SITES)
            title = make_title(rnd, recs, titled, base, city, source, date)
            if rnd.random() < 0.5:                # author initials, like the seed's " -KP"
                paras[-1] += " -" + chr(65 + rnd.randrange(26)) + chr(65 + rnd.randrange(26))
            other = rnd.choice(titled)
            text = web(rnd.choice(SECTIONS) if rnd.random() < 0.7 else base["section"],
                       title, city, paras, source, other["title"], snippet_of(other["paras"][0]))
        else:
            source = rnd.choice(AGENCIES)
            title = make_title(rnd, recs, titled, base, city, source, date)
            text = wire(date.isoformat(), city, f"{MONTHS[date.month - 1]} {date.day}",
                        source, paras)
        w.write(i, text, {
            "shape": "web" if is_web else "wire", "title": title, "title_in_file": is_web,
            "date": date.isoformat(), "date_in_file": not is_web, "source": source,
            "city": city, "base_id": base["id"], "ids": ids})


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("size", metavar="SIZE", help="4k (real records) | 100k | 1m | integer")
    ap.add_argument("out_dir", metavar="OUT_DIR", nargs="?",
                    help="default: bench/corpora/<SIZE>")
    ap.add_argument("--seed", type=int, default=42, help="default 42")
    ap.add_argument("--force", action="store_true", help="replace an existing OUT_DIR")
    ap.add_argument("--data", default=DATA, help="newsarticles.jsonl (default: %(default)s)")
    args = ap.parse_args()
    size_key = args.size.strip().lower()
    try:
        total = None if size_key == "4k" else parse_size(size_key)
    except argparse.ArgumentTypeError as e:
        ap.error(str(e))
    out_dir = os.path.normpath(args.out_dir or os.path.join(BENCH, "corpora", size_key))
    truth_path = out_dir + ".truth.jsonl"

    recs = load(args.data)
    if total is None:
        total = len(recs)
    prepare_out(out_dir, args.force)
    w = Writer(out_dir, total, truth_path)
    try:
        if size_key == "4k":
            make_real(recs, args.seed, w)
        else:
            make_generated(recs, total, args.seed, w)
    except BaseException:
        w.close(ok=False)
        raise
    dt = w.close()
    print(f"{size_key}: {total:,} files, {w.bytes / 1e6:,.1f} MB -> {out_dir} "
          f"(truth: {truth_path}), {dt:.1f}s, {total / dt:,.0f} files/s")


if __name__ == "__main__":
    main()
