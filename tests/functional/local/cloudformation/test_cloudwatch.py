"""AWS::CloudWatch::Alarm and AWS::CloudWatch::Dashboard on moto."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .conftest import client, deploy

# moto warns that it has no model for the one-resource stand-in the stack is registered with.
pytestmark = pytest.mark.filterwarnings("ignore:Tried to parse AWS..CloudFormation..WaitConditionHandle")


def test_cloudwatch_alarm_and_dashboard(tmp_path: Path, moto_endpoint: str) -> None:
    resources = {
        "Alarm": {
            "Type": "AWS::CloudWatch::Alarm",
            "Properties": {
                "AlarmName": "processor-errors",
                "MetricName": "Errors",
                "Namespace": "AWS/Lambda",
                "Dimensions": [{"Name": "FunctionName", "Value": "processor"}],
                "Statistic": "Sum",
                "Period": 300,
                "EvaluationPeriods": 1,
                "Threshold": 1,
                "ComparisonOperator": "GreaterThanOrEqualToThreshold",
                "TreatMissingData": "notBreaching",
            },
        },
        "Dashboard": {
            "Type": "AWS::CloudWatch::Dashboard",
            "Properties": {
                "DashboardName": "s3flow",
                "DashboardBody": {"Fn::Join": ["", ['{"widgets":[]', "}"]]},
            },
        },
    }
    deploy(tmp_path, moto_endpoint, resources)

    cloudwatch = client("cloudwatch", moto_endpoint)
    (alarm,) = cloudwatch.describe_alarms(AlarmNames=["processor-errors"])["MetricAlarms"]
    assert (alarm["MetricName"], alarm["Threshold"], alarm["TreatMissingData"]) == (
        "Errors",
        1.0,
        "notBreaching",
    )
    assert json.loads(cloudwatch.get_dashboard(DashboardName="s3flow")["DashboardBody"]) == {"widgets": []}
