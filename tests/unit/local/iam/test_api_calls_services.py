"""Each mapped call, signed by botocore exactly as a function's boto3 client sends it: the IAM
actions and resources ``describe`` reads from it, and the refusal ``access_denied`` builds,
parsed back by botocore into the error code and message AWS gives."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from botocore.parsers import create_parser
from moto.kms.models import Key
from moto.kms.utils import encrypt

from s3flow.local.iam.api_calls import ApiCall, access_denied, describe

from .api_calls_support import (
    ACCESS_KEY,
    ACCOUNT,
    PRINCIPAL,
    REGION,
    answered_to_botocore,
    botocore_client,
    sent_by_botocore,
    wsgi_request,
)

TABLE = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/records"
QUEUE_URL = f"http://127.0.0.1:4566/{ACCOUNT}/failures"
QUEUE = f"arn:aws:sqs:{REGION}:{ACCOUNT}:failures"
TOPIC = f"arn:aws:sns:{REGION}:{ACCOUNT}:alarms"
STREAM = f"{TABLE}/stream/2026-01-01T00:00:00.000"
KEY_ID = "0b4c6b53-7d6e-4c1f-9a53-1c7a4a1b2c3d"
GROUP = "/aws/lambda/processor"
LOG_GROUP = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{GROUP}"
ENTRY = {"Source": "s3flow", "DetailType": "ObjectProcessed", "Detail": "{}"}


def moto_ciphertext(key_id: str) -> bytes:
    """What moto's Encrypt returns for the key: its own format, the key id first."""
    key = Key(
        policy=None,
        key_usage="ENCRYPT_DECRYPT",
        key_spec="SYMMETRIC_DEFAULT",
        account_id=ACCOUNT,
        region=REGION,
        description="",
    )
    key.id = key_id
    blob = encrypt(master_keys={key_id: key}, key_id=key_id, plaintext=b"x", encryption_context={})
    return blob if isinstance(blob, bytes) else blob[0]


def describe_sent(service: str, operation: str, **params: Any) -> ApiCall | None:
    request = sent_by_botocore(botocore_client(service), operation, **params)
    return describe(request, account=ACCOUNT, region=REGION)


def pairs(call: ApiCall | None) -> list[tuple[str, str]]:
    assert call is not None
    return [(authorization.action, authorization.resource) for authorization in call.authorizations]


# (botocore service, operation, parameters) -> the (action, resource) pairs IAM checks, in order.
CASES: list[tuple[str, str, dict[str, Any], list[tuple[str, str]]]] = [
    # DynamoDB
    ("dynamodb", "put_item", {"TableName": "records", "Item": {}}, [("dynamodb:PutItem", TABLE)]),
    ("dynamodb", "get_item", {"TableName": "records", "Key": {}}, [("dynamodb:GetItem", TABLE)]),
    ("dynamodb", "update_item", {"TableName": "records", "Key": {}}, [("dynamodb:UpdateItem", TABLE)]),
    ("dynamodb", "delete_item", {"TableName": TABLE, "Key": {}}, [("dynamodb:DeleteItem", TABLE)]),
    ("dynamodb", "describe_table", {"TableName": "records"}, [("dynamodb:DescribeTable", TABLE)]),
    ("dynamodb", "scan", {"TableName": "records"}, [("dynamodb:Scan", TABLE)]),
    (
        "dynamodb",
        "query",
        {"TableName": "records", "IndexName": "by-time", "KeyConditionExpression": "k = :k"},
        [("dynamodb:Query", f"{TABLE}/index/by-time")],
    ),
    (
        "dynamodb",
        "batch_write_item",
        {
            "RequestItems": {
                "records": [{"PutRequest": {"Item": {}}}],
                "other": [{"DeleteRequest": {"Key": {}}}],
            }
        },
        [
            ("dynamodb:BatchWriteItem", TABLE),
            ("dynamodb:BatchWriteItem", f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/other"),
        ],
    ),
    (
        "dynamodb",
        "batch_get_item",
        {"RequestItems": {"records": {"Keys": [{}]}}},
        [("dynamodb:BatchGetItem", TABLE)],
    ),
    (
        "dynamodb",
        "transact_write_items",
        {
            "TransactItems": [
                {"Put": {"TableName": "records", "Item": {}}},
                {"Update": {"TableName": "records", "Key": {}, "UpdateExpression": "SET a = :a"}},
                {"Delete": {"TableName": "records", "Key": {}}},
                {"ConditionCheck": {"TableName": "other", "Key": {}, "ConditionExpression": "a = :a"}},
                {"Put": {"TableName": "records", "Item": {}}},
            ]
        },
        [
            ("dynamodb:PutItem", TABLE),
            ("dynamodb:UpdateItem", TABLE),
            ("dynamodb:DeleteItem", TABLE),
            ("dynamodb:ConditionCheckItem", f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/other"),
        ],
    ),
    # DynamoDB Streams: signing name "dynamodb", actions "dynamodb:"
    ("dynamodbstreams", "describe_stream", {"StreamArn": STREAM}, [("dynamodb:DescribeStream", STREAM)]),
    (
        "dynamodbstreams",
        "get_shard_iterator",
        {
            "StreamArn": STREAM,
            "ShardId": "shardId-00000001700000000000-abcdef12",
            "ShardIteratorType": "TRIM_HORIZON",
        },
        [("dynamodb:GetShardIterator", STREAM)],
    ),
    (
        "dynamodbstreams",
        "get_records",
        {"ShardIterator": f"{STREAM}|1|c2hhcmQ="},  # moto's iterator: the stream's ARN first
        [("dynamodb:GetRecords", STREAM)],
    ),
    (
        "dynamodbstreams",
        "get_records",
        {"ShardIterator": "AAAAAAAAAAH0paque"},  # AWS's: opaque
        [("dynamodb:GetRecords", f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/*/stream/*")],
    ),
    ("dynamodbstreams", "list_streams", {}, [("dynamodb:ListStreams", "*")]),
    # EventBridge: one events:PutEvents per distinct bus, a name, an ARN or the default bus
    (
        "events",
        "put_events",
        {
            "Entries": [
                {**ENTRY, "EventBusName": "processing"},
                {**ENTRY, "EventBusName": f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/processing"},
                ENTRY,
                {**ENTRY, "EventBusName": f"arn:aws:events:{REGION}:210987654321:event-bus/central"},
            ]
        },
        [
            ("events:PutEvents", f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/processing"),
            ("events:PutEvents", f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/default"),
            ("events:PutEvents", f"arn:aws:events:{REGION}:210987654321:event-bus/central"),
        ],
    ),
    # SQS (botocore speaks its JSON protocol)
    ("sqs", "send_message", {"QueueUrl": QUEUE_URL, "MessageBody": "x"}, [("sqs:SendMessage", QUEUE)]),
    (
        "sqs",
        "send_message_batch",
        {"QueueUrl": QUEUE_URL, "Entries": [{"Id": "1", "MessageBody": "x"}]},
        [("sqs:SendMessage", QUEUE)],
    ),
    ("sqs", "receive_message", {"QueueUrl": QUEUE_URL}, [("sqs:ReceiveMessage", QUEUE)]),
    ("sqs", "delete_message", {"QueueUrl": QUEUE_URL, "ReceiptHandle": "r"}, [("sqs:DeleteMessage", QUEUE)]),
    (
        "sqs",
        "delete_message_batch",
        {"QueueUrl": QUEUE_URL, "Entries": [{"Id": "1", "ReceiptHandle": "r"}]},
        [("sqs:DeleteMessage", QUEUE)],
    ),
    ("sqs", "get_queue_url", {"QueueName": "failures"}, [("sqs:GetQueueUrl", QUEUE)]),
    (
        "sqs",
        "get_queue_url",
        {"QueueName": "failures", "QueueOwnerAWSAccountId": "210987654321"},
        [("sqs:GetQueueUrl", f"arn:aws:sqs:{REGION}:210987654321:failures")],
    ),
    ("sqs", "get_queue_attributes", {"QueueUrl": QUEUE_URL}, [("sqs:GetQueueAttributes", QUEUE)]),
    (
        "sqs",
        "send_message",
        {"QueueUrl": f"https://sqs.eu-west-1.amazonaws.com/{ACCOUNT}/elsewhere", "MessageBody": "x"},
        [("sqs:SendMessage", f"arn:aws:sqs:eu-west-1:{ACCOUNT}:elsewhere")],
    ),
    # S3, path style as the functions' clients send it to 127.0.0.1
    (
        "s3",
        "get_object",
        {"Bucket": "uploads", "Key": "in/a b.txt"},
        [("s3:GetObject", "arn:aws:s3:::uploads/in/a b.txt")],
    ),
    (
        "s3",
        "get_object",
        {"Bucket": "uploads", "Key": "a.txt", "VersionId": "v1"},
        [("s3:GetObjectVersion", "arn:aws:s3:::uploads/a.txt")],
    ),
    (
        "s3",
        "head_object",
        {"Bucket": "uploads", "Key": "a.txt"},
        [("s3:GetObject", "arn:aws:s3:::uploads/a.txt")],
    ),
    (
        "s3",
        "head_object",
        {"Bucket": "uploads", "Key": "a.txt", "VersionId": "v1"},
        [("s3:GetObjectVersion", "arn:aws:s3:::uploads/a.txt")],
    ),
    (
        "s3",
        "put_object",
        {"Bucket": "uploads", "Key": "a.txt", "Body": b"x"},
        [("s3:PutObject", "arn:aws:s3:::uploads/a.txt")],
    ),
    (
        "s3",
        "delete_object",
        {"Bucket": "uploads", "Key": "a.txt"},
        [("s3:DeleteObject", "arn:aws:s3:::uploads/a.txt")],
    ),
    (
        "s3",
        "delete_object",
        {"Bucket": "uploads", "Key": "a.txt", "VersionId": "v1"},
        [("s3:DeleteObjectVersion", "arn:aws:s3:::uploads/a.txt")],
    ),
    (
        "s3",
        "list_objects_v2",
        {"Bucket": "uploads", "Prefix": "in/"},
        [("s3:ListBucket", "arn:aws:s3:::uploads")],
    ),
    ("s3", "list_objects", {"Bucket": "uploads"}, [("s3:ListBucket", "arn:aws:s3:::uploads")]),
    (
        "s3",
        "list_object_versions",
        {"Bucket": "uploads"},
        [("s3:ListBucketVersions", "arn:aws:s3:::uploads")],
    ),
    ("s3", "head_bucket", {"Bucket": "uploads"}, [("s3:ListBucket", "arn:aws:s3:::uploads")]),
    ("s3", "get_bucket_policy", {"Bucket": "uploads"}, [("s3:GetBucketPolicy", "arn:aws:s3:::uploads")]),
    (
        "s3",
        "delete_bucket_encryption",
        {"Bucket": "uploads"},
        [("s3:PutEncryptionConfiguration", "arn:aws:s3:::uploads")],
    ),
    ("s3", "list_buckets", {}, [("s3:ListAllMyBuckets", "*")]),
    (
        "s3",
        "copy_object",
        {
            "Bucket": "uploads",
            "Key": "copy.txt",
            "CopySource": {"Bucket": "archive", "Key": "a b.txt", "VersionId": "3"},
        },
        [
            ("s3:PutObject", "arn:aws:s3:::uploads/copy.txt"),
            ("s3:GetObjectVersion", "arn:aws:s3:::archive/a b.txt"),
        ],
    ),
    (
        "s3",
        "delete_objects",
        {
            "Bucket": "uploads",
            "Delete": {"Objects": [{"Key": "a"}, {"Key": "b", "VersionId": "2"}, {"Key": "a"}]},
        },
        [("s3:DeleteObject", "arn:aws:s3:::uploads/a"), ("s3:DeleteObjectVersion", "arn:aws:s3:::uploads/b")],
    ),
    (
        "s3",
        "put_object_tagging",
        {"Bucket": "uploads", "Key": "a.txt", "Tagging": {"TagSet": []}},
        [("s3:PutObjectTagging", "arn:aws:s3:::uploads/a.txt")],
    ),
    # CloudWatch Logs: a stream's actions on the stream, a group's on the group with an empty stream
    (
        "logs",
        "put_log_events",
        {
            "logGroupName": GROUP,
            "logStreamName": "2026/01/01/[$LATEST]abc",
            "logEvents": [{"timestamp": 1, "message": "m"}],
        },
        [("logs:PutLogEvents", f"{LOG_GROUP}:log-stream:2026/01/01/[$LATEST]abc")],
    ),
    (
        "logs",
        "create_log_stream",
        {"logGroupName": GROUP, "logStreamName": "s"},
        [("logs:CreateLogStream", f"{LOG_GROUP}:log-stream:s")],
    ),
    (
        "logs",
        "create_log_group",
        {"logGroupName": GROUP},
        [("logs:CreateLogGroup", f"{LOG_GROUP}:log-stream:")],
    ),
    (
        "logs",
        "filter_log_events",
        {"logGroupName": GROUP},
        [("logs:FilterLogEvents", f"{LOG_GROUP}:log-stream:")],
    ),
    (
        "logs",
        "filter_log_events",
        {"logGroupIdentifier": LOG_GROUP},
        [("logs:FilterLogEvents", f"{LOG_GROUP}:log-stream:")],
    ),
    (
        "logs",
        "get_log_events",
        {"logGroupName": GROUP, "logStreamName": "s"},
        [("logs:GetLogEvents", f"{LOG_GROUP}:log-stream:s")],
    ),
    # CloudWatch: signing name "monitoring", IAM prefix "cloudwatch"
    (
        "cloudwatch",
        "put_metric_data",
        {"Namespace": "s3flow", "MetricData": [{"MetricName": "m", "Value": 1.0}]},
        [("cloudwatch:PutMetricData", "*")],
    ),
    # SNS (query protocol)
    ("sns", "publish", {"TopicArn": TOPIC, "Message": "m"}, [("sns:Publish", TOPIC)]),
    # KMS: a key id, a key ARN, an alias (left as the alias ARN), the key in a moto ciphertext
    (
        "kms",
        "encrypt",
        {"KeyId": KEY_ID, "Plaintext": b"x"},
        [("kms:Encrypt", f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{KEY_ID}")],
    ),
    (
        "kms",
        "generate_data_key",
        {"KeyId": f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{KEY_ID}", "KeySpec": "AES_256"},
        [("kms:GenerateDataKey", f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{KEY_ID}")],
    ),
    (
        "kms",
        "generate_data_key",
        {"KeyId": "alias/queues", "KeySpec": "AES_256"},
        [("kms:GenerateDataKey", f"arn:aws:kms:{REGION}:{ACCOUNT}:alias/queues")],
    ),
    (
        "kms",
        "decrypt",
        {"CiphertextBlob": moto_ciphertext(KEY_ID)},
        [("kms:Decrypt", f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{KEY_ID}")],
    ),
    (
        "kms",
        "decrypt",
        {"CiphertextBlob": bytes(range(90))},  # AWS's: opaque
        [("kms:Decrypt", f"arn:aws:kms:{REGION}:{ACCOUNT}:key/*")],
    ),
    # Lambda Invoke: the function, or the version or alias it names
    (
        "lambda",
        "invoke",
        {"FunctionName": "processor"},
        [("lambda:InvokeFunction", f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:processor")],
    ),
    (
        "lambda",
        "invoke",
        {"FunctionName": "processor", "Qualifier": "live"},
        [("lambda:InvokeFunction", f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:processor:live")],
    ),
    (
        "lambda",
        "invoke",
        {"FunctionName": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:processor:3"},
        [("lambda:InvokeFunction", f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:processor:3")],
    ),
    (
        "lambda",
        "invoke",
        {"FunctionName": "210987654321:function:publisher"},
        [("lambda:InvokeFunction", f"arn:aws:lambda:{REGION}:210987654321:function:publisher")],
    ),
    # X-Ray
    ("xray", "put_trace_segments", {"TraceSegmentDocuments": ["{}"]}, [("xray:PutTraceSegments", "*")]),
    ("xray", "put_telemetry_records", {"TelemetryRecords": []}, [("xray:PutTelemetryRecords", "*")]),
    # STS GetCallerIdentity: IAM never denies it
    ("sts", "get_caller_identity", {}, []),
]


@pytest.mark.parametrize(
    ("service", "operation", "params", "expected"),
    CASES,
    ids=[f"{case[0]}.{case[1]}-{n}" for n, case in enumerate(CASES)],
)
def test_a_mapped_call_names_the_actions_and_resources_iam_checks(
    service: str, operation: str, params: dict[str, Any], expected: list[tuple[str, str]]
) -> None:
    call = describe_sent(service, operation, **params)

    assert pairs(call) == expected
    assert call is not None and call.mapped


@pytest.mark.parametrize(
    ("service", "operation", "params", "signing_name", "api_operation", "protocol"),
    [
        ("dynamodb", "put_item", {"TableName": "t", "Item": {}}, "dynamodb", "PutItem", "json"),
        ("dynamodbstreams", "list_streams", {}, "dynamodb", "ListStreams", "json"),
        ("sqs", "send_message", {"QueueUrl": QUEUE_URL, "MessageBody": "x"}, "sqs", "SendMessage", "json"),
        (
            "cloudwatch",
            "put_metric_data",
            {"Namespace": "n", "MetricData": []},
            "monitoring",
            "PutMetricData",
            "json",
        ),
        ("sns", "publish", {"TopicArn": TOPIC, "Message": "m"}, "sns", "Publish", "query"),
        ("s3", "get_object", {"Bucket": "b", "Key": "k"}, "s3", "GetObject", "rest-xml"),
        ("lambda", "invoke", {"FunctionName": "f"}, "lambda", "Invoke", "rest-json"),
        (
            "xray",
            "put_trace_segments",
            {"TraceSegmentDocuments": []},
            "xray",
            "PutTraceSegments",
            "rest-json",
        ),
        ("sts", "get_caller_identity", {}, "sts", "GetCallerIdentity", "query"),
    ],
)
def test_a_call_is_named_by_its_signing_name_operation_and_protocol(
    service: str, operation: str, params: dict[str, Any], signing_name: str, api_operation: str, protocol: str
) -> None:
    call = describe_sent(service, operation, **params)

    assert call is not None
    assert (call.service, call.operation, call.protocol) == (signing_name, api_operation, protocol)


def test_a_virtual_hosted_s3_request_takes_its_bucket_from_the_host() -> None:
    client = botocore_client("s3", endpoint_url=None, config=Config(s3={"addressing_style": "virtual"}))
    request = sent_by_botocore(client, "get_object", Bucket="uploads", Key="in/a.txt")
    assert request.host.startswith("uploads.s3.")  # as sent to AWS, and to moto behind a proxy

    call = describe(request, account=ACCOUNT, region=REGION)

    assert pairs(call) == [("s3:GetObject", "arn:aws:s3:::uploads/in/a.txt")]


def test_the_partition_shapes_every_arn() -> None:
    request = sent_by_botocore(botocore_client("dynamodb"), "put_item", TableName="records", Item={})

    call = describe(request, account=ACCOUNT, region="cn-north-1", partition="aws-cn")

    assert pairs(call) == [("dynamodb:PutItem", f"arn:aws-cn:dynamodb:cn-north-1:{ACCOUNT}:table/records")]


# --- the refusals, as botocore parses them

NO_IDENTITY_POLICY = "no identity-based policy allows the {action} action"


def refused(
    service: str, operation: str, params: dict[str, Any], reason: str = NO_IDENTITY_POLICY
) -> ClientError:
    """The ClientError botocore raises when the emulator refuses the call's first authorization."""
    client = botocore_client(service)
    call = describe(sent_by_botocore(client, operation, **params), account=ACCOUNT, region=REGION)
    assert call is not None
    authorization = call.authorizations[0]
    answer = access_denied(
        call,
        principal=PRINCIPAL,
        authorization=authorization,
        reason=reason.format(action=authorization.action),
    )
    with pytest.raises(ClientError) as raised:
        answered_to_botocore(client, operation, answer, **params)
    return raised.value


@pytest.mark.parametrize(
    ("service", "operation", "params", "status", "code", "message"),
    [
        (
            "dynamodb",
            "put_item",
            {"TableName": "records", "Item": {}},
            400,
            "AccessDeniedException",
            f"User: {PRINCIPAL} is not authorized to perform: dynamodb:PutItem on resource: {TABLE} "
            "because no identity-based policy allows the dynamodb:PutItem action",
        ),
        (
            "dynamodbstreams",
            "get_records",
            {"ShardIterator": f"{STREAM}|1|x"},
            400,
            "AccessDeniedException",
            f"User: {PRINCIPAL} is not authorized to perform: dynamodb:GetRecords on resource: {STREAM} "
            "because no identity-based policy allows the dynamodb:GetRecords action",
        ),
        (
            "events",
            "put_events",
            {"Entries": [ENTRY]},
            400,
            "AccessDeniedException",
            f"User: {PRINCIPAL} is not authorized to perform: events:PutEvents on resource: "
            f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/default "
            "because no identity-based policy allows the events:PutEvents action",
        ),
        (  # SQS writes the action in lower case; botocore reports the query-compatible code
            "sqs",
            "send_message_batch",
            {"QueueUrl": QUEUE_URL, "Entries": [{"Id": "1", "MessageBody": "x"}]},
            403,
            "AccessDenied",
            f"User: {PRINCIPAL} is not authorized to perform: sqs:sendmessage on resource: {QUEUE} "
            "because no identity-based policy allows the sqs:sendmessage action",
        ),
        (
            "logs",
            "put_log_events",
            {"logGroupName": GROUP, "logStreamName": "s", "logEvents": [{"timestamp": 1, "message": "m"}]},
            400,
            "AccessDeniedException",
            f"User: {PRINCIPAL} is not authorized to perform: logs:PutLogEvents on resource: "
            f"{LOG_GROUP}:log-stream:s because no identity-based policy allows the logs:PutLogEvents action",
        ),
        (  # on "*", AWS leaves out "on resource"
            "cloudwatch",
            "put_metric_data",
            {"Namespace": "n", "MetricData": []},
            403,
            "AccessDenied",
            f"User: {PRINCIPAL} is not authorized to perform: cloudwatch:PutMetricData "
            "because no identity-based policy allows the cloudwatch:PutMetricData action",
        ),
        (  # SNS writes its prefix in upper case
            "sns",
            "publish",
            {"TopicArn": TOPIC, "Message": "m"},
            403,
            "AuthorizationError",
            f"User: {PRINCIPAL} is not authorized to perform: SNS:Publish on resource: {TOPIC} "
            "because no identity-based policy allows the SNS:Publish action",
        ),
        (
            "kms",
            "encrypt",
            {"KeyId": KEY_ID, "Plaintext": b"x"},
            400,
            "AccessDeniedException",
            f"User: {PRINCIPAL} is not authorized to perform: kms:Encrypt on resource: "
            f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{KEY_ID} "
            "because no identity-based policy allows the kms:Encrypt action",
        ),
        (  # S3 quotes the resource
            "s3",
            "get_object",
            {"Bucket": "uploads", "Key": "a.txt"},
            403,
            "AccessDenied",
            f"User: {PRINCIPAL} is not authorized to perform: s3:GetObject on resource: "
            '"arn:aws:s3:::uploads/a.txt" '
            "because no identity-based policy allows the s3:GetObject action",
        ),
        (
            "lambda",
            "invoke",
            {"FunctionName": "processor"},
            403,
            "AccessDeniedException",
            f"User: {PRINCIPAL} is not authorized to perform: lambda:InvokeFunction on resource: "
            f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:processor "
            "because no identity-based policy allows the lambda:InvokeFunction action",
        ),
        (
            "xray",
            "put_trace_segments",
            {"TraceSegmentDocuments": ["{}"]},
            403,
            "AccessDeniedException",
            f"User: {PRINCIPAL} is not authorized to perform: xray:PutTraceSegments "
            "because no identity-based policy allows the xray:PutTraceSegments action",
        ),
    ],
)
def test_botocore_reads_the_refusal_as_the_service_gives_it(
    service: str, operation: str, params: dict[str, Any], status: int, code: str, message: str
) -> None:
    error = refused(service, operation, params)

    assert error.response["ResponseMetadata"]["HTTPStatusCode"] == status
    assert error.response["Error"]["Code"] == code
    assert error.response["Error"]["Message"] == message


def test_an_explicit_deny_reads_with_and_not_because() -> None:
    error = refused(
        "sqs",
        "send_message",
        {"QueueUrl": QUEUE_URL, "MessageBody": "x"},
        "with an explicit deny in a resource-based policy",
    )

    assert error.response["Error"]["Message"] == (
        f"User: {PRINCIPAL} is not authorized to perform: sqs:sendmessage on resource: {QUEUE} "
        "with an explicit deny in a resource-based policy"
    )


def test_a_refused_head_has_no_body_as_s3_answers_a_head() -> None:
    error = refused("s3", "head_object", {"Bucket": "uploads", "Key": "a.txt"})

    assert error.response["Error"]["Code"] == "403"
    assert error.response["ResponseMetadata"]["HTTPStatusCode"] == 403


def test_a_refused_dynamodb_call_passes_botocores_crc32_check() -> None:
    # botocore checks DynamoDB's x-amz-crc32 and retries a mismatch as a damaged answer
    error = refused("dynamodb", "get_item", {"TableName": "records", "Key": {}})

    assert error.response["Error"]["Code"] == "AccessDeniedException"


def test_sqs_through_its_query_protocol_is_read_and_refused_in_xml() -> None:
    """The query protocol SQS spoke before JSON, as older SDKs still send it."""
    form = f"Action=SendMessage&QueueUrl={quote(QUEUE_URL, safe='')}&MessageBody=x&Version=2012-11-05"
    headers = {
        "Content-Type": "application/x-www-form-urlencoded; charset=utf-8",
        "Authorization": f"AWS4-HMAC-SHA256 Credential={ACCESS_KEY}/20260101/{REGION}/sqs/aws4_request, "
        "SignedHeaders=host;x-amz-date, Signature=0",
    }
    request = wsgi_request("POST", "http://127.0.0.1:4566/", headers, form.encode())

    call = describe(request, account=ACCOUNT, region=REGION)
    assert call is not None
    answer = access_denied(
        call,
        principal=PRINCIPAL,
        authorization=call.authorizations[0],
        reason=NO_IDENTITY_POLICY.format(action="sqs:SendMessage"),
    )
    parsed = create_parser("query").parse(
        {
            "status_code": answer.status_code,
            "headers": dict(answer.headers.items()),
            "body": answer.get_data(),
        },
        None,
    )

    assert (call.protocol, pairs(call)) == ("query", [("sqs:SendMessage", QUEUE)])
    assert answer.status_code == 403
    assert parsed["Error"]["Code"] == "AccessDenied"
    assert parsed["Error"]["Message"] == (
        f"User: {PRINCIPAL} is not authorized to perform: sqs:sendmessage on resource: {QUEUE} "
        "because no identity-based policy allows the sqs:sendmessage action"
    )


def test_a_query_request_sent_to_its_queue_url_names_the_queue_by_its_path() -> None:
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "Authorization": f"AWS4-HMAC-SHA256 Credential={ACCESS_KEY}/20260101/{REGION}/sqs/aws4_request, "
        "SignedHeaders=host;x-amz-date, Signature=0",
    }
    request = wsgi_request("POST", QUEUE_URL, headers, b"Action=ReceiveMessage&Version=2012-11-05")

    assert pairs(describe(request, account=ACCOUNT, region=REGION)) == [("sqs:ReceiveMessage", QUEUE)]
