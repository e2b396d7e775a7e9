"""``AWS::S3::Bucket`` and ``AWS::S3::BucketPolicy``, created in moto.

A bucket: versioning, encryption, public access block, lifecycle, access logging, ownership,
tags. A bucket policy: recorded whole in ``Deployment.policies`` for the emulator's IAM
evaluation; in moto, a Deny with a ``Condition`` is left out (and listed in
``Deployment.unenforced_policy_statements``): moto evaluates conditions as met, so CDK's
TLS-only Deny would refuse every request to the plain-HTTP local endpoint.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from s3flow.local.cloudformation.resources.base import Context, Created, ResourceType
from s3flow.local.cloudformation.template import physical_name


def _bucket(ctx: Context, logical_id: str, props: dict[str, Any]) -> Created:
    name = ctx.name(logical_id, props.get("BucketName"), max_length=63, lower=True)
    s3 = ctx.client("s3")
    args: dict[str, Any] = {"Bucket": name}
    if ctx.region != "us-east-1":
        args["CreateBucketConfiguration"] = {"LocationConstraint": ctx.region}
    if props.get("ObjectLockEnabled"):
        args["ObjectLockEnabledForBucket"] = True
    s3.create_bucket(**args)
    if "VersioningConfiguration" in props:
        s3.put_bucket_versioning(
            Bucket=name, VersioningConfiguration={"Status": props["VersioningConfiguration"]["Status"]}
        )
    if "BucketEncryption" in props:
        rules = [
            {
                **{key: value for key, value in rule.items() if key != "ServerSideEncryptionByDefault"},
                "ApplyServerSideEncryptionByDefault": rule["ServerSideEncryptionByDefault"],
            }
            for rule in props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
        ]
        s3.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration={"Rules": rules})
    if "PublicAccessBlockConfiguration" in props:
        s3.put_public_access_block(
            Bucket=name, PublicAccessBlockConfiguration=props["PublicAccessBlockConfiguration"]
        )
    if "OwnershipControls" in props:
        s3.put_bucket_ownership_controls(Bucket=name, OwnershipControls=props["OwnershipControls"])
    if "LoggingConfiguration" in props:
        logging_config = props["LoggingConfiguration"]
        enabled = {
            "TargetBucket": logging_config.get("DestinationBucketName", name),
            "TargetPrefix": logging_config.get("LogFilePrefix", ""),
        }
        # moto checks the destination's bucket policy, which CloudFormation may create
        # later (nothing orders the two), so this waits until every resource exists.
        ctx.deferred.append(
            lambda: s3.put_bucket_logging(Bucket=name, BucketLoggingStatus={"LoggingEnabled": enabled})
        )
    if "LifecycleConfiguration" in props:
        rules = [_lifecycle_rule(rule) for rule in props["LifecycleConfiguration"]["Rules"]]
        s3.put_bucket_lifecycle_configuration(Bucket=name, LifecycleConfiguration={"Rules": rules})
    if props.get("Tags"):
        s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": props["Tags"]})
    suffix = ctx.resolver.pseudo["AWS::URLSuffix"]
    return Created(
        name,
        {
            "Arn": f"arn:{ctx.partition}:s3:::{name}",
            "DomainName": f"{name}.s3.{suffix}",
            "RegionalDomainName": f"{name}.s3.{ctx.region}.{suffix}",
            "DualStackDomainName": f"{name}.s3.dualstack.{ctx.region}.{suffix}",
            "WebsiteURL": f"http://{name}.s3-website-{ctx.region}.{suffix}",
        },
    )


def _lifecycle_rule(rule: Mapping[str, Any]) -> dict[str, Any]:
    """AWS::S3::Bucket Rule (CloudFormation shape) -> PutBucketLifecycleConfiguration rule."""
    result: dict[str, Any] = {"Status": rule["Status"]}
    if "Id" in rule:
        result["ID"] = rule["Id"]
    filters: dict[str, Any] = {}
    if "Prefix" in rule:
        filters["Prefix"] = rule["Prefix"]
    if rule.get("TagFilters"):
        filters["Tags"] = rule["TagFilters"]
    for key in ("ObjectSizeGreaterThan", "ObjectSizeLessThan"):
        if key in rule:
            filters[key] = int(rule[key])
    if len(filters) > 1 or "Tags" in filters and len(filters["Tags"]) > 1:
        result["Filter"] = {"And": filters}
    elif "Tags" in filters:
        result["Filter"] = {"Tag": filters["Tags"][0]}
    else:
        result["Filter"] = filters or {"Prefix": ""}
    expiration = {
        api: rule[cfn]
        for cfn, api in (
            ("ExpirationInDays", "Days"),
            ("ExpirationDate", "Date"),
            ("ExpiredObjectDeleteMarker", "ExpiredObjectDeleteMarker"),
        )
        if cfn in rule
    }
    if expiration:
        result["Expiration"] = expiration
    if "AbortIncompleteMultipartUpload" in rule:
        result["AbortIncompleteMultipartUpload"] = rule["AbortIncompleteMultipartUpload"]
    if "NoncurrentVersionExpiration" in rule:
        result["NoncurrentVersionExpiration"] = rule["NoncurrentVersionExpiration"]
    elif "NoncurrentVersionExpirationInDays" in rule:
        result["NoncurrentVersionExpiration"] = {"NoncurrentDays": rule["NoncurrentVersionExpirationInDays"]}
    transitions = rule.get("Transitions", []) + ([rule["Transition"]] if "Transition" in rule else [])
    if transitions:
        result["Transitions"] = [
            {
                "StorageClass": t["StorageClass"],
                **({"Days": t["TransitionInDays"]} if "TransitionInDays" in t else {}),
                **({"Date": t["TransitionDate"]} if "TransitionDate" in t else {}),
            }
            for t in transitions
        ]
    noncurrent = rule.get("NoncurrentVersionTransitions", []) + (
        [rule["NoncurrentVersionTransition"]] if "NoncurrentVersionTransition" in rule else []
    )
    if noncurrent:
        result["NoncurrentVersionTransitions"] = [
            {
                "StorageClass": t["StorageClass"],
                "NoncurrentDays": t["TransitionInDays"],
                **(
                    {"NewerNoncurrentVersions": t["NewerNoncurrentVersions"]}
                    if "NewerNoncurrentVersions" in t
                    else {}
                ),
            }
            for t in noncurrent
        ]
    return result


def _bucket_policy(ctx: Context, logical_id: str, props: dict[str, Any]) -> Created:
    # moto evaluates a bucket policy on object requests without a request context, so a
    # conditioned Deny always matches: CDK's TLS-only Deny (enforceSSL) would refuse every
    # request to the plain-HTTP local endpoint. Such statements are recorded, not applied.
    document = dict(props["PolicyDocument"])
    ctx.deployment.policies.add_resource(
        f"arn:{ctx.partition}:s3:::{props['Bucket']}", props["PolicyDocument"]
    )
    statements = document.get("Statement", [])
    statements = [statements] if isinstance(statements, dict) else list(statements)
    skipped = [st for st in statements if st.get("Effect") == "Deny" and "Condition" in st]
    applied = [st for st in statements if st not in skipped]
    if skipped:
        ctx.deployment.unenforced_policy_statements[logical_id] = skipped
    if applied:
        document["Statement"] = applied
        ctx.client("s3").put_bucket_policy(Bucket=props["Bucket"], Policy=json.dumps(document))
    return Created(physical_name(ctx.stack, logical_id, max_length=128))


BUCKET = ResourceType(
    "AWS::S3::Bucket",
    known_properties=frozenset(
        [
            "BucketName",
            "VersioningConfiguration",
            "BucketEncryption",
            "PublicAccessBlockConfiguration",
            "LifecycleConfiguration",
            "OwnershipControls",
            "LoggingConfiguration",
            "Tags",
            "ObjectLockEnabled",
        ]
    ),
    create=_bucket,
)
BUCKET_POLICY = ResourceType(
    "AWS::S3::BucketPolicy",
    known_properties=frozenset({"Bucket", "PolicyDocument"}),
    create=_bucket_policy,
)
