"""Typed, frozen settings passed explicitly down the pipeline (no global state).

Every field but the derived ones is an option of :data:`tfmodel_lint.options.OPTIONS`
(a test keeps the two in step); :func:`make_settings` builds them from the option
values of the configuration file and the command line, the latter winning.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tfmodel_lint._records import dataclass, field, fields
from tfmodel_lint.findings import Severity
from tfmodel_lint.limits import Limits


@dataclass(frozen=True)
class TargetedIgnore:
    """An ignore for some codes in some artifacts (and locations), with a reason."""

    path: str
    codes: tuple[str, ...]
    reason: str
    location: str | None = None


@dataclass(frozen=True)
class Settings:
    select: tuple[str, ...] | None = None  # None: every installed rule
    extend_select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    extend_ignore: tuple[str, ...] = ()
    per_file_ignores: tuple[tuple[str, tuple[str, ...]], ...] = ()
    targeted_ignores: tuple[TargetedIgnore, ...] = ()
    #: Per-rule options from ``[tool.tfmodel-lint.rules.CODE]``, read by rules as ``ctx.options``.
    rule_options: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    exclude: tuple[str, ...] = ()
    extend_exclude: tuple[str, ...] = ()
    default_excludes: bool = True
    respect_gitignore: bool = True
    #: Follow symlinks leaving a directory being searched (command line only: a config
    #: file in a checked-out repository must not point the linter at ``/etc`` or ``~``).
    follow_symlinks: bool = False
    force_exclude: bool = False
    skip_non_models: bool = False
    fail_on: Severity = Severity.MEDIUM
    exit_zero: bool = False
    output_format: str = "text"
    output_file: Path | None = None
    jobs: int = 1
    limits: Limits = field(default_factory=Limits)
    signatures: tuple[Path, ...] = ()
    color: bool | None = None  # None: only on a terminal
    quiet: bool = False
    statistics: bool = False
    show_evidence: bool = False
    debug: bool = False
    baseline: Path | None = None
    report_unused_ignores: bool = False
    sarif_root: Path | None = None
    sarif_category: str = "tfmodel-lint"
    progress: bool | None = None  # None: on a terminal, for many or large artifacts
    config_path: Path | None = None
    isolated: bool = False
    #: What the configuration file set (``dest`` -> value): its effect is reported.
    from_config: Mapping[str, Any] = field(default_factory=dict)


def max_jobs() -> int:
    return os.cpu_count() or 1


def make_settings(*layers: Mapping[str, Any]) -> Settings:
    """Settings from option values (``dest`` -> value), later layers winning; limits are
    ``limits.<name>`` keys. ``jobs`` is at most the CPU count (0: one per CPU)."""
    merged: dict[str, Any] = {}
    for layer in layers:
        merged.update(layer)
    limit_values = {k.split(".", 1)[1]: v for k, v in merged.items() if k.startswith("limits.")}
    values = {k: v for k, v in merged.items() if not k.startswith("limits.")}
    if limit_values:
        values["limits"] = Limits(**limit_values)
    if isinstance(values.get("color"), str):
        values["color"] = {"always": True, "never": False}.get(values["color"])
    jobs = values.get("jobs")
    if jobs is not None:
        values["jobs"] = max(1, min(jobs or max_jobs(), max_jobs()))
    known = {f.name for f in fields(Settings)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise TypeError(f"not settings: {unknown}")
    return Settings(**values)
