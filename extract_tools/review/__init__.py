"""Review decisions: the exceptions to what the evidence says, each with its reason.

``regenerate`` first derives every entry from evidence alone (see
``extract_tools/derive.py``); ``decisions.json`` (next to this file) then
corrects it op by op:

* ``accept``: publish the op. Each of ``categories``, ``targets``,
  ``payloads`` (name + role; kind and position are re-derived from the op
  registry when the op is registered) and ``summary`` that the decision gives
  *overrides* the evidence; a field it leaves out keeps the evidence's value.
  An accept without any of them confirms the evidence as it is. An op the
  evidence does not flag at all is published only when its decision gives at
  least ``categories`` and ``summary``. ``manual`` marks an entry that rests on
  a judgement call (provenance ``manual``).
* ``reject``: never publish the op, whatever the evidence says.

Every decision carries a ``reason`` (printed in ``CHANGES.md`` and the trail).

``queue.json`` (written by ``regenerate``) lists what needs a look: ops
published from evidence that no decision has confirmed, LLM/offline
disagreements, LLM failures, and accepted ops whose decision the classifiers
contradict (to re-check).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
DECISIONS_FILE = HERE / "decisions.json"
QUEUE_FILE = HERE / "queue.json"
ADDON_DECISIONS_DIR = HERE / "addons"
FORMAT = 2
OVERRIDE_FIELDS = ("categories", "targets", "payloads", "summary")

ACCEPT = "accept"
REJECT = "reject"


@dataclass
class Decision:
    op: str
    status: str
    categories: list[str] | None = None
    targets: list[dict[str, Any]] | None = None
    payloads: list[dict[str, Any]] | None = None
    summary: str | None = None
    manual: bool = False
    reason: str = ""
    source: str = "review"

    def overrides(self) -> list[str]:
        """The fields this decision sets (the others come from the evidence)."""
        return [f for f in OVERRIDE_FIELDS if getattr(self, f) is not None]

    def is_complete(self) -> bool:
        """Enough to publish an op the evidence does not flag."""
        return self.categories is not None and self.summary is not None

    def to_json(self) -> dict[str, Any]:
        if self.status == REJECT:
            return {"status": REJECT, "reason": self.reason, "source": self.source}
        out: dict[str, Any] = {"status": ACCEPT, "reason": self.reason, "source": self.source}
        for f in OVERRIDE_FIELDS:
            v = getattr(self, f)
            if v is not None:
                out[f] = v
        if self.manual:
            out["manual"] = True
        return out

    @classmethod
    def from_json(cls, op: str, d: dict[str, Any]) -> Decision:
        status = d.get("status")
        if status not in {ACCEPT, REJECT}:
            raise ValueError(f"decision for {op}: status must be accept or reject, not {status!r}")
        return cls(
            op=op,
            status=status,
            categories=list(d["categories"]) if "categories" in d else None,
            targets=[dict(t) for t in d["targets"]] if "targets" in d else None,
            payloads=[dict(t) for t in d["payloads"]] if "payloads" in d else None,
            summary=str(d["summary"]) if "summary" in d else None,
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
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(
            json.dumps(self.to_json(), indent=1, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8"
        )


def load(path: Path = DECISIONS_FILE) -> Decisions:
    if not path.exists():
        return Decisions()
    data = json.loads(path.read_text(encoding="utf-8"))
    if data.get("format") != FORMAT:
        raise ValueError(f"{path}: unsupported format {data.get('format')!r} (expected {FORMAT})")
    return Decisions(
        {op: Decision.from_json(op, d) for op, d in data.get("decisions", {}).items()}, str(data.get("comment", ""))
    )


def parse_arg_spec(spec: str) -> dict[str, Any]:
    """``name:role`` or ``attr:name:role`` / ``input:name:role`` (CLI)."""
    parts = spec.split(":")
    if len(parts) == 2:
        return {"name": parts[0], "role": parts[1]}
    if len(parts) == 3 and parts[0] in {"input", "attr"}:
        return {"kind": parts[0], "name": parts[1], "role": parts[2]}
    raise ValueError(f"argument spec {spec!r}: expected NAME:ROLE or input|attr:NAME:ROLE")
