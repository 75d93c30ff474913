"""``tfmodel-lint .`` on a real-looking checkout: virtualenvs, node_modules, build output
and git-ignored training output are not the checkout's models; a model git tracks is
linted even when .gitignore matches it; every skipped place is said in a note."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.graphs import Graph
from tests.helpers import run_cli

ROOT = Path(__file__).resolve().parent.parent
MALICIOUS = ROOT / "examples" / "models" / "malicious_reader"


def _reader(path: Path) -> Path:
    g = Graph()
    g.const("p", b"/etc/passwd")
    g.node("read", "ReadFile", "p")
    path.parent.mkdir(parents=True, exist_ok=True)
    return g.write(path)


def _git(repo: Path, *args: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@example.invalid", GIT_COMMITTER_NAME="t",
               GIT_COMMITTER_EMAIL="t@example.invalid", GIT_CONFIG_NOSYSTEM="1", HOME=str(repo.parent))
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, env=env)


@pytest.fixture
def checkout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    repo = tmp_path / "project"
    shutil.copytree(MALICIOUS, repo / "models" / "evil")
    # What a working checkout also holds, none of it the project's own models:
    for place in (".venv/lib/python3.11/site-packages/tensorflow/testdata/graph.pb",
                  "venv/lib/python3.11/site-packages/keras/weights.h5", "node_modules/pkg/model.pb",
                  "build/lib/model.pb", "dist/model.pb", ".tox/py311/x.pb", "__pycache__/m.pb",
                  "checkpoints/run1/model.pb", "wandb/run-1/files/model.pb"):
        _reader(repo / place)
    (repo / ".gitignore").write_text("checkpoints/\nwandb/\n*.ckpt.pb\n")
    _reader(repo / "exports" / "tracked.ckpt.pb")  # ignored by a pattern, but committed
    _git(repo, "init", "-q")
    _git(repo, "add", "models", ".gitignore")
    _git(repo, "add", "-f", "exports/tracked.ckpt.pb")
    _git(repo, "commit", "-qm", "init")
    monkeypatch.chdir(repo)
    return repo


def test_only_the_checkouts_own_models_are_reported(checkout: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli([".", "--format", "json"], capsys)
    data = json.loads(out)
    assert code == 1, err
    assert sorted(a["path"] for a in data["artifacts"]) == ["exports/tracked.ckpt.pb", "models/evil"]
    notes = "\n".join(data["notes"])
    assert ".venv" in notes and "node_modules" in notes and "build" in notes  # excluded directories, named
    assert "__pycache__" not in notes  # never anyone's model store: pruned quietly
    # git ignores checkpoints/ and wandb/ (directories: pruned as git would) ...
    code, out, _ = run_cli([".", "--format", "json", "--no-respect-gitignore"], capsys)
    paths = sorted(a["path"] for a in json.loads(out)["artifacts"])
    assert "checkpoints/run1/model.pb" in paths and "wandb/run-1/files/model.pb" in paths
    # ... and the default excludes can be turned off, or extended.
    code, out, _ = run_cli([".", "--format", "json", "--no-default-excludes"], capsys)
    paths = sorted(a["path"] for a in json.loads(out)["artifacts"])
    assert "node_modules/pkg/model.pb" in paths and "build/lib/model.pb" in paths
    code, out, _ = run_cli([".", "--format", "json", "--extend-exclude", "exports"], capsys)
    assert sorted(a["path"] for a in json.loads(out)["artifacts"]) == ["models/evil"]


def test_an_untracked_ignored_model_file_is_named_in_a_note(checkout: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    _reader(checkout / "exports" / "local.ckpt.pb")  # matches *.ckpt.pb, not tracked
    _, out, _ = run_cli([".", "--format", "json"], capsys)
    data = json.loads(out)
    assert "exports/local.ckpt.pb" not in [a["path"] for a in data["artifacts"]]
    assert any("exports/local.ckpt.pb" in n and ".gitignore" in n for n in data["notes"]), data["notes"]


def test_a_path_named_explicitly_is_linted_even_where_git_ignores(checkout: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run_cli(["checkpoints", "--format", "json"], capsys)
    assert [a["path"] for a in json.loads(out)["artifacts"]] == ["checkpoints/run1/model.pb"]
    _, out, _ = run_cli([".venv/lib/python3.11/site-packages/tensorflow/testdata/graph.pb", "--format", "json"],
                        capsys)
    assert len(json.loads(out)["artifacts"]) == 1


def test_a_repository_config_with_gitignore_disabled_is_respected(checkout: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    (checkout / ".tfmodel-lint.toml").write_text("respect-gitignore = false\n")
    _, out, _ = run_cli([".", "--format", "json"], capsys)
    assert "checkpoints/run1/model.pb" in [a["path"] for a in json.loads(out)["artifacts"]]


@pytest.mark.tf
def test_a_checkout_with_a_real_tensorflow_virtualenv(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The test environment is a real virtualenv with TensorFlow installed (thousands of
    files, TensorFlow's own test graphs and archives among them): placed in a checkout
    as ``.venv``, it is skipped as a whole, even when symlinks are followed, and only the
    checkout's own model is reported."""
    import sys

    site = Path(sys.prefix)
    if not (site / "pyvenv.cfg").is_file() or not list(site.glob("lib/python*/site-packages/tensorflow")):
        pytest.skip("not running in a virtualenv with TensorFlow installed")
    repo = tmp_path / "project"
    shutil.copytree(MALICIOUS, repo / "models" / "evil")
    (repo / ".venv").symlink_to(site, target_is_directory=True)
    (repo / "env").mkdir()
    (repo / "env" / "site-packages").symlink_to(next(site.glob("lib/python*/site-packages")), target_is_directory=True)
    code, out, _ = run_cli([str(repo), "--format", "json", "--follow-symlinks", "--isolated"], capsys)
    data = json.loads(out)
    assert code == 1
    assert [Path(a["path"]).name for a in data["artifacts"]] == ["evil"], data["artifacts"][:5]
    notes = "\n".join(data["notes"])
    assert ".venv" in notes and "site-packages" in notes
