"""Repository-relative paths for reporters that point at files (SARIF, GitHub)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from tfmodel_lint.settings import Settings

SAVED_MODEL_FILES = ("saved_model.pb", "saved_model.pbtxt")


def git_toplevel(cwd: Path) -> Path | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--show-toplevel"], cwd=cwd, capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return Path(out.stdout.strip()) if out.returncode == 0 and out.stdout.strip() else None


def repository_root(settings: Settings) -> Path:
    """``--sarif-root``, else the git top level of the current directory, else the cwd."""
    root = settings.sarif_root or git_toplevel(Path.cwd()) or Path.cwd()
    return Path(os.path.realpath(root))


def artifact_file(artifact: str, member: str | None = None) -> Path:
    """The file a finding should point at: archives for their members, and for a
    SavedModel directory the named member or its ``saved_model.pb``."""
    path = Path(artifact.split("!", 1)[0])
    if path.is_dir():
        if member and "!" not in artifact:
            candidate = path.joinpath(*member.split("/"))
            if candidate.is_file():
                return candidate
        for name in SAVED_MODEL_FILES:
            if (path / name).is_file():
                return path / name
    return path


def relative_uri(artifact: str, root: Path, member: str | None = None) -> tuple[str, bool]:
    """(URI, relative?): relative to ``root`` when inside it, else an absolute file URI."""
    path = artifact_file(artifact, member)
    absolute = Path(os.path.realpath(path if path.is_absolute() else Path.cwd() / path))
    try:
        rel = absolute.relative_to(root)
    except ValueError:
        return absolute.as_uri(), False
    return rel.as_posix() or ".", True
