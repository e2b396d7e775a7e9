"""What provisioning a synthesized template on the local emulator produced.

The contract between the template resolver (``s3flow.local.cloudformation``), which fills
it in from ``cdk.out/``, and the local runtime (Lambda hop, event delivery, CLI),
which acts on it. Values are resolved: names, ARNs and environments as deployed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class AsyncInvokeConfig:
    """AWS::Lambda::EventInvokeConfig, resolved."""

    maximum_retry_attempts: int = 2  # Lambda's default
    maximum_event_age_seconds: int = 21600  # Lambda's default: 6 hours
    on_failure_arn: str | None = None  # SQS queue ARN (only SQS is supported locally)
    on_success_arn: str | None = None  # recorded as in the template; not delivered locally


@dataclass(frozen=True)
class FunctionSpec:
    """AWS::Lambda::Function, resolved: what the local runtime needs to run it."""

    logical_id: str
    name: str
    arn: str
    handler: str  # e.g. "s3flow.functions.processor.handler.handler"
    runtime: str
    timeout_seconds: int
    memory_mb: int
    environment: dict[str, str]
    tracing_active: bool
    async_config: AsyncInvokeConfig = field(default_factory=AsyncInvokeConfig)
    log_group: str = ""  # LoggingConfig.LogGroup, else /aws/lambda/{name}
    reserved_concurrency: int | None = None  # ReservedConcurrentExecutions, if set
    # LoggingConfig.ApplicationLogLevel (LogFormat JSON): Lambda's AWS_LAMBDA_LOG_LEVEL.
    application_log_level: str | None = None
    # The function's asset folder in the cloud assembly (its Code): what the sandbox imports the
    # handler from. None only for a template provisioned without its assembly (hand-written ones
    # in the emulator's tests): the sandbox then imports from the emulator's own path.
    code_directory: str | None = None
    # Folders behind code_directory on the handler's import path: the asset as synthesized,
    # when code_directory holds only the packages a reload changed (``s3flow local up
    # --watch``, ``lambda_.code_update``). Empty for an asset as synthesized.
    code_beneath: tuple[str, ...] = ()
    # The execution role (its ARN, as the template's Role resolves): what the sandbox's
    # credentials identify, and whose policies the emulator evaluates for its requests.
    role_arn: str | None = None
    # EphemeralStorage.Size: the size of each sandbox's /tmp (lambda_.ephemeral_storage).
    ephemeral_storage_mb: int = 512


@dataclass(frozen=True)
class BucketNotification:
    """One LambdaFunctionConfiguration of a Custom::S3BucketNotifications, resolved."""

    bucket: str
    function_arn: str
    events: tuple[str, ...]  # e.g. ("s3:ObjectCreated:*",)
    prefix: str = ""
    suffix: str = ""


@dataclass(frozen=True)
class StreamMapping:
    """AWS::Lambda::EventSourceMapping on a DynamoDB stream, resolved (the local poller's settings).

    ``-1`` means infinite for ``maximum_retry_attempts`` and ``maximum_record_age_seconds``,
    as on AWS. ``filter_patterns`` holds each ``FilterCriteria.Filters[].Pattern`` (JSON text).
    """

    logical_id: str
    uuid: str  # the mapping's Ref
    function_arn: str
    event_source_arn: str  # the stream's ARN
    starting_position: str  # TRIM_HORIZON or LATEST
    batch_size: int = 100  # Lambda's default for DynamoDB streams
    maximum_retry_attempts: int = -1
    bisect_batch_on_function_error: bool = False
    maximum_record_age_seconds: int = -1
    maximum_batching_window_seconds: int = 0  # 0: invoke as soon as records are read
    report_batch_item_failures: bool = False  # FunctionResponseTypes holds ReportBatchItemFailures
    filter_patterns: tuple[str, ...] = ()
    on_failure_arn: str | None = None  # SQS queue ARN (only SQS is supported locally)
    enabled: bool = True


@dataclass
class PolicyStore:
    """The template's IAM policies, resolved, as the emulator's IAM evaluation reads them.

    ``identity``: role ARN -> the documents of its inline, attached and ``AWS::IAM::Policy``
    policies. ``resource``: resource ARN -> its resource-based policies (bucket, queue, topic,
    key policies; a function's ``AWS::Lambda::Permission`` statements). ``account_logs``: the
    account's CloudWatch Logs resource policies, which apply to every log group.
    """

    identity: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    resource: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    account_logs: list[dict[str, Any]] = field(default_factory=list)
    # Resource ARNs that are KMS keys: their key policy must allow (identity alone cannot).
    kms_keys: set[str] = field(default_factory=set)

    def add_identity(self, role_arn: str, document: dict[str, Any]) -> None:
        self.identity.setdefault(role_arn, []).append(document)

    def add_resource(self, resource_arn: str, document: dict[str, Any]) -> None:
        self.resource.setdefault(resource_arn, []).append(document)


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
    stream_mappings: list[StreamMapping] = field(default_factory=list)
    stack_id: str = ""  # as moto's CloudFormation registered it
    # Set when provisioning left the registration in moto's CloudFormation to its caller
    # (``provision(fresh_emulator=True)``); None once registered.
    register_stack: Callable[[], None] | None = None
    resource_types: dict[str, str] = field(default_factory=dict)  # logical id -> resource type
    auto_delete_buckets: list[str] = field(default_factory=list)  # Custom::S3AutoDeleteObjects intent
    # Buckets the stack uses but does not define (an existing bucket), made empty on the emulator.
    stand_in_buckets: list[str] = field(default_factory=list)
    # (role name, policy ARN) pairs moto could not attach: AWS-managed policies not loaded.
    unattached_policies: list[tuple[str, str]] = field(default_factory=list)
    # Bucket policy Deny statements with a Condition, by policy logical id: moto cannot evaluate
    # conditions (it denies as if they matched), so they are kept here instead of applied.
    unenforced_policy_statements: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    policies: PolicyStore = field(default_factory=PolicyStore)

    def function_by_arn(self, arn: str) -> FunctionSpec:
        for spec in self.functions.values():
            if spec.arn == arn:
                return spec
        raise KeyError(arn)
