"""Add-on op libraries: the extraction child's output -> committed data ->
signatures/addons/<dist>.json (no network, no add-on installed), and the
committed add-on files themselves. The real extraction (a throwaway venv with
downloads) is the slow, opt-in test at the end."""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest

from extract_tools import addons, review, signatures_build

HERE = Path(__file__).resolve().parent
FIX = HERE / "fixtures" / "addon"
REPO_ROOT = HERE.parent.parent
SCHEMA = REPO_ROOT / "signatures" / "tf_ops.schema.json"

# Wrapper source in the style TensorFlow generates for a loaded op library.
WRAPPERS = '''
def io_audio_readable_init(input, container="", shared_name="", name=None):
  """TODO: add doc."""
  _, _, _op, _outputs = _op_def_library._apply_op_helper(
        "IO>AudioReadableInit", input=input, container=container, shared_name=shared_name, name=name)
  return _outputs[:]


def io_file_init(input, container="", shared_name="", name=None):
  """TODO: add doc."""
  _, _, _op, _outputs = _op_def_library._apply_op_helper("IO>FileInit", input=input, name=name)
  return _outputs[:]
'''


def _raw(tmp_path: Path) -> tuple[dict[str, Any], Path]:
    raw = json.loads((FIX / "tensorflow_io_child_output.json").read_text())
    site = tmp_path / "site-packages"
    src = FIX / "site" / "tensorflow_io" / "python" / "ops" / "audio_ops.py.txt"
    dest = site / "tensorflow_io" / "python" / "ops" / "audio_ops.py"
    dest.parent.mkdir(parents=True)
    shutil.copyfile(src, dest)
    raw["python_files"] = [str(dest)]
    raw["wrappers"] = {"tensorflow_io/python/ops/libtensorflow_io.so": WRAPPERS}
    raw["libraries"]["tensorflow_io/python/ops/libtensorflow_io_ffmpeg_4.2.so"]["error"] += f" ({site}/x.so)"
    return raw, site


def test_child_output_to_data(tmp_path: Path) -> None:
    raw, site = _raw(tmp_path)
    a = addons.from_child_output(raw, ["tensorflow-cpu==2.16.2", "tensorflow-io==0.37.1"], site)
    assert (a.name, a.version, a.tensorflow, a.key, a.file_name) == (
        "tensorflow-io",
        "0.37.1",
        "2.16.2",
        "tensorflow_io",
        "tensorflow_io.json",
    )
    assert sorted(a.ops) == sorted(o["name"] for o in raw["ops"])
    audio = a.ops["IO>AudioReadableInit"]
    assert audio["python_api"] == ["io_audio_readable_init"]
    doc = "AudioIODataset: reads the samples of an audio file."  # the class documents __init__
    assert audio["python"] == [f"tensorflow_io/python/ops/audio_ops.py:AudioIODataset.__init__: {doc}"]
    assert audio["call_args"] == {"input": ["filename"]}  # positional argument 0 is the input `input`
    assert a.ops["IO>FileInit"]["call_args"] == {"input": ["filename"]}  # keyword argument
    assert a.ops["IO>ReadText"]["inputs"][0]["name"] == "filename"
    # the throwaway venv's path does not reach the committed data
    assert str(site) not in json.dumps(a.to_json())


def test_build_signatures(tmp_path: Path) -> None:
    raw, site = _raw(tmp_path)
    a = addons.from_child_output(raw, ["tensorflow-cpu==2.16.2", "tensorflow-io==0.37.1"], site)
    doc = addons.build(a, review.Decisions()).doc
    assert doc["library"] == {"name": "tensorflow-io", "tensorflow": "2.16.2", "version": "0.37.1"}
    assert doc["registry"] == sorted(a.ops) and "IO>DecodeJSON" in doc["registry"]
    assert "IO>DecodeJSON" not in doc["ops"]  # no capability: registered, not in ops
    read_text = doc["ops"]["IO>ReadText"]
    assert read_text["categories"] == ["file_read"]
    assert read_text["targets"] == [{"index": 0, "kind": "input", "name": "filename", "role": "path"}]
    assert read_text["versions"] == {"first": "0.37.1", "last": "0.37.1", "missing": []}
    assert read_text["provenance"] == ["registry:0.37.1"]
    # `input` is a path because the add-on's callers pass `filename` for it
    audio = doc["ops"]["IO>AudioReadableInit"]
    assert (audio["categories"], audio["targets"][0]["name"]) == (["file_read"], "input")
    assert doc["ops"]["IO>WriteKafka"]["categories"] == ["network_send"]
    assert doc["ops"]["IO>WriteKafka"]["targets"][0]["name"] == "servers"
    assert "network_send" in doc["ops"]["IO>KafkaOutputSequence"]["categories"]
    if SCHEMA.exists():
        pytest.importorskip("jsonschema")
        assert signatures_build.validate(doc, SCHEMA) == []
    # review decisions override fields, with the same rules as for TensorFlow's ops
    d = review.Decisions()
    d.items["IO>FileInit"] = review.Decision(
        "IO>FileInit", "accept", categories=["file_write"], reason="kernel opens a writable file"
    )
    d.items["IO>ReadText"] = review.Decision("IO>ReadText", "reject", reason="test")
    res = addons.build(a, d)
    assert res.doc["ops"]["IO>FileInit"]["categories"] == ["file_write"]
    assert res.doc["ops"]["IO>FileInit"]["targets"][0]["name"] == "input"  # still the evidence's
    assert "IO>ReadText" not in res.doc["ops"] and "IO>ReadText" in res.doc["registry"]
    assert res.reviewed.dropped == {"IO>ReadText": "rejected by decision: test"}


def test_data_round_trip_and_newest_release(tmp_path: Path) -> None:
    raw, site = _raw(tmp_path)
    a = addons.from_child_output(raw, ["x"], site)
    p = addons.save(a, tmp_path / "data")
    assert p.name == "tensorflow_io_0.37.1.json"
    old = addons.AddonData.from_json(json.loads(p.read_text()))
    old.version = "0.9.0"
    addons.save(old, tmp_path / "data")
    got = addons.load_all(tmp_path / "data")
    assert [(x.key, x.version) for x in got] == [("tensorflow_io", "0.37.1")]
    assert got[0].to_json() == a.to_json()
    assert addons.dist_key("tensorflow-text") == "tensorflow_text"


def _committed(key: str) -> dict[str, Any]:
    path = REPO_ROOT / "signatures" / "addons" / f"{key}.json"
    if not path.exists():
        pytest.skip(f"no committed {path.name}")
    doc: dict[str, Any] = json.loads(path.read_text())
    return doc


@pytest.mark.parametrize("key", ["tensorflow_io", "tensorflow_text"])
def test_committed_addon_files(key: str) -> None:
    doc = _committed(key)
    assert doc["schema_version"] == 1 and doc["library"]["name"] == key.replace("_", "-")
    assert doc["registry"] == sorted(doc["registry"]) and set(doc["ops"]) <= set(doc["registry"])
    tf_ops = json.loads((REPO_ROOT / "signatures" / "tf_ops.json").read_text())
    assert doc["categories"] == tf_ops["categories"]
    if SCHEMA.exists():
        pytest.importorskip("jsonschema")
        assert signatures_build.validate(doc, SCHEMA) == []


def test_tensorflow_io_file_op_is_covered() -> None:
    """A model using a tensorflow-io file op: the op, its category and its filename target."""
    doc = _committed("tensorflow_io")
    assert doc["library"] == {"name": "tensorflow-io", "tensorflow": "2.16.2", "version": "0.37.1"}
    e = doc["ops"]["IO>ReadText"]
    assert e["categories"] == ["file_read"]
    assert {"index": 0, "kind": "input", "name": "filename", "role": "path"} in e["targets"]
    assert doc["ops"]["IO>FileInit"]["categories"] == ["file_write"]  # a review decision (kernel checked)
    assert "IO>KafkaDataset" in doc["ops"] and "network_receive" in doc["ops"]["IO>KafkaDataset"]["categories"]


@pytest.mark.slow
@pytest.mark.skipif(
    not os.environ.get("TFMODEL_LINT_ADDON_EXTRACTION"),
    reason="downloads TensorFlow into a throwaway venv: set TFMODEL_LINT_ADDON_EXTRACTION=1 (maintainer action)",
)
def test_real_extraction_of_tensorflow_io() -> None:
    a = addons.extract("tensorflow-io==0.37.1", "tensorflow-cpu==2.16.2", python=sys.executable)
    assert a.tensorflow == "2.16.2" and a.version == "0.37.1"
    committed = json.loads((REPO_ROOT / "extract_tools" / "data" / "addons" / "tensorflow_io_0.37.1.json").read_text())
    assert sorted(a.ops) == sorted(committed["ops"])
