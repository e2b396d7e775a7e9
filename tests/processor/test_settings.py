"""Settings come from the environment once, with defaults and loud errors."""

from __future__ import annotations

import dataclasses

import pytest

from s3flow import contract
from s3flow.processor.exceptions import ConfigurationError
from s3flow.processor.settings import Settings

REQUIRED = {contract.ENV_TABLE_NAME: "table", contract.ENV_EVENT_BUS_NAME: "bus"}


def test_defaults() -> None:
    settings = Settings.from_env(REQUIRED)

    assert settings == Settings("table", "bus", contract.DEFAULT_TIME_INDEX_SHARDS, "dev")


def test_all_values_read() -> None:
    env = {
        **REQUIRED,
        contract.ENV_TIME_INDEX_SHARDS: "16",
        contract.ENV_ENVIRONMENT: "prod",
        contract.ENV_PROCESSING_STEPS: " a.b:c ",
    }

    assert Settings.from_env(env) == Settings("table", "bus", 16, "prod", "a.b:c")


@pytest.mark.parametrize("shards", ["0", "-2", "four"])
def test_bad_shard_counts_are_refused(shards: str) -> None:
    with pytest.raises(ConfigurationError, match=contract.ENV_TIME_INDEX_SHARDS):
        Settings.from_env({**REQUIRED, contract.ENV_TIME_INDEX_SHARDS: shards})


def test_missing_names_are_all_reported() -> None:
    with pytest.raises(ConfigurationError) as raised:
        Settings.from_env({})

    assert contract.ENV_TABLE_NAME in str(raised.value) and contract.ENV_EVENT_BUS_NAME in str(raised.value)


def test_settings_are_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        Settings.from_env(REQUIRED).table_name = "other"  # type: ignore[misc]
