"""Shared test settings: no test may reach real AWS."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from support.synthesis import synthesize

if TYPE_CHECKING:
    from typer.testing import CliRunner

# Credentials that cannot work against AWS, set before any boto3 client exists.
for key, value in {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
    # Synthesize with -c values only: never with the steps or settings of a checkout's cdk.json.
    "S3FLOW_IGNORE_PROJECT_CONTEXT": "1",
}.items():
    os.environ[key] = value
os.environ.pop("AWS_PROFILE", None)
# The CLI sizes its tables for a terminal; captured, it uses its own width unless COLUMNS is
# set (pytest-xdist workers inherit COLUMNS=80 from a non-terminal controller).
os.environ.pop("COLUMNS", None)
os.environ.pop("LINES", None)


@pytest.fixture(scope="session")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``python app.py`` once per session, into a private folder (``cdk.out`` is shared).

    ``S3FLOW_E2E_CLOUD_ASSEMBLY`` names an already synthesized folder to use instead.
    """
    given = os.environ.get("S3FLOW_E2E_CLOUD_ASSEMBLY")
    if given:
        return Path(given)
    out = tmp_path_factory.mktemp("cdk.out")
    synthesize([sys.executable, "app.py"], env={"CDK_OUTDIR": str(out)})
    return out


@pytest.fixture
def runner() -> CliRunner:
    """Runs the ``s3flow`` command in-process (both tiers of the CLI tests)."""
    from typer.testing import CliRunner

    return CliRunner()
