"""What the pieces of a cold start cost on their own, each in a fresh interpreter.

Not a comparison of the two handlers but the evidence for changing ours: how much of a cold
start is boto3, the clients, the tracing SDKs, and what a client built on the standard
library alone would load instead.
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
# label -> (loaded before the clock starts, code timed), in a fresh interpreter each
BLOCKS = {
    "import boto3": ("", BOTO3),
    "boto3: session + DynamoDB and EventBridge clients (the reference)": (
        "", "import boto3; s = boto3.session.Session(); s.client('dynamodb'); s.client('events')"
    ),
    "botocore only: session + a DynamoDB client (our processor)": (
        "", "import botocore.session; botocore.session.get_session().create_client('dynamodb')"
    ),
    "botocore only: session + an EventBridge client (our publisher)": (
        "", "import botocore.session; botocore.session.get_session().create_client('events')"
    ),
    "botocore only: session + the same two clients": (
        "", "import botocore.session; s = botocore.session.get_session(); "
        "s.create_client('dynamodb'); s.create_client('events')",
    ),
    "OpenTelemetry SDK tracer provider, boto3 already loaded": (
        BOTO3, "from opentelemetry.sdk.trace import TracerProvider; "
        "from opentelemetry.sdk.trace.export import SimpleSpanProcessor; "
        "from opentelemetry.sdk.resources import Resource; TracerProvider(resource=Resource.get_empty())",
    ),
    "aws-xray-sdk recorder + patch_all(), boto3 already loaded": (
        BOTO3, "from aws_xray_sdk.core import xray_recorder, patch_all; patch_all()"
    ),
    "standard library for a signed JSON client (http.client, hmac, hashlib, json, datetime)": (
        "", "import http.client, hmac, hashlib, json, datetime, urllib.parse"
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
