"""SARIF 2.1.0 for GitHub code scanning, built from the ``sarif-om`` object model and
serialized by a small serializer of our own (no jschema-to-python).

* Every enabled rule gets a descriptor (short/full description, help, security-severity,
  precision), so ``ruleIndex`` is stable whichever rules fire.
* Each result has a location relative to the repository root (``--sarif-root``, default:
  the git top level of the current directory, else the current directory) with
  ``region.startLine`` 1 (models are binary), a logical location (function/node or
  layer) and our own ``partialFingerprints`` (GitHub cannot hash a binary's lines). A
  SavedModel is a directory: its results point at ``saved_model.pb`` (or the member
  named in the location, such as ``keras_metadata.pb``), a file GitHub can show.
* ``automationDetails.id`` is ``<category>/`` (``--sarif-category``); GitHub takes the
  part before the last ``/`` as the category.
* At most 25,000 results are written per run (GitHub's limit), the most severe first;
  past that a tool execution notification says how many were left out. Internal errors
  are error notifications; unused ignores are configuration notifications.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, TextIO

import attr
import sarif_om as om

from tfmodel_lint.findings import Finding, RuleInfo, RunResult, Severity
from tfmodel_lint.reporters._paths import relative_uri, repository_root
from tfmodel_lint.settings import Settings

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
MAX_RESULTS = 25_000
FINGERPRINT_KEY = "tfmodelLint/v1"
INFO_URI = "https://github.com/tfmodel-lint/tfmodel-lint"
SRCROOT = "%SRCROOT%"
DEFAULT_CATEGORY = "tfmodel-lint"
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
#: Properties written even when equal to the object model's default: a result's
#: ``level`` otherwise falls back to its rule's default level, which may differ.
_ALWAYS = frozenset({"level"})


def to_json(obj: Any) -> Any:
    """Serialize sarif-om (attrs) objects using their schema property names."""
    if attr.has(type(obj)):
        out: dict[str, Any] = {}
        for field in attr.fields(type(obj)):
            value = getattr(obj, field.name)
            if value is None or (field.name not in _ALWAYS and value == _default(field)):
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


def _rule_descriptor(rule: RuleInfo) -> om.ReportingDescriptor:
    doc = rule.doc.strip() or rule.summary
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


def _result(f: Finding, index: int | None, root: Path) -> om.Result:
    loc = f.location
    logical = om.LogicalLocation(
        fully_qualified_name=loc.logical,
        name=loc.node or loc.layer or loc.member or f.artifact,
        kind="function" if loc.function is not None else "object",
    )
    uri, relative = relative_uri(f.artifact, root, loc.member)
    return om.Result(
        rule_id=f.code,
        rule_index=index,
        level=LEVEL[f.severity],
        message=om.Message(text=f"{f.message} [{f.severity}]"),
        locations=[
            om.Location(
                physical_location=om.PhysicalLocation(
                    artifact_location=om.ArtifactLocation(uri=uri, uri_base_id=SRCROOT if relative else None),
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


def select_results(findings: tuple[Finding, ...], limit: int = MAX_RESULTS) -> tuple[list[Finding], int]:
    """At most ``limit`` findings, the most severe first kept, in their original order;
    and how many were left out."""
    if len(findings) <= limit:
        return list(findings), 0
    ranked = sorted(range(len(findings)), key=lambda i: (-int(findings[i].severity), i))
    keep = sorted(ranked[:limit])
    return [findings[i] for i in keep], len(findings) - limit


def category_id(category: str | None) -> str:
    text = (category or "").strip().strip("/")
    return f"{text or DEFAULT_CATEGORY}/"


def build(result: RunResult, settings: Settings) -> dict[str, Any]:
    root = repository_root(settings)
    rules = list(result.rules)
    index = {r.code: i for i, r in enumerate(rules)}
    findings, left_out = select_results(result.findings)
    execution: list[om.Notification] = []
    if left_out:
        execution.append(om.Notification(
            message=om.Message(
                text=f"{left_out} of {len(result.findings)} results left out: GitHub code scanning accepts at most "
                f"{MAX_RESULTS} results per run (the most severe were kept)."
            ),
            level="warning",
        ))
    for err in result.internal_errors:
        execution.append(om.Notification(message=om.Message(text=str(err)), level="error"))
    configuration = [om.Notification(message=om.Message(text=str(note)), level="note") for note in result.notes]
    run = om.Run(
        tool=om.Tool(driver=om.ToolComponent(
            name="tfmodel-lint",
            version=result.tool_version,
            semantic_version=result.tool_version,
            information_uri=INFO_URI,
            rules=[_rule_descriptor(r) for r in rules],
        )),
        automation_details=om.RunAutomationDetails(id=category_id(settings.sarif_category)),
        original_uri_base_ids={SRCROOT: om.ArtifactLocation(uri=root.as_uri() + "/")},
        invocations=[om.Invocation(
            execution_successful=not result.internal_errors,
            tool_execution_notifications=execution or None,
            tool_configuration_notifications=configuration or None,
        )],
        results=[_result(f, index.get(f.code), root) for f in findings],
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
