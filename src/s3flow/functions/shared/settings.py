"""Settings read once from the environment into a frozen dataclass."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from s3flow import contract
from s3flow.functions.shared.errors import ConfigurationError


@dataclass(frozen=True)
class Settings:
    table_name: str
    time_index_shards: int = contract.DEFAULT_TIME_INDEX_SHARDS
    environment: str = "dev"
    processing_steps: str = ""  # ``contract.ENV_PROCESSING_STEPS``; parsed by ``steps.registry``

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        if not env.get(contract.ENV_TABLE_NAME):
            raise ConfigurationError(f"missing environment variable(s): {contract.ENV_TABLE_NAME}")
        raw_shards = env.get(contract.ENV_TIME_INDEX_SHARDS) or str(contract.DEFAULT_TIME_INDEX_SHARDS)
        try:
            shards = int(raw_shards)
        except ValueError:
            shards = 0
        if shards < 1:
            raise ConfigurationError(
                f"{contract.ENV_TIME_INDEX_SHARDS} must be a positive integer, got {raw_shards!r}"
            )
        return cls(
            table_name=env[contract.ENV_TABLE_NAME],
            time_index_shards=shards,
            environment=env.get(contract.ENV_ENVIRONMENT) or "dev",
            processing_steps=(env.get(contract.ENV_PROCESSING_STEPS) or "").strip(),
        )


@dataclass(frozen=True)
class PublisherSettings:
    """The publisher function's settings: it reads records from the stream event, never the table."""

    event_bus_name: str
    environment: str = "dev"
    failure_queue_url: str | None = None  # where entries go that a retry would duplicate around
    put_concurrency: int = 1  # PutEvents calls in flight at once

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> PublisherSettings:
        env = os.environ if env is None else env
        if not env.get(contract.ENV_EVENT_BUS_NAME):
            raise ConfigurationError(f"missing environment variable(s): {contract.ENV_EVENT_BUS_NAME}")
        failure_queue_url = env.get(contract.ENV_PUBLISHER_FAILURE_QUEUE_URL) or None
        return cls(
            event_bus_name=env[contract.ENV_EVENT_BUS_NAME],
            environment=env.get(contract.ENV_ENVIRONMENT) or "dev",
            failure_queue_url=failure_queue_url,
            put_concurrency=_put_concurrency(env) if failure_queue_url else 1,
        )


def _put_concurrency(env: Mapping[str, str]) -> int:
    """``contract.PUBLISHER_PUT_CONCURRENCY`` or its variable. Only with the failure queue: chunks
    in flight together can be accepted behind one that fails, and only the queue keeps such a
    failure from a retry that would send them again (docs/data-model.md)."""
    raw = env.get(contract.ENV_PUBLISHER_PUT_CONCURRENCY) or str(contract.PUBLISHER_PUT_CONCURRENCY)
    if not raw.isdigit() or not 1 <= int(raw) <= contract.MAX_PUBLISHER_PUT_CONCURRENCY:
        raise ConfigurationError(
            f"{contract.ENV_PUBLISHER_PUT_CONCURRENCY} must be a whole number from 1 to "
            f"{contract.MAX_PUBLISHER_PUT_CONCURRENCY}, got {raw!r}"
        )
    return int(raw)
