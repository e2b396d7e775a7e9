"""What provisioning a synthesized template on the local emulator produced.

The contract between the template resolver (``s3flow.local.template``), which fills
it in from ``cdk.out/``, and the local runtime (Lambda hop, event delivery, CLI),
which acts on it. Values are resolved: names, ARNs and environments as deployed.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class AsyncInvokeConfig:
    """AWS::Lambda::EventInvokeConfig, resolved."""

    maximum_retry_attempts: int = 2  # Lambda's default
    maximum_event_age_seconds: int = 21600  # Lambda's default: 6 hours
    on_failure_arn: str | None = None  # SQS queue ARN (only SQS is supported locally)


@dataclass(frozen=True)
class FunctionSpec:
    """AWS::Lambda::Function, resolved: what the local runtime needs to run it."""

    logical_id: str
    name: str
    arn: str
    handler: str  # e.g. "s3flow.processor.handler.handler"
    runtime: str
    timeout_seconds: int
    memory_mb: int
    environment: dict[str, str]
    tracing_active: bool
    async_config: AsyncInvokeConfig = field(default_factory=AsyncInvokeConfig)


@dataclass(frozen=True)
class BucketNotification:
    """One LambdaFunctionConfiguration of a Custom::S3BucketNotifications, resolved."""

    bucket: str
    function_arn: str
    events: tuple[str, ...]  # e.g. ("s3:ObjectCreated:*",)
    prefix: str = ""
    suffix: str = ""


@dataclass
class Deployment:
    """Everything provisioned from one stack template."""

    stack_name: str
    region: str
    account: str
    outputs: dict[str, str] = field(default_factory=dict)  # output key -> resolved value
    physical_ids: dict[str, str] = field(default_factory=dict)  # logical id -> Ref value
    functions: dict[str, FunctionSpec] = field(default_factory=dict)  # by function name
    notifications: list[BucketNotification] = field(default_factory=list)

    def function_by_arn(self, arn: str) -> FunctionSpec:
        for spec in self.functions.values():
            if spec.arn == arn:
                return spec
        raise KeyError(arn)
