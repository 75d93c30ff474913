#!/usr/bin/env python3
"""Synthetic TensorFlow graphs for the scale benchmark, built with the project's own
protobuf schema (``tfmodel_lint.proto.tfmodel_lint_pb2``): no TensorFlow needed.

    python bench/gen_synthetic.py OUTDIR --nodes 1000 10000 ... [--nesting 1000]

For each node count N it writes
  OUTDIR/sm_N/saved_model.pb   a TF2-style SavedModel: a small top-level graph (signature
                               placeholder, StatefulPartitionedCall) and a library of
                               ~200-node functions (Const/Identity/MatMul/AddV2/Relu layers)
                               called from stage functions through StatefulPartitionedCall;
                               a few functions read a vocabulary through
                               StringJoin(['assets', 'vocab_K.txt']) -> ReadFile.
  OUTDIR/graph_N.pb            a TF1-style frozen GraphDef: the same layers, all at top level.
and with --nesting D:
  OUTDIR/nested_D/saved_model.pb   D functions, each calling the next through
                                   StatefulPartitionedCall and passing a string argument
                                   down; the innermost one runs ReadFile on it. The top
                                   graph feeds Const('/etc/passwd').
Node counts are exact (all functions plus the top-level graph). OUTDIR/synthetic_manifest.json
(node counts, file sizes) is written last.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))  # use the checkout's schema even when not installed

from tfmodel_lint.proto import tfmodel_lint_pb2 as pb  # noqa: E402

DT_FLOAT, DT_INT32, DT_STRING, DT_INT64 = 1, 3, 7, 9
FUNC_NODES = 200  # nodes per library function, as in a typical traced Keras layer block
CALLS_PER_STAGE = 50
LAYER_NODES = 6
READ_CHAINS = 8  # "a few" StringJoin -> ReadFile chains per model
READ_CHAIN_NODES = 9
WEIGHT = pb.TensorProto(
    dtype=DT_FLOAT,
    tensor_shape=pb.TensorShapeProto(dim=[pb.TensorShapeProto.Dim(size=4), pb.TensorShapeProto.Dim(size=4)]),
    tensor_content=bytes(range(64)),
)
BIAS = pb.TensorProto(dtype=DT_FLOAT, tensor_shape=pb.TensorShapeProto(dim=[pb.TensorShapeProto.Dim(size=4)]),
                      float_val=[0.1])


def _type(nd: pb.NodeDef, name: str, dtype: int = DT_FLOAT) -> None:
    nd.attr[name].type = dtype


def add(nodes, name: str, op: str, inputs=(), **attrs) -> pb.NodeDef:
    nd = nodes.add()
    nd.name = name
    nd.op = op
    nd.input.extend(inputs)
    for key, value in attrs.items():
        if isinstance(value, pb.TensorProto):
            nd.attr[key].tensor.CopyFrom(value)
        elif isinstance(value, bool):
            nd.attr[key].b = value
        elif isinstance(value, int):
            nd.attr[key].type = value
        elif isinstance(value, (str, bytes)):
            nd.attr[key].s = value.encode() if isinstance(value, str) else value
        elif isinstance(value, pb.NameAttrList):
            nd.attr[key].func.CopyFrom(value)
        elif isinstance(value, list):  # list of types
            nd.attr[key].list.type.extend(value)
        else:
            raise TypeError(key)
    return nd


def string_const(value: str) -> pb.TensorProto:
    return pb.TensorProto(dtype=DT_STRING, tensor_shape=pb.TensorShapeProto(), string_val=[value.encode()])


class Emitter:
    """Emit layers into a node list, in function (``name:out:0``) or graph (``name``) syntax."""

    def __init__(self, nodes, in_function: bool, prefix: str = "") -> None:
        self.nodes = nodes
        self.fn = in_function
        self.prefix = prefix
        self.k = 0

    def ref(self, name: str, out: str) -> str:
        return f"{name}:{out}:0" if self.fn else name

    def fresh(self, base: str) -> str:
        self.k += 1
        return f"{self.prefix}{base}_{self.k}"

    def layer(self, x: str) -> str:
        """Const w, Identity, MatMul, Const b, AddV2, Relu: 6 nodes."""
        w = add(self.nodes, self.fresh("kernel"), "Const", dtype=DT_FLOAT, value=WEIGHT).name
        wi = add(self.nodes, self.fresh("kernel_read"), "Identity", [self.ref(w, "output")], T=DT_FLOAT).name
        mm = add(self.nodes, self.fresh("MatMul"), "MatMul", [x, self.ref(wi, "output")], T=DT_FLOAT,
                 transpose_a=False, transpose_b=False).name
        b = add(self.nodes, self.fresh("bias"), "Const", dtype=DT_FLOAT, value=BIAS).name
        ad = add(self.nodes, self.fresh("BiasAdd"), "AddV2", [self.ref(mm, "product"), self.ref(b, "output")],
                 T=DT_FLOAT).name
        r = add(self.nodes, self.fresh("Relu"), "Relu", [self.ref(ad, "z")], T=DT_FLOAT).name
        return self.ref(r, "activations")

    def read_chain(self, x: str, vocab: int) -> str:
        """Const dir, Const file, StringJoin, ReadFile, StringLength, Cast, Const 0, Mul, AddV2: 9 nodes."""
        d = add(self.nodes, self.fresh("vocab_dir"), "Const", dtype=DT_STRING, value=string_const("assets")).name
        f = add(self.nodes, self.fresh("vocab_file"), "Const", dtype=DT_STRING,
                value=string_const(f"vocab_{vocab}.txt")).name
        j = add(self.nodes, self.fresh("StringJoin"), "StringJoin", [self.ref(d, "output"), self.ref(f, "output")],
                separator="/").name
        nd = self.nodes[-1]
        nd.attr["N"].i = 2
        rf = add(self.nodes, self.fresh("ReadFile"), "ReadFile", [self.ref(j, "output")]).name
        ln = add(self.nodes, self.fresh("StringLength"), "StringLength", [self.ref(rf, "contents")],
                 unit="BYTE").name
        c = add(self.nodes, self.fresh("Cast"), "Cast", [self.ref(ln, "output")], SrcT=DT_INT32, DstT=DT_FLOAT).name
        z = add(self.nodes, self.fresh("zero"), "Const", dtype=DT_FLOAT,
                value=pb.TensorProto(dtype=DT_FLOAT, tensor_shape=pb.TensorShapeProto(), float_val=[0.0])).name
        m = add(self.nodes, self.fresh("Mul"), "Mul", [self.ref(c, "y"), self.ref(z, "output")], T=DT_FLOAT).name
        s = add(self.nodes, self.fresh("AddV2"), "AddV2", [x, self.ref(m, "z")], T=DT_FLOAT).name
        return self.ref(s, "z")


def call(nodes, name: str, callee: str, inputs, tin, tout) -> pb.NodeDef:
    nd = add(nodes, name, "StatefulPartitionedCall", inputs, Tin=list(tin), Tout=list(tout),
             f=pb.NameAttrList(name=callee))
    nd.attr["config"].s = b""
    nd.attr["config_proto"].s = b"\n\x07\n\x03CPU\x10\x01\n\x07\n\x03GPU\x10\x002\x02J\x008\x01"
    nd.attr["executor_type"].s = b""
    return nd


def new_function(lib, name: str, args: list[tuple[str, int]], outs: list[tuple[str, int]]) -> pb.FunctionDef:
    fd = lib.function.add()
    fd.signature.name = name
    for a, t in args:
        fd.signature.input_arg.add(name=a, type=t)
    for o, t in outs:
        fd.signature.output_arg.add(name=o, type=t)
    fd.attr["_input_shapes"].list.shape.add()
    return fd


def block_function(lib, name: str, n_nodes: int, vocab: int | None) -> None:
    fd = new_function(lib, name, [("x", DT_FLOAT)], [("identity", DT_FLOAT)])
    em = Emitter(fd.node_def, True)
    x = "x"
    budget = n_nodes - 1  # the final Identity
    if vocab is not None and budget >= READ_CHAIN_NODES:
        x = em.read_chain(x, vocab)
        budget -= READ_CHAIN_NODES
    while budget >= LAYER_NODES:
        x = em.layer(x)
        budget -= LAYER_NODES
    while budget > 0:
        x = em.ref(add(fd.node_def, em.fresh("Identity"), "Identity", [x], T=DT_FLOAT).name, "output")
        budget -= 1
    add(fd.node_def, "Identity", "Identity", [x], T=DT_FLOAT)
    fd.ret["identity"] = "Identity:output:0"


def caller_function(lib, name: str, callees: list[str]) -> int:
    """x -> callee_1 -> ... -> callee_k -> Identity; returns its node count."""
    fd = new_function(lib, name, [("x", DT_FLOAT)], [("identity", DT_FLOAT)])
    x = "x"
    for i, callee in enumerate(callees):
        nd = call(fd.node_def, f"StatefulPartitionedCall_{i}", callee, [x], [DT_FLOAT], [DT_FLOAT])
        x = f"{nd.name}:output:0"
    add(fd.node_def, "Identity", "Identity", [x], T=DT_FLOAT)
    fd.ret["identity"] = "Identity:output:0"
    return len(callees) + 1


def saved_model_shell(entry: str, signature_output: str,
                      sig_input: tuple[str, int]) -> tuple[pb.SavedModel, pb.MetaGraphDef]:
    sm = pb.SavedModel(saved_model_schema_version=1)
    mg = sm.meta_graphs.add()
    mg.meta_info_def.tags.append("serve")
    mg.meta_info_def.tensorflow_version = "2.21.0"
    mg.meta_info_def.meta_graph_version = "v2.21.0"
    mg.graph_def.versions.producer = 2129
    sd = mg.signature_def["serving_default"]
    sd.method_name = "tensorflow/serving/predict"
    sd.inputs[sig_input[0]].name = f"serving_default_{sig_input[0]}:0"
    sd.inputs[sig_input[0]].dtype = sig_input[1]
    sd.outputs["output_0"].name = signature_output
    sd.outputs["output_0"].dtype = DT_FLOAT
    og = mg.object_graph_def
    root = og.nodes.add()
    root.user_object.identifier = "_generic_user_object"
    root.children.add(node_id=1, local_name="__call__")
    fn = og.nodes.add()
    fn.function.concrete_functions.append(entry)
    og.concrete_functions[entry].SetInParent()
    return sm, mg


def top_graph(mg: pb.MetaGraphDef, entry: str) -> int:
    nodes = mg.graph_def.node
    add(nodes, "serving_default_features", "Placeholder", dtype=DT_FLOAT)
    call(nodes, "StatefulPartitionedCall", entry, ["serving_default_features"], [DT_FLOAT], [DT_FLOAT])
    return 2


def build_savedmodel(n: int) -> tuple[bytes, int]:
    entry = "__inference_call_0"
    top = 2
    blocks = max(1, (n - top) // (FUNC_NODES + 1))
    stages = max(1, -(-blocks // CALLS_PER_STAGE))
    # Size everything so that the total is exactly n.
    overhead = top + (stages + 1) + stages  # entry calls + identities, stage calls + identities
    overhead += blocks  # one call node per block inside its stage
    body = n - overhead
    while body < blocks and blocks > 1:
        blocks -= 1
        stages = max(1, -(-blocks // CALLS_PER_STAGE))
        overhead = top + (stages + 1) + stages + blocks
        body = n - overhead
    sizes = [body // blocks + (1 if i < body % blocks else 0) for i in range(blocks)]
    sm, mg = saved_model_shell(entry, "StatefulPartitionedCall:0", ("features", DT_FLOAT))
    lib = mg.graph_def.library
    chain_every = max(1, blocks // READ_CHAINS)
    block_names = []
    for i, size in enumerate(sizes):
        name = f"__inference_block_{i}_{1000 + i}"
        block_names.append(name)
        block_function(lib, name, size, i // chain_every if i % chain_every == 0 and i // chain_every < READ_CHAINS
                       else None)
    stage_names = []
    count = top + sum(sizes)
    for s in range(stages):
        name = f"__inference_stage_{s}_{500 + s}"
        stage_names.append(name)
        count += caller_function(lib, name, block_names[s * CALLS_PER_STAGE:(s + 1) * CALLS_PER_STAGE])
    count += caller_function(lib, entry, stage_names)
    top_graph(mg, entry)
    return sm.SerializeToString(), count


def build_graphdef(n: int) -> tuple[bytes, int]:
    """Frozen TF1-style graph: input Placeholder, layers and read chains at top level, output Identity."""
    gd = pb.GraphDef()
    gd.versions.producer = 2129
    em = Emitter(gd.node, False)
    x = add(gd.node, "input", "Placeholder", dtype=DT_FLOAT).name
    budget = n - 2
    every = max(LAYER_NODES, budget // READ_CHAINS)
    chains = 0
    since = 0
    while budget >= LAYER_NODES:
        if chains < READ_CHAINS and since >= every and budget >= READ_CHAIN_NODES:
            x = em.read_chain(x, chains)
            chains += 1
            since = 0
            budget -= READ_CHAIN_NODES
            continue
        x = em.layer(x)
        since += LAYER_NODES
        budget -= LAYER_NODES
    while budget > 0:
        x = add(gd.node, em.fresh("Identity"), "Identity", [x], T=DT_FLOAT).name
        budget -= 1
    add(gd.node, "output", "Identity", [x], T=DT_FLOAT)
    return gd.SerializeToString(), len(gd.node)


def build_nested(depth: int) -> tuple[bytes, int]:
    """depth functions f_0 .. f_{depth-1}; f_i(x, path) calls f_{i+1}(x, Identity(path)); the last reads the file."""
    entry = "__inference_nested_0"
    sm, mg = saved_model_shell(entry, "StatefulPartitionedCall:0", ("features", DT_FLOAT))
    lib = mg.graph_def.library
    count = 0
    for i in range(depth):
        name = entry if i == 0 else f"__inference_nested_{i}"
        fd = new_function(lib, name, [("x", DT_FLOAT), ("path", DT_STRING)], [("identity", DT_FLOAT)])
        p = add(fd.node_def, "path_id", "Identity", ["path"], T=DT_STRING).name
        if i < depth - 1:
            nd = call(fd.node_def, "StatefulPartitionedCall", f"__inference_nested_{i + 1}", ["x", f"{p}:output:0"],
                      [DT_FLOAT, DT_STRING], [DT_FLOAT])
            add(fd.node_def, "Identity", "Identity", [f"{nd.name}:output:0"], T=DT_FLOAT)
        else:
            rf = add(fd.node_def, "ReadFile", "ReadFile", [f"{p}:output:0"]).name
            ln = add(fd.node_def, "StringLength", "StringLength", [f"{rf}:contents:0"], unit="BYTE").name
            c = add(fd.node_def, "Cast", "Cast", [f"{ln}:output:0"], SrcT=DT_INT32, DstT=DT_FLOAT).name
            add(fd.node_def, "Identity", "Identity", [f"{c}:y:0", "^x"], T=DT_FLOAT)
        fd.ret["identity"] = "Identity:output:0"
        count += len(fd.node_def)
    nodes = mg.graph_def.node
    add(nodes, "serving_default_features", "Placeholder", dtype=DT_FLOAT)
    add(nodes, "secret_path", "Const", dtype=DT_STRING, value=string_const("/etc/passwd"))
    call(nodes, "StatefulPartitionedCall", entry, ["serving_default_features", "secret_path"], [DT_FLOAT, DT_STRING],
         [DT_FLOAT])
    count += 3
    return sm.SerializeToString(), count


def write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(path)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("outdir", type=Path)
    ap.add_argument("--nodes", type=int, nargs="*", default=[1000, 10_000, 100_000, 1_000_000])
    ap.add_argument("--nesting", type=int, nargs="*", default=[1000])
    args = ap.parse_args()
    out: Path = args.outdir
    out.mkdir(parents=True, exist_ok=True)
    manifest: dict[str, dict[str, int]] = {}
    for n in args.nodes:
        data, count = build_savedmodel(n)
        write(out / f"sm_{n}" / "saved_model.pb", data)
        manifest[f"sm_{n}"] = {"nodes": count, "bytes": len(data)}
        data, count = build_graphdef(n)
        write(out / f"graph_{n}.pb", data)
        manifest[f"graph_{n}"] = {"nodes": count, "bytes": len(data)}
    for d in args.nesting:
        data, count = build_nested(d)
        write(out / f"nested_{d}" / "saved_model.pb", data)
        manifest[f"nested_{d}"] = {"nodes": count, "bytes": len(data), "depth": d}
    (out / "synthetic_manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(manifest))
    return 0


if __name__ == "__main__":
    sys.exit(main())
