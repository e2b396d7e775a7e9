"""Fixtures for the e2e tier: the app synthesized once, and pipelines on free ports."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from s3flow.local.pipeline import FlowEvent, FlowKind, LocalPipeline

REPO_ROOT = Path(__file__).resolve().parents[2]
STACK_NAME = "TapStackdev"
# Seconds before each async retry: Lambda waits minutes, the tests cannot.
FAST_RETRIES = (0.2, 0.4)


class Running:
    """A started pipeline, the flow it reported, and clients for its endpoint."""

    def __init__(self, pipeline: LocalPipeline, flows: list[FlowEvent]) -> None:
        self.pipeline = pipeline
        self.flows = flows
        self.outputs = pipeline.deployment.outputs

    def client(self, service: str) -> Any:
        return boto3.client(service, endpoint_url=self.pipeline.endpoint_url, region_name="us-east-1")

    def kinds(self, key: str) -> list[str]:
        """The object's journey: every flow step of it but the functions' log lines."""
        return [str(flow.kind) for flow in self.flows if flow.key == key and flow.kind != FlowKind.LOGGED]

    def logged(self, key: str) -> list[str]:
        """The warnings and errors the functions logged about the object."""
        return [flow.detail for flow in self.flows if flow.key == key and flow.kind == FlowKind.LOGGED]


@pytest.fixture(scope="module")
def s3flow_cloud_assembly(synthesized: Path) -> Path:
    """The plugin's ``s3flow_pipeline`` runs the app synthesized for this session (``cdk.out``
    is shared with whoever synthesizes next)."""
    return synthesized


@pytest.fixture
def start_pipeline(synthesized: Path) -> Iterator[Callable[..., Running]]:
    """Starts a pipeline on a free port (each test its own emulator), of the synthesized app
    or of the ``cloud_assembly`` given; stops it afterwards."""
    started: list[LocalPipeline] = []

    def start(cloud_assembly: Path | None = None, **kwargs: Any) -> Running:
        flows: list[FlowEvent] = []
        pipeline = LocalPipeline(
            cloud_assembly or synthesized,
            STACK_NAME,
            port=0,
            concurrency=2,
            on_flow=flows.append,
            **{"retry_delays": FAST_RETRIES, **kwargs},
        )
        pipeline.start()
        started.append(pipeline)
        return Running(pipeline, flows)

    yield start
    for pipeline in started:
        pipeline.stop()
