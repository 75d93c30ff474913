"""The GitHub Action (``action.yml``): its ``run:`` steps are executed as they are, in
order, with bash as GitHub runs them (``bash --noprofile --norc -eo pipefail``), in a
temporary git repository with the environment a runner gives a composite action
(``GITHUB_OUTPUT`` per step, ``GITHUB_STEP_SUMMARY``, ``GITHUB_ACTION_PATH``,
``RUNNER_TEMP``, ...). The ``${{ }}`` expressions of the steps' ``env``, ``with`` and
``if`` are evaluated here: the action keeps them to the few forms this test knows
(``inputs.*``, ``github.action_path``, ``runner.temp``, ``steps.<id>.outputs.*``,
``always()``, ``==`` and ``&&``), and the test fails on any other. The upload step
(``github/codeql-action/upload-sarif``) cannot run here: the test checks what it would
be given. The install step really installs the action's source with pip.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.helpers import copy_checkout

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples" / "models"
EXPR = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")


def action() -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))
    return doc


class Runner:
    """Just enough of the Actions runner for a composite action's steps."""

    def __init__(self, workspace: Path, action_path: Path, temp: Path, inputs: dict[str, str],
                 done: dict[str, dict[str, str]] | None = None) -> None:
        doc = action()
        self.inputs = {name: str(spec.get("default", "")) for name, spec in doc["inputs"].items()}
        unknown = set(inputs) - set(self.inputs)
        assert not unknown, f"not inputs of the action: {unknown}"
        self.inputs.update(inputs)
        self.workspace, self.action_path, self.temp = workspace, action_path, temp
        self.summary = temp / "step_summary.md"
        #: outputs of steps already run (by id): those steps are not run again
        self.outputs: dict[str, dict[str, str]] = dict(done or {})
        self.done = set(self.outputs)
        self.log: list[tuple[str, int, str]] = []  # (step name, exit code, stdout)
        self.uploads: list[dict[str, str]] = []
        self.failed = False

    def value(self, expr: str) -> str:
        if m := re.fullmatch(r"inputs\.([\w-]+)", expr):
            return self.inputs[m.group(1)]
        if expr == "github.action_path":
            return str(self.action_path)
        if expr == "runner.temp":
            return str(self.temp)
        if m := re.fullmatch(r"steps\.([\w-]+)\.outputs\.([\w-]+)", expr):
            return self.outputs.get(m.group(1), {}).get(m.group(2), "")
        raise AssertionError(f"expression the test does not know: {expr!r}")

    def substitute(self, text: str) -> str:
        return EXPR.sub(lambda m: self.value(m.group(1)), text)

    def condition(self, expr: str | None) -> bool:
        if expr is None:
            return not self.failed  # success()
        expr = expr.strip()
        if expr.startswith("${{"):
            expr = EXPR.fullmatch(expr).group(1)  # type: ignore[union-attr]
        ok = True
        has_status = False
        for term in (t.strip() for t in expr.split("&&")):
            if term == "always()":
                has_status = True
            elif m := re.fullmatch(r"([\w.-]+)\s*==\s*'([^']*)'", term):
                ok = ok and self.value(m.group(1)) == m.group(2)
            else:
                raise AssertionError(f"condition the test does not know: {term!r}")
        return ok and (has_status or not self.failed)

    def env(self, step: dict[str, Any], output: Path) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TMPDIR", "PIP_CACHE_DIR")}
        env.update({
            "CI": "true", "GITHUB_ACTIONS": "true", "GITHUB_WORKSPACE": str(self.workspace),
            "GITHUB_ACTION_PATH": str(self.action_path), "RUNNER_TEMP": str(self.temp),
            "GITHUB_OUTPUT": str(output), "GITHUB_STEP_SUMMARY": str(self.summary),
            "GITHUB_REPOSITORY": "octo/models", "GITHUB_SHA": "0" * 40,
        })
        for key, value in (step.get("env") or {}).items():
            env[key] = self.substitute(str(value))
        return env

    def run(self) -> None:
        for i, step in enumerate(action()["runs"]["steps"]):
            name = step.get("name", f"step {i}")
            if step.get("id") in self.done:
                continue
            if not self.condition(step.get("if")):
                self.log.append((name, -1, "skipped"))
                continue
            if "uses" in step:
                assert step["uses"].startswith("github/codeql-action/upload-sarif@"), step["uses"]
                self.uploads.append({k: self.substitute(str(v)) for k, v in step["with"].items()})
                continue
            assert step["shell"] == "bash" and not EXPR.search(step["run"]), f"{name}: inputs through env only"
            output = self.temp / f"output-{i}"
            output.write_text("", encoding="utf-8")
            script = self.temp / f"step-{i}.sh"
            script.write_text(step["run"], encoding="utf-8")
            proc = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
                                  cwd=self.workspace, env=self.env(step, output), capture_output=True,
                                  text=True, timeout=900, check=False)
            self.log.append((name, proc.returncode, proc.stdout + proc.stderr))
            if "id" in step:
                self.outputs[step["id"]] = dict(
                    line.split("=", 1) for line in output.read_text(encoding="utf-8").splitlines() if "=" in line
                )
            if proc.returncode != 0:
                self.failed = True

    def step(self, name: str) -> tuple[int, str]:
        (hit,) = [(code, out) for n, code, out in self.log if n == name]
        return hit


@pytest.fixture(scope="module")
def action_source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The action's checkout: this working tree's files (tracked and untracked, not ignored)."""
    return copy_checkout(tmp_path_factory.mktemp("action") / "tfmodel-lint")


@pytest.fixture(scope="module")
def installed(action_source: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Runner]:
    """A repository with a malicious and a benign model, after a full run of the action."""
    if shutil.which("git") is None or shutil.which("bash") is None:
        pytest.fail("the action test needs git and bash")
    base = tmp_path_factory.mktemp("action-run")
    repo = base / "repo"
    shutil.copytree(EXAMPLES, repo / "models")
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    (base / "temp").mkdir()
    runner = Runner(repo, action_source, base / "temp", {"python": sys.executable})
    runner.run()
    return repo, runner


@pytest.mark.slow
def test_action_lints_uploads_and_fails_on_findings(installed: tuple[Path, Runner]) -> None:
    repo, runner = installed
    code, out = runner.step("Install tfmodel-lint")
    assert code == 0, out
    assert "tfmodel-lint " in out
    assert Path(runner.outputs["install"]["bin"]).is_relative_to(runner.temp)  # its own venv
    code, out = runner.step("Lint models")
    assert code == 0, out
    lint = runner.outputs["lint"]
    assert lint == {"exit-code": "1", "sarif-file": "tfmodel-lint.sarif", "sarif-written": "true"}
    # the annotations run
    annotations = [line for line in out.splitlines() if line.startswith("::error file=models/malicious_reader/")]
    assert len(annotations) == 2, out
    assert "| high | TFL20" in runner.summary.read_text(encoding="utf-8")
    # what upload-sarif is given
    assert runner.uploads == [{"sarif_file": "tfmodel-lint.sarif", "category": "tfmodel-lint"}]
    sarif = json.loads((repo / "tfmodel-lint.sarif").read_text(encoding="utf-8"))
    run = sarif["runs"][0]
    assert run["automationDetails"]["id"] == "tfmodel-lint/"
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in run["results"]}
    assert uris == {"models/malicious_reader/saved_model.pb"}
    # the step fails after the upload
    code, out = runner.step("Result")
    assert code == 1 and "::error title=tfmodel-lint::findings at or above --fail-on" in out


@pytest.mark.slow
def test_action_options_and_usage_errors(installed: tuple[Path, Runner], action_source: Path) -> None:
    repo, first = installed

    def again(**inputs: str) -> Runner:
        temp = first.temp.parent / f"temp-{len(list(first.temp.parent.iterdir()))}"
        temp.mkdir()
        # the steps after the install, with the linter the first run installed
        runner = Runner(repo, action_source, temp, inputs, done={"install": first.outputs["install"]})
        runner.run()
        return runner

    clean = again(paths="models/benign_classifier", **{"fail-on-findings": "true"})
    assert clean.outputs["lint"]["exit-code"] == "0" and clean.step("Result")[0] == 0
    allowed = again(args="--fail-on critical", upload="false", annotations="false")
    assert allowed.outputs["lint"]["exit-code"] == "0" and allowed.uploads == []
    assert allowed.step("Result")[0] == 0 and "::error" not in allowed.step("Lint models")[1]
    findings_ok = again(**{"fail-on-findings": "false", "sarif-file": "out/x.sarif"})
    # a missing output directory is a usage error: exit 2, no SARIF, no upload, the step fails
    assert findings_ok.outputs["lint"]["exit-code"] == "2"
    assert findings_ok.outputs["lint"]["sarif-written"] == "false" and findings_ok.uploads == []
    code, out = findings_ok.step("Result")
    assert code == 1 and "exit code 2" in out
    (repo / "out").mkdir()
    findings_ok = again(**{"fail-on-findings": "false", "sarif-file": "out/x.sarif", "paths": "models\n."})
    assert findings_ok.outputs["lint"]["exit-code"] == "1" and findings_ok.step("Result")[0] == 0
    assert findings_ok.uploads == [{"sarif_file": "out/x.sarif", "category": "tfmodel-lint"}]
    # paths are split at whitespace and never glob-expanded
    globbed = again(paths="mod*")
    assert globbed.outputs["lint"]["exit-code"] == "1"
    sarif = json.loads((repo / "tfmodel-lint.sarif").read_text(encoding="utf-8"))
    notes = sarif["runs"][0]["invocations"][0]["toolExecutionNotifications"]
    assert any(n["message"]["text"].startswith("TFL901 (medium) mod*: no such file") for n in notes)


def test_action_keeps_expressions_out_of_scripts() -> None:
    """Inputs reach the scripts through ``env`` only (no script injection), every run
    step uses bash, and the upload step is skipped when no SARIF was written."""
    steps = action()["runs"]["steps"]
    for step in steps:
        if "run" in step:
            assert step["shell"] == "bash" and not EXPR.search(step["run"]), step["name"]
    (upload,) = [s for s in steps if "uses" in s]
    assert "steps.lint.outputs.sarif-written == 'true'" in upload["if"]
    assert upload["uses"] == "github/codeql-action/upload-sarif@v4"
