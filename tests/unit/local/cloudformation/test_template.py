"""Resolving a template without AWS: intrinsics, pseudo parameters, parameters, conditions,
references, creation order, generated names."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from s3flow.local.cloudformation import (
    MOTO_ACCOUNT_ID,
    Resolver,
    TemplateError,
    creation_order,
    physical_name,
    references,
)

REGION = "us-east-1"


def resolver(template: dict[str, Any] | None = None, **kwargs: Any) -> Resolver:
    return Resolver(template or {"Resources": {}}, "Small", REGION, **kwargs)


def test_pseudo_parameters_resolve_to_the_local_account_region_and_stack() -> None:
    r = resolver(stack_id="arn:aws:cloudformation:us-east-1:123456789012:stack/Small/abc")
    refs = ["AccountId", "Region", "Partition", "URLSuffix", "StackName", "StackId"]
    assert [r.resolve({"Ref": f"AWS::{name}"}) for name in refs] == [
        MOTO_ACCOUNT_ID,
        REGION,
        "aws",
        "amazonaws.com",
        "Small",
        "arn:aws:cloudformation:us-east-1:123456789012:stack/Small/abc",
    ]


def test_no_value_removes_the_property_and_the_list_item() -> None:
    value = {"Keep": "a", "Drop": {"Ref": "AWS::NoValue"}, "List": ["x", {"Ref": "AWS::NoValue"}, "y"]}
    assert resolver().resolve(value) == {"Keep": "a", "List": ["x", "y"]}


def test_join_sub_select_split_getazs_findinmap_base64() -> None:
    r = resolver({"Resources": {}, "Mappings": {"Sizes": {"dev": {"Memory": 256}}}})
    r.refs["Bucket"] = "my-bucket"
    r.attributes["Bucket"] = {"Arn": "arn:aws:s3:::my-bucket"}

    assert r.resolve({"Fn::Join": ["-", ["a", {"Ref": "Bucket"}, {"Ref": "AWS::Region"}]]}) == (
        "a-my-bucket-us-east-1"
    )
    assert r.resolve({"Fn::Sub": "${Bucket}/${Bucket.Arn}/${AWS::AccountId}/${!Literal}"}) == (
        f"my-bucket/arn:aws:s3:::my-bucket/{MOTO_ACCOUNT_ID}/${{Literal}}"
    )
    assert r.resolve({"Fn::Sub": ["${Name}-${AWS::Region}", {"Name": {"Ref": "Bucket"}}]}) == (
        "my-bucket-us-east-1"
    )
    assert r.resolve({"Fn::Select": ["1", {"Fn::Split": [",", "a,b,c"]}]}) == "b"
    assert r.resolve({"Fn::Select": [0, {"Fn::GetAZs": ""}]}) == "us-east-1a"
    assert r.resolve({"Fn::FindInMap": ["Sizes", "dev", "Memory"]}) == 256
    assert base64.b64decode(r.resolve({"Fn::Base64": {"Ref": "Bucket"}})) == b"my-bucket"


def test_conditions_choose_the_if_branch() -> None:
    template = {
        "Resources": {},
        "Parameters": {"Env": {"Type": "String", "Default": "prod"}},
        "Conditions": {
            "IsProd": {"Fn::Equals": [{"Ref": "Env"}, "prod"]},
            "IsDev": {"Fn::Not": [{"Condition": "IsProd"}]},
            "Either": {"Fn::Or": [{"Condition": "IsDev"}, {"Condition": "IsProd"}]},
            "Both": {"Fn::And": [{"Condition": "IsDev"}, {"Condition": "IsProd"}]},
        },
    }
    r = resolver(template)
    assert [r.condition(name) for name in ("IsProd", "IsDev", "Either", "Both")] == [True, False, True, False]
    assert r.resolve({"Fn::If": ["IsDev", "small", "large"]}) == "large"
    assert r.resolve({"Fn::If": ["IsProd", {"Ref": "AWS::NoValue"}, "x"]}) is not None
    assert r.resolve({"Key": {"Fn::If": ["IsProd", {"Ref": "AWS::NoValue"}, "x"]}}) == {}


def test_parameters_take_defaults_overrides_and_lists() -> None:
    template = {
        "Resources": {},
        "Parameters": {
            "Suffix": {"Type": "String", "Default": "dev"},
            "Zones": {"Type": "CommaDelimitedList", "Default": "a, b"},
        },
    }
    assert resolver(template).resolve({"Ref": "Suffix"}) == "dev"
    assert resolver(template, parameter_overrides={"Suffix": "qa"}).resolve({"Ref": "Suffix"}) == "qa"
    assert resolver(template).resolve({"Ref": "Zones"}) == ["a", "b"]


def test_bootstrap_version_parameter_is_an_error_only_when_referenced() -> None:
    template = {
        "Resources": {},
        "Parameters": {
            "BootstrapVersion": {
                "Type": "AWS::SSM::Parameter::Value<String>",
                "Default": "/cdk-bootstrap/hnb659fds/version",
            },
            "Required": {"Type": "String"},
        },
    }
    with pytest.raises(TemplateError, match="BootstrapVersion is an SSM lookup"):
        resolver(template).resolve({"Ref": "BootstrapVersion"})
    with pytest.raises(TemplateError, match="Required has no default"):
        resolver(template).resolve({"Ref": "Required"})


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"Ref": "Nowhere"}, "unknown name Nowhere"),
        ({"Fn::GetAtt": ["Nowhere", "Arn"]}, "unknown resource Nowhere"),
        ({"Fn::GetAtt": ["Bucket", "Missing"]}, "Bucket has no attribute Missing"),
        ({"Fn::ImportValue": "x"}, "Fn::ImportValue is not supported"),
        ({"Fn::Select": [5, ["a"]]}, "out of range"),
    ],
)
def test_unresolvable_intrinsics_are_clear_errors(value: dict[str, Any], message: str) -> None:
    r = resolver()
    r.attributes["Bucket"] = {"Arn": "arn:aws:s3:::b"}
    with pytest.raises(TemplateError, match=message):
        r.resolve(value)


def test_references_include_ref_getatt_sub_but_not_pseudo_or_sub_variables() -> None:
    fragment = {
        "A": {"Ref": "Table"},
        "B": {"Fn::GetAtt": "Queue.Arn"},
        "C": {"Fn::Sub": "${Bus}-${Role.Arn}-${!Skip}-${AWS::Region}"},
        "D": {"Fn::Sub": ["${Local}", {"Local": {"Ref": "Topic"}}]},
    }
    assert references(fragment) - {"AWS::Region"} == {"Table", "Queue", "Bus", "Role", "Topic"}


def test_creation_order_follows_refs_getatts_subs_and_depends_on() -> None:
    resources = {
        "Rule": {"Properties": {"Bus": {"Ref": "Bus"}, "Target": {"Fn::GetAtt": ["Logs", "Arn"]}}},
        "Logs": {"Properties": {"Name": {"Fn::Sub": "${Bus}-logs"}}},
        "Bus": {"DependsOn": "Role"},
        "Role": {},
    }
    order = creation_order(resources)
    assert order.index("Role") < order.index("Bus") < order.index("Logs") < order.index("Rule")


def test_creation_order_rejects_cycles_and_unknown_depends_on() -> None:
    with pytest.raises(TemplateError, match="circular dependency among A, B"):
        creation_order({"A": {"Properties": {"X": {"Ref": "B"}}}, "B": {"DependsOn": ["A"]}})
    with pytest.raises(TemplateError, match="A DependsOn unknown resource Ghost"):
        creation_order({"A": {"DependsOn": "Ghost"}})


def test_generated_names_are_deterministic_and_fit_the_service_limit() -> None:
    long_id = "StorageObjectTriggerBucketWithAVeryLongLogicalIdentifier1DB48BC9"
    name = physical_name("TapStackdev", long_id, max_length=63, lower=True)
    assert name == physical_name("TapStackdev", long_id, max_length=63, lower=True)
    assert len(name) <= 63 and name == name.lower() and name.startswith("tapstackdev-")
    assert physical_name("TapStackdev", "Other", max_length=63) != physical_name(
        "TapStackdev", "Another", max_length=63
    )
