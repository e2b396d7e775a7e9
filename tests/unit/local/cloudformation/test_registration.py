"""The stack's registration in moto's CloudFormation, run while the pipeline serves."""

from __future__ import annotations

import threading

from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from s3flow.local.cloudformation.registration import StackRegistration


def _request(service: str, action: str = "DescribeStacks") -> Request:
    authorization = (
        "AWS4-HMAC-SHA256 Credential=testing/20261204/us-east-1/"
        f"{service}/aws4_request, SignedHeaders=host, Signature=00"
    )
    body = f"Action={action}&Version=2010-05-15"
    builder = EnvironBuilder(method="POST", headers={"Authorization": authorization}, data=body,
                             content_type="application/x-www-form-urlencoded")  # fmt: skip
    return Request(builder.get_environ())


def test_a_cloudformation_request_waits_for_the_registration_and_others_do_not():
    # GIVEN a registration that has started and is not finished
    release, registered = threading.Event(), []
    registration = StackRegistration(lambda: (release.wait(10), registered.append("stack")))
    registration.start()

    # WHEN a DynamoDB request, the registration's own and a CloudFormation read arrive
    assert registration(_request("dynamodb")) is None  # passes at once: nothing waits on it
    own = _request("cloudformation", "CreateStack")
    assert registration(own) is None  # the registration's own request is never held
    assert own.get_data() == b"Action=CreateStack&Version=2010-05-15"  # and moto still reads its body
    answered = []
    held = threading.Thread(target=lambda: answered.append(registration(_request("cloudformation"))))
    held.start()
    held.join(0.2)

    # THEN the CloudFormation request is held until the stack is registered, then goes to moto
    assert held.is_alive() and not answered
    release.set()
    held.join(10)
    assert answered == [None] and registered == ["stack"]
    assert registration.wait(0)


def test_a_failed_registration_releases_the_held_requests_and_is_logged(caplog):
    def fail() -> None:
        raise RuntimeError("moto refused the stand-in")

    registration = StackRegistration(fail)
    registration.start()

    assert registration.wait(10)
    assert registration(_request("cloudformation")) is None
    assert "registering the stack" in caplog.text


def test_a_registration_never_started_is_not_waited_for():
    assert StackRegistration(lambda: None).wait(30) is False


def test_an_abandoned_registration_releases_held_requests_and_its_failure_is_no_error(caplog):
    # GIVEN a registration still running when the pipeline stops
    release = threading.Event()

    def cut_short() -> None:
        release.wait(10)
        raise ConnectionError("the emulator stopped")

    registration = StackRegistration(cut_short)
    registration.start()

    # WHEN it is abandoned
    registration.abandon()

    # THEN a CloudFormation request passes at once, and the cut-short registration logs nothing
    assert registration(_request("cloudformation")) is None
    release.set()
    registration._thread.join(10)
    assert "registering the stack" not in caplog.text
