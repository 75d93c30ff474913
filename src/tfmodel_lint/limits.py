"""Safety limits for hostile input, with their defaults. Each is a command-line option
and a config key; exceeding one is a TFL903 finding that names it.

One more limit is fixed by the protobuf runtime rather than by an option: the python
``upb`` decoder refuses messages nested deeper than :data:`PROTOBUF_MAX_DEPTH` levels
("Exceeded upb_DecodeOptions_MaxDepth"); the loaders report that as TFL903 with the
limit name ``protobuf_depth``, alike on every protobuf runtime (``proto/wire.py``).
Text-format protobufs are parsed by recursive Python code; hitting the interpreter's
recursion limit there is reported the same way. JSON hitting it while parsing is
reported as ``max_nesting_depth``.
"""

from __future__ import annotations

from tfmodel_lint._records import dataclass, fields
from tfmodel_lint.errors import LimitExceededError

__all__ = ["PROTOBUF_DEPTH_ERROR", "PROTOBUF_MAX_DEPTH", "LimitExceededError", "Limits", "check_json", "text_size"]

MiB = 1024 * 1024

#: Nesting depth at which the protobuf runtime (upb) stops decoding a binary message.
PROTOBUF_MAX_DEPTH = 100
#: The error text upb raises for it (protobuf >= 7; older runtimes do not say why).
PROTOBUF_DEPTH_ERROR = "upb_DecodeOptions_MaxDepth"


@dataclass(frozen=True, slots=True)
class Limits:
    #: Largest single file (or archive member) read, in bytes.
    max_file_bytes: int = 512 * MiB
    #: Largest total of bytes decompressed from one archive (nested archives included).
    max_archive_bytes: int = 1024 * MiB
    #: Largest compression ratio of an archive member or a whole archive
    #: (uncompressed / compressed); checked once more than 1 MiB has been inflated.
    max_compression_ratio: int = 200
    #: Most members in one archive.
    max_archive_entries: int = 10_000
    #: Deepest nesting of archives inside archives.
    max_archive_depth: int = 3
    #: Most nodes in one model (all functions together; TFLite operators and tensors).
    max_nodes: int = 5_000_000
    #: Most library functions in one model (TFLite subgraphs too).
    max_functions: int = 200_000
    #: Most protobuf elements decoded into memory at once, counted in the wire format
    #: before the parse (``loaders/protowire.py``): one per field value, map entry or
    #: packed number, plus one per field of its type for a message. A graph parsed
    #: streamed counts each node on its own and everything else together (nodes
    #: themselves count against ``max_nodes``); a file parsed whole, a text protobuf
    #: (counted by its separators) or a checkpoint entry counts as one.
    max_elements: int = 4_000_000
    #: Largest JSON/HDF5 config document, in bytes.
    max_config_bytes: int = 64 * MiB
    #: Deepest nesting of a JSON document (TF.js model.json, Keras configs).
    max_nesting_depth: int = 200
    #: Longest single string in a model: a protobuf node, op, input, device or function
    #: name, attr key or string value, string constant element; a JSON string or key
    #: (Keras configs, TF.js model.json); a TFLite string tensor element or string field,
    #: a Flex operator's NodeDef, a TF.js string weight; an archive member name.
    max_string_bytes: int = 16 * MiB
    #: Wall-clock budget per artifact, in seconds (0 disables).
    time_budget: float = 120.0
    #: Wall-clock budget of the whole run, in seconds (0 disables): many hostile
    #: artifacts cannot cost the sum of their budgets; what is left unlinted is TFL903.
    run_time_budget: float = 900.0

    @classmethod
    def names(cls) -> list[str]:
        return [f.name for f in fields(cls)]


def check_json(doc: object, limits: Limits, what: str, depth: bool = True, strings: bool = True) -> None:
    """Walk a parsed JSON document iteratively (no recursion): its nesting against
    ``max_nesting_depth`` (when ``depth``) and every string and key against
    ``max_string_bytes`` (when ``strings``); raise :class:`LimitExceededError`."""
    cap = limits.max_string_bytes
    stack: list[tuple[object, int]] = [(doc, 1)]
    while stack:
        value, level = stack.pop()
        if depth and level > limits.max_nesting_depth:
            raise LimitExceededError("max_nesting_depth", limits.max_nesting_depth, f"{what} nested too deeply")
        if isinstance(value, dict):
            for key, item in value.items():
                if strings and text_size(key, cap) > cap:
                    raise LimitExceededError("max_string_bytes", cap, f"{what} has a key longer than {cap} bytes")
                stack.append((item, level + 1))
        elif isinstance(value, list):
            stack.extend((item, level + 1) for item in value)
        elif strings and isinstance(value, str) and text_size(value, cap) > cap:
            raise LimitExceededError("max_string_bytes", cap, f"{what} has a string longer than {cap} bytes")


def text_size(text: object, cap: int) -> int:
    """Bytes of ``text`` (str: UTF-8), exact whenever it matters for comparing with ``cap``."""
    if isinstance(text, bytes):
        return len(text)
    if not isinstance(text, str):
        return 0
    n = len(text)
    return n if n > cap or 4 * n <= cap else len(text.encode("utf-8", "surrogatepass"))
