"""The state stores' round trips run on moto in this process (``mock_aws``): one emulator
to export from, a fresh one (same resources, provisioned again) to restore into."""

from __future__ import annotations

import json
from typing import Any

import boto3

ACCOUNT = "123456789012"  # moto's default account
REGION = "us-east-1"


def client(service: str) -> Any:
    return boto3.client(service, region_name=REGION)


def through_json(document: Any) -> Any:
    """What a save then a read gives back: the document as the state file holds it."""
    return json.loads(json.dumps(document))
