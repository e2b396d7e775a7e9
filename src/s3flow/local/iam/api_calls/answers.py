"""The access-denied answer of each service, in its protocol, as its clients parse it.

The message is AWS's: "User: <principal> is not authorized to perform: <action> on resource:
<resource> because <reason>", with "on resource: ..." left out for "*" and no "because" before
a reason that reads "with an explicit deny ...". Some services spell it their own way: SQS
writes the action in lower case, SNS its prefix in upper case, S3 quotes the resource.
"""

from __future__ import annotations

import json
import uuid
import zlib
from dataclasses import dataclass, field
from xml.sax.saxutils import escape

from werkzeug.wrappers import Response

from s3flow.local.iam.api_calls.model import ApiCall, Authorization

CORAL_ACCESS_DENIED = "com.amazon.coral.service#AccessDeniedException"


@dataclass(frozen=True)
class Refusal:
    status: int
    code: str  # what the client reports as the error code
    type: str = ""  # the JSON "__type", when it is not ``code``
    message_key: str = "message"
    # awsQueryCompatible services (SQS, CloudWatch) name their query-protocol code in a header
    # of their JSON answers, which botocore reports as the code.
    query_compatible: bool = False
    extra: dict[str, str] = field(default_factory=dict)


DEFAULT_JSON = Refusal(400, "AccessDeniedException")
# DynamoDB's denials: {"__type": "com.amazon.coral.service#AccessDeniedException", "Message": ...}, 400.
JSON_REFUSALS = {
    "dynamodb": Refusal(400, "AccessDeniedException", CORAL_ACCESS_DENIED, "Message"),
    "sqs": Refusal(403, "AccessDenied", CORAL_ACCESS_DENIED, query_compatible=True),
    "monitoring": Refusal(403, "AccessDenied", CORAL_ACCESS_DENIED, query_compatible=True),
}
JSON_VERSIONS = {"dynamodb": "1.0", "sqs": "1.0", "monitoring": "1.0"}  # the others speak 1.1
# Query protocol: an ErrorResponse document, 403.
QUERY_CODES = {"sns": "AuthorizationError"}
QUERY_NAMESPACES = {
    "sqs": "http://queue.amazonaws.com/doc/2012-11-05/",
    "sns": "http://sns.amazonaws.com/doc/2010-03-31/",
    "monitoring": "http://monitoring.amazonaws.com/doc/2010-08-01/",
    "sts": "https://sts.amazonaws.com/doc/2011-06-15/",
}
# REST JSON (Lambda, X-Ray): the code in x-amzn-ErrorType; Lambda's body is {"Type": "User", "Message": ...}.
REST_JSON_REFUSALS = {
    "lambda": Refusal(403, "AccessDeniedException", message_key="Message", extra={"Type": "User"})
}
DEFAULT_REST_JSON = Refusal(403, "AccessDeniedException")


def message(call: ApiCall, *, principal: str, authorization: Authorization, reason: str) -> str:
    action = spelled(call.service, authorization.action)
    reason = reason.replace(authorization.action, action)
    text = f"User: {principal} is not authorized to perform: {action}"
    if authorization.resource != "*":
        resource = f'"{authorization.resource}"' if call.service == "s3" else authorization.resource
        text += f" on resource: {resource}"
    return f"{text} {reason}" if reason.startswith("with ") else f"{text} because {reason}"


def spelled(service: str, action: str) -> str:
    """The action as the service writes it in its denials ("sqs:sendmessage", "SNS:Publish")."""
    if service == "sqs":
        return action.lower()
    if service == "sns":
        return "SNS:" + action.partition(":")[2]
    return action


def access_denied(call: ApiCall, *, principal: str, authorization: Authorization, reason: str) -> Response:
    text = message(call, principal=principal, authorization=authorization, reason=reason)
    request_id = str(uuid.uuid4())
    if call.protocol == "json":
        return _json(call, text, request_id)
    if call.protocol == "query":
        return _query(call, text, request_id)
    if call.protocol == "smithy-rpc-v2-cbor":
        return _cbor(call, text, request_id)
    if call.protocol == "rest-xml":
        return _s3(call, text, request_id)
    return _rest_json(call, text, request_id)


def _json(call: ApiCall, text: str, request_id: str) -> Response:
    refusal = JSON_REFUSALS.get(call.service, DEFAULT_JSON)
    payload = json.dumps({"__type": refusal.type or refusal.code, refusal.message_key: text}).encode()
    headers = {
        "Content-Type": f"application/x-amz-json-{JSON_VERSIONS.get(call.service, '1.1')}",
        "x-amzn-RequestId": request_id,
    }
    if refusal.query_compatible:
        headers["x-amzn-query-error"] = f"{refusal.code};Sender"
    if call.service == "dynamodb":  # DynamoDB checksums every answer; its clients check it
        headers["x-amz-crc32"] = str(zlib.crc32(payload) & 0xFFFFFFFF)
    return Response(payload, status=refusal.status, headers=headers)


def _query(call: ApiCall, text: str, request_id: str) -> Response:
    namespace = QUERY_NAMESPACES.get(call.service)
    root = f'<ErrorResponse xmlns="{namespace}">' if namespace else "<ErrorResponse>"
    document = (
        f"{root}<Error><Type>Sender</Type><Code>{QUERY_CODES.get(call.service, 'AccessDenied')}</Code>"
        f"<Message>{escape(text)}</Message></Error><RequestId>{request_id}</RequestId></ErrorResponse>"
    )
    return Response(
        document, status=403, headers={"Content-Type": "text/xml", "x-amzn-RequestId": request_id}
    )


def _cbor(call: ApiCall, text: str, request_id: str) -> Response:
    refusal = JSON_REFUSALS.get(call.service, DEFAULT_JSON)
    headers = {
        "Content-Type": "application/cbor",
        "smithy-protocol": "rpc-v2-cbor",
        "x-amzn-RequestId": request_id,
    }
    if refusal.query_compatible:
        headers["x-amzn-query-error"] = f"{refusal.code};Sender"
    payload = _cbor_text_map({"__type": refusal.type or refusal.code, "message": text})
    return Response(payload, status=refusal.status, headers=headers)


def _s3(call: ApiCall, text: str, request_id: str) -> Response:
    headers = {"x-amz-request-id": request_id, "x-amz-id-2": request_id}
    if call.operation in ("HeadObject", "HeadBucket"):  # a HEAD answer has no body: clients see "403"
        return Response(b"", status=403, headers=headers)
    document = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>AccessDenied</Code><Message>{escape(text)}</Message>"
        f"<RequestId>{request_id}</RequestId><HostId>{request_id}</HostId></Error>"
    )
    return Response(document, status=403, headers={**headers, "Content-Type": "application/xml"})


def _rest_json(call: ApiCall, text: str, request_id: str) -> Response:
    refusal = REST_JSON_REFUSALS.get(call.service, DEFAULT_REST_JSON)
    payload = json.dumps({**refusal.extra, refusal.message_key: text})
    headers = {
        "Content-Type": "application/json",
        "x-amzn-ErrorType": refusal.code,
        "x-amzn-RequestId": request_id,
    }
    return Response(payload, status=refusal.status, headers=headers)


def _cbor_text_map(items: dict[str, str]) -> bytes:
    """A CBOR map of text strings (RFC 8949): all an error body needs."""
    encoded = bytearray(_cbor_head(5, len(items)))
    for text in (part for pair in items.items() for part in pair):
        data = text.encode()
        encoded += _cbor_head(3, len(data)) + data
    return bytes(encoded)


def _cbor_head(major: int, length: int) -> bytes:
    if length < 24:
        return bytes([major << 5 | length])
    for extra, size in ((24, 1), (25, 2), (26, 4)):
        if length < 1 << (8 * size):
            return bytes([major << 5 | extra]) + length.to_bytes(size, "big")
    return bytes([major << 5 | 27]) + length.to_bytes(8, "big")
