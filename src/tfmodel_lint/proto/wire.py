"""The protobuf nesting limit, alike on every protobuf runtime.

upb (every protobuf release) and the pure-Python backend from protobuf 7 refuse
messages nested deeper than :data:`~tfmodel_lint.limits.PROTOBUF_MAX_DEPTH`, but only
upb from protobuf 7 names the reason in its error ("upb_DecodeOptions_MaxDepth"); the
others raise a bare "Error parsing message" or "too many levels of nesting". The
pure-Python backend before protobuf 7 has no limit: it parses deeper messages, up to
the interpreter's recursion limit. So that a model gets the same report on every
runtime, :func:`tfmodel_lint.proto.too_deep` tells a nesting error from other parse
errors and :func:`tfmodel_lint.proto.deeper_than_runtime_limit` finds, on a runtime
without the limit, a message the others would have refused, both by walking the wire
format with the message's descriptor (here): the first only after a parse failed, the
second only on a runtime without the limit.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from tfmodel_lint.limits import PROTOBUF_MAX_DEPTH
from tfmodel_lint.wireformat import WireError, varint

if TYPE_CHECKING:  # (no Protocol classes to build at run time)
    from collections.abc import Mapping
    from typing import Protocol

    from google.protobuf.message import Message

    class Descriptor(Protocol):
        """A message descriptor, of any backend (``Message.DESCRIPTOR``)."""

        @property
        def fields_by_number(self) -> Mapping[int, FieldDescriptor]: ...

    class FieldDescriptor(Protocol):
        @property
        def message_type(self) -> Descriptor | None: ...


def nesting_depth(descriptor: Descriptor, data: bytes | memoryview, stop: int) -> int:
    """How deep submessages nest in the binary message ``data`` of type ``descriptor``,
    counted as upb counts (the top message is 0, a map entry is a message), at most
    ``stop``: the walk ends there. The walk also ends, with the depth seen so far, at
    the first byte that is not valid wire format (groups included: the schema has none).
    Time is linear in ``len(data)``, memory bounded by ``stop``."""
    view = memoryview(data)
    fields: Mapping[int, FieldDescriptor] = descriptor.fields_by_number
    i, end = 0, len(view)
    resume: list[tuple[Mapping[int, FieldDescriptor], int, int]] = []  # the enclosing messages
    deepest = 0
    while True:
        if i >= end:
            if not resume:
                return deepest
            fields, i, end = resume.pop()
            continue
        key, i = _varint(view, i, end)
        wire = key & 7
        if wire == 0:
            _, i = _varint(view, i, end)
        elif wire == 1:
            i += 8
        elif wire == 5:
            i += 4
        elif wire == 2:
            size, i = _varint(view, i, end)
            if size < 0 or i + size > end:
                return deepest
            field = fields.get(key >> 3)
            if field is not None and field.message_type is not None:
                resume.append((fields, i + size, end))
                deepest = max(deepest, len(resume))
                if deepest >= stop:
                    return deepest
                fields, end = field.message_type.fields_by_number, i + size
                continue
            i += size
        else:
            return deepest
        if i > end:
            return deepest


def _varint(view: memoryview, i: int, end: int) -> tuple[int, int]:
    try:
        return varint(view, i, end)
    except WireError:
        return -1, end + 1  # truncated or overlong: ends the walk


def nested_too_deep(descriptor: Descriptor, data: bytes | memoryview) -> bool:
    """Whether ``data`` (a message of type ``descriptor``) nests deeper than
    :data:`~tfmodel_lint.limits.PROTOBUF_MAX_DEPTH`."""
    return nesting_depth(descriptor, data, PROTOBUF_MAX_DEPTH + 1) > PROTOBUF_MAX_DEPTH


@functools.cache
def runtime_limits_depth(attr_value: type[Message]) -> bool:
    """Whether the protobuf runtime refuses a message nested one level deeper than
    :data:`~tfmodel_lint.limits.PROTOBUF_MAX_DEPTH` (tried once per process, with the
    schema's ``AttrValue`` class)."""
    from google.protobuf.message import DecodeError

    try:
        attr_value.FromString(probe_too_deep())
    except (DecodeError, RecursionError):
        return True
    return False


def probe_too_deep() -> bytes:
    """An ``AttrValue`` nested exactly ``PROTOBUF_MAX_DEPTH + 1`` levels deep: each
    ``func`` (NameAttrList) -> ``attr`` (map entry) -> ``value`` (AttrValue) adds
    three levels, a ``shape`` (TensorShapeProto) one and its ``dim`` one more."""
    steps, rest = divmod(PROTOBUF_MAX_DEPTH + 1, 3)
    data = (b"", _field(7, b""), _field(7, _field(2, b"")))[rest]
    for _ in range(steps):
        data = _field(10, _field(2, _field(1, b"a") + _field(2, data)))
    return data


def _field(number: int, payload: bytes) -> bytes:
    return _encode_varint(number << 3 | 2) + _encode_varint(len(payload)) + payload


def _encode_varint(value: int) -> bytes:
    out = bytearray()
    while value > 0x7F:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)
