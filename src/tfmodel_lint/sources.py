"""Read-only views of an artifact's files: a directory on disk, or a zip or tar archive
held in memory.

Nothing is ever extracted or written. Reads are bounded by :class:`Limits`: sizes are
checked before reading and decompression is streamed with a running total and ratio.
A budget (``list[int]`` holding the bytes still allowed) is shared by every read from
one archive, nested archives included, so a bomb cannot spread its output over many
members or levels.
"""

from __future__ import annotations

import io
import os
import posixpath
import stat
import zlib
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from tfmodel_lint.limits import LimitExceededError, Limits

if TYPE_CHECKING:
    import tarfile
    import zipfile

#: Inflating less than this never trips the compression-ratio limit (tiny members
#: legitimately compress far better than 200:1).
RATIO_GRACE = 1 << 20
CHUNK = 1 << 20


class Source(Protocol):
    """Files of one artifact, addressed by relative posix names."""

    def read(self, name: str) -> bytes: ...

    def exists(self, name: str) -> bool: ...

    def names(self) -> list[str]: ...

    def size(self, name: str) -> int: ...


class DirSource:
    """A SavedModel directory. A member that is a symlink resolving outside the directory
    is refused (TFL905), so a planted ``saved_model.pb -> /etc/shadow`` is never read."""

    def __init__(self, root: Path, limits: Limits) -> None:
        self.root = root
        self.limits = limits
        self._real_root: str | None = None

    def _root(self) -> str:
        if self._real_root is None:
            self._real_root = os.path.realpath(self.root)
        return self._real_root

    def member_inside(self, name: str) -> bool:
        """Whether member ``name`` (symlinks resolved) lies inside the directory: only the
        member's own components are checked with ``lstat`` (the root is resolved once);
        a symlink among them, or a ``..``, gets the full resolution."""
        root = self._root()
        current = root
        for part in name.split("/"):
            if part in ("", ".", ".."):
                return _under(self._path(name), root)
            current = os.path.join(current, part)
            try:
                mode = os.lstat(current).st_mode
            except OSError:
                return True  # missing: reading it fails on its own
            except ValueError:  # a NUL byte
                return False
            if stat.S_ISLNK(mode):
                return _under(self._path(name), root)
        return True

    def _path(self, name: str) -> Path:
        return self.root.joinpath(*name.split("/"))

    def exists(self, name: str) -> bool:
        return self._path(name).is_file()

    def size(self, name: str) -> int:
        return self._path(name).stat().st_size

    def read(self, name: str) -> bytes:
        path = self._path(name)
        if not self.member_inside(name):
            from tfmodel_lint.loaders import UNSAFE_MEMBER, ArtifactError

            raise ArtifactError(UNSAFE_MEMBER, f"{name} is a symlink pointing outside the model directory; not read")
        return read_file(path, self.limits)

    def local_path(self, name: str) -> Path | None:
        """The file on disk that :meth:`read` would read, for a streamed reader; ``None``
        when ``read`` would refuse it (then ``read`` says why)."""
        path = self._path(name)
        return path if path.is_file() and self.member_inside(name) else None

    def names(self) -> list[str]:
        from tfmodel_lint.discovery import walk_tree

        out = []
        for dirpath, _, filenames in walk_tree(self.root):  # not rglob: it recurses per level
            for name in filenames:
                path = Path(dirpath, name)
                if path.is_file() and not path.is_symlink():
                    out.append(path.relative_to(self.root).as_posix())
            if len(out) > self.limits.max_archive_entries:
                raise LimitExceededError("max_archive_entries", self.limits.max_archive_entries,
                                         f"{self.root.name} holds more files than that")
        return sorted(out)


def inside(path: Path, root: Path) -> bool:
    """Whether ``path`` (symlinks resolved) lies inside ``root`` (symlinks resolved)."""
    return _under(path, os.path.realpath(root))


def within(real: str, real_root: str) -> str | None:
    """``real`` relative to ``real_root`` (``""`` for the root itself), or ``None`` when
    it lies elsewhere; both paths already resolved."""
    if real == real_root:
        return ""
    prefix = real_root if real_root.endswith(os.sep) else real_root + os.sep
    return real[len(prefix):] if real.startswith(prefix) else None


def _under(path: Path, real_root: str) -> bool:
    try:
        real = os.path.realpath(path)
    except (OSError, RuntimeError, ValueError):  # symlink loops, NUL bytes
        return False
    return within(real, real_root) is not None


def read_file(path: Path, limits: Limits, max_bytes: int | None = None) -> bytes:
    """Read a whole file of at most ``max_bytes`` (default ``max_file_bytes``). A file
    whose size is over the cap is refused before reading; otherwise the read is sized by
    the file (``read(cap + 1)`` would allocate the whole cap, 512 MiB, for every small
    file) and continues in chunks for files that grow or report no size."""
    cap = limits.max_file_bytes if max_bytes is None else max_bytes
    with path.open("rb") as fh:
        size = os.fstat(fh.fileno()).st_size
        if size > cap:
            raise LimitExceededError("max_file_bytes", cap, f"{path.name} is larger than {cap} bytes")
        chunks = [fh.read(size + 1)] if size else []
        total = len(chunks[0]) if chunks else 0
        while total <= cap and (not chunks or total > size):
            chunk = fh.read(min(CHUNK, cap + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
    if total > cap:
        raise LimitExceededError("max_file_bytes", cap, f"{path.name} is larger than {cap} bytes")
    return b"".join(chunks)


class ZipSource:
    """A zip archive in memory, optionally rooted at a folder inside it."""

    def __init__(self, zf: zipfile.ZipFile, prefix: str, limits: Limits, budget: list[int] | None = None) -> None:
        self.zf = zf
        self.prefix = prefix
        self.limits = limits
        self._budget = budget if budget is not None else [limits.max_archive_bytes]
        self._infos = {info.filename: info for info in zf.infolist()}

    def _full(self, name: str) -> str:
        return posixpath.join(self.prefix, name) if self.prefix else name

    def exists(self, name: str) -> bool:
        return self._full(name) in self._infos

    def size(self, name: str) -> int:
        return self._infos[self._full(name)].file_size

    def names(self) -> list[str]:
        n = len(self.prefix) + 1 if self.prefix else 0
        return sorted(k[n:] for k in self._infos if k.startswith(self.prefix) and not k.endswith("/"))

    def read(self, name: str) -> bytes:
        info = self._infos[self._full(name)]
        return read_member(self.zf, info, self.limits, self._budget)


def read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, limits: Limits, budget: list[int]) -> bytes:
    """Stream one member with size, total and ratio checks (declared sizes can lie)."""
    import zipfile

    cap = min(limits.max_file_bytes, budget[0])
    if info.flag_bits & 0x1:
        from tfmodel_lint.loaders import UNSAFE_MEMBER, ArtifactError

        raise ArtifactError(UNSAFE_MEMBER, f"member {info.filename!r} is encrypted; its content cannot be checked")
    if info.file_size > cap:
        raise over_cap(limits, budget, f"{info.filename} declares {info.file_size} bytes")
    out = io.BytesIO()
    try:
        with zf.open(info) as fh:
            while True:
                chunk = fh.read(CHUNK)
                if not chunk:
                    break
                out.write(chunk)
                n = out.tell()
                if n > cap:
                    raise over_cap(limits, budget, f"{info.filename} decompresses past {cap} bytes")
                check_ratio(n, info.compress_size, limits, info.filename)
    except (zipfile.BadZipFile, zlib.error, NotImplementedError, EOFError, OSError, ValueError, RuntimeError,
            UnicodeDecodeError) as exc:
        # CRC or header mismatch, unsupported method (AES, ...), truncated data.
        from tfmodel_lint.loaders import MALFORMED, ArtifactError

        raise ArtifactError(MALFORMED, f"cannot read member {info.filename!r}: {exc}") from None
    take_budget(budget, out.tell(), limits, info.filename)
    return out.getvalue()


def over_cap(limits: Limits, budget: list[int], detail: str) -> LimitExceededError:
    """A read went past its cap: the file limit, or what is left of the archive's budget.
    The finding names the limit with its setting (not the bytes left)."""
    if budget[0] < limits.max_file_bytes:
        return LimitExceededError("max_archive_bytes", limits.max_archive_bytes,
                                  f"{detail}; {budget[0]} bytes were left to decompress from this archive")
    return LimitExceededError("max_file_bytes", limits.max_file_bytes, detail)


def check_ratio(produced: int, compressed: int, limits: Limits, what: str) -> None:
    ratio_cap = limits.max_compression_ratio
    if produced > RATIO_GRACE and produced > ratio_cap * max(compressed, 1):
        raise LimitExceededError("max_compression_ratio", ratio_cap, f"{what} expands more than {ratio_cap}x")


def take_budget(budget: list[int], amount: int, limits: Limits, what: str) -> None:
    if amount > budget[0]:
        raise LimitExceededError("max_archive_bytes", limits.max_archive_bytes,
                                 f"{what} exceeds the bytes left to decompress from this archive")
    budget[0] -= amount


def gunzip(data: bytes, limits: Limits, budget: list[int], what: str = "gzip stream") -> bytes:
    """Inflate gzip data (several concatenated members too) with streaming limits."""
    cap = min(limits.max_file_bytes, budget[0])
    out = io.BytesIO()
    pending = data
    while pending:
        dec = zlib.decompressobj(16 + zlib.MAX_WBITS)
        feed = pending
        while True:
            try:
                chunk = dec.decompress(feed, CHUNK)
            except zlib.error as exc:
                from tfmodel_lint.loaders import MALFORMED, ArtifactError

                raise ArtifactError(MALFORMED, f"corrupt {what}: {exc}") from None
            out.write(chunk)
            n = out.tell()
            if n > cap:
                raise over_cap(limits, budget, f"{what} decompresses past {cap} bytes")
            check_ratio(n, len(data), limits, what)
            feed = dec.unconsumed_tail
            if dec.eof or (not chunk and not feed):
                break
        if not dec.eof:
            from tfmodel_lint.loaders import MALFORMED, ArtifactError

            raise ArtifactError(MALFORMED, f"truncated {what}")
        pending = dec.unused_data
        if pending and not pending.startswith(b"\x1f\x8b"):
            break  # trailing garbage after the last member: ignored, as gzip(1) does
    take_budget(budget, out.tell(), limits, what)
    return out.getvalue()


def tar_members(tar: tarfile.TarFile, limits: Limits) -> list[tarfile.TarInfo]:
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


def tar_member_name(info: tarfile.TarInfo) -> str:
    name = info.name
    while name.startswith("./"):
        name = name[2:]
    return name


class TarSource:
    """A tar archive in memory (already decompressed), optionally rooted at a folder.

    Only regular files are members; links and devices are reported by the loader and
    never followed.
    """

    def __init__(self, tar: tarfile.TarFile, members: list[tarfile.TarInfo], prefix: str, limits: Limits,
                 budget: list[int]) -> None:
        self.tar = tar
        self.prefix = prefix
        self.limits = limits
        self._budget = budget
        self._infos: dict[str, tarfile.TarInfo] = {}
        for info in members:
            if info.isreg():
                self._infos.setdefault(tar_member_name(info), info)

    def _full(self, name: str) -> str:
        return posixpath.join(self.prefix, name) if self.prefix else name

    def exists(self, name: str) -> bool:
        return self._full(name) in self._infos

    def size(self, name: str) -> int:
        return self._infos[self._full(name)].size

    def names(self) -> list[str]:
        n = len(self.prefix) + 1 if self.prefix else 0
        return sorted(k[n:] for k in self._infos if k.startswith(self.prefix))

    def read(self, name: str) -> bytes:
        return read_tar_member(self.tar, self._infos[self._full(name)], self.limits, self._budget)


def read_tar_member(tar: tarfile.TarFile, info: tarfile.TarInfo, limits: Limits, budget: list[int]) -> bytes:
    """Read one regular member in chunks; the declared size is checked first (sparse
    members declare their expanded size)."""
    import tarfile

    cap = min(limits.max_file_bytes, budget[0])
    if info.size > cap:
        raise over_cap(limits, budget, f"{info.name} declares {info.size} bytes")
    out = io.BytesIO()
    try:
        fh = tar.extractfile(info)
        if fh is None:
            return b""
        with fh:
            while True:
                chunk = fh.read(CHUNK)
                if not chunk:
                    break
                out.write(chunk)
                if out.tell() > cap:
                    raise over_cap(limits, budget, f"{info.name} is larger than {cap} bytes")
    except (tarfile.TarError, EOFError, OSError, ValueError) as exc:
        from tfmodel_lint.loaders import MALFORMED, ArtifactError

        raise ArtifactError(MALFORMED, f"cannot read member {info.name!r}: {exc}") from None
    take_budget(budget, out.tell(), limits, info.name)
    return out.getvalue()
