"""``AWS::IAM::Role`` and ``AWS::IAM::Policy``, created in moto, and each role's policy
documents recorded in ``Deployment.policies`` for the emulator's IAM evaluation.

AWS-managed IAM policies (``arn:aws:iam::aws:policy/...``) exist in moto only when it was
started with ``MOTO_IAM_LOAD_MANAGED_POLICIES=true``; otherwise the attachment is logged and
listed in ``Deployment.unattached_policies``. Their documents come from the copy moto ships
(``moto.iam.aws_managed_policies``) either way; one it does not know fails provisioning, since
the role's permissions would be unknown.
"""

from __future__ import annotations

import functools
import json
import logging
from typing import Any

from botocore.exceptions import ClientError

from s3flow.local.cloudformation.errors import TemplateError
from s3flow.local.cloudformation.resources.base import Context, Created, ResourceType
from s3flow.local.cloudformation.template import physical_name

log = logging.getLogger(__name__)


def _role(ctx: Context, logical_id: str, props: dict[str, Any]) -> Created:
    name = ctx.name(logical_id, props.get("RoleName"), max_length=64)
    args: dict[str, Any] = {
        "RoleName": name,
        "AssumeRolePolicyDocument": json.dumps(props["AssumeRolePolicyDocument"]),
    }
    for key in ("Path", "Description", "MaxSessionDuration", "PermissionsBoundary", "Tags"):
        if key in props:
            args[key] = props[key]
    iam = ctx.client("iam")
    role = iam.create_role(**args)["Role"]
    ctx.deployment.policies.identity.setdefault(role["Arn"], [])  # a role with no policy may do nothing
    for arn in props.get("ManagedPolicyArns", []):
        _attach(ctx, name, arn)
        ctx.deployment.policies.add_identity(role["Arn"], _managed_policy_document(logical_id, arn))
    for policy in props.get("Policies", []):
        iam.put_role_policy(
            RoleName=name,
            PolicyName=policy["PolicyName"],
            PolicyDocument=json.dumps(policy["PolicyDocument"]),
        )
        ctx.deployment.policies.add_identity(role["Arn"], policy["PolicyDocument"])
    return Created(name, {"Arn": role["Arn"], "RoleId": role["RoleId"]})


@functools.cache
def _aws_managed_policies() -> dict[str, Any]:
    from moto.iam.aws_managed_policies import aws_managed_policies_data

    policies: dict[str, Any] = json.loads(aws_managed_policies_data)
    return policies


def _managed_policy_document(logical_id: str, policy_arn: str) -> dict[str, Any]:
    """An AWS-managed policy's document, from the copy moto ships."""
    name = policy_arn.split(":policy/", 1)[-1].rsplit("/", 1)[-1]
    known = _aws_managed_policies()
    if policy_arn.split(":")[4:5] != ["aws"] or name not in known:
        raise TemplateError(
            f"{logical_id}: policy {policy_arn} is not an AWS-managed policy the emulator knows,"
            " so the role's permissions cannot be evaluated"
        )
    document: dict[str, Any] = known[name]["Document"]
    return document


def _attach(ctx: Context, role: str, policy_arn: str) -> None:
    try:
        ctx.client("iam").attach_role_policy(RoleName=role, PolicyArn=policy_arn)
    except ClientError as error:
        aws_managed = policy_arn.split(":")[4:5] == ["aws"]
        if error.response["Error"]["Code"] != "NoSuchEntity" or not aws_managed:
            raise
        # Kept in the deployment, logged quietly: moto enforces no IAM on its callers, so
        # the role works locally without it; repeating this on every start is only noise.
        log.info(
            "moto has no AWS-managed policy %s (MOTO_IAM_LOAD_MANAGED_POLICIES); role %s left without it",
            policy_arn,
            role,
        )
        ctx.deployment.unattached_policies.append((role, policy_arn))


def _policy(ctx: Context, logical_id: str, props: dict[str, Any]) -> Created:
    iam = ctx.client("iam")
    document = json.dumps(props["PolicyDocument"])
    name = props["PolicyName"]
    for role in props.get("Roles", []):
        iam.put_role_policy(RoleName=role, PolicyName=name, PolicyDocument=document)
        role_arn = iam.get_role(RoleName=role)["Role"]["Arn"]
        ctx.deployment.policies.add_identity(role_arn, props["PolicyDocument"])
    for user in props.get("Users", []):
        iam.put_user_policy(UserName=user, PolicyName=name, PolicyDocument=document)
    for group in props.get("Groups", []):
        iam.put_group_policy(GroupName=group, PolicyName=name, PolicyDocument=document)
    return Created(physical_name(ctx.stack, logical_id, max_length=128))


ROLE = ResourceType(
    "AWS::IAM::Role",
    known_properties=frozenset(
        [
            "RoleName",
            "Path",
            "AssumeRolePolicyDocument",
            "Description",
            "MaxSessionDuration",
            "PermissionsBoundary",
            "ManagedPolicyArns",
            "Policies",
            "Tags",
        ]
    ),
    create=_role,
)
POLICY = ResourceType(
    "AWS::IAM::Policy",
    known_properties=frozenset({"PolicyName", "PolicyDocument", "Roles", "Users", "Groups"}),
    create=_policy,
)
