"""Build ``signatures/tf_ops.json`` from entries (derived from evidence, with
review decisions applied), the op registry and op presence; render it
deterministically, validate it, diff it.

The output format is fixed by ``signatures/tf_ops.schema.json`` (see
``signatures/README.md``); the provenance values are the schema's:
``threat-model``, ``registry:X.Y.Z``, ``persistext-reference``,
``registry-only``, ``manual``. The pipeline's own trail (PersistExt wrappers,
classifier signals, LLM votes, review source) goes to a side file.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from extract_tools.capanalysis.taxonomy import CAPABILITIES
from extract_tools.derive import DECISION, Entry, Origin
from extract_tools.presence import PresenceTable
from extract_tools.registry import OpSpec, Registry

SCHEMA_VERSION = 1
TARGET_ROLES = {"path", "pattern", "url", "address", "stream", "memory_region", "directory", "callable"}
PAYLOAD_ROLES = {"data", "names"}
PROVENANCE_ORDER = ("threat-model", "registry", "persistext-reference", "registry-only", "manual")


@dataclass
class BuildProblem:
    op: str
    kind: str  # stale-argument | bad-role | bad-category | no-presence | unregistered-without-kind
    detail: str


@dataclass
class BuildResult:
    doc: dict[str, Any]
    problems: list[BuildProblem] = field(default_factory=list)


def resolve_args(
    decision_args: list[dict[str, Any]], spec: OpSpec | None, roles: set[str], op: str, problems: list[BuildProblem]
) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for a in decision_args:
        name, role = a["name"], a["role"]
        if role not in roles:
            problems.append(BuildProblem(op, "bad-role", f"{name}: role {role!r} not in {sorted(roles)}"))
        item: dict[str, Any]
        if spec is not None:
            inp = spec.input(name)
            if inp is not None:
                item = {"kind": "input", "name": name, "role": role}
                if inp.after_list:
                    item["after_list"] = True
                else:
                    item["index"] = inp.index
                out.append(item)
                continue
            if spec.attr(name) is not None:
                out.append({"kind": "attr", "name": name, "role": role})
                continue
            problems.append(
                BuildProblem(op, "stale-argument", f"{name!r} is neither an input nor an attr of the registered op")
            )
        if "kind" not in a:
            problems.append(
                BuildProblem(
                    op,
                    "unregistered-without-kind",
                    f"{name!r}: the op is not registered and the decision gives no kind",
                )
            )
            continue
        item = {"kind": a["kind"], "name": name, "role": role}
        if a["kind"] == "input":
            if a.get("after_list"):
                item["after_list"] = True
            elif "index" in a:
                item["index"] = a["index"]
        out.append(item)
    return out


def provenance(entry: Entry, threat_model: bool, registered: bool, tf_version: str, in_reference: bool) -> list[str]:
    have: set[str] = set()
    if threat_model:
        have.add("threat-model")
    if registered:
        have.add("registry")
    if in_reference:
        have.add("persistext-reference")
    elif registered:
        have.add("registry-only")
    if entry.manual or not registered:
        have.add("manual")
    return [f"registry:{tf_version}" if p == "registry" else p for p in PROVENANCE_ORDER if p in have]


def build(
    entries: dict[str, Entry],
    registry: Registry,
    presence: PresenceTable,
    reference_ops: set[str],
    threat_model_ops: set[str] | None = None,
) -> BuildResult:
    tf_version = registry.tf_version or "0.0.0"
    problems: list[BuildProblem] = []
    ops: dict[str, Any] = {}
    tm = threat_model_ops or set()
    for name in sorted(entries):
        d = entries[name]
        bad = [c for c in d.categories if c not in CAPABILITIES]
        if bad:
            problems.append(BuildProblem(name, "bad-category", f"{bad}"))
        spec = registry.ops.get(name)
        span = presence.span(name)
        if span is None:
            problems.append(BuildProblem(name, "no-presence", "in no PersistExt list and not registered"))
            continue
        ops[name] = {
            "categories": [c for c in CAPABILITIES if c in d.categories],
            "targets": resolve_args(d.targets, spec, TARGET_ROLES, name, problems),
            "payloads": resolve_args(d.payloads, spec, PAYLOAD_ROLES, name, problems),
            "tf_versions": span,
            "provenance": provenance(d, name in tm, spec is not None, tf_version, name in reference_ops),
            "summary": d.summary,
        }
    doc = {
        "schema_version": SCHEMA_VERSION,
        "tf_version_checked": tf_version,
        "categories": list(CAPABILITIES),
        "ops": ops,
    }
    return BuildResult(doc, problems)


def render(doc: dict[str, Any]) -> str:
    """The committed byte format: sorted keys, indent=1, trailing newline."""
    return json.dumps(doc, sort_keys=True, indent=1) + "\n"


def validate(doc: dict[str, Any], schema_path: Path) -> list[str]:
    """Schema errors (empty when valid); skipped with a note when jsonschema
    or the schema file is missing."""
    if not schema_path.exists():
        return []
    try:
        import jsonschema  # type: ignore[import-untyped,unused-ignore]
    except ImportError:
        return []
    schema = json.loads(schema_path.read_text(encoding="utf-8"))
    validator = jsonschema.Draft202012Validator(schema)
    return [f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}" for e in validator.iter_errors(doc)]


def _fmt(v: object) -> str:
    return json.dumps(v, sort_keys=True)


def _why(origin: Origin | None, f: str) -> str:
    if f in {"tf_versions"}:
        return "op presence (PersistExt lists, op registry)"
    if f == "provenance":
        return "threat-model list, op registry, PersistExt reference lists, decision flag manual"
    if origin is None:
        return "?"
    src = origin.fields.get(f)
    if src == DECISION and origin.decision is not None:
        return f"decision: {origin.decision.reason or 'no reason given'}"
    if f in {"targets", "payloads"}:
        return "evidence (names, roles: classifier; kind, index, after_list: op registry)"
    return "evidence"


def diff_report(
    old: dict[str, Any] | None,
    new: dict[str, Any],
    *,
    title: str = "signatures/tf_ops.json",
    origins: dict[str, Origin] | None = None,
    dropped: dict[str, str] | None = None,
) -> tuple[bool, str]:
    """(changed?, Markdown report of what changed between two documents and
    where each change comes from). *origins*: op -> where its fields came
    from; *dropped*: op the evidence flags -> why it is not published."""
    origins = origins or {}
    dropped = dropped or {}
    if old is None:
        return True, f"# Changes to {title}\n\nNew file: {len(new['ops'])} ops.\n" + _origin_section(new, origins)
    lines = [f"# Changes to {title}", ""]
    changed = False
    for key in ("schema_version", "tf_version_checked", "categories", "library"):
        if old.get(key) != new.get(key):
            changed = True
            lines.append(f"- `{key}`: {_fmt(old.get(key))} -> {_fmt(new.get(key))}")
    old_ops, new_ops = old.get("ops", {}), new["ops"]
    added = sorted(set(new_ops) - set(old_ops))
    removed = sorted(set(old_ops) - set(new_ops))
    if added:
        changed = True
        lines += ["", f"## Added ({len(added)})", ""]
        for op in added:
            o = origins.get(op)
            why = o.label if o is not None else "?"
            if o is not None and o.decision is not None and o.decision.reason:
                why += f"; decision: {o.decision.reason}"
            lines.append(
                f"- `{op}`: {', '.join(new_ops[op]['categories']) or '(no category)'}; {new_ops[op]['summary']} "
                f"(from: {why})"
            )
    if removed:
        changed = True
        lines += ["", f"## Removed ({len(removed)})", ""]
        for op in removed:
            why = dropped.get(op) or "the evidence does not flag it and no decision publishes it"
            lines.append(f"- `{op}` (was: {', '.join(old_ops[op]['categories']) or 'no category'}; why: {why})")
    mod: list[str] = []
    for op in sorted(set(old_ops) & set(new_ops)):
        a, b = old_ops[op], new_ops[op]
        if a == b:
            continue
        fields = [f for f in sorted(set(a) | set(b)) if a.get(f) != b.get(f)]
        mod.append(f"- `{op}` (entry from: {origins[op].label if op in origins else '?'}):")
        for f in fields:
            mod.append(f"  - `{f}`: {_fmt(a.get(f))} -> {_fmt(b.get(f))} (from: {_why(origins.get(op), f)})")
    if mod:
        changed = True
        lines += ["", f"## Changed ({sum(1 for m in mod if m.startswith('- '))})", ""] + mod
    if not changed:
        lines.append(f"No changes ({len(new_ops)} ops).")
    return changed, "\n".join(lines) + "\n" + _origin_section(new, origins)


def _origin_section(new: dict[str, Any], origins: dict[str, Origin]) -> str:
    """Which entries come from evidence and which from a decision."""
    if not origins:
        return ""
    groups: dict[str, list[str]] = {}
    for op in sorted(new["ops"]):
        o = origins.get(op)
        groups.setdefault(o.label if o is not None else "?", []).append(op)
    lines = ["", "## Where the entries come from", ""]
    for label in sorted(groups, key=lambda k: (not k.startswith("evidence"), k)):
        ops = groups[label]
        lines.append(f"- {label}: {len(ops)}: " + ", ".join(f"`{op}`" for op in ops))
    return "\n".join(lines) + "\n"
