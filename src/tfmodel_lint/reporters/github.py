"""GitHub Actions workflow annotations (``--format github``).

Findings become workflow commands, which GitHub turns into annotations on the file in
the run's summary and in pull requests::

    ::error file=models/evil/saved_model.pb,title=TFL201 file-read (high)::ReadFile reads '/etc/passwd' ...

critical and high findings are ``error``, medium ``warning``, low and info ``notice``.
Paths are relative to the repository root (``--sarif-root``, default: the git top
level), and a SavedModel's findings point at its ``saved_model.pb``, as in SARIF; a
finding on no file in the repository (a missing path, a directory without a model, a
path outside the checkout) is an annotation without a file. Internal errors are
``error`` annotations without a file, notes (unused ignores) ``notice`` annotations.

GitHub shows at most :data:`PER_STEP` annotations of each kind (error, warning, notice)
per step, and 50 per job; the rest would be dropped silently. So at most that many of
each kind are printed: internal errors first, then findings, most severe first; when a
kind has more, the last of its annotations says how many more there are, and those
findings are printed as plain log lines in a collapsed group. When
``GITHUB_STEP_SUMMARY`` is set, the full table of findings (and of suppressed ones,
with what suppressed them) is appended to the job summary as Markdown, within GitHub's
1 MiB per step.

Everything from a model or a file name is escaped first
(:func:`~tfmodel_lint.reporters.escaping.display`), then as the Actions runner expects
(``%``, CR, LF; in properties also ``:`` and ``,``), so nothing can end a command or
start another one.
"""

from __future__ import annotations

import os
import sys
from collections import Counter
from pathlib import Path
from typing import TextIO

from tfmodel_lint.findings import Finding, RunResult, Severity
from tfmodel_lint.reporters._paths import Locator, repository_root
from tfmodel_lint.reporters.escaping import display
from tfmodel_lint.settings import Settings

COMMAND = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "notice",
    Severity.INFO: "notice",
}
#: Annotations of each kind GitHub shows per step (actions/toolkit, "Problem Matchers":
#: 10 error, 10 warning and 10 notice annotations per step; 50 per job).
PER_STEP = 10
#: GitHub's limit on what one step appends to the job summary.
SUMMARY_BYTES = 1024 * 1024
_SUMMARY_MARGIN = 4096
_MD_SPECIAL = frozenset("\\`*_{}[]()<>#+-.!|~:@&\"'$%^=;,/?")


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def annotation(command: str, message: str, **properties: str) -> str:
    props = ",".join(f"{k}={escape_property(display(v))}" for k, v in properties.items())
    return f"::{command}{' ' + props if props else ''}::{escape_data(display(message))}\n"


def markdown(text: str) -> str:
    """Literal text for a Markdown table cell: escaped for display, then every Markdown
    and HTML special character backslash-escaped (no links, images, HTML or mentions)."""
    return "".join("\\" + c if c in _MD_SPECIAL else c for c in display(text))


def _title(f: Finding, names: dict[str, str]) -> str:
    return f"{f.code} {names.get(f.code, f.category)} ({f.severity})"


def _text(f: Finding) -> str:
    where = f.location.logical
    return f"{f.message} [{f.artifact}: {where}]" if where != "<artifact>" else f"{f.message} [{f.artifact}]"


class GithubReporter:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def render(self, result: RunResult, stream: TextIO) -> None:
        locator = Locator(repository_root(self.settings) if result.findings else Path.cwd())
        names = {r.code: r.name for r in result.rules}
        summary_file = os.environ.get("GITHUB_STEP_SUMMARY") or None
        # (command, message, properties, finding or None), most important first per command
        items: list[tuple[str, str, dict[str, str], Finding | None]] = []
        items.extend(("error", str(err), {"title": "tfmodel-lint internal error"}, None)
                     for err in result.internal_errors)
        for f in sorted(result.findings, key=lambda f: -int(f.severity)):
            props = {"title": _title(f, names)}
            where = locator.find(f.artifact, f.location.member)
            if where is not None:
                props = {"file": where.path, **props}
            items.append((COMMAND[f.severity], _text(f), props, f))
        items.extend(("notice", str(note), {"title": "tfmodel-lint configuration"}, None) for note in result.notes)
        if result.suppressed:
            items.append(("notice", self._suppressed_note(result), {"title": "tfmodel-lint suppressed findings"}, None))
        total = Counter(command for command, *_ in items)
        shown: Counter[str] = Counter()
        rest: list[str] = []
        for command, message, props, finding in items:
            if total[command] > PER_STEP and shown[command] == PER_STEP - 1:
                more = total[command] - shown[command]
                see = "the job summary and the log below" if summary_file else "the log below"
                stream.write(annotation(command, f"{more} more {command} annotations not shown (GitHub shows "
                                        f"{PER_STEP} per step): see {see}", title="tfmodel-lint"))
                shown[command] += 1
            if shown[command] >= PER_STEP:
                head = f"{finding.code} {finding.severity}" if finding is not None else f"{command}: {props['title']}"
                rest.append(display(f"{head} {message}"))
                continue
            stream.write(annotation(command, message, **props))
            shown[command] += 1
        if rest:
            stream.write(f"::group::{len(rest)} more not annotated\n")
            stream.writelines(line + "\n" for line in rest)
            stream.write("::endgroup::\n")
        if summary_file:
            try:
                self._append_summary(Path(summary_file), result, names)
            except OSError as exc:
                print(f"tfmodel-lint: warning: cannot append to the job summary {summary_file}: {exc}", file=sys.stderr)

    @staticmethod
    def _suppressed_note(result: RunResult) -> str:
        counts = Counter(f.suppression.where if f.suppression is not None else "?" for f in result.suppressed)
        worst = max(f.severity for f in result.suppressed)
        parts = "; ".join(f"{n} by {where}" for where, n in sorted(counts.items()))
        return f"{len(result.suppressed)} findings suppressed (most severe: {worst}): {parts}"

    def _append_summary(self, path: Path, result: RunResult, names: dict[str, str]) -> None:
        from tfmodel_lint.reporters.text import summary_line, suppressed_lines

        try:
            used = path.stat().st_size
        except OSError:
            used = 0
        budget = SUMMARY_BYTES - _SUMMARY_MARGIN - used
        lines = ["## tfmodel-lint", "", markdown(summary_line(result)), ""]
        lines += [f"- {markdown(line)}" for line in suppressed_lines(result)]
        lines += [f"- error: {markdown(str(err))}" for err in result.internal_errors]
        lines += [f"- note: {markdown(str(note))}" for note in result.notes]
        lines.append("")
        size = sum(len(x.encode("utf-8")) + 1 for x in lines)
        left_out = 0
        for title, findings in (("Findings", result.findings), ("Suppressed findings", result.suppressed)):
            if not findings:
                continue
            suppressed = findings is result.suppressed
            block = [f"### {title}", "",
                     "| Severity | Rule | Artifact | Location | Message |" + (" Suppressed by |" if suppressed else ""),
                     "|---|---|---|---|---|" + ("---|" if suppressed else "")]
            size += sum(len(x.encode("utf-8")) + 1 for x in block) + 1
            ordered = sorted(findings, key=lambda f: -int(f.severity))
            for i, f in enumerate(ordered):
                cells = [str(f.severity), markdown(_title(f, names)), markdown(f.artifact),
                         markdown(f.location.logical), markdown(f.message)]
                if suppressed and f.suppression is not None:
                    cells.append(markdown(f"{f.suppression.where}: {f.suppression.justification}"))
                row = "| " + " | ".join(cells) + " |"
                cost = len(row.encode("utf-8")) + 1
                if size + cost > budget:
                    left_out += len(ordered) - i
                    break
                block.append(row)
                size += cost
            lines += [*block, ""]
        if left_out:
            lines += [f"{left_out} more rows not shown: GitHub takes at most 1 MiB of job summary per step. "
                      "Every finding is in the step's log.", ""]
        text = "\n".join(lines) + "\n"
        if len(text.encode("utf-8")) > SUMMARY_BYTES - used:
            raise OSError(f"the job summary already holds {used} bytes; GitHub takes at most {SUMMARY_BYTES} per step")
        with path.open("a", encoding="utf-8") as fh:
            fh.write(text)
