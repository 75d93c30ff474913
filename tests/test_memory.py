"""Memory bounded by the limits (issue 16): each hostile input that once took gigabytes
is generated here (``tests/memory_inputs.py``), linted next to a normal model in a child
process whose peak RSS is measured (``os.wait4``: upb's allocations are invisible to
tracemalloc), and must end in the finding that names the limit, with the normal model's
findings kept, no traceback and no exit 3. The child runs under an address-space cap
so that a regression fails the test instead of exhausting the machine.
"""

from __future__ import annotations

import json
import os
import re
import struct
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import pytest

from tests import memory_inputs as mi
from tfmodel_lint.limits import LimitExceededError, Limits

ROOT = Path(__file__).resolve().parent.parent
GOOD = ROOT / "examples" / "models" / "malicious_reader"
MiB = 1 << 20
#: Address space a measured lint may map (a regression ends in MemoryError, not swap).
ADDRESS_SPACE = 3 << 30


class Measured:
    """One lint in a child process: its exit code, JSON report and peak RSS."""

    def __init__(self, rc: int, report: dict[str, Any] | None, peak: int, stderr: str) -> None:
        self.rc, self.report, self.peak, self.stderr = rc, report, peak, stderr
        self.own_peak = peak  # the linter alone (without the HDF5 reader)

    @property
    def findings(self) -> list[dict[str, Any]]:
        assert self.report is not None, self.stderr[-3000:]
        return list(self.report["findings"])

    def of(self, name: str) -> list[dict[str, Any]]:
        """Findings on the artifact whose path ends with ``name``."""
        return [f for f in self.findings if f["artifact"].endswith(name)]

    def __repr__(self) -> str:
        shown = [(f["code"], f["severity"], f["message"][:160]) for f in self.findings] if self.report else None
        return (f"Measured(rc={self.rc}, peak={self.peak / MiB:.0f} MiB, findings={shown}, "
                f"stderr={self.stderr[-500:]!r})")


#: A small launcher starts the lint and reports its peak RSS from ``wait4`` (the child
#: and what it reaped, such as the HDF5 reader). Not started from the test process: a
#: child's peak counts the memory of the process it was forked from until its exec.
_LAUNCHER = """
import json, os, resource, subprocess, sys
cap, out, err = int(sys.argv[1]), sys.argv[2], sys.argv[3]
def limit():
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
with open(out, "wb") as o, open(err, "wb") as e:
    p = subprocess.Popen(sys.argv[4:], stdout=o, stderr=e, stdin=subprocess.DEVNULL, preexec_fn=limit)
    _, status, usage = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
print(json.dumps([p.returncode, usage.ru_maxrss * 1024]))
"""


def measured_run(cmd: list[str]) -> tuple[int, bytes, str, int]:
    """(exit code, stdout, stderr, peak RSS in bytes) of ``cmd`` under the address-space cap."""
    with tempfile.TemporaryDirectory() as tmp:
        out, err = Path(tmp, "out"), Path(tmp, "err")
        launched = subprocess.run([sys.executable, "-I", "-c", _LAUNCHER, str(ADDRESS_SPACE), str(out), str(err), *cmd],
                                  capture_output=True, text=True, check=True, cwd=str(ROOT))
        rc, peak = json.loads(launched.stdout)
        return rc, out.read_bytes(), err.read_bytes().decode("utf-8", "replace"), peak


#: The linter's own peak, without the processes it starts (the HDF5 reader): its
#: mm's high-water mark, written after the report.
_OWN_PEAK = """
import re, sys
from tfmodel_lint.cli import main
code = main(sys.argv[1:])
status = open("/proc/self/status").read()
sys.stderr.write("\\nown-peak-kib %s\\n" % re.search(r"VmHWM:\\s+(\\d+)", status).group(1))
sys.exit(code)
"""


def measured_lint(*paths: Path, args: tuple[str, ...] = ()) -> Measured:
    """``tfmodel-lint PATHS -f json --exit-zero ARGS`` in a child, measured."""
    argv = [*map(str, paths), "-f", "json", "--exit-zero", *args]
    rc, text, errors, peak = measured_run([sys.executable, "-c", _OWN_PEAK, *argv])
    try:
        report = json.loads(text)
    except ValueError:
        report = None
    run = Measured(rc, report, peak, errors)
    found = re.search(r"own-peak-kib (\d+)", errors)
    run.own_peak = int(found.group(1)) * 1024 if found else peak
    return run


@pytest.fixture(scope="module")
def baseline() -> int:
    """Peak RSS of linting the normal model alone: start-up and a small model."""
    run = measured_lint(GOOD)
    assert run.rc == 0 and run.findings, run
    return run.peak


def assert_limited(run: Measured, name: str, limit: str) -> None:
    """The hostile artifact gives exactly one TFL903 (high) naming ``limit``; the normal
    model keeps its ReadFile finding; no internal error, no traceback."""
    assert run.rc == 0, run
    assert "Traceback" not in run.stderr, run
    assert not run.report or not run.report.get("internal_errors"), run
    mine = run.of(name)
    assert [(f["code"], f["severity"]) for f in mine] == [("TFL903", "high")], run
    assert f"limit {limit}=" in mine[0]["message"], run
    assert any(f["code"] == "TFL201" and f["artifact"].endswith(GOOD.name) for f in run.findings), run


# -- 1. repeated protobuf fields ------------------------------------------------------------

#: Elements written per case: past the default limit that guards it. The graph is
#: streamed (larger than STREAM_MIN_BYTES) and was decoded whole before.
REPEATED = {
    "string_val": (5_000_000, "max-elements"),
    "int64_val": (5_000_000, "max-elements"),
    "int_val": (5_000_000, "max-elements"),
    "float_val": (4_500_000, "max-elements"),
    "dims": (5_000_000, "max-elements"),
    "inputs": (5_000_000, "max-elements"),
    "list_s": (5_000_000, "max-elements"),
    "function_args": (1_000_000, "max-elements"),  # 8 elements each: a whole ArgDef struct
    "nodes": (5_200_000, "max-nodes"),
    "function_nodes": (5_200_000, "max-nodes"),
}


@pytest.mark.parametrize("case", sorted(REPEATED))
def test_repeated_fields_are_refused_before_they_are_decoded(case: str, tmp_path: Path, baseline: int) -> None:
    count, limit = REPEATED[case]
    path = mi.protobuf_case(tmp_path, case, count)
    run = measured_lint(path, GOOD)
    assert_limited(run, path.name, limit)
    # Before: 20 MB of these took 0.5-1.4 GB. Nodes up to max-nodes are merged (16 bytes
    # each); elements past max-elements never are.
    allowed = (256 if limit == "max-nodes" else 64) * MiB
    assert run.peak - baseline < allowed, run


@pytest.mark.parametrize("case", ["string_val", "dims", "function_args", "function_nodes"])
def test_a_lowered_limit_applies_to_small_and_archived_graphs(case: str, tmp_path: Path) -> None:
    """The same inputs, small (parsed whole) and as a zip member (streamed from memory),
    with the limit lowered: each is refused naming the setting."""
    small = mi.protobuf_case(tmp_path, case, 3000)
    (tmp_path / "big").mkdir()
    member = mi.protobuf_case(tmp_path / "big", case, 400_000).read_bytes()  # 800 KB: streamed
    archived = tmp_path / "a.zip"
    archived.write_bytes(mi.zip_bytes([("m/big.pb", member)], zipfile.ZIP_STORED))
    flag = ("--max-nodes", "2000") if case.endswith("nodes") else ("--max-elements", "2000")
    run = measured_lint(small, archived, GOOD, args=flag)
    limit = f"{flag[0][2:]}=2000"
    for name in (small.name, archived.name):
        mine = run.of(name)
        assert [(f["code"], f["severity"]) for f in mine] == [("TFL903", "high")], run
        assert limit in mine[0]["message"], run


def test_text_protobuf_is_counted_before_it_is_parsed(tmp_path: Path) -> None:
    path = tmp_path / "g.pbtxt"
    path.write_bytes(b'node { name: "big" op: "Const" attr { key: "value" value { tensor { dtype: DT_STRING '
                     + b'string_val: ["' + b'", "'.join([b""] * 5000) + b'"] } } } }\n')
    run = measured_lint(path, GOOD, args=("--max-elements", "4000"))
    assert_limited(run, path.name, "max-elements")
    assert "text GraphDef" in run.of(path.name)[0]["message"], run


def test_models_within_the_limits_are_unchanged(tmp_path: Path) -> None:
    """Just under each limit nothing is refused and the reader is found."""
    for case in ("string_val", "function_args"):
        path = mi.protobuf_case(tmp_path, case, 20_000)
        run = measured_lint(path, args=("--max-elements", "400000"))
        assert [f["code"] for f in run.of(path.name)] == ["TFL201"], run


def _reference_count(msg: Any) -> int:
    """Elements of a parsed message by the rule of ``protowire`` (README, max-elements),
    counted from the message protobuf parsed, not from its bytes."""
    from tfmodel_lint.loaders.protowire import weight

    total = 0
    for fd, value in msg.ListFields():
        kind = fd.message_type
        if kind is not None and kind.GetOptions().map_entry:
            inner = kind.fields_by_name["value"].message_type
            for key in value:  # an entry, its key and its value
                total += 1 + weight(kind) + 2
                if inner is not None:
                    total += weight(inner) + _reference_count(value[key])
        elif fd.is_repeated:
            total += sum(1 + weight(kind) + _reference_count(v) for v in value) if kind is not None else len(value)
        else:
            total += 1 + (weight(kind) + _reference_count(value) if kind is not None else 0)
    return total


def test_wire_count_matches_the_parsed_message(tf_fixtures: Path) -> None:
    """The wire-format count of every real SavedModel of the fixtures (TensorFlow-built)
    equals the count of the message upb parses (fields the schema leaves out dropped)."""
    from tfmodel_lint.loaders.protowire import count_message
    from tfmodel_lint.proto import tfmodel_lint_pb2 as pb

    files = sorted(tf_fixtures.rglob("saved_model.pb"))
    assert files
    for path in files:
        msg = pb.SavedModel.FromString(path.read_bytes())
        msg.DiscardUnknownFields()
        assert count_message(pb.SavedModel.DESCRIPTOR, msg.SerializeToString(), 10**12, "x") == \
            _reference_count(msg), path


def test_wire_count_of_packed_repeated_and_nested_fields() -> None:
    from tfmodel_lint.loaders.protowire import count_message
    from tfmodel_lint.proto import tfmodel_lint_pb2 as pb

    t = pb.TensorProto(dtype=9, int64_val=[0, 1, 300, -1, 2**40], float_val=[1.5, 2.5], string_val=[b"", b"x"],
                       bool_val=[True, False, True])
    t.tensor_shape.dim.add(size=3)
    t.tensor_shape.dim.add()
    nd = pb.NodeDef(name="n", op="Const", input=["a", "b"])
    nd.attr["value"].tensor.CopyFrom(t)
    nd.attr["l"].list.i.extend(range(1000))
    nd.attr["f"].func.attr["inner"].list.s.extend([b"p"] * 7)
    data = nd.SerializeToString()
    assert count_message(pb.NodeDef.DESCRIPTOR, data, 10**9, "x") == _reference_count(nd)
    with pytest.raises(LimitExceededError, match="max-elements=100"):
        count_message(pb.NodeDef.DESCRIPTOR, data, 100, "node 'n'")
    # What does not parse ends the count (the parse then fails there).
    assert count_message(pb.NodeDef.DESCRIPTOR, data[:-3] + b"\xff\xff\xff", 10**9, "x") < _reference_count(nd)


def test_stream_threshold_keeps_whole_parses_under_the_default() -> None:
    """A file parsed whole (below STREAM_MIN_BYTES) cannot decode to more than the
    default max-elements, which is why it is not counted."""
    from tfmodel_lint.loaders import protowire, tf_graph

    assert protowire.UNITS_PER_BYTE >= (2 + protowire.max_weight()) // 2
    assert (tf_graph.STREAM_MIN_BYTES - 1) * protowire.UNITS_PER_BYTE <= Limits().max_elements


# -- 2. a zip central directory of millions of entries ---------------------------------------


@pytest.mark.parametrize("variant", ["", "small", "decoy"])
def test_zip_directory_is_counted_where_zipfile_reads_it(variant: str, tmp_path: Path, baseline: int) -> None:
    """300,000 entries (14 MB; 10 million took 4 GB): the classic end record, a Zip64
    record the classic one contradicts, or a Zip64 locator pointing at a decoy record.
    zipfile reads the directory the Zip64 record names; so does the check."""
    path = mi.zip_many_entries(tmp_path / f"entries{variant}.zip", 300_000, variant)
    with zipfile.ZipFile(path) as zf:  # the directory zipfile sees really is that large
        assert len(zf.infolist()) == 300_000
    run = measured_lint(path, GOOD)
    assert_limited(run, path.name, "max-archive-entries")
    assert run.peak - baseline < 32 * MiB, run


def test_zip_entry_count_is_checked_before_zipfile_parses(tmp_path: Path, baseline: int) -> None:
    """A directory small in bytes but past the entry limit: refused by the count."""
    path = mi.zip_many_entries(tmp_path / "entries.zip", 20_001)
    run = measured_lint(path, GOOD)
    assert_limited(run, path.name, "max-archive-entries")
    assert "holds more than 10000 members" in run.of(path.name)[0]["message"]


def test_zip_entry_with_thousands_of_extra_blocks(tmp_path: Path) -> None:
    """zipfile decodes an entry's extra-field blocks in quadratic time (2,000 entries of
    16,000 empty blocks ran into the 120 s budget)."""
    path = mi.zip_fat_directory(tmp_path / "fat.zip", 10, 65532)
    run = measured_lint(path, GOOD)
    assert_limited(run, path.name, "max-archive-entries")
    assert "extra-field blocks" in run.of(path.name)[0]["message"]


def test_zip_with_ordinary_extra_fields_is_read(tmp_path: Path) -> None:
    """Real extra fields (Zip64, timestamps, one large alignment padding block) pass."""
    path = tmp_path / "m.zip"
    with zipfile.ZipFile(path, "w") as zf:
        info = zipfile.ZipInfo("model.pb")
        timestamp = struct.pack("<HHB", 0x5455, 5, 1) + b"\x00" * 4
        info.extra = timestamp + struct.pack("<HH", 0xD935, 4000) + b"\0" * 4000
        zf.writestr(info, mi.reader_nodes())
    run = measured_lint(path)
    assert [f["code"] for f in run.of(path.name)] == ["TFL201"], run


# -- 3. HDF5: a huge variable-length model_config -------------------------------------------


def test_hdf5_reader_cap_scales_with_max_config_bytes(tmp_path: Path) -> None:
    """The reader's data segment is its own needs plus room for one attribute of
    max-config-bytes: lowering the limit lowers the cap (it was 512 MiB at least)."""
    from tfmodel_lint.loaders.keras_h5 import H5Reader

    path = mi.h5_vlen_config(tmp_path / "small.h5", 1000)
    caps = []
    reader = H5Reader()
    try:
        for size in (1 * MiB, 8 * MiB):
            reader.read(str(path), Limits(max_config_bytes=size))
            assert reader._proc is not None
            limits = Path(f"/proc/{reader._proc.pid}/limits").read_text()
            caps.append(int(re.search(r"Max data size\s+(\d+)", limits).group(1)))  # type: ignore[union-attr]
    finally:
        reader.close()
    assert caps[1] - caps[0] >= 3 * 7 * MiB  # room for the attribute, decoded and copied
    assert caps[0] < 320 * MiB


def test_hdf5_attribute_larger_than_the_reader_cap_is_the_limit(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """An attribute the capped reader cannot hold ends in an allocation failure there,
    reported as max-config-bytes; the reader is restarted for the next file."""
    from tfmodel_lint.errors import LimitExceededError
    from tfmodel_lint.loaders import keras_h5

    monkeypatch.setattr(keras_h5, "READER_BASE_BYTES", 96 * MiB)  # h5py needs ~55 MB
    big = mi.h5_vlen_config(tmp_path / "big.h5", 32 * MiB)
    small = mi.h5_vlen_config(tmp_path / "small.h5", 1000)
    reader = keras_h5.H5Reader()
    limits = Limits(max_config_bytes=MiB)
    try:
        with pytest.raises(LimitExceededError, match="max-config-bytes=1048576") as info:
            reader.read(str(big), limits)
        assert "larger than the reader may hold" in str(info.value)
        assert reader.read(str(small), limits)["model_config"]
    finally:
        reader.close()


def test_hdf5_config_over_the_limit_never_reaches_the_linter(tmp_path: Path, baseline: int) -> None:
    """A 16 MiB model_config with max-config-bytes at 1 MiB: refused naming the limit;
    the reader held it, the linter's own memory did not grow with it."""
    path = mi.h5_vlen_config(tmp_path / "m.h5", 16 * MiB)
    run = measured_lint(path, GOOD, args=("--max-config-bytes", str(MiB)))
    assert_limited(run, path.name, "max-config-bytes")
    assert run.own_peak - baseline < 8 * MiB, run


def test_hdf5_size_counts_only_where_it_is_read_into_memory(tmp_path: Path, baseline: int) -> None:
    """max-file-bytes bounds what is read into memory: an .h5 member of a zip (read as
    bytes) over it is refused naming it; an .h5 on disk of 600 MiB (sparse weights) is
    linted, since only its root attributes are read (VGG16's .h5 is 528 MB)."""
    member = mi.h5_vlen_config(tmp_path / "m.h5", MiB).read_bytes()
    archived = tmp_path / "a.zip"
    archived.write_bytes(mi.zip_bytes([("m.h5", member)], zipfile.ZIP_STORED))
    run = measured_lint(archived, GOOD, args=("--max-file-bytes", str(MiB // 2)))
    assert_limited(run, archived.name, "max-file-bytes")
    big = mi.h5_vlen_config(tmp_path / "big.h5", 1000)
    os.truncate(big, 600 * MiB)  # libhdf5 reads a file longer than its data
    run = measured_lint(big)
    assert run.rc == 0 and not run.findings, run
    assert run.peak - baseline < 64 * MiB, run


def test_keras_archive_on_disk_is_not_refused_for_its_size(tmp_path: Path, baseline: int) -> None:
    """A .keras of 600 MiB (a sparse stretch before its members, which zipfile allows):
    linted, the Lambda found; only its directory and config are read."""
    path = tmp_path / "big.keras"
    config = json.dumps({"module": "keras", "class_name": "Sequential", "config": {"name": "s", "layers": [
        {"module": "keras.layers", "class_name": "Lambda", "config": {"name": "lam", "function": {
            "class_name": "__lambda__", "config": {"code": "not-base64", "defaults": None, "closure": None}}}}]}})
    data = mi.zip_bytes([("config.json", config.encode()), ("metadata.json", b"{}"), ("model.weights.h5", b"")])
    with path.open("wb") as fh:
        fh.truncate(600 * MiB)
        fh.seek(600 * MiB)
        fh.write(data)
    run = measured_lint(path)
    assert run.rc == 0 and "Traceback" not in run.stderr, run
    assert not [f for f in run.findings if f["code"] == "TFL903"], run
    assert any("Lambda" in f["message"] for f in run.findings), run
    assert run.peak - baseline < 64 * MiB, run


# -- 4. TF.js: one shard listed 1,000 times -----------------------------------------------


@pytest.mark.parametrize("variant", ["one group", "spellings", "groups"])
def test_tfjs_shard_listed_a_thousand_times(variant: str, tmp_path: Path, baseline: int) -> None:
    """A 2 MiB shard listed 1,000 times (2 GB once concatenated): the weights are read
    by range, as TF.js would see them, so the ReadFile target is still found; nothing
    grows with the listing. One group, 1,000 spellings of the path (``./``,
    ``d/../``), or 1,000 groups."""
    path = mi.tfjs_repeated_shard(tmp_path / "m", 1000, 2 * MiB, spellings=variant == "spellings",
                                  groups=variant == "groups")
    run = measured_lint(path)
    codes = {(f["code"], f["severity"]) for f in run.findings}
    assert ("TFL201", "high") in codes, run
    assert "/etc/passwd" in next(f["message"] for f in run.findings if f["code"] == "TFL201")
    if variant != "groups":
        assert any("same shard more than once" in f["message"] for f in run.findings), run
    assert run.rc == 0 and "Traceback" not in run.stderr, run
    assert run.peak - baseline < 32 * MiB, run


def test_tfjs_weights_read_within_a_budget(tmp_path: Path, baseline: int) -> None:
    """100 string constants of 4,096 strings of 4 KiB, all from one 16 MiB shard: at
    most 32 MiB of weights are read for a model (each group read up to 512 MiB), the
    rest is reported as a limit, and the ReadFile target (read first) is kept."""
    path = mi.tfjs_string_groups(tmp_path / "m", 100, 4096, 4096)
    run = measured_lint(path)
    assert run.rc == 0 and "Traceback" not in run.stderr, run
    limited = [f for f in run.findings if f["code"] == "TFL903"]
    assert limited and limited[0]["severity"] == "high" and "bytes of weights" in limited[0]["message"], run
    assert any(f["code"] == "TFL201" and "etc/passwd" in f["message"] for f in run.findings), run
    assert run.peak - baseline < 160 * MiB, run


def test_tfjs_long_string_weight_is_cut_where_the_interpreter_cuts(tmp_path: Path) -> None:
    """A 1 MiB string weight: read up to the interpreter's 4,096 bytes, marked cut, and
    reported at least high (never a shorter, harmless-looking path)."""
    from tfmodel_lint.analysis.values import MAX_LEN
    from tfmodel_lint.loaders.tfjs import STRING_READ

    assert STRING_READ == MAX_LEN
    path = mi.tfjs_string_groups(tmp_path / "m", 1, 1, MiB)
    run = measured_lint(path)
    reads = [f for f in run.findings if f["artifact"].endswith("model.json") and f["severity"] in ("high", "critical")]
    assert reads and "cut" in reads[0]["message"], run


# -- 5. a checkpoint whose string tensors re-inflate a deflated shard ------------------------


def test_checkpoint_reads_in_a_zip_bomb_are_refused_before_inflating(tmp_path: Path, baseline: int) -> None:
    """64 string tensors, each 64 MiB into a deflated shard of zeros, in a 66 KB zip:
    refused before inflating (the ratio is known from the offset), naming the limit;
    the zipped SavedModel's own graph and the model next to it keep their findings."""
    path = mi.checkpoint_zip(tmp_path / "ckpt.zip", 64, 64 * MiB)
    run = measured_lint(path, GOOD)
    assert run.rc == 0 and "Traceback" not in run.stderr, run
    mine = run.of(path.name)
    assert ("TFL903", "high") in {(f["code"], f["severity"]) for f in mine}, run
    assert "limit max-compression-ratio=200" in next(f["message"] for f in mine if f["code"] == "TFL903"), run
    assert any(f["code"] == "TFL201" for f in mine), run
    assert any(f["code"] == "TFL201" and f["artifact"].endswith(GOOD.name) for f in run.findings), run
    assert run.peak - baseline < 32 * MiB, run


def test_checkpoint_reads_count_against_the_archive_budget(tmp_path: Path) -> None:
    """A shard under the ratio limit (about 50x): each tensor's read inflates 16 MiB,
    all counted against max-archive-bytes (40 MiB here). The budget stops the reads;
    the values read before it are kept, and what was not read is said."""
    from tfmodel_lint.loaders.checkpoint import read_bundle
    from tfmodel_lint.sources import Budget, ZipSource, sub

    path = mi.checkpoint_zip(tmp_path / "ckpt.zip", 8, 16 * MiB, fill=mi.runs(16 * MiB))
    limits = Limits(max_archive_bytes=40 * MiB)
    budget = Budget(limits, path.stat().st_size)
    with zipfile.ZipFile(path) as zf:
        source = sub(ZipSource(zf, {i.filename: i for i in zf.infolist()}, limits, budget), "m")
        result = read_bundle(source, limits)
    assert set(result.values) == {"v00000/.ATTRIBUTES/VARIABLE_VALUE", "v00001/.ATTRIBUTES/VARIABLE_VALUE"}
    assert result.limited and any("max-archive-bytes" in note for note in result.notes), result.notes
    assert budget.used <= limits.max_archive_bytes


# -- 6. an ordinary .keras: memory does not grow with the weights ---------------------------


@pytest.mark.tf
@pytest.mark.slow
def test_keras_archive_memory_does_not_grow_with_its_weights() -> None:
    """A real Keras 3 .keras with 134 MB of weights and its 16-unit twin: the same
    peak (the archive is opened where it lies; model.weights.h5 is never read). A
    154 MB VGG16 .keras took 173 MiB when archives were read whole."""
    from tests.conftest import build_cached

    out = build_cached("build_large_keras.py")
    large, small = out / "large.keras", out / "small.keras"
    assert large.stat().st_size > 128 * MiB
    runs = {path.name: measured_lint(path) for path in (small, large)}
    for name, run in runs.items():
        assert [(f["code"], f["severity"]) for f in run.findings] == [("TFL110", "medium")], run
        assert "Lambda layer" in run.findings[0]["message"] and name.split(".")[0] in run.findings[0]["message"]
    assert runs["large.keras"].peak - runs["small.keras"].peak < 16 * MiB, runs
