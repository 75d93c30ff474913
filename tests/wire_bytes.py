"""Raw protobuf wire-format bytes for tests about malformed and hostile input (where the
point is bytes the schema's builders would not write): varints, length-delimited fields,
NodeDefs, string constants, a ReadFile('/etc/passwd') GraphDef, deep attr nesting."""

from __future__ import annotations


def varint(n: int) -> bytes:
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def field(num: int, payload: bytes) -> bytes:
    return varint(num << 3 | 2) + varint(len(payload)) + payload


def node(name: bytes, op: bytes, inputs: tuple[bytes, ...] = (), attrs: bytes = b"") -> bytes:
    return field(1, name) + field(2, op) + b"".join(field(3, i) for i in inputs) + attrs


def str_attr(key: bytes, value: bytes) -> bytes:
    # NodeDef.attr map entry: key=1, value=2 (AttrValue.s = 2)
    return field(5, field(1, key) + field(2, field(2, value)))


def const_string(name: bytes, value: bytes) -> bytes:
    tensor = varint(1 << 3) + varint(7) + field(8, value)  # dtype DT_STRING, string_val
    return node(name, b"Const", attrs=field(5, field(1, b"value") + field(2, field(8, tensor))))


def reader_graphdef() -> bytes:
    """A frozen GraphDef: ReadFile('/etc/passwd')."""
    return field(1, const_string(b"fname", b"/etc/passwd")) + field(1, node(b"read", b"ReadFile", (b"fname",)))


def deep_attr(levels: int) -> bytes:
    """AttrValue.func -> NameAttrList.attr -> AttrValue ... nested ``levels`` times."""
    inner = b""
    for _ in range(levels):
        entry = field(1, b"a") + field(2, inner)
        inner = field(10, field(2, entry))
    return inner
