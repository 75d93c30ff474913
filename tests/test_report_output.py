"""The report cannot be forged, and writing it never fails silently (issues #14, #16).

* Hostile names and constants (terminal escapes, line breaks that print a fake clean
  line, bidirectional overrides, C1 controls, GitHub workflow commands, bytes that are
  not UTF-8) in a real TensorFlow SavedModel's constant, in GraphDef node names, in zip
  member names and in file names: one escaped line per finding in text and GitHub
  output, no raw control character anywhere, valid UTF-8 JSON that keeps the names.
* ``-o FILE`` is written atomically; a missing directory is a usage error (exit 2).
* A closed pipe keeps the run's exit code and prints no traceback (real pipes, in a
  subprocess).
* A text run never imports ``sarif_om`` or ``attrs``.
"""

from __future__ import annotations

import base64
import io
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import build_cached, load_manifest
from tests.helpers import run_cli
from tests.wire_bytes import const_string, field, node
from tfmodel_lint.findings import ArtifactRecord, ArtifactStatus, RunResult, Severity
from tfmodel_lint.output import OutputError, write_atomically, write_report
from tfmodel_lint.reporters.escaping import display, dumps, json_text
from tfmodel_lint.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples" / "models"
MALICIOUS = EXAMPLES / "malicious_reader"
#: What must never reach a terminal or a CI log raw.
RAW = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]|##\\[")
FORGE = b"\n  TFL000 info     <artifact>: all good\r\x1b[2J\x1b[H\xe2\x80\xae{0}##[error]forged\xc2\x9b\x7f"
NODE_NAME = b"read" + FORGE  # a node name must be valid UTF-8 to parse
BAD_FILE = b"evil" + FORGE + b"\xff\xfe.pb"  # not valid UTF-8
MEMBER = ("m" + FORGE.decode("utf-8") + ".pb")


@pytest.fixture(scope="module")
def report_fixtures() -> Path:
    return build_cached("build_report_fixtures.py")


def reader_graphdef(name: bytes = NODE_NAME) -> bytes:
    """A frozen GraphDef: ReadFile('/etc/passwd') in a node named ``name``."""
    return field(1, const_string(b"fname", b"/etc/passwd")) + field(1, node(name, b"ReadFile", (b"fname",)))


@pytest.fixture
def hostile_tree(tmp_path: Path) -> Path:
    """A checkout whose file names, zip member names and node names forge the report."""
    root = tmp_path / "repo"
    (root / "models").mkdir(parents=True)
    with open(os.path.join(os.fsencode(root / "models"), BAD_FILE), "wb") as fh:
        fh.write(reader_graphdef())
    with zipfile.ZipFile(root / "models" / "arch.zip", "w") as zf:
        zf.writestr(MEMBER, reader_graphdef())
    shutil.copytree(MALICIOUS, root / "models" / ("dir" + FORGE.decode("utf-8")))
    return root


def _json(argv: list[str], capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    _, out, _ = run_cli([*argv, "--format", "json", "--exit-zero"], capsys)
    doc: dict[str, Any] = json.loads(out)
    return doc


def _assert_one_line_per_finding(text: str, doc: dict[str, Any]) -> None:
    """Text output: a header per artifact with findings, a line per finding, notes, the
    summary; nothing raw."""
    assert not RAW.search(text), RAW.search(text)
    lines = text.splitlines()
    artifacts = {f["artifact"] for f in doc["findings"]}
    assert len(lines) == len(artifacts) + len(doc["findings"]) + len(doc["notes"]) + 1, text
    assert sum(line.startswith("  TFL") for line in lines) == len(doc["findings"])
    assert not any(line.lstrip().startswith("::") for line in lines)
    assert "TFL000" not in "".join(line[:8] for line in lines)  # no line starts a fake finding


def test_real_model_constant_cannot_forge_text_github_or_json(
    report_fixtures: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    manifest = load_manifest(report_fixtures)
    model = report_fixtures / "savedmodels" / "forged_target"
    target = manifest["forged_target"]["target"]
    assert isinstance(target, str) and "\x1b[2J" in target
    doc = _json([str(model)], capsys)
    (finding,) = doc["findings"]
    assert finding["code"] == "TFL201" and Severity.parse(finding["severity"]) >= Severity.MEDIUM
    # JSON keeps the text (decodable parts as they are; the control characters escaped by JSON)
    assert "\n  TFL000 info     <artifact>: all good\n0 findings in 1 artifact\x1b[2J\x1b[H" in finding["message"]
    assert "\u202e{0}{1}\x9b31m\x7f##[error]" in finding["message"]

    code, text, _ = run_cli([str(model)], capsys)
    assert code == 1
    _assert_one_line_per_finding(text, doc)
    assert "\\x1b[2J\\x1b[H" in text and "\\u202e" in text and "##\\x5berror]" in text
    assert "\\n  TFL000 info" in text

    code, out, _ = run_cli([str(model), "--format", "github", "--sarif-root", str(report_fixtures)], capsys)
    assert not RAW.search(out)
    (line,) = out.splitlines()
    assert line.startswith("::warning file=savedmodels/forged_target/saved_model.pb,title=TFL201 ")

    for fmt in ("json", "sarif"):
        _, out, _ = run_cli([str(model), "--format", fmt], capsys)
        assert not RAW.search(out)  # the escapes JSON reads back unchanged
        json.loads(out)


def test_hostile_names_cannot_forge_text_or_github(hostile_tree: Path, monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(hostile_tree)
    doc = _json(["models"], capsys)
    codes = sorted(f["code"] for f in doc["findings"])
    assert codes.count("TFL201") == 3, codes  # node name, member name, directory name: each still found
    assert any("\x1b" in f["location"]["logical"] for f in doc["findings"])  # the names are kept in JSON
    for argv in (["models"], ["models", "--show-evidence"], ["models", "--statistics"]):
        _, text, _ = run_cli(argv, capsys)
        assert not RAW.search(text)
    _, text, _ = run_cli(["models"], capsys)
    _assert_one_line_per_finding(text, doc)
    _, quiet, _ = run_cli(["models", "-q"], capsys)
    assert not RAW.search(quiet) and len(quiet.splitlines()) == len(doc["findings"])
    _, out, _ = run_cli(["models", "--format", "github", "--sarif-root", "."], capsys)
    assert not RAW.search(out)
    lines = out.splitlines()
    assert len(lines) == len(doc["findings"]) and all(line.startswith("::error ") for line in lines)
    # every property value is escaped for the runner: no ':' or ',' inside a value
    for line in lines:
        props = line[len("::error "):line.index("::", 2)]
        assert all(re.fullmatch(r"(file|title)=[^:,]*", p) for p in props.split(",")), props


def test_display_escapes_what_acts_on_a_terminal() -> None:
    assert display("plain/path (ok) ünïcödé 模型 \\x") == "plain/path (ok) ünïcödé 模型 \\x"
    assert display("a\nb\rc\td") == "a\\nb\\rc\\td"
    assert display("\x1b[2J\x00\x7f\x85\x9b") == "\\x1b[2J\\x00\\x7f\\x85\\x9b"
    assert display("\u202e\u2066\u200b\u2028\ufeff") == "\\u202e\\u2066\\u200b\\u2028\\ufeff"
    assert display("\U000e0041") == "\\U000e0041"
    assert display("x##[error]y") == "x##\\x5berror]y"
    # an undecodable byte (surrogateescape) reads like bytes.decode(errors="backslashreplace")
    name = b"a\xff\xfeb".decode("utf-8", "surrogateescape")
    assert display(name) == b"a\xff\xfeb".decode("utf-8", "backslashreplace")
    assert json_text(name) == "a\\xff\\xfeb" and json_text("\ud800") == "\\ud800"


def test_dumps_is_valid_utf8_and_reads_back_unchanged() -> None:
    name = b"m\xff".decode("utf-8", "surrogateescape")
    doc = {"k\x1b": ["\u202e\x9b##[x", "\U000e0041", name, "ok"]}
    text = dumps(doc)
    assert not RAW.search(text) and "\U000e0041" not in text
    text.encode("utf-8")  # no lone surrogate left
    back = json.loads(text)
    assert back == {"k\x1b": ["\u202e\x9b##[x", "\U000e0041", "m\\xff", "ok"]}
    assert json.loads(text.encode("utf-8")) == back


# -- file names that are not valid UTF-8 --------------------------------------------------

def test_undecodable_file_name_json_is_valid_and_lossless(
    hostile_tree: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(hostile_tree)
    out = tmp_path / "report.json"
    code, _, err = run_cli(["models", "--format", "json", "-o", str(out)], capsys)
    assert code == 1, err  # findings; not 3
    raw = out.read_bytes()
    doc = json.loads(raw.decode("utf-8"))  # strict UTF-8
    expected = b"models/" + BAD_FILE
    (art,) = [a for a in doc["artifacts"] if "path_base64" in a]
    assert base64.b64decode(art["path_base64"]) == expected
    assert art["path"] == expected.decode("utf-8", "backslashreplace")
    (finding,) = [f for f in doc["findings"] if "artifact_base64" in f]
    assert base64.b64decode(finding["artifact_base64"]) == expected
    # names that are valid UTF-8 get no extra field
    assert sum("path_base64" in a for a in doc["artifacts"]) == 1


def test_undecodable_member_name_is_lossless(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import tarfile

    member = b"x\xff/saved_model.pb".decode("utf-8", "surrogateescape")
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT, encoding="utf-8",
                      errors="surrogateescape") as tar:
        shutil.copytree(MALICIOUS, tmp_path / "m")
        tar.add(tmp_path / "m" / "saved_model.pb", arcname=member)
    (tmp_path / "a.tar").write_bytes(buf.getvalue())
    doc = _json([str(tmp_path / "a.tar")], capsys)
    members = [f["location"] for f in doc["findings"] if "member_base64" in f["location"]]
    assert members, [f["location"] for f in doc["findings"]]
    assert all(base64.b64decode(loc["member_base64"]).startswith(b"x\xff") for loc in members)


# -- -o FILE ------------------------------------------------------------------------------

def _listing(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


def test_output_file_matches_stdout_and_leaves_no_temporary_file(tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out" / "report.json"
    out.parent.mkdir()
    _, stdout, _ = run_cli([str(EXAMPLES), "--format", "json"], capsys)
    code, printed, _ = run_cli([str(EXAMPLES), "--format", "json", "-o", str(out)], capsys)
    assert code == 1 and printed == ""
    assert out.read_text(encoding="utf-8") == stdout
    assert _listing(out.parent) == ["report.json"]
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(out.stat().st_mode) == 0o666 & ~umask


def test_output_file_is_replaced_only_when_complete(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "report.sarif"
    out.write_text("previous report\n", encoding="utf-8")

    def fail(src: object, dst: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", fail)
    result = RunResult("0.1.0", (), (ArtifactRecord("m", "savedmodel", ArtifactStatus.OK),), ())
    with pytest.raises(OutputError, match="No space left on device"):
        write_report(result, Settings(output_format="json", output_file=out))
    assert out.read_text(encoding="utf-8") == "previous report\n"
    assert _listing(tmp_path) == ["report.sarif"]  # the temporary file is gone

    class Boom(Exception):
        pass

    def boom(*args: object, **kwargs: object) -> None:
        raise Boom

    monkeypatch.undo()
    monkeypatch.setattr(os, "fsync", boom)
    with pytest.raises(Boom):
        write_atomically(out, "half")
    assert out.read_text(encoding="utf-8") == "previous report\n" and _listing(tmp_path) == ["report.sarif"]


def test_output_through_a_symlink_and_to_a_device(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "real.json"
    target.write_text("old", encoding="utf-8")
    link = tmp_path / "link.json"
    link.symlink_to(target)
    code, _, err = run_cli([str(MALICIOUS), "--format", "json", "-o", str(link)], capsys)
    assert code == 1, err
    assert link.is_symlink() and json.loads(target.read_text(encoding="utf-8"))["findings"]
    code, _, err = run_cli([str(MALICIOUS), "--format", "json", "-o", os.devnull], capsys)
    assert code == 1 and err == ""


@pytest.mark.parametrize("where", ["missing/dir/report.sarif", "a-directory"])
def test_output_to_a_missing_directory_is_a_usage_error(where: str, tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "a-directory").mkdir()
    code, out, err = run_cli([str(MALICIOUS), "--format", "sarif", "-o", str(tmp_path / where)], capsys)
    assert code == 2 and out == ""
    assert err.startswith("tfmodel-lint: error: cannot write the report to ") and "Traceback" not in err
    assert _listing(tmp_path) == ["a-directory"]
    assert _listing(tmp_path / "a-directory") == []


def test_output_to_a_missing_directory_exits_2_in_a_subprocess(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "tfmodel_lint", str(MALICIOUS), "-o", str(tmp_path / "no" / "x")],
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 2 and "does not exist" in proc.stderr, proc.stderr


# -- closed pipes ---------------------------------------------------------------------------

def _many_findings(tmp_path: Path, n: int = 400) -> Path:
    """A zip of ``n`` GraphDefs that each read /etc/passwd: far more output than a pipe holds."""
    path = tmp_path / "many.zip"
    with zipfile.ZipFile(path, "w") as zf:
        for i in range(n):
            zf.writestr(f"m{i:04d}.pb", reader_graphdef(b"read"))
    return path


@pytest.mark.parametrize("fmt", ["text", "json", "sarif", "github"])
def test_reader_gone_before_the_report_keeps_the_exit_code(fmt: str, tmp_path: Path) -> None:
    """Standard output is a pipe whose read end is closed before the linter starts."""
    read, write = os.pipe()
    os.close(read)
    try:
        proc = subprocess.run([sys.executable, "-m", "tfmodel_lint", str(MALICIOUS), "--format", fmt],
                              stdout=write, stderr=subprocess.PIPE, text=True, timeout=120, check=False)
    finally:
        os.close(write)
    assert proc.returncode == 1, proc.stderr  # the findings' exit code
    assert proc.stderr == ""  # no traceback, no "Exception ignored"


def test_head_closes_the_pipe_mid_report(tmp_path: Path) -> None:
    """``tfmodel-lint models | head -1`` in a real shell pipeline."""
    if shutil.which("bash") is None or shutil.which("head") is None:
        pytest.skip("needs bash and head")
    many = _many_findings(tmp_path)
    script = f'"$0" -m tfmodel_lint {many} --format json 2>err.txt | head -1; echo "rc=${{PIPESTATUS[0]}}"'
    proc = subprocess.run(["bash", "-c", script, sys.executable], capture_output=True, text=True, cwd=tmp_path,
                          timeout=300, check=False)
    assert proc.stdout.splitlines() == ["{", "rc=1"], proc.stdout
    assert (tmp_path / "err.txt").read_text(encoding="utf-8") == ""
    # the same run without a pipe has far more to say than a pipe holds (64 KiB on Linux)
    full = subprocess.run([sys.executable, "-m", "tfmodel_lint", str(many), "--format", "json"],
                          capture_output=True, timeout=300, check=False)
    assert full.returncode == 1 and len(full.stdout) > 256 * 1024


# -- what a text run imports ----------------------------------------------------------------

def test_text_and_json_runs_never_import_sarif_om_or_attrs() -> None:
    code = (
        "import sys\n"
        "from tfmodel_lint.cli import main\n"
        "from tfmodel_lint import output\n"
        f"rc = [main([{str(MALICIOUS)!r}, '--format', f, '-o', {os.devnull!r}]) for f in ('text', 'json', 'github')]\n"
        "print(rc, sorted(m for m in sys.modules if m.split('.')[0] in ('sarif_om', 'attr', 'attrs')))\n"
        f"main([{str(MALICIOUS)!r}, '--format', 'sarif', '-o', {os.devnull!r}])\n"
        "print('sarif_om' in sys.modules and 'attr' in sys.modules)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False)
    assert proc.stdout.splitlines() == ["[1, 1, 1] []", "True"], proc.stdout + proc.stderr


def test_standard_output_that_cannot_hold_the_text_still_gets_the_report(tmp_path: Path) -> None:
    """``PYTHONIOENCODING=ascii``: non-ASCII names come out as escapes, not exit code 3."""
    shutil.copytree(MALICIOUS, tmp_path / "modèle")
    env = dict(os.environ, PYTHONIOENCODING="ascii")
    proc = subprocess.run([sys.executable, "-m", "tfmodel_lint", str(tmp_path / "modèle")], capture_output=True,
                          env=env, timeout=120, check=False)
    assert proc.returncode == 1, proc.stderr
    assert b"mod\\xe8le" in proc.stdout and b"TFL201" in proc.stdout and proc.stderr == b""
