"""The whole pipeline on one machine: emulator, provisioned stack, Lambda hop, rules, traces.

``LocalPipeline`` starts moto in server mode on loopback behind our middleware, provisions
the synthesized template onto it, and wires the local runtime in: S3 object writes become
S3 events for the function's async invoker, the processor runs in worker processes,
``PutEvents`` is routed by the stack's rules, and spans reach the local trace store. Each
event source mapping on a DynamoDB stream gets a poller (``event_sources.dynamodb_stream``) that invokes
its function with the table's stream records, as Lambda does.

Callers follow objects through ``on_flow``: one ``FlowEvent`` per object and step. The
kinds are S3 -> processor (``received``, ``retrying``, ``recorded``, ``failed``), rules ->
log group (``routed``), and stream -> mapped function (``published``: a batch holding the
object's record was taken by the function, e.g. the publisher; ``publish_failed``: the
record was given up on and described to the mapping's failure destination). ``wait_idle``
also waits for every stream poller to have delivered its stream's backlog.

State lives in memory only, and moto's is global to the process: one pipeline runs per
process at a time, and starting one empties the emulator. moto 5.2.5's server has no
persistence of its own (no snapshot/restore API or state directory in ``moto/moto_server``;
only ``/moto-api/reset`` and the recorder, which replays raw requests): stopping the
pipeline discards everything, unless ``state`` names a folder that keeps it across runs
(``s3flow.local.state``). ``stop()`` leaves in ``unfinished`` what it cut short: the
objects whose S3 event was accepted and whose processing had not finished, and the stream
records not yet taken by their mapping's function.

With ``tls=True`` the emulator serves HTTPS only, with a certificate from a CA made for the
run (``s3flow.local.tls``) in a temporary folder that ``stop()`` removes: the sandboxes trust
it through ``SSL_CERT_FILE`` and ``AWS_CA_BUNDLE``, the emulator's own clients through
``credentials.trust_emulator_ca``, and ``ca_bundle`` names it for any other client.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path
from types import TracebackType
from typing import Any

from s3flow.local.cloudformation.registration import StackRegistration
from s3flow.local.cloudwatch.evaluator import AlarmEvaluator, AlarmTransition
from s3flow.local.cloudwatch.service_metrics import LambdaErrors
from s3flow.local.credentials import emulator_client
from s3flow.local.deployment import Deployment, StreamMapping
from s3flow.local.errors import CloudAssemblyMissingError, LocalError
from s3flow.local.event_sources.dynamodb_stream import (
    POLL_INTERVAL,
    STREAM_RETRY_DELAYS,
    MappingListener,
    MotoStreamReader,
    StreamPollers,
    StreamReader,
    parse_filters,
    passes,
)
from s3flow.local.event_sources.s3_event_record import objects_in
from s3flow.local.event_sources.s3_notifications import S3Hop
from s3flow.local.eventbridge import Delivery, EventRouter
from s3flow.local.eventbridge.delivery import RULE_METRIC_NAMESPACE
from s3flow.local.iam.enforcement import IamEnforcer
from s3flow.local.lambda_.destinations import QueueSender
from s3flow.local.lambda_.function_logs import at_least, parse_log_line
from s3flow.local.lambda_.invocation import Invocation
from s3flow.local.lambda_.runtime import LAMBDA_RETRY_DELAYS, LambdaRuntime, Listener
from s3flow.local.lambda_.sandbox import Outcome
from s3flow.local.server import DEFAULT_PORT, LocalServer
from s3flow.local.state import PendingInvocation, Positions, Restored, StateError, StateKeeper, StateSummary
from s3flow.local.xray import TraceStore

log = logging.getLogger(__name__)


class FlowKind(StrEnum):
    RECEIVED = "received"  # an S3 event was queued for the function
    RECORDED = "recorded"  # the function finished its invocation
    ROUTED = "routed"  # a rule delivered the object's event to the log group
    RETRYING = "retrying"  # an attempt failed; Lambda will try again
    FAILED = "failed"  # retries or event age exhausted: sent to the failure queue
    PUBLISHED = "published"  # a stream mapping's function took the object's record
    PUBLISH_FAILED = "publish_failed"  # the stream record was given up on: failure destination
    ALARM = "alarm"  # an alarm changed state: key is its name, detail "OLD -> NEW: reason"
    LOGGED = "logged"  # a function logged a warning or an error: about this object, if it says
    ROUTE_FAILED = "route_failed"  # a rule could not deliver the object's event to its target


@dataclass(frozen=True)
class FlowEvent:
    kind: FlowKind
    bucket: str
    key: str
    version_id: str | None
    detail: str = ""
    # The Lambda event the object travels in (received, recorded, retrying, failed).
    payload: Any = field(default=None, repr=False, compare=False)
    # The function's code the attempt ran (recorded, retrying, failed): lambda_.code_update.
    code_version: str | None = None


# (bucket, key, version id) of one object version.
ObjectVersion = tuple[str, str, "str | None"]


@dataclass(frozen=True)
class Unfinished:
    """What a stop left undone, lost with the emulator's in-memory state (with ``state``:
    saved, and resumed at the next start on that folder).

    ``objects``: S3 events accepted for a function whose invocation had not finished
    (queued, running, or waiting for a retry). ``unpublished``: stream records a mapping
    would deliver that no invocation of its function had taken yet (nor given up on)."""

    objects: tuple[ObjectVersion, ...] = ()
    unpublished: tuple[ObjectVersion, ...] = ()


def _error_text(outcome: Outcome | None) -> str:
    payload = outcome.payload if outcome is not None and isinstance(outcome.payload, dict) else {}
    return f"{payload.get('errorType', 'Error')}: {payload.get('errorMessage', '')}".strip()


class _FlowReporter(Listener):
    def __init__(self, emit: Callable[[FlowEvent], None]) -> None:
        self.emit = emit

    def _each(self, invocation: Invocation, kind: FlowKind, detail: str, code: Outcome | None = None) -> None:
        code_version = code.code_version if code is not None else None
        for bucket, key, version in objects_in(invocation.event) or [("", "", None)]:
            self.emit(FlowEvent(kind, bucket, key, version, detail, invocation.event, code_version))

    def queued(self, invocation: Invocation) -> None:
        self._each(invocation, FlowKind.RECEIVED, f"request {invocation.request_id}")

    def succeeded(self, invocation: Invocation, outcome: Outcome) -> None:
        payload = outcome.payload
        if isinstance(payload, dict):
            detail = ", ".join(f"{name} {value}" for name, value in payload.items())
        else:
            detail = ""
        self._each(invocation, FlowKind.RECORDED, detail, outcome)

    def retrying(self, invocation: Invocation, outcome: Outcome, delay: float) -> None:
        detail = f"attempt {invocation.attempts} failed ({_error_text(outcome)}); retry in {delay:g}s"
        self._each(invocation, FlowKind.RETRYING, detail, outcome)

    def failed(self, invocation: Invocation, condition: str) -> None:
        detail = f"{condition} after {invocation.attempts} attempt(s): {_error_text(invocation.last)}"
        self._each(invocation, FlowKind.FAILED, detail, invocation.last)

    def logged(self, function_name: str, line: str) -> None:
        entry = parse_log_line(line)
        if not at_least(entry.level, "WARNING"):
            return
        detail = f"{function_name} {entry.level}: {entry.message}"
        if entry.stack_trace:
            detail += "\n" + "\n".join(f"    {row}" for row in entry.stack_trace.rstrip().splitlines())
        self.emit(FlowEvent(FlowKind.LOGGED, entry.bucket or "", entry.key or "", entry.version_id, detail))


def _attribute(image: Any, name: str) -> str | None:
    value = image.get(name) if isinstance(image, dict) else None
    return str(value["S"]) if isinstance(value, dict) and "S" in value else None


def object_of_record(record: Any) -> tuple[str, str, str | None]:
    """(bucket, key, version id) of the object a stream record of the records table is about."""
    dynamodb = record.get("dynamodb") if isinstance(record, dict) else None
    dynamodb = dynamodb if isinstance(dynamodb, dict) else {}
    image = dynamodb.get("NewImage") or dynamodb.get("OldImage") or {}
    return (
        _attribute(image, "bucketName") or "",
        _attribute(image, "objectKey") or "",
        _attribute(image, "versionId"),
    )


def _sequence_number(record: Any) -> str:
    dynamodb = record.get("dynamodb") if isinstance(record, dict) else None
    return str((dynamodb or {}).get("SequenceNumber", ""))


class _StreamReporter(MappingListener):
    def __init__(self, emit: Callable[[FlowEvent], None], function_name: Callable[[str], str]) -> None:
        self.emit = emit
        self.function_name = function_name
        self._settled: set[tuple[str, str]] = set()  # (mapping, sequence number) taken or given up
        self._lock = threading.Lock()

    def _settle(self, mapping: StreamMapping, records: Sequence[dict[str, Any]]) -> None:
        with self._lock:
            self._settled.update((mapping.logical_id, _sequence_number(record)) for record in records)

    def settled(self, mapping: StreamMapping, sequence_number: str) -> bool:
        with self._lock:
            return (mapping.logical_id, sequence_number) in self._settled

    def delivered(self, mapping: StreamMapping, records: Sequence[dict[str, Any]]) -> None:
        self._settle(mapping, records)
        via = self.function_name(mapping.function_arn)
        for record in records:
            bucket, key, version = object_of_record(record)
            sequence = (record.get("dynamodb") or {}).get("SequenceNumber", "")
            detail = f"{record.get('eventName', '')} {sequence} via {via}"
            self.emit(FlowEvent(FlowKind.PUBLISHED, bucket, key, version, detail, record))

    def discarded(
        self, mapping: StreamMapping, records: Sequence[dict[str, Any]], condition: str, detail: str
    ) -> None:
        self._settle(mapping, records)
        for record in records:
            bucket, key, version = object_of_record(record)
            self.emit(FlowEvent(FlowKind.PUBLISH_FAILED, bucket, key, version, detail, record))


def _all_records(
    reader: StreamReader, stream_arn: str, positions: Mapping[str, int | None] | None = None, page: int = 1000
) -> list[dict[str, Any]]:
    """Every record still in the stream, oldest first; after each shard's position, if given."""
    records: list[dict[str, Any]] = []
    for shard in reader.shards(stream_arn):
        after = (positions or {}).get(shard)
        while batch := reader.read(stream_arn, shard, after, page):
            records.extend(record.body for record in batch)
            after = batch[-1].sequence
    return records


class LocalPipeline:
    """The stack from ``cloud_assembly`` running locally; see the module doc.

    ``retry_delays``: seconds before each async retry (Lambda: about 60 then 120; the last
    one repeats). ``environment_overrides``: per function name, variables laid over the
    template's environment (a test hook, e.g. to make the processor fail on purpose).
    ``stream_retry_delays``: seconds before each retry of a failed stream batch (the last
    one repeats); ``stream_poll_interval``: seconds between reads of a stream with nothing new.
    ``alarm_period``: seconds that stand for every alarm's period when the stack's alarms are
    evaluated (None: the template's); each change of state is a ``FlowKind.ALARM`` event.
    ``tls``: serve HTTPS with a CA made at each start (``ca_bundle``); ``endpoint_url`` says
    https:// once started.
    ``enforce_iam``: evaluate the template's policies for every request a function makes and
    every delivery between services (``s3flow.local.iam``), as AWS does; False only to
    measure what enforcement costs.
    ``state``: a folder that keeps the emulator's state across runs (``s3flow.local.state``):
    read and checked before the start, restored after provisioning (``restored``), saved
    every ``state.AUTOSAVE_INTERVAL`` seconds while running and at ``stop()``.
    """

    def __init__(
        self,
        cloud_assembly: Path,
        stack_name: str = "TapStackdev",
        *,
        port: int = DEFAULT_PORT,
        host: str = "127.0.0.1",
        region: str = "us-east-1",
        concurrency: int = 4,
        on_flow: Callable[[FlowEvent], None] | None = None,
        retry_delays: Sequence[float] = LAMBDA_RETRY_DELAYS,
        environment_overrides: Mapping[str, Mapping[str, str]] | None = None,
        stream_retry_delays: Sequence[float] = STREAM_RETRY_DELAYS,
        stream_poll_interval: float = POLL_INTERVAL,
        alarm_period: int | None = None,
        tls: bool = False,
        enforce_iam: bool = True,
        state: Path | None = None,
    ) -> None:
        self.cloud_assembly = Path(cloud_assembly)
        self.stack_name = stack_name
        self.region = region
        self.concurrency = concurrency
        self.on_flow = on_flow
        self.retry_delays = tuple(retry_delays)
        self.environment_overrides = environment_overrides
        self.stream_retry_delays = tuple(stream_retry_delays)
        self.stream_poll_interval = stream_poll_interval
        self.alarm_period = alarm_period
        self.alarms: AlarmEvaluator | None = None
        self.server = LocalServer(host, port)
        self.tls = tls
        self.enforce_iam = enforce_iam
        self.iam: IamEnforcer | None = None
        self._tls_directory: Path | None = None
        self._deployment: Deployment | None = None
        self.runtime: LambdaRuntime | None = None
        self.traces: TraceStore | None = None
        self.streams: StreamPollers | None = None
        self._stream_reporter: _StreamReporter | None = None
        self._stream_reader: StreamReader | None = None
        # What the last stop() left undone (see ``Unfinished``).
        self.unfinished = Unfinished()
        self.state = Path(state) if state is not None else None
        self._state: StateKeeper | None = None
        self._registration: StackRegistration | None = None
        self._clients: dict[str, Any] = {}
        self._clients_lock = threading.Lock()
        self.restored = Restored()  # what the start restored from ``state``
        self.saved: StateSummary | None = None  # what the last stop saved to ``state``

    # -- lifecycle ---------------------------------------------------------------------

    @property
    def endpoint_url(self) -> str:
        return self.server.endpoint_url

    @property
    def ca_bundle(self) -> str | None:
        """The CA certificate (PEM) clients need to trust the HTTPS emulator, while it runs."""
        return self.server.tls.ca_bundle if self.server.tls is not None else None

    @property
    def deployment(self) -> Deployment:
        if self._deployment is None:
            raise LocalError("the local pipeline is not started")
        return self._deployment

    def start(self) -> None:
        from s3flow.local.cloudformation import provision

        if not (self.cloud_assembly / f"{self.stack_name}.template.json").is_file():
            raise CloudAssemblyMissingError(self.cloud_assembly, self.stack_name)
        if self.state is not None:  # a state that cannot be kept stops the start before anything runs
            keeper = StateKeeper(self.state, stack_name=self.stack_name, region=self.region)
            try:
                keeper.open()
            except BaseException:
                keeper.close()
                raise
            self._state = keeper
        if self.tls:
            from s3flow.local.tls import DEFAULT_HOSTS, make_local_ca  # cryptography: only for TLS

            self._tls_directory = Path(tempfile.mkdtemp(prefix="s3flow-tls-"))
            hosts = (*DEFAULT_HOSTS, self.server.host)
            self.server.tls = make_local_ca(self._tls_directory, hosts)
        try:
            self.server.start()
            # moto's state is global to the process: a pipeline starts from an empty emulator.
            reset = urllib.request.Request(f"{self.endpoint_url}/moto-api/reset", method="POST")
            context = self.server.tls.client_context() if self.server.tls is not None else None
            urllib.request.urlopen(reset, timeout=60, context=context).close()
            # Just reset: no stack to look for, and its registration in moto's CloudFormation
            # runs once the pipeline serves (``cloudformation.registration``).
            self._deployment = provision(
                self.cloud_assembly,
                self.stack_name,
                endpoint_url=self.endpoint_url,
                region=self.region,
                fresh_emulator=True,
            )
            if self._deployment.register_stack is not None:
                self._registration = StackRegistration(self._deployment.register_stack)
                self.server.middleware.add_interceptor(self._registration)
            if self._state is not None:  # before anything that reacts to what it puts back
                self.restored = self._state.restore(self._deployment.account)
            self.traces = TraceStore(
                endpoint_url=self.endpoint_url, region=self.region, host=self.server.host
            )
            self.traces.start()
            if self.enforce_iam:
                self.iam = IamEnforcer(self._deployment)
            self.runtime = LambdaRuntime(
                self._deployment,
                endpoint_url=self.endpoint_url,
                concurrency=self.concurrency,
                retry_delays=self.retry_delays,
                xray_daemon_address=self.traces.address,
                on_segment=self.traces.put,
                listener=_FlowReporter(self._emit),
                environment_overrides=self.environment_overrides,
                ca_bundle=self.ca_bundle,
                authorizer=self.iam.authorizer if self.iam is not None else None,
            )
            self.runtime.start()
            self.runtime.add_listener(LambdaErrors(lambda: self._client("cloudwatch")))
            authorizer = None
            if self.iam is not None:
                self.server.middleware.add_interceptor(self.iam)
                authorizer = self.iam.authorizer
            router = EventRouter(
                account=self._deployment.account,
                on_delivery=self._routed,
                authorizer=authorizer,
                put_metric=self._put_rule_metric,
                on_failure=self._route_failed,
            )
            self.server.middleware.routes.extend([self.runtime.route, router.route])
            S3Hop(self._deployment, self.runtime.enqueue).install(self.server.middleware)
            runtime = self.runtime
            self._stream_reader = MotoStreamReader(self._deployment.account, self.region)
            self._stream_reporter = _StreamReporter(self._emit, lambda arn: runtime.resolve(arn).name)
            self.streams = StreamPollers.for_mappings(
                self._deployment.stream_mappings,
                invoke=runtime.invoke,
                reader=self._stream_reader,
                send_to_queue=QueueSender(self.endpoint_url),
                retry_delays=self.stream_retry_delays,
                poll_interval=self.stream_poll_interval,
                listener=self._stream_reporter,
            )
            self.streams.start(self.restored.positions)
            self.alarms = AlarmEvaluator(
                self._client,
                account=self._deployment.account,
                region=self.region,
                period=self.alarm_period,
                on_transition=self._alarm_changed,
                authorizer=authorizer,
            )
            self.alarms.start()
            self._resume(self.restored.pending)
            if self._registration is not None:
                self._registration.start()
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        if self._registration is not None:  # a stop right after the start need not wait for it
            self._registration.abandon()
            self.server.middleware.remove_interceptor(self._registration)
            self._registration = None
        if self._state is not None:
            self._state.stop_autosave()
        if self.alarms is not None:
            self.alarms.stop()
            self.alarms = None
        self.server.middleware.routes.clear()
        self.server.middleware.observers.clear()
        if self.streams is not None:
            self.streams.request_stop()  # before the runtime: no batch is retried as it goes
        unfinished_invocations = []
        if self.runtime is not None:
            self.runtime.stop()
            unfinished_invocations = self.runtime.unfinished()
            self.runtime = None
        if self.iam is not None:  # after the runtime: its last calls are still evaluated
            self.server.middleware.remove_interceptor(self.iam)
            self.iam = None
        positions: Positions = {}
        if self.streams is not None:
            self.streams.stop()
            positions = self.streams.positions()
            self.streams = None
        self.unfinished = Unfinished(
            objects=tuple(
                obj for invocation in unfinished_invocations for obj in objects_in(invocation.event)
            ),
            unpublished=tuple(self._unpublished(positions)),
        )
        if self.traces is not None:
            self.traces.stop()
            self.traces = None
        save_error = self._save_state(positions, unfinished_invocations)
        self.server.stop()
        if self._tls_directory is not None:
            shutil.rmtree(self._tls_directory, ignore_errors=True)
            self._tls_directory = None
        if save_error is not None:
            raise save_error

    def _save_state(self, positions: Positions, invocations: Sequence[Invocation]) -> StateError | None:
        """Saves the state at a stop, with what the stop left unfinished (unless the start did
        not get as far as restoring it: then the folder keeps what it held)."""
        keeper, self._state = self._state, None
        if keeper is None:
            return None
        try:
            if not keeper.ready or self._deployment is None:
                return None
            pending = [
                PendingInvocation(invocation.function.name, invocation.event) for invocation in invocations
            ]
            self.saved = keeper.save(self._deployment.account, lambda: positions, lambda: pending)
        except Exception as error:
            log.debug("saving the state failed", exc_info=True)
            return StateError(f"could not save the state to {keeper.path}: {error}")
        finally:
            keeper.close()
        return None

    def _resume(self, pending: Sequence[PendingInvocation]) -> None:
        """Queues again the invocations a saved state held, then saves while running."""
        runtime, keeper = self.runtime, self._state
        assert runtime is not None and self._deployment is not None
        for invocation in pending:
            try:
                runtime.enqueue(invocation.function, invocation.event)
            except LocalError as error:  # the function is gone from the template, or the event too big
                log.warning("a saved invocation of %s was not queued again: %s", invocation.function, error)
                lost = f"an invocation of {invocation.function} ({error})"
                self.restored = replace(self.restored, not_restored=(*self.restored.not_restored, lost))
        if keeper is not None:
            keeper.begin()
            streams = self.streams
            keeper.start_autosave(
                self._deployment.account,
                positions=lambda: streams.positions() if streams is not None else {},
                pending=lambda: [
                    PendingInvocation(invocation.function.name, invocation.event)
                    for invocation in runtime.unfinished()
                ],
            )

    def _unpublished(self, positions: Positions) -> list[ObjectVersion]:
        """The objects of stream records each mapping would deliver and had not taken (nor
        taken before its position: in an earlier run, restored from a state folder)."""
        reader, reporter = self._stream_reader, self._stream_reporter
        if reader is None or reporter is None or self._deployment is None:
            return []
        found: list[ObjectVersion] = []
        for mapping in self._deployment.stream_mappings:
            if not mapping.enabled:
                continue
            filters = parse_filters(mapping.filter_patterns)
            after = positions.get(mapping.logical_id, {})
            try:
                for record in _all_records(reader, mapping.event_source_arn, after):
                    if passes(filters, record) and not reporter.settled(mapping, _sequence_number(record)):
                        found.append(object_of_record(record))
            except Exception:  # a stream that cannot be read: nothing more can be said about it
                log.debug("stream %s unreadable at stop", mapping.event_source_arn, exc_info=True)
        return found

    def __enter__(self) -> LocalPipeline:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # -- observing -----------------------------------------------------------------------

    def wait_idle(self, timeout: float) -> bool:
        """True once no invocation is queued, running or waiting for a retry, every stream
        poller has delivered its stream's backlog, and every span sent to the trace store is
        stored (checked twice in a row, 50 ms apart)."""
        deadline = time.monotonic() + timeout
        calm = 0
        while calm < 2:
            if self.idle():
                calm += 1
            else:
                calm = 0
            if time.monotonic() >= deadline:
                return self.idle()
            time.sleep(0.05)
        return True

    def idle(self) -> bool:
        runtime, traces, streams = self.runtime, self.traces, self.streams
        # The runtime first: a write by an invocation that just ended is in the stream by then.
        return (
            (runtime is None or runtime.idle())
            and (streams is None or streams.idle())
            and (traces is None or not traces.pending())
        )

    def override_environment(self, function_name: str, overrides: Mapping[str, str] | None) -> None:
        """Test hook: change (or with None, clear) a function's extra environment from now on."""
        if self.runtime is None:
            raise LocalError("the local pipeline is not started")
        self.runtime.override_environment(function_name, overrides)

    def _emit(self, event: FlowEvent) -> None:
        if self.on_flow is None:
            return
        try:
            self.on_flow(event)
        except Exception:
            log.exception("on_flow callback failed")

    def _client(self, service: str) -> Any:
        """One client per service for the pipeline's own calls (a rule's metric on every
        delivery): a session and client cost tens of milliseconds to make."""
        with self._clients_lock:
            client = self._clients.get(service)
            if client is None:
                client = emulator_client(service, endpoint_url=self.endpoint_url, region=self.region)
                self._clients[service] = client
            return client

    def _put_rule_metric(self, name: str, dimensions: dict[str, str]) -> None:
        datum = {
            "MetricName": name,
            "Dimensions": [{"Name": key, "Value": value} for key, value in dimensions.items()],
            "Value": 1.0,
            "Unit": "Count",
        }
        self._client("cloudwatch").put_metric_data(Namespace=RULE_METRIC_NAMESPACE, MetricData=[datum])

    def _alarm_changed(self, change: AlarmTransition) -> None:
        detail = f"{change.old_state} -> {change.new_state}: {change.reason}"
        for failure in change.failed_actions:
            detail += f"; {failure}"
        self._emit(FlowEvent(FlowKind.ALARM, "", change.name, None, detail))

    def _route_failed(self, delivery: Delivery, error: str) -> None:
        why = f"rule {delivery.rule_name} could not deliver to {delivery.target_arn}: {error}"
        self._emit_delivery(FlowKind.ROUTE_FAILED, delivery, why)

    def _routed(self, delivery: Delivery) -> None:
        if ":logs:" not in delivery.target_arn:
            return
        how = f"{delivery.event.get('detail-type', '')} via rule {delivery.rule_name}"
        self._emit_delivery(FlowKind.ROUTED, delivery, how)

    def _emit_delivery(self, kind: FlowKind, delivery: Delivery, text: str) -> None:
        """A flow event about the object whose event a rule delivered (or could not)."""
        detail = delivery.event.get("detail") or {}
        bucket, key = str(detail.get("bucketName", "")), str(detail.get("objectKey", ""))
        self._emit(FlowEvent(kind, bucket, key, detail.get("versionId"), text))
