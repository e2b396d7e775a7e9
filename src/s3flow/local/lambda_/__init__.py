"""Lambda, locally: the functions of the deployment run in worker processes, as Lambda runs
them in execution environments.

- ``runtime``: asynchronous and synchronous invocation, retries, the on-failure destination;
- ``function_queue``: one function's queue of invocations and its sandboxes (concurrency);
- ``sandbox``: one execution environment, a worker process that imports the handler once;
- ``invocation``: what Lambda records of an invocation (destination record, segment, log
  lines, the environment a sandbox starts with);
- ``invoke_api``: Lambda's ``Invoke`` API for these functions, in the server's middleware;
- ``destinations``: JSON messages to an SQS queue of the emulator (failure destinations);
- ``memory``: a sandbox's peak memory, and the watchdog that kills one past ``MemorySize``;
- ``ephemeral_storage``: each sandbox's own ``/tmp``, sized by ``EphemeralStorage``;
- ``runtime_packages``: what Lambda's Python runtime provides besides the asset (boto3);
- ``function_logs``: one reader of a function's log line (level, object, message);
- ``code_update``: a function's code replaced while it runs (``UpdateFunctionCode``), and the
  code version each attempt names.

Kept free of imports here: each sandbox is a fresh interpreter that imports ``sandbox``
alone, and importing this package must not load the emulator into it.
"""
