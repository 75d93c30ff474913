"""An example reporter: ``tfmodel-lint --format xmp-codes`` prints ``CODE<TAB>artifact``.

A reporter is a class built with the run's ``Settings`` whose ``render`` writes one
immutable ``RunResult`` to a text stream.
"""

from __future__ import annotations

from typing import TextIO

from tfmodel_lint.findings import RunResult
from tfmodel_lint.settings import Settings


class CodesReporter:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def render(self, result: RunResult, stream: TextIO) -> None:
        for f in result.findings:
            stream.write(f"{f.code}\t{f.artifact}\n")
