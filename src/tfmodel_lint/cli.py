"""Command line: ``tfmodel-lint [check] PATHS...``, ``tfmodel-lint rules [CODE]``,
``tfmodel-lint baseline create|update FILE PATHS...``.

Exit codes: 0 nothing at or above ``--fail-on``; 1 findings at or above it; 2 usage or
configuration error; 3 internal error (a rule or plugin crashed).
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tfmodel_lint import __version__, _records
from tfmodel_lint.findings import Severity

EXIT_USAGE = 2
EXIT_INTERNAL = 3
SUBCOMMANDS = ("check", "rules", "baseline")


class UsageError(Exception):
    pass


def _columns() -> int:
    """The terminal width as ``shutil.get_terminal_size`` finds it, without importing
    ``shutil`` (with ``bz2`` and ``lzma``): argparse builds a formatter for every
    ``add_argument`` call, and each would ask."""
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
        raise UsageError(f"{self.prog}: error: {message}")


def _codes(text: str) -> tuple[str, ...]:
    return tuple(c.strip() for c in text.split(",") if c.strip())


def _severity(text: str) -> Severity:
    try:
        return Severity.parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def check_parser() -> argparse.ArgumentParser:
    from tfmodel_lint.limits import Limits

    p = _Parser(
        prog="tfmodel-lint",
        description="Lint TensorFlow/Keras model artifacts without loading them.",
        epilog="Other commands: 'tfmodel-lint rules [CODE]', 'tfmodel-lint baseline create|update FILE PATHS...'. "
        "Exit codes: 0 clean, 1 findings at or above --fail-on, 2 usage/config error, 3 internal error.",
    )
    p.add_argument("paths", nargs="*", metavar="PATH", help="SavedModel dirs, model files, archives or directories")
    p.add_argument("--version", action="version", version=f"tfmodel-lint {__version__}")
    p.add_argument("-f", "--format", dest="output_format", default=None,
                   help="output format: text (default), json, sarif, github, or an installed reporter")
    p.add_argument("-o", "--output", dest="output_file", type=Path, help="write the report to this file")
    p.add_argument("--select", type=_codes, help="comma-separated code prefixes to report (default: all)")
    p.add_argument("--extend-select", type=_codes, help="code prefixes to add to the selection")
    p.add_argument("--ignore", type=_codes, help="comma-separated code prefixes not to report")
    p.add_argument("--extend-ignore", type=_codes, help="code prefixes to add to the ignore list")
    p.add_argument("--fail-on", type=_severity, help="lowest severity that fails the run (default: medium)")
    p.add_argument("--exit-zero", action="store_true", default=None, help="exit 0 even with findings")
    p.add_argument("--exclude", type=_codes, help="comma-separated globs of paths to skip when searching directories")
    p.add_argument("--follow-symlinks", action="store_true",
                   help="follow symlinks that leave a directory being searched (default: not followed, "
                   "reported as notes); command line only")
    p.add_argument("--force-exclude", action="store_true",
                   help="apply --exclude to paths named on the command line too (for pre-commit)")
    p.add_argument("--skip-non-models", action="store_true",
                   help="skip named files that are neither in a SavedModel nor named like a model (for pre-commit)")
    p.add_argument("--config", type=Path, help="configuration file (default: search upward)")
    p.add_argument("--isolated", action="store_true", help="ignore configuration files")
    p.add_argument("--signatures", type=Path, action="append", help="extra capability data (JSON), may repeat")
    p.add_argument("-j", "--jobs", type=int, help="worker processes (0: one per CPU; default 1)")
    p.add_argument("--baseline", type=Path, help="report only findings not in this baseline file")
    p.add_argument("--report-unused-ignores", action="store_true", default=None,
                   help="report configured ignores that matched nothing")
    p.add_argument("--sarif-root", type=Path,
                   help="make SARIF and github URIs relative to this directory (default: git top level)")
    p.add_argument("--sarif-category", help="SARIF automationDetails category (default: tfmodel-lint)")
    p.add_argument("-q", "--quiet", action="store_true", help="text: only findings at or above --fail-on, no headers")
    p.add_argument("--statistics", action="store_true", help="text: count findings per code")
    p.add_argument("--show-evidence", action="store_true", help="text: print each finding's evidence")
    p.add_argument("--color", choices=("auto", "always", "never"), default="auto", help="colour severities")
    p.add_argument("--no-progress", action="store_true", help="never show a progress bar")
    p.add_argument("--debug", action="store_true", help="let internal errors raise with a traceback")
    limits = p.add_argument_group("limits (hostile input)")
    for name in Limits.names():
        default = getattr(Limits(), name)
        limits.add_argument(f"--{name.replace('_', '-')}", dest=name, type=type(default),
                            help=f"default: {default}")
    return p


def build_settings(args: argparse.Namespace) -> Any:
    from tfmodel_lint.config import FileConfig, find_config, load_config
    from tfmodel_lint.limits import Limits
    from tfmodel_lint.settings import Settings

    file_cfg = FileConfig()
    if not args.isolated:
        path = args.config or find_config(Path.cwd())
        if path is not None:
            file_cfg = load_config(path)
    values: dict[str, Any] = {}
    cfg = file_cfg.values
    for key in ("select", "extend_select", "ignore", "extend_ignore", "exclude", "fail_on", "baseline",
                "report_unused_ignores", "sarif_root", "sarif_category", "jobs"):
        cli = getattr(args, key, None)
        if cli is not None:
            values[key] = cli
        elif key in cfg:
            values[key] = cfg[key]
    if "per_file_ignores" in cfg:
        values["per_file_ignores"] = cfg["per_file_ignores"]
    if "rules" in cfg:
        values["rule_options"] = cfg["rules"]
    if "ignores" in cfg:
        values["targeted_ignores"] = cfg["ignores"]
    sigs = list(cfg.get("signatures", ())) + list(args.signatures or ())
    values["signatures"] = tuple(Path(s) for s in sigs)
    limit_values = {n: getattr(args, n) if getattr(args, n) is not None else cfg.get(n, getattr(Limits(), n))
                    for n in Limits.names()}
    values["limits"] = Limits(**limit_values)
    if values.get("jobs") == 0:
        import os

        values["jobs"] = os.cpu_count() or 1
    values["follow_symlinks"] = bool(getattr(args, "follow_symlinks", False))
    values["exit_zero"] = bool(args.exit_zero)
    values["output_format"] = args.output_format or "text"
    values["output_file"] = args.output_file
    values["quiet"] = args.quiet
    values["statistics"] = args.statistics
    values["show_evidence"] = args.show_evidence
    values["color"] = {"always": True, "never": False}.get(args.color)
    values["debug"] = args.debug
    values["progress"] = False if args.no_progress else None
    values["config_path"] = file_cfg.path
    return Settings(**values)


def run_check(argv: Sequence[str]) -> int:
    args = check_parser().parse_args(list(argv))
    if not args.paths:
        raise UsageError("tfmodel-lint: error: no paths given (try 'tfmodel-lint --help')")
    from tfmodel_lint.app import Application
    from tfmodel_lint.baseline import BaselineError
    from tfmodel_lint.config import ConfigError
    from tfmodel_lint.output import OutputError, check_output, write_report
    from tfmodel_lint.reporters import UnknownFormatError, get_reporter
    from tfmodel_lint.signatures import SignatureError

    try:
        settings = build_settings(args)
        get_reporter(settings.output_format)
        if settings.output_file is not None:
            check_output(settings.output_file)
        paths = list(args.paths)
        if args.force_exclude or args.skip_non_models:
            from tfmodel_lint.pathfilter import filter_named_paths

            paths = filter_named_paths(paths, settings.exclude if args.force_exclude else (), args.skip_non_models)
        app = Application(settings)
        result = app.run(paths)
    except (ConfigError, SignatureError, UnknownFormatError, BaselineError, OutputError) as exc:
        print(f"tfmodel-lint: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        write_report(result, settings)
    except OutputError as exc:
        print(f"tfmodel-lint: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    return app.exit_code(result)


def run_rules(argv: Sequence[str]) -> int:
    from tfmodel_lint.rules.registry import discover

    p = _Parser(prog="tfmodel-lint rules", description="List rules, or show one rule's documentation.")
    p.add_argument("code", nargs="?", help="a rule code (e.g. TFL201)")
    p.add_argument("--format", choices=("text", "json"), default="text")
    args = p.parse_args(list(argv))
    registry = discover()
    for err in registry.errors:
        print(f"tfmodel-lint: {err}", file=sys.stderr)
    rules = [r.rule for r in registry.rules]
    if args.code:
        match = [r for r in rules if r.code == args.code.upper()]
        if not match:
            print(f"tfmodel-lint: error: no rule {args.code!r}", file=sys.stderr)
            return EXIT_USAGE
        rule = match[0]
        print(f"{rule.code} {rule.name} (default severity: {rule.severity}, category: {rule.category})\n")
        print(rule.doc())
        return 0
    if args.format == "json":
        import json

        print(json.dumps([{"code": r.code, "name": r.name, "severity": str(r.severity), "category": r.category,
                           "summary": r.summary} for r in rules], indent=2))
        return 0
    for r in rules:
        print(f"{r.code}  {r.name:<28} {r.severity!s:<8} {r.summary}")
    return 3 if registry.errors else 0


def run_baseline(argv: Sequence[str]) -> int:
    from tfmodel_lint.app import Application
    from tfmodel_lint.baseline import BaselineError, load_entries, render_baseline
    from tfmodel_lint.config import ConfigError

    p = _Parser(prog="tfmodel-lint baseline", description="Record current findings as known.")
    p.add_argument("action", choices=("create", "update"))
    p.add_argument("file", type=Path)
    p.add_argument("paths", nargs="+")
    p.add_argument("--config", type=Path)
    p.add_argument("--isolated", action="store_true")
    args = p.parse_args(list(argv))
    if args.action == "create" and args.file.exists():
        print(f"tfmodel-lint: error: {args.file} exists; use 'baseline update'", file=sys.stderr)
        return EXIT_USAGE
    if args.action == "update" and not args.file.exists():
        print(f"tfmodel-lint: error: {args.file} does not exist; use 'baseline create'", file=sys.stderr)
        return EXIT_USAGE
    ns = check_parser().parse_args([*args.paths] + (["--isolated"] if args.isolated else [])
                                   + (["--config", str(args.config)] if args.config else []))
    try:
        settings = _records.replace(build_settings(ns), baseline=None)
        previous = load_entries(args.file) if args.action == "update" else []
    except (ConfigError, BaselineError) as exc:
        print(f"tfmodel-lint: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    app = Application(settings)
    result = app.run(ns.paths)
    if result.internal_errors:  # a crashed rule's findings are missing: do not record that
        for err in result.internal_errors:
            print(f"tfmodel-lint: error: {err}", file=sys.stderr)
        print(f"tfmodel-lint: error: {args.file} not written", file=sys.stderr)
        return EXIT_INTERNAL
    try:
        args.file.write_bytes(render_baseline(result.findings, previous).encode("utf-8"))
    except OSError as exc:
        print(f"tfmodel-lint: error: cannot write {args.file}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_USAGE
    known = sum(e.count for e in previous)
    change = f" (was {known})" if args.action == "update" else ""
    print(f"wrote {len(result.findings)} findings{change} to {args.file}", file=sys.stderr)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    # A short-lived process that allocates mostly acyclic data: the default threshold
    # (a collection every 700 container allocations) costs ~5 ms of a small lint, and
    # many full passes over a large graph's objects. Refcounting still frees everything
    # acyclic at once; cycles wait longer. (mypy does the same.)
    gc.set_threshold(100_000, 20, 20)
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        if args and args[0] == "rules":
            return run_rules(args[1:])
        if args and args[0] == "baseline":
            return run_baseline(args[1:])
        if args and args[0] == "check":
            args = args[1:]
        return run_check(args)
    except UsageError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_USAGE
    except SystemExit as exc:  # argparse --help / --version
        return int(exc.code) if isinstance(exc.code, int) else 0
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # a reader closed standard output (the check report handles it itself)
        from tfmodel_lint.output import quiet_stdout

        quiet_stdout()
        return 0
    except Exception as exc:
        if "--debug" in args:
            raise
        print(f"tfmodel-lint: internal error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_INTERNAL
