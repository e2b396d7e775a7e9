"""Accepted security-scan findings: each is acknowledged next to its resource, with why.

cdk-nag findings are acknowledged through CDK's ``Validations``; checkov findings as a
``checkov`` skip in the resource's CloudFormation metadata, which checkov reads from the
synthesized template. docs/security.md lists them all.
"""

from __future__ import annotations

from aws_cdk import Acknowledgment, CfnResource, Validations
from constructs import IConstruct


def accept(scope: IConstruct, rule: str, reason: str) -> None:
    """Acknowledge one cdk-nag finding (``"AwsSolutions-IAM5[Resource::*]"``) on ``scope``."""
    Validations.of(scope).acknowledge(Acknowledgment(id=rule, reason=reason))


def accept_checkov(scope: IConstruct, check_id: str, reason: str) -> None:
    """Record a checkov skip (``"CKV_AWS_117"``) on the CloudFormation resource of ``scope``."""
    resource = scope if isinstance(scope, CfnResource) else scope.node.default_child
    if not isinstance(resource, CfnResource):
        raise TypeError(f"{scope.node.path} has no CloudFormation resource to annotate")
    skips = list((resource.get_metadata("checkov") or {}).get("skip", []))
    skips.append({"id": check_id, "comment": reason})
    resource.add_metadata("checkov", {"skip": skips})
