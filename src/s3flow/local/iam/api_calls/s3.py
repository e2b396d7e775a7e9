"""S3: which actions each operation asks for, on the bucket or on its objects.

docs.aws.amazon.com/AmazonS3/latest/userguide/using-with-s3-policy-actions.html maps each
operation to its actions; list_amazons3.html gives the ARNs: bucket arn:${Partition}:s3:::${BucketName},
object arn:${Partition}:s3:::${BucketName}/${ObjectName} (no region, no account). An operation
on a version (``?versionId=``) asks for the action's ``Version`` variant. The bucket and key
come from moto's router, which reads them from the path or, virtual-hosted style, the host.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import parse_qs, unquote
from xml.etree import ElementTree

from s3flow.local.iam.api_calls.model import Call, Resolver, Table, anywhere
from s3flow.local.iam.api_calls.wire import body


def _bucket(call: Call) -> str:
    return call.arns("s3", call.params["Bucket"], region="", account="")


def _object(call: Call, bucket: str, key: str) -> str:
    return call.arns("s3", f"{bucket}/{key}", region="", account="")


def on_bucket(action: str) -> Resolver:
    return lambda call: [(action, _bucket(call))]


def on_object(action: str, version_action: str | None = None) -> Resolver:
    """``action`` on the object, ``version_action`` instead when the request names a version."""

    def resolve(call: Call) -> list[tuple[str, str]]:
        versioned = version_action is not None and "versionId" in call.request.args
        chosen = version_action if versioned and version_action else action
        return [(chosen, _object(call, call.params["Bucket"], call.params["Key"]))]

    return resolve


def copied(action: str) -> Resolver:
    """CopyObject and UploadPartCopy: ``action`` on the target, and reading the source
    (x-amz-copy-source: "<bucket>/<key>[?versionId=<id>]", URL-encoded, maybe with a leading "/")."""
    target = on_object(action)

    def resolve(call: Call) -> list[tuple[str, str]]:
        source, _, query = call.request.headers["x-amz-copy-source"].partition("?")
        bucket, _, key = unquote(source).lstrip("/").partition("/")
        read = "s3:GetObjectVersion" if "versionId" in parse_qs(query) else "s3:GetObject"
        return [*target(call), (read, _object(call, bucket, key))]

    return resolve


def _deleted_objects(call: Call) -> Iterable[tuple[str, str]]:
    """DeleteObjects: each object's own DeleteObject(Version). S3 answers a refused key in the
    result, key by key, rather than refusing the request."""
    document = ElementTree.fromstring(body(call.request))
    for entry in document:
        if entry.tag.rpartition("}")[2] != "Object":
            continue
        fields = {child.tag.rpartition("}")[2]: child.text or "" for child in entry}
        action = "s3:DeleteObjectVersion" if fields.get("VersionId") else "s3:DeleteObject"
        yield action, _object(call, call.params["Bucket"], fields["Key"])


S3: Table = {
    # objects
    "GetObject": on_object("s3:GetObject", "s3:GetObjectVersion"),
    "HeadObject": on_object("s3:GetObject", "s3:GetObjectVersion"),
    "PutObject": on_object("s3:PutObject"),
    "CopyObject": copied("s3:PutObject"),
    "DeleteObject": on_object("s3:DeleteObject", "s3:DeleteObjectVersion"),
    "DeleteObjects": _deleted_objects,
    "GetObjectTagging": on_object("s3:GetObjectTagging", "s3:GetObjectVersionTagging"),
    "PutObjectTagging": on_object("s3:PutObjectTagging", "s3:PutObjectVersionTagging"),
    "DeleteObjectTagging": on_object("s3:DeleteObjectTagging", "s3:DeleteObjectVersionTagging"),
    "GetObjectAcl": on_object("s3:GetObjectAcl", "s3:GetObjectVersionAcl"),
    "PutObjectAcl": on_object("s3:PutObjectAcl", "s3:PutObjectVersionAcl"),
    "GetObjectAttributes": on_object("s3:GetObjectAttributes", "s3:GetObjectVersionAttributes"),
    "CreateMultipartUpload": on_object("s3:PutObject"),
    "UploadPart": on_object("s3:PutObject"),
    "UploadPartCopy": copied("s3:PutObject"),
    "CompleteMultipartUpload": on_object("s3:PutObject"),
    "AbortMultipartUpload": on_object("s3:AbortMultipartUpload"),
    "ListParts": on_object("s3:ListMultipartUploadParts"),
    "RestoreObject": on_object("s3:RestoreObject"),
    "SelectObjectContent": on_object("s3:GetObject"),
    # buckets
    "ListObjects": on_bucket("s3:ListBucket"),
    "ListObjectsV2": on_bucket("s3:ListBucket"),
    "HeadBucket": on_bucket("s3:ListBucket"),
    "ListObjectVersions": on_bucket("s3:ListBucketVersions"),
    "ListMultipartUploads": on_bucket("s3:ListBucketMultipartUploads"),
    "CreateBucket": on_bucket("s3:CreateBucket"),
    "DeleteBucket": on_bucket("s3:DeleteBucket"),
    "GetBucketLocation": on_bucket("s3:GetBucketLocation"),
    "GetBucketVersioning": on_bucket("s3:GetBucketVersioning"),
    "PutBucketVersioning": on_bucket("s3:PutBucketVersioning"),
    "GetBucketPolicy": on_bucket("s3:GetBucketPolicy"),
    "PutBucketPolicy": on_bucket("s3:PutBucketPolicy"),
    "DeleteBucketPolicy": on_bucket("s3:DeleteBucketPolicy"),
    "GetBucketPolicyStatus": on_bucket("s3:GetBucketPolicyStatus"),
    "GetBucketAcl": on_bucket("s3:GetBucketAcl"),
    "PutBucketAcl": on_bucket("s3:PutBucketAcl"),
    "GetBucketTagging": on_bucket("s3:GetBucketTagging"),
    "PutBucketTagging": on_bucket("s3:PutBucketTagging"),
    "DeleteBucketTagging": on_bucket("s3:PutBucketTagging"),
    "GetBucketNotificationConfiguration": on_bucket("s3:GetBucketNotification"),
    "PutBucketNotificationConfiguration": on_bucket("s3:PutBucketNotification"),
    "GetBucketEncryption": on_bucket("s3:GetEncryptionConfiguration"),
    "PutBucketEncryption": on_bucket("s3:PutEncryptionConfiguration"),
    "DeleteBucketEncryption": on_bucket("s3:PutEncryptionConfiguration"),
    "GetBucketLifecycleConfiguration": on_bucket("s3:GetLifecycleConfiguration"),
    "PutBucketLifecycleConfiguration": on_bucket("s3:PutLifecycleConfiguration"),
    "DeleteBucketLifecycle": on_bucket("s3:PutLifecycleConfiguration"),
    "GetBucketCors": on_bucket("s3:GetBucketCORS"),
    "PutBucketCors": on_bucket("s3:PutBucketCORS"),
    "DeleteBucketCors": on_bucket("s3:PutBucketCORS"),
    "GetPublicAccessBlock": on_bucket("s3:GetBucketPublicAccessBlock"),
    "PutPublicAccessBlock": on_bucket("s3:PutBucketPublicAccessBlock"),
    "DeletePublicAccessBlock": on_bucket("s3:PutBucketPublicAccessBlock"),
    "GetBucketOwnershipControls": on_bucket("s3:GetBucketOwnershipControls"),
    "PutBucketOwnershipControls": on_bucket("s3:PutBucketOwnershipControls"),
    "DeleteBucketOwnershipControls": on_bucket("s3:PutBucketOwnershipControls"),
    # the account
    "ListBuckets": anywhere("s3:ListAllMyBuckets"),
}
