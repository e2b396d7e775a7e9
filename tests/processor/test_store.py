"""DynamoDB adapter: conditional PENDING writes (moto) and batched PUBLISHED writes (fake)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from processor_support import TABLE, Sleeps

from s3flow.processor.backoff import Backoff
from s3flow.processor.store import PutOutcome, from_dynamo, mark_published, put_pending, to_dynamo


def item(n: int, state: str = "PENDING") -> dict[str, Any]:
    return {"requestId": f"{n:064x}", "timestamp": "2026-11-24T10:15:30.123Z", "size": n, "eventState": state}


def test_first_write_wins_and_later_writes_report_the_existing_state(aws) -> None:
    first = put_pending(aws.dynamodb, TABLE, item(1))
    again = put_pending(aws.dynamodb, TABLE, {**item(1), "size": 999})

    assert first.outcome is PutOutcome.WRITTEN
    assert again.outcome is PutOutcome.PENDING_EXISTS
    assert again.item["size"] == 1  # the earlier attempt's item, not ours
    assert len(aws.items()) == 1


def test_a_published_item_is_a_duplicate(aws) -> None:
    aws.dynamodb.put_item(TableName=TABLE, Item=to_dynamo(item(2, state="PUBLISHED")))

    result = put_pending(aws.dynamodb, TABLE, item(2))

    assert result.outcome is PutOutcome.PUBLISHED_EXISTS
    assert aws.items()[0]["eventState"] == "PUBLISHED"


def test_mark_published_rewrites_items_as_published(aws) -> None:
    for n in range(3):
        put_pending(aws.dynamodb, TABLE, item(n))

    left = mark_published(aws.dynamodb, TABLE, [item(n) for n in range(3)])

    assert left == []
    assert {stored["eventState"] for stored in aws.items()} == {"PUBLISHED"}


@dataclass
class FakeDynamoDB:
    """Records BatchWriteItem requests; hands back the last ``unprocess`` puts ``times`` times."""

    unprocess: int = 0
    times: int = 0
    requests: list[list[dict[str, Any]]] = field(default_factory=list)

    def batch_write_item(self, RequestItems: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:  # noqa: N803
        [(table, puts)] = RequestItems.items()
        self.requests.append(puts)
        if self.times and self.unprocess:
            self.times -= 1
            return {"UnprocessedItems": {table: puts[-self.unprocess :]}}
        return {"UnprocessedItems": {}}


def test_batches_hold_at_most_25_items() -> None:
    client = FakeDynamoDB()

    left = mark_published(client, TABLE, [item(n) for n in range(60)], backoff=Backoff(sleep=Sleeps()))

    assert left == []
    assert [len(request) for request in client.requests] == [25, 25, 10]
    written = [from_dynamo(put["PutRequest"]["Item"]) for request in client.requests for put in request]
    assert {w["eventState"] for w in written} == {"PUBLISHED"}
    assert len({w["requestId"] for w in written}) == 60


def test_unprocessed_items_are_retried_with_backoff() -> None:
    client = FakeDynamoDB(unprocess=3, times=2)
    sleeps = Sleeps()

    left = mark_published(client, TABLE, [item(n) for n in range(5)], backoff=Backoff(sleep=sleeps))

    assert left == []
    assert [len(request) for request in client.requests] == [5, 3, 3]
    assert len(sleeps.seconds) == 2


def test_items_still_unprocessed_after_the_bounded_retries_are_returned() -> None:
    client = FakeDynamoDB(unprocess=2, times=100)

    left = mark_published(
        client, TABLE, [item(n) for n in range(5)], backoff=Backoff(attempts=3, sleep=Sleeps())
    )

    assert len(client.requests) == 3
    assert [entry["requestId"] for entry in left] == [f"{3:064x}", f"{4:064x}"]
