"""Entry-point discovery: the plugins of the installed environment.

A pre-commit hook starts on every commit, and ``importlib.metadata`` (with ``email``,
``zipfile``, ``csv``...) costs more than the rest of a small lint. So where every import
path entry is a plain directory, the entry points of installed distributions are read
straight from ``*.dist-info/entry_points.txt`` (or ``*.egg-info``), a small INI file, in
``sys.path`` order, the first distribution of a name winning, as ``importlib.metadata``
does; anything else (a zip file on the path, a meta-path finder that provides
distributions) goes through ``importlib.metadata`` itself. A test compares the two.

Plugins come from the installed environment only: the working directory (which
``python -m`` and ``-c`` put on the path) is never searched, so a checkout being linted
cannot plant a fake ``*.dist-info``.
"""

from __future__ import annotations

import importlib
import os
import re
import sys
from collections.abc import Iterable

from tfmodel_lint._records import dataclass

_NORMALIZE = re.compile(r"[-_.]+")
#: Meta-path finders that never provide distributions of their own.
_PLAIN_FINDERS = frozenset({"BuiltinImporter", "FrozenImporter", "PathFinder"})


@dataclass(frozen=True)
class EntryPoint:
    name: str
    value: str
    group: str
    dist: str

    def load(self) -> object:
        module, _, attr = self.value.partition(":")
        obj: object = importlib.import_module(module.strip())
        for part in attr.strip().split(".") if attr.strip() else ():
            obj = getattr(obj, part)
        return obj


def search_path(paths: Iterable[str] | None = None) -> list[str]:
    """The import path without the working directory."""
    cwd = os.path.realpath(os.getcwd())
    out = []
    for entry in sys.path if paths is None else paths:
        if entry == "" or os.path.realpath(entry) == cwd:
            continue
        out.append(entry)
    return out


def _dist_dirs(paths: Iterable[str]) -> Iterable[tuple[str, str]]:
    for base in paths:
        try:
            entries = sorted(os.scandir(base), key=lambda e: e.name)
        except OSError:
            continue
        for entry in entries:
            if entry.name.endswith((".dist-info", ".egg-info")) and entry.is_dir():
                name = entry.name.rsplit(".", 1)[0].split("-", 1)[0]
                yield _NORMALIZE.sub("-", name).lower(), entry.path


def parse(text: str, dist: str) -> list[EntryPoint]:
    out: list[EntryPoint] = []
    group = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            group = line[1:-1].strip()
            continue
        if group is None or "=" not in line:
            continue
        name, _, value = line.partition("=")
        value = value.split("[", 1)[0].strip()  # drop "[extras]"
        out.append(EntryPoint(name.strip(), value, group, dist))
    return out


def fast_path_applies(paths: Iterable[str]) -> bool:
    """Whether reading ``*.dist-info`` directories finds what ``importlib.metadata``
    would: every path entry a directory (or missing), and no other meta-path finder."""
    for finder in sys.meta_path:
        name = finder.__name__ if isinstance(finder, type) else type(finder).__name__
        if name not in _PLAIN_FINDERS and hasattr(finder, "find_distributions"):
            return False
    return all(os.path.isdir(p) or not os.path.exists(p) for p in paths)


def _standard(group: str, paths: list[str]) -> list[EntryPoint]:
    from importlib.metadata import distributions

    seen: set[str] = set()
    found: list[EntryPoint] = []
    for dist in distributions(path=paths):
        name = _NORMALIZE.sub("-", dist.metadata["Name"] or "").lower()
        if name in seen:
            continue
        seen.add(name)
        found.extend(EntryPoint(ep.name, ep.value, ep.group, name) for ep in dist.entry_points if ep.group == group)
    return found


def entry_points(group: str, paths: Iterable[str] | None = None) -> list[EntryPoint]:
    """All entry points of ``group``, sorted by (name, value), one per distribution name."""
    where = search_path(paths)
    if fast_path_applies(where):
        seen: set[str] = set()
        found: list[EntryPoint] = []
        for dist, path in _dist_dirs(where):
            if dist in seen:
                continue
            seen.add(dist)
            try:
                with open(os.path.join(path, "entry_points.txt"), encoding="utf-8") as fh:
                    text = fh.read()
            except OSError:
                continue
            found.extend(ep for ep in parse(text, dist) if ep.group == group)
    else:
        found = _standard(group, where)
    unique = {(ep.name, ep.value): ep for ep in found}
    return sorted(unique.values(), key=lambda ep: (ep.name, ep.value))
