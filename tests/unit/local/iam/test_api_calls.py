"""``local.iam.api_calls``: who signed a request, what is no API call, what is unmapped, that
the body stays readable, and the shape of AWS's denial messages."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from botocore.config import Config

from s3flow.local.iam.api_calls import ApiCall, Authorization, access_denied, access_key_id, describe

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

UNSIGNED = "http://127.0.0.1:4566"


def signed_headers(service: str, **headers: str) -> dict[str, str]:
    scope = f"{ACCESS_KEY}/20260101/{REGION}/{service}/aws4_request"
    return {
        "Authorization": f"AWS4-HMAC-SHA256 Credential={scope}, SignedHeaders=host;x-amz-date, Signature=00",
        **headers,
    }


def describe_request(request: Any) -> ApiCall | None:
    return describe(request, account=ACCOUNT, region=REGION)


# --- who signed it


def test_the_access_key_id_is_read_from_the_sigv4_header() -> None:
    request = sent_by_botocore(botocore_client("dynamodb"), "list_tables")

    assert access_key_id(request) == ACCESS_KEY


@pytest.mark.parametrize("signature_version", ["s3v4", "s3"])
def test_the_access_key_id_is_read_from_a_presigned_url(signature_version: str) -> None:
    client = botocore_client("s3", config=Config(signature_version=signature_version))
    url = client.generate_presigned_url("get_object", Params={"Bucket": "uploads", "Key": "a.txt"})
    request = wsgi_request("GET", url, {}, b"")

    assert access_key_id(request) == ACCESS_KEY
    assert describe_request(request) == ApiCall(
        "s3", "GetObject", "rest-xml", (Authorization("s3:GetObject", "arn:aws:s3:::uploads/a.txt"),)
    )


def test_a_signature_version_2_header_is_read_as_s3() -> None:
    request = wsgi_request(
        "GET", f"{UNSIGNED}/uploads/a.txt", {"Authorization": f"AWS {ACCESS_KEY}:c2lnbmF0dXJl"}, b""
    )

    assert access_key_id(request) == ACCESS_KEY
    assert describe_request(request) == ApiCall(
        "s3", "GetObject", "rest-xml", (Authorization("s3:GetObject", "arn:aws:s3:::uploads/a.txt"),)
    )


def test_an_unsigned_request_has_no_access_key_and_is_no_api_call() -> None:
    request = wsgi_request(
        "POST",
        UNSIGNED,
        {"X-Amz-Target": "DynamoDB_20120810.ListTables", "Content-Type": "application/x-amz-json-1.0"},
        b"{}",
    )

    assert access_key_id(request) is None
    assert describe_request(request) is None


def test_a_malformed_credential_is_unsigned() -> None:
    request = wsgi_request(
        "GET", f"{UNSIGNED}/uploads", {"Authorization": "AWS4-HMAC-SHA256 Credential=AKID/x"}, b""
    )

    assert access_key_id(request) is None


def test_motos_own_api_is_no_aws_call() -> None:
    request = wsgi_request("POST", f"{UNSIGNED}/moto-api/reset", signed_headers("s3"), b"")

    assert describe_request(request) is None


def test_a_signed_request_naming_no_operation_of_its_service_is_no_api_call() -> None:
    request = wsgi_request("PATCH", f"{UNSIGNED}/2015-03-31/nothing/here", signed_headers("lambda"), b"")

    assert describe_request(request) is None


def test_a_signed_request_for_a_service_botocore_does_not_know_is_no_api_call() -> None:
    request = wsgi_request("GET", f"{UNSIGNED}/things", signed_headers("no-such-service"), b"")

    assert describe_request(request) is None


# --- the body stays readable


def test_describe_leaves_the_body_for_whoever_reads_it_next() -> None:
    params = {"TableName": "records", "Item": {"pk": {"S": "a"}}}
    request = sent_by_botocore(botocore_client("dynamodb"), "put_item", **params)
    sent = request.get_data()
    request = wsgi_request("POST", request.url, dict(request.headers.items()), sent)  # not read yet

    describe_request(request)

    assert json.loads(request.environ["wsgi.input"].read()) == params  # what moto reads
    assert request.get_data() == sent  # what the middleware's forward reads


def test_a_query_form_body_is_left_readable_too() -> None:
    request = sent_by_botocore(
        botocore_client("sns"), "publish", TopicArn="arn:aws:sns:us-east-1:1:t", Message="m"
    )
    sent = request.get_data()
    request = wsgi_request("POST", request.url, dict(request.headers.items()), sent)

    describe_request(request)

    assert request.environ["wsgi.input"].read() == sent


def test_an_s3_upload_body_is_not_read() -> None:
    request = sent_by_botocore(
        botocore_client("s3"), "put_object", Bucket="uploads", Key="a.txt", Body=b"payload"
    )
    request = wsgi_request("PUT", request.url, dict(request.headers.items()), b"payload")
    stream = request.environ["wsgi.input"]

    describe_request(request)

    assert request.environ["wsgi.input"] is stream
    assert stream.read() == b"payload"


# --- unmapped calls


def test_an_unmapped_json_operation_is_derived_from_its_target() -> None:
    request = sent_by_botocore(botocore_client("dynamodb"), "list_backups")

    assert describe_request(request) == ApiCall(
        "dynamodb", "ListBackups", "json", (Authorization("dynamodb:ListBackups", "*"),), mapped=False
    )


def test_an_unmapped_query_operation_is_derived_from_its_action() -> None:
    request = sent_by_botocore(botocore_client("sns"), "list_topics")

    assert describe_request(request) == ApiCall(
        "sns", "ListTopics", "query", (Authorization("sns:ListTopics", "*"),), mapped=False
    )


def test_an_unmapped_rest_operation_is_named_by_botocores_model() -> None:
    request = sent_by_botocore(botocore_client("lambda"), "list_functions")

    assert describe_request(request) == ApiCall(
        "lambda", "ListFunctions", "rest-json", (Authorization("lambda:ListFunctions", "*"),), mapped=False
    )


def test_an_unmapped_cloudwatch_operation_takes_the_cloudwatch_prefix() -> None:
    request = sent_by_botocore(botocore_client("cloudwatch"), "describe_alarms")

    call = describe_request(request)

    assert call is not None and call.authorizations == (Authorization("cloudwatch:DescribeAlarms", "*"),)


def test_a_json_call_of_an_unknown_service_is_derived_from_its_signing_name() -> None:
    request = wsgi_request(
        "POST",
        UNSIGNED,
        signed_headers("states", **{"X-Amz-Target": "AWSStepFunctions.StartExecution"}),
        b'{"stateMachineArn": "arn"}',
    )

    assert describe_request(request) == ApiCall(
        "states", "StartExecution", "json", (Authorization("states:StartExecution", "*"),), mapped=False
    )


def test_a_mapped_operation_whose_input_cannot_be_read_is_described_unmapped() -> None:
    request = wsgi_request(
        "POST",
        UNSIGNED,
        signed_headers("dynamodb", **{"X-Amz-Target": "DynamoDB_20120810.PutItem"}),
        b'{"Item": {}}',  # no TableName: DynamoDB answers ValidationException
    )

    assert describe_request(request) == ApiCall(
        "dynamodb", "PutItem", "json", (Authorization("dynamodb:PutItem", "*"),), mapped=False
    )


def test_a_cbor_call_is_named_from_its_path() -> None:
    request = wsgi_request(
        "POST",
        f"{UNSIGNED}/service/GraniteServiceVersion20100801/operation/PutMetricData",
        signed_headers(
            "monitoring", **{"smithy-protocol": "rpc-v2-cbor", "Content-Type": "application/cbor"}
        ),
        b"\xa0",
    )

    assert describe_request(request) == ApiCall(
        "monitoring", "PutMetricData", "smithy-rpc-v2-cbor", (Authorization("cloudwatch:PutMetricData", "*"),)
    )


def test_botocore_reads_a_cbor_refusal() -> None:
    """CloudWatch's first protocol is RPC v2 CBOR; botocore's parser reads our encoding of it."""
    from botocore.parsers import create_parser

    call = ApiCall(
        "monitoring", "PutMetricData", "smithy-rpc-v2-cbor", (Authorization("cloudwatch:PutMetricData", "*"),)
    )
    answer = access_denied(
        call,
        principal=PRINCIPAL,
        authorization=call.authorizations[0],
        reason="with an explicit deny in an identity-based policy",
    )
    parsed = create_parser("smithy-rpc-v2-cbor").parse(
        {
            "status_code": answer.status_code,
            "headers": dict(answer.headers.items()),
            "body": answer.get_data(),
        },
        None,
    )

    assert parsed["Error"]["Code"] == "AccessDenied"
    assert parsed["Error"]["Message"] == (
        f"User: {PRINCIPAL} is not authorized to perform: cloudwatch:PutMetricData "
        "with an explicit deny in an identity-based policy"
    )


def test_a_long_message_survives_cbor_length_encoding() -> None:
    from botocore.parsers import create_parser

    call = ApiCall("monitoring", "PutMetricData", "smithy-rpc-v2-cbor", ())
    principal = "arn:aws:sts::123456789012:assumed-role/" + "r" * 70000 + "/s"
    answer = access_denied(
        call, principal=principal, authorization=Authorization("cloudwatch:PutMetricData", "*"), reason="x"
    )
    parsed = create_parser("smithy-rpc-v2-cbor").parse(
        {"status_code": 403, "headers": dict(answer.headers.items()), "body": answer.get_data()}, None
    )

    assert parsed["Error"]["Message"].startswith(f"User: {principal} is not")


# --- the messages


@pytest.mark.parametrize(
    ("resource", "reason", "tail"),
    [
        (
            "arn:aws:s3:::b/k",
            "no identity-based policy allows the s3:GetObject action",
            ' on resource: "arn:aws:s3:::b/k" because no',
        ),
        (
            "arn:aws:s3:::b/k",
            "with an explicit deny in a resource-based policy",
            ' on resource: "arn:aws:s3:::b/k" with an explicit',
        ),
        ("*", "no identity-based policy allows the s3:GetObject action", " because no"),
    ],
)
def test_the_message_joins_resource_and_reason_as_aws_does(resource: str, reason: str, tail: str) -> None:
    call = ApiCall("s3", "GetObject", "rest-xml", (Authorization("s3:GetObject", resource),))
    client = botocore_client("s3")

    answer = access_denied(call, principal=PRINCIPAL, authorization=call.authorizations[0], reason=reason)

    with pytest.raises(Exception) as raised:
        answered_to_botocore(client, "get_object", answer, Bucket="b", Key="k")
    message = raised.value.response["Error"]["Message"]  # type: ignore[attr-defined]
    assert message.startswith(f"User: {PRINCIPAL} is not authorized to perform: s3:GetObject{tail}")


def test_an_s3_message_with_markup_in_the_key_is_escaped() -> None:
    call = ApiCall("s3", "GetObject", "rest-xml", (Authorization("s3:GetObject", "arn:aws:s3:::b/<a&b>"),))

    answer = access_denied(call, principal=PRINCIPAL, authorization=call.authorizations[0], reason="x")

    assert b"arn:aws:s3:::b/&lt;a&amp;b&gt;" in answer.get_data()


def test_each_refusal_carries_its_own_request_id() -> None:
    call = ApiCall("events", "PutEvents", "json", (Authorization("events:PutEvents", "*"),))

    first, second = (
        access_denied(call, principal=PRINCIPAL, authorization=call.authorizations[0], reason="x")
        for _ in range(2)
    )

    assert first.headers["x-amzn-RequestId"] != second.headers["x-amzn-RequestId"]
    assert first.headers["Content-Type"] == "application/x-amz-json-1.1"


def test_wsgi_input_is_replaced_only_by_a_stream_of_the_same_bytes() -> None:
    request = wsgi_request(
        "POST",
        UNSIGNED,
        signed_headers("events", **{"X-Amz-Target": "AWSEvents.PutEvents"}),
        b'{"Entries": [{"Source": "s"}]}',
    )

    describe_request(request)

    assert isinstance(request.environ["wsgi.input"], io.BytesIO)
    assert request.environ["wsgi.input"].read() == b'{"Entries": [{"Source": "s"}]}'
