"""String ops beyond the basics: splitting (with the ragged index ops that rebuild
strings from the pieces), Unicode decoding, encoding and transcoding, segment joins,
decompression and serialized tensors. Registered into the interpreter's handler tables
(:mod:`tfmodel_lint.analysis.values` imports this module).

Every string-producing op of TensorFlow's registry that is not modelled here or in
``values`` gives the reason ``from <op> output``: it is named, never silent.
"""

from __future__ import annotations

import itertools
import zlib
from collections.abc import Iterable
from typing import TYPE_CHECKING

from tfmodel_lint.analysis import numeric
from tfmodel_lint.analysis.numeric import Num
from tfmodel_lint.analysis.valueset import (
    HOLE,
    MAX_LEN,
    Unknown,
    Value,
    attr_s,
    clip,
    const_value,
    handles,
    join_clipped,
    loose,
    make,
    merge_unknowns,
    numeric_output,
    output_index,
    unknown,
)
from tfmodel_lint.ir import STRING_DTYPE

if TYPE_CHECKING:
    from tfmodel_lint.analysis.values import Evaluator, Frame
    from tfmodel_lint.ir import Edge, Function
    from tfmodel_lint.proto.tfmodel_lint_pb2 import NodeDef

_WHITESPACE = b" \t\n\r\x0b\x0c"


# -- splitting ---------------------------------------------------------------------------


def split_v1(text: bytes, delimiter: bytes, skip_empty: bool) -> list[bytes]:
    """``StringSplit``: any byte of ``delimiter`` splits; an empty one splits into bytes."""
    if not delimiter:
        return [text[i:i + 1] for i in range(len(text))]
    pieces: list[bytes] = []
    start = 0
    for i, b in enumerate(text):
        if b in delimiter:
            pieces.append(text[start:i])
            start = i + 1
    pieces.append(text[start:])
    return [p for p in pieces if p] if skip_empty else pieces


def split_v2(text: bytes, sep: bytes, maxsplit: int) -> list[bytes]:
    """``StringSplitV2``: Python's ``bytes.split(sep, maxsplit)``; with an empty ``sep``,
    runs of ASCII whitespace split, leading ones skipped, and after ``maxsplit`` tokens
    the rest (its leading whitespace skipped, even to nothing) is the last token."""
    if sep:
        return text.split(sep, maxsplit if maxsplit >= 0 else -1)
    if maxsplit == 0:
        return [text]
    out: list[bytes] = []
    n = len(text)

    def skip(p: int) -> int:
        while p < n and text[p] in _WHITESPACE:
            p += 1
        return p

    p = skip(0)
    while p < n:
        q = p
        while q < n and text[q] not in _WHITESPACE:
            q += 1
        out.append(text[p:q])
        p = skip(q)
        if 0 < maxsplit == len(out):
            out.append(text[p:])
            break
    return out


def _split(ev: Evaluator, func: Function, nd: NodeDef, frame: Frame | None,
           depth: int) -> tuple[list[list[bytes]] | None, Value]:
    """The tokens of each row when the input is known exactly (else None), and the
    tokens as a value."""
    data = ev.string(func.input_edge(nd, 0), frame, depth + 1)
    sep = ev.string(func.input_edge(nd, 1), frame, depth + 1)
    if not (sep.fully_known and len(sep.items) == 1):
        why = Unknown("op_output", f"{nd.op} with a computed separator")
        return None, loose(data, *sep.unknowns, why)
    if nd.op == "StringSplit":
        skip = nd.attr["skip_empty"].b if "skip_empty" in nd.attr else True
        rows = [split_v1(s, sep.items[0], skip) if HOLE not in s else [s] for s in data.items]
    else:
        maxsplit = nd.attr["maxsplit"].i if "maxsplit" in nd.attr else -1
        rows = [split_v2(s, sep.items[0], maxsplit) if HOLE not in s else [s] for s in data.items]
    if not data.exact or not data.fully_known:
        return None, make((t for row in rows for t in row), False, data.unknowns)
    return rows, make((t for row in rows for t in row), True, data.unknowns)


@handles("StringSplit", "StringSplitV2")
def _split_values(ev: Evaluator, func: Function, nd: NodeDef, edge: Edge, frame: Frame | None, depth: int) -> Value:
    if output_index(edge) != 1:
        return unknown("op_output", f"{nd.op} indices")
    return _split(ev, func, nd, frame, depth)[1]


@numeric_output("StringSplit", "StringSplitV2")
def _split_numbers(ev: Evaluator, func: Function, nd: NodeDef, edge: Edge, frame: Frame | None,
                   depth: int) -> Num | None:
    rows, _ = _split(ev, func, nd, frame, depth)
    if rows is None:
        return None
    out = output_index(edge)
    if out == 0:  # indices: [row, position] of each token
        flat = [v for r, row in enumerate(rows) for k in range(len(row)) for v in (r, k)]
        return numeric.make((len(flat) // 2, 2), flat)
    if out == 2:  # dense shape
        return numeric.vector([len(rows), max((len(row) for row in rows), default=0)])
    return None


# -- Unicode -----------------------------------------------------------------------------

_CODECS = {
    "UTF-8": "utf-8", "UTF8": "utf-8", "UTF-16-BE": "utf-16-be", "UTF-16BE": "utf-16-be",
    "UTF-16-LE": "utf-16-le", "UTF-16LE": "utf-16-le", "UTF-32-BE": "utf-32-be", "UTF-32BE": "utf-32-be",
    "UTF-32-LE": "utf-32-le", "UTF-32LE": "utf-32-le", "US-ASCII": "ascii", "ASCII": "ascii",
    "ISO-8859-1": "latin-1", "LATIN1": "latin-1",
}
_OUTPUT_CODECS = {"UTF-8": "utf-8", "UTF-16-BE": "utf-16-be", "UTF-32-BE": "utf-32-be"}


class _Refused(Exception):
    """The op fails at run time (errors='strict' on bad input, an unknown encoding)."""


def decode(text: bytes, encoding: str, errors: str, replacement: int, control: bool) -> list[int]:
    codec = _CODECS.get(encoding.upper())
    if codec is None:
        raise _Refused(f"input encoding {encoding!r}")
    mode = {"strict": "strict", "ignore": "ignore"}.get(errors, "replace")
    try:
        decoded = text.decode(codec, mode)
    except UnicodeDecodeError:
        raise _Refused("invalid input with errors='strict'") from None
    out = []
    for ch in decoded:
        cp = ord(ch)
        if cp == 0xFFFD and mode == "replace":
            cp = replacement
        if control and cp < 0x20:
            cp = replacement
        out.append(cp)
    return out


def encode(codepoints: Iterable[int], encoding: str, errors: str, replacement: int) -> bytes:
    codec = _OUTPUT_CODECS.get(encoding)
    if codec is None:
        raise _Refused(f"output encoding {encoding!r}")
    chars = []
    for cp in codepoints:
        if 0 <= cp <= 0x10FFFF and not 0xD800 <= cp <= 0xDFFF:
            chars.append(chr(cp))
        elif errors == "ignore":
            continue
        elif errors == "strict":
            raise _Refused("invalid code point with errors='strict'")
        else:
            chars.append(chr(replacement))
    return "".join(chars).encode(codec)


def _decode_args(nd: NodeDef) -> tuple[str, str, int, bool]:
    return (attr_s(nd, "input_encoding", b"UTF-8").decode("ascii", "replace"),
            attr_s(nd, "errors", b"replace").decode("ascii", "replace"),
            nd.attr["replacement_char"].i if "replacement_char" in nd.attr else 0xFFFD,
            nd.attr["replace_control_characters"].b if "replace_control_characters" in nd.attr else False)


@numeric_output("UnicodeDecode", "UnicodeDecodeWithOffsets")
def _unicode_decode(ev: Evaluator, func: Function, nd: NodeDef, edge: Edge, frame: Frame | None,
                    depth: int) -> Num | None:
    data = ev.string(func.input_edge(nd, 0), frame, depth + 1)
    out = output_index(edge)
    if not data.exact or not data.fully_known or out > 1:
        return None
    encoding, errors, replacement, control = _decode_args(nd)
    try:
        rows = [decode(s, encoding, errors, replacement, control) for s in data.items]
    except _Refused:
        return None
    if out == 0:
        splits = [0]
        for row in rows:
            splits.append(splits[-1] + len(row))
        return numeric.vector(splits)
    return numeric.vector([cp for row in rows for cp in row])


@handles("UnicodeEncode")
def _unicode_encode(ev: Evaluator, func: Function, nd: NodeDef, edge: Edge, frame: Frame | None, depth: int) -> Value:
    values = ev.number(func.input_edge(nd, 0), frame, depth + 1)
    splits = ev.number(func.input_edge(nd, 1), frame, depth + 1)
    cps, bounds = (values.ints() if values is not None else None), (splits.ints() if splits is not None else None)
    if cps is None or bounds is None or len(bounds) < 1:
        return unknown("op_output", f"{nd.op} of code points not known exactly")
    encoding = attr_s(nd, "output_encoding", b"UTF-8").decode("ascii", "replace")
    errors = attr_s(nd, "errors", b"replace").decode("ascii", "replace")
    replacement = nd.attr["replacement_char"].i if "replacement_char" in nd.attr else 0xFFFD
    try:
        rows = [encode(cps[a:b], encoding, errors, replacement) for a, b in itertools.pairwise(bounds)]
    except (_Refused, ValueError):
        return unknown("op_output", f"{nd.op} (the op fails on these code points)")
    return make(rows, True)


@handles("UnicodeTranscode")
def _unicode_transcode(ev: Evaluator, func: Function, nd: NodeDef, edge: Edge, frame: Frame | None,
                       depth: int) -> Value:
    data = ev.string(func.input_edge(nd, 0), frame, depth + 1)
    encoding, errors, replacement, control = _decode_args(nd)
    output = attr_s(nd, "output_encoding", b"UTF-8").decode("ascii", "replace")

    def convert(s: bytes) -> bytes:
        if HOLE in s:
            return HOLE
        return clip(encode(decode(s, encoding, errors, replacement, control), output, errors, replacement))

    try:
        return make((convert(s) for s in data.items), data.exact, data.unknowns)
    except (_Refused, ValueError) as exc:
        return Value((), False, merge_unknowns(data.unknowns, (Unknown("op_output", f"{nd.op} ({exc})"),)))


# -- joins, decompression, serialized tensors --------------------------------------------


@handles("UnsortedSegmentJoin")
def _segment_join(ev: Evaluator, func: Function, nd: NodeDef, edge: Edge, frame: Frame | None, depth: int) -> Value:
    data = ev.string(func.input_edge(nd, 0), frame, depth + 1)
    ids = ev.ints(func.input_edge(nd, 1), frame, depth + 1)
    count = ev.ints(func.input_edge(nd, 2), frame, depth + 1)
    sep = attr_s(nd, "separator")
    if not data.exact or ids is None or count is None or len(count) != 1 or len(ids) != len(data.items):
        why = Unknown("op_output", f"{nd.op} of segments not known exactly")
        return loose(data, why)
    segments: list[list[bytes]] = [[] for _ in range(max(0, min(count[0], MAX_LEN)))]
    for item, seg in zip(data.items, ids, strict=True):
        if 0 <= seg < len(segments):
            segments[seg].append(item)
    return make((join_clipped(parts, sep) for parts in segments), True, data.unknowns)


@handles("DecodeCompressed")
def _decompress(ev: Evaluator, func: Function, nd: NodeDef, edge: Edge, frame: Frame | None, depth: int) -> Value:
    data = ev.string(func.input_edge(nd, 0), frame, depth + 1)
    kind = attr_s(nd, "compression_type")
    if not kind:
        return data
    wbits = {b"ZLIB": 15, b"GZIP": 31}.get(kind)
    if wbits is None:
        return Value((), False, (Unknown("op_output", f"{nd.op} ({kind!r})"),))

    def inflate(s: bytes) -> bytes:
        if HOLE in s:
            return HOLE
        try:
            out = zlib.decompressobj(wbits).decompress(s, MAX_LEN + 1)  # bounded output
        except zlib.error:
            return HOLE
        return clip(out)

    return make((inflate(s) for s in data.items), data.exact, data.unknowns)


@handles("ParseTensor")
def _parse_tensor(ev: Evaluator, func: Function, nd: NodeDef, edge: Edge, frame: Frame | None, depth: int) -> Value:
    from google.protobuf.message import DecodeError

    from tfmodel_lint.proto.tfmodel_lint_pb2 import TensorProto

    data = ev.string(func.input_edge(nd, 0), frame, depth + 1)
    if not data.fully_known:
        return unknown("op_output", f"{nd.op} of a serialized tensor not known")
    values = []
    for s in data.items:
        try:
            t = TensorProto.FromString(s)
        except (DecodeError, RecursionError, ValueError):
            return unknown("op_output", f"{nd.op} (not a TensorProto)")
        if t.dtype != STRING_DTYPE:
            return unknown("op_output", f"{nd.op} of a non-string tensor")
        values.append(const_value(t))
    if len(values) == 1:
        return values[0]
    return make((i for v in values for i in v.items), False, merge_unknowns(*(v.unknowns for v in values)))
