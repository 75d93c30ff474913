"""``tfmodel_lint.proto`` / ``.wire``: the protobuf nesting limit told apart from other
parse errors, and enforced where the runtime has none, compared with upb's own decoder."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from google.protobuf.message import DecodeError

from tests.wire_bytes import field, node, varint
from tfmodel_lint.limits import PROTOBUF_MAX_DEPTH
from tfmodel_lint.proto import deeper_than_runtime_limit, too_deep
from tfmodel_lint.proto import tfmodel_lint_pb2 as pb
from tfmodel_lint.proto.wire import nesting_depth, probe_too_deep, runtime_limits_depth

ROOT = Path(__file__).resolve().parent.parent
TAILS = {"none": b"", "shape": field(7, b""), "shape+dim": field(7, field(2, b"")),
         "shape+dim+size": field(7, field(2, varint(8) + varint(3)))}


def graph(levels: int, tail: bytes) -> bytes:
    """A GraphDef whose one node has an attr nested ``levels`` times (func -> attr ->
    value), ending in ``tail`` (an AttrValue's fields)."""
    inner = tail
    for _ in range(levels):
        inner = field(10, field(2, field(1, b"a") + field(2, inner)))
    return field(1, node(b"n", b"Identity", attrs=field(5, field(1, b"x") + field(2, inner))))


def upb_refuses(data: bytes) -> bool:
    try:
        pb.GraphDef.FromString(data)
    except DecodeError:
        return True
    return False


@pytest.mark.parametrize("levels", [30, 31, 32, 33])
@pytest.mark.parametrize("tail", list(TAILS))
def test_nesting_depth_counts_as_upb_does(levels: int, tail: str) -> None:
    from google.protobuf.internal import api_implementation

    assert api_implementation.Type() == "upb"
    data = graph(levels, TAILS[tail])
    depth = nesting_depth(pb.GraphDef.DESCRIPTOR, data, 10**6)
    assert upb_refuses(data) is (depth > PROTOBUF_MAX_DEPTH), depth
    try:
        pb.GraphDef.FromString(data)
    except DecodeError as exc:
        assert too_deep(exc, pb.GraphDef.DESCRIPTOR, data)


def test_boundary_is_reached() -> None:
    depths = {nesting_depth(pb.GraphDef.DESCRIPTOR, graph(n, t), 10**6) for n in (32, 33) for t in TAILS.values()}
    assert {PROTOBUF_MAX_DEPTH, PROTOBUF_MAX_DEPTH + 1} <= depths


def test_probe_is_one_level_too_deep() -> None:
    probe = probe_too_deep()
    assert nesting_depth(pb.AttrValue.DESCRIPTOR, probe, 10**6) == PROTOBUF_MAX_DEPTH + 1
    with pytest.raises(DecodeError):
        pb.AttrValue.FromString(probe)
    assert runtime_limits_depth(pb.AttrValue) is True
    assert deeper_than_runtime_limit(pb.GraphDef.DESCRIPTOR, graph(40, b"")) is False  # upb refuses it itself


def test_upb_lint_does_not_import_the_walker() -> None:
    code = ("import sys; from tfmodel_lint.cli import main; main([sys.argv[1], '--quiet']); "
            "print('tfmodel_lint.proto.wire' in sys.modules)")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]))
    env.pop("PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION", None)
    model = ROOT / "examples" / "models" / "malicious_reader"
    out = subprocess.run([sys.executable, "-c", code, str(model)], env=env, capture_output=True, text=True,
                         check=False, timeout=120)
    assert out.stdout.split()[-1] == "False", out.stderr[-2000:]


@pytest.mark.parametrize("data", [
    b"\x0a" + varint(1 << 30) + b"abc",  # length past the end
    b"\x08" + b"\xff" * 11,  # overlong varint
    b"\x0b",  # a group that never ends
    field(1, node(b"n", b"Identity"))[:-3],  # truncated
], ids=["length", "varint", "group", "truncated"])
def test_other_parse_errors_are_not_depth(data: bytes) -> None:
    with pytest.raises(DecodeError) as info:
        pb.GraphDef.FromString(data)
    assert not too_deep(info.value, pb.GraphDef.DESCRIPTOR, data)


def test_walk_is_bounded() -> None:
    # Very deep: the walk stops at ``stop``; very wide: siblings are not all kept.
    deep = graph(20_000, b"")
    assert nesting_depth(pb.GraphDef.DESCRIPTOR, deep, PROTOBUF_MAX_DEPTH + 1) == PROTOBUF_MAX_DEPTH + 1
    shape = field(7, field(2, b"") * 200_000)  # 200,000 dims in one AttrValue.shape
    wide = field(1, node(b"n", b"Identity", attrs=field(5, field(1, b"x") + field(2, shape))))
    assert nesting_depth(pb.GraphDef.DESCRIPTOR, wide, 10**6) == 5


def test_pure_python_backend_limits_depth_too() -> None:
    # protobuf 7's pure-Python decoder refuses the probe with its own words
    # ("too many levels of nesting"); tests/test_install_compat.py covers older releases,
    # which do not (there deeper_than_runtime_limit walks every parsed message).
    code = ("from tfmodel_lint.proto.wire import runtime_limits_depth; from tfmodel_lint.proto.tfmodel_lint_pb2 "
            "import AttrValue; from google.protobuf.internal import api_implementation as a; "
            "print(a.Type(), runtime_limits_depth(AttrValue))")
    env = dict(os.environ, PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION="python",
               PYTHONPATH=os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]))
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True,
                         timeout=120)
    assert out.stdout.split() == ["python", "True"]
