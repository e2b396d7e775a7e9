"""``AWS::Events::EventBus`` and ``AWS::Events::Rule`` (pattern, state, targets with input
transformation, dead-letter and retry settings), created in moto."""

from __future__ import annotations

import json
from typing import Any

from s3flow.local.cloudformation.errors import ProvisionError
from s3flow.local.cloudformation.resources.base import Context, Created, ResourceType


def _event_bus(ctx: Context, logical_id: str, props: dict[str, Any]) -> Created:
    args: dict[str, Any] = {"Name": props["Name"]}
    for key in ("Description", "EventSourceName", "Tags"):
        if props.get(key):
            args[key] = props[key]
    arn = ctx.client("events").create_event_bus(**args)["EventBusArn"]
    return Created(props["Name"], {"Arn": arn, "Name": props["Name"]})


def _rule(ctx: Context, logical_id: str, props: dict[str, Any]) -> Created:
    name = ctx.name(logical_id, props.get("Name"), max_length=64)
    bus = props.get("EventBusName", "default")
    args: dict[str, Any] = {"Name": name, "EventBusName": bus, "State": props.get("State", "ENABLED")}
    for key in ("Description", "ScheduleExpression", "RoleArn"):
        if key in props:
            args[key] = props[key]
    if "EventPattern" in props:
        pattern = props["EventPattern"]
        args["EventPattern"] = pattern if isinstance(pattern, str) else json.dumps(pattern)
    events = ctx.client("events")
    arn = events.put_rule(**args)["RuleArn"]
    if props.get("Targets"):
        response = events.put_targets(Rule=name, EventBusName=bus, Targets=props["Targets"])
        if response.get("FailedEntryCount"):
            raise ProvisionError(f"{logical_id}: targets rejected: {response['FailedEntries']}")
    # CloudFormation's Ref of a rule on a custom bus is "bus|rule".
    bus_name = bus.rsplit("/", 1)[-1]
    physical_id = name if bus_name == "default" else f"{bus_name}|{name}"
    return Created(physical_id, {"Arn": arn})


EVENT_BUS = ResourceType(
    "AWS::Events::EventBus",
    known_properties=frozenset({"Name", "Description", "Tags", "EventSourceName"}),
    create=_event_bus,
)
RULE = ResourceType(
    "AWS::Events::Rule",
    known_properties=frozenset(
        [
            "Name",
            "Description",
            "EventBusName",
            "EventPattern",
            "ScheduleExpression",
            "State",
            "RoleArn",
            "Targets",
        ]
    ),
    create=_rule,
)
