"""Typed record classes that are cheap to define: the subset of :mod:`dataclasses` we use.

Why not :mod:`dataclasses`: on CPython 3.11 each ``@dataclass(frozen=True)`` compiles
five or six generated functions with one ``exec`` each, and importing the module
imports :mod:`inspect`. With ~45 record classes that was ~30 ms of a ~120 ms lint
of one small model, the largest single cost of start-up, which a pre-commit hook pays
on every commit (see ``bench/``).

Here only ``__init__`` is generated: compiled from the field names on the class's first
instantiation and made into a function from the code object, without ``exec``, so
construction is as fast as with dataclasses. ``__eq__``, ``__hash__``, ``__repr__`` and
the frozen ``__setattr__`` are shared functions driven by :func:`operator.attrgetter`.
Supported: ``frozen``, ``slots``, ``eq``, ``repr``, field defaults,
``field(default=..., default_factory=..., repr=..., compare=...)``, ``__post_init__``,
inheritance from other records, ``ClassVar`` annotations (skipped), :func:`replace`,
:func:`fields`; instances pickle (``-j`` sends findings between processes). Not
supported (rejected, not silently ignored): ``order``, ``init=False`` fields,
``InitVar``, ``kw_only``.

Type checkers see it as a dataclass through :func:`typing.dataclass_transform`. At run
time a record is a dataclass for every tool that asks: ``dataclasses.is_dataclass``,
``fields``, ``asdict`` and ``replace`` work (``__dataclass_fields__`` is built, with
:mod:`dataclasses` imported, only when something asks), and ``inspect.signature`` of a
record class is the same before and after its first instance (``__signature__``).
``tests/test_records.py`` compares each with a real dataclass.
"""

from __future__ import annotations

import types
from collections.abc import Callable
from operator import attrgetter
from typing import Any, TypeVar, dataclass_transform, overload

__all__ = ["Field", "FrozenInstanceError", "dataclass", "field", "fields", "replace"]

_T = TypeVar("_T")


class _Missing:
    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()

_MUTABLE_DEFAULTS = (list, dict, set, bytearray)


class FrozenInstanceError(AttributeError):
    """Assignment to a field of a frozen record."""


class Field:
    """One field of a record, as :func:`fields` returns it."""

    __slots__ = ("compare", "default", "default_factory", "name", "repr")

    def __init__(self, default: Any, default_factory: Any, repr: bool, compare: bool) -> None:
        self.name = ""
        self.default = default
        self.default_factory = default_factory
        self.repr = repr
        self.compare = compare

    def __repr__(self) -> str:
        return f"Field(name={self.name!r}, default={self.default!r}, default_factory={self.default_factory!r})"


def field(*, default: Any = MISSING, default_factory: Callable[[], Any] | Any = MISSING,
          repr: bool = True, compare: bool = True) -> Any:
    """Declare a field with a default, a default factory, or without repr/compare."""
    if default is not MISSING and default_factory is not MISSING:
        raise ValueError("cannot specify both default and default_factory")
    return Field(default, default_factory, repr, compare)


def _is_classvar(annotation: object) -> bool:
    if isinstance(annotation, str):
        return annotation.startswith(("ClassVar", "typing.ClassVar", "t.ClassVar"))
    return getattr(annotation, "__origin__", None) is not None and "ClassVar" in repr(annotation)


def _collect(cls: type) -> list[Field]:
    own: list[Field] = []
    inherited: dict[str, Field] = {}
    for base in reversed(cls.__mro__[1:]):
        for f in getattr(base, "__record_fields__", ()):
            inherited[f.name] = f
    for name, annotation in cls.__dict__.get("__annotations__", {}).items():  # noqa: RUF063 - no inspect import
        if _is_classvar(annotation):
            continue
        if isinstance(annotation, str) and annotation.startswith(("InitVar", "dataclasses.InitVar")):
            raise TypeError(f"{cls.__name__}.{name}: InitVar is not supported")
        value = cls.__dict__.get(name, MISSING)
        f = value if isinstance(value, Field) else Field(value, MISSING, True, True)
        if isinstance(f.default, _MUTABLE_DEFAULTS):
            raise ValueError(f"mutable default {type(f.default).__name__} for field {name} is not allowed: "
                             "use default_factory")
        f.name = name
        inherited.pop(name, None)
        own.append(f)
    result = [*inherited.values(), *own]
    seen_default = False
    for f in result:
        has_default = f.default is not MISSING or f.default_factory is not MISSING
        if seen_default and not has_default:
            raise TypeError(f"{cls.__name__}: non-default argument {f.name!r} follows default argument")
        seen_default = seen_default or has_default
    return result


def _make_init(cls: type, flds: list[Field], frozen: bool) -> Callable[..., None]:
    """Compile ``__init__`` from the field names (our own source text, never model
    content) and make the function from its code object: nothing is executed here."""
    params: list[str] = []
    defaults: list[Any] = []
    body: list[str] = []
    env: dict[str, Any] = {"MISSING": MISSING, "setattr_": object.__setattr__}
    for i, f in enumerate(flds):
        if f.default_factory is not MISSING:
            env[f"factory{i}"] = f.default_factory
            params.append(f"{f.name}=MISSING")
            defaults.append(MISSING)
            value = f"factory{i}() if {f.name} is MISSING else {f.name}"
        elif f.default is not MISSING:
            params.append(f"{f.name}=MISSING")  # the value is set below, as the function's default
            defaults.append(f.default)
            value = f.name
        else:
            params.append(f.name)
            value = f.name
        body.append(f"setattr_(self, {f.name!r}, {value})" if frozen else f"self.{f.name} = {value}")
    if hasattr(cls, "__post_init__"):
        body.append("self.__post_init__()")
    src = f"def __init__(self, {', '.join(params)}):\n    " + ("\n    ".join(body) or "pass") + "\n"
    module = compile(src, f"<record {cls.__qualname__}>", "exec")
    code = next(c for c in module.co_consts if isinstance(c, types.CodeType))
    init = types.FunctionType(code, env, "__init__", tuple(defaults) or None)
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    return init


def _deferred_init(cls: type, flds: list[Field], frozen: bool) -> Callable[..., None]:
    """An ``__init__`` that compiles the real one on first use and puts it in its place:
    a class that a run never instantiates never costs a compile."""

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        real = cls.__dict__["__init__"]
        if real is __init__:
            real = _make_init(cls, flds, frozen)
            type.__setattr__(cls, "__init__", real)
        real(self, *args, **kwargs)

    __init__.__qualname__ = f"{cls.__qualname__}.__init__"
    return __init__


def _key_getter(names: tuple[str, ...]) -> Callable[[Any], tuple[Any, ...]]:
    if not names:
        return lambda obj: ()
    if len(names) == 1:
        get_one = attrgetter(names[0])
        return lambda obj: (get_one(obj),)
    getter: Callable[[Any], tuple[Any, ...]] = attrgetter(*names)
    return getter


def _eq(self: Any, other: Any) -> object:
    if other.__class__ is self.__class__:
        key = self.__record_key__
        same: bool = key(self) == key(other)
        return same
    return NotImplemented


def _hash(self: Any) -> int:
    return hash(self.__record_key__(self))


def _repr(self: Any) -> str:
    parts = ", ".join(f"{f.name}={getattr(self, f.name)!r}" for f in self.__record_fields__ if f.repr)
    return f"{self.__class__.__qualname__}({parts})"


def _frozen_setattr(self: Any, name: str, value: Any) -> None:
    raise FrozenInstanceError(f"cannot assign to field {name!r}")


def _frozen_delattr(self: Any, name: str) -> None:
    raise FrozenInstanceError(f"cannot delete field {name!r}")


def _reduce(self: Any) -> tuple[Any, ...]:
    return (self.__class__, tuple(getattr(self, f.name) for f in self.__record_fields__))


class _ClassOnly:
    """A lazily computed class attribute (computed once per class, on first access)."""

    def __init__(self, name: str, make: Callable[[type], Any]) -> None:
        self.name = name
        self.make = make

    def __get__(self, obj: Any, owner: type) -> Any:
        value = self.make(owner)
        type.__setattr__(owner, self.name, value)  # later lookups find the value itself
        return value


def _signature(cls: type) -> Any:
    """``inspect.Signature`` of the generated ``__init__``, without compiling it."""
    import inspect

    params = []
    for f in cls.__record_fields__:  # type: ignore[attr-defined]
        if f.default_factory is not MISSING:
            default: Any = _factory_marker(f.default_factory)
        elif f.default is not MISSING:
            default = f.default
        else:
            default = inspect.Parameter.empty
        annotation = inspect.Parameter.empty
        for base in cls.__mro__:
            own = inspect.get_annotations(base)
            if f.name in own:
                annotation = own[f.name]
                break
        params.append(inspect.Parameter(f.name, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=default,
                                        annotation=annotation))
    return inspect.Signature(params, return_annotation=None)


def _factory_marker(factory: Any) -> Any:
    """What ``dataclasses`` shows as the default of a field with a default factory."""
    import dataclasses

    marker: Any = dataclasses._HAS_DEFAULT_FACTORY  # type: ignore[attr-defined]
    return marker


def _dataclass_fields(cls: type) -> dict[str, Any]:
    """``__dataclass_fields__`` for :mod:`dataclasses` (``is_dataclass``, ``fields``,
    ``asdict``, ``replace``): real ``dataclasses.Field`` objects."""
    import dataclasses

    out: dict[str, Any] = {}
    import inspect  # only when a tool asks dataclasses about a record

    annotations: dict[str, Any] = {}
    for base in reversed(cls.__mro__):
        annotations.update(inspect.get_annotations(base))
    for f in cls.__record_fields__:  # type: ignore[attr-defined]
        kwargs: dict[str, Any] = {"repr": f.repr, "compare": f.compare}
        if f.default_factory is not MISSING:
            kwargs["default_factory"] = f.default_factory
        elif f.default is not MISSING:
            kwargs["default"] = f.default
        dc_field: Any = dataclasses.field(**kwargs)
        dc_field.name = f.name
        dc_field.type = annotations.get(f.name)
        dc_field._field_type = dataclasses._FIELD  # type: ignore[attr-defined]  # as dataclasses' own _get_field
        out[f.name] = dc_field
    return out


def _process(cls: type, frozen: bool, slots: bool, eq: bool, with_repr: bool) -> type:
    flds = _collect(cls)
    own = cls.__dict__
    if slots:
        inherited_slots = {s for base in cls.__mro__[1:] for s in getattr(base, "__slots__", ())}
        ns = {k: v for k, v in own.items() if k not in ("__dict__", "__weakref__")}
        for f in flds:
            ns.pop(f.name, None)
        ns["__slots__"] = tuple(f.name for f in flds if f.name not in inherited_slots)
        qualname = cls.__qualname__
        cls = type(cls)(cls.__name__, cls.__bases__, ns)
        cls.__qualname__ = qualname
    else:
        for f in flds:  # class attributes hold plain defaults, as with dataclasses
            if isinstance(own.get(f.name), Field):
                if f.default is MISSING:
                    delattr(cls, f.name)
                else:
                    setattr(cls, f.name, f.default)
    attrs: dict[str, Any] = {
        "__record_fields__": tuple(flds),
        "__record_key__": staticmethod(_key_getter(tuple(f.name for f in flds if f.compare))),
        "__match_args__": tuple(f.name for f in flds),
        "__reduce__": _reduce,
        "__signature__": _ClassOnly("__signature__", _signature),
        "__dataclass_fields__": _ClassOnly("__dataclass_fields__", _dataclass_fields),
    }
    if "__init__" not in own:
        attrs["__init__"] = _deferred_init(cls, flds, frozen)
    if with_repr and "__repr__" not in own:
        attrs["__repr__"] = _repr
    if eq and "__eq__" not in own:
        attrs["__eq__"] = _eq
        if "__hash__" not in own:
            attrs["__hash__"] = _hash if frozen else None
    if frozen:
        if "__setattr__" in own or "__delattr__" in own:
            raise TypeError(f"cannot overwrite __setattr__/__delattr__ of frozen record {cls.__name__}")
        attrs["__setattr__"] = _frozen_setattr
        attrs["__delattr__"] = _frozen_delattr
    for name, value in attrs.items():
        type.__setattr__(cls, name, value)
    return cls


@overload
def dataclass(cls: type[_T], /) -> type[_T]: ...
@overload
def dataclass(*, frozen: bool = ..., slots: bool = ..., eq: bool = ..., repr: bool = ...,
              order: bool = ...) -> Callable[[type[_T]], type[_T]]: ...


@dataclass_transform(field_specifiers=(field, Field))
def dataclass(cls: type[_T] | None = None, /, *, frozen: bool = False, slots: bool = False, eq: bool = True,
              repr: bool = True, order: bool = False) -> Any:
    """Make ``cls`` a record: like ``@dataclasses.dataclass`` with the same arguments."""
    if order:
        raise TypeError("order=True is not supported")

    def wrap(c: type[_T]) -> type[_T]:
        return _process(c, frozen, slots, eq, repr)

    return wrap if cls is None else wrap(cls)


def fields(obj_or_cls: Any) -> tuple[Field, ...]:
    """The fields of a record class or instance, in order."""
    try:
        result: tuple[Field, ...] = obj_or_cls.__record_fields__
    except AttributeError:
        raise TypeError(f"{obj_or_cls!r} is not a record") from None
    return result


def replace(obj: _T, /, **changes: Any) -> _T:
    """A copy of the record ``obj`` with some fields changed."""
    flds = fields(obj)
    unknown = set(changes) - {f.name for f in flds}
    if unknown:
        raise TypeError(f"{type(obj).__name__} has no field {sorted(unknown)[0]!r}")
    values = {f.name: changes[f.name] if f.name in changes else getattr(obj, f.name) for f in flds}
    new: _T = obj.__class__(**values)
    return new

