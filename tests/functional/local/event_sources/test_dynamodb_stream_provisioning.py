"""DynamoDB stream -> Lambda event source mapping, locally: a template's mapping provisioned
into the deployment, and the settings the poller cannot honour refused.
"""

from __future__ import annotations

import boto3
import pytest
import requests

from s3flow.local.cloudformation import UnsupportedResourceError, provision_template
from s3flow.local.deployment import StreamMapping
from s3flow.local.server import LocalServer

from .stream_support import FUNCTION_ARN, NEW_IMAGE_FILTER, QUEUE_ARN, REGION, TABLE, mapping_template


def test_a_mapping_on_a_table_stream_is_resolved_into_the_deployment(server: LocalServer):
    requests.post(f"{server.endpoint_url}/moto-api/reset", timeout=60).raise_for_status()
    template = mapping_template(
        {"Fn::GetAtt": ["Table", "StreamArn"]},
        BatchSize=7,
        MaximumRetryAttempts=3,
        BisectBatchOnFunctionError=True,
        MaximumRecordAgeInSeconds=120,
        FunctionResponseTypes=["ReportBatchItemFailures"],
        FilterCriteria={"Filters": [{"Pattern": NEW_IMAGE_FILTER}]},
        DestinationConfig={"OnFailure": {"Destination": {"Fn::GetAtt": ["Failures", "Arn"]}}},
    )

    deployment = provision_template(template, "Streams", endpoint_url=server.endpoint_url)

    stream_arn = boto3.client(
        "dynamodb", endpoint_url=server.endpoint_url, region_name=REGION
    ).describe_table(TableName=TABLE)["Table"]["LatestStreamArn"]
    assert deployment.outputs["StreamArn"] == stream_arn
    (mapping,) = deployment.stream_mappings
    assert mapping == StreamMapping(
        logical_id="Mapping",
        uuid=deployment.physical_ids["Mapping"],
        function_arn=FUNCTION_ARN,
        event_source_arn=stream_arn,
        starting_position="TRIM_HORIZON",
        batch_size=7,
        maximum_retry_attempts=3,
        bisect_batch_on_function_error=True,
        maximum_record_age_seconds=120,
        report_batch_item_failures=True,
        filter_patterns=(NEW_IMAGE_FILTER,),
        on_failure_arn=QUEUE_ARN,
        enabled=True,
    )


@pytest.mark.parametrize(
    "source",
    [{"Fn::GetAtt": ["Failures", "Arn"]}, "arn:aws:kinesis:us-east-1:123456789012:stream/clicks"],
)
def test_a_mapping_on_another_source_is_refused_before_anything_is_created(server: LocalServer, source):
    requests.post(f"{server.endpoint_url}/moto-api/reset", timeout=60).raise_for_status()

    with pytest.raises(UnsupportedResourceError, match="is not a DynamoDB stream") as raised:
        provision_template(mapping_template(source), "Streams", endpoint_url=server.endpoint_url)

    assert raised.value.logical_id == "Mapping"
    tables = boto3.client("dynamodb", endpoint_url=server.endpoint_url, region_name=REGION).list_tables()
    assert tables["TableNames"] == []


@pytest.mark.parametrize(
    ("properties", "named"),
    [
        ({"ParallelizationFactor": 2}, "ParallelizationFactor"),
        ({"FilterCriteria": {"Filters": [{"Pattern": '{"dynamodb":{"Keys":[{"nope":"IN"}]}}'}]}}, "nope"),
        ({"FilterCriteria": {"Filters": [{"Pattern": '{"eventName":["INSERT"]}'}]}}, "only on the dynamodb"),
        ({"FilterCriteria": {"Filters": [{"Pattern": "{not json"}]}}, "Invalid JSON"),
    ],
)
def test_settings_the_poller_cannot_honour_are_refused(server: LocalServer, properties, named):
    requests.post(f"{server.endpoint_url}/moto-api/reset", timeout=60).raise_for_status()
    template = mapping_template({"Fn::GetAtt": ["Table", "StreamArn"]}, **properties)

    with pytest.raises(UnsupportedResourceError, match=named):
        provision_template(template, "Streams", endpoint_url=server.endpoint_url)
