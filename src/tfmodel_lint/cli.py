"""Command line: ``tfmodel-lint [check] PATHS...``, ``tfmodel-lint rules [CODE]``,
``tfmodel-lint baseline create|update FILE PATHS...``.

``check`` is implied when the first argument is not a command; name it to lint a
directory called ``rules`` or ``baseline`` (``tfmodel-lint check rules``; ``./rules``
works too). Exit codes: 0 nothing at or above ``--fail-on``; 1 findings at or above it;
2 usage or configuration error; 3 internal error (a rule, loader or plugin crashed).
"""

from __future__ import annotations

import argparse
import gc
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tfmodel_lint import _records
from tfmodel_lint._version import __version__

EXIT_USAGE = 2
EXIT_INTERNAL = 3
SUBCOMMANDS = ("check", "rules", "baseline")


class _Parser(argparse.ArgumentParser):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> Any:  # argparse exits 2 itself; keep that, print cleanly
        from tfmodel_lint.options import OptionError

        raise OptionError(f"{self.prog}: error: {message}")


def build_settings(args: argparse.Namespace, paths: Sequence[str] = ()) -> Any:
    """Settings from the configuration file (unless ``--isolated``) and the command line."""
    from tfmodel_lint.config import FileConfig, find_config_for, load_config
    from tfmodel_lint.options import command_line_values
    from tfmodel_lint.settings import make_settings

    cli = command_line_values(args)
    file_cfg = FileConfig()
    if not cli.get("isolated"):
        path = cli.get("config_path") or find_config_for(paths)
        if path is not None:
            file_cfg = load_config(path)
    values = dict(cli)
    values["config_path"] = file_cfg.path
    values["from_config"] = dict(file_cfg.values)
    return make_settings(file_cfg.values, values)


def run_check(argv: Sequence[str]) -> int:
    from tfmodel_lint.options import build_parser

    args = build_parser(version=__version__).parse_args(list(argv))
    if not args.paths:
        from tfmodel_lint.options import OptionError

        raise OptionError("tfmodel-lint: error: no paths given (try 'tfmodel-lint --help')")
    from tfmodel_lint.app import Application, exit_code
    from tfmodel_lint.baseline import BaselineError
    from tfmodel_lint.config import ConfigError
    from tfmodel_lint.output import OutputError, check_output, write_report
    from tfmodel_lint.reporters import UnknownFormatError, get_reporter
    from tfmodel_lint.signatures import SignatureError

    try:
        settings = build_settings(args, args.paths)
        get_reporter(settings.output_format)
        if settings.output_file is not None:  # said before linting, not after
            check_output(settings.output_file)
        app = Application(settings)
        result = app.run(list(args.paths))
    except (ConfigError, SignatureError, UnknownFormatError, BaselineError, OutputError) as exc:
        print(f"tfmodel-lint: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        write_report(result, settings)
    except OutputError as exc:
        print(f"tfmodel-lint: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    return exit_code(result, settings)


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
    return EXIT_INTERNAL if registry.errors else 0


def run_baseline(argv: Sequence[str]) -> int:
    from tfmodel_lint.app import Application
    from tfmodel_lint.baseline import BaselineError, load_entries, render_baseline
    from tfmodel_lint.config import ConfigError
    from tfmodel_lint.options import build_parser

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
    ns = build_parser().parse_args([*args.paths] + (["--isolated"] if args.isolated else [])
                                   + (["--config", str(args.config)] if args.config else []))
    try:
        settings = _records.replace(build_settings(ns, ns.paths), baseline=None)
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


def _dispatch(args: list[str]) -> int:
    if args and args[0] == "rules":
        return run_rules(args[1:])
    if args and args[0] == "baseline":
        return run_baseline(args[1:])
    if args and args[0] == "check":
        args = args[1:]
    return run_check(args)


def main(argv: Sequence[str] | None = None) -> int:
    """The console entry point. It alone tunes the garbage collector for a short-lived
    process (restored on return), and turns errors into exit codes."""
    from tfmodel_lint.options import OptionError

    # A short-lived process that allocates mostly acyclic data: the default threshold
    # (a collection every 700 container allocations) costs ~5 ms of a small lint, and
    # many full passes over a large graph's objects. (mypy does the same.)
    thresholds = gc.get_threshold()
    gc.set_threshold(100_000, 20, 20)
    args = list(sys.argv[1:] if argv is None else argv)
    if args == ["--version"]:  # without building the parser (and importing what it names)
        print(f"tfmodel-lint {__version__}")
        return 0
    try:
        return _dispatch(args)
    except OptionError as exc:
        text = str(exc)
        print(text if text.startswith("tfmodel-lint") else f"tfmodel-lint: error: {text}", file=sys.stderr)
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
    finally:
        gc.set_threshold(*thresholds)
