"""The code of the modules a command-line process imports, kept in one file of the user's cache folder.

A query without the server is a process of its own, which imports ~150 modules. For each, Python
searches the folders of sys.path (stats and listings: 3.4 ms of a rare word's CPU at 100k
articles), then opens, checks and reads its .pyc (4-5 ms more), before it unmarshals and runs it.
Here the modules a process loaded are kept in one file, their code marshalled one after another,
with an index of where each one is, its source file's size and time, and the times of the folders
they were found in; a later process finds a module in the index, checks that its source file is
unchanged (one stat, as Python checks a .pyc against its source, but to the nanosecond) and reads
its code with one pread. Extension modules are kept by their file alone (Python loads them as
usual, without the search). The file's name holds a checksum of Python's version and sys.path, and
the file sys.path itself: a module is served only where the import system would have found that
same file.

What would make Python find another file is checked before anything is served: a file added to,
or taken from, any folder the kept modules came from or any folder of sys.path changes that
folder's time, and then nothing of the file is used, and it is written again. A module changed
in place changes its file's time or size: that module is imported as usual and kept anew. A
submodule is served only to a package whose __path__ is the one folder it was kept from.
Damage is caught by checksums (the index's, and each module's code) and means importing as
usual. The codes' checksums are summed as each module is served until one process has checked
every code of the file, once it has stayed unchanged for SETTLED_NS, and recorded the file's
identity (device, inode, size, mtime and ctime) beside it; while the file keeps that identity its
codes are not summed again (2.4 MB a query: crc32's 1.8 ms of CPU, 3.9% of a rare word's
instructions at 100k articles). Any write to the file changes its ctime, which no one can set
back, but a write within the clock tick of the change before it may not: a file is checked whole
only once that tick is long past (as git's racy entries).
Modules imported before `serve` runs (the client, this module) are neither served nor kept.
"""

import marshal
import os
import sys
import zlib
from importlib.machinery import ExtensionFileLoader, ModuleSpec, PathFinder, SourceFileLoader

from archsearch.lean_imports import cache_folder, write_cache_file, written_by_us_alone

# The file's first bytes: code objects are marshalled for one version of Python only.
_HEADER = f"archsearch kept modules 2, {sys.version}\n".encode()
# Larger than any file of ours: anything bigger (or not a regular file) is not read.
MAX_FILE_BYTES = 64 << 20
# Modules kept in one file at most (a file is per sys.path, for every command run with it).
MAX_MODULES = 3000
# Files kept in the cache folder at most, one per sys.path (each virtual environment has its own;
# so has each PYTHONPATH): writing one removes the oldest beyond these.
MAX_FILES = 8
_FAMILY_PREFIX = "kept-modules-"  # of every layout
_FILE_PREFIX = f"{_FAMILY_PREFIX}2-"
_EXTENSION = -1  # the length of an extension module's code: it has none here
# Beside each file, the identity it had when every code in it was found whole (see the docstring).
_INTACT_PREFIX = "intact-"
# How long a file stays unchanged before it is checked whole and recorded so.
SETTLED_NS = 2_000_000_000


def _stamp(info) -> tuple:
    """What tells a source file from any other, or from itself changed: its mtime, its ctime (which
    no one can set back, as touch or rsync -a sets an mtime), its inode and device (another file at
    the same path: a folder swapped under a symlink)."""
    return (info.st_mtime_ns, info.st_ctime_ns, info.st_ino, info.st_dev)


def file_path() -> str | None:
    """The file of the modules kept for this sys.path and this Python, in the cache folder."""
    folder = cache_folder()
    if folder is None:
        return None
    key = zlib.crc32("\0".join([sys.version, *sys.path]).encode("utf-8", "surrogatepass"))
    tag = f"{sys.implementation.cache_tag}-o{sys.flags.optimize}"
    return os.path.join(folder, f"{_FILE_PREFIX}{tag}-{key:08x}.bin")


class _KeptCode:
    """The kept file, as a finder on sys.meta_path. Its index (`modules`): module name -> (source
    file, is a package, its _stamp, its size, offset of its code after the index, the code's
    length, its crc32)."""

    def __init__(self):
        self.modules: dict = {}
        self.descriptor: int | None = None
        self.codes_start = 0  # where the codes begin in the file
        self.loaded_before: frozenset = frozenset()
        self.served: set = set()  # modules served from the file, checked as they were
        self.path: str | None = None
        self.searched: list = []  # sys.path when serving began: the one the file is for
        self.folder_times: dict = {}  # folder -> its mtime_ns (None: missing) before it was searched
        self.intact = False  # every code of the file known whole: none is summed as it is served

    def read(self, path: str) -> None:
        import stat

        try:
            descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        except OSError:
            return
        try:
            info = os.fstat(descriptor)
            if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_FILE_BYTES:
                raise ValueError("not a file of ours")
            if not written_by_us_alone(info):
                raise ValueError("not a file of ours")
            start = len(_HEADER) + 8
            head = os.pread(descriptor, start, 0)
            if len(head) != start or not head.startswith(_HEADER):
                raise ValueError("another layout or Python")
            length = int.from_bytes(head[-8:-4], "big")
            index = os.pread(descriptor, length, start)
            if len(index) != length or zlib.crc32(index) != int.from_bytes(head[-4:], "big"):
                raise ValueError("damaged")
            kept_path, folders, modules = marshal.loads(index)
            if kept_path != tuple(sys.path) or not _folders_unchanged(folders):
                raise ValueError("what the import system finds may have changed")
        except (OSError, ValueError, EOFError, TypeError):
            os.close(descriptor)
            return
        self.modules, self.descriptor, self.codes_start = modules, descriptor, start + length
        self.folder_times.update(folders)
        self.intact = self._known_intact(path, info)

    def _known_intact(self, path: str, info) -> bool:
        """Whether every code of the file (`info`: its fstat) is whole: as recorded beside it for
        the same file, or checked now, once it has settled (SETTLED_NS), and recorded so."""
        import time

        identity = (info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns)
        record = _intact_path(path)
        if _recorded_identity(record) == identity:
            return True
        if time.time_ns() - info.st_ctime_ns < SETTLED_NS:
            return False
        try:
            codes = memoryview(os.pread(self.descriptor, info.st_size - self.codes_start, self.codes_start))
        except OSError:
            return False
        for *_, offset, length, checksum in self.modules.values():
            if length != _EXTENSION:
                code = codes[offset:offset + length]
                if len(code) != length or zlib.crc32(code) != checksum:
                    return False
        write_cache_file(record, lambda out: out.write(marshal.dumps(identity)))
        return True

    def code(self, offset: int, length: int, checksum: int):
        """A module's code, or None when the file no longer holds it whole."""
        try:
            data = os.pread(self.descriptor, length, self.codes_start + offset)
            if len(data) == length and (self.intact or zlib.crc32(data) == checksum):
                return marshal.loads(data)
        except (OSError, ValueError, EOFError, TypeError):
            pass
        return None

    def find_spec(self, name, path=None, target=None):
        """The meta path finder's method: a spec for a module kept and unchanged, else None (the
        finders after this one search as usual)."""
        for folder in path or ():  # a package's folders, as they are before Python searches them
            if folder not in self.folder_times:
                self.folder_times[folder] = _folder_time(folder)
        entry = self.modules.get(name)
        if entry is None or target is not None:
            return None
        origin, is_package, stamp, size, offset, length, checksum = entry
        if path is None:  # a top-level module: found along sys.path, which must be the file's
            if sys.path != self.searched:
                return None
        else:  # a submodule: its package must search the one folder it was kept from
            folder = os.path.dirname(os.path.dirname(origin) if is_package else origin)
            if len(path) != 1 or path[0] != folder:
                return None
        try:
            info = os.stat(origin)
        except OSError:
            return None
        if _stamp(info) != stamp or info.st_size != size:
            return None
        if length == _EXTENSION:
            loader = ExtensionFileLoader(name, origin)
        else:
            loader = _KeptLoader(name, origin)
            loader.kept = (offset, length, checksum)
        spec = ModuleSpec(name, loader, origin=origin, is_package=is_package)
        spec.has_location = True
        if is_package:
            spec.submodule_search_locations = [os.path.dirname(origin)]
        self.served.add(name)
        return spec

    def save(self) -> None:
        """Writes the file again with the modules this process imported as usual added (once a
        process); a cache folder that cannot be written only means importing as usual."""
        if self.path is None or sys.path != self.searched:  # modules found along another sys.path
            return
        added = _modules_to_keep(self.loaded_before | self.served, self.modules)
        if not added:
            return
        path, self.path = self.path, None
        try:
            kept = []  # (name, (source file, is a package, _stamp, size), is an extension, code)
            for name, entry in self.modules.items():
                if name in added or len(kept) >= MAX_MODULES:
                    continue
                *identity, offset, length, checksum = entry
                code = b"" if length == _EXTENSION else os.pread(self.descriptor, length, self.codes_start + offset)
                if length == _EXTENSION or (len(code) == length and zlib.crc32(code) == checksum):
                    kept.append((name, tuple(identity), length == _EXTENSION, code))
            for name, (identity, code) in added.items():
                if len(kept) < MAX_MODULES:
                    kept.append((name, identity, code is None, code or b""))
            payload = _layout(kept)
        except (OSError, ValueError):
            return
        if len(payload) <= MAX_FILE_BYTES and write_cache_file(path, lambda out: out.write(payload)):
            _remove_oldest_files(os.path.dirname(path))


# A partial copy older than this is a killed process's (a copy is written in milliseconds).
_LEFT_PARTIAL_NS = 60 * 10**9


def _remove_oldest_files(folder: str) -> None:
    """Removes the files of kept modules, of any layout, beyond the MAX_FILES written last, and
    partial copies left by processes killed while they wrote one."""
    import time

    written, stale = [], []
    left_before = time.time_ns() - _LEFT_PARTIAL_NS
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return
    for entry in entries:
        if not entry.name.startswith(_FAMILY_PREFIX):
            continue
        try:
            mtime_ns = entry.stat(follow_symlinks=False).st_mtime_ns
        except OSError:
            continue
        if entry.name.endswith(".bin"):
            written.append((mtime_ns, entry.path))
        elif ".bin." in entry.name and mtime_ns < left_before:
            stale.append(entry.path)
    removed = [path for _, path in sorted(written, reverse=True)[MAX_FILES:]]
    for path in stale + removed + [_intact_path(path) for path in removed]:
        try:
            os.unlink(path)
        except OSError:
            pass


def _intact_path(path: str) -> str:
    """Where the identity of the kept file at `path`, found whole, is recorded."""
    folder, name = os.path.split(path)
    return os.path.join(folder, _INTACT_PREFIX + name)


def _recorded_identity(record: str) -> tuple | None:
    import stat

    try:
        descriptor = os.open(record, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        info = os.fstat(descriptor)
        if not stat.S_ISREG(info.st_mode) or not written_by_us_alone(info):
            return None
        identity = marshal.loads(os.read(descriptor, 256))
    except (OSError, ValueError, EOFError, TypeError):
        return None
    finally:
        os.close(descriptor)
    return identity if type(identity) is tuple else None


class _KeptLoader(SourceFileLoader):
    """The loader Python would have used, but whose code comes from the kept file."""

    kept = None

    def get_code(self, fullname):
        code = _kept.code(*self.kept) if _kept.descriptor is not None else None
        if code is None:  # damaged: from the .pyc or the source, and kept again at the end
            _kept.modules.pop(fullname, None)
            _kept.served.discard(fullname)
            return super().get_code(fullname)
        return code


def _folders_unchanged(folders: dict) -> bool:
    for folder, mtime_ns in folders.items():
        try:
            if os.stat(folder).st_mtime_ns != mtime_ns:
                return False
        except OSError:
            if mtime_ns is not None:
                return False
    return True


def _folder_time(folder: str) -> int | None:
    try:
        return os.stat(folder).st_mtime_ns
    except OSError:
        return None


def _folder_times(origins) -> dict:
    """Each folder's time when it was searched (a change since is seen by the next process); a
    folder no import searched here (a package's own, none of whose parts was imported) as it is now."""
    folders = {*sys.path, *map(os.path.dirname, origins)}
    return {folder: _kept.folder_times[folder] if folder in _kept.folder_times else _folder_time(folder) for folder in folders}


def _modules_to_keep(skipped: set, kept: dict) -> dict:
    """name -> ((source file, is a package, _stamp, size), marshalled code or None for an extension
    module) of each module imported as usual since `serve` (not `skipped`: loaded before, or served),
    by Python's own loaders from a file."""
    added = {}
    for name, module in list(sys.modules.items()):
        if name in skipped:
            continue
        spec = getattr(module, "__spec__", None)
        loader = getattr(spec, "loader", None)
        if type(loader) not in (SourceFileLoader, ExtensionFileLoader, _KeptLoader) or spec.name != name:
            continue
        origin = spec.origin
        if not isinstance(origin, str) or not os.path.isabs(origin):
            continue
        is_package = spec.submodule_search_locations is not None
        if is_package and list(spec.submodule_search_locations) != [os.path.dirname(origin)]:
            continue
        try:
            info = os.stat(origin)  # before the code: a change in between is seen as a change next time
            identity = (origin, is_package, _stamp(info), info.st_size)
            if name in kept and tuple(kept[name][:4]) == identity:
                continue
            code = None if type(loader) is ExtensionFileLoader else marshal.dumps(loader.get_code(name))
        except (OSError, ImportError, SyntaxError, ValueError):
            continue
        added[name] = (identity, code)
    return added


def _layout(kept: list) -> bytes:
    """The file: header, the index's length and crc32, the index, then each module's code."""
    modules = {}
    offset = 0
    for name, identity, is_extension, code in kept:
        modules[name] = (*identity, offset, _EXTENSION if is_extension else len(code), zlib.crc32(code))
        offset += len(code)
    folders = _folder_times(identity[0] for _, identity, _, _ in kept)
    index = marshal.dumps((tuple(sys.path), folders, modules))
    return b"".join([
        _HEADER, len(index).to_bytes(4, "big"), zlib.crc32(index).to_bytes(4, "big"), index,
        *(code for _, _, _, code in kept),
    ])


_kept = _KeptCode()


def serve() -> None:
    """Serves the modules kept for this sys.path from the cache folder, and keeps those imported
    as usual (save). For a query run without the server (archsearch.query_line): once a process."""
    if _kept.path is not None or PathFinder not in sys.meta_path or not all(map(os.path.isabs, sys.path)):
        return  # a folder named relatively ('' for `python -c`) is another folder in another place
    path = file_path()
    if path is None:
        return
    _kept.path = path
    _kept.searched = list(sys.path)
    _kept.loaded_before = frozenset(sys.modules)
    _kept.read(path)
    try:  # made now, not as the file is written: made inside a folder of sys.path, it changes its time
        os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
    except OSError:
        pass
    for folder in sys.path:  # as they are before any import searches them
        _kept.folder_times.setdefault(folder, _folder_time(folder))
    sys.meta_path.insert(sys.meta_path.index(PathFinder), _kept)
    import atexit

    atexit.register(save)


def save() -> None:
    """Keeps the modules this process imported as usual (before os._exit, which skips atexit)."""
    _kept.save()
