"""The pipeline: discover -> load -> rules -> select/suppress -> report -> exit code."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from tfmodel_lint import __version__
from tfmodel_lint._records import dataclass, field, replace
from tfmodel_lint.discovery import expand_paths
from tfmodel_lint.engine import Linter
from tfmodel_lint.findings import Finding, RuleInfo, RunResult, Severity, Suppression, sort_findings
from tfmodel_lint.rules.registry import Registry, discover
from tfmodel_lint.selection import DecisionEngine, Suppressor
from tfmodel_lint.settings import Settings
from tfmodel_lint.signatures import SignatureDB
from tfmodel_lint.signatures import load as load_signatures

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_USAGE = 2
EXIT_INTERNAL = 3


@dataclass
class Application:
    settings: Settings
    registry: Registry = field(default_factory=discover)
    signatures: SignatureDB | None = None

    def __post_init__(self) -> None:
        #: How many of the last run's notes are unused ignores (the rest name skipped symlinks).
        self.unused_notes: int = 0
        if self.signatures is None:
            self.signatures = load_signatures(self.settings.signatures)
        codes = [r.rule.code for r in self.registry.rules]
        self.decider = DecisionEngine.from_settings(self.settings, codes)
        self.enabled = frozenset(c for c in codes if self.decider.selected(c))

    def rule_infos(self) -> tuple[RuleInfo, ...]:
        return tuple(
            RuleInfo(r.rule.code, r.rule.name, r.rule.severity, r.rule.category, r.rule.summary,
                     r.rule.doc(), r.rule.precision, r.plugin)
            for r in self.registry.rules
            if r.rule.code in self.enabled
        )

    def run(self, paths: Sequence[str]) -> RunResult:
        from tfmodel_lint.baseline import apply_baseline, known_counts, load_entries
        from tfmodel_lint.reporters.progress import lint_with_progress

        s = self.settings
        assert self.signatures is not None
        entries = load_entries(s.baseline) if s.baseline is not None else None  # fail before linting
        skipped: list[str] = []
        targets = expand_paths(paths, s.exclude, follow_symlinks=s.follow_symlinks, skipped=skipped)
        linter = Linter(self.registry, self.signatures, s.limits, self.enabled, s.debug, s.rule_options)
        results = lint_with_progress(linter, targets, s.jobs, s.progress)
        base = s.config_path.resolve().parent if s.config_path is not None else None
        suppressor = Suppressor(s.per_file_ignores, s.targeted_ignores, base,
                                config_file=str(s.config_path) if s.config_path is not None else None)
        active: list[Finding] = []
        suppressed: list[Finding] = []
        internal: list[str] = list(self.registry.errors)
        for res in results:
            internal.extend(res.internal_errors)
            for f in res.findings:
                hit = suppressor.suppression(f)
                if hit is None:
                    active.append(f)
                else:
                    suppressed.append(replace(f, suppression=hit))
        notes: list[str] = []
        if entries is not None:
            active, baselined = apply_baseline(sort_findings(active), known_counts(entries))
            reasons = {e.fingerprint: e.reason for e in entries if e.reason}
            suppressed.extend(
                replace(f, suppression=Suppression("baseline", "baseline", reasons.get(f.fingerprint)
                                                   or f"recorded in the baseline {s.baseline}", str(s.baseline)))
                for f in baselined
            )
            linted = {r.record.path for r in results}
            matched = Counter(f.fingerprint for f in baselined)
            stale = sum(max(0, e.count - matched[e.fingerprint]) for e in entries if e.artifact in linted)
            if s.report_unused_ignores and stale:
                notes.append(f"{stale} baseline entr{'y' if stale == 1 else 'ies'} in {s.baseline} matched no "
                             "finding (run 'tfmodel-lint baseline update')")
        if s.report_unused_ignores:
            notes[:0] = suppressor.unused()
        self.unused_notes = len(notes)
        notes.extend(skipped)
        return RunResult(
            tool_version=__version__,
            findings=sort_findings(active),
            artifacts=tuple(r.record for r in results),
            rules=self.rule_infos(),
            suppressed=sort_findings(suppressed),
            internal_errors=tuple(internal),
            fail_on=s.fail_on,
            notes=tuple(notes),
        )

    def exit_code(self, result: RunResult) -> int:
        if any("crashed" in e for e in result.internal_errors) or any(
            e.startswith("plugin ") for e in result.internal_errors
        ):
            return EXIT_INTERNAL
        if self.settings.exit_zero:
            return EXIT_OK
        failing = [f for f in result.findings if f.severity >= self.settings.fail_on]
        # Notes on symlinks not followed never fail the run; unused ignores may.
        if self.settings.report_unused_ignores and self.unused_notes and self.settings.fail_on <= Severity.LOW:
            return EXIT_FINDINGS
        return EXIT_FINDINGS if failing else EXIT_OK
