"""The emulator's dummy credentials, and the boto3 sessions and clients that talk to it.

moto accepts any credentials, so the emulator's own clients (provisioning, failure
destinations, metrics, the trace store) and the sandboxes' environments carry fixed dummy
ones: real credentials are never sent to the emulator, and these can reach no real account.

An emulator served over HTTPS (``LocalServer(tls=...)``) registers its CA for its endpoint URL
(``trust_emulator_ca``) while it serves: every client made by ``emulator_session`` or
``emulator_client`` for that endpoint verifies the server's certificate with that CA, so
provisioning, the metric sinks, the failure destinations and the trace store need no
argument of their own, and none of them turns verification off.
"""

from __future__ import annotations

import base64
import hashlib
import threading
from collections.abc import Callable
from typing import Any

import boto3

# The environment Lambda gives a function's sandbox holds a session token too.
DUMMY_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
}
# The keyword arguments of a boto3 session or client.
SESSION_CREDENTIALS = {
    "aws_access_key_id": DUMMY_CREDENTIALS["AWS_ACCESS_KEY_ID"],
    "aws_secret_access_key": DUMMY_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
}


# The CA of each emulator this process serves over HTTPS, by endpoint URL.
_emulator_cas: dict[str, str] = {}
_emulator_cas_lock = threading.Lock()


def trust_emulator_ca(endpoint_url: str, ca_bundle: str | None) -> None:
    """From now on, the emulator's clients for ``endpoint_url`` verify its certificate with
    the CA in ``ca_bundle`` (a PEM file); None forgets the endpoint's CA."""
    with _emulator_cas_lock:
        if ca_bundle is None:
            _emulator_cas.pop(endpoint_url.rstrip("/"), None)
        else:
            _emulator_cas[endpoint_url.rstrip("/")] = ca_bundle


def emulator_ca(endpoint_url: str) -> str | None:
    """The CA registered for ``endpoint_url``, if it is an emulator served over HTTPS here."""
    with _emulator_cas_lock:
        return _emulator_cas.get(endpoint_url.rstrip("/"))


class EmulatorSession(boto3.session.Session):
    """A boto3 session whose clients for an HTTPS emulator of this process verify its
    certificate with the emulator's CA, unless the caller says how to verify (``verify=``)."""

    def client(self, *args: Any, **kwargs: Any) -> Any:
        endpoint_url = kwargs.get("endpoint_url")
        if kwargs.get("verify") is None and endpoint_url:
            kwargs["verify"] = emulator_ca(endpoint_url)
        return super().client(*args, **kwargs)


def emulator_session(region: str) -> boto3.session.Session:
    """A session for the emulator, in ``region``, with the dummy credentials."""
    return EmulatorSession(region_name=region, **SESSION_CREDENTIALS)


def emulator_client(service: str, *, endpoint_url: str, region: str) -> Any:
    """A boto3 client of ``service`` on the emulator at ``endpoint_url``."""
    return emulator_session(region).client(service, endpoint_url=endpoint_url)


class LazyClient:
    """A client built on first use, once, whichever thread asks first: the emulator's metric
    sinks run on the runtime's threads, and most runs never need their client."""

    def __init__(self, factory: Callable[[], Any]) -> None:
        self._factory = factory
        self._client: Any = None
        self._lock = threading.Lock()

    def __call__(self) -> Any:
        with self._lock:
            if self._client is None:
                self._client = self._factory()
            return self._client


# Lambda gives each sandbox temporary credentials of the function's execution role, a session
# named after the function (docs.aws.amazon.com/lambda/latest/dg/lambda-intro-execution-role.html).
# Locally the access key id alone identifies the role: the emulator's IAM evaluation maps it
# back with ``role_access_key_id``; the secret is not checked (moto checks no signature).
ROLE_KEY_PREFIX = "ASIA"  # what STS's temporary access key ids start with


def role_access_key_id(role_arn: str, function_name: str) -> str:
    """The access key id the sandboxes of ``function_name`` (running as ``role_arn``) carry."""
    digest = hashlib.sha256(f"{role_arn}\n{function_name}".encode()).digest()
    return ROLE_KEY_PREFIX + base64.b32encode(digest).decode()[:16]


def role_credentials(role_arn: str | None, function_name: str) -> dict[str, str]:
    """The credential variables of a sandbox: the role's, or the dummy ones for a function
    without a role (hand-written templates in the emulator's own tests)."""
    if role_arn is None:
        return dict(DUMMY_CREDENTIALS)
    return {
        "AWS_ACCESS_KEY_ID": role_access_key_id(role_arn, function_name),
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
    }
