"""``AWS::Logs::LogGroup`` and ``AWS::Logs::ResourcePolicy``, created in moto."""

from __future__ import annotations

import json
from typing import Any

from s3flow.local.cloudformation.resources.base import Context, Created, ResourceType, tag_map


def _log_group(ctx: Context, logical_id: str, props: dict[str, Any]) -> Created:
    name = ctx.name(logical_id, props.get("LogGroupName"), max_length=512)
    args: dict[str, Any] = {"logGroupName": name}
    if "KmsKeyId" in props:
        args["kmsKeyId"] = props["KmsKeyId"]
    if "LogGroupClass" in props:
        args["logGroupClass"] = props["LogGroupClass"]
    if props.get("Tags"):
        args["tags"] = tag_map(props["Tags"])
    logs = ctx.client("logs")
    logs.create_log_group(**args)
    if "RetentionInDays" in props:
        logs.put_retention_policy(logGroupName=name, retentionInDays=int(props["RetentionInDays"]))
    return Created(name, {"Arn": f"arn:{ctx.partition}:logs:{ctx.region}:{ctx.account}:log-group:{name}:*"})


def _log_resource_policy(ctx: Context, logical_id: str, props: dict[str, Any]) -> Created:
    document = props["PolicyDocument"]
    ctx.deployment.policies.account_logs.append(
        json.loads(document) if isinstance(document, str) else document
    )
    ctx.client("logs").put_resource_policy(
        policyName=props["PolicyName"],
        policyDocument=document if isinstance(document, str) else json.dumps(document),
    )
    return Created(props["PolicyName"])


LOG_GROUP = ResourceType(
    "AWS::Logs::LogGroup",
    known_properties=frozenset({"LogGroupName", "RetentionInDays", "KmsKeyId", "Tags", "LogGroupClass"}),
    create=_log_group,
)
RESOURCE_POLICY = ResourceType(
    "AWS::Logs::ResourcePolicy",
    known_properties=frozenset({"PolicyName", "PolicyDocument"}),
    create=_log_resource_policy,
)
