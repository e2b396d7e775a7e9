"""Endpoints and regions as ``aws_api.services`` finds them, held to botocore's answers."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit

import botocore.auth
import botocore.loaders
import botocore.session
import pytest

from s3flow.functions.shared.aws_api import JsonApiClient
from s3flow.functions.shared.aws_api.services import (
    DYNAMODB,
    EVENTBRIDGE,
    SQS,
    ConfigurationError,
    Endpoint,
    Service,
    endpoint_for,
    region_from,
)

SERVICES = [DYNAMODB, EVENTBRIDGE, SQS]
BOTOCORE_NAMES = {DYNAMODB: "dynamodb", EVENTBRIDGE: "events", SQS: "sqs"}
ENDPOINT_VARIABLES = {
    DYNAMODB: "AWS_ENDPOINT_URL_DYNAMODB",
    EVENTBRIDGE: "AWS_ENDPOINT_URL_EVENTBRIDGE",
    SQS: "AWS_ENDPOINT_URL_SQS",
}
# Every region botocore's partition data names (not the "aws-global"-style pseudo-regions).
BOTOCORE_REGIONS = sorted(
    region
    for partition in botocore.loaders.Loader().load_data("partitions")["partitions"]
    for region in partition["regions"]
    if not region.endswith("-global")
)


@pytest.fixture(scope="module")
def botocore_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[botocore.session.Session]:
    """A botocore session that sees no endpoint setting but the variables a test sets."""
    missing = tmp_path_factory.mktemp("aws") / "missing"
    with pytest.MonkeyPatch.context() as patch:
        for name in ("AWS_ENDPOINT_URL", *ENDPOINT_VARIABLES.values(), "AWS_PROFILE", "AWS_DEFAULT_PROFILE"):
            patch.delenv(name, raising=False)
        for name in (
            "AWS_USE_FIPS_ENDPOINT",
            "AWS_USE_DUALSTACK_ENDPOINT",
            "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
        ):
            patch.delenv(name, raising=False)
        patch.setenv("AWS_CONFIG_FILE", str(missing))
        patch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(missing))
        yield botocore.session.get_session()


def botocore_endpoint_url(session: botocore.session.Session, service: Service, region: str) -> str:
    client = session.create_client(
        BOTOCORE_NAMES[service], region_name=region, aws_access_key_id="a", aws_secret_access_key="b"
    )
    return client.meta.endpoint_url


def test_the_endpoint_variables_are_botocores_names() -> None:
    assert {
        service: f"AWS_ENDPOINT_URL_{service.endpoint_variable}" for service in SERVICES
    } == ENDPOINT_VARIABLES


@pytest.mark.parametrize("region", BOTOCORE_REGIONS)
def test_default_endpoints_are_botocores(botocore_session: botocore.session.Session, region: str) -> None:
    for service in SERVICES:
        endpoint = endpoint_for(service, region, {})

        assert f"{endpoint.scheme}://{endpoint.host}" == botocore_endpoint_url(
            botocore_session, service, region
        )
        assert endpoint.path == "/"


@pytest.mark.parametrize(
    ("region", "host"),
    [
        ("us-east-1", "dynamodb.us-east-1.amazonaws.com"),
        ("eu-central-2", "dynamodb.eu-central-2.amazonaws.com"),
        ("us-gov-west-1", "dynamodb.us-gov-west-1.amazonaws.com"),
        ("cn-north-1", "dynamodb.cn-north-1.amazonaws.com.cn"),
        ("us-iso-east-1", "dynamodb.us-iso-east-1.c2s.ic.gov"),
        ("us-isob-east-1", "dynamodb.us-isob-east-1.sc2s.sgov.gov"),
        ("us-isof-south-1", "dynamodb.us-isof-south-1.csp.hci.ic.gov"),
        ("eu-isoe-west-1", "dynamodb.eu-isoe-west-1.cloud.adc-e.uk"),
        ("eusc-de-east-1", "dynamodb.eusc-de-east-1.amazonaws.eu"),
    ],
)
def test_default_hosts_per_partition(region: str, host: str) -> None:
    assert endpoint_for(DYNAMODB, region, {}) == Endpoint("https", host, "/")


@pytest.mark.parametrize("service", SERVICES, ids=lambda service: service.signing_name)
@pytest.mark.parametrize("specific", [True, False], ids=["service-variable", "no-service-variable"])
@pytest.mark.parametrize("general", [True, False], ids=["AWS_ENDPOINT_URL", "no-AWS_ENDPOINT_URL"])
def test_endpoint_precedence_is_botocores(
    botocore_session: botocore.session.Session,
    monkeypatch: pytest.MonkeyPatch,
    service: Service,
    specific: bool,
    general: bool,
) -> None:
    environ = {}
    if specific:
        environ[ENDPOINT_VARIABLES[service]] = "http://service-specific.test:4001"
    if general:
        environ["AWS_ENDPOINT_URL"] = "http://everything.test:4000"
    for other in SERVICES:  # another service's variable never applies
        if other is not service:
            environ[ENDPOINT_VARIABLES[other]] = f"http://{other.signing_name}-only.test:4002"
    for name, value in environ.items():
        monkeypatch.setenv(name, value)

    endpoint = endpoint_for(service, "eu-west-1", environ)

    expected = urlsplit(botocore_endpoint_url(botocore_session, service, "eu-west-1"))
    assert (endpoint.scheme, endpoint.host) == (expected.scheme, expected.netloc)
    if specific:
        assert endpoint.host == "service-specific.test:4001"
    elif general:
        assert endpoint.host == "everything.test:4000"
    else:
        assert endpoint.host == f"{service.signing_name}.eu-west-1.amazonaws.com"


def test_an_empty_service_variable_falls_back_to_the_general_one() -> None:
    environ = {"AWS_ENDPOINT_URL_DYNAMODB": "", "AWS_ENDPOINT_URL": "http://localhost:4566"}

    assert endpoint_for(DYNAMODB, "us-east-1", environ) == Endpoint("http", "localhost:4566", "/")


@pytest.mark.parametrize(
    ("url", "endpoint"),
    [
        ("http://localhost:80", Endpoint("http", "localhost", "/")),
        ("https://localhost:443/", Endpoint("https", "localhost", "/")),
        ("http://localhost:443", Endpoint("http", "localhost:443", "/")),
        ("https://localhost:80", Endpoint("https", "localhost:80", "/")),
        ("http://LocalStack.Internal:4566", Endpoint("http", "localstack.internal:4566", "/")),
        ("http://127.0.0.1:5000/moto/", Endpoint("http", "127.0.0.1:5000", "/moto/")),
        ("https://vpce-1a2b.dynamodb.us-east-1.vpce.amazonaws.com", Endpoint(
            "https", "vpce-1a2b.dynamodb.us-east-1.vpce.amazonaws.com", "/"
        )),
        ("http://[::1]:8000", Endpoint("http", "[::1]:8000", "/")),
        ("https://[2001:db8::1]:443", Endpoint("https", "[2001:db8::1]", "/")),
    ],
)  # fmt: skip
def test_endpoint_urls_become_the_host_botocore_signs(url: str, endpoint: Endpoint) -> None:
    assert endpoint_for(SQS, "us-east-1", {"AWS_ENDPOINT_URL_SQS": url}) == endpoint
    assert endpoint.host == botocore.auth._host_from_url(url)


@pytest.mark.parametrize(
    "url",
    [
        "localhost:4566",
        "ftp://localhost:4566",
        "http://",
        "http://:4566",
        "http://localhost:port",
        "http://localhost:99999",
        "http://[::1",
        "not a url",
    ],
)
def test_a_bad_endpoint_url_is_a_configuration_error_naming_it(url: str) -> None:
    with pytest.raises(ConfigurationError) as raised:
        endpoint_for(EVENTBRIDGE, "us-east-1", {"AWS_ENDPOINT_URL_EVENTBRIDGE": url})

    assert repr(url) in str(raised.value)
    assert "AWS_ENDPOINT_URL_EVENTBRIDGE" in str(raised.value)


def test_a_bad_general_endpoint_url_is_named_by_its_variable() -> None:
    with pytest.raises(ConfigurationError, match=r"AWS_ENDPOINT_URL='ftp://x'"):
        endpoint_for(EVENTBRIDGE, "us-east-1", {"AWS_ENDPOINT_URL": "ftp://x"})


def test_the_region_is_aws_region_else_aws_default_region() -> None:
    assert region_from({"AWS_REGION": "eu-west-1", "AWS_DEFAULT_REGION": "us-east-1"}) == "eu-west-1"
    assert region_from({"AWS_DEFAULT_REGION": "us-east-1"}) == "us-east-1"
    assert region_from({"AWS_REGION": "", "AWS_DEFAULT_REGION": "us-east-1"}) == "us-east-1"


@pytest.mark.parametrize(
    "environ", [{}, {"AWS_REGION": ""}, {"AWS_ACCESS_KEY_ID": "a", "AWS_SECRET_ACCESS_KEY": "b"}]
)
def test_no_region_is_a_configuration_error(environ: dict[str, str]) -> None:
    with pytest.raises(ConfigurationError, match="no AWS region"):
        region_from(environ)
    with pytest.raises(ConfigurationError, match="no AWS region"):
        JsonApiClient(DYNAMODB, environ=environ)


def test_a_client_built_from_the_environment_uses_its_region_and_endpoint() -> None:
    client = JsonApiClient(EVENTBRIDGE, environ={"AWS_DEFAULT_REGION": "cn-northwest-1"})

    assert client.region == "cn-northwest-1"
    assert client.endpoint == Endpoint("https", "events.cn-northwest-1.amazonaws.com.cn", "/")


@pytest.mark.parametrize("variable", ["AWS_USE_FIPS_ENDPOINT", "AWS_USE_DUALSTACK_ENDPOINT"])
def test_fips_or_dual_stack_without_an_explicit_endpoint_is_refused_not_ignored(variable: str) -> None:
    with pytest.raises(ConfigurationError, match=variable):
        endpoint_for(DYNAMODB, "us-gov-west-1", {variable: "true"})

    explicit = {
        variable: "true",
        "AWS_ENDPOINT_URL_DYNAMODB": "https://dynamodb-fips.us-gov-west-1.amazonaws.com",
    }
    assert (
        endpoint_for(DYNAMODB, "us-gov-west-1", explicit).host == "dynamodb-fips.us-gov-west-1.amazonaws.com"
    )
    assert (
        endpoint_for(DYNAMODB, "us-gov-west-1", {variable: "false"}).host
        == "dynamodb.us-gov-west-1.amazonaws.com"
    )
