"""The local AWS the benchmarks run against: moto on a free loopback port, over HTTPS.

Lambda's functions reach AWS over TLS only, so every cold start there builds a TLS context
(loading the runtime's CA bundle) and makes a handshake before its first call answers. The
benchmark serves the emulator over HTTPS with a CA made for the run
(``s3flow.local.tls.make_local_ca``), and hands both sides a CA bundle the size of the one
they load on Lambda: botocore's own bundle (what the reference's botocore loads on Lambda) with
the run's CA appended. Ours reads it through ``SSL_CERT_FILE`` (Python's default context),
the reference's botocore through ``AWS_CA_BUNDLE``; so context creation, bundle loading and the
handshake are in every cold-start row on both sides.

Warm runs use ``Emulator(tls=False)``, plain HTTP: the emulator's server (werkzeug) keeps no
connection alive, so over TLS every warm call would pay a handshake (and, for botocore, which
loads its CA bundle on each new connection, that bundle again) that a warm function on AWS,
holding its connections open, does not.
"""

from __future__ import annotations

import logging
import os
import socket
import sys
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import botocore.httpsession

from bench import paths
from bench.events import REGION
from s3flow.local.server import LocalServer
from s3flow.local.tls import make_local_ca
from s3flow.testing.records_table import create_table_request

CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
BENCH_BUCKET = "s3flow-bench-objects"


@dataclass(frozen=True)
class Resources:
    endpoint_url: str
    table_name: str
    event_bus_name: str
    bucket: str  # where benchmark objects are uploaded: no notification, so nothing else reacts
    provisioned_from: str  # "from the template" or "by hand"
    ca_bundle: str | None  # what clients trust over TLS: a Lambda-sized bundle holding the run's CA


def lambda_sized_ca_bundle(ca_file: Path, directory: Path) -> Path:
    """botocore's CA bundle (the one botocore loads on Lambda, about 140 authorities) with
    ``ca_file`` appended: loading it costs what loading the real trust store costs."""
    bundle = directory / "ca-bundle.pem"
    shipped = Path(botocore.httpsession.DEFAULT_CA_BUNDLE).read_bytes()
    bundle.write_bytes(shipped.rstrip(b"\n") + b"\n" + ca_file.read_bytes())
    return bundle


class Emulator:
    """Starts moto over HTTPS, creates the table, bus and an object bucket; ``client()`` talks to it."""

    def __init__(self, tls: bool = True) -> None:
        self._certificates_dir = tempfile.TemporaryDirectory(prefix="s3flow-bench-tls-")
        certificates = make_local_ca(self._certificates_dir.name) if tls else None
        self.ca_bundle = (
            str(lambda_sized_ca_bundle(certificates.ca_file, Path(self._certificates_dir.name)))
            if certificates is not None
            else None
        )
        self._server = LocalServer("127.0.0.1", 0, tls=certificates)
        self.resources: Resources | None = None

    def __enter__(self) -> Emulator:
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        self._server.start()
        endpoint = self._server.endpoint_url
        table, bus, source = self._provision(endpoint)
        self.resources = Resources(endpoint, table, bus, BENCH_BUCKET, source, self.ca_bundle)
        s3 = self.client("s3")
        s3.create_bucket(Bucket=BENCH_BUCKET)
        s3.put_bucket_versioning(Bucket=BENCH_BUCKET, VersioningConfiguration={"Status": "Enabled"})
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.stop()
        self._certificates_dir.cleanup()

    def client(self, service: str, endpoint_url: str | None = None) -> Any:
        return boto3.client(
            service,
            endpoint_url=endpoint_url or (self.resources.endpoint_url if self.resources else None),
            verify=self.ca_bundle,
            region_name=REGION,
            aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        )

    def _provision(self, endpoint: str) -> tuple[str, str, str]:
        provision: Callable[..., Any] | None
        try:
            from s3flow.local import provision
        except ImportError:
            provision = None
        template = paths.CLOUD_ASSEMBLY / f"{paths.STACK_NAME}.template.json"
        if provision is not None and template.is_file():
            try:
                with _aws_env(endpoint, self.ca_bundle):
                    deployment = provision(
                        paths.CLOUD_ASSEMBLY, paths.STACK_NAME, endpoint_url=endpoint, region=REGION
                    )
                return (
                    deployment.outputs["DynamoDBTableName"],
                    deployment.outputs["EventBusName"],
                    "from the template",
                )
            except Exception as error:  # the table and bus are all the benchmarks need: make them by hand
                print(
                    f"provisioning the template failed ({error}); creating table and bus by hand",
                    file=sys.stderr,
                )
        table, bus = self._by_hand(endpoint)
        return table, bus, "by hand"

    def _by_hand(self, endpoint: str) -> tuple[str, str]:
        table, bus = "lambda-invocation-logs-bench", "processing-events-bench"
        dynamodb = self.client("dynamodb", endpoint)
        dynamodb.create_table(**create_table_request(table))
        self.client("events", endpoint).create_event_bus(Name=bus)
        return table, bus

    def count_items(self) -> int:
        assert self.resources is not None
        dynamodb = self.client("dynamodb")
        total, start = 0, None
        while True:
            page = dynamodb.scan(
                TableName=self.resources.table_name,
                Select="COUNT",
                **({"ExclusiveStartKey": start} if start else {}),
            )
            total += page["Count"]
            start = page.get("LastEvaluatedKey")
            if not start:
                return total


class _aws_env:  # noqa: N801 - used like contextlib helpers
    """Points boto3 at the emulator for code that builds its own clients (the provisioner)."""

    def __init__(self, endpoint: str, ca_bundle: str | None) -> None:
        self._values = {**CREDENTIALS, "AWS_DEFAULT_REGION": REGION, "AWS_ENDPOINT_URL": endpoint}
        if ca_bundle is not None:
            self._values["AWS_CA_BUNDLE"] = ca_bundle
        self._saved: dict[str, str | None] = {}

    def __enter__(self) -> None:
        for name, value in self._values.items():
            self._saved[name] = os.environ.get(name)
            os.environ[name] = value

    def __exit__(self, *exc: object) -> None:
        for name, value in self._saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


class UdpSink:
    """Listens where the handlers send trace documents (the X-Ray daemon address); counts them."""

    def __init__(self) -> None:
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._socket.bind(("127.0.0.1", 0))
        self._socket.settimeout(0.05)
        self.address = f"127.0.0.1:{self._socket.getsockname()[1]}"
        self.datagrams = 0
        self.bytes = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._drain, daemon=True)

    def __enter__(self) -> UdpSink:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._socket.close()

    def _drain(self) -> None:
        # Keep draining briefly after stop so documents sent just before exit are counted.
        idle_after_stop = 0
        while idle_after_stop < 2:
            try:
                data = self._socket.recv(65536)
            except TimeoutError:
                if self._stop.is_set():
                    idle_after_stop += 1
                continue
            self.datagrams += 1
            self.bytes += len(data)
