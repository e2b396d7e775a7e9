"""The local AWS the benchmarks run against: moto's threaded server on a free loopback port."""

from __future__ import annotations

import logging
import os
import socket
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import boto3
from moto.server import ThreadedMotoServer

from bench import paths
from bench.events import REGION
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


class Emulator:
    """Starts moto, creates the table, bus and an object bucket; ``client()`` talks to it."""

    def __init__(self) -> None:
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self.resources: Resources | None = None

    def __enter__(self) -> Emulator:
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        self._server.start()
        host, port = self._server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        table, bus, source = self._provision(endpoint)
        self.resources = Resources(endpoint, table, bus, BENCH_BUCKET, source)
        s3 = self.client("s3")
        s3.create_bucket(Bucket=BENCH_BUCKET)
        s3.put_bucket_versioning(Bucket=BENCH_BUCKET, VersioningConfiguration={"Status": "Enabled"})
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.stop()

    def client(self, service: str, endpoint_url: str | None = None) -> Any:
        return boto3.client(
            service,
            endpoint_url=endpoint_url or (self.resources.endpoint_url if self.resources else None),
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
                with _aws_env(endpoint):
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

    def __init__(self, endpoint: str) -> None:
        self._values = {**CREDENTIALS, "AWS_DEFAULT_REGION": REGION, "AWS_ENDPOINT_URL": endpoint}
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
