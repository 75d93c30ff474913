"""Human output: one line per finding, grouped by artifact, a summary line."""

from __future__ import annotations

import os
from collections import Counter
from typing import TextIO

from tfmodel_lint.findings import RunResult, Severity
from tfmodel_lint.settings import Settings

_COLORS = {
    Severity.CRITICAL: "\033[1;35m",
    Severity.HIGH: "\033[1;31m",
    Severity.MEDIUM: "\033[33m",
    Severity.LOW: "\033[36m",
    Severity.INFO: "\033[2m",
}
_RESET = "\033[0m"


class TextReporter:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def _color(self, stream: TextIO) -> bool:
        if self.settings.color is not None:
            return self.settings.color
        return stream.isatty() and os.environ.get("NO_COLOR") is None and os.environ.get("TERM") != "dumb"

    def render(self, result: RunResult, stream: TextIO) -> None:
        color = self._color(stream)
        current = None
        for f in result.findings:
            if self.settings.quiet and f.severity < result.fail_on:
                continue
            if f.artifact != current:
                current = f.artifact
                if not self.settings.quiet:
                    stream.write(f"{f.artifact}\n")
            sev = f"{f.severity!s:<8}"
            if color:
                sev = f"{_COLORS[f.severity]}{sev}{_RESET}"
            where = f.location.logical
            prefix = f"  " if not self.settings.quiet else f"{f.artifact}: "
            stream.write(f"{prefix}{f.code} {sev} {where}: {f.message}\n")
            if self.settings.show_evidence and f.evidence:
                for key, value in f.evidence_dict.items():
                    stream.write(f"      {key}: {value}\n")
        for note in result.notes:
            stream.write(f"note: {note}\n")
        for err in result.internal_errors:
            stream.write(f"error: {err}\n")
        if self.settings.statistics:
            counts = Counter((f.code, f.severity) for f in result.findings)
            names = {r.code: r.name for r in result.rules}
            for (code, sev), n in sorted(counts.items()):
                stream.write(f"{n:<5} {code} {sev!s:<8} {names.get(code, '')}\n")
        if not self.settings.quiet or result.findings:
            by_sev = result.counts_by_severity()
            parts = [f"{n} {k}" for k, n in by_sev.items() if n]
            artifacts = len(result.artifacts)
            total = len(result.findings)
            summary = f"{total} finding{'s' if total != 1 else ''} in {artifacts} artifact{'s' if artifacts != 1 else ''}"
            if parts:
                summary += f" ({', '.join(parts)})"
            if result.suppressed:
                summary += f"; {len(result.suppressed)} suppressed"
            stream.write(summary + "\n")
