"""A progress bar on stderr while linting many or large artifacts on a terminal.

Shown only when stderr is a terminal, ``--no-progress`` is not given, and the run has
at least :data:`MIN_ARTIFACTS` artifacts or :data:`MIN_BYTES` bytes to read; never in
CI logs, pre-commit output or redirected runs. The bar is erased when linting ends, so
the report (on stdout) is not interleaved with it.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, TextIO

from tfmodel_lint.fsutil import walk_tree
from tfmodel_lint.reporters.escaping import display

if TYPE_CHECKING:
    from tfmodel_lint.discovery import Target
    from tfmodel_lint.engine import ArtifactResult, Linter

MIN_ARTIFACTS = 8
MIN_BYTES = 64 * 1024 * 1024
#: Stop summing sizes once this many files were looked at (huge trees).
_MAX_STAT = 10_000
_REDRAW_SECONDS = 0.1


def total_bytes(targets: Sequence[Target], enough: int = MIN_BYTES) -> int:
    """Bytes under the targets, stopping early once ``enough`` is reached."""
    total = 0
    seen = 0
    for t in targets:
        if t.path.is_file():
            total += t.path.stat().st_size
            seen += 1
        elif t.path.is_dir():
            for dirpath, _, filenames in walk_tree(t.path):
                for name in filenames:
                    try:
                        total += os.stat(os.path.join(dirpath, name), follow_symlinks=False).st_size
                    except OSError:
                        pass
                    seen += 1
                    if total >= enough or seen >= _MAX_STAT:
                        return total
        if total >= enough or seen >= _MAX_STAT:
            break
    return total


def wanted(setting: bool | None, targets: Sequence[Target], stream: TextIO) -> bool:
    if setting is False or not targets:
        return False
    if setting is None:
        isatty = getattr(stream, "isatty", None)
        if not (isatty and isatty()) or os.environ.get("TERM") == "dumb":
            return False
    return len(targets) >= MIN_ARTIFACTS or total_bytes(targets) >= MIN_BYTES


class ProgressBar:
    def __init__(self, total: int, stream: TextIO) -> None:
        self.total = total
        self.done = 0
        self.stream = stream
        self._last = 0.0
        self._drawn = False

    def _width(self) -> int:
        import shutil

        return max(40, shutil.get_terminal_size((80, 24)).columns - 1)

    def update(self, done: int, label: str = "") -> None:
        self.done = done
        now = time.monotonic()
        if now - self._last < _REDRAW_SECONDS and done < self.total:
            return
        self._last = now
        width = self._width()
        counter = f" {done}/{self.total} "
        bar_width = 20
        filled = bar_width * done // max(1, self.total)
        bar = "[" + "#" * filled + "-" * (bar_width - filled) + "]"
        text = f"{bar}{counter}{display(label)}"  # a file name must not act on the terminal
        if len(text) > width:
            text = text[: width - 1] + "…"
        self.stream.write("\r" + text.ljust(width))
        self.stream.flush()
        self._drawn = True

    def close(self) -> None:
        if self._drawn:
            self.stream.write("\r" + " " * self._width() + "\r")
            self.stream.flush()


def lint_with_progress(
    linter: Linter, targets: Sequence[Target], jobs: int, setting: bool | None, stream: TextIO | None = None
) -> list[ArtifactResult]:
    """``engine.lint_all`` with a progress bar when :func:`wanted`: the bar observes the
    run's one pool of workers, result by result."""
    from tfmodel_lint.engine import lint_all

    out = stream if stream is not None else sys.stderr
    if not wanted(setting, targets, out):
        return lint_all(linter, targets, jobs)
    bar = ProgressBar(len(targets), out)

    def observe(index: int, result: ArtifactResult) -> None:
        bar.update(index + 1, result.record.path)

    try:
        bar.update(0, targets[0].display)
        return lint_all(linter, targets, jobs, on_result=observe)
    finally:
        bar.close()
