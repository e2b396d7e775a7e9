"""The AWS/* metrics the stack's alarms watch, written into the emulator as AWS publishes them.

On AWS, Lambda and SQS publish these themselves; moto publishes none. Locally:

- ``AWS/Lambda Errors`` (dimension ``FunctionName``): 1 per attempt of an asynchronous
  invocation that ended in a function error, as Lambda counts "invocations that result in a
  function error" (https://docs.aws.amazon.com/lambda/latest/dg/monitoring-metrics-types.html).
  The runtime reports only asynchronous invocations to its listeners, so the errors of
  functions invoked synchronously by a stream mapping (the publisher) are not counted.
- ``AWS/SQS ApproximateNumberOfMessagesVisible`` (dimension ``QueueName``): the queue's
  ``ApproximateNumberOfMessages`` attribute, read before each alarm evaluation, as SQS sends
  its metrics to CloudWatch periodically
  (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-available-cloudwatch-metrics.html).

Not written locally (alarms on them see missing data): Lambda ``Throttles`` (the local
runtime queues instead of throttling) and ``IteratorAge``, SQS
``ApproximateAgeOfOldestMessage`` (no queue attribute holds it), EventBridge
``FailedInvocations``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from s3flow.local.cloudwatch.alarms import AlarmRule
from s3flow.local.credentials import LazyClient
from s3flow.local.lambda_.invocation import Invocation
from s3flow.local.lambda_.runtime import Listener
from s3flow.local.lambda_.sandbox import Outcome

log = logging.getLogger(__name__)

LAMBDA_NAMESPACE = "AWS/Lambda"
SQS_NAMESPACE = "AWS/SQS"
QUEUE_DEPTH = "ApproximateNumberOfMessagesVisible"
CONDITION_RETRIES_EXHAUSTED = "RetriesExhausted"  # the last attempt failed; an age-out ran none


class LambdaErrors(Listener):
    """Puts ``AWS/Lambda Errors`` for each failed attempt the runtime reports."""

    def __init__(self, client_factory: Callable[[], Any]) -> None:
        self._client = LazyClient(client_factory)

    def retrying(self, invocation: Invocation, outcome: Outcome, delay: float) -> None:
        self._error(invocation)

    def failed(self, invocation: Invocation, condition: str) -> None:
        if condition == CONDITION_RETRIES_EXHAUSTED:
            self._error(invocation)

    def _error(self, invocation: Invocation) -> None:
        datum = {
            "MetricName": "Errors",
            "Dimensions": [{"Name": "FunctionName", "Value": invocation.function.name}],
            "Timestamp": datetime.now(UTC),
            "Value": 1.0,
            "Unit": "Count",
        }
        try:
            self._client().put_metric_data(Namespace=LAMBDA_NAMESPACE, MetricData=[datum])
        except Exception:
            log.warning("could not put AWS/Lambda Errors", exc_info=True)


def put_queue_depths(rules: Iterable[AlarmRule], *, sqs: Any, cloudwatch: Any) -> None:
    """Puts the current depth of every queue an alarm watches the depth of."""
    queues = {
        value
        for rule in rules
        if (rule.namespace, rule.metric_name) == (SQS_NAMESPACE, QUEUE_DEPTH)
        for name, value in rule.dimensions
        if name == "QueueName"
    }
    for queue in sorted(queues):
        try:
            url = sqs.get_queue_url(QueueName=queue)["QueueUrl"]
            attributes = sqs.get_queue_attributes(
                QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"]
            )
            depth = float(attributes["Attributes"]["ApproximateNumberOfMessages"])
            datum = {
                "MetricName": QUEUE_DEPTH,
                "Dimensions": [{"Name": "QueueName", "Value": queue}],
                "Timestamp": datetime.now(UTC),
                "Value": depth,
                "Unit": "Count",
            }
            cloudwatch.put_metric_data(Namespace=SQS_NAMESPACE, MetricData=[datum])
        except Exception:
            log.warning("could not put the depth of queue %s", queue, exc_info=True)
