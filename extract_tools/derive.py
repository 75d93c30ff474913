"""Entries derived from evidence, and review decisions applied on top.

``from_evidence`` turns classifier results into table entries with no human
input: every op the evidence says has a capability, its categories, the
target/payload arguments the classifier found and a summary made from the
op's documentation (or, without documentation, from the signals).
``apply_decisions`` applies ``review/decisions.json``: rejects drop an entry,
accepts override the fields they give. Each published entry keeps where each
of its fields came from (``Origin``), and each dropped one why.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from extract_tools.capanalysis.evidence import OpEvidence
from extract_tools.capanalysis.offline import OfflineResult
from extract_tools.capanalysis.taxonomy import CAPABILITIES
from extract_tools.review import Decision, Decisions

EVIDENCE = "evidence"
DECISION = "decision"
FIELDS = ("categories", "targets", "payloads", "summary")


@dataclass
class Entry:
    """What the table says about one op, before kinds/positions are resolved."""

    categories: list[str]
    targets: list[dict[str, Any]]
    payloads: list[dict[str, Any]]
    summary: str
    manual: bool = False


@dataclass
class Origin:
    """Where each field of a published entry came from."""

    fields: dict[str, str]  # field -> EVIDENCE | DECISION
    flagged: bool  # the evidence flags the op
    decision: Decision | None = None

    @property
    def label(self) -> str:
        """``evidence``, ``evidence + decision (summary)``, ``decision``."""
        if not self.flagged:
            return "decision"
        over = [f for f in FIELDS if self.fields.get(f) == DECISION]
        if over:
            return f"evidence + decision ({', '.join(over)})"
        return "evidence (confirmed by a decision)" if self.decision is not None else "evidence"


@dataclass
class Reviewed:
    entries: dict[str, Entry] = field(default_factory=dict)
    origins: dict[str, Origin] = field(default_factory=dict)
    dropped: dict[str, str] = field(default_factory=dict)  # op the evidence flags -> why it is not published
    ignored: dict[str, str] = field(default_factory=dict)  # decision that could not apply -> why


_TODO_DOC = re.compile(r"^\s*TODO: add doc\.?\s*$", re.I)


def doc_summary(doc: str, limit: int = 300) -> str:
    """The first paragraph of a generated docstring, on one line (cut at a
    sentence end when long); empty for ``TODO: add doc.``."""
    para = re.split(r"\n\s*\n|\n\s*(?:Args|Returns|Raises):", doc.strip(), maxsplit=1)[0]
    text = " ".join(para.split())
    if not text or _TODO_DOC.match(text):
        return ""
    if len(text) > limit:
        cut = text.rfind(". ", 0, limit)
        text = text[: cut + 1] if cut > 0 else text[:limit].rstrip() + "..."
    return text


def evidence_summary(ev: OpEvidence, r: OfflineResult) -> str:
    parts = []
    doc = doc_summary(ev.docstring)
    if doc:
        parts.append(doc)
    if r.via_resource is not None:
        name, openers = r.via_resource
        parts.append(
            f"Writes through the `{name}` resource, which {' or '.join(openers)} opens on a path; the path is an "
            "argument of that op, not of this one."
        )
    if not doc:
        labels = sorted({s.display() for s in r.signals if s.sub in r.capabilities})
        parts.append(
            f"No op documentation; {', '.join(r.capabilities)} derived from: {'; '.join(labels) or 'the op name'}."
        )
    return " ".join(parts)


def _arg(t: Any) -> dict[str, Any]:
    return {"name": t.name, "role": t.role}


def from_evidence(
    evidence: dict[str, OpEvidence],
    offline: dict[str, OfflineResult],
    llm: dict[str, Any] | None = None,
) -> dict[str, Entry]:
    """One entry per op the evidence gives a capability (offline classifier,
    plus the LLM majority when it ran)."""
    out: dict[str, Entry] = {}
    for op in sorted(offline):
        r = offline[op]
        caps = set(r.capabilities)
        targets = [_arg(t) for t in r.targets]
        lr = (llm or {}).get(op)
        if lr is not None and getattr(lr, "status", "") == "ok":
            caps |= set(lr.capabilities)
            known = {a.name for a in evidence[op].args}
            have = {t["name"] for t in targets}
            targets += [{"name": n, "role": "path"} for n in lr.targets if n in known and n not in have]
        if not caps:
            continue
        out[op] = Entry(
            categories=[c for c in CAPABILITIES if c in caps],
            targets=targets,
            payloads=[_arg(t) for t in r.payloads],
            summary=evidence_summary(evidence[op], r),
        )
    return out


def apply_decisions(derived: dict[str, Entry], decisions: Decisions) -> Reviewed:
    """Evidence entries, corrected by the decisions (see review/__init__.py)."""
    out = Reviewed()
    for op in sorted(set(derived) | set(decisions.items)):
        d = decisions.items.get(op)
        base = derived.get(op)
        if d is not None and d.status != "accept":
            if base is not None:
                out.dropped[op] = f"rejected by decision: {d.reason}"
            continue
        if base is None:
            if d is None:
                continue
            if not d.is_complete():
                out.ignored[op] = (
                    "accepted, but the evidence does not flag the op and the decision gives no categories/summary"
                )
                continue
            base = Entry([], [], [], "")
        fields: dict[str, str] = {}
        values: dict[str, Any] = {}
        for f in FIELDS:
            v = getattr(d, f) if d is not None else None
            if v is not None:
                values[f], fields[f] = v, DECISION
            else:
                values[f], fields[f] = getattr(base, f), EVIDENCE
        out.entries[op] = Entry(
            categories=list(values["categories"]),
            targets=[dict(t) for t in values["targets"]],
            payloads=[dict(t) for t in values["payloads"]],
            summary=str(values["summary"]),
            manual=bool(d is not None and d.manual),
        )
        out.origins[op] = Origin(fields, op in derived, d)
    return out


def plain(entries: dict[str, Entry]) -> Reviewed:
    """The from-scratch table: the evidence entries, no decision."""
    out = Reviewed()
    for op, e in entries.items():
        out.entries[op] = e
        out.origins[op] = Origin(dict.fromkeys(FIELDS, EVIDENCE), True)
    return out
