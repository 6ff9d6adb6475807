"""Records: classes of named fields, made, compared, hashed and printed by their values as
dataclasses makes them, for the classes a query without the server makes.

Importing dataclasses cost such a query 0.45-0.65 ms of CPU and making its 14 classes with it
1.6 ms more (each class's fields inspected, six or seven methods written as text and run): here
a class's fields are its annotations, its defaults their class attributes, and only `__init__` is
written as text (its signature is the fields'); comparing, hashing and printing are the base's.

    class Hit(Record, frozen=True):
        rank: int
        copies: tuple[str, ...] = ()
        explanation: list[str] = Factory(list)  # a new list for each record

As with `@dataclass` (eq=True): two records are equal when they are of the same class and their
fields are; a frozen record cannot be changed, and hashes as the tuple of its fields (the same
hash as a dataclass's); a record that is not frozen cannot be hashed.  `replace` and `as_dict`
stand for dataclasses.replace and asdict (which does not recurse into records in the fields).
"""

from operator import attrgetter


class FrozenRecordError(AttributeError):
    """A field of a frozen record was assigned or deleted."""


class Factory:
    """A field's default made anew for each record, by calling `make` (dataclasses' default_factory)."""

    def __init__(self, make):
        self.make = make


def _frozen(self, name, value=None):
    raise FrozenRecordError(f"cannot assign to field {name!r}")


class Record:
    """The base of records: see the module's docstring."""

    _fields: tuple[str, ...] = ()

    def __init_subclass__(cls, frozen: bool = False, **kwargs):
        super().__init_subclass__(**kwargs)
        cls._fields = fields = (*cls._fields, *cls.__dict__.get("__annotations__", ()))
        values = attrgetter(*fields)
        # attrgetter of one name gives that value alone: a tuple always, for the hash's sake
        cls._values = staticmethod(values if len(fields) > 1 else lambda record: (values(record),))
        cls.__init__ = _init(cls, fields, frozen)
        if frozen:
            cls.__setattr__ = cls.__delattr__ = _frozen
            cls.__hash__ = Record._hash
        else:
            cls.__hash__ = None

    def __eq__(self, other):
        if other.__class__ is self.__class__:
            return self._values(self) == self._values(other)
        return NotImplemented

    def _hash(self):
        return hash(self._values(self))

    def __repr__(self):
        shown = ", ".join(f"{name}={value!r}" for name, value in zip(self._fields, self._values(self)))
        return f"{self.__class__.__qualname__}({shown})"


def replace(record: Record, **changes) -> Record:
    """A record of the same class with the same fields, but those of `changes`.

    Made as `__init__` would make it (it only sets the fields), without calling it: a parsed
    article goes through five copies, each a call with every field as a keyword (2.5 µs; 0.6 so).
    The fields are the instance's attributes, in their order, where it has no others (as_dict of
    a Draft took 2.5x the time of a copy of its attributes)."""
    fields = record.__dict__.copy()
    if len(fields) != len(record._fields):  # attributes beyond the fields (set on a record not frozen)
        fields = as_dict(record)
    count = len(fields)
    fields.update(changes)
    if len(fields) != count:
        unknown = ", ".join(name for name in changes if name not in record._fields)
        raise TypeError(f"{record.__class__.__qualname__} has no field {unknown}")
    copy = object.__new__(record.__class__)
    object.__setattr__(copy, "__dict__", fields)
    return copy


def as_dict(record: Record) -> dict:
    """The record's fields and their values, by name, in their order."""
    return dict(zip(record._fields, record._values(record)))


_NO_DEFAULT = object()


def _init(cls, fields: tuple[str, ...], frozen: bool):
    """`__init__` with the fields as its parameters, written as text (the text alike for classes
    alike, so that the command line's processes reuse its code: lean_imports)."""
    namespace = {"_factory": Factory, "_set": object.__setattr__}
    parameters, lines = [], []
    for name in fields:
        default = getattr(cls, name, _NO_DEFAULT)
        value = name
        if isinstance(default, Factory):
            namespace[f"_make_{name}"] = default.make
            parameters.append(f"{name}=_factory")
            value = f"_make_{name}() if {name} is _factory else {name}"
        elif default is not _NO_DEFAULT:
            namespace[f"_default_{name}"] = default
            parameters.append(f"{name}=_default_{name}")
        else:
            parameters.append(name)
        lines.append(f"    _set(self, {name!r}, {value})" if frozen else f"    self.{name} = {value}")
    exec(f"def __init__(self, {', '.join(parameters)}):\n" + "\n".join(lines or ["    pass"]), namespace)
    init = namespace["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    return init
