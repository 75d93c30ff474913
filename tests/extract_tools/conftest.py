"""Fixtures for the extract_tools tests (no TensorFlow, no network but loopback)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
FIXTURES = HERE / "fixtures"
TF_SRC = FIXTURES / "tf_src"
CODEQL = FIXTURES / "codeql"
REPO_ROOT = HERE.parent.parent

# The fixture trees hold fake TensorFlow sources (C++ and *.py.txt); never collect them.
collect_ignore_glob = ["fixtures/*"]


def _site(src: Path, site: Path) -> Path:
    for p in src.rglob("*"):
        if p.is_dir() or p.name == "README.md":
            continue
        rel = p.relative_to(src).as_posix()
        if rel.endswith(".py.txt"):
            rel = rel[: -len(".txt")]
        dest = site / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(p, dest)
    return site


@pytest.fixture
def fake_tf_site(tmp_path: Path) -> Path:
    """A fake site-packages holding the fixture TensorFlow (``*.py.txt`` -> ``*.py``)."""
    return _site(FIXTURES / "tf_pkg", tmp_path / "site-packages")


@pytest.fixture
def fake_tf_core_site(tmp_path: Path) -> Path:
    """A fake TF 2.1 wheel in the ``tensorflow_core/`` layout."""
    return _site(FIXTURES / "tf_core_pkg", tmp_path / "core-site-packages")
