"""The provisioned stack registered in moto's CloudFormation while the pipeline already serves.

moto loads its CloudFormation on the first request for it, and with it the model of every
service its template parser knows: about a second, the largest part of a local pipeline's
start. Nothing on an object's path needs it; what does (``describe_stacks`` for the stack's
outputs, as every ``s3flow`` command reads them) waits for it here. So the pipeline serves
first, ``StackRegistration`` registers the stack on a thread of its own, and until it is done
a CloudFormation request is held (an interceptor in front of moto), never answered without
the stack; the registration's own requests (``CreateStack``, ``UpdateStack``) pass.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from werkzeug.wrappers import Request, Response

from s3flow.local.iam.api_calls.wire import credential_scope, read_operation

log = logging.getLogger(__name__)

WAIT_SECONDS = 60
# What registering sends.
REGISTERING_ACTIONS = frozenset({"CreateStack", "UpdateStack"})


class StackRegistration:
    """Runs ``register`` on a thread; as an interceptor, holds CloudFormation requests until
    it has returned (or failed: then they get moto's answer without the stack, and the
    failure is logged)."""

    def __init__(self, register: Callable[[], None]) -> None:
        self._register = register
        self._done = threading.Event()
        self._abandoned = False
        self._thread = threading.Thread(target=self._run, name="s3flow-stack-registration", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        try:
            self._register()
        except Exception:
            if not self._abandoned:  # else the emulator stopped under it, as it was told to
                log.exception("registering the stack in the emulator's CloudFormation failed")
        finally:
            self._done.set()

    def abandon(self) -> None:
        """The pipeline stops: held requests go on, and a registration cut short is no error."""
        self._abandoned = True
        self._done.set()

    def wait(self, timeout: float | None = WAIT_SECONDS) -> bool:
        """True once registered (or failed); False at once if never started."""
        return self._thread.ident is not None and self._done.wait(timeout)

    def __call__(self, request: Request) -> Response | None:
        if not self._done.is_set() and _is_cloudformation(request):
            operation = read_operation(request, "cloudformation")  # leaves the body for moto
            if operation is None or operation.name not in REGISTERING_ACTIONS:
                self._done.wait(WAIT_SECONDS)
        return None  # moto answers, now with the stack


def _is_cloudformation(request: Request) -> bool:
    scope = credential_scope(request)
    return scope is not None and scope.service == "cloudformation"
