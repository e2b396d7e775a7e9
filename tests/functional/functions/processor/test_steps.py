"""User processing steps through the handler on moto: fields stored, failures per object.

What is stored is what gets published: the publisher function announces the table stream's
new images, so "in the event" here means in the image the stream carries.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest

from s3flow import contract
from s3flow.functions.processor import processing
from s3flow.functions.processor.steps import registry as extension
from s3flow.functions.processor.steps.registry import ObjectRef, register_step
from s3flow.functions.processor.store import PutOutcome, PutResult, from_dynamo
from s3flow.functions.shared.entries import entry_for
from s3flow.functions.shared.errors import ConfigurationError
from support.functions import BUS, load_event


def by_key(items: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {item["objectKey"]: item for item in items}


def images(aws: Any, event_name: str = "INSERT") -> dict[str, dict[str, Any]]:
    """The stream's new images of one kind, by object key: what the publisher will announce."""
    found = [
        from_dynamo(r["dynamodb"]["NewImage"]) for r in aws.stream_records() if r["eventName"] == event_name
    ]
    return {image["objectKey"]: image for image in found}


def announced(image: dict[str, Any]) -> dict[str, Any]:
    """The event entry the publisher makes of a stream image."""
    entry = entry_for(image, event_bus_name=BUS)
    return {"detail-type": entry["DetailType"], "detail": json.loads(entry["Detail"])}


def first_bytes(obj: ObjectRef) -> dict[str, Any]:
    return {"head": obj.read(0, 4).decode(), "size": obj.size, "ratio": 0.5}


def test_fields_from_a_step_land_on_the_item_and_in_the_event(aws, invoke, uploads) -> None:
    register_step(first_bytes, name="peek")
    record = uploads.put("docs/a b.txt", b"hello world")

    summary = invoke({"Records": [record]})

    [item] = aws.items()
    assert item["status"] == contract.STATUS_SUCCESS
    assert item["steps"] == {"peek": {"head": "hell", "size": 11, "ratio": pytest.approx(0.5)}}
    event = announced(images(aws)["docs/a b.txt"])
    assert event["detail"]["steps"] == {"peek": {"head": "hell", "size": 11, "ratio": 0.5}}
    assert event["detail"]["objectKey"] == "docs/a b.txt"
    assert summary["succeeded"] == 1 and summary["step_errors"] == 0


def test_a_failing_step_fails_only_its_object(aws, invoke, uploads) -> None:
    def picky(obj: ObjectRef) -> dict[str, Any]:
        if obj.key.endswith("bad.txt"):
            raise RuntimeError("cannot parse bad.txt")
        return {"ok": True}

    register_step(picky)
    records = [uploads.put(key, b"data") for key in ("one.txt", "bad.txt", "two.txt")]

    summary = invoke({"Records": records})  # no raise: a step error is not a transient failure

    assert summary == {**summary, "succeeded": 2, "errors": 1, "step_errors": 1, "failed": 0}
    items = by_key(aws.items())
    assert len(items) == 3
    bad = items["bad.txt"]
    assert bad["status"] == contract.STATUS_ERROR
    assert bad["failedStep"] == "picky"
    assert bad["errorMessage"] == "cannot parse bad.txt"
    assert bad["errorType"] == "RuntimeError"
    assert not bad["requestId"].startswith("error#")  # the object's own key: one record per object
    assert "steps" not in bad
    assert items["one.txt"]["steps"] == items["two.txt"]["steps"] == {"picky": {"ok": True}}
    events = {key: announced(image) for key, image in images(aws).items()}
    assert events["bad.txt"]["detail-type"] == contract.DETAIL_TYPE_ERROR
    assert events["bad.txt"]["detail"]["failedStep"] == "picky"
    assert events["bad.txt"]["detail"]["errorMessage"] == "cannot parse bad.txt"
    assert {events[k]["detail-type"] for k in ("one.txt", "two.txt")} == {contract.DETAIL_TYPE_SUCCESS}


def test_redelivery_retries_a_failed_step_and_its_success_replaces_the_error(
    aws, invoke, uploads, api_calls
) -> None:
    broken = [True]

    def flaky(obj: ObjectRef) -> dict[str, Any]:
        if broken[0] and obj.key == "late.txt":
            raise TimeoutError("upstream scanner timed out")
        return {"scanned": True}

    register_step(flaky)
    event = {"Records": [uploads.put("early.txt", b"e"), uploads.put("late.txt", b"l")]}
    invoke(event)
    assert by_key(aws.items())["late.txt"]["status"] == contract.STATUS_ERROR
    broken[0] = False
    api_calls.calls.clear()

    summary = invoke(event)

    assert summary == {**summary, "retried": 1, "succeeded": 1, "duplicates": 1, "errors": 0}
    items = by_key(aws.items())
    assert len(items) == 2  # still one record per object
    late = items["late.txt"]
    assert late["status"] == contract.STATUS_SUCCESS
    assert late["steps"] == {"flaky": {"scanned": True}}
    assert "failedStep" not in late and "errorMessage" not in late and "errorType" not in late
    # the replacement is conditional on the stored item still being a step error
    [replacing] = [c for c in api_calls.of("dynamodb", "PutItem") if "late.txt" in str(c.params["Item"])][1:]
    assert "ConditionExpression" in replacing.params
    # the stream shows one MODIFY, from the step error to the success: the publisher announces it
    [modify] = [r for r in aws.stream_records() if r["eventName"] == "MODIFY"]
    assert from_dynamo(modify["dynamodb"]["OldImage"])["failedStep"] == "flaky"
    assert (
        announced(from_dynamo(modify["dynamodb"]["NewImage"]))["detail-type"] == contract.DETAIL_TYPE_SUCCESS
    )

    assert invoke(event)["duplicates"] == 2  # now done: nothing more is written
    assert len(aws.stream_records()) == 3


def test_a_step_failing_again_leaves_the_stored_error_alone(aws, invoke, uploads) -> None:
    attempts = [0]

    def always_broken(obj: ObjectRef) -> dict[str, Any]:
        attempts[0] += 1
        raise ValueError(f"attempt {attempts[0]} failed")

    register_step(always_broken)
    event = {"Records": [uploads.put("x.bin", b"x")]}
    invoke(event)

    summary = invoke(event)

    assert attempts[0] == 2  # the steps were retried
    assert summary == {**summary, "retried": 1, "step_errors": 1, "errors": 0, "succeeded": 0}
    [item] = aws.items()
    assert item["errorMessage"] == "attempt 1 failed"  # not replaced by another failure
    assert [r["eventName"] for r in aws.stream_records()] == ["INSERT"]  # nothing new to announce


def test_step_fields_are_namespaced_and_cannot_overwrite_ours(aws, invoke, uploads) -> None:
    register_step(lambda obj: {"status": "HACKED", "requestId": "mine", "objectKey": "other"}, name="sneaky")
    record = uploads.put("safe.txt", b"s")

    invoke({"Records": [record]})

    [item] = aws.items()
    assert item["status"] == contract.STATUS_SUCCESS
    assert item["objectKey"] == "safe.txt"
    assert item["requestId"] != "mine"
    assert item["steps"]["sneaky"] == {"status": "HACKED", "requestId": "mine", "objectKey": "other"}
    event = announced(images(aws)["safe.txt"])
    assert event["detail"]["status"] == contract.STATUS_SUCCESS
    assert event["detail-type"] == contract.DETAIL_TYPE_SUCCESS


@pytest.mark.parametrize(
    ("output", "expected"),
    [
        (["not", "a", "mapping"], "not a mapping"),
        ({"value": float("nan")}, "not JSON"),
        ({"tags": {"a", "b"}}, "not JSON"),
        ({"blob": "x" * (extension.MAX_STEP_FIELDS_BYTES + 1)}, "over"),
        ({"": "no name"}, "empty name"),
    ],
)
def test_output_we_cannot_store_is_that_objects_error(aws, invoke, uploads, output, expected) -> None:
    register_step(lambda obj: output, name="odd")
    record = uploads.put("odd.txt", b"o")

    summary = invoke({"Records": [record]})

    [item] = aws.items()
    assert item["status"] == contract.STATUS_ERROR
    assert item["failedStep"] == "odd" and item["errorType"] == "StepOutputError"
    assert expected in item["errorMessage"]
    assert summary["step_errors"] == 1 and summary["errors"] == 1


def test_a_step_returning_nothing_adds_no_fields(aws, invoke, uploads) -> None:
    calls: list[str] = []
    register_step(lambda obj: calls.append(obj.key), name="quiet")

    invoke({"Records": [uploads.put("q.txt", b"q")]})

    [item] = aws.items()
    assert calls == ["q.txt"]
    assert item["status"] == contract.STATUS_SUCCESS and "steps" not in item


def test_a_duplicate_delivery_changes_nothing_the_steps_stored(aws, invoke, uploads, api_calls) -> None:
    runs = [0]

    def counting(obj: ObjectRef) -> dict[str, Any]:
        runs[0] += 1
        return {"run": runs[0], "first": obj.read(0, 1).decode()}

    register_step(counting)
    event = {"Records": [uploads.put(f"d{i}.txt", b"abc") for i in range(3)]}
    invoke(event)
    first = aws.items()

    summary = invoke(event)

    assert summary == {**summary, "duplicates": 3, "succeeded": 0, "retried": 0}
    assert aws.items() == first
    assert {item["steps"]["counting"]["run"] for item in first} == {1, 2, 3}
    assert len(aws.stream_records()) == 3


def test_steps_run_before_the_one_write(aws, invoke, uploads, api_calls) -> None:
    register_step(lambda obj: {"n": obj.size}, name="count")
    event = {"Records": [uploads.put("r.txt", b"four")]}

    invoke(event)

    [put] = api_calls.of("dynamodb", "PutItem")
    assert from_dynamo(put.params["Item"])["steps"] == {"count": {"n": 4}}
    assert [r["eventName"] for r in aws.stream_records()] == ["INSERT"]


def test_a_delivery_that_lost_the_race_to_replace_a_step_error_writes_nothing(
    aws, invoke, uploads, monkeypatch
) -> None:
    # GIVEN a step error that another delivery has already replaced with a success
    broken = [True]

    def flaky(obj: ObjectRef) -> dict[str, Any]:
        if broken[0]:
            raise TimeoutError("scanner down")
        return {"ok": True}

    register_step(flaky)
    event = {"Records": [uploads.put("race.txt", b"r")]}
    invoke(event)
    [step_error] = aws.items()
    broken[0] = False
    invoke(event)
    [replaced] = aws.items()
    assert replaced["status"] == contract.STATUS_SUCCESS

    # WHEN a racing delivery still saw the step error when its own write was refused
    monkeypatch.setattr(
        processing, "put_new", lambda client, table, item: PutResult(PutOutcome.EXISTS, step_error)
    )
    summary = invoke(event)

    # THEN its replacement is refused too: the success stays, counted once
    assert summary == {**summary, "retried": 1, "duplicates": 1, "succeeded": 0}
    assert aws.items() == [replaced]
    assert [r["eventName"] for r in aws.stream_records()] == ["INSERT", "MODIFY"]


def test_steps_named_in_the_environment_run_the_shipped_examples(aws, invoke, uploads, monkeypatch) -> None:
    monkeypatch.setenv(
        contract.ENV_PROCESSING_STEPS,
        "s3flow.functions.processor.steps.checksum:sha256,"
        " kind=s3flow.functions.processor.steps.content_type:content_type",
    )
    body = b"%PDF-1.7\n" + bytes(range(256)) * 40
    record = uploads.put("papers/report.pdf", body)

    invoke({"Records": [record]})

    [item] = aws.items()
    assert item["steps"]["sha256"] == {"sha256": hashlib.sha256(body).hexdigest(), "bytesRead": len(body)}
    assert item["steps"]["kind"] == {"contentType": "application/pdf", "sniffedBytes": 512}


def test_a_step_reads_the_version_in_the_record_not_the_latest(aws, invoke, uploads, monkeypatch) -> None:
    monkeypatch.setenv(contract.ENV_PROCESSING_STEPS, "s3flow.functions.processor.steps.checksum:sha256")
    first = uploads.put("same-key.txt", b"first version")
    uploads.put("same-key.txt", b"second version, longer")

    invoke({"Records": [first]})

    [item] = aws.items()
    assert item["steps"]["sha256"]["sha256"] == hashlib.sha256(b"first version").hexdigest()


def test_a_misconfigured_step_fails_the_invocation_before_any_write(aws, invoke, monkeypatch) -> None:
    monkeypatch.setenv(contract.ENV_PROCESSING_STEPS, "no_such_module_for_s3flow:step")

    with pytest.raises(ConfigurationError, match="no_such_module_for_s3flow"):
        invoke("s3_put_five")

    assert aws.items() == []
    assert aws.stream_records() == []


def test_steps_are_not_loaded_for_an_event_with_no_objects(aws, invoke, monkeypatch) -> None:
    monkeypatch.setenv(contract.ENV_PROCESSING_STEPS, "no_such_module_for_s3flow:step")

    assert invoke("s3_test_event")["ignored"] == 1


def test_bad_records_do_not_run_steps(aws, invoke) -> None:
    calls: list[str] = []
    register_step(lambda obj: calls.append(obj.key), name="spy")

    invoke(load_event("s3_object_removed"))

    assert calls == []
    [item] = aws.items()
    assert item["status"] == contract.STATUS_ERROR and "failedStep" not in item
