"""A DynamoDB event source mapping's ``FilterCriteria``: parsed and checked when the mapping
is provisioned, applied to each record by the poller.

Lambda's event filtering uses EventBridge's pattern syntax, so moto's EventBridge matcher
evaluates the patterns; operators it does not know, and patterns on any key but
``dynamodb``, are refused instead of evaluated as never matching.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from moto.events.exceptions import InvalidEventPatternException
from moto.events.models import EventPattern


def parse_filters(patterns: Sequence[str]) -> list[EventPattern]:
    """Each ``FilterCriteria`` pattern, parsed by moto's EventBridge pattern matcher (Lambda's
    event filtering uses EventBridge's syntax); ValueError naming a pattern it refuses."""
    parsed = []
    for pattern in patterns:
        try:
            loaded = EventPattern.load(pattern)
        except (InvalidEventPatternException, ValueError) as error:
            raise ValueError(f"filter pattern {pattern!r} is refused: {error}") from error
        unknown = sorted(_operators(loaded.get_pattern()) - _OPERATORS)
        if unknown:
            # moto would evaluate them as never matching; Lambda refuses the mapping.
            raise ValueError(f"filter pattern {pattern!r} uses unknown operators: {', '.join(unknown)}")
        other_keys = sorted(_top_level_keys(loaded.get_pattern()) - {"dynamodb"})
        if other_keys:
            # Lambda's guide: DynamoDB event source mappings filter only on the `dynamodb` key
            # (https://docs.aws.amazon.com/lambda/latest/dg/with-ddb-filtering.html); a
            # pattern on eventName may match nothing there, so it is refused here, not guessed.
            raise ValueError(
                f"filter pattern {pattern!r} filters on {', '.join(other_keys)}: DynamoDB event "
                "source mappings filter only on the dynamodb key"
            )
        parsed.append(loaded)
    return parsed


def _top_level_keys(pattern: Mapping[str, Any]) -> set[str]:
    """The record keys a pattern filters on at its top level (``$or`` branches included)."""
    keys: set[str] = set()
    for key, value in pattern.items():
        if key == "$or" and isinstance(value, list):
            keys |= {name for branch in value if isinstance(branch, dict) for name in _top_level_keys(branch)}
        else:
            keys.add(key)
    return keys


_OPERATORS = {
    "prefix", "suffix", "equals-ignore-case", "anything-but", "numeric", "exists", "cidr", "wildcard",
}  # fmt: skip


def _operators(node: Any) -> set[str]:
    """The names of the matching operators used anywhere in a pattern (``$or`` branches included)."""
    if isinstance(node, list):
        return {name for member in node for name in _operators(member)}
    if not isinstance(node, dict):
        return set()
    found: set[str] = set()
    for key, value in node.items():
        if key == "$or":
            found |= _operators(value)
        elif isinstance(value, list):
            found |= {name for rule in value if isinstance(rule, dict) for name in rule}
        else:
            found |= _operators(value)
    return found


def passes(filters: Sequence[EventPattern], record: Mapping[str, Any]) -> bool:
    """No filters: every record; else a record matching any one of them."""
    return not filters or any(pattern.matches_event(dict(record)) for pattern in filters)  # type: ignore[arg-type]
