"""Zip, tar and compressed (gzip, bzip2, xz) archives, and the other model files found
inside a SavedModel's directory: every model inside is linted, in memory.

Nothing is extracted. Member names, types and sizes are checked before anything is
read (a zip's central directory is counted before :mod:`zipfile` parses it); reads go
through the artifact's shared :class:`~tfmodel_lint.sources.Budget`, so neither a wide
bomb (many members) nor a deep one (archives in archives, quines) can spread its output
past the limits. One routine (:func:`lint_members`) serves every container: SavedModel
roots inside it are linted as SavedModels, every other member whose name or content
promises a model is linted through the dispatcher, and known parts of a model (a
SavedModel's variables, a ``.keras`` file's weights) are never read whole.

A problem with one member (unreadable, malformed, over a limit) becomes a finding on
that member; the other members are still linted. Models found in members carry their
member path (``archive.zip!dir/model.tflite``) in ``ModelIR.archive_member``.
"""

from __future__ import annotations

import io
import posixpath
import struct
import tarfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO

from tfmodel_lint.errors import ArtifactError, LimitExceededError, Problem
from tfmodel_lint.formats import (
    HEAD_BYTES,
    decompressed_name,
    savedmodel_roots,
    sniff,
)
from tfmodel_lint.limits import Limits
from tfmodel_lint.loaders import LoadContext, Loaded, member_problem
from tfmodel_lint.loaders.members import KERAS_PARTS, Collector, link_stays_inside, lint_members, unsafe_name
from tfmodel_lint.sources import (
    BytesSource,
    Source,
    TarSource,
    ZipSource,
    decompress_stream,
    tar_member_name,
    zip_errors,
)

# -- zip -------------------------------------------------------------------------------

_CENTRAL = b"PK\x01\x02"
#: A zip directory may take this many bytes a member on average (names, extra fields
#: and comments of real archives take well under 1 KiB); zipfile reads it whole.
ZIP_DIRECTORY_BYTES_PER_ENTRY = 4096
#: Most extra-field blocks in one directory entry (real ones have a few): zipfile
#: decodes them in time quadratic in their number.
ZIP_EXTRA_BLOCKS = 64


def _directory_span(fp: BinaryIO) -> tuple[int, int] | None:
    """(start, size) of the central directory exactly where :mod:`zipfile` will read it:
    its own end-record reader, Zip64 record included, and its own arithmetic
    (``ZipFile._RealGetContents``)."""
    zf: Any = zipfile  # the end-record reader is private (not in the stubs)
    try:
        endrec = zf._EndRecData(fp)
    except zip_errors():  # (a multi-disk Zip64 locator...): zipfile says so when it opens the file
        return None
    if not endrec:
        return None  # zipfile reports it
    size, offset = endrec[zf._ECD_SIZE], endrec[zf._ECD_OFFSET]
    concat = endrec[zf._ECD_LOCATION] - size - offset
    if endrec[zf._ECD_SIGNATURE] == zf.stringEndArchive64:
        concat -= zf.sizeEndCentDir64 + zf.sizeEndCentDir64Locator
    return offset + concat, size


def _extra_blocks(extra: bytes) -> int:
    """Blocks of an extra field as zipfile walks them (stops past the bound)."""
    blocks = pos = 0
    while len(extra) - pos >= 4 and blocks <= ZIP_EXTRA_BLOCKS:
        (length,) = struct.unpack_from("<H", extra, pos + 2)
        pos += 4 + length
        blocks += 1
    return blocks


def check_central_directory(fp: BinaryIO, size: int, limits: Limits) -> None:
    """Count the central directory's entries before :mod:`zipfile` reads it whole and
    turns each into an object: a directory of millions of entries (or one that could
    only be that large) is refused at the entry limit, with memory in proportion to the
    limit, not to the file. The directory is found as zipfile finds it, so no second
    end record (a Zip64 one, or a locator pointing elsewhere) can show this check a
    smaller directory than zipfile reads. An entry with more extra-field blocks than
    real archives use is refused too (zipfile decodes them in quadratic time)."""
    cap = limits.max_archive_entries
    span = _directory_span(fp)
    if span is None:
        return
    start, cd_size = span
    cd_size = min(cd_size, max(size - start, 0))  # zipfile reads no more than the file holds
    if start < 0 or cd_size <= 0:
        return
    if cd_size > cap * ZIP_DIRECTORY_BYTES_PER_ENTRY:
        raise LimitExceededError("max_archive_entries", cap,
                                 f"the zip directory is {cd_size} bytes, more than {ZIP_DIRECTORY_BYTES_PER_ENTRY} "
                                 "bytes for each member the limit allows")
    fp.seek(start)
    directory = fp.read(cd_size)
    pos = count = 0
    while pos + 46 <= len(directory):
        if directory[pos:pos + 4] != _CENTRAL:
            return  # zipfile stops here too ("bad magic number")
        name_len, extra_len, comment_len = struct.unpack_from("<HHH", directory, pos + 28)
        count += 1
        if count > cap:
            raise LimitExceededError("max_archive_entries", cap, f"the zip directory holds more than {cap} members")
        extra = directory[pos + 46 + name_len:pos + 46 + name_len + extra_len]
        if extra_len > 4 * ZIP_EXTRA_BLOCKS and _extra_blocks(extra) > ZIP_EXTRA_BLOCKS:
            raise LimitExceededError("max_archive_entries", cap,
                                     f"zip directory entry {count} has more than {ZIP_EXTRA_BLOCKS} extra-field blocks")
        pos += 46 + name_len + extra_len + comment_len


def zip_overlaps(infos: list[zipfile.ZipInfo], size: int) -> set[str]:
    """Members whose compressed data overlaps another's: the construction of
    non-recursive zip bombs (many entries inflating one shared deflate stream)."""
    spans = []
    for info in infos:
        start = info.header_offset
        # Local header: 30 bytes + name + extra (the extra length is not known without
        # reading it; the name length is a lower bound, good enough to spot sharing).
        end = start + 30 + len(info.orig_filename.encode("utf-8", "surrogateescape")) + info.compress_size
        spans.append((start, min(end, size), info.filename))
    spans.sort()
    bad: set[str] = set()
    reach_end, reach_name = -1, ""
    for start, end, name in spans:
        if start < reach_end and name != reach_name:
            bad.update((name, reach_name))
        if end > reach_end:
            reach_end, reach_name = end, name
    return bad


def zip_members(infos: list[zipfile.ZipInfo], size: int, limits: Limits,
                col: Collector) -> dict[str, zipfile.ZipInfo]:
    """Report dangerous member names and types; return the members safe to read."""
    safe: dict[str, zipfile.ZipInfo] = {}
    seen: set[str] = set()
    refused: set[str] = set()
    for info in infos:
        name = info.filename
        if len(name) > limits.max_string_bytes:
            raise LimitExceededError("max_string_bytes", limits.max_string_bytes, "zip member name too long")
        problem = unsafe_name(name)
        if problem:
            col.add_problem(member_problem(Problem.UNSAFE_MEMBER, name, f"{problem}: {name!r}"))
            refused.add(name)
        if name in seen:
            col.add_problem(member_problem(Problem.UNSAFE_MEMBER, name, f"duplicate member name {name!r}"))
            refused.add(name)  # which copy wins depends on the extractor: lint none silently
        seen.add(name)
        mode = (info.external_attr >> 16) & 0o170000
        if mode == 0o120000:
            refused.add(name)  # content is a link target; judged below
        elif mode in (0o020000, 0o060000, 0o010000, 0o140000):
            col.add_problem(member_problem(Problem.UNSAFE_MEMBER, name, f"device, fifo or socket member {name!r}"))
            refused.add(name)
        if info.flag_bits & 0x1:
            col.add_problem(member_problem(Problem.UNSAFE_MEMBER, name,
                                           f"encrypted member {name!r}: content not checked"))
            refused.add(name)
        if name not in refused and not name.endswith("/"):
            safe[name] = info
    for name in sorted(zip_overlaps(infos, size)):
        col.add_problem(member_problem(Problem.UNSAFE_MEMBER, name,
                                       f"member {name!r} shares its compressed data with another member (zip bomb)"))
        safe.pop(name, None)
    return safe


def _zip_links(zf: zipfile.ZipFile, infos: list[zipfile.ZipInfo], limits: Limits, col: Collector) -> None:
    """Symlink members: one that stays inside the archive is harmless (it is not
    followed either); one that leaves it is reported."""
    for info in infos:
        if (info.external_attr >> 16) & 0o170000 != 0o120000 or unsafe_name(info.filename):
            continue
        try:
            target = zf.read(info)[:4096].decode("utf-8", "replace") if info.file_size <= 4096 else ""
        except zip_errors():
            target = ""
        if not link_stays_inside(info.filename, target):
            col.add_problem(member_problem(Problem.UNSAFE_MEMBER, info.filename,
                                           f"symlink member {info.filename!r} -> {target!r} leaves the archive"))


@contextmanager
def open_zip(source: Source, member: str, ctx: LoadContext) -> Iterator[tuple[zipfile.ZipFile, int]]:
    """The zip in ``member``: opened where it lies on disk (only the directory and the
    members read are ever in memory, each bounded: a large ``.keras`` is not refused
    for the size of its weights), else from its bytes."""
    path = source.local_path(member)
    fh: BinaryIO
    if path is not None:
        size = path.stat().st_size
        fh = Path(path).open("rb")
    else:
        data = source.read(member)
        size = len(data)
        fh = io.BytesIO(data)
    try:
        check_central_directory(fh, size, ctx.limits)
        try:
            zf = zipfile.ZipFile(fh)
        except zip_errors() as exc:
            raise ArtifactError(Problem.MALFORMED, f"not a valid zip archive: {exc}") from None
        with zf:
            yield zf, size
    finally:
        fh.close()


def load_zip(source: Source, member: str, ctx: LoadContext) -> Loaded:
    """A zip archive: a Keras 3 ``.keras`` model (``config.json`` at the top), SavedModels
    and any other model files inside, each linted."""
    limits = ctx.limits
    with open_zip(source, member, ctx) as (zf, size):
        ctx.budget.set_compressed(size)
        infos = zf.infolist()
        if len(infos) > limits.max_archive_entries:
            raise LimitExceededError("max_archive_entries", limits.max_archive_entries, f"{len(infos)} members")
        col = Collector("zip")
        safe = zip_members(infos, size, limits, col)
        _zip_links(zf, infos, limits, col)
        zsrc = ZipSource(zf, safe, limits, ctx.budget)
        names = zsrc.names()
        skip: frozenset[str] = frozenset()
        if "config.json" in safe:
            from tfmodel_lint.loaders.keras_v3 import load_keras_archive

            keras = load_keras_archive(zsrc, ctx)
            col.loaded.format = keras.format
            col.merge(keras)
            skip = KERAS_PARTS
        roots = savedmodel_roots(names)
        if roots and col.loaded.format == "zip":
            col.loaded.format = "savedmodel_zip"
        lint_members(col, zsrc, ctx, names, skip)
        return col.finish("zip archive holds no SavedModel and no model file")


# -- tar -------------------------------------------------------------------------------


def tar_headers(tar: tarfile.TarFile, limits: Limits) -> list[tarfile.TarInfo]:
    """Member headers, at most ``max_archive_entries`` of them, without reading data."""
    members: list[tarfile.TarInfo] = []
    while True:
        info = tar.next()
        if info is None:
            break
        members.append(info)
        if len(members) > limits.max_archive_entries:
            raise LimitExceededError("max_archive_entries", limits.max_archive_entries,
                                     f"more than {limits.max_archive_entries} members")
        if len(info.name) > limits.max_string_bytes:
            raise LimitExceededError("max_string_bytes", limits.max_string_bytes, "tar member name too long")
    return members


def tar_members(members: list[tarfile.TarInfo], col: Collector) -> dict[str, tarfile.TarInfo]:
    """Report dangerous member names and types; return the regular members safe to read."""
    safe: dict[str, tarfile.TarInfo] = {}
    seen: set[str] = set()
    refused: set[str] = set()
    for info in members:
        name = tar_member_name(info)
        problem = unsafe_name(info.name)
        if problem:
            col.add_problem(member_problem(Problem.UNSAFE_MEMBER, name, f"{problem}: {info.name!r}"))
            refused.add(name)
        if info.issym():
            if not link_stays_inside(name, info.linkname):
                col.add_problem(member_problem(Problem.UNSAFE_MEMBER, name,
                                               f"symlink member {name!r} -> {info.linkname!r} leaves the archive"))
        elif info.islnk():
            if not link_stays_inside(name, posixpath.relpath(info.linkname or ".", posixpath.dirname(name) or ".")):
                col.add_problem(member_problem(Problem.UNSAFE_MEMBER, name,
                                               f"hard link member {name!r} -> {info.linkname!r}"))
        elif info.ischr() or info.isblk() or info.isfifo():
            col.add_problem(member_problem(Problem.UNSAFE_MEMBER, name, f"device or fifo member {name!r}"))
        if not info.isdir() and name in seen:
            col.add_problem(member_problem(Problem.UNSAFE_MEMBER, name, f"duplicate member name {name!r}"))
            refused.add(name)  # which copy wins depends on the extractor: lint none silently
        if not info.isdir():
            seen.add(name)
    for info in members:
        name = tar_member_name(info)
        if info.isreg() and name not in refused:
            safe[name] = info
    return safe


def load_tar(source: Source, member: str, ctx: LoadContext) -> Loaded:
    """An uncompressed tar (a compressed one comes through :func:`load_compressed`)."""
    data = source.read(member)
    ctx.budget.set_compressed(len(data))
    return tar_from_bytes(data, ctx, "tar")


def tar_from_bytes(data: bytes, ctx: LoadContext, fmt: str) -> Loaded:
    try:
        tar = tarfile.open(fileobj=io.BytesIO(data), mode="r:")
        members = tar_headers(tar, ctx.limits)
    except (tarfile.TarError, EOFError, OSError, ValueError, UnicodeDecodeError, OverflowError) as exc:
        raise ArtifactError(Problem.MALFORMED, f"not a valid tar archive: {exc}") from None
    col = Collector(fmt)
    safe = tar_members(members, col)
    tsrc = TarSource(tar, safe, ctx.limits, ctx.budget)
    names = tsrc.names()
    if savedmodel_roots(names):
        col.loaded.format = "savedmodel_" + fmt
    lint_members(col, tsrc, ctx, names)
    return col.finish("tar archive holds no model")


# -- compressed streams ----------------------------------------------------------------


def load_compressed(source: Source, member: str, ctx: LoadContext) -> Loaded:
    """A gzip, bzip2 or xz stream: a compressed tar (``.tar.gz``, ``.tgz``, ``.tar.xz``...)
    or any compressed model file (``model.pb.gz``)."""
    data = source.read(member)
    ctx.budget.set_compressed(len(data))
    kind = sniff(data[:HEAD_BYTES], member)
    raw = decompress_stream(kind, data, ctx.limits, ctx.budget, f"{kind} stream {member or 'data'}")
    del data
    inner = decompressed_name(posixpath.basename(member))
    inner_kind = sniff(raw[:HEAD_BYTES], inner)
    suffix = {"gzip": ".gz", "bzip2": ".bz2", "xz": ".xz"}[kind]
    if inner_kind == "tar" or (inner.lower().endswith(".tar") and inner_kind == "protobuf" and len(raw) % 512 == 0):
        return tar_from_bytes(raw, ctx, "tar" + suffix)
    loaded = ctx.load_inner(BytesSource({inner: raw}, ctx.limits, ctx.budget), inner)
    loaded.format = f"{loaded.format}{suffix}"
    return loaded
