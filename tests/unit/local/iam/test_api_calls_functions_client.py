"""The functions' own JSON client (``functions.shared.aws_api``, no botocore): its requests are
described like botocore's, and it reads the emulator's refusals as it reads AWS's."""

from __future__ import annotations

from typing import Any

import pytest

from s3flow.functions.processor.store import put_new
from s3flow.functions.shared.aws_api import DYNAMODB, EVENTBRIDGE, SQS, ApiCallError, JsonApiClient, Service
from s3flow.local.iam.api_calls import ApiCall, Authorization, access_denied, describe

from .api_calls_support import ACCESS_KEY, ACCOUNT, ENDPOINT, PRINCIPAL, REGION, http_client_exchanges

SANDBOX = {  # what a sandbox's environment holds (local.credentials.role_credentials)
    "AWS_ACCESS_KEY_ID": ACCESS_KEY,
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_REGION": REGION,
    "AWS_ENDPOINT_URL": ENDPOINT,
    "AWS_MAX_ATTEMPTS": "1",
}
TABLE = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/records"
BUS = f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/processing"
QUEUE_URL = f"{ENDPOINT}/{ACCOUNT}/publisher-failures"
QUEUE = f"arn:aws:sqs:{REGION}:{ACCOUNT}:publisher-failures"
ENTRY = {"Source": "s3flow", "DetailType": "ObjectProcessed", "Detail": "{}", "EventBusName": "processing"}


def refuse(request: Any) -> Any:
    """The emulator's answer when the call's first authorization is denied."""
    call = describe(request, account=ACCOUNT, region=REGION)
    assert call is not None
    authorization = call.authorizations[0]
    reason = f"no identity-based policy allows the {authorization.action} action"
    return access_denied(call, principal=PRINCIPAL, authorization=authorization, reason=reason)


def test_the_processors_put_item_is_described() -> None:
    with http_client_exchanges() as sent:
        put_new(JsonApiClient(DYNAMODB, environ=SANDBOX), "records", {"pk": "a"})

    assert describe(sent[0], account=ACCOUNT, region=REGION) == ApiCall(
        "dynamodb", "PutItem", "json", (Authorization("dynamodb:PutItem", TABLE),)
    )


@pytest.mark.parametrize(
    ("service", "operation", "params", "expected"),
    [
        (
            EVENTBRIDGE,
            "PutEvents",
            {"Entries": [ENTRY, ENTRY]},
            ApiCall("events", "PutEvents", "json", (Authorization("events:PutEvents", BUS),)),
        ),
        (
            SQS,
            "SendMessageBatch",
            {"QueueUrl": QUEUE_URL, "Entries": [{"Id": "0", "MessageBody": "{}"}]},
            ApiCall("sqs", "SendMessageBatch", "json", (Authorization("sqs:SendMessage", QUEUE),)),
        ),
    ],
)
def test_the_publishers_calls_are_described(
    service: Service, operation: str, params: dict[str, Any], expected: ApiCall
) -> None:
    with http_client_exchanges() as sent:
        JsonApiClient(service, environ=SANDBOX).call(operation, params)

    assert describe(sent[0], account=ACCOUNT, region=REGION) == expected


def test_a_refused_put_item_reaches_the_processor_as_access_denied() -> None:
    with http_client_exchanges(refuse), pytest.raises(ApiCallError) as raised:
        put_new(JsonApiClient(DYNAMODB, environ=SANDBOX), "records", {"pk": "a"})

    assert (raised.value.code, raised.value.status, raised.value.retryable) == (
        "AccessDeniedException",
        400,
        False,
    )
    assert raised.value.message == (
        f"User: {PRINCIPAL} is not authorized to perform: dynamodb:PutItem on resource: {TABLE} "
        "because no identity-based policy allows the dynamodb:PutItem action"
    )


@pytest.mark.parametrize(
    ("service", "operation", "params", "code", "status"),
    [
        (EVENTBRIDGE, "PutEvents", {"Entries": [ENTRY]}, "AccessDeniedException", 400),
        # The client reads the JSON "__type"; botocore reads SQS's query-compatible header instead.
        (
            SQS,
            "SendMessageBatch",
            {"QueueUrl": QUEUE_URL, "Entries": [{"Id": "0", "MessageBody": "{}"}]},
            "AccessDeniedException",
            403,
        ),
    ],
)
def test_the_publisher_reads_a_refusal_as_an_error_not_worth_retrying(
    service: Service, operation: str, params: dict[str, Any], code: str, status: int
) -> None:
    with http_client_exchanges(refuse) as sent, pytest.raises(ApiCallError) as raised:
        JsonApiClient(service, environ=SANDBOX).call(operation, params)

    assert (raised.value.code, raised.value.status, raised.value.retryable) == (code, status, False)
    assert len(sent) == 1
