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

So the middleware answers ``PutEvents`` itself: it validates the request as AWS does and
builds the event (``put_events``), and for each ENABLED rule whose pattern matches (moto's
pattern matcher is reused) renders each target's input (``input_transformer``) and
delivers it. A delivery problem is logged, never returned to the producer: the event goes
to the target's dead-letter queue if it has one (without EventBridge's retries first), else
it is dropped. Targets delivered:
CloudWatch Logs log groups (a ``{"timestamp", "message"}`` input becomes that log event)
and SQS queues.

With an ``authorizer``, each delivery is checked as EventBridge's service principal is on AWS:
a log group target needs the account's CloudWatch Logs resource policy to let
``events.amazonaws.com`` create streams and put events in it, a queue target or dead-letter
queue needs its queue policy to let it send for this rule (``aws:SourceArn``)
(docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-resource-based.html,
docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-dlq.html). A refused delivery counts
as the rule's ``FailedInvocations`` and dead-letters the event with ``ERROR_CODE``
``NO_PERMISSIONS``; a refused dead-letter send drops it, counted as
``InvocationsFailedToBeSentToDlq``
(docs.aws.amazon.com/eventbridge/latest/userguide/eb-monitoring.html).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from werkzeug.wrappers import Request, Response

from s3flow.local.errors import RequestRejected
from s3flow.local.eventbridge.input_transformer import target_input
from s3flow.local.eventbridge.put_events import build_event, check_request, entry_error
from s3flow.local.iam.api_calls.wire import credential_scope
from s3flow.local.iam.enforcement import Authorizer, Denial

log = logging.getLogger(__name__)

_TARGET = "AWSEvents.PutEvents"


@dataclass(frozen=True)
class Delivery:
    """One event handed to one rule target."""

    rule_name: str
    target_arn: str
    event: dict[str, Any]


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


class AccessDeniedToTarget(Exception):
    """EventBridge's service principal may not deliver to the target (its resource policy)."""

    def __init__(self, denial: Denial) -> None:
        super().__init__(denial.message)


# EventBridge's per-rule metrics (dimensions EventBusName and RuleName), one datum per event.
RULE_METRIC_NAMESPACE = "AWS/Events"
FAILED_INVOCATIONS = "FailedInvocations"
FAILED_TO_DEAD_LETTER = "InvocationsFailedToBeSentToDlq"


class EventRouter:
    """Answers PutEvents against moto's buses, rules and targets."""

    def __init__(
        self,
        *,
        account: str,
        on_delivery: Callable[[Delivery], None] | None = None,
        authorizer: Authorizer | None = None,
        put_metric: Callable[[str, dict[str, str]], None] | None = None,
        on_failure: Callable[[Delivery, str], None] | None = None,
    ) -> None:
        self.account = account
        self.on_delivery = on_delivery
        self.on_failure = on_failure  # a delivery that failed, and why
        self.authorizer = authorizer
        # (metric name, dimensions): records one datum of EventBridge's per-rule metrics.
        self.put_metric = put_metric

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
                self._authorize_delivery(rule.arn, target["Arn"], event, region)
                self._deliver(target["Arn"], payload, event, region)
            except Exception as error:  # never the producer's problem
                log.warning("rule %s could not deliver to %s: %s", rule.name, target.get("Arn"), error)
                self._metric(FAILED_INVOCATIONS, rule)
                self._dead_letter(rule, target, event, error, region)
                if self.on_failure is not None:
                    self.on_failure(Delivery(rule.name, target.get("Arn", ""), event), str(error))
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
        denial = self._service_may("sqs:SendMessage", queue_arn, rule.arn)
        if denial is not None:
            log.warning("rule %s could not dead-letter an event: %s", rule.name, denial.message)
            self._metric(FAILED_TO_DEAD_LETTER, rule)
            return
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
            self._metric(FAILED_TO_DEAD_LETTER, rule)

    def _authorize_delivery(self, rule_arn: str, target_arn: str, event: dict[str, Any], region: str) -> None:
        parts = target_arn.split(":", 6)
        if parts[2] == "logs":
            group = _log_group_name(parts)
            where = f"{parts[3] or region}:{parts[4] or self.account}"
            stream = f"arn:aws:logs:{where}:log-group:{group}:log-stream:{event['id']}"
            checks = [("logs:CreateLogStream", stream), ("logs:PutLogEvents", stream)]
        elif parts[2] == "sqs":
            checks = [("sqs:SendMessage", target_arn)]
        else:
            checks = []
        for action, resource in checks:
            denial = self._service_may(action, resource, rule_arn)
            if denial is not None:
                raise AccessDeniedToTarget(denial)

    def _service_may(self, action: str, resource: str, rule_arn: str) -> Denial | None:
        if self.authorizer is None:
            return None
        return self.authorizer.service_may(
            "events.amazonaws.com", action, resource, source_arn=rule_arn, source_account=self.account
        )

    def _metric(self, name: str, rule: Any) -> None:
        if self.put_metric is not None:
            try:
                self.put_metric(name, {"EventBusName": rule.event_bus_name, "RuleName": rule.name})
            except Exception:
                log.warning("could not record %s of rule %s", name, rule.name, exc_info=True)

    def _deliver(self, arn: str, payload: Any, event: dict[str, Any], region: str) -> None:
        parts = arn.split(":", 6)
        service, target_region, account = parts[2], parts[3] or region, parts[4] or self.account
        if service == "logs":
            from moto.logs.models import logs_backends

            group = _log_group_name(parts)
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


def _log_group_name(arn_parts: list[str]) -> str:
    """The log group a target ARN (split on its first six colons) names."""
    group = arn_parts[6] if arn_parts[5] == "log-group" else arn_parts[5].split("/", 1)[-1]
    return group.removesuffix(":*")


def _error_code(error: Exception) -> str:
    """The ``ERROR_CODE`` EventBridge puts on a dead-lettered event."""
    name = type(error).__name__
    if "NotFound" in name or "NonExistent" in name:
        return "RESOURCE_NOT_FOUND"
    if "AccessDenied" in name:
        return "NO_PERMISSIONS"
    return "SDK_CLIENT_ERROR"


def _region(request: Request) -> str:
    scope = credential_scope(request)
    return scope.region if scope is not None and scope.region else "us-east-1"
