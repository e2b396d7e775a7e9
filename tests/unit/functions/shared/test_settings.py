"""Settings come from the environment once, with defaults and loud errors."""

from __future__ import annotations

import dataclasses

import pytest

from s3flow import contract
from s3flow.functions.shared.errors import ConfigurationError
from s3flow.functions.shared.settings import PublisherSettings, Settings

REQUIRED = {contract.ENV_TABLE_NAME: "table"}


def test_defaults() -> None:
    settings = Settings.from_env(REQUIRED)

    assert settings == Settings("table", contract.DEFAULT_TIME_INDEX_SHARDS, "dev")


def test_all_values_read() -> None:
    env = {
        **REQUIRED,
        contract.ENV_TIME_INDEX_SHARDS: "16",
        contract.ENV_ENVIRONMENT: "prod",
        contract.ENV_PROCESSING_STEPS: " a.b:c ",
    }

    assert Settings.from_env(env) == Settings("table", 16, "prod", "a.b:c")


@pytest.mark.parametrize("shards", ["0", "-2", "four"])
def test_bad_shard_counts_are_refused(shards: str) -> None:
    with pytest.raises(ConfigurationError, match=contract.ENV_TIME_INDEX_SHARDS):
        Settings.from_env({**REQUIRED, contract.ENV_TIME_INDEX_SHARDS: shards})


def test_a_missing_table_name_is_reported() -> None:
    with pytest.raises(ConfigurationError, match=contract.ENV_TABLE_NAME):
        Settings.from_env({contract.ENV_EVENT_BUS_NAME: "bus"})


def test_the_processor_needs_no_event_bus() -> None:
    # It only writes the table; the publisher function reads the bus name.
    settings = Settings.from_env(REQUIRED)

    assert not hasattr(settings, "event_bus_name")


def test_settings_are_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        Settings.from_env(REQUIRED).table_name = "other"  # type: ignore[misc]


def test_publisher_settings() -> None:
    env = {contract.ENV_EVENT_BUS_NAME: "bus", contract.ENV_ENVIRONMENT: "prod"}

    assert PublisherSettings.from_env(env) == PublisherSettings("bus", "prod")
    assert PublisherSettings.from_env({contract.ENV_EVENT_BUS_NAME: "bus"}).environment == "dev"
    with pytest.raises(ConfigurationError):
        PublisherSettings.from_env({contract.ENV_TABLE_NAME: "table"})
