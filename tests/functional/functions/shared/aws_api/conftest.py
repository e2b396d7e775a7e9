"""Fixtures of the ``JsonApiClient`` tests: clients whose calls are observed, backoff pauses
recorded instead of slept, and a scripted server."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from s3flow.functions.shared.aws_api import client as client_module
from s3flow.functions.shared.aws_api.client import JsonApiClient
from s3flow.functions.shared.aws_api.services import Service
from s3flow.functions.shared.backoff import Backoff

from .support import Observed, ScriptedServer, base_environ


@pytest.fixture(autouse=True)
def pauses(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Pauses a client with the default backoff would have slept (it sleeps none here)."""
    recorded: list[float] = []
    monkeypatch.setattr(
        client_module, "Backoff", lambda attempts: Backoff(attempts=attempts, sleep=recorded.append)
    )
    return recorded


@pytest.fixture
def observed() -> Observed:
    return Observed()


@pytest.fixture
def clients(observed: Observed) -> Iterator[Callable[..., JsonApiClient]]:
    """``make(service, url, backoff=..., **environ)``: a client whose calls ``observed`` records."""
    made: list[JsonApiClient] = []

    def make(service: Service, url: str, backoff: Backoff | None = None, **environ: str) -> JsonApiClient:
        client = JsonApiClient(service, environ={**base_environ(url), **environ}, backoff=backoff)
        client.observers.append(observed)
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    scripted = ScriptedServer()
    yield scripted
    scripted.stop()
