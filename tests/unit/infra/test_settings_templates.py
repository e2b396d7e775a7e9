"""Each setting changes exactly what it should in the template, compared with the default one.

Two synthesized stacks, both `dev` like the session template so logical ids line up, set
through the context as `-c key=value` does: ``tuned`` (function sizes, key filters,
retain) and ``production`` (retain, an existing bucket, steps' permissions), each checked
with cdk-nag; the production one with cfn-lint too.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from .conftest import Synthesized, synthesize
from .test_security import _granted, _role_statements

EXISTING_BUCKET = "my-existing-bucket"
STEP_PERMISSIONS = [
    {"readBucket": "reference-data", "list": True},
    {"readBucket": "arn:aws:s3:::archive-data"},
    {"actions": ["comprehend:DetectSentiment"], "resources": ["*"]},
    {
        "actions": ["dynamodb:GetItem", "dynamodb:Query"],
        "resources": [
            "arn:aws:dynamodb:eu-west-1:123456789012:table/lookups",
            "arn:aws:dynamodb:eu-west-1:123456789012:table/lookups/index/*",
        ],
    },
]
RETAIN = {"DeletionPolicy", "UpdateReplacePolicy"}
# CDK's own function that empties a bucket before CloudFormation deletes it, with its role,
# and one custom resource per bucket: they exist only to destroy.
AUTO_DELETE = Counter({"Custom::S3AutoDeleteObjects": 2, "AWS::IAM::Role": 1, "AWS::Lambda::Function": 1})


@dataclass(frozen=True)
class Diff:
    """What changed between two templates: logical id -> type for added and removed
    resources, logical id -> the changed keys (``Properties.Timeout``) for the others."""

    added: dict[str, str]
    removed: dict[str, str]
    changed: dict[str, set[str]]
    outputs: set[str]


def diff(before: dict[str, Any], after: dict[str, Any]) -> Diff:
    old, new = before["Resources"], after["Resources"]
    changed: dict[str, set[str]] = {}
    for logical_id in old.keys() & new.keys():
        a, b = old[logical_id], new[logical_id]
        keys = {key for key in a.keys() | b.keys() if key != "Properties" and a.get(key) != b.get(key)}
        properties_a, properties_b = a.get("Properties", {}), b.get("Properties", {})
        keys |= {
            f"Properties.{key}"
            for key in properties_a.keys() | properties_b.keys()
            if properties_a.get(key) != properties_b.get(key)
        }
        if keys:
            changed[logical_id] = keys
    outputs_a, outputs_b = before["Outputs"], after["Outputs"]
    return Diff(
        added={i: new[i]["Type"] for i in new.keys() - old.keys()},
        removed={i: old[i]["Type"] for i in old.keys() - new.keys()},
        changed=changed,
        outputs={o for o in outputs_a.keys() | outputs_b.keys() if outputs_a.get(o) != outputs_b.get(o)},
    )


def _only(template: dict[str, Any], resource_type: str, containing: str = "") -> str:
    resources = template["Resources"].items()
    (logical_id,) = [i for i, r in resources if r["Type"] == resource_type and containing in json.dumps(r)]
    return logical_id


def _sorted(granted: dict[str, list[Any]]) -> dict[str, list[str]]:
    """Action -> its resources in a stable order (IAM's order means nothing)."""
    return {action: sorted(json.dumps(r) for r in resources) for action, resources in granted.items()}


def _retained(synthesized: Synthesized) -> list[str]:
    """The stateful resources `removalPolicy` governs, by logical id (buckets only if created)."""
    stack = synthesized.stack
    constructs = [
        stack.storage.table,
        stack.events.log_group,
        stack.events.dead_letter_queue,
        stack.processing.log_group,
        stack.processing.failure_queue,
        stack.publishing.log_group,
        stack.publishing.failure_queue,
        stack.monitoring.topic_key,
    ]
    if stack.storage.access_log_bucket is not None:
        constructs += [stack.storage.bucket, stack.storage.access_log_bucket]
    return [synthesized.logical_id(construct) for construct in constructs]


@pytest.fixture(scope="module")
def tuned(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    return synthesize(
        tmp_path_factory.mktemp("cdk.out"),
        {
            "processorMemoryMb": "1024",
            "processorTimeoutSeconds": "60",
            "publisherMemoryMb": "512",
            "publisherTimeoutSeconds": "120",
            "notificationPrefix": "incoming/",
            "notificationSuffix": ".csv",
            "removalPolicy": "retain",
        },
    )


@pytest.fixture(scope="module")
def production(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    return synthesize(
        tmp_path_factory.mktemp("cdk.out"),
        {
            "removalPolicy": "retain",
            "existingBucketName": EXISTING_BUCKET,
            "stepPermissions": json.dumps(STEP_PERMISSIONS),
        },
    )


def test_sizes_filters_and_retain_change_those_resources_and_nothing_else(
    synthesized: Synthesized, tuned: Synthesized
) -> None:
    default, after = synthesized.template.to_json(), tuned.template.to_json()
    stack, lid = tuned.stack, tuned.logical_id
    changes = diff(default, after)

    notifications = _only(after, "Custom::S3BucketNotifications")
    bucket_policies = [lid(stack.storage.bucket.policy), lid(stack.storage.access_log_bucket.policy)]
    buckets = [lid(stack.storage.bucket), lid(stack.storage.access_log_bucket)]
    expected = {logical_id: set(RETAIN) for logical_id in _retained(tuned)}
    expected[lid(stack.processing.function)] = {"Properties.MemorySize", "Properties.Timeout"}
    expected[lid(stack.publishing.function)] = {"Properties.MemorySize", "Properties.Timeout"}
    expected[notifications] = {"Properties.NotificationConfiguration"}
    for bucket in buckets:  # CDK's aws-cdk:auto-delete-objects tag is gone
        expected[bucket].add("Properties.Tags")
    for policy in bucket_policies:  # and so is the auto-delete role's statement
        expected[policy] = {"Properties.PolicyDocument"}
    assert changes.changed == expected
    assert changes.added == {}
    assert Counter(changes.removed.values()) == AUTO_DELETE
    assert changes.outputs == set()

    resources = after["Resources"]
    sizes = {
        resources[lid(fn)]["Properties"]["FunctionName"]: (
            resources[lid(fn)]["Properties"]["MemorySize"],
            resources[lid(fn)]["Properties"]["Timeout"],
        )
        for fn in (stack.processing.function, stack.publishing.function)
    }
    assert sizes == {"s3-object-processor-dev": (1024, 60), "s3-event-publisher-dev": (512, 120)}
    (configuration,) = resources[notifications]["Properties"]["NotificationConfiguration"][
        "LambdaFunctionConfigurations"
    ]
    rules = {rule["Name"]: rule["Value"] for rule in configuration["Filter"]["Key"]["FilterRules"]}
    assert rules == {"prefix": "incoming/", "suffix": ".csv"}
    for logical_id in _retained(tuned):
        assert resources[logical_id]["DeletionPolicy"] == "Retain", logical_id
        assert resources[logical_id]["UpdateReplacePolicy"] == "Retain", logical_id
    for bucket in buckets:
        assert "aws-cdk:auto-delete-objects" not in json.dumps(resources[bucket]["Properties"]["Tags"])
    assert tuned.nag_error is None


def test_an_existing_bucket_retain_and_step_permissions_change_those_resources_and_nothing_else(
    synthesized: Synthesized, production: Synthesized
) -> None:
    default, after = synthesized.template.to_json(), production.template.to_json()
    stack, lid = production.stack, production.logical_id
    changes = diff(default, after)

    notifications = _only(after, "Custom::S3BucketNotifications")
    expected = {logical_id: set(RETAIN) for logical_id in _retained(production)}
    expected[notifications] = {"Properties.BucketName", "Properties.Managed", "DependsOn"}
    # The notifications handler may now read the imported bucket's configuration, to keep it.
    expected[_only(after, "AWS::IAM::Policy", "s3:PutBucketNotification")] = {"Properties.PolicyDocument"}
    expected[lid(stack.processing.role.node.find_child("DefaultPolicy"))] = {"Properties.PolicyDocument"}
    permission = _only(after, "AWS::Lambda::Permission", "s3.amazonaws.com")
    expected[permission] = {"Properties.SourceArn"}  # S3 may invoke for the imported bucket
    assert changes.changed == expected
    # No bucket, bucket policy or auto-delete of ours.
    assert Counter(changes.removed.values()) == AUTO_DELETE + Counter(
        {"AWS::S3::Bucket": 2, "AWS::S3::BucketPolicy": 2}
    )
    assert changes.added == {}
    assert changes.outputs == {"AccessLogBucketName", "S3BucketName", "S3BucketArn"}

    resources, outputs = after["Resources"], after["Outputs"]
    bucket_arn = {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, f":s3:::{EXISTING_BUCKET}"]]}
    assert resources[notifications]["Properties"]["BucketName"] == EXISTING_BUCKET
    assert resources[notifications]["Properties"]["Managed"] is False
    assert resources[permission]["Properties"]["SourceArn"] == bucket_arn
    assert "AccessLogBucketName" not in outputs
    assert outputs["S3BucketName"]["Value"] == EXISTING_BUCKET
    assert outputs["S3BucketArn"]["Value"] == bucket_arn
    assert outputs["S3BucketName"]["Export"] == {"Name": "S3BucketName-dev"}


def test_step_permissions_go_to_the_processors_role_each_named(
    synthesized: Synthesized, production: Synthesized
) -> None:
    def objects(bucket: str) -> dict[str, Any]:
        return {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, f":s3:::{bucket}/*"]]}

    before = _granted(_role_statements(synthesized, synthesized.stack.processing.role))
    after = _granted(_role_statements(production, production.stack.processing.role))
    lookups = "arn:aws:dynamodb:eu-west-1:123456789012:table/lookups"
    trigger_objects = [objects(EXISTING_BUCKET)]
    expected = {
        **before,
        "s3:GetObject": [*trigger_objects, objects("reference-data"), "arn:aws:s3:::archive-data/*"],
        "s3:GetObjectVersion": trigger_objects,
        "s3:ListBucket": [{"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":s3:::reference-data"]]}],
        "comprehend:DetectSentiment": ["*"],
        "dynamodb:GetItem": [lookups, f"{lookups}/index/*"],
        "dynamodb:Query": [lookups, f"{lookups}/index/*"],
    }
    assert _sorted(after) == _sorted(expected)
    publisher = production.stack.publishing.role
    assert _granted(_role_statements(production, publisher)) == _granted(
        _role_statements(synthesized, synthesized.stack.publishing.role)
    )


def test_cdk_nag_and_cfn_lint_are_clean_for_retain_an_existing_bucket_and_step_permissions(
    production: Synthesized,
) -> None:
    findings = [
        f"{violation['ruleName']} at {construct['constructPath']}"
        for report in production.validation_report.get("pluginReports", [])
        for violation in report.get("violations", [])
        for construct in violation["violatingConstructs"]
    ]
    assert findings == []
    assert production.nag_error is None
    cfn_lint = Path(sys.executable).with_name("cfn-lint")
    result = subprocess.run(
        [str(cfn_lint), "--format", "json", str(production.template_file)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.stdout.strip(), result.stderr
    assert [m for m in json.loads(result.stdout) if m["Level"] == "Error"] == []


def test_each_wildcard_a_step_declared_is_acknowledged_with_what_declared_it(production: Synthesized) -> None:
    acknowledged = {
        rule: reason
        for entry in production.stack.processing.role.node.metadata
        if entry.type == "aws:cdk:acknowledged-rules"
        for rule, reason in entry.data.items()
    }
    assert "stepPermissions" in acknowledged["Annotation::AwsSolutions-IAM5[Resource::*]"]
    assert "comprehend:DetectSentiment" in acknowledged["Annotation::AwsSolutions-IAM5[Resource::*]"]
    for resource in (
        "arn:<AWS::Partition>:s3:::reference-data/*",
        "arn:aws:s3:::archive-data/*",
        "arn:aws:dynamodb:eu-west-1:123456789012:table/lookups/index/*",
    ):
        assert "stepPermissions" in acknowledged[f"Annotation::AwsSolutions-IAM5[Resource::{resource}]"]
