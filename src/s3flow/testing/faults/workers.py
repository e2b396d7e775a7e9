"""Worker processes dying mid-invocation: at a chosen point of an invocation, from inside the
worker (``WorkerDeaths``, through the runtime's sandbox start hook and the functions' call
interceptor seam), or at any moment from outside (``WorkerKiller``, SIGKILL)."""

from __future__ import annotations

import hashlib
import os
import random
import signal
import threading
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from s3flow.local import StartHook
from s3flow.testing.faults.seeds import draw, dynamodb_subjects, entry_subject, pick

if TYPE_CHECKING:
    from s3flow.functions.shared.aws_api import JsonApiClient
    from s3flow.local import LocalPipeline

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

    Installed as the function's sandbox start hook (``LambdaRuntime.set_sandbox_start_hook``):
    each new worker calls ``install_worker_hooks``, which adds a call interceptor to the
    functions' AWS client (``aws_api.add_call_interceptor``).
    """

    seed: int
    rate: float
    state_dir: Path
    function_name: str
    points: Sequence[str] = PROCESSOR_POINTS
    how: str = "kill"
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
        if pipeline.runtime is None:
            raise RuntimeError("the local pipeline is not started")
        self.pipeline = pipeline
        Path(self.state_dir).mkdir(parents=True, exist_ok=True)
        hook = StartHook(f"{__name__}:install_worker_hooks", self.settings())
        pipeline.runtime.set_sandbox_start_hook(self.function_name, hook)

    def clear(self) -> None:
        runtime = self.pipeline.runtime if self.pipeline is not None else None
        if runtime is not None:
            runtime.set_sandbox_start_hook(self.function_name, None)

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
        return [entry_subject(entry) for entry in params.get("Entries") or []]
    return dynamodb_subjects(operation, params)


def install_worker_hooks(settings: Mapping[str, Any]) -> None:
    """Runs in the worker (see ``WorkerDeaths``): intercepts the functions' AWS calls so the
    worker dies at the chosen points, and in a publisher notes what each successful
    ``PutEvents`` of the invocation sent (the functions' code is not changed)."""
    from s3flow.functions.shared.aws_api import add_call_interceptor

    faults = WorkerDeaths(
        seed=int(settings["seed"]),
        rate=float(settings["rate"]),
        state_dir=Path(settings["state_dir"]),
        function_name="",
        points=tuple(settings["points"]),
        how=str(settings["how"]),
        name=str(settings["name"]),
    )

    def call(
        client: JsonApiClient, operation: str, params: dict[str, Any], proceed: Callable[[], dict[str, Any]]
    ) -> dict[str, Any]:
        name = f"{client.service.signing_name}:{operation}"
        subjects = _worker_subjects(operation, params)
        if f"before {name}" in faults.points:
            _maybe_die(faults, f"before {name}", subjects)
        noted = operation == "PutEvents" and bool(PUBLISHER_POINTS & set(faults.points))
        with _calls:
            _calls.wait_for(lambda: not _calls.dying)  # a dying worker starts no call
            _calls.in_flight += noted
        try:
            response = proceed()  # raises when the call did not do its work
            if operation == "PutEvents":
                subjects = _accepted(subjects, response)  # dies only for an entry EventBridge accepted
                if noted:
                    _published_in_this_invocation().extend(subjects)
        finally:
            with _calls:
                _calls.in_flight -= noted
                _calls.notify_all()
        if f"after {name}" in faults.points:
            _maybe_die(faults, f"after {name}", subjects)
        return response

    add_call_interceptor(call)


# Subjects of the successful PutEvents calls of the invocation running in this worker,
# keyed by its trace header (the worker sets ``_X_AMZN_TRACE_ID`` anew for every attempt).
_published_now: dict[str, list[str]] = {}


def _published_in_this_invocation() -> list[str]:
    attempt = os.environ.get("_X_AMZN_TRACE_ID", "")
    if attempt not in _published_now:
        _published_now.clear()
        _published_now[attempt] = []
    return _published_now[attempt]


class _Calls(threading.Condition):
    """The worker's noted PutEvents calls in flight (the publisher sends chunks from threads)."""

    in_flight = 0
    dying = 0  # threads about to die once the calls in flight are done


_calls = _Calls()


def _maybe_die(faults: WorkerDeaths, point: str, subjects: Sequence[str]) -> None:
    publishing = point in PUBLISHER_POINTS
    for subject in subjects:
        if faults.point_for(subject) != point:
            continue
        if publishing:
            # Calls of other threads already sent finish first, so what the dying invocation
            # had published is known; no new call starts.
            with _calls:
                _calls.dying += 1
                _calls.wait_for(lambda: _calls.in_flight == 0, timeout=30)
        published = _published_in_this_invocation() if publishing else None
        if _first_time(faults.state_dir, subject, point, published):
            _die(faults.how)
        if publishing:
            with _calls:
                _calls.dying -= 1
                _calls.notify_all()


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
        if ppid == parent and b"s3flow/local/lambda_/sandbox.py" in cmdline:  # the worker's script
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
