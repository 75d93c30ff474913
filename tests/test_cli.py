"""The command line, in-process (main(argv) -> int) and as a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import run_cli

ROOT = Path(__file__).resolve().parent.parent
MALICIOUS = ROOT / "examples" / "models" / "malicious_reader"
BENIGN = ROOT / "examples" / "models" / "benign_classifier"


def test_text_output_and_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli([str(MALICIOUS)], capsys)
    assert code == 1
    assert "TFL201 high" in out and "/etc/passwd" in out
    assert "TFL202 high" in out and "/tmp/owned.py" in out
    assert out.strip().splitlines()[-1].startswith("2 findings in 1 artifact (2 high)")
    code, out, _ = run_cli([str(BENIGN)], capsys)
    assert code == 0
    assert out.strip() == "0 findings in 1 artifact"


def test_fail_on_and_exit_zero(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli([str(MALICIOUS), "--fail-on", "critical"], capsys)[0] == 0
    assert run_cli([str(MALICIOUS), "--fail-on", "high"], capsys)[0] == 1
    assert run_cli([str(MALICIOUS), "--exit-zero"], capsys)[0] == 0


@pytest.mark.parametrize(
    ("args", "codes"),
    [
        ([], ["TFL201", "TFL202"]),
        (["--select", "TFL2"], ["TFL201", "TFL202"]),
        (["--select", "TFL20"], ["TFL201", "TFL202"]),
        (["--select", "TFL201"], ["TFL201"]),
        (["--ignore", "TFL201"], ["TFL202"]),
        (["--ignore", "TFL2"], []),
        (["--ignore", "TFL2", "--extend-select", "TFL202"], ["TFL202"]),  # longer prefix wins
        (["--select", "TFL3"], []),
        (["--select", "TFL3", "--extend-select", "TFL201"], ["TFL201"]),
    ],
)
def test_select_ignore_prefix_semantics(args: list[str], codes: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli([str(MALICIOUS), "--format", "json", *args], capsys)
    data = json.loads(out)
    assert sorted(f["code"] for f in data["findings"]) == codes
    assert code == (1 if codes else 0)


def test_json_contract(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run_cli([str(MALICIOUS), str(BENIGN), "--format", "json"], capsys)
    data = json.loads(out)
    assert data["version"] == 1
    assert data["tool"]["name"] == "tfmodel-lint"
    assert {a["status"] for a in data["artifacts"]} == {"ok"}
    assert {a["format"] for a in data["artifacts"]} == {"savedmodel"}
    finding = data["findings"][0]
    contract = {"code", "severity", "category", "artifact", "location", "message", "evidence", "fingerprint"}
    assert set(finding) == contract
    assert finding["location"]["function"].startswith("__inference_")
    assert finding["evidence"]["targets"] == ["/etc/passwd"]
    assert finding["evidence"]["reached_from"]  # reachable from the serving signature
    assert len(finding["fingerprint"]) == 32


def test_sarif_to_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out_file = tmp_path / "results.sarif"
    code, out, _ = run_cli([str(MALICIOUS), "--format", "sarif", "-o", str(out_file)], capsys)
    assert code == 1 and out == ""
    sarif = json.loads(out_file.read_text())
    run = sarif["runs"][0]
    assert sarif["version"] == "2.1.0"
    rule_ids = [r["id"] for r in run["tool"]["driver"]["rules"]]
    assert "TFL201" in rule_ids and "TFL999" in rule_ids  # every enabled rule
    result = run["results"][0]
    assert result["locations"][0]["physicalLocation"]["region"]["startLine"] == 1
    assert result["partialFingerprints"]["tfmodelLint/v1"]
    assert run["tool"]["driver"]["rules"][result["ruleIndex"]]["id"] == result["ruleId"]


def test_rules_listing_and_docs(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(["rules"], capsys)
    assert code == 0
    assert "TFL201  file-read" in out and "TFL902  malformed-artifact" in out
    code, out, _ = run_cli(["rules", "TFL202"], capsys)
    assert code == 0 and "TFL202 file-write" in out and "authorized_keys" in out
    assert run_cli(["rules", "NOPE123"], capsys)[0] == 2


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert run_cli([], capsys)[0] == 2
    assert run_cli([str(MALICIOUS), "--fail-on", "catastrophic"], capsys)[0] == 2
    assert run_cli([str(MALICIOUS), "--format", "xml"], capsys)[0] == 2
    bad = tmp_path / "bad.json"
    bad.write_text("{}")
    assert run_cli([str(MALICIOUS), "--signatures", str(bad)], capsys)[0] == 2
    code, _, err = run_cli([str(MALICIOUS), "--bogus-option"], capsys)
    assert code == 2 and "unrecognized arguments" in err


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(["--version"], capsys)
    assert code == 0 and out.startswith("tfmodel-lint ")


def test_file_inside_savedmodel_maps_to_root(capsys: pytest.CaptureFixture[str]) -> None:
    member = MALICIOUS / "variables" / "variables.index"
    _, out, _ = run_cli([str(member), str(MALICIOUS / "saved_model.pb"), "--format", "json"], capsys)
    data = json.loads(out)
    assert [a["path"] for a in data["artifacts"]] == [data["artifacts"][0]["path"]]
    assert data["artifacts"][0]["path"].endswith("malicious_reader")


def _subprocess(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    return subprocess.run([sys.executable, "-m", "tfmodel_lint", *args], capture_output=True, text=True,
                          cwd=cwd, env=env, timeout=120, check=False)


def test_subprocess_end_to_end() -> None:
    proc = _subprocess(str(MALICIOUS), str(BENIGN), "--format", "json")
    assert proc.returncode == 1, proc.stderr
    assert len(json.loads(proc.stdout)["artifacts"]) == 2
    assert _subprocess(str(BENIGN)).returncode == 0
    assert _subprocess("--version").returncode == 0


def test_lint_never_imports_tensorflow_or_keras() -> None:
    code = (
        "import sys\n"
        "from tfmodel_lint.cli import main\n"
        f"rc = main([{str(MALICIOUS)!r}, {str(BENIGN)!r}, '--format', 'sarif', '-o', '/dev/null'])\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras', 'tf_keras', 'torch'))\n"
        "print(rc, bad)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False)
    assert proc.stdout.strip() == "1 []", proc.stdout + proc.stderr


def test_directories_named_like_commands_can_be_linted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    """``rules`` and ``baseline`` are commands; ``check`` (or ``./rules``) lints a
    directory of that name."""
    import shutil

    for name in ("rules", "baseline"):
        shutil.copytree(ROOT / "examples" / "models" / "malicious_reader", tmp_path / name / "evil")
    monkeypatch.chdir(tmp_path)
    for argv in (["check", "rules"], ["./rules"], ["check", "baseline"], ["./baseline"]):
        code, out, _ = run_cli([*argv, "--format", "json", "--isolated"], capsys)
        data = json.loads(out)
        assert code == 1 and {f["code"] for f in data["findings"]} >= {"TFL201"}, argv
    code, out, _ = run_cli(["rules"], capsys)
    assert code == 0 and "TFL201" in out and "file-read" in out  # the command, not the directory


def test_missing_output_directory_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli([str(ROOT / "examples" / "models"), "-o", str(tmp_path / "no" / "such" / "r.json"),
                            "--format", "json", "--isolated"], capsys)
    assert code == 2 and "r.json" in err
