"""DynamoDB stream -> Lambda event source mapping tests, what they share: the mapped function,
a table with a stream on the module's emulator (``Stream``), and the stack template of a mapping.

The function below runs in the local runtime's sandboxes (which import this module by
name). It appends what it got to a file and fails on purpose as its environment says.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import boto3

from s3flow.local.deployment import AsyncInvokeConfig, Deployment, FunctionSpec, StreamMapping
from s3flow.local.event_sources.dynamodb_stream import MotoStreamReader, StreamPoller, StreamPollers
from s3flow.local.lambda_.destinations import QueueSender
from s3flow.local.lambda_.runtime import LambdaRuntime
from s3flow.local.server import LocalServer

ACCOUNT = "123456789012"
REGION = "us-east-1"
TABLE = "records"
QUEUE = "stream-failures"
QUEUE_ARN = f"arn:aws:sqs:{REGION}:{ACCOUNT}:{QUEUE}"
FUNCTION = "fn-stream"
FUNCTION_ARN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{FUNCTION}"


# -- the function, run inside the sandboxes ----------------------------------------------


def handle(event: dict[str, Any], context: Any) -> Any:
    """Appends the batch's keys and sequence numbers; then fails as FAIL_* says.

    SLEEP=s: first sleep s seconds. FAIL_TIMES=n: the first n invocations fail.
    FAIL_KEY=k: a batch holding key k fails.
    REPORT_KEY=k (with FAIL_TIMES): report the record of key k as failed instead of raising.
    """
    time.sleep(float(os.environ.get("SLEEP", "0")))
    records = event["Records"]
    path = Path(os.environ["RECORD_FILE"])
    with path.open("a", encoding="utf-8") as out:
        out.write(
            json.dumps(
                {
                    "keys": [r["dynamodb"]["Keys"]["pk"]["S"] for r in records],
                    "seqs": [r["dynamodb"]["SequenceNumber"] for r in records],
                    "names": [r["eventName"] for r in records],
                    "first": records[0],
                }
            )
            + "\n"
        )
    invocations = len(path.read_text(encoding="utf-8").splitlines())
    failing_now = invocations <= int(os.environ.get("FAIL_TIMES", "0"))
    report = os.environ.get("REPORT_KEY")
    if report and failing_now:
        (failed,) = [r for r in records if r["dynamodb"]["Keys"]["pk"]["S"] == report]
        return {"batchItemFailures": [{"itemIdentifier": failed["dynamodb"]["SequenceNumber"]}]}
    if failing_now:
        raise RuntimeError(f"failing on purpose ({invocations})")
    bad = os.environ.get("FAIL_KEY")
    if bad and any(r["dynamodb"]["Keys"]["pk"]["S"] == bad for r in records):
        raise ValueError(f"cannot take {bad}")
    return {"batchItemFailures": []}


# -- fixtures ------------------------------------------------------------------------------


class Stream:
    """A table with a stream on the module's emulator, and the function's record of calls."""

    def __init__(self, server: LocalServer, record_file: Path) -> None:
        self.server = server
        self.record_file = record_file
        self.dynamodb = boto3.client("dynamodb", endpoint_url=server.endpoint_url, region_name=REGION)
        self.sqs = boto3.client("sqs", endpoint_url=server.endpoint_url, region_name=REGION)
        table = self.dynamodb.create_table(
            TableName=TABLE,
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            BillingMode="PAY_PER_REQUEST",
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        )["TableDescription"]
        self.arn: str = table["LatestStreamArn"]
        self.queue_url = self.sqs.create_queue(QueueName=QUEUE)["QueueUrl"]
        self.runtimes: list[LambdaRuntime] = []
        self.pollers: list[StreamPoller] = []

    def put(self, *keys: str, status: str = "NEW") -> None:
        for key in keys:
            self.dynamodb.put_item(TableName=TABLE, Item={"pk": {"S": key}, "status": {"S": status}})

    def poller(
        self, environment: dict[str, str] | None = None, *, start: bool = True, **settings: Any
    ) -> StreamPoller:
        spec = FunctionSpec(
            logical_id="Fn",
            name=FUNCTION,
            arn=FUNCTION_ARN,
            handler=f"{__name__}.handle",
            runtime="python3.13",
            timeout_seconds=30,
            memory_mb=128,
            environment={"RECORD_FILE": str(self.record_file), **(environment or {})},
            tracing_active=False,
            async_config=AsyncInvokeConfig(),
        )
        deployment = Deployment(stack_name="Test", region=REGION, account=ACCOUNT)
        deployment.functions = {FUNCTION: spec}
        clock = settings.pop("clock", time.time)
        reader = settings.pop("reader", None) or MotoStreamReader(ACCOUNT, REGION)
        runtime = LambdaRuntime(deployment, endpoint_url=self.server.endpoint_url, concurrency=1)
        runtime.start()
        self.runtimes.append(runtime)
        mapping = StreamMapping(
            logical_id="Mapping",
            uuid="uuid-1",
            function_arn=FUNCTION_ARN,
            event_source_arn=self.arn,
            starting_position=settings.pop("starting_position", "TRIM_HORIZON"),
            on_failure_arn=QUEUE_ARN,
            **settings,
        )
        poller = StreamPoller(
            mapping,
            invoke=runtime.invoke,
            reader=reader,
            send_to_queue=QueueSender(self.server.endpoint_url),
            retry_delays=(0.02,),
            poll_interval=0.02,
            clock=clock,
        )
        self.pollers.append(poller)
        if start:
            poller.start()
        return poller

    def wait(self, poller: StreamPoller | StreamPollers, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while not poller.idle():
            assert time.monotonic() < deadline, "the poller did not catch up with the stream"
            time.sleep(0.02)

    def calls(self) -> list[dict[str, Any]]:
        if not self.record_file.exists():
            return []
        return [json.loads(line) for line in self.record_file.read_text(encoding="utf-8").splitlines()]

    def failures(self) -> list[dict[str, Any]]:
        messages = self.sqs.receive_message(
            QueueUrl=self.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0
        ).get("Messages", [])
        return [json.loads(m["Body"]) for m in messages]

    def close(self) -> None:
        for poller in self.pollers:
            poller.request_stop()
        for runtime in self.runtimes:
            runtime.stop()
        for poller in self.pollers:
            poller.stop()


def keys(calls: list[dict[str, Any]]) -> list[list[str]]:
    return [call["keys"] for call in calls]


# What the stack's mapping says: a record with a new image (INSERT and MODIFY; not REMOVE).
NEW_IMAGE_FILTER = '{"dynamodb":{"NewImage":{"pk":{"S":[{"exists":true}]}}}}'


def mapping_template(source: Any, **properties: Any) -> dict[str, Any]:
    return {
        "Resources": {
            "Table": {
                "Type": "AWS::DynamoDB::Table",
                "Properties": {
                    "TableName": TABLE,
                    "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
                    "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
                    "BillingMode": "PAY_PER_REQUEST",
                    "StreamSpecification": {"StreamViewType": "NEW_AND_OLD_IMAGES"},
                },
            },
            "Failures": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": QUEUE}},
            # What Lambda needs of the role to read the stream and keep failures in the queue.
            "Role": {
                "Type": "AWS::IAM::Role",
                "Properties": {
                    "AssumeRolePolicyDocument": {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Effect": "Allow",
                                "Principal": {"Service": "lambda.amazonaws.com"},
                                "Action": "sts:AssumeRole",
                            }
                        ],
                    },
                    "Policies": [
                        {
                            "PolicyName": "StreamAndFailures",
                            "PolicyDocument": {
                                "Version": "2012-10-17",
                                "Statement": [
                                    {"Effect": "Allow", "Action": "dynamodb:*", "Resource": "*"},
                                    {
                                        "Effect": "Allow",
                                        "Action": "sqs:SendMessage",
                                        "Resource": {"Fn::GetAtt": ["Failures", "Arn"]},
                                    },
                                ],
                            },
                        }
                    ],
                },
            },
            "Fn": {
                "Type": "AWS::Lambda::Function",
                "Properties": {
                    "FunctionName": FUNCTION,
                    "Handler": f"{__name__}.handle",
                    "Runtime": "python3.13",
                    "Code": {"ZipFile": "unused locally"},
                    "Role": {"Fn::GetAtt": ["Role", "Arn"]},
                    "Environment": {"Variables": properties.pop("Variables", {})},
                },
            },
            "Mapping": {
                "Type": "AWS::Lambda::EventSourceMapping",
                "Properties": {
                    "FunctionName": {"Ref": "Fn"},
                    "EventSourceArn": source,
                    "StartingPosition": "TRIM_HORIZON",
                    **properties,
                },
            },
        },
        "Outputs": {"StreamArn": {"Value": {"Fn::GetAtt": ["Table", "StreamArn"]}}},
    }
