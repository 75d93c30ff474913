"""Configuration files: ``[tool.tfmodel-lint]`` in ``pyproject.toml`` or a top-level table
in ``.tfmodel-lint.toml``, found by walking up from the linted paths (as ruff does;
from the current directory when none is found there), stopping at the repository root.
Command-line options override the file. Keys and their validation come from the options
table (:mod:`tfmodel_lint.options`): unknown keys, and options that are command-line
only, are errors that name the closest known key.

A configuration file is part of the checkout being linted: what it suppresses is
reported (suppressed findings stay in every report), and settings that switch whole
checks off are findings of their own (``TFL910``); ``--isolated`` ignores it.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tfmodel_lint._records import dataclass, field
from tfmodel_lint.fsutil import TextFileError, read_small_text
from tfmodel_lint.options import CONFIG_KEYS, PARSERS, OptionError, parse_codes, suggest
from tfmodel_lint.settings import TargetedIgnore

CONFIG_FILES = (".tfmodel-lint.toml", "pyproject.toml")
#: Largest configuration file read (a config is text a person writes).
MAX_CONFIG_FILE_BYTES = 1 << 20


class ConfigError(Exception):
    """Invalid configuration: exit code 2."""


@dataclass
class FileConfig:
    path: Path | None = None
    #: ``Settings`` field (``limits.<name>`` for limits) -> value.
    values: dict[str, Any] = field(default_factory=dict)


def _hex(value: int, width: int) -> str:
    """``value`` as hex digits in a pattern matching either case (TOML allows both)."""
    return "".join(f"[{d.lower()}{d.upper()}]" if d.isalpha() else d for d in f"{value:0{width}x}")


@functools.cache
def _spelling(key: str) -> re.Pattern[str]:
    """Every way TOML can write ``key``: each character literally or as a ``\\uXXXX`` or
    ``\\UXXXXXXXX`` escape (the only escapes that can stand for a letter, a digit or ``-``)."""
    parts = [f"(?:{re.escape(c)}|\\\\u{_hex(ord(c), 4)}|\\\\U{_hex(ord(c), 8)})" for c in key]
    return re.compile("".join(parts))


def may_hold_our_table(text: str) -> bool:
    """Whether a ``pyproject.toml`` can hold a ``tool.tfmodel-lint`` table at all: it has
    to spell the key ``tfmodel-lint`` somewhere, each character literally or as a
    ``\\u``/``\\U`` escape (TOML has no other way to write them). Most projects'
    pyproject.toml is then never parsed (``tomllib`` with the modules it imports costs
    several milliseconds of every pre-commit run); a property test compares this with
    tomllib on every spelling."""
    if "tfmodel" not in text and "\\u" not in text and "\\U" not in text:
        return False
    return _spelling("tfmodel-lint").search(text) is not None


def _table(path: Path) -> dict[str, Any] | None:
    try:
        text = read_small_text(path, "configuration file", MAX_CONFIG_FILE_BYTES)
    except TextFileError as exc:
        raise ConfigError(str(exc)) from None
    if path.name == "pyproject.toml" and not may_hold_our_table(text):
        return None
    import tomllib

    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    except RecursionError:
        raise ConfigError(f"{path}: invalid TOML: nested too deeply") from None
    if path.name == "pyproject.toml":
        tool = data.get("tool", {})
        table = tool.get("tfmodel-lint") if isinstance(tool, dict) else None
        return table if isinstance(table, dict) else None
    return data


def find_config(start: Path) -> Path | None:
    """The first directory upward from ``start`` with a config for us wins; the search
    stops at the repository root (a directory with ``.git``) and the home directory."""
    home = Path.home().resolve()
    current = start.resolve()
    if current.is_file():
        current = current.parent
    while True:
        for name in CONFIG_FILES:
            candidate = current / name
            if candidate.is_file() and _table(candidate) is not None:
                return candidate
        if current in (home, current.parent) or (current / ".git").exists():
            return None
        current = current.parent


def find_config_for(paths: Sequence[str]) -> Path | None:
    """The configuration for linting ``paths``: found from their common directory, else
    from the current directory."""
    existing = [os.path.realpath(p) for p in paths if os.path.exists(p)]
    if existing:
        try:
            common = os.path.commonpath(existing)
        except ValueError:  # different drives
            common = existing[0]
        found = find_config(Path(common))
        if found is not None:
            return found
    return find_config(Path.cwd())


def load_config(path: Path) -> FileConfig:
    table = _table(path)
    if table is None:
        raise ConfigError(f"{path} has no tfmodel-lint configuration")
    values: dict[str, Any] = {}
    base = path.parent
    keys = sorted(CONFIG_KEYS)
    for raw_key, value in table.items():
        key = raw_key.replace("_", "-")
        option = CONFIG_KEYS.get(key)
        if option is None:
            from tfmodel_lint.options import BY_KEY

            if key in BY_KEY:
                raise ConfigError(f"{path}: {raw_key!r} is a command-line option only: a configuration file in a "
                                  "checked-out repository cannot set it")
            raise ConfigError(f"{path}: unknown key {raw_key!r}{suggest(key, keys)}")
        try:
            if key == "per-file-ignores":
                if not isinstance(value, dict):
                    raise OptionError("must be a table of glob = [codes]")
                parsed: Any = tuple((str(k), _codes(v, f"per-file-ignores.{k}")) for k, v in value.items())
            elif key == "ignores":
                parsed = tuple(_ignore(item) for item in (value if isinstance(value, list) else [value]))
            elif key == "rules":
                parsed = _rule_options(value)
            else:
                if key == "ignore" and isinstance(value, list) and any(isinstance(v, dict) for v in value):
                    raise OptionError("is a list of code prefixes; targeted ignores (path, codes, reason) go in "
                                      "[[tool.tfmodel-lint.ignores]] (or [[ignores]] in .tfmodel-lint.toml)")
                parsed = PARSERS[option.kind](value)
                if option.path:
                    parsed = tuple(base / p for p in parsed) if isinstance(parsed, tuple) else base / parsed
        except OptionError as exc:
            raise ConfigError(f"{path}: {raw_key}: {exc}") from None
        values[option.dest] = parsed
    return FileConfig(path, values)


def _codes(value: object, where: str) -> tuple[str, ...]:
    try:
        return parse_codes(value)
    except OptionError as exc:
        raise OptionError(f"{where}: {exc}") from None


def _rule_options(value: Any) -> dict[str, dict[str, Any]]:
    """``[tool.tfmodel-lint.rules.CODE]`` tables: options handed to that rule as
    ``ctx.options`` (a rule documents the options it reads)."""
    if not isinstance(value, dict) or not all(isinstance(v, dict) for v in value.values()):
        raise OptionError("must be tables of options, e.g. [tool.tfmodel-lint.rules.TFL203]")
    for code in value:
        if not re.fullmatch(r"[A-Z]{2,4}[0-9]{3}", code):
            raise OptionError(f"rules.{code}: not a rule code")
    return {code: dict(options) for code, options in value.items()}


def _ignore(item: Any) -> TargetedIgnore:
    if not isinstance(item, dict):
        raise OptionError("each ignores entry must be a table")
    allowed = ("path", "codes", "location", "reason")
    for key in sorted(set(item) - set(allowed)):
        raise OptionError(f"ignores entry has unknown key {key!r}{suggest(key, allowed)}")
    reason = item.get("reason")
    if not isinstance(reason, str) or not reason.strip():
        raise OptionError("every ignores entry needs a non-empty 'reason'")
    if not isinstance(item.get("path"), str):
        raise OptionError("ignores entry needs a 'path' glob")
    codes = _codes(item.get("codes", []), "codes")
    if not codes:
        raise OptionError(f"ignores entry for {item['path']!r} needs 'codes' (a list of code prefixes)")
    location = item.get("location")
    if location is not None and not isinstance(location, str):
        raise OptionError(f"ignores entry for {item['path']!r}: 'location' must be a glob string")
    return TargetedIgnore(
        path=item["path"],
        codes=codes,
        reason=reason.strip(),
        location=str(location) if location is not None else None,
    )
