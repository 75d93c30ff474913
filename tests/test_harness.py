"""The one-line harness (``tests/graphs.py``) on the capability rules: each graph, each
expected multiset of codes."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.graphs import Graph, assert_codes, lint_graph
from tfmodel_lint.findings import Severity


def test_read_of_a_sensitive_file() -> None:
    g = Graph()
    g.const("path", b"/etc/passwd")
    g.node("read", "ReadFile", "path")
    result = assert_codes(g, "TFL201")
    assert result.findings[0].severity == Severity.HIGH


def test_write_of_an_ssh_key_through_a_join() -> None:
    g = Graph()
    g.const("home", b"/root/")
    g.const("leaf", b".ssh/authorized_keys")
    g.node("join", "StringJoin", "home", "leaf", separator=b"")
    g.const("key", b"ssh-rsa AAAA attacker")
    g.node("write", "WriteFile", "join", "key")
    result = assert_codes(g, "TFL202")
    assert result.findings[0].severity >= Severity.HIGH


def test_python_callback_and_listing() -> None:
    g = Graph()
    g.node("cb", "PyFunc", token=b"pyfunc_0")
    g.const("pattern", b"/home/*")
    g.node("ls", "MatchingFiles", "pattern")
    assert_codes(g, "TFL101", "TFL203")


def test_benign_arithmetic_is_clean() -> None:
    g = Graph()
    g.ints("a", 1)
    g.ints("b", 2)
    g.node("sum", "AddV2", "a", "b")
    assert_codes(g)


def test_a_savedmodel_built_by_the_harness(tmp_path: Path) -> None:
    from tests.helpers import lint

    g = Graph()
    g.const("path", b"/proc/self/environ")
    g.node("read", "ReadFile", "path")
    result = lint(g.savedmodel(tmp_path / "sm"))
    assert [f.code for f in result.findings] == ["TFL201"]


def test_a_renamed_graph_is_still_a_graph() -> None:
    g = Graph()
    g.const("path", b"/etc/shadow")
    g.node("read", "ReadFile", "path")
    assert [f.code for f in lint_graph(g, name="weights.bin").findings] == ["TFL201"]


def test_assert_codes_reports_what_it_got() -> None:
    g = Graph()
    g.const("path", b"/etc/passwd")
    g.node("read", "ReadFile", "path")
    with pytest.raises(AssertionError, match="TFL201"):
        assert_codes(g, "TFL202", name="model.pb")
