"""Provisioning a whole template: unsupported types and properties, failures, the stack and
its outputs in moto's CloudFormation, creation order, regions, and the real TapStack end to end."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest

from s3flow import contract
from s3flow.local.cloudformation import (
    MOTO_ACCOUNT_ID,
    StackExistsError,
    TemplateError,
    TemplateNotFoundError,
    UnsupportedResourceError,
    provision,
)

from .conftest import REGION, client, deploy

# moto warns that it has no model for the one-resource stand-in the stack is registered with.
pytestmark = pytest.mark.filterwarnings("ignore:Tried to parse AWS..CloudFormation..WaitConditionHandle")


def test_missing_template_names_the_path(tmp_path: Path) -> None:
    with pytest.raises(TemplateNotFoundError) as caught:
        provision(tmp_path, "TapStackdev", endpoint_url="http://127.0.0.1:1")
    assert caught.value.path == tmp_path / "TapStackdev.template.json"
    assert str(tmp_path / "TapStackdev.template.json") in str(caught.value)


@pytest.mark.parametrize("kind", ["AWS::EC2::VPC", "Custom::SomethingElse"])
def test_unknown_type_names_type_and_logical_id_and_creates_nothing(
    tmp_path: Path, moto_endpoint: str, kind: str
) -> None:
    resources = {
        "Bucket": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": "created-first"}},
        "Strange": {"Type": kind, "Properties": {}},
    }
    with pytest.raises(UnsupportedResourceError) as caught:
        deploy(tmp_path, moto_endpoint, resources)
    assert (caught.value.resource_type, caught.value.logical_id) == (kind, "Strange")
    assert kind in str(caught.value) and "Strange" in str(caught.value)
    assert client("s3", moto_endpoint).list_buckets()["Buckets"] == []


def test_unknown_property_is_an_error_naming_it(tmp_path: Path, moto_endpoint: str) -> None:
    resources = {
        "First": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "first"}},
        "Q": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "q", "Teleport": True}},
    }
    with pytest.raises(
        UnsupportedResourceError, match=r"AWS::SQS::Queue \(Q\).*unsupported properties Teleport"
    ):
        deploy(tmp_path, moto_endpoint, resources)
    assert "QueueUrls" not in client("sqs", moto_endpoint).list_queues()


def test_failed_provisioning_registers_no_stack(tmp_path: Path, moto_endpoint: str) -> None:
    resources = {
        "Q": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": {"Fn::GetAtt": ["Q2", "X"]}}},
        "Q2": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "q2"}},
    }
    with pytest.raises(TemplateError, match="Q2 has no attribute X"):
        deploy(tmp_path, moto_endpoint, resources)
    assert client("cloudformation", moto_endpoint).list_stacks()["StackSummaries"] == []


def test_outputs_are_readable_through_describe_stacks(tmp_path: Path, moto_endpoint: str) -> None:
    resources = {"Q": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "failures"}}}
    outputs = {
        "QueueUrl": {
            "Value": {"Ref": "Q"},
            "Description": "Failure queue",
            "Export": {"Name": "QueueUrl-dev"},
        },
        "QueueArn": {"Value": {"Fn::GetAtt": ["Q", "Arn"]}},
        "Hidden": {"Value": "x", "Condition": "Never"},
    }
    conditions = {"Never": {"Fn::Equals": ["a", "b"]}}
    deployment = deploy(tmp_path, moto_endpoint, resources, Outputs=outputs, Conditions=conditions)

    (stack,) = client("cloudformation", moto_endpoint).describe_stacks(StackName="Small")["Stacks"]
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    assert stack["StackId"] == deployment.stack_id
    values = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}
    queue_url = client("sqs", moto_endpoint).get_queue_url(QueueName="failures")["QueueUrl"]
    assert (
        values
        == deployment.outputs
        == {
            "QueueUrl": queue_url,
            "QueueArn": f"arn:aws:sqs:{REGION}:{MOTO_ACCOUNT_ID}:failures",
        }
    )
    assert {o.get("ExportName") for o in stack["Outputs"]} == {"QueueUrl-dev", None}


def test_on_a_fresh_emulator_the_registration_is_left_to_the_caller(
    tmp_path: Path, moto_endpoint: str
) -> None:
    # GIVEN a template provisioned on an emulator the caller has just reset
    resources = {"Q": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "failures"}}}
    (tmp_path / "Small.template.json").write_text(
        json.dumps({"Resources": resources, "Outputs": {"Arn": {"Value": {"Fn::GetAtt": ["Q", "Arn"]}}}})
    )
    deployment = provision(tmp_path, "Small", endpoint_url=moto_endpoint, region=REGION, fresh_emulator=True)
    cloudformation = client("cloudformation", moto_endpoint)

    # THEN the resources exist and the stack is not registered until the caller says so
    assert deployment.outputs["Arn"].endswith(":failures")
    assert cloudformation.list_stacks()["StackSummaries"] == []
    assert deployment.register_stack is not None
    deployment.register_stack()
    (stack,) = cloudformation.describe_stacks(StackName="Small")["Stacks"]
    assert stack["StackId"] == deployment.stack_id
    assert stack["Outputs"] == [{"OutputKey": "Arn", "OutputValue": deployment.outputs["Arn"]}]


def test_stack_id_is_the_registered_stacks(tmp_path: Path, moto_endpoint: str) -> None:
    resources = {
        "Q": {
            "Type": "AWS::SQS::Queue",
            "Properties": {"QueueName": "q", "Tags": [{"Key": "Stack", "Value": {"Ref": "AWS::StackId"}}]},
        }
    }
    deployment = deploy(
        tmp_path, moto_endpoint, resources, Outputs={"Id": {"Value": {"Ref": "AWS::StackId"}}}
    )

    (stack,) = client("cloudformation", moto_endpoint).describe_stacks(StackName="Small")["Stacks"]
    assert stack["Outputs"][0]["OutputValue"] == stack["StackId"] == deployment.stack_id
    url = deployment.physical_ids["Q"]
    assert client("sqs", moto_endpoint).list_queue_tags(QueueUrl=url)["Tags"] == {"Stack": stack["StackId"]}


def test_conditioned_resources_are_skipped_when_false(tmp_path: Path, moto_endpoint: str) -> None:
    resources = {
        "Kept": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "kept"}},
        "Skipped": {"Type": "AWS::SQS::Queue", "Condition": "IsProd", "Properties": {"QueueName": "skipped"}},
    }
    conditions = {"IsProd": {"Fn::Equals": [{"Ref": "Env"}, "prod"]}}
    parameters = {"Env": {"Type": "String", "Default": "dev"}}
    deployment = deploy(tmp_path, moto_endpoint, resources, Conditions=conditions, Parameters=parameters)

    urls = client("sqs", moto_endpoint).list_queues()["QueueUrls"]
    assert [url.rsplit("/", 1)[-1] for url in urls] == ["kept"]
    assert "Skipped" not in deployment.physical_ids


def test_resources_listed_before_their_dependencies_are_created_after_them(
    tmp_path: Path, moto_endpoint: str
) -> None:
    # Template order is the reverse of what the rule needs: the rule references the bus and
    # the queue, and the bus DependsOn the queue.
    resources = {
        "Rule": {
            "Type": "AWS::Events::Rule",
            "Properties": {
                "Name": "r",
                "EventBusName": {"Ref": "Bus"},
                "EventPattern": {"source": ["x"]},
                "Targets": [{"Id": "q", "Arn": {"Fn::GetAtt": ["Queue", "Arn"]}}],
            },
        },
        "Bus": {"Type": "AWS::Events::EventBus", "DependsOn": "Queue", "Properties": {"Name": "bus"}},
        "Queue": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "q"}},
    }
    deployment = deploy(tmp_path, moto_endpoint, resources)

    assert list(deployment.physical_ids) == ["Queue", "Bus", "Rule"]
    targets = client("events", moto_endpoint).list_targets_by_rule(Rule="r", EventBusName="bus")["Targets"]
    assert targets[0]["Arn"] == f"arn:aws:sqs:{REGION}:{MOTO_ACCOUNT_ID}:q"


def test_a_stack_already_provisioned_on_the_endpoint_is_an_error(tmp_path: Path, moto_endpoint: str) -> None:
    resources = {"Q": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "q"}}}
    deploy(tmp_path, moto_endpoint, resources)
    with pytest.raises(StackExistsError, match="Small is already provisioned"):
        deploy(tmp_path, moto_endpoint, resources)


def test_another_region_is_resolved_and_used(tmp_path: Path, moto_endpoint: str) -> None:
    resources = {
        "Bucket": {
            "Type": "AWS::S3::Bucket",
            "Properties": {"BucketName": {"Fn::Sub": "data-${AWS::Region}"}},
        },
        "Logs": {"Type": "AWS::Logs::LogGroup", "Properties": {"LogGroupName": "/x"}},
    }
    (tmp_path / "Small.template.json").write_text(json.dumps({"Resources": resources}))

    deployment = provision(tmp_path, "Small", endpoint_url=moto_endpoint, region="eu-west-1")

    s3 = boto3.client("s3", endpoint_url=moto_endpoint, region_name="eu-west-1")
    assert s3.get_bucket_location(Bucket="data-eu-west-1")["LocationConstraint"] == "eu-west-1"
    logs = boto3.client("logs", endpoint_url=moto_endpoint, region_name="eu-west-1")
    assert [g["logGroupName"] for g in logs.describe_log_groups()["logGroups"]] == ["/x"]
    assert deployment.region == "eu-west-1"
    assert deployment.stack_id.startswith("arn:aws:cloudformation:eu-west-1:")


def test_the_synthesized_tap_stack_provisions_end_to_end(
    cloud_assembly: Path, stack_name: str, moto_endpoint: str
) -> None:
    template = json.loads((cloud_assembly / f"{stack_name}.template.json").read_text())

    deployment = provision(cloud_assembly, stack_name, endpoint_url=moto_endpoint, region=REGION)

    created = {lid for lid, res in template["Resources"].items() if "Condition" not in res}
    assert set(deployment.physical_ids) == created
    (stack,) = client("cloudformation", moto_endpoint).describe_stacks(StackName=stack_name)["Stacks"]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}
    assert outputs == deployment.outputs and set(outputs) == set(template["Outputs"])

    # Storage: the bucket and the table, with the template's properties.
    s3 = client("s3", moto_endpoint)
    bucket = outputs["S3BucketName"]
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    s3.put_object(Bucket=bucket, Key="probe.txt", Body=b"x")  # the TLS-only Deny is recorded, not enforced
    table = client("dynamodb", moto_endpoint).describe_table(TableName=outputs["DynamoDBTableName"])["Table"]
    (index,) = table["GlobalSecondaryIndexes"]
    assert index["IndexName"] == contract.TIME_INDEX_NAME
    assert [k["AttributeName"] for k in index["KeySchema"]] == [
        contract.TIME_INDEX_PARTITION_KEY,
        contract.TIME_INDEX_SORT_KEY,
    ]
    # The template's INCLUDE projection reaches the emulator: the index leaves eventState out.
    assert index["Projection"] == {
        "ProjectionType": "INCLUDE",
        "NonKeyAttributes": list(contract.TIME_INDEX_PROJECTED_ATTRIBUTES),
    }

    # Events: both rules on the bus, enabled, with the contract's source and detail-types.
    events = client("events", moto_endpoint)
    rules = events.list_rules(EventBusName=outputs["EventBusName"])["Rules"]
    patterns = {
        json.loads(rule["EventPattern"])["detail-type"][0] for rule in rules if rule["State"] == "ENABLED"
    }
    assert patterns == {contract.DETAIL_TYPE_SUCCESS, contract.DETAIL_TYPE_ERROR}
    # Every log group and queue carries the template's retention.
    logs = client("logs", moto_endpoint)
    retention = {g["logGroupName"]: g.get("retentionInDays") for g in logs.describe_log_groups()["logGroups"]}
    sqs = client("sqs", moto_endpoint)
    for lid, res in template["Resources"].items():
        properties = res.get("Properties", {})
        if res["Type"] == "AWS::Logs::LogGroup":
            assert retention[deployment.physical_ids[lid]] == properties.get("RetentionInDays")
        if res["Type"] == "AWS::SQS::Queue" and "MessageRetentionPeriod" in properties:
            queue = sqs.get_queue_attributes(QueueUrl=deployment.physical_ids[lid], AttributeNames=["All"])
            assert queue["Attributes"]["MessageRetentionPeriod"] == str(properties["MessageRetentionPeriod"])
    assert outputs["EventLogGroupName"] in retention

    # Processing: the processor and the publisher, each environment resolved to the deployed names.
    by_handler = {function.handler: function for function in deployment.functions.values()}
    assert set(by_handler) == {contract.HANDLER, contract.PUBLISHER_HANDLER}
    spec, publisher = by_handler[contract.HANDLER], by_handler[contract.PUBLISHER_HANDLER]
    assert spec.arn == outputs["LambdaFunctionArn"]
    assert spec.environment[contract.ENV_TABLE_NAME] == outputs["DynamoDBTableName"]
    assert contract.ENV_EVENT_BUS_NAME not in spec.environment
    assert publisher.name == outputs["PublisherFunctionName"]
    assert publisher.environment[contract.ENV_EVENT_BUS_NAME] == outputs["EventBusName"]
    (mapping,) = deployment.stream_mappings
    dynamodb = client("dynamodb", moto_endpoint)
    table_description = dynamodb.describe_table(TableName=outputs["DynamoDBTableName"])["Table"]
    assert mapping.event_source_arn == table_description["LatestStreamArn"]
    assert mapping.function_arn == publisher.arn and mapping.starting_position == "TRIM_HORIZON"
    assert (mapping.batch_size, mapping.maximum_retry_attempts, mapping.maximum_record_age_seconds) == (
        contract.PUBLISHER_BATCH_SIZE,
        contract.PUBLISHER_RETRY_ATTEMPTS,
        contract.PUBLISHER_MAX_RECORD_AGE_SECONDS,
    )
    assert mapping.bisect_batch_on_function_error and mapping.report_batch_item_failures
    assert str(mapping.on_failure_arn).endswith(f":{contract.PUBLISHER_FAILURE_QUEUE_PREFIX}-dev")
    template_environment = template["Resources"][spec.logical_id]["Properties"]["Environment"]["Variables"]
    assert spec.environment == {
        key: deployment.physical_ids[value["Ref"]] if isinstance(value, dict) else value
        for key, value in template_environment.items()
    }
    assert spec.tracing_active
    assert spec.async_config.on_failure_arn == outputs["FailureQueueArn"]
    attributes = sqs.get_queue_attributes(QueueUrl=outputs["FailureQueueUrl"], AttributeNames=["QueueArn"])
    assert attributes["Attributes"]["QueueArn"] == outputs["FailureQueueArn"]
    sqs.send_message(QueueUrl=outputs["FailureQueueUrl"], MessageBody="{}")  # its policy lets us in
    (notification,) = deployment.notifications
    assert (notification.bucket, notification.function_arn) == (bucket, spec.arn)
    assert notification.events == ("s3:ObjectCreated:*",)
    assert bucket in deployment.auto_delete_buckets

    # Monitoring, whatever the stack holds: every alarm exists under its deployed name.
    alarms = sorted(
        deployment.physical_ids[lid]
        for lid, res in template["Resources"].items()
        if res["Type"] == "AWS::CloudWatch::Alarm"
    )
    described_alarms = client("cloudwatch", moto_endpoint).describe_alarms(AlarmNames=alarms)["MetricAlarms"]
    assert sorted(alarm["AlarmName"] for alarm in described_alarms) == alarms
