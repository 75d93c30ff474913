"""Malformed input: each case yields its artifact finding, memory stays bounded, and the
other paths in the same run are still linted."""

from __future__ import annotations

import io
import os
import random
import resource
import shutil
import zipfile
from pathlib import Path

import pytest

from tests.helpers import lint

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "models"
GOOD = EXAMPLES / "malicious_reader"


def _savedmodel_with(tmp_path: Path, name: str, content: bytes) -> Path:
    d = tmp_path / name
    d.mkdir()
    (d / "saved_model.pb").write_bytes(content)
    return d


def _real_pb() -> bytes:
    return (GOOD / "saved_model.pb").read_bytes()


def _codes_for(result: object, display_suffix: str) -> list[str]:
    return [f.code for f in result.findings if f.artifact.endswith(display_suffix)]  # type: ignore[attr-defined]


def _assert_good_still_linted(result: object) -> None:
    good = [f for f in result.findings if f.artifact.endswith("malicious_reader")]  # type: ignore[attr-defined]
    assert any(f.code == "TFL201" for f in good), "the valid model in the same run was not linted"


@pytest.mark.parametrize(
    ("name", "content", "code"),
    [
        ("empty", b"", "TFL902"),
        ("truncated", None, "TFL902"),
        ("random", bytes(random.Random(7).getrandbits(8) for _ in range(4096)), "TFL902"),
        ("text_garbage", b"meta_graphs { this is not text format", "TFL902"),
        ("graphdef_in_savedmodel_name", None, "TFL902"),
    ],
)
def test_broken_saved_model_pb(tmp_path: Path, name: str, content: bytes | None, code: str) -> None:
    if name == "truncated":
        content = _real_pb()[: len(_real_pb()) // 3]
    if name == "graphdef_in_savedmodel_name":
        from tfmodel_lint.proto import tfmodel_lint_pb2 as pb

        g = pb.GraphDef()
        g.node.add(name="c", op="Const")
        content = g.SerializeToString()
    assert content is not None
    bad = _savedmodel_with(tmp_path, name, content)
    result = lint(bad, GOOD)
    assert code in _codes_for(result, name), result.findings
    statuses = {a.path.rsplit("/", 1)[-1]: a.status.value for a in result.artifacts}
    assert statuses[name] == "error" and statuses["malicious_reader"] == "ok"
    _assert_good_still_linted(result)


def test_directory_without_model(tmp_path: Path) -> None:
    empty = tmp_path / "nothing_here"
    empty.mkdir()
    (empty / "readme.txt").write_text("hello")
    result = lint(empty, GOOD)
    assert _codes_for(result, "nothing_here") == ["TFL904"]
    _assert_good_still_linted(result)


def test_missing_path(tmp_path: Path) -> None:
    result = lint(tmp_path / "does-not-exist", GOOD)
    assert _codes_for(result, "does-not-exist") == ["TFL901"]
    _assert_good_still_linted(result)


def _zip_of_model(prefix: str) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(GOOD.rglob("*")):
            if path.is_file():
                zf.write(path, prefix + path.relative_to(GOOD).as_posix())
    return buf.getvalue()


@pytest.mark.parametrize("prefix", ["", "model/"])
def test_zip_holding_a_savedmodel_is_read_in_memory(tmp_path: Path, prefix: str) -> None:
    archive = tmp_path / "model.zip"
    archive.write_bytes(_zip_of_model(prefix))
    before = set(os.listdir(tmp_path))
    result = lint(archive)
    assert "TFL201" in [f.code for f in result.findings]
    assert set(os.listdir(tmp_path)) == before, "nothing may be extracted"


def test_zip_with_traversal_names(tmp_path: Path) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("../../evil.py", "import os")
        zf.writestr("/etc/cron.d/x", "* * * * * root sh")
        for path in sorted(GOOD.rglob("*")):
            if path.is_file():
                zf.write(path, path.relative_to(GOOD).as_posix())
    archive = tmp_path / "slip.zip"
    archive.write_bytes(buf.getvalue())
    result = lint(archive, GOOD)
    codes = _codes_for(result, "slip.zip")
    assert codes.count("TFL905") == 2
    assert "TFL201" in codes  # the SavedModel inside is still linted
    assert not (tmp_path.parent / "evil.py").exists()
    _assert_good_still_linted(result)


def test_zip_bomb_is_stopped_with_bounded_memory(tmp_path: Path) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        with zf.open("saved_model.pb", "w", force_zip64=True) as fh:
            chunk = b"\x00" * (1 << 20)
            for _ in range(600):  # 600 MiB of zeros (over the 512 MiB default), ~0.6 MB compressed
                fh.write(chunk)
    bomb = tmp_path / "bomb.zip"
    bomb.write_bytes(buf.getvalue())
    assert bomb.stat().st_size < 5 * (1 << 20)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    result = lint(bomb, GOOD)
    grown_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before) / 1024
    assert _codes_for(result, "bomb.zip") == ["TFL903"], result.findings
    assert "limit" in result.findings[0].message or any("limit" in f.message for f in result.findings)
    assert grown_mib < 600, f"peak memory grew by {grown_mib:.0f} MiB"
    _assert_good_still_linted(result)


def test_limits_are_configurable(tmp_path: Path) -> None:
    from tfmodel_lint.limits import Limits

    copy = tmp_path / "m"
    shutil.copytree(GOOD, copy)
    result = lint(copy, limits=Limits(max_file_bytes=100))
    assert [f.code for f in result.findings] == ["TFL903"]
    assert "max-file-bytes=100" in result.findings[0].message


def test_git_lfs_pointer(tmp_path: Path) -> None:
    pointer = tmp_path / "model.h5"
    pointer.write_text("version https://git-lfs.github.com/spec/v1\noid sha256:abc\nsize 123\n")
    result = lint(pointer)
    assert [f.code for f in result.findings] == ["TFL906"]
    assert "git lfs pull" in result.findings[0].message
