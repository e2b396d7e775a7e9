"""Shared test settings: no test may reach real AWS."""

from __future__ import annotations

import os

# Credentials that cannot work against AWS, set before any boto3 client exists.
for key, value in {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
}.items():
    os.environ[key] = value
os.environ.pop("AWS_PROFILE", None)
