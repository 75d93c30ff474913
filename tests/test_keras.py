"""Keras artifacts end to end: ``.h5``, ``.keras`` and legacy SavedModels built with real
Keras (``tests/fixtures/build_keras_fixtures.py``), malformed variants of them, the
canary (linting never runs a payload nor imports Keras/TensorFlow) and the shared
``demo_lambda_savedmodel`` sample."""

from __future__ import annotations

import base64
import json
import marshal
import os
import shutil
import subprocess
import sys
import textwrap
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest

from tests.conftest import build_cached, load_manifest
from tests.helpers import describe, lint
from tfmodel_lint.cli import main
from tfmodel_lint.findings import Finding, RunResult, Severity
from tfmodel_lint.limits import Limits

ROOT = Path(__file__).resolve().parent.parent
ARTIFACT_CODES = ("TFL901", "TFL902", "TFL903", "TFL904", "TFL905", "TFL999")


@pytest.fixture(scope="session")
def keras_dir() -> Path:
    return build_cached("build_keras_fixtures.py")


@pytest.fixture(scope="session")
def manifest(keras_dir: Path) -> dict[str, dict[str, Any]]:
    return load_manifest(keras_dir)


@pytest.fixture(scope="session")
def results(keras_dir: Path, manifest: dict[str, dict[str, Any]]) -> dict[str, list[Finding]]:
    """Every fixture linted in one run, findings grouped by manifest name."""
    by_path = {(keras_dir / entry["path"]).resolve(): name for name, entry in manifest.items()}
    result = lint(*(keras_dir / entry["path"] for entry in manifest.values()))
    assert [a.status.value for a in result.artifacts] == ["ok"] * len(manifest), result.artifacts
    grouped: dict[str, list[Finding]] = {name: [] for name in manifest}
    for f in result.findings:
        grouped[by_path[Path(f.artifact).resolve()]].append(f)
    return grouped


def _marker(keras_dir: Path) -> Path:
    data = json.loads((keras_dir / "manifest.json").read_text(encoding="utf-8"))
    return (keras_dir / data["marker"]).resolve()


# -- the fixtures as the manifest describes them -----------------------------------------------


def test_every_fixture_is_reported_as_the_manifest_says(
    manifest: dict[str, dict[str, Any]], results: dict[str, list[Finding]]
) -> None:
    problems: list[str] = []
    for name, entry in sorted(manifest.items()):
        findings = results[name]
        if entry["benign"]:
            loud = [f for f in findings if f.severity >= Severity.LOW]
            if loud:
                problems.append(f"{name}: benign but reported:\n{describe(loud)}")
            continue
        floor = Severity.parse(entry["min_severity"])
        for code in entry["codes"]:
            for layer in entry["layer_paths"]:
                hits = [f for f in findings if f.code == code and f.location.layer == layer and f.severity >= floor]
                if not hits:
                    problems.append(f"{name}: no {code} >= {floor} at layer {layer}:\n{describe(findings)}")
        artifact = [f for f in findings if f.code in ARTIFACT_CODES]
        if artifact:
            problems.append(f"{name}: unexpected artifact findings:\n{describe(artifact)}")
    assert not problems, "\n".join(problems)


def test_severities_are_exact(results: dict[str, list[Finding]]) -> None:
    def only(name: str, code: str) -> Finding:
        (f,) = [f for f in results[name] if f.code == code]
        return f

    for prefix in ("k2_", "k3_"):
        suffix = "_h5" if prefix == "k2_" else ""
        assert only(f"{prefix}lambda_benign{suffix}", "TFL110").severity == Severity.MEDIUM
        assert only(f"{prefix}lambda_os_system{suffix}", "TFL110").severity == Severity.CRITICAL
        assert only(f"{prefix}gadget_os_system{suffix}", "TFL120").severity == Severity.CRITICAL
        custom = only(f"{prefix}custom_layer{suffix}", "TFL121")
        assert custom.severity == Severity.LOW
        assert max(f.severity for f in results[f"{prefix}custom_layer{suffix}"]) == Severity.LOW
    assert only("k2_lambda_benign_savedmodel", "TFL110").severity == Severity.MEDIUM
    assert only("k3_gadget_builtins_exec", "TFL120").severity == Severity.CRITICAL


def test_lambda_evidence_names_what_the_code_does(results: dict[str, list[Finding]]) -> None:
    for name in ("k2_lambda_os_system_h5", "k2_lambda_os_system_savedmodel", "k3_lambda_os_system"):
        (f,) = [f for f in results[name] if f.code == "TFL110"]
        ev = f.evidence_dict
        assert ev["encoding"] == "base64"
        assert {"system", "__import__"} <= set(ev["names"])  # type: ignore[arg-type]
        assert any("touch" in s and "CANARY_MARKER" in s for s in ev["strings"])  # type: ignore[union-attr]
        refs = ev["references"]
        assert isinstance(refs, dict)  # nested evidence mappings come out as objects
        groups = set(refs)
        assert {"process", "dynamic_code", "command_string"} <= groups
        major, minor = sys.version_info[:2]
        expected = {(3, 11): "3.11-3.12", (3, 12): "3.11-3.12", (3, 13): "3.13"}.get((major, minor))
        if expected:
            assert ev["python"] == expected
        assert "os" in f.message and "system" in f.message


def test_raw_unicode_escape_payload_is_decoded(results: dict[str, list[Finding]]) -> None:
    for name in ("k2_lambda_raw_unicode_escape_h5", "k3_lambda_raw_unicode_escape"):
        (f,) = [f for f in results[name] if f.code == "TFL110"]
        assert f.evidence_dict["encoding"] == "raw_unicode_escape"
        assert f.severity == Severity.CRITICAL
        assert "raw_unicode_escape" in f.message


def test_json_report_carries_the_layer_path(keras_dir: Path, manifest: dict[str, dict[str, Any]],
                                            tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    path = keras_dir / manifest["k3_lambda_nested"]["path"]
    assert main([str(path), "--format", "json", "-o", str(out)]) == 1
    report = json.loads(out.read_text(encoding="utf-8"))
    layers = {(f["code"], f["location"]["layer"], f["severity"]) for f in report["findings"]}
    assert ("TFL110", "outer/inner_model/lambda_nested", "critical") in layers


def test_rules_are_documented() -> None:
    from tfmodel_lint.rules import code_execution

    codes = {r.code for r in code_execution.RULES}
    assert {"TFL110", "TFL111", "TFL120", "TFL121"} <= codes
    for rule in code_execution.RULES:
        assert rule.category == "code_execution"
        assert len(rule.doc()) > 100


# -- the canary: nothing is run, nothing of Keras/TF is imported -------------------------------

_CANARY = textwrap.dedent("""
    import json, sys
    from tfmodel_lint.cli import main
    code = main(sys.argv[2:] + ["--format", "json", "-o", sys.argv[1], "--exit-zero"])
    heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("keras", "tf_keras", "tensorflow", "h5py"))
    print(json.dumps({"code": code, "modules": heavy}))
""")


def _lint_in_subprocess(paths: list[Path], out: Path) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TFMODEL_LINT_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT / "src"), env.get("PYTHONPATH", "")]))
    proc = subprocess.run([sys.executable, "-c", _CANARY, str(out), *map(str, paths)], capture_output=True,
                          text=True, timeout=120, check=False, cwd=str(out.parent), env=env)
    assert proc.returncode == 0, proc.stderr[-4000:]
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def test_canary_payloads_never_run_and_keras_is_never_imported(
    keras_dir: Path, manifest: dict[str, dict[str, Any]], tmp_path: Path
) -> None:
    marker = _marker(keras_dir)
    assert marker.parent.is_dir(), "a payload that ran could not create the marker: the canary would be blind"
    assert not marker.exists(), "the marker exists before linting (a previous run executed a payload?)"
    paths = [keras_dir / e["path"] for e in manifest.values() if e.get("canary")]
    assert len(paths) >= 10
    outcome = _lint_in_subprocess(paths, tmp_path / "canary.json")
    assert not marker.exists(), "linting ran a payload: the canary marker was created"
    heavy = [m for m in outcome["modules"] if m.split(".")[0] in ("keras", "tf_keras", "tensorflow")]
    assert heavy == []
    report = json.loads((tmp_path / "canary.json").read_text(encoding="utf-8"))
    critical = {f["artifact"] for f in report["findings"] if f["severity"] == "critical"}
    assert len(critical) == len(paths)
    # The payloads point at the marker checked above.
    lambdas = [f for f in report["findings"] if f["code"] == "TFL110"]
    assert lambdas and all(any(str(marker) in s for s in f["evidence"]["strings"]) for f in lambdas)


def test_h5py_is_imported_only_for_hdf5(keras_dir: Path, manifest: dict[str, dict[str, Any]],
                                        tmp_path: Path) -> None:
    paths = [keras_dir / manifest[n]["path"] for n in ("k3_lambda_os_system", "k2_lambda_os_system_savedmodel")]
    outcome = _lint_in_subprocess(paths, tmp_path / "out.json")
    assert outcome["modules"] == []


# -- legacy SavedModel variants and the shared sample ------------------------------------------


def test_object_graph_metadata_is_read_without_keras_metadata_pb(
    keras_dir: Path, manifest: dict[str, dict[str, Any]], tmp_path: Path
) -> None:
    """Older TensorFlow kept the Keras metadata in the object graph's user objects."""
    from tfmodel_lint.proto import tfmodel_lint_pb2 as pb

    src = keras_dir / manifest["k2_lambda_nested_savedmodel"]["path"]
    dst = tmp_path / "legacy"
    shutil.copytree(src, dst)
    meta = pb.KerasSavedMetadata()
    meta.ParseFromString((dst / "keras_metadata.pb").read_bytes())
    sm = pb.SavedModel()
    sm.ParseFromString((dst / "saved_model.pb").read_bytes())
    nodes = sm.meta_graphs[0].object_graph_def.nodes
    moved = 0
    for node in meta.nodes:
        if 0 <= node.node_id < len(nodes) and nodes[node.node_id].WhichOneof("kind") == "user_object":
            nodes[node.node_id].user_object.metadata = node.metadata
            moved += 1
    assert moved >= 3
    (dst / "saved_model.pb").write_bytes(sm.SerializeToString())
    (dst / "keras_metadata.pb").unlink()
    result = lint(dst)
    hits = [f for f in result.findings if f.code == "TFL110"]
    assert [(f.location.layer, f.severity) for f in hits] == [("outer/inner_model/lambda_nested", Severity.CRITICAL)]


def test_demo_lambda_savedmodel_sample(samples_dir: Path) -> None:
    expected = json.loads((samples_dir / "expected.json").read_text(encoding="utf-8"))["demo_lambda_savedmodel"]
    result = lint(samples_dir / "demo_lambda_savedmodel")
    assert [a.status.value for a in result.artifacts] == ["ok"]
    floor = Severity.parse(expected["min_severity"])
    for category in expected["categories"]:
        assert any(f.category == category and f.severity >= floor for f in result.findings), describe(result.findings)
    (f,) = [f for f in result.findings if f.code == "TFL111"]
    assert f.location.layer == "sequential_1/lambda"
    assert f.evidence_dict["module"] == "__main__" and f.evidence_dict["function"] == "exploit"
    assert f.severity >= Severity.HIGH


# -- malformed HDF5 ------------------------------------------------------------------------------


def _codes(result: RunResult) -> list[str]:
    return [f.code for f in result.findings]


def _write_h5(path: Path, **attrs: Any) -> Path:
    with h5py.File(path, "w") as f:
        for key, value in attrs.items():
            f.attrs[key] = value
    return path


def test_h5_with_wrong_magic(tmp_path: Path) -> None:
    path = tmp_path / "model.h5"
    path.write_bytes(b"\x89HDX\r\n\x1a\n" + os.urandom(2048))
    result = lint(path)
    assert result.artifacts[0].status.value == "error"
    assert set(_codes(result)) & {"TFL902", "TFL907"}, describe(result.findings)


def test_truncated_h5(keras_dir: Path, manifest: dict[str, dict[str, Any]], tmp_path: Path) -> None:
    data = (keras_dir / manifest["k2_lambda_os_system_h5"]["path"]).read_bytes()
    for fraction in (0.02, 0.5):
        path = tmp_path / f"cut{fraction}.h5"
        path.write_bytes(data[: int(len(data) * fraction)])
        result = lint(path)
        assert _codes(result) == ["TFL902"], (fraction, describe(result.findings))


@pytest.mark.parametrize(
    ("attrs", "code", "words"),
    [
        ({"model_config": "{not json"}, "TFL902", "not valid JSON"),
        ({"model_config": "[1, 2]"}, "TFL902", "not an object"),
        ({"model_config": "[" * 100_000}, "TFL903", "max-nesting-depth=200"),
        ({"model_config": np.int64(3)}, "TFL902", "not a string"),
        ({"model_config": np.array(["{}", "{}"], dtype=h5py.string_dtype())}, "TFL902", "array"),
        ({"model_config": b"\xff\xfe{}"}, "TFL902", "UTF-8"),
        ({"something": "else"}, "TFL904", "model_config"),
    ],
)
def test_h5_with_a_bad_model_config(tmp_path: Path, attrs: dict[str, Any], code: str, words: str) -> None:
    path = _write_h5(tmp_path / "bad.h5", **attrs)
    result = lint(path)
    assert _codes(result) == [code], describe(result.findings)
    assert words in result.findings[0].message


def test_h5_with_a_100mb_model_config(tmp_path: Path) -> None:
    big = '{"class_name": "Sequential", "config": {"name": "' + "x" * (100 * 1024 * 1024) + '"}}'
    path = _write_h5(tmp_path / "big.h5", model_config=big)
    result = lint(path)
    assert _codes(result) == ["TFL903"]
    assert "max-config-bytes" in result.findings[0].message


def test_fixed_length_model_config_is_checked_before_reading(tmp_path: Path) -> None:
    path = _write_h5(tmp_path / "fixed.h5", model_config=np.bytes_(b'{"class_name": "Sequential"}' + b" " * 5000))
    result = lint(path, limits=Limits(max_config_bytes=1000))
    assert _codes(result) == ["TFL903"]


def test_weights_only_h5_is_not_a_finding(tmp_path: Path) -> None:
    path = tmp_path / "model.weights.h5"
    with h5py.File(path, "w") as f:
        f.attrs["layer_names"] = np.array([b"dense"])
        f.create_dataset("dense/kernel", data=np.zeros((4, 4), dtype="float32"))
    result = lint(path)
    assert result.findings == () and result.artifacts[0].status.value == "ok"


# -- malformed .keras archives and embedded code ---------------------------------------------------


def _rewrite_zip(src: Path, dst: Path, members: dict[str, bytes | None]) -> Path:
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            if info.filename in members:
                data = members[info.filename]
                if data is not None:
                    zout.writestr(info.filename, data)
            else:
                zout.writestr(info, zin.read(info.filename))
    return dst


@pytest.mark.parametrize(
    ("name", "config", "code"),
    [
        ("not_json", b"{'class_name': ", "TFL902"),
        ("list", b"[]", "TFL902"),
        ("not_utf8", b"\xff\xfe\x00{", "TFL902"),
    ],
)
def test_keras_zip_with_a_bad_config(keras_dir: Path, manifest: dict[str, dict[str, Any]], tmp_path: Path,
                                     name: str, config: bytes, code: str) -> None:
    src = keras_dir / manifest["k3_benign"]["path"]
    path = _rewrite_zip(src, tmp_path / f"{name}.keras", {"config.json": config})
    assert _codes(lint(path)) == [code]


def test_truncated_and_oversized_keras_zip(keras_dir: Path, manifest: dict[str, dict[str, Any]],
                                           tmp_path: Path) -> None:
    src = keras_dir / manifest["k3_lambda_os_system"]["path"]
    cut = tmp_path / "cut.keras"
    cut.write_bytes(src.read_bytes()[: src.stat().st_size // 2])
    assert _codes(lint(cut)) == ["TFL902"]
    result = lint(src, limits=Limits(max_config_bytes=500))
    assert _codes(result) == ["TFL903"] and "max-config-bytes" in result.findings[0].message


def _lambda_code_variants() -> dict[str, bytes]:
    template = (lambda x: x * 2.0).__code__  # dumped, never loaded or called
    real = marshal.dumps(template.replace(co_consts=(None, "QQQ_CONST_QQQ")))
    start = real.index(b"QQQ_CONST_QQQ") - 2
    flag = real[start] & 0x80

    def with_const(raw: bytes) -> bytes:
        return real[:start] + bytes([raw[0] | flag]) + raw[1:] + real[start + 2 + len("QQQ_CONST_QQQ"):]

    return {
        "truncated": real[: len(real) // 2],
        "random": b"\xe3" + bytes(range(7, 250, 3)) * 3,
        "deep_nesting": with_const(b"(\x01\x00\x00\x00" * 20_000 + b"N"),
        "huge_count": with_const(b"(\xff\xff\xff\x7f"),
        "huge_long": with_const(b"l\xff\xff\xff\x7f"),
        "bad_reference": with_const(b"r\x00\x10\x00\x00"),
        "not_code": marshal.dumps(("a", "tuple")),
    }


@pytest.mark.parametrize("variant", sorted(_lambda_code_variants()))
def test_malformed_lambda_bytecode(keras_dir: Path, manifest: dict[str, dict[str, Any]], tmp_path: Path,
                                   variant: str) -> None:
    raw = _lambda_code_variants()[variant]
    encoded = base64.encodebytes(raw).decode("ascii")
    src = keras_dir / manifest["k3_lambda_benign"]["path"]
    with zipfile.ZipFile(src) as z:
        config = json.loads(z.read("config.json"))
    replaced = 0

    def swap(value: Any) -> None:
        nonlocal replaced
        if isinstance(value, dict):
            if value.get("class_name") == "__lambda__":
                value["config"]["code"] = encoded
                replaced += 1
            for v in value.values():
                swap(v)
        elif isinstance(value, list):
            for v in value:
                swap(v)

    swap(config)
    assert replaced == 1
    path = _rewrite_zip(src, tmp_path / f"{variant}.keras", {"config.json": json.dumps(config).encode()})
    result = lint(path)
    assert result.artifacts[0].status.value == "ok"
    by_code = {f.code: f for f in result.findings}
    assert set(by_code) == {"TFL902", "TFL110"}, describe(result.findings)
    assert by_code["TFL902"].location.layer == "model/lambda_1"
    assert by_code["TFL110"].location.layer == "model/lambda_1"
    assert by_code["TFL110"].severity == Severity.HIGH
    assert "could not be read" in by_code["TFL110"].message


def test_malformed_lambda_bytecode_in_h5(keras_dir: Path, manifest: dict[str, dict[str, Any]],
                                         tmp_path: Path) -> None:
    path = tmp_path / "bad_code.h5"
    shutil.copy(keras_dir / manifest["k2_lambda_benign_h5"]["path"], path)
    with h5py.File(path, "r+") as f:
        text = f.attrs["model_config"]
        config = json.loads(text)
        lam = config["config"]["layers"][-1]["config"]
        lam["function"][0] = lam["function"][0][:40]
        f.attrs["model_config"] = json.dumps(config)
    result = lint(path)
    assert sorted(_codes(result)) == ["TFL110", "TFL902"], describe(result.findings)
    assert all(f.location.layer == "model/lambda_1" for f in result.findings)


# -- configs written by hand: the walker's reach -----------------------------------------------------


def _h5_with_config(tmp_path: Path, config: dict[str, Any], name: str = "hand.h5") -> RunResult:
    path = _write_h5(tmp_path / name, model_config=json.dumps(config))
    return lint(path)


def _code_b64(fn: Callable[..., Any]) -> str:
    return base64.encodebytes(marshal.dumps(fn.__code__)).decode("ascii")


def test_lambdas_in_wrappers_cells_and_custom_sub_configs(tmp_path: Path) -> None:
    code = _code_b64(lambda x: __import__("subprocess").Popen(["id"]))  # dumped, never called

    def lam(name: str) -> dict[str, Any]:
        return {"class_name": "Lambda", "config": {"name": name, "function": [code, None, None],
                                                   "function_type": "lambda", "module": "__main__"}}

    config = {"class_name": "Functional", "config": {"name": "m", "layers": [
        {"class_name": "Bidirectional", "name": "bidi", "config": {
            "name": "bidi", "layer": {"class_name": "RNN", "config": {"name": "rnn", "cell": lam("in_cell")}},
            "backward_layer": lam("backward")}},
        {"class_name": "my_pkg>Block", "config": {"name": "block", "trainable": True, "inner": lam("hidden")}},
        {"class_name": "Sequential", "config": [lam("legacy_list")]},
    ]}}
    result = _h5_with_config(tmp_path, config)
    lambdas = sorted((f.location.layer, str(f.severity)) for f in result.findings if f.code == "TFL110")
    assert lambdas == [
        ("m/bidi/backward", "critical"), ("m/bidi/rnn/in_cell", "critical"), ("m/block/hidden", "critical"),
        ("m/sequential/legacy_list", "critical"),
    ]
    assert [(f.code, f.location.layer) for f in result.findings if f.code == "TFL121"] == [("TFL121", "m/block")]


def test_lambda_by_reference_and_gadgets(tmp_path: Path) -> None:
    config = {"class_name": "Sequential", "config": {"name": "s", "layers": [
        {"class_name": "Lambda", "config": {"name": "by_name", "function": "exploit", "function_type": "function",
                                            "module": "evil_pkg.tools"}},
        {"class_name": "Lambda", "config": {"name": "in_tf", "function": "relu", "function_type": "function",
                                            "module": "tensorflow.nn"}},
        {"class_name": "Lambda", "config": {"name": "k3_ref", "function": {
            "module": "subprocess", "class_name": "function", "config": "check_output",
            "registered_name": "function"}}},
        {"class_name": "Dense", "config": {"name": "d", "trainable": True,
                                           "activation": {"module": "keras.utils", "class_name": "function",
                                                          "config": "get_file", "registered_name": "get_file"},
                                           "kernel_initializer": {"module": "numpy", "class_name": "load",
                                                                  "config": {}}}},
    ]}}
    result = _h5_with_config(tmp_path, config)
    got = sorted((f.code, f.location.layer, str(f.severity)) for f in result.findings)
    assert got == [
        ("TFL111", "s/by_name", "high"), ("TFL111", "s/in_tf", "medium"), ("TFL111", "s/k3_ref", "critical"),
        ("TFL120", "s/d", "high"), ("TFL120", "s/d", "high"),
    ], describe(result.findings)
    by_name = next(f for f in result.findings if f.location.layer == "s/by_name")
    assert "evil_pkg.tools" in by_name.message and "exploit" in by_name.message


def test_builtin_registered_names_are_not_custom_objects(tmp_path: Path) -> None:
    config = {"class_name": "Sequential", "config": {"name": "s", "layers": [
        {"class_name": "Dense", "config": {"name": "d", "trainable": True, "activation": "relu"}}]}}
    path = _write_h5(tmp_path / "t.h5", model_config=json.dumps(config), training_config=json.dumps(
        {"loss": "mse", "optimizer_config": {"class_name": "Custom>Adam", "config": {"name": "Adam"}}}))
    assert lint(path).findings == ()


def test_embedded_code_outside_lambda_layers(tmp_path: Path) -> None:
    code = _code_b64(lambda x: open("/etc/passwd").read())  # dumped, never called
    config = {"class_name": "Functional", "config": {"name": "m", "layers": [
        {"class_name": "Dense", "config": {"name": "d", "trainable": True,
                                           "activation": {"class_name": "__lambda__", "config": {"value": [
                                               code, None, None]}}}},
        {"class_name": "Dense", "config": {"name": "e", "trainable": True, "note": code}},
    ]}}
    result = _h5_with_config(tmp_path, config)
    got = sorted((f.location.layer, f.evidence_dict["field"], str(f.severity)) for f in result.findings)
    assert got == [("m/d", "activation", "high"), ("m/e", "note", "high")], describe(result.findings)


def test_deeply_nested_config_is_reported_not_crashed(tmp_path: Path) -> None:
    deep: Any = "leaf"
    for _ in range(400):
        deep = {"k": deep}
    config = {"class_name": "Sequential", "config": {"name": "s", "layers": [], "extra": deep}}
    result = _h5_with_config(tmp_path, config)
    assert _codes(result) == ["TFL903"] and "max-nesting-depth=200" in result.findings[0].message
    # With the limit raised, the walker stops at its own depth and checks the rest.
    path = tmp_path / "hand.h5"
    result = lint(path, limits=Limits(max_nesting_depth=1000))
    assert _codes(result) == ["TFL902"] and "nested deeper" in result.findings[0].message


def test_hdf5_that_hangs_libhdf5_is_cut_off() -> None:
    """A crafted .h5 sends libhdf5 into an endless loop: the read runs in a forked child
    with a deadline, so the lint reports a limit and goes on with the other paths."""
    import time
    from pathlib import Path

    from tfmodel_lint import lint_paths

    root = Path(__file__).resolve().parent
    hang = root / "fixtures" / "fuzz_regressions" / "hdf5_vlen_attribute_hang.h5"
    good = root.parent / "examples" / "models" / "malicious_reader"
    start = time.monotonic()
    result = lint_paths([str(hang), str(good)])
    assert time.monotonic() - start < 60
    by_artifact = {f.artifact.rsplit("/", 1)[-1]: f.code for f in result.findings}
    assert by_artifact["hdf5_vlen_attribute_hang.h5"] == "TFL903"
    assert "malicious_reader" in by_artifact
