"""The S3 -> Lambda hop: S3 event notifications built the way AWS builds them.

moto's own notifications cannot run our function (its Lambda needs Docker) and their
records lack ``versionId`` and ``sequencer`` and encode ``/`` as ``%2F``. So we watch the
server's successful object writes (PutObject, CopyObject, CompleteMultipartUpload) and,
for each notification configured in the deployment that matches, hand the async invoker
one record shaped as in AWS's "Event message structure" (event version 2.1):

- ``s3.object.key`` is URL-encoded form-style: spaces as ``+``, ``/`` kept;
- ``versionId`` is the one in the write's own ``x-amz-version-id`` response header, so a
  later write of the same key cannot leak into this event;
- ``sequencer`` is hex that only grows per bucket and key (AWS compares them as strings
  of equal length, so ours are fixed-width).

Browser-form uploads (POST Object, ``multipart/form-data`` to the bucket's URL) are
``ObjectCreated:Post``: moto's answer carries no version id, so the event's is read back
from moto as the key's newest version (a second write of the same key racing the POST could
lend it its version).
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import logging
import os
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from xml.sax.saxutils import escape as xml_escape

from werkzeug.wrappers import Request, Response

from s3flow.local.deployment import BucketNotification, Deployment
from s3flow.local.event_sources.s3_event_record import s3_record
from s3flow.local.server import Middleware, ObservedResponse

log = logging.getLogger(__name__)

EVENT_PUT = "ObjectCreated:Put"
EVENT_COPY = "ObjectCreated:Copy"
EVENT_MULTIPART = "ObjectCreated:CompleteMultipartUpload"
EVENT_POST = "ObjectCreated:Post"
_CREDENTIAL = re.compile(r"Credential=([^/,\s]+)/\d{8}/([^/]+)/([^/]+)/aws4_request")
# Signature version 2: ``Authorization: AWS AccessKeyId:Signature`` (S3 still takes it).
_CREDENTIAL_V2 = re.compile(r"^AWS ([^:\s]+):")
# S3's limit on a key: 1,024 bytes of UTF-8, prefixes included.
# https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-keys.html
MAX_KEY_BYTES = 1024
# Body types werkzeug (under moto) parses as a form, keeping none of the raw bytes.
_FORM_TYPES = {"application/x-www-form-urlencoded", "multipart/form-data"}
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


@dataclass(frozen=True)
class StoredObject:
    size: int
    etag: str  # without quotes, as S3 events carry it
    version_id: str | None = None


# Finds the stored object of one exact version (or the only one, unversioned).
ObjectLookup = Callable[[str, str, "str | None"], StoredObject]
# Sets the Content-Type of one exact stored version (or the only one, unversioned).
Retype = Callable[[str, str, "str | None", str], None]
# Hands one S3 event to the async invoker of the function with this ARN.
Enqueue = Callable[[str, dict[str, Any]], object]


def _credential(request: Request) -> tuple[str, str] | None:
    """(access key id, service) from a SigV4 or SigV2 Authorization header or presigned URL.

    SigV2 names no service; among AWS services only S3 still accepts it."""
    header = request.headers.get("Authorization", "")
    match = _CREDENTIAL.search(header)
    if match:
        return match.group(1), match.group(3)
    presigned = request.args.get("X-Amz-Credential", "")
    parts = presigned.split("/")
    if len(parts) == 5:
        return parts[0], parts[3]
    match = _CREDENTIAL_V2.match(header)
    if match:
        return match.group(1), "s3"
    if request.args.get("AWSAccessKeyId"):
        return request.args["AWSAccessKeyId"], "s3"
    return None


def _bucket_and_key(request: Request) -> tuple[str, str] | None:
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


def _is_s3(request: Request) -> bool:
    """Unsigned, or signed for S3."""
    credential = _credential(request)
    return credential is None or credential[1] == "s3"


def classify(request: Request, response: ObservedResponse) -> ObjectWrite | None:
    """The object write this request made, or None if it made none."""
    if response.status_code != 200:
        return None
    credential = _credential(request)
    if credential is not None and credential[1] != "s3":
        return None
    target = _bucket_and_key(request)
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
        principal=f"AWS:{credential[0]}" if credential else "anonymous",
    )


class Sequencer:
    """Fixed-width hex values that only grow, per bucket and key (and overall)."""

    def __init__(self, clock: Callable[[], int] = time.time_ns) -> None:
        self._clock = clock
        self._last = 0
        self._lock = threading.Lock()

    def next(self) -> str:
        with self._lock:
            self._last = max(self._last + 1, self._clock())
            return f"{self._last:018X}"


def event_matches(notification: BucketNotification, bucket: str, event_name: str, key: str) -> bool:
    if notification.bucket != bucket:
        return False
    if not key.startswith(notification.prefix) or not key.endswith(notification.suffix):
        return False
    wanted = f"s3:{event_name}"
    for pattern in notification.events:
        if pattern == wanted or (pattern.endswith(":*") and wanted.startswith(pattern[:-1])):
            return True
    return False


def configuration_id(notification: BucketNotification) -> str:
    """S3 names an Id-less configuration itself; ours is stable across restarts."""
    digest = hashlib.sha1(f"{notification.bucket}|{notification.function_arn}|{notification.events}".encode())
    return f"s3flow-local-{digest.hexdigest()[:12]}"


def build_event(
    write: ObjectWrite,
    stored: StoredObject,
    *,
    region: str,
    account: str,
    sequencer: str,
    config_id: str,
    event_time: datetime,
) -> dict[str, Any]:
    """The S3 event Lambda receives: one record, exactly AWS's field names."""
    record = s3_record(
        bucket=write.bucket,
        region=region,
        key=write.key,
        size=stored.size,
        event_time=event_time.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.")
        + f"{event_time.microsecond // 1000:03d}Z",
        event_name=write.event_name,
        version_id=write.version_id,
        etag=stored.etag,
        sequencer=sequencer,
        configuration_id=config_id,
        principal=write.principal,
        source_ip=write.source_ip,
        request_id=write.request_id,
        host_id=hashlib.sha256(write.request_id.encode()).hexdigest(),
        owner=f"A{account}",
    )
    return {"Records": [record]}


def moto_lookup(account: str) -> ObjectLookup:
    """Reads the object straight from moto's in-process S3 backend."""

    def lookup(bucket: str, key: str, version_id: str | None) -> StoredObject:
        from moto.s3.models import s3_backends

        stored = s3_backends[account]["aws"].get_object(bucket, key, version_id=version_id)
        if stored is None:
            raise KeyError(f"{bucket}/{key}@{version_id}")
        return StoredObject(size=stored.size, etag=stored.etag.strip('"'), version_id=stored.version_id)

    return lookup


def moto_retype(account: str) -> Retype:
    """Sets the stored object's Content-Type in moto's in-process S3 backend."""

    def retype(bucket: str, key: str, version_id: str | None, content_type: str) -> None:
        from moto.s3.models import s3_backends

        stored = s3_backends[account]["aws"].get_object(bucket, key, version_id=version_id)
        if stored is not None:
            stored.set_metadata({"Content-Type": content_type})

    return retype


class S3Hop:
    """Turns object writes into S3 events for the async invoker: an observer of moto's
    answers, and a route for the uploads moto alone would get wrong (``install``)."""

    def __init__(
        self,
        deployment: Deployment,
        enqueue: Enqueue,
        *,
        lookup: ObjectLookup | None = None,
        retype: Retype | None = None,
        sequencer: Sequencer | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.deployment = deployment
        self.enqueue = enqueue
        self.lookup = lookup or moto_lookup(deployment.account)
        self.retype = retype or moto_retype(deployment.account)
        self.sequencer = sequencer or Sequencer()
        self.clock = clock
        self.middleware: Middleware | None = None

    def install(self, middleware: Middleware) -> None:
        """Observe ``middleware``'s S3 answers and route the uploads that need us first."""
        self.middleware = middleware
        middleware.add_route(self.route)
        middleware.observers.append(self)

    def __call__(self, request: Request, response: ObservedResponse) -> None:
        write = classify(request, response)
        if write is not None:
            self.announce(write)

    def route(self, request: Request) -> Response | None:
        """Answers the uploads moto stores but we cannot observe from its answer alone."""
        if request.method in {"PUT", "POST"} and _is_s3(request):
            target = _bucket_and_key(request)
            refused = key_too_long(target[1]) if target is not None else None
            if refused is not None:
                return refused
        if request.method == "POST" and request.mimetype == "multipart/form-data" and _is_s3(request):
            return self._form_post(request)
        if request.method == "PUT" and request.mimetype in _FORM_TYPES and _is_s3(request):
            return self._form_typed_put(request)
        return None

    def _form_typed_put(self, request: Request) -> Response:
        """A PUT whose body is typed as a form: S3 stores the bytes as sent, and so do we.

        moto would hand the body to werkzeug's form parser and store what is left (nothing),
        so it sees the bytes typed as binary, and the stored object gets its type back."""
        content_type = request.headers.get("Content-Type", "")
        body = request.get_data()
        environ = dict(request.environ)
        environ["CONTENT_TYPE"] = "application/octet-stream"
        response = self._forward(Request(environ), body)
        observed = ObservedResponse(response.status, list(response.headers.items()))
        write = classify(request, observed)
        if write is None:
            return response  # a part, a sub-resource or a failure: no object took the type
        self._after_write(lambda: self._retype_and_announce(write, content_type))
        return response

    def _retype_and_announce(self, write: ObjectWrite, content_type: str) -> None:
        if write.event_name == EVENT_PUT:
            self.retype(write.bucket, write.key, write.version_id, content_type)
        self.announce(write)

    @staticmethod
    def _after_write(step: Callable[[], None]) -> None:
        """Runs what follows a stored write; as for observers, it never breaks the client's
        request (the object is stored by then)."""
        try:
            step()
        except Exception:
            log.exception("could not announce an object write")

    def _form_post(self, request: Request) -> Response:
        body = request.get_data()
        upload = form_upload(request, body)
        refused = key_too_long(upload[1]) if upload is not None else None
        if refused is not None:
            return refused
        response = self._forward(request, body)
        # S3 answers a form POST with 204 (default), 200 or 201, or 303 to the redirect.
        if upload is None or response.status_code not in {200, 201, 204, 303}:
            return response
        bucket, key, principal = upload
        write = ObjectWrite(
            bucket=bucket,
            key=key,
            event_name=EVENT_POST,
            version_id=None,  # moto's answer has none: read back from the stored object
            request_id=response.headers.get("x-amz-request-id") or uuid.uuid4().hex[:16].upper(),
            source_ip=request.remote_addr or "127.0.0.1",
            principal=principal,
        )
        self._after_write(lambda: self.announce(write))
        return response

    def _forward(self, request: Request, body: bytes) -> Response:
        assert self.middleware is not None, "install() the hop before routing through it"
        return self.middleware.forward(request, after=self.route, body=body)

    def announce(self, write: ObjectWrite) -> None:
        """One event per notification of the deployment that matches this write."""
        matching = [
            n
            for n in self.deployment.notifications
            if event_matches(n, write.bucket, write.event_name, write.key)
        ]
        if not matching:
            return
        stored = self.lookup(write.bucket, write.key, write.version_id)
        if write.version_id is None and stored.version_id is not None:
            write = dataclasses.replace(write, version_id=stored.version_id)
        sequencer = self.sequencer.next()
        event_time = self.clock()
        for notification in matching:
            event = build_event(
                write,
                stored,
                region=self.deployment.region,
                account=self.deployment.account,
                sequencer=sequencer,
                config_id=configuration_id(notification),
                event_time=event_time,
            )
            self.enqueue(notification.function_arn, event)
