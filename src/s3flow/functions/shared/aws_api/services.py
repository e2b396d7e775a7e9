"""The three services the functions call, and where their endpoints are."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from s3flow.functions.shared.errors import ConfigurationError


@dataclass(frozen=True)
class Service:
    signing_name: str  # also the endpoint's host prefix for these three
    target_prefix: str  # X-Amz-Target is "<prefix>.<Operation>"
    json_version: str  # Content-Type is application/x-amz-json-<version>
    endpoint_variable: str  # AWS_ENDPOINT_URL_<this>, botocore's name for the service
    max_attempts: int  # botocore's default (legacy) budget for this service
    checks_crc32: bool = False  # DynamoDB sends x-amz-crc32 of each response body


DYNAMODB = Service("dynamodb", "DynamoDB_20120810", "1.0", "DYNAMODB", max_attempts=10, checks_crc32=True)
EVENTBRIDGE = Service("events", "AWSEvents", "1.1", "EVENTBRIDGE", max_attempts=5)
SQS = Service("sqs", "AmazonSQS", "1.0", "SQS", max_attempts=5)

# Partitions whose DNS suffix is not amazonaws.com, by region prefix (longest first).
_DNS_SUFFIXES = (
    ("us-isob-", "sc2s.sgov.gov"),
    ("us-isof-", "csp.hci.ic.gov"),
    ("eu-isoe-", "cloud.adc-e.uk"),
    ("us-iso-", "c2s.ic.gov"),
    ("eusc-", "amazonaws.eu"),
    ("cn-", "amazonaws.com.cn"),
)


@dataclass(frozen=True)
class Endpoint:
    scheme: str  # "https" or "http" (a local emulator)
    host: str  # as signed: with the port when it is not the scheme's default
    path: str


def region_from(environ: Mapping[str, str]) -> str:
    region = environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION")
    if not region:
        raise ConfigurationError("no AWS region: set AWS_REGION (Lambda sets it) or AWS_DEFAULT_REGION")
    return region


def endpoint_for(service: Service, region: str, environ: Mapping[str, str] = os.environ) -> Endpoint:
    """The service's endpoint: ``AWS_ENDPOINT_URL_<SERVICE>``, else ``AWS_ENDPOINT_URL``, else AWS's."""
    variable = f"AWS_ENDPOINT_URL_{service.endpoint_variable}"
    if not environ.get(variable):
        variable = "AWS_ENDPOINT_URL"
    url = environ.get(variable)
    if not url:
        _refuse_endpoint_variants(environ)
        suffix = next((dns for prefix, dns in _DNS_SUFFIXES if region.startswith(prefix)), "amazonaws.com")
        return Endpoint("https", f"{service.signing_name}.{region}.{suffix}", "/")
    try:
        parts = urlsplit(url)
        port = parts.port  # ValueError unless a number in 0-65535
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError
    except ValueError:
        raise ConfigurationError(f"{variable}={url!r} is not an http(s) URL") from None
    # An IPv6 address goes back in brackets, as the Host header and http.client want it.
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    if port not in (None, 443 if parts.scheme == "https" else 80):
        host = f"{host}:{port}"
    return Endpoint(parts.scheme, host, parts.path or "/")


def _refuse_endpoint_variants(environ: Mapping[str, str]) -> None:
    """FIPS and dual-stack hosts are not derived here: refuse rather than silently not use them."""
    for variable in ("AWS_USE_FIPS_ENDPOINT", "AWS_USE_DUALSTACK_ENDPOINT"):
        if environ.get(variable, "").strip().lower() == "true":
            raise ConfigurationError(
                f"{variable}=true is not supported by s3flow's functions: set AWS_ENDPOINT_URL_<SERVICE> "
                "(DYNAMODB, EVENTBRIDGE, SQS) to the endpoint to use"
            )
