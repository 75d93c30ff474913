"""Issue 16, the analysis parts: hostile graphs (tests/hostile_graphs.py, generated here)
that drove the interpreter, the name index or the reachability into exponential,
quadratic or unbounded work. Each case asserts the findings (the model's real
``WriteFile('/root/.ssh/authorized_keys', <ssh key>)`` is kept, critical; the hostile
part's own finding is right) and a tracemalloc peak, never a wall time.
"""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from tests import hostile_graphs as h
from tests.helpers import describe, lint
from tfmodel_lint.findings import Finding, RunResult, Severity

MiB = 1 << 20


def _lint_measured(tmp_path: Path, data: bytes, name: str = "m.pb") -> tuple[RunResult, int]:
    path = tmp_path / name
    path.write_bytes(data)
    tracemalloc.start()
    try:
        result = lint(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return result, peak


def _real_finding_kept(result: RunResult | Sequence[Finding]) -> None:
    findings = result.findings if isinstance(result, RunResult) else result
    writes = [f for f in findings if f.code == "TFL202" and f.location.node == "real/WriteFile"]
    assert writes and writes[0].severity == Severity.CRITICAL, describe(findings)
    assert "ssh_key" in writes[0].evidence_dict.get("payload_kinds", ()), describe(writes)
    assert not [f for f in findings if f.code in ("TFL903", "TFL999")], describe(findings)


def _reads(result: RunResult) -> list[Finding]:
    return [f for f in result.findings if f.location.op == "ReadFile" and f.code in ("TFL201", "TFL501")]


@pytest.mark.parametrize(("pattern", "subject", "expected"), [
    (b"(a|a)*c", b"a" * 4000, "a" * 4000),  # no 'c': unchanged
    (b"(a|aa)*c", b"a" * 4000, "a" * 4000),
    (b"a*a*a*a*a*b", b"a" * 4000, "a" * 4000),
    (b"(a?){25}a{25}", b"a" * 25, "/etc/passwd"),  # matches the whole subject
    (b"(a?){30}a{30}", b"a" * 30 + b"/", "/etc/passwd/"),
])
def test_regex_is_linear_time(tmp_path: Path, pattern: bytes, subject: bytes, expected: str) -> None:
    """Patterns that make a backtracking engine exponential or polynomial: RE2 matches in
    linear time, and the result is the one TensorFlow computes."""
    result, peak = _lint_measured(tmp_path, h.regex_graph(pattern, subject))
    _real_finding_kept(result)
    (read,) = _reads(result)
    assert list(read.evidence_dict["targets"]) == [expected], describe([read])
    assert "unsupported" not in read.message
    assert peak < 64 * MiB


def test_duplicate_node_names_are_linear(tmp_path: Path) -> None:
    """100,000 nodes all named ``x``: the last one wins, as in TensorFlow's import."""
    result, peak = _lint_measured(tmp_path, h.duplicate_names_graph(100_000))
    _real_finding_kept(result)
    (read,) = _reads(result)
    assert list(read.evidence_dict["targets"]) == ["/etc/passwd"] and read.severity == Severity.HIGH
    assert peak < 256 * MiB


def test_join_of_thousands_of_alternatives_is_bounded(tmp_path: Path) -> None:
    """StringJoin of 3,000 operands of two values each (2^3000 combinations): the
    riskiest partial strings are kept, building stops at its budget, and both are said."""
    result, peak = _lint_measured(tmp_path, h.wide_join_graph(3000))
    _real_finding_kept(result)
    (read,) = _reads(result)
    assert read.severity >= Severity.HIGH and "analysis limit:" in read.message, describe([read])
    assert any(t.startswith("/etc//etc/") for t in read.evidence_dict["targets"])
    assert peak < 64 * MiB


def test_shape_of_a_hundred_thousand_dimensions_is_cheap(tmp_path: Path) -> None:
    """A constant of 2^100000 elements (all the same string): no big-number product, and
    a complete candidate set (no limit said where nothing was cut)."""
    result, peak = _lint_measured(tmp_path, h.many_dims_graph(100_000))
    _real_finding_kept(result)
    (read,) = _reads(result)
    assert list(read.evidence_dict["targets"]) == ["/etc/passwd"] and "analysis limit" not in read.message
    assert peak < 64 * MiB


def test_thousands_of_signatures_over_one_chain(tmp_path: Path) -> None:
    """3,000 signatures fetching points of one 3,000-node chain: reachability walks the
    chain once (per signature it was 9 million steps and hundreds of MiB)."""
    result, peak = _lint_measured(tmp_path, h.signatures_over_a_chain(3000, 3000), "saved_model.pb")
    _real_finding_kept(result)
    (read,) = _reads(result)
    assert read.severity == Severity.HIGH
    assert len(read.location.reached_from) == 3000
    assert peak < 128 * MiB


def test_recursive_calls_keep_the_cache_bounded(tmp_path: Path) -> None:
    """Mutually recursive If/While carrying 64 strings of 4 KB from several call sites:
    the cache grew with every call site (about 24 MiB each on this graph, 912 MiB with
    40 sites; MemoryError in the field) and is now bounded and cleared per function."""
    result, peak = _lint_measured(tmp_path, h.recursive_calls_graph(call_sites=2))
    _real_finding_kept(result)
    reads = _reads(result)
    assert len(reads) == 3 and all(f.severity >= Severity.HIGH for f in reads), describe(reads)
    assert all("analysis limit:" in f.message for f in reads), describe(reads)
    assert peak < 40 * MiB


CASES: list[tuple[str, Callable[[], bytes]]] = [
    ("regex", lambda: h.regex_graph(b"(a|a)*c", b"a" * 4000)),
    ("names", lambda: h.duplicate_names_graph(2000)),
    ("join", lambda: h.wide_join_graph(200)),
    ("dims", lambda: h.many_dims_graph(1000)),
    ("recursion", lambda: h.recursive_calls_graph(call_sites=1, strings=4, size=64)),
]


@pytest.mark.parametrize(("name", "make"), CASES, ids=[c[0] for c in CASES])
def test_each_case_next_to_a_valid_model(tmp_path: Path, name: str, make: Callable[[], bytes]) -> None:
    """In one run with another model, each case leaves the other model's findings alone."""
    from tests.test_hostile import GOOD

    path = tmp_path / f"{name}.pb"
    path.write_bytes(make())
    result = lint(path, GOOD)
    assert any(f.code == "TFL201" and f.artifact.endswith("malicious_reader") for f in result.findings)
    _real_finding_kept([f for f in result.findings if f.artifact == str(path)])
