"""SARIF 2.1.0 for GitHub code scanning, built from the ``sarif-om`` object model and
serialized by a small serializer of our own (no jschema-to-python).

Every enabled rule gets a descriptor (short/full description, help, security-severity,
precision); each result has a repository-relative location with ``region.startLine``
1 (models are binary), a logical location (function/node or layer) and our own
``partialFingerprints``. At most 25,000 results are written per run (GitHub's limit);
past that a tool notification says how many were left out.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any, TextIO

import attr
import sarif_om as om

from tfmodel_lint.findings import Finding, RuleInfo, RunResult, Severity
from tfmodel_lint.settings import Settings

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
MAX_RESULTS = 25_000
FINGERPRINT_KEY = "tfmodelLint/v1"
INFO_URI = "https://github.com/tfmodel-lint/tfmodel-lint"
SECURITY_SEVERITY = {
    Severity.CRITICAL: "9.5",
    Severity.HIGH: "8.0",
    Severity.MEDIUM: "5.5",
    Severity.LOW: "3.0",
    Severity.INFO: "1.0",
}
LEVEL = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "note",
    Severity.INFO: "note",
}


def to_json(obj: Any) -> Any:
    """Serialize sarif-om (attrs) objects using their schema property names."""
    if attr.has(type(obj)):
        out: dict[str, Any] = {}
        for field in attr.fields(type(obj)):
            value = getattr(obj, field.name)
            if value is None or value == _default(field):
                continue
            out[field.metadata.get("schema_property_name", field.name)] = to_json(value)
        return out
    if isinstance(obj, dict):
        return {str(k): to_json(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_json(v) for v in obj]
    return obj


def _default(field: Any) -> Any:
    default = field.default
    if default is attr.NOTHING:
        return attr.NOTHING
    if isinstance(default, attr.Factory):  # type: ignore[arg-type]
        return default.factory()
    return default


def git_toplevel(cwd: Path) -> Path | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--show-toplevel"], cwd=cwd, capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return Path(out.stdout.strip()) if out.returncode == 0 and out.stdout.strip() else None


def relative_uri(artifact: str, root: Path) -> str:
    path = Path(artifact.split("!", 1)[0])
    absolute = path if path.is_absolute() else Path.cwd() / path
    try:
        rel = Path(os.path.normpath(absolute)).relative_to(root.resolve())
    except ValueError:
        return Path(os.path.normpath(absolute)).as_uri()
    return rel.as_posix() or "."


def _rule_descriptor(rule: RuleInfo) -> om.ReportingDescriptor:
    doc = rule.doc.strip()
    return om.ReportingDescriptor(
        id=rule.code,
        name=rule.name,
        short_description=om.MultiformatMessageString(text=rule.summary),
        full_description=om.MultiformatMessageString(text=doc.split("\n\n", 1)[0].replace("\n", " ")),
        help=om.MultiformatMessageString(text=doc, markdown=f"**{rule.code} {rule.name}**\n\n{doc}"),
        default_configuration=om.ReportingConfiguration(level=LEVEL[rule.severity]),
        properties={
            "security-severity": SECURITY_SEVERITY[rule.severity],
            "precision": rule.precision,
            "tags": ["security", rule.category],
            "problem.severity": "error" if rule.severity >= Severity.HIGH else "warning",
        },
    )


def _result(f: Finding, index: int, root: Path) -> om.Result:
    loc = f.location
    logical = om.LogicalLocation(
        fully_qualified_name=loc.logical,
        name=loc.node or loc.layer or loc.member or f.artifact,
        kind="function" if loc.function is not None else "object",
    )
    return om.Result(
        rule_id=f.code,
        rule_index=index,
        level=LEVEL[f.severity],
        message=om.Message(text=f"{f.message} [{f.severity}]"),
        locations=[
            om.Location(
                physical_location=om.PhysicalLocation(
                    artifact_location=om.ArtifactLocation(uri=relative_uri(f.artifact, root), uri_base_id="%SRCROOT%"),
                    region=om.Region(start_line=1),
                ),
                logical_locations=[logical],
            )
        ],
        partial_fingerprints={FINGERPRINT_KEY: f.fingerprint},
        properties={
            "severity": str(f.severity),
            "security-severity": SECURITY_SEVERITY[f.severity],
            "category": f.category,
            "artifact": f.artifact,
            "evidence": f.evidence_dict,
        },
    )


def build(result: RunResult, settings: Settings) -> dict[str, Any]:
    root = settings.sarif_root or git_toplevel(Path.cwd()) or Path.cwd()
    rules = list(result.rules)
    index = {r.code: i for i, r in enumerate(rules)}
    findings = list(result.findings)
    notifications: list[om.Notification] = []
    if len(findings) > MAX_RESULTS:
        notifications.append(om.Notification(
            message=om.Message(text=f"{len(findings) - MAX_RESULTS} results left out: GitHub accepts at most {MAX_RESULTS} per run"),
            level="warning",
        ))
        findings = findings[:MAX_RESULTS]
    for err in result.internal_errors:
        notifications.append(om.Notification(message=om.Message(text=err), level="error"))
    results = [_result(f, index.get(f.code, -1), root) for f in findings]
    for r in results:
        if r.rule_index == -1:
            r.rule_index = None
    category = settings.sarif_category.strip("/") or "tfmodel-lint"
    run = om.Run(
        tool=om.Tool(driver=om.ToolComponent(
            name="tfmodel-lint",
            version=result.tool_version,
            semantic_version=result.tool_version,
            information_uri=INFO_URI,
            rules=[_rule_descriptor(r) for r in rules],
        )),
        automation_details=om.RunAutomationDetails(id=f"{category}/"),
        original_uri_base_ids={"%SRCROOT%": om.ArtifactLocation(uri=root.resolve().as_uri() + "/")},
        invocations=[om.Invocation(
            execution_successful=not result.internal_errors,
            tool_execution_notifications=notifications or None,
        )],
        results=results,
        column_kind="unicodeCodePoints",
    )
    log = om.SarifLog(runs=[run], version="2.1.0", schema_uri=SCHEMA_URI)
    doc: dict[str, Any] = to_json(log)
    return doc


class SarifReporter:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def render(self, result: RunResult, stream: TextIO) -> None:
        json.dump(build(result, self.settings), stream, indent=2, ensure_ascii=False)
        stream.write("\n")
