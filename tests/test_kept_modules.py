"""The modules' code kept in the cache folder (archsearch.kept_modules), in real processes."""

import glob
import marshal
import os
import re
import shutil
import subprocess
import sys
import time
import zlib

import pytest

from archsearch import kept_modules

# The console script, reporting at its end which modules came from the kept file.
QUERY_REPORTING = """
import os, sys
exit_now = os._exit
def report(status):
    served = sorted(name for name, module in list(sys.modules.items())
                    if type(getattr(getattr(module, "__spec__", None), "loader", None)).__name__ == "_KeptLoader")
    print(len(served), "archsearch.searching" in served, "whoosh.index" in served, file=sys.stderr, flush=True)
    exit_now(status)
os._exit = report
sys.argv = ["archsearch", *{args!r}]
from archsearch.client import main
main()
"""

# A process importing a module with the kept file served, as a query does.
IMPORTING = """
import sys
sys.path[1:1] = {folders!r}
from archsearch import kept_modules
kept_modules.serve()
import {module} as module
spec = module.__spec__
print(module.VALUE, type(spec.loader).__name__)
print(module.__file__, module.__cached__, getattr(module, "__path__", None), module.__package__,
      spec.origin, spec.cached, spec.has_location, spec.submodule_search_locations, spec.parent)
"""


def run_script(tmp_path, text, environ):
    (tmp_path / "bin").mkdir(exist_ok=True)  # a folder of its own, as a virtual environment's bin is
    script = tmp_path / "bin" / "script.py"  # a file, as the console script is: sys.path[0] is its folder
    script.write_text(text)
    return subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=environ, timeout=120)


@pytest.fixture
def environ(tmp_path):
    return {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache"), "ARCHSEARCH_SERVER": "off"}


def kept_file(environ) -> list:
    folder = os.path.join(environ["XDG_CACHE_HOME"], "archsearch")
    return sorted(name for name in os.listdir(folder) if name.startswith("kept-modules-")) if os.path.isdir(folder) else []


@pytest.mark.parametrize("args", [["query", "Taliban"], ["query", "Taliban", "--json", "-n", "3"], ["query", "-c", "nothingatall"]])
def test_a_second_query_imports_from_the_kept_file_and_answers_the_same(seeded_index, tmp_path, environ, args):
    environ["ARCHSEARCH_INDEX"] = str(seeded_index)
    first = run_script(tmp_path, QUERY_REPORTING.format(args=args), environ)
    assert first.stderr.splitlines()[-1] == "0 False False", first.stderr
    assert len(kept_file(environ)) == 1
    second = run_script(tmp_path, QUERY_REPORTING.format(args=args), environ)
    served, *names = second.stderr.splitlines()[-1].split()
    assert int(served) > 50 and names == ["True", "True"], second.stderr
    elapsed = re.compile(r'"elapsed_ms": [0-9.]+')  # --json's, which differs from run to run
    assert (elapsed.sub("", second.stdout), second.returncode) == (elapsed.sub("", first.stdout), first.returncode)


def package(folder, source="VALUE = 1\n"):
    (folder / "keptpackage").mkdir(parents=True, exist_ok=True)
    (folder / "keptpackage" / "__init__.py").write_text("VALUE = 'package'\n")
    (folder / "keptpackage" / "part.py").write_text(source)


@pytest.mark.parametrize("module", ["keptpackage", "keptpackage.part"])
def test_a_module_served_is_set_up_as_python_sets_it_up(tmp_path, environ, module):
    package(tmp_path / "modules")
    usual = run_script(tmp_path, IMPORTING.format(folders=[str(tmp_path / "modules")], module=module), environ)
    served = run_script(tmp_path, IMPORTING.format(folders=[str(tmp_path / "modules")], module=module), environ)
    assert usual.stdout.splitlines()[0].split()[1] == "SourceFileLoader", usual.stderr
    assert served.stdout.splitlines()[0].split()[1] == "_KeptLoader", served.stderr
    assert served.stdout.splitlines()[1] == usual.stdout.splitlines()[1]


def test_a_module_changed_is_imported_anew_then_kept_anew(tmp_path, environ):
    package(tmp_path / "modules")
    text = IMPORTING.format(folders=[str(tmp_path / "modules")], module="keptpackage.part")
    outputs = [run_script(tmp_path, text, environ).stdout.split("\n")[0] for _ in range(2)]
    part = tmp_path / "modules" / "keptpackage" / "part.py"
    part.write_text("VALUE = 22\n")  # another size
    outputs += [run_script(tmp_path, text, environ).stdout.split("\n")[0] for _ in range(2)]
    stamp = part.stat().st_mtime_ns
    part.write_text("VALUE = 33\n")  # the same size, another time
    os.utime(part, ns=(stamp + 1, stamp + 1))
    # Python's own .pyc (written unless PYTHONDONTWRITEBYTECODE) is checked by whole seconds and
    # size, so it would give the 22 again: what is tested here is the kept modules' own check.
    shutil.rmtree(part.parent / "__pycache__", ignore_errors=True)
    outputs += [run_script(tmp_path, text, environ).stdout.split("\n")[0] for _ in range(2)]
    assert outputs == [
        "1 SourceFileLoader", "1 _KeptLoader", "22 SourceFileLoader", "22 _KeptLoader", "33 SourceFileLoader", "33 _KeptLoader",
    ]


def test_a_module_put_where_python_looks_first_is_the_one_imported(tmp_path, environ):
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    package(second)
    text = IMPORTING.format(folders=[str(first), str(second)], module="keptpackage.part")
    outputs = [run_script(tmp_path, text, environ).stdout.split("\n")[0] for _ in range(2)]
    package(first, "VALUE = 'first'\n")
    outputs += [run_script(tmp_path, text, environ).stdout.split("\n")[0] for _ in range(2)]
    assert outputs == ["1 SourceFileLoader", "1 _KeptLoader", "first SourceFileLoader", "first _KeptLoader"]


@pytest.mark.parametrize("damage", ["code", "index", "truncated", "empty", "fifo"])
def test_a_damaged_kept_file_only_means_importing_as_usual(tmp_path, environ, damage):
    package(tmp_path / "modules")
    text = IMPORTING.format(folders=[str(tmp_path / "modules")], module="keptpackage.part")
    run_script(tmp_path, text, environ)
    (name,) = kept_file(environ)
    path = os.path.join(environ["XDG_CACHE_HOME"], "archsearch", name)
    data = bytearray(open(path, "rb").read())
    if damage == "fifo":
        os.unlink(path)
        os.mkfifo(path)
    else:
        if damage == "code":  # the last module kept: a byte of its code's constants
            data[-3] ^= 0xFF
        elif damage == "index":
            data[data.index(b"\n") + 20] ^= 0xFF
        elif damage == "truncated":
            del data[-40:]
        else:
            data = b""
        open(path, "wb").write(bytes(data))
    again = run_script(tmp_path, text, environ)
    value, loader = again.stdout.split("\n")[0].split()
    assert again.returncode == 0 and value == "1", again.stderr
    # the index whole, a module's code not: that module's code from its .pyc, through the same loader
    assert loader == ("_KeptLoader" if damage in ("code", "truncated") else "SourceFileLoader")


def test_nothing_is_served_to_a_relative_sys_path(tmp_path, environ):
    """`python -c` puts '' (the working folder, wherever that is) first in sys.path."""
    package(tmp_path / "modules")
    code = IMPORTING.format(folders=[str(tmp_path / "modules")], module="keptpackage.part")
    for _ in range(2):
        result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=environ, cwd=tmp_path)
        assert result.stdout.split("\n")[0] == "1 SourceFileLoader", result.stderr
    assert kept_file(environ) == []


def test_a_module_is_not_served_nor_kept_along_a_sys_path_changed_since(tmp_path, environ):
    package(tmp_path / "modules")
    package(tmp_path / "other", "VALUE = 'other'\n")
    text = IMPORTING.replace(
        "kept_modules.serve()\n", f"kept_modules.serve()\nsys.path.insert(1, {str(tmp_path / 'other')!r})\n"
    ).format(folders=[str(tmp_path / "modules")], module="keptpackage.part")
    run_script(tmp_path, IMPORTING.format(folders=[str(tmp_path / "modules")], module="keptpackage.part"), environ)
    outputs = [run_script(tmp_path, text, environ).stdout.split("\n")[0] for _ in range(2)]
    assert outputs == ["other SourceFileLoader", "other SourceFileLoader"]


def test_a_cache_folder_that_cannot_be_written_only_means_importing_as_usual(tmp_path, environ):
    package(tmp_path / "modules")
    (tmp_path / "not a folder").write_text("")
    environ["XDG_CACHE_HOME"] = str(tmp_path / "not a folder")
    text = IMPORTING.format(folders=[str(tmp_path / "modules")], module="keptpackage.part")
    for _ in range(2):
        result = run_script(tmp_path, text, environ)
        assert (result.returncode, result.stdout.split("\n")[0], result.stderr) == (0, "1 SourceFileLoader", "")


def test_writing_a_file_removes_the_oldest_beyond_the_last_written(tmp_path, environ):
    """Writing a kept file removes the oldest beyond MAX_FILES, each with the record of it found whole."""
    from archsearch.kept_modules import MAX_FILES

    folder = tmp_path / "cache" / "archsearch"
    folder.mkdir(parents=True)
    others = [folder / f"kept-modules-2-other-{number:08x}.bin" for number in range(MAX_FILES + 2)]
    for age, path in enumerate(others):
        path.write_bytes(b"")
        (folder / f"intact-{path.name}").write_bytes(b"")
        os.utime(path, ns=(10**18 - age * 10**9,) * 2)  # the first written last
    (folder / "compiled-sources-2-x.marshal").write_bytes(b"")
    package(tmp_path / "modules")
    run_script(tmp_path, IMPORTING.format(folders=[str(tmp_path / "modules")], module="keptpackage.part"), environ)
    (ours,) = set(kept_file(environ)) - {path.name for path in others}
    assert sorted(kept_file(environ)) == sorted([ours, *(path.name for path in others[:MAX_FILES - 1])])
    assert (folder / "compiled-sources-2-x.marshal").exists()
    records = sorted(path.name for path in folder.iterdir() if path.name.startswith("intact-"))
    assert records == sorted(f"intact-{path.name}" for path in others[:MAX_FILES - 1])


# IMPORTING with any kept file settled at once, saying first whether its codes were known whole.
IMPORTING_SETTLED = IMPORTING.replace(
    "kept_modules.serve()\n", "kept_modules.SETTLED_NS = 0\nkept_modules.serve()\nprint(kept_modules._kept.intact)\n",
)


def test_a_settled_file_is_checked_whole_once_then_served_unsummed_until_it_changes(tmp_path, environ):
    """The first process to find the kept file settled checks every code in it and records the
    file's identity beside it; the next ones sum no code. A byte changed in place (the file's size
    the same) changes its identity: the file is checked again, and the damaged module imported as usual."""
    package(tmp_path / "modules")
    text = IMPORTING_SETTLED.format(folders=[str(tmp_path / "modules")], module="keptpackage.part")
    runs = [run_script(tmp_path, text, environ) for _ in range(3)]
    assert [run.stdout.split("\n")[:2] for run in runs] == [
        ["False", "1 SourceFileLoader"], ["True", "1 _KeptLoader"], ["True", "1 _KeptLoader"],
    ], runs[-1].stderr
    (name,) = kept_file(environ)
    path = os.path.join(environ["XDG_CACHE_HOME"], "archsearch", name)
    data = bytearray(open(path, "rb").read())
    data[-3] ^= 0xFF  # a byte of the last module's code's constants
    time.sleep(0.05)  # past the clock tick of the file's last change, as any later write is
    open(path, "wb").write(bytes(data))
    again = run_script(tmp_path, text, environ)
    assert again.stdout.split("\n")[:2] == ["False", "1 _KeptLoader"], again.stderr


def test_a_file_not_settled_is_summed_as_it_is_served(tmp_path, environ):
    package(tmp_path / "modules")
    text = IMPORTING.replace("kept_modules.serve()\n", "kept_modules.serve()\nprint(kept_modules._kept.intact)\n")
    text = text.format(folders=[str(tmp_path / "modules")], module="keptpackage.part")
    outputs = [run_script(tmp_path, text, environ).stdout.split("\n")[:2] for _ in range(2)]
    assert outputs == [["False", "1 SourceFileLoader"], ["False", "1 _KeptLoader"]]
    assert [name for name in os.listdir(tmp_path / "cache" / "archsearch") if name.startswith("intact-")] == []


@pytest.mark.parametrize("record", [None, "another identity", "garbage", "open to others", "fifo"])
def test_only_a_record_of_ours_of_the_same_file_is_believed(tmp_path, record):
    target = tmp_path / "kept-modules-2-x.bin"
    target.write_bytes(b"codes")
    info = os.stat(target)
    identity = (info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns)
    path = kept_modules._intact_path(str(target))
    assert os.path.basename(path) == "intact-kept-modules-2-x.bin"
    if record == "fifo":
        os.mkfifo(path)
    else:
        other = marshal.dumps((*identity[:2], identity[2] + 1, *identity[3:]))
        with open(path, "wb") as out:
            out.write({"another identity": other, "garbage": b"\xff\x00"}.get(record, marshal.dumps(identity)))
        os.chmod(path, 0o666 if record == "open to others" else 0o600)
    assert (kept_modules._recorded_identity(path) == identity) is (record is None)


# A process importing a module with the kept file served, then doing `then`.
SERVING_THEN = """
from archsearch import kept_modules
kept_modules.serve()
import {module} as module
print(module.VALUE)
{then}
"""


def rewrite_kept_file(path, change):
    """The kept file with change(name, origin, code bytes) -> new code bytes applied to every module."""
    data = open(path, "rb").read()
    header_end = data.index(b"\n") + 1
    length = int.from_bytes(data[header_end:header_end + 4], "big")
    start = header_end + 8
    kept_path, folders, modules = marshal.loads(data[start:start + length])
    entries = []
    for name, (origin, is_package, mtime_ns, size, offset, code_length, _) in modules.items():
        code = b"" if code_length == -1 else data[start + length + offset:start + length + offset + code_length]
        entries.append((name, (origin, is_package, mtime_ns, size), code_length == -1, change(name, origin, code)))
    new_modules, offset = {}, 0
    for name, identity, is_extension, code in entries:
        new_modules[name] = (*identity, offset, -1 if is_extension else len(code), zlib.crc32(code))
        offset += len(code)
    index = marshal.dumps((kept_path, folders, new_modules))
    with open(path, "wb") as out:
        out.write(data[:header_end] + len(index).to_bytes(4, "big") + zlib.crc32(index).to_bytes(4, "big") + index)
        out.write(b"".join(code for *_, code in entries))


def test_a_kept_file_another_user_could_write_is_not_run(tmp_path, environ):
    """Python runs a __pycache__ file only where whoever can write it can write the source too; the
    kept file is in a cache folder that may be shared ($XDG_CACHE_HOME=/tmp/..., `sudo` keeping
    HOME): one writable by others, or not the user's, must not be read (as client.folder_problem
    refuses a socket folder)."""
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "plainmodule.py").write_text("VALUE = 'as written'\n")
    environ["PYTHONPATH"] = str(tmp_path / "lib")
    assert run_script(tmp_path, SERVING_THEN.format(module="plainmodule", then=""), environ).stdout == "as written\n"
    folder = tmp_path / "cache" / "archsearch"
    os.chmod(folder, 0o777)  # as a folder made by someone else in a shared place is
    [kept] = glob.glob(str(folder / "kept-modules-*.bin"))
    planted = marshal.dumps(compile("VALUE = 'planted by another user'\n", "x", "exec"))
    rewrite_kept_file(kept, lambda name, origin, code: planted if name == "plainmodule" else code)
    os.chmod(kept, 0o666)
    assert run_script(tmp_path, SERVING_THEN.format(module="plainmodule", then=""), environ).stdout == "as written\n"


def test_a_module_added_during_a_run_is_the_one_imported_after_it(tmp_path, environ):
    """The folders' times are taken as the file is written, at the end of the process: a module
    added meanwhile where Python looks first is then hidden behind the kept one for good."""
    for name in ("first", "second"):
        (tmp_path / name).mkdir()
    (tmp_path / "second" / "shadowed.py").write_text("VALUE = 'second'\n")
    environ["PYTHONPATH"] = os.pathsep.join([str(tmp_path / "first"), str(tmp_path / "second")])
    added_meanwhile = f"open({str(tmp_path / 'first' / 'shadowed.py')!r}, 'w').write(\"VALUE = 'first'\\n\")"
    during = run_script(tmp_path, SERVING_THEN.format(module="shadowed", then=added_meanwhile), environ)
    assert during.stdout == "second\n"
    after = run_script(tmp_path, SERVING_THEN.format(module="shadowed", then=""), environ)
    assert after.stdout == "first\n"  # what Python imports: the file of the first folder


def test_another_file_at_the_same_path_is_not_taken_for_the_kept_one(tmp_path, environ):
    """A release folder swapped under a symlink (or any file replaced) whose files have the same
    sizes and times (rsync -a, SOURCE_DATE_EPOCH builds, Nix's store: mtime 1): Python reads the
    .pyc beside the new file; the kept file serves the old code. st_ino/st_dev and st_ctime_ns
    (which no one can set back) tell them apart."""
    releases = tmp_path / "releases"  # not the script's folder, which is on sys.path
    for release, value in (("v1", "1"), ("v2", "2")):
        (releases / release).mkdir(parents=True)
        (releases / release / "released.py").write_text(f"VALUE = {value}\n")
        for path in (releases / release / "released.py", releases / release):
            os.utime(path, ns=(1_000_000_000 * 10**9, 1_000_000_000 * 10**9))
    os.symlink("v1", releases / "current")
    environ["PYTHONPATH"] = str(releases / "current")
    for _ in range(2):
        assert run_script(tmp_path, SERVING_THEN.format(module="released", then=""), environ).stdout == "1\n"
    os.unlink(releases / "current")
    os.symlink("v2", releases / "current")
    assert run_script(tmp_path, SERVING_THEN.format(module="released", then=""), environ).stdout == "2\n"


def test_partial_copies_left_by_killed_processes_and_older_layouts_are_removed(tmp_path, environ):
    """A process killed while it wrote the file left its partial copy (about 2 MB) for good, and a
    file of an older layout was never counted among the files kept."""
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "plainmodule.py").write_text("VALUE = 1\n")
    environ["PYTHONPATH"] = str(tmp_path / "lib")
    folder = tmp_path / "cache" / "archsearch"
    folder.mkdir(parents=True)
    left = [folder / "kept-modules-2-x.bin.4242", folder / "kept-modules-2-x.bin.4343", folder / "kept-modules-1-y.bin"]
    for path in left:
        path.write_bytes(b"partial")
    old = time.time() - 3600
    for path in left[:1]:
        os.utime(path, (old, old))
    for number in range(kept_modules.MAX_FILES):
        (folder / f"kept-modules-2-{number}.bin").write_bytes(b"")
    os.utime(left[2], (old, old))
    assert run_script(tmp_path, SERVING_THEN.format(module="plainmodule", then=""), environ).stdout == "1\n"
    names = {path.name for path in folder.iterdir()}
    assert "kept-modules-2-x.bin.4242" not in names and "kept-modules-1-y.bin" not in names
    assert "kept-modules-2-x.bin.4343" in names  # recent: maybe another process writing it now



def test_python_m_archsearch_reads_one_kept_file_whatever_folder_it_runs_in(seeded_index, tmp_path, environ):
    """`python -m archsearch` leaves out the folder it runs in, which `-m` puts first on sys.path:
    run where a file is added before each query (output sent there), or in folder after folder, it
    reads the one kept file, written by its first query alone; nor is a module that folder holds
    imported in the place of the one installed."""
    environ["ARCHSEARCH_INDEX"] = str(seeded_index)
    outputs, stamps = [], []
    for folder, added in [("articles", None), ("articles", "answer-1.txt"), ("articles", "whoosh.py"), ("elsewhere", None)]:
        (tmp_path / folder).mkdir(exist_ok=True)
        if added:
            (tmp_path / folder / added).write_text("raise SystemExit('not the installed Whoosh')\n" if added == "whoosh.py" else outputs[-1])
        result = subprocess.run(
            [sys.executable, "-m", "archsearch", "query", "Taliban"], cwd=tmp_path / folder, capture_output=True, text=True,
            env=environ, timeout=120,
        )
        assert result.returncode == 0, result.stderr
        outputs.append(result.stdout)
        [name] = kept_file(environ)
        info = os.stat(os.path.join(environ["XDG_CACHE_HOME"], "archsearch", name))
        stamps.append((name, info.st_ino, info.st_mtime_ns))
    assert len(set(outputs)) == 1 and "Taliban" in outputs[0]
    assert len(set(stamps)) == 1


def test_python_m_archsearch_runs_in_a_folder_removed_meanwhile(tmp_path, environ):
    """A folder removed since the shell entered it: -m puts nothing first on sys.path then, and the
    command runs as anywhere else."""
    gone = tmp_path / "gone"
    gone.mkdir()
    result = subprocess.run(
        ["sh", "-c", 'cd "$1" && rmdir "$1" && exec "$2" -m archsearch --version', "sh", str(gone), sys.executable],
        capture_output=True, text=True, env=environ, timeout=120,
    )
    assert (result.returncode, result.stdout.split()[:2], result.stderr) == (0, ["archsearch,", "version"], "")
