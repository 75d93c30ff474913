"""tfmodel-lint: a static linter for TensorFlow and Keras model artifacts.

It parses models, never loads them: no TensorFlow or Keras import, no unpickling, no
unmarshalling, no evaluation of anything a model contains.

Python API::

    from tfmodel_lint import lint_paths
    result = lint_paths(["models/"])
    for finding in result.findings:
        print(finding.code, finding.severity, finding.message)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from tfmodel_lint._version import __version__

__all__ = ["__version__", "lint_paths"]

if TYPE_CHECKING:
    from tfmodel_lint.findings import RunResult
    from tfmodel_lint.settings import Settings


def lint_paths(paths: Sequence[str], settings: Settings | None = None) -> RunResult:
    """Lint the given paths and return the immutable result."""
    from tfmodel_lint.app import Application
    from tfmodel_lint.settings import Settings

    return Application(settings or Settings()).run(paths)
