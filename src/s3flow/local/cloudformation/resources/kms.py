"""``AWS::KMS::Key`` (policy, rotation) and ``AWS::KMS::Alias``, created in moto."""

from __future__ import annotations

import json
from typing import Any

from s3flow.local.cloudformation.resources.base import Context, Created, ResourceType


def _key(ctx: Context, logical_id: str, props: dict[str, Any]) -> Created:
    args: dict[str, Any] = {
        "Tags": [{"TagKey": tag["Key"], "TagValue": tag["Value"]} for tag in props.get("Tags", [])]
    }
    for key in ("Description", "KeySpec", "KeyUsage", "MultiRegion"):
        if key in props:
            args[key] = props[key]
    if "KeyPolicy" in props:
        policy = props["KeyPolicy"]
        args["Policy"] = policy if isinstance(policy, str) else json.dumps(policy)
    kms = ctx.client("kms")
    metadata = kms.create_key(**args)["KeyMetadata"]
    key_id = metadata["KeyId"]
    ctx.deployment.policies.kms_keys.add(metadata["Arn"])
    if "KeyPolicy" in props:
        policy = props["KeyPolicy"]
        ctx.deployment.policies.add_resource(
            metadata["Arn"], json.loads(policy) if isinstance(policy, str) else policy
        )
    if props.get("EnableKeyRotation"):
        rotation = (
            {"RotationPeriodInDays": int(props["RotationPeriodInDays"])}
            if "RotationPeriodInDays" in props
            else {}
        )
        kms.enable_key_rotation(KeyId=key_id, **rotation)
    if props.get("Enabled") is False:
        kms.disable_key(KeyId=key_id)
    return Created(key_id, {"Arn": metadata["Arn"], "KeyId": key_id})


def _alias(ctx: Context, logical_id: str, props: dict[str, Any]) -> Created:
    ctx.client("kms").create_alias(AliasName=props["AliasName"], TargetKeyId=props["TargetKeyId"])
    return Created(props["AliasName"])


KEY = ResourceType(
    "AWS::KMS::Key",
    known_properties=frozenset(
        [
            "Description",
            "Enabled",
            "EnableKeyRotation",
            "KeyPolicy",
            "KeySpec",
            "KeyUsage",
            "MultiRegion",
            "PendingWindowInDays",  # applies to deletion only
            "RotationPeriodInDays",
            "Tags",
        ]
    ),
    create=_key,
)
ALIAS = ResourceType(
    "AWS::KMS::Alias",
    known_properties=frozenset({"AliasName", "TargetKeyId"}),
    create=_alias,
)
