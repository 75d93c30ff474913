"""TFLite flatbuffers (``.tflite``, identifier ``TFL3``), read without a TFLite runtime.

The flatbuffer is walked by a small bounds-checked reader (:class:`FlatReader`): every
offset is checked against the buffer, vector lengths against the bytes left, and the
number of elements decoded against the buffer size, so a hostile file cannot read out
of bounds, loop or blow up through shared tables. Select-TF ("Flex") operators carry
the TensorFlow ``NodeDef`` they run in ``custom_options``: a FlexBuffer vector
``[op name, serialized NodeDef]``, decoded with ``flatbuffers.flexbuffers``.

Each subgraph becomes a :class:`~tfmodel_lint.ir.Function` of ``NodeDef`` messages:

* subgraph 0 is the graph; the others are library functions (``subgraph<i>``), called
  through ``While``/``If``/``Case`` nodes (``WHILE``, ``IF``, ``STABLEHLO_WHILE``,
  ``STABLEHLO_CASE``) or ``TFL_CALL_ONCE`` nodes, so reachability follows them;
* a Flex operator is its decoded NodeDef (``op`` is the TensorFlow op that runs), with
  ``input`` rewritten to the producers of the operator's input tensors, so the capability
  rules and the string dataflow run on it unchanged;
* a builtin operator is a node with op ``TFL_<NAME>``; a custom (non-Flex) operator is
  ``Custom:<code>`` and is reported (TFL908): its kernel is the application's code;
* a constant tensor (a non-empty buffer) is a ``Const`` node whose value holds the
  decoded strings (string tensors) or the raw bytes (small numeric tensors);
* subgraph inputs are ``Placeholder`` nodes (graph) or function arguments.

TFLite runs every operator of an invoked subgraph, so each signature's entry point
reaches all of its subgraph's nodes.
"""

from __future__ import annotations

import struct
from typing import Any

from tfmodel_lint._records import dataclass, field
from tfmodel_lint.errors import ArtifactError, LimitExceededError, Problem
from tfmodel_lint.findings import Severity
from tfmodel_lint.ir import EntryPoint, Function, ModelIR, Signature
from tfmodel_lint.limits import Limits
from tfmodel_lint.loaders import ArtifactProblem, LoadContext, Loaded
from tfmodel_lint.sources import Source

MALFORMED = Problem.MALFORMED
CUSTOM_OP = Problem.CUSTOM_OP
GRAPH = "<graph>"
#: TFLite TensorType -> TensorFlow DataType.
DTYPES = {0: 1, 1: 19, 2: 3, 3: 4, 4: 9, 5: 7, 6: 10, 7: 5, 8: 8, 9: 6, 10: 2, 11: 18, 12: 23, 13: 20, 14: 21,
          15: 22, 16: 17, 17: 29, 18: 14}
STRING = 5
#: Numeric constants larger than this keep no value in the IR (only string dataflow
#: and small integer arguments matter to the rules).
MAX_NUMERIC_CONST = 4096
#: Most strings kept from one string tensor.
MAX_STRINGS = 4096
# BuiltinOptions union types and BuiltinOptions2 union types that name subgraphs.
_IF_OPTIONS, _WHILE_OPTIONS, _CALL_ONCE_OPTIONS = 92, 93, 103
_STABLEHLO_WHILE_OPTIONS, _STABLEHLO_CASE_OPTIONS = 15, 23
_FBT_STRING, _FBT_BLOB = 5, 25

BUILTIN_OPS: tuple[str, ...] = (
    "ADD", "AVERAGE_POOL_2D", "CONCATENATION", "CONV_2D", "DEPTHWISE_CONV_2D", "DEPTH_TO_SPACE", "DEQUANTIZE",
    "EMBEDDING_LOOKUP", "FLOOR", "FULLY_CONNECTED", "HASHTABLE_LOOKUP", "L2_NORMALIZATION", "L2_POOL_2D",
    "LOCAL_RESPONSE_NORMALIZATION", "LOGISTIC", "LSH_PROJECTION", "LSTM", "MAX_POOL_2D", "MUL", "RELU",
    "RELU_N1_TO_1", "RELU6", "RESHAPE", "RESIZE_BILINEAR", "RNN", "SOFTMAX", "SPACE_TO_DEPTH", "SVDF", "TANH",
    "CONCAT_EMBEDDINGS", "SKIP_GRAM", "CALL", "CUSTOM", "EMBEDDING_LOOKUP_SPARSE", "PAD",
    "UNIDIRECTIONAL_SEQUENCE_RNN", "GATHER", "BATCH_TO_SPACE_ND", "SPACE_TO_BATCH_ND", "TRANSPOSE", "MEAN", "SUB",
    "DIV", "SQUEEZE", "UNIDIRECTIONAL_SEQUENCE_LSTM", "STRIDED_SLICE", "BIDIRECTIONAL_SEQUENCE_RNN", "EXP",
    "TOPK_V2", "SPLIT", "LOG_SOFTMAX", "DELEGATE", "BIDIRECTIONAL_SEQUENCE_LSTM", "CAST", "PRELU", "MAXIMUM",
    "ARG_MAX", "MINIMUM", "LESS", "NEG", "PADV2", "GREATER", "GREATER_EQUAL", "LESS_EQUAL", "SELECT", "SLICE",
    "SIN", "TRANSPOSE_CONV", "SPARSE_TO_DENSE", "TILE", "EXPAND_DIMS", "EQUAL", "NOT_EQUAL", "LOG", "SUM", "SQRT",
    "RSQRT", "SHAPE", "POW", "ARG_MIN", "FAKE_QUANT", "REDUCE_PROD", "REDUCE_MAX", "PACK", "LOGICAL_OR", "ONE_HOT",
    "LOGICAL_AND", "LOGICAL_NOT", "UNPACK", "REDUCE_MIN", "FLOOR_DIV", "REDUCE_ANY", "SQUARE", "ZEROS_LIKE", "FILL",
    "FLOOR_MOD", "RANGE", "RESIZE_NEAREST_NEIGHBOR", "LEAKY_RELU", "SQUARED_DIFFERENCE", "MIRROR_PAD", "ABS",
    "SPLIT_V", "UNIQUE", "CEIL", "REVERSE_V2", "ADD_N", "GATHER_ND", "COS", "WHERE", "RANK", "ELU",
    "REVERSE_SEQUENCE", "MATRIX_DIAG", "QUANTIZE", "MATRIX_SET_DIAG", "ROUND", "HARD_SWISH", "IF", "WHILE",
    "NON_MAX_SUPPRESSION_V4", "NON_MAX_SUPPRESSION_V5", "SCATTER_ND", "SELECT_V2", "DENSIFY", "SEGMENT_SUM",
    "BATCH_MATMUL", "PLACEHOLDER_FOR_GREATER_OP_CODES", "CUMSUM", "CALL_ONCE", "BROADCAST_TO", "RFFT2D", "CONV_3D",
    "IMAG", "REAL", "COMPLEX_ABS", "HASHTABLE", "HASHTABLE_FIND", "HASHTABLE_IMPORT", "HASHTABLE_SIZE",
    "REDUCE_ALL", "CONV_3D_TRANSPOSE", "VAR_HANDLE", "READ_VARIABLE", "ASSIGN_VARIABLE", "BROADCAST_ARGS",
    "RANDOM_STANDARD_NORMAL", "BUCKETIZE", "RANDOM_UNIFORM", "MULTINOMIAL", "GELU", "DYNAMIC_UPDATE_SLICE",
    "RELU_0_TO_1", "UNSORTED_SEGMENT_PROD", "UNSORTED_SEGMENT_MAX", "UNSORTED_SEGMENT_SUM", "ATAN2",
    "UNSORTED_SEGMENT_MIN", "SIGN", "BITCAST", "BITWISE_XOR", "RIGHT_SHIFT", "STABLEHLO_LOGISTIC", "STABLEHLO_ADD",
    "STABLEHLO_DIVIDE", "STABLEHLO_MULTIPLY", "STABLEHLO_MAXIMUM", "STABLEHLO_RESHAPE", "STABLEHLO_CLAMP",
    "STABLEHLO_CONCATENATE", "STABLEHLO_BROADCAST_IN_DIM", "STABLEHLO_CONVOLUTION", "STABLEHLO_SLICE",
    "STABLEHLO_CUSTOM_CALL", "STABLEHLO_REDUCE", "STABLEHLO_ABS", "STABLEHLO_AND", "STABLEHLO_COSINE",
    "STABLEHLO_EXPONENTIAL", "STABLEHLO_FLOOR", "STABLEHLO_LOG", "STABLEHLO_MINIMUM", "STABLEHLO_NEGATE",
    "STABLEHLO_OR", "STABLEHLO_POWER", "STABLEHLO_REMAINDER", "STABLEHLO_RSQRT", "STABLEHLO_SELECT",
    "STABLEHLO_SUBTRACT", "STABLEHLO_TANH", "STABLEHLO_SCATTER", "STABLEHLO_COMPARE", "STABLEHLO_CONVERT",
    "STABLEHLO_DYNAMIC_SLICE", "STABLEHLO_DYNAMIC_UPDATE_SLICE", "STABLEHLO_PAD", "STABLEHLO_IOTA",
    "STABLEHLO_DOT_GENERAL", "STABLEHLO_REDUCE_WINDOW", "STABLEHLO_SORT", "STABLEHLO_WHILE", "STABLEHLO_GATHER",
    "STABLEHLO_TRANSPOSE", "DILATE", "STABLEHLO_RNG_BIT_GENERATOR", "REDUCE_WINDOW", "STABLEHLO_COMPOSITE",
    "STABLEHLO_SHIFT_LEFT", "STABLEHLO_CBRT", "STABLEHLO_CASE"
)


def pb2() -> Any:
    from tfmodel_lint.proto import tfmodel_lint_pb2

    return tfmodel_lint_pb2


def builtin_name(code: int) -> str:
    return BUILTIN_OPS[code] if 0 <= code < len(BUILTIN_OPS) else f"BUILTIN_{code}"


class FlatError(Exception):
    """The flatbuffer is structurally invalid (out of bounds, inconsistent)."""


class FlatReader:
    """Bounds-checked access to a flatbuffer; every problem raises :class:`FlatError`."""

    def __init__(self, data: bytes, limits: Limits) -> None:
        self.buf = data
        self.size = len(data)
        self.limits = limits
        # A flatbuffer stores each vector element once; reading many more elements than
        # the buffer can hold means tables are shared to amplify work.
        self.elements_left = self.size // 2 + 65_536

    def _need(self, pos: int, n: int) -> None:
        if pos < 0 or n < 0 or pos + n > self.size:
            raise FlatError(f"offset {pos}+{n} outside the {self.size}-byte buffer")

    def u8(self, pos: int) -> int:
        self._need(pos, 1)
        return self.buf[pos]

    def i8(self, pos: int) -> int:
        v = self.u8(pos)
        return v - 256 if v > 127 else v

    def u16(self, pos: int) -> int:
        self._need(pos, 2)
        return int.from_bytes(self.buf[pos:pos + 2], "little")

    def u32(self, pos: int) -> int:
        self._need(pos, 4)
        return int.from_bytes(self.buf[pos:pos + 4], "little")

    def i32(self, pos: int) -> int:
        self._need(pos, 4)
        return int.from_bytes(self.buf[pos:pos + 4], "little", signed=True)

    def u64(self, pos: int) -> int:
        self._need(pos, 8)
        return int.from_bytes(self.buf[pos:pos + 8], "little")

    def deref(self, pos: int) -> int:
        """Follow the uoffset stored at ``pos``."""
        target = pos + self.u32(pos)
        self._need(target, 1)
        return target

    def table(self, pos: int) -> Table:
        vtable = pos - self.i32(pos)
        vt_size = self.u16(vtable)
        if vt_size < 4 or vt_size % 2:
            raise FlatError(f"bad vtable size {vt_size} at {vtable}")
        self._need(vtable, vt_size)
        obj_size = self.u16(vtable + 2)
        self._need(pos, obj_size)
        return Table(self, pos, vtable, vt_size, obj_size)

    def root(self) -> Table:
        return self.table(self.deref(0))

    def spend(self, n: int) -> None:
        self.elements_left -= n
        if self.elements_left < 0:
            raise FlatError("the flatbuffer references far more elements than it holds (shared or overlapping tables)")


@dataclass
class Table:
    reader: FlatReader
    pos: int
    vtable: int
    vt_size: int
    obj_size: int

    def field(self, index: int) -> int | None:
        slot = 4 + 2 * index
        if slot + 2 > self.vt_size:
            return None
        off = self.reader.u16(self.vtable + slot)
        if off == 0:
            return None
        if off >= self.obj_size:
            raise FlatError(f"field {index} outside its table")
        return self.pos + off

    def scalar(self, index: int, kind: str, default: int = 0) -> int:
        pos = self.field(index)
        if pos is None:
            return default
        r = self.reader
        return {"u8": r.u8, "i8": r.i8, "u16": r.u16, "u32": r.u32, "i32": r.i32, "u64": r.u64}[kind](pos)

    def bytes_(self, index: int) -> bytes | None:
        """A string or a ``[ubyte]`` vector."""
        pos = self.field(index)
        if pos is None:
            return None
        r = self.reader
        start = r.deref(pos)
        n = r.u32(start)
        r._need(start + 4, n)
        return r.buf[start + 4:start + 4 + n]

    def text(self, index: int) -> str:
        raw = self.bytes_(index)
        if raw is None:
            return ""
        if len(raw) > self.reader.limits.max_string_bytes:
            raise LimitExceededError("max_string_bytes", self.reader.limits.max_string_bytes,
                                     "a TFLite string is too long")
        return raw.decode("utf-8", "replace")

    def _vector(self, index: int, width: int) -> tuple[int, int]:
        pos = self.field(index)
        if pos is None:
            return 0, 0
        r = self.reader
        start = r.deref(pos)
        n = r.u32(start)
        r._need(start + 4, n * width)
        r.spend(n)
        return start + 4, n

    def ints(self, index: int, signed: bool = True) -> list[int]:
        start, n = self._vector(index, 4)
        if not n:
            return []
        fmt = f"<{n}{'i' if signed else 'I'}"
        return list(struct.unpack_from(fmt, self.reader.buf, start))

    def tables(self, index: int) -> list[Table]:
        start, n = self._vector(index, 4)
        return [self.reader.table(self.reader.deref(start + 4 * i)) for i in range(n)]

    def table_at(self, index: int) -> Table | None:
        pos = self.field(index)
        return None if pos is None else self.reader.table(self.reader.deref(pos))


# -- schema field indices (tensorflow/compiler/mlir/lite/schema/schema.fbs) ----------------

class _Model:
    OPERATOR_CODES, SUBGRAPHS, DESCRIPTION, BUFFERS, METADATA, SIGNATURE_DEFS = 1, 2, 3, 4, 6, 7


class _SubGraph:
    TENSORS, INPUTS, OUTPUTS, OPERATORS, NAME = 0, 1, 2, 3, 4


class _Tensor:
    SHAPE, TYPE, BUFFER, NAME, IS_VARIABLE = 0, 1, 2, 3, 5


class _Operator:
    OPCODE_INDEX, INPUTS, OUTPUTS, OPTIONS_TYPE, OPTIONS, CUSTOM_OPTIONS = 0, 1, 2, 3, 4, 5
    LARGE_OFFSET, LARGE_SIZE, OPTIONS2_TYPE, OPTIONS2 = 9, 10, 11, 12


class _OpCode:
    DEPRECATED_BUILTIN, CUSTOM, BUILTIN = 0, 1, 3


class _Buffer:
    DATA, OFFSET, SIZE = 0, 1, 2


class _SignatureDef:
    INPUTS, OUTPUTS, KEY, SUBGRAPH = 0, 1, 2, 4


# -- decoding ------------------------------------------------------------------------------


@dataclass
class _OpCodeInfo:
    builtin: int
    custom: str


@dataclass
class _Tensor_:
    name: str
    dtype: int
    buffer: int
    shape: list[int]
    is_variable: bool


@dataclass
class _Context:
    reader: FlatReader
    limits: Limits
    display: str
    opcodes: list[_OpCodeInfo]
    buffers: list[Table]
    issues: list[ArtifactProblem] = field(default_factory=list)
    custom_ops: dict[str, int] = field(default_factory=dict)
    nodes: int = 0


def decode_string_tensor(data: bytes, limits: Limits) -> list[bytes]:
    """TFLite string tensor layout: int32 count, count+1 int32 offsets, then the bytes."""
    if len(data) < 4:
        raise FlatError("string tensor shorter than its header")
    count = int.from_bytes(data[:4], "little", signed=True)
    if count < 0 or 4 * (count + 2) > len(data):
        raise FlatError(f"string tensor declares {count} strings in {len(data)} bytes")
    kept = min(count, MAX_STRINGS)
    offsets = struct.unpack_from(f"<{kept + 1}i", data, 4)
    out = []
    for i in range(kept):
        start, end = offsets[i], offsets[i + 1]
        if not 0 <= start <= end <= len(data):
            raise FlatError(f"string {i} of a string tensor is out of bounds")
        if end - start > limits.max_string_bytes:
            raise LimitExceededError("max_string_bytes", limits.max_string_bytes, "a TFLite string is too long")
        out.append(data[start:end])
    return out


def _buffer_data(ctx: _Context, index: int) -> bytes | None:
    if index <= 0 or index >= len(ctx.buffers):
        return None  # buffer 0 is the empty sentinel
    buf = ctx.buffers[index]
    data = buf.bytes_(_Buffer.DATA)
    if data:
        return data
    offset, size = buf.scalar(_Buffer.OFFSET, "u64"), buf.scalar(_Buffer.SIZE, "u64")
    if size and offset > 1:  # models over 2 GB keep data after the flatbuffer
        r = ctx.reader
        if offset + size > r.size:
            raise FlatError(f"buffer {index} points past the end of the file")
        return r.buf[offset:offset + size]
    return None


def _const_node(ctx: _Context, name: str, tensor: _Tensor_, data: bytes) -> Any:
    mod = pb2()
    nd = mod.NodeDef(name=name, op="Const")
    dtype = DTYPES.get(tensor.dtype, 0)
    nd.attr["dtype"].type = dtype
    value = nd.attr["value"].tensor
    value.dtype = dtype
    for dim in tensor.shape[:32]:
        value.tensor_shape.dim.add(size=dim)
    if tensor.dtype == STRING:
        try:
            value.string_val.extend(decode_string_tensor(data, ctx.limits))
        except FlatError as exc:
            ctx.issues.append(_issue(MALFORMED, f"constant tensor '{tensor.name}': {exc}", Severity.MEDIUM, name))
            del nd.attr["value"]  # unknown, not empty: the dataflow says it could not be read
    elif len(data) <= MAX_NUMERIC_CONST:
        value.tensor_content = data
    return nd


def _issue(problem: Problem, message: str, severity: Severity | None, key: str) -> ArtifactProblem:
    return ArtifactProblem(problem, message, key=key, severity=severity)


def _safe_name(text: str, fallback: str) -> str:
    name = "".join("_" if c in ":^" or ord(c) < 32 else c for c in text)[:256]
    return name or fallback


def _flex_nodedef(ctx: _Context, custom: str, options: bytes | None, where: str) -> Any:
    """The NodeDef of a Flex operator, or a stand-in named after its custom code."""
    mod = pb2()
    expected = custom[4:]
    problem = ""
    nd = None
    if not options:
        problem = "has no custom options"
    else:
        try:
            from flatbuffers import flexbuffers  # type: ignore[import-untyped]

            root = flexbuffers.GetRoot(options)
            if not root.IsVector:
                raise FlatError("custom options are not a FlexBuffer vector")
            vec = root.AsVector
            if len(vec) < 2:
                raise FlatError("FlexBuffer vector has fewer than 2 elements")
            item = vec[1]
            raw = item.AsBlob if item.IsBlob else item.AsStringBytes if item.IsString else None
            if raw is None:
                raise FlatError("second FlexBuffer element is not a string or blob")
            if len(raw) > ctx.limits.max_string_bytes:
                raise LimitExceededError("max_string_bytes", ctx.limits.max_string_bytes, f"{where}: NodeDef too long")
            candidate = mod.NodeDef()
            candidate.ParseFromString(bytes(raw))
            nd = candidate
        except LimitExceededError:
            raise
        except Exception as exc:  # noqa: BLE001 - flexbuffers/protobuf on hostile bytes raise anything
            problem = f"custom options cannot be decoded ({type(exc).__name__}: {exc})"
    if nd is None:
        ctx.issues.append(_issue(MALFORMED, f"Flex operator {custom} at {where} {problem}; "
                                 f"assumed to run {expected or custom}", Severity.MEDIUM, where))
        return mod.NodeDef(op=expected or custom)
    if nd.op != expected:
        ctx.issues.append(_issue(MALFORMED, f"Flex operator {custom} at {where} runs TensorFlow op "
                                 f"'{nd.op}' according to its NodeDef", Severity.MEDIUM, where))
        if not nd.op:
            nd.op = expected
    del nd.input[:]
    return nd


def _subgraph_indices(op: Table, builtin: str) -> list[tuple[str, list[int]]]:
    """(attr name, subgraph indices) of control-flow operators."""
    kind = op.scalar(_Operator.OPTIONS_TYPE, "u8")
    opts = op.table_at(_Operator.OPTIONS) if kind in (_IF_OPTIONS, _WHILE_OPTIONS, _CALL_ONCE_OPTIONS) else None
    if opts is not None:
        if kind == _IF_OPTIONS and builtin == "IF":
            return [("then_branch", [opts.scalar(0, "i32")]), ("else_branch", [opts.scalar(1, "i32")])]
        if kind == _WHILE_OPTIONS and builtin == "WHILE":
            return [("cond", [opts.scalar(0, "i32")]), ("body", [opts.scalar(1, "i32")])]
        if kind == _CALL_ONCE_OPTIONS and builtin == "CALL_ONCE":
            return [("f", [opts.scalar(0, "i32")])]
    kind2 = op.scalar(_Operator.OPTIONS2_TYPE, "u8")
    if kind2 in (_STABLEHLO_WHILE_OPTIONS, _STABLEHLO_CASE_OPTIONS):
        opts2 = op.table_at(_Operator.OPTIONS2)
        if opts2 is not None:
            if kind2 == _STABLEHLO_WHILE_OPTIONS:
                return [("cond", [opts2.scalar(0, "i32")]), ("body", [opts2.scalar(1, "i32")])]
            return [("branches", opts2.ints(0))]
    return []


_CONTROL_OPS = {"WHILE": "While", "STABLEHLO_WHILE": "While", "IF": "If", "STABLEHLO_CASE": "Case",
                "CALL_ONCE": "TFL_CALL_ONCE"}


def subgraph_name(index: int) -> str:
    return GRAPH if index == 0 else f"subgraph{index}"


def _load_subgraph(ctx: _Context, sg: Table, index: int, n_subgraphs: int) -> tuple[Function, dict[int, str]]:
    """One subgraph as a Function; also returns tensor index -> node name of its inputs."""
    mod = pb2()
    is_graph = index == 0
    tensors = []
    for tt in sg.tables(_SubGraph.TENSORS):
        tensors.append(_Tensor_(
            tt.text(_Tensor.NAME), tt.scalar(_Tensor.TYPE, "i8"), tt.scalar(_Tensor.BUFFER, "u32"),
            tt.ints(_Tensor.SHAPE), bool(tt.scalar(_Tensor.IS_VARIABLE, "u8")),
        ))
    operators = sg.tables(_SubGraph.OPERATORS)
    ctx.nodes += len(tensors) + len(operators)
    if ctx.nodes > ctx.limits.max_nodes:
        raise LimitExceededError("max_nodes", ctx.limits.max_nodes, f"{ctx.nodes} TFLite tensors and operators")
    inputs = [i for i in sg.ints(_SubGraph.INPUTS) if 0 <= i < len(tensors)]
    used: set[str] = set()

    def unique(base: str) -> str:
        name, k = base, 1
        while name in used:
            k += 1
            name = f"{base}_{k}"
        used.add(name)
        return name

    nodes: list[Any] = []
    producer: dict[int, str] = {}  # tensor -> input reference
    arg_names: list[str] = []
    arg_dtypes: list[int] = []
    input_nodes: dict[int, str] = {}
    for t_index in inputs:
        t = tensors[t_index]
        name = unique(_safe_name(t.name, f"input{t_index}"))
        input_nodes[t_index] = name
        if is_graph:
            nd = mod.NodeDef(name=name, op="Placeholder")
            nd.attr["dtype"].type = DTYPES.get(t.dtype, 0)
            nodes.append(nd)
        else:
            arg_names.append(name)
            arg_dtypes.append(DTYPES.get(t.dtype, 0))
        producer[t_index] = name
    # Operator outputs first (names follow the first output tensor).
    op_names: list[str] = []
    for i, op in enumerate(operators):
        outs = op.ints(_Operator.OUTPUTS)
        first = outs[0] if outs and 0 <= outs[0] < len(tensors) else None
        name = unique(_safe_name(tensors[first].name, f"op{i}")) if first is not None else ""
        op_names.append(name)  # "" : named after its op below
        for k, t_index in enumerate(outs):
            if 0 <= t_index < len(tensors) and t_index not in producer:
                if is_graph:
                    producer[t_index] = name if k == 0 else f"{name}:{k}"
                else:
                    producer[t_index] = f"{name}:output:{k}"
    const_cache: dict[int, str] = {}

    def ref(t_index: int) -> str:
        if t_index in producer:
            return producer[t_index]
        if not 0 <= t_index < len(tensors):
            return ""
        if t_index in const_cache:
            return const_cache[t_index]
        t = tensors[t_index]
        try:
            data = _buffer_data(ctx, t.buffer)
        except FlatError as exc:
            ctx.issues.append(_issue(MALFORMED, f"tensor '{t.name}': {exc}", Severity.MEDIUM, f"tensor{t_index}"))
            data = None
        name = unique(_safe_name(t.name, f"tensor{t_index}"))
        if data is not None:
            nodes.append(_const_node(ctx, name, t, data))
        else:
            nd = mod.NodeDef(name=name, op="TFL_VARIABLE" if t.is_variable else "TFL_TENSOR")
            nd.attr["dtype"].type = DTYPES.get(t.dtype, 0)
            nodes.append(nd)
        out = name if is_graph else f"{name}:output:0"
        const_cache[t_index] = out
        return out

    for i, op in enumerate(operators):
        where = f"subgraph {index} operator {i}"
        code_index = op.scalar(_Operator.OPCODE_INDEX, "u32")
        if code_index >= len(ctx.opcodes):
            raise FlatError(f"{where} uses operator code {code_index} of {len(ctx.opcodes)}")
        code = ctx.opcodes[code_index]
        in_refs = [ref(t) if t >= 0 else "" for t in op.ints(_Operator.INPUTS)]
        builtin = builtin_name(code.builtin)
        if builtin == "CUSTOM" or code.custom:
            custom = code.custom
            if custom.startswith("Flex"):
                options = op.bytes_(_Operator.CUSTOM_OPTIONS)
                if not options:
                    options = _large_options(ctx, op)
                nd = _flex_nodedef(ctx, custom, options, where)
            else:
                nd = mod.NodeDef(op=f"Custom:{custom or '?'}")
                ctx.custom_ops[custom] = ctx.custom_ops.get(custom, 0) + 1
        else:
            nd = mod.NodeDef(op=_CONTROL_OPS.get(builtin, f"TFL_{builtin}"))
            for attr, indices in _subgraph_indices(op, builtin):
                good = [j for j in indices if 0 < j < n_subgraphs]
                if not good:
                    continue
                if attr == "branches":
                    for j in good:
                        nd.attr[attr].list.func.add(name=subgraph_name(j))
                else:
                    nd.attr[attr].func.name = subgraph_name(good[0])
        nd.name = op_names[i] or unique(f"op{i}_{_safe_name(nd.op, 'op')}")
        nd.input.extend(in_refs)
        nodes.append(nd)
    outputs = [producer.get(t, "") for t in sg.ints(_SubGraph.OUTPUTS)]
    name = subgraph_name(index)
    if is_graph:
        func = Function(name, "graph", nodes)
    else:
        func = Function(name, "function", nodes, arg_names, arg_dtypes,
                        [f"output{k}" for k in range(len(outputs))],
                        {f"output{k}": o for k, o in enumerate(outputs) if o})
    return func, input_nodes


def _large_options(ctx: _Context, op: Table) -> bytes | None:
    offset = op.scalar(_Operator.LARGE_OFFSET, "u64")
    size = op.scalar(_Operator.LARGE_SIZE, "u64")
    if not size:
        return None
    if offset + size > ctx.reader.size:
        raise FlatError("large custom options point past the end of the file")
    return ctx.reader.buf[offset:offset + size]


def parse_model(data: bytes, display: str, limits: Limits) -> tuple[ModelIR, list[ArtifactProblem]]:
    reader = FlatReader(data, limits)
    root = reader.root()
    opcodes = []
    for oc in root.tables(_Model.OPERATOR_CODES):
        builtin = max(oc.scalar(_OpCode.DEPRECATED_BUILTIN, "i8"), oc.scalar(_OpCode.BUILTIN, "i32"))
        opcodes.append(_OpCodeInfo(builtin, oc.text(_OpCode.CUSTOM)))
    buffers = root.tables(_Model.BUFFERS)
    ctx = _Context(reader, limits, display, opcodes, buffers)
    subgraphs = root.tables(_Model.SUBGRAPHS)
    if not subgraphs:
        raise ArtifactError(MALFORMED, "TFLite model without any subgraph")
    if len(subgraphs) > limits.max_functions:
        raise LimitExceededError("max_functions", limits.max_functions, f"{len(subgraphs)} TFLite subgraphs")
    model = ModelIR(path=display, format="tflite")
    inputs_of: list[dict[int, str]] = []
    for index, sg in enumerate(subgraphs):
        func, input_nodes = _load_subgraph(ctx, sg, index, len(subgraphs))
        inputs_of.append(input_nodes)
        if index == 0:
            model.graph = func
        else:
            model.functions[func.name] = func
    _signatures(model, root, subgraphs, inputs_of)
    for custom, count in sorted(ctx.custom_ops.items()):
        ctx.issues.append(_issue(
            CUSTOM_OP, f"custom operator '{custom}' ({count}x): its kernel is code the application registers, "
            "not checked here", None, f"custom:{custom}"))
    return model, ctx.issues


def _signatures(model: ModelIR, root: Table, subgraphs: list[Table], inputs_of: list[dict[int, str]]) -> None:
    found = False
    for sd in root.tables(_Model.SIGNATURE_DEFS):
        key = sd.text(_SignatureDef.KEY) or "serving_default"
        index = sd.scalar(_SignatureDef.SUBGRAPH, "u32")
        if index >= len(subgraphs):
            continue
        found = True
        names = inputs_of[index]
        inputs = {}
        for tm in sd.tables(_SignatureDef.INPUTS):
            t_index = tm.scalar(1, "u32")
            if t_index in names:
                inputs[tm.text(0) or str(t_index)] = f"{names[t_index]}:0"
        outputs = {tm.text(0) or str(k): str(tm.scalar(1, "u32"))
                   for k, tm in enumerate(sd.tables(_SignatureDef.OUTPUTS))}
        if index == 0:
            model.signatures.append(Signature(key, "tflite", inputs, outputs))
            model.entry_points.append(EntryPoint(f"signature:{key}", False, whole_graph=True))
        else:
            model.entry_points.append(EntryPoint(f"signature:{key}", False, functions=(subgraph_name(index),)))
    if not found:
        # No signature: whoever holds an interpreter invokes subgraph 0, all of it.
        model.entry_points.append(EntryPoint("graph", False, whole_graph=True))


def load_tflite(source: Source, member: str, ctx: LoadContext) -> Loaded:
    try:
        model, issues = parse_model(source.read(member), ctx.display, ctx.limits)
    except FlatError as exc:
        raise ArtifactError(MALFORMED, f"not a valid TFLite flatbuffer: {exc}") from None
    except (struct.error, IndexError, OverflowError) as exc:
        raise ArtifactError(MALFORMED, f"not a valid TFLite flatbuffer: {type(exc).__name__}: {exc}") from None
    return Loaded("tflite", [model], issues)
