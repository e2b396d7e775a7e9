"""``JsonApiClient`` against a scripted server: kept-alive connections, reconnects, threads,
and TLS (the trust store, loaded once; certificates refused)."""

from __future__ import annotations

import json
import ssl
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from s3flow.functions.shared.aws_api import client as client_module
from s3flow.functions.shared.aws_api.client import TRANSPORT_ERROR
from s3flow.functions.shared.aws_api.errors import ApiCallError
from s3flow.functions.shared.aws_api.services import DYNAMODB, EVENTBRIDGE, SQS
from s3flow.functions.shared.backoff import Backoff
from s3flow.local.tls import LocalCertificates, make_local_ca

from .support import Reply, ScriptedServer


def test_calls_share_one_kept_alive_connection(server: ScriptedServer, clients, pauses) -> None:
    client = clients(DYNAMODB, server.url)

    for n in range(4):
        client.call("PutItem", {"n": n})

    assert server.connections == [1, 1, 1, 1]
    assert pauses == []


def test_a_connection_the_server_closes_is_replaced(server: ScriptedServer, clients) -> None:
    # The first reply says Connection: close; after the second the server just hangs up, as an
    # idle keep-alive connection is closed, so the third call finds it dead and goes again.
    server.then(Reply(close="announced"), Reply(close="silently"))
    client = clients(DYNAMODB, server.url)

    results = [client.call("PutItem", {"n": n}) for n in range(4)]

    assert results == [{}, {}, {}, {}]
    assert [json.loads(request.body)["n"] for request in server.received] == [0, 1, 2, 3]
    assert server.connections == [1, 2, 3, 3]


def test_an_idle_connection_the_server_closed_costs_no_attempt(
    server: ScriptedServer, clients, observed, pauses
) -> None:
    server.then(Reply(close="silently"))
    client = clients(EVENTBRIDGE, server.url)
    client.call("PutEvents", {"n": 0})

    assert client.call("PutEvents", {"n": 1}) == {}

    assert [attempts for _, _, attempts, _ in observed.calls] == [1, 1]
    assert pauses == []
    assert [json.loads(request.body)["n"] for request in server.received] == [0, 1]


def test_a_success_whose_body_is_not_json_is_an_error_not_a_result(
    server: ScriptedServer, clients, observed
) -> None:
    server.then(Reply(body=b"<html>proxy</html>"))
    client = clients(DYNAMODB, server.url)

    with pytest.raises(ApiCallError) as raised:
        client.call("PutItem", {})

    assert (raised.value.code, raised.value.status, raised.value.retryable) == ("InvalidResponse", 200, False)
    assert len(server.received) == 1


def test_close_drops_the_connection(server: ScriptedServer, clients, observed) -> None:
    client = clients(DYNAMODB, server.url)
    client.call("PutItem", {})

    client.close()
    client.call("PutItem", {})

    assert server.connections == [1, 2]
    assert [attempts for _, _, attempts, _ in observed.calls] == [1, 1]


def test_threads_sharing_a_client_each_get_their_own_answer(server: ScriptedServer, clients) -> None:
    server.default = lambda request: Reply(200, request.body)
    client = clients(EVENTBRIDGE, server.url)
    answers: dict[int, list[dict[str, Any]]] = {}

    def work(thread: int) -> None:
        answers[thread] = [client.call("PutEvents", {"thread": thread, "n": n}) for n in range(5)]

    threads = [threading.Thread(target=work, args=(thread,)) for thread in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert answers == {thread: [{"thread": thread, "n": n} for n in range(5)] for thread in range(8)}
    assert set(server.connections) == {1}


@pytest.fixture
def ca_bundle_loads(monkeypatch: pytest.MonkeyPatch) -> list[ssl.SSLContext]:
    """Each TLS context that loaded the default trust store, starting from a new process's state."""
    monkeypatch.setattr(client_module, "_shared_tls_context", None, raising=False)
    loads: list[ssl.SSLContext] = []
    load_default_certs = ssl.SSLContext.load_default_certs

    def counting(context: ssl.SSLContext, *args: Any, **kwargs: Any) -> None:
        loads.append(context)
        load_default_certs(context, *args, **kwargs)

    monkeypatch.setattr(ssl.SSLContext, "load_default_certs", counting)
    return loads


@pytest.fixture
def trusted(tmp_path, monkeypatch: pytest.MonkeyPatch) -> LocalCertificates:
    """A CA the default trust store holds because SSL_CERT_FILE names it, as OpenSSL reads it."""
    authority = make_local_ca(tmp_path / "trusted", hosts=["127.0.0.1"])
    monkeypatch.setenv("SSL_CERT_FILE", str(authority.ca_file))
    return authority


@pytest.fixture
def https_server(trusted: LocalCertificates) -> Iterator[ScriptedServer]:
    scripted = ScriptedServer(tls=trusted.server_context())
    yield scripted
    scripted.stop()


def test_connections_and_reconnects_load_the_ca_bundle_once(
    https_server: ScriptedServer, clients, ca_bundle_loads
) -> None:
    # Connection: close, then a silent hang-up, then close(): four connections, two clients.
    https_server.then(Reply(close="announced"), Reply(close="silently"))
    dynamodb, sqs = clients(DYNAMODB, https_server.url), clients(SQS, https_server.url)

    results = [dynamodb.call("PutItem", {"n": n}) for n in range(4)]
    dynamodb.close()
    results += [dynamodb.call("PutItem", {"n": 4}), sqs.call("SendMessageBatch", {"n": 5})]

    assert results == [{}] * 6
    assert len(set(https_server.connections)) == 5
    assert len(ca_bundle_loads) == 1


def test_clients_built_and_used_over_http_load_no_ca_bundle(
    server: ScriptedServer, clients, ca_bundle_loads
) -> None:
    for service in (DYNAMODB, EVENTBRIDGE, SQS):
        clients(service, server.url).call("Operation", {})

    assert ca_bundle_loads == []


@pytest.mark.parametrize(
    ("server_ca", "host", "refusal"),
    [
        ("stranger", "127.0.0.1", "unable to get local issuer certificate"),
        ("trusted", "localhost", "Hostname mismatch"),
    ],
)
def test_a_certificate_the_trust_store_or_the_host_does_not_match_is_refused(
    tmp_path, trusted: LocalCertificates, clients, ca_bundle_loads, server_ca: str, host: str, refusal: str
) -> None:
    authority = (
        trusted if server_ca == "trusted" else make_local_ca(tmp_path / server_ca, hosts=["127.0.0.1"])
    )
    scripted = ScriptedServer(tls=authority.server_context())
    try:
        url = scripted.url.replace("127.0.0.1", host)
        with pytest.raises(ApiCallError) as raised:
            clients(SQS, url, backoff=Backoff(attempts=1)).call("SendMessageBatch", {})
    finally:
        scripted.stop()

    assert (raised.value.code, raised.value.status) == (TRANSPORT_ERROR, None)
    assert "CERTIFICATE_VERIFY_FAILED" in raised.value.message and refusal in raised.value.message
    assert scripted.received == []
