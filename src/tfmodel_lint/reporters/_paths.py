"""The repository file a finding points at, for reporters that annotate files (SARIF,
GitHub): a file in the checkout, never a directory, a missing path or a file outside it."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from urllib.parse import quote

from tfmodel_lint._records import dataclass
from tfmodel_lint.reporters.escaping import raw_bytes
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


@dataclass(frozen=True, slots=True)
class RepoFile:
    """A regular file inside the repository root: its path relative to the root (POSIX
    separators, possibly with undecodable bytes as lone surrogates) and the same as a
    relative URI reference (every byte that is not unreserved percent-encoded)."""

    path: str
    uri: str


def uri_of(relative: str) -> str:
    """RFC 3986 relative reference for a relative POSIX path: its bytes, undecodable
    ones included, percent-encoded except unreserved characters and ``/``."""
    return quote(raw_bytes(relative), safe="/")


class Locator:
    """Resolves findings to repository files, once per (artifact, member)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._cache: dict[tuple[str, str | None], RepoFile | None] = {}

    def find(self, artifact: str, member: str | None = None) -> RepoFile | None:
        """The regular file in the repository the finding points at (symlinks resolved,
        as GitHub needs), or ``None``: a missing path, a directory without a model file,
        or anything outside the root."""
        key = (artifact, member)
        if key not in self._cache:
            self._cache[key] = self._find(artifact, member)
        return self._cache[key]

    def _find(self, artifact: str, member: str | None) -> RepoFile | None:
        try:
            path = artifact_file(artifact, member)
            absolute = Path(os.path.realpath(path if path.is_absolute() else Path.cwd() / path))
            if not absolute.is_file():
                return None
            rel = absolute.relative_to(self.root).as_posix()
        except (OSError, ValueError):
            return None
        if rel in ("", "."):
            return None
        return RepoFile(rel, uri_of(rel))
