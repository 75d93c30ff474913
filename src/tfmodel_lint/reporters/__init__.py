"""Reporters render an immutable :class:`RunResult`; one module per format.

Built-in and third-party reporters are registered under the ``tfmodel_lint.reporters``
entry-point group (name = the ``--format`` value) and imported only when chosen.
"""

from __future__ import annotations

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
    from tfmodel_lint.entrypoints import entry_points

    return sorted({ep.name for ep in entry_points(GROUP)})


#: The built-in formats, also registered as entry points (``available()`` lists them from
#: there); looked up directly so that the common case does not scan installed packages.
BUILTIN = {
    "text": "tfmodel_lint.reporters.text:TextReporter",
    "json": "tfmodel_lint.reporters.json:JsonReporter",
    "sarif": "tfmodel_lint.reporters.sarif:SarifReporter",
    "github": "tfmodel_lint.reporters.github:GithubReporter",
}


def get_reporter(name: str) -> type[Reporter]:
    from tfmodel_lint.entrypoints import EntryPoint, entry_points

    if name in BUILTIN:
        return EntryPoint(name, BUILTIN[name], GROUP, "tfmodel-lint").load()  # type: ignore[return-value]

    for ep in entry_points(GROUP):
        if ep.name == name:
            return ep.load()  # type: ignore[return-value]
    raise UnknownFormatError(f"unknown format {name!r} (available: {', '.join(available())})")
