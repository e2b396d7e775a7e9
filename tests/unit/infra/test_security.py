"""Security posture: cdk-nag, cfn-lint, least privilege, transport and at-rest encryption."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App, Stack
from aws_cdk import aws_sqs as sqs
from aws_cdk.assertions import Match, Template

from .conftest import Synthesized, add_security_checks

XRAY_WRITE_ACTIONS = {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}
# grant_stream_read adds it: IAM defines no resource type for ListStreams, so '*' it is.
LIST_STREAMS = "dynamodb:ListStreams"


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _all_statements(template: Template) -> list[dict[str, Any]]:
    """Every IAM statement in the template: policies and roles' inline policies."""
    statements: list[dict[str, Any]] = []
    for policy in template.find_resources("AWS::IAM::Policy").values():
        statements += policy["Properties"]["PolicyDocument"]["Statement"]
    for role in template.find_resources("AWS::IAM::Role").values():
        for inline in role["Properties"].get("Policies", []):
            statements += inline["PolicyDocument"]["Statement"]
    return statements


def _role_statements(synthesized: Synthesized, role_construct: Any) -> list[dict[str, Any]]:
    """Every statement the role carries, inline or attached; it must have no managed policy."""
    role_id = synthesized.logical_id(role_construct)
    template = synthesized.template
    role = template.find_resources("AWS::IAM::Role")[role_id]
    assert "ManagedPolicyArns" not in role["Properties"]
    statements = [
        s for inline in role["Properties"].get("Policies", []) for s in inline["PolicyDocument"]["Statement"]
    ]
    for policy in template.find_resources("AWS::IAM::Policy").values():
        if {"Ref": role_id} in policy["Properties"].get("Roles", []):
            statements += policy["Properties"]["PolicyDocument"]["Statement"]
    return statements


def _granted(statements: list[dict[str, Any]]) -> dict[str, list[Any]]:
    """Action -> resources, after checking each statement allows named actions only."""
    granted: dict[str, list[Any]] = {}
    for statement in statements:
        assert statement["Effect"] == "Allow"
        assert "NotAction" not in statement and "NotResource" not in statement
        assert "Condition" not in statement
        for action in _as_list(statement["Action"]):
            assert "*" not in action, f"wildcard action {action}"
            granted.setdefault(action, []).extend(_as_list(statement["Resource"]))
    return granted


def _wildcard_actions(statements: list[dict[str, Any]]) -> set[str]:
    return {
        action
        for statement in statements
        if "*" in _as_list(statement["Resource"])
        for action in _as_list(statement["Action"])
    }


def test_cdk_nag_aws_solutions_and_serverless_have_no_unacknowledged_findings(
    synthesized: Synthesized,
) -> None:
    findings = [
        f"{violation['ruleName']} at {construct['constructPath']}"
        for report in synthesized.validation_report.get("pluginReports", [])
        for violation in report.get("violations", [])
        for construct in violation["violatingConstructs"]
    ]
    assert findings == []
    assert synthesized.nag_error is None


def test_the_same_checks_fail_synthesis_on_an_unacknowledged_finding(tmp_path: Path) -> None:
    # Proves the plugins above really run: a plain queue trips AwsSolutions-SQS3/SQS4.
    app = App(outdir=str(tmp_path))
    stack = Stack(app, "Canary")
    sqs.Queue(stack, "Plain", encryption=sqs.QueueEncryption.UNENCRYPTED)
    add_security_checks(app)
    with pytest.raises(RuntimeError, match="ValidationFailed"):
        app.synth()
    report = json.loads((tmp_path / "validation-report.json").read_text())
    rules = {v["ruleName"] for r in report["pluginReports"] for v in r["violations"]}
    assert {"AwsSolutions-SQS4", "Serverless-SQSRedrivePolicy"} <= rules


def test_every_acknowledged_finding_has_a_specific_reason(synthesized: Synthesized) -> None:
    acknowledged = {
        (construct.node.path, rule): reason
        for construct in synthesized.stack.node.find_all()
        for entry in construct.node.metadata
        if entry.type == "aws:cdk:acknowledged-rules"
        for rule, reason in entry.data.items()
    }
    assert len(acknowledged) >= 10
    for (path, rule), reason in acknowledged.items():
        assert rule.startswith(("Annotation::AwsSolutions-", "Annotation::Serverless-")), (path, rule)
        assert len(reason) >= 60, (path, rule, reason)
    # The rules accepted stack-wide would hide findings on resources added later.
    assert all(path != synthesized.stack.node.path for path, _ in acknowledged)


def test_cfn_lint_reports_no_errors(synthesized: Synthesized) -> None:
    cfn_lint = Path(sys.executable).with_name("cfn-lint")
    result = subprocess.run(
        [str(cfn_lint), "--format", "json", str(synthesized.template_file)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.stdout.strip(), result.stderr
    errors = [m for m in json.loads(result.stdout) if m["Level"] == "Error"]
    assert errors == []


def test_processor_role_names_every_action_and_resource(synthesized: Synthesized) -> None:
    stack = synthesized.stack
    lid = synthesized.logical_id
    bucket = lid(stack.storage.bucket)
    granted = _granted(_role_statements(synthesized, stack.processing.role))
    # The outbox: the processor only writes records; it can no longer publish events.
    assert "events:PutEvents" not in granted
    table_arn = {"Fn::GetAtt": [lid(stack.storage.table), "Arn"]}
    objects = {"Fn::Join": ["", [{"Fn::GetAtt": [bucket, "Arn"]}, "/*"]]}
    assert granted == {
        # ReturnValuesOnConditionCheckFailure=ALL_OLD is part of PutItem: no GetItem.
        "dynamodb:PutItem": [table_arn],
        "s3:GetObject": [objects],
        "s3:GetObjectVersion": [objects],
        "logs:CreateLogStream": [{"Fn::GetAtt": [lid(stack.processing.log_group), "Arn"]}],
        "logs:PutLogEvents": [{"Fn::GetAtt": [lid(stack.processing.log_group), "Arn"]}],
        "sqs:SendMessage": [{"Fn::GetAtt": [lid(stack.processing.failure_queue), "Arn"]}],
        "sqs:GetQueueAttributes": [{"Fn::GetAtt": [lid(stack.processing.failure_queue), "Arn"]}],
        "sqs:GetQueueUrl": [{"Fn::GetAtt": [lid(stack.processing.failure_queue), "Arn"]}],
        "xray:PutTraceSegments": ["*"],
        "xray:PutTelemetryRecords": ["*"],
    }


def test_publisher_role_names_every_action_and_resource(synthesized: Synthesized) -> None:
    stack = synthesized.stack
    lid = synthesized.logical_id
    granted = _granted(_role_statements(synthesized, stack.publishing.role))
    stream = {"Fn::GetAtt": [lid(stack.storage.table), "StreamArn"]}
    failure_queue = {"Fn::GetAtt": [lid(stack.publishing.failure_queue), "Arn"]}
    log_group = {"Fn::GetAtt": [lid(stack.publishing.log_group), "Arn"]}
    assert granted == {
        "dynamodb:DescribeStream": [stream],
        "dynamodb:GetRecords": [stream],
        "dynamodb:GetShardIterator": [stream],
        LIST_STREAMS: ["*"],
        "events:PutEvents": [{"Fn::GetAtt": [lid(stack.events.bus), "Arn"]}],
        "logs:CreateLogStream": [log_group],
        "logs:PutLogEvents": [log_group],
        "sqs:SendMessage": [failure_queue],
        "sqs:GetQueueAttributes": [failure_queue],
        "sqs:GetQueueUrl": [failure_queue],
        "xray:PutTraceSegments": ["*"],
        "xray:PutTelemetryRecords": ["*"],
    }


def test_processor_uses_a_wildcard_resource_only_for_xray_writes(synthesized: Synthesized) -> None:
    # X-Ray's PutTraceSegments/PutTelemetryRecords support no resource-level permissions.
    statements = _role_statements(synthesized, synthesized.stack.processing.role)
    assert _wildcard_actions(statements) == XRAY_WRITE_ACTIONS


def test_publisher_uses_a_wildcard_resource_only_for_xray_writes_and_list_streams(
    synthesized: Synthesized,
) -> None:
    # The two exceptions AWS leaves no narrower resource for, and nothing else.
    statements = _role_statements(synthesized, synthesized.stack.publishing.role)
    assert _wildcard_actions(statements) == XRAY_WRITE_ACTIONS | {LIST_STREAMS}


def test_only_the_publisher_role_may_put_events(synthesized: Synthesized, template: Template) -> None:
    publisher_role = {"Ref": synthesized.logical_id(synthesized.stack.publishing.role)}
    putters = [
        policy["Properties"]["Roles"]
        for policy in template.find_resources("AWS::IAM::Policy").values()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if {"events:PutEvents", "events:*", "*"} & set(_as_list(statement["Action"]))
    ]
    assert putters == [[publisher_role]]
    for role in template.find_resources("AWS::IAM::Role").values():
        for inline in role["Properties"].get("Policies", []):
            assert "events:" not in json.dumps(inline["PolicyDocument"])


def test_no_policy_anywhere_reads_s3_objects_on_every_resource(template: Template) -> None:
    # The reference granted s3:GetObject on "*" twice (inline policy and grantRead).
    for statement in _all_statements(template):
        actions = _as_list(statement["Action"])
        reads_objects = any(a in ("s3:GetObject", "s3:GetObject*", "s3:Get*", "s3:*", "*") for a in actions)
        if reads_objects:
            assert "*" not in _as_list(statement["Resource"]), statement


def test_trigger_bucket_refuses_plain_http(synthesized: Synthesized, template: Template) -> None:
    bucket = synthesized.logical_id(synthesized.stack.storage.bucket)
    template.has_resource_properties(
        "AWS::S3::BucketPolicy",
        {
            "Bucket": {"Ref": bucket},
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        {
                            "Effect": "Deny",
                            "Principal": {"AWS": "*"},
                            "Action": "s3:*",
                            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                            "Resource": [
                                {"Fn::GetAtt": [bucket, "Arn"]},
                                {"Fn::Join": ["", [{"Fn::GetAtt": [bucket, "Arn"]}, "/*"]]},
                            ],
                        }
                    ]
                )
            },
        },
    )


def test_every_bucket_blocks_public_access_and_no_policy_allows_anyone(template: Template) -> None:
    for bucket in template.find_resources("AWS::S3::Bucket").values():
        assert bucket["Properties"]["PublicAccessBlockConfiguration"] == {
            "BlockPublicAcls": True,
            "BlockPublicPolicy": True,
            "IgnorePublicAcls": True,
            "RestrictPublicBuckets": True,
        }
    for policy in template.find_resources("AWS::S3::BucketPolicy").values():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            if statement.get("Principal") in ("*", {"AWS": "*"}):
                assert statement["Effect"] == "Deny", statement


def test_queues_refuse_plain_http(template: Template) -> None:
    queue_policies = template.find_resources("AWS::SQS::QueuePolicy").values()
    queues = template.find_resources("AWS::SQS::Queue")
    covered = {
        queue["Ref"]
        for policy in queue_policies
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if statement["Effect"] == "Deny"
        and statement.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}}
        for queue in policy["Properties"]["Queues"]
    }
    assert covered == set(queues)


def test_data_at_rest_is_encrypted(template: Template) -> None:
    for queue in template.find_resources("AWS::SQS::Queue").values():
        assert queue["Properties"]["SqsManagedSseEnabled"] is True
    template.has_resource_properties("AWS::DynamoDB::Table", {"SSESpecification": {"SSEEnabled": True}})
    for bucket in template.find_resources("AWS::S3::Bucket").values():
        rules = bucket["Properties"]["BucketEncryption"]["ServerSideEncryptionConfiguration"]
        assert rules[0]["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"


def test_every_checkov_skip_has_a_reason_and_is_documented(template: Template) -> None:
    # checkov reads these skips from the synthesized template (docs/security.md: how to run).
    docs = (Path(__file__).resolve().parents[3] / "docs" / "security.md").read_text()
    skips = [
        (logical_id, skip)
        for logical_id, resource in template.to_json()["Resources"].items()
        for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", [])
    ]
    assert skips
    for logical_id, skip in skips:
        assert skip["id"].startswith("CKV_AWS_"), (logical_id, skip)
        assert len(skip["comment"]) >= 60, (logical_id, skip)
        assert skip["id"] in docs, f"{skip['id']} on {logical_id} is not in docs/security.md"


@pytest.mark.parametrize("unit", ["processing", "publishing"])
def test_wildcard_acknowledgement_names_every_action_the_role_has_on_star(
    synthesized: Synthesized, unit: str
) -> None:
    # The reason a reviewer reads must cover exactly what is on '*', not an older list.
    role = getattr(synthesized.stack, unit).role
    (reason,) = [
        reason
        for entry in role.node.metadata
        if entry.type == "aws:cdk:acknowledged-rules"
        for rule, reason in entry.data.items()
        if rule.endswith("AwsSolutions-IAM5[Resource::*]")
    ]
    for action in _wildcard_actions(_role_statements(synthesized, role)):
        assert action in reason, (unit, action)
