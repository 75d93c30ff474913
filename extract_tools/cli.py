"""Command line: ``python -m extract_tools <command> ...``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from extract_tools import persistext, regenerate
from extract_tools.regenerate import DEFAULT_OUT, DEFAULT_REFERENCE_DIR, REPO_ROOT, WORK_DIR, rel

DEFAULT_THREAT_MODEL = REPO_ROOT / ".." / "shared" / "docs" / "threat-model.md"


def _add_tf_location(p: argparse.ArgumentParser) -> None:
    g = p.add_mutually_exclusive_group()
    g.add_argument(
        "--tf-root",
        type=Path,
        help="site-packages, the tensorflow package dir, or a TF source/build tree (default: search sys.path)",
    )
    g.add_argument("--python", help="an interpreter whose TensorFlow to use (e.g. a throwaway venv's bin/python)")


def _locate(args: argparse.Namespace) -> persistext.TFRoot:
    if args.tf_root is not None:
        return persistext.resolve_root(args.tf_root)
    if args.python:
        return persistext.find_tensorflow(persistext.python_sys_path(args.python))
    return persistext.find_tensorflow()


def _add_llm(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("LLM (--classifier llm)")
    g.add_argument(
        "--base-url", help="OpenAI-compatible endpoint, e.g. https://api.openai.com/v1 or http://127.0.0.1:8000/v1"
    )
    g.add_argument("--model", help="model name")
    g.add_argument(
        "--api-key-env",
        default="TFMODEL_LINT_LLM_API_KEY",
        help="environment variable holding the API key (default: %(default)s)",
    )
    g.add_argument(
        "--votes", type=int, default=1, help="queries per round; majority and agreement are recorded (default: 1)"
    )
    g.add_argument("--temperature", type=float, help="default 0 for one vote, 0.7 for several")
    g.add_argument(
        "--cache-dir",
        type=Path,
        default=WORK_DIR / "llm-cache",
        help="answer cache (default: build/extract_tools/llm-cache)",
    )
    g.add_argument("--price-in", type=float, default=0.0, help="USD per million prompt tokens, for the cost shown")
    g.add_argument("--price-out", type=float, default=0.0, help="USD per million completion tokens")
    g.add_argument("--response-format", choices=["json_object", "json_schema", "none"], default="json_object")
    g.add_argument(
        "--llm-scope",
        choices=["candidates", "all", "decided"],
        default="candidates",
        help="ops sent to the LLM: flagged by the offline classifier or accepted (default), all, "
        "or those with a decision",
    )
    g.add_argument("--max-format-retries", type=int, default=2)
    g.add_argument(
        "--backoff", type=float, default=2.0, help="seconds before the first retry of HTTP 429/5xx (doubles)"
    )


def _llm_options(args: argparse.Namespace) -> regenerate.LLMOptions | None:
    if args.classifier != "llm":
        return None
    if not args.base_url or not args.model:
        raise SystemExit("--classifier llm needs --base-url and --model")
    return regenerate.LLMOptions(
        base_url=args.base_url,
        model=args.model,
        api_key_env=args.api_key_env,
        votes=args.votes,
        temperature=args.temperature,
        cache_dir=args.cache_dir,
        price_in=args.price_in,
        price_out=args.price_out,
        response_format=args.response_format,
        scope=args.llm_scope,
        max_format_retries=args.max_format_retries,
        backoff=args.backoff,
    )


# ----------------------------------------------------------------------------


def cmd_persistext(args: argparse.Namespace) -> int:
    root = _locate(args)
    res = persistext.extract(root, tf_version=args.tf_version)
    persistext.check_found(root, res)  # exit 2 with a message: never "0 files, exit 0"
    out_csv = args.csv or (
        REPO_ROOT / "extract_tools" / "data" / f"persistext_{res.tf_version}.csv" if res.tf_version else None
    )
    persistext.write_outputs(res, out_csv, args.json, with_source=not args.no_source)
    n_w = sum(1 for w in res.wrappers if w.kind == persistext.KIND_WRAPPER)
    print(
        f"TF {res.tf_version} ({root.kind}): {len(res.files_scanned)} files, {n_w} wrappers, "
        f"{len(res.wrappers) - n_w} eager fallbacks, {len({w.op_name for w in res.wrappers})} ops, "
        f"{len(res.errors)} errors",
        file=sys.stderr,
    )
    for e in res.errors:
        print(f"  {e.path}: {e.error}", file=sys.stderr)
    if out_csv:
        print(f"wrote {rel(out_csv)}", file=sys.stderr)
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    from extract_tools import compare

    ref = persistext.parse_list(args.reference.read_text(encoding="utf-8"))
    sections = []
    for spec in args.run:
        label, _, location = spec.partition("=")
        if not location:
            label, location = f"TF at {spec}", spec
        path = Path(location)
        root = (
            persistext.find_tensorflow(persistext.python_sys_path(location))
            if path.name.startswith("python")
            else persistext.resolve_root(path)
        )
        res = persistext.extract(root)
        persistext.check_found(root, res)
        c = compare.compare(res, ref, label)
        print(
            f"{label}: matches {c.matches}, misses {c.n_misses}, extras {c.n_extras} "
            f"({c.ours_fallbacks} of them eager fallbacks)",
            file=sys.stderr,
        )
        sections.append(compare.render_section(c))
    text = "\n".join(sections)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text, encoding="utf-8")
    else:
        print(text)
    return 0


def cmd_registry(args: argparse.Namespace) -> int:
    from extract_tools import registry

    reg = registry.dump_registry(args.python)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(reg.to_json(), indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"TF {reg.tf_version}: {len(reg.ops)} ops -> {rel(args.out)}", file=sys.stderr)
    return 0


def cmd_presence(args: argparse.Namespace) -> int:
    from extract_tools import presence

    table = presence.PresenceTable()
    if args.reference_dir and args.reference_dir.is_dir():
        presence.load_reference_dir(table, args.reference_dir)
    for spec in args.list:
        version, sep, path = spec.partition("=")
        if sep:
            presence.load_list(table, Path(path), version)
        else:
            presence.load_list(table, Path(spec))
    if args.all:
        ops = sorted(table.all_ops())
    else:
        doc = json.loads(args.ops_from.read_text(encoding="utf-8"))
        ops = sorted(doc["ops"])
    if args.csv:
        args.csv.write_text(presence.to_csv(table, ops), encoding="utf-8")
    if args.md:
        args.md.write_text(presence.to_markdown(table, ops), encoding="utf-8")
    if not args.csv and not args.md:
        print(presence.to_markdown(table, ops))
    print(f"{len(ops)} ops x {len(table.versions())} releases", file=sys.stderr)
    return 0


def cmd_kernels(args: argparse.Namespace) -> int:
    from extract_tools.kernels import extract_kernels

    idx = extract_kernels(
        args.tf_src, codeql_registrations=args.codeql_registrations, codeql_classes=args.codeql_classes
    )
    idx.write(args.out)
    print(
        f"{idx.extractor}: {len(idx.registrations)} registrations, {len(idx.ops())} ops, {len(idx.classes)} classes, "
        f"{len(idx.problems)} problems -> {rel(args.out)}",
        file=sys.stderr,
    )
    for p in idx.problems[: args.show_problems]:
        print(f"  {p}", file=sys.stderr)
    return 0


def cmd_classify(args: argparse.Namespace) -> int:
    """Classify ops (offline, or offline + LLM) and print/write the results."""
    from extract_tools import registry
    from extract_tools.capanalysis import offline
    from extract_tools.kernels import extract_kernels

    root = _locate(args)
    pe = persistext.extract(root)
    reg = (
        registry.Registry.from_json(json.loads(args.registry.read_text(encoding="utf-8")))
        if args.registry
        else registry.dump_registry(args.python)
    )
    kernels = (
        extract_kernels(args.tf_src, codeql_registrations=args.codeql_registrations, codeql_classes=args.codeql_classes)
        if args.tf_src
        else None
    )
    by_op: dict[str, list[persistext.Wrapper]] = {}
    for w in pe.wrappers:
        by_op.setdefault(w.op_name, []).append(w)
    ops = args.ops.split(",") if args.ops else sorted(set(reg.ops) | set(by_op))
    evidence = {op: regenerate.build_evidence(op, by_op.get(op, []), reg.ops.get(op), kernels) for op in ops}
    results = offline.resource_flow(evidence, {op: offline.classify(ev) for op, ev in evidence.items()})
    out: dict[str, object] = {op: {"offline": results[op].to_json()} for op in evidence}
    if args.classifier == "llm":
        from extract_tools.capanalysis.llm import AnswerCache, LLMClassifier, Progress
        from extract_tools.capanalysis.llm_client import ChatClient

        lo = _llm_options(args)
        assert lo is not None
        client = ChatClient.from_env(
            lo.base_url, lo.model, lo.api_key_env, response_format=lo.response_format, backoff=lo.backoff
        )
        clf = LLMClassifier(
            client,
            cache=AnswerCache(lo.cache_dir),
            votes=lo.votes,
            temperature=lo.temperature,
            max_format_retries=lo.max_format_retries,
            progress=Progress(len(ops), price_in=lo.price_in, price_out=lo.price_out),
        )
        for op, ev in evidence.items():
            entry = out[op]
            assert isinstance(entry, dict)
            entry["llm"] = clf.classify(ev).to_json()
    text = json.dumps(out, indent=1, sort_keys=True) + "\n"
    if args.out:
        args.out.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


def cmd_review(args: argparse.Namespace) -> int:
    from extract_tools import review

    decisions = review.load(args.decisions)
    if args.action == "show":
        queue = json.loads(args.queue.read_text(encoding="utf-8")) if args.queue.exists() else {"entries": []}
        for e in queue["entries"]:
            extra = (
                f" offline={e.get('offline')}"
                + (f" llm={e['llm']}" if "llm" in e else "")
                + (f" decision={e['decision']}" if "decision" in e else "")
            )
            print(f"{e['reason']:12} {e['op']}{extra} {e.get('detail', '')}".rstrip())
        print(
            f"{len(queue['entries'])} entries; {len(decisions.accepted())} accepted and "
            f"{len(decisions.rejected())} rejected decisions",
            file=sys.stderr,
        )
        return 0
    if args.action == "accept":
        d = review.Decision(
            op=args.op,
            status=review.ACCEPT,
            categories=args.categories.split(",") if args.categories else None,
            targets=[review.parse_arg_spec(s) for s in args.target] if args.target or args.no_targets else None,
            payloads=[review.parse_arg_spec(s) for s in args.payload] if args.payload or args.no_payloads else None,
            summary=args.summary or None,
            manual=args.manual,
            reason=args.reason,
            source="review",
        )
        decisions.items[args.op] = d
    elif args.action == "reject":
        decisions.items[args.op] = review.Decision(
            op=args.op, status=review.REJECT, reason=args.reason, source="review"
        )
    elif args.action == "forget":
        decisions.items.pop(args.op, None)
    decisions.save(args.decisions)
    print(
        f"{args.action} {args.op} -> {rel(args.decisions)}; run `python -m extract_tools regenerate` to apply",
        file=sys.stderr,
    )
    return 0


def cmd_inputs(args: argparse.Namespace) -> int:
    """Refresh the committed inputs derived from ../shared."""
    from extract_tools import inputs, registry

    ref = inputs.presence_from_dir(args.reference_dir)
    inputs.save_presence(ref, args.presence_out)
    print(f"{len(ref.ops)} ops in {len(ref.releases)} reference lists -> {rel(args.presence_out)}", file=sys.stderr)
    reg = (
        registry.Registry.from_json(json.loads(args.registry.read_text(encoding="utf-8")))
        if args.registry
        else registry.dump_registry(args.python)
    )
    known = set(reg.ops) | ref.all_ops()
    ops = inputs.threat_model_ops(args.threat_model.read_text(encoding="utf-8"), known)
    inputs.save_threat_model(ops, "shared/docs/threat-model.md", args.threat_model_out)
    print(f"{len(ops)} threat-model ops -> {rel(args.threat_model_out)}", file=sys.stderr)
    return 0


def cmd_addon(args: argparse.Namespace) -> int:
    from extract_tools import addons, review

    data = addons.extract(args.addon, args.tensorflow, python=args.python or sys.executable, pip_args=args.pip_arg)
    path = addons.save(data, args.data_dir)
    res = addons.build(data, review.load(review.ADDON_DECISIONS_DIR / f"{data.key}.json"))
    out = args.out / "addons" / data.file_name
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(addons.render(res.doc), encoding="utf-8")
    loaded = sum(1 for v in data.libraries.values() if "ops" in v)
    print(
        f"{data.name} {data.version} with TF {data.tensorflow}: {len(data.libraries)} shared libraries "
        f"({loaded} loaded), {len(data.ops)} ops, {len(res.doc['ops'])} with a capability -> {rel(path)}, {rel(out)}",
        file=sys.stderr,
    )
    for lib, info in sorted(data.libraries.items()):
        if "error" in info:
            print(f"  not an op library / failed to load: {lib}: {info['error']}", file=sys.stderr)
    return 0


def cmd_regenerate(args: argparse.Namespace) -> int:
    opts = regenerate.Options(
        tf_root=args.tf_root,
        python=args.python,
        registry_file=args.registry,
        out=args.out,
        classifier=args.classifier,
        tf_src=args.tf_src,
        codeql_registrations=args.codeql_registrations,
        codeql_classes=args.codeql_classes,
        decisions=args.decisions,
        queue=args.queue,
        data_dir=args.data_dir,
        check=args.check,
        from_scratch=args.from_scratch,
        strict=args.strict,
        no_cache=args.no_cache,
        llm=_llm_options(args),
    )
    return regenerate.run(opts)


def build_parser() -> argparse.ArgumentParser:
    from extract_tools import review

    ap = argparse.ArgumentParser(
        prog="python -m extract_tools", description="Regenerate tfmodel-lint's capability data from TensorFlow."
    )
    sub = ap.add_subparsers(dest="command", required=True)

    p = sub.add_parser("persistext", help="list the persistent op wrappers of a TF install (no import)")
    _add_tf_location(p)
    p.add_argument(
        "--csv", type=Path, help="reference-style list (default: extract_tools/data/persistext_<version>.csv)"
    )
    p.add_argument("--json", type=Path, help="richer JSON: kind, detection, exports, docstring, source")
    p.add_argument("--no-source", action="store_true", help="leave function source and docstrings out of the JSON")
    p.add_argument("--tf-version", help="override the detected version")
    p.set_defaults(func=cmd_persistext)

    p = sub.add_parser("compare", help="compare PersistExt runs with a reference list")
    p.add_argument("--reference", type=Path, required=True, help="e.g. ../shared/reference/persistext/v2.15.0")
    p.add_argument("run", nargs="+", help="LABEL=PATH: a site-packages dir / TF root, or a python interpreter")
    p.add_argument("--out", type=Path)
    p.set_defaults(func=cmd_compare)

    p = sub.add_parser("registry", help="dump the op registry (imports TF in a child process)")
    p.add_argument("--python", help="interpreter with TensorFlow (default: this one)")
    p.add_argument("--out", type=Path, required=True)
    p.set_defaults(func=cmd_registry)

    p = sub.add_parser("presence", help="table of ops across TF releases")
    p.add_argument("--reference-dir", type=Path, default=DEFAULT_REFERENCE_DIR)
    p.add_argument("--list", action="append", default=[], help="persistext_X.Y.Z.csv or VERSION=PATH (repeatable)")
    g = p.add_mutually_exclusive_group()
    g.add_argument(
        "--ops-from", type=Path, default=DEFAULT_OUT / "tf_ops.json", help="ops of this signatures file (default)"
    )
    g.add_argument("--all", action="store_true", help="every op in any list")
    p.add_argument("--csv", type=Path)
    p.add_argument("--md", type=Path)
    p.set_defaults(func=cmd_presence)

    p = sub.add_parser("kernels", help="op -> kernel class -> Compute source (CodeQL results or tree-sitter)")
    p.add_argument("--tf-src", type=Path, required=True, help="TensorFlow source tree")
    p.add_argument("--codeql-registrations", type=Path, help="REGISTER_KERNEL_BUILDER locations (CSV)")
    p.add_argument("--codeql-classes", type=Path, help="OpKernel classes with Compute locations (.csv or .xlsx)")
    p.add_argument("--out", type=Path, default=WORK_DIR / "kernels.json")
    p.add_argument("--show-problems", type=int, default=20)
    p.set_defaults(func=cmd_kernels)

    for name, func, helptext in (
        ("classify", cmd_classify, "classify ops (offline signals, optionally an LLM)"),
        ("regenerate", cmd_regenerate, "run the whole pipeline and write signatures/"),
    ):
        p = sub.add_parser(name, help=helptext)
        _add_tf_location(p)
        p.add_argument("--registry", type=Path, help="a saved registry dump instead of importing TF")
        p.add_argument("--classifier", choices=["offline", "llm"], default="offline")
        p.add_argument("--tf-src", type=Path, help="TensorFlow source tree for the kernel step")
        p.add_argument("--codeql-registrations", type=Path)
        p.add_argument("--codeql-classes", type=Path)
        _add_llm(p)
        p.set_defaults(func=func)
        if name == "classify":
            p.add_argument("--ops", help="comma-separated op names (default: all)")
            p.add_argument("--out", type=Path)
        else:
            p.add_argument("--out", type=Path, default=DEFAULT_OUT, help="signatures directory (default: signatures/)")
            p.add_argument(
                "--from-scratch",
                action="store_true",
                help="no review decisions: write OUT/tf_ops.json (and OUT/addons/) from evidence alone",
            )
            p.add_argument("--decisions", type=Path, default=review.DECISIONS_FILE)
            p.add_argument("--queue", type=Path, default=review.QUEUE_FILE)
            p.add_argument(
                "--data-dir",
                type=Path,
                default=regenerate.DATA_DIR,
                help="where the PersistExt list, presence table and trail go (default: extract_tools/data)",
            )
            p.add_argument(
                "--check",
                action="store_true",
                help="write nothing; exit 1 if tf_ops.json, tf_registry.json, addons/*.json or the report would change",
            )
            p.add_argument("--strict", action="store_true", help="exit 1 on stale decisions")
            p.add_argument(
                "--no-cache",
                action="store_true",
                help="re-parse every gen_*.py (parse results are cached by content hash)",
            )

    p = sub.add_parser("review", help="review decisions: show the queue, accept, reject")
    p.add_argument("--decisions", type=Path, default=review.DECISIONS_FILE)
    p.add_argument("--queue", type=Path, default=review.QUEUE_FILE)
    rs = p.add_subparsers(dest="action", required=True)
    rs.add_parser("show", help="print the review queue")
    a = rs.add_parser("accept", help="publish an op; the fields given override the evidence")
    a.add_argument("op")
    a.add_argument("--reason", required=True, help="why (printed in CHANGES.md and the report)")
    a.add_argument("--categories", default="", help="comma-separated, e.g. file_read,file_write")
    a.add_argument("--target", action="append", default=[], help="NAME:ROLE (repeatable)")
    a.add_argument("--no-targets", action="store_true", help="override the evidence's targets with none")
    a.add_argument("--payload", action="append", default=[], help="NAME:ROLE (repeatable)")
    a.add_argument("--no-payloads", action="store_true", help="override the evidence's payloads with none")
    a.add_argument("--summary", default="")
    a.add_argument("--manual", action="store_true", help="a judgement call (say which in the summary)")
    r = rs.add_parser("reject", help="never publish an op")
    r.add_argument("op")
    r.add_argument("--reason", required=True)
    f = rs.add_parser("forget", help="drop the decision for an op")
    f.add_argument("op")
    p.set_defaults(func=cmd_review)

    p = sub.add_parser("inputs", help="refresh the committed inputs derived from ../shared (presence, threat model)")
    p.add_argument("--reference-dir", type=Path, default=DEFAULT_REFERENCE_DIR)
    p.add_argument("--threat-model", type=Path, default=DEFAULT_THREAT_MODEL)
    p.add_argument("--python", help="interpreter with TensorFlow for the registry (default: this one)")
    p.add_argument("--registry", type=Path, help="a saved registry dump instead of importing TF")
    p.add_argument(
        "--presence-out", type=Path, default=REPO_ROOT / "extract_tools" / "data" / "reference_presence.json"
    )
    p.add_argument(
        "--threat-model-out", type=Path, default=REPO_ROOT / "extract_tools" / "data" / "threat_model_ops.json"
    )
    p.set_defaults(func=cmd_inputs)

    p = sub.add_parser("addon", help="extract an add-on op library in a throwaway venv (needs the network)")
    p.add_argument("addon", help="pip requirement, e.g. tensorflow-io==0.37.1")
    p.add_argument("--tensorflow", required=True, help="the TF it was built for, e.g. tensorflow-cpu==2.16.2")
    p.add_argument("--python", help="interpreter for the venv (default: this one)")
    p.add_argument("--pip-arg", action="append", default=[], help="extra pip install argument (repeatable)")
    p.add_argument("--data-dir", type=Path, default=REPO_ROOT / "extract_tools" / "data" / "addons")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help="signatures directory (default: signatures/)")
    p.set_defaults(func=cmd_addon)
    return ap


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        rc: int = args.func(args)
    except persistext.TensorFlowNotFound as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return rc
