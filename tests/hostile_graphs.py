"""Hostile graphs for the analysis, generated at test time (issue 16: the expensive
parts must be cheap). Each is a small protobuf built with the project's own schema that
drove an analysis into quadratic or exponential work or unbounded memory, next to a real
finding that must be kept: ``WriteFile('/root/.ssh/authorized_keys', <ssh key line>)``
(critical).
"""

from __future__ import annotations

from tfmodel_lint.proto import tfmodel_lint_pb2 as pb

KEY_LINE = b"ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQHostileCaseOnly attacker@host\n"
AUTHORIZED_KEYS = b"/root/.ssh/authorized_keys"


def const(nodes: object, name: str, *values: bytes, dims: tuple[int, ...] | None = None) -> pb.NodeDef:
    nd = nodes.add(name=name, op="Const")  # type: ignore[attr-defined]
    t = nd.attr["value"].tensor
    t.dtype = 7
    t.string_val.extend(values)
    for d in dims if dims is not None else ((len(values),) if len(values) != 1 else ()):
        t.tensor_shape.dim.add(size=d)
    nd.attr["dtype"].type = 7
    return nd  # type: ignore[no-any-return]


def int_const(nodes: object, name: str, value: int) -> pb.NodeDef:
    nd = nodes.add(name=name, op="Const")  # type: ignore[attr-defined]
    nd.attr["value"].tensor.dtype = 3
    nd.attr["value"].tensor.int_val.append(value)
    nd.attr["dtype"].type = 3
    return nd  # type: ignore[no-any-return]


def op(nodes: object, name: str, kind: str, *inputs: str, **attrs: bytes | int | bool) -> pb.NodeDef:
    nd = nodes.add(name=name, op=kind)  # type: ignore[attr-defined]
    nd.input.extend(inputs)
    for key, value in attrs.items():
        if isinstance(value, bytes):
            nd.attr[key].s = value
        elif isinstance(value, bool):
            nd.attr[key].b = value
        else:
            nd.attr[key].i = value
    return nd  # type: ignore[no-any-return]


def real_finding(g: pb.GraphDef) -> None:
    """The model's real, critical finding, which the hostile part must not hide."""
    const(g.node, "real/path", AUTHORIZED_KEYS)
    const(g.node, "real/key", KEY_LINE)
    op(g.node, "real/WriteFile", "WriteFile", "real/path", "real/key")


def regex_graph(pattern: bytes, subject: bytes) -> bytes:
    """ReadFile(StaticRegexReplace(subject, pattern)): patterns that make a backtracking
    engine exponential or polynomial."""
    g = pb.GraphDef()
    real_finding(g)
    const(g.node, "subject", subject)
    op(g.node, "re", "StaticRegexReplace", "subject", pattern=pattern, rewrite=b"/etc/passwd", replace_global=True)
    op(g.node, "read", "ReadFile", "re")
    return g.SerializeToString()


def duplicate_names_graph(count: int) -> bytes:
    """``count`` nodes all named ``x`` (a name index that probes every duplicate is
    quadratic), one of them read by a ReadFile('/etc/passwd') chain."""
    g = pb.GraphDef()
    real_finding(g)
    for _ in range(count):
        const(g.node, "x", b"/etc/passwd")
    op(g.node, "read", "ReadFile", "x")
    return g.SerializeToString()


def wide_join_graph(inputs: int) -> bytes:
    """StringJoin of ``inputs`` operands, each one of two values (a Select): every
    combination doubles the candidates."""
    g = pb.GraphDef()
    real_finding(g)
    const(g.node, "a", b"/etc/")
    const(g.node, "b", b"./x/")
    op(g.node, "p", "Placeholder", dtype=10)
    names = []
    for i in range(inputs):
        op(g.node, f"s{i}", "Select", "p", "a", "b")
        names.append(f"s{i}")
    op(g.node, "j", "StringJoin", *names)
    op(g.node, "read", "ReadFile", "j")
    return g.SerializeToString()


def many_dims_graph(dims: int) -> bytes:
    """A string constant whose shape has ``dims`` dimensions of size 2 (their product
    is a number of ``dims`` bits)."""
    g = pb.GraphDef()
    real_finding(g)
    const(g.node, "c", b"/etc/passwd", dims=(2,) * dims)
    op(g.node, "read", "ReadFile", "c")
    return g.SerializeToString()


def signatures_over_a_chain(signatures: int, length: int) -> bytes:
    """A SavedModel whose graph is one chain of ``length`` Identity nodes from a
    ReadFile('/etc/passwd'), and ``signatures`` signatures each fetching the chain."""
    sm = pb.SavedModel()
    mg = sm.meta_graphs.add()
    mg.meta_info_def.tags.append("serve")
    g = mg.graph_def
    real_finding(g)
    const(g.node, "path", b"/etc/passwd")
    op(g.node, "read", "ReadFile", "path")
    previous = "read"
    for i in range(length):
        op(g.node, f"n{i}", "Identity", previous)
        previous = f"n{i}"
    for k in range(signatures):
        sd = mg.signature_def[f"sig{k}"]
        sd.method_name = "tensorflow/serving/predict"
        sd.outputs["out"].name = f"n{(k * 7919) % length}:0"
        sd.outputs["w"].name = "real/WriteFile"
    return sm.SerializeToString()


def recursive_calls_graph(call_sites: int = 40, strings: int = 64, size: int = 4096) -> bytes:
    """Functions calling each other through If and While (A -> If(B, B) -> While(A)),
    carrying a vector of ``strings`` strings of ``size`` bytes, called from
    ``call_sites`` places of the graph, each reading (ReadFile) what its call returns; a
    ReadFile in A of what the recursion returns. Every call path is a new stack of frames
    whose values (up to 64 strings of 4 KB each) an unbounded cache keeps."""
    g = pb.GraphDef()
    real_finding(g)
    const(g.node, "big", *(bytes([65 + i % 26]) * (size - 1) + b"/" for i in range(strings)))
    op(g.node, "pred", "Placeholder", dtype=10)
    lib = g.library
    a = lib.function.add()
    a.signature.name = "A"
    a.signature.input_arg.add(name="p", type=10)
    a.signature.input_arg.add(name="s", type=7)
    a.signature.output_arg.add(name="out", type=7)
    op(a.node_def, "join", "StringJoin", "s", "s")
    branch = op(a.node_def, "if", "If", "p", "p", "join:output:0")
    branch.attr["then_branch"].func.name = "B"
    branch.attr["else_branch"].func.name = "B"
    op(a.node_def, "read", "ReadFile", "if:output:1")
    a.ret["out"] = "if:output:1"
    b = lib.function.add()
    b.signature.name = "B"
    b.signature.input_arg.add(name="p", type=10)
    b.signature.input_arg.add(name="s", type=7)
    b.signature.output_arg.add(name="p_out", type=10)
    b.signature.output_arg.add(name="s_out", type=7)
    loop = op(b.node_def, "while", "While", "p", "s")
    loop.attr["cond"].func.name = "C"
    loop.attr["body"].func.name = "A2"
    op(b.node_def, "join", "StringJoin", "while:output:1", "s")
    b.ret["p_out"] = "p"
    b.ret["s_out"] = "join:output:0"
    c = lib.function.add()
    c.signature.name = "C"
    c.signature.input_arg.add(name="p", type=10)
    c.signature.input_arg.add(name="s", type=7)
    c.signature.output_arg.add(name="out", type=10)
    c.ret["out"] = "p"
    a2 = lib.function.add()  # the loop body: calls A again
    a2.signature.name = "A2"
    a2.signature.input_arg.add(name="p", type=10)
    a2.signature.input_arg.add(name="s", type=7)
    a2.signature.output_arg.add(name="p_out", type=10)
    a2.signature.output_arg.add(name="s_out", type=7)
    call = op(a2.node_def, "call", "PartitionedCall", "p", "s")
    call.attr["f"].func.name = "A"
    a2.ret["p_out"] = "p"
    a2.ret["s_out"] = "call:output:0"
    for i in range(call_sites):
        site = op(g.node, f"call{i}", "StatefulPartitionedCall", "pred", "big")
        site.attr["f"].func.name = "A"
        op(g.node, f"read{i}", "ReadFile", f"call{i}:0")
    return g.SerializeToString()
