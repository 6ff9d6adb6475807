""".ci/run runs the README's test command in the environment a user's fresh shell has, not its caller's."""

import os
import re
import subprocess

from conftest import REPO

SCRIPT = (REPO / ".ci" / "run").read_text()


def kept_by_ci_run(caller: dict) -> dict:
    """The variables .ci/run's kept_environment passes on from a caller with the environment caller."""
    function = re.search(r"^kept_environment\(\) \{\n.*?^\}\n", SCRIPT, re.M | re.S)[0]
    done = subprocess.run(["bash", "-c", function + "kept_environment"], env=caller, capture_output=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return dict(item.split("=", 1) for item in done.stdout.decode().split("\0") if item)


def test_the_test_command_runs_with_the_kept_variables_only():
    assert re.search(r'^env -i "\$\{kept\[@\]\}" ARCHSEARCH_REQUIRE_CLUSTER_TESTS=1 bash -c "set -e; \$test_command"$',
                     SCRIPT, re.M)


def test_what_a_fresh_shell_and_installing_need_is_kept():
    fresh = {
        "PATH": os.environ["PATH"], "HOME": "/home/ci", "USER": "ci", "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8",
        "TERM": "dumb", "TZ": "UTC", "TMPDIR": "/var/tmp", "https_proxy": "http://proxy:3128", "NO_PROXY": "localhost",
        "PIP_INDEX_URL": "https://mirror.example/simple", "PIP_EXTRA_INDEX_URL": "file:///a file:///b",
        "PIP_CERT": "/etc/ssl/ca.pem", "SSL_CERT_FILE": "/etc/ssl/ca.pem", "REQUESTS_CA_BUNDLE": "/etc/ssl/ca.pem",
    }
    assert kept_by_ci_run(fresh) == fresh


def test_what_changes_how_python_or_the_tests_run_is_not_kept():
    """A PYTHONDONTWRITEBYTECODE=1 in the caller's shell hid a failing test all of session 14."""
    caller = {
        "PATH": os.environ["PATH"], "PYTHONDONTWRITEBYTECODE": "1", "PYTHONPATH": "/elsewhere", "PYTHONHASHSEED": "0",
        "PYTHONWARNINGS": "ignore", "VIRTUAL_ENV": "/venv", "CI": "true", "ARCHSEARCH_SERVER": "off",
        "ARCHSEARCH_INDEX": "/index", "XDG_CONFIG_HOME": "/config", "PYTEST_ADDOPTS": "-p no:xdist", "NO_COLOR": "1",
    }
    assert kept_by_ci_run(caller) == {"PATH": os.environ["PATH"]}
