"""Every command and option has help text and is documented in the README."""

import click
import pytest

from archsearch.cli import COMMANDS, cli
from conftest import REPO

README = (REPO / "README.md").read_text(encoding="utf-8")


def commands():
    context = click.Context(cli)
    return [(name, cli.get_command(context, name)) for name in sorted(COMMANDS)]


def options_of(command):
    return [param for param in command.params if isinstance(param, click.Option) and not param.hidden]


@pytest.mark.parametrize("name, command", commands())
def test_command_has_help_and_a_readme_section(name, command):
    assert command.help and len(command.help) > 20
    assert f"### `archsearch {name}" in README


@pytest.mark.parametrize(
    "name, option",
    [(name, option) for name, command in commands() for option in options_of(command)],
    ids=lambda value: value if isinstance(value, str) else value.name,
)
def test_option_has_help_and_is_in_the_readme(name, option):
    assert option.help, f"{name} {option.opts} has no help text"
    long_name = next((opt for opt in option.opts if opt.startswith("--")), option.opts[0])
    assert f"`{long_name}" in README, f"README does not document {name} {long_name}"


def test_help_lists_every_command():
    result = click.testing.CliRunner().invoke(cli, ["--help"])
    for name in COMMANDS:
        assert name in result.output


# What click shows for an option's value when no metavar names it.
CLICK_DEFAULT_METAVARS = ("INTEGER", "FLOAT", "TEXT", "PATH", "FILENAME", "DIRECTORY", "RANGE", "BOOLEAN")


@pytest.mark.parametrize("name, command", commands())
def test_option_values_are_named_for_people(name, command):
    context = click.Context(command, info_name=name)
    for option in options_of(command):
        if option.is_flag:
            continue
        metavar = option.make_metavar(context)
        assert not any(word in metavar for word in CLICK_DEFAULT_METAVARS), (name, option.opts, metavar)


def test_query_help_names_every_field_a_query_takes():
    from archsearch.querying import QUERY_FIELDS

    result = click.testing.CliRunner().invoke(cli, ["query", "--help"])
    assert all(f"{field}:" in result.output for field in QUERY_FIELDS)
