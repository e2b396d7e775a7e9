"""The extension API without the handler or AWS: registration, the step list parser, storable
output, content sniffing. ObjectRef reads and the example steps on a bucket are in tests/functional."""

from __future__ import annotations

from decimal import Decimal

import pytest

from s3flow.functions.processor.exceptions import StepConfigurationError, StepOutputError
from s3flow.functions.processor.steps import registry as extension
from s3flow.functions.processor.steps.checksum import sha256
from s3flow.functions.processor.steps.content_type import sniff
from s3flow.functions.processor.steps.registry import (
    load_steps,
    parse_steps,
    register_step,
    storable,
)
from s3flow.functions.shared.errors import ConfigurationError
from s3flow.infra.errors import SettingError
from s3flow.infra.processing import processing_steps_value


@pytest.fixture(autouse=True)
def no_registered_steps():
    extension.clear_registered_steps()
    yield
    extension.clear_registered_steps()


def test_parse_steps_reads_module_function_and_optional_names() -> None:
    assert parse_steps(" a.b:f , n=c.d:g ,, ") == [(None, "a.b", "f"), ("n", "c.d", "g")]
    assert parse_steps("") == []


@pytest.mark.parametrize("spec", ["a.b", "a.b:", ":f", "n=a.b"])
def test_parse_steps_rejects_entries_without_module_and_function(spec: str) -> None:
    with pytest.raises(StepConfigurationError):
        parse_steps(spec)


def test_environment_steps_come_first_then_registered_ones() -> None:
    register_step(lambda obj: None, name="mine")

    steps = load_steps("s3flow.functions.processor.steps.checksum:sha256")

    assert [step.name for step in steps] == ["sha256", "mine"]
    assert steps[0].function is sha256


@pytest.mark.parametrize("name", ["", "1st", "has space", "x" * 65, "dot.ted"])
def test_step_names_must_be_simple(name: str) -> None:
    with pytest.raises(StepConfigurationError):
        register_step(lambda obj: None, name=name)


def test_two_steps_with_one_name_are_refused() -> None:
    register_step(lambda obj: None, name="sha256")

    with pytest.raises(ConfigurationError, match="sha256"):
        load_steps("s3flow.functions.processor.steps.checksum:sha256")
    with pytest.raises(StepConfigurationError):
        register_step(lambda obj: None, name="sha256")


def test_a_non_callable_target_is_a_configuration_error() -> None:
    with pytest.raises(StepConfigurationError, match="not callable"):
        load_steps("s3flow.functions.processor.steps.content_type:SNIFF_BYTES")


def test_storable_turns_floats_into_decimals_for_dynamodb() -> None:
    assert storable("s", {"ratio": 0.25, "n": 3, "nested": [{"x": 1.5}]}) == {
        "ratio": Decimal("0.25"),
        "n": 3,
        "nested": [{"x": Decimal("1.5")}],
    }
    assert storable("s", None) == {}


def test_storable_refuses_deep_nesting() -> None:
    deep: dict = {}
    cursor = deep
    for _ in range(extension.MAX_STEP_FIELDS_DEPTH + 1):
        cursor["d"] = {}
        cursor = cursor["d"]

    with pytest.raises(StepOutputError, match="deeper"):
        storable("s", deep)


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (b"%PDF-1.4", "application/pdf"),
        (b"\xff\xd8\xff\xe0", "image/jpeg"),
        (b"PK\x03\x04rest", "application/zip"),
        (b"\x1f\x8b\x08", "application/gzip"),
        (b"RIFF\x00\x00\x00\x00WEBPVP8", "image/webp"),
        (b'  {"a": 1}', "application/json"),
        ("héllo wörld".encode(), "text/plain"),
        ("é".encode() * 100 + "é".encode()[:1], "text/plain"),  # a character cut by the range
        (b"\x00\x01\x02binary", "application/octet-stream"),
        (b"\xfe\xfe\xfe\xfe plain", "application/octet-stream"),
        (b"", "application/x-empty"),
    ],
)
def test_sniff(head: bytes, expected: str) -> None:
    assert sniff(head) == expected


@pytest.mark.parametrize(
    "entry",
    [
        "a.b:f",
        "n=a.b:f",
        "n-1=a_b.c2:f_3",
        "a.b",
        "=a.b:f",
        "1n=a.b:f",
        "a..b:f",
        "a.b:f:g",
        "a-b.c:f",
        "n=a.b:",
        "x" * 65 + "=a:f",
    ],
)
def test_the_processor_refuses_exactly_the_step_entries_the_stack_refuses(entry: str) -> None:
    # One grammar (contract.PROCESSING_STEP_ENTRY): an entry the stack let through at synth
    # never fails to parse in the function, and one it refuses is refused there too.
    try:
        processing_steps_value([entry])
        stack_accepts = True
    except SettingError:
        stack_accepts = False
    try:
        parse_steps(entry)
        processor_accepts = True
    except StepConfigurationError:
        processor_accepts = False
    assert stack_accepts == processor_accepts
