"""Counting what a protobuf message will allocate, from its wire format, before it is parsed.

The protobuf runtime (upb) allocates for every element it decodes: 16 bytes a string,
8 a number (packed numbers: one byte each on the wire), a whole struct a message. A
file of empty strings or one-byte varints decodes to 8-16 times its size, of empty
messages to 25-70 times. ``max_elements`` bounds what one parse may decode; this module
counts it without allocating: the wire format is walked with the message's descriptor,
packed numbers are counted at C speed (a varint ends at each byte below 0x80), and the
walk stops as soon as the count passes the limit, so its cost is bounded by the limit.

What counts (the *elements* of the README's ``max-elements``): one for each field
occurrence (a value of a repeated field, a map entry, a singular field), one for each
packed number, and for a message element also one per field its type declares (a oneof
counts as one field), since upb lays out the whole struct for each: an empty ``Dim`` is
3, an empty ``OpDef.ArgDef`` 8. Content that does not parse stops the count (the parse
itself then fails at the same place, having decoded no more than was counted).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from tfmodel_lint.errors import LimitExceededError
from tfmodel_lint.limits import PROTOBUF_MAX_DEPTH
from tfmodel_lint.wireformat import WireError, varint

__all__ = [
    "UNITS_PER_BYTE",
    "Counter",
    "check_message",
    "count_field",
    "count_message",
    "count_text",
    "length_delimited",
    "max_weight",
    "may_exceed",
    "table_of",
    "weight",
]

#: Bytes of a packed field counted per C-level pass.
_PACKED_PIECE = 1 << 20
#: Deleting every byte >= 0x80 leaves one byte per varint (its last byte).
_HIGH = bytes(range(0x80, 0x100))

# Field kinds, by how their elements are counted.
_SCALAR, _MESSAGE, _VARINTS, _FIXED32, _FIXED64 = range(5)


def weight(desc: Any) -> int:
    """Fields a message type declares (a oneof counts once): what one element of it costs."""
    n = len(desc.fields)
    for oneof in desc.oneofs:
        n -= len(oneof.fields) - 1
    return max(n, 1)


def _repeated(field: Any) -> bool:
    """Whether a field is repeated, on every protobuf release (``is_repeated`` is new)."""
    repeated = getattr(field, "is_repeated", None)
    return repeated if isinstance(repeated, bool) else bool(field.label == field.LABEL_REPEATED)


class _Table:
    __slots__ = ("fields", "weight")

    def __init__(self, desc: Any) -> None:
        self.weight = weight(desc)
        self.fields: dict[int, tuple[int, Any]] = {}
        for f in desc.fields:
            kind = _SCALAR
            sub = None
            if f.message_type is not None:
                kind, sub = _MESSAGE, f.message_type
            elif _repeated(f) and f.type not in (f.TYPE_STRING, f.TYPE_BYTES):
                if f.type in (f.TYPE_FIXED32, f.TYPE_SFIXED32, f.TYPE_FLOAT):
                    kind = _FIXED32
                elif f.type in (f.TYPE_FIXED64, f.TYPE_SFIXED64, f.TYPE_DOUBLE):
                    kind = _FIXED64
                else:
                    kind = _VARINTS
            self.fields[f.number] = (kind, sub)


_TABLES: dict[str, _Table] = {}


def _table(desc: Any) -> _Table:
    table = _TABLES.get(desc.full_name)
    if table is None:
        table = _TABLES[desc.full_name] = _Table(desc)
    return table


def max_weight() -> int:
    """The largest :func:`weight` of any message type of the schema."""
    from tfmodel_lint.proto import tfmodel_lint_pb2 as pb

    best = 1
    stack = list(pb.DESCRIPTOR.message_types_by_name.values())
    while stack:
        desc = stack.pop()
        best = max(best, weight(desc))
        stack.extend(desc.nested_types)
    return best


#: Most elements one byte of wire format can count for: a message element takes two
#: bytes (tag, zero length) and counts one plus its type's weight, at most 13
#: (``TensorProto``); a test keeps this in step with the schema (:func:`max_weight`).
UNITS_PER_BYTE = 7


def may_exceed(size: int, cap: int) -> bool:
    """Whether ``size`` bytes of wire format can hold more than ``cap`` elements."""
    return size * UNITS_PER_BYTE > cap


#: The wire format does not parse here: counting ends (the parse will refuse it).
_Stop = WireError
_varint = varint


def _packed(view: memoryview, start: int, end: int, kind: int, room: int) -> int:
    """Numbers in a packed field, counted up to a little past ``room``."""
    size = end - start
    if kind == _FIXED32:
        return size // 4
    if kind == _FIXED64:
        return size // 8
    n = 0
    for piece in range(start, end, _PACKED_PIECE):
        n += len(bytes(view[piece:min(piece + _PACKED_PIECE, end)]).translate(None, _HIGH))
        if n > room:
            break
    return n


def _skip_group(view: memoryview, i: int, end: int, number: int, depth: int) -> int:
    """Past the end-group tag matching ``number`` (an unknown group: upb keeps its bytes)."""
    while True:
        tag, i = _varint(view, i, end)
        wire = tag & 7
        if wire == 4:
            if tag >> 3 != number:
                raise _Stop
            return i
        i = _skip_value(view, i, end, tag, depth)


def _skip_value(view: memoryview, i: int, end: int, tag: int, depth: int) -> int:
    wire = tag & 7
    if wire == 0:
        _, i = _varint(view, i, end)
    elif wire == 1:
        i += 8
    elif wire == 5:
        i += 4
    elif wire == 2:
        size, i = _varint(view, i, end)
        i += size
    elif wire == 3 and depth < PROTOBUF_MAX_DEPTH:
        i = _skip_group(view, i, end, tag >> 3, depth + 1)
    else:
        raise _Stop
    if i > end:
        raise _Stop
    return i


class Counter:
    """Counts elements against ``cap``; :meth:`add` raises past it, naming ``what``."""

    __slots__ = ("cap", "count", "what")

    def __init__(self, cap: int, what: str, count: int = 0) -> None:
        self.cap = cap
        self.what = what
        self.count = count

    def exceeded(self) -> LimitExceededError:
        return LimitExceededError("max_elements", self.cap,
                                  f"{self.what} holds more than {self.cap} protobuf elements")

    def message(self, desc: Any, view: memoryview, start: int, end: int, depth: int = 0) -> None:
        """Count the fields of a serialized ``desc`` message in ``view[start:end]``."""
        try:
            self._walk(_table(desc), view, start, end, depth)
        except _Stop:
            return

    def _walk(self, table: _Table, view: memoryview, i: int, end: int, depth: int) -> None:
        fields = table.fields
        cap = self.cap
        last = run = 0
        while i < end:
            start = i
            before = self.count
            tag = view[i]
            if tag < 0x80:
                i += 1
            else:
                tag, i = _varint(view, i, end)
            if tag == last:
                run += 1
            else:
                last, run = tag, 0
            wire = tag & 7
            if wire != 2:
                self.count += 1
                i = _skip_value(view, i, end, tag, depth)
            else:
                size = view[i] if i < end else 0x80
                if size < 0x80:
                    i += 1
                else:
                    size, i = _varint(view, i, end)
                stop = i + size
                if stop > end:
                    raise _Stop
                kind, sub = fields.get(tag >> 3, (_SCALAR, None))
                if kind == _MESSAGE:
                    table_sub = _table(sub)
                    self.count += 1 + table_sub.weight
                    if self.count > cap:
                        raise self.exceeded()
                    if size and depth < PROTOBUF_MAX_DEPTH:
                        self._walk(table_sub, view, i, stop, depth + 1)
                elif kind == _SCALAR:
                    self.count += 1
                else:
                    self.count += _packed(view, i, stop, kind, cap - self.count)
                i = stop
            if self.count > cap:
                raise self.exceeded()
            if run & 1023 == 1:
                # A run of one field: copies of the same bytes count the same, so a
                # stretch of identical elements is measured with C-speed comparisons.
                each = self.count - before
                copies = _copies(view, start, i - start, end, (cap - self.count) // max(each, 1) + 1)
                self.count += copies * each
                i += copies * (i - start)
                if self.count > cap:
                    raise self.exceeded()


def _copies(view: memoryview, start: int, size: int, end: int, most: int) -> int:
    """How many copies of ``view[start:start + size]`` follow it (at most ``most``)."""
    room = min(most, (end - start) // size - 1) if size else 0
    if room < 1 or view[start + size:start + 2 * size] != view[start:start + size]:
        return 0

    def repeats(k: int) -> bool:  # view[start:start + size * (k + 1)] has period ``size``
        return view[start + size:start + size * (k + 1)] == view[start:start + size * k]

    good = 1
    while good < room:
        step = min(2 * good, room)
        if not repeats(step):
            bad = step
            break
        good = step
    else:
        return good
    while bad - good > 1:
        mid = (good + bad) // 2
        if repeats(mid):
            good = mid
        else:
            bad = mid
    return good


def table_of(desc: Any) -> _Table:
    """The counting table of a message type (cached)."""
    return _table(desc)


def count_field(counter: Counter, table: _Table, number: int, view: memoryview, start: int, end: int) -> None:
    """Count one length-delimited field ``number`` of a ``table`` message whose content
    is ``view[start:end]``, as a parse that merges it would decode it."""
    kind, sub = table.fields.get(number, (_SCALAR, None))
    if kind == _MESSAGE:
        inner = _table(sub)
        counter.count += 1 + inner.weight
        if counter.count > counter.cap:
            raise counter.exceeded()
        if end > start:
            try:
                counter._walk(inner, view, start, end, 1)
            except _Stop:
                return
    elif kind == _SCALAR:
        counter.count += 1
    else:
        counter.count += _packed(view, start, end, kind, counter.cap - counter.count)
    if counter.count > counter.cap:
        raise counter.exceeded()


def count_message(desc: Any, data: bytes | memoryview, cap: int, what: str, start: int = 0,
                  end: int | None = None) -> int:
    """Elements of the serialized ``desc`` message ``data[start:end]``; raises
    :class:`LimitExceededError` (``max_elements``) as soon as they pass ``cap``."""
    counter = Counter(cap, what)
    view = data if isinstance(data, memoryview) else memoryview(data)
    try:
        counter.message(desc, view, start, len(view) if end is None else end)
    finally:
        if view is not data:
            view.release()
    return counter.count


def check_message(desc: Any, data: bytes | memoryview, cap: int, what: str) -> None:
    """Refuse ``data`` before it is parsed as one ``desc`` message if it decodes to more
    than ``cap`` elements; free for data too small to (see :func:`may_exceed`)."""
    if may_exceed(len(data), cap):
        count_message(desc, data, cap, what)


def length_delimited(data: bytes, number: int) -> Iterator[bytes]:
    """The payloads of the length-delimited fields ``number`` at the top of a serialized
    message (no Python object per other field; what does not parse ends the walk)."""
    view = memoryview(data)
    i, end = 0, len(view)
    try:
        while i < end:
            tag, i = _varint(view, i, end)
            if tag == number << 3 | 2:
                size, i = _varint(view, i, end)
                if i + size > end:
                    return
                yield bytes(view[i:i + size])
                i += size
            else:
                i = _skip_value(view, i, end, tag, 0)
    except _Stop:
        return
    finally:
        view.release()


def count_text(data: bytes, cap: int, what: str) -> int:
    """Elements of a text-format protobuf, counted by their separators (every value is
    introduced by ``:`` or ``,``, every message by ``{`` or ``<``; separators inside
    string literals count too, so this is an upper bound); raises past ``cap``."""
    n = sum(data.count(sep) for sep in (b":", b",", b"{", b"<"))
    if n > cap:
        raise LimitExceededError("max_elements", cap, f"{what} holds up to {n} protobuf elements")
    return n
