"""The embedded emulator: the synthesized stack on moto in server mode, on one machine.

Subsystems, cut as moto and LocalStack cut theirs:

- ``server``: moto behind our middleware (routes, interceptors, observers);
- ``pipeline``: composes the subsystems into the running pipeline;
- ``cloudformation/``: provisions the synthesized template (one module per resource type);
- ``lambda_/``: the functions' runtime (invocations, retries, destinations, sandboxes);
- ``event_sources/``: what invokes the functions (S3 notifications, DynamoDB streams);
- ``eventbridge/``: ``PutEvents`` delivered to the rules' targets;
- ``xray``: the X-Ray daemon and trace store; ``emf_extraction``: EMF lines to CloudWatch metrics;
- ``cloudwatch/``: the stack's alarms, evaluated on the emulator's metrics, notifying their topics;
- ``iam/``: the policies' evaluation, each request's action and resource, the enforcement;
- ``state/``: the state folder of ``local up --state`` (one module per service, ``keeper``);
- ``deployment``: what provisioning produced; ``errors``: the emulator's exceptions;
  ``credentials``: the dummy credentials and the boto3 sessions that talk to the emulator.

The names below are the emulator's public surface (the CLI, bench and tests use them). They
are imported on first use: a Lambda sandbox imports ``lambda_.sandbox`` alone, and a CLI
command against AWS imports ``credentials`` alone; neither should load moto.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from s3flow.local.cloudformation import provision
    from s3flow.local.credentials import DUMMY_CREDENTIALS, emulator_client, emulator_session
    from s3flow.local.deployment import Deployment, FunctionSpec, StreamMapping
    from s3flow.local.errors import (
        CloudAssemblyMissingError,
        FunctionNotFoundError,
        LocalError,
        PortInUseError,
    )
    from s3flow.local.event_sources.s3_event_record import objects_in, s3_record
    from s3flow.local.lambda_.invocation import Invocation
    from s3flow.local.lambda_.runtime import LambdaRuntime, Listener
    from s3flow.local.lambda_.sandbox import Outcome, StartHook
    from s3flow.local.pipeline import FlowEvent, FlowKind, LocalPipeline, Unfinished
    from s3flow.local.server import LocalServer

_HOMES = {
    "provision": "s3flow.local.cloudformation",
    "DUMMY_CREDENTIALS": "s3flow.local.credentials",
    "emulator_client": "s3flow.local.credentials",
    "emulator_session": "s3flow.local.credentials",
    "Deployment": "s3flow.local.deployment",
    "FunctionSpec": "s3flow.local.deployment",
    "StreamMapping": "s3flow.local.deployment",
    "CloudAssemblyMissingError": "s3flow.local.errors",
    "FunctionNotFoundError": "s3flow.local.errors",
    "LocalError": "s3flow.local.errors",
    "PortInUseError": "s3flow.local.errors",
    "s3_record": "s3flow.local.event_sources.s3_event_record",
    "Invocation": "s3flow.local.lambda_.invocation",
    "LambdaRuntime": "s3flow.local.lambda_.runtime",
    "Listener": "s3flow.local.lambda_.runtime",
    "Outcome": "s3flow.local.lambda_.sandbox",
    "StartHook": "s3flow.local.lambda_.sandbox",
    "FlowEvent": "s3flow.local.pipeline",
    "FlowKind": "s3flow.local.pipeline",
    "LocalPipeline": "s3flow.local.pipeline",
    "Unfinished": "s3flow.local.pipeline",
    "objects_in": "s3flow.local.event_sources.s3_event_record",
    "LocalServer": "s3flow.local.server",
}

__all__ = [
    "DUMMY_CREDENTIALS",
    "CloudAssemblyMissingError",
    "Deployment",
    "FlowEvent",
    "FlowKind",
    "FunctionNotFoundError",
    "FunctionSpec",
    "Invocation",
    "LambdaRuntime",
    "Listener",
    "LocalError",
    "LocalPipeline",
    "LocalServer",
    "Outcome",
    "PortInUseError",
    "StartHook",
    "StreamMapping",
    "Unfinished",
    "emulator_client",
    "emulator_session",
    "objects_in",
    "provision",
    "s3_record",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
