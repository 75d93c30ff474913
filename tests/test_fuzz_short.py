"""A short, deterministic fuzz run of every harness in ``fuzz/``: the seeds (from the
fixtures) and a fixed number of inputs made from them by the seeded pure-Python mutator
(``fuzz/mutate.py``), no atheris needed. Each harness runs in its own subprocess with a
time limit, so a hang or a crash of a native library cannot take the test run down.

The long coverage-guided runs are described in ``fuzz/README.md``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, build_cached

COUNT = 250
SEED = 0
TIMEOUT = 20
#: The HDF5 harness reads through one reader process and cuts hanging inputs off after a deadline.
TIMEOUTS = {"hdf5": 300}
#: Harnesses whose short run still hits a known bug (none at present).
KNOWN_HANGS: dict[str, str] = {}


#: Address space of a short run: a backstop under the harness's own memory oracle.
ADDRESS_SPACE = 4 << 30


def _backstop() -> None:
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))


@pytest.fixture(scope="module")
def fixtures_built() -> None:
    build_cached("build_format_fixtures.py")  # seeds come from the fixture cache too


@pytest.mark.parametrize("name", ["savedmodel", "streamed", "hdf5", "keras", "tflite", "tfjs", "archives", "marshal"])
def test_short_fuzz_run(name: str, fixtures_built: None) -> None:
    try:
        proc = subprocess.run([sys.executable, "-m", "fuzz.short_run", name, str(COUNT), str(SEED)],
                              capture_output=True, text=True, cwd=str(ROOT), timeout=TIMEOUTS.get(name, TIMEOUT),
                              check=False, preexec_fn=_backstop)
    except subprocess.TimeoutExpired:
        if name in KNOWN_HANGS:
            pytest.xfail(KNOWN_HANGS[name])
        raise
    assert proc.stdout.strip(), proc.stderr[-3000:]
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    crashes = report["crashes"]
    assert not crashes, json.dumps(crashes, indent=1)[:4000]
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert report["executions"] == COUNT + report["seeds"]
    assert report["seeds"] >= 1


# -- the memory and time oracle -------------------------------------------------------------


def test_oracle_reports_memory_growth_as_a_crash() -> None:
    from fuzz._harness import MEMORY_CEILING, ResourceCeilingError, guarded

    def hungry(data: bytes) -> None:
        block = bytearray(MEMORY_CEILING + (64 << 20))
        block[::4096] = b"x" * len(block[::4096])  # touched: resident, not just reserved

    def modest(data: bytes) -> None:
        block = bytearray(16 << 20)
        block[::4096] = b"x" * len(block[::4096])

    guarded(modest)(b"")
    with pytest.raises(ResourceCeilingError, match="peak RSS grew"):
        guarded(hungry)(b"")


def test_oracle_reports_cpu_time_as_a_crash(monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    from fuzz import _harness

    monkeypatch.setattr(_harness, "CPU_CEILING", 0.05)

    def spin(data: bytes) -> None:
        start = time.process_time()
        while time.process_time() - start < 0.2:
            pass

    with pytest.raises(_harness.ResourceCeilingError, match="of CPU"):
        _harness.guarded(spin)(b"")


def test_oracle_on_the_repeated_field_input_that_took_gigabytes(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """20 MB of empty strings in one Const, as a harness input: refused at max-elements
    within the ceilings; with that limit lifted (as before it existed) the oracle
    reports the decoding of these 10 million strings (~440 MiB)."""
    from fuzz import _harness
    from tests import memory_inputs
    from tfmodel_lint._records import replace

    data = memory_inputs.protobuf_case(tmp_path, "string_val", 10_000_000).read_bytes()
    _harness.HARNESSES["savedmodel"].target(data)
    _harness.HARNESSES["streamed"].target(data)
    small = _harness.limits
    monkeypatch.setattr(_harness, "limits", lambda: replace(small(), max_elements=10**12))
    with pytest.raises(_harness.ResourceCeilingError, match="peak RSS grew"):
        _harness.HARNESSES["savedmodel"].target(data)


# -- inputs found by the campaigns (fuzz/README.md) ------------------------------------------


def test_zip_member_with_bad_lzma_properties_is_malformed_not_a_crash() -> None:
    """Found by the keras harness (2026-12-06): a member compressed with LZMA whose
    properties are invalid raised LZMAError (no OSError) out of the zip reader:
    'loader crashed' (TFL999). Now the member is malformed (TFL902) and the rest of the
    archive is still read."""
    from tests.helpers import lint

    path = ROOT / "tests" / "fixtures" / "fuzz_regressions" / "zip_lzma_bad_properties.keras"
    result = lint(path)
    assert not result.internal_errors
    assert not [f for f in result.findings if f.code == "TFL999"]
    bad = [f for f in result.findings if f.code == "TFL902" and "Invalid or unsupported options" in f.message]
    assert bad and bad[0].location.member == "metadata.json"
