"""What a rule's target receives: the event, or its ``Input``, ``InputPath`` or
``InputTransformer`` applied to it, as EventBridge renders them (moto 5.2.5 ignores
``Input`` and ``InputPath`` and inserts template values as raw text).
"""

from __future__ import annotations

import json
import re
from typing import Any

from s3flow.local.eventbridge.put_events import iso_time

_PATH_TOKEN = re.compile(r"\.([^.\[\]]+)|\[(\d+)\]")
_PLACEHOLDER = re.compile(r"<([A-Za-z0-9_.\-]+)>")

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
