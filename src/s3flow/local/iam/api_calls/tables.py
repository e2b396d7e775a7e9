"""Which IAM actions on which resources each operation asks for, one table per service (S3's
is in ``s3.py``). Operations not listed are described as unmapped.

Each table follows the service's page of the Service Authorization Reference
(docs.aws.amazon.com/service-authorization/latest/reference/list_<service>.html): the actions
an operation authorizes and the resource types they apply to.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable
from urllib.parse import urlsplit

from s3flow.local.iam.api_calls.model import Call, Resolver, Table, anywhere, nothing, on
from s3flow.local.iam.api_calls.s3 import S3

# The IAM prefix of the services whose signing name is not their prefix. DynamoDB Streams
# signs as "dynamodb", and its actions are "dynamodb:" actions.
IAM_PREFIXES = {"monitoring": "cloudwatch"}


def iam_prefix(service: str) -> str:
    return IAM_PREFIXES.get(service, service)


# --- DynamoDB and DynamoDB Streams
# list_amazondynamodb.html: table arn:${Partition}:dynamodb:${Region}:${Account}:table/${TableName},
# index .../table/${TableName}/index/${IndexName}, stream .../table/${TableName}/stream/${StreamLabel}.
# TableName (and RequestItems' keys) may be a table's name or its ARN.


def _table_arn(call: Call, name: str) -> str:
    return name if name.startswith("arn:") else call.arns("dynamodb", f"table/{name}")


def _table(call: Call) -> str:
    return _table_arn(call, call.params["TableName"])


def _table_or_index(call: Call) -> str:
    """Query and Scan of an index are authorized on the index (list_amazondynamodb.html: index)."""
    index = call.params.get("IndexName")
    return f"{_table(call)}/index/{index}" if index else _table(call)


def _each_table(action: str) -> Resolver:
    return lambda call: [(action, _table_arn(call, name)) for name in call.params["RequestItems"]]


# A transaction authorizes each item's own action on its table.
_TRANSACT_ACTIONS = {
    "Put": "dynamodb:PutItem",
    "Update": "dynamodb:UpdateItem",
    "Delete": "dynamodb:DeleteItem",
    "ConditionCheck": "dynamodb:ConditionCheckItem",
    "Get": "dynamodb:GetItem",
}


def _transact_items(call: Call) -> Iterable[tuple[str, str]]:
    for item in call.params["TransactItems"]:
        for kind, request in item.items():
            yield _TRANSACT_ACTIONS[kind], _table_arn(call, request["TableName"])


def _stream(call: Call) -> str:
    return str(call.params["StreamArn"])


def _stream_of_iterator(call: Call) -> str:
    """moto's shard iterators begin with the stream's ARN ("<stream arn>|1|<id>"); AWS's are
    opaque, and for those any stream of the account is the best that can be said."""
    arn = str(call.params["ShardIterator"]).split("|", 1)[0]
    return arn if arn.startswith("arn:") and "/stream/" in arn else call.arns("dynamodb", "table/*/stream/*")


DYNAMODB: Table = {
    "PutItem": on("dynamodb:PutItem", _table),
    "GetItem": on("dynamodb:GetItem", _table),
    "UpdateItem": on("dynamodb:UpdateItem", _table),
    "DeleteItem": on("dynamodb:DeleteItem", _table),
    "DescribeTable": on("dynamodb:DescribeTable", _table),
    "Query": on("dynamodb:Query", _table_or_index),
    "Scan": on("dynamodb:Scan", _table_or_index),
    "BatchWriteItem": _each_table("dynamodb:BatchWriteItem"),
    "BatchGetItem": _each_table("dynamodb:BatchGetItem"),
    "TransactWriteItems": _transact_items,
    "TransactGetItems": _transact_items,
    "ListTables": anywhere("dynamodb:ListTables"),
    # DynamoDB Streams (target prefix DynamoDBStreams_20120810, same signing name)
    "DescribeStream": on("dynamodb:DescribeStream", _stream),
    "GetShardIterator": on("dynamodb:GetShardIterator", _stream),
    "GetRecords": on("dynamodb:GetRecords", _stream_of_iterator),
    "ListStreams": anywhere("dynamodb:ListStreams"),
}


# --- EventBridge
# list_amazoneventbridge.html: event-bus
# arn:${Partition}:events:${Region}:${Account}:event-bus/${EventBusName}. PutEvents authorizes
# events:PutEvents on the bus of each entry: a name, an ARN, or none (the account's "default" bus).


def _buses(call: Call) -> Iterable[tuple[str, str]]:
    for entry in call.params["Entries"]:
        bus = entry.get("EventBusName") or "default"
        yield "events:PutEvents", bus if bus.startswith("arn:") else call.arns("events", f"event-bus/{bus}")


EVENTS: Table = {"PutEvents": _buses}


# --- SQS (JSON and query protocols alike)
# list_amazonsqs.html: queue arn:${Partition}:sqs:${Region}:${Account}:${QueueName}. The batch
# operations authorize their single-message action (sqs:SendMessage for SendMessageBatch).
# The queue URL is https://sqs.<region>.amazonaws.com/<account>/<name> (moto's: http://<host>/<account>/<name>).
_SQS_HOST_REGION = re.compile(r"^sqs\.([a-z0-9-]+)\.amazonaws\.com")
_QUEUE_PATH = re.compile(r"^/(\d{12})/([^/]+)/?$")


def _queue(call: Call) -> str:
    url = call.params.get("QueueUrl")
    # A query request may be sent to the queue's URL instead of naming it.
    parts = urlsplit(url) if url else urlsplit(call.request.url)
    match = _QUEUE_PATH.match(parts.path)
    if match is None:
        raise ValueError(f"not a queue URL: {url!r}")
    region = _SQS_HOST_REGION.match(parts.hostname or "")
    return call.arns("sqs", match[2], region=region[1] if region else None, account=match[1])


def _queue_named(call: Call) -> str:
    return call.arns("sqs", call.params["QueueName"], account=call.params.get("QueueOwnerAWSAccountId"))


SQS: Table = {
    "SendMessage": on("sqs:SendMessage", _queue),
    "SendMessageBatch": on("sqs:SendMessage", _queue),
    "ReceiveMessage": on("sqs:ReceiveMessage", _queue),
    "DeleteMessage": on("sqs:DeleteMessage", _queue),
    "DeleteMessageBatch": on("sqs:DeleteMessage", _queue),
    "ChangeMessageVisibility": on("sqs:ChangeMessageVisibility", _queue),
    "ChangeMessageVisibilityBatch": on("sqs:ChangeMessageVisibility", _queue),
    "GetQueueAttributes": on("sqs:GetQueueAttributes", _queue),
    "PurgeQueue": on("sqs:PurgeQueue", _queue),
    "GetQueueUrl": on("sqs:GetQueueUrl", _queue_named),
    "ListQueues": anywhere("sqs:ListQueues"),
}


# --- SNS
# list_amazonsns.html: topic arn:${Partition}:sns:${Region}:${Account}:${TopicName}. Publish names a
# topic (TopicArn), an endpoint (TargetArn), or a phone number, which has no resource type.
SNS: Table = {
    "Publish": on(
        "sns:Publish", lambda call: call.params.get("TopicArn") or call.params.get("TargetArn") or "*"
    ),
}


# --- CloudWatch Logs
# list_amazoncloudwatchlogs.html: log-group
# arn:${Partition}:logs:${Region}:${Account}:log-group:${LogGroupName}, log-stream
# ...:log-group:${LogGroupName}:log-stream:${LogStreamName}. What IAM evaluates, as AWS's
# denials name it: for a stream's actions the stream's ARN; for a group's actions the group's
# ARN with an empty stream, "...:log-group:<name>:log-stream:". So a policy names a group as
# "...:log-group:<name>:*", which covers both
# (docs.aws.amazon.com/AmazonCloudWatch/latest/logs/iam-access-control-overview-cwl.html).
_LOG_GROUP_ARN = re.compile(r"^arn:[^:]+:logs:[^:]*:[^:]*:log-group:(?P<name>[^:]+)(?::\*)?$")


def _log_group_name(call: Call) -> str:
    identifier = call.params.get("logGroupName") or call.params["logGroupIdentifier"]
    match = _LOG_GROUP_ARN.match(identifier)
    return match["name"] if match else str(identifier)


def _log_group(call: Call) -> str:
    return call.arns("logs", f"log-group:{_log_group_name(call)}:log-stream:")


def _log_stream(call: Call) -> str:
    return call.arns("logs", f"log-group:{_log_group_name(call)}:log-stream:{call.params['logStreamName']}")


LOGS: Table = {
    "CreateLogGroup": on("logs:CreateLogGroup", _log_group),
    "FilterLogEvents": on("logs:FilterLogEvents", _log_group),
    "DescribeLogStreams": on("logs:DescribeLogStreams", _log_group),
    "CreateLogStream": on("logs:CreateLogStream", _log_stream),
    "PutLogEvents": on("logs:PutLogEvents", _log_stream),
    "GetLogEvents": on("logs:GetLogEvents", _log_stream),
    "DescribeLogGroups": anywhere("logs:DescribeLogGroups"),
}


# --- CloudWatch (signing name "monitoring", IAM prefix "cloudwatch")
# list_amazoncloudwatch.html: these actions support no resource-level permissions.
CLOUDWATCH: Table = {
    "PutMetricData": anywhere("cloudwatch:PutMetricData"),
    "GetMetricData": anywhere("cloudwatch:GetMetricData"),
    "GetMetricStatistics": anywhere("cloudwatch:GetMetricStatistics"),
    "ListMetrics": anywhere("cloudwatch:ListMetrics"),
}


# --- KMS
# list_awskeymanagementservice.html: key arn:${Partition}:kms:${Region}:${Account}:key/${KeyId}.
# KeyId is a key id, a key ARN, an alias name ("alias/x") or an alias ARN. IAM evaluates a
# cryptographic operation on the key the alias points to, never on the alias
# (docs.aws.amazon.com/kms/latest/developerguide/alias-authorization.html); resolving an alias
# needs KMS's state, so an alias is left as its alias ARN, which a policy on the key will not match.
# Decrypt may omit KeyId: the key is the one recorded in the ciphertext. moto's ciphertext
# begins with the key id (36 ASCII bytes, moto/kms/utils.py); AWS's is opaque.
_KEY_ID = re.compile(r"^(mrk-)?[0-9a-f-]{32,36}$")


def _key(call: Call) -> str:
    key = str(call.params["KeyId"])
    if key.startswith("arn:"):
        return key
    return call.arns("kms", key if key.startswith("alias/") else f"key/{key}")


def _ciphertext_key(call: Call) -> str:
    if call.params.get("KeyId"):
        return _key(call)
    key_id = base64.b64decode(call.params["CiphertextBlob"])[:36].decode("ascii", errors="replace")
    return call.arns("kms", f"key/{key_id}" if _KEY_ID.match(key_id) else "key/*")


KMS: Table = {
    "Decrypt": on("kms:Decrypt", _ciphertext_key),
    "Encrypt": on("kms:Encrypt", _key),
    "GenerateDataKey": on("kms:GenerateDataKey", _key),
    "GenerateDataKeyWithoutPlaintext": on("kms:GenerateDataKeyWithoutPlaintext", _key),
    "DescribeKey": on("kms:DescribeKey", _key),
}


# --- Lambda
# list_awslambda.html: function arn:${Partition}:lambda:${Region}:${Account}:function:${FunctionName},
# and a version's or alias's ARN with ":<qualifier>" after it, which IAM evaluates when the call
# names one (docs.aws.amazon.com/lambda/latest/dg/lambda-api-permissions-ref.html). FunctionName is
# a name, a partial ARN "<account>:function:<name>" or an ARN, each with an optional ":<qualifier>";
# the Qualifier parameter names one too.


def _function(call: Call) -> str:
    parts = str(call.params["FunctionName"]).split(":")
    region, account = call.arns.region, call.arns.account
    if parts[0] == "arn":  # arn:<partition>:lambda:<region>:<account>:function:<name>[:<qualifier>]
        region, account, parts = parts[3], parts[4], parts[6:]
    elif len(parts) > 2 and parts[1] == "function":  # <account>:function:<name>[:<qualifier>]
        account, parts = parts[0], parts[2:]
    name, qualifier = parts[0], call.request.args.get("Qualifier") or ":".join(parts[1:2])
    function = f"function:{name}:{qualifier}" if qualifier else f"function:{name}"
    return call.arns("lambda", function, region=region, account=account)


LAMBDA: Table = {
    "Invoke": on("lambda:InvokeFunction", _function),
    "GetFunction": on("lambda:GetFunction", _function),
    "GetFunctionConfiguration": on("lambda:GetFunctionConfiguration", _function),
}


# --- X-Ray: list_awsx-ray.html, no resource-level permissions for these.
XRAY: Table = {
    "PutTraceSegments": anywhere("xray:PutTraceSegments"),
    "PutTelemetryRecords": anywhere("xray:PutTelemetryRecords"),
}


# --- STS: "No permissions are required to perform this operation ... IAM users or roles
# cannot be denied" (docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html).
STS: Table = {"GetCallerIdentity": nothing}


# By signing name.
TABLES: dict[str, Table] = {
    "dynamodb": DYNAMODB,
    "events": EVENTS,
    "sqs": SQS,
    "sns": SNS,
    "s3": S3,
    "logs": LOGS,
    "monitoring": CLOUDWATCH,
    "kms": KMS,
    "lambda": LAMBDA,
    "xray": XRAY,
    "sts": STS,
}
