"""Configuration files: ``[tool.tfmodel-lint]`` in ``pyproject.toml`` or a top-level
table in ``.tfmodel-lint.toml``, found by walking up from the current directory (no
flag needed under pre-commit). Command-line options override the file.

Keys (dashes or underscores): select, extend-select, ignore, extend-ignore,
per-file-ignores (glob -> codes), fail-on, exclude, ignores (a list of tables with
path, codes, optional location, mandatory reason), baseline, signatures, jobs,
report-unused-ignores, sarif-root, sarif-category, and every limit (max-file-bytes,
...). Unknown keys are an error that names the closest known key.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tfmodel_lint._records import dataclass, field
from tfmodel_lint.findings import Severity
from tfmodel_lint.limits import Limits
from tfmodel_lint.settings import TargetedIgnore

CONFIG_FILES = (".tfmodel-lint.toml", "pyproject.toml")
LIST_KEYS = ("select", "extend_select", "ignore", "extend_ignore", "exclude", "signatures")
SCALAR_KEYS = ("fail_on", "baseline", "jobs", "report_unused_ignores", "sarif_root", "sarif_category")
TABLE_KEYS = ("per_file_ignores", "ignores", "rules")
KNOWN = set(LIST_KEYS) | set(SCALAR_KEYS) | set(TABLE_KEYS) | set(Limits.names())


# Any spelling of our table in a pyproject.toml: [tool.tfmodel-lint], [tool."tfmodel-lint".rules.X],
# or a key `tfmodel-lint = {...}` under a bare [tool]. Only a pre-filter: tomllib decides.
_DOTTED_TABLE = re.compile(r"""tool\s*\.\s*["']?tfmodel-lint""")
_BARE_TOOL = re.compile(r"^\s*\[\s*tool\s*\]", re.MULTILINE)
_KEY = re.compile(r"""^\s*["']?tfmodel-lint["']?\s*=""", re.MULTILINE)


def _mentions_table(text: str) -> bool:
    return bool(_DOTTED_TABLE.search(text) or (_BARE_TOOL.search(text) and _KEY.search(text)))


def _close_matches(word: str, candidates: Sequence[str], n: int) -> list[str]:
    import difflib

    return difflib.get_close_matches(word, candidates, n=n)


class ConfigError(Exception):
    """Invalid configuration: exit code 2."""


@dataclass
class FileConfig:
    path: Path | None = None
    values: dict[str, Any] = field(default_factory=dict)


def _table(path: Path) -> dict[str, Any] | None:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from exc
    if path.name == "pyproject.toml" and not _mentions_table(text):
        return None  # most projects' pyproject.toml: no need to import and run the TOML parser
    import tomllib

    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from exc
    if path.name == "pyproject.toml":
        tool = data.get("tool", {})
        table = tool.get("tfmodel-lint") if isinstance(tool, dict) else None
        return table if isinstance(table, dict) else None
    return data


def find_config(start: Path) -> Path | None:
    """The first directory upward from ``start`` with a config for us wins."""
    home = Path.home().resolve()
    current = start.resolve()
    while True:
        for name in CONFIG_FILES:
            candidate = current / name
            if candidate.is_file() and _table(candidate) is not None:
                return candidate
        if current in (home, current.parent) or (current / ".git").exists():
            return None
        current = current.parent


def _as_codes(value: Any, key: str, where: Path) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [v.strip() for v in value.split(",") if v.strip()]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where}: {key} must be a list of strings")
    return tuple(value)


def load_config(path: Path) -> FileConfig:
    table = _table(path)
    if table is None:
        raise ConfigError(f"{path} has no tfmodel-lint configuration")
    values: dict[str, Any] = {}
    base = path.parent
    for raw_key, value in table.items():
        key = raw_key.replace("-", "_")
        if key not in KNOWN:
            close = _close_matches(key, sorted(KNOWN), n=1)
            hint = f" (did you mean {close[0].replace('_', '-')!r}?)" if close else ""
            raise ConfigError(f"{path}: unknown key {raw_key!r}{hint}")
        if key in LIST_KEYS:
            if key == "ignore" and isinstance(value, list) and any(isinstance(v, dict) for v in value):
                raise ConfigError(f"{path}: {raw_key} is a list of code prefixes; targeted ignores (path, codes, "
                                  "reason) go in [[tool.tfmodel-lint.ignores]] (or [[ignores]] in .tfmodel-lint.toml)")
            values[key] = _as_codes(value, raw_key, path)
        elif key == "fail_on":
            try:
                values[key] = Severity.parse(str(value))
            except ValueError as exc:
                raise ConfigError(f"{path}: fail-on: {exc}") from exc
        elif key in ("baseline", "sarif_root"):
            values[key] = base / str(value)
        elif key == "per_file_ignores":
            if not isinstance(value, dict):
                raise ConfigError(f"{path}: per-file-ignores must be a table of glob = [codes]")
            values[key] = tuple((str(k), _as_codes(v, f"per-file-ignores.{k}", path)) for k, v in value.items())
        elif key == "ignores":
            values[key] = tuple(_ignore(item, path) for item in (value if isinstance(value, list) else [value]))
        elif key == "rules":
            values[key] = _rule_options(value, path)
        elif key in Limits.names():
            if not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0:
                raise ConfigError(f"{path}: {raw_key} must be a non-negative number")
            values[key] = value
        elif key == "jobs":
            if not isinstance(value, int) or value < 0:
                raise ConfigError(f"{path}: jobs must be a non-negative integer")
            values[key] = value
        elif key == "report_unused_ignores":
            if not isinstance(value, bool):
                raise ConfigError(f"{path}: {raw_key} must be true or false")
            values[key] = value
        else:
            values[key] = str(value)
    return FileConfig(path, values)


def _rule_options(value: Any, path: Path) -> dict[str, dict[str, Any]]:
    """``[tool.tfmodel-lint.rules.CODE]`` tables: options handed to that rule as
    ``ctx.options`` (a rule documents the options it reads)."""
    if not isinstance(value, dict) or not all(isinstance(v, dict) for v in value.values()):
        raise ConfigError(f"{path}: rules must be tables of options, e.g. [tool.tfmodel-lint.rules.TFL203]")
    for code in value:
        if not re.fullmatch(r"[A-Z]{2,4}[0-9]{3}", code):
            raise ConfigError(f"{path}: rules.{code}: not a rule code")
    return {code: dict(options) for code, options in value.items()}


def _ignore(item: Any, path: Path) -> TargetedIgnore:
    if not isinstance(item, dict):
        raise ConfigError(f"{path}: each ignores entry must be a table")
    allowed = ("path", "codes", "location", "reason")
    for key in sorted(set(item) - set(allowed)):
        close = _close_matches(key, allowed, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ConfigError(f"{path}: ignores entry has unknown key {key!r}{hint}")
    reason = item.get("reason")
    if not isinstance(reason, str) or not reason.strip():
        raise ConfigError(f"{path}: every ignores entry needs a non-empty 'reason'")
    if not isinstance(item.get("path"), str):
        raise ConfigError(f"{path}: ignores entry needs a 'path' glob")
    codes = _as_codes(item.get("codes", []), "codes", path)
    if not codes:
        raise ConfigError(f"{path}: ignores entry for {item['path']!r} needs 'codes' (a list of code prefixes)")
    location = item.get("location")
    if location is not None and not isinstance(location, str):
        raise ConfigError(f"{path}: ignores entry for {item['path']!r}: 'location' must be a glob string")
    return TargetedIgnore(
        path=item["path"],
        codes=codes,
        reason=reason.strip(),
        location=str(location) if location is not None else None,
    )
