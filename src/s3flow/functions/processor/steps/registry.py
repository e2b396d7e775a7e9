"""User processing steps: how they are registered, what they receive, how their output is kept.

A step is a callable ``step(obj: ObjectRef) -> Mapping[str, Any] | None``. It runs once per
new object version (and again when a redelivery retries a step that failed), after the
record is claimed in the table and before its event is published. What it returns is
stored on the item and published in the event detail under ``steps.<step name>``, so a
step can never overwrite the pipeline's own attributes. It must be JSON-serializable and
at most ``MAX_STEP_FIELDS_BYTES`` once encoded.

Registration, in order:
- ``S3FLOW_PROCESSING_STEPS`` (``contract.ENV_PROCESSING_STEPS``): comma-separated
  ``module:function`` or ``name=module:function`` entries; imported on first use, once
  per container;
- ``register_step(function, name=...)`` in code (tests, the local pipeline, a wrapper
  handler).

A step that raises (or returns something we cannot store) fails only its own object: it
gets an error item and an error event naming the step. See docs/extending.md.
"""

from __future__ import annotations

import importlib
import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from s3flow import contract
from s3flow.functions.processor.exceptions import StepConfigurationError, StepOutputError

MAX_STEP_FIELDS_BYTES = 8 * 1024
MAX_STEP_FIELDS_DEPTH = 16  # DynamoDB allows 32 levels; the item adds two (steps, name)
ERROR_MESSAGE_LIMIT = 1000
STEP_NAME = re.compile(contract.PROCESSING_STEP_NAME)
STEP_ENTRY = re.compile(contract.PROCESSING_STEP_ENTRY)
DEFAULT_CHUNK_BYTES = 1024 * 1024

Step = Callable[["ObjectRef"], "Mapping[str, Any] | None"]


@dataclass(frozen=True)
class ObjectRef:
    """The object version a step works on; reading it costs S3 GetObject calls, nothing else does."""

    bucket: str
    key: str
    version_id: str | None
    size: int
    etag: str | None
    client_factory: Callable[[], Any] = field(repr=False, compare=False)

    @property
    def s3(self) -> Any:
        """A boto3 S3 client, created on first use and shared by the container."""
        return self.client_factory()

    def _get(self, **extra: Any) -> Any:
        params: dict[str, Any] = {"Bucket": self.bucket, "Key": self.key, **extra}
        if self.version_id:
            params["VersionId"] = self.version_id
        elif self.etag:
            # Unversioned bucket: fail rather than read a newer object under the same key.
            params["IfMatch"] = f'"{self.etag}"'
        return self.s3.get_object(**params)

    def read(self, start: int = 0, length: int | None = None) -> bytes:
        """``length`` bytes from ``start`` (to the end when None), one ranged GetObject."""
        if start < 0 or (length is not None and length < 0):
            raise ValueError("start and length must not be negative")
        if length == 0 or start >= self.size:
            return b""
        end = self.size - 1 if length is None else min(self.size, start + length) - 1
        body = self._get(Range=f"bytes={start}-{end}")["Body"]
        try:
            return bytes(body.read())
        finally:
            body.close()

    def stream(self, chunk_bytes: int = DEFAULT_CHUNK_BYTES) -> Iterator[bytes]:
        """The whole object in chunks, one GetObject, without holding it in memory."""
        body = self._get()["Body"]
        try:
            yield from body.iter_chunks(chunk_bytes)
        finally:
            body.close()


@dataclass(frozen=True)
class RegisteredStep:
    name: str
    function: Step


@dataclass(frozen=True)
class StepFailure:
    step: str
    message: str
    error_type: str


_registered: list[RegisteredStep] = []
_imported: dict[str, tuple[RegisteredStep, ...]] = {}


def _check_name(name: str) -> str:
    if not STEP_NAME.fullmatch(name):
        raise StepConfigurationError(
            f"step name {name!r} must start with a letter and use at most 64 letters, digits, '_' or '-'"
        )
    return name


def register_step(function: Step, *, name: str | None = None) -> Step:
    """Register ``function`` under ``name`` (default: its ``__name__``); returns it unchanged."""
    step = RegisteredStep(_check_name(name or str(getattr(function, "__name__", ""))), function)
    if any(existing.name == step.name for existing in _registered):
        raise StepConfigurationError(f"a step named {step.name!r} is already registered")
    _registered.append(step)
    return function


def clear_registered_steps() -> None:
    """Forget the steps registered in code (tests)."""
    _registered.clear()


def parse_steps(spec: str) -> list[tuple[str | None, str, str]]:
    """``"a.b:f, n=c.d:g"`` -> ``[(None, "a.b", "f"), ("n", "c.d", "g")]``."""
    entries = []
    for raw in spec.split(","):
        entry = raw.strip()
        if not entry:
            continue
        if not STEP_ENTRY.fullmatch(entry):
            raise StepConfigurationError(f"step {entry!r} is not 'module:function' or 'name=module:function'")
        name, _, target = entry.rpartition("=")
        module, _, attribute = target.partition(":")
        entries.append((name or None, module, attribute))
    return entries


def _import(spec: str) -> tuple[RegisteredStep, ...]:
    steps = []
    for name, module_name, attribute in parse_steps(spec):
        try:
            function = getattr(importlib.import_module(module_name), attribute)
        except (ImportError, AttributeError) as error:
            raise StepConfigurationError(f"cannot import step {module_name}:{attribute}: {error}") from error
        if not callable(function):
            raise StepConfigurationError(f"step {module_name}:{attribute} is not callable")
        steps.append(RegisteredStep(_check_name(name or attribute), function))
    return tuple(steps)


def load_steps(spec: str = "") -> tuple[RegisteredStep, ...]:
    """The steps to run: those named in ``spec`` (the environment variable; imported once per
    container), then those registered in code."""
    spec = spec.strip()
    if spec not in _imported:
        _imported[spec] = _import(spec) if spec else ()
    steps = (*_imported[spec], *_registered)
    names = [step.name for step in steps]
    clashes = sorted({name for name in names if names.count(name) > 1})
    if clashes:
        raise StepConfigurationError(f"more than one step named {', '.join(clashes)}")
    return steps


def _depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max((_depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((_depth(v) for v in value), default=0)
    return 0


def storable(name: str, fields: Any) -> dict[str, Any]:
    """A step's output as it will be stored: a JSON object with Decimals for DynamoDB.

    Raises ``StepOutputError`` for anything else: not a mapping, a non-string or empty
    key, a value JSON cannot encode (NaN, sets, objects), too large or too deep.
    """
    if fields is None:
        return {}
    if not isinstance(fields, Mapping):
        raise StepOutputError(f"step {name} returned {type(fields).__name__}, not a mapping")
    try:
        text = json.dumps(dict(fields), allow_nan=False, ensure_ascii=False, separators=(",", ":"))
    except (TypeError, ValueError) as error:
        raise StepOutputError(f"step {name} returned fields that are not JSON: {error}") from error
    size = len(text.encode("utf-8"))
    if size > MAX_STEP_FIELDS_BYTES:
        raise StepOutputError(f"step {name} returned {size} bytes of fields, over {MAX_STEP_FIELDS_BYTES}")
    value = json.loads(text, parse_float=Decimal)
    if _depth(value) > MAX_STEP_FIELDS_DEPTH:
        raise StepOutputError(f"step {name} returned fields nested deeper than {MAX_STEP_FIELDS_DEPTH}")
    if _has_empty_key(value):
        raise StepOutputError(f"step {name} returned a field with an empty name")
    return value


def _has_empty_key(value: Any) -> bool:
    if isinstance(value, dict):
        return any(key == "" or _has_empty_key(v) for key, v in value.items())
    if isinstance(value, list):
        return any(_has_empty_key(v) for v in value)
    return False


def failure(step: str, error: BaseException) -> StepFailure:
    message = str(error) or type(error).__name__
    return StepFailure(step=step, message=message[:ERROR_MESSAGE_LIMIT], error_type=type(error).__name__)
