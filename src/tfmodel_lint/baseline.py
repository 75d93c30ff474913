"""Baselines: findings recorded as known, so that only new ones are reported.

``tfmodel-lint baseline create FILE PATHS...`` records the current findings;
``baseline update FILE PATHS...`` re-records them, keeping the ``reason`` of entries
that are still found; ``--baseline FILE`` (or ``baseline = "FILE"`` in the
configuration) reports only findings not in it. Linting never writes the file: under
pre-commit the hook only reads it.

Matching is by fingerprint (code, artifact path, location inside the model, and a
rule-specific key; never the message wording or a line number) and count-aware: an
entry with ``count`` N absorbs at most N identical findings, so a second identical
finding where the baseline has one is new.

The file is byte-stable: entries sorted, keys sorted, no timestamps, a format version,
one trailing newline. The same findings always give the same bytes::

    {
     "findings": [
      {"artifact": "models/x", "code": "TFL201", "count": 1, "fingerprint": "...",
       "location": "__inference_serve_6/ReadFile", "reason": "reviewed"}
     ],
     "tool": "tfmodel-lint",
     "version": 1
    }

(``reason`` is optional: add it by hand; ``baseline update`` keeps it.)
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

from tfmodel_lint._records import dataclass
from tfmodel_lint.findings import Finding
from tfmodel_lint.fsutil import TextFileError, read_small_text

FORMAT_VERSION = 1
TOOL = "tfmodel-lint"


class BaselineError(Exception):
    """The baseline file cannot be used: exit code 2."""


@dataclass(frozen=True)
class BaselineEntry:
    artifact: str
    code: str
    location: str
    fingerprint: str
    count: int = 1
    reason: str | None = None

    def as_dict(self) -> dict[str, object]:
        out: dict[str, object] = {
            "artifact": self.artifact,
            "code": self.code,
            "count": self.count,
            "fingerprint": self.fingerprint,
            "location": self.location,
        }
        if self.reason is not None:
            out["reason"] = self.reason
        return out


def _key(e: BaselineEntry) -> tuple[str, str, str, str]:
    return (e.artifact, e.code, e.location, e.fingerprint)


def _entry(raw: object, where: Path) -> BaselineEntry:
    if not isinstance(raw, dict):
        raise BaselineError(f"{where}: malformed entry {raw!r}")
    fp = raw.get("fingerprint")
    if not isinstance(fp, str) or not fp:
        raise BaselineError(f"{where}: entry without a fingerprint: {raw!r}")
    count = raw.get("count", 1)
    if not isinstance(count, int) or isinstance(count, bool) or count < 1:
        raise BaselineError(f"{where}: entry {fp}: count must be a positive integer")
    reason = raw.get("reason")
    if reason is not None and not isinstance(reason, str):
        raise BaselineError(f"{where}: entry {fp}: reason must be a string")
    return BaselineEntry(
        artifact=str(raw.get("artifact", "")),
        code=str(raw.get("code", "")),
        location=str(raw.get("location", "")),
        fingerprint=fp,
        count=count,
        reason=reason,
    )


def parse_baseline(text: str, where: Path = Path("<baseline>")) -> list[BaselineEntry]:
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise BaselineError(f"cannot read baseline {where}: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("findings"), list):
        raise BaselineError(f"{where} is not a tfmodel-lint baseline")
    version = data.get("version")
    if version != FORMAT_VERSION:
        raise BaselineError(
            f"{where}: baseline format version {version!r} is not supported (this tfmodel-lint reads and writes "
            f"version {FORMAT_VERSION}); re-create it with 'tfmodel-lint baseline create'"
        )
    return [_entry(raw, where) for raw in data["findings"]]


def load_entries(path: Path) -> list[BaselineEntry]:
    try:
        text = read_small_text(path, "baseline")
    except TextFileError as exc:
        raise BaselineError(str(exc)) from None
    return parse_baseline(text, path)


def known_counts(entries: Iterable[BaselineEntry]) -> Counter[str]:
    counts: Counter[str] = Counter()
    for e in entries:
        counts[e.fingerprint] += e.count
    return counts


def load_baseline(path: Path) -> Counter[str]:
    """Fingerprint -> how many findings with it are known."""
    return known_counts(load_entries(path))


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


def entries_for(findings: Iterable[Finding], previous: Iterable[BaselineEntry] = ()) -> list[BaselineEntry]:
    """Entries recording ``findings``, sorted; reasons carried over from ``previous``."""
    reasons = {e.fingerprint: e.reason for e in previous if e.reason is not None}
    counts: Counter[tuple[str, str, str, str]] = Counter(
        (f.identity or f.artifact, f.code, f.location.logical, f.fingerprint) for f in findings
    )
    return sorted(
        (BaselineEntry(artifact, code, location, fp, n, reasons.get(fp))
         for (artifact, code, location, fp), n in counts.items()),
        key=_key,
    )


def render_entries(entries: Iterable[BaselineEntry]) -> str:
    merged: dict[tuple[str, str, str, str], BaselineEntry] = {}
    for e in entries:
        key = _key(e)
        old = merged.get(key)
        if old is not None:
            e = BaselineEntry(*key, count=old.count + e.count, reason=old.reason or e.reason)  # noqa: PLW2901
        merged[key] = e
    doc = {
        "findings": [e.as_dict() for e in sorted(merged.values(), key=_key)],
        "tool": TOOL,
        "version": FORMAT_VERSION,
    }
    return json.dumps(doc, indent=1, sort_keys=True, ensure_ascii=True) + "\n"


def render_baseline(findings: Iterable[Finding], previous: Iterable[BaselineEntry] = ()) -> str:
    return render_entries(entries_for(findings, previous))
