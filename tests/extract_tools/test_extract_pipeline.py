"""Presence, review decisions, the signatures builder, regenerate and the CLI,
on fixtures (a fake TF install and a saved registry: no TensorFlow needed)."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from extract_tools import derive, inputs, presence, regenerate, review, signatures_build
from extract_tools.cli import main
from extract_tools.registry import Registry, parse_dump

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parent.parent
SCHEMA = REPO_ROOT / "signatures" / "tf_ops.schema.json"
TF_SRC = HERE / "fixtures" / "tf_src"

S = {"type": "DT_STRING"}


def _registry() -> Registry:
    """What ``registry.dump_registry`` returns, for a handful of ops."""
    dump = {
        "tf_version": "9.9.9",
        "ops": [
            {"name": "ReadFile", "input_arg": [{"name": "filename", **S}], "output_arg": [{"name": "contents", **S}]},
            {"name": "MatchingFiles", "input_arg": [{"name": "pattern", **S}]},
            {
                "name": "HiddenWrite",
                "input_arg": [{"name": "filename", **S}, {"name": "contents", **S}],
                "is_stateful": True,
            },
            {
                "name": "SaveSlices",
                "input_arg": [
                    {"name": "filename", **S},
                    {"name": "tensor_names", **S},
                    {"name": "data", "type_list_attr": "T"},
                ],
                "attr": [{"name": "T", "type": "list(type)"}],
            },
            {
                "name": "ListThenPath",
                "input_arg": [{"name": "xs", "type_attr": "T", "number_attr": "N"}, {"name": "filename", **S}],
            },
            {
                "name": "PrintV2",
                "input_arg": [{"name": "input", **S}],
                "attr": [{"name": "output_stream", "type": "string", "default_value": {"s": "c3RkZXJy"}}],
            },
            {"name": "A", "input_arg": []},
        ],
    }
    return parse_dump(dump)


def test_registry_parsing() -> None:
    reg = _registry()
    data = reg.ops["SaveSlices"].input("data")
    assert data is not None and data.is_list
    lt = reg.ops["ListThenPath"].input("filename")
    assert lt is not None and lt.after_list and lt.index == 1
    stream = reg.ops["PrintV2"].attr("output_stream")
    assert stream is not None and stream.default == "stderr"
    assert Registry.from_json(json.loads(json.dumps(reg.to_json()))).to_json() == reg.to_json()


@pytest.fixture
def refs(tmp_path: Path) -> Path:
    d = tmp_path / "refs"
    d.mkdir()
    (d / "v1.0.0").write_text(
        "read_file,  ReadFile,  tensorflow-v1.0.0/tensorflow/python/ops/gen_io_ops.py\n"
        "old_op,  OldContribOp,  tensorflow-v1.0.0/tensorflow/contrib/gen_old.py\n"
    )
    (d / "v1.1.0").write_text("old_op,  OldContribOp,  tensorflow-v1.1.0/tensorflow/contrib/gen_old.py\n")
    (d / "v2.0.0").write_text(
        "read_file,  ReadFile,  tensorflow-v2.0.0/tensorflow/python/ops/gen_io_ops.py\n"
        "matching_files,  MatchingFiles,  tensorflow-v2.0.0/tensorflow/python/ops/gen_io_ops.py\n"
    )
    (d / "README").write_text("not a list")
    return d


def test_presence(refs: Path, tmp_path: Path) -> None:
    t = presence.PresenceTable()
    presence.load_reference_dir(t, refs)
    ours = tmp_path / "persistext_9.9.9.csv"
    ours.write_text("read_file,  ReadFile,  tensorflow/python/ops/gen_io_ops.py\n")
    assert presence.load_list(t, ours) == "9.9.9"
    assert t.versions() == ["1.0.0", "1.1.0", "2.0.0", "9.9.9"]
    assert t.span("ReadFile") == {"first": "1.0.0", "last": "9.9.9", "missing": ["1.1.0"]}
    assert t.span("OldContribOp") == {"first": "1.0.0", "last": "1.1.0", "missing": []}
    assert t.span("Nope") is None
    csv_text = presence.to_csv(t, ["ReadFile", "MatchingFiles"])
    assert csv_text.splitlines()[0] == "op,first,last,missing,1.0.0,1.1.0,2.0.0,9.9.9"
    assert "ReadFile,1.0.0,9.9.9,1.1.0,1,,1,1" in csv_text
    md = presence.to_markdown(t, ["ReadFile"])
    assert "| ReadFile | 1.0.0 | 9.9.9 | 1.1.0 | `#.##` |" in md


def _decisions() -> review.Decisions:
    d = review.Decisions()
    d.items["ReadFile"] = review.Decision(
        "ReadFile", "accept", summary="Reads a file.", reason="wording", source="curated:x"
    )
    d.items["MatchingFiles"] = review.Decision(
        "MatchingFiles", "accept", ["dir_read"], [{"name": "pattern", "role": "pattern"}], [], "Globs.", reason="r"
    )
    d.items["SaveSlices"] = review.Decision(
        "SaveSlices",
        "accept",
        ["file_write"],
        [{"name": "filename", "role": "path"}],
        [{"name": "tensor_names", "role": "names"}, {"name": "data", "role": "data"}],
        "Saves.",
        reason="not flagged by the fixture evidence",
    )
    d.items["ListThenPath"] = review.Decision(
        "ListThenPath",
        "accept",
        ["file_write"],
        [{"name": "filename", "role": "path"}],
        [],
        "A target after a list input.",
        manual=True,
        reason="fixture",
    )
    d.items["OldContribOp"] = review.Decision(
        "OldContribOp",
        "accept",
        ["network_receive"],
        [{"kind": "input", "name": "host", "index": 0, "role": "address"}],
        [],
        "TF 1.x only.",
        manual=True,
        reason="not registered: transcribed by hand",
    )
    d.items["ShardedFilename"] = review.Decision("ShardedFilename", "reject", reason="pure string op")
    d.items["HiddenWrite"] = review.Decision("HiddenWrite", "reject", reason="fixture op, not real")
    return d


def _entries(d: review.Decisions) -> dict[str, derive.Entry]:
    """The accepted decisions as plain entries (no evidence)."""
    return derive.apply_decisions({}, d).entries


def test_build_entries(refs: Path) -> None:
    reg = _registry()
    t = presence.PresenceTable()
    presence.load_reference_dir(t, refs)
    ref_ops = t.all_ops()
    t.add("9.9.9", set(reg.ops), "registry")
    built = signatures_build.build(_entries(_decisions()), reg, t, ref_ops, {"ReadFile"})
    assert built.problems == []
    ops = built.doc["ops"]
    assert "ReadFile" not in ops  # a summary-only decision cannot publish an op the evidence does not flag
    d = _decisions()
    d.items["ReadFile"].categories, d.items["ReadFile"].targets = ["file_read"], [{"name": "filename", "role": "path"}]
    ops = signatures_build.build(_entries(d), reg, t, ref_ops, {"ReadFile"}).doc["ops"]
    assert ops["ReadFile"]["targets"] == [{"kind": "input", "name": "filename", "role": "path", "index": 0}]
    assert ops["ReadFile"]["provenance"] == ["threat-model", "registry:9.9.9", "persistext-reference"]
    assert ops["ListThenPath"]["targets"] == [{"kind": "input", "name": "filename", "role": "path", "after_list": True}]
    assert ops["ListThenPath"]["provenance"] == ["registry:9.9.9", "registry-only", "manual"]
    assert ops["SaveSlices"]["payloads"][1] == {"kind": "input", "name": "data", "role": "data", "index": 2}
    assert ops["OldContribOp"]["provenance"] == ["persistext-reference", "manual"]
    assert ops["OldContribOp"]["tf_versions"] == {"first": "1.0.0", "last": "1.1.0", "missing": []}
    assert ops["MatchingFiles"]["tf_versions"] == {"first": "2.0.0", "last": "9.9.9", "missing": []}
    assert "ShardedFilename" not in ops
    if SCHEMA.exists():
        pytest.importorskip("jsonschema")
        assert signatures_build.validate(built.doc, SCHEMA) == []


def test_stale_and_bad_decisions(refs: Path) -> None:
    reg = _registry()
    t = presence.PresenceTable()
    t.add("9.9.9", set(reg.ops), "registry")
    bad = review.Decisions()
    bad.items = {
        "ReadFile": review.Decision(
            "ReadFile", "accept", ["file_read", "teleport"], [{"name": "path_that_is_gone", "role": "path"}], [], "x"
        ),
        "Unknown": review.Decision("Unknown", "accept", ["file_read"], [], [], "x"),
        "MatchingFiles": review.Decision(
            "MatchingFiles", "accept", ["dir_read"], [{"name": "pattern", "role": "glob"}], [], "x"
        ),
    }
    kinds = {(p.op, p.kind) for p in signatures_build.build(_entries(bad), reg, t, set()).problems}
    assert kinds == {
        ("ReadFile", "bad-category"),
        ("ReadFile", "stale-argument"),
        ("ReadFile", "unregistered-without-kind"),
        ("Unknown", "no-presence"),
        ("MatchingFiles", "bad-role"),
    }


def test_diff_report() -> None:
    old: dict[str, Any] = {
        "schema_version": 1,
        "tf_version_checked": "1.0.0",
        "categories": [],
        "ops": {
            "A": {"categories": ["file_read"], "summary": "a"},
            "B": {"categories": ["file_write"], "summary": "b"},
        },
    }
    new: dict[str, Any] = {
        "schema_version": 1,
        "tf_version_checked": "1.0.0",
        "categories": [],
        "ops": {
            "A": {"categories": ["file_read", "dir_read"], "summary": "a"},
            "C": {"categories": [], "summary": "c"},
        },
    }
    dec = review.Decision("A", "accept", categories=["file_read", "dir_read"], reason="the kernel lists a directory")
    origins = {
        "A": derive.Origin({"categories": derive.DECISION, "summary": derive.EVIDENCE}, True, dec),
        "C": derive.Origin({"categories": derive.DECISION}, False, review.Decision("C", "accept", reason="kept")),
    }
    changed, text = signatures_build.diff_report(
        old, new, origins=origins, dropped={"B": "rejected by decision: not a capability"}
    )
    assert changed
    assert "## Added (1)" in text and "- `C`: (no category); c (from: decision; decision: kept)" in text
    assert "- `B` (was: file_write; why: rejected by decision: not a capability)" in text
    assert (
        '`categories`: ["file_read"] -> ["file_read", "dir_read"] (from: decision: the kernel lists a directory)'
        in text
    )
    assert "- evidence + decision (categories): 1: `A`" in text and "- decision: 1: `C`" in text
    # an op that simply stops being flagged is not said to be rejected
    _, text2 = signatures_build.diff_report(old, new)
    assert "- `B` (was: file_write; why: the evidence does not flag it and no decision publishes it)" in text2
    assert signatures_build.diff_report(new, new) == (False, signatures_build.diff_report(new, new)[1])
    assert "No changes (2 ops)." in signatures_build.diff_report(new, new)[1]


def test_decisions_round_trip_and_overrides(tmp_path: Path) -> None:
    path = tmp_path / "decisions.json"
    d = _decisions()
    d.save(path)
    again = review.load(path)
    assert again.to_json() == d.to_json()
    assert "categories" not in again.to_json()["decisions"]["ReadFile"]  # only what overrides the evidence
    assert again.items["ReadFile"].overrides() == ["summary"]
    evidence = {
        "ReadFile": derive.Entry(["file_read"], [{"name": "filename", "role": "path"}], [], "Reads the file."),
        "HiddenWrite": derive.Entry(["file_write"], [{"name": "filename", "role": "path"}], [], "Writes."),
        "Unreviewed": derive.Entry(["dir_read"], [], [], "Lists."),
    }
    r = derive.apply_decisions(evidence, again)
    assert r.entries["ReadFile"].categories == ["file_read"]  # from the evidence
    assert r.entries["ReadFile"].summary == "Reads a file."  # from the decision
    assert r.origins["ReadFile"].fields == {
        "categories": "evidence",
        "targets": "evidence",
        "payloads": "evidence",
        "summary": "decision",
    }
    assert r.origins["ReadFile"].label == "evidence + decision (summary)"
    assert r.origins["Unreviewed"].label == "evidence"
    assert r.origins["OldContribOp"].label == "decision"
    assert r.dropped == {"HiddenWrite": "rejected by decision: fixture op, not real"}
    assert "ShardedFilename" not in r.dropped  # rejected, but the evidence never flagged it
    with pytest.raises(ValueError):
        review.Decision.from_json("X", {"status": "maybe"})
    path.write_text(json.dumps({"format": 1, "decisions": {}}))
    with pytest.raises(ValueError, match="unsupported format 1"):
        review.load(path)
    assert review.parse_arg_spec("attr:debug_urls:url") == {"kind": "attr", "name": "debug_urls", "role": "url"}


@pytest.fixture
def workspace(tmp_path: Path, refs: Path, fake_tf_site: Path) -> regenerate.Options:
    reg_file = tmp_path / "registry.json"
    reg_file.write_text(json.dumps(_registry().to_json()))
    out = tmp_path / "signatures"
    out.mkdir()
    if SCHEMA.exists():
        shutil.copyfile(SCHEMA, out / "tf_ops.schema.json")
    _decisions().save(tmp_path / "decisions.json")
    presence_file = tmp_path / "reference_presence.json"
    inputs.save_presence(inputs.presence_from_dir(refs), presence_file)
    tm_file = tmp_path / "threat_model_ops.json"
    inputs.save_threat_model(["ReadFile", "MatchingFiles"], "fixture", tm_file)
    return regenerate.Options(
        tf_root=fake_tf_site,
        registry_file=reg_file,
        presence_file=presence_file,
        threat_model_file=tm_file,
        addon_data_dir=tmp_path / "addon-data",
        addon_decisions_dir=tmp_path / "addon-decisions",
        report_dir=tmp_path / "reports",
        out=out,
        decisions=tmp_path / "decisions.json",
        queue=tmp_path / "queue.json",
        data_dir=tmp_path / "data",
        work_dir=tmp_path / "work",
    )


def test_regenerate_is_reproducible(workspace: regenerate.Options, capsys: pytest.CaptureFixture[str]) -> None:
    o = workspace
    assert regenerate.run(o) == 0
    sig = o.out / "tf_ops.json"
    first = sig.read_bytes()
    changes = (o.out / "CHANGES.md").read_text()
    assert "New file: 9 ops." in changes
    assert "- evidence: 4: `LMDBReader`, `PrintV2`, `PyFunc`, `SleepOp`" in changes
    assert "- decision: 1: `OldContribOp`" in changes
    doc = json.loads(first)
    assert sorted(doc["ops"]) == [
        "LMDBReader",
        "ListThenPath",
        "MatchingFiles",
        "OldContribOp",
        "PrintV2",
        "PyFunc",
        "ReadFile",
        "SaveSlices",
        "SleepOp",
    ]  # HiddenWrite: flagged, rejected by decision
    assert doc["tf_version_checked"] == "9.9.9"
    # ReadFile: categories and target from the evidence, summary from the decision
    assert doc["ops"]["ReadFile"]["categories"] == ["file_read"]
    assert doc["ops"]["ReadFile"]["targets"] == [{"index": 0, "kind": "input", "name": "filename", "role": "path"}]
    assert doc["ops"]["ReadFile"]["summary"] == "Reads a file."
    assert doc["ops"]["ReadFile"]["provenance"] == ["threat-model", "registry:9.9.9", "persistext-reference"]
    # PrintV2 (registry only, no decision): evidence alone, payload included
    assert doc["ops"]["PrintV2"]["payloads"] == [{"index": 0, "kind": "input", "name": "input", "role": "data"}]
    assert doc["ops"]["PrintV2"]["provenance"] == ["registry:9.9.9", "registry-only"]
    registry_doc = json.loads((o.out / "tf_registry.json").read_text())
    assert registry_doc == {
        "library": {"name": "tensorflow", "version": "9.9.9"},
        "registry": sorted(_registry().ops),
        "schema_version": 1,
    }
    # PersistExt's list of the fake TF, presence and the trail were written
    assert (
        "read_file,  ReadFile,  tensorflow/python/ops/gen_io_ops.py"
        in (o.data_dir / "persistext_9.9.9.csv").read_text()
    )
    assert "| ReadFile |" in (o.data_dir / "presence.md").read_text()
    trail = json.loads((o.data_dir / "provenance_9.9.9.json").read_text())
    assert trail["ops"]["ReadFile"]["persistext"] == ["tensorflow/python/ops/gen_io_ops.py:read_file"]
    assert trail["ops"]["ReadFile"]["offline"]["capabilities"] == ["file_read"]
    assert trail["ops"]["ReadFile"]["review"] == {
        "overrides": ["summary"],
        "reason": "wording",
        "source": "curated:x",
        "status": "accept",
    }
    assert trail["ops"]["ReadFile"]["origin"]["entry"] == "evidence + decision (summary)"
    assert trail["dropped"] == {"HiddenWrite": "rejected by decision: fixture op, not real"}
    # published from evidence alone: queued for a look
    queue = json.loads(o.queue.read_text())["entries"]
    got = {e["op"]: (e["reason"], e["offline"]) for e in queue}
    assert got == {
        "LMDBReader": ("new", ["file_read"]),
        "PyFunc": ("new", ["code_execution"]),
        "SleepOp": ("new", ["process_sleep"]),
        "PrintV2": ("new", ["file_write"]),  # in the registry only: output_stream
    }
    report = (o.report_dir / "from_scratch_vs_reviewed_9.9.9.md").read_text()
    assert "| only from scratch (rejected by a decision) | 1 |" in report
    assert "`HiddenWrite` (rejected by decision: fixture op, not real)" in report
    # second run: byte for byte, CHANGES.md untouched, --check passes
    (o.out / "CHANGES.md").write_text("kept\n")
    capsys.readouterr()
    assert regenerate.run(o) == 0
    assert sig.read_bytes() == first and (o.out / "CHANGES.md").read_text() == "kept\n"
    assert "No changes" in capsys.readouterr().out
    o.check = True
    assert regenerate.run(o) == 0
    # --check also covers tf_registry.json and the report
    (o.out / "tf_registry.json").write_text("{}\n")
    assert regenerate.run(o) == 1
    assert "tf_registry.json is out of date" in capsys.readouterr().err
    o.check = False
    assert regenerate.run(o) == 0
    # a review decision changes the output; --check reports it with its reason and writes nothing
    d = review.load(o.decisions)
    d.items["ReadFile"].summary = "Reads the whole file."
    for op in got:
        d.items[op] = review.Decision(op, "accept", reason="checked against the fixture kernel")
    d.items["SleepOp"] = review.Decision("SleepOp", "reject", reason="fixture: not a real sleep")
    d.save(o.decisions)
    o.check = True
    assert regenerate.run(o) == 1
    out = capsys.readouterr().out
    assert '`summary`: "Reads a file." -> "Reads the whole file." (from: decision: wording)' in out
    assert "- `SleepOp` (was: process_sleep; why: rejected by decision: fixture: not a real sleep)" in out
    assert sig.read_bytes() == first
    o.check = False
    assert regenerate.run(o) == 0
    assert "Reads the whole file." in sig.read_text() and "## Changed (1)" in (o.out / "CHANGES.md").read_text()
    assert json.loads(o.queue.read_text())["entries"] == []


def test_from_scratch_ignores_decisions(workspace: regenerate.Options, tmp_path: Path) -> None:
    o = workspace
    o.from_scratch = True
    o.out = tmp_path / "scratch"
    o.out.mkdir()
    assert regenerate.run(o) == 0
    doc = json.loads((o.out / "tf_ops.json").read_text())
    # the rejected HiddenWrite is there, the decision-only OldContribOp is not
    assert sorted(doc["ops"]) == [
        "HiddenWrite",
        "LMDBReader",
        "ListThenPath",
        "MatchingFiles",
        "PrintV2",
        "PyFunc",
        "ReadFile",
        "SaveSlices",
        "SleepOp",
    ]
    assert doc["ops"]["ReadFile"]["summary"] == "Reads and outputs the entire contents of the input filename."
    assert doc["ops"]["HiddenWrite"]["payloads"] == [{"index": 1, "kind": "input", "name": "contents", "role": "data"}]
    assert not (o.out / "CHANGES.md").exists() and not o.queue.exists()
    if SCHEMA.exists():
        pytest.importorskip("jsonschema")
        assert signatures_build.validate(doc, SCHEMA) == []


def test_regenerate_with_kernels(workspace: regenerate.Options) -> None:
    pytest.importorskip("tree_sitter_cpp")
    o = workspace
    o.tf_src = TF_SRC
    assert regenerate.run(o) == 0
    trail = json.loads((o.data_dir / "provenance_9.9.9.json").read_text())
    assert trail["ops"]["ReadFile"]["kernel_classes"] == ["tensorflow/core/kernels/whole_file_read_ops.cc::ReadFileOp"]
    assert "kernel: ReadFileToString" in trail["ops"]["ReadFile"]["offline"]["signals"]
    assert trail["ops"]["ReadFile"]["offline"]["confidence"] == "high"


def test_cli_review_and_tools(
    tmp_path: Path, fake_tf_site: Path, refs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dec = tmp_path / "d.json"
    assert (
        main(
            [
                "review",
                "--decisions",
                str(dec),
                "accept",
                "Foo",
                "--categories",
                "file_read",
                "--target",
                "filename:path",
                "--payload",
                "attr:data:data",
                "--summary",
                "Reads.",
                "--manual",
                "--reason",
                "checked",
            ]
        )
        == 0
    )
    assert main(["review", "--decisions", str(dec), "reject", "Bar", "--reason", "pure"]) == 0
    loaded = review.load(dec)
    assert loaded.items["Foo"].targets == [{"name": "filename", "role": "path"}] and loaded.items["Foo"].manual
    assert loaded.items["Foo"].reason == "checked"
    # an accept with only a reason confirms the evidence; --no-payloads overrides it with none
    assert main(["review", "--decisions", str(dec), "accept", "Baz", "--reason", "ok", "--no-payloads"]) == 0
    assert review.load(dec).items["Baz"].overrides() == ["payloads"]
    assert loaded.items["Bar"].status == "reject"
    assert main(["review", "--decisions", str(dec), "forget", "Bar"]) == 0
    assert "Bar" not in review.load(dec).items
    q = tmp_path / "q.json"
    q.write_text(json.dumps({"entries": [{"op": "X", "reason": "new", "offline": ["file_read"]}]}))
    assert main(["review", "--decisions", str(dec), "--queue", str(q), "show"]) == 0
    assert "new          X offline=['file_read']" in capsys.readouterr().out

    csv_out, json_out = tmp_path / "p.csv", tmp_path / "p.json"
    assert main(["persistext", "--tf-root", str(fake_tf_site), "--csv", str(csv_out), "--json", str(json_out)]) == 0
    assert json.loads(json_out.read_text())["counts"] == {"wrappers": 9, "eager_fallbacks": 4, "ops": 9}
    md = tmp_path / "cmp.md"
    assert main(["compare", "--reference", str(refs / "v2.0.0"), f"fixture={fake_tf_site}", "--out", str(md)]) == 0
    assert "### fixture" in md.read_text()
    assert (
        main(
            [
                "presence",
                "--reference-dir",
                str(refs),
                "--list",
                f"9.9.9={csv_out}",
                "--all",
                "--md",
                str(tmp_path / "p.md"),
            ]
        )
        == 0
    )
    assert "| OldContribOp | 1.0.0 | 1.1.0 |" in (tmp_path / "p.md").read_text()
    kout = tmp_path / "k.json"
    assert (
        main(
            [
                "kernels",
                "--tf-src",
                str(TF_SRC),
                "--codeql-registrations",
                str(HERE / "fixtures/codeql/register_kernel_builder.csv"),
                "--codeql-classes",
                str(HERE / "fixtures/codeql/opkernel_compute_classes.csv"),
                "--out",
                str(kout),
            ]
        )
        == 0
    )
    assert "ReadFile" in json.loads(kout.read_text())["ops"]
    assert main(["persistext", "--tf-root", str(tmp_path)]) == 2  # no TF there


def _committed_is_checkable() -> str | None:
    if importlib.util.find_spec("tensorflow") is None:
        return "TensorFlow is not installed"
    if not (REPO_ROOT / "signatures" / "tf_ops.json").exists():
        return "no committed signatures"
    from importlib.metadata import PackageNotFoundError, version

    try:
        installed = version("tensorflow-cpu")
    except PackageNotFoundError:
        installed = version("tensorflow")
    checked = json.loads((REPO_ROOT / "signatures" / "tf_ops.json").read_text())["tf_version_checked"]
    if installed != checked:
        return f"installed TF {installed} is not the pinned {checked}"
    return None


@pytest.mark.tf
@pytest.mark.parametrize("where", ["checkout", "copy-without-shared"])
def test_regenerate_reproduces_committed_signatures(where: str, tmp_path: Path) -> None:
    """``python -m extract_tools regenerate --check`` on the pinned TF: byte for byte, for
    tf_ops.json, tf_registry.json, addons/*.json and the report; also from a copy of the
    repository that has no ../shared beside it (every input it needs is committed)."""
    reason = _committed_is_checkable()
    if reason:
        pytest.skip(reason)
    root = REPO_ROOT
    if where == "copy-without-shared":
        root = tmp_path / "repo"
        ignore = shutil.ignore_patterns("__pycache__", "build")
        for d in ("extract_tools", "signatures"):
            shutil.copytree(REPO_ROOT / d, root / d, ignore=ignore)
        assert not (root.parent / "shared").exists()
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    proc = subprocess.run(
        [sys.executable, "-m", "extract_tools", "regenerate", "--check", "--no-cache"],
        cwd=root,
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "signatures/tf_ops.json is up to date" in proc.stderr
    assert "signatures/addons/tensorflow_io.json" in proc.stderr and "signatures/tf_registry.json" in proc.stderr
