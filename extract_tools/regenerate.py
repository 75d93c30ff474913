"""``python -m extract_tools regenerate``: the whole pipeline.

PersistExt (installed TF, no import) -> op registry (imports TF in a child
process) -> kernels (CodeQL results or tree-sitter, when a source tree is
given) -> op presence (committed reference presence + this run) ->
classifiers (offline, optionally LLM) -> entries derived from evidence alone
(``--from-scratch`` stops here) -> review decisions applied as overrides ->
``signatures/tf_ops.json``, ``signatures/tf_registry.json``,
``signatures/addons/*.json`` + a diff report, the comparison report
(from-scratch vs reviewed), the review queue and the provenance trail.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from extract_tools import addons, derive, inputs, persistext, presence, registry, report, review, signatures_build
from extract_tools.capanalysis import offline
from extract_tools.capanalysis.evidence import Arg, OpEvidence
from extract_tools.kernels import KernelIndex, cpp_text

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_REFERENCE_DIR = REPO_ROOT / ".." / "shared" / "reference" / "persistext"
DEFAULT_OUT = REPO_ROOT / "signatures"
DATA_DIR = REPO_ROOT / "extract_tools" / "data"
WORK_DIR = REPO_ROOT / "build" / "extract_tools"
REPORT_DIR = REPO_ROOT / "extract_tools" / "reports"


def rel(p: Path) -> str:
    """A path for messages and files: relative to the repo when inside it."""
    try:
        return p.resolve().relative_to(REPO_ROOT).as_posix()
    except ValueError:
        return p.as_posix()


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


@dataclass
class LLMOptions:
    base_url: str
    model: str
    api_key_env: str = "TFMODEL_LINT_LLM_API_KEY"
    votes: int = 1
    temperature: float | None = None
    cache_dir: Path = WORK_DIR / "llm-cache"
    price_in: float = 0.0
    price_out: float = 0.0
    response_format: str = "json_object"
    scope: str = "candidates"  # candidates | all | decided
    max_format_retries: int = 2
    backoff: float = 2.0


@dataclass
class Options:
    tf_root: Path | None = None
    python: str | None = None
    registry_file: Path | None = None
    out: Path = DEFAULT_OUT
    classifier: str = "offline"
    tf_src: Path | None = None
    codeql_registrations: Path | None = None
    codeql_classes: Path | None = None
    decisions: Path = review.DECISIONS_FILE
    queue: Path = review.QUEUE_FILE
    data_dir: Path = DATA_DIR
    work_dir: Path = WORK_DIR
    report_dir: Path = REPORT_DIR
    presence_file: Path = inputs.PRESENCE_FILE
    threat_model_file: Path = inputs.THREAT_MODEL_FILE
    addon_data_dir: Path = addons.DATA_DIR
    addon_decisions_dir: Path = review.ADDON_DECISIONS_DIR
    from_scratch: bool = False
    check: bool = False
    strict: bool = False
    no_cache: bool = False  # re-parse every gen_*.py (the cache is keyed by content)
    ops: list[str] = field(default_factory=list)  # restrict classification (debugging)
    llm: LLMOptions | None = None


def build_evidence(
    op: str,
    wrappers: list[persistext.Wrapper],
    spec: registry.OpSpec | None,
    kernels: KernelIndex | None,
) -> OpEvidence:
    main = [w for w in wrappers if w.kind == persistext.KIND_WRAPPER]
    doc = next(
        (w.docstring for w in sorted(main, key=lambda w: (w.api_name.startswith("_"), w.path)) if w.docstring), ""
    )
    args: list[Arg] = []
    if spec is not None:
        args = [Arg(a.name, "input", a.type) for a in spec.inputs] + [Arg(a.name, "attr", a.type) for a in spec.attrs]
    src = kernels.kernel_source(op) if kernels is not None else ""
    return OpEvidence(
        op=op,
        python_apis=sorted(f"{w.path}:{w.api_name}" for w in main),
        docstring=doc,
        args=args,
        kernel_source=src,
        kernel_classes=[f"{c.file}::{c.name}" for c in kernels.classes_for_op(op)] if kernels is not None else [],
        op_requires=cpp_text.op_requires_checks(src) if src else [],
    )


def _locate(opts: Options) -> persistext.TFRoot:
    if opts.tf_root is not None:
        return persistext.resolve_root(opts.tf_root)
    if opts.python:
        return persistext.find_tensorflow(persistext.python_sys_path(opts.python))
    return persistext.find_tensorflow()


def _write(path: Path, text: str) -> bool:
    """Write when different; True if written."""
    if path.exists() and path.read_text(encoding="utf-8") == text:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return True


def _dump_json(obj: Any) -> str:
    return json.dumps(obj, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def _dump_compact(obj: Any) -> str:
    """Shipped files the linter loads at every run: no indentation, one item a line."""
    return json.dumps(obj, indent=0, sort_keys=True, ensure_ascii=False) + "\n"


def registry_doc(reg: registry.Registry) -> dict[str, Any]:
    """``signatures/tf_registry.json``: every op name the checked TF registers."""
    return {
        "schema_version": 1,
        "library": {"name": "tensorflow", "version": reg.tf_version or "0.0.0"},
        "registry": sorted(reg.ops),
    }


@dataclass
class Evidence:
    """Everything the pipeline derived before any decision."""

    pe: persistext.ExtractResult
    reg: registry.Registry
    version: str
    kernels: KernelIndex | None
    table: presence.PresenceTable
    reference_ops: set[str]
    threat_model_ops: set[str]
    by_op: dict[str, list[persistext.Wrapper]]
    evidence: dict[str, OpEvidence]
    off: dict[str, offline.OfflineResult]
    llm: dict[str, Any]
    derived: dict[str, derive.Entry]


def collect(opts: Options, decisions: review.Decisions) -> Evidence:
    """Steps 1-5: PersistExt, registry, kernels, presence, classifiers, derived entries."""
    # The registry dump imports TensorFlow in a child process: start it first.
    pending = registry.RegistryDump(opts.python) if opts.registry_file is None else None
    # 1. PersistExt --------------------------------------------------------
    root = _locate(opts)
    pe = persistext.extract(root, cache_dir=None if opts.no_cache else opts.work_dir / "persistext-cache")
    log(
        f"persistext: TF {pe.tf_version} ({root.kind}): {len(pe.files_scanned)} files, "
        f"{sum(1 for w in pe.wrappers if w.kind == persistext.KIND_WRAPPER)} wrappers + "
        f"{sum(1 for w in pe.wrappers if w.kind == persistext.KIND_FALLBACK)} eager fallbacks, "
        f"{len({w.op_name for w in pe.wrappers})} ops, {len(pe.errors)} file errors"
    )
    for e in pe.errors:
        log(f"persistext: {e.path}: {e.error}")
    if not pe.wrappers:
        raise persistext.NothingFound(persistext.nothing_found_message(root, pe))

    # 2. Registry ------------------------------------------------------------
    if pending is None:
        assert opts.registry_file is not None
        reg = registry.Registry.from_json(json.loads(opts.registry_file.read_text(encoding="utf-8")))
    else:
        reg = pending.result()
    log(f"registry: TF {reg.tf_version}: {len(reg.ops)} registered ops")
    if pe.tf_version and reg.tf_version and pe.tf_version != reg.tf_version:
        log(f"warning: PersistExt scanned TF {pe.tf_version} but the registry is TF {reg.tf_version}")
    version = reg.tf_version or pe.tf_version or "0.0.0"

    # 3. Kernels -------------------------------------------------------------
    kernels: KernelIndex | None = None
    if opts.tf_src is not None:
        from extract_tools.kernels import extract_kernels

        kernels = extract_kernels(
            opts.tf_src, codeql_registrations=opts.codeql_registrations, codeql_classes=opts.codeql_classes
        )
        log(
            f"kernels ({kernels.extractor}): {len(kernels.ops())} ops, {len(kernels.classes)} classes, "
            f"{len(kernels.problems)} problems"
        )

    # 4. Presence (committed reference presence + this run), threat model ----------
    table = presence.PresenceTable()
    ref = inputs.load_presence(opts.presence_file)
    ref.add_to(table)
    reference_ops = ref.all_ops()
    table.add(version, {w.op_name for w in pe.wrappers}, f"persistext:persistext_{version}.csv")
    table.add(version, set(reg.ops), f"registry:{version}")
    threat_model_ops = inputs.load_threat_model(opts.threat_model_file)
    log(
        f"inputs: {len(reference_ops)} ops in {len(ref.releases)} reference lists ({rel(opts.presence_file)}), "
        f"{len(threat_model_ops)} threat-model ops ({rel(opts.threat_model_file)})"
    )

    # 5. Classifiers -> entries from evidence ------------------------------------------
    by_op: dict[str, list[persistext.Wrapper]] = {}
    for w in pe.wrappers:
        by_op.setdefault(w.op_name, []).append(w)
    universe = sorted(set(reg.ops) | set(by_op))
    if opts.ops:
        universe = [o for o in universe if o in set(opts.ops)]
    evidence = {op: build_evidence(op, by_op.get(op, []), reg.ops.get(op), kernels) for op in universe}
    off = offline.resource_flow(evidence, {op: offline.classify(ev) for op, ev in evidence.items()})
    log(f"offline classifier: {len(off)} ops, {sum(1 for r in off.values() if r.capabilities)} with a capability")
    llm_results: dict[str, Any] = {}
    if opts.classifier == "llm":
        llm_results = _run_llm(opts, evidence, off, decisions)
    derived = derive.from_evidence(evidence, off, llm_results)
    return Evidence(
        pe, reg, version, kernels, table, reference_ops, threat_model_ops, by_op, evidence, off, llm_results, derived
    )


def _validated(doc: dict[str, Any], schema: Path, what: str) -> bool:
    errors = signatures_build.validate(doc, schema)
    for err in errors[:50]:
        log(f"schema ({what}): {err}")
    return not errors


def run(opts: Options) -> int:
    decisions = review.load(opts.decisions) if not opts.from_scratch else review.Decisions()
    ev = collect(opts, decisions)
    schema = opts.out / "tf_ops.schema.json"
    if not schema.exists():
        schema = DEFAULT_OUT / "tf_ops.schema.json"
    addon_schema = schema  # one schema file: tf_ops, add-on and registry documents

    scratch = signatures_build.build(ev.derived, ev.reg, ev.table, ev.reference_ops, ev.threat_model_ops)
    addon_inputs = addons.load_all(opts.addon_data_dir)
    if opts.from_scratch:
        # 6'. No decision: the evidence alone ---------------------------------------
        scratch_out = {opts.out / "tf_ops.json": signatures_build.render(scratch.doc)}
        for a in addon_inputs:
            scratch_out[opts.out / "addons" / a.file_name] = addons.render(addons.build(a, review.Decisions()).doc)
        ok = _validated(scratch.doc, schema, "tf_ops.json")
        if not ok:
            log("error: the derived document does not validate; nothing written")
            return 2
        for path, text in scratch_out.items():
            _write(path, text)
        cats: dict[str, int] = {}
        for e in scratch.doc["ops"].values():
            for c in e["categories"]:
                cats[c] = cats.get(c, 0) + 1
        log(
            f"from scratch: {len(scratch.doc['ops'])} ops ("
            + ", ".join(f"{c} {cats[c]}" for c in scratch.doc["categories"] if c in cats)
            + f") -> {', '.join(rel(p) for p in scratch_out)}"
        )
        return 0

    # 6. Decisions as overrides -> document ------------------------------------------------
    reviewed = derive.apply_decisions(ev.derived, decisions)
    built = signatures_build.build(reviewed.entries, ev.reg, ev.table, ev.reference_ops, ev.threat_model_ops)
    for bp in built.problems:
        log(f"build: {bp.op}: {bp.kind}: {bp.detail}")
        if bp.kind == "no-presence":
            reviewed.dropped[bp.op] = "in no PersistExt list and not registered"
    for op, why in sorted(reviewed.ignored.items()):
        log(f"decision ignored: {op}: {why}")
    if not _validated(built.doc, schema, "tf_ops.json"):
        log("error: the regenerated document does not validate; nothing written")
        return 2
    text = signatures_build.render(built.doc)
    out_file = opts.out / "tf_ops.json"
    old_doc = json.loads(out_file.read_text(encoding="utf-8")) if out_file.exists() else None
    changed, changes = signatures_build.diff_report(
        old_doc, built.doc, origins=reviewed.origins, dropped=reviewed.dropped
    )

    # add-ons: committed extraction data + add-on decisions
    reg_doc = registry_doc(ev.reg)
    if not _validated(reg_doc, schema, "tf_registry.json"):
        return 2
    outputs: dict[Path, str] = {out_file: text, opts.out / "tf_registry.json": _dump_compact(reg_doc)}
    addon_docs: dict[str, dict[str, Any]] = {}
    for a in addon_inputs:
        ad = review.load(opts.addon_decisions_dir / f"{a.key}.json")
        res = addons.build(a, ad)
        for bp in res.problems:
            log(f"build ({a.name}): {bp.op}: {bp.kind}: {bp.detail}")
        if not _validated(res.doc, addon_schema, a.file_name):
            log(f"error: {a.file_name} does not validate; nothing written")
            return 2
        outputs[opts.out / "addons" / a.file_name] = addons.render(res.doc)
        addon_docs[a.name] = res.doc
        log(
            f"add-on {a.name} {a.version} (TF {a.tensorflow}): {len(a.ops)} registered ops, "
            f"{len(res.doc['ops'])} with a capability"
        )
    stale_addons = (
        sorted(p for p in (opts.out / "addons").glob("*.json") if p not in outputs)
        if (opts.out / "addons").is_dir()
        else []
    )
    report_file = opts.report_dir / f"from_scratch_vs_reviewed_{ev.version}.md"
    outputs[report_file] = report.render(
        scratch.doc, built.doc, reviewed, ev.threat_model_ops, addon_docs, scratch_problems=scratch.problems
    )

    queue = _queue(sorted(set(ev.evidence) | set(decisions.items)), ev.off, ev.llm, decisions, built.problems)
    log(f"review queue: {len(queue)} entries ({_count(queue)})")

    if opts.check:
        stale = [p for p, t in outputs.items() if not (p.exists() and p.read_text(encoding="utf-8") == t)]
        stale += stale_addons
        if not stale:
            log(
                f"{rel(out_file)} is up to date ({len(built.doc['ops'])} ops); so are "
                + ", ".join(rel(p) for p in outputs if p != out_file)
            )
            return 0
        for p in stale:
            log(f"{rel(p)} is out of date" + ("" if p in outputs else " (no extraction data for it)"))
        if out_file in stale:
            print(changes)
        return 1

    # 7. Write -------------------------------------------------------------------
    wrote = [rel(p) for p, t in outputs.items() if _write(p, t)]
    for p in stale_addons:
        p.unlink()
        wrote.append(f"removed {rel(p)}")
    if changed and rel(out_file) in wrote:
        _write(opts.out / "CHANGES.md", changes)
        wrote.append(rel(opts.out / "CHANGES.md"))
    print(changes if changed else f"No changes to {rel(out_file)} ({len(built.doc['ops'])} ops).")
    data = opts.data_dir
    pe, version = ev.pe, ev.version
    if _write(data / f"persistext_{pe.tf_version or version}.csv", persistext.to_csv(pe)):
        wrote.append(rel(data / f"persistext_{pe.tf_version or version}.csv"))
    cap_ops = sorted(built.doc["ops"])
    if _write(data / "presence.csv", presence.to_csv(ev.table, cap_ops)):
        wrote.append(rel(data / "presence.csv"))
    if _write(data / "presence.md", presence.to_markdown(ev.table, cap_ops)):
        wrote.append(rel(data / "presence.md"))
    trail = _trail(built.doc, ev, reviewed)
    if _write(data / f"provenance_{version}.json", _dump_json(trail)):
        wrote.append(rel(data / f"provenance_{version}.json"))
    if _write(opts.queue, _dump_json({"tf_version": version, "entries": queue})):
        wrote.append(rel(opts.queue))
    work = opts.work_dir
    _write(work / f"persistext_{pe.tf_version or version}.json", _dump_json(pe.to_json()))
    _write(work / f"registry_{version}.json", _dump_json(ev.reg.to_json()))
    _write(work / "offline.json", _dump_json({op: r.to_json() for op, r in ev.off.items()}))
    if ev.kernels is not None:
        ev.kernels.write(work / "kernels.json")
    log("wrote: " + (", ".join(wrote) if wrote else "nothing (all up to date)"))
    if opts.strict and built.problems:
        return 1
    return 0


def _count(queue: list[dict[str, Any]]) -> str:
    counts: dict[str, int] = {}
    for q in queue:
        counts[q["reason"]] = counts.get(q["reason"], 0) + 1
    return ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "empty"


def _queue(
    universe: list[str],
    off: dict[str, offline.OfflineResult],
    llm_results: dict[str, Any],
    decisions: review.Decisions,
    problems: list[signatures_build.BuildProblem],
) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for op in universe:
        if op not in off:
            continue
        o = off[op]
        lr = llm_results.get(op)
        llm_caps: list[str] | None = lr.capabilities if lr is not None and lr.status == "ok" else None
        d = decisions.items.get(op)
        entry: dict[str, Any] = {"op": op, "offline": o.capabilities, "confidence": o.confidence}
        if lr is not None:
            entry["llm"] = llm_caps
            entry["llm_agreement"] = round(lr.round2.agreement, 3)
        entry["signals"] = sorted({s.display() for s in o.signals if s.sub in o.capabilities})
        if lr is not None and lr.status != "ok":
            entry["reason"] = "llm-failed"
        elif d is None:
            if llm_caps is not None and set(llm_caps) != set(o.capabilities):
                entry["reason"] = "disagree"
            elif o.capabilities or llm_caps:
                # published from evidence alone: confirm (review accept OP --reason ...) or reject
                entry["reason"] = "new"
                entry["targets"] = [{"kind": t.kind, "name": t.name, "role": t.role} for t in o.targets]
            else:
                continue
        elif d.status == review.ACCEPT:
            votes = [set(o.capabilities)] if o.confidence == "high" else []
            if llm_caps is not None:
                votes.append(set(llm_caps))
            if (
                d.categories is not None
                and votes
                and all(v == votes[0] for v in votes)
                and votes[0] != set(d.categories)
            ):
                entry["reason"] = "recheck"
                entry["decision"] = d.categories
            else:
                continue
        else:
            continue
        out.append(entry)
    for p in problems:
        out.append({"op": p.op, "reason": "stale" if p.kind == "stale-argument" else p.kind, "detail": p.detail})
    return sorted(out, key=lambda e: (e["reason"], e["op"]))


def _trail(doc: dict[str, Any], ev: Evidence, reviewed: derive.Reviewed) -> dict[str, Any]:
    """Per published op: what each pipeline stage contributed, and where each field came from."""
    ops: dict[str, Any] = {}
    for op in sorted(doc["ops"]):
        o = reviewed.origins[op]
        d = o.decision
        item: dict[str, Any] = {
            "persistext": sorted(
                f"{w.path}:{w.api_name}" for w in ev.by_op.get(op, []) if w.kind == persistext.KIND_WRAPPER
            ),
            "origin": {"entry": o.label, "fields": o.fields},
        }
        if d is not None:
            item["review"] = {"status": d.status, "source": d.source, "reason": d.reason, "overrides": d.overrides()}
        if op in ev.off:
            r = ev.off[op]
            item["offline"] = {
                "capabilities": r.capabilities,
                "confidence": r.confidence,
                "signals": sorted({s.display() for s in r.signals if s.sub in r.capabilities}),
            }
            item["agrees_with_review"] = r.capabilities == doc["ops"][op]["categories"]
        if ev.kernels is not None:
            item["kernel_classes"] = [f"{c.file}::{c.name}" for c in ev.kernels.classes_for_op(op)]
        if op in ev.llm:
            item["llm"] = ev.llm[op].to_json()
        ops[op] = item
    agree = sum(1 for v in ops.values() if v.get("agrees_with_review"))
    return {
        "tf_version": ev.version,
        "note": "Pipeline trail for signatures/tf_ops.json (generated by python -m extract_tools regenerate). "
        "persistext: generated wrappers of the op in this TF; offline: the offline classifier's view "
        "(names/docs only unless a source tree was given); origin: which fields came from the evidence and "
        "which from a review decision (review: that decision and its reason).",
        "summary": {"ops": len(ops), "offline_agrees_with_review": agree},
        "dropped": dict(sorted(reviewed.dropped.items())),
        "ops": ops,
    }


def _run_llm(
    opts: Options, evidence: dict[str, OpEvidence], off: dict[str, offline.OfflineResult], decisions: review.Decisions
) -> dict[str, Any]:
    from extract_tools.capanalysis.llm import AnswerCache, LLMClassifier, Progress
    from extract_tools.capanalysis.llm_client import ChatClient

    lo = opts.llm
    if lo is None:
        raise ValueError("--classifier llm needs --base-url and --model")
    if lo.scope == "all":
        ops = sorted(evidence)
    elif lo.scope == "decided":
        ops = sorted(op for op in evidence if op in decisions.items)
    else:
        ops = sorted(op for op in evidence if off[op].capabilities or op in decisions.accepted())
    client = ChatClient.from_env(
        lo.base_url, lo.model, lo.api_key_env, response_format=lo.response_format, backoff=lo.backoff
    )
    progress = Progress(total=len(ops), price_in=lo.price_in, price_out=lo.price_out)
    clf = LLMClassifier(
        client,
        cache=AnswerCache(lo.cache_dir),
        votes=lo.votes,
        temperature=lo.temperature,
        max_format_retries=lo.max_format_retries,
        progress=progress,
    )
    results: dict[str, Any] = {}
    for op in ops:
        results[op] = clf.classify(evidence[op])
    log(
        f"llm: {len(results)} ops, {client.usage.requests} requests, {client.usage.prompt_tokens} prompt + "
        f"{client.usage.completion_tokens} completion tokens"
    )
    return results
