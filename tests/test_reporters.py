"""Text output (grouping, colour, summary, --quiet, --statistics, --show-evidence), the
progress bar, GitHub Actions annotations (--format github) and the reporter registry."""

from __future__ import annotations

import io
import json
import re
import shutil
from pathlib import Path

import pytest

from tests.helpers import run_cli
from tfmodel_lint._records import replace
from tfmodel_lint.discovery import expand_paths
from tfmodel_lint.findings import (
    ArtifactRecord,
    ArtifactStatus,
    Finding,
    Issue,
    Location,
    RuleInfo,
    RunResult,
    Severity,
    Suppression,
)
from tfmodel_lint.reporters import available, get_reporter
from tfmodel_lint.reporters.github import GithubReporter, escape_data, escape_property
from tfmodel_lint.reporters.progress import ProgressBar, lint_with_progress, wanted
from tfmodel_lint.reporters.text import TextReporter, summary_line
from tfmodel_lint.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples" / "models"
ESC = "\033["


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def _f(artifact: str, code: str, severity: Severity, node: str, message: str, **evidence: object) -> Finding:
    issue = Issue(code, severity, "file_read", Location(function="__inference_serve_6", node=node, op=node),
                  message, tuple(sorted(evidence.items())), key=node)
    return Finding.from_issue(issue, artifact)


RULES = (
    RuleInfo("TFL201", "file-read", Severity.MEDIUM, "file_read", "reads", "doc", "high", "p"),
    RuleInfo("TFL301", "network-send", Severity.HIGH, "network_send", "sends", "doc", "high", "p"),
    RuleInfo("TFL902", "malformed-artifact", Severity.MEDIUM, "artifact", "bad", "doc", "high", "p"),
)
FINDINGS = (
    _f("models/a", "TFL301", Severity.HIGH, "Rpc", "RpcClient sends to '10.0.0.1:1'", targets=("10.0.0.1:1",)),
    _f("models/a", "TFL201", Severity.MEDIUM, "ReadFile", "ReadFile reads './x'", targets=("./x",)),
    _f("models/b.h5", "TFL902", Severity.MEDIUM, "", "not a valid HDF5 file"),
    _f("models/c", "TFL201", Severity.LOW, "ReadFile", "ReadFile reads an asset"),
)
RESULT = RunResult(
    tool_version="0.1.0",
    findings=FINDINGS,
    artifacts=(
        ArtifactRecord("models/a", "savedmodel", ArtifactStatus.OK),
        ArtifactRecord("models/b.h5", "unknown", ArtifactStatus.ERROR, "bad"),
        ArtifactRecord("models/c", "savedmodel", ArtifactStatus.OK),
        ArtifactRecord("models/d", "savedmodel", ArtifactStatus.OK),
    ),
    rules=RULES,
    suppressed=(replace(_f("models/e", "TFL201", Severity.HIGH, "ReadFile", "ReadFile reads '/etc/shadow'"),
                        suppression=Suppression("config", "ignores[0]", "reviewed", "pyproject.toml")),),
    internal_errors=(),
    fail_on=Severity.MEDIUM,
    notes=("ignore ['TFL2'] for 'old/*' matched no finding (reason: legacy)",),
)


def text(result: RunResult = RESULT, stream: io.StringIO | None = None, **settings: object) -> str:
    out = stream if stream is not None else io.StringIO()
    TextReporter(Settings(**settings)).render(result, out)  # type: ignore[arg-type]
    return out.getvalue()


def test_text_grouped_by_artifact_one_line_per_finding() -> None:
    assert text() == (
        "models/a\n"
        "  TFL301 high     __inference_serve_6/Rpc: RpcClient sends to '10.0.0.1:1'\n"
        "  TFL201 medium   __inference_serve_6/ReadFile: ReadFile reads './x'\n"
        "models/b.h5\n"
        "  TFL902 medium   __inference_serve_6: not a valid HDF5 file\n"
        "models/c\n"
        "  TFL201 low      __inference_serve_6/ReadFile: ReadFile reads an asset\n"
        "note: ignore ['TFL2'] for 'old/*' matched no finding (reason: legacy)\n"
        "suppressed: 1 (1 high) by ignores[0] in pyproject.toml\n"
        "4 findings in 4 artifacts (1 high, 2 medium, 1 low); 1 artifact could not be linted; 1 suppressed\n"
    )


def test_summary_line_singular_and_clean() -> None:
    clean = RunResult("0.1.0", (), (ArtifactRecord("m", "savedmodel", ArtifactStatus.OK),), RULES)
    assert summary_line(clean) == "0 findings in 1 artifact"
    assert text(clean) == "0 findings in 1 artifact\n"


def test_colour_only_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.delenv("TERM", raising=False)
    assert ESC not in text()  # a pipe or file
    coloured = text(stream=Tty())
    assert f"{ESC}1;31mhigh" in coloured and f"{ESC}33mmedium" in coloured and f"{ESC}0m" in coloured
    assert ESC not in text(stream=Tty(), color=False)  # --color never
    assert ESC in text(color=True)  # --color always
    monkeypatch.setenv("NO_COLOR", "1")
    assert ESC not in text(stream=Tty())
    monkeypatch.delenv("NO_COLOR")
    monkeypatch.setenv("TERM", "dumb")
    assert ESC not in text(stream=Tty())


def test_quiet_only_failing_findings_no_headers_no_summary() -> None:
    assert text(quiet=True) == (
        "models/a: TFL301 high     __inference_serve_6/Rpc: RpcClient sends to '10.0.0.1:1'\n"
        "models/a: TFL201 medium   __inference_serve_6/ReadFile: ReadFile reads './x'\n"
        "models/b.h5: TFL902 medium   __inference_serve_6: not a valid HDF5 file\n"
    )
    clean = RunResult("0.1.0", (), (), RULES)
    assert text(clean, quiet=True) == ""


def test_statistics_counts_per_code() -> None:
    out = text(statistics=True)
    block = out[out.index("statistics:\n"):].splitlines()
    assert block == [
        "statistics:",
        "  1      TFL201 medium   file-read",
        "  1      TFL201 low      file-read",
        "  1      TFL301 high     network-send",
        "  1      TFL902 medium   malformed-artifact",
        summary_line(RESULT),
    ]


def test_show_evidence() -> None:
    out = text(show_evidence=True)
    assert "      targets: ['10.0.0.1:1']\n" in out
    assert "targets" not in text()


def test_internal_errors_always_shown() -> None:
    result = RunResult("0.1.0", (), (), RULES, internal_errors=("m: rule X crashed",))
    assert "error: m: rule X crashed\n" in text(result)
    assert "error: m: rule X crashed\n" in text(result, quiet=True)


def test_cli_text_on_real_models(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli([str(EXAMPLES), "--show-evidence", "--statistics"], capsys)
    assert code == 1
    lines = out.splitlines()
    header = [i for i, line in enumerate(lines) if line.endswith("malicious_reader")]
    assert header and lines[header[0] + 1].startswith("  TFL20")
    assert "targets: ['/etc/passwd']" in out
    assert "statistics:" in out
    assert lines[-1] == "2 findings in 2 artifacts (2 high)"
    assert ESC not in out  # captured output is not a terminal
    code, out, _ = run_cli([str(EXAMPLES), "-q"], capsys)
    assert code == 1 and len(out.splitlines()) == 2 and all("malicious_reader: TFL20" in x for x in out.splitlines())


# -- progress bar ----------------------------------------------------------------------

def test_progress_only_on_a_terminal_for_many_artifacts(tf_fixtures: Path, tmp_path: Path) -> None:
    names = sorted(p.name for p in (tf_fixtures / "savedmodels").iterdir())[:10]
    targets = expand_paths([str(tf_fixtures / "savedmodels" / n) for n in names]).targets
    assert len(targets) == 10
    assert not wanted(None, targets, io.StringIO())  # not a terminal
    assert wanted(None, targets, Tty())
    assert not wanted(False, targets, Tty())  # --no-progress
    assert not wanted(None, targets[:2], Tty())  # few, small artifacts
    big = tmp_path / "big.pb"
    with big.open("wb") as fh:
        fh.truncate(80 * 1024 * 1024)  # sparse: large without using the disk
    assert wanted(None, expand_paths([str(big)]).targets, Tty())

    from tfmodel_lint.app import Application

    app = Application(Settings())
    from tfmodel_lint.engine import Linter

    assert app.signatures is not None
    linter = Linter(app.registry, app.signatures, Settings().limits, app.enabled)
    tty = Tty()
    results = lint_with_progress(linter, targets, 1, None, tty)
    assert [r.record.path for r in results] == [t.display for t in targets]
    drawn = tty.getvalue()
    assert "\r[" in drawn and "/10 " in drawn and drawn.endswith("\r")  # drawn, then erased
    quiet = io.StringIO()
    lint_with_progress(linter, targets, 1, None, quiet)
    assert quiet.getvalue() == ""


def test_progress_bar_fits_the_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "50")
    tty = Tty()
    bar = ProgressBar(3, tty)
    bar.update(1, "a/very/long/path/" * 10)
    line = tty.getvalue().split("\r")[-1]
    assert len(line) <= 50 and line.startswith("[######") and " 1/3 " in line
    bar.close()
    assert tty.getvalue().endswith("\r")


def test_cli_never_draws_progress_when_stderr_is_captured(tf_fixtures: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    _, _, err = run_cli([str(tf_fixtures / "savedmodels")], capsys)
    assert "\r" not in err


# -- GitHub Actions annotations ---------------------------------------------------------

def test_github_annotations(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shutil.copytree(EXAMPLES / "malicious_reader", tmp_path / "models" / "a")
    (tmp_path / "models" / "b.h5").write_bytes(b"x")
    monkeypatch.chdir(tmp_path)
    out = io.StringIO()
    GithubReporter(Settings(sarif_root=tmp_path)).render(RESULT, out)
    lines = out.getvalue().splitlines()
    assert lines[0] == (
        "::error file=models/a/saved_model.pb,title=TFL301 network-send (high)::"
        "RpcClient sends to '10.0.0.1:1' [models/a: __inference_serve_6/Rpc]"
    )
    assert lines[1].startswith("::warning file=models/a/saved_model.pb,title=TFL201 file-read (medium)::")
    assert lines[2].startswith("::warning file=models/b.h5,title=TFL902 malformed-artifact (medium)::")
    # models/c is not in the repository: an annotation without a file
    assert lines[3].startswith("::notice title=TFL201 file-read (low)::ReadFile reads an asset [models/c: ")
    assert lines[4].startswith("::notice title=tfmodel-lint configuration::ignore ['TFL2']")
    assert lines[5] == ("::notice title=tfmodel-lint suppressed findings::1 findings suppressed (most severe: high): "
                        "1 by ignores[0] in pyproject.toml")
    assert len(lines) == 6


def test_github_escaping(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert escape_data("100%\r\nnext") == "100%25%0D%0Anext"
    assert escape_property("a:b,c%") == "a%3Ab%2Cc%25"
    monkeypatch.chdir(tmp_path)
    (tmp_path / "m,1:x%").write_bytes(b"")
    finding = _f("m,1:x%", "TFL201", Severity.HIGH, "n", "line1\nline2 100%")
    result = RunResult("0.1.0", (finding,), (), RULES, internal_errors=("boom\r\nat x",))
    out = io.StringIO()
    GithubReporter(Settings(sarif_root=tmp_path)).render(result, out)
    first, second = out.getvalue().splitlines()
    # internal errors first; line breaks are shown escaped, never as line breaks
    assert first == "::error title=tfmodel-lint internal error::boom\\r\\nat x"
    assert second.startswith("::error file=m%2C1%3Ax%25,title=TFL201 file-read (high)::line1\\nline2 100%25 [")


def test_cli_format_github(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(EXAMPLES)
    code, out, _ = run_cli([".", "--format", "github", "--sarif-root", "."], capsys)
    assert code == 1
    assert out.splitlines() == [line for line in out.splitlines() if line.startswith("::error file=malicious_reader/")]
    assert len(out.splitlines()) == 2


# -- registry ---------------------------------------------------------------------------

def test_builtin_reporters_registered() -> None:
    assert {"text", "json", "sarif", "github"} <= set(available())
    assert get_reporter("github") is GithubReporter


def test_json_report_counts(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run_cli([str(EXAMPLES), "--format", "json"], capsys)
    data = json.loads(out)
    assert data["summary"]["by_severity"]["high"] == 2 and data["summary"]["findings"] == 2


def _report_inputs(tmp_path: Path) -> list[str]:
    """Benign and malicious models, a Keras file, and hostile inputs: every artifact status."""
    import zipfile

    root = Path(__file__).resolve().parent.parent
    (tmp_path / "random.h5").write_bytes(b"\x89HDF\r\n\x1a\n" + bytes(range(256)) * 4)
    (tmp_path / "empty_sm").mkdir()
    (tmp_path / "empty_sm" / "saved_model.pb").write_bytes(b"")
    with zipfile.ZipFile(tmp_path / "evil.zip", "w") as zf:
        zf.writestr("../escape/saved_model.pb", b"x")
        zf.write(root / "examples" / "models" / "malicious_reader" / "saved_model.pb", "m/saved_model.pb")
    paths = [str(root / "examples" / "models"), str(tmp_path), str(tmp_path / "missing")]
    samples = root.parent / "shared" / "samples" / "tensorabuse"
    if samples.is_dir():
        paths.append(str(samples))
    return paths


def test_json_report_validates_against_the_published_schema(tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    import jsonschema

    root = Path(__file__).resolve().parent.parent
    schema = json.loads((root / "docs" / "report.schema.json").read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    code, out, _ = run_cli([*_report_inputs(tmp_path), "--format", "json"], capsys)
    assert code == 1
    doc = json.loads(out)
    errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.path))
    assert not errors, [f"{list(e.path)}: {e.message}" for e in errors[:5]]
    statuses = {a["status"] for a in doc["artifacts"]}
    assert {"ok", "error"} <= statuses
    assert any(f["location"].get("member") for f in doc["findings"])  # from inside the zip
    # The schema is not vacuous: a finding without its fingerprint, or with an unknown
    # severity, is rejected.
    broken = json.loads(out)
    del broken["findings"][0]["fingerprint"]
    assert not validator.is_valid(broken)
    broken = json.loads(out)
    broken["findings"][0]["severity"] = "severe"
    assert not validator.is_valid(broken)


def test_builtin_reporter_shortcut_matches_the_registered_entry_points() -> None:
    """``get_reporter`` finds the built-in formats without scanning installed packages;
    its table must say exactly what pyproject.toml registers."""
    from tfmodel_lint.entrypoints import entry_points
    from tfmodel_lint.reporters import BUILTIN, GROUP

    registered = {ep.name: ep.value for ep in entry_points(GROUP) if ep.dist == "tfmodel-lint"}
    assert registered == BUILTIN
    for name in BUILTIN:
        assert get_reporter(name).__name__ == BUILTIN[name].rsplit(":", 1)[1]


# -- GitHub: what a step shows, and the job summary ---------------------------------------------

def _many(n: int, severity: Severity, code: str = "TFL201", message: str = "reads '/etc/passwd'") -> list[Finding]:
    return [_f(f"models/{severity}{i}", code, severity, f"n{i}", message) for i in range(n)]


def _annotations(out: str) -> dict[str, list[str]]:
    kinds: dict[str, list[str]] = {"error": [], "warning": [], "notice": []}
    for line in out.splitlines():
        for kind, lines in kinds.items():
            if line.startswith((f"::{kind} ", f"::{kind}::")):
                lines.append(line)
    return kinds


def test_github_prints_at_most_what_a_step_shows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    monkeypatch.chdir(tmp_path)
    findings = [*_many(4, Severity.CRITICAL), *_many(21, Severity.HIGH), *_many(15, Severity.MEDIUM),
                *_many(3, Severity.LOW)]
    result = RunResult("0.1.0", tuple(findings), (), RULES, internal_errors=("m: rule X crashed",), notes=("a note",))
    out = io.StringIO()
    GithubReporter(Settings(sarif_root=tmp_path)).render(result, out)
    kinds = _annotations(out.getvalue())
    # GitHub shows 10 error, 10 warning and 10 notice annotations per step (actions/toolkit docs)
    assert [len(kinds[k]) for k in ("error", "warning", "notice")] == [10, 10, 4]
    errors = kinds["error"]
    assert errors[0] == "::error title=tfmodel-lint internal error::m: rule X crashed"  # errors first
    assert all("(critical)" in line for line in errors[1:5])  # then the most severe
    assert errors[-1] == ("::error title=tfmodel-lint::17 more error annotations not shown (GitHub shows 10 per "
                          "step): see the log below")
    assert kinds["warning"][-1].startswith("::warning title=tfmodel-lint::6 more warning annotations not shown")
    # nothing is lost: every finding is annotated or printed in the group, once
    lines = out.getvalue().splitlines()
    group = lines[lines.index("::group::23 more not annotated") + 1:lines.index("::endgroup::")]
    assert len(group) == 17 + 6
    annotated = sum(1 for k in kinds.values() for line in k if "title=TFL" in line)
    assert annotated + len(group) == len(findings)
    assert not any(line.lstrip().startswith("::") for line in group)


def test_github_job_summary_has_every_finding_escaped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    summary = tmp_path / "summary.md"
    summary.write_text("# earlier step\n", encoding="utf-8")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    monkeypatch.chdir(tmp_path)
    hostile = "a | b <img src=x onerror=alert(1)> [x](https://evil.example) @octocat **bold**\nTFL000 | fake |"
    findings = [*_many(30, Severity.HIGH), _f("models/h", "TFL201", Severity.MEDIUM, "n", hostile)]
    suppressed = replace(_f("models/s", "TFL301", Severity.HIGH, "Rpc", "sends"),
                         suppression=Suppression("baseline", "baseline", "accepted | risk", "base.json"))
    result = RunResult("0.1.0", tuple(findings), (), RULES, suppressed=(suppressed,))
    out = io.StringIO()
    GithubReporter(Settings(sarif_root=tmp_path)).render(result, out)
    assert len(_annotations(out.getvalue())["error"]) == 10
    text = summary.read_text(encoding="utf-8")
    assert text.startswith("# earlier step\n## tfmodel-lint\n")  # appended
    rows = [line for line in text.splitlines() if line.startswith("| ") and not line.startswith("| Severity")]
    assert len(rows) == len(findings) + 1
    for row in rows:  # cells split only on unescaped pipes
        cells = re.split(r"(?<!\\)\|", row)
        assert len(cells) in (7, 8), row
    for row in rows:  # no unescaped Markdown or HTML: no image, link, mention or emphasis
        assert not re.search(r"(?<!\\)[<>\[\]()@*_`!]", row), row
    (row,) = [r for r in rows if "TFL000" in r]
    assert "\\<img src\\=x onerror\\=alert\\(1\\)\\>" in row and "\\\\nTFL000 \\| fake \\|" in row
    assert "### Suppressed findings" in text and "baseline in base\\.json\\: accepted \\| risk" in text


def test_github_job_summary_stays_within_githubs_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    from tfmodel_lint.reporters.github import SUMMARY_BYTES

    summary = tmp_path / "summary.md"
    summary.write_text("x" * (SUMMARY_BYTES - 50_000), encoding="utf-8")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    monkeypatch.chdir(tmp_path)
    result = RunResult("0.1.0", tuple(_many(2000, Severity.MEDIUM, message="m" * 100)), (), RULES)
    GithubReporter(Settings(sarif_root=tmp_path)).render(result, io.StringIO())
    size = summary.stat().st_size
    assert SUMMARY_BYTES - 50_000 < size <= SUMMARY_BYTES
    text = summary.read_text(encoding="utf-8")
    shown = sum(1 for line in text.splitlines() if line.startswith("| medium |"))
    assert 0 < shown < 2000 and f"{2000 - shown} more rows not shown" in text
    # a summary that is already full is left alone, and the run says so
    summary.write_text("x" * SUMMARY_BYTES, encoding="utf-8")
    GithubReporter(Settings(sarif_root=tmp_path)).render(result, io.StringIO())
    assert summary.stat().st_size == SUMMARY_BYTES
    assert "cannot append to the job summary" in capsys.readouterr().err


def test_cli_github_writes_the_summary(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    monkeypatch.chdir(EXAMPLES)
    code, out, _ = run_cli([".", "--format", "github", "--sarif-root", "."], capsys)
    assert code == 1 and len(out.splitlines()) == 2
    text = summary.read_text(encoding="utf-8")
    assert "2 findings in 2 artifacts \\(2 high\\)" in text
    assert sum(line.startswith("| high | TFL20") for line in text.splitlines()) == 2


def test_json_suppressed_findings_and_undecodable_names_validate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    import os

    import jsonschema

    schema = json.loads((ROOT / "docs" / "report.schema.json").read_text(encoding="utf-8"))
    validator = jsonschema.Draft202012Validator(schema)
    repo = tmp_path / "repo"
    for name in ("a", "b", "c"):
        shutil.copytree(EXAMPLES / "malicious_reader", repo / "models" / name)
    os.rename(repo / "models" / "c", os.path.join(os.fsencode(repo / "models"), b"c\xff"))
    (repo / "pyproject.toml").write_text(
        '[tool.tfmodel-lint.per-file-ignores]\n"models/a" = ["TFL202"]\n\n'
        '[[tool.tfmodel-lint.ignores]]\npath = "models/b"\ncodes = ["TFL2"]\nreason = "reviewed: ML-7"\n',
        encoding="utf-8",
    )
    monkeypatch.chdir(repo)
    code, out, _ = run_cli(["models", "--format", "json"], capsys)
    assert code == 1
    doc = json.loads(out)
    errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.path))
    assert not errors, [f"{list(e.path)}: {e.message}" for e in errors[:5]]
    sources = {(f["artifact"], f["code"]): f["suppression"] for f in doc["suppressed"]}
    config = str(repo / "pyproject.toml")
    assert sources == {
        ("models/a", "TFL202"): {"kind": "config", "source": "per-file-ignores['models/a']", "file": config,
                                 "justification": "per-file-ignores 'models/a' = ['TFL202'] (no reason given)"},
        ("models/b", "TFL201"): {"kind": "config", "source": "ignores[0]", "file": config,
                                 "justification": "reviewed: ML-7"},
        ("models/b", "TFL202"): {"kind": "config", "source": "ignores[0]", "file": config,
                                 "justification": "reviewed: ML-7"},
    }
    assert doc["summary"]["suppressed"] == 3
    assert doc["summary"]["suppressed_by"] == {f"ignores[0] in {config}": 2,
                                               f"per-file-ignores['models/a'] in {config}": 1}
    assert all("suppression" not in f for f in doc["findings"])  # active findings: the contract as it was
    assert {f["artifact"] for f in doc["findings"]} == {"models/a", "models/c\\xff"}
    # the schema is not vacuous: a suppressed finding must say what suppressed it
    broken = json.loads(out)
    del broken["suppressed"][0]["suppression"]
    assert not validator.is_valid(broken)
    broken = json.loads(out)
    broken["suppressed"][0]["suppression"]["kind"] = "magic"
    assert not validator.is_valid(broken)
    # and the text summary says the same
    _, text, _ = run_cli(["models"], capsys)
    assert text.splitlines()[-3:] == [
        f"suppressed: 2 (2 high) by ignores[0] in {config}",
        f"suppressed: 1 (1 high) by per-file-ignores['models/a'] in {config}",
        "3 findings in 3 artifacts (3 high); 3 suppressed",
    ]
