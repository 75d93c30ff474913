"""Every format besides TF2 SavedModels, from real fixtures made by each format's own
toolchain (``tests/fixtures/build_format_fixtures.py``), reported with the same rules:
TFLite (Select-TF "Flex" ops decoded from their FlexBuffer), TF.js graph and layers
models, TF1 ``.meta``/``saved_model.pbtxt``/text GraphDef/TF Hub v1, and archives."""

from __future__ import annotations

import gzip
import io
import json
import shutil
import zipfile
from pathlib import Path

import pytest

from tests.conftest import ROOT, build_cached, load_manifest
from tests.helpers import describe, lint
from tfmodel_lint.findings import Severity
from tfmodel_lint.formats import name_mismatch, sniff
from tfmodel_lint.limits import Limits

CONVERTER = ROOT / "tests" / "fixtures" / "tfjs_converter"


@pytest.fixture(scope="module")
def fmt() -> Path:
    return build_cached("build_format_fixtures.py")


def _entries() -> list[str]:
    # The names are fixed by the builder; listing them here keeps collection TF-free.
    return ["tflite_benign", "tflite_flex_reader", "tflite_flex_while", "tflite_custom_op", "tflite_flex_lying",
            "tfjs_graph_reader", "tfjs_graph_cond", "tfjs_graph_benign", "tfjs_layers_lambda", "tf1_meta",
            "tf1_frozen_text", "tf1_frozen_binary", "tf1_savedmodel_pbtxt", "tf1_hub_module",
            "tf2_savedmodel_pbtxt", "zip_members", "zip_nested", "tgz_savedmodel", "tgz_tflite", "tar_tfjs",
            "gzip_pb"]


def test_manifest_lists_every_fixture(fmt: Path) -> None:
    assert sorted(load_manifest(fmt)) == sorted(_entries())


@pytest.mark.parametrize("name", _entries())
def test_fixture_is_reported(fmt: Path, name: str) -> None:
    entry = load_manifest(fmt)[name]
    result = lint(fmt / str(entry["path"]))
    assert [a.status.value for a in result.artifacts] == ["ok"], result.artifacts
    assert result.artifacts[0].format == entry["format"]
    codes = {f.code for f in result.findings}
    for expected in entry["codes"]:  # type: ignore[attr-defined]
        assert any(c.startswith(expected) for c in codes), f"{name}: no {expected}\n{describe(result.findings)}"
    if not entry["malicious"]:
        assert not [f for f in result.findings if f.severity >= Severity.MEDIUM], describe(result.findings)
    targets = {t for f in result.findings for t in f.evidence_dict.get("targets", [])}  # type: ignore[union-attr]
    for target in entry["targets"]:  # type: ignore[attr-defined]
        assert target in targets, f"{name}: target {target!r} not resolved; got {sorted(targets)}"
    assert not result.internal_errors


# -- TFLite ----------------------------------------------------------------------------


def test_flex_ops_become_nodedefs_with_resolved_arguments(fmt: Path) -> None:
    from tfmodel_lint.loaders.dispatch import load_path

    loaded = load_path(fmt / "tflite" / "flex_reader.tflite", "m.tflite", Limits())
    model = loaded.models[0]
    assert model.graph is not None
    ops = {nd.op for nd in model.graph.node_defs}
    assert {"ReadFile", "WriteFile", "PrintV2", "StringJoin", "Const", "Placeholder"} <= ops
    printer = next(nd for nd in model.graph.node_defs if nd.op == "PrintV2")
    assert printer.attr["output_stream"].s == b"file:///tmp/tfmodel_lint_fixture.txt"
    assert [s.key for s in model.signatures] == ["serving_default"]
    assert not loaded.problems


def test_flex_op_in_a_while_body_is_reached(fmt: Path) -> None:
    result = lint(fmt / "tflite" / "flex_while.tflite")
    reads = [f for f in result.findings if f.code == "TFL201"]
    assert reads and reads[0].location.function != "<graph>"
    assert reads[0].location.reached_from == ("signature:serving_default",), reads[0].location


def test_lying_flex_op_runs_its_nodedef(fmt: Path) -> None:
    result = lint(fmt / "tflite" / "flex_lying.tflite")
    mism = [f for f in result.findings if f.code == "TFL902"]
    assert mism and "FlexIdentity" in mism[0].message and "ReadFile" in mism[0].message


@pytest.mark.parametrize(("limit", "setting"), [("max_functions", 1), ("max_nodes", 5)])
def test_tflite_subgraph_and_node_limits(fmt: Path, limit: str, setting: int) -> None:
    """A TFLite file with more subgraphs (a while loop has three) or more tensors and
    operators than allowed is TFL903 naming the limit; the next model is still linted."""
    other = fmt / "tflite" / "flex_reader.tflite"
    result = lint(fmt / "tflite" / "flex_while.tflite", other,
                  limits=Limits(**{limit: setting}))  # type: ignore[arg-type]
    over = [f for f in result.findings if f.code == "TFL903" and f.artifact.endswith("flex_while.tflite")]
    assert len(over) == 1 and f"{limit.replace('_', '-')}={setting}" in over[0].message, over
    if limit == "max_functions":  # the single-subgraph model is within it, and linted
        assert any(f.code == "TFL201" and f.artifact.endswith("flex_reader.tflite") for f in result.findings)


# -- TF.js -----------------------------------------------------------------------------


def test_generator_writes_the_converter_layout(fmt: Path) -> None:
    real = json.loads((CONVERTER / "graph_reader" / "model.json").read_text())
    ours = json.loads((fmt / "tfjs" / "graph_reader" / "model.json").read_text())
    assert set(real) == set(ours)
    assert real["format"] == ours["format"] == "graph-model"
    assert set(real["modelTopology"]) <= set(ours["modelTopology"]) | {"library"}
    for doc in (real, ours):
        consts = [n for n in doc["modelTopology"]["node"] if n["op"] == "Const"]
        assert consts and all(set(n["attr"]["value"]["tensor"]) <= {"dtype", "tensorShape"} for n in consts)
        weights = doc["weightsManifest"][0]["weights"]
        assert {w["name"] for w in weights} == {n["name"] for n in consts}
        assert {"string"} <= {w["dtype"] for w in weights}
        assert set(doc["signature"]) == {"inputs", "outputs"}


def test_real_converter_graph_model(tmp_path: Path) -> None:
    result = lint(CONVERTER / "graph_reader" / "model.json")
    reads = {t for f in result.findings if f.code == "TFL201" for t in f.evidence_dict.get("targets", [])}  # type: ignore[union-attr]
    assert {"/etc/passwd", "/home/<?>/.ssh/id_rsa"} <= reads, describe(result.findings)
    # Without its weight shard the constants are unknown, never the empty string.
    copy = tmp_path / "model.json"
    shutil.copy(CONVERTER / "graph_reader" / "model.json", copy)
    result = lint(copy)
    assert {f.code for f in result.findings} >= {"TFL902", "TFL501"}, describe(result.findings)
    assert not any("''" in f.message for f in result.findings)


def test_real_converter_layers_model() -> None:
    result = lint(CONVERTER / "layers_lambda" / "model.json")
    assert result.artifacts[0].format == "tfjs_layers"
    lambdas = [f for f in result.findings if f.code.startswith("TFL1")]
    assert lambdas and any("double" in (f.location.layer or "") for f in lambdas), describe(result.findings)


def test_tfjs_weights_are_read_from_an_archive(fmt: Path) -> None:
    result = lint(fmt / "archives" / "models.zip")
    targets = {t for f in result.findings for t in f.evidence_dict.get("targets", [])}  # type: ignore[union-attr]
    assert "/etc/shadow" in targets  # from web/cond/group1-shard1of1.bin inside the zip


def test_tfjs_initializer_runs_at_load(tmp_path: Path) -> None:
    doc = {
        "format": "graph-model",
        "modelTopology": {"node": [{"name": "x", "op": "Placeholder"}, {"name": "y", "op": "Identity",
                                                                        "input": ["x"]}]},
        "modelInitializer": {"node": [
            {"name": "fname", "op": "Const", "attr": {"value": {"tensor": {
                "dtype": "DT_STRING", "tensorShape": {}, "stringVal": ["L2V0Yy9zaGFkb3c="]}}}},
            {"name": "table", "op": "HashTableV2"},
            {"name": "init", "op": "InitializeTableFromTextFileV2", "input": ["table", "fname"],
             "attr": {"key_index": {"i": "-2"}, "value_index": {"i": "-1"}}},
        ]},
        "signature": {"outputs": {"y": {"name": "y:0"}}},
    }
    path = tmp_path / "model.json"
    path.write_text(json.dumps(doc))
    result = lint(path)
    hits = [f for f in result.findings if f.code == "TFL201"]
    assert hits and "init:modelInitializer" in hits[0].location.reached_from, describe(result.findings)
    assert "/etc/shadow" in hits[0].message


# -- TF1 formats -----------------------------------------------------------------------


def test_standalone_meta_graph_is_reachable(fmt: Path) -> None:
    result = lint(fmt / "tf1" / "reader.meta")
    assert result.findings and not any("reachable from no" in f.message for f in result.findings)


def test_hub_module_meta_graphs(fmt: Path) -> None:
    from tfmodel_lint.loaders.dispatch import load_path

    loaded = load_path(fmt / "tf1" / "hub_v1", "hub", Limits(), savedmodel=True)
    assert len(loaded.models) == 2
    assert {m.graph.name for m in loaded.models if m.graph is not None} == {"<graph:>", "<graph:train>"}


def test_tfhub_module_file_maps_to_its_savedmodel(fmt: Path) -> None:
    result = lint(fmt / "tf1" / "hub_v1" / "tfhub_module.pb")
    assert [a.path.rsplit("/", 1)[-1] for a in result.artifacts] == ["hub_v1"]


# -- archives and names ----------------------------------------------------------------


def test_archive_member_models_carry_their_member(fmt: Path) -> None:
    from tfmodel_lint.loaders.dispatch import load_path

    loaded = load_path(fmt / "archives" / "models.zip", "models.zip", Limits())
    members = sorted(m.archive_member or "" for m in loaded.models)
    assert members == ["graphs/frozen_reader.pbtxt", "models/reader.tflite", "web/cond/model.json"]
    assert all(m.path == f"models.zip!{m.archive_member}" for m in loaded.models)


def test_nothing_is_extracted(fmt: Path, tmp_path: Path) -> None:
    for name in ("models.zip", "savedmodel.tar.gz", "tflite.tgz", "tfjs.tar", "nested.zip"):
        shutil.copy(fmt / "archives" / name, tmp_path / name)
    before = sorted(p.name for p in tmp_path.rglob("*"))
    result = lint(tmp_path)
    assert len(result.artifacts) == 5 and all(a.status.value == "ok" for a in result.artifacts)
    assert sorted(p.name for p in tmp_path.rglob("*")) == before


def test_name_content_mismatch_is_reported(fmt: Path, tmp_path: Path) -> None:
    renamed = tmp_path / "model.h5"
    shutil.copy(fmt / "tflite" / "flex_reader.tflite", renamed)
    result = lint(renamed)
    codes = {f.code for f in result.findings}
    assert {"TFL907", "TFL201"} <= codes, describe(result.findings)
    assert result.artifacts[0].format == "tflite"


@pytest.mark.parametrize(("head", "name", "kind"), [
    (b"\x89HDF\r\n\x1a\n" + b"\x00" * 8, "m.h5", "hdf5"),
    (b"PK\x03\x04" + b"\x00" * 8, "m.keras", "zip"),
    (b"\x1f\x8b\x08\x00", "m.tgz", "gzip"),
    (b"\x18\x00\x00\x00TFL3" + b"\x00" * 8, "x.bin", "tflite"),
    (b"\x18\x00\x00\x00\x00\x00\x00\x00" + b"\x00" * 8, "x.tflite", "tflite"),  # no identifier: name decides
    (b"\xef\xbb\xbf  {\"modelTopology\": {}}", "model.json", "json"),
    (b"node {\n  name: 'a'\n}\n", "g.pbtxt", "protobuf_text"),
    (b"\x0a\x05\x0a\x01a", "g.pb", "protobuf"),
    (b"BZh91AY&SY", "m.pb.bz2", "bzip2"),
    (b"", "e.pb", "empty"),
])
def test_sniff(head: bytes, name: str, kind: str) -> None:
    assert sniff(head, name) == kind


@pytest.mark.parametrize(("kind", "name", "mismatch"), [
    ("zip", "model.h5", True), ("hdf5", "model.keras", True), ("tflite", "model.pb", True),
    ("protobuf", "model.pbtxt", False),  # binary content has no signature: not definite
    ("protobuf_text", "model.pb", False), ("tar", "model.tgz", False), ("gzip", "m.tar.gz", False),
    ("json", "model.json", False), ("zip", "archive", False), ("protobuf_text", "model.tflite", True),
])
def test_name_mismatch(kind: str, name: str, mismatch: bool) -> None:
    assert (name_mismatch(kind, name) is not None) == mismatch


def test_gzip_of_a_model_file(fmt: Path, tmp_path: Path) -> None:
    data = (fmt / "tflite" / "flex_reader.tflite").read_bytes()
    path = tmp_path / "reader.tflite.gz"
    path.write_bytes(gzip.compress(data, mtime=0))
    result = lint(tmp_path)  # discovered by its name in a directory walk
    assert result.artifacts[0].format == "tflite.gz"
    assert "TFL201" in {f.code for f in result.findings}


def test_zip_of_keras_and_tflite_side_by_side(fmt: Path, tmp_path: Path) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("a/model.tflite", (fmt / "tflite" / "flex_while.tflite").read_bytes())
        zf.writestr("b/model.tflite", (fmt / "tflite" / "flex_reader.tflite").read_bytes())
    path = tmp_path / "two.zip"
    path.write_bytes(buf.getvalue())
    result = lint(path)
    targets = {t for f in result.findings for t in f.evidence_dict.get("targets", [])}  # type: ignore[union-attr]
    assert {"/etc/passwd", "/etc/shadow"} <= targets


def test_findings_in_archives_name_their_member(tmp_path: Path, tf_fixtures: Path) -> None:
    import zipfile

    from tfmodel_lint import lint_paths

    graph = (tf_fixtures / "graphdefs" / "model.pb").read_bytes()
    archive = tmp_path / "two.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("a/model.pb", graph)
        zf.writestr("b/model.pb", graph)
    reads = [f for f in lint_paths([str(archive)]).findings if f.code == "TFL201"]
    assert sorted(f.location.member or "" for f in reads) == ["a/model.pb", "b/model.pb"]
    assert len({f.fingerprint for f in reads}) == 2
