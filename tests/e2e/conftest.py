"""Fixtures for the e2e tier: the app synthesized once, and pipelines on free ports."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from s3flow.local.pipeline import FlowEvent, LocalPipeline

REPO_ROOT = Path(__file__).resolve().parents[2]
STACK_NAME = "TapStackdev"
# Seconds before each async retry: Lambda waits minutes, the tests cannot.
FAST_RETRIES = (0.2, 0.4)


@pytest.fixture(scope="session")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``python app.py`` into a private folder (``cdk.out`` is shared and rewritten).

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


class Running:
    """A started pipeline, the flow it reported, and clients for its endpoint."""

    def __init__(self, pipeline: LocalPipeline, flows: list[FlowEvent]) -> None:
        self.pipeline = pipeline
        self.flows = flows
        self.outputs = pipeline.deployment.outputs

    def client(self, service: str) -> Any:
        return boto3.client(service, endpoint_url=self.pipeline.endpoint_url, region_name="us-east-1")

    def kinds(self, key: str) -> list[str]:
        return [str(flow.kind) for flow in self.flows if flow.key == key]


@pytest.fixture
def start_pipeline(synthesized: Path) -> Iterator[Callable[..., Running]]:
    """Starts a pipeline on a free port (each test its own emulator); stops it afterwards."""
    started: list[LocalPipeline] = []

    def start(**kwargs: Any) -> Running:
        flows: list[FlowEvent] = []
        pipeline = LocalPipeline(
            synthesized,
            STACK_NAME,
            port=0,
            concurrency=2,
            on_flow=flows.append,
            retry_delays=FAST_RETRIES,
            **kwargs,
        )
        pipeline.start()
        started.append(pipeline)
        return Running(pipeline, flows)

    yield start
    for pipeline in started:
        pipeline.stop()
