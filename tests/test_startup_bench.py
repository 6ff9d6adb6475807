"""bench/no_server.py on a three-file index, one round: a smoke test of the script, not a timing."""

import subprocess
import sys

from conftest import REPO, build_index
from test_bench import FILES


def test_no_server_bench_times_every_kind_and_splits_the_phases(tmp_path):
    index = build_index(tmp_path, FILES)
    done = subprocess.run(
        [sys.executable, str(REPO / "bench" / "no_server.py"), str(index), "--rounds", "1", "--live", "--phases",
         "--against", "HEAD"],
        capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    for kind in ("rare word", "common word", "3-word AND", "phrase", "OR", "date-ranged", "live search"):
        assert any(line.startswith(kind) for line in lines), done.stdout
    phases = [line for line in lines if line.startswith(("rare word ", "3-word AND ", "phrase ", "date-ranged ")) and " | " in line]
    assert sorted(" archsearch@HEAD " in line for line in phases) == [False] * 4 + [True] * 4, done.stdout
