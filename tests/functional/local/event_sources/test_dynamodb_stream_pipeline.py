"""DynamoDB stream -> Lambda event source mapping in the local pipeline: flows reported per
object, and the pipeline waiting for a stream's backlog.
"""

from __future__ import annotations

import json
from pathlib import Path

import boto3

from s3flow.local.deployment import StreamMapping
from s3flow.local.event_sources.dynamodb_stream import CONDITION_RETRIES_EXHAUSTED
from s3flow.local.pipeline import FlowEvent, FlowKind, LocalPipeline, _StreamReporter

from .stream_support import FUNCTION, FUNCTION_ARN, REGION, TABLE, mapping_template


def test_stream_records_are_reported_as_flows_of_their_object():
    flows: list[FlowEvent] = []
    reporter = _StreamReporter(flows.append, lambda arn: arn.rsplit(":", 1)[-1])
    mapping = StreamMapping("M", "u", FUNCTION_ARN, "arn:stream", "TRIM_HORIZON")
    image = {"bucketName": {"S": "in"}, "objectKey": {"S": "a b.txt"}, "versionId": {"S": "v1"}}
    inserted = {"eventName": "INSERT", "dynamodb": {"NewImage": image, "SequenceNumber": "7"}}
    removed = {"eventName": "REMOVE", "dynamodb": {"OldImage": image, "SequenceNumber": "8"}}

    reporter.delivered(mapping, [inserted])
    reporter.discarded(mapping, [removed], CONDITION_RETRIES_EXHAUSTED, "RetryAttemptsExhausted after 3")

    assert [(f.kind, f.bucket, f.key, f.version_id) for f in flows] == [
        (FlowKind.PUBLISHED, "in", "a b.txt", "v1"),
        (FlowKind.PUBLISH_FAILED, "in", "a b.txt", "v1"),
    ]
    assert flows[0].detail == f"INSERT 7 via {FUNCTION}" and flows[0].payload == inserted
    assert flows[1].detail == "RetryAttemptsExhausted after 3" and str(flows[1].kind) == "publish_failed"


def test_the_pipeline_polls_provisioned_mappings_and_waits_for_the_backlog(tmp_path: Path):
    record_file = tmp_path / "calls.jsonl"
    template = mapping_template(
        {"Fn::GetAtt": ["Table", "StreamArn"]},
        BatchSize=2,
        Variables={"RECORD_FILE": str(record_file)},
    )
    (tmp_path / "Streams.template.json").write_text(json.dumps(template), encoding="utf-8")
    flows: list[FlowEvent] = []
    pipeline = LocalPipeline(
        tmp_path, "Streams", port=0, on_flow=flows.append, stream_retry_delays=(0.02,), concurrency=1
    )
    with pipeline:
        dynamodb = boto3.client("dynamodb", endpoint_url=pipeline.endpoint_url, region_name=REGION)
        for key in "abcde":
            item = {"pk": {"S": key}, "bucketName": {"S": "in"}, "objectKey": {"S": f"{key}.txt"}}
            dynamodb.put_item(TableName=TABLE, Item=item)

        assert pipeline.wait_idle(60)

        delivered = [json.loads(line)["keys"] for line in record_file.read_text().splitlines()]
    assert [key for batch in delivered for key in batch] == list("abcde")
    published = [(flow.bucket, flow.key) for flow in flows if flow.kind is FlowKind.PUBLISHED]
    assert published == [("in", f"{key}.txt") for key in "abcde"]
