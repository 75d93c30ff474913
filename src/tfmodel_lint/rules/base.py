"""The rule interface.

A rule is a small class with declared metadata and one method, ``check``; its
docstring is its documentation (``tfmodel-lint rules CODE`` prints it). Rules are
grouped in packs registered under the ``tfmodel_lint.rules`` entry-point group; the
entry name is the code prefix the pack owns (``TFL2 = tfmodel_lint.rules.files:RULES``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

from tfmodel_lint._records import dataclass, field
from tfmodel_lint.findings import Evidence, Issue, Location, Severity, freeze_evidence
from tfmodel_lint.ir import ModelIR
from tfmodel_lint.signatures import SignatureDB


@dataclass(frozen=True)
class RuleContext:
    """What a rule may use besides the model: capability data and its own options."""

    signatures: SignatureDB
    options: Mapping[str, Any] = field(default_factory=dict)


def cleandoc(doc: str) -> str:
    """``inspect.cleandoc`` without importing inspect (start-up time matters)."""
    lines = doc.expandtabs().splitlines()
    indents = [len(line) - len(line.lstrip()) for line in lines[1:] if line.strip()]
    margin = min(indents, default=0)
    out = [lines[0].strip()] + [line[margin:].rstrip() for line in lines[1:]] if lines else []
    while out and not out[0]:
        out.pop(0)
    while out and not out[-1]:
        out.pop()
    return "\n".join(out)


class Rule:
    """Base class of every rule. Subclasses set the class attributes and ``check``."""

    code: ClassVar[str]
    name: ClassVar[str]
    severity: ClassVar[Severity]
    category: ClassVar[str]
    summary: ClassVar[str]
    #: SARIF precision: very-high, high, medium or low.
    precision: ClassVar[str] = "high"
    #: Artifact formats the rule applies to; empty means all.
    formats: ClassVar[frozenset[str]] = frozenset()

    def check(self, model: ModelIR, ctx: RuleContext) -> Iterable[Issue]:
        raise NotImplementedError

    @classmethod
    def doc(cls) -> str:
        return cleandoc(cls.__doc__ or cls.summary)

    def issue(
        self,
        location: Location,
        message: str,
        severity: Severity | None = None,
        evidence: Mapping[str, object] | None = None,
        key: str = "",
        category: str | None = None,
    ) -> Issue:
        frozen: Evidence = freeze_evidence(evidence)
        return Issue(
            code=self.code,
            severity=self.severity if severity is None else severity,
            category=self.category if category is None else category,
            location=location,
            message=message,
            evidence=frozen,
            key=key,
        )
