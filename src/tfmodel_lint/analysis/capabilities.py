"""Capability sites: every node whose op can touch files, the network or processes,
with the values of its target arguments and an assessment per capability category.

Computed once per model and shared by all capability rules, which only select the
assessments of their own category and kind.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from tfmodel_lint._records import dataclass
from tfmodel_lint.analysis import targets as tg
from tfmodel_lint.analysis.reach import Reach, reachability
from tfmodel_lint.analysis.values import Evaluator, Unknown, Value, render
from tfmodel_lint.findings import Location, Severity
from tfmodel_lint.ir import Function, MemoKey, ModelIR
from tfmodel_lint.policy import op_severity, target_severity, worst
from tfmodel_lint.signatures import ArgSpec, OpSignature, SignatureDB

if TYPE_CHECKING:
    from tfmodel_lint.proto.tfmodel_lint_pb2 import NodeDef

# Assessment kinds: which rule family reports it.
RESOLVED = "resolved"  # the category rule (TFL1xx-4xx)
UNRESOLVED = "unresolved"  # TFL501
CALLER = "caller"  # TFL502: target comes from a signature input
CHECKPOINT_IO = "checkpoint_io"  # TFL503: a checkpoint save/restore signature of an on-device training export

VERBS = {
    "file_read": "reads",
    "file_write": "writes",
    "dir_read": "lists",
    "dir_write": "creates or deletes",
    "network_send": "sends to",
    "network_receive": "receives from",
    "process_create": "starts a process",
    "process_abort": "can abort the process",
    "process_sleep": "can stall the process",
    "code_execution": "runs code it is given",
}
#: What a code-execution op runs, by op (the category's verb otherwise).
CODE_VERBS = {
    "PyFunc": "runs a registered Python function",
    "PyFuncStateless": "runs a registered Python function",
    "EagerPyFunc": "runs a registered Python function",
    "DatasetFromGraph": "runs a dataset graph given to it as a serialized string (linted as an embedded graph "
                        "where the string can be resolved)",
}
LABEL_WORDS = {
    tg.SENSITIVE: "sensitive file",
    tg.HOME: "home directory",
    tg.ABSOLUTE: "absolute path",
    tg.TMP: "temporary directory",
    tg.TRAVERSAL: "path traversal",
    tg.PYTHON_MODULE: "Python module",
    tg.SHELL_STARTUP: "shell startup file",
    tg.WINDOWS: "Windows path",
    tg.FILE_URL: "file:// URL",
    tg.SYSTEM_ROOT: "system directory listing",
    tg.REMOTE: "remote host",
    tg.PRIVATE: "private address",
    tg.LOOPBACK: "loopback address",
    tg.UNSPECIFIED: "unspecified address",
    tg.NETWORK_URL: "URL",
    tg.REMOTE_FS: "remote file system",
    tg.PARTIAL: "partly computed",
}
_PATHISH = ("file_read", "file_write", "dir_read", "dir_write", "network_send", "network_receive")


@dataclass(frozen=True, slots=True)
class ArgValue:
    spec: ArgSpec
    value: Value
    targets: tuple[tg.Target, ...]


@dataclass(frozen=True, slots=True)
class Site:
    function: Function
    node: NodeDef
    sig: OpSignature
    args: tuple[ArgValue, ...]
    payloads: tuple[ArgValue, ...]
    reach: Reach

    @property
    def location(self) -> Location:
        return Location(
            function=self.function.name,
            node=self.node.name,
            op=self.node.op,
            reached_from=self.reach.entries,
        )


@dataclass(frozen=True, slots=True)
class Assessment:
    site: Site
    category: str
    kind: str
    severity: Severity
    message: str
    evidence: dict[str, object]
    key: str


def _arg_value(ev: Evaluator, func: Function, nd: NodeDef, spec: ArgSpec) -> Value:
    if spec.kind == "attr":
        if spec.name not in nd.attr:
            return Value((), False, ())
        attr = nd.attr[spec.name]
        which = attr.WhichOneof("value")
        if which == "s":
            return Value((attr.s,), True, ())
        if which == "list":
            return Value(tuple(attr.list.s), True, ())
        return Value((), True, ())
    if spec.index is None:
        return Value((), False, ())
    return ev.evaluate(func.input_edge(nd, spec.index))


#: Capability ops whose target is not an argument of their own: a TF1 reader reads the
#: files whose names are dequeued from the queue it is given.
_IMPLICIT_TARGETS: dict[str, tuple[ArgSpec, ...]] = {
    op: (ArgSpec("input", "queue_handle", "path", 1),)
    for op in ("ReaderRead", "ReaderReadV2", "ReaderReadUpTo", "ReaderReadUpToV2")
}
#: Ops whose empty filename means "keep it in memory" (``Dataset.cache()``).
_EMPTY_IS_MEMORY = frozenset({"CacheDataset", "CacheDatasetV2"})
#: Ops whose kernel refuses every debug URL but file:// ones (the op then fails: inert).
_FILE_URLS_ONLY = frozenset({"DebugIdentityV2"})
#: The ops of the standard checkpoint save and restore (TF1 and TF2 savers).
_SAVER_OPS = frozenset({"Save", "SaveV2", "SaveSlices", "Restore", "RestoreV2", "RestoreSlice",
                        "MergeV2Checkpoints"})
_CHECKPOINT_INPUT = re.compile(r"checkpoint|ckpt", re.IGNORECASE)

CAPABILITY_SITES: MemoKey[list[Site]] = MemoKey("capability_sites")
ASSESSMENTS: MemoKey[list[Assessment]] = MemoKey("capability_assessments")


def find_sites(model: ModelIR, sigdb: SignatureDB) -> list[Site]:
    return model.memo.get(CAPABILITY_SITES, lambda: _find_sites(model, sigdb))


def _find_sites(model: ModelIR, sigdb: SignatureDB) -> list[Site]:
    reach = reachability(model)
    ev = Evaluator(model)
    ops = sigdb.ops
    sites: list[Site] = []

    def may_match(op: str) -> bool:
        return op in ops or op.startswith("Flex")

    for func in model.all_functions():
        ev.begin_function()  # the evaluator's cache holds one function's work at a time
        for nd in func.nodes_with_op(may_match):
            op = nd.op
            sig = ops.get(op)
            if sig is None:
                if not op.startswith("Flex"):
                    continue
                sig = sigdb.get(op)
                if sig is None:
                    continue
            args = []
            for spec in sig.targets or _IMPLICIT_TARGETS.get(sig.op, ()):
                value = _arg_value(ev, func, nd, spec)
                args.append(ArgValue(spec, value, tuple(tg.classify(render(i), spec.role) for i in value.items)))
            payloads = []
            for spec in sig.payloads:
                value = _arg_value(ev, func, nd, spec)
                payloads.append(ArgValue(spec, value, ()))
            sites.append(Site(func, nd, sig, tuple(args), tuple(payloads), reach.of(func.name, nd.name, func.is_graph)))
    return sites


def assess(model: ModelIR, sigdb: SignatureDB) -> list[Assessment]:
    return model.memo.get(ASSESSMENTS, lambda: _assess_all(model, sigdb))


def _assess_all(model: ModelIR, sigdb: SignatureDB) -> list[Assessment]:
    out: list[Assessment] = []
    for site in find_sites(model, sigdb):
        for category in site.sig.categories:
            if category == "dir_write" and "file_write" in site.sig.categories:
                continue  # creating the parent directories is part of the reported write
            a = _assess(site, category)
            if a is not None:
                out.append(a)
        remote = _remote_file_system(site)
        if remote is not None:
            out.append(remote)
    return out


_NETWORK = ("network_send", "network_receive")
_NETWORK_ROLES = ("url", "address")


def _for_category(a: ArgValue, category: str) -> ArgValue | None:
    """The part of an argument that matters for one category (a URL list may mix
    ``grpc://`` and ``file://`` targets; a path argument is no network address)."""
    network = category in _NETWORK
    if a.spec.role not in _NETWORK_ROLES:
        return None if network else a
    if a.spec.role == "address":
        return a if network else None
    if not a.targets:  # nothing resolved: a URL is a network capability
        return a if network else None
    keep = [i for i, t in enumerate(a.targets) if t.has(tg.FILE_URL) != network]
    if not keep:
        return None
    if len(keep) == len(a.targets):
        return a
    items = tuple(a.value.items[i] for i in keep)
    return ArgValue(a.spec, Value(items, False, a.value.unknowns), tuple(a.targets[i] for i in keep))


#: Targets listed in a finding's evidence (all are classified; the most severe are listed).
MAX_SHOWN = 64


def _most_severe(targets: Sequence[tg.Target], category: str) -> list[tg.Target]:
    if len(targets) <= MAX_SHOWN:
        return list(targets)
    ranked = sorted(range(len(targets)), key=lambda k: -target_severity(category, targets[k]))[:MAX_SHOWN]
    return [targets[k] for k in sorted(ranked)]


def _describe_targets(targets: Sequence[tg.Target], category: str) -> str:
    """The three most severe targets (every candidate is classified before the list
    shown is cut) and how many more there are."""
    ranked = sorted(targets, key=lambda t: -target_severity(category, t))
    shown = []
    for t in ranked[:3]:
        words = [LABEL_WORDS[label] for label in sorted(t.labels) if label in LABEL_WORDS]
        shown.append(f"'{t.text}'" + (f" ({', '.join(words)})" if words else ""))
    more = f" and {len(targets) - 3} more" if len(targets) > 3 else ""
    return ", ".join(shown) + more


_PAYLOAD_PATTERNS = (
    ("ssh_key", r"(ssh-(rsa|dss|ed25519)|ecdsa-sha2-nistp\d+|sk-ssh-ed25519@openssh\.com) AAAA"),
    ("private_key", r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
    ("shebang", r"(^|\n)#!\s*/"),
    ("python_source", r"(^|\n)\s*(import\s+(os|sys|subprocess|socket|ctypes|pty)\b|from\s+\w+\s+import\s)"
                      r"|\b(os\.system|subprocess\.|exec\(|eval\(|__import__\(|os\.popen)"),
    ("crontab", r"(^|\n)\s*([\d*/,-]+\s+){5}\S"),
    ("shell_command", r"\b(curl|wget|nc|bash|sh)\s+-?\S+.*(\||>|http)"),
)


@functools.cache
def _payload_regexes() -> tuple[tuple[str, re.Pattern[str]], ...]:
    """Compiled on first use: most models write nothing."""
    return tuple((kind, re.compile(pattern)) for kind, pattern in _PAYLOAD_PATTERNS)


def payload_kinds(texts: list[str]) -> list[str]:
    """What a written or sent constant looks like: an SSH key, Python source, a crontab line..."""
    found = []
    for kind, rx in _payload_regexes():
        if any(rx.search(t) for t in texts):
            found.append(kind)
    return found


def _payload_evidence(site: Site) -> dict[str, object]:
    out: dict[str, object] = {}
    for p in site.payloads:
        texts = [render(i)[:200] for i in p.value.items[:4]]
        if texts:
            out[p.spec.name] = texts
    return out


def _payload_texts(site: Site) -> list[str]:
    return [render(i) for p in site.payloads for i in p.value.items]


def _limits(args: Sequence[ArgValue]) -> list[Unknown]:
    """The analysis limits hit computing these arguments (deduplicated, in order)."""
    seen: dict[Unknown, None] = {}
    for a in args:
        for u in a.value.unknowns:
            if u.kind == "limit":
                seen.setdefault(u, None)
    return list(seen)


def _inert(site: Site, category: str, args: Sequence[ArgValue], evidence: dict[str, object]) -> Assessment | None:
    """An op whose kernel refuses its target (``DebugIdentityV2`` with any non-file:// URL
    fails when it is created, so it writes nothing, file:// ones included): low, said
    rather than dropped."""
    if site.node.op not in _FILE_URLS_ONLY or category != "file_write":
        return None
    urls = [t for a in args if a.spec.role == "url" for t in a.targets]
    refused = [t for t in urls if not t.has(tg.FILE_URL)]
    if not refused or any(a.value.unknowns for a in args):
        return None
    evidence = dict(evidence, targets=[t.text for t in urls], labels=sorted({lb for t in urls for lb in t.labels}),
                    arguments=[a.spec.name for a in args], inert=True)
    msg = (f"{site.node.op} names {_describe_targets(refused, 'network_send')} but is inert: its kernel accepts only "
           "file:// debug URLs and fails the function")
    return Assessment(site, "network_send", RESOLVED, Severity.LOW, msg, evidence,
                      f"{site.node.op}|network_send|inert|{'|'.join(sorted(t.text for t in refused))}")


def _remote_file_system(site: Site) -> Assessment | None:
    """A file op aimed at another machine's file system (gs://, s3://, hdfs://, http(s)://...)
    sends data off the machine: a network send as well, high, with the hosts."""
    if not any(c in _PATHISH[:4] for c in site.sig.categories):
        return None
    remote = [t for a in site.args if a.spec.role not in _NETWORK_ROLES for t in a.targets if t.has(tg.REMOTE_FS)]
    if not remote:
        return None
    hosts = sorted({t.host for t in remote if t.host})
    op = site.node.op
    evidence: dict[str, object] = {
        "op": op,
        "reached_from": list(site.reach.entries),
        "runs_at": site.reach.when,
        "targets": [t.text for t in _most_severe(remote, "network_send")],
        "labels": sorted({lb for t in remote for lb in t.labels}),
        "hosts": hosts,
        "arguments": [a.spec.name for a in site.args if a.targets],
    }
    shown = ", ".join(repr(h) for h in hosts) or "an unresolved host"
    msg = f"{op} sends data to {shown} through a remote file system ({_describe_targets(remote, 'network_send')})"
    if site.reach.at_load:
        msg += " (runs at load time)"
    if not site.reach.entries:
        msg += " (reachable from no signature or initializer)"
    return Assessment(site, "network_send", RESOLVED, Severity.HIGH, msg, evidence,
                      f"{op}|network_send|remote|{'|'.join(hosts)}")


def _checkpoint_signature(site: Site, relevant: Sequence[ArgValue]) -> bool:
    """The standard checkpoint save/restore signature of an on-device training export:
    a saver op whose path is, untouched, a signature input named like a checkpoint
    path, writing nothing that looks like a payload."""
    if site.node.op not in _SAVER_OPS:
        return False
    for a in relevant:
        if a.value.items or not a.value.unknowns:
            return False
        for u in a.value.unknowns:
            if u.kind != "signature_input" or not _CHECKPOINT_INPUT.search(u.name or ""):
                return False
    return not payload_kinds(_payload_texts(site))


def _assess(site: Site, category: str) -> Assessment | None:
    op = site.node.op
    verb = CODE_VERBS.get(op.removeprefix("Flex"), VERBS["code_execution"]) if category == "code_execution" \
        else VERBS.get(category, category)
    evidence: dict[str, object] = {
        "op": op,
        "reached_from": list(site.reach.entries),
        "runs_at": site.reach.when,
    }
    payload = _payload_evidence(site)
    if payload:
        evidence["payload"] = payload
    inert = _inert(site, category, site.args, evidence)
    if inert is not None:
        return inert
    candidates = [_for_category(a, category) for a in site.args] if category in _PATHISH else []
    relevant = [a for a in candidates if a is not None]
    if candidates and not relevant:
        return None  # e.g. a grpc:// debug URL says nothing about file writes
    if not relevant:
        sev = op_severity(category, bool(site.reach.entries))
        msg = f"{op} {verb}" + (" (no target argument)" if category in _PATHISH else "")
        if not site.reach.entries:
            msg += " (reachable from no signature or initializer)"
        return Assessment(site, category, RESOLVED, sev, msg, evidence, f"{op}|{category}")

    known: list[tg.Target] = []
    kinds: set[str] = set()
    reasons: list[str] = []
    asset_files: list[str] = []
    for a in relevant:
        known.extend(a.targets)
        for u in a.value.unknowns:
            kinds.add(u.kind)
            reasons.append(f"{a.spec.name}: {u.describe()}")
            if u.kind == "asset":
                asset_files.append(u.detail)
    evidence["arguments"] = [a.spec.name for a in relevant]
    if reasons:
        evidence["unresolved"] = sorted(set(reasons))
    limits = _limits(relevant)
    if limits:
        evidence["limits"] = [u.describe() for u in limits]

    # Drop benign streams (PrintV2 to stderr/stdout/log) and in-memory caches (an empty filename).
    known = [t for t in known if not t.has(tg.STD_STREAM)]
    if op in _EMPTY_IS_MEMORY:
        known = [t for t in known if t.text != ""]
        if not known and not kinds:
            return None
    escaping = [t for t in known if t.has(tg.TRAVERSAL, tg.SENSITIVE, tg.ABSOLUTE, tg.HOME)]
    if kinds and kinds <= {"saver"} and not escaping:
        return None  # the standard saver/restore: filename supplied by the loader
    if not known and not kinds:
        if all(a.spec.role == "stream" for a in relevant) or all(a.value.items for a in relevant):
            return None  # only standard streams, or explicitly empty
    if known:
        if len(known) > MAX_SHOWN:  # every target is classified; the evidence lists the most severe
            evidence["targets_total"] = len(known)
        evidence["targets"] = [t.text for t in _most_severe(known, category)]
        evidence["labels"] = sorted({label for t in known for label in t.labels})
        sev = worst(target_severity(category, t) for t in known)
        kind = RESOLVED
        if "signature_input" in kinds and category in _PATHISH:
            sev = max(sev, Severity.HIGH)
        if kinds == {"asset"} or (asset_files and all(tg.PARTIAL in t.labels for t in known) and not escaping
                                  and not limits):
            sev = min(sev, Severity.INFO) if category == "file_read" else sev
        msg = f"{op} {verb} {_describe_targets(known, category)}"
        key = f"{op}|{category}|{'|'.join(sorted(t.text for t in known))}"
    elif kinds == {"asset"}:
        evidence["targets"] = [f"assets/{f}" for f in asset_files]
        sev = Severity.INFO if category == "file_read" else Severity.MEDIUM
        kind = RESOLVED
        msg = f"{op} {verb} the model's own asset {', '.join(repr(f) for f in asset_files)}"
        key = f"{op}|{category}|asset|{'|'.join(sorted(asset_files))}"
    elif "signature_input" in kinds and not limits and _checkpoint_signature(site, relevant):
        sev = Severity.MEDIUM
        kind = CHECKPOINT_IO
        names = sorted({u.name for a in relevant for u in a.value.unknowns})
        evidence["signature_inputs"] = names
        msg = (f"{op} {verb} the checkpoint path the caller passes as {', '.join(repr(n) for n in names)} "
               "(a checkpoint save/restore signature)")
        key = f"{op}|{category}|checkpoint|{'|'.join(names)}"
    elif "signature_input" in kinds:
        sev = Severity.HIGH
        kind = CALLER
        msg = f"{op} {verb} a target chosen by the caller ({'; '.join(sorted(set(reasons))[:2])})"
        key = f"{op}|{category}|caller"
    else:
        # Legitimate models stay far below the interpreter's bounds: a target hidden behind
        # one (hundreds of nested calls, huge graphs) is treated as evasion.
        sev = Severity.HIGH if "limit" in kinds else Severity.MEDIUM
        kind = UNRESOLVED
        msg = f"{op} {verb} a target that cannot be resolved statically ({'; '.join(sorted(set(reasons))[:2])})"
        key = f"{op}|{category}|unresolved"
    if limits:
        # A value set, string, loop or depth the analysis had to cut may hide anything:
        # at least high, and the limit said (legitimate paths stay far below the bounds).
        sev = max(sev, Severity.HIGH)
        described = "; ".join(u.describe() for u in limits[:3])
        if described not in msg:
            msg += f" ({described})"
    if category in ("file_write", "network_send", "dir_write"):
        kinds_found = payload_kinds(_payload_texts(site))
        if kinds_found:
            evidence["payload_kinds"] = kinds_found
            sev = min(Severity.CRITICAL, Severity(sev + 1))
            msg += f"; payload looks like {', '.join(k.replace('_', ' ') for k in kinds_found)}"
    if site.reach.at_load:
        msg += " (runs at load time)"
    if not site.reach.entries:
        msg += " (reachable from no signature or initializer)"
    return Assessment(site, category, kind, sev, msg, evidence, key)
