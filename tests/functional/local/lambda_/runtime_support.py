"""What the local runtime's tests share: the functions they run, their specs, a listener that
records what it hears, and the failure destination's messages.

The handlers below run in the sandboxes: each sandbox is a fresh interpreter that imports
this module by name (the runtime passes the parent's ``sys.path`` on, as Lambda's
PYTHONPATH). The failure destination is a real SQS queue on a local moto server.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

from s3flow.local.deployment import AsyncInvokeConfig, Deployment, FunctionSpec
from s3flow.local.lambda_.invocation import Invocation
from s3flow.local.lambda_.runtime import LambdaRuntime, Listener
from s3flow.local.lambda_.sandbox import Outcome
from s3flow.local.server import LocalServer

ACCOUNT = "123456789012"
REGION = "us-east-1"
QUEUE = "failures"
QUEUE_ARN = f"arn:aws:sqs:{REGION}:{ACCOUNT}:{QUEUE}"


# -- handlers run inside the sandboxes -------------------------------------------------


def echo(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return {
        "event": event,
        "environ": dict(os.environ),
        "context": {
            "function_name": context.function_name,
            "function_version": context.function_version,
            "aws_request_id": context.aws_request_id,
            "invoked_function_arn": context.invoked_function_arn,
            "memory_limit_in_mb": context.memory_limit_in_mb,
            "remaining": context.get_remaining_time_in_millis(),
        },
        "pid": os.getpid(),
    }


def fail(event: dict[str, Any], context: Any) -> None:
    raise ValueError(f"cannot process {event.get('name')}")


def die(event: dict[str, Any], context: Any) -> None:
    os._exit(3)


def sleep(event: dict[str, Any], context: Any) -> None:
    time.sleep(event["seconds"])


def shout(event: dict[str, Any], context: Any) -> None:
    print(f"hello from {context.function_name}", flush=True)


def warn(event: dict[str, Any], context: Any) -> None:
    print(json.dumps({"level": "WARNING", "message": "odd object", "bucket": "b", "key": "k"}), flush=True)


def echo_slowly(event: dict[str, Any], context: Any) -> dict[str, Any]:
    time.sleep(0.5)  # long enough for the second event to find the first sandbox busy
    return {"pid": os.getpid()}


def fail_when_faulty(event: dict[str, Any], context: Any) -> str:
    if os.environ.get("FAULT") == "1":
        raise RuntimeError("fault injected")
    return "fine"


# -- specs, listeners, the failure destination ----------------------------------------


def spec(handler: str, *, retries: int = 2, max_age: int = 21600, timeout: int = 30) -> FunctionSpec:
    name = f"fn-{handler}"
    return FunctionSpec(
        logical_id=name,
        name=name,
        arn=f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}",
        handler=f"{__name__}.{handler}",
        runtime="python3.13",
        timeout_seconds=timeout,
        memory_mb=256,
        environment={"TABLE": "records", "S3FLOW_ENVIRONMENT": "test"},
        tracing_active=True,
        async_config=AsyncInvokeConfig(
            maximum_retry_attempts=retries, maximum_event_age_seconds=max_age, on_failure_arn=QUEUE_ARN
        ),
    )


class Recorder(Listener):
    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []

    def queued(self, invocation: Invocation) -> None:
        self.seen.append(("queued", invocation.request_id))

    def succeeded(self, invocation: Invocation, outcome: Outcome) -> None:
        self.seen.append(("succeeded", invocation.request_id))

    def retrying(self, invocation: Invocation, outcome: Outcome, delay: float) -> None:
        self.seen.append(("retrying", invocation.request_id))

    def failed(self, invocation: Invocation, condition: str) -> None:
        self.seen.append((condition, invocation.request_id))


def make_runtime(
    server: LocalServer, *specs: FunctionSpec, concurrency: int = 1, **kwargs: Any
) -> LambdaRuntime:
    deployment = Deployment(stack_name="Test", region=REGION, account=ACCOUNT)
    deployment.functions = {s.name: s for s in specs}
    runtime = LambdaRuntime(
        deployment,
        endpoint_url=server.endpoint_url,
        retry_delays=(0.1, 0.2),
        concurrency=concurrency,
        **kwargs,
    )
    runtime.start()
    return runtime


def failures(sqs: Any) -> list[dict[str, Any]]:
    url = sqs.get_queue_url(QueueName=QUEUE)["QueueUrl"]
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get(
        "Messages", []
    )
    return [json.loads(m["Body"]) for m in messages]
