"""The configuration file: option defaults, the index location, saved queries, errors, precedence."""

import json
import re
import subprocess
import sys

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from archsearch.cli import cli
from archsearch.config import config_path, load_config
from conftest import build_index, command_context, wire, write_corpus

ARTICLES = {
    "a.txt": wire("2017-01-10", "BERLIN, January 10. /TASS/.", "Refugees arrive in Germany as Merkel speaks."),
    "b.txt": wire("2017-03-02", "BERLIN, March 2. /TASS/.", "Refugees in Germany find housing in Berlin."),
    "c.txt": wire("2016-05-05", "MUNICH, May 5. /TASS/.", "Refugees reach Munich in Germany by train."),
    "d.txt": wire("2018-01-01", "KABUL, January 1. /TASS/.", "The Taliban attacked a checkpoint near Kabul."),
}


@pytest.fixture
def index(tmp_path):
    return build_index(tmp_path, ARTICLES)


@pytest.fixture
def config_file(tmp_path, monkeypatch):
    """Writes the user's config.toml where XDG_CONFIG_HOME (set by conftest for every test) points."""
    path = tmp_path / "config" / "archsearch" / "config.toml"

    def write(text: str):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return path

    return write


def run(*args, env=None):
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


def ids(result) -> list[str]:
    return [json.loads(line)["id"] for line in result.stdout.splitlines() if '"type": "hit"' in line]


# Where the file is -------------------------------------------------------------------------------


def test_path_follows_xdg_config_home_then_home(tmp_path, monkeypatch):
    in_xdg = tmp_path / "archsearch" / "config.toml"
    assert config_path({"XDG_CONFIG_HOME": str(tmp_path)}) == (in_xdg, "XDG_CONFIG_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    home_config = tmp_path / "home" / ".config" / "archsearch" / "config.toml"
    assert config_path({"XDG_CONFIG_HOME": "relative/is/ignored"}) == (home_config, "default")


def test_archsearch_config_points_elsewhere(tmp_path, index, monkeypatch):
    elsewhere = tmp_path / "mine.toml"
    elsewhere.write_text("[query]\nlimit = 1\n")
    monkeypatch.setenv("ARCHSEARCH_CONFIG", str(elsewhere))
    assert len(ids(run("query", "--index", str(index), "--json", "refugees"))) == 1


def test_archsearch_config_naming_a_missing_file_is_an_error(tmp_path, index, monkeypatch):
    monkeypatch.setenv("ARCHSEARCH_CONFIG", str(tmp_path / "missing.toml"))
    result = run("query", "--index", str(index), "refugees")
    assert result.exit_code == 2
    assert "ARCHSEARCH_CONFIG names" in result.stderr and "missing.toml" in result.stderr


# Defaults for options ----------------------------------------------------------------------------


def test_command_defaults_come_from_the_file(index, config_file):
    config_file('[query]\nsort = "newest"\nlimit = 2\n')
    assert ids(run("query", "--index", str(index), "--json", "refugees")) == ["b.txt", "a.txt"]


def test_options_typed_win_over_the_file(index, config_file):
    config_file('[query]\nsort = "newest"\nlimit = 2\n')
    result = run("query", "--index", str(index), "--json", "--sort", "oldest", "-n", "3", "refugees")
    assert ids(result) == ["c.txt", "a.txt", "b.txt"]


def test_a_limit_in_the_file_does_not_cut_files_with_matches(index, config_file):
    config_file("[query]\nlimit = 1\n")
    assert len(run("query", "--index", str(index), "-l", "refugees").stdout.splitlines()) == 3


def test_defaults_of_another_command(index, config_file):
    config_file('[timeline]\nby = "year"\n')
    result = run("timeline", "--index", str(index), "--json", "refugees")
    periods = [json.loads(line)["period"] for line in result.stdout.splitlines() if '"period"' in line]
    assert periods == ["2016", "2017"]


def test_the_help_shows_the_default_from_the_file(config_file):
    config_file('[query]\nsort = "newest"\n')
    assert "[default: newest]" in run("query", "--help").stdout


# The index location: command line > ARCHSEARCH_INDEX > config file > built-in -----------------------


@pytest.fixture
def two_indexes(tmp_path):
    from archsearch.indexing import update_index

    made = {}
    for name, word in (("first", "alpha"), ("second", "beta")):
        article = {f"{name}.txt": wire("2020-01-01", "ROME. /AP/.", f"{word} story")}
        folder = write_corpus(tmp_path / f"{name}-articles", article)
        update_index(tmp_path / name, [str(folder)])
        made[name] = tmp_path / name
    return made


def test_index_precedence(two_indexes, config_file, tmp_path, monkeypatch):
    monkeypatch.delenv("ARCHSEARCH_INDEX", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    assert run("query", "alpha").exit_code == 2  # built-in default: no index there

    config_file('index = "../../first"\n')  # relative to the file's own folder
    assert run("query", "alpha").exit_code == 0

    monkeypatch.setenv("ARCHSEARCH_INDEX", str(two_indexes["second"]))
    assert run("query", "alpha").exit_code == 1
    assert run("query", "beta").exit_code == 0

    assert run("query", "--index", str(two_indexes["first"]), "alpha").exit_code == 0


def test_index_per_command_beats_the_top_level_one(two_indexes, config_file, monkeypatch):
    monkeypatch.delenv("ARCHSEARCH_INDEX", raising=False)
    config_file(f'index = "{two_indexes["first"]}"\n[sources]\nindex = "{two_indexes["second"]}"\n')
    assert run("query", "alpha").exit_code == 0
    assert run("sources", "beta").exit_code == 0


def test_config_command_says_where_each_setting_comes_from(two_indexes, config_file, monkeypatch):
    path = config_file(f'index = "{two_indexes["first"]}"\n\n[query]\nsort = "newest"\n\n[queries]\nde = "refugees"\n')
    monkeypatch.delenv("ARCHSEARCH_INDEX", raising=False)
    record = json.loads(run("config", "--json", "query").stdout)
    assert record["config_file"] == {"path": str(path), "found": True, "chosen_by": "XDG_CONFIG_HOME"}
    settings = {setting["option"]: setting for setting in record["settings"]}
    assert settings["--sort"] == {
        "command": "query", "option": "--sort", "value": "newest", "source": "config file", "where": f"{path}, line 4",
    }
    assert settings["--limit"]["source"] == "default" and settings["--limit"]["value"] == 10
    assert settings["--index"]["source"] == "config file" and settings["--index"]["where"] == f"{path}, line 1"
    assert record["queries"] == [{"name": "de", "text": "refugees", "where": f"{path}, line 7"}]

    monkeypatch.setenv("ARCHSEARCH_INDEX", str(two_indexes["second"]))
    plain = run("config", "query").stdout
    second = re.escape(str(two_indexes["second"]))
    assert re.search(rf"^query --index +{second} +environment ARCHSEARCH_INDEX$", plain, re.M)
    assert "@de" in plain


def test_config_command_without_a_file(tmp_path):
    result = run("config")
    assert result.exit_code == 0
    assert "not found, so built-in defaults apply" in result.stdout
    assert "query --sort" in result.stdout and "timeline --by" in result.stdout


# Saved queries ---------------------------------------------------------------------------------


def test_a_saved_query_runs_with_its_options(index, config_file):
    config_file('[queries]\nrefugees-de = "refugees Germany -Merkel --since 2017"\n')
    assert ids(run("query", "--index", str(index), "--json", "@refugees-de")) == ["b.txt"]


def test_options_typed_win_over_those_saved(index, config_file):
    config_file('[queries]\nde = "refugees --sort newest --since 2017"\n')
    assert ids(run("query", "--index", str(index), "--json", "@de", "--sort", "oldest")) == ["a.txt", "b.txt"]
    assert ids(run("query", "--index", str(index), "--json", "--since", "2016", "@de")) == ["b.txt", "a.txt", "c.txt"]


def test_saved_queries_inside_a_query(index, config_file):
    config_file("[queries]\nberlin = 'refugees Berlin --since 2017-02'\nkabul = \"Taliban\"\n")
    result = run("query", "--index", str(index), "--json", "query:berlin OR query:kabul")
    assert sorted(ids(result)) == ["b.txt", "d.txt"]


def test_a_saved_query_keeps_its_phrases(index, config_file):
    config_file("[queries]\nhousing = '\"find housing\"'\n")
    assert ids(run("query", "--index", str(index), "--json", "@housing")) == ["b.txt"]


def test_options_for_another_command_are_left_out(index, config_file):
    config_file('[queries]\nde = "refugees --sort newest -n 1 --since 2017 --by year"\n')
    result = run("timeline", "--index", str(index), "--json", "@de")
    assert result.exit_code == 0, result.stderr
    assert [json.loads(line)["period"] for line in result.stdout.splitlines() if '"period"' in line] == ["2017"]
    assert ids(run("query", "--index", str(index), "--json", "@de")) == ["b.txt"]


def test_saved_queries_work_for_timeline_and_sources(index, config_file):
    config_file('[queries]\nde = "refugees -Munich --since 2017"\n')
    result = run("sources", "--index", str(index), "--json", "@de")
    assert json.loads(result.stdout.splitlines()[-1])["total"] == 2
    result = run("timeline", "--index", str(index), "--json", "query:de")
    assert json.loads(result.stdout.splitlines()[-1])["total"] == 2


@pytest.mark.parametrize(
    "saved, args, message",
    [
        ('de = "refugees"', ["@nope"], "no saved query 'nope'"),
        (
            'de = "refugees --sort newest"', ["query:de"],
            "sets --sort newest, which cannot apply inside another query: use @de",
        ),
        ('de = "refugees @de"', ["@de"], "refers to itself"),
        (
            'de = "refugees --bogus"', ["@de"],
            "line 2: [queries] de: no command that takes a query has the option --bogus",
        ),
    ],
)
def test_saved_query_errors(index, config_file, saved, args, message):
    config_file(f"[queries]\n{saved}\n")
    result = run("query", "--index", str(index), *args)
    assert result.exit_code == 2
    assert message in result.stderr
    assert len(result.stderr.splitlines()) == 1


def test_an_at_sign_without_a_config_file_says_so(index):
    result = run("query", "--index", str(index), "@refugees")
    assert result.exit_code == 2
    assert "no saved query 'refugees'" in result.stderr and "(not found)" in result.stderr


def test_every_option_is_long_or_one_letter():
    """config.may_be_an_option: a saved query's -Merkel is no command's option, but a word to exclude."""
    import click

    from archsearch.cli import COMMANDS
    from archsearch.config import may_be_an_option

    for name in COMMANDS:
        context = command_context(name)
        for parameter in context.command.get_params(context):
            if isinstance(parameter, click.Option):
                for option in (*parameter.opts, *parameter.secondary_opts):
                    assert may_be_an_option(option) and (option[:2] == "--") == (len(option) > 2), (name, option)


def test_show_keeps_its_at_references_to_itself(index, config_file):
    """`show @3` is the 3rd hit of the last query, not a saved query."""
    config_file('[queries]\nde = "refugees"\n')
    result = run("show", "--index", str(index), "@3")
    assert "saved query" not in result.stderr


words = st.lists(st.from_regex(r"[a-z]{1,8}", fullmatch=True), min_size=1, max_size=5)


@settings(max_examples=30, deadline=None)
@given(saved=words, typed=words)
def test_a_saved_query_means_its_words_typed(saved, typed):
    from archsearch.cli import COMMANDS  # noqa: F401  (the commands' table check needs the group)
    from archsearch.cli.query import command
    from archsearch.config import Config, OptionNames, expand_saved_queries

    config = Config(path=None, found=True, chosen_by="test", data={"queries": {"q": " ".join(saved)}})
    options = OptionNames.of(command)
    assert expand_saved_queries(config, ["@q", *typed], options) == saved + typed
    inside = expand_saved_queries(config, [" ".join(typed) + " query:q"], options)
    assert inside == [" ".join(typed) + f" ({' '.join(saved)})"]


# Bad configuration: one line naming the file, the line and the key, exit 2 -------------------------


@pytest.mark.parametrize(
    "text, message",
    [
        ('[query]\nsort = "newest\n', "(at line 2, column 15)"),
        ('[qurey]\nsort = "newest"\n', "line 1: [qurey]: no command 'qurey'"),
        ('[query]\n\nsortt = "newest"\n', "line 3: [query] sortt: 'query' has no option --sortt"),
        ('[query]\nlimit = "20"\n', "line 2: [query] limit: must be a whole number, not text '20'"),
        ('[query]\nsort = "newst"\n', "line 2: [query] sort: 'newst' is not one of"),
        ('[query]\nany = "yes"\n', "line 2: [query] any: must be true or false"),
        ("colour = 1\n", "line 1: colour: unknown setting"),
        ('index = 3\n', "line 1: index: must be a folder's path in quotes"),
        ('[queries]\n3 = "x"\n', "line 2: [queries] 3: a query's name starts with a letter"),
    ],
)
def test_bad_config_is_one_line_with_status_2(index, config_file, text, message):
    path = config_file(text)
    result = run("query", "--index", str(index), "refugees")
    assert result.exit_code == 2
    assert result.stderr.startswith(f"archsearch: error: config file {path}")
    assert message in result.stderr
    assert len(result.stderr.splitlines()) == 1


def test_config_command_checks_every_command_s_table(config_file):
    config_file('[timeline]\nby = "fortnight"\n')
    result = run("config", "query")
    assert result.exit_code == 2 and "[timeline] by" in result.stderr


def test_completion_works_whatever_the_file_holds(config_file):
    config_file('[query]\nlimit = "x"\n')
    environment = {"_ARCHSEARCH_COMPLETE": "bash_complete", "COMP_WORDS": "archsearch query --so", "COMP_CWORD": "2"}
    result = CliRunner().invoke(cli, [], env=environment, prog_name="archsearch")
    assert (result.exit_code, result.stdout, result.stderr) == (0, "plain,--sort\n", "")


# Start-up cost -----------------------------------------------------------------------------------


def test_no_config_file_loads_no_toml_parser(index, tmp_path):
    code = (
        "import sys; from archsearch.cli import run; "
        f"status = run(['query', '--index', {str(index)!r}, '-c', 'refugees']); "
        "print(status, 'tomllib' in sys.modules, file=sys.stderr)"
    )
    env = {"XDG_CONFIG_HOME": str(tmp_path / "empty"), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert result.stderr.strip() == "0 False"


def test_the_index_command_has_a_table_too(config_file):
    path = config_file("[index]\njobs = 1\n")
    record = json.loads(run("config", "--json", "index").stdout)
    jobs = next(setting for setting in record["settings"] if setting["option"] == "--jobs")
    assert (jobs["value"], jobs["where"]) == (1, f"{path}, line 2")


# Through the server ----------------------------------------------------------------------------

from test_server import corpus, no_click, served, server  # noqa: E402,F401  (the server's fixtures)


def test_the_server_reads_the_file_for_every_command(served, tmp_path):
    """`archsearch serve` lives long: an edited config file counts from the next command on."""
    config = tmp_path / "config.toml"

    def hits(text):
        config.write_text(text)
        result = served("query", "--json", "taliban", ARCHSEARCH_CONFIG=str(config))
        return result.returncode, result.stdout.count(b'"type": "hit"'), result.stderr

    assert hits("[query]\nlimit = 1\n") == (0, 1, b"")
    assert hits("[query]\nlimit = 2\n") == (0, 2, b"")
    status, _, errors = hits('[query]\nlimit = "x"\n')
    assert status == 2 and errors.startswith(f"archsearch: error: config file {config}, line 2".encode())


@pytest.fixture
def command_line(tmp_path, monkeypatch):
    """This process as archsearch's command line (lean_imports installed), with a cache folder of its own."""
    from archsearch import lean_imports

    monkeypatch.setattr(lean_imports, "installed", True)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path / "cache" / "archsearch"


SETTINGS = 'server = "manual"\n\n[query]\nlimit = 5\n\n[queries]\nrefugees-de = "refugees Germany --since 2017"\n'


def test_a_command_reads_the_settings_kept_for_the_file_s_bytes_without_tomllib(config_file, command_line, monkeypatch):
    """tomllib imports typing, string and datetime (5.8 ms of a query's CPU); a file read before is
    not parsed again."""
    config_file(SETTINGS)
    first = load_config()
    assert (command_line / "config-settings-1.marshal").is_file()
    monkeypatch.setitem(sys.modules, "tomllib", None)  # importing it now raises ImportError
    again = load_config()
    assert again.data == first.data == {"server": "manual", "query": {"limit": 5}, "queries": {"refugees-de": "refugees Germany --since 2017"}}
    assert again.lines == first.lines and again.found


def test_a_changed_file_is_read_again(config_file, command_line):
    config_file(SETTINGS)
    assert load_config().command_settings("query") == {"limit": 5}
    config_file(SETTINGS.replace("limit = 5", "limit = 7"))  # the same size
    assert load_config().command_settings("query") == {"limit": 7}
    config_file(SETTINGS.replace("limit = 5", "limit = ["))
    with pytest.raises(Exception, match="config file"):
        load_config()


def test_kept_settings_damaged_or_writable_by_others_are_not_used(config_file, command_line, monkeypatch):
    import marshal

    config_file(SETTINGS)
    load_config()
    kept = command_line / "config-settings-1.marshal"
    raw = (config_file(SETTINGS)).read_bytes()
    kept.write_bytes(marshal.dumps((sys.version, raw, {"server": "auto"})))
    kept.chmod(0o622)
    assert load_config().server == "manual"
    kept.write_bytes(b"not marshal")
    kept.chmod(0o600)
    assert load_config().server == "manual"
    kept.write_bytes(marshal.dumps(("another Python", raw, {"server": "auto"})))
    assert load_config().server == "manual"


def test_settings_with_a_date_and_a_library_s_reads_are_not_kept(config_file, tmp_path, monkeypatch):
    from archsearch import config, lean_imports

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    config_file(SETTINGS)
    load_config()  # lean_imports not installed: a program using archsearch as a library
    assert not (tmp_path / "cache").exists()
    monkeypatch.setattr(lean_imports, "installed", True)
    kept = config.kept_settings_path()
    config.keep_settings(kept, b"day = 2024-01-01", {"day": __import__("datetime").date(2024, 1, 1)})
    assert not (tmp_path / "cache" / "archsearch" / "config-settings-1.marshal").exists()
