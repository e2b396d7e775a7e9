"""What a resource type is, what its ``create()`` works with and gives back, and the value
conversions several types share."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3

from s3flow.local.cloudformation.template import Resolver, physical_name
from s3flow.local.deployment import Deployment


@dataclass(frozen=True)
class Created:
    """What a ``create()`` made: the Ref value and the Fn::GetAtt attributes."""

    physical_id: str
    attributes: dict[str, Any] = field(default_factory=dict)


class Context:
    """One provisioning run, as a ``create()`` sees it: the emulator's clients, the resolver
    (stack, region, account, partition, the template), the deployment being filled in, steps
    deferred until every resource exists, and the cloud assembly the template came from (None
    for a template provisioned on its own)."""

    def __init__(
        self,
        session: boto3.session.Session,
        endpoint_url: str,
        resolver: Resolver,
        deployment: Deployment,
        cloud_assembly: Path | None = None,
    ) -> None:
        self._session = session
        self.cloud_assembly = cloud_assembly
        self._endpoint_url = endpoint_url
        self._clients: dict[str, Any] = {}
        self.resolver = resolver
        self.deployment = deployment
        self.deferred: list[Callable[[], Any]] = []

    def client(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = self._session.client(service, endpoint_url=self._endpoint_url)
        return self._clients[service]

    @property
    def stack(self) -> str:
        return self.resolver.stack_name

    @property
    def region(self) -> str:
        return self.resolver.region

    @property
    def account(self) -> str:
        return self.resolver.account

    @property
    def partition(self) -> str:
        return str(self.resolver.pseudo["AWS::Partition"])

    def name(self, logical_id: str, given: str | None, *, max_length: int, lower: bool = False) -> str:
        """The name the template gives, or the one CloudFormation would generate."""
        return given or physical_name(self.stack, logical_id, max_length=max_length, lower=lower)


# (context, logical id, resolved properties) -> what was made
Create = Callable[[Context, str, dict[str, Any]], Created]
# (logical id, unresolved properties, the template's resources): raises before anything exists
Check = Callable[[str, Mapping[str, Any], Mapping[str, Any]], None]


@dataclass(frozen=True)
class ResourceType:
    """A CloudFormation resource type the emulator supports: a property outside
    ``known_properties`` is refused, never ignored."""

    name: str
    known_properties: frozenset[str]
    create: Create
    check: Check | None = None


def tag_map(tags: list[dict[str, str]] | None) -> dict[str, str]:
    return {tag["Key"]: tag["Value"] for tag in tags or []}


def flag(value: Any) -> bool:
    """A CloudFormation boolean: true/false, or their strings."""
    return value is True or str(value).lower() == "true"


def sdk_value(value: Any) -> str:
    """A template value as an API's string attribute: booleans lowercase, structures as JSON."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value) if isinstance(value, (dict, list)) else str(value)
