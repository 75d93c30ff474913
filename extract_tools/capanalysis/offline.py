"""Offline classifier: capability signals in kernel C++, argument names and docs.

No network, deterministic, the default. It is deliberately simple (a list of
patterns with weights); it proposes, and a reviewer or the LLM round decides.
Signals found in the kernel's C++ outweigh the ones in names and docs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from extract_tools.capanalysis.evidence import OpEvidence
from extract_tools.capanalysis.taxonomy import CAPABILITIES, categories_of

CLASSIFIER_VERSION = "offline-2"


@dataclass(frozen=True)
class Pattern:
    sub: str
    regex: re.Pattern[str]
    weight: int
    label: str


def _p(sub: str, regex: str, weight: int = 2, label: str = "", flags: int = 0) -> Pattern:
    return Pattern(sub, re.compile(regex, flags), weight, label or regex)


# --- C++ kernel source -----------------------------------------------------
KERNEL_PATTERNS: tuple[Pattern, ...] = (
    # file read
    _p("file_read", r"\bReadFileToString\s*\(", label="ReadFileToString"),
    _p("file_read", r"\bNewRandomAccessFile\s*\(", label="Env::NewRandomAccessFile"),
    _p("file_read", r"\bNewReadOnlyMemoryRegionFromFile\s*\(", label="Env::NewReadOnlyMemoryRegionFromFile"),
    _p("file_read", r"\bRead(?:Binary|Text)Proto\s*\(", label="ReadBinaryProto/ReadTextProto"),
    _p(
        "file_read",
        r"\b(?:SequentialRecordReader|RecordReader|BundleReader|InputBuffer|ZlibInputStream)\b",
        label="record/bundle reader",
    ),
    _p("file_read", r"\bmdb_env_open\b|\bsqlite3_open|\bSqlite::Open\b", label="LMDB/SQLite open"),
    _p("file_read", r"\bstd::ifstream\b|\bfopen\s*\([^;]*\"r", label="ifstream/fopen(r)"),
    # file write
    _p("file_write", r"\bWriteStringToFile\s*\(", label="WriteStringToFile"),
    _p("file_write", r"\bNewWritableFile\s*\(", label="Env::NewWritableFile"),
    _p("file_write", r"\bNewAppendableFile\s*\(", label="Env::NewAppendableFile"),
    _p("file_write", r"\bWrite(?:Binary|Text)Proto\s*\(", label="WriteBinaryProto/WriteTextProto"),
    _p("file_write", r"\b(?:RecordWriter|BundleWriter|MergeBundles)\b", label="record/bundle writer"),
    _p("file_read", r"\bMergeBundles\b", label="MergeBundles (reads the input bundles)"),
    _p("file_write", r"\bstd::ofstream\b|\bfopen\s*\([^;]*\"[wa]", label="ofstream/fopen(w)"),
    _p("file_write", r"\bPublishDebugTensor\b", label="DebugIO::PublishDebugTensor (file:// URL)"),
    # dir read
    _p("dir_read", r"\bGetMatchingPaths\s*\(", label="Env::GetMatchingPaths"),
    _p("dir_read", r"\bGetChildren\s*\(", label="Env::GetChildren"),
    _p("dir_read", r"\b(?:opendir|readdir|glob)\s*\(", label="opendir/readdir/glob"),
    # dir write
    _p("dir_write", r"\bRecursivelyCreateDir\s*\(", label="Env::RecursivelyCreateDir"),
    _p("dir_write", r"\bCreateDir\s*\(", label="Env::CreateDir"),
    _p("dir_write", r"\bDelete(?:File|Dir|Recursively)\s*\(", label="Env::DeleteFile/DeleteDir/DeleteRecursively"),
    _p("dir_write", r"\bRenameFile\s*\(", label="Env::RenameFile"),
    _p("dir_write", r"\b(?:mkdir|rmdir|unlink)\s*\(", label="mkdir/rmdir/unlink"),
    # network
    _p("network", r"\bsocket\s*\(\s*(?:AF_INET|AF_INET6|PF_INET)", label="socket(AF_INET)"),
    _p("network_send", r"\b(?:connect|sendto|sendmsg)\s*\(", 1, "connect/sendto"),
    _p("network_send", r"\bsend\s*\(\s*\w+\s*,", 1, "send()"),
    _p(
        "network_send",
        r"\bgrpc::(?:CreateChannel|CreateCustomChannel)\b|\bCreateChannel\s*\(",
        label="grpc::CreateChannel",
    ),
    _p("network_send", r"\bNewStub\s*\(|\bstub\w*\s*\(\s*\)\s*->|\bstub_?->", label="gRPC stub"),
    _p("network_send", r"\bPublishDebugTensor\b|\bDebugGrpcIO\b|\bSendTracebacks\b", label="tfdbg gRPC publish"),
    _p("network_send", r"\bcurl_easy_perform\b|\bHttpRequest\b", label="HTTP request"),
    _p("network_send", r"\bDataServiceDispatcherClient\b|\bDataServiceWorkerClient\b", label="tf.data service client"),
    _p("network_receive", r"\b(?:recv|recvfrom|recvmsg|accept)\s*\(", label="recv/recvfrom/accept"),
    _p("network_receive", r"\blisten\s*\(\s*\w+\s*,", label="listen()"),
    _p("network_receive", r"\bgrpc::ServerBuilder\b|\bAddListeningPort\b", label="gRPC server"),
    _p(
        "network_receive",
        r"\bgrpc::(?:CreateChannel|CreateCustomChannel)\b|\bNewStub\s*\(|\bstub\w*\s*\(\s*\)\s*->|\bstub_?->",
        1,
        "gRPC round trip (response)",
    ),
    _p("network_receive", r"\bDataServiceWorkerClient\b|\bGetElement\b", 1, "tf.data service client (elements)"),
    # process
    _p("process_create", r"\bSubProcess\b|\bCreateSubProcess\s*\(", label="SubProcess"),
    _p("process_create", r"\b(?:v?fork|posix_spawnp?|popen)\s*\(", label="fork/posix_spawn/popen"),
    _p("process_create", r"\bexec(?:v|vp|vpe|ve|l|lp|le)\s*\(", label="exec*"),
    _p("process_create", r"(?<![\w.>])system\s*\(", label="system()"),
    _p("process_abort", r"\bLOG\s*\(\s*FATAL\s*\)", label="LOG(FATAL)"),
    _p(
        "process_abort", r"(?<![\w.>])(?:std::)?(?:abort|_exit|quick_exit|terminate)\s*\(\s*\)", label="abort()/_exit()"
    ),
    _p("process_abort", r"(?<![\w.>])(?:std::)?exit\s*\(\s*\w+\s*\)", label="exit()"),
    _p("process_sleep", r"\bSleepForMicroseconds\s*\(", label="Env::SleepForMicroseconds"),
    _p("process_sleep", r"\b(?:usleep|nanosleep|sleep_for|SleepFor)\s*\(", label="sleep"),
    # code execution
    _p("code_execution", r"\bPyObject_Call\w*\s*\(|\bPyEval_\w+\s*\(|\bPyRun_\w+\s*\(", label="Python C API call"),
    _p("code_execution", r"\bdlopen\s*\(|\bLoadDynamicLibrary\s*\(|\bLoadLibrary\s*\(", label="dlopen/LoadLibrary"),
    # pure calculation
    _p(
        "math",
        r"\bEigen::|\bfunctor::|\.device\s*\(|\bstd::(?:sqrt|exp|log|pow|abs)\b|\bflat<|\bmatrix<",
        1,
        "tensor arithmetic",
    ),
    _p(
        "internal_data",
        r"\bResourceMgr\b|\bLookupResource\b|\bCreateResource\b|\bresource_manager\s*\(|\bGetLookupTable\b|\bHandleFromInput\b|\bTensorArray\b|\bQueueInterface\b|\bVar\b",
        1,
        "in-process resources",
    ),
    _p(
        "encoding",
        r"\bBase64(?:Encode|Decode)\b|\bParseFromString\b|\bSerializeToString\b|\b(?:png|jpeg|gif|bmp)::|\bzlib\b|\bsnappy\b|\bDecodeVariant\b|\bEncodeVariant\b",
        1,
        "encode/decode",
    ),
)

# --- argument names ----------------------------------------------------------
_PATH_ARG = re.compile(
    r"^(?:filenames?|file_?name|file_path|filepath|path|prefix|ckpt_path|checkpoint_prefixes|destination_prefix|"
    r"data_source_name|\w*_file|\w*_file_path|logdir|log_dir\w*|db_uri|shard_dir|chunk_file|snapshot_path|"
    r"directory|dir|output_file_path|\w*_path_prefix|\w*_prefix_path|reader_prefix|writer_prefix|save_path|export_dir|descriptor_source)$"
)
_DIR_ARG = re.compile(r"dir|logdir|snapshot_path|export_dir|^path$|^directory$")
_PATTERN_ARG = re.compile(r"^(?:patterns?|file_pattern|glob)$")
_URL_ARG = re.compile(r"^(?:debug_urls|urls?|uri|endpoint|\w*_end_?point|\w+_url)$")
_ADDRESS_ARG = re.compile(r"^(?:address|\w*_address|host|servers?|dispatcher|worker)$")
_STREAM_ARG = re.compile(r"^output_stream$")
_REGION_ARG = re.compile(r"^memory_region_name$")
_CALLABLE_ARG = re.compile(r"^token$")
_DELETE_ARG = re.compile(r"^delete_\w+$")
# A serialized graph the op imports and runs (DatasetFromGraph's `graph_def`).
_GRAPH_ARG = re.compile(r"^(?:graph_def|\w+_graph_def|serialized_graph)$")
# Payloads: inputs whose content a writing or sending op writes or sends.
_PAYLOAD_DATA = re.compile(
    r"^(?:contents|data|tensors?|tensor_data|input|input_dataset|dataset|args|request|values?|event)$"
)
_PAYLOAD_NAMES = re.compile(r"^(?:tensor_names|method_name|method|tags?)$")

# --- docs and names ------------------------------------------------------------
DOC_PATTERNS: tuple[Pattern, ...] = (
    _p(
        "file_read",
        r"\b(?:reads?|read from|loads?|restores?|memory[- ]map\w*|records? (?:in|from) (?:the )?files?"
        r"|lines? of (?:the )?(?:text )?files?)\b",
        1,
        "doc: read/load/restore",
        re.I,
    ),
    _p(
        "file_write",
        r"\b(?:writes?|saves?|appends?|dumps?|serializes? .* to (?:a |the )?file)\b",
        1,
        "doc: write/save",
        re.I,
    ),
    _p(
        "dir_read",
        r"\b(?:glob|matching (?:files|pattern)|list(?:s|ing)? (?:the )?(?:files|directory))\b",
        1,
        "doc: glob/list",
        re.I,
    ),
    _p(
        "dir_write",
        r"\b(?:creates? (?:the )?(?:directory|directories)"
        r"|delete[sd]? (?:the )?(?:old )?(?:files?|director(?:y|ies)))\b",
        1,
        "doc: create/delete dir",
        re.I,
    ),
    _p(
        "network_send",
        r"\b(?:grpc|rpc|tf\.data service|dispatcher|remote (?:server|host)|debug_urls|sends?)\b",
        1,
        "doc: rpc/grpc/send",
        re.I,
    ),
    _p("network_receive", r"\b(?:receives?|from (?:the |a )?(?:server|dispatcher|worker))\b", 1, "doc: receive", re.I),
    _p("process_sleep", r"\bsleeps?\b", 1, "doc: sleep", re.I),
    _p("process_abort", r"\babort(?:s|ing)? the process\b|\bexits? the process\b", 2, "doc: abort process", re.I),
    _p("code_execution", r"\bpython function\b|\bpy_func\b|\bregistered python\b", 2, "doc: python function", re.I),
)

NAME_PATTERNS: tuple[Pattern, ...] = (
    _p("process_sleep", r"Sleep", 2, "name: Sleep"),
    _p("process_abort", r"^Abort$", 2, "name: Abort"),
    _p("code_execution", r"PyFunc", 2, "name: PyFunc"),
    _p("network_send", r"^(?:Rpc|TryRpc|DataService|RegisterDataset|DistributedSave)", 2, "name: RPC/data service"),
    _p("network_receive", r"^(?:Rpc|TryRpc|DataService)", 2, "name: RPC/data service"),
    _p("dir_read", r"MatchingFiles", 2, "name: MatchingFiles"),
    _p("file_read", r"^(?!Identity)\w*Reader(?:V2)?$|^ReaderRead", 2, "name: file reader"),
    # a network service named in the op name, on an op that talks to it (not a
    # codec or a request builder): reading ops receive, writing ops send
    _p(
        "network_receive",
        r"(?:Kafka|Kinesis|PubSub|Pulsar|MongoDB|Elasticsearch|BigQuery|Bigtable|GRPC|Prometheus|Ignite)"
        r"(?!\w*(?:Decode|Encode)(?!\w*Init))\w*(?:Client|Dataset|Readable|Iterable|Init|Read|Next|Session|Scrape|Call)",
        2,
        "name: network service (reads)",
    ),
    _p(
        "network_send",
        r"(?:Kafka|Kinesis|PubSub|Pulsar|MongoDB|Elasticsearch|BigQuery|Bigtable|GRPC|Prometheus|Ignite)"
        r"\w*(?:Writ|Output|Flush|Sync|Delete|Client|Call|Init)",
        2,
        "name: network service (writes or connects)",
    ),
)
# Which way a path argument is used, judged from the op name.
_NAME_READ = re.compile(r"Read|Restore|^Load|Record|TextLine|CSV|LMDB|Sql|FromTextFile|Vocab|Skipgram|Proto|Chunk")
_NAME_WRITE = re.compile(r"Write|Save|Dump|ToTFRecord|Merge\w*Checkpoints|Sql|OutputSequence")
_NAME_NET_READ = re.compile(r"Readable|Iterable|Read(?:$|[A-Z])|Scrape|Next")
_NAME_BOTH = re.compile(r"^Cache|^Snapshot(?!Chunk|DatasetReader)")
_NAME_LIST = re.compile(r"List|Matching")
_NAME_GLOB_OK = re.compile(r"File|Restore|Record|Matching|Checkpoint")

# A target-looking argument is only taken as one when the op does something
# with it: these op-name/doc words veto the "path" reading for pure string ops.
_PURE_STRING_OPS = re.compile(r"^(?:Sharded\w+|StringJoin|StringFormat|Substr|RegexReplace|\w*Filespec)$")


@dataclass
class Signal:
    sub: str
    where: str  # kernel | args | doc | name
    label: str
    weight: int

    def to_json(self) -> dict[str, Any]:
        return {"sub": self.sub, "where": self.where, "label": self.label}

    def display(self) -> str:
        """``kernel: ReadFileToString``, ``doc: read/load/restore``, ``arg filename (read)``."""
        return f"kernel: {self.label}" if self.where == "kernel" else self.label


@dataclass
class TargetGuess:
    kind: str
    name: str
    role: str


@dataclass
class OfflineResult:
    op: str
    subcategories: list[str]
    categories: list[str]  # round-1 view
    capabilities: list[str]  # subcategories that are capabilities, canonical order
    confidence: str  # high | medium | low
    signals: list[Signal] = field(default_factory=list)
    targets: list[TargetGuess] = field(default_factory=list)
    payloads: list[TargetGuess] = field(default_factory=list)
    # (resource input, ops that open it on a path) when the capability comes
    # through a resource another op opened (see resource_flow)
    via_resource: tuple[str, tuple[str, ...]] | None = None

    def to_json(self) -> dict[str, Any]:
        seen: set[tuple[str, str, str]] = set()
        sigs = []
        for s in self.signals:
            key = (s.sub, s.where, s.label)
            if key not in seen:
                seen.add(key)
                sigs.append(s.to_json())
        return {
            "classifier": CLASSIFIER_VERSION,
            "subcategories": self.subcategories,
            "capabilities": self.capabilities,
            "confidence": self.confidence,
            "signals": sigs,
            "targets": [{"kind": t.kind, "name": t.name, "role": t.role} for t in self.targets],
            "payloads": [{"kind": t.kind, "name": t.name, "role": t.role} for t in self.payloads],
        }


def _scan(patterns: tuple[Pattern, ...], text: str, where: str) -> list[Signal]:
    out: list[Signal] = []
    for p in patterns:
        if p.regex.search(text):
            out.append(Signal(p.sub, where, p.label, p.weight))
    return out


def _strip_cpp_comments(src: str) -> str:
    src = re.sub(r"/\*.*?\*/", " ", src, flags=re.S)
    return re.sub(r"//[^\n]*", " ", src)


def _first_paragraph(doc: str) -> str:
    """Summary and description of a generated docstring, without ``Args:``."""
    return re.split(r"\n\s*(?:Args|Returns|Raises):", doc, maxsplit=1)[0]


def _direction(op: str, scores: dict[str, int]) -> set[str]:
    """read / write for a path argument: from the op name, else the docs."""
    if _NAME_BOTH.search(op):
        return {"read", "write"}
    out: set[str] = set()
    if _NAME_READ.search(op):
        out.add("read")
    if _NAME_WRITE.search(op):
        out.add("write")
    if out:
        return out
    if scores.get("file_write", 0) > scores.get("file_read", 0):
        return {"write"}
    return {"read"}


def classify(
    ev: OpEvidence, extra: tuple[Signal, ...] = (), via_resource: tuple[str, tuple[str, ...]] | None = None
) -> OfflineResult:
    """Classify one op from its evidence; *extra*: signals found across ops
    (see :func:`resource_flow`)."""
    signals: list[Signal] = list(extra)
    if ev.kernel_source:
        signals += _scan(KERNEL_PATTERNS, _strip_cpp_comments(ev.kernel_source), "kernel")
    doc = _first_paragraph(ev.docstring)
    doc_signals = _scan(DOC_PATTERNS, doc, "doc")
    signals += doc_signals + _scan(NAME_PATTERNS, ev.op, "name")
    doc_scores: dict[str, int] = {}
    for sig in doc_signals:
        doc_scores[sig.sub] = doc_scores.get(sig.sub, 0) + sig.weight

    pure_string = bool(_PURE_STRING_OPS.match(ev.op))
    targets: list[TargetGuess] = []
    file_targets: list[TargetGuess] = []
    has_address = False
    graph_payloads: list[TargetGuess] = []
    shown_of: dict[str, str] = {}
    for a in ev.args:
        # names to match: the argument's own, then what Python callers pass for it
        alias = next(
            (n for n in ev.aliases.get(a.name, []) if _PATH_ARG.match(n) or _URL_ARG.match(n) or _PATTERN_ARG.match(n)),
            None,
        )
        name, shown = a.name, a.name
        if alias is not None and not (_PATH_ARG.match(a.name) or _URL_ARG.match(a.name)):
            name, shown = alias, f"{a.name} (callers pass `{alias}`)"
        shown_of[a.name] = shown
        if _DELETE_ARG.match(name) and a.type == "bool" and not pure_string:
            signals.append(Signal("dir_write", "args", f"arg {shown}", 2))
            continue
        if not a.type.startswith("string") and not a.type.startswith("list(string"):
            continue
        t: TargetGuess | None = None
        if _GRAPH_ARG.match(name) and not pure_string:
            graph_payloads.append(TargetGuess(a.kind, a.name, "data"))
            signals.append(Signal("code_execution", "args", f"arg {shown} (serialized graph, imported and run)", 2))
            continue
        if _REGION_ARG.match(name):
            t = TargetGuess(a.kind, a.name, "memory_region")
            signals.append(Signal("file_read", "args", f"arg {shown}", 2))
        elif _CALLABLE_ARG.match(name) and "PyFunc" in ev.op:
            t = TargetGuess(a.kind, a.name, "callable")
            signals.append(Signal("code_execution", "args", f"arg {shown}", 2))
        elif _STREAM_ARG.match(name):
            t = TargetGuess(a.kind, a.name, "stream")
            signals.append(Signal("file_write", "args", f"arg {shown}", 2))
        elif _URL_ARG.match(name):
            t = TargetGuess(a.kind, a.name, "url")
            signals.append(Signal("network_send", "args", f"arg {shown}", 2))
            if name == "debug_urls":
                signals.append(Signal("file_write", "args", "arg debug_urls (file://)", 2))
        elif _ADDRESS_ARG.match(name):
            t = TargetGuess(a.kind, a.name, "address")
            has_address = True
            signals.append(Signal("network_send", "args", f"arg {shown}", 2))
        elif _PATTERN_ARG.match(name) and (_NAME_GLOB_OK.search(ev.op) or re.search(r"\bfiles?\b|\bglob", doc, re.I)):
            t = TargetGuess(a.kind, a.name, "pattern")
            file_targets.append(t)
        elif _PATH_ARG.match(name):
            t = TargetGuess(a.kind, a.name, "directory" if _DIR_ARG.search(name) else "path")
            file_targets.append(t)
        if t is not None and not pure_string:
            targets.append(t)
    if pure_string:
        signals = [sig for sig in signals if sig.where == "kernel"]
        file_targets = []

    if file_targets and not (has_address and not (_NAME_READ.search(ev.op) or _NAME_WRITE.search(ev.op))):
        way = _direction(ev.op, doc_scores)
        for t in file_targets:
            label = shown_of.get(t.name, t.name)
            if t.role == "pattern":
                sub = "dir_read" if _NAME_LIST.search(ev.op) else "file_read"
                signals.append(Signal(sub, "args", f"arg {label} (glob)", 2))
            elif t.role == "directory" and _NAME_LIST.search(ev.op):
                signals.append(Signal("dir_read", "args", f"arg {label} (listed)", 2))
            else:
                if "read" in way:
                    signals.append(Signal("file_read", "args", f"arg {label} (read)", 2))
                if "write" in way:
                    signals.append(Signal("file_write", "args", f"arg {label} (written)", 2))
                    if t.role == "directory":
                        signals.append(Signal("dir_write", "args", f"arg {label} (directory created)", 2))

    scores: dict[str, int] = {}
    for sig in signals:
        scores[sig.sub] = scores.get(sig.sub, 0) + sig.weight
    kernel_subs = {sig.sub for sig in signals if sig.where == "kernel"}
    chosen: set[str] = set()
    for sub, score in scores.items():
        if sub in kernel_subs and (sub in CAPABILITIES or sub == "network"):
            chosen.add(sub)
        elif score >= 2:
            chosen.add(sub)
    # a socket without a clear direction: both
    if "network" in chosen or "network" in kernel_subs:
        chosen.discard("network")
        if not chosen & {"network_send", "network_receive"}:
            chosen |= {"network_send", "network_receive"}
    caps = [c for c in CAPABILITIES if c in chosen]
    if not caps:
        pure = [p for p in ("internal_data", "encoding") if scores.get(p, 0) >= 1] or (
            ["math"] if scores.get("math", 0) else []
        )
        subs = pure or (["math"] if ev.kernel_source else [])
    else:
        subs = caps
    if not ev.kernel_source:
        confidence = "low" if caps else "medium"
    else:
        confidence = "high" if caps and kernel_subs & set(caps) else "medium"
    payloads: list[TargetGuess] = []
    if caps:
        payloads = list(graph_payloads)
        # an op on the reading side of a stream (a `...Readable...Init`) sends no content of its own
        if {"file_write", "network_send"} & set(caps) and not re.search(r"Readable|Iterable", ev.op):
            taken = {t.name for t in targets}
            for a in ev.inputs():
                if a.type == "resource" or a.name in taken:
                    continue
                if _PAYLOAD_DATA.match(a.name):
                    payloads.append(TargetGuess("input", a.name, "data"))
                elif _PAYLOAD_NAMES.match(a.name):
                    payloads.append(TargetGuess("input", a.name, "names"))
        order = {a.name: i for i, a in enumerate(ev.inputs())}
        payloads.sort(key=lambda t: order.get(t.name, len(order)))
    return OfflineResult(
        op=ev.op,
        subcategories=subs,
        categories=categories_of(subs) or ["pure_calculation"],
        capabilities=caps,
        confidence=confidence,
        signals=signals,
        targets=targets if caps else [],
        payloads=payloads,
        via_resource=via_resource if caps else None,
    )


def resource_flow(evidence: dict[str, OpEvidence], results: dict[str, OfflineResult]) -> dict[str, OfflineResult]:
    """Ops that write through a resource another op opened on a path.

    A resource input shared by name across ops (``writer``) is *opened on a
    path* when an op that takes it also takes a path/directory target and
    writes (``CreateSummaryFileWriter(writer, logdir, ...)``). The other ops
    taking that resource and flagged with nothing else write into what it
    opened (``WriteSummary(writer, ...)``, ``FlushSummaryWriter(writer)``):
    they get ``file_write`` with no target of their own (the path is on the
    opening op). Only writes propagate: a resource *filled* from a file
    (``InitializeTableFromTextFile(table_handle, filename)``) is read once, at
    initialisation; its users work on memory. Returns the updated results.
    """
    takers: dict[str, list[str]] = {}
    for op in sorted(evidence):
        for a in evidence[op].inputs():
            if a.type == "resource":
                takers.setdefault(a.name, []).append(op)
    out = dict(results)
    for name, ops in sorted(takers.items()):
        openers = tuple(
            o
            for o in ops
            if "file_write" in results[o].capabilities
            and any(t.role in ("path", "directory") for t in results[o].targets)
        )
        if not openers:
            continue
        for o in ops:
            if o in openers or results[o].capabilities:
                continue
            sig = Signal("file_write", "resource", f"resource {name} (opened on a path by {', '.join(openers)})", 2)
            out[o] = classify(evidence[o], (sig,), (name, openers))
    return out
