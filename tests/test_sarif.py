"""SARIF output: the OASIS SARIF 2.1.0 JSON schema and the SARIF Multitool's GitHub
(``Ghas``) and ``Sarif`` rules, on real models, the shared TensorAbuse samples and
synthetic edge cases (truncation past 25,000 results, internal errors, notes).

The schema and the Multitool come from npm (``@microsoft/sarif-multitool-linux``),
installed by ``scripts/install_sarif_tools.sh``, which prints ``SARIF_SCHEMA`` and
``SARIF_MULTITOOL``; without those variables the tests look in ``.tools/`` and
``node_modules/``. When the tools are missing the tests skip, except under CI (the
``CI`` variable is set), where they fail: CI never skips them.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import run_cli
from tfmodel_lint.cli import main
from tfmodel_lint.findings import (
    ArtifactRecord,
    ArtifactStatus,
    Finding,
    Issue,
    Location,
    RuleInfo,
    RunResult,
    Severity,
)
from tfmodel_lint.reporters import sarif
from tfmodel_lint.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
PKG = Path("node_modules") / "@microsoft" / "sarif-multitool-linux"
SEARCH = [ROOT / ".tools" / PKG, ROOT / PKG]
LFS_POINTER = (
    "version https://git-lfs.github.com/spec/v1\n"
    "oid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393\n"
    "size 12345\n"
)


def _tool(env: str, name: str) -> Path:
    value = os.environ.get(env)
    if value:
        path = Path(value)
        if not path.is_file():
            pytest.fail(f"{env}={value} does not exist")
        return path
    for base in SEARCH:
        if (base / name).is_file():
            return base / name
    reason = (
        f"{name} not found ({env} unset; looked in .tools/ and node_modules/): "
        "run 'eval \"$(bash scripts/install_sarif_tools.sh)\"'"
    )
    if os.environ.get("CI"):
        pytest.fail(f"CI must run the SARIF validation: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def sarif_validator() -> Any:
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads(_tool("SARIF_SCHEMA", "sarif-2.1.0.json").read_text(encoding="utf-8"))
    assert "SARIF" in schema.get("title", ""), "not the SARIF 2.1.0 schema"
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


@pytest.fixture(scope="session")
def multitool() -> Path:
    path = _tool("SARIF_MULTITOOL", "Sarif.Multitool")
    if not os.access(path, os.X_OK):
        pytest.fail(f"{path} is not executable (scripts/install_sarif_tools.sh makes it so)")
    return path


def schema_errors(validator: Any, doc: dict[str, Any]) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(doc)]


def multitool_problems(tool: Path, sarif_file: Path, work: Path, rule_kind: str = "Ghas;Sarif") -> list[str]:
    """Errors and warnings of ``Sarif.Multitool validate --rule-kind "Ghas;Sarif"``.

    The binary is run directly (the npm wrapper passes arguments through a shell, which
    splits ``Ghas;Sarif``); it exits 0 whatever it finds, so its own SARIF log is read.
    """
    out = work / f"{sarif_file.stem}.multitool.sarif"
    env = dict(os.environ)
    env.setdefault("DOTNET_CLI_TELEMETRY_OPTOUT", "1")
    proc = subprocess.run(
        [str(tool), "validate", str(sarif_file), "--rule-kind", rule_kind, "-o", str(out), "--log", "ForceOverwrite",
         "--max-file-size-in-kb", "512000"],  # GitHub's 10 MB limit is on the gzipped upload
        capture_output=True, text=True, timeout=600, env=env, cwd=work, check=False,
    )
    assert out.is_file(), f"Multitool wrote no log (exit {proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
    log = json.loads(out.read_text(encoding="utf-8-sig"))
    problems = []
    for run in log["runs"]:
        for inv in run.get("invocations", []):
            assert inv.get("executionSuccessful", True), f"Multitool failed: {inv}\n{proc.stdout}"
        rules = run["tool"]["driver"].get("rules", [])
        for r in run.get("results", []):
            level = r.get("level")
            if level is None and isinstance(r.get("ruleIndex"), int) and r["ruleIndex"] < len(rules):
                level = rules[r["ruleIndex"]].get("defaultConfiguration", {}).get("level")
            if (level or "warning") in ("error", "warning"):
                msg = r.get("message", {})
                problems.append(f"{r.get('ruleId')} {level}: {msg.get('text') or msg.get('arguments')}")
    return problems


def check_sarif(doc: dict[str, Any], validator: Any, tool: Path, work: Path, name: str,
                rule_kind: str = "Ghas;Sarif") -> Path:
    errors = schema_errors(validator, doc)
    assert not errors, "schema errors:\n" + "\n".join(errors[:20])
    path = work / f"{name}.sarif"
    path.write_text(json.dumps(doc, indent=2), encoding="utf-8")
    problems = multitool_problems(tool, path, work, rule_kind)
    assert not problems, "Multitool errors/warnings:\n" + "\n".join(problems[:30])
    return path


def render(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, Any]]:
    code, out, err = run_cli([*argv, "--format", "sarif"], capsys)
    assert code in (0, 1, 3), err
    doc: dict[str, Any] = json.loads(out)
    return code, doc


@pytest.fixture(scope="module")
def mixed_models(tf_fixtures: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small repository of models: malicious, benign, a GraphDef, an unparsable file and
    a Git LFS pointer (artifact findings), under ``repo/models``."""
    repo = tmp_path_factory.mktemp("sarif-repo")
    models = repo / "models"
    for name in ("readfile_const", "exfil_chain", "printv2_file_tensorflow_py", "benign_module_variables"):
        shutil.copytree(tf_fixtures / "savedmodels" / name, models / name)
    shutil.copy(tf_fixtures / "graphdefs" / "model.pb", models / "frozen.pb")
    (models / "broken.pb").write_bytes(b"\x0a\xff\xff\xff\xff\x0fgarbage")
    (models / "weights.h5").write_text(LFS_POINTER)
    return repo


def test_fixture_models_pass_schema_and_multitool(
    mixed_models: Path, sarif_validator: Any, multitool: Path, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(mixed_models)
    _, doc = render(["models", "--sarif-root", "."], capsys)
    run = doc["runs"][0]
    codes = Counter(r["ruleId"] for r in run["results"])
    assert codes["TFL201"] and codes["TFL202"] and codes["TFL906"] and codes["TFL902"], codes
    check_sarif(doc, sarif_validator, multitool, tmp_path, "fixtures")


def test_result_shape_for_github(mixed_models: Path, monkeypatch: pytest.MonkeyPatch,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(mixed_models)
    _, doc = render(["models", "--sarif-root", "."], capsys)
    assert doc["version"] == "2.1.0" and doc["$schema"]
    run = doc["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    assert len({r["id"] for r in rules}) == len(rules)
    for rule in rules:
        assert rule["shortDescription"]["text"] and rule["fullDescription"]["text"] and rule["help"]["text"]
        props = rule["properties"]
        assert float(props["security-severity"]) > 0 and isinstance(props["security-severity"], str)
        assert props["precision"] in {"very-high", "high", "medium", "low"}
    assert run["automationDetails"]["id"] == "tfmodel-lint/"
    assert run["originalUriBaseIds"]["%SRCROOT%"]["uri"].endswith("/")
    for result in run["results"]:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
        assert result["level"] in {"error", "warning", "note"}
        assert len(result["partialFingerprints"]["tfmodelLint/v1"]) == 32
        (loc,) = result["locations"]
        phys = loc["physicalLocation"]
        assert phys["region"] == {"startLine": 1}
        uri = phys["artifactLocation"]["uri"]
        assert phys["artifactLocation"]["uriBaseId"] == "%SRCROOT%"
        assert not uri.startswith(("/", "file:")) and (mixed_models / uri).is_file(), uri
        assert loc["logicalLocations"][0]["fullyQualifiedName"]
    by_uri = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in run["results"]}
    # a SavedModel directory is reported on its saved_model.pb, a file GitHub can show
    assert "models/readfile_const/saved_model.pb" in by_uri
    assert "models/weights.h5" in by_uri and "models/frozen.pb" in by_uri


def test_level_written_even_when_it_is_the_default(mixed_models: Path, monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    """A result's absent level means its rule's default level, which may differ."""
    monkeypatch.chdir(mixed_models)
    _, doc = render(["models/exfil_chain", "models/broken.pb"], capsys)
    levels = [r.get("level") for r in doc["runs"][0]["results"]]
    assert "warning" in levels and None not in levels


def test_category_and_sarif_root(mixed_models: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(mixed_models / "models")
    _, doc = render(["readfile_const", "--sarif-category", "/ml-models/savedmodels/", "--sarif-root", ".."], capsys)
    run = doc["runs"][0]
    assert run["automationDetails"]["id"] == "ml-models/savedmodels/"
    uri = run["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    assert uri == "models/readfile_const/saved_model.pb"


def test_default_root_is_git_toplevel(tf_fixtures: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    repo = tmp_path / "repo"
    shutil.copytree(tf_fixtures / "savedmodels" / "readfile_const", repo / "ml" / "models" / "evil")
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    monkeypatch.chdir(repo / "ml")
    _, doc = render(["models/evil"], capsys)
    uri = doc["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    assert uri == "ml/models/evil/saved_model.pb"
    # no git repository: relative to the current directory
    plain = tmp_path / "plain"
    shutil.copytree(tf_fixtures / "savedmodels" / "readfile_const", plain / "evil")
    monkeypatch.chdir(plain)
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    _, doc = render(["evil"], capsys)
    uri = doc["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    assert uri == "evil/saved_model.pb"


def test_artifact_outside_root_is_an_absolute_uri_without_base(
    tf_fixtures: Path, tmp_path: Path, sarif_validator: Any, multitool: Path,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    (tmp_path / "root").mkdir()
    monkeypatch.chdir(tmp_path / "root")
    _, doc = render([str(tf_fixtures / "savedmodels" / "readfile_const"), "--sarif-root", "."], capsys)
    loc = doc["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]
    assert loc["uri"].startswith("file:///") and "uriBaseId" not in loc
    check_sarif(doc, sarif_validator, multitool, tmp_path, "outside")


def test_shared_samples_pass_schema_and_multitool(
    samples_dir: Path, sarif_validator: Any, multitool: Path, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(samples_dir)
    _, doc = render([".", "--sarif-root", "."], capsys)
    run = doc["runs"][0]
    assert len(run["results"]) >= 20
    assert all(r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].endswith("saved_model.pb")
               for r in run["results"])
    check_sarif(doc, sarif_validator, multitool, tmp_path, "samples")


# -- synthetic results ---------------------------------------------------------------

RULES = (
    RuleInfo("TFL201", "file-read", Severity.MEDIUM, "file_read", "Op that reads a file",
             "Reads a file.\n\nMore text.", "high", "tfmodel-lint:TFL2"),
    RuleInfo("TFL301", "network-send", Severity.HIGH, "network_send", "Op that sends data", "Sends.", "high",
             "tfmodel-lint:TFL3"),
)


def _finding(i: int, severity: Severity, code: str = "TFL201", artifact: str = "models/m.pb") -> Finding:
    issue = Issue(code, severity, "file_read", Location(function="f", node=f"n{i}", op="ReadFile"),
                  f"ReadFile number {i}", (("targets", ("/etc/passwd",)),), key=str(i))
    return Finding.from_issue(issue, artifact)


def _result(findings: list[Finding], **kw: Any) -> RunResult:
    return RunResult(tool_version="0.1.0", findings=tuple(findings),
                     artifacts=(ArtifactRecord("models/m.pb", "graphdef", ArtifactStatus.OK),), rules=RULES, **kw)


def test_truncated_past_github_limit_with_notification(
    tmp_path: Path, sarif_validator: Any, multitool: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "m.pb").write_bytes(b"")
    over = 7
    findings = [_finding(i, Severity.MEDIUM) for i in range(sarif.MAX_RESULTS)]
    findings += [_finding(sarif.MAX_RESULTS + i, Severity.HIGH, "TFL301") for i in range(over)]
    doc = sarif.build(_result(findings), Settings(sarif_root=tmp_path))
    run = doc["runs"][0]
    assert len(run["results"]) == sarif.MAX_RESULTS == 25_000
    # the most severe are kept
    assert sum(r["ruleId"] == "TFL301" for r in run["results"]) == over
    (note,) = run["invocations"][0]["toolExecutionNotifications"]
    assert note["level"] == "warning"
    assert f"{over} of {sarif.MAX_RESULTS + over} results left out" in note["message"]["text"]
    assert run["invocations"][0]["executionSuccessful"] is True
    # Schema and Multitool on the run with its notification and a slice of the results:
    # every synthetic result has the same shape, both check results one by one (the
    # Multitool does not count them against GitHub's limit), and on all 25,000 they take
    # more than a minute.
    run["results"] = run["results"][:50] + run["results"][-50:]
    check_sarif(doc, sarif_validator, multitool, tmp_path, "truncated-slice")


def test_no_truncation_at_the_limit() -> None:
    findings = [_finding(i, Severity.LOW) for i in range(10)]
    kept, left = sarif.select_results(tuple(findings), limit=10)
    assert kept == findings and left == 0
    kept, left = sarif.select_results(tuple(findings), limit=3)
    assert kept == findings[:3] and left == 7


def test_internal_errors_and_notes_become_notifications(
    tmp_path: Path, sarif_validator: Any, multitool: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    result = _result(
        [_finding(1, Severity.HIGH)],
        internal_errors=("models/m.pb: rule XMP101 (example:XMP) crashed: ValueError: boom at x.py:3",),
        notes=("per-file-ignores 'old/*' = ['TFL2'] matched no finding",),
    )
    doc = sarif.build(result, Settings(sarif_root=tmp_path))
    inv = doc["runs"][0]["invocations"][0]
    assert inv["executionSuccessful"] is False
    assert inv["toolExecutionNotifications"][0]["level"] == "error"
    assert "crashed" in inv["toolExecutionNotifications"][0]["message"]["text"]
    assert inv["toolConfigurationNotifications"][0]["level"] == "note"
    check_sarif(doc, sarif_validator, multitool, tmp_path, "errors")


def test_empty_run_is_valid(tmp_path: Path, sarif_validator: Any, multitool: Path,
                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    doc = sarif.build(_result([]), Settings(sarif_root=tmp_path))
    assert doc["runs"][0]["results"] == []
    check_sarif(doc, sarif_validator, multitool, tmp_path, "empty")


def test_sarif_written_to_file_is_byte_identical_across_runs(mixed_models: Path, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(mixed_models)
    a, b = tmp_path / "a.sarif", tmp_path / "b.sarif"
    main(["models", "--format", "sarif", "--sarif-root", ".", "-o", str(a)])
    main(["models", "--format", "sarif", "--sarif-root", ".", "-o", str(b)])
    assert a.read_bytes() == b.read_bytes()
