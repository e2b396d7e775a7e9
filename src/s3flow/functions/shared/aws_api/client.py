"""One service's JSON API over a kept-alive connection: signed calls, AWS's errors, retries."""

from __future__ import annotations

import http.client
import json
import os
import ssl
import threading
import weakref
import zlib
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from s3flow.functions.shared.aws_api.errors import CRC32_MISMATCH, ApiCallError
from s3flow.functions.shared.aws_api.services import Endpoint, Service, endpoint_for, region_from
from s3flow.functions.shared.aws_api.signing import Credentials, signed_headers
from s3flow.functions.shared.backoff import Backoff
from s3flow.functions.shared.errors import ConfigurationError

USER_AGENT = "s3flow-aws-api/1"
TIMEOUT_SECONDS = 10.0  # connect and each read; a call that long is better failed and retried

TRANSPORT_ERROR = "TransportError"  # ``code`` of a call that got no HTTP response
INVALID_RESPONSE = "InvalidResponse"  # a 2xx whose body is not a JSON object (a proxy's page, ...)
# A kept-alive connection the other end had closed: nothing of the request was read.
_STALE_CONNECTION = (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError)

# One TLS context for every HTTPS connection of the process, made on the first one: building
# one loads the CA bundle (tens of ms; more on a small Lambda), which http.client would do again
# for each new connection and reconnect. None until then, so HTTP-only (local) runs never pay.
_shared_tls_context: ssl.SSLContext | None = None
_shared_tls_lock = threading.Lock()


# Called after each call with (service signing name, operation, attempts, error or None).
CallObserver = Callable[[str, str, int, "ApiCallError | None"], None]
# Wraps every call of every client of the process: given (client, operation, params, proceed),
# returns the response, normally ``proceed()``'s (the call itself, retries included). A seam
# for observing or disturbing the functions' calls from outside their code (fault injection
# in tests); none is installed in Lambda, where ``call`` pays one empty-list check.
CallInterceptor = Callable[
    ["JsonApiClient", str, dict[str, Any], Callable[[], dict[str, Any]]], dict[str, Any]
]
_call_interceptors: list[CallInterceptor] = []


def add_call_interceptor(interceptor: CallInterceptor) -> None:
    """Wraps every later call of this process's clients; the latest added is the outermost."""
    _call_interceptors.insert(0, interceptor)


def remove_call_interceptor(interceptor: CallInterceptor) -> None:
    if interceptor in _call_interceptors:
        _call_interceptors.remove(interceptor)


class JsonApiClient:
    """``call("PutItem", {...})`` returns the parsed response or raises ``ApiCallError``.

    Credentials and the region are read from the environment Lambda sets; the endpoint from
    the same variables botocore reads, so a local emulator works the same way. Safe to share
    between threads: calls take turns on the one connection, or, with
    ``connection_per_thread``, each thread keeps its own (the publisher's concurrent chunks),
    all made with the process's one TLS context.
    """

    def __init__(
        self,
        service: Service,
        *,
        environ: Mapping[str, str] = os.environ,
        backoff: Backoff | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        connection_per_thread: bool = False,
    ) -> None:
        self.service = service
        self.region = region_from(environ)
        self.endpoint: Endpoint = endpoint_for(service, self.region, environ)
        self._environ = environ
        self._backoff = backoff or Backoff(attempts=max_attempts(service, environ))
        self._clock = clock
        self._shared = _Slot()
        # Per thread: its slot, made on its first call; all of them, to close them.
        self._per_thread: threading.local | None = threading.local() if connection_per_thread else None
        self._slots: weakref.WeakSet[_Slot] = weakref.WeakSet([self._shared])
        self._slots_lock = threading.Lock()
        self.observers: list[CallObserver] = []

    def call(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        if _call_interceptors:
            return self._call_intercepted(list(_call_interceptors), operation, params)
        return self._call(operation, params)

    def _call_intercepted(
        self, interceptors: list[CallInterceptor], operation: str, params: dict[str, Any]
    ) -> dict[str, Any]:
        """The first interceptor around the rest of them, the innermost around the call."""
        if not interceptors:
            return self._call(operation, params)
        outer, inner = interceptors[0], interceptors[1:]
        return outer(self, operation, params, lambda: self._call_intercepted(inner, operation, params))

    def _call(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        body = json.dumps(params, separators=(",", ":")).encode()
        attempt = 0
        while True:
            attempt += 1
            try:
                response = self._send(operation, body)
            except ApiCallError as error:
                if error.retryable and attempt < self._backoff.attempts:
                    self._backoff.pause(attempt - 1)
                    continue
                self._tell(operation, attempt, error)
                raise
            self._tell(operation, attempt, None)
            return response

    def close(self) -> None:
        """Closes every connection: the shared one and each thread's (call it when none is in use)."""
        with self._slots_lock:
            slots = list(self._slots)
        for slot in slots:
            with slot.lock:
                slot.drop()

    def _slot(self) -> _Slot:
        if self._per_thread is None:
            return self._shared
        slot: _Slot | None = getattr(self._per_thread, "slot", None)
        if slot is None:
            slot = self._per_thread.slot = _Slot()
            with self._slots_lock:
                self._slots.add(slot)
        return slot

    def _send(self, operation: str, body: bytes) -> dict[str, Any]:
        headers = signed_headers(
            credentials=self._credentials(),
            region=self.region,
            signing_name=self.service.signing_name,
            host=self.endpoint.host,
            path=self.endpoint.path,
            headers={
                "Content-Type": f"application/x-amz-json-{self.service.json_version}",
                "X-Amz-Target": f"{self.service.target_prefix}.{operation}",
            },
            body=body,
            now=self._clock(),
        )
        headers["User-Agent"] = USER_AGENT
        headers.update(_recursion_detection(self._environ))
        slot = self._slot()
        with slot.lock:
            reused = slot.connection is not None
            try:
                try:
                    reply, payload = self._exchange(slot, body, headers)
                except _STALE_CONNECTION:
                    if not reused:
                        raise
                    # The service closed the idle kept-alive connection before reading this
                    # request: send it again once on a new one, as urllib3 does, not as a retry.
                    slot.drop()
                    reply, payload = self._exchange(slot, body, headers)
            except (OSError, http.client.HTTPException) as error:
                slot.drop()  # a half-used connection is never reused
                raise ApiCallError(operation, TRANSPORT_ERROR, f"{type(error).__name__}: {error}") from error
            if reply.will_close:
                slot.drop()
        return _parse(
            operation, reply.status, reply.getheader("x-amz-crc32"), payload, self.service.checks_crc32
        )

    def _exchange(
        self, slot: _Slot, body: bytes, headers: dict[str, str]
    ) -> tuple[http.client.HTTPResponse, bytes]:
        connection = slot.connection or self._connect(slot)
        connection.request("POST", self.endpoint.path, body=body, headers=headers)
        reply = connection.getresponse()
        return reply, reply.read()

    def _connect(self, slot: _Slot) -> http.client.HTTPConnection:
        if self.endpoint.scheme == "https":
            slot.connection = http.client.HTTPSConnection(
                self.endpoint.host, timeout=TIMEOUT_SECONDS, context=shared_tls_context()
            )
        else:
            slot.connection = http.client.HTTPConnection(self.endpoint.host, timeout=TIMEOUT_SECONDS)
        return slot.connection

    def _credentials(self) -> Credentials:
        # Read per call: cheap, and Lambda's variables are the only source this client knows.
        access_key = self._environ.get("AWS_ACCESS_KEY_ID")
        secret_key = self._environ.get("AWS_SECRET_ACCESS_KEY")
        if not access_key or not secret_key:
            raise ConfigurationError(
                "no AWS credentials: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are unset (Lambda sets them)"
            )
        return Credentials(access_key, secret_key, self._environ.get("AWS_SESSION_TOKEN") or None)

    def _tell(self, operation: str, attempts: int, error: ApiCallError | None) -> None:
        for observer in self.observers:
            observer(self.service.signing_name, operation, attempts, error)


class _Slot:
    """A kept-alive connection (None until the first call) and the lock its calls take turns on."""

    def __init__(self) -> None:
        self.connection: http.client.HTTPConnection | None = None
        self.lock = threading.Lock()

    def drop(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None


def shared_tls_context() -> ssl.SSLContext:
    """The process's TLS context, built on first use."""
    global _shared_tls_context
    with _shared_tls_lock:
        if _shared_tls_context is None:
            _shared_tls_context = _https_context()
        return _shared_tls_context


def _https_context() -> ssl.SSLContext:
    """What ``HTTPSConnection`` builds when given no context, so verification is unchanged.

    The default trust store, as ``ssl.create_default_context`` loads it (``SSL_CERT_FILE`` and
    ``SSL_CERT_DIR`` honoured), certificate and host name checked; ALPN and post-handshake
    authentication set as http.client sets them.
    """
    context = ssl.create_default_context()
    context.set_alpn_protocols(["http/1.1"])
    if context.post_handshake_auth is not None:
        context.post_handshake_auth = True
    return context


def max_attempts(service: Service, environ: Mapping[str, str]) -> int:
    """``AWS_MAX_ATTEMPTS`` (attempts in all, as botocore reads it), else the service's default."""
    value = environ.get("AWS_MAX_ATTEMPTS")
    if not value:
        return service.max_attempts
    if not value.isdigit() or int(value) < 1:
        raise ConfigurationError(f"AWS_MAX_ATTEMPTS must be a whole number of at least 1, not {value!r}")
    return int(value)


def _parse(
    operation: str, status: int, crc32: str | None, payload: bytes, check_crc32: bool
) -> dict[str, Any]:
    if check_crc32 and crc32 is not None and str(zlib.crc32(payload) & 0xFFFFFFFF) != crc32:
        raise ApiCallError(
            operation, CRC32_MISMATCH, f"response body does not match x-amz-crc32 {crc32}", status
        )
    try:
        document = json.loads(payload) if payload else {}
    except ValueError:
        document = None
    if status < 300:
        if not isinstance(document, dict):  # never taken for a success
            raise ApiCallError(operation, INVALID_RESPONSE, f"not a JSON object: {payload[:200]!r}", status)
        return document
    if not isinstance(document, dict):
        document = {"message": payload[:200].decode(errors="replace")}
    # "__type" is "namespace#Code", "Code", or either followed by ":<url>", as botocore reads it;
    # the message key's case varies by service.
    code = str(document.get("__type") or f"HTTP{status}").split(":", 1)[0].rsplit("#", 1)[-1]
    message = str(document.get("message") or document.get("Message") or "")
    raise ApiCallError(operation, code, message, status, document)


def _recursion_detection(environ: Mapping[str, str]) -> dict[str, str]:
    """botocore's header: inside Lambda, each call carries the invocation's trace id (unsigned)."""
    trace_id = environ.get("_X_AMZN_TRACE_ID")
    if "AWS_LAMBDA_FUNCTION_NAME" in environ and trace_id:
        return {"X-Amzn-Trace-Id": quote(trace_id, safe="-=;:+&[]{}\"',")}
    return {}
