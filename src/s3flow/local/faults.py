"""Seeded, replayable fault injection for the local pipeline, from outside the processor.

Three places, none of them the code under test:
- a **proxy route** in front of the emulator (``server.Middleware.add_route(first=True)``):
  DynamoDB throttling and 5xx on writes (``DynamoDBWriteFaults``), EventBridge ``PutEvents``
  partial failures (``PutEventsPartialFailures``: the other entries go on to the real
  handler) and outages (``EventBridgeOutage``);
- **a wrapper around the functions' AWS client inside the worker process**, loaded by the
  local runtime through ``lambda_worker.WORKER_HOOK_ENV`` (``WorkerDeaths``): the worker dies
  at a chosen point of an invocation (e.g. right after the DynamoDB write), once per object;
- the **Lambda runtime's queue**: ``EventAgeExpiry`` makes chosen events older than the
  function's maximum event age; ``Redelivery`` schedules duplicate, out-of-order deliveries.

Which objects a fault hits is a function of (seed, fault name, object key) only, never of
arrival order, so a run replays under any concurrency: ``S3FLOW_FAULT_SEED`` overrides the
seed a test picks. Each fault counts what it injected and stops with ``clear()``.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import random
import signal
import threading
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from werkzeug.wrappers import Request, Response

from s3flow import contract
from s3flow.local.lambda_records import Invocation
from s3flow.local.lambda_runtime import Listener
from s3flow.local.lambda_worker import WORKER_HOOK_ENV, Outcome
from s3flow.local.pipeline import objects_in

if TYPE_CHECKING:
    from s3flow.local.pipeline import LocalPipeline

log = logging.getLogger(__name__)

FAULT_SEED_ENV = "S3FLOW_FAULT_SEED"
WORKER_FAULTS_ENV = "S3FLOW_WORKER_FAULTS"  # JSON settings of WorkerDeaths, read in the worker
_DYNAMODB_TARGET = "DynamoDB_20120810."
_PUT_EVENTS_TARGET = "AWSEvents.PutEvents"


def seed_from_env(default: int) -> int:
    """``S3FLOW_FAULT_SEED`` if set (to replay a failed run), else ``default``."""
    given = os.environ.get(FAULT_SEED_ENV, "").strip()
    return int(given) if given else default


def draw(seed: int, fault: str, subject: str) -> float:
    """A number in [0, 1) fixed by (seed, fault, subject): the same on every replay."""
    digest = hashlib.sha256(f"{seed}|{fault}|{subject}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def pick(seed: int, fault: str, subject: str, choices: Sequence[Any]) -> Any:
    return choices[int(draw(seed, fault, subject) * len(choices))]


class _Budget:
    """Per subject, how many more times a fault fires: chosen once by seed, then counted down."""

    def __init__(self, seed: int, fault: str, rate: float, failures: Sequence[int]) -> None:
        self.seed, self.fault, self.rate, self.failures = seed, fault, rate, tuple(failures)
        self._left: dict[str, int] = {}
        self._lock = threading.Lock()

    def chosen(self, subject: str) -> int:
        """How many times the fault fires for ``subject`` in all (0 if it is spared)."""
        if draw(self.seed, self.fault, subject) >= self.rate:
            return 0
        return int(pick(self.seed, f"{self.fault}#count", subject, self.failures))

    def take(self, subject: str) -> bool:
        """True if the fault fires for ``subject`` now (uses one of its failures)."""
        with self._lock:
            left = self._left.setdefault(subject, self.chosen(subject))
            if left <= 0:
                return False
            self._left[subject] = left - 1
            return True


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


def _dynamodb_subjects(operation: str, body: Mapping[str, Any]) -> list[str]:
    """The object keys (else the item keys) a DynamoDB write request touches."""

    def subject(item: Mapping[str, Any]) -> str:
        value = item.get("objectKey") or item.get("requestId") or {}
        return str(value.get("S", "")) if isinstance(value, Mapping) else ""

    if operation == "PutItem":
        return [subject(body.get("Item") or {})]
    if operation == "BatchWriteItem":
        return [
            subject((request.get("PutRequest") or {}).get("Item") or {})
            for requests in (body.get("RequestItems") or {}).values()
            for request in requests
        ]
    return []


def _entry_subject(entry: Mapping[str, Any]) -> str:
    try:
        detail = json.loads(entry.get("Detail") or "{}")
    except ValueError:
        return ""
    return str(detail.get("objectKey") or detail.get("requestId") or "") if isinstance(detail, dict) else ""


class ProxyFault:
    """A fault answered by a route in front of the emulator's other routes and moto."""

    name = "proxy"

    def __init__(self) -> None:
        self.injected = 0
        self.pipeline: LocalPipeline | None = None
        self._lock = threading.Lock()

    def install(self, pipeline: LocalPipeline) -> None:
        self.pipeline = pipeline
        pipeline.server.middleware.add_route(self.route, first=True)

    def clear(self) -> None:
        if self.pipeline is not None:
            self.pipeline.server.middleware.remove_route(self.route)

    def _count(self, times: int = 1) -> None:
        with self._lock:
            self.injected += times

    def route(self, request: Request) -> Response | None:
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
            operation: _Budget(seed, f"{self.name}/{operation}", rate, counts)
            for operation, counts in failures.items()
        }

    def route(self, request: Request) -> Response | None:
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
        hits = [budget.take(subject) for subject in _dynamodb_subjects(operation, body)]
        if not any(hits):
            return None
        self._count()
        if self.after_write:
            assert self.pipeline is not None
            done = self.pipeline.server.middleware.forward(request, after=self.route)
            if done.status_code == 200:
                with self._lock:
                    self.written += 1
        return _json_error(self.status, self.code, f"injected by s3flow.local.faults ({operation})")


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
        self.budget = _Budget(seed, self.name, rate, failures)
        self.exposed: set[str] = set()

    def route(self, request: Request) -> Response | None:
        if request.method != "POST" or request.headers.get("X-Amz-Target") != _PUT_EVENTS_TARGET:
            return None
        assert self.pipeline is not None
        body = _body(request)
        if not isinstance(body, dict):
            return None
        entries = list(body.get("Entries") or [])
        failing = [self.budget.take(_entry_subject(entry)) for entry in entries]
        if not any(failing):
            return None
        self._count(sum(failing))
        first = failing.index(True)
        behind = zip(entries[first + 1 :], failing[first + 1 :], strict=True)
        with self._lock:
            self.exposed.update(_entry_subject(entry) for entry, fails in behind if not fails)
        kept = [entry for entry, fails in zip(entries, failing, strict=True) if not fails]
        forwarded: list[dict[str, Any]] = []
        failed_downstream = 0
        if kept:
            answer = self.pipeline.server.middleware.forward(
                request, after=self.route, body=json.dumps({**body, "Entries": kept}).encode()
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
                code = pick(self.seed, f"{self.name}#code", _entry_subject(entry), self.ERROR_CODES)
                results.append({"ErrorCode": code, "ErrorMessage": "injected by s3flow.local.faults"})
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

    def route(self, request: Request) -> Response | None:
        if request.method != "POST" or request.headers.get("X-Amz-Target") != _PUT_EVENTS_TARGET:
            return None
        with self._lock:
            if self.requests is not None and self.injected >= self.requests:
                return None
            self.injected += 1
        code = "ServiceUnavailable" if self.status == 503 else "InternalException"
        return _json_error(self.status, code, "injected by s3flow.local.faults (outage)")


# -- worker deaths: a wrapper around the functions' AWS client, inside the worker process --

# Points of an invocation where a worker can die, around the functions' calls: the
# processor's (its one write) and the publisher's (its PutEvents). A publisher that dies once
# one of its PutEvents succeeded (right after it, or before a later chunk or retry of the same
# invocation) gets its batch again from the stream and publishes those events again: the
# at-least-once floor of any EventBridge producer (docs/reliability.md).
BEFORE_WRITE = "before dynamodb:PutItem"
AFTER_WRITE = "after dynamodb:PutItem"
BEFORE_PUBLISH = "before events:PutEvents"
AFTER_PUBLISH = "after events:PutEvents"
PROCESSOR_POINTS = (BEFORE_WRITE, AFTER_WRITE)
PUBLISHER_POINTS = frozenset((BEFORE_PUBLISH, AFTER_PUBLISH))


@dataclass
class WorkerDeaths:
    """The worker process dies at ``points`` of the first attempt of chosen objects (once per
    object, remembered in ``state_dir`` across process deaths): ``kill`` is SIGKILL (what
    Lambda does on a timeout or out of memory), ``crash`` an abrupt exit of the runtime.

    Installed as the function's extra environment: ``WORKER_HOOK_ENV`` makes the worker call
    ``install_worker_hooks``, which wraps the functions' AWS client (``JsonApiClient.call``).
    ``environment``: other variables to keep.
    """

    seed: int
    rate: float
    state_dir: Path
    function_name: str
    points: Sequence[str] = PROCESSOR_POINTS
    how: str = "kill"
    environment: Mapping[str, str] = field(default_factory=dict)
    name: str = "worker-deaths"
    pipeline: LocalPipeline | None = None

    def settings(self) -> dict[str, Any]:
        return {
            "seed": self.seed,
            "rate": self.rate,
            "state_dir": str(self.state_dir),
            "points": list(self.points),
            "how": self.how,
            "name": self.name,
        }

    def install(self, pipeline: LocalPipeline) -> None:
        self.pipeline = pipeline
        Path(self.state_dir).mkdir(parents=True, exist_ok=True)
        extra = {
            **self.environment,
            WORKER_HOOK_ENV: f"{__name__}:install_worker_hooks",
            WORKER_FAULTS_ENV: json.dumps(self.settings()),
        }
        pipeline.override_environment(self.function_name, extra)

    def clear(self) -> None:
        if self.pipeline is not None:
            self.pipeline.override_environment(self.function_name, dict(self.environment) or None)

    def point_for(self, subject: str) -> str | None:
        """Where the worker dies for ``subject``, or None if it is spared."""
        if draw(self.seed, self.name, subject) >= self.rate:
            return None
        return str(pick(self.seed, f"{self.name}#point", subject, list(self.points)))

    @property
    def injected(self) -> int:
        return sum(1 for _ in Path(self.state_dir).glob("*.died"))

    def died_for(self) -> list[str]:
        """``"<subject>\t<point>"`` of each death so far."""
        return sorted(path.read_text("utf-8") for path in Path(self.state_dir).glob("*.died"))

    def published_by_dead_invocations(self) -> list[list[str]]:
        """Per death of a publisher (either point): the subjects of the entries every
        successful ``PutEvents`` of the dying invocation had sent (earlier chunks and retries
        included). Their batch is delivered again, so each of these is published once more
        per death it appears in."""
        return [
            [line for line in path.read_text("utf-8").splitlines() if line]
            for path in sorted(Path(self.state_dir).glob("*.published"))
        ]


def _worker_subjects(operation: str, params: Mapping[str, Any]) -> list[str]:
    if operation == "PutEvents":
        return [_entry_subject(entry) for entry in params.get("Entries") or []]
    return _dynamodb_subjects(operation, params)


def install_worker_hooks() -> None:
    """Runs in the worker (see ``WorkerDeaths``): wraps ``JsonApiClient.call`` so the worker
    dies at the chosen points, and in a publisher notes what each successful ``PutEvents`` of
    the invocation sent (the functions' code is not changed)."""
    from s3flow.functions.shared.aws_api import JsonApiClient

    settings = json.loads(os.environ[WORKER_FAULTS_ENV])
    faults = WorkerDeaths(
        seed=int(settings["seed"]),
        rate=float(settings["rate"]),
        state_dir=Path(settings["state_dir"]),
        function_name="",
        points=tuple(settings["points"]),
        how=str(settings["how"]),
        name=str(settings["name"]),
    )
    original = JsonApiClient.call

    def call(client: JsonApiClient, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        name = f"{client.service.signing_name}:{operation}"
        subjects = _worker_subjects(operation, params)
        if f"before {name}" in faults.points:
            _maybe_die(faults, f"before {name}", subjects)
        response = original(client, operation, params)  # raises when the call did not do its work
        if operation == "PutEvents":
            subjects = _accepted(subjects, response)  # dies only for an entry EventBridge accepted
            if PUBLISHER_POINTS & set(faults.points):
                _published_in_this_invocation().extend(subjects)
        if f"after {name}" in faults.points:
            _maybe_die(faults, f"after {name}", subjects)
        return response

    JsonApiClient.call = call  # type: ignore[method-assign,assignment]


# Subjects of the successful PutEvents calls of the invocation running in this worker,
# keyed by its trace header (the worker sets ``_X_AMZN_TRACE_ID`` anew for every attempt).
_published_now: dict[str, list[str]] = {}


def _published_in_this_invocation() -> list[str]:
    attempt = os.environ.get("_X_AMZN_TRACE_ID", "")
    if attempt not in _published_now:
        _published_now.clear()
        _published_now[attempt] = []
    return _published_now[attempt]


def _maybe_die(faults: WorkerDeaths, point: str, subjects: Sequence[str]) -> None:
    published = _published_in_this_invocation() if point in PUBLISHER_POINTS else None
    for subject in subjects:
        chosen = faults.point_for(subject) == point
        if chosen and _first_time(faults.state_dir, subject, point, published):
            _die(faults.how)


def _accepted(subjects: Sequence[str], parsed: Any) -> list[str]:
    """The subjects of the entries a PutEvents answer accepted (an ``EventId``, no ``ErrorCode``)."""
    results = (parsed or {}).get("Entries") if isinstance(parsed, Mapping) else None
    if not isinstance(results, list):
        return list(subjects)
    return [
        subject
        for subject, result in zip(subjects, results, strict=False)
        if isinstance(result, Mapping) and result.get("EventId") and not result.get("ErrorCode")
    ]


def _first_time(state_dir: Path, subject: str, point: str, published: Sequence[str] | None = None) -> bool:
    name = hashlib.sha256(subject.encode("utf-8")).hexdigest()[:32]
    try:
        descriptor = os.open(state_dir / f"{name}.died", os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:
        return False
    if published is not None:  # a publisher: what the dying invocation had already sent
        (state_dir / f"{name}.published").write_text("".join(f"{s}\n" for s in published), "utf-8")
    with os.fdopen(descriptor, "w", encoding="utf-8") as marker:
        marker.write(f"{subject}\t{point}")
    return True


def _die(how: str) -> None:
    if how == "crash":
        os._exit(70)  # the runtime ends without unwinding, as a crash of the interpreter would
    os.kill(os.getpid(), signal.SIGKILL)


def worker_processes(parent: int | None = None) -> list[int]:
    """Process ids of this process's Lambda worker children (Linux ``/proc``)."""
    parent = os.getpid() if parent is None else parent
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == parent and b"s3flow.local.lambda_worker" in cmdline:
            found.append(int(entry.name))
    return sorted(found)


class WorkerKiller:
    """SIGKILL to a worker process from outside, ``kills`` times, every ``period`` seconds
    (seeded jitter), whatever it is doing: mid-request, mid-retry, between calls. Timing
    is not replayable; the seed fixes the schedule and which worker is picked."""

    name = "worker-killer"

    def __init__(self, *, seed: int, kills: int, period: float = 0.3) -> None:
        self.seed, self.kills, self.period = seed, kills, period
        self.injected = 0
        self.killed: Counter[str] = Counter()  # kills per function name
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def install(self, pipeline: LocalPipeline) -> None:
        self._thread = threading.Thread(target=self._run, name="fault-worker-killer", daemon=True)
        self._thread.start()

    def clear(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _run(self) -> None:
        rng = random.Random(f"{self.seed}|{self.name}")
        while self.injected < self.kills and not self._stop.wait(self.period * (0.5 + rng.random())):
            workers = worker_processes()
            if not workers:
                continue
            victim = rng.choice(workers)
            function = _function_of(victim)
            try:
                os.kill(victim, signal.SIGKILL)
            except ProcessLookupError:
                continue
            self.injected += 1
            self.killed[function] += 1


def _function_of(pid: int) -> str:
    """The Lambda function a worker process runs (its ``AWS_LAMBDA_FUNCTION_NAME``)."""
    try:
        environ = (Path("/proc") / str(pid) / "environ").read_bytes()
    except OSError:
        return "?"
    for variable in environ.split(b"\0"):
        name, _, value = variable.partition(b"=")
        if name == b"AWS_LAMBDA_FUNCTION_NAME":
            return value.decode("utf-8", "replace")
    return "?"


# -- the Lambda queue: event age and redelivery --------------------------------------------


class _AgingListener(Listener):
    def __init__(self, inner: Listener, fault: EventAgeExpiry) -> None:
        self.inner, self.fault = inner, fault

    def queued(self, invocation: Invocation) -> None:
        self.fault.maybe_expire(invocation)
        self.inner.queued(invocation)

    def succeeded(self, invocation: Invocation, outcome: Outcome) -> None:
        self.inner.succeeded(invocation, outcome)

    def retrying(self, invocation: Invocation, outcome: Outcome, delay: float) -> None:
        self.inner.retrying(invocation, outcome, delay)

    def failed(self, invocation: Invocation, condition: str) -> None:
        self.inner.failed(invocation, condition)


class EventAgeExpiry:
    """Events of chosen objects reach the function's queue already older than its maximum
    event age (as after hours of throttling on AWS): Lambda drops them to the failure
    destination without an attempt. Only asynchronous invocations that carry S3 records."""

    name = "event-age"

    def __init__(self, *, seed: int, rate: float) -> None:
        self.seed, self.rate = seed, rate
        self.injected = 0
        self.active = False
        self._lock = threading.Lock()
        self._listener: _AgingListener | None = None
        self.pipeline: LocalPipeline | None = None

    def install(self, pipeline: LocalPipeline) -> None:
        runtime = pipeline.runtime
        if runtime is None:
            raise RuntimeError("the local pipeline is not started")
        self.pipeline = pipeline
        self._listener = _AgingListener(runtime.listener, self)
        runtime.listener = self._listener
        self.active = True

    def clear(self) -> None:
        self.active = False
        runtime = self.pipeline.runtime if self.pipeline is not None else None
        if runtime is not None and self._listener is not None and runtime.listener is self._listener:
            runtime.listener = self._listener.inner

    def expires(self, key: str) -> bool:
        """True if events carrying ``key`` are aged (the seed's choice)."""
        return draw(self.seed, self.name, key) < self.rate

    def maybe_expire(self, invocation: Invocation) -> None:
        if not self.active or not invocation.asynchronous:
            return
        if not any(self.expires(key) for _, key, _ in objects_in(invocation.event)):
            return
        invocation.received_at -= invocation.function.async_config.maximum_event_age_seconds + 1
        with self._lock:
            self.injected += 1


@dataclass
class Redelivery:
    """Duplicate, out-of-order deliveries of the records S3 already delivered.

    ``rounds(records)``: ``copies`` rounds; each holds every record once, in a seeded
    shuffled order, packed ``per_event`` records to a Lambda event. Rounds may be delivered
    one at a time or all at once (copies of a record then run side by side).
    """

    seed: int
    copies: int = 2
    per_event: int = 3
    name: str = "redelivery"
    injected: int = 0
    cleared: bool = False

    def rounds(self, records: Iterable[Mapping[str, Any]]) -> Iterator[list[dict[str, Any]]]:
        pool = [dict(record) for record in records]
        rng = random.Random(f"{self.seed}|{self.name}")
        for _ in range(self.copies):
            if self.cleared:
                return
            order = pool[:]
            rng.shuffle(order)
            self.injected += len(order)
            yield [
                {"Records": order[start : start + self.per_event]}
                for start in range(0, len(order), self.per_event)
            ]

    def clear(self) -> None:
        self.cleared = True


# -- counting the promise --------------------------------------------------------------------


ObjectVersion = tuple[str, str | None]  # (key, version id)


@dataclass
class Ledger:
    """What the pipeline holds for a set of uploaded object versions, counted.

    The promise: each uploaded version ends as exactly one SUCCESS record and one success
    event, or as a retained failure (then: no event, at most one record). A failure is
    retained in the processor's failure queue (the S3 event, not yet recorded: no record) or
    in the publisher's (a stream batch holding the record, not yet announced: one record, no
    event; ``unpublished``). ``lost``: neither. ``duplicated``: more than one record or event
    (``duplicate_records`` / ``duplicate_events`` tell which). ``strays``: records or events
    of no uploaded version (error items included).
    """

    uploaded: list[ObjectVersion]
    records: dict[ObjectVersion, list[dict[str, Any]]] = field(default_factory=dict)
    events: dict[ObjectVersion, list[dict[str, Any]]] = field(default_factory=dict)
    failures: dict[ObjectVersion, list[dict[str, Any]]] = field(default_factory=dict)
    strays: list[str] = field(default_factory=list)

    def recorded(self, version: ObjectVersion) -> bool:
        (record, *more), events = self.records.get(version) or [{}], self.events.get(version) or []
        return (
            not more
            and record.get("status") == "SUCCESS"
            and len(events) == 1
            and events[0].get("status") == "SUCCESS"
        )

    def retained(self, version: ObjectVersion) -> bool:
        records = self.records.get(version) or []
        return bool(self.failures.get(version)) and not self.events.get(version) and len(records) <= 1

    @property
    def lost(self) -> list[ObjectVersion]:
        return [
            v for v in self.uploaded if not self.recorded(v) and not self.retained(v) and not self._extra(v)
        ]

    @property
    def duplicated(self) -> list[ObjectVersion]:
        return [v for v in self.uploaded if self._extra(v)]

    @property
    def failed(self) -> list[ObjectVersion]:
        return [v for v in self.uploaded if self.retained(v)]

    def _extra(self, version: ObjectVersion) -> bool:
        return len(self.records.get(version) or []) > 1 or len(self.events.get(version) or []) > 1

    @property
    def duplicate_records(self) -> list[ObjectVersion]:
        return [v for v in self.uploaded if len(self.records.get(v) or []) > 1]

    @property
    def duplicate_events(self) -> list[ObjectVersion]:
        return [v for v in self.uploaded if len(self.events.get(v) or []) > 1]

    @property
    def extra_events(self) -> int:
        """Events beyond the first, over every uploaded version."""
        return sum(max(0, len(self.events.get(v) or []) - 1) for v in self.uploaded)

    @property
    def unpublished(self) -> list[ObjectVersion]:
        """Retained by the publisher: recorded once, no event, its stream batch or its entry in
        the publisher's failure queue (the rest of ``failed`` wait, unrecorded, in the processor's)."""
        return [
            v
            for v in self.failed
            if len(self.records.get(v) or []) == 1 and all(map(_from_publisher, self.failures[v]))
        ]

    def retained_messages(self, *, publisher: bool) -> int:
        """Distinct messages holding retained versions in one failure queue: the publisher's
        (a stream batch may hold many versions) or the processor's."""
        return len(
            {
                json.dumps(body, sort_keys=True, default=str)
                for version in self.failed
                for body in self.failures[version]
                if _from_publisher(body) == publisher
            }
        )

    @property
    def stale(self) -> list[ObjectVersion]:
        """Recorded, yet also in the failure queue: a failure nothing will clear but a redrive."""
        return [v for v in self.uploaded if self.recorded(v) and self.failures.get(v)]

    def holds(self) -> bool:
        return not self.lost and not self.duplicated and not self.strays and not self.stale

    def summary(self) -> str:
        return (
            f"uploaded {len(self.uploaded)}, recorded {sum(map(self.recorded, self.uploaded))}, "
            f"lost {len(self.lost)}, duplicated {len(self.duplicated)}, failed {len(self.failed)}, "
            f"strays {len(self.strays)}, stale failures {len(self.stale)}"
            + (f"; lost: {self.lost[:5]}" if self.lost else "")
            + (f"; duplicated: {self.duplicated[:5]}" if self.duplicated else "")
            + (f"; strays: {self.strays[:5]}" if self.strays else "")
        )


def count(uploaded: Sequence[ObjectVersion], *, endpoint_url: str, outputs: Mapping[str, str]) -> Ledger:
    """Scans the table, reads the event log group and peeks at both failure queues."""
    import boto3

    from s3flow.functions.shared.dynamodb_json import from_dynamo
    from s3flow.streams import stream_records

    def client(service: str) -> Any:
        return boto3.client(service, endpoint_url=endpoint_url, region_name="us-east-1")

    ledger = Ledger(list(uploaded))
    wanted = set(uploaded)

    def file(into: dict[ObjectVersion, list[dict[str, Any]]], found: Mapping[str, Any], what: str) -> None:
        version = (str(found.get("objectKey", "")), found.get("versionId"))
        if version in wanted:
            into.setdefault(version, []).append(dict(found))
        else:
            ledger.strays.append(f"{what} {found.get('requestId')} {found.get('objectKey')!r}")

    dynamodb = client("dynamodb")
    for page in dynamodb.get_paginator("scan").paginate(TableName=outputs["DynamoDBTableName"]):
        for item in page["Items"]:
            file(ledger.records, from_dynamo(item), "record")
    logs = client("logs")
    for page in logs.get_paginator("filter_log_events").paginate(logGroupName=outputs["EventLogGroupName"]):
        for event in page["events"]:
            message = json.loads(event["message"])
            detail = message.get("detail", message) if isinstance(message, dict) else {}
            file(ledger.events, detail, "event")
    sqs = client("sqs")
    for body in _messages(sqs, outputs["FailureQueueUrl"]):
        for _, key, version_id in objects_in(body.get("requestPayload")):
            if (key, version_id) in wanted:
                ledger.failures.setdefault((key, version_id), []).append(body)
            else:
                ledger.strays.append(f"failure {key!r}")
    streams = client("dynamodbstreams")
    for body in _messages(sqs, outputs["PublisherFailureQueueUrl"]):
        kept = body.get(contract.UNPUBLISHED_EVENT_MESSAGE)
        if isinstance(kept, dict):  # an entry the publisher kept itself
            images = [json.loads(kept["entry"]["Detail"])]
        else:  # a stream batch's position: its records, read back
            batch = stream_records(streams, body.get("DDBStreamBatchInfo") or {})
            images = [from_dynamo(record["dynamodb"].get("NewImage") or {}) for record in batch]
        for image in images:
            version = (str(image.get("objectKey", "")), image.get("versionId"))
            if version in wanted:
                ledger.failures.setdefault(version, []).append(body)
            else:
                ledger.strays.append(f"unpublished {image.get('requestId')} {image.get('objectKey')!r}")
    return ledger


def _from_publisher(body: Mapping[str, Any]) -> bool:
    """A message of the publisher's failure queue: a stream batch's position, or a kept entry."""
    return "DDBStreamBatchInfo" in body or contract.UNPUBLISHED_EVENT_MESSAGE in body


def _messages(sqs: Any, url: str) -> list[dict[str, Any]]:
    """Every message body of a queue, left in it.

    Each message is hidden while reading (a peek with visibility 0 may return the same ten
    messages every time: moto does), then all are made visible again.
    """
    received: dict[str, dict[str, Any]] = {}
    while True:
        answer = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=60)
        messages = [m for m in answer.get("Messages", []) if m["MessageId"] not in received]
        if not messages:
            break
        received.update((m["MessageId"], m) for m in messages)
    for message in received.values():
        sqs.change_message_visibility(
            QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
        )
    return [json.loads(message["Body"]) for message in received.values()]
