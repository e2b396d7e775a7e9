"""The IAM interceptor alone, in process: microseconds per request it describes and evaluates.

Each request is signed as a function's sandbox signs it (SigV4 with its role session's access
key id), by botocore, captured at ``before-send`` so nothing is sent, and turned into the WSGI
request the emulator's middleware hands its interceptors. The enforcer is the pipeline's
(``IamEnforcer`` over the deployment a benchmark pipeline provisioned), so every request walks
the template's real policies to an Allow. The loop is pure: no socket, no moto.
"""

from __future__ import annotations

import contextlib
import io
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import botocore.session
from botocore.awsrequest import AWSPreparedRequest
from botocore.config import Config
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from bench.stats import median
from s3flow import contract
from s3flow.local.credentials import DUMMY_CREDENTIALS, role_access_key_id
from s3flow.local.deployment import Deployment, FunctionSpec
from s3flow.local.iam.api_calls import ApiCall, access_key_id, describe
from s3flow.local.iam.enforcement import IamEnforcer

ENDPOINT = "http://127.0.0.1:4566"  # only written into the requests; nothing listens
ITERATIONS = 2000
REPEATS = 5
PUT_EVENTS_ENTRIES = 10  # a full PutEvents call, as the publisher makes them in a burst


@dataclass(frozen=True)
class RequestCost:
    label: str
    authorizations: str  # what the request was described as: "action on resource", ...
    total_us: float  # the interceptor's whole call: key lookup, describe, evaluate
    describe_us: float  # ``describe`` alone
    evaluated: bool  # signed by a role session (else passed unevaluated)
    allowed: bool

    @property
    def operation(self) -> str:
        return self.label.split(",")[0].split(" (")[0]

    @property
    def evaluate_us(self) -> float:
        return max(0.0, self.total_us - self.describe_us)


@dataclass(frozen=True)
class _Sample:
    label: str
    environ: dict[str, Any]
    body: bytes

    def request(self) -> Request:
        return Request({**self.environ, "wsgi.input": io.BytesIO(self.body)})


class _Captured(Exception):
    """Raised at ``before-send``: the request is kept and goes nowhere."""


def _signed(
    service: str, operation: str, params: Mapping[str, Any], *, access_key: str, region: str
) -> tuple[dict[str, Any], bytes]:
    session = botocore.session.Session()
    client = session.create_client(
        service,
        region_name=region,
        endpoint_url=ENDPOINT,
        aws_access_key_id=access_key,
        aws_secret_access_key=DUMMY_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        aws_session_token=DUMMY_CREDENTIALS["AWS_SESSION_TOKEN"],
        config=Config(retries={"total_max_attempts": 1}, s3={"addressing_style": "path"}),
    )
    kept: list[tuple[dict[str, Any], bytes]] = []

    def capture(request: AWSPreparedRequest, **_: Any) -> None:
        body = request.body.read() if hasattr(request.body, "read") else request.body
        data = body.encode() if isinstance(body, str) else (body or b"")
        kept.append((_environ(request.method, request.url, dict(request.headers.items()), data), data))
        raise _Captured

    client.meta.events.register("before-send", capture)
    with contextlib.suppress(_Captured):
        getattr(client, operation)(**params)
    (found,) = kept
    return found


def _environ(method: str, url: str, headers: Mapping[str, str | bytes], body: bytes) -> dict[str, Any]:
    """The WSGI environ werkzeug's server builds for the request (RAW_URI included)."""
    parts = urlsplit(url)
    environ = EnvironBuilder(
        method=method,
        base_url=f"{parts.scheme}://{parts.netloc}",
        path=parts.path,
        query_string=parts.query,
        headers=[(k, v.decode() if isinstance(v, bytes) else v) for k, v in headers.items()],
        data=body,
    ).get_environ()
    environ["RAW_URI"] = environ["REQUEST_URI"] = parts.path + (f"?{parts.query}" if parts.query else "")
    return environ


def _short(arn: str) -> str:
    """``table/NAME`` for ``arn:aws:dynamodb:REGION:ACCOUNT:table/NAME``, ``BUCKET/KEY`` for S3."""
    return arn.split(":", 5)[-1] if arn.startswith("arn:") else arn


def _function(deployment: Deployment, handler: str) -> FunctionSpec:
    found = [spec for spec in deployment.functions.values() if spec.handler == handler and spec.role_arn]
    if not found:
        raise LookupError(f"no function with handler {handler} and a role in the deployment")
    return found[0]


def samples(deployment: Deployment) -> list[_Sample]:
    """PutItem and GetObject as the processor signs them, PutEvents as the publisher does, and an
    upload signed with the developer's credentials (what the interceptor passes unevaluated)."""
    processor = _function(deployment, contract.HANDLER)
    publisher = _function(deployment, contract.PUBLISHER_HANDLER)
    assert processor.role_arn is not None and publisher.role_arn is not None
    processor_key = role_access_key_id(processor.role_arn, processor.name)
    publisher_key = role_access_key_id(publisher.role_arn, publisher.name)
    table = processor.environment[contract.ENV_TABLE_NAME]
    bus = publisher.environment[contract.ENV_EVENT_BUS_NAME]
    bucket = deployment.outputs["S3BucketName"]
    item = {
        name: {"S": f"{name}-value-0123456789"}
        for name in ("pk", "objectKey", "bucket", "versionId", "eTag", "eventTime", "state", "traceId")
    } | {"size": {"N": "1024"}}
    detail = json.dumps({"objectKey": "bench/1.json", "bucket": bucket, "size": 1024, "state": "SUCCESS"})
    entry = {"Source": "s3flow", "DetailType": "ObjectProcessed", "Detail": detail, "EventBusName": bus}
    region = deployment.region
    made: list[tuple[str, str, str, dict[str, Any], str]] = [
        ("PutItem (processor)", "dynamodb", "put_item", {
            "TableName": table, "Item": item, "ConditionExpression": "attribute_not_exists(#pk)",
            "ExpressionAttributeNames": {"#pk": "pk"}, "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }, processor_key),
        (f"PutEvents, {PUT_EVENTS_ENTRIES} entries (publisher)", "events", "put_events",
         {"Entries": [entry] * PUT_EVENTS_ENTRIES}, publisher_key),
        ("GetObject, version pinned (processor)", "s3", "get_object",
         {"Bucket": bucket, "Key": "bench/000001.json", "VersionId": "3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY"},
         processor_key),
        ("PutObject, developer's credentials (passed unevaluated)", "s3", "put_object",
         {"Bucket": bucket, "Key": "bench/000001.json", "Body": b'{"bench": true}'},
         DUMMY_CREDENTIALS["AWS_ACCESS_KEY_ID"]),
    ]  # fmt: skip
    out = []
    for label, service, operation, params, key in made:
        environ, body = _signed(service, operation, params, access_key=key, region=region)
        out.append(_Sample(label, environ, body))
    return out


def _per_call_us(call: Callable[[Request], object], sample: _Sample, iterations: int) -> float:
    """Microseconds of CPU per call over ``iterations`` fresh requests (built before the clock starts)."""
    requests = [sample.request() for _ in range(iterations)]
    started = time.thread_time()  # CPU: the neighbours' load takes the core away, not this thread's work
    for request in requests:
        call(request)
    return (time.thread_time() - started) * 1e6 / iterations


def measure(
    deployment: Deployment, iterations: int = ITERATIONS, repeats: int = REPEATS
) -> list[RequestCost]:
    """The median over ``repeats`` loops of ``iterations`` calls, whole interceptor and describe
    alone interleaved."""
    enforcer = IamEnforcer(deployment)

    def describe_only(request: Request) -> ApiCall | None:
        return describe(request, account=deployment.account, region=deployment.region)

    costs = []
    for sample in samples(deployment):
        key = access_key_id(sample.request())
        evaluated = key is not None and key in enforcer.sessions
        call = describe_only(sample.request())
        answer = enforcer(sample.request())
        totals, described = [], []
        for _ in range(repeats):
            totals.append(_per_call_us(enforcer, sample, iterations))
            if evaluated:  # the interceptor describes only what a role session signed
                described.append(_per_call_us(describe_only, sample, iterations))
        shown = ", ".join(f"{a.action} on {_short(a.resource)}" for a in call.authorizations) if call else "-"
        costs.append(
            RequestCost(
                sample.label, shown if evaluated else "-", median(totals),
                median(described) if described else 0.0, evaluated, answer is None,
            )
        )  # fmt: skip
    return costs
