"""The command line: a click group whose commands live one per module and load only when run."""

import contextlib
import importlib
import sys
import typing  # noqa: F401  (click's; loaded before reuse_compiled_sources, which patches it only if loaded)

from archsearch import __version__, lean_imports

if lean_imports.installed:  # archsearch's own command line, not a program that imports archsearch.cli
    lean_imports.reuse_compiled_sources()  # before click, whose annotations typing compiles
with lean_imports.deferred_uuid_for_click():
    import click

from archsearch.client import end
from archsearch.commands import COMMANDS  # each command's module loads when it runs: `archsearch --help` stays fast
from archsearch.config import apply_config  # a quarter of a millisecond; tomllib loads only for a file
from archsearch.query_line import exit_status, fail, stop_writing_quietly


class LazyGroup(click.Group):
    def list_commands(self, ctx):
        return sorted(COMMANDS)

    def get_command(self, ctx, name):
        if name not in COMMANDS:
            return None
        return importlib.import_module(f"archsearch.cli.{COMMANDS[name]}").command

    def resolve_command(self, ctx, args):
        """Misspelt commands get a suggestion; the configuration file's defaults and saved queries
        reach every command here."""
        name = args[0]
        if name not in COMMANDS and not name.startswith("-"):
            import difflib

            close = [command for command in sorted(COMMANDS) if command.startswith(name)]
            close = [f"'{command}'" for command in close or difflib.get_close_matches(name, sorted(COMMANDS), n=3)]
            either = " or ".join([", ".join(close[:-1]), close[-1]] if len(close) > 1 else close)
            ctx.fail(f"no command '{name}'" + (f"; did you mean {either}?" if close else ""))
        name, command, rest = super().resolve_command(ctx, args)
        return name, command, apply_config(ctx, name, command, rest)

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        """Every error the user can act on ends as one line on stderr and exit status 2."""
        from archsearch.errors import ArchsearchError

        try:
            status = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.UsageError as exc:
            command = exc.ctx.command_path if exc.ctx else "archsearch"
            fail(f"{exc.format_message()} (see '{command} --help')")
        except click.ClickException as exc:
            fail(exc.format_message())
        except ArchsearchError as exc:
            fail(str(exc))
        except (click.Abort, KeyboardInterrupt):
            click.echo("archsearch: interrupted", err=True)
            sys.exit(130)
        if standalone_mode:
            sys.exit(status or 0)
        return status

    # click turns a closed pipe into exit status 1 before main() could see it, so the two places
    # that write (help and usage while parsing, the command itself) stop it first.
    def make_context(self, *args, **kwargs):
        with quiet_when_the_reader_goes():
            return super().make_context(*args, **kwargs)

    def invoke(self, ctx):
        with quiet_when_the_reader_goes():
            return super().invoke(ctx)


@contextlib.contextmanager
def quiet_when_the_reader_goes():
    try:
        yield
    except BrokenPipeError:
        stop_writing_quietly()




@click.group(
    cls=LazyGroup,
    invoke_without_command=True,
    subcommand_metavar="COMMAND [ARGS]...",
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.version_option(__version__, prog_name="archsearch")
@click.pass_context
def cli(ctx):
    """Full-text search for archives of news articles.

    Index a folder of articles once, then query it: ranked hits with their
    title, date, source and the passages that match.

    \b
      archsearch index ~/articles
      archsearch query "ISIS Central Asia"
    """
    if ctx.invoked_subcommand is None:
        # No command: the help, as git shows it, not an error message; but the status of a
        # command line that did nothing, so that a script with an empty "$command" fails.
        click.echo(ctx.get_help())
        ctx.exit(2)


def main() -> None:
    end(run())


def run(args: list[str] | None = None, prog_name: str | None = None) -> int:
    """A command line run in this process, to its exit status: `cli`, but an unexpected failure is
    one line too unless debugging. archsearch.server runs commands here, and the console script
    every command but a plain query (archsearch.client.run_here)."""
    return exit_status(lambda: cli.main(args, prog_name), fail)
