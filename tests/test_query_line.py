"""A plain query's command line read without click (archsearch.query_line): the same parameters,
output, messages and exit status as click gives, and click for everything else."""

import io
import json
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


# A configuration file's settings: the query command's options (by the keys the file names them with)
# and others, with values click takes as they are, converts or refuses; a top-level index, relative
# or not; the other settings and tables a file may hold.
CONFIG_KEYS = [next(name for name in names if name[:2] == "--")[2:] for _, names, _, _ in query_line.QUERY_OPTIONS]
CONFIG_VALUES = st.sampled_from(
    [True, False, 0, 5, 20, -3, "5", 1.5, ["newest"], "newest", "oldest", "best", "json", "csv", "never", "always",
     "2017-01", "ix", "/tmp/ix", "~/ix", ""]
)
# Saved queries: words, options of the query command and of others, options none has, references.
SAVED_QUERIES = st.sampled_from(
    ["Taliban", "refugees -Merkel --since 2017", 'a "prime minister" --limit 5 --json', "x --sort=newest -n 3 -l",
     "--until=2018 b", "--new x", "--width 3 a", "--plot a", "--bogus a", "-z a", "@saved", "@other b",
     "query:other c", "c --since '2017 01'", "-n", "-- a", "-lc a"]
)
CONFIG_FILES = st.builds(
    lambda settings, index, others, saved: "".join(
        f"{line}\n" for line in (*index, *others, "[query]", *settings, "[queries]", *saved)
    ),
    st.lists(st.builds("{} = {}".format, st.sampled_from([*CONFIG_KEYS, "colour", "bogus"]),
                       CONFIG_VALUES.map(json.dumps)), max_size=4, unique_by=lambda line: line.split()[0]),
    st.lists(st.sampled_from(['index = "../ix"', 'index = "/tmp/top-ix"', "index = 3"]), max_size=1),
    st.lists(st.sampled_from(['server = "manual"', "[show]\nbogus = 1", "[bogus]"]), max_size=2, unique=True),
    st.lists(st.builds("{} = {}".format, st.sampled_from(["saved", "other"]), SAVED_QUERIES.map(json.dumps)),
             max_size=2, unique_by=lambda line: line.split()[0]),
)


@pytest.fixture
def config_file(no_config, monkeypatch, tmp_path):
    """Writes the configuration file that ARCHSEARCH_CONFIG names."""
    path = tmp_path / "settings" / "config.toml"
    path.parent.mkdir()
    monkeypatch.setenv("ARCHSEARCH_CONFIG", str(path))
    return path.write_text


@settings(max_examples=400, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(
    CONFIG_FILES, st.lists(st.one_of(TOKENS, st.sampled_from(["@other", "query:other", "x query:saved"])), max_size=5),
    st.sampled_from([None, "", "/tmp/from-the-environment"]),
)
def test_a_command_line_read_with_a_configuration_file_gives_the_command_what_click_gives(
    config_file, monkeypatch, text, args, index_variable
):
    config_file(text)
    if index_variable is None:
        monkeypatch.delenv("ARCHSEARCH_INDEX", raising=False)
    else:
        monkeypatch.setenv("ARCHSEARCH_INDEX", index_variable)
    arguments = query_line.command_arguments(args)
    if arguments is not None:
        assert click_arguments(args) == arguments


@pytest.mark.parametrize(
    "text, args",
    [
        ('[query]\nlimit = 20\nsort = "newest"\n', ["Taliban"]),
        ('[query]\nlimit = 20\nsort = "newest"\n', ["Taliban", "-n", "3", "--sort", "oldest"]),
        ("[query]\nlimit = 20\n", ["Taliban", "-l"]),  # every file still: a limit from the file is not typed
        ('index = "../ix"\n', ["Taliban"]),  # from the file's folder
        ('index = "/tmp/top-ix"\n[query]\nindex = "~/ix"\n', ["Taliban"]),  # the command's own wins
        ('index = "ix"\n', ["Taliban", "--index", "/tmp/typed"]),
        ('[query]\nany = true\nfiles-with-matches = true\nnull = true\nformat = "csv"\ncolor = "never"\n', ["a", "b"]),
        ('[query]\nsince = "2017-01"\nundated = true\noffset = 0\n', ["Taliban"]),
        ('server = "manual"\n[queries]\nsaved = "Taliban"\n[show]\nwidth = 3\n', ["Taliban"]),
        ('[queries]\nsaved = "refugees -Merkel --since 2017"\n', ["@saved"]),
        ('[queries]\nsaved = "refugees -Merkel --since 2017"\n', ["-n", "3", "@saved", "--since", "2016"]),
        ("[queries]\nsaved = 'a \"prime minister\" -l --sort=newest'\n[query]\nlimit = 5\n", ["@saved", "b"]),
        ('[queries]\nsaved = "--until 2018 a"\nother = "@saved OR b"\n', ["x", "query:other", "query:saved"]),
    ],
)
def test_command_lines_are_read_without_click_with_a_configuration_file(config_file, text, args):
    config_file(text)
    arguments = query_line.command_arguments(args)
    assert arguments is not None
    assert click_arguments(args) == arguments


def test_the_index_s_environment_variable_wins_over_the_configuration_file(config_file, monkeypatch):
    config_file('index = "/tmp/top-ix"\n')
    monkeypatch.setenv("ARCHSEARCH_INDEX", "/tmp/from-the-environment")
    assert query_line.command_arguments(["Taliban"])["index_dir"] == "/tmp/from-the-environment"
    assert click_arguments(["Taliban"])["index_dir"] == "/tmp/from-the-environment"


@pytest.mark.parametrize(
    "text",
    [
        "[query]\nlimit = -1\n",  # click refuses it
        '[query]\nlimit = "5"\n',
        "[query]\nexplain = 1\n",
        '[query]\nsort = "best"\n',
        '[query]\ncolour = "never"\n',  # no such key: --color's
        "[query]\nnew = true\n",  # only click runs --new
        '[query]\njson = true\nformat = "csv"\n',  # click's usage error
        '[query]\nsort = "newest\n',  # not TOML
        "[bogus]\n",
        'server = "sometimes"\n',
        '[queries]\nsaved = "a --width 3"\n',  # another command's option, left out: click's commands name it
        '[queries]\nsaved = "a --new"\n',
        '[queries]\nsaved = "a -n"\n',
        '[queries]\nsaved = "@saved"\n',
        '[queries]\nother = "a"\n',  # none saved under that name
    ],
)
def test_click_reads_the_command_line_when_the_configuration_file_is_not_plain(config_file, text):
    config_file(text)
    assert query_line.command_arguments(["Taliban", "@saved"] if "queries" in text else ["Taliban"]) is None


def test_a_configuration_file_read_without_click(config_file, tmp_path):
    """Its tables' names checked (archsearch.commands), its query settings read, click not loaded."""
    config_file('index = "ix"\n[query]\nlimit = 20\n[show]\nwidth = 3\n[queries]\nsaved = "Taliban"\n')
    code = "import sys; from archsearch import query_line; print(query_line.command_arguments(['x'])['limit'], 'click' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert (done.stdout, done.stderr) == ("20 False\n", "")


def test_the_query_options_are_the_click_command_s():
    """query_line.QUERY_OPTIONS names each option of archsearch.cli.query with what it takes and its default."""
    import click

    from archsearch.config import built_in_default
    from conftest import command_context

    def kind(parameter):
        if parameter.is_flag:
            return query_line.FLAG
        if isinstance(parameter.type, click.IntRange) and parameter.type.min == 0 and parameter.type.max is None:
            return query_line.COUNT
        if isinstance(parameter.type, click.Choice):
            return tuple(parameter.type.choices)
        return query_line.TEXT if parameter.type is click.STRING else parameter.type

    context = command_context("query")
    table = {
        parameter: (set(names), query_line.FLAG if kind == query_line.CLICK_ONLY else kind, default)
        for parameter, names, kind, default in query_line.QUERY_OPTIONS
    }
    options = {
        ("help" if "--help" in parameter.opts else parameter.name):
            (set(parameter.opts), kind(parameter), built_in_default(context.command, parameter))
        for parameter in context.command.get_params(context)
        if isinstance(parameter, click.Option)
    }
    assert table == options


def test_the_file_and_saved_queries_are_read_with_the_click_command_s_names():
    """The configuration file's keys (config.option_parameters), and the option names a saved query
    is read with (config.option_names)."""
    from archsearch.config import option_names, option_parameters

    by_key = {key: parameter for key, (parameter, _) in query_line._BY_KEY.items() if parameter != "help"}
    assert by_key == {key: parameter.name for key, parameter in option_parameters(query_command.command).items()}
    assert (query_line.TAKES_VALUE, query_line.FLAG_NAMES) == option_names(query_command.command)


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
