"""Requests signed with a function's role credentials are evaluated against the stack's
policies before moto sees them; the developer's own credentials are not. Each call is made
by botocore with the credentials a sandbox of that function carries."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests
from botocore.exceptions import ClientError

from s3flow.local.cloudformation import provision
from s3flow.local.credentials import emulator_client, role_credentials
from s3flow.local.deployment import Deployment, FunctionSpec
from s3flow.local.iam.enforcement import IamEnforcer
from s3flow.local.server import LocalServer
from support.template_copies import Template, assembly_copy, statements

STACK = "TapStackdev"
REGION = "us-east-1"


@pytest.fixture
def enforced(server: LocalServer, cloud_assembly: Path) -> Iterator[tuple[Deployment, IamEnforcer]]:
    requests.post(f"{server.endpoint_url}/moto-api/reset", timeout=10).raise_for_status()
    deployment = provision(cloud_assembly, STACK, endpoint_url=server.endpoint_url)
    enforcer = IamEnforcer(deployment)
    server.middleware.add_interceptor(enforcer)
    yield deployment, enforcer
    server.middleware.remove_interceptor(enforcer)


def function(deployment: Deployment, prefix: str) -> FunctionSpec:
    return next(spec for spec in deployment.functions.values() if spec.logical_id.startswith(prefix))


def as_function(server: LocalServer, spec: FunctionSpec, service: str) -> Any:
    credentials = role_credentials(spec.role_arn, spec.name)
    return boto3.client(
        service,
        endpoint_url=server.endpoint_url,
        region_name=REGION,
        aws_access_key_id=credentials["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=credentials["AWS_SECRET_ACCESS_KEY"],
        aws_session_token=credentials["AWS_SESSION_TOKEN"],
    )


def refusal(call: Any, **params: Any) -> ClientError:
    with pytest.raises(ClientError) as raised:
        call(**params)
    return raised.value


def test_the_processor_may_do_what_its_role_grants_and_nothing_else(server: LocalServer, enforced) -> None:
    deployment, enforcer = enforced
    processor = function(deployment, "ProcessingS3")
    dynamodb = as_function(server, processor, "dynamodb")
    table = deployment.outputs["DynamoDBTableName"]
    item = {"requestId": {"S": "r1"}, "timestamp": {"S": "2026-12-04T00:00:00Z"}}

    dynamodb.put_item(TableName=table, Item=item)
    error = refusal(dynamodb.get_item, TableName=table, Key=item)

    assert error.response["Error"]["Code"] == "AccessDeniedException"
    session = (
        f"arn:aws:sts::123456789012:assumed-role/{processor.role_arn.rsplit('/', 1)[-1]}/{processor.name}"
    )
    table_arn = deployment.outputs["DynamoDBTableArn"]
    assert error.response["Error"]["Message"] == (
        f"User: {session} is not authorized to perform: dynamodb:GetItem on resource: {table_arn}"
        " because no identity-based policy allows the dynamodb:GetItem action"
    )
    assert [d.action for d in enforcer.denials] == ["dynamodb:GetItem"]


def test_the_processor_reads_objects_of_its_bucket_and_may_not_write_them(
    server: LocalServer, enforced
) -> None:
    deployment, _ = enforced
    bucket = deployment.outputs["S3BucketName"]
    emulator_client("s3", endpoint_url=server.endpoint_url, region=REGION).put_object(
        Bucket=bucket, Key="in.csv", Body=b"x"
    )
    s3 = as_function(server, function(deployment, "ProcessingS3"), "s3")

    assert s3.get_object(Bucket=bucket, Key="in.csv")["Body"].read() == b"x"
    error = refusal(s3.put_object, Bucket=bucket, Key="out.csv", Body=b"y")

    assert error.response["Error"]["Code"] == "AccessDenied"
    assert f'on resource: "arn:aws:s3:::{bucket}/out.csv"' in error.response["Error"]["Message"]


def test_each_function_sends_only_to_its_own_failure_queue(server: LocalServer, enforced) -> None:
    deployment, _ = enforced
    publisher = as_function(server, function(deployment, "PublishingEvent"), "sqs")

    publisher.send_message(QueueUrl=deployment.outputs["PublisherFailureQueueUrl"], MessageBody="kept")
    error = refusal(publisher.send_message, QueueUrl=deployment.outputs["FailureQueueUrl"], MessageBody="x")

    assert error.response["Error"]["Code"] == "AccessDenied"


def test_the_publisher_puts_events_on_its_bus_only(server: LocalServer, enforced) -> None:
    deployment, _ = enforced
    events = as_function(server, function(deployment, "PublishingEvent"), "events")
    entry = {"Source": "custom.s3.processor", "DetailType": "t", "Detail": "{}"}

    answer = events.put_events(Entries=[{**entry, "EventBusName": deployment.outputs["EventBusName"]}])
    error = refusal(events.put_events, Entries=[entry])  # the default bus

    assert answer["FailedEntryCount"] == 0
    assert error.response["Error"]["Code"] == "AccessDeniedException"
    assert "event-bus/default" in error.response["Error"]["Message"]


def test_the_developers_own_credentials_are_not_evaluated(server: LocalServer, enforced) -> None:
    deployment, enforcer = enforced
    dynamodb = emulator_client("dynamodb", endpoint_url=server.endpoint_url, region=REGION)

    dynamodb.scan(TableName=deployment.outputs["DynamoDBTableName"])

    assert not enforcer.denials


def test_an_explicit_deny_in_the_role_wins_over_its_allow(
    server: LocalServer, cloud_assembly: Path, tmp_path: Path
) -> None:
    def deny_put_item(template: Template) -> None:
        for logical_id, resource in template["Resources"].items():
            if logical_id.startswith("ProcessingS3ProcessorLambdaRoleDefaultPolicy"):
                document = resource["Properties"]["PolicyDocument"]
                document["Statement"] = [
                    *statements(document),
                    {"Effect": "Deny", "Action": "dynamodb:Put*", "Resource": "*"},
                ]

    requests.post(f"{server.endpoint_url}/moto-api/reset", timeout=10).raise_for_status()
    copy = assembly_copy(cloud_assembly, tmp_path / "cdk.out", deny_put_item)
    deployment = provision(copy, STACK, endpoint_url=server.endpoint_url)
    enforcer = IamEnforcer(deployment)
    server.middleware.add_interceptor(enforcer)
    try:
        dynamodb = as_function(server, function(deployment, "ProcessingS3"), "dynamodb")
        item = {"requestId": {"S": "r1"}, "timestamp": {"S": "t"}}
        error = refusal(dynamodb.put_item, TableName=deployment.outputs["DynamoDBTableName"], Item=item)
    finally:
        server.middleware.remove_interceptor(enforcer)

    assert error.response["Error"]["Message"].endswith(
        "dynamodb:PutItem on resource: "
        + deployment.outputs["DynamoDBTableArn"]
        + " with an explicit deny in an identity-based policy"
    )
