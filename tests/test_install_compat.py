"""tfmodel-lint installs beside older TensorFlow releases and lints alike on every protobuf
it allows, with both protobuf backends (issue #14: installing into a TensorFlow 2.19
environment once upgraded protobuf and broke ``import tensorflow``).

Slow: real virtual environments made with ``python -m venv`` and ``pip`` (packages from
the configured index, or pip's cache), from scratch in each session:

* **TensorFlow.** ``tensorflow-cpu`` 2.15 (protobuf 4.x) and 2.19 (protobuf 5.x), each in
  its own venv; then ``pip install <checkout>``, as a user installs it. Nothing TensorFlow
  installed may change (``pip freeze`` before and after), ``pip check`` stays clean,
  ``import tensorflow`` still works, and the linter there reports what the project venv
  reports; in 2.19 once more with the pure-Python protobuf backend.
* **protobuf.** For each protobuf release line the requirement allows, the linter and
  that protobuf are installed together from a wheel of the checkout (``pip install
  <wheel> protobuf==<line>``: one resolve, no ``--no-deps``, ``pip check`` clean). One
  venv serves every line in turn (pip swaps protobuf; the project venv's pip drives it,
  so the venv needs no pip of its own: each venv and pip saved is ~10 s of CI). Each
  line lints the same inputs with the upb and the pure-Python backend and must report
  what the project venv reports; on upb the generated module must take its fast path,
  and its fallback (``tests/test_proto_module.py``'s probe with upb's private names
  broken) must give the same module.

The inputs: the shared TensorAbuse samples, ``examples/models``, the TF-built format
fixtures (TFLite, TF.js, TF1 text and .meta, archives) and a few hostile protobufs (too
deep, truncated, overlong varint, a streamed 9 MiB GraphDef). Findings are compared on
artifact, code, severity, location and message; a TFL902 (malformed) message quotes
protobuf's own error text, which differs between releases, so its message is not.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.conftest import SAMPLES, build_cached
from tests.test_proto_module import PROBE, SAVED_MODEL, same_module
from tests.wire_bytes import deep_attr, field, node, reader_graphdef, str_attr, varint

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
#: protobuf release lines: the pip requirement and the backends it has on Python 3.11.
#: 3.20.3 and 4.21.6 are the oldest releases TensorFlow 2.12-2.19 accept (3.20.3 has no
#: C++ wheel for Python 3.11: pure Python only); the others are each major's newest.
PROTOBUF_LINES = {
    "3.20.3": ("protobuf==3.20.3", ("python",)),
    "4.21.6": ("protobuf==4.21.6", ("upb", "python")),
    "4": ("protobuf==4.*", ("upb", "python")),
    "5": ("protobuf==5.*", ("upb", "python")),
    "6": ("protobuf==6.*", ("upb", "python")),
    "7": ("protobuf==7.*", ("upb", "python")),
}
#: TensorFlow releases installed beside the linter, and the protobuf major each brings.
TENSORFLOW = {"2.15": "4", "2.19": "5"}
PIP_TIMEOUT = 1800


# -- helpers ------------------------------------------------------------------------------

def environ(backend: str | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "PYTHONPATH", "VIRTUAL_ENV"))}
    env.pop("PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION", None)
    env.update(PIP_DISABLE_PIP_VERSION_CHECK="1", TF_CPP_MIN_LOG_LEVEL="3", PYTHONDONTWRITEBYTECODE="1")
    if backend:
        env["PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION"] = backend
    return env


def run(cmd: list[str], cwd: Path, backend: str | None = None, timeout: float = 600,
        ok: tuple[int, ...] = (0,)) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(cmd, cwd=cwd, env=environ(backend), capture_output=True, text=True, timeout=timeout,
                          check=False)
    if proc.returncode not in ok:
        raise AssertionError(f"{' '.join(cmd)} exited {proc.returncode}:\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}")
    return proc


def make_venv(path: Path, *requirements: str) -> Path:
    """A new venv at ``path`` with ``pip install requirements``; its python."""
    run([sys.executable, "-m", "venv", str(path)], cwd=path.parent, timeout=300)
    python = path / "bin" / "python"
    if requirements:
        run([str(python), "-m", "pip", "install", "--quiet", *requirements], cwd=path.parent, timeout=PIP_TIMEOUT)
    return python


def freeze(python: Path) -> set[str]:
    out = run([str(python), "-m", "pip", "freeze", "--all"], cwd=python.parent).stdout
    return {line.strip() for line in out.splitlines() if line.strip()}


def working_tree(dest: Path) -> Path:
    """A copy of the checkout as it is (tracked and untracked, not ignored files), so
    that building the package never writes into the checkout."""
    proc = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                          capture_output=True, timeout=60, check=False)
    if proc.returncode == 0:
        for rel in filter(None, proc.stdout.decode("utf-8", "surrogateescape").split("\0")):
            src = ROOT / rel
            if src.is_file():
                (dest / rel).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(src, dest / rel)
    else:  # not a git checkout
        shutil.copytree(ROOT, dest, dirs_exist_ok=True, ignore=shutil.ignore_patterns(
            ".git", ".venv*", "bench", "node_modules", ".fixture-cache", "__pycache__", "*.egg-info", "build",
            "dist", ".tools", ".*_cache", ".hypothesis"))
    return dest


def report(exe: list[str], inputs: list[Path], cwd: Path, backend: str | None = None) -> dict[str, object]:
    """The linter's JSON report on ``inputs``, in the form compared between environments."""
    proc = run([*exe, *map(str, inputs), "--format", "json", "--isolated"], cwd=cwd, backend=backend,
               ok=(0, 1))
    doc = json.loads(proc.stdout)
    findings = sorted(
        (f["artifact"], f["code"], f["severity"], json.dumps(f.get("location"), sort_keys=True),
         "" if f["code"] == "TFL902" else f["message"])
        for f in doc["findings"])
    artifacts = sorted((a["path"], a["format"], a["status"]) for a in doc["artifacts"])
    return {"exit": proc.returncode, "findings": findings, "artifacts": artifacts, "errors": doc["errors"]}


def assert_same_report(got: dict[str, object], want: dict[str, object]) -> None:
    assert got["artifacts"] == want["artifacts"]
    missing = sorted(set(want["findings"]) - set(got["findings"]))  # type: ignore[arg-type]
    extra = sorted(set(got["findings"]) - set(want["findings"]))  # type: ignore[arg-type]
    assert (missing, extra) == ([], []), "findings differ from the project venv's"
    assert got == want


def probe(python: Path, cwd: Path, backend: str, mode: str = "normal") -> dict[str, object]:
    out = run([str(python), "-W", "error", "-c", PROBE, str(SAVED_MODEL), mode], cwd=cwd, backend=backend).stdout
    result: dict[str, object] = json.loads(out)
    return result


# -- shared inputs and the project venv's reference ---------------------------------------

def hostile_protobufs(d: Path) -> Path:
    d.mkdir()
    (d / "deep.pb").write_bytes(field(1, node(b"n", b"Identity", attrs=field(
        5, field(1, b"x") + field(2, deep_attr(150))))))
    (d / "deep.pbtxt").write_bytes(b"node { name: 'n' op: 'NoOp' attr { key: 'a' value { "
                                   + b"func { name: 'f' attr { key: 'a' value { " * 400 + b"} } " * 400
                                   + b"} } }\n")
    (d / "length.pb").write_bytes(b"\x0a" + varint(1 << 30) + b"abc")
    (d / "varint.pb").write_bytes(b"\x08" + b"\xff" * 11)
    (d / "reader.pb").write_bytes(reader_graphdef())
    pad = field(1, node(b"pad", b"NoOp", attrs=str_attr(b"x", b"A" * 4000)))
    (d / "streamed.pb").write_bytes(reader_graphdef() + pad * ((9 << 20) // len(pad)))  # over 8 MiB: streamed
    return d


@pytest.fixture(scope="session")
def compat_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("compat")


@pytest.fixture(scope="session")
def inputs(compat_dir: Path) -> list[Path]:
    if not (SAMPLES / "expected.json").is_file():
        if os.environ.get("CI"):
            pytest.fail(f"CI must lint the shared samples here: {SAMPLES} is absent")
        pytest.skip(f"shared TensorAbuse samples not found at {SAMPLES} (../shared is absent)")
    return [SAMPLES, ROOT / "examples" / "models", build_cached("build_format_fixtures.py"),
            hostile_protobufs(compat_dir / "hostile")]


@pytest.fixture(scope="session")
def reference(inputs: list[Path], compat_dir: Path) -> dict[str, object]:
    """The project venv's report (protobuf 7, upb), which every other must equal."""
    return report([sys.executable, "-m", "tfmodel_lint"], inputs, compat_dir)


@pytest.fixture(scope="session")
def reference_probe(compat_dir: Path) -> dict[str, object]:
    env_python = Path(sys.executable)
    here = subprocess.run([str(env_python), "-c", "import tfmodel_lint, sys; print(tfmodel_lint.__file__)"],
                          capture_output=True, text=True, check=True, timeout=60).stdout.strip()
    assert here.startswith(str(ROOT)), here  # the project venv runs the checkout
    return probe(env_python, compat_dir, "upb")


@pytest.fixture(scope="session")
def checkout(compat_dir: Path) -> Path:
    return working_tree(compat_dir / "checkout")


@pytest.fixture(scope="session")
def wheel(checkout: Path, compat_dir: Path) -> Path:
    out = compat_dir / "wheel"
    run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(out), str(checkout)],
        cwd=compat_dir, timeout=PIP_TIMEOUT)
    (built,) = out.glob("tfmodel_lint-*.whl")
    return built


@pytest.fixture(scope="session")
def protobuf_venv(wheel: Path, compat_dir: Path, remover: ThreadPoolExecutor) -> Iterator[Callable[[str], Path]]:
    """The python of a venv holding the linter and, once called with a line, that
    line's protobuf."""
    venv = compat_dir / "protobuf"
    run([sys.executable, "-m", "venv", "--without-pip", str(venv)], cwd=compat_dir, timeout=300)
    python = venv / "bin" / "python"
    installed: list[str] = []

    def use(line: str) -> Path:
        if installed[-1:] != [line]:
            pip = [sys.executable, "-m", "pip", "--python", str(python)]
            run([*pip, "install", "--quiet", str(wheel), PROTOBUF_LINES[line][0]], cwd=compat_dir,
                timeout=PIP_TIMEOUT)
            run([*pip, "check"], cwd=compat_dir)
            installed.append(line)
        return python

    yield use
    remover.submit(shutil.rmtree, venv, ignore_errors=True)


# -- protobuf release lines -----------------------------------------------------------------

@pytest.mark.parametrize(("line", "backend"), [(line, backend) for line, (_, backends) in PROTOBUF_LINES.items()
                                               for backend in backends])
def test_protobuf_release_line(line: str, backend: str, protobuf_venv: Callable[[str], Path], compat_dir: Path,
                               inputs: list[Path], reference: dict[str, object],
                               reference_probe: dict[str, object]) -> None:
    python = protobuf_venv(line)
    got = probe(python, compat_dir, backend)
    assert got["backend"] == backend
    assert str(got["protobuf"]).startswith(line if "." in line else f"{line}.")
    # upb takes the fast path on every release; the pure-Python backend runs protoc's code.
    assert got["fast_path"] is (backend == "upb")
    assert same_module(got, reference_probe)
    if backend == "upb":  # and when upb's private names are gone or changed, protoc's code
        for mode in ("missing", "changed"):
            fallback = probe(python, compat_dir, backend, mode)
            assert fallback["fast_path"] is False and same_module(fallback, reference_probe), mode
    assert_same_report(report([str(python.parent / "tfmodel-lint")], inputs, compat_dir, backend), reference)


# -- beside TensorFlow ------------------------------------------------------------------------

@pytest.fixture(scope="session")
def remover() -> Iterator[ThreadPoolExecutor]:
    """Removes directories while later tests run (a TensorFlow venv holds ~1.3 GB in
    tens of thousands of files); the session waits for it at the end."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        yield pool


@pytest.fixture
def scratch_venv(compat_dir: Path, remover: ThreadPoolExecutor, request: pytest.FixtureRequest) -> Iterator[Path]:
    """Where a test's venv goes; removed afterwards (pytest keeps the last runs'
    temporary directories)."""
    path = compat_dir / f"venv-{request.node.callspec.id}"
    yield path
    remover.submit(shutil.rmtree, path, ignore_errors=True)


@pytest.mark.parametrize("tf", list(TENSORFLOW))
def test_installs_beside_tensorflow(tf: str, scratch_venv: Path, checkout: Path, compat_dir: Path,
                                    inputs: list[Path], reference: dict[str, object]) -> None:
    python = make_venv(scratch_venv, f"tensorflow-cpu=={tf}.*")
    before = freeze(python)
    (protobuf,) = [p for p in before if p.lower().startswith("protobuf==")]
    assert protobuf.split("==")[1].startswith(TENSORFLOW[tf] + ".")

    run([str(python), "-m", "pip", "install", "--quiet", str(checkout)], cwd=compat_dir, timeout=PIP_TIMEOUT)
    after = freeze(python)
    assert sorted(before - after) == [], f"installing tfmodel-lint changed: {sorted(before - after)} -> " \
                                         f"{sorted(after - before)}"
    assert protobuf in after
    assert any(p.lower().startswith("tfmodel-lint") or p.lower().startswith("tfmodel_lint") for p in after - before)
    run([str(python), "-m", "pip", "check"], cwd=compat_dir)
    version = run([str(python), "-c", "import tensorflow as tf; print(tf.__version__)"], cwd=compat_dir,
                  timeout=300).stdout.split()[-1]
    assert version.startswith(tf + ".")

    exe = [str(python.parent / "tfmodel-lint")]
    assert probe(python, compat_dir, "upb")["fast_path"] is True
    assert_same_report(report(exe, inputs, compat_dir), reference)
    if tf == "2.19":  # once with the pure-Python backend
        assert probe(python, compat_dir, "python")["backend"] == "python"
        assert_same_report(report(exe, inputs, compat_dir, "python"), reference)
