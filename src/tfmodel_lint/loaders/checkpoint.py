"""String-typed variable values from a SavedModel's checkpoint, read without TensorFlow.

A SavedModel keeps its variables in a *tensor bundle*: ``variables/variables.index``,
a LevelDB-style sorted table (SSTable) mapping checkpoint keys to serialized
``BundleEntryProto`` messages (the empty key holds the ``BundleHeaderProto``), and the
data shards ``variables/variables.data-NNNNN-of-MMMMM``. Only ``DT_STRING`` tensors are
read, by seeking to their ``offset`` in their shard and reading a bounded prefix, so
weights are never read and lint time does not depend on the size of the data files.

Layout of the index (LevelDB table format, as TensorFlow's ``core/lib/io/table``):

* the last 48 bytes are the footer: two ``BlockHandle`` (varint64 offset, varint64 size)
  for the metaindex and index blocks, zero padding, and the fixed64 magic number
  ``0xdb4775248b80fb57``;
* a block is a run of prefix-compressed entries (varint32 shared key bytes, varint32
  unshared key bytes, varint32 value length, key suffix, value), then the restart
  offsets (fixed32 each) and their count (fixed32); it is followed by a 5-byte trailer:
  the compression type (0: none, 1: snappy) and a masked crc32c;
* the index block maps a separator key to the ``BlockHandle`` of each data block.

Layout of a string tensor in a data shard (``WriteStringTensor`` in TensorFlow's
``tensor_bundle.cc``): the element lengths as varint64, a masked crc32c of the lengths
(each as a little-endian uint32, or uint64 above 2**32-1; 4 bytes), then the bytes of
every element, in order.

Bounds (:class:`BundleBounds`): at most ``max_tensor_bytes`` read per tensor to find
the lengths, ``max_elements`` elements per tensor, ``max_element_bytes`` bytes per
element, ``max_total_bytes`` read from data shards in all, ``max_string_tensors``
tensors, ``max_entries`` index entries and ``max_index_bytes`` of index. Whatever is
skipped because of a bound is said in a note. A malformed index raises
``ArtifactError(TFL902)``; a malformed tensor is skipped with a note.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from typing import Any

from google.protobuf.message import DecodeError

from tfmodel_lint._records import dataclass, field
from tfmodel_lint.errors import ArtifactError, LimitExceededError, Problem
from tfmodel_lint.findings import Location, Severity
from tfmodel_lint.ir import HOLE
from tfmodel_lint.limits import Limits
from tfmodel_lint.loaders import ArtifactProblem, LoadContext, Loaded
from tfmodel_lint.loaders.protowire import check_message
from tfmodel_lint.sources import Source
from tfmodel_lint.wireformat import varint

MALFORMED = Problem.MALFORMED

MiB = 1024 * 1024
TABLE_MAGIC = 0xDB4775248B80FB57
FOOTER_BYTES = 48
BLOCK_TRAILER_BYTES = 5
DT_STRING = 7
INDEX_NAME = "variables/variables.index"
#: The trackable object graph the checkpoint carries: a string, but no variable.
OBJECT_GRAPH_KEY = "_CHECKPOINTABLE_OBJECT_GRAPH"
VARIABLE_SUFFIX = "/.ATTRIBUTES/VARIABLE_VALUE"


@dataclass(frozen=True, slots=True)
class BundleBounds:
    """How much of a checkpoint the reader may look at."""

    max_index_bytes: int = 64 * MiB
    max_entries: int = 1_000_000
    max_block_bytes: int = 64 * MiB
    max_string_tensors: int = 4096
    max_tensor_bytes: int = 1 * MiB  # read to find one tensor's element lengths
    max_elements: int = 64
    max_element_bytes: int = 4096
    max_total_bytes: int = 32 * MiB  # read from data shards in all
    max_crc_elements: int = 4096  # verify the lengths checksum up to this many elements
    #: Largest offset reachable inside a *compressed* zip member (seeking there inflates
    #: everything before it); stored members, directories and tars seek directly.
    max_inflate_bytes: int = 64 * MiB


DEFAULT_BOUNDS = BundleBounds()


@dataclass
class BundleResult:
    """What was read: checkpoint key -> string values, plus notes on what was not."""

    values: dict[str, tuple[bytes, ...]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    entries: int = 0  # index entries seen (the header excluded)
    string_tensors: int = 0
    bytes_read: int = 0  # from the data shards
    num_shards: int = 0
    #: Problems worth a finding (a compressed block the reader cannot decode...).
    problems: list[str] = field(default_factory=list)
    #: A bound left something unread (see :meth:`limit`).
    limited: bool = False

    def note(self, text: str) -> None:
        if len(self.notes) < 50:
            self.notes.append(text)

    def limit(self, text: str) -> None:
        """A note about something a bound left unread."""
        self.limited = True
        self.note(text)


def _malformed(what: str) -> ArtifactError:
    return ArtifactError(MALFORMED, f"checkpoint index (tensor bundle): {what}")


# -- varints and crc32c ------------------------------------------------------------------


def _crc_table() -> tuple[int, ...]:
    table = []
    for n in range(256):
        c = n
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return tuple(table)


_CRC_TABLE = _crc_table()


def crc32c(data: bytes, crc: int = 0) -> int:
    """CRC-32C (Castagnoli), pure Python: used only on small buffers."""
    crc ^= 0xFFFFFFFF
    table = _CRC_TABLE
    for byte in data:
        crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def mask_crc(crc: int) -> int:
    return ((((crc >> 15) | (crc << 17)) & 0xFFFFFFFF) + 0xA282EAD8) & 0xFFFFFFFF


# -- the table (SSTable) -----------------------------------------------------------------


def _block_handle(data: bytes | memoryview, pos: int, limit: int) -> tuple[int, int, int]:
    offset, pos = varint(data, pos, limit)
    size, pos = varint(data, pos, limit)
    return offset, size, pos


def _block(index: bytes, offset: int, size: int, bounds: BundleBounds, result: BundleResult) -> memoryview | None:
    """The contents of one block, or None (with a note) when it cannot be read."""
    end = offset + size
    if offset < 0 or size < 4 or end + BLOCK_TRAILER_BYTES > len(index) - FOOTER_BYTES:
        raise _malformed(f"block handle ({offset}, {size}) outside the {len(index)}-byte file")
    if size > bounds.max_block_bytes:
        raise LimitExceededError("checkpoint_block_bytes", bounds.max_block_bytes, f"index block of {size} bytes")
    kind = index[end]
    if kind != 0:
        what = "snappy-compressed" if kind == 1 else f"compressed with unknown type {kind}"
        msg = f"index block at offset {offset} is {what}; TensorFlow writes index blocks uncompressed, not read"
        result.problems.append(msg)
        result.note(msg)
        return None
    return memoryview(index)[offset:end]


def _block_entries(block: memoryview, limit_entries: int) -> Iterator[tuple[bytes, memoryview]]:
    """Entries of one uncompressed block, keys reassembled from their shared prefixes."""
    n = len(block)
    (num_restarts,) = struct.unpack_from("<I", block, n - 4)
    restarts_at = n - 4 - 4 * num_restarts
    if num_restarts == 0 or restarts_at < 0:
        raise _malformed(f"block with {num_restarts} restart points in {n} bytes")
    pos = 0
    key = b""
    count = 0
    while pos < restarts_at:
        try:
            shared, pos = varint(block, pos, restarts_at, 32)
            unshared, pos = varint(block, pos, restarts_at, 32)
            vlen, pos = varint(block, pos, restarts_at, 32)
        except ValueError as exc:
            raise _malformed(f"bad entry header in a block: {exc}") from None
        if shared > len(key) or pos + unshared + vlen > restarts_at:
            raise _malformed("block entry runs past its block")
        key = key[:shared] + bytes(block[pos:pos + unshared])
        pos += unshared
        value = block[pos:pos + vlen]
        pos += vlen
        count += 1
        if count > limit_entries:
            raise LimitExceededError("checkpoint_entries", limit_entries, "too many entries in one index block")
        yield key, value


def table_entries(index: bytes, bounds: BundleBounds, result: BundleResult) -> Iterator[tuple[bytes, memoryview]]:
    """All (key, value) pairs of a LevelDB-format table held in ``index``."""
    if len(index) < FOOTER_BYTES:
        raise _malformed(f"{len(index)} bytes, shorter than the {FOOTER_BYTES}-byte footer (truncated?)")
    footer = len(index) - FOOTER_BYTES
    (magic,) = struct.unpack_from("<Q", index, len(index) - 8)
    if magic != TABLE_MAGIC:
        raise _malformed(f"bad table magic number {magic:#x} (truncated or not a tensor bundle)")
    try:
        _meta_off, _meta_size, pos = _block_handle(index, footer, len(index) - 8)
        idx_off, idx_size, _ = _block_handle(index, pos, len(index) - 8)
    except ValueError as exc:
        raise _malformed(f"bad footer: {exc}") from None
    if idx_off + idx_size + BLOCK_TRAILER_BYTES > footer:
        raise _malformed(f"index block ({idx_off}, {idx_size}) outside the file")
    index_block = _block(index, idx_off, idx_size, bounds, result)
    if index_block is None:
        return
    total = 0
    for _sep, handle in _block_entries(index_block, bounds.max_entries):
        try:
            off, size, _ = _block_handle(handle, 0, len(handle))
        except ValueError as exc:
            raise _malformed(f"bad data block handle: {exc}") from None
        if off + size + BLOCK_TRAILER_BYTES > footer:
            raise _malformed(f"data block ({off}, {size}) outside the file")
        block = _block(index, off, size, bounds, result)
        if block is None:
            continue
        for key, value in _block_entries(block, bounds.max_entries):
            total += 1
            if total > bounds.max_entries:
                result.limit(f"more than {bounds.max_entries} checkpoint entries; the rest not read")
                return
            yield key, value


# -- ranged reads from a Source ----------------------------------------------------------


class RangeError(Exception):
    """A byte range that cannot be read within the bounds (said in a note)."""


def read_range(source: Source, name: str, offset: int, size: int) -> bytes:
    """Up to ``size`` bytes at ``offset`` of a member, without reading the rest of it (a
    compressed zip member is inflated up to there, counted against the archive budget)."""
    if offset < 0 or size < 0:
        raise RangeError(f"negative range ({offset}, {size})")
    try:
        return source.read_range(name, offset, size)
    except ArtifactError as exc:
        raise RangeError(exc.message) from None
    except (OSError, OverflowError) as exc:
        raise RangeError(f"cannot read {name}: {getattr(exc, 'strerror', None) or exc}") from None


# -- string tensors ----------------------------------------------------------------------


def _num_elements(shape: Any) -> int | None:
    if shape.unknown_rank:
        return None
    n = 1
    for d in shape.dim:
        if d.size < 0:
            return None
        n *= d.size
        if n > 1 << 40:
            return None
    return n


def decode_string_tensor(
    data: bytes, n: int, bounds: BundleBounds, what: str, notes: list[str], fetch: Any = None
) -> tuple[bytes, ...]:
    """Elements of a string tensor whose serialized form starts with ``data``.

    ``data`` must hold all the lengths and the checksum; element bytes past its end are
    fetched with ``fetch(relative offset, size)`` when given, else left out.
    """
    end = _varints_end(data, n)
    if end is None:
        raise RangeError(f"{what}: the {n} element lengths do not fit in the first {len(data)} bytes")
    # Decode every length only when the checksum is verified; else the first few.
    wanted = n if n <= bounds.max_crc_elements else min(n, bounds.max_elements)
    lengths: list[int] = []
    pos = 0
    try:
        for _ in range(wanted):
            length, pos = varint(data, pos, end)
            lengths.append(length)
    except ValueError as exc:
        raise RangeError(f"{what}: bad element length: {exc}") from None
    pos = end
    if pos + 4 > len(data):
        raise RangeError(f"{what}: truncated before the lengths checksum")
    (stored,) = struct.unpack_from("<I", data, pos)
    if n <= bounds.max_crc_elements:
        packed = b"".join(struct.pack("<I", v) if v <= 0xFFFFFFFF else struct.pack("<Q", v) for v in lengths)
        if mask_crc(crc32c(packed)) != stored:
            notes.append(f"{what}: the checksum of the element lengths does not match "
                         "(TensorFlow would refuse to restore it); values shown anyway")
    start = pos + 4
    out: list[bytes] = []
    for k, length in enumerate(lengths[: bounds.max_elements]):
        take = min(length, bounds.max_element_bytes)
        if start + take <= len(data):
            piece = data[start:start + take]
        elif fetch is not None:
            piece = fetch(start, take)
        else:
            piece = data[start:start + take]
        if len(piece) < take:
            notes.append(f"{what}: element {k} is truncated")
            out.append(piece)
            break
        if length > take:  # cut at the bound: marked, so that the value is partly unknown, not shorter
            notes.append(f"{what}: element {k} is {length} bytes, only the first {take} read")
            piece += HOLE
        out.append(piece)
        start += length
    if n > bounds.max_elements:
        notes.append(f"{what}: {n} elements, only the first {bounds.max_elements} read")
    return tuple(out)


_LAST_BYTE = bytes(1 if b < 0x80 else 0 for b in range(256))


def _varints_end(data: bytes, n: int) -> int | None:
    """End of the first ``n`` varints of ``data`` (the n-th byte below 0x80), or None.

    Found by bisection over C-speed ``count`` calls, not byte by byte in Python."""
    if n <= 0:
        return 0
    marks = data.translate(_LAST_BYTE)
    if marks.count(1) < n:
        return None
    lo, hi = n, len(marks)  # the answer is the smallest e with marks[:e].count(1) == n
    while lo < hi:
        mid = (lo + hi) // 2
        if marks.count(1, 0, mid) >= n:
            hi = mid
        else:
            lo = mid + 1
    return lo


def _lengths_fit(data: bytes, n: int) -> bool:
    """Whether ``data`` holds ``n`` complete varints and the 4-byte checksum after them."""
    end = _varints_end(data, n)
    return end is not None and end + 4 <= len(data)


def _shard_name(prefix: str, shard: int, num_shards: int) -> str:
    return f"{prefix}.data-{shard:05d}-of-{num_shards:05d}"


def read_bundle(
    source: Source, limits: Limits, bounds: BundleBounds = DEFAULT_BOUNDS, prefix: str = "variables/variables"
) -> BundleResult:
    """Read the string-typed tensors of the tensor bundle ``prefix`` (``.index`` + shards).

    Raises ``ArtifactError(TFL902)`` when the index is malformed; returns partial
    results with notes when a tensor or a shard cannot be read or a bound is hit.
    """
    result = BundleResult()
    index_name = f"{prefix}.index"
    if not source.exists(index_name):
        return result
    size = source.size(index_name)
    cap = min(limits.max_file_bytes, bounds.max_index_bytes)
    if size > cap:
        result.limit(f"{index_name} is {size} bytes, more than {cap}; not read")
        return result
    index = source.read(index_name)
    if index.startswith(b"version https://git-lfs"):
        result.note(f"{index_name} is a Git LFS pointer; variables not read")
        return result
    from tfmodel_lint.proto import tfmodel_lint_pb2 as pb

    header_seen = False
    pending: list[_StringEntry] = []
    cap = limits.max_elements
    try:
        for raw_key, value in table_entries(index, bounds, result):
            if not raw_key:
                check_message(pb.BundleHeaderProto.DESCRIPTOR, value, cap, "the checkpoint header")
                header = pb.BundleHeaderProto()
                header.ParseFromString(bytes(value))
                header_seen = True
                result.num_shards = header.num_shards
                if header.endianness != 0:
                    result.note("bundle written on a big-endian machine")
                if header.version.min_consumer > 1:
                    result.note(f"bundle format version needs a consumer >= {header.version.min_consumer}")
                continue
            result.entries += 1
            check_message(pb.BundleEntryProto.DESCRIPTOR, value, cap, "a checkpoint index entry")
            entry = pb.BundleEntryProto()
            entry.ParseFromString(bytes(value))
            if entry.dtype != DT_STRING:
                continue
            key = raw_key.decode("utf-8", "backslashreplace")
            if key == OBJECT_GRAPH_KEY:
                continue
            # Only what reading the tensor needs is kept, never the entries themselves.
            pending.append(_StringEntry(key, len(entry.slices) > 0, _num_elements(entry.shape), entry.shard_id,
                                        entry.offset, entry.size))
    except DecodeError as exc:
        raise _malformed(f"an entry is not a valid protobuf: {exc}") from None
    except (ValueError, struct.error, RecursionError, OverflowError) as exc:
        raise _malformed(f"{type(exc).__name__}: {exc}") from None
    if not header_seen:
        raise _malformed("no header entry (the empty key)")
    num_shards = result.num_shards
    if num_shards <= 0:
        raise _malformed(f"header says {num_shards} data shards")
    for wanted in pending:
        if result.string_tensors >= bounds.max_string_tensors:
            result.limit(f"more than {bounds.max_string_tensors} string tensors; the rest not read")
            break
        if result.bytes_read >= bounds.max_total_bytes:
            result.limit(f"read {result.bytes_read} bytes of string tensors; the rest not read")
            break
        try:
            _read_one(source, prefix, wanted, num_shards, bounds, result)
        except LimitExceededError as exc:  # the archive's budget: keep what was read
            result.limit(f"{wanted.key!r} and the rest not read: {exc}")
            break
    return result


@dataclass(frozen=True, slots=True)
class _StringEntry:
    """What reading one string tensor needs from its index entry."""

    key: str
    sliced: bool
    elements: int | None
    shard_id: int
    offset: int
    size: int


def _read_one(
    source: Source, prefix: str, entry: _StringEntry, num_shards: int, bounds: BundleBounds, result: BundleResult
) -> None:
    key = entry.key
    if entry.sliced:
        result.note(f"{key!r}: a partitioned (sliced) string tensor; not read")
        return
    n = entry.elements
    if n is None:
        result.note(f"{key!r}: invalid shape")
        return
    result.string_tensors += 1
    if n == 0:
        result.values[key] = ()
        return
    if not 0 <= entry.shard_id < num_shards:
        result.note(f"{key!r}: shard {entry.shard_id} of {num_shards} does not exist")
        return
    if entry.offset < 0 or entry.size < 0 or entry.offset + entry.size > 1 << 62:
        result.note(f"{key!r}: invalid offset or size ({entry.offset}, {entry.size})")
        return
    shard = _shard_name(prefix, entry.shard_id, num_shards)
    if not source.exists(shard):
        result.note(f"{key!r}: data shard {shard} is missing")
        return
    notes: list[str] = []

    def fetch(rel: int, size: int) -> bytes:
        size = min(size, entry.size - rel, bounds.max_total_bytes - result.bytes_read)
        if size <= 0:
            return b""
        got = read_range(source, shard, entry.offset + rel, size)
        result.bytes_read += len(got)
        return got

    try:
        # The lengths come first: read a small head, and more only when they need it.
        cap = min(entry.size, bounds.max_tensor_bytes)
        want = min(cap, max(4096, 11 * min(n, bounds.max_elements) + 4 + bounds.max_elements * 64))
        head = fetch(0, want)
        while len(head) == want and want < cap and not _lengths_fit(head, n):
            want = min(cap, want * 8)
            head = fetch(0, want)
        if len(head) < want:
            notes.append(f"{key!r}: data shard {shard} is truncated (or the read budget is spent)")
        values = decode_string_tensor(head, n, bounds, repr(key), notes, fetch)
    except RangeError as exc:
        result.note(str(exc) if repr(key) in str(exc) else f"{key!r}: {exc}")
        return
    for text in notes:
        (result.limit if "only the first" in text else result.note)(text)
    result.values[key] = values


def read_string_variables(
    source: Source, limits: Limits, bounds: BundleBounds = DEFAULT_BOUNDS
) -> dict[str, tuple[bytes, ...]]:
    """Checkpoint key -> the values of every string-typed tensor of the SavedModel's
    ``variables/`` bundle (bounded; see the module docstring)."""
    return read_bundle(source, limits, bounds).values


def _problem(problem: Problem, message: str, key: str, severity: Severity | None = None) -> ArtifactProblem:
    return ArtifactProblem(problem, message, Location(member=INDEX_NAME), key, severity)


def variables_hook(source: Source, ctx: LoadContext, loaded: Loaded) -> None:
    """SavedModel hook: the string tensors of the checkpoint on every loaded model
    (``ModelIR.checkpoint_strings``); what could not be read is reported: values of
    string variables (paths among them) may be missing from the analysis."""
    if not loaded.models or not source.exists(INDEX_NAME):
        return
    try:
        result = read_bundle(source, ctx.limits)
    except ArtifactError as exc:
        loaded.problems.append(_problem(exc.problem, f"variables not read: {exc.message}", "checkpoint-index"))
        return
    except LimitExceededError as exc:
        loaded.problems.append(_problem(Problem.LIMIT, f"string variables not read: {exc}", "checkpoint-limit"))
        return
    for problem in result.problems[:3]:
        loaded.problems.append(_problem(Problem.MALFORMED, f"checkpoint: {problem}", f"checkpoint-block|{problem}",
                                        Severity.LOW))
    if result.notes:
        shown = "; ".join(result.notes[:3]) + (f"; {len(result.notes) - 3} more" if len(result.notes) > 3 else "")
        limited = result.limited
        loaded.problems.append(_problem(
            Problem.LIMIT if limited else Problem.MALFORMED,
            f"string variables partly read ({shown}): values of string variables may be missing from the analysis",
            "checkpoint-notes", None if limited else Severity.LOW))
    for model in loaded.models:
        model.checkpoint_strings = dict(result.values)


__all__ = [
    "DEFAULT_BOUNDS",
    "BundleBounds",
    "BundleResult",
    "RangeError",
    "crc32c",
    "decode_string_tensor",
    "mask_crc",
    "read_bundle",
    "read_range",
    "read_string_variables",
    "table_entries",
    "variables_hook",
]
