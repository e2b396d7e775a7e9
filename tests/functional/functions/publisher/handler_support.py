"""What the publisher handler tests share: the handler's invocation, its PutEvents calls
(optionally failing entries) and what reached the bus."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from s3flow.functions.publisher import handler as publish_handler
from s3flow.functions.shared.aws_api import ApiCallError, JsonApiClient
from support.functions import FakeContext

from ..support import Aws

CONTEXT = FakeContext(function_name="s3-event-publisher-test")
NO_FAILURES = {"batchItemFailures": []}


def object_key(entry: dict[str, Any]) -> str:
    return json.loads(entry["Detail"]).get("objectKey") or json.loads(entry["Detail"])["requestId"]


@dataclass
class PutEventsCalls:
    """Every PutEvents call the publisher's client makes, optionally failing entries.

    A failing entry is not sent to moto; the response reports it with an ErrorCode at its position,
    as EventBridge reports a partial failure. ``refuse(call_number)`` true makes a whole call raise.
    """

    fail: Callable[[str, int], bool] = lambda key, call: False  # noqa: E731
    refuse: Callable[[int], bool] = lambda call: False  # noqa: E731
    entries: list[list[dict[str, Any]]] = field(default_factory=list)

    def install(self, client: JsonApiClient, monkeypatch: pytest.MonkeyPatch) -> None:
        def real(operation: str, params: dict[str, Any]) -> dict[str, Any]:
            return type(client).call(client, operation, params)  # the class's, as recorders patch it

        def call(operation: str, params: dict[str, Any]) -> dict[str, Any]:
            if operation != "PutEvents":
                return real(operation, params)
            entries = list(params["Entries"])
            self.entries.append(entries)
            number = len(self.entries)
            if self.refuse(number):
                raise ApiCallError(operation, "ThrottlingException", "slow down", 400)
            failing = [self.fail(object_key(entry), number) for entry in entries]
            kept = [entry for entry, fails in zip(entries, failing, strict=True) if not fails]
            sent = iter(real(operation, {**params, "Entries": kept})["Entries"] if kept else [])
            results = [{"ErrorCode": "InternalFailure", "ErrorMessage": "injected"} if fails
                       else next(sent) for fails in failing]  # fmt: skip
            return {"FailedEntryCount": sum(failing), "Entries": results}

        monkeypatch.setattr(client, "call", call)

    def sizes(self) -> list[int]:
        return [len(entries) for entries in self.entries]


def invoke(*records: dict[str, Any]) -> dict[str, Any]:
    return publish_handler.handler({"Records": list(records)}, CONTEXT)


def delivered_keys(aws: Aws) -> list[str]:
    return sorted(
        event["detail"].get("objectKey") or event["detail"]["requestId"] for event in aws.delivered_events()
    )
