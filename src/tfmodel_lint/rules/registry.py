"""Discover, load and validate rule packs from entry points (flake8's finder, typed).

Built-in rules go through the same ``tfmodel_lint.rules`` group as third-party ones.
The entry name is the code prefix the pack owns; every rule code must match
``^[A-Z]{2,4}[0-9]{3}$`` and start with that prefix, and no code may be claimed twice.
A pack that fails to load or validate is reported by name and skipped; the others run.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from tfmodel_lint._records import dataclass
from tfmodel_lint.entrypoints import EntryPoint, entry_points
from tfmodel_lint.errors import Problem
from tfmodel_lint.findings import CATEGORIES, Severity
from tfmodel_lint.rules.base import Rule

GROUP = "tfmodel_lint.rules"
BUILTIN_DIST = "tfmodel-lint"
PREFIX_RE = re.compile(r"^[A-Z]{1,4}[0-9]{0,2}$")
CODE_RE = re.compile(r"^[A-Z]{2,4}[0-9]{3}$")
PRECISIONS = {"very-high", "high", "medium", "low"}
EXTRA_CATEGORIES = {"artifact", "configuration"}


@dataclass(frozen=True)
class LoadedRule:
    rule: Rule
    plugin: str  # "<distribution>:<entry name>"


@dataclass(frozen=True)
class Registry:
    rules: tuple[LoadedRule, ...]
    errors: tuple[str, ...]

    def by_code(self) -> dict[str, LoadedRule]:
        return {r.rule.code: r for r in self.rules}

    def for_problem(self, problem: Problem) -> Rule:
        """The artifact rule that reports ``problem`` (always one: the built-in pack)."""
        for r in self.rules:
            if getattr(type(r.rule), "problem", None) is problem:
                return r.rule
        raise LookupError(f"no rule reports {problem}")


def _entry_points() -> list[EntryPoint]:
    return entry_points(GROUP)


def validate_rule(cls: object, prefix: str) -> str | None:
    if not isinstance(cls, type) or not issubclass(cls, Rule):
        return f"{cls!r} is not a tfmodel_lint Rule subclass"
    for attr in ("code", "name", "severity", "category", "summary"):
        if not hasattr(cls, attr):
            return f"{cls.__name__} has no {attr!r}"
    if not CODE_RE.match(cls.code):
        return f"{cls.__name__}: code {cls.code!r} does not match {CODE_RE.pattern}"
    if not cls.code.startswith(prefix):
        return f"{cls.__name__}: code {cls.code!r} is outside the plugin's prefix {prefix!r}"
    if not isinstance(cls.severity, Severity):
        return f"{cls.__name__}: severity must be a Severity"
    if cls.category not in CATEGORIES and cls.category not in EXTRA_CATEGORIES:
        return f"{cls.__name__}: unknown category {cls.category!r}"
    if cls.precision not in PRECISIONS:
        return f"{cls.__name__}: precision must be one of {sorted(PRECISIONS)}"
    return None


def build(packs: Iterable[tuple[str, str, object]]) -> Registry:
    """Validate loaded packs: (plugin label, prefix, object holding rule classes)."""
    rules: list[LoadedRule] = []
    errors: list[str] = []
    owners: dict[str, str] = {}
    prefixes: dict[str, str] = {}
    for label, prefix, obj in packs:
        if not PREFIX_RE.match(prefix):
            errors.append(f"plugin {label}: entry name {prefix!r} is not a valid code prefix")
            continue
        clash = next((p for p in prefixes if p.startswith(prefix) or prefix.startswith(p)), None)
        if clash is not None:
            errors.append(f"plugin {label}: prefix {prefix!r} overlaps {clash!r} owned by {prefixes[clash]}")
            continue
        classes: Sequence[object] = list(obj) if isinstance(obj, (list, tuple)) else [obj]
        pack_rules: list[LoadedRule] = []
        problem = None
        for cls in classes:
            problem = validate_rule(cls, prefix)
            if problem is None:
                assert isinstance(cls, type)
                code = cls.code  # type: ignore[attr-defined]
                if code in owners or any(r.rule.code == code for r in pack_rules):
                    problem = f"{code} is already defined by {owners.get(code, label)}"
            if problem is not None:
                break
            pack_rules.append(LoadedRule(cls(), label))  # type: ignore[operator]
        if problem is not None:
            errors.append(f"plugin {label}: {problem}")
            continue
        prefixes[prefix] = label
        for r in pack_rules:
            owners[r.rule.code] = label
        rules.extend(pack_rules)
    rules.sort(key=lambda r: r.rule.code)
    return Registry(tuple(rules), tuple(errors))


def discover(extra: Iterable[tuple[str, str, object]] = ()) -> Registry:
    packs: list[tuple[str, str, object]] = []
    errors: list[str] = []
    for ep in _entry_points():
        label = f"{ep.dist}:{ep.name}"
        try:
            obj = ep.load()
        except Exception as exc:  # noqa: BLE001 - a broken plugin must not stop the run
            errors.append(f"plugin {label}: failed to load {ep.value}: {type(exc).__name__}: {exc}")
            continue
        packs.append((label, ep.name, obj))
    packs.extend(extra)
    # Built-in packs claim their prefixes first: a plugin whose prefix overlaps one of
    # them (say "TFL") is the one rejected, whatever the entry names' sort order.
    packs.sort(key=lambda pack: not pack[0].startswith(f"{BUILTIN_DIST}:"))
    registry = build(packs)
    return Registry(registry.rules, tuple(errors) + registry.errors)
