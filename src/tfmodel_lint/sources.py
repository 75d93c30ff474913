"""Read-only views of an artifact's files: a directory on disk, bytes in memory, or a zip
or tar archive; and the budget of decompressed bytes they share.

Every loader reads through a :class:`Source`, addressed by relative posix member names.
Nothing is ever extracted or written. Reads are bounded by :class:`Limits`: sizes are
checked before reading, decompression is streamed with a running total and ratio, and
one :class:`Budget` of decompressed bytes is shared by every read from one artifact,
nested archives included, so a bomb cannot spread its output over many members or
levels. A source can also read a byte range of a member (checkpoint shards are read at
an offset, never whole) and say which file on disk holds a member, for readers that
map or seek a file (large protobufs, HDF5) instead of holding it in memory.
"""

from __future__ import annotations

import io
import os
import posixpath
import stat
import struct
import zlib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from tfmodel_lint.errors import ArtifactError, LimitExceededError, Problem
from tfmodel_lint.fsutil import CHUNK, read_file, under, walk_tree
from tfmodel_lint.limits import Limits

if TYPE_CHECKING:
    import tarfile
    import zipfile

_Info = TypeVar("_Info")

#: Inflating less than this never trips the compression-ratio limit (tiny members
#: legitimately compress far better than 200:1).
RATIO_GRACE = 1 << 20


class Budget:
    """Decompressed bytes still allowed for one artifact (nested archives included), and
    the compressed size the whole-artifact ratio is measured against."""

    __slots__ = ("compressed", "left", "limits")

    def __init__(self, limits: Limits, compressed: int = 0) -> None:
        self.limits = limits
        self.left = limits.max_archive_bytes
        self.compressed = compressed

    @property
    def used(self) -> int:
        return self.limits.max_archive_bytes - self.left

    def set_compressed(self, size: int) -> None:
        """The outermost archive's size; the first archive opened sets it."""
        if self.compressed <= 0:
            self.compressed = max(size, 1)

    def cap(self) -> int:
        """Most bytes one more read may produce."""
        return min(self.limits.max_file_bytes, self.left)

    def over_cap(self, detail: str) -> LimitExceededError:
        """A read went past its cap: the file limit, or what is left of the budget. The
        finding names the limit with its setting (not the bytes left)."""
        if self.left < self.limits.max_file_bytes:
            return LimitExceededError("max_archive_bytes", self.limits.max_archive_bytes,
                                      f"{detail}; {self.left} bytes were left to decompress from this archive")
        return LimitExceededError("max_file_bytes", self.limits.max_file_bytes, detail)

    def take(self, amount: int, what: str) -> None:
        if amount > self.left:
            raise LimitExceededError("max_archive_bytes", self.limits.max_archive_bytes,
                                     f"{what} exceeds the bytes left to decompress from this archive")
        self.left -= amount
        self.check_ratio()

    def check_ratio(self) -> None:
        if self.compressed > 0:
            check_ratio(self.used, self.compressed, self.limits, "the archive as a whole")


def check_ratio(produced: int, compressed: int, limits: Limits, what: str) -> None:
    ratio_cap = limits.max_compression_ratio
    if produced > RATIO_GRACE and produced > ratio_cap * max(compressed, 1):
        raise LimitExceededError("max_compression_ratio", ratio_cap, f"{what} expands more than {ratio_cap}x")


class Source(Protocol):
    """Files of one artifact, addressed by relative posix member names."""

    limits: Limits
    budget: Budget

    def exists(self, name: str) -> bool:
        """Whether ``name`` is a regular file member."""
        ...

    def size(self, name: str) -> int: ...

    def names(self) -> list[str]:
        """Every regular file member, sorted (at most ``max_archive_entries``)."""
        ...

    def read(self, name: str) -> bytes:
        """A whole member, bounded by ``max_file_bytes`` and the budget."""
        ...

    def read_range(self, name: str, offset: int, size: int) -> bytes:
        """Up to ``size`` bytes at ``offset`` (fewer at the member's end), without reading
        the member whole where the source allows (files, stored zip members, tars)."""
        ...

    def local_path(self, name: str) -> Path | None:
        """The file on disk holding exactly this member, for readers that map or seek
        it; ``None`` when there is none or :meth:`read` would refuse it (it says why)."""
        ...


def join(prefix: str, name: str) -> str:
    return posixpath.join(prefix, name) if prefix else name


class SubSource:
    """The members of ``source`` below ``prefix`` (a SavedModel inside an archive or a
    directory), named relative to it."""

    def __init__(self, source: Source, prefix: str) -> None:
        self.source = source
        self.prefix = prefix.strip("/")
        self.limits = source.limits
        self.budget = source.budget

    def exists(self, name: str) -> bool:
        return self.source.exists(join(self.prefix, name))

    def size(self, name: str) -> int:
        return self.source.size(join(self.prefix, name))

    def names(self) -> list[str]:
        if not self.prefix:
            return self.source.names()
        start = self.prefix + "/"
        return [n[len(start):] for n in self.source.names() if n.startswith(start)]

    def read(self, name: str) -> bytes:
        return self.source.read(join(self.prefix, name))

    def read_range(self, name: str, offset: int, size: int) -> bytes:
        return self.source.read_range(join(self.prefix, name), offset, size)

    def local_path(self, name: str) -> Path | None:
        return self.source.local_path(join(self.prefix, name))


def sub(source: Source, prefix: str) -> Source:
    return source if not prefix.strip("/") else SubSource(source, prefix)


# -- a directory on disk ---------------------------------------------------------------


class DirSource:
    """Files under a directory on disk. A member that is a symlink resolving outside the
    directory is refused (TFL905), so a planted ``saved_model.pb -> /etc/shadow`` is never
    read. ``entry`` names a file the user named explicitly: it is read as named."""

    def __init__(self, root: Path, limits: Limits, budget: Budget | None = None, entry: str | None = None) -> None:
        self.root = root
        self.limits = limits
        self.budget = budget if budget is not None else Budget(limits)
        self.entry = entry
        self._real_root: str | None = None
        self._names: list[str] | None = None

    def _root(self) -> str:
        if self._real_root is None:
            self._real_root = os.path.realpath(self.root)
        return self._real_root

    def member_inside(self, name: str) -> bool:
        """Whether member ``name`` (symlinks resolved) lies inside the directory: only the
        member's own components are checked with ``lstat`` (the root is resolved once);
        a symlink among them, or a ``..``, gets the full resolution."""
        if name == self.entry:
            return True
        root = self._root()
        current = root
        for part in name.split("/"):
            if part in ("", ".", ".."):
                return under(self._path(name), root)
            current = os.path.join(current, part)
            try:
                mode = os.lstat(current).st_mode
            except OSError:
                return True  # missing: reading it fails on its own
            except ValueError:  # a NUL byte
                return False
            if stat.S_ISLNK(mode):
                return under(self._path(name), root)
        return True

    def _path(self, name: str) -> Path:
        return self.root.joinpath(*name.split("/"))

    def _checked(self, name: str) -> Path:
        if not self.member_inside(name):
            raise ArtifactError(Problem.UNSAFE_MEMBER,
                                f"{name} is a symlink pointing outside the model directory; not read")
        return self._path(name)

    def exists(self, name: str) -> bool:
        return self._path(name).is_file()

    def size(self, name: str) -> int:
        return self._path(name).stat().st_size

    def read(self, name: str) -> bytes:
        return read_file(self._checked(name), self.limits.max_file_bytes)

    def read_range(self, name: str, offset: int, size: int) -> bytes:
        path = self._checked(name)
        if offset < 0 or size < 0:
            raise ArtifactError(Problem.MALFORMED, f"negative range ({offset}, {size}) of {name}")
        with path.open("rb") as fh:
            fh.seek(offset)
            return fh.read(size)

    def local_path(self, name: str) -> Path | None:
        path = self._path(name)
        return path if path.is_file() and self.member_inside(name) else None

    def names(self) -> list[str]:
        if self._names is not None:
            return self._names
        out = []
        for dirpath, _, filenames in walk_tree(self.root):  # not rglob: it recurses per level
            for filename in filenames:
                path = Path(dirpath, filename)
                if path.is_file() and not path.is_symlink():
                    out.append(path.relative_to(self.root).as_posix())
            if len(out) > self.limits.max_archive_entries:
                raise LimitExceededError("max_archive_entries", self.limits.max_archive_entries,
                                         f"{self.root.name} holds more files than that")
        self._names = sorted(out)
        return self._names


# -- bytes in memory -------------------------------------------------------------------


class BytesSource:
    """Members held in memory (a decompressed gzip stream, a test's bytes)."""

    def __init__(self, members: Mapping[str, bytes], limits: Limits, budget: Budget | None = None) -> None:
        self.members = dict(members)
        self.limits = limits
        self.budget = budget if budget is not None else Budget(limits)

    def exists(self, name: str) -> bool:
        return name in self.members

    def size(self, name: str) -> int:
        return len(self.members[name])

    def names(self) -> list[str]:
        return sorted(self.members)

    def read(self, name: str) -> bytes:
        data = self.members[name]
        if len(data) > self.limits.max_file_bytes:
            raise LimitExceededError("max_file_bytes", self.limits.max_file_bytes,
                                     f"{name} is larger than {self.limits.max_file_bytes} bytes")
        return data

    def read_range(self, name: str, offset: int, size: int) -> bytes:
        return self.members[name][offset:offset + size]

    def local_path(self, name: str) -> Path | None:
        return None


# -- zip -------------------------------------------------------------------------------

ZIP_ERRORS: tuple[type[BaseException], ...] = (
    OSError, ValueError, EOFError, NotImplementedError, RuntimeError, UnicodeDecodeError, zlib.error, OverflowError)


def zip_errors() -> tuple[type[BaseException], ...]:
    """What reading a hostile zip can raise (CRC or header mismatch, unsupported method,
    truncated data, bad LZMA properties of a member: LZMAError is no OSError...)."""
    import lzma
    import zipfile

    return (zipfile.BadZipFile, zipfile.LargeZipFile, lzma.LZMAError, *ZIP_ERRORS)


class _Members(Generic[_Info]):
    """What the archive sources share: a table of the members safe to read."""

    def __init__(self, infos: Mapping[str, _Info], limits: Limits, budget: Budget) -> None:
        self.infos = dict(infos)
        self.limits = limits
        self.budget = budget

    def exists(self, name: str) -> bool:
        return name in self.infos

    def names(self) -> list[str]:
        return sorted(self.infos)

    def local_path(self, name: str) -> Path | None:
        return None


class ZipSource(_Members["zipfile.ZipInfo"]):
    """The regular members of a zip archive (opened from a file on disk or from bytes),
    those not refused by the archive's checks."""

    def __init__(self, zf: zipfile.ZipFile, infos: Mapping[str, zipfile.ZipInfo], limits: Limits,
                 budget: Budget) -> None:
        super().__init__(infos, limits, budget)
        self.zf = zf

    def size(self, name: str) -> int:
        return self.infos[name].file_size

    def read(self, name: str) -> bytes:
        """Stream one member with size, total and ratio checks (declared sizes can lie)."""

        info = self.infos[name]
        budget = self.budget
        cap = budget.cap()
        if info.flag_bits & 0x1:
            raise ArtifactError(Problem.UNSAFE_MEMBER,
                                f"member {info.filename!r} is encrypted; its content cannot be checked")
        if info.file_size > cap:
            raise budget.over_cap(f"{info.filename} declares {info.file_size} bytes")
        out = io.BytesIO()
        try:
            with self.zf.open(info) as fh:
                while True:
                    chunk = fh.read(CHUNK)
                    if not chunk:
                        break
                    out.write(chunk)
                    n = out.tell()
                    if n > cap:
                        raise budget.over_cap(f"{info.filename} decompresses past {cap} bytes")
                    check_ratio(n, info.compress_size, self.limits, info.filename)
        except zip_errors() as exc:
            # CRC or header mismatch, unsupported method (AES, ...), truncated data.
            raise ArtifactError(Problem.MALFORMED, f"cannot read member {info.filename!r}: {exc}") from None
        budget.take(out.tell(), info.filename)
        return out.getvalue()

    def read_range(self, name: str, offset: int, size: int) -> bytes:
        """A stored member is read at its offset; a compressed one is inflated up to the
        end of the range, every byte inflated counted against the budget."""
        import zipfile

        info = self.infos[name]
        if info.flag_bits & 0x1:
            raise ArtifactError(Problem.UNSAFE_MEMBER, f"member {info.filename!r} is encrypted")
        if offset < 0 or size < 0:
            raise ArtifactError(Problem.MALFORMED, f"negative range ({offset}, {size}) of {name}")
        offset = min(offset, info.file_size)
        size = min(size, info.file_size - offset)
        fp = self.zf.fp
        try:
            if info.compress_type == zipfile.ZIP_STORED and fp is not None:
                fp.seek(info.header_offset)
                header = fp.read(30)
                if len(header) != 30 or header[:4] != b"PK\x03\x04":
                    raise ArtifactError(Problem.MALFORMED, f"bad local header for zip member {info.filename!r}")
                name_len, extra_len = struct.unpack_from("<HH", header, 26)
                fp.seek(info.header_offset + 30 + name_len + extra_len + offset)
                return bytes(fp.read(size))
            end = offset + size
            if end > self.budget.cap():
                raise self.budget.over_cap(f"reading {info.filename} up to byte {end}")
            # Checked before inflating: the read inflates every byte up to ``end``.
            check_ratio(end, info.compress_size, self.limits, info.filename)
            if self.budget.compressed > 0:
                check_ratio(self.budget.used + end, self.budget.compressed, self.limits, "the archive as a whole")
            with self.zf.open(info) as fh:
                fh.seek(offset)
                data = fh.read(size)
            self.budget.take(end, info.filename)
            check_ratio(end, info.compress_size, self.limits, info.filename)
            return data
        except zip_errors() as exc:
            raise ArtifactError(Problem.MALFORMED, f"cannot read zip member {info.filename!r}: {exc}") from None


# -- tar -------------------------------------------------------------------------------


def tar_member_name(info: tarfile.TarInfo) -> str:
    name = info.name
    while name.startswith("./"):
        name = name[2:]
    return name


class TarSource(_Members["tarfile.TarInfo"]):
    """The regular members of a tar archive held in memory (already decompressed).
    Links and devices are reported by the loader and never followed."""

    def __init__(self, tar: tarfile.TarFile, infos: Mapping[str, tarfile.TarInfo], limits: Limits,
                 budget: Budget) -> None:
        super().__init__(infos, limits, budget)
        self.tar = tar

    def size(self, name: str) -> int:
        return self.infos[name].size

    def read(self, name: str) -> bytes:
        """Read one regular member in chunks; the declared size is checked first (sparse
        members declare their expanded size). Every member read counts against the
        budget, as members of any archive do."""
        import tarfile

        info = self.infos[name]
        cap = self.budget.cap()
        if info.size > cap:
            raise self.budget.over_cap(f"{info.name} declares {info.size} bytes")
        out = io.BytesIO()
        try:
            fh = self.tar.extractfile(info)
            if fh is None:
                return b""
            with fh:
                while True:
                    chunk = fh.read(CHUNK)
                    if not chunk:
                        break
                    out.write(chunk)
                    if out.tell() > cap:
                        raise self.budget.over_cap(f"{info.name} is larger than {cap} bytes")
        except (tarfile.TarError, EOFError, OSError, ValueError) as exc:
            raise ArtifactError(Problem.MALFORMED, f"cannot read member {info.name!r}: {exc}") from None
        self.budget.take(out.tell(), info.name)
        return out.getvalue()

    def read_range(self, name: str, offset: int, size: int) -> bytes:
        import tarfile

        info = self.infos[name]
        if offset < 0 or size < 0:
            raise ArtifactError(Problem.MALFORMED, f"negative range ({offset}, {size}) of {name}")
        try:
            fh = self.tar.extractfile(info)
            if fh is None:
                return b""
            with fh:
                fh.seek(offset)
                return fh.read(size)
        except (tarfile.TarError, OSError, EOFError, ValueError, OverflowError) as exc:
            raise ArtifactError(Problem.MALFORMED, f"cannot read tar member {info.name!r}: {exc}") from None


def cheap_ranges(source: Source, name: str) -> bool:
    """Whether reading a few bytes far into member ``name`` costs no decompression: true
    of files, bytes in memory and tar members (the tar is in memory), false of a
    compressed zip member, which is inflated from its start up to the range."""
    while isinstance(source, SubSource):
        name = join(source.prefix, name)
        source = source.source
    if isinstance(source, ZipSource):
        import zipfile

        info = source.infos.get(name)
        return info is not None and info.compress_type == zipfile.ZIP_STORED
    return True


# -- streams ---------------------------------------------------------------------------


def inflate(data: bytes, wbits: int, limits: Limits, budget: Budget, what: str) -> bytes:
    """Inflate zlib/gzip data (``wbits``: 16 + MAX_WBITS for gzip, whose concatenated
    members are all read, as gzip(1) does) with streaming limits; each gzip member counts
    as an archive entry."""
    cap = budget.cap()
    out = io.BytesIO()
    pending = data
    members = 0
    while pending:
        members += 1
        if members > limits.max_archive_entries:
            raise LimitExceededError("max_archive_entries", limits.max_archive_entries,
                                     f"{what} has more members than that")
        dec = zlib.decompressobj(wbits)
        feed = pending
        while True:
            try:
                chunk = dec.decompress(feed, CHUNK)
            except zlib.error as exc:
                raise ArtifactError(Problem.MALFORMED, f"corrupt {what}: {exc}") from None
            out.write(chunk)
            n = out.tell()
            if n > cap:
                raise budget.over_cap(f"{what} decompresses past {cap} bytes")
            check_ratio(n, len(data), limits, what)
            feed = dec.unconsumed_tail
            if dec.eof or (not chunk and not feed):
                break
        if not dec.eof:
            raise ArtifactError(Problem.MALFORMED, f"truncated {what}")
        pending = dec.unused_data
        if pending and not pending.startswith(b"\x1f\x8b"):
            break  # trailing garbage after the last member: ignored, as gzip(1) does
    budget.take(out.tell(), what)
    return out.getvalue()


def gunzip(data: bytes, limits: Limits, budget: Budget, what: str = "gzip stream") -> bytes:
    return inflate(data, 16 + zlib.MAX_WBITS, limits, budget, what)


def decompress_stream(kind: str, data: bytes, limits: Limits, budget: Budget, what: str) -> bytes:
    """Decompress a whole ``gzip``, ``bzip2`` or ``xz`` stream with the same limits."""
    if kind == "gzip":
        return gunzip(data, limits, budget, what)
    errors: tuple[type[BaseException], ...] = (OSError, EOFError, ValueError)
    if kind == "bzip2":
        import bz2

        factory: Callable[[], Any] = bz2.BZ2Decompressor
    elif kind == "xz":
        import lzma

        factory = lzma.LZMADecompressor
        errors += (lzma.LZMAError,)
    else:
        raise ArtifactError(Problem.MALFORMED, f"unknown compression {kind!r}")
    cap = budget.cap()
    out = io.BytesIO()
    pending = data
    members = 0
    while pending:
        members += 1
        if members > limits.max_archive_entries:
            raise LimitExceededError("max_archive_entries", limits.max_archive_entries,
                                     f"{what} has more streams than that")
        dec = factory()
        try:
            chunk = dec.decompress(pending, CHUNK)
            while True:
                out.write(chunk)
                n = out.tell()
                if n > cap:
                    raise budget.over_cap(f"{what} decompresses past {cap} bytes")
                check_ratio(n, len(data), limits, what)
                if dec.eof or dec.needs_input:
                    break
                chunk = dec.decompress(b"", CHUNK)
        except errors as exc:
            raise ArtifactError(Problem.MALFORMED, f"corrupt {what}: {exc}") from None
        if not dec.eof:
            raise ArtifactError(Problem.MALFORMED, f"truncated {what}")
        pending = dec.unused_data
    budget.take(out.tell(), what)
    return out.getvalue()
