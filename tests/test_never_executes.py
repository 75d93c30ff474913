"""Linting never executes the model: every fixture, malicious ones included, is linted in a
subprocess under the audit-hook guard of ``never_executes_guard.py``, which kills the
process on an import of TensorFlow/Keras, ``marshal.loads``, unpickling, ``exec`` or
``compile`` of anything but imported modules, a file opened for writing (other than
the report), a network connection or a new process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, build_cached
from tests.helpers import remove_tree
from tests.test_hostile import CASES

GUARD = ROOT / "tests" / "never_executes_guard.py"


def _guarded(paths: list[Path], tmp_path: Path, canary: str | None = None) -> tuple[int, str, dict[str, object]]:
    report = tmp_path / "report.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("TFMODEL_LINT_GUARD")}
    if canary:
        env["TFMODEL_LINT_GUARD_CANARY"] = canary
    proc = subprocess.run([sys.executable, str(GUARD), str(report), *map(str, paths)], capture_output=True,
                          text=True, env=env, cwd=str(tmp_path), timeout=600, check=False)
    data = json.loads(report.read_text()) if report.is_file() else {}
    return proc.returncode, proc.stderr, data


@pytest.mark.parametrize("canary", ["marshal", "pickle", "exec", "write", "socket", "import"])
def test_the_guard_catches_each_forbidden_action(canary: str, tmp_path: Path) -> None:
    code, err, _ = _guarded([ROOT / "examples" / "models"], tmp_path, canary)
    assert code == 97 and "VIOLATION" in err, err


def _hostile_inputs(tmp_path: Path, fixtures: Path) -> list[Path]:
    out = []
    for i, case in enumerate(CASES):
        if case.name.startswith("dir_symlink") or case.limits is not None:
            continue
        work = tmp_path / f"hostile{i:02d}"
        work.mkdir()
        out.append(case.build(work, fixtures))
    return out


def test_linting_every_fixture_executes_nothing(tmp_path: Path, request: pytest.FixtureRequest) -> None:
    fmt = build_cached("build_format_fixtures.py")
    paths = [ROOT / "examples" / "models", ROOT / "tests" / "fixtures" / "tfjs_converter", fmt]
    paths.append(request.getfixturevalue("tf_fixtures"))
    try:
        paths.append(request.getfixturevalue("samples_dir"))
    except pytest.skip.Exception:
        pass
    cache = fmt.parent
    paths.extend(sorted(p for p in cache.iterdir() if p.is_dir() and not p.name.startswith(".")
                        and p not in paths and (p / "manifest.json").is_file()))  # other builders' fixtures
    hostile_dir = tmp_path / "hostile"
    hostile_dir.mkdir()
    request.addfinalizer(lambda: remove_tree(hostile_dir))  # some trees are too deep for rmtree
    paths.extend(_hostile_inputs(hostile_dir, fmt))
    work = tmp_path / "cwd"
    work.mkdir()
    code, err, report = _guarded(paths, work)
    assert code == 0, err[-3000:]
    assert "VIOLATION" not in err
    artifacts = report["artifacts"]
    findings = report["findings"]
    assert isinstance(artifacts, list) and isinstance(findings, list)
    assert len(artifacts) > 100, len(artifacts)
    codes = {f["code"] for f in findings}  # type: ignore[index]
    assert {"TFL201", "TFL202", "TFL905", "TFL903"} <= codes, sorted(codes)
    assert sorted(p.name for p in work.iterdir()) == ["report.json"]
