"""Errors a user can act on: the CLI prints them as one line on stderr and exits with status 2."""


class ArchsearchError(Exception):
    """A problem with the user's input or environment, described in one line."""
