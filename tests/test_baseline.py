"""Baselines: create/update/--baseline on the command line, count-aware matching,
byte-stable files, and hypothesis properties of the baseline algebra."""

from __future__ import annotations

import json
import os
import shutil
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.helpers import run_cli
from tfmodel_lint.baseline import (
    FORMAT_VERSION,
    BaselineEntry,
    BaselineError,
    apply_baseline,
    entries_for,
    known_counts,
    parse_baseline,
    render_baseline,
    render_entries,
)
from tfmodel_lint.findings import Finding, Issue, Location, Severity

ROOT = Path(__file__).resolve().parent.parent
MALICIOUS = ROOT / "examples" / "models" / "malicious_reader"
BENIGN = ROOT / "examples" / "models" / "benign_classifier"


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "repo"
    (root / ".git").mkdir(parents=True)
    shutil.copytree(MALICIOUS, root / "models" / "evil")
    shutil.copytree(BENIGN, root / "models" / "good")
    monkeypatch.chdir(root)
    return root


def json_codes(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, list[tuple[str, str]]]:
    code, out, err = run_cli([*argv, "--format", "json"], capsys)
    assert code in (0, 1), err
    return code, sorted((f["artifact"], f["code"]) for f in json.loads(out)["findings"])


# -- command line ------------------------------------------------------------------------

def test_create_then_only_new_findings_fail(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(["baseline", "create", "baseline.json", "models"], capsys)
    assert code == 0 and "wrote 2 findings to baseline.json" in err
    assert json_codes(["models", "--baseline", "baseline.json"], capsys) == (0, [])
    shutil.copytree(MALICIOUS, repo / "models" / "evil2")  # a new malicious model
    code, found = json_codes(["models", "--baseline", "baseline.json"], capsys)
    assert (code, found) == (1, [("models/evil2", "TFL201"), ("models/evil2", "TFL202")])
    code, out, _ = run_cli(["models", "--baseline", "baseline.json"], capsys)
    assert out.splitlines()[-1] == "2 findings in 3 artifacts (2 high); 2 suppressed"


def test_create_refuses_to_overwrite_update_needs_a_file(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(["baseline", "update", "baseline.json", "models"], capsys)[0] == 2
    assert run_cli(["baseline", "create", "baseline.json", "models"], capsys)[0] == 0
    code, _, err = run_cli(["baseline", "create", "baseline.json", "models"], capsys)
    assert code == 2 and "use 'baseline update'" in err
    assert run_cli(["baseline", "create", "other.json"], capsys)[0] == 2  # PATHS are required


def test_file_is_byte_stable_sorted_versioned(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    shutil.copytree(MALICIOUS, repo / "models" / "a_evil")
    run_cli(["baseline", "create", "one.json", "models/evil", "models/a_evil", "models/good"], capsys)
    run_cli(["baseline", "create", "two.json", "models/good", "models/a_evil", "models/evil"], capsys)
    one = (repo / "one.json").read_bytes()
    assert one == (repo / "two.json").read_bytes()
    assert one.endswith(b"}\n") and b"\r" not in one
    doc = json.loads(one)
    assert doc["version"] == FORMAT_VERSION and doc["tool"] == "tfmodel-lint"
    assert set(doc) == {"findings", "tool", "version"}  # no timestamps, no config
    keys = [(e["artifact"], e["code"], e["location"], e["fingerprint"]) for e in doc["findings"]]
    assert keys == sorted(keys) and len(keys) == 4
    assert all(set(e) == {"artifact", "code", "count", "fingerprint", "location"} for e in doc["findings"])
    assert json.dumps(doc, indent=1, sort_keys=True) + "\n" == one.decode()
    # update with nothing changed: same bytes
    assert run_cli(["baseline", "update", "one.json", "models"], capsys)[0] == 0
    assert (repo / "one.json").read_bytes() == one


def test_update_keeps_reasons_and_drops_fixed_findings(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    shutil.copytree(MALICIOUS, repo / "models" / "evil2")
    run_cli(["baseline", "create", "baseline.json", "models"], capsys)
    doc = json.loads((repo / "baseline.json").read_text())
    for entry in doc["findings"]:
        if entry["artifact"] == "models/evil" and entry["code"] == "TFL201":
            entry["reason"] = "reads a file shipped with the model; reviewed"
    (repo / "baseline.json").write_text(json.dumps(doc))
    shutil.rmtree(repo / "models" / "evil2")  # fixed
    code, _, err = run_cli(["baseline", "update", "baseline.json", "models"], capsys)
    assert code == 0 and "wrote 2 findings (was 4)" in err
    entries = parse_baseline((repo / "baseline.json").read_text())
    assert [(e.artifact, e.code, e.reason) for e in entries] == [
        ("models/evil", "TFL201", "reads a file shipped with the model; reviewed"),
        ("models/evil", "TFL202", None),
    ]


def test_check_never_writes_the_baseline(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run_cli(["baseline", "create", "baseline.json", "models/good"], capsys)
    before = (repo / "baseline.json").read_bytes()
    stamp = os.stat(repo / "baseline.json").st_mtime_ns
    assert run_cli(["models", "--baseline", "baseline.json"], capsys)[0] == 1
    assert (repo / "baseline.json").read_bytes() == before
    assert os.stat(repo / "baseline.json").st_mtime_ns == stamp


def test_stale_entries_reported_with_report_unused_ignores(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run_cli(["baseline", "create", "baseline.json", "models"], capsys)
    shutil.rmtree(repo / "models" / "evil" / "variables")
    (repo / "models" / "evil" / "saved_model.pb").write_bytes(
        (repo / "models" / "good" / "saved_model.pb").read_bytes())  # the model was fixed
    _, out, _ = run_cli(["models", "--baseline", "baseline.json", "--report-unused-ignores"], capsys)
    assert "note: 2 baseline entries in baseline.json matched no finding (run 'tfmodel-lint baseline update')" in out
    _, out, _ = run_cli(["models/good", "--baseline", "baseline.json", "--report-unused-ignores"], capsys)
    assert "baseline" not in out  # entries of models not linted in this run are not stale


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("not json", "cannot read baseline"),
        ('{"version": 99, "findings": []}', "format version 99 is not supported"),
        ('{"findings": {}}', "is not a tfmodel-lint baseline"),
        ('{"version": 1, "findings": [{"code": "X"}]}', "entry without a fingerprint"),
        ('{"version": 1, "findings": [{"fingerprint": "ab", "count": 0}]}', "count must be a positive integer"),
    ],
)
def test_invalid_baseline_is_a_usage_error(repo: Path, content: str, message: str,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    (repo / "baseline.json").write_text(content)
    code, out, err = run_cli(["models", "--baseline", "baseline.json"], capsys)
    assert code == 2 and message in err and out == ""
    assert run_cli(["baseline", "update", "baseline.json", "models"], capsys)[0] == 2


# -- matching ----------------------------------------------------------------------------

def make(code: str, artifact: str, node: str, key: str = "") -> Finding:
    issue = Issue(code, Severity.HIGH, "file_read", Location(function="f", node=node), f"{code} at {node}", (), key)
    return Finding.from_issue(issue, artifact)


def new_of(findings: list[Finding], baseline_text: str) -> list[Finding]:
    return apply_baseline(findings, known_counts(parse_baseline(baseline_text)))[0]


def test_count_aware_two_identical_new_are_not_absorbed_by_one_known() -> None:
    one = make("TFL201", "m", "ReadFile")
    twin = make("TFL201", "m", "ReadFile")
    assert one.fingerprint == twin.fingerprint
    base = render_baseline([one])
    assert new_of([one, twin], base) == [twin]
    assert new_of([one, twin], render_baseline([one, twin])) == []
    assert new_of([one, twin, make("TFL201", "m", "ReadFile")], render_baseline([one, twin])) != []
    assert json.loads(render_baseline([one, twin]))["findings"][0]["count"] == 2


def test_fingerprint_ignores_message_and_severity() -> None:
    a = make("TFL201", "m", "ReadFile")
    b = Finding.from_issue(Issue("TFL201", Severity.LOW, "file_read", Location(function="f", node="ReadFile"),
                                 "reworded", (("x", 1),), ""), "m")
    assert a.fingerprint == b.fingerprint
    assert make("TFL201", "other", "ReadFile").fingerprint != a.fingerprint


def test_render_entries_merges_duplicates_and_keeps_a_reason() -> None:
    e = BaselineEntry("m", "TFL201", "f/n", "fp", 1, None)
    text = render_entries([e, BaselineEntry("m", "TFL201", "f/n", "fp", 2, "why")])
    (entry,) = json.loads(text)["findings"]
    assert entry["count"] == 3 and entry["reason"] == "why"


def test_parse_errors() -> None:
    with pytest.raises(BaselineError, match="reason must be a string"):
        parse_baseline('{"version": 1, "findings": [{"fingerprint": "a", "reason": 3}]}')


# -- properties ----------------------------------------------------------------------------

finding_st = st.builds(
    make,
    code=st.sampled_from(["TFL201", "TFL202", "XMP101"]),
    artifact=st.sampled_from(["models/a", "models/b.h5", "c.zip!inner", "ünï/cödé"]),
    node=st.sampled_from(["ReadFile", "scope/WriteFile", ""]),
    key=st.sampled_from(["", "/etc/passwd", "k\x1fk"]),
)
findings_st = st.lists(finding_st, max_size=30)


@settings(max_examples=200, deadline=None, database=None)
@given(findings_st)
def test_nothing_new_against_own_baseline(findings: list[Finding]) -> None:
    assert new_of(findings, render_baseline(findings)) == []


@settings(max_examples=200, deadline=None, database=None)
@given(findings_st, findings_st)
def test_new_is_exactly_the_multiset_difference(known: list[Finding], added: list[Finding]) -> None:
    current = known + added
    new = new_of(current, render_baseline(known))
    assert Counter(f.fingerprint for f in new) == Counter(f.fingerprint for f in added)
    fresh, old = apply_baseline(current, known_counts(entries_for(known)))
    assert Counter(map(id, fresh + old)) == Counter(map(id, current))  # a partition


@settings(max_examples=200, deadline=None, database=None)
@given(findings_st, findings_st, findings_st)
def test_count_monotonicity(current: list[Finding], smaller: list[Finding], extra: list[Finding]) -> None:
    """A larger baseline never reports more; more findings never report fewer."""
    small, large = render_baseline(smaller), render_baseline(smaller + extra)
    assert len(new_of(current, large)) <= len(new_of(current, small))
    assert len(new_of(current + extra, small)) >= len(new_of(current, small))


@settings(max_examples=200, deadline=None, database=None)
@given(findings_st, st.randoms(use_true_random=False))
def test_byte_stable_round_trip(findings: list[Finding], rnd: object) -> None:
    text = render_baseline(findings)
    shuffled = list(findings)
    rnd.shuffle(shuffled)  # type: ignore[attr-defined]
    assert render_baseline(shuffled) == text
    assert render_entries(parse_baseline(text)) == text
    assert render_baseline(findings, parse_baseline(text)) == text
    assert text.isascii() and text.endswith("\n")


def test_running_from_a_subdirectory_changes_nothing(repo: Path, monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    """Fingerprints and baseline paths are relative to the repository root: a baseline
    made at the top is matched from a subdirectory, and the other way round."""
    import subprocess

    subprocess.run(["git", "init", "-q", str(repo)], check=True, capture_output=True)
    assert run_cli(["baseline", "create", "base.json", "models"], capsys)[0] == 0
    top = json.loads((repo / "base.json").read_text())["findings"]
    assert {e["artifact"] for e in top} == {"models/evil"}
    code, out, _ = run_cli(["models", "--baseline", "base.json", "--format", "json"], capsys)
    assert code == 0 and json.loads(out)["findings"] == []
    monkeypatch.chdir(repo / "models")
    code, out, _ = run_cli(["evil", "--baseline", "../base.json", "--format", "json"], capsys)
    data = json.loads(out)
    assert code == 0 and data["findings"] == [] and data["summary"]["suppressed"] == len(top)
    assert run_cli(["baseline", "create", "sub.json", "evil"], capsys)[0] == 0
    sub = json.loads((repo / "models" / "sub.json").read_text())["findings"]
    assert [(e["artifact"], e["fingerprint"]) for e in sub] == [(e["artifact"], e["fingerprint"]) for e in top]
