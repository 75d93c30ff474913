"""Our minimal protobuf schema agrees with TensorFlow's own: every field we declare has
TensorFlow's number, type and cardinality. Runs TensorFlow in a subprocess (so this
test process never imports it)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

pytestmark = pytest.mark.tf

OURS_TO_TF = {
    "VersionDef": "tensorflow.core.framework.versions_pb2:VersionDef",
    "TensorShapeProto": "tensorflow.core.framework.tensor_shape_pb2:TensorShapeProto",
    "TensorProto": "tensorflow.core.framework.tensor_pb2:TensorProto",
    "AttrValue": "tensorflow.core.framework.attr_value_pb2:AttrValue",
    "NameAttrList": "tensorflow.core.framework.attr_value_pb2:NameAttrList",
    "NodeDef": "tensorflow.core.framework.node_def_pb2:NodeDef",
    "OpDef": "tensorflow.core.framework.op_def_pb2:OpDef",
    "OpList": "tensorflow.core.framework.op_def_pb2:OpList",
    "FunctionDef": "tensorflow.core.framework.function_pb2:FunctionDef",
    "GradientDef": "tensorflow.core.framework.function_pb2:GradientDef",
    "FunctionDefLibrary": "tensorflow.core.framework.function_pb2:FunctionDefLibrary",
    "GraphDef": "tensorflow.core.framework.graph_pb2:GraphDef",
    "SaverDef": "tensorflow.core.protobuf.saver_pb2:SaverDef",
    "MetaGraphDef": "tensorflow.core.protobuf.meta_graph_pb2:MetaGraphDef",
    "CollectionDef": "tensorflow.core.protobuf.meta_graph_pb2:CollectionDef",
    "TensorInfo": "tensorflow.core.protobuf.meta_graph_pb2:TensorInfo",
    "SignatureDef": "tensorflow.core.protobuf.meta_graph_pb2:SignatureDef",
    "AssetFileDef": "tensorflow.core.protobuf.meta_graph_pb2:AssetFileDef",
    "SavedModel": "tensorflow.core.protobuf.saved_model_pb2:SavedModel",
    "ObjectReference": (
        "tensorflow.core.protobuf.trackable_object_graph_pb2:TrackableObjectGraph.TrackableObject.ObjectReference"
    ),
    "SavedObjectGraph": "tensorflow.core.protobuf.saved_object_graph_pb2:SavedObjectGraph",
    "SavedObject": "tensorflow.core.protobuf.saved_object_graph_pb2:SavedObject",
    "SavedUserObject": "tensorflow.core.protobuf.saved_object_graph_pb2:SavedUserObject",
    "SavedAsset": "tensorflow.core.protobuf.saved_object_graph_pb2:SavedAsset",
    "SavedFunction": "tensorflow.core.protobuf.saved_object_graph_pb2:SavedFunction",
    "SavedConcreteFunction": "tensorflow.core.protobuf.saved_object_graph_pb2:SavedConcreteFunction",
    "SavedBareConcreteFunction": "tensorflow.core.protobuf.saved_object_graph_pb2:SavedBareConcreteFunction",
    "SavedConstant": "tensorflow.core.protobuf.saved_object_graph_pb2:SavedConstant",
    "SavedVariable": "tensorflow.core.protobuf.saved_object_graph_pb2:SavedVariable",
    "SavedResource": "tensorflow.core.protobuf.saved_object_graph_pb2:SavedResource",
    "CapturedTensor": "tensorflow.core.protobuf.saved_object_graph_pb2:CapturedTensor",
    "SaveableObject": "tensorflow.core.protobuf.saved_object_graph_pb2:SaveableObject",
    "BundleHeaderProto": "tensorflow.core.protobuf.tensor_bundle_pb2:BundleHeaderProto",
    "BundleEntryProto": "tensorflow.core.protobuf.tensor_bundle_pb2:BundleEntryProto",
    "TensorSliceProto": "tensorflow.core.framework.tensor_slice_pb2:TensorSliceProto",
    "KerasSavedMetadata": "tf_keras.protobuf.saved_metadata_pb2:SavedMetadata",
    "KerasSavedObject": "tf_keras.protobuf.saved_metadata_pb2:SavedObject",
}

SCRIPT = r"""
import importlib, json, sys
from google.protobuf.descriptor import FieldDescriptor as F
from tfmodel_lint.proto import tfmodel_lint_pb2 as ours
mapping = json.loads(sys.argv[1])
problems = []
checked = 0

def walk(our_desc, tf_desc, where):
    global checked
    tf_fields = {f.name: f for f in tf_desc.fields}
    for f in our_desc.fields:
        t = tf_fields.get(f.name)
        if t is None:
            problems.append(f"{where}.{f.name}: not in TensorFlow's {tf_desc.full_name}")
            continue
        checked += 1
        if f.number != t.number:
            problems.append(f"{where}.{f.name}: number {f.number} != {t.number}")
        if f.is_repeated != t.is_repeated:
            problems.append(f"{where}.{f.name}: cardinality differs")
        if f.type != t.type and not (f.type == F.TYPE_INT32 and t.type == F.TYPE_ENUM):
            problems.append(f"{where}.{f.name}: type {f.type} != {t.type}")
        if f.type == F.TYPE_ENUM and t.type == F.TYPE_ENUM:
            ov = {v.name: v.number for v in f.enum_type.values}
            tv = {v.name: v.number for v in t.enum_type.values}
            for name, num in ov.items():
                if tv.get(name) != num:
                    problems.append(f"{where}.{f.name}: enum {name}={num} vs TF {tv.get(name)}")
        if f.message_type is not None and t.message_type is not None and not f.message_type.GetOptions().map_entry:
            if f.message_type.containing_type is not None and f.message_type.containing_type == our_desc:
                walk(f.message_type, t.message_type, f"{where}.{f.name}")

for ours_name, spec in mapping.items():
    module, _, qual = spec.partition(":")
    obj = importlib.import_module(module)
    for part in qual.split("."):
        obj = getattr(obj, part)
    walk(getattr(ours, ours_name).DESCRIPTOR, obj.DESCRIPTOR, ours_name)
print(json.dumps({"checked": checked, "problems": problems}))
"""


def test_field_numbers_match_tensorflow() -> None:
    pytest.importorskip("google.protobuf")
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT, json.dumps(OURS_TO_TF)],
        capture_output=True, text=True, timeout=300, check=False,
        env={"TF_CPP_MIN_LOG_LEVEL": "3", "PATH": "/usr/bin:/bin"},
    )
    if proc.returncode != 0 and "No module named 'tensorflow'" in proc.stderr:
        pytest.skip("TensorFlow not installed")
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report["problems"] == []
    assert report["checked"] >= 120
