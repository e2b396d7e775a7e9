"""The S3 -> Lambda hop: S3 event notifications built the way AWS builds them.

moto's own notifications cannot run our function (its Lambda needs Docker) and their
records lack ``versionId`` and ``sequencer`` and encode ``/`` as ``%2F``. So we watch the
server's successful object writes (PutObject, CopyObject, CompleteMultipartUpload, told
apart from other requests by ``s3_writes``) and, for each notification configured in the
deployment that matches, hand the async invoker one record shaped as in AWS's "Event
message structure" (event version 2.1):

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
import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from werkzeug.wrappers import Request, Response

from s3flow.local.deployment import BucketNotification, Deployment
from s3flow.local.event_sources.s3_event_record import s3_record
from s3flow.local.event_sources.s3_writes import (
    EVENT_POST,
    EVENT_PUT,
    FORM_TYPES,
    ObjectWrite,
    bucket_and_key,
    classify,
    form_upload,
    is_s3_request,
    key_too_long,
)
from s3flow.local.server import Middleware, ObservedResponse

log = logging.getLogger(__name__)


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
        if request.method in {"PUT", "POST"} and is_s3_request(request):
            target = bucket_and_key(request)
            refused = key_too_long(target[1]) if target is not None else None
            if refused is not None:
                return refused
        if request.method == "POST" and request.mimetype == "multipart/form-data" and is_s3_request(request):
            return self._form_post(request)
        if request.method == "PUT" and request.mimetype in FORM_TYPES and is_s3_request(request):
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
