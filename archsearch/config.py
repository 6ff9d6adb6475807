"""The configuration file: defaults for the options of any command, and named queries.

`$ARCHSEARCH_CONFIG`, else `$XDG_CONFIG_HOME/archsearch/config.toml`, else
`~/.config/archsearch/config.toml`. A missing file costs one stat: tomllib loads only when there
is a file to read, and a command-line process reads its settings from the cache folder when it
holds those of the file's very bytes (kept_settings). Settings reach the commands as click's `default_map`, so click's own order of
precedence holds: the command line, then the environment (`ARCHSEARCH_INDEX`), then this file,
then the built-in defaults.

    index = "~/news-index"          # every command's --index (a relative path starts at this file)
    server = "manual"               # never start `archsearch serve` by itself (default "auto")

    [query]                         # any command, by name; keys are its long options without --
    sort = "newest"
    limit = 20

    [queries]                       # `archsearch query @refugees-de`, or `query:refugees-de` in a query
    refugees-de = "refugees Germany -Merkel --since 2017"
"""

import marshal
import os
import re
import sys
from pathlib import Path

from archsearch.errors import ArchsearchError

ENV_CONFIG = "ARCHSEARCH_CONFIG"
QUERIES = "queries"
INDEX = "index"
SERVER = "server"
SERVER_SETTINGS = ("auto", "manual")  # `server = "manual"`: archsearch.client never starts a server

# A saved query's name; never all digits, which `show @3` keeps for the hits of the last query.
# Patterns stay strings, compiled (and cached by re) on first use: a run without a config file
# compiles none of them.
QUERY_NAME = r"[A-Za-z][\w-]*"
# `query:NAME` inside query text, not preceded by a word character or another field's colon.
QUERY_REFERENCE = r"(?<![\w:])query:([A-Za-z][\w-]*)"

# A configuration file's settings as tomllib read them, kept in the cache folder with the file's
# bytes by archsearch's command-line processes: tomllib imports typing, string and datetime, 5.8 ms
# of CPU in every command (a tenth of a word's query without the server at 100k articles), to read
# a file that seldom changes. Settings holding a date (which marshal cannot) are not kept.
KEPT_SETTINGS_FILE = "config-settings-1.marshal"
KEPT_SETTINGS_MAX_BYTES = 1 << 20

# The query options a saved query may carry inside another query, as the date: ranges they mean.
DATE_OPTIONS = {"--since": "since", "--until": "until"}


class ConfigError(ArchsearchError):
    """The configuration file cannot be used as written."""


class Config:
    # A plain class: a dataclass costs a millisecond of start-up to every command, file or not.
    def __init__(self, path: Path, found: bool, chosen_by: str, data: dict | None = None, lines=None):
        self.path = path
        self.found = found
        self.chosen_by = chosen_by  # how the path was chosen: ARCHSEARCH_CONFIG, XDG_CONFIG_HOME or default
        self.data = data or {}
        self.lines: dict[tuple[str, str], int] = lines or {}  # (table, key) -> line number

    @property
    def queries(self) -> dict[str, str]:
        return self.data.get(QUERIES, {})

    def command_settings(self, command: str) -> dict:
        settings = self.data.get(command)
        return settings if isinstance(settings, dict) else {}  # `index = "..."` is no command's table

    @property
    def index(self) -> str | None:
        index = self.data.get(INDEX)
        return index if isinstance(index, str) else None

    @property
    def server(self) -> str:
        return self.data.get(SERVER, SERVER_SETTINGS[0])

    def location(self, table: str, key: str) -> str:
        """Where a setting was read from: the file and, when known, its line."""
        line = self.lines.get((table, key))
        return f"{self.path}" + (f", line {line}" if line else "")

    def error(self, table: str, key: str, problem: str) -> ConfigError:
        name = f"[{table}] {key}".rstrip() if table else key
        return ConfigError(f"config file {self.location(table, key)}: {name}: {problem}")


def config_path(environ=os.environ) -> tuple[Path, str]:
    """Where the configuration file is, and which rule chose it."""
    if environ.get(ENV_CONFIG):
        return Path(environ[ENV_CONFIG]).expanduser().absolute(), ENV_CONFIG
    config_home = environ.get("XDG_CONFIG_HOME") or ""
    # The XDG specification says relative values are invalid and must be ignored.
    if os.path.isabs(config_home):
        return Path(config_home) / "archsearch" / "config.toml", "XDG_CONFIG_HOME"
    return Path.home() / ".config" / "archsearch" / "config.toml", "default"


def load_config(environ=os.environ) -> Config:
    """The configuration file read and checked for shape (tables, names, query texts)."""
    path, chosen_by = config_path(environ)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        if chosen_by == ENV_CONFIG:
            raise ConfigError(f"{ENV_CONFIG} names {path}, which does not exist") from None
        return Config(path, False, chosen_by)
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"config file {path} is not UTF-8 text") from None
    kept_path = kept_settings_path()
    data = kept_settings(kept_path, raw) if kept_path else None
    if data is None:
        import tomllib

        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            # tomllib names the line and column: "Invalid value (at line 3, column 8)"
            raise ConfigError(f"config file {path}: {exc}") from None
        if kept_path:
            keep_settings(kept_path, raw, data)
    config = Config(path, True, chosen_by, data, key_lines(text))
    check_shape(config)
    return config


def kept_settings_path() -> str | None:
    """Where a command-line process keeps the file's settings (KEPT_SETTINGS_FILE); None in a
    program that uses archsearch as a library (lean_imports not installed), or without a cache folder."""
    lean_imports = sys.modules.get("archsearch.lean_imports")
    if lean_imports is None or not lean_imports.installed:
        return None
    folder = lean_imports.cache_folder()
    return folder and os.path.join(folder, KEPT_SETTINGS_FILE)


def kept_settings(kept_path: str, raw: bytes) -> dict | None:
    """The settings kept for a file of these very bytes, or None: none kept, kept for other
    bytes, damaged, or in a file another user could have written (lean_imports.written_by_us_alone)."""
    import stat

    from archsearch.lean_imports import written_by_us_alone

    try:
        descriptor = os.open(kept_path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        with open(descriptor, "rb") as stream:
            info = os.fstat(descriptor)
            if not stat.S_ISREG(info.st_mode) or info.st_size > KEPT_SETTINGS_MAX_BYTES or not written_by_us_alone(info):
                return None
            version, kept_raw, data = marshal.loads(stream.read())
    except (OSError, ValueError, EOFError, TypeError):
        return None
    # Another Python's tomllib might read the same bytes otherwise.
    return data if version == sys.version and kept_raw == raw and type(data) is dict else None


def keep_settings(kept_path: str, raw: bytes, data: dict) -> None:
    """Keeps the settings tomllib read from a file of these bytes, where marshal can hold them."""
    from archsearch.lean_imports import write_cache_file

    try:
        payload = marshal.dumps((sys.version, raw, data))
    except ValueError:  # a date or time, which marshal cannot hold: read with tomllib each time
        return
    if len(payload) <= KEPT_SETTINGS_MAX_BYTES:
        write_cache_file(kept_path, lambda stream: stream.write(payload))


_TABLE_LINE = r"\s*\[\s*([^\[\]]+?)\s*\]\s*(#.*)?$"
_KEY_LINE = r"""\s*(?:"([^"]*)"|'([^']*)'|([\w-]+))\s*="""


def key_lines(text: str) -> dict[tuple[str, str], int]:
    """The line of each `key = value` of each table, for error messages (tomllib gives none)."""
    lines = {}
    table = ""
    for number, line in enumerate(text.splitlines(), start=1):
        if header := re.match(_TABLE_LINE, line):
            table = header.group(1).strip("\"'")
            lines.setdefault((table, ""), number)
        elif key := re.match(_KEY_LINE, line):
            name = next(group for group in key.groups() if group is not None)
            lines.setdefault((table, name), number)
    return lines


def check_shape(config: Config) -> None:
    from archsearch.commands import COMMANDS

    for key, value in config.data.items():
        if key == QUERIES:
            if not isinstance(value, dict):
                raise config.error("", key, "must be a table of named queries: [queries]")
            for name, saved in value.items():
                if not re.fullmatch(QUERY_NAME, name):
                    raise config.error(
                        QUERIES, name, "a query's name starts with a letter and holds letters, digits, - and _"
                    )
                if not isinstance(saved, str) or not saved.strip():
                    raise config.error(QUERIES, name, "must be the query's text in quotes")
        elif isinstance(value, dict):  # [index] too: the index command's table
            if key not in COMMANDS:
                raise config.error(key, "", f"no command '{key}' (commands: {', '.join(sorted(COMMANDS))})")
        elif key == INDEX:
            if not isinstance(value, str):
                raise config.error("", key, "must be a folder's path in quotes")
        elif key == SERVER:
            if value not in SERVER_SETTINGS:
                raise config.error("", key, 'must be "auto" or "manual" (ARCHSEARCH_SERVER=off turns the server off)')
        else:
            raise config.error(
                "", key, f"unknown setting (top-level settings: {INDEX}, {SERVER}, tables: [{QUERIES}] and a command's name)"
            )


def command_defaults(config: Config, name: str, command) -> dict:
    """The command's settings in the file as click's default_map: parameter name -> checked value."""
    import click  # here: archsearch.query_line loads this module, and a plain query no click

    by_option = option_parameters(command)
    defaults = {}
    if config.index is not None and INDEX in by_option:
        defaults[by_option[INDEX].name] = index_path(config, config.index)
    for key, value in config.command_settings(name).items():
        parameter = by_option.get(key)
        if parameter is None:
            known = ", ".join(sorted(by_option))
            raise config.error(name, key, f"'{name}' has no option --{key} (its options: {known})")
        try:
            defaults[parameter.name] = checked_value(parameter, value)
        except click.BadParameter as exc:
            raise config.error(name, key, exc.message) from None
        if key == INDEX:
            defaults[parameter.name] = index_path(config, value)
    return defaults


def option_parameters(command) -> dict:
    """The command's options a config file may set, by long name without the dashes."""
    import click

    options = {}
    for parameter in command.params:
        if not isinstance(parameter, click.Option) or parameter.hidden or parameter.name == "help":
            continue
        long_names = [name for name in parameter.opts if name.startswith("--")]
        if long_names:
            options[long_names[0][2:]] = parameter
    return options


def checked_value(parameter, value):
    """`value` from TOML as the option would take it, or click.BadParameter saying what is wrong."""
    import click

    def expect(kind, test):
        if not test(value):
            raise click.BadParameter(f"must be {kind}, not {toml_type(value)} {value!r}")

    if parameter.is_flag:
        expect("true or false", lambda v: isinstance(v, bool))
        return value
    if parameter.multiple:
        expect("a list", lambda v: isinstance(v, list))
        return [checked_value_of_type(parameter, item) for item in value]
    return checked_value_of_type(parameter, value)


def checked_value_of_type(parameter, value):
    import click

    kind = parameter.type
    if isinstance(kind, click.types.IntParamType):  # IntRange too
        if isinstance(value, bool) or not isinstance(value, int):
            raise click.BadParameter(f"must be a whole number, not {toml_type(value)} {value!r}")
    elif isinstance(kind, click.types.FloatParamType):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise click.BadParameter(f"must be a number, not {toml_type(value)} {value!r}")
    elif not isinstance(value, str):
        raise click.BadParameter(f"must be text in quotes, not {toml_type(value)} {value!r}")
    return kind.convert(value, parameter, None)


def toml_type(value) -> str:
    names = {bool: "true/false", int: "number", float: "number", str: "text", list: "list", dict: "table"}
    return names.get(type(value), type(value).__name__)


def index_path(config: Config, value: str) -> str:
    """An index folder named in the file; a relative one is taken from the file's own folder."""
    return str(config.path.parent / Path(value).expanduser())


# Named queries ---------------------------------------------------------------------------------


def saved_query(config: Config, name: str) -> str:
    if name not in config.queries:
        known = ", ".join(sorted(config.queries)) or "none yet"
        where = f"{config.path}" if config.found else f"{config.path} (not found)"
        raise ConfigError(
            f"no saved query '{name}' in [queries] of config file {where}; saved: {known} "
            f"(to search for the word itself, leave out the @)"
        )
    return config.queries[name]


def split_saved(text: str) -> list[str]:
    """A saved query split as a shell would, but keeping the query language's quotes on phrases."""
    import shlex

    lexer = shlex.shlex(text, posix=False, punctuation_chars=False)
    lexer.whitespace_split = True
    lexer.commenters = ""
    return list(lexer)


def unquoted(token: str) -> str:
    if len(token) >= 2 and token[0] == token[-1] and token[0] in "\"'":
        return token[1:-1]
    return token


class OptionNames:
    """What a saved query is read with for a command that takes one: the command's option names
    that take a value, and its flags; and elsewhere(), the same of every command that takes a query
    (click's commands, loaded then), asked for only when a saved query holds an option that is not
    the command's. A saved query serves every command that takes one: an option of another (--sort,
    for timeline) is left out, and only an option none of them has is a mistake."""

    def __init__(self, takes_value: set[str], flags: set[str], elsewhere):
        self.takes_value = takes_value
        self.flags = flags
        self.elsewhere = elsewhere

    @classmethod
    def of(cls, command) -> "OptionNames":
        return cls(*option_names(command), every_query_command_s_options)


def every_query_command_s_options() -> tuple[set[str], set[str]]:
    """The option names that take a value, and the flags, of every command that takes a query."""
    any_takes_value, any_flags = set(), set()
    for command in query_commands():
        takes_value, flags = option_names(command)
        any_takes_value |= takes_value
        any_flags |= flags
    return any_takes_value, any_flags


def may_be_an_option(option: str) -> bool:
    """Whether a saved query's token (before any `=`) may be some command's option: every option's
    name is --long or -x (a test checks it), so -Merkel is the word to exclude."""
    return option[:2] == "--" or (option[:1] == "-" and len(option) == 2)


def saved_parts(config: Config, name: str, options: OptionNames, seen=()) -> tuple[list[str], list[str]]:
    """A saved query as (words, options as argv) for the command whose options are `options`: words
    in the query language."""
    if name in seen:
        raise ConfigError(f"saved query '{name}' refers to itself (through {' -> '.join(seen)})")
    tokens = split_saved(saved_query(config, name))
    words, saved_options = [], []
    position = 0
    while position < len(tokens):
        token = tokens[position]
        option, equals, value = token.partition("=")
        takes_value, flags = options.takes_value, options.flags
        if option not in takes_value and token not in flags and may_be_an_option(option):
            takes_value, flags = options.elsewhere()
        if option in takes_value:
            if not equals:
                if position + 1 == len(tokens):
                    raise config.error(QUERIES, name, f"{option} needs a value")
                position += 1
                value = tokens[position]
            if option in options.takes_value:
                saved_options += [option, unquoted(value)]
        elif token in flags:
            if token in options.flags:
                saved_options.append(token)
        elif token.startswith("--") and len(token) > 2:
            raise config.error(QUERIES, name, f"no command that takes a query has the option {token}")
        elif token.startswith("@") and re.fullmatch(QUERY_NAME, token[1:]):
            inner_words, inner_options = saved_parts(config, token[1:], options, (*seen, name))
            words += inner_words
            saved_options = inner_options + saved_options
        else:
            words.append(expand_references(config, token, options, (*seen, name)))
        position += 1
    return words, saved_options


def query_commands() -> list:
    from archsearch.cli import COMMANDS, cli

    commands = (cli.get_command(None, name) for name in sorted(COMMANDS))
    return [command for command in commands if takes_query(command)]


def option_names(command) -> tuple[set[str], set[str]]:
    """The command's option names that take a value, and those that are flags."""
    import click

    takes_value, flags = set(), set()
    for parameter in command.params:
        if isinstance(parameter, click.Option):
            (flags if parameter.is_flag or parameter.count else takes_value).update(parameter.opts)
            flags.update(parameter.secondary_opts)
    return takes_value, flags


def expand_references(config: Config, text: str, options: OptionNames, seen=()) -> str:
    """Query text with each `query:NAME` replaced by that saved query, in parentheses.

    Inside a query only words can stand, so of a saved query's options only --since and
    --until carry over, as the date: range they mean."""

    def replace(match):
        name = match.group(1)
        words, saved_options = saved_parts(config, name, options, seen)
        dates = {}
        for option, value in zip(saved_options[::2], saved_options[1::2]):
            if option not in DATE_OPTIONS or " " in value:
                raise config.error(
                    QUERIES, name, f"sets {option} {value}, which cannot apply inside another query: use @{name}"
                )
            dates[DATE_OPTIONS[option]] = value
        if dates:
            words.append(f"date:{dates.get('since', '')}..{dates.get('until', '')}")
        return "(" + " ".join(words) + ")"

    if "query:" not in text:
        return text
    return re.sub(QUERY_REFERENCE, replace, text)


def word_positions(args: list[str], takes_value: set[str]) -> list[int]:
    """Where the query words are among a command's arguments: neither options nor the values of
    those that take one."""
    positions = []
    after_separator = False
    for position, arg in enumerate(args):
        is_option_value = position > 0 and args[position - 1] in takes_value and not after_separator
        if arg == "--":
            after_separator = True
        elif not (is_option_value or (arg.startswith("-") and not after_separator)):
            positions.append(position)
    return positions


def expand_saved_queries(config: Config, args: list[str], options: OptionNames) -> list[str]:
    """The command line with `@NAME` and `query:NAME` replaced by the saved queries.

    The options of an @NAME come before everything typed, so that an option typed on the
    command line wins over the same option saved."""
    words_at = set(word_positions(args, options.takes_value))
    saved_options, rest = [], []
    for position, arg in enumerate(args):
        if position in words_at and arg.startswith("@") and re.fullmatch(QUERY_NAME, arg[1:]):
            words, options_saved = saved_parts(config, arg[1:], options)
            saved_options += options_saved
            rest += [excluded_word(word) for word in words]
            continue
        if position in words_at:
            arg = expand_references(config, arg, options)
        rest.append(arg)
    return saved_options + rest


def saved_words(name: str, command) -> list[str]:
    """The query words `@name` stands for on the command's command line."""
    words, _ = saved_parts(load_config(), name, OptionNames.of(command))
    return [excluded_word(word) for word in words]


def excluded_word(word: str) -> str:
    """A saved `-word`, which on a command line would read as an option, as the query's NOT word."""
    return "NOT " + word[1:] if word.startswith("-") and len(word) > 1 else word


def takes_query(command) -> bool:
    """Whether the command's arguments are query words, where saved queries may stand."""
    import click

    return any(isinstance(parameter, click.Argument) and parameter.name == "words" for parameter in command.params)


# Where apply_config leaves the query words as typed, before saved queries replace them, in the
# context's meta (which every context of the command line shares): `query @name --new` needs the name.
TYPED_WORDS = "archsearch.typed_words"


def typed_words(context) -> list[str]:
    """The query words of the command line as typed, `@name` and all."""
    return context.meta.get(TYPED_WORDS, [])


def apply_config(context, name: str, command, args: list[str], environ=os.environ) -> list[str]:
    """Gives the command its defaults from the configuration file, and expands saved queries in its
    arguments: the one place where the file reaches the commands."""
    if command is None or context.resilient_parsing:  # completing a word: no config needed, nor its errors
        return args
    options = OptionNames.of(command) if takes_query(command) else None
    if options:
        context.meta[TYPED_WORDS] = [args[position] for position in word_positions(args, options.takes_value)]
    config = load_config(environ)
    if not config.found:
        if options and any(arg.startswith("@") or "query:" in arg for arg in args):
            return expand_saved_queries(config, args, options)  # says the query is not saved
        return args
    defaults = command_defaults(config, name, command)
    if defaults:
        context.default_map = {**(context.default_map or {}), name: defaults}
    if options:
        return expand_saved_queries(config, args, options)
    return args


# What `archsearch config` shows ---------------------------------------------------------------


def built_in_default(command, parameter):
    import click

    value = parameter.get_default(click.Context(command))
    # click 8.3 and later mark an option without a default with a sentinel of its own
    return None if value is getattr(click.core, "UNSET", None) else value


def effective_settings(config: Config, commands: dict, environ=os.environ) -> list[dict]:
    """Every option of every command in `commands` (name -> click command), with the value a run
    would take when the option is not typed, and where that value comes from: `source` is
    "environment", "config file" or "default", and `where` the variable, or the file and line."""
    from archsearch.location import default_index_dir

    settings = []
    for name, command in commands.items():
        defaults = command_defaults(config, name, command) if config.found else {}
        for key, parameter in option_parameters(command).items():
            envvars = [parameter.envvar] if isinstance(parameter.envvar, str) else list(parameter.envvar or ())
            from_environment = next((variable for variable in envvars if environ.get(variable)), None)
            if from_environment:
                value, source, where = environ[from_environment], "environment", from_environment
            elif parameter.name in defaults:
                table = name if key in config.command_settings(name) else ""
                value, source, where = defaults[parameter.name], "config file", config.location(table, key)
            else:
                value, source, where = built_in_default(command, parameter), "default", ""
                if key == INDEX and value is None:
                    value = str(default_index_dir(environ))
            settings.append({"command": name, "option": f"--{key}", "value": value, "source": source, "where": where})
    return settings
