"""Hostile input: every case is linted together with a valid model in the same run; the
case yields the expected artifact finding (or is tolerated where noted), never a
traceback or an internal error, and the valid model is still linted.

Inputs are made here (archives, protobufs, JSON, flatbuffers); the TFLite and TF.js
cases start from the real fixtures of ``build_format_fixtures.py``.
"""

from __future__ import annotations

import base64
import gzip
import io
import json
import os
import random
import struct
import tarfile
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import build_cached
from tests.helpers import lint, remove_tree
from tests.quines import gzip_quine, tar_gz_quine, zip_quine
from tests.wire_bytes import const_string, deep_attr, field, node, reader_graphdef, str_attr, varint
from tfmodel_lint.limits import Limits

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "models"
GOOD = EXAMPLES / "malicious_reader"
REGRESSIONS = Path(__file__).resolve().parent / "fixtures" / "fuzz_regressions"
LFS = b"version https://git-lfs.github.com/spec/v1\noid sha256:" + b"0" * 64 + b"\nsize 1234\n"


@pytest.fixture(scope="module")
def fmt() -> Path:
    return build_cached("build_format_fixtures.py")


# -- byte builders (shared: tests/wire_bytes.py) --------------------------------------

def zip_bytes(members: list[tuple[str, bytes]], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method) as zf:
        for name, data in members:
            zf.writestr(name, data)
    return buf.getvalue()


def tar_bytes(entries: list[tarfile.TarInfo | tuple[str, bytes]], mode: str = "w") -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode=mode) as tar:  # type: ignore[call-overload]
        for entry in entries:
            if isinstance(entry, tarfile.TarInfo):
                tar.addfile(entry)
            else:
                info = tarfile.TarInfo(entry[0])
                info.size = len(entry[1])
                tar.addfile(info, io.BytesIO(entry[1]))
    return buf.getvalue()


def tar_link(name: str, kind: bytes, target: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = target
    return info


def patch_zip(data: bytes, local: dict[int, bytes], central: dict[int, bytes]) -> bytes:
    """Overwrite bytes at offsets of the first local header and first central record."""
    buf = bytearray(data)
    cd = struct.unpack_from("<I", buf, buf.rfind(b"PK\x05\x06") + 16)[0]
    for off, value in local.items():
        buf[off:off + len(value)] = value
    for off, value in central.items():
        buf[cd + off:cd + off + len(value)] = value
    return bytes(buf)


def unnamed_zip(content: bytes) -> bytes:
    """A zip whose only member has an empty name (zipfile cannot write one)."""
    data = bytearray(zip_bytes([("a", content)], zipfile.ZIP_STORED))
    eocd = data.rfind(b"PK\x05\x06")
    cd_size, cd_off = struct.unpack_from("<II", data, eocd + 12)
    local = data[:cd_off]
    record = data[cd_off:cd_off + cd_size]
    tail = bytearray(data[eocd:])
    struct.pack_into("<H", local, 26, 0)
    struct.pack_into("<H", record, 28, 0)
    local = local[:30] + local[31:]
    record = record[:46] + record[47:]
    struct.pack_into("<II", tail, 12, cd_size - 1, cd_off - 1)
    return bytes(local + record + tail)


def overlapping_zip() -> bytes:
    """Two central-directory entries sharing one local entry (non-recursive zip bomb)."""
    data = bytearray(zip_bytes([("a.tflite", b"\x00" * 5000)]))
    eocd = data.rfind(b"PK\x05\x06")
    cd_size, cd_off = struct.unpack_from("<II", data, eocd + 12)
    record = bytearray(data[cd_off:cd_off + cd_size])
    twin = bytearray(record)
    twin[46:46 + 8] = b"b.tflite"
    out = data[:cd_off] + record + twin
    eocd_rec = bytearray(data[eocd:eocd + 22])
    struct.pack_into("<HHII", eocd_rec, 8, 2, 2, cd_size * 2, cd_off)
    return bytes(out + eocd_rec)


def nested_zip(levels: int, leaf: bytes, name: str = "m.zip") -> bytes:
    data = zip_bytes([("model.pb", leaf)])
    for _ in range(levels):
        data = zip_bytes([(name, data)])
    return data


def wide_nested_zip() -> bytes:
    """42.zip in miniature: 4 copies per level, 5 levels, zeros at the leaves."""
    data = zip_bytes([("zeros.pb", b"\x00" * (3 << 20))])
    for level in range(5):
        data = zip_bytes([(f"l{level}_{i}.zip", data) for i in range(4)])
    return data


def nested_gzip(levels: int) -> bytes:
    data = reader_graphdef()
    for _ in range(levels):
        data = gzip.compress(data, mtime=0)
    return data


def deep_json(levels: int) -> bytes:
    return b'{"modelTopology": ' + b"[" * levels + b"]" * levels + b"}"


def flat_offsets_bomb() -> bytes:
    """A TFLite flatbuffer whose operators vector repeats one shared Operator table with a
    large inputs vector: tiny on disk, quadratic to walk naively."""
    import flatbuffers  # type: ignore[import-untyped]

    n = 4000
    b = flatbuffers.Builder(1024)
    b.StartVector(4, n, 4)
    for _ in range(n):
        b.PrependInt32(0)
    inputs = b.EndVector()
    b.StartObject(3)  # Operator: opcode_index(0), inputs(1), outputs(2)
    b.PrependUOffsetTRelativeSlot(1, inputs, 0)
    op = b.EndObject()
    b.StartVector(4, n, 4)
    for _ in range(n):
        b.PrependUOffsetTRelative(op)
    ops = b.EndVector()
    b.StartObject(4)  # SubGraph: tensors(0), inputs(1), outputs(2), operators(3)
    b.PrependUOffsetTRelativeSlot(3, ops, 0)
    sg = b.EndObject()
    b.StartVector(4, 1, 4)
    b.PrependUOffsetTRelative(sg)
    sgs = b.EndVector()
    b.StartObject(4)  # OperatorCode: builtin ADD
    b.PrependInt32Slot(3, 0, -1)
    code = b.EndObject()
    b.StartVector(4, 1, 4)
    b.PrependUOffsetTRelative(code)
    codes = b.EndVector()
    b.StartObject(3)  # Model: version(0), operator_codes(1), subgraphs(2)
    b.PrependUOffsetTRelativeSlot(1, codes, 0)
    b.PrependUOffsetTRelativeSlot(2, sgs, 0)
    model = b.EndObject()
    b.Finish(model, file_identifier=b"TFL3")
    return bytes(b.Output())


# -- the cases -------------------------------------------------------------------------


@dataclass
class Case:
    name: str
    build: Callable[[Path, Path], Path]  # (tmp_path, fixtures) -> path to lint
    codes: tuple[str, ...]  # each must be reported for the case ("" : nothing required)
    limits: Limits | None = None
    needs_fixtures: bool = False
    tolerated: bool = False  # no artifact error expected: linted normally


def _file(name: str, data: bytes | Callable[[], bytes]) -> Callable[[Path, Path], Path]:
    def build(tmp: Path, fx: Path) -> Path:
        path = tmp / name
        path.write_bytes(data() if callable(data) else data)
        return path

    return build


def _from_fixture(rel: str, name: str, mutate: Callable[[bytes], bytes]) -> Callable[[Path, Path], Path]:
    def build(tmp: Path, fx: Path) -> Path:
        path = tmp / name
        path.write_bytes(mutate((fx / rel).read_bytes()))
        return path

    return build


def _tfjs_dir(doc: Callable[[dict[str, object]], dict[str, object]], shard: Callable[[bytes], bytes] = lambda b: b,
              raw: bytes | None = None) -> Callable[[Path, Path], Path]:
    def build(tmp: Path, fx: Path) -> Path:
        src = fx / "tfjs" / "graph_reader"
        out = tmp / "web"
        out.mkdir()
        base = json.loads((src / "model.json").read_text())
        (out / "model.json").write_bytes(raw if raw is not None else json.dumps(doc(base)).encode())
        (out / "group1-shard1of1.bin").write_bytes(shard((src / "group1-shard1of1.bin").read_bytes()))
        return out / "model.json"

    return build


def _savedmodel_dir(content: bytes) -> Callable[[Path, Path], Path]:
    def build(tmp: Path, fx: Path) -> Path:
        d = tmp / "sm"
        d.mkdir()
        (d / "saved_model.pb").write_bytes(content)
        return d

    return build


def _junk_dir(tmp: Path, fx: Path) -> Path:
    d = tmp / "junk"
    (d / "sub").mkdir(parents=True)
    (d / "notes.txt").write_text("hello")
    (d / "sub" / "data.csv").write_text("a,b\n1,2\n")
    return d


def _junk_models_dir(tmp: Path, fx: Path) -> Path:
    d = tmp / "junkmodels"
    d.mkdir()
    rng = random.Random(3)
    for name in ("a.pb", "b.tflite", "c.meta", "d.pbtxt", "model.json"):
        (d / name).write_bytes(bytes(rng.getrandbits(8) for _ in range(300)))
    return d


def _symlink_out(tmp: Path, fx: Path) -> Path:
    outside = tmp / "outside"
    outside.mkdir()
    (outside / "secret.pb").write_bytes(reader_graphdef())
    scanned = tmp / "scanned"
    scanned.mkdir()
    (scanned / "model.pb").symlink_to(outside / "secret.pb")
    (scanned / "linked_dir").symlink_to(outside, target_is_directory=True)
    return scanned


def _fifo_dir(tmp: Path, fx: Path) -> Path:
    d = tmp / "pipes"
    d.mkdir()
    os.mkfifo(d / "model.pb")  # opening it would block until a writer comes
    os.mkfifo(d / "weights.tflite")
    return d


def _nest(base: Path, levels: int) -> Path:
    path = base
    for _ in range(levels):  # os.makedirs recurses per level too
        path = path / "d"
        path.mkdir()
    return path


def _deep_dir(tmp: Path, fx: Path) -> Path:
    """A checkout 1100 directories deep: os.walk recursed per level (RecursionError ended
    the whole run)."""
    root = tmp / "deep"
    root.mkdir()
    (_nest(root, 1100) / "model.pb").write_bytes(reader_graphdef())
    return root


def _deep_savedmodel_assets(tmp: Path, fx: Path) -> Path:
    import shutil

    sm = tmp / "sm"
    shutil.copytree(GOOD, sm)
    (sm / "assets").mkdir(exist_ok=True)
    (_nest(sm / "assets", 1100) / "vocab.txt").write_text("a\n")  # listed by Path.rglob, recursive too
    return sm


def _savedmodel_symlink_out(tmp: Path, fx: Path) -> Path:
    outside = tmp / "elsewhere.pb"
    outside.write_bytes(GOOD.joinpath("saved_model.pb").read_bytes())
    d = tmp / "linked_sm"
    d.mkdir()
    (d / "saved_model.pb").symlink_to(outside)
    return d


def _lfs_savedmodel(tmp: Path, fx: Path) -> Path:
    return _savedmodel_dir(LFS)(tmp, fx)


def _tflite_mut(mutate: Callable[[bytes], bytes]) -> Callable[[Path, Path], Path]:
    return _from_fixture("tflite/flex_reader.tflite", "model.tflite", mutate)


def _rand(n: int, seed: int) -> bytes:
    rng = random.Random(seed)
    return bytes(rng.getrandbits(8) for _ in range(n))


def _flip_flex_options(data: bytes) -> bytes:
    """Corrupt the FlexBuffer of the first Flex op (its NodeDef bytes) in place."""
    at = data.find(b"\x12\x08ReadFile")  # NodeDef.op = "ReadFile" inside the FlexBuffer
    buf = bytearray(data)
    buf[at:at + 10] = b"\xff" * 10
    return bytes(buf)


def _huge_string_count(data: bytes) -> bytes:
    at = data.find(b"/etc/passwd") - 12  # string tensor header: count, 2 offsets
    buf = bytearray(data)
    buf[at:at + 4] = struct.pack("<i", 1 << 28)
    return bytes(buf)


def _bad_opcode_index(data: bytes) -> bytes:
    # Rewrite every opcode_index field value 0..3 is hard to find; instead point the root
    # offset into the identifier so every table read is garbage.
    return struct.pack("<I", 4) + data[4:]


def _tar_gz_bomb() -> bytes:
    return tar_bytes([("zeros.tflite", b"\x00" * (24 << 20))], mode="w:gz")


def _tar_many() -> bytes:
    return tar_bytes([(f"f{i}.txt", b"x") for i in range(60)])


def _huge_declared_tar() -> bytes:
    info = tarfile.TarInfo("huge.tflite")
    info.size = 1 << 40
    return info.tobuf() + b"\x00" * 1024


def _graph_many_nodes() -> bytes:
    return reader_graphdef() + b"".join(field(1, node(f"n{i}".encode(), b"NoOp")) for i in range(3000))


SMALL_STRINGS = Limits(max_string_bytes=1024)


def _long_string_graph(where: str, size: int = 2048) -> bytes:
    """A GraphDef (with the ReadFile reader) holding one string of ``size`` bytes."""
    long = b"A" * size
    if where == "const":
        extra = const_string(b"big", long)
    elif where == "node_name":
        extra = node(long, b"NoOp")
    elif where == "attr":
        extra = node(b"p", b"PrintV2", (b"fname",), str_attr(b"output_stream", long))
    elif where == "attr_key":
        extra = node(b"p", b"NoOp", attrs=str_attr(long, b"x"))
    else:  # an input name
        extra = node(b"i", b"Identity", (long,))
    return reader_graphdef() + field(1, extra)


def _meta_with_long_signature_key() -> bytes:
    from tfmodel_lint.proto import tfmodel_lint_pb2 as pb

    mg = pb.MetaGraphDef()
    mg.graph_def.ParseFromString(reader_graphdef())
    sig = mg.signature_def["k" * 2048]
    sig.method_name = "tensorflow/serving/predict"
    sig.inputs["x"].name = "fname:0"
    return bytes(mg.SerializeToString())


def _keras_zip_with_long_string(size: int) -> bytes:
    text = base64.b64encode(random.Random(11).randbytes(size * 3 // 4 + 3)).decode()[:size]
    config = {"class_name": "Sequential", "config": {"name": "seq", "layers": [
        {"class_name": "Dense", "config": {"name": "d", "units": 1, "note": text}}]}}
    return zip_bytes([("config.json", json.dumps(config).encode()), ("metadata.json", b"{}")])


def _zip_of_keras_archives() -> bytes:
    """Five .keras members, each inflating a 3 KB config.json: over a 10 KB budget only when
    the members' own decompression counts against the outer archive's budget."""
    config = json.dumps({"class_name": "Sequential", "config": {"name": "s", "layers": [], "pad": "x" * 3000}})
    keras = zip_bytes([("config.json", config.encode()), ("metadata.json", b"{}")])
    return zip_bytes([(f"m{i}.keras", keras) for i in range(5)], zipfile.ZIP_STORED)


def _symlink_zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        info = zipfile.ZipInfo("model.pb")
        info.external_attr = (0o120777 << 16)
        zf.writestr(info, "/etc/passwd")
    return buf.getvalue()


def _dup_zip() -> bytes:
    import warnings

    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with zipfile.ZipFile(buf, "w") as zf:
            zf.writestr("model.pb", b"junk")
            zf.writestr("model.pb", reader_graphdef())
    return buf.getvalue()


def _graph_many_functions() -> bytes:
    library = b"".join(field(1, field(1, field(1, f"f{i}".encode()))) for i in range(10))  # FunctionDef.signature.name
    return reader_graphdef() + field(2, library)


def _identity_chain(n: int) -> bytes:
    """ReadFile('/etc/passwd') behind ``n`` Identity nodes: deeper than the interpreter follows."""
    chain = b"".join(field(1, node(f"c{i}".encode(), b"Identity", (f"c{i - 1}".encode(),))) for i in range(1, n))
    return (field(1, const_string(b"c0", b"/etc/passwd")) + chain
            + field(1, node(b"read", b"ReadFile", (f"c{n - 1}".encode(),))))


def _tfjs_many_nodes(n: int) -> bytes:
    nodes = [{"name": f"n{i}", "op": "Identity", "input": [f"n{i - 1}" if i else "x"],
              "attr": {"T": {"type": "DT_STRING"}}} for i in range(n)]
    return json.dumps({"format": "graph-model", "modelTopology": {"node": nodes}}).encode()


def _tar_symlink_then_through_it() -> bytes:
    """The classic extraction escape: a symlink 'd' -> /etc, then a file 'd/x.pb'."""
    return tar_bytes([tar_link("d", tarfile.SYMTYPE, "/etc"), ("d/x.pb", reader_graphdef())])


def _tar_pax_size_lie() -> bytes:
    info = tarfile.TarInfo("m.pb")
    info.size = 10
    info.pax_headers = {"size": str(10**15)}
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        tar.addfile(info, io.BytesIO(b"x" * 10))
    return buf.getvalue()


def _zip_eocd_count_lies() -> bytes:
    data = bytearray(zip_bytes([("model.pb", reader_graphdef())]))
    eocd = data.rfind(b"PK\x05\x06")
    struct.pack_into("<HH", data, eocd + 8, 65535, 65535)
    return bytes(data)


CASES: list[Case] = [
    # -- zip ----------------------------------------------------------------------------
    Case("zip_slip_dotdot", _file("a.zip", zip_bytes([("../../evil.tflite", b"x")])), ("TFL905",)),
    Case("zip_absolute_name", _file("a.zip", zip_bytes([("/etc/cron.d/evil", b"x")])), ("TFL905",)),
    Case("zip_windows_absolute", _file("a.zip", zip_bytes([("C:\\evil.pb", b"x")])), ("TFL905",)),
    Case("zip_backslash_dotdot", _file("a.zip", zip_bytes([("..\\..\\evil.pb", b"x")])), ("TFL905",)),
    Case("zip_symlink_member", _file("a.zip", _symlink_zip), ("TFL905",)),
    Case("zip_duplicate_names", _file("a.zip", _dup_zip), ("TFL905",)),
    Case("zip_encrypted_entry", _file("a.zip", lambda: patch_zip(
        zip_bytes([("model.tflite", b"TFL3" * 10)]), {6: b"\x01"}, {8: b"\x01"})), ("TFL905",)),
    Case("zip_unsupported_method", _file("a.zip", lambda: patch_zip(
        zip_bytes([("model.tflite", b"TFL3" * 10)], zipfile.ZIP_STORED), {8: b"\x63\x00"}, {10: b"\x63\x00"})),
        ("TFL902",)),
    Case("zip_bad_crc", _file("a.zip", lambda: patch_zip(
        zip_bytes([("model.pb", reader_graphdef())], zipfile.ZIP_STORED), {14: b"\xde\xad\xbe\xef"},
        {16: b"\xde\xad\xbe\xef"})), ("TFL902",)),
    Case("zip_bomb_ratio", _file("bomb.zip", lambda: zip_bytes([("model.pb", b"\x00" * (30 << 20))])), ("TFL903",)),
    Case("zip_overlapping_entries", _file("overlap.zip", overlapping_zip), ("TFL905",)),
    Case("zip_nested_too_deep", _file("deep.zip", lambda: nested_zip(6, reader_graphdef())), ("TFL903",)),
    Case("zip_self_similar_quine_like", _file("q.zip", lambda: nested_zip(12, b"", name="q.zip")), ("TFL903",)),
    Case("zip_nested_wide_bomb", _file("42.zip", wide_nested_zip), ("TFL903",)),
    Case("zip_quine", _file("r.zip", zip_quine), ("TFL903",)),
    Case("zip_truncated", _file("t.zip", lambda: zip_bytes([("model.pb", reader_graphdef())])[:-30]), ("TFL902",)),
    Case("zip_empty_archive", _file("e.zip", lambda: zip_bytes([])), ("TFL904",)),
    Case("zip_only_junk", _file("j.zip", lambda: zip_bytes([("readme.txt", b"hi"), ("data.csv", b"1")])), ("TFL904",)),
    Case("zip_garbage_member", _file("g.zip", lambda: zip_bytes([("m.tflite", _rand(500, 1))])), ("TFL902",)),
    Case("zip_too_many_entries", _file("many.zip", lambda: zip_bytes([(f"f{i}", b"") for i in range(40)])),
         ("TFL903",), limits=Limits(max_archive_entries=20)),
    Case("zip_lfs_member", _file("l.zip", lambda: zip_bytes([("model.pb", LFS)])), ("TFL906",)),
    Case("zip_member_over_archive_budget", _file("big.zip", lambda: zip_bytes([("model.pb", _rand(5000, 2))])),
         ("TFL903",), limits=Limits(max_archive_bytes=1000)),
    Case("zip_member_over_file_limit", _file("f.zip", lambda: zip_bytes([("model.pb", b"\x00" * 30_000)])),
         ("TFL903",), limits=Limits(max_file_bytes=20_000)),
    Case("zip_member_name_too_long", _file("n.zip", lambda: zip_bytes([("m" * 2000 + ".pb", b"x")])), ("TFL903",),
         limits=SMALL_STRINGS),
    Case("zip_eocd_count_lies", _file("c.zip", _zip_eocd_count_lies), ("TFL201",), tolerated=True),
    Case("zip_many_models_time_budget", _file("slow.zip", lambda: zip_bytes(
        [(f"m{i}/model.pb", reader_graphdef()) for i in range(9000)])), ("TFL903",), limits=Limits(time_budget=0.1)),
    Case("zip_of_keras_archives_shares_budget", _file("k.zip", _zip_of_keras_archives), ("TFL903",),
         limits=Limits(max_archive_bytes=10_000)),  # each .keras had a budget of its own
    Case("zip_empty_member_name", _file("n.zip", lambda: unnamed_zip(reader_graphdef())),
         ("TFL905",)),  # found by fuzzing: zipfile.ZipInfo.is_dir() raised IndexError
    # -- tar / gzip ---------------------------------------------------------------------
    Case("tar_dotdot", _file("a.tar", lambda: tar_bytes([("../evil.pb", b"x")])), ("TFL905",)),
    Case("tar_absolute", _file("a.tar", lambda: tar_bytes([("/etc/evil.pb", b"x")])), ("TFL905",)),
    Case("tar_symlink", _file("a.tar", lambda: tar_bytes([tar_link("model.pb", tarfile.SYMTYPE, "/etc/passwd")])),
         ("TFL905",)),
    Case("tar_hardlink", _file("a.tar", lambda: tar_bytes([tar_link("model.pb", tarfile.LNKTYPE, "/etc/shadow")])),
         ("TFL905",)),
    Case("tar_device", _file("a.tar", lambda: tar_bytes([tar_link("dev.pb", tarfile.CHRTYPE)])), ("TFL905",)),
    Case("tar_duplicate", _file("a.tar", lambda: tar_bytes([("m.pb", b"x"), ("m.pb", reader_graphdef())])),
         ("TFL905",)),
    Case("tar_gz_bomb", _file("bomb.tgz", _tar_gz_bomb), ("TFL903",)),
    Case("tar_many_entries", _file("many.tar", _tar_many), ("TFL903",), limits=Limits(max_archive_entries=20)),
    Case("tar_symlink_then_member_through_it", _file("a.tar", _tar_symlink_then_through_it), ("TFL905",)),
    Case("tar_member_name_too_long", _file("n.tar", lambda: tar_bytes([("m" * 2000 + ".pb", b"x")])), ("TFL903",),
         limits=SMALL_STRINGS),
    Case("tar_pax_size_lie", _file("p.tar", _tar_pax_size_lie), ("TFL902",)),
    Case("tar_gz_over_file_limit", _file("f.tgz", lambda: tar_bytes([("m.pb", b"\x00" * 30_000)], mode="w:gz")),
         ("TFL903",), limits=Limits(max_file_bytes=20_000)),
    Case("tar_gz_quine", _file("r.tar.gz", tar_gz_quine), ("TFL903",)),
    Case("tar_truncated", _file("t.tar", lambda: tar_bytes([("m.pb", reader_graphdef() * 20)])[:700]), ("TFL902",)),
    Case("tar_huge_declared_member", _file("h.tar", _huge_declared_tar), ("TFL902",)),
    Case("tar_member_over_archive_budget", _file("b.tar", lambda: tar_bytes([("m.pb", _rand(5000, 5))])),
         ("TFL903",), limits=Limits(max_archive_bytes=1000)),
    Case("gzip_truncated", _file("m.pb.gz", lambda: gzip.compress(reader_graphdef() * 50)[:60]), ("TFL902",)),
    Case("gzip_corrupt_stream", _file("m.pb.gz", lambda: b"\x1f\x8b\x08\x00" + _rand(200, 4)), ("TFL902",)),
    Case("gzip_nested_too_deep", _file("m.pb.gz", lambda: nested_gzip(7)), ("TFL903",)),
    Case("gzip_bomb", _file("z.pb.gz", lambda: gzip.compress(b"\x00" * (30 << 20))), ("TFL903",)),
    Case("gzip_trailing_garbage", _file("t.pb.gz", lambda: gzip.compress(reader_graphdef()) + b"garbage"),
         ("TFL201",), tolerated=True),
    Case("gzip_quine", _file("q.pb.gz", lambda: gzip_quine("q.pb.gz")), ("TFL903",)),
    # -- protobuf -----------------------------------------------------------------------
    Case("pb_deep_nesting", _file("deep.pb", lambda: field(1, node(b"n", b"Identity", attrs=field(
        5, field(1, b"x") + field(2, deep_attr(150)))))), ("TFL903",)),
    Case("pbtxt_deep_nesting", _file("deep.pbtxt", lambda: b"node { name: 'n' op: 'NoOp' attr { key: 'a' value { "
                                      + b"func { name: 'f' attr { key: 'a' value { " * 400 + b"} } " * 400
                                      + b"} } }\n"), ("TFL903",)),
    Case("pb_too_many_nodes", _file("many.pb", _graph_many_nodes), ("TFL903",), limits=Limits(max_nodes=1000)),
    Case("pb_over_file_limit", _file("big.pb", lambda: reader_graphdef() + field(1, node(
        b"pad", b"NoOp", attrs=str_attr(b"x", b"A" * 30_000)))), ("TFL903",), limits=Limits(max_file_bytes=20_000)),
    Case("pb_too_many_functions", _file("f.pb", _graph_many_functions), ("TFL903",), limits=Limits(max_functions=5)),
    Case("pb_dataflow_too_deep", _file("chain.pb", lambda: _identity_chain(3000)), ("TFL501",)),
    Case("pb_length_past_end", _file("l.pb", lambda: b"\x0a" + varint(1 << 30) + b"abc"), ("TFL902",)),
    Case("pb_overlong_varint", _file("v.pb", b"\x08" + b"\xff" * 11), ("TFL902",)),
    # Binary protobuf has no magic: these GraphDefs read as JSON ('\n[': a first node of 91
    # bytes) and as a text proto ('meta_info_def {|' is two fixed-width unknown fields and
    # an empty group) by their first bytes. Both were TFL902 with the ReadFile unseen.
    Case("pb_graphdef_that_sniffs_as_json", _file("j.pb", lambda: field(
        1, const_string(b"fname", b"/" * 50 + b"etc/passwd")) + field(1, node(b"read", b"ReadFile", (b"fname",)))),
        ("TFL201",), tolerated=True),
    Case("pb_graphdef_that_sniffs_as_text", _file("t.pb", lambda: b"meta_info_def {|" + reader_graphdef()),
         ("TFL201",), tolerated=True),
    Case("pb_huge_repeated_packed", _file("shape.pb", lambda: reader_graphdef() + field(1, node(
        b"s", b"Placeholder", attrs=field(5, field(1, b"shape") + field(2, field(7, field(
            2, b"".join(field(2, varint(1 << 3) + varint(5)) for _ in range(50000))))))))), (), tolerated=True),
    Case("pb_string_const_too_long", _file("s.pb", lambda: _long_string_graph("const")), ("TFL903",),
         limits=SMALL_STRINGS),
    Case("pb_node_name_too_long", _file("s.pb", lambda: _long_string_graph("node_name")), ("TFL903",),
         limits=SMALL_STRINGS),
    Case("pb_attr_string_too_long", _file("s.pb", lambda: _long_string_graph("attr")), ("TFL903",),
         limits=SMALL_STRINGS),
    Case("pb_attr_key_too_long", _file("s.pb", lambda: _long_string_graph("attr_key")), ("TFL903",),
         limits=SMALL_STRINGS),
    Case("pb_input_name_too_long", _file("s.pb", lambda: _long_string_graph("input")), ("TFL903",),
         limits=SMALL_STRINGS),
    Case("meta_signature_key_too_long", _file("m.meta", _meta_with_long_signature_key), ("TFL903",),
         limits=SMALL_STRINGS),
    Case("pbtxt_string_too_long", _file("s.pbtxt", lambda: b"node { name: 'c' op: 'Const' attr { key: 'value' "
                                        b"value { s: '" + b"A" * 2048 + b"' } } }\n"), ("TFL903",),
         limits=SMALL_STRINGS),
    Case("pb_const_string_padded_past_analysis_bound", _file("pad.pb", lambda: field(
        1, const_string(b"fname", b"/" * 5000 + b"etc/passwd")) + field(1, node(b"read", b"ReadFile", (b"fname",)))),
        ("TFL201",), tolerated=True),  # was a silent cut: reported as '/////...' (medium, not sensitive)
    Case("pb_invalid_utf8_name", _file("u.pb", lambda: field(1, node(b"\xff\xfe", b"ReadFile"))), ("TFL902",)),
    Case("pb_invalid_utf8_bytes_attr", _file("b.pb", lambda: reader_graphdef() + field(1, node(
        b"p", b"PrintV2", (b"fname",), str_attr(b"output_stream", b"file:///tmp/\xff\xfe")))), (), tolerated=True),
    Case("pb_wrong_wire_type", _file("w.pb", lambda: b"\x08\x96\x01" + b"\x0d\x00\x00\x00\x00"), ("TFL902",)),
    Case("pb_unknown_fields", _file("unk.pb", lambda: reader_graphdef() + field(999, b"whatever")
                                    + varint(1000 << 3) + varint(5)), ("TFL201",), tolerated=True),
    Case("pb_random_bytes", _file("r.pb", lambda: _rand(4096, 7)), ("TFL902",)),
    Case("pb_empty", _file("e.pb", b""), ("TFL902",)),
    Case("pb_lfs_pointer", _file("m.pb", LFS), ("TFL906",)),
    Case("savedmodel_lfs_pointer", _lfs_savedmodel, ("TFL906",)),
    Case("savedmodel_symlink_outside", _savedmodel_symlink_out, ("TFL905",)),
    Case("dir_of_junk", _junk_dir, ("TFL904",)),
    Case("dir_of_junk_model_names", _junk_models_dir, ("TFL902",)),
    Case("dir_symlink_outside_not_followed", _symlink_out, ("TFL904",)),
    Case("dir_fifo_named_like_model", _fifo_dir, ("TFL904",)),  # hung until the time budget
    Case("dir_nested_1100_deep", _deep_dir, ("TFL201",), tolerated=True),
    Case("savedmodel_assets_1100_deep", _deep_savedmodel_assets, ("TFL201",), tolerated=True),
    # -- TFLite -------------------------------------------------------------------------
    Case("tflite_random", _file("r.tflite", lambda: b"\x10\x00\x00\x00TFL3" + _rand(2000, 8)), ("TFL902",)),
    Case("tflite_empty", _file("e.tflite", b""), ("TFL902",)),
    Case("tflite_shared_table_amplification", _file("amp.tflite", flat_offsets_bomb), ("TFL902",)),
    Case("tflite_bad_root", _tflite_mut(_bad_opcode_index), ("TFL902",), needs_fixtures=True),
    Case("tflite_flex_options_corrupt", _tflite_mut(_flip_flex_options), ("TFL902", "TFL201"), needs_fixtures=True),
    Case("tflite_string_count_huge", _tflite_mut(_huge_string_count), ("TFL902",), needs_fixtures=True),
    # -- TF.js --------------------------------------------------------------------------
    Case("tfjs_not_json", _file("model.json", b"{ this is not json"), ("TFL902",)),
    Case("tfjs_invalid_utf8", _file("model.json", b'{"modelTopology": "\xff\xfe"}'), ("TFL902",)),
    Case("tfjs_deep_nesting", _file("model.json", lambda: deep_json(50_000)), ("TFL903",)),
    Case("tfjs_string_too_long", _file("model.json", lambda: json.dumps(
        {"modelTopology": {"node": [{"name": "n" * 2048, "op": "NoOp"}]}}).encode()), ("TFL903",),
         limits=SMALL_STRINGS),
    Case("tfjs_key_too_long", _file("model.json", lambda: json.dumps(
        {"modelTopology": {"k" * 2048: 1}}).encode()), ("TFL903",), limits=SMALL_STRINGS),
    Case("keras_config_string_too_long", _file("m.keras", lambda: _keras_zip_with_long_string(2048)), ("TFL903",),
         limits=SMALL_STRINGS),
    Case("tfjs_huge_integer", _file("model.json", b'{"format": "graph-model", "modelTopology": {"node": [{"name": '
                                    b'"a", "op": "NoOp", "attr": {"x": {"i": ' + b"9" * 10_000 + b"}}}]}}"),
         ("TFL902",)),
    Case("tfjs_time_budget_not_swallowed", _file("model.json", lambda: _tfjs_many_nodes(60_000)), ("TFL903",),
         limits=Limits(time_budget=1.0)),  # json_format's guard caught the alarm: TFL902, then no budget at all
    Case("tfjs_no_topology", _file("model.json", b'{"format": "graph-model"}'), ("TFL904",)),
    Case("tfjs_too_large", _file("model.json", lambda: b'{"a": "' + b"x" * 5000 + b'"}'), ("TFL903",),
         limits=Limits(max_config_bytes=1000)),
    Case("tfjs_garbage_nodes", _tfjs_dir(lambda d: {**d, "modelTopology": {**d["modelTopology"], "node": [  # type: ignore[dict-item]
        7, {"name": 3, "op": []}, {"name": "x", "attr": {"v": {"s": "!!notbase64"}}},
        *d["modelTopology"]["node"]]}}), ("TFL902", "TFL201"), needs_fixtures=True),  # type: ignore[index]
    Case("tfjs_weights_path_escape", _tfjs_dir(lambda d: {**d, "weightsManifest": [
        {"paths": ["../../../../etc/passwd"], "weights": d["weightsManifest"][0]["weights"]}]}),  # type: ignore[index]
        ("TFL902",), needs_fixtures=True),
    Case("tfjs_weight_name_not_a_string", _tfjs_dir(lambda d: {**d, "weightsManifest": [
        {"paths": ["group1-shard1of1.bin"], "weights": [*d["weightsManifest"][0]["weights"],  # type: ignore[index]
                                                        {"name": ["x"], "shape": [], "dtype": "string"}]}]}),
        ("TFL201",), needs_fixtures=True, tolerated=True),  # found by fuzzing: unhashable name
    Case("tfjs_weights_truncated", _tfjs_dir(lambda d: d, shard=lambda b: b[:7]), ("TFL501",),
         needs_fixtures=True, tolerated=True),
    Case("tfjs_string_weight_huge", _tfjs_dir(lambda d: d, shard=lambda b: b"\xff\xff\xff\x7f" + b[4:]),
         ("TFL903",), needs_fixtures=True, limits=Limits(max_string_bytes=1 << 20)),
    # -- HDF5 ---------------------------------------------------------------------------
    Case("h5_segfaults_libhdf5", _file("model.h5", (REGRESSIONS / "hdf5_vlen_read_segfault.h5").read_bytes),
         ("TFL902",)),  # found by fuzzing: libhdf5 dies of SIGSEGV reading a vlen string attribute
    # -- format mismatch ----------------------------------------------------------------
    Case("h5_that_is_a_zip", _file("model.h5", lambda: zip_bytes([("graph.pb", reader_graphdef())])),
         ("TFL907", "TFL201")),
    Case("tflite_that_is_text_graphdef", _file("m.tflite", b"node { name: 'f' op: 'Const' }\n"), ("TFL907",)),
    # -- polyglot probes (an HDF5 superblock past offset 0, a zip end record at the end) --
    Case("polyglot_fake_zip64_locator", _file("blob", lambda: _junk(700) + b"PK\x06\x07" + _junk(16) + b"PK\x05\x06"
                                               + struct.pack("<HHHHIIH", 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF,
                                                             0xFFFFFFFF, 0)), ("TFL902",)),
    Case("polyglot_fake_zip_end", _file("blob", lambda: _junk(700) + b"PK\x01\x02" + _junk(42) + b"PK\x05\x06"
                                         + struct.pack("<HHHHIIH", 0, 0, 1, 1, 46, 100, 0)), ("TFL905",)),
    Case("polyglot_hdf5_magic_at_512", _file("blob", lambda: _junk(512) + b"\x89HDF\r\n\x1a\n" + _junk(2000)),
         ("TFL902",)),
    # -- graphs held in strings ---------------------------------------------------------
    Case("dataset_from_graph_garbage",
         _file("g.pb", lambda: _dataset_from_graph(b"\x0a\xff\xff\xff\xff\x0f" + _junk(64))), ("TFL902",)),
    Case("dataset_from_graph_nested_past_depth", _file("g.pb", lambda: _nested_dataset_graphs(8)), ("TFL903", "TFL201"),
         limits=Limits(max_archive_depth=3)),
    Case("xla_call_module_garbage", _file("g.pb", lambda: field(1, node(b"call", b"XlaCallModule",
                                                                          attrs=str_attr(b"module", _junk(4096))))),
         ("TFL102",), tolerated=True),
]


def _junk(n: int, seed: int = 13) -> bytes:
    return random.Random(seed + n).randbytes(n)


def _dataset_from_graph(inner: bytes) -> bytes:
    return field(1, const_string(b"g", inner)) + field(1, node(b"DatasetFromGraph", b"DatasetFromGraph", (b"g",)))


def _nested_dataset_graphs(levels: int) -> bytes:
    """A GraphDef whose DatasetFromGraph holds one whose DatasetFromGraph holds..., the
    innermost reading /etc/passwd; the outer ones also read it, so findings are made
    before the depth limit is hit."""
    blob = reader_graphdef()
    for _ in range(levels):
        blob = _dataset_from_graph(blob) + reader_graphdef().replace(b"read", b"also")
    return blob


#: What a limit finding of each limit case must name (every TFL903 case is here).
LIMIT_NAMED = {
    "zip_bomb_ratio": "max-compression-ratio=200",
    "zip_nested_too_deep": "max-archive-depth=3",
    "zip_self_similar_quine_like": "max-archive-depth=3",
    "zip_nested_wide_bomb": "max-archive-depth=3",
    "zip_quine": "max-archive-depth=3",
    "zip_too_many_entries": "max-archive-entries=20",
    "zip_member_over_archive_budget": "max-archive-bytes=1000",
    "zip_member_over_file_limit": "max-file-bytes=20000",
    "zip_member_name_too_long": "max-string-bytes=1024",
    "zip_many_models_time_budget": "time-budget",
    "zip_of_keras_archives_shares_budget": "max-archive-bytes=10000",
    "tar_gz_bomb": "max-compression-ratio=200",
    "tar_gz_quine": "max-archive-depth=3",
    "tar_many_entries": "max-archive-entries=20",
    "tar_member_over_archive_budget": "max-archive-bytes=1000",
    "tar_member_name_too_long": "max-string-bytes=1024",
    "tar_gz_over_file_limit": "max-file-bytes=20000",
    "gzip_nested_too_deep": "max-archive-depth=3",
    "gzip_bomb": "max-compression-ratio=200",
    "gzip_quine": "max-archive-depth=3",
    "pb_deep_nesting": "protobuf-depth=100",
    "pbtxt_deep_nesting": "protobuf-depth=100",
    "pb_over_file_limit": "max-file-bytes=20000",
    "pb_too_many_nodes": "max-nodes=1000",
    "pb_too_many_functions": "max-functions=5",
    "pb_dataflow_too_deep": "analysis limit: dataflow deeper than 256",
    "pb_string_const_too_long": "max-string-bytes=1024",
    "pb_node_name_too_long": "max-string-bytes=1024",
    "pb_attr_string_too_long": "max-string-bytes=1024",
    "pb_attr_key_too_long": "max-string-bytes=1024",
    "pb_input_name_too_long": "max-string-bytes=1024",
    "pbtxt_string_too_long": "max-string-bytes=1024",
    "meta_signature_key_too_long": "max-string-bytes=1024",
    "pb_const_string_padded_past_analysis_bound": "analysis limit: a string longer than 4096 bytes",
    "tfjs_deep_nesting": "max-nesting-depth=200",
    "tfjs_string_too_long": "max-string-bytes=1024",
    "tfjs_key_too_long": "max-string-bytes=1024",
    "keras_config_string_too_long": "max-string-bytes=1024",
    "tfjs_too_large": "max-config-bytes=1000",
    "tfjs_time_budget_not_swallowed": "time-budget",
    "tfjs_string_weight_huge": "max-string-bytes",
    "dataset_from_graph_nested_past_depth": "max-archive-depth=3",
}


def test_at_least_fifty_distinct_hostile_inputs() -> None:
    assert len({c.name for c in CASES}) == len(CASES) >= 50


def test_every_limit_case_names_its_limit() -> None:
    names = {c.name for c in CASES}
    assert set(LIMIT_NAMED) <= names
    assert {c.name for c in CASES if "TFL903" in c.codes} <= set(LIMIT_NAMED)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_hostile_input(case: Case, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    fx = request.getfixturevalue("fmt") if case.needs_fixtures else tmp_path
    work = tmp_path / "case"
    work.mkdir()
    request.addfinalizer(lambda: remove_tree(work))  # some trees are too deep for rmtree
    target = case.build(work, fx)
    before = _tree(tmp_path)
    settings = {"limits": case.limits} if case.limits else {}
    result = lint(target, GOOD, **settings)  # type: ignore[arg-type]
    mine = [f for f in result.findings if not f.artifact.endswith("malicious_reader")]
    codes = {f.code for f in mine}
    described = "\n".join(f"{f.code} {f.artifact} {f.location.logical}: {f.message}" for f in mine)
    assert "TFL999" not in codes and not result.internal_errors, described
    for code in case.codes:
        assert code in codes, f"{case.name}: expected {code}, got:\n{described}"
    if case.name in LIMIT_NAMED:
        assert any(LIMIT_NAMED[case.name] in f.message for f in mine), f"{case.name}: limit not named:\n{described}"
    if case.tolerated:
        records = [a for a in result.artifacts if not a.path.endswith("malicious_reader")]
        assert all(a.status.value == "ok" for a in records), records
    good = [f for f in result.findings if f.artifact.endswith("malicious_reader")]
    assert any(f.code == "TFL201" for f in good), "the valid model in the same run was not linted"
    assert _tree(tmp_path) == before, "linting created or removed files"


def _tree(root: Path) -> set[str]:
    from tfmodel_lint.discovery import walk_tree

    return {os.path.relpath(os.path.join(d, n), root) for d, dirs, files in walk_tree(root) for n in dirs + files}


def test_symlink_outside_is_not_followed_but_inside_is(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.pb").write_bytes(reader_graphdef())
    scanned = tmp_path / "scanned"
    scanned.mkdir()
    (scanned / "real.pb").write_bytes(reader_graphdef())
    (scanned / "alias.pb").symlink_to(scanned / "real.pb")
    (scanned / "escape.pb").symlink_to(outside / "secret.pb")
    result = lint(scanned)
    # alias.pb and real.pb are one file (linted once); escape.pb is not followed.
    assert len(result.artifacts) == 1 and not result.artifacts[0].path.endswith("escape.pb")
    from tfmodel_lint.discovery import DiscoveryOptions, expand_paths

    followed = expand_paths([str(scanned)], DiscoveryOptions(follow_symlinks=True)).targets
    assert len(followed) == 2 and "escape.pb" in {t.path.name for t in followed}


def _symlink_tree(tmp_path: Path) -> Path:
    outside = tmp_path / "outside"
    (outside / "nested").mkdir(parents=True)
    (outside / "secret.pb").write_bytes(reader_graphdef())
    (outside / "nested" / "model.pb").write_bytes(reader_graphdef())
    scanned = tmp_path / "scanned"
    scanned.mkdir()
    (scanned / "own.pb").write_bytes(reader_graphdef())
    (scanned / "escape.pb").symlink_to(outside / "secret.pb")
    (scanned / "linked_dir").symlink_to(outside, target_is_directory=True)
    (scanned / "loop").symlink_to(scanned, target_is_directory=True)  # a cycle for --follow-symlinks
    (scanned / "up").symlink_to(tmp_path, target_is_directory=True)  # and one through the parent
    return scanned


def test_follow_symlinks_flag(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from tests.helpers import run_cli

    scanned = _symlink_tree(tmp_path)
    code, out, _ = run_cli([str(scanned), "--format", "json", "--isolated"], capsys)
    report = json.loads(out)
    assert [a["path"].rsplit("/", 1)[-1] for a in report["artifacts"]] == ["own.pb"]
    notes = "\n".join(report["notes"])
    assert "escape.pb: symlink leaving" in notes and "linked_dir: symlinked directory leaving" in notes, notes
    assert "loop" not in notes  # a link staying inside is a duplicate, not worth a note
    assert code == 1  # own.pb reads /etc/passwd; the notes alone never fail a run

    code, out, _ = run_cli([str(scanned), "--format", "json", "--isolated", "--follow-symlinks"], capsys)
    report = json.loads(out)
    paths = sorted(a["path"].split("scanned/", 1)[-1] for a in report["artifacts"])
    # escape.pb and the linked directory are followed; the loop and the way up through
    # the parent reach files already found (each real file is linted once).
    assert paths == ["escape.pb", "linked_dir/nested/model.pb", "own.pb"], paths
    assert {f["code"] for f in report["findings"]} == {"TFL201"} and not report["notes"]

    code, out, _ = run_cli(["--help"], capsys)
    assert "--follow-symlinks" in out and code == 0


def test_follow_symlinks_is_not_a_config_key(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from tests.helpers import run_cli

    scanned = _symlink_tree(tmp_path)
    cfg = tmp_path / "cfg.toml"
    cfg.write_text("follow-symlinks = true\n")
    code, _, err = run_cli([str(scanned), "--config", str(cfg)], capsys)
    assert code == 2 and "'follow-symlinks' is a command-line option only" in err


def test_zip_member_findings_name_the_member(tmp_path: Path) -> None:
    data = zip_bytes([("ok/model.pb", reader_graphdef()), ("bad/model.pb", _rand(300, 9)), ("../x.pb", b"x")])
    archive = tmp_path / "mixed.zip"
    archive.write_bytes(data)
    result = lint(archive)
    members = {(f.code, f.location.member) for f in result.findings if f.location.member}
    assert ("TFL902", "bad/model.pb") in members and ("TFL905", "../x.pb") in members, members
    assert any(f.code == "TFL201" for f in result.findings)


def test_truncations_at_many_offsets_never_crash(tmp_path: Path) -> None:
    pb = GOOD.joinpath("saved_model.pb").read_bytes()
    zipped = zip_bytes([("m/model.pb", reader_graphdef()), ("m/x.tflite", b"\x10\x00\x00\x00TFL3" + b"\x00" * 40)])
    for i, (label, data) in enumerate([("pb", pb), ("zip", zipped), ("gz", gzip.compress(pb, mtime=0))]):
        for k, cut in enumerate(sorted({1, 2, 7, 31, len(data) // 5, len(data) // 2, len(data) - 1})):
            d = tmp_path / f"{label}{i}_{k}"
            d.mkdir()
            name = {"pb": "saved_model.pb", "zip": "a.zip", "gz": "a.pb.gz"}[label]
            (d / name).write_bytes(data[:cut])
    result = lint(tmp_path)
    assert not result.internal_errors
    assert {a.status.value for a in result.artifacts} <= {"ok", "error"}
    assert len(result.artifacts) == 21


def test_tar_never_extracts_and_reads_bounded(tmp_path: Path) -> None:
    data = tar_bytes([tar_link("model.pb", tarfile.SYMTYPE, "/etc/passwd"), ("real/model.pb", reader_graphdef())])
    archive = tmp_path / "a.tar"
    archive.write_bytes(data)
    cwd = os.getcwd()
    try:
        os.chdir(tmp_path)
        result = lint(archive)
    finally:
        os.chdir(cwd)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.tar"]
    assert {f.code for f in result.findings} >= {"TFL905", "TFL201"}


def test_protobuf_depth_limit_is_named(tmp_path: Path) -> None:
    path = tmp_path / "deep.pb"
    path.write_bytes(field(1, node(b"n", b"Identity", attrs=field(5, field(1, b"x") + field(2, deep_attr(150))))))
    result = lint(path)
    assert [f.code for f in result.findings] == ["TFL903"]
    assert "protobuf-depth=100" in result.findings[0].message


def test_zlib_is_not_asked_for_more_than_the_limit(tmp_path: Path) -> None:
    # A raw deflate stream that never ends: streaming stops at the limit, not at EOF.
    comp = zlib.compressobj(9, zlib.DEFLATED, 31)
    body = comp.compress(b"\x00" * (8 << 20)) + comp.flush(zlib.Z_SYNC_FLUSH)
    path = tmp_path / "endless.pb.gz"
    path.write_bytes(body)
    result = lint(path, limits=Limits(max_compression_ratio=10_000, max_file_bytes=1 << 20))
    assert [f.code for f in result.findings] == ["TFL903"]


# -- quines ----------------------------------------------------------------------------


def test_zip_quine_really_contains_itself() -> None:
    data = zip_quine()
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        assert [i.filename for i in zf.infolist()] == ["r.zip"]
        inner = zf.read("r.zip")  # CRC checked by zipfile
    assert inner == data
    with zipfile.ZipFile(io.BytesIO(inner)) as zf:
        assert zf.read("r.zip") == data  # all the way down
    assert gzip.decompress(gzip_quine()) == gzip_quine()
    tgz = tar_gz_quine()
    with tarfile.open(fileobj=io.BytesIO(tgz), mode="r:gz") as tar:
        (member,) = tar.getmembers()
        assert member.name == "r.tar.gz" and member.isreg()
        fh = tar.extractfile(member)
        assert fh is not None and fh.read() == tgz


@pytest.mark.parametrize(("limits", "named"), [
    (Limits(), "max-archive-depth=3"),
    (Limits(max_archive_depth=40), "max-archive-depth=40"),
    (Limits(max_archive_depth=10**6, max_archive_bytes=20_000), "max-archive-bytes"),
    (Limits(max_archive_depth=10**6), "RecursionError"),
], ids=["default", "depth40", "budget", "depth-unbounded"])
@pytest.mark.parametrize("kind", ["zip", "gzip", "tar.gz"])
def test_quine_hits_a_named_limit_quickly_in_bounded_memory(tmp_path: Path, limits: Limits, named: str,
                                                             kind: str) -> None:
    import time
    import tracemalloc

    d = tmp_path / "models"
    d.mkdir()
    name = {"zip": "r.zip", "gzip": "r.pb.gz", "tar.gz": "r.tar.gz"}[kind]
    data = zip_quine() if kind == "zip" else tar_gz_quine() if kind == "tar.gz" else gzip_quine(name)
    (d / name).write_bytes(data)
    (d / "reader.pb").write_bytes(reader_graphdef())
    tracemalloc.start()
    start = time.monotonic()
    try:
        as_dir = lint(d, limits=limits)
        as_file = lint(d / name, GOOD, limits=limits)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert time.monotonic() - start < 20
    assert peak < 64 << 20, peak
    for result in (as_dir, as_file):
        assert not result.internal_errors
        mine = [f for f in result.findings if f.artifact.endswith(name)]
        assert [f.code for f in mine] == ["TFL903"], mine
        assert named in mine[0].message, mine[0].message
        others = [f for f in result.findings if not f.artifact.endswith(name)]
        assert any(f.code == "TFL201" for f in others), "the run did not go on to the other model"


def test_reading_a_small_file_does_not_reserve_the_size_limit(tmp_path: Path) -> None:
    import tracemalloc

    from tfmodel_lint.fsutil import read_file
    from tfmodel_lint.limits import LimitExceededError

    small = tmp_path / "small.pb"
    small.write_bytes(b"x" * 100)
    tracemalloc.start()
    try:
        assert read_file(small, Limits().max_file_bytes) == b"x" * 100
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1 << 20, peak  # read(cap + 1) allocated 512 MiB here
    with pytest.raises(LimitExceededError, match="max-file-bytes=1000"):
        read_file(Path("/dev/zero"), 1000)  # no size: read in chunks up to the cap
    with pytest.raises(LimitExceededError, match="max-file-bytes=50"):
        read_file(small, 50)  # refused by its size


# -- max-string-bytes ------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["pb", "tfjs", "keras"])
def test_strings_over_the_default_limit_are_refused(tmp_path: Path, kind: str) -> None:
    """Real 17 MiB strings at the default max-string-bytes (16 MiB)."""
    import time

    size = 17 << 20
    if kind == "pb":
        path = tmp_path / "big.pb"
        path.write_bytes(_long_string_graph("const", size))
    elif kind == "tfjs":
        path = tmp_path / "model.json"
        path.write_bytes(b'{"modelTopology": {"node": [{"name": "' + b"n" * size + b'", "op": "NoOp"}]}}')
    else:
        path = tmp_path / "m.keras"
        path.write_bytes(_keras_zip_with_long_string(size))
    start = time.monotonic()
    result = lint(path, GOOD)
    assert time.monotonic() - start < 30
    mine = [f for f in result.findings if f.artifact.endswith(path.name)]
    assert [f.code for f in mine] == ["TFL903"], mine
    assert f"max-string-bytes={16 << 20}" in mine[0].message, mine[0].message
    assert any(f.code == "TFL201" for f in result.findings if f.artifact.endswith("malicious_reader"))


def test_strings_at_the_limit_are_fine(tmp_path: Path) -> None:
    path = tmp_path / "ok.pb"
    path.write_bytes(_long_string_graph("attr", 1024))
    result = lint(path, limits=SMALL_STRINGS)
    assert {f.code for f in result.findings} == {"TFL201", "TFL202"}, result.findings


def test_a_string_cut_by_the_interpreter_is_marked_not_shortened(tmp_path: Path) -> None:
    path = tmp_path / "pad.pb"
    path.write_bytes(field(1, const_string(b"fname", b"/" * 5000 + b"etc/passwd"))
                     + field(1, node(b"read", b"ReadFile", (b"fname",))))
    (finding,) = lint(path).findings
    assert finding.code == "TFL201" and str(finding.severity) == "high", finding
    target = finding.evidence_dict["targets"][0]
    assert target.endswith("<?>") and len(target) < 4200, target[-40:]
    assert "partial" in finding.evidence_dict["labels"]
    assert "longer than 4096 bytes, cut there" in finding.message


def test_joining_many_long_strings_stays_linear(tmp_path: Path) -> None:
    import time

    parts = [const_string(f"c{i}".encode(), bytes([65 + i % 26]) * 4000) for i in range(2000)]
    join = node(b"j", b"StringJoin", tuple(f"c{i}".encode() for i in range(2000)))
    path = tmp_path / "join.pb"
    path.write_bytes(b"".join(field(1, p) for p in parts) + field(1, join)
                     + field(1, node(b"read", b"ReadFile", (b"j",))))
    start = time.monotonic()
    (finding,) = lint(path).findings
    assert time.monotonic() - start < 10
    assert finding.code == "TFL201" and "cut there" in finding.message


def test_time_budget_fires_again_when_its_first_alarm_is_swallowed() -> None:
    """The first alarm of a full run landed in a ``Popen.__del__`` run by the garbage
    collector, where Python ignores exceptions: the artifact then ran with no budget."""
    import signal
    import time

    from tfmodel_lint.engine import TimeBudgetExceeded, time_budget

    swallowed = []
    start = time.monotonic()
    with pytest.raises(TimeBudgetExceeded):
        with time_budget(0.05):
            try:
                time.sleep(0.3)  # the first alarm lands here and is swallowed, as in a __del__
            except TimeBudgetExceeded:
                swallowed.append(True)
            time.sleep(2)
    assert swallowed and time.monotonic() - start < 1
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
    time.sleep(0.15)  # disarmed: no alarm escapes after the block


def test_alarm_skips_places_where_python_would_swallow_it() -> None:
    """Inside a ``__del__`` or a garbage-collector callback an exception is only printed
    ("Exception ignored in ..."): the alarm does not raise there but a moment later."""
    import gc
    import sys

    from tfmodel_lint.engine import unraisable_context

    seen: list[bool] = []

    class Finalized:
        def __del__(self) -> None:
            seen.append(unraisable_context(sys._getframe()))

    def callback(phase: str, info: dict[str, int]) -> None:
        seen.append(unraisable_context(sys._getframe()))

    Finalized()
    gc.callbacks.append(callback)
    try:
        gc.collect()
    finally:
        gc.callbacks.remove(callback)
    assert len(seen) >= 3 and all(seen), seen  # __del__, then the callback's start and stop
    assert not unraisable_context(sys._getframe())


def test_time_budget_never_raises_inside_a_gc_callback() -> None:
    """A collector callback that takes a good part of the time (as a test tool's timing
    callback can): no exception is ever swallowed, and the budget still ends the block."""
    import gc
    import sys
    import time

    from tfmodel_lint.engine import TimeBudgetExceeded, time_budget

    unraisable: list[object] = []

    def slow_callback(phase: str, info: dict[str, int]) -> None:
        end = time.monotonic() + 0.03
        while time.monotonic() < end:
            pass

    previous_hook = sys.unraisablehook
    sys.unraisablehook = unraisable.append
    gc.callbacks.append(slow_callback)
    start = time.monotonic()
    try:
        with pytest.raises(TimeBudgetExceeded):
            with time_budget(0.05):
                while time.monotonic() - start < 5:
                    busy = time.monotonic() + 0.02
                    while time.monotonic() < busy:
                        pass
                    gc.collect(0)  # then 30 ms in the callback, every time
    finally:
        gc.callbacks.remove(slow_callback)
        sys.unraisablehook = previous_hook
    assert not unraisable, unraisable
    assert time.monotonic() - start < 2


def test_directory_walks_do_not_recurse_per_level(tmp_path: Path) -> None:
    """Every walk of a directory tree (discovery, the progress bar's size estimate, a
    SavedModel's file list) copes with 1100 levels; os.walk and Path.rglob do not on 3.11."""
    from tfmodel_lint.discovery import Target, expand_paths
    from tfmodel_lint.reporters.progress import total_bytes
    from tfmodel_lint.sources import DirSource

    try:
        sm = _deep_savedmodel_assets(tmp_path, tmp_path)
        deep = _deep_dir(tmp_path, tmp_path)
        assert [t.path.name for t in expand_paths([str(deep)]).targets] == ["model.pb"]
        assert total_bytes([Target(sm, "savedmodel_dir", "sm")], enough=1 << 40) > 0
        names = DirSource(sm, Limits()).names()
        assert "saved_model.pb" in names and any(n.endswith("/vocab.txt") for n in names)
    finally:
        remove_tree(tmp_path / "sm")
        remove_tree(tmp_path / "deep")


def test_hdf5_reader_process_is_killed_when_the_budget_interrupts(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """The time budget's alarm landing while the linter waits for the HDF5 reader kills
    and reaps the reader (nothing left behind); the next read starts a new one."""
    import h5py

    from tfmodel_lint.loaders import keras_h5

    path = tmp_path / "m.h5"
    with h5py.File(path, "w") as fh:
        fh.attrs["model_config"] = '{"class_name": "Sequential", "config": {"name": "s", "layers": []}}'
    reader = keras_h5.H5Reader()
    try:
        assert reader.read(str(path), Limits())["model_config"]
        proc = reader._proc
        assert proc is not None and proc.poll() is None

        class Alarm(BaseException):
            pass

        def interrupted(*args: object) -> object:
            raise Alarm()

        monkeypatch.setattr(keras_h5.select, "select", interrupted)
        with pytest.raises(Alarm):
            reader.read(str(path), Limits())
        assert reader._proc is None and proc.poll() is not None  # killed and reaped
        monkeypatch.undo()
        assert reader.read(str(path), Limits())["model_config"]  # a new reader
    finally:
        reader.close()


def test_dir_source_member_check_follows_every_component(tmp_path: Path) -> None:
    """The per-member check walks only the member's components; a symlinked directory
    on the way out, a symlink to a file outside, '..' and a link that stays inside are
    each judged as full resolution would judge them."""
    from tfmodel_lint.limits import Limits
    from tfmodel_lint.loaders import ArtifactError
    from tfmodel_lint.sources import DirSource

    outside = tmp_path / "outside"
    (outside / "sub").mkdir(parents=True)
    (outside / "sub" / "variables.index").write_bytes(b"secret")
    model = tmp_path / "model"
    (model / "inner").mkdir(parents=True)
    (model / "saved_model.pb").write_bytes(b"")
    (model / "inner" / "real.txt").write_bytes(b"ok")
    (model / "variables").symlink_to(outside / "sub", target_is_directory=True)
    (model / "alias").symlink_to(model / "inner", target_is_directory=True)
    (model / "leak.txt").symlink_to(outside / "sub" / "variables.index")
    src = DirSource(model, Limits())
    assert src.member_inside("saved_model.pb") and src.member_inside("inner/real.txt")
    assert src.member_inside("alias/real.txt")  # a link that stays inside
    assert src.member_inside("missing/file")  # nothing to follow; reading fails on its own
    assert not src.member_inside("variables/variables.index")
    assert not src.member_inside("leak.txt")
    assert not src.member_inside("../outside/sub/variables.index")
    assert not src.member_inside("inner/../../outside/sub/variables.index")
    with pytest.raises(ArtifactError):
        src.read("variables/variables.index")
    assert src.read("alias/real.txt") == b"ok"


def test_dir_source_file_list_over_the_entry_limit_is_a_limit_not_a_cut(tmp_path: Path) -> None:
    from tfmodel_lint.limits import LimitExceededError, Limits
    from tfmodel_lint.sources import DirSource

    for i in range(6):
        (tmp_path / f"f{i}").write_bytes(b"")
    assert len(DirSource(tmp_path, Limits(max_archive_entries=6)).names()) == 6
    with pytest.raises(LimitExceededError, match="max-archive-entries=5"):
        DirSource(tmp_path, Limits(max_archive_entries=5)).names()


def test_hdf5_reader_child_dies_quietly() -> None:
    """The HDF5 reader process drops fatal-signal handlers: a file that crashes libhdf5
    is reported by the linter, and neither faulthandler nor a fuzzer's handler (which
    would write a crash artifact) speaks for the reader."""
    import subprocess
    import sys

    code = ("import sys\n"
            "from tfmodel_lint.limits import Limits\n"
            "from tfmodel_lint.loaders import ArtifactError\n"
            "from tfmodel_lint.loaders.keras_h5 import H5Reader\n"
            "reader = H5Reader()\n"
            "try:\n"
            "    reader.read(open(sys.argv[1], 'rb').read(), Limits())\n"
            "except ArtifactError as exc:\n"
            "    print(exc.message)\n"
            "finally:\n"
            "    reader.close()\n")
    proc = subprocess.run([sys.executable, "-X", "faulthandler", "-c", code,
                           str(REGRESSIONS / "hdf5_vlen_read_segfault.h5")],
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "crashed libhdf5" in proc.stdout, proc.stdout
    assert "Fatal Python error" not in proc.stderr, proc.stderr[-2000:]
