"""Every option, defined once: the table :data:`OPTIONS` generates the command-line parser,
validates configuration files and names the :class:`~tfmodel_lint.settings.Settings`
field each option fills (a test keeps the table and ``Settings`` in step).

An option is a command-line flag, a configuration key, or both. Options that let a
checked-out repository widen what the linter reads or does (``--follow-symlinks``,
``--jobs``, ``--config``, ``--isolated``...) are command-line only: a configuration
file in the scanned checkout cannot turn them on.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from tfmodel_lint._records import dataclass
from tfmodel_lint.findings import Severity
from tfmodel_lint.limits import Limits

#: A rule code prefix, as flake8 validates entry-point names (upper case).
CODE_PREFIX = re.compile(r"^[A-Z]{1,4}[0-9]{0,3}$")


class OptionError(ValueError):
    """An option's value is invalid (a usage or configuration error: exit 2)."""


def parse_codes(value: object) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [v.strip() for v in value.split(",") if v.strip()]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise OptionError("must be a list of code prefixes (or a comma-separated string)")
    for code in value:
        if not CODE_PREFIX.match(code.strip()):
            hint = f" (did you mean {code.strip().upper()!r}?)" if CODE_PREFIX.match(code.strip().upper()) else ""
            raise OptionError(f"{code!r} is not a rule code prefix{hint}")
    return tuple(v.strip() for v in value)


def parse_globs(value: object) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [v.strip() for v in value.split(",") if v.strip()]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise OptionError("must be a list of glob patterns (or a comma-separated string)")
    return tuple(value)


def parse_severity(value: object) -> Severity:
    try:
        return Severity.parse(str(value))
    except ValueError as exc:
        raise OptionError(str(exc)) from None


def parse_bool(value: object) -> bool:
    if not isinstance(value, bool):
        raise OptionError("must be true or false")
    return value


def parse_str(value: object) -> str:
    if not isinstance(value, str):
        raise OptionError("must be a string")
    return value


def _number(kind: type) -> Callable[[object], Any]:
    def parse(value: object) -> Any:
        if isinstance(value, str):
            try:
                value = kind(value)
            except ValueError:
                raise OptionError(f"must be a {'whole ' if kind is int else ''}number") from None
        if isinstance(value, bool) or not isinstance(value, (int, float)) or (
                kind is int and not isinstance(value, int)):
            raise OptionError(f"must be a {'whole ' if kind is int else ''}number")
        if value < 0:
            raise OptionError("must not be negative")
        return kind(value)

    return parse


@dataclass(frozen=True)
class Option:
    """One option. ``dest`` is the ``Settings`` field it fills (``limits.<name>`` for a
    limit); ``kind`` picks the parser; ``cli`` and ``config`` say where it may be given."""

    dest: str
    kind: str
    help: str
    cli: bool = True
    config: bool = True
    flags: tuple[str, ...] = ()
    metavar: str | None = None
    choices: tuple[str, ...] = ()
    #: A boolean that can be turned off on the command line (``--no-respect-gitignore``).
    negatable: bool = False
    #: Relative paths in a configuration file are relative to the file's directory.
    path: bool = False

    @property
    def key(self) -> str:
        """The configuration key and long flag: ``extend-select``, ``max-file-bytes``."""
        return self.dest.rsplit(".", 1)[-1].replace("_", "-")

    @property
    def name(self) -> str:
        return self.dest.rsplit(".", 1)[-1]


PARSERS: Mapping[str, Callable[[object], Any]] = {
    "codes": parse_codes,
    "globs": parse_globs,
    "severity": parse_severity,
    "bool": parse_bool,
    "flag": parse_bool,
    "str": parse_str,
    "int": _number(int),
    "float": _number(float),
    "path": lambda v: Path(parse_str(v)),
    "paths": lambda v: tuple(Path(p) for p in parse_globs(v)),
    "choice": parse_str,
}

_LIMIT_HELP = {
    "max_file_bytes": "largest single file or archive member read",
    "max_archive_bytes": "total bytes decompressed from one artifact (nested archives included)",
    "max_compression_ratio": "largest uncompressed/compressed ratio (zip bombs)",
    "max_archive_entries": "most members in one archive",
    "max_archive_depth": "deepest nesting of archives and compressed streams",
    "max_nodes": "most nodes in one model, all functions together",
    "max_functions": "most library functions in one model",
    "max_elements": "most protobuf elements decoded at once (a node, the rest of a graph, a small file)",
    "max_config_bytes": "largest JSON/HDF5 config document",
    "max_nesting_depth": "deepest JSON nesting",
    "max_string_bytes": "longest single string in a model",
    "time_budget": "wall-clock seconds per artifact (0: none)",
    "run_time_budget": "wall-clock seconds for the whole run (0: none)",
}

OPTIONS: tuple[Option, ...] = (
    Option("output_format", "str", "output format: text (default), json, sarif, github, or an installed reporter",
           flags=("-f", "--format"), metavar="FORMAT", config=False),
    Option("output_file", "path", "write the report to this file (atomically)", flags=("-o", "--output"),
           metavar="FILE", config=False),
    Option("select", "codes", "comma-separated code prefixes to report (default: all)", metavar="CODES"),
    Option("extend_select", "codes", "code prefixes to add to the selection", metavar="CODES"),
    Option("ignore", "codes", "comma-separated code prefixes not to report", metavar="CODES"),
    Option("extend_ignore", "codes", "code prefixes to add to the ignore list", metavar="CODES"),
    Option("per_file_ignores", "table", "artifact glob -> code prefixes ignored there", cli=False),
    Option("targeted_ignores", "table", "ignores with path, codes, location and a mandatory reason", cli=False),
    Option("rule_options", "table", "options of one rule: [tool.tfmodel-lint.rules.CODE]", cli=False),
    Option("fail_on", "severity", "lowest severity that fails the run (default: medium)", metavar="SEVERITY"),
    Option("exit_zero", "flag", "exit 0 even with findings", config=False),
    Option("exclude", "globs", "globs of paths to skip when searching directories (replaces the user's "
           "excludes; the default excludes stay)", metavar="GLOBS"),
    Option("extend_exclude", "globs", "globs to add to 'exclude'", metavar="GLOBS"),
    Option("default_excludes", "bool", "skip .git, .venv, node_modules, site-packages... when searching",
           negatable=True),
    Option("respect_gitignore", "bool", "skip files ignored by .gitignore unless git tracks them", negatable=True),
    Option("follow_symlinks", "flag", "follow symlinks that leave a directory being searched (default: not "
           "followed, reported as notes); command line only", config=False),
    Option("force_exclude", "flag", "apply the excludes to paths named on the command line too (for pre-commit)",
           config=False),
    Option("skip_non_models", "flag", "skip named files that are neither in a SavedModel nor promise a model by "
           "name or content (for pre-commit)", config=False),
    Option("config_path", "path", "configuration file (default: found from the linted paths)", flags=("--config",),
           metavar="FILE", config=False),
    Option("isolated", "flag", "ignore configuration files (for untrusted checkouts)", config=False),
    Option("signatures", "paths", "extra capability data (JSON), may repeat", metavar="FILE", path=True),
    Option("jobs", "int", "worker processes (0: one per CPU; at most the CPU count); command line only",
           flags=("-j", "--jobs"), metavar="N", config=False),
    Option("baseline", "path", "report only findings not in this baseline file", metavar="FILE", path=True),
    Option("report_unused_ignores", "bool", "report configured ignores and baseline entries that matched nothing"),
    Option("sarif_root", "path", "make SARIF and github URIs relative to this directory (default: git top level)",
           metavar="DIR", path=True),
    Option("sarif_category", "str", "SARIF automationDetails category (default: tfmodel-lint)", metavar="NAME"),
    Option("quiet", "flag", "text: only findings at or above --fail-on, no headers", flags=("-q", "--quiet"),
           config=False),
    Option("statistics", "flag", "text: count findings per code", config=False),
    Option("show_evidence", "flag", "text: print each finding's evidence", config=False),
    Option("color", "choice", "colour severities", choices=("auto", "always", "never"), config=False),
    Option("progress", "bool", "show a progress bar on a terminal", negatable=True, config=False),
    Option("debug", "flag", "let internal errors raise with a traceback", config=False),
    *(Option(f"limits.{name}", "float" if name.endswith("budget") else "int",
             f"{_LIMIT_HELP.get(name, name)} (default: {getattr(Limits(), name)})", metavar="N")
      for name in Limits.names()),
)

BY_KEY: Mapping[str, Option] = {o.key: o for o in OPTIONS}
CONFIG_KEYS: Mapping[str, Option] = {
    # The configuration spells the table options by their historical keys.
    **{o.key: o for o in OPTIONS if o.config and o.kind != "table"},
    "per-file-ignores": BY_KEY["per-file-ignores"],
    "ignores": BY_KEY["targeted-ignores"],
    "rules": BY_KEY["rule-options"],
}


def suggest(word: str, candidates: Sequence[str]) -> str:
    import difflib  # only when there is something to suggest

    close = difflib.get_close_matches(word, candidates, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _columns() -> int:
    """The terminal width as ``shutil.get_terminal_size`` finds it, without importing
    ``shutil`` (with ``bz2`` and ``lzma``): argparse's formatter asks for it at every
    ``add_argument`` unless it is given a width."""
    import os
    import sys

    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns if sys.__stdout__ else 0
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns if columns > 0 else 80


class _Formatter(argparse.HelpFormatter):
    def __init__(self, prog: str, indent_increment: int = 2, max_help_position: int = 24,
                 width: int | None = None) -> None:
        super().__init__(prog, indent_increment, max_help_position, _columns() - 2 if width is None else width)


class _Parser(argparse.ArgumentParser):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", _Formatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> Any:  # argparse exits 2 itself; keep that, print cleanly
        raise OptionError(f"{self.prog}: error: {message}")


def _cli_type(option: Option) -> Callable[[str], Any]:
    parse = PARSERS[option.kind]

    def convert(text: str) -> Any:
        try:
            return parse(text)
        except OptionError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    return convert


def build_parser(prog: str = "tfmodel-lint", version: str = "") -> argparse.ArgumentParser:
    """The ``check`` parser, generated from :data:`OPTIONS` (no abbreviated options)."""
    p = _Parser(
        prog=prog,
        description="Lint TensorFlow/Keras model artifacts without loading them.",
        epilog="Other commands: 'tfmodel-lint rules [CODE]', 'tfmodel-lint baseline create|update FILE PATHS...'; "
        "'tfmodel-lint check PATHS...' lints paths named like a command. Exit codes: 0 clean, 1 findings at or "
        "above --fail-on, 2 usage/config error, 3 internal error.",
        allow_abbrev=False,
    )
    p.add_argument("paths", nargs="*", metavar="PATH", help="SavedModel dirs, model files, archives or directories")
    if version:
        p.add_argument("--version", action="version", version=f"tfmodel-lint {version}")
    limits = p.add_argument_group("limits (hostile input)")
    for option in OPTIONS:
        if not option.cli:
            continue
        group: Any = limits if option.dest.startswith("limits.") else p
        flags = option.flags or (f"--{option.key}",)
        if option.kind == "flag":
            group.add_argument(*flags, dest=option.dest, action="store_true", default=None, help=option.help)
        elif option.kind == "bool":
            group.add_argument(*flags, dest=option.dest, action=argparse.BooleanOptionalAction, default=None,
                               help=option.help)
        elif option.kind == "choice":
            group.add_argument(*flags, dest=option.dest, choices=option.choices, default=None, help=option.help)
        elif option.kind == "paths":
            group.add_argument(*flags, dest=option.dest, action="append", type=Path, default=None,
                               metavar=option.metavar, help=option.help)
        else:
            group.add_argument(*flags, dest=option.dest, type=_cli_type(option), default=None,
                               metavar=option.metavar, help=option.help)
    return p


def command_line_values(args: argparse.Namespace) -> dict[str, Any]:
    """The options given on the command line (``dest`` -> value)."""
    out: dict[str, Any] = {}
    for option in OPTIONS:
        if option.cli:
            value = getattr(args, option.dest, None)
            if value is not None:
                out[option.dest] = tuple(value) if option.kind == "paths" else value
    return out


def markdown_table() -> str:
    """The options as README.md documents them (a test keeps the README in step)."""
    rows = ["| command line | configuration key | what |", "|---|---|---|"]
    for option in OPTIONS:
        if option.dest.startswith("limits."):
            continue
        flags = option.flags or (f"--{option.key}",)
        if option.kind == "bool" and option.cli:
            flags = (*flags, f"--no-{option.key}")
        cli = ", ".join(f"`{f}`" for f in flags) if option.cli else "—"
        key = {"targeted_ignores": "ignores", "rule_options": "rules"}.get(option.dest, option.key)
        config = f"`{key}`" if option.config else "— (command line only)"
        rows.append(f"| {cli} | {config} | {option.help} |")
    return "\n".join(rows) + "\n"
