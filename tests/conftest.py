"""Shared test fixtures.

TensorFlow-built fixtures are made by scripts under ``tests/fixtures/`` run in a
subprocess (so TensorFlow is never imported into the test process, whose
``sys.modules`` some tests inspect), once per session, and cached on disk under
``.fixture-cache/<script>-<hash of script + TF version>`` (override the location with
``TFMODEL_LINT_FIXTURE_CACHE``). Delete the cache to force a rebuild.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURE_SCRIPTS = ROOT / "tests" / "fixtures"
SHARED = ROOT.parent / "shared"
SAMPLES = SHARED / "samples" / "tensorabuse"


def _tf_version() -> str:
    try:
        from importlib.metadata import version

        return version("tensorflow-cpu")
    except Exception:  # noqa: BLE001
        try:
            from importlib.metadata import version

            return version("tensorflow")
        except Exception:  # noqa: BLE001
            return ""


def build_cached(script: str) -> Path:
    """Run ``tests/fixtures/<script> OUTDIR`` once and cache OUTDIR; return it."""
    tf_version = _tf_version()
    if not tf_version:
        pytest.skip("TensorFlow is not installed (install the 'test' extra)")
    source = (FIXTURE_SCRIPTS / script).read_bytes()
    digest = hashlib.sha256(source + tf_version.encode()).hexdigest()[:16]
    base = Path(os.environ.get("TFMODEL_LINT_FIXTURE_CACHE", ROOT / ".fixture-cache"))
    out = base / f"{Path(script).stem}-{digest}"
    if (out / "manifest.json").is_file():
        return out
    tmp = base / f".{out.name}.tmp{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="")
    proc = subprocess.run(
        [sys.executable, str(FIXTURE_SCRIPTS / script), str(tmp)],
        capture_output=True, text=True, env=env, cwd=str(tmp), timeout=900, check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"{script} failed ({proc.returncode}):\n{proc.stdout[-4000:]}\n{proc.stderr[-8000:]}")
    shutil.rmtree(out, ignore_errors=True)
    tmp.rename(out)
    return out


def load_manifest(directory: Path) -> dict[str, dict[str, object]]:
    data = json.loads((directory / "manifest.json").read_text(encoding="utf-8"))
    models: dict[str, dict[str, object]] = data["models"]
    return models


@pytest.fixture(scope="session")
def tf_fixtures() -> Path:
    return build_cached("build_tf_fixtures.py")


@pytest.fixture(scope="session")
def samples_dir() -> Path:
    if not (SAMPLES / "expected.json").is_file():
        pytest.skip(f"shared TensorAbuse samples not found at {SAMPLES} (../shared is absent)")
    return SAMPLES


#: Fixtures built by real TensorFlow: a test that uses one is marked ``tf``.
TF_FIXTURES = frozenset({"tf_fixtures", "dataflow_fixtures", "fmt", "fixtures_built", "keras_dir", "bypass_fixtures",
                         "keras_fixtures", "tf_op_search"})
#: Test modules that start real tools (pre-commit, git, the SARIF Multitool, npm, fuzzers,
#: subprocess venvs) or run many examples: marked ``slow``. They all run in CI; the inner
#: loop is ``pytest -m "not slow and not tf"``.
SLOW_MODULES = frozenset({"test_precommit", "test_sarif", "test_fuzz_short", "test_dataflow_hypothesis",
                          "test_never_executes", "test_streamed_parse", "test_extract_addons", "test_memory"})


#: Single tests that take seconds (deep trees, hangs cut off by a deadline, bombs).
SLOW_TESTS = ("1100_deep", "test_directory_walks_do_not_recurse_per_level", "test_hdf5_that_hangs",
              "test_zip_bomb_is_stopped", "100mb_model_config", "time_budget_not_swallowed")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        names = set(getattr(item, "fixturenames", ()))
        if names & TF_FIXTURES or item.path.stem == "test_never_executes":
            item.add_marker(pytest.mark.tf)
        if item.path.stem in SLOW_MODULES or any(part in item.nodeid for part in SLOW_TESTS):
            item.add_marker(pytest.mark.slow)
