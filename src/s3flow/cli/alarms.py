"""``alarms``: each alarm of the stack with its state, why, and since when.

The same ``DescribeAlarms`` locally (the emulator evaluates the stack's alarms on the metrics
the local pipeline writes) and on AWS: the stack's alarms are the ones named
``s3flow-<environment>-``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from rich.table import Table
from rich.text import Text

from s3flow.cli.metrics import stack_environment
from s3flow.cli.target import Target

STATE_STYLE = {"ALARM": "red", "OK": "green", "INSUFFICIENT_DATA": "yellow"}


@dataclass(frozen=True)
class AlarmStatus:
    name: str
    state: str
    reason: str
    since: datetime | None


def alarm_prefix(target: Target) -> str:
    return f"s3flow-{stack_environment(target)}-"


def read_alarms(target: Target, prefix: str) -> list[AlarmStatus]:
    """The metric and composite alarms whose name starts with ``prefix``, by name."""
    paginator = target.client("cloudwatch").get_paginator("describe_alarms")
    found: list[AlarmStatus] = []
    for page in paginator.paginate(AlarmNamePrefix=prefix):
        for alarm in page.get("MetricAlarms", []) + page.get("CompositeAlarms", []):
            found.append(
                AlarmStatus(
                    name=str(alarm["AlarmName"]),
                    state=str(alarm.get("StateValue", "")),
                    reason=str(alarm.get("StateReason", "")),
                    since=alarm.get("StateUpdatedTimestamp"),
                )
            )
    return sorted(found, key=lambda status: status.name)


def alarms_table(statuses: list[AlarmStatus], prefix: str, where: str) -> Table:
    in_alarm = sum(1 for status in statuses if status.state == "ALARM")
    table = Table(
        title=f"alarms {prefix}* {where} ({len(statuses)}, {in_alarm} in ALARM)",
        title_justify="left",
        box=None,
        pad_edge=False,
    )
    table.add_column("alarm", no_wrap=True)
    table.add_column("state", no_wrap=True)
    table.add_column("since", no_wrap=True)
    table.add_column("reason", overflow="fold")
    for status in statuses:
        since = f"{status.since.astimezone():%Y-%m-%d %H:%M:%S}" if status.since else "-"
        table.add_row(
            status.name, Text(status.state, style=STATE_STYLE.get(status.state, "")), since, status.reason
        )
    return table
