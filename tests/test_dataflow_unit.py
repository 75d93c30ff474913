"""IR-level unit tests of the string interpreter, target classification and policy.

Graphs here are built directly from the project's protobuf schema: these tests are
about the analysis, not about what TensorFlow writes (the TF-built fixtures cover that).
"""

from __future__ import annotations

import pytest

from tfmodel_lint.analysis import targets as tg
from tfmodel_lint.analysis.values import Evaluator, render
from tfmodel_lint.findings import Severity
from tfmodel_lint.ir import Function, ModelIR
from tfmodel_lint.limits import Limits
from tfmodel_lint.loaders.tf_graph import graphdef_model
from tfmodel_lint.policy import target_severity
from tfmodel_lint.proto import tfmodel_lint_pb2 as pb


def const(g: pb.GraphDef, name: str, *values: bytes, shape: tuple[int, ...] | None = None) -> None:
    n = g.node.add(name=name, op="Const")
    t = n.attr["value"].tensor
    t.dtype = 7
    for v in values:
        t.string_val.append(v)
    for d in shape if shape is not None else ((len(values),) if len(values) != 1 else ()):
        t.tensor_shape.dim.add(size=d)
    n.attr["dtype"].type = 7


def int_const(g: pb.GraphDef, name: str, *values: int) -> None:
    n = g.node.add(name=name, op="Const")
    t = n.attr["value"].tensor
    t.dtype = 3
    t.int_val.extend(values)
    if len(values) != 1:
        t.tensor_shape.dim.add(size=len(values))


def node(g: pb.GraphDef, name: str, op: str, *inputs: str, **attrs: object) -> pb.NodeDef:
    n = g.node.add(name=name, op=op)
    n.input.extend(inputs)
    for k, v in attrs.items():
        if isinstance(v, bytes):
            n.attr[k].s = v
        elif isinstance(v, bool):
            n.attr[k].b = v
        elif isinstance(v, int):
            n.attr[k].i = v
    return n


def evaluate(g: pb.GraphDef, name: str) -> list[str]:
    model = graphdef_model(g, "t.pb", "graphdef", Limits())
    assert model.graph is not None
    edge = model.graph.resolve_input(name)
    return Evaluator(model).evaluate(edge).texts()


def test_const_all_elements_and_join() -> None:
    g = pb.GraphDef()
    const(g, "a", b"/home/", b"/root/")
    const(g, "b", b".ssh/authorized_keys")
    node(g, "j", "StringJoin", "a", "b", separator=b"")
    assert evaluate(g, "j") == ["/home/.ssh/authorized_keys", "/root/.ssh/authorized_keys"]


def test_string_add_format_and_identity_chain() -> None:
    g = pb.GraphDef()
    const(g, "x", b"/etc/")
    const(g, "y", b"passwd")
    node(g, "add", "AddV2", "x", "y")
    node(g, "id", "Identity", "add")
    node(g, "fmt", "StringFormat", "id", template=b"file://%s", placeholder=b"%s")
    assert evaluate(g, "fmt") == ["file:///etc/passwd"]


def test_base64_reverse_regex_substr_case() -> None:
    import base64

    g = pb.GraphDef()
    const(g, "enc", base64.urlsafe_b64encode(b"/etc/shadow"))
    node(g, "dec", "DecodeBase64", "enc")
    const(g, "rev", b"b", b"a")
    node(g, "r", "ReverseV2", "rev", "ax")
    int_const(g, "ax", 0)
    const(g, "s", b"XX/tmp/xYY")
    node(g, "re", "StaticRegexReplace", "s", pattern=b"^XX|YY$", rewrite=b"", replace_global=True)
    const(g, "long", b"abc/etc/hosts")
    int_const(g, "pos", 3)
    int_const(g, "len", 10)
    node(g, "sub", "Substr", "long", "pos", "len")
    const(g, "up", b"/ETC/PASSWD")
    node(g, "low", "StringLower", "up")
    assert evaluate(g, "dec") == ["/etc/shadow"]
    assert evaluate(g, "r") == ["a", "b"]
    assert evaluate(g, "re") == ["/tmp/x"]
    assert evaluate(g, "sub") == ["/etc/hosts"]
    assert evaluate(g, "low") == ["/etc/passwd"]


def test_pack_concat_gather_and_strided_slice() -> None:
    g = pb.GraphDef()
    const(g, "a", b"decoy")
    const(g, "b", b"/etc/passwd")
    node(g, "p", "Pack", "a", "b")
    int_const(g, "i", 1)
    int_const(g, "ax", 0)
    node(g, "gather", "GatherV2", "p", "i", "ax")
    int_const(g, "b0", 1)
    int_const(g, "e0", 2)
    int_const(g, "s0", 1)
    node(g, "slice", "StridedSlice", "p", "b0", "e0", "s0")
    assert evaluate(g, "p") == ["decoy", "/etc/passwd"]
    assert evaluate(g, "gather") == ["/etc/passwd"]
    assert evaluate(g, "slice") == ["/etc/passwd"]


def test_unknown_sources_are_named() -> None:
    g = pb.GraphDef()
    const(g, "pat", b"/home/*")
    node(g, "mf", "MatchingFiles", "pat")
    const(g, "suffix", b"/.ssh/authorized_keys")
    node(g, "j", "StringJoin", "mf", "suffix")
    node(g, "ph", "Placeholder")
    model = graphdef_model(g, "t.pb", "graphdef", Limits())
    assert model.graph is not None
    ev = Evaluator(model)
    joined = ev.evaluate(model.graph.resolve_input("j"))
    assert joined.texts() == ["/home/*/.ssh/authorized_keys"]  # the files MatchingFiles can return
    assert [u.describe() for u in joined.unknowns] == ["from MatchingFiles output"]
    fed = ev.evaluate(model.graph.resolve_input("ph"))
    assert fed.unknown_kinds() == {"signature_input"}


def test_cycles_and_budget_are_bounded() -> None:
    g = pb.GraphDef()
    node(g, "a", "Identity", "b")
    node(g, "b", "StringJoin", "a", "a")
    value = evaluate(g, "b")
    assert value == ["<?><?>"]
    # A long chain hits the depth bound instead of recursing without end.
    g2 = pb.GraphDef()
    const(g2, "n0", b"x")
    for i in range(1, 400):
        node(g2, f"n{i}", "Identity", f"n{i - 1}")
    model = graphdef_model(g2, "t.pb", "graphdef", Limits())
    assert model.graph is not None
    v = Evaluator(model).evaluate(model.graph.resolve_input("n399"))
    assert v.unknown_kinds() == {"limit"}


def _function_model() -> ModelIR:
    """A graph calling f(path) through StatefulPartitionedCall; f calls g(path) which reads it."""
    g = pb.GraphDef()
    const(g, "p", b"/etc/")
    const(g, "q", b"passwd")
    node(g, "call", "StatefulPartitionedCall", "p", "q").attr["f"].func.name = "outer"
    outer = g.library.function.add()
    outer.signature.name = "outer"
    outer.signature.input_arg.add(name="a", type=7)
    outer.signature.input_arg.add(name="b", type=7)
    outer.signature.output_arg.add(name="out", type=7)
    j = outer.node_def.add(name="join", op="StringJoin")
    j.input.extend(["a", "b"])
    c = outer.node_def.add(name="inner_call", op="PartitionedCall")
    c.input.append("join:output:0")
    c.attr["f"].func.name = "inner"
    outer.ret["out"] = "inner_call:output:0"
    inner = g.library.function.add()
    inner.signature.name = "inner"
    inner.signature.input_arg.add(name="path", type=7)
    inner.signature.output_arg.add(name="contents", type=7)
    r = inner.node_def.add(name="read", op="ReadFile")
    r.input.append("path")
    inner.ret["contents"] = "read:contents:0"
    return graphdef_model(g, "t.pb", "graphdef", Limits())


def test_values_cross_function_boundaries() -> None:
    model = _function_model()
    inner = model.functions["inner"]
    read = inner.node("read")
    assert read is not None
    value = Evaluator(model).evaluate(inner.input_edge(read, 0))
    assert value.texts() == ["/etc/passwd"]
    assert model.reachable_functions(["outer"]) == {"outer", "inner"}


def test_uncalled_function_argument_says_so() -> None:
    g = pb.GraphDef()
    f = g.library.function.add()
    f.signature.name = "lonely"
    f.signature.input_arg.add(name="path", type=7)
    r = f.node_def.add(name="read", op="ReadFile")
    r.input.append("path")
    model = graphdef_model(g, "t.pb", "graphdef", Limits())
    func: Function = model.functions["lonely"]
    rd = func.node("read")
    assert rd is not None
    value = Evaluator(model).evaluate(func.input_edge(rd, 0))
    assert value.unknown_kinds() == {"uncalled_argument"}
    assert "argument 'path' of function lonely" in value.unknowns[0].describe()


@pytest.mark.parametrize(
    ("text", "role", "labels"),
    [
        ("/etc/passwd", "path", {tg.SENSITIVE, tg.ABSOLUTE}),
        ("../../../../.ssh/id_rsa.pub", "path", {tg.SENSITIVE, tg.TRAVERSAL, tg.RELATIVE}),
        ("~/.bashrc", "path", {tg.HOME, tg.SENSITIVE, tg.SHELL_STARTUP}),
        ("/root/.ssh/authorized_keys", "path", {tg.HOME, tg.SENSITIVE, tg.ABSOLUTE}),
        ("./tensorflow.py", "path", {tg.PYTHON_MODULE, tg.RELATIVE}),
        ("C:\\Users\\bob\\.ssh\\id_rsa", "path", {tg.WINDOWS, tg.HOME, tg.SENSITIVE}),
        ("/proc/self/environ", "path", {tg.SENSITIVE}),
        ("/home/*", "pattern", {tg.SYSTEM_ROOT, tg.HOME}),
        ("/etc/*", "pattern", {tg.SYSTEM_ROOT}),
        ("~/*", "pattern", {tg.SYSTEM_ROOT, tg.HOME}),
        ("./*.py", "pattern", {tg.RELATIVE}),
        ("grpc://0.0.0.0:1111", "url", {tg.UNSPECIFIED, tg.NETWORK_URL}),
        ("172.24.89.186:1235", "address", {tg.PRIVATE}),
        ("8.8.8.8:53", "address", {tg.REMOTE}),
        ("localhost:80", "address", {tg.LOOPBACK}),
        ("evil.example.com:443", "address", {tg.REMOTE}),
        ("[::1]:9000", "address", {tg.LOOPBACK}),
        ("file:///tmp/payload", "stream", {tg.FILE_URL, tg.TMP, tg.ABSOLUTE}),
        ("stderr", "stream", {tg.STD_STREAM}),
    ],
)
def test_classification(text: str, role: str, labels: set[str]) -> None:
    got = tg.classify(text, role).labels
    assert labels <= got, (text, sorted(got))


@pytest.mark.parametrize(
    ("category", "text", "role", "severity"),
    [
        ("file_read", "/etc/passwd", "path", Severity.HIGH),
        ("file_read", "./data.bin", "path", Severity.MEDIUM),
        ("file_read", "/tmp/data.bin", "path", Severity.MEDIUM),
        ("file_write", "/tmp/x", "path", Severity.HIGH),
        ("file_write", "./x.txt", "path", Severity.MEDIUM),
        ("file_write", "../tensorflow.py", "path", Severity.HIGH),
        ("file_write", "./tensorflow.py", "path", Severity.HIGH),
        ("dir_read", "/home/*", "pattern", Severity.HIGH),
        ("dir_read", "./*.py", "pattern", Severity.MEDIUM),
        ("network_send", "grpc://0.0.0.0:1111", "url", Severity.HIGH),
        ("network_send", "10.0.0.1:80", "address", Severity.HIGH),
    ],
)
def test_policy(category: str, text: str, role: str, severity: Severity) -> None:
    assert target_severity(category, tg.classify(text, role)) == severity


def test_render_marks_holes() -> None:
    assert render(b"a\x00<?>\x00b") == "a<?>b"


def test_glob_match_agrees_with_fnmatch() -> None:
    import fnmatch

    from hypothesis import given
    from hypothesis import strategies as st

    @given(st.text(alphabet="ab*/.", max_size=7), st.text(alphabet="ab/.", max_size=9))
    def check(pattern: str, text: str) -> None:
        assert tg.glob_match(pattern, text) == fnmatch.fnmatchcase(text, pattern)

    check()


def test_fingerprints_survive_reexport_counters() -> None:
    from tfmodel_lint.findings import fingerprint, stable_location

    assert stable_location("__inference___call___32/ReadFile") == "__inference___call__/ReadFile"
    assert stable_location("while_body_103/while/WriteFile") == "while_body/while/WriteFile"
    assert stable_location("layer:model/dense_1") == "layer:model/dense_1"  # user-visible names stay
    a = fingerprint("TFL201", "m", "__inference___call___32/ReadFile", "ReadFile|file_read|/etc/passwd")
    b = fingerprint("TFL201", "m", "__inference___call___87/ReadFile", "ReadFile|file_read|/etc/passwd")
    c = fingerprint("TFL201", "m", "__inference___call___87/ReadFile", "ReadFile|file_read|/etc/shadow")
    assert a == b != c
