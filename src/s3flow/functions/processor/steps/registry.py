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

import codecs
import csv
import importlib
import json
import math
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from s3flow import contract
from s3flow.functions.processor.exceptions import StepConfigurationError, StepOutputError
from s3flow.functions.shared.dynamodb_json import number as dynamodb_number
from s3flow.functions.shared.dynamodb_json import to_json

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

    def lines(
        self, encoding: str = "utf-8", errors: str = "strict", *, chunk_bytes: int = DEFAULT_CHUNK_BYTES
    ) -> Iterator[str]:
        """The object's text line by line, without their endings, as iterating over a file
        opened in text mode reads it (``\\n``, ``\\r\\n`` and ``\\r`` each end a line); streamed from
        one GetObject, so memory holds a chunk and the current line, whatever the object's size."""
        for line in _lines_with_endings(self._text(encoding, errors, chunk_bytes)):
            yield line[:-2] if line.endswith("\r\n") else line[:-1] if line[-1] in "\r\n" else line

    def csv_rows(
        self,
        dialect: str | csv.Dialect | type[csv.Dialect] = "excel",
        *,
        encoding: str = "utf-8",
        errors: str = "strict",
        chunk_bytes: int = DEFAULT_CHUNK_BYTES,
        **fmtparams: Any,
    ) -> Iterator[list[str]]:
        """The object's rows as ``csv.reader(f, dialect, **fmtparams)`` reads them from a file
        opened with ``newline=""`` (a quoted field keeps its line breaks); streamed like ``lines``."""
        lines = _lines_with_endings(self._text(encoding, errors, chunk_bytes))
        return csv.reader(lines, dialect, **fmtparams)

    def _text(self, encoding: str, errors: str, chunk_bytes: int) -> Iterator[str]:
        """The object decoded chunk by chunk: a character cut by a chunk boundary is completed
        by the next chunk; bytes left incomplete at the end are an error under ``errors``."""
        decoder = codecs.getincrementaldecoder(encoding)(errors)
        for chunk in self.stream(chunk_bytes):
            yield decoder.decode(chunk)
        yield decoder.decode(b"", final=True)


# What ends a line in text mode (universal newlines): str.splitlines would also split on
# \v, \f, \x1c-\x1e, \x85, \u2028 and \u2029, which a file does not.
_LINE_END = re.compile(r"\r\n|\r|\n")


def _lines_with_endings(texts: Iterable[str]) -> Iterator[str]:
    """Lines as a file opened with ``newline=""`` yields them: each with its ending as written.

    A line cut across pieces is held as its parts until its end arrives; a ``\\r`` that ends a
    piece waits for the next piece, which may start with the ``\\n`` of a ``\\r\\n``.
    """
    parts: list[str] = []
    for text in texts:
        if not text:
            continue
        start = 0
        if parts and parts[-1].endswith("\r"):
            if text.startswith("\n"):
                parts.append("\n")
                start = 1
            yield "".join(parts)
            parts = []
        for end in _LINE_END.finditer(text, start):
            if end.end() == len(text) and end.group() == "\r":
                break  # maybe the first half of a \r\n: the next piece tells
            parts.append(text[start : end.end()])
            yield "".join(parts)
            parts, start = [], end.end()
        if start < len(text):
            parts.append(text[start:])
    if parts:
        yield "".join(parts)


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


def check_name(name: str) -> str:
    if not STEP_NAME.fullmatch(name):
        raise StepConfigurationError(
            f"step name {name!r} must start with a letter and use at most 64 letters, digits, '_' or '-'"
        )
    return name


def register_step(function: Step, *, name: str | None = None) -> Step:
    """Register ``function`` under ``name`` (default: its ``__name__``); returns it unchanged."""
    step = RegisteredStep(check_name(name or str(getattr(function, "__name__", ""))), function)
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


def import_steps(spec: str) -> tuple[RegisteredStep, ...]:
    steps = []
    for name, module_name, attribute in parse_steps(spec):
        try:
            function = getattr(importlib.import_module(module_name), attribute)
        except (ImportError, AttributeError) as error:
            raise StepConfigurationError(f"cannot import step {module_name}:{attribute}: {error}") from error
        if not callable(function):
            raise StepConfigurationError(f"step {module_name}:{attribute} is not callable")
        steps.append(RegisteredStep(check_name(name or attribute), function))
    return tuple(steps)


def load_steps(spec: str = "") -> tuple[RegisteredStep, ...]:
    """The steps to run: those named in ``spec`` (the environment variable; imported once per
    container), then those registered in code."""
    spec = spec.strip()
    if spec not in _imported:
        _imported[spec] = import_steps(spec) if spec else ()
    steps = (*_imported[spec], *_registered)
    names = [step.name for step in steps]
    clashes = sorted({name for name in names if names.count(name) > 1})
    if clashes:
        raise StepConfigurationError(f"more than one step named {', '.join(clashes)}")
    return steps


def run_step(step: RegisteredStep, ref: ObjectRef) -> dict[str, Any]:
    """One step run on one object, its output as it will be stored: what the processor does
    for each registered step, and what ``s3flow.testing``'s ``run_step`` fixture does in a test."""
    return storable(step.name, step.function(ref))


def storable(name: str, fields: Any) -> dict[str, Any]:
    """A step's output as it will be stored: a JSON object, its numbers as DynamoDB keeps them.

    ``int`` and ``Decimal`` stay as they are and a ``float`` becomes the Decimal of its
    shortest text (0.1 as Decimal("0.1")), so the item holds DynamoDB numbers and the event
    detail the same digits (``dynamodb_json.to_json``). Raises ``StepOutputError`` for anything
    else: not a mapping, an empty key or one JSON has no text for, a value JSON cannot encode
    (NaN or Infinity, sets, bytes, objects), a number DynamoDB cannot hold exactly (over 38
    digits, magnitude outside 1E-130 .. 1E+126), too large once encoded, or too deep.
    """
    if fields is None:
        return {}
    if not isinstance(fields, Mapping):
        raise StepOutputError(f"step {name} returned {type(fields).__name__}, not a mapping")
    value: dict[str, Any] = _stored(name, fields, 1)
    size = len(to_json(value).encode("utf-8"))
    if size > MAX_STEP_FIELDS_BYTES:
        raise StepOutputError(f"step {name} returned {size} bytes of fields, over {MAX_STEP_FIELDS_BYTES}")
    return value


def _not_json(name: str, why: str) -> StepOutputError:
    return StepOutputError(f"step {name} returned fields that are not JSON: {why}")


def _stored(name: str, value: Any, depth: int) -> Any:
    """``value`` as stored; ``depth``: how many objects and arrays hold it, itself included."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        return str.__str__(value)  # a str subclass (an enum) as its text, as json.dumps writes it
    if isinstance(value, int | float | Decimal):
        return _number(name, value)
    if isinstance(value, Mapping | list | tuple):
        if depth > MAX_STEP_FIELDS_DEPTH:
            raise StepOutputError(f"step {name} returned fields nested deeper than {MAX_STEP_FIELDS_DEPTH}")
        if isinstance(value, Mapping):
            return {_key(name, key): _stored(name, member, depth + 1) for key, member in value.items()}
        return [_stored(name, member, depth + 1) for member in value]
    raise _not_json(name, f"Object of type {type(value).__name__} is not JSON serializable")


def _key(name: str, key: Any) -> str:
    """A field name; ``int``, ``float``, ``bool`` and ``None`` keys become text as json.dumps writes them."""
    if isinstance(key, str):
        text = str.__str__(key)
    elif isinstance(key, bool | int | float) or key is None:
        if isinstance(key, float) and not math.isfinite(key):
            raise _not_json(name, f"a key is {key!r}")
        text = json.dumps(key)
    else:
        raise _not_json(name, f"keys must be str, int, float, bool or None, not {type(key).__name__}")
    if not text:
        raise StepOutputError(f"step {name} returned a field with an empty name")
    return text


def _number(name: str, value: int | float | Decimal) -> int | Decimal:
    """The number as stored, refused unless DynamoDB holds it exactly: 38 digits, 1E-130 to
    9.99...E+125 in magnitude (narrower than boto3's decimal context, which lets 1E-150 and
    1E+126 through for DynamoDB to refuse):
    https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/HowItWorks.NamingRulesDataTypes.html
    """
    if isinstance(value, float):
        if not math.isfinite(value):
            raise _not_json(name, f"{value!r} is not a number")
        value = Decimal(float.__repr__(value))
    elif isinstance(value, Decimal):
        if not value.is_finite():
            raise _not_json(name, f"Decimal({str(value)!r}) is not a number")
    else:
        value = int(value)  # an int subclass (an enum) as the number it is
    try:
        dynamodb_number(value)
        fits = not value or -130 <= Decimal(value).adjusted() <= 125
    except ArithmeticError:
        fits = False
    if not fits:
        raise StepOutputError(
            f"step {name} returned {value}, a number DynamoDB cannot store exactly "
            "(at most 38 digits, magnitude from 1E-130 to under 1E+126)"
        )
    return value


def failure(step: str, error: BaseException) -> StepFailure:
    message = str(error) or type(error).__name__
    return StepFailure(step=step, message=message[:ERROR_MESSAGE_LIMIT], error_type=type(error).__name__)
