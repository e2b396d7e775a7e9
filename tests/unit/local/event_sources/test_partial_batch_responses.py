"""How the local mapping reads a publisher's partial batch response, as Lambda does:
https://docs.aws.amazon.com/lambda/latest/dg/services-ddb-batchfailurereporting.html
(an empty or null list is success; a malformed one fails the whole batch)."""

from __future__ import annotations

from typing import Any

import pytest

from s3flow.local.event_sources.dynamodb_stream.failures import first_failure
from s3flow.local.event_sources.dynamodb_stream.reader import StreamRecord

RECORDS = [StreamRecord(n, 0.0, {"dynamodb": {"SequenceNumber": str(100 + n)}}) for n in range(3)]


@pytest.mark.parametrize(
    ("payload", "retry_from"),
    [
        (None, None),
        ({}, None),
        ({"batchItemFailures": []}, None),
        ({"batchItemFailures": None}, None),
        ({"batchItemFailures": [{"itemIdentifier": "102"}, {"itemIdentifier": "101"}]}, 1),
        ({"batchItemFailures": [{"itemIdentifier": ""}]}, 0),
        ({"batchItemFailures": [{"itemIdentifier": None}]}, 0),
        ({"batchItemFailures": [{"itemIdentifer": "101"}]}, 0),
        ({"batchItemFailures": [{"itemIdentifier": "999"}]}, 0),
        ({"batchItemFailures": 5}, 0),
        ({"batchItemFailures": {"itemIdentifier": "101"}}, 0),
        ({"batchItemFailures": "101"}, 0),
    ],
)
def test_a_partial_batch_response_names_where_to_retry_from(payload: Any, retry_from: int | None) -> None:
    assert first_failure(payload, RECORDS) == retry_from
