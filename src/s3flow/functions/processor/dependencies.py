"""Everything the handler needs from outside, built once per container and reused."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from s3flow.functions.shared.aws_api import DYNAMODB, JsonApiClient
from s3flow.functions.shared.backoff import Backoff
from s3flow.functions.shared.settings import Settings

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


@dataclass(frozen=True)
class Dependencies:
    settings: Settings
    dynamodb: JsonApiClient
    backoff: Backoff
    region: str | None
    # Only processing steps read objects: the S3 client is created on first use.
    s3: Callable[[], S3Client | Any]


@functools.cache
def dependencies() -> Dependencies:
    """Settings and the DynamoDB client from the environment, as Lambda sets it.

    ``AWS_ENDPOINT_URL`` (or a service-specific one) points the clients at a local emulator.
    Cached: tests call ``dependencies.cache_clear()`` after changing env. The table is written
    through ``aws_api`` (no botocore import on a cold start); steps that read objects get a
    botocore S3 client, created on their first read.
    """
    settings = Settings.from_env()
    dynamodb = JsonApiClient(DYNAMODB)
    return Dependencies(
        settings=settings,
        dynamodb=dynamodb,
        backoff=Backoff(),
        region=dynamodb.region,
        s3=functools.cache(_s3_client),
    )


def _s3_client() -> S3Client:
    import botocore.session  # only processing steps read objects

    client: S3Client = botocore.session.get_session().create_client("s3")
    return client
