"""What both functions use: the AWS JSON client, DynamoDB JSON, EventBridge entries,
settings, backoff, errors and observability (logs, EMF metrics, traces)."""
