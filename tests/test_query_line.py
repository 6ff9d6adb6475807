"""A plain query's command line read without click (archsearch.query_line): the same parameters,
output, messages and exit status as click gives, and click for everything else."""

import io
import os
import re
import subprocess
import sys

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import archsearch.cli.query as query_command
from archsearch import lean_imports, query_line
from archsearch.cli import cli

# Pieces of command lines: every option of the query command, as written alone or with `=`, values
# click takes or refuses, and words, some that look like options.
OPTION_NAMES = [name for _, names, _, _ in query_line.QUERY_OPTIONS for name in names]
TOKENS = st.one_of(
    st.sampled_from(OPTION_NAMES),
    st.sampled_from(OPTION_NAMES).map(lambda name: name + "=5"),
    st.sampled_from(["0", "5", "012", "-3", "x", "5x", "", " 5", "٣", "relevance", "newest", "json", "csv",
                     "plain", "auto", "never", "JSON", "2017-01", "/tmp/elsewhere"]),
    st.sampled_from(["Taliban", "prime minister", "-nation", "-n5", "-n", "-5", "-l", "-lc", "-li", "-0", "-i",
                     "-", "--", "--bogus", "NOT", "@saved", "query:saved", "title:Kabul", "x*", "-c0"]),
    st.text(alphabet="abn-l0=@:", max_size=5),
)


def click_arguments(args) -> dict | str:
    """What the click command hands run_query for `query ARGS`, or click's message when it refuses them."""
    received = {}
    original = query_command.run_query
    query_command.run_query = lambda **arguments: received.update(arguments)
    try:
        result = CliRunner().invoke(cli, ["query", *args])
    finally:
        query_command.run_query = original
    if not received:
        return result.output or repr(result.exception)
    received.pop("alert_name")
    return received


@pytest.fixture
def no_config(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.delenv("ARCHSEARCH_CONFIG", raising=False)
    monkeypatch.delenv("ARCHSEARCH_INDEX", raising=False)
    monkeypatch.setattr(sys, "stdout", io.StringIO())  # not a terminal, as CliRunner's output is not


@settings(max_examples=400, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(st.lists(TOKENS, max_size=7))
def test_a_command_line_read_without_click_gives_the_command_what_click_gives(no_config, args):
    arguments = query_line.command_arguments(args)
    if arguments is not None:
        assert click_arguments(args) == arguments


@pytest.mark.parametrize(
    "args",
    [
        ["Taliban"],
        ["prime", "minister", "-Kabul", "-n", "5", "--json"],
        ["--index", "/tmp/ix", "--since", "2017-01", "--until=2017-02", "election", "-n20"],
        ["-l", "-0", "Taliban", "--any", "-i", "--sort", "newest"],
        ["Taliban", "-c", "--strict", "--format", "csv", "--bom", "--color", "never"],
        ["Taliban", "--offset", "10", "--explain", "--fix", "--expand", "--all-copies", "--undated"],
    ],
)
def test_plain_command_lines_are_read_without_click(no_config, args):
    arguments = query_line.command_arguments(args)
    assert arguments is not None
    assert click_arguments(args) == arguments


def test_the_index_s_environment_variable_is_read_as_click_reads_it(no_config, monkeypatch):
    monkeypatch.setenv("ARCHSEARCH_INDEX", "/tmp/from-the-environment")
    for args in (["Taliban"], ["--index", "/tmp/typed", "Taliban"]):
        assert query_line.command_arguments(args) == click_arguments(args)
    monkeypatch.setenv("ARCHSEARCH_INDEX", "")
    assert query_line.command_arguments(["Taliban"])["index_dir"] is None == click_arguments(["Taliban"])["index_dir"]


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["-h"],
        ["Taliban", "--new"],
        ["@saved"],
        ["Taliban", "query:saved"],
        ["--", "-n"],
        ["Taliban", "-lc"],  # click's message: -l and -c contradict each other
        ["Taliban", "-0"],
        ["Taliban", "--json", "--format", "csv"],
        ["Taliban", "-n", "x"],
        ["Taliban", "--sort", "best"],
        [],
    ],
)
def test_click_reads_what_is_not_a_plain_command_line(no_config, args):
    assert query_line.command_arguments(args) is None


def test_click_reads_every_command_line_when_a_configuration_file_exists(no_config, tmp_path):
    (tmp_path / "config" / "archsearch").mkdir(parents=True)
    (tmp_path / "config" / "archsearch" / "config.toml").write_text("[query]\nlimit = 1\n")
    assert query_line.command_arguments(["Taliban"]) is None


def test_the_query_options_are_the_click_command_s():
    """query_line.QUERY_OPTIONS names each option of archsearch.cli.query with what it takes and its default."""
    import click

    from archsearch.config import built_in_default

    def kind(parameter):
        if parameter.is_flag:
            return query_line.FLAG
        if isinstance(parameter.type, click.IntRange) and parameter.type.min == 0 and parameter.type.max is None:
            return query_line.COUNT
        if isinstance(parameter.type, click.Choice):
            return tuple(parameter.type.choices)
        return query_line.TEXT if parameter.type is click.STRING else parameter.type

    command = query_command.command
    table = {
        parameter: (set(names), query_line.FLAG if kind == query_line.CLICK_ONLY else kind, default)
        for parameter, names, kind, default in query_line.QUERY_OPTIONS
    }
    options = {
        ("help" if "--help" in parameter.opts else parameter.name):
            (set(parameter.opts), kind(parameter), built_in_default(command, parameter))
        for parameter in command.get_params(click.Context(command))
        if isinstance(parameter, click.Option)
    }
    assert table == options


# The installed command, and the same command line run by click (archsearch.cli.run), each a process.
BY_CLICK = "import sys; sys.argv = ['archsearch', *sys.argv[1:]]; from archsearch.cli import run; sys.exit(run())"


@pytest.mark.parametrize(
    "args",
    [
        ["query", "Taliban"],
        ["query", "Taliban", "Kabul", "--json"],
        ["query", "Taliban", "-l"],
        ["query", "Taliban", "-c"],
        ["query", "Taliban", "--format", "csv", "--bom", "-n", "3"],
        ["query", "prime", "-minister", "--explain", "--sort", "newest"],
        ["query", "wordthatnoarticlehas"],
        ["query", "Taliban", "--index", "/nonexistent/index"],  # the error line
        ["query", "Taliban", "--since", "someday"],  # a date it cannot read
        ["query", "Taliban", "-l", "-c"],  # click's usage error
    ],
)
def test_the_command_prints_and_ends_as_click_s_does(seeded_index, tmp_path, args):
    from conftest import installed_command

    env = {
        **os.environ, "ARCHSEARCH_INDEX": str(seeded_index), "ARCHSEARCH_SERVER": "off",
        "XDG_CONFIG_HOME": str(tmp_path / "config"), "XDG_STATE_HOME": str(tmp_path / "state"),
    }
    env.pop("ARCHSEARCH_CONFIG", None)
    plain = subprocess.run([installed_command(), *args], capture_output=True, env=env, timeout=120)
    by_click = subprocess.run(
        [sys.executable, "-c", BY_CLICK, *args], capture_output=True, env=env, timeout=120,
    )
    assert (plain.returncode, timeless(plain.stdout), plain.stderr) == (
        by_click.returncode, timeless(by_click.stdout), by_click.stderr
    )
    assert plain.stdout or plain.stderr or plain.returncode == 1  # nothing found: nothing said


def timeless(output: bytes) -> bytes:
    """JSON output without the time the search took, the one thing two runs differ in."""
    return re.sub(rb'"elapsed_ms": [0-9.]+', b'"elapsed_ms": 0', output)


@pytest.mark.parametrize(
    "failure",
    [
        KeyboardInterrupt(),
        EOFError(),
        BrokenPipeError(),
        RuntimeError("something unforeseen"),
        SystemExit(1),
    ],
    ids=repr,
)
def test_a_failure_in_the_command_ends_as_under_click(no_config, monkeypatch, capfd, failure):
    """The messages and exit status of what the command may raise (an ArchsearchError's line:
    test_the_command_prints_and_ends_as_click_s_does)."""

    def failing(**arguments):
        raise failure

    monkeypatch.setattr(query_line, "run_query", failing)
    monkeypatch.setattr(query_command, "run_query", failing)
    monkeypatch.setattr(query_line, "discard_unwritten_output", lambda: None)  # not the test's own stdout
    monkeypatch.delenv("ARCHSEARCH_DEBUG", raising=False)
    monkeypatch.setattr(sys, "stdout", sys.__stdout__)
    plain = query_line.run(["query", "Taliban"])
    plain_out, plain_err = capfd.readouterr()
    from archsearch.cli import run

    by_click = run(["query", "Taliban"], "archsearch")
    assert (plain, plain_out, plain_err) == (by_click, *capfd.readouterr())
    assert plain_err or plain in (0, 1)


def plain_and_by_click(args, env):
    from conftest import installed_command

    plain = subprocess.run([installed_command(), *args], capture_output=True, env=env, timeout=120)
    by_click = subprocess.run([sys.executable, "-c", BY_CLICK, *args], capture_output=True, env=env, timeout=120)
    return plain, by_click


def test_an_error_line_on_an_ascii_stderr_is_written_alike(seeded_index, tmp_path):
    """One function writes error lines on both paths (click.echo wrote UTF-8 bytes where the
    stream's encoding was ASCII, the plain path an escape)."""
    env = {**os.environ, "ARCHSEARCH_INDEX": str(seeded_index), "ARCHSEARCH_SERVER": "off",
           "XDG_CONFIG_HOME": str(tmp_path / "config"), "PYTHONIOENCODING": "ascii"}
    env.pop("ARCHSEARCH_CONFIG", None)
    plain, by_click = plain_and_by_click(["query", "Taliban", "--since", "é"], env)
    assert plain.returncode == by_click.returncode == 2
    assert plain.stderr == by_click.stderr and plain.stderr.startswith(b"archsearch: error: ")


def test_a_plain_query_keeps_what_it_compiled_in_the_cache_folder(seeded_index, tmp_path):
    from conftest import installed_command

    env = {**os.environ, "ARCHSEARCH_INDEX": str(seeded_index), "ARCHSEARCH_SERVER": "off",
           "XDG_CONFIG_HOME": str(tmp_path / "config"), "XDG_CACHE_HOME": str(tmp_path / "cache")}
    env.pop("ARCHSEARCH_CONFIG", None)
    done = subprocess.run([installed_command(), "query", "Taliban", "-c"], capture_output=True, env=env, timeout=120)
    assert done.returncode == 0 and done.stdout == b"2\n"  # both seed articles
    kept = sorted(path.name for path in (tmp_path / "cache" / "archsearch").iterdir())
    assert kept[0] == lean_imports.COMPILED_SOURCES_FILE and kept[1].startswith("kept-modules-") and len(kept) == 2
