"""cdk.json carries the feature flags a new `cdk init` project of the pinned aws-cdk-lib has.

Unset flags keep old CDK behaviour and make the CDK CLI warn on every synth; the
recommended set ships inside aws-cdk-lib itself (``recommended-feature-flags.json``), and
`cdk init` copies exactly that set into a new project's cdk.json.
"""

from __future__ import annotations

import json
import tarfile
from pathlib import Path
from typing import Any

import aws_cdk
from aws_cdk.assertions import Match, Template

from s3flow.infra.app import cdk_json_context


def _recommended_flags() -> dict[str, Any]:
    jsii_folder = Path(aws_cdk.__file__).parent / "_jsii"
    (bundle,) = jsii_folder.glob("aws-cdk-lib@*.jsii.tgz")
    with tarfile.open(bundle) as tar:
        member = tar.extractfile("package/recommended-feature-flags.json")
        assert member is not None
        return dict(json.load(member))


def test_cdk_json_sets_every_recommended_flag_of_the_pinned_library_to_its_recommended_value() -> None:
    recommended = _recommended_flags()
    context = cdk_json_context()
    assert len(recommended) > 80  # the library's list itself, not an empty read
    wrong = {flag: context.get(flag) for flag in recommended if context.get(flag) != recommended[flag]}
    assert wrong == {}


def test_cdk_json_sets_no_flag_the_pinned_library_does_not_recommend() -> None:
    # A key that is not a flag of this version (a typo or a flag that was removed) does nothing.
    assert sorted(set(cdk_json_context()) - set(_recommended_flags())) == []


def test_bucket_notifications_are_managed_by_this_stack_with_put_only(template: Template) -> None:
    # keepNotificationInImportedBucket=false: the bucket is this stack's own, so CDK's handler
    # replaces its whole notification configuration instead of reading and merging it.
    template.has_resource_properties("Custom::S3BucketNotifications", {"Managed": True})
    template.has_resource_properties(
        "AWS::IAM::Policy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [Match.object_like({"Action": "s3:PutBucketNotification", "Effect": "Allow"})]
                )
            }
        },
    )
