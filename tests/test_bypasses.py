"""Issue 13, "Bypasses with no finding at all": each case with a model built by real
TensorFlow (``tests/fixtures/build_bypass_fixtures.py``, the other fixture builders),
or, where the case is about hostile bytes, the project's own graph builder.

* graphs inside strings (``DatasetFromGraph``, ``XlaCallModule``, ``MlirPassthroughOp``);
* ops the linter does not know (add-on libraries, private kernels);
* files whose name says nothing (directory scans; the pre-commit filter is in
  ``tests/test_precommit.py``);
* models inside other models (a SavedModel's other files, archives, polyglots).
"""

from __future__ import annotations

import io
import json
import os
import pickle
import random
import shutil
import sqlite3
import struct
import subprocess
import sys
import tarfile
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import build_cached, load_manifest
from tests.graphs import Graph, lint_graph
from tests.helpers import describe, lint
from tests.polyglots import with_userblock, zip_appended, zip_bytes, zip_prepended
from tfmodel_lint.findings import Finding, RunResult, Severity

ROOT = Path(__file__).resolve().parent.parent
PASSWD = "/etc/passwd"


@pytest.fixture(scope="session")
def bypass_fixtures() -> Path:
    return build_cached("build_bypass_fixtures.py")


@pytest.fixture(scope="session")
def keras_fixtures() -> Path:
    return build_cached("build_keras_fixtures.py")


def codes(result: RunResult) -> list[str]:
    return sorted(f.code for f in result.findings)


def only(result: RunResult, code: str) -> list[Finding]:
    found = [f for f in result.findings if f.code == code]
    assert found, f"no {code}:\n{describe(result.findings)}"
    return found


def evidence(finding: Finding) -> dict[str, object]:
    from tfmodel_lint.findings import thaw

    return {k: thaw(v) for k, v in finding.evidence}


# -- graphs inside strings ------------------------------------------------------------------


@pytest.mark.parametrize("name", ["dfg_const", "dfg_captured", "dfg_call"])
def test_a_graph_in_a_constant_is_linted_and_named_after_its_node(bypass_fixtures: Path, name: str) -> None:
    """TextLineDataset('/etc/passwd') serialized by tf.data and run by DatasetFromGraph:
    held in a Const in the function, captured from outside (a bound input), or passed
    through Identity and a nested tf.function's argument."""
    result = lint(bypass_fixtures / "embedded" / name)
    (read,) = only(result, "TFL201")
    assert read.severity == Severity.HIGH
    assert evidence(read)["targets"] == [PASSWD]
    member = read.location.member or ""
    assert member.startswith("node:") and member.endswith("/DatasetFromGraph"), member
    assert read.location.op == "TextLineDataset"
    # the outer node that runs it exists in the model, named as the member names it
    function = member[len("node:"):].rsplit("/", 1)[0]
    assert any(f.location.function == function and f.location.node == "DatasetFromGraph"
               for f in result.findings if f.code == "TFL101")
    assert evidence(read)["reached_from"] == [member]
    assert "TFL102" not in codes(result)


def test_a_graph_from_a_signature_input_is_unresolved_and_high(bypass_fixtures: Path) -> None:
    result = lint(bypass_fixtures / "embedded" / "dfg_signature_input")
    (finding,) = only(result, "TFL102")
    assert finding.severity == Severity.HIGH
    assert "signature input 'graph'" in finding.message and "caller chooses" in finding.message
    assert evidence(finding)["status"] == "unresolved"
    assert not [f for f in result.findings if f.code.startswith("TFL2")]


def test_a_graph_computed_at_run_time_is_unresolved_never_silent(bypass_fixtures: Path) -> None:
    result = lint(bypass_fixtures / "embedded" / "dfg_runtime")
    (finding,) = only(result, "TFL102")
    assert finding.severity == Severity.MEDIUM
    assert "DatasetToGraphV2" in finding.message
    assert evidence(finding)["carrier"] == "input graph_def"


def test_a_benign_graph_in_a_string_adds_nothing(bypass_fixtures: Path) -> None:
    result = lint(bypass_fixtures / "embedded" / "dfg_benign")
    # DatasetFromGraph itself stays reported by the capability data (code_execution);
    # the range/map pipeline it runs holds nothing.
    assert codes(result) == ["TFL101"], describe(result.findings)


def test_xla_call_module_with_a_host_callback(bypass_fixtures: Path) -> None:
    result = lint(bypass_fixtures / "xla" / "xla_call_module_callback")
    (finding,) = only(result, "TFL102")
    ev = evidence(finding)
    assert finding.severity == Severity.HIGH
    assert ev["format"] == "StableHLO bytecode" and ev["status"] == "opaque"
    assert ev["host_callbacks"] == ["xla_python_cpu_callback"]
    assert "xla_python_cpu_callback" in finding.message
    assert finding.location.op == "XlaCallModule"


def test_xla_call_module_without_callbacks_is_still_reported(bypass_fixtures: Path) -> None:
    result = lint(bypass_fixtures / "xla" / "xla_call_module_benign")
    (finding,) = only(result, "TFL102")
    assert finding.severity == Severity.MEDIUM
    assert "host_callbacks" not in evidence(finding)


def test_mlir_passthrough_naming_a_capability_op(bypass_fixtures: Path) -> None:
    result = lint(bypass_fixtures / "xla" / "mlir_passthrough_readfile")
    (finding,) = only(result, "TFL102")
    ev = evidence(finding)
    assert finding.severity == Severity.HIGH
    assert ev["format"] == "MLIR text"
    assert ev["capability_ops"] == ["tf.ReadFile"]
    assert PASSWD in ev["strings"]  # type: ignore[operator]
    assert ev["functions"] == ["main"]


def test_the_fixture_manifest_holds(bypass_fixtures: Path) -> None:
    """Every fixture of the builder gets the codes and severity its manifest entry says."""
    for name, entry in load_manifest(bypass_fixtures).items():
        result = lint(bypass_fixtures / str(entry["path"]))
        got = {f.code for f in result.findings} - {"TFL101"}
        assert got == set(entry["codes"]), f"{name}: {describe(result.findings)}"  # type: ignore[arg-type]
        if entry["severity"]:
            worst = max(f.severity for f in result.findings if f.code != "TFL101")
            assert worst == Severity.parse(str(entry["severity"])), name
        for target in entry["targets"]:  # type: ignore[attr-defined]
            assert any(target in evidence(f).get("targets", ()) for f in result.findings), name  # type: ignore[operator]


# The search of the registry the module docstring of loaders/embedded.py claims.
REGISTRY_SEARCH = r"""
import json, os, re
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import tensorflow as tf
from tensorflow.core.framework import op_def_pb2
from tensorflow.python.client import pywrap_tf_session as c_api
ops = op_def_pb2.OpList()
ops.ParseFromString(c_api.TF_GetBuffer(c_api.TF_GetAllOpList()))
words = re.compile(r"graph|module|mlir|function|library|program|computation|hlo|serialized|target", re.I)
found = {}
for op in ops.op:
    hits = [f"attr {a.name}" for a in op.attr if a.type in ("string", "list(string)") and words.search(a.name)]
    hits += [f"input {a.name}" for a in op.input_arg if a.type == 7 and words.search(a.name)]
    if hits:
        found[op.name] = hits
print(json.dumps(found))
"""

#: Ops the search finds whose string names a graph-ish thing but holds none: what they
#: hold instead. Anything else the search finds must be a carrier.
NOT_CARRIERS = {
    "DataServiceDataset": "data_transfer_protocol/protocol: a protocol name",
    "DataServiceDatasetV2": "a protocol name", "DataServiceDatasetV3": "a protocol name",
    "DataServiceDatasetV4": "a protocol name", "RegisterDataset": "a protocol name",
    "RegisterDatasetV2": "a protocol name",
    "OptionsDataset": "serialized tf.data Options (no graph)",
    "ParseExample": "serialized Example protos (data)", "ParseExampleV2": "Example protos",
    "ParseSingleExample": "Example protos", "ParseSequenceExample": "SequenceExample protos",
    "ParseSequenceExampleV2": "SequenceExample protos", "ParseSingleSequenceExample": "SequenceExample protos",
    "ParseTensor": "a serialized TensorProto (data)", "DeserializeManySparse": "serialized sparse tensors",
    "TensorSummaryV2": "summary metadata",
    "BoostedTreesCreateEnsemble": "a tree ensemble proto (data)",
    "BoostedTreesDeserializeEnsemble": "a tree ensemble proto (data)",
    "PartitionedCall": "config_proto: a ConfigProto; the callee is the function attr f (call graph)",
    "StatefulPartitionedCall": "config_proto: a ConfigProto; the callee is the function attr f (call graph)",
    "TPUReplicateMetadata": "TPU compile options", "_TPUReplicate": "TPU compile options",
    "StoreMinibatchStatisticsInFdo": "a program key", "GetMinibatchSplitsWithPhysicalReplica": "a program key",
    "GetMinibatchesInCsrWithPhysicalReplica": "a program key",
    "RemoteCall": "target: the device to run on; the callee is the function attr f (call graph)",
    "XlaHostCompute": "send/recv keys; the host computation is the function attr shape_inference_graph",
    "TensorArrayGrad": "source: a gradient source name", "TensorArrayGradV2": "a gradient source name",
    "TensorArrayGradV3": "a gradient source name", "TensorArrayGradWithShape": "a gradient source name",
}


@pytest.fixture(scope="session")
def tf_op_search() -> dict[str, list[str]]:
    pytest.importorskip("tensorflow", reason="TensorFlow is needed to search its op registry (test extra)")
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="")
    proc = subprocess.run([sys.executable, "-c", REGISTRY_SEARCH], capture_output=True, text=True, env=env,
                          timeout=600, check=False)
    assert proc.returncode == 0, proc.stderr[-4000:]
    found: dict[str, list[str]] = json.loads(proc.stdout.strip().splitlines()[-1])
    return found


def test_every_op_carrying_a_program_in_a_string_is_handled(tf_op_search: dict[str, list[str]]) -> None:
    from tfmodel_lint.loaders.embedded import CARRIERS

    unclassified = sorted(set(tf_op_search) - set(CARRIERS) - set(NOT_CARRIERS))
    assert not unclassified, {op: tf_op_search[op] for op in unclassified}
    for op, carrier in CARRIERS.items():
        assert op in tf_op_search, op  # still registered, still found by the search
        assert any(carrier.name in hit for hit in tf_op_search[op]), (op, tf_op_search[op])


def _dataset_from_graph(inner: bytes) -> Graph:
    g = Graph()
    g.const("graph_def", inner)
    g.node("DatasetFromGraph", "DatasetFromGraph", "graph_def")
    return g


def _reader(path: bytes = b"/etc/passwd") -> Graph:
    g = Graph()
    g.const("path", path)
    g.node("read", "ReadFile", "path")
    return g


def test_graphs_nested_in_strings_stop_at_the_depth_limit() -> None:
    """Each level holds the next; past max-archive-depth a TFL903 names the member, and
    what the levels above found is kept."""
    blob = _reader().bytes()
    for _ in range(6):
        blob = _dataset_from_graph(blob).bytes()
    from tfmodel_lint.limits import Limits

    result = lint_graph(blob, limits=Limits(max_archive_depth=3))
    limit = only(result, "TFL903")
    assert len(limit) == 1 and "max-archive-depth=3" in limit[0].message
    assert (limit[0].location.member or "").count("node:") == 4
    assert len(only(result, "TFL101")) == 4  # levels 0-3 were linted
    shallow = _dataset_from_graph(_dataset_from_graph(_reader().bytes()).bytes())
    result = lint_graph(shallow.bytes())
    (read,) = only(result, "TFL201")
    assert read.location.member == "node:<graph>/DatasetFromGraph!node:<graph>/DatasetFromGraph"


def test_a_graph_in_a_string_that_does_not_parse_is_a_finding_on_that_node() -> None:
    result = lint_graph(_dataset_from_graph(b"\x0a\xff\xff\xff\xff\x0f garbage").bytes())
    (bad,) = only(result, "TFL902")
    assert bad.location.member == "node:<graph>/DatasetFromGraph"


def test_a_graph_in_a_string_passes_through_identity_and_calls() -> None:
    g = Graph()
    g.const("graph_def", _reader().bytes())
    g.node("snap", "Snapshot", "graph_def")
    g.node("call", "PartitionedCall", "snap", f="run")
    body = g.function("run", inputs=["g"])
    body.node("id", "Identity", "g")
    body.node("DatasetFromGraph", "DatasetFromGraph", "id:output:0")
    result = lint_graph(g)
    (read,) = only(result, "TFL201")
    assert read.location.member == "node:run/DatasetFromGraph"


def test_many_graphs_in_one_constant_are_bounded_and_said() -> None:
    from tfmodel_lint.loaders.embedded import MAX_GRAPHS_PER_NODE

    g = Graph()
    g.const("graph_def", *[_reader(f"/etc/f{i}".encode()).bytes() for i in range(MAX_GRAPHS_PER_NODE + 2)])
    g.node("DatasetFromGraph", "DatasetFromGraph", "graph_def")
    result = lint_graph(g)
    assert len(only(result, "TFL201")) == MAX_GRAPHS_PER_NODE
    (cut,) = only(result, "TFL102")
    assert f"the first {MAX_GRAPHS_PER_NODE} were checked" in cut.message


# -- ops the linter does not know ---------------------------------------------------------------


def test_an_add_on_file_op_is_reported_with_its_library_and_target(bypass_fixtures: Path) -> None:
    for rel in ("unknown/io_readtext.pb", "unknown/io_readtext_savedmodel"):
        result = lint(bypass_fixtures / rel)
        (read,) = only(result, "TFL201")
        ev = evidence(read)
        assert read.severity == Severity.HIGH and ev["targets"] == [PASSWD], rel
        assert ev["library"] == "tensorflow-io 0.37.1" and "tensorflow-io 0.37.1" in read.message
        assert read.location.op == "IO>ReadText"
        assert "TFL103" not in codes(result)  # capability data covers it


def test_an_add_on_op_without_capability_names_the_library(bypass_fixtures: Path) -> None:
    result = lint(bypass_fixtures / "unknown" / "tftext_ngrams.pb")
    (finding,) = only(result, "TFL103")
    assert finding.severity == Severity.LOW
    assert "needs the tensorflow-text 2.21.1 kernel library" in finding.message
    assert evidence(finding)["library"] == "tensorflow-text 2.21.1"


def test_a_private_op_never_looks_clean(bypass_fixtures: Path) -> None:
    result = lint(bypass_fixtures / "unknown" / "private_op.pb")
    assert codes(result) == ["TFL103"]
    (finding,) = result.findings
    assert "'Acme>Exfiltrate'" in finding.message and "custom kernel library" in finding.message
    assert "library" not in evidence(finding)


def test_one_finding_per_unknown_op_with_the_count() -> None:
    g = Graph()
    for i in range(3):
        g.node(f"n{i}", "Acme>Op")
    result = lint_graph(g)
    (finding,) = only(result, "TFL103")
    assert "(3 nodes)" in finding.message and evidence(finding)["count"] == 3


def test_a_call_of_a_library_function_by_name_is_not_unknown() -> None:
    g = Graph()
    g.function("my_function")
    g.node("call", "my_function")
    assert "TFL103" not in codes(lint_graph(g))


def test_ops_of_a_signatures_file_are_known(tmp_path: Path) -> None:
    g = Graph()
    g.node("x", "Acme>Op")
    sig = tmp_path / "acme.json"
    sig.write_text(json.dumps({"schema_version": 1, "ops": {"Acme>Op": {"categories": []}}}))
    assert "TFL103" in codes(lint_graph(g))
    assert "TFL103" not in codes(lint_graph(g, signatures=(sig,)))


def test_real_models_hold_no_unknown_op(tf_fixtures: Path, keras_fixtures: Path) -> None:
    """Every op TensorFlow 2.21 writes (SavedModels, frozen graphs, TF1 exports, TFLite
    Flex ops, TF.js, Keras SavedModels) is in the registry data: no TFL103 anywhere."""
    fmt = build_cached("build_format_fixtures.py")
    for root in (tf_fixtures, fmt, keras_fixtures):
        result = lint(root)
        unknown = [f for f in result.findings if f.code in ("TFL103", "TFL102")]
        assert not unknown, describe(unknown)


def test_add_on_files_are_all_loaded_with_their_library() -> None:
    from tfmodel_lint import signatures

    shipped = sorted(f"addons/{p.name}" for p in (ROOT / "signatures" / "addons").glob("*.json"))
    assert sorted(signatures.ADDON_FILES) == shipped
    db = signatures.load()
    assert [lib.label for lib in db.addons] == ["tensorflow-io 0.37.1", "tensorflow-text 2.21.1"]
    assert db.ops["IO>ReadText"].library == "tensorflow-io 0.37.1"
    assert db.ops["ReadFile"].library == ""
    assert db.ops["BigtableClient"].library == ""  # TensorFlow 1.x's entry is kept
    addon_of = db.addon_of("TFText>NgramsStringJoin")
    assert addon_of is not None and addon_of.name == "tensorflow-text"
    # add-on entries are parsed when first looked up: every one of them parses
    parsed = {op: db.ops[op] for op in db.ops}
    assert sum(1 for sig in parsed.values() if sig.library == "tensorflow-io 0.37.1") == 77
    assert all(sig.categories for op, sig in parsed.items() if sig.library)


def test_the_tensorflow_registry_is_read_only_when_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    from tfmodel_lint import signatures

    read: list[str] = []
    original = signatures.builtin_data

    def recording(name: str) -> bytes:
        read.append(name)
        return original(name)

    monkeypatch.setattr(signatures, "builtin_data", recording)
    db = signatures.load()
    assert signatures.REGISTRY_FILE not in read
    assert "MatMul" in db.tensorflow().ops and db.tensorflow().version == "2.21.0"
    assert read.count(signatures.REGISTRY_FILE) == 1
    db.tensorflow()
    assert read.count(signatures.REGISTRY_FILE) == 1
    copy = pickle.loads(pickle.dumps(db))  # a worker process reads it again itself
    assert copy.ops == db.ops and copy.addons == db.addons and "MatMul" in copy.tensorflow().ops


# -- files whose name says nothing --------------------------------------------------------------


def _tar_xz_of(directory: Path, out: Path) -> Path:
    with tarfile.open(out, "w:xz") as tar:
        tar.add(directory, arcname=directory.name)
    return out


@pytest.fixture
def renamed(tmp_path: Path, tf_fixtures: Path, keras_fixtures: Path) -> dict[str, tuple[Path, str]]:
    """Real models under names that say nothing: name -> (file, a code it must get)."""
    fmt = build_cached("build_format_fixtures.py")
    root = tmp_path / "repo"
    root.mkdir()
    files = {
        "weights.bin": (tf_fixtures / "graphdefs" / "model.pb", "TFL201"),  # a frozen GraphDef
        "data": (tf_fixtures / "savedmodels" / "readfile_const" / "saved_model.pb", "TFL201"),
        "model.txt": (fmt / "tflite" / "flex_reader.tflite", "TFL201"),
        "params.dat": (keras_fixtures / "k2" / "lambda_os_system.h5", "TFL110"),
        "blob": (keras_fixtures / "k3" / "lambda_os_system.keras", "TFL110"),
        "meta": (fmt / "tf1" / "reader.meta", "TFL201"),
    }
    out: dict[str, tuple[Path, str]] = {}
    for name, (src, code) in files.items():
        shutil.copyfile(src, root / name)
        out[name] = (root / name, code)
    out["archive"] = (_tar_xz_of(tf_fixtures / "savedmodels" / "readfile_const", tmp_path / "sm.tar.xz"), "TFL201")
    shutil.move(out["archive"][0], root / "archive")
    out["archive"] = (root / "archive", "TFL201")
    with_userblock(keras_fixtures / "k2" / "lambda_os_system.h5", root / "cache.bin", 1024)
    out["cache.bin"] = (root / "cache.bin", "TFL110")
    (root / "README.md").write_text("# a project\n")
    (root / "notes.txt").write_text("nothing to see\n")
    return out


def test_a_directory_scan_finds_models_by_content(renamed: dict[str, tuple[Path, str]]) -> None:
    from tfmodel_lint.discovery import expand_paths

    root = next(iter(renamed.values()))[0].parent
    found = {t.path.name: t for t in expand_paths([str(root)]).targets}
    assert set(found) == set(renamed), sorted(found)
    assert all(t.by_content for t in found.values())
    result = lint(root)
    for name, (_path, code) in renamed.items():
        got = [f.code for f in result.findings if f.artifact.endswith(f"/{name}")]
        assert code in got, f"{name}: {got}\n{describe(result.findings)}"


def test_content_sniffing_measured_on_real_graphs_and_other_binaries(tmp_path: Path, tf_fixtures: Path,
                                                                     bypass_fixtures: Path) -> None:
    """``protobuf_graph_like`` against every binary GraphDef, MetaGraphDef and SavedModel
    the fixture builders wrote (no false negative), and a corpus of other binaries
    (no false positive, none promising a model by content)."""
    from tfmodel_lint.formats import HEAD_BYTES, content_kind, promises_model, protobuf_graph_like

    fmt = build_cached("build_format_fixtures.py")
    graphs = [p for root in (tf_fixtures, fmt, bypass_fixtures) for p in root.rglob("*")
              if p.is_file() and (p.name == "saved_model.pb" or p.suffix == ".meta"
                                  or (p.suffix == ".pb" and p.parent.name in ("graphdefs", "tf1", "unknown")))]
    assert len(graphs) > 80
    missed = [p for p in graphs if not protobuf_graph_like(p.read_bytes()[:HEAD_BYTES])]
    assert not missed, missed
    corpus = _non_model_binaries(tmp_path, tf_fixtures)
    assert len(corpus) > 500
    wrong = {name: content_kind(data[:HEAD_BYTES]) for name, data in corpus.items()
             if protobuf_graph_like(data[:HEAD_BYTES]) or promises_model("data", data[:HEAD_BYTES])}
    assert not wrong, wrong


def _non_model_binaries(tmp_path: Path, tf_fixtures: Path) -> dict[str, bytes]:
    rnd = random.Random(13)
    corpus = {f"random-{i}": rnd.randbytes(rnd.randrange(1, 2048)) for i in range(400)}
    for i in range(50):  # PNGs: signature, IHDR, IDAT, IEND
        width = rnd.randrange(1, 64)
        raw = b"".join(b"\0" + rnd.randbytes(width * 3) for _ in range(8))

        def chunk(kind: bytes, data: bytes) -> bytes:
            return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

        corpus[f"png-{i}"] = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, 8, 8, 2, 0, 0, 0))
                              + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
    for i in range(30):  # compiled Python
        src = tmp_path / f"m{i}.py"
        src.write_text(f"import os\nVALUE = {i}\ndef f(x):\n    return os.path.join(x, '{i}')\n")
        import py_compile

        corpus[f"pyc-{i}"] = Path(py_compile.compile(str(src), cfile=str(tmp_path / f"m{i}.pyc"))).read_bytes()
    for i in range(10):  # SQLite databases
        db = tmp_path / f"d{i}.sqlite"
        con = sqlite3.connect(db)
        con.execute("create table t (a text)")
        con.execute("insert into t values (?)", ("x" * i,))
        con.commit()
        con.close()
        corpus[f"sqlite-{i}"] = db.read_bytes()
    corpus["python-executable"] = Path(sys.executable).resolve().read_bytes()[:4096]
    # TensorFlow's own files that are not graphs
    for p in tf_fixtures.rglob("*"):
        if p.is_file() and (p.name in ("fingerprint.pb", "keras_metadata.pb", "variables.index")
                            or p.name.startswith("variables.data")):
            corpus[str(p.relative_to(tf_fixtures))] = p.read_bytes()[:4096]
    return corpus


# -- models inside other models ---------------------------------------------------------------


@pytest.fixture
def sm_with_extra(tmp_path: Path, tf_fixtures: Path) -> Path:
    sm = tmp_path / "sm"
    shutil.copytree(tf_fixtures / "savedmodels" / "benign_module_variables", sm)
    (sm / "extra").mkdir()
    shutil.copyfile(tf_fixtures / "graphdefs" / "model.pb", sm / "extra" / "evil.pb")
    return sm


def _passwd_in(result: RunResult, member: str) -> None:
    reads = [f for f in result.findings if f.code == "TFL201" and PASSWD in evidence(f).get("targets", ())]  # type: ignore[operator]
    assert [f.location.member for f in reads] == [member], describe(result.findings)
    assert reads[0].severity == Severity.HIGH


def test_an_extra_pb_in_a_savedmodel_named_as_pre_commit_names_it(sm_with_extra: Path) -> None:
    for named in (sm_with_extra / "extra" / "evil.pb", sm_with_extra, sm_with_extra / "saved_model.pb"):
        result = lint(named)
        _passwd_in(result, "extra/evil.pb")
        assert [a.path for a in result.artifacts] == [str(sm_with_extra)]


def _pack(sm: Path, out: Path, kind: str) -> Path:
    files = sorted(p for p in sm.rglob("*") if p.is_file())
    if kind == "zip":
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
            for p in files:
                zf.write(p, f"sm/{p.relative_to(sm).as_posix()}")
            zf.write(sm / "extra" / "evil.pb", "tools/evil.pb")
        return out
    mode = {"tar": "w", "tar.gz": "w:gz", "tar.xz": "w:xz", "tar.bz2": "w:bz2"}[kind]
    with tarfile.open(out, mode) as tar:  # type: ignore[call-overload]
        for p in files:
            tar.add(p, f"sm/{p.relative_to(sm).as_posix()}")
        tar.add(sm / "extra" / "evil.pb", "tools/evil.pb")
    return out


@pytest.mark.parametrize("kind", ["zip", "tar", "tar.gz", "tar.xz", "tar.bz2"])
def test_every_model_member_of_an_archive_is_linted(tmp_path: Path, sm_with_extra: Path, kind: str) -> None:
    """sm/saved_model.pb, sm/extra/evil.pb and tools/evil.pb: the SavedModel, the file
    inside it and the file beside it, whatever the container."""
    archive = _pack(sm_with_extra, tmp_path / f"models.{kind}", kind)
    result = lint(archive)
    reads = sorted(f.location.member or "" for f in result.findings if f.code == "TFL201")
    assert reads == ["sm!extra/evil.pb", "tools/evil.pb"], describe(result.findings)
    from tfmodel_lint.discovery import expand_paths

    found = tmp_path / "found"
    found.mkdir()
    shutil.copyfile(archive, found / archive.name)
    assert [t.path.name for t in expand_paths([str(found)]).targets] == [archive.name]


# -- polyglots ------------------------------------------------------------------------------------


@pytest.fixture
def lambda_h5(keras_fixtures: Path) -> Path:
    return keras_fixtures / "k2" / "lambda_os_system.h5"


def _h5_and_zip(path: Path) -> tuple[bool, list[str]]:
    """What h5py and zipfile make of a file: the Keras config is there; the members."""
    import h5py

    with h5py.File(path, "r") as f:
        has_config = "model_config" in f.attrs
    try:
        with zipfile.ZipFile(path) as zf:
            assert zf.testzip() is None
            names = zf.namelist()
    except zipfile.BadZipFile:
        names = []
    return has_config, names


def _lambda(result: RunResult) -> Finding:
    (finding,) = only(result, "TFL110")
    assert finding.severity >= Severity.HIGH
    return finding


@pytest.mark.parametrize(("size", "fill"), [(512, b""), (1024, b"# notes, not a model\n" * 20), (4096, b"\0" * 8)])
def test_an_hdf5_file_with_a_user_block_keeps_its_lambda(tmp_path: Path, lambda_h5: Path, size: int,
                                                          fill: bytes) -> None:
    out = with_userblock(lambda_h5, tmp_path / "model.h5", size, fill)
    assert _h5_and_zip(out) == (True, [])
    result = lint(out)
    _lambda(result)
    assert codes(result) == ["TFL110"], describe(result.findings)


BUILDERS: dict[str, Callable[[Path, Path, dict[str, bytes]], Path]] = {
    "zip appended": zip_appended, "zip prepended": zip_prepended}


@pytest.mark.parametrize("how", list(BUILDERS))
def test_a_polyglot_is_linted_as_every_format_it_parses_as(tmp_path: Path, lambda_h5: Path, tf_fixtures: Path,
                                                          how: str) -> None:
    evil = (tf_fixtures / "graphdefs" / "model.pb").read_bytes()
    for name in ("model.h5", "model.keras", "weights.bin"):
        out = BUILDERS[how](lambda_h5, tmp_path / name, {"tools/evil.pb": evil})
        assert _h5_and_zip(out) == (True, ["tools/evil.pb"]), how  # both readers accept it
        result = lint(out)
        _lambda(result)
        _passwd_in(result, "tools/evil.pb")
        (poly,) = only(result, "TFL907")
        assert poly.severity == Severity.MEDIUM
        assert "both" in poly.message and "HDF5" in poly.message and "zip" in poly.message
        assert len(result.findings) == 3, describe(result.findings)
        (record,) = result.artifacts
        assert record.format in ("keras_h5+zip", "zip+keras_h5"), record.format


def test_a_tar_holding_an_hdf5_file_is_not_a_polyglot(tmp_path: Path, lambda_h5: Path) -> None:
    """In an uncompressed tar a member's data starts on a 512-byte block: an .h5 member
    there is found by libhdf5 too, but it is that member, linted once as such."""
    out = tmp_path / "models.tar"
    with tarfile.open(out, "w") as tar:
        tar.add(lambda_h5, "model.h5")
    assert codes(lint(out)) == ["TFL110"]


def test_the_zip_probe_bounds(tmp_path: Path) -> None:
    """A zip end record is taken only when it ends the data and points at a central
    directory with members: a zip member inside a tar (blocks follow it) is not one."""
    from tfmodel_lint.formats import zip_end_record

    data = zip_bytes({"a.pb": b"x"})

    def reader(blob: bytes) -> Callable[[int, int], bytes]:
        return lambda offset, size: blob[offset:offset + size]

    assert zip_end_record(reader(data), len(data)) == len(data) - 22
    assert zip_end_record(reader(b"junk" + data), len(data) + 4) == len(data) + 4 - 22
    assert zip_end_record(reader(data + b"\0" * 1024), len(data) + 1024) is None
    empty = zip_bytes({})
    assert zip_end_record(reader(empty), len(empty)) is None
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        info = tarfile.TarInfo("inner.zip")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    tar_data = buf.getvalue()
    assert zip_end_record(reader(tar_data), len(tar_data)) is None


def test_a_savedmodel_that_fails_to_load_still_has_its_files_linted(tmp_path: Path, tf_fixtures: Path) -> None:
    archive = tmp_path / "models.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("sm/saved_model.pb", b"\x08\x01\x12\x03not a meta graph")
        zf.write(tf_fixtures / "graphdefs" / "model.pb", "sm/extra/evil.pb")
    result = lint(archive)
    assert sorted(codes(result)) == ["TFL201", "TFL902"], describe(result.findings)
    assert only(result, "TFL201")[0].location.member == "sm/extra/evil.pb"


def test_nested_savedmodels_in_an_archive_are_linted_once(tmp_path: Path, tf_fixtures: Path) -> None:
    archive = tmp_path / "models.tar"
    with tarfile.open(archive, "w") as tar:
        tar.add(tf_fixtures / "savedmodels" / "benign_module_variables", "outer")
        tar.add(tf_fixtures / "savedmodels" / "readfile_const", "outer/inner")
        tar.add(tf_fixtures / "graphdefs" / "model.pb", "outer/inner/assets/evil.pb")
    result = lint(archive)
    reads = sorted(f.location.member or "" for f in result.findings if f.code == "TFL201")
    assert reads == ["outer!inner", "outer!inner!assets/evil.pb"], describe(result.findings)


@pytest.mark.parametrize("compression", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED])
def test_a_user_block_hdf5_member_whose_name_says_nothing(tmp_path: Path, lambda_h5: Path, compression: int) -> None:
    """In an archive too, a member found by content past its first bytes is linted: where
    reading far into it is cheap (a stored member); a compressed member would be inflated
    for the probe, so there its name must say what it is."""
    blob = with_userblock(lambda_h5, tmp_path / "x.h5", 2048)
    archive = tmp_path / "models.zip"
    with zipfile.ZipFile(archive, "w", compression) as zf:
        zf.write(blob, "data")
        zf.write(blob, "named.h5")
    result = lint(archive)
    members = sorted(f.location.member or "" for f in result.findings if f.code == "TFL110")
    assert members == (["data", "named.h5"] if compression == zipfile.ZIP_STORED else ["named.h5"])


def test_many_nodes_running_programs_are_bounded_and_said() -> None:
    from tfmodel_lint.loaders.embedded import MAX_CARRIERS

    g = Graph()
    for i in range(MAX_CARRIERS + 5):
        g.node(f"call{i}", "XlaCustomCall", target_name=b"my_target")
    result = lint_graph(g)
    assert len(only(result, "TFL102")) == MAX_CARRIERS
    (limit,) = only(result, "TFL903")
    assert "5 more nodes" in limit.message and limit.severity == Severity.HIGH


def test_an_unknown_op_on_many_nodes_names_the_first_ones() -> None:
    g = Graph()
    for i in range(50):
        g.node(f"n{i}", "Acme>Op")
    (finding,) = only(lint_graph(g), "TFL103")
    assert evidence(finding)["count"] == 50 and len(evidence(finding)["nodes"]) == 10  # type: ignore[arg-type]
