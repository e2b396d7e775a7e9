"""Copies of the synthesized cloud assembly with one grant or policy taken out.

The fidelity tests take a copy, remove exactly one thing AWS checks (an action from a role's
policy, a statement from a resource policy, a whole resource), and show the local pipeline
failing there the way AWS would. The copy links the asset folders instead of copying them.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

Template = dict[str, Any]


def assembly_copy(
    source: Path, destination: Path, edit: Callable[[Template], None], stack: str = "TapStackdev"
) -> Path:
    """``source`` copied to ``destination`` with ``edit`` applied to the stack's template."""
    destination.mkdir(parents=True, exist_ok=True)
    for entry in source.iterdir():
        target = destination / entry.name
        if entry.is_dir():
            target.symlink_to(entry.resolve(), target_is_directory=True)
        else:
            shutil.copy2(entry, target)
    path = destination / f"{stack}.template.json"
    template = json.loads(path.read_text(encoding="utf-8"))
    edit(template)
    path.write_text(json.dumps(template), encoding="utf-8")
    return destination


def statements(document: dict[str, Any]) -> list[dict[str, Any]]:
    found = document.get("Statement", [])
    return [found] if isinstance(found, dict) else list(found)


def _policy_documents(template: Template, resource_type: str) -> Iterator[tuple[str, dict[str, Any]]]:
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] != resource_type:
            continue
        properties = resource["Properties"]
        if "PolicyDocument" in properties:
            yield logical_id, properties["PolicyDocument"]
        for policy in properties.get("Policies", []):
            yield logical_id, policy["PolicyDocument"]


def remove_action(template: Template, logical_id_prefix: str, action: str) -> None:
    """Takes ``action`` out of the ``AWS::IAM::Policy`` whose logical id starts with
    ``logical_id_prefix`` (a statement left with no action goes too); fails if it is not there."""
    for logical_id, document in _policy_documents(template, "AWS::IAM::Policy"):
        if not logical_id.startswith(logical_id_prefix):
            continue
        kept = []
        removed = False
        for statement in statements(document):
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            if action in actions:
                removed = True
                actions = [name for name in actions if name != action]
                if not actions:
                    continue
                statement = {**statement, "Action": actions if len(actions) > 1 else actions[0]}
            kept.append(statement)
        if removed:
            document["Statement"] = kept
            return
    raise AssertionError(f"no {action} in a policy {logical_id_prefix}*")


def remove_statements(
    template: Template, resource_type: str, matches: Callable[[dict[str, Any]], bool]
) -> None:
    """Takes the statements ``matches`` picks out of every policy of ``resource_type``
    (e.g. ``AWS::SQS::QueuePolicy``); fails if none matched."""
    removed = 0
    for _, document in _policy_documents(template, resource_type):
        kept = [statement for statement in statements(document) if not matches(statement)]
        removed += len(statements(document)) - len(kept)
        document["Statement"] = kept
    if resource_type == "AWS::KMS::Key":
        for resource in template["Resources"].values():
            if resource["Type"] == resource_type and "KeyPolicy" in resource["Properties"]:
                document = resource["Properties"]["KeyPolicy"]
                kept = [statement for statement in statements(document) if not matches(statement)]
                removed += len(statements(document)) - len(kept)
                document["Statement"] = kept
    if not removed:
        raise AssertionError(f"no statement of a {resource_type} matched")


def remove_resources(template: Template, resource_type: str) -> None:
    """Takes every resource of ``resource_type`` out, with the DependsOn naming them."""
    gone = {
        logical_id
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == resource_type
    }
    if not gone:
        raise AssertionError(f"no {resource_type} in the template")
    for logical_id in gone:
        del template["Resources"][logical_id]
    for resource in template["Resources"].values():
        depends = resource.get("DependsOn")
        if isinstance(depends, list):
            resource["DependsOn"] = [name for name in depends if name not in gone]
        elif depends in gone:
            del resource["DependsOn"]


def principal_service(statement: dict[str, Any]) -> str | None:
    principal = statement.get("Principal")
    return principal.get("Service") if isinstance(principal, dict) else None
