"""3b. What IAM enforcement costs the local pipeline: throughput with it on against off, in one run.

``LocalPipeline(enforce_iam=True)`` puts an ``IamEnforcer`` in front of every request (each
request a sandbox signs with its role's key is described and evaluated against the template's
policies) and checks deliveries between services against resource policies;
``enforce_iam=False`` turns both off. Each round runs one burst of each side through a fresh
pipeline with ``e2e.run_level`` (the same warm-up, idle samples and burst as section 3), the
order alternating from round to round (on, off; off, on; ...), so drift on this shared machine
falls on both sides alike; the ratio is read per round and over the rounds' medians.

During each burst a counting wrapper stands in the middleware's interceptor list where the
enforcer stood (a pass-through on the off side, so both sides pay for the wrapper): it counts
the requests the interceptor saw, those it evaluated, the policy evaluations made for them
and those made for deliveries, and the enforcer's thread CPU. The second table is the
interceptor alone, in process (``bench.iam_requests``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from werkzeug.wrappers import Request, Response

from bench import e2e, iam_requests, paths
from bench.report import Table, ms, x
from bench.stats import median, ratio

DEFAULT_OBJECTS = 200
DEFAULT_ROUNDS = 4
CONCURRENCY = 4
IDLE_SAMPLES = 5
WARMUP_OBJECTS = 20
GOAL = 0.90  # on / off: enforcement may cost the local pipeline at most a tenth of its throughput
ON, OFF = "enforcement on", "enforcement off"


@dataclass
class Counts:
    requests: int = 0  # every request the interceptor saw
    evaluated: int = 0  # of those, signed by a role session and evaluated (one check or more)
    authorizations: int = 0  # policy evaluations made for those requests
    deliveries: int = 0  # policy evaluations made elsewhere: deliveries, destinations, alarms
    interceptor_cpu_s: float = 0.0  # this process's CPU inside the interceptor
    delivery_cpu_s: float = 0.0  # and inside the delivery checks


class _Counter:
    """A ``BurstObserver``: wraps the interceptor (and the authorizer's ``check``) for the burst."""

    def __init__(self) -> None:
        self.counts = Counts()
        self.deployment: Any = None
        self._lock = threading.Lock()
        self._inside = threading.local()
        self._wrapper: Callable[[Request], Response | None] | None = None
        self._undo: list[Callable[[], None]] = []

    def burst_started(self, pipeline: Any) -> None:
        self.deployment = pipeline.deployment
        middleware, enforcer = pipeline.server.middleware, pipeline.iam
        inner = enforcer if enforcer is not None else _pass_through
        wrapper = self._counting(inner)
        if enforcer is not None:
            index = middleware.interceptors.index(enforcer)
            middleware.interceptors[index] = wrapper
            self._undo.append(lambda: middleware.interceptors.__setitem__(index, enforcer))
            authorizer = enforcer.authorizer
            authorizer.check = self._counting_check(authorizer.check)  # an instance attribute
            self._undo.append(lambda: delattr(authorizer, "check"))
        else:
            middleware.add_interceptor(wrapper)
            self._undo.append(lambda: middleware.remove_interceptor(wrapper))

    def burst_ended(self, pipeline: Any) -> None:
        while self._undo:
            self._undo.pop()()

    def _counting(self, inner: Callable[[Request], Response | None]) -> Callable[[Request], Response | None]:
        counts, lock, inside = self.counts, self._lock, self._inside

        def interceptor(request: Request) -> Response | None:
            inside.checks = 0
            started = time.thread_time()
            try:
                return inner(request)
            finally:
                spent = time.thread_time() - started
                with lock:
                    counts.requests += 1
                    counts.evaluated += 1 if inside.checks else 0
                    counts.authorizations += inside.checks
                    counts.interceptor_cpu_s += spent
                inside.checks = None

        return interceptor

    def _counting_check(self, check: Callable[..., Any]) -> Callable[..., Any]:
        counts, lock, inside = self.counts, self._lock, self._inside

        def counted(*args: Any, **kwargs: Any) -> Any:
            if getattr(inside, "checks", None) is not None:  # a request's, in the interceptor
                inside.checks += 1
                return check(*args, **kwargs)
            started = time.thread_time()
            try:
                return check(*args, **kwargs)
            finally:
                spent = time.thread_time() - started
                with lock:
                    counts.deliveries += 1
                    counts.delivery_cpu_s += spent

        return counted


def _pass_through(_request: Request) -> Response | None:
    return None


@dataclass
class Round:
    number: int
    enforce: bool
    level: e2e.Level
    counts: Counts

    def per_object(self, value: float) -> float:
        return value / self.level.objects if self.level.objects else float("nan")

    @property
    def rate(self) -> float:
        return self.level.objects / self.level.seconds if self.level.objects and self.level.seconds else 0.0

    @property
    def emulator_cpu_ms(self) -> float:
        return self.per_object(self.level.emulator_cores * self.level.seconds * 1000)

    @property
    def enforcer_cpu_ms(self) -> float:
        return self.per_object((self.counts.interceptor_cpu_s + self.counts.delivery_cpu_s) * 1000)

    @property
    def delivery_cpu_ms(self) -> float:
        return self.per_object(self.counts.delivery_cpu_s * 1000)


@dataclass
class Result:
    objects: int
    concurrency: int
    rounds: list[Round] = field(default_factory=list)
    micro: list[iam_requests.RequestCost] = field(default_factory=list)
    micro_error: str = ""

    def side(self, enforce: bool) -> list[Round]:
        return [r for r in self.rounds if r.enforce == enforce and r.rate]

    def rate(self, enforce: bool) -> float:
        return median([r.rate for r in self.side(enforce)])

    def ratio(self) -> float:
        return ratio(self.rate(True), self.rate(False))

    def paired(self) -> list[float]:
        """on / off within each round where both sides finished."""
        by = {(r.number, r.enforce): r for r in self.rounds if r.rate}
        numbers = sorted({r.number for r in self.rounds})
        return [by[n, True].rate / by[n, False].rate for n in numbers if (n, True) in by and (n, False) in by]

    def median_of(self, enforce: bool, value: Callable[[Round], float]) -> float:
        return median([value(r) for r in self.side(enforce)])


def measure(
    objects: int, rounds: int, scratch: Path, concurrency: int = CONCURRENCY, idle_samples: int = IDLE_SAMPLES
) -> Result:
    result = Result(objects, concurrency)
    # One burst first, not counted: the first pipeline of a process loads moto's services and
    # compiles the sandboxes' bytecode, which would weigh on whichever side came first.
    counter = _Counter()
    try:
        e2e.run_level("warm-up", paths.CLOUD_ASSEMBLY, concurrency, WARMUP_OBJECTS, 0, scratch / "pycache",
                      observer=counter)  # fmt: skip
    except Exception as error:
        print(f"  warm-up burst failed: {type(error).__name__}: {error}")
    deployment = counter.deployment
    for number in range(rounds):
        for enforce in (True, False) if number % 2 == 0 else (False, True):
            counter = _Counter()
            label = ON if enforce else OFF
            try:
                level = e2e.run_level(
                    label, paths.CLOUD_ASSEMBLY, concurrency, objects, idle_samples, scratch / "pycache",
                    enforce_iam=enforce, observer=counter,
                )  # fmt: skip
            except Exception as error:  # one broken round must not lose the others
                level = e2e.Level(label, concurrency, error=f"{type(error).__name__}: {error}")
            result.rounds.append(Round(number, enforce, level, counter.counts))
            print(f"  round {number + 1}/{rounds}, {label}: {level.objects} objects in {level.seconds:.1f} s")
            deployment = deployment or counter.deployment
    if deployment is None:
        result.micro_error = "no pipeline started: nothing to evaluate against"
    else:
        try:
            result.micro = iam_requests.measure(deployment)
        except Exception as error:
            result.micro_error = f"{type(error).__name__}: {error}"
    return result


def _us(value: float) -> str:
    return f"{value:,.1f} µs"


def table(result: Result) -> Table:
    rounds = len({r.number for r in result.rounds})
    t = Table(
        f"IAM enforcement on against off through the local pipeline ({result.objects:,} objects per burst, "
        f"concurrency {result.concurrency}, {rounds} rounds interleaved; objects/s is the median of the "
        "rounds' bursts, the ratio that of the medians; per object: counted during the burst)",
        ["design", "objects/s", "each round", "burst: upload to event p50", "idle: upload to event p50",
         "emulator CPU/object", "requests through the interceptor/object", "evaluated/object",
         "policy evaluations/object: requests", "deliveries", "enforcer CPU/object", "of which deliveries",
         "failed", "note"],
    )  # fmt: skip
    for enforce in (True, False):
        done = result.side(enforce)
        label = ON if enforce else OFF
        if not done:
            error = next((r.level.error for r in result.rounds if r.enforce == enforce and r.level.error), "")
            t.add(label, "failed", *[""] * 11, error or "")
            continue

        def per(name: str, done: list[Round] = done) -> float:
            return median([r.per_object(getattr(r.counts, name)) for r in done])

        t.add(
            label, f"{result.rate(enforce):,.1f}", ", ".join(f"{r.rate:,.1f}" for r in done),
            ms(median([v for r in done for v in r.level.event_ms])),
            ms(median([v for r in done for v in r.level.idle_event_ms])),
            ms(result.median_of(enforce, lambda r: r.emulator_cpu_ms)),
            f"{per('requests'):.2f}", f"{per('evaluated'):.2f}", f"{per('authorizations'):.2f}",
            f"{per('deliveries'):.2f}",
            ms(result.median_of(enforce, lambda r: r.enforcer_cpu_ms)) if enforce else "",
            ms(result.median_of(enforce, lambda r: r.delivery_cpu_ms)) if enforce else "",
            sum(r.level.failed for r in done),
            "; ".join(sorted({r.level.error or "" for r in result.rounds if r.enforce == enforce} - {""})),
        )  # fmt: skip
    paired = result.paired()
    if paired:
        t.add(
            "ratio on / off", x(result.ratio()), ", ".join(x(v) for v in paired),
            *[""] * 10,
            f"per round: median {x(median(paired))}, range {x(min(paired))} to {x(max(paired))}",
        )  # fmt: skip
    if any(r.level.policy_dropped for r in result.rounds):
        t.notes.append(
            "The stack's TLS-only bucket policy was removed before uploading: moto enforces "
            "`aws:SecureTransport` and the local endpoint is plain HTTP."
        )
    return t


def micro_table(result: Result) -> Table:
    t = Table(
        f"The interceptor alone, in process (this thread's CPU, median of {iam_requests.REPEATS} loops of "
        f"{iam_requests.ITERATIONS:,} requests each)",
        ["request", "described as", "µs per request (describe + evaluate)", "describe", "evaluate"],
    )
    for cost in result.micro:
        if cost.evaluated:
            verdict = "" if cost.allowed else " (refused)"
            t.add(cost.label, cost.authorizations + verdict, _us(cost.total_us), _us(cost.describe_us),
                  _us(cost.evaluate_us))  # fmt: skip
        else:
            t.add(cost.label, "not evaluated", _us(cost.total_us), "", "")
    if result.micro_error:
        t.notes.append(f"Not measured: {result.micro_error}")
    return t


def text(result: Result, summary: list[str], command: str, when: str = "") -> list[str]:
    """The prose under the table; ``when``: the run's date, if not the document's."""
    on, off = result.side(True), result.side(False)
    paired = result.paired()
    lines = [
        f"Measured by `{command}`{f' on {when}' if when else ''}. Each burst is a fresh `LocalPipeline` "
        f"as in section 3 (warm-up, {IDLE_SAMPLES} idle objects, then the burst), one with "
        "`enforce_iam=True` and one with `enforce_iam=False` per round, the order alternating from "
        f"round to round, after one burst of {WARMUP_OBJECTS} objects that is not counted (the "
        "process's first pipeline loads moto's services). *Requests through the interceptor* counts "
        "every request the emulator served during the burst (uploads, the S3 hop, trace documents, the "
        "functions' calls); *evaluated* those a sandbox signed with its role's key, which the enforcer "
        "describes and evaluates; *policy evaluations* counts the checks made for them and, apart, "
        "those made for deliveries between services (EventBridge to the log group, destinations, alarm "
        "actions). *Enforcer CPU* is this process's thread CPU inside both.",
    ]
    micro = micro_table(result)
    lines.append(f"_{micro.title}_\n\n{micro.markdown()}")
    lines += micro.notes
    if not (on and off and paired):
        summary.append("IAM enforcement in the local pipeline: not measured in this run (see the table).")
        return lines
    on_off = result.ratio()
    verdict = "met" if on_off >= GOAL else "not met"
    evaluated = median([r.per_object(r.counts.evaluated) for r in on])
    checks = median([r.per_object(r.counts.authorizations + r.counts.deliveries) for r in on])
    cpu = result.median_of(True, lambda r: r.enforcer_cpu_ms)
    emulator = result.median_of(True, lambda r: r.emulator_cpu_ms)
    evaluated_micro = [c for c in result.micro if c.evaluated]
    micro_shown = ", ".join(f"{c.operation} {_us(c.total_us)}" for c in evaluated_micro)
    straddles = min(paired) < GOAL <= max(paired)
    unsettled = (
        f" The rounds straddle the goal, so this run's rates do not settle it; the enforcer's own CPU "
        f"({ms(cpu)} of the emulator's {ms(emulator)} per object) predicts about {x(1 - cpu / emulator)}."
        if straddles
        else f" The enforcer's own CPU is {cpu / emulator:.1%} of the emulator's per object."
    )
    summary.append(
        f"IAM enforcement in the local pipeline: {result.rate(True):,.1f} objects/s on against "
        f"{result.rate(False):,.1f} off at concurrency {result.concurrency} = {x(on_off)} (per round "
        f"{x(min(paired))} to {x(max(paired))}); goal at least {x(GOAL)}: **{verdict}**.{unsettled} "
        f"It evaluated {evaluated:.2f} requests per object"
        + (f"; in process, {micro_shown} per request" if micro_shown else "") + "."
    )  # fmt: skip
    lines.append(
        f"With enforcement on, the enforcer spent {ms(cpu)} of CPU per object ({checks:.2f} policy "
        f"evaluations) out of the emulator process's {ms(emulator)} per object ({cpu / emulator:.1%}). "
        "The emulator process is what limits local throughput (section 3), so that CPU alone predicts "
        f"a ratio of about {x(1 - cpu / emulator)}, a figure the machine's noise moves far less than the "
        f"rates: the rounds' ratios spread from {x(min(paired))} to {x(max(paired))}, and a difference "
        "smaller than that spread is not resolved by the rates of one run."
    )
    return lines
