"""`archsearch config`: the settings a command takes when an option is not typed, and from where."""

import json
import sys

import click


@click.command("config", short_help="Show the settings each command takes, and where they come from.")
@click.argument("commands", nargs=-1, metavar="[COMMAND]...")
@click.option("--json", "as_json", is_flag=True, help="One JSON object: the file, the settings and the saved queries.")
def command(commands, as_json):
    """Show the configuration file in use, and every option's effective
    default with where it comes from: the environment, the config file
    (with its line) or archsearch's built-in default.

    With COMMAND names, only their options. Options typed on a command
    line win over all of these.
    """
    from archsearch.cli import COMMANDS, cli
    from archsearch.config import command_defaults, effective_settings, load_config

    unknown = [name for name in commands if name not in COMMANDS]
    if unknown:
        raise click.UsageError(f"no command '{unknown[0]}' (commands: {', '.join(sorted(COMMANDS))})")
    context = click.get_current_context()
    config = load_config()
    for name in COMMANDS:  # every table is checked, not only those of the commands asked about
        if config.command_settings(name):
            command_defaults(config, name, cli.get_command(context, name))
    shown = {name: cli.get_command(context, name) for name in (commands or sorted(COMMANDS))}
    settings = effective_settings(config, shown)
    queries = [(name, text, config.location("queries", name)) for name, text in sorted(config.queries.items())]
    if as_json:
        record = {
            "config_file": {"path": str(config.path), "found": config.found, "chosen_by": config.chosen_by},
            "settings": settings,
            "queries": [{"name": name, "text": text, "where": where} for name, text, where in queries],
        }
        sys.stdout.write(json.dumps(record, ensure_ascii=True) + "\n")
        return
    state = "found" if config.found else "not found, so built-in defaults apply"
    sys.stdout.write(f"config file: {config.path} ({state}; chosen by {config.chosen_by})\n\n")
    rows = [("setting", "value", "from")]
    rows += [
        (f"{s['command']} {s['option']}", shown_value(s["value"]), f"{s['source']} {s['where']}".strip())
        for s in settings
    ]
    rows += [(f"@{name}", text, f"config file {where}") for name, text, where in queries]
    widths = [max(len(row[column]) for row in rows) for column in range(2)]
    for setting, value, source in rows:
        sys.stdout.write(f"{setting:<{widths[0]}}  {value:<{widths[1]}}  {source}\n")


def shown_value(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return ", ".join(map(str, value)) or "-"
    return str(value)
