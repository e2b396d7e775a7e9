"""Lambda's ``Invoke`` API for the local functions, answered in the server's middleware.

``POST /2015-03-31/functions/{name}/invocations``: ``Event`` queues the event (202),
``RequestResponse`` runs it once and returns the result (200, ``X-Amz-Function-Error`` on a
function error), ``DryRun`` answers 204. Payloads over Lambda's limits are refused with
``RequestTooLargeException``. A function that is not ours is left to moto.
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Any, Protocol

from werkzeug.wrappers import Request, Response

from s3flow.local.deployment import FunctionSpec
from s3flow.local.errors import FunctionNotFoundError, RequestTooLargeError
from s3flow.local.lambda_.invocation import Invocation
from s3flow.local.lambda_.sandbox import Outcome


class Invoker(Protocol):
    """What the Invoke API needs of the Lambda runtime, which satisfies it (and imports this
    module to route requests: a Protocol here, not the runtime's class, keeps that one-way)."""

    def resolve(self, name_or_arn: str) -> FunctionSpec: ...

    def enqueue(self, function_name_or_arn: str, event: Any) -> Invocation: ...

    def invoke(self, function_name_or_arn: str, event: Any, timeout: float | None = None) -> Outcome: ...


# Invoke's payload limits: 1 MB asynchronous (Event), 6 MB
# synchronous (RequestResponse) (docs.aws.amazon.com/lambda/latest/dg/API_Invoke.html,
# docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html).
MAX_EVENT_PAYLOAD = 1024 * 1024
MAX_SYNC_PAYLOAD = 6 * 1024 * 1024


def check_async_payload(function_name: str, event: Any) -> None:
    """Refuses an event over the asynchronous limit, measured as its compact JSON, before it
    is queued: whatever hands the runtime an event meets the limit Invoke enforces."""
    size = len(json.dumps(event, separators=(",", ":"), ensure_ascii=False).encode())
    if size > MAX_EVENT_PAYLOAD:
        raise RequestTooLargeError(function_name, size, MAX_EVENT_PAYLOAD)


_INVOKE_PATH = re.compile(r"^/2015-03-31/functions/(?P<name>[^/]+)/invocations/?$")


def route(runtime: Invoker, request: Request) -> Response | None:
    """Answers ``POST /2015-03-31/functions/{name}/invocations`` for our functions."""
    match = _INVOKE_PATH.match(request.path)
    if request.method != "POST" or match is None:
        return None
    try:
        spec = runtime.resolve(match.group("name"))
    except FunctionNotFoundError:
        return None  # not ours: moto answers
    invocation_type = request.headers.get("X-Amz-Invocation-Type", "RequestResponse")
    request_id = str(uuid.uuid4())
    headers = {"x-amzn-RequestId": request_id, "X-Amz-Executed-Version": "$LATEST"}
    if invocation_type == "DryRun":
        return Response(status=204, headers=headers)
    raw = request.get_data()
    limit = MAX_EVENT_PAYLOAD if invocation_type == "Event" else MAX_SYNC_PAYLOAD
    if len(raw) > limit:
        return _lambda_error(
            413,
            "RequestTooLargeException",
            f"Request must be smaller than {limit} bytes for the Invoke operation",
        )
    try:
        event = json.loads(raw) if raw else {}
    except ValueError:
        return _lambda_error(400, "InvalidRequestContentException", "Could not parse request body into json")
    if invocation_type == "Event":
        try:
            invocation = runtime.enqueue(spec.name, event)
        except RequestTooLargeError as error:  # a body under the limit may re-serialize over it
            return _lambda_error(413, "RequestTooLargeException", str(error))
        headers["x-amzn-RequestId"] = invocation.request_id
        return Response(status=202, headers=headers)
    outcome = runtime.invoke(spec.name, event)
    if not outcome.ok:
        headers["X-Amz-Function-Error"] = "Unhandled"
    return Response(json.dumps(outcome.payload), status=200, headers=headers, content_type="application/json")


def _lambda_error(status: int, code: str, message: str) -> Response:
    return Response(
        json.dumps({"Type": "User", "message": message}),
        status=status,
        headers={"x-amzn-ErrorType": code},
        content_type="application/json",
    )
