"""Inside archives, only what promises a model is a model: a README or a YAML file next
to a model is not a malformed model; a symlink that stays inside the archive is not
unsafe (one that leaves it is); a model next to them keeps its findings."""

from __future__ import annotations

import io
import tarfile
import zipfile
from pathlib import Path

from tests.graphs import Graph
from tests.helpers import describe, lint

YAML = b"version: 2\nservices:\n  web:\n    image: x\n"


def _reader() -> bytes:
    g = Graph()
    g.const("p", b"/etc/passwd")
    g.node("read", "ReadFile", "p")
    return g.bytes()


def _zip(members: list[tuple[str, bytes]], links: dict[str, str] | None = None) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members:
            zf.writestr(name, data)
        for name, target in (links or {}).items():
            info = zipfile.ZipInfo(name)
            info.external_attr = 0o120777 << 16
            zf.writestr(info, target)
    return buf.getvalue()


def _tar(members: list[tuple[str, bytes]], links: dict[str, str] | None = None) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        for name, target in (links or {}).items():
            info = tarfile.TarInfo(name)
            info.type = tarfile.SYMTYPE
            info.linkname = target
            tar.addfile(info)
    return buf.getvalue()


MEMBERS = [("release/model.pb", _reader()), ("release/README.md", b"# The model\nSome words.\n"),
           ("release/config.yaml", YAML), ("release/LICENSE", b"Apache License\n"), ("release/notes.txt", b"x\n")]
INSIDE = {"release/latest.pb": "model.pb", "release/docs/model.pb": "../model.pb"}
OUTSIDE = {"release/evil.pb": "/etc/passwd", "release/up.pb": "../../outside.pb"}


def test_zip_members_that_are_not_models_are_not_malformed_models(tmp_path: Path) -> None:
    path = tmp_path / "release.zip"
    path.write_bytes(_zip(MEMBERS, INSIDE))
    result = lint(path)
    assert sorted(f.code for f in result.findings) == ["TFL201"], describe(result.findings)


def test_tar_members_that_are_not_models_are_not_malformed_models(tmp_path: Path) -> None:
    path = tmp_path / "release.tar"
    path.write_bytes(_tar(MEMBERS, INSIDE))
    result = lint(path)
    assert sorted(f.code for f in result.findings) == ["TFL201"], describe(result.findings)


def test_symlinks_leaving_the_archive_are_unsafe(tmp_path: Path) -> None:
    for name, data in (("z.zip", _zip(MEMBERS, OUTSIDE)), ("t.tar", _tar(MEMBERS, OUTSIDE))):
        path = tmp_path / name
        path.write_bytes(data)
        result = lint(path)
        unsafe = sorted(f.location.member or "" for f in result.findings if f.code == "TFL905")
        assert unsafe == ["release/evil.pb", "release/up.pb"], describe(result.findings)
        assert "TFL201" in {f.code for f in result.findings}


def test_a_member_named_like_a_model_that_is_not_one_is_malformed(tmp_path: Path) -> None:
    path = tmp_path / "r.zip"
    path.write_bytes(_zip([("model.pb", b"\x08" * 300), ("README.md", b"hello")]))
    result = lint(path)
    assert [(f.code, f.location.member) for f in result.findings] == [("TFL902", "model.pb")], \
        describe(result.findings)
