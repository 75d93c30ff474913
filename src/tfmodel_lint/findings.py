"""Finding values: severities, categories, locations, findings and run results.

Findings are frozen and hashable. Rules produce :class:`Issue` values (what was found,
where inside the model); the engine stamps the artifact path and the fingerprint and
turns them into :class:`Finding` values, so a rule can never forge either.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Mapping

from tfmodel_lint._records import dataclass, field

CATEGORIES: tuple[str, ...] = (
    "file_read",
    "file_write",
    "dir_read",
    "dir_write",
    "network_send",
    "network_receive",
    "process_create",
    "process_abort",
    "process_sleep",
    "code_execution",
)
#: Category of findings about the artifact itself (unreadable, malformed, over a limit).
ARTIFACT_CATEGORY = "artifact"
#: Category of findings about the linter's configuration (unused ignores, ...).
CONFIG_CATEGORY = "configuration"


class Severity(enum.IntEnum):
    """Ordered severities; ``str()`` gives the lower-case name used in every output."""

    INFO = 0
    LOW = 1
    MEDIUM = 2
    HIGH = 3
    CRITICAL = 4

    def __str__(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, text: str) -> Severity:
        try:
            return cls[text.strip().upper()]
        except KeyError:
            names = ", ".join(str(s) for s in cls)
            raise ValueError(f"unknown severity {text!r} (expected one of: {names})") from None


@dataclass(frozen=True, slots=True)
class Location:
    """Where inside an artifact a finding is.

    Models have no line numbers: a location is a function and node (graph formats), a
    layer path (Keras), or a member of an archive, plus the entry points that reach it.
    """

    function: str | None = None
    node: str | None = None
    op: str | None = None
    layer: str | None = None
    member: str | None = None
    reached_from: tuple[str, ...] = ()

    @property
    def logical(self) -> str:
        """Stable, human-readable locator: ``function/node`` or ``layer:path``."""
        parts: list[str] = []
        if self.member:
            parts.append(f"member:{self.member}")
        if self.layer:
            parts.append(f"layer:{self.layer}")
        if self.function is not None or self.node is not None:
            func = self.function if self.function is not None else ""
            parts.append(f"{func}/{self.node}" if self.node else func)
        return " ".join(parts) if parts else "<artifact>"

    def as_dict(self) -> dict[str, object]:
        out: dict[str, object] = {}
        for key in ("function", "node", "op", "layer", "member"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        out["reached_from"] = list(self.reached_from)
        out["logical"] = self.logical
        return out


Evidence = tuple[tuple[str, object], ...]


class FrozenMap(tuple):  # type: ignore[type-arg]
    """A mapping frozen as sorted (key, value) pairs: hashable, and output as an object."""

    __slots__ = ()


def freeze_evidence(evidence: Mapping[str, object] | None) -> Evidence:
    """Sorted tuple of (key, value) pairs; lists become tuples so the result hashes."""

    def freeze(value: object) -> object:
        if isinstance(value, (list, tuple)):
            return tuple(freeze(v) for v in value)
        if isinstance(value, Mapping):
            return FrozenMap(sorted((str(k), freeze(v)) for k, v in value.items()))
        return value

    if not evidence:
        return ()
    return tuple(sorted((str(k), freeze(v)) for k, v in evidence.items()))


def thaw(value: object) -> object:
    """Inverse of the freezing above for output."""
    if isinstance(value, FrozenMap):
        return {k: thaw(v) for k, v in value}
    if isinstance(value, tuple):
        return [thaw(v) for v in value]
    return value


@dataclass(frozen=True, slots=True)
class Issue:
    """What a rule reports: everything but the artifact path and the fingerprint.

    ``key`` identifies the finding within its location for fingerprinting (for example
    the resolved target); it defaults to the location alone.
    """

    code: str
    severity: Severity
    category: str
    location: Location
    message: str
    evidence: Evidence = ()
    key: str = ""


@dataclass(frozen=True, slots=True)
class Suppression:
    """Why a finding is not reported as active: which configuration entry or baseline
    suppressed it.

    ``kind`` is ``"config"`` (``per-file-ignores`` or a targeted ``ignores`` entry) or
    ``"baseline"``; ``source`` names the entry (``per-file-ignores['models/*']``,
    ``ignores[0]``, ``baseline``); ``file`` is the configuration or baseline file it is
    in (as given, or ``None`` when unknown); ``justification`` is the entry's reason,
    or a sentence saying what the entry is when it has none.
    """

    kind: str
    source: str
    justification: str
    file: str | None = None

    @property
    def where(self) -> str:
        """``source`` with its file: ``per-file-ignores['models/*'] in pyproject.toml``."""
        return f"{self.source} in {self.file}" if self.file else self.source

    def as_dict(self) -> dict[str, object]:
        out: dict[str, object] = {"kind": self.kind, "source": self.source, "justification": self.justification}
        if self.file is not None:
            out["file"] = self.file
        return out


@dataclass(frozen=True, slots=True, order=False)
class Finding:
    code: str
    severity: Severity
    category: str
    artifact: str  # display path: relative to the working directory
    location: Location
    message: str
    evidence: Evidence
    fingerprint: str
    #: The artifact's path relative to the project root (git top level, else the
    #: configuration file's directory): what fingerprints and baselines use, so that
    #: running from a subdirectory changes nothing.
    identity: str = ""
    #: Set on suppressed findings only (``RunResult.suppressed``); never part of the fingerprint.
    suppression: Suppression | None = None

    @classmethod
    def from_issue(cls, issue: Issue, artifact: str, identity: str | None = None) -> Finding:
        ident = identity if identity is not None else artifact
        return cls(
            code=issue.code,
            severity=issue.severity,
            category=issue.category,
            artifact=artifact,
            location=issue.location,
            message=issue.message,
            evidence=issue.evidence,
            fingerprint=fingerprint(issue.code, ident, issue.location.logical, issue.key),
            identity=ident,
        )

    @property
    def evidence_dict(self) -> dict[str, object]:
        return {k: thaw(v) for k, v in self.evidence}

    def sort_key(self) -> tuple[str, int, str, str, str]:
        return (self.artifact, -int(self.severity), self.code, self.location.logical, self.fingerprint)

    def as_dict(self) -> dict[str, object]:
        out: dict[str, object] = {
            "code": self.code,
            "severity": str(self.severity),
            "category": self.category,
            "artifact": self.artifact,
            "location": self.location.as_dict(),
            "message": self.message,
            "evidence": self.evidence_dict,
            "fingerprint": self.fingerprint,
        }
        if self.suppression is not None:
            out["suppression"] = self.suppression.as_dict()
        return out


_UID_SUFFIX = re.compile(
    r"(?<![\w])(__inference_\w*?|__forward_\w*?|__backward_\w*?|\w*?_(?:true|false|body|cond|branch\d*))_\d+(?![\w])"
)


def stable_location(logical: str) -> str:
    """The logical location without the numeric suffixes TensorFlow appends to traced
    function names (``__inference___call___32``, ``while_body_103``), which change
    every time the same model is exported again."""
    return _UID_SUFFIX.sub(r"\1", logical)


def fingerprint(code: str, artifact: str, logical_location: str, key: str) -> str:
    """Stable identity: no message wording, no severity, no absolute path, no time,
    no TensorFlow function-name counters."""
    raw = "\x1f".join((code, artifact, stable_location(logical_location), stable_location(key)))
    import hashlib

    return hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()[:32]


class ArtifactStatus(enum.Enum):
    OK = "ok"
    ERROR = "error"
    SKIPPED = "skipped"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True, slots=True)
class ArtifactRecord:
    """One linted artifact: its display path, detected format and load status."""

    path: str
    format: str
    status: ArtifactStatus
    detail: str = ""

    def as_dict(self) -> dict[str, object]:
        out: dict[str, object] = {"path": self.path, "format": self.format, "status": str(self.status)}
        if self.detail:
            out["detail"] = self.detail
        return out


@dataclass(frozen=True, slots=True)
class RuleInfo:
    """Metadata of an enabled rule, as reporters need it."""

    code: str
    name: str
    severity: Severity
    category: str
    summary: str
    doc: str
    precision: str
    plugin: str


class ErrorKind(enum.Enum):
    """What went wrong inside the linter (exit code 3)."""

    RULE_CRASHED = "rule_crashed"
    LOADER_CRASHED = "loader_crashed"
    PLUGIN_FAILED = "plugin_failed"


@dataclass(frozen=True, slots=True)
class InternalError:
    """A rule, loader or plugin failed: a bug in the linter or a plugin. ``str()`` is the
    message every report shows."""

    kind: ErrorKind
    message: str

    def __str__(self) -> str:
        return self.message


class NoteKind(enum.Enum):
    """What a note is about. Notes are said in every report; only unused ignores and
    stale baseline entries may fail a run (with ``--report-unused-ignores``)."""

    SKIPPED = "skipped"  # a path not linted: a symlink not followed, a file that is not a model
    UNUSED_IGNORE = "unused_ignore"
    STALE_BASELINE = "stale_baseline"
    CONFIGURATION = "configuration"  # what the configuration does that a reviewer should know
    LIMITATION = "limitation"  # a safeguard not in force (no time budget off the main thread)


@dataclass(frozen=True, slots=True)
class Note:
    kind: NoteKind
    message: str

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class RunResult:
    """Everything a reporter needs; immutable."""

    tool_version: str
    findings: tuple[Finding, ...]
    artifacts: tuple[ArtifactRecord, ...]
    rules: tuple[RuleInfo, ...]
    suppressed: tuple[Finding, ...] = ()
    internal_errors: tuple[InternalError, ...] = ()
    fail_on: Severity = Severity.MEDIUM
    notes: tuple[Note, ...] = field(default=())

    def counts_by_severity(self) -> dict[str, int]:
        counts = {str(s): 0 for s in sorted(Severity, reverse=True)}
        for f in self.findings:
            counts[str(f.severity)] += 1
        return counts


def sort_findings(findings: Iterable[Finding]) -> tuple[Finding, ...]:
    return tuple(sorted(findings, key=Finding.sort_key))
