"""SigV4 from ``aws_api.signing`` against botocore's signer, header for header."""

from __future__ import annotations

import json
import string
from datetime import UTC, datetime

import botocore.auth
from hypothesis import given, settings
from hypothesis import strategies as st

from s3flow.functions.shared.aws_api.services import DYNAMODB, endpoint_for
from s3flow.functions.shared.aws_api.signing import Credentials, signed_headers
from support.signing import ACCESS_KEY, SECRET_KEY, sign_with_botocore

# Headers botocore signs differently (it owns them) or never signs: the client never passes these.
RESERVED = {
    "host",
    "authorization",
    "date",
    "x-amz-date",
    "x-amz-security-token",
    "x-amz-content-sha256",
    *botocore.auth.SIGNED_HEADERS_BLACKLIST,
}

label = st.from_regex(r"\A[a-zA-Z0-9]([a-zA-Z0-9-]{0,12}[a-zA-Z0-9])?\Z")
hostnames = st.one_of(
    st.lists(label, min_size=1, max_size=4).map(".".join),
    st.ip_addresses(v=4).map(str),
    st.just("[::1]"),
    st.ip_addresses(v=6).map(lambda address: f"[{address}]"),
)
ports = st.one_of(st.none(), st.sampled_from([80, 443]), st.integers(1, 65535))
paths = st.one_of(
    st.just(""),
    st.lists(st.from_regex(r"\A[a-z0-9_~-]{1,8}\Z"), max_size=3).map(lambda parts: "/" + "/".join(parts)),
)
header_values = st.text(alphabet=string.ascii_letters + string.digits + "  \t-_.:/=;,+", max_size=30)
header_names = st.from_regex(r"\A[A-Za-z][A-Za-z0-9-]{0,20}\Z").filter(
    lambda name: name.lower() not in {*RESERVED, "content-type", "x-amz-target"}
)
extra_headers = st.lists(
    st.tuples(header_names, header_values), max_size=4, unique_by=lambda h: h[0].lower()
).map(dict)
json_bodies = st.dictionaries(st.text(max_size=8), st.text(max_size=20), max_size=4).map(
    lambda document: json.dumps(document, ensure_ascii=False).encode()
)
bodies = st.one_of(st.just(b""), st.binary(max_size=200), json_bodies)
secrets = st.text(st.characters(codec="utf-8"), min_size=1, max_size=40)
tokens = st.one_of(st.none(), st.text(alphabet=string.ascii_letters + string.digits + "/+= ", max_size=60))
regions = st.from_regex(r"\A[a-z]{2,4}(-[a-z]{2,9}){1,2}-[1-9]\Z")
signing_names = st.one_of(
    st.sampled_from(["dynamodb", "events", "sqs"]), st.from_regex(r"\A[a-z0-9-]{1,12}\Z")
)
times = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31))  # noqa: DTZ001


@settings(max_examples=300, deadline=None)
@given(
    access_key=st.from_regex(r"\A[A-Z0-9]{16,20}\Z"),
    secret_key=secrets,
    session_token=tokens,
    region=regions,
    signing_name=signing_names,
    scheme=st.sampled_from(["http", "https"]),
    hostname=hostnames,
    port=ports,
    path=paths,
    target=st.from_regex(r"\A[A-Za-z0-9_]{1,20}\.[A-Za-z]{1,20}\Z"),
    content_type=header_values,
    headers=extra_headers,
    body=bodies,
    now=times,
)
def test_signed_headers_are_botocores(
    access_key: str,
    secret_key: str,
    session_token: str | None,
    region: str,
    signing_name: str,
    scheme: str,
    hostname: str,
    port: int | None,
    path: str,
    target: str,
    content_type: str,
    headers: dict[str, str],
    body: bytes,
    now: datetime,
) -> None:
    url = f"{scheme}://{hostname}{'' if port is None else f':{port}'}{path}"
    endpoint = endpoint_for(DYNAMODB, region, {"AWS_ENDPOINT_URL": url})
    given_headers = {"Content-Type": content_type, "X-Amz-Target": target, **headers}

    ours = signed_headers(
        credentials=Credentials(access_key, secret_key, session_token),
        region=region,
        signing_name=signing_name,
        host=endpoint.host,
        path=endpoint.path,
        headers=given_headers,
        body=body,
        now=now.replace(tzinfo=UTC),
    )
    theirs = sign_with_botocore(
        url=url,
        headers=given_headers,
        body=body,
        now=now,
        access_key=access_key,
        secret_key=secret_key,
        session_token=session_token,
        region=region,
        signing_name=signing_name,
    )

    assert ours.pop("Host") == botocore.auth._host_from_url(url)
    assert ours == theirs


def test_awss_published_post_vanilla_vector() -> None:
    """AWS's SigV4 test suite, "post-vanilla": a bare POST / to example.amazonaws.com."""
    now = datetime(2015, 8, 30, 12, 36, tzinfo=UTC)

    headers = signed_headers(
        credentials=Credentials(ACCESS_KEY, SECRET_KEY),
        region="us-east-1",
        signing_name="service",
        host="example.amazonaws.com",
        path="/",
        headers={},
        body=b"",
        now=now,
    )

    assert headers == {
        "Host": "example.amazonaws.com",
        "X-Amz-Date": "20150830T123600Z",
        "Authorization": "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
        "SignedHeaders=host;x-amz-date, "
        "Signature=5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b",
    }


def test_a_dynamodb_put_item_with_a_session_token_signs_like_botocore() -> None:
    body = json.dumps(
        {"TableName": "records", "Item": {"name": {"S": "façade ✓"}}}, ensure_ascii=False
    ).encode()
    headers = {"Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": "DynamoDB_20120810.PutItem"}
    now = datetime(2024, 2, 29, 23, 59, 59)  # noqa: DTZ001

    ours = signed_headers(
        credentials=Credentials(ACCESS_KEY, SECRET_KEY, "IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJH"),
        region="us-east-1",
        signing_name="dynamodb",
        host="dynamodb.us-east-1.amazonaws.com",
        path="/",
        headers=headers,
        body=body,
        now=now.replace(tzinfo=UTC),
    )
    theirs = sign_with_botocore(
        url="https://dynamodb.us-east-1.amazonaws.com",
        headers=headers,
        body=body,
        now=now,
        access_key=ACCESS_KEY,
        secret_key=SECRET_KEY,
        session_token="IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJH",
        region="us-east-1",
        signing_name="dynamodb",
    )

    assert ours.pop("Host") == "dynamodb.us-east-1.amazonaws.com"
    assert ours == theirs
    assert (
        "SignedHeaders=content-type;host;x-amz-date;x-amz-security-token;x-amz-target,"
        in ours["Authorization"]
    )
    assert ours["X-Amz-Date"] == "20240229T235959Z"
