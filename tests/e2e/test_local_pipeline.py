"""The whole pipeline on the local emulator, driven over real HTTP with boto3."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
import requests

pytestmark = pytest.mark.e2e

IDLE = 60.0


def records_for(running: Any, key: str) -> list[dict[str, Any]]:
    table = running.outputs["DynamoDBTableName"]
    items = running.client("dynamodb").scan(TableName=table)["Items"]
    return [item for item in items if item.get("objectKey", {}).get("S") == key]


def logged_events_for(running: Any, key: str) -> list[dict[str, Any]]:
    logs = running.client("logs")
    events = logs.filter_log_events(logGroupName=running.outputs["EventLogGroupName"])["events"]
    found = []
    for event in events:
        message = json.loads(event["message"])
        detail = message.get("detail", message)  # the whole event, or only its detail if transformed
        if detail.get("objectKey") == key:
            found.append(detail)
    return found


def failure_messages(running: Any) -> list[dict[str, Any]]:
    sqs = running.client("sqs")
    answer = sqs.receive_message(QueueUrl=running.outputs["FailureQueueUrl"], MaxNumberOfMessages=10)
    return [json.loads(message["Body"]) for message in answer.get("Messages", [])]


def test_a_failing_processor_is_retried_kept_in_the_failure_queue_and_redriven(start_pipeline):
    # GIVEN a processor pointed at a table that does not exist (a test-only environment override)
    function = "s3-object-processor-dev"
    running = start_pipeline(environment_overrides={function: {"DYNAMODB_TABLE_NAME": "no-such-table"}})
    key = "fails/first.txt"

    put = running.client("s3").put_object(Bucket=running.outputs["S3BucketName"], Key=key, Body=b"x")
    assert running.pipeline.wait_idle(IDLE)

    # THEN Lambda's retries ran out and the original event waits in the failure queue
    assert running.kinds(key) == ["received", "retrying", "retrying", "failed"]
    # and each failed attempt's error was shown under the object, with the function's name
    assert len(running.logged(key)) >= 3
    assert all(line.startswith("s3-object-processor-dev ERROR: ") for line in running.logged(key))
    assert records_for(running, key) == []
    (failure,) = failure_messages(running)
    assert failure["requestContext"]["condition"] == "RetriesExhausted"
    assert failure["requestContext"]["approximateInvokeCount"] == 3
    (original,) = failure["requestPayload"]["Records"]
    assert original["s3"]["object"]["versionId"] == put["VersionId"]
    assert original["s3"]["object"]["key"] == "fails/first.txt"

    # WHEN the fault clears and the event is redriven with Lambda's Invoke API
    running.pipeline.override_environment(function, None)
    answer = running.client("lambda").invoke(
        FunctionName=running.outputs["LambdaFunctionArn"],
        InvocationType="Event",
        Payload=json.dumps(failure["requestPayload"]),
    )
    assert answer["StatusCode"] == 202
    assert running.pipeline.wait_idle(IDLE)

    # THEN the object is recorded once, with the version that was written
    (record,) = records_for(running, key)
    assert record["versionId"]["S"] == put["VersionId"]
    assert len(logged_events_for(running, key)) == 1


def test_the_endpoint_serves_any_client_and_a_second_pipeline_cannot_take_its_port(
    start_pipeline, synthesized
):
    from s3flow.local.errors import PortInUseError
    from s3flow.local.pipeline import LocalPipeline

    running = start_pipeline()

    health = requests.get(f"{running.pipeline.endpoint_url}/moto-api/data.json", timeout=10)
    assert health.status_code == 200
    with pytest.raises(PortInUseError):
        LocalPipeline(synthesized, port=running.pipeline.server.port).start()


def test_a_browser_form_upload_is_recorded_with_the_version_it_stored(start_pipeline):
    running = start_pipeline()
    s3 = running.client("s3")
    bucket = running.outputs["S3BucketName"]
    form = s3.generate_presigned_post(bucket, "forms/${filename}")

    posted = requests.post(
        form["url"], data=form["fields"], files={"file": ("report 1.csv", b"a,b\n1,2\n")}, timeout=30
    )
    assert posted.status_code == 204, posted.text
    assert running.pipeline.wait_idle(IDLE)

    stored = s3.head_object(Bucket=bucket, Key="forms/report 1.csv")
    (record,) = records_for(running, "forms/report 1.csv")
    assert record["versionId"]["S"] == stored["VersionId"]
    assert record["size"]["N"] == "8"
    assert record["status"]["S"] == "SUCCESS"


def wait_for_flow(running: Any, key: str, kind: str) -> None:
    """Until the pipeline reported ``kind`` for ``key`` (bounded by the pipeline's idle wait)."""
    deadline = time.monotonic() + IDLE
    while kind not in running.kinds(key) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert kind in running.kinds(key), running.kinds(key)


def test_a_stop_names_the_uploads_and_records_it_leaves_unfinished(start_pipeline):
    # GIVEN a processor that fails one object and waits long before retrying it, and a
    # publisher that cannot publish (no such bus) and waits long before retrying its batch
    processor, publisher = "s3-object-processor-dev", "s3-event-publisher-dev"
    running = start_pipeline(
        retry_delays=(600.0,),
        stream_retry_delays=(600.0,),
        environment_overrides={publisher: {"EVENT_BUS_NAME": "no-such-bus"}},
    )
    s3, bucket = running.client("s3"), running.outputs["S3BucketName"]
    recorded = s3.put_object(Bucket=bucket, Key="done/recorded.txt", Body=b"a")
    wait_for_flow(running, "done/recorded.txt", "recorded")
    running.pipeline.override_environment(processor, {"DYNAMODB_TABLE_NAME": "no-such-table"})
    retrying = s3.put_object(Bucket=bucket, Key="waits/for a retry.txt", Body=b"b")
    wait_for_flow(running, "waits/for a retry.txt", "retrying")

    # WHEN the pipeline stops
    running.pipeline.stop()

    # THEN it names the upload whose processing had not finished, and the record not published
    left = running.pipeline.unfinished
    assert left.objects == ((bucket, "waits/for a retry.txt", retrying["VersionId"]),)
    assert left.unpublished == ((bucket, "done/recorded.txt", recorded["VersionId"]),)
