"""Which findings are reported: select/ignore by code prefix with flake8's semantics,
per-file ignores, and targeted ignores with a mandatory reason.

* ``select`` (default: every installed rule) and ``extend-select`` choose codes by
  prefix; ``ignore`` and ``extend-ignore`` drop them. When a code matches both, the
  longest prefix wins; on a tie, ignore wins.
* ``per-file-ignores`` maps an artifact glob to code prefixes; the longest matching
  glob's codes are ignored for that artifact.
* Targeted ignores name an artifact glob, codes, an optional location glob (matched
  against the finding's logical location, e.g. ``__inference_serve_6/ReadFile``) and a
  reason; the first that matches suppresses the finding.
* Artifact globs use ``fnmatch`` (``*`` also matches ``/``); a glob naming a directory
  also matches everything below it. Ignores that matched nothing are reported with
  ``--report-unused-ignores`` (meant for full runs, such as CI: under pre-commit only the
  changed models are linted).
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Iterable
from pathlib import Path

from tfmodel_lint._records import dataclass, field
from tfmodel_lint.findings import Finding, Suppression
from tfmodel_lint.settings import Settings, TargetedIgnore


def _longest(code: str, prefixes: Iterable[str]) -> int:
    return max((len(p) for p in prefixes if code.startswith(p)), default=-1)


def _glob(path: str, pattern: str) -> bool:
    pat = pattern.rstrip("/")
    return fnmatch.fnmatchcase(path, pat) or fnmatch.fnmatchcase(path, pat + "/*") or path == pat


@dataclass
class DecisionEngine:
    select: tuple[str, ...]
    ignore: tuple[str, ...]
    _cache: dict[str, bool] = field(default_factory=dict)

    @classmethod
    def from_settings(cls, settings: Settings, all_codes: Iterable[str]) -> DecisionEngine:
        letters = {c.rstrip("0123456789") for c in all_codes}
        base = settings.select if settings.select is not None else tuple(sorted(letters))
        return cls(base + settings.extend_select, settings.ignore + settings.extend_ignore)

    def selected(self, code: str) -> bool:
        hit = self._cache.get(code)
        if hit is None:
            sel, ign = _longest(code, self.select), _longest(code, self.ignore)
            hit = sel >= 0 and sel > ign
            self._cache[code] = hit
        return hit


def _candidates(artifact: str, base: Path | None) -> tuple[str, ...]:
    """Paths a glob may match for an artifact: its display path (relative to the current
    directory), without an archive member suffix (``a.zip!model`` -> ``a.zip``), and the
    same relative to the configuration file's directory."""
    out = [artifact]
    outer = artifact.split("!", 1)[0]
    if outer != artifact:
        out.append(outer)
    if base is not None:
        rel = os.path.relpath(os.path.normpath(os.path.join(os.getcwd(), outer)), base)
        if not rel.startswith(".."):
            rel = rel.replace(os.sep, "/")
            out.append(rel + artifact[len(outer):])
            out.append(rel)
    return tuple(dict.fromkeys(out))


@dataclass
class Suppressor:
    """Applies per-file and targeted ignores and remembers which ones matched.

    Globs are matched against the artifact's path relative to the current directory and,
    when ``base`` (the configuration file's directory) is given, relative to ``base``, so
    a configuration works from any directory below it.
    """

    per_file: tuple[tuple[str, tuple[str, ...]], ...]
    targeted: tuple[TargetedIgnore, ...]
    base: Path | None = None
    used: set[str] = field(default_factory=set)
    #: The configuration file the ignores come from, as reported in each :class:`Suppression`.
    config_file: str | None = None

    def suppression(self, finding: Finding) -> Suppression | None:
        """The entry that suppresses ``finding`` (``per-file-ignores['glob']`` or
        ``ignores[i]``), or ``None``."""
        paths = _candidates(finding.artifact, self.base)
        if finding.identity and finding.identity not in paths:
            paths = (*paths, *_candidates(finding.identity, None))
        best = None
        for pattern, codes in self.per_file:
            if any(_glob(p, pattern) for p in paths) and (best is None or len(pattern) > len(best[0])):
                best = (pattern, codes)
        if best is not None and _longest(finding.code, best[1]) >= 0:
            source = f"per-file-ignores[{best[0]!r}]"
            self.used.add(source)
            return Suppression("config", source, f"per-file-ignores {best[0]!r} = {list(best[1])} (no reason given)",
                               self.config_file)
        for i, t in enumerate(self.targeted):
            if not any(_glob(p, t.path) for p in paths) or _longest(finding.code, t.codes) < 0:
                continue
            if t.location is not None and not fnmatch.fnmatchcase(finding.location.logical, t.location):
                continue
            self.used.add(f"ignore[{i}]")
            return Suppression("config", f"ignores[{i}]", t.reason, self.config_file)
        return None

    def reason(self, finding: Finding) -> str | None:
        """The suppressing entry's justification, or ``None``."""
        hit = self.suppression(finding)
        return hit.justification if hit is not None else None

    def unused(self) -> list[str]:
        out = []
        for pattern, codes in self.per_file:
            if f"per-file-ignores[{pattern!r}]" not in self.used:
                out.append(f"per-file-ignores {pattern!r} = {list(codes)} matched no finding")
        for i, t in enumerate(self.targeted):
            if f"ignore[{i}]" not in self.used:
                where = f" at {t.location!r}" if t.location else ""
                out.append(f"ignore {list(t.codes)} for {t.path!r}{where} matched no finding (reason: {t.reason})")
        return out
