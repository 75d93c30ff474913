"""What a configuration file in the linted checkout switches off, said as findings.

A ``pyproject.toml`` or ``.tfmodel-lint.toml`` is part of the checkout being linted: a
malicious change can add ``extend-ignore = ["TFL"]`` or ``exclude = ["*"]`` and pass.
Teams need configuration, so it is kept, but its effect is made visible: findings it
suppresses stay in every report (as suppressed, with the entry that suppressed them),
and settings that switch off whole categories of checks, exclude everything, or replace
the capability data of built-in ops are findings of their own (``TFL910``) on the
configuration file. The configuration cannot suppress these; only the command line can
(``--extend-ignore TFL910``), or ``--isolated``, which ignores the file.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping, Sequence
from typing import Any

from tfmodel_lint.findings import CATEGORIES, Finding, Issue, Location, Severity
from tfmodel_lint.rules.registry import Registry
from tfmodel_lint.selection import DecisionEngine
from tfmodel_lint.settings import Settings, make_settings
from tfmodel_lint.signatures import SignatureDB

CODE = "TFL910"
#: Paths an "exclude everything" glob matches.
_PROBES = ("model.pb", "models/saved_model.pb", "a/b/model.h5", "m.tflite", "x.zip", "saved_model")
#: Artifact checks: hiding them hides what was not checked.
_META_CATEGORIES = ("artifact",)


#: Artifact checks whose loss hides content that was not checked.
_UNCHECKED = ("TFL901", "TFL902", "TFL903", "TFL905", "TFL906", "TFL907", "TFL908")


def _rules_off(settings: Settings, registry: Registry) -> tuple[list[str], Severity]:
    """The security rules (capability categories and artifact checks) a selection turns
    off, and how much that may hide: high when no capability check is left or when an
    artifact check that stands for unchecked content is off, else medium."""
    codes = [r.rule.code for r in registry.rules]
    decider = DecisionEngine.from_settings(settings, codes)
    security = [r.rule for r in registry.rules if r.rule.category in (*CATEGORIES, *_META_CATEGORIES)]
    off = [f"{r.code} ({r.name})" for r in security if not decider.selected(r.code)]
    capability = [r for r in security if r.category in CATEGORIES]
    none_left = bool(capability) and not any(decider.selected(r.code) for r in capability)
    hidden = any(not decider.selected(c) for c in _UNCHECKED if c in codes)
    return off, Severity.HIGH if none_left or hidden else Severity.MEDIUM


def _everything(patterns: Sequence[str]) -> list[str]:
    return [p for p in patterns if all(fnmatch.fnmatch(probe, p.rstrip("/")) or
                                       fnmatch.fnmatch(probe.rsplit("/", 1)[-1], p.rstrip("/"))
                                       for probe in _PROBES)]


def audit(settings: Settings, registry: Registry, signatures: SignatureDB, builtin: SignatureDB | None,
          display: str, identity: str) -> list[Finding]:
    """TFL910 findings on the configuration file ``settings.config_path``."""
    cfg: Mapping[str, Any] = settings.from_config
    if settings.config_path is None or not cfg:
        return []
    issues: list[Issue] = []

    def report(key: str, message: str, severity: Severity) -> None:
        issues.append(Issue(CODE, severity, "configuration", Location(member=None), message, (), key=key))

    selection = {k: cfg[k] for k in ("select", "extend_select", "ignore", "extend_ignore") if k in cfg}
    if selection:
        off, severity = _rules_off(make_settings(selection), registry)
        if off:
            keys = ", ".join(k.replace("_", "-") for k in selection)
            report("selection", f"the configuration ({keys}) turns off {len(off)} security check"
                   f"{'s' if len(off) != 1 else ''} for every model: {', '.join(off[:12])}"
                   f"{'...' if len(off) > 12 else ''}; use per-file or targeted ignores with a reason instead",
                   severity)
    for key in ("exclude", "extend_exclude"):
        for pattern in _everything(cfg.get(key, ())):
            report(key, f"the configuration's {key.replace('_', '-')} {pattern!r} matches every model file: "
                   "nothing is linted when directories are searched", Severity.HIGH)
    for glob, codes in cfg.get("per_file_ignores", ()):
        if _everything([glob]):
            off, _ = _rules_off(make_settings({"ignore": tuple(codes)}), registry)
            if off:
                report(f"per-file-ignores:{glob}", f"the configuration's per-file-ignores {glob!r} matches every "
                       f"model file and turns off: {', '.join(off[:12])}", Severity.HIGH)
    if builtin is not None and "signatures" in cfg:
        weakened = sorted(op for op, sig in builtin.ops.items()
                          if op in signatures.ops and set(signatures.ops[op].categories) < set(sig.categories))
        if weakened:
            report("signatures", f"the configuration's signatures files remove capabilities from {len(weakened)} "
                   f"built-in ops ({', '.join(weakened[:8])}{'...' if len(weakened) > 8 else ''})", Severity.HIGH)
    return [Finding.from_issue(i, display, identity) for i in issues]
