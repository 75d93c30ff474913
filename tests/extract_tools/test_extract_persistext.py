"""PersistExt on fixture gen_*.py files: every wrapper spelling, fallbacks, a broken file."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from extract_tools import compare, persistext


def _by_api(res: persistext.ExtractResult) -> dict[str, persistext.Wrapper]:
    return {w.api_name: w for w in res.wrappers}


def test_finds_tensorflow_without_importing(fake_tf_site: Path) -> None:
    root = persistext.find_tensorflow(["", "/nonexistent", str(fake_tf_site)])
    assert root.base == fake_tf_site.resolve()
    assert root.kind == "site-packages"
    assert persistext.detect_tf_version(root) == "9.9.9"
    assert "tensorflow" not in sys.modules or "fixture" not in str(sys.modules["tensorflow"])


def test_resolve_root_variants(fake_tf_site: Path) -> None:
    assert persistext.resolve_root(fake_tf_site).base == fake_tf_site.resolve()
    assert persistext.resolve_root(fake_tf_site / "tensorflow").base == fake_tf_site.resolve()
    with pytest.raises(persistext.TensorFlowNotFound):
        persistext.find_tensorflow([str(fake_tf_site / "tensorflow" / "lite")])


def test_all_wrapper_spellings(fake_tf_site: Path) -> None:
    res = persistext.extract(persistext.resolve_root(fake_tf_site))
    w = _by_api(res)
    # TF 2.4+ fast path (op name is argument 1) + _op_def_library._apply_op_helper
    assert w["read_file"].op_name == "ReadFile"
    assert w["read_file"].via == ("apply_op_helper", "fast_path")
    assert w["read_file"].path == "tensorflow/python/ops/gen_io_ops.py"
    assert w["read_file"].raw_op == "ReadFile"
    assert w["read_file"].docstring.startswith("Reads and outputs the entire contents")
    assert w["read_file"].source.startswith("def read_file(")
    # decorators: tf_export names, and the source includes them
    assert w["matching_files"].exports == ("io.matching_files", "v1:io.matching_files", "v1:matching_files")
    assert w["matching_files"].source.startswith("@_dispatch.add_fallback_dispatch_list")
    # keyword op_type_name and a hidden (underscore) op
    assert w["_hidden_write"].op_name == "HiddenWrite"
    # TF 1.0: _op_def_lib.apply_op
    assert (w["_py_func"].op_name, w["_py_func"].via) == ("PyFunc", ("apply_op",))
    # TF 1.5: _op_def_lib._apply_op_helper with an inline eager branch
    assert w["save"].op_name == "Save"
    # TF 1.8: TFE_Py_FastPathExecute(handle, device, "Op", name, callbacks, ...)
    assert w["debug_identity"].op_name == "DebugIdentity"
    assert "fast_path" in w["debug_identity"].via
    # op_def_lib spelling without underscore
    assert w["sleep_op"].op_name == "SleepOp"
    # a generated file without the gen_ prefix
    assert w["a"].path == "tensorflow/python/framework/test_ops.py"
    # helpers are not wrappers
    assert "_InitOpDefLibrary" not in w and "generate_html" not in w


def test_eager_fallbacks(fake_tf_site: Path) -> None:
    res = persistext.extract(persistext.resolve_root(fake_tf_site))
    w = _by_api(res)
    fb = w["read_file_eager_fallback"]
    assert (fb.kind, fb.op_name, fb.via) == (persistext.KIND_FALLBACK, "ReadFile", ("execute",))
    assert w["debug_identity_eager_fallback"].op_name == "DebugIdentity"
    # a ref op's fallback only raises: op name from its sibling wrapper
    assert (w["lmdb_reader_eager_fallback"].op_name, w["lmdb_reader_eager_fallback"].via) == (
        "LMDBReader",
        ("sibling",),
    )


def test_syntax_error_is_recorded_and_others_kept(fake_tf_site: Path) -> None:
    res = persistext.extract(persistext.resolve_root(fake_tf_site))
    assert [e.path for e in res.errors] == ["tensorflow/python/ops/gen_broken_ops.py"]
    assert "SyntaxError" in res.errors[0].error
    assert "tensorflow/python/ops/gen_broken_ops.py" in res.files_scanned
    assert {w.op_name for w in res.wrappers} == {
        "ReadFile",
        "MatchingFiles",
        "LMDBReader",
        "HiddenWrite",
        "PyFunc",
        "Save",
        "DebugIdentity",
        "SleepOp",
        "A",
    }


def test_csv_is_sorted_reference_format_and_round_trips(fake_tf_site: Path, tmp_path: Path) -> None:
    res = persistext.extract(persistext.resolve_root(fake_tf_site))
    text = persistext.to_csv(res)
    lines = text.splitlines()
    assert "read_file,  ReadFile,  tensorflow/python/ops/gen_io_ops.py" in lines
    assert lines == [w.csv_line() for w in res.sorted_wrappers()]
    assert text == persistext.to_csv(persistext.extract(persistext.resolve_root(fake_tf_site)))  # deterministic
    parsed = persistext.parse_list(text)
    assert len(parsed) == len(res.wrappers)
    # the authors' prefix is dropped
    ref = persistext.parse_list("read_file,  ReadFile,  tensorflow-v2.15.0/tensorflow/python/ops/gen_io_ops.py\n")
    assert ref[0].path == "tensorflow/python/ops/gen_io_ops.py"
    out_json = tmp_path / "p.json"
    persistext.write_outputs(res, None, out_json, with_source=False)
    assert "source" not in out_json.read_text()


def test_python_sys_path_of_another_interpreter() -> None:
    paths = persistext.python_sys_path(sys.executable)
    assert any(p.endswith("site-packages") for p in paths)


def test_compare_groups_every_difference(fake_tf_site: Path) -> None:
    res = persistext.extract(persistext.resolve_root(fake_tf_site))
    ref_text = "\n".join(
        [
            "read_file,  ReadFile,  tensorflow-v9/tensorflow/python/ops/gen_io_ops.py",
            "matching_files,  MatchingFiles,  tensorflow-v9/tensorflow/python/ops/gen_io_ops.py",
            "broken_op,  BrokenOp,  tensorflow-v9/tensorflow/python/ops/gen_broken_ops.py",
            "trt_engine_op,  TRTEngineOp,  tensorflow-v9/tensorflow/compiler/tf2tensorrt/ops/gen_trt_ops.py",
            "html_op,  HtmlOp,  tensorflow-v9/tensorflow/lite/toco/logging/gen_html.py",
        ]
    )
    c = compare.compare(res, persistext.parse_list(ref_text), "fixture")
    assert c.matches == 2
    groups = {g.key: g for g in c.misses}
    assert [t[0] for t in groups["no-file"].items] == ["trt_engine_op"]
    assert [t[0] for t in groups["empty-file"].items] == ["html_op"]
    assert [t[0] for t in groups["parse-error"].items] == ["broken_op"]
    assert "unexplained-miss" not in groups
    extras = {g.key: g for g in c.extras}
    assert len(extras["eager-fallback"].items) == 4
    assert {t[2] for t in extras["skipped-file"].items} == {
        "tensorflow/python/framework/test_ops.py",
        "tensorflow/python/ops/gen_old_ops.py",
    }
    assert "unexplained-extra" in extras  # _hidden_write: its file is in the reference
    md = compare.render_section(c)
    assert "**matches** (function, op and file equal) | **2**" in md


def test_tensorflow_core_layout(fake_tf_core_site: Path) -> None:
    """TF 1.15/2.0/2.1 wheels: the wrappers live in tensorflow_core/, tensorflow/ only forwards."""
    root = persistext.find_tensorflow([str(fake_tf_core_site)])
    assert (root.base, root.package_name) == (fake_tf_core_site.resolve(), "tensorflow_core")
    assert persistext.resolve_root(fake_tf_core_site / "tensorflow_core") == root
    assert persistext.detect_tf_version(root) == "2.1.0"
    res = persistext.extract(root)
    assert res.files_scanned == ["tensorflow_core/python/ops/gen_io_ops.py"]
    w = _by_api(res)
    assert w["read_file"].op_name == "ReadFile" and w["read_file"].path == "tensorflow_core/python/ops/gen_io_ops.py"
    assert w["read_file"].via == ("apply_op_helper", "fast_path")
    assert w["read_file_eager_fallback"].kind == persistext.KIND_FALLBACK
    # the authors' lists for 1.15-2.1 use the same tensorflow_core/ paths: a reference line matches as is
    ref = persistext.parse_list("read_file,  ReadFile,  tensorflow-v2.1.0/tensorflow_core/python/ops/gen_io_ops.py\n")
    assert compare.compare(res, ref, "core").matches == 1


def test_a_run_that_finds_nothing_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from extract_tools.cli import main

    ops = tmp_path / "tensorflow" / "python" / "ops"
    ops.mkdir(parents=True)
    (ops / "gen_empty_ops.py").write_text('"""Python wrappers around TensorFlow ops."""\nimport os\n')
    root = persistext.resolve_root(tmp_path)
    res = persistext.extract(root)
    assert res.files_scanned and not res.wrappers
    with pytest.raises(persistext.NothingFound, match="no op wrapper in 1 files"):
        persistext.check_found(root, res)
    assert main(["persistext", "--tf-root", str(tmp_path), "--csv", str(tmp_path / "out.csv")]) == 2
    assert "PersistExt found no op wrapper" in capsys.readouterr().err
    assert not (tmp_path / "out.csv").exists()
