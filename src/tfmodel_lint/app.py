"""The pipeline: discover -> load -> rules -> select/suppress -> report -> exit code."""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

from tfmodel_lint._records import dataclass, field, replace
from tfmodel_lint._version import __version__
from tfmodel_lint.discovery import DiscoveryOptions, display_path, expand_paths, project_root
from tfmodel_lint.engine import Linter, budget_enforceable
from tfmodel_lint.findings import (
    ErrorKind,
    Finding,
    InternalError,
    Note,
    NoteKind,
    RuleInfo,
    RunResult,
    Severity,
    Suppression,
    sort_findings,
)
from tfmodel_lint.options import OptionError, suggest
from tfmodel_lint.rules.registry import Registry, discover
from tfmodel_lint.selection import DecisionEngine, Suppressor
from tfmodel_lint.settings import Settings, make_settings
from tfmodel_lint.signatures import SignatureDB
from tfmodel_lint.signatures import load as load_signatures

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_USAGE = 2
EXIT_INTERNAL = 3


def check_prefixes(settings: Settings, codes: Sequence[str]) -> None:
    """Every select/ignore prefix must name installed rules: ``--select XYZ`` selecting
    nothing, or a misspelt ``ignore``, is a usage error, not a silent no-op."""
    for key in ("select", "extend_select", "ignore", "extend_ignore"):
        values = getattr(settings, key) or ()
        for prefix in values:
            if any(code.startswith(prefix) for code in codes):
                continue
            where = f" in {settings.config_path}" if key in settings.from_config and settings.config_path else ""
            spelled = key.replace("_", "-")
            raise OptionError(f"{spelled}{where}: {prefix!r} matches no installed rule"
                             f"{suggest(prefix.upper(), list(codes) + sorted({c[:4] for c in codes}))}")


@dataclass
class Application:
    settings: Settings
    registry: Registry = field(default_factory=discover)
    signatures: SignatureDB | None = None

    def __post_init__(self) -> None:
        if self.signatures is None:
            self.signatures = load_signatures(self.settings.signatures)
        codes = [r.rule.code for r in self.registry.rules]
        check_prefixes(self.settings, codes)
        self.decider = DecisionEngine.from_settings(self.settings, codes)
        self.enabled = frozenset(c for c in codes if self.decider.selected(c))

    def rule_infos(self) -> tuple[RuleInfo, ...]:
        return tuple(
            RuleInfo(r.rule.code, r.rule.name, r.rule.severity, r.rule.category, r.rule.summary,
                     r.rule.doc(), r.rule.precision, r.plugin)
            for r in self.registry.rules
            if r.rule.code in self.enabled
        )

    def discovery_options(self) -> DiscoveryOptions:
        s = self.settings
        return DiscoveryOptions(exclude=s.exclude, extend_exclude=s.extend_exclude,
                                default_excludes=s.default_excludes, respect_gitignore=s.respect_gitignore,
                                follow_symlinks=s.follow_symlinks, force_exclude=s.force_exclude,
                                skip_non_models=s.skip_non_models)

    def run(self, paths: Sequence[str]) -> RunResult:
        from tfmodel_lint.baseline import apply_baseline, known_counts, load_entries
        from tfmodel_lint.reporters.progress import lint_with_progress

        s = self.settings
        assert self.signatures is not None
        entries = load_entries(s.baseline) if s.baseline is not None else None  # fail before linting
        found_root = project_root(paths, s.config_path)
        found = expand_paths(paths, self.discovery_options(), root=found_root)
        notes: list[Note] = list(found.notes)
        why = budget_enforceable()
        if why is not None and (s.limits.time_budget > 0 or s.limits.run_time_budget > 0):
            notes.append(Note(NoteKind.LIMITATION, f"time budgets not enforced: {why}; a slow artifact can hold "
                              "the run up"))
        deadline = time.monotonic() + s.limits.run_time_budget if s.limits.run_time_budget > 0 else None
        linter = Linter(self.registry, self.signatures, s.limits, self.enabled, s.debug, s.rule_options,
                        deadline=deadline)
        results = lint_with_progress(linter, found.targets, s.jobs, s.progress)
        base = s.config_path.resolve().parent if s.config_path is not None else None
        suppressor = Suppressor(s.per_file_ignores, s.targeted_ignores, base,
                                config_file=str(s.config_path) if s.config_path is not None else None)
        active: list[Finding] = []
        suppressed: list[Finding] = []
        internal: list[InternalError] = [InternalError(ErrorKind.PLUGIN_FAILED, e) for e in self.registry.errors]
        by_content = {t.display for t in found.targets if t.by_content}
        records = []
        for res in results:
            internal.extend(res.internal_errors)
            if res.record.path in by_content and _holds_no_model(res.findings):
                notes.append(Note(NoteKind.SKIPPED, f"{res.record.path}: looked like a model by its content, "
                                  "but holds none"))
                continue
            records.append(res.record)
            for f in res.findings:
                hit = suppressor.suppression(f)
                if hit is None:
                    active.append(f)
                else:
                    suppressed.append(replace(f, suppression=hit))
        if entries is not None:
            active, baselined = apply_baseline(sort_findings(active), known_counts(entries))
            reasons = {e.fingerprint: e.reason for e in entries if e.reason}
            suppressed.extend(
                replace(f, suppression=Suppression("baseline", "baseline", reasons.get(f.fingerprint)
                                                   or f"recorded in the baseline {s.baseline}", str(s.baseline)))
                for f in baselined
            )
            linted = {t.identity for t in found.targets} | {r.path for r in records}
            matched = Counter(f.fingerprint for f in baselined)
            stale = sum(max(0, e.count - matched[e.fingerprint]) for e in entries if e.artifact in linted)
            if s.report_unused_ignores and stale:
                notes.append(Note(NoteKind.STALE_BASELINE,
                                  f"{stale} baseline entr{'y' if stale == 1 else 'ies'} in {s.baseline} matched no "
                                  "finding (run 'tfmodel-lint baseline update')"))
        if s.report_unused_ignores:
            notes[:0] = [Note(NoteKind.UNUSED_IGNORE, text) for text in suppressor.unused()]
        active.extend(self._audit(found_root))  # neither the configuration nor its baseline can absorb these
        return RunResult(
            tool_version=__version__,
            findings=sort_findings(active),
            artifacts=tuple(records),
            rules=self.rule_infos(),
            suppressed=sort_findings(suppressed),
            internal_errors=tuple(internal),
            fail_on=s.fail_on,
            notes=tuple(notes),
        )


    def _audit(self, root: Path) -> list[Finding]:
        """TFL910 findings on the configuration file, selected by the command line only
        (the configuration cannot suppress what is said about it)."""
        s = self.settings
        if s.config_path is None or not s.from_config:
            return []
        from tfmodel_lint.audit import audit

        assert self.signatures is not None
        builtin = load_signatures(()) if "signatures" in s.from_config else None
        display = display_path(s.config_path)
        identity = display_path(s.config_path, real_base=os.path.realpath(root))
        found = audit(s, self.registry, self.signatures, builtin, display, identity)
        cli = {k: getattr(s, k) for k in ("select", "extend_select", "ignore", "extend_ignore")
               if k not in s.from_config or s.from_config[k] != getattr(s, k)}
        decider = DecisionEngine.from_settings(make_settings(cli), [r.rule.code for r in self.registry.rules])
        return [f for f in found if decider.selected(f.code)]


def _holds_no_model(findings: Iterable[Finding]) -> bool:
    """The only finding of a content-sniffed file says it holds no model."""
    codes = [f.code for f in findings]
    return codes == ["TFL904"]


def exit_code(result: RunResult, settings: Settings) -> int:
    """The run's exit code, from the result and the settings alone."""
    if result.internal_errors:
        return EXIT_INTERNAL
    if settings.exit_zero:
        return EXIT_OK
    if any(f.severity >= settings.fail_on for f in result.findings):
        return EXIT_FINDINGS
    # Notes on skipped paths never fail the run; unused ignores may.
    unused = any(n.kind in (NoteKind.UNUSED_IGNORE, NoteKind.STALE_BASELINE) for n in result.notes)
    if settings.report_unused_ignores and unused and settings.fail_on <= Severity.LOW:
        return EXIT_FINDINGS
    return EXIT_OK
