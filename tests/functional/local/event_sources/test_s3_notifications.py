"""The S3 -> Lambda hop: which writes count, and the record AWS would send for them."""

from __future__ import annotations

import urllib.parse
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
import requests
from botocore.config import Config
from botocore.exceptions import ClientError
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from s3flow.cli.s3events import cli_record
from s3flow.local.deployment import BucketNotification, Deployment
from s3flow.local.event_sources.s3_event_record import encode_key
from s3flow.local.event_sources.s3_notifications import (
    S3Hop,
    Sequencer,
    StoredObject,
    build_event,
    event_matches,
)
from s3flow.local.event_sources.s3_writes import EVENT_COPY, EVENT_MULTIPART, EVENT_PUT, ObjectWrite, classify
from s3flow.local.server import LocalServer, ObservedResponse

AUTH = (
    "AWS4-HMAC-SHA256 Credential=testing/20261125/us-east-1/{service}/aws4_request, "
    "SignedHeaders=host, Signature=x"
)
FUNCTION_ARN = "arn:aws:lambda:us-east-1:123456789012:function:processor"


def request(method: str, path: str, *, service: str = "s3", headers: dict[str, str] | None = None) -> Request:
    builder = EnvironBuilder(
        method=method,
        path=path.split("?")[0],
        query_string=path.partition("?")[2],
        headers={"Authorization": AUTH.format(service=service), **(headers or {})},
    )
    return Request(builder.get_environ())


def ok(**headers: str) -> ObservedResponse:
    return ObservedResponse("200 OK", list(headers.items()))


@pytest.mark.parametrize(
    ("key", "encoded"),
    [
        ("my file+x.txt", "my+file%2Bx.txt"),
        ("dir/sub/a.txt", "dir/sub/a.txt"),
        ("résumé.pdf", "r%C3%A9sum%C3%A9.pdf"),
        ("a=b&c:d.txt", "a%3Db%26c%3Ad.txt"),
    ],
)
def test_keys_are_encoded_as_s3_events_carry_them(key, encoded):
    assert encode_key(key) == encoded
    assert urllib.parse.unquote_plus(encode_key(key)) == key


def test_a_put_of_an_object_is_an_object_created_put():
    write = classify(request("PUT", "/bucket/dir/a b.txt"), ok(**{"x-amz-version-id": "v1"}))

    assert write is not None
    assert (write.bucket, write.key, write.event_name, write.version_id) == (
        "bucket",
        "dir/a b.txt",
        EVENT_PUT,
        "v1",
    )
    assert write.principal == "AWS:testing"


def test_copy_and_multipart_completion_are_their_own_event_names():
    copy = classify(request("PUT", "/bucket/b.txt", headers={"x-amz-copy-source": "bucket/a.txt"}), ok())
    multipart = classify(request("POST", "/bucket/big.bin?uploadId=abc"), ok())

    assert copy is not None and copy.event_name == EVENT_COPY
    assert multipart is not None and multipart.event_name == EVENT_MULTIPART


@pytest.mark.parametrize(
    ("method", "path", "service"),
    [
        ("PUT", "/bucket/a.txt?tagging", "s3"),  # a sub-resource, not a new object
        ("PUT", "/bucket/a.txt?partNumber=1&uploadId=abc", "s3"),  # one part of an upload
        ("POST", "/bucket/a.txt?uploads", "s3"),  # an upload starts
        ("PUT", "/bucket", "s3"),  # a bucket
        ("GET", "/bucket/a.txt", "s3"),
        ("PUT", "/bucket/a.txt", "sqs"),  # another service's request
    ],
)
def test_other_requests_are_not_object_writes(method, path, service):
    assert classify(request(method, path, service=service), ok()) is None


def test_a_failed_write_is_not_an_object_write():
    assert classify(request("PUT", "/bucket/a.txt"), ObservedResponse("403 Forbidden", [])) is None


def test_the_sequencer_only_grows_even_if_the_clock_goes_back():
    ticks = iter([500, 400, 400, 900])
    sequencer = Sequencer(clock=lambda: next(ticks))

    values = [sequencer.next() for _ in range(4)]

    assert values == sorted(values) and len(set(values)) == 4
    assert {len(v) for v in values} == {18}


def test_notifications_match_on_bucket_event_prefix_and_suffix():
    any_created = BucketNotification("b", FUNCTION_ARN, ("s3:ObjectCreated:*",))
    puts_of_csv = BucketNotification(
        "b", FUNCTION_ARN, ("s3:ObjectCreated:Put",), prefix="in/", suffix=".csv"
    )

    assert event_matches(any_created, "b", EVENT_COPY, "x")
    assert not event_matches(any_created, "other", EVENT_PUT, "x")
    assert event_matches(puts_of_csv, "b", EVENT_PUT, "in/a.csv")
    assert not event_matches(puts_of_csv, "b", EVENT_PUT, "out/a.csv")
    assert not event_matches(puts_of_csv, "b", EVENT_COPY, "in/a.csv")


def test_the_record_has_aws_s3_event_shape():
    write = ObjectWrite("bkt", "dir/my file.txt", EVENT_PUT, "v-1", "REQ1", "127.0.0.1", "AWS:testing")
    moment = datetime(2026, 11, 25, 7, 0, 1, 234000, tzinfo=UTC)

    event = build_event(
        write,
        StoredObject(size=5, etag="abc"),
        region="eu-west-1",
        account="123456789012",
        sequencer="0055AED6DCD90281E5",
        config_id="cfg",
        event_time=moment,
    )

    (record,) = event["Records"]
    assert record["eventVersion"] == "2.1"
    assert record["eventSource"] == "aws:s3"
    assert record["awsRegion"] == "eu-west-1"
    assert record["eventTime"] == "2026-11-25T07:00:01.234Z"
    assert record["eventName"] == "ObjectCreated:Put"
    assert record["s3"]["s3SchemaVersion"] == "1.0"
    assert record["s3"]["configurationId"] == "cfg"
    assert record["s3"]["bucket"]["name"] == "bkt" and record["s3"]["bucket"]["arn"] == "arn:aws:s3:::bkt"
    assert "principalId" in record["s3"]["bucket"]["ownerIdentity"]
    assert record["s3"]["object"] == {
        "key": "dir/my+file.txt",
        "size": 5,
        "eTag": "abc",
        "versionId": "v-1",
        "sequencer": "0055AED6DCD90281E5",
    }


# -- over real HTTP, against moto's S3 ----------------------------------------------------


@pytest.fixture
def hop() -> Iterator[tuple[Any, list[tuple[str, dict[str, Any]]]]]:
    server = LocalServer(port=0)
    server.start()
    requests.post(f"{server.endpoint_url}/moto-api/reset", timeout=60).raise_for_status()
    deployment = Deployment(stack_name="T", region="us-east-1", account="123456789012")
    deployment.notifications = [BucketNotification("watched", FUNCTION_ARN, ("s3:ObjectCreated:*",))]
    queued: list[tuple[str, dict[str, Any]]] = []
    S3Hop(deployment, lambda arn, event: queued.append((arn, event))).install(server.middleware)
    s3 = boto3.client("s3", endpoint_url=server.endpoint_url, region_name="us-east-1")
    for bucket in ("watched", "unwatched"):
        s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket="watched", VersioningConfiguration={"Status": "Enabled"})
    try:
        yield s3, queued
    finally:
        server.stop()


def objects(queued: list[tuple[str, dict[str, Any]]]) -> list[dict[str, Any]]:
    return [event["Records"][0]["s3"]["object"] for _, event in queued]


def test_each_write_carries_its_own_version_and_size(hop):
    s3, queued = hop

    first = s3.put_object(Bucket="watched", Key="a b/c+d.txt", Body=b"one")
    second = s3.put_object(Bucket="watched", Key="a b/c+d.txt", Body=b"three")

    assert [arn for arn, _ in queued] == [FUNCTION_ARN, FUNCTION_ARN]
    one, two = objects(queued)
    assert (one["versionId"], one["size"]) == (first["VersionId"], 3)
    assert (two["versionId"], two["size"]) == (second["VersionId"], 5)
    assert one["key"] == two["key"] == "a+b/c%2Bd.txt"
    assert one["eTag"] == first["ETag"].strip('"')
    assert one["sequencer"] < two["sequencer"]


def test_copies_and_multipart_uploads_are_announced_and_other_buckets_are_not(hop):
    s3, queued = hop
    s3.put_object(Bucket="unwatched", Key="src.txt", Body=b"abc")

    s3.copy_object(Bucket="watched", Key="copy.txt", CopySource={"Bucket": "unwatched", "Key": "src.txt"})
    upload = s3.create_multipart_upload(Bucket="watched", Key="big.bin")
    part = s3.upload_part(
        Bucket="watched", Key="big.bin", UploadId=upload["UploadId"], PartNumber=1, Body=b"x" * 1024
    )
    done = s3.complete_multipart_upload(
        Bucket="watched",
        Key="big.bin",
        UploadId=upload["UploadId"],
        MultipartUpload={"Parts": [{"ETag": part["ETag"], "PartNumber": 1}]},
    )

    names = [event["Records"][0]["eventName"] for _, event in queued]
    assert names == [EVENT_COPY, EVENT_MULTIPART]
    copy, big = objects(queued)
    assert copy["key"] == "copy.txt" and copy["size"] == 3
    assert big["key"] == "big.bin" and big["size"] == 1024 and big["versionId"] == done["VersionId"]


def test_a_sigv2_presigned_put_is_an_object_created_put(hop):
    s3, queued = hop
    # GIVEN a URL presigned with signature version 2 (AWSAccessKeyId, Signature, Expires)
    v2 = boto3.client(
        "s3",
        endpoint_url=s3.meta.endpoint_url,
        region_name="us-east-1",
        config=Config(signature_version="s3"),
    )
    url = v2.generate_presigned_url("put_object", Params={"Bucket": "watched", "Key": "shared/a b.txt"})
    assert "Signature=" in url and "AWSAccessKeyId=" in url, url

    # WHEN anyone PUTs to it
    response = requests.put(url, data=b"hello", timeout=30)
    response.raise_for_status()

    # THEN S3 announces the object as any other PUT
    (record,) = [event["Records"][0] for _, event in queued]
    assert record["eventName"] == EVENT_PUT
    assert record["userIdentity"]["principalId"] == "AWS:testing"
    assert record["s3"]["object"]["key"] == "shared/a+b.txt"
    assert record["s3"]["object"]["size"] == 5
    assert record["s3"]["object"]["versionId"] == response.headers["x-amz-version-id"]


def test_a_put_signed_with_a_sigv2_header_names_its_access_key():
    signed = request("PUT", "/bucket/a.txt", headers={"Authorization": "AWS AKIDV2:c2lnbmF0dXJl"})

    write = classify(signed, ok())

    assert write is not None and write.event_name == EVENT_PUT
    assert write.principal == "AWS:AKIDV2"


@pytest.mark.parametrize("success_status", [None, "201"])
def test_a_browser_form_post_is_an_object_created_post_with_its_version_and_size(hop, success_status):
    s3, queued = hop
    # GIVEN a browser-form upload (POST Object) with the user's file name in the key
    fields = {"success_action_status": success_status} if success_status else {}
    conditions = [{"success_action_status": success_status}] if success_status else []
    form = s3.generate_presigned_post(
        "watched", "uploads/${filename}", Fields=fields or None, Conditions=conditions or None
    )

    # WHEN the browser posts it to the bucket's URL
    response = requests.post(
        form["url"], data=form["fields"], files={"file": ("my photo.jpg", b"jpeg bytes")}, timeout=30
    )

    # THEN the object is stored and announced as S3 announces a POST, with its own version
    assert response.status_code == int(success_status or 204), response.text
    stored = s3.head_object(Bucket="watched", Key="uploads/my photo.jpg")
    (record,) = [event["Records"][0] for _, event in queued]
    assert record["eventName"] == "ObjectCreated:Post"
    assert record["userIdentity"]["principalId"] == "AWS:testing"
    obj = record["s3"]["object"]
    assert obj["key"] == "uploads/my+photo.jpg"
    assert (obj["size"], obj["eTag"]) == (10, stored["ETag"].strip('"'))
    assert obj["versionId"] == stored["VersionId"]


def test_a_form_post_to_an_unwatched_bucket_or_a_batch_delete_is_not_announced(hop):
    s3, queued = hop
    s3.put_object(Bucket="watched", Key="gone.txt", Body=b"x")
    queued.clear()
    form = s3.generate_presigned_post("unwatched", "a.txt")

    requests.post(
        form["url"], data=form["fields"], files={"file": ("a.txt", b"a")}, timeout=30
    ).raise_for_status()
    s3.delete_objects(Bucket="watched", Delete={"Objects": [{"Key": "gone.txt"}]})

    assert queued == []


@pytest.mark.parametrize(
    "content_type", [None, "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"]
)
def test_a_put_typed_as_a_form_stores_its_body_byte_for_byte(hop, content_type):
    s3, queued = hop
    body = b"a=1&b=2&key=x&\xff\x00 raw"
    # GIVEN urllib's PUT, which types a body as application/x-www-form-urlencoded unless told
    put = urllib.request.Request(f"{s3.meta.endpoint_url}/watched/form.bin", data=body, method="PUT")
    if content_type:
        put.add_header("Content-Type", content_type)

    # WHEN it is sent
    with urllib.request.urlopen(put, timeout=30) as answer:
        version = answer.headers["x-amz-version-id"]

    # THEN S3 keeps the body as sent, with the type it was sent with, and announces its size
    stored = s3.get_object(Bucket="watched", Key="form.bin", VersionId=version)
    assert stored["Body"].read() == body
    assert stored["ContentType"] == (content_type or "application/x-www-form-urlencoded")
    (record,) = [event["Records"][0] for _, event in queued]
    assert record["s3"]["object"]["size"] == len(body)
    assert record["s3"]["object"]["versionId"] == version


def test_a_part_typed_as_a_form_keeps_its_bytes_and_leaves_the_objects_type_alone(hop):
    s3, queued = hop
    # (public-read: moto, like S3, refuses an unsigned write over a private object)
    old = s3.put_object(
        Bucket="watched", Key="big.bin", Body=b"old", ContentType="text/plain", ACL="public-read"
    )
    upload = s3.create_multipart_upload(Bucket="watched", Key="big.bin")
    part = urllib.request.Request(
        f"{s3.meta.endpoint_url}/watched/big.bin?partNumber=1&uploadId={upload['UploadId']}",
        data=b"x=1&y=2",
        method="PUT",
    )
    with urllib.request.urlopen(part, timeout=30) as answer:
        etag = answer.headers["ETag"]

    s3.complete_multipart_upload(
        Bucket="watched",
        Key="big.bin",
        UploadId=upload["UploadId"],
        MultipartUpload={"Parts": [{"ETag": etag, "PartNumber": 1}]},
    )

    assert s3.get_object(Bucket="watched", Key="big.bin")["Body"].read() == b"x=1&y=2"
    kept = s3.get_object(Bucket="watched", Key="big.bin", VersionId=old["VersionId"])
    assert kept["ContentType"] == "text/plain"
    assert [event["Records"][0]["eventName"] for _, event in queued] == [EVENT_PUT, EVENT_MULTIPART]


LONGEST_KEY = "é" * 512  # 1,024 bytes in UTF-8: S3's limit
TOO_LONG_KEY = LONGEST_KEY + "a"  # 1,025 bytes, 513 characters


def refused_as_too_long(call: Any) -> None:
    with pytest.raises(ClientError) as refused:
        call()
    error = refused.value.response
    assert error["Error"]["Code"] == "KeyTooLongError"
    assert error["Error"]["Message"] == "Your key is too long"
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_a_key_over_1024_bytes_is_refused_as_s3_refuses_it(hop):
    s3, queued = hop
    s3.put_object(Bucket="watched", Key="src.txt", Body=b"abc")
    queued.clear()

    refused_as_too_long(lambda: s3.put_object(Bucket="watched", Key=TOO_LONG_KEY, Body=b"x"))
    refused_as_too_long(
        lambda: s3.copy_object(
            Bucket="watched", Key=TOO_LONG_KEY, CopySource={"Bucket": "watched", "Key": "src.txt"}
        )
    )
    refused_as_too_long(lambda: s3.create_multipart_upload(Bucket="watched", Key=TOO_LONG_KEY))

    names = [version["Key"] for version in s3.list_object_versions(Bucket="watched").get("Versions", [])]
    assert names == ["src.txt"] and queued == []


def test_a_form_post_of_a_key_over_1024_bytes_is_refused_in_s3s_xml(hop):
    s3, queued = hop
    form = s3.generate_presigned_post("watched", TOO_LONG_KEY)

    answer = requests.post(form["url"], data=form["fields"], files={"file": ("a.txt", b"a")}, timeout=30)

    assert answer.status_code == 400
    assert answer.headers["Content-Type"].startswith("application/xml")
    assert "<Code>KeyTooLongError</Code>" in answer.text
    assert "<Message>Your key is too long</Message>" in answer.text
    assert s3.list_object_versions(Bucket="watched").get("Versions", []) == [] and queued == []


def test_a_key_of_exactly_1024_bytes_is_stored_and_announced(hop):
    s3, queued = hop

    s3.put_object(Bucket="watched", Key=LONGEST_KEY, Body=b"x")

    assert s3.get_object(Bucket="watched", Key=LONGEST_KEY)["Body"].read() == b"x"
    assert len(queued) == 1


def test_an_upload_the_hop_cannot_announce_is_still_answered_as_stored():
    server = LocalServer(port=0)
    server.start()
    try:
        requests.post(f"{server.endpoint_url}/moto-api/reset", timeout=60).raise_for_status()
        deployment = Deployment(stack_name="T", region="us-east-1", account="123456789012")
        deployment.notifications = [BucketNotification("watched", FUNCTION_ARN, ("s3:ObjectCreated:*",))]

        def broken_lookup(bucket: str, key: str, version_id: str | None) -> StoredObject:
            raise KeyError(key)

        S3Hop(deployment, lambda arn, event: None, lookup=broken_lookup).install(server.middleware)
        s3 = boto3.client("s3", endpoint_url=server.endpoint_url, region_name="us-east-1")
        s3.create_bucket(Bucket="watched")
        form = s3.generate_presigned_post("watched", "a.txt")

        posted = requests.post(form["url"], data=form["fields"], files={"file": ("a.txt", b"a")}, timeout=30)
        put = urllib.request.Request(f"{server.endpoint_url}/watched/b.txt", data=b"b=1", method="PUT")
        with urllib.request.urlopen(put, timeout=30) as answer:
            put_status = answer.status

        assert (posted.status_code, put_status) == (204, 200)
        assert s3.get_object(Bucket="watched", Key="b.txt")["Body"].read() == b"b=1"
    finally:
        server.stop()


@pytest.mark.parametrize("key", ["a b", "x+y", "tilde~star*", "ünï/cödé", "100%"])
def test_the_cli_hands_the_processor_keys_encoded_as_the_hop_announces_them(key: str) -> None:
    # backfill and the demo's redelivery must key an object exactly as its upload was keyed.
    record = cli_record(bucket="b", region="us-east-1", key=key, size=1, event_time="2026-01-01T00:00:00Z")
    assert record["s3"]["object"]["key"] == encode_key(key)
