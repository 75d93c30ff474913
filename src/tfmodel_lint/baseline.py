"""Baselines: known findings, matched by fingerprint and count (placeholder API)."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from tfmodel_lint.findings import Finding

FORMAT_VERSION = 1


class BaselineError(Exception):
    pass


def load_baseline(path: Path) -> Counter[str]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BaselineError(f"cannot read baseline {path}: {exc}") from exc
    if not isinstance(data, dict) or data.get("version") != FORMAT_VERSION or not isinstance(data.get("findings"), list):
        raise BaselineError(f"{path} is not a tfmodel-lint baseline (format version {FORMAT_VERSION})")
    counts: Counter[str] = Counter()
    for entry in data["findings"]:
        if not isinstance(entry, dict) or not isinstance(entry.get("fingerprint"), str):
            raise BaselineError(f"{path}: malformed entry {entry!r}")
        count = entry.get("count", 1)
        counts[entry["fingerprint"]] += count if isinstance(count, int) and count > 0 else 1
    return counts


def apply_baseline(findings: Sequence[Finding], known: Counter[str]) -> tuple[list[Finding], list[Finding]]:
    """Split findings into (new, baselined); count-aware: N known absorb at most N."""
    remaining = Counter(known)
    new: list[Finding] = []
    old: list[Finding] = []
    for f in findings:
        if remaining[f.fingerprint] > 0:
            remaining[f.fingerprint] -= 1
            old.append(f)
        else:
            new.append(f)
    return new, old


def render_baseline(findings: Sequence[Finding]) -> str:
    counts: Counter[tuple[str, str, str, str]] = Counter(
        (f.fingerprint, f.code, f.artifact, f.location.logical) for f in findings
    )
    entries = [
        {"artifact": a, "code": c, "count": n, "fingerprint": fp, "location": loc}
        for (fp, c, a, loc), n in sorted(counts.items(), key=lambda kv: (kv[0][2], kv[0][1], kv[0][3], kv[0][0]))
    ]
    doc = {"findings": entries, "tool": "tfmodel-lint", "version": FORMAT_VERSION}
    return json.dumps(doc, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
