"""A bounded abstract interpreter for string-valued tensors.

Given an input edge (the argument of a capability op), compute the strings the tensor
can hold at run time, following the dataflow: constants, identities, string joins,
formatting, slicing, splitting and the ragged ops that rebuild strings, Unicode
decoding and encoding, regex replacement (RE2, as TensorFlow), base64, packing and
concatenation, lookup tables filled from constants, TF1 queues, the model's own asset
files, loops (to a bounded fixpoint) and values crossing function-call boundaries (call
ops bind the callee's arguments to the caller's inputs; captured constants are inputs
too). What cannot be computed is reported with a reason (signature input, op output,
variable, asset...), never as a bare "unknown".

Every evaluation is bounded in steps, depth, number of values, string length, loop
passes and cache size, so hostile graphs cannot make it explode; and every bound that
is hit is said: a value whose candidate set, string, loop or depth was cut carries an
``Unknown("limit", ...)`` that the policy turns into at least ``high``. When a set of
candidates is larger than the interpreter keeps, every candidate seen is ranked first
and the riskiest are the ones kept (``/etc/passwd`` is not the value a cut drops).
"""

from __future__ import annotations

import base64
import binascii
import sys
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

from tfmodel_lint.analysis import numeric
from tfmodel_lint.analysis import string_ops as _string_ops  # registers its handlers
from tfmodel_lint.analysis.numeric import Num
from tfmodel_lint.analysis.valueset import (
    _HANDLERS,
    _NUMERIC_STRING_OUTPUTS,
    _VECTOR_OPS,
    BUILD_CUT,
    CUT,
    MAX_BUILD_BYTES,
    MAX_EXACT,
    MAX_EXACT_BYTES,
    MAX_ITEMS,
    MAX_LEN,
    MAX_REASONS,
    MAX_SCAN,
    MAX_WORK_BYTES,
    REASONS_CUT,
    SCAN_CUT,
    SET_CUT,
    WORK_CUT,
    Handler,
    NumericOutput,
    Unknown,
    Value,
    _as_operand,
    _numbers_as_text,
    attr_s,
    clip,
    concat,
    const_value,
    handled_ops,
    handles,
    join_clipped,
    loose,
    make,
    map_items,
    merge_unknowns,
    numeric_output,
    output_index,
    render,
    risk,
    select,
    tensor_ints,
    union,
    unknown,
    with_unknowns,
)
from tfmodel_lint.analysis.variables import variable_values
from tfmodel_lint.ir import CALL_ATTRS, HOLE, STRING_DTYPE, Edge, Function, ModelIR

if TYPE_CHECKING:
    from tfmodel_lint.proto.tfmodel_lint_pb2 import NodeDef

MAX_STEPS = 20_000
#: Evaluation steps for all the capability arguments of one model together.
MAX_MODEL_STEPS = 200_000
MAX_DEPTH = 256
#: Python frames one level of dataflow may use; the recursion limit is raised to fit.
_FRAMES_PER_LEVEL = 8
#: Call sites of a function (and assignments of a variable) followed for one argument.
MAX_CALL_SITES = 64
#: Passes of a While loop: executed exactly when its condition can be computed, else
#: iterated to a fixpoint of the value sets.
MAX_LOOP_PASSES = 32
#: Loop passes (all loops, nested ones included) for one evaluation.
MAX_EVAL_PASSES = 256
#: Bytes the evaluator's cache may hold before it is cleared (it is also cleared per function).
MAX_CACHE_BYTES = 32 << 20
CALLS_CUT = Unknown("limit", f"more than {MAX_CALL_SITES} call sites or assignments, the rest not followed")
LOOP_CUT = Unknown("limit", f"a value carried by a While loop, not settled after {MAX_LOOP_PASSES} passes")
STEPS_CUT = Unknown("limit", f"more than {MAX_STEPS} evaluation steps")
MODEL_STEPS_CUT = Unknown("limit", f"more than {MAX_MODEL_STEPS} evaluation steps in this model")
DEPTH_CUT = Unknown("limit", f"dataflow deeper than {MAX_DEPTH}")

# -- frames ------------------------------------------------------------------------------

#: A loop state: ("iter", t) binds a loop body's arguments to the loop variables after
#: exactly t passes; ("set", t) to every value they can hold within t passes.
LoopState = tuple[str, int]


class Frame:
    """One call on the evaluation stack: the caller's call node binding the callee's
    arguments (or a While loop's variables at a given pass). Interned per evaluator,
    so a frame's ``uid`` identifies the whole stack in cache keys at no cost."""

    __slots__ = ("caller", "depth", "node", "parent", "skip", "state", "uid")

    def __init__(self, parent: Frame | None, caller: Function, node: NodeDef, skip: int,
                 state: LoopState | None, uid: int) -> None:
        self.parent = parent
        self.caller = caller
        self.node = node
        self.skip = skip
        self.state = state
        self.uid = uid
        self.depth: int = parent.depth + 1 if parent is not None else 1


# -- the interpreter ---------------------------------------------------------------------

_TABLE_OPS = frozenset({
    "HashTable", "HashTableV2", "MutableHashTable", "MutableHashTableV2", "MutableHashTableOfTensors",
    "MutableHashTableOfTensorsV2", "MutableDenseHashTable", "MutableDenseHashTableV2", "AnonymousHashTable",
    "AnonymousMutableHashTable", "AnonymousMutableHashTableOfTensors", "AnonymousMutableDenseHashTable",
})
#: Ops that fill a table: where their keys and values are.
_TABLE_WRITERS: Mapping[str, tuple[int, int]] = {
    "LookupTableImport": (1, 2), "LookupTableImportV2": (1, 2), "InitializeTable": (1, 2),
    "InitializeTableV2": (1, 2), "LookupTableInsert": (1, 2), "LookupTableInsertV2": (1, 2),
    "InitializeTableFromTextFile": (-1, -1), "InitializeTableFromTextFileV2": (-1, -1),
    "InitializeTableFromDataset": (-1, -1),
}
_QUEUE_OPS = frozenset({
    "FIFOQueue", "FIFOQueueV2", "PaddingFIFOQueue", "PaddingFIFOQueueV2", "RandomShuffleQueue",
    "RandomShuffleQueueV2", "PriorityQueue", "PriorityQueueV2", "FakeQueue",
})
_QUEUE_WRITERS = frozenset({"QueueEnqueue", "QueueEnqueueV2", "QueueEnqueueMany", "QueueEnqueueManyV2"})
_HANDLE_PASSTHROUGH = frozenset({"Identity", "IdentityN", "Snapshot", "StopGradient"})


class Evaluator:
    """Evaluates string values in one model; create one per model and reuse it."""

    def __init__(self, model: ModelIR) -> None:
        self.model = model
        self.steps = 0
        self.total_steps = 0
        self.passes = 0
        #: Bytes of strings the current evaluation may still build (see MAX_WORK_BYTES).
        self.budget = [MAX_WORK_BYTES]
        self._memo: dict[tuple[object, ...], Value] = {}
        self._num_memo: dict[tuple[object, ...], Num | None] = {}
        self._loop_memo: dict[tuple[object, ...], Value] = {}
        self._cache_bytes = 0
        self._active: set[tuple[object, ...]] = set()
        self._num_active: set[tuple[object, ...]] = set()
        self._frames: dict[tuple[object, ...], Frame] = {}
        self._assign_index: dict[int, dict[str, list[NodeDef]]] = {}
        self._writer_index: dict[str, dict[object, list[tuple[Function, NodeDef]]]] = {}
        self._loop_deps: dict[tuple[str, int], frozenset[int]] = {}
        self._signature_inputs = {
            name.partition(":")[0]: (f"'{key}' of '{sig.key}'", key)
            for sig in model.signatures
            for key, name in sig.inputs.items()
        }
        self._asset_nodes = {a.tensor_name.partition(":")[0]: a.filename for a in model.assets}
        self._bound = model.bound_inputs
        self._entry_functions = model.entry_functions
        self._asset_contents: Mapping[str, bytes | None] = model.asset_contents

    # public API
    def evaluate(self, edge: Edge | None) -> Value:
        self.steps = 0
        self.passes = 0
        self.budget[0] = MAX_WORK_BYTES
        needed = MAX_DEPTH * _FRAMES_PER_LEVEL * 2 + 500
        previous = sys.getrecursionlimit()
        if previous < needed:
            sys.setrecursionlimit(needed)
        try:
            return self._eval(edge, None, 0)
        except RecursionError:
            return unknown("limit", "dataflow too deep to follow")
        finally:
            if previous < needed:
                sys.setrecursionlimit(previous)

    def begin_function(self) -> None:
        """Forget cached values: called before the sites of each function are evaluated,
        so the cache never holds more than one function's work."""
        self._memo.clear()
        self._num_memo.clear()
        self._loop_memo.clear()
        self._frames.clear()
        self._cache_bytes = 0

    def string(self, edge: Edge | None, frame: Frame | None, depth: int) -> Value:
        return self._eval(edge, frame, depth)

    def ints(self, edge: Edge | None, frame: Frame | None = None, depth: int = 0) -> tuple[int, ...] | None:
        num = self.number(edge, frame, depth)
        return num.ints() if num is not None else None

    def number(self, edge: Edge | None, frame: Frame | None, depth: int) -> Num | None:
        """A small numeric tensor, exactly, or None."""
        if edge is None or depth > MAX_DEPTH:
            return None
        self.steps += 1
        self.total_steps += 1
        if self.steps > MAX_STEPS or self.total_steps > MAX_MODEL_STEPS:
            return None
        key = self._key(edge, frame)
        if key in self._num_memo:
            return self._num_memo[key]
        if key in self._num_active:
            return None
        self._num_active.add(key)
        try:
            value = self._number(edge, frame, depth)
        finally:
            self._num_active.discard(key)
        self._num_memo[key] = value
        self._charge(len(value.flat) * 8 if value is not None else 8, key)
        return value

    def shape_of(self, edge: Edge | None, frame: Frame | None, depth: int) -> tuple[int, ...] | None:
        """A tensor's shape when it can be known (numeric values, string constants,
        string vectors built by known ops)."""
        num = self.number(edge, frame, depth)
        if num is not None:
            return num.shape
        if edge is None or edge.node is None:
            return None
        nd = edge.node
        if nd.op in ("Const", "HostConst") and "value" in nd.attr:
            dims = tuple(d.size for d in nd.attr["value"].tensor.tensor_shape.dim)
            return dims if len(dims) <= 32 and all(d >= 0 for d in dims) else None
        if nd.op in _VECTOR_OPS.get(output_index(edge), ()):
            value = self._eval(edge, frame, depth)
            if value.exact:
                return (len(value.items),)
        return None

    # internals
    def _key(self, edge: Edge, frame: Frame | None) -> tuple[object, ...]:
        return (frame.uid if frame is not None else 0, id(edge.function),
                edge.node.name if edge.node is not None else f"arg:{edge.arg}", edge.output, edge.index)

    def _charge(self, size: int, key: tuple[object, ...]) -> None:
        self._cache_bytes += size + 200
        if self._cache_bytes > MAX_CACHE_BYTES:
            # Bounded: drop everything cached (values being computed are not affected;
            # recomputation is bounded by MAX_STEPS).
            self._memo.clear()
            self._num_memo.clear()
            self._loop_memo.clear()
            self._cache_bytes = 0

    def _push(self, parent: Frame | None, caller: Function, node: NodeDef, skip: int,
              state: LoopState | None = None) -> Frame:
        key = (parent.uid if parent is not None else 0, id(caller), node.name, skip, state)
        frame = self._frames.get(key)
        if frame is None:
            frame = Frame(parent, caller, node, skip, state, len(self._frames) + 1)
            self._frames[key] = frame
        return frame

    def _eval(self, edge: Edge | None, frame: Frame | None, depth: int) -> Value:
        if edge is None:
            return unknown("missing", "input")
        self.steps += 1
        self.total_steps += 1
        if self.steps > MAX_STEPS:
            return Value((), False, (STEPS_CUT,))
        if self.total_steps > MAX_MODEL_STEPS:
            return Value((), False, (MODEL_STEPS_CUT,))
        if self.budget[0] <= 0:
            return Value((), False, (WORK_CUT,))
        if depth > MAX_DEPTH or (frame is not None and frame.depth > MAX_DEPTH):
            return Value((), False, (DEPTH_CUT,))
        key = self._key(edge, frame)
        cached = self._memo.get(key)
        if cached is not None:
            return cached
        if key in self._active:
            return unknown("limit", "cyclic dataflow (a TF1 loop or a graph cycle) not followed")
        self._active.add(key)
        try:
            value = self._eval_arg(edge, frame, depth) if edge.node is None else self._eval_node(edge, frame, depth)
        finally:
            self._active.discard(key)
        self._memo[key] = value
        size = sum(len(i) for i in value.items)
        self.budget[0] -= size
        self._charge(size, key)
        return value

    def _input(self, func: Function, nd: NodeDef, pos: int, frame: Frame | None, depth: int) -> Value:
        return self._eval(func.input_edge(nd, pos), frame, depth + 1)

    def inputs(self, func: Function, nd: NodeDef, frame: Frame | None, depth: int) -> list[Value]:
        """The values of every data input of a node, resolved in one pass."""
        return [self._eval(edge, frame, depth + 1) for edge in func.input_edges(nd)]

    def _eval_arg(self, edge: Edge, frame: Frame | None, depth: int) -> Value:
        func, index = edge.function, edge.index
        if frame is not None:
            if frame.state is not None:
                return self._loop_arg(frame, index, depth)
            return self._input(frame.caller, frame.node, frame.skip + index, frame.parent, depth)
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
                values.append(self._input(site.caller, site.node, site.skip_inputs + index, None, depth))
            elif _is_dataset_op(site.node.op):
                values.append(self._dataset_fn_arg(site.caller, site.node, index, depth))
        if len(sites) > MAX_CALL_SITES:
            values.append(Value((), False, (CALLS_CUT,)))
        if entry is not None and bound is None:
            values.append(unknown("signature_input", f"argument '{edge.arg}' of {entry}", edge.arg or ""))
        if not values:
            return unknown("uncalled_argument", f"argument '{edge.arg}' of function {func.name}")
        return union(values)

    def _variable(self, name: str) -> Value:
        """A variable's value as saved in the checkpoint, when the loader could read it."""
        items = variable_values(self.model).get(name)
        if items:
            value = make(items, True)
            return with_unknowns(value, Unknown("variable", name))
        return unknown("variable", name)

    def _assignments(self, func: Function) -> dict[str, list[NodeDef]]:
        """VarHandleOp name -> the AssignVariableOp nodes of the same body writing it."""
        cached = self._assign_index.get(id(func))
        if cached is None:
            cached = {}
            for nd in func.nodes_with_op("AssignVariableOp".__eq__):
                if nd.op == "AssignVariableOp" and nd.input:
                    handle = nd.input[0].partition(":")[0]
                    cached.setdefault(handle, []).append(nd)
            self._assign_index[id(func)] = cached
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
        return self._input(func, nd, 1 + index - n_components, None, depth)

    def element(self, edge: Edge | None, component: int, depth: int) -> Value:
        """Possible values of one component of a dataset's elements."""
        if edge is None or edge.node is None or depth > MAX_DEPTH:
            return unknown("op_output", "dataset element")
        nd, func = edge.node, edge.function
        op = nd.op
        if op in ("TensorSliceDataset", "TensorDataset"):
            return self._input(func, nd, component, None, depth)
        if op in ("MatchingFilesDataset", "ExperimentalMatchingFilesDataset"):
            return _matches(self._input(func, nd, 0, None, depth), op)
        if op == "TextLineDataset":
            return self._lines_of(self._input(func, nd, 0, None, depth), op)
        if op in ("ConcatenateDataset",):
            return union([self.element(func.input_edge(nd, i), component, depth + 1) for i in (0, 1)])
        if op in _PASSTHROUGH_DATASETS:
            return self.element(func.input_edge(nd, 0), component, depth + 1)
        return unknown("op_output", f"{op} element")

    def _graph_node(self, name: str, depth: int) -> Value:
        graph = self.model.graph
        if graph is None:
            return unknown("missing", name)
        return self._eval(graph.resolve_input(name), None, depth + 1)

    def _eval_node(self, edge: Edge, frame: Frame | None, depth: int) -> Value:
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
                detail, key = self._signature_inputs[nd.name]
                return unknown("signature_input", detail, key)
            if func.is_graph:
                return unknown("signature_input", f"graph input '{nd.name}'", nd.name)
            return unknown("op_output", op)
        if op in ("VarHandleOp", "VariableV2", "Variable", "ReadVariableOp", "VarIsInitializedOp"):
            if op == "ReadVariableOp":
                src = func.input_edge(nd, 0)
                if src is not None and src.node is not None and src.node.op == "VarHandleOp":
                    assigned = self._assignments(func).get(src.node.name, [])
                    if assigned:
                        values = [self._input(func, a, 1, frame, depth) for a in assigned[:MAX_CALL_SITES]]
                        if len(assigned) > MAX_CALL_SITES:
                            values.append(Value((), False, (CALLS_CUT,)))
                        return union(values)
                    attrs = src.node.attr
                    name = attrs["shared_name"].s.decode("utf-8", "replace") if "shared_name" in attrs else ""
                    return self._variable(name or src.node.name)
                if src is not None and src.node is None:
                    inner = self._eval(src, frame, depth + 1)
                    if inner.unknowns:
                        return inner
                return unknown("variable", nd.name)
            return unknown("variable", nd.name)
        num = self.number(edge, frame, depth)
        if num is not None:
            return Value(_numbers_as_text(num), True, ())
        return unknown("op_output", op)

    def _number(self, edge: Edge, frame: Frame | None, depth: int) -> Num | None:
        nd = edge.node
        func = edge.function
        if nd is None:
            if frame is not None:
                if frame.state is not None:
                    return self._loop_arg_number(frame, edge.index, depth)
                return self.number(frame.caller.input_edge(frame.node, frame.skip + edge.index), frame.parent,
                                   depth + 1)
            sites = [s for s in self.model.call_sites().get(func.name, ()) if s.bound]
            bound = self._bound.get(func.name, {}).get(edge.index)
            if bound is not None and bound[0] == "graph_node" and self.model.graph is not None:
                return self.number(self.model.graph.resolve_input(bound[1]), None, depth + 1)
            if len(sites) == 1 and bound is None and func.name not in self._entry_functions:
                site = sites[0]
                return self.number(site.caller.input_edge(site.node, site.skip_inputs + edge.index), None, depth + 1)
            return None
        if func.is_graph and (nd.name in self._asset_nodes or nd.name == self.model.saver_filename):
            return None
        handler = numeric.HANDLERS.get(nd.op)
        if handler is not None:
            try:
                return handler(self, func, nd, edge, frame, depth)
            except (ValueError, OverflowError, IndexError, ZeroDivisionError, TypeError):
                return None
        num_out = _NUMERIC_STRING_OUTPUTS.get(nd.op)
        if num_out is not None:
            return num_out(self, func, nd, edge, frame, depth)
        if nd.op in ("While", "StatelessWhile"):
            return self._while_number(func, nd, edge.index, frame, depth)
        if nd.op in self.model.functions or nd.op in CALL_ATTRS:
            results = []
            for name, skip in self._callees(nd):
                callee = self.model.functions.get(name)
                if callee is None or edge.index >= len(callee.output_names):
                    return None
                ret = callee.ret.get(callee.output_names[edge.index])
                if ret is None:
                    return None
                results.append(self.number(callee.resolve_input(ret), self._push(frame, func, nd, skip), depth + 1))
            if results and all(r is not None and r == results[0] for r in results):
                return results[0]
        return None

    def _callees(self, nd: NodeDef) -> list[tuple[str, int]]:
        op = nd.op
        if op in self.model.functions:
            return [(op, 0)]
        out: list[tuple[str, int]] = []
        for attr_name, skip in CALL_ATTRS.get(op, ()):
            if attr_name not in nd.attr or (op in ("While", "StatelessWhile") and attr_name == "cond"):
                continue
            value = nd.attr[attr_name]
            names = [value.func.name] if value.WhichOneof("value") == "func" else [f.name for f in value.list.func]
            out.extend((n, skip) for n in names)
        return out

    def _call_output(self, func: Function, nd: NodeDef, edge: Edge, frame: Frame | None, depth: int) -> Value:
        if nd.op in ("While", "StatelessWhile"):
            return self._while_output(func, nd, edge.index, frame, depth)
        values: list[Value] = []
        for name, skip in self._callees(nd):
            callee = self.model.functions.get(name)
            if callee is None or edge.index >= len(callee.output_names):
                continue
            ret = callee.ret.get(callee.output_names[edge.index])
            if ret is None:
                continue
            values.append(self._eval(callee.resolve_input(ret), self._push(frame, func, nd, skip), depth + 1))
        if not values:
            return unknown("op_output", nd.op)
        return union(values)

    # -- While loops ---------------------------------------------------------------------
    #
    # A While node's output k is its loop variable k after the last pass. When the
    # condition can be computed exactly at every pass (a counter against a constant),
    # the loop is executed pass by pass ("iter" states: exact values). Otherwise the
    # value sets are iterated to a fixpoint ("set" states: everything a variable can
    # hold after up to t passes), over the variables the output depends on; a loop that
    # does not settle within MAX_LOOP_PASSES keeps what was found and says so.

    def _loop_functions(self, nd: NodeDef) -> tuple[Function | None, Function | None]:
        def get(attr: str) -> Function | None:
            if attr not in nd.attr or nd.attr[attr].WhichOneof("value") != "func":
                return None
            return self.model.functions.get(nd.attr[attr].func.name)

        return get("cond"), get("body")

    def _while_output(self, func: Function, nd: NodeDef, k: int, frame: Frame | None, depth: int) -> Value:
        cond, body = self._loop_functions(nd)
        if body is None or k >= len(body.output_names):
            return unknown("op_output", nd.op)
        passes = self._passes(func, nd, cond, frame, depth)
        if passes is not None:
            return self._loop_value(func, nd, body, k, frame, ("iter", passes), depth)
        deps = self._dependencies(body, k)
        previous = {j: self._loop_value(func, nd, body, j, frame, ("set", 0), depth) for j in deps}
        for t in range(1, MAX_LOOP_PASSES + 1):
            self.passes += 1
            if self.passes > MAX_EVAL_PASSES or self.steps > MAX_STEPS:
                break
            current = {j: self._loop_value(func, nd, body, j, frame, ("set", t), depth) for j in deps}
            if all(_same(current[j], previous[j]) for j in deps):
                result = current[k]
                return loose(result)
            previous = current
        result = previous[k]
        return loose(result, LOOP_CUT)

    def _passes(self, func: Function, nd: NodeDef, cond: Function | None, frame: Frame | None,
                depth: int) -> int | None:
        """How many times the body runs, when the condition can be computed each time."""
        if cond is None or not cond.output_names:
            return None
        ret = cond.ret.get(cond.output_names[0])
        if ret is None:
            return None
        for t in range(MAX_LOOP_PASSES + 1):
            self.passes += 1
            if self.passes > MAX_EVAL_PASSES:
                return None
            value = self.number(cond.resolve_input(ret), self._push(frame, func, nd, 0, ("iter", t)), depth + 1)
            if value is None or value.scalar is None:
                return None
            if not value.scalar:
                return t
        return None

    def _loop_value(self, func: Function, nd: NodeDef, body: Function, k: int, frame: Frame | None,
                    state: LoopState, depth: int) -> Value:
        kind, t = state
        if t == 0:
            return self._input(func, nd, k, frame, depth)
        key = (frame.uid if frame is not None else 0, id(func), nd.name, k, state)
        cached = self._loop_memo.get(key)
        if cached is not None:
            return cached
        if k >= len(body.output_names) or body.output_names[k] not in body.ret:
            return unknown("op_output", nd.op)
        ret = body.ret[body.output_names[k]]
        step = self._eval(body.resolve_input(ret), self._push(frame, func, nd, 0, (kind, t - 1)), depth + 1)
        if kind == "set":
            step = union([self._loop_value(func, nd, body, k, frame, ("set", t - 1), depth), step])
        self._loop_memo[key] = step
        return step

    def _loop_arg(self, frame: Frame, index: int, depth: int) -> Value:
        assert frame.state is not None
        _, body = self._loop_functions(frame.node)
        if body is None:
            return unknown("op_output", frame.node.op)
        return self._loop_value(frame.caller, frame.node, body, index, frame.parent, frame.state, depth)

    def _loop_number(self, func: Function, nd: NodeDef, body: Function, k: int, frame: Frame | None, t: int,
                     depth: int) -> Num | None:
        if t == 0:
            return self.number(func.input_edge(nd, k), frame, depth + 1)
        if k >= len(body.output_names) or body.output_names[k] not in body.ret:
            return None
        ret = body.ret[body.output_names[k]]
        return self.number(body.resolve_input(ret), self._push(frame, func, nd, 0, ("iter", t - 1)), depth + 1)

    def _loop_arg_number(self, frame: Frame, index: int, depth: int) -> Num | None:
        assert frame.state is not None
        kind, t = frame.state
        _, body = self._loop_functions(frame.node)
        if body is None or (kind == "set" and t > 0):
            return None
        return self._loop_number(frame.caller, frame.node, body, index, frame.parent, t, depth)

    def _while_number(self, func: Function, nd: NodeDef, k: int, frame: Frame | None, depth: int) -> Num | None:
        cond, body = self._loop_functions(nd)
        if body is None:
            return None
        passes = self._passes(func, nd, cond, frame, depth)
        return None if passes is None else self._loop_number(func, nd, body, k, frame, passes, depth)

    def _dependencies(self, body: Function, k: int) -> frozenset[int]:
        """Loop variables the body's output ``k`` depends on, transitively."""
        key = (body.name, k)
        cached = self._loop_deps.get(key)
        if cached is not None:
            return cached
        direct: dict[int, set[int]] = {}

        def args_of(j: int) -> set[int]:
            if j in direct:
                return direct[j]
            found: set[int] = set()
            direct[j] = found
            if j >= len(body.output_names) or body.output_names[j] not in body.ret:
                return found
            stack = [body.ret[body.output_names[j]]]
            seen: set[str] = set()
            while stack and len(seen) < 100_000:
                text = stack.pop()
                edge = body.resolve_input(text)
                if edge is None:
                    continue
                if edge.node is None:
                    found.add(edge.index)
                    continue
                if edge.node.name in seen:
                    continue
                seen.add(edge.node.name)
                stack.extend(i for i in edge.node.input if not i.startswith("^"))
            return found

        result = {k}
        todo = [k]
        while todo:
            j = todo.pop()
            for a in args_of(j):
                if a not in result and a < len(body.output_names):
                    result.add(a)
                    todo.append(a)
        deps = frozenset(result)
        self._loop_deps[key] = deps
        return deps

    # -- resources: lookup tables and queues ---------------------------------------------

    def _resource_ids(self, edge: Edge | None, frame: Frame | None, kinds: frozenset[str], depth: int) -> set[object]:
        """Identities of the table or queue a handle refers to: its shared name, the
        node creating it, or the captured object of the SavedModel."""
        out: set[object] = set()
        stack: list[tuple[Edge | None, Frame | None, int]] = [(edge, frame, depth)]
        visited = 0
        while stack and visited < 256:
            visited += 1
            e, fr, d = stack.pop()
            if e is None or d > MAX_DEPTH:
                continue
            if e.node is not None:
                nd = e.node
                if nd.op in kinds:
                    shared = nd.attr["shared_name"].s if "shared_name" in nd.attr else b""
                    out.add(("shared", shared) if shared else ("node", id(e.function), nd.name))
                elif nd.op in _HANDLE_PASSTHROUGH:
                    stack.append((e.function.input_edge(nd, e.index if nd.op == "IdentityN" else 0), fr, d + 1))
                elif nd.op in self.model.functions or nd.op in CALL_ATTRS:
                    for name, skip in self._callees(nd):
                        callee = self.model.functions.get(name)
                        if callee is not None and e.index < len(callee.output_names):
                            ret = callee.ret.get(callee.output_names[e.index])
                            if ret is not None:
                                stack.append((callee.resolve_input(ret), self._push(fr, e.function, nd, skip), d + 1))
                continue
            if fr is not None and fr.state is None:
                stack.append((fr.caller.input_edge(fr.node, fr.skip + e.index), fr.parent, d + 1))
                continue
            bound = self._bound.get(e.function.name, {}).get(e.index)
            if bound is not None:
                if bound[0] == "graph_node" and self.model.graph is not None:
                    stack.append((self.model.graph.resolve_input(bound[1]), None, d + 1))
                else:
                    out.add(("bound", bound))
            for site in self.model.call_sites().get(e.function.name, ())[:MAX_CALL_SITES]:
                if site.bound:
                    stack.append((site.caller.input_edge(site.node, site.skip_inputs + e.index), None, d + 1))
        return out

    def _writers(self, kind: str) -> dict[object, list[tuple[Function, NodeDef]]]:
        index = self._writer_index.get(kind)
        if index is None:
            index = {}
            ops: Iterable[str] = _TABLE_WRITERS if kind == "table" else _QUEUE_WRITERS
            kinds = _TABLE_OPS if kind == "table" else _QUEUE_OPS
            wanted = frozenset(ops)
            for func in self.model.all_functions():
                for nd in func.nodes_with_op(wanted.__contains__):
                    for rid in self._resource_ids(func.input_edge(nd, 0), None, kinds, 0):
                        index.setdefault(rid, []).append((func, nd))
            self._writer_index[kind] = index
        return index

    def table_contents(self, func: Function, nd: NodeDef, frame: Frame | None, depth: int,
                       part: int) -> Value:
        """The keys (``part`` 0) or values (``part`` 1) a table can hold: what the ops
        filling it put there (constants, imports, a text file's lines)."""
        ids = self._resource_ids(func.input_edge(nd, 0), frame, _TABLE_OPS, depth + 1)
        writers = [w for rid in ids for w in self._writers("table").get(rid, ())]
        if not writers:
            return unknown("op_output", f"{nd.op} (a table filled at run time)")
        values: list[Value] = []
        for wfunc, wnode in writers[:MAX_CALL_SITES]:
            positions = _TABLE_WRITERS[wnode.op]
            if positions[part] >= 0:
                values.append(self._input(wfunc, wnode, positions[part], None, depth))
            elif wnode.op.startswith("InitializeTableFromTextFile"):
                values.append(self._text_file_column(wfunc, wnode, part, depth))
            else:
                values.append(unknown("op_output", wnode.op))
        if len(writers) > MAX_CALL_SITES:
            values.append(Value((), False, (CALLS_CUT,)))
        merged = union(values)
        return loose(merged)

    def _text_file_column(self, func: Function, nd: NodeDef, part: int, depth: int) -> Value:
        """Keys or values of ``InitializeTableFromTextFile``: the asset file's lines (or a
        column of them); line numbers are numbers, not strings."""
        index = nd.attr["key_index" if part == 0 else "value_index"].i if (
            ("key_index" if part == 0 else "value_index") in nd.attr) else -2
        lines = self._lines_of(self._input(func, nd, 1, None, depth), nd.op)
        if index == -2:
            return lines
        if index == -1:
            return unknown("op_output", f"{nd.op} line numbers")
        delimiter = nd.attr["delimiter"].s if "delimiter" in nd.attr else b"\t"
        return make((line.split(delimiter)[index] for line in lines.items
                     if HOLE not in line and len(line.split(delimiter)) > index), False, lines.unknowns)

    def queue_contents(self, func: Function, nd: NodeDef, frame: Frame | None, depth: int) -> Value:
        """What a TF1 queue can hold: the first component of every enqueue into it."""
        ids = {("shared", nd.attr["shared_name"].s) if "shared_name" in nd.attr and nd.attr["shared_name"].s
               else ("node", id(func), nd.name)}
        writers = [w for rid in ids for w in self._writers("queue").get(rid, ())]
        if not writers:
            return unknown("op_output", f"{nd.op} (nothing enqueued in the graph)")
        values = [self._input(wfunc, wnode, 1, None, depth) for wfunc, wnode in writers[:MAX_CALL_SITES]]
        if len(writers) > MAX_CALL_SITES:
            values.append(Value((), False, (CALLS_CUT,)))
        merged = union(values)
        return loose(merged)

    # -- assets ----------------------------------------------------------------------------

    def file_contents(self, filename: Value, op: str) -> Value:
        """What reading a file gives: the content of the model's own asset file (read by
        the loader, bounded), else an op output."""
        if filename.items or not filename.unknowns:
            return unknown("op_output", op)
        out: list[bytes] = []
        reasons: list[Unknown] = []
        for u in filename.unknowns:
            content = self._asset_contents.get(u.detail) if u.kind == "asset" else None
            if content is not None:
                out.append(content)
            elif u.kind == "asset":
                reasons.append(Unknown("limit", f"content of asset '{u.detail}' not read (too large or unreadable)")
                               if u.detail in self._asset_contents else Unknown("op_output", f"{op} of asset"))
            else:
                reasons.append(Unknown("op_output", op))
        if not out:
            return Value((), False, merge_unknowns(reasons))
        return make(out, len(out) == 1 and not reasons, reasons)

    def _lines_of(self, filenames: Value, op: str) -> Value:
        contents = self.file_contents(filenames, op)
        if not contents.items:
            return contents

        def lines() -> Iterable[bytes]:
            for content in contents.items:
                for line in content.split(b"\n"):
                    yield line[:-1] if line.endswith(b"\r") else line

        return make(lines(), False, contents.unknowns)


def _same(a: Value, b: Value) -> bool:
    return set(a.items) == set(b.items) and set(a.unknowns) == set(b.unknowns)


# -- op handlers -------------------------------------------------------------------------



@handles("Const", "HostConst")
def _const(ev: Evaluator, func: Function, nd: NodeDef, edge: Edge, frame: Frame | None, depth: int) -> Value:
    if "value" not in nd.attr:
        return unknown("missing", f"value of {nd.name}")
    t = nd.attr["value"].tensor
    if t.dtype == STRING_DTYPE:
        return const_value(t)
    num = numeric.from_tensor(t)
    return Value(_numbers_as_text(num), True, ()) if num is not None else unknown("unsupported", "non-string constant")


@handles("Identity", "Snapshot", "StopGradient", "Reshape", "ExpandDims", "Squeeze", "EnsureShape",
         "CheckNumerics", "PreventGradient", "Copy", "DebugGradientIdentity", "RandomShuffle", "Unique")
def _identity(ev: Evaluator, func: Function, nd: NodeDef, edge: Edge, frame: Frame | None, depth: int) -> Value:
    value = ev._input(func, nd, 0, frame, depth)
    if nd.op in ("RandomShuffle", "Unique") and value.exact and len(value.items) > 1:
        return loose(value)  # the same elements, in another order
    return value


@handles("IdentityN")
def _identity_n(ev: Evaluator, func: Function, nd: NodeDef, edge: Edge, frame: Frame | None, depth: int) -> Value:
    return ev._input(func, nd, edge.index, frame, depth)


@handles("PlaceholderWithDefault")
def _placeholder_default(ev: Evaluator, func: Function, nd: NodeDef, edge: Edge, frame: Frame | None,
                         depth: int) -> Value:
    default = ev._input(func, nd, 0, frame, depth)
    fed = ev._signature_inputs.get(nd.name) if func.is_graph else None
    return union([default, unknown("signature_input", fed[0], fed[1])]) if fed else default


@handles("StringJoin")
def _string_join(ev: Evaluator, func: Function, nd: NodeDef, edge: Edge, frame: Frame | None, depth: int) -> Value:
    return concat(ev.inputs(func, nd, frame, depth), attr_s(nd, "separator"), ev.budget)


@handles("Add", "AddV2")
def _add(ev: Evaluator, func: Function, nd: NodeDef, edge: Edge, frame: Frame | None, depth: int) -> Value:
    if "T" in nd.attr and nd.attr["T"].type != STRING_DTYPE:
        num = ev.number(edge, frame, depth)
        if num is not None:
            return Value(_numbers_as_text(num), True, ())
        return unknown("unsupported", f"{nd.op} of numbers")
    parts = [ev._input(func, nd, i, frame, depth) for i in (0, 1)]
    return concat(parts, b"", ev.budget)


@handles("StringFormat")
def _string_format(ev: Evaluator, func: Function, nd: NodeDef, edge: Edge, frame: Frame | None, depth: int) -> Value:
    template = attr_s(nd, "template", b"%s")
    placeholder = attr_s(nd, "placeholder", b"%s") or b"%s"
    summarize = nd.attr["summarize"].i if "summarize" in nd.attr else 3
    pieces = template.split(placeholder)
    types = list(nd.attr["T"].list.type) if "T" in nd.attr else []
    parts: list[Value] = [Value((clip(pieces[0]),), True, ())]
    values = ev.inputs(func, nd, frame, depth)
    for k, piece in enumerate(pieces[1:]):
        if k < len(values):
            parts.append(_summarize(values[k], k < len(types) and types[k] == STRING_DTYPE, summarize))
        else:
            parts.append(Value((placeholder,), True, ()))
        parts.append(Value((clip(piece),), True, ()))
    return concat(parts, b"", ev.budget)


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
        return Value((b"[" + join_clipped(shown, b" ")[: MAX_LEN - 1] + b"]",), True, value.unknowns)
    return make((i if HOLE in i else quote(i) for i in value.items), value.exact, value.unknowns)


@handles("Pack", "ConcatV2", "Concat")
def _pack(ev: Evaluator, func: Function, nd: NodeDef, edge: Edge, frame: Frame | None, depth: int) -> Value:
    edges = func.input_edges(nd)
    edges = edges[:-1] if nd.op == "ConcatV2" else edges[1:] if nd.op == "Concat" else edges
    parts = [ev._eval(e, frame, depth + 1) for e in edges]
    return make((i for p in parts for i in p.items), all(p.exact for p in parts),
                merge_unknowns(*(p.unknowns for p in parts)))


@handles("GatherV2", "Gather")
def _gather(ev: Evaluator, func: Function, nd: NodeDef, edge: Edge, frame: Frame | None, depth: int) -> Value:
    params = ev._input(func, nd, 0, frame, depth)
    idx = ev.ints(func.input_edge(nd, 1), frame, depth + 1)
    if params.exact and idx is not None and all(-len(params.items) <= i < len(params.items) for i in idx):
        return make((params.items[i] for i in idx), True, params.unknowns)
    return loose(params)


@handles("StridedSlice")
def _strided_slice(ev: Evaluator, func: Function, nd: NodeDef, edge: Edge, frame: Frame | None, depth: int) -> Value:
    data = ev._input(func, nd, 0, frame, depth)
    begin, end, strides = (ev.ints(func.input_edge(nd, i), frame, depth + 1) for i in (1, 2, 3))
    masks = {k: nd.attr[k].i if k in nd.attr else 0 for k in ("begin_mask", "end_mask", "shrink_axis_mask",
                                                               "ellipsis_mask", "new_axis_mask")}
    if data.exact and begin is not None and end is not None and strides is not None:
        shape = ev.shape_of(func.input_edge(nd, 0), frame, depth + 1)
        if shape is None and len(begin) <= 1:
            shape = (len(data.items),)
        if shape is not None and len(data.items) == _prod(shape):
            picked = numeric.strided_slice_indices(shape, begin, end, strides, masks)
            if picked is not None:
                return Value(tuple(data.items[i] for i in picked[0]), True, data.unknowns)
    return loose(data)


def _prod(shape: Sequence[int]) -> int:
    out = 1
    for d in shape:
        out *= d
    return out


@handles("Slice")
def _slice(ev: Evaluator, func: Function, nd: NodeDef, edge: Edge, frame: Frame | None, depth: int) -> Value:
    data = ev._input(func, nd, 0, frame, depth)
    begin, size = ev.ints(func.input_edge(nd, 1), frame, depth + 1), ev.ints(func.input_edge(nd, 2), frame, depth + 1)
    if data.exact and begin is not None and size is not None and len(begin) == len(size) == 1:
        stop = len(data.items) if size[0] < 0 else begin[0] + size[0]
        return Value(data.items[begin[0]:stop], True, data.unknowns)
    return loose(data)


@handles("Substr")
def _substr(ev: Evaluator, func: Function, nd: NodeDef, edge: Edge, frame: Frame | None, depth: int) -> Value:
    data = ev._input(func, nd, 0, frame, depth)
    pos, length = ev.ints(func.input_edge(nd, 1), frame, depth + 1), ev.ints(func.input_edge(nd, 2), frame, depth + 1)
    unit = attr_s(nd, "unit", b"BYTE")
    if pos is None or length is None or len(pos) != 1 or len(length) != 1:
        why = Unknown("unsupported", "Substr with computed bounds")
        return Value(tuple(HOLE for _ in data.items[:1]), False, merge_unknowns(data.unknowns, (why,)))

    def cut(s: bytes) -> bytes:
        if unit == b"UTF8_CHAR":
            text = s.decode("utf-8", "surrogateescape")
            start = pos[0] if pos[0] >= 0 else len(text) + pos[0]
            return text[start:start + length[0]].encode("utf-8", "surrogateescape")
        start = pos[0] if pos[0] >= 0 else len(s) + pos[0]
        return s[start:start + length[0]]

    return map_items(data, cut)


def _regex_apply(data: Value, pattern: bytes, rewrite: bytes, global_: bool) -> Value:
    from tfmodel_lint.analysis.regex import replacer

    fn = replacer(pattern, rewrite, global_)
    if isinstance(fn, str):
        return loose(data, Unknown("unsupported", fn))

    def apply(s: bytes) -> bytes:
        if HOLE in s:
            return s
        return clip(fn(s))

    return map_items(data, apply)


@handles("StaticRegexReplace")
def _static_regex(ev: Evaluator, func: Function, nd: NodeDef, edge: Edge, frame: Frame | None, depth: int) -> Value:
    data = ev._input(func, nd, 0, frame, depth)
    glob = nd.attr["replace_global"].b if "replace_global" in nd.attr else True
    return _regex_apply(data, attr_s(nd, "pattern"), attr_s(nd, "rewrite"), glob)


@handles("RegexReplace")
def _regex(ev: Evaluator, func: Function, nd: NodeDef, edge: Edge, frame: Frame | None, depth: int) -> Value:
    data = ev._input(func, nd, 0, frame, depth)
    pattern, rewrite = ev._input(func, nd, 1, frame, depth), ev._input(func, nd, 2, frame, depth)
    glob = nd.attr["replace_global"].b if "replace_global" in nd.attr else True
    if not (pattern.fully_known and rewrite.fully_known and len(pattern.items) == 1 and len(rewrite.items) == 1):
        why = Unknown("unsupported", "RegexReplace with computed pattern")
        return loose(data, *pattern.unknowns, *rewrite.unknowns, why)
    return _regex_apply(data, pattern.items[0], rewrite.items[0], glob)


def _b64decode(s: bytes) -> bytes:
    if HOLE in s:
        return HOLE
    try:
        return clip(base64.urlsafe_b64decode(s + b"=" * (-len(s) % 4)))
    except (binascii.Error, ValueError):
        return HOLE


@handles("DecodeBase64")
def _decode_b64(ev: Evaluator, func: Function, nd: NodeDef, edge: Edge, frame: Frame | None, depth: int) -> Value:
    return map_items(ev._input(func, nd, 0, frame, depth), _b64decode)


@handles("EncodeBase64")
def _encode_b64(ev: Evaluator, func: Function, nd: NodeDef, edge: Edge, frame: Frame | None, depth: int) -> Value:
    pad = nd.attr["pad"].b if "pad" in nd.attr else False

    def enc(s: bytes) -> bytes:
        out = base64.urlsafe_b64encode(s)
        return out if pad else out.rstrip(b"=")

    return map_items(ev._input(func, nd, 0, frame, depth), enc)


@handles("ReverseV2", "Reverse")
def _reverse(ev: Evaluator, func: Function, nd: NodeDef, edge: Edge, frame: Frame | None, depth: int) -> Value:
    data = ev._input(func, nd, 0, frame, depth)
    return Value(tuple(reversed(data.items)), data.exact, data.unknowns)


@handles("ReduceJoin")
def _reduce_join(ev: Evaluator, func: Function, nd: NodeDef, edge: Edge, frame: Frame | None, depth: int) -> Value:
    data = ev._input(func, nd, 0, frame, depth)
    sep = attr_s(nd, "separator")
    if data.exact:
        return Value((join_clipped(data.items, sep),), True, data.unknowns)
    why = Unknown("unsupported", "ReduceJoin of a tensor whose elements are not known in order")
    return loose(data, why)


@handles("AsString")
def _as_string(ev: Evaluator, func: Function, nd: NodeDef, edge: Edge, frame: Frame | None, depth: int) -> Value:
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
def _upper(ev: Evaluator, func: Function, nd: NodeDef, edge: Edge, frame: Frame | None, depth: int) -> Value:
    return map_items(ev._input(func, nd, 0, frame, depth), lambda s: s if HOLE in s else s.upper())


@handles("StringLower")
def _lower(ev: Evaluator, func: Function, nd: NodeDef, edge: Edge, frame: Frame | None, depth: int) -> Value:
    return map_items(ev._input(func, nd, 0, frame, depth), lambda s: s if HOLE in s else s.lower())


@handles("StringStrip")
def _strip(ev: Evaluator, func: Function, nd: NodeDef, edge: Edge, frame: Frame | None, depth: int) -> Value:
    return map_items(ev._input(func, nd, 0, frame, depth), lambda s: s.strip(b" \t\n\r\x0b\x0c"))


@handles("Select", "SelectV2")
def _select(ev: Evaluator, func: Function, nd: NodeDef, edge: Edge, frame: Frame | None, depth: int) -> Value:
    cond = ev.number(func.input_edge(nd, 0), frame, depth + 1)
    if cond is not None and cond.scalar is not None:
        return ev._input(func, nd, 1 if cond.scalar else 2, frame, depth)
    return union([ev._input(func, nd, 1, frame, depth), ev._input(func, nd, 2, frame, depth)])


@handles("Merge", "RefMerge", "Switch", "RefSwitch", "Enter", "RefEnter", "Exit", "NextIteration")
def _control_flow_v1(ev: Evaluator, func: Function, nd: NodeDef, edge: Edge, frame: Frame | None, depth: int) -> Value:
    if nd.op in ("Merge", "RefMerge"):
        return union(ev.inputs(func, nd, frame, depth))
    return ev._input(func, nd, 0, frame, depth)


@handles("ShardedFilename")
def _sharded_filename(ev: Evaluator, func: Function, nd: NodeDef, edge: Edge, frame: Frame | None,
                      depth: int) -> Value:
    base = ev._input(func, nd, 0, frame, depth)
    shard, num = ev.ints(func.input_edge(nd, 1), frame, depth + 1), ev.ints(func.input_edge(nd, 2), frame, depth + 1)
    suffix = b"-%05d-of-%05d" % (shard[0], num[0]) if shard and num else b"-<shard>"
    return make((i + suffix for i in _as_operand(base)), base.exact, base.unknowns)


@handles("ShardedFilespec")
def _sharded_filespec(ev: Evaluator, func: Function, nd: NodeDef, edge: Edge, frame: Frame | None,
                      depth: int) -> Value:
    base = ev._input(func, nd, 0, frame, depth)
    num = ev.ints(func.input_edge(nd, 1), frame, depth + 1)
    suffix = b"-?????-of-%05d" % num[0] if num else b"-?????-of-<n>"
    return make((i + suffix for i in _as_operand(base)), base.exact, base.unknowns)


@handles("ReadFile")
def _read_file(ev: Evaluator, func: Function, nd: NodeDef, edge: Edge, frame: Frame | None, depth: int) -> Value:
    return ev.file_contents(ev._input(func, nd, 0, frame, depth), nd.op)


@handles("LookupTableFind", "LookupTableFindV2")
def _table_find(ev: Evaluator, func: Function, nd: NodeDef, edge: Edge, frame: Frame | None, depth: int) -> Value:
    values = ev.table_contents(func, nd, frame, depth, 1)
    default = ev._input(func, nd, 2, frame, depth)
    return union([values, default])


@handles("LookupTableExport", "LookupTableExportV2")
def _table_export(ev: Evaluator, func: Function, nd: NodeDef, edge: Edge, frame: Frame | None, depth: int) -> Value:
    return ev.table_contents(func, nd, frame, depth, 1 if output_index(edge) == 1 else 0)


@handles(*_QUEUE_OPS)
def _queue(ev: Evaluator, func: Function, nd: NodeDef, edge: Edge, frame: Frame | None, depth: int) -> Value:
    return ev.queue_contents(func, nd, frame, depth)


@handles("QueueDequeue", "QueueDequeueV2", "QueueDequeueMany", "QueueDequeueManyV2", "QueueDequeueUpTo",
         "QueueDequeueUpToV2")
def _dequeue(ev: Evaluator, func: Function, nd: NodeDef, edge: Edge, frame: Frame | None, depth: int) -> Value:
    if edge.index != 0:
        return unknown("op_output", f"{nd.op} component {edge.index}")
    return ev._input(func, nd, 0, frame, depth)


@handles("TensorListFromTensor", "TensorListStack", "TensorListGetItem", "TensorListGather", "TensorListConcat",
         "TensorListConcatV2", "TensorListPopBack")
def _tensor_list(ev: Evaluator, func: Function, nd: NodeDef, edge: Edge, frame: Frame | None, depth: int) -> Value:
    value = ev._input(func, nd, 0, frame, depth)
    if nd.op in ("TensorListFromTensor", "TensorListStack"):
        return value
    return loose(value)


@handles("TensorListSetItem", "TensorListPushBack")
def _tensor_list_set(ev: Evaluator, func: Function, nd: NodeDef, edge: Edge, frame: Frame | None, depth: int) -> Value:
    merged = union([ev._input(func, nd, 0, frame, depth), ev._input(func, nd, 2 if nd.op == "TensorListSetItem" else 1,
                                                                      frame, depth)])
    return loose(merged)


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
    return loose(patterns, Unknown("op_output", op))


@handles("MatchingFiles")
def _matching_files(ev: Evaluator, func: Function, nd: NodeDef, edge: Edge, frame: Frame | None, depth: int) -> Value:
    return _matches(ev._input(func, nd, 0, frame, depth), nd.op)


__all__ = [
    "BUILD_CUT", "CUT", "HOLE", "MAX_BUILD_BYTES", "MAX_EXACT", "MAX_EXACT_BYTES", "MAX_ITEMS", "MAX_LEN",
    "MAX_REASONS", "MAX_SCAN", "MAX_WORK_BYTES", "REASONS_CUT", "SCAN_CUT", "SET_CUT", "STRING_DTYPE", "WORK_CUT",
    "Evaluator", "Frame", "Handler", "NumericOutput", "Unknown", "Value", "_string_ops", "clip", "concat",
    "const_value", "handled_ops", "join_clipped", "make", "map_items", "merge_unknowns", "numeric_output", "render",
    "risk", "select", "tensor_ints", "union", "unknown", "with_unknowns",
]
