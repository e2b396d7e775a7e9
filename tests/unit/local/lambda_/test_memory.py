"""Reading a sandbox's peak memory, and what a watch does with it (``lambda_.memory``)."""

from __future__ import annotations

import os

import pytest

from s3flow.local.lambda_.memory import MemoryWatchdog, megabytes, parse_peak_kb, reading_interval

STATUS = b"""Name:\tpython
Umask:\t0022
State:\tS (sleeping)
VmPeak:\t  812344 kB
VmSize:\t  812340 kB
VmHWM:\t   57556 kB
VmRSS:\t   41232 kB
Threads:\t3
"""


def test_the_peak_is_the_high_water_mark_of_the_resident_set_not_of_the_virtual_size() -> None:
    assert parse_peak_kb(STATUS) == 57556


def test_a_process_that_exited_has_no_peak() -> None:
    assert parse_peak_kb(b"Name:\tpython\nState:\tZ (zombie)\nThreads:\t1\n") is None


def test_megabytes_are_whole_mib_rounded_up() -> None:
    assert [megabytes(kb) for kb in (1, 1024, 1025, 57556)] == [1, 1, 2, 57]


class Process:
    """What a watch needs of a ``Popen``: its pid (ours: it is read, never signalled) and kill."""

    def __init__(self) -> None:
        self.pid = os.getpid()
        self.killed = 0

    def kill(self) -> None:
        self.killed += 1


def test_a_peak_past_the_limit_kills_the_process_once_and_reads_as_the_limit() -> None:
    process = Process()
    watch = MemoryWatchdog().watch(process, 128)  # type: ignore[arg-type]

    assert not watch.record(100 * 1024)
    assert watch.max_memory_mb() == 100 and process.killed == 0
    assert watch.record(128 * 1024 + 1)
    assert watch.record(None) and watch.record(10)
    assert process.killed == 1
    assert watch.max_memory_mb() == 128
    watch.close()


def test_the_peak_never_goes_down() -> None:
    watch = MemoryWatchdog().watch(Process(), 128)  # type: ignore[arg-type]

    watch.record(60 * 1024)
    watch.record(20 * 1024)

    assert watch.max_memory_mb() == 60
    watch.close()


def test_a_poll_reads_the_process_s_own_figures() -> None:
    watchdog = MemoryWatchdog()
    watch = watchdog.watch(Process(), 10240)  # type: ignore[arg-type]

    watch.sample()

    if watchdog.polls:  # /proc: this test process's VmHWM
        assert watch.peak_kb is not None and watch.peak_kb > 1024
    else:
        assert watch.peak_kb is None
    watch.close()


def test_a_sandbox_is_read_again_before_it_could_fill_its_headroom_within_10_to_100_ms() -> None:
    assert reading_interval(28 * 1024, 256) == pytest.approx(0.0557, abs=1e-3)  # the processor
    assert reading_interval(250 * 1024, 256) == 0.01  # near its limit
    assert reading_interval(1024, 10240) == 0.1  # far from it
    assert reading_interval(None, 256) == 0.01  # not read yet
