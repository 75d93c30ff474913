"""CapAnalysis prompts (the project's own wording) and answer schemas.

Bump PROMPT_VERSION whenever a prompt, an example or a schema changes: it is
part of the cache key, so old answers are not reused for a new prompt.
"""

from __future__ import annotations

from typing import Any

from extract_tools.capanalysis.evidence import OpEvidence
from extract_tools.capanalysis.taxonomy import (
    ALL_SUBCATEGORIES,
    CATEGORIES,
    DESCRIPTIONS,
    SUBCATEGORIES,
)

PROMPT_VERSION = "capanalysis-2025-1"

SYSTEM = (
    "You audit TensorFlow operations for a static model linter. A model file is a graph of "
    "operations; whoever wrote the graph chooses every input and attribute value. For one "
    "operation you get its Python wrapper documentation, its input and attribute names, the "
    "checks its C++ kernel makes (OP_REQUIRES) and, when available, the kernel source. Decide "
    "what the operation can make the loading process do to the host, judging by the code "
    "rather than the name. Think it through step by step in the `reasoning` field first, then "
    "give the labels. Answer with one JSON object and nothing else."
)


def _category_table() -> str:
    return "\n".join(f"- {c}: {DESCRIPTIONS[c]}" for c in CATEGORIES)


def _subcategory_table(categories: list[str] | None = None) -> str:
    lines = []
    for c in CATEGORIES:
        if categories and c not in categories:
            continue
        lines.append(f"{c}:")
        lines.extend(f"  - {s}: {DESCRIPTIONS[s]}" for s in SUBCATEGORIES[c])
    return "\n".join(lines)


def render_evidence(ev: OpEvidence, *, max_kernel_chars: int = 12000) -> str:
    parts = [f"Operation: {ev.op}"]
    if ev.python_apis:
        parts.append("Python wrappers: " + ", ".join(ev.python_apis[:6]))
    if ev.args:
        parts.append("Arguments:\n" + "\n".join(f"  - {a.kind} `{a.name}`: {a.type}" for a in ev.args))
    doc = ev.docstring.strip()
    parts.append("Documentation:\n" + (doc[:4000] if doc else "(none)"))
    if ev.op_requires:
        parts.append("Kernel checks (OP_REQUIRES):\n" + "\n".join(f"  {c}" for c in ev.op_requires[:25]))
    if ev.kernel_source:
        src = ev.kernel_source
        if len(src) > max_kernel_chars:
            src = src[:max_kernel_chars] + "\n// ... (truncated)"
        parts.append("Kernel implementation (C++):\n```cpp\n" + src + "\n```")
    else:
        parts.append("Kernel implementation: not available; rely on the documentation and argument names.")
    return "\n\n".join(parts)


# Few-shot examples: (evidence summary, round-1 answer, round-2 answer).
EXAMPLES: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
    (
        "Operation: ReadFile\nArguments:\n  - input `filename`: string\nDocumentation:\nReads and outputs the entire "
        "contents of the input filename.\nKernel implementation (C++):\n```cpp\nOP_REQUIRES_OK(context, "
        "ReadFileToString(context->env(), input->scalar<tstring>()(), &output->scalar<tstring>()()));\n```",
        {
            "reasoning": "The kernel calls ReadFileToString on the path given in `filename`, so it touches the file "
            "system. Nothing is sent, started or executed.",
            "categories": ["file_access"],
        },
        {
            "reasoning": "ReadFileToString returns the contents of one file: a file read. It neither lists nor changes "
            "directories.",
            "subcategories": ["file_read"],
            "target_arguments": ["filename"],
        },
    ),
    (
        "Operation: MatchingFiles\nArguments:\n  - input `pattern`: string\nDocumentation:\nReturns the set of files "
        "matching one or more glob patterns.\nKernel implementation (C++):\n```cpp\nOP_REQUIRES_OK(context, "
        "context->env()->GetMatchingPaths(patterns(i), &all_fnames[i]));\n```",
        {
            "reasoning": "GetMatchingPaths expands a glob against the file system and returns the names it finds.",
            "categories": ["file_access"],
        },
        {
            "reasoning": "Expanding a glob reveals which files exist: a directory read. File contents are not read.",
            "subcategories": ["dir_read"],
            "target_arguments": ["pattern"],
        },
    ),
    (
        "Operation: AddV2\nArguments:\n  - input `x`: T\n  - input `y`: T\nDocumentation:\nReturns x + y "
        "element-wise.\nKernel implementation (C++):\n```cpp\nout.device(d) = in0 + in1;\n```",
        {
            "reasoning": "Element-wise addition on tensors in memory; no file, network, process or callback is "
            "involved. "
            "That a string addition can build a path does not give the op a capability of its own.",
            "categories": ["pure_calculation"],
        },
        {"reasoning": "Arithmetic on tensors.", "subcategories": ["math"], "target_arguments": []},
    ),
    (
        "Operation: PyFunc\nArguments:\n  - input `input`: list(Tin)\n  - attr `token`: string\nDocumentation:\n"
        "Invokes a python function to compute func(input)->output.\nKernel implementation (C++):\n```cpp\n"
        "PyObject* result = PyObject_Call(trampoline, args, nullptr);\n```",
        {
            "reasoning": "The kernel calls back into Python with PyObject_Call; the function is picked by the `token` "
            "attribute, which the graph author controls.",
            "categories": ["code_execution"],
        },
        {
            "reasoning": "Running a registered Python callable chosen by the graph is user-controlled code execution.",
            "subcategories": ["code_execution"],
            "target_arguments": ["token"],
        },
    ),
    (
        "Operation: DebugIdentityV3\nArguments:\n  - input `input`: T\n  - attr `debug_urls`: list(string)\n"
        "Documentation:\nProvides an identity mapping of the non-Ref type input tensor for debugging.\n"
        "Kernel implementation (C++):\n```cpp\nOP_REQUIRES_OK(context, DebugIO::PublishDebugTensor(debug_watch_key_, "
        "tensor, wall_time_us, debug_urls_, gated_grpc_));\n```",
        {
            "reasoning": "PublishDebugTensor sends the tensor to every URL in `debug_urls`: grpc:// URLs go over the "
            "network, file:// URLs are written to disk.",
            "categories": ["file_access", "network_access"],
        },
        {
            "reasoning": "grpc:// targets receive the tensor (network send); file:// targets get a dump file "
            "written (file "
            "write).",
            "subcategories": ["file_write", "network_send"],
            "target_arguments": ["debug_urls"],
        },
    ),
]


ROUND1_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["reasoning", "categories"],
    "additionalProperties": False,
    "properties": {
        "reasoning": {"type": "string"},
        "categories": {"type": "array", "items": {"enum": list(CATEGORIES)}, "minItems": 1, "uniqueItems": True},
    },
}

ROUND2_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["reasoning", "subcategories", "target_arguments"],
    "additionalProperties": False,
    "properties": {
        "reasoning": {"type": "string"},
        "subcategories": {
            "type": "array",
            "items": {"enum": list(ALL_SUBCATEGORIES)},
            "minItems": 1,
            "uniqueItems": True,
        },
        "target_arguments": {"type": "array", "items": {"type": "string"}},
    },
}


def round1_messages(ev: OpEvidence) -> list[dict[str, str]]:
    instructions = (
        "Round 1. Put the operation into one or more of these categories:\n"
        + _category_table()
        + "\n\nChoose pure_calculation only when none of the others applies. Reply as "
        '{"reasoning": "...", "categories": ["..."]}.'
    )
    msgs = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": instructions}]
    msgs.append(
        {
            "role": "assistant",
            "content": '{"reasoning": "Understood; send the first operation.", "categories": ["pure_calculation"]}',
        }
    )
    import json

    for ev_text, r1, _ in EXAMPLES:
        msgs.append({"role": "user", "content": ev_text})
        msgs.append({"role": "assistant", "content": json.dumps(r1)})
    msgs.append({"role": "user", "content": render_evidence(ev)})
    return msgs


def round2_messages(ev: OpEvidence, round1: list[str]) -> list[dict[str, str]]:
    import json

    instructions = (
        "Round 2. The operation was put into these categories: "
        + ", ".join(round1)
        + ". Pick the precise subcategories. Subcategories of those categories:\n"
        + _subcategory_table(round1)
        + "\n\nAll subcategories, in case the evidence shows round 1 missed one:\n"
        + ", ".join(ALL_SUBCATEGORIES)
        + "\n\nAlso list the argument names (inputs or attributes) that name what the operation acts on "
        "(a path, glob, URL, address, stream or callable), or [] if none. Reply as "
        '{"reasoning": "...", "subcategories": ["..."], "target_arguments": ["..."]}.'
    )
    msgs = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": instructions}]
    msgs.append(
        {
            "role": "assistant",
            "content": (
                '{"reasoning": "Understood; send the first operation.", "subcategories": ["math"], '
                '"target_arguments": []}'
            ),
        }
    )
    for ev_text, _, r2 in EXAMPLES:
        msgs.append({"role": "user", "content": ev_text})
        msgs.append({"role": "assistant", "content": json.dumps(r2)})
    msgs.append({"role": "user", "content": render_evidence(ev)})
    return msgs


def validate(answer: object, schema: dict[str, Any]) -> list[str]:
    """Errors of *answer* against one of the two schemas above (a small,
    dependency-free subset of JSON Schema: object, required, additional
    properties, string, array of enum/string, minItems, uniqueItems)."""
    errors: list[str] = []
    if not isinstance(answer, dict):
        return ["the answer is not a JSON object"]
    props: dict[str, Any] = schema["properties"]
    for key in schema["required"]:
        if key not in answer:
            errors.append(f"missing key {key!r}")
    for key, value in answer.items():
        spec = props.get(key)
        if spec is None:
            if schema.get("additionalProperties") is False:
                errors.append(f"unexpected key {key!r}")
            continue
        if spec["type"] == "string" and not isinstance(value, str):
            errors.append(f"{key!r} must be a string")
        elif spec["type"] == "array":
            if not isinstance(value, list):
                errors.append(f"{key!r} must be an array")
                continue
            if len(value) < spec.get("minItems", 0):
                errors.append(f"{key!r} needs at least {spec['minItems']} item(s)")
            if spec.get("uniqueItems") and len(set(map(str, value))) != len(value):
                errors.append(f"{key!r} has duplicates")
            items = spec["items"]
            for v in value:
                if "enum" in items and v not in items["enum"]:
                    errors.append(f"{key!r}: {v!r} is not one of {items['enum']}")
                elif items.get("type") == "string" and not isinstance(v, str):
                    errors.append(f"{key!r}: {v!r} is not a string")
    return errors
