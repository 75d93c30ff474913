"""XMP1xx: example rules over the normalized model representation (``ModelIR``).

A rule is a small class: declared metadata (code, name, severity, category, summary,
precision, formats) and one method, ``check(model, ctx)``, that yields issues. It never
sees files: loaders turn every format (SavedModel, GraphDef, Keras, TFLite...) into a
``ModelIR``, so this rule works for all graph formats at once. The docstring is the
rule's documentation (``tfmodel-lint rules XMP101``, SARIF ``help``).
"""

from __future__ import annotations

from collections.abc import Iterable

from tfmodel_lint.findings import Issue, Location, Severity
from tfmodel_lint.ir import ModelIR
from tfmodel_lint.rules.base import Rule, RuleContext

LOOP_OPS = frozenset({"While", "StatelessWhile"})


class GraphLoops(Rule):
    """The model's graph contains more loops (``While``/``StatelessWhile``) than allowed.

    A loop whose trip count comes from a request can keep a serving process busy for as
    long as the caller wants. Teams that serve models from untrusted sources under a
    latency budget review every loop; recurrent layers (LSTM, GRU) legitimately use one.

    Reported once per model, at its first loop, with the number of loops and the
    functions that hold them. The limit is ``max_loops``: the rule's option when the
    host passes one in ``ctx.options``, else the class attribute (0).

    Severity: low.
    """

    code = "XMP101"
    name = "graph-loops"
    severity = Severity.LOW
    category = "process_sleep"
    summary = "Graph contains loops (While) that a request can keep running"
    precision = "low"
    max_loops = 0

    def check(self, model: ModelIR, ctx: RuleContext) -> Iterable[Issue]:
        limit = int(ctx.options.get("max_loops", self.max_loops))
        loops = [(func, nd) for func in model.all_functions() for nd in func.node_defs if nd.op in LOOP_OPS]
        if len(loops) <= limit:
            return
        func, first = loops[0]
        holders = sorted({f.name for f, _ in loops})
        yield self.issue(
            Location(function=func.name, node=first.name, op=first.op),
            f"{len(loops)} loop op{'s' if len(loops) != 1 else ''} in {len(holders)} "
            f"function{'s' if len(holders) != 1 else ''} (limit {limit})",
            evidence={"loops": len(loops), "functions": holders},
        )


RULES = [GraphLoops]
