"""Helpers the CLI tests of both tiers share."""

from __future__ import annotations


def one_error_line(output: str) -> str:
    """The one ``error:`` line a failed command printed (and no traceback)."""
    assert "Traceback" not in output
    lines = [line for line in output.splitlines() if line.strip()]
    assert len(lines) == 1, output
    assert lines[0].startswith("error: "), output
    return lines[0]
