"""Fixtures of the local runtime's tests: an empty failure queue, and runtimes stopped after the test."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
import requests

from s3flow.local.lambda_.runtime import LambdaRuntime
from s3flow.local.server import LocalServer

from .runtime_support import QUEUE, REGION


@pytest.fixture
def sqs(server: LocalServer) -> Any:
    """An empty failure queue (the emulator is reset first)."""
    requests.post(f"{server.endpoint_url}/moto-api/reset", timeout=60).raise_for_status()
    client = boto3.client("sqs", endpoint_url=server.endpoint_url, region_name=REGION)
    client.create_queue(QueueName=QUEUE)
    return client


@pytest.fixture
def runtimes(server: LocalServer) -> Iterator[list[LambdaRuntime]]:
    started: list[LambdaRuntime] = []
    yield started
    for runtime in started:
        runtime.stop()
