"""CloudWatch may publish this stack's alarms to the alarm topic, and nothing else may.

A topic policy replaces SNS's default one, so the TLS-only Deny CDK writes for
``enforce_ssl`` would otherwise be the whole policy and every alarm would change state
without notifying anyone. The topic and key policies are evaluated here on the resolved
template by the emulator's IAM evaluation (``s3flow.local.iam.policy``, which the local
pipeline applies to each notification), for the request CloudWatch makes when an alarm fires:
https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html
https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html#compatibility-with-aws-services
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from s3flow.local.cloudformation import Resolver
from s3flow.local.iam.policy import Principal, Request, authorize

from .conftest import Synthesized

ACCOUNT, REGION = "123456789012", "us-east-1"
CLOUDWATCH = "cloudwatch.amazonaws.com"


def _allowed(policy: Mapping[str, Any], action: str, resource: str, context: Mapping[str, str]) -> bool:
    """The emulator's evaluation of a resource policy for CloudWatch's request."""
    request = Request(
        principal=Principal("Service", CLOUDWATCH), action=action, resource=resource, context=context
    )
    return authorize(request, resource=[policy], key_policy=action.startswith("kms:")).allowed


@pytest.fixture(scope="module")
def resolved(synthesized: Synthesized) -> dict[str, Any]:
    """The topic and key policies and the alarms, with intrinsics resolved for one account."""
    template = synthesized.template.to_json()
    monitoring = synthesized.stack.monitoring
    topic_id, key_id = synthesized.logical_id(monitoring.topic), synthesized.logical_id(monitoring.topic_key)
    topic_arn = f"arn:aws:sns:{REGION}:{ACCOUNT}:s3flow-alarms-dev"
    resolver = Resolver(template, "TapStackdev", REGION, account=ACCOUNT)
    resolver.refs[topic_id] = topic_arn
    key_arn = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/k"
    resolver.attributes[key_id] = {"Arn": key_arn}
    resources = template["Resources"]
    (topic_policy,) = [r for r in resources.values() if r["Type"] == "AWS::SNS::TopicPolicy"]
    alarms = [r["Properties"] for r in resources.values() if r["Type"] == "AWS::CloudWatch::Alarm"]
    return {
        "topic_arn": topic_arn,
        "key_arn": key_arn,
        "topic_id": topic_id,
        "topic_policy": resolver.resolve(topic_policy["Properties"]["PolicyDocument"]),
        "key_policy": resolver.resolve(resources[key_id]["Properties"]["KeyPolicy"]),
        "alarms": alarms,
    }


def _alarm_request(alarm_name: str, account: str = ACCOUNT) -> dict[str, str]:
    return {
        "aws:SourceAccount": account,
        "aws:SourceArn": f"arn:aws:cloudwatch:{REGION}:{account}:alarm:{alarm_name}",
        "aws:SecureTransport": "true",
    }


def test_every_alarm_of_the_stack_may_publish_to_its_topic(resolved: dict[str, Any]) -> None:
    assert len(resolved["alarms"]) >= 13
    for alarm in resolved["alarms"]:
        assert {"Ref": resolved["topic_id"]} in alarm["AlarmActions"]
        request = _alarm_request(alarm["AlarmName"])
        topic_policy, topic_arn = resolved["topic_policy"], resolved["topic_arn"]
        assert _allowed(topic_policy, "sns:Publish", topic_arn, request), alarm["AlarmName"]


@pytest.mark.parametrize(
    "request_context",
    [
        _alarm_request("someone-elses-alarm"),  # another alarm of the same account
        _alarm_request("s3flow-dev-processor-errors", account="999999999999"),  # confused deputy
        {**_alarm_request("s3flow-dev-processor-errors"), "aws:SecureTransport": "false"},
    ],
)
def test_no_other_alarm_account_or_plain_http_request_may_publish(
    resolved: dict[str, Any], request_context: dict[str, str]
) -> None:
    assert not _allowed(resolved["topic_policy"], "sns:Publish", resolved["topic_arn"], request_context)


def test_the_topic_key_lets_cloudwatch_encrypt_what_it_publishes(resolved: dict[str, Any]) -> None:
    # SNS encrypts the message with the topic's key on CloudWatch's behalf.
    request = _alarm_request("s3flow-dev-processor-errors")
    for action in ("kms:GenerateDataKey", "kms:Decrypt"):
        assert _allowed(resolved["key_policy"], action, resolved["key_arn"], request), action
