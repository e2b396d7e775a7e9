"""``records`` reads eventState from the table: BatchGetItem, at most 100 keys a call, retries."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from s3flow.cli.queries import MAX_BATCH_GET_KEYS, with_event_states
from s3flow.processor.backoff import Backoff

TABLE = "records"


def _row(n: int) -> dict[str, Any]:
    return {"requestId": f"{n:064x}", "timestamp": f"2026-11-24T10:{n // 60 % 60:02d}:{n % 60:02d}.000Z"}


@dataclass
class FakeTable:
    """BatchGetItem from ``states``; the first ``hold_back`` calls leave their last key unprocessed."""

    states: dict[str, str]
    hold_back: int = 0
    requests: list[list[dict[str, Any]]] = field(default_factory=list)

    def batch_get_item(self, RequestItems: dict[str, dict[str, Any]]) -> dict[str, Any]:  # noqa: N803
        [(table, request)] = RequestItems.items()
        keys = request["Keys"]
        self.requests.append(keys)
        assert request["ProjectionExpression"] == "#pk, #sk, #state"
        unprocessed = keys[-1:] if self.hold_back else []
        self.hold_back = max(0, self.hold_back - 1)
        served = [key for key in keys if key not in unprocessed and key["requestId"]["S"] in self.states]
        responses = [{**key, "eventState": {"S": self.states[key["requestId"]["S"]]}} for key in served]
        return {
            "Responses": {table: responses},
            "UnprocessedKeys": {table: {"Keys": unprocessed}} if unprocessed else {},
        }


def test_keys_go_in_calls_of_at_most_100_and_each_row_gets_its_state() -> None:
    # GIVEN 250 rows from the index, one of which is no longer in the table
    rows = [_row(n) for n in range(250)]
    table = FakeTable({row["requestId"]: "PUBLISHED" if n % 2 else "PENDING" for n, row in enumerate(rows)})
    del table.states[rows[7]["requestId"]]

    shown = with_event_states(table, TABLE, rows)

    assert [len(keys) for keys in table.requests] == [100, 100, 50]
    assert max(len(keys) for keys in table.requests) <= MAX_BATCH_GET_KEYS
    assert [row.get("eventState") for row in shown[:4]] == ["PENDING", "PUBLISHED", "PENDING", "PUBLISHED"]
    assert "eventState" not in shown[7]  # gone from the table: nothing invented
    assert [row["requestId"] for row in shown] == [row["requestId"] for row in rows]  # order kept


def test_unprocessed_keys_are_asked_again_with_backoff() -> None:
    sleeps: list[float] = []
    rows = [_row(n) for n in range(3)]
    table = FakeTable({row["requestId"]: "PUBLISHED" for row in rows}, hold_back=2)

    shown = with_event_states(table, TABLE, rows, backoff=Backoff(sleep=sleeps.append, rng=lambda: 1.0))

    assert [len(keys) for keys in table.requests] == [3, 1, 1]
    assert len(sleeps) == 2
    assert {row["eventState"] for row in shown} == {"PUBLISHED"}


def test_no_rows_make_no_call() -> None:
    table = FakeTable({})
    assert with_event_states(table, TABLE, []) == []
    assert table.requests == []
