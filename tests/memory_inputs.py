"""Hostile inputs that once took gigabytes, generated at run time (never committed), for
``tests/test_memory.py`` and the ``memory`` case of ``bench/run.py``.

Each builder writes into a directory and returns the path it made; a count or size
argument sets the scale (the tests use sizes just past the default limits, or lower the
limits; the bench uses the sizes of issue 16). Large protobufs are written in chunks:
the generator never holds a hostile file in memory. Run as a script to write the
bench's set and its ``manifest.json``::

    python tests/memory_inputs.py OUTDIR [--quick]
"""

from __future__ import annotations

import io
import json
import struct
import sys
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path

try:
    from tests.wire_bytes import const_string, field, node, varint
except ImportError:  # run as a script: tests/ is the import path's first entry
    from wire_bytes import const_string, field, node, varint  # type: ignore[no-redef]

MiB = 1 << 20
CHUNK = 8 * MiB


# -- protobuf wire format ----------------------------------------------------------------


def reader_nodes() -> bytes:
    """GraphDef.node fields: ReadFile('/etc/passwd') (a finding when the graph is read)."""
    return field(1, const_string(b"fname", b"/etc/passwd")) + field(1, node(b"read", b"ReadFile", (b"fname",)))


class Nested:
    """A message whose innermost field repeats one small element ``count`` times:
    ``head + element * count + tail`` with every enclosing length right, written in
    chunks. ``levels`` are (field number, bytes before the inner part, bytes after it),
    outermost first."""

    def __init__(self, levels: list[tuple[int, bytes, bytes]], element: bytes, count: int,
                 before: bytes = b"", after: bytes = b"") -> None:
        self.element, self.count = element, count
        head, tail = b"", b""
        size = len(element) * count
        for num, pre, post in reversed(levels):
            size += len(pre) + len(post)
            head = varint(num << 3 | 2) + varint(size) + pre + head
            tail = tail + post
            size = len(head) + (len(element) * count) + len(tail)
        self.head, self.tail = before + head, tail + after

    @property
    def size(self) -> int:
        return len(self.head) + len(self.element) * self.count + len(self.tail)

    def write(self, path: Path) -> Path:
        per = max(1, CHUNK // len(self.element))
        block = self.element * per
        with path.open("wb") as fh:
            fh.write(self.head)
            left = self.count
            while left >= per:
                fh.write(block)
                left -= per
            fh.write(self.element * left)
            fh.write(self.tail)
        return path


def _const_node(inner: list[tuple[int, bytes, bytes]]) -> list[tuple[int, bytes, bytes]]:
    """GraphDef.node 'big' (Const) -> attr 'value' -> AttrValue.tensor, then ``inner``."""
    return [(1, field(1, b"big") + field(2, b"Const"), b""),  # GraphDef.node: name, op
            (5, field(1, b"value"), b""),  # NodeDef.attr entry: key
            (2, b"", b""),  # entry value: AttrValue
            (8, varint(1 << 3) + varint(7), b""),  # AttrValue.tensor: dtype DT_STRING
            *inner]


#: Where the repeated elements go: name -> (levels, element). Every one is a graph of
#: ReadFile('/etc/passwd') plus one node (or function) carrying the repeated field.
PROTOBUF_CASES: dict[str, tuple[list[tuple[int, bytes, bytes]], bytes]] = {
    # TensorProto.string_val: empty strings, 2 bytes each.
    "string_val": (_const_node([]), field(8, b"")),
    # TensorProto.int64_val, packed: one byte a value.
    "int64_val": (_const_node([(10, b"", b"")]), b"\x01"),
    # TensorProto.int_val, packed.
    "int_val": (_const_node([(7, b"", b"")]), b"\x01"),
    # TensorProto.float_val, packed: four bytes a value.
    "float_val": (_const_node([(5, b"", b"")]), b"\x00\x00\x80\x3f"),
    # TensorProto.tensor_shape.dim: empty messages.
    "dims": (_const_node([(2, b"", b"")]), field(2, b"")),
    # NodeDef.input: empty names.
    "inputs": ([(1, field(1, b"big") + field(2, b"NoOp"), b"")], field(3, b"")),
    # AttrValue.list.s.
    "list_s": ([(1, field(1, b"big") + field(2, b"NoOp"), b""), (5, field(1, b"l"), b""), (2, b"", b""),
                (1, b"", b"")], field(2, b"")),
    # GraphDef.node: empty nodes (max-nodes).
    "nodes": ([], field(1, b"")),
    # FunctionDef.node_def: empty nodes of one library function.
    "function_nodes": ([(2, b"", b""), (1, field(1, field(1, b"f")), b"")], field(3, b"")),
    # FunctionDef.signature.input_arg: empty ArgDefs, outside any node.
    "function_args": ([(2, b"", b""), (1, b"", b""), (1, field(1, b"f"), b"")], field(2, b"")),
}


def protobuf_case(directory: Path, case: str, count: int) -> Path:
    """A GraphDef ``<case>.pb``: the reader nodes, then ``count`` repeated elements."""
    levels, element = PROTOBUF_CASES[case]
    return Nested(levels, element, count, before=reader_nodes()).write(directory / f"{case}.pb")


# -- zip ---------------------------------------------------------------------------------


def zip_many_entries(path: Path, count: int, zip64: str = "") -> Path:
    """A zip whose central directory lists ``count`` minimal entries (47 bytes each, no
    local data) after one real member holding the reader GraphDef. The end record says
    0xFFFF entries and the directory's size, as zipfile reads it. ``zip64``: the sizes
    are in a Zip64 end record that zipfile reads, while the classic record disagrees
    (``"small"``: it declares a one-entry directory; ``"decoy"``: also the Zip64
    locator points at a second Zip64 record declaring one entry)."""
    member = reader_nodes()
    name = b"model.pb"
    crc = zlib.crc32(member)
    local = struct.pack("<4sHHHHHIIIHH", b"PK\x03\x04", 20, 0, 0, 0, 0, crc, len(member), len(member),
                        len(name), 0) + name + member
    first = struct.pack("<4sHHHHHHIIIHHHHHII", b"PK\x01\x02", 20, 20, 0, 0, 0, 0, crc, len(member), len(member),
                        len(name), 0, 0, 0, 0, 0, 0) + name
    entry = struct.pack("<4sHHHHHHIIIHHHHHII", b"PK\x01\x02", 20, 20, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0) + b"x"
    cd_size = len(first) + len(entry) * (count - 1)
    tail = decoy = b""
    if zip64 == "decoy":  # between the member and the directory, where zipfile never looks
        decoy = struct.pack("<4sQHHIIQQQQ", b"PK\x06\x06", 44, 45, 45, 0, 0, 1, 1, len(first), len(local))
    cd_offset = len(local) + len(decoy)
    if zip64:
        record = struct.pack("<4sQHHIIQQQQ", b"PK\x06\x06", 44, 45, 45, 0, 0, count, count, cd_size, cd_offset)
        locator = struct.pack("<4sIQI", b"PK\x06\x07", 0, len(local) if decoy else cd_offset + cd_size, 1)
        tail = record + locator
        if decoy:  # the classic record defers to Zip64, whose locator points at the decoy
            eocd = struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0)
        else:  # the classic record declares a one-entry directory
            eocd = struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, 1, 1, len(first), cd_offset, 0)
    else:
        if cd_size >= 0xFFFFFFFF:
            raise ValueError("directory too large for a zip32 end record")
        eocd = struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, 0xFFFF, 0xFFFF, cd_size, cd_offset, 0)
    per = CHUNK // len(entry)
    with path.open("wb") as fh:
        fh.write(local)
        fh.write(decoy)
        fh.write(first)
        left = count - 1
        block = entry * per
        while left >= per:
            fh.write(block)
            left -= per
        fh.write(entry * left)
        fh.write(tail)
        fh.write(eocd)
    return path


def zip_fat_directory(path: Path, entries: int, extra: int) -> Path:
    """A zip of the reader GraphDef whose central directory repeats its entry
    ``entries`` times (duplicates), each with ``extra`` bytes of extra field made of
    empty blocks: zipfile reads the whole directory into memory and decodes each
    entry's extra blocks."""
    member = reader_nodes()
    name = b"model.pb"
    crc = zlib.crc32(member)
    local = struct.pack("<4sHHHHHIIIHH", b"PK\x03\x04", 20, 0, 0, 0, 0, crc, len(member), len(member),
                        len(name), 0) + name + member
    blocks = struct.pack("<HH", 0xCAFE, 0) * (extra // 4)
    entry = struct.pack("<4sHHHHHHIIIHHHHHII", b"PK\x01\x02", 20, 20, 0, 0, 0, 0, crc, len(member), len(member),
                        len(name), len(blocks), 0, 0, 0, 0, 0) + name + blocks
    cd_size = len(entry) * entries
    eocd = struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, entries & 0xFFFF, entries & 0xFFFF, cd_size, len(local), 0)
    with path.open("wb") as fh:
        fh.write(local)
        for _ in range(entries):
            fh.write(entry)
        fh.write(eocd)
    return path


# -- HDF5 --------------------------------------------------------------------------------


def h5_vlen_config(path: Path, size: int) -> Path:
    """A Keras-looking ``.h5`` whose root ``model_config`` is a variable-length string of
    ``size`` bytes (JSON, so only its size is wrong)."""
    import h5py

    pad = "x" * max(0, size - 64)
    text = json.dumps({"class_name": "Sequential", "config": {"name": "s", "layers": [], "pad": pad}})
    with h5py.File(path, "w") as fh:
        fh.attrs["model_config"] = text  # h5py stores a Python str as a vlen UTF-8 string
        fh.attrs["keras_version"] = "2.21.0"
        fh.attrs["backend"] = "tensorflow"
        fh.create_group("model_weights")
    return path


# -- TF.js -------------------------------------------------------------------------------


def tfjs_repeated_shard(directory: Path, repeats: int, shard_bytes: int, spellings: bool = False,
                        groups: bool = False) -> Path:
    """A TF.js graph model: ReadFile of a Const string weight, whose manifest lists one
    ``shard_bytes`` shard ``repeats`` times (in one group, or one group per listing; with
    ``spellings`` each listing spells the path differently: ``./``, ``a/../``...)."""
    directory.mkdir(parents=True, exist_ok=True)
    value = b"/etc/passwd"
    shard = struct.pack("<I", len(value)) + value
    shard += b"\x00" * max(0, shard_bytes - len(shard))
    (directory / "group1-shard1of1.bin").write_bytes(shard)

    def spelled(i: int) -> str:
        if not spellings:
            return "group1-shard1of1.bin"
        return "./" * (i % 7) + "d/../" * (i // 7 % 5) + "group1-shard1of1.bin"

    weight = {"name": "fname", "shape": [1], "dtype": "string"}
    pad = {"name": "pad", "shape": [shard_bytes // 4], "dtype": "float32"}
    if groups:
        manifest = [{"paths": [spelled(i)], "weights": [weight, pad]} for i in range(repeats)]
    else:
        manifest = [{"paths": [spelled(i) for i in range(repeats)], "weights": [weight, pad]}]
    doc = {"format": "graph-model", "generatedBy": "2.21.0", "convertedBy": "TensorFlow.js Converter v4",
           "modelTopology": {"node": [
               {"name": "fname", "op": "Const", "attr": {"dtype": {"type": "DT_STRING"},
                                                         "value": {"tensor": {"dtype": "DT_STRING",
                                                                              "tensorShape": {}}}}},
               {"name": "read", "op": "ReadFile", "input": ["fname"]}]},
           "weightsManifest": manifest}
    path = directory / "model.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def tfjs_string_groups(directory: Path, groups: int, strings: int, size: int) -> Path:
    """A TF.js graph model with ``groups`` string constants, each a weight of ``strings``
    strings of ``size`` bytes in its own manifest group, all groups listing one shard;
    ReadFile reads the first string of the first constant (``/etc/passwd`` padded with
    slashes to ``size``)."""
    directory.mkdir(parents=True, exist_ok=True)
    value = b"/" * (size - len(b"etc/passwd")) + b"etc/passwd"
    with (directory / "s.bin").open("wb") as fh:
        for _ in range(strings):
            fh.write(struct.pack("<I", len(value)) + value)
    nodes: list[dict[str, object]] = [
        {"name": f"c{i}", "op": "Const", "attr": {"dtype": {"type": "DT_STRING"},
                                                  "value": {"tensor": {"dtype": "DT_STRING", "tensorShape": {}}}}}
        for i in range(groups)]
    nodes.append({"name": "read", "op": "ReadFile", "input": ["c0"]})
    manifest = [{"paths": ["s.bin"], "weights": [{"name": f"c{i}", "shape": [strings], "dtype": "string"}]}
                for i in range(groups)]
    doc = {"format": "graph-model", "modelTopology": {"node": nodes}, "weightsManifest": manifest}
    path = directory / "model.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


# -- a small zip bomb for checkpoint ranges ---------------------------------------------


def zip_bytes(members: list[tuple[str, bytes]], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method) as zf:
        for name, data in members:
            zf.writestr(name, data)
    return buf.getvalue()


def savedmodel_bytes() -> bytes:
    """A SavedModel (``saved_model.pb``) whose graph is the reader nodes."""
    graph = reader_nodes()
    meta = field(1, field(4, b"serve")) + field(2, graph)  # meta_info_def.tags, graph_def
    return varint(1 << 3) + varint(1) + field(2, meta)  # schema version, meta_graphs


def runs(size: int, seed: int = 5) -> bytes:
    """``size`` bytes of 100-byte runs of random bytes: deflate shrinks them about 50
    times, under the compression-ratio limit."""
    import random

    rng = random.Random(seed)
    return b"".join(bytes([b]) * 100 for b in rng.randbytes(size // 100 + 1))[:size]


def checkpoint_zip(path: Path, tensors: int, pad: int, fill: bytes | None = None) -> Path:
    """A zipped SavedModel whose checkpoint has ``tensors`` string tensors, each stored
    after ``pad`` bytes of its deflated data shard, zeros unless ``fill``: reading one
    inflates ``pad`` bytes (64 MiB of zeros: a 79 KB zip)."""
    from tests.test_checkpoint import entry, header, string_tensor, table

    blob = string_tensor([b"/etc/passwd"])
    rows = [(b"", header(1))]
    for i in range(tensors):
        rows.append((f"v{i:05d}/.ATTRIBUTES/VARIABLE_VALUE".encode(), entry(7, (), 0, pad + i * len(blob), len(blob))))
    shard = (fill if fill is not None else b"\0" * pad) + blob * tensors
    members = [("m/saved_model.pb", savedmodel_bytes()), ("m/variables/variables.index", table(rows)),
               ("m/variables/variables.data-00000-of-00001", shard)]
    path.write_bytes(zip_bytes(members))
    return path


# -- the bench's set -----------------------------------------------------------------------


def bench_inputs(out: Path, quick: bool) -> dict[str, dict[str, str]]:
    """Every hostile input of issue 16 at its size (``quick``: a tenth, and no 1 GB
    HDF5 file): name -> {"path", "what"}; written to ``out/manifest.json`` last."""
    k = 10 if quick else 1
    out.mkdir(parents=True, exist_ok=True)
    plan: list[tuple[str, str, Callable[[Path], Path]]] = [
        ("pb_string_val", f"GraphDef: a Const of {250 // k} M empty strings (TensorProto.string_val)",
         lambda d: protobuf_case(d, "string_val", 250_000_000 // k)),
        ("pb_int64_val", f"GraphDef: a Const of {400 // k} M packed int64 values",
         lambda d: protobuf_case(d, "int64_val", 400_000_000 // k)),
        ("pb_function_args", f"GraphDef: a library function with {10 // k} M empty input ArgDefs",
         lambda d: protobuf_case(d, "function_args", 10_000_000 // k)),
        ("pb_nodes", "GraphDef: 5.2 M empty nodes (past max-nodes)",
         lambda d: protobuf_case(d, "nodes", 5_200_000)),
        ("zip_entries", f"zip: a central directory of {10 // k} M entries",
         lambda d: zip_many_entries(d / "entries.zip", 10_000_000 // k)),
        ("zip_entries_zip64", f"zip: {10 // k} M entries named by a Zip64 record, a decoy one for the locator",
         lambda d: zip_many_entries(d / "entries64.zip", 10_000_000 // k, "decoy")),
        ("zip_extra_blocks", f"zip: {2000 // k:,} directory entries of 16,000 empty extra-field blocks",
         lambda d: zip_fat_directory(d / "fat.zip", 2000 // k, 65532)),
        ("h5_config", f"HDF5: a {400 // k} MB variable-length model_config",
         lambda d: h5_vlen_config(d / "config.h5", (400 << 20) // k)),
        ("tfjs_repeated", "TF.js: a 2 MiB shard listed 1,000 times",
         lambda d: tfjs_repeated_shard(d / "repeated", 1000, 2 * MiB)),
        ("tfjs_groups", "TF.js: 100 string constants of 4,096 strings of 4 KiB from one shard",
         lambda d: tfjs_string_groups(d / "groups", 100, 4096, 4096)),
        ("checkpoint_zip", "zipped SavedModel: 64 string tensors, each 64 MiB into a deflated shard",
         lambda d: checkpoint_zip(d / "ckpt.zip", 64, 64 * MiB)),
    ]
    if not quick:
        plan.append(("h5_config_1gb", "HDF5: a 1 GB variable-length model_config",
                     lambda d: h5_vlen_config(d / "config1g.h5", 1 << 30)))
    made: dict[str, dict[str, str]] = {}
    for name, what, build in plan:
        sub = out / name
        sub.mkdir(exist_ok=True)
        made[name] = {"path": str(build(sub)), "what": what}
    (out / "manifest.json").write_text(json.dumps(made, indent=1), encoding="utf-8")
    return made


def main(argv: list[str]) -> int:
    bench_inputs(Path(argv[1]), "--quick" in argv)
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script by bench/run.py
    sys.exit(main(sys.argv))
