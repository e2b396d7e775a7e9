"""Fixture for the load tier: the app synthesized once into a private folder."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``python app.py`` into a private folder (``cdk.out`` is shared and rewritten), or
    ``S3FLOW_E2E_CLOUD_ASSEMBLY`` if set."""
    given = os.environ.get("S3FLOW_E2E_CLOUD_ASSEMBLY")
    if given:
        return Path(given)
    out = tmp_path_factory.mktemp("cdk.out")
    result = subprocess.run(
        [sys.executable, "app.py"],
        cwd=REPO_ROOT,
        env={**os.environ, "CDK_OUTDIR": str(out)},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if result.returncode != 0:
        pytest.fail(f"synthesis failed:\n{result.stdout}\n{result.stderr}")
    return out
