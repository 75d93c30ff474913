"""Reachability: which entry points (signatures, object-graph methods, initializers,
the restore function) run a given node, and whether that happens at load time."""

from __future__ import annotations

from collections.abc import Mapping

from tfmodel_lint._records import dataclass
from tfmodel_lint.ir import MemoKey, ModelIR


@dataclass(frozen=True, slots=True)
class Reach:
    entries: tuple[str, ...]
    at_load: bool

    @property
    def when(self) -> str:
        if not self.entries:
            return "unreachable"
        return "load" if self.at_load else "inference"


class Reachability:
    """Computed once per model (linear in graph size) and cached on the IR."""

    def __init__(self, model: ModelIR) -> None:
        self.model = model
        self._load_entries = {e.name for e in model.entry_points if e.at_load}
        self.graph_nodes: dict[str, set[str]] = {}
        self.functions: dict[str, set[str]] = {}
        #: Entries that can run any node of the top-level graph (a bare GraphDef).
        self.whole_graph: set[str] = set()
        graph = model.graph
        node_callees: dict[str, list[str]] = {}
        if graph is not None:
            for callee, sites in model.call_sites().items():
                for site in sites:
                    if site.caller is graph:
                        node_callees.setdefault(site.node.name, []).append(callee)
        for entry in model.entry_points:
            seeds: list[str] = list(entry.functions)
            if graph is not None and (entry.whole_graph or entry.graph_outputs):
                if entry.whole_graph or len(entry.graph_outputs) >= len(graph.node_defs):
                    self.whole_graph.add(entry.name)
                    seeds.extend(c for callees in node_callees.values() for c in callees)
                else:
                    for name in self._graph_closure(entry.graph_outputs):
                        self.graph_nodes.setdefault(name, set()).add(entry.name)
                        seeds.extend(node_callees.get(name, ()))
            for fname in model.reachable_functions(seeds):
                self.functions.setdefault(fname, set()).add(entry.name)

    def _graph_closure(self, outputs: tuple[str, ...]) -> set[str]:
        graph = self.model.graph
        assert graph is not None
        seen: set[str] = set()
        stack = [o.lstrip("^").partition(":")[0] for o in outputs]
        while stack:
            name = stack.pop()
            if name in seen:
                continue
            nd = graph.node(name)
            if nd is None:
                continue
            seen.add(name)
            stack.extend(i.lstrip("^").partition(":")[0] for i in nd.input)
        return seen

    def of(self, function: str, node: str, graph: bool) -> Reach:
        if graph:
            entries = self.graph_nodes.get(node, set()) | self.whole_graph
        else:
            entries = self.functions.get(function, set())
        return Reach(tuple(sorted(entries)), bool(entries & self._load_entries))


REACHABILITY: MemoKey[Reachability] = MemoKey("reachability")


def reachability(model: ModelIR) -> Reachability:
    return model.memo.get(REACHABILITY, lambda: Reachability(model))


def entry_map(model: ModelIR) -> Mapping[str, set[str]]:
    return reachability(model).functions
