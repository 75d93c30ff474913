"""Shared base of the capability rules: select this rule's assessments."""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar

from tfmodel_lint.analysis.capabilities import RESOLVED, Assessment, assess
from tfmodel_lint.findings import Issue
from tfmodel_lint.ir import ModelIR
from tfmodel_lint.rules.base import Rule, RuleContext


class CapabilityRule(Rule):
    """Reports capability-op assessments of one category and kind."""

    kind: ClassVar[str] = RESOLVED
    categories: ClassVar[frozenset[str] | None] = None  # None: only ``category``

    def wants(self, a: Assessment) -> bool:
        cats = self.categories if self.categories is not None else frozenset({self.category})
        return a.kind == self.kind and a.category in cats

    def check(self, model: ModelIR, ctx: RuleContext) -> Iterable[Issue]:
        for a in assess(model, ctx.signatures):
            if self.wants(a):
                message, evidence = a.message, a.evidence
                library = a.site.sig.library
                if library:
                    # An add-on's op: the model needs that kernel library, and says so.
                    message = f"{message} (an op of the {library} kernel library)"
                    evidence = {**evidence, "library": library}
                yield self.issue(a.site.location, message, a.severity, evidence, a.key, a.category)
