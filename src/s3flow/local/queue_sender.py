"""Failure destinations of the local runtime: JSON messages to an SQS queue of the emulator.

Used for the async invoker's on-failure records and the stream mappings' batch records alike.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import boto3

from s3flow.local.lambda_records import DUMMY_CREDENTIALS


class QueueSender:
    """Sends a JSON message to an SQS queue of the emulator, by queue ARN."""

    def __init__(self, endpoint_url: str) -> None:
        self.endpoint_url = endpoint_url
        self._client: Any = None

    def __call__(self, queue_arn: str, message: Mapping[str, Any]) -> None:
        _, _, _, region, account, name = queue_arn.split(":", 5)
        if self._client is None:
            self._client = boto3.session.Session(region_name=region).client(
                "sqs",
                endpoint_url=self.endpoint_url,
                aws_access_key_id=DUMMY_CREDENTIALS["AWS_ACCESS_KEY_ID"],
                aws_secret_access_key=DUMMY_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            )
        url = self._client.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)["QueueUrl"]
        self._client.send_message(QueueUrl=url, MessageBody=json.dumps(message))
