"""Every command's remaining options given garbage: one ``error:`` line, non-zero exit, no
traceback (tests/unit/cli/test_errors.py covers the shared cases)."""

from __future__ import annotations

import pytest

from s3flow.cli.main import app
from support.cli import one_error_line


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["records", "--since", ""], "cannot read time ''"),
        (["records", "--until", "yesterday-ish"], "cannot read time 'yesterday-ish'"),
        (["events", "--since", "soon"], "cannot read time 'soon'"),
        (["events", "--limit", "0"], "'--limit'"),
        (["traces", "--limit", "-3"], "'--limit'"),
        (["metrics", "--since", "1970-13-45"], "cannot read time '1970-13-45'"),
        (["metrics", "--since", "-1h", "--until", "-2h"], "is before --since"),
        (["metrics", "--period", "0"], "'--period'"),
        (["failures", "--bogus"], "No such option: --bogus"),
        (["redrive", "--force"], "No such option: --force"),
        (["backfill", "--since", "-1h"], "No such option: --since"),
        (["put", "a.txt", "--prefix"], "requires an argument"),
        (["local", "up", "--concurrency", "0"], "'--concurrency'"),
        (["local", "down"], "No such command"),
        (["demo", "--port", "-1"], "'--port'"),
    ],
    ids=lambda value: " ".join(value)[:40] if isinstance(value, list) else None,
)
def test_bad_arguments_are_one_line(runner, argv, fragment):
    result = runner.invoke(app, argv)

    assert result.exit_code != 0
    assert fragment in one_error_line(result.output)
