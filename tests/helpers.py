"""Small helpers shared by test modules (pyflakes-style one-line assertions)."""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from pathlib import Path

from tfmodel_lint import lint_paths
from tfmodel_lint.cli import main
from tfmodel_lint.findings import Finding, RunResult, Severity
from tfmodel_lint.settings import Settings


def lint(*paths: Path | str, **settings: object) -> RunResult:
    return lint_paths([str(p) for p in paths], Settings(**settings))  # type: ignore[arg-type]


def run_cli(argv: Sequence[str], capsys: object) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()  # type: ignore[attr-defined]
    return code, out, err


def json_report(*paths: Path | str, extra: Sequence[str] = ()) -> dict[str, object]:
    import contextlib

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        main([*(str(p) for p in paths), "--format", "json", "--exit-zero", *extra])
    data: dict[str, object] = json.loads(buf.getvalue())
    return data


def at_least(findings: Sequence[Finding], severity: Severity) -> list[Finding]:
    return [f for f in findings if f.severity >= severity]


def describe(findings: Sequence[Finding]) -> str:
    return "\n".join(f"{f.code} {f.severity} {f.category} {f.location.logical}: {f.message}" for f in findings)


def remove_tree(root: Path) -> None:
    """Delete a directory tree without recursion. Hostile cases build trees 1100 levels
    deep, which ``shutil.rmtree`` (and so pytest's clean-up of old temporary
    directories, in every later session) cannot delete on Python 3.11."""
    import os

    from tfmodel_lint.fsutil import walk_tree

    if not root.is_dir() or root.is_symlink():
        return
    dirs: list[str] = []
    for here, subdirs, files in walk_tree(root):
        dirs.append(here)
        for name in files + [d for d in subdirs if os.path.islink(os.path.join(here, d))]:
            os.unlink(os.path.join(here, name))
    for here in reversed(dirs):
        os.rmdir(here)


def copy_checkout(dest: Path) -> Path:
    """Copy this checkout's files (tracked and untracked, not ignored) to ``dest``: a
    clean source tree to build or install from without writing into the checkout."""
    import shutil
    import subprocess

    root = Path(__file__).resolve().parent.parent
    listing = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=root,
                             capture_output=True, check=True).stdout
    for rel in filter(None, listing.decode("utf-8", "surrogateescape").split("\0")):
        src = root / rel
        if src.is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / rel)
    return dest
