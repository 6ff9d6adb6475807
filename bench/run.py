#!/usr/bin/env python3
"""Benchmark archsearch against what users would otherwise use, on one corpus.

    python bench/run.py CORPUS_DIR [--repeat N] [--jobs N] [--json OUT]

In one run on the same files it measures and prints a table per section:

  build     `archsearch index` into a fresh index (wall time, docs/s, peak RSS)
            next to SQLite FTS5 (porter tokenizer) fed the same parsed articles
            (archsearch.formats.read_article), in a subprocess of its own;
  reindex   `archsearch index` again with nothing changed (median of N);
  query     end-to-end latency of `archsearch query ... > /dev/null`, a process
            per query, p50/p95 over N runs after a warm-up, next to `rg -il`
            over the corpus and the `sqlite3` shell on the FTS5 database (and
            the same SQL timed in-process);
  startup   `archsearch --help` next to `python -c pass` (the venv's Python).

It ends with the targets of the benchmark issue and PASS/FAIL, and writes all
raw numbers to JSON (default bench/results/<corpus>-<time>.json, git-ignored).
Stdlib only; it runs the installed `archsearch` command.  A missing tool or a
failing command is a one-line note, never a traceback.  See bench/README.md.
"""
import argparse
import datetime
import json
import os
import platform
import re
import shlex
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time

BENCH = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(BENCH)
MIB = 1024 * 1024

# The fixed query set, chosen from the NewsArticles vocabulary, which the real (4k)
# and the generated (100k, 1m) corpora share.  Share of 4k files containing the
# word(s) (`rg -il`): president 45%, election 16%, refugees 5%, Zakharova 0.3%,
# syria+ceasefire+talks 0.9%, "prime minister" 11%.
QUERIES = [
    {"name": "word, high: president", "words": ["president"]},
    {"name": "word, medium: election", "words": ["election"]},
    {"name": "word, low: refugees", "words": ["refugees"]},
    {"name": "word, rare: Zakharova", "words": ["Zakharova"]},
    {"name": "AND: syria ceasefire talks", "words": ["syria", "ceasefire", "talks"]},
    {"name": 'phrase: "prime minister"', "phrase": "prime minister"},
    {"name": "dated: election 2017-01..02", "words": ["election"],
     "since": "2017-01", "until": "2017-02", "from_iso": "2017-01-01", "to_iso": "2017-02-28"},
]

# Targets of the issue (sizes at which they are defined).
TARGET_THROUGHPUT_RATIO = 0.25  # archsearch docs/s >= 0.25 x FTS5 docs/s
TARGET_QUERY_RATIO = 0.25  # archsearch query p50 <= 0.25 x `rg -il` p50, at 100k
TARGET_REINDEX_S = 1.0  # no-change re-index of 100k files
TARGET_RSS_BYTES = 1024 * MIB  # peak RSS indexing 1M articles
TARGET_STARTUP_FACTOR, TARGET_STARTUP_EXTRA_S = 2.0, 0.100


# --------------------------------------------------------------------------- helpers


def note(message):
    print(f"  note: {message}", flush=True)


def iter_files(root):
    """Every file under root, recursively, sorted, hidden names left out (as archsearch reads them)."""
    for folder, subfolders, files in os.walk(root):
        subfolders[:] = sorted(name for name in subfolders if not name.startswith("."))
        for name in sorted(files):
            if not name.startswith("."):
                yield os.path.join(folder, name)


def percentile(values, p):
    """Linear interpolation between closest ranks (p in 0..100)."""
    if not values:
        return None
    ordered = sorted(values)
    k = (len(ordered) - 1) * p / 100
    low = int(k)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (k - low)


def median(values):
    return statistics.median(values) if values else None


def fmt_s(seconds):
    if seconds is None:
        return "-"
    if seconds < 1:
        return f"{seconds * 1000:.1f} ms"
    if seconds < 600:
        return f"{seconds:.2f} s"
    return f"{seconds / 60:.1f} min"


def fmt_n(number, digits=0):
    return "-" if number is None else f"{number:,.{digits}f}"


def fmt_mib(nbytes):
    return "-" if nbytes is None else f"{nbytes / MIB:,.0f} MiB"


def fmt_x(ratio):
    return "-" if ratio is None else f"{ratio:.3g}x"


def verdict(ok):
    return "-" if ok is None else ("PASS" if ok else "FAIL")


def table(headers, rows, title=None):
    """Print an aligned table: the first column left-aligned, the rest right-aligned."""
    rows = [["-" if cell is None else str(cell) for cell in row] for row in rows]
    widths = [max(len(str(h)), *(len(r[i]) for r in rows)) if rows else len(str(h))
              for i, h in enumerate(headers)]
    def line(cells):
        return "  ".join((c.ljust(w) if i == 0 else c.rjust(w)) for i, (c, w) in enumerate(zip(cells, widths))).rstrip()

    if title:
        print(f"\n{title}")
    print(line([str(h) for h in headers]))
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print(line(row))
    sys.stdout.flush()


class Run:
    """One finished child process: wall time, exit status, peak RSS, captured output."""

    def __init__(self, cmd, wall, returncode, maxrss, tree_peak, stdout, stderr, timed_out, error=None):
        self.cmd, self.wall, self.returncode = cmd, wall, returncode
        self.maxrss, self.tree_peak = maxrss, tree_peak
        self.stdout, self.stderr, self.timed_out, self.error = stdout, stderr, timed_out, error

    def ok(self, allowed=(0,)):
        return self.error is None and not self.timed_out and self.returncode in allowed

    def why(self):
        """A one-line reason this run failed."""
        if self.error:
            return self.error
        if self.timed_out:
            return f"timed out after {fmt_s(self.wall)}"
        tail = [line for line in self.stderr.splitlines() if line.strip()]
        last = tail[-1].strip() if tail else "(no message)"
        return f"exit status {self.returncode}: {last[:300]}"


def _children_map():
    children = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        ppid = int(stat.rsplit(b")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(name))
    return children


def tree_rss(root_pid):
    """Sum of the resident set sizes of a process and all its descendants (Linux /proc)."""
    children = _children_map()
    total, todo, page = 0, [root_pid], os.sysconf("SC_PAGE_SIZE")
    while todo:
        pid = todo.pop()
        todo.extend(children.get(pid, ()))
        try:
            with open(f"/proc/{pid}/statm") as f:
                total += int(f.read().split()[1]) * page
        except (OSError, IndexError, ValueError):
            pass
    return total


def run(cmd, *, cwd=None, capture=False, timeout=None, sample_rss=False, env=None):
    """Run cmd (argv list) with stdout to /dev/null (or captured) and stderr captured.

    Wall time is measured around fork/exec/wait; peak RSS is the child's
    ru_maxrss from wait4 (largest single process among it and its waited-for
    descendants) and, with sample_rss, the peak of the whole process tree's
    summed RSS, sampled every 0.2 s from /proc.
    """
    err = tempfile.TemporaryFile()
    out = tempfile.TemporaryFile() if capture else subprocess.DEVNULL
    timed_out = threading.Event()
    tree_peak = [0]
    done = threading.Event()
    try:
        start = time.perf_counter()
        try:
            proc = subprocess.Popen(cmd, cwd=cwd, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                    env=env, start_new_session=True)
        except OSError as exc:
            return Run(cmd, 0.0, None, None, None, "", "", False, error=f"cannot run {cmd[0]}: {exc}")

        def kill():
            timed_out.set()
            for sig in (signal.SIGTERM, signal.SIGKILL):
                try:
                    os.killpg(proc.pid, sig)
                except OSError:
                    return
                if done.wait(5):
                    return

        def sample():
            while not done.wait(0.05 if not tree_peak[0] else 0.2):
                try:
                    tree_peak[0] = max(tree_peak[0], tree_rss(proc.pid))
                except OSError:
                    pass

        timer = threading.Timer(timeout, kill) if timeout else None
        if timer:
            timer.daemon = True
            timer.start()
        sampler = threading.Thread(target=sample, daemon=True) if sample_rss else None
        if sampler:
            sampler.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        except BaseException:  # Ctrl-C: take the child down with us
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except OSError:
                pass
            raise
        wall = time.perf_counter() - start
        done.set()
        if timer:
            timer.cancel()
        proc.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        stderr = err.read().decode("utf-8", "replace")
        stdout = ""
        if capture:
            out.seek(0)
            stdout = out.read().decode("utf-8", "replace")
        return Run(cmd, wall, proc.returncode, usage.ru_maxrss * 1024, tree_peak[0] or None,
                   stdout, stderr, timed_out.is_set())
    finally:
        done.set()
        err.close()
        if capture:
            out.close()


def repeat(cmd, n, *, warmup=1, allowed=(0,), cwd=None, rss=None, env=None):
    """Times of n runs of cmd after `warmup` runs; (times, first failing Run or None, warm-up Run).

    With a list as rss, each timed run's peak RSS (bytes) is appended to it.
    """
    first = None
    for _ in range(warmup):
        first = run(cmd, cwd=cwd, capture=True, env=env)
        if not first.ok(allowed):
            return [], first, first
    times = []
    for _ in range(n):
        r = run(cmd, cwd=cwd, env=env)
        if not r.ok(allowed):
            return times, r, first
        times.append(r.wall)
        if rss is not None:
            rss.append(r.maxrss)
    return times, None, first


def dir_size(path):
    total = 0
    for folder, _, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(folder, name)).st_size
            except OSError:
                pass
    return total


def first_line(cmd, cwd=None):
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=30, cwd=cwd)
        return (out.stdout or out.stderr).strip().splitlines()[0]
    except (OSError, subprocess.SubprocessError, IndexError):
        return None


def script_python(script):
    """The interpreter in a console script's shebang (the venv's Python), if it is one."""
    try:
        with open(script, "rb") as f:
            head = f.readline().decode("utf-8", "replace").strip()
    except OSError:
        return None
    if head.startswith("#!"):
        parts = head[2:].split()
        if parts and os.path.basename(parts[0]).startswith("python") and os.access(parts[0], os.X_OK):
            return parts[0]
    return None


# --------------------------------------------------------------------------- FTS5 child


FTS5_SCHEMA = ("CREATE VIRTUAL TABLE articles USING fts5("
               "title, body, source, place, date UNINDEXED, path UNINDEXED, "
               "tokenize='porter unicode61 remove_diacritics 2')")


def fts5_child(corpus, db):
    """Build the FTS5 table from read_article() of every file; print stats as JSON on stdout."""
    start = time.perf_counter()
    from archsearch.formats import UnreadableFile, read_article

    imported = time.perf_counter()
    con = sqlite3.connect(db, isolation_level=None)
    con.execute(FTS5_SCHEMA)
    con.execute("BEGIN")
    parse = insert = 0.0
    docs = skipped = errors = 0
    first_error = None
    insert_sql = "INSERT INTO articles(title, body, source, place, date, path) VALUES (?, ?, ?, ?, ?, ?)"
    for path in iter_files(corpus):
        t0 = time.perf_counter()
        try:
            article = read_article(path)
        except UnreadableFile:
            skipped += 1
            parse += time.perf_counter() - t0
            continue
        except Exception as exc:  # a reader bug must not stop the benchmark
            errors += 1
            first_error = first_error or f"{path}: {type(exc).__name__}: {exc}"
            parse += time.perf_counter() - t0
            continue
        t1 = time.perf_counter()
        date = article.date.isoformat() if article.date else None
        con.execute(insert_sql, (article.title, article.body, article.source, article.place, date,
                                 os.path.relpath(path, corpus)))
        insert += time.perf_counter() - t1
        parse += t1 - t0
        docs += 1
    t0 = time.perf_counter()
    con.execute("COMMIT")
    con.close()
    insert += time.perf_counter() - t0
    end = time.perf_counter()
    print(json.dumps({
        "docs": docs, "skipped": skipped, "errors": errors, "first_error": first_error,
        "import_s": imported - start, "parse_s": parse, "insert_s": insert,
        "in_process_s": end - start, "sqlite_version": sqlite3.sqlite_version,
    }))


# --------------------------------------------------------------------------- the benchmark


class Bench:
    def __init__(self, args):
        self.args = args
        self.corpus = os.path.abspath(args.corpus)
        self.results = {"notes": []}
        self.work = None
        self.index_dir = None
        self.fts_db = None
        self.nfiles = 0

    def note(self, section, message):
        note(message)
        self.results["notes"].append(f"{section}: {message}")

    # ---------------------------------------------------------------- tools

    def find_tools(self):
        args = self.args
        here = os.path.dirname(sys.executable)
        candidates = [args.archsearch, os.path.join(here, "archsearch"), shutil.which("archsearch"),
                      "/tmp/venv/bin/archsearch"]
        self.archsearch = next((c for c in candidates if c and os.access(c, os.X_OK)), None)
        self.python = (script_python(self.archsearch) if self.archsearch else None) or sys.executable
        self.rg = shutil.which("rg")
        self.sqlite3 = shutil.which("sqlite3")
        package = first_line([self.python, "-c", "import archsearch; print(archsearch.__file__)"], cwd=self.work)
        tools = {
            "archsearch_package": package,
            "archsearch": self.archsearch, "python": self.python, "rg": self.rg, "sqlite3": self.sqlite3,
            "archsearch_version": first_line([self.archsearch, "--version"]) if self.archsearch else None,
            "python_version": first_line([self.python, "--version"]),
            "rg_version": first_line([self.rg, "--version"]) if self.rg else None,
            "sqlite3_cli_version": first_line([self.sqlite3, "--version"]) if self.sqlite3 else None,
            "harness_python_sqlite": sqlite3.sqlite_version,
        }
        self.results["tools"] = tools
        print("tools:")
        for key in ("archsearch", "python", "rg", "sqlite3"):
            version = tools.get(f"{key}_version") or tools.get(f"{key}_cli_version") or ""
            print(f"  {key:<10} {tools[key] or 'MISSING'}  {version}")
        print(f"  package    {package}")
        if not self.archsearch:
            self.note("tools", "archsearch not found: pass --archsearch PATH or activate the venv; "
                               "archsearch columns are skipped")
        if not self.rg:
            self.note("tools", "rg (ripgrep) not found: install it with `apt-get install ripgrep`; "
                               "rg columns are skipped")
        if not self.sqlite3:
            self.note("tools", "sqlite3 shell not found: install it with `apt-get install sqlite3`; "
                               "the sqlite3-process column is skipped")
        self.index_help = self.query_help = self.top_help = ""
        if self.archsearch:
            r = run([self.archsearch, "--help"], capture=True, timeout=60)
            self.top_help = r.stdout if r.ok() else ""
            r = run([self.archsearch, "index", "--help"], capture=True, timeout=60)
            self.index_help = r.stdout if r.ok() else ""
            r = run([self.archsearch, "query", "--help"], capture=True, timeout=60)
            self.query_help = r.stdout if r.ok() else ""
            if not self.index_help or not self.query_help:
                self.note("tools", f"`archsearch index/query --help` failed: {r.why()}")
        self.has_jobs = "--jobs" in self.index_help
        self.has_dates = "--since" in self.query_help and "--until" in self.query_help
        self.has_count = "--count" in self.query_help
        tools["index_has_jobs"], tools["query_has_since_until"] = self.has_jobs, self.has_dates

    def snapshot(self):
        """Pin the archsearch code for the whole run: copy the work tree's archsearch/ and put it first.

        Others edit archsearch/ while benchmarks run; a build with one version of the code
        and queries with another would measure nothing (or fail on a schema change).  The
        editable install's finder comes after PYTHONPATH, so the copy wins.
        """
        source = os.path.join(REPO, "archsearch")
        if self.args.no_snapshot or not os.path.isfile(os.path.join(source, "__init__.py")):
            return
        target = os.path.join(self.work, "src")
        try:
            shutil.copytree(source, os.path.join(target, "archsearch"),
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        except OSError as exc:
            self.note("tools", f"cannot copy {source} ({exc}); running the installed code as it changes")
            return
        os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [target, os.environ.get("PYTHONPATH")]))
        self.results["snapshot"] = target
        print(f"code: archsearch/ copied to {target} and used for the whole run (--no-snapshot: use it live)")

    def machine(self):
        info = {"platform": platform.platform(), "cpus": os.cpu_count(),
                "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds")}
        try:
            with open("/proc/cpuinfo") as f:
                info["cpu"] = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")),
                                   None)
            with open("/proc/meminfo") as f:
                kb = next(int(line.split()[1]) for line in f if line.startswith("MemTotal"))
                info["mem_gib"] = round(kb / 1024 / 1024, 1)
        except (OSError, StopIteration, ValueError):
            pass
        try:
            git = ["git", "-C", REPO]
            info["git_commit"] = subprocess.run(git + ["rev-parse", "--short", "HEAD"], capture_output=True,
                                                text=True, timeout=30).stdout.strip()
            info["archsearch_tree_dirty"] = bool(subprocess.run(
                git + ["status", "--porcelain", "--", "archsearch"], capture_output=True, text=True,
                timeout=30).stdout.strip())
        except (OSError, subprocess.SubprocessError):
            pass
        self.results["machine"] = info
        info["loadavg_at_start"] = os.getloadavg()
        print(f"machine: {info.get('cpu', '?')}, {info['cpus']} CPUs, {info.get('mem_gib', '?')} GiB RAM, "
              f"{info['platform']}; load average {info['loadavg_at_start'][0]:.2f} (other work on the machine "
              "skews timings)")
        print(f"date: {info['date']}; repo at {info.get('git_commit', '?')}"
              f"{' + uncommitted changes in archsearch/' if info.get('archsearch_tree_dirty') else ''}")

    # ---------------------------------------------------------------- corpus

    def scan_corpus(self):
        start = time.perf_counter()
        files = list(iter_files(self.corpus))
        nbytes = 0
        for path in files:  # read every byte once, so both builds start from a warm page cache
            with open(path, "rb") as f:
                nbytes += len(f.read())
        self.nfiles = len(files)
        elapsed = time.perf_counter() - start
        self.results["corpus"] = {"path": self.corpus, "files": self.nfiles, "bytes": nbytes,
                                  "read_all_s": elapsed}
        print(f"corpus: {self.corpus}: {self.nfiles:,} files, {nbytes / MIB:,.1f} MiB "
              f"(read once to warm the page cache: {fmt_s(elapsed)})")

    # ---------------------------------------------------------------- build

    def build(self):
        print("\n== index build ==", flush=True)
        section = self.results["build"] = {}
        if self.args.reuse_index:
            self.index_dir = os.path.abspath(self.args.reuse_index)
            self.note("build", f"archsearch build skipped: reusing the index at {self.index_dir}")
        elif self.archsearch and "archsearch" not in self.args.skip:
            self.build_archsearch(section)
        if "fts5" not in self.args.skip:
            self.build_fts5(section)
        self.print_build(section)

    def build_archsearch(self, section):
        self.index_dir = os.path.join(self.work, "archsearch-index")
        cmd = [self.archsearch, "index", "--index", self.index_dir]
        if self.args.jobs:
            if self.has_jobs:
                cmd += ["--jobs", str(self.args.jobs)]
            else:
                self.note("build", f"`archsearch index` has no --jobs option yet: --jobs {self.args.jobs} "
                                   "not passed")
        cmd.append(self.corpus)
        print(f"  $ {shlex.join(cmd)}", flush=True)
        r = run(cmd, cwd=self.work, sample_rss=True, timeout=self.args.build_timeout or None)
        summary = next((line for line in reversed(r.stderr.splitlines()) if "in the index" in line), "")
        indexed = re.search(r"([\d,]+) articles in the index", summary)
        section["archsearch"] = {
            "cmd": cmd, "wall_s": r.wall, "returncode": r.returncode, "maxrss_bytes": r.maxrss,
            "tree_rss_peak_bytes": r.tree_peak, "summary": summary,
            "indexed": int(indexed.group(1).replace(",", "")) if indexed else None,
            "index_bytes": dir_size(self.index_dir) if os.path.isdir(self.index_dir) else None,
        }
        if not r.ok():
            self.note("build", f"archsearch index failed ({r.why()}); re-index and archsearch queries skipped")
            self.index_dir = None
            section["archsearch"]["error"] = r.why()
        else:
            print(f"  {summary.strip()}")

    def build_fts5(self, section):
        self.fts_db = os.path.join(self.work, "fts5.sqlite")
        # The child runs a copy of this file, so editing the harness mid-run cannot break it.
        script = os.path.join(self.work, "fts5_child.py")
        shutil.copy2(os.path.abspath(__file__), script)
        cmd = [self.python, script, "--fts5-child", self.corpus, self.fts_db]
        print(f"  $ {shlex.join(cmd)}", flush=True)
        r = run(cmd, cwd=self.work, capture=True, sample_rss=True, timeout=self.args.build_timeout or None)
        entry = section["fts5"] = {"cmd": cmd, "wall_s": r.wall, "returncode": r.returncode,
                                   "maxrss_bytes": r.maxrss, "tree_rss_peak_bytes": r.tree_peak}
        stats = None
        if r.ok():
            try:
                stats = json.loads(r.stdout.strip().splitlines()[-1])
            except (ValueError, IndexError):
                pass
        if stats is None:
            why = r.why() if not r.ok() else "no statistics on stdout"
            self.note("build", f"FTS5 build failed ({why}); FTS5 columns skipped")
            entry["error"] = why
            self.fts_db = None
            return
        entry.update(stats)
        entry["db_bytes"] = os.path.getsize(self.fts_db)
        if stats["errors"]:
            self.note("build", f"read_article raised on {stats['errors']} files in the FTS5 build, "
                               f"e.g. {stats['first_error']}")

    def print_build(self, section):
        n = self.nfiles
        rows = []
        a, f = section.get("archsearch"), section.get("fts5")
        a_ok = a is not None and "error" not in a
        f_ok = f is not None and "error" not in f
        if a:
            rows.append(["archsearch index", fmt_n(a.get("indexed")), fmt_s(a["wall_s"]),
                         fmt_n(n / a["wall_s"]) if a_ok else "failed", fmt_mib(a["maxrss_bytes"]),
                         fmt_mib(a["tree_rss_peak_bytes"]), fmt_mib(a.get("index_bytes"))])
        if f_ok:
            rows.append(["SQLite FTS5, total", fmt_n(f["docs"]), fmt_s(f["wall_s"]), fmt_n(n / f["wall_s"]),
                         fmt_mib(f["maxrss_bytes"]), fmt_mib(f["tree_rss_peak_bytes"]), fmt_mib(f["db_bytes"])])
            rows.append(["  imports", "", fmt_s(f["import_s"]), "", "", "", ""])
            rows.append(["  read+parse", "", fmt_s(f["parse_s"]), fmt_n(n / f["parse_s"]), "", "", ""])
            rows.append(["  insert+commit", "", fmt_s(f["insert_s"]), fmt_n(n / f["insert_s"]), "", "", ""])
        if rows:
            table(["", "docs", "wall", "files/s", "maxRSS", "tree RSS", "on disk"], rows)
        ratio = (f["wall_s"] / a["wall_s"]) if a_ok and f_ok else None
        section["throughput_ratio"] = ratio
        if ratio is not None:
            print(f"  throughput ratio (archsearch files/s / FTS5 files/s, both on total process wall time "
                  f"incl. start-up, reading and parsing): {fmt_x(ratio)}   target >= {TARGET_THROUGHPUT_RATIO}x: "
                  f"{verdict(ratio >= TARGET_THROUGHPUT_RATIO)}")
        if a_ok:
            peak = max(a["maxrss_bytes"] or 0, a["tree_rss_peak_bytes"] or 0)
            print(f"  archsearch peak RSS {fmt_mib(peak)}   target < 1 GiB (at 1M articles; this corpus has "
                  f"{n:,}): {verdict(peak < TARGET_RSS_BYTES)}")
        print("  (maxRSS: largest single process, from wait4; tree RSS: peak sum over the process and its "
              "children, sampled every 0.2 s)")

    # ---------------------------------------------------------------- re-index

    def reindex(self):
        print("\n== no-change re-index ==", flush=True)
        section = self.results["reindex"] = {}
        if not self.index_dir:
            self.note("reindex", "skipped: no archsearch index")
            return
        cmd = [self.archsearch, "index", "--index", self.index_dir]
        print(f"  $ {shlex.join(cmd)}   (x{self.args.repeat}, cwd {self.work})", flush=True)
        times, summary = [], ""
        for _ in range(self.args.repeat):
            r = run(cmd, cwd=self.work)
            if not r.ok():
                self.note("reindex", f"failed: {r.why()}")
                break
            times.append(r.wall)
            summary = next((line for line in reversed(r.stderr.splitlines()) if "in the index" in line), summary)
        section.update({"cmd": cmd, "times_s": times, "median_s": median(times), "summary": summary.strip()})
        if summary:
            print(f"  {summary.strip()}")
        if times:
            m = median(times)
            table(["", "median", "min", "max", "runs"],
                  [["archsearch index (no change)", fmt_s(m), fmt_s(min(times)), fmt_s(max(times)), len(times)]])
            print(f"  target < {TARGET_REINDEX_S:g} s (at 100k files; this corpus has {self.nfiles:,}): "
                  f"{verdict(m < TARGET_REINDEX_S)}")

    # ---------------------------------------------------------------- queries

    def query_commands(self, q):
        """(archsearch argv, rg argv, rg label, FTS5 SQL, SQL params) for one query."""
        words = q.get("words", [])
        phrase = q.get("phrase")
        archsearch = None
        if self.archsearch and self.index_dir:
            archsearch = [self.archsearch, "query", "--index", self.index_dir]
            if "since" in q:
                archsearch += ["--since", q["since"], "--until", q["until"]]
            archsearch += [f'"{phrase}"'] if phrase else words
        rg = label = None
        if self.rg:
            if phrase:
                rg, label = [self.rg, "-il", phrase, self.corpus], f"rg -il '{phrase}'"
            elif len(words) == 1:
                rg, label = [self.rg, "-il", words[0], self.corpus], f"rg -il {words[0]}"
                if "since" in q:
                    label += " (word only: rg has no date filter)"
            else:
                # What a user would type: a pipeline narrowing the file list word by word.
                script = f"{shlex.quote(self.rg)} -il -0 {shlex.quote(words[0])} {shlex.quote(self.corpus)}"
                for word in words[1:-1]:
                    script += f" | xargs -0 -r {shlex.quote(self.rg)} -il -0 {shlex.quote(word)}"
                script += f" | xargs -0 -r {shlex.quote(self.rg)} -il {shlex.quote(words[-1])}"
                rg, label = ["sh", "-c", script], "rg -il -0 W1 | xargs -0 rg -il -0 W2 | xargs -0 rg -il W3"
        match = f'"{phrase}"' if phrase else " AND ".join(words)
        where = "articles MATCH ?"
        params = [match]
        if "from_iso" in q:
            where += " AND date BETWEEN ? AND ?"
            params += [q["from_iso"], q["to_iso"]]
        sql = f"SELECT rowid FROM articles WHERE {where} ORDER BY rank LIMIT 10"
        return archsearch, rg, label, sql, params

    @staticmethod
    def inline_sql(sql, params):
        for p in params:
            sql = sql.replace("?", "'" + p.replace("'", "''") + "'", 1)
        return sql

    def queries(self):
        print("\n== queries (a process per query, stdout to /dev/null; "
              f"1 warm-up + {self.args.repeat} runs each) ==", flush=True)
        section = self.results["queries"] = []
        n = self.args.repeat
        self.sqlite3_ok = False
        if not self.has_dates and self.archsearch:
            self.note("query", "`archsearch query` has no --since/--until yet: its dated query is skipped "
                               "(rg and FTS5 still run)")
        if self.fts_db and self.sqlite3:
            r = run([self.sqlite3, self.fts_db, "SELECT count(*) FROM articles WHERE articles MATCH 'x'"],
                    capture=True, timeout=60)
            if not r.ok():
                self.note("query", f"the sqlite3 shell cannot query the FTS5 table ({r.why()}); column skipped")
            else:
                self.sqlite3_ok = True
        con = None
        if self.fts_db:
            try:
                con = sqlite3.connect(self.fts_db)
            except sqlite3.Error as exc:
                self.note("query", f"cannot open {self.fts_db} in-process: {exc}")
        # Without the resident server (ARCHSEARCH_SERVER=off, so a user's own server never answers),
        # then through one started here with its own socket.
        alone_env = dict(os.environ, ARCHSEARCH_SERVER="off")
        server = self.start_server() if self.archsearch and self.index_dir else None
        for q in QUERIES:
            a_cmd, rg_cmd, rg_label, sql, params = self.query_commands(q)
            entry = {"name": q["name"], "query": q, "sql": sql, "sql_params": params}
            section.append(entry)
            print(f"  {q['name']}", flush=True)
            if a_cmd and "since" in q and not self.has_dates:
                a_cmd = None
            if a_cmd:
                entry["archsearch_cmd"] = a_cmd
                entry["archsearch_maxrss_bytes"] = []
                times, failed, warm = repeat(a_cmd, n, allowed=(0, 1), cwd=self.work,
                                             rss=entry["archsearch_maxrss_bytes"], env=alone_env)
                entry["archsearch_s"] = times
                if failed:
                    self.note("query", f"archsearch {q['name']}: {failed.why()}")
                else:
                    if warm is not None:
                        entry["archsearch_hits_shown"] = len(re.findall(r"^\s*\d+\. ", warm.stdout, re.M))
                    if self.has_count:  # the number of matching articles, untimed
                        c = run(a_cmd[:2] + ["--count"] + a_cmd[2:], cwd=self.work, capture=True, timeout=600,
                                env=alone_env)
                        found = re.search(r"\d[\d,]*", c.stdout) if c.ok((0, 1)) else None
                        entry["archsearch_matches"] = int(found.group().replace(",", "")) if found else None
                if server:
                    served, served_failed, served_first = repeat(a_cmd, n, allowed=(0, 1), cwd=self.work,
                                                                  env=server["env"])
                    entry["served_s"] = served
                    entry["served_first_s"] = served_first.wall if served_first else None
                    if served_failed:
                        self.note("query", f"archsearch (served) {q['name']}: {served_failed.why()}")
                    elif warm is not None and served_first.stdout != warm.stdout:
                        self.note("query", f"archsearch {q['name']}: output differs with the server")
            if rg_cmd:
                entry["rg_cmd"], entry["rg_label"] = rg_cmd, rg_label
                times, failed, warm = repeat(rg_cmd, n, allowed=(0, 1, 123), cwd=self.work)
                entry["rg_s"] = times
                if failed:
                    self.note("query", f"rg {q['name']}: {failed.why()}")
                elif warm is not None:
                    entry["rg_files"] = len([line for line in warm.stdout.splitlines() if line])
            if self.fts_db and self.sqlite3 and self.sqlite3_ok:
                cli = [self.sqlite3, self.fts_db, self.inline_sql(sql, params)]
                entry["sqlite3_cmd"] = cli
                times, failed, _ = repeat(cli, n, cwd=self.work)
                entry["sqlite3_s"] = times
                if failed:
                    self.note("query", f"sqlite3 {q['name']}: {failed.why()}")
            if con is not None:
                try:
                    entry["fts5_matches"] = con.execute(
                        sql.replace("SELECT rowid", "SELECT count(*)").replace(" ORDER BY rank LIMIT 10", ""),
                        params).fetchone()[0]
                    con.execute(sql, params).fetchall()  # warm-up
                    times = []
                    for _ in range(n):
                        t0 = time.perf_counter()
                        con.execute(sql, params).fetchall()
                        times.append(time.perf_counter() - t0)
                    entry["fts5_inproc_s"] = times
                except sqlite3.Error as exc:
                    self.note("query", f"in-process FTS5 {q['name']}: {exc}")
        if con is not None:
            con.close()
        if server:
            self.stop_server(server)
        self.print_queries(section)

    def start_server(self):
        """`archsearch serve` on a socket in the work dir; None (with a note) if it does not come up."""
        if "serve" not in self.top_help:
            self.note("query", "this archsearch has no `serve` command: served column skipped")
            return None
        socket_path = os.path.join(self.work, "server.sock")
        env = dict(os.environ, ARCHSEARCH_SOCKET=socket_path)
        log = open(os.path.join(self.work, "server.log"), "wb")
        proc = subprocess.Popen([self.archsearch, "serve"], env=env, stdin=subprocess.DEVNULL,
                                stdout=log, stderr=log, start_new_session=True)
        deadline = time.monotonic() + 30
        while not os.path.exists(socket_path):
            if proc.poll() is not None or time.monotonic() > deadline:
                self.note("query", f"`archsearch serve` did not start (see {log.name}): served column skipped")
                proc.kill()
                return None
            time.sleep(0.05)
        print(f"  resident server: `archsearch serve`, pid {proc.pid}, socket {socket_path}", flush=True)
        return {"proc": proc, "env": env, "log": log}

    @staticmethod
    def stop_server(server):
        server["proc"].terminate()
        try:
            server["proc"].wait(10)
        except subprocess.TimeoutExpired:
            server["proc"].kill()
        server["log"].close()

    def print_queries(self, section):
        rows, ratios, alone_ratios, first_ratios = [], [], [], []
        for e in section:
            a, v, r, s, i = (e.get(k) or None for k in ("archsearch_s", "served_s", "rg_s", "sqlite3_s", "fts5_inproc_s"))
            first = e.get("served_first_s")
            alone_ratio = median(a) / median(r) if a and r else None
            ratio = median(v) / median(r) if v and r else None
            first_ratio = first / median(r) if first and r else None
            e["ratio_archsearch_rg_p50"] = alone_ratio
            e["ratio_served_rg_p50"] = ratio
            e["ratio_served_first_rg_p50"] = first_ratio
            for value, kept in ((ratio, ratios), (alone_ratio, alone_ratios), (first_ratio, first_ratios)):
                if value is not None:
                    kept.append(value)
            rows.append([
                e["name"],
                fmt_s(median(a)) if a else "-",
                fmt_s(first), fmt_s(median(v)) if v else "-", fmt_s(percentile(v, 95)) if v else "-",
                fmt_s(median(r)) if r else "-", fmt_s(percentile(r, 95)) if r else "-",
                fmt_s(median(s)) if s else "-", fmt_s(median(i)) if i else "-",
                fmt_n(e.get("archsearch_matches")), fmt_n(e.get("rg_files")), fmt_n(e.get("fts5_matches")),
                fmt_x(alone_ratio), fmt_x(first_ratio), fmt_x(ratio),
                verdict(None if ratio is None else ratio <= TARGET_QUERY_RATIO),
            ])
        table(["query", "alone p50", "served 1st", "served p50", "p95", "rg p50", "p95", "sqlite3 p50",
               "FTS5 in-proc", "as hits", "rg files", "FTS5 hits", "alone/rg", "1st/rg", "served/rg",
               f"<= {TARGET_QUERY_RATIO}x"], rows)
        print("  alone: `archsearch query --index IX WORDS > /dev/null` as its own process (10 hits with snippets, "
              "read from the files); served: the same command with `archsearch serve` running (1st: the first "
              "time the server sees the query); as hits: `archsearch query --count`;")
        print("  rg: `rg -il WORD CORPUS` (AND: an xargs pipeline; dated: the word alone); sqlite3: the shell "
              "running `SELECT rowid ... MATCH ... ORDER BY rank LIMIT 10`;")
        print("  FTS5 in-proc: the same SQL on an open connection (median). "
              f"Query target defined at 100k articles; this corpus has {self.nfiles:,}.")
        self.results["query_ratio_max"] = max(ratios) if ratios else None
        self.results["query_ratio_min"] = min(ratios) if ratios else None
        self.results["query_alone_ratio_max"] = max(alone_ratios) if alone_ratios else None
        self.results["query_alone_ratio_min"] = min(alone_ratios) if alone_ratios else None
        self.results["query_first_ratio_max"] = max(first_ratios) if first_ratios else None

    # ---------------------------------------------------------------- start-up

    def startup(self):
        print("\n== start-up (median of %d, after 1 warm-up) ==" % self.args.startup_repeat, flush=True)
        section = self.results["startup"] = {}
        n = self.args.startup_repeat
        cmds = [("python -c pass", [self.python, "-c", "pass"])]
        if self.archsearch:
            cmds += [("archsearch --help", [self.archsearch, "--help"]),
                     ("archsearch query --help", [self.archsearch, "query", "--help"])]
        rows = []
        for label, cmd in cmds:
            times, failed, _ = repeat(cmd, n, cwd=self.work)
            section[label] = {"cmd": cmd, "times_s": times, "median_s": median(times)}
            if failed:
                self.note("startup", f"{label}: {failed.why()}")
            rows.append([label, fmt_s(median(times)), fmt_s(percentile(times, 95)), fmt_s(min(times) if times else None)])
        table(["", "median", "p95", "min"], rows)
        py, cli = section["python -c pass"]["median_s"], section.get("archsearch --help", {}).get("median_s")
        if py is not None and cli is not None:
            target = TARGET_STARTUP_FACTOR * py + TARGET_STARTUP_EXTRA_S
            section["target_s"] = target
            print(f"  archsearch --help {fmt_s(cli)}   target <= 2 x python + 100 ms = {fmt_s(target)}: "
                  f"{verdict(cli <= target)}")

    # ---------------------------------------------------------------- summary

    def summary(self):
        self.results.setdefault("loadavg", {})["end"] = os.getloadavg()
        rows = []
        b = self.results.get("build", {})
        ratio = b.get("throughput_ratio")
        rows.append(["index throughput vs FTS5", f">= {TARGET_THROUGHPUT_RATIO}x", fmt_x(ratio),
                     verdict(None if ratio is None else ratio >= TARGET_THROUGHPUT_RATIO), "any"])
        worst = self.results.get("query_ratio_max")
        best = self.results.get("query_ratio_min")
        rows.append(["query p50 vs rg -il, served (best..worst)", f"<= {TARGET_QUERY_RATIO}x",
                     f"{fmt_x(best)}..{fmt_x(worst)}" if worst is not None else "-",
                     verdict(None if worst is None else worst <= TARGET_QUERY_RATIO), "100k"])
        alone_best, alone_worst = self.results.get("query_alone_ratio_min"), self.results.get("query_alone_ratio_max")
        rows.append(["  the same, no server (best..worst)", f"<= {TARGET_QUERY_RATIO}x",
                     f"{fmt_x(alone_best)}..{fmt_x(alone_worst)}" if alone_worst is not None else "-",
                     verdict(None if alone_worst is None else alone_worst <= TARGET_QUERY_RATIO), "100k"])
        m = self.results.get("reindex", {}).get("median_s")
        rows.append(["no-change re-index", f"< {TARGET_REINDEX_S:g} s", fmt_s(m),
                     verdict(None if m is None else m < TARGET_REINDEX_S), "100k"])
        a = b.get("archsearch") or {}
        peak = max(a.get("maxrss_bytes") or 0, a.get("tree_rss_peak_bytes") or 0) if "error" not in a else 0
        rows.append(["peak RSS indexing", "< 1 GiB", fmt_mib(peak or None),
                     verdict(None if not peak else peak < TARGET_RSS_BYTES), "1M"])
        s = self.results.get("startup", {})
        cli, target = s.get("archsearch --help", {}).get("median_s"), s.get("target_s")
        rows.append(["archsearch --help", f"<= {fmt_s(target)}" if target else "2x python + 100 ms", fmt_s(cli),
                     verdict(None if cli is None or target is None else cli <= target), "any"])
        self.results["summary"] = [dict(zip(["target", "goal", "measured", "verdict", "defined at"], r))
                                   for r in rows]
        table(["target", "goal", "measured", "verdict", "defined at"], rows,
              title=f"== targets ({self.nfiles:,} files) ==")

    # ---------------------------------------------------------------- main

    def main(self):
        args = self.args
        if not os.path.isdir(self.corpus):
            print(f"error: {args.corpus} is not a folder", file=sys.stderr)
            return 2
        self.results["args"] = vars(args)
        self.work = tempfile.mkdtemp(prefix="archsearch-bench-", dir=args.workdir)
        try:
            self.machine()
            print(f"work dir: {self.work}{'' if args.keep else ' (removed at the end; --keep keeps it)'}")
            self.snapshot()
            self.find_tools()
            self.scan_corpus()
            if not self.nfiles:
                print(f"error: no files under {self.corpus}", file=sys.stderr)
                return 2
            for name, step in (("build", self.build), ("reindex", self.reindex), ("query", self.queries),
                               ("startup", self.startup)):
                if name in args.skip:
                    self.note(name, "skipped (--skip)")
                    continue
                self.results.setdefault("loadavg", {})[name] = os.getloadavg()
                try:
                    step()
                except KeyboardInterrupt:
                    raise
                except Exception as exc:  # the harness must report, not crash
                    self.note(name, f"section failed: {type(exc).__name__}: {exc}")
            self.summary()
        except KeyboardInterrupt:
            print("\ninterrupted: writing what was measured", file=sys.stderr)
        finally:
            self.write_json()
            if not args.keep:
                shutil.rmtree(self.work, ignore_errors=True)
        return 0

    def write_json(self):
        out = self.args.json
        if not out:
            stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
            out = os.path.join(BENCH, "results", f"{os.path.basename(self.corpus.rstrip('/'))}-{stamp}.json")
        try:
            os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
            with open(out, "w", encoding="utf-8") as f:
                json.dump(self.results, f, indent=1, default=str)
                f.write("\n")
            print(f"\nraw numbers: {out}")
        except OSError as exc:
            print(f"\nnote: cannot write {out}: {exc}")


def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 epilog="Sections: build (archsearch, fts5), reindex, query, startup.")
    ap.add_argument("corpus", metavar="CORPUS_DIR", help="folder of article files, e.g. bench/corpora/100k")
    ap.add_argument("--repeat", type=int, default=5, metavar="N",
                    help="timed runs per query and re-index (after one warm-up); default 5")
    ap.add_argument("--startup-repeat", type=int, default=20, metavar="N", help="runs per start-up command; default 20")
    ap.add_argument("--jobs", type=int, metavar="N",
                    help="pass --jobs N to `archsearch index` (only if it has that option)")
    ap.add_argument("--json", metavar="OUT", help="raw numbers; default bench/results/<corpus>-<time>.json")
    ap.add_argument("--archsearch", metavar="PATH", help="the archsearch command (default: next to this Python, "
                                                         "then PATH, then /tmp/venv/bin)")
    ap.add_argument("--workdir", metavar="DIR", help="where to make the temporary index and FTS5 database")
    ap.add_argument("--no-snapshot", action="store_true",
                    help="run the archsearch code live from the work tree instead of a copy taken at the start")
    ap.add_argument("--keep", action="store_true", help="keep the work dir (index, FTS5 database)")
    ap.add_argument("--reuse-index", metavar="DIR", help="skip the archsearch build; use this existing index")
    ap.add_argument("--build-timeout", type=float, default=0, metavar="S",
                    help="give up on a build after S seconds (default: no limit)")
    ap.add_argument("--skip", default="", metavar="LIST",
                    help="comma-separated: archsearch, fts5, reindex, query, startup")
    args = ap.parse_args(argv)
    args.skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    unknown = args.skip - {"archsearch", "fts5", "reindex", "query", "startup", "build"}
    if unknown:
        ap.error(f"unknown --skip section(s): {', '.join(sorted(unknown))}")
    if "build" in args.skip:
        args.skip |= {"archsearch", "fts5"}
        args.skip.discard("build")
    if args.repeat < 1 or args.startup_repeat < 1:
        ap.error("--repeat and --startup-repeat must be at least 1")
    return args


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--fts5-child"] and len(argv) == 3:
        fts5_child(argv[1], argv[2])
        return 0
    return Bench(parse_args(argv)).main()


if __name__ == "__main__":
    sys.exit(main())
