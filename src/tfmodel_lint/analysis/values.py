"""A bounded abstract interpreter for string-valued tensors.

Given an input edge (the argument of a capability op), compute the strings the tensor
can hold at run time, following the dataflow: constants, identities, string joins,
formatting, slicing, regex replacement with constant patterns, base64, packing and
concatenation, and values crossing function-call boundaries (call ops bind the callee's
arguments to the caller's inputs; captured constants are inputs too). What cannot be
computed is reported with a reason (signature input, op output, variable, asset...),
never as a bare "unknown". Every evaluation is bounded in steps, depth, number of
values and string length, so hostile graphs cannot make it explode.
"""

from __future__ import annotations

import base64
import binascii
import re
import struct
import sys
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING

from tfmodel_lint._records import dataclass
from tfmodel_lint.analysis.variables import variable_values
from tfmodel_lint.ir import CALL_ATTRS, HOLE, STRING_DTYPE, Edge, Function, ModelIR

if TYPE_CHECKING:
    from tfmodel_lint.proto.tfmodel_lint_pb2 import NodeDef, TensorProto

MAX_ITEMS = 64
MAX_LEN = 4096
MAX_STEPS = 20_000
MAX_DEPTH = 256
#: Python frames one level of dataflow may use; the recursion limit is raised to fit.
_FRAMES_PER_LEVEL = 6
MAX_CALL_SITES = 16


@dataclass(frozen=True, slots=True)
class Unknown:
    """Why (part of) a value could not be computed.

    ``kind`` is one of: ``signature_input`` (fed by whoever calls the served model),
    ``saver`` (the standard saver's filename, supplied by the loader), ``asset`` (a file
    of the model's own assets/), ``variable``, ``op_output`` (produced by another op at
    run time), ``uncalled_argument``, ``limit`` (an analysis bound was hit),
    ``unsupported`` (an op the interpreter does not model), ``missing`` (a dangling edge).
    """

    kind: str
    detail: str

    def describe(self) -> str:
        return {
            "signature_input": f"from signature input {self.detail}",
            "saver": "the standard saver's filename argument (supplied by the loader)",
            "asset": f"from asset '{self.detail}'",
            "variable": f"from variable '{self.detail}'",
            "op_output": f"from {self.detail} output",
            "uncalled_argument": f"from {self.detail}, which nothing calls",
            "limit": f"analysis limit: {self.detail}",
            "unsupported": f"computed by unsupported op {self.detail}",
            "missing": f"dangling input {self.detail}",
        }.get(self.kind, f"{self.kind}: {self.detail}")


@dataclass(frozen=True, slots=True)
class Value:
    """Possible element values of a string tensor.

    ``items`` are the candidate elements (with ``HOLE`` where a piece is unknown);
    ``exact`` says they are exactly the tensor's elements in order; ``unknowns`` say
    what could not be computed.
    """

    items: tuple[bytes, ...] = ()
    exact: bool = False
    unknowns: tuple[Unknown, ...] = ()

    def __post_init__(self) -> None:
        # A string cut at the analysis bound carries its reason wherever it goes.
        if CUT not in self.unknowns and any(len(i) == MAX_LEN and i.endswith(HOLE) for i in self.items):
            object.__setattr__(self, "unknowns", (*self.unknowns, CUT))

    @property
    def known(self) -> bool:
        return bool(self.items)

    @property
    def fully_known(self) -> bool:
        return bool(self.items) and not self.unknowns and not any(HOLE in i for i in self.items)

    def texts(self) -> list[str]:
        return [render(i) for i in self.items]

    def unknown_kinds(self) -> set[str]:
        return {u.kind for u in self.unknowns}


#: Why a string is only partly known when it was longer than the interpreter keeps.
CUT = Unknown("limit", f"a string longer than {MAX_LEN} bytes, cut there")


def clip(item: bytes) -> bytes:
    """``item`` cut to ``MAX_LEN`` bytes, with a hole marking the cut: a long string is
    never silently shortened (``'/' * 5000 + 'etc/passwd'`` must not read as ``'///...'``)."""
    return item if len(item) <= MAX_LEN else item[: MAX_LEN - len(HOLE)] + HOLE


def render(item: bytes) -> str:
    return item.replace(HOLE, b"<?>").decode("utf-8", "backslashreplace")


def unknown(kind: str, detail: str) -> Value:
    return Value((), False, (Unknown(kind, detail),))


def _dedupe(items: Iterable[bytes]) -> tuple[bytes, ...]:
    seen: dict[bytes, None] = {}
    for item in items:
        seen.setdefault(clip(item), None)
        if len(seen) >= MAX_ITEMS:
            break
    return tuple(seen)


def _exact_items(items: Iterable[bytes]) -> tuple[tuple[bytes, ...], bool]:
    """Items in order, duplicates kept (positions matter); inexact past MAX_ITEMS."""
    out: list[bytes] = []
    for item in items:
        if len(out) >= MAX_ITEMS:
            return tuple(out), False
        out.append(clip(item))
    return tuple(out), True


def make(items: Iterable[bytes], exact: bool, unknowns: tuple[Unknown, ...] = ()) -> Value:
    """A value from items: kept in order when exact, deduplicated otherwise."""
    if exact:
        kept, still_exact = _exact_items(items)
        return Value(kept, still_exact, unknowns)
    return Value(_dedupe(items), False, unknowns)


def _merge_unknowns(*values: Value) -> tuple[Unknown, ...]:
    seen: dict[Unknown, None] = {}
    for v in values:
        for u in v.unknowns:
            seen.setdefault(u, None)
    return tuple(seen)[:8]


def union(values: Sequence[Value]) -> Value:
    items = _dedupe(i for v in values for i in v.items)
    exact = len(values) == 1 and values[0].exact
    return Value(items, exact, _merge_unknowns(*values))


def _as_operand(v: Value) -> tuple[bytes, ...]:
    """Items to combine; an unknown operand becomes a hole."""
    return v.items if v.items else (HOLE,)


def combine(values: Sequence[Value], fn: Callable[[Sequence[bytes]], bytes]) -> Value:
    """Element-wise when the operands are exact and shapes agree, else all combinations."""
    unknowns = _merge_unknowns(*values)
    if values and all(v.exact for v in values):
        lengths = {len(v.items) for v in values if len(v.items) != 1}
        if len(lengths) <= 1:
            n = lengths.pop() if lengths else 1
            rows = [[v.items[0] if len(v.items) == 1 else v.items[k] for v in values] for k in range(n)]
            return make((fn(r) for r in rows), True, unknowns)
    combos: list[list[bytes]] = [[]]
    for v in values:
        combos = [c + [i] for c in combos for i in _as_operand(v)][: MAX_ITEMS * 4]
    return Value(_dedupe(fn(c) for c in combos), False, unknowns)


def map_items(v: Value, fn: Callable[[bytes], bytes]) -> Value:
    return make((fn(i) for i in v.items), v.exact, v.unknowns)


# -- constants ---------------------------------------------------------------------------

_INT_FORMATS = {3: "i", 9: "q", 4: "B", 6: "b", 5: "h", 17: "H", 22: "I", 23: "Q"}


def tensor_strings(t: TensorProto) -> tuple[tuple[bytes, ...], bool]:
    """String elements of a constant (TF repeats the last value to fill the shape)."""
    if t.dtype != STRING_DTYPE:
        return (), False
    vals = list(t.string_val[:MAX_ITEMS])
    n = 1
    for d in t.tensor_shape.dim:
        n *= max(d.size, 0)
    if vals and len(vals) < n:
        vals.extend([vals[-1]] * (min(n, MAX_ITEMS) - len(vals)))
    return tuple(clip(v) for v in vals), len(t.string_val) <= MAX_ITEMS


def tensor_ints(t: TensorProto) -> tuple[int, ...] | None:
    if t.int_val:
        return tuple(t.int_val[:MAX_ITEMS])
    if t.int64_val:
        return tuple(t.int64_val[:MAX_ITEMS])
    fmt = _INT_FORMATS.get(t.dtype)
    if fmt and t.tensor_content:
        size = struct.calcsize(fmt)
        content = t.tensor_content[: size * MAX_ITEMS]
        count = len(content) // size
        return struct.unpack(f"<{count}{fmt}", content[: count * size])
    if t.dtype in _INT_FORMATS:
        return (0,) if not t.tensor_shape.dim else ()
    return None


def _numbers_as_text(t: TensorProto) -> tuple[bytes, ...]:
    ints = tensor_ints(t)
    if ints is not None:
        return tuple(str(i).encode() for i in ints)
    if t.float_val:
        return tuple(repr(float(f)).encode() for f in t.float_val[:MAX_ITEMS])
    return ()


# -- the interpreter ---------------------------------------------------------------------

Frame = tuple[tuple[Function, "NodeDef", int], ...]  # call stack: (caller, call node, skip)


class Evaluator:
    """Evaluates string values in one model; create one per model and reuse it."""

    def __init__(self, model: ModelIR) -> None:
        self.model = model
        self.steps = 0
        self._memo: dict[tuple[object, ...], Value] = {}
        self._active: set[tuple[object, ...]] = set()
        self._assign_index: dict[tuple[str, int], dict[str, list[NodeDef]]] = {}
        self._signature_inputs = {
            name.partition(":")[0]: f"'{key}' of '{sig.key}'"
            for sig in model.signatures
            for key, name in sig.inputs.items()
        }
        self._asset_nodes = {a.tensor_name.partition(":")[0]: a.filename for a in model.assets}
        self._bound = model.bound_inputs
        self._entry_functions = model.entry_functions

    # public API
    def evaluate(self, edge: Edge | None, frame: Frame = ()) -> Value:
        self.steps = 0
        needed = MAX_DEPTH * _FRAMES_PER_LEVEL + 500
        previous = sys.getrecursionlimit()
        if previous < needed:
            sys.setrecursionlimit(needed)
        try:
            return self._eval(edge, frame, 0)
        except RecursionError:
            return unknown("limit", "dataflow too deep to follow")
        finally:
            if previous < needed:
                sys.setrecursionlimit(previous)

    def ints(self, edge: Edge | None, frame: Frame = ()) -> tuple[int, ...] | None:
        if edge is None or edge.node is None:
            return None
        nd = edge.node
        if nd.op == "Const" and "value" in nd.attr:
            return tensor_ints(nd.attr["value"].tensor)
        if nd.op in ("Identity", "Snapshot") and nd.input:
            return self.ints(edge.function.input_edge(nd, 0), frame)
        return None

    # internals
    def _eval(self, edge: Edge | None, frame: Frame, depth: int) -> Value:
        if edge is None:
            return unknown("missing", "input")
        self.steps += 1
        if self.steps > MAX_STEPS:
            return unknown("limit", f"more than {MAX_STEPS} evaluation steps")
        if depth > MAX_DEPTH or len(frame) > MAX_DEPTH:
            return unknown("limit", f"dataflow deeper than {MAX_DEPTH}")
        key = (id(edge.function), edge.node.name if edge.node is not None else f"arg:{edge.arg}",
               edge.output, edge.index, tuple((id(f), n.name) for f, n, _ in frame))
        if key in self._memo:
            return self._memo[key]
        if key in self._active:
            return unknown("limit", "cyclic dataflow")
        self._active.add(key)
        try:
            value = self._eval_arg(edge, frame, depth) if edge.node is None else self._eval_node(edge, frame, depth)
        finally:
            self._active.discard(key)
        self._memo[key] = value
        return value

    def _input(self, func: Function, nd: NodeDef, pos: int, frame: Frame, depth: int) -> Value:
        return self._eval(func.input_edge(nd, pos), frame, depth + 1)

    def _eval_arg(self, edge: Edge, frame: Frame, depth: int) -> Value:
        func, index = edge.function, edge.index
        if frame:
            caller, call_node, skip = frame[-1]
            return self._input(caller, call_node, skip + index, frame[:-1], depth)
        entry = self._entry_functions.get(func.name)
        if entry == "__saver__":
            return unknown("saver", func.name)
        values: list[Value] = []
        bound = self._bound.get(func.name, {}).get(index)
        if bound is not None:
            kind, detail = bound
            if kind == "graph_node":
                values.append(self._graph_node(detail, depth))
            elif kind == "variable":
                values.append(self._variable(detail))
            else:
                values.append(unknown(kind, detail))
        sites = self.model.call_sites().get(func.name, ())
        for site in sites[:MAX_CALL_SITES]:
            if site.bound:
                values.append(self._input(site.caller, site.node, site.skip_inputs + index, (), depth))
            elif _is_dataset_op(site.node.op):
                values.append(self._dataset_fn_arg(site.caller, site.node, index, depth))
        if entry is not None and bound is None:
            values.append(unknown("signature_input", f"argument '{edge.arg}' of {entry}"))
        if not values:
            return unknown("uncalled_argument", f"argument '{edge.arg}' of function {func.name}")
        return union(values)

    def _variable(self, name: str) -> Value:
        """A variable's value as saved in the checkpoint, when the loader could read it."""
        items = variable_values(self.model).get(name)
        if items:
            return Value(tuple(clip(i) for i in tuple(items)[:MAX_ITEMS]), True, (Unknown("variable", name),))
        return unknown("variable", name)

    def _assignments(self, func: Function) -> dict[str, list[NodeDef]]:
        """VarHandleOp name -> the AssignVariableOp nodes of the same body writing it."""
        key = ("assign", id(func))
        cached = self._assign_index.get(key)
        if cached is None:
            cached = {}
            for nd in func.nodes_with_op("AssignVariableOp".__eq__):
                if nd.op == "AssignVariableOp" and nd.input:
                    handle = nd.input[0].partition(":")[0]
                    cached.setdefault(handle, []).append(nd)
            self._assign_index[key] = cached
        return cached

    def _dataset_fn_arg(self, func: Function, nd: NodeDef, index: int, depth: int) -> Value:
        """Argument ``index`` of a dataset op's function: the input dataset's element
        components first, then the op's captured ``other_arguments``."""
        source = func.input_edge(nd, 0)
        n_components = _n_components(source.node) if source is not None and source.node is not None else None
        if n_components is None:
            return unknown("op_output", f"{nd.op} element")
        if index < n_components:
            return self.element(source, index, depth + 1)
        return self._input(func, nd, 1 + index - n_components, (), depth)

    def element(self, edge: Edge | None, component: int, depth: int) -> Value:
        """Possible values of one component of a dataset's elements."""
        if edge is None or edge.node is None or depth > MAX_DEPTH:
            return unknown("op_output", "dataset element")
        nd, func = edge.node, edge.function
        op = nd.op
        if op in ("TensorSliceDataset", "TensorDataset"):
            return self._input(func, nd, component, (), depth)
        if op in ("MatchingFilesDataset", "ExperimentalMatchingFilesDataset"):
            return _matches(self._input(func, nd, 0, (), depth), op)
        if op in ("ConcatenateDataset",):
            return union([self.element(func.input_edge(nd, i), component, depth + 1) for i in (0, 1)])
        if op in _PASSTHROUGH_DATASETS:
            return self.element(func.input_edge(nd, 0), component, depth + 1)
        return unknown("op_output", f"{op} element")

    def _graph_node(self, name: str, depth: int) -> Value:
        graph = self.model.graph
        if graph is None:
            return unknown("missing", name)
        return self._eval(graph.resolve_input(name), (), depth + 1)

    def _eval_node(self, edge: Edge, frame: Frame, depth: int) -> Value:
        nd = edge.node
        assert nd is not None
        func = edge.function
        op = nd.op
        if func.is_graph:
            if nd.name == self.model.saver_filename:
                return unknown("saver", nd.name)
            if nd.name in self._asset_nodes:
                return unknown("asset", self._asset_nodes[nd.name])
        handler = _HANDLERS.get(op)
        if handler is not None:
            return handler(self, func, nd, edge, frame, depth)
        if op in self.model.functions or op in CALL_ATTRS:
            return self._call_output(func, nd, edge, frame, depth)
        if op in ("Placeholder", "PlaceholderV2"):
            if func.is_graph and nd.name in self._signature_inputs:
                return unknown("signature_input", self._signature_inputs[nd.name])
            if func.is_graph:
                return unknown("signature_input", f"graph input '{nd.name}'")
            return unknown("op_output", op)
        if op in ("VarHandleOp", "VariableV2", "Variable", "ReadVariableOp", "VarIsInitializedOp"):
            if op == "ReadVariableOp":
                src = func.input_edge(nd, 0)
                if src is not None and src.node is not None and src.node.op == "VarHandleOp":
                    assigned = self._assignments(func).get(src.node.name, [])
                    if assigned:
                        return union([self._input(func, a, 1, frame, depth) for a in assigned[:MAX_CALL_SITES]])
                    attrs = src.node.attr
                    name = attrs["shared_name"].s.decode("utf-8", "replace") if "shared_name" in attrs else ""
                    return self._variable(name or src.node.name)
                if src is not None and src.node is None:
                    inner = self._eval(src, frame, depth + 1)
                    if inner.unknowns:
                        return inner
                return unknown("variable", nd.name)
            return unknown("variable", nd.name)
        return unknown("op_output", op)

    def _call_output(self, func: Function, nd: NodeDef, edge: Edge, frame: Frame, depth: int) -> Value:
        op = nd.op
        if op in self.model.functions:
            callees = [(op, 0)]
        else:
            callees = []
            for attr_name, skip in CALL_ATTRS.get(op, ()):
                if attr_name not in nd.attr:
                    continue
                value = nd.attr[attr_name]
                names = [value.func.name] if value.WhichOneof("value") == "func" else [f.name for f in value.list.func]
                if op in ("While", "StatelessWhile") and attr_name == "cond":
                    continue
                callees.extend((n, skip) for n in names)
        values: list[Value] = []
        if op in ("While", "StatelessWhile"):
            values.append(self._input(func, nd, edge.index, frame, depth))
        for name, skip in callees:
            callee = self.model.functions.get(name)
            if callee is None or edge.index >= len(callee.output_names):
                continue
            ret = callee.ret.get(callee.output_names[edge.index])
            if ret is None:
                continue
            values.append(self._eval(callee.resolve_input(ret), frame + ((func, nd, skip),), depth + 1))
        if not values:
            return unknown("op_output", op)
        return union(values)


# -- op handlers -------------------------------------------------------------------------

Handler = Callable[[Evaluator, Function, "NodeDef", Edge, Frame, int], Value]
_HANDLERS: dict[str, Handler] = {}


def handles(*ops: str) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        for op in ops:
            _HANDLERS[op] = fn
        return fn

    return register


def _attr_s(nd: NodeDef, name: str, default: bytes = b"") -> bytes:
    return nd.attr[name].s if name in nd.attr else default


@handles("Const", "HostConst")
def _const(ev: Evaluator, func: Function, nd: NodeDef, edge: Edge, frame: Frame, depth: int) -> Value:
    if "value" not in nd.attr:
        return unknown("missing", f"value of {nd.name}")
    t = nd.attr["value"].tensor
    items, exact = tensor_strings(t)
    if items:
        return Value(items, exact, ())
    if t.dtype == STRING_DTYPE:
        return Value((b"",), True, ()) if not t.tensor_shape.dim else Value((), True, ())
    nums = _numbers_as_text(t)
    return Value(nums, True, ()) if nums else unknown("unsupported", "non-string constant")


@handles("Identity", "Snapshot", "StopGradient", "Reshape", "ExpandDims", "Squeeze", "EnsureShape",
         "CheckNumerics", "PreventGradient", "Copy", "DebugGradientIdentity")
def _identity(ev: Evaluator, func: Function, nd: NodeDef, edge: Edge, frame: Frame, depth: int) -> Value:
    return ev._input(func, nd, 0, frame, depth)


@handles("IdentityN")
def _identity_n(ev: Evaluator, func: Function, nd: NodeDef, edge: Edge, frame: Frame, depth: int) -> Value:
    return ev._input(func, nd, edge.index, frame, depth)


@handles("PlaceholderWithDefault")
def _placeholder_default(ev: Evaluator, func: Function, nd: NodeDef, edge: Edge, frame: Frame, depth: int) -> Value:
    default = ev._input(func, nd, 0, frame, depth)
    fed = ev._signature_inputs.get(nd.name) if func.is_graph else None
    return union([default, unknown("signature_input", fed)]) if fed else default


@handles("StringJoin")
def _string_join(ev: Evaluator, func: Function, nd: NodeDef, edge: Edge, frame: Frame, depth: int) -> Value:
    sep = _attr_s(nd, "separator")
    parts = [ev._input(func, nd, i, frame, depth) for i in range(len(func.data_inputs(nd)))]
    return combine(parts, sep.join)


@handles("Add", "AddV2")
def _add(ev: Evaluator, func: Function, nd: NodeDef, edge: Edge, frame: Frame, depth: int) -> Value:
    if "T" in nd.attr and nd.attr["T"].type != STRING_DTYPE:
        return unknown("unsupported", f"{nd.op} of numbers")
    parts = [ev._input(func, nd, i, frame, depth) for i in (0, 1)]
    return combine(parts, b"".join)


@handles("StringFormat")
def _string_format(ev: Evaluator, func: Function, nd: NodeDef, edge: Edge, frame: Frame, depth: int) -> Value:
    template = _attr_s(nd, "template", b"%s")
    placeholder = _attr_s(nd, "placeholder", b"%s") or b"%s"
    summarize = nd.attr["summarize"].i if "summarize" in nd.attr else 3
    pieces = template.split(placeholder)
    types = list(nd.attr["T"].list.type) if "T" in nd.attr else []
    parts = []
    for i in range(len(func.data_inputs(nd))):
        value = ev._input(func, nd, i, frame, depth)
        parts.append(_summarize(value, i < len(types) and types[i] == STRING_DTYPE, summarize))

    def fmt(row: Sequence[bytes]) -> bytes:
        out = [pieces[0]]
        for k, piece in enumerate(pieces[1:]):
            out.append(row[k] if k < len(row) else placeholder)
            out.append(piece)
        return b"".join(out)

    return combine(parts, fmt) if parts else Value((clip(template),), True, ())


def c_escape(s: bytes) -> bytes:
    """absl::Utf8SafeCEscape, as TensorFlow uses when it prints a string tensor: control
    characters escaped, UTF-8 bytes kept."""
    out = bytearray()
    for b in s:
        if b in _CESCAPES:
            out += _CESCAPES[b]
        elif 0x20 <= b < 0x7F or b >= 0x80:
            out.append(b)
        else:
            out += b"\\%03o" % b
    return bytes(out)


_CESCAPES = {0x0A: b"\\n", 0x0D: b"\\r", 0x09: b"\\t", 0x22: b'\\"', 0x27: b"\\'", 0x5C: b"\\\\"}


def _summarize(value: Value, strings: bool, summarize: int) -> Value:
    """How StringFormat prints a tensor: strings quoted and C-escaped; a vector in
    brackets. A single known element is taken for a scalar."""
    if not value.items:
        return value
    quote = (lambda s: b'"' + c_escape(s) + b'"') if strings else (lambda s: s)
    if value.exact and len(value.items) > 1:
        if summarize >= 0 and len(value.items) > 2 * summarize:
            shown = [quote(i) for i in value.items[:summarize]] + [b"..."]
            shown += [quote(i) for i in value.items[-summarize:]]
        else:
            shown = [quote(i) for i in value.items]
        return Value((clip(b"[" + b" ".join(shown) + b"]"),), True, value.unknowns)
    return make((i if HOLE in i else quote(i) for i in value.items), value.exact, value.unknowns)


@handles("Pack", "ConcatV2", "Concat")
def _pack(ev: Evaluator, func: Function, nd: NodeDef, edge: Edge, frame: Frame, depth: int) -> Value:
    n = len(func.data_inputs(nd))
    positions = range(n - 1) if nd.op == "ConcatV2" else range(1, n) if nd.op == "Concat" else range(n)
    parts = [ev._input(func, nd, i, frame, depth) for i in positions]
    return make((i for p in parts for i in p.items), all(p.exact for p in parts), _merge_unknowns(*parts))


@handles("GatherV2", "Gather")
def _gather(ev: Evaluator, func: Function, nd: NodeDef, edge: Edge, frame: Frame, depth: int) -> Value:
    params = ev._input(func, nd, 0, frame, depth)
    idx = ev.ints(func.input_edge(nd, 1), frame)
    if params.exact and idx is not None and all(-len(params.items) <= i < len(params.items) for i in idx):
        return make((params.items[i] for i in idx), True, params.unknowns)
    return Value(params.items, False, params.unknowns)


@handles("StridedSlice")
def _strided_slice(ev: Evaluator, func: Function, nd: NodeDef, edge: Edge, frame: Frame, depth: int) -> Value:
    data = ev._input(func, nd, 0, frame, depth)
    begin, end, strides = (ev.ints(func.input_edge(nd, i), frame) for i in (1, 2, 3))
    masks = {k: nd.attr[k].i if k in nd.attr else 0 for k in ("begin_mask", "end_mask", "shrink_axis_mask")}
    if data.exact and begin and end and strides and len(begin) == 1 and strides[0] != 0:
        b = None if masks["begin_mask"] & 1 else begin[0]
        e = None if masks["end_mask"] & 1 else end[0]
        if masks["shrink_axis_mask"] & 1 and b is not None:
            sel = data.items[b: b + 1 if b != -1 else None]
        else:
            sel = data.items[b:e: strides[0]]
        return Value(sel, True, data.unknowns)
    return Value(data.items, False, data.unknowns)


@handles("Substr")
def _substr(ev: Evaluator, func: Function, nd: NodeDef, edge: Edge, frame: Frame, depth: int) -> Value:
    data = ev._input(func, nd, 0, frame, depth)
    pos, length = ev.ints(func.input_edge(nd, 1), frame), ev.ints(func.input_edge(nd, 2), frame)
    unit = _attr_s(nd, "unit", b"BYTE")
    if pos is None or length is None or len(pos) != 1 or len(length) != 1:
        why = Unknown("unsupported", "Substr with computed bounds")
        return Value(tuple(HOLE for _ in data.items[:1]), False, data.unknowns + (why,))

    def cut(s: bytes) -> bytes:
        if unit == b"UTF8_CHAR":
            text = s.decode("utf-8", "surrogateescape")
            start = pos[0] if pos[0] >= 0 else len(text) + pos[0]
            return text[start:start + length[0]].encode("utf-8", "surrogateescape")
        start = pos[0] if pos[0] >= 0 else len(s) + pos[0]
        return s[start:start + length[0]]

    return map_items(data, cut)


_NESTED_QUANTIFIER = re.compile(r"[+*}]\)*[+*{]|\([^)]*[+*][^)]*\)[+*{]")


def re2_to_python(pattern: str) -> str:
    """Translate the RE2 constructs whose meaning differs in Python's ``re``: ``$``
    (end of text only), ``\\z``, ``\\s`` (no vertical tab)."""
    out: list[str] = []
    i, in_class = 0, False
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern):
            nxt = pattern[i + 1]
            if nxt == "s":
                out.append("\\t\\n\\f\\r " if in_class else "[\\t\\n\\f\\r ]")
            elif nxt == "S" and not in_class:
                out.append("[^\\t\\n\\f\\r ]")
            elif nxt == "z":
                out.append("\\Z")
            else:
                out.append(ch + nxt)
            i += 2
            continue
        if in_class:
            if ch == "]":
                in_class = False
        elif ch == "[":
            in_class = True
            out.append(ch)
            if pattern[i + 1: i + 2] == "^":
                out.append("^")
                i += 1
            if pattern[i + 1: i + 2] == "]":
                out.append("]")
                i += 1
            i += 1
            continue
        elif ch == "$":
            out.append("\\Z")
            i += 1
            continue
        out.append(ch)
        i += 1
    return "".join(out)


def _regex_replace(pattern: bytes, rewrite: bytes, global_: bool) -> Callable[[bytes], bytes] | None:
    """RE2's GlobalReplace/Replace on UTF-8 text, emulated with Python's ``re``."""
    text_pattern = pattern.decode("utf-8", "surrogateescape")
    if len(pattern) > 256 or _NESTED_QUANTIFIER.search(text_pattern):
        return None
    try:
        rx = re.compile(re2_to_python(text_pattern))
    except (re.error, OverflowError, RecursionError):
        return None
    repl = re.sub(r"\\(\d)", r"\\g<\1>", rewrite.decode("utf-8", "surrogateescape"))

    def apply(s: bytes) -> bytes:
        if HOLE in s:
            return s
        text = s.decode("utf-8", "surrogateescape")
        out: list[str] = []
        pos, last_end = 0, -1
        try:
            for m in rx.finditer(text):
                if m.start() == m.end() == last_end:
                    continue  # RE2 allows no empty match right after a match
                out.append(text[pos: m.start()])
                out.append(m.expand(repl))
                pos = m.end()
                last_end = m.end()
                if not global_:
                    break
        except (re.error, IndexError):
            return s
        out.append(text[pos:])
        return clip("".join(out).encode("utf-8", "surrogateescape"))

    return apply


@handles("StaticRegexReplace")
def _static_regex(ev: Evaluator, func: Function, nd: NodeDef, edge: Edge, frame: Frame, depth: int) -> Value:
    data = ev._input(func, nd, 0, frame, depth)
    glob = nd.attr["replace_global"].b if "replace_global" in nd.attr else True
    fn = _regex_replace(_attr_s(nd, "pattern"), _attr_s(nd, "rewrite"), glob)
    if fn is None:
        return Value(data.items, False, data.unknowns + (Unknown("unsupported", "regex pattern too complex"),))
    return map_items(data, fn)


@handles("RegexReplace")
def _regex(ev: Evaluator, func: Function, nd: NodeDef, edge: Edge, frame: Frame, depth: int) -> Value:
    data = ev._input(func, nd, 0, frame, depth)
    pattern, rewrite = ev._input(func, nd, 1, frame, depth), ev._input(func, nd, 2, frame, depth)
    glob = nd.attr["replace_global"].b if "replace_global" in nd.attr else True
    if not (pattern.fully_known and rewrite.fully_known and len(pattern.items) == 1 and len(rewrite.items) == 1):
        why = Unknown("unsupported", "RegexReplace with computed pattern")
        return Value(data.items, False, _merge_unknowns(data, pattern, rewrite) + (why,))
    fn = _regex_replace(pattern.items[0], rewrite.items[0], glob)
    if fn is None:
        return Value(data.items, False, data.unknowns + (Unknown("unsupported", "regex pattern too complex"),))
    return map_items(data, fn)


def _b64decode(s: bytes) -> bytes:
    if HOLE in s:
        return HOLE
    try:
        return clip(base64.urlsafe_b64decode(s + b"=" * (-len(s) % 4)))
    except (binascii.Error, ValueError):
        return HOLE


@handles("DecodeBase64")
def _decode_b64(ev: Evaluator, func: Function, nd: NodeDef, edge: Edge, frame: Frame, depth: int) -> Value:
    return map_items(ev._input(func, nd, 0, frame, depth), _b64decode)


@handles("EncodeBase64")
def _encode_b64(ev: Evaluator, func: Function, nd: NodeDef, edge: Edge, frame: Frame, depth: int) -> Value:
    pad = nd.attr["pad"].b if "pad" in nd.attr else False

    def enc(s: bytes) -> bytes:
        out = base64.urlsafe_b64encode(s)
        return out if pad else out.rstrip(b"=")

    return map_items(ev._input(func, nd, 0, frame, depth), enc)


@handles("ReverseV2", "Reverse")
def _reverse(ev: Evaluator, func: Function, nd: NodeDef, edge: Edge, frame: Frame, depth: int) -> Value:
    data = ev._input(func, nd, 0, frame, depth)
    return Value(tuple(reversed(data.items)), data.exact, data.unknowns)


@handles("ReduceJoin")
def _reduce_join(ev: Evaluator, func: Function, nd: NodeDef, edge: Edge, frame: Frame, depth: int) -> Value:
    data = ev._input(func, nd, 0, frame, depth)
    sep = _attr_s(nd, "separator")
    if data.exact:
        return Value((clip(sep.join(data.items)),), True, data.unknowns)
    return Value(data.items, False, data.unknowns)


@handles("AsString")
def _as_string(ev: Evaluator, func: Function, nd: NodeDef, edge: Edge, frame: Frame, depth: int) -> Value:
    value = ev._input(func, nd, 0, frame, depth)
    dtype = nd.attr["T"].type if "T" in nd.attr else 0
    if dtype not in _FLOAT_TYPES:
        return value
    precision = nd.attr["precision"].i if "precision" in nd.attr else -1
    scientific = nd.attr["scientific"].b if "scientific" in nd.attr else False
    shortest = nd.attr["shortest"].b if "shortest" in nd.attr else False

    def fmt(item: bytes) -> bytes:
        try:
            number = float(item)
        except ValueError:
            return item
        if shortest:
            return (b"%g" % number)
        digits = 6 if precision < 0 else precision
        return (b"%.*e" if scientific else b"%.*f") % (digits, number)

    return map_items(value, fmt)


_FLOAT_TYPES = frozenset({1, 2, 14, 19})  # float, double, bfloat16, half


@handles("StringUpper")
def _upper(ev: Evaluator, func: Function, nd: NodeDef, edge: Edge, frame: Frame, depth: int) -> Value:
    return map_items(ev._input(func, nd, 0, frame, depth), lambda s: s if HOLE in s else s.upper())


@handles("StringLower")
def _lower(ev: Evaluator, func: Function, nd: NodeDef, edge: Edge, frame: Frame, depth: int) -> Value:
    return map_items(ev._input(func, nd, 0, frame, depth), lambda s: s if HOLE in s else s.lower())


@handles("StringStrip")
def _strip(ev: Evaluator, func: Function, nd: NodeDef, edge: Edge, frame: Frame, depth: int) -> Value:
    return map_items(ev._input(func, nd, 0, frame, depth), lambda s: s.strip(b" \t\n\r\x0b\x0c"))


@handles("Select", "SelectV2")
def _select(ev: Evaluator, func: Function, nd: NodeDef, edge: Edge, frame: Frame, depth: int) -> Value:
    return union([ev._input(func, nd, 1, frame, depth), ev._input(func, nd, 2, frame, depth)])


@handles("Merge", "RefMerge", "Switch", "RefSwitch", "Enter", "RefEnter", "Exit", "NextIteration")
def _control_flow_v1(ev: Evaluator, func: Function, nd: NodeDef, edge: Edge, frame: Frame, depth: int) -> Value:
    n = len(func.data_inputs(nd)) if nd.op in ("Merge", "RefMerge") else 1
    return union([ev._input(func, nd, i, frame, depth) for i in range(n)])


@handles("ShardedFilename")
def _sharded_filename(ev: Evaluator, func: Function, nd: NodeDef, edge: Edge, frame: Frame, depth: int) -> Value:
    base = ev._input(func, nd, 0, frame, depth)
    shard, num = ev.ints(func.input_edge(nd, 1), frame), ev.ints(func.input_edge(nd, 2), frame)
    suffix = b"-%05d-of-%05d" % (shard[0], num[0]) if shard and num else b"-<shard>"
    return make((i + suffix for i in _as_operand(base)), base.exact, base.unknowns)


@handles("ShardedFilespec")
def _sharded_filespec(ev: Evaluator, func: Function, nd: NodeDef, edge: Edge, frame: Frame, depth: int) -> Value:
    base = ev._input(func, nd, 0, frame, depth)
    num = ev.ints(func.input_edge(nd, 1), frame)
    suffix = b"-?????-of-%05d" % num[0] if num else b"-?????-of-<n>"
    return make((i + suffix for i in _as_operand(base)), base.exact, base.unknowns)


_PASSTHROUGH_DATASETS = frozenset({
    "ShuffleDataset", "ShuffleDatasetV2", "ShuffleDatasetV3", "RepeatDataset", "PrefetchDataset",
    "TakeDataset", "SkipDataset", "CacheDataset", "CacheDatasetV2", "FilterDataset", "ShardDataset",
    "BatchDataset", "BatchDatasetV2", "PaddedBatchDataset", "PaddedBatchDatasetV2", "UnbatchDataset",
    "ModelDataset", "OptimizeDataset", "OptimizeDatasetV2", "MaxIntraOpParallelismDataset",
    "PrivateThreadPoolDataset", "AssertCardinalityDataset", "AssertNextDataset", "OptionsDataset",
    "RebatchDataset", "RebatchDatasetV2", "ShuffleAndRepeatDataset", "ExperimentalUnbatchDataset",
    "FinalizeDataset", "DummyIterationCounter", "IgnoreErrorsDataset", "TakeWhileDataset",
})


def _is_dataset_op(op: str) -> bool:
    return "Dataset" in op


def _n_components(nd: NodeDef) -> int | None:
    for key in ("output_types", "Toutput_types"):
        if key in nd.attr:
            return len(nd.attr[key].list.type)
    return None


def _matches(patterns: Value, op: str) -> Value:
    """Files matched by glob patterns: the patterns themselves stand for them."""
    return Value(patterns.items, False, patterns.unknowns + (Unknown("op_output", op),))


@handles("MatchingFiles")
def _matching_files(ev: Evaluator, func: Function, nd: NodeDef, edge: Edge, frame: Frame, depth: int) -> Value:
    return _matches(ev._input(func, nd, 0, frame, depth), nd.op)
