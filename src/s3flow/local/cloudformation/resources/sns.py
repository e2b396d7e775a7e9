"""``AWS::SNS::Topic``, ``AWS::SNS::TopicPolicy`` and ``AWS::SNS::Subscription``, created in moto."""

from __future__ import annotations

import json
from typing import Any

from s3flow.local.cloudformation.resources.base import Context, Created, ResourceType, sdk_value
from s3flow.local.cloudformation.template import physical_name


def _topic(ctx: Context, logical_id: str, props: dict[str, Any]) -> Created:
    fifo = bool(props.get("FifoTopic"))
    name = props.get("TopicName") or (
        physical_name(ctx.stack, logical_id, max_length=251) + ".fifo"
        if fifo
        else physical_name(ctx.stack, logical_id, max_length=256)
    )
    attributes = {
        key: sdk_value(value)
        for key, value in props.items()
        if key in ("DisplayName", "KmsMasterKeyId", "FifoTopic", "ContentBasedDeduplication", "TracingConfig")
    }
    sns = ctx.client("sns")
    args: dict[str, Any] = {"Name": name, "Attributes": attributes}
    if props.get("Tags"):
        args["Tags"] = props["Tags"]
    arn = sns.create_topic(**args)["TopicArn"]
    for subscription in props.get("Subscription", []):
        sns.subscribe(TopicArn=arn, Protocol=subscription["Protocol"], Endpoint=subscription["Endpoint"])
    return Created(arn, {"TopicArn": arn, "TopicName": name})


def _topic_policy(ctx: Context, logical_id: str, props: dict[str, Any]) -> Created:
    policy = json.dumps(props["PolicyDocument"])
    for arn in props["Topics"]:
        ctx.client("sns").set_topic_attributes(TopicArn=arn, AttributeName="Policy", AttributeValue=policy)
        ctx.deployment.policies.add_resource(arn, props["PolicyDocument"])
    return Created(physical_name(ctx.stack, logical_id, max_length=128))


def _subscription(ctx: Context, logical_id: str, props: dict[str, Any]) -> Created:
    attributes = {
        key: sdk_value(value)
        for key, value in props.items()
        if key not in ("TopicArn", "Protocol", "Endpoint", "Region")
    }
    arn = ctx.client("sns").subscribe(
        TopicArn=props["TopicArn"],
        Protocol=props["Protocol"],
        Endpoint=props["Endpoint"],
        Attributes=attributes,
        ReturnSubscriptionArn=True,
    )["SubscriptionArn"]
    return Created(arn)


TOPIC = ResourceType(
    "AWS::SNS::Topic",
    known_properties=frozenset(
        [
            "TopicName",
            "DisplayName",
            "KmsMasterKeyId",
            "FifoTopic",
            "ContentBasedDeduplication",
            "Tags",
            "TracingConfig",
            "Subscription",
        ]
    ),
    create=_topic,
)
TOPIC_POLICY = ResourceType(
    "AWS::SNS::TopicPolicy",
    known_properties=frozenset({"Topics", "PolicyDocument"}),
    create=_topic_policy,
)
SUBSCRIPTION = ResourceType(
    "AWS::SNS::Subscription",
    known_properties=frozenset(
        [
            "TopicArn",
            "Protocol",
            "Endpoint",
            "Region",
            "FilterPolicy",
            "FilterPolicyScope",
            "RawMessageDelivery",
            "RedrivePolicy",
            "DeliveryPolicy",
            "SubscriptionRoleArn",
        ]
    ),
    create=_subscription,
)
