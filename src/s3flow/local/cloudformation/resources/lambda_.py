"""Lambda resource types: recorded for the local runtime, not created in moto (moto runs code
only in Docker).

- ``AWS::Lambda::Function``: the local runtime runs it from a
  :class:`~s3flow.local.deployment.FunctionSpec`; functions that only serve CDK custom
  resources get a physical id and nothing else. ``LoggingConfig.ApplicationLogLevel``, which
  needs ``LogFormat: JSON``, becomes the sandbox's ``AWS_LAMBDA_LOG_LEVEL``, ``SystemLogLevel``
  is ignored, and wins over an ``AWS_LAMBDA_LOG_LEVEL`` the ``Environment`` sets; an
  ``Environment`` setting a variable Lambda reserves is an error, as are the settings
  CreateFunction refuses: an environment over 4 KB, a MemorySize, Timeout or
  EphemeralStorage.Size out of range.
- ``AWS::Lambda::EventInvokeConfig``: the spec's ``async_config``.
- ``AWS::Lambda::Permission``: a statement of the function's resource policy in
  ``Deployment.policies`` (what S3 and other services are allowed to invoke it for).
- ``AWS::Lambda::EventSourceMapping`` on a DynamoDB stream: ``Deployment.stream_mappings``,
  polled by ``s3flow.local.event_sources.dynamodb_stream``; a mapping on any other source is refused.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from s3flow import contract
from s3flow.local.cloudformation.assets import asset_folder
from s3flow.local.cloudformation.errors import TemplateError, UnsupportedResourceError
from s3flow.local.cloudformation.resources.base import Context, Created, ResourceType, flag, sdk_value
from s3flow.local.cloudformation.template import physical_name, references
from s3flow.local.deployment import AsyncInvokeConfig, FunctionSpec, StreamMapping
from s3flow.local.event_sources.dynamodb_stream import parse_filters

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
# Lambda's limits on a function's settings, which CreateFunction enforces: the environment's
# keys and values together at most 4 KB
# (docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html), memory, timeout and /tmp
# in these ranges (docs.aws.amazon.com/lambda/latest/dg/API_CreateFunction.html,
# docs.aws.amazon.com/lambda/latest/dg/API_EphemeralStorage.html).
MAX_ENVIRONMENT_BYTES = 4 * 1024
_SETTING_RANGES = (
    ("MemorySize", 128, 10240, "MB"),
    ("Timeout", 1, 900, "seconds"),
    ("EphemeralStorage.Size", 512, 10240, "MB"),
)


def _function(ctx: Context, logical_id: str, props: dict[str, Any]) -> Created:
    name = ctx.name(logical_id, props.get("FunctionName"), max_length=64)
    arn = f"arn:{ctx.partition}:lambda:{ctx.region}:{ctx.account}:function:{name}"
    function = f"AWS::Lambda::Function {logical_id} ({name})"
    variables = props.get("Environment", {}).get("Variables", {})
    _check_environment(function, variables)
    _check_setting_ranges(function, props)
    log_level = _application_log_level(function, props.get("LoggingConfig", {}))
    if logical_id not in _custom_resource_providers(ctx.resolver.template.get("Resources", {})):
        if props.get("PackageType", "Zip") != "Zip" or "Handler" not in props:
            raise UnsupportedResourceError(
                "AWS::Lambda::Function",
                logical_id,
                "only zip-packaged functions with a Handler run locally",
            )
        reserved = props.get("ReservedConcurrentExecutions")
        ctx.deployment.functions[name] = FunctionSpec(
            logical_id=logical_id,
            name=name,
            arn=arn,
            handler=props["Handler"],
            runtime=props.get("Runtime", ""),
            timeout_seconds=int(props.get("Timeout", 3)),
            memory_mb=int(props.get("MemorySize", 128)),
            environment={key: sdk_value(value) for key, value in variables.items()},
            tracing_active=props.get("TracingConfig", {}).get("Mode") == "Active",
            log_group=props.get("LoggingConfig", {}).get("LogGroup", f"/aws/lambda/{name}"),
            reserved_concurrency=None if reserved is None else int(reserved),
            application_log_level=log_level,
            code_directory=asset_folder(ctx.cloud_assembly, ctx.stack, function, props.get("Code", {})),
            role_arn=str(props["Role"]) if "Role" in props else None,
            ephemeral_storage_mb=int(props.get("EphemeralStorage", {}).get("Size", 512)),
        )
    return Created(name, {"Arn": arn})


def _check_environment(function: str, variables: Mapping[str, Any]) -> None:
    reserved = sorted(set(variables) & _RESERVED_VARIABLES)
    if reserved:
        raise TemplateError(
            f"{function}: Environment sets {', '.join(reserved)}, reserved by Lambda,"
            " which rejects the function"
        )
    size = environment_size({key: sdk_value(value) for key, value in variables.items()})
    if size > MAX_ENVIRONMENT_BYTES:
        raise TemplateError(
            f"{function}: Environment variables total {size} bytes, over Lambda's"
            f" {MAX_ENVIRONMENT_BYTES}, which rejects the function"
        )


def environment_size(variables: Mapping[str, str]) -> int:
    """What counts against Lambda's 4 KB: every key and value, in UTF-8 bytes."""
    return sum(len(key.encode()) + len(str(value).encode()) for key, value in variables.items())


def _check_setting_ranges(function: str, props: Mapping[str, Any]) -> None:
    settings = {
        "MemorySize": props.get("MemorySize"),
        "Timeout": props.get("Timeout"),
        "EphemeralStorage.Size": props.get("EphemeralStorage", {}).get("Size"),
    }
    for name, low, high, unit in _SETTING_RANGES:
        value = settings[name]
        if value is not None and not (str(value).isdigit() and low <= int(value) <= high):
            raise TemplateError(
                f"{function}: {name} {value} is not {low} to {high} {unit}, which Lambda rejects"
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


def _permission(ctx: Context, logical_id: str, props: dict[str, Any]) -> Created:
    """One statement of the function's resource-based policy, as AddPermission writes it
    (docs.aws.amazon.com/lambda/latest/dg/access-control-resource-based.html)."""
    function = str(props["FunctionName"])
    arn = (
        function
        if function.startswith("arn:")
        else f"arn:{ctx.partition}:lambda:{ctx.region}:{ctx.account}:function:{function}"
    )
    principal = str(props["Principal"])
    statement: dict[str, Any] = {
        "Sid": logical_id,
        "Effect": "Allow",
        "Principal": {"Service": principal} if principal.endswith(".amazonaws.com") else {"AWS": principal},
        "Action": props["Action"],
        "Resource": arn,
    }
    conditions: dict[str, dict[str, str]] = {}
    if "SourceArn" in props:
        conditions["ArnLike"] = {"AWS:SourceArn": str(props["SourceArn"])}
    if "SourceAccount" in props:
        conditions["StringEquals"] = {"AWS:SourceAccount": str(props["SourceAccount"])}
    if conditions:
        statement["Condition"] = conditions
    ctx.deployment.policies.add_resource(arn, {"Version": "2012-10-17", "Statement": [statement]})
    return Created(physical_name(ctx.stack, logical_id, max_length=128))


def _event_invoke_config(ctx: Context, logical_id: str, props: dict[str, Any]) -> Created:
    spec = _function_spec(ctx, logical_id, props["FunctionName"])
    destinations = props.get("DestinationConfig", {})
    config = AsyncInvokeConfig(
        maximum_retry_attempts=int(props.get("MaximumRetryAttempts", 2)),
        maximum_event_age_seconds=int(props.get("MaximumEventAgeInSeconds", 21600)),
        on_failure_arn=destinations.get("OnFailure", {}).get("Destination"),
        on_success_arn=destinations.get("OnSuccess", {}).get("Destination"),
    )
    ctx.deployment.functions[spec.name] = replace(spec, async_config=config)
    return Created(physical_name(ctx.stack, logical_id, max_length=128))


def _event_source_mapping(ctx: Context, logical_id: str, props: dict[str, Any]) -> Created:
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
    spec = _function_spec(ctx, logical_id, props["FunctionName"])
    response_types = set(props.get("FunctionResponseTypes", []))
    if response_types - {"ReportBatchItemFailures"}:
        raise UnsupportedResourceError(kind, logical_id, f"FunctionResponseTypes {sorted(response_types)}")
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
    mapping_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{ctx.stack}/{logical_id}"))
    ctx.deployment.stream_mappings.append(
        StreamMapping(
            logical_id=logical_id,
            uuid=mapping_id,
            function_arn=spec.arn,
            event_source_arn=source,
            starting_position=position,
            batch_size=int(props.get("BatchSize", 100)),
            maximum_retry_attempts=int(props.get("MaximumRetryAttempts", -1)),
            bisect_batch_on_function_error=flag(props.get("BisectBatchOnFunctionError", False)),
            maximum_record_age_seconds=int(props.get("MaximumRecordAgeInSeconds", -1)),
            maximum_batching_window_seconds=int(window),
            report_batch_item_failures="ReportBatchItemFailures" in response_types,
            filter_patterns=patterns,
            on_failure_arn=on_failure,
            enabled=flag(props.get("Enabled", True)),
        )
    )
    arn = f"arn:{ctx.partition}:lambda:{ctx.region}:{ctx.account}:event-source-mapping:{mapping_id}"
    return Created(mapping_id, {"Id": mapping_id, "EventSourceMappingArn": arn})


def _function_spec(ctx: Context, logical_id: str, name_or_arn: str) -> FunctionSpec:
    for spec in ctx.deployment.functions.values():
        if name_or_arn in (spec.name, spec.arn):
            return spec
    raise TemplateError(f"{logical_id}: no runnable function {name_or_arn}")


def _check_mapping(logical_id: str, properties: Mapping[str, Any], resources: Mapping[str, Any]) -> None:
    _check_stream_source(logical_id, properties.get("EventSourceArn"), resources)


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


FUNCTION = ResourceType(
    "AWS::Lambda::Function",
    # Code is the asset folder the sandbox imports from (``assets``); role, architecture and the
    # rest of the function's deployment settings have no meaning for the local runtime.
    # DeadLetterConfig is left out on purpose: it redirects failed async invocations, and the
    # local runtime follows only the EventInvokeConfig's destination.
    known_properties=frozenset(
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
    create=_function,
)
PERMISSION = ResourceType(
    "AWS::Lambda::Permission",
    known_properties=frozenset(
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
    create=_permission,
)
EVENT_INVOKE_CONFIG = ResourceType(
    "AWS::Lambda::EventInvokeConfig",
    known_properties=frozenset(
        {"FunctionName", "Qualifier", "MaximumRetryAttempts", "MaximumEventAgeInSeconds", "DestinationConfig"}
    ),
    create=_event_invoke_config,
)
EVENT_SOURCE_MAPPING = ResourceType(
    "AWS::Lambda::EventSourceMapping",
    # Only what the local stream poller honours: parallelization, tumbling windows and the
    # settings of other sources (queues, Kafka, MQ) are refused, not ignored.
    known_properties=frozenset(
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
    create=_event_source_mapping,
    check=_check_mapping,
)
