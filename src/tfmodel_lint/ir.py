"""The normalized model representation every rule reads.

Loaders turn each artifact format into a :class:`ModelIR`; rules never see raw files.
Graph-shaped formats (SavedModel, GraphDef, MetaGraph, TFLite Flex ops, TF.js) become
:class:`Function` objects holding ``NodeDef`` messages of the project's own protobuf
schema, so attributes have one representation whatever the source format (a large
graph keeps them serialized and decodes them when read: :class:`RawNodes`). Work that
only some rules need (name indexes, the call graph, reachability) is computed lazily
and cached on the IR, so a graph of a million nodes costs one linear pass per facet.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast, overload

from tfmodel_lint._records import dataclass, field

if TYPE_CHECKING:
    from tfmodel_lint.proto.tfmodel_lint_pb2 import AttrValue, NodeDef

_T = TypeVar("_T")

#: Call-like ops and the attributes that hold their callee(s), with how the call's
#: inputs bind to the callee's arguments: the number of leading inputs to skip.
CALL_ATTRS: Mapping[str, tuple[tuple[str, int], ...]] = {
    "PartitionedCall": (("f", 0),),
    "StatefulPartitionedCall": (("f", 0),),
    "TPUPartitionedCall": (("f", 0),),
    "If": (("then_branch", 1), ("else_branch", 1)),
    "StatelessIf": (("then_branch", 1), ("else_branch", 1)),
    "While": (("cond", 0), ("body", 0)),
    "StatelessWhile": (("cond", 0), ("body", 0)),
    "Case": (("branches", 1),),
    "StatelessCase": (("branches", 1),),
    "RemoteCall": (("f", 1),),
    "SymbolicGradient": (("f", 0),),
}

STRING_DTYPE = 7  # DataType.DT_STRING
#: Marks the place of a piece that could not be computed or was cut inside a partly
#: known string value (a constant, a checkpoint value).
HOLE = b"\x00<?>\x00"

#: Common ops that have no function-valued attribute in TensorFlow's registry (checked
#: by a test against TF 2.21): the call graph does not scan their attributes. Every
#: other op, custom and unknown ops included, is scanned.
NO_FUNCTION_ATTR_OPS: frozenset[str] = frozenset({
    "Abort", "Abs", "Add", "AddV2", "ArgMax", "AssignVariableOp", "AvgPool", "BatchMatMulV2", "BiasAdd",
    "BroadcastTo", "CSVDatasetV2", "Cast", "ConcatV2", "Const", "Conv2D", "Conv2DBackpropInput", "Cumsum",
    "DataServiceDatasetV2", "DatasetToSingleElement", "DebugIdentity", "DebugIdentityV2", "DebugIdentityV3",
    "DebugNumericSummary", "DecodeBase64", "DenseBincount", "DepthwiseConv2dNative", "DisableCopyOnRead",
    "DistributedSave", "DummyIterationCounter", "EagerPyFunc", "Einsum", "Equal", "Erf", "Exp", "ExpandDims",
    "ExperimentalCSVDataset", "ExperimentalMatchingFilesDataset", "Fill", "FixedLengthRecordDataset",
    "FixedLengthRecordDatasetV2", "FloorDiv", "FloorMod", "FusedBatchNormV3", "GatherV2", "Greater",
    "GreaterEqual", "HashTable", "HashTableV2", "Identity", "IdentityN", "ImmutableConst",
    "InitializeTableFromTextFile", "InitializeTableFromTextFileV2", "Less", "LessEqual", "Log", "LogSoftmax",
    "LogicalAnd", "LogicalNot", "LogicalOr", "LookupTableExport", "LookupTableExportV2", "LookupTableFindV2",
    "LookupTableImportV2", "MatMul", "MatchingFiles", "MatchingFilesDataset", "Max", "MaxPool", "Maximum",
    "Mean", "MergeV2Checkpoints", "Min", "Minimum", "Mul", "Neg", "NoOp", "NotEqual", "OneHot", "OnesLike",
    "Pack", "Pad", "PadV2", "Placeholder", "PlaceholderWithDefault", "Pow", "PrintV2", "Prod", "PyFunc",
    "PyFuncStateless", "Range", "Rank", "ReadFile", "ReadVariableOp", "RealDiv", "ReduceJoin",
    "RegisterDataset", "RegisterDatasetV2", "Relu", "Relu6", "Reshape", "ResizeBilinear", "ResourceGather",
    "RestoreV2", "ReverseV2", "RpcCall", "RpcClient", "Rsqrt", "Save", "SaveSlices", "SaveV2", "Select",
    "SelectV2", "Shape", "ShardedFilename", "Sigmoid", "Size", "SleepDataset", "Slice", "Snapshot", "Softmax",
    "Softplus", "Split", "SplitV", "Sqrt", "Square", "Squeeze", "StaticRegexFullMatch", "StaticRegexReplace",
    "StopGradient", "StridedSlice", "StringFormat", "StringJoin", "StringLength", "StringSplit",
    "StringStrip", "Sub", "Substr", "Sum", "TFRecordDataset", "TFRecordDatasetV2", "TakeDataset", "Tanh",
    "TensorDataset", "TensorListFromTensor", "TensorListGetItem", "TensorListReserve", "TensorListSetItem",
    "TensorListStack", "TensorSliceDataset", "TextLineDataset", "Tile", "Transpose", "UncompressElement",
    "Unpack", "VarHandleOp", "VarIsInitializedOp", "WriteFile", "ZerosLike",
})


@dataclass(frozen=True, slots=True)
class Edge:
    """A resolved data input: a node's output, or an argument of the enclosing function."""

    function: Function
    node: NodeDef | None
    output: str  # output arg name (functions) or "" (graphs)
    index: int  # index within that output arg (functions) or flat output index (graphs)
    arg: str | None = None  # the function argument, when node is None

    @property
    def is_arg(self) -> bool:
        return self.node is None


@dataclass(frozen=True, slots=True)
class CallSite:
    """A node that calls a function, and how its inputs bind to the callee's args."""

    caller: Function
    node: NodeDef
    attr: str
    skip_inputs: int  # inputs before the first bound argument (If's predicate, ...)
    bound: bool  # False when the binding is unknown (dataset function attrs, ...)


class RawNodes(Sequence["NodeDef"]):
    """The NodeDefs of a large graph kept serialized (one ``bytes`` each, as the
    ``Lazy*`` messages of the schema parse them) and decoded when read: a decoded
    ``NodeDef`` costs several times its serialized size, and most nodes are only ever
    looked at for their op. Every read decodes afresh (a new message each time).

    :meth:`scan` decodes each node once, keeping its op and the hash of its name,
    so that a pass over the graph can pick the few nodes it needs by op
    (:meth:`Function.nodes_with_op`) without decoding the rest again.
    """

    __slots__ = ("_decode", "_hashes", "_ops", "_raw")

    def __init__(self, raw: Sequence[bytes]) -> None:
        from tfmodel_lint.proto.tfmodel_lint_pb2 import NodeDef

        self._raw = raw
        self._decode = NodeDef.FromString
        self._ops: list[str] | None = None
        self._hashes: array[int] | None = None

    def __len__(self) -> int:
        return len(self._raw)

    @overload
    def __getitem__(self, index: int) -> NodeDef: ...

    @overload
    def __getitem__(self, index: slice) -> list[NodeDef]: ...

    def __getitem__(self, index: int | slice) -> NodeDef | list[NodeDef]:
        if isinstance(index, slice):
            return [self._decode(raw) for raw in self._raw[index]]
        return self._decode(self._raw[index])

    def __iter__(self) -> Iterator[NodeDef]:
        decode = self._decode
        for raw in self._raw:
            yield decode(raw)

    def larger_than(self, size: int) -> Iterator[NodeDef]:
        """The nodes whose serialized form exceeds ``size`` bytes: only these can hold a
        string (name, attr value...) longer than ``size``."""
        decode = self._decode
        for raw in self._raw:
            if len(raw) > size:
                yield decode(raw)

    def raw_bytes(self) -> int:
        """Bytes of all the nodes, serialized."""
        return sum(len(raw) for raw in self._raw)

    def scan(self) -> tuple[list[str], array[int]]:
        """Every node's op (the strings shared) and ``hash()`` of its name."""
        if self._ops is None or self._hashes is None:
            shared: dict[str, str] = {}
            ops: list[str] = []
            hashes = array("q")
            for nd in self:
                op = nd.op
                ops.append(shared.setdefault(op, op))
                hashes.append(hash(nd.name))
            self._ops, self._hashes = ops, hashes
        return self._ops, self._hashes


#: Graph bodies up to this many nodes get a plain ``{name: NodeDef}`` index; larger
#: ones a :class:`_HashIndex`, 16 bytes a node instead of a few hundred.
DICT_INDEX_MAX = 4096
#: ... unless their nodes are kept serialized and hold more than this many bytes: the
#: dict would hold every node decoded (a few fat nodes, each just under max-elements,
#: decode to gigabytes).
DICT_INDEX_BYTES = 16 << 20


class _HashIndex:
    """Name lookup for a large node list without a Python object per node.

    An open-addressing table in one ``array('q')`` of twice the node count (16 bytes
    a node): a slot holds the top bits of ``hash(name)`` with the node's position in
    the low bits, or -1. A lookup walks the slots from the name's home slot to the
    next empty one and compares the names of nodes whose hash bits match; as with a
    dict built in order, the last node of a duplicated name wins. A duplicated name
    takes over its earlier node's slot when the index is built, so 100,000 nodes all
    named ``x`` cost one slot and a short probe each, not a probe over all the others.
    """

    __slots__ = ("_mask", "_nodes", "_shift", "_table")

    def __init__(self, nodes: Sequence[NodeDef]) -> None:
        self._nodes = nodes
        shift = self._shift = max(1, len(nodes)).bit_length()
        mask = self._mask = (1 << (shift + 1)) - 1
        table = self._table = array("q", [-1]) * (mask + 1)
        hashes = nodes.scan()[1] if isinstance(nodes, RawNodes) else (hash(nd.name) for nd in nodes)
        low = (1 << shift) - 1
        for i, h in enumerate(hashes):
            slot = h & mask
            top = h >> shift
            name: str | None = None
            while (key := table[slot]) != -1:
                if key >> shift == top:
                    if name is None:
                        name = nodes[i].name
                    if nodes[key & low].name == name:
                        break  # the same name again: the later node takes the slot
                slot = (slot + 1) & mask
            table[slot] = (top << shift) | i

    def get(self, name: str) -> NodeDef | None:
        shift, mask, table, nodes = self._shift, self._mask, self._table, self._nodes
        h = hash(name)
        top = h >> shift
        low = (1 << shift) - 1
        found = -1
        slot = h & mask
        while (key := table[slot]) != -1:
            if key >> shift == top and key & low > found and nodes[key & low].name == name:
                found = key & low
            slot = (slot + 1) & mask
        return nodes[found] if found >= 0 else None


class Function:
    """A graph body: the top-level ``GraphDef`` or one library ``FunctionDef``.

    Nodes are kept as ``NodeDef`` messages; the name index is built on first use.
    """

    __slots__ = ("_index", "arg_dtypes", "arg_names", "kind", "name", "node_defs", "output_names", "ret")

    def __init__(
        self,
        name: str,
        kind: str,
        node_defs: Sequence[NodeDef],
        arg_names: Sequence[str] = (),
        arg_dtypes: Sequence[int] = (),
        output_names: Sequence[str] = (),
        ret: Mapping[str, str] | None = None,
    ) -> None:
        self.name = name
        self.kind = kind  # "graph" or "function"
        self.node_defs = node_defs
        self.arg_names = tuple(arg_names)
        self.arg_dtypes = tuple(arg_dtypes)
        self.output_names = tuple(output_names)
        self.ret: Mapping[str, str] = dict(ret or {})
        self._index: dict[str, NodeDef] | _HashIndex | None = None

    def __repr__(self) -> str:
        return f"Function({self.name!r}, {self.kind}, {len(self.node_defs)} nodes)"

    @property
    def is_graph(self) -> bool:
        return self.kind == "graph"

    def node(self, name: str) -> NodeDef | None:
        index = self._index
        if index is None:
            nodes = self.node_defs
            small = len(nodes) <= DICT_INDEX_MAX and (
                not isinstance(nodes, RawNodes) or nodes.raw_bytes() <= DICT_INDEX_BYTES)
            index = {nd.name: nd for nd in nodes} if small else _HashIndex(nodes)
            self._index = index
        return index.get(name)

    def nodes_with_op(self, wanted: Callable[[str], bool]) -> Iterator[NodeDef]:
        """The nodes whose op ``wanted`` accepts, in order; on a :class:`RawNodes` body
        only those are decoded."""
        nodes = self.node_defs
        if isinstance(nodes, RawNodes):
            ops = nodes.scan()[0]
            for i, op in enumerate(ops):
                if wanted(op):
                    yield nodes[i]
            return
        for nd in nodes:
            if wanted(nd.op):
                yield nd

    def resolve_input(self, text: str) -> Edge | None:
        """Resolve one entry of ``NodeDef.input`` (control inputs give ``None``)."""
        if not text or text.startswith("^"):
            return None
        if self.is_graph:
            name, _, idx = text.partition(":")
            nd = self.node(name)
            if nd is None:
                return None
            return Edge(self, nd, "", int(idx) if idx.isdigit() else 0)
        parts = text.split(":")
        if len(parts) == 1:
            if parts[0] in self.arg_names:
                return Edge(self, None, "", self.arg_names.index(parts[0]), arg=parts[0])
            nd = self.node(parts[0])
            return Edge(self, nd, "", 0) if nd is not None else None
        nd = self.node(parts[0])
        if nd is None:
            return None
        index = int(parts[2]) if len(parts) > 2 and parts[2].isdigit() else 0
        return Edge(self, nd, parts[1], index)

    def data_inputs(self, nd: NodeDef) -> list[str]:
        return [i for i in nd.input if not i.startswith("^")]

    def input_edges(self, nd: NodeDef) -> list[Edge | None]:
        """Every data input resolved, in order (one pass: a join of thousands of inputs
        must not walk its input list once per input)."""
        return [self.resolve_input(text) for text in nd.input if not text.startswith("^")]

    def input_edge(self, nd: NodeDef, position: int) -> Edge | None:
        if position < 0:
            return None
        k = 0
        for text in nd.input:  # without building the list: a Save node has thousands
            if text.startswith("^"):
                continue
            if k == position:
                return self.resolve_input(text)
            k += 1
        return None


@dataclass(frozen=True, slots=True)
class Signature:
    """A serving signature: input keys mapped to graph tensor names."""

    key: str
    method_name: str
    inputs: Mapping[str, str]
    outputs: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class EntryPoint:
    """Something that runs graph code: a signature, an object-graph method, an initializer."""

    name: str  # "signature:serving_default", "object:__call__", "init:...", "restore"
    at_load: bool
    functions: tuple[str, ...] = ()  # library functions it calls directly
    graph_outputs: tuple[str, ...] = ()  # top-level graph tensors/ops it fetches
    #: Can run any node of the top-level graph (a bare GraphDef, a standalone .meta):
    #: said with a flag rather than a tuple of every node name (a million strings).
    whole_graph: bool = False


@dataclass(frozen=True, slots=True)
class Asset:
    filename: str  # relative to the model's assets/ directory
    tensor_name: str


@dataclass(frozen=True, slots=True)
class KerasLayer:
    """One layer of a Keras model config, flattened with its path."""

    path: str
    class_name: str
    module: str | None
    registered_name: str | None
    config: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class KerasCode:
    """Python bytecode embedded in a Keras config, read without running it.

    A ``Lambda`` layer's function (or ``output_shape``), a Keras 3 ``__lambda__`` object
    anywhere in a config. ``names``/``strings`` come from the bounded marshal reader,
    recursively through nested code objects; ``error`` says why they could not be read.
    """

    path: str  # layer path
    field: str  # where in that layer's config: "function", "output_shape", "activation"...
    in_lambda_layer: bool = True
    encoding: str = ""  # "base64", "raw_unicode_escape", or "" when not decodable
    size: int = 0  # bytes of marshal data
    python: str = ""  # Python versions whose code-object layout the data fits
    names: tuple[str, ...] = ()  # co_names
    strings: tuple[str, ...] = ()  # string constants (and strings of defaults/closure)
    code_names: tuple[str, ...] = ()  # qualified names of the code objects
    varnames: tuple[str, ...] = ()
    module: str | None = None  # the module Keras takes globals from, if given
    error: str = ""


@dataclass(frozen=True, slots=True)
class KerasRef:
    """A reference by name in a Keras config: Keras imports or looks it up at load time."""

    path: str  # layer path
    field: str  # where in that layer's config
    kind: str  # "class", "function" or "lambda_function" (a Lambda naming its function)
    module: str | None
    name: str
    registered_name: str | None = None


@dataclass(frozen=True, slots=True)
class EmbeddedProgram:
    """A graph, function library or module held in a string of one node that could not
    be linted as a graph: its value is computed when the model runs (``reasons``), or it
    is in a format the linter does not parse (StableHLO bytecode, MLIR text), described
    by what a bounded scan of its bytes found. A graph that could be resolved and parsed
    is not recorded here: it is linted as a model of its own (``archive_member``
    ``node:<function>/<node>``)."""

    function: str
    node: str
    op: str
    carrier: str  # where the program is: "input graph_def", "attr module"
    status: str  # "unresolved" or "opaque"
    format: str = ""  # "StableHLO bytecode", "MLIR bytecode", "MLIR text", "unknown"
    size: int = 0
    #: Unresolved: where the value comes from (``from signature input 'g'``).
    reasons: tuple[str, ...] = ()
    #: Unresolved: a signature input supplies it, so every caller chooses what runs.
    caller_controlled: bool = False
    #: Opaque: custom-call targets (host callbacks run Python in the loading process).
    custom_calls: tuple[str, ...] = ()
    #: Opaque: function symbols defined in the module.
    functions: tuple[str, ...] = ()
    #: Opaque: op names found in it (``tf.ReadFile``, ``stablehlo.custom_call``, ``ReadFile``).
    ops: tuple[str, ...] = ()
    #: Opaque: other identifiers found in it (bounded), for a reviewer.
    strings: tuple[str, ...] = ()
    #: The scan stopped at a bound (bytes scanned or strings kept).
    truncated: bool = False


class MemoKey(Generic[_T]):
    """A typed key of :class:`Memo`: the analysis that owns a cached value defines its key
    (``REACHABILITY: MemoKey[Reachability] = MemoKey("reachability")``), so the cache
    is typed without the IR knowing the analyses."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"MemoKey({self.name!r})"


class Memo:
    """Per-model cache of derived facts (call graph, reachability, assessments...),
    computed once on first use."""

    __slots__ = ("_values",)

    def __init__(self) -> None:
        self._values: dict[MemoKey[Any], Any] = {}

    def get(self, key: MemoKey[_T], compute: Callable[[], _T]) -> _T:
        if key in self._values:
            return cast(_T, self._values[key])
        value = compute()
        self._values[key] = value
        return value

    def clear(self) -> None:
        self._values.clear()


#: How a bound input of a SavedModel function is supplied: (kind, detail), kind one of
#: ``asset`` (detail: the asset file name), ``variable`` (object path), ``graph_node``
#: (a captured constant's node name) or ``op_output`` (anything else, described).
BoundInput = tuple[str, str]


@dataclass
class ModelIR:
    """A loaded artifact. Rules read it; nothing in it executes model content.

    The loaders fill every field; the analyses keep what they derive in :attr:`memo`.
    """

    path: str  # display path of the artifact
    format: str  # "savedmodel", "graphdef", "graphdef_text", ...
    functions: dict[str, Function] = field(default_factory=dict)
    graph: Function | None = None
    signatures: list[Signature] = field(default_factory=list)
    entry_points: list[EntryPoint] = field(default_factory=list)
    assets: list[Asset] = field(default_factory=list)
    saver_filename: str | None = None  # node name of the standard saver's filename input
    restore_op: str | None = None
    keras_layers: list[KerasLayer] = field(default_factory=list)
    keras_code: list[KerasCode] = field(default_factory=list)
    keras_refs: list[KerasRef] = field(default_factory=list)
    keras_source: str | None = None
    #: Contents of the model's own asset files (relative to assets/), read by the loader,
    #: bounded; None for an asset present but not read (over the per-asset cap).
    asset_contents: dict[str, bytes | None] = field(default_factory=dict)
    #: The archive member (``dir/model.tflite``, nested ``a.zip!b.tar!m.pb``) the model
    #: was read from, when the artifact is an archive or a directory holding it.
    archive_member: str | None = None
    #: SavedModel object graph: function name -> argument index -> how it is bound.
    bound_inputs: dict[str, dict[int, BoundInput]] = field(default_factory=dict)
    #: SavedModel object graph: functions an object method or the saver calls directly
    #: -> who calls them (``object method 'root'``, ``__saver__``).
    entry_functions: dict[str, str] = field(default_factory=dict)
    #: Legacy Keras metadata of user objects: (object path, identifier, metadata JSON).
    object_metadata: list[tuple[str, str, str]] = field(default_factory=list)
    #: Variables of the object graph: name or dotted path -> checkpoint object paths.
    variable_paths: dict[str, list[str]] = field(default_factory=dict)
    #: String tensors of the SavedModel's checkpoint: checkpoint key -> values (bounded).
    checkpoint_strings: dict[str, tuple[bytes, ...]] = field(default_factory=dict)
    #: Programs held in strings (``DatasetFromGraph``, ``XlaCallModule``...) that could not
    #: be linted as graphs: computed at run time, or in a format not parsed.
    embedded_programs: list[EmbeddedProgram] = field(default_factory=list)
    memo: Memo = field(default_factory=Memo, repr=False, compare=False)

    def all_functions(self) -> Iterator[Function]:
        if self.graph is not None:
            yield self.graph
        yield from self.functions.values()

    def node_count(self) -> int:
        return sum(len(f.node_defs) for f in self.all_functions())

    # -- call graph -------------------------------------------------------------------

    def call_sites(self) -> Mapping[str, list[CallSite]]:
        """Callee name -> the nodes that call it. Every function-valued attr counts."""
        return self.memo.get(CALL_SITES, self._call_sites)

    def _call_sites(self) -> dict[str, list[CallSite]]:
        sites: dict[str, list[CallSite]] = {}
        names = self.functions

        def may_call(op: str) -> bool:
            return op in names or op not in NO_FUNCTION_ATTR_OPS

        for func in self.all_functions():
            for nd in func.nodes_with_op(may_call):
                op = nd.op
                if op in names:  # direct call of a library function by name
                    sites.setdefault(op, []).append(CallSite(func, nd, "", 0, True))
                    continue
                if op in NO_FUNCTION_ATTR_OPS or not nd.attr:
                    continue
                known = dict(CALL_ATTRS.get(op, ()))
                for attr_name, value in nd.attr.items():
                    for callee in func_names(value):
                        if callee in names:
                            skip = known.get(attr_name)
                            sites.setdefault(callee, []).append(
                                CallSite(func, nd, attr_name, skip if skip is not None else 0, skip is not None)
                            )
        return sites

    def callees(self) -> Mapping[str, set[str]]:
        return self.memo.get(CALLEES, self._callees)

    def _callees(self) -> dict[str, set[str]]:
        out: dict[str, set[str]] = {}
        for callee, sites in self.call_sites().items():
            for site in sites:
                out.setdefault(site.caller.name, set()).add(callee)
        return out

    def reachable_functions(self, roots: Sequence[str]) -> set[str]:
        callees = self.callees()
        seen: set[str] = set()
        stack = [r for r in roots]
        while stack:
            name = stack.pop()
            if name in seen:
                continue
            seen.add(name)
            stack.extend(callees.get(name, ()))
        return seen


def func_names(value: AttrValue) -> Iterator[str]:
    """Names of the functions an attribute value refers to."""
    kind = value.WhichOneof("value")
    if kind == "func":
        yield value.func.name
    elif kind == "list" and value.list.func:
        for f in value.list.func:
            yield f.name



CALL_SITES: MemoKey[Mapping[str, list[CallSite]]] = MemoKey("call_sites")
CALLEES: MemoKey[Mapping[str, set[str]]] = MemoKey("callees")
