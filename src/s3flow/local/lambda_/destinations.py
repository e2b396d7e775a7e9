"""Failure destinations of the local runtime: JSON messages to an SQS queue of the emulator.

Used for the async invoker's on-failure records and the stream mappings' batch records alike.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from s3flow.local.credentials import emulator_client


class QueueSender:
    """Sends a JSON message to an SQS queue of the emulator, by queue ARN."""

    def __init__(self, endpoint_url: str) -> None:
        self.endpoint_url = endpoint_url
        self._client: Any = None

    def __call__(self, queue_arn: str, message: Mapping[str, Any]) -> None:
        _, _, _, region, account, name = queue_arn.split(":", 5)
        if self._client is None:
            self._client = emulator_client("sqs", endpoint_url=self.endpoint_url, region=region)
        url = self._client.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)["QueueUrl"]
        self._client.send_message(QueueUrl=url, MessageBody=json.dumps(message))
