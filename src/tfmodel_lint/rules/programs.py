"""TFL102-103: code the linter cannot see: programs held in strings that could not be
linted as graphs, and ops whose kernels no capability data describes."""

from __future__ import annotations

import re
from collections.abc import Iterable

from tfmodel_lint.analysis.reach import reachability
from tfmodel_lint.findings import Issue, Location, Severity
from tfmodel_lint.ir import EmbeddedProgram, Function, ModelIR
from tfmodel_lint.rules.base import Rule, RuleContext
from tfmodel_lint.signatures import SignatureDB

#: Custom-call targets that run Python in the process that runs the model: JAX host
#: callbacks (``jax.pure_callback``, ``io_callback``, ``debug.callback``...).
HOST_CALLBACK = r"(?i)python|(^|_)callback|host_?callback|py_?func"
#: Shown in a message (the evidence has all of them).
_SHOWN = 4


def _listing(items: Iterable[str]) -> str:
    items = list(items)
    shown = ", ".join(repr(i) for i in items[:_SHOWN])
    return shown + (f" and {len(items) - _SHOWN} more" if len(items) > _SHOWN else "")


def capability_ops(program: EmbeddedProgram, sigdb: SignatureDB) -> list[str]:
    """TensorFlow ops with a capability that an opaque module names (``tf.ReadFile`` in
    an MLIR module; ``ReadFile`` in the string table of bytecode)."""
    found = []
    for name in (*program.ops, *program.strings):
        op = name[3:] if name.startswith("tf.") else name
        sig = sigdb.get(op)
        if sig is not None and sig.categories and name not in found:
            found.append(name)
    return found


class EmbeddedProgramNotChecked(Rule):
    """A graph, function library or module held in a string that the linter could not
    check.

    ``DatasetFromGraph`` imports and runs the serialized GraphDef in its ``graph_def``
    input; ``XlaCallModule`` compiles the StableHLO module in its ``module`` attribute,
    whose custom calls can call back into the host process; ``MlirPassthroughOp`` and
    XLA's host-compute and TPU-compile ops run an MLIR module held as text;
    ``XlaCustomCall`` calls a native function registered under the name it holds. A
    GraphDef held as a constant (directly, through ``Identity`` chains, call arguments
    or captured constants) is parsed and linted like any graph: its findings name the
    node that holds it (``member: node:<function>/<node>``). This rule reports the rest:

    * unresolved: the string is computed when the model runs; the message says from
      what. Severity medium; high when a signature input or a feed supplies it (every
      caller chooses the graph that runs).
    * opaque: a module in a format the linter does not parse (StableHLO or other MLIR
      bytecode, MLIR text) or a custom call. The evidence lists what a bounded scan of
      its bytes found: custom-call targets, function symbols, op names, other strings.
      Severity medium; high when a custom-call target calls back into the host process
      (JAX host callbacks such as ``xla_python_cpu_callback``) or the module names a
      TensorFlow op with a capability (``tf.ReadFile`` in an MLIR module).
      ``tf.call_tf_function`` targets call the functions listed in the op's
      ``function_list``, which are linted as part of the model.
    """

    code = "TFL102"
    name = "embedded-program"
    severity = Severity.MEDIUM
    category = "code_execution"
    summary = "Graph or module held in a string that could not be checked (run-time value, StableHLO, MLIR)"
    precision = "medium"

    def check(self, model: ModelIR, ctx: RuleContext) -> Iterable[Issue]:
        if not model.embedded_programs:
            return
        reach = reachability(model)
        for program in model.embedded_programs:
            func = model.functions.get(program.function) or model.graph
            is_graph = func is not None and func.is_graph and func.name == program.function
            where = reach.of(program.function, program.node, is_graph)
            location = Location(function=program.function, node=program.node, op=program.op,
                                reached_from=where.entries)
            evidence: dict[str, object] = {"op": program.op, "carrier": program.carrier, "status": program.status,
                                           "reached_from": list(where.entries), "runs_at": where.when}
            if program.status == "unresolved":
                yield self._unresolved(program, location, evidence)
            else:
                yield self._opaque(program, location, evidence, ctx.signatures)

    def _unresolved(self, program: EmbeddedProgram, location: Location, evidence: dict[str, object]) -> Issue:
        evidence["unresolved"] = list(program.reasons)
        severity = Severity.HIGH if program.caller_controlled else Severity.MEDIUM
        message = (f"{program.op} runs a GraphDef from its {program.carrier} that cannot be resolved statically "
                   f"({'; '.join(program.reasons[:2])})")
        if program.caller_controlled:
            message += ": the caller chooses the graph that runs"
        return self.issue(location, message, severity, evidence, key="unresolved")

    def _opaque(self, program: EmbeddedProgram, location: Location, evidence: dict[str, object],
                sigdb: SignatureDB) -> Issue:
        evidence.update(format=program.format, size=program.size)
        for key in ("custom_calls", "functions", "ops", "strings"):
            value = getattr(program, key)
            if value:
                evidence[key] = list(value)
        if program.truncated:
            evidence["truncated"] = True
        if program.reasons:
            evidence["unresolved"] = list(program.reasons)
        callbacks = [c for c in program.custom_calls if re.search(HOST_CALLBACK, c) and "call_tf_function" not in c]
        capable = capability_ops(program, sigdb)
        severity = Severity.HIGH if callbacks or capable else Severity.MEDIUM
        if program.format == "custom call":
            message = f"{program.op} calls the native custom-call target {_listing(program.custom_calls) or '(none)'}"
        else:
            article = "an" if program.format[:1].lower() in "aeiou" or program.format.startswith("MLIR") else "a"
            message = (f"{program.op} runs {article} {program.format} module held in its {program.carrier} "
                       f"({program.size} bytes), which the linter does not parse")
            details = []
            if program.custom_calls:
                details.append(f"custom calls {_listing(program.custom_calls)}")
            if program.functions:
                details.append(f"functions {_listing(program.functions)}")
            if details:
                message += f"; {'; '.join(details)}"
        if callbacks:
            evidence["host_callbacks"] = callbacks
            message += f"; {_listing(callbacks)} calls back into the host process"
        if capable:
            evidence["capability_ops"] = capable
            message += f"; it names TensorFlow ops with a capability: {_listing(capable)}"
        return self.issue(location, message, severity, evidence, key=f"opaque|{program.format}")


class UnknownOp(Rule):
    """An op that TensorFlow does not register: its kernel comes from another library,
    whose native code the linter cannot check.

    Every op name is looked up in the pinned TensorFlow's op registry
    (``signatures/tf_registry.json``, every op the release registers), in the capability
    data (``tf_ops.json``, which also covers ops of older releases, and the
    ``--signatures`` files) and in the op lists of the known add-on libraries
    (``signatures/addons/``: ``tensorflow-io``, ``tensorflow-text``). A node whose op
    names a function of the model's library is a call, not an op. An op found in none
    of them needs a custom kernel library (a ``tf.load_op_library`` shared object):
    the model does not load without it, and what the kernel does is not known. An op
    only an add-on library registers needs that library; the message names it. One
    finding per op name, with the number of nodes and the first ones in the evidence.

    Severity: low. An add-on op with a capability in the add-on's data (a
    ``tensorflow-io`` file or network op) is reported by the capability rules instead,
    at their severity, naming the library. TFLite custom operators are TFL908.
    """

    code = "TFL103"
    name = "unknown-op"
    severity = Severity.LOW
    category = "code_execution"
    summary = "Op that TensorFlow does not register (custom kernel library or add-on)"

    def check(self, model: ModelIR, ctx: RuleContext) -> Iterable[Issue]:
        sigdb = ctx.signatures
        found = unknown_ops(model, sigdb)
        if not found:
            return
        tf = sigdb.tensorflow()
        reach = reachability(model)
        for op in sorted(found):
            sites, count = found[op]
            func, node = sites[0]
            where = reach.of(func.name, node, func.is_graph)
            lib = sigdb.addon_of(op)
            if lib is not None:
                message = (f"op {op!r} needs the {lib.label} kernel library (it is not a TensorFlow {tf.version} op); "
                           "what its kernel does is not checked")
            else:
                message = (f"op {op!r} is neither a TensorFlow {tf.version} op nor an op of a known add-on library: "
                           "the model needs a custom kernel library, whose native code is not checked")
            if count > 1:
                message += f" ({count} nodes)"
            evidence: dict[str, object] = {"op": op, "count": count,
                                           "nodes": [f"{f.name}/{n}" for f, n in sites],
                                           "reached_from": list(where.entries), "runs_at": where.when}
            if lib is not None:
                evidence["library"] = lib.label
            location = Location(function=func.name, node=node, op=op, reached_from=where.entries)
            yield self.issue(location, message, evidence=evidence, key=op)


#: TFLite builtin operators and tensors in the IR (``TFL_CONV_2D``), and custom
#: operators (``Custom:<name>``, TFL908): not TensorFlow ops.
_TFLITE_PREFIXES = ("TFL_", "Custom:")


#: Nodes named per unknown op (the count covers all of them).
_KEPT_SITES = 10


def unknown_ops(model: ModelIR, sigdb: SignatureDB) -> dict[str, tuple[list[tuple[Function, str]], int]]:
    """Ops of ``model`` that no registry or capability data knows: op -> (the first
    (function, node) pairs, how many nodes)."""
    known = sigdb.tensorflow().ops
    caps = sigdb.ops
    functions = model.functions
    tflite = model.format.startswith("tflite")

    def unknown(op: str) -> bool:
        return (op not in known and op not in caps and op not in functions
                and not (tflite and op.startswith(_TFLITE_PREFIXES)))

    found: dict[str, list[tuple[Function, str]]] = {}
    counts: dict[str, int] = {}
    for func in model.all_functions():
        for nd in func.nodes_with_op(unknown):
            op = nd.op
            counts[op] = counts.get(op, 0) + 1
            sites = found.setdefault(op, [])
            if len(sites) < _KEPT_SITES:
                sites.append((func, nd.name))
    return {op: (sites, counts[op]) for op, sites in found.items()}


RULES = [EmbeddedProgramNotChecked, UnknownOp]
