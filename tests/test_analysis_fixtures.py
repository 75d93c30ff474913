"""Issue 13's analysis cases, end to end on models built by real TensorFlow 2.21
(tests/fixtures/build_analysis_fixtures.py): value sets larger than the interpreter
keeps, loops, lookup tables, string splits and Unicode ops, asset contents, TF1 queues,
remote file systems, and the false alarms of real exports (Dataset.cache(), TF1
builder assets, checkpoint signatures, an inert DebugIdentityV2).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.conftest import build_cached
from tests.helpers import at_least, describe, lint
from tfmodel_lint.findings import Finding, RunResult, Severity

pytestmark = pytest.mark.tf

NAMES = [
    "asset_content_path", "benign_dataset_cache_memory", "benign_tf1_builder_assets", "bytes_split_reverse",
    "checkpoint_signatures_on_device", "debugidentityv2_grpc_inert", "loop_path_counted", "loop_path_input_bound",
    "queue_padding_enqueue", "queue_string_input_producer", "remote_gcs_write", "remote_s3_read", "split_join",
    "table_lookup_path", "table_tf1_initialize", "unicode_reverse", "unicode_transcode", "valueset_100",
    "valueset_5000", "valueset_combinations",
]
_RESULTS: dict[str, RunResult] = {}


@pytest.fixture(scope="module")
def fixtures() -> Path:
    return build_cached("build_analysis_fixtures.py")


def _manifest(root: Path) -> dict[str, Any]:
    import json

    models: dict[str, Any] = json.loads((root / "manifest.json").read_text(encoding="utf-8"))["models"]
    return models


def _result(root: Path, name: str) -> RunResult:
    if name not in _RESULTS:
        _RESULTS[name] = lint(root / _manifest(root)[name]["path"])
    return _RESULTS[name]


def _evidence(f: Finding, key: str) -> list[Any]:
    value = f.evidence_dict.get(key)
    return list(value) if isinstance(value, (list, tuple)) else []


def test_manifest_lists_the_cases(fixtures: Path) -> None:
    assert sorted(_manifest(fixtures)) == NAMES


@pytest.mark.parametrize("name", NAMES)
def test_case(fixtures: Path, name: str) -> None:
    entry = _manifest(fixtures)[name]
    result = _result(fixtures, name)
    shown = f"{name} ({entry['note']}):\n{describe(result.findings)}"
    assert all(a.status.value == "ok" for a in result.artifacts), result.artifacts
    findings = result.findings
    if entry["min_severity"]:
        floor = Severity.parse(entry["min_severity"])
        for category in entry["categories"]:
            assert any(f.category == category and f.severity >= floor for f in findings), \
                f"no {category} finding >= {floor}\n{shown}"
    targets = {t for f in findings for t in _evidence(f, "targets")}
    assert set(entry["targets"]) <= targets, f"targets {sorted(set(entry['targets']) - targets)} missing\n{shown}"
    assert not set(entry["not_targets"]) & targets, f"decoys reported as targets\n{shown}"
    hosts = {h for f in findings for h in _evidence(f, "hosts")}
    assert set(entry.get("hosts", [])) <= hosts, f"hosts missing (got {sorted(hosts)})\n{shown}"
    codes = {f.code for f in findings}
    assert set(entry["codes"]) <= codes, shown
    assert not set(entry["absent_codes"]) & codes, shown
    if entry["max_severity"]:
        ceiling = Severity.parse(entry["max_severity"])
        loud = [f for f in findings if f.severity > ceiling]
        assert not loud, f"findings above {ceiling}\n{shown}"
    if entry["limit"]:
        limited = [f for f in findings if "analysis limit:" in f.message and f.severity >= Severity.HIGH]
        assert limited, f"no high finding naming an analysis limit\n{shown}"
    if entry["benign"]:
        assert not at_least(findings, Severity.MEDIUM), shown


def test_value_set_cut_keeps_the_riskiest_and_says_so(fixtures: Path) -> None:
    """80 harmless paths and '/etc/passwd' (element 81 of 100): the cut keeps the
    sensitive one, the finding is high and names the limit."""
    (read,) = [f for f in _result(fixtures, "valueset_100").findings if f.code == "TFL201"]
    assert read.severity == Severity.HIGH
    assert "/etc/passwd" in _evidence(read, "targets")
    assert len(_evidence(read, "targets")) == 64
    assert "more than 64 candidate values" in read.message
    assert any("more than 64 candidate values" in text for text in _evidence(read, "limits"))
    assert read.message.index("'/etc/passwd'") < read.message.index("'./data/part-000.txt'")  # shown first


def test_counted_loop_is_executed_exactly(fixtures: Path) -> None:
    (read,) = [f for f in _result(fixtures, "loop_path_counted").findings if f.code == "TFL201"]
    assert _evidence(read, "targets") == ["/etc/passwd"]
    assert "analysis limit" not in read.message


def test_input_bound_loop_is_not_shown_as_resolved(fixtures: Path) -> None:
    (read,) = [f for f in _result(fixtures, "loop_path_input_bound").findings if f.code == "TFL201"]
    assert "While loop, not settled" in read.message
    assert read.severity >= Severity.HIGH
    assert {"etc/passwd", "../etc/passwd", "../../etc/passwd"} <= set(_evidence(read, "targets"))


def test_checkpoint_signature_input_names_are_in_the_evidence(fixtures: Path) -> None:
    findings = [f for f in _result(fixtures, "checkpoint_signatures_on_device").findings if f.code == "TFL503"]
    assert {f.location.op for f in findings} == {"Save", "Restore"}
    assert all(_evidence(f, "signature_inputs") == ["checkpoint_path"] for f in findings)
    assert all(f.severity == Severity.MEDIUM for f in findings)


def test_inert_debug_identity_is_low_and_says_why(fixtures: Path) -> None:
    (finding,) = _result(fixtures, "debugidentityv2_grpc_inert").findings
    assert finding.code == "TFL301" and finding.severity == Severity.LOW
    assert "inert" in finding.message and "file://" in finding.message


def test_remote_write_is_one_exfiltration_chain(fixtures: Path) -> None:
    chains = [f for f in _result(fixtures, "remote_gcs_write").findings if f.code == "TFL510"]
    assert len(chains) == 1 and chains[0].category == "network_send", describe(chains)
