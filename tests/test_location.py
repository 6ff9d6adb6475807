from pathlib import Path

from archsearch.location import default_index_dir, resolve_index_dir


def test_explicit_folder_wins_over_environment(tmp_path):
    environ = {"ARCHSEARCH_INDEX": "/elsewhere", "XDG_DATA_HOME": "/xdg"}
    assert resolve_index_dir(tmp_path / "ix", environ) == tmp_path / "ix"


def test_environment_variable_wins_over_data_folder():
    assert resolve_index_dir(None, {"ARCHSEARCH_INDEX": "/srv/ix", "XDG_DATA_HOME": "/xdg"}) == Path("/srv/ix")


def test_xdg_data_home_is_used_when_set():
    assert resolve_index_dir(None, {"XDG_DATA_HOME": "/xdg"}) == Path("/xdg/archsearch")


def test_relative_xdg_data_home_is_ignored_as_the_spec_says():
    assert default_index_dir({"XDG_DATA_HOME": "relative/dir"}) == Path.home() / ".local/share/archsearch"


def test_default_is_local_share():
    assert resolve_index_dir(None, {}) == Path.home() / ".local/share/archsearch"
