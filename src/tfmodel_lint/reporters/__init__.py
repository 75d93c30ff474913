"""Reporters render an immutable :class:`RunResult`; one module per format.

Built-in and third-party reporters are registered under the ``tfmodel_lint.reporters``
entry-point group (name = the ``--format`` value) and imported only when chosen.
"""

from __future__ import annotations

from importlib import metadata
from typing import TYPE_CHECKING, Protocol, TextIO

if TYPE_CHECKING:
    from tfmodel_lint.findings import RunResult
    from tfmodel_lint.settings import Settings

GROUP = "tfmodel_lint.reporters"


class Reporter(Protocol):
    def __init__(self, settings: Settings) -> None: ...

    def render(self, result: RunResult, stream: TextIO) -> None: ...


class UnknownFormatError(Exception):
    pass


def available() -> list[str]:
    return sorted({ep.name for ep in metadata.entry_points(group=GROUP)})


def get_reporter(name: str) -> type[Reporter]:
    for ep in metadata.entry_points(group=GROUP, name=name):
        obj = ep.load()
        return obj  # type: ignore[no-any-return]
    raise UnknownFormatError(f"unknown format {name!r} (available: {', '.join(available())})")
