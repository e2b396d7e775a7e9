"""IAM policy evaluation, element by element, as AWS documents it
(docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html)."""

from __future__ import annotations

import fnmatch
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from s3flow.local.iam.policy import (
    Decision,
    PolicyError,
    Principal,
    Request,
    Verdict,
    authorize,
    check_document,
    condition_keys,
    evaluate,
    wildcard_match,
)

ACCOUNT = "123456789012"
OTHER_ACCOUNT = "210987654321"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/processor-role"
SESSION = f"arn:aws:sts::{ACCOUNT}:assumed-role/processor-role/processor"
ROLE_SESSION = Principal("AWS", ROLE, ACCOUNT, SESSION)
ROLE_ITSELF = Principal("AWS", ROLE, ACCOUNT)
OTHER_ROLE = Principal("AWS", f"arn:aws:iam::{ACCOUNT}:role/other-role", ACCOUNT)
FOREIGN_ROLE = Principal("AWS", f"arn:aws:iam::{OTHER_ACCOUNT}:role/processor-role", OTHER_ACCOUNT)
EVENTS = Principal("Service", "events.amazonaws.com")
TABLE = f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/records"
QUEUE = f"arn:aws:sqs:us-east-1:{ACCOUNT}:failures"
BUCKET = "arn:aws:s3:::uploads"

ALLOW, EXPLICIT_DENY, IMPLICIT_DENY = Decision.ALLOW, Decision.EXPLICIT_DENY, Decision.IMPLICIT_DENY


def doc(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(action: Any = "*", resource: Any = "*", **more: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **more}


def deny(action: Any = "*", resource: Any = "*", **more: Any) -> dict[str, Any]:
    return {"Effect": "Deny", "Action": action, "Resource": resource, **more}


def request(
    action: str = "dynamodb:PutItem",
    resource: str = TABLE,
    principal: Principal = ROLE_SESSION,
    context: dict[str, str | list[str]] | None = None,
) -> Request:
    return Request(principal, action, resource, context or {})


def identity(statement: dict[str, Any], req: Request | None = None) -> Decision:
    return evaluate([doc(statement)], req or request())


# --- statements, actions, resources --------------------------------------------------------


def test_statement_may_be_one_object_or_a_list() -> None:
    single = {"Version": "2012-10-17", "Statement": allow("dynamodb:PutItem", TABLE)}
    assert evaluate([single], request()) is ALLOW
    assert evaluate([doc(allow("s3:GetObject"), allow("dynamodb:PutItem", TABLE))], request()) is ALLOW


def test_no_documents_or_no_matching_allow_is_an_implicit_deny() -> None:
    assert evaluate([], request()) is IMPLICIT_DENY
    assert identity(allow("dynamodb:GetItem", TABLE)) is IMPLICIT_DENY


@pytest.mark.parametrize(
    ("pattern", "decision"),
    [
        ("dynamodb:PutItem", ALLOW),
        ("DynamoDB:putitem", ALLOW),  # action names are case-insensitive
        ("dynamodb:Put*", ALLOW),
        ("dynamodb:P?tItem", ALLOW),
        ("*", ALLOW),
        ("dynamodb:*", ALLOW),
        ("dynamodb:Get*", IMPLICIT_DENY),
        ("dynamodb:PutItems", IMPLICIT_DENY),
        ("dynamo:PutItem", IMPLICIT_DENY),
    ],
)
def test_action_matches_case_insensitively_with_wildcards(pattern: str, decision: Decision) -> None:
    assert identity(allow(pattern, TABLE)) is decision


def test_action_and_resource_may_be_lists() -> None:
    statement = allow(["s3:GetObject", "dynamodb:PutItem"], [QUEUE, TABLE])
    assert identity(statement) is ALLOW
    assert identity(statement, request("dynamodb:DeleteItem")) is IMPLICIT_DENY


@pytest.mark.parametrize(
    ("pattern", "decision"),
    [
        (TABLE, ALLOW),
        (f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/*", ALLOW),
        ("arn:aws:dynamodb:*:*:table/record?", ALLOW),
        ("arn:aws:dynamodb:*", ALLOW),  # a trailing * runs on past the colons
        ("*", ALLOW),
        (f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/Records", IMPLICIT_DENY),  # case-sensitive
        (f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/record", IMPLICIT_DENY),
        (f"arn:aws:dynamodb:us-east-1:{OTHER_ACCOUNT}:table/*", IMPLICIT_DENY),
    ],
)
def test_resource_matches_case_sensitively_with_wildcards(pattern: str, decision: Decision) -> None:
    assert identity(allow("dynamodb:PutItem", pattern)) is decision


def test_an_action_without_resource_types_is_allowed_only_by_resource_star() -> None:
    xray = request("xray:PutTraceSegments", "*")
    assert identity(allow("xray:PutTraceSegments", "*"), xray) is ALLOW
    assert (
        identity(allow("xray:PutTraceSegments", f"arn:aws:xray:us-east-1:{ACCOUNT}:*"), xray) is IMPLICIT_DENY
    )


def test_not_action_applies_to_every_action_not_listed() -> None:
    statement = {"Effect": "Allow", "NotAction": ["dynamodb:Delete*", "s3:*"], "Resource": "*"}
    assert identity(statement) is ALLOW
    assert identity(statement, request("dynamodb:DeleteItem")) is IMPLICIT_DENY
    assert identity(statement, request("S3:GetObject", f"{BUCKET}/key")) is IMPLICIT_DENY


def test_not_resource_applies_to_every_resource_not_listed() -> None:
    statement = {"Effect": "Deny", "Action": "*", "NotResource": f"{BUCKET}/public/*"}
    everything = allow()
    assert evaluate([doc(everything, statement)], request()) is EXPLICIT_DENY
    public = request("s3:GetObject", f"{BUCKET}/public/a.txt")
    assert evaluate([doc(everything, statement)], public) is ALLOW


def test_identity_statement_without_resource_applies_to_nothing() -> None:
    assert identity({"Effect": "Allow", "Action": "*"}) is IMPLICIT_DENY


def test_resource_policy_statement_without_resource_is_about_the_resource_itself() -> None:
    statement = {"Effect": "Allow", "Principal": {"AWS": ROLE}, "Action": "dynamodb:PutItem"}
    assert evaluate([doc(statement)], request(), resource_policy=True) is ALLOW


def test_deny_wins_over_allow_within_and_across_documents() -> None:
    assert evaluate([doc(allow(), deny("dynamodb:PutItem", TABLE))], request()) is EXPLICIT_DENY
    assert evaluate([doc(deny("dynamodb:Put*", TABLE)), doc(allow())], request()) is EXPLICIT_DENY
    assert evaluate([doc(deny("dynamodb:Get*", TABLE)), doc(allow())], request()) is ALLOW


# --- principals ----------------------------------------------------------------------------


def resource_policy(
    principal_element: Any, req: Request, *, effect: str = "Allow", key: str = "Principal"
) -> Decision:
    statement = {"Effect": effect, key: principal_element, "Action": "*", "Resource": "*"}
    return evaluate([doc(statement)], req, resource_policy=True)


@pytest.mark.parametrize("everyone", ["*", {"AWS": "*"}, {"AWS": ["*"]}])
@pytest.mark.parametrize("who", [ROLE_SESSION, FOREIGN_ROLE, EVENTS])
def test_star_principal_names_everyone_services_included(everyone: Any, who: Principal) -> None:
    assert resource_policy(everyone, request(principal=who)) is ALLOW
    assert resource_policy(everyone, request(principal=who), effect="Deny") is EXPLICIT_DENY


def test_role_arn_names_the_role_and_its_sessions_only() -> None:
    assert resource_policy({"AWS": ROLE}, request(principal=ROLE_SESSION)) is ALLOW
    assert resource_policy({"AWS": [QUEUE, ROLE]}, request(principal=ROLE_ITSELF)) is ALLOW
    assert resource_policy({"AWS": ROLE}, request(principal=OTHER_ROLE)) is IMPLICIT_DENY
    assert resource_policy({"AWS": ROLE}, request(principal=FOREIGN_ROLE)) is IMPLICIT_DENY
    assert resource_policy({"AWS": SESSION}, request(principal=ROLE_SESSION)) is ALLOW
    other_session = Principal("AWS", ROLE, ACCOUNT, SESSION.replace("/processor", "/publisher"))
    assert resource_policy({"AWS": SESSION}, request(principal=other_session)) is IMPLICIT_DENY


@pytest.mark.parametrize("account", [ACCOUNT, f"arn:aws:iam::{ACCOUNT}:root"])
def test_account_principal_delegates_an_allow_but_matches_a_deny(account: str) -> None:
    assert resource_policy({"AWS": account}, request(principal=ROLE_SESSION)) is IMPLICIT_DENY
    assert resource_policy({"AWS": account}, request(principal=ROLE_SESSION), effect="Deny") is EXPLICIT_DENY
    assert resource_policy({"AWS": account}, request(principal=FOREIGN_ROLE), effect="Deny") is IMPLICIT_DENY
    assert resource_policy({"AWS": account}, request(principal=EVENTS), effect="Deny") is IMPLICIT_DENY


def test_service_principal_names_that_service_only() -> None:
    assert resource_policy({"Service": "events.amazonaws.com"}, request(principal=EVENTS)) is ALLOW
    services = {"Service": ["sns.amazonaws.com", "events.amazonaws.com"]}
    assert resource_policy(services, request(principal=EVENTS)) is ALLOW
    sns = Principal("Service", "sns.amazonaws.com")
    assert resource_policy({"Service": "events.amazonaws.com"}, request(principal=sns)) is IMPLICIT_DENY
    assert (
        resource_policy({"Service": "events.amazonaws.com"}, request(principal=ROLE_SESSION)) is IMPLICIT_DENY
    )
    assert resource_policy({"AWS": "events.amazonaws.com"}, request(principal=EVENTS)) is IMPLICIT_DENY


def test_resource_policy_statement_without_principal_names_no_one() -> None:
    assert evaluate([doc(allow())], request(), resource_policy=True) is IMPLICIT_DENY


def test_not_principal_deny_spares_only_a_principal_listed_with_its_role_and_account() -> None:
    # docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notprincipal.html
    whole_chain = {"AWS": [SESSION, ROLE, f"arn:aws:iam::{ACCOUNT}:root"]}
    assert (
        resource_policy(whole_chain, request(principal=ROLE_SESSION), effect="Deny", key="NotPrincipal")
        is IMPLICIT_DENY
    )
    assert (
        resource_policy(whole_chain, request(principal=OTHER_ROLE), effect="Deny", key="NotPrincipal")
        is EXPLICIT_DENY
    )
    role_only = {"AWS": [SESSION, ROLE]}
    assert (
        resource_policy(role_only, request(principal=ROLE_SESSION), effect="Deny", key="NotPrincipal")
        is EXPLICIT_DENY
    )
    service = {"Service": "events.amazonaws.com"}
    assert (
        resource_policy(service, request(principal=EVENTS), effect="Deny", key="NotPrincipal")
        is IMPLICIT_DENY
    )
    assert resource_policy(service, request(principal=ROLE_SESSION), key="NotPrincipal") is ALLOW


# --- conditions ----------------------------------------------------------------------------


def holds(condition: dict[str, Any], context: dict[str, str | list[str]] | None = None) -> bool:
    return identity(allow(Condition=condition), request(context=context)) is ALLOW


def test_string_operators_compare_case_sensitively_unless_ignore_case() -> None:
    assert holds({"StringEquals": {"aws:PrincipalType": "AssumedRole"}}, {"aws:PrincipalType": "AssumedRole"})
    assert not holds(
        {"StringEquals": {"aws:PrincipalType": "assumedrole"}}, {"aws:PrincipalType": "AssumedRole"}
    )
    assert not holds(
        {"StringEquals": {"aws:PrincipalType": "Assumed*"}}, {"aws:PrincipalType": "AssumedRole"}
    )
    assert holds(
        {"StringEqualsIgnoreCase": {"aws:PrincipalType": "assumedrole"}}, {"aws:PrincipalType": "AssumedRole"}
    )
    assert holds(
        {"StringNotEquals": {"aws:PrincipalType": "assumedrole"}}, {"aws:PrincipalType": "AssumedRole"}
    )
    assert not holds(
        {"StringNotEqualsIgnoreCase": {"aws:PrincipalType": "ASSUMEDROLE"}},
        {"aws:PrincipalType": "AssumedRole"},
    )


def test_string_like_takes_wildcards() -> None:
    assert holds({"StringLike": {"s3:prefix": "home/*/?.txt"}}, {"s3:prefix": "home/ana/a.txt"})
    assert not holds({"StringLike": {"s3:prefix": "home/*/?.txt"}}, {"s3:prefix": "home/ana/ab.txt"})
    assert holds({"StringNotLike": {"s3:prefix": "tmp/*"}}, {"s3:prefix": "home/x"})
    assert not holds({"StringNotLike": {"s3:prefix": "home/*"}}, {"s3:prefix": "home/x"})


def test_arn_operators_match_each_of_the_six_components_apart() -> None:
    # docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html
    pattern = "arn:aws:someservice:*:111122223333:finance/*"
    value = "arn:aws:someservice:us-east-2:999999999999:store/abc:111122223333:finance/document.txt"
    assert holds({"StringLike": {"aws:SourceArn": pattern}}, {"aws:SourceArn": value})
    assert not holds({"ArnLike": {"aws:SourceArn": pattern}}, {"aws:SourceArn": value})
    rule = f"arn:aws:events:us-east-1:{ACCOUNT}:rule/bus/success"
    assert holds(
        {"ArnLike": {"aws:SourceArn": f"arn:aws:events:*:{ACCOUNT}:rule/*"}}, {"aws:SourceArn": rule}
    )
    assert holds(
        {"ArnEquals": {"aws:SourceArn": f"arn:aws:events:*:{ACCOUNT}:rule/*"}}, {"aws:SourceArn": rule}
    )
    assert not holds({"ArnEquals": {"aws:SourceArn": rule.upper()}}, {"aws:SourceArn": rule})
    assert not holds({"ArnLike": {"aws:SourceArn": "*"}}, {"aws:SourceArn": rule})  # not six components
    assert holds({"ArnNotEquals": {"aws:SourceArn": rule + "x"}}, {"aws:SourceArn": rule})
    assert not holds({"ArnNotLike": {"aws:SourceArn": "arn:aws:events:*:*:*"}}, {"aws:SourceArn": rule})


@pytest.mark.parametrize("written", ["false", "False", False])
def test_bool_compares_true_and_false_as_written_or_as_json(written: Any) -> None:
    assert holds({"Bool": {"aws:SecureTransport": written}}, {"aws:SecureTransport": "false"})
    assert not holds({"Bool": {"aws:SecureTransport": written}}, {"aws:SecureTransport": "true"})


@pytest.mark.parametrize(
    ("operator", "limit", "expected"),
    [
        ("NumericEquals", "10", True),
        ("NumericEquals", 10, True),
        ("NumericNotEquals", "10", False),
        ("NumericLessThan", "10", False),
        ("NumericLessThanEquals", "10", True),
        ("NumericGreaterThan", "9.5", True),
        ("NumericGreaterThanEquals", "11", False),
        ("NumericEquals", "ten", False),
    ],
)
def test_numeric_operators(operator: str, limit: Any, expected: bool) -> None:
    assert holds({operator: {"s3:max-keys": limit}}, {"s3:max-keys": "10"}) is expected


def test_null_tests_whether_the_key_is_absent() -> None:
    assert holds({"Null": {"aws:TokenIssueTime": "true"}})
    assert not holds({"Null": {"aws:TokenIssueTime": "true"}}, {"aws:TokenIssueTime": "2020-01-01T00:00:00Z"})
    assert holds({"Null": {"aws:TokenIssueTime": "false"}}, {"aws:TokenIssueTime": "2020-01-01T00:00:00Z"})
    assert not holds({"Null": {"aws:TokenIssueTime": False}})


def test_a_missing_key_fails_a_condition_negated_ones_and_if_exists_excepted() -> None:
    assert not holds({"StringEquals": {"aws:SourceAccount": ACCOUNT}})
    assert not holds({"ArnLike": {"aws:SourceArn": "arn:*:*:*:*:*"}})
    assert holds({"StringNotEquals": {"aws:SourceAccount": ACCOUNT}})
    assert holds({"ArnNotLike": {"aws:SourceArn": "arn:*:*:*:*:*"}})
    assert holds({"StringEqualsIfExists": {"aws:SourceAccount": ACCOUNT}})
    assert not holds(
        {"StringEqualsIfExists": {"aws:SourceAccount": ACCOUNT}}, {"aws:SourceAccount": OTHER_ACCOUNT}
    )
    assert holds(
        {"StringNotEqualsIfExists": {"aws:SourceAccount": ACCOUNT}}, {"aws:SourceAccount": OTHER_ACCOUNT}
    )


def test_condition_key_names_are_case_insensitive_values_are_not() -> None:
    assert holds({"StringEquals": {"AWS:SOURCEACCOUNT": ACCOUNT}}, {"aws:sourceaccount": ACCOUNT})
    assert not holds({"StringEquals": {"aws:PrincipalTag/team": "Data"}}, {"aws:principaltag/team": "data"})


def test_operators_and_keys_are_anded_values_ored_and_negated_values_nored() -> None:
    both = {
        "StringEquals": {"aws:SourceAccount": ACCOUNT},
        "ArnLike": {"aws:SourceArn": "arn:aws:events:*:*:*"},
    }
    rule = f"arn:aws:events:us-east-1:{ACCOUNT}:rule/x"
    assert holds(both, {"aws:SourceAccount": ACCOUNT, "aws:SourceArn": rule})
    assert not holds(both, {"aws:SourceAccount": OTHER_ACCOUNT, "aws:SourceArn": rule})
    two_keys = {"StringEquals": {"aws:SourceAccount": ACCOUNT, "aws:PrincipalType": "Service"}}
    assert not holds(two_keys, {"aws:SourceAccount": ACCOUNT, "aws:PrincipalType": "AssumedRole"})
    assert holds(two_keys, {"aws:SourceAccount": ACCOUNT, "aws:PrincipalType": "Service"})
    either = {"StringEquals": {"aws:SourceAccount": [OTHER_ACCOUNT, ACCOUNT]}}
    assert holds(either, {"aws:SourceAccount": ACCOUNT})
    neither = {"StringNotEquals": {"aws:SourceAccount": [OTHER_ACCOUNT, ACCOUNT]}}
    assert not holds(neither, {"aws:SourceAccount": ACCOUNT})
    assert holds(neither, {"aws:SourceAccount": "111122223333"})


def test_for_all_values_and_for_any_value_over_a_multivalued_key() -> None:
    allowed = ["PostDateTime", "Message", "Tags"]
    assert holds(
        {"ForAllValues:StringLike": {"dynamodb:Attributes": allowed}},
        {"dynamodb:Attributes": ["Message", "Tags"]},
    )
    assert not holds(
        {"ForAllValues:StringLike": {"dynamodb:Attributes": allowed}},
        {"dynamodb:Attributes": ["Message", "ID"]},
    )
    assert holds({"ForAllValues:StringLike": {"dynamodb:Attributes": allowed}})  # missing key: true
    forbidden = ["ID", "PostDateTime"]
    assert holds(
        {"ForAnyValue:StringEquals": {"dynamodb:Attributes": forbidden}},
        {"dynamodb:Attributes": ["Message", "ID"]},
    )
    assert not holds(
        {"ForAnyValue:StringEquals": {"dynamodb:Attributes": forbidden}}, {"dynamodb:Attributes": ["Message"]}
    )
    assert not holds({"ForAnyValue:StringEquals": {"dynamodb:Attributes": forbidden}})  # missing key: false
    assert not holds({"ForAnyValue:StringNotEquals": {"dynamodb:Attributes": forbidden}})
    assert holds({"ForAnyValue:StringEqualsIfExists": {"dynamodb:Attributes": forbidden}})
    none_forbidden = {"ForAllValues:StringNotEquals": {"dynamodb:Attributes": forbidden}}
    assert holds(none_forbidden, {"dynamodb:Attributes": ["Message", "Tags"]})
    assert not holds(none_forbidden, {"dynamodb:Attributes": ["Message", "ID"]})


def test_an_unknown_operator_is_refused_at_evaluation_too() -> None:
    with pytest.raises(PolicyError, match="StringSortOf"):
        holds({"StringSortOf": {"aws:SourceAccount": ACCOUNT}}, {"aws:SourceAccount": ACCOUNT})


# --- the whole evaluation ------------------------------------------------------------------

PUT_ITEM = allow("dynamodb:PutItem", TABLE)


def resource_allow(who: Any, **more: Any) -> dict[str, Any]:
    return doc(allow("dynamodb:PutItem", TABLE, Principal=who, **more))


def test_within_one_account_either_policy_allows() -> None:
    assert authorize(request(), identity=[doc(PUT_ITEM)]) == Verdict(ALLOW)
    assert authorize(request(), resource=[resource_allow({"AWS": ROLE})]) == Verdict(ALLOW)
    assert authorize(
        request(), identity=[doc(allow("s3:*"))], resource=[resource_allow({"AWS": "*"})]
    ).allowed
    assert authorize(request()) == Verdict(IMPLICIT_DENY)
    assert not authorize(request()).allowed


def test_an_explicit_deny_in_either_refuses_and_says_where() -> None:
    verdict = authorize(
        request(), identity=[doc(PUT_ITEM, deny("dynamodb:*"))], resource=[resource_allow("*")]
    )
    assert verdict == Verdict(EXPLICIT_DENY, "identity-based policy")
    refused = doc(deny("dynamodb:PutItem", TABLE, Principal="*"))
    assert authorize(request(), identity=[doc(PUT_ITEM)], resource=[refused]) == Verdict(
        EXPLICIT_DENY, "resource-based policy"
    )


def test_an_account_principal_in_the_resource_policy_grants_nothing_by_itself() -> None:
    root = {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}
    assert authorize(request(), resource=[resource_allow(root)], resource_account=ACCOUNT) == Verdict(
        IMPLICIT_DENY
    )
    assert authorize(request(), identity=[doc(PUT_ITEM)], resource=[resource_allow(root)]).allowed


def test_across_accounts_both_policies_must_allow() -> None:
    foreign = request(principal=FOREIGN_ROLE)
    theirs = resource_allow({"AWS": FOREIGN_ROLE.arn})
    assert not authorize(foreign, identity=[doc(PUT_ITEM)], resource_account=ACCOUNT).allowed
    assert not authorize(foreign, resource=[theirs], resource_account=ACCOUNT).allowed
    assert authorize(foreign, identity=[doc(PUT_ITEM)], resource=[theirs], resource_account=ACCOUNT).allowed
    their_account = resource_allow({"AWS": OTHER_ACCOUNT})  # delegation to the other account
    assert authorize(
        foreign, identity=[doc(PUT_ITEM)], resource=[their_account], resource_account=ACCOUNT
    ).allowed
    assert not authorize(foreign, resource=[their_account], resource_account=ACCOUNT).allowed
    # Unknown accounts: evaluated as within one account.
    assert authorize(foreign, identity=[doc(PUT_ITEM)]).allowed


KEY = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def test_a_key_policy_must_allow_directly_or_by_enabling_identity_policies() -> None:
    decrypt = request("kms:Decrypt", KEY)
    use_key = doc(allow("kms:Decrypt", KEY))
    enable_iam = doc(allow("kms:*", "*", Principal={"AWS": f"arn:aws:iam::{ACCOUNT}:root"}))
    names_role = doc(allow("kms:Decrypt", "*", Principal={"AWS": ROLE}))
    assert not authorize(decrypt, identity=[use_key], key_policy=True).allowed
    assert authorize(decrypt, identity=[use_key], resource=[enable_iam], key_policy=True).allowed
    assert not authorize(decrypt, resource=[enable_iam], key_policy=True).allowed
    assert authorize(decrypt, resource=[names_role], key_policy=True).allowed
    assert not authorize(
        request("kms:Encrypt", KEY), identity=[use_key], resource=[enable_iam], key_policy=True
    ).allowed


def test_a_service_principal_is_allowed_by_the_resource_policy_alone() -> None:
    send = request("sqs:SendMessage", QUEUE, principal=EVENTS)
    assert not authorize(send, identity=[doc(allow())], resource_account=ACCOUNT).allowed
    queue_policy = doc(allow("sqs:SendMessage", QUEUE, Principal={"Service": "events.amazonaws.com"}))
    assert authorize(send, resource=[queue_policy], resource_account=ACCOUNT).allowed


# --- reading documents ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"Version": "2012-10-17"}, "Statement"),
        (doc({"Effect": "Permit", "Action": "*", "Resource": "*"}), "statement 1: unknown Effect 'Permit'"),
        (
            doc(allow(), {"Sid": "Both", **allow(NotAction="s3:*")}),
            "statement Both: both Action and NotAction",
        ),
        (doc({"Effect": "Allow", "Resource": "*"}), "statement 1: no Action or NotAction"),
        (doc(allow(NotResource=QUEUE)), "both Resource and NotResource"),
        (doc(allow(Principal="*", NotPrincipal="*")), "both Principal and NotPrincipal"),
        (doc(allow(Condition={"StringSortOf": {"k": "v"}})), "unknown condition operator StringSortOf"),
        (doc(allow(Condition={"NullIfExists": {"k": "true"}})), "unknown condition operator NullIfExists"),
        (
            doc(allow(Condition={"DateLessThan": {"aws:CurrentTime": "2030-01-01"}})),
            "unsupported condition operator DateLessThan",
        ),
        (
            doc(allow(Condition={"ForAnyValue:IpAddressIfExists": {"aws:SourceIp": "10.0.0.0/8"}})),
            "unsupported condition operator ForAnyValue:IpAddressIfExists",
        ),
        (
            doc(allow("s3:*", f"{BUCKET}/home/${{aws:username}}/*")),
            "policy variable ${aws:username} is not supported",
        ),
        (
            doc(allow(Condition={"StringLike": {"s3:prefix": ["", "home/${aws:username}/"]}})),
            "policy variable ${aws:username}",
        ),
    ],
)
def test_check_document_refuses_malformed_and_unsupported_documents_in_one_line(
    document: Any, message: str
) -> None:
    with pytest.raises(PolicyError) as raised:
        check_document(document)
    assert message in str(raised.value)
    assert "\n" not in str(raised.value)


def test_check_document_accepts_every_supported_shape() -> None:
    check_document(
        doc(
            allow(Condition={"ForAllValues:StringLikeIfExists": {"k": ["a*"]}, "Null": {"j": "false"}}),
            {"Effect": "Deny", "NotPrincipal": {"AWS": ROLE}, "NotAction": "s3:Get*", "NotResource": BUCKET},
            allow(
                Condition={
                    "NumericLessThanEquals": {"s3:max-keys": "10"},
                    "Bool": {"aws:SecureTransport": True},
                }
            ),
        )
    )
    check_document({"Statement": allow()})


def test_condition_keys_lists_every_key_as_written() -> None:
    document = doc(
        allow(Condition={"StringEquals": {"aws:SourceAccount": ACCOUNT}, "ArnLike": {"aws:SourceArn": "*"}}),
        deny(Condition={"Bool": {"AWS:SecureTransport": "false"}, "StringLike": {"aws:SourceArn": "x"}}),
        allow(),
    )
    assert condition_keys(document) == {"aws:SourceAccount", "aws:SourceArn", "AWS:SecureTransport"}
    assert condition_keys({"Statement": allow(Condition={"Null": {"s3:x-amz-acl": "true"}})}) == {
        "s3:x-amz-acl"
    }
    assert condition_keys(doc(allow())) == set()


# --- wildcards -----------------------------------------------------------------------------

PLAIN = st.text(alphabet="ab:/-*?", max_size=12)  # fnmatch's only other specials are [ and ]


@given(PLAIN, st.text(alphabet="ab:/-*?", max_size=12))
def test_wildcards_agree_with_fnmatch_without_character_classes(pattern: str, value: str) -> None:
    assert wildcard_match(pattern, value) == fnmatch.fnmatchcase(value, pattern)


@given(st.text(), st.text())
def test_without_star_or_question_mark_a_pattern_matches_only_itself(pattern: str, value: str) -> None:
    pattern, value = pattern.replace("*", "").replace("?", ""), value.replace("*", "").replace("?", "")
    assert wildcard_match(pattern, value) == (pattern == value)
    assert wildcard_match(pattern, pattern)


def test_brackets_are_not_special_in_iam_wildcards() -> None:
    assert wildcard_match("table/[ab]", "table/[ab]")
    assert not wildcard_match("table/[ab]", "table/a")
    assert not wildcard_match("table/[!a]*", "table/b")


@given(st.text(min_size=1), st.data())
def test_a_value_matches_itself_with_any_part_replaced_by_wildcards(value: str, data: st.DataObject) -> None:
    start = data.draw(st.integers(0, len(value)))
    end = data.draw(st.integers(start, len(value)))
    one = data.draw(st.integers(0, len(value) - 1))
    assert wildcard_match(value[:start] + "*" + value[end:], value)
    assert wildcard_match(value[:one] + "?" + value[one + 1 :], value)
    ascii_value = value.encode("ascii", "replace").decode()
    assert wildcard_match(ascii_value.upper(), ascii_value.lower(), ignore_case=True)
