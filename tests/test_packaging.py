"""Publishing is one step: the sdist and the wheel build from a clean copy of the
checkout with ``python -m build`` (the wheel from the sdist), pass ``twine check
--strict``, and the wheel installed into a new virtual environment lints the bundled
example models."""

from __future__ import annotations

import json
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from tests.helpers import copy_checkout

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples" / "models"


def _run(*argv: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([str(a) for a in argv], capture_output=True, text=True, cwd=cwd, timeout=900, check=False)
    return proc


@pytest.mark.slow
def test_wheel_and_sdist_build_check_and_install(tmp_path: Path) -> None:
    source = copy_checkout(tmp_path / "src")
    dist = tmp_path / "dist"
    proc = _run(sys.executable, "-m", "build", "--outdir", dist, source)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    (wheel,) = dist.glob("tfmodel_lint-*-py3-none-any.whl")
    (sdist,) = dist.glob("tfmodel_lint-*.tar.gz")
    check = _run(sys.executable, "-m", "twine", "check", "--strict", wheel, sdist)
    assert check.returncode == 0 and check.stdout.count("PASSED") == 2, check.stdout + check.stderr
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
    assert {"tfmodel_lint/py.typed", "tfmodel_lint/_signatures/tf_ops.json", "tfmodel_lint/proto/tfmodel_lint.proto",
            "tfmodel_lint/output.py", "tfmodel_lint/reporters/sarif.py"} <= names
    assert not any(n.startswith(("tests/", "extract_tools/", "examples/")) for n in names)
    with tarfile.open(sdist) as tar:
        members = {m.name.split("/", 1)[1] for m in tar.getmembers() if "/" in m.name}
    assert {"README.md", "pyproject.toml", "signatures/tf_ops.json", "src/tfmodel_lint/cli.py"} <= members
    # a new environment with only the wheel and its runtime dependencies
    venv = tmp_path / "venv"
    assert _run(sys.executable, "-m", "venv", venv).returncode == 0
    install = _run(venv / "bin" / "python", "-m", "pip", "install", "--quiet", "--disable-pip-version-check", wheel)
    assert install.returncode == 0, install.stdout + install.stderr
    pip_check = _run(venv / "bin" / "python", "-m", "pip", "check")
    assert pip_check.returncode == 0, pip_check.stdout
    lint = _run(venv / "bin" / "tfmodel-lint", EXAMPLES, "--format", "json", cwd=tmp_path)
    assert lint.returncode == 1, lint.stderr
    doc = json.loads(lint.stdout)
    assert sorted(f["code"] for f in doc["findings"]) == ["TFL201", "TFL202"]
    assert {Path(a["path"]).name for a in doc["artifacts"]} == {"benign_classifier", "malicious_reader"}
    frozen = _run(venv / "bin" / "python", "-m", "pip", "freeze")
    assert "tensorflow" not in frozen.stdout.lower()
