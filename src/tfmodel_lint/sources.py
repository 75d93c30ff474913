"""Read-only views of an artifact's files: a directory on disk or a zip held in memory.

Nothing is ever extracted or written. Reads are bounded by :class:`Limits`: sizes are
checked before reading and decompression is streamed with a running total and ratio.
"""

from __future__ import annotations

import io
import posixpath
import zipfile
from pathlib import Path
from typing import Protocol

from tfmodel_lint.limits import Limits, LimitExceededError


class Source(Protocol):
    """Files of one artifact, addressed by relative posix names."""

    def read(self, name: str) -> bytes: ...

    def exists(self, name: str) -> bool: ...

    def names(self) -> list[str]: ...

    def size(self, name: str) -> int: ...


class DirSource:
    def __init__(self, root: Path, limits: Limits) -> None:
        self.root = root
        self.limits = limits

    def _path(self, name: str) -> Path:
        return self.root.joinpath(*name.split("/"))

    def exists(self, name: str) -> bool:
        return self._path(name).is_file()

    def size(self, name: str) -> int:
        return self._path(name).stat().st_size

    def read(self, name: str) -> bytes:
        return read_file(self._path(name), self.limits)

    def names(self) -> list[str]:
        out = []
        for path in sorted(self.root.rglob("*")):
            if path.is_file() and not path.is_symlink():
                out.append(path.relative_to(self.root).as_posix())
            if len(out) > self.limits.max_archive_entries:
                break
        return out


def read_file(path: Path, limits: Limits, max_bytes: int | None = None) -> bytes:
    cap = limits.max_file_bytes if max_bytes is None else max_bytes
    with path.open("rb") as fh:
        data = fh.read(cap + 1)
    if len(data) > cap:
        raise LimitExceededError("max_file_bytes", cap, f"{path.name} is larger than {cap} bytes")
    return data


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
    cap = min(limits.max_file_bytes, budget[0])
    if info.flag_bits & 0x1:
        raise LimitExceededError("encrypted", "unsupported", f"{info.filename} is encrypted")
    if info.file_size > cap:
        raise LimitExceededError(
            "max_archive_bytes" if budget[0] < limits.max_file_bytes else "max_file_bytes",
            cap, f"{info.filename} declares {info.file_size} bytes",
        )
    ratio_cap = limits.max_compression_ratio
    out = io.BytesIO()
    with zf.open(info) as fh:
        while True:
            chunk = fh.read(1 << 20)
            if not chunk:
                break
            out.write(chunk)
            n = out.tell()
            if n > cap:
                raise LimitExceededError("max_archive_bytes", cap, f"{info.filename} decompresses past {cap} bytes")
            if n > (1 << 20) and n > ratio_cap * max(info.compress_size, 1):
                raise LimitExceededError(
                    "max_compression_ratio", ratio_cap, f"{info.filename} expands more than {ratio_cap}x"
                )
    budget[0] -= out.tell()
    return out.getvalue()
