"""Configuration: discovery, precedence (command line over file), unknown keys,
per-file-ignores, targeted ignores, --report-unused-ignores, exclude (and the two
options the pre-commit hook uses: --force-exclude and --skip-non-models)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.helpers import run_cli
from tfmodel_lint.config import ConfigError, find_config, load_config
from tfmodel_lint.findings import Severity

ROOT = Path(__file__).resolve().parent.parent
MALICIOUS = ROOT / "examples" / "models" / "malicious_reader"
BENIGN = ROOT / "examples" / "models" / "benign_classifier"
READ = "TFL201"  # malicious_reader: ReadFile('/etc/passwd')
WRITE = "TFL202"  # malicious_reader: PrintV2 to file:///tmp/owned.py


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A repository (``.git`` bounds config discovery) with models/evil and models/good."""
    root = tmp_path / "repo"
    (root / ".git").mkdir(parents=True)
    shutil.copytree(MALICIOUS, root / "models" / "evil")
    shutil.copytree(BENIGN, root / "models" / "good")
    monkeypatch.chdir(root)
    return root


def codes(argv: list[str], capsys: pytest.CaptureFixture[str],
          audit: bool = False) -> tuple[int, list[str], dict[str, object]]:
    """Exit code, sorted finding codes and the JSON report. What the configuration turns
    off is reported (TFL910, tested on its own below); the other tests look past it."""
    code, out, err = run_cli([*argv, "--format", "json"], capsys)
    assert code in (0, 1), err
    data = json.loads(out)
    if not audit and any(f["code"] == "TFL910" for f in data["findings"]):
        data["findings"] = [f for f in data["findings"] if f["code"] != "TFL910"]
        fail_on = Severity.parse(data["summary"]["fail_on"])
        code = int(any(Severity.parse(f["severity"]) >= fail_on for f in data["findings"]))
    return code, sorted(f["code"] for f in data["findings"]), data


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


# -- discovery ---------------------------------------------------------------------------

def test_pyproject_found_walking_up(repo: Path, monkeypatch: pytest.MonkeyPatch,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    write(repo / "pyproject.toml", '[project]\nname = "x"\n\n[tool.tfmodel-lint]\nignore = ["TFL202"]\n')
    assert find_config(repo / "models" / "evil") == repo / "pyproject.toml"
    monkeypatch.chdir(repo / "models")
    assert codes(["evil"], capsys)[1] == [READ]


def test_dot_file_uses_top_level_keys_and_wins_in_its_directory(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(repo / "pyproject.toml", '[tool.tfmodel-lint]\nignore = ["TFL202"]\n')
    write(repo / ".tfmodel-lint.toml", 'ignore = ["TFL201"]\n')
    assert find_config(repo) == repo / ".tfmodel-lint.toml"
    assert codes(["models/evil"], capsys)[1] == [WRITE]


def test_nearest_config_wins_and_pyproject_without_table_is_skipped(repo: Path, monkeypatch: pytest.MonkeyPatch,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    write(repo / ".tfmodel-lint.toml", 'ignore = ["TFL201"]\n')
    write(repo / "models" / "pyproject.toml", '[tool.black]\nline-length = 100\n')
    assert find_config(repo / "models") == repo / ".tfmodel-lint.toml"
    write(repo / "models" / ".tfmodel-lint.toml", 'ignore = ["TFL202"]\n')
    monkeypatch.chdir(repo / "models")
    assert codes(["evil"], capsys)[1] == [READ]


def test_discovery_stops_at_the_repository_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    write(tmp_path / ".tfmodel-lint.toml", 'ignore = ["TFL2"]\n')  # outside the repository
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    assert find_config(repo) is None
    monkeypatch.chdir(repo)
    assert codes([str(MALICIOUS)], capsys)[1] == [READ, WRITE]


def test_isolated_and_explicit_config(repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(repo / ".tfmodel-lint.toml", 'ignore = ["TFL2"]\n')
    assert codes(["models/evil"], capsys)[1] == []
    assert codes(["models/evil", "--isolated"], capsys)[1] == [READ, WRITE]
    other = write(tmp_path / "elsewhere.toml", 'ignore = ["TFL201"]\n')
    assert codes(["models/evil", "--config", str(other)], capsys)[1] == [WRITE]


# -- precedence --------------------------------------------------------------------------

def test_command_line_overrides_the_file(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(repo / "pyproject.toml", '[tool.tfmodel-lint]\nselect = ["TFL201"]\nfail-on = "critical"\n')
    code, found, data = codes(["models/evil"], capsys)
    assert (code, found) == (0, [READ])  # high < critical: passes
    assert data["summary"]["fail_on"] == "critical"  # type: ignore[index]
    code, found, _ = codes(["models/evil", "--fail-on", "high"], capsys)
    assert (code, found) == (1, [READ])
    assert codes(["models/evil", "--select", "TFL202"], capsys)[1] == [WRITE]
    assert codes(["models/evil", "--select", "TFL2"], capsys)[1] == [READ, WRITE]


def test_extend_select_and_extend_ignore_from_file(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(repo / ".tfmodel-lint.toml", 'select = ["TFL3"]\nextend-select = ["TFL2"]\nextend-ignore = ["TFL202"]\n')
    assert codes(["models/evil"], capsys)[1] == [READ]


def test_dashes_and_underscores_and_comma_strings(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path / ".tfmodel-lint.toml",
                            'extend_ignore = "TFL201, TFL3"\nfail-on = "HIGH"\nreport_unused_ignores = true\n'))
    assert cfg.values == {"extend_ignore": ("TFL201", "TFL3"), "fail_on": Severity.HIGH, "report_unused_ignores": True}


# -- unknown keys and invalid values ----------------------------------------------------

@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ('ignroe = ["TFL2"]\n', "unknown key 'ignroe' (did you mean 'ignore'?)"),
        ('per_file_ignore = {}\n', "unknown key 'per_file_ignore' (did you mean 'per-file-ignores'?)"),
        ('zzz = 1\n', "unknown key 'zzz'"),
        ('[[ignores]]\npath = "m"\ncodes = ["TFL2"]\nreason = "r"\nlocaton = "x"\n',
         "unknown key 'locaton' (did you mean 'location'?)"),
        ('[[ignores]]\npath = "m"\ncodes = ["TFL2"]\n', "needs a non-empty 'reason'"),
        ('[[ignores]]\npath = "m"\ncodes = ["TFL2"]\nreason = "  "\n', "needs a non-empty 'reason'"),
        ('[[ignores]]\npath = "m"\nreason = "r"\n', "needs 'codes'"),
        ('[[ignores]]\ncodes = ["TFL2"]\nreason = "r"\n', "needs a 'path' glob"),
        ('[[ignore]]\npath = "m"\ncodes = ["TFL2"]\nreason = "r"\n', "go in [[tool.tfmodel-lint.ignores]]"),
        ('fail-on = "catastrophic"\n', "fail-on: unknown severity"),
        ('select = [1, 2]\n', "select: must be a list of code prefixes"),
        ('select = ["tfl2"]\n', "select: 'tfl2' is not a rule code prefix (did you mean 'TFL2'?)"),
        ('per-file-ignores = ["x"]\n', "per-file-ignores: must be a table"),
        ('report-unused-ignores = "yes"\n', "must be true or false"),
        ('max-nodes = -1\n', "max-nodes: must not be negative"),
        ('jobs = 4\n', "'jobs' is a command-line option only"),
        ('follow-symlinks = true\n', "'follow-symlinks' is a command-line option only"),
        ('select = [\n', "invalid TOML"),
    ],
)
def test_invalid_config_is_a_usage_error(repo: Path, toml: str, message: str,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    path = write(repo / ".tfmodel-lint.toml", toml)
    with pytest.raises(ConfigError, match=None) as info:
        load_config(path)
    assert message in str(info.value)
    code, out, err = run_cli(["models/evil"], capsys)
    assert code == 2 and out == "" and message in err and str(path) in err


def test_unknown_key_in_pyproject_table(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(repo / "pyproject.toml", '[tool.tfmodel-lint]\nexlude = ["x"]\n')
    code, _, err = run_cli(["models/evil"], capsys)
    assert code == 2 and "unknown key 'exlude' (did you mean 'exclude'?)" in err


# -- per-file and targeted ignores ------------------------------------------------------

def test_per_file_ignores_longest_glob_wins(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(repo / ".tfmodel-lint.toml", '[per-file-ignores]\n"models/*" = ["TFL2"]\n"models/evil" = ["TFL201"]\n')
    code, found, data = codes(["models"], capsys)
    assert found == [WRITE] and code == 1
    assert data["summary"]["suppressed"] == 1  # type: ignore[index]
    write(repo / ".tfmodel-lint.toml", '[per-file-ignores]\n"models/*" = ["TFL2"]\n')
    assert codes(["models"], capsys)[1] == []


def test_globs_are_relative_to_the_config_file(repo: Path, monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    write(repo / ".tfmodel-lint.toml", '[per-file-ignores]\n"models/evil" = ["TFL201"]\n')
    monkeypatch.chdir(repo / "models")
    assert codes(["evil"], capsys)[1] == [WRITE]
    monkeypatch.chdir(repo / "models" / "evil")
    assert codes(["."], capsys)[1] == [WRITE]


def test_targeted_ignores_with_location_and_reason(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(repo / ".tfmodel-lint.toml", (
        '[[ignores]]\npath = "models/evil"\ncodes = ["TFL2"]\nlocation = "*/ReadFile"\n'
        'reason = "reads a file we ship; reviewed"\n'
    ))
    assert codes(["models"], capsys)[1] == [WRITE]
    write(repo / ".tfmodel-lint.toml", (
        '[[ignores]]\npath = "models/ev*"\ncodes = ["TFL202", "TFL201"]\nreason = "vendored model, sandboxed"\n'
        '[[ignores]]\npath = "models/evil"\ncodes = ["TFL2"]\nlocation = "*/NoSuchNode"\nreason = "never matches"\n'
    ))
    assert codes(["models"], capsys)[1] == []
    write(repo / "pyproject.toml", (
        '[[tool.tfmodel-lint.ignores]]\npath = "models/good"\ncodes = ["TFL2"]\nreason = "wrong model"\n'
    ))
    (repo / ".tfmodel-lint.toml").unlink()
    assert codes(["models"], capsys)[1] == [READ, WRITE]


def test_report_unused_ignores(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(repo / ".tfmodel-lint.toml", (
        '[per-file-ignores]\n"models/evil" = ["TFL202"]\n"old/*" = ["TFL2"]\n'
        '[[ignores]]\npath = "models/good"\ncodes = ["TFL201"]\nreason = "legacy exception"\n'
    ))
    code, out, _ = run_cli(["models"], capsys)
    assert "note:" not in out and code == 1
    code, out, _ = run_cli(["models", "--report-unused-ignores"], capsys)
    notes = [line for line in out.splitlines() if line.startswith("note:")]
    assert notes == [
        "note: per-file-ignores 'old/*' = ['TFL2'] matched no finding",
        "note: ignore ['TFL201'] for 'models/good' matched no finding (reason: legacy exception)",
    ]
    _, _, data = codes(["models", "--report-unused-ignores"], capsys)
    assert len(data["notes"]) == 2  # type: ignore[arg-type]
    # unused ignores fail the run only when --fail-on is low or lower
    assert run_cli(["models/good", "--report-unused-ignores"], capsys)[0] == 0
    assert run_cli(["models/good", "--report-unused-ignores", "--fail-on", "low"], capsys)[0] == 1
    write(repo / ".tfmodel-lint.toml", 'report-unused-ignores = true\n[per-file-ignores]\n"old/*" = ["TFL2"]\n')
    assert "note: per-file-ignores 'old/*'" in run_cli(["models/good"], capsys)[1]


# -- exclude -------------------------------------------------------------------------------

def test_exclude_when_searching_directories(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(repo / ".tfmodel-lint.toml", 'exclude = ["evil"]\n')
    _, found, data = codes(["models"], capsys)
    assert found == [] and [a["path"] for a in data["artifacts"]] == ["models/good"]  # type: ignore[union-attr]
    # a path named on the command line is linted anyway...
    assert codes(["models/evil"], capsys)[1] == [READ, WRITE]
    # ...unless --force-exclude (what the pre-commit hook passes)
    _, found, data = codes(["models/evil/saved_model.pb", "models/evil/variables/variables.index",
                            "--force-exclude"], capsys)
    assert found == [] and data["artifacts"] == []
    assert codes(["models", "--exclude", "good", "--force-exclude"], capsys)[1] == [READ, WRITE]  # CLI wins


def test_force_exclude_globs_match_paths_and_parents(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from tfmodel_lint.discovery import force_excluded as is_force_excluded

    assert is_force_excluded("models/evil/variables/variables.index", ["models/evil"])
    assert is_force_excluded("models/evil/saved_model.pb", ["models/*"])
    assert is_force_excluded("models/evil/saved_model.pb", ["evil"])  # a directory name
    assert is_force_excluded(str(repo / "models" / "evil" / "saved_model.pb"), ["models/evil/"])
    assert not is_force_excluded("models/evil/saved_model.pb", ["models/good", "*.h5"])
    assert not is_force_excluded("models/evil/saved_model.pb", [])


def test_skip_non_models(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(repo / "web" / "assets" / "logo.png", "not a model")
    write(repo / "models" / "evil" / "assets" / "vocab.txt", "a\nb\n")
    code, found, data = codes(["web/assets/logo.png", "models/evil/assets/vocab.txt", "--skip-non-models"], capsys)
    assert [a["path"] for a in data["artifacts"]] == ["models/evil"]  # type: ignore[union-attr]
    assert found == [READ, WRITE] and code == 1
    # named explicitly without the option, an unrecognised file is reported
    code, found, _ = codes(["web/assets/logo.png"], capsys)
    assert found and all(c.startswith("TFL9") for c in found)
    # all named files skipped: a clean, empty run
    code, found, data = codes(["web/assets/logo.png", "--skip-non-models"], capsys)
    assert (code, found, data["artifacts"]) == (0, [], [])


def test_baseline_from_config(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(["baseline", "create", "ci/tfmodel-lint-baseline.json", "models"], capsys)[0] == 2  # no ci/
    (repo / "ci").mkdir()
    assert run_cli(["baseline", "create", "ci/tfmodel-lint-baseline.json", "models"], capsys)[0] == 0
    cfg = write(repo / ".tfmodel-lint.toml", 'baseline = "ci/tfmodel-lint-baseline.json"\nsarif-root = ".."\n')
    assert load_config(cfg).values == {"baseline": repo / "ci" / "tfmodel-lint-baseline.json",
                                       "sarif_root": repo / ".."}
    code, out, _ = run_cli(["models"], capsys)
    assert code == 0 and out.splitlines()[-1] == "0 findings in 2 artifacts; 2 suppressed"
    assert run_cli(["models", "--baseline", "missing.json"], capsys)[0] == 2


@pytest.mark.parametrize(("text", "table"), [
    ('[project]\nname = "tfmodel-lint"\n[project.scripts]\ntfmodel-lint = "x:main"\n', None),
    ('[tool.ruff]\nline-length = 100\n', None),
    ('[tool.tfmodel-lint]\nfail_on = "high"\n', {"fail_on": "high"}),
    ('[tool . "tfmodel-lint"]\nfail_on = "low"\n', {"fail_on": "low"}),
    ("[tool.'tfmodel-lint'.rules.TFL201]\nx = 1\n", {"rules": {"TFL201": {"x": 1}}}),
    ('[tool]\ntfmodel-lint = { fail_on = "medium" }\n', {"fail_on": "medium"}),
    ('tool.tfmodel-lint.fail_on = "info"\n', {"fail_on": "info"}),
    ('[project]\nname = "x"\n[tool]\nruff = {}\n', None),
    # Spellings a text pre-filter once dropped, losing a configured ignore:
    ('tool = {tfmodel-lint = {ignore = ["TFL2"]}}\n', {"ignore": ["TFL2"]}),
    ('[tool]\ntfmodel-lint.ignore = ["TFL2"]\n', {"ignore": ["TFL2"]}),
    ('[tool]\n"tfmodel-lint".extend-ignore = ["TFL2"]\n', {"extend-ignore": ["TFL2"]}),
    ('[tool]\n"tfmodel\\u002dlint" = {ignore = ["TFL2"]}\n', {"ignore": ["TFL2"]}),
])
def test_pyproject_finds_every_spelling_of_the_table(tmp_path: Path, text: str,
                                                     table: dict[str, object] | None) -> None:
    """Every spelling TOML allows is found, and what it sets takes effect."""
    (tmp_path / ".git").mkdir()
    (tmp_path / "pyproject.toml").write_text(text, encoding="utf-8")
    found = find_config(tmp_path)
    if table is None:
        assert found is None
    else:
        assert found == tmp_path / "pyproject.toml"
        import tomllib

        assert tomllib.loads(text)["tool"]["tfmodel-lint"] == table
        values = load_config(found).values
        for key, value in table.items():
            dest = {"rules": "rule_options"}.get(key, key.replace("-", "_"))
            assert dest in values, (key, values)
            if key in ("ignore", "extend-ignore"):
                assert values[dest] == tuple(value)  # type: ignore[arg-type]


def test_ignore_in_an_inline_tool_table_takes_effect(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(repo / "pyproject.toml", 'tool = {tfmodel-lint = {ignore = ["TFL202"]}}\n')
    assert codes(["models/evil"], capsys)[1] == [READ]


# -- what the configuration switches off is itself reported (TFL910) -------------------

@pytest.mark.parametrize(("toml", "severity", "words"), [
    ('extend-ignore = ["TFL201"]\n', "medium", "1 security check for every model: TFL201 (file-read)"),
    ('ignore = ["TFL2"]\n', "medium", "TFL202 (file-write)"),
    ('extend-ignore = ["TFL1", "TFL2", "TFL3", "TFL4", "TFL5"]\n', "high", "TFL101 (code-execution-op)"),
    ('extend-ignore = ["TFL903"]\n', "high", "TFL903 (limit-exceeded)"),
    ('exclude = ["*"]\n', "high", "matches every model file"),
    ('[per-file-ignores]\n"*" = ["TFL2"]\n', "high", "per-file-ignores '*'"),
])
def test_configuration_that_switches_checks_off_is_reported(repo: Path, toml: str, severity: str, words: str,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    write(repo / ".tfmodel-lint.toml", toml)
    code, found, data = codes(["models", "--fail-on", "high"], capsys, audit=True)
    audit = [f for f in data["findings"] if f["code"] == "TFL910"]  # type: ignore[union-attr]
    assert audit, data["findings"]
    assert {f["severity"] for f in audit} == {severity} and any(words in f["message"] for f in audit), audit
    assert all(f["artifact"] == ".tfmodel-lint.toml" for f in audit)
    assert code == (1 if severity == "high" else (1 if READ in found or WRITE in found else 0))
    # The configuration cannot suppress it; the command line can; --isolated ignores the file.
    if toml.startswith(("extend-ignore", "ignore")):
        write(repo / ".tfmodel-lint.toml", toml.replace("]\n", ', "TFL910"]\n', 1))
    assert "TFL910" in codes(["models"], capsys, audit=True)[1]
    assert "TFL910" not in codes(["models", "--extend-ignore", "TFL910"], capsys, audit=True)[1]
    assert "TFL910" not in codes(["models", "--isolated"], capsys, audit=True)[1]


def test_signatures_that_remove_capabilities_are_reported(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(repo / "sigs.json", json.dumps({"schema_version": 1, "ops": {"ReadFile": {"categories": []}}}))
    write(repo / ".tfmodel-lint.toml", 'signatures = ["sigs.json"]\n')
    _, found, data = codes(["models"], capsys, audit=True)
    audit = [f for f in data["findings"] if f["code"] == "TFL910"]  # type: ignore[union-attr]
    assert READ not in found and audit and audit[0]["severity"] == "high" and "ReadFile" in audit[0]["message"]


def test_a_plain_configuration_is_not_reported(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(repo / ".tfmodel-lint.toml", 'fail-on = "high"\nexclude = ["tests/fixtures"]\n'
          '[per-file-ignores]\n"models/good" = ["TFL203"]\n')
    assert "TFL910" not in codes(["models"], capsys, audit=True)[1]


def _spelled(key: str, escapes: list[int], quote: str) -> str:
    """``key`` as a TOML key, characters written literally or as \\u/\\U escapes with
    lower- or upper-case hex digits (in basic strings only)."""
    if quote == "'":
        return f"'{key}'"
    forms = ("{c}", "\\u{o:04x}", "\\u{o:04X}", "\\U{o:08x}", "\\U{o:08X}")
    body = "".join(forms[esc].format(c=c, o=ord(c)) for c, esc in zip(key, escapes, strict=False))
    return f'"{body}"' if quote == '"' or body != key else key


@settings(max_examples=300, deadline=None)
@given(escapes=st.lists(st.integers(0, 4), min_size=12, max_size=12), quote=st.sampled_from(['"', "'", ""]),
       form=st.sampled_from(["table", "dotted", "inline", "subtable"]), noise=st.text(max_size=40))
def test_the_pyproject_prefilter_never_hides_what_tomllib_finds(escapes: list[int], quote: str, form: str,
                                                                  noise: str) -> None:
    """Whatever spelling TOML allows, when tomllib finds [tool.tfmodel-lint] the text
    pre-filter lets the file through (it only skips files tomllib would find nothing in)."""
    import tomllib

    from tfmodel_lint.config import may_hold_our_table

    key = _spelled("tfmodel-lint", escapes, quote)
    comment = "# " + noise.replace("\n", " ").replace("\r", " ") + "\n"
    text = comment + {
        "table": f'[tool.{key}]\nfail-on = "high"\n',
        "dotted": f'[tool]\n{key}.fail-on = "high"\n',
        "inline": f'tool = {{ {key} = {{ fail-on = "high" }} }}\n',
        "subtable": f'[tool.{key}.rules.TFL201]\nx = 1\n',
    }[form]
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return
    if "tfmodel-lint" in data.get("tool", {}):
        assert may_hold_our_table(text), text
