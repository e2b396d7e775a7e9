"""Seeded, replayable fault injection for the local pipeline, from outside the functions.

Three places, none of them the code under test, each reached through a public seam:
- ``proxy``: an interceptor in front of the emulator (``server.Middleware.add_interceptor``):
  DynamoDB throttling and 5xx on writes (``DynamoDBWriteFaults``), EventBridge ``PutEvents``
  partial failures (``PutEventsPartialFailures``: the other entries go on to the real
  handler) and outages (``EventBridgeOutage``);
- ``workers``: inside the worker process, a call interceptor on the functions' AWS client,
  installed by the runtime's sandbox start hook (``WorkerDeaths``): the worker dies at a
  chosen point of an invocation (e.g. right after the DynamoDB write), once per object; and
  SIGKILL from outside at any moment (``WorkerKiller``);
- the Lambda runtime's queue: ``event_age.EventAgeExpiry`` (a runtime listener) makes chosen
  events older than the function's maximum event age; ``redelivery.Redelivery`` schedules
  duplicate, out-of-order deliveries.

Which objects a fault hits is a function of (seed, fault name, object key) only, never of
arrival order, so a run replays under any concurrency: ``S3FLOW_FAULT_SEED`` overrides the
seed a test picks (``seeds``). Each fault counts what it injected and stops with ``clear()``.

The modules are imported one by one (this package imports none of them): a worker loading
its start hook then pays for ``workers`` and ``seeds`` only, not for the emulator.
"""
