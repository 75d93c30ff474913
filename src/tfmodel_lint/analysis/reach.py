"""Reachability: which entry points (signatures, object-graph methods, initializers,
the restore function) run a given node, and whether that happens at load time.

Answered per queried node, backwards: from a graph node forward to the outputs that
entries fetch, from a function up the call graph to the entries that call it. Each
answer is cached and reused by later walks that reach the same node, so thousands of
signatures over one chain cost one walk of the chain, not one per signature (the
earlier per-entry forward closure was signatures x chain length, in time and memory).
"""

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


def _name(text: str) -> str:
    return text.lstrip("^").partition(":")[0]


class Reachability:
    """Built once per model (linear in the number of entry points) and cached on the IR;
    the walks happen per query."""

    def __init__(self, model: ModelIR) -> None:
        self.model = model
        self._load_entries = {e.name for e in model.entry_points if e.at_load}
        #: Entries that can run any node of the top-level graph (a bare GraphDef).
        self.whole_graph: frozenset[str] = frozenset()
        self._fetches: dict[str, list[str]] = {}  # graph node -> entries fetching it
        self._seeds: dict[str, list[str]] = {}  # function -> entries calling it directly
        whole: set[str] = set()
        graph = model.graph
        for entry in model.entry_points:
            for fname in entry.functions:
                self._seeds.setdefault(fname, []).append(entry.name)
            if graph is not None and (entry.whole_graph or entry.graph_outputs):
                if entry.whole_graph or len(entry.graph_outputs) >= len(graph.node_defs):
                    whole.add(entry.name)
                else:
                    for output in entry.graph_outputs:
                        self._fetches.setdefault(_name(output), []).append(entry.name)
        self.whole_graph = frozenset(whole)
        self._consumers: dict[str, list[str]] | None = None
        self._node_memo: dict[str, frozenset[str]] = {}
        self._function_memo: dict[str, frozenset[str]] = {}

    def _graph_consumers(self) -> dict[str, list[str]]:
        """Graph node -> the graph nodes that take it as an input (data or control)."""
        if self._consumers is None:
            consumers: dict[str, list[str]] = {}
            graph = self.model.graph
            if graph is not None and self._fetches:
                for nd in graph.node_defs:
                    for text in nd.input:
                        consumers.setdefault(_name(text), []).append(nd.name)
            self._consumers = consumers
        return self._consumers

    def graph_node_entries(self, node: str) -> frozenset[str]:
        """Entries whose fetched outputs depend on graph node ``node`` (whole-graph entries aside)."""
        cached = self._node_memo.get(node)
        if cached is not None:
            return cached
        if not self._fetches:
            return frozenset()
        consumers = self._graph_consumers()
        found: set[str] = set()
        seen = {node}
        stack = [node]
        while stack:
            name = stack.pop()
            known = self._node_memo.get(name)
            if known is not None:
                found.update(known)
                continue
            found.update(self._fetches.get(name, ()))
            for nxt in consumers.get(name, ()):
                if nxt not in seen:
                    seen.add(nxt)
                    stack.append(nxt)
        result = frozenset(found)
        self._node_memo[node] = result
        return result

    def function_entries(self, function: str) -> frozenset[str]:
        """Entries that call ``function``, directly or through any chain of calls."""
        cached = self._function_memo.get(function)
        if cached is not None:
            return cached
        graph = self.model.graph
        sites = self.model.call_sites()
        found: set[str] = set()
        seen = {function}
        stack = [function]
        while stack:
            name = stack.pop()
            known = self._function_memo.get(name)
            if known is not None:
                found.update(known)
                continue
            found.update(self._seeds.get(name, ()))
            for site in sites.get(name, ()):
                if graph is not None and site.caller is graph:
                    found.update(self.graph_node_entries(site.node.name))
                    found.update(self.whole_graph)
                elif site.caller.name not in seen:
                    seen.add(site.caller.name)
                    stack.append(site.caller.name)
        result = frozenset(found)
        self._function_memo[function] = result
        return result

    def of(self, function: str, node: str, graph: bool) -> Reach:
        entries = self.graph_node_entries(node) | self.whole_graph if graph else self.function_entries(function)
        return Reach(tuple(sorted(entries)), bool(entries & self._load_entries))

    @property
    def functions(self) -> Mapping[str, frozenset[str]]:
        """Function -> the entries that reach it (every library function)."""
        return {name: self.function_entries(name) for name in self.model.functions}


REACHABILITY: MemoKey[Reachability] = MemoKey("reachability")


def reachability(model: ModelIR) -> Reachability:
    return model.memo.get(REACHABILITY, lambda: Reachability(model))


def entry_map(model: ModelIR) -> Mapping[str, frozenset[str]]:
    return reachability(model).functions
