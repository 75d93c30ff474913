"""Function.node: the compact hash index of large graphs answers like the dict index."""

from __future__ import annotations

import pytest

from tfmodel_lint import ir
from tfmodel_lint.proto import tfmodel_lint_pb2 as pb


def _graph(names: list[str]) -> list[pb.NodeDef]:
    return [pb.NodeDef(name=n, op=f"Op{i}") for i, n in enumerate(names)]


@pytest.mark.parametrize("size", [0, 1, 2, 3, 100, 5000])
def test_hash_index_matches_dict(monkeypatch: pytest.MonkeyPatch, size: int) -> None:
    names = [f"layer_{i % max(1, size // 3)}/n{i}" for i in range(size)]
    names += names[: size // 4]  # duplicated names: the last one wins, as in a dict
    nodes = _graph(names)
    expected = {nd.name: nd.op for nd in nodes}
    monkeypatch.setattr(ir, "DICT_INDEX_MAX", -1)
    func = ir.Function("g", "graph", nodes)
    for name, op in expected.items():
        nd = func.node(name)
        assert nd is not None and nd.op == op
    for missing in ("", "nope", "layer_0", "n1", *(n + "x" for n in names[:50])):
        assert func.node(missing) is None
    assert isinstance(func._index, ir._HashIndex)


def test_hash_index_colliding_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Names whose hashes collide are told apart by comparing names."""
    monkeypatch.setattr(ir, "DICT_INDEX_MAX", -1)
    monkeypatch.setattr(ir, "hash", lambda _s: 5, raising=False)  # every name in one probe run
    func = ir.Function("g", "graph", _graph(["a", "b", "c", "a"]))
    a, b = func.node("a"), func.node("b")
    assert a is not None and a.op == "Op3"
    assert b is not None and b.op == "Op1"
    assert func.node("zz") is None
