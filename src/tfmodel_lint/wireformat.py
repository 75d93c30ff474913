"""The protobuf wire format's one primitive every reader here needs: a varint.

A leaf module, shared by format sniffing, the streamed parse, the element counter, the
nesting-depth walker and the checkpoint (LevelDB table) reader, so that one decoder,
bounded in length, reads every varint from hostile bytes.
"""

from __future__ import annotations


class WireError(ValueError):
    """Truncated or over-long wire data."""


def varint(data: bytes | memoryview, i: int, end: int, bits: int = 64) -> tuple[int, int]:
    """The varint at ``data[i]`` (not past ``end``): (value, position after it). At most
    ``bits`` bits: a longer one (ten bytes of 0xff...) is a :class:`WireError`, as is a
    varint cut off by ``end``."""
    value = shift = 0
    while i < end:
        byte = data[i]
        i += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            if value >> bits:
                raise WireError("varint overflows")
            return value, i
        shift += 7
        if shift >= bits + 7:
            raise WireError("varint too long")
    raise WireError("truncated varint")
