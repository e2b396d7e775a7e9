"""3. End to end through the local pipeline: S3 upload -> processor -> record -> event -> log group.

Each (side, concurrency) gets a fresh ``LocalPipeline``. Its sandboxes are warmed with one
object per slot, then N objects are uploaded as a burst by a few threads, as a bulk copy into
the bucket would arrive, and every object's upload time is matched with the moment the
pipeline reports its processor invocation finished (``FlowKind.RECORDED``: the record is
written) and the moment a rule delivered its event to the log group (``FlowKind.ROUTED``).
Ours publishes from the table's stream (the publisher function, fed by the local stream
mapping); the reference publishes inside its invocation. A burst ends when every object has
both. Idle latency (one object at a time) is measured separately, since burst latency is
mostly queueing.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import unquote_plus

import boto3

from bench import paths
from bench.emulator import CREDENTIALS
from bench.events import REGION
from bench.report import Table, ms, x
from bench.sides import reference_as_shipped
from bench.stats import median, percentile, ratio
from s3flow import contract
from s3flow.cli.local_up import free_port

UPLOAD_THREADS = 4
IDLE_SAMPLES = 15
WARMUP_TIMEOUT_S = 120
REFERENCE_HANDLER = "reference_handler.handler"


@dataclass
class Level:
    side: str
    concurrency: int
    objects: int = 0
    seconds: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)  # upload -> record written
    event_ms: list[float] = field(default_factory=list)  # upload -> event routed to the log group
    failed: int = 0
    idle_ms: list[float] = field(default_factory=list)
    idle_event_ms: list[float] = field(default_factory=list)
    error: str | None = None
    emulator_cores: float = 0.0  # CPU of this process (moto, S3 hop, routing, uploads) / wall, in the burst
    machine_cores: float = 0.0  # whole machine's busy CPU / wall, in the burst
    function_cpu_ms: float = 0.0  # sandbox processes' CPU per object, in the burst
    policy_dropped: bool = False  # the TLS-only bucket policy had to go (see allow_plain_http)

    rates: list[float] = field(default_factory=list)  # objects/s of each repeated burst

    @property
    def throughput(self) -> float:
        if self.rates:
            return median(self.rates)
        return self.objects / self.seconds if self.seconds else float("nan")


def merge(runs: list[Level]) -> Level:
    """Repeated bursts of one (side, concurrency): median rates and CPU, latencies pooled."""
    done = [r for r in runs if r.objects]
    if not done:
        return runs[0]
    return Level(
        side=done[0].side,
        concurrency=done[0].concurrency,
        objects=done[0].objects,
        seconds=median([r.seconds for r in done]),
        latencies_ms=[v for r in done for v in r.latencies_ms],
        event_ms=[v for r in done for v in r.event_ms],
        failed=sum(r.failed for r in done),
        idle_ms=[v for r in done for v in r.idle_ms],
        idle_event_ms=[v for r in done for v in r.idle_event_ms],
        error=next((r.error for r in runs if r.error), None),
        emulator_cores=median([r.emulator_cores for r in done]),
        machine_cores=median([r.machine_cores for r in done]),
        function_cpu_ms=median([r.function_cpu_ms for r in done]),
        policy_dropped=any(r.policy_dropped for r in done),
        rates=[r.objects / r.seconds for r in done if r.seconds],
    )


REFERENCE_ASSET = "reference"  # its folder (asset.reference) and S3 key (reference.zip) in the copy


def reference_assembly(scratch: Path) -> Path:
    """The stack's assembly with the processor running the reference handler.

    The processor's code is an asset of its own in the copy, as the reference would ship it:
    its one file plus the X-Ray SDK it imports (``sides.reference_as_shipped``); boto3 comes from
    the runtime, as on Lambda. The reference publishes its own events (its function gets
    ``EVENT_BUS_NAME``, which our processor no longer has), so the table stream's event source
    mapping is left out: our publisher would announce every reference record a second time.
    """
    target = scratch / "reference-assembly"
    if target.exists():
        return target
    target.mkdir()
    template = json.loads(paths.processor_template().read_text())
    (bus,) = (k for k, r in template["Resources"].items() if r["Type"] == "AWS::Events::EventBus")
    for name, resource in list(template["Resources"].items()):
        props = resource.get("Properties", {})
        if resource["Type"] == "AWS::Lambda::Function" and props.get("Handler") == contract.HANDLER:
            props["Handler"] = REFERENCE_HANDLER
            props["Code"] = {**props["Code"], "S3Key": f"{REFERENCE_ASSET}.zip"}
            # Our processor has no bus; the reference publishes, so it gets one, as in its design,
            # and its role may put events on it (the local pipeline enforces the role's policies).
            variables = props.setdefault("Environment", {}).setdefault("Variables", {})
            variables[contract.ENV_EVENT_BUS_NAME] = {"Ref": bus}
            _allow_put_events(template["Resources"], props["Role"]["Fn::GetAtt"][0], bus)
        if resource["Type"] == "AWS::Lambda::EventSourceMapping":
            del template["Resources"][name]
    (target / paths.processor_template().name).write_text(json.dumps(template))
    shutil.copy2(paths.CLOUD_ASSEMBLY / "manifest.json", target / "manifest.json")
    for asset in paths.CLOUD_ASSEMBLY.glob("asset.*"):  # the other functions' code, as synthesized
        (target / asset.name).symlink_to(asset.resolve())
    shipped = reference_as_shipped(scratch)
    code = target / f"asset.{REFERENCE_ASSET}"
    shutil.copytree(shipped.path_entries[1], code)
    shutil.copy2(paths.reference_handler(), code / paths.reference_handler().name)
    assets = json.loads((paths.CLOUD_ASSEMBLY / f"{paths.STACK_NAME}.assets.json").read_text())
    assets["files"][REFERENCE_ASSET] = {
        "source": {"path": code.name, "packaging": "zip"},
        "destinations": {"reference": {"objectKey": f"{REFERENCE_ASSET}.zip"}},
    }
    (target / f"{paths.STACK_NAME}.assets.json").write_text(json.dumps(assets))
    return target


def _allow_put_events(resources: dict[str, Any], role: str, bus: str) -> None:
    """Adds ``events:PutEvents`` on ``bus`` to the identity policy attached to ``role``."""
    for resource in resources.values():
        props = resource.get("Properties", {})
        if resource["Type"] == "AWS::IAM::Policy" and {"Ref": role} in props.get("Roles", []):
            statement = {
                "Action": "events:PutEvents",
                "Effect": "Allow",
                "Resource": {"Fn::GetAtt": [bus, "Arn"]},
            }
            props["PolicyDocument"]["Statement"].append(statement)
            return
    raise ValueError(f"no identity policy attached to {role} in the template")


class BurstObserver(Protocol):
    """Told when a level's burst starts and ends, with its running pipeline (to count what it did)."""

    def burst_started(self, pipeline: Any) -> None: ...

    def burst_ended(self, pipeline: Any) -> None: ...


class _Tracker:
    def __init__(self) -> None:
        self.uploaded: dict[str, float] = {}
        self.finished: dict[str, tuple[float, str]] = {}  # the processor's invocation returned
        self.routed: dict[str, float] = {}  # a rule delivered the object's event to the log group
        self.lock = threading.Lock()
        self.wanted = 0
        self.all_done = threading.Event()

    def on_flow(self, event: Any) -> None:
        kind = str(event.kind)
        if kind not in ("recorded", "failed") or not event.key:
            return
        with self.lock:
            self.finished.setdefault(event.key, (time.perf_counter(), kind))
            self._check()

    def on_delivery(self, delivery: Any) -> None:
        """An event a rule delivered to the log group: the object(s) it announces are routed.

        Read from the delivery rather than the ``routed`` flow event, which names the object
        by ``detail.objectKey``: the reference's single event lists its objects under
        ``processedObjects`` (keys as S3 sent them, URL-encoded) instead.
        """
        if ":logs:" not in delivery.target_arn:
            return
        detail = delivery.event.get("detail") or {}
        listed = [o for o in detail.get("processedObjects") or () if isinstance(o, dict)]
        keys = [detail.get("objectKey")] + [unquote_plus(str(o.get("key", ""))) for o in listed]
        with self.lock:
            for key in filter(None, keys):
                self.routed.setdefault(str(key), time.perf_counter())
            self._check()

    def _check(self) -> None:
        if self.wanted and self._burst_done() >= self.wanted:
            self.all_done.set()

    def done(self, key: str) -> bool:
        """Recorded and its event routed; or given up on (failed: no event will come)."""
        found = self.finished.get(key)
        return found is not None and (found[1] == "failed" or key in self.routed)

    def _burst_done(self) -> int:
        return sum(1 for k in self.finished if k.startswith("burst/") and self.done(k))


def reset_emulator_state() -> None:
    """moto's backends are process-wide: every pipeline (and the bench emulator) shares them."""
    from moto.moto_api._internal.models import moto_api_backend

    moto_api_backend.reset()


def allow_plain_http(s3: Any, bucket: str) -> bool:
    """The stack's bucket policy denies requests without TLS, and moto enforces it on our
    http:// endpoint. If a probe upload is refused, drop the policy for the benchmark."""
    try:
        s3.put_object(Bucket=bucket, Key="probe/tls.json", Body=b"{}")
        return False
    except s3.exceptions.ClientError as error:
        if error.response.get("ResponseMetadata", {}).get("HTTPStatusCode") != 403:
            raise
    s3.delete_bucket_policy(Bucket=bucket)
    return True


def function_name() -> str:
    template = json.loads(paths.processor_template().read_text())
    for resource in template["Resources"].values():
        props = resource.get("Properties", {})
        if resource["Type"] == "AWS::Lambda::Function" and props.get("Handler") == contract.HANDLER:
            return str(props["FunctionName"])
    raise paths.BenchSetupError(f"no function with handler {contract.HANDLER} in the template")


def run_level(
    side: str,
    assembly: Path,
    concurrency: int,
    objects: int,
    idle_samples: int,
    pycache: Path,
    *,
    enforce_iam: bool = True,
    observer: BurstObserver | None = None,
) -> Level:
    from s3flow.local import LocalPipeline

    reset_emulator_state()

    level = Level(side, concurrency)
    tracker = _Tracker()
    # Sandboxes get exactly the function's environment: their bytecode goes to scratch, not into shared/.
    extra = {"PYTHONPYCACHEPREFIX": str(pycache)}
    if side == "reference":
        extra |= {"LAMBDA_TASK_ROOT": str(paths.reference_handler().parent), "AWS_XRAY_SDK_ENABLED": "true"}
    overrides = {function_name(): extra}
    pipeline = LocalPipeline(
        assembly, paths.STACK_NAME, port=free_port(), concurrency=concurrency, on_flow=tracker.on_flow,
        environment_overrides=overrides, enforce_iam=enforce_iam,
    )  # fmt: skip
    _observe_deliveries(pipeline, tracker.on_delivery)
    with pipeline:
        s3 = boto3.client("s3", endpoint_url=pipeline.endpoint_url, region_name=REGION,
                          aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
                          aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"])  # fmt: skip
        bucket = pipeline.deployment.outputs["S3BucketName"]
        if allow_plain_http(s3, bucket):
            level.policy_dropped = True

        def upload(key: str) -> None:
            tracker.uploaded[key] = time.perf_counter()
            s3.put_object(Bucket=bucket, Key=key, Body=b'{"bench": true}')

        def wait_for(keys: list[str], timeout: float) -> bool:
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                if all(tracker.done(k) for k in keys):
                    return True
                time.sleep(0.002)
            return False

        warm = [f"warmup/{i}.json" for i in range(concurrency)]
        with ThreadPoolExecutor(concurrency) as pool:
            list(pool.map(upload, warm))
        if not wait_for(warm, WARMUP_TIMEOUT_S):
            level.error = "warm-up objects never finished"
            return level
        for i in range(idle_samples):
            key = f"idle/{i}.json"
            upload(key)
            if wait_for([key], 30):
                level.idle_ms.append((tracker.finished[key][0] - tracker.uploaded[key]) * 1000)
                if key in tracker.routed:
                    level.idle_event_ms.append((tracker.routed[key] - tracker.uploaded[key]) * 1000)
        keys = [f"burst/{i:06d}.json" for i in range(objects)]
        with tracker.lock:
            tracker.wanted = objects
        if observer is not None:
            observer.burst_started(pipeline)
        started, cpu_started = time.perf_counter(), time.process_time()
        sandboxes_started, (busy_started, _) = _sandboxes_cpu(), _machine_busy()
        with ThreadPoolExecutor(UPLOAD_THREADS) as pool:
            list(pool.map(upload, keys))
        tracker.all_done.wait(timeout=max(120, objects * 0.5))
        cpu_ended, sandboxes_ended, (busy_ended, _) = time.process_time(), _sandboxes_cpu(), _machine_busy()
        ended = max(
            [tracker.finished[k][0] for k in keys if k in tracker.finished]
            + [tracker.routed[k] for k in keys if k in tracker.routed],
            default=time.perf_counter(),
        )
        pipeline.wait_idle(30)
        if observer is not None:
            observer.burst_ended(pipeline)
    level.emulator_cores = (cpu_ended - cpu_started) / (ended - started or 1)
    level.machine_cores = (busy_ended - busy_started) / (ended - started or 1)
    level.function_cpu_ms = (sandboxes_ended - sandboxes_started) * 1000 / max(1, objects)
    level.objects = sum(1 for k in keys if tracker.done(k))
    level.seconds = ended - started
    level.failed = sum(1 for k in keys if tracker.finished.get(k, (0, ""))[1] == "failed")
    level.latencies_ms = [
        (tracker.finished[k][0] - tracker.uploaded[k]) * 1000 for k in keys if k in tracker.finished
    ]
    level.event_ms = [(tracker.routed[k] - tracker.uploaded[k]) * 1000 for k in keys if k in tracker.routed]
    if level.objects < objects:
        level.error = f"{objects - level.objects} of {objects} objects never finished"
    return level


def _observe_deliveries(pipeline: Any, observer: Callable[[Any], None]) -> None:
    """Also hands every rule delivery to ``observer`` (wraps the pipeline's ``_routed`` before start:
    the pipeline has no public hook that carries the delivered event)."""
    routed = pipeline._routed

    def both(delivery: Any) -> None:
        routed(delivery)
        observer(delivery)

    pipeline._routed = both


def _p99(values: list[float]) -> float:
    return percentile(values, 99)


def _sandboxes_cpu() -> float:
    """CPU seconds used so far by this process's live children (the sandboxes), from /proc."""
    total, me, tick = 0, str(os.getpid()), os.sysconf("SC_CLK_TCK")
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[1] == me:  # ppid
            total += int(fields[11]) + int(fields[12])  # utime + stime
    return total / tick


def _machine_busy() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine so far, from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]
    tick = os.sysconf("SC_CLK_TCK")
    return (sum(values) - idle) / tick, sum(values) / tick


def measure(
    objects: int,
    concurrencies: tuple[int, ...],
    scratch: Path,
    idle_samples: int = IDLE_SAMPLES,
    repeats: int = 1,
) -> list[Level]:
    """Every (concurrency, side) ``repeats`` times, the two sides interleaved at each level."""
    assemblies = {"ours": paths.CLOUD_ASSEMBLY, "reference": reference_assembly(scratch)}
    runs: dict[tuple[int, str], list[Level]] = {(c, side): [] for c in concurrencies for side in assemblies}
    for repeat in range(repeats):
        for concurrency in concurrencies:
            order = list(assemblies.items()) if repeat % 2 == 0 else list(reversed(assemblies.items()))
            for side, assembly in order:
                try:
                    level = run_level(side, assembly, concurrency, objects, idle_samples, scratch / "pycache")
                except Exception as error:  # one broken level must not lose the others
                    level = Level(side, concurrency, error=f"{type(error).__name__}: {error}")
                runs[(concurrency, side)].append(level)
    return [merge(found) for found in runs.values()]


def table(levels: list[Level], objects: int) -> Table:
    bursts = max((len(lv.rates) for lv in levels), default=0)
    t = Table(
        f"End to end through the local pipeline ({objects:,} objects uploaded as a burst; objects/s is the "
        f"median of {bursts} burst(s) per row, up to the last object's event; latencies pooled)",
        ["concurrency", "design", "objects/s", "burst: upload to record p50", "p99",
         "burst: upload to event p50", "p99", "idle: upload to record p50", "idle: upload to event p50",
         "p99", "machine CPU busy (all processes)", "emulator process CPU", "sandbox CPU/object",
         "failed", "note"],
    )  # fmt: skip
    by_key = {(lv.side, lv.concurrency): lv for lv in levels}
    for lv in levels:
        if lv.objects == 0:
            t.add(lv.concurrency, lv.side, "failed", *[""] * 11, lv.error or "")
            continue
        t.add(
            lv.concurrency, lv.side, f"{lv.throughput:,.0f}", ms(median(lv.latencies_ms)),
            ms(percentile(lv.latencies_ms, 99)), ms(median(lv.event_ms)), ms(percentile(lv.event_ms, 99)),
            ms(median(lv.idle_ms)), ms(median(lv.idle_event_ms)), ms(percentile(lv.idle_event_ms, 99)),
            f"{lv.machine_cores:.2f} cores", f"{lv.emulator_cores:.2f} cores", ms(lv.function_cpu_ms),
            lv.failed, lv.error or "",
        )  # fmt: skip
        ours, reference = by_key.get(("ours", lv.concurrency)), by_key.get(("reference", lv.concurrency))
        if lv.side == "reference" and ours and ours.objects and reference and reference.objects:
            t.add(
                lv.concurrency, "ratio ours / reference", x(ratio(ours.throughput, reference.throughput)),
                *(x(ratio(f(getattr(ours, name)), f(getattr(reference, name)))) for name, f in (
                    ("latencies_ms", median), ("latencies_ms", _p99), ("event_ms", median),
                    ("event_ms", _p99), ("idle_ms", median), ("idle_event_ms", median),
                    ("idle_event_ms", _p99),
                )),
                "", "", x(ratio(ours.function_cpu_ms, reference.function_cpu_ms)), "", "",
            )  # fmt: skip
    if any(lv.policy_dropped for lv in levels):
        t.notes.append(
            "The stack's TLS-only bucket policy was removed before uploading: moto enforces "
            "`aws:SecureTransport` and the local endpoint is plain HTTP."
        )
    return t
