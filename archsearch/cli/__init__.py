"""The command line: a click group whose commands live one per module and load only when run."""

import importlib
import os
import sys

import click

from archsearch import __version__

# Command name -> module under archsearch.cli; loading them lazily keeps `archsearch --help` fast.
COMMANDS = {
    "index": "index",
    "query": "query",
}


class LazyGroup(click.Group):
    def list_commands(self, ctx):
        return sorted(COMMANDS)

    def get_command(self, ctx, name):
        if name not in COMMANDS:
            return None
        return importlib.import_module(f"archsearch.cli.{COMMANDS[name]}").command


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="archsearch")
def cli():
    """Full-text search for archives of news articles.

    Index a folder of articles once, then query it: ranked hits with their
    title, date, source and the passages that match.

    \b
      archsearch index ~/articles
      archsearch query "ISIS Central Asia"
    """


def main() -> None:
    from archsearch.errors import ArchsearchError

    try:
        status = cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("archsearch: interrupted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(2)
    except ArchsearchError as exc:
        click.echo(f"archsearch: error: {exc}", err=True)
        sys.exit(2)
    except Exception as exc:
        if os.environ.get("ARCHSEARCH_DEBUG"):
            raise
        click.echo(
            f"archsearch: internal error: {type(exc).__name__}: {exc} (set ARCHSEARCH_DEBUG=1 for details)",
            err=True,
        )
        sys.exit(2)
    sys.exit(status or 0)
