"""A DynamoDB event source mapping's FilterCriteria, locally (no emulator): Lambda's event
filtering syntax, and the keys it may filter on."""

from __future__ import annotations

import json

import pytest

from s3flow.local.event_sources.dynamodb_stream import parse_filters, passes

RECORD = {
    "eventName": "MODIFY",
    "dynamodb": {"NewImage": {"status": {"S": "SUCCESS"}, "size": {"N": "42"}}, "Keys": {"pk": {"S": "a"}}},
}


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ({"dynamodb": {"NewImage": {"status": {"S": ["SUCCESS"]}}}}, True),
        ({"dynamodb": {"NewImage": {"status": {"S": [{"prefix": "SUC"}]}}}}, True),
        ({"dynamodb": {"NewImage": {"status": {"S": [{"anything-but": ["SUCCESS"]}]}}}}, False),
        ({"dynamodb": {"OldImage": [{"exists": False}]}}, True),
        ({"dynamodb": {"OldImage": [{"exists": True}]}}, False),
        ({"dynamodb": {"NewImage": {"pk": {"S": [{"exists": True}]}}}}, False),
        ({"dynamodb": {"NewImage": {"status": {"S": [{"exists": True}]}}}}, True),
        ({"dynamodb": {"NewImage": {"status": {"S": [{"wildcard": "SUC*"}]}}}}, True),
        ({"dynamodb": {"NewImage": {"status": {"S": [{"equals-ignore-case": "success"}]}}}}, True),
        ({"$or": [{"dynamodb": {"Keys": {"pk": {"S": [key]}}}} for key in "ba"]}, True),
        ({"dynamodb": {"NewImage": {"missing": {"S": ["x"]}}}}, False),
    ],
)
def test_filter_patterns_follow_lambdas_event_filtering_syntax(pattern, expected):
    assert passes(parse_filters([json.dumps(pattern)]), RECORD) is expected


def test_a_record_passes_when_any_filter_matches_or_there_is_none():
    assert passes([], RECORD)
    a, b = ({"dynamodb": {"Keys": {"pk": {"S": [key]}}}} for key in "ab")
    assert passes(parse_filters([json.dumps(b), json.dumps(a)]), RECORD)
    assert not passes(parse_filters([json.dumps(b)]), RECORD)


@pytest.mark.parametrize(
    "pattern",
    [
        {"eventName": ["INSERT", "MODIFY"]},
        {"dynamodb": {"NewImage": {"status": {"S": ["SUCCESS"]}}}, "eventName": ["MODIFY"]},
        {"$or": [{"eventName": ["INSERT"]}, {"dynamodb": {"Keys": {"pk": {"S": ["a"]}}}}]},
    ],
)
def test_a_filter_on_anything_but_the_dynamodb_key_is_refused_as_lambda_documents(pattern):
    # https://docs.aws.amazon.com/lambda/latest/dg/with-ddb-filtering.html: DynamoDB event
    # source mappings filter only on the `dynamodb` key.
    with pytest.raises(ValueError, match="eventName.*only on the dynamodb key"):
        parse_filters([json.dumps(pattern)])
