"""Evaluates the emulator's metric alarms on the metrics in it, as CloudWatch does on AWS.

Every ``interval`` seconds, ``AlarmEvaluator`` reads each alarm (``DescribeAlarms``), its
metric's statistic for each of its last ``EvaluationPeriods`` periods
(``GetMetricStatistics``), decides its state with ``alarms.transition`` and, on a change,
sets it (``SetAlarmState``: moto keeps the history) and publishes CloudWatch's notification
to each SNS action of the new state
(https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html).

``period``: seconds that stand for every alarm's ``Period`` (to try alarms without waiting
5 minutes); None keeps the template's. moto creates alarms in OK, where AWS starts them in
INSUFFICIENT_DATA: locally, an alarm with no data and ``notBreaching`` never changes state.

With an ``authorizer``, each notification is checked as AWS checks it: the topic's policy
must let ``cloudwatch.amazonaws.com`` publish for this alarm (``aws:SourceArn``,
``aws:SourceAccount``), and an encrypted topic's key policy must let it use the key
(docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/Notify_Users_Alarm_Changes.html,
docs.aws.amazon.com/sns/latest/dg/sns-key-management.html). A refused action is not
published; it is listed in the transition's ``failed_actions``, as CloudWatch records
"Failed to execute action" in the alarm's history.
"""

from __future__ import annotations

import functools
import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from s3flow.local.cloudwatch.alarms import AlarmRule, Evaluation, notification, transition
from s3flow.local.cloudwatch.service_metrics import put_queue_depths
from s3flow.local.iam.enforcement import Authorizer

log = logging.getLogger(__name__)

MAX_INTERVAL = 60.0
MAX_REASON = 1023  # SetAlarmState's StateReason limit
MAX_SUBJECT = 100  # SNS Publish's Subject limit


@dataclass(frozen=True)
class AlarmTransition:
    name: str
    old_state: str
    new_state: str
    reason: str
    at: datetime
    failed_actions: tuple[str, ...] = ()  # each action not executed, and why


def evaluation_interval(period: int | None) -> float:
    """A fifth of the (shortened) period, at most a minute: a datapoint is seen several times
    while it is inside the alarm's window."""
    return min(MAX_INTERVAL, max(1.0, period / 5)) if period else MAX_INTERVAL


class AlarmEvaluator:
    def __init__(
        self,
        clients: Callable[[str], Any],
        *,
        account: str,
        region: str,
        period: int | None = None,
        on_transition: Callable[[AlarmTransition], None] | None = None,
        authorizer: Authorizer | None = None,
    ) -> None:
        self._clients = clients
        self.authorizer = authorizer
        self.account = account
        self.region = region
        self.period = period
        self.interval = evaluation_interval(period)
        self.on_transition = on_transition
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # Made on first use, on the evaluator's thread: a client costs tens of milliseconds to make,
    # which a pipeline's start would otherwise wait for.
    @functools.cached_property
    def _cloudwatch(self) -> Any:
        return self._clients("cloudwatch")

    @functools.cached_property
    def _sns(self) -> Any:
        return self._clients("sns")

    @functools.cached_property
    def _kms(self) -> Any:
        return self._clients("kms")

    @functools.cached_property
    def _sqs(self) -> Any:
        return self._clients("sqs")

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="alarm-evaluator", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.evaluate_all()
            except Exception:
                log.warning("alarm evaluation failed", exc_info=True)

    def evaluate_all(self, now: datetime | None = None) -> list[AlarmTransition]:
        """Evaluates every metric alarm once; returns the changes of state it made."""
        now = now or datetime.now(UTC)
        described = [
            alarm
            for page in self._cloudwatch.get_paginator("describe_alarms").paginate(AlarmTypes=["MetricAlarm"])
            for alarm in page.get("MetricAlarms", [])
        ]
        rules = {alarm["AlarmName"]: AlarmRule.from_description(alarm) for alarm in described}
        put_queue_depths([r for r in rules.values() if r], sqs=self._sqs, cloudwatch=self._cloudwatch)
        changes = []
        for alarm in described:
            rule = rules[alarm["AlarmName"]]
            if rule is None or self._stop.is_set():
                continue
            old_state = str(alarm.get("StateValue", "INSUFFICIENT_DATA"))
            evaluation = transition(rule, self._datapoints(rule, now), old_state)
            if evaluation is not None:
                changes.append(self._change(rule, old_state, evaluation, now))
        return changes

    def _datapoints(self, rule: AlarmRule, now: datetime) -> list[float | None]:
        """The alarm's statistic for each of its evaluated periods, oldest first (None: no data)."""
        period = self.period or rule.period
        values: list[float | None] = []
        for back in range(rule.evaluation_periods - 1, -1, -1):
            end = now - timedelta(seconds=back * period)
            query: dict[str, Any] = {
                "Namespace": rule.namespace,
                "MetricName": rule.metric_name,
                "Dimensions": [{"Name": name, "Value": value} for name, value in rule.dimensions],
                "StartTime": end - timedelta(seconds=period),
                "EndTime": end,
                "Period": period,
                "Statistics": [rule.statistic],
            }
            if rule.unit:
                query["Unit"] = rule.unit
            points = self._cloudwatch.get_metric_statistics(**query).get("Datapoints", [])
            values.append(float(points[0][rule.statistic]) if points else None)
        return values

    def _change(
        self, rule: AlarmRule, old_state: str, evaluation: Evaluation, now: datetime
    ) -> AlarmTransition:
        self._cloudwatch.set_alarm_state(
            AlarmName=rule.name,
            StateValue=evaluation.state,
            StateReason=evaluation.reason[:MAX_REASON],
            StateReasonData=json.dumps(evaluation.reason_data),
        )
        message = json.dumps(
            notification(rule, old_state, evaluation, now, account=self.account, region=self.region)
        )
        subject = f'{evaluation.state}: "{rule.name}" in {self.region}'[:MAX_SUBJECT]
        failed: list[str] = []
        for arn in rule.actions_for(evaluation.state):
            if not arn.startswith("arn:") or ":sns:" not in arn:
                continue  # Auto Scaling, EC2 and Systems Manager actions are not emulated
            try:
                refusal = self._refusal(rule, arn)
                if refusal is None:
                    self._sns.publish(TopicArn=arn, Subject=subject, Message=message)
            except Exception as error:
                refusal = f"{type(error).__name__}: {error}"
            if refusal is not None:
                log.warning("alarm %s: failed to execute action %s: %s", rule.name, arn, refusal)
                failed.append(f"Failed to execute action {arn}: {refusal}")
        change = AlarmTransition(
            rule.name, old_state, evaluation.state, evaluation.reason, now, failed_actions=tuple(failed)
        )
        if self.on_transition is not None:
            try:
                self.on_transition(change)
            except Exception:
                log.exception("on_transition callback failed")
        return change

    def _refusal(self, rule: AlarmRule, topic_arn: str) -> str | None:
        """Why CloudWatch may not publish this alarm's notification to ``topic_arn``, if it may not."""
        if self.authorizer is None:
            return None
        alarm_arn = f"arn:aws:cloudwatch:{self.region}:{self.account}:alarm:{rule.name}"
        checks = [("sns:Publish", topic_arn)]
        key = self._sns.get_topic_attributes(TopicArn=topic_arn)["Attributes"].get("KmsMasterKeyId")
        if key:
            key_arn = self._kms.describe_key(KeyId=key)["KeyMetadata"]["Arn"]
            checks += [("kms:GenerateDataKey", key_arn), ("kms:Decrypt", key_arn)]
        for action, resource in checks:
            denial = self.authorizer.service_may(
                "cloudwatch.amazonaws.com",
                action,
                resource,
                source_arn=alarm_arn,
                source_account=self.account,
            )
            if denial is not None:
                return denial.message
        return None
