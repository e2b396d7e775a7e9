"""Provision a synthesized CDK stack template on the local emulator (moto in server mode).

``provision(cdk_out, "TapStackdev", endpoint_url=...)`` reads
``cdk.out/TapStackdev.template.json`` (the same CloudFormation that ``cdk deploy`` sends to
AWS), resolves it, creates every resource in moto through boto3 in dependency order, and
returns a :class:`~s3flow.local.deployment.Deployment` for the local runtime.

Why not moto's own CloudFormation: with moto 5.2.5 a CDK template does not deploy. It needs
the bootstrap SSM parameter, resolves ``Ref`` to an event bus to the wrong value, drops bucket
versioning and ``TracingConfig``, and never finishes a stack holding ``Custom::`` resources.
This module is a small resolver over the resource types our stack uses instead; the stack is
still registered in moto's CloudFormation afterwards (a one-resource stand-in template whose
outputs are the resolved values), so ``describe_stacks(...)["Stacks"][0]["Outputs"]`` reads
the same locally as on AWS.

Template features supported:

- Intrinsics: ``Ref``, ``Fn::GetAtt`` (list and ``"Id.Attr"`` forms), ``Fn::Join``,
  ``Fn::Sub`` (string and ``[string, variables]`` forms, ``${!Literal}``), ``Fn::Select``,
  ``Fn::Split``, ``Fn::GetAZs`` (``<region>a``..``c``), ``Fn::FindInMap``, ``Fn::Base64``,
  ``Fn::If`` and the condition functions ``Fn::Equals``/``Fn::And``/``Fn::Or``/``Fn::Not``.
- Pseudo parameters: ``AWS::AccountId`` (the emulator's account as STS reports it: moto's
  default is 123456789012),
  ``AWS::Region``, ``AWS::Partition``, ``AWS::URLSuffix``, ``AWS::StackName``,
  ``AWS::StackId`` (the id moto's CloudFormation gives the registered stack; a template
  that uses it is registered before its resources are created and updated after),
  ``AWS::NoValue`` (removes the property or list item), ``AWS::NotificationARNs``.
- ``Parameters`` take their defaults (or ``parameters=`` overrides). CDK's ``BootstrapVersion``
  parameter is an SSM lookup of the bootstrap stack's version and the ``Rules`` section only
  asserts that version; neither means anything without a bootstrapped account, so both are
  ignored locally. Referencing an SSM-typed parameter is an error.
- ``Conditions`` on resources and outputs; ``DependsOn``. Creation order is a topological
  order of ``Ref``/``Fn::GetAtt``/``Fn::Sub``/``DependsOn`` edges (template order breaks ties).

Resource types (one handler each; anything else, including any other ``Custom::`` type, raises
:class:`UnsupportedResourceError` naming the type and logical id, and a property a handler
does not know raises it too, naming the property: nothing is skipped silently):

- Created in moto: ``AWS::DynamoDB::Table`` (keys, GSIs/LSIs, billing, streams, SSE, TTL,
  tags, PITR via ``UpdateContinuousBackups``), ``AWS::S3::Bucket`` (versioning, encryption,
  public access block, lifecycle, access logging, ownership, tags), ``AWS::S3::BucketPolicy``
  (a Deny with a ``Condition`` is recorded in ``Deployment.unenforced_policy_statements``, not
  applied: moto evaluates conditions as met, so CDK's TLS-only Deny would refuse every request
  to the plain-HTTP local endpoint), ``AWS::SQS::Queue``, ``AWS::SQS::QueuePolicy``,
  ``AWS::Events::EventBus``, ``AWS::Events::Rule`` (pattern, state, targets with input
  transformation, dead-letter and retry settings), ``AWS::Logs::LogGroup``,
  ``AWS::Logs::ResourcePolicy``, ``AWS::IAM::Role``, ``AWS::IAM::Policy``, ``AWS::SNS::Topic``,
  ``AWS::SNS::TopicPolicy``, ``AWS::SNS::Subscription``, ``AWS::CloudWatch::Alarm``,
  ``AWS::CloudWatch::Dashboard``, ``AWS::KMS::Key`` (policy, rotation), ``AWS::KMS::Alias``.
- Recorded, not created: ``AWS::Lambda::Function`` (moto runs code only in Docker; the local
  runtime runs it from a :class:`FunctionSpec`; functions that only serve CDK custom resources
  get a physical id and nothing else; ``LoggingConfig.ApplicationLogLevel``, which needs
  ``LogFormat: JSON``, becomes the sandbox's ``AWS_LAMBDA_LOG_LEVEL``, ``SystemLogLevel`` is
  ignored, and wins over an ``AWS_LAMBDA_LOG_LEVEL`` the ``Environment`` sets; an ``Environment``
  setting a variable Lambda reserves is an error), ``AWS::Lambda::EventInvokeConfig`` (the spec's
  ``async_config``), ``AWS::Lambda::Permission`` (physical id only),
  ``AWS::Lambda::EventSourceMapping`` on a DynamoDB stream (``Deployment.stream_mappings``,
  polled by ``s3flow.local.stream_mapping``; a mapping on any other source is refused). A
  table's ``StreamSpecification`` goes to moto, whose stream ARN is ``Fn::GetAtt Table.StreamArn``.
- ``AWS::CDK::Metadata``, the version report the CDK CLI adds to the assemblies it writes
  (``npx cdk synth``, ``cdk deploy``): recorded, as CloudFormation creates nothing for it.
- CDK custom resources, applied by their intent: ``Custom::S3BucketNotifications`` (Lambda
  configurations become ``Deployment.notifications``: given to moto, its bucket would try to
  invoke the function through Docker and swallow the failure; queue, topic and EventBridge
  configurations go to moto), ``Custom::S3AutoDeleteObjects`` (``Deployment.auto_delete_buckets``),
  and ``AwsCustomResource`` types (``Custom::CloudwatchLogResourcePolicy``, ``Custom::AWS``)
  whose ``Create`` SDK call is ``CloudWatchLogs.putResourcePolicy``.

AWS-managed IAM policies (``arn:aws:iam::aws:policy/...``) exist in moto only when it was
started with ``MOTO_IAM_LOAD_MANAGED_POLICIES=true``; otherwise the attachment is logged as a
warning and listed in ``Deployment.unattached_policies``. If provisioning fails part way, no
stack is left registered; resources already created stay (there is no rollback), so provision
onto a fresh emulator. A stack already registered there raises :class:`StackExistsError`.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import re
import uuid
import warnings
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import ClientError

from s3flow import contract
from s3flow.local.deployment import (
    AsyncInvokeConfig,
    BucketNotification,
    Deployment,
    FunctionSpec,
    StreamMapping,
)
from s3flow.local.errors import LocalError
from s3flow.local.stream_mapping import parse_filters

log = logging.getLogger(__name__)

MOTO_ACCOUNT_ID = "123456789012"
PLACEHOLDER_TYPE = "AWS::CloudFormation::WaitConditionHandle"
# moto accepts the stand-in resource but warns that it has no model for it; when moto runs in
# this process (tests, `s3flow local up`) that warning is about our own placeholder: noise.
warnings.filterwarnings("ignore", message=f"Tried to parse {PLACEHOLDER_TYPE}", category=UserWarning)


class ProvisionError(LocalError):
    """Base error of local provisioning."""


class TemplateNotFoundError(ProvisionError):
    def __init__(self, path: Path) -> None:
        super().__init__(f"no synthesized template at {path}")
        self.path = path


class TemplateError(ProvisionError):
    """The template uses something this resolver cannot evaluate."""


class UnsupportedResourceError(ProvisionError):
    def __init__(self, resource_type: str, logical_id: str, detail: str = "") -> None:
        message = f"resource type {resource_type} ({logical_id}) is not supported locally"
        super().__init__(f"{message}: {detail}" if detail else message)
        self.resource_type = resource_type
        self.logical_id = logical_id


class StackExistsError(ProvisionError):
    def __init__(self, stack_name: str, endpoint_url: str) -> None:
        super().__init__(f"stack {stack_name} is already provisioned on {endpoint_url}")
        self.stack_name = stack_name


# --------------------------------------------------------------------------- resolution


class _NoValue:
    def __repr__(self) -> str:
        return "AWS::NoValue"


NO_VALUE: Any = _NoValue()
_SUB_VARIABLE = re.compile(r"\$\{([^}]*)\}")
_CONDITION_FUNCTIONS = ("Fn::Equals", "Fn::And", "Fn::Or", "Fn::Not")


@dataclass
class Resolver:
    """Evaluates intrinsic functions against resources created so far. No AWS calls."""

    template: Mapping[str, Any]
    stack_name: str
    region: str
    account: str = MOTO_ACCOUNT_ID
    stack_id: str = ""
    parameter_overrides: Mapping[str, str] = field(default_factory=dict)
    refs: dict[str, Any] = field(default_factory=dict)  # logical id -> Ref value
    attributes: dict[str, dict[str, Any]] = field(default_factory=dict)  # logical id -> GetAtt
    _conditions: dict[str, bool] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        partition = "aws-cn" if self.region.startswith("cn-") else "aws"
        self.pseudo: dict[str, Any] = {
            "AWS::AccountId": self.account,
            "AWS::Region": self.region,
            "AWS::Partition": partition,
            "AWS::URLSuffix": "amazonaws.com.cn" if partition == "aws-cn" else "amazonaws.com",
            "AWS::StackName": self.stack_name,
            "AWS::StackId": self.stack_id,
            "AWS::NoValue": NO_VALUE,
            "AWS::NotificationARNs": [],
        }

    def set_stack_id(self, stack_id: str) -> None:
        self.stack_id = self.pseudo["AWS::StackId"] = stack_id

    # ------------------------------------------------------------ parameters, conditions

    def parameter(self, name: str) -> Any:
        spec = self.template.get("Parameters", {})[name]
        if name in self.parameter_overrides:
            value: Any = self.parameter_overrides[name]
        elif str(spec.get("Type", "")).startswith("AWS::SSM::Parameter::"):
            raise TemplateError(f"parameter {name} is an SSM lookup, which has no local value")
        elif "Default" in spec:
            value = spec["Default"]
        else:
            raise TemplateError(f"parameter {name} has no default; pass it in parameters")
        kind = str(spec.get("Type", "String"))
        if kind == "CommaDelimitedList" or kind.startswith("List<"):
            return [item.strip() for item in str(value).split(",")] if isinstance(value, str) else value
        return str(value)

    def condition(self, name: str) -> bool:
        if name not in self._conditions:
            conditions = self.template.get("Conditions", {})
            if name not in conditions:
                raise TemplateError(f"unknown condition {name}")
            self._conditions[name] = bool(self._condition_value(conditions[name]))
        return self._conditions[name]

    def _condition_value(self, value: Any) -> Any:
        if isinstance(value, dict) and len(value) == 1:
            ((key, arg),) = value.items()
            if key == "Condition":
                return self.condition(arg)
            if key == "Fn::Equals":
                left, right = (self._condition_value(item) for item in arg)
                return str(left) == str(right)
            if key == "Fn::And":
                return all(self._condition_value(item) for item in arg)
            if key == "Fn::Or":
                return any(self._condition_value(item) for item in arg)
            if key == "Fn::Not":
                return not self._condition_value(arg[0])
        return self.resolve(value)

    # ------------------------------------------------------------ intrinsics

    def resolve(self, value: Any) -> Any:
        """Resolve every intrinsic in ``value``; ``AWS::NoValue`` drops keys and items."""
        if isinstance(value, list):
            items = [self.resolve(item) for item in value]
            return [item for item in items if item is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, arg),) = value.items()
            if key == "Ref" or key.startswith("Fn::"):
                return self._intrinsic(key, arg)
        resolved = {key: self.resolve(item) for key, item in value.items()}
        return {key: item for key, item in resolved.items() if item is not NO_VALUE}

    def _intrinsic(self, key: str, arg: Any) -> Any:
        handlers: dict[str, Callable[[Any], Any]] = {
            "Ref": self._ref,
            "Fn::GetAtt": self._get_att,
            "Fn::Join": self._join,
            "Fn::Sub": self._sub,
            "Fn::Select": self._select,
            "Fn::Split": self._split,
            "Fn::GetAZs": self._get_azs,
            "Fn::FindInMap": self._find_in_map,
            "Fn::Base64": lambda a: base64.b64encode(self._string(a).encode()).decode(),
            "Fn::If": self._if,
        }
        if key in handlers:
            return handlers[key](arg)
        if key in _CONDITION_FUNCTIONS:
            return self._condition_value({key: arg})
        raise TemplateError(f"intrinsic function {key} is not supported locally")

    def _ref(self, name: Any) -> Any:
        name = self.resolve(name)
        if name in self.pseudo:
            return self.pseudo[name]
        if name in self.template.get("Parameters", {}):
            return self.parameter(name)
        if name in self.refs:
            return self.refs[name]
        if name in self.template.get("Resources", {}):
            raise TemplateError(f"Ref to {name}, which is not created (yet, or by its condition)")
        raise TemplateError(f"Ref to unknown name {name}")

    def _get_att(self, arg: Any) -> Any:
        logical_id, attribute = arg.split(".", 1) if isinstance(arg, str) else arg
        attribute = self.resolve(attribute)
        if logical_id not in self.attributes:
            if logical_id in self.template.get("Resources", {}):
                raise TemplateError(f"Fn::GetAtt of {logical_id}, which is not created (yet)")
            raise TemplateError(f"Fn::GetAtt of unknown resource {logical_id}")
        attributes = self.attributes[logical_id]
        if attribute not in attributes:
            raise TemplateError(f"{logical_id} has no attribute {attribute} locally")
        return attributes[attribute]

    def _join(self, arg: Any) -> str:
        delimiter, items = arg
        return self._string(delimiter).join(self._string(item) for item in self._list(items))

    def _sub(self, arg: Any) -> str:
        text, variables = (arg, {}) if isinstance(arg, str) else arg
        values = {name: self.resolve(value) for name, value in variables.items()}

        def substitute(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in values:
                return self._string(values[name])
            if "." in name and name not in self.pseudo:
                return self._string(self._get_att(name))
            return self._string(self._ref(name))

        return _SUB_VARIABLE.sub(substitute, text)

    def _select(self, arg: Any) -> Any:
        index, items = arg
        items = self._list(items)
        position = int(self.resolve(index))
        if not 0 <= position < len(items):
            raise TemplateError(f"Fn::Select index {position} out of range for {len(items)} items")
        return items[position]

    def _split(self, arg: Any) -> list[str]:
        delimiter, text = arg
        return self._string(text).split(self._string(delimiter))

    def _get_azs(self, arg: Any) -> list[str]:
        region = self.resolve(arg) or self.region
        return [f"{region}{zone}" for zone in "abc"]

    def _find_in_map(self, arg: Any) -> Any:
        map_name, top, second = (self.resolve(item) for item in arg)
        try:
            return self.template["Mappings"][map_name][top][second]
        except KeyError as error:
            raise TemplateError(f"Fn::FindInMap: no {map_name}/{top}/{second}") from error

    def _if(self, arg: Any) -> Any:
        name, when_true, when_false = arg
        return self.resolve(when_true if self.condition(name) else when_false)

    def _list(self, value: Any) -> list[Any]:
        resolved = self.resolve(value)
        if not isinstance(resolved, list):
            raise TemplateError(f"expected a list, got {resolved!r}")
        return resolved

    def _string(self, value: Any) -> str:
        resolved = self.resolve(value)
        if isinstance(resolved, bool):
            return "true" if resolved else "false"
        if isinstance(resolved, (str, int, float)):
            return str(resolved)
        raise TemplateError(f"expected a string, got {resolved!r}")


def references(value: Any) -> set[str]:
    """Logical names a template fragment refers to (Ref, Fn::GetAtt, Fn::Sub variables)."""
    found: set[str] = set()
    if isinstance(value, list):
        for item in value:
            found |= references(item)
    elif isinstance(value, dict):
        for key, arg in value.items():
            if key == "Ref" and isinstance(arg, str):
                found.add(arg)
            elif key == "Fn::GetAtt":
                found.add(arg.split(".", 1)[0] if isinstance(arg, str) else arg[0])
            elif key == "Fn::Sub":
                text, variables = (arg, {}) if isinstance(arg, str) else arg
                own = set(variables) if isinstance(variables, dict) else set()
                for name in _SUB_VARIABLE.findall(text if isinstance(text, str) else ""):
                    if not name.startswith("!") and name not in own:
                        found.add(name.split(".", 1)[0] if "." in name else name)
                found |= references(variables)
            else:
                found |= references(arg)
    return found


def creation_order(resources: Mapping[str, Any]) -> list[str]:
    """Logical ids so that each comes after what it references; template order breaks ties."""
    depends: dict[str, set[str]] = {}
    for logical_id, resource in resources.items():
        explicit = resource.get("DependsOn", [])
        explicit = [explicit] if isinstance(explicit, str) else list(explicit)
        for name in explicit:
            if name not in resources:
                raise TemplateError(f"{logical_id} DependsOn unknown resource {name}")
        depends[logical_id] = (references(resource) | set(explicit)) & set(resources) - {logical_id}
    order: list[str] = []
    placed: set[str] = set()
    while len(order) < len(resources):
        ready = [lid for lid in resources if lid not in placed and depends[lid] <= placed]
        if not ready:
            cycle = sorted(lid for lid in resources if lid not in placed)
            raise TemplateError(f"circular dependency among {', '.join(cycle)}")
        order.append(ready[0])
        placed.add(ready[0])
    return order


# --------------------------------------------------------------------------- provisioning


@dataclass(frozen=True)
class Created:
    """What a handler made: the Ref value and the Fn::GetAtt attributes."""

    physical_id: str
    attributes: dict[str, Any] = field(default_factory=dict)


def physical_name(stack_name: str, logical_id: str, *, max_length: int, lower: bool = False) -> str:
    """A CloudFormation-style generated name, ``{stack}-{logicalId}-{SUFFIX}``, deterministic."""
    suffix = hashlib.sha256(f"{stack_name}/{logical_id}".encode()).hexdigest()[:12].upper()
    room = max_length - len(suffix) - 2
    stack_part = stack_name[: max(room // 2, room - len(logical_id))]
    name = f"{stack_part}-{logical_id[: room - len(stack_part)]}-{suffix}"
    return name.lower() if lower else name


def _tags(tags: list[dict[str, str]] | None) -> dict[str, str]:
    return {tag["Key"]: tag["Value"] for tag in tags or []}


def _flag(value: Any) -> bool:
    """A CloudFormation boolean: true/false, or their strings."""
    return value is True or str(value).lower() == "true"


_DYNAMODB_STREAM_ARN = re.compile(r"^arn:aws[\w-]*:dynamodb:[^:]+:\d+:table/[^/]+/stream/.+$")
# Keys Lambda refuses in a function's Environment because its runtime sets them
# (docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html).
_RESERVED_VARIABLES = frozenset(
    [
        "_HANDLER",
        "_X_AMZN_TRACE_ID",
        "AWS_DEFAULT_REGION",
        "AWS_REGION",
        "AWS_EXECUTION_ENV",
        "AWS_LAMBDA_FUNCTION_NAME",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
        "AWS_LAMBDA_FUNCTION_VERSION",
        "AWS_LAMBDA_INITIALIZATION_TYPE",
        "AWS_LAMBDA_LOG_GROUP_NAME",
        "AWS_LAMBDA_LOG_STREAM_NAME",
        "AWS_ACCESS_KEY",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_LAMBDA_RUNTIME_API",
        "LAMBDA_TASK_ROOT",
        "LAMBDA_RUNTIME_DIR",
    ]
)
_APPLICATION_LOG_LEVELS = ("TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL")


def _sdk_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value) if isinstance(value, (dict, list)) else str(value)


_SDK_CALL_TYPES = ("Custom::CloudwatchLogResourcePolicy", "Custom::AWS")
_KNOWN_PROPERTIES: dict[str, frozenset[str]] = {
    "AWS::DynamoDB::Table": frozenset(
        [
            "TableName",
            "AttributeDefinitions",
            "KeySchema",
            "BillingMode",
            "ProvisionedThroughput",
            "GlobalSecondaryIndexes",
            "LocalSecondaryIndexes",
            "StreamSpecification",
            "SSESpecification",
            "Tags",
            "TableClass",
            "DeletionProtectionEnabled",
            "PointInTimeRecoverySpecification",
            "TimeToLiveSpecification",
        ]
    ),
    "AWS::S3::Bucket": frozenset(
        [
            "BucketName",
            "VersioningConfiguration",
            "BucketEncryption",
            "PublicAccessBlockConfiguration",
            "LifecycleConfiguration",
            "OwnershipControls",
            "LoggingConfiguration",
            "Tags",
            "ObjectLockEnabled",
        ]
    ),
    "AWS::S3::BucketPolicy": frozenset({"Bucket", "PolicyDocument"}),
    "AWS::SQS::Queue": frozenset(
        [
            "QueueName",
            "DelaySeconds",
            "MaximumMessageSize",
            "MessageRetentionPeriod",
            "ReceiveMessageWaitTimeSeconds",
            "VisibilityTimeout",
            "KmsMasterKeyId",
            "KmsDataKeyReusePeriodSeconds",
            "SqsManagedSseEnabled",
            "FifoQueue",
            "ContentBasedDeduplication",
            "DeduplicationScope",
            "FifoThroughputLimit",
            "RedrivePolicy",
            "RedriveAllowPolicy",
            "Tags",
        ]
    ),
    "AWS::SQS::QueuePolicy": frozenset({"Queues", "PolicyDocument"}),
    "AWS::Events::EventBus": frozenset({"Name", "Description", "Tags", "EventSourceName"}),
    "AWS::Events::Rule": frozenset(
        [
            "Name",
            "Description",
            "EventBusName",
            "EventPattern",
            "ScheduleExpression",
            "State",
            "RoleArn",
            "Targets",
        ]
    ),
    "AWS::Logs::LogGroup": frozenset(
        {"LogGroupName", "RetentionInDays", "KmsKeyId", "Tags", "LogGroupClass"}
    ),
    "AWS::Logs::ResourcePolicy": frozenset({"PolicyName", "PolicyDocument"}),
    "AWS::IAM::Role": frozenset(
        [
            "RoleName",
            "Path",
            "AssumeRolePolicyDocument",
            "Description",
            "MaxSessionDuration",
            "PermissionsBoundary",
            "ManagedPolicyArns",
            "Policies",
            "Tags",
        ]
    ),
    "AWS::IAM::Policy": frozenset({"PolicyName", "PolicyDocument", "Roles", "Users", "Groups"}),
    # Code, role, architecture and the rest of the function's deployment settings have no
    # meaning for the local runtime, which runs the processor from the installed package.
    # DeadLetterConfig is left out on purpose: it redirects failed async invocations, and the
    # local runtime follows only the EventInvokeConfig's destination.
    "AWS::Lambda::Function": frozenset(
        [
            "FunctionName",
            "Handler",
            "Runtime",
            "Timeout",
            "MemorySize",
            "Environment",
            "TracingConfig",
            "LoggingConfig",
            "ReservedConcurrentExecutions",
            "Code",
            "Role",
            "Architectures",
            "Description",
            "Tags",
            "Layers",
            "EphemeralStorage",
            "PackageType",
            "KmsKeyArn",
        ]
    ),
    "AWS::Lambda::Permission": frozenset(
        [
            "Action",
            "FunctionName",
            "Principal",
            "SourceAccount",
            "SourceArn",
            "EventSourceToken",
            "PrincipalOrgID",
        ]
    ),
    "AWS::Lambda::EventInvokeConfig": frozenset(
        {"FunctionName", "Qualifier", "MaximumRetryAttempts", "MaximumEventAgeInSeconds", "DestinationConfig"}
    ),
    # Only what the local stream poller honours: parallelization, tumbling windows and the
    # settings of other sources (queues, Kafka, MQ) are refused, not ignored.
    "AWS::Lambda::EventSourceMapping": frozenset(
        [
            "FunctionName",
            "EventSourceArn",
            "StartingPosition",
            "BatchSize",
            "MaximumBatchingWindowInSeconds",
            "MaximumRetryAttempts",
            "BisectBatchOnFunctionError",
            "MaximumRecordAgeInSeconds",
            "FunctionResponseTypes",
            "FilterCriteria",
            "DestinationConfig",
            "Enabled",
            "Tags",
        ]
    ),
    "AWS::SNS::Topic": frozenset(
        [
            "TopicName",
            "DisplayName",
            "KmsMasterKeyId",
            "FifoTopic",
            "ContentBasedDeduplication",
            "Tags",
            "TracingConfig",
            "Subscription",
        ]
    ),
    "AWS::SNS::TopicPolicy": frozenset({"Topics", "PolicyDocument"}),
    "AWS::SNS::Subscription": frozenset(
        [
            "TopicArn",
            "Protocol",
            "Endpoint",
            "Region",
            "FilterPolicy",
            "FilterPolicyScope",
            "RawMessageDelivery",
            "RedrivePolicy",
            "DeliveryPolicy",
            "SubscriptionRoleArn",
        ]
    ),
    "AWS::CloudWatch::Alarm": frozenset(
        [
            "AlarmName",
            "AlarmDescription",
            "ActionsEnabled",
            "AlarmActions",
            "OKActions",
            "InsufficientDataActions",
            "MetricName",
            "Namespace",
            "Statistic",
            "ExtendedStatistic",
            "Dimensions",
            "Period",
            "Unit",
            "EvaluationPeriods",
            "DatapointsToAlarm",
            "Threshold",
            "ComparisonOperator",
            "TreatMissingData",
            "EvaluateLowSampleCountPercentile",
            "Metrics",
            "ThresholdMetricId",
        ]
    ),
    "AWS::CloudWatch::Dashboard": frozenset({"DashboardName", "DashboardBody"}),
    "AWS::KMS::Key": frozenset(
        [
            "Description",
            "Enabled",
            "EnableKeyRotation",
            "KeyPolicy",
            "KeySpec",
            "KeyUsage",
            "MultiRegion",
            "PendingWindowInDays",  # applies to deletion only
            "RotationPeriodInDays",
            "Tags",
        ]
    ),
    "AWS::KMS::Alias": frozenset({"AliasName", "TargetKeyId"}),
    "AWS::CDK::Metadata": frozenset({"Analytics"}),
    "Custom::S3BucketNotifications": frozenset(
        {"ServiceToken", "BucketName", "NotificationConfiguration", "Managed", "SkipDestinationValidation"}
    ),
    "Custom::S3AutoDeleteObjects": frozenset({"ServiceToken", "BucketName"}),
    **{
        kind: frozenset({"ServiceToken", "Create", "Update", "Delete", "InstallLatestAwsSdk", "Timeout"})
        for kind in _SDK_CALL_TYPES
    },
}


class _Provisioner:
    def __init__(
        self, session: boto3.session.Session, endpoint_url: str, resolver: Resolver, deployment: Deployment
    ) -> None:
        self._session = session
        self._endpoint_url = endpoint_url
        self._clients: dict[str, Any] = {}
        self.resolver = resolver
        self.deployment = deployment
        self.deferred: list[Callable[[], Any]] = []
        self.providers = _custom_resource_providers(resolver.template.get("Resources", {}))
        self.handlers: dict[str, Callable[[str, dict[str, Any]], Created]] = {
            "AWS::DynamoDB::Table": self._table,
            "AWS::S3::Bucket": self._bucket,
            "AWS::S3::BucketPolicy": self._bucket_policy,
            "AWS::SQS::Queue": self._queue,
            "AWS::SQS::QueuePolicy": self._queue_policy,
            "AWS::Events::EventBus": self._event_bus,
            "AWS::Events::Rule": self._rule,
            "AWS::Logs::LogGroup": self._log_group,
            "AWS::Logs::ResourcePolicy": self._log_resource_policy,
            "AWS::IAM::Role": self._role,
            "AWS::IAM::Policy": self._policy,
            "AWS::Lambda::Function": self._function,
            "AWS::Lambda::Permission": self._permission,
            "AWS::Lambda::EventInvokeConfig": self._event_invoke_config,
            "AWS::Lambda::EventSourceMapping": self._event_source_mapping,
            "AWS::SNS::Topic": self._topic,
            "AWS::SNS::TopicPolicy": self._topic_policy,
            "AWS::SNS::Subscription": self._subscription,
            "AWS::CloudWatch::Alarm": self._alarm,
            "AWS::CloudWatch::Dashboard": self._dashboard,
            "AWS::KMS::Key": self._key,
            "AWS::KMS::Alias": self._alias,
            "AWS::CDK::Metadata": self._cdk_metadata,
            "Custom::S3BucketNotifications": self._bucket_notifications,
            "Custom::S3AutoDeleteObjects": self._auto_delete_objects,
            **{kind: self._sdk_call for kind in _SDK_CALL_TYPES},
        }

    def client(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = self._session.client(service, endpoint_url=self._endpoint_url)
        return self._clients[service]

    @property
    def stack(self) -> str:
        return self.resolver.stack_name

    @property
    def region(self) -> str:
        return self.resolver.region

    @property
    def account(self) -> str:
        return self.resolver.account

    @property
    def partition(self) -> str:
        return str(self.resolver.pseudo["AWS::Partition"])

    def create(self, logical_id: str, resource: Mapping[str, Any]) -> None:
        kind = resource.get("Type", "")
        handler = self.handlers.get(kind)
        if handler is None:
            raise UnsupportedResourceError(kind, logical_id)
        properties = self.resolver.resolve(resource.get("Properties", {}))
        created = handler(logical_id, properties)
        self.resolver.refs[logical_id] = created.physical_id
        self.resolver.attributes[logical_id] = created.attributes
        self.deployment.physical_ids[logical_id] = created.physical_id
        self.deployment.resource_types[logical_id] = kind

    def _name(self, logical_id: str, given: str | None, *, max_length: int, lower: bool = False) -> str:
        return given or physical_name(self.stack, logical_id, max_length=max_length, lower=lower)

    # ------------------------------------------------------------ DynamoDB

    def _table(self, logical_id: str, props: dict[str, Any]) -> Created:
        name = self._name(logical_id, props.get("TableName"), max_length=255)
        args: dict[str, Any] = {
            "TableName": name,
            "AttributeDefinitions": props["AttributeDefinitions"],
            "KeySchema": props["KeySchema"],
            "BillingMode": props.get("BillingMode", "PROVISIONED"),
        }
        # Index shapes are the same in CloudFormation and the API; boto3 validates them.
        for key in (
            "ProvisionedThroughput",
            "TableClass",
            "DeletionProtectionEnabled",
            "GlobalSecondaryIndexes",
            "LocalSecondaryIndexes",
        ):
            if key in props:
                args[key] = props[key]
        if "StreamSpecification" in props:
            args["StreamSpecification"] = {"StreamEnabled": True, **props["StreamSpecification"]}
        if "SSESpecification" in props:
            sse = props["SSESpecification"]
            args["SSESpecification"] = {
                "Enabled": bool(sse.get("SSEEnabled")),
                **{key: sse[key] for key in ("SSEType", "KMSMasterKeyId") if key in sse},
            }
        if props.get("Tags"):
            args["Tags"] = props["Tags"]
        dynamodb = self.client("dynamodb")
        table = dynamodb.create_table(**args)["TableDescription"]
        pitr = props.get("PointInTimeRecoverySpecification", {})
        if pitr.get("PointInTimeRecoveryEnabled"):
            dynamodb.update_continuous_backups(TableName=name, PointInTimeRecoverySpecification=pitr)
        ttl = props.get("TimeToLiveSpecification")
        if ttl:
            dynamodb.update_time_to_live(TableName=name, TimeToLiveSpecification=ttl)
        attributes = {"Arn": table["TableArn"]}
        if "LatestStreamArn" in table:
            attributes["StreamArn"] = table["LatestStreamArn"]
        return Created(name, attributes)

    # ------------------------------------------------------------ S3

    def _bucket(self, logical_id: str, props: dict[str, Any]) -> Created:
        name = self._name(logical_id, props.get("BucketName"), max_length=63, lower=True)
        s3 = self.client("s3")
        args: dict[str, Any] = {"Bucket": name}
        if self.region != "us-east-1":
            args["CreateBucketConfiguration"] = {"LocationConstraint": self.region}
        if props.get("ObjectLockEnabled"):
            args["ObjectLockEnabledForBucket"] = True
        s3.create_bucket(**args)
        if "VersioningConfiguration" in props:
            s3.put_bucket_versioning(
                Bucket=name, VersioningConfiguration={"Status": props["VersioningConfiguration"]["Status"]}
            )
        if "BucketEncryption" in props:
            rules = [
                {
                    **{key: value for key, value in rule.items() if key != "ServerSideEncryptionByDefault"},
                    "ApplyServerSideEncryptionByDefault": rule["ServerSideEncryptionByDefault"],
                }
                for rule in props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
            ]
            s3.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration={"Rules": rules})
        if "PublicAccessBlockConfiguration" in props:
            s3.put_public_access_block(
                Bucket=name, PublicAccessBlockConfiguration=props["PublicAccessBlockConfiguration"]
            )
        if "OwnershipControls" in props:
            s3.put_bucket_ownership_controls(Bucket=name, OwnershipControls=props["OwnershipControls"])
        if "LoggingConfiguration" in props:
            logging_config = props["LoggingConfiguration"]
            enabled = {
                "TargetBucket": logging_config.get("DestinationBucketName", name),
                "TargetPrefix": logging_config.get("LogFilePrefix", ""),
            }
            # moto checks the destination's bucket policy, which CloudFormation may create
            # later (nothing orders the two), so this waits until every resource exists.
            self.deferred.append(
                lambda: s3.put_bucket_logging(Bucket=name, BucketLoggingStatus={"LoggingEnabled": enabled})
            )
        if "LifecycleConfiguration" in props:
            rules = [_lifecycle_rule(rule) for rule in props["LifecycleConfiguration"]["Rules"]]
            s3.put_bucket_lifecycle_configuration(Bucket=name, LifecycleConfiguration={"Rules": rules})
        if props.get("Tags"):
            s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": props["Tags"]})
        suffix = self.resolver.pseudo["AWS::URLSuffix"]
        return Created(
            name,
            {
                "Arn": f"arn:{self.partition}:s3:::{name}",
                "DomainName": f"{name}.s3.{suffix}",
                "RegionalDomainName": f"{name}.s3.{self.region}.{suffix}",
                "DualStackDomainName": f"{name}.s3.dualstack.{self.region}.{suffix}",
                "WebsiteURL": f"http://{name}.s3-website-{self.region}.{suffix}",
            },
        )

    def _bucket_policy(self, logical_id: str, props: dict[str, Any]) -> Created:
        # moto evaluates a bucket policy on object requests without a request context, so a
        # conditioned Deny always matches: CDK's TLS-only Deny (enforceSSL) would refuse every
        # request to the plain-HTTP local endpoint. Such statements are recorded, not applied.
        document = dict(props["PolicyDocument"])
        statements = document.get("Statement", [])
        statements = [statements] if isinstance(statements, dict) else list(statements)
        skipped = [st for st in statements if st.get("Effect") == "Deny" and "Condition" in st]
        applied = [st for st in statements if st not in skipped]
        if skipped:
            self.deployment.unenforced_policy_statements[logical_id] = skipped
        if applied:
            document["Statement"] = applied
            self.client("s3").put_bucket_policy(Bucket=props["Bucket"], Policy=json.dumps(document))
        return Created(physical_name(self.stack, logical_id, max_length=128))

    # ------------------------------------------------------------ SQS

    def _queue(self, logical_id: str, props: dict[str, Any]) -> Created:
        fifo = bool(props.get("FifoQueue"))
        name = props.get("QueueName") or (
            physical_name(self.stack, logical_id, max_length=75) + ".fifo"
            if fifo
            else physical_name(self.stack, logical_id, max_length=80)
        )
        attributes = {
            key: _sdk_value(value) for key, value in props.items() if key not in ("QueueName", "Tags")
        }
        sqs = self.client("sqs")
        url = sqs.create_queue(QueueName=name, Attributes=attributes, tags=_tags(props.get("Tags")))[
            "QueueUrl"
        ]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        return Created(url, {"Arn": arn, "QueueName": name, "QueueUrl": url})

    def _queue_policy(self, logical_id: str, props: dict[str, Any]) -> Created:
        policy = json.dumps(props["PolicyDocument"])
        for url in props["Queues"]:
            self.client("sqs").set_queue_attributes(QueueUrl=url, Attributes={"Policy": policy})
        return Created(physical_name(self.stack, logical_id, max_length=128))

    # ------------------------------------------------------------ EventBridge

    def _event_bus(self, logical_id: str, props: dict[str, Any]) -> Created:
        args: dict[str, Any] = {"Name": props["Name"]}
        for key in ("Description", "EventSourceName", "Tags"):
            if props.get(key):
                args[key] = props[key]
        arn = self.client("events").create_event_bus(**args)["EventBusArn"]
        return Created(props["Name"], {"Arn": arn, "Name": props["Name"]})

    def _rule(self, logical_id: str, props: dict[str, Any]) -> Created:
        name = self._name(logical_id, props.get("Name"), max_length=64)
        bus = props.get("EventBusName", "default")
        args: dict[str, Any] = {"Name": name, "EventBusName": bus, "State": props.get("State", "ENABLED")}
        for key in ("Description", "ScheduleExpression", "RoleArn"):
            if key in props:
                args[key] = props[key]
        if "EventPattern" in props:
            pattern = props["EventPattern"]
            args["EventPattern"] = pattern if isinstance(pattern, str) else json.dumps(pattern)
        events = self.client("events")
        arn = events.put_rule(**args)["RuleArn"]
        if props.get("Targets"):
            response = events.put_targets(Rule=name, EventBusName=bus, Targets=props["Targets"])
            if response.get("FailedEntryCount"):
                raise ProvisionError(f"{logical_id}: targets rejected: {response['FailedEntries']}")
        # CloudFormation's Ref of a rule on a custom bus is "bus|rule".
        bus_name = bus.rsplit("/", 1)[-1]
        physical_id = name if bus_name == "default" else f"{bus_name}|{name}"
        return Created(physical_id, {"Arn": arn})

    # ------------------------------------------------------------ Logs

    def _log_group(self, logical_id: str, props: dict[str, Any]) -> Created:
        name = self._name(logical_id, props.get("LogGroupName"), max_length=512)
        args: dict[str, Any] = {"logGroupName": name}
        if "KmsKeyId" in props:
            args["kmsKeyId"] = props["KmsKeyId"]
        if "LogGroupClass" in props:
            args["logGroupClass"] = props["LogGroupClass"]
        if props.get("Tags"):
            args["tags"] = _tags(props["Tags"])
        logs = self.client("logs")
        logs.create_log_group(**args)
        if "RetentionInDays" in props:
            logs.put_retention_policy(logGroupName=name, retentionInDays=int(props["RetentionInDays"]))
        return Created(
            name, {"Arn": f"arn:{self.partition}:logs:{self.region}:{self.account}:log-group:{name}:*"}
        )

    def _log_resource_policy(self, logical_id: str, props: dict[str, Any]) -> Created:
        document = props["PolicyDocument"]
        self.client("logs").put_resource_policy(
            policyName=props["PolicyName"],
            policyDocument=document if isinstance(document, str) else json.dumps(document),
        )
        return Created(props["PolicyName"])

    def _sdk_call(self, logical_id: str, props: dict[str, Any]) -> Created:
        kind = self.resolver.template["Resources"][logical_id]["Type"]
        call = props.get("Create")
        call = json.loads(call) if isinstance(call, str) else call
        if not isinstance(call, dict):
            raise UnsupportedResourceError(kind, logical_id, "no Create SDK call")
        service, action = call.get("service"), call.get("action")
        if (service, action) != ("CloudWatchLogs", "putResourcePolicy"):
            raise UnsupportedResourceError(kind, logical_id, f"SDK call {service}.{action}")
        parameters = call.get("parameters", {})
        self.client("logs").put_resource_policy(
            policyName=parameters["policyName"], policyDocument=parameters["policyDocument"]
        )
        physical_id = call.get("physicalResourceId", {}).get("id") or parameters["policyName"]
        return Created(physical_id)

    # ------------------------------------------------------------ IAM

    def _role(self, logical_id: str, props: dict[str, Any]) -> Created:
        name = self._name(logical_id, props.get("RoleName"), max_length=64)
        args: dict[str, Any] = {
            "RoleName": name,
            "AssumeRolePolicyDocument": json.dumps(props["AssumeRolePolicyDocument"]),
        }
        for key in ("Path", "Description", "MaxSessionDuration", "PermissionsBoundary", "Tags"):
            if key in props:
                args[key] = props[key]
        iam = self.client("iam")
        role = iam.create_role(**args)["Role"]
        for arn in props.get("ManagedPolicyArns", []):
            self._attach(name, arn)
        for policy in props.get("Policies", []):
            iam.put_role_policy(
                RoleName=name,
                PolicyName=policy["PolicyName"],
                PolicyDocument=json.dumps(policy["PolicyDocument"]),
            )
        return Created(name, {"Arn": role["Arn"], "RoleId": role["RoleId"]})

    def _attach(self, role: str, policy_arn: str) -> None:
        try:
            self.client("iam").attach_role_policy(RoleName=role, PolicyArn=policy_arn)
        except ClientError as error:
            aws_managed = policy_arn.split(":")[4:5] == ["aws"]
            if error.response["Error"]["Code"] != "NoSuchEntity" or not aws_managed:
                raise
            # Kept in the deployment, logged quietly: moto enforces no IAM on its callers, so
            # the role works locally without it; repeating this on every start is only noise.
            log.info(
                "moto has no AWS-managed policy %s (MOTO_IAM_LOAD_MANAGED_POLICIES); role %s left without it",
                policy_arn,
                role,
            )
            self.deployment.unattached_policies.append((role, policy_arn))

    def _policy(self, logical_id: str, props: dict[str, Any]) -> Created:
        iam = self.client("iam")
        document = json.dumps(props["PolicyDocument"])
        name = props["PolicyName"]
        for role in props.get("Roles", []):
            iam.put_role_policy(RoleName=role, PolicyName=name, PolicyDocument=document)
        for user in props.get("Users", []):
            iam.put_user_policy(UserName=user, PolicyName=name, PolicyDocument=document)
        for group in props.get("Groups", []):
            iam.put_group_policy(GroupName=group, PolicyName=name, PolicyDocument=document)
        return Created(physical_name(self.stack, logical_id, max_length=128))

    # ------------------------------------------------------------ Lambda (recorded only)

    def _function(self, logical_id: str, props: dict[str, Any]) -> Created:
        name = self._name(logical_id, props.get("FunctionName"), max_length=64)
        arn = f"arn:{self.partition}:lambda:{self.region}:{self.account}:function:{name}"
        function = f"AWS::Lambda::Function {logical_id} ({name})"
        variables = props.get("Environment", {}).get("Variables", {})
        _check_environment(function, variables)
        log_level = _application_log_level(function, props.get("LoggingConfig", {}))
        if logical_id not in self.providers:
            if props.get("PackageType", "Zip") != "Zip" or "Handler" not in props:
                raise UnsupportedResourceError(
                    "AWS::Lambda::Function",
                    logical_id,
                    "only zip-packaged functions with a Handler run locally",
                )
            reserved = props.get("ReservedConcurrentExecutions")
            self.deployment.functions[name] = FunctionSpec(
                logical_id=logical_id,
                name=name,
                arn=arn,
                handler=props["Handler"],
                runtime=props.get("Runtime", ""),
                timeout_seconds=int(props.get("Timeout", 3)),
                memory_mb=int(props.get("MemorySize", 128)),
                environment={key: _sdk_value(value) for key, value in variables.items()},
                tracing_active=props.get("TracingConfig", {}).get("Mode") == "Active",
                log_group=props.get("LoggingConfig", {}).get("LogGroup", f"/aws/lambda/{name}"),
                reserved_concurrency=None if reserved is None else int(reserved),
                application_log_level=log_level,
            )
        return Created(name, {"Arn": arn})

    def _cdk_metadata(self, logical_id: str, props: dict[str, Any]) -> Created:
        # The CDK CLI's version report (which CDK modules the stack uses); CloudFormation
        # accepts it and creates nothing, so locally it is recorded and nothing more.
        return Created(physical_name(self.stack, logical_id, max_length=128))

    def _permission(self, logical_id: str, props: dict[str, Any]) -> Created:
        return Created(physical_name(self.stack, logical_id, max_length=128))

    def _event_invoke_config(self, logical_id: str, props: dict[str, Any]) -> Created:
        spec = self._function_spec(logical_id, props["FunctionName"])
        destinations = props.get("DestinationConfig", {})
        config = AsyncInvokeConfig(
            maximum_retry_attempts=int(props.get("MaximumRetryAttempts", 2)),
            maximum_event_age_seconds=int(props.get("MaximumEventAgeInSeconds", 21600)),
            on_failure_arn=destinations.get("OnFailure", {}).get("Destination"),
            on_success_arn=destinations.get("OnSuccess", {}).get("Destination"),
        )
        self.deployment.functions[spec.name] = replace(spec, async_config=config)
        return Created(physical_name(self.stack, logical_id, max_length=128))

    def _event_source_mapping(self, logical_id: str, props: dict[str, Any]) -> Created:
        kind = "AWS::Lambda::EventSourceMapping"
        source = str(props.get("EventSourceArn", ""))
        if not _DYNAMODB_STREAM_ARN.match(source):
            raise UnsupportedResourceError(
                kind,
                logical_id,
                f"event source {source or '(none)'} is not a DynamoDB stream, the only one polled locally",
            )
        position = props.get("StartingPosition", "")
        if position not in ("TRIM_HORIZON", "LATEST"):
            raise UnsupportedResourceError(kind, logical_id, f"StartingPosition {position or '(none)'}")
        spec = self._function_spec(logical_id, props["FunctionName"])
        response_types = set(props.get("FunctionResponseTypes", []))
        if response_types - {"ReportBatchItemFailures"}:
            raise UnsupportedResourceError(
                kind, logical_id, f"FunctionResponseTypes {sorted(response_types)}"
            )
        on_failure = props.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination")
        if on_failure is not None and ":sqs:" not in on_failure:
            raise UnsupportedResourceError(
                kind, logical_id, f"on-failure destination {on_failure} is not an SQS queue"
            )
        patterns = tuple(
            f["Pattern"] if isinstance(f["Pattern"], str) else json.dumps(f["Pattern"])
            for f in props.get("FilterCriteria", {}).get("Filters", [])
        )
        try:
            parse_filters(patterns)
        except ValueError as error:
            raise UnsupportedResourceError(kind, logical_id, f"FilterCriteria: {error}") from error
        window = props.get("MaximumBatchingWindowInSeconds", 0)
        if not str(window).isdigit() or int(window) > contract.MAX_BATCHING_WINDOW_SECONDS:
            raise TemplateError(
                f"{logical_id}: MaximumBatchingWindowInSeconds {window!r} is not 0 to"
                f" {contract.MAX_BATCHING_WINDOW_SECONDS} seconds,"
                " which Lambda rejects"
            )
        mapping_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{self.stack}/{logical_id}"))
        self.deployment.stream_mappings.append(
            StreamMapping(
                logical_id=logical_id,
                uuid=mapping_id,
                function_arn=spec.arn,
                event_source_arn=source,
                starting_position=position,
                batch_size=int(props.get("BatchSize", 100)),
                maximum_retry_attempts=int(props.get("MaximumRetryAttempts", -1)),
                bisect_batch_on_function_error=_flag(props.get("BisectBatchOnFunctionError", False)),
                maximum_record_age_seconds=int(props.get("MaximumRecordAgeInSeconds", -1)),
                maximum_batching_window_seconds=int(window),
                report_batch_item_failures="ReportBatchItemFailures" in response_types,
                filter_patterns=patterns,
                on_failure_arn=on_failure,
                enabled=_flag(props.get("Enabled", True)),
            )
        )
        arn = f"arn:{self.partition}:lambda:{self.region}:{self.account}:event-source-mapping:{mapping_id}"
        return Created(mapping_id, {"Id": mapping_id, "EventSourceMappingArn": arn})

    def _function_spec(self, logical_id: str, name_or_arn: str) -> FunctionSpec:
        for spec in self.deployment.functions.values():
            if name_or_arn in (spec.name, spec.arn):
                return spec
        raise TemplateError(f"{logical_id}: no runnable function {name_or_arn}")

    # ------------------------------------------------------------ SNS

    def _topic(self, logical_id: str, props: dict[str, Any]) -> Created:
        fifo = bool(props.get("FifoTopic"))
        name = props.get("TopicName") or (
            physical_name(self.stack, logical_id, max_length=251) + ".fifo"
            if fifo
            else physical_name(self.stack, logical_id, max_length=256)
        )
        attributes = {
            key: _sdk_value(value)
            for key, value in props.items()
            if key
            in ("DisplayName", "KmsMasterKeyId", "FifoTopic", "ContentBasedDeduplication", "TracingConfig")
        }
        sns = self.client("sns")
        args: dict[str, Any] = {"Name": name, "Attributes": attributes}
        if props.get("Tags"):
            args["Tags"] = props["Tags"]
        arn = sns.create_topic(**args)["TopicArn"]
        for subscription in props.get("Subscription", []):
            sns.subscribe(TopicArn=arn, Protocol=subscription["Protocol"], Endpoint=subscription["Endpoint"])
        return Created(arn, {"TopicArn": arn, "TopicName": name})

    def _topic_policy(self, logical_id: str, props: dict[str, Any]) -> Created:
        policy = json.dumps(props["PolicyDocument"])
        for arn in props["Topics"]:
            self.client("sns").set_topic_attributes(
                TopicArn=arn, AttributeName="Policy", AttributeValue=policy
            )
        return Created(physical_name(self.stack, logical_id, max_length=128))

    def _subscription(self, logical_id: str, props: dict[str, Any]) -> Created:
        attributes = {
            key: _sdk_value(value)
            for key, value in props.items()
            if key not in ("TopicArn", "Protocol", "Endpoint", "Region")
        }
        arn = self.client("sns").subscribe(
            TopicArn=props["TopicArn"],
            Protocol=props["Protocol"],
            Endpoint=props["Endpoint"],
            Attributes=attributes,
            ReturnSubscriptionArn=True,
        )["SubscriptionArn"]
        return Created(arn)

    # ------------------------------------------------------------ CloudWatch

    def _alarm(self, logical_id: str, props: dict[str, Any]) -> Created:
        name = self._name(logical_id, props.get("AlarmName"), max_length=255)
        numbers: dict[str, Callable[[Any], Any]] = {
            "Period": int,
            "EvaluationPeriods": int,
            "DatapointsToAlarm": int,
            "Threshold": float,
        }
        args = {
            key: numbers.get(key, lambda v: v)(value) for key, value in props.items() if key != "AlarmName"
        }
        self.client("cloudwatch").put_metric_alarm(AlarmName=name, **args)
        return Created(
            name, {"Arn": f"arn:{self.partition}:cloudwatch:{self.region}:{self.account}:alarm:{name}"}
        )

    def _dashboard(self, logical_id: str, props: dict[str, Any]) -> Created:
        name = self._name(logical_id, props.get("DashboardName"), max_length=255)
        self.client("cloudwatch").put_dashboard(DashboardName=name, DashboardBody=props["DashboardBody"])
        return Created(name)

    # ------------------------------------------------------------ KMS

    def _key(self, logical_id: str, props: dict[str, Any]) -> Created:
        args: dict[str, Any] = {
            "Tags": [{"TagKey": tag["Key"], "TagValue": tag["Value"]} for tag in props.get("Tags", [])]
        }
        for key in ("Description", "KeySpec", "KeyUsage", "MultiRegion"):
            if key in props:
                args[key] = props[key]
        if "KeyPolicy" in props:
            policy = props["KeyPolicy"]
            args["Policy"] = policy if isinstance(policy, str) else json.dumps(policy)
        kms = self.client("kms")
        metadata = kms.create_key(**args)["KeyMetadata"]
        key_id = metadata["KeyId"]
        if props.get("EnableKeyRotation"):
            rotation = (
                {"RotationPeriodInDays": int(props["RotationPeriodInDays"])}
                if "RotationPeriodInDays" in props
                else {}
            )
            kms.enable_key_rotation(KeyId=key_id, **rotation)
        if props.get("Enabled") is False:
            kms.disable_key(KeyId=key_id)
        return Created(key_id, {"Arn": metadata["Arn"], "KeyId": key_id})

    def _alias(self, logical_id: str, props: dict[str, Any]) -> Created:
        self.client("kms").create_alias(AliasName=props["AliasName"], TargetKeyId=props["TargetKeyId"])
        return Created(props["AliasName"])

    # ------------------------------------------------------------ CDK custom resources

    def _bucket_notifications(self, logical_id: str, props: dict[str, Any]) -> Created:
        bucket = props["BucketName"]
        configuration = dict(props.get("NotificationConfiguration", {}))
        for entry in configuration.pop("LambdaFunctionConfigurations", []):
            rules = {
                rule["Name"].lower(): rule["Value"]
                for rule in entry.get("Filter", {}).get("Key", {}).get("FilterRules", [])
            }
            self.deployment.notifications.append(
                BucketNotification(
                    bucket=bucket,
                    function_arn=entry["LambdaFunctionArn"],
                    events=tuple(entry["Events"]),
                    prefix=rules.get("prefix", ""),
                    suffix=rules.get("suffix", ""),
                )
            )
        if configuration:
            self.client("s3").put_bucket_notification_configuration(
                Bucket=bucket, NotificationConfiguration=configuration
            )
        return Created(logical_id)

    def _auto_delete_objects(self, logical_id: str, props: dict[str, Any]) -> Created:
        self.deployment.auto_delete_buckets.append(props["BucketName"])
        return Created(logical_id)


def _check_environment(function: str, variables: Mapping[str, Any]) -> None:
    reserved = sorted(set(variables) & _RESERVED_VARIABLES)
    if reserved:
        raise TemplateError(
            f"{function}: Environment sets {', '.join(reserved)}, reserved by Lambda,"
            " which rejects the function"
        )


def _application_log_level(function: str, logging_config: Mapping[str, Any]) -> str | None:
    """LoggingConfig.ApplicationLogLevel, validated as Lambda does. SystemLogLevel is ignored:
    the local runtime writes its START/END/REPORT lines whatever the level."""
    level = logging_config.get("ApplicationLogLevel")
    if level is None:
        return None
    log_format = logging_config.get("LogFormat", "Text")
    if log_format != "JSON":
        raise TemplateError(
            f"{function}: LoggingConfig ApplicationLogLevel {level} needs LogFormat JSON, not {log_format}"
        )
    if level not in _APPLICATION_LOG_LEVELS:
        raise TemplateError(
            f"{function}: LoggingConfig ApplicationLogLevel {level} is not one of"
            f" {', '.join(_APPLICATION_LOG_LEVELS)}"
        )
    return str(level)


def _custom_resource_providers(resources: Mapping[str, Any]) -> set[str]:
    """Functions that serve as a ``Custom::`` resource's ServiceToken: CDK plumbing."""
    providers: set[str] = set()
    for resource in resources.values():
        if str(resource.get("Type", "")).startswith("Custom::"):
            providers |= references(resource.get("Properties", {}).get("ServiceToken", {}))
    return providers


def _lifecycle_rule(rule: Mapping[str, Any]) -> dict[str, Any]:
    """AWS::S3::Bucket Rule (CloudFormation shape) -> PutBucketLifecycleConfiguration rule."""
    result: dict[str, Any] = {"Status": rule["Status"]}
    if "Id" in rule:
        result["ID"] = rule["Id"]
    filters: dict[str, Any] = {}
    if "Prefix" in rule:
        filters["Prefix"] = rule["Prefix"]
    if rule.get("TagFilters"):
        filters["Tags"] = rule["TagFilters"]
    for key in ("ObjectSizeGreaterThan", "ObjectSizeLessThan"):
        if key in rule:
            filters[key] = int(rule[key])
    if len(filters) > 1 or "Tags" in filters and len(filters["Tags"]) > 1:
        result["Filter"] = {"And": filters}
    elif "Tags" in filters:
        result["Filter"] = {"Tag": filters["Tags"][0]}
    else:
        result["Filter"] = filters or {"Prefix": ""}
    expiration = {
        api: rule[cfn]
        for cfn, api in (
            ("ExpirationInDays", "Days"),
            ("ExpirationDate", "Date"),
            ("ExpiredObjectDeleteMarker", "ExpiredObjectDeleteMarker"),
        )
        if cfn in rule
    }
    if expiration:
        result["Expiration"] = expiration
    if "AbortIncompleteMultipartUpload" in rule:
        result["AbortIncompleteMultipartUpload"] = rule["AbortIncompleteMultipartUpload"]
    if "NoncurrentVersionExpiration" in rule:
        result["NoncurrentVersionExpiration"] = rule["NoncurrentVersionExpiration"]
    elif "NoncurrentVersionExpirationInDays" in rule:
        result["NoncurrentVersionExpiration"] = {"NoncurrentDays": rule["NoncurrentVersionExpirationInDays"]}
    transitions = rule.get("Transitions", []) + ([rule["Transition"]] if "Transition" in rule else [])
    if transitions:
        result["Transitions"] = [
            {
                "StorageClass": t["StorageClass"],
                **({"Days": t["TransitionInDays"]} if "TransitionInDays" in t else {}),
                **({"Date": t["TransitionDate"]} if "TransitionDate" in t else {}),
            }
            for t in transitions
        ]
    noncurrent = rule.get("NoncurrentVersionTransitions", []) + (
        [rule["NoncurrentVersionTransition"]] if "NoncurrentVersionTransition" in rule else []
    )
    if noncurrent:
        result["NoncurrentVersionTransitions"] = [
            {
                "StorageClass": t["StorageClass"],
                "NoncurrentDays": t["TransitionInDays"],
                **(
                    {"NewerNoncurrentVersions": t["NewerNoncurrentVersions"]}
                    if "NewerNoncurrentVersions" in t
                    else {}
                ),
            }
            for t in noncurrent
        ]
    return result


# --------------------------------------------------------------------------- entry point


def load_template(cloud_assembly: Path, stack_name: str) -> dict[str, Any]:
    path = Path(cloud_assembly) / f"{stack_name}.template.json"
    if not path.is_file():
        raise TemplateNotFoundError(path)
    return json.loads(path.read_text(encoding="utf-8"))


def provision(
    cloud_assembly: Path,
    stack_name: str,
    *,
    endpoint_url: str,
    region: str = "us-east-1",
    parameters: Mapping[str, str] | None = None,
) -> Deployment:
    """Create the stack's resources on the emulator at ``endpoint_url``; see the module doc."""
    template = load_template(cloud_assembly, stack_name)
    return provision_template(
        template, stack_name, endpoint_url=endpoint_url, region=region, parameters=parameters
    )


def provision_template(
    template: Mapping[str, Any],
    stack_name: str,
    *,
    endpoint_url: str,
    region: str = "us-east-1",
    parameters: Mapping[str, str] | None = None,
) -> Deployment:
    resources: Mapping[str, Any] = template.get("Resources", {})
    order = creation_order(resources)  # template errors surface before anything is created
    _check_supported(resources)

    session = _session(region)
    # moto's account (123456789012 unless moto was configured otherwise), as the endpoint says.
    sts = session.client("sts", endpoint_url=endpoint_url)
    account = sts.get_caller_identity()["Account"]
    resolver = Resolver(
        template, stack_name, region, account=account, parameter_overrides=dict(parameters or {})
    )
    deployment = Deployment(stack_name=stack_name, region=region, account=account)
    provisioner = _Provisioner(session, endpoint_url, resolver, deployment)

    cloudformation = provisioner.client("cloudformation")
    if _stack_exists(cloudformation, stack_name):
        raise StackExistsError(stack_name, endpoint_url)
    placeholder: dict[str, Any] = {"Resources": {"Provisioned": {"Type": PLACEHOLDER_TYPE}}}
    if "Description" in template:
        placeholder["Description"] = template["Description"]
    # The stack is registered once everything exists (CREATE_COMPLETE, as after a first
    # deploy), unless the template needs its own AWS::StackId: then early, and updated at the end.
    registered_early = "AWS::StackId" in json.dumps(template)
    if registered_early:
        body = json.dumps(placeholder)
        deployment.stack_id = cloudformation.create_stack(StackName=stack_name, TemplateBody=body)["StackId"]
        resolver.set_stack_id(deployment.stack_id)
    try:
        for logical_id in order:
            resource = resources[logical_id]
            if "Condition" in resource and not resolver.condition(resource["Condition"]):
                continue
            provisioner.create(logical_id, resource)
        for step in provisioner.deferred:
            step()
        placeholder["Outputs"] = dict(_outputs(template, resolver))
    except Exception:
        if registered_early:
            cloudformation.delete_stack(StackName=stack_name)
        raise
    deployment.outputs = {key: output["Value"] for key, output in placeholder["Outputs"].items()}
    body = json.dumps(placeholder)
    if not registered_early:
        deployment.stack_id = cloudformation.create_stack(StackName=stack_name, TemplateBody=body)["StackId"]
    elif placeholder["Outputs"]:
        cloudformation.update_stack(StackName=stack_name, TemplateBody=body)
    return deployment


def _outputs(template: Mapping[str, Any], resolver: Resolver) -> Iterator[tuple[str, dict[str, Any]]]:
    for key, output in template.get("Outputs", {}).items():
        if "Condition" in output and not resolver.condition(output["Condition"]):
            continue
        value = resolver.resolve(output["Value"])
        if isinstance(value, list):  # as CloudFormation shows a list-valued output
            value = ",".join(str(item) for item in value)
        resolved: dict[str, Any] = {"Value": value if isinstance(value, str) else _sdk_value(value)}
        if "Description" in output:
            resolved["Description"] = resolver.resolve(output["Description"])
        if "Export" in output:
            resolved["Export"] = {"Name": resolver.resolve(output["Export"]["Name"])}
        yield key, resolved


def _check_supported(resources: Mapping[str, Any]) -> None:
    """Fail before creating anything when a resource type or property has no handler."""
    for logical_id, resource in resources.items():
        kind = resource.get("Type", "")
        if kind not in _KNOWN_PROPERTIES:
            raise UnsupportedResourceError(kind, logical_id)
        unknown = sorted(set(resource.get("Properties", {})) - _KNOWN_PROPERTIES[kind])
        if unknown:
            raise UnsupportedResourceError(kind, logical_id, f"unsupported properties {', '.join(unknown)}")
        if kind == "AWS::Lambda::EventSourceMapping":
            _check_stream_source(logical_id, resource.get("Properties", {}).get("EventSourceArn"), resources)


def _check_stream_source(logical_id: str, source: Any, resources: Mapping[str, Any]) -> None:
    """A mapping's source, as far as it is known before resolution, must be a DynamoDB stream."""
    if isinstance(source, dict) and list(source) == ["Fn::GetAtt"]:
        arg = source["Fn::GetAtt"]
        target, attribute = arg.split(".", 1) if isinstance(arg, str) else arg
        target_type = resources.get(target, {}).get("Type")
        if (target_type, attribute) == ("AWS::DynamoDB::Table", "StreamArn"):
            return
        source = f"Fn::GetAtt {target}.{attribute} ({target_type})"
    elif not isinstance(source, str) or _DYNAMODB_STREAM_ARN.match(source):
        return  # another intrinsic: checked once resolved
    raise UnsupportedResourceError(
        "AWS::Lambda::EventSourceMapping",
        logical_id,
        f"event source {source} is not a DynamoDB stream, the only one polled locally",
    )


def _stack_exists(cloudformation: Any, stack_name: str) -> bool:
    try:
        stacks = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
    except ClientError as error:
        if error.response["Error"]["Code"] == "ValidationError":
            return False
        raise
    return any(stack["StackStatus"] != "DELETE_COMPLETE" for stack in stacks)


def _session(region: str) -> boto3.session.Session:
    """A session for the emulator: moto accepts any credentials, and real ones never go to it."""
    return boto3.session.Session(
        region_name=region, aws_access_key_id="testing", aws_secret_access_key="testing"
    )
