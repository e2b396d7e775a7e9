"""The embedded moto server and its middleware, over real HTTP."""

from __future__ import annotations

import socket

import boto3
import pytest
from werkzeug.wrappers import Request, Response

from s3flow.local.errors import LocalError, PortInUseError
from s3flow.local.server import LocalServer, ObservedResponse


def test_any_client_reaches_moto_through_the_endpoint_url():
    server = LocalServer(port=0)
    server.start()
    try:
        s3 = boto3.client("s3", endpoint_url=server.endpoint_url, region_name="us-east-1")
        s3.create_bucket(Bucket="reachable")
        names = [bucket["Name"] for bucket in s3.list_buckets()["Buckets"]]
    finally:
        server.stop()

    assert "reachable" in names
    assert server.endpoint_url.startswith("http://127.0.0.1:")


def test_a_port_in_use_is_a_clear_error():
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen(1)
        port = holder.getsockname()[1]

        with pytest.raises(PortInUseError) as raised:
            LocalServer(port=port).start()

    assert isinstance(raised.value, LocalError)
    assert str(port) in str(raised.value)


def test_routes_answer_before_moto_and_observers_see_its_answers():
    server = LocalServer(port=0)
    seen: list[tuple[str, int]] = []

    def teapot(request: Request) -> Response | None:
        return Response("short and stout", status=418) if request.path == "/teapot" else None

    def observe(request: Request, response: ObservedResponse) -> None:
        seen.append((request.method, response.status_code))

    server.middleware.routes.append(teapot)
    server.middleware.observers.append(observe)
    server.start()
    try:
        import requests

        answered = requests.get(f"{server.endpoint_url}/teapot", timeout=10)
        boto3.client("s3", endpoint_url=server.endpoint_url, region_name="us-east-1").create_bucket(
            Bucket="seen"
        )
    finally:
        server.stop()

    assert (answered.status_code, answered.text) == (418, "short and stout")
    assert seen == [("PUT", 200)]  # the routed request never reached moto or the observers


def test_an_observer_that_fails_does_not_break_the_request():
    server = LocalServer(port=0)

    def broken(request: Request, response: ObservedResponse) -> None:
        raise RuntimeError("observer bug")

    server.middleware.observers.append(broken)
    server.start()
    try:
        s3 = boto3.client("s3", endpoint_url=server.endpoint_url, region_name="us-east-1")
        s3.create_bucket(Bucket="still-works")
        assert s3.head_bucket(Bucket="still-works")["ResponseMetadata"]["HTTPStatusCode"] == 200
    finally:
        server.stop()


def test_interceptors_see_requests_before_routes_and_can_forward_them_onward():
    # GIVEN a route, an interceptor that changes its answer, and a later one in front of both
    server = LocalServer(port=0)
    order: list[str] = []

    def teapot(request: Request) -> Response | None:
        order.append("route")
        return Response("short and stout", status=418) if request.path == "/teapot" else None

    def louder(request: Request) -> Response | None:
        order.append("louder")
        answer = server.middleware.forward(request, after=louder)
        return Response(answer.get_data(as_text=True).upper(), status=answer.status_code)

    def first(request: Request) -> Response | None:
        order.append("first")
        return None

    server.middleware.add_route(teapot)
    server.middleware.add_interceptor(louder)
    server.middleware.add_interceptor(first)
    server.start()
    try:
        import requests

        # WHEN a request comes, and again once the interceptors are removed
        intercepted = requests.get(f"{server.endpoint_url}/teapot", timeout=10)
        server.middleware.remove_interceptor(louder)
        server.middleware.remove_interceptor(first)
        plain = requests.get(f"{server.endpoint_url}/teapot", timeout=10)
    finally:
        server.stop()

    # THEN the latest interceptor saw it first, the other forwarded it to the route
    assert (intercepted.status_code, intercepted.text) == (418, "SHORT AND STOUT")
    assert (plain.status_code, plain.text) == (418, "short and stout")
    assert order == ["first", "louder", "route", "route"]
