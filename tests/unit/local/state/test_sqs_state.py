"""SQS's state: messages with their ids, bodies and attributes survive; one in flight stays
invisible until its visibility timeout ends."""

from __future__ import annotations

from moto import mock_aws

from s3flow.local.state import sqs

from .conftest import ACCOUNT, REGION, client, through_json

QUEUE = "failures"


def _counts(url: str) -> tuple[str, str]:
    attributes = client("sqs").get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return attributes["ApproximateNumberOfMessages"], attributes["ApproximateNumberOfMessagesNotVisible"]


def test_messages_come_back_and_one_in_flight_stays_in_flight():
    with mock_aws():
        url = client("sqs").create_queue(QueueName=QUEUE)["QueueUrl"]
        queue = client("sqs")
        queue.send_message(
            QueueUrl=url,
            MessageBody="first",
            MessageAttributes={"kind": {"DataType": "String", "StringValue": "s3"}},
        )
        sent = queue.send_message(QueueUrl=url, MessageBody="second")
        taken = queue.receive_message(QueueUrl=url, VisibilityTimeout=600, MaxNumberOfMessages=1)["Messages"]
        saved = through_json(sqs.export(ACCOUNT, REGION))

    with mock_aws():
        url = client("sqs").create_queue(QueueName=QUEUE)["QueueUrl"]
        missing = sqs.restore(ACCOUNT, REGION, saved)

        assert missing == []
        assert _counts(url) == ("1", "1")
        (visible,) = client("sqs").receive_message(
            QueueUrl=url, MessageAttributeNames=["All"], AttributeNames=["All"]
        )["Messages"]
        assert visible["MessageId"] != taken[0]["MessageId"]
        assert visible["Body"] in ("first", "second")
        if visible["Body"] == "second":
            assert visible["MessageId"] == sent["MessageId"]
        else:
            assert visible["MessageAttributes"]["kind"]["StringValue"] == "s3"
        assert visible["Attributes"]["ApproximateReceiveCount"] == "1"


def test_a_queue_the_stack_no_longer_has_is_named_not_restored():
    with mock_aws():
        url = client("sqs").create_queue(QueueName=QUEUE)["QueueUrl"]
        client("sqs").send_message(QueueUrl=url, MessageBody="first")
        saved = through_json(sqs.export(ACCOUNT, REGION))

    with mock_aws():
        assert sqs.restore(ACCOUNT, REGION, saved) == [f"queue {QUEUE} (messages: 1)"]
