"""Reading an AWS API request: who signed it for which service, which operation, with what input.

The operation comes from where each protocol puts it: the ``X-Amz-Target`` header (JSON), the
``Action`` parameter (query), the path (RPC v2 CBOR), or the method, path, query string and
headers (REST, routed as moto routes them, from botocore's service models, so an S3 request is
read the same way whether the bucket is in the path or in the host).
"""

from __future__ import annotations

import io
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from botocore.exceptions import DataNotFoundError
from moto.core.request import Request as MotoRequest
from moto.core.routing import get_service_router
from moto.core.utils import get_service_model
from werkzeug.exceptions import NotFound
from werkzeug.wrappers import Request

SIGV4 = "AWS4-HMAC-SHA256"
SIGV2 = "AWS"
FORM = "application/x-www-form-urlencoded"


@dataclass(frozen=True)
class Scope:
    """The SigV4 credential: ``AKID/date/region/service/aws4_request``."""

    access_key_id: str
    region: str
    service: str


@dataclass(frozen=True)
class Operation:
    protocol: str
    name: str
    params: Mapping[str, Any]


def credential_scope(request: Request) -> Scope | None:
    """From the ``Authorization`` header, or a presigned URL's ``X-Amz-Credential``; None unsigned.

    Signature version 2 ("AWS AKID:signature", or a URL presigned with ``AWSAccessKeyId``) is
    S3's alone now, and what botocore still presigns S3 URLs with unless told s3v4: it has no
    scope and is read as S3, as moto reads it.
    """
    header = request.headers.get("Authorization", "")
    credential: str | None = None
    if header.startswith(f"{SIGV4} "):
        for part in header[len(SIGV4) :].split(","):
            name, _, value = part.strip().partition("=")
            if name == "Credential":
                credential = value
    elif request.args.get("X-Amz-Algorithm") == SIGV4:
        credential = request.args.get("X-Amz-Credential")
    elif header.startswith(f"{SIGV2} ") or "AWSAccessKeyId" in request.args:
        key = header[len(SIGV2) + 1 :].rpartition(":")[0] if header else request.args["AWSAccessKeyId"]
        return Scope(access_key_id=key, region="", service="s3") if key else None
    parts = (credential or "").split("/")
    if len(parts) != 5 or not parts[0] or parts[4] != "aws4_request":
        return None
    return Scope(access_key_id=parts[0], region=parts[2], service=parts[3].lower())


def body(request: Request) -> bytes:
    """The request's body, read once and kept: werkzeug caches it for ``get_data``, and the
    environ gets a fresh stream of it for whoever reads the environ next (moto)."""
    data = request.get_data(cache=True)
    request.environ["wsgi.input"] = io.BytesIO(data)
    return data


def read_operation(request: Request, service: str) -> Operation | None:
    """The operation the request calls, or None when it names none of its service's."""
    target = request.headers.get("X-Amz-Target")
    if target:
        return Operation("json", target.rpartition(".")[2], _json_object(body(request)))
    if request.headers.get("smithy-protocol") == "rpc-v2-cbor":
        # POST /service/<ServiceName>/operation/<Operation>; the CBOR input is not decoded.
        parts = request.path.split("/")
        if len(parts) == 5 and parts[1] == "service" and parts[3] == "operation":
            return Operation("smithy-rpc-v2-cbor", parts[4], {})
        return None
    if service != "s3":  # an S3 upload's body may well be a form: S3 has no Action parameter
        form = _query_parameters(request)
        if form.get("Action"):
            return Operation("query", form["Action"], form)
    return _rest_operation(request, service)


def _json_object(data: bytes) -> dict[str, Any]:
    try:
        document = json.loads(data) if data else {}
    except ValueError:
        return {}
    return document if isinstance(document, dict) else {}


def _query_parameters(request: Request) -> dict[str, str]:
    """The query string's parameters and, for a form body, the form's (first value of each)."""
    pairs = list(parse_qsl(request.query_string.decode("latin-1"), keep_blank_values=True))
    if request.mimetype == FORM:
        pairs += parse_qsl(body(request).decode("utf-8", errors="replace"), keep_blank_values=True)
    parameters: dict[str, str] = {}
    for name, value in pairs:
        parameters.setdefault(name, value)
    return parameters


def _rest_operation(request: Request, service: str) -> Operation | None:
    """moto's router over botocore's model of ``service``: the operation and its path labels."""
    try:
        model = get_service_model(service)
    except DataNotFoundError:  # botocore has no service by that name
        return None
    if model.protocol not in ("rest-json", "rest-xml"):
        return None
    try:
        operation, labels = get_service_router(service).match(MotoRequest(request.environ))
    except (NotFound, NotImplementedError):
        return None
    return Operation(str(model.protocol), operation.name, labels)
