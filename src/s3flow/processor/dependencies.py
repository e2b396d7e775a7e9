"""Everything the handler needs from outside, built once per container and reused."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import botocore.session

from s3flow.processor.backoff import Backoff
from s3flow.processor.settings import Settings

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3 import S3Client


@dataclass(frozen=True)
class Dependencies:
    settings: Settings
    dynamodb: DynamoDBClient | Any
    backoff: Backoff
    region: str | None
    # Only processing steps read objects: the S3 client is created on first use.
    s3: Callable[[], S3Client | Any]


@functools.cache
def dependencies() -> Dependencies:
    """Settings from the environment and botocore clients with default resolution.

    ``AWS_ENDPOINT_URL`` (or a service-specific one) therefore points the clients at a
    local emulator. Cached: tests call ``dependencies.cache_clear()`` after changing env.
    botocore, not boto3: importing boto3 also loads s3transfer and its resource layer, about
    30 ms of a cold start that nothing here uses.
    """
    settings = Settings.from_env()
    session = botocore.session.get_session()
    return Dependencies(
        settings=settings,
        dynamodb=session.create_client("dynamodb"),
        backoff=Backoff(),
        region=session.get_config_variable("region"),
        s3=functools.cache(lambda: session.create_client("s3")),
    )
