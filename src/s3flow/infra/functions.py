"""What the pipeline's functions share: one asset, runtime, size, tracing, role and log baseline.

The processor and the publisher run the same bundled asset with different handlers
(``contract.HANDLER``, ``contract.PUBLISHER_HANDLER``); everything here is decided once
for both, and each construct adds only what is its own (grants, triggers, failure handling).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from s3flow.infra.bundling import processor_code
from s3flow.infra.events import LOG_GROUP_KMS_REASON
from s3flow.infra.findings import accept, accept_checkov

ARCHITECTURE = lambda_.Architecture.ARM_64
RUNTIME = lambda_.Runtime.PYTHON_3_13
MEMORY_SIZE = 256
TIMEOUT = Duration.minutes(5)
LOG_RETENTION = logs.RetentionDays.ONE_MONTH

XRAY_WILDCARD_REASON = (
    "xray:PutTraceSegments and xray:PutTelemetryRecords (added by active tracing): X-Ray has "
    "no resource-level permissions for them, so '*' is the only resource."
)


def function_code() -> lambda_.Code:
    """The one asset both functions run; bind the same object to both so it is bundled once."""
    return processor_code(ARCHITECTURE)


def function_log_group(
    scope: Construct,
    construct_id: str,
    *,
    function_name: str,
    removal_policy: RemovalPolicy = RemovalPolicy.DESTROY,
) -> logs.LogGroup:
    """The function's own log group, kept a month; deleted with the stack unless retained."""
    log_group = logs.LogGroup(
        scope,
        construct_id,
        log_group_name=f"/aws/lambda/{function_name}",
        retention=LOG_RETENTION,
        removal_policy=removal_policy,
    )
    accept_checkov(log_group, "CKV_AWS_158", LOG_GROUP_KMS_REASON)
    return log_group


def function_role(scope: Construct, construct_id: str, *, description: str, wildcard_reason: str) -> iam.Role:
    """A role only Lambda may assume, with no AWS managed policy: its owner adds each permission.

    ``wildcard_reason`` names every action the role's owner grants on ``*`` and why AWS
    allows nothing narrower; it is the cdk-nag acknowledgement for those statements.
    """
    role = iam.Role(
        scope,
        construct_id,
        assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
        description=description,
    )
    accept(role, "AwsSolutions-IAM5[Resource::*]", wildcard_reason)
    return role


def pipeline_function(
    scope: Construct,
    construct_id: str,
    *,
    function_name: str,
    description: str,
    handler: str,
    code: lambda_.Code,
    role: iam.Role,
    log_group: logs.LogGroup,
    environment: Mapping[str, str],
    memory_mb: int = MEMORY_SIZE,
    timeout: Duration = TIMEOUT,
    **props: Any,
) -> lambda_.Function:
    """A function of the shared asset: arm64, Python 3.13, X-Ray active; 256 MB and 5 min
    unless its owner passes the operator's settings.

    No Lambda Insights layer: the extension adds cold-start time and a per-invocation cost,
    and the functions publish their own metrics in CloudWatch embedded metric format, which
    Monitoring alarms on.
    """
    function = lambda_.Function(
        scope,
        construct_id,
        function_name=function_name,
        description=description,
        runtime=RUNTIME,
        architecture=ARCHITECTURE,
        handler=handler,
        code=code,
        role=role,
        memory_size=memory_mb,
        timeout=timeout,
        tracing=lambda_.Tracing.ACTIVE,
        log_group=log_group,
        environment=dict(environment),
        **props,
    )
    log_group.grant_write(role)
    for rule in ("AwsSolutions-L1", "Serverless-LambdaLatestVersion"):
        accept(
            function,
            rule,
            "Python 3.13 is the runtime the pipeline is built and tested for; the code is "
            "tested on it. Moving to a newer runtime is a contract change, not a scan fix.",
        )
    accepted = {
        "CKV_AWS_117": "The function only calls AWS public endpoints (those its role names) over "
        "TLS; a VPC would add NAT or endpoint cost and cold-start time, no isolation.",
        "CKV_AWS_115": "No reserved concurrency: a reservation must leave the account 100 "
        "unreserved and new accounts have 10 in total, so it would fail to deploy there; the "
        "alarms watch errors and throttles on the shared limit instead.",
        "CKV_AWS_173": "The environment holds resource names only, no secrets; Lambda encrypts "
        "it at rest with its AWS managed key already.",
    }
    for check_id, reason in accepted.items():
        accept_checkov(function, check_id, reason)
    return function
