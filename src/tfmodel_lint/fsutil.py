"""File-system helpers shared by discovery and the sources: a walk that does not recurse,
"is this path inside that directory" with symlinks resolved, and a bounded file read.

A leaf module (it imports only the standard library and :mod:`tfmodel_lint.errors`).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from tfmodel_lint.errors import LimitExceededError

#: Read size for files that grow while read or report no size.
CHUNK = 1 << 20


def walk_tree(top: Path | str, followlinks: bool = False) -> Iterator[tuple[str, list[str], list[str]]]:
    """``os.walk`` top-down, without recursion: on Python 3.11 ``os.walk`` (and
    ``Path.rglob``) recurse once per level, so a checkout with a thousand nested
    directories ended the whole run with RecursionError. Prune by editing the yielded
    directory names; unreadable directories are skipped."""
    stack = [os.fspath(top)]
    while stack:
        here = stack.pop()
        dirs: list[str] = []
        files: list[str] = []
        try:
            with os.scandir(here) as entries:
                for entry in entries:
                    try:
                        is_dir = entry.is_dir()
                    except OSError:
                        is_dir = False
                    (dirs if is_dir else files).append(entry.name)
        except OSError:
            continue
        yield here, dirs, files
        for name in reversed(dirs):
            path = os.path.join(here, name)
            if followlinks or not os.path.islink(path):
                stack.append(path)


def real_or_none(path: Path | str) -> str | None:
    """``path`` with every symlink resolved, or ``None`` when it is missing, loops or is invalid."""
    try:
        return os.path.realpath(path, strict=True)
    except (OSError, RuntimeError, ValueError):
        return None


def within(real: str, real_root: str) -> str | None:
    """``real`` relative to ``real_root`` (``""`` for the root itself), or ``None`` when
    it lies elsewhere; both paths already resolved."""
    if real == real_root:
        return ""
    prefix = real_root if real_root.endswith(os.sep) else real_root + os.sep
    return real[len(prefix):] if real.startswith(prefix) else None


def under(path: Path | str, real_root: str) -> bool:
    """Whether ``path`` (symlinks resolved) lies inside the already resolved ``real_root``."""
    try:
        real = os.path.realpath(path)
    except (OSError, RuntimeError, ValueError):  # symlink loops, NUL bytes
        return False
    return within(real, real_root) is not None


def inside(path: Path | str, root: Path | str) -> bool:
    """Whether ``path`` (symlinks resolved) lies inside ``root`` (symlinks resolved)."""
    return under(path, os.path.realpath(root))


def read_file(path: Path, cap: int) -> bytes:
    """Read a whole file of at most ``cap`` bytes (``max_file_bytes``). A file whose size
    is over the cap is refused before reading; otherwise the read is sized by the file
    (``read(cap + 1)`` would allocate the whole cap for every small file) and continues
    in chunks for files that grow or report no size."""
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


def read_head(path: Path, size: int) -> bytes:
    """The first ``size`` bytes of a file (fewer when it is shorter)."""
    with path.open("rb") as fh:
        return fh.read(size)


class TextFileError(Exception):
    """A small text file the user named cannot be used (the message says why)."""


#: Largest configuration, baseline or signatures file read.
MAX_TEXT_FILE_BYTES = 64 << 20


def read_small_text(path: Path, what: str, cap: int = MAX_TEXT_FILE_BYTES) -> str:
    """A small UTF-8 text file the user points at (configuration, baseline, signatures):
    a regular file of at most ``cap`` bytes, never a device or a pipe (``/dev/zero`` is
    refused, not read until memory runs out)."""
    import stat

    try:
        with path.open("rb") as fh:
            if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
                raise TextFileError(f"{what} {path} is not a regular file")
            data = fh.read(cap + 1)
    except OSError as exc:
        raise TextFileError(f"cannot read {what} {path}: {exc.strerror or exc}") from None
    if len(data) > cap:
        raise TextFileError(f"{what} {path} is larger than {cap} bytes")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise TextFileError(f"{what} {path} is not UTF-8: {exc}") from None
