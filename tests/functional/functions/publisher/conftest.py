"""Fixtures of the publisher handler tests (on moto, through ``aws`` in the functions conftest)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from s3flow import contract
from s3flow.functions.publisher import handler as publish_handler
from s3flow.functions.publisher import outbox
from s3flow.functions.shared.backoff import Backoff
from support.functions import Sleeps

from ..support import Aws
from .handler_support import PutEventsCalls


@pytest.fixture
def put_events(aws: Aws, monkeypatch: pytest.MonkeyPatch, sleeps: Sleeps) -> Iterator[PutEventsCalls]:
    """The publisher's environment (no table name: it must not need one) and its client's calls."""
    monkeypatch.delenv(contract.ENV_TABLE_NAME)
    monkeypatch.setattr(publish_handler, "Backoff", lambda: Backoff(sleep=sleeps))
    monkeypatch.setattr(publish_handler, "_published", outbox.RecentlyPublished())  # a fresh container
    publish_handler.publisher_dependencies.cache_clear()
    calls = PutEventsCalls()
    calls.install(publish_handler.publisher_dependencies().events, monkeypatch)
    yield calls
    publish_handler.publisher_dependencies.cache_clear()
