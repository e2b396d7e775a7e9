"""Requests exactly as real clients send them, without a network: botocore's (captured at its
``before-send`` event) and the functions' JSON client's (captured at ``http.client``), turned
into the werkzeug requests the emulator's middleware sees; and the emulator's answers fed back
into those clients' parsers."""

from __future__ import annotations

import http.client
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any
from unittest import mock
from urllib.parse import urlsplit

import botocore.session
from botocore.awsrequest import AWSPreparedRequest, AWSResponse
from botocore.config import Config
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request, Response

from s3flow.local.credentials import role_access_key_id

ACCOUNT = "123456789012"
REGION = "us-east-1"
ENDPOINT = "http://127.0.0.1:4566"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/TapStack-ProcessorRole"
ACCESS_KEY = role_access_key_id(ROLE_ARN, "processor")
PRINCIPAL = f"arn:aws:sts::{ACCOUNT}:assumed-role/TapStack-ProcessorRole/processor"

_session = botocore.session.Session()  # one, so that each service model is loaded once


class _Sent(Exception):
    """Raised at ``before-send``: the request is captured and goes nowhere."""


def wsgi_request(method: str, url: str, headers: Mapping[str, str | bytes], body: bytes) -> Request:
    """The request as werkzeug's server hands it to the middleware (RAW_URI included)."""
    parts = urlsplit(url)
    environ = EnvironBuilder(
        method=method,
        base_url=f"{parts.scheme}://{parts.netloc}",
        path=parts.path,
        query_string=parts.query,
        headers=[
            (name, value.decode() if isinstance(value, bytes) else value) for name, value in headers.items()
        ],
        data=body,
    ).get_environ()
    environ["RAW_URI"] = environ["REQUEST_URI"] = parts.path + (f"?{parts.query}" if parts.query else "")
    return Request(environ)


def _body(prepared: AWSPreparedRequest) -> bytes:
    body = prepared.body
    if hasattr(body, "read"):
        body = body.read()
    if isinstance(body, str):
        body = body.encode()
    return body or b""


def botocore_client(
    service: str, *, endpoint_url: str | None = ENDPOINT, config: Config | None = None
) -> Any:
    """A botocore client signing with a sandbox role's access key id."""
    return _session.create_client(
        service,
        region_name=REGION,
        endpoint_url=endpoint_url,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key="testing",
        aws_session_token="testing",
        config=(config or Config()).merge(Config(retries={"total_max_attempts": 1})),
    )


def sent_by_botocore(client: Any, operation: str, **params: Any) -> Request:
    """The request ``client.<operation>(**params)`` sends."""
    sent: list[Request] = []

    def capture(request: AWSPreparedRequest, **_: Any) -> None:
        sent.append(wsgi_request(request.method, request.url, dict(request.headers.items()), _body(request)))
        raise _Sent

    client.meta.events.register("before-send", capture)
    try:
        getattr(client, operation)(**params)
    except _Sent:
        pass
    finally:
        client.meta.events.unregister("before-send", capture)
    (request,) = sent
    return request


def answered_to_botocore(client: Any, operation: str, answer: Response, **params: Any) -> Any:
    """What ``client.<operation>(**params)`` returns (or raises) when the emulator answers ``answer``."""

    def respond(request: AWSPreparedRequest, **_: Any) -> AWSResponse:
        return AWSResponse(
            request.url, answer.status_code, dict(answer.headers.items()), _Raw(answer.get_data())
        )

    client.meta.events.register("before-send", respond)
    try:
        return getattr(client, operation)(**params)
    finally:
        client.meta.events.unregister("before-send", respond)


class _Raw:
    """The raw body botocore reads an AWSResponse's content from."""

    def __init__(self, data: bytes) -> None:
        self._data = data

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._data


class _Reply:
    """What http.client.HTTPConnection.getresponse gives the functions' client."""

    def __init__(self, answer: Response) -> None:
        self.status = answer.status_code
        self.will_close = False
        self._headers = {name.lower(): value for name, value in answer.headers.items()}
        self._data = answer.get_data()

    def getheader(self, name: str, default: str | None = None) -> str | None:
        return self._headers.get(name.lower(), default)

    def read(self) -> bytes:
        return self._data


@contextmanager
def http_client_exchanges(
    answer: Callable[[Request], Response] = lambda _request: Response(b"{}", status=200),
) -> Iterator[list[Request]]:
    """The requests http.client is asked to send in the block, each answered by ``answer``
    instead of a server: the functions' client goes through http.client alone."""
    sent: list[Request] = []
    answers: list[Response] = []

    def request(
        connection: http.client.HTTPConnection,
        method: str,
        url: str,
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        **_: Any,
    ) -> None:
        sent.append(
            wsgi_request(
                method, f"http://{connection.host}:{connection.port}{url}", headers or {}, body or b""
            )
        )
        answers.append(answer(sent[-1]))

    def getresponse(_connection: http.client.HTTPConnection) -> _Reply:
        return _Reply(answers.pop(0))

    with (
        mock.patch.object(http.client.HTTPConnection, "request", request),
        mock.patch.object(http.client.HTTPConnection, "getresponse", getresponse),
    ):
        yield sent
