"""Issue 13, "never drop a candidate silently": every analysis bound the string
interpreter hits is said (an ``Unknown("limit", ...)`` on the value, "analysis limit:"
in the finding, at least high), every string-producing op of the pinned registry is
modelled or named in the reason, and the semantics of the new models (loops, tables,
queues, regex replace, remote file systems, checkpoint signatures) hold on small graphs.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers import describe, lint
from tfmodel_lint.analysis import targets as tg
from tfmodel_lint.analysis import values, valueset
from tfmodel_lint.analysis.values import Evaluator, Value, handled_ops
from tfmodel_lint.findings import Finding, Severity
from tfmodel_lint.limits import Limits
from tfmodel_lint.loaders.tf_graph import graphdef_model
from tfmodel_lint.proto import tfmodel_lint_pb2 as pb

ROOT = Path(__file__).resolve().parent
OPS_FILE = ROOT / "fixtures" / "tf_string_output_ops.json"


# -- graph building ----------------------------------------------------------------------


def const(g: pb.GraphDef, name: str, *items: bytes, vector: bool = True) -> None:
    nd = g.node.add(name=name, op="Const")
    t = nd.attr["value"].tensor
    t.dtype = 7
    t.string_val.extend(items)
    if vector:
        t.tensor_shape.dim.add(size=len(items))
    nd.attr["dtype"].type = 7


def int_const(g: pb.GraphDef, name: str, value: int) -> None:
    nd = g.node.add(name=name, op="Const")
    nd.attr["value"].tensor.dtype = 3
    nd.attr["value"].tensor.int_val.append(value)
    nd.attr["dtype"].type = 3


def node(g: pb.GraphDef, name: str, op: str, *inputs: str, **attrs: bytes | int | bool) -> pb.NodeDef:
    nd = g.node.add(name=name, op=op)
    nd.input.extend(inputs)
    for key, value in attrs.items():
        if isinstance(value, bytes):
            nd.attr[key].s = value
        elif isinstance(value, bool):
            nd.attr[key].b = value
        else:
            nd.attr[key].i = value
    return nd


def evaluate(g: pb.GraphDef, name: str) -> Value:
    model = graphdef_model(g, "t.pb", "graphdef", Limits())
    assert model.graph is not None
    return Evaluator(model).evaluate(model.graph.resolve_input(name))


def lint_graph(g: pb.GraphDef) -> list[Finding]:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "g.pb"
        path.write_bytes(g.SerializeToString())
        return list(lint(path).findings)


# -- no value set is cut without a limit marker ------------------------------------------


class _Program:
    """A random string program whose candidate set can exceed the interpreter's bounds:
    vectors of paths (one sensitive, at a random place) picked by an unknown index,
    choices (Select), joins and string additions of those."""

    def __init__(self, draw: st.DrawFn) -> None:
        self.g = pb.GraphDef()
        self.n = 0
        node(self.g, "idx", "Placeholder", dtype=3)
        node(self.g, "flag", "Placeholder", dtype=10)
        self.root = self.expr(draw, 2)
        node(self.g, "read", "ReadFile", self.root)

    def name(self) -> str:
        self.n += 1
        return f"n{self.n}"

    def expr(self, draw: st.DrawFn, depth: int) -> str:
        kind = draw(st.sampled_from(["pick", "pick", "const"] + (["join", "add", "select"] if depth else [])))
        out = self.name()
        if kind == "const":
            const(self.g, out, draw(st.sampled_from([b"./a", b"/etc/", b"passwd", b"x/"])), vector=False)
        elif kind == "pick":
            size = draw(st.integers(1, 150))
            items = [f"./d{self.n}/f{i}".encode() for i in range(size)]
            if draw(st.booleans()):
                items[draw(st.integers(0, size - 1))] = b"/etc/passwd"
            vec = self.name()
            const(self.g, vec, *items)
            self.ensure_axis()
            node(self.g, out, "GatherV2", vec, "idx", "axis0")
        elif kind == "select":
            node(self.g, out, "Select", "flag", self.expr(draw, depth - 1), self.expr(draw, depth - 1))
        elif kind == "join":
            node(self.g, out, "StringJoin", self.expr(draw, depth - 1), self.expr(draw, depth - 1),
                 separator=draw(st.sampled_from([b"", b"/"])))
        else:
            node(self.g, out, "AddV2", self.expr(draw, depth - 1), self.expr(draw, depth - 1)).attr["T"].type = 7
        return out

    def ensure_axis(self) -> None:
        if not any(nd.name == "axis0" for nd in self.g.node):
            int_const(self.g, "axis0", 0)


@st.composite
def programs(draw: st.DrawFn) -> pb.GraphDef:
    return _Program(draw).g


def _reference(g: pb.GraphDef, monkeypatch: pytest.MonkeyPatch) -> Value:
    """The value computed with bounds far above what the program needs."""
    with monkeypatch.context() as m:
        for name, value in (("MAX_ITEMS", 10**6), ("MAX_SCAN", 10**6), ("MAX_BUILD_BYTES", 1 << 40)):
            m.setattr(valueset, name, value)
        m.setattr(values, "MAX_WORK_BYTES", 1 << 40)
        return evaluate(g, _read_input(g))


def _read_input(g: pb.GraphDef) -> str:
    return next(nd.input[0] for nd in g.node if nd.name == "read")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(g=programs())
def test_no_value_set_is_cut_without_a_limit_marker(monkeypatch: pytest.MonkeyPatch, g: pb.GraphDef) -> None:
    reference = _reference(g, monkeypatch)
    if reference.limited or len(reference.items) > 50_000:
        return  # the reference itself was bounded: nothing to compare with
    bounded = evaluate(g, _read_input(g))
    lost = set(reference.items) - set(bounded.items)
    if lost:
        assert bounded.limited, f"{len(lost)} candidates cut without a limit: {sorted(lost)[:3]}"
    (finding,) = [f for f in lint_graph(g) if f.location.node == "read" and f.category == "file_read"]
    shown = set(finding.evidence_dict.get("targets", ()))
    missing = {values.render(i) for i in reference.items} - shown
    if missing:
        total = finding.evidence_dict.get("targets_total", 0)
        assert "analysis limit:" in finding.message or total > len(shown), describe([finding])
        assert finding.severity >= Severity.HIGH or total > len(shown), describe([finding])
    if b"/etc/passwd" in reference.items:
        assert finding.severity >= Severity.HIGH, describe([finding])


def test_set_cut_keeps_the_sensitive_candidate() -> None:
    g = pb.GraphDef()
    items = [f"./data/{i}".encode() for i in range(500)]
    items[420] = b"/root/.ssh/id_rsa"
    const(g, "v", *items)
    node(g, "idx", "Placeholder", dtype=3)
    int_const(g, "ax", 0)
    node(g, "pick", "GatherV2", "v", "idx", "ax")
    value = evaluate(g, "pick")
    assert value.limited and values.SET_CUT in value.unknowns
    assert b"/root/.ssh/id_rsa" in value.items and len(value.items) == values.MAX_ITEMS


@pytest.mark.parametrize("limit", ["call_sites", "reasons", "exact", "depth", "loop"])
def test_each_limit_is_said(limit: str) -> None:
    g = pb.GraphDef()
    if limit == "call_sites":
        f = g.library.function.add()
        f.signature.name = "f"
        f.signature.input_arg.add(name="p", type=7)
        f.node_def.add(name="read", op="ReadFile").input.append("p")
        for i in range(values.MAX_CALL_SITES + 6):
            const(g, f"c{i}", b"./x%d" % i, vector=False)
            node(g, f"call{i}", "PartitionedCall", f"c{i}").attr["f"].func.name = "f"
        model = graphdef_model(g, "t.pb", "graphdef", Limits())
        func = model.functions["f"]
        read = func.node("read")
        assert read is not None
        value = Evaluator(model).evaluate(func.input_edge(read, 0))
        assert values.CALLS_CUT in value.unknowns
        return
    if limit == "reasons":
        for i in range(values.MAX_REASONS + 3):
            node(g, f"u{i}", f"Unmodelled{i}")
        node(g, "m", "Merge", *(f"u{i}" for i in range(values.MAX_REASONS + 3)))
        value = evaluate(g, "m")
        assert values.REASONS_CUT in value.unknowns and len(value.unknowns) == values.MAX_REASONS
        return
    if limit == "exact":
        const(g, "v", *(b"%d" % i for i in range(values.MAX_EXACT + 10)))
        node(g, "j", "ReduceJoin", "v", separator=b"/")
        value = evaluate(g, "j")
        assert value.limited, value.unknowns
        return
    if limit == "depth":
        const(g, "n0", b"/etc/passwd", vector=False)
        for i in range(1, values.MAX_DEPTH + 20):
            node(g, f"n{i}", "Identity", f"n{i - 1}")
        value = evaluate(g, f"n{values.MAX_DEPTH + 19}")
        assert values.DEPTH_CUT in value.unknowns
        return
    # a While loop whose value grows each pass, with a condition from a graph input
    _growing_loop(g, bound="limit")
    value = evaluate(g, "loop:1")
    assert values.LOOP_CUT in value.unknowns
    assert b"../../" in value.items


def _growing_loop(g: pb.GraphDef, bound: str) -> None:
    """acc = acc + '../' while i < bound (a constant 3, or a graph input)."""
    if bound == "limit":
        node(g, "limit", "Placeholder", dtype=3)
    else:
        int_const(g, "limit", int(bound))
    int_const(g, "zero", 0)
    const(g, "start", b"", vector=False)
    loop = node(g, "loop", "While", "zero", "start", "limit")
    loop.attr["cond"].func.name = "cond"
    loop.attr["body"].func.name = "body"
    cond = g.library.function.add()
    cond.signature.name = "cond"
    for name, t in (("i", 3), ("acc", 7), ("n", 3)):
        cond.signature.input_arg.add(name=name, type=t)
    cond.signature.output_arg.add(name="ok", type=10)
    cond.node_def.add(name="less", op="Less").input.extend(["i", "n"])
    cond.ret["ok"] = "less:z:0"
    body = g.library.function.add()
    body.signature.name = "body"
    for name, t in (("i", 3), ("acc", 7), ("n", 3)):
        body.signature.input_arg.add(name=name, type=t)
        body.signature.output_arg.add(name=f"{name}_out", type=t)
    one = body.node_def.add(name="one", op="Const")
    one.attr["value"].tensor.dtype = 3
    one.attr["value"].tensor.int_val.append(1)
    body.node_def.add(name="next", op="AddV2").input.extend(["i", "one:output:0"])
    dots = body.node_def.add(name="dots", op="Const")
    dots.attr["value"].tensor.dtype = 7
    dots.attr["value"].tensor.string_val.append(b"../")
    grow = body.node_def.add(name="grow", op="AddV2")
    grow.input.extend(["acc", "dots:output:0"])
    grow.attr["T"].type = 7
    body.ret.update({"i_out": "next:z:0", "acc_out": "grow:z:0", "n_out": "n"})
    const(g, "tail", b"etc/passwd", vector=False)
    add = node(g, "path", "AddV2", "loop:1", "tail")
    add.attr["T"].type = 7
    node(g, "read", "ReadFile", "path")


def test_counted_loop_runs_exactly() -> None:
    g = pb.GraphDef()
    _growing_loop(g, bound="3")
    value = evaluate(g, "path")
    assert value.items == (b"../../../etc/passwd",) and not value.unknowns


def test_loop_limit_makes_the_finding_high() -> None:
    g = pb.GraphDef()
    _growing_loop(g, bound="limit")
    (finding,) = [f for f in lint_graph(g) if f.location.node == "read"]
    assert finding.severity >= Severity.HIGH and "While loop, not settled" in finding.message


# -- every string-producing op is modelled or named --------------------------------------


def _string_output_ops() -> list[str]:
    data = json.loads(OPS_FILE.read_text(encoding="utf-8"))
    return sorted(set(data["string"]) | set(data["typed"]))


@pytest.mark.tf
def test_string_output_op_list_is_current() -> None:
    """The committed list is the pinned TensorFlow's (regenerated in a subprocess)."""
    pytest.importorskip("tensorflow", reason="TensorFlow is not installed (install the 'test' extra)")
    proc = subprocess.run([sys.executable, str(ROOT / "fixtures" / "list_string_output_ops.py")],
                          capture_output=True, text=True, timeout=300, check=True)
    assert json.loads(proc.stdout) == json.loads(OPS_FILE.read_text(encoding="utf-8"))


@pytest.mark.parametrize("op", _string_output_ops())
def test_every_string_output_op_is_modelled_or_named(op: str) -> None:
    g = pb.GraphDef()
    node(g, "x", op)
    node(g, "read", "ReadFile", "x")
    value = evaluate(g, "x")
    assert value.items or value.unknowns, f"{op}: an empty value with no reason"
    if op not in handled_ops():
        assert any(op in u.detail for u in value.unknowns), f"{op}: reason does not name it: {value.unknowns}"


def test_the_registry_list_is_substantial() -> None:
    ops = _string_output_ops()
    assert len(ops) > 250 and {"StringSplitV2", "UnicodeEncode", "RegexReplace", "ReaderReadV2"} <= set(ops)
    modelled = set(ops) & handled_ops()
    assert {"StringSplit", "StringSplitV2", "UnicodeEncode", "UnicodeTranscode", "StringJoin", "ReduceJoin",
            "LookupTableExportV2", "UnsortedSegmentJoin", "DecodeCompressed", "ParseTensor"} <= modelled


# -- semantics of the new models ---------------------------------------------------------


def test_table_find_yields_values_and_default() -> None:
    g = pb.GraphDef()
    node(g, "table", "HashTableV2", shared_name=b"t")
    const(g, "keys", b"a", b"b")
    const(g, "vals", b"/etc/shadow", b"./ok")
    node(g, "init", "InitializeTableV2", "table", "keys", "vals")
    const(g, "key", b"a", vector=False)
    const(g, "default", b"./missing", vector=False)
    node(g, "find", "LookupTableFindV2", "table", "key", "default")
    node(g, "other", "HashTableV2", shared_name=b"other")
    node(g, "find_other", "LookupTableFindV2", "other", "key", "default")
    assert set(evaluate(g, "find").items) == {b"/etc/shadow", b"./ok", b"./missing"}
    other = evaluate(g, "find_other")
    assert other.items == (b"./missing",) and any("table filled at run time" in u.detail for u in other.unknowns)


def test_queue_reader_reads_the_enqueued_names() -> None:
    g = pb.GraphDef()
    node(g, "q", "FIFOQueueV2")
    const(g, "names", b"/etc/passwd", b"./b")
    node(g, "enq", "QueueEnqueueManyV2", "q", "names")
    node(g, "reader", "WholeFileReaderV2")
    node(g, "read", "ReaderReadV2", "reader", "q")
    (finding,) = [f for f in lint_graph(g) if f.location.node == "read"]
    assert set(finding.evidence_dict["targets"]) == {"/etc/passwd", "./b"} and finding.severity == Severity.HIGH


@pytest.mark.parametrize(("text", "scheme", "host"), [
    ("gs://bucket/x", "gs", "bucket"), ("s3://b.example/k", "s3", "b.example"),
    ("hdfs://namenode:8020/p", "hdfs", "namenode"), ("https://10.1.2.3/x", "https", "10.1.2.3"),
    ("az://acct/c", "az", "acct"), ("file:///etc/passwd", None, None), ("ram://cache/x", None, None),
    ("C://x", None, None), ("./gs:/x", None, None),
])
def test_remote_file_systems(text: str, scheme: str | None, host: str | None) -> None:
    assert tg.remote_scheme(text) == scheme
    target = tg.classify(text, "path")
    assert target.has(tg.REMOTE_FS) == (scheme is not None)
    if host is not None:
        assert target.host == host


def test_remote_read_is_also_a_network_send() -> None:
    g = pb.GraphDef()
    const(g, "p", b"hdfs://namenode:8020/data/x", vector=False)
    node(g, "read", "ReadFile", "p")
    findings = lint_graph(g)
    send = [f for f in findings if f.category == "network_send"]
    assert len(send) == 1 and send[0].severity == Severity.HIGH and send[0].code == "TFL301"
    assert list(send[0].evidence_dict["hosts"]) == ["namenode"]
    assert [f.severity for f in findings if f.category == "file_read"] == [Severity.HIGH]


def _checkpoint_model(input_name: str, names: bytes) -> list[Finding]:
    g = pb.GraphDef()
    f = g.library.function.add()
    f.signature.name = "save_fn"
    f.signature.input_arg.add(name=input_name, type=7)
    names_node = f.node_def.add(name="names", op="Const")
    names_node.attr["value"].tensor.dtype = 7
    names_node.attr["value"].tensor.string_val.append(names)
    zero = f.node_def.add(name="zero", op="Const")
    zero.attr["value"].tensor.dtype = 1
    zero.attr["value"].tensor.float_val.append(0.0)
    f.node_def.add(name="save", op="Save").input.extend([input_name, "names:output:0", "zero:output:0"])
    node(g, "ph", "Placeholder", dtype=7)
    node(g, "call", "StatefulPartitionedCall", "ph").attr["f"].func.name = "save_fn"
    sm = pb.SavedModel()
    mg = sm.meta_graphs.add()
    mg.meta_info_def.tags.append("serve")
    mg.graph_def.CopyFrom(g)
    sig = mg.signature_def["save"]
    sig.inputs[input_name].name = "ph:0"
    sig.outputs["out"].name = "call:0"
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "saved_model.pb").write_bytes(sm.SerializeToString())
        return [f for f in lint(Path(tmp)).findings if f.location.op == "Save"]


def test_checkpoint_signature_is_tfl503_only_when_it_looks_like_one() -> None:
    (ok,) = _checkpoint_model("checkpoint_path", b"dense/kernel")
    assert ok.code == "TFL503" and ok.severity == Severity.MEDIUM
    (other,) = _checkpoint_model("path", b"dense/kernel")
    assert other.code == "TFL502" and other.severity == Severity.HIGH
    key = b"\nssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQTestOnly a@b\n"
    (payload,) = _checkpoint_model("checkpoint_path", key)
    assert payload.code == "TFL502" and payload.severity == Severity.CRITICAL


def test_dataset_cache_to_a_file_is_still_reported() -> None:
    g = pb.GraphDef()
    node(g, "ds", "RangeDataset")
    const(g, "memory", b"", vector=False)
    const(g, "file", b"/tmp/cache", vector=False)
    node(g, "cache_memory", "CacheDatasetV2", "ds", "memory")
    node(g, "cache_file", "CacheDatasetV2", "ds", "file")
    findings = lint_graph(g)
    assert {f.location.node for f in findings} == {"cache_file"}, describe(findings)


def test_debug_identity_v2_with_a_file_url_is_still_a_write() -> None:
    g = pb.GraphDef()
    node(g, "x", "Placeholder", dtype=1)
    d = node(g, "dbg", "DebugIdentityV2", "x")
    d.attr["debug_urls"].list.s.append(b"file:///tmp/dump")
    d2 = node(g, "dbg2", "DebugIdentityV2", "x")
    d2.attr["debug_urls"].list.s.extend([b"file:///tmp/dump", b"grpc://10.0.0.5:6064"])
    findings = {f.location.node: f for f in lint_graph(g)}
    assert findings["dbg"].code == "TFL202" and findings["dbg"].severity == Severity.HIGH
    assert findings["dbg2"].severity == Severity.LOW and "inert" in findings["dbg2"].message
