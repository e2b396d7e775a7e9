"""Faults answered in front of the emulator: DynamoDB write errors and EventBridge
``PutEvents`` partial failures and outages, through the middleware's interceptor seam
(``server.Middleware.add_interceptor``), so the functions see them as AWS's answers."""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from werkzeug.wrappers import Request, Response

from s3flow.testing.faults.seeds import Budget, dynamodb_subjects, entry_subject, pick

if TYPE_CHECKING:
    from s3flow.local import LocalPipeline

_DYNAMODB_TARGET = "DynamoDB_20120810."
_PUT_EVENTS_TARGET = "AWSEvents.PutEvents"


def _body(request: Request) -> Any:
    """The JSON body, read so that moto (or the next route) can still read it after us."""
    data = request.get_data()
    request.environ["wsgi.input"] = io.BytesIO(data)
    request.environ["CONTENT_LENGTH"] = str(len(data))
    try:
        return json.loads(data or b"{}")
    except ValueError:
        return None


def _json_error(status: int, code: str, message: str) -> Response:
    return Response(
        json.dumps({"__type": code, "message": message}),
        status=status,
        headers={"x-amzn-ErrorType": code},
        content_type="application/x-amz-json-1.0",
    )


class ProxyFault:
    """A fault answered by an interceptor in front of the emulator's routes and moto."""

    name = "proxy"

    def __init__(self) -> None:
        self.injected = 0
        self.pipeline: LocalPipeline | None = None
        self._lock = threading.Lock()

    def install(self, pipeline: LocalPipeline) -> None:
        self.pipeline = pipeline
        pipeline.server.middleware.add_interceptor(self.intercept)

    def clear(self) -> None:
        if self.pipeline is not None:
            self.pipeline.server.middleware.remove_interceptor(self.intercept)

    def _count(self, times: int = 1) -> None:
        with self._lock:
            self.injected += times

    def intercept(self, request: Request) -> Response | None:
        raise NotImplementedError


class DynamoDBWriteFaults(ProxyFault):
    """Writes of chosen objects fail ``n`` times (n picked per object from ``failures``)
    with ``status``/``code``: ProvisionedThroughputExceededException (400), or a 5xx.

    ``failures`` per operation: a count above every retry budget (botocore's attempts ×
    Lambda's attempts) sends the object to the failure queue. ``after_write``: the write
    reaches the table first and only its answer is the error (a 5xx whose work was done;
    the client cannot tell it from one that did nothing).
    """

    def __init__(
        self,
        *,
        seed: int,
        rate: float,
        failures: Mapping[str, Sequence[int]],
        status: int = 400,
        code: str = "ProvisionedThroughputExceededException",
        after_write: bool = False,
    ) -> None:
        super().__init__()
        self.name = f"dynamodb-{code}" + ("-after-write" if after_write else "")
        self.status, self.code, self.after_write = status, code, after_write
        self.written = 0  # writes that reached the table before their error answer
        self.budgets = {
            operation: Budget(seed, f"{self.name}/{operation}", rate, counts)
            for operation, counts in failures.items()
        }

    def intercept(self, request: Request) -> Response | None:
        target = request.headers.get("X-Amz-Target", "")
        if request.method != "POST" or not target.startswith(_DYNAMODB_TARGET):
            return None
        operation = target[len(_DYNAMODB_TARGET) :]
        budget = self.budgets.get(operation)
        if budget is None:
            return None
        body = _body(request)
        if not isinstance(body, dict):
            return None
        hits = [budget.take(subject) for subject in dynamodb_subjects(operation, body)]
        if not any(hits):
            return None
        self._count()
        if self.after_write:
            assert self.pipeline is not None
            done = self.pipeline.server.middleware.forward(request, after=self.intercept)
            if done.status_code == 200:
                with self._lock:
                    self.written += 1
        return _json_error(self.status, self.code, f"injected by s3flow.testing.faults ({operation})")


def throttling(*, seed: int, rate: float, failures: Mapping[str, Sequence[int]]) -> DynamoDBWriteFaults:
    return DynamoDBWriteFaults(seed=seed, rate=rate, failures=failures)


def server_errors(
    *,
    seed: int,
    rate: float,
    failures: Mapping[str, Sequence[int]],
    status: int = 500,
    after_write: bool = False,
) -> DynamoDBWriteFaults:
    code = "InternalServerError" if status == 500 else "ServiceUnavailable"
    return DynamoDBWriteFaults(
        seed=seed, rate=rate, failures=failures, status=status, code=code, after_write=after_write
    )


class PutEventsPartialFailures(ProxyFault):
    """A 200 with ``FailedEntryCount``: entries of chosen objects fail ``n`` times each with
    an ``ErrorCode``; the other entries of the same request go on to the real handler.

    ``exposed``: subjects accepted in a request in which an earlier entry failed. A stream
    publisher that retries its batch from the earliest failed record gets those again, and
    sends them again unless it remembers having sent them.
    """

    name = "putevents-partial"
    ERROR_CODES = ("InternalFailure", "ThrottlingException")

    def __init__(self, *, seed: int, rate: float, failures: Sequence[int]) -> None:
        super().__init__()
        self.seed = seed
        self.budget = Budget(seed, self.name, rate, failures)
        self.exposed: set[str] = set()

    def intercept(self, request: Request) -> Response | None:
        if request.method != "POST" or request.headers.get("X-Amz-Target") != _PUT_EVENTS_TARGET:
            return None
        assert self.pipeline is not None
        body = _body(request)
        if not isinstance(body, dict):
            return None
        entries = list(body.get("Entries") or [])
        failing = [self.budget.take(entry_subject(entry)) for entry in entries]
        if not any(failing):
            return None
        self._count(sum(failing))
        first = failing.index(True)
        behind = zip(entries[first + 1 :], failing[first + 1 :], strict=True)
        with self._lock:
            self.exposed.update(entry_subject(entry) for entry, fails in behind if not fails)
        kept = [entry for entry, fails in zip(entries, failing, strict=True) if not fails]
        forwarded: list[dict[str, Any]] = []
        failed_downstream = 0
        if kept:
            answer = self.pipeline.server.middleware.forward(
                request, after=self.intercept, body=json.dumps({**body, "Entries": kept}).encode()
            )
            if answer.status_code != 200:
                return answer  # the real handler refused the request as a whole: pass that on
            result = json.loads(answer.get_data())
            forwarded = list(result.get("Entries") or [])
            failed_downstream = int(result.get("FailedEntryCount") or 0)
        results: list[dict[str, Any]] = []
        downstream = iter(forwarded)
        for entry, fails in zip(entries, failing, strict=True):
            if fails:
                code = pick(self.seed, f"{self.name}#code", entry_subject(entry), self.ERROR_CODES)
                results.append({"ErrorCode": code, "ErrorMessage": "injected by s3flow.testing.faults"})
            else:
                results.append(next(downstream, {}))
        payload = {"FailedEntryCount": sum(failing) + failed_downstream, "Entries": results}
        return Response(json.dumps(payload), status=200, content_type="application/x-amz-json-1.1")


class EventBridgeOutage(ProxyFault):
    """Every ``PutEvents`` answered with ``status`` (500 or 503) until ``clear()``, or only the
    first ``requests`` of them when given."""

    name = "eventbridge-outage"

    def __init__(self, *, status: int = 503, requests: int | None = None) -> None:
        super().__init__()
        self.status = status
        self.requests = requests

    def intercept(self, request: Request) -> Response | None:
        if request.method != "POST" or request.headers.get("X-Amz-Target") != _PUT_EVENTS_TARGET:
            return None
        with self._lock:
            if self.requests is not None and self.injected >= self.requests:
                return None
            self.injected += 1
        code = "ServiceUnavailable" if self.status == 503 else "InternalException"
        return _json_error(self.status, code, "injected by s3flow.testing.faults (outage)")
