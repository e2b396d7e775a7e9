"""PutEvents adapter against a recording fake: limits, partial failures, bounded retries."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from s3flow.functions.publisher.delivery import publish
from s3flow.functions.shared.aws_api import ApiCallError
from s3flow.functions.shared.backoff import Backoff
from s3flow.functions.shared.entries import entry_size
from support.functions import Sleeps


@dataclass
class FakeEventBridge:
    """Records each PutEvents request; fails the entries whose Detail is in ``fail`` for
    the first ``fail_times`` requests that contain them (or always, with ``fail_times=None``)."""

    fail: set[str] = field(default_factory=set)
    fail_times: int | None = 1
    raise_first: int = 0
    requests: list[list[dict[str, Any]]] = field(default_factory=list)
    seen: dict[str, int] = field(default_factory=dict)

    def call(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        assert operation == "PutEvents"
        entries = params["Entries"]
        self.requests.append(entries)
        if self.raise_first:
            self.raise_first -= 1
            raise ApiCallError(operation, "ThrottlingException", "slow down", 400)
        results = []
        for entry in entries:
            detail = entry["Detail"]
            self.seen[detail] = self.seen.get(detail, 0) + 1
            failing = detail in self.fail and (
                self.fail_times is None or self.seen[detail] <= self.fail_times
            )
            results.append({"ErrorCode": "InternalFailure", "ErrorMessage": "try again"} if failing
                           else {"EventId": f"id-{detail}"})  # fmt: skip
        return {"FailedEntryCount": sum("ErrorCode" in r for r in results), "Entries": results}


def entries(count: int, detail_bytes: int = 0) -> list[dict[str, Any]]:
    return [{"Source": "s", "DetailType": "d", "Detail": f"{i}".ljust(detail_bytes, " "), "EventBusName": "b"}
            for i in range(count)]  # fmt: skip


def test_only_failed_entries_are_retried_until_published() -> None:
    client = FakeEventBridge(fail={"2", "5"})
    sleeps = Sleeps()

    report = publish(client, entries(7), backoff=Backoff(sleep=sleeps))

    assert report.published == list(range(7))
    assert report.failed == {}
    assert [[e["Detail"] for e in request] for request in client.requests] == [
        [str(i) for i in range(7)],
        ["2", "5"],
    ]
    assert len(sleeps.seconds) == 1


def test_persistent_failure_is_reported_never_claimed_published() -> None:
    client = FakeEventBridge(fail={"1"}, fail_times=None)
    sleeps = Sleeps()

    report = publish(client, entries(3), backoff=Backoff(attempts=4, sleep=sleeps, rng=lambda: 1.0))

    assert report.published == [0, 2]
    assert report.failed == {1: "InternalFailure"}
    assert len(client.requests) == 4  # bounded
    assert sleeps.seconds == [0.05, 0.1, 0.2]  # exponential, capped, one pause between attempts


def test_whole_call_errors_count_as_failed_entries_and_are_retried() -> None:
    client = FakeEventBridge(raise_first=1)

    report = publish(client, entries(3), backoff=Backoff(sleep=Sleeps()))

    assert report.published == [0, 1, 2]
    assert len(client.requests) == 2


def test_requests_respect_ten_entries_and_256_kb() -> None:
    client = FakeEventBridge()

    report = publish(client, entries(25, detail_bytes=60 * 1024), backoff=Backoff(sleep=Sleeps()))

    assert report.published == list(range(25))
    assert all(len(request) <= 10 for request in client.requests)
    assert all(sum(entry_size(e) for e in request) <= 256 * 1024 for request in client.requests)
    assert [len(request) for request in client.requests] == [4] * 6 + [1]


def test_backoff_is_capped() -> None:
    sleeps = Sleeps()
    backoff = Backoff(attempts=10, base_seconds=0.1, cap_seconds=0.5, sleep=sleeps, rng=lambda: 1.0)

    for retry in range(6):
        backoff.pause(retry)

    assert sleeps.seconds == [0.1, 0.2, 0.4, 0.5, 0.5, 0.5]
