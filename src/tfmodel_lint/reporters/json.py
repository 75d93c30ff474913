"""JSON output. The field names are a contract other tooling reads:

``version`` (schema version of this document), ``tool`` (name, version), ``artifacts``
(path, format, status), ``findings`` (code, severity, category, artifact, location,
message, evidence, fingerprint), ``summary``, ``errors``.
"""

from __future__ import annotations

import json
from typing import TextIO

from tfmodel_lint.findings import RunResult
from tfmodel_lint.settings import Settings

SCHEMA_VERSION = 1


def as_document(result: RunResult) -> dict[str, object]:
    return {
        "version": SCHEMA_VERSION,
        "tool": {"name": "tfmodel-lint", "version": result.tool_version},
        "artifacts": [a.as_dict() for a in result.artifacts],
        "findings": [f.as_dict() for f in result.findings],
        "summary": {
            "by_severity": result.counts_by_severity(),
            "findings": len(result.findings),
            "suppressed": len(result.suppressed),
            "fail_on": str(result.fail_on),
        },
        "errors": [str(e) for e in result.internal_errors],
        "notes": [str(n) for n in result.notes],
    }


class JsonReporter:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def render(self, result: RunResult, stream: TextIO) -> None:
        json.dump(as_document(result), stream, indent=2, sort_keys=False, ensure_ascii=False)
        stream.write("\n")
