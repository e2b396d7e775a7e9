"""Monitoring unit: alarms on everything that loses or delays objects, a topic, a dashboard."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from aws_cdk import ArnFormat, Aws, Duration, Fn, RemovalPolicy, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from s3flow import contract

PERIOD = Duration.minutes(5)
# Every alarm's name is s3flow-<env>-<name>; the topic admits exactly those.
ALARM_NAME_WILDCARD = "*"
# Failures wait in the queue for a redrive; page again well before 14-day retention ends.
OLDEST_FAILURE_AGE_ALARM = Duration.days(1)
# IteratorAge: how long the last record of a batch waited in the stream before the
# publisher got it, i.e. how far events lag their records. Past this, events are late, not
# lost: the mapping gives a record up only at contract.PUBLISHER_MAX_RECORD_AGE_SECONDS.
PUBLISHER_ITERATOR_AGE_ALARM = Duration.minutes(5)
# Half the stream's 24-hour retention: time left to redrive before the records are gone.
PUBLISHER_FAILURE_AGE_ALARM = Duration.hours(12)


@dataclass(frozen=True)
class AlarmSpec:
    """One alarm: construct id, name (deployed as s3flow-<env>-<name>), what it watches, when."""

    construct_id: str
    name: str
    metric: cloudwatch.IMetric
    threshold: float
    description: str


class FunctionUnit(Protocol):
    """What Monitoring watches of a function's unit (Processing, Publishing)."""

    @property
    def function(self) -> lambda_.IFunction: ...

    @property
    def failure_queue(self) -> sqs.IQueue: ...


class EventRoutingUnit(Protocol):
    """What Monitoring watches of the Events unit."""

    @property
    def bus(self) -> events.IEventBus: ...

    @property
    def dead_letter_queue(self) -> sqs.IQueue: ...

    @property
    def success_rule(self) -> events.Rule: ...

    @property
    def error_rule(self) -> events.Rule: ...


class Monitoring(Construct):
    """Alarms to an encrypted SNS topic (email only when asked) and a flow dashboard."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        environment_suffix: str,
        processing: FunctionUnit,
        publishing: FunctionUnit,
        event_routing: EventRoutingUnit,
        alarm_email: str | None = None,
        removal_policy: RemovalPolicy = RemovalPolicy.DESTROY,
    ) -> None:
        """Watches whole units: each function with its failure queue, and the event routing
        (bus, rules, dead-letter queue). ``removal_policy`` is the topic key's."""
        super().__init__(scope, construct_id)
        self._suffix = environment_suffix
        function, failure_queue = processing.function, processing.failure_queue
        publisher, publisher_failure_queue = publishing.function, publishing.failure_queue
        event_bus, event_dead_letter_queue = event_routing.bus, event_routing.dead_letter_queue
        rules = [event_routing.success_rule, event_routing.error_rule]

        # CloudWatch can publish to an encrypted topic only with a customer managed key
        # whose policy lets it: the AWS managed aws/sns key cannot be granted to it.
        self.topic_key = kms.Key(
            self,
            "AlarmTopicKey",
            alias=f"alias/s3flow-alarms-{environment_suffix}",
            description=f"Encrypts the s3flow-{environment_suffix} alarm topic",
            enable_key_rotation=True,
            pending_window=Duration.days(7),
            removal_policy=removal_policy,
        )
        self.topic_key.grant(
            iam.ServicePrincipal("cloudwatch.amazonaws.com"), "kms:Decrypt", "kms:GenerateDataKey*"
        )
        self.topic = sns.Topic(
            self,
            "AlarmTopic",
            topic_name=f"s3flow-alarms-{environment_suffix}",
            display_name=f"s3flow {environment_suffix} alarms",
            master_key=self.topic_key,
            enforce_ssl=True,
        )
        # A topic policy replaces SNS's default one: with only enforce_ssl's Deny in it, no
        # alarm could publish. CloudWatch may, for this stack's alarms in this account only
        # (aws:SourceArn/aws:SourceAccount keep another account's alarms from using it):
        # https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html
        self.topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="CloudWatchAlarmsOfThisStackPublish",
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["sns:Publish"],
                resources=[self.topic.topic_arn],
                conditions={
                    "StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID},
                    "ArnLike": {"aws:SourceArn": self._alarm_arn(ALARM_NAME_WILDCARD)},
                },
            )
        )
        if alarm_email:
            self.topic.add_subscription(subscriptions.EmailSubscription(alarm_email))

        specs = [
            AlarmSpec(
                "FunctionErrorsAlarm",
                "processor-errors",
                function.metric_errors(period=PERIOD),
                1,
                "The processor raised: its invocations are retried, then sent to the failure queue.",
            ),
            AlarmSpec(
                "FunctionThrottlesAlarm",
                "processor-throttles",
                function.metric_throttles(period=PERIOD),
                1,
                "Lambda throttled the processor: the account's concurrency is exhausted; "
                "uploads are delayed and may age out into the failure queue.",
            ),
            # Bad records do not fail the invocation (the others in it must go through), so
            # Lambda's Errors metric misses them; the processor counts them itself (EMF).
            AlarmSpec(
                "RecordErrorsAlarm",
                "record-errors",
                self._own_metric(contract.METRIC_PROCESSING_ERRORS),
                1,
                "Objects became error records and error events (see the error rule's log "
                "group for which and why); the invocation itself succeeded.",
            ),
            AlarmSpec(
                "FailureQueueDepthAlarm",
                "failure-queue-depth",
                _queue_depth(failure_queue, statistic="Maximum"),
                1,
                "Invocations failed after every retry and wait in the failure queue: "
                "fix the cause, then run `s3flow redrive`.",
            ),
            AlarmSpec(
                "FailureQueueAgeAlarm",
                "failure-queue-oldest-age",
                _oldest_message_age(failure_queue),
                OLDEST_FAILURE_AGE_ALARM.to_seconds(),
                "A failed invocation has waited over a day; SQS drops it after 14 days. Redrive it.",
            ),
            AlarmSpec(
                "PublisherErrorsAlarm",
                "publisher-errors",
                publisher.metric_errors(period=PERIOD),
                1,
                "The publisher raised: Lambda retries the stream batch (bisecting it) and "
                "holds the shard's later records back until it succeeds or gives up.",
            ),
            AlarmSpec(
                "PublisherIteratorAgeAlarm",
                "publisher-iterator-age",
                publisher.metric("IteratorAge", period=PERIOD, statistic="Maximum"),
                PUBLISHER_ITERATOR_AGE_ALARM.to_milliseconds(),
                "Events lag their records by over 5 minutes: the publisher is failing, "
                "throttled or behind on the table's stream.",
            ),
            AlarmSpec(
                "PublisherFailureQueueDepthAlarm",
                "publisher-failure-queue-depth",
                _queue_depth(publisher_failure_queue, statistic="Maximum"),
                1,
                "Stream batches were given up on: their records are in the table but their "
                "events were not published. The message names the shard and sequence range.",
            ),
            AlarmSpec(
                "PublisherFailureQueueAgeAlarm",
                "publisher-failure-queue-oldest-age",
                _oldest_message_age(publisher_failure_queue),
                PUBLISHER_FAILURE_AGE_ALARM.to_seconds(),
                "A failed event batch has waited 12 hours: `s3flow redrive` can replay it only "
                "while its records are still in the table's stream (24 hours). Redrive it now.",
            ),
            AlarmSpec(
                "UnpublishableRecordsAlarm",
                "unpublishable-records",
                self._own_metric(contract.METRIC_UNPUBLISHABLE_RECORDS),
                1,
                "The publisher skipped stream records that can never become an event (no or "
                "undecodable image, entry over the size limit): a bug. Its log names their keys.",
            ),
            AlarmSpec(
                "EventDeadLetterDepthAlarm",
                "event-dlq-depth",
                _queue_depth(event_dead_letter_queue, statistic="Maximum"),
                1,
                "EventBridge could not deliver events to the log group after its retries.",
            ),
            *(
                AlarmSpec(
                    f"{rule.node.id}FailedInvocationsAlarm",
                    f"{rule.node.id}-failed-invocations",
                    _rule_metric("FailedInvocations", rule, event_bus),
                    1,
                    "An EventBridge rule failed to deliver to its log-group target.",
                )
                for rule in rules
            ),
        ]
        # Every alarm, by its name (s3flow-<env>-<name> deployed), in the dashboard's order.
        self.alarms = {spec.name: self._alarm(spec) for spec in specs}
        self.dashboard = self._dashboard(
            function,
            failure_queue,
            publisher,
            publisher_failure_queue,
            event_dead_letter_queue,
            event_bus,
            rules,
        )

    def _alarm(self, spec: AlarmSpec) -> cloudwatch.Alarm:
        """Every alarm alike: one 5-minute period at or over the threshold, missing data is
        not a breach, and both ALARM and the way back to OK notify the topic."""
        alarm = cloudwatch.Alarm(
            self,
            spec.construct_id,
            alarm_name=self._alarm_name(spec.name),
            alarm_description=spec.description,
            metric=spec.metric,
            threshold=spec.threshold,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        action = cw_actions.SnsAction(self.topic)
        alarm.add_alarm_action(action)
        alarm.add_ok_action(action)
        return alarm

    def _alarm_name(self, name: str) -> str:
        return f"s3flow-{self._suffix}-{name}"

    def _alarm_arn(self, name: str) -> str:
        return Stack.of(self).format_arn(
            service="cloudwatch",
            resource="alarm",
            resource_name=self._alarm_name(name),
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )

    def _own_metric(
        self, name: str, statistic: str = "Sum", unit: cloudwatch.Unit | None = None
    ) -> cloudwatch.Metric:
        return cloudwatch.Metric(
            namespace=contract.METRICS_NAMESPACE,
            metric_name=name,
            dimensions_map={contract.METRICS_DIMENSION_ENVIRONMENT: self._suffix},
            statistic=statistic,
            period=PERIOD,
            unit=unit,
        )

    def _dashboard(
        self,
        function: lambda_.IFunction,
        failure_queue: sqs.IQueue,
        publisher: lambda_.IFunction,
        publisher_failure_queue: sqs.IQueue,
        event_dead_letter_queue: sqs.IQueue,
        event_bus: events.IEventBus,
        rules: Sequence[events.Rule],
    ) -> cloudwatch.Dashboard:
        own = self._own_metric
        flow = [
            cloudwatch.GraphWidget(
                title="Objects in",
                left=[function.metric_invocations(period=PERIOD, label="Processor invocations")],
                width=6,
            ),
            cloudwatch.GraphWidget(
                title="Records written",
                left=[
                    own(contract.METRIC_OBJECTS_PROCESSED),
                    own(contract.METRIC_DUPLICATES_SKIPPED),
                ],
                right=[own(contract.METRIC_BYTES_PROCESSED, unit=cloudwatch.Unit.BYTES)],
                width=6,
            ),
            cloudwatch.GraphWidget(
                title="Events routed",
                left=[
                    publisher.metric_invocations(period=PERIOD, label="Publisher invocations"),
                    own(contract.METRIC_EVENTS_PUBLISHED),
                    *(_rule_metric("Invocations", rule, event_bus, label=rule.node.id) for rule in rules),
                ],
                width=6,
            ),
            cloudwatch.GraphWidget(
                title="Failures",
                left=[
                    function.metric_errors(period=PERIOD),
                    function.metric_throttles(period=PERIOD),
                    own(contract.METRIC_PROCESSING_ERRORS),
                    publisher.metric_errors(period=PERIOD, label="Publisher errors"),
                    *(
                        _rule_metric("FailedInvocations", rule, event_bus, label=f"{rule.node.id} failed")
                        for rule in rules
                    ),
                ],
                right=[
                    _queue_depth(failure_queue, label="Failure queue"),
                    _queue_depth(publisher_failure_queue, label="Publisher failure queue"),
                    _queue_depth(event_dead_letter_queue, label="Event DLQ"),
                ],
                width=6,
            ),
        ]
        latency = [
            cloudwatch.GraphWidget(
                title="Latency",
                left=[
                    function.metric_duration(period=PERIOD, statistic="p50", label="Duration p50"),
                    function.metric_duration(period=PERIOD, statistic="p99", label="Duration p99"),
                    own(contract.METRIC_PROCESSING_LATENCY, "p99", cloudwatch.Unit.MILLISECONDS),
                ],
                width=8,
            ),
            cloudwatch.GraphWidget(
                title="Event lag",
                left=[
                    publisher.metric(
                        "IteratorAge", period=PERIOD, statistic="Maximum", label="Iterator age max"
                    )
                ],
                left_annotations=[
                    cloudwatch.HorizontalAnnotation(
                        value=PUBLISHER_ITERATOR_AGE_ALARM.to_milliseconds(), label="Alarm"
                    )
                ],
                width=8,
            ),
            cloudwatch.AlarmStatusWidget(title="Alarms", alarms=list(self.alarms.values()), width=8),
        ]
        return cloudwatch.Dashboard(
            self,
            "Dashboard",
            dashboard_name=f"s3flow-{self._suffix}",
            widgets=[flow, latency],
        )


def _queue_depth(queue: sqs.IQueue, **options: Any) -> cloudwatch.Metric:
    """Messages waiting in a failure queue or DLQ, over the dashboard's and alarms' period."""
    return queue.metric_approximate_number_of_messages_visible(period=PERIOD, **options)


def _oldest_message_age(queue: sqs.IQueue) -> cloudwatch.Metric:
    return queue.metric_approximate_age_of_oldest_message(period=PERIOD, statistic="Maximum")


def _rule_metric(
    name: str, rule: events.Rule, bus: events.IEventBus, *, label: str | None = None
) -> cloudwatch.Metric:
    return cloudwatch.Metric(
        namespace="AWS/Events",
        metric_name=name,
        # Ref of a rule on a custom bus is "bus|rule"; the metric dimension is the bare name.
        dimensions_map={
            "EventBusName": bus.event_bus_name,
            "RuleName": Fn.select(1, Fn.split("|", rule.rule_name)),
        },
        statistic="Sum",
        period=PERIOD,
        label=label,  # a labelled metric renders an alarm in the metric-math form
    )
