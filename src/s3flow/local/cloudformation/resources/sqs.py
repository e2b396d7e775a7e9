"""``AWS::SQS::Queue`` and ``AWS::SQS::QueuePolicy``, created in moto."""

from __future__ import annotations

import json
from typing import Any

from s3flow.local.cloudformation.resources.base import Context, Created, ResourceType, sdk_value, tag_map
from s3flow.local.cloudformation.template import physical_name


def _queue(ctx: Context, logical_id: str, props: dict[str, Any]) -> Created:
    fifo = bool(props.get("FifoQueue"))
    name = props.get("QueueName") or (
        physical_name(ctx.stack, logical_id, max_length=75) + ".fifo"
        if fifo
        else physical_name(ctx.stack, logical_id, max_length=80)
    )
    attributes = {key: sdk_value(value) for key, value in props.items() if key not in ("QueueName", "Tags")}
    sqs = ctx.client("sqs")
    url = sqs.create_queue(QueueName=name, Attributes=attributes, tags=tag_map(props.get("Tags")))["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return Created(url, {"Arn": arn, "QueueName": name, "QueueUrl": url})


def _queue_policy(ctx: Context, logical_id: str, props: dict[str, Any]) -> Created:
    policy = json.dumps(props["PolicyDocument"])
    sqs = ctx.client("sqs")
    for url in props["Queues"]:
        sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": policy})
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        ctx.deployment.policies.add_resource(arn, props["PolicyDocument"])
    return Created(physical_name(ctx.stack, logical_id, max_length=128))


QUEUE = ResourceType(
    "AWS::SQS::Queue",
    known_properties=frozenset(
        [
            "QueueName",
            "DelaySeconds",
            "MaximumMessageSize",
            "MessageRetentionPeriod",
            "ReceiveMessageWaitTimeSeconds",
            "VisibilityTimeout",
            "KmsMasterKeyId",
            "KmsDataKeyReusePeriodSeconds",
            "SqsManagedSseEnabled",
            "FifoQueue",
            "ContentBasedDeduplication",
            "DeduplicationScope",
            "FifoThroughputLimit",
            "RedrivePolicy",
            "RedriveAllowPolicy",
            "Tags",
        ]
    ),
    create=_queue,
)
QUEUE_POLICY = ResourceType(
    "AWS::SQS::QueuePolicy",
    known_properties=frozenset({"Queues", "PolicyDocument"}),
    create=_queue_policy,
)
