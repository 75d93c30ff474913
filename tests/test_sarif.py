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

import contextlib
import io
import json
import os
import re
import shutil
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import unquote, unquote_to_bytes

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
EXAMPLES_DIR = ROOT / "examples" / "models"
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
    codes = Counter(r["ruleId"].split("/")[0] for r in run["results"])
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


def test_artifact_outside_root_is_a_notification_not_an_alert(
    tf_fixtures: Path, tmp_path: Path, sarif_validator: Any, multitool: Path,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    """GitHub cannot show a file outside the checkout: such a finding is a notification
    at its own level naming its rule, never a result with a ``file://`` URI."""
    (tmp_path / "root").mkdir()
    monkeypatch.chdir(tmp_path / "root")
    code, doc = render([str(tf_fixtures / "savedmodels" / "readfile_const"), "--sarif-root", "."], capsys)
    assert code == 1  # the finding still fails the run
    run = doc["runs"][0]
    assert run["results"] == []
    (note,) = run["invocations"][0]["toolExecutionNotifications"]
    assert note["level"] == "error" and "/etc/passwd" in note["message"]["text"]
    rule = run["tool"]["driver"]["rules"][note["associatedRule"]["index"]]
    assert rule["id"] == note["associatedRule"]["id"] and rule["id"].startswith("TFL201")
    assert "file:" not in json.dumps(run["invocations"])
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
    # each alert shows its finding's own severity, some of them not their rule's default
    assert assert_alerts_show_finding_severity(doc, json_findings([".", "--sarif-root", "."], capsys)) >= 5
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


# -- how GitHub reads the severity of each alert -----------------------------------------

#: GitHub's documented bands for ``security-severity`` (SARIF support for code scanning,
#: reportingDescriptor object): over 9.0 critical, 7.0 to 8.9 high, 4.0 to 6.9 medium,
#: 0.1 to 3.9 low. GitHub has no "info": our info findings are shown as low.
def github_security_label(score: str) -> str:
    value = float(score)
    if value > 9.0:
        return "critical"
    if value >= 7.0:
        return "high"
    if value >= 4.0:
        return "medium"
    if value >= 0.1:
        return "low"
    return "none"


def expected_label(severity: str) -> str:
    return "low" if severity == "info" else severity


def github_rule(run: dict[str, Any], result: dict[str, Any]) -> dict[str, Any]:
    """The reporting descriptor GitHub associates with a result: by ``ruleIndex`` into
    ``tool.driver.rules``; ``ruleId`` must name the same descriptor (GitHub also filters
    alerts by it)."""
    rules = run["tool"]["driver"]["rules"]
    by_id = {r["id"]: r for r in rules}
    assert len(by_id) == len(rules), "reportingDescriptor ids must be unique"
    rule: dict[str, Any] = rules[result["ruleIndex"]]
    assert by_id[result["ruleId"]] is rule, (result["ruleId"], result["ruleIndex"])
    return rule


def json_findings(argv: list[str], capsys: pytest.CaptureFixture[str]) -> Counter[tuple[str, str, str]]:
    """(code, severity, fingerprint) of every finding, active and suppressed, from the JSON report."""
    code, out, err = run_cli([*argv, "--format", "json"], capsys)
    assert code in (0, 1, 3), err
    doc = json.loads(out)
    return Counter((f["code"], f["severity"], f["fingerprint"]) for f in doc["findings"] + doc.get("suppressed", []))


def default_severities() -> dict[str, str]:
    from tfmodel_lint.cli import run_rules

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        assert run_rules(["--format", "json"]) == 0
    return {r["code"]: r["severity"] for r in json.loads(buf.getvalue())}


def assert_alerts_show_finding_severity(doc: dict[str, Any], findings: Counter[tuple[str, str, str]]) -> int:
    """Each result, read as GitHub reads it, carries its finding's own severity; returns how
    many findings have a severity that is not their rule's default."""
    run = doc["runs"][0]
    defaults = default_severities()
    seen: Counter[tuple[str, str, str]] = Counter()
    off_default = 0
    for result in run["results"]:
        rule = github_rule(run, result)
        fingerprint = result["partialFingerprints"]["tfmodelLint/v1"]
        code = result["ruleId"].split("/")[0]
        (severity,) = {s for c, s, fp in findings if c == code and fp == fingerprint}
        seen[(code, severity, fingerprint)] += 1
        label = github_security_label(rule["properties"]["security-severity"])
        assert label == expected_label(severity), (result["ruleId"], severity, label)
        assert rule["defaultConfiguration"]["level"] == result["level"]
        off_default += severity != defaults[code]
    assert seen == findings  # every finding is one result
    return off_default


def test_each_alert_shows_its_findings_own_severity(
    mixed_models: Path, sarif_validator: Any, multitool: Path, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    shutil.copytree(EXAMPLES_DIR / "malicious_reader", tmp_path / "repo" / "models" / "reader")
    shutil.copytree(mixed_models / "models", tmp_path / "repo" / "models", dirs_exist_ok=True)
    monkeypatch.chdir(tmp_path / "repo")
    findings = json_findings(["models"], capsys)
    _, doc = render(["models", "--sarif-root", "."], capsys)
    # an /etc/passwd read is high; its rule's default is not
    assert ("TFL201", "high") in {(c, s) for c, s, _ in findings} and default_severities()["TFL201"] != "high"
    assert assert_alerts_show_finding_severity(doc, findings) >= 2
    check_sarif(doc, sarif_validator, multitool, tmp_path, "severities")


def test_rule_table_keeps_enabled_rules_first_and_adds_one_descriptor_per_severity_used() -> None:
    findings = [_finding(1, Severity.HIGH), _finding(2, Severity.HIGH), _finding(3, Severity.MEDIUM),
                _finding(4, Severity.CRITICAL, "TFL301"), _finding(5, Severity.LOW, "XMP101")]
    doc = sarif.build(_result(findings), Settings(sarif_root=ROOT))
    run = doc["runs"][0]
    ids = [r["id"] for r in run["tool"]["driver"]["rules"]]
    assert ids[:2] == ["TFL201", "TFL301"]
    assert sorted(ids[2:]) == ["TFL201/high", "TFL301/critical", "XMP101"]
    assert {r["name"] for r in run["tool"]["driver"]["rules"][2:]} >= {"file-read", "network-send"}


# -- locations: a file in the repository, or no alert --------------------------------------

def test_runs_without_models_produce_no_alert(tmp_path: Path, sarif_validator: Any, multitool: Path,
                                              monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    repo = tmp_path / "repo"
    (repo / "docs").mkdir(parents=True)
    (repo / "docs" / "README.md").write_text("no models here\n", encoding="utf-8")
    monkeypatch.chdir(repo)
    for argv in (["."], ["docs"], ["missing"], [".", "missing"]):
        _, doc = render([*argv, "--sarif-root", "."], capsys)
        run = doc["runs"][0]
        assert run["results"] == [], argv
        notes = run["invocations"][0]["toolExecutionNotifications"]
        assert notes and all("not a file in the repository" in n["message"]["text"] for n in notes)
    check_sarif(doc, sarif_validator, multitool, tmp_path, "no-models")


def test_every_result_is_a_regular_file_in_the_repository(
    mixed_models: Path, tf_fixtures: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Models in the checkout, a SavedModel reached through a symlink, an empty
    directory, a missing path and a model outside the checkout in one run."""
    repo = tmp_path / "repo"
    shutil.copytree(mixed_models / "models", repo / "models")
    (repo / "empty").mkdir()
    (repo / "linked").symlink_to(repo / "models" / "readfile_const")
    monkeypatch.chdir(repo)
    outside = str(tf_fixtures / "savedmodels" / "exfil_chain")
    paths = ["models/frozen.pb", "models/broken.pb", "models/exfil_chain", "empty", "missing", "linked", outside]
    _, doc = render([*paths, "--sarif-root", "."], capsys)
    run = doc["runs"][0]
    for result in run["results"]:
        (loc,) = result["locations"]
        art = loc["physicalLocation"]["artifactLocation"]
        assert art["uriBaseId"] == "%SRCROOT%" and "://" not in art["uri"] and not art["uri"].startswith("/")
        path = repo / unquote(art["uri"])
        assert path.is_file() and not path.is_symlink() and path.resolve().is_relative_to(repo.resolve()), path
    texts = [n["message"]["text"] for n in run["invocations"][0]["toolExecutionNotifications"]]
    assert any(t.startswith("TFL904 (low) empty") for t in texts)
    assert any(t.startswith("TFL901 (medium) missing") for t in texts)
    assert any(outside in t for t in texts)
    # the symlinked SavedModel is reported on the file it resolves to (GitHub cannot show symlinks)
    uris = Counter(r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in run["results"])
    assert uris["models/readfile_const/saved_model.pb"] == 1
    assert {"models/frozen.pb", "models/broken.pb", "models/exfil_chain/saved_model.pb"} <= set(uris)


# -- hostile content --------------------------------------------------------------------------

def test_placeholders_and_hostile_names_in_sarif(
    tmp_path: Path, sarif_validator: Any, multitool: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from tests.conftest import build_cached
    from tests.test_report_output import BAD_FILE, reader_graphdef

    fixtures = build_cached("build_report_fixtures.py")
    repo = tmp_path / "repo"
    shutil.copytree(fixtures / "savedmodels" / "forged_target", repo / "models" / "forged")
    with open(os.path.join(os.fsencode(repo / "models"), BAD_FILE), "wb") as fh:
        fh.write(reader_graphdef())
    monkeypatch.chdir(repo)
    out = tmp_path / "out.sarif"
    code, _, err = run_cli(["models", "--format", "sarif", "--sarif-root", ".", "-o", str(out)], capsys)
    assert code == 1, err
    doc = json.loads(out.read_bytes().decode("utf-8"))  # valid UTF-8
    run = doc["runs"][0]
    texts = [r["message"]["text"] for r in run["results"]]
    assert any("{{0}}{{1}}" in t for t in texts)
    for text in texts:  # no placeholder left: every brace is doubled
        assert re.fullmatch(r"([^{}]|\{\{|\}\})*", text), text
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in run["results"]}
    raw = {unquote_to_bytes(u) for u in uris}
    assert b"models/" + BAD_FILE in raw and b"models/forged/saved_model.pb" in raw
    assert all(re.fullmatch(r"[A-Za-z0-9/%._~-]+", u) for u in uris), uris
    check_sarif(doc, sarif_validator, multitool, tmp_path, "hostile")


# -- suppressed findings ----------------------------------------------------------------------

def test_suppressed_findings_are_results_with_suppressions(
    tmp_path: Path, sarif_validator: Any, multitool: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    repo = tmp_path / "repo"
    for name in ("a", "b", "c"):
        shutil.copytree(EXAMPLES_DIR / "malicious_reader", repo / "models" / name)
    (repo / ".tfmodel-lint.toml").write_text(
        '[per-file-ignores]\n"models/a" = ["TFL2"]\n\n'
        '[[ignores]]\npath = "models/b"\ncodes = ["TFL201"]\nreason = "reads its own vocabulary; ML-12"\n',
        encoding="utf-8",
    )
    monkeypatch.chdir(repo)
    assert main(["baseline", "create", "base.json", "models/c"]) == 0
    capsys.readouterr()
    findings = json_findings(["models", "--baseline", "base.json"], capsys)
    code, doc = render(["models", "--baseline", "base.json", "--sarif-root", "."], capsys)
    assert code == 1  # models/b's TFL202 is active
    run = doc["runs"][0]
    suppressed = [r for r in run["results"] if r.get("suppressions")]
    active = [r for r in run["results"] if not r.get("suppressions")]
    assert len(suppressed) == 5 and len(active) == 1
    by_file: dict[str, list[dict[str, Any]]] = {}
    for r in suppressed:
        (s,) = r["suppressions"]
        assert s["kind"] == "external" and s["justification"]
        by_file.setdefault(r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"], []).append(s)
    a = by_file["models/a/saved_model.pb"]
    assert all(s["properties"] == {"kind": "config", "source": "per-file-ignores['models/a']",
                                   "file": str(repo / ".tfmodel-lint.toml")} for s in a) and len(a) == 2
    (b,) = by_file["models/b/saved_model.pb"]
    assert b["properties"]["source"] == "ignores[0]" and b["justification"].endswith("reads its own vocabulary; ML-12")
    c = by_file["models/c/saved_model.pb"]
    assert all(s["properties"] == {"kind": "baseline", "source": "baseline", "file": "base.json"} for s in c)
    assert assert_alerts_show_finding_severity(doc, findings) >= 1
    check_sarif(doc, sarif_validator, multitool, tmp_path, "suppressed")
