"""`archsearch serve`: one resident process that runs queries without starting Python for each."""

import os
import sys

import click

DEFAULT_IDLE_MINUTES = 60


@click.command("serve")
@click.option(
    "--idle-timeout",
    metavar="MINUTES",
    type=click.FloatRange(min=0),
    default=DEFAULT_IDLE_MINUTES,
    show_default=True,
    help="Stop after MINUTES without a request; 0 never stops.",
)
@click.option("--detach", is_flag=True, help="Run in the background: return as soon as the server listens.")
@click.option("--stop", is_flag=True, help="Stop the running server; exit 1 when none was running.")
def command(idle_timeout, detach, stop):
    """Keep archsearch loaded in one process, so that query, show, similar,
    sources, stats and timeline answer without starting Python each time.

    While the server runs, archsearch hands it those commands, and runs them
    itself when there is none: the output is the same either way. It listens
    on $ARCHSEARCH_SOCKET, else $XDG_RUNTIME_DIR/archsearch/server.sock, else
    /tmp/archsearch-UID/server.sock; ARCHSEARCH_SERVER=off bypasses it.
    """
    from archsearch import server
    from archsearch.client import socket_path

    path = socket_path()
    if stop:
        if not server.stop(path):
            click.echo(f"archsearch: no server is running on {path}", err=True)
            sys.exit(1)
        return
    listener = server.listen(path)
    server.preload()
    if detach:
        child = server.detach()
        if child:
            click.echo(f"archsearch: listening on {path} (pid {child})", err=True)
            return
    else:
        click.echo(f"archsearch: listening on {path} (pid {os.getpid()})", err=True)
    reason = server.serve(listener, idle_timeout)
    click.echo(f"archsearch: server stopped: {reason}", err=True)
