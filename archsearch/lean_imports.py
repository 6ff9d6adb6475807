"""Keep Whoosh from loading standard-library modules it never uses here, to start faster.

Every query is a new process, and imports are most of its start-up. Whoosh imports
`urllib.request` (for a download helper archsearch never calls) and the `cached_property`
package, which imports `asyncio`; together about 40 ms of the 150 ms a query spends importing.
This module stands in for both, without changing what any other code sees:

- `cached_property` becomes the standard library's functools.cached_property, which does
  the same for the synchronous methods Whoosh decorates;
- `urllib.request` becomes a placeholder whose `urlretrieve` loads the real module when
  called, and which turns into the real module on first use of anything else.
"""

import functools
import importlib
import sys
import types


class _DeferredModule(types.ModuleType):
    """A module that imports the real one, and takes its place, the first time it is used."""

    def __getattr__(self, name):
        if name.startswith("__"):  # the import system probing (__path__ and the like), not a use
            raise AttributeError(name)
        return getattr(_load_real(self.__name__), name)


def _load_real(name: str):
    if isinstance(sys.modules.get(name), _DeferredModule):
        del sys.modules[name]
    module = importlib.import_module(name)
    parent, _, child = name.rpartition(".")
    if parent:
        setattr(sys.modules[parent], child, module)
    return module


def _deferred_urlretrieve(*args, **kwargs):
    return _load_real("urllib.request").urlretrieve(*args, **kwargs)


def install() -> None:
    if "cached_property" not in sys.modules:
        standard = types.ModuleType("cached_property")
        standard.cached_property = functools.cached_property
        sys.modules["cached_property"] = standard
    if "urllib.request" not in sys.modules:
        import urllib  # the package alone is empty and cheap

        placeholder = _DeferredModule("urllib.request")
        placeholder.urlretrieve = _deferred_urlretrieve
        sys.modules["urllib.request"] = placeholder
        urllib.request = placeholder
