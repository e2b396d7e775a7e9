"""The pipeline served over HTTPS (``LocalPipeline(tls=True)``): an object flows end to end,
the functions' own calls reach the emulator over TLS, trusting the run's CA through the
variables Lambda's runtimes read, and nothing reaches it unverified or in plain HTTP."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import boto3
import pytest
import requests
from botocore.config import Config
from botocore.exceptions import SSLError
from werkzeug.wrappers import Request, Response

from s3flow.local.credentials import ROLE_KEY_PREFIX, emulator_client, emulator_session
from s3flow.local.errors import PortInUseError
from s3flow.local.pipeline import FlowEvent, FlowKind, LocalPipeline

ONE_TRY = Config(retries={"max_attempts": 1}, connect_timeout=5, read_timeout=10)


@dataclass
class Seen:
    """(scheme, access key id) of each request the emulator answered."""

    requests: list[tuple[str, str]] = field(default_factory=list)

    def __call__(self, request: Request) -> Response | None:
        authorization = request.headers.get("Authorization", "")
        key = authorization.partition("Credential=")[2].partition("/")[0]
        self.requests.append((request.scheme, key))
        return None

    def from_functions(self) -> list[tuple[str, str]]:
        """The requests signed with a function's role credentials (what its sandbox carries)."""
        return [(scheme, key) for scheme, key in self.requests if key.startswith(ROLE_KEY_PREFIX)]


@dataclass
class Running:
    pipeline: LocalPipeline
    flows: list[FlowEvent]
    seen: Seen


@pytest.fixture(scope="module")
def running(cloud_assembly: Path) -> Iterator[Running]:
    flows: list[FlowEvent] = []
    pipeline = LocalPipeline(cloud_assembly, port=0, concurrency=1, on_flow=flows.append, tls=True)
    seen = Seen()
    pipeline.server.middleware.add_interceptor(seen)
    pipeline.start()
    try:
        yield Running(pipeline, flows, seen)
    finally:
        pipeline.stop()


def test_an_object_flows_end_to_end_with_the_functions_calling_over_tls(running: Running):
    # GIVEN the pipeline on HTTPS, provisioned over it by the emulator's own clients
    pipeline = running.pipeline
    assert pipeline.endpoint_url.startswith("https://127.0.0.1:")
    assert pipeline.ca_bundle is not None and Path(pipeline.ca_bundle).is_file()
    s3 = emulator_client("s3", endpoint_url=pipeline.endpoint_url, region=pipeline.region)

    # WHEN an object is uploaded
    s3.put_object(Bucket=pipeline.deployment.outputs["S3BucketName"], Key="over-tls.txt", Body=b"secure")

    # THEN it is recorded, published and routed, as over HTTP
    assert pipeline.wait_idle(60)
    kinds = {flow.kind for flow in running.flows if flow.key == "over-tls.txt"}
    assert {FlowKind.RECEIVED, FlowKind.RECORDED, FlowKind.PUBLISHED, FlowKind.ROUTED} <= kinds, running.flows
    # AND the functions' calls (signed with their roles' keys) came over TLS
    from_functions = running.seen.from_functions()
    assert from_functions, running.seen.requests
    assert {scheme for scheme, _ in from_functions} == {"https"}
    # AND the emulator's metric sink and trace store stored what the functions sent
    cloudwatch = emulator_client("cloudwatch", endpoint_url=pipeline.endpoint_url, region=pipeline.region)
    assert cloudwatch.list_metrics(Namespace="S3Flow")["Metrics"]
    xray = emulator_client("xray", endpoint_url=pipeline.endpoint_url, region=pipeline.region)
    traces = xray.get_trace_summaries(StartTime=0, EndTime=2**31)["TraceSummaries"]
    assert traces


def test_a_client_that_does_not_trust_the_runs_ca_is_refused(running: Running, monkeypatch):
    monkeypatch.delenv("AWS_CA_BUNDLE", raising=False)
    stranger = boto3.client(
        "s3", endpoint_url=running.pipeline.endpoint_url, region_name="us-east-1", config=ONE_TRY
    )

    with pytest.raises(SSLError, match="CERTIFICATE_VERIFY_FAILED"):
        stranger.list_buckets()


def test_plain_http_to_the_port_gets_no_answer(running: Running):
    plain = running.pipeline.endpoint_url.replace("https://", "http://")

    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(f"{plain}/moto-api/", timeout=10)


def test_a_client_that_never_says_hello_does_not_hold_up_the_others(running: Running):
    pipeline = running.pipeline
    with socket.create_connection(("127.0.0.1", pipeline.server.port)):
        session = emulator_session(pipeline.region)
        s3 = session.client("s3", endpoint_url=pipeline.endpoint_url, config=ONE_TRY)

        assert s3.list_buckets()["Buckets"]


def test_a_start_that_fails_removes_the_ca_it_made(cloud_assembly: Path):
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen(1)
        pipeline = LocalPipeline(cloud_assembly, port=holder.getsockname()[1], tls=True)

        with pytest.raises(PortInUseError):
            pipeline.start()

    assert pipeline.ca_bundle is not None
    assert not Path(pipeline.ca_bundle).parent.exists()
