"""CloudWatch may publish this stack's alarms to the alarm topic, and nothing else may.

A topic policy replaces SNS's default one, so the TLS-only Deny CDK writes for
``enforce_ssl`` would otherwise be the whole policy and every alarm would change state
without notifying anyone. The topic policy is evaluated here on the resolved template,
for the request CloudWatch makes when an alarm fires:
https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html
https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html#compatibility-with-aws-services
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from typing import Any

import pytest

from s3flow.local.cloudformation import Resolver

from .conftest import Synthesized

ACCOUNT, REGION = "123456789012", "us-east-1"
CLOUDWATCH = "cloudwatch.amazonaws.com"


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _condition_holds(operator: str, expected: Mapping[str, Any], context: Mapping[str, str]) -> bool:
    for key, values in expected.items():
        actual = context.get(key)
        if actual is None:
            return False
        if operator in ("StringEquals", "ArnEquals"):
            matched = actual in _as_list(values)
        elif operator in ("StringLike", "ArnLike"):
            matched = any(fnmatch.fnmatchcase(actual, pattern) for pattern in _as_list(values))
        elif operator == "Bool":
            matched = actual.lower() in [str(v).lower() for v in _as_list(values)]
        else:
            pytest.fail(f"condition operator {operator} is not evaluated by this test")
        if not matched:
            return False
    return True


def _applies(statement: Mapping[str, Any], service: str, action: str, resource: str, context: Any) -> bool:
    principal = statement.get("Principal", {})
    principals = ["*"] if principal == "*" else _as_list(principal.get("Service", []))
    actions = [a.lower() for a in _as_list(statement["Action"])]
    return (
        ("*" in principals or service in principals)
        and any(fnmatch.fnmatchcase(action.lower(), a) for a in actions)
        and any(fnmatch.fnmatchcase(resource, r) for r in _as_list(statement["Resource"]))
        and all(_condition_holds(op, kv, context) for op, kv in statement.get("Condition", {}).items())
    )


def _allowed(policy: Mapping[str, Any], service: str, action: str, resource: str, context: Any) -> bool:
    statements = [s for s in policy["Statement"] if _applies(s, service, action, resource, context)]
    effects = {s["Effect"] for s in statements}
    return "Allow" in effects and "Deny" not in effects


@pytest.fixture(scope="module")
def resolved(synthesized: Synthesized) -> dict[str, Any]:
    """The topic and key policies and the alarms, with intrinsics resolved for one account."""
    template = synthesized.template.to_json()
    monitoring = synthesized.stack.monitoring
    topic_id, key_id = synthesized.logical_id(monitoring.topic), synthesized.logical_id(monitoring.topic_key)
    topic_arn = f"arn:aws:sns:{REGION}:{ACCOUNT}:s3flow-alarms-dev"
    resolver = Resolver(template, "TapStackdev", REGION, account=ACCOUNT)
    resolver.refs[topic_id] = topic_arn
    resolver.attributes[key_id] = {"Arn": f"arn:aws:kms:{REGION}:{ACCOUNT}:key/k"}
    resources = template["Resources"]
    (topic_policy,) = [r for r in resources.values() if r["Type"] == "AWS::SNS::TopicPolicy"]
    alarms = [r["Properties"] for r in resources.values() if r["Type"] == "AWS::CloudWatch::Alarm"]
    return {
        "topic_arn": topic_arn,
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
        assert _allowed(topic_policy, CLOUDWATCH, "sns:Publish", topic_arn, request), alarm["AlarmName"]


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
    assert not _allowed(
        resolved["topic_policy"], CLOUDWATCH, "sns:Publish", resolved["topic_arn"], request_context
    )


def test_the_topic_key_lets_cloudwatch_encrypt_what_it_publishes(resolved: dict[str, Any]) -> None:
    # SNS encrypts the message with the topic's key on CloudWatch's behalf.
    request = _alarm_request("s3flow-dev-processor-errors")
    for action in ("kms:GenerateDataKey", "kms:Decrypt"):
        assert _allowed(resolved["key_policy"], CLOUDWATCH, action, "*", request), action
