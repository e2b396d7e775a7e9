"""Each function runs as its role: with one grant taken out of a copy of the synthesized stack,
the function's call is refused as AWS refuses it (the service's AccessDenied, naming the role's
session, the action and the resource) and the object goes where AWS would send it."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from support.template_copies import Template, assembly_copy, remove_action

IDLE = 60
PROCESSOR_POLICY = "ProcessingS3ProcessorLambdaRoleDefaultPolicy"
PUBLISHER_POLICY = "PublishingPublisherRoleDefaultPolicy"


def start_without(
    start_pipeline: Callable[..., Any], synthesized: Path, tmp_path: Path, policy: str, action: str
) -> Any:
    def edit(template: Template) -> None:
        remove_action(template, policy, action)

    return start_pipeline(assembly_copy(synthesized, tmp_path / "cdk.out", edit), stream_retry_delays=(0.1,))


def upload(running: Any, key: str) -> None:
    running.client("s3").put_object(Bucket=running.outputs["S3BucketName"], Key=key, Body=b"a,b\n1,2\n")
    assert running.pipeline.wait_idle(IDLE)


def queued(running: Any, url_output: str) -> list[dict[str, Any]]:
    answer = running.client("sqs").receive_message(
        QueueUrl=running.outputs[url_output], MaxNumberOfMessages=10
    )
    return [json.loads(message["Body"]) for message in answer.get("Messages", [])]


def denied(running: Any) -> set[tuple[str, str]]:
    return {(denial.action, denial.resource) for denial in running.pipeline.iam.denials}


def test_a_processor_that_may_not_write_its_record_fails_the_object_to_its_failure_queue(
    start_pipeline, synthesized: Path, tmp_path: Path
) -> None:
    running = start_without(start_pipeline, synthesized, tmp_path, PROCESSOR_POLICY, "dynamodb:PutItem")
    table = running.outputs["DynamoDBTableArn"]

    upload(running, "denied.csv")

    # THEN every attempt is refused as AWS refuses it, the function logs why under the object,
    # and Lambda gives the event to the on-failure destination after its retries
    assert denied(running) == {("dynamodb:PutItem", table)}
    (why, *_) = running.logged("denied.csv")
    assert "AccessDeniedException: User: arn:aws:sts::" in why
    assert ":assumed-role/TapStackdev-ProcessingS3ProcessorLambdaRole" in why
    assert "/s3-object-processor-dev is not authorized to perform: dynamodb:PutItem" in why
    assert f"on resource: {table} because no identity-based policy allows the dynamodb:PutItem action" in why
    assert running.kinds("denied.csv")[-1] == "failed"
    (failure,) = queued(running, "FailureQueueUrl")
    assert failure["requestContext"]["condition"] == "RetriesExhausted"


def test_a_publisher_that_may_not_put_events_routes_nothing_and_gives_the_batch_to_its_destination(
    start_pipeline, synthesized: Path, tmp_path: Path
) -> None:
    running = start_without(start_pipeline, synthesized, tmp_path, PUBLISHER_POLICY, "events:PutEvents")

    upload(running, "unpublished.csv")

    assert denied(running) == {("events:PutEvents", running.outputs["EventBusArn"])}
    kinds = running.kinds("unpublished.csv")
    assert "recorded" in kinds and "routed" not in kinds
    assert kinds[-1] == "publish_failed"
    (record,) = queued(running, "PublisherFailureQueueUrl")
    assert record["requestContext"]["condition"] == "RetryAttemptsExhausted"


def test_a_function_whose_role_may_not_write_its_logs_loses_them_as_on_aws(
    start_pipeline, synthesized: Path, tmp_path: Path
) -> None:
    running = start_without(start_pipeline, synthesized, tmp_path, PROCESSOR_POLICY, "logs:PutLogEvents")

    upload(running, "quiet.csv")

    # THEN the object is processed, and the processor's log group holds nothing of it
    assert "recorded" in running.kinds("quiet.csv")
    group = f"/aws/lambda/{running.outputs['LambdaFunctionName']}"
    assert running.client("logs").describe_log_streams(logGroupName=group)["logStreams"] == []
