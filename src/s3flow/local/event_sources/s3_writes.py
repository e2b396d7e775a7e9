"""Which requests to the server wrote an S3 object, read off the wire.

S3 announces a successful PutObject, CopyObject, CompleteMultipartUpload and browser-form
POST (``classify``, ``form_upload``); sub-resource calls (tagging, acl, part uploads) and
requests signed for another service write no object. Also S3's refusal of a key over its
length limit (``key_too_long``), which moto does not enforce.
"""

from __future__ import annotations

import io
import os
import uuid
from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import escape as xml_escape

from werkzeug.wrappers import Request, Response

from s3flow.local.iam.api_calls.wire import credential_scope
from s3flow.local.server import ObservedResponse

EVENT_PUT = "ObjectCreated:Put"
EVENT_COPY = "ObjectCreated:Copy"
EVENT_MULTIPART = "ObjectCreated:CompleteMultipartUpload"
EVENT_POST = "ObjectCreated:Post"
# S3's limit on a key: 1,024 bytes of UTF-8, prefixes included.
# https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-keys.html
MAX_KEY_BYTES = 1024
# Body types werkzeug (under moto) parses as a form, keeping none of the raw bytes.
FORM_TYPES = {"application/x-www-form-urlencoded", "multipart/form-data"}
# Query parameters that do not make a PUT a sub-resource call (?tagging, ?acl, ...). A
# SigV2 presigned URL carries AWSAccessKeyId, Signature and Expires (SigV4's are X-Amz-*):
# https://docs.aws.amazon.com/AmazonS3/latest/userguide/RESTAuthentication.html
_PLAIN_PUT_PARAMS = {"x-id", "AWSAccessKeyId", "Signature", "Expires"}


@dataclass(frozen=True)
class ObjectWrite:
    """One successful object write seen on the wire."""

    bucket: str
    key: str
    event_name: str
    version_id: str | None
    request_id: str
    source_ip: str
    principal: str


def bucket_and_key(request: Request) -> tuple[str, str] | None:
    """Path-style ``/bucket/key`` or virtual-hosted ``bucket.<host>/key``."""
    path = request.path
    host = request.host.split(":", 1)[0]
    labels = host.split(".")
    virtual_host = labels[0] not in {"s3", "localhost"} and (
        host.endswith(".localhost") or (len(labels) > 1 and labels[1] == "s3")
    )
    if virtual_host:
        key = path.lstrip("/")
        return (labels[0], key) if key else None
    bucket, _, key = path.lstrip("/").partition("/")
    if not bucket or not key:
        return None
    return bucket, key


def _bucket_only(request: Request) -> str | None:
    """The bucket of a request to the bucket's own URL (``/bucket`` or ``bucket.<host>/``)."""
    host = request.host.split(":", 1)[0]
    labels = host.split(".")
    if labels[0] not in {"s3", "localhost"} and (
        host.endswith(".localhost") or (len(labels) > 1 and labels[1] == "s3")
    ):
        return labels[0] if request.path.strip("/") == "" else None
    bucket, _, rest = request.path.lstrip("/").partition("/")
    return bucket if bucket and not rest else None


def _form_field(form: Any, name: str) -> str | None:
    """A POST form field by name; S3 matches field names regardless of case."""
    for field_name, value in form.items():
        if field_name.lower() == name.lower():
            return str(value)
    return None


def form_upload(request: Request, body: bytes) -> tuple[str, str, str] | None:
    """(bucket, key, principal) of a browser-form upload (POST Object), else None.

    The form's ``key`` may hold ``${filename}``, replaced by the uploaded file's name:
    https://docs.aws.amazon.com/AmazonS3/latest/API/RESTObjectPOST.html"""
    bucket = _bucket_only(request)
    if bucket is None or request.args:
        return None  # ?delete (DeleteObjects) and other bucket POSTs are not uploads
    environ = dict(request.environ)
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    parsed = Request(environ)
    key = _form_field(parsed.form, "key")
    if not key:
        return None
    upload = parsed.files.get("file")
    if upload is not None:
        key = key.replace("${filename}", os.path.basename(upload.filename or ""))
    credential = _form_field(parsed.form, "X-Amz-Credential") or ""
    access_key = credential.split("/", 1)[0] or _form_field(parsed.form, "AWSAccessKeyId")
    return bucket, key, f"AWS:{access_key}" if access_key else "anonymous"


def key_too_long(key: str, request_id: str | None = None) -> Response | None:
    """S3's ``KeyTooLongError`` (400, "Your key is too long") for a key over the limit, in
    S3's REST error shape: https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html"""
    if len(key.encode("utf-8")) <= MAX_KEY_BYTES:
        return None
    request_id = request_id or uuid.uuid4().hex[:16].upper()
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        "<Error><Code>KeyTooLongError</Code><Message>Your key is too long</Message>"
        f"<Resource>{xml_escape(key)}</Resource><RequestId>{request_id}</RequestId></Error>"
    )
    return Response(
        body, status=400, content_type="application/xml", headers={"x-amz-request-id": request_id}
    )


def is_s3_request(request: Request) -> bool:
    """Unsigned, or signed for S3."""
    scope = credential_scope(request)
    return scope is None or scope.service == "s3"


def classify(request: Request, response: ObservedResponse) -> ObjectWrite | None:
    """The object write this request made, or None if it made none."""
    if response.status_code != 200:
        return None
    scope = credential_scope(request)
    if scope is not None and scope.service != "s3":
        return None
    target = bucket_and_key(request)
    if target is None:
        return None
    # Signed x-amz-* values ride in the query of presigned URLs (SigV2 spells them lowercase).
    params = {name for name in request.args if not name.lower().startswith("x-amz-")}
    if request.method == "PUT":
        if params - _PLAIN_PUT_PARAMS:
            return None  # a sub-resource (tagging, acl, part upload, ...), not a new object
        event_name = EVENT_COPY if "x-amz-copy-source" in request.headers else EVENT_PUT
    elif request.method == "POST" and "uploadId" in params and len(params - {"x-id"}) == 1:
        event_name = EVENT_MULTIPART
    else:
        return None
    return ObjectWrite(
        bucket=target[0],
        key=target[1],
        event_name=event_name,
        version_id=response.headers.get("x-amz-version-id"),
        request_id=response.headers.get("x-amz-request-id") or uuid.uuid4().hex[:16].upper(),
        source_ip=request.remote_addr or "127.0.0.1",
        principal=f"AWS:{scope.access_key_id}" if scope else "anonymous",
    )
