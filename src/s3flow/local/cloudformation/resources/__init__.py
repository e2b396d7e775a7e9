"""The resource types the local emulator supports: one registry, built from one module per
service. Each module holds its types whole: the properties it knows and how to create them.

Anything not in the registry, including any other ``Custom::`` type, raises
:class:`~s3flow.local.cloudformation.errors.UnsupportedResourceError` naming the type and
logical id, and a property its type does not know raises it too, naming the property:
nothing is skipped silently. Adding a type: its ``ResourceType`` in its service's module, and
one line below.
"""

from __future__ import annotations

from s3flow.local.cloudformation.resources import (
    cdk,
    cloudwatch,
    dynamodb,
    events,
    iam,
    kms,
    lambda_,
    logs,
    s3,
    sns,
    sqs,
)
from s3flow.local.cloudformation.resources.base import Context, Created, ResourceType

RESOURCE_TYPES: dict[str, ResourceType] = {
    resource_type.name: resource_type
    for resource_type in (
        dynamodb.TABLE,
        s3.BUCKET,
        s3.BUCKET_POLICY,
        sqs.QUEUE,
        sqs.QUEUE_POLICY,
        events.EVENT_BUS,
        events.RULE,
        logs.LOG_GROUP,
        logs.RESOURCE_POLICY,
        iam.ROLE,
        iam.POLICY,
        lambda_.FUNCTION,
        lambda_.PERMISSION,
        lambda_.EVENT_INVOKE_CONFIG,
        lambda_.EVENT_SOURCE_MAPPING,
        sns.TOPIC,
        sns.TOPIC_POLICY,
        sns.SUBSCRIPTION,
        cloudwatch.ALARM,
        cloudwatch.DASHBOARD,
        kms.KEY,
        kms.ALIAS,
        cdk.METADATA,
        cdk.BUCKET_NOTIFICATIONS,
        cdk.AUTO_DELETE_OBJECTS,
        cdk.LOG_RESOURCE_POLICY_CALL,
        cdk.SDK_CALL,
    )
}

__all__ = ["RESOURCE_TYPES", "Context", "Created", "ResourceType"]
