"""What a described call is made of, and the pieces the per-service tables are built from.

A table maps an operation name to a resolver: given the call's parameters, the resolver
returns every (IAM action, resource ARN) pair IAM checks for it. The ARN formats are those of
the Service Authorization Reference, "Resource types defined by <service>"
(docs.aws.amazon.com/service-authorization/latest/reference/reference_policies_actions-resources-contextkeys.html).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from werkzeug.wrappers import Request


@dataclass(frozen=True)
class Authorization:
    action: str  # IAM action, e.g. "dynamodb:PutItem"
    resource: str  # ARN the action targets, or "*"


@dataclass(frozen=True)
class ApiCall:
    service: str  # signing name from the SigV4 credential scope: "dynamodb", "monitoring", ...
    operation: str  # API operation name, e.g. "PutItem", "GetObject"
    protocol: str  # "json", "query", "rest-xml", "rest-json" or "smithy-rpc-v2-cbor"
    # Every action/resource pair IAM checks for this call, each once, in the order met.
    authorizations: tuple[Authorization, ...]
    # False when the operation is not in our tables (or its parameters could not be read):
    # the action is then derived as "<prefix>:<Operation>" on "*".
    mapped: bool = True


@dataclass(frozen=True)
class Arns:
    """Builds the ARNs of the account and region the emulator stands for."""

    partition: str
    region: str
    account: str

    def __call__(
        self, service: str, resource: str, *, region: str | None = None, account: str | None = None
    ) -> str:
        region = self.region if region is None else region
        account = self.account if account is None else account
        return f"arn:{self.partition}:{service}:{region}:{account}:{resource}"


@dataclass(frozen=True)
class Call:
    """What a resolver reads: the operation's input and the request it came in."""

    params: Mapping[str, Any]  # input members by name: the JSON body, the query form, REST labels
    request: Request
    arns: Arns


# Given a call, the (action, resource) pairs IAM checks; may raise on malformed input.
Resolver = Callable[[Call], Iterable[tuple[str, str]]]
Table = Mapping[str, Resolver]


def on(action: str, resource: Callable[[Call], str]) -> Resolver:
    """One action on the resource ``resource`` reads from the call."""
    return lambda call: [(action, resource(call))]


def anywhere(action: str) -> Resolver:
    """An action that supports no resource-level permissions: IAM evaluates it on "*"."""
    return lambda _call: [(action, "*")]


def nothing(_call: Call) -> list[tuple[str, str]]:
    """An operation IAM never denies (STS GetCallerIdentity)."""
    return []


def distinct(pairs: Iterable[tuple[str, str]]) -> tuple[Authorization, ...]:
    """Each pair once, in the order first met."""
    return tuple(Authorization(action, resource) for action, resource in dict.fromkeys(pairs))
