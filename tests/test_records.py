"""``tfmodel_lint._records`` behaves like the parts of ``dataclasses`` the project uses.

Each behaviour is checked side by side with a real ``dataclasses`` class of the same
shape, so the expectations come from the standard library, not from the code under test.
"""

from __future__ import annotations

import dataclasses
import pickle
from typing import ClassVar

import pytest

from tfmodel_lint import _records
from tfmodel_lint._records import FrozenInstanceError, dataclass, field, fields, replace


@dataclass(frozen=True, slots=True)
class Point:
    x: int
    y: int = 0
    tags: tuple[str, ...] = field(default_factory=tuple)
    note: str = field(default="", repr=False)
    LIMIT: ClassVar[int] = 3


@dataclasses.dataclass(frozen=True, slots=True)
class StdPoint:
    x: int
    y: int = 0
    tags: tuple[str, ...] = dataclasses.field(default_factory=tuple)
    note: str = dataclasses.field(default="", repr=False)
    LIMIT: ClassVar[int] = 3


@dataclass
class Mutable:
    items: list[int] = field(default_factory=list)
    count: int = 0


@dataclass(frozen=True)
class Base:
    a: int


@dataclass(frozen=True)
class Child(Base):
    b: str = "b"


@dataclass
class WithPostInit:
    value: int
    doubled: int = 0

    def __post_init__(self) -> None:
        self.doubled = self.value * 2


def test_init_defaults_and_factories_match_dataclasses() -> None:
    for args, kwargs in [((1,), {}), ((1, 2), {}), ((1,), {"tags": ("t",), "note": "n"}), ((), {"x": 5, "y": 6})]:
        ours, std = Point(*args, **kwargs), StdPoint(*args, **kwargs)
        assert [getattr(ours, f.name) for f in fields(ours)] == \
            [getattr(std, f.name) for f in dataclasses.fields(std)]
        assert repr(ours).replace("Point", "StdPoint", 1) == repr(std)
    assert Point.LIMIT == 3 and [f.name for f in fields(Point)] == ["x", "y", "tags", "note"]
    with pytest.raises(TypeError):
        Point()  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        Point(1, 2, (), "", 5)  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        Point(1, z=3)  # type: ignore[call-arg]


def test_factories_give_fresh_objects() -> None:
    a, b = Mutable(), Mutable()
    a.items.append(1)
    assert b.items == [] and a.items == [1]
    a.count = 2
    assert a.count == 2


def test_eq_and_hash() -> None:
    assert Point(1, 2) == Point(1, 2) and Point(1, 2) != Point(2, 1)
    assert hash(Point(1, 2, ("a",))) == hash(Point(1, 2, ("a",)))
    assert len({Point(1), Point(1), Point(2)}) == 2
    assert Point(1) != StdPoint(1)  # different classes never compare equal, as with dataclasses
    assert Point(1).__eq__(object()) is NotImplemented
    assert Mutable() == Mutable() and Mutable.__hash__ is None  # eq without frozen: unhashable
    with pytest.raises(TypeError):
        hash(Mutable())


def test_frozen() -> None:
    p = Point(1)
    with pytest.raises(FrozenInstanceError):
        p.x = 2  # type: ignore[misc]
    with pytest.raises(AttributeError):  # FrozenInstanceError is an AttributeError, as in dataclasses
        del p.y  # type: ignore[misc]
    assert not hasattr(p, "__dict__")  # slots
    assert Point.__slots__ == ("x", "y", "tags", "note")


def test_inheritance_and_post_init() -> None:
    c = Child(1)
    assert (c.a, c.b) == (1, "b") and [f.name for f in fields(Child)] == ["a", "b"]
    assert Child(1, "x") == Child(1, "x") and Child(1) != Base(1)
    assert repr(c) == "Child(a=1, b='b')"
    assert Base(1) == Base(1)
    assert WithPostInit(3).doubled == 6


def test_replace_and_fields() -> None:
    p = Point(1, 2, ("t",))
    q = replace(p, y=5)
    assert (q.x, q.y, q.tags) == (1, 5, ("t",)) and p.y == 2
    with pytest.raises(TypeError):
        replace(p, nope=1)
    with pytest.raises(TypeError):
        fields(object())
    assert fields(p) == fields(Point)


@pytest.mark.parametrize("obj", [Point(1, 2, ("a",), "n"), Child(3, "c"), Mutable([1], 2), WithPostInit(4)])
def test_pickle_round_trip(obj: object) -> None:
    """``-j`` sends findings between processes."""
    back = pickle.loads(pickle.dumps(obj))
    assert back == obj and type(back) is type(obj)


def test_rejects_what_it_does_not_support() -> None:
    with pytest.raises(TypeError):
        dataclass(order=True)(type("Ordered", (), {"__annotations__": {"a": "int"}}))
    with pytest.raises(ValueError, match="mutable default"):
        dataclass(type("Bad", (), {"__annotations__": {"a": "list[int]"}, "a": []}))
    with pytest.raises(TypeError, match="non-default argument"):
        dataclass(type("Order", (), {"__annotations__": {"a": "int", "b": "int"}, "a": 1}))
    with pytest.raises(ValueError):
        field(default=1, default_factory=list)


def test_init_is_compiled_on_first_use_only() -> None:
    @dataclass(frozen=True)
    class Lazy:
        a: int

    deferred = Lazy.__dict__["__init__"]
    assert deferred.__code__.co_filename == _records.__file__
    assert Lazy(1).a == 1
    assert Lazy.__dict__["__init__"] is not deferred
    assert Lazy.__dict__["__init__"].__code__.co_filename.startswith("<record ")
    assert Lazy(2).a == 2


# -- what introspection sees (plugin authors' tools: dataclasses, inspect) --------------


def _signature_text(cls: type) -> str:
    import inspect

    return str(inspect.signature(cls)).replace("dataclasses._HAS_DEFAULT_FACTORY", "<factory>")


def test_signature_is_that_of_the_dataclass_before_and_after_the_first_instance() -> None:
    @dataclass(frozen=True)
    class Fresh:
        x: int
        y: int = 0
        tags: tuple[str, ...] = field(default_factory=tuple)

    @dataclasses.dataclass(frozen=True)
    class StdFresh:
        x: int
        y: int = 0
        tags: tuple[str, ...] = dataclasses.field(default_factory=tuple)

    before = _signature_text(Fresh)
    assert before == _signature_text(StdFresh)
    Fresh(1)
    assert _signature_text(Fresh) == before


def test_records_are_dataclasses_to_the_dataclasses_module() -> None:
    p, s = Point(1, 2, ("a",)), StdPoint(1, 2, ("a",))
    assert dataclasses.is_dataclass(Point) and dataclasses.is_dataclass(p)
    assert [(f.name, f.repr, f.compare) for f in dataclasses.fields(Point)] == \
        [(f.name, f.repr, f.compare) for f in dataclasses.fields(StdPoint)]
    assert dataclasses.asdict(p) == dataclasses.asdict(s)
    assert dataclasses.astuple(p) == dataclasses.astuple(s)
    assert dataclasses.replace(p, y=5) == Point(1, 5, ("a",))


def test_public_plugin_types_are_dataclasses() -> None:
    """What a rule plugin receives and returns: introspectable like any dataclass."""
    from tfmodel_lint.findings import Finding, Issue, Location, RunResult
    from tfmodel_lint.rules.base import RuleContext

    for cls in (Issue, Location, Finding, RunResult, RuleContext):
        assert dataclasses.is_dataclass(cls), cls
        assert [f.name for f in dataclasses.fields(cls)] == [f.name for f in fields(cls)]
