"""Helpers for the aws_api client tests: a scripted HTTP server, what it received (and
botocore's view of its signature), a throwaway TLS authority, a client's environment and
an error reply."""

from __future__ import annotations

import http.server
import itertools
import json
import socket
import ssl
import threading
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from s3flow.functions.shared.aws_api.signing import AMZ_DATE_FORMAT
from support.signing import ACCESS_KEY, REGION, SECRET_KEY, sign_with_botocore


def crc32(body: bytes) -> str:
    return str(zlib.crc32(body) & 0xFFFFFFFF)


@dataclass
class Reply:
    """What the scripted server does with one request.

    ``drop``: "before" closes the connection without answering, "mid" sends the headers and
    half the body, then closes; "hang" answers nothing until the server stops.
    """

    status: int = 200
    body: bytes = b"{}"
    headers: dict[str, str] = field(default_factory=dict)
    drop: str | None = None
    close: str | None = None  # then close the connection: "announced" (Connection: close) or "silently"


@dataclass
class Received:
    connection: int  # one number per TCP connection the server accepted
    path: str
    headers: dict[str, str]  # names as sent; the tests look them up case-insensitively below
    body: bytes

    def header(self, name: str) -> str | None:
        return next((value for key, value in self.headers.items() if key.lower() == name.lower()), None)

    def signed_header_names(self) -> list[str]:
        authorization = self.header("Authorization") or ""
        return authorization.split("SignedHeaders=", 1)[1].split(",", 1)[0].split(";")

    def botocore_authorization(self, secret_key: str = SECRET_KEY) -> str:
        """The Authorization botocore computes over the headers this request says it signed."""
        authorization = self.header("Authorization") or ""
        scope = authorization.split("Credential=", 1)[1].split(",", 1)[0]
        access_key, _date, region, signing_name, _ = scope.rsplit("/", 4)
        signed = [name for name in self.signed_header_names() if name != "host"]
        signed_headers = {name: self.header(name) or "" for name in signed}
        signed_headers.pop("x-amz-date")
        token = signed_headers.pop("x-amz-security-token", None)
        now = datetime.strptime(self.header("X-Amz-Date") or "", AMZ_DATE_FORMAT)  # noqa: DTZ007
        headers = sign_with_botocore(
            url=f"http://{self.header('Host')}{self.path}",
            headers=signed_headers,
            body=self.body,
            now=now,
            access_key=access_key,
            secret_key=secret_key,
            session_token=token,
            region=region,
            signing_name=signing_name,
        )
        return headers["Authorization"]


Script = Reply | Callable[[Received], Reply]


class ScriptedServer:
    """An HTTP/1.1 server on 127.0.0.1 answering each request with the next scripted ``Reply``.

    When the script runs out it answers ``default`` (200, ``{}``). Every request is kept in
    ``received`` with the number of the connection it came on.
    """

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        self.script: list[Script] = []
        self.default: Script = Reply()
        self.received: list[Received] = []
        self._lock = threading.Lock()
        self._connections = itertools.count(1)
        self._stopping = threading.Event()
        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.block_on_close = False
        if tls is not None:  # then each accepted connection does the TLS handshake first
            self._server.socket = tls.wrap_socket(self._server.socket, server_side=True)
        self._scheme = "https" if tls is not None else "http"
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.01,), daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"{self._scheme}://127.0.0.1:{self._server.server_port}"

    def then(self, *replies: Script) -> ScriptedServer:
        self.script.extend(replies)
        return self

    @property
    def connections(self) -> list[int]:
        return [request.connection for request in self.received]

    def stop(self) -> None:
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()

    def _next(self, received: Received) -> Reply:
        with self._lock:
            self.received.append(received)
            script = self.script.pop(0) if self.script else self.default
        return script(received) if callable(script) else script

    def _handler_class(self) -> type[http.server.BaseHTTPRequestHandler]:
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            timeout = 10

            def setup(self) -> None:
                super().setup()
                # Headers and body go out in two writes; without this, Nagle holds the body back.
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                self.connection_number = next(server._connections)

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                received = Received(self.connection_number, self.path, dict(self.headers.items()), body)
                reply = server._next(received)
                if reply.drop == "before":
                    self.close_connection = True
                    return
                if reply.drop == "hang":
                    server._stopping.wait(10)
                    self.close_connection = True
                    return
                self.send_response(reply.status)
                headers = {"Content-Type": "application/x-amz-json-1.0", **reply.headers}
                for name, value in headers.items():
                    self.send_header(name, value)
                if reply.drop == "mid":
                    self.send_header("Content-Length", str(len(reply.body) + 100))
                    self.end_headers()
                    self.wfile.write(reply.body[: len(reply.body) // 2])
                    self.close_connection = True
                    return
                self.send_header("Content-Length", str(len(reply.body)))
                if reply.close == "announced":
                    self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(reply.body)
                self.close_connection = reply.close is not None

            def log_message(self, format: str, *args: object) -> None:
                pass

        return Handler


@dataclass
class Observed:
    """What ``JsonApiClient.observers`` were told, one tuple per call."""

    calls: list[tuple[str, str, int, object]] = field(default_factory=list)

    def __call__(self, service: str, operation: str, attempts: int, error: object) -> None:
        self.calls.append((service, operation, attempts, error))


def base_environ(url: str) -> dict[str, str]:
    return {
        "AWS_REGION": REGION,
        "AWS_ACCESS_KEY_ID": ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
        "AWS_ENDPOINT_URL": url,
    }


def error_reply(status: int, code: str, message: str = "message", key: str = "message") -> Reply:
    return Reply(status, json.dumps({"__type": code, key: message}).encode())
