"""Typed, frozen settings passed explicitly down the pipeline (no global state)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tfmodel_lint._records import dataclass, field
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
    #: Follow symlinks leaving a directory being searched (command line only: a config
    #: file in a checked-out repository must not point the linter at ``/etc`` or ``~``).
    follow_symlinks: bool = False
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
    progress: bool | None = None
    config_path: Path | None = None
