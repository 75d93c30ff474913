"""Expand command-line paths into artifacts to lint (flake8's expand_paths, for models).

* A directory holding ``saved_model.pb`` or ``saved_model.pbtxt`` is one SavedModel.
* Any file inside a SavedModel (``variables/``, ``assets/``, ``fingerprint.pb``,
  ``keras_metadata.pb``...) maps to its root; each root is linted once.
* Other directories are searched recursively (sorted), for SavedModels and regular files
  whose name marks a model. Symlinked directories are not descended into, and a
  symlinked file pointing outside the directory being searched is not followed (a
  checked-out repository must not make the linter read ``/etc`` or ``~/.ssh``); such
  links are reported as notes. ``follow_symlinks`` (``--follow-symlinks``) follows every
  link, walking each real directory once. Fifos, sockets and devices are skipped.
* Files named explicitly are always linted, whatever their name.
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

from tfmodel_lint._records import dataclass
from tfmodel_lint.sources import inside, within

SAVED_MODEL_FILES = ("saved_model.pb", "saved_model.pbtxt")
MODEL_SUFFIXES = (".pb", ".pbtxt", ".zip", ".h5", ".hdf5", ".keras", ".tflite", ".meta", ".tar", ".tgz", ".tar.gz")
#: How many directory levels above a file to look for a SavedModel root.
MAX_ROOT_LEVELS = 4


@dataclass(frozen=True, slots=True)
class Target:
    path: Path
    kind: str  # "savedmodel_dir", "file", "empty_dir", "missing"
    display: str

    def sort_key(self) -> str:
        return self.display


def display_path(path: Path, real_base: str | None = None, real: str | None = None) -> str:
    """``path`` relative to ``real_base`` (default: the working directory), both with
    symlinks resolved; as given when it lies elsewhere. ``real``: ``path`` resolved."""
    rel = within(os.path.realpath(path) if real is None else real,
                 os.path.realpath(os.getcwd()) if real_base is None else real_base)
    if rel is None:
        return path.as_posix()
    return Path(rel).as_posix() if rel else "."


def is_savedmodel_dir(path: Path) -> bool:
    return any((path / name).is_file() for name in SAVED_MODEL_FILES)


def savedmodel_root(path: Path) -> Path | None:
    """The SavedModel directory a file belongs to, if any."""
    current = path.parent
    for _ in range(MAX_ROOT_LEVELS):
        if is_savedmodel_dir(current):
            return current
        if current.parent == current:
            break
        current = current.parent
    return None


def _excluded(path: Path, excludes: Sequence[str]) -> bool:
    posix = path.as_posix()
    return any(fnmatch.fnmatch(posix, pat) or fnmatch.fnmatch(path.name, pat) for pat in excludes)


def looks_like_model_file(path: Path) -> bool:
    name = path.name.lower()
    if name.endswith(".gz") and not name.endswith(".tar.gz"):
        name = name[:-3]  # a compressed model file: model.pb.gz, model.tflite.gz
    return name.endswith(MODEL_SUFFIXES) or name == "model.json"


def _link_allowed(path: Path, root: Path, follow_symlinks: bool) -> bool:
    """A symlink found while walking ``root`` is followed only when it stays inside
    ``root`` (or when the caller asked to follow every link)."""
    return follow_symlinks or inside(path, root)


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


def _realpath(path: Path) -> str | None:
    try:
        return os.path.realpath(path, strict=True)
    except (OSError, RuntimeError, ValueError):
        return None


def _walk(root: Path, excludes: Sequence[str], follow_symlinks: bool = False,
          skipped: list[str] | None = None) -> Iterable[Path]:
    """Model directories and files under root; does not descend into a SavedModel.

    Without ``follow_symlinks`` symlinked directories are never descended into and a
    symlinked file is linted only if it points inside ``root``; links leaving ``root``
    are named in ``skipped``. With it, every link is followed, each real directory is
    walked once (no loops). Only regular files are yielded: opening a fifo blocks.
    """
    seen_dirs = {_realpath(root)} if follow_symlinks else set()
    for dirpath, dirnames, filenames in walk_tree(root, followlinks=follow_symlinks):
        here = Path(dirpath)
        if here != root and _excluded(here, excludes):
            dirnames[:] = []
            continue
        if is_savedmodel_dir(here):
            dirnames[:] = []
            yield here
            continue
        keep = []
        for name in sorted(dirnames):
            sub = here / name
            if sub.is_symlink() and not follow_symlinks:
                if skipped is not None and not _link_allowed(sub, root, False) and not _excluded(sub, excludes):
                    skipped.append(f"{sub}: symlinked directory leaving {root}, not followed (--follow-symlinks)")
                continue
            if follow_symlinks:  # without links followed, no directory can be reached twice
                real = _realpath(sub)
                if real is None or real in seen_dirs:
                    continue
                seen_dirs.add(real)
            keep.append(name)
        dirnames[:] = keep
        for name in sorted(filenames):
            path = here / name
            if _excluded(path, excludes):
                continue
            if path.is_symlink() and not _link_allowed(path, root, follow_symlinks):
                if skipped is not None and looks_like_model_file(path):
                    skipped.append(f"{path}: symlink leaving {root}, not followed (--follow-symlinks)")
                continue
            if looks_like_model_file(path) and path.is_file():
                yield path


def expand_paths(paths: Sequence[str], excludes: Sequence[str] = (), base: Path | None = None,
                 follow_symlinks: bool = False, skipped: list[str] | None = None) -> list[Target]:
    """Targets for ``paths``; symlinks a directory search did not follow are appended to
    ``skipped`` (one message each) when it is given."""
    found: dict[str, Target] = {}
    real_base = os.path.realpath(base or os.getcwd())

    def add(path: Path, kind: str) -> None:
        real = os.path.realpath(path)
        key = real if path.exists() else str(path)
        if key not in found:
            found[key] = Target(path, kind, display_path(path, real_base=real_base, real=real))

    for raw in paths:
        path = Path(raw)
        if not path.exists() and not path.is_symlink():
            add(path, "missing")
            continue
        if path.is_dir():
            if is_savedmodel_dir(path):
                add(path, "savedmodel_dir")
                continue
            root = savedmodel_root(path / "x")
            if root is not None and root != path:
                add(root, "savedmodel_dir")
                continue
            before = len(found)
            for item in _walk(path, excludes, follow_symlinks, skipped):
                add(item, "savedmodel_dir" if item.is_dir() else "file")
            if len(found) == before:
                add(path, "empty_dir")
            continue
        root = savedmodel_root(path)
        if root is not None:
            add(root, "savedmodel_dir")
        else:
            add(path, "file")
    return sorted(found.values(), key=Target.sort_key)
