"""Polyglot files made from real models: an HDF5 Keras model with a user block, with a
zip appended, and with a zip prepended (a valid HDF5 superblock at a power of two after
the zip's members), each accepted by h5py and by :mod:`zipfile` alike.

The HDF5 part is rewritten by h5py itself (a file created with ``userblock_size``, the
model's groups and attributes copied into it: the same Keras model); the zip part is
written by :mod:`zipfile`. Only the placing of the two is done here, the way an attacker
(or ``h5jam``) places a user block.
"""

from __future__ import annotations

import io
import struct
import zipfile
from pathlib import Path


def with_userblock(h5: Path, out: Path, size: int = 512, fill: bytes = b"") -> Path:
    """A copy of the HDF5 file ``h5`` whose superblock sits at ``size`` (a user block
    first, holding ``fill``)."""
    import h5py

    with h5py.File(h5, "r") as src, h5py.File(out, "w", userblock_size=size) as dst:
        for key, value in src.attrs.items():
            dst.attrs[key] = value
        for name in src:
            src.copy(src[name], dst, name=name)
    if fill:
        if len(fill) > size:
            raise ValueError(f"{len(fill)} bytes do not fit a {size}-byte user block")
        with out.open("r+b") as fh:
            fh.write(fill)
    return out


def zip_bytes(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def zip_appended(h5: Path, out: Path, members: dict[str, bytes]) -> Path:
    """The HDF5 file with a zip after it (zip readers allow data before the archive)."""
    out.write_bytes(h5.read_bytes() + zip_bytes(members))
    return out


def zip_prepended(h5: Path, out: Path, members: dict[str, bytes]) -> Path:
    """A zip whose members come first, in an HDF5 user block, with its central directory
    and end record after the HDF5 data: ``zipfile`` reads it from its end record, libhdf5
    finds the superblock at the first power of two (from 512) past the members."""
    data = zip_bytes(members)
    (cd_offset,) = struct.unpack_from("<I", data, len(data) - 22 + 16)
    local, directory = data[:cd_offset], data[cd_offset:]
    block = 512
    while block < len(local):
        block *= 2
    with_userblock(h5, out, block, local)
    body = out.read_bytes()
    end = bytearray(directory[-22:])
    struct.pack_into("<I", end, 16, len(body))  # the directory now starts after the HDF5 data
    out.write_bytes(body + directory[:-22] + bytes(end))
    return out
