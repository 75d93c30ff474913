"""Op registry: input and attr names/types of every registered op.

This is the only step that imports TensorFlow, and it does so in a child
process (``--python`` picks the interpreter, default: the current one), so the
rest of the pipeline stays import-free and another TF release can be examined
from a throwaway venv.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Runs inside the interpreter that has TensorFlow; prints one JSON document.
_DUMP_SCRIPT = r"""
import json, sys
from tensorflow.python.client import pywrap_tf_session as c_api
from tensorflow.core.framework import op_def_pb2
from google.protobuf import json_format
try:
    from tensorflow.python.framework import versions
    version = versions.__version__
except Exception:  # pragma: no cover - very old releases
    import tensorflow as tf
    version = tf.__version__
buf = c_api.TF_GetAllOpList()
try:
    data = c_api.TF_GetBuffer(buf)
finally:
    c_api.TF_DeleteBuffer(buf)
ops = op_def_pb2.OpList.FromString(data)
out = {"tf_version": version, "ops": [json_format.MessageToDict(o, preserving_proto_field_name=True) for o in ops.op]}
json.dump(out, sys.stdout)
"""


@dataclass(frozen=True)
class ArgSpec:
    name: str
    index: int
    type: str  # "string", "int64", "T" (type attr), "list(T)" ...
    is_list: bool
    after_list: bool  # a list-valued input precedes this one
    is_ref: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "index": self.index,
            "type": self.type,
            "is_list": self.is_list,
            "after_list": self.after_list,
            "is_ref": self.is_ref,
        }


@dataclass(frozen=True)
class AttrSpec:
    name: str
    type: str  # "string", "list(string)", "int", "type", "func" ...
    default: Any = None
    has_default: bool = False

    def to_json(self) -> dict[str, Any]:
        d: dict[str, Any] = {"name": self.name, "type": self.type}
        if self.has_default:
            d["default"] = self.default
        return d


@dataclass
class OpSpec:
    name: str
    inputs: list[ArgSpec] = field(default_factory=list)
    outputs: list[ArgSpec] = field(default_factory=list)
    attrs: list[AttrSpec] = field(default_factory=list)
    is_stateful: bool = False

    def input(self, name: str) -> ArgSpec | None:
        return next((a for a in self.inputs if a.name == name), None)

    def attr(self, name: str) -> AttrSpec | None:
        return next((a for a in self.attrs if a.name == name), None)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "inputs": [a.to_json() for a in self.inputs],
            "outputs": [a.to_json() for a in self.outputs],
            "attrs": [a.to_json() for a in self.attrs],
            "is_stateful": self.is_stateful,
        }


@dataclass
class Registry:
    tf_version: str | None
    ops: dict[str, OpSpec]

    def to_json(self) -> dict[str, Any]:
        return {
            "tool": "registry",
            "tf_version": self.tf_version,
            "ops": {k: self.ops[k].to_json() for k in sorted(self.ops)},
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Registry:
        ops: dict[str, OpSpec] = {}
        for name, o in data["ops"].items():
            ops[name] = OpSpec(
                name=name,
                inputs=[ArgSpec(**a) for a in o["inputs"]],
                outputs=[ArgSpec(**a) for a in o["outputs"]],
                attrs=[AttrSpec(a["name"], a["type"], a.get("default"), "default" in a) for a in o["attrs"]],
                is_stateful=bool(o.get("is_stateful", False)),
            )
        return cls(data.get("tf_version"), ops)


_DTYPE_NAMES = {
    "DT_STRING": "string",
    "DT_INT32": "int32",
    "DT_INT64": "int64",
    "DT_FLOAT": "float",
    "DT_DOUBLE": "double",
    "DT_BOOL": "bool",
    "DT_RESOURCE": "resource",
    "DT_VARIANT": "variant",
    "DT_UINT8": "uint8",
    "DT_STRING_REF": "string_ref",
}


def _arg_type(arg: dict[str, Any]) -> str:
    if "type_list_attr" in arg:
        return f"list({arg['type_list_attr']})"
    base = arg.get("type_attr") or _DTYPE_NAMES.get(
        arg.get("type", ""), str(arg.get("type", "")).removeprefix("DT_").lower()
    )
    if "number_attr" in arg:
        return f"list({base})"
    return str(base)


def _attr_value(v: dict[str, Any]) -> Any:
    """Plain JSON for an AttrValue default (only the simple kinds)."""
    if not v:
        return None
    if "list" in v:
        lst = v["list"]
        for k in ("s", "i", "f", "b", "type"):
            if k in lst:
                return [_attr_value({k: x}) for x in lst[k]]
        return []
    if "s" in v:
        import base64

        raw = base64.b64decode(v["s"])
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            return raw.hex()
    if "i" in v:
        return int(v["i"])
    if "f" in v:
        return v["f"]
    if "b" in v:
        return bool(v["b"])
    if "type" in v:
        return v["type"]
    return None


def _args(items: list[dict[str, Any]]) -> list[ArgSpec]:
    out: list[ArgSpec] = []
    seen_list = False
    for i, a in enumerate(items):
        is_list = "number_attr" in a or "type_list_attr" in a
        out.append(ArgSpec(a["name"], i, _arg_type(a), is_list, seen_list, bool(a.get("is_ref", False))))
        seen_list = seen_list or is_list
    return out


def parse_dump(data: dict[str, Any]) -> Registry:
    ops: dict[str, OpSpec] = {}
    for o in data["ops"]:
        ops[o["name"]] = OpSpec(
            name=o["name"],
            inputs=_args(o.get("input_arg", [])),
            outputs=_args(o.get("output_arg", [])),
            attrs=[
                AttrSpec(a["name"], a["type"], _attr_value(a.get("default_value", {})), "default_value" in a)
                for a in o.get("attr", [])
            ],
            is_stateful=bool(o.get("is_stateful", False)),
        )
    return Registry(data.get("tf_version"), ops)


class RegistryDump:
    """The registry dump running in a child process (start it early, collect
    it later: importing TensorFlow takes seconds)."""

    def __init__(self, python: str | None = None) -> None:
        env = dict(os.environ)
        env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        env.setdefault("CUDA_VISIBLE_DEVICES", "")
        self.proc = subprocess.Popen(
            [python or sys.executable, "-c", _DUMP_SCRIPT],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )

    def result(self, timeout: float = 600) -> Registry:
        try:
            out, err = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.communicate()
            raise
        if self.proc.returncode != 0:
            raise RuntimeError(f"registry dump failed ({self.proc.returncode}): {err.strip()[-2000:]}")
        return parse_dump(json.loads(out))


def dump_registry(python: str | None = None, *, timeout: float = 600) -> Registry:
    """Import TensorFlow in *python* (default: this interpreter) and read the
    registry of every op it has registered (including ops without wrappers)."""
    return RegistryDump(python).result(timeout)


def load_or_dump(cache: Path | None, python: str | None = None) -> Registry:
    if cache and cache.exists():
        return Registry.from_json(json.loads(cache.read_text(encoding="utf-8")))
    reg = dump_registry(python)
    if cache:
        cache.parent.mkdir(parents=True, exist_ok=True)
        cache.write_text(json.dumps(reg.to_json(), indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return reg
