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

import posixpath
import struct
import zlib
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from google.protobuf.message import DecodeError

from tfmodel_lint._records import dataclass, field
from tfmodel_lint.analysis.values import HOLE
from tfmodel_lint.findings import Issue, Location, Severity
from tfmodel_lint.limits import LimitExceededError, Limits
from tfmodel_lint.loaders import MALFORMED, ArtifactError, Loaded
from tfmodel_lint.sources import DirSource, Source, TarSource, ZipSource, tar_member_name

if TYPE_CHECKING:
    import tarfile

    from tfmodel_lint.ir import Function, ModelIR
    from tfmodel_lint.proto.tfmodel_lint_pb2 import NodeDef

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

    def note(self, text: str) -> None:
        if len(self.notes) < 50:
            self.notes.append(text)


def _malformed(what: str) -> ArtifactError:
    return ArtifactError(MALFORMED, f"checkpoint index (tensor bundle): {what}")


# -- varints and crc32c ------------------------------------------------------------------


def varint(data: bytes | memoryview, pos: int, limit: int, bits: int = 64) -> tuple[int, int]:
    """Decode a varint at ``pos`` (not past ``limit``); returns (value, next position)."""
    result = 0
    shift = 0
    while pos < limit:
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            if result >> bits:
                raise ValueError("varint overflows")
            return result, pos
        shift += 7
        if shift >= bits + 7:
            raise ValueError("varint too long")
    raise ValueError("truncated varint")


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
                result.note(f"more than {bounds.max_entries} checkpoint entries; the rest not read")
                return
            yield key, value


# -- ranged reads from a Source ----------------------------------------------------------


class RangeError(Exception):
    """A byte range that cannot be read within the bounds (said in a note)."""


class RangeReader:
    """Reads byte ranges of a source's members without reading the rest of them."""

    def __init__(self, source: Source, bounds: BundleBounds = DEFAULT_BOUNDS) -> None:
        self.source = source
        self.bounds = bounds
        self._tar: dict[str, tarfile.TarInfo] | None = None
        self._checked: set[str] = set()

    def read(self, name: str, offset: int, size: int) -> bytes:
        """Up to ``size`` bytes at ``offset`` of member ``name`` (fewer at its end)."""
        if offset < 0 or size < 0:
            raise RangeError(f"negative range ({offset}, {size})")
        source = self.source
        if isinstance(source, DirSource):
            return self._read_dir(source, name, offset, size)
        if isinstance(source, ZipSource):
            return self._read_zip(source, name, offset, size)
        if isinstance(source, TarSource):
            return self._read_tar(source, name, offset, size)
        total = source.size(name)  # any other source: whole member, when small enough
        if total > self.bounds.max_inflate_bytes:
            raise RangeError(f"{name} ({total} bytes) cannot be read partially from this source")
        return source.read(name)[offset:offset + size]

    def _read_dir(self, source: DirSource, name: str, offset: int, size: int) -> bytes:
        path = source.root.joinpath(*name.split("/"))
        if name not in self._checked:
            if not source.member_inside(name):
                raise RangeError(f"{name} is a symlink pointing outside the model directory; not read")
            self._checked.add(name)
        try:
            with path.open("rb") as fh:
                fh.seek(offset)
                return fh.read(size)
        except (OSError, OverflowError) as exc:
            raise RangeError(f"cannot read {name}: {getattr(exc, 'strerror', None) or exc}") from None

    def _read_zip(self, source: ZipSource, name: str, offset: int, size: int) -> bytes:
        import zipfile  # only reached for a model inside a zip, already imported by then

        full = posixpath.join(source.prefix, name) if source.prefix else name
        zf = source.zf
        try:
            info = zf.getinfo(full)
        except KeyError:
            raise RangeError(f"{name} is missing") from None
        if info.flag_bits & 0x1:
            raise RangeError(f"zip member {full!r} is encrypted")
        offset = min(offset, info.file_size)
        size = min(size, info.file_size - offset)
        try:
            if info.compress_type == zipfile.ZIP_STORED and zf.fp is not None:
                zf.fp.seek(info.header_offset)
                header = zf.fp.read(30)
                if len(header) != 30 or header[:4] != b"PK\x03\x04":
                    raise RangeError(f"bad local header for zip member {full!r}")
                name_len, extra_len = struct.unpack_from("<HH", header, 26)
                zf.fp.seek(info.header_offset + 30 + name_len + extra_len + offset)
                return bytes(zf.fp.read(size))
            if offset + size > self.bounds.max_inflate_bytes:
                raise RangeError(f"zip member {full!r} is compressed and the value lies past its first "
                                 f"{self.bounds.max_inflate_bytes} bytes; not inflated")
            with zf.open(info) as fh:
                fh.seek(offset)
                return fh.read(size)
        except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError, zlib.error,
                OverflowError) as exc:
            raise RangeError(f"cannot read zip member {full!r}: {exc}") from None

    def _read_tar(self, source: TarSource, name: str, offset: int, size: int) -> bytes:
        import tarfile  # only reached for a model inside a tar, already imported by then

        if self._tar is None:
            self._tar = {}
            for info in source.tar.getmembers():
                if info.isreg():
                    self._tar.setdefault(tar_member_name(info), info)
        full = posixpath.join(source.prefix, name) if source.prefix else name
        member = self._tar.get(full)
        fobj = source.tar.extractfile(member) if member is not None else None
        if fobj is None:
            raise RangeError(f"{name} is missing")
        try:
            with fobj:
                fobj.seek(offset)
                return fobj.read(size)
        except (tarfile.TarError, OSError, EOFError, ValueError, OverflowError) as exc:
            raise RangeError(f"cannot read tar member {full!r}: {exc}") from None


def read_range(source: Source, name: str, offset: int, size: int, bounds: BundleBounds = DEFAULT_BOUNDS) -> bytes:
    """Up to ``size`` bytes at ``offset`` of a member, without reading the rest of it."""
    return RangeReader(source, bounds).read(name, offset, size)


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
        result.note(f"{index_name} is {size} bytes, more than {cap}; not read")
        return result
    index = source.read(index_name)
    if index.startswith(b"version https://git-lfs"):
        result.note(f"{index_name} is a Git LFS pointer; variables not read")
        return result
    from tfmodel_lint.proto import tfmodel_lint_pb2 as pb

    header_seen = False
    pending: list[tuple[str, Any]] = []
    try:
        for raw_key, value in table_entries(index, bounds, result):
            if not raw_key:
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
            entry = pb.BundleEntryProto()
            entry.ParseFromString(bytes(value))
            if entry.dtype != DT_STRING:
                continue
            key = raw_key.decode("utf-8", "backslashreplace")
            if key == OBJECT_GRAPH_KEY:
                continue
            pending.append((key, entry))
    except DecodeError as exc:
        raise _malformed(f"an entry is not a valid protobuf: {exc}") from None
    except (ValueError, struct.error, RecursionError, OverflowError) as exc:
        raise _malformed(f"{type(exc).__name__}: {exc}") from None
    if not header_seen:
        raise _malformed("no header entry (the empty key)")
    num_shards = result.num_shards
    if num_shards <= 0:
        raise _malformed(f"header says {num_shards} data shards")
    reader = RangeReader(source, bounds)
    for key, entry in pending:
        if result.string_tensors >= bounds.max_string_tensors:
            result.note(f"more than {bounds.max_string_tensors} string tensors; the rest not read")
            break
        if result.bytes_read >= bounds.max_total_bytes:
            result.note(f"read {result.bytes_read} bytes of string tensors; the rest not read")
            break
        _read_one(reader, prefix, key, entry, num_shards, bounds, result)
    return result


def _read_one(
    reader: RangeReader, prefix: str, key: str, entry: Any, num_shards: int, bounds: BundleBounds, result: BundleResult
) -> None:
    if entry.slices:
        result.note(f"{key!r}: a partitioned (sliced) string tensor; not read")
        return
    n = _num_elements(entry.shape)
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
    if not reader.source.exists(shard):
        result.note(f"{key!r}: data shard {shard} is missing")
        return
    notes: list[str] = []

    def fetch(rel: int, size: int) -> bytes:
        size = min(size, entry.size - rel, bounds.max_total_bytes - result.bytes_read)
        if size <= 0:
            return b""
        got = reader.read(shard, entry.offset + rel, size)
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
        result.note(text)
    result.values[key] = values


def read_string_variables(
    source: Source, limits: Limits, bounds: BundleBounds = DEFAULT_BOUNDS
) -> dict[str, tuple[bytes, ...]]:
    """Checkpoint key -> the values of every string-typed tensor of the SavedModel's
    ``variables/`` bundle (bounded; see the module docstring)."""
    return read_bundle(source, limits, bounds).values


# -- mapping checkpoint keys to the names the graph uses ---------------------------------


def _merge(values: Sequence[bytes], more: Sequence[bytes], cap: int) -> tuple[bytes, ...]:
    seen = dict.fromkeys(values)
    for v in more:
        if len(seen) >= cap:
            break
        seen.setdefault(v, None)
    return tuple(seen)


def _string_consts(func: Function, nd: NodeDef, position: int) -> list[bytes] | None:
    edge = func.input_edge(nd, position)
    for _ in range(8):
        src = edge.node if edge is not None else None
        if src is None:
            return None
        if src.op in ("Identity", "Snapshot"):
            edge = func.input_edge(src, 0)
            continue
        if src.op == "Const" and "value" in src.attr:
            return list(src.attr["value"].tensor.string_val)
        return None
    return None


def _variable_node_names(nd: NodeDef) -> list[str]:
    names = [nd.name]
    if "shared_name" in nd.attr and nd.attr["shared_name"].s:
        names.append(nd.attr["shared_name"].s.decode("utf-8", "backslashreplace"))
    return names


_VARIABLE_OPS = ("VarHandleOp", "VariableV2", "Variable", "_VarHandlesOp")
_RESTORE_OPS = ("RestoreV2",)
_ASSIGN_OPS = ("AssignVariableOp", "Assign")


def _handle_names(model: ModelIR, func: Function, text: str, depth: int = 0) -> list[str]:
    """Names of the variable(s) a handle input designates, across call boundaries (the
    restore function gets the variables' handles as arguments)."""
    edge = func.resolve_input(text)
    if edge is None or depth > 4:
        return []
    if edge.node is not None:
        src = edge.node
        if src.op in _VARIABLE_OPS:
            return _variable_node_names(src)
        if src.op == "Identity" and src.input:
            return _handle_names(model, func, src.input[0], depth + 1)
        return []
    names: list[str] = []
    for site in model.call_sites().get(func.name, [])[:16]:
        if not site.bound:
            continue
        inputs = site.caller.data_inputs(site.node)
        pos = site.skip_inputs + edge.index
        if pos < len(inputs):
            names.extend(_handle_names(model, site.caller, inputs[pos], depth + 1))
    return names


def restore_key_map(model: ModelIR) -> dict[str, str]:
    """Variable node name / ``shared_name`` -> checkpoint key, from the restore ops.

    The standard saver's restore function reads each key with ``RestoreV2`` and assigns
    output k to the k-th variable (``AssignVariableOp(handle, Identity(RestoreV2:k))``);
    in TF2 SavedModels the handles are arguments bound to the top-level ``VarHandleOp``
    nodes that signatures and methods capture.
    """
    out: dict[str, str] = {}
    for func in model.all_functions():
        restores: dict[str, list[bytes]] = {}
        assigns: list[NodeDef] = []
        for nd in func.nodes_with_op(lambda op: op in _RESTORE_OPS or op in _ASSIGN_OPS):
            if nd.op in _RESTORE_OPS:
                names = _string_consts(func, nd, 1)
                if names:
                    restores[nd.name] = names
            elif nd.op in _ASSIGN_OPS:
                assigns.append(nd)
        if not restores:
            continue
        for nd in assigns:
            edge = func.input_edge(nd, 1)
            hops = 0
            while edge is not None and edge.node is not None and edge.node.op in ("Identity", "Snapshot") and hops < 8:
                edge = func.input_edge(edge.node, 0)
                hops += 1
            if edge is None or edge.node is None or edge.node.name not in restores:
                continue
            keys = restores[edge.node.name]
            if not 0 <= edge.index < len(keys):
                continue
            key = keys[edge.index].decode("utf-8", "backslashreplace")
            for name in _handle_names(model, func, func.data_inputs(nd)[0]):
                out.setdefault(name, key)
    return out


def variable_values_for(
    model: ModelIR, values: Mapping[str, tuple[bytes, ...]], cap: int
) -> dict[str, tuple[bytes, ...]]:
    """``{name: values}`` keyed by checkpoint key, object path, ``SavedVariable.name`` and
    variable node name / ``shared_name``. Names shared by several variables (TF2 names
    every unnamed variable ``Variable``) get the union of their values."""
    out: dict[str, tuple[bytes, ...]] = dict(values)

    def add(name: str, vals: tuple[bytes, ...]) -> None:
        if not name or name in values:
            return
        out[name] = _merge(out.get(name, ()), vals, cap)

    paths = model.cache.get("variable_paths")
    if isinstance(paths, dict):
        for name, objpaths in paths.items():
            for objpath in objpaths if isinstance(objpaths, (list, tuple)) else (objpaths,):
                key = f"{objpath}{VARIABLE_SUFFIX}"
                if key in values:
                    add(str(name), values[key])
    for name, key in restore_key_map(model).items():
        if key in values:
            add(name, values[key])
    # TF1 graphs: the checkpoint key is the variable's op name.
    for func in model.all_functions():
        for nd in func.nodes_with_op(_VARIABLE_OPS.__contains__):
            if nd.op in _VARIABLE_OPS and nd.name in values:
                for name in _variable_node_names(nd)[1:]:
                    add(name, values[nd.name])
    return out


def variables_hook(source: Source, display: str, limits: Limits, loaded: Loaded) -> None:
    """SavedModel hook: put ``model.cache["variable_values"]`` on every loaded model."""
    if not loaded.models or not source.exists(INDEX_NAME):
        return
    try:
        result = read_bundle(source, limits)
    except ArtifactError as exc:
        loaded.issues.append(Issue(exc.code, Severity.MEDIUM, "artifact", Location(member=INDEX_NAME),
                                   f"variables not read: {exc.message}", (), key="checkpoint-index"))
        return
    except LimitExceededError as exc:
        for model in loaded.models:
            model.cache["variable_notes"] = [f"variables not read: {exc}"]
        return
    for problem in result.problems[:3]:
        loaded.issues.append(Issue(MALFORMED, Severity.LOW, "artifact", Location(member=INDEX_NAME),
                                   f"checkpoint: {problem}", (), key=f"checkpoint-block|{problem}"))
    for model in loaded.models:
        values = variable_values_for(model, result.values, DEFAULT_BOUNDS.max_elements) if result.values else {}
        model.cache["variable_values"] = values
        if result.notes:
            model.cache["variable_notes"] = list(result.notes)


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
    "restore_key_map",
    "table_entries",
    "variable_values_for",
    "variables_hook",
]
