"""Models built by real TensorFlow (tests/fixtures/build_tf_fixtures.py), linted end to end.

Every malicious fixture must be reported with its categories, at least its minimum
severity, and the resolved target in the evidence; every benign one must produce no
finding at or above ``low``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import load_manifest
from tests.helpers import at_least, describe, lint
from tfmodel_lint.findings import Finding, Severity

pytestmark = pytest.mark.tf

# The manifest speaks of directory reads as "directory_read".
CATEGORY_ALIASES = {"directory_read": "dir_read"}


def _evidence_text(f: Finding) -> str:
    return repr(f.evidence_dict) + f.message


def _check_malicious(name: str, entry: dict[str, object], fixtures: Path) -> list[str]:
    result = lint(fixtures / str(entry["path"]))
    problems = []
    floor = Severity.parse(str(entry["min_severity"]))
    for listed in entry["categories"]:  # type: ignore[attr-defined]
        cat = CATEGORY_ALIASES.get(listed, listed)
        hits = [f for f in result.findings if f.category == cat and f.severity >= floor]
        if not hits:
            problems.append(f"{name}: no {cat} finding >= {floor}\n{describe(result.findings)}")
            continue
    for target in entry.get("targets", []):  # type: ignore[attr-defined]
        if not any(str(target) in _evidence_text(f) for f in result.findings):
            problems.append(f"{name}: target {target!r} not resolved\n{describe(result.findings)}")
    return problems


def test_malicious_fixtures_are_reported(tf_fixtures: Path) -> None:
    manifest = load_manifest(tf_fixtures)
    problems: list[str] = []
    checked = 0
    for name, entry in sorted(manifest.items()):
        if entry["benign"]:
            continue
        checked += 1
        problems.extend(_check_malicious(name, entry, tf_fixtures))
    assert checked >= 60
    assert not problems, "\n\n".join(problems)


def test_benign_fixtures_are_silent(tf_fixtures: Path) -> None:
    manifest = load_manifest(tf_fixtures)
    problems = []
    benign = [n for n, e in manifest.items() if e["benign"]]
    assert len(benign) >= 8
    for name in sorted(benign):
        result = lint(tf_fixtures / str(manifest[name]["path"]))
        assert all(a.status.value == "ok" for a in result.artifacts), (name, result.artifacts)
        loud = at_least(result.findings, Severity.LOW)
        if loud:
            problems.append(f"{name}:\n{describe(loud)}")
    assert not problems, "\n\n".join(problems)


def test_whole_fixture_tree_in_one_run(tf_fixtures: Path) -> None:
    manifest = load_manifest(tf_fixtures)
    result = lint(tf_fixtures)
    assert len(result.artifacts) == len(manifest)
    assert all(a.status.value == "ok" for a in result.artifacts)


def test_parallel_run_matches_serial(tf_fixtures: Path) -> None:
    serial = lint(tf_fixtures)
    parallel = lint(tf_fixtures, jobs=2)
    assert [f.fingerprint for f in parallel.findings] == [f.fingerprint for f in serial.findings]
    assert parallel.artifacts == serial.artifacts


def test_reachability_and_load_time(tf_fixtures: Path) -> None:
    manifest = load_manifest(tf_fixtures)
    result = lint(tf_fixtures / str(manifest["readfile_nested"]["path"]))
    read = [f for f in result.findings if f.code == "TFL201"]
    assert read and all("signature:serving_default" in f.location.reached_from for f in read)
    assert read[0].evidence_dict["runs_at"] == "inference"
