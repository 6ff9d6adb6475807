"""The modules' code kept in the cache folder (archsearch.kept_modules), in real processes."""

import os
import re
import subprocess
import sys

import pytest

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
    from archsearch.kept_modules import MAX_FILES

    folder = tmp_path / "cache" / "archsearch"
    folder.mkdir(parents=True)
    others = [folder / f"kept-modules-2-other-{number:08x}.bin" for number in range(MAX_FILES + 2)]
    for age, path in enumerate(others):
        path.write_bytes(b"")
        os.utime(path, ns=(10**18 - age * 10**9,) * 2)  # the first written last
    (folder / "compiled-sources-2-x.marshal").write_bytes(b"")
    package(tmp_path / "modules")
    run_script(tmp_path, IMPORTING.format(folders=[str(tmp_path / "modules")], module="keptpackage.part"), environ)
    (ours,) = set(kept_file(environ)) - {path.name for path in others}
    assert sorted(kept_file(environ)) == sorted([ours, *(path.name for path in others[:MAX_FILES - 1])])
    assert (folder / "compiled-sources-2-x.marshal").exists()
