"""A small builder of GraphDefs and SavedModels for unit tests, and a one-line harness in
the spirit of pyflakes' ``self.flakes(source, *messages)``::

    g = Graph()
    g.const("path", b"/etc/passwd")
    g.node("read", "ReadFile", "path")
    assert_codes(g, "TFL201")

Graphs are built with the project's own protobuf schema: tests of the analysis, not of
what TensorFlow writes (fixtures built by real TensorFlow cover that).
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable
from pathlib import Path

from tfmodel_lint.findings import RunResult
from tfmodel_lint.ir import ModelIR
from tfmodel_lint.limits import Limits
from tfmodel_lint.proto import tfmodel_lint_pb2 as pb

DT_STRING = 7
DT_INT32 = 3


def set_attr(nd: pb.NodeDef, key: str, value: object) -> None:
    if isinstance(value, bytes):
        nd.attr[key].s = value
    elif isinstance(value, bool):
        nd.attr[key].b = value
    elif isinstance(value, int):
        nd.attr[key].i = value
    elif isinstance(value, float):
        nd.attr[key].f = value
    elif isinstance(value, str):
        nd.attr[key].func.name = value  # a function-valued attr (f=..., body=...)
    elif isinstance(value, list) and all(isinstance(v, bytes) for v in value):
        nd.attr[key].list.s.extend(value)
    elif isinstance(value, list) and all(isinstance(v, str) for v in value):
        for name in value:
            nd.attr[key].list.func.add(name=name)
    else:
        raise TypeError(f"attr {key}: cannot encode {value!r}")


class Body:
    """Nodes of a graph or of one library function."""

    def __init__(self, nodes: object) -> None:
        self._nodes = nodes

    def node(self, name: str, op: str, *inputs: str, **attrs: object) -> pb.NodeDef:
        nd: pb.NodeDef = self._nodes.add(name=name, op=op)  # type: ignore[attr-defined]
        nd.input.extend(inputs)
        for key, value in attrs.items():
            set_attr(nd, key, value)
        return nd

    def const(self, name: str, *values: bytes, shape: tuple[int, ...] | None = None) -> pb.NodeDef:
        nd = self.node(name, "Const", dtype=DT_STRING)
        nd.attr["dtype"].type = DT_STRING
        t = nd.attr["value"].tensor
        t.dtype = DT_STRING
        t.string_val.extend(values)
        for d in shape if shape is not None else ((len(values),) if len(values) != 1 else ()):
            t.tensor_shape.dim.add(size=d)
        return nd

    def ints(self, name: str, *values: int) -> pb.NodeDef:
        nd = self.node(name, "Const")
        nd.attr["dtype"].type = DT_INT32
        t = nd.attr["value"].tensor
        t.dtype = DT_INT32
        t.int_val.extend(values)
        if len(values) != 1:
            t.tensor_shape.dim.add(size=len(values))
        return nd


class Graph(Body):
    """A GraphDef with a function library."""

    def __init__(self) -> None:
        self.proto = pb.GraphDef()
        super().__init__(self.proto.node)

    def function(self, name: str, inputs: Iterable[str] = (), outputs: dict[str, str] | None = None) -> Body:
        """A library function with string arguments ``inputs`` and ``outputs`` (name -> the
        tensor it returns, ``node:output:0``)."""
        fd = self.proto.library.function.add()
        fd.signature.name = name
        for arg in inputs:
            fd.signature.input_arg.add(name=arg, type=DT_STRING)
        for out, tensor in (outputs or {}).items():
            fd.signature.output_arg.add(name=out, type=DT_STRING)
            fd.ret[out] = tensor
        return Body(fd.node_def)

    def bytes(self) -> bytes:
        return bytes(self.proto.SerializeToString())

    def model(self, limits: Limits | None = None) -> ModelIR:
        from tfmodel_lint.loaders.tf_graph import graphdef_model

        return graphdef_model(self.proto, "graph.pb", "graphdef", limits or Limits())

    def write(self, path: Path) -> Path:
        path.write_bytes(self.bytes())
        return path

    def savedmodel(self, directory: Path, signature_inputs: dict[str, str] | None = None) -> Path:
        """A SavedModel whose one meta graph is this graph, with a ``serving_default``
        signature fetching every node (inputs: key -> placeholder tensor)."""
        sm = pb.SavedModel()
        sm.saved_model_schema_version = 1
        mg = sm.meta_graphs.add()
        mg.meta_info_def.tags.append("serve")
        mg.graph_def.CopyFrom(self.proto)
        sig = mg.signature_def["serving_default"]
        for key, tensor in (signature_inputs or {}).items():
            sig.inputs[key].name = tensor
        for nd in self.proto.node:
            if nd.op != "Const":
                sig.outputs[nd.name].name = f"{nd.name}:0"
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "saved_model.pb").write_bytes(sm.SerializeToString())
        return directory


def lint_graph(graph: Graph | bytes, name: str = "model.pb", **settings: object) -> RunResult:
    """Lint a graph (or any bytes) saved as ``name`` in a fresh temporary directory."""
    from tests.helpers import lint

    data = graph.bytes() if isinstance(graph, Graph) else graph
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        path.write_bytes(data)
        return lint(path, **settings)


def assert_codes(graph: Graph | bytes, *codes: str, name: str = "model.pb", **settings: object) -> RunResult:
    """Assert that linting ``graph`` reports exactly ``codes`` (a multiset, any order)."""
    result = lint_graph(graph, name, **settings)
    got = sorted(f.code for f in result.findings)
    assert got == sorted(codes), "\n".join(f"{f.code} {f.severity} {f.location.logical}: {f.message}"
                                            for f in result.findings) or "no findings"
    return result
