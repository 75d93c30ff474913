"""The model-file vocabulary, defined once: which names and which contents are models.

Discovery (what a directory search lints), the pre-commit filter (``--skip-non-models``),
archive members (which members are linted as models) and the dispatcher (which loader
reads what) all ask this module; a test keeps ``.pre-commit-hooks.yaml`` in step with it.

Formats are recognised by content first, name second. :func:`sniff` looks at the first
bytes only. Where the content says nothing definite (binary protobuf has no magic
number) the name breaks ties. :func:`name_mismatch` tells when a name promises one
format and the content is positively another (TFL907): tools that dispatch on the
extension (Keras, TensorFlow, other scanners) then see a different file than the linter.
"""

from __future__ import annotations

import struct
from collections.abc import Callable

from tfmodel_lint.wireformat import WireError, varint

HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")
GZIP_MAGIC = b"\x1f\x8b"
BZIP2_MAGIC = b"BZh"
XZ_MAGIC = b"\xfd7zXZ\x00"
LFS_POINTER = b"version https://git-lfs.github.com/spec/v1"
TFLITE_IDENT = b"TFL3"
UTF8_BOM = b"\xef\xbb\xbf"
#: Bytes of a file read to recognise it.
HEAD_BYTES = 512

#: A SavedModel is the directory holding one of these.
SAVED_MODEL_FILES = ("saved_model.pb", "saved_model.pbtxt")
#: How many directory levels above a file to look for a SavedModel root.
MAX_ROOT_LEVELS = 4

#: Name suffix -> the content kind the name promises; longest suffixes first
#: (".tar.gz" before ".gz"). Every suffix here marks a model file for discovery.
SUFFIX_KINDS: dict[str, str] = {
    ".tar.gz": "gzip",
    ".tar.bz2": "bzip2",
    ".tar.xz": "xz",
    ".tgz": "gzip",
    ".tbz2": "bzip2",
    ".txz": "xz",
    ".tar": "tar",
    ".h5": "hdf5",
    ".hdf5": "hdf5",
    ".keras": "zip",
    ".zip": "zip",
    ".tflite": "tflite",
    ".pb": "protobuf",
    ".pbtxt": "protobuf_text",
    ".meta": "protobuf",
}
#: A compressed file is a model when its name without this suffix is one (``model.pb.gz``).
COMPRESSED_SUFFIXES: dict[str, str] = {".gz": "gzip", ".bz2": "bzip2", ".xz": "xz"}
#: Whole file names that mark a model whatever the suffix says.
MODEL_NAMES: dict[str, str] = {
    "model.json": "json",  # TensorFlow.js
    "saved_model.pb": "protobuf",
    "saved_model.pbtxt": "protobuf_text",
}

#: Content kinds that identify a format positively (by magic or structure).
DEFINITE = frozenset({"lfs_pointer", "hdf5", "zip", "gzip", "bzip2", "xz", "tflite", "tar", "json", "protobuf_text"})
#: Kinds holding other files, read member by member (each counts against the archive limits).
ARCHIVES = frozenset({"zip", "tar", "gzip", "bzip2", "xz"})
#: Kinds that are a model (or may hold one) by their content alone, whatever the name.
MODEL_CONTENT = frozenset({"hdf5", "zip", "gzip", "bzip2", "xz", "tar", "tflite", "protobuf_text", "lfs_pointer",
                           "protobuf_graph", "tfjs"})
#: Name-implied kind -> content kinds that are fine for it.
COMPATIBLE = {
    "protobuf": frozenset({"protobuf", "protobuf_text"}),  # TF writes text .meta/.pb on request
    "protobuf_text": frozenset({"protobuf_text"}),
    "gzip": frozenset({"gzip", "tar"}),  # an uncompressed tar named .tgz: every tar reader copes
    "bzip2": frozenset({"bzip2", "tar"}),
    "xz": frozenset({"xz", "tar"}),
    "tar": frozenset({"tar"}),
}

DESCRIPTIONS = {
    "hdf5": "an HDF5 file",
    "zip": "a zip archive",
    "gzip": "gzip data",
    "bzip2": "bzip2 data",
    "xz": "xz data",
    "tflite": "a TFLite flatbuffer",
    "tar": "a tar archive",
    "json": "JSON",
    "protobuf_text": "a text protobuf",
    "protobuf": "a binary protobuf",
    "lfs_pointer": "a Git LFS pointer",
}

#: First fields of text protobufs TensorFlow writes (SavedModel, MetaGraphDef, GraphDef).
TEXT_SAVEDMODEL = ("saved_model_schema_version", "meta_graphs")
TEXT_GRAPHDEF = ("node", "library", "versions", "version")
TEXT_METAGRAPH = ("meta_info_def", "graph_def", "saver_def", "collection_def", "signature_def",
                  "asset_file_def", "object_graph_def")


def base_name(name: str) -> str:
    return name.replace("\\", "/").rsplit("/", 1)[-1]


def _model_kind(lowered: str) -> str | None:
    if lowered in MODEL_NAMES:
        return MODEL_NAMES[lowered]
    for suffix, kind in SUFFIX_KINDS.items():
        if lowered.endswith(suffix):
            return kind
    return None


def implied_by_name(name: str) -> str | None:
    """The content kind a file name promises (``x.gz`` promises gzip data), or ``None``."""
    lowered = base_name(name).lower()
    kind = _model_kind(lowered)
    if kind is None:
        for suffix, compressed in COMPRESSED_SUFFIXES.items():
            if lowered.endswith(suffix):
                return compressed
    return kind


def is_model_name(name: str) -> bool:
    """Whether a file name alone marks a model artifact (``model.pb``, ``m.tar.xz``,
    ``model.json``, ``model.tflite.gz``...)."""
    lowered = base_name(name).lower()
    if _model_kind(lowered) is not None:
        return True
    for suffix in COMPRESSED_SUFFIXES:
        if lowered.endswith(suffix):
            return _model_kind(lowered[:-len(suffix)]) is not None
    return False


def decompressed_name(name: str) -> str:
    """The name of what a compressed file holds: ``m.tgz`` -> ``m.tar``, ``a.pb.gz`` -> ``a.pb``."""
    lowered = name.lower()
    for suffix, inner in ((".tgz", ".tar"), (".tbz2", ".tar"), (".txz", ".tar")):
        if lowered.endswith(suffix):
            return name[:-len(suffix)] + inner
    for suffix in COMPRESSED_SUFFIXES:
        if lowered.endswith(suffix):
            return name[:-len(suffix)]
    return name


def sniff(head: bytes, name: str = "") -> str:
    """One of: empty, lfs_pointer, hdf5, zip, gzip, bzip2, xz, tar, tflite, json,
    protobuf_text, protobuf (the fallback for anything else).

    ``name`` only breaks ties where the content has no signature: a ``.tflite`` whose
    flatbuffer lacks the optional ``TFL3`` identifier is still TFLite.
    """
    if not head:
        return "empty"
    if head.startswith(LFS_POINTER):
        return "lfs_pointer"
    if head.startswith(HDF5_MAGIC):
        return "hdf5"
    if head.startswith(ZIP_MAGICS):
        return "zip"
    if head.startswith(GZIP_MAGIC):
        return "gzip"
    if head.startswith(XZ_MAGIC):
        return "xz"
    if head.startswith(BZIP2_MAGIC) and len(head) > 3 and head[3:4].isdigit():
        return "bzip2"
    if len(head) >= 8 and head[4:8] == TFLITE_IDENT:
        return "tflite"
    if len(head) >= 262 and head[257:262] == b"ustar":
        return "tar"
    stripped = head[3:] if head.startswith(UTF8_BOM) else head
    stripped = stripped.lstrip(b" \t\n\r")
    if stripped.startswith((b"{", b"[")) and not _has_control_bytes(stripped):
        return "json"
    if looks_like_text_proto(head):
        return "protobuf_text"
    if implied_by_name(name) == "tflite" and _flatbuffer_like(head):
        return "tflite"
    return "protobuf"


def content_kind(head: bytes, name: str = "") -> str:
    """:func:`sniff`, refined for recognising models by content: a binary protobuf that
    is structurally a GraphDef or SavedModel is ``protobuf_graph``, a TF.js ``model.json``
    is ``tfjs``."""
    kind = sniff(head, name)
    if kind == "protobuf" and protobuf_graph_like(head):
        return "protobuf_graph"
    if kind == "json" and (b'"modelTopology"' in head or b'"weightsManifest"' in head):
        return "tfjs"
    return kind


def promises_model(name: str, head: bytes) -> bool:
    """Whether a file's name or content promises a model: only then is a failure to read
    it a malformed model, and only then does a directory search lint it."""
    return is_model_name(name) or content_kind(head, name) in MODEL_CONTENT


def first_text_field(data: bytes) -> str:
    for raw in data[:65536].splitlines():
        line = raw.strip()
        if not line or line.startswith(b"#"):
            continue
        word = line.split(b"{", 1)[0].split(b":", 1)[0].strip()
        return word.decode("ascii", "replace")
    return ""


#: Message-typed fields among the first fields above: written ``name {``.
_TEXT_MESSAGES = frozenset({"meta_graphs", "node", "library", "versions", "meta_info_def", "graph_def",
                            "saver_def", "collection_def", "signature_def", "asset_file_def", "object_graph_def"})


def looks_like_text_proto(data: bytes) -> bool:
    """A text SavedModel/MetaGraphDef/GraphDef: its first field is one of theirs, written
    as a message (``node {``), or a scalar (``version: 1``) followed by a message field
    of theirs; a YAML file starting ``version: 2`` is not one."""
    field = first_text_field(data)
    if field not in TEXT_SAVEDMODEL + TEXT_GRAPHDEF + TEXT_METAGRAPH:
        return False
    if field in _TEXT_MESSAGES:
        return True
    head = data[:65536]
    return any(f"\n{name} {{".encode() in head or f"\n{name}{{".encode() in head for name in _TEXT_MESSAGES)


def _has_control_bytes(head: bytes) -> bool:
    """JSON never holds a raw byte below 0x20 other than its whitespace; binary protobuf
    tags and lengths soon do."""
    return bool(head.translate(None, b"\t\n\r").translate(None, bytes(range(0x20, 0x100))))


def _flatbuffer_like(head: bytes) -> bool:
    """A flatbuffer starts with a little-endian offset to its root table, inside the buffer."""
    if len(head) < 8:
        return False
    root = int.from_bytes(head[:4], "little")
    return 8 <= root < (1 << 31) and root % 4 == 0


def _varint(data: bytes, i: int) -> tuple[int, int] | None:
    try:
        return varint(data, i, len(data))
    except WireError:
        return None


def _printable_name(data: bytes) -> bool:
    if not data:
        return False
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return text.isprintable()


def protobuf_graph_like(head: bytes) -> bool:
    """Whether the first bytes read as a binary GraphDef (``node`` = field 1 holding a
    NodeDef whose name and op are printable text), SavedModel (``saved_model_schema_version``
    = field 1 varint, then ``meta_graphs`` = field 2) or MetaGraphDef (``meta_info_def``
    whose first field is printable, or its ``stripped_op_list`` of OpDefs with printable
    names), the way TensorFlow writes them. A cheap structural check on at most
    :data:`HEAD_BYTES`, never a parse; measured against real TensorFlow files and a corpus
    of other binaries in ``tests/test_bypasses.py``."""
    if len(head) < 4:
        return False
    tag = head[0]
    if tag == 0x08:  # SavedModel: schema version, then a meta graph
        got = _varint(head, 1)
        return got is not None and got[0] < 16 and got[1] < len(head) and head[got[1]] == 0x12
    if tag not in (0x0A, 0x12):  # GraphDef.node / MetaGraphDef.graph_def (0x12 after meta_info_def 0x0A)
        return False
    got = _varint(head, 1)
    if got is None:
        return False
    _size, i = got
    if tag == 0x0A and _op_list_like(head, i):
        return True
    # Inside: NodeDef.name (field 1, bytes) then NodeDef.op (field 2, bytes), both text;
    # or MetaInfoDef / a GraphDef's first node: the same check on the first two fields.
    fields: list[bytes] = []
    while len(fields) < 2 and i < len(head):
        if head[i] not in (0x0A, 0x12):
            break
        length = _varint(head, i + 1)
        if length is None:
            return False
        n, start = length
        if start + n > len(head):
            return bool(fields) and _printable_name(head[start:len(head)][:64])
        fields.append(head[start:start + n])
        i = start + n
    return len(fields) == 2 and all(_printable_name(f) for f in fields)


def _op_list_like(head: bytes, i: int) -> bool:
    """At ``i``, inside a MetaInfoDef: ``stripped_op_list`` (field 2), whose first OpDef
    (field 1) starts with its name (field 1), an identifier."""
    if i >= len(head) or head[i] != 0x12:
        return False
    for _ in range(2):  # into stripped_op_list, then into its first OpDef
        got = _varint(head, i + 1)
        if got is None or got[1] >= len(head) or head[got[1]] != 0x0A:
            return False
        i = got[1]
    got = _varint(head, i + 1)
    if got is None:
        return False
    n, start = got
    name = head[start:start + n]
    return 0 < n <= 256 and len(name) == n and name.decode("ascii", "replace").isidentifier()


# -- formats found past the first bytes (polyglots) ------------------------------------

#: libhdf5 looks for the superblock at offset 0, then at 512 and every power of two
#: after it (a "user block" of that size comes first).
HDF5_USERBLOCK_MIN = 512
_ZIP_END = b"PK\x05\x06"
_ZIP64_LOCATOR = b"PK\x06\x07"
_ZIP_CENTRAL = b"PK\x01\x02"
#: The zip end record sits in the last 22 bytes plus at most a 65,535-byte comment.
ZIP_TAIL_BYTES = 22 + 65535
#: How far from the end a zip is looked for after text (a comment of up to ~1 KiB).
TEXT_ZIP_WINDOW = 1024

ReadAt = Callable[[int, int], bytes]


def hdf5_superblock(read_at: ReadAt, size: int, inside_tar: bool = False) -> int | None:
    """The offset past 0 at which libhdf5 finds an HDF5 superblock (512, 1024, 2048...),
    or ``None``: at most log2(size) reads of 8 bytes. ``inside_tar``: the content is a
    tar, whose members' data start on 512-byte blocks; a superblock right after a valid
    member header is that member (linted as such), not a second format."""
    offset = HDF5_USERBLOCK_MIN
    while offset + len(HDF5_MAGIC) <= size:
        if read_at(offset, len(HDF5_MAGIC)) == HDF5_MAGIC:
            if not (inside_tar and _tar_header(read_at(offset - 512, 512))):
                return offset
        offset *= 2
    return None


def _tar_header(block: bytes) -> bool:
    """Whether a 512-byte block is a tar header (its checksum holds)."""
    field = block[148:156].replace(b"\0", b" ").strip()
    if len(block) != 512 or not field:
        return False
    try:
        stored = int(field, 8)
    except ValueError:
        return False
    return stored == sum(block[:148]) + 8 * 32 + sum(block[156:])


def zip_end_record(read_at: ReadAt, size: int, window: int = ZIP_TAIL_BYTES) -> int | None:
    """The offset of a zip end-of-central-directory record that a zip reader finds at
    the end of the data (its comment reaching the end) and that points back at a
    central directory holding members, or ``None``: one read of at most 64 KiB, and
    one of 4 bytes per candidate record. A zip appended to (or wrapped around) another
    file is found; a zip stored as a member inside a tar, which more blocks follow, is not.
    ``window``: how far from the end to look (a zip comment longer than that hides it)."""
    tail_size = min(size, window, ZIP_TAIL_BYTES)
    if tail_size < 22:
        return None
    start = size - tail_size
    tail = read_at(start, tail_size)
    pos = tail.rfind(_ZIP_END)
    while pos >= 0:
        if pos + 22 <= len(tail):
            entries, cd_size, _cd_offset, comment = struct.unpack_from("<HIIH", tail, pos + 10)
            if pos + 22 + comment >= len(tail) and entries > 0:
                if entries == 0xFFFF or cd_size == 0xFFFFFFFF:
                    if pos >= 20 and tail[pos - 20:pos - 16] == _ZIP64_LOCATOR:
                        return start + pos
                elif 0 < cd_size <= start + pos and read_at(start + pos - cd_size, 4) == _ZIP_CENTRAL:
                    return start + pos
        pos = tail.rfind(_ZIP_END, 0, pos)
    return None


def hidden_format(read_at: ReadAt, size: int, head: bytes, kind: str | None = None) -> str | None:
    """A model format found past a file's first bytes: ``hdf5`` (a superblock after a user
    block) or ``zip`` (an end record at the end, whatever precedes it); ``None``. For
    content whose first bytes say nothing: discovery and the pre-commit filter. ``kind``:
    :func:`sniff` of ``head``, when known."""
    if kind is None:
        kind = sniff(head)
    if kind != "hdf5" and hdf5_superblock(read_at, size, inside_tar=kind == "tar") is not None:
        return "hdf5"
    # Text (source code, most of a repository) is looked at for a zip without a long
    # comment only: the whole 64 KiB window is read for binary content.
    window = TEXT_ZIP_WINDOW if not _has_control_bytes(head) else ZIP_TAIL_BYTES
    if kind != "zip" and zip_end_record(read_at, size, window) is not None:
        return "zip"
    return None


def name_mismatch(kind: str, name: str) -> str | None:
    """A sentence when ``name`` promises one format and the content is definitely another."""
    implied = implied_by_name(name)
    if implied is None or kind not in DEFINITE or kind in ("empty", "lfs_pointer"):
        return None
    if kind in COMPATIBLE.get(implied, frozenset({implied})):
        return None
    shown = base_name(name)
    return (f"named {shown!r}, which says {DESCRIPTIONS.get(implied, implied)}, "
            f"but the content is {DESCRIPTIONS.get(kind, kind)}")


def savedmodel_roots(names: list[str]) -> list[str]:
    """The SavedModel roots among member names (``""`` for the top): every directory
    holding ``saved_model.pb`` or ``saved_model.pbtxt``, a root nested inside another
    one included (it is a model of its own)."""
    roots = set()
    for name in names:
        head, _, base = name.rpartition("/")
        if base in SAVED_MODEL_FILES:
            roots.add(head)
    return sorted(roots)


def root_of(name: str, roots: list[str]) -> str | None:
    """The innermost SavedModel root (from :func:`savedmodel_roots`) holding member ``name``."""
    best: str | None = None
    for root in roots:
        if (root == "" or name.startswith(root + "/")) and (best is None or len(root) > len(best)):
            best = root
    return best
