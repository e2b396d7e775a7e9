"""Benchmarks: our processor against the reference handler, side by side (``python -m bench``).

Not part of the tests: nothing here asserts; it measures and writes ``docs/performance.md``.
"""
