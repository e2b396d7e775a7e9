"""Test support: fault injection, the ledger that counts the pipeline's promise, and the
records table for tests that need it alone.

Imported by tests and benchmarks only: no module of the product imports it (an
import-linter contract, ``.importlinter``), and the Lambda asset does not hold it
(``s3flow.infra.bundling`` ships ``functions`` and the contract). It drives the product only
through public seams: the emulator's request interceptors (``Middleware.add_interceptor``),
the local runtime's listeners and sandbox start hook, and the functions' call interceptors
(``s3flow.functions.shared.aws_api.add_call_interceptor``).
"""
