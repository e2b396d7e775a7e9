"""What the pieces of a cold start cost on their own, each in a fresh interpreter.

Not a comparison of the two handlers but the evidence behind ours: how much of a cold start
is boto3, botocore and its clients (the reference's, and ours before the standard-library
client), our standard-library JSON client that replaced them, and the tracing SDKs.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from bench import paths
from bench.report import Table, mb, ms
from bench.stats import median

BOTO3 = "import boto3"
TRACER_PROVIDER = (
    "from opentelemetry.sdk.trace import TracerProvider; "
    "from opentelemetry.sdk.trace.export import SimpleSpanProcessor; "
    "from opentelemetry.sdk.resources import Resource; TracerProvider(resource=Resource.get_empty())"
)
BOTO3_CLIENTS = "boto3: session + DynamoDB and EventBridge clients (the reference)"
BOTOCORE_DYNAMODB = "botocore only: session + a DynamoDB client (our processor before the JSON client)"
BOTOCORE_EVENTS = "botocore only: session + an EventBridge client (our publisher before the JSON client)"
JSON_DYNAMODB = "our standard-library JSON client: a DynamoDB client (our processor)"
JSON_EVENTS = "our standard-library JSON client: an EventBridge client (our publisher)"
TLS_CONTEXT = "a default TLS client context, loading a ~140-authority CA bundle (ours, first HTTPS call)"
TRACER_ALONE = "OpenTelemetry SDK tracer provider, alone"
TRACER_AFTER_BOTO3 = "OpenTelemetry SDK tracer provider, boto3 already loaded"
# label -> (loaded before the clock starts, code timed), in a fresh interpreter each
BLOCKS = {
    "import boto3": ("", BOTO3),
    BOTO3_CLIENTS: (
        "", "import boto3; s = boto3.session.Session(); s.client('dynamodb'); s.client('events')"
    ),
    BOTOCORE_DYNAMODB: (
        "", "import botocore.session; botocore.session.get_session().create_client('dynamodb')"
    ),
    BOTOCORE_EVENTS: (
        "", "import botocore.session; botocore.session.get_session().create_client('events')"
    ),
    "botocore only: session + the same two clients": (
        "", "import botocore.session; s = botocore.session.get_session(); "
        "s.create_client('dynamodb'); s.create_client('events')",
    ),
    # The region and credentials come from the child's Lambda-like environment, as on Lambda.
    JSON_DYNAMODB: (
        "", "from s3flow.functions.shared.aws_api import DYNAMODB, JsonApiClient; JsonApiClient(DYNAMODB)"
    ),
    JSON_EVENTS: (
        "",
        "from s3flow.functions.shared.aws_api import EVENTBRIDGE, JsonApiClient; JsonApiClient(EVENTBRIDGE)",
    ),
    # SSL_CERT_FILE is the benchmark's Lambda-sized bundle (bench.emulator), as our functions load it.
    TLS_CONTEXT: ("import ssl", "ssl.create_default_context()"),
    TRACER_ALONE: ("", TRACER_PROVIDER),
    TRACER_AFTER_BOTO3: (BOTO3, TRACER_PROVIDER),
    "aws-xray-sdk recorder + patch_all(), boto3 already loaded": (
        BOTO3, "from aws_xray_sdk.core import xray_recorder, patch_all; patch_all()"
    ),
}  # fmt: skip
PROGRAM = """
import time
{setup}
_t, _c = time.perf_counter(), time.process_time()
{code}
_elapsed, _cpu = (time.perf_counter() - _t) * 1000, (time.process_time() - _c) * 1000
import json, sys
with open("/proc/self/status") as f:
    hwm = next(int(l.split()[1]) for l in f if l.startswith("VmHWM:")) / 1024
print(json.dumps({{"ms": _elapsed, "cpu": _cpu, "rss": hwm}}))
"""


def measure(repeats: int, env: dict[str, str]) -> dict[str, list[dict[str, float]]]:
    results: dict[str, list[dict[str, float]]] = {label: [] for label in BLOCKS}
    for repeat in range(repeats + 1):  # the first round warms the bytecode cache and is dropped
        for label, (setup, code) in BLOCKS.items():
            done = subprocess.run(
                [sys.executable, "-c", PROGRAM.format(setup=setup, code=code)],
                cwd=paths.PROJECT_ROOT, env=env,
                capture_output=True, text=True, check=False,
            )  # fmt: skip
            if done.returncode == 0 and repeat:
                results[label].append(json.loads(done.stdout.strip().splitlines()[-1]))
    return results


def table(results: dict[str, list[dict[str, float]]], repeats: int) -> Table:
    t = Table(
        f"Cold-start building blocks (median of {repeats} fresh interpreters each)",
        ["what is loaded", "time", "CPU time", "peak RSS"],
    )
    for label, runs in results.items():
        if runs:
            t.add(
                label, ms(median([r["ms"] for r in runs])), ms(median([r["cpu"] for r in runs])),
                mb(median([r["rss"] for r in runs])),
            )  # fmt: skip
        else:
            t.add(label, "failed", "", "")
    return t


def environment(base: dict[str, str], pycache: Path) -> dict[str, str]:
    return {**base, "PYTHONPYCACHEPREFIX": str(pycache)}


def median_ms(results: dict[str, list[dict[str, float]]], label: str) -> float | None:
    """The row's median time, None when it failed."""
    runs = results.get(label) or []
    return median([r["ms"] for r in runs]) if runs else None
