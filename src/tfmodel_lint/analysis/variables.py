"""Values of string variables: the checkpoint's string tensors (read by the loader,
keyed by checkpoint key) mapped to the names the graph uses for the variables.

A SavedModel's checkpoint keys are object paths (``model/layer/.ATTRIBUTES/VARIABLE_VALUE``),
a TF1 graph's are variable op names; the graph reaches a variable through its node name,
its ``shared_name``, its ``SavedVariable.name`` or the restore function's handles.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from tfmodel_lint.ir import Function, MemoKey, ModelIR

if TYPE_CHECKING:
    from tfmodel_lint.proto.tfmodel_lint_pb2 import NodeDef

VARIABLE_SUFFIX = "/.ATTRIBUTES/VARIABLE_VALUE"
#: Most values kept for one variable name shared by several variables.
MAX_VALUES = 64

VARIABLE_VALUES: MemoKey[Mapping[str, tuple[bytes, ...]]] = MemoKey("variable_values")


def variable_values(model: ModelIR) -> Mapping[str, tuple[bytes, ...]]:
    """``{name: values}`` of the model's string variables (computed once per model)."""
    return model.memo.get(VARIABLE_VALUES, lambda: variable_values_for(model, model.checkpoint_strings, MAX_VALUES)
                          if model.checkpoint_strings else {})


def _merge(values: Sequence[bytes], more: Sequence[bytes], cap: int) -> tuple[bytes, ...]:
    seen = dict.fromkeys(values)
    for v in more:
        if len(seen) >= cap:
            break
        seen.setdefault(v, None)
    return tuple(seen)


def _string_consts(func: Function, nd: NodeDef, position: int) -> list[bytes] | None:
    edge = func.input_edge(nd, position)
    for _ in range(8):
        src = edge.node if edge is not None else None
        if src is None:
            return None
        if src.op in ("Identity", "Snapshot"):
            edge = func.input_edge(src, 0)
            continue
        if src.op == "Const" and "value" in src.attr:
            return list(src.attr["value"].tensor.string_val)
        return None
    return None


def _variable_node_names(nd: NodeDef) -> list[str]:
    names = [nd.name]
    if "shared_name" in nd.attr and nd.attr["shared_name"].s:
        names.append(nd.attr["shared_name"].s.decode("utf-8", "backslashreplace"))
    return names


_VARIABLE_OPS = ("VarHandleOp", "VariableV2", "Variable", "_VarHandlesOp")
_RESTORE_OPS = ("RestoreV2",)
_ASSIGN_OPS = ("AssignVariableOp", "Assign")


def _handle_names(model: ModelIR, func: Function, text: str, depth: int = 0) -> list[str]:
    """Names of the variable(s) a handle input designates, across call boundaries (the
    restore function gets the variables' handles as arguments)."""
    edge = func.resolve_input(text)
    if edge is None or depth > 4:
        return []
    if edge.node is not None:
        src = edge.node
        if src.op in _VARIABLE_OPS:
            return _variable_node_names(src)
        if src.op == "Identity" and src.input:
            return _handle_names(model, func, src.input[0], depth + 1)
        return []
    names: list[str] = []
    for site in model.call_sites().get(func.name, [])[:16]:
        if not site.bound:
            continue
        inputs = site.caller.data_inputs(site.node)
        pos = site.skip_inputs + edge.index
        if pos < len(inputs):
            names.extend(_handle_names(model, site.caller, inputs[pos], depth + 1))
    return names


def restore_key_map(model: ModelIR) -> dict[str, str]:
    """Variable node name / ``shared_name`` -> checkpoint key, from the restore ops.

    The standard saver's restore function reads each key with ``RestoreV2`` and assigns
    output k to the k-th variable (``AssignVariableOp(handle, Identity(RestoreV2:k))``);
    in TF2 SavedModels the handles are arguments bound to the top-level ``VarHandleOp``
    nodes that signatures and methods capture.
    """
    out: dict[str, str] = {}
    for func in model.all_functions():
        restores: dict[str, list[bytes]] = {}
        assigns: list[NodeDef] = []
        for nd in func.nodes_with_op(lambda op: op in _RESTORE_OPS or op in _ASSIGN_OPS):
            if nd.op in _RESTORE_OPS:
                names = _string_consts(func, nd, 1)
                if names:
                    restores[nd.name] = names
            elif nd.op in _ASSIGN_OPS:
                assigns.append(nd)
        if not restores:
            continue
        for nd in assigns:
            edge = func.input_edge(nd, 1)
            hops = 0
            while edge is not None and edge.node is not None and edge.node.op in ("Identity", "Snapshot") and hops < 8:
                edge = func.input_edge(edge.node, 0)
                hops += 1
            if edge is None or edge.node is None or edge.node.name not in restores:
                continue
            keys = restores[edge.node.name]
            if not 0 <= edge.index < len(keys):
                continue
            key = keys[edge.index].decode("utf-8", "backslashreplace")
            for name in _handle_names(model, func, func.data_inputs(nd)[0]):
                out.setdefault(name, key)
    return out


def variable_values_for(
    model: ModelIR, values: Mapping[str, tuple[bytes, ...]], cap: int
) -> dict[str, tuple[bytes, ...]]:
    """``{name: values}`` keyed by checkpoint key, object path, ``SavedVariable.name`` and
    variable node name / ``shared_name``. Names shared by several variables (TF2 names
    every unnamed variable ``Variable``) get the union of their values."""
    out: dict[str, tuple[bytes, ...]] = dict(values)

    def add(name: str, vals: tuple[bytes, ...]) -> None:
        if not name or name in values:
            return
        out[name] = _merge(out.get(name, ()), vals, cap)

    for name, objpaths in model.variable_paths.items():
        for objpath in objpaths:
            key = f"{objpath}{VARIABLE_SUFFIX}"
            if key in values:
                add(name, values[key])
    for name, key in restore_key_map(model).items():
        if key in values:
            add(name, values[key])
    # TF1 graphs: the checkpoint key is the variable's op name.
    for func in model.all_functions():
        for nd in func.nodes_with_op(_VARIABLE_OPS.__contains__):
            if nd.op in _VARIABLE_OPS and nd.name in values:
                for name in _variable_node_names(nd)[1:]:
                    add(name, values[nd.name])
    return out
