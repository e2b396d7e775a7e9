"""Lambda's memory limit, locally: what a sandbox holds, and a watchdog that stops one whose
memory goes past its function's ``MemorySize``, as Lambda stops an execution environment.

What Lambda does. The REPORT line of every invocation gives ``Max Memory Used``, the
execution environment's peak memory (its high-water mark: it never goes down across warm
invocations of one environment), runtime included
(https://docs.aws.amazon.com/lambda/latest/dg/python-logging.html). An environment that goes
past ``MemorySize`` is killed at once: the invocation fails with ``Runtime.OutOfMemory``,
"RequestId: <id> Error: Runtime exited with error: signal: killed", the REPORT line ends with
``Status: error`` and ``Error Type: Runtime.OutOfMemory`` and reads ``Max Memory Used`` equal
to ``Memory Size``; the next invocation gets a new environment (a cold start), and an
asynchronous one is retried as any function error
(https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html).

What stands for it here. A sandbox is one process, and its peak resident set (``VmHWM`` in
``/proc/<pid>/status``, the kernel's high-water mark of ``VmRSS``) is what is counted. Two
readings of it, both needed:

- the sandbox reports its own ``VmHWM`` with each answer and after its init (``sandbox``), so
  every invocation's REPORT carries it and an invocation that went past the limit fails as out
  of memory even if it answered before anyone looked: the peak is a high-water mark, nothing
  that happened between two readings is missed;
- a watchdog thread (one per runtime) reads the ``VmHWM`` of the sandboxes that are starting or
  running an invocation and kills the one past its limit, so a runaway allocation is stopped
  while it runs, as Lambda stops it. A sandbox is read again before it could reach its limit
  filling memory at ``FILL_RATE_KB_PER_S`` (``reading_interval``): every 10 ms near its limit, at
  most every 100 ms far from it (the processor, 28 MB of 256, every 56 ms). An idle sandbox is
  not read (Lambda freezes an environment between invocations), and an invocation does not wake
  the thread (it keeps its own pace), so the cost does not grow with the invocation rate; an
  idle runtime costs nothing. A reading is a ``pread`` on a descriptor kept open on the status
  file.

Why not a resource limit: ``RLIMIT_AS`` counts virtual memory, which Python's allocator, glibc's
per-thread arenas and every thread's stack reserve far beyond what is resident (what Lambda
counts), so it would kill healthy functions; ``RLIMIT_DATA`` counts the same reservations;
Linux does not enforce ``RLIMIT_RSS``; and a limit makes ``malloc`` fail, a ``MemoryError`` the
handler can catch, where Lambda kills the process. A cgroup's ``memory.max`` would be exact but
needs root or a delegated cgroup.

Not modelled: the memory of processes the handler starts (Lambda's limit covers the whole
environment; here only the sandbox process is measured); a handler can go past its limit by
what it allocates before the next reading (faster than ``FILL_RATE_KB_PER_S``, or in the first
100 ms of an invocation, before the thread's next tick) and is killed then. Without
``/proc`` (macOS) there is no watchdog: the sandbox reports its peak from ``getrusage``, and an
invocation past the limit fails when it answers, not while it runs.
"""

from __future__ import annotations

import contextlib
import os
import resource
import subprocess
import sys
import threading
import time

# Seconds between two readings of a running sandbox's peak, at least and at most.
MIN_INTERVAL = 0.01
MAX_INTERVAL = 0.1
# How fast a sandbox is assumed to fill memory: Python writes a new bytes object
# (b"\x01" * n) at about 3-4 GB/s on a current machine.
FILL_RATE_KB_PER_S = 4 * 1024 * 1024
# One status file is about 1.5 KB; the read takes it whole.
_STATUS_BYTES = 8192


def parse_peak_kb(status: bytes) -> int | None:
    """``VmHWM`` (peak resident set) of a ``/proc/<pid>/status``, in kB; None if it has none
    (a process that has exited keeps no memory figures)."""
    start = status.find(b"\nVmHWM:")
    if start < 0:
        return None
    end = status.find(b"\n", start + 1)
    fields = status[start + 7 : end if end >= 0 else None].split()
    return int(fields[0]) if fields and fields[0].isdigit() else None


def megabytes(kb: int) -> int:
    """kB as the whole MB (MiB) Lambda reports, rounded up: a peak just over 56 MB reads 57."""
    return -(-kb // 1024)


def reading_interval(peak_kb: int | None, limit_mb: int) -> float:
    """Seconds until a sandbox at ``peak_kb`` must be read again: no later than it could reach
    ``limit_mb`` at ``FILL_RATE_KB_PER_S``, within ``MIN_INTERVAL`` and ``MAX_INTERVAL``."""
    if peak_kb is None:
        return MIN_INTERVAL
    headroom_kb = limit_mb * 1024 - peak_kb
    return min(MAX_INTERVAL, max(MIN_INTERVAL, headroom_kb / FILL_RATE_KB_PER_S))


def open_status(pid: int | str) -> int | None:
    """A descriptor on ``/proc/<pid>/status`` (``"self"`` for this process), or None without
    ``/proc``; each ``read_peak_kb`` on it reads the figures afresh."""
    try:
        return os.open(f"/proc/{pid}/status", os.O_RDONLY)
    except OSError:
        return None


def read_peak_kb(status_fd: int) -> int | None:
    try:
        return parse_peak_kb(os.pread(status_fd, _STATUS_BYTES, 0))
    except OSError:  # the process is gone
        return None


def own_peak_kb(status_fd: int | None) -> int | None:
    """This process's peak resident set, in kB: ``VmHWM`` where there is ``/proc``, else
    ``getrusage``. (On Linux ``ru_maxrss`` is not used: after ``exec`` it can hold the peak of
    the process that spawned this one.)"""
    if status_fd is not None:
        return read_peak_kb(status_fd)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak // 1024 if sys.platform == "darwin" else peak  # bytes on macOS, kB elsewhere


class MemoryWatch:
    """One sandbox process under a memory limit: its peak as last read or reported, and whether
    it went past the limit (it is then killed)."""

    def __init__(self, process: subprocess.Popen[bytes], limit_mb: int, watchdog: MemoryWatchdog) -> None:
        self.process = process
        self.limit_mb = limit_mb
        self.peak_kb: int | None = None
        self.exceeded = False
        self.due = 0.0  # when the watchdog reads it next (monotonic seconds)
        self._watchdog = watchdog
        self._status_fd = open_status(process.pid) if watchdog.polls else None
        # Held while the descriptor is read or closed: a closed number can be reused at once,
        # for another sandbox's status among others.
        self._lock = threading.Lock()

    def record(self, peak_kb: int | None) -> bool:
        """Takes a reading of the peak (the sandbox's own report); True once the peak has gone
        past the limit, and the process is then killed (once)."""
        with self._lock:
            return self._record(peak_kb)

    def sample(self) -> bool:
        """Reads the process's peak now (nothing without ``/proc``); True if past the limit."""
        with self._lock:
            return self._record(None if self._status_fd is None else read_peak_kb(self._status_fd))

    def _record(self, peak_kb: int | None) -> bool:
        if peak_kb is not None:
            self.peak_kb = max(self.peak_kb or 0, peak_kb)
        if self.exceeded or self.peak_kb is None or self.peak_kb <= self.limit_mb * 1024:
            return self.exceeded
        self.exceeded = True
        with contextlib.suppress(OSError):
            self.process.kill()
        return True

    def max_memory_mb(self) -> int | None:
        """REPORT's ``Max Memory Used``: the peak in MB, at most the limit (Lambda reads
        ``Memory Size`` for an environment it stopped for going past it)."""
        return None if self.peak_kb is None else min(megabytes(self.peak_kb), self.limit_mb)

    def set_running(self, running: bool) -> None:
        """The watchdog reads the process while it runs (its init, an invocation), not while it
        waits for the next one."""
        if running:
            self._watchdog.activate(self)
        else:
            self._watchdog.deactivate(self)

    def close(self) -> None:
        self._watchdog.deactivate(self)
        with self._lock:
            if self._status_fd is not None:
                os.close(self._status_fd)
                self._status_fd = None


class MemoryWatchdog:
    """One thread that reads the peak of every running sandbox when it is due
    (``reading_interval``) and kills the one past its limit. It keeps its own pace while
    sandboxes run (an invocation does not wake it: a new one is read at the thread's next tick,
    at most ``MAX_INTERVAL`` later) and sleeps once none has run for ``IDLE_AFTER`` seconds."""

    IDLE_AFTER = 1.0

    def __init__(self) -> None:
        self.polls = _status_readable()  # without /proc, only the sandboxes' own reports count
        self._active: set[MemoryWatch] = set()
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._asleep = False  # the thread waits for an activation

    def watch(self, process: subprocess.Popen[bytes], limit_mb: int) -> MemoryWatch:
        return MemoryWatch(process, limit_mb, self)

    def activate(self, watch: MemoryWatch) -> None:
        if not self.polls:
            return
        with self._cond:
            watch.due = time.monotonic() + reading_interval(watch.peak_kb, watch.limit_mb)
            self._active.add(watch)
            if self._thread is None:
                self._stop = threading.Event()
                self._thread = threading.Thread(
                    target=self._poll, args=(self._stop,), name="lambda-memory-watchdog", daemon=True
                )
                self._thread.start()
            elif self._asleep:
                self._cond.notify()

    def deactivate(self, watch: MemoryWatch) -> None:
        with self._cond:
            self._active.discard(watch)

    def stop(self) -> None:
        """Ends the thread (a later ``activate`` starts another)."""
        with self._cond:
            thread, self._thread = self._thread, None
            self._stop.set()
            self._cond.notify_all()
        if thread is not None:
            thread.join(timeout=5)

    def _poll(self, stop: threading.Event) -> None:
        idle_since: float | None = None
        while not stop.is_set():
            with self._cond:
                now = time.monotonic()
                if self._active:
                    idle_since = None
                elif idle_since is None:
                    idle_since = now
                elif now - idle_since >= self.IDLE_AFTER:
                    self._asleep = True
                    self._cond.wait()  # until a sandbox runs, or stop()
                    self._asleep = False
                    idle_since = None
                    continue
                # Those due now or within the shortest interval: one wake-up reads them together.
                due = [watch for watch in self._active if watch.due <= now + MIN_INTERVAL]
                rest = [watch.due for watch in self._active if watch.due > now + MIN_INTERVAL]
            for watch in due:
                watch.sample()
                watch.due = time.monotonic() + reading_interval(watch.peak_kb, watch.limit_mb)
            upcoming = [watch.due for watch in due] + rest
            stop.wait(max(0.0, min(upcoming, default=now + MAX_INTERVAL) - time.monotonic()))


def _status_readable() -> bool:
    """Whether there is a ``/proc`` to read sandboxes' status from."""
    fd = open_status("self")
    if fd is None:
        return False
    os.close(fd)
    return True
