"""Third-party rules and reporters: the real example plugin package under
``examples/plugin`` installed with pip (into a temporary ``--target`` directory put on
the path, so the test environment is not modified), select/ignore over its codes, and
plugins that clash, crash or fail to import, reported by name while the other rules
still run (exit code 3)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.helpers import run_cli

ROOT = Path(__file__).resolve().parent.parent
PLUGIN_SRC = ROOT / "examples" / "plugin"
MALICIOUS = ROOT / "examples" / "models" / "malicious_reader"


@pytest.fixture(scope="session")
def plugin_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``pip install --target`` of the example plugin (built from a copy of its source,
    so the build leaves nothing in the working tree)."""
    base = tmp_path_factory.mktemp("example-plugin")
    src = base / "src"
    shutil.copytree(PLUGIN_SRC, src, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    site = base / "site"
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation", "--no-index",
         "--disable-pip-version-check", "--target", str(site), str(src)],
        capture_output=True, text=True, timeout=300, check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert list(site.glob("tfmodel_lint_example-0.1.0.dist-info/entry_points.txt"))
    return site


@pytest.fixture
def with_plugin(plugin_site: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.syspath_prepend(str(plugin_site))
    return plugin_site


def lint_codes(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str], dict[str, object]]:
    code, out, _ = run_cli([*argv, "--format", "json"], capsys)
    data = json.loads(out)
    return code, sorted(f["code"] for f in data["findings"]), data


def subprocess_cli(*args: str, pythonpath: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST") and k != "PYTHONPATH"}
    if pythonpath is not None:
        env["PYTHONPATH"] = str(pythonpath)
    return subprocess.run([sys.executable, "-m", "tfmodel_lint", *args], capture_output=True, text=True,
                          env=env, timeout=120, check=False)


# -- the example plugin ------------------------------------------------------------------

def test_installed_example_plugin_takes_effect(plugin_site: Path, tf_fixtures: Path) -> None:
    rnn = str(tf_fixtures / "savedmodels" / "benign_keras_rnn")
    before = subprocess_cli(rnn, "--format", "json")
    assert before.returncode == 0 and json.loads(before.stdout)["findings"] == []
    assert subprocess_cli(rnn, "--format", "xmp-codes").returncode == 2  # not installed: unknown format

    proc = subprocess_cli("rules", pythonpath=plugin_site)
    assert proc.returncode == 0 and "XMP101  graph-loops" in proc.stdout
    proc = subprocess_cli("rules", "XMP101", pythonpath=plugin_site)
    assert proc.returncode == 0 and "request can keep a serving process busy" in proc.stdout

    proc = subprocess_cli(rnn, pythonpath=plugin_site)
    assert proc.returncode == 0, proc.stderr  # low severity: below the default --fail-on
    assert "XMP101 low" in proc.stdout and "1 loop op in 1 function (limit 0)" in proc.stdout
    assert subprocess_cli(rnn, "--fail-on", "low", pythonpath=plugin_site).returncode == 1
    proc = subprocess_cli(rnn, "--format", "xmp-codes", pythonpath=plugin_site)
    (line,) = proc.stdout.splitlines()
    assert line.startswith("XMP101\t") and line.endswith("savedmodels/benign_keras_rnn")


def test_example_rule_on_models_with_and_without_loops(with_plugin: Path, tf_fixtures: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    sm = tf_fixtures / "savedmodels"
    assert lint_codes([str(sm / "benign_module_variables")], capsys)[1] == []
    _, found, data = lint_codes([str(sm / "benign_keras_rnn"), "--show-evidence"], capsys)
    assert found == ["XMP101"]
    (finding,) = data["findings"]  # type: ignore[misc]
    assert finding["severity"] == "low" and finding["category"] == "process_sleep"
    assert finding["evidence"]["loops"] == 1 and finding["location"]["op"] in ("While", "StatelessWhile")
    assert "XMP101" in lint_codes([str(sm / "readfile_while")], capsys)[1]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ([], ["TFL201", "XMP101"]),
        (["--select", "XMP"], ["XMP101"]),
        (["--select", "XMP101"], ["XMP101"]),
        (["--ignore", "XMP"], ["TFL201"]),
        (["--select", "TFL"], ["TFL201"]),
        (["--ignore", "XMP1", "--extend-select", "XMP101"], ["TFL201", "XMP101"]),  # longer prefix wins
        (["--select", "TFL2", "--extend-select", "XMP"], ["TFL201", "XMP101"]),
    ],
)
def test_select_and_ignore_plugin_codes(with_plugin: Path, tf_fixtures: Path, args: list[str], expected: list[str],
                                        capsys: pytest.CaptureFixture[str]) -> None:
    model = str(tf_fixtures / "savedmodels" / "readfile_while")
    assert lint_codes([model, *args], capsys)[1] == expected


def test_plugin_codes_in_config_and_sarif(with_plugin: Path, tf_fixtures: Path, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    shutil.copytree(tf_fixtures / "savedmodels" / "benign_keras_rnn", tmp_path / "models" / "rnn")
    shutil.copytree(tf_fixtures / "savedmodels" / "readfile_while", tmp_path / "models" / "loop")
    (tmp_path / ".git").mkdir()
    monkeypatch.chdir(tmp_path)
    assert lint_codes(["models"], capsys)[1] == ["TFL201", "XMP101", "XMP101"]
    (tmp_path / ".tfmodel-lint.toml").write_text('[per-file-ignores]\n"models/rnn" = ["XMP"]\n')
    assert lint_codes(["models"], capsys)[1] == ["TFL201", "XMP101"]
    _, out, _ = run_cli(["models", "--format", "sarif"], capsys)
    run = json.loads(out)["runs"][0]
    rule = next(r for r in run["tool"]["driver"]["rules"] if r["id"] == "XMP101")
    assert rule["properties"]["precision"] == "low" and rule["help"]["text"].startswith("The model's graph")
    # ruleIds name the rule, and its severity when not the default (TFL201/high); the
    # suppressed finding is a result with a suppression
    assert sorted((r["ruleId"].split("/")[0], bool(r.get("suppressions"))) for r in run["results"]) == [
        ("TFL201", False), ("XMP101", False), ("XMP101", True)]


# -- broken plugins ------------------------------------------------------------------------

def fake_dist(site: Path, dist: str, module: str, source: str, entry_points: str) -> None:
    """A minimal installed distribution: a module and its ``.dist-info``."""
    site.mkdir(parents=True, exist_ok=True)
    (site / f"{module}.py").write_text(textwrap.dedent(source), encoding="utf-8")
    info = site / f"{dist.replace('-', '_')}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.0\n", encoding="utf-8")
    (info / "entry_points.txt").write_text(textwrap.dedent(entry_points), encoding="utf-8")


RULE_SOURCE = """
    from tfmodel_lint.findings import Location, Severity
    from tfmodel_lint.rules.base import Rule


    class {cls}(Rule):
        code = "{code}"
        name = "{name}"
        severity = Severity.MEDIUM
        category = "file_read"
        summary = "{summary}"

        def check(self, model, ctx):
            {body}


    RULES = [{cls}]
"""


def rule_module(cls: str, code: str, body: str, name: str = "example-rule", summary: str = "example") -> str:
    return RULE_SOURCE.format(cls=cls, code=code, name=name, summary=summary, body=body)


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "site"
    path.mkdir()
    monkeypatch.syspath_prepend(str(path))
    return path


def unique(tmp_path: Path, stem: str) -> str:
    return f"{stem}_{abs(hash(str(tmp_path))) % 10**8}"


def test_crashing_rule_is_reported_by_name_and_the_others_run(site: Path, tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    mod = unique(tmp_path, "crashy")
    fake_dist(site, "crashy-rules", mod, rule_module("Boom", "CRS101", "raise RuntimeError('kaboom')"),
              f"[tfmodel_lint.rules]\nCRS = {mod}:RULES\n")
    code, out, err = run_cli([str(MALICIOUS)], capsys)
    assert code == 3
    assert "TFL201 high" in out and "TFL202 high" in out  # the other rules ran
    assert "TFL999 medium" in out and "rule CRS101 (crashy-rules:CRS) crashed: RuntimeError: kaboom" in out
    assert any(line.startswith("error: ") and "malicious_reader: rule CRS101" in line for line in out.splitlines())
    code, found, data = lint_codes([str(MALICIOUS)], capsys)
    assert code == 3 and found == ["TFL201", "TFL202", "TFL999"]
    assert any("crashy-rules:CRS" in e for e in data["errors"])  # type: ignore[union-attr]
    # --exit-zero does not hide an internal error
    assert run_cli([str(MALICIOUS), "--exit-zero"], capsys)[0] == 3
    # a baseline is not recorded from a run with a crashed rule
    target = tmp_path / "baseline.json"
    code, _, err = run_cli(["baseline", "create", str(target), str(MALICIOUS)], capsys)
    assert code == 3 and "crashed" in err and not target.exists()


def test_clashing_prefix_is_reported_by_name_and_the_others_run(site: Path, tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    first, second = unique(tmp_path, "pack_one"), unique(tmp_path, "pack_two")
    fake_dist(site, "pack-one", first, rule_module("One", "ABC101", "return ()"),
              f"[tfmodel_lint.rules]\nABC = {first}:RULES\n")
    fake_dist(site, "pack-two", second, rule_module("Two", "ABC102", "return ()"),
              f"[tfmodel_lint.rules]\nABC = {second}:RULES\n")
    code, out, err = run_cli([str(MALICIOUS)], capsys)
    assert code == 3
    assert "TFL201 high" in out and "TFL202 high" in out
    assert "error: plugin pack-two:ABC: prefix 'ABC' overlaps 'ABC' owned by pack-one:ABC" in out
    code, listing, err = run_cli(["rules"], capsys)
    assert code == 3 and "ABC101" in listing and "ABC102" not in listing and "pack-two:ABC" in err


@pytest.mark.parametrize(
    ("prefix", "code", "message"),
    [
        ("TFL", "TFL777", "prefix 'TFL' overlaps"),  # a built-in pack's prefix
        ("QQQ", "ZZZ101", "code 'ZZZ101' is outside the plugin's prefix 'QQQ'"),
        ("QQQ", "QQQ1", "does not match"),
    ],
)
def test_codes_outside_the_plugins_prefix_are_rejected(site: Path, tmp_path: Path, prefix: str, code: str,
                                                       message: str, capsys: pytest.CaptureFixture[str]) -> None:
    mod = unique(tmp_path, "badpack")
    fake_dist(site, "bad-pack", mod, rule_module("Bad", code, "return ()"),
              f"[tfmodel_lint.rules]\n{prefix} = {mod}:RULES\n")
    rc, out, _ = run_cli([str(MALICIOUS)], capsys)
    assert rc == 3 and "TFL201 high" in out
    assert f"error: plugin bad-pack:{prefix}" in out and message in out


def test_plugin_that_fails_to_import(site: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    mod = unique(tmp_path, "broken")
    fake_dist(site, "broken-pack", mod, "raise ImportError('missing dependency foo')\n",
              f"[tfmodel_lint.rules]\nBRK = {mod}:RULES\n")
    code, out, _ = run_cli([str(MALICIOUS)], capsys)
    assert code == 3 and "TFL201 high" in out
    assert "error: plugin broken-pack:BRK: failed to load" in out and "missing dependency foo" in out


def test_third_party_reporter_is_loaded_by_name(site: Path, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    mod = unique(tmp_path, "countrep")
    fake_dist(site, "count-reporter", mod, """
        class Count:
            def __init__(self, settings):
                self.settings = settings

            def render(self, result, stream):
                stream.write(f"{len(result.findings)} findings\\n")
    """, f"[tfmodel_lint.reporters]\ncount = {mod}:Count\n")
    code, out, _ = run_cli([str(MALICIOUS), "--format", "count"], capsys)
    assert (code, out) == (1, "2 findings\n")
    code, _, err = run_cli([str(MALICIOUS), "--format", "nope"], capsys)
    assert code == 2 and "count" in err and "github" in err  # the available formats are listed


def test_rule_options_from_config_reach_the_rule(with_plugin: Path, tf_fixtures: Path, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    """``[rules.XMP101] max_loops = N`` is handed to the rule as ``ctx.options``."""
    shutil.copytree(tf_fixtures / "savedmodels" / "readfile_while", tmp_path / "models" / "loop")
    (tmp_path / ".git").mkdir()
    monkeypatch.chdir(tmp_path)
    assert "XMP101" in lint_codes(["models"], capsys)[1]
    (tmp_path / ".tfmodel-lint.toml").write_text("[rules.XMP101]\nmax_loops = 10\n")
    assert "XMP101" not in lint_codes(["models"], capsys)[1]
    (tmp_path / ".tfmodel-lint.toml").write_text("[rules.not-a-code]\nx = 1\n")
    assert run_cli(["models"], capsys)[0] == 2


# -- discovery of entry points: the fast path against importlib.metadata ----------------


def test_fast_entry_point_scan_agrees_with_importlib_metadata() -> None:
    """The directory scan finds exactly what importlib.metadata finds in this venv."""
    from importlib.metadata import distributions

    from tfmodel_lint.entrypoints import entry_points, fast_path_applies, search_path

    assert fast_path_applies(search_path())  # the case the scan is for
    for group in ("tfmodel_lint.rules", "tfmodel_lint.reporters", "console_scripts"):
        seen: set[str] = set()
        expected = set()
        for dist in distributions(path=search_path()):
            name = re.sub(r"[-_.]+", "-", dist.metadata["Name"] or "").lower()
            if name in seen:
                continue
            seen.add(name)
            expected |= {(ep.name, ep.value) for ep in dist.entry_points if ep.group == group}
        assert {(ep.name, ep.value) for ep in entry_points(group)} == expected, group


def test_plugin_on_a_zip_path_entry_is_found(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    """A distribution installed in a zip on the import path (which the directory scan
    cannot read) is found, through importlib.metadata."""
    import zipfile

    mod = unique(tmp_path, "zipped")
    archive = tmp_path / "plugins.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr(f"{mod}.py", textwrap.dedent(rule_module("Zipped", "ZIP101", "return []")))
        zf.writestr("zipped_pack-1.0.dist-info/METADATA", "Metadata-Version: 2.1\nName: zipped-pack\nVersion: 1.0\n")
        zf.writestr("zipped_pack-1.0.dist-info/entry_points.txt", f"[tfmodel_lint.rules]\nZIP = {mod}:RULES\n")
    monkeypatch.syspath_prepend(str(archive))
    code, out, _ = run_cli(["rules"], capsys)
    assert code == 0 and "ZIP101" in out


def test_plugins_are_never_taken_from_the_working_directory(tmp_path: Path) -> None:
    """A checkout holding a fake *.dist-info and its module is linted with python -m:
    the planted plugin is neither imported nor run."""
    checkout = tmp_path / "checkout"
    checkout.mkdir()
    marker = tmp_path / "planted-ran"
    fake_dist(checkout, "planted-pack", "planted_rules",
              f"open({str(marker)!r}, 'w').close()\nRULES = []\n", "[tfmodel_lint.rules]\nPLT = planted_rules:RULES\n")
    shutil.copytree(MALICIOUS, checkout / "model")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    for argv in ([sys.executable, "-m", "tfmodel_lint", "model"], [sys.executable, "-m", "tfmodel_lint", "rules"]):
        proc = subprocess.run(argv, cwd=checkout, capture_output=True, text=True, env=env, timeout=120, check=False)
        assert proc.returncode in (0, 1), proc.stderr
        assert "PLT" not in proc.stdout and "planted" not in proc.stdout + proc.stderr
    assert not marker.exists()
