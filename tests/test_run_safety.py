"""A limit never hides a finding; the run is bounded as a whole; workers end with it;
files the user points at (baseline, signatures, config) are read bounded."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterable
from pathlib import Path

import pytest

from tests.helpers import run_cli
from tfmodel_lint.findings import Issue, Location, Severity
from tfmodel_lint.ir import ModelIR
from tfmodel_lint.limits import Limits
from tfmodel_lint.rules.base import Rule, RuleContext

ROOT = Path(__file__).resolve().parent.parent
MALICIOUS = ROOT / "examples" / "models" / "malicious_reader"


class Stuck(Rule):
    """A rule that never finishes (for the budget tests)."""

    code = "ZZZ101"
    name = "stuck"
    severity = Severity.LOW
    category = "file_read"
    summary = "never finishes"

    def check(self, model: ModelIR, ctx: RuleContext) -> Iterable[Issue]:
        yield self.issue(Location(), "made before the rule got stuck")
        while True:
            time.sleep(0.01)


def _app(settings: object) -> object:
    from tfmodel_lint.app import Application
    from tfmodel_lint.rules.registry import discover

    return Application(settings, registry=discover(extra=[("test:ZZZ", "ZZZ", [Stuck])]))  # type: ignore[arg-type]


def test_findings_made_before_the_time_budget_ran_out_are_kept() -> None:
    """The capability rules run before the stuck one: their findings (high) stay, the
    stuck rule's first finding stays, and the cut is a TFL903 that fails --fail-on high."""
    from tfmodel_lint.app import exit_code
    from tfmodel_lint.settings import Settings

    settings = Settings(limits=Limits(time_budget=0.5), fail_on=Severity.HIGH)
    result = _app(settings).run([str(MALICIOUS)])  # type: ignore[attr-defined]
    codes = {f.code: f for f in result.findings}
    assert {"TFL201", "TFL202", "ZZZ101", "TFL903"} <= set(codes), [f.code for f in result.findings]
    assert codes["TFL201"].severity == Severity.HIGH
    limit = codes["TFL903"]
    assert limit.severity >= Severity.HIGH and "time-budget" in limit.message and "findings above" in limit.message
    assert exit_code(result, settings) == 1


def test_the_run_has_a_budget_of_its_own(tmp_path: Path) -> None:
    """Many slow artifacts cannot cost the sum of their budgets: once the run's budget is
    spent, the rest are TFL903 naming run-time-budget, each reported."""
    from tfmodel_lint.settings import Settings

    for i in range(4):
        shutil.copytree(MALICIOUS, tmp_path / f"m{i}")
    settings = Settings(limits=Limits(time_budget=30, run_time_budget=1.0))
    start = time.monotonic()
    result = _app(settings).run([str(tmp_path)])  # type: ignore[attr-defined]
    took = time.monotonic() - start
    limits = [f for f in result.findings if f.code == "TFL903"]
    assert {f.artifact for f in limits} == {a.path for a in result.artifacts} and len(result.artifacts) == 4
    assert all("run-time-budget" in f.message for f in limits), [f.message for f in limits]
    assert took < 30  # not 4 x 30 s: the first artifact used the whole run budget


def _session_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.slow
def test_interrupting_a_parallel_run_ends_its_workers(tmp_path: Path) -> None:
    """SIGINT to the parent of a -j run: it exits 130 and no worker is left behind."""
    for i in range(40):
        shutil.copytree(MALICIOUS, tmp_path / f"m{i:02d}")
    plugin = tmp_path / "plugin"
    plugin.mkdir()
    (plugin / "stuck_rules.py").write_text(
        "import time\nfrom tfmodel_lint.rules.base import Rule\nfrom tfmodel_lint.findings import Severity\n"
        "class Slow(Rule):\n    code = 'SLO101'\n    name = 'slow'\n    severity = Severity.LOW\n"
        "    category = 'file_read'\n    summary = 'slow'\n"
        "    def check(self, model, ctx):\n        time.sleep(2)\n        return ()\nRULES = [Slow]\n")
    info = plugin / "stuck_rules-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: stuck-rules\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[tfmodel_lint.rules]\nSLO = stuck_rules:RULES\n")
    env = dict(os.environ, PYTHONPATH=str(plugin))
    proc = subprocess.Popen([sys.executable, "-c", "from tfmodel_lint.cli import main; raise SystemExit(main())",
                             str(tmp_path), "-j", "2", "--isolated", "--no-progress"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    time.sleep(4)  # workers are busy in the slow rule
    assert proc.poll() is None
    os.kill(proc.pid, signal.SIGINT)
    try:
        code = proc.wait(timeout=60)
        err = proc.stderr.read().decode() if proc.stderr else ""
    finally:
        if proc.poll() is None:
            proc.kill()
        if proc.stderr:
            proc.stderr.close()
    assert code == 130, err
    deadline = time.monotonic() + 30
    while _session_alive(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    alive = _session_alive(proc.pid)
    if alive:
        os.killpg(proc.pid, signal.SIGKILL)
    assert not alive, "worker processes outlived the interrupted run"


@pytest.mark.parametrize("key", ["--baseline", "--signatures"])
def test_a_device_named_as_a_data_file_is_a_usage_error(key: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli([str(MALICIOUS), key, "/dev/zero", "--isolated"], capsys)
    assert code == 2 and "not a regular file" in err


def test_a_deeply_nested_config_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "deep.toml"
    cfg.write_text("x = " + "[" * 5000 + "]" * 5000 + "\n")
    code, _, err = run_cli([str(MALICIOUS), "--config", str(cfg)], capsys)
    assert code == 2 and "invalid TOML" in err


def test_a_huge_config_file_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "big.toml"
    with cfg.open("wb") as fh:
        fh.truncate(1 << 30)  # sparse
    code, _, err = run_cli([str(MALICIOUS), "--config", str(cfg)], capsys)
    assert code == 2 and "larger than" in err
