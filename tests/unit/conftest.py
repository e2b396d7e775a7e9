"""The unit tier: no network. Every test runs with sockets refused (``network.py``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .network import network_blocked


@pytest.fixture(autouse=True)
def no_network() -> Iterator[None]:
    with network_blocked():
        yield
