"""Redrive when Lambda refuses the invoke: the message must stay in the queue."""

from __future__ import annotations

import json

from s3flow.cli.main import app


def test_redrive_keeps_the_message_when_the_invoke_is_refused(fake_stack, runner):
    # GIVEN a failed event in the queue of a stack whose function does not exist here
    sqs, url = fake_stack.client("sqs"), fake_stack.outputs["FailureQueueUrl"]
    body = {
        "requestContext": {"condition": "RetriesExhausted", "approximateInvokeCount": 3},
        "requestPayload": {
            "Records": [{"eventSource": "aws:s3", "s3": {"object": {"key": "broken%C3%A9.txt"}}}]
        },
        "responsePayload": {"errorMessage": "boom"},
    }
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps(body))

    # WHEN it is redriven, Lambda refuses the invoke
    result = runner.invoke(app, ["redrive", *fake_stack.args])

    # THEN the command says so and fails, and the message is still there, visible at once
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert "not accepted: brokené.txt" in result.output
    peek = sqs.receive_message(QueueUrl=url, VisibilityTimeout=0, WaitTimeSeconds=0)
    assert [json.loads(m["Body"]) for m in peek.get("Messages", [])] == [body]
