"""Taint: data read from a file or directory listing that reaches a network send or a
file write, through any chain of ops and function calls.

For every sink (a site assessed as ``network_send`` or ``file_write``) walk the
dataflow backwards from its inputs — across call boundaries, into the functions of
dataset ops, and from function arguments to their call sites — until a source (a site
assessed as ``file_read`` or ``dir_read``, the model's own assets excepted) is found.
The walk is bounded per sink, so the analysis stays linear in practice.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from typing import TYPE_CHECKING

from tfmodel_lint._records import dataclass
from tfmodel_lint.analysis.capabilities import Assessment, assess
from tfmodel_lint.findings import Severity
from tfmodel_lint.ir import Function, MemoKey, ModelIR, func_names
from tfmodel_lint.signatures import SignatureDB

if TYPE_CHECKING:
    from tfmodel_lint.proto.tfmodel_lint_pb2 import NodeDef

MAX_VISITS = 20_000
SOURCES = ("file_read", "dir_read")
SINKS = ("network_send", "file_write")

NodeKey = tuple[str, str]  # (function name, node name)
#: Ops that put data into the resource named by one of their inputs.
RESOURCE_WRITERS = frozenset({
    "MakeIterator", "AssignVariableOp", "AssignAddVariableOp", "LookupTableInsertV2", "LookupTableImportV2",
    "InitializeTableV2", "InitializeTableFromTextFileV2", "InitializeTableFromDataset", "QueueEnqueueV2",
    "QueueEnqueueManyV2", "TensorListPushBack", "StackPushV2", "TensorArrayWriteV3", "TensorArrayScatterV3",
})


@dataclass(frozen=True, slots=True)
class Chain:
    source: Assessment
    sink: Assessment
    path: tuple[str, ...]  # "function/node" from source to sink

    @property
    def kind(self) -> str:
        if self.sink.category in SINKS:
            return "exfiltration"
        return "listing_to_reader"


class _Graph:
    """Backward edges of the whole model: node -> the nodes its data can come from."""

    def __init__(self, model: ModelIR) -> None:
        self.model = model
        self.functions: dict[str, Function] = {f.name: f for f in model.all_functions()}
        self._writers: dict[str, dict[str, list[NodeDef]]] = {}

    def writers(self, func: Function, resource: str) -> list[NodeDef]:
        """Nodes of ``func`` that put data into a resource (an iterator, a variable, a table)."""
        index = self._writers.get(func.name)
        if index is None:
            index = {}
            for nd in func.nodes_with_op(RESOURCE_WRITERS.__contains__):
                if nd.op in RESOURCE_WRITERS:
                    for text in nd.input[1:2] if nd.op == "MakeIterator" else nd.input[:1]:
                        index.setdefault(text.partition(":")[0], []).append(nd)
            self._writers[func.name] = index
        return index.get(resource, [])

    def preds(self, func: Function, nd: NodeDef) -> Iterator[tuple[Function, NodeDef]]:
        model = self.model
        for text in nd.input:
            if text.startswith("^"):
                continue
            edge = func.resolve_input(text)
            if edge is None:
                continue
            if edge.node is not None:
                yield func, edge.node
                for writer in self.writers(func, edge.node.name):
                    yield func, writer
                continue
            # A function argument: whatever the callers pass in.
            for site in model.call_sites().get(func.name, ())[:64]:
                inputs = site.caller.data_inputs(site.node)
                pos = site.skip_inputs + edge.index if site.bound else 0
                if pos < len(inputs):
                    src = site.caller.resolve_input(inputs[pos])
                    if src is not None and src.node is not None:
                        yield site.caller, src.node
        # Results of called functions (calls, branches, loop bodies, dataset functions).
        callees = [nd.op] if nd.op in model.functions else []
        for value in nd.attr.values():
            callees.extend(func_names(value))
        for name in callees:
            callee = model.functions.get(name)
            if callee is None:
                continue
            for ret in callee.ret.values():
                edge = callee.resolve_input(ret)
                if edge is not None and edge.node is not None:
                    yield callee, edge.node


TAINT_CHAINS: MemoKey[list[Chain]] = MemoKey("taint_chains")


def find_chains(model: ModelIR, sigdb: SignatureDB) -> list[Chain]:
    return model.memo.get(TAINT_CHAINS, lambda: _find_chains(model, sigdb))


def _find_chains(model: ModelIR, sigdb: SignatureDB) -> list[Chain]:
    assessments = assess(model, sigdb)
    sources: dict[NodeKey, Assessment] = {}
    for a in assessments:
        if a.category in SOURCES and a.severity > Severity.INFO:
            sources.setdefault((a.site.function.name, a.site.node.name), a)
    # One chain per sink node: a write to a remote file system is assessed as a write and
    # as a network send; the send is the one reported.
    sinks: list[Assessment] = []
    sink_nodes: set[NodeKey] = set()
    for a in sorted((a for a in assessments if a.category in SINKS), key=lambda a: SINKS.index(a.category)):
        node_key = (a.site.function.name, a.site.node.name)
        if node_key not in sink_nodes:
            sink_nodes.add(node_key)
            sinks.append(a)
    readers = [a for a in assessments if a.category == "file_read"]
    chains: list[Chain] = []
    if sources:
        graph = _Graph(model)
        for sink in sinks:
            chain = _search(graph, sink, sources)
            if chain is not None:
                chains.append(chain)
        listings = {k: v for k, v in sources.items() if v.category == "dir_read"}
        if listings:
            for reader in readers:
                chain = _search(graph, reader, listings)
                if chain is not None:
                    chains.append(chain)
    return chains


def _search(graph: _Graph, sink: Assessment, sources: dict[NodeKey, Assessment]) -> Chain | None:
    start = (sink.site.function, sink.site.node)
    parents: dict[NodeKey, NodeKey | None] = {(start[0].name, start[1].name): None}
    queue: deque[tuple[Function, NodeDef]] = deque([start])
    visits = 0
    while queue and visits < MAX_VISITS:
        func, nd = queue.popleft()
        visits += 1
        for pfunc, pnode in graph.preds(func, nd):
            key = (pfunc.name, pnode.name)
            if key in parents:
                continue
            parents[key] = (func.name, nd.name)
            source = sources.get(key)
            if source is not None and source is not sink:
                path = [key]
                cur = parents[key]
                while cur is not None:
                    path.append(cur)
                    cur = parents[cur]
                return Chain(source, sink, tuple(f"{f}/{n}" for f, n in path))
            queue.append((pfunc, pnode))
    return None
