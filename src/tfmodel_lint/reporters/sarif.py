"""SARIF 2.1.0 for GitHub code scanning, built from the ``sarif-om`` object model and
serialized by a small serializer of our own (no jschema-to-python).

* Every enabled rule gets a descriptor (short/full description, help, security-severity,
  precision), so ``ruleIndex`` is stable whichever rules fire. GitHub takes an alert's
  security severity from the descriptor its result points at, not from the result; a
  finding whose severity is not its rule's default (an ``/etc/passwd`` read is high, the
  file-read rule's default medium) points at a descriptor for that rule at that severity,
  ``<code>/<severity>`` (``TFL201/high``), appended after the enabled rules, one for each
  (rule, severity) the run uses. Every result names its descriptor by ``ruleId`` and
  ``ruleIndex``.
* Each result is located on a regular file inside the repository root (``--sarif-root``,
  default: the git top level of the current directory, else the current directory),
  with a relative, percent-encoded URI and ``region.startLine`` 1 (models are binary), a
  logical location (function/node or layer) and our own ``partialFingerprints``. A
  SavedModel is a directory: its results point at ``saved_model.pb`` (or the member
  named in the location, such as ``keras_metadata.pb``), a file GitHub can show.
* A finding that is not on such a file (a missing path, a directory holding no model,
  an artifact outside the repository) is no alert: it is a tool execution notification
  at the finding's level, naming its rule. A run that finds no model has no result.
* Suppressed findings (configuration ignores, baseline) are results with a
  ``suppressions`` entry of kind ``external`` whose justification names the entry and
  the file it is in.
* Message text from model content has its braces doubled (``{{``, ``}}``), as SARIF
  requires outside placeholders, so ``{0}`` in a node name is never a placeholder.
* ``automationDetails.id`` is ``<category>/`` (``--sarif-category``); GitHub takes the
  part before the last ``/`` as the category.
* At most 25,000 results are written per run (GitHub's limit), active findings and the
  most severe first; past that a tool execution notification says how many were left
  out. Internal errors are error notifications; unused ignores are configuration
  notifications.
"""

from __future__ import annotations

from typing import Any, TextIO

import attr
import sarif_om as om

from tfmodel_lint.findings import Finding, RuleInfo, RunResult, Severity
from tfmodel_lint.reporters._paths import Locator, RepoFile, repository_root
from tfmodel_lint.reporters.escaping import base64_of, dumps, has_undecodable, json_text
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


def message(text: str) -> om.Message:
    """A message whose text is shown as it is: valid Unicode, braces doubled."""
    return om.Message(text=json_text(text).replace("{", "{{").replace("}", "}}"))


def _rule_descriptor(rule: RuleInfo, severity: Severity | None = None) -> om.ReportingDescriptor:
    """The descriptor of ``rule``; with ``severity`` (not the rule's default), the
    descriptor its findings at that severity point at."""
    doc = rule.doc.strip() or rule.summary
    sev = rule.severity if severity is None else severity
    rule_id, summary, full = rule.code, rule.summary, doc.split("\n\n", 1)[0].replace("\n", " ")
    if severity is not None:
        rule_id = f"{rule.code}/{severity}"
        summary = f"{rule.summary} ({severity})"
        full = f"{full} These findings are {severity}; the rule's default severity is {rule.severity}."
    return om.ReportingDescriptor(
        id=rule_id,
        name=rule.name,
        short_description=om.MultiformatMessageString(text=summary),
        full_description=om.MultiformatMessageString(text=full),
        help=om.MultiformatMessageString(text=doc, markdown=f"**{rule.code} {rule.name}**\n\n{doc}"),
        default_configuration=om.ReportingConfiguration(level=LEVEL[sev]),
        properties={
            "security-severity": SECURITY_SEVERITY[sev],
            "precision": rule.precision,
            "tags": ["security", rule.category],
            "problem.severity": "error" if sev >= Severity.HIGH else "warning",
        },
    )


class RuleTable:
    """The run's reporting descriptors: every enabled rule at its default severity, in
    order, then one per (rule, other severity) that a finding needs."""

    def __init__(self, rules: tuple[RuleInfo, ...]) -> None:
        self.descriptors: list[om.ReportingDescriptor] = [_rule_descriptor(r) for r in rules]
        self._rules = {r.code: r for r in rules}
        self._index: dict[tuple[str, Severity], tuple[str, int]] = {
            (r.code, r.severity): (r.code, i) for i, r in enumerate(rules)
        }

    def ref(self, code: str, severity: Severity) -> tuple[str, int]:
        """(``ruleId``, ``ruleIndex``) of the descriptor for ``code`` at ``severity``."""
        hit = self._index.get((code, severity))
        if hit is not None:
            return hit
        rule = self._rules.get(code)
        if rule is None:  # a code no enabled rule declares: a descriptor of its own
            rule = RuleInfo(code, code.lower(), severity, "unknown", f"{code} finding", "", "medium", "")
            self._rules[code] = rule
            descriptor = _rule_descriptor(rule)
        else:
            descriptor = _rule_descriptor(rule, severity)
        self.descriptors.append(descriptor)
        hit = (descriptor.id, len(self.descriptors) - 1)
        self._index[(code, severity)] = hit
        return hit


def _properties(f: Finding) -> dict[str, Any]:
    props: dict[str, Any] = {
        "severity": str(f.severity),
        "security-severity": SECURITY_SEVERITY[f.severity],
        "category": f.category,
        "artifact": f.artifact,
        "evidence": f.evidence_dict,
        "fingerprint": f.fingerprint,
    }
    if has_undecodable(f.artifact):
        props["artifactBase64"] = base64_of(f.artifact)
    return props


def _suppressions(f: Finding) -> list[om.Suppression] | None:
    s = f.suppression
    if s is None:
        return None
    props: dict[str, Any] = {"kind": s.kind, "source": s.source}
    if s.file is not None:
        props["file"] = s.file
    return [om.Suppression(kind="external", justification=f"{s.where}: {s.justification}", properties=props)]


def _result(f: Finding, rules: RuleTable, where: RepoFile) -> om.Result:
    loc = f.location
    logical = om.LogicalLocation(
        fully_qualified_name=loc.logical,
        name=loc.node or loc.layer or loc.member or f.artifact,
        kind="function" if loc.function is not None else "object",
    )
    rule_id, index = rules.ref(f.code, f.severity)
    return om.Result(
        rule_id=rule_id,
        rule_index=index,
        level=LEVEL[f.severity],
        message=message(f"{f.message} [{f.severity}]"),
        locations=[
            om.Location(
                physical_location=om.PhysicalLocation(
                    artifact_location=om.ArtifactLocation(uri=where.uri, uri_base_id=SRCROOT),
                    region=om.Region(start_line=1),
                ),
                logical_locations=[logical],
            )
        ],
        partial_fingerprints={FINGERPRINT_KEY: f.fingerprint},
        suppressions=_suppressions(f),
        properties=_properties(f),
    )


def _unlocated(f: Finding, rules: RuleTable) -> om.Notification:
    """A finding on no repository file: a notification at the finding's level."""
    rule_id, index = rules.ref(f.code, f.severity)
    where = f.location.logical
    text = f"{f.code} ({f.severity}) {f.artifact}" + (f" {where}" if where != "<artifact>" else "")
    text += f": {f.message} (not a file in the repository, so not a code scanning alert)"
    if f.suppression is not None:
        text += f"; suppressed by {f.suppression.where}: {f.suppression.justification}"
    return om.Notification(
        message=message(text),
        level=LEVEL[f.severity],
        associated_rule=om.ReportingDescriptorReference(id=rule_id, index=index),
        properties=_properties(f),
    )


def select_results(findings: tuple[Finding, ...], limit: int = MAX_RESULTS) -> tuple[list[Finding], int]:
    """At most ``limit`` findings, in their original order: active ones before suppressed
    ones, the most severe first; and how many were left out."""
    if len(findings) <= limit:
        return list(findings), 0
    ranked = sorted(range(len(findings)),
                    key=lambda i: (findings[i].suppression is not None, -int(findings[i].severity), i))
    keep = sorted(ranked[:limit])
    return [findings[i] for i in keep], len(findings) - limit


def category_id(category: str | None) -> str:
    text = (category or "").strip().strip("/")
    return f"{text or DEFAULT_CATEGORY}/"


def build(result: RunResult, settings: Settings) -> dict[str, Any]:
    root = repository_root(settings)
    locator = Locator(root)
    rules = RuleTable(result.rules)
    located: list[tuple[Finding, RepoFile]] = []
    unlocated: list[Finding] = []
    for f in (*result.findings, *result.suppressed):
        where = locator.find(f.artifact, f.location.member)
        if where is None:
            unlocated.append(f)
        else:
            located.append((f, where))
    kept, left_out = select_results(tuple(f for f, _ in located))
    files = dict(located)  # findings are hashable and equal only to themselves here
    execution: list[om.Notification] = []
    if left_out:
        execution.append(om.Notification(
            message=message(
                f"{left_out} of {len(located)} results left out: GitHub code scanning accepts at most "
                f"{MAX_RESULTS} results per run (active findings and the most severe were kept)."
            ),
            level="warning",
        ))
    execution.extend(om.Notification(message=message(str(err)), level="error") for err in result.internal_errors)
    execution.extend(_unlocated(f, rules) for f in unlocated)
    configuration = [om.Notification(message=message(str(note)), level="note") for note in result.notes]
    results = [_result(f, rules, files[f]) for f in kept]
    run = om.Run(
        tool=om.Tool(driver=om.ToolComponent(
            name="tfmodel-lint",
            version=result.tool_version,
            semantic_version=result.tool_version,
            information_uri=INFO_URI,
            rules=rules.descriptors,
        )),
        automation_details=om.RunAutomationDetails(id=category_id(settings.sarif_category)),
        original_uri_base_ids={SRCROOT: om.ArtifactLocation(uri=root.as_uri() + "/")},
        invocations=[om.Invocation(
            execution_successful=not result.internal_errors,
            tool_execution_notifications=execution or None,
            tool_configuration_notifications=configuration or None,
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
        stream.write(dumps(build(result, self.settings)))
        stream.write("\n")
