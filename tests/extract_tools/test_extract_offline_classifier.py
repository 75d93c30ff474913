"""The offline classifier on the fixture kernels (one per subcategory) and on
names/docs alone (how it runs on an installed TF without sources)."""

from __future__ import annotations

from pathlib import Path

import pytest

from extract_tools.capanalysis.evidence import Arg, OpEvidence
from extract_tools.capanalysis.offline import classify, resource_flow
from extract_tools.capanalysis.taxonomy import ALL_SUBCATEGORIES, categories_of
from extract_tools.kernels import KernelIndex, extract_kernels

FIXTURES = Path(__file__).resolve().parent / "fixtures"
TF_SRC = FIXTURES / "tf_src"
CODEQL = FIXTURES / "codeql"

# op -> expected subcategories (each of the 13 is covered at least once)
KERNEL_CASES = {
    "ReadFile": ["file_read"],
    "ImmutableConst": ["file_read"],
    "WriteFile": ["file_write", "dir_write"],
    "MatchingFiles": ["dir_read"],
    "ListDirectory": ["dir_read"],
    "MergeV2Checkpoints": ["file_read", "file_write", "dir_write"],
    "UdpSend": ["network_send"],
    "UdpReceive": ["network_receive"],
    "RpcClient": ["network_send", "network_receive"],
    "RpcCall": ["network_send", "network_receive"],
    "RunCommand": ["process_create"],
    "Abort": ["process_abort"],
    "SleepDataset": ["process_sleep"],
    "PyFunc": ["code_execution"],
    "AddV2": ["math"],
    "LookupTableFindV2": ["internal_data"],
    "EncodeBase64": ["encoding"],
}


@pytest.fixture(scope="module")
def kernels() -> KernelIndex:
    # the CodeQL path needs no optional package; tree-sitter gives the same sources (test_kernels)
    return extract_kernels(
        TF_SRC,
        codeql_registrations=CODEQL / "register_kernel_builder.csv",
        codeql_classes=CODEQL / "opkernel_compute_classes.csv",
    )


def test_cases_cover_every_subcategory() -> None:
    assert {s for subs in KERNEL_CASES.values() for s in subs} == set(ALL_SUBCATEGORIES)


@pytest.mark.parametrize("op", sorted(KERNEL_CASES))
def test_kernel_signals(op: str, kernels: KernelIndex) -> None:
    # the op name alone must not decide: use a neutral name, keep the kernel
    r = classify(OpEvidence("Op" + str(abs(hash(op)) % 1000), kernel_source=kernels.kernel_source(op)))
    assert r.subcategories == KERNEL_CASES[op], (op, [s.label for s in r.signals])
    if r.capabilities:
        assert r.confidence == "high"
    assert r.categories == categories_of(r.subcategories)


def test_comments_do_not_count() -> None:
    r = classify(
        OpEvidence(
            "X",
            kernel_source="void Compute() {\n  // never calls ReadFileToString(\n  /* LOG(FATAL) */ out = a + b;\n}",
        )
    )
    assert r.capabilities == []


S = "string"


@pytest.mark.parametrize(
    ("op", "args", "doc", "expected"),
    [
        (
            "ReadFile",
            [("filename", "input", S)],
            "Reads and outputs the entire contents of the input filename.",
            ["file_read"],
        ),
        (
            "WriteFile",
            [("filename", "input", S), ("contents", "input", S)],
            "Writes `contents` to the file at input `filename`.",
            ["file_write"],
        ),
        (
            "MatchingFiles",
            [("pattern", "input", S)],
            "Returns the set of files matching one or more glob patterns.",
            ["dir_read"],
        ),
        ("PrintV2", [("input", "input", S), ("output_stream", "attr", S)], "Prints a string scalar.", ["file_write"]),
        (
            "DebugIdentityV3",
            [("input", "input", "T"), ("debug_urls", "attr", "list(string)")],
            "Debug Identity V3 Op.",
            ["file_write", "network_send"],
        ),
        (
            "ImmutableConst",
            [("memory_region_name", "attr", S)],
            "Returns immutable tensor from memory region.",
            ["file_read"],
        ),
        (
            "RpcClient",
            [("server_address", "input", S)],
            "Returns a resource handle for client.",
            ["network_send", "network_receive"],
        ),
        ("SaveDataset", [("input_dataset", "input", "variant"), ("path", "input", S)], "", ["file_write", "dir_write"]),
        (
            "MergeV2Checkpoints",
            [("checkpoint_prefixes", "input", S), ("delete_old_dirs", "attr", "bool")],
            "",
            ["file_write", "dir_write"],
        ),
        (
            "PyFunc",
            [("token", "attr", S)],
            "Invokes a python function to compute func(input)->output.",
            ["code_execution"],
        ),
        ("SleepDataset", [("sleep_microseconds", "input", "int64")], "", ["process_sleep"]),
        ("Abort", [("error_msg", "attr", S)], "Raise a exception to abort the process when called.", ["process_abort"]),
        # pure string ops and regexes have path-like / pattern arguments but no capability
        ("StringJoin", [("inputs", "input", "list(string)"), ("separator", "attr", S)], "Joins strings.", []),
        ("ShardedFilename", [("basename", "input", S)], "Generate a sharded filename.", []),
        (
            "RegexFullMatch",
            [("input", "input", S), ("pattern", "input", S)],
            "Check if the input matches the regex pattern.",
            [],
        ),
        ("AddV2", [("x", "input", "T"), ("y", "input", "T")], "Returns x + y element-wise.", []),
    ],
)
def test_names_and_docs(op: str, args: list[tuple[str, str, str]], doc: str, expected: list[str]) -> None:
    r = classify(OpEvidence(op, docstring=doc, args=[Arg(n, k, t) for n, k, t in args]))
    assert r.capabilities == expected, [s.label for s in r.signals]
    if expected:
        assert r.confidence == "low"  # no kernel source: a proposal for review


def test_target_guesses() -> None:
    r = classify(OpEvidence("ReadFile", docstring="Reads a file.", args=[Arg("filename", "input", S)]))
    assert [(t.kind, t.name, t.role) for t in r.targets] == [("input", "filename", "path")]
    j = r.to_json()
    assert j["classifier"] == "offline-2" and j["targets"][0]["role"] == "path"


def _ev(op: str, *args: tuple[str, str], doc: str = "", aliases: dict[str, list[str]] | None = None) -> OpEvidence:
    return OpEvidence(op, docstring=doc, args=[Arg(n, "input", t) for n, t in args], aliases=aliases or {})


def test_payloads_of_writing_ops() -> None:
    r = classify(_ev("WriteFile", ("filename", "string"), ("contents", "string")))
    assert r.capabilities == ["file_write"]
    assert [(t.name, t.role) for t in r.payloads] == [("contents", "data")]
    r = classify(_ev("SaveV2", ("prefix", "string"), ("tensor_names", "string"), ("tensors", "list(T)")))
    assert [(t.name, t.role) for t in r.payloads] == [("tensor_names", "names"), ("tensors", "data")]
    # a reading op has no payload even with an input called `input`
    assert classify(_ev("ReadSomething", ("filename", "string"), ("input", "string"))).payloads == []


def test_serialized_graph_is_code_execution() -> None:
    r = classify(_ev("DatasetFromGraph", ("graph_def", "string"), doc="Creates a dataset from the given `graph_def`."))
    assert r.capabilities == ["code_execution"]
    assert [(t.name, t.role) for t in r.payloads] == [("graph_def", "data")] and r.targets == []


def test_resource_flow_reaches_writers_not_readers() -> None:
    evidence = {
        ev.op: ev
        for ev in (
            _ev("CreateSummaryFileWriter", ("writer", "resource"), ("logdir", "string")),
            _ev("WriteSummary", ("writer", "resource"), ("step", "int64"), ("tensor", "T"), ("tag", "string")),
            _ev("FlushSummaryWriter", ("writer", "resource"), doc="TODO: add doc."),
            _ev("InitializeTableFromTextFileV2", ("table_handle", "resource"), ("filename", "string")),
            _ev("LookupTableFindV2", ("table_handle", "resource"), ("keys", "Tin")),
        )
    }
    before = {op: classify(ev) for op, ev in evidence.items()}
    assert before["WriteSummary"].capabilities == [] and before["FlushSummaryWriter"].capabilities == []
    after = resource_flow(evidence, before)
    assert after["WriteSummary"].capabilities == ["file_write"]
    assert after["WriteSummary"].targets == []  # the path is on CreateSummaryFileWriter
    assert [(t.name, t.role) for t in after["WriteSummary"].payloads] == [("tensor", "data"), ("tag", "names")]
    assert after["WriteSummary"].via_resource == ("writer", ("CreateSummaryFileWriter",))
    assert after["FlushSummaryWriter"].capabilities == ["file_write"]
    # a table filled from a file is read once: its users work on memory
    assert before["InitializeTableFromTextFileV2"].capabilities == ["file_read"]
    assert after["LookupTableFindV2"].capabilities == []


def test_argument_named_after_what_callers_pass() -> None:
    plain = classify(_ev("IO>AudioReadableInit", ("input", "string")))
    assert plain.capabilities == []
    r = classify(_ev("IO>AudioReadableInit", ("input", "string"), aliases={"input": ["filename"]}))
    assert r.capabilities == ["file_read"] and [(t.name, t.role) for t in r.targets] == [("input", "path")]
    assert any("callers pass `filename`" in s.label for s in r.signals)


def test_network_service_names() -> None:
    assert classify(_ev("IO>KafkaReadableNext", ("input", "resource"))).capabilities == ["network_receive"]
    assert classify(_ev("IO>PulsarWritableWrite", ("input", "resource"))).capabilities == ["network_send"]
    assert classify(_ev("IO>KafkaDecodeAvro", ("input", "string"))).capabilities == []  # a codec
    assert classify(_ev("BigtablePrintFilter")).capabilities == []  # a request builder
