"""Review decisions: the human word on an op, applied by every regeneration.

``decisions.json`` (next to this file) maps op names to a decision:

* ``accept``: publish the op in ``signatures/tf_ops.json`` with these
  categories, target/payload arguments (name + role; kind and position are
  re-derived from the op registry when the op is registered), summary and
  flags (``threat_model``: the threat model names the op; ``manual``: the
  entry rests on a judgement call, see the summary).
* ``reject``: never publish it (with the reason); classifier proposals for it
  are not queued again.

``queue.json`` (written by ``regenerate``) lists what needs a decision: ops the
classifiers flag that have none, LLM/offline disagreements, LLM failures, and
accepted ops whose decision the classifiers contradict (to re-check).
"""

from __future__ import annotations

import ast
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
DECISIONS_FILE = HERE / "decisions.json"
QUEUE_FILE = HERE / "queue.json"
FORMAT = 1

ACCEPT = "accept"
REJECT = "reject"


@dataclass
class Decision:
    op: str
    status: str
    categories: list[str] = field(default_factory=list)
    targets: list[dict[str, Any]] = field(default_factory=list)
    payloads: list[dict[str, Any]] = field(default_factory=list)
    summary: str = ""
    threat_model: bool = False
    manual: bool = False
    reason: str = ""
    source: str = "review"

    def to_json(self) -> dict[str, Any]:
        if self.status == REJECT:
            return {"status": REJECT, "reason": self.reason, "source": self.source}
        return {
            "status": ACCEPT,
            "categories": self.categories,
            "targets": self.targets,
            "payloads": self.payloads,
            "summary": self.summary,
            "threat_model": self.threat_model,
            "manual": self.manual,
            "source": self.source,
        }

    @classmethod
    def from_json(cls, op: str, d: dict[str, Any]) -> Decision:
        status = d.get("status")
        if status not in {ACCEPT, REJECT}:
            raise ValueError(f"decision for {op}: status must be accept or reject, not {status!r}")
        return cls(
            op=op,
            status=status,
            categories=list(d.get("categories", [])),
            targets=[dict(t) for t in d.get("targets", [])],
            payloads=[dict(t) for t in d.get("payloads", [])],
            summary=str(d.get("summary", "")),
            threat_model=bool(d.get("threat_model", False)),
            manual=bool(d.get("manual", False)),
            reason=str(d.get("reason", "")),
            source=str(d.get("source", "review")),
        )


@dataclass
class Decisions:
    items: dict[str, Decision] = field(default_factory=dict)
    comment: str = ""

    def accepted(self) -> dict[str, Decision]:
        return {k: v for k, v in self.items.items() if v.status == ACCEPT}

    def rejected(self) -> dict[str, Decision]:
        return {k: v for k, v in self.items.items() if v.status == REJECT}

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "comment": self.comment,
            "decisions": {k: self.items[k].to_json() for k in sorted(self.items)},
        }

    def save(self, path: Path = DECISIONS_FILE) -> None:
        path.write_text(
            json.dumps(self.to_json(), indent=1, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8"
        )


def load(path: Path = DECISIONS_FILE) -> Decisions:
    if not path.exists():
        return Decisions()
    data = json.loads(path.read_text(encoding="utf-8"))
    if data.get("format") != FORMAT:
        raise ValueError(f"{path}: unsupported format {data.get('format')!r}")
    return Decisions(
        {op: Decision.from_json(op, d) for op, d in data.get("decisions", {}).items()}, str(data.get("comment", ""))
    )


def _arg_for_decision(arg: dict[str, Any]) -> dict[str, Any]:
    """Keep name and role; kind/index/after_list too (needed for ops the
    registry does not know; re-derived for the others)."""
    return {k: arg[k] for k in ("kind", "name", "index", "after_list", "role") if k in arg}


def from_signatures(doc: dict[str, Any], source: str) -> dict[str, Decision]:
    """Accept decisions equal to the entries of a tf_ops.json document."""
    out: dict[str, Decision] = {}
    for op, e in doc["ops"].items():
        prov = e.get("provenance", [])
        out[op] = Decision(
            op=op,
            status=ACCEPT,
            categories=list(e["categories"]),
            targets=[_arg_for_decision(t) for t in e["targets"]],
            payloads=[_arg_for_decision(t) for t in e["payloads"]],
            summary=e["summary"],
            threat_model="threat-model" in prov,
            manual="manual" in prov,
            source=source,
        )
    return out


def excluded_from_curate_py(path: Path) -> dict[str, str]:
    """``EXCLUDED`` and ``NOT_AN_OP`` dict literals of signatures/tools/curate.py,
    read with ast (the script imports TensorFlow; it is not imported)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    out: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            name = node.targets[0].id
            if name in {"EXCLUDED", "NOT_AN_OP"}:
                value = ast.literal_eval(node.value)
                if isinstance(value, dict):
                    for k, v in value.items():
                        prefix = "not an op: " if name == "NOT_AN_OP" else ""
                        out[str(k)] = prefix + str(v)
    return out


def import_curated(
    decisions: Decisions,
    signatures_doc: dict[str, Any],
    *,
    signatures_label: str,
    excluded: dict[str, str] | None = None,
    excluded_label: str = "",
    overwrite_review: bool = False,
) -> tuple[int, int, int]:
    """Merge the curated table into *decisions*: (accepted, rejected, kept).

    Decisions whose source is ``review`` (made with ``review accept/reject``)
    are kept unless *overwrite_review*.
    """
    added = rejected = kept = 0
    for op, d in from_signatures(signatures_doc, f"curated:{signatures_label}").items():
        cur = decisions.items.get(op)
        if cur is not None and cur.source == "review" and not overwrite_review:
            kept += 1
            continue
        decisions.items[op] = d
        added += 1
    for op, reason in (excluded or {}).items():
        if op in signatures_doc["ops"]:
            continue
        cur = decisions.items.get(op)
        if cur is not None and cur.source == "review" and not overwrite_review:
            kept += 1
            continue
        decisions.items[op] = Decision(op, REJECT, reason=reason, source=f"curated-excluded:{excluded_label}")
        rejected += 1
    return added, rejected, kept


def parse_arg_spec(spec: str) -> dict[str, Any]:
    """``name:role`` or ``attr:name:role`` / ``input:name:role`` (CLI)."""
    parts = spec.split(":")
    if len(parts) == 2:
        return {"name": parts[0], "role": parts[1]}
    if len(parts) == 3 and parts[0] in {"input", "attr"}:
        return {"kind": parts[0], "name": parts[1], "role": parts[2]}
    raise ValueError(f"argument spec {spec!r}: expected NAME:ROLE or input|attr:NAME:ROLE")
