"""The evaluation on the policies the stack's template synthesizes (cdk.out/TapStackdev.template.json),
copied here with their intrinsics resolved the way the local provisioning resolves them."""

from __future__ import annotations

from typing import Any

import pytest

from s3flow.local.iam.policy import (
    Decision,
    Principal,
    Request,
    Verdict,
    authorize,
    check_document,
    condition_keys,
)

ACCOUNT = "123456789012"
REGION = "us-east-1"
ARN = f"{REGION}:{ACCOUNT}"
PROCESSOR_ROLE = f"arn:aws:iam::{ACCOUNT}:role/TapStackdev-ProcessingS3ProcessorLambdaRole-1A2B3C"
PROCESSOR = Principal(
    "AWS",
    PROCESSOR_ROLE,
    ACCOUNT,
    f"arn:aws:sts::{ACCOUNT}:assumed-role/TapStackdev-ProcessingS3ProcessorLambdaRole-1A2B3C/processor",
)
TABLE = f"arn:aws:dynamodb:{ARN}:table/TapStackdev-StorageLambdaInvocationLogs-4D5E6F"
BUCKET = "arn:aws:s3:::tapstackdev-storageobjecttriggerbucket-7g8h9i"
ACCESS_LOG_BUCKET = "arn:aws:s3:::tapstackdev-storageaccesslogbucket-0j1k2l"
FAILURE_QUEUE = f"arn:aws:sqs:{ARN}:TapStackdev-ProcessingProcessorFailureQueue-3M4N5O"
DEAD_LETTER_QUEUE = f"arn:aws:sqs:{ARN}:TapStackdev-EventsEventDeliveryDeadLetterQueue-6P7Q8R"
PROCESSOR_LOG_GROUP = f"arn:aws:logs:{ARN}:log-group:/aws/lambda/s3flow-dev-processor:*"
EVENTS_LOG_GROUP = f"arn:aws:logs:{ARN}:log-group:/aws/events/processing-dev:*"
SUCCESS_RULE = f"arn:aws:events:{ARN}:rule/s3flow-dev-processing/TapStackdev-EventsSuccessEventRule-9S0T"
ERROR_RULE = f"arn:aws:events:{ARN}:rule/s3flow-dev-processing/TapStackdev-EventsErrorEventRule-1U2V"
TOPIC = f"arn:aws:sns:{ARN}:TapStackdev-MonitoringAlarmTopic-3W4X"
KEY = f"arn:aws:kms:{ARN}:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def secure_transport_only(action: str, resources: Any, principal: Any) -> dict[str, Any]:
    return {
        "Action": action,
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        "Effect": "Deny",
        "Principal": principal,
        "Resource": resources,
    }


PROCESSOR_IDENTITY = {
    "Statement": [
        {"Action": ["xray:PutTelemetryRecords", "xray:PutTraceSegments"], "Effect": "Allow", "Resource": "*"},
        {
            "Action": ["sqs:GetQueueAttributes", "sqs:GetQueueUrl", "sqs:SendMessage"],
            "Effect": "Allow",
            "Resource": FAILURE_QUEUE,
        },
        {
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Effect": "Allow",
            "Resource": PROCESSOR_LOG_GROUP,
        },
        {"Action": "dynamodb:PutItem", "Effect": "Allow", "Resource": TABLE},
        {"Action": ["s3:GetObject", "s3:GetObjectVersion"], "Effect": "Allow", "Resource": f"{BUCKET}/*"},
    ],
    "Version": "2012-10-17",
}
BUCKET_POLICY = {
    "Statement": [
        secure_transport_only("s3:*", [BUCKET, f"{BUCKET}/*"], {"AWS": "*"}),
        {
            "Action": ["s3:DeleteObject*", "s3:GetBucket*", "s3:List*", "s3:PutBucketPolicy"],
            "Effect": "Allow",
            "Principal": {
                "AWS": f"arn:aws:iam::{ACCOUNT}:role/TapStackdev-CustomS3AutoDeleteObjectsCustomR-5Y6Z"
            },
            "Resource": [BUCKET, f"{BUCKET}/*"],
        },
    ],
    "Version": "2012-10-17",
}
ACCESS_LOG_BUCKET_POLICY = {
    "Statement": [
        secure_transport_only("s3:*", [ACCESS_LOG_BUCKET, f"{ACCESS_LOG_BUCKET}/*"], {"AWS": "*"}),
        {
            "Action": "s3:PutObject",
            "Condition": {
                "ArnLike": {"aws:SourceArn": BUCKET},
                "StringEquals": {"aws:SourceAccount": ACCOUNT},
            },
            "Effect": "Allow",
            "Principal": {"Service": "logging.s3.amazonaws.com"},
            "Resource": f"{ACCESS_LOG_BUCKET}/object-trigger-bucket/*",
        },
    ],
    "Version": "2012-10-17",
}
DEAD_LETTER_QUEUE_POLICY = {
    "Statement": [
        secure_transport_only("sqs:*", DEAD_LETTER_QUEUE, {"AWS": "*"}),
        {
            "Action": "sqs:SendMessage",
            "Condition": {"ArnEquals": {"aws:SourceArn": [SUCCESS_RULE, ERROR_RULE]}},
            "Effect": "Allow",
            "Principal": {"Service": "events.amazonaws.com"},
            "Resource": DEAD_LETTER_QUEUE,
        },
    ],
    "Version": "2012-10-17",
}
FAILURE_QUEUE_POLICY = {
    "Statement": [secure_transport_only("sqs:*", FAILURE_QUEUE, {"AWS": "*"})],
    "Version": "2012-10-17",
}
EVENTS_LOGS_POLICY = {  # AWS::Logs::ResourcePolicy's PolicyDocument, a JSON string in the template
    "Statement": [
        {
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Effect": "Allow",
            "Principal": {"Service": "events.amazonaws.com"},
            "Resource": EVENTS_LOG_GROUP,
        }
    ],
    "Version": "2012-10-17",
}
KEY_POLICY = {
    "Statement": [
        {
            "Action": "kms:*",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
            "Resource": "*",
        },
        {
            "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
            "Effect": "Allow",
            "Principal": {"Service": "cloudwatch.amazonaws.com"},
            "Resource": "*",
        },
    ],
    "Version": "2012-10-17",
}
TOPIC_POLICY = {
    "Statement": [
        {**secure_transport_only("sns:Publish", TOPIC, "*"), "Sid": "AllowPublishThroughSSLOnly"},
        {
            "Action": "sns:Publish",
            "Condition": {
                "StringEquals": {"aws:SourceAccount": ACCOUNT},
                "ArnLike": {"aws:SourceArn": f"arn:aws:cloudwatch:{ARN}:alarm:s3flow-dev-*"},
            },
            "Effect": "Allow",
            "Principal": {"Service": "cloudwatch.amazonaws.com"},
            "Resource": TOPIC,
            "Sid": "CloudWatchAlarmsOfThisStackPublish",
        },
    ],
    "Version": "2012-10-17",
}
ALL: list[dict[str, Any]] = [
    PROCESSOR_IDENTITY,
    BUCKET_POLICY,
    ACCESS_LOG_BUCKET_POLICY,
    DEAD_LETTER_QUEUE_POLICY,
    FAILURE_QUEUE_POLICY,
    EVENTS_LOGS_POLICY,
    KEY_POLICY,
    TOPIC_POLICY,
]


def role(
    action: str, resource: str, *, tls: bool = True, resource_policy: dict[str, Any] | None = None
) -> Verdict:
    context = {"aws:SecureTransport": "true" if tls else "false", "aws:PrincipalArn": PROCESSOR_ROLE}
    return authorize(
        Request(PROCESSOR, action, resource, context),
        identity=[PROCESSOR_IDENTITY],
        resource=[resource_policy] if resource_policy else [],
        resource_account=ACCOUNT,
        key_policy=resource_policy is KEY_POLICY,
    )


def service(
    name: str, action: str, resource: str, policy: dict[str, Any], *, source_arn: str, account: str = ACCOUNT
) -> Verdict:
    context = {"aws:SecureTransport": "true", "aws:SourceArn": source_arn, "aws:SourceAccount": account}
    return authorize(
        Request(Principal("Service", name), action, resource, context),
        resource=[policy],
        resource_account=ACCOUNT,
        key_policy=policy is KEY_POLICY,
    )


ALLOWED = Verdict(Decision.ALLOW)
NOT_ALLOWED = Verdict(Decision.IMPLICIT_DENY)
DENIED_BY_RESOURCE = Verdict(Decision.EXPLICIT_DENY, "resource-based policy")


@pytest.mark.parametrize(
    ("action", "resource", "verdict"),
    [
        ("dynamodb:PutItem", TABLE, ALLOWED),
        ("dynamodb:DeleteItem", TABLE, NOT_ALLOWED),
        ("dynamodb:PutItem", TABLE.replace("4D5E6F", "other"), NOT_ALLOWED),
        ("s3:GetObject", f"{BUCKET}/incoming/a.csv", ALLOWED),
        ("s3:GetObjectVersion", f"{BUCKET}/a.csv", ALLOWED),
        ("s3:PutObject", f"{BUCKET}/a.csv", NOT_ALLOWED),
        ("s3:GetObject", f"{ACCESS_LOG_BUCKET}/a.csv", NOT_ALLOWED),
        ("xray:PutTraceSegments", "*", ALLOWED),
        ("sqs:SendMessage", FAILURE_QUEUE, ALLOWED),
        ("sqs:SendMessage", DEAD_LETTER_QUEUE, NOT_ALLOWED),
        (
            "logs:PutLogEvents",
            PROCESSOR_LOG_GROUP.replace(":*", ":log-stream:2024/01/01/[$LATEST]abc"),
            ALLOWED,
        ),
        ("logs:PutLogEvents", EVENTS_LOG_GROUP.replace(":*", ":log-stream:x"), NOT_ALLOWED),
    ],
)
def test_the_processor_role_may_do_what_its_identity_policy_grants_and_nothing_else(
    action: str, resource: str, verdict: Verdict
) -> None:
    assert role(action, resource) == verdict


@pytest.mark.parametrize(
    ("action", "resource", "policy"),
    [
        ("s3:GetObject", f"{BUCKET}/a.csv", BUCKET_POLICY),
        ("sqs:SendMessage", FAILURE_QUEUE, FAILURE_QUEUE_POLICY),
    ],
)
def test_the_secure_transport_deny_refuses_the_role_over_plain_http_only(
    action: str, resource: str, policy: dict[str, Any]
) -> None:
    assert role(action, resource, resource_policy=policy) == ALLOWED
    assert role(action, resource, resource_policy=policy, tls=False) == DENIED_BY_RESOURCE


def test_eventbridge_may_send_to_the_dead_letter_queue_for_the_stacks_rules_only() -> None:
    def send(source_arn: str) -> Verdict:
        return service(
            "events.amazonaws.com",
            "sqs:SendMessage",
            DEAD_LETTER_QUEUE,
            DEAD_LETTER_QUEUE_POLICY,
            source_arn=source_arn,
        )

    assert send(SUCCESS_RULE) == ALLOWED
    assert send(ERROR_RULE) == ALLOWED
    assert send(SUCCESS_RULE.replace("9S0T", "other")) == NOT_ALLOWED
    purge = service(
        "events.amazonaws.com",
        "sqs:PurgeQueue",
        DEAD_LETTER_QUEUE,
        DEAD_LETTER_QUEUE_POLICY,
        source_arn=SUCCESS_RULE,
    )
    assert purge == NOT_ALLOWED
    sns = service(
        "sns.amazonaws.com",
        "sqs:SendMessage",
        DEAD_LETTER_QUEUE,
        DEAD_LETTER_QUEUE_POLICY,
        source_arn=SUCCESS_RULE,
    )
    assert sns == NOT_ALLOWED
    plain_http = authorize(
        Request(
            Principal("Service", "events.amazonaws.com"),
            "sqs:SendMessage",
            DEAD_LETTER_QUEUE,
            {"aws:SecureTransport": "false", "aws:SourceArn": SUCCESS_RULE},
        ),
        resource=[DEAD_LETTER_QUEUE_POLICY],
    )
    assert plain_http == DENIED_BY_RESOURCE


def test_cloudwatch_may_publish_to_the_alarm_topic_for_this_stacks_alarms_in_this_account() -> None:
    def publish(source_arn: str, account: str = ACCOUNT) -> Verdict:
        return service(
            "cloudwatch.amazonaws.com",
            "sns:Publish",
            TOPIC,
            TOPIC_POLICY,
            source_arn=source_arn,
            account=account,
        )

    assert publish(f"arn:aws:cloudwatch:{ARN}:alarm:s3flow-dev-processor-errors") == ALLOWED
    assert publish(f"arn:aws:cloudwatch:{ARN}:alarm:someone-elses-alarm") == NOT_ALLOWED
    assert publish(f"arn:aws:cloudwatch:{ARN}:alarm:s3flow-dev-x", account="210987654321") == NOT_ALLOWED
    assert role("sns:Publish", TOPIC, resource_policy=TOPIC_POLICY) == NOT_ALLOWED
    assert role("sns:Publish", TOPIC, resource_policy=TOPIC_POLICY, tls=False) == DENIED_BY_RESOURCE


def test_the_key_policy_lets_cloudwatch_use_the_key_and_the_account_delegate_to_iam() -> None:
    for action in ("kms:Decrypt", "kms:GenerateDataKey"):
        assert service("cloudwatch.amazonaws.com", action, KEY, KEY_POLICY, source_arn=TOPIC) == ALLOWED
    assert (
        service("cloudwatch.amazonaws.com", "kms:Encrypt", KEY, KEY_POLICY, source_arn=TOPIC) == NOT_ALLOWED
    )
    assert service("events.amazonaws.com", "kms:Decrypt", KEY, KEY_POLICY, source_arn=TOPIC) == NOT_ALLOWED
    # The root statement enables IAM policies: the processor's grants no KMS action.
    assert role("kms:Decrypt", KEY, resource_policy=KEY_POLICY) == NOT_ALLOWED
    granted = {
        "Version": "2012-10-17",
        "Statement": {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": KEY},
    }
    request = Request(PROCESSOR, "kms:Decrypt", KEY, {"aws:SecureTransport": "true"})
    assert authorize(request, identity=[granted], resource=[KEY_POLICY], key_policy=True) == ALLOWED
    assert authorize(request, identity=[granted], key_policy=True) == NOT_ALLOWED


def test_s3_server_access_logging_may_write_the_trigger_buckets_prefix_only() -> None:
    def put(key: str, source_arn: str = BUCKET) -> Verdict:
        return service(
            "logging.s3.amazonaws.com",
            "s3:PutObject",
            f"{ACCESS_LOG_BUCKET}/{key}",
            ACCESS_LOG_BUCKET_POLICY,
            source_arn=source_arn,
        )

    assert put("object-trigger-bucket/2024-01-01-00-00-00-ABC") == ALLOWED
    assert put("elsewhere/2024-01-01-00-00-00-ABC") == NOT_ALLOWED
    assert put("object-trigger-bucket/x", source_arn="arn:aws:s3:::another-bucket") == NOT_ALLOWED


def test_eventbridge_may_write_the_events_log_group_through_the_logs_resource_policy() -> None:
    stream = EVENTS_LOG_GROUP.replace(":*", ":log-stream:abc")
    assert (
        service(
            "events.amazonaws.com", "logs:PutLogEvents", stream, EVENTS_LOGS_POLICY, source_arn=SUCCESS_RULE
        )
        == ALLOWED
    )
    assert (
        service(
            "events.amazonaws.com", "logs:DeleteLogGroup", stream, EVENTS_LOGS_POLICY, source_arn=SUCCESS_RULE
        )
        == NOT_ALLOWED
    )
    other = PROCESSOR_LOG_GROUP.replace(":*", ":log-stream:abc")
    assert (
        service(
            "events.amazonaws.com", "logs:PutLogEvents", other, EVENTS_LOGS_POLICY, source_arn=SUCCESS_RULE
        )
        == NOT_ALLOWED
    )


def test_every_stack_policy_passes_the_document_check_and_uses_three_condition_keys() -> None:
    for document in ALL:
        check_document(document)
    used = set().union(*(condition_keys(document) for document in ALL))
    assert used == {"aws:SecureTransport", "aws:SourceArn", "aws:SourceAccount"}
