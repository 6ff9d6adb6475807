"""`archsearch help`: the query syntax agrees with the README, and the man page and the README
cover every command and option with help text (tests/test_docs.py's idea, held per command)."""

import re
import shutil
import subprocess

import click
import pytest
from click.testing import CliRunner

from archsearch.cli import COMMANDS, cli
from archsearch.helptext import SYNTAX
from conftest import REPO

README = (REPO / "README.md").read_text(encoding="utf-8")

# Options the README documents once, under "Options every command takes", for every command.
SHARED_SECTION = "### Options every command takes"


def run(*args):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def commands():
    context = click.Context(cli)
    return [(name, cli.get_command(context, name)) for name in sorted(COMMANDS)]


def options(command):
    return [param for param in command.params if isinstance(param, click.Option) and not param.hidden]


def readme_section(heading_start: str) -> str:
    """The README from the heading that starts so to the next heading of the same level or higher."""
    start = README.index(heading_start)
    level = len(heading_start) - len(heading_start.lstrip("#"))
    following = re.compile(rf"^#{{1,{level}}} ", re.M)
    found = following.search(README, start + len(heading_start))
    return README[start : found.start() if found else len(README)]


SHARED = readme_section(SHARED_SECTION)


def long_name(option) -> str:
    return next((name for name in option.opts if name.startswith("--")), option.opts[0])


# help syntax -------------------------------------------------------------------------------------


def test_help_syntax_prints_the_query_language():
    result = run("help", "syntax")
    assert result.exit_code == 0
    assert result.stdout == SYNTAX
    for needle in ("#### Query syntax", "#### Dates", "`date:2021-12`", "last week", "archsearch query @refugees-de"):
        assert needle in result.stdout


@pytest.mark.parametrize("section", re.split(r"(?m)^(?=#### )", SYNTAX)[1:], ids=lambda s: s.splitlines()[0])
def test_every_section_of_help_syntax_is_in_the_readme_word_for_word(section):
    assert section.strip() in README, "help syntax and README.md disagree: change archsearch/helptext.py with it"


def test_the_readme_s_syntax_sections_are_all_in_help_syntax():
    for heading in ("#### Query syntax", "#### Dates"):
        assert readme_section(heading).strip() in SYNTAX


# help man ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def man_page():
    result = run("help", "man")
    assert result.exit_code == 0
    return result.stdout


def roff(text: str) -> str:
    return text.replace("\\", "\\e").replace("-", "\\-")


def test_man_page_is_roff_with_every_command_and_option(man_page):
    assert man_page.startswith(".TH ARCHSEARCH 1 ")
    for name, command in commands():
        assert f'.SS "archsearch {name} ' in man_page
        for option in options(command):
            record = option.get_help_record(click.Context(command))
            assert roff(record[0]) in man_page, f"man page lacks {name} {long_name(option)}"
    for section in ("NAME", "SYNOPSIS", "COMMANDS", "QUERY SYNTAX", "ENVIRONMENT", "EXIT STATUS"):
        assert f".SH {section}" in man_page


def test_no_man_page_line_is_read_as_a_roff_request_by_accident(man_page):
    requests = {".TH", ".SH", ".SS", ".PP", ".TP", ".nf", ".fi", ".B"}
    for line in man_page.splitlines():
        if line.startswith((".", "'")):
            assert line.split(" ")[0] in requests, line


@pytest.mark.skipif(not shutil.which("groff"), reason="groff is not installed")
def test_groff_reads_the_man_page_without_a_warning(man_page):
    checked = subprocess.run(["groff", "-man", "-Tutf8", "-ww", "-z"], input=man_page, capture_output=True, text=True)
    assert checked.returncode == 0 and checked.stderr == ""


# help COMMAND and mistakes ------------------------------------------------------------------------


def test_help_command_is_the_command_s_own_help():
    assert run("help", "timeline").stdout == run("timeline", "--help").stdout


def test_help_alone_lists_the_commands():
    output = run("help").stdout
    assert all(name in output for name in COMMANDS)


def test_an_unknown_topic_is_an_error_naming_the_topics():
    result = run("help", "sintax")
    assert result.exit_code == 2
    assert "no help on 'sintax'" in result.stderr and "syntax, man" in result.stderr


# Every command and option has help, and a README entry in its own section --------------------------


@pytest.mark.parametrize("name, command", commands())
def test_command_has_help_text(name, command):
    assert command.help and len(command.help.split()) >= 8, f"{name} needs a sentence of help"


@pytest.mark.parametrize(
    "name, option",
    [(name, option) for name, command in commands() for option in options(command)],
    ids=lambda value: value if isinstance(value, str) else long_name(value),
)
def test_option_has_help_and_is_documented_in_its_command_s_readme_section(name, option):
    assert option.help and len(option.help.split()) >= 3, f"{name} {long_name(option)} needs help text"
    section = readme_section(f"### `archsearch {name}")
    documented = f"`{long_name(option)}" in section or f"`{long_name(option)}" in SHARED
    assert documented, f"README's section on {name} does not document {long_name(option)}"


def test_every_environment_variable_read_is_in_the_man_page():
    import re
    from pathlib import Path

    import archsearch
    from archsearch import helptext, server

    package = Path(archsearch.__file__).parent
    read = {
        name for path in package.rglob("*.py")
        for name in re.findall(r'"((?:XDG|ARCHSEARCH)_[A-Z_]+)"', path.read_text(encoding="utf-8"))
    }
    internal = {server.REHEARSAL_VARIABLE}  # set by the server for its own spare processes
    documented = {name for names, _ in helptext.ENVIRONMENT for name in names.split(", ")}
    assert read - internal - documented == set()
