"""Kernel extraction on the fixture C++ tree: (a) CodeQL results, (c) tree-sitter."""

from __future__ import annotations

from pathlib import Path

import pytest

from extract_tools.kernels import KernelIndex, cpp_text, extract_kernels
from extract_tools.kernels.codeql_import import import_codeql, load_compute_rows, parse_registration_locations

FIXTURES = Path(__file__).resolve().parent / "fixtures"
TF_SRC = FIXTURES / "tf_src"
CODEQL = FIXTURES / "codeql"

EXPECTED = {
    "Abort": "AbortOp",
    "AddV2": "BinaryOp",
    "EagerPyFunc": "PyFuncOp",
    "EncodeBase64": "EncodeBase64Op",
    "ImmutableConst": "ImmutableConstantOp",
    "ListDirectory": "ListDirectoryOp",
    "LookupTableFindV2": "LookupTableFindOp",
    "MatchingFiles": "MatchingFilesOp",
    "MergeV2Checkpoints": "MergeV2Checkpoints",
    "PyFunc": "PyFuncOp",
    "PyFuncStateless": "PyFuncOp",
    "ReadFile": "ReadFileOp",
    "RpcCall": "RpcCallOp",
    "RpcClient": "RpcClientOp",
    "RunCommand": "RunCommandOp",
    "SleepDataset": "SleepDatasetOp",
    "UdpReceive": "UdpReceiveOp",
    "UdpSend": "UdpSendOp",
    "WriteFile": "WriteFileOp",
}


def _treesitter() -> KernelIndex:
    pytest.importorskip("tree_sitter")
    pytest.importorskip("tree_sitter_cpp")
    return extract_kernels(TF_SRC)


def _codeql(classes: str = "opkernel_compute_classes.csv") -> KernelIndex:
    return extract_kernels(
        TF_SRC, codeql_registrations=CODEQL / "register_kernel_builder.csv", codeql_classes=CODEQL / classes
    )


@pytest.fixture(params=["tree-sitter", "codeql-csv", "codeql-xlsx"])
def index(request: pytest.FixtureRequest) -> KernelIndex:
    if request.param == "tree-sitter":
        return _treesitter()
    if request.param == "codeql-xlsx":
        pytest.importorskip("openpyxl")
        return _codeql("opkernel_compute_classes.xlsx")
    return _codeql()


def test_every_op_maps_to_its_kernel_class(index: KernelIndex) -> None:
    assert index.ops() == sorted(EXPECTED)
    for op, cls in EXPECTED.items():
        classes = index.classes_for_op(op)
        assert [c.name for c in classes] == [cls], op
    assert not [p for p in index.problems if "not found" in p]


def test_compute_methods_and_helpers(index: KernelIndex) -> None:
    src = index.kernel_source("WriteFile")
    assert "void Compute(OpKernelContext* context) override" in src
    assert "env->NewWritableFile(fname, &file)" in src  # the private helper method
    # async kernel
    assert "void ComputeAsync(" in index.kernel_source("RpcCall")
    # class in a header, Compute defined out of line in the .cc
    imm = index.classes_for_op("ImmutableConst")[0]
    assert imm.file == "tensorflow/core/kernels/immutable_constant_op.h"
    assert "NewReadOnlyMemoryRegionFromFile" in index.kernel_source("ImmutableConst")
    # tf.data style: out-of-line MakeDataset and nested Dataset/Iterator class
    sleep = index.kernel_source("SleepDataset")
    assert "void SleepDatasetOp::MakeDataset(" in sleep
    assert "SleepForMicroseconds" in sleep
    # a free function in the same file that Compute calls
    assert "PyObject_Call(trampoline" in index.kernel_source("PyFunc")
    # braces inside strings and comments do not end the method early
    assert "GetMatchingPaths" in index.kernel_source("MatchingFiles")


def test_registrations_details(index: KernelIndex) -> None:
    regs = {(r.op, r.device) for r in index.registrations}
    assert ("AddV2", "DEVICE_GPU") in regs  # a plain registration under #if GOOGLE_CUDA
    macro = [r for r in index.registrations if r.op == "AddV2" and r.device is None]
    assert macro and macro[0].class_name == "BinaryOp"  # inside #define REGISTER_ADD
    # Name(kConstant) resolved from a constexpr in the same file
    assert any(r.op == "ListDirectory" and r.name_expr == "kListDirectoryOp" for r in index.registrations)
    assert any(r.op == "SleepDataset" for r in index.registrations)
    data = index.to_json()
    assert data["ops"]["PyFunc"]["classes"] == ["tensorflow/python/lib/core/py_func.cc::PyFuncOp"]
    assert KernelIndex.from_json(data).kernel_source("ReadFile") == index.kernel_source("ReadFile")


def test_codeql_formats() -> None:
    locs = parse_registration_locations((CODEQL / "register_kernel_builder.csv").read_text())
    assert len(locs) == 20  # 21 lines, the macro body twice
    # bqrs decode output: header + quotes
    quoted = '"col0"\n"/tensorflow/core/kernels/matching_files_op.cc:26:1:27:40"\n'
    assert parse_registration_locations(quoted)[0].start_line == 26
    rows = load_compute_rows(CODEQL / "opkernel_compute_classes.csv")
    assert ("ImmutableConstantOp", 14) in {(r.class_name, r.line) for r in rows}


def test_codeql_xlsx_matches_reference_layout() -> None:
    pytest.importorskip("openpyxl")
    rows = load_compute_rows(CODEQL / "opkernel_compute_classes.xlsx")
    assert len(rows) == 17  # the first row (pandas header artefact) is data too
    assert rows[0].class_name == "AbortOp"


def test_codeql_outer_macro_location_and_absolute_paths(tmp_path: Path) -> None:
    csv = tmp_path / "regs.csv"
    # an absolute path from the machine that built the database, pointing at
    # the outer macro invocation TF_CALL_float(REGISTER_ADD_CPU)
    csv.write_text("/home/builder/src/tensorflow/core/kernels/cwise_op_add.cc:13:1:13:31\n/nowhere/x.cc:1:1:1:2\n")
    idx = import_codeql(csv, None, TF_SRC)
    assert [(r.op, r.class_name) for r in idx.registrations] == [("AddV2", "BinaryOp")]
    assert idx.classes_for_op("AddV2")[0].located_by == "text-search"
    assert any("not readable" in p for p in idx.problems)


def test_cpp_text_helpers() -> None:
    masked = cpp_text.mask_comments_and_strings('a("}{") // }\n/* { */ b')
    assert "}" not in masked and "{" not in masked and len(masked) == len('a("}{") // }\n/* { */ b')
    assert cpp_text.split_top_level_args('Name("X").Device(D), Foo<A, B>') == ['Name("X").Device(D)', "Foo<A, B>"]
    assert cpp_text.base_class_name("data::FooOp<CPUDevice, functor::add<T>>") == "FooOp"
    checks = cpp_text.op_requires_checks((TF_SRC / "tensorflow/core/kernels/whole_file_read_ops.cc").read_text())
    assert any(c.startswith("OP_REQUIRES(context, TensorShapeUtils::IsScalar(input->shape())") for c in checks)
