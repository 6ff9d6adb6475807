"""`archsearch help`: the query language, the man page, or one command's help."""

import sys

import click


@click.command("help", short_help="The query syntax, a man page, or a command's help.")
@click.argument("topic", metavar="syntax|man|COMMAND", required=False)
def command(topic):
    """Print help on a topic: 'syntax' is the query language, dates and
    examples; 'man' is a man page (roff) of every command and option; a
    command's name is that command's --help. Without a topic, the list of
    commands.

    \b
      archsearch help syntax
      archsearch help man > ~/.local/share/man/man1/archsearch.1
    """
    from archsearch import __version__
    from archsearch.cli import COMMANDS, cli
    from archsearch.helptext import SYNTAX, man_page

    context = click.get_current_context()
    if topic is None:
        sys.stdout.write(cli.get_help(context.parent))
        sys.stdout.write("\n")
    elif topic == "syntax":
        print_markdown(SYNTAX)
    elif topic == "man":
        sys.stdout.write(man_page(cli, __version__))
    elif topic in COMMANDS:
        topic_command = cli.get_command(context, topic)
        sys.stdout.write(topic_command.get_help(click.Context(topic_command, info_name=topic, parent=context.parent)))
        sys.stdout.write("\n")
    else:
        topics = f"syntax, man, or a command: {', '.join(sorted(COMMANDS))}"
        raise click.UsageError(f"no help on '{topic}' (topics: {topics})")


def print_markdown(text: str) -> None:
    """Markdown drawn by Rich on a terminal, and as it is written in a pipe."""
    from archsearch.rendering import colour_wanted

    if not colour_wanted("auto", sys.stdout):
        sys.stdout.write(text)
        return
    from rich.console import Console
    from rich.markdown import Markdown

    Console(file=sys.stdout).print(Markdown(text))
