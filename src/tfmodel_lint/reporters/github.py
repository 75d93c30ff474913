"""GitHub Actions workflow annotations (``--format github``).

One line per finding, which GitHub turns into an annotation on the file in the run's
summary and in pull requests::

    ::error file=models/evil/saved_model.pb,title=TFL201 file-read (high)::ReadFile reads '/etc/passwd' ...

critical and high findings are ``error``, medium ``warning``, low and info ``notice``.
Paths are relative to the repository root (``--sarif-root``, default: the git top
level), and a SavedModel's findings point at its ``saved_model.pb``, as in SARIF.
Internal errors are ``error`` annotations without a file, notes (unused ignores) are
``notice`` annotations. Values are escaped as the Actions runner expects.
"""

from __future__ import annotations

from pathlib import Path
from typing import TextIO

from tfmodel_lint.findings import Finding, RunResult, Severity
from tfmodel_lint.reporters._paths import relative_uri, repository_root
from tfmodel_lint.settings import Settings

COMMAND = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "notice",
    Severity.INFO: "notice",
}


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def annotation(command: str, message: str, **properties: str) -> str:
    props = ",".join(f"{k}={escape_property(v)}" for k, v in properties.items())
    return f"::{command}{' ' + props if props else ''}::{escape_data(message)}\n"


class GithubReporter:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @staticmethod
    def _path(finding: Finding, root: Path) -> str:
        uri, relative = relative_uri(finding.artifact, root, finding.location.member)
        if relative:
            return uri
        from urllib.parse import unquote, urlparse

        return unquote(urlparse(uri).path)

    def render(self, result: RunResult, stream: TextIO) -> None:
        root = repository_root(self.settings) if result.findings else Path.cwd()
        names = {r.code: r.name for r in result.rules}
        for f in result.findings:
            title = f"{f.code} {names.get(f.code, f.category)} ({f.severity})"
            where = f.location.logical
            message = f"{f.message} [{f.artifact}: {where}]" if where != "<artifact>" else f"{f.message} [{f.artifact}]"
            stream.write(annotation(COMMAND[f.severity], message, file=self._path(f, root), title=title))
        for err in result.internal_errors:
            stream.write(annotation("error", str(err), title="tfmodel-lint internal error"))
        for note in result.notes:
            stream.write(annotation("notice", str(note), title="tfmodel-lint configuration"))
