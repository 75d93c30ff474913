"""The committed inputs derived from ../shared: reference presence and threat-model op names."""

from __future__ import annotations

from pathlib import Path

import pytest

from extract_tools import inputs, presence

REPO_ROOT = Path(__file__).resolve().parent.parent.parent


def test_names_in_text() -> None:
    text = (
        "| file read | ReadFile; FixedLengthRecordDataset(V2); DataServiceDataset(V2..V4) |\n"
        "Other ops: CreateSummaryFileWriter/CreateSummaryDbWriter, Abort, misses While/If/Case bodies.\n"
        "3. Any string attribute is HIGH. Round-2 accuracy. modelscan misses Rpc*, `DatasetFromGraph` runs\n"
        "Any op, a Const named `filename`, tf.Event.\n"
    )
    got = inputs.names_in_text(text)
    for name in (
        "ReadFile",
        "FixedLengthRecordDataset",
        "FixedLengthRecordDatasetV2",
        "DataServiceDatasetV3",
        "DataServiceDatasetV4",
        "CreateSummaryDbWriter",
        "Abort",
        "While",
        "If",
        "Case",
        "DatasetFromGraph",
        "Const",
    ):
        assert name in got, name
    for name in ("Any", "Round", "Rpc", "Event", "DataServiceDatasetV5"):
        assert name not in got, name
    assert inputs.threat_model_ops(text, {"ReadFile", "Abort", "TextLineDataset"}) == ["Abort", "ReadFile"]


def test_presence_round_trip(tmp_path: Path) -> None:
    ref = tmp_path / "refs"
    ref.mkdir()
    (ref / "v1.0.0").write_text("a,  A,  tensorflow-v1.0.0/tensorflow/python/ops/gen_x.py\n")
    (ref / "v1.10.0").write_text("a,  A,  p\nb,  B,  p\n")
    (ref / "v1.2.0").write_text("b,  B,  p\n")
    p = inputs.presence_from_dir(ref)
    assert p.releases == ("1.0.0", "1.2.0", "1.10.0") and p.ops == {"A": "101", "B": "011"}
    inputs.save_presence(p, tmp_path / "p.json")
    again = inputs.load_presence(tmp_path / "p.json")
    assert again == p
    t = presence.PresenceTable()
    again.add_to(t)
    assert t.span("A") == {"first": "1.0.0", "last": "1.10.0", "missing": ["1.2.0"]}
    (tmp_path / "bad.json").write_text('{"releases": ["1.0.0"], "ops": {"A": "12"}}')
    with pytest.raises(ValueError, match="malformed"):
        inputs.load_presence(tmp_path / "bad.json")


def test_committed_inputs_are_consistent() -> None:
    p = inputs.load_presence()
    assert len(p.releases) == 32 and p.releases[0] == "1.0.0" and p.releases[-1] == "2.15.0"
    tm = inputs.load_threat_model()
    assert {"ReadFile", "DatasetFromGraph", "CreateSummaryDbWriter", "PyFuncStateless"} <= tm
    assert "TextLineDatasetV2" not in tm  # named in the threat model, but no such op exists
    shared = REPO_ROOT.parent / "shared"
    if (shared / "reference" / "persistext").is_dir():
        # the committed presence is what the lists say today
        assert inputs.presence_from_dir(shared / "reference" / "persistext") == p
