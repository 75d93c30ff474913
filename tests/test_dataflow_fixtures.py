"""Issue 4 end to end: dataflow fixtures built by real TensorFlow
(tests/fixtures/build_dataflow_fixtures.py), linted, and checked aspect by aspect
against the manifest: categories, severity, resolved targets (and decoys that must not
be targets), the reason of what cannot be resolved, reachability and load/inference
time, read-then-send chains (TFL510) and payload kinds. Also: the checkpoint reader
against checkpoints written and read back by TensorFlow.

What the current code cannot do yet is listed in ``XFAILS`` (strict): when it starts to
work the case XPASSes, which fails the run: delete its entry.
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import build_cached
from tests.helpers import at_least, describe, lint
from tfmodel_lint.analysis.values import HOLE
from tfmodel_lint.analysis.variables import variable_values
from tfmodel_lint.findings import Finding, RunResult, Severity
from tfmodel_lint.limits import Limits
from tfmodel_lint.loaders.checkpoint import DEFAULT_BOUNDS, read_bundle
from tfmodel_lint.loaders.dispatch import load_path
from tfmodel_lint.sources import DirSource

pytestmark = pytest.mark.tf

CATEGORY_ALIASES = {"directory_read": "dir_read"}
FAMILIES = ("file_read", "file_write", "dir_read", "network_send")
VARIANTS = ("joined", "base64", "reversed", "nested", "variable", "asset", "signature_input")
MODELS = sorted(
    [f"{f}_{v}" for f in FAMILIES for v in VARIANTS]
    + [
        "file_read_reversed_vector", "file_read_variable_unnamed",
        "chain_dataset_distributedsave", "chain_dataset_debugidentity", "chain_readfile_function_debugidentity",
        "chain_readfile_writefile", "save_ssh_key", "writefile_python_source", "init_table_write",
        "init_main_op_write",
    ]
)
BENIGN = ["benign_string_variables"]
ASPECTS = ("category", "severity", "targets", "not_targets", "reason", "runs_at", "reached", "chain", "payload")

#: Aspects the current code cannot do yet (strict xfails: a fixed one XPASSes and fails
#: the run, so its entry is deleted). The string splits and ragged ops of the "reversed"
#: variants and the asset contents of the "asset" variants are modelled now.
XFAILS: dict[tuple[str, str], str] = {}

_RESULTS: dict[str, RunResult] = {}


@pytest.fixture(scope="session")
def dataflow_fixtures() -> Path:
    return build_cached("build_dataflow_fixtures.py")


def _manifest(root: Path) -> dict[str, Any]:
    import json

    data: dict[str, Any] = json.loads((root / "manifest.json").read_text(encoding="utf-8"))
    return data


def _result(root: Path, name: str, entry: dict[str, Any]) -> RunResult:
    if name not in _RESULTS:
        _RESULTS[name] = lint(root / str(entry["path"]))
    return _RESULTS[name]


def _family_findings(result: RunResult, entry: dict[str, Any]) -> list[Finding]:
    cats = {CATEGORY_ALIASES.get(c, c) for c in entry["categories"]}
    return [f for f in result.findings if f.category in cats and f.code != "TFL510"]


def _mapping(value: object) -> dict[str, Any]:
    """A nested evidence mapping (frozen evidence thaws it to a list of [key, value] pairs)."""
    if isinstance(value, dict):
        return value
    if isinstance(value, list) and all(isinstance(p, list) and len(p) == 2 and isinstance(p[0], str) for p in value):
        return {p[0]: p[1] for p in value}
    return {}


def _ev_list(finding: Finding, key: str) -> list[Any]:
    value = finding.evidence_dict.get(key)
    return list(value) if isinstance(value, (list, tuple)) else []


def _check(aspect: str, entry: dict[str, Any], result: RunResult) -> str | None:
    """None when the aspect holds, else what is wrong."""
    found = _family_findings(result, entry)
    shown = describe(result.findings)
    if aspect == "category":
        cats = {CATEGORY_ALIASES.get(c, c) for c in entry["categories"]}
        lacking = cats - {f.category for f in found}
        return f"no finding of {sorted(lacking)}\n{shown}" if lacking else None
    if aspect == "severity":
        floor = Severity.parse(str(entry["min_severity"]))
        pool = result.findings if entry["chain"] else found  # a chain's strongest finding is its TFL510
        worst = max((f.severity for f in pool), default=None)
        return None if worst is not None and worst >= floor else f"strongest is {worst}, want >= {floor}\n{shown}"
    if aspect == "targets":
        reported = {t for f in found for t in _ev_list(f, "targets")}
        missing = [t for t in entry["targets"] if t not in reported]
        return f"targets {missing} not resolved (reported {sorted(reported)})\n{shown}" if missing else None
    if aspect == "not_targets":
        reported = {t for f in found for t in _ev_list(f, "targets")}
        wrong = [t for t in entry.get("not_targets", []) if t in reported]
        return f"decoys {wrong} reported as targets\n{shown}" if wrong else None
    if aspect == "reason":
        phrase = entry["reason"]
        if not phrase:
            return None
        reasons = [r for f in found for r in _ev_list(f, "unresolved")]
        return None if any(phrase in r for r in reasons) else f"no reason containing {phrase!r} in {reasons}\n{shown}"
    if aspect == "runs_at":
        want = entry["runs_at"]
        got = {f.evidence_dict.get("runs_at") for f in found}
        return None if want in got else f"runs_at {sorted(map(str, got))}, want {want!r}\n{shown}"
    if aspect == "reached":
        unreached = [f for f in found if not f.location.reached_from]
        if not found or unreached:
            return f"findings without reached_from\n{describe(unreached or found)}"
        if entry["runs_at"] == "inference" and not any(
                e.startswith(("signature:", "object:")) for f in found for e in f.location.reached_from):
            return f"not reached from a signature or method\n{shown}"
        return None
    if aspect == "chain":
        chains = [f for f in result.findings if f.code == "TFL510"]
        if not entry["chain"]:
            return f"unexpected TFL510\n{describe(chains)}" if chains else None
        good = [c for c in chains if c.severity == Severity.CRITICAL
                and _mapping(c.evidence_dict.get("source")).get("op") in entry["ops"]
                and _mapping(c.evidence_dict.get("sink")).get("op") in entry["ops"]]
        return None if good else f"no critical TFL510 from/to {entry['ops']}\n{shown}"
    if aspect == "payload":
        kinds = {k for f in found for k in _ev_list(f, "payload_kinds")}
        absent = [k for k in entry["payload"] if k not in kinds]
        return f"payload kinds {absent} not recognised (got {sorted(kinds)})\n{shown}" if absent else None
    raise AssertionError(aspect)


def _params() -> list[Any]:
    out = []
    for name in MODELS:
        for aspect in ASPECTS:
            reason = XFAILS.get((name, aspect))
            marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
            out.append(pytest.param(name, aspect, id=f"{name}-{aspect}", marks=marks))
    return out


def test_manifest_lists_the_expected_models(dataflow_fixtures: Path) -> None:
    models = _manifest(dataflow_fixtures)["models"]
    assert sorted(n for n, e in models.items() if not e["benign"]) == MODELS
    assert sorted(n for n, e in models.items() if e["benign"]) == BENIGN
    assert {n for n, _ in XFAILS} <= set(MODELS)


@pytest.mark.parametrize(("name", "aspect"), _params())
def test_fixture_aspect(dataflow_fixtures: Path, name: str, aspect: str) -> None:
    entry = _manifest(dataflow_fixtures)["models"][name]
    result = _result(dataflow_fixtures, name, entry)
    assert all(a.status.value == "ok" for a in result.artifacts), result.artifacts
    problem = _check(aspect, entry, result)
    assert problem is None, f"{name} [{aspect}] ({entry['note']}): {problem}"


@pytest.mark.parametrize("name", BENIGN)
def test_benign_fixture_is_silent(dataflow_fixtures: Path, name: str) -> None:
    entry = _manifest(dataflow_fixtures)["models"][name]
    result = _result(dataflow_fixtures, name, entry)
    assert all(a.status.value == "ok" for a in result.artifacts), result.artifacts
    loud = at_least(result.findings, Severity.LOW)
    assert not loud, describe(loud)


def test_variable_values_reach_the_models(dataflow_fixtures: Path) -> None:
    """The checkpoint hook keys each string variable by checkpoint key, object path,
    SavedVariable.name and the captured VarHandleOp's shared_name."""
    models = _manifest(dataflow_fixtures)["models"]
    for family in FAMILIES:
        entry = models[f"{family}_variable"]
        target = entry["targets"][0].encode()
        loaded = load_path(dataflow_fixtures / entry["path"], entry["path"], Limits(), savedmodel=True)
        values = variable_values(loaded.models[0])
        assert values["target/.ATTRIBUTES/VARIABLE_VALUE"] == (target,)
        assert values["target"] == (target,)  # SavedVariable.name and object path
        assert _handle_values(loaded.models[0], values) == [(target,)]  # the captured VarHandleOp
    entry = models["file_read_variable_unnamed"]
    model = load_path(dataflow_fixtures / entry["path"], entry["path"], Limits(), savedmodel=True).models[0]
    values = variable_values(model)
    assert values["target/.ATTRIBUTES/VARIABLE_VALUE"] == (b"/etc/passwd",)
    assert values["decoy/.ATTRIBUTES/VARIABLE_VALUE"] == (b"./decoy.txt",)
    assert values["target"] == (b"/etc/passwd",)  # the dotted object path is exact
    assert set(values["Variable"]) == {b"/etc/passwd", b"./decoy.txt", b"./other.txt"}  # shared name: union
    # The VarHandleOp the serving signature captures maps to the one variable it reads.
    graph = model.graph
    assert graph is not None
    call = next(nd for nd in graph.node_defs if nd.op == "StatefulPartitionedCall" and "serving_default_x" in nd.input)
    captured = [graph.node(i) for i in call.input[1:]]
    assert [values[nd.attr["shared_name"].s.decode()] for nd in captured if nd is not None] == [(b"/etc/passwd",)]
    entry = models["benign_string_variables"]
    model = load_path(dataflow_fixtures / entry["path"], entry["path"], Limits(), savedmodel=True).models[0]
    values = variable_values(model)
    for key, expected in entry["variables"].items():
        assert values[key] == tuple(v.encode() for v in expected)


@pytest.mark.parametrize("method", ["stored", "deflated"])
def test_variable_in_a_zipped_savedmodel(dataflow_fixtures: Path, tmp_path: Path, method: str) -> None:
    import zipfile

    entry = _manifest(dataflow_fixtures)["models"]["file_read_variable"]
    root = dataflow_fixtures / entry["path"]
    archive = tmp_path / "model.zip"
    mode = zipfile.ZIP_STORED if method == "stored" else zipfile.ZIP_DEFLATED
    with zipfile.ZipFile(archive, "w", mode) as zf:
        for path in sorted(root.rglob("*")):
            if path.is_file():
                zf.write(path, "model/" + path.relative_to(root).as_posix())
    result = lint(archive)
    reads = [f for f in result.findings if f.category == "file_read"]
    assert any("/etc/passwd" in _ev_list(f, "targets") for f in reads), describe(result.findings)


def _handle_values(model: Any, values: dict[str, tuple[bytes, ...]]) -> list[tuple[bytes, ...]]:
    """Values keyed by the shared_name of the top-level VarHandleOps of string variables."""
    out = []
    for nd in model.graph.node_defs:
        if nd.op == "VarHandleOp" and nd.attr["dtype"].type == 7:
            out.append(values[nd.attr["shared_name"].s.decode()])
    return out


def test_checkpoint_reader_matches_tensorflow(dataflow_fixtures: Path) -> None:
    """Every string tensor TensorFlow reads back, the reader returns too (within bounds)."""
    checkpoints = _manifest(dataflow_fixtures)["checkpoints"]
    assert len(checkpoints) >= 10
    assert any(c["num_shards"] > 1 for c in checkpoints.values())
    tensors = elements = 0
    for name, info in sorted(checkpoints.items()):
        prefix = dataflow_fixtures / info["prefix"]
        result = read_bundle(DirSource(prefix.parent, Limits()), Limits(), prefix=prefix.name)
        assert set(result.values) == set(info["values"]), name
        cap = DEFAULT_BOUNDS.max_element_bytes
        for key, encoded in info["values"].items():
            decoded = [base64.b64decode(v) for v in encoded[: DEFAULT_BOUNDS.max_elements]]
            expected = tuple(v[:cap] + (HOLE if len(v) > cap else b"") for v in decoded)  # a cut is marked
            assert result.values[key] == expected, (name, key)
            tensors += 1
            elements += len(expected)
    assert tensors >= 30 and elements >= 500
