"""Fixtures of the event source tests: ``stream``, a table with a stream on the module's emulator."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from s3flow.local.server import LocalServer

from .stream_support import Stream


@pytest.fixture
def stream(server: LocalServer, tmp_path: Path) -> Iterator[Stream]:
    requests.post(f"{server.endpoint_url}/moto-api/reset", timeout=60).raise_for_status()
    made = Stream(server, tmp_path / "calls.jsonl")
    yield made
    made.close()
