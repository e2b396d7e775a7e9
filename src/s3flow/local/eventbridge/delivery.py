"""EventBridge ``PutEvents`` answered locally, with AWS's semantics where moto 5.2.5 differs.

Measured in moto 5.2.5 (``moto/events/models.py``: ``put_events``, ``Rule.send_to_targets``;
``moto/events/utils.py``: ``EventTemplateParser``):

- a rule's ``State`` is never consulted: DISABLED rules deliver;
- a target that cannot be delivered to (e.g. a missing log group) raises out of
  ``put_events``, so the producer's call fails;
- ``InputPath`` and ``Input`` are ignored; ``InputTemplate`` placeholders are replaced as
  raw text (a string value is not quoted outside quotes) and ``time`` is a Unix number,
  not an ISO-8601 string;
- only the 10-entry limit is checked; the 256 KB request limit is not;
- a rule without an event pattern (a scheduled rule) matches every event.

So the middleware answers ``PutEvents`` itself: it validates the request as AWS does,
builds the event, and for each ENABLED rule whose pattern matches (moto's pattern matcher
is reused) renders each target's input and delivers it. A delivery problem is logged,
never returned to the producer: the event goes to the target's dead-letter queue if it has
one (without EventBridge's retries first), else it is dropped. Targets delivered:
CloudWatch Logs log groups (a ``{"timestamp", "message"}`` input becomes that log event)
and SQS queues.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from werkzeug.wrappers import Request, Response

from s3flow.local.errors import RequestRejected

log = logging.getLogger(__name__)

MAX_ENTRIES = 10
MAX_REQUEST_BYTES = 256 * 1024
_TARGET = "AWSEvents.PutEvents"
_PATH_TOKEN = re.compile(r"\.([^.\[\]]+)|\[(\d+)\]")
_PLACEHOLDER = re.compile(r"<([A-Za-z0-9_.\-]+)>")


@dataclass(frozen=True)
class Delivery:
    """One event handed to one rule target."""

    rule_name: str
    target_arn: str
    event: dict[str, Any]


def entry_size(entry: dict[str, Any]) -> int:
    """Entry size as AWS's "Calculating PutEvents event entry size" counts it."""
    size = 14 if entry.get("Time") is not None else 0
    for name in ("Source", "DetailType", "Detail"):
        value = entry.get(name)
        if isinstance(value, str):
            size += len(value.encode("utf-8"))
    for resource in entry.get("Resources") or ():
        if isinstance(resource, str):
            size += len(resource.encode("utf-8"))
    return size


def check_request(entries: list[dict[str, Any]]) -> None:
    if len(entries) > MAX_ENTRIES:
        raise RequestRejected(
            "ValidationException",
            "1 validation error detected: Value at 'entries' failed to satisfy constraint: "
            f"Member must have length less than or equal to {MAX_ENTRIES}",
        )
    if sum(entry_size(entry) for entry in entries) > MAX_REQUEST_BYTES:
        raise RequestRejected(
            "ValidationException", "Total size of the entries in the request is over the limit."
        )


def entry_error(entry: dict[str, Any]) -> dict[str, str] | None:
    for name in ("Source", "DetailType", "Detail"):
        if not entry.get(name):
            return {
                "ErrorCode": "InvalidArgument",
                "ErrorMessage": f"Parameter {name} is not valid. Reason: {name} is a required argument.",
            }
    try:
        detail = json.loads(entry["Detail"])
    except ValueError:
        detail = None
    if not isinstance(detail, dict):
        return {"ErrorCode": "MalformedDetail", "ErrorMessage": "Detail is malformed."}
    return None


def iso_time(value: Any = None) -> str:
    """EventBridge's ``time``: ISO-8601 UTC to the second."""
    if isinstance(value, int | float):
        moment = datetime.fromtimestamp(value, UTC)
    elif isinstance(value, str) and value:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)
    else:
        moment = datetime.now(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def build_event(entry: dict[str, Any], *, account: str, region: str) -> dict[str, Any]:
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": entry["DetailType"],
        "source": entry["Source"],
        "account": account,
        "time": iso_time(entry.get("Time")),
        "region": region,
        "resources": list(entry.get("Resources") or []),
        "detail": json.loads(entry["Detail"]),
    }


_MISSING = object()


def json_path(document: Any, path: str) -> Any:
    """The value at a simple JSONPath (``$``, ``$.a.b``, ``$.a[0]``), or ``_MISSING``."""
    if not path.startswith("$"):
        return _MISSING
    value = document
    for name, index in _PATH_TOKEN.findall(path[1:]):
        if name:
            if not isinstance(value, dict) or name not in value:
                return _MISSING
            value = value[name]
        else:
            if not isinstance(value, list) or int(index) >= len(value):
                return _MISSING
            value = value[int(index)]
    return value


def render_template(template: str, variables: dict[str, Any]) -> str:
    """InputTemplate rendering: inside a JSON string a value is inserted as escaped text,
    outside it is inserted as a JSON value (so strings get their quotes)."""
    out: list[str] = []
    in_string = False
    i = 0
    while i < len(template):
        char = template[i]
        if char == "\\" and in_string:
            out.append(template[i : i + 2])
            i += 2
            continue
        if char == '"':
            in_string = not in_string
        elif char == "<":
            match = _PLACEHOLDER.match(template, i)
            if match and match.group(1) in variables:
                value = variables[match.group(1)]
                if in_string:
                    text = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
                    out.append(json.dumps(text)[1:-1] if value is not None else "")
                else:
                    out.append(json.dumps(value, separators=(",", ":")))
                i = match.end()
                continue
        out.append(char)
        i += 1
    return "".join(out)


def target_input(target: dict[str, Any], event: dict[str, Any], *, rule_name: str, rule_arn: str) -> Any:
    """What a target receives: the event, ``Input``, ``InputPath`` or ``InputTransformer``.

    Returns a JSON value, or a ``str`` for a template that renders to plain text.
    """
    if target.get("Input") is not None:
        return json.loads(target["Input"])
    if target.get("InputPath"):
        value = json_path(event, target["InputPath"])
        return None if value is _MISSING else value
    transformer = target.get("InputTransformer")
    if not transformer:
        return event
    variables: dict[str, Any] = {
        "aws.events.rule-arn": rule_arn,
        "aws.events.rule-name": rule_name,
        "aws.events.event": event,
        "aws.events.event.json": event,
        "aws.events.event.ingestion-time": iso_time(),
    }
    for name, path in (transformer.get("InputPathsMap") or {}).items():
        value = json_path(event, path)
        variables[name] = None if value is _MISSING else value
    rendered = render_template(transformer["InputTemplate"], variables)
    try:
        return json.loads(rendered)
    except ValueError:
        return rendered


def log_event_for(payload: Any, event: dict[str, Any]) -> dict[str, Any]:
    """The CloudWatch Logs event a log-group target writes for one delivery.

    A ``{"timestamp": ..., "message": ...}`` input becomes that log event; any other input
    (the whole event by default) is the message, stamped with the event's time.
    """

    def millis(value: Any) -> int:
        if isinstance(value, int | float):
            return int(value)
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        return int(moment.timestamp() * 1000)

    if isinstance(payload, dict) and set(payload) == {"timestamp", "message"}:
        message = payload["message"]
        text = message if isinstance(message, str) else json.dumps(message, separators=(",", ":"))
        try:
            stamp = millis(payload["timestamp"])
        except ValueError:
            stamp = millis(event["time"])
        return {"timestamp": stamp, "message": text}
    text = payload if isinstance(payload, str) else json.dumps(payload, separators=(",", ":"))
    return {"timestamp": millis(event["time"]), "message": text}


class EventRouter:
    """Answers PutEvents against moto's buses, rules and targets."""

    def __init__(self, *, account: str, on_delivery: Callable[[Delivery], None] | None = None) -> None:
        self.account = account
        self.on_delivery = on_delivery

    def route(self, request: Request) -> Response | None:
        if request.method != "POST" or request.headers.get("X-Amz-Target") != _TARGET:
            return None
        region = _region(request)
        try:
            body = json.loads(request.get_data() or b"{}")
            result = self.put_events(body.get("Entries") or [], region=region)
        except RequestRejected as rejected:
            return Response(
                json.dumps({"__type": rejected.code, "message": rejected.message}),
                status=400,
                headers={"x-amzn-ErrorType": rejected.code},
                content_type="application/x-amz-json-1.1",
            )
        return Response(json.dumps(result), status=200, content_type="application/x-amz-json-1.1")

    def put_events(self, entries: list[dict[str, Any]], *, region: str) -> dict[str, Any]:
        from moto.events.models import events_backends

        check_request(entries)
        backend = events_backends[self.account][region]
        results: list[dict[str, Any]] = []
        for entry in entries:
            error = entry_error(entry)
            bus_name = (entry.get("EventBusName") or "default").split("/")[-1]
            bus = backend.event_buses.get(bus_name)
            if error is None and bus is None:
                error = {
                    "ErrorCode": "NotFoundException",
                    "ErrorMessage": f"Event bus {bus_name} does not exist.",
                }
            if error is not None or bus is None:
                results.append(error or {})
                continue
            event = build_event(entry, account=self.account, region=region)
            results.append({"EventId": event["id"]})
            for rule in list(bus.rules.values()):
                self._apply_rule(rule, event, region)
        failed = sum(1 for result in results if "ErrorCode" in result)
        return {"FailedEntryCount": failed, "Entries": results}

    def _apply_rule(self, rule: Any, event: dict[str, Any], region: str) -> None:
        if rule.state == "DISABLED" or not rule.event_pattern.get_pattern():
            return
        if not rule.event_pattern.matches_event(event):
            return
        for target in list(rule.targets):
            try:
                payload = target_input(target, event, rule_name=rule.name, rule_arn=rule.arn)
                self._deliver(target["Arn"], payload, event, region)
            except Exception as error:  # never the producer's problem
                log.warning("rule %s could not deliver to %s", rule.name, target.get("Arn"), exc_info=True)
                self._dead_letter(rule, target, event, error, region)
                continue
            if self.on_delivery is not None:
                self.on_delivery(Delivery(rule.name, target["Arn"], event))

    def _dead_letter(
        self, rule: Any, target: dict[str, Any], event: dict[str, Any], error: Exception, region: str
    ) -> None:
        """The event goes to the target's dead-letter queue, with AWS's message attributes."""
        queue_arn = (target.get("DeadLetterConfig") or {}).get("Arn")
        if not queue_arn:
            return  # dropped, as on AWS without a dead-letter queue
        from moto.sqs.models import sqs_backends

        _, _, _, queue_region, account, name = queue_arn.split(":", 5)
        attributes = {
            "RULE_ARN": rule.arn,
            "TARGET_ARN": target["Arn"],
            "ERROR_CODE": _error_code(error),
            "ERROR_MESSAGE": str(error)[:256] or type(error).__name__,
            "RETRY_ATTEMPTS": "0",  # a missing resource is not retried on AWS either
        }
        try:
            sqs_backends[account][queue_region or region].send_message(
                name,
                json.dumps(event),
                message_attributes={
                    k: {"DataType": "String", "StringValue": v} for k, v in attributes.items()
                },
            )
        except Exception:
            log.warning("could not dead-letter an event to %s", queue_arn, exc_info=True)

    def _deliver(self, arn: str, payload: Any, event: dict[str, Any], region: str) -> None:
        parts = arn.split(":", 6)
        service, target_region, account = parts[2], parts[3] or region, parts[4] or self.account
        if service == "logs":
            from moto.logs.models import logs_backends

            group = parts[6] if parts[5] == "log-group" else parts[5].split("/", 1)[-1]
            group = group.removesuffix(":*")
            logs = logs_backends[account][target_region]
            stream = event["id"]
            logs.create_log_stream(group, stream)
            logs.put_log_events(group, stream, [log_event_for(payload, event)])
        elif service == "sqs":
            from moto.sqs.models import sqs_backends

            body = payload if isinstance(payload, str) else json.dumps(payload)
            sqs_backends[account][target_region].send_message(parts[5], body)
        else:
            raise NotImplementedError(f"local EventBridge does not deliver to {service} targets")


def _error_code(error: Exception) -> str:
    """The ``ERROR_CODE`` EventBridge puts on a dead-lettered event."""
    name = type(error).__name__
    if "NotFound" in name or "NonExistent" in name:
        return "RESOURCE_NOT_FOUND"
    if "AccessDenied" in name:
        return "NO_PERMISSIONS"
    return "SDK_CLIENT_ERROR"


def _region(request: Request) -> str:
    match = re.search(r"Credential=[^/]+/\d{8}/([^/]+)/", request.headers.get("Authorization", ""))
    return match.group(1) if match else "us-east-1"
