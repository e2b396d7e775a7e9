"""Which deployment a command talks to, and the clients for it.

- no options: the local emulator (``http://127.0.0.1:4566``, stack ``TapStackdev``,
  dummy credentials);
- ``--stack TapStack{suffix}`` without ``--endpoint-url``: AWS, with the user's credentials;
- ``--endpoint-url``: that endpoint (with the user's credentials if they have any). An
  ``https://`` emulator (``s3flow local up --tls``) is verified with the CA in
  ``S3FLOW_CA_BUNDLE``, the file ``local up`` names in its banner; without it, botocore's own
  trust (``AWS_CA_BUNDLE``, else its bundle). The variable is read for an endpoint only: calls
  to AWS never trust the local CA.

Everything else (bucket, table, bus, log group, queue, function) comes from the stack's
CloudFormation outputs, locally exactly as on AWS, so nothing is hard-coded.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from s3flow.cli.errors import CliError, EmulatorUnreachableError, StackNotFoundError
from s3flow.local import emulator_session

DEFAULT_PORT = 4566
DEFAULT_ENDPOINT_URL = f"http://127.0.0.1:{DEFAULT_PORT}"
DEFAULT_STACK = "TapStackdev"
LOCAL_REGION = "us-east-1"
ENDPOINT_ENV = "S3FLOW_ENDPOINT_URL"
STACK_ENV = "S3FLOW_STACK"
CA_BUNDLE_ENV = "S3FLOW_CA_BUNDLE"


@dataclass(frozen=True)
class Target:
    stack_name: str
    endpoint_url: str | None  # None: AWS
    region: str | None = None
    ca_bundle: str | None = None  # the CA that signed an https:// endpoint's certificate
    _clients: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def is_local(self) -> bool:
        return self.endpoint_url is not None

    @property
    def where(self) -> str:
        return f"at {self.endpoint_url}" if self.endpoint_url else "in AWS"

    @cached_property
    def session(self) -> boto3.Session:
        if self.endpoint_url and not _has_user_credentials():
            return emulator_session(self.region or LOCAL_REGION)
        return boto3.Session(region_name=self.region or (LOCAL_REGION if self.endpoint_url else None))

    def client(self, service: str) -> Any:
        if service not in self._clients:
            config = Config(
                retries={"max_attempts": 2 if self.is_local else 5, "mode": "standard"},
                connect_timeout=3 if self.is_local else 10,
                s3={"addressing_style": "path"} if self.is_local else None,
            )
            self._clients[service] = self.session.client(
                service, endpoint_url=self.endpoint_url, config=config, verify=self.ca_bundle
            )
        return self._clients[service]

    @cached_property
    def outputs(self) -> dict[str, str]:
        return read_stack_outputs(self.client("cloudformation"), self.stack_name, self.where)

    def output(self, key: str) -> str:
        try:
            return self.outputs[key]
        except KeyError:
            raise CliError(f"stack {self.stack_name} has no output {key}: is it an s3flow stack?") from None


def _has_user_credentials() -> bool:
    return bool(os.environ.get("AWS_ACCESS_KEY_ID") or os.environ.get("AWS_PROFILE"))


def resolve_target(
    stack: str | None = None, endpoint_url: str | None = None, region: str | None = None
) -> Target:
    stack = stack or os.environ.get(STACK_ENV)
    endpoint_url = endpoint_url or os.environ.get(ENDPOINT_ENV)
    if endpoint_url:
        ca_bundle = os.environ.get(CA_BUNDLE_ENV) or None
        return Target(stack or DEFAULT_STACK, endpoint_url.rstrip("/"), region, ca_bundle)
    if stack:
        return Target(stack, None, region)
    return Target(DEFAULT_STACK, DEFAULT_ENDPOINT_URL, region)


def local_target(port: int, stack: str = DEFAULT_STACK) -> Target:
    return Target(stack, f"http://127.0.0.1:{port}", LOCAL_REGION)


def read_stack_outputs(cloudformation: Any, stack_name: str, where: str) -> dict[str, str]:
    from botocore.exceptions import EndpointConnectionError

    try:
        stacks = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
    except EndpointConnectionError as error:
        if where.startswith("at "):
            raise EmulatorUnreachableError(where[3:]) from None
        raise CliError(
            f"cannot reach AWS at {error.kwargs.get('endpoint_url', '')}: check your network"
        ) from None
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == "ValidationError":
            raise StackNotFoundError(stack_name, where) from None
        raise
    if not stacks:
        raise StackNotFoundError(stack_name, where)
    return {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", [])}
