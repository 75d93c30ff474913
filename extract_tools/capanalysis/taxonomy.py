"""The two-level capability taxonomy of CapAnalysis (TensorAbuse, S&P 2025)."""

from __future__ import annotations

# Round 1: five categories.
FILE_ACCESS = "file_access"
NETWORK_ACCESS = "network_access"
PROCESS_MANAGEMENT = "process_management"
PURE_CALCULATION = "pure_calculation"
CODE_EXECUTION = "code_execution"

CATEGORIES: tuple[str, ...] = (FILE_ACCESS, NETWORK_ACCESS, PROCESS_MANAGEMENT, PURE_CALCULATION, CODE_EXECUTION)

# Round 2: thirteen subcategories, grouped by category.
SUBCATEGORIES: dict[str, tuple[str, ...]] = {
    FILE_ACCESS: ("file_read", "file_write", "dir_read", "dir_write"),
    NETWORK_ACCESS: ("network_send", "network_receive"),
    PROCESS_MANAGEMENT: ("process_create", "process_abort", "process_sleep"),
    PURE_CALCULATION: ("math", "internal_data", "encoding"),
    CODE_EXECUTION: ("code_execution",),
}

ALL_SUBCATEGORIES: tuple[str, ...] = tuple(s for c in CATEGORIES for s in SUBCATEGORIES[c])
PARENT: dict[str, str] = {s: c for c, subs in SUBCATEGORIES.items() for s in subs}

# The ten subcategories that are capabilities: the category list of
# signatures/tf_ops.json, in its canonical order.
CAPABILITIES: tuple[str, ...] = (
    "file_read",
    "file_write",
    "dir_read",
    "dir_write",
    "network_send",
    "network_receive",
    "process_create",
    "process_abort",
    "process_sleep",
    "code_execution",
)

DESCRIPTIONS: dict[str, str] = {
    FILE_ACCESS: (
        "opens, reads, writes, creates, deletes or lists files or directories on the host file system "
        "(or a file system reachable through a path scheme such as gs:// or hdfs://)"
    ),
    NETWORK_ACCESS: (
        "connects to another host: sockets, gRPC channels, HTTP requests, remote services addressed by a "
        "host:port or URL taken from the graph"
    ),
    PROCESS_MANAGEMENT: "starts processes, terminates the running process on request, or blocks it on purpose (sleep)",
    PURE_CALCULATION: (
        "computes on tensors in memory only: arithmetic, shape manipulation, in-process resources "
        "(variables, tables, queues), encoding and decoding of in-memory data"
    ),
    CODE_EXECUTION: (
        "runs code chosen by the graph author outside TensorFlow's op set, e.g. a Python callable "
        "registered in the process"
    ),
    "file_read": "reads the contents of a file (including memory-mapping it)",
    "file_write": "creates, overwrites or appends to a file",
    "dir_read": "lists a directory or expands a glob pattern, revealing file names",
    "dir_write": "creates, renames or deletes files or directories",
    "network_send": "sends data to a remote address",
    "network_receive": "receives data from a remote address",
    "process_create": "starts a new process or program",
    "process_abort": "terminates the process (abort, exit, fatal log) when the op runs",
    "process_sleep": "suspends execution for a time chosen by the graph",
    "math": "numeric computation on tensors",
    "internal_data": "manages in-process state: resources, variables, tables, queues, iterators, datasets without I/O",
    "encoding": "encodes or decodes in-memory data (strings, images, protobufs, compression)",
    "code_execution": "executes user-controlled code (a registered Python function, a loaded library)",
}


def categories_of(subcategories: list[str] | tuple[str, ...] | set[str]) -> list[str]:
    """Round-1 categories implied by round-2 subcategories, canonical order."""
    parents = {PARENT[s] for s in subcategories if s in PARENT}
    return [c for c in CATEGORIES if c in parents]


def capabilities_of(subcategories: list[str] | tuple[str, ...] | set[str]) -> list[str]:
    """The capability subcategories among *subcategories*, canonical order."""
    have = set(subcategories)
    return [c for c in CAPABILITIES if c in have]
