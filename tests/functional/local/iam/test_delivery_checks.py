"""Deliveries between services check the resource policies AWS checks: each test takes one
statement or policy out of a copy of the synthesized stack and shows the delivery refused
where AWS shows it (the rule's FailedInvocations and its dead-letter queue, an alarm's failed
action)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from s3flow.local.cloudformation import provision
from s3flow.local.cloudwatch.evaluator import AlarmEvaluator
from s3flow.local.credentials import emulator_client
from s3flow.local.deployment import Deployment
from s3flow.local.eventbridge.delivery import FAILED_INVOCATIONS, FAILED_TO_DEAD_LETTER, Delivery, EventRouter
from s3flow.local.iam.enforcement import Authorizer
from s3flow.local.server import LocalServer
from support.template_copies import (
    Template,
    assembly_copy,
    principal_service,
    remove_resources,
    remove_statements,
)

STACK = "TapStackdev"
REGION = "us-east-1"
SUCCESS_EVENT = {
    "Source": "custom.s3.processor",
    "DetailType": "S3 Object Processed Successfully",
    "Detail": json.dumps({"status": "SUCCESS", "bucketName": "b", "objectKey": "k"}),
}
PROCESSOR_ERRORS_ALARM = "s3flow-dev-processor-errors"


@pytest.fixture
def endpoint(server: LocalServer) -> Iterator[str]:
    requests.post(f"{server.endpoint_url}/moto-api/reset", timeout=10).raise_for_status()
    yield server.endpoint_url


def provisioned(
    cloud_assembly: Path, tmp_path: Path, endpoint: str, edit: Callable[[Template], None]
) -> Deployment:
    return provision(assembly_copy(cloud_assembly, tmp_path / "cdk.out", edit), STACK, endpoint_url=endpoint)


def unchanged(template: Template) -> None:
    pass


class RuleMetrics:
    def __init__(self) -> None:
        self.data: list[tuple[str, dict[str, str]]] = []
        self.failures: list[tuple[str, str]] = []

    def __call__(self, name: str, dimensions: dict[str, str]) -> None:
        self.data.append((name, dimensions))

    def names(self) -> list[str]:
        return [name for name, _ in self.data]


def publish_one_event(deployment: Deployment) -> tuple[list[Delivery], RuleMetrics]:
    """The deliveries made, and the rule metrics written; each failure is in ``metrics.failures``."""
    deliveries: list[Delivery] = []
    metrics = RuleMetrics()
    router = EventRouter(
        account=deployment.account,
        on_delivery=deliveries.append,
        authorizer=Authorizer(deployment.policies, region=REGION),
        put_metric=metrics,
        on_failure=lambda delivery, why: metrics.failures.append((delivery.rule_name, why)),
    )
    entry = {**SUCCESS_EVENT, "EventBusName": deployment.outputs["EventBusName"]}
    assert router.put_events([entry], region=REGION)["FailedEntryCount"] == 0
    return deliveries, metrics


def dead_letters(deployment: Deployment, endpoint: str) -> list[dict[str, Any]]:
    sqs = emulator_client("sqs", endpoint_url=endpoint, region=REGION)
    answer = sqs.receive_message(
        QueueUrl=deployment.outputs["EventDeadLetterQueueUrl"],
        MaxNumberOfMessages=10,
        MessageAttributeNames=["All"],
    )
    messages: list[dict[str, Any]] = answer.get("Messages", [])
    return messages


def test_with_the_stacks_policies_an_event_reaches_the_log_group(
    cloud_assembly: Path, tmp_path: Path, endpoint: str
) -> None:
    deployment = provisioned(cloud_assembly, tmp_path, endpoint, unchanged)

    deliveries, metrics = publish_one_event(deployment)

    assert [d.rule_name for d in deliveries] == ["s3-processing-success-dev"]
    assert metrics.data == []


def test_without_the_logs_resource_policy_the_rule_fails_and_dead_letters_with_no_permissions(
    cloud_assembly: Path, tmp_path: Path, endpoint: str
) -> None:
    deployment = provisioned(
        cloud_assembly, tmp_path, endpoint, lambda t: remove_resources(t, "AWS::Logs::ResourcePolicy")
    )

    deliveries, metrics = publish_one_event(deployment)

    assert deliveries == []
    assert metrics.data == [
        (
            FAILED_INVOCATIONS,
            {"EventBusName": deployment.outputs["EventBusName"], "RuleName": "s3-processing-success-dev"},
        )
    ]
    ((rule, why),) = metrics.failures
    assert rule == "s3-processing-success-dev" and "no resource-based policy allows" in why
    (message,) = dead_letters(deployment, endpoint)
    attributes = {name: value["StringValue"] for name, value in message["MessageAttributes"].items()}
    assert attributes["ERROR_CODE"] == "NO_PERMISSIONS"
    assert (
        "events.amazonaws.com is not authorized to perform: logs:CreateLogStream"
        in attributes["ERROR_MESSAGE"]
    )


def test_without_the_queue_policy_letting_eventbridge_send_the_event_is_lost_and_counted(
    cloud_assembly: Path, tmp_path: Path, endpoint: str
) -> None:
    def no_logs_policy_nor_dead_letter_grant(template: Template) -> None:
        remove_resources(template, "AWS::Logs::ResourcePolicy")
        remove_statements(
            template, "AWS::SQS::QueuePolicy", lambda s: principal_service(s) == "events.amazonaws.com"
        )

    deployment = provisioned(cloud_assembly, tmp_path, endpoint, no_logs_policy_nor_dead_letter_grant)

    _, metrics = publish_one_event(deployment)

    assert metrics.names() == [FAILED_INVOCATIONS, FAILED_TO_DEAD_LETTER]
    assert dead_letters(deployment, endpoint) == []


def fire_processor_errors_alarm(deployment: Deployment, endpoint: str) -> list[str]:
    """Puts one processor error and evaluates the alarms once: the failed actions of the
    processor-errors alarm's transition to ALARM."""

    def clients(service: str) -> Any:
        return emulator_client(service, endpoint_url=endpoint, region=REGION)

    processor = next(s for s in deployment.functions.values() if s.logical_id.startswith("ProcessingS3"))
    clients("cloudwatch").put_metric_data(
        Namespace="AWS/Lambda",
        MetricData=[
            {
                "MetricName": "Errors",
                "Dimensions": [{"Name": "FunctionName", "Value": processor.name}],
                "Value": 1.0,
                # A little in the past: the evaluation right after must find it in its window.
                "Timestamp": datetime.now(UTC) - timedelta(seconds=5),
            }
        ],
    )
    evaluator = AlarmEvaluator(
        clients,
        account=deployment.account,
        region=REGION,
        period=60,
        authorizer=Authorizer(deployment.policies, region=REGION),
    )
    (change,) = [c for c in evaluator.evaluate_all() if c.name == PROCESSOR_ERRORS_ALARM]
    assert change.new_state == "ALARM"
    return list(change.failed_actions)


def test_with_the_stacks_policies_an_alarm_notifies_its_encrypted_topic(
    cloud_assembly: Path, tmp_path: Path, endpoint: str
) -> None:
    deployment = provisioned(cloud_assembly, tmp_path, endpoint, unchanged)

    assert fire_processor_errors_alarm(deployment, endpoint) == []


def test_without_the_topic_policy_statement_for_cloudwatch_the_alarm_action_fails(
    cloud_assembly: Path, tmp_path: Path, endpoint: str
) -> None:
    deployment = provisioned(
        cloud_assembly,
        tmp_path,
        endpoint,
        lambda t: remove_statements(
            t, "AWS::SNS::TopicPolicy", lambda s: principal_service(s) == "cloudwatch.amazonaws.com"
        ),
    )

    (failure,) = fire_processor_errors_alarm(deployment, endpoint)

    assert failure.startswith("Failed to execute action arn:aws:sns:")
    assert "cloudwatch.amazonaws.com is not authorized to perform: sns:Publish" in failure


def test_without_the_key_policy_statement_for_cloudwatch_the_alarm_action_fails(
    cloud_assembly: Path, tmp_path: Path, endpoint: str
) -> None:
    deployment = provisioned(
        cloud_assembly,
        tmp_path,
        endpoint,
        lambda t: remove_statements(
            t, "AWS::KMS::Key", lambda s: principal_service(s) == "cloudwatch.amazonaws.com"
        ),
    )

    (failure,) = fire_processor_errors_alarm(deployment, endpoint)

    assert "cloudwatch.amazonaws.com is not authorized to perform: kms:GenerateDataKey" in failure
