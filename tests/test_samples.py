"""The TensorAbuse authors' own attack models meet expected.json (read from ../shared)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import SAMPLES
from tests.helpers import describe, lint
from tfmodel_lint.findings import Severity

EXPECTED = json.loads((SAMPLES / "expected.json").read_text()) if (SAMPLES / "expected.json").is_file() else {}


@pytest.mark.parametrize("name", sorted(EXPECTED) or ["<absent>"])
def test_sample_meets_expected(name: str, samples_dir: Path) -> None:
    expected = EXPECTED[name]
    result = lint(samples_dir / name)
    assert [a.status.value for a in result.artifacts] == ["ok"], result.artifacts
    floor = Severity.parse(expected["min_severity"])
    for category in expected["categories"]:
        hits = [f for f in result.findings if f.category == category and f.severity >= floor]
        assert hits, f"{name}: no {category} finding at >= {floor}:\n{describe(result.findings)}"


def test_all_samples_in_one_run_are_deterministic(samples_dir: Path) -> None:
    first = lint(samples_dir)
    second = lint(samples_dir)
    assert [f.fingerprint for f in first.findings] == [f.fingerprint for f in second.findings]
    assert len(first.artifacts) == len(EXPECTED)
    assert len({f.fingerprint for f in first.findings}) == len(first.findings)
