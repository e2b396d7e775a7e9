"""Processing unit: the processor function, its role, log group and failure queue."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_destinations as destinations
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from s3flow import contract
from s3flow.infra.bundling import processor_code

ARCHITECTURE = lambda_.Architecture.ARM_64
ASYNC_RETRY_ATTEMPTS = 2
ASYNC_MAX_EVENT_AGE = Duration.hours(6)


class Processing(Construct):
    """The S3 object processor: an async-invoked function whose failures are kept."""

    def __init__(self, scope: Construct, construct_id: str, *, environment_suffix: str) -> None:
        super().__init__(scope, construct_id)
        function_name = f"s3-object-processor-{environment_suffix}"

        # Invocations that still fail after Lambda's retries land here with their event,
        # so nothing is dropped; 14 days is SQS's longest retention.
        self.failure_queue = sqs.Queue(
            self,
            "ProcessorFailureQueue",
            queue_name=f"s3-object-processor-failures-{environment_suffix}",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=Duration.days(14),
            removal_policy=RemovalPolicy.DESTROY,
        )

        self.log_group = logs.LogGroup(
            self,
            "ProcessorLogGroup",
            log_group_name=f"/aws/lambda/{function_name}",
            retention=logs.RetentionDays.ONE_MONTH,
            removal_policy=RemovalPolicy.DESTROY,
        )

        # No AWS managed policies: log writes come from the log group grant below and
        # X-Ray writes from active tracing; the stack adds the data-plane grants.
        self.role = iam.Role(
            self,
            "S3ProcessorLambdaRole",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"Runs {function_name}: writes its records, events and logs only",
        )

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
        self.log_group.grant_write(self.role)
