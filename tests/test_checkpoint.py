"""The tensor-bundle (checkpoint) reader: string variables read without TensorFlow.

Bundles here are written by a small table writer of the test (LevelDB table format, as
TensorFlow writes ``variables.index``), so every corner can be crafted: sparse
multi-gigabyte data files, bounds, shards, compressed blocks, corruption. The
comparison with bundles written by TensorFlow itself is in ``test_dataflow_fixtures``
(``checkpoints`` section of the dataflow fixture manifest).
"""

from __future__ import annotations

import io
import struct
import tarfile
import time
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tfmodel_lint.analysis.values import CUT, HOLE, Value, clip
from tfmodel_lint.limits import Limits
from tfmodel_lint.loaders import ArtifactError, Problem
from tfmodel_lint.loaders.archives import tar_headers
from tfmodel_lint.loaders.checkpoint import (
    BundleBounds,
    BundleResult,
    crc32c,
    mask_crc,
    read_bundle,
    read_string_variables,
    table_entries,
)
from tfmodel_lint.proto import tfmodel_lint_pb2 as pb
from tfmodel_lint.sources import Budget, DirSource, TarSource, ZipSource, sub, tar_member_name

MAGIC = 0xDB4775248B80FB57


# -- a minimal writer of TensorFlow's bundle format --------------------------------------


def varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def block(entries: list[tuple[bytes, bytes]], restart_interval: int = 4) -> bytes:
    out = bytearray()
    restarts = []
    prev = b""
    for i, (key, value) in enumerate(entries):
        if i % restart_interval == 0:
            restarts.append(len(out))
            shared = 0
        else:
            shared = 0
            while shared < min(len(prev), len(key)) and prev[shared] == key[shared]:
                shared += 1
        out += varint(shared) + varint(len(key) - shared) + varint(len(value)) + key[shared:] + value
        prev = key
    if not restarts:
        restarts = [0]
    for r in restarts:
        out += struct.pack("<I", r)
    out += struct.pack("<I", len(restarts))
    return bytes(out)


def table(entries: list[tuple[bytes, bytes]], per_block: int = 3, compression: int = 0) -> bytes:
    """A LevelDB-format table of sorted ``entries``."""
    out = bytearray()
    index = []

    def put(contents: bytes, kind: int = 0) -> bytes:
        handle = varint(len(out)) + varint(len(contents))
        trailer = bytes([kind])
        out.extend(contents + trailer + struct.pack("<I", mask_crc(crc32c(contents + trailer))))
        return handle

    for i in range(0, len(entries), per_block):
        chunk = entries[i:i + per_block]
        index.append((chunk[-1][0], put(block(chunk), compression)))
    meta = put(block([]))
    idx = put(block(index))
    footer = meta + idx
    footer += b"\0" * (40 - len(footer)) + struct.pack("<Q", MAGIC)
    return bytes(out + footer)


def string_tensor(values: list[bytes]) -> bytes:
    lengths = b"".join(varint(len(v)) for v in values)
    crc = mask_crc(crc32c(b"".join(struct.pack("<I", len(v)) for v in values)))
    return lengths + struct.pack("<I", crc) + b"".join(values)


def entry(dtype: int, shape: tuple[int, ...], shard: int, offset: int, size: int) -> bytes:
    e = pb.BundleEntryProto(dtype=dtype, shard_id=shard, offset=offset, size=size)
    for d in shape:
        e.shape.dim.add(size=d)
    return e.SerializeToString()


def header(num_shards: int = 1) -> bytes:
    h = pb.BundleHeaderProto(num_shards=num_shards)
    h.version.producer = 1
    return h.SerializeToString()


def write_bundle(
    root: Path, tensors: dict[str, list[bytes] | bytes], num_shards: int = 1, shard_of: dict[str, int] | None = None
) -> dict[str, bytes]:
    """Write ``variables/variables.index`` and shards; a ``bytes`` value is a float blob."""
    shards = [bytearray() for _ in range(num_shards)]
    rows = [(b"", header(num_shards))]
    for key in sorted(tensors):
        value = tensors[key]
        shard = (shard_of or {}).get(key, 0)
        data = shards[shard]
        offset = len(data)
        if isinstance(value, bytes):
            data += value
            rows.append((key.encode(), entry(1, (len(value) // 4,), shard, offset, len(value))))
        else:
            blob = string_tensor(value)
            data += blob
            shape = () if len(value) == 1 and not key.endswith("vec") else (len(value),)
            rows.append((key.encode(), entry(7, shape, shard, offset, len(blob))))
    files = {"variables/variables.index": table(rows)}
    for i, shard_data in enumerate(shards):
        files[f"variables/variables.data-{i:05d}-of-{num_shards:05d}"] = bytes(shard_data)
    for name, blob in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(blob)
    return files


def read(root: Path, bounds: BundleBounds | None = None) -> BundleResult:
    src = DirSource(root, Limits())
    return read_bundle(src, Limits(), bounds) if bounds else read_bundle(src, Limits())


KEY = "target/.ATTRIBUTES/VARIABLE_VALUE"


# -- tests -------------------------------------------------------------------------------


def test_crc32c_and_mask_match_known_values() -> None:
    assert crc32c(b"123456789") == 0xE3069283  # the CRC-32C check value
    assert mask_crc(0) == 0xA282EAD8


def test_reads_strings_skips_weights_and_object_graph(tmp_path: Path) -> None:
    write_bundle(tmp_path, {
        KEY: [b"/etc/passwd"],
        "a/vec": [b"x", "中文/é".encode(), b"", b"\x00\xff"],
        "b/.ATTRIBUTES/VARIABLE_VALUE": struct.pack("<4f", 1, 2, 3, 4),
        "_CHECKPOINTABLE_OBJECT_GRAPH": [b"\x0a\x00"],
        "e/vec": [],
    })
    values = read_string_variables(DirSource(tmp_path, Limits()), Limits())
    assert values == {KEY: (b"/etc/passwd",), "a/vec": (b"x", "中文/é".encode(), b"", b"\x00\xff"), "e/vec": ()}


def test_many_entries_many_blocks(tmp_path: Path) -> None:
    tensors: dict[str, list[bytes] | bytes] = {f"v{i:04d}/x": [f"/p/{i}".encode()] for i in range(500)}
    write_bundle(tmp_path, tensors)
    result = read(tmp_path)
    assert result.values == {k: tuple(v) for k, v in tensors.items()}


def test_sparse_2gb_data_file_is_not_read(tmp_path: Path) -> None:
    """A 2 GiB (sparse) shard: the string after the weights is reached by seeking."""
    size = 2 * 1024**3
    blob = string_tensor([b"grpc://10.0.0.5:1111"])
    offset = size - len(blob)
    rows = [
        (b"", header()),
        (b"big/.ATTRIBUTES/VARIABLE_VALUE", entry(1, ((size - 64) // 4,), 0, 0, size - 64)),
        (KEY.encode(), entry(7, (), 0, offset, len(blob))),
    ]
    var = tmp_path / "variables"
    var.mkdir()
    (var / "variables.index").write_bytes(table(rows))
    data = var / "variables.data-00000-of-00001"
    with data.open("wb") as fh:
        fh.truncate(offset)
        fh.seek(offset)
        fh.write(blob)
    assert data.stat().st_size == size
    t0 = time.perf_counter()
    result = read(tmp_path)
    elapsed = time.perf_counter() - t0
    assert result.values == {KEY: (b"grpc://10.0.0.5:1111",)}
    assert result.bytes_read == len(blob)
    assert elapsed < 1.0


def test_bounds_elements_element_bytes_and_lengths(tmp_path: Path) -> None:
    long = b"A" * 10_000 + b"/etc/passwd"
    many = [f"/x/{i}".encode() for i in range(1000)]
    write_bundle(tmp_path, {"a/vec": many, "b/vec": [long, b"/etc/shadow"]})
    result = read(tmp_path)
    values = result.values
    assert values["a/vec"] == tuple(many[:64])
    # The long element is cut and marked (a hole, so never read as a shorter string); the
    # element after it is still found.
    assert values["b/vec"] == (long[:4096] + HOLE, b"/etc/shadow")
    assert any("element 0 is 10011 bytes, only the first 4096 read" in n for n in result.notes)
    # As a variable's value in the string interpreter, it carries the cut's reason.
    assert CUT in Value(tuple(clip(v) for v in values["b/vec"]), True).unknowns
    assert any("1000 elements" in n for n in result.notes)
    small = BundleBounds(max_elements=2, max_element_bytes=3, max_tensor_bytes=4096)
    values = read(tmp_path, small).values
    assert values["a/vec"] == (b"/x/" + HOLE, b"/x/" + HOLE)


def test_lengths_past_the_tensor_byte_bound_are_skipped_with_a_note(tmp_path: Path) -> None:
    write_bundle(tmp_path, {"a/vec": [b"x"] * 5000, KEY: [b"/etc/passwd"]})
    result = read(tmp_path, BundleBounds(max_tensor_bytes=1024))
    assert result.values == {KEY: (b"/etc/passwd",)}
    assert any("do not fit" in n for n in result.notes)


def test_total_byte_budget(tmp_path: Path) -> None:
    write_bundle(tmp_path, {f"v{i}/vec": [b"y" * 3000] * 4 for i in range(10)})
    result = read(tmp_path, BundleBounds(max_total_bytes=20_000))
    assert result.bytes_read <= 20_000 + 4096
    assert any("rest not read" in n for n in result.notes)


def test_several_shards(tmp_path: Path) -> None:
    write_bundle(tmp_path, {KEY: [b"/etc/passwd"], "o/vec": [b"a", b"b"], "w": b"\0" * 64},
                 num_shards=3, shard_of={KEY: 2, "o/vec": 1})
    assert read(tmp_path).values == {KEY: (b"/etc/passwd",), "o/vec": (b"a", b"b")}


def test_missing_or_truncated_shard_gives_notes(tmp_path: Path) -> None:
    files = write_bundle(tmp_path, {KEY: [b"/etc/passwd"], "z/vec": [b"q" * 100]})
    shard = tmp_path / "variables/variables.data-00000-of-00001"
    shard.write_bytes(files["variables/variables.data-00000-of-00001"][:20])
    result = read(tmp_path)
    assert result.values[KEY] == (b"/etc/passwd",)
    assert result.notes
    shard.unlink()
    result = read(tmp_path)
    assert result.values == {}
    assert any("missing" in n for n in result.notes)


def test_bad_lengths_checksum_is_noted(tmp_path: Path) -> None:
    write_bundle(tmp_path, {KEY: [b"/etc/passwd"]})
    shard = tmp_path / "variables/variables.data-00000-of-00001"
    data = bytearray(shard.read_bytes())
    data[1] ^= 0xFF
    shard.write_bytes(bytes(data))
    result = read(tmp_path)
    assert result.values[KEY] == (b"/etc/passwd",)
    assert any("checksum" in n for n in result.notes)


def test_snappy_block_is_reported_not_decoded(tmp_path: Path) -> None:
    rows = [(b"", header()), (KEY.encode(), entry(7, (), 0, 0, 16))]
    var = tmp_path / "variables"
    var.mkdir()
    (var / "variables.index").write_bytes(table(rows, compression=1))
    (var / "variables.data-00000-of-00001").write_bytes(string_tensor([b"/etc/passwd"]))
    with pytest.raises(ArtifactError) as err:  # the header lives in that block too
        read(tmp_path)
    assert err.value.problem is Problem.MALFORMED
    # header in an uncompressed block, the variable in a snappy one: partial, reported
    index = bytearray(table(rows, per_block=1))
    index[_block_end_after(bytes(index), index.index(KEY.encode()))] = 1
    (var / "variables.index").write_bytes(bytes(index))
    result = read(tmp_path)
    assert result.values == {}
    assert any("snappy" in p for p in result.problems)


def _block_end_after(index: bytes, pos: int) -> int:
    """Offset of the trailer of the data block holding ``pos`` (walk the index block)."""
    from tfmodel_lint.loaders.checkpoint import _block_entries, _block_handle

    footer = len(index) - 48
    _m, _ms, p = _block_handle(index, footer, len(index))
    off, size, _ = _block_handle(index, p, len(index))
    for _sep, handle in _block_entries(memoryview(index)[off:off + size], 100):
        o, s, _ = _block_handle(handle, 0, len(handle))
        if o <= pos < o + s:
            return o + s
    raise AssertionError("not found")


def test_every_truncation_of_an_index_is_an_artifact_error_or_partial(tmp_path: Path) -> None:
    files = write_bundle(tmp_path, {KEY: [b"/etc/passwd"], "a/vec": [b"x", b"y"], "w": b"\0" * 8})
    index = files["variables/variables.index"]
    path = tmp_path / "variables/variables.index"
    for n in range(len(index)):
        path.write_bytes(index[:n])
        try:
            read(tmp_path)
        except ArtifactError as exc:
            assert exc.problem is Problem.MALFORMED


def test_not_a_bundle_and_no_header(tmp_path: Path) -> None:
    var = tmp_path / "variables"
    var.mkdir()
    (var / "variables.index").write_bytes(b"\0" * 100)
    with pytest.raises(ArtifactError, match="magic"):
        read(tmp_path)
    (var / "variables.index").write_bytes(table([(KEY.encode(), entry(7, (), 0, 0, 16))]))
    with pytest.raises(ArtifactError, match="header"):
        read(tmp_path)
    (var / "variables.index").write_bytes(table([(b"", header()), (KEY.encode(), b"\xff\xff\xff")]))
    with pytest.raises(ArtifactError, match="not a valid protobuf") as err:
        read(tmp_path)
    assert err.value.problem is Problem.MALFORMED


def test_no_variables_directory(tmp_path: Path) -> None:
    assert read(tmp_path).values == {}


_BASE: dict[str, bytes] = {}


def _base_bundle(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, bytes]]:
    root = tmp_path_factory.mktemp("fuzz")
    files = write_bundle(root, {KEY: [b"/etc/passwd"], "a/vec": [b"x", b"y" * 300], "w": b"\0" * 64})
    return root, files


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_corrupted_bundles_never_crash(tmp_path_factory: pytest.TempPathFactory, data: st.DataObject) -> None:
    if not _BASE:
        root, files = _base_bundle(tmp_path_factory)
        _BASE.update(files)
        _BASE["root"] = str(root).encode()
    root = Path(_BASE["root"].decode())
    name = data.draw(st.sampled_from(["variables/variables.index", "variables/variables.data-00000-of-00001"]))
    blob = bytearray(_BASE[name])
    for _ in range(data.draw(st.integers(1, 6))):
        pos = data.draw(st.integers(0, len(blob) - 1))
        blob[pos] = data.draw(st.integers(0, 255))
    (root / name).write_bytes(bytes(blob))
    try:
        result = read(root)
        for values in result.values.values():
            assert len(values) <= 64 and all(len(v) <= 4096 for v in values)
    except ArtifactError as exc:
        assert exc.problem is Problem.MALFORMED
    finally:
        (root / name).write_bytes(_BASE[name])


def _zip(files: dict[str, bytes], method: int, prefix: str = "") -> zipfile.ZipFile:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method) as zf:
        for name, data in files.items():
            zf.writestr(prefix + name, data)
    return zipfile.ZipFile(io.BytesIO(buf.getvalue()))


@pytest.mark.parametrize("method", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED])
def test_zip_sources(tmp_path: Path, method: int) -> None:
    files = write_bundle(tmp_path, {KEY: [b"/etc/passwd"], "w": b"\1" * 4096, "z/vec": [b"a", b"b"]})
    zf = _zip(files, method, "model/")
    source = sub(ZipSource(zf, {i.filename: i for i in zf.infolist()}, Limits(), Budget(Limits())), "model")
    result = read_bundle(source, Limits())
    assert result.values == {KEY: (b"/etc/passwd",), "z/vec": (b"a", b"b")}


def test_tar_source(tmp_path: Path) -> None:
    files = write_bundle(tmp_path, {KEY: [b"/etc/passwd"], "w": b"\1" * 4096})
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo("./m/" + name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    tar = tarfile.open(fileobj=io.BytesIO(buf.getvalue()))
    members = {tar_member_name(m): m for m in tar_headers(tar, Limits()) if m.isreg()}
    source = sub(TarSource(tar, members, Limits(), Budget(Limits())), "m")
    assert read_bundle(source, Limits()).values == {KEY: (b"/etc/passwd",)}


def test_table_reader_agrees_with_writer_on_random_tables() -> None:
    from tfmodel_lint.loaders.checkpoint import DEFAULT_BOUNDS

    @settings(max_examples=60, deadline=None)
    @given(st.dictionaries(st.binary(min_size=1, max_size=12), st.binary(max_size=40), max_size=40),
           st.integers(1, 7))
    def check(rows: dict[bytes, bytes], per_block: int) -> None:
        entries = sorted(rows.items())
        got = [(k, bytes(v)) for k, v in table_entries(table(entries, per_block), DEFAULT_BOUNDS, BundleResult())]
        assert got == entries

    check()


def test_hostile_lengths_and_offsets(tmp_path: Path) -> None:
    """Element lengths and entry offsets near 2**63 are notes, never seeks that overflow."""
    huge = 1 << 62
    lengths = varint(huge) + varint(5)
    blob = lengths + struct.pack("<I", 0) + b"/etc/passwd"
    rows = [
        (b"", header()),
        (b"a/vec", entry(7, (2,), 0, 0, len(blob))),
        (b"b", entry(7, (), 0, (1 << 63) - 10, 5)),
        (b"c/vec", entry(7, (1 << 40,), 0, 0, len(blob))),
    ]
    var = tmp_path / "variables"
    var.mkdir()
    (var / "variables.index").write_bytes(table(rows))
    (var / "variables.data-00000-of-00001").write_bytes(blob)
    result = read(tmp_path)
    assert "b" not in result.values
    assert result.values["a/vec"][0] == b"/etc/passwd"  # element 0's first bytes; element 1 is past the end
    assert len(result.notes) >= 2
