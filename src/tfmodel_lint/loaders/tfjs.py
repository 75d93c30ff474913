"""TensorFlow.js models (``model.json``), graph and layers, read without TensorFlow.js.

* **Graph models** (``"format": "graph-model"``): ``modelTopology`` is a GraphDef in
  protobuf JSON form. Each ``node`` and each ``library.function`` entry is converted with
  ``google.protobuf.json_format.ParseDict(..., ignore_unknown_fields=True)`` into the
  project's ``NodeDef``/``FunctionDef``, one at a time (a bad entry is a finding, the
  rest is still linted), and the result goes through the same GraphDef path as a
  frozen ``.pb``. The converter moves every ``Const`` value into the binary weight
  shards named by ``weightsManifest``; string and small integer weights are decoded
  from the shards (read beside ``model.json`` through the same source, only the byte
  ranges of those weights, bounded, never outside its directory) and put back into
  their ``Const`` nodes, so
  the string dataflow resolves targets such as ``ReadFile``'s file name. The
  ``signature`` is the serving entry point; ``modelInitializer`` nodes run at load.
* **Layers models** (``"format": "layers-model"``): ``modelTopology`` is a Keras model
  config (``{"model_config": {...}}`` or the config itself); it is walked with the
  shared Keras config walker (:mod:`tfmodel_lint.loaders.keras_config`), so Lambda
  layers and custom-object references are reported exactly as for ``.h5``/``.keras``.
"""

from __future__ import annotations

import json
import math
import posixpath
import struct
from typing import Any

from tfmodel_lint.errors import ArtifactError, LimitExceededError, Problem
from tfmodel_lint.findings import Severity
from tfmodel_lint.ir import EntryPoint, ModelIR, Signature
from tfmodel_lint.limits import Limits, check_json
from tfmodel_lint.loaders import ArtifactProblem, LoadContext, Loaded
from tfmodel_lint.sources import Source

MALFORMED = Problem.MALFORMED
NO_MODEL = Problem.NO_MODEL

GRAPH_FORMAT = "tfjs_graph"
LAYERS_FORMAT = "tfjs_layers"
#: Bytes per element of the numeric weight dtypes (after quantization, if any).
ITEM_SIZE = {"float32": 4, "int32": 4, "bool": 1, "complex64": 8, "uint8": 1, "uint16": 2, "float16": 2,
             "int8": 1, "int16": 2, "int64": 8, "float64": 8}
#: DataType of the weight dtypes whose values are put back into the graph.
STRING_DTYPE = 7
INT32_DTYPE = 3
#: Integer weights larger than this keep no value (only small ones feed string ops).
MAX_INT_WEIGHT = 4096
MAX_STRINGS = 4096
#: Most findings about individual bad nodes before the rest are summarised.
MAX_NODE_ISSUES = 50


def _relative_ok(rel: str) -> bool:
    if not rel or rel.startswith(("/", "\\")) or (len(rel) > 1 and rel[1] == ":") or "://" in rel:
        return False
    return ".." not in rel.replace("\\", "/").split("/")


def pb2() -> Any:
    from tfmodel_lint.proto import tfmodel_lint_pb2

    return tfmodel_lint_pb2


def _issue(problem: Problem, message: str, key: str, severity: Severity | None = None) -> ArtifactProblem:
    return ArtifactProblem(problem, message, key=key, severity=severity)


# -- JSON ----------------------------------------------------------------------------


def parse_document(data: bytes, limits: Limits) -> Any:
    if len(data) > limits.max_config_bytes:
        raise LimitExceededError("max_config_bytes", limits.max_config_bytes, f"JSON document is {len(data)} bytes")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ArtifactError(MALFORMED, f"JSON document is not UTF-8: {exc}") from None
    try:
        doc = json.loads(text)
    except RecursionError:
        raise LimitExceededError("max_nesting_depth", limits.max_nesting_depth,
                                 "JSON document nested too deeply to parse") from None
    except ValueError as exc:
        raise ArtifactError(MALFORMED, f"not valid JSON: {exc}") from None
    check_json(doc, limits, "JSON document", strings=len(data) > limits.max_string_bytes)
    return doc


# -- weights -------------------------------------------------------------------------


def _element_count(shape: Any) -> int | None:
    if not isinstance(shape, list) or not all(isinstance(d, int) and not isinstance(d, bool) and d >= 0
                                              for d in shape):
        return None
    return math.prod(shape)


class _Shards:
    """The shards of one manifest group read as one buffer, by byte ranges, through the
    source that holds ``model.json``: only the weights the analysis wants are read."""

    def __init__(self, source: Source, base: str, paths: list[str], limits: Limits) -> None:
        self.source = source
        self.limits = limits
        self.spans: list[tuple[int, int, str]] = []  # (start, end, member)
        self.read_bytes = 0
        start = 0
        for rel in paths:
            member = posixpath.normpath(posixpath.join(base, rel)) if base else posixpath.normpath(rel)
            if not _relative_ok(rel) or not source.exists(member):
                raise KeyError(rel)
            size = source.size(member)
            self.spans.append((start, start + size, member))
            start += size
        self.size = start

    def read(self, offset: int, n: int) -> bytes:
        if offset + n > self.size:
            n = max(0, self.size - offset)
        self.read_bytes += n
        if self.read_bytes > self.limits.max_file_bytes:
            raise LimitExceededError("max_file_bytes", self.limits.max_file_bytes, "TF.js weights read past the limit")
        out = bytearray()
        for start, end, member in self.spans:
            if end <= offset or start >= offset + n:
                continue
            lo = max(offset, start)
            hi = min(offset + n, end)
            out += self.source.read_range(member, lo - start, hi - lo)
        return bytes(out)


def _group_values(group: dict[str, Any], source: Source, base: str, limits: Limits,
                  wanted: set[str], issues: list[ArtifactProblem]) -> dict[str, tuple[str, list[bytes] | bytes]]:
    """Decode the string and small int32 weights of one manifest group."""
    weights = group.get("weights")
    paths = group.get("paths")
    if not isinstance(weights, list) or not isinstance(paths, list) or not all(isinstance(p, str) for p in paths):
        return {}
    if not any(isinstance(w, dict) and isinstance(w.get("name"), str) and w["name"] in wanted for w in weights):
        return {}
    if len(set(paths)) != len(paths):
        issues.append(_issue(MALFORMED, "a weight group lists the same shard more than once; constant values from "
                             "it are unknown", "shard:repeated", Severity.LOW))
        return {}
    try:
        shards = _Shards(source, base, paths, limits)
    except KeyError as exc:
        issues.append(_issue(MALFORMED, f"weight shard {exc.args[0]!r} is missing or outside the model's directory; "
                             "constant values from it are unknown", f"shard:{exc.args[0]}", Severity.LOW))
        return {}
    out: dict[str, tuple[str, list[bytes] | bytes]] = {}
    offset = 0
    for w in weights:
        if not isinstance(w, dict):
            break
        dtype = w.get("dtype")
        count = _element_count(w.get("shape"))
        if count is None:
            break
        quant = w.get("quantization")
        if isinstance(quant, dict) and isinstance(quant.get("dtype"), str):
            dtype_for_size = quant["dtype"]
        else:
            dtype_for_size = dtype
        name = w.get("name")
        if dtype == "string":
            keep = isinstance(name, str) and name in wanted
            values: list[bytes] = []
            for i in range(count):
                head = shards.read(offset, 4)
                if len(head) < 4:
                    return out
                (length,) = struct.unpack("<I", head)
                offset += 4
                if length > limits.max_string_bytes:
                    raise LimitExceededError("max_string_bytes", limits.max_string_bytes,
                                             "a TF.js string weight is too long")
                if offset + length > shards.size:
                    return out
                if keep and i < MAX_STRINGS:
                    values.append(shards.read(offset, length))
                offset += length
                if not keep and i >= MAX_STRINGS:
                    break  # the rest of an unwanted weight cannot be skipped without reading lengths
            if keep and isinstance(name, str):
                out[name] = ("string", values)
            if not keep and count > MAX_STRINGS:
                break
            continue
        size = ITEM_SIZE.get(dtype_for_size) if isinstance(dtype_for_size, str) else None
        if size is None:
            break  # unknown layout: later offsets cannot be trusted
        nbytes = count * size
        if offset + nbytes > shards.size:
            break
        if isinstance(name, str) and name in wanted and dtype == "int32" and dtype_for_size == "int32" \
                and nbytes <= MAX_INT_WEIGHT:
            out[name] = ("int32", shards.read(offset, nbytes))
        offset += nbytes
    return out


def _weights(doc: dict[str, Any], source: Source | None, base: str, limits: Limits, wanted: set[str],
             issues: list[ArtifactProblem]) -> dict[str, Any]:
    manifest = doc.get("weightsManifest")
    if not isinstance(manifest, list) or source is None or not wanted:
        return {}
    out: dict[str, Any] = {}
    for group in manifest:
        if isinstance(group, dict):
            out.update(_group_values(group, source, base, limits, wanted, issues))
    return out


# -- graph models --------------------------------------------------------------------


def _parse_entries(entries: Any, cls: Any, what: str, issues: list[ArtifactProblem], dropped: list[int]) -> list[Any]:
    from google.protobuf import json_format

    out: list[Any] = []
    if not isinstance(entries, list):
        if entries is not None:
            issues.append(_issue(MALFORMED, f"{what} list is a JSON {type(entries).__name__}", f"{what}:type"))
        return out
    for i, entry in enumerate(entries):
        msg = cls()
        try:
            if not isinstance(entry, dict):
                raise TypeError(f"a JSON {type(entry).__name__}, not an object")
            json_format.ParseDict(entry, msg, ignore_unknown_fields=True)
        except Exception as exc:  # noqa: BLE001 - json_format raises many kinds on hostile input
            if len(issues) < MAX_NODE_ISSUES:
                label = entry.get("name") if isinstance(entry, dict) else None
                issues.append(_issue(MALFORMED, f"{what} {i}{f' {label!r}' if isinstance(label, str) else ''} "
                                     f"cannot be read and was skipped: {str(exc)[:300]}", f"{what}:{i}"))
            else:
                dropped[0] += 1
            continue
        out.append(msg)
    return out


def _empty_tensor(nd: Any) -> bool:
    if "value" not in nd.attr:
        return False
    t = nd.attr["value"].tensor
    return not (t.string_val or t.tensor_content or t.float_val or t.int_val or t.int64_val or t.bool_val
                or t.double_val or t.half_val)


def _fill_const(nd: Any, kind: str, value: Any) -> None:
    tensor = nd.attr["value"].tensor
    if kind == "string":
        tensor.dtype = STRING_DTYPE
        del tensor.string_val[:]
        tensor.string_val.extend(value)
    else:
        tensor.dtype = INT32_DTYPE
        tensor.tensor_content = value


def load_graph_model(doc: dict[str, Any], topo: dict[str, Any], display: str, limits: Limits,
                     source: Source | None = None, base: str = "") -> Loaded:
    from tfmodel_lint.loaders.tf_graph import graphdef_model

    mod = pb2()
    issues: list[ArtifactProblem] = []
    dropped = [0]
    nodes = _parse_entries(topo.get("node"), mod.NodeDef, "node", issues, dropped)
    library = topo.get("library")
    functions = _parse_entries(library.get("function") if isinstance(library, dict) else None,
                               mod.FunctionDef, "library function", issues, dropped)
    init = doc.get("modelInitializer")
    init_nodes = _parse_entries(init.get("node") if isinstance(init, dict) else None, mod.NodeDef,
                                "initializer node", issues, dropped)
    if len(nodes) + len(init_nodes) > limits.max_nodes:
        raise LimitExceededError("max_nodes", limits.max_nodes, f"{len(nodes) + len(init_nodes)} nodes")
    if dropped[0]:
        issues.append(_issue(MALFORMED, f"{dropped[0]} more unreadable entries skipped", "entries:more"))
    gd = mod.GraphDef()
    names = {nd.name for nd in nodes}
    for nd in nodes:
        gd.node.add().CopyFrom(nd)
    for nd in init_nodes:
        if nd.name not in names:
            gd.node.add().CopyFrom(nd)
    for fd in functions:
        gd.library.function.add().CopyFrom(fd)
    if not gd.node and not gd.library.function:
        raise ArtifactError(MALFORMED, "TF.js graph model without any readable node")
    consts = {nd.name for nd in gd.node if nd.op == "Const"}
    values = _weights(doc, source, base, limits, consts, issues)
    for nd in gd.node:
        if nd.op != "Const":
            continue
        if nd.name in values:
            _fill_const(nd, *values[nd.name])
        elif _empty_tensor(nd):
            # A weight whose shard is missing, refused or short: unknown, not "".
            del nd.attr["value"]
    model = graphdef_model(gd, display, GRAPH_FORMAT, limits)
    _entry_points(model, doc, [nd.name for nd in init_nodes])
    return Loaded(GRAPH_FORMAT, [model], issues)


def _tensor_map(section: Any) -> dict[str, str]:
    out: dict[str, str] = {}
    if isinstance(section, dict):
        for key, spec in section.items():
            if isinstance(spec, dict) and isinstance(spec.get("name"), str):
                out[str(key)] = spec["name"]
    return out


def _entry_points(model: ModelIR, doc: dict[str, Any], init_nodes: list[str]) -> None:
    signature = doc.get("signature")
    if isinstance(signature, dict):
        inputs = _tensor_map(signature.get("inputs"))
        outputs = _tensor_map(signature.get("outputs"))
        if outputs:
            # TF.js runs what the signature's outputs need, not the whole graph.
            model.entry_points = [EntryPoint("signature:serving_default", False, graph_outputs=tuple(outputs.values()))]
            model.signatures.append(Signature("serving_default", "tfjs", inputs, outputs))
    if init_nodes:
        model.entry_points.append(EntryPoint("init:modelInitializer", True, graph_outputs=tuple(init_nodes)))


# -- layers models -------------------------------------------------------------------


def load_layers_model(doc: dict[str, Any], topo: dict[str, Any], display: str, limits: Limits) -> Loaded:
    from tfmodel_lint.loaders.keras_config import ConfigWalker

    config = topo.get("model_config", topo)
    if not isinstance(config, dict):
        raise ArtifactError(MALFORMED, f"TF.js layers model_config is a JSON {type(config).__name__}")
    model = ModelIR(path=display, format=LAYERS_FORMAT)
    walker = ConfigWalker(limits, member=None)
    root = walker.walk_model(config, "")
    training = doc.get("trainingConfig", topo.get("training_config"))
    if isinstance(training, dict):
        walker.walk_value(training, root, "training_config")
    model.keras_layers = walker.layers
    model.keras_code = walker.code
    model.keras_refs = walker.refs
    model.keras_source = "model.json:modelTopology"
    return Loaded(LAYERS_FORMAT, [model], walker.problems)


# -- entry point ---------------------------------------------------------------------


def classify(doc: Any) -> str | None:
    """``graph``, ``layers`` or None for a JSON document."""
    if not isinstance(doc, dict):
        return None
    topo = doc.get("modelTopology")
    if isinstance(topo, dict):
        if "node" in topo or "library" in topo or doc.get("format") == "graph-model":
            return "graph"
        if "model_config" in topo or "class_name" in topo or doc.get("format") == "layers-model":
            return "layers"
    return None


def load_json(source: Source, member: str, ctx: LoadContext) -> Loaded:
    size = source.size(member)
    if size > ctx.limits.max_config_bytes:
        raise LimitExceededError("max_config_bytes", ctx.limits.max_config_bytes, f"JSON document is {size} bytes")
    doc = parse_document(source.read(member), ctx.limits)
    kind = classify(doc)
    if kind is None:
        raise ArtifactError(NO_MODEL, "JSON document is not a TensorFlow.js model (no modelTopology)")
    topo = doc["modelTopology"]
    if kind == "graph":
        return load_graph_model(doc, topo, ctx.display, ctx.limits, source, posixpath.dirname(member))
    return load_layers_model(doc, topo, ctx.display, ctx.limits)
