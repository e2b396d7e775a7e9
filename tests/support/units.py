"""Stack units synthesized alone, each in a stack of its own with what it is wired to."""

from __future__ import annotations

from typing import Any

from aws_cdk import App, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_lambda as lambda_
from aws_cdk.assertions import Template

from s3flow.infra.processing import Processing
from s3flow.infra.publishing import Publishing

INLINE = "def handler(event, context): pass"


def publishing_alone(**props: Any) -> Template:
    """The Publishing unit on a table with a stream and a bus; ``props`` are its own."""
    stack = Stack(App(), "Publisher")
    table = dynamodb.Table(
        stack,
        "Table",
        partition_key=dynamodb.Attribute(name="pk", type=dynamodb.AttributeType.STRING),
        stream=dynamodb.StreamViewType.NEW_AND_OLD_IMAGES,
    )
    Publishing(
        stack,
        "Publishing",
        environment_suffix="test",
        code=lambda_.Code.from_inline(INLINE),
        table=table,
        event_bus=events.EventBus(stack, "Bus"),
        **props,
    )
    return Template.from_stack(stack)


def processing_alone(**props: Any) -> Template:
    stack = Stack(App(), "Processor")
    Processing(stack, "Processing", environment_suffix="test", code=lambda_.Code.from_inline(INLINE), **props)
    return Template.from_stack(stack)


def stream_mapping(template: Template) -> dict[str, Any]:
    """The properties of the template's one event source mapping."""
    (mapping,) = template.find_resources("AWS::Lambda::EventSourceMapping").values()
    return dict(mapping["Properties"])
