"""Loaders: one module per artifact format, each turning bytes into :class:`ModelIR`.

No loader imports TensorFlow or Keras, unpickles, unmarshals or evaluates anything
from a model. Problems are raised as :class:`ArtifactError` with the code of the
artifact rule that reports them.
"""

from __future__ import annotations

from tfmodel_lint._records import dataclass, field
from tfmodel_lint.findings import Issue
from tfmodel_lint.ir import ModelIR


class ArtifactError(Exception):
    """The artifact cannot be linted; ``code`` is the TFL9xx rule that reports it."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


MALFORMED = "TFL902"
UNREADABLE = "TFL901"
LIMIT = "TFL903"
NO_MODEL = "TFL904"
UNSAFE_MEMBER = "TFL905"
LFS_POINTER = "TFL906"
FORMAT_MISMATCH = "TFL907"


@dataclass
class Loaded:
    """What loading one artifact produced: models to lint and findings about the artifact."""

    format: str
    models: list[ModelIR] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)
