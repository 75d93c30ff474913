"""Recognise artifact formats by content first, name second."""

from __future__ import annotations

HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")
GZIP_MAGIC = b"\x1f\x8b"
LFS_POINTER = b"version https://git-lfs.github.com/spec/v1"
TFLITE_IDENT = b"TFL3"

#: Name-implied formats, to report files whose name and content disagree.
SUFFIX_FORMATS = {
    ".h5": "hdf5",
    ".hdf5": "hdf5",
    ".keras": "zip",
    ".zip": "zip",
    ".tflite": "tflite",
    ".pb": "protobuf",
    ".pbtxt": "protobuf_text",
    ".meta": "protobuf",
}


def sniff(head: bytes, name: str) -> str:
    """One of: lfs_pointer, hdf5, zip, gzip, tar, tflite, json, protobuf_text, protobuf, empty."""
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
    if len(head) >= 8 and head[4:8] == TFLITE_IDENT:
        return "tflite"
    if len(head) > 262 and head[257:262] == b"ustar":
        return "tar"
    stripped = head.lstrip()
    if stripped.startswith((b"{", b"[")):
        return "json"
    from tfmodel_lint.loaders.tf_graph import looks_like_text_proto

    if looks_like_text_proto(head):
        return "protobuf_text"
    return "protobuf"


def implied_by_name(name: str) -> str | None:
    lowered = name.lower()
    for suffix, fmt in SUFFIX_FORMATS.items():
        if lowered.endswith(suffix):
            return fmt
    return None
