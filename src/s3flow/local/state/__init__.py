"""The local pipeline's state on disk (``LocalPipeline(state=DIR)``, ``local up --state DIR``).

moto 5.2.5's server keeps everything in memory and has no snapshot of its own, and pickling
its backends would carry their locks, threads and internals. So each service the stack uses
is exported from moto's models resource by resource, into one JSON document plus the object
bodies (``files``), and put back into the same models after the template is provisioned,
without going through the API: restoring sends no S3 notification, writes no stream record,
sends no queue message and publishes nothing.

One module per service: ``s3`` (every object version and delete marker, version ids and
ETags exact), ``dynamodb`` (items, and stream records with their sequence numbers), ``sqs``
(messages), ``logs`` (log events), ``cloudwatch`` (metric data, alarm states), ``xray``
(segments); ``positions`` holds what the pipeline itself keeps (each stream mapping's
position, the asynchronous invocations not finished); ``keeper`` checks, restores and saves.
What survives a restart, and what does not, is written in docs/cli.md (``--state``).
"""

from __future__ import annotations

from s3flow.local.state.errors import StateError
from s3flow.local.state.keeper import AUTOSAVE_INTERVAL, Restored, StateKeeper, StateSummary
from s3flow.local.state.positions import PendingInvocation, Positions

__all__ = [
    "AUTOSAVE_INTERVAL",
    "PendingInvocation",
    "Positions",
    "Restored",
    "StateError",
    "StateKeeper",
    "StateSummary",
]
