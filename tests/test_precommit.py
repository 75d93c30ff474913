"""The pre-commit hook, run by the real ``pre-commit``.

A temporary git repository (the "consumer") uses this working tree as its hook
repository: through ``pre-commit try-repo`` and through a ``.pre-commit-config.yaml``
pointing at a local clone, installed as a git hook, so ``git commit`` runs it.

pre-commit clones the *committed* state of a hook repository named in a config, and
``try-repo`` only adds uncommitted changes to tracked files. So that the tests see the
working tree as it is (new, untracked files included) both here and on a clean CI
checkout, the session makes a snapshot repository of the working tree (tracked files
and untracked, not ignored ones) with one commit, and points pre-commit at that. One
more test runs ``try-repo`` on the working tree itself when nothing the hook needs is
untracked (always the case in CI).

``PRE_COMMIT_HOME`` is a temporary directory, so the hook's environment (installed by
pre-commit from PyPI: the linter and its runtime dependencies, never TensorFlow) is
built once per session and shared by the tests that commit; ``try-repo`` builds its own.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import run_cli

ROOT = Path(__file__).resolve().parent.parent
HOOKS_FILE = ROOT / ".pre-commit-hooks.yaml"
KERAS_H5_LOADER = ROOT / "src" / "tfmodel_lint" / "loaders" / "keras_h5.py"
LFS_POINTER = (
    "version https://git-lfs.github.com/spec/v1\n"
    "oid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393\n"
    "size 48123904\n"
)
#: Distributions allowed in the hook's environment: the linter, its runtime
#: dependencies (protobuf, h5py, sarif-om) and what they need, and the installers.
#: The runtime dependencies (flatbuffers, pure Python, reads TFLite; google-re2, the regex
#: engine TensorFlow uses) and what they need.
LIGHT = {"tfmodel-lint", "protobuf", "h5py", "numpy", "sarif-om", "attrs", "pbr", "flatbuffers", "google-re2",
         "pathspec", "pip", "setuptools", "wheel"}


def _need(condition: bool, reason: str) -> None:
    if not condition:
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the pre-commit tests: {reason}")
        pytest.skip(reason)


def _has_pre_commit() -> bool:
    try:
        import pre_commit  # noqa: F401
    except ImportError:
        return False
    return True


# -- the hook definition ----------------------------------------------------------------

def hook() -> dict[str, object]:
    yaml = pytest.importorskip("yaml")
    hooks = yaml.safe_load(HOOKS_FILE.read_text(encoding="utf-8"))
    (entry,) = [h for h in hooks if h["id"] == "tfmodel-lint"]
    return dict(entry)


def test_hook_definition() -> None:
    h = hook()
    assert h["language"] == "python"
    assert h["require_serial"] is True
    assert str(h["entry"]).split()[0] == "tfmodel-lint"
    assert "--force-exclude" in str(h["entry"]) and "--skip-non-models" in str(h["entry"])
    assert "baseline" not in str(h["entry"])  # never writes a baseline
    assert "additional_dependencies" not in h  # runtime dependencies only (pyproject)


def _vocabulary_names() -> list[str]:
    """A file name for every entry of the model-file vocabulary (formats.py)."""
    from tfmodel_lint.formats import COMPRESSED_SUFFIXES, MODEL_NAMES, SAVED_MODEL_FILES, SUFFIX_KINDS

    names = [f"model{suffix}" for suffix in SUFFIX_KINDS] + list(MODEL_NAMES) + list(SAVED_MODEL_FILES)
    names += [f"model.pb{suffix}" for suffix in COMPRESSED_SUFFIXES]
    return names


def test_the_hook_passes_every_file_and_the_linter_decides() -> None:
    """The hook's filter is the linter's vocabulary, applied by --skip-non-models: the
    hook itself passes every file, so names that say nothing reach the content sniffing."""
    h = hook()
    assert "files" not in h or h["files"] in ("", ".*")
    assert h.get("types") == ["file"] and "exclude" not in h


@pytest.mark.parametrize("name", _vocabulary_names())
def test_every_vocabulary_name_passes_the_hooks_filter(tmp_path: Path, name: str) -> None:
    from tfmodel_lint.discovery import DiscoveryOptions, filter_named

    path = tmp_path / name
    path.write_bytes(b"not a model at all")
    assert filter_named([str(path)], DiscoveryOptions(skip_non_models=True), []) == [str(path)]


@pytest.mark.parametrize(("name", "content", "kept"), [
    ("weights.bin", "graphdef", True),  # a frozen GraphDef whose name says nothing
    ("notes.txt", "hdf5", True),
    ("data.dat", "zip", True),
    ("README.md", "text", False),
    ("model.py", "text", False),
    ("logo.png", "png", False),
])
def test_names_that_say_nothing_are_judged_by_content(tmp_path: Path, name: str, content: str, kept: bool) -> None:
    from tests.graphs import Graph
    from tfmodel_lint.discovery import DiscoveryOptions, filter_named

    g = Graph()
    g.const("p", b"/etc/passwd")
    g.node("read", "ReadFile", "p")
    data = {"graphdef": g.bytes(), "hdf5": b"\x89HDF\r\n\x1a\n" + b"\0" * 100, "zip": b"PK\x03\x04" + b"\0" * 100,
            "text": b"# a project\nsome words\n", "png": b"\x89PNG\r\n\x1a\n" + b"\0" * 100}[content]
    path = tmp_path / name
    path.write_bytes(data)
    assert (filter_named([str(path)], DiscoveryOptions(skip_non_models=True), []) == [str(path)]) is kept
    assert (name.endswith((".md", ".py", ".png"))) is not kept


# -- fixtures -----------------------------------------------------------------------------

def git(*args: str, cwd: Path, env: dict[str, str], check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120, check=False)
    if check and proc.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")
    return proc


@pytest.fixture(scope="session")
def pc_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    _need(shutil.which("git") is not None, "git is not installed")
    _need(_has_pre_commit(), "pre-commit is not installed (install the 'test' extra)")
    base = tmp_path_factory.mktemp("pre-commit")
    gitconfig = base / "gitconfig"
    gitconfig.write_text("[init]\n\tdefaultBranch = main\n[commit]\n\tgpgsign = false\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "GIT_", "PRE_COMMIT"))}
    env.update(
        PRE_COMMIT_HOME=str(base / "home"),
        PRE_COMMIT_COLOR="never",
        GIT_CONFIG_GLOBAL=str(gitconfig),
        GIT_CONFIG_NOSYSTEM="1",
        GIT_AUTHOR_NAME="Test", GIT_AUTHOR_EMAIL="test@example.invalid",
        GIT_COMMITTER_NAME="Test", GIT_COMMITTER_EMAIL="test@example.invalid",
        TF_CPP_MIN_LOG_LEVEL="3",
    )
    env.pop("PYTHONPATH", None)
    return env


def working_tree_files() -> list[str]:
    proc = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                          capture_output=True, timeout=60, check=True)
    return sorted(p for p in proc.stdout.decode("utf-8", "surrogateescape").split("\0") if p)


@pytest.fixture(scope="session")
def hook_repo(pc_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A one-commit repository holding the working tree as it is now."""
    repo = tmp_path_factory.mktemp("hook-repo")
    for rel in working_tree_files():
        src = ROOT / rel
        if src.is_file() and not src.is_symlink():
            dst = repo / rel
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dst)
    assert (repo / ".pre-commit-hooks.yaml").is_file()
    git("init", "-q", cwd=repo, env=pc_env)
    git("add", "-A", cwd=repo, env=pc_env)
    git("commit", "-q", "--no-verify", "-m", "snapshot of the working tree", cwd=repo, env=pc_env)
    rev = git("rev-parse", "HEAD", cwd=repo, env=pc_env).stdout.strip()
    return repo, rev


def pre_commit(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pre_commit", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=900, check=False)


class Consumer:
    """A git repository with the tfmodel-lint hook installed."""

    def __init__(self, path: Path, env: dict[str, str]) -> None:
        self.path = path
        self.env = env

    def add_model(self, src: Path, dest: str) -> Path:
        target = self.path / dest
        if src.is_dir():
            shutil.copytree(src, target)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, target)
        return target

    def write(self, rel: str, text: str) -> Path:
        target = self.path / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        return target

    def commit(self, *paths: str, verify: bool = True) -> subprocess.CompletedProcess[str]:
        git("add", "--", *(paths or (".",)), cwd=self.path, env=self.env)
        args = ["commit", "-m", "change"] + ([] if verify else ["--no-verify"])
        proc = git(*args, cwd=self.path, env=self.env, check=False)
        proc.stdout = proc.stdout + proc.stderr  # the hook's output, wherever git put it
        return proc

    def commits(self) -> int:
        return int(git("rev-list", "--count", "HEAD", cwd=self.path, env=self.env).stdout)

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return pre_commit(*args, cwd=self.path, env=self.env)


@pytest.fixture
def consumer(hook_repo: tuple[Path, str], pc_env: dict[str, str], tmp_path: Path) -> Iterator[Consumer]:
    repo_path, rev = hook_repo
    path = tmp_path / "consumer"
    path.mkdir()
    git("init", "-q", cwd=path, env=pc_env)
    (path / ".pre-commit-config.yaml").write_text(
        f"repos:\n-   repo: {repo_path.as_posix()}\n    rev: {rev}\n    hooks:\n    -   id: tfmodel-lint\n",
        encoding="utf-8",
    )
    proc = pre_commit("install", cwd=path, env=pc_env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    c = Consumer(path, pc_env)
    first = c.commit(".pre-commit-config.yaml")
    assert first.returncode == 0, first.stdout
    yield c


def failed_with(proc: subprocess.CompletedProcess[str], *needles: str) -> None:
    out = proc.stdout
    assert proc.returncode != 0, out
    assert re.search(r"tfmodel-lint\.+Failed", out), out
    for needle in needles:
        assert needle in out, out


def passed(proc: subprocess.CompletedProcess[str]) -> None:
    assert proc.returncode == 0, proc.stdout
    assert re.search(r"tfmodel-lint\.+(Passed|\(no files to check\)Skipped)", proc.stdout), proc.stdout


# -- committing ------------------------------------------------------------------------------

def test_commit_malicious_savedmodel_fails(consumer: Consumer, tf_fixtures: Path) -> None:
    consumer.add_model(tf_fixtures / "savedmodels" / "readfile_const", "models/evil")
    proc = consumer.commit("models")
    failed_with(proc, "models/evil\n", "TFL201 high", "'/etc/passwd'", "1 finding in 1 artifact (1 high)")
    assert proc.stdout.count("models/evil\n") == 1  # four files passed, one model linted
    assert consumer.commits() == 1


def test_commit_benign_models_passes(consumer: Consumer, tf_fixtures: Path) -> None:
    consumer.add_model(tf_fixtures / "savedmodels" / "benign_module_variables", "models/dense")
    consumer.add_model(tf_fixtures / "savedmodels" / "benign_keras_rnn", "models/rnn")
    consumer.add_model(tf_fixtures / "savedmodels" / "benign_tokenizer_asset", "models/tok")
    consumer.add_model(tf_fixtures / "graphdefs" / "benign_frozen.pb", "models/frozen.pb")
    passed(consumer.commit("models"))
    assert consumer.commits() == 2


def test_commit_of_a_single_file_inside_a_savedmodel_fails(consumer: Consumer, tf_fixtures: Path) -> None:
    consumer.add_model(tf_fixtures / "savedmodels" / "readfile_const", "models/evil")
    assert consumer.commit("models", verify=False).returncode == 0
    consumer.write("models/evil/assets/labels.txt", "cat\ndog\n")  # only this file is committed
    proc = consumer.commit("models/evil/assets/labels.txt")
    failed_with(proc, "models/evil\n", "TFL201 high", "/etc/passwd")
    proc = consumer.run("run", "tfmodel-lint", "--files", "models/evil/variables/variables.index")
    failed_with(proc, "models/evil\n", "TFL201 high")


def test_commit_h5_with_lambda_fails(consumer: Consumer, lambda_h5: Path) -> None:
    consumer.add_model(lambda_h5, "models/scaler.h5")
    proc = consumer.commit("models")
    failed_with(proc, "models/scaler.h5\n", "Lambda")
    assert re.search(r"TFL1\d\d ", proc.stdout), proc.stdout


def test_lfs_pointer_is_reported_as_such(consumer: Consumer) -> None:
    consumer.write("models/big.h5", LFS_POINTER)
    git("add", "models/big.h5", cwd=consumer.path, env=consumer.env)
    proc = consumer.run("run", "tfmodel-lint", "--files", "models/big.h5", "--verbose")
    assert "TFL906" in proc.stdout and "Git LFS pointer" in proc.stdout, proc.stdout
    assert "TFL902" not in proc.stdout  # not reported as a malformed model
    assert proc.returncode == 0  # low severity: below the default fail-on
    consumer.write(".tfmodel-lint.toml", 'fail-on = "low"\n')
    failed_with(consumer.commit(), "TFL906", "git lfs pull")


def test_configuration_is_found_without_arguments(consumer: Consumer, tf_fixtures: Path) -> None:
    consumer.write("pyproject.toml", (
        '[project]\nname = "ml-app"\n\n[tool.tfmodel-lint]\nexclude = ["vendor"]\n\n'
        '[tool.tfmodel-lint.per-file-ignores]\n"models/reviewed" = ["TFL201"]\n'
    ))
    consumer.add_model(tf_fixtures / "savedmodels" / "readfile_const", "models/reviewed")
    consumer.add_model(tf_fixtures / "savedmodels" / "readfile_const", "vendor/third_party/evil")
    passed(consumer.commit())
    consumer.add_model(tf_fixtures / "savedmodels" / "readfile_const", "models/new")
    failed_with(consumer.commit(), "models/new\n", "TFL201")


def test_invalid_configuration_fails_the_commit_clearly(consumer: Consumer, tf_fixtures: Path) -> None:
    consumer.write(".tfmodel-lint.toml", 'ignroe = ["TFL2"]\n')
    consumer.add_model(tf_fixtures / "savedmodels" / "benign_module_variables", "models/dense")
    failed_with(consumer.commit(), "unknown key 'ignroe' (did you mean 'ignore'?)", "exit code: 2")


def test_baseline_is_read_never_written(consumer: Consumer, tf_fixtures: Path, monkeypatch: pytest.MonkeyPatch,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    consumer.add_model(tf_fixtures / "savedmodels" / "readfile_const", "models/known")
    monkeypatch.chdir(consumer.path)
    assert run_cli(["baseline", "create", ".tfmodel-lint-baseline.json", "models"], capsys)[0] == 0
    baseline = consumer.path / ".tfmodel-lint-baseline.json"
    before, stamp = baseline.read_bytes(), baseline.stat().st_mtime_ns
    consumer.write(".tfmodel-lint.toml", 'baseline = ".tfmodel-lint-baseline.json"\n')
    passed(consumer.commit())
    consumer.add_model(tf_fixtures / "savedmodels" / "readfile_cond", "models/new")
    failed_with(consumer.commit(), "models/new\n", "TFL201")
    assert "models/known" not in consumer.commit().stdout
    assert baseline.read_bytes() == before and baseline.stat().st_mtime_ns == stamp
    assert git("status", "--porcelain", "--", ".tfmodel-lint-baseline.json", cwd=consumer.path,
               env=consumer.env).stdout == ""


def test_files_outside_savedmodels_that_only_match_the_pattern_are_skipped(consumer: Consumer) -> None:
    consumer.write("web/assets/logo.svg", "<svg/>")
    consumer.write("src/variables/names.txt", "x\n")
    passed(consumer.commit())


def test_hook_environment_is_light(consumer: Consumer, tf_fixtures: Path, pc_env: dict[str, str]) -> None:
    consumer.add_model(tf_fixtures / "savedmodels" / "benign_module_variables", "models/dense")
    passed(consumer.commit())  # makes sure the environment exists
    envs = list(Path(pc_env["PRE_COMMIT_HOME"]).glob("repo*/py_env-*"))
    assert envs, "no hook environment under PRE_COMMIT_HOME"
    for env_dir in envs:
        dists = {
            re.sub(r"[-_.]+", "-", p.name.split("-")[0]).lower()
            for p in env_dir.glob("lib/python*/site-packages/*.dist-info")
        }
        assert "tfmodel-lint" in dists
        assert dists <= LIGHT, f"unexpected packages in the hook environment: {sorted(dists - LIGHT)}"
        assert not any(d.startswith(("tensorflow", "keras", "tf-keras")) for d in dists)


# -- try-repo ----------------------------------------------------------------------------------

def test_try_repo(hook_repo: tuple[Path, str], consumer: Consumer, tf_fixtures: Path) -> None:
    consumer.add_model(tf_fixtures / "savedmodels" / "readfile_const", "models/evil")
    consumer.add_model(tf_fixtures / "savedmodels" / "benign_module_variables", "models/good")
    git("add", "models", cwd=consumer.path, env=consumer.env)
    proc = consumer.run("try-repo", str(hook_repo[0]), "tfmodel-lint", "--files",
                        "models/evil/saved_model.pb", "models/evil/fingerprint.pb", "models/good/saved_model.pb")
    failed_with(proc, "models/evil\n", "TFL201 high", "1 finding in 2 artifacts (1 high)")


def test_try_repo_on_the_working_tree(consumer: Consumer, tf_fixtures: Path) -> None:
    """``pre-commit try-repo <this checkout>``: needs every file the hook uses tracked
    (``try-repo`` adds only changes of tracked files), as in CI."""
    untracked = subprocess.run(
        ["git", "ls-files", "--others", "--exclude-standard", "--", ".pre-commit-hooks.yaml", "pyproject.toml",
         "README.md", "src", "signatures"],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=True,
    ).stdout.split()
    if untracked:
        assert not os.environ.get("CI"), f"untracked files in a CI checkout: {untracked}"
        pytest.skip(f"{len(untracked)} files the hook needs are not tracked yet (e.g. {untracked[0]}); "
                    "pre-commit try-repo ignores untracked files (test_try_repo covers the working tree)")
    consumer.add_model(tf_fixtures / "savedmodels" / "readfile_const", "models/evil")
    git("add", "models", cwd=consumer.path, env=consumer.env)
    proc = consumer.run("try-repo", str(ROOT), "tfmodel-lint", "--files", "models/evil/variables/variables.index")
    failed_with(proc, "models/evil\n", "TFL201 high")


# -- an .h5 with a Lambda layer (built with tf-keras in a subprocess, never loaded) ------------

BUILD_LAMBDA_H5 = """
import os, sys
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import tf_keras as keras
inp = keras.Input((4,))
out = keras.layers.Lambda(lambda t: t * 2.0, name="scale")(keras.layers.Dense(2)(inp))
keras.Model(inp, out).save(sys.argv[1])
"""


@pytest.fixture(scope="session")
def lambda_h5(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not KERAS_H5_LOADER.is_file():
        pytest.skip("the Keras .h5 loader (src/tfmodel_lint/loaders/keras_h5.py) is not written yet")
    pytest.importorskip("tf_keras", reason="tf-keras is needed to build the .h5 fixture (test extra)")
    out = tmp_path_factory.mktemp("h5") / "lambda.h5"
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="")
    proc = subprocess.run([sys.executable, "-c", BUILD_LAMBDA_H5, str(out)], capture_output=True, text=True,
                          env=env, timeout=600, check=False)
    assert proc.returncode == 0 and out.is_file(), proc.stderr[-4000:]
    return out


# -- models whose names say nothing, models inside models (issue 13) ----------------------------

def test_commit_of_models_whose_names_say_nothing_fails(consumer: Consumer, tf_fixtures: Path,
                                                        tmp_path: Path) -> None:
    """A frozen GraphDef, a SavedModel's saved_model.pb, a TFLite file, an .h5 (also one
    with a user block), a .keras and a .tar.xz of a SavedModel, each renamed so that its
    name says nothing: the hook passes every file, the linter recognises them by content."""
    import tarfile

    from tests.conftest import build_cached
    from tests.polyglots import with_userblock

    fmt = build_cached("build_format_fixtures.py")
    keras = build_cached("build_keras_fixtures.py")
    files = {
        "weights.bin": tf_fixtures / "graphdefs" / "model.pb",
        "data": tf_fixtures / "savedmodels" / "readfile_const" / "saved_model.pb",
        "model.txt": fmt / "tflite" / "flex_reader.tflite",
        "params.dat": keras / "k2" / "lambda_os_system.h5",
        "blob": keras / "k3" / "lambda_os_system.keras",
    }
    for name, src in files.items():
        consumer.add_model(src, f"blobs/{name}")
    archive = tmp_path / "sm.tar.xz"
    with tarfile.open(archive, "w:xz") as tar:
        tar.add(tf_fixtures / "savedmodels" / "readfile_const", "sm")
    consumer.add_model(archive, "blobs/archive")
    with_userblock(keras / "k2" / "lambda_os_system.h5", tmp_path / "ub", 1024)
    consumer.add_model(tmp_path / "ub", "blobs/cache")
    consumer.write("blobs/README", "nothing here\n")
    proc = consumer.commit("blobs")
    failed_with(proc, *(f"blobs/{name}\n" for name in [*files, "archive", "cache"]))
    assert "blobs/README" not in proc.stdout
    assert consumer.commits() == 1


def test_commit_of_an_extra_model_inside_a_savedmodel_fails(consumer: Consumer, tf_fixtures: Path) -> None:
    consumer.add_model(tf_fixtures / "savedmodels" / "benign_module_variables", "models/sm")
    assert consumer.commit("models", verify=False).returncode == 0
    consumer.add_model(tf_fixtures / "graphdefs" / "model.pb", "models/sm/extra/evil.pb")
    proc = consumer.commit("models/sm/extra/evil.pb")  # pre-commit names only this file
    failed_with(proc, "models/sm\n", "member:extra/evil.pb", "TFL201 high", "'/etc/passwd'")
