"""One Lambda execution environment: a child process that imports the handler once and
runs one invocation at a time, like a warm Lambda sandbox.

The child is a fresh interpreter started with exactly the environment it is given. The parent
talks to it over a socket pair.

The child runs this file as a script in isolated mode (``python -I -S sandbox.py``): no site
packages, no ``PYTHON*`` variables, only the standard library on its path. This file is the
emulator's stand-in for Lambda's runtime interface client and imports nothing but the standard
library, so nothing of the developer's environment is loaded when the handler is imported. The
handler's import path is then set to what Lambda gives it: the function's code (its asset
folder in the cloud assembly), then the packages the Python runtime includes, then the
standard library (https://docs.aws.amazon.com/lambda/latest/dg/python-package.html, "Dependency
search path and runtime-included libraries"). A module the asset lacks fails the handler's
import as on AWS: ``Runtime.ImportModuleError``, "Unable to import module '<module>': No module
named '<name>'" (https://docs.aws.amazon.com/lambda/latest/dg/python-handler.html). A job
is ``{"event", "request_id", "trace_header", "deadline"}``; the answer is
``("ok", result, peak)`` or ``("error", payload, peak)`` with Lambda's error payload
(``errorMessage``, ``errorType``, ``requestId``, ``stackTrace``) and the process's peak
resident memory in kB (``memory``). The parent enforces the timeout (it kills the process) and
the function's memory (its watchdog kills the process, ``Runtime.OutOfMemory``), and treats a
process that dies as a failed attempt. Before anything else the sandbox sets up its ``/tmp``
(``ephemeral_storage``: a private tmpfs, or a file size limit). Those two modules are loaded
from this file's folder by path, not imported: they too use only the standard library.

A sandbox may be given a start hook (``StartHook``): a ``module:function`` the worker calls
with its argument once, before it imports the handler. It is the seam through which tests
observe or disturb a function from inside its sandbox (``s3flow.testing``) without changing
the function's environment or code; Lambda has no such thing, and none is set by default.
The hook is test code from the developer's tree, so it alone is given the emulator's path, and
only while it runs (``run_start_hook``).
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.machinery
import importlib.util
import json
import logging
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the parent's side only: the sandbox loads neither (see _sibling)
    from s3flow.local.lambda_.ephemeral_storage import EphemeralStorage
    from s3flow.local.lambda_.memory import MemoryWatchdog

function_log = logging.getLogger("s3flow.local.function")


@dataclass(frozen=True)
class StartHook:
    """``function`` (``module:function``) called in the worker as ``function(argument)``
    before the handler is imported; ``argument`` must survive pickling (JSON-like data)."""

    function: str
    argument: Any = None

    def run(self) -> None:
        module_name, _, function_name = self.function.partition(":")
        getattr(importlib.import_module(module_name), function_name)(self.argument)


@dataclass
class LambdaContext:
    """The attributes and method of the Python runtime's ``context`` object."""

    function_name: str
    function_version: str
    invoked_function_arn: str
    memory_limit_in_mb: int
    aws_request_id: str
    log_group_name: str
    log_stream_name: str
    deadline: float  # epoch seconds
    identity: Any = None
    client_context: Any = None

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.deadline - time.time()) * 1000))


def error_payload(error: BaseException, request_id: str, error_type: str | None = None) -> dict[str, Any]:
    return {
        "errorMessage": str(error),
        "errorType": error_type or type(error).__name__,
        "requestId": request_id,
        "stackTrace": traceback.format_tb(error.__traceback__),
    }


class HandlerInitError(Exception):
    """The handler could not be loaded: Lambda's error type and message for it."""

    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(message)
        self.error_type = error_type


def load_handler(handler_path: str) -> Callable[..., Any]:
    """The handler the template names (``module.function``), failing as Lambda's Python runtime
    reports it (https://docs.aws.amazon.com/lambda/latest/dg/python-handler.html)."""
    module_name, _, function_name = handler_path.rpartition(".")
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise HandlerInitError(
            "Runtime.ImportModuleError", f"Unable to import module '{module_name}': {error}"
        ) from error
    try:
        handler: Callable[..., Any] = getattr(module, function_name)
    except AttributeError as error:
        raise HandlerInitError(
            "Runtime.HandlerNotFound", f"Handler '{function_name}' missing on module '{module_name}'"
        ) from error
    return handler


def worker_main(
    conn: Connection,
    handler_path: str,
    context_base: dict[str, Any],
    peak_kb: Callable[[], int | None] = lambda: None,
) -> None:
    """The loop of the child process: import the handler once, then serve jobs. Each answer
    carries ``peak_kb()``, the process's peak memory so far."""
    handler = None
    init_error: BaseException | None = None
    init_started = time.time()
    try:
        handler = load_handler(handler_path)
    except Exception as error:  # reported per invocation, as Lambda reports init errors
        init_error = error
    conn.send(("ready", (init_started, time.time()), peak_kb()))
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            return
        request_id = job["request_id"]
        os.environ["_X_AMZN_TRACE_ID"] = job["trace_header"]
        if handler is None:
            assert init_error is not None
            error_type = getattr(init_error, "error_type", "Runtime.ImportModuleError")
            conn.send(("error", error_payload(init_error, request_id, error_type), peak_kb()))
            continue
        context = LambdaContext(aws_request_id=request_id, deadline=job["deadline"], **context_base)
        try:
            result = handler(job["event"], context)
        except Exception as error:
            conn.send(("error", error_payload(error, request_id), peak_kb()))
            continue
        try:
            answer = json.loads(json.dumps(result))
        except (TypeError, ValueError) as error:
            conn.send(("error", error_payload(error, request_id, "Runtime.MarshalError"), peak_kb()))
        else:
            conn.send(("ok", answer, peak_kb()))


def run_start_hook(hook: StartHook, hook_path: list[str]) -> None:
    """Runs ``hook`` with the emulator's path (``hook_path``) behind the handler's, then takes
    that path away again, with every module the hook loaded from it, before the handler is
    imported.

    This does not widen what the handler can import: the function's code and the runtime's
    packages stay first on the path (a module they hold resolves there, also for the hook, so
    the hook instruments the very modules the handler uses), and whatever came from the
    emulator's path is forgotten (``sys.modules``) once the hook returns. The hook keeps working
    through the references it holds. A package of the function's code that the hook's module
    shares (``s3flow``) gets the emulator's copy appended to its ``__path__`` for the hook only,
    so that the hook's own subpackage (``s3flow.testing``) is found behind the asset's."""
    handler_path = list(sys.path)
    loaded_before = set(sys.modules)
    sys.path[:] = [*handler_path, *(entry for entry in hook_path if entry not in handler_path)]
    widened = _widen_shared_package(hook.function.partition(":")[0].split(".")[0], hook_path)
    try:
        hook.run()
    finally:
        sys.path[:] = handler_path
        if widened is not None:
            package, original = widened
            package.__path__[:] = original
        _forget_modules_outside(handler_path, set(sys.modules) - loaded_before)


def _widen_shared_package(name: str, hook_path: list[str]) -> tuple[Any, list[str]] | None:
    """If the handler's path holds package ``name``, append the emulator's copy of it to the
    package's ``__path__``; returns the package and its ``__path__`` as it was."""
    try:
        package = importlib.import_module(name)
    except ImportError:
        return None
    search = getattr(package, "__path__", None)
    theirs = importlib.machinery.PathFinder.find_spec(name, hook_path)
    if not isinstance(search, list) or theirs is None or not theirs.submodule_search_locations:
        return None
    original = list(search)
    search.extend(entry for entry in theirs.submodule_search_locations if entry not in search)
    return package, original


def _forget_modules_outside(roots: list[str], names: set[str]) -> None:
    """Drops from ``sys.modules`` the modules among ``names`` loaded from outside ``roots``."""
    prefixes = tuple(os.path.join(os.path.abspath(root), "") for root in roots if root)
    # All origins first: a namespace package's path is computed from its parent's, which must
    # still be there.
    foreign = [name for name in names if _loaded_from_outside(sys.modules.get(name), prefixes)]
    for name in foreign:
        module = sys.modules.pop(name, None)
        parent, _, child = name.rpartition(".")
        if parent in sys.modules and getattr(sys.modules[parent], child, None) is module:
            delattr(sys.modules[parent], child)


def _loaded_from_outside(module: Any, prefixes: tuple[str, ...]) -> bool:
    origin = getattr(module, "__file__", None)
    if origin is None:
        spec = getattr(module, "__spec__", None)
        locations = list(getattr(spec, "submodule_search_locations", None) or [])
        origin = locations[0] if locations else None
    # None: built in or frozen, part of the interpreter
    return origin is not None and not os.path.abspath(origin).startswith(prefixes)


def main(argv: list[str]) -> None:
    """``python -I -S sandbox.py FD``: FD is this sandbox's end of a socket pair.

    A pipe that breaks means the runtime dropped this sandbox (it stops, or gave up on the
    invocation): the worker ends quietly, as there is no one left to report to."""
    conn = Connection(int(argv[1]))
    try:
        setup = conn.recv()
        storage = setup.get("ephemeral_storage")
        if storage is not None:  # first: it must be done while this process has one thread
            _sibling("ephemeral_storage").enter(**storage)
        memory = _sibling("memory")
        status = memory.open_status("self")
        standard_library = [entry for entry in sys.path if entry]  # -I -S: nothing else
        sys.path[:] = [*setup["import_path"], *standard_library]
        # Bytecode goes to a cache of ours: the asset stays as synthesized (Lambda's code
        # folder is read-only), and sandboxes after the first still start from bytecode.
        sys.pycache_prefix = setup["bytecode_cache"]
        hook = setup.get("start_hook")
        if hook is not None:
            run_start_hook(StartHook(*hook), setup["hook_path"])
        worker_main(conn, setup["handler"], setup["context"], lambda: memory.own_peak_kb(status))
    except (EOFError, OSError, KeyboardInterrupt):
        sys.exit(1)


def _sibling(name: str) -> Any:
    """A module of this folder, loaded by path without entering ``sys.modules``: the handler
    never sees it."""
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), f"{name}.py")
    spec = importlib.util.spec_from_file_location(f"_s3flow_sandbox_{name}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # while it runs: dataclasses look their module up there
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[spec.name]
    return module


@dataclass(frozen=True)
class Outcome:
    """What one attempt produced."""

    ok: bool
    payload: Any  # the handler's return value, or Lambda's error payload
    started: float  # epoch seconds
    ended: float
    init: tuple[float, float] | None = None  # the sandbox's init phase, on a cold start
    # REPORT's Max Memory Used: the sandbox's peak so far, in MB (None: never measured)
    max_memory_mb: int | None = None
    # The function's code this attempt ran (``code_update.CodeVersion`` as text), if known.
    code_version: str | None = None


OUT_OF_MEMORY = "Runtime.OutOfMemory"


def bytecode_cache() -> str:
    """Where sandboxes keep the bytecode of what they import (``sys.pycache_prefix``)."""
    return os.path.join(tempfile.gettempdir(), "s3flow-lambda-bytecode")


class Sandbox:
    """The parent's handle on one worker process."""

    def __init__(
        self,
        handler_path: str,
        environment: dict[str, str],
        context_base: dict[str, Any],
        on_output: Callable[[str], None] | None = None,
        start_hook: StartHook | None = None,
        import_path: Sequence[str] | None = None,
        *,
        memory: tuple[MemoryWatchdog, int] | None = None,
        ephemeral_storage: EphemeralStorage | None = None,
        code_version: str | None = None,
    ) -> None:
        """``import_path``: where the handler is imported from, before the standard library (the
        function's code, then the runtime's packages); None for this interpreter's own path.
        ``memory``: the watchdog and the function's memory in MB, None for no limit.
        ``ephemeral_storage``: the sandbox's ``/tmp`` (``TMPDIR`` in ``environment`` names it),
        removed when the sandbox ends. ``code_version``: which version of the function's code
        ``import_path`` holds, named in every ``Outcome``."""
        self.on_output = on_output
        self.code_version = code_version  # where the function's output lines go, besides our logging
        self._storage = ephemeral_storage
        ours, theirs = socket.socketpair()
        emulator_path = [entry for entry in sys.path if entry]
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-I", "-S", os.path.abspath(__file__), str(theirs.fileno())],
                env=environment,
                pass_fds=(theirs.fileno(),),
                # Its own process group: Ctrl-C at the terminal signals the foreground group, and
                # only the runtime should get it (it stops its sandboxes itself).
                process_group=0,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
            )
        except BaseException:  # no process: the caller fails the invocation, the pair is ours to close
            ours.close()
            theirs.close()
            raise
        theirs.close()  # so that the child's death reads as EOF here
        # Read while the sandbox initializes and while it runs an invocation (``run``).
        self._memory = None if memory is None else memory[0].watch(self.process, memory[1])
        if self._memory is not None:
            self._memory.set_running(True)
        self._conn = Connection(ours.detach())
        self._lock = threading.Lock()
        self._closed = False
        self._killed = False
        self._busy = False  # run() is using the connection: kill() must not close it under it
        hook = None if start_hook is None else (start_hook.function, start_hook.argument)
        self._conn.send(
            {
                "handler": handler_path,
                "context": context_base,
                "start_hook": hook,
                "import_path": list(emulator_path if import_path is None else import_path),
                "hook_path": emulator_path,
                "bytecode_cache": bytecode_cache(),
                "ephemeral_storage": None if ephemeral_storage is None else ephemeral_storage.setup(),
            }
        )
        self._init: tuple[float, float] | None = None  # set once the child reports ready
        threading.Thread(target=self._forward_output, name=f"sandbox-{self.process.pid}", daemon=True).start()

    def _forward_output(self) -> None:
        """The function's stdout and stderr (its CloudWatch log on AWS) go to ``on_output``
        and to our logging."""
        assert self.process.stdout is not None
        for raw in self.process.stdout:
            line = raw.decode("utf-8", "replace").rstrip()
            function_log.info("%s", line)
            if self.on_output is not None:
                try:
                    self.on_output(line)
                except Exception:
                    function_log.exception("could not keep a line of the function's output")

    def alive(self) -> bool:
        return self.process.poll() is None

    def run(self, event: Any, *, request_id: str, trace_header: str, timeout_seconds: float) -> Outcome:
        """Run one invocation; the sandbox is unusable afterwards if the outcome says it died.

        On the first invocation the sandbox's init (the handler's import) is waited for
        first, up to the same timeout, and reported in ``Outcome.init``, not in its duration.
        """
        with self._lock:
            self._busy = True
        if self._memory is not None:
            self._memory.set_running(True)
        try:
            return self._exchange(event, request_id, trace_header, timeout_seconds)
        finally:
            if self._memory is not None:
                self._memory.set_running(False)
            with self._lock:
                self._busy = False
                if self._killed:
                    self._close_connection()

    def _exchange(self, event: Any, request_id: str, trace_header: str, timeout_seconds: float) -> Outcome:
        started = time.time()
        cold: tuple[float, float] | None = None
        try:
            if self._init is None:
                if not self._conn.poll(timeout_seconds):
                    return self._timed_out(request_id, timeout_seconds, started)
                _, self._init, peak = self._conn.recv()
                cold = self._init
                started = time.time()
                if self._past_memory(peak):  # the init itself went past the memory
                    return self._out_of_memory(request_id, started, cold)
            deadline = started + timeout_seconds
            self._conn.send(
                {"event": event, "request_id": request_id, "trace_header": trace_header, "deadline": deadline}
            )
            if self._conn.poll(timeout_seconds):
                status, payload, peak = self._conn.recv()
                if self._past_memory(peak):  # between two polls: Lambda would have stopped it there
                    return self._out_of_memory(request_id, started, cold)
                return self._outcome(status == "ok", payload, started, cold)
        except (EOFError, OSError, BrokenPipeError):
            try:
                code = self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                code = None
            if self._memory is not None and self._memory.exceeded:  # the watchdog killed it
                return self._out_of_memory(request_id, started, cold)
            return self._outcome(
                False,
                {
                    "errorMessage": f"RequestId: {request_id} Error: Runtime exited with error: "
                    f"exit status {code}",
                    "errorType": "Runtime.ExitError",
                    "requestId": request_id,
                },
                started,
                cold,
            )
        return self._timed_out(request_id, timeout_seconds, started, cold)

    def _past_memory(self, peak_kb: int | None) -> bool:
        """Takes the sandbox's own reading of its peak; True if it went past the function's
        memory (the process is then killed)."""
        return self._memory is not None and self._memory.record(peak_kb)

    def _out_of_memory(self, request_id: str, started: float, cold: tuple[float, float] | None) -> Outcome:
        """Lambda's answer for an environment stopped for going past its memory (``memory``)."""
        self.kill()
        return self._outcome(
            False,
            {
                "errorMessage": f"RequestId: {request_id} Error: Runtime exited with error: signal: killed",
                "errorType": OUT_OF_MEMORY,
                "requestId": request_id,
            },
            started,
            cold,
        )

    def _outcome(self, ok: bool, payload: Any, started: float, cold: tuple[float, float] | None) -> Outcome:
        peak = None if self._memory is None else self._memory.max_memory_mb()
        return Outcome(ok, payload, started, time.time(), cold, peak, self.code_version)

    def _timed_out(
        self, request_id: str, timeout_seconds: float, started: float, cold: tuple[float, float] | None = None
    ) -> Outcome:
        if self._memory is not None:
            self._memory.sample()  # its peak, for the REPORT line, before it goes
        self.kill()
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        return self._outcome(
            False,
            {
                "errorMessage": f"{stamp} {request_id} Task timed out after {timeout_seconds:.2f} seconds",
                "errorType": "Sandbox.Timedout",
                "requestId": request_id,
            },
            started,
            cold,
        )

    def kill(self) -> None:
        """Ends the process and removes its ``/tmp``; safe to call from several threads. The
        connection is closed once, and never under a ``run()`` in progress (that run closes it
        as it returns): closing a connection another thread is reading fails that read with
        whatever the half-closed object raises, not with the end of file a dead process gives."""
        if self.process.poll() is None:
            self.process.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=5)
        if self._memory is not None:
            self._memory.close()
        if self._storage is not None:
            self._storage.remove()
        with self._lock:
            self._killed = True
            if not self._busy:
                self._close_connection()

    def _close_connection(self) -> None:
        """Closes the parent's end once; the caller holds ``_lock``."""
        if not self._closed:
            self._closed = True
            self._conn.close()


if __name__ == "__main__":
    main(sys.argv)
