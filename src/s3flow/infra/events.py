"""Events unit: the custom bus, the routing rules and the log group they deliver to."""

from __future__ import annotations

import jsii
from aws_cdk import ArnFormat, Duration, RemovalPolicy, Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from aws_cdk.interfaces.aws_events import IRuleRef
from constructs import Construct

from s3flow import contract
from s3flow.infra.findings import accept_checkov
from s3flow.infra.queues import retention_queue

# EventBridge retries a failed delivery to the log group, then parks the event in the
# dead-letter queue instead of dropping it.
TARGET_RETRY_ATTEMPTS = 8
TARGET_MAX_EVENT_AGE = Duration.hours(2)

LOG_GROUP_KMS_REASON = (
    "CloudWatch Logs encrypts every log group at rest with service keys. A customer managed "
    "key adds key cost and key-policy wiring; the events and logs carry object names, not secrets."
)


@jsii.implements(events.IRuleTarget)
class LogGroupTarget:
    """Deliver the whole matched event to a log group, with retries and a dead-letter queue.

    No input transformer: a CloudWatch Logs target only accepts the template
    ``{"timestamp": <t>, "message": <string>}`` and EventBridge does not escape
    values it substitutes, so ``$.detail`` (a JSON object) cannot be embedded in the
    message string. Without one, EventBridge writes the full event (time, source,
    account, region, detail-type, detail) as the JSON log message, stamped with the
    event's time.

    CDK's ``targets.CloudWatchLogGroup`` would add a Lambda-backed custom resource
    per rule to set the log group's resource policy; ``Events`` declares that policy
    natively (``AWS::Logs::ResourcePolicy``) instead, so no extra function, role or
    wildcard ``logs:PutResourcePolicy`` grant exists in the stack.
    """

    def __init__(self, log_group: logs.ILogGroup, *, dead_letter_queue: sqs.IQueue) -> None:
        self._log_group = log_group
        self._dead_letter_queue = dead_letter_queue

    def bind(self, rule: IRuleRef, id: str | None = None) -> events.RuleTargetConfig:  # noqa: A002
        arn = Stack.of(self._log_group).format_arn(
            service="logs",
            resource="log-group",
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
            resource_name=self._log_group.log_group_name,
        )
        return events.RuleTargetConfig(
            arn=arn,
            target_resource=self._log_group,
            dead_letter_config=events.CfnRule.DeadLetterConfigProperty(arn=self._dead_letter_queue.queue_arn),
            retry_policy=events.CfnRule.RetryPolicyProperty(
                maximum_retry_attempts=TARGET_RETRY_ATTEMPTS,
                maximum_event_age_in_seconds=int(TARGET_MAX_EVENT_AGE.to_seconds()),
            ),
        )


class Events(Construct):
    """Custom event bus whose rules route processor events to one log group."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        environment_suffix: str,
        removal_policy: RemovalPolicy = RemovalPolicy.DESTROY,
    ) -> None:
        """``removal_policy`` applies to what holds events: the log group and dead-letter queue."""
        super().__init__(scope, construct_id)

        self.bus = events.EventBus(
            self,
            "ProcessingEventBus",
            event_bus_name=f"processing-events-{environment_suffix}",
            description="Custom event bus for S3 processing events",
        )
        self.log_group = logs.LogGroup(
            self,
            "EventProcessingLogGroup",
            log_group_name=f"/aws/events/processing-{environment_suffix}",
            retention=logs.RetentionDays.ONE_WEEK,
            removal_policy=removal_policy,
        )
        accept_checkov(self.log_group, "CKV_AWS_158", LOG_GROUP_KMS_REASON)
        # Events the log group refused after every retry wait here (14 days) for a look.
        self.dead_letter_queue = retention_queue(
            self,
            "EventDeliveryDeadLetterQueue",
            queue_name=f"processing-events-dlq-{environment_suffix}",
            why_last="This queue is the rules' dead-letter queue itself (cdk-nag only recognises "
            "SQS-to-SQS redrive); a queue behind it would only move the messages.",
            removal_policy=removal_policy,
        )
        self.success_rule = self._route(
            "SuccessEventRule",
            rule_name=f"s3-processing-success-{environment_suffix}",
            description="Rule for successful S3 processing events",
            detail_type=contract.DETAIL_TYPE_SUCCESS,
            status=contract.STATUS_SUCCESS,
        )
        self.error_rule = self._route(
            "ErrorEventRule",
            rule_name=f"s3-processing-error-{environment_suffix}",
            description="Rule for error events in S3 processing",
            detail_type=contract.DETAIL_TYPE_ERROR,
            status=contract.STATUS_ERROR,
        )
        rule_arns = [self.success_rule.rule_arn, self.error_rule.rule_arn]
        self.log_group.add_to_resource_policy(
            iam.PolicyStatement(
                principals=[iam.ServicePrincipal("events.amazonaws.com")],
                actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                resources=[self.log_group.log_group_arn],
            )
        )
        # The rules go live only once EventBridge may write to the log group.
        log_policy = self.log_group.node.find_child("Policy")
        self.success_rule.node.add_dependency(log_policy)
        self.error_rule.node.add_dependency(log_policy)
        self.dead_letter_queue.add_to_resource_policy(
            iam.PolicyStatement(
                principals=[iam.ServicePrincipal("events.amazonaws.com")],
                actions=["sqs:SendMessage"],
                resources=[self.dead_letter_queue.queue_arn],
                conditions={"ArnEquals": {"aws:SourceArn": rule_arns}},
            )
        )

    def _route(
        self, rule_id: str, *, rule_name: str, description: str, detail_type: str, status: str
    ) -> events.Rule:
        return events.Rule(
            self,
            rule_id,
            event_bus=self.bus,
            rule_name=rule_name,
            description=description,
            event_pattern=events.EventPattern(
                source=[contract.EVENT_SOURCE],
                detail_type=[detail_type],
                detail={"status": [status]},
            ),
            targets=[LogGroupTarget(self.log_group, dead_letter_queue=self.dead_letter_queue)],
        )
