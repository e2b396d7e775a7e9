"""TapStack: composes the storage, processing, publishing and events units and wires them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from aws_cdk import Aws, CfnElement, CfnOutput, Duration, RemovalPolicy, Stack, Tags
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_notifications as s3n
from constructs import Construct, IConstruct

from s3flow import contract
from s3flow.infra.events import Events
from s3flow.infra.findings import accept, accept_checkov
from s3flow.infra.functions import function_code
from s3flow.infra.monitoring import Monitoring
from s3flow.infra.naming import validated_environment_suffix
from s3flow.infra.processing import Processing
from s3flow.infra.publishing import Publishing, batching_window_value
from s3flow.infra.settings import CONTEXT_KEYS, PipelineSettings, refuse_miscased_keys
from s3flow.infra.storage import Storage

DEFAULT_ENVIRONMENT_SUFFIX = "dev"
# The context keys the stack reads itself; PipelineSettings reads settings.CONTEXT_KEYS.
STACK_CONTEXT_KEYS = ("environmentSuffix", "alarmEmail", "processingSteps", "publisherBatchingWindow")


def resolve_environment_suffix(scope: Construct, environment_suffix: str | None) -> str:
    """Prop first, then the `environmentSuffix` context value, then `dev`; checked against
    every physical name built from it (SettingError naming the suffix and the rule)."""
    suffix = environment_suffix
    if suffix is None:
        suffix = scope.node.try_get_context("environmentSuffix")
    return validated_environment_suffix(DEFAULT_ENVIRONMENT_SUFFIX if suffix is None else suffix)


def resolve_alarm_email(scope: Construct, alarm_email: str | None) -> str | None:
    """Prop first, then the `alarmEmail` context value; None means no email subscription."""
    return alarm_email or scope.node.try_get_context("alarmEmail") or None


def resolve_processing_steps(scope: Construct, processing_steps: Sequence[str] | None) -> list[str]:
    """Prop first, then the `processingSteps` context value (comma-separated); none by default."""
    if processing_steps is not None:
        return [step for step in processing_steps if step.strip()]
    context = scope.node.try_get_context("processingSteps")
    if not context:
        return []
    entries = context.split(",") if isinstance(context, str) else list(context)
    return [str(step).strip() for step in entries if str(step).strip()]


def resolve_publisher_batching_window(scope: Construct, seconds: int | None) -> int:
    """Prop first, then the `publisherBatchingWindow` context value (seconds); 0 by default."""
    value = seconds if seconds is not None else scope.node.try_get_context("publisherBatchingWindow")
    return 0 if value is None else batching_window_value(value)


def resolve_settings(scope: Construct, settings: PipelineSettings | None) -> PipelineSettings:
    """Prop first, then the context values (``-c processorMemoryMb=512``, docs/operations.md
    "Settings"); the prop is taken whole, so a construct user's settings never mix with -c."""
    context = scope.node.get_all_context()
    refuse_miscased_keys(context, (*CONTEXT_KEYS, *STACK_CONTEXT_KEYS))
    if settings is not None:
        return settings
    return PipelineSettings.from_context(context)


class TapStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        environment_suffix: str | None = None,
        alarm_email: str | None = None,
        processing_steps: Sequence[str] | None = None,
        publisher_batching_window_seconds: int | None = None,
        settings: PipelineSettings | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        suffix = resolve_environment_suffix(self, environment_suffix)
        self.environment_suffix = suffix
        self.settings = resolve_settings(self, settings)
        removal_policy = RemovalPolicy.RETAIN if self.settings.retain else RemovalPolicy.DESTROY

        self.storage = Storage(
            self,
            "Storage",
            environment_suffix=suffix,
            removal_policy=removal_policy,
            existing_bucket_name=self.settings.existing_bucket_name,
        )
        self.events = Events(self, "Events", environment_suffix=suffix, removal_policy=removal_policy)
        # One asset, two functions: the processor writes records, the publisher sends
        # their events from the table's stream (the transactional outbox).
        code = function_code()
        self.processing = Processing(
            self,
            "Processing",
            environment_suffix=suffix,
            code=code,
            processing_steps=resolve_processing_steps(self, processing_steps),
            memory_mb=self.settings.processor_memory_mb,
            timeout=Duration.seconds(self.settings.processor_timeout_seconds),
            removal_policy=removal_policy,
            step_permissions=self.settings.step_permissions,
        )
        self.publishing = Publishing(
            self,
            "Publishing",
            environment_suffix=suffix,
            code=code,
            table=self.storage.table,
            event_bus=self.events.bus,
            publisher_batching_window_seconds=resolve_publisher_batching_window(
                self, publisher_batching_window_seconds
            ),
            memory_mb=self.settings.publisher_memory_mb,
            timeout=Duration.seconds(self.settings.publisher_timeout_seconds),
            removal_policy=removal_policy,
        )
        self._wire()
        self.monitoring = Monitoring(
            self,
            "Monitoring",
            environment_suffix=suffix,
            processing=self.processing,
            publishing=self.publishing,
            event_routing=self.events,
            alarm_email=resolve_alarm_email(self, alarm_email),
            removal_policy=removal_policy,
        )
        self._tag(suffix)
        self._outputs(suffix)
        self._accept_cdk_handler_findings()

    def _wire(self) -> None:
        table, bucket = self.storage.table, self.storage.bucket
        fn = self.processing.function

        # The publisher reads this table's stream and puts events on this bus; nothing else
        # of another unit (its mapping's binding grants the stream read too: the same grant).
        publisher = self.publishing.function
        table.grant_stream_read(publisher)
        self.events.bus.grant_put_events_to(publisher)

        # No bus name and no events:PutEvents: the processor only writes records; the
        # Publishing unit holds the only grant to put events on the bus.
        fn.add_environment(contract.ENV_TABLE_NAME, table.table_name)
        fn.add_environment(contract.ENV_TIME_INDEX_SHARDS, str(self.settings.time_index_shards))

        # Exactly the one item operation the processor performs: the conditional put. Its
        # ReturnValuesOnConditionCheckFailure=ALL_OLD (the stored item, when the key exists)
        # is a parameter of PutItem and authorized as PutItem, not as a read:
        # https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_PutItem.html
        # https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazondynamodb.html
        # Hand-written because table.grant(...) also grants it on every index
        # ("<table>/index/*"), which the processor never touches.
        fn.add_to_role_policy(
            iam.PolicyStatement(
                actions=["dynamodb:PutItem"],
                resources=[table.table_arn],
            )
        )
        # bucket.grant_read would add s3:List* and s3:GetBucket* plus wildcard actions;
        # processing steps need only to read object versions of this one bucket.
        fn.add_to_role_policy(
            iam.PolicyStatement(
                actions=["s3:GetObject", "s3:GetObjectVersion"],
                resources=[bucket.arn_for_objects("*")],
            )
        )
        if self.settings.existing_bucket_name is not None:  # imported: an ARN built from its name
            objects = f"arn:<AWS::Partition>:s3:::{bucket.bucket_name}/*"
        else:
            bucket_id = self.resolve(self.get_logical_id(cast(CfnElement, bucket.node.default_child)))
            objects = f"<{bucket_id}.Arn>/*"
        accept(
            self.processing.role,
            f"AwsSolutions-IAM5[Resource::{objects}]",
            "Object reads of the one trigger bucket: any key may be uploaded, so the object "
            "part of the ARN cannot be narrower; no other bucket and no bucket-level action.",
        )
        # The same call for an imported bucket: CDK's notifications custom resource then
        # adds this configuration to the bucket's own and leaves the others in place.
        bucket.add_event_notification(
            s3.EventType.OBJECT_CREATED, s3n.LambdaDestination(fn), *self._key_filters()
        )
        self._accept_notification_handler()

    def _key_filters(self) -> list[s3.NotificationKeyFilter]:
        """The notification's key filter, only when one is set: none leaves the template as it was."""
        prefix, suffix = self.settings.notification_prefix, self.settings.notification_suffix
        if not (prefix or suffix):
            return []
        return [s3.NotificationKeyFilter(prefix=prefix or None, suffix=suffix or None)]

    def _accept_notification_handler(self) -> None:
        # CDK's own stack-wide handler that applies the bucket's notification config.
        for child in self.node.children:
            if child.node.id.startswith("BucketNotificationsHandler"):
                accept(
                    child,
                    "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
                    "AWSLambdaBasicExecutionRole]",
                    "CDK's built-in bucket-notifications handler; its role is not configurable "
                    "and the managed policy only lets it write its own logs.",
                )

    def _accept_cdk_handler_findings(self) -> None:
        """checkov findings on the functions CDK adds for its own custom resources."""
        handlers: list[IConstruct] = [
            child for child in self.node.children if child.node.id.startswith("BucketNotificationsHandler")
        ]
        auto_delete = self.node.try_find_child("Custom::S3AutoDeleteObjectsCustomResourceProvider")
        if auto_delete is not None:
            handlers.append(auto_delete.node.find_child("Handler"))
        reason = (
            "CDK's own custom-resource handler, run only by CloudFormation during deploy and "
            "delete (synchronously, so a DLQ never receives anything); it reaches only public "
            "AWS APIs, so no VPC, and runs once per deployment, so no concurrency limit."
        )
        for handler in handlers:
            for check_id in ("CKV_AWS_115", "CKV_AWS_116", "CKV_AWS_117"):
                accept_checkov(handler, check_id, reason)

    def _tag(self, suffix: str) -> None:
        purposes: dict[IConstruct, str] = {
            self.storage.table: "LambdaInvocationLogging",
            self.processing.function: "S3EventProcessing",
            self.storage.bucket: "LambdaTrigger",
            self.events.bus: "EventRouting",
            self.processing.failure_queue: "FailedInvocationRetention",
            self.publishing.function: "OutboxEventPublishing",
            self.publishing.failure_queue: "UnpublishedBatchRetention",
            self.events.dead_letter_queue: "UndeliveredEventRetention",
        }
        if self.storage.access_log_bucket is not None:
            purposes[self.storage.access_log_bucket] = "AccessLogging"
        if self.settings.existing_bucket_name is not None:
            del purposes[self.storage.bucket]  # its owner's to tag: CloudFormation does not manage it
        for resource, purpose in purposes.items():
            Tags.of(resource).add("Environment", suffix)
            Tags.of(resource).add("Purpose", purpose)

    def _outputs(self, suffix: str) -> None:
        table, bucket, bus = self.storage.table, self.storage.bucket, self.events.bus
        fn, queue = self.processing.function, self.processing.failure_queue
        dlq = self.events.dead_letter_queue
        publisher, publisher_queue = self.publishing.function, self.publishing.failure_queue
        log_bucket, event_logs = self.storage.access_log_bucket, self.events.log_group
        outputs = {
            "DynamoDBTableName": (table.table_name, "Name of the DynamoDB table for Lambda invocation logs"),
            "DynamoDBTableArn": (table.table_arn, "ARN of the DynamoDB table"),
            "LambdaFunctionName": (fn.function_name, "Name of the Lambda function"),
            "LambdaFunctionArn": (fn.function_arn, "ARN of the Lambda function"),
            "S3BucketName": (bucket.bucket_name, "Name of the S3 bucket that triggers Lambda function"),
            "S3BucketArn": (bucket.bucket_arn, "ARN of the S3 bucket that triggers Lambda function"),
            "EventBusName": (bus.event_bus_name, "Name of the custom EventBridge event bus"),
            "EventBusArn": (bus.event_bus_arn, "ARN of the custom EventBridge event bus"),
            "EventLogGroupName": (event_logs.log_group_name, "Log group the event rules deliver to"),
            "FailureQueueUrl": (queue.queue_url, "SQS queue holding invocations that failed after retries"),
            "FailureQueueArn": (queue.queue_arn, "ARN of the failure queue"),
            "EventDeadLetterQueueUrl": (dlq.queue_url, "SQS queue of events the rules could not deliver"),
            "EventDeadLetterQueueArn": (dlq.queue_arn, "ARN of the event dead-letter queue"),
            "PublisherFunctionName": (
                publisher.function_name,
                "Name of the function publishing the events of the table's stream",
            ),
            "PublisherFailureQueueUrl": (
                publisher_queue.queue_url,
                "SQS queue of stream batches the publisher could not publish (batch metadata)",
            ),
            "AccessLogBucketName": (
                log_bucket.bucket_name if log_bucket else None,
                "Bucket of the trigger bucket's access logs",
            ),
            "AlarmTopicArn": (self.monitoring.topic.topic_arn, "SNS topic the pipeline's alarms notify"),
            "DashboardName": (self.monitoring.dashboard.dashboard_name, "CloudWatch dashboard of the flow"),
        }
        for output_id, (value, description) in outputs.items():
            if value is None:  # an imported trigger bucket has no access-log bucket of ours
                continue
            export_name = f"{output_id}-{suffix}"
            CfnOutput(self, output_id, value=value, description=description, export_name=export_name)
        CfnOutput(
            self,
            "XRayServiceMap",
            value=f"https://{Aws.REGION}.console.aws.amazon.com/xray/home?region={Aws.REGION}#/service-map",
            description="URL to view X-Ray service map",
        )
