"""Processing unit: the processor function, its role, log group and failure queue."""

from __future__ import annotations

import re
from collections.abc import Sequence

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_destinations as destinations
from aws_cdk import aws_logs as logs
from constructs import Construct

from s3flow import contract
from s3flow.infra.bundling import processor_code
from s3flow.infra.events import LOG_GROUP_KMS_REASON
from s3flow.infra.findings import accept, accept_checkov
from s3flow.infra.queues import retention_queue

ARCHITECTURE = lambda_.Architecture.ARM_64
ASYNC_RETRY_ATTEMPTS = 2
ASYNC_MAX_EVENT_AGE = Duration.hours(6)
# One entry of contract.ENV_PROCESSING_STEPS: "module:function" or "name=module:function".
# Checked at synth so that a malformed entry fails here, not in every invocation; whether
# the module imports is only known in the function (a configuration error: the invocation
# fails and, after Lambda's retries, waits in the failure queue).
_STEP_ENTRY = re.compile(
    r"^(?:[A-Za-z][A-Za-z0-9_-]{0,63}=)?[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*:[A-Za-z_][A-Za-z0-9_]*$"
)


def processing_steps_value(steps: Sequence[str]) -> str:
    """The environment value for the steps, each entry checked."""
    entries = [step.strip() for step in steps]
    for entry in entries:
        if not _STEP_ENTRY.match(entry):
            raise ValueError(f"processing step {entry!r} is not 'module:function' or 'name=module:function'")
    return ",".join(entries)


class Processing(Construct):
    """The S3 object processor: an async-invoked function whose failures are kept."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        environment_suffix: str,
        processing_steps: Sequence[str] | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        function_name = f"s3-object-processor-{environment_suffix}"

        # Invocations that still fail after Lambda's retries land here with their event,
        # so nothing is dropped; 14 days is SQS's longest retention.
        self.failure_queue = retention_queue(
            self,
            "ProcessorFailureQueue",
            queue_name=f"s3-object-processor-failures-{environment_suffix}",
            why_last="This queue is the function's on-failure destination, the end of the line: a "
            "queue behind it would only move the messages; `s3flow redrive` replays them.",
        )

        self.log_group = logs.LogGroup(
            self,
            "ProcessorLogGroup",
            log_group_name=f"/aws/lambda/{function_name}",
            retention=logs.RetentionDays.ONE_MONTH,
            removal_policy=RemovalPolicy.DESTROY,
        )
        accept_checkov(self.log_group, "CKV_AWS_158", LOG_GROUP_KMS_REASON)

        # No AWS managed policies: log writes come from the log group grant below and
        # X-Ray writes from active tracing; the stack adds the data-plane grants.
        self.role = iam.Role(
            self,
            "S3ProcessorLambdaRole",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"Runs {function_name}: writes its records, events and logs only",
        )
        accept(
            self.role,
            "AwsSolutions-IAM5[Resource::*]",
            "Only xray:PutTraceSegments and xray:PutTelemetryRecords (added by active tracing): "
            "X-Ray has no resource-level permissions for them, so '*' is the only resource.",
        )

        # No Lambda Insights layer (the reference hard-codes its ARN and calls it
        # "XRayLayer"): the extension adds cold-start time and a per-invocation cost, and
        # the processor publishes its own metrics in CloudWatch embedded metric format
        # (namespace contract.METRICS_NAMESPACE), which the Monitoring unit alarms on.
        self.function = lambda_.Function(
            self,
            "S3ObjectProcessor",
            function_name=function_name,
            description="Process S3 object creation events with tracing and EventBridge integration",
            runtime=lambda_.Runtime.PYTHON_3_13,
            architecture=ARCHITECTURE,
            handler=contract.HANDLER,
            code=processor_code(ARCHITECTURE),
            role=self.role,
            memory_size=256,
            timeout=Duration.minutes(5),
            tracing=lambda_.Tracing.ACTIVE,
            log_group=self.log_group,
            environment={contract.ENV_ENVIRONMENT: environment_suffix},
            retry_attempts=ASYNC_RETRY_ATTEMPTS,
            max_event_age=ASYNC_MAX_EVENT_AGE,
            on_failure=destinations.SqsDestination(self.failure_queue),
        )
        if processing_steps:
            # Users' own steps (docs/extending.md); their code must be in the asset.
            self.function.add_environment(
                contract.ENV_PROCESSING_STEPS, processing_steps_value(processing_steps)
            )
        accept(
            self.function,
            "Serverless-LambdaDLQ",
            "Failed async invocations go to the on-failure destination (the failure queue), "
            "which keeps the error with the event; a dead-letter queue would duplicate it.",
        )
        self._accept_checkov_function_findings()
        for rule in ("AwsSolutions-L1", "Serverless-LambdaLatestVersion"):
            accept(
                self.function,
                rule,
                "Python 3.13 is the runtime the pipeline contract (issue 2) fixes; the code is "
                "tested on it. Moving to a newer runtime is a contract change, not a scan fix.",
            )
        self.log_group.grant_write(self.role)

    def _accept_checkov_function_findings(self) -> None:
        accepted = {
            "CKV_AWS_116": "Failed async invocations go to the on-failure destination (the failure "
            "queue), which keeps the error with the event; a dead-letter queue would duplicate it.",
            "CKV_AWS_117": "The function only calls S3, DynamoDB, EventBridge and X-Ray public "
            "endpoints over TLS; a VPC would add NAT or endpoint cost and cold-start time, no isolation.",
            "CKV_AWS_115": "No reserved concurrency: a reservation must leave the account 100 "
            "unreserved and new accounts have 10 in total, so it would fail to deploy there; the "
            "throttle alarm watches the shared limit instead.",
            "CKV_AWS_173": "The environment holds resource names only, no secrets; Lambda encrypts "
            "it at rest with its AWS managed key already.",
        }
        for check_id, reason in accepted.items():
            accept_checkov(self.function, check_id, reason)
