"""Entry-point discovery without importing ``importlib.metadata``.

A pre-commit hook starts on every commit: ``importlib.metadata`` (with ``email``,
``zipfile``, ``csv``...) costs more than the rest of a small lint. The entry points of
installed distributions live in ``*.dist-info/entry_points.txt`` (or ``*.egg-info``),
a small INI file; this module reads exactly those, in ``sys.path`` order, and the first
distribution of a given name wins, as with ``importlib.metadata``.
"""

from __future__ import annotations

import importlib
import os
import re
import sys
from collections.abc import Iterable

from tfmodel_lint._records import dataclass

_NORMALIZE = re.compile(r"[-_.]+")


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


def _dist_dirs(paths: Iterable[str]) -> Iterable[tuple[str, str]]:
    for base in paths:
        try:
            entries = sorted(os.scandir(base or "."), key=lambda e: e.name)
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


def entry_points(group: str, paths: Iterable[str] | None = None) -> list[EntryPoint]:
    """All entry points of ``group``, sorted by (name, value), one per distribution name."""
    seen: set[str] = set()
    found: list[EntryPoint] = []
    for dist, path in _dist_dirs(sys.path if paths is None else paths):
        if dist in seen:
            continue
        seen.add(dist)
        try:
            with open(os.path.join(path, "entry_points.txt"), encoding="utf-8") as fh:
                text = fh.read()
        except OSError:
            continue
        found.extend(ep for ep in parse(text, dist) if ep.group == group)
    unique = {(ep.name, ep.value): ep for ep in found}
    return sorted(unique.values(), key=lambda ep: (ep.name, ep.value))
