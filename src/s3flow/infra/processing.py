"""Processing unit: the processor function, its role, log group and failure queue."""

from __future__ import annotations

import re
from collections.abc import Sequence

from aws_cdk import Aws, Duration, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_destinations as destinations
from constructs import Construct

from s3flow import contract
from s3flow.infra.bundling import step_sources, steps_code
from s3flow.infra.errors import SettingError
from s3flow.infra.findings import accept, accept_checkov
from s3flow.infra.functions import (
    ARCHITECTURE,
    MEMORY_SIZE,
    TIMEOUT,
    XRAY_WILDCARD_REASON,
    function_log_group,
    function_role,
    pipeline_function,
)
from s3flow.infra.queues import retention_queue
from s3flow.infra.settings import CallService, PipelineSettings, ReadBucket, StepPermission

ASYNC_RETRY_ATTEMPTS = 2
ASYNC_MAX_EVENT_AGE = Duration.hours(6)
# One entry of contract.ENV_PROCESSING_STEPS: "module:function" or "name=module:function".
# Checked at synth so that a malformed entry fails here, not in every invocation; whether it
# imports from the built asset is checked too (bundling.step_problem).
_STEP_ENTRY = re.compile(contract.PROCESSING_STEP_ENTRY)
# Lambda refuses a function whose environment variables, names and values, total over 4 KB
# (docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html). The steps are the only
# variable a user's setting can make long: it alone is checked here, the whole environment
# by CreateFunction (and by the local provisioning).
LAMBDA_ENVIRONMENT_LIMIT = 4 * 1024


def processing_steps_value(steps: Sequence[str]) -> str:
    """The environment value for the steps, each entry checked."""
    entries = [step.strip() for step in steps]
    for entry in entries:
        if not _STEP_ENTRY.fullmatch(entry):
            raise SettingError(
                f"processing step {entry!r} is not 'module:function' or 'name=module:function'"
            )
    value = ",".join(entries)
    size = len(contract.ENV_PROCESSING_STEPS) + len(value.encode())
    if size > LAMBDA_ENVIRONMENT_LIMIT:
        raise SettingError(
            f"processing steps: {contract.ENV_PROCESSING_STEPS} would be {size} bytes with its name,"
            f" over the {LAMBDA_ENVIRONMENT_LIMIT} Lambda allows for a function's whole environment"
        )
    return value


class Processing(Construct):
    """The S3 object processor: an async-invoked function whose failures are kept."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        environment_suffix: str,
        code: lambda_.Code,
        processing_steps: Sequence[str] | None = None,
        memory_mb: int = MEMORY_SIZE,
        timeout: Duration = TIMEOUT,
        removal_policy: RemovalPolicy = RemovalPolicy.DESTROY,
        step_permissions: Sequence[StepPermission] = (),
        step_packages: Sequence[str] | None = None,
        step_requirements: str | None = None,
        reserved_concurrency: int | None = None,
    ) -> None:
        """``removal_policy`` applies to the log group and the failure queue;
        ``step_permissions`` are what the steps need beyond the trigger bucket.

        With processing steps the function runs its own asset: ``code``'s layout plus
        ``step_packages`` and ``step_requirements`` (the stack's settings when not given),
        in which every step must import at synth, else a SettingError in one line.
        ``reserved_concurrency`` is the stack's ``processor_reserved_concurrency`` when not given."""
        super().__init__(scope, construct_id)
        function_name = f"s3-object-processor-{environment_suffix}"
        entries = processing_steps_value(processing_steps).split(",") if processing_steps else []
        stack_settings = getattr(Stack.of(self), "settings", None)
        if reserved_concurrency is None and isinstance(stack_settings, PipelineSettings):
            reserved_concurrency = stack_settings.processor_reserved_concurrency
        built = None
        if entries:
            # The stack's resolved settings (its prop, else the context); read here because
            # the stack builds the shared asset before it knows whether steps are registered.
            unset = step_packages is None and step_requirements is None
            if unset and isinstance(stack_settings, PipelineSettings):
                step_packages = stack_settings.step_packages
                step_requirements = stack_settings.step_requirements
            sources = step_sources(step_packages or (), step_requirements, entries)
            built = steps_code(ARCHITECTURE, sources)
            code = built.code
            # In the assembly's manifest, not the template: what `local up --watch` watches.
            self.node.add_metadata(
                contract.STEP_SOURCES_METADATA,
                {
                    "packages": [str(path) for path in sources.packages],
                    "requirements": str(sources.requirements) if sources.requirements else None,
                },
            )

        # Invocations that still fail after Lambda's retries land here with their event,
        # so nothing is dropped; 14 days is SQS's longest retention.
        self.failure_queue = retention_queue(
            self,
            "ProcessorFailureQueue",
            queue_name=f"s3-object-processor-failures-{environment_suffix}",
            why_last="This queue is the function's on-failure destination, the end of the line: a "
            "queue behind it would only move the messages; `s3flow redrive` replays them.",
            removal_policy=removal_policy,
        )
        self.log_group = function_log_group(
            self, "ProcessorLogGroup", function_name=function_name, removal_policy=removal_policy
        )
        # The stack adds the data-plane grants (table writes, object reads); no event
        # publishing: the publisher function sends the events from the table's stream.
        self.role = function_role(
            self,
            "S3ProcessorLambdaRole",
            description=f"Runs {function_name}: writes its records and logs only",
            wildcard_reason=_wildcard_reason(step_permissions),
        )
        self.function = pipeline_function(
            self,
            "S3ObjectProcessor",
            function_name=function_name,
            description="Process S3 object creation events with tracing: one record per object version",
            handler=contract.HANDLER,
            code=code,
            role=self.role,
            log_group=self.log_group,
            environment={contract.ENV_ENVIRONMENT: environment_suffix},
            retry_attempts=ASYNC_RETRY_ATTEMPTS,
            max_event_age=ASYNC_MAX_EVENT_AGE,
            on_failure=destinations.SqsDestination(self.failure_queue),
            memory_mb=memory_mb,
            timeout=timeout,
            # None leaves the property out: the account's unreserved pool, as before the setting.
            reserved_concurrent_executions=reserved_concurrency,
        )
        if built is not None:
            # Binding the code bundled it: the steps were imported from the asset just built.
            if built.error:
                raise SettingError(built.error)
            if built.step_problem:
                raise SettingError(built.step_problem)
            # Users' own steps (docs/extending.md), in the function's own asset.
            self.function.add_environment(contract.ENV_PROCESSING_STEPS, ",".join(entries))
        reason = (
            "Failed async invocations go to the on-failure destination (the failure queue), "
            "which keeps the error with the event; a dead-letter queue would duplicate it."
        )
        accept(self.function, "Serverless-LambdaDLQ", reason)
        accept_checkov(self.function, "CKV_AWS_116", reason)
        for permission in step_permissions:
            self._grant(permission)

    def _grant(self, permission: StepPermission) -> None:
        """One declared permission as statements of the processor's role, each naming its
        actions and resources; only the operator's declaration widens it, never a grant."""
        if isinstance(permission, ReadBucket):
            bucket = permission.bucket_arn or f"arn:{Aws.PARTITION}:s3:::{permission.bucket_name}"
            objects = f"{bucket}/*"
            self.role.add_to_policy(iam.PolicyStatement(actions=["s3:GetObject"], resources=[objects]))
            if permission.list_objects:
                self.role.add_to_policy(iam.PolicyStatement(actions=["s3:ListBucket"], resources=[bucket]))
            shown = permission.bucket_arn or f"arn:<AWS::Partition>:s3:::{permission.bucket_name}"
            accept(
                self.role,
                f"AwsSolutions-IAM5[Resource::{shown}/*]",
                f"Object reads of {permission.bucket_name}, which a processing step declared in "
                "stepPermissions: the step may read any key, so the object part cannot be narrower.",
            )
            return
        self.role.add_to_policy(
            iam.PolicyStatement(actions=list(permission.actions), resources=list(permission.resources))
        )
        for resource in permission.resources:
            if "*" in resource and resource != "*":  # '*' alone: _wildcard_reason names it
                accept(
                    self.role,
                    f"AwsSolutions-IAM5[Resource::{resource}]",
                    f"{', '.join(permission.actions)} on {resource}, as a processing step declared "
                    "in stepPermissions (the operator's own scope for the step's calls).",
                )


def _wildcard_reason(step_permissions: Sequence[StepPermission]) -> str:
    """The cdk-nag reason for the role's statements on '*': X-Ray's, and any a step declared."""
    declared = sorted(
        action
        for permission in step_permissions
        if isinstance(permission, CallService) and "*" in permission.resources
        for action in permission.actions
    )
    if not declared:
        return f"Only {XRAY_WILDCARD_REASON}"
    return (
        f"{XRAY_WILDCARD_REASON} And {', '.join(declared)}, which a processing step declared in "
        "stepPermissions on '*': the operator's declaration that AWS defines no resource for them."
    )
