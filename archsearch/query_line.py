"""`archsearch query`'s command line read without click, for a query run without the server.

Such a query is a process of its own, and click's import, its command definitions and its parsing
are ~10 ms of its CPU (of ~90 for a rare word at 100k articles). A plain command line, as a
script or a shell types it (words, and options with their values as they are written here), is
read here instead, with the configuration file's defaults for it when click would take each of
them as it is (file_defaults), and its saved queries (`@name`, `query:name`) put in as click's
command line has them (saved_expanded); anything else (--new, --help, an option value or a setting
click would convert or reject, `--`, clusters of short options) goes to click as before, so that
what click would say or do is said and done by click. The command's work itself is run_query,
which archsearch.cli.query calls too. tests/test_query_line.py checks that every command line read
here gives the command the parameters click gives it.
"""

import os
import sys

# The query command's options (archsearch.cli.query, options.py): parameter name, option names,
# what it takes (a flag, a whole number >= 0, text, or one of the choices), default. CLICK_ONLY:
# options only click runs (--new needs the saved searches; the help).
FLAG, COUNT, TEXT = "flag", "count", "text"
CLICK_ONLY = "click"
QUERY_OPTIONS = (
    ("any_words", ("--any",), FLAG, False),
    ("ignore_case", ("-i", "--ignore-case"), FLAG, False),
    ("since", ("--since",), TEXT, None),
    ("until", ("--until",), TEXT, None),
    ("include_undated", ("--undated",), FLAG, False),
    ("sort", ("--sort",), ("relevance", "newest", "oldest"), "relevance"),
    ("limit", ("-n", "--limit"), COUNT, 10),
    ("offset", ("--offset",), COUNT, 0),
    ("explain", ("--explain",), FLAG, False),
    ("paths_only", ("-l", "--files-with-matches"), FLAG, False),
    ("count_only", ("-c", "--count"), FLAG, False),
    ("null", ("-0", "--null"), FLAG, False),
    ("strict", ("--strict",), FLAG, False),
    ("fix", ("--fix",), FLAG, False),
    ("expand", ("--expand",), FLAG, False),
    ("all_copies", ("--all-copies",), FLAG, False),
    ("only_new", ("--new",), CLICK_ONLY, False),
    ("dry_run", ("--dry-run",), CLICK_ONLY, False),
    ("as_json", ("--json",), FLAG, False),
    ("requested_format", ("--format",), ("plain", "json", "tsv", "csv"), None),
    ("bom", ("--bom",), FLAG, False),
    ("color", ("--color", "--colour"), ("auto", "always", "never"), "auto"),
    ("index_dir", ("--index",), TEXT, None),
    ("allow_partial", ("--allow-partial",), FLAG, False),
    ("help", ("-h", "--help"), CLICK_ONLY, False),
)
_BY_NAME = {name: (parameter, kind) for parameter, names, kind, _ in QUERY_OPTIONS for name in names}
# The configuration file's keys: an option's first long name without the dashes (config.option_parameters).
_BY_KEY = {
    next(name for name in names if name[:2] == "--")[2:]: (parameter, kind) for parameter, names, kind, _ in QUERY_OPTIONS
}
TAKES_VALUE = frozenset(name for name, (_, kind) in _BY_NAME.items() if kind not in (FLAG, CLICK_ONLY))
SHORT_FLAGS = frozenset(name[1] for name, (_, kind) in _BY_NAME.items() if len(name) == 2 and name not in TAKES_VALUE)
# The flags as config.option_names has them: the command's parameters, without click's --help.
FLAG_NAMES = frozenset(name for name, (parameter, kind) in _BY_NAME.items() if kind in (FLAG, CLICK_ONLY)
                       and parameter != "help")
INDEX_VARIABLE = "ARCHSEARCH_INDEX"  # --index's environment variable


class Contradiction(Exception):
    """Options that do not go together: click's usage error on the command line."""


class ClickReads(Exception):
    """A saved query holds an option that is not the query command's: click's commands say whose."""


def excluded_words_read(args: list[str], takes_value=TAKES_VALUE, short_flags=SHORT_FLAGS) -> list[str]:
    """The command line with each `-word` that is no short option made the query's `NOT word`,
    where click would take it for a cluster of short options."""
    rewritten = []
    for position, arg in enumerate(args):
        if arg == "--":
            rewritten += args[position:]
            break
        is_option_value = position > 0 and args[position - 1] in takes_value
        if arg[:1] == "-" and arg[:2] != "--" and len(arg) > 1 and not is_option_value:
            if not _is_short_option(arg, takes_value, short_flags):
                arg = "NOT " + arg[1:]
        rewritten.append(arg)
    return rewritten


def _is_short_option(arg, takes_value, short_flags) -> bool:
    # -n5 and -n are options; -l0 is two flags; -nation and -coronavirus are words to exclude.
    if arg[:2] in takes_value:
        return len(arg) == 2 or arg[2:].isdigit()
    return all(letter in short_flags for letter in arg[1:])


def parameters(args: list[str]) -> tuple[dict, set] | None:
    """The query command's parameters as typed on a plain command line (`args` after `query`), the
    others at their built-in defaults, and the names of those typed; or None when click must read it."""
    values = {parameter: default for parameter, _, _, default in QUERY_OPTIONS}
    given = set()
    words = []
    args = excluded_words_read(args)
    position = 0
    while position < len(args):
        arg = args[position]
        position += 1
        if arg[:1] != "-" or arg == "-":
            if arg[:1] == "@" or "query:" in arg:  # a saved query saved_expanded left: click says why
                return None
            words.append(arg)
            continue
        name, equals, value = arg.partition("=") if arg[:2] == "--" else (arg[:2], "", arg[2:])
        if name not in _BY_NAME:
            return None
        parameter, kind = _BY_NAME[name]
        if kind == CLICK_ONLY:
            return None
        given.add(parameter)
        if kind == FLAG:
            if equals or value:
                return None
            values[parameter] = True
            continue
        if not equals and not value:
            if position == len(args):
                return None
            value = args[position]
            position += 1
        if kind == COUNT:
            if not (value.isascii() and value.isdigit()):
                return None
            values[parameter] = int(value)
        elif kind == TEXT or value in kind:
            values[parameter] = value
        else:
            return None
    if not words:
        return None
    del values["help"]
    return {"words": tuple(words), **values}, given


def saved_expanded(config, args: list[str]) -> list[str]:
    """The command line with its saved queries put in, as config.apply_config puts them in for
    click; raises ConfigError as it does, and ClickReads."""
    from archsearch.config import OptionNames, expand_saved_queries

    def elsewhere():
        raise ClickReads

    return expand_saved_queries(config, args, OptionNames(TAKES_VALUE, FLAG_NAMES, elsewhere))


def file_defaults(config) -> dict | None:
    """The configuration file's defaults for the query command's parameters, as click has them from
    config.command_defaults; None when click must read them: a setting it would refuse or convert
    (a negative limit, a number in quotes), an unknown one, or one of an option only click runs."""
    from archsearch.config import INDEX, index_path

    defaults = {}
    if config.index is not None:
        defaults["index_dir"] = index_path(config, config.index)
    for key, value in config.command_settings("query").items():
        parameter, kind = _BY_KEY.get(key, (None, CLICK_ONLY))
        if not _taken_as_it_is(kind, value):
            return None
        defaults[parameter] = index_path(config, value) if key == INDEX else value
    return defaults


def _taken_as_it_is(kind, value) -> bool:
    """Whether click takes a TOML value for an option of this kind unchanged (config.checked_value)."""
    if kind == FLAG:
        return isinstance(value, bool)
    if kind == COUNT:
        return isinstance(value, int) and not isinstance(value, bool) and value >= 0
    if kind == TEXT:
        return isinstance(value, str)
    return kind != CLICK_ONLY and isinstance(value, str) and value in kind


def in_click_s_order(params: dict, given: set, defaults: dict, environ) -> dict:
    """The parameters as click settles them: as typed, else from the environment (--index's), else
    from the configuration file, else the built-in default."""
    params = {**params, **{parameter: value for parameter, value in defaults.items() if parameter not in given}}
    if "index_dir" not in given and environ.get(INDEX_VARIABLE):
        params["index_dir"] = environ[INDEX_VARIABLE]
    return params


def chosen_format(as_json: bool, requested_format: str | None, bom: bool, color: str, stream) -> str:
    """--json, --format, --bom and --color as one format: human, plain, json, tsv, csv or csv+bom."""
    from archsearch import rendering

    if as_json and requested_format not in (None, "json"):
        raise Contradiction(f"--json and --format {requested_format} contradict each other")
    requested = "json" if as_json else requested_format
    if bom and requested != "csv":
        raise Contradiction("--bom goes with --format csv only")
    if bom:
        requested = "csv+bom"
    colour = requested is None and rendering.colour_wanted(color, stream)
    return rendering.output_format(requested, colour)


def settled(params: dict, limit_given: bool) -> dict:
    """The query command's parameters checked against each other (Contradiction) and its limit
    settled: like grep -l, every matching file unless a limit is asked for; and every new article,
    since those left out would not be new next time."""
    if (params["paths_only"] or params["only_new"]) and not limit_given:
        params = {**params, "limit": 0}
    if params["null"] and not params["paths_only"]:
        raise Contradiction("-0/--null only goes with -l/--files-with-matches")
    if params["paths_only"] and params["count_only"]:
        raise Contradiction("-l and -c contradict each other")
    if params["dry_run"] and not params["only_new"]:
        raise Contradiction("--dry-run only goes with --new")
    if params["only_new"] and params["offset"]:
        raise Contradiction("--offset does not go with --new: the articles skipped would not be new next time")
    return params


def run_query(
    words, any_words, ignore_case, since, until, include_undated, sort, limit, offset, explain, paths_only,
    count_only, null, strict, fix, expand, all_copies, only_new, dry_run, fmt, index_dir, allow_partial,
    alert_name=None,
):
    """`archsearch query` with its parameters settled: searches, prints, and exits (sys.exit) 0 when
    something was found, else 1. alert_name(words) names the saved search --new runs."""
    from archsearch.engines import open_engine, print_warnings
    from archsearch.lasthits import remember
    from archsearch.location import resolve_index_dir
    from archsearch.rendering import print_paths, print_result_notes, print_search_result

    index_dir = resolve_index_dir(index_dir)
    alert = None
    if only_new:
        from archsearch.alerts import last_seen

        alert = alert_name(list(words))
    engine = open_engine(index_dir, allow_partial=allow_partial)
    result = engine.search(
        " ".join(words),
        any_words=any_words,
        limit=limit,
        offset=offset,
        sort=sort,
        since=since,
        until=until,
        include_undated=include_undated,
        with_snippets=not (paths_only or count_only),
        collapse_copies=not (all_copies or paths_only or count_only),
        fix=fix,
        expand=expand,
        ignore_case=ignore_case,
        # -c and -l answer scripts, which count on every article counted or listed having all the
        # words; so does an alert feed.
        relax_when_empty=not (strict or paths_only or count_only or only_new),
        indexed_after=last_seen(index_dir, alert) if alert else None,
    )
    print_warnings(engine, sys.stderr)
    if count_only:
        sys.stdout.write(f"{result.total}\n")
        print_result_notes(result, sys.stderr)
        mark_seen(index_dir, alert, result, dry_run)
        sys.exit(0 if result.total else 1)
    not_remembered = remember(index_dir, result.query, [(hit.rank, hit.reference) for hit in result.hits])
    if not_remembered:
        sys.stderr.write(f"archsearch: warning: {not_remembered}\n")
    if paths_only:
        print_paths(result, sys.stdout, null)
        print_result_notes(result, sys.stderr)
    else:
        print_search_result(result, sys.stdout, sys.stderr, fmt, explain=explain)
    mark_seen(index_dir, alert, result, dry_run)
    sys.exit(0 if result.hits else 1)


def mark_seen(index_dir, alert: str | None, result, dry_run: bool) -> None:
    """After the new articles are written out: the next `@alert --new` starts after them."""
    if alert and not dry_run:
        from archsearch.alerts import record_seen

        sys.stdout.flush()  # a reader gone away (BrokenPipeError) is told of first: nothing marked seen then
        record_seen(index_dir, alert, result.newest_indexed)


def command_arguments(args: list[str], environ=os.environ) -> dict | None:
    """run_query's arguments for a plain `query` command line (`args` after `query`), or None when
    click must read it: anything saved_expanded(), parameters() or file_defaults() leaves to it."""
    from archsearch.config import ConfigError, load_config

    if any(name[:1] == "_" and name.endswith("_COMPLETE") for name in environ):  # click completes words
        return None
    try:
        config = load_config(environ)
        if any(arg[:1] == "@" or "query:" in arg for arg in args):
            args = saved_expanded(config, args)
        read = parameters(args)
        if read is None:
            return None
        params, given = read
        defaults = file_defaults(config) if config.found else {}
        if defaults is None:
            return None
        # A limit from the file is no limit asked for on the command line: `-l` still lists every file.
        params = settled(in_click_s_order(params, given, defaults, environ), limit_given="limit" in given)
        fmt = chosen_format(params.pop("as_json"), params.pop("requested_format"), params.pop("bom"),
                            params.pop("color"), sys.stdout)
    except (ConfigError, Contradiction, ClickReads):  # click says so
        return None
    return {**params, "fmt": fmt}


def run(argv: list[str]) -> int | None:
    """A plain `archsearch query` command line (argv after the program's name) run here, to its exit
    status, as archsearch.cli.run would; None when it is no such line, and click must run it."""
    if argv[:1] != ["query"]:
        return None
    from archsearch import kept_modules, lean_imports

    kept_modules.serve()
    lean_imports.reuse_compiled_sources()  # before the first record (rendering's)
    return run_loaded(argv)


def run_loaded(argv: list[str]) -> int | None:
    """run() in a process that has loaded and compiled what the command uses (archsearch.server's
    requests): without the compiled sources kept in the cache folder."""
    if argv[:1] != ["query"]:
        return None
    try:
        arguments = command_arguments(argv[1:])
    except Exception:  # anything unforeseen (a closed stdout): click reads the line, and says so as before
        return None
    if arguments is None:
        return None
    return exit_status(lambda: _ended_as_under_click(arguments), fail)


def _ended_as_under_click(arguments: dict) -> None:
    """run_query, ending on what it raises as archsearch.cli's group ends a command."""
    from archsearch.errors import ArchsearchError

    try:
        run_query(**arguments)
    except ArchsearchError as exc:
        fail(str(exc))
    except BrokenPipeError:
        stop_writing_quietly()
    except (KeyboardInterrupt, EOFError):
        # A blank line first, as click writes one, to close the terminal's ^C.
        sys.stderr.write("\narchsearch: interrupted\n")
        sys.stderr.flush()
        sys.exit(130)


def exit_status(command, fail) -> int:
    """command() run to its exit status (SystemExit's), an unexpected failure one line through
    fail() unless debugging, and stdout flushed."""
    status = 0
    try:
        try:
            command()
        except Exception as exc:
            if os.environ.get("ARCHSEARCH_DEBUG"):
                raise
            fail(internal_error(exc))
    except SystemExit as exc:
        status = exc.code or 0
    return flushed(status)


def error_line(message: str) -> str:
    from archsearch.rendering import printable_name

    # Messages quote what was typed and what is stored (paths): neither may steer the terminal.
    return f"archsearch: error: {printable_name(message)}"


def internal_error(exc: Exception) -> str:
    return f"internal error: {type(exc).__name__}: {exc} (set ARCHSEARCH_DEBUG=1 for details)"


def fail(message: str) -> None:
    sys.stderr.write(error_line(message) + "\n")
    sys.stderr.flush()
    sys.exit(2)


def stop_writing_quietly() -> None:
    """The reader of our output went away (`| head -1`): end without a traceback, as ripgrep does."""
    discard_unwritten_output()
    sys.exit(0)


def discard_unwritten_output() -> None:
    """Points stdout at /dev/null, so that what is still buffered for a reader that went away is
    dropped there, rather than tried again by the next flush or at exit ("Exception ignored")."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass  # not a real file descriptor, as under click's test runner


def flushed(status: int) -> int:
    """The exit status, once stdout is flushed: here rather than at interpreter exit, where a reader
    gone by then would get Python's "Exception ignored ... BrokenPipeError" and status 120; a
    server must also have written everything before it reports the status."""
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        discard_unwritten_output()
        return 0
    return status
