"""Options shared by several commands."""

import click

index_option = click.option(
    "--index",
    "index_dir",
    metavar="DIR",
    envvar="ARCHSEARCH_INDEX",
    help="Index folder. Default: $ARCHSEARCH_INDEX, else $XDG_DATA_HOME/archsearch "
    "(~/.local/share/archsearch).",
)
