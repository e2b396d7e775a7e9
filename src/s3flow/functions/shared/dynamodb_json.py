"""DynamoDB attribute values to and from Python, as ``boto3.dynamodb.types`` converts them.

The same mapping as boto3's ``TypeSerializer``/``TypeDeserializer`` (tests hold the two to
parity), written here because importing ``boto3.dynamodb.types`` imports all of boto3,
s3transfer included: about 30 ms of every cold start of a function that otherwise needs
only botocore. Numbers go through DynamoDB's decimal context (38 digits, rejecting
inexact or rounded values); floats, NaN and Infinity are refused; binary comes back as
``bytes`` (boto3 wraps it in its ``Binary``).
"""

from __future__ import annotations

from collections.abc import Mapping, Set
from decimal import Clamped, Context, Decimal, Inexact, Overflow, Rounded, Underflow
from typing import Any

# DynamoDB's number limits, as boto3.dynamodb.types.DYNAMODB_CONTEXT sets them.
_NUMBER_CONTEXT = Context(
    Emin=-128, Emax=126, prec=38, traps=[Clamped, Overflow, Inexact, Rounded, Underflow]
)


def serialize(value: Any) -> dict[str, Any]:
    if value is None:
        return {"NULL": True}
    if isinstance(value, bool):
        return {"BOOL": value}
    if _is_number(value):
        return {"N": _number(value)}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, bytes | bytearray):
        return {"B": value}
    if isinstance(value, Set):
        if all(_is_number(member) for member in value):
            return {"NS": [_number(member) for member in value]}
        if all(isinstance(member, str) for member in value):
            return {"SS": list(value)}
        if all(isinstance(member, bytes | bytearray) for member in value):
            return {"BS": list(value)}
    if isinstance(value, Mapping):
        return {"M": {key: serialize(member) for key, member in value.items()}}
    if isinstance(value, list | tuple):
        return {"L": [serialize(member) for member in value]}
    raise TypeError(f'Unsupported type "{type(value)}" for value "{value}"')


def deserialize(value: Mapping[str, Any]) -> Any:
    if not value:
        raise TypeError("Value must be a nonempty dictionary whose key is a valid dynamodb type.")
    kind, content = next(iter(value.items()))
    if kind == "NULL":
        return None
    if kind in ("BOOL", "S", "B"):
        return bytes(content) if kind == "B" else content
    if kind == "N":
        return _NUMBER_CONTEXT.create_decimal(content)
    if kind == "SS":
        return set(content)
    if kind == "NS":
        return {_NUMBER_CONTEXT.create_decimal(member) for member in content}
    if kind == "BS":
        return {bytes(member) for member in content}
    if kind == "L":
        return [deserialize(member) for member in content]
    if kind == "M":
        return {key: deserialize(member) for key, member in content.items()}
    raise TypeError(f"Dynamodb type {kind} is not supported")


def _is_number(value: Any) -> bool:
    if isinstance(value, float):
        raise TypeError("Float types are not supported. Use Decimal types instead.")
    return isinstance(value, int | Decimal) and not isinstance(value, bool)


def _number(value: int | Decimal) -> str:
    number = str(_NUMBER_CONTEXT.create_decimal(value))
    if number in ("Infinity", "NaN"):
        raise TypeError("Infinity and NaN not supported")
    return number


def to_dynamo(item: dict[str, Any]) -> dict[str, Any]:
    return {name: serialize(value) for name, value in item.items()}


def from_dynamo(item: dict[str, Any]) -> dict[str, Any]:
    return {name: deserialize(value) for name, value in item.items()}


def plain(value: Any) -> Any:
    """DynamoDB's Decimals back to int/float so items can be JSON-encoded."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list | set | tuple):
        return [plain(v) for v in value]
    return value
