"""Shared test settings: no test may reach real AWS."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from typer.testing import CliRunner

# Credentials that cannot work against AWS, set before any boto3 client exists.
for key, value in {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
}.items():
    os.environ[key] = value
os.environ.pop("AWS_PROFILE", None)


REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``python app.py`` once per session, into a private folder (``cdk.out`` is shared).

    ``S3FLOW_E2E_CLOUD_ASSEMBLY`` names an already synthesized folder to use instead.
    """
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


@pytest.fixture
def runner() -> CliRunner:
    """Runs the ``s3flow`` command in-process (both tiers of the CLI tests)."""
    from typer.testing import CliRunner

    return CliRunner()
