"""JSON output. The field names are a contract other tooling reads:

``version`` (schema version of this document), ``tool`` (name, version), ``artifacts``
(path, format, status), ``findings`` (code, severity, category, artifact, location,
message, evidence, fingerprint), ``summary``, ``errors``, ``notes``; since then, only
additions: ``suppressed`` (the suppressed findings, each with a ``suppression``:
kind, source, justification, file) and ``summary.suppressed_by`` (counts per entry).

The document is valid UTF-8 JSON whatever a model or a file name holds. A name that is
not valid UTF-8 is shown with its undecodable bytes as ``\\xNN`` and given losslessly,
base64-encoded, in a sibling field: ``path_base64`` (artifacts), ``artifact_base64``
(findings), ``member_base64`` (locations). Characters a terminal or a CI log would act
on are written as ``\\uNNNN`` escapes, which read back as the same string.
"""

from __future__ import annotations

from collections import Counter
from typing import TextIO

from tfmodel_lint.findings import ArtifactRecord, Finding, RunResult
from tfmodel_lint.reporters.escaping import base64_of, dumps, has_undecodable
from tfmodel_lint.settings import Settings

SCHEMA_VERSION = 1


def _artifact(a: ArtifactRecord) -> dict[str, object]:
    out = a.as_dict()
    if has_undecodable(a.path):
        out["path_base64"] = base64_of(a.path)
    return out


def _finding(f: Finding) -> dict[str, object]:
    out = f.as_dict()
    if has_undecodable(f.artifact):
        out["artifact_base64"] = base64_of(f.artifact)
    member = f.location.member
    if member is not None and has_undecodable(member):
        location = out["location"]
        assert isinstance(location, dict)
        location["member_base64"] = base64_of(member)
    return out


def as_document(result: RunResult) -> dict[str, object]:
    by_source = Counter(f.suppression.where for f in result.suppressed if f.suppression is not None)
    return {
        "version": SCHEMA_VERSION,
        "tool": {"name": "tfmodel-lint", "version": result.tool_version},
        "artifacts": [_artifact(a) for a in result.artifacts],
        "findings": [_finding(f) for f in result.findings],
        "suppressed": [_finding(f) for f in result.suppressed],
        "summary": {
            "by_severity": result.counts_by_severity(),
            "findings": len(result.findings),
            "suppressed": len(result.suppressed),
            "suppressed_by": dict(sorted(by_source.items())),
            "fail_on": str(result.fail_on),
        },
        "errors": [str(e) for e in result.internal_errors],
        "notes": [str(n) for n in result.notes],
    }


class JsonReporter:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def render(self, result: RunResult, stream: TextIO) -> None:
        stream.write(dumps(as_document(result)))
        stream.write("\n")
