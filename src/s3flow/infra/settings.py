"""The pipeline's settings: one frozen, typed object for the stack, or context values for the app.

``TapStack(..., settings=PipelineSettings(...))`` for a construct user; ``-c key=value`` for
this repo's app (``python app.py`` and ``npx cdk synth`` take the same names). Every value is
checked here, at synth, against what AWS would accept: a bad one is a SettingError naming the
setting (its context key and its prop), never a failed deploy. The defaults are the reference
design's, so an app without settings synthesizes the same template as before they existed.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterable, Mapping, MutableMapping
from dataclasses import dataclass
from typing import Any, Literal, TypeAlias

from s3flow import contract
from s3flow.infra.errors import SettingError

RemovalPolicyName: TypeAlias = Literal["destroy", "retain"]
REMOVAL_POLICIES: tuple[RemovalPolicyName, ...] = ("destroy", "retain")

# Lambda's ranges: memory from 128 MB to 10,240 MB in 1-MB steps, timeout from 1 to 900 seconds.
# https://docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html
# https://docs.aws.amazon.com/lambda/latest/dg/configuration-timeout.html
MEMORY_MB_RANGE = (128, 10240)
TIMEOUT_SECONDS_RANGE = (1, 900)
DEFAULT_MEMORY_MB = 256
DEFAULT_TIMEOUT_SECONDS = 300
# A DynamoDB stream mapping reads up to 10,000 records per batch and up to 10 batches of a
# shard at once (ParallelizationFactor):
# https://docs.aws.amazon.com/lambda/latest/dg/services-ddb-params.html
STREAM_BATCH_SIZE_RANGE = (1, 10000)
PARALLELIZATION_FACTOR_RANGE = (1, 10)
# Each `records` query reads every shard of a time bucket: the fan-out stays small.
TIME_INDEX_SHARDS_RANGE = (1, 64)
DEFAULT_PUBLISHER_BATCH_SIZE = contract.PUBLISHER_BATCH_SIZE
# A function's reserved concurrency: at least 1 (0 would throttle every invocation); the account
# must keep 100 unreserved, which only the deploy can check:
# https://docs.aws.amazon.com/lambda/latest/dg/configuration-concurrency.html
MIN_RESERVED_CONCURRENCY = 1
# A filter rule's value is at most 1,024 characters, as long as the longest key:
# https://docs.aws.amazon.com/AmazonS3/latest/API/API_FilterRule.html
MAX_FILTER_LENGTH = 1024

# S3 bucket names: 3 to 63 lowercase letters, digits, dots and hyphens, starting and ending
# with a letter or digit, no two adjacent dots, not shaped like an IP address:
# https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html
_BUCKET_NAME = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_IP_ADDRESS = re.compile(r"\d+\.\d+\.\d+\.\d+")
_BUCKET_ARN = re.compile(r"arn:aws[a-z-]*:s3:::(?P<name>[^/]+)")
# An IAM action is "service:Action", named in full: a wildcard would grant actions nobody
# declared. https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_action.html
_ACTION = re.compile(r"[a-z0-9-]+:[A-Za-z0-9]+")
_RESOURCE_ARN = re.compile(r"arn:aws[a-z-]*:[a-z0-9-]+:[a-z0-9-]*:(\d{12})?:\S+")


def bucket_name_problem(name: str) -> str | None:
    """Why S3 would refuse ``name`` as a bucket name, or None."""
    if not _BUCKET_NAME.fullmatch(name):
        return (
            "an S3 bucket name is 3 to 63 lowercase letters, digits, dots and hyphens, "
            "beginning and ending with a letter or digit"
        )
    if ".." in name or _IP_ADDRESS.fullmatch(name):
        return "an S3 bucket name has no two adjacent dots and is not an IP address"
    return None


@dataclass(frozen=True)
class ReadBucket:
    """A processing step reads objects of another bucket (s3:GetObject on ``<bucket>/*``).

    ``bucket`` is a name or an ``arn:aws:s3:::name`` ARN; ``list_objects`` adds
    s3:ListBucket on the bucket itself, for a step that lists keys.
    """

    bucket: str
    list_objects: bool = False

    def __post_init__(self) -> None:
        problem = bucket_name_problem(self.bucket_name) if isinstance(self.bucket, str) else "not a string"
        if problem:
            raise SettingError(
                f"{_STEP_PERMISSIONS}: readBucket {self.bucket!r} is not a bucket name or S3 bucket ARN"
                f" ({problem})"
            )
        if not isinstance(self.list_objects, bool):
            raise SettingError(f"{_STEP_PERMISSIONS}: list must be true or false, got {self.list_objects!r}")

    @property
    def bucket_arn(self) -> str | None:
        """The ARN as given, or None when the bucket was given by name (the stack builds it)."""
        return self.bucket if self.bucket.startswith("arn:") else None

    @property
    def bucket_name(self) -> str:
        match = _BUCKET_ARN.fullmatch(self.bucket)
        return match.group("name") if match else self.bucket


@dataclass(frozen=True)
class CallService:
    """A processing step calls an AWS API: these actions, on these resources only.

    Actions are named in full (``comprehend:DetectSentiment``); resources are ARNs, or ``*``
    for actions AWS defines no resource type for (the only resource IAM then accepts).
    """

    actions: tuple[str, ...]
    resources: tuple[str, ...]

    def __post_init__(self) -> None:
        actions, resources = _strings(self.actions, "actions"), _strings(self.resources, "resources")
        object.__setattr__(self, "actions", actions)
        object.__setattr__(self, "resources", resources)
        for action in actions:
            if not _ACTION.fullmatch(action):
                raise SettingError(
                    f"{_STEP_PERMISSIONS}: action {action!r} is not 'service:Action' named in full"
                    " (no wildcards)"
                )
        for resource in resources:
            if resource != "*" and not _RESOURCE_ARN.fullmatch(resource):
                raise SettingError(f"{_STEP_PERMISSIONS}: resource {resource!r} is not an ARN or '*'")
        if "*" in resources and len(resources) > 1:
            raise SettingError(f"{_STEP_PERMISSIONS}: '*' already names every resource; give it alone")


StepPermission: TypeAlias = ReadBucket | CallService
_STEP_PERMISSIONS = "stepPermissions (step_permissions)"


def _strings(values: object, what: str) -> tuple[str, ...]:
    if isinstance(values, str) or not isinstance(values, Iterable):
        raise SettingError(f"{_STEP_PERMISSIONS}: {what} must be a list of strings, got {values!r}")
    items = tuple(values)
    if not items or not all(isinstance(item, str) and item for item in items):
        raise SettingError(f"{_STEP_PERMISSIONS}: {what} must be a non-empty list of strings, got {values!r}")
    return items


def _whole_number(name: str, value: object, low: int, high: int, unit: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise SettingError(f"{name} must be a whole number of {unit} from {low} to {high}, got {value!r}")


def _label(prop: str) -> str:
    """How an error names a setting: its context key, then its prop."""
    context_key = (_CONTEXT.get(prop) or _STEP_CONTEXT.get(prop) or _CAPACITY_CONTEXT[prop])[0]
    return f"{context_key} ({prop})"


def _key_filter(name: str, value: object) -> None:
    if not isinstance(value, str):
        raise SettingError(f"{name} must be a string, got {value!r}")
    if len(value) > MAX_FILTER_LENGTH:
        raise SettingError(f"{name} must be at most {MAX_FILTER_LENGTH} characters, got {len(value)}")


@dataclass(frozen=True)
class PipelineSettings:
    """What an operator may change of the pipeline; the defaults are the reference design's.

    - ``processor_*``/``publisher_*``: each function's memory (MB) and timeout (seconds).
    - ``notification_prefix``/``notification_suffix``: only keys with this prefix and suffix
      invoke the processor (empty: every key).
    - ``removal_policy``: ``"destroy"`` deletes the table, the buckets with their objects, the
      log groups, the queues and the alarm topic's key with the stack; ``"retain"`` keeps them.
    - ``step_permissions``: what processing steps need beyond the trigger bucket, granted to
      the processor's role only.
    - ``existing_bucket_name``: trigger on this bucket instead of creating one (and its
      access-log bucket).
    - ``step_packages``: the packages (folders) and modules (``.py`` files) of the team's
      processing steps, copied to the root of the processor's asset; relative paths are from
      the app's folder. ``step_requirements``: their pinned requirements file (every
      requirement with its ``--hash``), installed into the asset as requirements-lambda.txt is.
    - ``processor_reserved_concurrency``: the processor's reserved concurrency (None: the
      account's unreserved pool, as before); a cap on its rate and a guarantee of it.
    - ``publisher_batch_size``/``publisher_parallelization_factor``: the stream mapping's
      records per batch and batches of one shard at a time; the publisher's rate per shard
      grows with both (docs/capacity.md).
    - ``time_index_shards``: how many partitions the time index spreads each time bucket's
      writes over (each takes 1,000 writes a second); raise it only, as records written with
      more shards are not all read back with fewer (docs/data-model.md "Time index").
    """

    processor_memory_mb: int = DEFAULT_MEMORY_MB
    processor_timeout_seconds: int = DEFAULT_TIMEOUT_SECONDS
    publisher_memory_mb: int = DEFAULT_MEMORY_MB
    publisher_timeout_seconds: int = DEFAULT_TIMEOUT_SECONDS
    notification_prefix: str = ""
    notification_suffix: str = ""
    removal_policy: RemovalPolicyName = "destroy"
    step_permissions: tuple[StepPermission, ...] = ()
    existing_bucket_name: str | None = None
    step_packages: tuple[str, ...] = ()
    step_requirements: str | None = None
    processor_reserved_concurrency: int | None = None
    publisher_batch_size: int = DEFAULT_PUBLISHER_BATCH_SIZE
    publisher_parallelization_factor: int = 1
    time_index_shards: int = contract.DEFAULT_TIME_INDEX_SHARDS

    def __post_init__(self) -> None:
        for prop in ("processor_memory_mb", "publisher_memory_mb"):
            _whole_number(_label(prop), getattr(self, prop), *MEMORY_MB_RANGE, "MB")
        for prop in ("processor_timeout_seconds", "publisher_timeout_seconds"):
            _whole_number(_label(prop), getattr(self, prop), *TIMEOUT_SECONDS_RANGE, "seconds")
        _whole_number(
            _label("publisher_batch_size"), self.publisher_batch_size, *STREAM_BATCH_SIZE_RANGE, "records"
        )
        _whole_number(
            _label("publisher_parallelization_factor"),
            self.publisher_parallelization_factor,
            *PARALLELIZATION_FACTOR_RANGE,
            "batches per shard",
        )
        _whole_number(_label("time_index_shards"), self.time_index_shards, *TIME_INDEX_SHARDS_RANGE, "shards")
        reserved = self.processor_reserved_concurrency
        if reserved is not None and (
            isinstance(reserved, bool) or not isinstance(reserved, int) or reserved < MIN_RESERVED_CONCURRENCY
        ):
            raise SettingError(
                f"{_label('processor_reserved_concurrency')} must be a whole number of concurrent "
                f"executions from {MIN_RESERVED_CONCURRENCY}, got {reserved!r}"
            )
        for prop in ("notification_prefix", "notification_suffix"):
            _key_filter(_label(prop), getattr(self, prop))
        if self.removal_policy not in REMOVAL_POLICIES:
            raise SettingError(
                f"{_label('removal_policy')} must be 'destroy' or 'retain', got {self.removal_policy!r}"
            )
        permissions = self.step_permissions
        if isinstance(permissions, (ReadBucket, CallService)) or not isinstance(permissions, Iterable):
            raise SettingError(f"{_STEP_PERMISSIONS} must be a list of ReadBucket and CallService")
        permissions = tuple(permissions)
        for permission in permissions:
            if not isinstance(permission, (ReadBucket, CallService)):
                raise SettingError(f"{_STEP_PERMISSIONS}: {permission!r} is not a ReadBucket or CallService")
        object.__setattr__(self, "step_permissions", permissions)
        name = self.existing_bucket_name
        if name is not None:
            problem = bucket_name_problem(name) if isinstance(name, str) else "not a string"
            if problem:
                raise SettingError(f"{_label('existing_bucket_name')} {name!r} is invalid: {problem}")
        packages = self.step_packages
        if isinstance(packages, str) or not isinstance(packages, Iterable):
            raise SettingError(f"{_label('step_packages')} must be a list of paths, got {packages!r}")
        packages = tuple(packages)
        if not all(isinstance(path, str) and path.strip() for path in packages):
            raise SettingError(f"{_label('step_packages')} must be a list of paths, got {list(packages)!r}")
        object.__setattr__(self, "step_packages", packages)
        requirements = self.step_requirements
        if requirements is not None and not (isinstance(requirements, str) and requirements.strip()):
            raise SettingError(
                f"{_label('step_requirements')} must be the path of a requirements file, got {requirements!r}"
            )

    @property
    def retain(self) -> bool:
        return self.removal_policy == "retain"

    @classmethod
    def from_context(cls, context: Mapping[str, Any]) -> PipelineSettings:
        """The settings the context names (``-c processorMemoryMb=512``); defaults for the rest.

        Values given with ``-c`` arrive as strings, values from cdk.json as JSON types: both
        are taken.
        """
        refuse_miscased_keys(context, (*STEP_CONTEXT_KEYS, *CAPACITY_CONTEXT_KEYS))
        values: dict[str, Any] = {}
        for prop, (context_key, parse) in {**_CONTEXT, **_STEP_CONTEXT, **_CAPACITY_CONTEXT}.items():
            value = context.get(context_key)
            if value is not None:
                values[prop] = parse(value)
        return cls(**values)


def refuse_miscased_keys(context: Iterable[str], known: Iterable[str]) -> None:
    """SettingError for a key that differs from a known setting's only in case
    (``-c processormemorymb=512``): CDK would ignore it without a word."""
    by_lower = {key.lower(): key for key in known}
    for key in context:
        meant = by_lower.get(key.lower())
        if meant is not None and meant != key:
            raise SettingError(f"unknown setting {key!r}: did you mean {meant!r}?")


def step_permissions_value(value: object) -> tuple[StepPermission, ...]:
    """The stepPermissions context value: a JSON list (text from ``-c``, a list from cdk.json).

    Each entry is ``{"readBucket": "<name or ARN>", "list": false}`` or
    ``{"actions": ["service:Action", ...], "resources": ["<ARN>" or "*", ...]}``.
    """
    entries = value
    if isinstance(value, str):
        try:
            entries = json.loads(value)
        except json.JSONDecodeError as error:
            raise SettingError(
                f"{_STEP_PERMISSIONS} is not JSON: {error.msg} at character {error.pos}"
            ) from None
    if not isinstance(entries, list):
        raise SettingError(f"{_STEP_PERMISSIONS} must be a JSON list of grants, got {value!r}")
    permissions: list[StepPermission] = []
    for entry in entries:
        keys = set(entry) if isinstance(entry, dict) else None
        if keys is not None and "readBucket" in keys and keys <= {"readBucket", "list"}:
            permissions.append(ReadBucket(entry["readBucket"], list_objects=entry.get("list", False)))
        elif keys == {"actions", "resources"}:
            permissions.append(CallService(entry["actions"], entry["resources"]))
        else:
            raise SettingError(
                f'{_STEP_PERMISSIONS}: {json.dumps(entry)} is neither {{"readBucket": ..., "list": ...}}'
                ' nor {"actions": [...], "resources": [...]}'
            )
    return tuple(permissions)


def _number(value: object) -> object:
    """A context string of digits as an int; anything else as is, for the dataclass to refuse."""
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        return int(value)
    return value


def _removal_policy(value: object) -> object:
    return value.strip().lower() if isinstance(value, str) else value


def _as_is(value: object) -> object:
    return value


def _path_list(value: object) -> object:
    """Comma-separated paths (``-c stepPackages=my_company,tools/extra.py``) or a list (cdk.json)."""
    if isinstance(value, str):
        return tuple(path.strip() for path in value.split(",") if path.strip())
    return value


# prop -> (context key, how the context's value becomes the prop's); the dataclass checks it.
_CONTEXT: dict[str, tuple[str, Callable[[Any], Any]]] = {
    "processor_memory_mb": ("processorMemoryMb", _number),
    "processor_timeout_seconds": ("processorTimeoutSeconds", _number),
    "publisher_memory_mb": ("publisherMemoryMb", _number),
    "publisher_timeout_seconds": ("publisherTimeoutSeconds", _number),
    "notification_prefix": ("notificationPrefix", _as_is),
    "notification_suffix": ("notificationSuffix", _as_is),
    "removal_policy": ("removalPolicy", _removal_policy),
    "step_permissions": ("stepPermissions", step_permissions_value),
    "existing_bucket_name": ("existingBucketName", _as_is),
}
CONTEXT_KEYS: tuple[str, ...] = tuple(context_key for context_key, _ in _CONTEXT.values())
# The step sources' settings, read by from_context like the others but kept out of
# CONTEXT_KEYS, whose list docs/operations.md "Settings" documents; from_context refuses
# their miscased keys itself.
_STEP_CONTEXT: dict[str, tuple[str, Callable[[Any], Any]]] = {
    "step_packages": ("stepPackages", _path_list),
    "step_requirements": ("stepRequirements", _as_is),
}
STEP_CONTEXT_KEYS: tuple[str, ...] = tuple(context_key for context_key, _ in _STEP_CONTEXT.values())
# The settings that raise a capacity limit (docs/capacity.md; docs/operations.md "Settings"),
# read by from_context like the others, which refuses their miscased keys itself.
_CAPACITY_CONTEXT: dict[str, tuple[str, Callable[[Any], Any]]] = {
    "processor_reserved_concurrency": ("processorReservedConcurrency", _number),
    "publisher_batch_size": ("publisherBatchSize", _number),
    "publisher_parallelization_factor": ("publisherParallelizationFactor", _number),
    "time_index_shards": ("timeIndexShards", _number),
}
CAPACITY_CONTEXT_KEYS: tuple[str, ...] = tuple(context_key for context_key, _ in _CAPACITY_CONTEXT.values())

# Set to "1", the app reads no setting from the project's context (cdk.json's "context",
# cdk.context.json, ~/.cdk.json, which the CDK CLI passes in CDK_CONTEXT_JSON): only CDK's own
# keys are kept, so only ``python app.py -c`` (or ``create_app(context=...)``) changes the
# pipeline; the CLI's own -c arrive merged in CDK_CONTEXT_JSON and are dropped with the rest.
# For tests, which must never depend on the steps or settings a developer configured.
IGNORE_PROJECT_CONTEXT = "S3FLOW_IGNORE_PROJECT_CONTEXT"


def ignoring_project_context(environ: Mapping[str, str] = os.environ) -> bool:
    return environ.get(IGNORE_PROJECT_CONTEXT) == "1"


def cdk_own_context(context: Mapping[str, Any]) -> dict[str, Any]:
    """CDK's own context only: its feature flags (``@aws-cdk/...``) and ``aws:`` keys."""
    return {key: value for key, value in context.items() if key.startswith(("@", "aws:"))}


def ignore_project_context_from_cli(environ: MutableMapping[str, str] = os.environ) -> None:
    """Under IGNORE_PROJECT_CONTEXT, keep only CDK's own keys of the context the CDK CLI passes.

    Call it before aws_cdk is imported: CDK's node process reads CDK_CONTEXT_JSON when it starts.
    """
    given = environ.get("CDK_CONTEXT_JSON")
    if ignoring_project_context(environ) and given:
        environ["CDK_CONTEXT_JSON"] = json.dumps(cdk_own_context(json.loads(given)))
