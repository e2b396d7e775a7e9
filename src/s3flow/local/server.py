"""moto in server mode on loopback, inside this process, behind our own WSGI middleware.

Any client reaches it with ``--endpoint-url http://127.0.0.1:<port>``; given certificates
(``LocalServer(tls=make_local_ca(...))``, ``s3flow.local.tls``) it serves HTTPS only, at
``https://``, and while it serves the emulator's own clients trust its CA
(``credentials.trust_emulator_ca``). The middleware lets the local runtime answer some
requests itself (``Route``: Lambda ``Invoke``, EventBridge ``PutEvents``) and watch moto's
answers to others (``Observer``: S3 object writes).
Interceptors (``Middleware.add_interceptor``) see every request before the routes: the seam
through which tests inject faults into the emulator's answers (``s3flow.testing``).

moto keeps all state in memory, in this process: stopping the server loses it.
"""

from __future__ import annotations

import errno
import io
import logging
import socket
import ssl
import threading
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import BaseWSGIServer, make_server
from werkzeug.wrappers import Request, Response

from s3flow.local.credentials import trust_emulator_ca
from s3flow.local.errors import PortInUseError

if TYPE_CHECKING:  # the certificates come made: cryptography is loaded only to make them
    from s3flow.local.tls import LocalCertificates

log = logging.getLogger(__name__)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 4566

# Answers a request instead of moto, or returns None to let moto answer.
Route = Callable[[Request], Response | None]
# A route in front of all the others: answers a request itself, or returns None to let it
# pass, or passes it on with ``Middleware.forward(request, after=itself)`` and changes the
# answer. The request's body may be read if it is put back (``forward`` takes a new one).
Interceptor = Route
# Sees a request and moto's response after moto answered it (body not included).
Observer = Callable[[Request, "ObservedResponse"], None]


class ObservedResponse:
    """Status and headers of moto's answer."""

    def __init__(self, status: str, headers: list[tuple[str, str]]) -> None:
        self.status_code = int(status.split(" ", 1)[0])
        self.headers = {name.lower(): value for name, value in headers}


class Middleware:
    """WSGI app: interceptors first, then our routes, then moto, then our observers."""

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app
        self.interceptors: list[Interceptor] = []
        self.routes: list[Route] = []
        self.observers: list[Observer] = []

    def add_interceptor(self, interceptor: Interceptor) -> None:
        """Puts ``interceptor`` in front of every route and earlier interceptor: the latest
        added sees a request first."""
        self.interceptors.insert(0, interceptor)

    def remove_interceptor(self, interceptor: Interceptor) -> None:
        if interceptor in self.interceptors:
            self.interceptors.remove(interceptor)

    def add_route(self, route: Route) -> None:
        """Adds ``route`` after the others: it answers what no earlier route answered."""
        self.routes.append(route)

    def remove_route(self, route: Route) -> None:
        if route in self.routes:
            self.routes.remove(route)

    def forward(self, request: Request, *, after: Route | None = None, body: bytes | None = None) -> Response:
        """The answer of the interceptors and routes after ``after`` (all of them if None),
        else moto's, as a Response an interceptor can inspect or change. ``body`` replaces the
        request's body. Observers do not see forwarded requests."""
        environ = dict(request.environ)
        data = request.get_data() if body is None else body
        environ["wsgi.input"] = io.BytesIO(data)
        environ["CONTENT_LENGTH"] = str(len(data))
        forwarded = Request(environ)
        routes = [*self.interceptors, *self.routes]
        start = routes.index(after) + 1 if after is not None and after in routes else 0
        for route in routes[start:]:
            response = route(forwarded)
            if response is not None:
                return response
        seen: dict[str, Any] = {}

        def capture(
            status: str, headers: list[tuple[str, str]], exc_info: Any = None
        ) -> Callable[[bytes], None]:
            seen["status"], seen["headers"] = status, headers
            return lambda _chunk: None

        answer = self.app(environ, capture)
        try:
            payload = b"".join(answer)
        finally:
            close = getattr(answer, "close", None)
            if close is not None:
                close()
        return Response(payload, status=seen["status"], headers=seen["headers"])

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        request = Request(environ)
        for route in [*self.interceptors, *self.routes]:
            response = route(request)
            if response is not None:
                return response(environ, start_response)
        if not self.observers:
            return self.app(environ, start_response)

        seen: dict[str, Any] = {}

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            seen["response"] = ObservedResponse(status, headers)
            return start_response(status, headers, exc_info)

        answer = self.app(environ, capture)
        try:
            body = list(answer)  # moto answers in one piece; buffering is cheap
        finally:
            close = getattr(answer, "close", None)
            if close is not None:
                close()  # WSGI: the server must close the iterable (Flask tears down here)
        if "response" in seen:
            for observer in self.observers:
                try:
                    observer(request, seen["response"])
                except Exception:  # an observer must never break the client's request
                    log.exception("observer %r failed", observer)
        return body


class _QuietHandler(MotoRequestHandler):
    """moto's request handler without one access-log line per request."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


class _QuietTlsHandler(_QuietHandler):
    """The same over TLS, with Nagle's algorithm off: an answer follows the handshake's last
    records unacknowledged, so Nagle held it back until werkzeug closed the connection, which
    it does after waiting 10 ms for more request data: 10 ms more for every request (one
    connection each: werkzeug keeps none alive). Plain HTTP never waited."""

    disable_nagle_algorithm = True


class LocalServer:
    """moto's WSGI app served by werkzeug on a background thread; over HTTPS with ``tls``."""

    def __init__(
        self, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, *, tls: LocalCertificates | None = None
    ) -> None:
        self.host = host
        self.requested_port = port
        self.tls = tls
        self.middleware = Middleware(DomainDispatcherApplication(create_backend_app))
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        if self._server is None:
            return self.requested_port
        return int(self._server.server_address[1])

    @property
    def endpoint_url(self) -> str:
        return f"{'https' if self.tls is not None else 'http'}://{self.host}:{self.port}"

    def start(self) -> None:
        # Bind ourselves: werkzeug prints and calls sys.exit when the port is taken.
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            listener.bind((self.host, self.requested_port))
            listener.listen(128)
        except OSError as error:
            listener.close()
            if error.errno == errno.EADDRINUSE:
                raise PortInUseError(self.host, self.requested_port) from error
            raise
        try:
            self._server = make_server(
                self.host,
                listener.getsockname()[1],
                self.middleware,
                threaded=True,
                request_handler=_QuietTlsHandler if self.tls is not None else _QuietHandler,
                fd=listener.fileno(),
            )
        finally:
            listener.close()  # werkzeug works on its own duplicate of the descriptor
        if self.tls is not None:
            self._serve_tls(self._server, self.tls.server_context())
            trust_emulator_ca(self.endpoint_url, self.tls.ca_bundle)
        self._thread = threading.Thread(target=self._server.serve_forever, name="moto-server", daemon=True)
        self._thread.start()

    @staticmethod
    def _serve_tls(server: BaseWSGIServer, context: ssl.SSLContext) -> None:
        """What werkzeug's ``ssl_context`` does, but with each handshake in its connection's
        thread: werkzeug's wrapping handshakes in ``accept``, so one client that connects
        and says nothing (or speaks plain HTTP slowly) would hold up every other."""
        server.socket = context.wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)
        server.ssl_context = context  # werkzeug: wsgi.url_scheme is https, TLS errors are logged

    def stop(self) -> None:
        if self._server is not None:
            if self.tls is not None:
                trust_emulator_ca(self.endpoint_url, None)
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._server = None
        self._thread = None
