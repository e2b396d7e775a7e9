"""DynamoDB adapter on moto: a new record is written once; only a step error is ever replaced."""

from __future__ import annotations

from typing import Any

from s3flow import contract
from s3flow.functions.processor.store import PutOutcome, put_new, replace_step_error
from support.functions import TABLE


def item(n: int, **changes: Any) -> dict[str, Any]:
    return {
        "requestId": f"{n:064x}",
        "timestamp": "2026-11-24T10:15:30.123Z",
        "status": contract.STATUS_SUCCESS,
        "size": n,
        **changes,
    }


def step_error(n: int) -> dict[str, Any]:
    return item(n, status=contract.STATUS_ERROR, failedStep="checksum", errorMessage="boom")


def test_first_write_wins_and_a_later_one_returns_the_stored_item(aws) -> None:
    first = put_new(aws.table_writer, TABLE, item(1))
    again = put_new(aws.table_writer, TABLE, item(1, size=999))

    assert first.outcome is PutOutcome.WRITTEN and first.item["size"] == 1
    assert again.outcome is PutOutcome.EXISTS
    assert again.item["size"] == 1  # the stored item, not ours
    assert [stored["size"] for stored in aws.items()] == [1]


def test_a_stored_step_error_is_replaced(aws) -> None:
    put_new(aws.table_writer, TABLE, step_error(2))

    replaced = replace_step_error(aws.table_writer, TABLE, item(2, steps={"checksum": {"sha": "x"}}))

    assert replaced is True
    [stored] = aws.items()
    assert stored["status"] == contract.STATUS_SUCCESS
    assert "failedStep" not in stored and stored["steps"] == {"checksum": {"sha": "x"}}


def test_two_deliveries_racing_on_one_step_error_replace_it_once(aws) -> None:
    # GIVEN a stored step error that two redeliveries both read
    put_new(aws.table_writer, TABLE, step_error(3))

    # WHEN both retry the steps, succeed, and replace it
    first = replace_step_error(aws.table_writer, TABLE, item(3, awsRequestId="first"))
    second = replace_step_error(aws.table_writer, TABLE, item(3, awsRequestId="second"))

    # THEN only the first wins; the second finds a success and writes nothing
    assert (first, second) == (True, False)
    [stored] = aws.items()
    assert stored["awsRequestId"] == "first"


def test_a_success_is_never_replaced(aws) -> None:
    put_new(aws.table_writer, TABLE, item(4))

    assert replace_step_error(aws.table_writer, TABLE, step_error(4)) is False
    assert aws.items()[0]["status"] == contract.STATUS_SUCCESS


def test_an_error_without_a_failed_step_is_never_replaced(aws) -> None:
    # A bad record's error item: a redelivery cannot make it valid, so nothing replaces it.
    put_new(aws.table_writer, TABLE, item(5, status=contract.STATUS_ERROR, errorMessage="bad record"))

    assert replace_step_error(aws.table_writer, TABLE, item(5)) is False
    assert aws.items()[0]["status"] == contract.STATUS_ERROR


def test_nothing_is_created_for_a_key_that_does_not_exist(aws) -> None:
    assert replace_step_error(aws.table_writer, TABLE, item(6)) is False
    assert aws.items() == []
