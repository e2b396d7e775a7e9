"""The unit tier's network guard: a socket that reaches for a host fails the test that opened it.

Unit tests are pure logic and synthesis; anything that needs a server (moto, the local
pipeline, a scripted HTTP endpoint) is a functional test. The guard covers every way a
socket reaches a host or becomes one: ``connect``/``connect_ex`` (``socket.create_connection``,
``http.client`` and botocore all end there), ``bind`` (starting a server) and ``sendto``
(a UDP datagram, as the X-Ray exporter sends). Unix sockets stay open: they never leave the
machine. CDK synthesis needs none of this: jsii talks to its node process over pipes.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

GUARDED = ("connect", "connect_ex", "bind", "sendto")


class NetworkUseInUnitTest(AssertionError):
    """A unit test opened a network socket; it belongs in tests/functional/."""


def _refusing(name: str, original: Callable[..., Any]) -> Callable[..., Any]:
    def guarded(sock: socket.socket, *args: Any, **kwargs: Any) -> Any:
        if sock.family == socket.AF_UNIX:
            return original(sock, *args, **kwargs)
        raise NetworkUseInUnitTest(f"socket.{name}{args!r} in a unit test: move it to tests/functional/")

    return guarded


def _refused_create_connection(address: Any, *args: Any, **kwargs: Any) -> socket.socket:
    raise NetworkUseInUnitTest(f"socket.create_connection({address!r}) in a unit test")


@contextmanager
def network_blocked() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        for name in GUARDED:
            patch.setattr(socket.socket, name, _refusing(name, getattr(socket.socket, name)))
        patch.setattr(socket, "create_connection", _refused_create_connection)
        yield
