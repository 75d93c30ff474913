"""The generated ``tfmodel_lint_pb2`` gives the same module on every protobuf backend.

On upb it builds its classes directly (``scripts/gen_proto.py`` explains why); on the
pure-Python backend it runs protoc's code unchanged. Both must expose the same names
(messages, enums, enum values, descriptors) and parse a real SavedModel to the same
message.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAVED_MODEL = ROOT / "examples" / "models" / "malicious_reader" / "saved_model.pb"

PROBE = r"""
import hashlib, json, sys
from google.protobuf.internal import api_implementation
from tfmodel_lint.proto import tfmodel_lint_pb2 as m

def describe(value):
    if isinstance(value, int):
        return value
    d = getattr(value, "DESCRIPTOR", value)
    return getattr(d, "full_name", None) or type(value).__name__

names = {k: describe(v) for k, v in vars(m).items()
         if k[:1].isupper() or (k[:1] == "_" and k[1:2].isupper())}
sm = m.SavedModel.FromString(open(sys.argv[1], "rb").read())
nodes = [n for mg in sm.meta_graphs for f in mg.graph_def.library.function for n in f.node_def]
print(json.dumps({
    "backend": api_implementation.Type(),
    "names": names,
    "message": hashlib.sha256(sm.SerializeToString(deterministic=True)).hexdigest(),
    "ops": sorted({n.op for n in nodes}),
    "dtype_name": m.DataType.Name(m.DT_STRING),
    "qualname": m.TensorShapeProto.Dim.__qualname__,
}))
"""


def probe(backend: str) -> dict[str, object]:
    env = dict(os.environ, PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION=backend,
               PYTHONPATH=os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]))
    out = subprocess.run([sys.executable, "-c", PROBE, str(SAVED_MODEL)], env=env, capture_output=True,
                         text=True, check=True, timeout=120)
    result: dict[str, object] = json.loads(out.stdout)
    return result


def test_upb_fast_path_and_protoc_code_agree() -> None:
    upb, python = probe("upb"), probe("python")
    assert (upb["backend"], python["backend"]) == ("upb", "python")
    assert upb["names"] == python["names"]
    names = upb["names"]
    assert isinstance(names, dict)
    assert names["NodeDef"] == "tfmodel_lint.NodeDef" and names["DT_STRING"] == 7
    assert names["_NODEDEF"] == "tfmodel_lint.NodeDef"
    assert upb["message"] == python["message"]
    assert "ReadFile" in upb["ops"]  # type: ignore[operator]
    assert upb["ops"] == python["ops"] and upb["dtype_name"] == python["dtype_name"] == "DT_STRING"
    assert upb["qualname"] == python["qualname"] == "TensorShapeProto.Dim"


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
