"""Synthesizing the app for tests, as a user would: `python app.py` or the CDK CLI."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
CDK_CLI = REPO_ROOT / "node_modules" / ".bin" / "cdk"


def synthesize(command: Sequence[str], *, env: Mapping[str, str] | None = None) -> None:
    """Run a synthesis command from the repository root; a failure fails the test with its output."""
    result = subprocess.run(
        list(command),
        cwd=REPO_ROOT,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if result.returncode != 0:
        pytest.fail(f"{' '.join(command)} failed:\n{result.stdout}\n{result.stderr}")
