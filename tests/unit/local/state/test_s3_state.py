"""S3's state: every version of every key, delete markers, version ids, ETags, metadata and
tags survive exactly, and restoring them notifies nothing."""

from __future__ import annotations

from pathlib import Path

from moto import mock_aws

from s3flow.local.state import s3
from s3flow.local.state.files import StateFolder

from .conftest import ACCOUNT, REGION, client, through_json

BUCKET = "object-trigger-bucket"


def _provision() -> None:
    """What the template creates: a versioned bucket."""
    bucket = client("s3")
    bucket.create_bucket(Bucket=BUCKET)
    bucket.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})


def _versions() -> list[tuple[str, str, str, int, bool]]:
    listed = client("s3").list_object_versions(Bucket=BUCKET)
    return sorted(
        (v["Key"], v["VersionId"], v["ETag"], v["Size"], v["IsLatest"]) for v in listed.get("Versions", [])
    )


def _markers() -> list[tuple[str, str, bool]]:
    listed = client("s3").list_object_versions(Bucket=BUCKET)
    return sorted((m["Key"], m["VersionId"], m["IsLatest"]) for m in listed.get("DeleteMarkers", []))


def test_every_version_comes_back_with_its_id_etag_body_metadata_and_tags(tmp_path: Path):
    folder = StateFolder(tmp_path)
    with mock_aws():
        _provision()
        s3_client = client("s3")
        first = s3_client.put_object(Bucket=BUCKET, Key="a.txt", Body=b"one", ContentType="text/plain")
        s3_client.put_object(
            Bucket=BUCKET, Key="a.txt", Body=b"two", Metadata={"origin": "test"}, Tagging="team=data"
        )
        s3_client.put_object(Bucket=BUCKET, Key="gone.txt", Body=b"bye")
        s3_client.delete_object(Bucket=BUCKET, Key="gone.txt")
        versions, markers = _versions(), _markers()
        head = s3_client.head_object(Bucket=BUCKET, Key="a.txt", VersionId=first["VersionId"])
        modified = head["LastModified"]
        saved = through_json(s3.export(ACCOUNT, folder))

    with mock_aws():
        _provision()
        missing = s3.restore(ACCOUNT, REGION, saved, folder)

        s3_client = client("s3")
        assert missing == []
        assert _versions() == versions
        assert _markers() == markers
        old = s3_client.get_object(Bucket=BUCKET, Key="a.txt", VersionId=first["VersionId"])
        assert old["Body"].read() == b"one"
        assert old["ContentType"] == "text/plain"
        assert old["LastModified"] == modified
        latest = s3_client.get_object(Bucket=BUCKET, Key="a.txt")
        assert latest["Body"].read() == b"two"
        assert latest["Metadata"] == {"origin": "test"}
        tags = s3_client.get_object_tagging(Bucket=BUCKET, Key="a.txt")["TagSet"]
        assert tags == [{"Key": "team", "Value": "data"}]
        assert s3_client.list_objects_v2(Bucket=BUCKET)["KeyCount"] == 1  # gone.txt stays deleted


def test_restoring_sends_no_notification(tmp_path: Path):
    folder = StateFolder(tmp_path)
    with mock_aws():
        _provision()
        client("s3").put_object(Bucket=BUCKET, Key="a.txt", Body=b"one")
        saved = through_json(s3.export(ACCOUNT, folder))

    with mock_aws():
        _provision()
        queue_url = client("sqs").create_queue(QueueName="events")["QueueUrl"]
        queue_arn = client("sqs").get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        client("s3").put_bucket_notification_configuration(
            Bucket=BUCKET,
            NotificationConfiguration={
                "QueueConfigurations": [{"QueueArn": queue_arn, "Events": ["s3:ObjectCreated:*"]}]
            },
        )
        client("sqs").purge_queue(QueueUrl=queue_url)  # moto's test event for the configuration

        s3.restore(ACCOUNT, REGION, saved, folder)

        assert client("s3").get_object(Bucket=BUCKET, Key="a.txt")["Body"].read() == b"one"
        assert "Messages" not in client("sqs").receive_message(QueueUrl=queue_url, WaitTimeSeconds=0)


def test_a_bucket_the_stack_no_longer_has_is_named_not_restored(tmp_path: Path):
    folder = StateFolder(tmp_path)
    with mock_aws():
        _provision()
        client("s3").put_object(Bucket=BUCKET, Key="a.txt", Body=b"one")
        saved = through_json(s3.export(ACCOUNT, folder))

    with mock_aws():
        missing = s3.restore(ACCOUNT, REGION, saved, folder)

    assert missing == [f"bucket {BUCKET} (object versions: 1)"]
