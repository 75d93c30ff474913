"""The streamed parse of large binary SavedModels and GraphDefs gives the message the
whole-bytes parse gives, or declines (and the whole-bytes path runs as before)."""

from __future__ import annotations

import mmap
import random
from pathlib import Path

import pytest
from google.protobuf.message import DecodeError

from tests.helpers import lint
from tfmodel_lint.ir import RawNodes
from tfmodel_lint.limits import Limits
from tfmodel_lint.loaders import tf_graph
from tfmodel_lint.proto import tfmodel_lint_pb2 as pb


def _node(nodes: object, name: str, op: str, inputs: tuple[str, ...] = (), s: bytes = b"") -> pb.NodeDef:
    nd: pb.NodeDef = nodes.add()  # type: ignore[attr-defined]
    nd.name, nd.op = name, op
    nd.input.extend(inputs)
    if s:
        nd.attr["value"].tensor.string_val.append(s)
        nd.attr["dtype"].type = 7
    return nd


def _graphdef(n: int = 300) -> pb.GraphDef:
    gd = pb.GraphDef()
    _node(gd.node, "path", "Const", s=b"/etc/passwd")
    _node(gd.node, "read", "ReadFile", ("path",))
    for i in range(n):
        _node(gd.node, f"n{i}" + "x" * (i % 200), "Identity", (f"n{i - 1}" if i else "read",))
    fd = gd.library.function.add()
    fd.signature.name = "f"
    _node(fd.node_def, "c", "Const", s=b"/root/.ssh/id_rsa")
    _node(fd.node_def, "r", "ReadFile", ("c:output:0",))
    gd.versions.producer = 1
    return gd


def _savedmodel() -> pb.SavedModel:
    sm = pb.SavedModel(saved_model_schema_version=1)
    mg = sm.meta_graphs.add()
    mg.meta_info_def.tags.append("serve")
    mg.graph_def.CopyFrom(_graphdef())
    mg.signature_def["serving_default"].outputs["out"].name = "read:0"
    mg.graph_def.library.function.add().signature.name = "g"
    return sm


@pytest.fixture
def streamed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tf_graph, "STREAM_MIN_BYTES", 1)
    monkeypatch.setattr(tf_graph, "_STREAM_PIECE", 50)


@pytest.mark.usefixtures("streamed")
@pytest.mark.parametrize("kind", ["graphdef", "savedmodel"])
def test_streamed_equals_whole(tmp_path: Path, kind: str) -> None:
    msg = _graphdef() if kind == "graphdef" else _savedmodel()
    data = msg.SerializeToString()
    path = tmp_path / "model.pb"
    path.write_bytes(data)
    got = tf_graph.models_from_path(path, path.name, "x", Limits())
    assert got is not None and got[0] == kind
    with path.open("rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as buf:
        assert tf_graph.stream_parse(type(msg), buf) == type(msg).FromString(data)
        lazy = tf_graph.stream_parse(getattr(pb, f"Lazy{type(msg).__name__}"), buf)
        assert type(msg).FromString(lazy.SerializeToString()) == type(msg).FromString(data)


def test_streamed_lint_same_findings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "g.pb").write_bytes(_graphdef().SerializeToString())
    (tmp_path / "sm").mkdir()
    (tmp_path / "sm" / "saved_model.pb").write_bytes(_savedmodel().SerializeToString())
    whole = lint(tmp_path / "g.pb", tmp_path / "sm")
    monkeypatch.setattr(tf_graph, "STREAM_MIN_BYTES", 1)
    calls: list[bool] = []
    real = tf_graph.models_from_path

    def spy(*args: object) -> object:
        out = real(*args)  # type: ignore[arg-type]
        calls.append(out is not None)
        return out

    monkeypatch.setattr("tfmodel_lint.loaders.tf_graph.models_from_path", spy)
    streamed = lint(tmp_path / "g.pb", tmp_path / "sm")
    assert calls == [True, True]
    assert [f.as_dict() for f in streamed.findings] == [f.as_dict() for f in whole.findings]
    assert whole.findings


@pytest.mark.usefixtures("streamed")
def test_damaged_input_declines_or_matches(tmp_path: Path) -> None:
    """Truncated or corrupted bytes: the streamed parse declines, or (when the damage
    still parses) gives exactly what the whole-bytes parse gives."""
    rng = random.Random(7)
    for cls, data in ((pb.GraphDef, _graphdef(40).SerializeToString()),
                      (pb.SavedModel, _savedmodel().SerializeToString())):
        for _ in range(150):
            damaged = bytearray(data)
            if rng.random() < 0.5:
                del damaged[rng.randrange(1, len(damaged)):]
            else:
                for _ in range(rng.randint(1, 4)):
                    damaged[rng.randrange(len(damaged))] = rng.randrange(256)
            path = tmp_path / "d.pb"
            path.write_bytes(bytes(damaged))
            try:
                whole = cls.FromString(bytes(damaged))
            except DecodeError:
                whole = None
            with path.open("rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as buf:
                try:
                    got = tf_graph.stream_parse(cls, buf)
                except tf_graph._Decline:
                    continue
            assert whole is not None and got == whole


def test_lazy_messages_mirror_full_ones() -> None:
    """Each Lazy* message has its counterpart's fields (names, numbers, cardinality);
    only node lists are bytes and containers are the Lazy ones."""
    lazy_fields = {"node": "NodeDef", "node_def": "NodeDef"}
    for name in ("FunctionDef", "FunctionDefLibrary", "GraphDef", "MetaGraphDef", "SavedModel"):
        full, lazy = getattr(pb, name).DESCRIPTOR, getattr(pb, f"Lazy{name}").DESCRIPTOR
        assert [(f.name, f.number, f.is_repeated) for f in full.fields] == [
            (f.name, f.number, f.is_repeated) for f in lazy.fields]
        for f, g in zip(full.fields, lazy.fields, strict=True):
            if f.name in lazy_fields:
                assert g.type == g.TYPE_BYTES and f.message_type.name == lazy_fields[f.name]
                continue
            assert f.type == g.type
            if f.message_type is None:
                continue
            if f.message_type.GetOptions().map_entry:
                fv, gv = f.message_type.fields_by_name["value"], g.message_type.fields_by_name["value"]
                assert fv.type == gv.type
                names = [v.message_type.full_name if v.message_type else None for v in (fv, gv)]
                assert names[0] == names[1]
            elif g.message_type.name.startswith("Lazy"):
                assert g.message_type.name == f"Lazy{f.message_type.name}"
            else:
                assert g.message_type.full_name == f.message_type.full_name


@pytest.mark.usefixtures("streamed")
def test_large_graph_nodes_stay_serialized(tmp_path: Path) -> None:
    gd = _graphdef()
    path = tmp_path / "g.pb"
    path.write_bytes(gd.SerializeToString())
    got = tf_graph.models_from_path(path, path.name, "x", Limits())
    assert got is not None
    (model,) = got[1]
    assert model.graph is not None
    nodes = model.graph.node_defs
    assert isinstance(nodes, RawNodes) and isinstance(model.functions["f"].node_defs, RawNodes)
    assert len(nodes) == len(gd.node) and list(nodes) == list(gd.node)
    assert nodes[1] == gd.node[1] and nodes[-1] == gd.node[-1] and nodes[2:5] == list(gd.node[2:5])
    ops, hashes = nodes.scan()
    assert ops == [nd.op for nd in gd.node] and list(hashes) == [hash(nd.name) for nd in gd.node]
    read = model.graph.node("read")
    assert read is not None and read.op == "ReadFile"
    assert [nd.name for nd in model.graph.nodes_with_op("ReadFile".__eq__)] == ["read"]


@pytest.mark.usefixtures("streamed")
def test_malformed_node_goes_the_whole_bytes_way(tmp_path: Path) -> None:
    """A node that does not decode: the lazy parse takes the file (nodes are bytes),
    the node check sends it down the whole-bytes path, whose verdict stands."""
    gd = pb.LazyGraphDef.FromString(_graphdef().SerializeToString())
    gd.node.append(b"\x0a\x05ab")  # a name field cut short
    path = tmp_path / "g.pb"
    path.write_bytes(gd.SerializeToString())
    assert tf_graph.models_from_path(path, path.name, "x", Limits()) is None
    path.write_bytes(gd.SerializeToString())
    streamed = [f.as_dict() for f in lint(path).findings]
    tf_graph_min = tf_graph.STREAM_MIN_BYTES
    try:
        tf_graph.STREAM_MIN_BYTES = 1 << 40
        whole = [f.as_dict() for f in lint(path).findings]
    finally:
        tf_graph.STREAM_MIN_BYTES = tf_graph_min
    assert streamed == whole and whole


@pytest.mark.usefixtures("streamed")
def test_interruption_propagates(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An exception from outside the parse (the time budget's alarm) is not taken for a
    decline: it reaches the caller, and the mapping is closed or left to its views."""

    class Alarm(Exception):
        pass

    def ring(*_args: object) -> None:
        raise Alarm

    path = tmp_path / "g.pb"
    path.write_bytes(_graphdef().SerializeToString())
    monkeypatch.setattr(tf_graph._Stream, "merge", ring)
    with pytest.raises(Alarm):
        tf_graph.models_from_path(path, path.name, "x", Limits())
