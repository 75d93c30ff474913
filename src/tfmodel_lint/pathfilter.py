"""Filters for paths named on the command line, for hooks that pass every matching file.

pre-commit passes file names, never directories, chosen by the hook's ``files:``
pattern. That pattern has to match any file inside a SavedModel (``variables/``,
``assets/``), so it also matches, say, a web project's ``assets/logo.png``. And
``exclude`` globs normally apply only while searching directories: a file named
explicitly is always linted. Two options change that for hooks:

* ``--force-exclude`` applies the ``exclude`` globs to named paths too (ruff's option
  of the same name): a named path is dropped when it, or one of its parent
  directories, matches a glob (a glob may match the whole relative path or the name).
* ``--skip-non-models`` drops named files that are neither inside a SavedModel nor
  named like a model artifact, instead of reporting them as unrecognised.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence
from pathlib import Path, PurePosixPath

from tfmodel_lint.discovery import looks_like_model_file, savedmodel_root


def _matches(path: PurePosixPath, patterns: Sequence[str]) -> bool:
    candidates = [path, *path.parents[:-1]]  # not "." or "/"
    for candidate in candidates:
        text = candidate.as_posix()
        for pattern in patterns:
            pat = pattern.rstrip("/")
            if fnmatch.fnmatch(text, pat) or fnmatch.fnmatch(candidate.name, pat):
                return True
    return False


def is_force_excluded(raw: str, excludes: Sequence[str]) -> bool:
    """Whether a named path falls under one of the ``exclude`` globs."""
    if not excludes:
        return False
    path = PurePosixPath(Path(raw).as_posix())
    if _matches(path, excludes):
        return True
    try:  # also match the path relative to the current directory when named absolutely
        rel = Path(raw).resolve().relative_to(Path.cwd().resolve())
    except (ValueError, OSError):
        return False
    return _matches(PurePosixPath(rel.as_posix()), excludes)


def is_model_candidate(raw: str) -> bool:
    """A named path worth linting: a directory, a model-like file, or a SavedModel member."""
    path = Path(raw)
    if path.is_dir() or not path.exists():
        return True  # directories are searched; missing paths are reported
    return looks_like_model_file(path) or savedmodel_root(path) is not None


def filter_named_paths(paths: Sequence[str], excludes: Sequence[str] = (), skip_non_models: bool = False) -> list[str]:
    out = []
    for raw in paths:
        if is_force_excluded(raw, excludes):
            continue
        if skip_non_models and not is_model_candidate(raw):
            continue
        out.append(raw)
    return out
