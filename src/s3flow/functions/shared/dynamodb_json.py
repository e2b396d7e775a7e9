"""DynamoDB attribute values to and from Python, as ``boto3.dynamodb.types`` converts them.

The same mapping as boto3's ``TypeSerializer``/``TypeDeserializer`` (tests hold the two to
parity), written here because importing ``boto3.dynamodb.types`` imports all of boto3,
s3transfer included: about 30 ms of every cold start of a function that otherwise needs
only botocore. Numbers go through DynamoDB's decimal context (38 digits, rejecting
inexact or rounded values); floats, NaN and Infinity are refused; binary comes back as
``bytes`` (boto3 wraps it in its ``Binary``).

``to_json`` writes such values as JSON with each Decimal as the exact number it holds: what
the publisher sends as an event's detail and the CLI prints.
"""

from __future__ import annotations

import json
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
        return {"N": number(value)}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, bytes | bytearray):
        return {"B": value}
    if isinstance(value, Set):
        if all(_is_number(member) for member in value):
            return {"NS": [number(member) for member in value]}
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


def number(value: int | Decimal) -> str:
    """The N text of a number: ``TypeError`` for NaN and Infinity, and a
    ``decimal.DecimalException`` (an ``ArithmeticError``) for one the context cannot hold
    exactly (over 38 digits, or an exponent out of its range, as boto3 refuses them)."""
    text = str(_NUMBER_CONTEXT.create_decimal(value))
    if text in ("Infinity", "-Infinity", "NaN", "-NaN", "sNaN", "-sNaN"):
        raise TypeError("Infinity and NaN not supported")
    return text


def to_dynamo(item: dict[str, Any]) -> dict[str, Any]:
    return {name: serialize(value) for name, value in item.items()}


def from_dynamo(item: dict[str, Any]) -> dict[str, Any]:
    return {name: deserialize(value) for name, value in item.items()}


def to_json(value: Any) -> str:
    """JSON text as ``json.dumps(value, ensure_ascii=False, separators=(",", ":"),
    sort_keys=True)`` writes it, but with each ``Decimal`` written as the exact number it
    holds (``json.dumps`` refuses Decimals, and ``float()`` would round one of more than 17
    digits). Sets are written as lists; NaN and Infinity as ``json.dumps`` writes them (not
    JSON: callers that send the text refuse it)."""
    out: list[str] = []
    _write_json(value, out)
    return "".join(out)


def _write_json(value: Any, out: list[str]) -> None:
    if isinstance(value, str):
        out.append(_json_string(value))
    elif value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, int):
        out.append(int.__repr__(value))
    elif isinstance(value, Decimal):
        out.append(_decimal_json(value))
    elif isinstance(value, float):
        out.append(json.dumps(value))
    elif isinstance(value, Mapping):
        out.append("{")
        for index, name in enumerate(sorted(value)):
            if not isinstance(name, str):
                raise TypeError(f"keys must be str, not {type(name).__name__}")
            out.append("," if index else "")
            out.append(_json_string(name))
            out.append(":")
            _write_json(value[name], out)
        out.append("}")
    elif isinstance(value, list | tuple | Set):
        out.append("[")
        for index, member in enumerate(value):
            out.append("," if index else "")
            _write_json(member, out)
        out.append("]")
    else:
        raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


# The C encoder json.dumps uses for strings with ensure_ascii=False.
_json_string = json.encoder.encode_basestring


def _decimal_json(value: Decimal) -> str:
    if not value.is_finite():
        return "NaN" if value.is_nan() else "-Infinity" if value.is_signed() else "Infinity"
    # An integral value as an integer (1E+2 as 100, 1.0 as 1) up to DynamoDB's largest
    # magnitude, past which int() would spell out a huge number; else Decimal's own text,
    # which is a JSON number (1.5E-7, 0.1) holding every digit.
    if value == value.to_integral_value() and value.adjusted() < 128:
        return str(int(value))
    return str(value)
