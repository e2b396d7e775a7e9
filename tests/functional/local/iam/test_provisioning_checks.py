"""The permission checks AWS makes when it creates a resource, made by provisioning: each test
takes one grant out of a copy of the synthesized stack and expects AWS's refusal by name."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from s3flow.local.cloudformation import provision
from s3flow.local.cloudformation.errors import TemplateError
from support.template_copies import Template, assembly_copy, remove_action, remove_resources, statements

STACK = "TapStackdev"
PROCESSOR_POLICY = "ProcessingS3ProcessorLambdaRoleDefaultPolicy"
PUBLISHER_POLICY = "PublishingPublisherRoleDefaultPolicy"


def provision_without(
    cloud_assembly: Path, tmp_path: Path, endpoint: str, edit: Callable[[Template], None]
) -> None:
    provision(assembly_copy(cloud_assembly, tmp_path / "cdk.out", edit), STACK, endpoint_url=endpoint)


def test_the_synthesized_stack_passes_every_check(cloud_assembly: Path, moto_endpoint: str) -> None:
    deployment = provision(cloud_assembly, STACK, endpoint_url=moto_endpoint)

    processor = next(
        spec for spec in deployment.functions.values() if spec.logical_id.startswith("ProcessingS3")
    )
    assert processor.role_arn in deployment.policies.identity
    assert deployment.policies.account_logs, "the Logs resource policy is recorded"


@pytest.mark.parametrize(
    ("policy", "action", "refusal"),
    [
        (
            PROCESSOR_POLICY,
            "xray:PutTraceSegments",
            "does not have permissions to call PutTraceSegments on XRAY",
        ),
        (PROCESSOR_POLICY, "sqs:SendMessage", "The destination ARN arn:aws:sqs:"),
        (PUBLISHER_POLICY, "dynamodb:GetRecords", "Cannot access stream arn:aws:dynamodb:"),
        (PUBLISHER_POLICY, "dynamodb:ListStreams", "Please ensure the role can perform the GetRecords"),
        (PUBLISHER_POLICY, "sqs:SendMessage", "does not have permissions to call SendMessage on SQS"),
    ],
)
def test_a_role_without_a_grant_its_configuration_needs_fails_provisioning(
    cloud_assembly: Path, tmp_path: Path, moto_endpoint: str, policy: str, action: str, refusal: str
) -> None:
    with pytest.raises(TemplateError, match=refusal):
        provision_without(cloud_assembly, tmp_path, moto_endpoint, lambda t: remove_action(t, policy, action))


def test_a_bucket_notification_without_the_functions_permission_fails_as_s3_refuses_it(
    cloud_assembly: Path, tmp_path: Path, moto_endpoint: str
) -> None:
    with pytest.raises(TemplateError, match="Unable to validate the following destination configurations"):
        provision_without(
            cloud_assembly, tmp_path, moto_endpoint, lambda t: remove_resources(t, "AWS::Lambda::Permission")
        )


def test_a_permission_for_another_bucket_does_not_validate_the_notification(
    cloud_assembly: Path, tmp_path: Path, moto_endpoint: str
) -> None:
    def other_bucket(template: Template) -> None:
        for resource in template["Resources"].values():
            if resource["Type"] == "AWS::Lambda::Permission":
                resource["Properties"]["SourceArn"] = "arn:aws:s3:::someone-elses-bucket"

    with pytest.raises(TemplateError, match="Unable to validate"):
        provision_without(cloud_assembly, tmp_path, moto_endpoint, other_bucket)


def test_a_condition_key_the_emulator_cannot_fill_fails_provisioning_by_name(
    cloud_assembly: Path, tmp_path: Path, moto_endpoint: str
) -> None:
    def tag_condition(template: Template) -> None:
        document = template["Resources"][
            next(k for k in template["Resources"] if k.startswith(PROCESSOR_POLICY))
        ]["Properties"]["PolicyDocument"]
        statements(document)[0]["Condition"] = {"StringEquals": {"aws:ResourceTag/team": "data"}}

    with pytest.raises(TemplateError, match="aws:ResourceTag/team"):
        provision_without(cloud_assembly, tmp_path, moto_endpoint, tag_condition)
