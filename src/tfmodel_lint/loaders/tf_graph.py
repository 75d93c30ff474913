"""SavedModel, MetaGraphDef and GraphDef, binary or text, parsed with the project's own
protobuf schema (no TensorFlow). The kind of a ``.pb`` is decided by its content."""

from __future__ import annotations

import mmap
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from google.protobuf import message as pb_message

from tfmodel_lint.errors import ArtifactError, LimitExceededError, Problem
from tfmodel_lint.formats import TEXT_GRAPHDEF, TEXT_METAGRAPH, TEXT_SAVEDMODEL, first_text_field, looks_like_text_proto
from tfmodel_lint.ir import Asset, BoundInput, EntryPoint, Function, ModelIR, RawNodes, Signature
from tfmodel_lint.limits import PROTOBUF_MAX_DEPTH, Limits, text_size
from tfmodel_lint.loaders import LoadContext, Loaded
from tfmodel_lint.loaders.protowire import (
    UNITS_PER_BYTE,
    Counter,
    check_message,
    count_field,
    count_text,
    length_delimited,
    may_exceed,
    table_of,
)
from tfmodel_lint.proto import deeper_than_runtime_limit, too_deep
from tfmodel_lint.sources import Source
from tfmodel_lint.wireformat import WireError, varint

if TYPE_CHECKING:
    from tfmodel_lint.proto.tfmodel_lint_pb2 import GraphDef, MetaGraphDef

GRAPH = "<graph>"
MALFORMED = Problem.MALFORMED
_TEXT_SAVEDMODEL = TEXT_SAVEDMODEL
_TEXT_GRAPHDEF = TEXT_GRAPHDEF
_TEXT_METAGRAPH = TEXT_METAGRAPH


def pb2() -> Any:
    from tfmodel_lint.proto import tfmodel_lint_pb2

    return tfmodel_lint_pb2


def _depth_error(what: str) -> LimitExceededError:
    return LimitExceededError("protobuf_depth", PROTOBUF_MAX_DEPTH,
                              f"{what} protobuf nested deeper than the protobuf runtime decodes")


def _parse_binary(cls: Any, data: bytes, what: str, cap: int) -> Any:
    check_message(cls.DESCRIPTOR, data, cap, f"the {what}")
    msg = cls()
    try:
        msg.ParseFromString(data)
    except RecursionError:
        raise _depth_error(what) from None
    except (pb_message.DecodeError, ValueError, OverflowError) as exc:
        if too_deep(exc, cls.DESCRIPTOR, data):
            raise _depth_error(what) from None
        raise ArtifactError(MALFORMED, f"not a valid {what} protobuf: {exc}") from None
    if deeper_than_runtime_limit(cls.DESCRIPTOR, data):
        raise _depth_error(what)
    return msg


def _parse_text(cls: Any, data: bytes, what: str, cap: int) -> Any:
    from google.protobuf import text_format  # only text artifacts pay for it

    if may_exceed(len(data), cap):
        count_text(data, cap, f"the text {what}")
    msg = cls()
    try:
        text = data.decode("utf-8")
        text_format.Parse(text, msg, allow_unknown_field=True, allow_unknown_extension=True)
    except UnicodeDecodeError as exc:
        raise ArtifactError(MALFORMED, f"text {what} is not UTF-8: {exc}") from None
    except RecursionError:
        raise _depth_error(f"text {what}") from None
    except (text_format.ParseError, ValueError, OverflowError) as exc:
        raise ArtifactError(MALFORMED, f"not a valid text {what}: {exc}") from None
    return msg


def parse_any(data: bytes, name_hint: str, text: bool | None = None, cap: int | None = None) -> tuple[str, Any]:
    """Decide by content whether bytes are a SavedModel, MetaGraphDef or GraphDef.

    Returns (format, message) with format one of savedmodel, savedmodel_text,
    metagraph, metagraph_text, graphdef, graphdef_text. Each parse is refused before
    it decodes more than ``cap`` elements (``max_elements``, the whole file at once).
    """
    mod = pb2()
    if cap is None:
        cap = Limits().max_elements
    if not data:
        raise ArtifactError(MALFORMED, "empty file")
    if text is None:
        text = looks_like_text_proto(data)
    if text:
        field = first_text_field(data)
        if field in _TEXT_SAVEDMODEL:
            return "savedmodel_text", _parse_text(mod.SavedModel, data, "SavedModel", cap)
        if field in _TEXT_METAGRAPH:
            return "metagraph_text", _parse_text(mod.MetaGraphDef, data, "MetaGraphDef", cap)
        if field in _TEXT_GRAPHDEF:
            return "graphdef_text", _parse_text(mod.GraphDef, data, "GraphDef", cap)
        raise ArtifactError(MALFORMED, f"text protobuf with unexpected first field {field!r}")
    tag = data[0]
    if tag == 0x08 or (tag == 0x12 and not name_hint.endswith(".meta")):
        sm = _parse_binary(mod.SavedModel, data, "SavedModel", cap)
        if any(mg.graph_def.node or mg.graph_def.library.function or mg.meta_info_def.tags for mg in sm.meta_graphs):
            return "savedmodel", sm
        if tag == 0x08:
            raise ArtifactError(MALFORMED, "SavedModel without any meta graph")
    if name_hint.endswith(".meta") or tag == 0x0A:
        if name_hint.endswith(".meta"):
            mg = _parse_binary(mod.MetaGraphDef, data, "MetaGraphDef", cap)
            return "metagraph", mg
        gd = _try_graphdef(data, cap)
        if gd is not None:
            return "graphdef", gd
        mg = _parse_binary(mod.MetaGraphDef, data, "MetaGraphDef", cap)
        if mg.graph_def.node or mg.meta_info_def.tensorflow_version:
            return "metagraph", mg
        raise ArtifactError(MALFORMED, "neither a GraphDef nor a MetaGraphDef")
    gd = _try_graphdef(data, cap)
    if gd is not None:
        return "graphdef", gd
    raise ArtifactError(MALFORMED, "not a SavedModel, MetaGraphDef or GraphDef protobuf")


def _try_graphdef(data: bytes, cap: int) -> Any:
    mod = pb2()
    check_message(mod.GraphDef.DESCRIPTOR, data, cap, "the GraphDef")
    gd = mod.GraphDef()
    try:
        gd.ParseFromString(data)
    except RecursionError:
        raise _depth_error("GraphDef") from None
    except (pb_message.DecodeError, ValueError, OverflowError) as exc:
        if too_deep(exc, gd.DESCRIPTOR, data):
            raise _depth_error("GraphDef") from None
        return None
    if deeper_than_runtime_limit(gd.DESCRIPTOR, data):
        raise _depth_error("GraphDef")
    if not gd.node and not gd.library.function:
        return None
    if any(not n.op for n in gd.node[:100]):
        return None
    return gd


def _node_list(nodes: Sequence[Any]) -> Sequence[Any]:
    """A graph's nodes: as parsed, or a :class:`RawNodes` over the bytes of a ``Lazy*`` message."""
    return RawNodes(nodes) if len(nodes) and isinstance(nodes[0], bytes) else nodes


def _functions(graph_def: GraphDef, limits: Limits) -> dict[str, Function]:
    library = graph_def.library.function
    if len(library) > limits.max_functions:
        raise LimitExceededError("max_functions", limits.max_functions, f"{len(library)} library functions")
    out: dict[str, Function] = {}
    for fd in library:
        sig = fd.signature
        out[sig.name] = Function(
            sig.name,
            "function",
            _node_list(fd.node_def),
            [a.name for a in sig.input_arg],
            [a.type for a in sig.input_arg],
            [a.name for a in sig.output_arg],
            dict(fd.ret),
        )
    return out


def _check_nodes(model: ModelIR, limits: Limits) -> None:
    n = model.node_count()
    if n > limits.max_nodes:
        raise LimitExceededError("max_nodes", limits.max_nodes, f"{n} nodes")


def _short(text: str | bytes) -> str:
    shown = text[:60].decode("utf-8", "replace") if isinstance(text, bytes) else text[:60]
    return repr(shown + ("..." if len(text) > 60 else ""))


def _check(text: str | bytes, what: str, limits: Limits) -> None:
    cap = limits.max_string_bytes
    size = text_size(text, cap)
    if size > cap:
        raise LimitExceededError("max_string_bytes", cap, f"{what} is {size} bytes, longer than {cap}")


def _check_all(strings: Iterable[bytes | str], what: str, limits: Limits) -> None:
    """Each of ``strings`` (a repeated field: walked, never copied into a list)."""
    for item in strings:
        _check(item, what, limits)


def _check_attr(value: Any, where: str, limits: Limits, depth: int = 0) -> None:
    kind = value.WhichOneof("value")
    what = f"{where}: a string value"
    if kind == "s":
        _check(value.s, what, limits)
    elif kind == "list":
        _check_all(value.list.s, what, limits)
        for t in value.list.tensor:
            _check_all(t.string_val, what, limits)
        for f in value.list.func:
            _check(f.name, f"{where}: a function name", limits)
    elif kind == "tensor":
        _check_all(value.tensor.string_val, what, limits)
    elif kind == "func":
        _check(value.func.name, f"{where}: a function name", limits)
        if depth < PROTOBUF_MAX_DEPTH:
            for key, inner in value.func.attr.items():
                _check(key, f"{where}: an attr name", limits)
                _check_attr(inner, f"{where}/{_short(key)}", limits, depth + 1)


def check_strings(model: ModelIR, limits: Limits, nodes_too: bool = True) -> None:
    """Refuse a model holding a string longer than ``max_string_bytes``: a function or
    node name, op, input, device, attr key or value, or a string constant's element
    (TFL903 naming the limit); signature keys and tensor names, entry points and asset
    file names too. Numeric tensor contents are data, not strings. ``nodes_too=False``:
    no node is that long (the streamed parse measured them)."""
    for sig in model.signatures:
        for text in (sig.key, sig.method_name, *sig.inputs, *sig.inputs.values(), *sig.outputs,
                     *sig.outputs.values()):
            _check(text, "a signature key, method or tensor name", limits)
    for entry in model.entry_points:
        for text in (entry.name, *entry.functions):
            _check(text, "an entry point name", limits)
    for asset in model.assets:
        _check(asset.filename, "an asset file name", limits)
        _check(asset.tensor_name, "an asset tensor name", limits)
    for func in model.all_functions():
        _check(func.name, "a function name", limits)
        for name in (*func.arg_names, *func.output_names, *func.ret.values()):
            _check(name, f"function {_short(func.name)}: an argument or output name", limits)
        nodes = func.node_defs
        if not nodes_too:
            continue
        for nd in nodes.larger_than(limits.max_string_bytes) if isinstance(nodes, RawNodes) else nodes:
            where = f"node {_short(nd.name)} of {_short(func.name)}"
            for text in (nd.name, nd.op, nd.device):
                _check(text, f"{where}: a name, op, input or device", limits)
            _check_all(nd.input, f"{where}: a name, op, input or device", limits)
            for key, value in nd.attr.items():
                _check(key, f"{where}: an attr name", limits)
                _check_attr(value, f"{where} attr {_short(key)}", limits)


def graphdef_model(graph_def: GraphDef, path: str, fmt: str, limits: Limits) -> ModelIR:
    graph = Function(GRAPH, "graph", _node_list(graph_def.node))
    model = ModelIR(path=path, format=fmt, functions=_functions(graph_def, limits), graph=graph)
    # Everything in a bare GraphDef can be run by whoever loads it.
    model.entry_points.append(EntryPoint("graph", False, whole_graph=True))
    _check_nodes(model, limits)
    return model


def _object_paths(graph: Any) -> dict[int, str]:
    paths: dict[int, str] = {0: ""}
    queue = [0]
    while queue:
        nid = queue.pop(0)
        if nid >= len(graph.nodes):
            continue
        for child in graph.nodes[nid].children:
            if child.node_id not in paths and 0 <= child.node_id < len(graph.nodes):
                base = paths[nid]
                paths[child.node_id] = f"{base}.{child.local_name}" if base else child.local_name
                queue.append(child.node_id)
    return paths


def _escape_local_name(name: str) -> str:
    """A local name as TensorFlow writes it in checkpoint keys ('.' -> '..', '/' -> '.S')."""
    return name.replace(".", "..").replace("/", ".S")


def _checkpoint_paths(graph: Any, wanted: set[int], per_node: int = 4) -> dict[int, list[str]]:
    """Object path(s) of the ``wanted`` nodes as checkpoint keys spell them: local names
    escaped and joined with '/', along the shortest paths from the root (TensorFlow
    names a variable ``<path>/.ATTRIBUTES/VARIABLE_VALUE`` after the first shortest
    path it finds; when several tie, all of them are kept, up to ``per_node``)."""
    depth: dict[int, int] = {0: 0}
    found: dict[int, list[str]] = {0: [""]}
    queue = [0]
    head = 0
    while head < len(queue):
        nid = queue[head]
        head += 1
        if nid >= len(graph.nodes):
            continue
        for child in graph.nodes[nid].children:
            cid = child.node_id
            if not 0 <= cid < len(graph.nodes):
                continue
            if cid not in depth:
                depth[cid] = depth[nid] + 1
                found[cid] = []
                queue.append(cid)
            if depth[cid] == depth[nid] + 1 and len(found[cid]) < per_node:
                name = _escape_local_name(child.local_name)
                for base in found[nid][:per_node]:
                    path = f"{base}/{name}" if base else name
                    if path not in found[cid] and len(found[cid]) < per_node:
                        found[cid].append(path)
    return {nid: found[nid] for nid in wanted if found.get(nid)}


def _variable_paths(og: Any, labels: dict[int, str]) -> dict[str, list[str]]:
    """``{name: [checkpoint object path, ...]}`` for every variable of the object graph,
    keyed by its ``SavedVariable.name`` (several variables may share one: TF2 calls every
    unnamed variable ``Variable``) and by its dotted object path."""
    ids = {nid for nid, obj in enumerate(og.nodes) if obj.WhichOneof("kind") == "variable"}
    ckpt = _checkpoint_paths(og, ids)
    out: dict[str, list[str]] = {}
    for nid in sorted(ids):
        for name in (og.nodes[nid].variable.name, labels.get(nid, "")):
            if name:
                bucket = out.setdefault(name, [])
                bucket.extend(p for p in ckpt.get(nid, ()) if p not in bucket)
    return out


def metagraph_model(mg: MetaGraphDef, path: str, fmt: str, limits: Limits, graph_name: str = GRAPH) -> ModelIR:
    graph = Function(graph_name, "graph", _node_list(mg.graph_def.node))
    model = ModelIR(path=path, format=fmt, functions=_functions(mg.graph_def, limits), graph=graph)
    _check_nodes(model, limits)
    # Signatures and initializers.
    for key in sorted(mg.signature_def):
        sd = mg.signature_def[key]
        inputs = {k: v.name for k, v in sd.inputs.items()}
        outputs = {k: v.name for k, v in sd.outputs.items()}
        if key == "__saved_model_init_op":
            model.entry_points.append(EntryPoint(f"init:{key}", True, graph_outputs=tuple(outputs.values())))
            continue
        model.signatures.append(Signature(key, sd.method_name, inputs, outputs))
        model.entry_points.append(EntryPoint(f"signature:{key}", False, graph_outputs=tuple(outputs.values())))
    for key in ("saved_model_main_op", "main_op", "legacy_init_op", "table_initializer", "init_op"):
        if key in mg.collection_def and mg.collection_def[key].WhichOneof("kind") == "node_list":
            names = tuple(mg.collection_def[key].node_list.value)
            if names:
                model.entry_points.append(EntryPoint(f"init:{key}", True, graph_outputs=names))
    saver = mg.saver_def
    if saver.filename_tensor_name:
        model.saver_filename = saver.filename_tensor_name.partition(":")[0]
    if saver.restore_op_name:
        model.restore_op = saver.restore_op_name.partition(":")[0]
        model.entry_points.append(EntryPoint("restore", True, graph_outputs=(saver.restore_op_name,)))
    for afd in mg.asset_file_def:
        model.assets.append(Asset(afd.filename, afd.tensor_info.name))
    _builder_assets(model, mg, limits)
    _object_graph(model, mg)
    return model


def _builder_assets(model: ModelIR, mg: MetaGraphDef, limits: Limits) -> None:
    """TF1 ``SavedModelBuilder`` exports list their assets in the collection
    ``saved_model_assets`` (``AssetFileDef`` messages packed in ``Any``), not in
    ``asset_file_def``. The project schema leaves that collection kind out; its bytes
    are kept as unknown fields and decoded here (counted first: ``max_elements``)."""
    if "saved_model_assets" not in mg.collection_def:
        return
    from google.protobuf import any_pb2

    known = {(a.filename, a.tensor_name) for a in model.assets}
    raw = mg.collection_def["saved_model_assets"].SerializeToString()
    for data in length_delimited(raw, 5):  # CollectionDef.any_list
        check_message(pb2().CollectionDef.BytesList.DESCRIPTOR, data, limits.max_elements, "saved_model_assets")
        try:
            for packed in pb2().CollectionDef.BytesList.FromString(data).value:  # AnyList: repeated Any = 1
                message = any_pb2.Any.FromString(packed)
                if not message.type_url.endswith("tensorflow.AssetFileDef"):
                    continue
                afd = pb2().AssetFileDef.FromString(message.value)
                asset = (afd.filename, afd.tensor_info.name)
                if afd.filename and asset not in known:
                    known.add(asset)
                    model.assets.append(Asset(*asset))
        except (pb_message.DecodeError, RecursionError, ValueError):
            continue


#: Bytes of one asset file read for the analysis (a path hidden in an asset's content);
#: a larger asset is not read, and the analysis says so where its content matters.
ASSET_CONTENT_BYTES = 64 << 10
ASSET_CONTENT_FILES = 256


def asset_contents_hook(source: Source, ctx: LoadContext, loaded: Loaded) -> None:
    """SavedModel hook: the contents of the model's own asset files (bounded, never
    executed) on every loaded model, for the string interpreter."""
    limits = ctx.limits
    for model in loaded.models:
        for asset in model.assets[:ASSET_CONTENT_FILES]:
            name = asset.filename
            if name in model.asset_contents:
                continue
            parts = name.split("/")
            if not name or "\\" in name or "\x00" in name or any(p in ("", ".", "..") for p in parts):
                model.asset_contents[name] = None
                continue
            member = f"assets/{name}"
            content: bytes | None = None
            try:
                if source.exists(member) and source.size(member) <= min(ASSET_CONTENT_BYTES, limits.max_file_bytes):
                    content = source.read(member)
            except (OSError, KeyError, ArtifactError, LimitExceededError):
                content = None
            model.asset_contents[name] = content


def _object_graph(model: ModelIR, mg: MetaGraphDef) -> None:
    og = mg.object_graph_def
    if not og.nodes:
        return
    paths = _object_paths(og)
    model.variable_paths = _variable_paths(og, paths)
    bound: dict[str, dict[int, BoundInput]] = {}
    entries: dict[str, str] = {}
    saver_fns: set[str] = set()
    for nid, obj in enumerate(og.nodes):
        kind = obj.WhichOneof("kind")
        where = paths.get(nid, f"node {nid}")
        if kind == "function":
            names = tuple(obj.function.concrete_functions)
        elif kind == "bare_concrete_function":
            names = (obj.bare_concrete_function.concrete_function_name,)
        else:
            names = ()
        if names:
            model.entry_points.append(EntryPoint(f"object:{where or 'root'}", False, functions=names))
            for n in names:
                entries.setdefault(n, f"object method '{where or 'root'}'")
        for sname, saveable in obj.saveable_objects.items():
            for fid, at_load in ((saveable.save_function, False), (saveable.restore_function, True)):
                if 0 < fid < len(og.nodes) and og.nodes[fid].WhichOneof("kind") == "function":
                    fnames = tuple(og.nodes[fid].function.concrete_functions)
                    saver_fns.update(fnames)
                    if at_load:
                        model.entry_points.append(EntryPoint(f"checkpoint:{where}.{sname}", True, functions=fnames))
    for fname, cf in og.concrete_functions.items():
        func = model.functions.get(fname)
        if func is None or not cf.bound_inputs:
            continue
        first = len(func.arg_names) - len(cf.bound_inputs)
        binding: dict[int, BoundInput] = {}
        for k, nid in enumerate(cf.bound_inputs):
            if not 0 <= nid < len(og.nodes):
                continue
            obj = og.nodes[nid]
            kind = obj.WhichOneof("kind")
            label = paths.get(nid, f"node {nid}")
            if kind == "asset":
                idx = obj.asset.asset_file_def_index
                afd = mg.asset_file_def
                binding[first + k] = ("asset", afd[idx].filename if 0 <= idx < len(afd) else label)
            elif kind == "variable":
                binding[first + k] = ("variable", label or obj.variable.name)
            elif kind == "constant":
                binding[first + k] = ("graph_node", obj.constant.operation)
            else:
                binding[first + k] = ("op_output", f"captured {kind or 'object'} '{label}'")
        bound[fname] = binding
    for name in saver_fns:
        entries[name] = "__saver__"
    model.bound_inputs = bound
    model.entry_functions = entries
    # The keras_metadata of user objects (legacy Keras SavedModel) for the Keras loader.
    model.object_metadata = [
        (paths.get(nid, ""), obj.user_object.identifier, obj.user_object.metadata)
        for nid, obj in enumerate(og.nodes)
        if obj.WhichOneof("kind") == "user_object" and obj.user_object.metadata
    ]


def savedmodel_models(sm: Any, path: str, fmt: str, limits: Limits) -> list[ModelIR]:
    metas: Sequence[Any] = sm.meta_graphs
    if not metas:
        raise ArtifactError(MALFORMED, "SavedModel without any meta graph")
    out = []
    for mg in metas:
        name = GRAPH if len(metas) == 1 else f"<graph:{','.join(mg.meta_info_def.tags)}>"
        out.append(metagraph_model(mg, path, fmt, limits, name))
    return out


def models_from_bytes(
    data: bytes, name_hint: str, path: str, limits: Limits, text: bool | None = None
) -> tuple[str, list[ModelIR]]:
    fmt, msg = parse_any(data, name_hint, text, limits.max_elements)
    return _models_of(fmt, msg, path, limits, len(data))


def _models_of(fmt: str, msg: Any, path: str, limits: Limits, size: int,
               largest_node: int | None = None) -> tuple[str, list[ModelIR]]:
    if fmt.startswith("savedmodel"):
        models = savedmodel_models(msg, path, fmt, limits)
    elif fmt.startswith("metagraph"):
        model = metagraph_model(msg, path, fmt, limits)
        if not model.entry_points and model.graph is not None:
            # A standalone .meta is loaded with import_meta_graph, after which any op
            # can be run by name: like a bare GraphDef, all of it is reachable.
            model.entry_points.append(EntryPoint("graph", False, whole_graph=True))
        models = [model]
    else:
        models = [graphdef_model(msg, path, fmt, limits)]
    if size > limits.max_string_bytes:  # no string can be longer than the document
        nodes_too = largest_node is None or largest_node > limits.max_string_bytes
        for model in models:
            check_strings(model, limits, nodes_too)
    return fmt, models


# ------------------------------------------------------------------ streamed parsing
#
# ``ParseFromString`` of a whole file holds the file's bytes and the message being
# built at once. A large binary SavedModel, MetaGraphDef or GraphDef is instead walked
# and merged piece by piece (from a memory map when it is a file on disk): the wire
# format is walked only down the few fields that hold the bulk of a graph
# (SavedModel.meta_graphs -> MetaGraphDef.graph_def -> GraphDef.library -> each
# library function), runs of whole fields are merged with ``MergeFromString`` (protobuf
# defines the merge of concatenated pieces as the parse of the whole), and pages already
# merged are dropped from memory. It parses into the ``Lazy*`` messages of the schema,
# whose node lists stay serialized (``ir.RawNodes``): decoded, a NodeDef costs several
# times its bytes (10^6-node inputs: ~7.6x the file as messages, ~1.4x as bytes). Each
# node is decoded once here, as the whole parse would; a malformed one, or anything else
# unusual (a bad field, a group, a message the checks below would not take), sends the
# file down the whole-bytes path, so results and error messages stay those of
# :func:`parse_any`. (One difference: protobuf's nesting limit of 100 then counts from
# the node, not from the file's top message: nodes nested up to 5 levels deeper pass.)
#
# Memory is bounded before anything is merged: the walk counts nodes and library
# functions (``max_nodes``, ``max_functions``) and, with :mod:`protowire`, the elements
# every other field will decode into the message (``max_elements``, for everything but
# the node lists together); a node that could hold more than ``max_elements`` is counted
# on its own before it is ever decoded.

#: Files smaller than this are parsed whole (faster for them); whatever they hold,
#: they cannot decode to more than the default ``max_elements`` (see :func:`_whole_cap`).
STREAM_MIN_BYTES = 512 << 10
_STREAM_PIECE = 1 << 20


class _Spec:
    """How the streamed walk treats one message type: ``into`` the fields walked into
    (number -> (name, repeated)), ``nodes`` the number of its node list (0: none),
    ``raw`` whether the nodes stay bytes, ``functions`` the number of its function
    list, ``model`` whether it starts a model (node and function counts restart)."""

    __slots__ = ("functions", "into", "model", "nodes", "raw")

    def __init__(self, into: dict[int, tuple[str, bool]] | None = None, nodes: int = 0, raw: bool = False,
                 functions: int = 0, model: bool = False) -> None:
        self.into = into or {}
        self.nodes, self.raw, self.functions, self.model = nodes, raw, functions, model


_PLAIN = _Spec()
_STREAM_SPECS: dict[str, _Spec] = {
    "tfmodel_lint.SavedModel": _Spec({2: ("meta_graphs", True)}),
    "tfmodel_lint.MetaGraphDef": _Spec({2: ("graph_def", False)}, model=True),
    "tfmodel_lint.GraphDef": _Spec({2: ("library", False)}, nodes=1),
    "tfmodel_lint.FunctionDefLibrary": _Spec({1: ("function", True)}, functions=1),
    "tfmodel_lint.FunctionDef": _Spec(nodes=3),
    "tfmodel_lint.LazySavedModel": _Spec({2: ("meta_graphs", True)}),
    "tfmodel_lint.LazyMetaGraphDef": _Spec({2: ("graph_def", False)}, model=True),
    "tfmodel_lint.LazyGraphDef": _Spec({2: ("library", False)}, nodes=1, raw=True),
    "tfmodel_lint.LazyFunctionDefLibrary": _Spec({1: ("function", True)}, functions=1),
    "tfmodel_lint.LazyFunctionDef": _Spec(nodes=3, raw=True),
}


class _Decline(Exception):
    """The streamed parse gives up; the caller parses the whole bytes instead."""


def _node_label(view: memoryview, start: int, end: int) -> str:
    """The name of a serialized node, when it comes first (as TensorFlow writes it)."""
    if end - start > 2 and view[start] == 0x0A and view[start + 1] < 0x80:
        name = bytes(view[start + 2:min(start + 2 + view[start + 1], end, start + 62)])
        return f"node {_short(name)}"
    return "a node"


class _Stream:
    def __init__(self, buf: mmap.mmap | bytes, limits: Limits) -> None:
        self.buf = buf
        self.view = memoryview(buf)
        self.released = 0  # bytes [0, released) already dropped from memory
        self.limits = limits
        self.cap = limits.max_elements
        #: Elements merged into the message (everything but nodes kept as bytes).
        self.counter = Counter(self.cap, "the graph apart from its nodes")
        #: Nodes up to this size cannot hold more than ``cap`` elements: not counted.
        self.node_skip = self.cap // UNITS_PER_BYTE
        self.nodes = 0
        self.functions = 0
        #: The largest node measured (those over ``node_skip``), for :func:`check_strings`.
        self.largest = 0
        from tfmodel_lint.proto import tfmodel_lint_pb2

        self.node_desc = tfmodel_lint_pb2.NodeDef.DESCRIPTOR

    def varint(self, i: int, end: int) -> tuple[int, int]:
        try:
            return varint(self.view, i, end)
        except WireError:
            raise _Decline from None

    def merge(self, msg: Any, start: int, end: int) -> None:
        if start < end:
            try:
                msg.MergeFromString(self.view[start:end])
            except (pb_message.DecodeError, ValueError, OverflowError, RecursionError):
                raise _Decline from None
        page = end - end % mmap.PAGESIZE
        if page - self.released >= _STREAM_PIECE and isinstance(self.buf, mmap.mmap) \
                and hasattr(mmap, "MADV_DONTNEED"):
            self.buf.madvise(mmap.MADV_DONTNEED, self.released, page - self.released)
            self.released = page

    def too_many_nodes(self) -> LimitExceededError:
        cap = self.limits.max_nodes
        return LimitExceededError("max_nodes", cap, f"more than {cap} nodes")

    def node(self, spec: _Spec, table: Any, start: int, end: int) -> None:
        """The elements of one node (``view[start:end]``) against ``max_elements``: on its
        own when it stays bytes (it is decoded alone), else with the rest."""
        if not spec.raw:
            self.field(table, spec.nodes, start, end)
        elif end - start > self.node_skip:
            self.largest = max(self.largest, end - start)
            Counter(self.cap, _node_label(self.view, start, end)).message(self.node_desc, self.view, start, end)

    def field(self, table: Any, number: int, start: int, end: int) -> None:
        """A field merged whole: its elements count against ``max_elements``."""
        count_field(self.counter, table, number, self.view, start, end)

    def walk(self, msg: Any, start: int, end: int) -> None:
        spec = _STREAM_SPECS.get(msg.DESCRIPTOR.full_name, _PLAIN)
        table = table_of(msg.DESCRIPTOR)
        into = spec.into
        if spec.model:
            self.nodes = self.functions = 0  # limits per model
        node_tag = spec.nodes << 3 | 2 if spec.nodes else -1
        # Nodes larger than this are counted; all of them when they are decoded with the rest.
        node_skip = self.node_skip if spec.raw else -1
        max_nodes = self.limits.max_nodes
        counter = self.counter
        pending = i = start
        view = self.view
        while i < end:
            field_start = i
            if view[i] == node_tag and i + 2 < end:
                # Fast path for the bulk: a run of nodes, each with a one- or two-byte
                # length. The node count is checked before each merge and at the end of
                # the run (what is merged stays within one piece of the limit).
                nodes = self.nodes
                while True:
                    size = view[i + 1]
                    if size < 0x80:
                        i += 2
                    elif view[i + 2] < 0x80:
                        size = (size & 0x7F) | (view[i + 2] << 7)
                        i += 3
                    else:
                        size, i = self.varint(i + 1, end)
                    if i + size > end:
                        raise _Decline
                    nodes += 1
                    if size > node_skip:
                        self.node(spec, table, i, i + size)
                    i += size
                    if i - pending >= _STREAM_PIECE:
                        if nodes > max_nodes:
                            raise self.too_many_nodes()
                        self.merge(msg, pending, i)
                        pending = i
                    if i + 2 >= end or view[i] != node_tag:
                        break
                self.nodes = nodes
                if nodes > max_nodes:
                    raise self.too_many_nodes()
                continue
            tag, i = self.varint(i, end)
            wire = tag & 7
            number = tag >> 3
            if wire == 2:
                size, i = self.varint(i, end)
                if i + size > end:
                    raise _Decline
                if number in into:
                    self.merge(msg, pending, field_start)
                    name, repeated = into[number]
                    if number == spec.functions:
                        self.functions += 1
                        if self.functions > self.limits.max_functions:
                            raise LimitExceededError("max_functions", self.limits.max_functions,
                                                     f"more than {self.limits.max_functions} library functions")
                    counter.count += 1
                    sub = getattr(msg, name)
                    # A repeated field gets a new element; a singular one merges.
                    self.walk(sub.add() if repeated else sub, i, i + size)
                    i = pending = i + size
                    continue
                if number == spec.nodes:
                    self.nodes += 1
                    if self.nodes > max_nodes:
                        raise self.too_many_nodes()
                    self.node(spec, table, i, i + size)
                else:
                    self.field(table, number, i, i + size)
                i += size
            elif wire in (0, 1, 5):
                if wire == 0:
                    _, i = self.varint(i, end)
                else:
                    i += 8 if wire == 1 else 4
                counter.count += 1
                if counter.count > self.cap:
                    raise counter.exceeded()
            else:
                raise _Decline  # groups and invalid wire types: the whole-bytes parse says what is wrong
            if i > end:
                raise _Decline
            if i - pending >= _STREAM_PIECE:
                self.merge(msg, pending, i)
                pending = i
        self.merge(msg, pending, end)


def _nodes_decode(graphs: list[Any]) -> bool:
    """Whether every node of ``Lazy*`` graphs decodes, as the whole parse requires."""
    decode = pb2().NodeDef.FromString
    try:
        for gd in graphs:
            for nodes in (gd.node, *(fd.node_def for fd in gd.library.function)):
                for raw in nodes:
                    decode(raw)
    except (pb_message.DecodeError, RecursionError):
        return False
    return True


def stream_parse(cls: Any, buf: mmap.mmap | bytes, limits: Limits | None = None) -> Any:
    """Parse a binary message piece by piece (see above); :class:`_Decline` if not,
    :class:`LimitExceededError` before a limit would be passed."""
    return _stream_parse(cls, buf, limits or Limits())[0]


def _stream_parse(cls: Any, buf: mmap.mmap | bytes, limits: Limits) -> tuple[Any, int | None]:
    """The message and the size of its largest node, if only nodes up to
    ``max_string_bytes`` may have gone unmeasured (else ``None``)."""
    msg = cls()
    stream = _Stream(buf, limits)
    try:
        stream.walk(msg, 0, len(buf))
    finally:
        stream.view.release()
    return msg, stream.largest if limits.max_string_bytes >= stream.node_skip else None


def _stream_models(buf: mmap.mmap | bytes, name_hint: str,
                   limits: Limits) -> tuple[str, Any, list[Any], int | None] | None:
    """(format, Lazy message, its graphs, largest node) of a mapped or in-memory binary
    protobuf, or ``None`` when the streamed parse does not take it."""
    mod = pb2()
    tag = buf[0]
    try:
        if name_hint.endswith(".meta"):
            msg, largest = _stream_parse(mod.LazyMetaGraphDef, buf, limits)
            return "metagraph", msg, [msg.graph_def], largest
        if tag in (0x08, 0x12):
            msg, largest = _stream_parse(mod.LazySavedModel, buf, limits)
            if not any(mg.graph_def.node or mg.graph_def.library.function or mg.meta_info_def.tags
                       for mg in msg.meta_graphs):
                return None
            return "savedmodel", msg, [mg.graph_def for mg in msg.meta_graphs], largest
        if tag == 0x0A:
            msg, largest = _stream_parse(mod.LazyGraphDef, buf, limits)
            if (not msg.node and not msg.library.function) or any(
                    not mod.NodeDef.FromString(n).op for n in msg.node[:100]):
                return None
            return "graphdef", msg, [msg], largest
    except (_Decline, pb_message.DecodeError, RecursionError):
        return None
    return None


def models_from_path(file: Path, name_hint: str, path: str, limits: Limits) -> tuple[str, list[ModelIR]] | None:
    """The models of a large binary SavedModel, MetaGraphDef or GraphDef on disk, parsed
    streamed from a memory map; ``None`` when the file is small or not one the streamed
    parse takes, for the caller to read it whole and use :func:`models_from_bytes`."""
    try:
        with file.open("rb") as fh:
            size = fh.seek(0, 2)
            if size < STREAM_MIN_BYTES or size > limits.max_file_bytes:
                return None
            buf = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
    except (OSError, ValueError):
        return None  # not mappable (a pipe, an empty file...): read it whole
    try:
        parsed = _stream_models(buf, name_hint, limits)
    finally:
        try:
            buf.close()
        except BufferError:  # a view still alive (an exception's frames): the mapping goes with it
            pass
    if parsed is None:
        return None
    return _finish(parsed, size, path, limits)


def _finish(parsed: tuple[str, Any, list[Any], int | None], size: int, path: str,
            limits: Limits) -> tuple[str, list[ModelIR]] | None:
    fmt, msg, graphs, largest = parsed
    # The nodes are still bytes: decode each once, as the whole parse would have (a
    # malformed one sends the file down the whole-bytes path and its error), keeping
    # every node's op and name hash for the analyses (RawNodes.scan).
    try:
        out = _models_of(fmt, msg, path, limits, size, largest)
    except LimitExceededError:
        if not _nodes_decode(graphs):
            return None
        raise
    try:
        for model in out[1]:
            for func in model.all_functions():
                if isinstance(func.node_defs, RawNodes):
                    func.node_defs.scan()
    except (pb_message.DecodeError, RecursionError):
        return None
    return out


def models_streamed(data: bytes, name_hint: str, path: str, limits: Limits) -> tuple[str, list[ModelIR]] | None:
    """:func:`models_from_path` for bytes already in memory (an archive member)."""
    if len(data) < STREAM_MIN_BYTES:
        return None
    parsed = _stream_models(data, name_hint, limits)
    return None if parsed is None else _finish(parsed, len(data), path, limits)


# ------------------------------------------------------------------ loader entry points


def _read_models(source: Source, member: str, ctx: LoadContext, text: bool) -> tuple[str, list[ModelIR]]:
    """Models of a (Saved/Meta)GraphDef member: a large binary one on disk is parsed
    streamed, never held whole in memory."""
    name = member.rsplit("/", 1)[-1]
    on_disk = None if text else source.local_path(member)
    streamed = models_from_path(on_disk, name, ctx.display, ctx.limits) if on_disk is not None else None
    if streamed is not None:
        return streamed
    data = source.read(member)
    if data.startswith(b"version https://git-lfs"):
        raise ArtifactError(Problem.LFS_POINTER, f"{name} is a Git LFS pointer; run 'git lfs pull'")
    streamed = None if text or on_disk is not None else models_streamed(data, name, ctx.display, ctx.limits)
    if streamed is not None:
        return streamed
    return models_from_bytes(data, name, ctx.display, ctx.limits, text=text)


def load_protobuf(source: Source, member: str, ctx: LoadContext) -> Loaded:
    """A binary SavedModel, MetaGraphDef (``.meta``) or GraphDef: the content decides."""
    fmt, models = _read_models(source, member, ctx, text=False)
    return Loaded(fmt, models)


def load_protobuf_text(source: Source, member: str, ctx: LoadContext) -> Loaded:
    fmt, models = _read_models(source, member, ctx, text=True)
    return Loaded(fmt, models)


def load_savedmodel(source: Source, member: str, ctx: LoadContext) -> Loaded:
    """The ``saved_model.pb`` (or ``.pbtxt``) of a SavedModel rooted at ``source``."""
    text = not source.exists("saved_model.pb")
    name = "saved_model.pbtxt" if text else "saved_model.pb"
    fmt, models = _read_models(source, name, ctx, text=text)
    if not fmt.startswith("savedmodel"):
        raise ArtifactError(Problem.MALFORMED, f"{name} holds a {fmt.split('_')[0]}, not a SavedModel")
    return Loaded("savedmodel" + ("_text" if text else ""), models)
