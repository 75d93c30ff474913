"""Human output, readable at a glance.

Default::

    models/evil
      TFL201 high     __inference_serve_6/ReadFile: ReadFile reads '/etc/passwd' (...)
    models/other.h5
      TFL902 medium   <artifact>: not a valid HDF5 file
    2 findings in 3 artifacts (1 high, 1 medium); 1 artifact could not be linted

One line per finding, grouped by artifact (artifacts in sorted order, findings most
severe first), then a summary line with counts by severity. The severity is coloured
only when writing to a terminal (``--color always|never`` overrides; ``NO_COLOR`` and
``TERM=dumb`` turn it off).

* ``--quiet``: only findings at or above ``--fail-on``, each as ``artifact: CODE
  severity location: message``, no headers, no summary; internal errors still show.
* ``--statistics``: a count per code after the findings.
* ``--show-evidence``: each finding's evidence (resolved targets, the op, ...) below it.

Suppressed findings are counted in the summary line and, before it, one line per
configuration entry or baseline that suppressed them, with their severities.

Everything that comes from a model or a file name (artifact paths, locations, messages,
evidence, notes, errors) is escaped (:func:`~tfmodel_lint.reporters.escaping.display`):
one finding is always one line, and nothing it holds acts on the terminal.
"""

from __future__ import annotations

import os
from collections import Counter
from typing import TextIO

from tfmodel_lint.findings import ArtifactStatus, Finding, RunResult, Severity
from tfmodel_lint.reporters.escaping import display, display_line
from tfmodel_lint.settings import Settings

_COLORS = {
    Severity.CRITICAL: "\033[1;35m",
    Severity.HIGH: "\033[1;31m",
    Severity.MEDIUM: "\033[33m",
    Severity.LOW: "\033[36m",
    Severity.INFO: "\033[2m",
}
_BOLD = "\033[1m"
_RESET = "\033[0m"


def use_color(setting: bool | None, stream: TextIO) -> bool:
    if setting is not None:
        return setting
    if os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def summary_line(result: RunResult) -> str:
    parts = [f"{n} {k}" for k, n in result.counts_by_severity().items() if n]
    text = f"{_plural(len(result.findings), 'finding')} in {_plural(len(result.artifacts), 'artifact')}"
    if parts:
        text += f" ({', '.join(parts)})"
    failed = sum(1 for a in result.artifacts if a.status is ArtifactStatus.ERROR)
    if failed:
        text += f"; {_plural(failed, 'artifact')} could not be linted"
    if result.suppressed:
        text += f"; {len(result.suppressed)} suppressed"
    return text


def suppressed_lines(result: RunResult) -> list[str]:
    """``suppressed: 2 (1 high, 1 medium) by per-file-ignores['models/*'] in pyproject.toml``:
    one line per entry that suppressed findings, most severe first."""
    by_source: dict[str, Counter[Severity]] = {}
    for f in result.suppressed:
        where = f.suppression.where if f.suppression is not None else "an unknown source"
        by_source.setdefault(where, Counter())[f.severity] += 1
    lines = []
    for where, counts in sorted(by_source.items(), key=lambda kv: (-max(kv[1]), -sum(kv[1].values()), kv[0])):
        parts = ", ".join(f"{counts[s]} {s}" for s in sorted(counts, reverse=True))
        lines.append(f"suppressed: {sum(counts.values())} ({parts}) by {display(where)}")
    return lines


class TextReporter:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def _severity(self, f: Finding, color: bool) -> str:
        sev = f"{f.severity!s:<8}"
        return f"{_COLORS[f.severity]}{sev}{_RESET}" if color else sev

    def _evidence(self, f: Finding, stream: TextIO, indent: str) -> None:
        for key, value in f.evidence_dict.items():
            stream.write(f"{indent}{display(key)}: {display(str(value))}\n")

    @staticmethod
    def _where(f: Finding) -> str:
        return f"{display(f.location.logical)}: {display(f.message)}"

    def render(self, result: RunResult, stream: TextIO) -> None:
        s = self.settings
        color = use_color(s.color, stream)
        if s.quiet:
            for f in result.findings:
                if f.severity >= result.fail_on:
                    label = self._severity(f, color)
                    stream.write(f"{display_line(f.artifact)}: {f.code} {label} {self._where(f)}\n")
                    if s.show_evidence:
                        self._evidence(f, stream, "    ")
            for err in result.internal_errors:
                stream.write(f"error: {display(str(err))}\n")
            return
        current = None
        for f in result.findings:
            if f.artifact != current:
                current = f.artifact
                name = display_line(f.artifact)
                stream.write(f"{_BOLD}{name}{_RESET}\n" if color else f"{name}\n")
            stream.write(f"  {f.code} {self._severity(f, color)} {self._where(f)}\n")
            if s.show_evidence and f.evidence:
                self._evidence(f, stream, "      ")
        for note in result.notes:
            stream.write(f"note: {display(str(note))}\n")
        for err in result.internal_errors:
            stream.write(f"error: {display(str(err))}\n")
        for line in suppressed_lines(result):
            stream.write(line + "\n")
        if s.statistics and result.findings:
            counts = Counter((f.code, f.severity) for f in result.findings)
            names = {r.code: r.name for r in result.rules}
            stream.write("statistics:\n")
            for (code, sev), n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0][0], -kv[0][1])):
                stream.write(f"  {n:<6} {code} {sev!s:<8} {display(names.get(code, ''))}".rstrip() + "\n")
        stream.write(summary_line(result) + "\n")
