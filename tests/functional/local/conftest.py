"""Fixtures for the local tier: an emulator over real HTTP and the synthesized app.

``moto_endpoint``: the URL of a moto server on loopback (one per test module, state reset
before every test). ``cloud_assembly``: a folder holding the app synthesized once per session.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from moto.server import ThreadedMotoServer

from s3flow.local.server import LocalServer

REPO_ROOT = Path(__file__).resolve().parents[3]
STACK_NAME = "TapStackdev"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def moto_server() -> Iterator[str]:
    """A moto server for the module; prefer ``moto_endpoint``, which also resets it."""
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@pytest.fixture
def moto_endpoint(moto_server: str) -> str:
    """The module's moto server, emptied of whatever earlier tests created."""
    requests.post(f"{moto_server}/moto-api/reset", timeout=10).raise_for_status()
    return moto_server


@pytest.fixture(scope="session")
def stack_name() -> str:
    return STACK_NAME


@pytest.fixture(scope="session")
def cloud_assembly(synthesized: Path) -> Path:
    """The synthesized app (tests/conftest.py), under the name the provisioning tests use."""
    return synthesized


@pytest.fixture(scope="module")
def server() -> Iterator[LocalServer]:
    """Our emulator (moto behind the middleware) on a free port, one per test module."""
    local = LocalServer(port=0)
    local.start()
    yield local
    local.stop()
