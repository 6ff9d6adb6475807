"""The cluster engine: archsearch's index in Xapian shards served by `xapian-tcpsrv`.

Xapian is GPL-2.0-or-later and comes with the optional `cluster` extra; it is imported only
when a cluster is used, never by the embedded engine's commands.
"""

from archsearch.errors import ArchsearchError

INSTALL_HINT = "pip install 'archsearch[cluster]'"


def import_xapian():
    try:
        import xapian
    except ImportError:
        raise ArchsearchError(
            f"a cluster index needs the Xapian bindings, which are not installed: {INSTALL_HINT}"
        ) from None
    return xapian
