"""JSON logs, EMF metrics and X-Ray traces of both functions, and the per-invocation
context that ties them together."""
