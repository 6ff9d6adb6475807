#!/usr/bin/env python3
"""Benchmark archsearch against the tools a user would otherwise use, on the same raw files.

    python bench/run.py CORPUS_DIR [--repeat N] [--quick] [--json OUT] [--skip LIST]

Every peer is fed the raw files as a user would feed it, not archsearch's parsed articles:

  fts5      SQLite FTS5, a table fts5(path UNINDEXED, date UNINDEXED, body) with the porter
            tokenizer (`porter unicode61 remove_diacritics 2`), body = the file's bytes decoded
            as UTF-8, in one transaction, from a Python process;
  tantivy   tantivy-py (the `bench` extra): path (stored) + body (the raw text, tokenizer
            `en_stem`: tantivy's default tokenizer with its English stemmer) + day (yyyymmdd,
            indexed), from a Python process, the writer's default heap and threads;
  recoll    `recollindex` with a config of its own (topdirs = the corpus, English stemming);
  rg        `rg -il`, no index.

A date for FTS5 and tantivy is what a user would pull out of the raw file: the ISO date of a
wire copy's first line (`^\\s*date YYYY-MM-DD`); web pages have none (archsearch cannot date
them either).  recoll only knows file times: its date-ranged query is n/a.

Sections:

  build     archsearch index with --jobs 1 and --jobs 2, FTS5, tantivy, recoll, each into a
            fresh index: wall and CPU (user+system of the process and its waited-for
            children) per file, throughput ratios to FTS5, peak RSS, size on disk;
  reindex   a no-change re-index: archsearch index, recollindex (median of N);
  query     a process per query for every tool: archsearch without the server
            (ARCHSEARCH_SERVER=off), archsearch through an `archsearch serve` started here,
            the sqlite3 shell, a Python process that opens the tantivy index, rg -il,
            recollq; six kinds (rare word, common word, 3-word AND, phrase, OR, date-ranged),
            one warm-up then N repetitions, interleaved: each repetition runs every kind on
            every tool in turn (the tools' order rotating), so that load from other work on
            the machine falls on all of them alike.  p50/p90 and ratios to the tantivy process;
  live      search as you type: 20 successive queries extending a text letter by letter,
            the last word a prefix, for archsearch served and unserved and tantivy,
            interleaved per repetition; p50 per keystroke;
  startup   `python -c pass`, `archsearch --help`.

Raw numbers go to JSON (default bench/results/<corpus>-<time>.json, git-ignored).  A missing
tool or a failing command is a one-line note, never a traceback.  If `archsearch serve` does not
start (a work dir whose socket path is over 107 bytes, say), the run says why on stderr, measures
the rest and exits 1; `--skip served` leaves the served runs out on purpose.  See bench/README.md.
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

# The query kinds, from the NewsArticles vocabulary that the real (4k) and generated (100k, 1m)
# corpora share.  Share of the 4k files (`rg -il`): Zakharova 0.3%, president 45%,
# syria+ceasefire+talks 0.9%, "prime minister" 11%, refugees 5% / migrants 6%.
KINDS = [
    {"kind": "rare word", "text": "Zakharova", "words": ["Zakharova"]},
    {"kind": "common word", "text": "president", "words": ["president"]},
    {"kind": "3-word AND", "text": "syria ceasefire talks", "words": ["syria", "ceasefire", "talks"]},
    {"kind": "phrase", "text": '"prime minister"', "phrase": "prime minister"},
    {"kind": "OR", "text": "refugees OR migrants", "either": ["refugees", "migrants"]},
    {"kind": "date-ranged", "text": "election, 2017-01..2017-02", "words": ["election"],
     "since": "2017-01", "until": "2017-02", "from": "2017-01-01", "to": "2017-02-28",
     "date_line": r"^\s*date 2017-0[12]-"},
]
# Search as you type: 20 keystrokes, each a query of the text so far, its last word a prefix.
LIVE_TEXT = "syria ceasefire talk"
QUICK_LIVE_KEYSTROKES = 4

# How a user pulls a date out of the raw files: the first line of wire copy.
DATE_LINE = r"^\s*date (\d{4})-(\d{2})-(\d{2})"

QUERY_TOOLS = ["archsearch", "archsearch served", "sqlite3", "tantivy", "rg", "recollq"]
LIVE_TOOLS = ["archsearch", "archsearch served", "tantivy"]
BUILDS = ["archsearch -j 1", "archsearch -j 2", "fts5", "tantivy", "recoll"]
SKIPPABLE = {"archsearch", "fts5", "tantivy", "recoll", "rg", "reindex", "query", "live", "startup", "served"}
# The longest path of a Unix socket (sun_path holds 108 bytes, with the final NUL).
SOCKET_PATH_BYTES = 107

# The query process of tantivy, written to the work dir: as short as a user's script, so that
# Python compiles little and imports only tantivy.
TANTIVY_QUERY = '''\
import re, sys
import tantivy
index = tantivy.Index.open(sys.argv[1])
text, prefix = sys.argv[2], sys.argv[3:] == ["--prefix"]
if prefix:
    *words, last = text.split()
    last = last.lower()
    clauses = [(tantivy.Occur.Must, index.parse_query(word, ["body"])) for word in words]
    clauses.append((tantivy.Occur.Must, tantivy.Query.boolean_query([
        (tantivy.Occur.Should, tantivy.Query.regex_query(index.schema, "body", re.escape(last) + ".*")),
        (tantivy.Occur.Should, index.parse_query(last, ["body"]))])))
    query = tantivy.Query.boolean_query(clauses)
else:
    query = index.parse_query(text, ["body"], conjunction_by_default=True)
searcher = index.searcher()
result = searcher.search(query, 10)
print(result.count, "matches")
for score, address in result.hits:
    print(searcher.doc(address)["path"][0])
'''


# --------------------------------------------------------------------------- helpers


def note(message):
    print(f"  note: {message}", flush=True)


def iter_files(root):
    """Every file under root, recursively, sorted, hidden names left out (as archsearch reads them);
    folders linked to are followed (the generated 20k corpus is links into the 1m one)."""
    for folder, subfolders, files in os.walk(root, followlinks=True):
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


def fmt_s(seconds):
    if seconds is None:
        return "-"
    if seconds < 0.001:
        return f"{seconds * 1e6:.0f} µs"
    if seconds < 1:
        return f"{seconds * 1000:.1f} ms"
    if seconds < 600:
        return f"{seconds:.2f} s"
    return f"{seconds / 60:.1f} min"


def fmt_n(number):
    return "-" if number is None else f"{number:,.0f}"


def fmt_mib(nbytes):
    return "-" if nbytes is None else f"{nbytes / MIB:,.0f} MiB"


def fmt_x(ratio):
    return "-" if ratio is None else f"{ratio:.3g}x"


def ratio(a, b):
    return a / b if a is not None and b else None


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
    """One finished child process: wall and CPU time, exit status, peak RSS, captured output."""

    def __init__(self, cmd, wall, cpu, returncode, maxrss, tree_peak, stdout, stderr, timed_out, error=None):
        self.cmd, self.wall, self.cpu, self.returncode = cmd, wall, cpu, returncode
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


def _tree(root_pid):
    """A process and all its descendants (Linux /proc)."""
    children = _children_map()
    todo = [root_pid]
    while todo:
        pid = todo.pop()
        todo.extend(children.get(pid, ()))
        yield pid


def tree_rss(root_pid):
    """Sum of the resident set sizes of a process and all its descendants (Linux /proc): a page
    that several of them share (a mapped file, a parent's pages after fork) counts in each."""
    total, page = 0, os.sysconf("SC_PAGE_SIZE")
    for pid in _tree(root_pid):
        try:
            with open(f"/proc/{pid}/statm") as f:
                total += int(f.read().split()[1]) * page
        except (OSError, IndexError, ValueError):
            pass
    return total


def tree_pss(root_pid):
    """Sum of the proportional set sizes of a process and all its descendants (Linux
    /proc/PID/smaps_rollup): a page that n processes share counts 1/n in each, so that this is the
    memory the tree takes, where tree_rss counts a shared page once per process."""
    total = 0
    for pid in _tree(root_pid):
        try:
            with open(f"/proc/{pid}/smaps_rollup") as f:
                total += next(int(line.split()[1]) for line in f if line.startswith("Pss:")) * 1024
        except (OSError, IndexError, ValueError, StopIteration):
            pass
    return total


def run(cmd, *, cwd=None, capture=False, timeout=None, sample_rss=False, env=None):
    """Run cmd (argv list) with stdout to /dev/null (or captured) and stderr captured.

    Wall time is measured around fork/exec/wait; CPU time and peak RSS come from wait4
    (ru_maxrss: the largest single process among the child and its waited-for descendants),
    and with sample_rss the peak of the whole process tree's summed RSS, sampled from /proc.
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
            return Run(cmd, 0.0, 0.0, None, None, None, "", "", False, error=f"cannot run {cmd[0]}: {exc}")

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
        return Run(cmd, wall, usage.ru_utime + usage.ru_stime, proc.returncode, usage.ru_maxrss * 1024,
                   tree_peak[0] or None, stdout, stderr, timed_out.is_set())
    finally:
        done.set()
        err.close()
        if capture:
            out.close()


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


def editable_finders(python):
    """The editable installs' .pth files in `python`'s site-packages.  Each runs an import finder
    at every start-up of that Python (pathlib, re, urllib.parse...), which a regular install does not."""
    listed = run([python, "-c", "import glob, os, site; print(*(os.path.basename(p) for d in site.getsitepackages() "
                                "for p in glob.glob(os.path.join(d, '__editable__*.pth'))))"], capture=True, timeout=60)
    return listed.stdout.split() if listed.ok() else []


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


def file_day(text):
    """yyyymmdd of the date on a wire copy's first line, else None."""
    found = re.match(DATE_LINE, text[:200])
    return int("".join(found.groups())) if found else None


# --------------------------------------------------------------------------- peers' builders


def fts5_child(corpus, db):
    """FTS5 over the raw files, as a user would fill it: path, the wire date, the decoded bytes."""
    con = sqlite3.connect(db, isolation_level=None)
    con.execute("CREATE VIRTUAL TABLE docs USING fts5(path UNINDEXED, date UNINDEXED, body, "
                "tokenize='porter unicode61 remove_diacritics 2')")
    con.execute("BEGIN")
    docs = 0
    for path in iter_files(corpus):
        with open(path, "rb") as f:
            text = f.read().decode("utf-8", "replace")
        day = file_day(text)
        date = f"{day // 10000:04d}-{day // 100 % 100:02d}-{day % 100:02d}" if day else None
        con.execute("INSERT INTO docs(path, date, body) VALUES (?, ?, ?)", (path, date, text))
        docs += 1
    con.execute("COMMIT")
    con.close()
    print(json.dumps({"docs": docs, "sqlite_version": sqlite3.sqlite_version}))


def tantivy_child(corpus, index_dir):
    """tantivy over the raw files: path, body with the English stemmer, the wire date as yyyymmdd."""
    import tantivy

    builder = tantivy.SchemaBuilder()
    builder.add_text_field("path", stored=True, tokenizer_name="raw")
    builder.add_text_field("body", tokenizer_name="en_stem")
    builder.add_integer_field("day", indexed=True, fast=True)
    os.makedirs(index_dir, exist_ok=True)
    index = tantivy.Index(builder.build(), path=index_dir)
    writer = index.writer()
    docs = 0
    for path in iter_files(corpus):
        with open(path, "rb") as f:
            text = f.read().decode("utf-8", "replace")
        fields = {"path": path, "body": text}
        day = file_day(text)
        if day:
            fields["day"] = day
        writer.add_document(tantivy.Document(**fields))
        docs += 1
    writer.commit()
    writer.wait_merging_threads()
    print(json.dumps({"docs": docs, "tantivy_version": getattr(tantivy, "__version__", None)}))


RECOLL_CONF = """\
topdirs = {corpus}
dbdir = {dbdir}
indexstemminglanguages = english
loglevel = 1
"""


# --------------------------------------------------------------------------- the benchmark


class Bench:
    def __init__(self, args):
        self.args = args
        self.corpus = os.path.abspath(args.corpus)
        self.results = {"notes": []}
        self.work = None
        self.nfiles = 0
        self.indexes = {}  # tool -> index path, for the queries
        self.server = None
        self.server_failure = None  # why `archsearch serve` did not start, when it was to be measured

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
        self.recollindex, self.recollq = shutil.which("recollindex"), shutil.which("recollq")
        probe = run([self.python, "-c", "import tantivy; print(tantivy.__version__)"], capture=True, timeout=60)
        self.has_tantivy = probe.ok()  # a missing module prints a traceback, not a version
        self.editable_finders = editable_finders(self.python)
        tantivy_version = probe.stdout.strip() if self.has_tantivy else None
        tools = {
            "archsearch": self.archsearch, "python": self.python, "rg": self.rg, "sqlite3": self.sqlite3,
            "recollindex": self.recollindex, "recollq": self.recollq,
            "archsearch_package": first_line([self.python, "-c", "import archsearch; print(archsearch.__file__)"],
                                             cwd=self.work),
            "archsearch_version": first_line([self.archsearch, "--version"]) if self.archsearch else None,
            "python_version": first_line([self.python, "--version"]),
            "editable_finders": self.editable_finders,
            "rg_version": first_line([self.rg, "--version"]) if self.rg else None,
            "sqlite3_version": first_line([self.sqlite3, "--version"]) if self.sqlite3 else None,
            "recoll_version": self.recoll_version(),
            "tantivy_version": tantivy_version if self.has_tantivy else None,
            "python_sqlite": first_line([self.python, "-c", "import sqlite3; print(sqlite3.sqlite_version)"]),
        }
        self.results["tools"] = tools
        print("tools:")
        for key, where in (("archsearch", self.archsearch), ("python", self.python), ("rg", self.rg),
                           ("sqlite3", self.sqlite3), ("recoll", self.recollindex),
                           ("tantivy", self.python if self.has_tantivy else None)):
            print(f"  {key:<10} {where or 'MISSING'}  {tools.get(f'{key}_version') or ''}")
        if not self.archsearch:
            self.note("tools", "archsearch not found: pass --archsearch PATH or activate the venv")
        if not self.rg:
            self.note("tools", "rg not found (`apt-get install ripgrep`): rg skipped")
        if not self.sqlite3:
            self.note("tools", "sqlite3 shell not found (`apt-get install sqlite3`): its queries skipped")
        if not (self.recollindex and self.recollq):
            self.note("tools", "recoll not found (`apt-get install recollcmd`): recoll skipped")
        if self.editable_finders:
            self.note("tools", f"{self.python} loads an editable install's finder ({', '.join(self.editable_finders)}) "
                               "in every process, archsearch's and tantivy's alike: ~12 ms more each, which makes the "
                               "ratios look better than users see them; measure from a regular install "
                               "(`pip install '.[bench]'`)")
        if not self.has_tantivy:
            self.note("tools", f"tantivy not importable by {self.python} (`pip install '.[bench]'`): "
                               "tantivy skipped, and ratios to it")
        self.index_help = ""
        if self.archsearch:
            r = run([self.archsearch, "index", "--help"], capture=True, timeout=60)
            self.index_help = r.stdout if r.ok() else ""
        tools["index_has_jobs"] = "--jobs" in self.index_help

    def recoll_version(self):
        if not self.recollindex:
            return None
        try:  # only its usage message says
            usage = subprocess.run([self.recollindex, "-h"], capture_output=True, text=True, timeout=30)
        except (OSError, subprocess.SubprocessError):
            return None
        found = re.search(r"Recoll version: (.*)", usage.stdout + usage.stderr)
        return found.group(1).strip() if found else None

    def enabled(self, tool):
        """Whether a tool (a build, a query tool) is installed and not skipped."""
        base = tool.split()[0]
        if base in ("archsearch",):
            return bool(self.archsearch) and "archsearch" not in self.args.skip
        if base in ("recoll", "recollq"):
            return bool(self.recollindex and self.recollq) and "recoll" not in self.args.skip
        if base in ("fts5", "sqlite3"):
            return "fts5" not in self.args.skip and (base == "fts5" or bool(self.sqlite3))
        if base == "tantivy":
            return self.has_tantivy and "tantivy" not in self.args.skip
        if base == "rg":
            return bool(self.rg) and "rg" not in self.args.skip
        return True

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
        # Compiled now, as pip compiles an installed package: with PYTHONDONTWRITEBYTECODE set (as
        # in some shells and CI) every process would otherwise compile all of archsearch from source,
        # ~20 ms of each query, which no installed copy pays.
        subprocess.run([sys.executable, "-m", "compileall", "-q", os.path.join(target, "archsearch")],
                       stdout=subprocess.DEVNULL, check=False)
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
              "skews timings: compare ratios from this one run)")
        print(f"date: {info['date']}; repo at {info.get('git_commit', '?')}"
              f"{' + uncommitted changes in archsearch/' if info.get('archsearch_tree_dirty') else ''}")

    # ---------------------------------------------------------------- corpus

    def scan_corpus(self):
        start = time.perf_counter()
        files = list(iter_files(self.corpus))
        nbytes = 0
        for path in files:  # read every byte once, so that every build starts from a warm page cache
            with open(path, "rb") as f:
                nbytes += len(f.read())
        self.nfiles = len(files)
        elapsed = time.perf_counter() - start
        self.results["corpus"] = {"path": self.corpus, "files": self.nfiles, "bytes": nbytes, "read_all_s": elapsed}
        print(f"corpus: {self.corpus}: {self.nfiles:,} files, {nbytes / MIB:,.1f} MiB "
              f"(read once to warm the page cache: {fmt_s(elapsed)})")

    # ---------------------------------------------------------------- build

    def build_commands(self):
        """(name, argv, index path) of every build to run, in order."""
        builds = []
        if self.enabled("archsearch") and "archsearch" not in self.args.use_index:
            for n in self.args.jobs:
                path = os.path.join(self.work, f"archsearch-j{n}")
                cmd = [self.archsearch, "index", "--index", path, "-q"]
                cmd += ["--jobs", str(n)] if "--jobs" in self.index_help else []
                builds.append((f"archsearch -j {n}", cmd + [self.corpus], path))
        child = os.path.join(self.work, "builder.py")  # a copy: editing the harness mid-run breaks nothing
        if self.enabled("fts5"):
            path = os.path.join(self.work, "fts5.sqlite")
            builds.append(("fts5", [self.python, child, "--fts5-child", self.corpus, path], path))
        if self.enabled("tantivy") and "tantivy" not in self.args.use_index:
            path = os.path.join(self.work, "tantivy")
            builds.append(("tantivy", [self.python, child, "--tantivy-child", self.corpus, path], path))
        if self.enabled("recoll"):
            conf = os.path.join(self.work, "recoll")
            os.makedirs(conf, exist_ok=True)
            with open(os.path.join(conf, "recoll.conf"), "w") as f:
                f.write(RECOLL_CONF.format(corpus=self.corpus, dbdir=os.path.join(conf, "xapiandb")))
            builds.append(("recoll", [self.recollindex, "-c", conf], conf))
        shutil.copy2(os.path.abspath(__file__), child)
        return builds

    def build(self):
        print("\n== index build (every tool into a fresh index, one after the other) ==", flush=True)
        section = self.results["build"] = {}
        for name, cmd, path in self.build_commands():
            print(f"  $ {shlex.join(cmd)}", flush=True)
            r = run(cmd, cwd=self.work, capture=True, sample_rss=True, timeout=self.args.build_timeout or None)
            entry = section[name] = {"cmd": cmd, "wall_s": r.wall, "cpu_s": r.cpu, "returncode": r.returncode,
                                     "maxrss_bytes": r.maxrss, "tree_rss_peak_bytes": r.tree_peak,
                                     "index_bytes": dir_size(path) if os.path.isdir(path) else
                                     (os.path.getsize(path) if os.path.exists(path) else None)}
            if not r.ok():
                entry["error"] = r.why()
                self.note("build", f"{name} failed ({r.why()}): its queries are skipped")
                continue
            if name.startswith("archsearch"):
                self.indexes.setdefault("archsearch", path)  # queries use the first that was built
            else:
                self.indexes[name] = path
        self.print_build(section)

    def print_build(self, section):
        n = self.nfiles
        fts5 = section.get("fts5")
        fts5 = fts5 if fts5 and "error" not in fts5 else None
        rows = []
        for name, e in section.items():
            if "error" in e:
                rows.append([name, "failed", "", "", "", "", "", "", ""])
                continue
            e["wall_ratio_to_fts5"] = ratio(fts5["wall_s"], e["wall_s"]) if fts5 else None
            e["cpu_ratio_to_fts5"] = ratio(fts5["cpu_s"], e["cpu_s"]) if fts5 else None
            peak = max(e["maxrss_bytes"] or 0, e["tree_rss_peak_bytes"] or 0) or None
            rows.append([name, fmt_s(e["wall_s"]), fmt_s(e["wall_s"] / n), fmt_s(e["cpu_s"] / n),
                         fmt_x(e["wall_ratio_to_fts5"]), fmt_x(e["cpu_ratio_to_fts5"]),
                         fmt_mib(e["maxrss_bytes"]), fmt_mib(peak), fmt_mib(e["index_bytes"])])
        if rows:
            table(["build", "wall", "wall/file", "CPU/file", "vs FTS5 wall", "vs FTS5 CPU", "maxRSS", "tree RSS",
                   "on disk"], rows)
            print("  vs FTS5: FTS5's time over the tool's (a throughput ratio: 1 = as fast as FTS5, 0.1 = ten times "
                  "slower); CPU: user+system of the process and its waited-for children;\n"
                  "  maxRSS: the largest single process (wait4); tree RSS: the peak of the summed RSS of the process "
                  "tree, sampled every 0.2 s")

    # ---------------------------------------------------------------- re-index

    def reindex(self):
        print("\n== no-change re-index ==", flush=True)
        section = self.results["reindex"] = {}
        cmds = []
        if "archsearch" in self.indexes:
            cmds.append(("archsearch index", [self.archsearch, "index", "--index", self.indexes["archsearch"], "-q"]))
        if "recoll" in self.indexes:
            cmds.append(("recollindex", [self.recollindex, "-c", self.indexes["recoll"]]))
        rows = []
        for _ in range(self.args.repeat):  # interleaved, like the queries
            for name, cmd in cmds:
                r = run(cmd, cwd=self.work)
                entry = section.setdefault(name, {"cmd": cmd, "times_s": []})
                if r.ok():
                    entry["times_s"].append(r.wall)
                else:
                    entry["error"] = r.why()
        for name, entry in section.items():
            times = entry["times_s"]
            if "error" in entry:
                self.note("reindex", f"{name}: {entry['error']}")
            entry["median_s"] = statistics.median(times) if times else None
            rows.append([name, fmt_s(entry["median_s"]), fmt_s(min(times) if times else None),
                         fmt_s(max(times) if times else None), len(times)])
        if rows:
            table(["no change", "median", "min", "max", "runs"], rows)

    # ---------------------------------------------------------------- queries

    def query_argv(self, tool, kind):
        """The argv of one query of this kind on this tool, or None where the tool cannot ask it."""
        words, phrase, either = kind.get("words"), kind.get("phrase"), kind.get("either")
        dated = "since" in kind
        if tool.startswith("archsearch"):
            argv = [self.archsearch, "query", "--index", self.indexes["archsearch"]]
            if dated:
                argv += ["--since", kind["since"], "--until", kind["until"]]
            return argv + ([f'"{phrase}"'] if phrase else [either[0], "OR", either[1]] if either else words)
        if tool == "sqlite3":
            match = f'"{phrase}"' if phrase else " OR ".join(either) if either else " AND ".join(words)
            where = f"docs MATCH '{match}'"
            if dated:
                where += f" AND date BETWEEN '{kind['from']}' AND '{kind['to']}'"
            return [self.sqlite3, self.indexes["fts5"],
                    f"SELECT path FROM docs WHERE {where} ORDER BY rank LIMIT 10"]
        if tool == "tantivy":
            text = f'"{phrase}"' if phrase else " OR ".join(either) if either else " ".join(words)
            if dated:
                text += f" day:[{kind['from'].replace('-', '')} TO {kind['to'].replace('-', '')}]"
            return [self.python, self.tantivy_query, self.indexes["tantivy"], text]
        if tool == "rg":
            if phrase:
                return [self.rg, "-il", phrase, self.corpus]
            if either:
                return [self.rg, "-il"] + [a for w in either for a in ("-e", w)] + [self.corpus]
            # What a user would type: a pipeline narrowing the list of files, word by word.
            steps = ([kind["date_line"]] if dated else []) + words
            if len(steps) == 1:
                return [self.rg, "-il", steps[0], self.corpus]
            rg = shlex.quote(self.rg)
            script = f"{rg} -il -0 {shlex.quote(steps[0])} {shlex.quote(self.corpus)}"
            for step in steps[1:-1]:
                script += f" | xargs -0 -r {rg} -il -0 {shlex.quote(step)}"
            return ["sh", "-c", script + f" | xargs -0 -r {rg} -il {shlex.quote(steps[-1])}"]
        if tool == "recollq":
            if dated:
                return None  # recoll dates plain text by the file's time only
            text = f'"{phrase}"' if phrase else " OR ".join(either) if either else " ".join(words)
            return [self.recollq, "-c", self.indexes["recoll"], "-b", "-n", "10", text]
        raise ValueError(tool)

    def query_tools(self):
        """The query tools that have an index (or need none), in QUERY_TOOLS order."""
        have = {"archsearch": "archsearch" in self.indexes, "archsearch served": self.server is not None,
                "sqlite3": "fts5" in self.indexes and bool(self.sqlite3), "tantivy": "tantivy" in self.indexes,
                "rg": self.enabled("rg"), "recollq": "recoll" in self.indexes}
        return [tool for tool in QUERY_TOOLS if have[tool]]

    def env_for(self, tool):
        if tool == "archsearch served":
            return self.server["env"]
        return dict(os.environ, ARCHSEARCH_SERVER="off")  # a user's own server never answers

    def interleaved(self, jobs, repeat, section):
        """Run every (key, argv, env) of jobs once per repetition, the order rotating each time.

        The first repetition is a warm-up whose output is kept (for match counts); its time
        is recorded as the first sight of the query.  Returns {key: [times]}.
        """
        times = {key: [] for key, _, _ in jobs}
        first, outputs, failed = {}, {}, {}
        for rep in range(repeat + 1):
            shift = rep % len(jobs) if jobs else 0
            for key, argv, env in jobs[shift:] + jobs[:shift]:
                if key in failed:
                    continue
                r = run(argv, cwd=self.work, capture=rep == 0, env=env, timeout=600)
                if not r.ok((0, 1, 123)):  # 1: nothing found; 123: an rg pipeline that found nothing
                    failed[key] = r.why()
                    self.note(section, f"{key}: {r.why()}")
                elif rep == 0:
                    first[key], outputs[key] = r.wall, r.stdout
                else:
                    times[key].append(r.wall)
        return times, first, outputs

    def queries(self):
        n = self.args.repeat
        print(f"\n== queries (a process per query, stdout to /dev/null; 1 warm-up + {n} interleaved "
              "repetitions) ==", flush=True)
        section = self.results["queries"] = {}
        tools = self.query_tools()
        jobs = []
        for kind in KINDS:
            for tool in tools:
                argv = self.query_argv(tool, kind)
                if argv:
                    jobs.append(((kind["kind"], tool), argv, self.env_for(tool)))
        times, first, outputs = self.interleaved(jobs, n, "query")
        for kind in KINDS:
            alone, served = (outputs.get((kind["kind"], tool)) for tool in ("archsearch", "archsearch served"))
            if alone is not None and served is not None and alone != served:
                self.note("query", f"{kind['kind']}: archsearch's output differs with the server")
        matches = self.match_counts(outputs)
        rows = []
        for kind in KINDS:
            name = kind["kind"]
            entry = section[name] = {"text": kind["text"], "tools": {}}
            base = percentile(times.get((name, "tantivy")), 50)
            for tool in tools:
                key = (name, tool)
                if key not in times:
                    rows.append([name, tool, "n/a", "", "", "", ""])
                    continue
                t = times[key]
                p50, p90 = percentile(t, 50), percentile(t, 90)
                entry["tools"][tool] = {"argv": next(a for k, a, _ in jobs if k == key), "times_s": t,
                                        "p50_s": p50, "p90_s": p90, "first_s": first.get(key),
                                        "ratio_to_tantivy_p50": ratio(p50, base), "matches": matches.get(key)}
                rows.append([name, tool, fmt_s(p50), fmt_s(p90), fmt_s(first.get(key)), fmt_x(ratio(p50, base)),
                             fmt_n(matches.get(key))])
        table(["kind", "tool", "p50", "p90", "1st", "/tantivy", "matches"], rows)
        print("  queries: " + "; ".join(f"{k['kind']}: {k['text']}" for k in KINDS))
        print("  archsearch: `archsearch query --index IX ...` (10 hits with snippets, copies grouped), without a "
              "server (ARCHSEARCH_SERVER=off) and through `archsearch serve`; 1st: the warm-up run (for the "
              "server, its first sight of the query);\n  sqlite3: the shell, `SELECT path ... MATCH ... ORDER BY "
              "rank LIMIT 10`; tantivy: a Python process opening the index, top 10 and the count; rg -il: AND and "
              "the date as an xargs pipeline (the date: a wire copy's `date YYYY-MM-` line);\n  recollq -b -n 10 "
              "(date-ranged n/a: recoll dates plain text by file time only); matches: archsearch's count, FTS5's "
              "count(*), tantivy's count, the files rg lists, recollq's count")

    def match_counts(self, outputs):
        """The number of matches each tool found, from the warm-up run's output (and FTS5's count(*))."""
        counts = {}
        for (name, tool), out in outputs.items():
            found = None
            kind = next(k for k in KINDS if k["kind"] == name)
            if tool.startswith("archsearch"):
                if (name, "archsearch") in counts:  # served or not, the same index and the same count
                    counts[(name, tool)] = counts[(name, "archsearch")]
                    continue
                argv = self.query_argv(tool, kind)
                r = run(argv[:2] + ["--count"] + argv[2:], cwd=self.work, capture=True, timeout=600,
                        env=self.env_for(tool))
                found = re.search(r"\d[\d,]*", r.stdout) if r.ok((0, 1)) else None
            elif tool == "tantivy":
                found = re.match(r"(\d+) matches", out)
            elif tool == "rg":
                counts[(name, tool)] = len([line for line in out.splitlines() if line])
            elif tool == "recollq":
                argv = self.query_argv(tool, kind)
                r = run(argv[:-4] + ["-Q", "-E", argv[-1]], capture=True, timeout=600)
                found = re.search(r"^(\d+) results", r.stdout, re.M) if r.ok() else None
            elif tool == "sqlite3":
                sql = self.query_argv(tool, kind)[2].replace("SELECT path", "SELECT count(*)")
                r = run([self.sqlite3, self.indexes["fts5"], sql.replace(" ORDER BY rank LIMIT 10", "")],
                        capture=True, timeout=600)
                found = re.search(r"\d+", r.stdout) if r.ok() else None
            if found:
                counts[(name, tool)] = int(found.group(found.lastindex or 0).replace(",", ""))
                if tool.startswith("archsearch"):
                    counts[(name, "archsearch")] = counts[(name, tool)]
        return counts

    # ---------------------------------------------------------------- live search

    def live(self):
        keystrokes = len(LIVE_TEXT) if not self.args.quick else QUICK_LIVE_KEYSTROKES
        typed = [LIVE_TEXT[:k] for k in range(1, keystrokes + 1)]
        n = self.args.repeat
        print(f"\n== live search: {keystrokes} keystrokes typing {LIVE_TEXT[:keystrokes]!r}, a process per "
              f"keystroke, the last word a prefix; 1 warm-up + {n} interleaved repetitions ==", flush=True)
        section = self.results["live"] = {"typed": typed, "tools": {}}
        tools = [tool for tool in LIVE_TOOLS if tool in self.query_tools()]
        jobs = []
        for tool in tools:
            # One job per tool types the whole text, so that a tool's keystrokes follow each other
            # as a user's do (a server may keep what the previous keystroke looked up).
            script = [self.live_argv(tool, text) for text in typed]
            jobs.append((tool, script, self.env_for(tool)))
        times = {tool: [] for tool in tools}
        for rep in range(n + 1):
            shift = rep % len(jobs) if jobs else 0
            for tool, script, env in jobs[shift:] + jobs[:shift]:
                per_key = []
                for argv in script:
                    r = run(argv, cwd=self.work, env=env, timeout=600)
                    if not r.ok((0, 1)):
                        self.note("live", f"{tool} {argv[-1]!r}: {r.why()}")
                        break
                    per_key.append(r.wall)
                if rep and len(per_key) == len(script):
                    times[tool].append(per_key)
        rows = []
        base = percentile([t for run_ in times.get("tantivy", []) for t in run_], 50)
        for tool in tools:
            flat = [t for run_ in times[tool] for t in run_]
            by_key = [statistics.median(col) for col in zip(*times[tool])] if times[tool] else []
            p50 = percentile(flat, 50)
            section["tools"][tool] = {"times_s": times[tool], "p50_s": p50, "p90_s": percentile(flat, 90),
                                      "per_keystroke_p50_s": by_key, "ratio_to_tantivy_p50": ratio(p50, base)}
            worst = max(range(len(by_key)), key=by_key.__getitem__) if by_key else None
            rows.append([tool, fmt_s(p50), fmt_s(percentile(flat, 90)), fmt_x(ratio(p50, base)),
                         f"{fmt_s(by_key[worst])} at {typed[worst]!r}" if worst is not None else "-"])
        if rows:
            table(["per keystroke", "p50", "p90", "/tantivy", "slowest keystroke (p50)"], rows)
            print("  archsearch: `archsearch query --index IX syria cease*` and so on; tantivy: the finished words "
                  "parsed, the last one as a regex prefix over the stemmed terms OR the word itself")

    def live_argv(self, tool, text):
        words = text.split()
        prefix = not text.endswith(" ")
        if tool == "tantivy":
            return [self.python, self.tantivy_query, self.indexes["tantivy"], text] + (["--prefix"] if prefix else [])
        query = words[:-1] + [words[-1] + "*"] if prefix else words
        return [self.archsearch, "query", "--index", self.indexes["archsearch"]] + query

    # ---------------------------------------------------------------- the server

    def start_server(self):
        """`archsearch serve` on a socket in the work dir; None if it does not come up, with the reason
        said on stderr and kept in server_failure (the run then exits non-zero)."""
        socket_path = os.path.join(self.work, "server.sock")
        env = dict(os.environ, ARCHSEARCH_SOCKET=socket_path)
        env.pop("ARCHSEARCH_SERVER", None)
        log = open(os.path.join(self.work, "server.log"), "wb")
        proc = subprocess.Popen([self.archsearch, "serve"], env=env, stdin=subprocess.DEVNULL, stdout=log,
                                stderr=log, start_new_session=True)
        deadline = time.monotonic() + 30
        while not os.path.exists(socket_path):
            if proc.poll() is not None or time.monotonic() > deadline:
                ended = proc.poll()
                proc.kill()
                proc.wait()
                log.close()
                self.server_did_not_start(socket_path, ended, log.name)
                return None
            time.sleep(0.05)
        print(f"  resident server: `archsearch serve`, pid {proc.pid}, socket {socket_path}", flush=True)
        return {"proc": proc, "env": env, "log": log}

    def server_did_not_start(self, socket_path, status, log_path):
        with open(log_path, encoding="utf-8", errors="replace") as log:
            said = log.read().strip().splitlines()
        how = f"it exited with status {status}" if status is not None else "no socket after 30 s"
        why = f"{how}: {said[-1]}" if said else how
        length = len(os.fsencode(socket_path))
        if length > SOCKET_PATH_BYTES:
            why += (f"; its socket path {socket_path} is {length} bytes, over the {SOCKET_PATH_BYTES} a Unix socket's "
                    "may have: pass a shorter --workdir")
        self.server_failure = why
        self.note("query", f"`archsearch serve` did not start ({why}): served runs not measured")
        print(f"error: `archsearch serve` did not start ({why}); the served runs are not measured "
              "(--skip served leaves them out on purpose)", file=sys.stderr, flush=True)

    def stop_server(self):
        if self.server:
            self.server["proc"].terminate()
            try:
                self.server["proc"].wait(10)
            except subprocess.TimeoutExpired:
                self.server["proc"].kill()
                self.server["proc"].wait()
            self.server["log"].close()
            self.server = None

    # ---------------------------------------------------------------- start-up

    def startup(self):
        n = self.args.startup_repeat
        print(f"\n== start-up (median of {n}, after 1 warm-up) ==", flush=True)
        section = self.results["startup"] = {}
        cmds = [("python -c pass", [self.python, "-c", "pass"])]
        if self.archsearch:
            cmds.append(("archsearch --help", [self.archsearch, "--help"]))
        if self.has_tantivy:
            cmds.append(("python -c 'import tantivy'", [self.python, "-c", "import tantivy"]))
        rows = []
        for label, cmd in cmds:
            times = [r.wall for r in (run(cmd, cwd=self.work) for _ in range(n + 1)) if r.ok()][1:]
            section[label] = {"cmd": cmd, "times_s": times, "median_s": percentile(times, 50)}
            rows.append([label, fmt_s(percentile(times, 50)), fmt_s(min(times) if times else None)])
        table(["", "median", "min"], rows)

    # ---------------------------------------------------------------- main

    def main(self):
        args = self.args
        if not os.path.isdir(self.corpus):
            print(f"error: {args.corpus} is not a folder", file=sys.stderr)
            return 2
        self.results["args"] = vars(args)
        if args.workdir:
            # a folder named for this run's indexes is made, as --json's folder is
            os.makedirs(args.workdir, exist_ok=True)
        self.work = tempfile.mkdtemp(prefix="archsearch-bench-", dir=args.workdir)
        self.tantivy_query = os.path.join(self.work, "tantivy_query.py")
        with open(self.tantivy_query, "w") as f:
            f.write(TANTIVY_QUERY)
        try:
            self.machine()
            print(f"work dir: {self.work}{'' if args.keep else ' (removed at the end; --keep keeps it)'}")
            self.snapshot()
            self.find_tools()
            self.scan_corpus()
            if not self.nfiles:
                print(f"error: no files under {self.corpus}", file=sys.stderr)
                return 2
            self.indexes.update(args.use_index)
            self.step("build", self.build)
            self.step("reindex", self.reindex)
            if "archsearch" in self.indexes and not {"query", "live"} <= args.skip and "served" not in args.skip:
                self.server = self.start_server()
            self.step("query", self.queries)
            self.step("live", self.live)
            self.stop_server()
            self.step("startup", self.startup)
            print("\n== the issue's table (Markdown) ==\n" + issue_table(self.results))
        except KeyboardInterrupt:
            print("\ninterrupted: writing what was measured", file=sys.stderr)
        finally:
            self.stop_server()
            self.results.setdefault("loadavg", {})["end"] = os.getloadavg()
            self.write_json()
            if not args.keep:
                shutil.rmtree(self.work, ignore_errors=True)
        if self.server_failure:
            print(f"error: the served runs were not measured: {self.server_failure}", file=sys.stderr)
            return 1
        return 0

    def step(self, name, function):
        if name in self.args.skip:
            self.note(name, "skipped (--skip)")
            return
        self.results.setdefault("loadavg", {})[name] = os.getloadavg()
        try:
            function()
        except KeyboardInterrupt:
            raise
        except Exception as exc:  # the harness must report, not crash
            self.note(name, f"section failed: {type(exc).__name__}: {exc}")

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


def issue_table(results):
    """The issue's table in Markdown, from a run's raw numbers: build, re-index, queries, live search."""
    build, reindex = results.get("build", {}), results.get("reindex", {})
    queries, live = results.get("queries", {}), results.get("live", {}).get("tools", {})
    columns = [("archsearch", ["archsearch -j 1", "archsearch -j 2"], "archsearch index", "archsearch"),
               ("FTS5 (raw files)", ["fts5"], None, "sqlite3"),
               ("tantivy-py (raw files)", ["tantivy"], None, "tantivy"),
               ("recoll", ["recoll"], "recollindex", "recollq"),
               ("rg -il", [], None, "rg")]

    def builds(names, show):
        cells = []
        for name in names:
            e = build.get(name)
            if e and "error" not in e:
                label = f"-j {name.split()[-1]}: " if name.startswith("archsearch") else ""
                cells.append(label + show(e))
        return "; ".join(cells) or "n/a"

    def query_range(tool):
        p50s = [(e["tools"][tool]["p50_s"], e["tools"][tool]["ratio_to_tantivy_p50"])
                for e in queries.values() if tool in e["tools"]]
        if not p50s:
            return "n/a"
        low, high = min(t for t, _ in p50s), max(t for t, _ in p50s)
        ratios = [r for _, r in p50s if r is not None]
        text = f"{low * 1000:.0f}-{high * 1000:.0f} ms"
        return text + (f" ({min(ratios):.2g}-{max(ratios):.2g}x)" if ratios and tool != "tantivy" else "")

    def live_cell(tool):
        e = live.get(tool)
        if not e or e["p50_s"] is None:
            return "n/a"
        r = e["ratio_to_tantivy_p50"]
        return f"{e['p50_s'] * 1000:.0f} ms" + (f" ({r:.2g}x)" if r is not None and tool != "tantivy" else "")

    def peak(e):
        return fmt_mib(max(e["maxrss_bytes"] or 0, e["tree_rss_peak_bytes"] or 0))

    rows = [
        ("index build, throughput vs FTS5: wall / CPU per file",
         [builds(b, lambda e: f"{fmt_x(e['wall_ratio_to_fts5'])} / {fmt_x(e['cpu_ratio_to_fts5'])}")
          if b else "n/a" for _, b, _, _ in columns]),
        ("index build, CPU per file", [builds(b, lambda e: fmt_s(e["cpu_s"] / results["corpus"]["files"]))
                                       if b else "n/a" for _, b, _, _ in columns]),
        ("index build, peak RSS (process tree)", [builds(b, peak) if b else "n/a" for _, b, _, _ in columns]),
        ("index size on disk", [builds(b, lambda e: fmt_mib(e["index_bytes"])) if b else "n/a"
                                for _, b, _, _ in columns]),
        ("no-change re-index, median", [fmt_s(reindex.get(r, {}).get("median_s")) if r else "n/a"
                                        for _, _, r, _ in columns]),
        ("query p50, a process per query, no server (x tantivy)", [query_range(q) for _, _, _, q in columns]),
        ("query p50, through `archsearch serve` (x tantivy)",
         [query_range("archsearch served")] + ["" for _ in columns[1:]]),
        ("live search, p50 per keystroke, no server / served (x tantivy)",
         [f"{live_cell('archsearch')} / {live_cell('archsearch served')}", "", live_cell("tantivy"), "", ""]),
    ]
    lines = ["| | " + " | ".join(name for name, *_ in columns) + " |", "|---" * (len(columns) + 1) + "|"]
    lines += [f"| {label} | " + " | ".join(cells) + " |" for label, cells in rows]
    kinds = list(queries)
    tools = [t for t in QUERY_TOOLS if any(t in e["tools"] for e in queries.values())]
    lines += ["", "| query p50 (x tantivy) | " + " | ".join(tools) + " |", "|---" * (len(tools) + 1) + "|"]
    for kind in kinds:
        cells = []
        for tool in tools:
            e = queries[kind]["tools"].get(tool)
            cells.append("n/a" if not e else f"{e['p50_s'] * 1000:.0f} ms" + (
                f" ({e['ratio_to_tantivy_p50']:.2g}x)" if tool != "tantivy" and e["ratio_to_tantivy_p50"] else ""))
        lines.append(f"| {kind}: {queries[kind]['text']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 epilog="Sections: build, reindex, query, live, startup.")
    ap.add_argument("corpus", metavar="CORPUS_DIR", help="folder of article files, e.g. /work/corpora/4k")
    ap.add_argument("--repeat", type=int, default=10, metavar="N",
                    help="interleaved repetitions of the queries, live search and re-index, after one warm-up; "
                         "default 10")
    ap.add_argument("--startup-repeat", type=int, default=20, metavar="N", help="runs per start-up command; default 20")
    ap.add_argument("--quick", action="store_true",
                    help=f"a smoke test: 1 repetition, archsearch built with the first --jobs only, {QUICK_LIVE_KEYSTROKES} "
                         "keystrokes of live search, 2 start-up runs")
    ap.add_argument("--jobs", default="1,2", metavar="LIST",
                    help="build archsearch once with each of these --jobs (comma-separated; default 1,2); "
                         "queries use the first")
    ap.add_argument("--json", metavar="OUT", help="raw numbers; default bench/results/<corpus>-<time>.json")
    ap.add_argument("--archsearch", metavar="PATH", help="the archsearch command (default: next to this Python, "
                                                         "then PATH, then /tmp/venv/bin)")
    ap.add_argument("--workdir", metavar="DIR", help="where to make the temporary indexes")
    ap.add_argument("--no-snapshot", action="store_true",
                    help="run the archsearch code live from the work tree instead of a copy taken at the start")
    ap.add_argument("--keep", action="store_true", help="keep the work dir (the indexes)")
    ap.add_argument("--build-timeout", type=float, default=0, metavar="S",
                    help="give up on a build after S seconds (default: no limit)")
    ap.add_argument("--use-index", action="append", default=[], metavar="TOOL=PATH",
                    help="query this existing index of archsearch or tantivy instead of building one (repeatable): "
                         "to compare versions of the query code on one index, or where archsearch cannot index the "
                         "corpus folder itself (the 20k corpus's folders are links outside it)")
    ap.add_argument("--skip", default="", metavar="LIST",
                    help="comma-separated tools or sections: " + ", ".join(sorted(SKIPPABLE)))
    args = ap.parse_args(argv)
    args.skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    given = [item.partition("=") for item in args.use_index]
    if any(tool not in ("archsearch", "tantivy") or not path for tool, _, path in given):
        ap.error("--use-index wants archsearch=PATH or tantivy=PATH")
    args.use_index = {tool: os.path.abspath(path) for tool, _, path in given}
    unknown = args.skip - SKIPPABLE
    if unknown:
        ap.error(f"unknown --skip item(s): {', '.join(sorted(unknown))}")
    try:
        args.jobs = [int(n) for n in args.jobs.split(",") if n.strip()]
    except ValueError:
        ap.error(f"--jobs wants numbers separated by commas, not {args.jobs!r}")
    if args.quick:
        args.repeat, args.startup_repeat, args.jobs = 1, 2, args.jobs[:1]
    if args.repeat < 1 or args.startup_repeat < 1:
        ap.error("--repeat and --startup-repeat must be at least 1")
    return args


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--table"] and len(argv) == 2:  # the issue's table again, from a run's JSON
        with open(argv[1], encoding="utf-8") as f:
            print(issue_table(json.load(f)))
        return 0
    if argv[:1] == ["--fts5-child"] and len(argv) == 3:
        fts5_child(argv[1], argv[2])
        return 0
    if argv[:1] == ["--tantivy-child"] and len(argv) == 3:
        tantivy_child(argv[1], argv[2])
        return 0
    return Bench(parse_args(argv)).main()


if __name__ == "__main__":
    sys.exit(main())
