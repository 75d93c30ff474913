"""Recognise artifact formats by content first, name second.

:func:`sniff` looks at the first bytes only. Where the content says nothing definite
(the fallback ``protobuf``: binary protobuf has no magic number) the file name decides
between the formats that lack a reliable signature. :func:`name_mismatch` tells when a
name promises one format and the content is positively another: tools that dispatch on
the extension (Keras, TensorFlow, other scanners) then see a different file than the
linter does, which is worth reporting (TFL907).
"""

from __future__ import annotations

HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")
GZIP_MAGIC = b"\x1f\x8b"
BZIP2_MAGIC = b"BZh"
XZ_MAGIC = b"\xfd7zXZ\x00"
LFS_POINTER = b"version https://git-lfs.github.com/spec/v1"
TFLITE_IDENT = b"TFL3"
UTF8_BOM = b"\xef\xbb\xbf"

#: Name-implied formats, to report files whose name and content disagree. Longest
#: suffixes first (".tar.gz" before ".gz").
SUFFIX_FORMATS = {
    ".tar.gz": "gzip",
    ".tgz": "gzip",
    ".gz": "gzip",
    ".tar": "tar",
    ".h5": "hdf5",
    ".hdf5": "hdf5",
    ".keras": "zip",
    ".zip": "zip",
    ".tflite": "tflite",
    ".json": "json",
    ".pb": "protobuf",
    ".pbtxt": "protobuf_text",
    ".meta": "protobuf",
}

#: Content kinds that identify a format positively (by magic or structure).
DEFINITE = frozenset({"lfs_pointer", "hdf5", "zip", "gzip", "bzip2", "xz", "tflite", "tar", "json", "protobuf_text"})
#: Name-implied format -> content kinds that are fine for it.
COMPATIBLE = {
    "protobuf": frozenset({"protobuf", "protobuf_text"}),  # TF writes text .meta/.pb on request
    "protobuf_text": frozenset({"protobuf_text"}),
    "gzip": frozenset({"gzip"}),
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
    from tfmodel_lint.loaders.tf_graph import looks_like_text_proto

    if looks_like_text_proto(head):
        return "protobuf_text"
    if implied_by_name(name) == "tflite" and _flatbuffer_like(head):
        return "tflite"
    return "protobuf"


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


def implied_by_name(name: str) -> str | None:
    lowered = name.lower().rsplit("/", 1)[-1]
    for suffix, fmt in SUFFIX_FORMATS.items():
        if lowered.endswith(suffix):
            return fmt
    return None


def name_mismatch(kind: str, name: str) -> str | None:
    """A sentence when ``name`` promises one format and the content is definitely another."""
    implied = implied_by_name(name)
    if implied is None or kind not in DEFINITE or kind in ("empty", "lfs_pointer"):
        return None
    if kind in COMPATIBLE.get(implied, frozenset({implied})):
        return None
    if implied == "gzip" and kind == "tar":
        return None  # an uncompressed tar named .tgz: every tar reader copes
    shown = name.rsplit("/", 1)[-1]
    return (f"named {shown!r}, which says {DESCRIPTIONS.get(implied, implied)}, "
            f"but the content is {DESCRIPTIONS.get(kind, kind)}")
