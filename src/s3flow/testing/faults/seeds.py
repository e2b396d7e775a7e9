"""What every fault is keyed on: a seed, the fault's name and the object a request touches."""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Mapping, Sequence
from typing import Any

FAULT_SEED_ENV = "S3FLOW_FAULT_SEED"


def seed_from_env(default: int) -> int:
    """``S3FLOW_FAULT_SEED`` if set (to replay a failed run), else ``default``."""
    given = os.environ.get(FAULT_SEED_ENV, "").strip()
    return int(given) if given else default


def draw(seed: int, fault: str, subject: str) -> float:
    """A number in [0, 1) fixed by (seed, fault, subject): the same on every replay."""
    digest = hashlib.sha256(f"{seed}|{fault}|{subject}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def pick(seed: int, fault: str, subject: str, choices: Sequence[Any]) -> Any:
    return choices[int(draw(seed, fault, subject) * len(choices))]


class Budget:
    """Per subject, how many more times a fault fires: chosen once by seed, then counted down."""

    def __init__(self, seed: int, fault: str, rate: float, failures: Sequence[int]) -> None:
        self.seed, self.fault, self.rate, self.failures = seed, fault, rate, tuple(failures)
        self._left: dict[str, int] = {}
        self._lock = threading.Lock()

    def chosen(self, subject: str) -> int:
        """How many times the fault fires for ``subject`` in all (0 if it is spared)."""
        if draw(self.seed, self.fault, subject) >= self.rate:
            return 0
        return int(pick(self.seed, f"{self.fault}#count", subject, self.failures))

    def take(self, subject: str) -> bool:
        """True if the fault fires for ``subject`` now (uses one of its failures)."""
        with self._lock:
            left = self._left.setdefault(subject, self.chosen(subject))
            if left <= 0:
                return False
            self._left[subject] = left - 1
            return True


def dynamodb_subjects(operation: str, body: Mapping[str, Any]) -> list[str]:
    """The object keys (else the item keys) a DynamoDB write request touches."""

    def subject(item: Mapping[str, Any]) -> str:
        value = item.get("objectKey") or item.get("requestId") or {}
        return str(value.get("S", "")) if isinstance(value, Mapping) else ""

    if operation == "PutItem":
        return [subject(body.get("Item") or {})]
    if operation == "BatchWriteItem":
        return [
            subject((request.get("PutRequest") or {}).get("Item") or {})
            for requests in (body.get("RequestItems") or {}).values()
            for request in requests
        ]
    return []


def entry_subject(entry: Mapping[str, Any]) -> str:
    """The object key (else the record key) of a ``PutEvents`` entry, from its detail."""
    try:
        detail = json.loads(entry.get("Detail") or "{}")
    except ValueError:
        return ""
    return str(detail.get("objectKey") or detail.get("requestId") or "") if isinstance(detail, dict) else ""
