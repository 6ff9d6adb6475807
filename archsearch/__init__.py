"""archsearch: full-text search for archives of news articles."""

import sys

__version__ = "0.1.0"


class _LeanImportsOnFirstUse:
    """Installs lean_imports (see there) when the first module is imported that is not one the client
    of a server imports: a command that a server runs (archsearch.client) imports nothing else, and
    would pay 1.1 ms for installing it (with contextlib, importlib and functools) in a plain virtual
    environment. Any other import, of Whoosh, click or archsearch's own modules, comes first through
    here. It stays on sys.meta_path, done: the import system walks that list while a finder runs."""

    # The modules archsearch.client imports, or loads with it, that Python may not have loaded yet.
    CLIENT_IMPORTS = frozenset({"archsearch.client", "time", "_socket"})
    installed = False

    @classmethod
    def find_spec(cls, name, path=None, target=None):
        if not cls.installed and name not in cls.CLIENT_IMPORTS:
            cls.installed = True
            from archsearch import lean_imports

            lean_imports.install()
        return None  # the module is found as usual, by the finders after this one


sys.meta_path.insert(0, _LeanImportsOnFirstUse)
