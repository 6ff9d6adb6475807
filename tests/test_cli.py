"""The commands as a user runs them: CliRunner in process, and the installed script in a subprocess."""

import pytest

from conftest import SEEDS, WEB_SEED


def test_index_then_query_in_process(run_cli, seeds_copy):
    indexed = run_cli("index", str(seeds_copy))
    assert indexed.exit_code == 0
    assert "added 2" in indexed.stderr
    assert indexed.stdout == ""
    result = run_cli("query", "ISIS", "Central", "Asia")
    assert result.exit_code == 0
    first_line = result.stdout.splitlines()[0]
    assert first_line == "1. **ISIS** loyalists as active as ever in Afghanistan: Russian Foreign Ministry"
    assert f"undated · Pashtun Times · Kabul · {WEB_SEED}" in result.stdout
    assert "**Central** **Asia**" in result.stdout


def test_strict_query_with_no_hit_exits_1_and_suggests_any(run_cli, seeds_copy):
    run_cli("index", str(seeds_copy))
    result = run_cli("query", "--strict", "coronavirus", "Zakharova")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "--any" in result.stderr
    assert run_cli("query", "--any", "coronavirus", "Zakharova").exit_code == 0


def test_query_without_index_is_a_one_line_error(run_cli):
    result = run_cli("query", "anything")
    assert result.exit_code == 2
    assert result.stderr.startswith("archsearch: error: no index at")
    assert len(result.stderr.splitlines()) == 1


def test_index_without_folder_outside_a_project_is_a_one_line_error(run_cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = run_cli("index")
    assert result.exit_code == 2
    assert "no folder to index" in result.stderr


def test_installed_command_indexes_seeds_by_default_and_answers(run_installed, tmp_path):
    indexed = run_installed("index", cwd=SEEDS.parent)
    assert indexed.returncode == 0, indexed.stderr
    result = run_installed("query", "ISIS Central Asia")
    assert result.returncode == 0, result.stderr
    assert result.stdout.decode().startswith("1. **ISIS** loyalists")
    assert b"\x1b[" not in result.stdout  # no colour codes into a pipe
    assert b"Traceback" not in result.stderr


def test_archsearch_alone_prints_the_help_not_an_error(run_cli):
    from archsearch.cli import COMMANDS

    result = run_cli(prog_name="archsearch")
    assert result.exit_code == 2  # nothing ran: a script with an empty "$command" must fail
    assert result.stdout.startswith("Usage: archsearch [OPTIONS] COMMAND [ARGS]...\n")
    assert all(f"\n  {name} " in result.stdout for name in COMMANDS)
    assert result.stderr == ""


@pytest.mark.parametrize(
    "typed, suggested",
    [("qeury", "'query'"), ("stat", "'stats'"), ("timelime", "'timeline'"), ("sh", "'show'"),
     ("si", "'similar'"), ("s", "'serve', 'show', 'similar', 'sources' or 'stats'")],
)
def test_a_misspelt_command_gets_a_suggestion(run_cli, typed, suggested):
    result = run_cli(typed, "Taliban", prog_name="archsearch")
    assert result.exit_code == 2
    assert result.stderr == (
        f"archsearch: error: no command '{typed}'; did you mean {suggested}? (see 'archsearch --help')\n"
    )


def test_an_unknown_command_like_no_other_gets_no_suggestion(run_cli):
    assert run_cli("zzz", prog_name="archsearch").stderr == "archsearch: error: no command 'zzz' (see 'archsearch --help')\n"
