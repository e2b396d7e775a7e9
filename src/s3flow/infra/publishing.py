"""Publishing unit: the outbox publisher, reading the record table's stream.

The processor only writes records; this function turns each record the stream shows as
new (INSERT) or changed (MODIFY) into its event on the bus. Records are read in order per
shard, a batch that keeps failing is bisected and retried, and what still cannot be
published goes, as batch metadata (``DDBStreamBatchInfo``), to the failure queue.
"""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as event_sources
from constructs import Construct

from s3flow import contract
from s3flow.infra.errors import SettingError
from s3flow.infra.findings import accept, accept_checkov
from s3flow.infra.functions import (
    MEMORY_SIZE,
    TIMEOUT,
    XRAY_WILDCARD_REASON,
    function_log_group,
    function_role,
    pipeline_function,
)
from s3flow.infra.queues import retention_queue
from s3flow.infra.settings import PipelineSettings

# Only records with a new image can carry an event to publish (INSERT and MODIFY; a REMOVE
# has only the old image), so Lambda drops the others before invoking and no invocation is
# paid for them. DynamoDB event source mappings filter only on the `dynamodb` key, not on
# eventName: https://docs.aws.amazon.com/lambda/latest/dg/with-ddb-filtering.html
# (`exists` matches leaves only, hence the key attribute's string inside the image).
RECORDS_WITH_A_NEW_IMAGE = {
    "dynamodb": {"NewImage": {contract.TABLE_PARTITION_KEY: {"S": lambda_.FilterRule.exists()}}}
}


def batching_window_value(value: object) -> int:
    """The publisher's batching window as whole seconds, 0 to 300; SettingError naming the setting.

    Takes the prop's int or the context's text (``-c publisherBatchingWindow=1``).
    """
    seconds = value
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        seconds = int(value)
    if (
        isinstance(seconds, bool)
        or not isinstance(seconds, int)
        or not 0 <= seconds <= contract.MAX_BATCHING_WINDOW_SECONDS
    ):
        raise SettingError(
            f"publisherBatchingWindow (publisher_batching_window_seconds) must be a whole number "
            f"of seconds from 0 to {contract.MAX_BATCHING_WINDOW_SECONDS}, got {value!r}"
        )
    return seconds


class Publishing(Construct):
    """The publisher function, its role, log group, stream trigger and failure queue."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        environment_suffix: str,
        code: lambda_.Code,
        table: dynamodb.ITable,
        event_bus: events.IEventBus,
        publisher_batching_window_seconds: int = 0,
        memory_mb: int = MEMORY_SIZE,
        timeout: Duration = TIMEOUT,
        removal_policy: RemovalPolicy = RemovalPolicy.DESTROY,
        batch_size: int | None = None,
        parallelization_factor: int | None = None,
    ) -> None:
        """``removal_policy`` applies to the log group and the failure queue; ``batch_size`` and
        ``parallelization_factor`` are the stack's publisher settings when not given."""
        super().__init__(scope, construct_id)
        stack_settings = getattr(Stack.of(self), "settings", None)
        if not isinstance(stack_settings, PipelineSettings):
            stack_settings = PipelineSettings()
        if batch_size is None:
            batch_size = stack_settings.publisher_batch_size
        if parallelization_factor is None:
            parallelization_factor = stack_settings.publisher_parallelization_factor
        window = batching_window_value(publisher_batching_window_seconds)
        function_name = f"{contract.PUBLISHER_FUNCTION_PREFIX}-{environment_suffix}"

        # Batches that fail past every retry or outlive the record age land here. For a
        # stream source Lambda sends the batch's shard and sequence-number range, not the
        # records: the records themselves stay in the table and can be published from there.
        self.failure_queue = retention_queue(
            self,
            "PublisherFailureQueue",
            queue_name=f"{contract.PUBLISHER_FAILURE_QUEUE_PREFIX}-{environment_suffix}",
            why_last="This queue is the stream mapping's on-failure destination, the end of the "
            "line: it holds batch metadata for a person to act on; a queue behind it would only "
            "move the messages.",
            removal_policy=removal_policy,
        )
        self.log_group = function_log_group(
            self, "PublisherLogGroup", function_name=function_name, removal_policy=removal_policy
        )
        self.role = function_role(
            self,
            "PublisherRole",
            description=f"Runs {function_name}: reads the record table's stream, publishes "
            "events to the bus, writes its logs only",
            wildcard_reason="Only dynamodb:ListStreams (from grant_stream_read: AWS defines no "
            f"resource for it, so it cannot name one stream) and {XRAY_WILDCARD_REASON}",
        )
        self.function = pipeline_function(
            self,
            "EventPublisher",
            function_name=function_name,
            description="Publish the EventBridge event of each new or changed record on the "
            "record table's stream (transactional outbox)",
            handler=contract.PUBLISHER_HANDLER,
            code=code,
            role=self.role,
            log_group=self.log_group,
            environment={
                contract.ENV_EVENT_BUS_NAME: event_bus.event_bus_name,
                contract.ENV_ENVIRONMENT: environment_suffix,
                # Entries a retry would duplicate around are kept here as entries, by the
                # function itself (the SendMessage grant SqsDlq gives it covers that).
                contract.ENV_PUBLISHER_FAILURE_QUEUE_URL: self.failure_queue.queue_url,
            },
            memory_mb=memory_mb,
            timeout=timeout,
        )
        reason = (
            "Invoked synchronously by its DynamoDB stream mapping, never asynchronously, so a "
            "function dead-letter queue would never receive anything; the mapping's on-failure "
            "destination (the failure queue) keeps batches that exhaust their retries."
        )
        accept(self.function, "Serverless-LambdaDLQ", reason)
        accept_checkov(self.function, "CKV_AWS_116", reason)

        # Its own grants: its failure queue (send, by SqsDlq) and its log group; the stack
        # grants what crosses units (the table's stream, the bus).
        self.event_source = event_sources.DynamoEventSource(
            table,
            # From the oldest record the stream still holds (24 hours): records written
            # before the mapping was enabled, or while it was disabled, still get events.
            starting_position=lambda_.StartingPosition.TRIM_HORIZON,
            batch_size=batch_size,
            # Batches of one shard in flight at once; 1 (Lambda's default) leaves the property
            # out. The local poller runs one at a time and refuses a template that sets it.
            parallelization_factor=parallelization_factor if parallelization_factor != 1 else None,
            retry_attempts=contract.PUBLISHER_RETRY_ATTEMPTS,
            bisect_batch_on_error=True,
            max_record_age=Duration.seconds(contract.PUBLISHER_MAX_RECORD_AGE_SECONDS),
            # The operator's trade (docs/operations.md): up to this many seconds of event
            # latency for fewer invocations. 0 leaves the property out of the template.
            max_batching_window=Duration.seconds(window) if window else None,
            # The handler names the earliest record it could not publish; Lambda retries
            # from there instead of republishing the whole batch.
            report_batch_item_failures=True,
            filters=[lambda_.FilterCriteria.filter(RECORDS_WITH_A_NEW_IMAGE)],
            on_failure=event_sources.SqsDlq(self.failure_queue),
        )
        self.function.add_event_source(self.event_source)
