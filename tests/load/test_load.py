"""A small load run in CI (``S3FLOW_LOAD_OBJECTS``, default 200): nothing lost or duplicated,
every object recorded by the processor and announced by the publisher exactly once.

The full 10,000-object run is ``tests/load/load_run.py``; its numbers are in
docs/reliability.md. Speed is printed, never asserted.
"""

from __future__ import annotations

import os

from load_run import run_load


def test_every_uploaded_object_is_recorded_once_under_concurrent_uploads(synthesized):
    objects = int(os.environ.get("S3FLOW_LOAD_OBJECTS", "200"))

    report = run_load(synthesized, objects=objects, uploaders=4, concurrency=2)

    print("\n".join(report.lines()))
    ledger = report.ledger
    assert len(ledger.uploaded) == objects
    assert ledger.lost == [] and ledger.duplicated == [], ledger.summary()
    assert ledger.failed == [] and ledger.strays == [], ledger.summary()
    assert all(map(ledger.recorded, ledger.uploaded)), ledger.summary()
    assert len(report.latencies_ms) == len(report.event_latencies_ms) == objects
