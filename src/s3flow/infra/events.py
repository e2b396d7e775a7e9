"""Events unit: the custom bus, the routing rules and the log group they deliver to."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_logs as logs
from constructs import Construct

from s3flow import contract


class Events(Construct):
    """Custom event bus whose rules route processor events to one log group."""

    def __init__(self, scope: Construct, construct_id: str, *, environment_suffix: str) -> None:
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
            removal_policy=RemovalPolicy.DESTROY,
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
            targets=[
                targets.CloudWatchLogGroup(
                    self.log_group,
                    log_event=targets.LogGroupTargetInput.from_object_v2(
                        timestamp=events.EventField.time,
                        message=events.EventField.from_path("$.detail"),
                    ),
                )
            ],
        )
