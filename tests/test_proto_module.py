"""The generated ``tfmodel_lint_pb2`` gives the same module on every protobuf backend.

On upb it builds its classes directly, through upb's private names (``scripts/gen_proto.py``
explains why); on the pure-Python backend, and on upb when those names are gone or behave
otherwise, it runs protoc's code. Every way must expose the same names (messages, enums,
enum values, descriptors) and parse a real SavedModel to the same message.
``tests/test_install_compat.py`` runs the same probe on every protobuf release line.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SAVED_MODEL = ROOT / "examples" / "models" / "malicious_reader" / "saved_model.pb"
PROTO_DIR = ROOT / "src" / "tfmodel_lint" / "proto"

#: ``python -c PROBE SAVED_MODEL MODE``. MODE ``normal`` imports the module as it is;
#: ``missing`` and ``changed`` first break upb's private names the fast path uses, as a
#: protobuf release could (protobuf's own modules are imported before, so they keep the
#: real ones): ``missing`` removes ``MessageMeta``, ``changed`` makes it fail after five
#: classes, when the file is in the pool and some classes exist.
PROBE = r"""
import hashlib, json, sys
mode = sys.argv[2]
if mode != "normal":
    from google.protobuf import descriptor_pool, message_factory, symbol_database
    from google.protobuf.internal import builder
    from google._upb import _message as upb
    if mode == "missing":
        del upb.MessageMeta
    else:
        real, made = upb.MessageMeta, []
        def changed(*args):
            made.append(args[0])
            if len(made) > 5:
                raise TypeError("MessageMeta() changed")
            return real(*args)
        upb.MessageMeta = changed
import google.protobuf
from google.protobuf.internal import api_implementation
from tfmodel_lint.proto import tfmodel_lint_pb2 as m

def describe(value):
    if isinstance(value, int):
        return value
    d = getattr(value, "DESCRIPTOR", value)
    return getattr(d, "full_name", None) or type(value).__name__

names = {k: describe(v) for k, v in vars(m).items()
         if (k[:1].isupper() or (k[:1] == "_" and k[1:2].isupper())) and k != "_FAST_PATH"}
sm = m.SavedModel.FromString(open(sys.argv[1], "rb").read())
nodes = [n for mg in sm.meta_graphs for f in mg.graph_def.library.function for n in f.node_def]
print(json.dumps({
    "protobuf": google.protobuf.__version__,
    "backend": api_implementation.Type(),
    "fast_path": m._FAST_PATH,
    "names": names,
    "message": hashlib.sha256(sm.SerializeToString(deterministic=True)).hexdigest(),
    "ops": sorted({n.op for n in nodes}),
    "dtype_name": m.DataType.Name(m.DT_STRING),
    "enum_value": m.SaverDef.V2,
    "qualname": m.TensorShapeProto.Dim.__qualname__,
}))
"""


def probe(backend: str, mode: str = "normal") -> dict[str, object]:
    env = dict(os.environ, PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION=backend,
               PYTHONPATH=os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]))
    out = subprocess.run([sys.executable, "-W", "error", "-c", PROBE, str(SAVED_MODEL), mode], env=env,
                         capture_output=True, text=True, check=False, timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    result: dict[str, object] = json.loads(out.stdout)
    return result


def same_module(a: dict[str, object], b: dict[str, object]) -> bool:
    keys = ("names", "message", "ops", "dtype_name", "enum_value")
    return all(a[k] == b[k] for k in keys)


def test_upb_fast_path_and_protoc_code_agree() -> None:
    upb, python = probe("upb"), probe("python")
    assert (upb["backend"], python["backend"]) == ("upb", "python")
    assert (upb["fast_path"], python["fast_path"]) == (True, False)
    assert same_module(upb, python)
    names = upb["names"]
    assert isinstance(names, dict)
    assert names["NodeDef"] == "tfmodel_lint.NodeDef" and names["DT_STRING"] == 7
    assert names["_NODEDEF"] == "tfmodel_lint.NodeDef"
    assert names["_TENSORSHAPEPROTO_DIM"] == "tfmodel_lint.TensorShapeProto.Dim"
    assert names["DESCRIPTOR"] == "FileDescriptor"
    assert "ReadFile" in upb["ops"]  # type: ignore[operator]
    assert upb["dtype_name"] == "DT_STRING" and upb["enum_value"] == 2
    assert upb["qualname"] == python["qualname"] == "TensorShapeProto.Dim"


@pytest.mark.parametrize("mode", ["missing", "changed"])
def test_upb_fast_path_falls_back_to_protoc_code(mode: str) -> None:
    fallback = probe("upb", mode)
    assert fallback["backend"] == "upb" and fallback["fast_path"] is False
    assert same_module(fallback, probe("upb"))


def test_generated_module_has_no_runtime_version_check() -> None:
    # protoc's check refuses every runtime older than the protoc that generated the
    # module (tests/test_install_compat.py lints with those runtimes).
    text = (PROTO_DIR / "tfmodel_lint_pb2.py").read_text(encoding="utf-8")
    assert "runtime_version" not in text
    assert "def " in text and "_FAST_PATH = True" in text


def test_linter_does_not_import_protobufs_pure_python_machinery() -> None:
    code = ("import sys; from tfmodel_lint.cli import main; main([sys.argv[1], '--quiet']) ; "
            "print(sorted(m for m in sys.modules if m.startswith('google.protobuf')))")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]))
    env.pop("PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION", None)
    out = subprocess.run([sys.executable, "-c", code, str(SAVED_MODEL.parent)], env=env, capture_output=True,
                         check=True, text=True, timeout=120)
    loaded = out.stdout.strip().splitlines()[-1]
    for heavy in ("google.protobuf.internal.python_message", "google.protobuf.text_format",
                  "google.protobuf.descriptor_pool"):
        assert heavy not in loaded, loaded
