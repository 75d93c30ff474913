"""Reachability: which entry points (signatures, object-graph methods, initializers,
the restore function) run a given node, and whether that happens at load time."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from tfmodel_lint.ir import ModelIR, func_names


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
        graph = model.graph
        for entry in model.entry_points:
            seeds: list[str] = list(entry.functions)
            if graph is not None and entry.graph_outputs:
                for name in self._graph_closure(entry.graph_outputs):
                    self.graph_nodes.setdefault(name, set()).add(entry.name)
                    nd = graph.node(name)
                    if nd is None:
                        continue
                    if nd.op in model.functions:
                        seeds.append(nd.op)
                    for value in nd.attr.values():
                        seeds.extend(func_names(value))
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
        entries = self.graph_nodes.get(node, set()) if graph else self.functions.get(function, set())
        return Reach(tuple(sorted(entries)), bool(entries & self._load_entries))


def reachability(model: ModelIR) -> Reachability:
    cached = model.cache.get("reachability")
    if isinstance(cached, Reachability):
        return cached
    reach = Reachability(model)
    model.cache["reachability"] = reach
    return reach


def entry_map(model: ModelIR) -> Mapping[str, set[str]]:
    return reachability(model).functions
