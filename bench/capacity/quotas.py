"""Every AWS quota on the object's path, with its default, whether it can be raised, and its page.

One table: the model (``bench.capacity.model``) reads the values from here and the document
cites the pages from here. Where a quota differs by region, the value is us-east-1's (the
region bench/cost.py prices in).
"""

from __future__ import annotations

from dataclasses import dataclass

REGION = "us-east-1"


@dataclass(frozen=True)
class Quota:
    key: str
    name: str
    value: float
    unit: str
    adjustable: bool
    url: str


QUOTAS: dict[str, Quota] = {
    q.key: q
    for q in (
        Quota(
            "s3_put_per_prefix",
            "S3 PUT requests per partitioned prefix",
            3500,
            "requests/s",
            False,  # S3 partitions a busy prefix by itself; spreading keys over prefixes is the lever
            "https://docs.aws.amazon.com/AmazonS3/latest/userguide/optimizing-performance.html",
        ),
        Quota(
            "lambda_async_aws_sources",
            "Lambda asynchronous invocations from AWS services (S3 notifications)",
            float("inf"),
            "requests/s",
            False,
            "https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html",
        ),
        Quota(
            "lambda_async_max_event_age",
            "Lambda async event queue: longest an event waits (the stack sets 6 h, the most)",
            6 * 3600,
            "s",
            False,
            "https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-configuring.html",
        ),
        Quota(
            "lambda_concurrency",
            "Lambda concurrent executions per account per region",
            1000,
            "executions",
            True,
            "https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html",
        ),
        Quota(
            "lambda_unreserved_minimum",
            "Lambda concurrency an account must keep unreserved",
            100,
            "executions",
            False,
            "https://docs.aws.amazon.com/lambda/latest/dg/configuration-concurrency.html",
        ),
        Quota(
            "lambda_scaling_rate",
            "Lambda concurrency scaling rate per function",
            1000 / 10,
            "execution environments/s (1,000 every 10 s)",
            False,
            "https://docs.aws.amazon.com/lambda/latest/dg/scaling-behavior.html",
        ),
        Quota(
            "dynamodb_partition_wcu",
            "DynamoDB writes per partition (table or index partition key value)",
            1000,
            "write units/s",
            False,
            "https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/bp-partition-key-design.html",
        ),
        Quota(
            "dynamodb_on_demand_table_wru",
            "DynamoDB on-demand table write throughput",
            40000,
            "write request units/s",
            True,
            "https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ServiceQuotas.html",
        ),
        Quota(
            "dynamodb_on_demand_initial_wru",
            "DynamoDB on-demand: a new table serves at once, then twice its previous peak",
            4000,
            "write request units/s",
            False,  # warm throughput (paid) pre-warms a table past it
            "https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/on-demand-capacity-mode.html",
        ),
        Quota(
            "dynamodb_stream_readers_per_shard",
            "DynamoDB Streams processes reading one shard at once",
            2,
            "readers",
            False,
            "https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ServiceQuotas.html",
        ),
        Quota(
            "lambda_stream_parallelization",
            "Lambda stream mapping ParallelizationFactor (batches per shard at once)",
            10,
            "batches",
            False,
            "https://docs.aws.amazon.com/lambda/latest/dg/services-ddb-params.html",
        ),
        Quota(
            "lambda_stream_polls_per_second",
            "Lambda polls each stream shard at a base rate of",
            4,
            "polls/s",
            False,
            "https://docs.aws.amazon.com/lambda/latest/dg/with-ddb.html",
        ),
        Quota(
            "eventbridge_put_events_tps",
            f"EventBridge PutEvents requests per account ({REGION})",
            10000,
            "requests/s",
            True,
            "https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-quota.html",
        ),
        Quota(
            "eventbridge_entries_per_put",
            "EventBridge entries per PutEvents request",
            10,
            "entries",
            False,
            "https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutEvents.html",
        ),
        Quota(
            "eventbridge_invocations_tps",
            f"EventBridge target invocations per account ({REGION}; throttled ones are delayed, not lost)",
            18750,
            "invocations/s",
            True,
            "https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-quota.html",
        ),
        Quota(
            "logs_put_log_events_tps",
            f"CloudWatch Logs PutLogEvents requests per account ({REGION})",
            5000,
            "requests/s",
            True,
            "https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/cloudwatch_limits_cwl.html",
        ),
        Quota(
            "sqs_standard_tps",
            "SQS standard queue API calls (the failure queues)",
            float("inf"),
            "requests/s (nearly unlimited)",
            False,
            "https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/standard-queues.html",
        ),
    )
}


def value(key: str) -> float:
    return QUOTAS[key].value
