"""Programs held in strings: graphs, function libraries and modules that one node
carries in an input or a string attribute and runs when the model runs.

``DatasetFromGraph`` imports the serialized ``GraphDef`` in its ``graph_def`` input and
runs it (``tf.data`` pipelines travel that way: ``dataset._as_serialized_graph()``);
``XlaCallModule`` compiles the StableHLO module in its ``module`` attribute, whose
custom calls can call back into the host; ``MlirPassthroughOp`` and XLA's host-compute
and TPU-compile ops run an MLIR module held as text; ``XlaCustomCall(V2)`` calls a
native function registered under a name. :data:`CARRIERS` lists every op of the pinned
TensorFlow's registry whose input or string attribute holds a serialized graph,
function library or module (``tests/test_embedded.py`` repeats the search in the
registry; ops whose function-valued attributes name library functions are calls, seen
by the call graph).

* A ``GraphDef`` held as a constant (directly, through ``Identity``/``Snapshot``
  chains, through the arguments of functions called with known bindings, or as a
  SavedModel's captured constant) is parsed through the dispatcher
  (``ctx.load_member``): the same limits, nesting bound (``max-archive-depth``) and
  budget apply, graphs held in strings of that graph included. It is linted by every
  rule as a model of its own named ``node:<function>/<node>`` (the findings'
  ``location.member``); a failure to parse it is a finding on that member.
* A value computed when the model runs is never skipped: it is recorded as
  ``unresolved`` with where it comes from; a module in a format the linter does not
  parse (StableHLO or other MLIR bytecode, MLIR text) is recorded as ``opaque`` with
  what a bounded scan of its bytes finds (custom-call targets such as host callbacks,
  function symbols, op names, other strings). Both are ``ModelIR.embedded_programs``,
  reported by TFL102.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from tfmodel_lint._records import dataclass, replace
from tfmodel_lint.errors import Problem
from tfmodel_lint.ir import STRING_DTYPE, EmbeddedProgram, EntryPoint, Function, ModelIR
from tfmodel_lint.loaders import ArtifactProblem, LoadContext, Loaded, member_problem
from tfmodel_lint.sources import BytesSource

if TYPE_CHECKING:
    from tfmodel_lint.ir import Edge
    from tfmodel_lint.proto.tfmodel_lint_pb2 import NodeDef


@dataclass(frozen=True, slots=True)
class Carrier:
    """Where an op holds a program: ``kind`` ``graphdef`` (a serialized GraphDef the op
    imports), ``module`` (an MLIR/StableHLO module) or ``custom_call`` (the name of a
    registered native function); in input ``input`` or attribute ``attr``."""

    kind: str
    name: str
    input: int | None = None

    @property
    def where(self) -> str:
        return f"input {self.name}" if self.input is not None else f"attr {self.name}"


#: Ops of TensorFlow 2.21's registry that hold a program in a string.
CARRIERS: dict[str, Carrier] = {
    "DatasetFromGraph": Carrier("graphdef", "graph_def", input=0),
    "XlaCallModule": Carrier("module", "module"),
    "MlirPassthroughOp": Carrier("module", "mlir_module"),
    "_XlaHostComputeMlir": Carrier("module", "host_mlir_module"),
    "_TPUCompileMlir": Carrier("module", "mlir_module"),
    "XlaCustomCall": Carrier("custom_call", "target_name"),
    "XlaCustomCallV2": Carrier("custom_call", "call_target_name"),
}

#: Graphs held in strings of one node that are linted (a constant with many elements).
MAX_GRAPHS_PER_NODE = 8
#: Graphs held in strings linted per loaded artifact level; the rest is a TFL903.
MAX_GRAPHS = 64
#: Nodes holding a program in a string examined per model; the rest is a TFL903.
MAX_CARRIERS = 256
#: Steps followed back from a carrier's input to the constant that holds the graph.
MAX_STEPS = 64
#: Bytes of an opaque module scanned for strings, and strings kept of each kind.
MAX_SCAN_BYTES = 4 << 20
MAX_STRINGS = 32
#: Ops that pass their input through unchanged (output index -> input index: same).
_PASS_THROUGH = frozenset({"Identity", "Snapshot", "EnsureShape", "StopGradient", "PreventGradient"})
#: Name the dispatcher sees for a graph held in a string (a binary GraphDef).
MEMBER_NAME = "graph_def.pb"


@dataclass(frozen=True, slots=True)
class Resolution:
    """What a carrier's input holds: constant byte strings, and why other values could
    not be computed (``caller``: a signature input or a feed supplies one)."""

    values: tuple[bytes, ...] = ()
    reasons: tuple[str, ...] = ()
    caller: bool = False


def _merge(parts: Iterable[Resolution]) -> Resolution:
    values: list[bytes] = []
    reasons: list[str] = []
    caller = False
    for part in parts:
        values.extend(v for v in part.values if v not in values)
        reasons.extend(r for r in part.reasons if r not in reasons)
        caller = caller or part.caller
    return Resolution(tuple(values), tuple(reasons), caller)


class _Resolver:
    """Follows a string input back to constants, the way a reviewer would by hand:
    through pass-through ops, function arguments bound by calls, and captured constants;
    bounded in steps. Anything else is a reason, never a guess."""

    def __init__(self, model: ModelIR) -> None:
        self.model = model
        self.steps = 0

    def edge(self, edge: Edge | None, seen: frozenset[tuple[str, str]] = frozenset()) -> Resolution:
        self.steps += 1
        if self.steps > MAX_STEPS:
            return Resolution(reasons=(f"analysis limit: more than {MAX_STEPS} steps back to the value",))
        if edge is None:
            return Resolution(reasons=("an input that names no node",))
        func = edge.function
        if edge.node is None:
            return self.argument(func, edge.index, edge.arg or str(edge.index), seen)
        nd = edge.node
        key = (func.name, nd.name)
        if key in seen:
            return Resolution(reasons=(f"a cycle through '{nd.name}'",))
        seen = seen | {key}
        op = nd.op
        if op == "Const":
            return self.constant(nd)
        if op in _PASS_THROUGH:
            return self.edge(func.input_edge(nd, 0), seen)
        if op == "IdentityN":
            return self.edge(func.input_edge(nd, edge.index), seen)
        if op == "PlaceholderWithDefault":
            inner = self.edge(func.input_edge(nd, 0), seen)
            return _merge([inner, Resolution(reasons=(f"placeholder '{nd.name}': the caller may feed another value",),
                                             caller=True)])
        if op == "Placeholder":
            return self.placeholder(nd)
        return Resolution(reasons=(f"computed when the model runs, by {op} '{nd.name}'",))

    def constant(self, nd: NodeDef) -> Resolution:
        if "value" not in nd.attr:
            return Resolution(reasons=(f"constant '{nd.name}' without a value",))
        tensor = nd.attr["value"].tensor
        if tensor.dtype != STRING_DTYPE:
            return Resolution(reasons=(f"constant '{nd.name}' is not a string",))
        values = tuple(tensor.string_val[:MAX_GRAPHS_PER_NODE])
        reasons: tuple[str, ...] = ()
        if len(tensor.string_val) > MAX_GRAPHS_PER_NODE:
            reasons = (f"analysis limit: constant '{nd.name}' holds {len(tensor.string_val)} strings, "
                       f"the first {MAX_GRAPHS_PER_NODE} were checked",)
        return Resolution(values, reasons)

    def placeholder(self, nd: NodeDef) -> Resolution:
        for sig in self.model.signatures:
            for key, tensor in sig.inputs.items():
                if tensor.partition(":")[0] == nd.name:
                    return Resolution(reasons=(f"from signature input '{key}' of '{sig.key}'",), caller=True)
        return Resolution(reasons=(f"from placeholder '{nd.name}', fed by the caller",), caller=True)

    def argument(self, func: Function, index: int, arg: str,
                 seen: frozenset[tuple[str, str]]) -> Resolution:
        model = self.model
        parts: list[Resolution] = []
        bound = model.bound_inputs.get(func.name, {}).get(index)
        if bound is not None:
            kind, detail = bound
            node = model.graph.node(detail) if kind == "graph_node" and model.graph is not None else None
            if node is not None:
                parts.append(self.edge(model.graph.resolve_input(node.name) if model.graph else None, seen))
            else:
                parts.append(Resolution(reasons=(f"argument '{arg}' of {func.name}: captured {kind} '{detail}'",)))
        sites = model.call_sites().get(func.name, [])
        for site in sites:
            if site.bound:
                parts.append(self.edge(site.caller.input_edge(site.node, site.skip_inputs + index), seen))
            else:
                parts.append(Resolution(reasons=(
                    f"argument '{arg}' of {func.name}, which {site.node.op} '{site.node.name}' calls "
                    f"({site.attr}) with values computed when the model runs",)))
        if bound is None and not sites:
            caller = model.entry_functions.get(func.name)
            who = f" ({caller})" if caller and caller != "__saver__" else ""
            parts.append(Resolution(reasons=(f"argument '{arg}' of {func.name}{who}, supplied by the caller",),
                                    caller=True))
        return _merge(parts)


# -- opaque modules --------------------------------------------------------------------

#: Patterns of :func:`scan_module`, compiled on first use (most models hold no module).
_PATTERNS = {
    # bytecode: every name is a run of printable bytes in one string table
    "run": rb"[\x21-\x7e]{3,200}",
    "dialect_op": r"^[a-z_][a-z0-9_]*\.[A-Za-z_][\w.]*$",
    "path": r"^(/|~/|\.\./|[a-z][a-z0-9+.-]*://)[\w.\-/~:@%]+$",
    "vhlo_op": r"^([a-z_][a-z0-9_]*)_v\d+$",
    # custom-call targets that call back into the process that runs the model (JAX host
    # callbacks, jax2tf calls of TF functions) or look like one
    "callback": r"(?i)callback|python|host_?compute|call_tf_function|py_?func",
    # MLIR text
    "custom_call": r"custom_call\s+@([\w.$\-]+)",
    "call_target": r"call_target_name\s*=\s*\"([^\"\\]{1,200})\"",
    "func": r"\bfunc(?:\.func)?\s+(?:public\s+|private\s+|nested\s+)?@([\w.$\-]+|\"[^\"]{1,200}\")",
    "op": r"(?m)(?:\"([a-z_][a-z0-9_]*\.[A-Za-z_][\w.]*)\"\s*\(|(?:=|^)\s*([a-z_][a-z0-9_]*\.[a-z_][\w.]*)\b)",
    "string": r"\"([^\"\\]{1,200})\"",
}


@functools.cache
def _rx(name: str) -> re.Pattern[Any]:
    return re.compile(_PATTERNS[name])


def _keep(out: list[str], item: str) -> bool:
    """Append ``item`` once; ``False`` once the list is full."""
    if item in out:
        return True
    if len(out) >= MAX_STRINGS:
        return False
    out.append(item)
    return True


def module_format(data: bytes) -> str:
    if data.startswith(b"ML\xefR"):
        return "StableHLO bytecode" if b"StableHLO" in data[:64] or b"vhlo" in data[:4096] else "MLIR bytecode"
    head = data[:4096]
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        return "unknown"
    if "module" in text or "func" in text:
        return "MLIR text"
    return "unknown"


def scan_module(data: bytes, fmt: str) -> dict[str, object]:
    """What a bounded look at a module's bytes finds: custom-call targets, function
    symbols, op names and other strings (each at most :data:`MAX_STRINGS`)."""
    truncated = len(data) > MAX_SCAN_BYTES
    part = data[:MAX_SCAN_BYTES]
    calls: list[str] = []
    funcs: list[str] = []
    ops: list[str] = []
    strings: list[str] = []
    full = False
    if fmt == "MLIR text":
        text = part.decode("utf-8", "replace")
        for rx in (_rx("custom_call"), _rx("call_target")):
            for m in rx.finditer(text):
                full |= not _keep(calls, m.group(1))
        for m in _rx("func").finditer(text):
            full |= not _keep(funcs, m.group(1).strip('"'))
        for m in _rx("op").finditer(text):
            full |= not _keep(ops, m.group(1) or m.group(2))
        for m in _rx("string").finditer(text):
            value = m.group(1)
            if value not in calls and value not in ops:
                full |= not _keep(strings, value)
    else:
        # Bytecode keeps every name (dialects, ops, attribute names and string values)
        # in one string table, each a run of printable bytes.
        dialect_op, vhlo_op, callback, path = _rx("dialect_op"), _rx("vhlo_op"), _rx("callback"), _rx("path")
        for run in _rx("run").finditer(part):
            value = run.group().decode("ascii")
            vhlo = vhlo_op.match(value)
            if callback.search(value):
                full |= not _keep(calls, value)
            elif vhlo is not None or dialect_op.match(value):
                full |= not _keep(ops, vhlo.group(1) if vhlo is not None else value)
            elif value.isidentifier() or path.match(value):
                full |= not _keep(strings, value)
    return {"custom_calls": tuple(calls), "functions": tuple(funcs), "ops": tuple(ops), "strings": tuple(strings),
            "truncated": truncated or full}


# -- the pass --------------------------------------------------------------------------


def _attr_bytes(nd: NodeDef, name: str) -> bytes | None:
    if name not in nd.attr:
        return None
    value = nd.attr[name]
    return value.s if value.WhichOneof("value") == "s" else None


def _carrier_nodes(model: ModelIR) -> Iterable[tuple[Function, NodeDef, Carrier]]:
    for func in model.all_functions():
        for nd in func.nodes_with_op(CARRIERS.__contains__):
            yield func, nd, CARRIERS[nd.op]


def lint_embedded(models: Sequence[ModelIR], ctx: LoadContext) -> Loaded:
    """Find the programs held in strings of ``models`` (loaded at this level): graphs are
    loaded through the dispatcher and returned as models; the rest is recorded on the
    model that holds them. Problems (a graph that does not parse, a limit) are returned."""
    out = Loaded("embedded")
    count = 0
    dropped = 0
    for model in models:
        resolver = _Resolver(model)
        seen = 0
        for func, nd, carrier in _carrier_nodes(model):
            seen += 1
            if seen > MAX_CARRIERS:
                continue
            where = f"node:{func.name}/{nd.name}"
            if carrier.kind != "graphdef":
                model.embedded_programs.append(_opaque(func, nd, carrier))
                continue
            resolver.steps = 0
            found = resolver.edge(func.input_edge(nd, carrier.input or 0))
            if found.reasons:
                model.embedded_programs.append(EmbeddedProgram(
                    func.name, nd.name, nd.op, carrier.where, "unresolved", "GraphDef",
                    reasons=found.reasons, caller_controlled=found.caller))
            for i, blob in enumerate(found.values):
                if count >= MAX_GRAPHS:
                    dropped += 1
                    continue
                count += 1
                label = where if len(found.values) == 1 else f"{where}#{i}"
                out_part = _load_graph(blob, label, ctx)
                out.models.extend(out_part.models)
                out.problems.extend(out_part.problems)
        if seen > MAX_CARRIERS:
            out.problems.append(ArtifactProblem(
                Problem.LIMIT, f"limit exceeded: {seen - MAX_CARRIERS} more nodes that run a program held in a "
                f"string (DatasetFromGraph, XlaCallModule...) were not checked (at most {MAX_CARRIERS} per model)",
                key="embedded-nodes"))
    if dropped:
        out.problems.append(ArtifactProblem(
            Problem.LIMIT, f"limit exceeded: {dropped} more graphs held in strings were not linted "
            f"(at most {MAX_GRAPHS} per model)", key="embedded-graphs"))
    return out


def _load_graph(blob: bytes, where: str, ctx: LoadContext) -> Loaded:
    limit = ctx.limits.max_archive_depth
    if ctx.depth + 1 > limit:
        return Loaded("member", [], [member_problem(
            Problem.LIMIT, where, f"{where}: limit exceeded: a graph held in a string nested more than {limit} "
            f"levels deep was not linted (limit max-archive-depth={limit})")])
    if not blob:
        return Loaded("member", [], [member_problem(Problem.MALFORMED, where, f"{where}: the graph is empty")])
    inner = ctx.load_member(BytesSource({MEMBER_NAME: blob}, ctx.limits, ctx.budget), MEMBER_NAME, where)
    for model in inner.models:
        if model.format.startswith("graphdef"):
            # The whole imported graph runs when the node that holds it does.
            model.entry_points = [replace(e, name=where) if e.whole_graph else e for e in model.entry_points] or [
                EntryPoint(where, False, whole_graph=True)]
    return inner


def _opaque(func: Function, nd: NodeDef, carrier: Carrier) -> EmbeddedProgram:
    data = _attr_bytes(nd, carrier.name)
    if carrier.kind == "custom_call":
        target = (data or b"").decode("utf-8", "replace")[:200]
        return EmbeddedProgram(func.name, nd.name, nd.op, carrier.where, "opaque", "custom call",
                               size=len(data or b""), custom_calls=(target,) if target else ())
    if data is None:
        return EmbeddedProgram(func.name, nd.name, nd.op, carrier.where, "opaque", "missing",
                               reasons=(f"no string attr {carrier.name!r}",))
    fmt = module_format(data)
    found = scan_module(data, fmt)
    return EmbeddedProgram(
        func.name, nd.name, nd.op, carrier.where, "opaque", fmt, size=len(data),
        custom_calls=_strs(found["custom_calls"]), functions=_strs(found["functions"]), ops=_strs(found["ops"]),
        strings=_strs(found["strings"]), truncated=bool(found["truncated"]))


def _strs(value: object) -> tuple[str, ...]:
    return tuple(str(v) for v in value) if isinstance(value, tuple) else ()
