"""The options table is the one source of truth: the parser, the configuration keys and
``Settings`` come from it; a library call from a thread is told the time budget is off."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from tests.helpers import lint, run_cli
from tfmodel_lint._records import fields
from tfmodel_lint.findings import NoteKind
from tfmodel_lint.limits import Limits
from tfmodel_lint.options import BY_KEY, CONFIG_KEYS, OPTIONS, build_parser
from tfmodel_lint.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
MALICIOUS = ROOT / "examples" / "models" / "malicious_reader"
#: Settings fields that are not options: derived by the pipeline itself.
DERIVED = {"from_config"}


def test_every_settings_field_is_an_option_and_every_option_a_field() -> None:
    dests = {o.dest.split(".", 1)[0] for o in OPTIONS}
    names = {f.name for f in fields(Settings)}
    assert dests | DERIVED == names
    assert {o.name for o in OPTIONS if o.dest.startswith("limits.")} == set(Limits.names())


def test_every_command_line_option_is_in_the_parser_and_nothing_else() -> None:
    parser = build_parser()
    dests = {a.dest for a in parser._actions} - {"help", "paths", "version"}
    assert dests == {o.dest for o in OPTIONS if o.cli}


def test_every_config_key_is_an_option_and_command_line_only_ones_are_not_keys() -> None:
    assert all(option.config for option in CONFIG_KEYS.values())
    for option in OPTIONS:
        if not option.config:
            assert option.key not in CONFIG_KEYS
    for key in ("jobs", "follow-symlinks", "config", "isolated", "format"):
        assert key not in CONFIG_KEYS


@pytest.mark.parametrize("argv", [["--out", "json"], ["--form", "json"], ["--select", "XYZ"],
                                  ["--select", "tfl2"], ["--extend-ignore", "TFX9"]])
def test_abbreviations_and_unknown_prefixes_are_usage_errors(argv: list[str],
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli([str(MALICIOUS), *argv], capsys)
    assert code == 2 and not out, err


def test_unknown_prefix_error_suggests_the_known_one(capsys: pytest.CaptureFixture[str]) -> None:
    _, _, err = run_cli([str(MALICIOUS), "--select", "tfl2"], capsys)
    assert "did you mean 'TFL2'" in err
    _, _, err = run_cli([str(MALICIOUS), "--ignore", "TFL29"], capsys)
    assert "'TFL29' matches no installed rule" in err


def test_jobs_is_capped_at_the_cpu_count(capsys: pytest.CaptureFixture[str]) -> None:
    import os

    from tfmodel_lint.settings import make_settings

    assert make_settings({"jobs": 100_000}).jobs == (os.cpu_count() or 1)
    assert make_settings({"jobs": 0}).jobs == (os.cpu_count() or 1)


def test_library_call_from_a_thread_says_the_time_budget_is_off() -> None:
    out: list[object] = []
    thread = threading.Thread(target=lambda: out.append(lint(MALICIOUS)))
    thread.start()
    thread.join()
    (result,) = out
    notes = [n for n in result.notes if n.kind is NoteKind.LIMITATION]  # type: ignore[attr-defined]
    assert notes and "not enforced" in str(notes[0]) and "outside the main thread" in str(notes[0])
    assert {f.code for f in result.findings} >= {"TFL201"}  # type: ignore[attr-defined]
    main_thread = lint(MALICIOUS)
    assert not [n for n in main_thread.notes if n.kind is NoteKind.LIMITATION]


def test_the_readme_documents_every_option_as_the_table_says() -> None:
    """README.md's options table is generated from the table (``options.markdown_table``);
    the limits have their own table, which names every limit."""
    from tfmodel_lint.options import markdown_table

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = readme.split("<!-- options:begin -->\n", 1)[1].split("<!-- options:end -->", 1)[0]
    assert block == markdown_table(), "regenerate: python -c 'from tfmodel_lint.options import markdown_table; " \
        "print(markdown_table())'"
    for name in Limits.names():
        assert f"`{name.replace('_', '-')}`" in readme, name
    assert set(BY_KEY) >= {name.replace("_", "-") for name in Limits.names()}
