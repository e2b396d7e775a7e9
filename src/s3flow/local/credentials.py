"""The emulator's dummy credentials, and the boto3 sessions and clients that talk to it.

moto accepts any credentials, so the emulator's own clients (provisioning, failure
destinations, metrics, the trace store) and the sandboxes' environments carry fixed dummy
ones: real credentials are never sent to the emulator, and these can reach no real account.
"""

from __future__ import annotations

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


def emulator_session(region: str) -> boto3.session.Session:
    """A session for the emulator, in ``region``, with the dummy credentials."""
    return boto3.session.Session(region_name=region, **SESSION_CREDENTIALS)


def emulator_client(service: str, *, endpoint_url: str, region: str) -> Any:
    """A boto3 client of ``service`` on the emulator at ``endpoint_url``."""
    return emulator_session(region).client(service, endpoint_url=endpoint_url)
