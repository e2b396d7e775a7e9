"""``s3flow init DIR``: the project written and listed, or one ``error:`` line."""

from __future__ import annotations

from pathlib import Path

import pytest

from s3flow.cli.main import app
from support.cli import one_error_line


def test_init_writes_the_project_and_says_what_to_run_next(runner, tmp_path: Path):
    result = runner.invoke(app, ["init", str(tmp_path / "acme-ingest"), "--package", "acme_steps"])

    assert result.exit_code == 0, result.output
    assert "project acme-ingest, steps package acme_steps" in result.output
    assert "  acme_steps/line_stats.py" in result.output and "  requirements.txt" in result.output
    assert "make test" in result.output and "make run" in result.output
    assert (tmp_path / "acme-ingest" / "acme_steps" / "line_stats.py").is_file()


@pytest.mark.parametrize(
    ("setup", "argv", "fragment"),
    [
        ("taken/notes.txt", ["taken"], "exists and is not empty: choose a new or empty folder"),
        ("", ["2fast"], "project name '2fast' must start with a letter"),
        ("", ["acme", "--package", "acme-steps"], "must be a lowercase Python identifier"),
        ("", ["boto3"], "package name 'boto3' is a dependency the project installs"),
    ],
    ids=["folder not empty", "bad project name", "bad package name", "shadows a dependency"],
)
def test_bad_input_is_refused_in_one_line(runner, tmp_path: Path, setup: str, argv: list[str], fragment: str):
    if setup:
        (tmp_path / setup).parent.mkdir(parents=True)
        (tmp_path / setup).write_text("mine")
    argv = [str(tmp_path / argv[0]), *argv[1:]]

    result = runner.invoke(app, ["init", *argv])

    assert result.exit_code == 1
    assert fragment in one_error_line(result.output)
