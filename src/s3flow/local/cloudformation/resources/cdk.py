"""What the CDK adds to a template besides the stack's own resources.

- ``AWS::CDK::Metadata``, the version report the CDK CLI adds to the assemblies it writes
  (``npx cdk synth``, ``cdk deploy``): recorded, as CloudFormation creates nothing for it.
- CDK custom resources, applied by their intent: ``Custom::S3BucketNotifications`` (Lambda
  configurations become ``Deployment.notifications``: given to moto, its bucket would try to
  invoke the function through Docker and swallow the failure; queue, topic and EventBridge
  configurations go to moto), ``Custom::S3AutoDeleteObjects`` (``Deployment.auto_delete_buckets``),
  and ``AwsCustomResource`` types (``Custom::CloudwatchLogResourcePolicy``, ``Custom::AWS``)
  whose ``Create`` SDK call is ``CloudWatchLogs.putResourcePolicy``.

Any other ``Custom::`` type is unsupported, as any type missing from the registry is.
"""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError

from s3flow.local.cloudformation.errors import UnsupportedResourceError
from s3flow.local.cloudformation.resources.base import Context, Created, ResourceType
from s3flow.local.cloudformation.template import physical_name
from s3flow.local.deployment import BucketNotification


def _cdk_metadata(ctx: Context, logical_id: str, props: dict[str, Any]) -> Created:
    # The CDK CLI's version report (which CDK modules the stack uses); CloudFormation
    # accepts it and creates nothing, so locally it is recorded and nothing more.
    return Created(physical_name(ctx.stack, logical_id, max_length=128))


def _bucket_notifications(ctx: Context, logical_id: str, props: dict[str, Any]) -> Created:
    bucket = props["BucketName"]
    _stand_in_for_an_existing_bucket(ctx, bucket)
    configuration = dict(props.get("NotificationConfiguration", {}))
    for entry in configuration.pop("LambdaFunctionConfigurations", []):
        rules = {
            rule["Name"].lower(): rule["Value"]
            for rule in entry.get("Filter", {}).get("Key", {}).get("FilterRules", [])
        }
        ctx.deployment.notifications.append(
            BucketNotification(
                bucket=bucket,
                function_arn=entry["LambdaFunctionArn"],
                events=tuple(entry["Events"]),
                prefix=rules.get("prefix", ""),
                suffix=rules.get("suffix", ""),
            )
        )
    if configuration:
        ctx.client("s3").put_bucket_notification_configuration(
            Bucket=bucket, NotificationConfiguration=configuration
        )
    return Created(logical_id)


def _stand_in_for_an_existing_bucket(ctx: Context, bucket: str) -> None:
    """A stack that triggers on a bucket it does not define (an existing bucket) needs that
    bucket to exist before the deploy: on AWS the notification's custom resource fails on a
    missing bucket. The emulator starts empty, so the bucket is made here, empty and with S3's
    defaults for a new bucket (unversioned, SSE-S3), and named in the deployment as a stand-in.
    A bucket the template defines was created before this resource, which depends on it."""
    s3 = ctx.client("s3")
    try:
        s3.head_bucket(Bucket=bucket)
        return
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") not in ("404", "NoSuchBucket"):
            raise
    where = (
        {} if ctx.region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": ctx.region}}
    )
    s3.create_bucket(Bucket=bucket, **where)
    ctx.deployment.stand_in_buckets.append(bucket)


def _auto_delete_objects(ctx: Context, logical_id: str, props: dict[str, Any]) -> Created:
    ctx.deployment.auto_delete_buckets.append(props["BucketName"])
    return Created(logical_id)


def _sdk_call(ctx: Context, logical_id: str, props: dict[str, Any]) -> Created:
    kind = ctx.resolver.template["Resources"][logical_id]["Type"]
    call = props.get("Create")
    call = json.loads(call) if isinstance(call, str) else call
    if not isinstance(call, dict):
        raise UnsupportedResourceError(kind, logical_id, "no Create SDK call")
    service, action = call.get("service"), call.get("action")
    if (service, action) != ("CloudWatchLogs", "putResourcePolicy"):
        raise UnsupportedResourceError(kind, logical_id, f"SDK call {service}.{action}")
    parameters = call.get("parameters", {})
    ctx.client("logs").put_resource_policy(
        policyName=parameters["policyName"], policyDocument=parameters["policyDocument"]
    )
    physical_id = call.get("physicalResourceId", {}).get("id") or parameters["policyName"]
    return Created(physical_id)


METADATA = ResourceType(
    "AWS::CDK::Metadata",
    known_properties=frozenset({"Analytics"}),
    create=_cdk_metadata,
)
BUCKET_NOTIFICATIONS = ResourceType(
    "Custom::S3BucketNotifications",
    known_properties=frozenset(
        {"ServiceToken", "BucketName", "NotificationConfiguration", "Managed", "SkipDestinationValidation"}
    ),
    create=_bucket_notifications,
)
AUTO_DELETE_OBJECTS = ResourceType(
    "Custom::S3AutoDeleteObjects",
    known_properties=frozenset({"ServiceToken", "BucketName"}),
    create=_auto_delete_objects,
)
_SDK_CALL_PROPERTIES = frozenset(
    {"ServiceToken", "Create", "Update", "Delete", "InstallLatestAwsSdk", "Timeout"}
)
LOG_RESOURCE_POLICY_CALL = ResourceType(
    "Custom::CloudwatchLogResourcePolicy", known_properties=_SDK_CALL_PROPERTIES, create=_sdk_call
)
SDK_CALL = ResourceType("Custom::AWS", known_properties=_SDK_CALL_PROPERTIES, create=_sdk_call)
