"""`archsearch serve`: one resident process that runs queries without starting Python for each."""

import os
import sys
import time

import click

DEFAULT_IDLE_MINUTES = 15


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
@click.option("--status", is_flag=True,
              help="Say whether a server runs, and what it does; exit 1 when none runs, or it is still starting.")
# The server's lock, taken by the reading command that starts this server in the background.
@click.option("--lock-fd", type=int, hidden=True)
def command(idle_timeout, detach, stop, status, lock_fd):
    """Keep archsearch loaded in one process, so that kwic, query, show,
    similar, sources, stats, terms and timeline answer without starting
    Python each time.

    While the server runs, archsearch hands it those commands, and runs them
    itself when there is none: the output is the same either way (but for a
    score's last digit now and then in --json: sums taken in another order).
    A second
    such command within 10 minutes that finds no server starts one in the
    background (not with CI set); ARCHSEARCH_SERVER=manual, or server =
    "manual" in the configuration file, never starts one, and
    ARCHSEARCH_SERVER=off bypasses any server. It listens on
    $ARCHSEARCH_SOCKET, else $XDG_RUNTIME_DIR/archsearch/server.sock, else
    /tmp/archsearch-UID/server.sock.
    """
    from archsearch import server
    from archsearch.client import socket_path

    path = socket_path()
    if stop:
        if not server.stop(path):
            click.echo(f"archsearch: no server is running on {path}", err=True)
            sys.exit(1)
        return
    if status:
        found = server.status(path)
        if found is None:
            click.echo(f"not running (nothing listens on {path})")
            sys.exit(1)
        if "starting" in found:
            from archsearch.rendering import printable_name

            if found["listening"]:
                click.echo(f"starting: pid {found['starting']}, listening on {printable_name(path)}; "
                           "it answers once it has loaded what commands need")
            else:
                holder = f"pid {found['starting']} holds" if found["starting"] else "a process holds"
                click.echo(f"starting: {holder} the server's lock; nothing listens on {printable_name(path)} yet")
            sys.exit(1)
        click.echo(describe(found))
        return
    listener = server.listen(path, lock_fd)
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


def describe(status: dict) -> str:
    from archsearch.rendering import printable_name

    started = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(status["started"]))
    by = "by a command, in the background" if status["started_by_command"] else "by 'archsearch serve'"
    idle = status["idle_minutes"]
    timeout = f"stops after {idle:g} minutes without a request" if idle else "never stops by itself"
    lines = [
        f"running: pid {status['pid']}, listening on {printable_name(status['socket'])}",
        f"started: {started} {by} (up {duration(time.time() - status['started'])})",
        f"idle: {duration(status['idle_seconds'])} since the last request; {timeout}",
        f"commands served: {status['commands_run']}",
        f"indexes kept open: {len(status['indexes'])}",
        *(f"  {printable_name(folder)}" for folder in status["indexes"]),
    ]
    return "\n".join(lines)


def duration(seconds: float) -> str:
    seconds = int(seconds)
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60} s"
    return f"{seconds // 3600} h {seconds // 60 % 60} min"
