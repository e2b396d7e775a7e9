"""Everything the handler needs from outside, built once per container and reused."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import boto3

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
    """Settings from the environment and boto3 clients with default resolution.

    ``AWS_ENDPOINT_URL`` (or a service-specific one) therefore points the clients at a
    local emulator. Cached: tests call ``dependencies.cache_clear()`` after changing env.
    """
    settings = Settings.from_env()
    session = boto3.session.Session()
    return Dependencies(
        settings=settings,
        dynamodb=session.client("dynamodb"),
        backoff=Backoff(),
        region=session.region_name,
        s3=functools.cache(lambda: session.client("s3")),
    )
